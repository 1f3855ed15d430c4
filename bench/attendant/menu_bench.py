#!/usr/bin/env python3
"""Callers in the attendant's menus through a whole node (issue 15's benchmark).

For each N of --callers: N sipp callers (100 calls/s) into a menu whose prompt
is longer than the run, all listening at once for --seconds; the sip lab of
tests/integration/sip (tandem-dataplane on veths, tandem-control, MariaDB).
tandem-control is restarted per N, so its engine's figures are the run's own.
Reported per N, over the window when all N hear the prompt:

  - CPU per caller-second: the attendant's media thread (its own clock,
    `tandemctl stats`), all of tandem-control, and tandem-dataplane (/proc);
  - the engine's send lateness p99 (how late frames left their deadline);
  - on the caller's wire (tshark on its veth): every prompt packet counted
    (sequence gaps), |arrival gap - 20 ms| p50 / p99 / max.

  flock /tmp/tandem-integration.lock python3 bench/attendant/menu_bench.py --callers 100,200,500 --seconds 20
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "attendant"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "sip"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402
import lab  # noqa: E402
import menu_caller  # noqa: E402
from caller_side import Capture, rtp_fields, tone_wav  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    """User + system CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def wire_pacing(packets):
    """Per caller (relay port), its prompt's packets: gaps in sequence, and |arrival gap - 20 ms| over all."""
    by_port = {}
    for t, sport, _dport, payload in packets:
        if sport % 2 == 0:
            f = rtp_fields(payload)
            by_port.setdefault(sport, []).append((t, f["seq"]))
    missing, errors = 0, []
    for stream in by_port.values():
        for (t0, s0), (t1, s1) in zip(stream, stream[1:]):
            step = (s1 - s0) & 0xffff
            missing += step - 1
            if step == 1:
                errors.append(abs((t1 - t0) * 1000 - 20))
    errors.sort()
    pick = (lambda q: errors[min(int(len(errors) * q), len(errors) - 1)]) if errors else (lambda q: float("nan"))
    return len(by_port), sum(len(s) for s in by_port.values()), missing, pick(0.5), pick(0.99), pick(1.0)


def run(the_lab, n, seconds):
    the_lab.stop_control()
    the_lab.start_control()
    cap = Capture(the_lab, f"bench-{n}")
    path = menu_caller.write(os.path.join(the_lab.workdir, f"bench-{n}.xml"), [("pause", seconds * 1000), ("bye",)])
    caller = the_lab.provider_call(path[:-4], lab.DID_MENU, calls=n, timeout=seconds + 120,
                                   extra=["-r", "100", "-l", str(n)])
    lab.wait_for(lambda: the_lab.stats()["attendant"]["callers"] >= n, 60, interval=0.2, what=f"{n} callers in the menu")
    time.sleep(1)
    control, dataplane = the_lab.server.proc.pid, the_lab.dp.proc.pid
    start = time.monotonic()
    before = (the_lab.stats()["attendant"]["thread_cpu_ms"], cpu_s(control), cpu_s(dataplane))
    # The window ends before the first caller hangs up.
    time.sleep(max(seconds - n / 100 - 3, 2))
    after = (the_lab.stats()["attendant"]["thread_cpu_ms"], cpu_s(control), cpu_s(dataplane))
    window = time.monotonic() - start
    stats = the_lab.stats()["attendant"]
    rc = caller.wait(timeout=seconds + 120)
    callers, packets, missing, p50, p99, worst = wire_pacing(cap.stop())
    per = 1 / (n * window)  # per caller-second
    return {
        "callers": n, "sipp": rc, "heard": callers, "packets": packets, "missing": missing,
        "thread_us": (after[0] - before[0]) * 1000 * per, "control_us": (after[1] - before[1]) * 1e6 * per,
        "dataplane_us": (after[2] - before[2]) * 1e6 * per, "lateness_p99_ms": stats["pacing_p99_us"] / 1000,
        "p50": p50, "p99": p99, "max": worst,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--callers", default="100,200,500", help="comma-separated caller counts")
    ap.add_argument("--seconds", type=int, default=20, help="how long each caller listens")
    ap.add_argument("--rtprio", type=int, default=0, help="tandem-control --attendant-rtprio")
    args = ap.parse_args()
    counts = [int(c) for c in args.callers.split(",")]
    lab.require_environment()
    control_args = ["--attendant-rtprio", str(args.rtprio)] if args.rtprio else []
    the_lab = lab.Lab(control_args=control_args)
    try:
        prompt = tone_wav(os.path.join(the_lab.workdir, "long.wav"), 440, args.seconds + 10)
        db = ["--db", f"unix:{the_lab.db.socket}", "--db-user", "root"]
        menu_id = the_lab.db.sql("SELECT id FROM menus WHERE name='main'", db="tandem_rules")[0][0]
        the_lab.ctl("rules", "menus", "edit", *db, menu_id, f"prompt={prompt}", "timeout_s=60")
        the_lab.request("rules-reload")
        print("| callers | every prompt heard | packets on the wire, missing | attendant thread, us per caller-second "
              "| tandem-control | tandem-dataplane | engine send lateness p99 | wire \\|gap - 20 ms\\| p50 / p99 / max |")
        print("|---|---|---|---|---|---|---|---|")
        for n in counts:
            r = run(the_lab, n, args.seconds)
            print(f"| {r['callers']} | {r['heard']} of {r['callers']} (sipp rc {r['sipp']}) | {r['packets']:,}, "
                  f"{r['missing']} | {r['thread_us']:.0f} | {r['control_us']:.0f} | {r['dataplane_us']:.0f} | "
                  f"{r['lateness_p99_ms']:.2f} ms | {r['p50']:.2f} / {r['p99']:.2f} / {r['max']:.2f} ms |", flush=True)
            the_lab.wait_idle(timeout=60)
    finally:
        harness.CLEANUP.run()


if __name__ == "__main__":
    main()
