"""An application writing through the pair's virtual IP, run in the client
namespace: one INSERT per period, each by a new `mariadb` client (a fresh
connection: what a server does after the VIP moved), numbered by `seq` within its `run`.

  python3 db_writer.py CLIENT_ARGS_JSON PERIOD_S RUN

Runs until SIGTERM, then prints one JSON line: acked (seqs whose INSERT the
client reported done), failed (seqs refused before the server took them: no
connection, read-only...), unknown (seqs whose client timed out or lost the
connection mid-query: they may or may not be in), and events
[[wall time, seq, "ok"|"failed"|"unknown", message]].
"""

import json
import signal
import subprocess
import sys
import time

CLIENT_TIMEOUT_S = 3
# Errors that say the statement never reached a writer: the insert is not in.
REFUSED = ("ERROR 2002", "ERROR 2003", "ERROR 2005", "ERROR 1290", "ERROR 1045", "ERROR 1130")

stop = False


def on_term(_signum, _frame):
    global stop
    stop = True


def main():
    client, period, run = json.loads(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    signal.signal(signal.SIGTERM, on_term)
    acked, failed, unknown, events = [], [], [], []
    seq = 0
    next_at = time.monotonic()
    while not stop:
        seq += 1
        t = time.time()
        try:
            r = subprocess.run(client + ["-e", f"INSERT INTO dcw.t (run, seq, server_id) VALUES ({run}, {seq}, @@server_id)"],
                               capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S)
            if r.returncode == 0:
                outcome, msg = "ok", ""
            else:
                # The client echoes the failed statement first.
                msg = next((line for line in r.stderr.splitlines() if line.startswith("ERROR")), r.stderr.strip())
                outcome = "failed" if msg.startswith(REFUSED) else "unknown"
        except subprocess.TimeoutExpired:
            outcome, msg = "unknown", "client timed out"
        {"ok": acked, "failed": failed, "unknown": unknown}[outcome].append(seq)
        events.append([t, seq, outcome, msg[:200]])
        next_at += period
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at = max(next_at, time.monotonic())
    print(json.dumps({"acked": acked, "failed": failed, "unknown": unknown, "events": events}), flush=True)


if __name__ == "__main__":
    main()
