#!/usr/bin/env python3
"""The weave step: turns annotated chapter sources into pages of the Doxygen book.

Doxygen runs it as an input filter on every chapters/NN_name/main.cpp:

    weave.py filter --output-dir DIR chapters/NN_name/main.cpp

A chapter source is prose in `///` lines and code between them. The filter prints a
Doxygen page in file order: prose as page text, each run of code as a listing, and after
the code of each `/// ## Section`, what the chapter program printed under its
`## Section` heading when the book was built (DIR/chNN_name.txt). It ends the page with
the chapter's exercises and previous/next links.

Two more commands are run by the build before Doxygen:

    weave.py run --program PATH --output FILE --figures DIR   run a chapter program
    weave.py mainpage --template IN --output OUT               the main page with the contents

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


def slug(text):
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


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

    lines = source.read_text().splitlines()
    title_line = next((i for i, l in enumerate(lines) if l.startswith("/// # ")), None)
    if title_line is None:
        fail(f"{source}: the first prose line must be the title, '/// # Chapter NN: ...'")
    title = lines[title_line][len("/// # "):].strip()

    out = [f"\\page {pid} {title}", "", "\\tableofcontents", ""]
    code = []
    section = None
    used = set()

    def flush_code():
        while code and not code[0].strip():
            code.pop(0)
        while code and not code[-1].strip():
            code.pop()
        if code:
            if out and out[-1]:
                out.append("")
            out.extend(["\\code{.cpp}", *code, "\\endcode", ""])
        code.clear()

    def flush_output():
        if section is not None and output.get(section):
            used.add(section)
            out.extend(["<div class=\"program-output\">", "", "What the program printed:",
                        "\\code{.unparsed}", output[section], "\\endcode", "</div>", ""])

    for line in lines[title_line + 1:]:
        stripped = line.strip()
        if stripped.startswith("///"):
            flush_code()
            prose = stripped[3:]
            prose = prose[1:] if prose.startswith(" ") else prose
            heading = re.match(r"^## (.+)$", prose)
            if heading:
                flush_output()
                section = heading.group(1).strip()
                out.append(f"\\section {pid}_{slug(section)} {section}")
            else:
                out.append(prose)
        else:
            code.append(line)
    flush_code()
    flush_output()

    missing = [s for s in output if s and s not in used and output[s]]
    if missing:
        fail(f"{source}: the program printed sections with no '/// ## ' heading of that name: {missing}")

    exercises = layout.exercises(dir_name)
    if exercises:
        header = exercises[0].header
        out.append(f"\\section {pid}_exercises Exercises")
        out.append("")
        out.append(f"The task statements are in `{header}`; each answer goes in its own file. "
                   f"Check your answers with `make check CH={number}`: it prints, for each exercise, "
                   "whether it is not started, failing (with what is wrong and where the hint is) "
                   f"or passing. The reference answers are in `solutions/{dir_name}/`.")
        out.append("")
        out.append(f"| Exercise | Function | Your answer goes in `exercises/{dir_name}/` |")
        out.append("|---|---|---|")
        for ex in exercises:
            answer = pathlib.PurePath(ex.answer_file).name
            out.append(f"| {ex.number} {ex.title} | {ex.function}() | `{answer}` |")
        out.append("")

    all_chapters = chapters()
    ids = [c[1] for c in all_chapters]
    if pid in ids:
        i = ids.index(pid)
        nav = []
        if i > 0:
            nav.append(f"Previous: \\ref {all_chapters[i - 1][1]} \"{all_chapters[i - 1][2]}\"")
        nav.append("\\ref index \"Contents\"")
        if i + 1 < len(all_chapters):
            nav.append(f"Next: \\ref {all_chapters[i + 1][1]} \"{all_chapters[i + 1][2]}\"")
        out.append("<hr>")
        out.append(" &nbsp;|&nbsp; ".join(nav))

    # One C comment; every line carries its own " * ", which is what Doxygen strips, so a
    # code or output line that starts with '*' keeps it.
    text = "\n".join(out)
    if "*/" in text:
        fail(f"{source}: '*/' would end the page's comment early; avoid it in chapter code")
    print("/**")
    for line in text.split("\n"):
        print(" * " + line if line else " *")
    print(" */")


def run(program, output, figures):
    """Runs a chapter program without colour and saves what it printed."""
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.run([program, "--figures", figures], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        fail(f"{program} exited with status {proc.returncode}")
    pathlib.Path(output).parent.mkdir(parents=True, exist_ok=True)
    # The figure paths are the build machine's; the book shows the figures themselves.
    text = re.sub(r"(Figure written to ).*/", r"\1", proc.stdout)
    pathlib.Path(output).write_text(text)


def mainpage(template, output):
    rows = []
    for dir_name, pid, title in chapters():
        exercises = layout.exercises(dir_name)
        count = f"{len(exercises)} exercises" if exercises else "no exercises yet"
        rows.append(f"| \\subpage {pid} | {count} |")
    table = "| Chapter | Exercises |\n|---|---|\n" + "\n".join(rows)
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
    m = sub.add_parser("mainpage")
    m.add_argument("--template", required=True)
    m.add_argument("--output", required=True)
    args = parser.parse_args()
    if args.command == "filter":
        weave(pathlib.Path(args.source), pathlib.Path(args.output_dir))
    elif args.command == "run":
        run(args.program, args.output, args.figures)
    else:
        mainpage(args.template, args.output)


if __name__ == "__main__":
    main()
