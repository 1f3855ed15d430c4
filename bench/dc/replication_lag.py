#!/usr/bin/env python3
"""Replication lag between the two DCs under call load (issue 14's benchmark),
on the whole system of tests/integration/dc/system.py.

Providers place RATE calls/s into both DCs (half each) for SECONDS; every call
writes its CDR in its DC, and the rows replicate to the other. Meanwhile a
heartbeat (pt-heartbeat's method) runs in each DC: every 100 ms its writer sets
its row of tandem_lag.beat to NOW(6) through the DC's virtual IP, and the other
DC's writer is read: lag = NOW(6) - the other DC's latest beat seen here (both
DBs on this machine's clock). Prints p50 / p99 / max per direction and the CDRs
of both DCs compared.

  python3 bench/dc/replication_lag.py [--rate 200] [--seconds 60] [--hold-ms 0] [--json FILE]

As root, on a quiet machine: the figure is the DBs' and the whole system's, on
2 cores.
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "dc"))

import system  # noqa: E402
from system import harness  # noqa: E402


def heartbeat(S, stop, samples):
    """Every 100 ms per DC: beat here, read the other DC's beat; samples[(from, to)] lags in s."""
    while not stop.is_set():
        for dc in S.dcs:
            active = dc.db.active()
            if active is None:
                continue
            rows = active.sql(f"REPLACE INTO tandem_lag.beat VALUES ({dc.n}, NOW(6)); "
                              f"SELECT TIMESTAMPDIFF(MICROSECOND, ts, NOW(6)) FROM tandem_lag.beat "
                              f"WHERE dc = {3 - dc.n}", check=False, timeout=5)
            if rows:
                samples.setdefault((3 - dc.n, dc.n), []).append(int(rows[0][0]) / 1e6)
        stop.wait(0.1)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=200, help="calls/s into both DCs together")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--hold-ms", type=int, default=0, help="media time per call (0: SIP and CDRs only)")
    p.add_argument("--json", help="write the figures here too")
    a = p.parse_args()
    system.require_environment()
    harness.CLEANUP.install()
    try:
        S = system.System().start()
        first = S.dc(1).db.active()
        first.sql("CREATE DATABASE tandem_lag; CREATE TABLE tandem_lag.beat (dc INT PRIMARY KEY, ts DATETIME(6) NOT NULL)")
        S.wait_replicated(60)
        samples, stop = {}, threading.Event()
        beat = threading.Thread(target=heartbeat, args=(S, stop, samples), daemon=True)
        beat.start()
        time.sleep(3)
        idle = {k: list(v) for k, v in samples.items()}
        for v in samples.values():
            v.clear()
        t0 = time.monotonic()
        load = S.providers(a.rate, a.seconds, hold_ms=a.hold_ms).wait(a.seconds + 300)
        took = time.monotonic() - t0
        stop.set()
        beat.join()
        figures = load.figures()
        cdrs = S.compare_cdrs(load.answered(), timeout=300)
        out = {"rate": a.rate, "seconds": a.seconds, "hold_ms": a.hold_ms, "load_took_s": round(took, 1),
               "calls": figures, "cdrs": {k: v for k, v in cdrs.items() if k != "missing"}, "lag_s": {}}
        for (src, dst), v in sorted(samples.items()):
            key = f"dc{src}->dc{dst}"
            out["lag_s"][key] = {"samples": len(v), "p50": round(statistics.median(v), 4),
                                 "p99": round(pct(v, 99), 4), "max": round(max(v), 4),
                                 "idle_p50": round(statistics.median(idle.get((src, dst), [0])), 4)}
        print(json.dumps(out, indent=1))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(out, f, indent=1)
    finally:
        harness.CLEANUP.run()


if __name__ == "__main__":
    main()
