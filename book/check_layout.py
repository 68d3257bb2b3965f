#!/usr/bin/env python3
"""Checks that the built book reads at 1280, 800 and 400 px: every formula typesets, no page
scrolls sideways.

    python3 book/check_layout.py [--html build/book/html] [--screenshots DIR]

Every chapter page, every exercises page, the main page, the glossary and the API page are
opened in headless Chromium (Debian's `chromium`), each in frames 1280, 800 and 400 px wide,
after MathJax has typeset the formulas. A page fails when the page itself is wider than the
frame (the reader would scroll the whole page sideways); a wide formula, code listing,
table or figure may scroll inside its own box, which is how the book shows them on a narrow
screen. For a failing page the check names the elements that stick out. A page also fails
when MathJax shows an error in place of a formula (a TeX error such as "Double subscripts",
or a processing error), with the error and the formula's source.

With --screenshots DIR it also writes a PNG of the top of each chapter page at each width,
for a person to look at. Exits 1 when a page overflows or a formula fails, 2 when Chromium is missing.
Only Python's standard library is used.
"""
import argparse
import html
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
WIDTHS = [1280, 800, 400]

# Runs in the harness page: waits for every frame and its MathJax, then measures.
MEASURE = r"""
function overflowOf(win) {
  const doc = win.document, content = doc.getElementById('doc-content');
  // The visible width: the frame, less a vertical scrollbar of the page's scrolling box.
  const width = content ? Math.min(win.innerWidth, content.getBoundingClientRect().left + content.clientWidth)
                        : win.innerWidth;
  const boxes = [doc.documentElement, doc.body, doc.getElementById('doc-content')].filter(Boolean);
  const wide = boxes.filter(b => b.scrollWidth > b.clientWidth + 1);
  if (!wide.length) return null;
  // What sticks out: elements past the right edge that no scrolling box of their own holds.
  const culprits = [];
  for (const el of doc.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right <= width + 1 || r.width === 0) continue;
    let held = false;
    for (let p = el.parentElement; p && p !== doc.body; p = p.parentElement) {
      const o = win.getComputedStyle(p).overflowX;
      if ((o === 'auto' || o === 'scroll' || o === 'hidden') && p.id !== 'doc-content') { held = true; break; }
    }
    if (held) continue;
    // Name the innermost element that sticks out, or a scrolling box that is itself too wide.
    const scrolls = ['auto', 'scroll', 'hidden'].includes(win.getComputedStyle(el).overflowX);
    if (!scrolls && Array.from(el.children).some(c => c.getBoundingClientRect().right > width + 1)) continue;
    culprits.push(el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '') +
                  ' (' + Math.round(r.width) + ' px): ' + (el.textContent || el.getAttribute('src') || '').trim().slice(0, 60));
    if (culprits.length >= 3) break;
  }
  return {page: Math.max(...wide.map(b => b.scrollWidth)), frame: width, culprits: culprits};
}
// What MathJax could not typeset: a TeX error shows as a red box (merror) in place of the
// formula, a processing error as "[Math Processing Error]"; either way the reader sees no formula.
function mathErrors(win) {
  const doc = win.document, found = [];
  for (const el of doc.querySelectorAll('.merror, .MathJax_Error, merror')) {
    let source = '';
    for (let m = el; m && !source; m = m.parentElement) {
      const next = m.nextElementSibling;
      if (next && next.tagName === 'SCRIPT' && /math\/tex/.test(next.type)) source = next.textContent;
    }
    found.push((el.textContent || '').trim().slice(0, 80) + (source ? ' in: ' + source.trim().slice(0, 100) : ''));
  }
  for (const el of doc.querySelectorAll('.MathJax_Error, span')) {
    if (el.children.length === 0 && /Math Processing Error/.test(el.textContent || '')) found.push('Math Processing Error');
  }
  return found;
}
function typeset(win, done) {
  if (win.MathJax && win.MathJax.Hub) win.MathJax.Hub.Queue(done); else done();
}
window.addEventListener('load', () => {
  const frames = Array.from(document.querySelectorAll('iframe'));
  let left = frames.length;
  const results = {};
  frames.forEach(f => typeset(f.contentWindow, () => {
    setTimeout(() => {
      results[f.dataset.page + ' at ' + f.dataset.width + ' px'] = {overflow: overflowOf(f.contentWindow),
                                                                   math: mathErrors(f.contentWindow)};
      if (--left === 0) document.getElementById('result').textContent = JSON.stringify(results);
    }, 200);
  }));
});
"""


def pages(root):
    names = sorted(p.name for p in root.glob("ch[0-9][0-9]_*.html")) + \
        sorted(p.name for p in root.glob("ex[0-9][0-9]_*.html"))
    names = [n for n in names if re.fullmatch(r"(ch|ex)\d\d_[a-z_]+\.html", n)]
    return names + [n for n in ("index.html", "glossary.html", "api.html") if (root / n).exists()]


def measure(chromium, root, names):
    frames = "\n".join(
        f'<iframe data-page="{html.escape(n)}" data-width="{w}" src="{html.escape(n)}" '
        f'style="width:{w}px;height:900px;border:0"></iframe>'
        for n in names for w in WIDTHS)
    harness = root / "_layout_check.html"
    harness.write_text(f"<!DOCTYPE html><html><body><pre id=\"result\"></pre>{frames}"
                       f"<script>{MEASURE}</script></body></html>")
    try:
        proc = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
             "--virtual-time-budget=60000", "--window-size=1400,1000", "--dump-dom", harness.as_uri()],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=600)
    finally:
        harness.unlink()
    m = re.search(r'<pre id="result">(.*?)</pre>', proc.stdout, re.S)
    if not m or not m.group(1).strip():
        return None
    return json.loads(html.unescape(m.group(1)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", default=str(ROOT / "build" / "book" / "html"))
    parser.add_argument("--screenshots", metavar="DIR")
    args = parser.parse_args()
    root = pathlib.Path(args.html).resolve()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("check_layout: chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    names = pages(root)
    if not names:
        print(f"check_layout: no pages in {root}; build the book first (make book)", file=sys.stderr)
        return 2
    results = {}
    for i in range(0, len(names), 6):  # a few pages per Chromium run keeps its memory small
        got = measure(chromium, root, names[i:i + 6])
        if got is None:
            print(f"check_layout: Chromium measured nothing for {names[i:i + 6]}", file=sys.stderr)
            return 2
        results.update(got)
    if args.screenshots:
        out = pathlib.Path(args.screenshots)
        out.mkdir(parents=True, exist_ok=True)
        for name in names:
            for w in WIDTHS:
                with tempfile.TemporaryDirectory() as profile:
                    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                    f"--user-data-dir={profile}", "--virtual-time-budget=10000",
                                    f"--window-size={w},1000", f"--screenshot={out / name[:-5]}_{w}.png",
                                    (root / name).as_uri()],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    status = 0
    math = {k.rsplit(" at ", 1)[0]: v["math"] for k, v in results.items() if v["math"]}
    if math:
        print(f"check_layout: MathJax could not typeset {sum(map(len, math.values()))} formulas "
              f"on {len(math)} pages (the reader sees an error box instead):")
        for page, errors in sorted(math.items()):
            for e in errors:
                print(f"  {page}: {e}")
        status = 1
    bad = {k: v["overflow"] for k, v in results.items() if v["overflow"]}
    if bad:
        print(f"check_layout: {len(bad)} of {len(results)} page views scroll sideways:")
        for view, r in sorted(bad.items()):
            print(f"  {view}: the page is {r['page']} px wide in a {r['frame']} px frame")
            for c in r["culprits"]:
                print(f"      sticks out: {c}")
        status = 1
    if status == 0:
        print(f"check_layout: {len(names)} pages at {', '.join(map(str, WIDTHS))} px: every formula "
              "typeset, none scrolls sideways")
    return status


if __name__ == "__main__":
    sys.exit(main())
