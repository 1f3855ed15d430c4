"""What every module uses: the benchmark's files, log(), BenchError, wait_until(), first_line()."""

import subprocess
import sys
import time
from pathlib import Path

SIP_DIR = Path(__file__).resolve().parent.parent  # bench/sip
SCENARIOS = SIP_DIR / "scenarios"
KAMAILIO_DIR = SIP_DIR / "kamailio"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


def wait_until(pred, timeout, what, proc=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"{proc.name} exited ({proc.returncode}) while waiting for {what}:\n"
                             f"{proc.tail()}")
        if pred():
            return
        time.sleep(0.1)
    raise BenchError(f"timed out after {timeout} s waiting for {what}"
                     + (f":\n{proc.tail()}" if proc else ""))


def first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        text = (out.stdout or out.stderr).strip().splitlines()
        return next((l.strip() for l in text if l.strip()), "?")
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
