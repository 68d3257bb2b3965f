#!/usr/bin/env python3
"""The learner's check: builds the exercise tests against exercises/ and prints progress.

    make check            every chapter
    make check CH=01      one chapter

For each chapter it compiles the learner's answers, one file per exercise, links them
with the exercise tests (test_exNN_learner), runs every test in its own process with a
time limit, and prints one line per exercise: not started, failing (with the most useful
failure in plain words and where the task's hint is), does not compile (with the
learner's own file and line) or passing.

Each answer is compiled through a wrapper in the build tree (build/check/NN_name/, see
attn_add_chapter in CMakeLists.txt). An answer that is missing or does not compile is
replaced by a stub there, so the chapter's other exercises are still checked. An answer
that calls another exercise that is not passing is told so.

Exit status: 0 when every checked exercise passes, 1 when one does not, 2 when the check
itself cannot run (the shared code does not build, an unknown chapter).

With --expect-stubs (CI) it checks the shipped stubs instead: every exercise must be
"not started" and every one of its test cases must fail, since a test that passes on a
stub cannot tell a right answer from a missing one.

With --answer N.M=FILE and --others solutions (tests/check_catalogue.py) it checks a
catalogue answer in place of the learner's, with the reference answers for the rest.

Only Python's standard library is used.
"""
import argparse
import concurrent.futures
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import layout  # noqa: E402  (the chapter and exercise conventions, shared with book/weave.py)

NOT_IMPLEMENTED = "is not implemented yet"

# Library errors as a learner meets them, and what they mean in the learner's terms.
LIBRARY_ERRORS = [
    ("Incompatible dimension of arrays",
     "two tensors in one element-wise expression (+, -, *, /) have shapes that do not fit "
     "together (xtensor's broadcast error). Likely causes: dividing a [rows, cols] matrix by a "
     "[rows] sum (keep the axis with xt::keep_dims, or work row by row), or rows and columns "
     "swapped"),
    ("Dot: shape mismatch",
     "xt::linalg::dot(A, B) was given A and B whose inner sizes differ (A's columns must equal "
     "B's rows). Likely causes: the factors in the wrong order (X W, not W X), or a transpose "
     "missing or one too many"),
    ("Broadcast shape has fewer elements",
     "a tensor was assigned to a view of another shape (xtensor's broadcast error)"),
]

# Compiler errors whose template text hides a simple cause, and that cause in plain words.
TEMPLATE_ERRORS = [
    (r"xt::xreducer<.*(to|into) ['‘](float|double|int|long|(std::)?size_t|unsigned)",
     "an xtensor reducer (xt::sum, xt::mean, xt::amax, ...) is a lazy expression, not a number: "
     "add () to evaluate it, e.g. `float m = xt::mean(row)();`"),
    (r"(conversion|convert) from ['‘]xt::x(function|view|reducer)<",
     "an xtensor expression is lazy: store it in a concrete type first, e.g. `Matrix m = ...;` "
     "(or `xt::eval(...)`), or add () to a reducer to get its number"),
    (r"no match for call to ['‘]\(xt::xtensor_container<",
     "a tensor was called with the wrong number of indices: a Matrix takes two, m(i, j)"),
]

# The learner's answers are compiled with AddressSanitizer (CMakeLists.txt), so that a read
# past the end of a tensor stops at the learner's line instead of giving garbage. Leaks are
# not the learner's concern here; the report goes to stderr, where run_case reads it.
# handle_abort: a failed _GLIBCXX_ASSERTIONS check (an index past a std::array's end) aborts;
# AddressSanitizer then prints the stack, with the learner's line.
SANITIZER_ENV = dict(os.environ,
                     ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:print_summary=1:handle_abort=1")
# The tests weigh each known mistake's formula on every call (tests/support/unchanged.hpp)
# and, with this set, write their verdicts to stderr: "attn-formula matched|refuted\ttest\tname".
SANITIZER_ENV["ATTN_MISTAKE_FORMULAS"] = "1"
FORMULA_LINE = re.compile(r"^attn-formula (matched|refuted)\t([^\t]*)\t(.*)$", re.M)

# glibc's words when it finds the heap corrupted (it then aborts, or hangs in the crash handler).
HEAP_CORRUPTION = re.compile(r"(malloc\(\)|free\(\)|double free|corrupted|munmap_chunk|realloc\(\))[^\n]*")

SIGNALS = {
    "SIGSEGV": "a segmentation fault: the answer read or wrote outside a tensor (an index past "
               "its end, or a view of a temporary that no longer exists?)",
    "SIGABRT": "an abort: usually the heap was corrupted by a write past the end of a tensor",
    "SIGFPE": "an arithmetic error (an integer division by zero?)",
    "SIGBUS": "a bus error: a read or write outside a tensor",
}


class Style:
    def __init__(self, enabled):
        self.enabled = enabled

    def __call__(self, text, code):
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text


def color_wanted():
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def relative(path):
    """A path as the learner knows it: relative to the repository when inside it."""
    return str(path).replace(str(ROOT) + "/", "")


class Exercise:
    """One exercise as the task statement declares it (layout.ExerciseSpec), and its result."""

    def __init__(self, spec, chapter):
        self.spec = spec
        self.number = spec.number          # "1.2"
        self.title = spec.title            # "stable softmax"
        self.header = spec.header          # path of exercises.hpp, relative to the repository
        self.line = spec.line              # line of "Exercise 1.2:" in the header
        self.hint_line = spec.hint_line    # line of the task's "Hint:"
        self.answer_file = spec.answer_file
        self.chapter = chapter             # "01_single_head_attention"
        self.source = ROOT / spec.answer_file  # the file compiled for this exercise
        self.state = "not started"         # not started, failing, does not compile, missing, passing
        self.reason = ""                   # the most useful failure, in plain words
        self.detail = ""                   # which test found it
        self.calls = []                    # other exercises of the chapter this answer calls
        self.uses_library = []             # the chapter library's versions of exercises it calls
        self.cases = []                    # (test case name, passed)
        self.failures = 0

    @property
    def short_function(self):
        return self.spec.function.split("::")[-1]


def find_exercises(chapter_dir):
    """The exercises of exercises/NN_name/, from the task statements in its exercises.hpp."""
    return [Exercise(spec, chapter_dir.name) for spec in layout.exercises(chapter_dir.name)]


# ------------------------------------------------------------------------------ building

def wrapper_path(build_dir, exercise):
    return build_dir / "check" / exercise.chapter / pathlib.Path(exercise.answer_file).name


def stub_text(exercise):
    """What the shipped stub says, written from the declaration in exercises.hpp."""
    namespace = exercise.spec.function.rsplit("::", 1)[0]
    return (f'// Stub for exercise {exercise.number}, put here by tests/check.py in place of an answer\n'
            f'// that is missing or does not compile.\n#include "exercises.hpp"\n\n'
            f"namespace {namespace} {{\n\n"
            + "".join(f"{declaration} {{\n"
                      f'    throw attn::not_implemented("{exercise.number}");\n}}\n\n'
                      for _, declaration in exercise.spec.functions)
            + f"}}  // namespace {namespace}\n")


def point_wrapper(build_dir, exercise, stub=False):
    """Makes the exercise's wrapper compile its source (or a stub); rewritten only on change,
    so an unchanged answer is not recompiled."""
    path = wrapper_path(build_dir, exercise)
    text = stub_text(exercise) if stub else f'#include "{exercise.source}"\n'
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def run_build(build_dir, target):
    """Builds a target, going on past failures (-k 0): (ok, output)."""
    keep_going = ["--", "-k", "0"] if (build_dir / "build.ninja").exists() else ["--", "-k"]
    proc = subprocess.run(["cmake", "--build", str(build_dir), "--target", target] + keep_going,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc.returncode == 0, proc.stdout


def failed_steps(output):
    """The build's failed steps: [(what failed, its output lines)]."""
    steps, current = [], None
    for line in output.splitlines():
        if line.startswith("FAILED: "):
            current = (line[len("FAILED: "):].strip(), [])
            steps.append(current)
        elif line.startswith("ninja: ") or re.match(r"^\[\d+/\d+\] ", line):
            current = None
        elif current is not None:
            current[1].append(line)
    return steps


def compile_error(lines, source):
    """The first error of one compiler run, told from the learner's file `source`:
    "exercises/.../1_2_x.cpp:9: error: ...", with the line of code under it. An error inside
    a library header is reported at the learner's line that caused it ("required from here")."""
    own = str(source)
    location = re.compile(r"^(/[^:\s]+):(\d+):(?:\d+:)?\s*(.*)$")
    first_error, caused_at = None, None
    for line in lines:
        m = location.match(line.strip())
        if not m:
            continue
        path, number, rest = m.groups()
        if path == own and caused_at is None and ("required from" in rest or "error" in rest):
            caused_at = (path, int(number))
        if re.match(r"(fatal )?error:", rest):
            first_error = (path, int(number), re.sub(r"^(fatal )?error:\s*", "", rest))
            break
    if first_error is None:
        text = "\n".join(l for l in lines if l.strip() and not l.startswith(("/usr/bin/", "/usr/lib/")))
        return text.strip().splitlines()[-1] if text.strip() else "the compiler failed"
    path, number, message = first_error
    plain = next((meaning for pattern, meaning in TEMPLATE_ERRORS if re.search(pattern, message)), "")
    if path == own or not caused_at:
        where, message = (path, number), f"error: {message}"
    else:
        header = re.sub(r"^/usr/include/", "", path)
        where, message = caused_at, f"error inside {header}, caused by this line: {message}"
    try:
        code = pathlib.Path(where[0]).read_text().splitlines()[where[1] - 1].strip()
    except (OSError, IndexError):
        code = ""
    said = f"{relative(where[0])}:{where[1]}:  {code}\n"
    return said + (f"{plain}\nthe compiler's words: {message}" if plain else message)


def link_errors(lines, exercises):
    """Link errors (undefined or multiple definitions of an exercise's function): {exercise: reason}."""
    found = {}
    for line in lines:
        for ex in exercises:
            if ex in found or not any(f + "(" in line for f, _ in ex.spec.functions):
                continue
            if "undefined reference" in line:
                found[ex] = (f"{ex.answer_file} defines no function with the declared signature "
                             f"`{ex.spec.declaration}` (was it renamed, or a parameter type changed?); "
                             f"`git checkout -- {ex.answer_file}` restores the stub")
            elif "multiple definition" in line:
                found[ex] = (f"{ex.spec.function} is defined twice; define it only in "
                             f"{ex.answer_file} and call it from the other answers")
    return found


def build_chapter(build_dir, exercises, target):
    """Compiles every answer, replacing the ones that are missing or do not compile with
    stubs, and links the tests. Returns (ok, error): ok False means the shared code (not
    the learner's files) does not build, and error says where."""
    for ex in exercises:
        if not ex.source.exists():
            ex.state = "missing"
            ex.reason = (f"{relative(ex.source)} is missing; "
                         f"`git checkout -- {relative(ex.source)}` restores the stub")
        point_wrapper(build_dir, ex, stub=ex.state == "missing")
    for _ in range(len(exercises) + 1):
        ok, output = run_build(build_dir, target)
        if ok:
            return True, ""
        steps = failed_steps(output)
        newly_broken = []
        for what, lines in steps:
            ex = next((e for e in exercises if what.endswith("/" + pathlib.Path(e.answer_file).name + ".o")), None)
            if ex is not None and ex.state not in ("does not compile", "missing"):
                log = wrapper_path(build_dir, ex).with_suffix(".log")
                log.write_text("\n".join(lines) + "\n")
                ex.state = "does not compile"
                ex.reason = f"{compile_error(lines, ex.source)}\nthe compiler's full text: {relative(log)}"
                newly_broken.append(ex)
            elif ex is None and re.search(r"\.(o|obj)$", what):
                return False, compile_error(lines, None)
            elif ex is None:  # the link
                for bad, reason in link_errors(lines, exercises).items():
                    if bad.state not in ("does not compile", "missing"):
                        bad.state, bad.reason = "does not compile", reason
                        newly_broken.append(bad)
                if not newly_broken:
                    text = [l for l in lines if "error" in l or "undefined" in l]
                    return False, (text or lines or ["the link failed"])[0].strip()
        if not newly_broken:
            return False, (output.strip().splitlines() or ["the build failed"])[-1]
        for ex in newly_broken:
            point_wrapper(build_dir, ex, stub=True)
    return False, "the build failed"


def find_calls(build_dir, exercises):
    """Which other exercises each answer calls, read from its object file's undefined symbols."""
    objects = {o.name: o for o in build_dir.glob("**/ex*_learner.dir/**/*.cpp.o")}
    for ex in exercises:
        obj = objects.get(pathlib.Path(ex.answer_file).name + ".o")
        if obj is None or ex.state in ("does not compile", "missing"):
            continue
        try:
            symbols = subprocess.run(["nm", "-C", "--undefined-only", str(obj)], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True).stdout
        except OSError:
            return
        ex.calls = [other for other in exercises
                    if other is not ex and any(f + "(" in symbols for f, _ in other.spec.functions)]
        # The chapter's own library holds its version of every exercise (the tests compare
        # with it); an answer must not call it in place of writing the exercise.
        ex.uses_library = sorted({f"attn::{other.short_function}" for other in exercises
                                  if re.search(rf"(^|\s)attn::{other.short_function}\(", symbols, re.M)})


# ------------------------------------------------------------------------------ running tests

def text(element):
    return (element.text or "").strip() if element is not None else ""


def library_error(message):
    """An exception's message in the learner's terms, when a library threw it."""
    for raw, meaning in LIBRARY_ERRORS:
        if raw in message:
            return meaning
    return None


def exception_reason(message, info=""):
    if NOT_IMPLEMENTED in message:
        return "not_implemented", message
    meaning = library_error(message)
    if meaning:
        return "library", meaning
    return "exception", f"threw an exception: {message}" + (f" ({info})" if info else "")


# How useful a failure is to the learner; the check shows the most useful one.
# A crash comes right after a named mistake: it can hide every other symptom, and its
# message is specific (heap corruption, a segmentation fault).
# Then a probe (a designed input that isolates one part, named by the property it checks),
# then a wrong value with the shape of its error, then a library error explained, then the
# smallest input that fails, which is also shown under any of those (run_exercise).
RANK = {"mistake": 0, "crash": 1, "probe": 2, "wrong": 3, "library": 4, "smallest": 5, "check": 6,
        "exception": 7, "timeout": 8, "not_implemented": 9}

# Lines of the error's shape shown under its first line (the rest is in the test's output).
MAX_DETAIL = 4


def mistake_key(name):
    """What identifies a named mistake across tests: its words before the first ':'."""
    return name.split(":", 1)[0].strip().lower()


def first_argument(call):
    """`numbers(pool.owners)` of "numbers(pool.owners), IsClose(...)": the text before the
    first comma outside brackets."""
    depth = 0
    for i, c in enumerate(call):
        if c in "([{<":
            depth += 1
        elif c in ")]}>":
            depth -= 1
        elif c == "," and depth == 0:
            return call[:i].strip()
    return call.strip()


def output_name(call):
    """The output a comparison checks, when it is one of several: a struct's field or an
    argument changed in place, e.g. "pool.owners" from `numbers(pool.owners)`, "dx" from
    `g.dx` or `ex::layer_norm_backward(...).dx`; "" for a function's only result."""
    actual = first_argument(call)
    while True:  # unwrap conversions: numbers(x), as_vector(x), Vector{x}, static_cast<float>(x)
        m = re.fullmatch(r"(?:[\w:]+(?:<[\w:]+>)?)\s*[({](.*)[)}]", actual)
        if not m or first_argument(m.group(1)) != m.group(1).strip():
            break
        actual = m.group(1).strip()
    m = re.search(r"\)\.([A-Za-z_]\w*)$", actual)
    if m:
        return m.group(1)
    m = re.fullmatch(r"([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)+)", actual)
    if m:
        return m.group(2)[1:] if len(m.group(1)) == 1 else actual
    return ""


def failure_reason(case):
    """The failures of a Catch2 XML <TestCase>: ([(kind, reason in plain words, the named
    mistake or "", the reason without that mistake)], [mistakes a check attached and the
    answer did not match], [(the first line of each wrong value, the same without a
    pattern)])."""
    found = []
    unmatched = []
    headlines = []  # (the first "wrong:" line of each failing comparison, its plain words)
    infos = []  # the INFO messages of the next failing assertion (Catch writes them before it)
    info = probe = ""
    for child in case.iter():
        if child.tag == "Info":
            infos.append(text(child))
            continue
        if child.tag not in ("Expression", "Exception", "FatalErrorCondition", "Failure"):
            continue
        # Each assertion's own messages, never one left over from an earlier assertion: the
        # innermost says what this check checks, a "probe:" message which probe it belongs to.
        info = infos[-1] if infos else ""
        probe = next((i[len("probe:"):].strip() for i in infos if i.startswith("probe:")), "")
        infos = []
        if child.tag == "Expression" and child.get("success") == "false":
            throws_check = child.get("type", "").startswith(("CHECK_THROWS", "REQUIRE_THROWS"))
            exception = child.find("Exception")
            if exception is not None:
                kind, reason = exception_reason(text(exception))
                if throws_check and kind != "not_implemented":
                    meaning = library_error(text(exception))
                    what = (f"bad input reached a library call, which threw ({meaning})" if meaning
                            else f"threw the wrong exception ({text(exception)})")
                    kind, reason = "wrong", (f"{what} instead of std::invalid_argument naming the "
                                             "function: check the arguments first"
                                             + (f"; {info}" if info else ""))
                found.append((kind, reason, "", reason))
                continue
            expanded = text(child.find("Expanded"))
            lines = [l.strip() for l in expanded.splitlines()]
            mistakes = [l[len("mistake:"):].strip() for l in lines if l.startswith("mistake:")]
            # A fact the test saw (an input changed), not a guess: said without "likely".
            certain = [l[len("certain:"):].strip() for l in lines if l.startswith("certain:")]
            wrongs = [l[len("wrong:"):].strip() for l in lines if l.startswith("wrong:")]
            # Which output is wrong, when the function has several (a struct's fields).
            output = output_name(" ".join(text(child.find("Original")).split()))
            if output and wrongs and not re.match(r"[\w.\[\]]+: ", wrongs[0]):  # not named yet
                wrongs[0] = f"{output}: {wrongs[0]}"
                lines = [f"plain: {output}: {l[len('plain:'):].strip()}" if l.startswith("plain:")
                         and not any(x.startswith("plain:") for x in lines[:i]) else l
                         for i, l in enumerate(lines)]
            # The shape of the error (diagnosis.hpp) and the input it was found on, kept
            # with their alignment: the answer and the expected result side by side.
            details = [l[len("detail:"):].strip() for l in lines if l.startswith("detail:")]
            example = [l.split("input: ", 1)[1] if "input: " in l else ""
                       for l in expanded.splitlines() if l.strip().startswith("input:")]
            said = "\n".join(([wrongs[0]] if wrongs else []) + details[:MAX_DETAIL])
            if wrongs:
                # The same difference told without a pattern (where it is, the first element
                # that differs), for when the pattern does not hold on the other inputs.
                plain = [l[len("plain:"):].strip() for l in lines if l.startswith("plain:")]
                headlines.append((wrongs[0], plain))
            if example:
                # A probe's input is designed, not the smallest: said so.
                title = "the probe's input:" if probe else "the smallest input on which it fails:"
                said += "\n" + "\n".join([title] + ["  " + l for l in example])
            unmatched += [l[len("unmatched:"):].strip() for l in lines if l.startswith("unmatched:")]
            generic = ("probe", f"failed {probe}\n{said}") if probe and wrongs else \
                ("smallest", said) if example and wrongs else ("wrong", said) if wrongs else None
            if certain:
                found.append(("mistake", "mistake: " + certain[0]
                              + (f"\n{wrongs[0]}" if wrongs else ""), certain[0], generic))
            elif mistakes:
                found.append(("mistake", "likely mistake: " + mistakes[0]
                              + (f"\n{wrongs[0]}" if wrongs else ""), mistakes[0], generic))
            elif generic:
                found.append(generic + ("", None))
            elif throws_check:
                # Which call: the test's own words when it has them, else the call itself.
                call = " ".join(text(child.find("Original")).split())
                call = re.sub(r"^\s*(.*?),\s*std::invalid_argument.*$", r"\1", call)
                reason = (f"{info}, but nothing was thrown" if info
                          else f"{call} should throw std::invalid_argument, but nothing was thrown")
                found.append(("wrong", reason, "", None))
            else:
                original = " ".join(text(child.find("Original")).split())
                found.append(("check", f"check failed: {original}" + (f" ({info})" if info else ""), "", None))
                if probe:  # a plain CHECK inside a probe: the probe says what it isolates
                    found[-1] = ("probe", f"failed {probe}\n{found[-1][1]}", "", None)
        elif child.tag == "Exception":
            found.append(exception_reason(text(child)) + ("", None))
        elif child.tag == "FatalErrorCondition":
            name = text(child).split()[0] if text(child) else "a signal"
            found.append(("crash", f"crashed with {name}: " + SIGNALS.get(name, "a fatal signal"), "", None))
        elif child.tag == "Failure":
            message = text(child)
            if message.startswith("wrong:") and probe:  # a probe's input that the answer refused
                found.append(("probe", f"failed {probe}\n{message[len('wrong:'):].strip()}", "", None))
            elif message.startswith("wrong:"):  # check_every_size(): the answer threw on a valid input
                body = message[len("wrong:"):].strip().split("\ninput: ")
                found.append(("smallest", body[0] + "".join(
                    "\nthe input:\n  " + b.replace("\n", "\n  ") for b in body[1:]), "", None))
            else:
                found.append(("check", message.splitlines()[0] if message else "failed", "", None))
    return found or [("check", "failed", "", None)], unmatched, headlines


def escape_test_name(name):
    """A test name as a Catch2 filter: commas, brackets and wildcards taken literally."""
    return re.sub(r'([\\,\[\]*"])', r"\\\1", name)


def sanitizer_reason(stderr):
    """AddressSanitizer's report (the learner's answers are compiled with it) in the learner's
    terms: what was read or written, and the line of the learner's code that did it."""
    lines = stderr.splitlines()
    # "ERROR: AddressSanitizer: SEGV on ..." says what happened; a DEADLYSIGNAL line before it
    # does not.
    first = next((l for l in lines if "ERROR: AddressSanitizer" in l),
                 next(l for l in lines if "Sanitizer" in l)).strip()
    where = ""
    for m in re.finditer(r"#\d+ 0x[0-9a-f]+ in .*? (/\S+?):(\d+)(?::\d+)?$", stderr, re.M):
        path, line = m.group(1), int(m.group(2))
        if "/exercises/" in path or "/check_fixtures/" in path or path.startswith("/tmp/"):
            try:
                code = pathlib.Path(path).read_text().splitlines()[line - 1].strip()
            except (OSError, IndexError):
                code = ""
            where = f" at {relative(path)}:{line}:  {code}"
            break
    access = re.search(r"(READ|WRITE) of size (\d+)", stderr)
    assertion = re.search(r"^.*Assertion '__n < (this->)?size\(\)' failed.*$", stderr, re.M)
    if assertion and "std::array" in assertion.group(0):
        return (f"crashed: an index past the end of a std::array{where}: a tensor's shape has "
                "one entry per dimension (a matrix has shape(0) and shape(1) only)")
    if assertion:
        return (f"crashed: an index past the end of a std::vector{where}: a vector of n entries "
                "ends at index n - 1")
    if re.search(r"xt::(sum|amax|amin|mean|prod)\(.*keep_dims", where) and re.search(r"[-+*/]\s*xt::", where):
        return (f"crashed: your answer read past the end of a tensor{where}: dividing (or "
                "subtracting, ...) by a lazy xt::sum(e, {1}, xt::keep_dims) expression reads past its "
                "end in xtensor 0.24 and gives wrong numbers. Store the reducer in a tensor first: "
                "`Matrix sums = xt::sum(e, {1}, xt::keep_dims);` then `e / sums`")
    if "heap-buffer-overflow" in first or "stack-buffer-overflow" in first:
        if access and access.group(1) == "WRITE":
            return (f"crashed: the heap was corrupted: your answer wrote past the end of a tensor{where} "
                    "(an index past its end, or a view past the last row, column or head)")
        return (f"crashed: your answer read past the end of a tensor{where} (an index past its end, "
                "or a view past the last row, column or head; xtensor does not check view ranges)")
    if "heap-use-after-free" in first or "stack-use-after" in first:
        return (f"crashed: your answer used memory that was already freed{where} (a view of a "
                "temporary tensor, or a reference to a local that went out of scope?)")
    if "SEGV" in first:
        return (f"crashed with SIGSEGV: a segmentation fault{where}: the answer read or wrote outside a "
                "tensor (an index past its end, or a view of a temporary that no longer exists?)")
    return f"crashed: {first}{where}"


def run_case(binary, name, timeout):
    """Runs one test case in its own process: (passed, failures, unmatched mistakes, first
    lines of the wrong values, formulas); see failure_reason(). formulas: {"matched": [...],
    "refuted": [...]}, the known mistakes whose formulas gave the answer's output on every
    call of the test, or not on one."""
    passed, found, unmatched, headlines, stderr = _run_case(binary, name, timeout)
    formulas = {"matched": [], "refuted": []}
    for verdict, _test, mistake in FORMULA_LINE.findall(stderr or ""):
        formulas[verdict].append(mistake.strip())
    return passed, found, unmatched, headlines, formulas


def _run_case(binary, name, timeout):
    with tempfile.TemporaryFile(mode="w+") as err:
        try:
            proc = subprocess.run([str(binary), escape_test_name(name), "-r", "xml"],
                                  stdout=subprocess.PIPE, stderr=err, text=True, timeout=timeout,
                                  env=SANITIZER_ENV)
            stdout, returncode = proc.stdout, proc.returncode
        except subprocess.TimeoutExpired:
            stdout, returncode = None, None
        err.seek(0)
        stderr = err.read()
    heap = HEAP_CORRUPTION.search(stderr)
    if heap:  # glibc aborts; Catch2's crash handler may then hang on the broken heap
        return False, [("crash", (f"crashed: the heap was corrupted (glibc: \"{heap.group(0).strip()}\"): "
                                "the answer wrote outside a tensor, e.g. an index past its end"), "", None)], [], [], stderr
    if stdout is None:
        return False, [("timeout", f"did not finish within {timeout:g} s: an endless loop?", "", None)], [], [], stderr
    try:
        case = ET.fromstring(stdout).find(".//TestCase")
    except ET.ParseError:
        case = None
    if case is None:
        if returncode < 0:
            name = signal.Signals(-returncode).name
            return False, [("crash", f"crashed with {name}: " + SIGNALS.get(name, "a fatal signal"), "", None)], [], [], stderr
        if "Sanitizer" in stderr:
            return False, [("crash", sanitizer_reason(stderr), "", None)], [], [], stderr
        return False, [("crash", f"the test program stopped unexpectedly (exit code {returncode})", "", None)], [], [], stderr
    result = case.find("OverallResult")
    if result is not None and result.get("success") == "true":
        return True, [], [], [], stderr
    found, unmatched, headlines = failure_reason(case)
    if "Sanitizer" in stderr:  # Catch2 saw the signal; AddressSanitizer's report says more
        found = [("crash", sanitizer_reason(stderr), "", None) if kind == "crash" else (kind, *rest)
                 for kind, *rest in found]
    return False, found, unmatched, headlines, stderr


def formula_reason(fitting, kept):
    """The words for mistakes whose formulas gave the answer's output on every call: the
    mistake, or the few that no input told apart, then the test's first wrong value."""
    if len(fitting) == 1:
        said = "likely mistake: " + fitting[0]
    else:
        said = ("likely mistake, one of these (each gives your answer's output on every input "
                "the tests tried): " + "; or ".join(fitting))
    for kind, reason in kept:
        if kind in ("probe", "wrong", "smallest", "mistake"):
            first = next((l for l in reason.splitlines()
                          if not l.startswith(("failed ", "likely mistake", "mistake:"))), "")
            if first:
                said += "\n" + first
            break
    return said


# The shape of an error that is a pattern (diagnosis.hpp), and what must stay the same for
# the pattern to hold on two inputs: the factor, the constant, the shift.
PATTERNS = [
    (re.compile(r"^every element is (.*) times the expected one"), "times"),
    (re.compile(r"^every element has the wrong sign"), "sign"),
    (re.compile(r"^every element is the expected one plus the same constant (\S+)"), "plus"),
    (re.compile(r"^your result is the transpose"), "transpose"),
    (re.compile(r"its last two dimensions are swapped"), "transpose"),  # the same, not square
    (re.compile(r"^your \w+s are the expected ones shifted (\w+ by \d+)"), "shift"),
    (re.compile(r"^your \w+s are the expected ones in reverse order"), "reverse"),
    (re.compile(r"^your \w+s are the expected ones in another order"), "order"),
    (re.compile(r"^each of your \w+s is one of the expected"), "repeated"),
    (re.compile(r"^each \w+ is its own multiple of the expected"), "own multiple"),
    (re.compile(r"^each \w+ is the expected \w+ plus a constant of its own"), "own constant"),
    (re.compile(r"^your result holds the expected values, but in another order"), "values in another order"),
    (re.compile(r"^every element of your result is 0"), "zeros"),
]


def pattern_of(line):
    """(kind, what must match) of a pattern line, or None when the line is no pattern."""
    line = re.sub(r"^(?:[\w.\[\]]+: )+(?=\w)", "", line)  # "dgain: every element ..."
    for regex, kind in PATTERNS:
        m = regex.search(line)
        if m:
            return kind, m.groups()
    return None


def patterns_that_hold(reason, headlines):
    """A pattern line is shown only when every failing comparison of the exercise shows the
    same pattern (the same factor, the same shift): one that holds on one input only is a
    coincidence of its numbers, and is replaced by where the answer differs there."""
    lines = reason.splitlines()
    out = []
    for line in lines:
        pattern = pattern_of(line)
        known = [plain for headline, plain in headlines if headline == line]
        if pattern is None or not known or all(pattern_of(h) == pattern for h, _ in headlines):
            out.append(line)
            continue
        out += [p for p in known[0] if p not in lines and p not in out]
    return "\n".join(out)


def run_exercise(binary, exercise, timeout):
    """Runs each test tagged [N.M] in its own process, so that a crash or an endless loop
    in one test is reported for that test, and sets the exercise's state and its most
    useful failure."""
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
    results, unmatched, headlines = [], set(), []
    # Two test processes at a time (this book's machines have two cores); results in order.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda n: run_case(binary, n, timeout), names))
    for name, (passed, found, not_matched, wrong_lines, formulas) in zip(names, outcomes):
        exercise.cases.append((name, passed))
        # A mistake's formula that gave another output than the answer on one call, in any
        # test, passing or not, refutes that mistake.
        unmatched |= {mistake_key(m) for m in formulas["refuted"]}
        if not passed:
            results.append((name, found, formulas["matched"]))
            unmatched |= {mistake_key(m) for m in not_matched}
            headlines += wrong_lines

    # Every message is true: a mistake that one test named but another test found the answer
    # does not make (its output differs from that mistake's there) is not named.
    def refuted(mistake):
        key = mistake_key(mistake)
        return any(key.startswith(u) or u.startswith(key) for u in unmatched)

    failures, smallest_inputs = [], []
    for name, found, matched in results:
        # Mistakes whose formulas gave the answer's output on every call of every test.
        fitting = list(dict.fromkeys(m for m in matched if not refuted(m)))
        fitting_keys = {mistake_key(m) for m in fitting}
        kept = []
        for kind, reason, mistake, generic in found:
            # One input that several fitting mistakes share names none of them alone.
            if mistake and (refuted(mistake) or (len(fitting) > 1 and mistake_key(mistake) in fitting_keys)):
                if generic is None:
                    continue
                kind, reason = generic
            kept.append((kind, reason))
        if fitting:
            kept.insert(0, ("mistake", formula_reason(fitting, kept)))
        kind, reason = min(kept or [("check", "failed")], key=lambda f: RANK[f[0]])
        other = re.search(r"exercise (\d+\.\d+) " + NOT_IMPLEMENTED, reason)
        if other and other.group(1) != exercise.number:
            kind = "calls"
            reason = (f"it calls exercise {other.group(1)}, which is not started yet: "
                      f"do {other.group(1)} first, or compute that step here")
        failures.append((kind, name, reason))
        smallest_inputs += [r for k, r in kept if k == "smallest"]
    exercise.failures = len(failures)
    if not failures:
        exercise.state = "passing"
    elif all(kind == "not_implemented" for kind, _, _ in failures) and len(failures) == len(names):
        exercise.state = "not started"
    else:
        exercise.state = "failing"
        real = [f for f in failures if f[0] != "not_implemented"]
        if real:
            kind, name, exercise.reason = min(real, key=lambda f: RANK.get(f[0], 7))
            exercise.reason = patterns_that_hold(exercise.reason, headlines)
            # A named cause or probe says why; the smallest failing input shows it happen.
            smallest = next(iter(smallest_inputs), None)
            if smallest and kind in ("mistake", "probe", "wrong", "library") and smallest not in exercise.reason:
                shown = smallest.split("\nthe smallest input on which it fails:", 1)
                if len(shown) == 2:
                    exercise.reason += "\nthe smallest input on which it fails:" + shown[1]
        else:  # some tests pass, the rest still throw not_implemented
            kind, name, exercise.reason = failures[0][0], failures[0][1], "still throws attn::not_implemented"
        exercise.detail = re.sub(r"^\d+\.\d+\s*", "", name)


def explain_calls(exercises):
    """An answer that fails while calling another exercise that is not passing is told so;
    an answer that calls the chapter library's version of an exercise is not passing."""
    for ex in exercises:
        if ex.uses_library and ex.state in ("passing", "failing"):
            names = ", ".join(ex.uses_library)
            ex.state, ex.detail = "failing", ""
            ex.reason = (f"it calls {names} from the chapter's own library, which is the answer to an "
                         f"exercise of this chapter: write that step yourself, or call your own "
                         f"answer (attn::ex{ex.chapter[:2]}::...)")
    for ex in exercises:
        if ex.state not in ("failing", "does not compile"):
            continue
        blocking = [o for o in ex.calls if o.state not in ("passing", "not checked")]
        if blocking:
            o = blocking[0]
            state = {"does not compile": "does not compile"}.get(o.state, "is " + o.state)
            ex.reason = f"it calls your {o.number} ({o.short_function}), which {state}: fix {o.number} first"
            ex.detail = ""


# ------------------------------------------------------------------------------ the report

def check_chapter(build_dir, chapter_dir, timeout, style, answers, others, only=()):
    """Checks one chapter; returns (exercises, None) or (exercises, error of the shared build)."""
    number, title = chapter_dir.name[:2], layout.chapter_title(chapter_dir.name)
    exercises = find_exercises(chapter_dir)
    for ex in exercises:
        if ex.number in answers:
            ex.source = answers[ex.number]
        elif others == "solutions":
            ex.source = ROOT / "solutions" / ex.chapter / pathlib.Path(ex.answer_file).name
    target = f"test_ex{number}_learner"
    progress = sys.stderr.isatty()
    if progress:
        print(f"Chapter {number}: building and testing your answers...", end="\r", file=sys.stderr, flush=True)
    built, error = build_chapter(build_dir, exercises, target)
    if built:
        find_calls(build_dir, exercises)
        for ex in exercises:
            if ex.state not in ("does not compile", "missing") and (not only or ex.number in only):
                run_exercise(build_dir / "tests" / target, ex, timeout)
            elif ex.state not in ("does not compile", "missing"):
                ex.state = "not checked"
        explain_calls(exercises)
    if progress:
        print(" " * 60, end="\r", file=sys.stderr, flush=True)

    passing = sum(ex.state == "passing" for ex in exercises)
    summary = f"{passing} of {len(exercises)} passing" if built else "cannot be checked"
    head = f"Chapter {number}  {title}"
    color = "32" if built and passing == len(exercises) else "31" if not built else "0"
    print(style(f"{head:<58}", "1") + style(summary, color))
    if not built:
        print(f"  The shared code of the book does not build (this is not one of your answers):")
        for line in error.splitlines():
            print(f"  {line}")
        print(f"  Every error: cmake --build {os.path.relpath(build_dir, os.getcwd())} --target {target}")
        return exercises, error
    width = max((len(f"{ex.number} {ex.title}") for ex in exercises), default=20) + 2
    colors = {"passing": "32", "failing": "31", "does not compile": "31", "missing": "31", "not started": "2",
              "not checked": "2"}
    indent = " " * (2 + width + 17)
    for ex in exercises:
        label = f"{ex.number} {ex.title}"
        if ex.state in ("passing", "not started", "not checked"):
            print(f"  {label:<{width}}" + style(ex.state, colors[ex.state]))
            continue
        print(f"  {label:<{width}}" + style(f"{ex.state:<17}", colors[ex.state]), end="")
        lines = ex.reason.splitlines()
        if ex.detail:
            more = f" (and {ex.failures - 1} more failing test{'s' if ex.failures > 2 else ''})" \
                if ex.failures > 1 else ""
            print(ex.detail + more + ":")
            print(f"{indent}{lines[0]}")
        else:
            print(lines[0])
        for line in lines[1:]:
            print(f"{indent}{line}")
        if ex.state == "failing":
            print(f"{indent}hint: {ex.header}:{ex.hint_line}")
    return exercises, None


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `make check | head` ends quietly
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default=str(ROOT / "build"))
    parser.add_argument("--chapter", "-c", default="", help="a chapter number such as 01 (default: all)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per test (default 5)")
    parser.add_argument("--expect-stubs", action="store_true",
                        help="CI: require every exercise test to fail on the shipped stubs")
    parser.add_argument("--answer", action="append", default=[], metavar="N.M=FILE",
                        help="check FILE as the answer to exercise N.M (the catalogue)")
    parser.add_argument("--others", choices=["learner", "solutions"], default="learner",
                        help="what the other exercises' answers are (default: the learner's)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--only", metavar="N.M[,N.M]",
                        help="run only these exercises' tests (the catalogue; the others stay 'not started')")
    args = parser.parse_args()

    build_dir = pathlib.Path(args.build_dir).resolve()
    if not (build_dir / "CMakeCache.txt").exists():
        print(f"check: {build_dir} is not configured; run `make check` from the repository root",
              file=sys.stderr)
        return 2
    available = sorted(p for p in (ROOT / "exercises").glob("[0-9][0-9]_*") if p.is_dir())
    chapters = available
    if args.chapter:
        wanted = args.chapter.zfill(2)
        chapters = [c for c in available if c.name.startswith(wanted + "_")]
        if not chapters:
            print(f"check: no exercises for chapter '{args.chapter}' "
                  f"(chapters with exercises: {', '.join(c.name[:2] for c in available)})", file=sys.stderr)
            return 2
    answers = {}
    for item in args.answer:
        number, _, path = item.partition("=")
        answers[number] = pathlib.Path(path).resolve()
    style = Style(color_wanted())

    problems, results = [], {}
    shared_error = None
    next_up = None
    for chapter_dir in chapters:
        exercises, error = check_chapter(build_dir, chapter_dir, args.timeout, style, answers, args.others,
                                         args.only.split(",") if args.only else ())
        print()
        shared_error = shared_error or error
        results[chapter_dir.name] = [{"number": ex.number, "state": ex.state, "reason": ex.reason,
                                      "detail": ex.detail, "calls": [o.number for o in ex.calls]}
                                     for ex in exercises]
        if args.expect_stubs:
            if error:
                problems.append(f"chapter {chapter_dir.name}: the shipped stubs do not build: {error}")
            for ex in exercises:
                passed = [name for name, ok in ex.cases if ok]
                if passed:
                    problems.append(f"exercise {ex.number}: passes on its stub: {'; '.join(passed)}")
                if not ex.cases:
                    problems.append(f"exercise {ex.number}: has no tests ({ex.state}: {ex.reason})")
                elif ex.state != "not started":
                    problems.append(f"exercise {ex.number}: is '{ex.state}' on its stub ({ex.reason})")
        elif next_up is None:
            next_up = next((ex for ex in exercises if ex.state != "passing"), None)

    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=1))
    if args.expect_stubs:
        if problems:
            print("stub check FAILED:")
            for p in problems:
                print(f"  {p}")
            return 1
        print(f"stub check: every exercise test fails on its shipped stub ({len(chapters)} chapter(s))")
        return 0
    if shared_error:
        print("Next: the book's own code does not build (see above); `git status` shows what changed "
              "outside exercises/.")
        return 2
    if next_up is None:
        print("Every exercise passes. Compare your answers with solutions/.")
        return 0
    number = next_up.chapter[:2]
    if next_up.state == "missing":
        print(f"Next: restore {relative(next_up.source)} (`git checkout -- {relative(next_up.source)}`), "
              "then run the check again.")
    elif next_up.state == "does not compile":
        print(f"Next: make {next_up.answer_file} compile again (the error is above), then run the check again.")
    else:
        print(f"Next: exercise {next_up.number}, {next_up.title}. The task is at {next_up.header}:{next_up.line},")
        print(f"your answer goes in {next_up.answer_file}. Every detail of its tests:")
        print(f"  {os.path.relpath(build_dir, os.getcwd())}/tests/test_ex{number}_learner \"[{next_up.number}]\"")
    return 1


if __name__ == "__main__":
    sys.exit(main())
