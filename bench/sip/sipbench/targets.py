"""The proxies under test: class Target, its subclasses and TARGETS, what --target accepts."""

import json
import os
import shutil
import subprocess
from pathlib import Path

from . import net
from .common import KAMAILIO_DIR, SIP_DIR, BenchError, first_line, wait_until
from .cpu import cpu_ticks, descendants, parse_cpus
from .procs import wait_poll


class Target:
    """A proxy under test. Subclass it, set name/description, implement start(), pids(), stop()
    (and optionally info() and media_stats()), and add the class to TARGETS.

    ctx (a Run) gives what a target needs:
      ctx.workdir           this target's run directory (deleted at the end)
      ctx.proxy_cpus        the CPU list to pin the target on (taskset -c syntax)
      ctx.sip_port          the port the target listens on for SIP (UDP, on 127.0.0.1)
      ctx.uas               (host, port) of the sipp UAS every INVITE must be routed to
      ctx.uas_addrs         with dispatches: [(host, port)] of every sipp UAS (the servers)
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
    # A dispatcher: one sipp UAS per --server-ips address (ctx.uas_addrs), its own ramp
    # (default_steps), and the calls per server counted (distribution, skew).
    dispatches = False
    probes_servers = False  # it sends OPTIONS to its servers: the UAS answer them (sipp -aa)
    concurrent_calls = True  # measurement (c) applies
    # The target this one is measured against, and the goals of the ratios (report.comparisons):
    # cps_ratio (>=), cpu_ratio (<=) and skew (<=).
    compare_to = None
    goals = None
    # sipp's socket buffers (-buff_size) unless --sipp-buffer says; None: sipp's own (64 KiB)
    sipp_buffer = None

    def __init__(self, ctx):
        self.ctx = ctx
        self.procs = []

    @property
    def sip_addr(self):
        return (net.LOCAL, self.ctx.sip_port)

    @property
    def media_ip(self):
        """The address sipp puts in its SDP and binds its media to (-mi)."""
        return net.LOCAL

    def start_rtp_load(self, seconds, json_path):
        """With own_rtp: starts RTP for every call that is up, for `seconds`; returns a handle
        that a Proc's poll(), wait(), stop(), tail(), name and returncode would be, done once
        the summary is in json_path."""
        raise NotImplementedError

    def start(self):
        raise NotImplementedError

    @classmethod
    def default_steps(cls, args):
        """The ramp without --steps; None: the command's default."""
        return None

    def final_stats(self):
        """The target's own counters at the end of its run (JSON), or None."""
        return None

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
    config = "kamailio.cfg"

    def dispatcher_list(self):
        host, port = self.ctx.uas
        return f"1 sip:{host}:{port}\n"

    def defines(self):
        a = self.ctx.args
        if not self.with_rtpengine:
            return []
        return ["-A", "WITH_RTPENGINE", "-A", f'RTPENGINE_SOCK="udp:{net.LOCAL}:{a.rtpengine_ng_port}"']

    def kamailio_argv(self):
        a, wd = self.ctx.args, self.ctx.workdir
        ds = wd / "dispatcher.list"
        ds.write_text(self.dispatcher_list())
        return ["kamailio", "-f", KAMAILIO_DIR / self.config, "-DD", "-E",
                "-n", a.kamailio_children, "-m", a.kamailio_shm, "-M", a.kamailio_pkg,
                "-l", f"udp:{net.LOCAL}:{self.ctx.sip_port}", "-Y", wd, "-P", wd / "kamailio.pid",
                "-A", f'DS_LIST="{ds}"'] + self.defines()

    def start(self):
        self.kamailio = self.ctx.spawn("kamailio", self.kamailio_argv())
        self.procs.append(self.kamailio)
        wait_until(lambda: net.sip_options(*self.sip_addr), 20, "Kamailio to answer OPTIONS",
                   self.kamailio)

    def info(self):
        d = super().info()
        d.update(version=first_line(["kamailio", "-v"]),
                 children=self.ctx.args.kamailio_children,
                 shm_mb=self.ctx.args.kamailio_shm, pkg_mb=self.ctx.args.kamailio_pkg,
                 config=str(KAMAILIO_DIR / self.config))
        return d


class KamailioRtpengine(Kamailio):
    name = "kamailio-rtpengine"
    description = ("the same Kamailio + rtpengine-daemon in userspace mode (table -1): "
                   "rtpengine_offer/answer/delete per call over ng/UDP on loopback")
    with_rtpengine = True
    media_anchored = True

    def start(self):
        a, wd = self.ctx.args, self.ctx.workdir
        self.ng = (net.LOCAL, a.rtpengine_ng_port)
        argv = ["rtpengine", f"--config-file={KAMAILIO_DIR / 'rtpengine.conf'}",
                "--config-section=bench", f"--pidfile={wd / 'rtpengine.pid'}",
                f"--interface={net.LOCAL}", f"--listen-ng={net.LOCAL}:{a.rtpengine_ng_port}",
                f"--port-min={a.rtpengine_ports[0]}", f"--port-max={a.rtpengine_ports[1]}",
                f"--num-threads={a.rtpengine_threads}"]
        self.rtpengine = self.ctx.spawn("rtpengine", argv)
        self.procs.append(self.rtpengine)
        # Kamailio pings rtpengine once at start and disables it for 60 s if there is no answer
        wait_until(lambda: (net.ng_command(self.ng, "ping", 0.3) or {}).get("result") == b"pong",
                   20, "rtpengine to answer an ng ping", self.rtpengine)
        super().start()

    def media_stats(self):
        st = net.ng_command(self.ng, "statistics", 2.0)
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


def tandem_binary(rel):
    """A program of the build: $TANDEM_BUILD_DIR (or build/ at the top of the tree) / rel."""
    path = Path(os.environ.get("TANDEM_BUILD_DIR", SIP_DIR.parent.parent / "build")) / rel
    if not os.access(path, os.X_OK):
        raise BenchError(f"{path} is not built (./tools/prepare builds it)")
    return path


def remove_dpdk_files(prefix):
    """EAL's run-time directory and hugepage files of a file prefix (a killed DPDK process
    leaves them)."""
    for base in ("/var/run/dpdk", "/run/dpdk"):
        shutil.rmtree(Path(base) / prefix, ignore_errors=True)
    for mount in ("/dev/hugepages", "/mnt/huge"):
        for f in Path(mount).glob(prefix + "map_*") if Path(mount).is_dir() else ():
            f.unlink(missing_ok=True)


class ServedMeasurement:
    """One measurement of a generator started with --serve, as the level's sampler sees a
    process: finished when its summary file appears (written whole, by rename), or when the
    generator has died."""

    def __init__(self, server, json_path, number):
        self.server, self.json_path = server, Path(json_path)
        self.name = f"{server.name} measurement {number}"
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            if self.json_path.exists():
                self.returncode = 0
            elif self.server.poll() is not None:
                self.returncode = self.server.returncode or 1
        return self.returncode

    def wait(self, timeout):
        return wait_poll(self.poll, timeout)

    def stop(self, grace=0):
        """Nothing to stop: the generator outlives its measurements (the target stops it)."""

    def tail(self, n=15):
        return self.server.tail(n)


class Tandem(Target):
    """tandem-control (the B2BUA) with its tandem-dataplane: each call is routed by the Rules DB
    (outbound least-cost routing to a provider that is the sipp UAS), gets a dataplane session
    (create, update with the answer, delete with the final counters) and leaves a CDR in
    MariaDB. MariaDB runs on the load CPUs and is not counted: the target is what a Tandem node
    runs.

    The dataplane's port: for the concurrent calls with RTP it is a net_memif and
    tandem-bench-rtp-load (bench/rtp_load.cc, on the load CPUs like sipp) sends the RTP of every
    call as the callers and callees would, and counts what the dataplane relays back; sipp only
    holds the calls (it cannot stream thousands of calls from one core). The generator is the
    memif server, started first and kept for the whole run (--serve: one measurement per
    level), and the dataplane the zero-copy client: DPDK's memif copies every packet on the
    server's side only, so the dataplane's CPU is its own work, as on a NIC that DMAs (the
    copying rig cost it ~40 % of its profile). Its media address (--tandem-media-ip, on lo) is
    not the dataplane port's own, so that the relayed packets leave through the memif. Both
    DPDK processes run on hugepages. Otherwise (--no-rtp, or no concurrent calls) the port is a
    net_null vdev: sessions are real, packets are not."""

    name = "tandem"
    description = ("tandem-control (sofia-sip B2BUA: rules lookup, least-cost routing, CDR per call "
                   "to MariaDB) + tandem-dataplane session per call (net_memif port with "
                   "tandem-bench-rtp-load for RTP, zero-copy on the dataplane's side, or net_null with --no-rtp)")
    media_anchored = True
    service = "+12125550100"  # a number: calls are routed by it
    DP_MAC = "02:00:00:00:d0:01"  # the dataplane's memif
    LOAD_MAC = "02:00:00:00:1a:01"  # tandem-bench-rtp-load's memif
    DP_MEMORY_MB = 256
    # Two rings of 4,096 slots that the zero-copy client fills with its own mbufs, bursts and
    # the exception path: more than the dataplane sizes from descriptors, which memif ignores.
    DP_MBUFS = 32768
    LOAD_MEMORY_MB = 128

    def __init__(self, ctx):
        super().__init__(ctx)
        a = ctx.args
        self.own_rtp = bool(a.concurrent) and not a.no_rtp
        self.added_media_ip = False
        self.load_runs = 0
        self.load_prefix = None  # the generator's EAL file prefix, removed at stop

    @property
    def media_ip(self):
        return self.ctx.args.tandem_media_ip if self.own_rtp else net.LOCAL

    def binary(self, rel):
        return tandem_binary(rel)

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
        if net.LOCAL.startswith("127."):
            raise BenchError("tandem: run with --local-ip 198.18.50.1 (its dataplane refuses loopback media "
                             "addresses, rightly)")
        control, dataplane, self.ctl = (self.binary("control/server/tandem-control"),
                                        self.binary("dataplane/tandem-dataplane"),
                                        self.binary("tools/tandemctl/tandemctl"))
        if self.own_rtp:
            self.rtp_load_bin = self.binary("bench/tandem-bench-rtp-load")
            self.check_hugepages()
            if a.tandem_media_ip == net.LOCAL:
                raise BenchError("--tandem-media-ip must differ from --local-ip (the dataplane port's address)")
            self.added_media_ip = net.add_local_ip(a.tandem_media_ip)
        db = self.start_db()
        self.start_dataplane(dataplane)
        self.control = self.ctx.spawn("tandem-control", [
            control, "--sip", f"{net.LOCAL}:{self.ctx.sip_port}", "--dataplane-socket", self.dp_sock,
            "--rules-db", *db, "--rules-db-user", "root", "--cdr-db", *db, "--cdr-db-user", "root",
            "--cdr-spool-dir", wd / "spool", "--rules-saved", wd / "rules.saved", "--control-socket", wd / "control.sock",
            "--capacity", "1000000", "--log-level", "warn", "--country-code", "1",
            "--cdr-dc-id", "1", "--cdr-node-id", "1"])
        self.procs.append(self.control)
        wait_until(lambda: net.sip_options(*self.sip_addr), 30, "tandem-control to answer OPTIONS", self.control)

    def start_db(self):
        """Starts MariaDB with the rules the calls need; the address (argv) of both databases."""
        # MariaDB: the Rules DB and the CDR DB, in this run's directory, on the load CPUs.
        wd, ctl = self.ctx.workdir, self.ctl
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
            "customers": f"name,time_zone,vm_sip\nbench,UTC,sip:pbx@{net.LOCAL}\n",
            "providers": f"name,sip_address\nuas,sip:{host}:{port}\n",
            "rates": "provider,prefix,cost_per_min\nuas,1,0.01\n",
        }
        for table, csv in tables.items():
            path = wd / f"{table}.csv"
            path.write_text(csv)
            subprocess.run([ctl, "rules", "import", "--db", *db, "--db-user", "root", table, path],
                           check=True, capture_output=True, timeout=60)
        return db

    def start_dataplane(self, dataplane):
        # The dataplane: two lcores (main, one worker) on the target's first CPU, adaptive polling.
        # A call takes 4 relay ports of the one port (RTP and RTCP of both legs): 20000-59999
        # holds 10,000 calls (the default range, 2,500).
        a, wd = self.ctx.args, self.ctx.workdir
        cpu = sorted(parse_cpus(self.ctx.proxy_cpus))[0]
        self.dp_sock = wd / "dataplane.sock"
        self.memif_sock = wd / "memif.sock"
        self.prefix = f"sipbench{os.getpid()}"
        if self.own_rtp:
            self.start_rtp_server()
            eal = ["-m", self.DP_MEMORY_MB, "--single-file-segments",
                   "--vdev", self.memif_vdev("client", self.DP_MAC) + ",zero-copy=yes"]
            mbufs = ["--mbufs", self.DP_MBUFS]
        else:
            eal = ["--no-huge", "-m", self.DP_MEMORY_MB, "--vdev", "net_null0,no-rx=1"]
            mbufs = []
        self.dataplane = self.ctx.spawn("dataplane", [
            dataplane, *eal, "--lcores", f"0@{cpu},1@{cpu}", "--file-prefix", self.prefix, "--no-pci", "--",
            "--port", f"0:{net.LOCAL}/8,role=public,tap=tsb{os.getpid() % 100000}", "--poll-mode", "adaptive",
            "--relay-ports", "20000-59999", "--control-socket", self.dp_sock, *mbufs,
            "--max-sessions", str(max(a.concurrent or [0]) * 2 + 10000)])
        self.procs.append(self.dataplane)
        wait_until(lambda: self.dp_sock.exists(), 30, "tandem-dataplane's socket", self.dataplane)

    def memif_vdev(self, role, mac):
        # rsize=12: 4,096 slots per ring, so that a few ms without a poll (two cores shared by
        # everything) do not overflow it at 500,000 packets/s.
        return f"net_memif0,role={role},socket={self.memif_sock},socket-abstract=no,rsize=12,mac={mac}"

    def start_rtp_server(self):
        """The generator, the memif's server: up before the dataplane connects to it, measuring
        when start_rtp_load() asks."""
        prefix = self.load_prefix = f"{self.prefix}load"
        cpu = sorted(parse_cpus(self.ctx.load_cpus))[0]
        self.rtp_server = self.ctx.spawn("rtp_load", [
            self.rtp_load_bin, "-m", self.LOAD_MEMORY_MB, "--lcores", f"0@{cpu}", "--file-prefix", prefix,
            "--no-pci", "--vdev", self.memif_vdev("server", self.LOAD_MAC), "--",
            "--socket", self.dp_sock, "--dataplane-mac", self.DP_MAC, "--attach-timeout", "120", "--serve"],
            cpus=self.ctx.load_cpus, stdin_pipe=True)  # not in self.procs: the load is not the target
        wait_until(lambda: self.memif_sock.exists(), 60, "tandem-bench-rtp-load's memif socket", self.rtp_server)

    def start_rtp_load(self, seconds, json_path):
        self.load_runs += 1
        Path(json_path).unlink(missing_ok=True)
        if self.rtp_server.poll() is not None:
            raise BenchError(f"tandem-bench-rtp-load exited {self.rtp_server.returncode}: "
                             + (self.rtp_server.tail(3).splitlines() or ["?"])[-1])
        self.rtp_server.popen.stdin.write(f"{seconds:g} {json_path}\n".encode())
        self.rtp_server.popen.stdin.flush()
        return ServedMeasurement(self.rtp_server, json_path, self.load_runs)

    def stop(self):
        super().stop()
        if getattr(self, "rtp_server", None):
            self.rtp_server.popen.stdin.close()  # its end of input: it detaches and exits
            self.rtp_server.wait(5)
            self.rtp_server.stop()
        if getattr(self, "db", None):
            self.db.stop()
        for prefix in (getattr(self, "prefix", None), self.load_prefix):
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



# The dispatching targets (issue 13): a proxy in front of --server-ips, one sipp UAS each, that
# probes them with OPTIONS every --probe-interval, record-routes, forwards statefully and fails over
# after --server-timeout ms without an answer or on a 5xx. Their ramp goes higher than a call
# server's: neither anchors media nor keeps a dialog.
class Dispatching:
    dispatches = True
    probes_servers = True
    concurrent_calls = False  # no media through them: measurement (c) says nothing of theirs
    # From 3,000 CPS the UAC's socket overflowed with sipp's 64 KiB buffers (the load core busy
    # with it and 4 UAS): retransmissions that were the load's, not the proxy's
    sipp_buffer = 4 * 1024 * 1024
    # Quick: steps 1.5x apart, so that a proxy with 1.5x the other's capacity shows it (issue 13's
    # goal) while the ramp stays short; full: 500 apart up to what one core of sipp can place.
    FULL_STEPS = list(range(500, 6001, 500))
    QUICK_STEPS = [1500, 3000, 4500]

    @classmethod
    def default_steps(cls, args):
        return cls.QUICK_STEPS if args.quick else cls.FULL_STEPS


class KamailioDispatcher(Dispatching, Kamailio):
    name = "kamailio-dispatcher"
    description = ("Kamailio stateful proxy (tm) with the dispatcher module: algorithm 10 (call load, "
                   "its own call table by Call-ID), OPTIONS probes (ds_probing_mode 1), failover to the "
                   "next server (ds_next_dst), record-route; no dialog module")
    config = "kamailio-dispatcher.cfg"

    def dispatcher_list(self):
        # algorithm 10 wants a duid per destination; maxload=0: no limit of calls
        return "".join(f"1 sip:{host}:{port} 0 0 duid=uas{k};maxload=0\n"
                       for k, (host, port) in enumerate(self.ctx.uas_addrs, 1))

    def defines(self):
        a = self.ctx.args
        return ["-A", f"DS_PING_INTERVAL={a.probe_interval // 1000}",
                "-A", f"SERVER_TIMEOUT={a.server_timeout}"]

    def info(self):
        d = super().info()
        d.update(dispatcher_list=self.dispatcher_list().splitlines())
        return d


class TandemSbc(Dispatching, Target):
    name = "sbc"
    description = ("tandem-sbc: least-loaded dispatch (round-robin among equal loads), OPTIONS probes, "
                   "failover, record-route, stateful INVITE forwarding, no dialog state")
    compare_to = KamailioDispatcher.name
    goals = {"cps_ratio": 1.5, "cpu_ratio": 0.7, "skew": 1.05}  # issue 13, "Benchmarks"

    def start(self):
        a, wd = self.ctx.args, self.ctx.workdir
        self.socket = wd / "sbc.sock"
        servers = []
        for k, (host, port) in enumerate(self.ctx.uas_addrs, 1):
            servers += ["--server", f"uas{k}={host}:{port}"]
        # The UAC (and the script's own OPTIONS) come from --local-ip: a peer. No limit of
        # INVITEs per source: the UAC is one source sending thousands a second.
        self.sbc = self.ctx.spawn("tandem-sbc", [
            tandem_binary("control/sbc/tandem-sbc"), "--sip", f"{net.LOCAL}:{self.ctx.sip_port}", *servers,
            "--peer", f"uac={net.LOCAL}/32", "--invite-rate", "0",
            "--probe-interval", a.probe_interval, "--probe-misses", "2", "--server-timeout", a.server_timeout,
            "--control-socket", self.socket, "--log-level", "warn",
            *(["--sip-transaction-lifetime", a.sbc_transaction_lifetime] if a.sbc_transaction_lifetime else [])])
        self.procs.append(self.sbc)
        wait_until(lambda: net.sip_options(*self.sip_addr), 20, "tandem-sbc to answer OPTIONS", self.sbc)

    def final_stats(self):
        if self.sbc.poll() is not None:
            return None
        out = {}
        for cmd in ("stats", "servers"):
            reply = net.operator_command(self.socket, cmd)
            if reply is not None:
                out[cmd] = reply
        return out

    def info(self):
        d = super().info()
        d.update(log_level="warn", invite_rate=0)
        return d


# The targets --target accepts. Add a target here: name -> class (see class Target).
TARGETS = {
    Kamailio.name: Kamailio,
    KamailioRtpengine.name: KamailioRtpengine,
    Tandem.name: Tandem,
    TandemSbc.name: TandemSbc,
    KamailioDispatcher.name: KamailioDispatcher,
}
