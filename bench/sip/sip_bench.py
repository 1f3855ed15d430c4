#!/usr/bin/env python3
"""SIP benchmark, the command: python3 bench/sip/sip_bench.py --help. What it measures and how is
in sipbench/__init__.py and README.md; the code is the package sipbench/ beside this file (its
modules are listed in README.md)."""

import sys

from sipbench.cli import main

if __name__ == "__main__":
    sys.exit(main())
