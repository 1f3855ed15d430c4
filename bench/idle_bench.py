#!/usr/bin/env python3
"""The dataplane's CPU and relay latency at a partial load, per idle policy
(issue 16, "CPU at partial load"; dataplane/idle_policy.h).

For each load (calls: two legs of 50 packets/s each, so 2,000 calls are 200k
pps) and each --idle-max-delay-us (0 = the policy of before: sleep only after
256 empty polls), in interleaved rounds: a fresh tandem-dataplane
(--poll-mode adaptive, one worker) on a net_memif port, the calls' sessions
created over its control socket (both legs on that port), then
tandem-bench-rtp-load sending their RTP and timing each relayed packet. Over a
window that starts --warmup seconds after the media flows: the dataplane's CPU (whole process and the worker
thread, /proc), its polls and sleeps (health reply), and the generator's
received rate, loss and latency percentiles. Prints a JSON summary with the
median per (load, policy) and the ratios to the first policy.

Latency is from the generator's send to its receive: the relay's, plus up to
--rx-poll-us of the generator's own polling (it sleeps at most that long).
Both run SCHED_FIFO 1 (chrt), as a node's dataplane would on cores of its own,
so that the compilers of a shared machine do not set the latency tail (--no-fifo
to see them). Both EALs run --no-huge; no namespaces (no exception path). Run as root
(DPDK), under flock /tmp/tandem-integration.lock on a shared machine.

  flock /tmp/tandem-integration.lock python3 bench/idle_bench.py --calls 2000,5000 --rounds 3
  python3 bench/idle_bench.py --quick
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import dpctl  # noqa: E402

BUILD = os.environ.get("TANDEM_BUILD_DIR", os.path.join(ROOT, "build"))
DATAPLANE = os.path.join(BUILD, "dataplane", "tandem-dataplane")
RTP_LOAD = os.path.join(BUILD, "bench", "tandem-bench-rtp-load")
DP_IP = "198.18.70.1"
REMOTE_A = "198.18.70.2"
REMOTE_B = "198.18.70.3"
DP_MAC = "02:00:00:00:d0:01"
LOAD_MAC = "02:00:00:00:1a:01"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"idle-bench: {msg}", file=sys.stderr, flush=True)


def cpu_seconds(path):
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def worker_stat(pid):
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().strip() == "rte-worker-1":
                return f"/proc/{pid}/task/{tid}/stat"
    raise RuntimeError("no rte-worker-1 thread in the dataplane")


def health(socket_path):
    with dpctl.Client(socket_path) as c:
        return c.health()


def wait_for_socket(proc, path, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tandem-dataplane exited with {proc.returncode}")
        if os.path.exists(path):
            try:
                health(path)
                return
            except OSError:
                pass
        time.sleep(0.2)
    raise RuntimeError("the dataplane's control socket did not answer")


def create_sessions(socket_path, calls):
    requests = [(dpctl.CREATE_SESSION,
                 dpctl.create_body(dpctl.leg_spec(0, remote=(REMOTE_A, 10000 + 2 * i)),
                                   dpctl.leg_spec(0, remote=(REMOTE_B, 10000 + 2 * i))))
                for i in range(calls)]
    with dpctl.Client(socket_path, timeout=30) as c:
        errors = [r.error() for r in c.pipeline(requests, timeout=30) if r.is_error]
    if errors:
        raise RuntimeError(f"{len(errors)} sessions not created: {errors[0]}")


def wait_for_media(dp, load, sock, calls, timeout=60):
    """Until the worker relays at least half of the calls' rate: the
    generator's start (EAL, ARP) takes seconds of its own on a loaded machine."""
    deadline = time.monotonic() + timeout
    last = health(sock)["workers"][0]["relayed"]
    while time.monotonic() < deadline:
        time.sleep(0.5)
        for p, name in ((dp, "tandem-dataplane"), (load, "tandem-bench-rtp-load")):
            if p.poll() is not None:
                raise RuntimeError(f"{name} exited with {p.returncode}")
        now = health(sock)["workers"][0]["relayed"]
        if now - last >= 0.5 * 100 * calls * 0.5:
            return
        last = now
    raise RuntimeError("no media relayed within a minute of the generator's start")


def one_run(work, calls, delay_us, a, tag):
    memif = os.path.join(work, f"{tag}.memif")
    sock = os.path.join(work, f"{tag}.sock")
    prefixes = [f"tidle{os.getpid()}{tag}dp", f"tidle{os.getpid()}{tag}ld"]
    dp_argv = [DATAPLANE, "-l", "0-1", "--no-huge", "-m", "512", "--no-pci", "--file-prefix", prefixes[0],
               "--log-level=error", "--vdev",
               f"net_memif0,role=server,socket={memif},socket-abstract=no,rsize=11,mac={DP_MAC}", "--",
               "--port", f"0:{DP_IP}/24", "--exception-path", "none", "--poll-mode", "adaptive",
               "--idle-max-delay-us", str(delay_us), "--max-sessions", str(max(1024, 2 * calls)),
               "--relay-ports", "30000-59999", "--control-socket", sock, "--log-level", "warn"]
    out = os.path.join(work, f"{tag}.json")
    load_argv = [RTP_LOAD, "-l", "0", "--no-huge", "-m", "256", "--no-pci", "--file-prefix", prefixes[1],
                 "--log-level=error", "--vdev",
                 f"net_memif0,role=client,socket={memif},socket-abstract=no,rsize=11,mac={LOAD_MAC}", "--",
                 "--socket", sock, "--dataplane-mac", DP_MAC, "--seconds", str(a.warmup + a.window + 3),
                 "--rx-poll-us", str(a.rx_poll_us), "--json", out]
    if a.fifo:
        dp_argv, load_argv = ["chrt", "-f", "1"] + dp_argv, ["chrt", "-f", "1"] + load_argv
    dp_log = open(os.path.join(work, f"{tag}.dp.log"), "w")
    dp = subprocess.Popen(dp_argv, stdout=dp_log, stderr=subprocess.STDOUT)
    load = None
    try:
        wait_for_socket(dp, sock)
        create_sessions(sock, calls)
        load_log = open(os.path.join(work, f"{tag}.load.log"), "w")
        load = subprocess.Popen(load_argv, stdout=load_log, stderr=subprocess.STDOUT)
        wait_for_media(dp, load, sock, calls)
        time.sleep(a.warmup)
        wstat = worker_stat(dp.pid)
        h0, t0 = health(sock), time.monotonic()
        p0, w0 = cpu_seconds(f"/proc/{dp.pid}/stat"), cpu_seconds(wstat)
        time.sleep(a.window)
        h1, t1 = health(sock), time.monotonic()
        p1, w1 = cpu_seconds(f"/proc/{dp.pid}/stat"), cpu_seconds(wstat)
        window_end = time.time()
        if load.wait(timeout=a.warmup + a.window + 60) != 0:
            raise RuntimeError(f"tandem-bench-rtp-load exited with {load.returncode}; see {load_log.name}")
        with open(out) as f:
            summary = json.load(f)
        if window_end > summary["end_unix_s"]:
            raise RuntimeError("the generator stopped sending before the window ended: raise its --seconds")
    finally:
        for p in (load, dp):
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        dp_log.close()
        for prefix in prefixes:
            shutil.rmtree(os.path.join("/var/run/dpdk", prefix), ignore_errors=True)
    dt = t1 - t0
    w_0, w_1 = h0["workers"][0], h1["workers"][0]
    relayed = w_1["relayed"] - w_0["relayed"]
    polls = (w_1["busy_polls"] + w_1["idle_polls"]) - (w_0["busy_polls"] + w_0["idle_polls"])
    lat = summary["latency_us"]
    return {"calls": calls, "max_delay_us": delay_us,
            "dataplane_cpu_pct": 100 * (p1 - p0) / dt, "worker_cpu_pct": 100 * (w1 - w0) / dt,
            "relayed_pps": relayed / dt, "polls_per_s": polls / dt,
            "sleeps_per_s": (w_1["sleeps"] - w_0["sleeps"]) / dt,
            "packets_per_poll": relayed / polls if polls else 0,
            "ns_cpu_per_packet": 1e9 * (p1 - p0) / relayed if relayed else 0,
            "loss_pct": summary["loss_pct"], "pps_received": summary["pps_received"],
            "latency_p50_us": lat["p50"], "latency_p99_us": lat["p99"], "latency_p999_us": lat["p999"],
            "latency_max_us": lat["max"], "generator_cpu_pct": summary["cpu_pct"],
            # Where the generator's loss went, if the relay dropped it (the whole run, not the window).
            "dataplane_drops": {k: v for k, v in h1["drops"].items() if v},
            "rx_missed": sum(port["rx_missed"] for port in h1["ports"])}


def tail_logs(work, tag):
    out = {}
    for name in (f"{tag}.dp.log", f"{tag}.load.log"):
        try:
            with open(os.path.join(work, name)) as f:
                out[name] = f.read()[-2000:]
        except OSError:
            pass
    return out


def summarise(runs, delays):
    out = []
    keys = ["dataplane_cpu_pct", "worker_cpu_pct", "relayed_pps", "polls_per_s", "sleeps_per_s", "packets_per_poll",
            "ns_cpu_per_packet", "loss_pct", "latency_p50_us", "latency_p99_us", "latency_p999_us"]
    for calls in sorted({r["calls"] for r in runs}):
        base = None
        for d in delays:
            rs = [r for r in runs if r["calls"] == calls and r["max_delay_us"] == d and "error" not in r]
            if not rs:
                continue
            med = {k: statistics.median(r[k] for r in rs) for k in keys}
            row = {"calls": calls, "max_delay_us": d, "rounds": len(rs), "median": med}
            if base is None:
                base = med
            else:
                row["cpu_ratio_to_first"] = med["dataplane_cpu_pct"] / base["dataplane_cpu_pct"]
                row["p99_ratio_to_first"] = med["latency_p99_us"] / max(base["latency_p99_us"], 1)
            out.append(row)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", default="2000", help="loads, comma-separated (calls of 100 packets/s)")
    ap.add_argument("--delays", default="0,200", help="--idle-max-delay-us values, the first the baseline")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=2, help="seconds from the first relayed media to the window")
    ap.add_argument("--window", type=float, default=8)
    ap.add_argument("--rx-poll-us", type=int, default=20)
    ap.add_argument("--no-fifo", dest="fifo", action="store_false",
                    help="run both at the normal priority: the neighbours' CPU load then shows in the latency tail")
    ap.add_argument("--quick", action="store_true", help="2,000 calls, 1 round, a 4 s window")
    ap.add_argument("--json", help="also write the summary here")
    a = ap.parse_args()
    if a.quick:
        a.calls, a.rounds, a.window = "2000", 1, 4
    for b in (DATAPLANE, RTP_LOAD):
        if not os.access(b, os.X_OK):
            sys.exit(f"idle-bench: {b} is not built")
    delays = [int(d) for d in a.delays.split(",")]
    runs = []
    failed = False
    work = tempfile.mkdtemp(prefix="tandem-idle-bench-")
    try:
        for rnd in range(a.rounds):
            for calls in [int(c) for c in a.calls.split(",")]:
                # Alternate the order so that neither policy always runs after the other.
                for d in (delays if rnd % 2 == 0 else list(reversed(delays))):
                    tag = f"r{rnd}c{calls}d{d}"
                    try:
                        r = one_run(work, calls, d, a, tag)
                    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                        # One bad run (a generator that never got going) is reported, not fatal.
                        r = {"calls": calls, "max_delay_us": d, "error": str(e), "logs": tail_logs(work, tag)}
                        failed = True
                    r["round"] = rnd
                    log(json.dumps(r))
                    runs.append(r)
    finally:
        if not os.environ.get("TANDEM_BENCH_KEEP") and not failed:
            shutil.rmtree(work, ignore_errors=True)
    result = {"runs": runs, "summary": summarise(runs, delays)}
    # One line, as every benchmark's: tools/bench reads the last line of the file.
    text = json.dumps(result)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    if failed:
        sys.exit(f"idle-bench: some runs failed (their logs are in the summary and {work})")


if __name__ == "__main__":
    main()
