#!/usr/bin/env python3
"""check_layout.py finds what it is there to find: a temporary tree with an
include against the picture, a file too long, and the allowed cases."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import check_layout  # noqa: E402


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main():
    with tempfile.TemporaryDirectory() as root:
        for top in ("control", "rules", "db", "dataplane", "dataplane_protocol", "tools", "tests", "cdr"):
            os.makedirs(os.path.join(root, top))
        write(root, "rules/store.h", '#include "db/connection.h"\n#include "control/x.h"\n#include <vector>\n')
        write(root, "tools/ctl.cc", '#include "dataplane_protocol/protocol.h"\n#include "dataplane/leg.h"\n')
        write(root, "dataplane_protocol/codec.cc", '#include "dataplane_protocol/codec.h"\n#include "dataplane/leg.h"\n')
        write(root, "cdr/long.cc", "//\n" * (check_layout.MAX_LINES + 1))
        write(root, "cdr/fits.cc", "//\n" * check_layout.MAX_LINES)
        write(root, "tests/long_test.cc", '#include "dataplane/leg.h"\n' + "//\n" * 2000)
        problems, files, _ = check_layout.check(root)
    expected = [
        "cdr/long.cc: 701 lines",
        "dataplane_protocol/codec.cc:2: dataplane_protocol/ includes dataplane/leg.h",
        "rules/store.h:2: rules/ includes control/x.h",
        "tools/ctl.cc:2: tools/ includes dataplane/leg.h",
    ]
    found = sorted(p.split(" (")[0] for p in problems)
    if found != expected or files != 6:
        print("expected:", expected, "\nfound:", found, f"\nfiles: {files}")
        return 1
    print("check_layout finds what it should")
    return 0


if __name__ == "__main__":
    sys.exit(main())
