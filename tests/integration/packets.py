"""Frames and captures for the integration tests: Ethernet/ARP/IPv4/UDP/RTP
builders with correct checksums, and a minimal pcap reader and writer.

Standard library only. Addresses are text ("198.18.1.2", "02:00:00:00:00:01")
at the API and bytes inside.
"""

import socket
import struct

ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_8021Q = 0x8100
IPPROTO_UDP = 17

PCAP_MAGIC = 0xA1B2C3D4
PCAP_GLOBAL_HEADER = struct.Struct("<IHHiIII")
PCAP_RECORD_HEADER = struct.Struct("<IIII")
LINKTYPE_ETHERNET = 1


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def mac_text(raw):
    return ":".join(f"{b:02x}" for b in raw)


def ip_bytes(ip):
    return socket.inet_aton(ip)


def checksum(data):
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ethernet(dst_mac, src_mac, ethertype, payload, vlan=None):
    head = mac_bytes(dst_mac) + mac_bytes(src_mac)
    if vlan is not None:
        head += struct.pack("!HH", ETH_P_8021Q, vlan)
    return head + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, payload, proto=IPPROTO_UDP, ttl=64, ident=0, flags_frag=0x4000, options=b"",
         tos=0, total_length=None, version_ihl=None):
    """An IPv4 packet; the header fields can be set wrong on purpose."""
    ihl = 5 + len(options) // 4
    if version_ihl is None:
        version_ihl = 0x40 | ihl
    if total_length is None:
        total_length = 20 + len(options) + len(payload)
    header = struct.pack("!BBHHHBBH4s4s", version_ihl, tos, total_length, ident, flags_frag, ttl, proto, 0,
                         ip_bytes(src), ip_bytes(dst)) + options
    csum = checksum(header)
    return header[:10] + struct.pack("!H", csum) + header[12:] + payload


def udp(src_ip, dst_ip, sport, dport, payload, length=None):
    """A UDP datagram with its checksum over the pseudo-header."""
    if length is None:
        length = 8 + len(payload)
    header = struct.pack("!HHHH", sport, dport, length, 0)
    pseudo = ip_bytes(src_ip) + ip_bytes(dst_ip) + struct.pack("!BBH", 0, IPPROTO_UDP, 8 + len(payload))
    csum = checksum(pseudo + header + payload) or 0xFFFF
    return header[:6] + struct.pack("!H", csum) + payload


def rtp(seq, timestamp, ssrc, payload=b"\xff" * 160, payload_type=0, version=2, marker=False):
    first = (version & 3) << 6
    second = (0x80 if marker else 0) | (payload_type & 0x7F)
    return struct.pack("!BBHII", first, second, seq & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc) + payload


def rtcp_receiver_report(ssrc):
    """An empty RTCP RR (PT 201): 8 bytes."""
    return struct.pack("!BBHI", 0x80, 201, 1, ssrc)


def udp_frame(dst_mac, src_mac, src_ip, dst_ip, sport, dport, payload, ttl=64, ident=0, vlan=None):
    """A whole Ethernet/IPv4/UDP frame with both checksums right."""
    return ethernet(dst_mac, src_mac, ETH_P_IP,
                    ipv4(src_ip, dst_ip, udp(src_ip, dst_ip, sport, dport, payload), ttl=ttl, ident=ident),
                    vlan=vlan)


def arp(op, sender_mac, sender_ip, target_mac, target_ip):
    return struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, op, mac_bytes(sender_mac), ip_bytes(sender_ip),
                       mac_bytes(target_mac), ip_bytes(target_ip))


def gratuitous_arp(mac, ip, vlan=None):
    """A gratuitous ARP request (sender = target = ip), broadcast."""
    return ethernet("ff:ff:ff:ff:ff:ff", mac, ETH_P_ARP, arp(1, mac, ip, "00:00:00:00:00:00", ip), vlan=vlan)


# -- pcap ---------------------------------------------------------------------


def pcap_header(snaplen=65535):
    return PCAP_GLOBAL_HEADER.pack(PCAP_MAGIC, 2, 4, 0, 0, snaplen, LINKTYPE_ETHERNET)


def pcap_record(frame, ts_us=0):
    return PCAP_RECORD_HEADER.pack(ts_us // 1_000_000, ts_us % 1_000_000, len(frame), len(frame)) + frame


def read_pcap(path):
    """The frames of a little- or big-endian microsecond/nanosecond pcap."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < PCAP_GLOBAL_HEADER.size:
        raise ValueError(f"{path}: {len(data)} bytes, no pcap header")
    magic_le = struct.unpack("<I", data[:4])[0]
    if magic_le in (0xA1B2C3D4, 0xA1B23C4D):
        order = "<"
    elif struct.unpack(">I", data[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D):
        order = ">"
    else:
        raise ValueError(f"{path}: not a pcap file (magic {magic_le:#x})")
    record = struct.Struct(order + "IIII")
    frames = []
    off = PCAP_GLOBAL_HEADER.size
    while off + record.size <= len(data):
        _, _, caplen, _ = record.unpack_from(data, off)
        off += record.size
        frames.append(data[off:off + caplen])
        off += caplen
    return frames


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(pcap_header())
        for i, frame in enumerate(frames):
            f.write(pcap_record(frame, i * 20_000))


class Decoded:
    """The fields of an Ethernet[/802.1Q]/IPv4/UDP frame the tests look at; None
    for the layers the frame does not have."""

    def __init__(self, frame):
        self.frame = frame
        self.dst_mac = mac_text(frame[0:6])
        self.src_mac = mac_text(frame[6:12])
        off = 12
        (self.ethertype,) = struct.unpack_from("!H", frame, off)
        self.vlan = None
        if self.ethertype == ETH_P_8021Q:
            self.vlan, self.ethertype = struct.unpack_from("!HH", frame, off + 2)
            off += 4
        off += 2
        self.l3 = off
        self.ip = None
        self.udp = None
        if self.ethertype != ETH_P_IP or len(frame) < off + 20:
            return
        (vihl, _, total, ident, ff, ttl, proto, _, src, dst) = struct.unpack_from("!BBHHHBBH4s4s", frame, off)
        self.ip = {"ihl": vihl & 15, "total": total, "id": ident, "flags_frag": ff, "ttl": ttl, "proto": proto,
                   "src": socket.inet_ntoa(src), "dst": socket.inet_ntoa(dst)}
        l4 = off + (vihl & 15) * 4
        if proto == IPPROTO_UDP and len(frame) >= l4 + 8 and not ff & 0x3FFF:
            sport, dport, length, _ = struct.unpack_from("!HHHH", frame, l4)
            self.udp = {"sport": sport, "dport": dport, "len": length, "payload": frame[l4 + 8:off + total]}


def set_ttl(frame, ttl):
    """The frame with another IPv4 TTL and its header checksum redone (the UDP
    checksum does not cover the TTL)."""
    d = Decoded(frame)
    ihl = d.ip["ihl"] * 4
    header = bytearray(frame[d.l3:d.l3 + ihl])
    header[8] = ttl
    header[10:12] = b"\0\0"
    header[10:12] = struct.pack("!H", checksum(bytes(header)))
    return frame[:d.l3] + bytes(header) + frame[d.l3 + ihl:]
