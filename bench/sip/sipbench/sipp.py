"""sipp's side: its statistics files and what they say about the calls, the pcap it plays and the
scenario templates it is given."""

import struct
from pathlib import Path

from .common import BenchError


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


def call_figures(last, rows, planned):
    """The calls of one UAC run from its last statistics row and all its rows."""
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


def fill_scenario(template, workdir, **fields):
    """A copy of a scenario template in workdir with its @FIELD@s replaced."""
    text = Path(template).read_text()
    for k, v in fields.items():
        text = text.replace(f"@{k}@", str(v))
    out = Path(workdir) / Path(template).name
    out.write_text(text)
    return out
