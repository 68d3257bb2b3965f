#!/usr/bin/env python3
"""The learner's check: builds the exercise tests against exercises/ and prints progress.

    make check            every chapter
    make check CH=01      one chapter

For each chapter it builds test_exNN_learner (the exercise tests linked against the
learner's files), runs each test in its own process with a time limit, and
prints one line per exercise: not started, failing (with the first failure in plain
words and where the task's hint is) or passing. A chapter that does not compile is
reported as such; the other chapters are still checked.

With --expect-stubs (CI) it checks the shipped stubs instead: every exercise must be
"not started" and every one of its test cases must fail, since a test that passes on a
stub cannot tell a right answer from a missing one. Exits 1 otherwise.

Only Python's standard library is used.
"""
import argparse
import os
import pathlib
import re
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import layout  # noqa: E402  (the chapter and exercise conventions, shared with book/weave.py)
NOT_IMPLEMENTED = "is not implemented yet"


class Style:
    def __init__(self, enabled):
        self.enabled = enabled

    def __call__(self, text, code):
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text


def color_wanted():
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


class Exercise:
    """One exercise as the task statement declares it (layout.ExerciseSpec), and its result."""

    def __init__(self, spec, chapter):
        self.number = spec.number          # "1.2"
        self.title = spec.title            # "stable softmax"
        self.header = spec.header          # path of exercises.hpp, relative to the repository
        self.line = spec.line              # line of "Exercise 1.2:" in the header
        self.hint_line = spec.hint_line    # line of the task's "Hint:"
        self.answer_file = spec.answer_file
        self.chapter = chapter             # "01_single_head_attention"
        self.state = "not started"
        self.reason = ""                   # first failure in plain words
        self.detail = ""                   # which test found it
        self.cases = []                    # (test case name, passed)


def find_exercises(chapter_dir):
    """The exercises of exercises/NN_name/, from the task statements in its exercises.hpp."""
    return [Exercise(spec, chapter_dir.name) for spec in layout.exercises(chapter_dir.name)]


def build(build_dir, target):
    """Builds one target; returns (ok, first error in the compiler's words)."""
    proc = subprocess.run(["cmake", "--build", str(build_dir), "--target", target],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode == 0:
        return True, ""
    errors = [line.replace(str(ROOT) + "/", "").strip() for line in proc.stdout.splitlines()
              if re.search(r"\berror\b|undefined reference", line)
              and not line.startswith(("FAILED", "ninja:"))]
    # An error inside a library header is usually caused by the learner's line that
    # "required" it: show an error in the learner's own files first.
    mine = [e for e in errors if e.startswith("exercises/")]
    if mine or errors:
        return False, (mine or errors)[0]
    return False, proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "build failed"


def text(element):
    return (element.text or "").strip() if element is not None else ""


def failure_reason(case):
    """The first failure of a Catch2 XML <TestCase>, in plain words."""
    info = ""
    for child in case.iter():
        if child.tag == "Info":
            info = text(child)
        elif child.tag == "Expression" and child.get("success") == "false":
            exception = child.find("Exception")
            if exception is not None:
                message = text(exception)
                if NOT_IMPLEMENTED in message:
                    return message
                if child.get("type", "").startswith(("CHECK_THROWS", "REQUIRE_THROWS")):
                    return f"threw the wrong exception ({message})" + (f"; {info}" if info else "")
                return f"threw an exception: {message}"
            expanded = text(child.find("Expanded"))
            for prefix in ("mistake:", "wrong:"):
                for line in expanded.splitlines():
                    if line.strip().startswith(prefix):
                        reason = line.strip()[len(prefix):].strip()
                        return ("likely mistake: " + reason) if prefix == "mistake:" else reason
            if child.get("type", "").startswith(("CHECK_THROWS", "REQUIRE_THROWS")):
                return f"{info}, but nothing was thrown" if info else "nothing was thrown"
            original = " ".join(text(child.find("Original")).split())
            return f"check failed: {original}" + (f" ({info})" if info else "")
        elif child.tag == "Exception":
            message = text(child)
            return message if NOT_IMPLEMENTED in message else f"threw an exception: {message}"
        elif child.tag == "FatalErrorCondition":
            return f"crashed: {text(child)} (an out-of-bounds index or a dangling view?)"
        elif child.tag == "Failure":
            return text(child).splitlines()[0] if text(child) else "failed"
    return "failed"


def escape_test_name(name):
    """A test name as a Catch2 filter: commas, brackets and wildcards taken literally."""
    return re.sub(r'([\\,\[\]*"])', r"\\\1", name)


def run_case(binary, name, timeout):
    """Runs one test case in its own process: (passed, reason)."""
    try:
        proc = subprocess.run([str(binary), escape_test_name(name), "-r", "xml"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"did not finish within {timeout:g} s: an endless loop?"
    try:
        case = ET.fromstring(proc.stdout).find(".//TestCase")
    except ET.ParseError:
        case = None
    if case is None:
        if proc.returncode < 0:
            name = signal.Signals(-proc.returncode).name
            return False, f"crashed with {name} (an out-of-bounds index or a dangling view?)"
        return False, f"the test program stopped unexpectedly (exit code {proc.returncode})"
    result = case.find("OverallResult")
    if result is not None and result.get("success") == "true":
        return True, ""
    return False, failure_reason(case)


def run_exercise(binary, exercise, timeout):
    """Runs each test tagged [N.M] in its own process, so that a crash or an endless loop
    in one test is reported for that test, and sets the exercise's state."""
    try:
        listing = subprocess.run([str(binary), "--list-test-names-only", f"[{exercise.number}]"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                 timeout=timeout)
        names = [n.strip() for n in listing.stdout.splitlines() if n.strip()]
    except subprocess.TimeoutExpired:
        names = []
    if not names:
        exercise.state, exercise.reason = "failing", "no tests found for this exercise"
        return
    first_failure = None
    all_not_implemented = True
    for name in names:
        passed, reason = run_case(binary, name, timeout)
        other = re.search(r"exercise (\d+\.\d+) " + NOT_IMPLEMENTED, reason)
        if not passed and other and other.group(1) != exercise.number:
            # This answer calls another exercise that is still a stub.
            reason = (f"it calls exercise {other.group(1)}, which is not started yet: "
                      f"do {other.group(1)} first, or compute that step here")
        exercise.cases.append((name, passed))
        if passed or NOT_IMPLEMENTED not in reason:
            all_not_implemented = False
        if not passed and NOT_IMPLEMENTED not in reason and first_failure is None:
            first_failure = (name, reason)
    if all(p for _, p in exercise.cases):
        exercise.state = "passing"
    elif all_not_implemented:
        exercise.state = "not started"
    else:
        exercise.state = "failing"
        if first_failure is None:  # some parts pass, the rest still throws not_implemented
            first_failure = next((n, "still throws attn::not_implemented") for n, p in exercise.cases if not p)
        name, exercise.reason = first_failure
        exercise.detail = re.sub(r"^\d+\.\d+\s*", "", name)


def check_chapter(build_dir, chapter_dir, timeout, style):
    number, title = chapter_dir.name[:2], layout.chapter_title(chapter_dir.name)
    exercises = find_exercises(chapter_dir)
    target = f"test_ex{number}_learner"
    compiled, error = build(build_dir, target)
    if compiled:
        for ex in exercises:
            run_exercise(build_dir / "tests" / target, ex, timeout)
    passing = sum(ex.state == "passing" for ex in exercises)

    summary = f"{passing} of {len(exercises)} passing" if compiled else "does not compile"
    head = f"Chapter {number}  {title}"
    print(style(f"{head:<58}", "1") + (style(summary, "32") if compiled and passing == len(exercises)
                                       else style(summary, "31") if not compiled else summary))
    if not compiled:
        print(f"  {error}")
        if "undefined reference" in error:
            print(f"  A function of exercises/{chapter_dir.name}/exercises.hpp has no definition: "
                  "was it deleted or renamed?\n  `git checkout -- <its file>` restores the stub.")
        print(f"  (the other chapters are still checked; every error: "
              f"cmake --build {os.path.relpath(build_dir, os.getcwd())} --target {target})")
        return exercises, False
    width = max((len(f"{ex.number} {ex.title}") for ex in exercises), default=20) + 2
    colors = {"passing": "32", "failing": "31", "not started": "2"}
    for ex in exercises:
        label = f"{ex.number} {ex.title}"
        if ex.state != "failing":
            print(f"  {label:<{width}}" + style(ex.state, colors[ex.state]))
            continue
        print(f"  {label:<{width}}" + style(f"{ex.state:<13}", colors[ex.state]), end="")
        indent = " " * (2 + width + 13)
        if ex.detail:
            print(ex.detail + ":")
            print(f"{indent}{ex.reason}")
        else:
            print(ex.reason)
        print(f"{indent}hint: {ex.header}:{ex.hint_line}")
    return exercises, True


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `make check | head` ends quietly
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default=str(ROOT / "build"))
    parser.add_argument("--chapter", "-c", default="", help="a chapter number such as 01 (default: all)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per test (default 5)")
    parser.add_argument("--expect-stubs", action="store_true",
                        help="CI: require every exercise test to fail on the shipped stubs")
    args = parser.parse_args()

    build_dir = pathlib.Path(args.build_dir).resolve()
    chapters = sorted(p for p in (ROOT / "exercises").glob("[0-9][0-9]_*") if p.is_dir())
    if args.chapter:
        wanted = args.chapter.zfill(2)
        chapters = [c for c in chapters if c.name.startswith(wanted + "_")]
        if not chapters:
            available = ", ".join(c.name[:2] for c in sorted((ROOT / "exercises").glob("[0-9][0-9]_*")))
            print(f"check: no exercises for chapter '{args.chapter}' (chapters with exercises: {available})",
                  file=sys.stderr)
            return 2
    style = Style(color_wanted())

    problems = []
    next_up = None
    for chapter_dir in chapters:
        exercises, compiled = check_chapter(build_dir, chapter_dir, args.timeout, style)
        print()
        if args.expect_stubs:
            if not compiled:
                problems.append(f"chapter {chapter_dir.name}: the shipped stubs do not compile")
            for ex in exercises:
                passed = [name for name, ok in ex.cases if ok]
                if passed:
                    problems.append(f"exercise {ex.number}: passes on its stub: {'; '.join(passed)}")
                if not ex.cases:
                    problems.append(f"exercise {ex.number}: has no tests")
                elif ex.state != "not started":
                    problems.append(f"exercise {ex.number}: is '{ex.state}' on its stub ({ex.reason})")
        elif next_up is None and not compiled:
            next_up = chapter_dir
        elif next_up is None:
            next_up = next((ex for ex in exercises if ex.state != "passing"), None)

    if args.expect_stubs:
        total = sum(1 for _ in chapters)
        if problems:
            print("stub check FAILED:")
            for p in problems:
                print(f"  {p}")
            return 1
        print(f"stub check: every exercise test fails on its shipped stub ({total} chapter(s))")
        return 0

    if isinstance(next_up, pathlib.Path):
        print(f"Next: make chapter {next_up.name[:2]} compile again (the error is above), then run the check again.")
    elif next_up is not None:
        number = next_up.chapter[:2]
        print(f"Next: exercise {next_up.number}, {next_up.title}. The task is at {next_up.header}:{next_up.line},")
        print(f"your answer goes in {next_up.answer_file}. Every detail of its tests:")
        print(f"  {os.path.relpath(build_dir, os.getcwd())}/tests/test_ex{number}_learner \"[{next_up.number}]\"")
    else:
        print("Every exercise passes. Compare your answers with solutions/.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
