#!/usr/bin/env python3
"""Mutation testing of the exercise tests: small changes to each reference solution, and
every change that no test of its exercise rejects.

    python3 scripts/mutate.py --list [--chapter 09 | --exercise 9.2]    the mutants, not run
    python3 scripts/mutate.py --chapter 09 --report tests/mutation/report_09.md
    python3 scripts/mutate.py --exercise 10.5 --report tests/mutation/report_10_5.md
    python3 scripts/mutate.py --sample 5 --seed 1                      CI's slice: 5 per exercise
    python3 scripts/mutate.py --chapter 09 --guards --cache /tmp/m.jsonl  argument checks too;
                                                                       verdicts kept and reused

Each mutant is solutions/NN_name/N_M_*.cpp with one change (the operators are in OPERATORS
below), written to a temporary directory and checked by tests/check.py in place of the
learner's answer, the reference answers standing in for the chapter's other exercises:

    flock /tmp/attn-build.lock nice -n 10 python3 tests/check.py --answer N.M=MUTANT
        --others solutions --chapter NN --only N.M --json FILE

(the lock is taken for each mutant, so that others sharing the build tree are not starved;
the script takes it with fcntl.flock on the same file, which is what flock(1) does, and so
can tell the time spent waiting from the time spent checking). Only the exercise's own tests
([N.M]) count: a change to 1.2 that only 1.3's tests notice would be "passing" in the
learner's table. A mutant is

    killed      the check says failing (a wrong value, a crash, a time-out, an exception);
    stillborn   it does not compile (reported apart: no test killed it);
    equivalent  it passes and tests/mutation/equivalent.txt lists it, with the reason;
    SURVIVED    it passes: no test tells it from the reference answer;
    error       the check itself could not run (the shared code does not build); retried once.

Changes inside argument checks (a statement calling check_shape or invalid_argument or
throwing, and the `if`/`for` around one that does nothing else) are left out: the shape tests
cover them. --guards includes them, reported apart.

Before an exercise's mutants, its unchanged solution is checked the same way; if it does not
pass, the exercise is skipped (the suite or the build is broken, not the tests weak).

tests/mutation/equivalent.txt holds the survivors accepted as equivalent, one per line:

    9.4  swap-arith:1a2b3c4d  the reason, in words
    # a comment

The id is the operator and a hash of the changed line before and after (and which of its
identical copies), so it does not move when other lines do; `--list` and the report print
each mutant's id beside its diff. Exit status: 1 when a survivor is not listed there, 2 when
an exercise's solution does not pass or a check could not run, 0 otherwise.

--cache FILE keeps each verdict (JSON lines, keyed by the mutant's text and a hash of the
chapter's exercise tests, the test support code, exercises.hpp and check.py; not the chapter
libraries): a run interrupted by a long wait for the lock resumes where it stopped, and a
report is written again at once after equivalent.txt changes.

About 1.6 s of build and tests per mutant (the lock's waits not counted): 1042 mutants in
all chapters, about 30 min; 1315 with --guards, about 37 min.

Only Python's standard library is used.
"""
import argparse
import collections
import dataclasses
import datetime
import fcntl
import hashlib
import json
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import layout  # noqa: E402

LOCK = "/tmp/attn-build.lock"
EQUIVALENT = ROOT / "tests" / "mutation" / "equivalent.txt"

OPERATORS = {
    "float-zero": "a float literal set to 0 (1e-5f -> 0.0f)",
    "float-scale": "a float literal changed: an exponent moved by 2 (1e-5f -> 1e-3f), another "
                   "value doubled, 0 -> 1",
    "int-inc": "an integer literal 0, 1 or 2 plus 1",
    "int-dec": "an integer literal 1 or 2 minus 1",
    "sqrt-eps-outside": "std::sqrt(a + eps) -> std::sqrt(a) + eps",
    "sqrt-eps-inside": "std::sqrt(a) + eps -> std::sqrt(a + eps)",
    "sqrt-eps-removed": "std::sqrt(a + eps) or std::sqrt(a) + eps -> std::sqrt(a)",
    "swap-arith": "+ <-> -, * <-> /, % -> /, += <-> -=, *= <-> /= (binary operators only)",
    "swap-compare": "< <-> <=, > <-> >=, == <-> !=",
    "swap-logic": "&& <-> ||",
    "swap-minmax": "std::max <-> std::min, xt::amax <-> xt::amin",
    "not-dropped": "!x -> x",
    "index+1": "an index one further: a[i] -> a[i + 1], x(t, j) -> x(t, j + 1) for a loop variable",
    "index-1": "an index one back: a[i] -> a[i - 1], x(t, j) -> x(t, j - 1)",
    "loop-bound": "a loop stops one early: i < n -> i < n - 1 (for and while)",
    "drop-stmt": "a statement that is not a declaration or a return dropped (an assignment, an "
                 "update such as +=, a call, ++/--, break, continue)",
    "const-write": "a parameter taken by const reference (a tensor, a std::vector<float>) "
                   "written through const_cast at the top of the body",
    "const-write-late": "the same written just before each return (the result stays right; only "
                        "the caller's input changed)",
}

GUARD = re.compile(r"\b(check_shape|invalid_argument|throw)\b")
LOOP_VAR = re.compile(r"\bfor\s*\(\s*(?:const\s+)?(?:std::size_t|size_t|int|long|unsigned|auto|"
                      r"std::ptrdiff_t)\s+(\w+)\s*=")
DECL = re.compile(r"(?:(?:const|constexpr|static|unsigned|signed)\s+)*[A-Za-z_][\w:]*(?:<[^;=]*?>)?"
                  r"[\s*&]+[A-Za-z_]\w*\s*(?:=|\{|;|\(|,|\[)")
FLOAT = re.compile(r"(?<![\w.])(\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)"
                   r"([fFlL]?)(?![\w.])")
INT = re.compile(r"(?<![\w.])([012])(?![\w.])")
CONST_PARAM = re.compile(r"^\s*const\s+(Matrix|Vector|Tensor3|Mask|BatchMask|xt::xtensor<[^&]*>|"
                         r"std::vector<(?:float|double)>)\s*&\s*(\w+)\s*$")


# ------------------------------------------------------------------------------ reading the source

def blank_non_code(text):
    """The text with comments, preprocessor lines and the insides of string and character
    literals replaced by spaces (newlines kept), so that offsets stay those of the text."""
    out = list(text)
    i, n = 0, len(text)
    line_start = True
    while i < n:
        ch = text[i]
        if line_start and ch == "#":
            j = text.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
            continue
        if ch == "\n":
            line_start = True
            i += 1
            continue
        if not ch.isspace():
            line_start = False
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if text[k] != "\n":
                    out[k] = " "
            i = j
        elif ch in "\"'":
            if ch == "'" and i > 0 and text[i - 1].isalnum():  # a digit separator: 1'000
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
            for k in range(i + 1, min(j, n)):
                out[k] = "_"  # not a space: "a + b" stays one word
            i = j + 1
        else:
            i += 1
    return "".join(out)


def match_close(c, i):
    """The index of the bracket that closes c[i] (one of ([{)."""
    depth = 0
    for j in range(i, len(c)):
        if c[j] in "([{":
            depth += 1
        elif c[j] in ")]}":
            depth -= 1
            if depth == 0:
                return j
    return len(c) - 1


def skip_ws(c, i, end):
    while i < end and c[i].isspace():
        i += 1
    return i


@dataclasses.dataclass
class Stmt:
    kind: str              # simple, compound, if, for, while
    start: int
    end: int               # exclusive: after the ';' or '}'
    header: tuple = None   # (open paren, after close paren) of if/for/while
    children: list = dataclasses.field(default_factory=list)


def parse_stmt(c, i, end):
    if c[i] == "{":
        j = match_close(c, i)
        return Stmt("compound", i, j + 1, children=parse_stmts(c, i + 1, j)), j + 1
    m = re.compile(r"(if|for|while|switch)\b\s*(?:constexpr\s*)?\(").match(c, i, end)
    if m:
        p = m.end() - 1
        q = match_close(c, p)
        body, k = parse_stmt(c, skip_ws(c, q + 1, end), end)
        children = [body]
        k2 = skip_ws(c, k, end)
        if m.group(1) == "if" and re.compile(r"else\b").match(c, k2, end):
            other, k = parse_stmt(c, skip_ws(c, k2 + 4, end), end)
            children.append(other)
        return Stmt(m.group(1), i, k, header=(p, q + 1), children=children), k
    if re.compile(r"do\b").match(c, i, end):
        body, k = parse_stmt(c, skip_ws(c, i + 2, end), end)
        k = skip_ws(c, k, end)
        semi = c.find(";", k, end)
        semi = end - 1 if semi < 0 else semi
        return Stmt("do", i, semi + 1, children=[body]), semi + 1
    depth = 0
    for j in range(i, end):
        if c[j] in "([{":
            depth += 1
        elif c[j] in ")]}":
            depth -= 1
        elif c[j] == ";" and depth == 0:
            return Stmt("simple", i, j + 1), j + 1
    return Stmt("simple", i, end), end


def parse_stmts(c, i, end):
    stmts = []
    while True:
        i = skip_ws(c, i, end)
        if i >= end:
            return stmts
        stmt, i = parse_stmt(c, i, end)
        stmts.append(stmt)


def walk(stmts):
    for s in stmts:
        yield s
        yield from walk(s.children)


@dataclasses.dataclass
class Function:
    name: str
    returns: str           # "Matrix", "void", ...
    params: list           # [(type, name)] of the const tensor/vector parameters
    open: int              # index of the body's '{'
    close: int             # index of the body's '}'
    body: list             # [Stmt]


def find_functions(c):
    """The function definitions at namespace level: name, return type, parameters and body."""
    functions = []
    i, depth_ns, stmt_start = 0, 0, 0
    while i < len(c):
        ch = c[i]
        if ch == "{":
            before = c[stmt_start:i]
            if re.search(r"\bnamespace\b[\s\w:]*$", before):
                i += 1
                stmt_start = i
                continue
            close = match_close(c, i)
            m = re.search(r"([\w:<>,\s*&]*?)\b(\w+)\s*\(", before)
            if m and ")" in before:
                popen = stmt_start + m.end() - 1
                pclose = match_close(c, popen)
                params = []
                for piece in split_top(c, popen + 1, pclose):
                    pm = CONST_PARAM.match(re.sub(r"\s*=.*$", "", c[piece[0]:piece[1]]))
                    if pm:
                        params.append((pm.group(1), pm.group(2)))
                returns = " ".join(m.group(1).split())
                functions.append(Function(m.group(2), returns, params, i, close,
                                          parse_stmts(c, i + 1, close)))
            i = close + 1
            stmt_start = i
        elif ch in ";}":
            i += 1
            stmt_start = i
        else:
            i += 1
    return functions


def split_top(c, start, end):
    """The comma-separated pieces of c[start:end] at bracket depth 0 (angle brackets of a
    declaration counted): [(start, end)]."""
    pieces, depth, s = [], 0, start
    for j in range(start, end):
        if c[j] in "([{<":
            depth += 1
        elif c[j] in ")]}>":
            depth -= 1
        elif c[j] == "," and depth == 0:
            pieces.append((s, j))
            s = j + 1
    if c[s:end].strip():
        pieces.append((s, end))
    return pieces


def split_args(c, start, end):
    """The arguments of a call c[start:end] (between its parentheses), split at depth 0."""
    pieces, depth, s = [], 0, start
    for j in range(start, end):
        if c[j] in "([{":
            depth += 1
        elif c[j] in ")]}":
            depth -= 1
        elif c[j] == "," and depth == 0:
            pieces.append((s, j))
            s = j + 1
    pieces.append((s, end))
    return pieces


def guard_spans(stmts, c):
    """The spans of argument checks: statements that call check_shape or invalid_argument or
    throw, and the if/for/while/compound around them that does nothing else."""
    spans = []
    # A local lambda that checks arguments (`const auto same_size = [&](...) { ...
    # invalid_argument(...) ... };`): a call of it is an argument check too.
    checkers = [m.group(1) for st in walk(stmts) if st.kind == "simple" and GUARD.search(c[st.start:st.end])
                for m in [re.match(r"\s*(?:const\s+)?auto\s+(\w+)\s*=\s*\[", c[st.start:st.end])] if m]
    calls = re.compile(r"\b(" + "|".join(map(re.escape, checkers)) + r")\(") if checkers else None

    def is_guard(s):
        if s.kind == "simple":
            return bool(GUARD.search(c[s.start:s.end]) or (calls and calls.search(c[s.start:s.end])))
        return bool(s.children) and all(is_guard(ch) for ch in s.children)

    def visit(ss):
        for s in ss:
            if is_guard(s):
                spans.append((s.start, s.end))
            else:
                visit(s.children)

    visit(stmts)
    return spans


# ------------------------------------------------------------------------------ the mutants

@dataclasses.dataclass
class Mutant:
    exercise: str
    operator: str
    edits: list            # [(start, end, replacement)] on the solution's text, not overlapping
    line: int              # 1-based line of the first edit
    before: str            # the changed lines before, stripped, joined by " ⏎ "
    after: str             # and after
    guard: bool = False    # inside an argument check
    id: str = ""
    text: str = ""         # the mutated file
    function: str = ""

    @property
    def diff(self):
        return f"line {self.line}: `{self.before}` → `{self.after}`"


def apply_edits(text, edits):
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def describe(text, mutant):
    """Fills in the mutant's text, its first line and each edited line before and after."""
    mutant.text = apply_edits(text, mutant.edits)
    join = lambda s: " ⏎ ".join(l.strip() for l in s.splitlines() if l.strip())
    befores, afters = [], []
    for start, end, new in sorted(mutant.edits):
        a = text.rfind("\n", 0, start) + 1
        b = text.find("\n", end)
        b = len(text) if b < 0 else b
        befores.append(join(text[a:b]))
        afters.append(join(text[a:start] + new + text[end:b]))
    mutant.before, mutant.after = " … ".join(befores), " … ".join(afters)
    mutant.line = text.count("\n", 0, min(e[0] for e in mutant.edits)) + 1


def mutants_of(exercise, text):
    """Every mutant of one solution file, in the order of the file, without duplicates."""
    c = blank_non_code(text)
    functions = find_functions(c)
    found = []

    def add(operator, edits, function):
        found.append(Mutant(exercise, operator, edits, 0, "", "", function=function.name))

    for fn in functions:
        lo, hi = fn.open + 1, fn.close
        body = c[lo:hi]
        stmts = list(walk(fn.body))
        loop_vars = set(LOOP_VAR.findall(body))
        # Operands of a binary operator: the clang-formatted code puts spaces around every
        # binary operator and none inside template brackets, pointers or unary operators.
        swaps = [(" + ", " - ", "swap-arith"), (" - ", " + ", "swap-arith"), (" * ", " / ", "swap-arith"),
                 (" / ", " * ", "swap-arith"), (" % ", " / ", "swap-arith"), (" += ", " -= ", "swap-arith"), (" -= ", " += ", "swap-arith"),
                 (" *= ", " /= ", "swap-arith"), (" /= ", " *= ", "swap-arith"),
                 (" < ", " <= ", "swap-compare"), (" <= ", " < ", "swap-compare"),
                 (" > ", " >= ", "swap-compare"), (" >= ", " > ", "swap-compare"),
                 (" == ", " != ", "swap-compare"), (" != ", " == ", "swap-compare"),
                 (" && ", " || ", "swap-logic"), (" || ", " && ", "swap-logic")]
        for old, new, op in swaps:
            for m in re.finditer(re.escape(old), body):
                add(op, [(lo + m.start(), lo + m.end(), new)], fn)
        for old, new in (("std::max(", "std::min("), ("std::min(", "std::max("),
                         ("xt::amax(", "xt::amin("), ("xt::amin(", "xt::amax(")):
            for m in re.finditer(re.escape(old), body):
                add("swap-minmax", [(lo + m.start(), lo + m.end(), new)], fn)
        for m in re.finditer(r"!(?!=)", body):
            add("not-dropped", [(lo + m.start(), lo + m.end(), "")], fn)

        # Constants.
        floats = []
        for m in FLOAT.finditer(body):
            floats.append((m.start(), m.end()))
            number, suffix = m.group(1), m.group(2)
            value = float(number)
            s, e = lo + m.start(), lo + m.end()
            if value != 0.0:
                add("float-zero", [(s, e, "0.0" + suffix)], fn)
                exp = re.match(r"^(.*?)[eE]([+-]?\d+)$", number)
                if exp:
                    scaled = f"{exp.group(1)}e{int(exp.group(2)) + 2}"
                elif abs(value) < 1e-2:
                    scaled = repr(value * 100)
                else:
                    scaled = repr(value * 2)
                add("float-scale", [(s, e, scaled + suffix)], fn)
            else:
                add("float-scale", [(s, e, "1.0" + suffix)], fn)
        for m in INT.finditer(body):
            if any(a <= m.start() < b for a, b in floats):
                continue
            v = int(m.group(1))
            s, e = lo + m.start(), lo + m.end()
            add("int-inc", [(s, e, str(v + 1))], fn)
            if v > 0:
                add("int-dec", [(s, e, str(v - 1))], fn)

        # eps under a square root, moved in or out, or removed.
        for m in re.finditer(r"\b(?:std::)?sqrt\(", body):
            p = lo + m.end() - 1
            q = match_close(c, p)
            inner = split_plus(c, p + 1, q)
            if inner is not None:  # sqrt(a + eps)
                plus, eps_end = inner
                a_text, eps_text = text[p + 1:plus].rstrip(), text[plus:eps_end].strip()[1:].strip()
                add("sqrt-eps-outside", [(p + 1, q + 1, f"{a_text}) + {eps_text}")], fn)
                add("sqrt-eps-removed", [(p + 1, q, a_text)], fn)
            after = re.compile(r"\s\+\s").match(c, q + 1)
            if after:  # sqrt(a) + eps: eps is the next operand
                t_end = operand_end(c, after.end(), hi)
                eps_text = text[after.end():t_end].strip()
                if eps_text:
                    add("sqrt-eps-inside", [(q, t_end, f" + {eps_text})")], fn)
                    add("sqrt-eps-removed", [(q + 1, t_end, "")], fn)

        # Indices one off: subscripts, and a loop variable as a whole argument of a call
        # (an element access such as x(t, j), or xt::row(m, i)).
        for m in re.finditer(r"(?<=[\w)\]])\[", body):
            p = lo + m.start()
            q = match_close(c, p)
            inner = text[p + 1:q]
            if not inner.strip():
                continue
            wrapped = f"({inner})" if re.search(r"[<>?&|=]", c[p + 1:q]) else inner
            add("index+1", [(p + 1, q, f"{wrapped} + 1")], fn)
            add("index-1", [(p + 1, q, f"{wrapped} - 1")], fn)
        for m in re.finditer(r"(?<=[\w>])\(", body):
            p = lo + m.start()
            if re.search(r"\b(for|if|while|switch|sqrt|return)\s*$", c[max(lo, p - 8):p]):
                continue
            q = match_close(c, p)
            for a, b in split_args(c, p + 1, q):
                arg = c[a:b].strip()
                words = set(re.findall(r"[A-Za-z_]\w*", arg))
                if words & loop_vars and re.fullmatch(r"[\w\s+\-*/%.]+", arg):
                    s = a + len(c[a:b]) - len(c[a:b].lstrip())
                    e = s + len(arg)
                    add("index+1", [(s, e, f"{text[s:e]} + 1")], fn)
                    add("index-1", [(s, e, f"{text[s:e]} - 1")], fn)

        # Loops one short.
        for s in stmts:
            if s.kind not in ("for", "while"):
                continue
            hp, hq = s.header
            parts = split_semis(c, hp + 1, hq - 1)
            cond = parts[1] if s.kind == "for" and len(parts) == 3 else parts[0] if s.kind == "while" else None
            if cond is None:
                continue
            a, b = cond
            m = re.compile(r"\s*(.+?) < (.+?)\s*$").fullmatch(c, a, b)
            if m and not re.search(r"&&|\|\||\?", c[a:b]):
                bound = text[m.start(2):m.end(2)]
                wrapped = f"({bound})" if re.search(r"[<>?&|=]", bound) else bound
                add("loop-bound", [(m.start(2), m.end(2), f"{wrapped} - 1")], fn)

        # Statements dropped.
        for s in stmts:
            if s.kind != "simple":
                continue
            stmt = c[s.start:s.end].strip()
            if re.match(r"(return|goto)\b", stmt) or stmt == ";":
                continue
            update = re.search(r"\s(\+|-|\*|/|%|&|\||\^|<<|>>)=\s", stmt)
            if DECL.match(stmt) and not update and not re.match(r"(break|continue)\s*;", stmt):
                continue
            add("drop-stmt", [(s.start, s.end, "{}")], fn)

        # A const input written through.
        indent = "    "
        for ptype, pname in fn.params:
            if ptype in ("Mask", "BatchMask") or ptype.startswith("xt::xtensor<bool"):
                write = f"const_cast<{ptype}&>({pname}) = !{pname};"
            elif ptype.startswith("std::vector"):
                write = f"for (auto& mutant_e : const_cast<{ptype}&>({pname})) mutant_e *= 1.5f;"
            else:
                write = f"const_cast<{ptype}&>({pname}) *= 1.5f;"
            add("const-write", [(fn.open + 1, fn.open + 1, f"\n{indent}{write}")], fn)
            late = []
            returns = [st for st in stmts if st.kind == "simple" and re.match(r"return\b", c[st.start:st.end])]
            for st in returns:
                expr = text[st.start:st.end].strip()[len("return"):-1].strip()
                if fn.returns == "void" or not expr:
                    late.append((st.start, st.start, f"{write} "))
                else:
                    late.append((st.start, st.end,
                                 f"{{ {fn.returns} mutant_result = {expr}; {write} return mutant_result; }}"))
            if fn.returns == "void":
                late.append((fn.close, fn.close, f"{indent}{write}\n"))
            if late:
                add("const-write-late", late, fn)

        # Inside an error message: nothing a test could see but the words.
        messages = []
        for m in re.finditer(r"\b(?:invalid_argument|runtime_error|logic_error|out_of_range|to_string)\(", body):
            p = lo + m.end() - 1
            messages.append((p, match_close(c, p)))
        found = [mt for mt in found if mt.function != fn.name
                 or not any(a < e[0] <= b for e in mt.edits for a, b in messages)]

        # Argument checks.
        spans = guard_spans(fn.body, c)
        for mutant in found:
            if mutant.function == fn.name and not mutant.guard:
                mutant.guard = any(a <= e[0] < b for e in mutant.edits for a, b in spans) and \
                    mutant.operator not in ("const-write", "const-write-late")

    # Text, ids; identical results merged.
    seen, unique = set(), []
    counts = collections.Counter()
    for mutant in found:
        describe(text, mutant)
        if mutant.text in seen or mutant.text == text:
            continue
        seen.add(mutant.text)
        key = (mutant.operator, mutant.before, mutant.after)
        counts[key] += 1
        digest = hashlib.sha1("\n".join([mutant.operator, mutant.before, mutant.after, str(counts[key])])
                              .encode()).hexdigest()[:8]
        mutant.id = f"{mutant.operator}:{digest}"
        unique.append(mutant)
    unique.sort(key=lambda m: (m.line, list(OPERATORS).index(m.operator)))
    return unique


def split_plus(c, start, end):
    """For sqrt's argument c[start:end]: (index of its last top-level ' + ', end of the
    operand after it) when the argument is `a + b`, else None."""
    depth, last = 0, None
    for j in range(start, end):
        if c[j] in "([{":
            depth += 1
        elif c[j] in ")]}":
            depth -= 1
        elif depth == 0 and c.startswith(" + ", j):
            last = j
    return (last, end) if last is not None else None


def operand_end(c, i, end):
    """The end of the operand of + that starts at i: up to a top-level ) ] } , ; or an
    operator of + or lower precedence."""
    depth = 0
    j = i
    while j < end:
        if c[j] in "([{":
            depth += 1
        elif c[j] in ")]}":
            if depth == 0:
                return j
            depth -= 1
        elif depth == 0 and (c[j] in ",;" or re.compile(r"\s(\+|-|<|>|<=|>=|==|!=|&&|\|\||\?)\s").match(c, j)):
            return j
        j += 1
    return j


def split_semis(c, start, end):
    pieces, depth, s = [], 0, start
    for j in range(start, end):
        if c[j] in "([{":
            depth += 1
        elif c[j] in ")]}":
            depth -= 1
        elif c[j] == ";" and depth == 0:
            pieces.append((s, j))
            s = j + 1
    pieces.append((s, end))
    return pieces


# ------------------------------------------------------------------------------ checking

def solution_file(chapter, spec):
    return ROOT / "solutions" / chapter / pathlib.Path(spec.answer_file).name


def wrapper_file(build_dir, chapter, spec):
    return build_dir / "check" / chapter / pathlib.Path(spec.answer_file).name


def check(build_dir, chapter, number, path, timeout, json_path, limit):
    """Checks one answer file as exercise `number` through the shared lock: (state, reason,
    seconds spent checking, seconds spent waiting for the lock)."""
    waited = time.monotonic()
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        waited = time.monotonic() - waited
        start = time.monotonic()
        command = ["nice", "-n", "10", sys.executable, str(ROOT / "tests" / "check.py"),
                   "--build-dir", str(build_dir), "--chapter", chapter[:2],
                   "--answer", f"{number}={path}", "--others", "solutions", "--only", number,
                   "--timeout", f"{timeout:g}", "--json", str(json_path)]
        json_path.write_text("")
        proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the check we started, and its test processes
            proc.communicate()
            return "killed", f"the check did not finish within {limit:g} s", time.monotonic() - start, waited
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    spent = time.monotonic() - start
    try:
        results = json.loads(json_path.read_text() or "{}")
        mine = next(r for rs in results.values() for r in rs if r["number"] == number)
    except (json.JSONDecodeError, StopIteration):
        return "error", f"no result (exit status {proc.returncode}): {out.strip()[-400:]}", spent, waited
    reason = (mine["detail"] + ": " if mine["detail"] else "") + (mine["reason"].splitlines() or [""])[0]
    state = {"passing": "survived", "failing": "killed", "does not compile": "stillborn"}.get(mine["state"], "error")
    if state == "error":
        reason = f"{mine['state']}: {reason}"
    return state, reason, spent, waited


def restore_wrappers(build_dir, touched):
    """Points the wrappers this run used back at the learner's files (as CMake writes them),
    so that none is left including a deleted temporary file."""
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for chapter, spec in touched:
                wrapper = wrapper_file(build_dir, chapter, spec)
                wanted = f'#include "{ROOT / spec.answer_file}"\n'
                if wrapper.exists() and "/attn-mutants-" in wrapper.read_text():
                    wrapper.write_text(wanted)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def suite_hash(chapter):
    """What a cached verdict depends on besides the mutant: the chapter's exercise tests, the
    test support code, the task statements and the check (not the chapter libraries)."""
    h = hashlib.sha1()
    files = [ROOT / "tests" / "exercises" / f"test_ex{chapter[:2]}.cpp", ROOT / "exercises" / chapter / "exercises.hpp",
             ROOT / "tests" / "check.py"] + sorted((ROOT / "tests" / "support").glob("*.[ch]pp"))
    for f in files:
        h.update(f.name.encode() + b"\0" + (f.read_bytes() if f.exists() else b""))
    return h.hexdigest()


class Cache:
    """Verdicts already found (--cache FILE, JSON lines): a mutant whose text and chapter
    suite are unchanged is not checked again, so an interrupted run resumes and a report can
    be written again after equivalent.txt changes."""

    def __init__(self, path):
        self.path = pathlib.Path(path) if path else None
        self.known = {}
        if self.path and self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                    self.known[entry["key"]] = (entry["state"], entry["reason"], entry.get("seconds", 0.0))
                except (json.JSONDecodeError, KeyError):
                    pass

    @staticmethod
    def key(text, suite):
        return hashlib.sha1((suite + "\0" + text).encode()).hexdigest()

    def get(self, key):
        return self.known.get(key) if self.path else None

    def put(self, key, state, reason, seconds, number, mutant_id):
        if not self.path or state == "error":
            return
        self.known[key] = (state, reason, seconds)
        with open(self.path, "a") as f:
            f.write(json.dumps({"key": key, "exercise": number, "id": mutant_id, "state": state,
                                "reason": reason, "seconds": round(seconds, 2)}) + "\n")


def read_equivalent(path):
    """{(exercise, id): reason} from tests/mutation/equivalent.txt."""
    found = {}
    if not path.exists():
        return found
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 2 or not re.fullmatch(r"\d+\.\d+", parts[0]) or ":" not in parts[1]:
            raise SystemExit(f"{path}:{number}: expected 'N.M  operator:hash  reason', got: {line}")
        found[(parts[0], parts[1])] = parts[2] if len(parts) > 2 else ""
    return found


# ------------------------------------------------------------------------------ the report

def suite_state(chapters):
    """Which tests the report measured: the commit, and whether the files a verdict depends
    on differ from it (others may be editing the working tree)."""
    def git(*command):
        proc = subprocess.run(["git", *command], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True)
        return proc.stdout.strip() if proc.returncode == 0 else ""
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    paths = ["tests/support", "tests/check.py", "solutions"] + [f"tests/exercises/test_ex{c[:2]}.cpp" for c in chapters] \
        + [f"exercises/{c}/exercises.hpp" for c in chapters]
    changed = [l[3:] for l in git("status", "--porcelain", "--", *paths).splitlines() if l.strip()]
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return (f"The suite as of {when}: commit {head}"
            + (f", with uncommitted changes to {', '.join(f'`{c}`' for c in changed)}." if changed else ", unchanged."))


def markdown(results, args, totals, timing, equivalent, skipped_guards, unused):
    out = ["# Mutation testing of the exercise tests", "",
           f"`python3 scripts/mutate.py {' '.join(args.argv)}`: "
           "each mutant of a reference solution checked by `tests/check.py --answer N.M=MUTANT "
           "--others solutions --only N.M` (its own exercise's tests only).", ""]
    out += [suite_state(sorted({r["chapter"] for r in results.values()})), "",
            "Operators: " + ", ".join(f"`{o}`" for o in (args.operator or OPERATORS)) + " (`scripts/mutate.py "
            "--help`, OPERATORS)" + ("; argument checks included (`--guards`)." if args.guards else "."), ""]
    if args.sample:
        out += [f"A sample of {args.sample} mutants per exercise (seed {args.seed}).", ""]
    out += ["| exercise | generated | checked | killed | stillborn | equivalent | survived | errors |"
            + (" argument checks left out |" if not args.guards else ""),
            "|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if not args.guards else "")]
    chapter = None
    for number, r in results.items():
        if r["chapter"] != chapter:
            chapter = r["chapter"]
            c = totals[chapter]
            out.append(f"| **{chapter}** | **{c['generated']}** | **{c['checked']}** | **{c['killed']}** | "
                       f"**{c['stillborn']}** | **{c['equivalent']}** | **{c['survived']}** | **{c['error']}** |"
                       + (f" **{c['guards']}** |" if not args.guards else ""))
        n = r["counts"]
        out.append(f"| {number} {r['title']} | {n['generated']} | {n['checked']} | {n['killed']} | "
                   f"{n['stillborn']} | {n['equivalent']} | {n['survived']} | {n['error']} |"
                   + (f" {skipped_guards.get(number, 0)} |" if not args.guards else ""))
    out.append("")
    if timing["count"]:
        out += [f"Time: {timing['count']} checks, {timing['spent'] / timing['count']:.1f} s each on average"
                + (f" ({timing['cached']} verdicts from the cache, timed when they were found)" if timing["cached"] else "")
                + (f"; {timing['waited']:.0f} s in all spent waiting for the shared build lock" if timing["waited"] >= 1 else "")
                + ".", ""]

    def section(title, kinds, guard):
        rows = [(number, m, reason) for number, r in results.items() for m, state, reason in r["mutants"]
                if state in kinds and m.guard == guard]
        if not rows:
            return []
        lines = [f"## {title}", ""]
        for number, m, reason in rows:
            lines.append(f"- **{number}** `{m.id}` {m.diff}")
            if reason:
                lines.append(f"  - {reason}")
        return lines + [""]

    for number, r in results.items():
        if r.get("baseline"):
            out += [f"**{number}: the unchanged solution is {r['baseline']}; its mutants were not checked.**", ""]
    out += section("Survivors (no test of the exercise rejects them)", ("survived",), False)
    out += section("Survivors in argument checks", ("survived",), True)
    eq_rows = []
    for number, r in results.items():
        for m, state, reason in r["mutants"]:
            if state == "equivalent":
                eq_rows.append(f"- **{number}** `{m.id}`, {m.diff}: {equivalent[(number, m.id)]}")
    if eq_rows:
        out += ["## Equivalent (tests/mutation/equivalent.txt)", ""] + eq_rows + [""]
    out += section("Stillborn (do not compile)", ("stillborn",), False)
    out += section("Stillborn in argument checks", ("stillborn",), True)
    out += section("Errors (the check could not run)", ("error",), False)
    if unused:
        out += ["## Entries of equivalent.txt that match no mutant", ""] + [f"- {n} `{i}`" for n, i in unused] + [""]
    new = [(number, m) for number, r in results.items() for m, state, _ in r["mutants"] if state == "survived"]
    if new:
        out += ["To accept a survivor as equivalent, add its line to tests/mutation/equivalent.txt "
                "with the reason:", "", "```"] + [f"{n}  {m.id}  WHY" for n, m in new] + ["```", ""]
    return "\n".join(out)


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default=str(ROOT / "build"))
    parser.add_argument("--chapter", "-c", action="append", default=[], help="a chapter such as 09 (repeatable)")
    parser.add_argument("--exercise", "-e", action="append", default=[], help="an exercise such as 9.2 (repeatable)")
    parser.add_argument("--list", action="store_true", help="print the mutants without checking them")
    parser.add_argument("--operator", action="append", default=[],
                        help="only these operators (repeatable): " + ", ".join(OPERATORS))
    parser.add_argument("--guards", action="store_true",
                        help="also mutate argument checks (reported apart)")
    parser.add_argument("--sample", type=int, default=0, metavar="N", help="check N mutants per exercise")
    parser.add_argument("--seed", type=int, default=0, help="the seed of --sample's choice (default 0)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per test case (check.py's --timeout)")
    parser.add_argument("--limit", type=float, default=600.0, help="seconds per check before it is killed")
    parser.add_argument("--report", metavar="FILE", help="write the report as Markdown")
    parser.add_argument("--equivalent", default=str(EQUIVALENT), help="the accepted survivors")
    parser.add_argument("--cache", metavar="FILE",
                        help="keep each verdict in FILE (JSON lines) and reuse it while the mutant and "
                             "its chapter's tests are unchanged: resumes a run, rewrites a report")
    args = parser.parse_args()
    args.argv = sys.argv[1:]
    build_dir = pathlib.Path(args.build_dir).resolve()

    unknown = set(args.operator) - set(OPERATORS)
    if unknown:
        parser.error(f"unknown operator {', '.join(sorted(unknown))}; known: {', '.join(OPERATORS)}")
    chapters = sorted(p.name for p in (ROOT / "exercises").glob("[0-9][0-9]_*") if p.is_dir())
    wanted_chapters = {c.zfill(2) for c in args.chapter} | {e.split(".")[0].zfill(2) for e in args.exercise}
    if wanted_chapters:
        chapters = [c for c in chapters if c[:2] in wanted_chapters]
    exercises = []
    for chapter in chapters:
        for spec in layout.exercises(chapter):
            if args.exercise and spec.number not in args.exercise and chapter[:2] not in {c.zfill(2) for c in args.chapter}:
                continue
            exercises.append((chapter, spec))
    if not exercises:
        parser.error("no exercise matches")
    equivalent = read_equivalent(pathlib.Path(args.equivalent))
    cache = Cache(args.cache)

    plan = []
    skipped_guards = {}
    for chapter, spec in exercises:
        source = solution_file(chapter, spec)
        text = source.read_text()
        mutants = mutants_of(spec.number, text)
        if args.operator:
            mutants = [m for m in mutants if m.operator in args.operator]
        skipped_guards[spec.number] = sum(m.guard for m in mutants)
        generated = len(mutants)
        if not args.guards:
            mutants = [m for m in mutants if not m.guard]
        generated = len(mutants)
        chosen = mutants
        if args.sample and len(mutants) > args.sample:
            rng = random.Random(f"{args.seed}:{spec.number}")
            picked = set(rng.sample(range(len(mutants)), args.sample))
            chosen = [m for i, m in enumerate(mutants) if i in picked]
        plan.append((chapter, spec, source, text, generated, chosen))

    if args.list:
        for chapter, spec, source, text, generated, chosen in plan:
            print(f"{spec.number} {spec.title}: {len(chosen)} mutants"
                  + (f" of {generated}" if len(chosen) != generated else "")
                  + (f", {skipped_guards[spec.number]} more in argument checks (--guards)"
                     if not args.guards and skipped_guards[spec.number] else ""))
            for m in chosen:
                tag = " [argument check]" if m.guard else ""
                eq = " [equivalent]" if (spec.number, m.id) in equivalent else ""
                print(f"  {m.id:<26} {m.diff}{tag}{eq}")
        total = sum(len(p[5]) for p in plan)
        print(f"{total} mutants in {len(plan)} exercises")
        return 0

    if not (build_dir / "build.ninja").exists() and not (build_dir / "Makefile").exists():
        print(f"mutate: {build_dir} is not configured (no build.ninja); wait for it or run `make check` once",
              file=sys.stderr)
        return 2

    results = collections.OrderedDict()
    totals = collections.defaultdict(collections.Counter)
    timing = {"count": 0, "spent": 0.0, "waited": 0.0, "cached": 0}
    total = sum(len(p[5]) for p in plan)
    done = 0
    touched = []
    run_start = time.monotonic()
    status = 0
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="attn-mutants-"))
    try:
        for chapter, spec, source, text, generated, chosen in plan:
            number = spec.number
            r = results[number] = {"chapter": chapter, "title": spec.title, "mutants": [],
                                   "counts": collections.Counter(generated=generated, checked=len(chosen))}
            touched.append((chapter, spec))
            suite = suite_hash(chapter)
            # The unchanged solution first: its mutants mean nothing if it does not pass.
            base_key = Cache.key(text, suite)
            if cache.get(base_key):
                state, reason, spent = cache.get(base_key)
            else:
                base = workdir / f"{number}-base" / source.name
                base.parent.mkdir()
                base.write_text(text)
                state, reason, spent, waited = check(build_dir, chapter, number, base, args.timeout,
                                                     base.parent / "result.json", args.limit)
                timing["waited"] += waited
                cache.put(base_key, state, reason, spent, number, "unchanged")
            print(f"[{number}] the unchanged solution: {'passing' if state == 'survived' else state} "
                  f"({spent:.1f} s)", file=sys.stderr, flush=True)
            if state != "survived":
                r["baseline"] = f"{state} ({reason})" if reason else state
                r["counts"]["checked"] = 0
                status = 2
                totals[chapter].update({k: r["counts"][k] for k in ("generated", "checked")})
                done += len(chosen)
                continue
            for i, m in enumerate(chosen, 1):
                key = Cache.key(m.text, suite)
                cached = cache.get(key)
                if cached:
                    state, reason, spent = cached
                    timing["cached"] += 1
                else:
                    path = workdir / f"{number}-{i:04d}" / source.name
                    path.parent.mkdir()
                    path.write_text(m.text)
                    state, reason, spent, waited = check(build_dir, chapter, number, path, args.timeout,
                                                         path.parent / "result.json", args.limit)
                    if state == "error":  # another's change to the shared code, perhaps: once more
                        state, reason, spent2, waited2 = check(build_dir, chapter, number, path, args.timeout,
                                                               path.parent / "result.json", args.limit)
                        spent, waited = spent + spent2, waited + waited2
                    shutil.rmtree(path.parent, ignore_errors=True)
                    cache.put(key, state, reason, spent, number, m.id)
                    timing["waited"] += waited
                timing["count"] += 1
                timing["spent"] += spent
                if state == "survived" and (number, m.id) in equivalent:
                    state = "equivalent"
                r["mutants"].append((m, state, reason if state in ("killed", "stillborn", "error") else ""))
                r["counts"][state] += 1
                done += 1
                elapsed = time.monotonic() - run_start
                left = (total - done) * elapsed / max(timing["count"] - timing["cached"], 1)  # lock waits included
                label = {"survived": "SURVIVED"}.get(state, state)
                print(f"[{number} {i}/{len(chosen)}, {done}/{total}, ~{left / 60:.0f} min left] {label:<10} "
                      f"{m.id} {m.diff}" + (f"  ({reason[:100]})" if state != "survived" and reason else "")
                      + (f"  {spent:.1f} s" if not cached else "  (cached)"), file=sys.stderr, flush=True)
            for k in ("generated", "checked", "killed", "stillborn", "equivalent", "survived", "error"):
                totals[chapter][k] += r["counts"][k]
            totals[chapter]["guards"] += skipped_guards.get(number, 0)
    except KeyboardInterrupt:
        print("mutate: interrupted; the report holds what was checked", file=sys.stderr)
        status = 130
    finally:
        restore_wrappers(build_dir, touched)
        shutil.rmtree(workdir, ignore_errors=True)

    ran = {number for number in results}
    full = not args.sample and not args.operator
    unused = sorted(k for k in equivalent if full and k[0] in ran
                    and not any(m.id == k[1] for m, _, _ in results[k[0]]["mutants"]))
    report = markdown(results, args, totals, timing, equivalent, skipped_guards if not args.guards else {}, unused)
    if args.report:
        pathlib.Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(args.report).write_text(report)
    # The summary on stdout.
    print(f"{'exercise':<10}{'generated':>10}{'checked':>9}{'killed':>8}{'stillborn':>11}{'equivalent':>12}"
          f"{'survived':>10}{'errors':>8}")
    for number, r in results.items():
        n = r["counts"]
        print(f"{number:<10}{n['generated']:>10}{n['checked']:>9}{n['killed']:>8}{n['stillborn']:>11}"
              f"{n['equivalent']:>12}{n['survived']:>10}{n['error']:>8}"
              + (f"   unchanged solution {r['baseline']}" if r.get("baseline") else ""))
    survivors = [(number, m) for number, r in results.items() for m, state, _ in r["mutants"] if state == "survived"]
    for number, m in survivors:
        print(f"SURVIVED {number} {m.id} {m.diff}")
    if timing["count"]:
        per = timing["spent"] / timing["count"]
        print(f"{timing['count']} checks, {per:.1f} s each (waited {timing['waited']:.0f} s for the lock)")
    if any(r["counts"]["error"] for r in results.values()):
        status = max(status, 2)
    if survivors and status == 0:
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
