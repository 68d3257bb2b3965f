#!/usr/bin/env python3
"""Checks the built book (build/book/html) as a reader meets it: no broken link, no raw markup.

    python3 book/check_book.py [--html build/book/html]

1. Links: every local href and src of every page points at a file that exists, and every
   #anchor at an id (or name) in that file. A reader who follows a link never lands on
   nothing.
2. Raw markup: the text a reader sees (not code, not program output, not formulas) holds no
   Doxygen command (\\ref, \\f$, \\f[, \\anchor, ...), no `backtick` and no *asterisk*
   emphasis left unrendered.

Exits 1 listing every problem (page, and the text or link at fault). CI runs it after `make`.
Only Python's standard library is used.
"""
import argparse
import html.parser
import pathlib
import re
import sys
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Doxygen commands a reader should never see, and Markdown that did not render.
RAW = [
    (re.compile(r"\\(ref|f\$|f\[|f\]|anchor|page|section|subpage|code|endcode|image|param|return)\b"),
     "a Doxygen command"),
    (re.compile(r"`"), "a backtick (Markdown code that did not render)"),
    (re.compile(r"(?<![\w*\\])\*(?=[A-Za-z])[^*\n]{1,60}(?<=[\w.,;:!?)])\*(?![\w*])"),
     "*emphasis* that did not render"),
]

# Text that is code or typeset, where backslashes, stars and backticks belong.
SKIP_TAGS = {"pre", "code", "script", "style", "svg", "textarea"}
SKIP_CLASSES = {"fragment", "program-output", "line", "MathJax", "MathJax_Display", "formulaDsp"}
FORMULA = re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]", re.S)


class Page(html.parser.HTMLParser):
    """One page: its ids, its links, and the text a reader sees."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.text = set(), [], []
        self.stack = []  # (tag, skipped)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        for key in ("href", "src"):
            if a.get(key):
                self.links.append(a[key])
        classes = set((a.get("class") or "").split())
        skipped = (tag in SKIP_TAGS or bool(classes & SKIP_CLASSES)
                   or bool(self.stack and self.stack[-1][1]))
        if tag not in ("br", "img", "hr", "input", "meta", "link", "area"):
            self.stack.append((tag, skipped))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if not (self.stack and self.stack[-1][1]):
            self.text.append(data)


def read(path):
    page = Page()
    page.feed(path.read_text(errors="replace"))
    return page


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", default=str(ROOT / "build" / "book" / "html"))
    args = parser.parse_args()
    root = pathlib.Path(args.html)
    files = sorted(root.glob("*.html"))
    if not files:
        print(f"check_book: no pages in {root}; build the book first (make book)", file=sys.stderr)
        return 2
    pages = {f.name: read(f) for f in files}
    problems = []
    links = 0
    for name, page in pages.items():
        for link in page.links:
            url = urllib.parse.urlsplit(link)
            if url.scheme or link.startswith(("//", "mailto:", "javascript:")):
                continue
            links += 1
            target = name if not url.path else urllib.parse.unquote(url.path)
            path = (root / name).parent / target
            if not path.exists():
                problems.append(f"{name}: link to {link}: {target} does not exist")
                continue
            if url.fragment and path.suffix == ".html":
                ids = pages[path.name].ids if path.name in pages and path.parent == root else read(path).ids
                if url.fragment not in ids:
                    problems.append(f"{name}: link to {link}: no anchor '{url.fragment}' in {target}")
        text = FORMULA.sub(" ", "".join(page.text))
        # A chapter's page tells the reader to check its own chapter's exercises.
        chapter = re.match(r"ch(\d\d)_", name)
        raw = (root / name).read_text(errors="replace")  # the command is in code, not prose
        for m in re.finditer(r"make check CH=(\w+)", raw):
            if chapter and m.group(1) != chapter.group(1):
                problems.append(f"{name}: says `make check CH={m.group(1)}`, not CH={chapter.group(1)}")
        for pattern, what in RAW:
            for m in pattern.finditer(text):
                context = " ".join(text[max(0, m.start() - 40):m.end() + 40].split())
                problems.append(f"{name}: {what}: ...{context}...")
    if problems:
        print(f"check_book: {len(problems)} problem(s) in {len(files)} pages:")
        for p in problems:
            print(f"  {p}")
        return 1
    print(f"check_book: {len(files)} pages, {links} links, every link lands and no raw markup shows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
