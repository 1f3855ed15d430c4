"""The printed report: a header, a section per target (ramp, distribution, concurrent calls), a
summary, and the comparisons of a target with the one it is measured against (comparisons())."""


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
    lines = header_lines(out)
    for r in out["targets"]:
        lines += target_lines(r)
    lines.append("summary:")
    lines.append(summary_table(out))
    for c in out.get("comparisons") or []:
        lines += comparison_lines(c)
    return "\n".join(lines)


def header_lines(out):
    return [f"SIP benchmark {out['date']}  ({out['mode']})",
            f"host: {out['host']['cpus']} CPUs, {out['host']['kernel']}, load average "
            f"{out['host']['loadavg_start']} at start, {out['host']['loadavg_end']} at end",
            f"pinning: target on CPU {out['pinning']['target_cpus']}, sipp UAC+UAS (and this script)"
            f" on CPU {out['pinning']['sipp_cpus']}; target and sipp "
            + (f"SCHED_RR priority {out['params']['rt_priority']}" if out['params']['rt_priority']
               else f"at nice {out['params']['nice']}"),
            f"sipp: {out['versions']['sipp']}; calls of the ramp: hold {out['params']['hold_ms']} ms,"
            f" no RTP, {out['params']['step_seconds']} s per step, stop above "
            f"{out['params']['max_fail_pct']} % failed", ""]


def target_lines(r):
    lines = [f"== {r['target']}: {r['description']}"]
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
    if r.get("servers"):
        lines.append(f"   servers (a sipp UAS each): {', '.join(r['servers'])}")
    ramp = r.get("ramp")
    if ramp:
        lines.append(ramp_table(ramp["steps"]))
    d = r.get("distribution")
    if d:
        lines.append(f"   distribution: {d['placed']} calls at {d['rate']} CPS, {d['failed']} failed; INVITEs "
                     f"per server {d['per_server']} (sum {sum(d['per_server'])}): skew max/min "
                     f"{fmt(d['skew'], '.4f')}; {fmt(d['target_cpu_ms_per_call'], '.3f')} ms CPU/call")
    stats = (r.get("target_stats") or {}).get("stats", {}).get("counters")
    if stats:
        lines.append("   its counters at the end: " + ", ".join(
            f"{k} {v}" for k, v in stats.items() if v and not k.startswith("stack_")))
    conc = r.get("concurrent") or []
    if conc:
        lines += concurrent_lines(conc)
    lines.append("")
    return lines


def ramp_table(steps):
    rows = [[s["rate"], fmt(s["placing_cps"], ".0f"), s["placed"], s["ok"], s["failed"],
             f"{s['fail_pct']:.3f}", s["retransmissions"], fmt(s["response_ms_avg"], ".1f"),
             f"{s['target_cpu_s']:.2f}", fmt(s["target_cpu_ms_per_call"], ".3f"),
             fmt(s["target_cpu_pct_peak"], ".0f"), fmt(s["sipp_cpu_pct_peak"], ".0f"),
             fmt(s.get("udp_rcvbuf_errors")),
             f"{fmt(s.get('others_on_target_cpus_pct'), '.0f')}/"
             f"{fmt(s.get('others_on_load_cpus_pct'), '.0f')}"
             + ("!" if s.get("noisy") else "")]
            + ([fmt(s.get("skew"), ".3f")] if "per_server" in s else [])
            for s in steps]
    return table(rows, ["CPS", "placing", "calls", "ok", "failed", "fail%", "retrans",
                        "resp ms", "cpu s", "ms/call", "target% max", "sipp% max",
                        "udp drops", "others% t/s"] + (["skew"] if any("per_server" in s for s in steps) else []))


def concurrent_lines(conc):
    lines = ["   concurrent calls (each level set up, then all held together):"]
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
    return lines


def summary_table(out):
    rows = []
    for r in out["targets"]:
        ramp = r.get("ramp") or {}
        held = [c for c in r.get("concurrent") or [] if c["failed"] == 0 and c.get("all_up_s")]
        best = max(held, key=lambda c: c["calls"]) if held else None
        top = ramp.get("max_cps_zero_failures")
        if never_failed(r):
            top = f">= {top}"  # never failed: the limit is above the last step
        by = ramp.get("cpu_ms_per_call_by_process_at_max") or {}
        rows.append([r["target"], fmt(top),
                     fmt(ramp.get("cpu_ms_per_call_at_max"), ".3f")
                     + (" (" + ", ".join(f"{k} {v:.3f}" for k, v in by.items()) + ")"
                        if len(by) > 1 else ""),
                     fmt(ramp.get("stopped_at")),
                     f"{best['calls']} (RTP {best['rtp']})" if best else "-",
                     fmt(best.get("target_cpu_pct_all_up")) if best else "-",
                     fmt((r.get("distribution") or {}).get("skew"), ".4f"),
                     r.get("error", "ok")[:40]])
    return table(rows, ["target", "CPS 0 fail", "CPU ms/call there", "first failing step",
                        "concurrent held, 0 fail", "target% then", "skew", "run"])


def never_failed(r):
    """The ramp ran every step without stopping: its limit is above the last step."""
    ramp = r.get("ramp") or {}
    return bool(ramp.get("steps") and ramp.get("stopped_at") is None and "error" not in r
                and len(ramp["steps"]) == len(r.get("steps_planned") or []))


def comparisons(out):
    """Each target that names another (compare_to) in the same run, against it: CPS at 0 failures,
    CPU per call at the highest rate both passed with 0 failures (the cost per call falls as the
    rate rises: compare at one rate) and at each one's own highest, the skew; with the goals."""
    by_name = {r["target"]: r for r in out["targets"]}
    res = []
    for r in out["targets"]:
        o = by_name.get(r.get("compare_to"))
        if not o or not r.get("ramp") or not o.get("ramp"):
            continue
        goals = r.get("goals") or {}
        mine, theirs = r["ramp"], o["ramp"]
        c = {"target": r["target"], "against": o["target"], "goals": goals,
             "cps": mine["max_cps_zero_failures"], "cps_against": theirs["max_cps_zero_failures"],
             "cps_is_lower_bound": never_failed(r), "cps_against_is_lower_bound": never_failed(o)}
        if c["cps_against"]:
            c["cps_ratio"] = round(c["cps"] / c["cps_against"], 3)
        ok0 = lambda ramp: {s["rate"]: s for s in ramp["steps"] if s["failed"] == 0
                            and s["target_cpu_ms_per_call"]}
        mine0, theirs0 = ok0(mine), ok0(theirs)
        common = sorted(set(mine0) & set(theirs0))
        if common:
            rate = common[-1]
            a, b = mine0[rate]["target_cpu_ms_per_call"], theirs0[rate]["target_cpu_ms_per_call"]
            c.update(cpu_rate=rate, cpu_ms=a, cpu_ms_against=b, cpu_ratio=round(a / b, 3))
        if mine.get("cpu_ms_per_call_at_max") and theirs.get("cpu_ms_per_call_at_max"):
            c["cpu_ratio_at_each_max"] = round(mine["cpu_ms_per_call_at_max"] / theirs["cpu_ms_per_call_at_max"], 3)
        for k, t in (("skew", r), ("skew_against", o)):
            c[k] = (t.get("distribution") or {}).get("skew")
        # CPS: a ramp that never failed gives a lower bound; the other's lower bound says nothing
        # of the ratio unless it is the other's ratio that is bounded from above (never, here)
        cps_ok = c.get("cps_ratio") is not None and c["cps_ratio"] >= goals.get("cps_ratio", 0)
        if c["cps_against_is_lower_bound"] or (c["cps_is_lower_bound"] and not cps_ok):
            cps_ok = None  # undetermined: the ramp stopped below a limit
        c["verdicts"] = {
            "cps_ratio": cps_ok,
            "cpu_ratio": c.get("cpu_ratio") is not None and c["cpu_ratio"] <= goals.get("cpu_ratio", 1e9),
            "skew": c["skew"] is not None and c["skew"] <= goals.get("skew", 1e9)}
        res.append(c)
    return res


def comparison_lines(c):
    g, v = c["goals"], c["verdicts"]
    verdict = lambda k: {True: "meets the goal", False: "MISSES THE GOAL"}.get(
        v[k], "undetermined (a ramp ended below its limit: more steps)")
    ge = lambda lower: ">= " if lower else ""
    lines = ["", f"{c['target']} against {c['against']}:",
             f"   CPS at 0 failures: {ge(c['cps_is_lower_bound'])}{c['cps']} / "
             f"{ge(c['cps_against_is_lower_bound'])}{c['cps_against']} = {fmt(c.get('cps_ratio'), '.2f')}x "
             f"(goal >= {g.get('cps_ratio')}x): {verdict('cps_ratio')}"]
    if "cpu_ratio" in c:
        lines.append(f"   CPU per call at {c['cpu_rate']} CPS (the highest rate both passed): "
                     f"{c['cpu_ms']:.3f} / {c['cpu_ms_against']:.3f} ms = {c['cpu_ratio']:.2f}x "
                     f"(goal <= {g.get('cpu_ratio')}x): {verdict('cpu_ratio')}; at each one's highest "
                     f"passing rate: {fmt(c.get('cpu_ratio_at_each_max'), '.2f')}x")
    else:
        lines.append("   CPU per call: no rate that both passed with 0 failures")
    lines.append(f"   skew (max/min calls per server): {fmt(c['skew'], '.4f')} (goal <= {g.get('skew')}): "
                 f"{verdict('skew')}; {c['against']}: {fmt(c['skew_against'], '.4f')}")
    return lines
