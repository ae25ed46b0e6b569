#!/usr/bin/env python3
"""The public API's reach: each function declared in include/initra/M.h and which other modules use it.

`python3 scripts/exports.py [ROOT] [--list]` prints one summary line per header (declared, used only
inside M) and a total; --list also names each function used only inside its module. Users are the .c
and .h files of src/X/ (module X), include/initra/X.h (X), tools/ and bench/ (both built against the
public headers only); the unit tests, fuzz
targets and tests/helpers count as part of every module (they may test internals). Comments are
removed before names are matched, so a mention in a comment is no use. A function nothing uses at all
is listed too (as "unused")."""
import os
import re
import sys

ROOT = next((a for a in sys.argv[1:] if not a.startswith("--")), os.path.join(os.path.dirname(__file__), ".."))
LIST = "--list" in sys.argv
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.S)
# A declaration or static inline definition: a return type, then the name and '(' (not "(*name)", a
# function pointer type, and not inside #define).
DECL = re.compile(r"(?:^|[\s*])(initra_[a-z0-9_]+)\s*\(", re.M)


def strip(text):
    return COMMENT.sub(lambda m: " " if m.group(0)[0] == "/" else '""', text)


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return strip(f.read())


def declared(text):
    """Names declared at top level of a header: statements outside any brace, not #define, not typedef."""
    names, depth, stmt = [], 0, []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for ch in line + "\n":
            if ch == "{":
                if depth == 0:
                    s = "".join(stmt)
                    if not re.match(r"\s*(typedef|struct|enum|union)\b", s):
                        names += DECL.findall(s)[:1]  # static inline: the first name is the function's
                    stmt = []
                depth += 1
            elif ch == "}":
                depth -= 1
            elif depth == 0:
                if ch == ";":
                    s = "".join(stmt)
                    if not re.match(r"\s*typedef\b", s) and "(*" not in s:
                        names += DECL.findall(s)[:1]
                    stmt = []
                else:
                    stmt.append(ch)
    return names


def users():
    """(module, text) for every source file that may use the API."""
    out = []
    for top, mod_of in (("src", lambda p: p.split(os.sep)[1]), ("tools", lambda p: "tools"), ("bench", lambda p: "bench"),
                        ("tests", lambda p: "*"), ("fuzz", lambda p: "*")):
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if f.endswith((".c", ".h")):
                    p = os.path.relpath(os.path.join(d, f), ROOT)
                    out.append((mod_of(p), p, read(os.path.join(ROOT, p))))
    return out


def main():
    inc = os.path.join(ROOT, "include", "initra")
    headers = sorted(h for h in os.listdir(inc) if h.endswith(".h"))
    texts = {h[:-2]: read(os.path.join(inc, h)) for h in headers}
    files = users() + [(m, "include/initra/%s.h" % m, t) for m, t in texts.items()]
    total = inside = 0
    for m, t in texts.items():
        names = sorted(set(declared(t)))
        own = []
        for n in names:
            word = re.compile(r"\b%s\b" % re.escape(n))
            used = {fm for fm, p, ft in files if fm not in ("*", m) and word.search(ft)}
            anywhere = any(word.search(ft) for fm, p, ft in files if p != "include/initra/%s.h" % m)
            if not used:
                own.append(n + ("" if anywhere else " (unused)"))
        total += len(names)
        inside += len(own)
        print("%-10s %3d declared, %3d used only inside %s" % (m + ".h", len(names), len(own), m))
        if LIST:
            for n in own:
                print("    " + n)
    print("total      %3d declared, %3d used only inside their own module" % (total, inside))


main()
