#!/usr/bin/env python3
"""Malformed and random frames into the packet path: written with an AF_PACKET
socket on the caller's veth, so they reach the dataplane exactly as built.
Each kind of damage must be counted under its drop reason (or handed to the
kernel, for what is legal but not media), never relayed; after 20,000
seeded random frames the dataplane must still be alive, relay a normal call
and hold no more mbufs than before."""

import json
import random
import struct

import harness
import packets as pk
from harness import CALLEE_IP, CALLER_IP, RELAY_A_IP, RtpPeer

CALLER_PORT = 20000
CALLEE = f"{CALLEE_IP}:40000"
N = 10            # frames of each malformed kind
FUZZ_FRAMES = 20000
FUZZ_SEED = 20240601


class MalformedTest(harness.DataplaneTest):

    def setUp(self):
        # A live session, leg a latched by a first good packet from the caller.
        s = self.dp.create(b_remote=CALLEE)
        self.sid = s["id"]
        self.relay_port = int(s["legs"][0]["local"].rsplit(":", 1)[1])
        self.relay_mac = self.dp.port_macs[0]
        self.send([self.good_frame(seq=1)], batch=1)
        self.wait_session(self.sid, lambda x: x["legs"][0]["latched"], what="leg a latched")

    # -- frames ----------------------------------------------------------------

    def good_frame(self, seq=0, payload=None, sport=CALLER_PORT, dport=None, src=CALLER_IP):
        payload = pk.rtp(seq, seq * 160, 0xABCD, b"\x55" * 40) if payload is None else payload
        return pk.udp_frame(self.relay_mac, self.topo.caller_mac, src, RELAY_A_IP, sport,
                            self.relay_port if dport is None else dport, payload)

    def eth(self, payload, ethertype=pk.ETH_P_IP):
        return pk.ethernet(self.relay_mac, self.topo.caller_mac, ethertype, payload)

    def ip(self, udp_payload=b"\x80" + b"\0" * 19, dport=None, **kw):
        """IPv4/UDP from the caller to the live session, header fields overridable."""
        dgram = pk.udp(CALLER_IP, RELAY_A_IP, CALLER_PORT, self.relay_port if dport is None else dport,
                       udp_payload)
        return pk.ipv4(CALLER_IP, RELAY_A_IP, dgram, **kw)

    def malformed(self):
        """(expected outcome, frames): a drop reason, or "punt" for frames the
        kernel gets (legal IPv4 the relay does not handle)."""
        good_ip = self.ip()
        udp_hdr = lambda length, payload: (struct.pack("!HHHH", CALLER_PORT, self.relay_port, length, 0) + payload)
        kinds = {
            "truncated": [
                self.eth(b""),                                         # Ethernet header only
                self.eth(good_ip[:12]),                                # IPv4 header cut
                # (A cut 802.1Q tag cannot be tested here: the kernel drops it
                # before net_af_packet sees it.)
                self.eth(pk.ipv4(CALLER_IP, RELAY_A_IP, b"")),         # UDP without its header
            ],
            "bad_ip_header": [
                self.eth(self.ip(version_ihl=0x44)),                   # IHL 4
                self.eth(self.ip(version_ihl=0x65)),                   # version 6 in an IPv4 frame
                self.eth(self.ip(total_length=1000)),                  # longer than the frame
                self.eth(self.ip(total_length=12)),                    # shorter than its header
            ],
            "bad_udp_length": [
                self.eth(pk.ipv4(CALLER_IP, RELAY_A_IP, udp_hdr(100, b"\x80" * 20))),  # says more than there is
                self.eth(pk.ipv4(CALLER_IP, RELAY_A_IP, udp_hdr(4, b"\x80" * 20))),    # below its own header
            ],
            "bad_rtp": [
                self.good_frame(payload=pk.rtp(5, 800, 0xABCD, b"\0" * 40, version=1)),  # RTP version 1
                self.good_frame(payload=b"\x80\x00\x00\x01\x00"),                       # shorter than RTP
                self.good_frame(payload=b"\x8f" + pk.rtp(5, 800, 0xABCD, b"\0" * 40)[1:]),  # 15 CSRCs, 40 bytes
                self.good_frame(payload=b"\x90" + pk.rtp(5, 800, 0xABCD, b"\0\0\0\x09" + b"\0" * 8)[1:]),
                self.good_frame(payload=b"\xa0" + pk.rtp(5, 800, 0xABCD, b"\0" * 7 + b"\xc8")[1:]),  # padding 200
            ],
            "bad_rtcp": [
                self.good_frame(payload=b"\x80\xc9\x00", sport=CALLER_PORT + 1,          # RTCP shorter than 8
                                dport=self.relay_port + 1),
                self.good_frame(payload=b"\x80\xc8\x00\x09" + b"\0" * 24, sport=CALLER_PORT + 1,  # says 40 bytes
                                dport=self.relay_port + 1),
            ],
            "no_session": [self.good_frame(dport=39998)],              # relay range, no session there
            "bad_ip_checksum": [self.corrupt(self.good_frame(seq=6), 14 + 10)],
            "bad_udp_checksum": [self.corrupt(self.good_frame(seq=7), 14 + 20 + 6),
                                 self.corrupt(self.good_frame(seq=8), len(self.good_frame(seq=8)) - 1)],
            "foreign_mac": [
                pk.udp_frame("02:00:00:00:77:77", self.topo.caller_mac, CALLER_IP, RELAY_A_IP, CALLER_PORT,
                             self.relay_port, pk.rtp(9, 1440, 0xABCD, b"\x55" * 40)),   # another host's MAC
                pk.udp_frame("ff:ff:ff:ff:ff:ff", self.topo.caller_mac, CALLER_IP, RELAY_A_IP, CALLER_PORT,
                             self.relay_port, pk.rtp(9, 1440, 0xABCD, b"\x55" * 40)),   # broadcast
                pk.udp_frame("01:00:5e:01:02:03", self.topo.caller_mac, CALLER_IP, RELAY_A_IP, CALLER_PORT,
                             self.relay_port, pk.rtp(9, 1440, 0xABCD, b"\x55" * 40)),   # multicast
            ],
            "wrong_vlan": [pk.udp_frame(self.relay_mac, self.topo.caller_mac, CALLER_IP, RELAY_A_IP, CALLER_PORT,
                                        self.relay_port, pk.rtp(9, 1440, 0xABCD, b"\x55" * 40), vlan=7)],
            "martian_source": [self.good_frame(seq=10 + i, src=src) for i, src in enumerate(
                ("0.0.0.0", "255.255.255.255", "224.0.0.1", "240.0.0.1", "127.0.0.1", RELAY_A_IP))],
            "unrelayable": [self.eth(self.ip(options=b"\x01\x01\x01\x00"))],  # IPv4 options, to the relay port
            "punt": [
                self.eth(self.ip(options=b"\x01\x01\x01\x00", dport=5060)),  # IPv4 options, not to a relay port
                # (Fragments cannot be tested here: net_af_packet's socket
                # fanout has the kernel reassemble them first. test_pcap.py
                # feeds them through net_pcap instead.)
                self.eth(b"\x00" * 46, ethertype=0x88CC),              # not IPv4 (LLDP)
            ],
        }
        return kinds

    @staticmethod
    def corrupt(frame, offset):
        """The frame with one bit of byte `offset` flipped (checksums no longer match)."""
        f = bytearray(frame)
        f[offset] ^= 0x01
        return bytes(f)

    def send(self, frames, batch=16, pause_us=3000):
        r = harness.raw_send(self.topo.caller, self.topo.caller_if, frames, batch=batch, pause_us=pause_us)
        self.assertEqual(r["errors"], {}, f"the caller's socket refused frames: {r}")
        return r

    # -- tests -------------------------------------------------------------------

    def test_each_kind_counted_and_never_relayed(self):
        kinds = self.malformed()
        before = self.health()
        session_before = self.dp.show(self.sid)
        callee = harness.UdpTool(self.topo.callee, {
            "sockets": [{"name": "rtp", "bind": CALLEE}, {"name": "rtcp", "bind": f"{CALLEE_IP}:40001"}],
            "linger_ms": 1500, "max_ms": 1500})
        frames = [f for _ in range(N) for fs in kinds.values() for f in fs]
        self.send(frames)
        got = callee.result()["sockets"]
        after = self.health()
        session = self.dp.show(self.sid)
        drops = self.drops_delta(before, after)
        harness.log(f"drops: {drops}\nports: {json.dumps(after['ports'])}")

        expected = {k: N * len(v) for k, v in kinds.items() if k != "punt"}
        self.assertEqual(drops, expected, "drop counters do not match what was sent")
        self.assertEqual(got["rtp"]["received"] + got["rtcp"]["received"], 0, "a malformed frame was relayed")
        a0, a1 = session_before["legs"][0], session["legs"][0]
        self.assertEqual(a1["drop_bad_rtp"] - a0["drop_bad_rtp"], N * (len(kinds["bad_rtp"]) + len(kinds["bad_rtcp"])))
        self.assertEqual(a1["drop_source"] - a0["drop_source"], N * len(kinds["martian_source"]))
        self.assertEqual(a1["packets"], a0["packets"], "the session counted a malformed packet as relayed")
        punted = after["ports"][0]["punted"] - before["ports"][0]["punted"]
        self.assertGreaterEqual(punted, N * len(kinds["punt"]), "options elsewhere, or non-IP, did not go to the kernel")
        self.assertEqual(after["ports"][0]["rx_missed"], before["ports"][0]["rx_missed"])

    def test_duplicates_read_as_duplicates(self):
        """A sender that repeats packets makes RFC 3550's loss negative:
        tandemctl says duplicates, not a negative loss percentage."""
        self.send([self.good_frame(seq=2)] + [self.good_frame(seq=2)] * 4, batch=1)
        s = self.wait_session(self.sid, lambda x: x["legs"][0]["rtp_received"] >= 6, what="all counted")
        self.assertEqual((s["legs"][0]["rtp_expected"], s["legs"][0]["rtp_lost"]), (2, -4))
        text = harness.run([harness.TANDEMCTL, "--socket", self.dp.socket, "dataplane", "show", str(self.sid)],
                           timeout=20).stdout
        self.assertIn("duplicates 4", text)
        self.assertNotIn("lost -", text)

    def test_fuzz_then_normal_call(self):
        rng = random.Random(FUZZ_SEED)
        good = self.good_frame(seq=2)
        frames = []
        # Every prefix of a good frame.
        frames += [good[:n] for n in range(14, len(good))]
        while len(frames) < FUZZ_FRAMES:
            kind = rng.randrange(5)
            if kind == 0:      # random bytes after a plausible Ethernet header
                frames.append(self.eth(rng.randbytes(rng.randrange(0, 1500)), ethertype=rng.choice(
                    [pk.ETH_P_IP, pk.ETH_P_ARP, pk.ETH_P_8021Q, rng.randrange(1 << 16)])))
            elif kind == 1:    # a good frame with bytes flipped in its headers
                f = bytearray(good)
                for _ in range(rng.randrange(1, 6)):
                    f[rng.randrange(12, 14 + 20 + 8 + 12)] = rng.randrange(256)
                frames.append(bytes(f[:rng.randrange(14, len(f) + 1)] if rng.random() < 0.3 else f))
            elif kind == 2:    # well-formed UDP to relay ports from random sources, random payload
                frames.append(pk.udp_frame(self.relay_mac, self.topo.caller_mac,
                                           f"198.18.1.{rng.randrange(3, 255)}", RELAY_A_IP,
                                           rng.randrange(1024, 65536), rng.choice([self.relay_port,
                                                                                   self.relay_port + 1,
                                                                                   rng.randrange(30000, 40000)]),
                                           rng.randbytes(rng.randrange(0, 300))))
            elif kind == 3:    # the latched caller with a random payload: bad or odd RTP
                frames.append(self.good_frame(payload=rng.randbytes(rng.randrange(0, 64))))
            else:              # random bytes, anything at all (at least an Ethernet header)
                frames.append(rng.randbytes(rng.randrange(14, 1515)))
        before = self.health()
        self.send(frames, batch=64, pause_us=2000)
        self.assertTrue(self.dp.alive(), "the dataplane died under fuzzing")
        after = self.health()
        drops = self.drops_delta(before, after)
        harness.log(f"fuzz: {len(frames)} frames; drops {drops}; port 0 {json.dumps(after['ports'][0])}")
        for reason in ("truncated", "bad_ip_header", "bad_udp_length", "bad_rtp", "source_mismatch"):
            self.assertGreater(drops.get(reason, 0), 0, f"no {reason} drops counted")

        # Still relays a normal call.
        s = self.dp.create(b_remote=CALLEE)
        relay_a, relay_b = (leg["local"] for leg in s["legs"])
        callee = RtpPeer(self.topo.callee, CALLEE, relay_b, "--echo", "--duration-ms", 60000)
        caller = RtpPeer(self.topo.caller, f"{CALLER_IP}:{CALLER_PORT + 2}", relay_a, "--count", 100,
                         "--receive-ms", 500)
        c = caller.result()
        callee.stop()
        e = callee.result()
        self.assertGreaterEqual(e["received"], 99, f"after fuzzing the callee got {e['received']} of 100")
        self.assertGreaterEqual(c["received"], 99, f"after fuzzing the caller got {c['received']} back")
        self.assertEqual(c["sources"], [relay_a])


if __name__ == "__main__":
    harness.main()
