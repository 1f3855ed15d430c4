"""Run: one target's run, from starting it and the sipp UAS to the last measurement; the
measurements themselves are in ramp.py and concurrent_calls.py."""

import time
from pathlib import Path

from . import net
from .common import SCENARIOS, BenchError, log, wait_until
from .concurrent_calls import concurrent_levels
from .cpu import CLK_TCK, cpu_busy_ticks, cpu_ticks, cpus_allowed, own_cpu_seconds, parse_cpus
from .procs import RUNNING, Proc
from .ramp import distribution, ramp
from .sipp import num, read_sipp_stats


class Run:
    """One target's run; it is the ctx its Target is given (see class Target)."""

    def __init__(self, args, target_cls, root):
        self.args = args
        self.workdir = Path(root) / target_cls.name
        self.workdir.mkdir()
        self.proxy_cpus = args.proxy_cpus
        self.load_cpus = args.load_cpus
        self.sip_port = args.proxy_port
        # The sipp UAS the target routes calls to: one on the local address, or one per
        # --server-ips address for a target that dispatches (Target.dispatches).
        ips = args.server_ips if target_cls.dispatches else [net.LOCAL]
        self.uas_addrs = [(ip, args.uas_port) for ip in ips]
        self.uas = self.uas_addrs[0]
        self.steps = args.steps if args.steps_explicit else target_cls.default_steps(args) or args.steps
        self.target = target_cls(self)
        self.uas_procs = []
        self.result = {"target": target_cls.name, "description": target_cls.description,
                       "media_anchored": target_cls.media_anchored, "steps_planned": self.steps}
        if target_cls.compare_to:
            self.result.update(compare_to=target_cls.compare_to, goals=target_cls.goals)

    def spawn(self, name, argv, cpus=None, stdin_pipe=False):
        return Proc(name, argv, cpus or self.proxy_cpus, self.workdir, stdin_pipe=stdin_pipe)

    def sipp_common(self, name, port, media_port, cp, ip=None, media_ip=None):
        a = self.args
        buffer = a.sipp_buffer if a.sipp_buffer is not None else self.target.sipp_buffer
        return ["sipp", "-i", ip or net.LOCAL, "-p", port, "-mi", media_ip or self.target.media_ip,
                "-mp", media_port, "-cp", cp,
                "-nostdin", "-trace_stat", "-stf", self.workdir / f"{name}.csv", "-fd", "1",
                "-trace_err", "-error_file", self.workdir / f"{name}_errors.log"] + (
                    ["-buff_size", buffer] if buffer else [])

    def start_uas(self):
        """The UAS: one (RTP echo on the target's media address), or one per server address of a
        dispatching target, each with its media on its own address (no RTP: the ramp has none),
        -trace_counts for the INVITEs it got (the distribution), and -aa so that it answers the
        target's OPTIONS probes."""
        a = self.args
        many = len(self.uas_addrs) > 1
        for k, (ip, port) in enumerate(self.uas_addrs):
            name = f"uas{k + 1}" if many else "uas"
            argv = self.sipp_common(name, port, a.uas_media_port, a.uas_control_port + k, ip=ip,
                                    media_ip=ip if many else None)
            argv += ["-sf", SCENARIOS / "uas.xml"] + (["-trace_counts"] if many else ["-rtp_echo"])
            if self.target.probes_servers:
                argv.append("-aa")
            p = Proc(name, argv, self.load_cpus, self.workdir)
            self.uas_procs.append(p)
            wait_until(lambda: not net.udp_port_free(port, ip), 10, f"the sipp UAS {name} to bind", p)
        time.sleep(0.3)

    def uas_pids(self):
        return [p.pid for p in self.uas_procs]

    def uas_counters(self):
        """The UAS' calls, summed over all of them. With -aa an OPTIONS probe counts as an incoming
        call that never ends (sipp starts a call for it): `calls` and `current` include them."""
        out = {"calls": 0, "ok": 0, "failed": 0, "current": 0}
        for p in self.uas_procs:
            rows = read_sipp_stats(self.workdir / f"{p.name}.csv")
            r = rows[-1] if rows else {}
            for k, col in (("calls", "IncomingCall(C)"), ("ok", "SuccessfulCall(C)"),
                           ("failed", "FailedCall(C)"), ("current", "CurrentCall")):
                out[k] += num(r, col)
        return out

    def server_counts(self):
        """INVITEs (not retransmissions) each UAS has received so far, from its -trace_counts file
        (written every second, like its statistics), or None with a single UAS."""
        if len(self.uas_procs) < 2:
            return None
        out = []
        for p in self.uas_procs:
            rows = read_sipp_stats(self.workdir / f"uas_{p.pid}_counts.csv")
            out.append(num(rows[-1], "0_INVITE_Recv") if rows else 0)
        return out

    def load_ticks(self):
        return cpu_ticks(self.uas_pids())

    def check_alive(self):
        if not self.target.alive():
            dead = [p for p in self.target.procs if p.poll() is not None]
            raise BenchError(f"target {self.target.name}: {dead[0].name} exited "
                             f"({dead[0].returncode}):\n{dead[0].tail()}")
        for p in self.uas_procs:
            if p.poll() is not None:
                raise BenchError(f"sipp {p.name} exited ({p.returncode}):\n{p.tail()}")

    def run_uac(self, name, scenario, rate, calls, hold_ms, limit, timeout_s, on_tick=None):
        """One sipp UAC; returns its final stats row, its rows, rusage CPU s and wall s."""
        a = self.args
        argv = self.sipp_common(name, a.uac_port, a.uac_media_port, a.uac_control_port)
        argv += [f"{net.LOCAL}:{self.sip_port}", "-sf", scenario, "-s", self.target.service,
                 "-r", rate, "-m", calls, "-l", limit, "-d", hold_ms,
                 "-recv_timeout", int(a.recv_timeout * 1000), "-timeout", f"{int(timeout_s)}s", "-trace_counts"]
        p = Proc(name, argv, self.load_cpus, self.workdir)
        self.last_uac = (p, Path(scenario).stem)  # its -trace_counts file: STEM_PID_counts.csv
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

    def uac_message_counts(self, kinds=("Retrans", "Timeout", "Unexp")):
        """The last UAC's non-zero counts per scenario message of these kinds (e.g. "4_BYE_Retrans":
        the BYEs it sent again), from its -trace_counts file."""
        p, stem = self.last_uac
        rows = read_sipp_stats(self.workdir / f"{stem}_{p.pid}_counts.csv")
        last = rows[-1] if rows else {}
        return {k: num(last, k) for k in last if k.rsplit("_", 1)[-1] in kinds and num(last, k)}

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
        if t.dispatches:  # its servers first: its first probes find them up
            self.start_uas()
            t.start()
        else:  # the target first: it may put the UAS's media address on lo (tandem)
            t.start()
            self.start_uas()
        pids = t.pids()
        self.result.update(info=t.info(),
                           pinning={"target_cpus": self.proxy_cpus, "sipp_cpus": self.load_cpus,
                                    "target_processes": {str(p): cpus_allowed(p) for p in pids},
                                    "sipp_uas": {p.name: cpus_allowed(p.pid) for p in self.uas_procs}},
                           idle_cpu_pct=self.idle_cpu(1.0 if a.quick else 3.0))
        if len(self.uas_addrs) > 1:
            self.result["servers"] = [f"{ip}:{port}" for ip, port in self.uas_addrs]
        # The distribution first: the proxy fresh, not paying for the ramp's last (failed) step,
        # whose transactions retransmit for up to 32 s after it
        if len(self.uas_addrs) > 1 and a.skew_calls:
            self.result["distribution"] = distribution(self)
        if self.steps:
            self.result["ramp"] = ramp(self)
        if a.concurrent and t.concurrent_calls:
            if not t.alive():
                raise BenchError(f"{t.name} is not running any more")
            self.result["concurrent"] = concurrent_levels(self)
        self.result["uas"] = self.uas_counters()
        self.result["target_stats"] = t.final_stats()

    def stop(self):
        for p in self.uas_procs:
            p.stop(grace=2)
        self.target.stop()
