"""Run: one target's run, from starting it and the sipp UAS to the last measurement; the
measurements themselves are in ramp.py and concurrent_calls.py."""

import time
from pathlib import Path

from . import net
from .common import SCENARIOS, BenchError, log, wait_until
from .concurrent_calls import concurrent_levels
from .cpu import CLK_TCK, cpu_busy_ticks, cpu_ticks, cpus_allowed, own_cpu_seconds, parse_cpus
from .procs import RUNNING, Proc
from .ramp import ramp
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
        self.uas = (net.LOCAL, args.uas_port)
        self.target = target_cls(self)
        self.uas_proc = None
        self.result = {"target": target_cls.name, "description": target_cls.description,
                       "media_anchored": target_cls.media_anchored}

    def spawn(self, name, argv, cpus=None):
        return Proc(name, argv, cpus or self.proxy_cpus, self.workdir)

    def sipp_common(self, name, port, media_port, cp):
        return ["sipp", "-i", net.LOCAL, "-p", port, "-mi", self.target.media_ip, "-mp", media_port, "-cp", cp,
                "-nostdin", "-trace_stat", "-stf", self.workdir / f"{name}.csv", "-fd", "1",
                "-trace_err", "-error_file", self.workdir / f"{name}_errors.log"]

    def start_uas(self):
        a = self.args
        argv = self.sipp_common("uas", a.uas_port, a.uas_media_port, a.uas_control_port)
        argv += ["-sf", SCENARIOS / "uas.xml", "-rtp_echo"]
        self.uas_proc = Proc("uas", argv, self.load_cpus, self.workdir)
        wait_until(lambda: not net.udp_port_free(a.uas_port), 10, "the sipp UAS to bind", self.uas_proc)
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
        argv += [f"{net.LOCAL}:{self.sip_port}", "-sf", scenario, "-s", self.target.service,
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
            self.result["ramp"] = ramp(self)
        if a.concurrent:
            if not t.alive():
                raise BenchError(f"{t.name} is not running any more")
            self.result["concurrent"] = concurrent_levels(self)
        self.result["uas"] = self.uas_counters()

    def stop(self):
        if self.uas_proc:
            self.uas_proc.stop(grace=2)
        self.target.stop()
