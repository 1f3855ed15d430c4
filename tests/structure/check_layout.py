#!/usr/bin/env python3
"""The tree's dependency picture and file sizes, as docs/ARCHITECTURE.md draws
them: which top-level folder may include which (our own headers, "dir/file.h";
system and third-party headers are not ours to police), and no source file
outside tests/ longer than a reader can hold (MAX_LINES).

Usage: check_layout.py SOURCE_ROOT. Prints every violation and exits 1, or
prints a one-line summary and exits 0.
"""
import os
import re
import sys

# folder -> the folders of ours its sources may include (itself always).
ALLOWED = {
    "dataplane_protocol": set(),
    "metrics": set(),
    "config_check": set(),
    "dataplane": {"dataplane_protocol", "metrics", "config_check"},
    "db": set(),
    "disk": set(),
    "rules": {"db", "disk"},
    "cdr": {"db", "disk"},
    # the prompt file's reader (rules/prompt_wav.h), nothing else of the rules
    "attendant": {"rules"},
    "control": {"rules", "cdr", "db", "disk", "metrics", "config_check", "dataplane_protocol", "attendant"},
    "portal": {"cdr", "db", "metrics", "config_check"},
    # tools: anything but the dataplane's internals.
    "tools": {"rules", "cdr", "db", "disk", "metrics", "config_check", "control", "dataplane_protocol", "portal", "attendant"},
}
UNCHECKED = {"bench", "tests"}  # may reach anything, to measure or test it
SOURCE_EXT = (".h", ".cc", ".c", ".hpp", ".cpp", ".py")
MAX_LINES = 700
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def sources(root):
    for top in sorted(os.listdir(root)):
        path = os.path.join(root, top)
        if top.startswith(".") or top.startswith("build") or not os.path.isdir(path):
            continue
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__pycache__"]
            for f in sorted(filenames):
                if f.endswith(SOURCE_EXT):
                    yield top, os.path.join(dirpath, f)


def check(root):
    problems, files, includes = [], 0, 0
    for top, path in sources(root):
        rel = os.path.relpath(path, root)
        files += 1
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
        if top not in UNCHECKED and len(lines) > MAX_LINES:
            problems.append(f"{rel}: {len(lines)} lines (more than {MAX_LINES}): split it by concern")
        if top not in ALLOWED:
            continue
        for n, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if not m or "/" not in m.group(1):
                continue
            includes += 1
            target = m.group(1).split("/")[0]
            if target != top and target not in ALLOWED[top] and os.path.isdir(os.path.join(root, target)):
                problems.append(f"{rel}:{n}: {top}/ includes {m.group(1)} ({top}/ may include "
                                f"{', '.join(sorted(ALLOWED[top] | {top}))})")
    return problems, files, includes


def main(argv):
    root = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    problems, files, includes = check(os.path.abspath(root))
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} layout problems")
        return 1
    print(f"layout ok: {files} source files, {includes} includes of ours checked")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
