#!/usr/bin/env python3
"""The catalogue of answers: proves that `make check` tells a learner the truth.

Every file in tests/check_fixtures/NN_name/ is an answer a learner could write: the hint
followed literally (it must pass) or a wrong answer (a known mistake, an xtensor trap, a
crash, a compile error). Its first lines say which exercise it answers and what the check
must report, e.g.

    // answers: 1.2
    // expect 1.2: failing: divide by the sum
    // expect 1.3: failing: calls your 1.2

A fixture may bring another answer along ("// with 1.2: 1_2_no_max.cpp", a file beside it).
Each fixture is checked by tests/check.py in place of the learner's answer, with the
reference solutions for the chapter's other exercises, and the result is compared with the
expectations: the state must match and the message must contain the fragment (case
ignored). Exits 1 when any does not, printing what the check said instead.

    python3 tests/check_catalogue.py [--build-dir build] [name fragment ...]

CI runs it (.ci/run). Only Python's standard library is used.
"""
import argparse
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
FIXTURES = HERE / "check_fixtures"


def read_fixture(path):
    """(exercise it answers, [(exercise, state, fragment)], {exercise: other fixture}) from the
    fixture's header comments."""
    answers, expectations, others = None, [], {}
    for line in path.read_text().splitlines():
        if not line.startswith("//"):
            break
        m = re.match(r"//\s*answers:\s*(\d+\.\d+)", line)
        if m:
            answers = m.group(1)
        m = re.match(r"//\s*with (\d+\.\d+):\s*(\S+)", line)
        if m:
            others[m.group(1)] = path.parent / m.group(2)
        m = re.match(r"//\s*expect (\d+\.\d+):\s*(passing|failing|does not compile|not started)\s*(?::\s*(.*))?$",
                     line)
        if m:
            expectations.append((m.group(1), m.group(2), (m.group(3) or "").strip()))
    if answers is None or not expectations:
        raise SystemExit(f"{path.relative_to(ROOT)}: needs '// answers: N.M' and '// expect N.M: state[: text]'")
    return answers, expectations, others


def check_commands(build_dir):
    """What the learner's commands do around the report: exit status, no make noise, a
    missing answer named with the line that restores it. Returns the problems found."""
    problems = []

    def run(command):
        proc = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return proc.returncode, proc.stdout

    status, out = run(["make", "--no-print-directory", "check", "CH=99"])
    if status == 0 or "no exercises for chapter '99'" not in out or "***" in out:
        problems.append(f"make check CH=99: expected a non-zero status, the check's message and no make "
                        f"error line; got status {status}:\n{out}")
    status, out = run(["make", "--no-print-directory", "check", "CH=01"])  # the shipped stubs
    if status == 0 or "not started" not in out or "***" in out:
        problems.append(f"make check CH=01 on the stubs: expected a non-zero status and no make error "
                        f"line; got status {status}:\n{out}")
    missing = ROOT / "exercises" / "01_single_head_attention" / "1_9_no_such_answer.cpp"
    status, out = run([sys.executable, str(HERE / "check.py"), "--build-dir", build_dir, "--chapter", "01",
                       "--answer", f"1.2={missing}", "--others", "solutions"])
    if status != 1 or "1_9_no_such_answer.cpp is missing" not in out or "git checkout --" not in out \
            or "1.1 dot-product scores                 passing" not in out \
            or "calls your 1.2 (stable_softmax), which is missing" not in out:
        problems.append(f"a missing answer file: expected it named with the git checkout line that restores "
                        f"it, and the other exercises checked; got status {status}:\n{out}")
    print(f"{'ok  ' if not problems else 'FAIL'} commands: exit status, no make noise, a missing answer file")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default=str(ROOT / "build"))
    parser.add_argument("--fixtures", default=str(FIXTURES),
                        help="the folder of NN_name/ fixture folders (default: tests/check_fixtures; "
                             "tests/check_fixtures/unseen holds wrong answers written without "
                             "reading the tests, to measure the check on mistakes nobody listed)")
    parser.add_argument("--report", metavar="FILE",
                        help="also write each fixture's stated mistake and the check's verdict "
                             "and message, one JSON object a line")
    parser.add_argument("only", nargs="*", help="check only fixtures whose path contains one of these")
    args = parser.parse_args()

    fixtures = sorted(pathlib.Path(args.fixtures).resolve().glob("[0-9][0-9]_*/*.cpp"))
    report = open(args.report, "w") if args.report else None
    if args.only:
        fixtures = [f for f in fixtures if any(o in str(f) for o in args.only)]
    hints = wrong = named = rejected = 0
    problems = []
    start = time.time()
    for fixture in fixtures:
        answers, expectations, others = read_fixture(fixture)
        chapter = fixture.parent.name[:2]
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            proc = subprocess.run(
                [sys.executable, str(HERE / "check.py"), "--build-dir", args.build_dir, "--chapter", chapter,
                 "--answer", f"{answers}={fixture}", "--others", "solutions",
                 *[f"--answer={n}={f}" for n, f in others.items()], "--timeout", "2",
                 "--only", ",".join(sorted({e[0] for e in expectations})),
                 "--json", out.name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                results = {r["number"]: r for rs in json.loads(pathlib.Path(out.name).read_text() or "{}").values()
                           for r in rs}
            except json.JSONDecodeError:
                results = {}
        name = fixture.relative_to(HERE).as_posix() if fixture.is_relative_to(HERE) else str(fixture)
        if report:
            stated = [l.split(":", 1)[1].strip() for l in fixture.read_text().splitlines()
                      if l.startswith("// mistake:")]
            got = results.get(answers)
            report.write(json.dumps({"fixture": name, "mistake": stated[0] if stated else "",
                                     "state": got["state"] if got else "(no result)",
                                     "message": (f"{got['detail']}: {got['reason']}" if got else proc.stdout)})
                         + "\n")
            report.flush()
        ok = True
        for number, state, fragment in expectations:
            got = results.get(number)
            said = f"{got['state']}: {got['detail']}: {got['reason']}" if got else "(no result)"
            if got is None or got["state"] != state or fragment.lower() not in said.lower():
                ok = False
                problems.append(f"{name}: expected {number} {state}" + (f" with '{fragment}'" if fragment else "")
                                + f"\n    the check said: {said}" + ("" if got else "\n" + proc.stdout))
        mine = next(e for e in expectations if e[0] == answers)
        if mine[1] == "passing":
            hints += 1
        else:
            wrong += 1
            named += ok and bool(mine[2])
            rejected += results.get(mine[0], {}).get("state") not in ("passing", None)
        print(f"{'ok  ' if ok else 'FAIL'} {name}", flush=True)

    if not args.only and pathlib.Path(args.fixtures).resolve() == FIXTURES:
        problems += check_commands(args.build_dir)

    print(f"\n{len(fixtures)} fixtures in {time.time() - start:.0f} s: {hints} answers written as the hints "
          f"say; {wrong} wrong answers, {rejected} of them rejected, {named} with the message that names "
          "their mistake (where the fixture states one)")
    if problems:
        print("\ncatalogue FAILED:")
        for p in problems:
            print(f"  {p}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
