#!/usr/bin/env python3
"""Write a small, valid G.711 u-law (PCMU, RTP payload type 0) pcap for SIPp's
play_pcap_audio: N packets of 20 ms (160 samples), 1 kHz tone, proper RTP
headers (V=2, M=1 on the first packet, seq +1, timestamp +160, fixed SSRC),
Ethernet/IPv4/UDP framing (SIPp rewrites the addresses and ports when it plays
the file, so the ones in the file do not matter).

Standard library only.  Usage: gen_pcmu_pcap.py [OUT] [PACKETS]
Defaults: pcmu_1s.pcap next to this script, 50 packets (1 s).
"""
import math
import os
import struct
import sys

PTIME_MS = 20
SAMPLES = 8 * PTIME_MS          # 160 samples per packet at 8 kHz
SSRC = 0x5A5A0001
PT_PCMU = 0


def linear_to_ulaw(sample):
    """G.711 u-law encoder for a 16-bit signed linear sample."""
    BIAS, CLIP = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    if sample < 0:
        sample = -sample
    sample = min(sample, CLIP) + BIAS
    exponent, mask = 7, 0x4000
    while exponent > 0 and not sample & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def ip_checksum(header):
    total = sum(struct.unpack("!%dH" % (len(header) // 2), header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build(packets):
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]  # pcap, DLT_EN10MB
    src_ip, dst_ip = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])
    sport = dport = 40000
    for n in range(packets):
        payload = bytes(
            linear_to_ulaw(int(8000 * math.sin(2 * math.pi * 1000 * (n * SAMPLES + i) / 8000)))
            for i in range(SAMPLES))
        rtp = struct.pack("!BBHII", 0x80, (0x80 if n == 0 else 0) | PT_PCMU,
                          n & 0xFFFF, (n * SAMPLES) & 0xFFFFFFFF, SSRC) + payload
        udp = struct.pack("!HHHH", sport, dport, 8 + len(rtp), 0) + rtp
        iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0xB8, 20 + len(udp), n & 0xFFFF, 0x4000,
                          64, 17, 0, src_ip, dst_ip)
        iph = iph[:10] + struct.pack("!H", ip_checksum(iph)) + iph[12:]
        eth = bytes.fromhex("020000000002" "020000000001") + struct.pack("!H", 0x0800)
        frame = eth + iph + udp
        usec = n * PTIME_MS * 1000
        out.append(struct.pack("<IIII", 1_700_000_000 + usec // 1_000_000, usec % 1_000_000,
                               len(frame), len(frame)))
        out.append(frame)
    return b"".join(out)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "pcmu_1s.pcap")
    packets = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    with open(path, "wb") as f:
        f.write(build(packets))
    print("%s: %d packets of %d ms PCMU" % (path, packets, PTIME_MS))


if __name__ == "__main__":
    main()
