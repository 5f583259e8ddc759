#!/usr/bin/env python3
"""The tree's own style checks, the ones a compiler and cppcheck do not make.

Usage: tools/lint_tree.py [--root DIR] [--skip PATH]...
       tools/lint_tree.py --self-test DIR

Prints one line per finding, "path:line: reason", and exits 1 if there is any.

1. Function length. A function body may span at most 70 lines, counted from
   the line of the opening "{" of a top-level function definition to the line
   of its closing "}", both included. Braces inside comments, string and
   character literals and preprocessor lines do not count. A top-level "{"
   opens a function body when the text before it (since the previous top-level
   ";" or "}") ends with ")" and has no "=" outside parentheses, so struct,
   enum and array initialisers are not functions, and Criterion's
   Test(suite, name, ...) { ... } is.

2. Internal headers. A header named *_internal.h or *_impl.h belongs to its
   module: the top-level folder it lives in (core/, ledger/, ...), or for a
   header under tests/, the folder below tests/ (tests/sim/). It may be
   included only by
     - files of that module (any depth below the folder), and
     - that module's own white-box tests: tests/unit/test_<prefix>*.c and .h
       (test kits) and tests/fuzz/fuzz_<prefix>_*.c, where <prefix> is the
       module's test prefix from PREFIXES below (the prefix CMakeLists.txt uses
       to pick the library a unit test links).
   node/ has no test prefix: node/node_internal.h is the wiring of the running
   node, and nothing outside node/ includes it, its tests included; they go
   through node/node.h and the headers of the parts it wires.
   Include paths are read from the root ("ledger/ledger_internal.h"); a quoted
   name without a folder, or one starting with "./" or "../", is read from the
   including file's folder. Headers outside the folders in DIRS are not ours
   and are not checked.

3. Calls go one way between the files of node/. A file calls another when its
   code names a function the other defines (not static). The files of node/
   and these calls must form no circle: node.c wires the parts, the parts
   below it never call back up (docs/architecture.md). A circle is reported
   once, on its first file in name order.

The scanned files are the *.c and *.h files below the folders in DIRS, except
the fixtures in tests/lint/. --skip leaves a file out (to look at the rest of
the tree while someone else owns that file); `make lint` never passes it.

--self-test DIR runs the checks on each folder DIR/<case>/ as a root and
compares the findings with DIR/<case>/expected.txt, so `make lint` proves that
the checks can fail.
"""

import os
import re
import sys

FUNCTION_LINES_MAX = 70
DIRS = ("core", "storage", "ledger", "consensus", "rpc", "p2p", "verify", "node", "cli", "tools", "tests")
FIXTURES = "tests/lint"
# Module -> the prefix of its unit tests and fuzz targets. A module missing
# here has no white-box tests outside its folder.
PREFIXES = {
    "core": "core",
    "storage": "storage",
    "ledger": "ledger",
    "consensus": "cons",
    "rpc": "rpc",
    "p2p": "p2p",
    "verify": "verify",
}
INTERNAL_HEADER = re.compile(r"(^|/)[A-Za-z0-9_]+_(internal|impl)\.h$")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TEST_MACROS = ("Test", "ParameterizedTest", "Theory")
# Folders whose files must call each other without a circle.
ONE_WAY_DIRS = ("node",)


def scan(text):
    """Returns (code, directives): code is text with comments, string and
    character literals and preprocessor lines blanked to spaces (newlines
    kept, so offsets keep their line numbers); directives lists
    (line, directive text without comments) for each preprocessor line."""
    out = []
    directives = []
    i, n, line = 0, len(text), 1
    at_line_start = True
    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "*":
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            chunk = text[i:end]
            out.append(re.sub(r"[^\n]", " ", chunk))
            line += chunk.count("\n")
            i = end
            continue
        if c == "/" and nxt == "/":
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
            continue
        if c == "#" and at_line_start:
            start_line = line
            j, parts = i, []
            while j < n and text[j] != "\n":
                if text.startswith("/*", j):
                    end = text.find("*/", j + 2)
                    end = n if end < 0 else end + 2
                    line += text[j:end].count("\n")
                    out.append(re.sub(r"[^\n]", " ", text[j:end]))
                    parts.append(" ")
                    j = end
                    continue
                if text.startswith("//", j):
                    end = text.find("\n", j)
                    end = n if end < 0 else end
                    out.append(" " * (end - j))
                    j = end
                    continue
                if text[j] == "\\" and j + 1 < n and text[j + 1] == "\n":
                    out.append(" \n")
                    line += 1
                    j += 2
                    continue
                parts.append(text[j])
                out.append(" ")
                j += 1
            directives.append((start_line, "".join(parts)))
            i = j
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            chunk = text[i:j]
            out.append(re.sub(r"[^\n]", " ", chunk))
            line += chunk.count("\n")
            at_line_start = False
            i = j
            continue
        out.append(c)
        if c == "\n":
            line += 1
            at_line_start = True
        elif not c.isspace():
            at_line_start = False
        i += 1
    return "".join(out), directives


def function_name(header):
    """The name a finding shows for the function whose header (the text
    before its "{") is given, or None if the header is not a function's."""
    h = header.strip()
    if not h.endswith(")"):
        return None
    depth, first_open = 0, -1
    for k, ch in enumerate(h):
        if ch == "(":
            if depth == 0 and first_open < 0:
                first_open = k
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "=" and depth == 0:
            return None
    if first_open < 0:
        return None
    names = IDENT.findall(h[:first_open])
    if not names:
        # A function returning a function pointer: void (*name(args))(args).
        names = IDENT.findall(h[first_open:])[:1] or ["?"]
    name = names[-1]
    if name in TEST_MACROS:
        args = [a.strip() for a in h[first_open + 1 : -1].split(",")]
        name = "%s(%s)" % (name, ", ".join(args[:2]))
    return name


def top_level_blocks(code):
    """Each top-level "{ ... }" of the code, as (text before it since the
    previous top-level ";" or "}", line of "{", line of "}")."""
    blocks, depth, header, open_line, line = [], 0, [], 0, 1
    for ch in code:
        if ch == "\n":
            line += 1
        if depth == 0:
            if ch == ";" or ch == "}":
                header = []
            elif ch == "{":
                text, header = "".join(header), []
                open_line, depth = line, 1
            else:
                header.append(ch)
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                blocks.append((text, open_line, line))
    return blocks


def long_functions(path, code):
    findings = []
    for text, first, last in top_level_blocks(code):
        name = function_name(text)
        lines = last - first + 1
        if name is not None and lines > FUNCTION_LINES_MAX:
            findings.append((path, first, "function %s is %d lines long, more than %d"
                             % (name, lines, FUNCTION_LINES_MAX)))
    return findings


def defined_functions(code):
    """Names of the functions a file defines and does not make static."""
    names = []
    for text, _, _ in top_level_blocks(code):
        name = function_name(text)
        if name and "(" not in name and "static" not in IDENT.findall(text):
            names.append(name)
    return names


def call_circles(codes):
    """Findings for circles among the calls between the .c files of each
    folder in ONE_WAY_DIRS; codes maps a path to its scanned code."""
    findings = []
    for top in ONE_WAY_DIRS:
        files = sorted(p for p in codes if p.startswith(top + "/") and p.endswith(".c") and p.count("/") == 1)
        owner = {}
        for p in files:
            for name in defined_functions(codes[p]):
                owner[name] = p
        calls = {p: sorted({owner[i] for i in IDENT.findall(codes[p]) if owner.get(i, p) != p}) for p in files}
        findings += circles_in(calls)
    return findings


def circles_in(calls):
    """One finding per file that starts a circle (depth-first, in name order)."""
    findings, state, reported = [], {}, set()

    def visit(p, path):
        state[p] = 1
        path.append(p)
        for q in calls[p]:
            if state.get(q) == 1:
                circle = path[path.index(q):] + [q]
                key = frozenset(circle)
                if key not in reported:
                    reported.add(key)
                    findings.append((min(circle), 1, "calls between files go round: " + " -> ".join(circle)))
            elif q not in state:
                visit(q, path)
        path.pop()
        state[p] = 2

    for p in sorted(calls):
        if p not in state:
            visit(p, [])
    return findings


def module_of(header_path):
    parts = header_path.split("/")
    if parts[0] == "tests" and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0] if len(parts) > 1 else ""


def may_include(includer, header):
    module = module_of(header)
    if module and includer.startswith(module + "/"):
        return True
    prefix = PREFIXES.get(module)
    if prefix is None:
        return False
    base = includer.rsplit("/", 1)[-1]
    if includer.startswith("tests/unit/"):
        return base.startswith("test_" + prefix) and base.endswith((".c", ".h"))
    if includer.startswith("tests/fuzz/"):
        return base.startswith("fuzz_" + prefix + "_") and base.endswith(".c")
    return False


def internal_includes(path, directives):
    findings = []
    for line, d in directives:
        m = INCLUDE.match(d)
        if m is None:
            continue
        header = m.group(2)
        if m.group(1) == '"' and ("/" not in header or header.startswith(("./", "../"))):
            header = os.path.normpath(os.path.join(os.path.dirname(path), header)).replace(os.sep, "/")
        if header.split("/")[0] not in DIRS:
            continue  # not one of ours
        if INTERNAL_HEADER.search(header) and not may_include(path, header):
            module = module_of(header)
            findings.append((path, line, "includes %s, internal to %s/" % (header, module)))
    return findings


def tree_files(root, skip):
    files = []
    for top in DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
            if rel_dir == FIXTURES or rel_dir.startswith(FIXTURES + "/"):
                dirnames[:] = []
                continue
            dirnames.sort()
            for f in sorted(filenames):
                rel = rel_dir + "/" + f
                if f.endswith((".c", ".h")) and rel not in skip:
                    files.append(rel)
    return files


def check(root, skip=()):
    findings, codes = [], {}
    for rel in tree_files(root, set(skip)):
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            code, directives = scan(f.read())
        codes[rel] = code
        findings += long_functions(rel, code)
        findings += internal_includes(rel, directives)
    findings += call_circles(codes)
    return ["%s:%d: %s" % f for f in findings]


def self_test(cases_dir):
    failed = 0
    cases = sorted(d for d in os.listdir(cases_dir) if os.path.isdir(os.path.join(cases_dir, d)))
    for case in cases:
        root = os.path.join(cases_dir, case)
        with open(os.path.join(root, "expected.txt"), encoding="utf-8") as f:
            expected = [l for l in f.read().splitlines() if l]
        got = check(root)
        missed = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        if missed or extra or len(got) != len(expected):
            failed += 1
            for f in missed:
                print("lint self-test %s: not found: %s" % (case, f))
            for f in extra:
                print("lint self-test %s: unexpected: %s" % (case, f))
    if not cases:
        print("lint self-test: no cases in %s" % cases_dir)
        return 1
    print("lint self-test: %d cases, %d failed" % (len(cases), failed))
    return 1 if failed else 0


def main(argv):
    root, skip, i = ".", [], 0
    while i < len(argv):
        if argv[i] == "--self-test" and i + 1 < len(argv):
            return self_test(argv[i + 1])
        if argv[i] == "--root" and i + 1 < len(argv):
            root = argv[i + 1]
        elif argv[i] == "--skip" and i + 1 < len(argv):
            skip.append(argv[i + 1])
        else:
            print(__doc__.split("\n\n")[1], file=sys.stderr)
            return 2
        i += 2
    findings = check(root, skip)
    for f in findings:
        print(f)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
