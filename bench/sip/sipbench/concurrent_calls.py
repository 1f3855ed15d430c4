"""Measurement (c): concurrent calls, each level set up and then held together, with RTP."""

import json
import math
import time
from pathlib import Path

from .common import SCENARIOS, log
from .cpu import CLK_TCK, cpu_busy_ticks, cpu_ticks, parse_cpus, peak_util
from .sipp import call_figures, fill_scenario, num, pcap_info, pcap_payload, read_sipp_stats

# A target's own RTP load (Tandem: tandem-bench-rtp-load) starts once all calls are up and needs
# about a second to attach and half a second to drain: the calls are held this much longer.
RTP_LOAD_MARGIN_S = 4


def concurrent_levels(run):
    out = []
    for n in run.args.concurrent:
        run.result["concurrent"] = out  # what is there so far, if interrupted
        run.wait_quiet()
        res = concurrent_level(run, n)
        out.append(res)
        log(f"{run.target.name}: {n} concurrent: {res['ok']}/{res['placed']} ok, peak "
            f"{res['peak_concurrent']} at once, target at {res.get('target_cpu_pct_all_up')} % "
            f"while all up, sipp at {res['sipp_cpu_pct_peak']} % at most"
            + (f", relayed {res.get('relayed_pps_all_up')} of {res.get('expected_relayed_pps')} "
               f"packets/s" if res.get("expected_relayed_pps") else "")
            + (f", RTP loss {res['rtp_loss_pct']} %, rtp-load at {res['rtp_load_cpu_pct']} %"
               if "rtp_loss_pct" in res else "")
            + (f", RTP load: {res['rtp_load_error']}" if res.get("rtp_load_error") else ""))
        if res["fail_pct"] > run.args.max_fail_pct:
            break
    return out


def concurrent_level(run, n):
    a = run.args
    rate = a.concurrent_rate
    setup_s = n / rate
    # A target with its own RTP load (own_rtp) starts it once all n calls are up, for
    # --concurrent-hold s: the calls last long enough for its start-up and drain too.
    own_rtp = run.target.own_rtp
    hold_ms = int((setup_s + a.concurrent_hold + (RTP_LOAD_MARGIN_S if own_rtp else 1)) * 1000)
    scenario, hold_ms, pps_per_call, rtp = uac_scenario(run, hold_ms)
    timeout = setup_s + hold_ms / 1000.0 + a.recv_timeout * 2 + 10
    log(f"{run.target.name}: {n} concurrent calls, RTP {rtp}, set up at {rate} CPS, "
        f"each held {hold_ms / 1000:.1f} s")
    run.check_alive()
    sampler = LevelSampler(run, n)
    sampler.tick(None)
    samples = sampler.samples
    m0, tl0 = samples[0][3], run.load_ticks()
    cores0 = cpu_busy_ticks(parse_cpus(run.proxy_cpus))
    last, rows, uac_cpu, wall, _ = run.run_uac(
        f"uac_concurrent_{n}", scenario, rate, n, hold_ms, n + 10, timeout, on_tick=sampler.tick)
    sipp_pct = round(100.0 * (uac_cpu + (run.load_ticks() - tl0) / CLK_TCK) / wall, 1)
    cores1, tt1 = cpu_busy_ticks(parse_cpus(run.proxy_cpus)), cpu_ticks(run.target.pids())
    time.sleep(a.settle)
    sampler.tick(None)
    run.check_alive()
    fig = call_figures(last, rows, n)
    peak = max([num(r, "CurrentCall") for r in rows] + [s[2] for s in samples])
    res = {"calls": n, "setup_cps": rate, "hold_ms": hold_ms, "rtp": rtp, **fig,
           "peak_concurrent": peak, "wall_s": round(wall, 1),
           "target_cpu_s": round((samples[-1][1] - samples[0][1]) / CLK_TCK, 2),
           "sipp_uac_cpu_s": round(uac_cpu, 2), "sipp_cpu_pct": sipp_pct,
           "sipp_cpu_pct_peak": peak_util(sampler.load),
           "others_on_target_cpus_pct": round(max(0.0, 100.0 * (
               (cores1[0] - cores0[0]) - (tt1 - samples[0][1])) / CLK_TCK / wall), 1)}
    res.update(all_up_figures(samples, n, peak, pps_per_call))
    if m0 and samples[-1][3]:
        res["media"] = {k: samples[-1][3][k] - m0[k] for k in m0 if k != "sessions_now"}
    if own_rtp:
        res.update(rtp_load_figures(n, sampler))
    return res


def uac_scenario(run, hold_ms):
    """The UAC's scenario for a level; with the hold time in ms (a pcap plays whole times), the
    RTP packets/s each call's caller sends and the level's RTP column."""
    a = run.args
    if run.target.own_rtp:
        # per leg: what each leg's remote sends, relayed to the other
        return SCENARIOS / "uac.xml", hold_ms, 50.0, "rtp-load"
    if a.no_rtp:
        return SCENARIOS / "uac.xml", hold_ms, 0, "none"
    if a.rtp_mode == "pcap":
        packets, pcap_ms = pcap_info(a.pcap)
        plays = max(1, math.ceil(hold_ms / pcap_ms))
        scenario = fill_scenario(SCENARIOS / "uac_rtp_pcap.xml", run.workdir, PCAP=a.pcap,
                                 PCAP_MS=pcap_ms, PLAYS=plays)
        return scenario, plays * pcap_ms, packets * 1000.0 / pcap_ms, a.rtp_mode
    audio = run.workdir / "audio.pcma"
    audio.write_bytes(pcap_payload(a.pcap))
    scenario = fill_scenario(SCENARIOS / "uac_rtp_stream.xml", run.workdir, AUDIO=audio)
    return scenario, hold_ms, 50.0, a.rtp_mode  # sipp's rtp_stream: PCMA, 160 bytes every 20 ms


class LevelSampler:
    """The UAC's on_tick for a level of n calls; tick(None) samples before and after the UAC."""

    def __init__(self, run, n):
        self.run, self.n = run, n
        self.samples = []  # (t, target ticks, current calls, media stats)
        self.load = []  # (t, sipp ticks)
        # own RTP load: the generator, its summary and (unix time, target ticks, ticks by
        # process, media stats) while it runs
        self.rtp_load = None
        self.rtp_load_json = run.workdir / f"rtp_load_{n}.json"
        self.rtp_load_samples = []

    def tick(self, p):
        run, target = self.run, self.run.target
        rows = read_sipp_stats(run.workdir / f"uac_concurrent_{self.n}.csv")
        cur = num(rows[-1], "CurrentCall") if rows else 0
        now = time.monotonic()
        # the relay's counters once a second: the query itself costs the target CPU
        media = None
        if p is None or not self.samples or now - max(
                (x[0] for x in self.samples if x[3] is not None), default=0) >= 1.0:
            media = target.media_stats()
        ticks = cpu_ticks(target.pids())
        self.samples.append((now, ticks, cur, media))
        if p is not None:
            self.load.append((now, cpu_ticks([p.pid] + run.uas_pids())))
        if target.own_rtp and p is not None:
            if self.rtp_load is None and cur >= self.n:
                log(f"{target.name}: all {self.n} calls up: RTP for {run.args.concurrent_hold:g} s")
                self.rtp_load = target.start_rtp_load(run.args.concurrent_hold, self.rtp_load_json)
            elif self.rtp_load is not None and self.rtp_load.poll() is None:
                self.rtp_load_samples.append((time.time(), ticks, target.cpu_by_process(), media))


def all_up_figures(samples, n, peak, pps_per_call):
    """The target's CPU and relayed packets while all n calls were up (samples of LevelSampler)."""
    full = [s for s in samples if s[2] >= 0.99 * n]
    if len(full) < 2:
        return {"all_up_s": 0, "note": f"never {n} calls up at once (peak {peak})"}
    dt = full[-1][0] - full[0][0]
    res = {"all_up_s": round(dt, 1),
           "target_cpu_pct_all_up": round(100.0 * (full[-1][1] - full[0][1]) / CLK_TCK / dt, 1)}
    fm = [x for x in full if x[3] is not None]
    if len(fm) >= 2 and fm[-1][0] > fm[0][0]:
        pps = (fm[-1][3]["relayed_packets"] - fm[0][3]["relayed_packets"]) / (fm[-1][0] - fm[0][0])
        res["relayed_pps_all_up"] = round(pps)
        if pps_per_call:
            # UAC -> relay -> UAS echo -> relay -> UAC: two relayed packets per sent packet
            res["expected_relayed_pps"] = round(2 * n * pps_per_call)
    return res


def rtp_load_figures(n, sampler):
    """The concurrent level's media figures from the target's own RTP load: the generator's
    summary, and the target's CPU and relayed packets while it sent (from the samples taken
    between its start and end)."""
    p = sampler.rtp_load
    if p is None:
        return {"rtp_load_error": "not started: the calls were never all up"}
    if p.wait(RTP_LOAD_MARGIN_S + 10) is None:
        log(f"{p.name} still running after the calls ended: stopping it")
    p.stop(grace=2)
    try:
        summary = json.loads(Path(sampler.rtp_load_json).read_text())
    except (OSError, ValueError):
        return {"rtp_load_error": f"{p.name} exited {p.returncode} without a summary: "
                                  + (p.tail(3).splitlines() or ["?"])[-1]}
    if "error" in summary:
        return {"rtp_load_error": f"{p.name}: {summary['error']}: " + (p.tail(3).splitlines() or ["?"])[-1]}
    out = {"rtp_load": {k: summary[k] for k in (
               "sessions", "legs", "seconds", "sent", "received", "expected", "lost", "loss_pct",
               "lost_by_seq", "out_of_order", "bad_payload_or_ssrc", "legs_without_packets",
               "pps_sent", "pps_received", "expected_pps", "tx_failed", "cpu_pct")},
           "rtp_loss_pct": round(summary["loss_pct"], 4),
           "rtp_load_cpu_pct": round(summary["cpu_pct"], 1),
           # both legs of every call: 50 packets/s each, relayed to the other leg's remote
           "expected_relayed_pps": round(2 * n * 50)}
    win = [s for s in sampler.rtp_load_samples
           if summary["start_unix_s"] <= s[0] <= summary["end_unix_s"]]
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
