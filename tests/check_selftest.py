#!/usr/bin/env python3
"""Proves that the learner's check reports misbehaving answers per exercise.

Runs tests/check.py's runner on test_ex01_misbehaving, the chapter 01 exercise tests
linked against tests/check_fixtures/01_misbehaving (an exception, a wrong shape, an endless
loop, a crash), and checks that each exercise is reported as failing with the right
reason while the others are still checked. Run by ctest.
"""
import argparse
import importlib.util
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("check", HERE / "check.py")
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)

EXPECTED = {
    "1.1": ["threw an exception: something broke"],
    "1.2": ["the result has shape"],
    "1.3": ["did not finish within"],
    "1.4": ["crash", "stopped unexpectedly"],  # a signal, or a sanitizer's abort
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    args = parser.parse_args()
    exercises = check.find_exercises(check.ROOT / "exercises" / "01_single_head_attention")
    failures = 0
    for ex in exercises:
        check.run_exercise(pathlib.Path(args.binary), ex, timeout=2.0)
        wanted = EXPECTED[ex.number]
        ok = ex.state == "failing" and any(w in ex.reason for w in wanted)
        print(f"{'ok  ' if ok else 'FAIL'} {ex.number}: {ex.state}: {ex.reason}")
        failures += not ok
    print(f"{len(exercises) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
