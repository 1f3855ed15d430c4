"""What a caller into the attendant hears, on the wire: a tone prompt to send,
tshark on the caller's veth, the RTP it captured. Shared by the menu tests and
the attendant's bench through the node (bench/attendant/menu_bench.py).
"""

import math
import os
import struct
import subprocess
import sys
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sip"))
sys.path.insert(0, os.path.join(HERE, ".."))

from harness import in_ns, spawn, stop_process, wait_for  # noqa: E402
from lab import NODE_IP, read_text  # noqa: E402


def tone_wav(path, hz, seconds):
    """8 kHz mono 16-bit PCM: a tone, so that every frame's payload differs from silence."""
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / 8000)))
                               for i in range(8000 * seconds)))
    return path


def read_pcap(path):
    """(time, src_port, dst_port, udp payload) of each IPv4/UDP frame of a pcap file."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return out
    endian = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    off = 24
    while off + 16 <= len(data):
        sec, usec, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
            continue
        ihl = (frame[14] & 0x0f) * 4
        udp = frame[14 + ihl:]
        sport, dport, length = struct.unpack(">HHH", udp[:6])
        out.append((sec + usec / 1e6, sport, dport, udp[8:length]))
    return out


class Capture:
    """tshark on the caller's wire of a sip lab: what the node sends it, RTP and RTCP (not SIP)."""

    def __init__(self, lab, name):
        self.path = os.path.join(lab.workdir, f"{name}-{time.monotonic_ns()}.pcap")
        self.err = open(self.path + ".err", "w")
        self.proc = spawn(in_ns(lab.topo.caller, ["tshark", "-q", "-i", lab.topo.caller_if, "-F", "pcap", "-w", self.path,
                                                  "-f", f"udp and src host {NODE_IP} and not port 5060"]),
                          stdout=subprocess.DEVNULL, stderr=self.err)
        wait_for(lambda: "Capturing on" in read_text(self.path + ".err"), 20, interval=0.05, what="tshark ready")

    def stop(self):
        time.sleep(0.3)  # the last packets in flight
        stop_process(self.proc, timeout=10, sig=2)
        self.err.close()
        return [p for p in read_pcap(self.path) if len(p[3]) >= 12 and p[3][0] >> 6 == 2 and p[3][1] & 0x7f < 72]


def rtp_fields(payload):
    b0, b1, seq, ts, ssrc = struct.unpack(">BBHII", payload[:12])
    return {"marker": bool(b1 & 0x80), "pt": b1 & 0x7f, "seq": seq, "ts": ts, "ssrc": ssrc, "data": payload[12:]}
