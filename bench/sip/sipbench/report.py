"""The printed report: a header, a section per target (ramp and concurrent calls) and a summary."""


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
    ramp = r.get("ramp")
    if ramp:
        lines.append(ramp_table(ramp["steps"]))
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
             f"{fmt(s.get('others_on_target_cpus_pct'), '.0f')}/"
             f"{fmt(s.get('others_on_load_cpus_pct'), '.0f')}"
             + ("!" if s.get("noisy") else "")]
            for s in steps]
    return table(rows, ["CPS", "placing", "calls", "ok", "failed", "fail%", "retrans",
                        "resp ms", "cpu s", "ms/call", "target% max", "sipp% max",
                        "others% t/s"])


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
    return table(rows, ["target", "CPS 0 fail", "CPU ms/call there", "first failing step",
                        "concurrent held, 0 fail", "target% then", "run"])
