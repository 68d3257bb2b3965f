"""The repository's conventions, read in one place by the book's weave step and the check.

- A chapter is chapters/NN_name/ whose main.cpp starts its prose with "/// # Chapter NN: Title".
- Its exercises are declared in exercises/NN_name/exercises.hpp, one per "\\brief Exercise N.M: title"
  line followed by the task (with a "Hint:" line) and the declaration; the answer goes in
  exercises/NN_name/N_M_*.cpp.

Only Python's standard library is used.
"""
import dataclasses
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent


@dataclasses.dataclass
class ExerciseSpec:
    number: str       # "1.2"
    title: str        # "stable softmax"
    header: str       # "exercises/01_single_head_attention/exercises.hpp"
    line: int         # line of "Exercise 1.2:" in the header
    hint_line: int    # line of the task's "Hint:", or the title line
    function: str     # "attn::ex01::stable_softmax"
    declaration: str  # "Vector stable_softmax(const Vector& logits)", as exercises.hpp declares it
    answer_file: str  # "exercises/01_single_head_attention/1_2_stable_softmax.cpp", whether or not
                      # it exists (named like the solution's file)
    # Every function the exercise declares, the first one above included: an exercise may ask
    # for two (allocate and release); each as (qualified name, declaration).
    functions: list = dataclasses.field(default_factory=list)
    # The library code that computes what the exercise asks, as [(file, [name, ...])], from
    # the task's "// answered in the library by: chapters/NN_name/file.cpp name ..." lines
    # (names as a `\show` line gives them: `softmax`, `Type::member`, a struct). The book
    # folds that code wherever a page shows it. None when the task declares nothing; [] when
    # it declares "nothing (why)".
    answered_by: list = None


def chapter_dirs():
    """The directory names of every chapter with a main.cpp, in order."""
    return [d.name for d in sorted((ROOT / "chapters").glob("[0-9][0-9]_*")) if (d / "main.cpp").exists()]


def chapter_heading(dir_name):
    """"Chapter 01: Single-head attention", from the first "/// # " line of its main.cpp."""
    main = ROOT / "chapters" / dir_name / "main.cpp"
    if main.exists():
        for line in main.read_text().splitlines():
            if line.startswith("/// # "):
                return line[len("/// # "):].strip()
    return dir_name


def chapter_title(dir_name):
    """"Single-head attention": the heading without "Chapter NN: "."""
    return re.sub(r"^Chapter \d+:\s*", "", chapter_heading(dir_name))


def exercises(dir_name):
    """The exercises of a chapter, in the order of its exercises.hpp ([] when it has none)."""
    header = ROOT / "exercises" / dir_name / "exercises.hpp"
    if not header.exists():
        return []
    lines = header.read_text().splitlines()
    namespace = next((m.group(1) for l in lines for m in [re.match(r"namespace ([\w:]+) \{", l)] if m), "")
    found = []
    for i, line in enumerate(lines):
        m = re.search(r"\\brief Exercise (\d+\.\d+):\s*(.*?)\.?\s*$", line)
        if not m:
            continue
        hint_line, function, declaration, functions, answered_by = i + 1, "", "", [], None
        j = i + 1
        while j < len(lines):
            if "\\brief Exercise" in lines[j] or lines[j].startswith("}  // namespace"):
                break
            answers = re.match(r"^// answered in the library by:\s*(.*?)\s*$", lines[j])
            if answers:
                answered_by = answered_by or []
                words = answers.group(1).split()
                if words and words[0] != "nothing":
                    answered_by.append((words[0], words[1:]))
            if "Hint:" in lines[j] and hint_line == i + 1:
                hint_line = j + 1
            # The first declaration after the task, then any other at the start of a line
            # before the next task (members of a struct are indented).
            d = re.match(r"^[\w:<>, ]+?\b(\w+)\s*\(" if not functions else r"^\w[\w:<>, ]*?\b(\w+)\s*\(",
                         lines[j])
            if d and not lines[j].startswith("///"):
                end = next(k for k in range(j, len(lines)) if lines[k].rstrip().endswith(";"))
                functions.append((f"{namespace}::{d.group(1)}",
                                  " ".join(l.strip() for l in lines[j:end + 1]).rstrip(";")))
                j = end
            j += 1
        if functions:
            function, declaration = functions[0][0].rsplit("::", 1)[1], functions[0][1]
        stem = m.group(1).replace(".", "_") + "_*.cpp"
        named = sorted((ROOT / "solutions" / dir_name).glob(stem)) or sorted(
            (ROOT / "exercises" / dir_name).glob(stem))
        found.append(ExerciseSpec(
            number=m.group(1), title=m.group(2), header=header.relative_to(ROOT).as_posix(), line=i + 1,
            hint_line=hint_line, function=f"{namespace}::{function}", declaration=declaration,
            answer_file=f"exercises/{dir_name}/{named[0].name}" if named else "", functions=functions,
            answered_by=answered_by))
    return found
