#!/usr/bin/python3
"""test_readme_links.py - every link in the repository's Markdown files resolves inside it.

Usage: test_readme_links.py SOURCE_DIR

Checks each Markdown file under SOURCE_DIR (build trees, hidden folders, bench/results/ and
node_modules/ left out: they are generated or someone else's):
- an inline link or image `[text](target)` or a reference `[name]: target` names a file or
  folder that exists, relative to the Markdown file;
- its `#anchor`, if any, is a heading of the file it names, slugged the way GitHub slugs
  headings (lower case, punctuation dropped, spaces to hyphens, -1, -2 ... for repeats);
- no link leaves the repository: no URL scheme (http:, https:, file: ...), no absolute path,
  no relative path that climbs above SOURCE_DIR; the same for a path written as code
  (`../somewhere`), since a reader follows those too (the seed map under ../shared once was).
Prints one line per fault and exits 1 if there is any, 0 otherwise.
"""
import os
import re
import sys

SKIP_DIRS = {"node_modules", "__pycache__"}
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
CODE_PATH = re.compile(r"`(\.\.?/[^`\s]*)`")
FENCE = re.compile(r"^\s*(```|~~~)")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def markdown_files(root):
    for top, dirs, files in os.walk(root):
        rel = os.path.relpath(top, root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS
                         and not (rel == "." and d.startswith("build"))
                         and not (rel == "bench" and d == "results"))
        for f in sorted(files):
            if f.endswith(".md"):
                yield os.path.join(top, f)


def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)  # a link in a heading keeps its text
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        seen, out, fenced = {}, set(), False
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if FENCE.match(line):
                    fenced = not fenced
                    continue
                m = None if fenced else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
                if m:
                    base = slug(m.group(1))
                    n = seen.get(base, 0)
                    seen[base] = n + 1
                    out.add(base if n == 0 else "%s-%d" % (base, n))
        cache[path] = out
    return cache[path]


def links(path):
    """(line number, target, is_code_path) for every link outside fenced code."""
    fenced = False
    with open(path, encoding="utf-8") as fh:
        for no, line in enumerate(fh, 1):
            if FENCE.match(line):
                fenced = not fenced
                continue
            if fenced:
                continue
            for m in LINK.finditer(line):
                yield no, m.group(1), False
            m = REF.match(line)
            if m:
                yield no, m.group(1), False
            for m in CODE_PATH.finditer(line):
                yield no, m.group(1), True


def check(root):
    root = os.path.realpath(root)
    faults = []
    for md in markdown_files(root):
        where = os.path.relpath(md, root)
        for no, target, code in links(md):
            say = lambda why: faults.append("%s:%d: %s: %s" % (where, no, target, why))
            if SCHEME.match(target) and not code:
                say("points outside the repository (a URL)")
                continue
            file_part, _, anchor = target.partition("#")
            if file_part.startswith("/"):
                say("points outside the repository (an absolute path)")
                continue
            dest = os.path.realpath(os.path.join(os.path.dirname(md), file_part)) \
                if file_part else md
            if os.path.commonpath([root, dest]) != root:
                say("points outside the repository")
                continue
            if code:
                continue  # a path written as code may name a file made at run time
            if not os.path.exists(dest):
                say("no such file")
            elif anchor and (not dest.endswith(".md") or anchor not in anchors(dest)):
                say("no heading #%s in %s" % (anchor, os.path.relpath(dest, root)))
    return faults


def main():
    if len(sys.argv) != 2:
        print("usage: test_readme_links.py SOURCE_DIR", file=sys.stderr)
        return 2
    faults = check(sys.argv[1])
    for f in faults:
        print(f)
    print("%d dangling or outside links" % len(faults))
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
