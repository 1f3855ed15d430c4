#!/usr/bin/env python3
"""Relaying over net_af_packet between real RTP endpoints (tandem-rtp-peer):
a caller towards an echoing callee, two independent senders, and RTCP
multiplexed on the RTP port (RFC 5761). The peers must get all their packets
and RTCP, see only the relay's addresses, and the session's counters must
match what they sent."""

import json

import harness
from harness import CALLEE_IP, CALLER_IP, RELAY_A_IP, RELAY_B_IP, RtpPeer

CALLER_PORT = 20000
CALLEE_PORT = 40000
CALLER = f"{CALLER_IP}:{CALLER_PORT}"
CALLEE = f"{CALLEE_IP}:{CALLEE_PORT}"
RTCP = ("--rtcp-interval-ms", 500)


def local_port(leg):
    return int(leg["local"].rsplit(":", 1)[1])


class RelayTest(harness.DataplaneTest):

    def start_call(self, b_remote=CALLEE):
        """A session with the callee's remote given and the caller's learnt."""
        s = self.dp.create(b_remote=b_remote)
        a, b = s["legs"]
        self.assertEqual(a["local"].rsplit(":", 1)[0], RELAY_A_IP)
        self.assertEqual(b["local"].rsplit(":", 1)[0], RELAY_B_IP)
        self.assertEqual(b["remote"], CALLEE)
        self.assertFalse(a["latched"])
        self.session_id = s["id"]
        self.before = self.health()
        return f"{RELAY_A_IP}:{local_port(a)}", f"{RELAY_B_IP}:{local_port(b)}"

    def finish_call(self, caller, callee):
        """The session once its counters stopped moving, and the drops during
        the call; everything logged (the first place to look on failure)."""
        previous = [None]

        def settled(s):
            counts = [leg["packets"] for leg in s["legs"]]
            same = counts == previous[0] and counts[0] > 0
            previous[0] = counts
            return same

        session = self.wait_session(self.session_id, settled, timeout=5)
        self.drops = self.drops_delta(self.before, self.health())
        harness.log(f"caller: {json.dumps(caller)}\ncallee: {json.dumps(callee)}\n"
                    f"session: {json.dumps(session)}\ndrops during the call: {self.drops}")
        return session

    def assert_no_drops(self):
        """Nothing dropped but, at most, one packet waiting for ARP."""
        self.assertLessEqual(self.drops.get("no_neighbor", 0), 1, self.drops)
        self.assertEqual({k: v for k, v in self.drops.items() if k != "no_neighbor"}, {}, "unexpected drops")

    def assert_received_all(self, report, sent, name):
        """All sent packets arrived; the first may be lost to ARP (recorded)."""
        missing = sent - report["received"]
        if missing:
            harness.log(f"{name}: {missing} of {sent} packets missing (allowed: the first, to ARP)")
        self.assertLessEqual(missing, 1, f"{name}: received {report['received']} of {sent}; relay drops {self.drops}")

    def assert_leg_counts(self, leg, peer, name):
        """The relay's counters of one leg against the peer that sent into it."""
        self.assertEqual(leg["packets"], peer["sent"] + leg["rtcp_packets"], f"{name}: packets = RTP sent + RTCP")
        # RFC 3550 A.1 counts a new source from the end of its probation: the
        # first packet is relayed but not in rtp_received/rtp_expected
        # (dataplane/rtp_stats.h).
        self.assertEqual(leg["rtp_received"], peer["sent"], f"{name}: RTP counted (probation included) vs sent")
        self.assertEqual(leg["rtp_expected"], leg["rtp_received"], f"{name}: rtp_expected")
        self.assertEqual(leg["rtp_lost"], 0, f"{name}: rtp_lost")
        self.assertGreater(leg["rtcp_packets"], 0, f"{name}: no RTCP")
        self.assertGreaterEqual(leg["bytes"], peer["sent_bytes"], f"{name}: bytes")
        self.assertEqual(leg["drop_source"], 0, f"{name}: drop_source")
        self.assertEqual(leg["drop_bad_rtp"], 0, f"{name}: drop_bad_rtp")

    def assert_only_relay_addresses(self, caller, callee, relay_a, relay_b):
        """No direct traffic: each end hears only the relay's address."""
        self.assertEqual(caller["sources"], [relay_a])
        self.assertEqual(callee["sources"], [relay_b])

    def assert_rtcp_both_ways(self, session, caller, callee):
        """RTCP went through both ways, and no end got more than the relay took
        in from the other (oRTP's own rtcp_sent does not count every packet)."""
        a, b = session["legs"]
        self.assertGreater(caller["rtcp_received"], 0, "caller got no RTCP through the relay")
        self.assertGreater(callee["rtcp_received"], 0, "callee got no RTCP through the relay")
        self.assertGreater(a["rtcp_packets"], 0)
        self.assertGreater(b["rtcp_packets"], 0)
        self.assertLessEqual(callee["rtcp_received"], a["rtcp_packets"])
        self.assertLessEqual(caller["rtcp_received"], b["rtcp_packets"])

    def echo_call(self, count, b_remote=CALLEE, mux=()):
        """The caller sends `count` packets; the callee echoes them back."""
        relay_a, relay_b = self.start_call(b_remote)
        callee = RtpPeer(self.topo.callee, CALLEE, relay_b, "--echo", "--duration-ms", 60000, *RTCP, *mux)
        caller = RtpPeer(self.topo.caller, CALLER, relay_a, "--count", count, "--ptime", 20, "--receive-ms", 800,
                         *RTCP, *mux)
        c = caller.result()
        callee.stop()
        e = callee.result()
        session = self.finish_call(c, e)

        self.assertEqual((c["sent"], c["send_errors"]), (count, 0))
        self.assert_received_all(e, count, "callee")
        self.assertEqual(e["sent"], e["received"], "the echo returns what it got")
        self.assert_received_all(c, e["sent"], "caller (echo)")
        self.assert_only_relay_addresses(c, e, relay_a, relay_b)
        # The echo returns the caller's own stream, SSRC and all.
        self.assertEqual(e["ssrcs"], [c["ssrc"]])
        self.assertEqual(c["ssrcs"], [c["ssrc"]])
        self.assert_rtcp_both_ways(session, c, e)

        a, b = session["legs"]
        self.assertTrue(a["latched"])
        self.assertEqual(a["remote"], CALLER)
        self.assertEqual(b["remote"], CALLEE)
        self.assert_leg_counts(a, c, "leg a")
        self.assert_leg_counts(b, e, "leg b")
        self.assertEqual(a["ssrc"], c["ssrc"])
        self.assertEqual(b["ssrc"], c["ssrc"])
        self.assert_no_drops()
        return session

    def test_caller_to_echoing_callee(self):
        session = self.echo_call(200)
        a = session["legs"][0]
        self.assertEqual(a["remote_rtcp_port"], CALLER_PORT + 1, "RTCP port latched as RTP port + 1")

    def test_rtcp_mux(self):
        # RTCP on the RTP port: the callee's RTCP port is its RTP port.
        session = self.echo_call(150, b_remote=f"{CALLEE}/{CALLEE_PORT}", mux=("--rtcp-mux",))
        self.assertEqual(session["legs"][1]["remote_rtcp_port"], CALLEE_PORT)

    def test_rtcp_reaches_mux_callee_after_latching(self):
        """A caller with RTCP on RTP+1 and a callee that multiplexes (its SDP
        said a=rtcp-mux: remote RTCP port = RTP port). The caller's RTCP must
        reach the callee's RTP port also after the callee's own media
        latched leg b: latching its RTP source must not turn the signalled
        RTCP port into RTP+1."""
        relay_a, relay_b = self.start_call(b_remote=f"{CALLEE}/{CALLEE_PORT}")
        callee = harness.UdpTool(self.topo.callee, {
            "sockets": [{"name": "rtp", "bind": CALLEE}],
            "sends": [{"socket": "rtp", "to": relay_b, "count": 5, "ssrc": 2}],
            "start_delay_ms": 500, "expect": 5 + 5, "linger_ms": 300, "max_ms": 6000})
        relay_a_rtcp = f"{RELAY_A_IP}:{int(relay_a.rsplit(':', 1)[1]) + 1}"
        caller = harness.UdpTool(self.topo.caller, {
            "sockets": [{"name": "rtp", "bind": CALLER}, {"name": "rtcp", "bind": f"{CALLER_IP}:{CALLER_PORT + 1}"}],
            # RTP (latches leg a), then RTCP before and after the callee latched leg b.
            "sends": [{"socket": "rtp", "to": relay_a, "count": 5, "ssrc": 1},
                      {"socket": "rtcp", "to": relay_a_rtcp, "count": 5, "ssrc": 1, "kind": "rtcp"}],
            "burst": 1, "pause_ms": 200, "linger_ms": 500, "max_ms": 5000})
        c = caller.result()
        e = callee.result()
        session = self.finish_call(c, e)
        a, b = session["legs"]
        self.assertTrue(b["latched"], "the callee's media latched leg b")
        self.assertEqual(a["rtcp_packets"], 5)
        self.assertEqual(b["remote_rtcp_port"], CALLEE_PORT,
                         "latching leg b's RTP replaced the signalled rtcp-mux port with RTP+1")
        got = e["sockets"]["rtp"]
        self.assertEqual(got["rtcp"], 5, f"the callee's RTP port got {got['rtcp']} of the caller's 5 RTCP packets")

    def test_two_independent_senders(self):
        relay_a, relay_b = self.start_call()
        # The callee listens first; the caller then sends and latches leg a,
        # which must happen before the callee's first packet (which would have
        # nowhere to go before).
        callee_delay_ms = 2500
        callee = RtpPeer(self.topo.callee, CALLEE, relay_b, "--count", 150, "--start-delay-ms", callee_delay_ms,
                         "--receive-ms", 1500, *RTCP)
        caller = RtpPeer(self.topo.caller, CALLER, relay_a, "--count", 150, "--receive-ms", 1500 + callee_delay_ms,
                         *RTCP)
        self.wait_session(self.session_id, lambda x: x["legs"][0]["latched"], what="leg a latched")
        self.assertLess(callee.elapsed_ms(), callee_delay_ms,
                        "the caller latched only after the callee started sending (machine too loaded?)")
        c = caller.result()
        e = callee.result()
        session = self.finish_call(c, e)

        self.assertEqual((c["sent"], e["sent"]), (150, 150))
        self.assert_received_all(e, 150, "callee")
        self.assert_received_all(c, 150, "caller")
        self.assert_only_relay_addresses(c, e, relay_a, relay_b)
        self.assertNotEqual(c["ssrc"], e["ssrc"])
        self.assertEqual(c["ssrcs"], [e["ssrc"]])
        self.assertEqual(e["ssrcs"], [c["ssrc"]])
        self.assert_rtcp_both_ways(session, c, e)
        a, b = session["legs"]
        self.assert_leg_counts(a, c, "leg a")
        self.assert_leg_counts(b, e, "leg b")
        self.assertEqual(a["ssrc"], c["ssrc"])
        self.assertEqual(b["ssrc"], e["ssrc"])
        self.assert_no_drops()


if __name__ == "__main__":
    harness.main()
