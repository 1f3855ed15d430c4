#!/usr/bin/env python3
"""Measurements of the running tandem-dataplane, each printed as one JSON line.

  throughput  relay rate against dpdk-testpmd 5tswap on the same vdevs:
              net_pcap ports replaying RTP captures forever (infinite_rx; with no
              tx_* argument what a port sends is counted and dropped), so the
              generator is in process and costs both sides the same. The
              captures are tandem-rtp-pcap's, with the sessions' order shuffled
              (each session's packets stay in order). Rates are taken from
              counters sampled twice, and also divided by the CPU time the
              forwarding thread (EAL's rte-worker-1) had in between: on a shared
              machine that takes out what the neighbours took from it.
  memory      session_memory_bytes of the status for given --max-sessions.
  setup       session setups/s and deletes/s over the control socket
              (tandem-bench-session-loader, pipelined).

Every process started here is in its own session and is stopped (SIGTERM,
then SIGKILL) on the way out, whatever happens; SIGTERM and SIGINT to this
script go the same way. Cores: EAL -l 0-1 puts the main lcore (testpmd's
console, our housekeeping and control socket) on core 0 and the one
forwarding lcore / worker on core 1; clients are pinned with taskset.
EAL runs with --no-huge unless --huge is given (then hugepages must be
mounted and reserved, e.g. by tools/prepare).
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("TANDEM_BUILD_DIR", os.path.join(ROOT, "build"))
DATAPLANE = os.path.join(BUILD, "dataplane", "tandem-dataplane")
TANDEMCTL = os.path.join(BUILD, "tools", "tandemctl", "tandemctl")
RTP_PCAP = os.path.join(BUILD, "tools", "rtp_pcap", "tandem-rtp-pcap")
LOADER = os.path.join(BUILD, "bench", "tandem-bench-session-loader")
TESTPMD = shutil.which("dpdk-testpmd") or "/usr/bin/dpdk-testpmd"

RELAY_PORTS = (10000, 65535)  # 27,768 legs per port address
REMOTE_BASE = 2000
CLIENT_CORE = "0"             # tandemctl and the loader during a relay run


def log(msg):
    print(f"[dataplane_bench] {msg}", file=sys.stderr, flush=True)


class Fail(Exception):
    pass


class Procs:
    """The processes we started, stopped in reverse order on exit."""

    def __init__(self):
        self.procs = []

    def start(self, argv, **kw):
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def stop(self, p, timeout=15):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        if p in self.procs:
            self.procs.remove(p)
        return p.returncode

    def stop_all(self):
        for p in reversed(list(self.procs)):
            self.stop(p)


PROCS = Procs()


def port_ip(p):
    return f"198.18.{p + 1}.1"


def remote_ip(p):
    return f"198.18.{p + 1}.2"


HUGE = False  # --huge: hugepages instead of --no-huge


PREFIXES = set()  # EAL file prefixes used, their runtime directories removed on exit


def eal_args(prefix, vdevs, memory_mb):
    PREFIXES.add(prefix)
    args = ["-l", "0-1", "-m", str(memory_mb), "--no-pci", "--file-prefix", prefix, "--log-level=error"]
    if not HUGE:
        args.append("--no-huge")
    for v in vdevs:
        args += ["--vdev", v]
    return args


def cleanup_prefix(prefix):
    shutil.rmtree(os.path.join("/var/run/dpdk", prefix), ignore_errors=True)


class Dataplane:
    """tandem-dataplane on given vdevs with its own socket and file prefix."""

    def __init__(self, work, name, vdevs, ports, max_sessions, poll_mode, memory_mb, mbufs=0, extra=()):
        self.socket = os.path.join(work, f"{name}.sock")
        self.prefix = f"tbench{os.getpid()}{name}"
        self.log_path = os.path.join(work, f"{name}.log")
        argv = [DATAPLANE] + eal_args(self.prefix, vdevs, memory_mb) + ["--"]
        for p in range(ports):
            argv += ["--port", f"{p}:{port_ip(p)}/24"]
        argv += ["--exception-path", "none", "--poll-mode", poll_mode, "--max-sessions", str(max_sessions),
                 "--relay-ports", f"{RELAY_PORTS[0]}-{RELAY_PORTS[1]}", "--control-socket", self.socket,
                 "--log-level", os.environ.get("TBENCH_DP_LOG", "warn")]
        if mbufs:
            argv += ["--mbufs", str(mbufs)]
        argv += list(extra)
        self.argv = argv
        self.log = open(self.log_path, "w")
        self.proc = PROCS.start(argv, stdout=self.log, stderr=subprocess.STDOUT)

    def status(self, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise Fail(f"tandem-dataplane exited with {self.proc.returncode}: {self.tail()}")
            r = subprocess.run(["taskset", "-c", CLIENT_CORE, TANDEMCTL, "--socket", self.socket, "--json",
                                "dataplane", "status"], capture_output=True, text=True)
            if r.returncode == 0:
                return json.loads(r.stdout)
            if time.monotonic() > deadline:
                raise Fail(f"tandemctl status: {r.stderr.strip()}")
            time.sleep(0.2)

    def tail(self):
        self.log.flush()
        with open(self.log_path) as f:
            return " | ".join(f.read().strip().splitlines()[-5:])

    def stop(self):
        rc = PROCS.stop(self.proc, timeout=30)
        self.log.close()
        cleanup_prefix(self.prefix)
        if rc not in (0, -signal.SIGTERM):
            raise Fail(f"tandem-dataplane ended with {rc}: {self.tail()}")


def run_loader(socket, sessions, pairs, window, delete, core):
    argv = ["taskset", "-c", core, LOADER, "--socket", socket, "--sessions", str(sessions), "--pairs", str(pairs),
            "--remote-base", str(REMOTE_BASE), "--window", str(window)]
    if delete:
        argv.append("--delete")
    p = PROCS.start(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=600)
    PROCS.stop(p)
    if p.returncode != 0:
        raise Fail(f"session loader failed ({p.returncode}): {err.strip()} {out.strip()}")
    return json.loads(out)


# ---------------------------------------------------------------- throughput

def shuffle_capture(path, block, seed):
    """Shuffles the frames of a capture within each block of `block` frames
    (the generator writes packet k of every session, then packet k+1): each
    session's packets keep their order, but the sessions come in a random
    order, as the calls of a busy relay do, instead of walking the session
    table in slot order (which the CPU's prefetchers would make cheap)."""
    with open(path, "rb") as f:
        data = f.read()
    header, frames, pos = data[:24], [], 24
    little = data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
    while pos < len(data):
        caplen = int.from_bytes(data[pos + 8:pos + 12], "little" if little else "big")
        frames.append((data[pos:pos + 16], data[pos + 16:pos + 16 + caplen]))
        pos += 16 + caplen
    rng = random.Random(seed)
    out = [header]
    for b in range(0, len(frames), block):
        chunk = frames[b:b + block]
        bodies = [fr[1] for fr in chunk]
        rng.shuffle(bodies)
        for (rec, _), body in zip(chunk, bodies):
            out.append(rec[:8] + len(body).to_bytes(4, "little" if little else "big") +
                       len(body).to_bytes(4, "little" if little else "big") + body)
    with open(path + ".tmp", "wb") as f:
        f.write(b"".join(out))
    os.replace(path + ".tmp", path)


def pcap_port_mac(index):
    """The MAC DPDK's net_pcap gives its index-th device of a process
    (02:70:63:61:70 is "pcap"): the dataplane takes as media only frames to
    its port's own MAC, so the captures are addressed to it."""
    return f"02:70:63:61:70:{index:02x}"


def make_captures(work, sessions, pairs, packets_per_session, ordered=False):
    """One capture per port: port 2k gets the a-side streams of pair k, 2k+1 the b-side."""
    per_pair = sessions // pairs
    paths = []
    for p in range(2 * pairs):
        order = "ordered" if ordered else "shuffled"
        path = os.path.join(work, f"rtp_{sessions}s_{pairs}p_{packets_per_session}pps_{order}_port{p}_pcapmac.pcap")
        if not os.path.exists(path):
            subprocess.run([RTP_PCAP, "generate", "--out", path + ".gen", "--sessions", str(per_pair),
                            "--packets-per-session", str(packets_per_session), "--src-ip", remote_ip(p),
                            "--dst-ip", port_ip(p), "--src-port-base", str(REMOTE_BASE),
                            "--dst-port-base", str(RELAY_PORTS[0]), "--port-step", "2",
                            "--src-mac", f"02:00:00:00:0{p}:02", "--dst-mac", pcap_port_mac(p),
                            "--ssrc-base", str(0x10000000 + p * 0x01000000)],
                           check=True, stdout=subprocess.DEVNULL)
            if not ordered:
                shuffle_capture(path + ".gen", per_pair, seed=20240917 + p)
            os.replace(path + ".gen", path)
        paths.append(path)
    return paths


def pcap_vdevs(paths):
    return [f"net_pcap{i},rx_pcap={p},infinite_rx=1" for i, p in enumerate(paths)]


NIC_BLOCK = re.compile(r"NIC statistics for port (\d+)")
TX_PACKETS = re.compile(r"TX-packets:\s+(\d+)")


def forwarding_cpu_ns(pid):
    """CPU time of the EAL worker thread on lcore 1 (testpmd's forwarding core,
    our worker): a busy poller on a core of its own would have all of it, so
    packets per CPU-second is the rate with the neighbours' share taken out."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().strip() != "rte-worker-1":
                    continue
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                return int(f.read().split()[0])
        except OSError:
            continue
    raise Fail(f"no rte-worker-1 thread in process {pid}")


def rates(ports, c0, c1, t0, t1, cpu0, cpu1):
    per_port = [{"port": q, "tx_pps": (c1[q] - c0[q]) / (t1 - t0)} for q in range(ports)]
    total = sum(c1[q] - c0[q] for q in range(ports))
    return {"ports": per_port, "tx_pps": total / (t1 - t0), "tx_pps_per_cpu_s": total / ((cpu1 - cpu0) / 1e9),
            "cpu_share": (cpu1 - cpu0) / 1e9 / (t1 - t0), "seconds": t1 - t0}


def run_testpmd(work, paths, mbufs, memory_mb, warmup, window):
    """5tswap on one forwarding core. testpmd prints its counters once a second
    (line-buffered through stdbuf); each round is timestamped and the
    forwarding thread's CPU time sampled as it arrives."""
    prefix = f"tbench{os.getpid()}tp"
    log_path = os.path.join(work, "testpmd.log")
    argv = ["stdbuf", "-oL", TESTPMD] + eal_args(prefix, pcap_vdevs(paths), memory_mb) + [
        "--", "--forward-mode=5tswap", "--stats-period", "1", f"--total-num-mbufs={mbufs}", "--burst=32"]
    ports = len(paths)
    lines = []
    rounds = []  # [time, cpu_ns, {port: tx_packets}]
    p = PROCS.start(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)

    def read():
        port = None
        for ln in p.stdout:
            lines.append(ln)
            m = NIC_BLOCK.search(ln)
            if m:
                port = int(m.group(1))
                if port == 0:
                    try:
                        rounds.append([time.monotonic(), forwarding_cpu_ns(p.pid), {}])
                    except Fail:
                        rounds.append([time.monotonic(), None, {}])
                continue
            m = TX_PACKETS.search(ln)
            if m and port is not None and rounds:
                rounds[-1][2][port] = int(m.group(1))
                port = None

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # The first round comes when forwarding starts; wait for warm-up + window more.
    need = warmup + window + 2
    deadline = time.monotonic() + need + 60
    while time.monotonic() < deadline and p.poll() is None and len(rounds) < need:
        time.sleep(0.1)
    running = p.poll() is None
    PROCS.stop(p)
    reader.join(5)
    cleanup_prefix(prefix)
    with open(log_path, "w") as f:
        f.writelines(lines)
    if not running or len(rounds) < need:
        raise Fail(f"dpdk-testpmd gave {len(rounds)} rounds of statistics of {need}; see {log_path}")
    r0, r1 = rounds[1 + warmup], rounds[1 + warmup + window]
    if r0[1] is None or r1[1] is None or len(r0[2]) != ports or len(r1[2]) != ports:
        raise Fail(f"incomplete testpmd statistics; see {log_path}")
    return rates(ports, r0[2], r1[2], r0[0], r1[0], r0[1], r1[1])


def run_relay(work, paths, sessions, pairs, mbufs, memory_mb, warmup, window, window_size, idle_timeout, poll_mode):
    ports = len(paths)
    dp = Dataplane(work, "relay", pcap_vdevs(paths), ports, sessions, poll_mode, memory_mb, mbufs,
                   ["--idle-timeout", str(idle_timeout)])
    try:
        dp.status(timeout=60)
        loaded = run_loader(dp.socket, sessions, pairs, window_size, False, CLIENT_CORE)
        time.sleep(warmup)

        def sample():
            t, cpu = time.monotonic(), forwarding_cpu_ns(dp.proc.pid)
            st = dp.status()
            return st, (t + time.monotonic()) / 2, (cpu + forwarding_cpu_ns(dp.proc.pid)) / 2

        s0, t0, cpu0 = sample()
        time.sleep(window)
        s1, t1, cpu1 = sample()
    finally:
        dp.stop()
    out = rates(ports, [p["tx_packets"] for p in s0["ports"]], [p["tx_packets"] for p in s1["ports"]],
                t0, t1, cpu0, cpu1)
    relayed = sum(w["relayed"] for w in s1["workers"]) - sum(w["relayed"] for w in s0["workers"])
    drops = {k: s1["drops"][k] - s0["drops"].get(k, 0) for k in s1["drops"] if s1["drops"][k] - s0["drops"].get(k, 0)}
    if drops or s1["sessions"] != sessions:
        # Every frame of the captures belongs to a session: a drop is a fault,
        # and the rate would not be the relay's.
        raise Fail(f"{s1['sessions']} of {sessions} sessions left ({s1['timeouts']} timed out), "
                   f"drops in the window: {drops}")
    out.update({"relayed_pps": relayed / (t1 - t0), "sessions": s1["sessions"],
                "session_memory_bytes": s1["session_memory_bytes"],
                "setups_per_s_under_load": loaded["create"]["per_second"]})
    return out


def cmd_throughput(a):
    if a.sessions % a.pairs:
        raise Fail("--sessions must be a multiple of --pairs")
    per_pair = a.sessions // a.pairs
    if per_pair > (RELAY_PORTS[1] - RELAY_PORTS[0] + 1) // 2:
        raise Fail(f"{per_pair} sessions per port pair exceed the {(RELAY_PORTS[1] - RELAY_PORTS[0] + 1) // 2} "
                   "legs one port address can hold: add --pairs")
    # Enough packets per port that the replay is not a handful of cache-hot
    # frames, few enough that the captures fit in the mbuf pool.
    pps = a.packets_per_session or max(2, 32000 // per_pair)
    paths = make_captures(a.work, a.sessions, a.pairs, pps, a.ordered)
    frames = per_pair * pps * 2 * a.pairs
    mbufs = frames + 16384 * a.pairs
    memory_mb = (mbufs * 2500 >> 20) + 256 if HUGE else max(2048, (mbufs * 2500 >> 20) + 1024)
    log(f"throughput: {a.sessions} sessions on {2 * a.pairs} ports, {per_pair * pps} frames per port, "
        f"{a.rounds} round(s) of {a.warmup}+{a.seconds} s each side")
    rounds = []
    for r in range(a.rounds):
        tp = run_testpmd(a.work, paths, mbufs, memory_mb, a.warmup, a.seconds)
        log(f"  round {r + 1}: testpmd 5tswap {tp['tx_pps'] / 1e6:.2f} Mpps out, "
            f"{tp['tx_pps_per_cpu_s'] / 1e6:.2f} per CPU-second ({tp['cpu_share']:.0%} of a core)")
        ours = run_relay(a.work, paths, a.sessions, a.pairs, mbufs, memory_mb, a.warmup, a.seconds, a.window,
                         a.idle_timeout, a.poll_mode)
        log(f"  round {r + 1}: tandem relay   {ours['tx_pps'] / 1e6:.2f} Mpps out, "
            f"{ours['tx_pps_per_cpu_s'] / 1e6:.2f} per CPU-second ({ours['cpu_share']:.0%} of a core)")
        rounds.append({"testpmd": tp, "tandem": ours,
                       "ratio": ours["tx_pps_per_cpu_s"] / tp["tx_pps_per_cpu_s"],
                       "wall_ratio": ours["tx_pps"] / tp["tx_pps"]})
    # The machine is shared. Rates per CPU-second of the forwarding thread take
    # out the time the neighbours took from it (not their cache pollution), and
    # interference only ever slows a run down: each side's best round is the
    # better estimate of what it can do.
    best_tp = max(r["testpmd"]["tx_pps_per_cpu_s"] for r in rounds)
    best_ours = max(r["tandem"]["tx_pps_per_cpu_s"] for r in rounds)
    return {"benchmark": "throughput", "sessions": a.sessions, "ports": 2 * a.pairs, "poll_mode": a.poll_mode,
            "order": "ordered" if a.ordered else "shuffled",
            "frames_per_port": per_pair * pps, "rounds": rounds, "ratio": best_ours / best_tp,
            "round_ratios": [r["ratio"] for r in rounds], "wall_ratios": [r["wall_ratio"] for r in rounds],
            "testpmd_pps_per_cpu_s": best_tp, "tandem_pps_per_cpu_s": best_ours,
            "testpmd_tx_pps": max(r["testpmd"]["tx_pps"] for r in rounds),
            "tandem_tx_pps": max(r["tandem"]["tx_pps"] for r in rounds)}


# ---------------------------------------------------------------- memory, setup

def null_vdevs(n):
    return [f"net_null{i},no-rx=1" for i in range(n)]


def cmd_memory(a):
    out = []
    for n in a.max_sessions:
        dp = Dataplane(a.work, f"mem{n}", null_vdevs(2), 2, n, "adaptive", a.memory_mb)
        try:
            s = dp.status(timeout=120)
        finally:
            dp.stop()
        out.append({"max_sessions": n, "session_memory_bytes": s["session_memory_bytes"]})
        log(f"memory: {n} sessions max: {s['session_memory_bytes']} bytes per session")
    return {"benchmark": "memory", "results": out}


def cmd_setup(a):
    per_pair = a.sessions // a.pairs
    if a.sessions % a.pairs or per_pair > (RELAY_PORTS[1] - RELAY_PORTS[0] + 1) // 2:
        raise Fail("sessions must be a multiple of --pairs and fit the relay ports of one address per port")
    dp = Dataplane(a.work, f"setup{a.poll_mode}", null_vdevs(2 * a.pairs), 2 * a.pairs, a.sessions, a.poll_mode,
                   a.memory_mb)
    try:
        dp.status(timeout=60)
        r = run_loader(dp.socket, a.sessions, a.pairs, a.window, True, a.client_core)
    finally:
        dp.stop()
    log(f"setup ({a.poll_mode}): {r['create']['per_second']:.0f} setups/s, "
        f"{r['delete']['per_second']:.0f} deletes/s over {a.sessions} sessions, window {a.window}")
    return {"benchmark": "setup", "poll_mode": a.poll_mode, "sessions": a.sessions, "window": a.window,
            "setups_per_s": r["create"]["per_second"], "deletes_per_s": r["delete"]["per_second"], "loader": r}


def start_run(work):
    """What a benchmark's main does first: signals end it through its
    `finally` (so that the processes stop), the work directory (a temporary one
    unless given), the programs checked. Returns the directory, or None when a
    program is not built."""

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    work = work or tempfile.mkdtemp(prefix="tandem-bench-")
    os.makedirs(work, exist_ok=True)
    for tool in (DATAPLANE, TANDEMCTL, RTP_PCAP, LOADER):
        if not os.access(tool, os.X_OK):
            log(f"missing {tool}: build first (ninja -C {BUILD})")
            return None
    return work


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", help="directory for captures, sockets and logs (default: a new temporary one)")
    ap.add_argument("--huge", action="store_true",
                    help="EAL on hugepages (mounted and reserved beforehand) instead of --no-huge")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--sessions", type=int, default=1000)
    t.add_argument("--pairs", type=int, default=1, help="port pairs: one address per port holds 27,768 legs")
    t.add_argument("--packets-per-session", type=int, default=0, help="per capture (default: ~32k frames a port)")
    t.add_argument("--warmup", type=int, default=2, help="seconds before the measured window")
    t.add_argument("--seconds", type=int, default=10, help="measured window")
    t.add_argument("--rounds", type=int, default=1, help="testpmd then tandem, this many times")
    t.add_argument("--window", type=int, default=256, help="session loader's requests in flight")
    t.add_argument("--poll-mode", choices=["busy", "adaptive"], default="busy",
                   help="the dataplane's; adaptive lets housekeeping sleep (the worker never idles under this load)")
    t.add_argument("--ordered", action="store_true",
                   help="replay sessions in slot order as generated (default: shuffled, as real calls interleave)")
    t.add_argument("--idle-timeout", type=int, default=60,
                   help="the dataplane's --idle-timeout (its default; the scan runs during the measurement "
                        "as in production, and a session it removes fails the run)")
    m = sub.add_parser("memory")
    m.add_argument("--max-sessions", type=int, nargs="+", default=[1000, 100000, 1000000])
    m.add_argument("--memory-mb", type=int, default=1024)
    s = sub.add_parser("setup")
    s.add_argument("--sessions", type=int, default=100000)
    s.add_argument("--pairs", type=int, default=4)
    s.add_argument("--window", type=int, default=256)
    s.add_argument("--poll-mode", choices=["busy", "adaptive"], default="adaptive")
    s.add_argument("--client-core", default="1", help="core of the loader (the worker's, idle in adaptive mode)")
    s.add_argument("--memory-mb", type=int, default=1024)
    a = ap.parse_args()
    global HUGE
    HUGE = a.huge

    own_work = a.work is None
    a.work = start_run(a.work)
    if a.work is None:
        return 1
    try:
        result = {"throughput": cmd_throughput, "memory": cmd_memory, "setup": cmd_setup}[a.cmd](a)
        print(json.dumps(result), flush=True)
        return 0
    except Fail as e:
        log(f"{a.cmd} failed: {e}")
        return 1
    finally:
        PROCS.stop_all()
        for prefix in PREFIXES:
            cleanup_prefix(prefix)
        if own_work:
            shutil.rmtree(a.work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
