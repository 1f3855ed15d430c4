#!/usr/bin/env python3
"""SIP benchmark: calls per second, CPU per call and concurrent calls of a SIP proxy under test.

For each target (one at a time, several in one run) it starts the proxy, a sipp UAS behind it and
then, per measurement, a sipp UAC in front of it, all on 127.0.0.1:

  (a) CPS ramp: the UAC places short calls (INVITE/180/200/ACK, hold, BYE/200; no RTP) at each
      rate of --steps for --step-seconds; the ramp stops after the first step with more than
      --max-fail-pct failed calls (failed = placed - successful, so unfinished calls count).
  (b) CPU per call: utime+stime from /proc/PID/stat of every process of the target (the threads
      are included), before and after each step (the window ends --settle seconds after the UAC
      exits, so the transactions' wait timers are paid for), divided by the successful calls.
  (c) concurrent calls: for each level of --concurrent, N calls set up at --concurrent-rate CPS
      and held together for --concurrent-hold seconds, with RTP by default (the UAC streams the
      PCMA audio of a pcap, 50 packets/s per call; the UAS echoes it with -rtp_echo); reports
      failures, the peak of concurrent calls, the target's CPU while all are up and, when the
      target relays media, the packets it relayed. Levels stop at the first one that fails.

Pinning: the target on --proxy-cpus (default CPU 0), sipp UAC and UAS and this script on
--load-cpus (default CPU 1), all with taskset / sched_setaffinity; the output records it.
Every process and the run directory are removed at the end, also on Ctrl-C or an error.

Targets are classes in TARGETS (see class Target); --list-targets shows them.
Python 3 standard library only. Run as root on the benchmark host; see README.md.
"""

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
KAMAILIO_DIR = HERE / "kamailio"
CLK_TCK = os.sysconf("SC_CLK_TCK")
LOCAL = "127.0.0.1"

FULL_STEPS = list(range(250, 3001, 250))
# A target's own RTP load (Tandem: tandem-bench-rtp-load) starts once all calls are up and needs
# about a second to attach and half a second to drain: the calls are held this much longer.
RTP_LOAD_MARGIN_S = 4
QUICK_STEPS = [250, 750, 1250]


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# /proc helpers


def read_stat(pid):
    """(ppid, utime+stime ticks, starttime) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    # rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15, starttime 22
    return int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[19])


def descendants(root):
    """root and all its descendants (processes, not threads)."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = read_stat(int(name))
            if st:
                children.setdefault(st[0], []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if read_stat(pid) is None:
            continue
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        st = read_stat(pid)
        if st:
            total += st[1]
    return total


def peak_util(samples, window=1.0):
    """Highest CPU use in % of one core over any span of at least window seconds:
    samples are (monotonic time, CPU ticks)."""
    best = None
    for i, (t0, c0) in enumerate(samples):
        for t1, c1 in samples[i + 1:]:
            if t1 - t0 >= window:
                u = 100.0 * (c1 - c0) / CLK_TCK / (t1 - t0)
                best = u if best is None else max(best, u)
                break
    return round(best, 1) if best is not None else None


def parse_cpus(spec):
    """taskset -c syntax ("0", "0-1", "0,2") to a set of CPU numbers."""
    out = set()
    for part in str(spec).split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out.update(range(int(lo), int(hi) + 1))
        elif part.strip():
            out.add(int(part))
    return out


def cpu_busy_ticks(cpus):
    """Busy ticks (all but idle and iowait) and steal ticks of these CPUs, from /proc/stat."""
    busy = steal = 0
    with open("/proc/stat") as f:
        for line in f:
            name = line.split(" ", 1)[0]
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                v = [int(x) for x in line.split()[1:]]
                # user nice system idle iowait irq softirq steal (guest is inside user)
                busy += v[0] + v[1] + v[2] + v[5] + v[6]
                steal += v[7] if len(v) > 7 else 0
    return busy, steal


def cpus_allowed(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Cpus_allowed_list:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def udp_port_free(port, host=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((host or LOCAL, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def loadavg():
    try:
        return [float(x) for x in open("/proc/loadavg").read().split()[:3]]
    except OSError:
        return []


def own_cpu_seconds():
    t = os.times()
    return t.user + t.system


def cpu_pressure():
    """/proc/pressure/cpu 'some' averages (share of time some task waited for a CPU), or None."""
    try:
        line = open("/proc/pressure/cpu").readline().split()
        return {k: float(v) for k, v in (x.split("=") for x in line[1:4])}
    except (OSError, ValueError):
        return None


def first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        text = (out.stdout or out.stderr).strip().splitlines()
        return next((l.strip() for l in text if l.strip()), "?")
    except (OSError, subprocess.TimeoutExpired):
        return "not found"


# --------------------------------------------------------------------------------------------
# processes


class Proc:
    """A child in its own session (process group), output to a log file, pinned with taskset."""

    nice = 0  # from --nice: every Proc runs under `nice -n NICE`
    rt = 0  # from --rt-priority: every Proc runs under `chrt -r RT` (SCHED_RR)

    def __init__(self, name, argv, cpus, logdir, cwd=None):
        self.name = name
        self.argv = ((["chrt", "-r", str(Proc.rt)] if Proc.rt else [])
                     + (["nice", "-n", str(Proc.nice)] if Proc.nice else [])
                     + (["taskset", "-c", cpus] if cpus else []) + [str(a) for a in argv])
        self.log_path = Path(logdir) / f"{name}.log"
        self.rusage = None
        self.returncode = None
        with open(self.log_path, "wb") as out:
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT, cwd=cwd or logdir,
                                          start_new_session=True)
        self.pid = self.popen.pid  # taskset execs the program: same pid
        self.start_time = time.monotonic()
        RUNNING.append(self)

    def cmdline(self):
        return " ".join(self.argv)

    def poll(self):
        """Reap without blocking; keeps the rusage (CPU of the whole process) of the child."""
        if self.returncode is not None:
            return self.returncode
        try:
            pid, status, ru = os.wait4(self.pid, os.WNOHANG)
        except ChildProcessError:
            self.returncode = -1
            return self.returncode
        if pid == 0:
            return None
        self.rusage = ru
        self.returncode = os.waitstatus_to_exitcode(status)
        self.popen.returncode = self.returncode
        return self.returncode

    def wait(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.poll() is not None:
                return self.returncode
            time.sleep(0.05)
        return None

    def cpu_seconds(self):
        """CPU of a reaped child (utime+stime)."""
        return (self.rusage.ru_utime + self.rusage.ru_stime) if self.rusage else None

    def tail(self, n=15):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, grace=5.0):
        """SIGTERM to the group, SIGKILL after grace; then any descendant that is left."""
        if self.poll() is None:
            family = [(p, read_stat(p)) for p in descendants(self.pid)]
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
                try:
                    os.killpg(self.pid, sig)
                except ProcessLookupError:
                    pass
                if self.wait(wait) is not None:
                    break
            for pid, st in family:  # left its group: kill it only if it is the same process
                now = read_stat(pid)
                if st and now and now[2] == st[2]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        if self in RUNNING:
            RUNNING.remove(self)
        return self.returncode


RUNNING = []  # every Proc not stopped yet: stopped on exit whatever happens


def stop_all():
    for p in list(reversed(RUNNING)):
        try:
            p.stop(grace=3.0)
        except Exception as e:  # keep cleaning up
            log(f"stopping {p.name}: {e}")


# --------------------------------------------------------------------------------------------
# SIP and rtpengine probes


def sip_options(host, port, timeout=0.5):
    """Send one OPTIONS; True if any SIP response comes back."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((LOCAL, 0))
        lport = s.getsockname()[1]
        tag = os.urandom(4).hex()
        msg = (f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {LOCAL}:{lport};branch=z9hG4bK{tag}\r\n"
               "Max-Forwards: 70\r\n"
               f"From: <sip:probe@{LOCAL}>;tag={tag}\r\n"
               f"To: <sip:{host}:{port}>\r\n"
               f"Call-ID: probe-{tag}@{LOCAL}\r\n"
               "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
        s.settimeout(timeout)
        s.sendto(msg.encode(), (host, port))
        data, _ = s.recvfrom(65535)
        return data.startswith(b"SIP/2.0 ")
    except OSError:
        return False
    finally:
        s.close()


def bencode(obj):
    if isinstance(obj, dict):
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in sorted(obj.items())) + b"e"
    if isinstance(obj, (list, tuple)):
        return b"l" + b"".join(bencode(v) for v in obj) + b"e"
    if isinstance(obj, int):
        return b"i%de" % obj
    if isinstance(obj, str):
        obj = obj.encode()
    return b"%d:%s" % (len(obj), obj)


def bdecode(data, i=0):
    c = data[i:i + 1]
    if c == b"i":
        j = data.index(b"e", i)
        return int(data[i + 1:j]), j + 1
    if c in (b"l", b"d"):
        items, i = [], i + 1
        while data[i:i + 1] != b"e":
            v, i = bdecode(data, i)
            items.append(v)
        if c == b"l":
            return items, i + 1
        return {items[k].decode(errors="replace"): items[k + 1]
                for k in range(0, len(items), 2)}, i + 1
    j = data.index(b":", i)
    n = int(data[i:j])
    return data[j + 1:j + 1 + n], j + 1 + n


def ng_command(addr, command, timeout=1.0, **args):
    """One rtpengine ng command over UDP; the decoded dict, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        cookie = os.urandom(6).hex().encode()
        s.settimeout(timeout)
        s.sendto(cookie + b" " + bencode(dict(args, command=command)), addr)
        data, _ = s.recvfrom(1 << 20)
        if not data.startswith(cookie + b" "):
            return None
        return bdecode(data, len(cookie) + 1)[0]
    except (OSError, ValueError, IndexError):
        return None
    finally:
        s.close()


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


# --------------------------------------------------------------------------------------------
# targets


class Target:
    """A proxy under test. Subclass it, set name/description, implement start(), pids(), stop()
    (and optionally info() and media_stats()), and add the class to TARGETS.

    ctx (a Run) gives what a target needs:
      ctx.workdir           this target's run directory (deleted at the end)
      ctx.proxy_cpus        the CPU list to pin the target on (taskset -c syntax)
      ctx.sip_port          the port the target listens on for SIP (UDP, on 127.0.0.1)
      ctx.uas               (host, port) of the sipp UAS every INVITE must be routed to
      ctx.args              all command-line options
      ctx.spawn(name, argv) starts a pinned Proc in its own process group, logged to workdir;
                            every Proc is stopped at exit even if stop() is never reached
    The UAC sends every request (INVITE, ACK, BYE) to sip_addr; in-dialog requests follow the
    Record-Route the target adds. media_anchored says whether RTP goes through the target.
    """

    name = ""
    description = ""
    media_anchored = False
    service = "bench"  # the Request-URI user the UAC calls
    # True when the target brings its own RTP load for the concurrent calls (start_rtp_load):
    # sipp then only holds the calls.
    own_rtp = False

    def __init__(self, ctx):
        self.ctx = ctx
        self.procs = []

    @property
    def sip_addr(self):
        return (LOCAL, self.ctx.sip_port)

    @property
    def media_ip(self):
        """The address sipp puts in its SDP and binds its media to (-mi)."""
        return LOCAL

    def start_rtp_load(self, seconds, json_path):
        """With own_rtp: starts RTP for every call that is up, for `seconds`; returns the Proc,
        which writes its summary to json_path and exits."""
        raise NotImplementedError

    def start(self):
        raise NotImplementedError

    def pids(self):
        """Every process of the target now (main processes and their children)."""
        out = []
        for p in self.procs:
            if p.poll() is None:
                out.extend(descendants(p.pid))
        return out

    def alive(self):
        return all(p.poll() is None for p in self.procs)

    def cpu_by_process(self):
        """CPU ticks per started program (with its children), for the breakdown in the output."""
        return {p.name: cpu_ticks(descendants(p.pid)) for p in self.procs if p.poll() is None}

    def stop(self):
        for p in reversed(self.procs):
            p.stop()

    def info(self):
        return {"processes": {p.name: p.cmdline() for p in self.procs}}

    def media_stats(self):
        """Counters of relayed media (cumulative), or None when the target relays none."""
        return None


class Kamailio(Target):
    name = "kamailio"
    description = ("Kamailio stateful proxy: dispatcher to the one UAS, record-route, dialog "
                   "module; no database, no auth")
    with_rtpengine = False

    def kamailio_argv(self):
        a, wd = self.ctx.args, self.ctx.workdir
        ds = wd / "dispatcher.list"
        host, port = self.ctx.uas
        ds.write_text(f"1 sip:{host}:{port}\n")
        argv = ["kamailio", "-f", KAMAILIO_DIR / "kamailio.cfg", "-DD", "-E",
                "-n", a.kamailio_children, "-m", a.kamailio_shm, "-M", a.kamailio_pkg,
                "-l", f"udp:{LOCAL}:{self.ctx.sip_port}", "-Y", wd, "-P", wd / "kamailio.pid",
                "-A", f'DS_LIST="{ds}"']
        if self.with_rtpengine:
            argv += ["-A", "WITH_RTPENGINE",
                     "-A", f'RTPENGINE_SOCK="udp:{LOCAL}:{a.rtpengine_ng_port}"']
        return argv

    def start(self):
        self.kamailio = self.ctx.spawn("kamailio", self.kamailio_argv())
        self.procs.append(self.kamailio)
        wait_until(lambda: sip_options(*self.sip_addr), 20, "Kamailio to answer OPTIONS",
                   self.kamailio)

    def info(self):
        d = super().info()
        d.update(version=first_line(["kamailio", "-v"]),
                 children=self.ctx.args.kamailio_children,
                 shm_mb=self.ctx.args.kamailio_shm, pkg_mb=self.ctx.args.kamailio_pkg,
                 config=str(KAMAILIO_DIR / "kamailio.cfg"))
        return d


class KamailioRtpengine(Kamailio):
    name = "kamailio-rtpengine"
    description = ("the same Kamailio + rtpengine-daemon in userspace mode (table -1): "
                   "rtpengine_offer/answer/delete per call over ng/UDP on loopback")
    with_rtpengine = True
    media_anchored = True

    def start(self):
        a, wd = self.ctx.args, self.ctx.workdir
        self.ng = (LOCAL, a.rtpengine_ng_port)
        argv = ["rtpengine", f"--config-file={KAMAILIO_DIR / 'rtpengine.conf'}",
                "--config-section=bench", f"--pidfile={wd / 'rtpengine.pid'}",
                f"--interface={LOCAL}", f"--listen-ng={LOCAL}:{a.rtpengine_ng_port}",
                f"--port-min={a.rtpengine_ports[0]}", f"--port-max={a.rtpengine_ports[1]}",
                f"--num-threads={a.rtpengine_threads}"]
        self.rtpengine = self.ctx.spawn("rtpengine", argv)
        self.procs.append(self.rtpengine)
        # Kamailio pings rtpengine once at start and disables it for 60 s if there is no answer
        wait_until(lambda: (ng_command(self.ng, "ping", 0.3) or {}).get("result") == b"pong",
                   20, "rtpengine to answer an ng ping", self.rtpengine)
        super().start()

    def media_stats(self):
        st = ng_command(self.ng, "statistics", 2.0)
        if not st or "statistics" not in st:
            return None
        tot = st.get("statistics", {}).get("totalstatistics", {})
        cur = st.get("statistics", {}).get("currentstatistics", {})

        def num(d, k):
            v = d.get(k, 0)
            return int(v) if isinstance(v, int) else int(float(v or 0))
        return {"relayed_packets": num(tot, "relayedpackets"),
                "relayed_packet_errors": num(tot, "relayedpacketerrors"),
                "managed_sessions": num(tot, "managedsessions"),
                "rejected_sessions": num(tot, "rejectedsessions"),
                "sessions_now": num(cur, "sessionsown")}

    def info(self):
        d = super().info()
        d.update(rtpengine_version=first_line(["rtpengine", "--version"]),
                 rtpengine_config=str(KAMAILIO_DIR / "rtpengine.conf"),
                 rtpengine_threads=self.ctx.args.rtpengine_threads,
                 rtpengine_ports="%d-%d" % tuple(self.ctx.args.rtpengine_ports))
        return d


class Tandem(Target):
    """tandem-control (the B2BUA) with its tandem-dataplane: each call is routed by the Rules DB
    (outbound least-cost routing to a provider that is the sipp UAS), gets a dataplane session
    (create, update with the answer, delete with the final counters) and leaves a CDR in
    MariaDB. MariaDB runs on the load CPUs and is not counted: the target is what a Tandem node
    runs.

    The dataplane's port: for the concurrent calls with RTP it is a net_memif (role=server) and
    tandem-bench-rtp-load (bench/rtp_load.cc, role=client, on the load CPUs like sipp) sends the
    RTP of every call as the callers and callees would, and counts what the dataplane relays back;
    sipp only holds the calls (it cannot stream thousands of calls from one core). Its media
    address (--tandem-media-ip, on lo) is not the dataplane port's own, so that the relayed
    packets leave through the memif. Both DPDK processes run on hugepages. Otherwise (--no-rtp,
    or no concurrent calls) the port is a net_null vdev: sessions are real, packets are not."""

    name = "tandem"
    description = ("tandem-control (sofia-sip B2BUA: rules lookup, least-cost routing, CDR per call "
                   "to MariaDB) + tandem-dataplane session per call (net_memif port with "
                   "tandem-bench-rtp-load for RTP, or net_null with --no-rtp)")
    media_anchored = True
    service = "+12125550100"  # a number: calls are routed by it
    DP_MAC = "02:00:00:00:d0:01"  # the dataplane's memif
    LOAD_MAC = "02:00:00:00:1a:01"  # tandem-bench-rtp-load's memif
    DP_MEMORY_MB = 256
    LOAD_MEMORY_MB = 128

    def __init__(self, ctx):
        super().__init__(ctx)
        a = ctx.args
        self.own_rtp = bool(a.concurrent) and not a.no_rtp
        self.added_media_ip = False
        self.load_runs = 0
        self.load_prefixes = []  # EAL file prefixes of the generator's runs, removed at stop

    @property
    def media_ip(self):
        return self.ctx.args.tandem_media_ip if self.own_rtp else LOCAL

    def binary(self, rel):
        path = Path(os.environ.get("TANDEM_BUILD_DIR", HERE.parent.parent / "build")) / rel
        if not os.access(path, os.X_OK):
            raise BenchError(f"{path} is not built (./tools/prepare builds it)")
        return path

    def check_hugepages(self):
        need = self.DP_MEMORY_MB + self.LOAD_MEMORY_MB
        mounted = any(line.split()[2:3] == ["hugetlbfs"] for line in open("/proc/mounts"))
        info = {}
        for line in open("/proc/meminfo"):
            k, _, v = line.partition(":")
            info[k] = v.split()[0] if v.split() else "0"
        free_mb = int(info.get("HugePages_Free", 0)) * int(info.get("Hugepagesize", 0)) // 1024
        if not mounted or free_mb < need:
            raise BenchError(
                f"tandem with RTP needs hugepages: hugetlbfs mounted and {need} MB free for the dataplane "
                f"and tandem-bench-rtp-load (found: {'mounted' if mounted else 'no hugetlbfs mount'}, "
                f"{free_mb} MB free). ./tools/prepare mounts /dev/hugepages and reserves 1024 x 2 MiB; "
                "or run with --no-rtp (sessions without media)")

    def start(self):
        a, wd = self.ctx.args, self.ctx.workdir
        if LOCAL.startswith("127."):
            raise BenchError("tandem: run with --local-ip 198.18.50.1 (its dataplane refuses loopback media "
                             "addresses, rightly)")
        control, dataplane, ctl = (self.binary("control/server/tandem-control"),
                                   self.binary("dataplane/tandem-dataplane"),
                                   self.binary("tools/tandemctl/tandemctl"))
        self.ctl = ctl
        if self.own_rtp:
            self.rtp_load_bin = self.binary("bench/tandem-bench-rtp-load")
            self.check_hugepages()
            if a.tandem_media_ip == LOCAL:
                raise BenchError("--tandem-media-ip must differ from --local-ip (the dataplane port's address)")
            self.added_media_ip = add_local_ip(a.tandem_media_ip)
        # MariaDB: the Rules DB and the CDR DB, in this run's directory, on the load CPUs.
        db_dir, self.db_sock = wd / "mariadb", wd / "mariadb.sock"
        user = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={db_dir}", "--skip-test-db",
                        "--auth-root-authentication-method=normal"] + user,
                       check=True, capture_output=True, timeout=120)
        self.db = self.ctx.spawn("mariadb", ["mariadbd", "--no-defaults", f"--datadir={db_dir}",
                                             f"--socket={self.db_sock}", "--skip-networking",
                                             f"--pid-file={wd / 'mariadb.pid'}", "--innodb-buffer-pool-size=128M",
                                             "--skip-name-resolve"] + user, cpus=self.ctx.load_cpus)
        db = [f"unix:{self.db_sock}"]
        wait_until(lambda: subprocess.run([ctl, "db", "init", "--rules-db", *db, "--rules-db-user", "root",
                                           "--cdr-db", *db, "--cdr-db-user", "root"],
                                          capture_output=True).returncode == 0, 60, "MariaDB", self.db)
        host, port = self.ctx.uas
        tables = {
            "customers": f"name,time_zone,vm_sip\nbench,UTC,sip:pbx@{LOCAL}\n",
            "providers": f"name,sip_address\nuas,sip:{host}:{port}\n",
            "rates": "provider,prefix,cost_per_min\nuas,1,0.01\n",
        }
        for table, csv in tables.items():
            path = wd / f"{table}.csv"
            path.write_text(csv)
            subprocess.run([ctl, "rules", "import", "--db", *db, "--db-user", "root", table, path],
                           check=True, capture_output=True, timeout=60)
        # The dataplane: two lcores (main, one worker) on the target's first CPU, adaptive polling.
        # A call takes 4 relay ports of the one port (RTP and RTCP of both legs): 20000-59999
        # holds 10,000 calls (the default range, 2,500).
        cpu = sorted(parse_cpus(self.ctx.proxy_cpus))[0]
        self.dp_sock = wd / "dataplane.sock"
        self.memif_sock = wd / "memif.sock"
        self.prefix = f"sipbench{os.getpid()}"
        if self.own_rtp:
            eal = ["-m", self.DP_MEMORY_MB, "--vdev", self.memif_vdev("server", self.DP_MAC)]
        else:
            eal = ["--no-huge", "-m", self.DP_MEMORY_MB, "--vdev", "net_null0,no-rx=1"]
        self.dataplane = self.ctx.spawn("dataplane", [
            dataplane, *eal, "--lcores", f"0@{cpu},1@{cpu}", "--file-prefix", self.prefix, "--no-pci", "--",
            "--port", f"0:{LOCAL}/8,role=public,tap=tsb{os.getpid() % 100000}", "--poll-mode", "adaptive",
            "--relay-ports", "20000-59999", "--control-socket", self.dp_sock,
            "--max-sessions", str(max(a.concurrent or [0]) * 2 + 10000)])
        self.procs.append(self.dataplane)
        wait_until(lambda: self.dp_sock.exists(), 30, "tandem-dataplane's socket", self.dataplane)
        self.control = self.ctx.spawn("tandem-control", [
            control, "--sip", f"{LOCAL}:{self.ctx.sip_port}", "--dataplane-socket", self.dp_sock,
            "--rules-db", *db, "--rules-db-user", "root", "--cdr-db", *db, "--cdr-db-user", "root",
            "--cdr-spool-dir", wd / "spool", "--control-socket", wd / "control.sock",
            "--capacity", "1000000", "--log-level", "warn", "--country-code", "1",
            "--cdr-dc-id", "1", "--cdr-node-id", "1"])
        self.procs.append(self.control)
        wait_until(lambda: sip_options(*self.sip_addr), 30, "tandem-control to answer OPTIONS", self.control)

    def memif_vdev(self, role, mac):
        # rsize=12: 4,096 slots per ring, so that a few ms without a poll (two cores shared by
        # everything) do not overflow it at 500,000 packets/s.
        return f"net_memif0,role={role},socket={self.memif_sock},socket-abstract=no,rsize=12,mac={mac}"

    def start_rtp_load(self, seconds, json_path):
        self.load_runs += 1
        prefix = f"{self.prefix}load{self.load_runs}"
        self.load_prefixes.append(prefix)
        cpu = sorted(parse_cpus(self.ctx.load_cpus))[0]
        return self.ctx.spawn(f"rtp_load_{self.load_runs}", [
            self.rtp_load_bin, "-m", self.LOAD_MEMORY_MB, "--lcores", f"0@{cpu}", "--file-prefix", prefix,
            "--no-pci", "--vdev", self.memif_vdev("client", self.LOAD_MAC), "--",
            "--socket", self.dp_sock, "--dataplane-mac", self.DP_MAC, "--seconds", f"{seconds:g}",
            "--json", json_path], cpus=self.ctx.load_cpus)

    def stop(self):
        super().stop()
        if getattr(self, "db", None):
            self.db.stop()
        for prefix in [getattr(self, "prefix", None)] + self.load_prefixes:
            if prefix:
                remove_dpdk_files(prefix)
        if self.added_media_ip:
            subprocess.run(["ip", "addr", "del", f"{self.ctx.args.tandem_media_ip}/32", "dev", "lo"],
                           capture_output=True)

    def media_stats(self):
        r = subprocess.run([self.ctl, "--socket", self.dp_sock, "--json", "dataplane", "status"],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            return None
        st = json.loads(r.stdout)
        return {"relayed_packets": sum(w.get("relayed", 0) for w in st.get("workers", [])),
                "sessions_now": st.get("sessions", 0)}

    def info(self):
        d = super().info()
        d.update(dataplane_port=("net_memif, RTP from tandem-bench-rtp-load" if self.own_rtp
                                 else "net_null (sessions only)"),
                 cdr="MariaDB on the load CPUs, not counted", log_level="warn")
        if self.own_rtp:
            d["media_ip"] = self.media_ip
        return d


# The targets --target accepts. Add a target here: name -> class (see class Target).
TARGETS = {
    Kamailio.name: Kamailio,
    KamailioRtpengine.name: KamailioRtpengine,
    Tandem.name: Tandem,
}


# --------------------------------------------------------------------------------------------
# sipp


def sipp_time_ms(v):
    """sipp's 'HH:MM:SS:usec' or 'HH:MM:SS' to milliseconds."""
    try:
        parts = [int(x) for x in v.split(":")]
        us = parts[3] if len(parts) == 4 else 0
        return (parts[0] * 3600 + parts[1] * 60 + parts[2]) * 1000 + us / 1000.0
    except (ValueError, IndexError):
        return None


def read_sipp_stats(path):
    """Rows of a sipp -trace_stat file as dicts (header names as keys)."""
    try:
        lines = [l for l in Path(path).read_text(errors="replace").splitlines() if l.strip()]
    except OSError:
        return []
    if len(lines) < 2:
        return []
    head = lines[0].rstrip(";").split(";")
    return [dict(zip(head, l.rstrip(";").split(";"))) for l in lines[1:]]


def num(row, key):
    try:
        return int(row.get(key, "0") or 0)
    except ValueError:
        try:
            return float(row.get(key))
        except (TypeError, ValueError):
            return 0


def pcap_info(path):
    """(number of packets, duration in ms) of a pcap file."""
    data = Path(path).read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    div = 1e9 if magic in (0xA1B23C4D, 0x4D3CB2A1) else 1e6
    off, n, first, last = 24, 0, None, None
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16 + caplen
        t = sec + frac / div
        first = t if first is None else first
        last, n = t, n + 1
    return n, int(round(((last or 0) - (first or 0)) * 1000)) + 20


def pcap_payload(path):
    """The RTP payloads of a pcap (Ethernet/IPv4/UDP/RTP), concatenated: raw audio for rtp_stream."""
    data = Path(path).read_bytes()
    end = "<" if struct.unpack("<I", data[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, out = 24, bytearray()
    while off + 16 <= len(data):
        caplen = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        ihl = (pkt[14] & 0x0F) * 4 if len(pkt) > 14 else 20
        rtp = pkt[14 + ihl + 8:]
        if len(rtp) > 12:
            cc = rtp[0] & 0x0F
            out += rtp[12 + 4 * cc:]
    if not out:
        raise BenchError(f"no RTP payload found in {path}")
    return bytes(out)


# --------------------------------------------------------------------------------------------
# one target's run


class Run:
    def __init__(self, args, target_cls, root):
        self.args = args
        self.workdir = Path(root) / target_cls.name
        self.workdir.mkdir()
        self.proxy_cpus = args.proxy_cpus
        self.load_cpus = args.load_cpus
        self.sip_port = args.proxy_port
        self.uas = (LOCAL, args.uas_port)
        self.target = target_cls(self)
        self.uas_proc = None
        self.result = {"target": target_cls.name, "description": target_cls.description,
                       "media_anchored": target_cls.media_anchored}

    def spawn(self, name, argv, cpus=None):
        return Proc(name, argv, cpus or self.proxy_cpus, self.workdir)

    def sipp_common(self, name, port, media_port, cp):
        return ["sipp", "-i", LOCAL, "-p", port, "-mi", self.target.media_ip, "-mp", media_port, "-cp", cp,
                "-nostdin", "-trace_stat", "-stf", self.workdir / f"{name}.csv", "-fd", "1",
                "-trace_err", "-error_file", self.workdir / f"{name}_errors.log"]

    def start_uas(self):
        a = self.args
        argv = self.sipp_common("uas", a.uas_port, a.uas_media_port, a.uas_control_port)
        argv += ["-sf", SCENARIOS / "uas.xml", "-rtp_echo"]
        self.uas_proc = Proc("uas", argv, self.load_cpus, self.workdir)
        wait_until(lambda: not udp_port_free(a.uas_port), 10, "the sipp UAS to bind", self.uas_proc)
        time.sleep(0.3)

    def uas_counters(self):
        rows = read_sipp_stats(self.workdir / "uas.csv")
        r = rows[-1] if rows else {}
        return {"calls": num(r, "IncomingCall(C)"), "ok": num(r, "SuccessfulCall(C)"),
                "failed": num(r, "FailedCall(C)"), "current": num(r, "CurrentCall")}

    def load_ticks(self):
        return cpu_ticks([self.uas_proc.pid]) if self.uas_proc else 0

    def check_alive(self):
        if not self.target.alive():
            dead = [p for p in self.target.procs if p.poll() is not None]
            raise BenchError(f"target {self.target.name}: {dead[0].name} exited "
                             f"({dead[0].returncode}):\n{dead[0].tail()}")
        if self.uas_proc.poll() is not None:
            raise BenchError(f"sipp UAS exited ({self.uas_proc.returncode}):\n"
                             f"{self.uas_proc.tail()}")

    def run_uac(self, name, scenario, rate, calls, hold_ms, limit, timeout_s, on_tick=None):
        """One sipp UAC; returns its final stats row, its rows, rusage CPU s and wall s."""
        a = self.args
        argv = self.sipp_common(name, a.uac_port, a.uac_media_port, a.uac_control_port)
        argv += [f"{LOCAL}:{self.sip_port}", "-sf", scenario, "-s", self.target.service,
                 "-r", rate, "-m", calls, "-l", limit, "-d", hold_ms,
                 "-recv_timeout", int(a.recv_timeout * 1000), "-timeout", f"{int(timeout_s)}s"]
        p = Proc(name, argv, self.load_cpus, self.workdir)
        t0 = time.monotonic()
        deadline = t0 + timeout_s + 15
        while p.poll() is None:
            if time.monotonic() > deadline:
                log(f"{name}: sipp still running after {timeout_s + 15:.0f} s, killing it")
                p.stop(grace=2)
                break
            if on_tick:
                on_tick(p)
            time.sleep(0.25)
        wall = time.monotonic() - t0
        if p in RUNNING:
            RUNNING.remove(p)
        rows = read_sipp_stats(self.workdir / f"{name}.csv")
        if not rows:
            raise BenchError(f"{name}: sipp wrote no statistics (exit {p.returncode}):\n{p.tail()}")
        return rows[-1], rows, p.cpu_seconds() or 0.0, wall, p.returncode

    @staticmethod
    def call_figures(last, rows, planned):
        placed = num(last, "OutgoingCall(C)")
        ok = num(last, "SuccessfulCall(C)")
        failed = planned - ok  # calls sipp could not place count as failed too
        reasons = {k[6:-3]: num(last, k) for k in last
                   if k.startswith("Failed") and k.endswith("(C)") and k != "FailedCall(C)"
                   and num(last, k)}
        # calls placed per second while placing: the periodic rows between the first and the last
        # row that placed calls, without those two (partial seconds)
        placing = [r for r in rows if num(r, "OutgoingCall(P)") > 0]
        inner = placing[1:-1]
        achieved = None
        if inner:
            secs = sum(sipp_time_ms(r.get("ElapsedTime(P)", "")) or 0 for r in inner) / 1000.0
            if secs > 0:
                achieved = sum(num(r, "OutgoingCall(P)") for r in inner) / secs
        if placed < planned:
            reasons["NotPlaced"] = planned - placed
        return {"placed": placed, "ok": ok, "failed": failed,
                "fail_pct": 100.0 * failed / planned if planned else 0.0,
                "failed_by_reason": reasons,
                "retransmissions": num(last, "Retransmissions(C)"),
                "response_ms_avg": sipp_time_ms(last.get("ResponseTime1(C)", "")),
                "placing_cps": round(achieved, 1) if achieved else None}

    # ---- (a) and (b): the CPS ramp

    def cps_step(self, rate):
        a = self.args
        calls = int(round(rate * a.step_seconds))
        hold_s = a.hold_ms / 1000.0
        timeout = a.step_seconds + hold_s + a.recv_timeout * 2 + 5
        self.check_alive()
        cores0 = cpu_busy_ticks(parse_cpus(self.proxy_cpus))
        lcores0, me0 = cpu_busy_ticks(parse_cpus(self.load_cpus)), own_cpu_seconds()
        pids0, by0 = self.target.pids(), self.target.cpu_by_process()
        tt0, tl0, uas0, w0 = cpu_ticks(pids0), self.load_ticks(), self.uas_counters(), time.monotonic()
        samples, load = [(w0, tt0)], []

        def tick(p):
            now = time.monotonic()
            samples.append((now, cpu_ticks(self.target.pids())))
            load.append((now, cpu_ticks([p.pid, self.uas_proc.pid])))

        last, rows, uac_cpu, uac_wall, rc = self.run_uac(
            f"uac_{rate}", SCENARIOS / "uac.xml", rate, calls, a.hold_ms,
            max(100, int(rate * (hold_s + 1) * 3)), timeout, on_tick=tick)
        tl1, lcores1, me1 = self.load_ticks(), cpu_busy_ticks(parse_cpus(self.load_cpus)), own_cpu_seconds()
        time.sleep(a.settle)
        pids1, by1 = self.target.pids(), self.target.cpu_by_process()
        tt1, w1 = cpu_ticks(pids1), time.monotonic()
        cores1 = cpu_busy_ticks(parse_cpus(self.proxy_cpus))
        uas1 = self.uas_counters()
        self.check_alive()
        fig = self.call_figures(last, rows, calls)
        tcpu = (tt1 - tt0) / CLK_TCK
        step = {"rate": rate, "seconds": a.step_seconds, "hold_ms": a.hold_ms, **fig,
                "target_cpu_s": round(tcpu, 3),
                "target_cpu_ms_per_call": round(1000.0 * tcpu / fig["ok"], 4) if fig["ok"] else None,
                "target_cpu_pct_peak": peak_util(samples),
                "cpu_ms_per_call_by_process": {
                    k: round(1000.0 * (by1[k] - by0[k]) / CLK_TCK / fig["ok"], 4)
                    for k in by1 if k in by0 and fig["ok"]},
                "window_s": round(w1 - w0, 2), "uac_wall_s": round(uac_wall, 2),
                # others on the target's CPUs: their busy time minus the target's, and steal
                "others_on_target_cpus_pct": round(max(0.0, 100.0 * (
                    (cores1[0] - cores0[0]) - (tt1 - tt0)) / CLK_TCK / (w1 - w0)), 1),
                "steal_on_target_cpus_pct": round(
                    100.0 * (cores1[1] - cores0[1]) / CLK_TCK / (w1 - w0), 1),
                # others on sipp's CPUs while the UAC ran: minus sipp and this script
                "others_on_load_cpus_pct": round(max(0.0, 100.0 * (
                    (lcores1[0] - lcores0[0]) / CLK_TCK - uac_cpu - (tl1 - tl0) / CLK_TCK
                    - (me1 - me0)) / uac_wall), 1),
                "sipp_cpu_pct": round(100.0 * (uac_cpu + (tl1 - tl0) / CLK_TCK) / uac_wall, 1),
                "sipp_cpu_pct_peak": peak_util(load),
                "uas_failed": uas1["failed"] - uas0["failed"],
                "target_processes": len(set(pids0) | set(pids1)), "sipp_exit": rc}
        if sorted(set(pids0)) != sorted(set(pids1)):
            step["note"] = "target processes changed during the step"
        return step

    def ramp(self):
        a = self.args
        steps, best0, best_lim = [], None, None
        summary = lambda: {  # noqa: E731
            "steps": steps,
            "max_cps_zero_failures": best0["rate"] if best0 else 0,
            "cpu_ms_per_call_at_max": best0["target_cpu_ms_per_call"] if best0 else None,
            "cpu_ms_per_call_by_process_at_max":
                best0["cpu_ms_per_call_by_process"] if best0 else None,
            "max_cps_within_limit": best_lim["rate"] if best_lim else 0,
            "stopped_at": steps[-1]["rate"] if steps and steps[-1]["fail_pct"] > a.max_fail_pct
            else None}
        for rate in a.steps:
            log(f"{self.target.name}: {rate} CPS for {a.step_seconds} s")
            self.result["ramp"] = summary()  # what is there so far, if interrupted
            self.wait_quiet()
            st = self.cps_step(rate)
            noise = lambda x: max(x["others_on_target_cpus_pct"], x["others_on_load_cpus_pct"])  # noqa
            for _ in range(0 if a.rt_priority else a.noisy_retries):
                if noise(st) <= a.noisy_pct:
                    break
                log(f"{self.target.name}: {rate} CPS: other processes took "
                    f"{st['others_on_target_cpus_pct']} % of the target's CPU and "
                    f"{st['others_on_load_cpus_pct']} % of sipp's: running the step again")
                self.wait_quiet()
                again = self.cps_step(rate)
                if noise(again) < noise(st):
                    st = again
            st["noisy"] = noise(st) > a.noisy_pct and not a.rt_priority
            steps.append(st)
            log(f"{self.target.name}: {rate} CPS: {st['ok']}/{st['placed']} ok, "
                f"{st['failed']} failed ({st['fail_pct']:.3f} %), "
                f"{st['target_cpu_ms_per_call']} ms CPU/call, target at {st['target_cpu_pct_peak']} % of "
                f"a core at most, sipp at {st['sipp_cpu_pct_peak']} % at most")
            if st["fail_pct"] > a.max_fail_pct:
                break
            if st["failed"] == 0:
                best0 = st
            best_lim = st
        return summary()

    # ---- (c): concurrent calls

    def concurrent_levels(self):
        out = []
        for n in self.args.concurrent:
            self.result["concurrent"] = out  # what is there so far, if interrupted
            self.wait_quiet()
            res = self.concurrent(n)
            out.append(res)
            log(f"{self.target.name}: {n} concurrent: {res['ok']}/{res['placed']} ok, peak "
                f"{res['peak_concurrent']} at once, target at {res.get('target_cpu_pct_all_up')} % "
                f"while all up, sipp at {res['sipp_cpu_pct_peak']} % at most"
                + (f", relayed {res.get('relayed_pps_all_up')} of {res.get('expected_relayed_pps')} "
                   f"packets/s" if res.get("expected_relayed_pps") else "")
                + (f", RTP loss {res['rtp_loss_pct']} %, rtp-load at {res['rtp_load_cpu_pct']} %"
                   if "rtp_loss_pct" in res else "")
                + (f", RTP load: {res['rtp_load_error']}" if res.get("rtp_load_error") else ""))
            if res["fail_pct"] > self.args.max_fail_pct:
                break
        return out

    def concurrent(self, n):
        a = self.args
        rate = a.concurrent_rate
        setup_s = n / rate
        # A target with its own RTP load (own_rtp) starts it once all n calls are up, for
        # --concurrent-hold s: the calls last long enough for its start-up and drain too.
        own_rtp = self.target.own_rtp
        hold_ms = int((setup_s + a.concurrent_hold + (RTP_LOAD_MARGIN_S if own_rtp else 1)) * 1000)
        pps_per_call = 0
        if own_rtp:
            scenario = SCENARIOS / "uac.xml"
            pps_per_call = 50.0  # per leg: what each leg's remote sends, relayed to the other
        elif a.no_rtp:
            scenario = SCENARIOS / "uac.xml"
        elif a.rtp_mode == "pcap":
            packets, pcap_ms = pcap_info(a.pcap)
            plays = max(1, math.ceil(hold_ms / pcap_ms))
            hold_ms = plays * pcap_ms
            scenario = self.fill(SCENARIOS / "uac_rtp_pcap.xml", PCAP=a.pcap, PCAP_MS=pcap_ms,
                                 PLAYS=plays)
            pps_per_call = packets * 1000.0 / pcap_ms
        else:
            audio = self.workdir / "audio.pcma"
            audio.write_bytes(pcap_payload(a.pcap))
            scenario = self.fill(SCENARIOS / "uac_rtp_stream.xml", AUDIO=audio)
            pps_per_call = 50.0  # sipp's rtp_stream: PCMA, 160 bytes every 20 ms
        rtp = "rtp-load" if own_rtp else "none" if a.no_rtp else a.rtp_mode
        timeout = setup_s + hold_ms / 1000.0 + a.recv_timeout * 2 + 10
        log(f"{self.target.name}: {n} concurrent calls, RTP {rtp}, set up at {rate} CPS, "
            f"each held {hold_ms / 1000:.1f} s")
        self.check_alive()
        samples = []  # (t, target ticks, current calls, media stats)
        load = []  # (t, sipp ticks)
        gen = {"proc": None, "json": self.workdir / f"rtp_load_{n}.json",
               "samples": []}  # own RTP load: (unix time, target ticks, ticks by process, media stats)

        def tick(p):
            rows = read_sipp_stats(self.workdir / f"uac_concurrent_{n}.csv")
            cur = num(rows[-1], "CurrentCall") if rows else 0
            now = time.monotonic()
            # the relay's counters once a second: the query itself costs the target CPU
            media = None
            if p is None or not samples or now - max(
                    (x[0] for x in samples if x[3] is not None), default=0) >= 1.0:
                media = self.target.media_stats()
            ticks = cpu_ticks(self.target.pids())
            samples.append((now, ticks, cur, media))
            if p is not None:
                load.append((now, cpu_ticks([p.pid, self.uas_proc.pid])))
            if own_rtp and p is not None:
                if gen["proc"] is None and cur >= n:
                    log(f"{self.target.name}: all {n} calls up: RTP for {a.concurrent_hold:g} s")
                    gen["proc"] = self.target.start_rtp_load(a.concurrent_hold, gen["json"])
                elif gen["proc"] is not None and gen["proc"].poll() is None:
                    gen["samples"].append((time.time(), ticks, self.target.cpu_by_process(), media))

        tick(None)
        m0, tl0 = samples[0][3], self.load_ticks()
        cores0 = cpu_busy_ticks(parse_cpus(self.proxy_cpus))
        last, rows, uac_cpu, wall, rc = self.run_uac(
            f"uac_concurrent_{n}", scenario, rate, n, hold_ms, n + 10, timeout, on_tick=tick)
        sipp_pct = round(100.0 * (uac_cpu + (self.load_ticks() - tl0) / CLK_TCK) / wall, 1)
        cores1, tt1 = cpu_busy_ticks(parse_cpus(self.proxy_cpus)), cpu_ticks(self.target.pids())
        time.sleep(a.settle)
        tick(None)
        self.check_alive()
        fig = self.call_figures(last, rows, n)
        peak = max([num(r, "CurrentCall") for r in rows] + [s[2] for s in samples])
        full = [s for s in samples if s[2] >= 0.99 * n]
        res = {"calls": n, "setup_cps": rate, "hold_ms": hold_ms, "rtp": rtp, **fig,
               "peak_concurrent": peak, "wall_s": round(wall, 1),
               "target_cpu_s": round((samples[-1][1] - samples[0][1]) / CLK_TCK, 2),
               "sipp_uac_cpu_s": round(uac_cpu, 2), "sipp_cpu_pct": sipp_pct,
               "sipp_cpu_pct_peak": peak_util(load),
               "others_on_target_cpus_pct": round(max(0.0, 100.0 * (
                   (cores1[0] - cores0[0]) - (tt1 - samples[0][1])) / CLK_TCK / wall), 1)}
        if len(full) >= 2:
            dt = full[-1][0] - full[0][0]
            res["all_up_s"] = round(dt, 1)
            res["target_cpu_pct_all_up"] = round(100.0 * (full[-1][1] - full[0][1]) / CLK_TCK / dt, 1)
            fm = [x for x in full if x[3] is not None]
            if len(fm) >= 2 and fm[-1][0] > fm[0][0]:
                pps = (fm[-1][3]["relayed_packets"] - fm[0][3]["relayed_packets"]) / (fm[-1][0] - fm[0][0])
                res["relayed_pps_all_up"] = round(pps)
                if pps_per_call:
                    # UAC -> relay -> UAS echo -> relay -> UAC: two relayed packets per sent packet
                    res["expected_relayed_pps"] = round(2 * n * pps_per_call)
        else:
            res["all_up_s"] = 0
            res["note"] = f"never {n} calls up at once (peak {peak})"
        if m0 and samples[-1][3]:
            res["media"] = {k: samples[-1][3][k] - m0[k] for k in m0 if k != "sessions_now"}
        if own_rtp:
            res.update(self.rtp_load_figures(n, gen))
        return res

    def rtp_load_figures(self, n, gen):
        """The concurrent level's media figures from the target's own RTP load: the generator's
        summary, and the target's CPU and relayed packets while it sent (from the samples taken
        between its start and end)."""
        p = gen["proc"]
        if p is None:
            return {"rtp_load_error": "not started: the calls were never all up"}
        if p.wait(RTP_LOAD_MARGIN_S + 10) is None:
            log(f"{p.name} still running after the calls ended: stopping it")
        p.stop(grace=2)
        try:
            summary = json.loads(Path(gen["json"]).read_text())
        except (OSError, ValueError):
            return {"rtp_load_error": f"{p.name} exited {p.returncode} without a summary: "
                                      + (p.tail(3).splitlines() or ["?"])[-1]}
        out = {"rtp_load": {k: summary[k] for k in (
                   "sessions", "legs", "seconds", "sent", "received", "expected", "lost", "loss_pct",
                   "lost_by_seq", "out_of_order", "bad_payload_or_ssrc", "legs_without_packets",
                   "pps_sent", "pps_received", "expected_pps", "tx_failed", "cpu_pct")},
               "rtp_loss_pct": round(summary["loss_pct"], 4),
               "rtp_load_cpu_pct": round(summary["cpu_pct"], 1),
               # both legs of every call: 50 packets/s each, relayed to the other leg's remote
               "expected_relayed_pps": round(2 * n * 50)}
        win = [s for s in gen["samples"] if summary["start_unix_s"] <= s[0] <= summary["end_unix_s"]]
        if len(win) >= 2 and win[-1][0] > win[0][0]:
            dt = win[-1][0] - win[0][0]
            out["rtp_window_s"] = round(dt, 1)
            out["target_cpu_pct_all_up"] = round(100.0 * (win[-1][1] - win[0][1]) / CLK_TCK / dt, 1)
            out["target_cpu_pct_by_process_all_up"] = {
                k: round(100.0 * (win[-1][2][k] - win[0][2][k]) / CLK_TCK / dt, 1)
                for k in win[-1][2] if k in win[0][2]}
            wm = [s for s in win if s[3] is not None]
            if len(wm) >= 2 and wm[-1][0] > wm[0][0]:
                out["relayed_pps_all_up"] = round(
                    (wm[-1][3]["relayed_packets"] - wm[0][3]["relayed_packets"]) / (wm[-1][0] - wm[0][0]))
        return out

    def fill(self, template, **fields):
        text = Path(template).read_text()
        for k, v in fields.items():
            text = text.replace(f"@{k}@", str(v))
        out = self.workdir / Path(template).name
        out.write_text(text)
        return out

    # ---- the whole run for this target

    def others_pct(self, seconds=1.0):
        """% of a core that processes other than the target, sipp and this script use, now, on
        the target's CPUs and on sipp's (max of the two)."""
        tc, lc = parse_cpus(self.proxy_cpus), parse_cpus(self.load_cpus)
        t0, l0 = cpu_busy_ticks(tc)[0], cpu_busy_ticks(lc)[0]
        tt0, tl0, me0, w0 = cpu_ticks(self.target.pids()), self.load_ticks(), own_cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        dt = time.monotonic() - w0
        t1, l1 = cpu_busy_ticks(tc)[0], cpu_busy_ticks(lc)[0]
        on_t = ((t1 - t0) - (cpu_ticks(self.target.pids()) - tt0)) / CLK_TCK
        on_l = ((l1 - l0) - (self.load_ticks() - tl0)) / CLK_TCK - (own_cpu_seconds() - me0)
        return round(100.0 * max(on_t, on_l, 0.0) / dt, 1)

    def wait_quiet(self):
        """Before a measurement: wait (up to --quiet-wait s) until other processes leave the two
        cores alone (this VM is shared with builds and tests)."""
        a = self.args
        if a.quiet_wait <= 0 or a.rt_priority:  # under SCHED_RR the others only get idle time
            return None
        end = time.monotonic() + a.quiet_wait
        busy = self.others_pct()
        if busy <= a.noisy_pct:
            return busy
        log(f"{self.target.name}: other processes use {busy} % of a core: waiting up to "
            f"{a.quiet_wait:.0f} s for them")
        while time.monotonic() < end:
            busy = self.others_pct(2.0)
            if busy <= a.noisy_pct:
                break
        return busy

    def idle_cpu(self, seconds):
        t0, w0 = cpu_ticks(self.target.pids()), time.monotonic()
        time.sleep(seconds)
        return round(100.0 * (cpu_ticks(self.target.pids()) - t0) / CLK_TCK / (time.monotonic() - w0), 2)

    def execute(self):
        a = self.args
        t = self.target
        log(f"{t.name}: starting ({t.description})")
        t.start()
        self.start_uas()
        pids = t.pids()
        self.result.update(info=t.info(),
                           pinning={"target_cpus": self.proxy_cpus, "sipp_cpus": self.load_cpus,
                                    "target_processes": {str(p): cpus_allowed(p) for p in pids},
                                    "sipp_uas": cpus_allowed(self.uas_proc.pid)},
                           idle_cpu_pct=self.idle_cpu(1.0 if a.quick else 3.0))
        if a.steps:
            self.result["ramp"] = self.ramp()
        if a.concurrent:
            if not t.alive():
                raise BenchError(f"{t.name} is not running any more")
            self.result["concurrent"] = self.concurrent_levels()
        self.result["uas"] = self.uas_counters()

    def stop(self):
        if self.uas_proc:
            self.uas_proc.stop(grace=2)
        self.target.stop()


# --------------------------------------------------------------------------------------------
# output


def table(rows, header, indent="   "):
    cols = list(zip(*([header] + rows))) if rows else [[h] for h in header]
    widths = [max(len(str(c)) for c in col) for col in cols]
    fmt = lambda r: indent + "  ".join(str(c).rjust(w) for c, w in zip(r, widths))
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


def fmt(v, spec=""):
    if v is None:
        return "-"
    return format(v, spec) if spec else str(v)


def report(out):
    lines = [f"SIP benchmark {out['date']}  ({out['mode']})",
             f"host: {out['host']['cpus']} CPUs, {out['host']['kernel']}, load average "
             f"{out['host']['loadavg_start']} at start, {out['host']['loadavg_end']} at end",
             f"pinning: target on CPU {out['pinning']['target_cpus']}, sipp UAC+UAS (and this script)"
             f" on CPU {out['pinning']['sipp_cpus']}; target and sipp "
             + (f"SCHED_RR priority {out['params']['rt_priority']}" if out['params']['rt_priority']
                else f"at nice {out['params']['nice']}"),
             f"sipp: {out['versions']['sipp']}; calls of the ramp: hold {out['params']['hold_ms']} ms,"
             f" no RTP, {out['params']['step_seconds']} s per step, stop above "
             f"{out['params']['max_fail_pct']} % failed", ""]
    for r in out["targets"]:
        lines.append(f"== {r['target']}: {r['description']}")
        info = r.get("info", {})
        for k in ("version", "rtpengine_version"):
            if k in info:
                lines.append(f"   {info[k]}")
        if "children" in info:
            lines.append(f"   kamailio -n {info['children']} -m {info['shm_mb']} -M {info['pkg_mb']}"
                         + (f"; rtpengine {info['rtpengine_threads']} threads, ports "
                            f"{info['rtpengine_ports']}" if "rtpengine_threads" in info else ""))
        if "error" in r:
            lines.append(f"   ERROR: {r['error']}")
        ramp = r.get("ramp")
        if ramp:
            rows = [[s["rate"], fmt(s["placing_cps"], ".0f"), s["placed"], s["ok"], s["failed"],
                     f"{s['fail_pct']:.3f}", s["retransmissions"], fmt(s["response_ms_avg"], ".1f"),
                     f"{s['target_cpu_s']:.2f}", fmt(s["target_cpu_ms_per_call"], ".3f"),
                     fmt(s["target_cpu_pct_peak"], ".0f"), fmt(s["sipp_cpu_pct_peak"], ".0f"),
                     f"{fmt(s.get('others_on_target_cpus_pct'), '.0f')}/"
                     f"{fmt(s.get('others_on_load_cpus_pct'), '.0f')}"
                     + ("!" if s.get("noisy") else "")]
                    for s in ramp["steps"]]
            lines.append(table(rows, ["CPS", "placing", "calls", "ok", "failed", "fail%", "retrans",
                                      "resp ms", "cpu s", "ms/call", "target% max", "sipp% max",
                                      "others% t/s"]))
        conc = r.get("concurrent") or []
        if conc:
            lines.append("   concurrent calls (each level set up, then all held together):")
            rows = [[c["calls"], c["rtp"], c["setup_cps"], f"{c['hold_ms'] / 1000:.1f}", c["placed"],
                     c["ok"], c["failed"], c["peak_concurrent"], fmt(c.get("all_up_s")),
                     fmt(c.get("target_cpu_pct_all_up")), f"{c['target_cpu_s']:.1f}",
                     fmt(c.get("relayed_pps_all_up")), fmt(c.get("expected_relayed_pps")),
                     fmt(c.get("rtp_loss_pct"), ".3f"), fmt(c.get("sipp_cpu_pct_peak"), ".0f"),
                     fmt(c.get("rtp_load_cpu_pct"), ".0f")] for c in conc]
            lines.append(table(rows, ["calls", "RTP", "CPS", "hold s", "placed", "ok", "failed",
                                      "peak", "all up s", "target% all up", "cpu s",
                                      "relayed pkt/s", "expected", "loss%", "sipp% max", "rtp-load%"]))
            for c in conc:
                if c.get("rtp_load_error"):
                    lines.append(f"   {c['calls']} calls: RTP load: {c['rtp_load_error']}")
                elif c.get("target_cpu_pct_by_process_all_up"):
                    lines.append(f"   {c['calls']} calls, while the RTP load sent: " + ", ".join(
                        f"{k} {v} %" for k, v in c["target_cpu_pct_by_process_all_up"].items())
                        + f" of a core; calls with RTP {c['rtp_load']['sessions']}, legs that got nothing "
                        f"{c['rtp_load']['legs_without_packets']}")
        lines.append("")
    rows = []
    for r in out["targets"]:
        ramp = r.get("ramp") or {}
        held = [c for c in r.get("concurrent") or [] if c["failed"] == 0 and c.get("all_up_s")]
        best = max(held, key=lambda c: c["calls"]) if held else None
        top = ramp.get("max_cps_zero_failures")
        if (ramp.get("steps") and ramp.get("stopped_at") is None and "error" not in r
                and len(ramp["steps"]) == len(out["params"]["steps"])):
            top = f">= {top}"  # never failed: the limit is above the last step
        by = ramp.get("cpu_ms_per_call_by_process_at_max") or {}
        rows.append([r["target"], fmt(top),
                     fmt(ramp.get("cpu_ms_per_call_at_max"), ".3f")
                     + (" (" + ", ".join(f"{k} {v:.3f}" for k, v in by.items()) + ")"
                        if len(by) > 1 else ""),
                     fmt(ramp.get("stopped_at")),
                     f"{best['calls']} (RTP {best['rtp']})" if best else "-",
                     fmt(best.get("target_cpu_pct_all_up")) if best else "-",
                     r.get("error", "ok")[:40]])
    lines.append("summary:")
    lines.append(table(rows, ["target", "CPS 0 fail", "CPU ms/call there", "first failing step",
                              "concurrent held, 0 fail", "target% then", "run"]))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# main


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--target", action="append", metavar="NAME",
                   help="target to measure, repeatable or comma-separated "
                        f"(default: {','.join(TARGETS)})")
    p.add_argument("--list-targets", action="store_true")
    p.add_argument("--quick", action="store_true",
                   help=f"CI mode, under 2 minutes for both Kamailio targets: steps "
                        f"{','.join(map(str, QUICK_STEPS))} of 4 s, 200 concurrent calls")
    p.add_argument("--json", metavar="FILE", help="write the figures as JSON to FILE")
    p.add_argument("--steps", help="comma-separated CPS steps, empty for no ramp "
                                   f"(default {','.join(map(str, FULL_STEPS))})")
    p.add_argument("--step-seconds", type=float, help="calls are placed for this long per step "
                                                      "(default 10, quick 4)")
    p.add_argument("--hold-ms", type=int, default=1000, help="call hold time in the ramp")
    p.add_argument("--max-fail-pct", type=float, default=0.1,
                   help="stop the ramp after a step with more failed calls than this")
    p.add_argument("--settle", type=float, help="seconds after the UAC exits that are still "
                   "counted (transactions' wait timers) (default 5, quick 2)")
    p.add_argument("--noisy-pct", type=float, default=10.0,
                   help="a step during which other processes used more than this %% of the "
                        "target's CPUs is run again (this is a shared VM)")
    p.add_argument("--noisy-retries", type=int,
                   help="how many times a noisy step is run again; the least noisy run is kept "
                        "(default 1, quick 0)")
    p.add_argument("--quiet-wait", type=float,
                   help="before each measurement, wait up to this long for other processes to "
                        "use less than --noisy-pct of either core (default 60, quick 0)")
    p.add_argument("--recv-timeout", type=float, default=8.0,
                   help="sipp UAC -recv_timeout in seconds: a call waiting longer fails")
    p.add_argument("--concurrent", help="concurrent calls to hold, comma-separated levels run "
                   "in turn until one fails, 0 for none (default 1000,2000,5000, quick 200)")
    p.add_argument("--concurrent-rate", type=int, help="CPS at which they are set up "
                                                       "(default 250, quick 100)")
    p.add_argument("--concurrent-hold", type=float,
                   help="seconds all of them stay up (default 10, quick 4)")
    p.add_argument("--no-rtp", action="store_true", help="concurrent calls without RTP")
    p.add_argument("--rtp-mode", choices=("stream", "pcap"), default="stream",
                   help="stream: sipp rtp_stream of the pcap's audio (50 packets/s per call, "
                        "many calls per thread); pcap: play_pcap_audio (one thread per call)")
    p.add_argument("--pcap", default="/usr/share/sip-tester/g711a.pcap",
                   help="audio (PCMA) the UAC sends in the concurrent calls")
    p.add_argument("--rt-priority", type=int, default=0,
                   help="run the target and sipp under SCHED_RR at this priority (chrt -r), "
                        "0 for the normal scheduler; see README.md")
    p.add_argument("--nice", type=int, default=0,
                   help="niceness of the target and sipp (nice -n)")
    p.add_argument("--local-ip", default=LOCAL,
                   help="the address every process binds (on lo). tandem needs one outside 127/8 (its "
                        "dataplane refuses loopback media addresses): with an address of 198.18.0.0/15 "
                        "the script puts it on lo for the run (e.g. 198.18.50.1)")
    p.add_argument("--tandem-media-ip", default="198.18.51.1",
                   help="tandem with RTP: sipp's media address (-mi, in its SDP), put on lo for the run; the "
                        "calls' remotes, so not --local-ip (the dataplane port's own address)")
    p.add_argument("--proxy-cpus", default="0", help="CPUs of the target (taskset -c)")
    p.add_argument("--load-cpus", default="1", help="CPUs of sipp and this script")
    p.add_argument("--proxy-port", type=int, default=5060)
    p.add_argument("--uac-port", type=int, default=5070)
    p.add_argument("--uas-port", type=int, default=5080)
    p.add_argument("--uac-media-port", type=int, default=20000,
                   help="first RTP port of the UAC (rtp_stream takes 2 per call upwards)")
    p.add_argument("--uas-media-port", type=int, default=17000, help="RTP echo port of the UAS")
    p.add_argument("--uac-control-port", type=int, default=18888)
    p.add_argument("--uas-control-port", type=int, default=18889)
    p.add_argument("--kamailio-children", type=int, default=4, help="UDP workers (kamailio -n)")
    p.add_argument("--kamailio-shm", type=int, default=512, help="shared memory MB (-m)")
    p.add_argument("--kamailio-pkg", type=int, default=16, help="private memory MB per process (-M)")
    p.add_argument("--rtpengine-ng-port", type=int, default=2223)
    p.add_argument("--rtpengine-ports", default="30000-59999", help="media port range")
    p.add_argument("--rtpengine-threads", type=int, default=2)
    p.add_argument("--keep", action="store_true", help="keep the run directory (logs, sipp stats)")
    a = p.parse_args(argv)
    q = a.quick
    if a.steps is None:
        a.steps = QUICK_STEPS if q else FULL_STEPS
    else:
        a.steps = [int(x) for x in a.steps.split(",") if x.strip()]
    a.step_seconds = a.step_seconds or (4.0 if q else 10.0)
    a.settle = a.settle if a.settle is not None else (2.0 if q else 5.0)
    a.quiet_wait = a.quiet_wait if a.quiet_wait is not None else (0.0 if q else 60.0)
    a.noisy_retries = a.noisy_retries if a.noisy_retries is not None else (0 if q else 1)
    if a.concurrent is None:
        a.concurrent = "200" if q else "1000,2000,5000"
    a.concurrent = [int(x) for x in a.concurrent.split(",") if x.strip() and int(x) > 0]
    a.concurrent_rate = a.concurrent_rate or (100 if q else 250)
    a.concurrent_hold = a.concurrent_hold if a.concurrent_hold is not None else (4.0 if q else 10.0)
    lo, hi = (int(x) for x in a.rtpengine_ports.split("-"))
    a.rtpengine_ports = (lo, hi)
    names = []
    for t in a.target or [",".join(TARGETS)]:
        names += [x.strip() for x in t.split(",") if x.strip()]
    for n in names:
        if n not in TARGETS:
            p.error(f"unknown target {n!r}; known: {', '.join(TARGETS)}")
    a.targets = names
    return a


def preflight(a):
    if os.geteuid() != 0:
        raise BenchError("run as root (the targets bind ports and raise their limits)")
    for tool in ("sipp", "taskset") + tuple(
            x for n in a.targets for x in (("kamailio",) if n.startswith("kamailio") else ())
            + (("rtpengine",) if n == "kamailio-rtpengine" else ())):
        if not shutil.which(tool):
            raise BenchError(f"{tool} not found (apt-get install -y kamailio rtpengine-daemon "
                             "sip-tester)")
    ports = {"proxy": a.proxy_port, "uac": a.uac_port, "uas": a.uas_port,
             "uac media": a.uac_media_port, "uas media": a.uas_media_port,
             "uac control": a.uac_control_port, "uas control": a.uas_control_port}
    if "kamailio-rtpengine" in a.targets:
        ports["rtpengine ng"] = a.rtpengine_ng_port
    busy = [f"{k} {v}" for k, v in ports.items() if not udp_port_free(v)]
    if busy:
        raise BenchError(f"UDP ports in use on {LOCAL}: " + ", ".join(busy)
                         + " (a leftover kamailio/rtpengine/sipp? `ss -ulpn`)")
    if a.concurrent and not a.no_rtp and not Path(a.pcap).is_file():
        raise BenchError(f"{a.pcap} not found (package sip-tester)")


def add_local_ip(ip):
    """Puts `ip` on lo for the run when it is a benchmark address (198.18.0.0/15) not yet
    there; True if it did."""
    import ipaddress
    addr = ipaddress.ip_address(ip)
    if addr.is_loopback:
        return False
    have = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True).stdout
    if f" {ip}/" in have:
        return False
    if addr not in ipaddress.ip_network("198.18.0.0/15"):
        raise BenchError(f"--local-ip {ip} is on no interface (only 198.18.0.0/15 is added to lo)")
    subprocess.run(["ip", "addr", "add", f"{ip}/32", "dev", "lo"], check=True, capture_output=True)
    return True


def remove_dpdk_files(prefix):
    """EAL's run-time directory and hugepage files of a file prefix (a killed DPDK process
    leaves them)."""
    for base in ("/var/run/dpdk", "/run/dpdk"):
        shutil.rmtree(Path(base) / prefix, ignore_errors=True)
    for mount in ("/dev/hugepages", "/mnt/huge"):
        for f in Path(mount).glob(prefix + "map_*") if Path(mount).is_dir() else ():
            f.unlink(missing_ok=True)


def on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    if a.list_targets:
        for n, c in TARGETS.items():
            print(f"{n:20s} {c.description}")
        return 0
    Proc.nice, Proc.rt = a.nice, a.rt_priority
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        os.sched_setaffinity(0, {int(c) for c in a.load_cpus.replace("-", ",").split(",")})
    except (OSError, ValueError):
        pass
    started = time.monotonic()
    out = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
           "mode": "quick" if a.quick else "full",
           "host": {"cpus": os.cpu_count(), "kernel": platform.release(),
                    "loadavg_start": loadavg(), "cpu_pressure_start": cpu_pressure()},
           "pinning": {"target_cpus": a.proxy_cpus, "sipp_cpus": a.load_cpus,
                       "script_cpus": sorted(os.sched_getaffinity(0))},
           "versions": {"sipp": first_line(["sipp", "-v"])},
           "params": {k: v for k, v in vars(a).items()
                      if k not in ("list_targets", "json", "target")},
           "targets": []}
    root = None
    rc = 0
    added_ip = False
    try:
        global LOCAL
        LOCAL = a.local_ip
        added_ip = add_local_ip(LOCAL)
        preflight(a)
        root = Path(tempfile.mkdtemp(prefix="sip_bench."))
        for name in a.targets:
            run = Run(a, TARGETS[name], root)
            try:
                run.execute()
            except BenchError as e:
                log(f"{name}: {e}")
                run.result["error"] = str(e).splitlines()[0]
                rc = 1
            except KeyboardInterrupt:
                run.result["error"] = "interrupted"
                raise
            finally:
                run.stop()
                out["targets"].append(run.result)
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}), cleaning up")
        rc = 130
    except BenchError as e:
        log(str(e))
        rc = 2
    finally:
        stop_all()
        if added_ip:
            subprocess.run(["ip", "addr", "del", f"{LOCAL}/32", "dev", "lo"], capture_output=True)
        if root:
            if a.keep:
                log(f"run directory kept: {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)
    out["host"]["loadavg_end"] = loadavg()
    out["host"]["cpu_pressure_end"] = cpu_pressure()
    out["elapsed_s"] = round(time.monotonic() - started, 1)
    if out["targets"]:
        print(report(out))
        print(f"\n(elapsed {out['elapsed_s']} s)")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2, default=str) + "\n")
        log(f"figures written to {a.json}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
