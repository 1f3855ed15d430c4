"""Measurements (a) and (b): the CPS ramp and the target's CPU per call at each step; for a target
that dispatches to several UAS, the calls each got per step and (distribution()) over a run of
--skew-calls calls."""

import time

from .common import SCENARIOS, log
from .net import udp_errors
from .cpu import CLK_TCK, cpu_busy_ticks, cpu_ticks, own_cpu_seconds, parse_cpus, peak_util
from .sipp import call_figures


def skew(counts):
    """max/min of the calls per server (None when one got none)."""
    return round(max(counts) / min(counts), 4) if counts and min(counts) > 0 else None


def cps_step(run, rate, calls=None, name=None):
    """One step: `rate` CPS for --step-seconds (or `calls` calls). The target's CPU is counted until
    --settle s after the UAC exits (its transactions' timers), sipp's and the load CPUs' only
    while the UAC runs."""
    a = run.args
    calls = calls or int(round(rate * a.step_seconds))
    seconds = calls / rate
    hold_s = a.hold_ms / 1000.0
    timeout = seconds + hold_s + a.recv_timeout * 2 + 5
    run.check_alive()
    servers0, udp0 = run.server_counts(), udp_errors()
    cores0 = cpu_busy_ticks(parse_cpus(run.proxy_cpus))
    lcores0, me0 = cpu_busy_ticks(parse_cpus(run.load_cpus)), own_cpu_seconds()
    pids0, by0 = run.target.pids(), run.target.cpu_by_process()
    tt0, tl0, uas0, w0 = cpu_ticks(pids0), run.load_ticks(), run.uas_counters(), time.monotonic()
    samples, load = [(w0, tt0)], []

    def tick(p):
        now = time.monotonic()
        samples.append((now, cpu_ticks(run.target.pids())))
        load.append((now, cpu_ticks([p.pid] + run.uas_pids())))

    last, rows, uac_cpu, uac_wall, rc = run.run_uac(
        name or f"uac_{rate}", SCENARIOS / "uac.xml", rate, calls, a.hold_ms,
        max(100, int(rate * (hold_s + 1) * 3)), timeout, on_tick=tick)
    tl1, lcores1, me1 = run.load_ticks(), cpu_busy_ticks(parse_cpus(run.load_cpus)), own_cpu_seconds()
    time.sleep(a.settle)
    pids1, by1 = run.target.pids(), run.target.cpu_by_process()
    tt1, w1, udp1 = cpu_ticks(pids1), time.monotonic(), udp_errors()
    cores1 = cpu_busy_ticks(parse_cpus(run.proxy_cpus))
    uas1 = run.uas_counters()
    run.check_alive()
    fig = call_figures(last, rows, calls)
    tcpu = (tt1 - tt0) / CLK_TCK
    step = {"rate": rate, "seconds": round(seconds, 2), "hold_ms": a.hold_ms, **fig,
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
            "target_processes": len(set(pids0) | set(pids1)), "sipp_exit": rc,
            # the UAC's retransmissions, timeouts and unexpected messages per scenario message, and
            # the host's UDP datagrams dropped for a full receive buffer during the step
            "uac_messages": run.uac_message_counts(),
            "udp_rcvbuf_errors": udp1["rcvbuf"] - udp0["rcvbuf"]}
    if servers0 is not None:
        # -trace_counts is written once a second: --settle (>= 2 s) has let the last one through
        per = [b - c for c, b in zip(servers0, run.server_counts())]
        step.update(per_server=per, skew=skew(per))
    if sorted(set(pids0)) != sorted(set(pids1)):
        step["note"] = "target processes changed during the step"
    return step


def noise(step):
    return max(step["others_on_target_cpus_pct"], step["others_on_load_cpus_pct"])


def ramp_summary(steps, best0, best_lim, max_fail_pct):
    """best0: the last step without a failed call; best_lim: the last within --max-fail-pct."""
    return {
        "steps": steps,
        "max_cps_zero_failures": best0["rate"] if best0 else 0,
        "cpu_ms_per_call_at_max": best0["target_cpu_ms_per_call"] if best0 else None,
        "cpu_ms_per_call_by_process_at_max":
            best0["cpu_ms_per_call_by_process"] if best0 else None,
        "max_cps_within_limit": best_lim["rate"] if best_lim else 0,
        "stopped_at": steps[-1]["rate"] if steps and steps[-1]["fail_pct"] > max_fail_pct
        else None}


def ramp(run):
    a = run.args
    steps, best0, best_lim = [], None, None
    for rate in run.steps:
        log(f"{run.target.name}: {rate} CPS for {a.step_seconds} s")
        # what is there so far, if interrupted
        run.result["ramp"] = ramp_summary(steps, best0, best_lim, a.max_fail_pct)
        run.wait_quiet()
        st = cps_step(run, rate)
        for _ in range(0 if a.rt_priority else a.noisy_retries):
            if noise(st) <= a.noisy_pct:
                break
            log(f"{run.target.name}: {rate} CPS: other processes took "
                f"{st['others_on_target_cpus_pct']} % of the target's CPU and "
                f"{st['others_on_load_cpus_pct']} % of sipp's: running the step again")
            run.wait_quiet()
            again = cps_step(run, rate)
            if noise(again) < noise(st):
                st = again
        st["noisy"] = noise(st) > a.noisy_pct and not a.rt_priority
        steps.append(st)
        log(f"{run.target.name}: {rate} CPS: {st['ok']}/{st['placed']} ok, "
            f"{st['failed']} failed ({st['fail_pct']:.3f} %), "
            f"{st['target_cpu_ms_per_call']} ms CPU/call, target at {st['target_cpu_pct_peak']} % of "
            f"a core at most, sipp at {st['sipp_cpu_pct_peak']} % at most"
            + (f", UDP datagrams dropped (full buffers) {st['udp_rcvbuf_errors']}" if st["udp_rcvbuf_errors"] else "")
            + (f", UAC {st['uac_messages']}" if st["uac_messages"] else ""))
        if st["fail_pct"] > a.max_fail_pct:
            break
        if st["failed"] == 0:
            best0 = st
        best_lim = st
    return ramp_summary(steps, best0, best_lim, a.max_fail_pct)


def distribution(run):
    """--skew-calls calls at --skew-rate CPS to the target's servers, before the ramp: the INVITEs
    each UAS got, and the skew (max/min). Also a CPU-per-call figure of its own."""
    a = run.args
    run.result["distribution"] = None  # what is there so far, if interrupted
    log(f"{run.target.name}: distribution: {a.skew_calls} calls at {a.skew_rate} CPS to "
        f"{len(run.uas_addrs)} servers")
    run.wait_quiet()
    st = cps_step(run, a.skew_rate, calls=a.skew_calls, name="uac_distribution")
    log(f"{run.target.name}: distribution: {st['ok']}/{st['placed']} ok, {st['failed']} failed, "
        f"per server {st['per_server']}, skew (max/min) {st['skew']}, "
        f"{st['target_cpu_ms_per_call']} ms CPU/call")
    return st
