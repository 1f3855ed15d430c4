"""The command line: options, preflight checks, and main(), which runs every target and prints
the report (exit status 0 all ran, 1 a target could not run, 2 bad setup, 130 interrupted)."""

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import __doc__ as OVERVIEW
from . import net
from .common import BenchError, first_line, log
from .cpu import cpu_pressure, loadavg
from .procs import Proc, stop_all
from .report import comparisons, report
from .run import Run
from .targets import TARGETS

FULL_STEPS = list(range(250, 3001, 250))
QUICK_STEPS = [250, 750, 1250]
DISPATCH_SERVER_IPS = ["127.0.2.1", "127.0.2.2", "127.0.2.3", "127.0.2.4"]
# Without --target: the call servers (issue 5); the dispatchers (issue 13) are a run of their own.
DEFAULT_TARGETS = [n for n, c in TARGETS.items() if not c.dispatches]


def add_measurement_options(p):
    p.add_argument("--target", action="append", metavar="NAME",
                   help="target to measure, repeatable or comma-separated (default: "
                        f"{','.join(DEFAULT_TARGETS)}; the SBC comparison of issue 13: sbc,kamailio-dispatcher)")
    p.add_argument("--list-targets", action="store_true")
    p.add_argument("--quick", action="store_true",
                   help=f"CI mode, under 2 minutes for both Kamailio targets: steps "
                        f"{','.join(map(str, QUICK_STEPS))} of 4 s, 200 concurrent calls")
    p.add_argument("--json", metavar="FILE", help="write the figures as JSON to FILE")
    p.add_argument("--steps", help="comma-separated CPS steps, empty for no ramp (default "
                                   f"{','.join(map(str, FULL_STEPS))}, quick {','.join(map(str, QUICK_STEPS))}; "
                                   "a dispatching target has its own, see --list-targets)")
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
    p.add_argument("--skew-calls", type=int,
                   help="a dispatching target (sbc, kamailio-dispatcher): calls placed before the ramp "
                        "to count how many each server gets, 0 for none (default 10000, quick 2000)")
    p.add_argument("--skew-rate", type=int, default=1000, help="CPS of those calls")


def add_setup_options(p):
    p.add_argument("--rt-priority", type=int, default=0,
                   help="run the target and sipp under SCHED_RR at this priority (chrt -r), "
                        "0 for the normal scheduler; see README.md")
    p.add_argument("--nice", type=int, default=0,
                   help="niceness of the target and sipp (nice -n)")
    p.add_argument("--local-ip", default=net.LOCAL,
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
    p.add_argument("--sipp-buffer", type=int,
                   help="sipp's socket buffers in bytes (-buff_size; 0: sipp's own, 64 KiB) (default: 4 MiB "
                        "for a dispatching target, sipp's own for the others)")
    p.add_argument("--kamailio-children", type=int, default=4, help="UDP workers (kamailio -n)")
    p.add_argument("--kamailio-shm", type=int, default=4096,
                   help="shared memory MB (-m); 512 ran out at 3,000 CPS (tm: out of mem, 500)")
    p.add_argument("--kamailio-pkg", type=int, default=16, help="private memory MB per process (-M)")
    p.add_argument("--sbc-transaction-lifetime", type=int, default=None,
                   help="tandem-sbc --sip-transaction-lifetime, ms (default: the SBC's own)")
    p.add_argument("--server-ips", default=",".join(DISPATCH_SERVER_IPS),
                   help="a dispatching target's servers: one sipp UAS on each address (port --uas-port, "
                        "control ports from --uas-control-port up); 127/8, or 198.18.0.0/15 put on lo")
    p.add_argument("--probe-interval", type=int, default=1000,
                   help="ms between a dispatching target's OPTIONS probes to each server (Kamailio's "
                        "ds_ping_interval is in seconds: a multiple of 1000)")
    p.add_argument("--server-timeout", type=int, default=1000,
                   help="ms a dispatching target waits for any answer to an INVITE before the next server")
    p.add_argument("--rtpengine-ng-port", type=int, default=2223)
    p.add_argument("--rtpengine-ports", default="30000-59999", help="media port range")
    p.add_argument("--rtpengine-threads", type=int, default=2)
    p.add_argument("--keep", action="store_true", help="keep the run directory (logs, sipp stats)")


def apply_defaults(a):
    """The defaults that depend on --quick, and the options' lists parsed."""
    q = a.quick
    a.steps_explicit = a.steps is not None
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
    a.skew_calls = a.skew_calls if a.skew_calls is not None else (2000 if q else 10000)
    a.server_ips = [x.strip() for x in a.server_ips.split(",") if x.strip()]


def parse_args(argv):
    p = argparse.ArgumentParser(description=OVERVIEW.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_measurement_options(p)
    add_setup_options(p)
    a = p.parse_args(argv)
    apply_defaults(a)
    names = []
    for t in a.target or [",".join(DEFAULT_TARGETS)]:
        names += [x.strip() for x in t.split(",") if x.strip()]
    for n in names:
        if n not in TARGETS:
            p.error(f"unknown target {n!r}; known: {', '.join(TARGETS)}")
    a.targets = names
    if a.probe_interval < 1000 or a.probe_interval % 1000:
        p.error("--probe-interval: a multiple of 1000 ms (Kamailio's ds_ping_interval is in seconds)")
    if len(a.server_ips) < 2 or len(set(a.server_ips)) != len(a.server_ips):
        p.error("--server-ips: two distinct addresses at least")
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
    busy = [f"{k} {v}" for k, v in ports.items() if not net.udp_port_free(v)]
    if any(TARGETS[n].dispatches for n in a.targets):
        busy += [f"uas control {a.uas_control_port + k}" for k in range(1, len(a.server_ips))
                 if not net.udp_port_free(a.uas_control_port + k)]
        busy += [f"server {ip}:{a.uas_port}" for ip in a.server_ips
                 if not net.udp_port_free(a.uas_port, ip)]
    if busy:
        raise BenchError(f"UDP ports in use on {net.LOCAL}: " + ", ".join(busy)
                         + " (a leftover kamailio/rtpengine/sipp? `ss -ulpn`)")
    if a.concurrent and not a.no_rtp and not Path(a.pcap).is_file():
        raise BenchError(f"{a.pcap} not found (package sip-tester)")


def on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def new_output(a):
    """The JSON output before any target ran: date, host, pinning, versions, options."""
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "mode": "quick" if a.quick else "full",
            "host": {"cpus": os.cpu_count(), "kernel": platform.release(),
                     "loadavg_start": loadavg(), "cpu_pressure_start": cpu_pressure()},
            "pinning": {"target_cpus": a.proxy_cpus, "sipp_cpus": a.load_cpus,
                        "script_cpus": sorted(os.sched_getaffinity(0))},
            "versions": {"sipp": first_line(["sipp", "-v"])},
            "params": {k: v for k, v in vars(a).items()
                       if k not in ("list_targets", "json", "target")},
            "targets": []}


def run_target(a, name, root, out):
    """Measures one target into out["targets"]; False if it could not run."""
    run = Run(a, TARGETS[name], root)
    try:
        run.execute()
        return True
    except BenchError as e:
        log(f"{name}: {e}")
        run.result["error"] = str(e).splitlines()[0]
        return False
    except KeyboardInterrupt:
        run.result["error"] = "interrupted"
        raise
    finally:
        run.stop()
        out["targets"].append(run.result)


def run_targets(a, out):
    """Every target in turn; the exit status. Whatever happens, every process, the address put on
    lo and (without --keep) the run directory are gone at the end."""
    root = None
    rc = 0
    added = []
    try:
        net.LOCAL = a.local_ip
        if net.add_local_ip(net.LOCAL):
            added.append(net.LOCAL)
        if any(TARGETS[n].dispatches for n in a.targets):
            added += [ip for ip in a.server_ips if net.add_local_ip(ip)]
        preflight(a)
        root = Path(tempfile.mkdtemp(prefix="sip_bench."))
        for name in a.targets:
            if not run_target(a, name, root, out):
                rc = 1
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}), cleaning up")
        rc = 130
    except BenchError as e:
        log(str(e))
        rc = 2
    finally:
        stop_all()
        for ip in added:
            subprocess.run(["ip", "addr", "del", f"{ip}/32", "dev", "lo"], capture_output=True)
        if root:
            if a.keep:
                log(f"run directory kept: {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)
    return rc


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    if a.list_targets:
        for n, c in TARGETS.items():
            print(f"{n:20s} {c.description}")
            if c.dispatches:
                steps = [",".join(map(str, c.default_steps(argparse.Namespace(quick=q)))) for q in (False, True)]
                print(f"{'':20s} (its ramp: {steps[0]}; quick {steps[1]})")
        return 0
    Proc.nice, Proc.rt = a.nice, a.rt_priority
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        os.sched_setaffinity(0, {int(c) for c in a.load_cpus.replace("-", ",").split(",")})
    except (OSError, ValueError):
        pass
    started = time.monotonic()
    out = new_output(a)
    rc = run_targets(a, out)
    out["host"]["loadavg_end"] = loadavg()
    out["host"]["cpu_pressure_end"] = cpu_pressure()
    out["elapsed_s"] = round(time.monotonic() - started, 1)
    out["comparisons"] = comparisons(out)
    if out["targets"]:
        print(report(out))
        print(f"\n(elapsed {out['elapsed_s']} s)")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2, default=str) + "\n")
        log(f"figures written to {a.json}")
    return rc

