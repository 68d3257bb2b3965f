#!/usr/bin/env python3
"""The weave step: turns annotated chapter sources into pages of the Doxygen book.

Doxygen runs it as an input filter on every chapters/NN_name/main.cpp:

    weave.py filter --output-dir DIR chapters/NN_name/main.cpp

A chapter source is prose in `///` lines and code between them. The filter prints a
Doxygen page in file order: prose as page text, each run of code as a listing, and after
the code of each `/// ## Section`, what the chapter program printed under its
`## Section` heading when the book was built (DIR/chNN_name.txt). It ends the page with
the chapter's exercises and previous/next links.

The same filter runs on every exercises/NN_name/exercises.hpp and turns its task
statements into the chapter's exercises page, a child of the chapter's page:

    weave.py exercises exercises/NN_name/exercises.hpp

The prose quotes the program's run, as knitr and Quarto do: `{{name}}` is replaced by the
value the program named with attn::quote("name", ...) (common/quote.hpp) when the book was
built (DIR/chNN_name.values), so a sentence that states a measurement is true on the machine
that built the book. A number in the prose that reads as a measurement (a time, a speed, a
size, a ratio, a share) and is typed by hand fails the build; a number that no run measures
(a paper's figure, a constant of the code) is marked `{{= 60-80%}}`.

The first use of each glossary term (book/glossary.md) in a chapter's prose links to its
entry; nothing inside a formula is linked, even one that spans lines. Two more commands are run by the build before Doxygen:

    weave.py run --program PATH --output FILE --figures DIR   run a chapter program
    weave.py mainpage --template IN --output OUT --api OUT    the main page with the contents,
                                                              and the API reference page;
                                                              checks the glossary

Only Python's standard library is used.
"""
import argparse
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import layout  # noqa: E402  (the chapter and exercise conventions, shared with tests/check.py)


def fail(message):
    print(f"weave: {message}", file=sys.stderr)
    sys.exit(1)


def chapters():
    """[(dir name, page id, title)] of every chapter, in order."""
    return [(d, page_id(d), layout.chapter_heading(d)) for d in layout.chapter_dirs()]


def page_id(dir_name):
    return "ch" + dir_name  # e.g. ch01_single_head_attention


def exercises_page_id(dir_name):
    return "ex" + dir_name  # e.g. ex01_single_head_attention


GLOSSARY = ROOT / "book" / "glossary.md"


def glossary():
    """[(anchor, term, entry text)] of book/glossary.md, in order."""
    entries = []
    for m in re.finditer(r"^- \\anchor (g_\w+) \*\*(.+?)\*\*:(.*?)(?=^- |\Z)", GLOSSARY.read_text(), re.M | re.S):
        entries.append((m.group(1), m.group(2), " ".join(m.group(3).split())))
    return entries


def check_glossary():
    """Every entry links to the section that builds it, or names the chapter to come; once
    that chapter exists, its entry must link to it."""
    existing = {d[:2] for d in layout.chapter_dirs()}
    problems = []
    for anchor, term, text in glossary():
        coming = re.search(r"Coming in chapter (\d\d)", text)
        if re.search(r"\\ref ch\d\d_\w+", text):
            continue
        if coming and coming.group(1) not in existing:
            continue
        problems.append(f"'{term}': " + (f"chapter {coming.group(1)} exists now; link the entry to the "
                                          "section that builds the term" if coming else
                                          "links to no chapter section (\\ref chNN_...)"))
    if problems:
        fail(f"{GLOSSARY.relative_to(ROOT)}: " + "; ".join(problems))


def term_pattern(term):
    """The term and its plural, as a whole word: "query" also matches "queries"."""
    stem = re.escape(term)
    plural = stem[:-1] + "(?:y|ies)" if term.endswith("y") else stem + "(?:s|es)?"
    return re.compile(r"(?<![\w`-])" + plural + r"(?![\w`-])", re.I)


# Prose that must not be touched when linking terms: code spans, formulas, references, HTML.
PROTECTED = re.compile(r"(`[^`]*`|\\f\$.*?\\f\$|\\f\[.*?\\f\]|\\ref \S+(?: \"[^\"]*\")?|<[^>]*>|\[[^\]]*\]\([^)]*\)"
                       r"|\"[^\"]*\")")

# *emphasis* of several words, which Doxygen renders only when nothing inside it is linked.
EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")


def link_terms(line, pending, quoted=False):
    """Links the first use of each pending glossary term in a prose line; removes it from
    pending. A code span that is exactly the term (`d_model`) is linked too. Nothing inside
    "double quotes" is linked: Doxygen shows commands there as they are. `quoted` says the
    line starts inside a quotation begun on an earlier line; the text up to its closing
    quote is left alone."""
    head = ""
    if quoted:
        end = line.find('"')
        if end < 0:
            return line
        head, line = line[:end + 1], line[end + 1:]
    line = EMPHASIS.sub(lambda m: m.group(0) if " " not in m.group(1) else f"<em>{m.group(1)}</em>", line)
    parts = PROTECTED.split(line)
    out = []
    for part in parts:
        if part is None:
            continue
        for anchor, term in list(pending.items()):
            if part == f"`{term}`":
                part = f'\\ref {anchor} "{term}"'
                del pending[anchor]
            elif not PROTECTED.fullmatch(part):
                m = term_pattern(term).search(part)
                if m:
                    start, end, link = m.start(), m.end(), f'\\ref {anchor} "{m.group(0)}"'
                    if part[start - 1:start] == "*" and part[end:end + 1] == "*":  # *query*
                        start, end, link = start - 1, end + 1, f"<em>{link}</em>"
                    part = part[:start] + link + part[end:]
                    del pending[anchor]
        out.append(part)
    return head + "".join(out)


FORMULA_START = re.compile(r"\\f[$\[{]")
FORMULA_END = {"\\f$": "\\f$", "\\f[": "\\f]", "\\f{": "\\f}"}


def formula_parts(line, closing):
    """A prose line cut into [(text, is_formula)]: a formula (\\f$...\\f$, \\f[...\\f],
    \\f{env}{...\\f}) may start on one line and end on a later one, so `closing` is the
    delimiter that ends a formula an earlier line left open (None when none is open).
    Returns the parts and the delimiter still open at the end of the line. Nothing inside a
    formula is ever linked: MathJax reads it, and a \\ref there is a TeX error."""
    parts, i = [], 0
    while i < len(line):
        if closing:
            j = line.find(closing, i)
            if j < 0:
                parts.append((line[i:], True))
                return parts, closing
            parts.append((line[i:j + len(closing)], True))
            i, closing = j + len(closing), None
        else:
            m = FORMULA_START.search(line, i)
            if not m:
                parts.append((line[i:], False))
                break
            parts.append((line[i:m.start()], False))
            parts.append((m.group(0), True))
            i, closing = m.end(), FORMULA_END[m.group(0)]
    return parts, closing


def emphasis(line, open_):
    """*Emphasis* that spans two prose lines, as <em>...</em> (Doxygen renders a starred
    span only within one line and only when nothing in it is linked). Returns the line and
    whether an emphasis is still open at its end."""
    if open_:
        m = re.search(r"(?<=\S)\*(?![\w*])", line)
        if not m:
            return line, True
        line, open_ = line[:m.start()] + "</em>" + line[m.end():], False
    m = re.search(r"(?<![\w*])\*(?=\S)([^*]*)$", line)
    if m and "`" not in m.group(1):
        return line[:m.start()] + "<em>" + m.group(1), True
    return line, open_


def ends_quoted(line, quoted):
    """Whether a prose line leaves a "quotation" open for the next line."""
    outside = re.sub(r"`[^`]*`|\\f\$.*?\\f\$|\\ref \S+ \"[^\"]*\"", "", line)
    return quoted != (outside.count('"') % 2 == 1)


def read_values(path):
    """{name: text} of the values a chapter's run quoted (later lines replace earlier)."""
    values = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, _, text = line.partition("\t")
            values[name] = text
    return values


# `{{name}}` in prose: the value the program's run quoted under that name (attn::quote()).
# `{{= text}}`: text typed by hand that states no measurement of this program (a paper's
# figure, a file's size, a constant of the code), marked so the number check passes it.
QUOTED = re.compile(r"\{\{(=?)\s*([^}]*?)\s*\}\}")

# A number that reads as a measurement: a speed, a time, a size, a ratio or a share. The
# prose may not type one by hand, since the book is built on machines other than the one
# the sentence was written on; it quotes the run instead.
MEASURED = re.compile(
    r"(?<![\w.$^_{])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*-\s*(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)?"
    r"(?:x\b|\s*×|\s*%|\s+times\b|\s*(?:ms|µs|us|ns|s|seconds?|minutes?)\b(?!-)|"
    r"\s*(?:[KMGT]i?B|bytes?)\b|\s*(?:tokens?|steps?)\s*(?:/\s*s\b|per second)|"
    r"\s*(?:GB|MB|GiB|MiB)/s|\s*G?FLOPs?\b|\s*(?:GF|GFLOP|TFLOP)/s)")


def substitute_values(prose, values, source):
    """Prose with each `{{name}}` replaced by the run's value and `{{= text}}` by its text."""
    def value(m):
        if m.group(1):
            return m.group(2)
        if m.group(2) not in values:
            fail(f"{source}: the prose quotes {{{{{m.group(2)}}}}}, but the program's run named no "
                 f"such value (attn::quote(\"{m.group(2)}\", ...)); it named: "
                 f"{', '.join(sorted(values)) or 'none'}")
        return values[m.group(2)]
    text = QUOTED.sub(value, prose)
    # A value that opens a line and ends a sentence, "49. The ...", would start a numbered
    # list in Markdown: its dot is escaped (Doxygen's \. prints a dot).
    if QUOTED.match(prose):
        text = re.sub(r"^(\d+)\.(\s)", r"\1\\.\2", text)
    return text


def typed_measurements(prose):
    """Numbers in a prose line that read as measurements and are neither quoted from the run
    nor marked as typed facts; formulas and code spans are not prose."""
    text = QUOTED.sub(" ", prose)
    text = re.sub(r"`[^`]*`|\\f\$.*?\\f\$|\\f\[.*?\\f\]|\\ref \S+", " ", text)
    return [m.group(0) for m in MEASURED.finditer(text)]


def slug(text):
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


# A prose line `/// \show file.cpp name [name ...]` puts the definitions of those functions
# (or structs) from the library source on the page, where the prose explains them: the
# library is the one source of truth, the page never holds a copy. `file` is relative to the
# chapter's directory, or to the repository root. A name written `:name` is a fragment marked
# in the source by two lines `// [name]`, for a part of a function.
SHOW = re.compile(r"^\\show\s+(\S+)\s+(.+)$")


def strip_strings(line):
    """A line of C++ with its string and character literals and // comment blanked, so
    that braces are counted only in code."""
    line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(?:\\.|[^'\\])*'", "''", line)
    return line.split("//")[0]


def definition(lines, name):
    """[(first, last)] line ranges (0-based, inclusive) of every definition of `name` (a
    function, `Type::member`, or `struct`/`class` name) in a source's lines, each with the
    comment lines just above it."""
    short = re.escape(name)
    pattern = re.compile(r"(?:^|[\s*&:<>])" + short + r"\s*\(|^(?:struct|class)\s+" + short + r"\b")
    found = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line[:1] in ("", " ", "\t", "#", "/") or not pattern.search(strip_strings(line)):
            i += 1
            continue
        if re.search(r"::" + short + r"\s*\(", line) and "::" not in name:
            i += 1  # Other::name( is another type's member
            continue
        # a definition opens a brace before any line ends with ';' and ends at the next line
        # that starts with '}' in the first column (the sources are clang-formatted)
        j, kind = i, None
        while j < len(lines) and kind is None:
            code = strip_strings(lines[j]).rstrip()
            if "{" in code:
                kind = "definition"
            elif code.endswith(";"):
                kind = "declaration"
            else:
                j += 1
        if kind != "definition":
            i += 1
            continue
        code = strip_strings(lines[j])
        if not (j == i and code.count("{") == code.count("}")):  # not a one-line function
            j = next((k for k in range(j + 1, len(lines)) if lines[k].startswith("}")), None)
            if j is None:
                fail(f"definition of {name}: no closing brace in the first column")
        first = i
        while first > 0 and re.match(r"^\s*(//(?!/)|template\s*<)", lines[first - 1]):
            first -= 1
        found.append((first, j))
        i = j + 1
    return found


def fragment(lines, name):
    """The lines between two `// [name]` marker lines."""
    marks = [i for i, l in enumerate(lines) if l.strip() == f"// [{name}]"]
    if len(marks) != 2:
        return None
    return [(marks[0] + 1, marks[1] - 1)]


def shown_code(chapter_dir, file_name, names, source):
    """The code a `\\show` line puts on the page, the path it came from, and the line
    ranges it takes from that file."""
    path = chapter_dir / file_name
    if not path.exists():
        path = ROOT / file_name
    if not path.exists():
        fail(f"{source}: \\show {file_name}: no such file in {chapter_dir.name}/ or the repository")
    lines = path.read_text().splitlines()
    blocks, taken = [], []
    for name in names:
        ranges = fragment(lines, name[1:]) if name.startswith(":") else definition(lines, name)
        if not ranges:
            fail(f"{source}: \\show {file_name} {name}: {path.relative_to(ROOT)} defines no "
                 f"{'fragment' if name.startswith(':') else 'function or struct'} of that name")
        for first, last in ranges:
            block = lines[first:last + 1]
            indent = min((len(l) - len(l.lstrip()) for l in block if l.strip()), default=0)
            blocks.append([l[indent:] for l in block])
            taken.append((first, last))
    code = []
    for block in blocks:
        if code:
            code.append("")
        code.extend(block)
    return code, path.relative_to(ROOT).as_posix(), taken


def all_exercises():
    return [ex for d in layout.chapter_dirs() for ex in layout.exercises(d)]


def check_answers_declared():
    """Folding fails closed: every exercise declares the library code that answers it (or
    that none does), and every declared function exists, so a page can never show an answer
    because nobody said where it was."""
    problems = []
    for ex in all_exercises():
        if ex.answered_by is None:
            problems.append(f"exercise {ex.number} ({ex.header}) declares no '// answered in the "
                            "library by: chapters/NN_name/file.cpp name ...' line (or 'nothing (why)')")
            continue
        for file_name, names in ex.answered_by:
            path = ROOT / file_name
            if not path.exists():
                problems.append(f"exercise {ex.number}: answered in the library by {file_name}: no such file")
                continue
            lines = path.read_text().splitlines()
            problems += [f"exercise {ex.number}: {file_name} defines no {n}" for n in names
                         if not definition(lines, n)]
    if problems:
        fail("exercises whose answers the book cannot fold:\n  " + "\n  ".join(problems))


def normalised(line):
    return " ".join(line.split())


# Lines of an answer that say nothing of how it works: argument checks, declarations.
BOILERPLATE = re.compile(r"check_shape|invalid_argument|throw|not_implemented|namespace|#include|^//|^///"
                         r"|^return \w+;$|^\}|^\{")


def solution_lines():
    """{normalised line: exercise} of every reference answer's lines that carry its idea."""
    found = {}
    for ex in all_exercises():
        for path in (ROOT / "solutions" / pathlib.PurePath(ex.answer_file).parent.name).glob(
                ex.number.replace(".", "_") + "_*.cpp"):
            for line in path.read_text().splitlines():
                n = normalised(line)
                if len(n) >= 25 and not BOILERPLATE.search(n):
                    found.setdefault(n, ex)
    return found


def answers_in_view(code):
    """The exercises three or more of whose reference answer's lines a listing shows."""
    known = solution_lines()
    hits = {}
    for line in code:
        ex = known.get(normalised(line))
        if ex:
            hits.setdefault(ex.number, []).append(normalised(line))
    return {number: lines for number, lines in hits.items() if len(lines) >= 3}


def refuse_answers_in_view(code, source, what):
    """Fails the build when a listing shown unfolded holds an exercise's answer."""
    for number, lines in answers_in_view(code).items():
        fail(f"{source}: {what} shows the answer to exercise {number} unfolded ({len(lines)} lines of "
             f"its reference answer, e.g. {lines[0]!r}); declare the library code that answers it "
             "('// answered in the library by: ...' in the exercise's task) so that the page folds it")


# Code in a hint: a statement, a loop, an assignment or a block.
HINT_CODE = re.compile(r";|\bfor\s*\(|\bif\s*\(|\bwhile\s*\(|[^=!<>]=[^=]|\+=|-=|\{")


def check_hints():
    """Hints give the idea and the trap in words and the formula in maths; the code is only in
    solutions/. A code span in a hint paragraph that holds a statement fails the build."""
    problems = []
    for ex in all_exercises():
        lines = (ROOT / ex.header).read_text().splitlines()
        i, in_hint = ex.line, False
        while i < len(lines) and lines[i].startswith("///"):
            text = lines[i][3:].strip()
            if re.match(r"(Second )?[Hh]int:", text):
                in_hint = True
            elif not text:
                in_hint = False
            if in_hint:
                problems += [f"exercise {ex.number} ({ex.header}:{i + 1}): `{span}`"
                             for span in re.findall(r"`([^`]*)`", text) if HINT_CODE.search(span)]
            i += 1
    if problems:
        fail("hints that give code instead of the idea (the code belongs in solutions/):\n  " +
             "\n  ".join(problems))


def answering(rel, taken):
    """The exercises whose declared answer overlaps the lines `taken` of file `rel`."""
    found = []
    lines = None
    for ex in all_exercises():
        for file_name, names in ex.answered_by or []:
            if pathlib.PurePath(file_name).as_posix() != rel:
                continue
            lines = lines if lines is not None else (ROOT / rel).read_text().splitlines()
            answer = [r for n in names for r in definition(lines, n)]
            if any(a <= last and first <= b for a, b in answer for first, last in taken) and ex not in found:
                found.append(ex)
    return found


def exercise_of(name, dir_name, rel):
    """The exercise of this chapter or an earlier one whose function has this name, unless
    the exercise declares the library code that answers it and file `rel` is not part of
    it: an overload of the same name elsewhere (chapter 08's project() for a weight stored
    [out, in]) is not exercise 2.1's answer. A member (`Type::name`) is never taken for a
    free exercise function of the same name: a `\\show` line names the exercise it answers,
    `(exercise 6.1)`."""
    if "::" in name:
        return None
    short = name.lstrip(":")
    for d in layout.chapter_dirs():
        if d > dir_name:
            break
        for ex in layout.exercises(d):
            declared = ex.answered_by is not None
            if declared and all(pathlib.PurePath(f).as_posix() != rel for f, _ in ex.answered_by):
                continue
            if ex.function.split("::")[-1] == short:
                return ex
    return None


def show_block(chapter_dir, file_name, names, source):
    """Page text for a `\\show` line: the listing, headed by where it comes from; folded
    when one of its functions is an exercise, so the page never gives an answer unasked."""
    stated = re.search(r"\(exercises? ([\d., and]+)\)$", " ".join(names))
    if stated:  # `\show file.cpp softmax (exercise 1.2)`: the exercise asks for it by another name
        names = " ".join(names)[:stated.start()].split()
        numbers = re.findall(r"\d+\.\d+", stated.group(1))
        exercises = [ex for d in layout.chapter_dirs() for ex in layout.exercises(d) if ex.number in numbers]
        if len(exercises) != len(numbers):
            fail(f"{source}: \\show ... ({stated.group(0)}): no such exercise")
    else:
        exercises = None
    code, rel, taken = shown_code(chapter_dir, file_name, names, source)
    if exercises is None:
        exercises = [ex for ex in (exercise_of(n, chapter_dir.name, rel) for n in names) if ex]
    # what the exercises declare they are answered by folds, whatever the \show line says
    exercises += [ex for ex in answering(rel, taken) if ex not in exercises]
    exercises.sort(key=lambda ex: tuple(int(n) for n in ex.number.split(".")))
    listed = ", ".join(f"`{n.lstrip(':')}`" for n in names)
    out = [""]
    if exercises:
        numbers = " and ".join(ex.number for ex in exercises)
        out += ['\\htmlonly<details class="exercise-code"><summary>\\endhtmlonly',
                f"Exercise{'s' if len(exercises) > 1 else ''} {numbers} ask{'' if len(exercises) > 1 else 's'} "
                f"for this code: try {'them' if len(exercises) > 1 else 'it'} first, then open the library's "
                f"{listed}, from `{rel}`.", "\\htmlonly</summary>\\endhtmlonly"]
    else:
        refuse_answers_in_view(code, source, f"\\show {file_name} {' '.join(names)}")
        out += [f'<div class="code-from">From `{rel}`:</div>']
    out += ["\\code{.cpp}", *code, "\\endcode"]
    if exercises:
        out += ["\\htmlonly</details>\\endhtmlonly"]
    return out + [""]


def split_output(text):
    """The program's output, by `## Section` heading."""
    sections = {}
    current = ""
    for line in text.splitlines():
        m = re.match(r"^## (.+)$", line)
        if m:
            current = m.group(1).strip()
            sections[current] = []
        else:
            sections.setdefault(current, []).append(line)
    return {k: "\n".join(v).strip("\n") for k, v in sections.items()}


def weave(source, output_dir):
    dir_name = source.resolve().parent.name
    pid = page_id(dir_name)
    number = dir_name[:2]
    output_file = output_dir / f"ch{dir_name}.txt"
    if not output_file.exists():
        fail(f"{output_file} is missing: the chapter program must run before Doxygen")
    output = split_output(output_file.read_text())
    values = read_values(values_path(output_file))

    lines = source.read_text().splitlines()
    title_line = next((i for i, l in enumerate(lines) if l.startswith("/// # ")), None)
    if title_line is None:
        fail(f"{source}: the first prose line must be the title, '/// # Chapter NN: ...'")
    title = lines[title_line][len("/// # "):].strip()

    sections_showing_code, current = set(), None
    for line in lines[title_line + 1:]:
        prose = line.strip()[3:].strip() if line.strip().startswith("///") else None
        if prose is not None and prose.startswith("## "):
            current = prose[3:].strip()
        elif prose is not None and SHOW.match(prose):
            sections_showing_code.add(current)

    out = [f"\\page {pid} {title}", ""]
    if navigation(pid):  # at the top too, so a reader never scrolls to find the next chapter
        out += [f'<div class="chapter-nav">{navigation(pid)}</div>', ""]
    out += ["\\tableofcontents", ""]
    code = []
    section = None
    used = set()
    includes = []  # the #include and using lines before the first section, shown at the end
    pending = {anchor: term for anchor, term, _ in glossary()}
    quoted = False  # inside a "quotation" that a prose line left open
    emphasised = False  # inside an *emphasis* that a prose line left open
    formula = None  # the delimiter that ends a formula a prose line left open

    def flush_code():
        while code and not code[0].strip():
            code.pop(0)
        while code and not code[-1].strip():
            code.pop()
        if code and section is None:
            # a page opens with its first idea: before the first section, only the
            # includes and using-declarations, which move to the end of the page
            setup = [l for l in code if not re.match(r"^\s*(#include|using |$)", l)]
            if setup:
                fail(f"{source}: code before the first '/// ## ' section: {setup[0].strip()!r}; "
                     "setup belongs in common/ (or after a section heading)")
            includes.extend(code)
            code.clear()
        if code:
            if out and out[-1]:
                out.append("")
            if section in sections_showing_code:
                # the library's code is on the page: the program's own (inputs, printing,
                # figures) folds away, one click from the reader
                n = len(code)
                out.extend(['\\htmlonly<details class="program-code"><summary>\\endhtmlonly',
                            f"How the program shows this: {n} line{'s' if n != 1 else ''} of `main.cpp`",
                            "\\htmlonly</summary>\\endhtmlonly",
                            "\\code{.cpp}", *code, "\\endcode", "\\htmlonly</details>\\endhtmlonly", ""])
            else:
                refuse_answers_in_view(code, source, "the program's code")
                out.extend(["\\code{.cpp}", *code, "\\endcode", ""])
        code.clear()

    def flush_output():
        if section is not None and output.get(section):
            used.add(section)
            out.extend(["<div class=\"program-output\">", "", "What the program printed:",
                        "\\code{.unparsed}", output[section], "\\endcode", "</div>", ""])

    typed_by_hand = []
    for line_number, line in enumerate(lines[title_line + 1:], start=title_line + 2):
        stripped = line.strip()
        if stripped.startswith("///"):
            flush_code()
            prose = stripped[3:]
            prose = prose[1:] if prose.startswith(" ") else prose
            if not prose.startswith("    ") and formula is None:
                typed_by_hand.extend(f"line {line_number}: {t!r} in {prose.strip()!r}"
                                     for t in typed_measurements(prose))
            prose = substitute_values(prose, values, source)
            heading = re.match(r"^## (.+)$", prose)
            if heading:
                flush_output()
                section = heading.group(1).strip()
                out.append(f"\\section {pid}_{slug(section)} {section}")
            else:
                shown = SHOW.match(prose)
                if shown:
                    out.extend(show_block(source.resolve().parent, shown.group(1),
                                          shown.group(2).split(), source))
                    continue
                parts, formula_after = formula_parts(prose, formula)
                if formula is None and not prose.startswith(("    ", "\\")):
                    prose, emphasised = emphasis(prose, emphasised)
                    parts, formula_after = formula_parts(prose, formula)
                    linked = "".join(text if in_formula else link_terms(text, pending, quoted and k == 0)
                                     for k, (text, in_formula) in enumerate(parts))
                else:
                    linked = prose
                if any(in_formula and "\\ref" in text for text, in_formula in formula_parts(linked, formula)[0]):
                    fail(f"{source}: a link inside a formula: {linked!r}")
                formula = formula_after
                quoted = ends_quoted(prose, quoted)
                out.append(linked)
        else:
            code.append(line)
            quoted = False
    flush_code()
    flush_output()
    if typed_by_hand:
        fail(f"{source}: {len(typed_by_hand)} measured numbers typed by hand in the prose:\n  " +
             "\n  ".join(typed_by_hand) + "\nThe book is built on other machines than this one: quote "
             "the run's value ({{name}} in the prose, attn::quote(\"name\", ...) in the program), "
             "or, for a number no run of this program measures (a paper's figure, a file's size, a "
             "constant of the code), mark it {{= ...}}")

    missing = [s for s in output if s and s not in used and output[s]]
    if missing:
        fail(f"{source}: the program printed sections with no '/// ## ' heading of that name: {missing}")

    exercises = layout.exercises(dir_name)
    if exercises:
        header = exercises[0].header
        eid = exercises_page_id(dir_name)
        out.append(f"\\section {pid}_exercises Exercises")
        out.append("")
        out.append(f"The tasks are on the page \\subpage {eid} (and in `{header}`); each answer "
                   f"goes in its own file. Check your answers with `make check CH={number}`: it "
                   "prints, for each exercise, whether it is not started, failing (with what is "
                   "wrong and where the hint is), does not compile, or passing. The reference "
                   f"answers are in `solutions/{dir_name}/`.")
        out.append("")
        out.append(f"| Exercise | Your answer goes in `exercises/{dir_name}/` |")
        out.append("|---|---|")
        for ex in exercises:
            answer = pathlib.PurePath(ex.answer_file).name
            out.append(f"| \\ref {eid}_{ex.number.replace('.', '_')} \"{ex.number} {ex.title}\" | `{answer}` |")
        out.append("")

    if includes:
        out.append(f"\\section {pid}_includes What the source includes")
        out.append("")
        out.append(f"`chapters/{dir_name}/main.cpp` begins with these lines, moved here so that the "
                   "chapter opens with its idea:")
        out.extend(["", "\\code{.cpp}", *includes, "\\endcode", ""])

    if navigation(pid):
        out.append("<hr>")
        out.append(navigation(pid))

    emit_page(source, "\n".join(out))


def navigation(pid):
    """Previous | Contents | Next for a chapter's page."""
    all_chapters = chapters()
    ids = [c[1] for c in all_chapters]
    if pid not in ids:
        return ""
    i = ids.index(pid)
    nav = []
    if i > 0:
        nav.append(f"Previous: \\ref {all_chapters[i - 1][1]} \"{all_chapters[i - 1][2]}\"")
    nav.append("\\ref index \"Contents\"")
    if i + 1 < len(all_chapters):
        nav.append(f"Next: \\ref {all_chapters[i + 1][1]} \"{all_chapters[i + 1][2]}\"")
    return " &nbsp;|&nbsp; ".join(nav)


def doc_to_page(lines):
    """Doxygen doc-comment lines of a task statement as page text: \\param and \\return
    become a list of the shapes."""
    out, params_started = [], False
    for line in lines:
        m = re.match(r"^\\param (\w+) (.*)$", line)
        r = re.match(r"^\\return (.*)$", line)
        if m and not params_started:
            # the parameters are a list of their own: a list the task wrote just above them
            # would otherwise run on into it (Markdown joins lists across a blank line), so it
            # ends with Doxygen's end-of-list marker, a lone "."
            before = next((l for l in reversed(out) if l.strip()), "")
            if before.startswith(("- ", "  ")) or re.match(r"^\d+\. ", before):
                out.append(".")
        if m:
            params_started = True
            out.append(f"- `{m.group(1)}`: {m.group(2)}")
        elif r:
            out.append(f"- returns {r.group(1)}")
        else:
            out.append(line)
    return out


def exercises_page(header):
    """The chapter's exercises page, from the task statements in its exercises.hpp."""
    dir_name = header.resolve().parent.name
    eid, pid = exercises_page_id(dir_name), page_id(dir_name)
    chapter = layout.chapter_heading(dir_name)
    number = dir_name[:2]
    by_line = {ex.line: ex for ex in layout.exercises(dir_name)}
    lines = header.read_text().splitlines()
    out = [f"\\page {eid} Chapter {number} exercises", "",
           f"Back to \\ref {pid} \"{chapter}\". Each task below is a function to write: its answer "
           f"goes in its own file in `exercises/{dir_name}/`, where a stub now throws "
           f"`attn::not_implemented`. Check your answers with `make check CH={number}`; the "
           f"reference answers are in `solutions/{dir_name}/`. Every function first checks its "
           "arguments and throws `std::invalid_argument` whose message names the function and "
           "shows what is wrong: a shape as `[0, 6]` (`attn::check_shape()` writes the whole "
           "message in one line) and a number as `name = value`, e.g. `n_heads = 0`. The check "
           "quotes that requirement when a message misses it.", ""]
    i = 0
    while i < len(lines):
        ex = by_line.get(i + 1)
        if ex is None:
            i += 1
            continue
        doc = []
        i += 1
        while i < len(lines) and lines[i].startswith("///"):
            text = lines[i][3:]
            doc.append(text[1:] if text.startswith(" ") else text)
            i += 1
        out.append(f"\\section {eid}_{ex.number.replace('.', '_')} Exercise {ex.number}: {ex.title}")
        out.extend(["", *doc_to_page(doc), ""])
        declaration = []  # as exercises.hpp lays it out, so a long one keeps its line breaks
        while i < len(lines) and not (declaration and declaration[-1].rstrip().endswith(";")):
            if not lines[i].startswith("// answered in the library by:"):  # for the book, not the task
                declaration.append(lines[i])
            i += 1
        out.extend(["\\code{.cpp}", *declaration, "\\endcode", ""])
        out.append(f"Your answer: `{ex.answer_file}`. Check it: `make check CH={number}`.")
        out.append("")
    out.append("<hr>")
    out.append(f"Back to \\ref {pid} \"{chapter}\" &nbsp;|&nbsp; \\ref index \"Contents\"")
    emit_page(header, "\n".join(out))


def emit_page(source, text):
    """Prints a page as one C comment; every line carries its own " * ", which is what
    Doxygen strips, so a code or output line that starts with '*' keeps it."""
    if "*/" in text:
        fail(f"{source}: '*/' would end the page's comment early; avoid it")
    print("/**")
    for line in text.split("\n"):
        print(" * " + line if line else " *")
    print(" */")


def values_path(output):
    """Where a chapter run's quoted values go: beside its output, chNN_name.values."""
    return pathlib.Path(output).with_suffix(".values")


def run(program, output, figures, launch=""):
    """Runs a chapter program without colour and saves what it printed, and the values it
    named for the prose (attn::quote(), one `name<TAB>text` line each). `launch`: the words
    that start it (`mpiexec -n 4` for a program that runs across processes)."""
    values = values_path(output)
    values.parent.mkdir(parents=True, exist_ok=True)
    values.write_text("")
    env = dict(os.environ, NO_COLOR="1", ATTN_BOOK_VALUES=str(values))
    proc = subprocess.run(launch.split() + [program, "--figures", figures], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        fail(f"{program} exited with status {proc.returncode}")
    pathlib.Path(output).parent.mkdir(parents=True, exist_ok=True)
    # The figure paths are the build machine's; the book shows the figures themselves.
    text = re.sub(r"(Figure written to ).*/", r"\1", proc.stdout)
    # Any other mention of the figures folder: as the reader's own build names it.
    folder = pathlib.Path(figures).resolve()
    shown = os.path.relpath(folder, ROOT) if folder.is_relative_to(ROOT) else "the --figures folder"
    text = text.replace(str(folder), shown)
    pathlib.Path(output).write_text(text)


def api_page(output):
    """The API reference: what each chapter's library and common/ offer, by header."""
    out = ["\\page api API reference", "",
           "The library each chapter adds, which the later chapters reuse, and `common/`, which "
           "every chapter shares. Each header's page documents its functions and types, with the "
           "shape of every tensor. Everything lives in the namespace attn.", ""]
    for dir_name, pid, title in chapters():
        headers = sorted((ROOT / "chapters" / dir_name).glob("*.hpp"))
        out.append(f"- \\ref {pid} \"{title}\": " + ", ".join(f"\\ref {h.name}" for h in headers))
    common = sorted(h for h in (ROOT / "common").glob("*.hpp") if h.name != "pch.hpp")
    out.append("- Shared by every chapter (`common/`): " + ", ".join(f"\\ref {h.name}" for h in common))
    out.append("")
    out.append("Doxygen's own indexes: <a href=\"annotated.html\">every type</a> and "
               "<a href=\"files.html\">every header</a> (also in the sidebar, under Headers).")
    pathlib.Path(output).write_text("/**\n" + "\n".join(" * " + l if l else " *" for l in out) + "\n */\n")


def mainpage(template, output):
    check_glossary()
    check_answers_declared()
    check_hints()
    rows = []
    for dir_name, pid, title in chapters():
        exercises = layout.exercises(dir_name)
        count = (f"\\ref {exercises_page_id(dir_name)} \"{len(exercises)} exercises\"" if exercises
                 else "no exercises yet")
        rows.append(f"| \\subpage {pid} | {count} |")
    table = "| Chapter | Exercises |\n|---|---|\n" + "\n".join(rows) + "\n\nAlso: the \\subpage glossary of the words the book uses, and the \\subpage api of the library the chapters build."
    text = pathlib.Path(template).read_text().replace("@CHAPTER_TABLE@", table)
    pathlib.Path(output).write_text(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("filter")
    f.add_argument("--output-dir", required=True)
    f.add_argument("source")
    r = sub.add_parser("run")
    r.add_argument("--program", required=True)
    r.add_argument("--output", required=True)
    r.add_argument("--figures", required=True)
    r.add_argument("--launch", default="")
    e = sub.add_parser("exercises")
    e.add_argument("header")
    m = sub.add_parser("mainpage")
    m.add_argument("--template", required=True)
    m.add_argument("--output", required=True)
    m.add_argument("--api", required=True)
    args = parser.parse_args()
    if args.command == "filter":
        weave(pathlib.Path(args.source), pathlib.Path(args.output_dir))
    elif args.command == "exercises":
        exercises_page(pathlib.Path(args.header))
    elif args.command == "run":
        run(args.program, args.output, args.figures, args.launch)
    else:
        mainpage(args.template, args.output)
        api_page(args.api)


if __name__ == "__main__":
    main()
