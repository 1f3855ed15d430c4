#!/usr/bin/env python3
"""Latching and RTP bleed: once the caller latched leg a, a third party
(198.18.1.3, a second address on the caller's veth) sending to the same relay
port must not reach the callee in strict mode (drop_source and the
source_mismatch drop count it), and must take the leg over in non-strict
mode with --a-latch any, replies included. A remote given by signalling
protects the leg before anything latched: a stranger sending first neither
latches nor is relayed (address only by default, address and port with
--a-latch address-port)."""

import json

import harness
from harness import CALLEE_IP, CALLER_ALT_IP, CALLER_IP, RELAY_A_IP

CALLER = f"{CALLER_IP}:20000"
CALLER_RTCP = f"{CALLER_IP}:20001"
THIRD = f"{CALLER_ALT_IP}:20000"
THIRD_RTCP = f"{CALLER_ALT_IP}:20001"
CALLEE = f"{CALLEE_IP}:40000"
CALLER_SSRC, THIRD_SSRC, CALLEE_SSRC = 0x1111, 0x3333, 0x2222


class LatchingTest(harness.DataplaneTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.topo.add_caller_address(CALLER_ALT_IP)

    def call(self, *extra, a_remote=None):
        s = self.dp.create(b_remote=CALLEE, a_remote=a_remote, extra=extra)
        a, b = (leg["local"] for leg in s["legs"])
        rtcp = f"{RELAY_A_IP}:{int(a.rsplit(':', 1)[1]) + 1}"
        return s["id"], a, rtcp, b

    def callee(self, expect, max_ms=8000, sends=()):
        return harness.UdpTool(self.topo.callee, {
            "sockets": [{"name": "rtp", "bind": CALLEE}, {"name": "rtcp", "bind": f"{CALLEE_IP}:40001"}],
            "sends": list(sends), "start_delay_ms": 0,
            "expect": expect, "linger_ms": 300, "max_ms": max_ms})

    def send_from_caller_ns(self, sends, sockets=(("caller", CALLER), ("caller_rtcp", CALLER_RTCP),
                                                  ("third", THIRD), ("third_rtcp", THIRD_RTCP)), expect=None):
        return harness.udp_run(self.topo.caller, {
            "sockets": [{"name": n, "bind": b} for n, b in sockets], "sends": sends, "burst": 1, "pause_ms": 5,
            "expect": expect, "linger_ms": 300, "max_ms": 4000})

    def test_strict_latch_drops_third_party(self):
        sid, relay_a, relay_a_rtcp, _ = self.call()
        before = self.health()
        callee = self.callee(expect=30 + 3)
        # The caller latches leg a (RTP and RTCP)...
        self.send_from_caller_ns([{"socket": "caller", "to": relay_a, "count": 10, "ssrc": CALLER_SSRC},
                                  {"socket": "caller_rtcp", "to": relay_a_rtcp, "count": 3, "ssrc": CALLER_SSRC,
                                   "kind": "rtcp"}])
        s = self.wait_session(sid, lambda x: x["legs"][0]["latched"], what="leg a latched")
        self.assertEqual(s["legs"][0]["remote"], CALLER)
        # ...then a third party sends to the same relay ports while the caller goes on.
        self.send_from_caller_ns([
            {"socket": "third", "to": relay_a, "count": 20, "ssrc": THIRD_SSRC},
            {"socket": "third_rtcp", "to": relay_a_rtcp, "count": 4, "ssrc": THIRD_SSRC, "kind": "rtcp"},
            {"socket": "caller", "to": relay_a, "count": 20, "seq": 10, "ssrc": CALLER_SSRC}])
        got = callee.result()["sockets"]
        s = self.wait_session(sid, lambda x: x["legs"][0]["drop_source"] >= 24, what="drop_source counted")
        after = self.health()
        harness.log(f"callee got: {json.dumps(got)}\nsession: {json.dumps(s)}")

        self.assertEqual(got["rtp"]["by_ssrc"], {str(CALLER_SSRC): 30},
                         "the callee got RTP from another than the caller")
        self.assertEqual(got["rtcp"]["rtcp"], 3, "the callee got RTCP from another than the caller")
        a = s["legs"][0]
        self.assertEqual(a["remote"], CALLER, "the latch moved")
        self.assertEqual(a["remote_rtcp_port"], 20001)
        self.assertEqual(a["drop_source"], 24)
        self.assertEqual(a["packets"], 33)
        self.assertEqual(a["ssrc"], CALLER_SSRC)
        self.assertEqual(self.drops_delta(before, after), {"source_mismatch": 24})

    def test_non_strict_relatches(self):
        sid, relay_a, _, relay_b = self.call("--a-no-strict", "--a-latch", "any")
        self.assertFalse(self.dp.show(sid)["legs"][0]["strict"])
        before = self.health()
        callee = self.callee(expect=20)
        self.send_from_caller_ns([{"socket": "caller", "to": relay_a, "count": 10, "ssrc": CALLER_SSRC}])
        self.wait_session(sid, lambda x: x["legs"][0]["remote"] == CALLER, what="leg a latched on the caller")
        self.send_from_caller_ns([{"socket": "third", "to": relay_a, "count": 10, "ssrc": THIRD_SSRC}])
        got = callee.result()["sockets"]["rtp"]
        s = self.wait_session(sid, lambda x: x["legs"][0]["remote"] == THIRD, what="leg a re-latched")
        self.assertEqual(got["by_ssrc"], {str(CALLER_SSRC): 10, str(THIRD_SSRC): 10})
        self.assertEqual(s["legs"][0]["drop_source"], 0)
        # The callee's answer now goes to the new source, not to the caller.
        reply = harness.UdpTool(self.topo.caller, {
            "sockets": [{"name": "caller", "bind": CALLER}, {"name": "third", "bind": THIRD}],
            "expect": 5, "linger_ms": 300, "max_ms": 4000})
        harness.udp_run(self.topo.callee, {"sockets": [{"name": "rtp", "bind": CALLEE}],
                                           "sends": [{"socket": "rtp", "to": relay_b, "count": 5,
                                                      "ssrc": CALLEE_SSRC}], "linger_ms": 0})
        r = reply.result()["sockets"]
        self.assertEqual(r["third"]["by_ssrc"], {str(CALLEE_SSRC): 5})
        self.assertEqual(r["caller"]["received"], 0)
        self.assertEqual(self.drops_delta(before, self.health()), {})

    def test_signalled_remote_without_learning(self):
        """--a-remote with --a-no-learn: only the signalled source may send."""
        sid, relay_a, _, _ = self.call("--a-no-learn", a_remote=CALLER)
        callee = self.callee(expect=10)
        self.send_from_caller_ns([{"socket": "third", "to": relay_a, "count": 10, "ssrc": THIRD_SSRC},
                                  {"socket": "caller", "to": relay_a, "count": 10, "ssrc": CALLER_SSRC}])
        got = callee.result()["sockets"]["rtp"]
        s = self.wait_session(sid, lambda x: x["legs"][0]["drop_source"] >= 10, what="drop_source counted")
        self.assertEqual(got["by_ssrc"], {str(CALLER_SSRC): 10})
        self.assertEqual(s["legs"][0]["remote"], CALLER)
        self.assertEqual(s["legs"][0]["drop_source"], 10)

    def test_signalled_remote_defends_the_leg_before_latching(self):
        """The media hijack: a stranger sends before the caller, to the relay
        port of a leg whose remote the SDP gave. Address-only by default, so
        the caller from another port (NAT) still latches."""
        sid, relay_a, _, _ = self.call(a_remote=f"{CALLER_IP}:20100")
        self.assertEqual(self.dp.show(sid)["legs"][0]["latch"], "address")
        before = self.health()
        callee = self.callee(expect=10)
        self.send_from_caller_ns([{"socket": "third", "to": relay_a, "count": 10, "ssrc": THIRD_SSRC}])
        s = self.wait_session(sid, lambda x: x["legs"][0]["drop_source"] >= 10, what="the stranger refused")
        self.assertFalse(s["legs"][0]["latched"], "the stranger latched the leg")
        self.send_from_caller_ns([{"socket": "caller", "to": relay_a, "count": 10, "ssrc": CALLER_SSRC}])
        got = callee.result()["sockets"]["rtp"]
        s = self.wait_session(sid, lambda x: x["legs"][0]["latched"], what="the caller latched")
        self.assertEqual(got["by_ssrc"], {str(CALLER_SSRC): 10}, "the stranger's media was relayed")
        self.assertEqual(s["legs"][0]["remote"], CALLER, "latched on the caller's real port (NAT)")
        self.assertEqual(self.drops_delta(before, self.health()), {"source_mismatch": 10})

    def test_signalled_remote_with_locked_port(self):
        sid, relay_a, _, _ = self.call("--a-latch", "address-port", a_remote=CALLER)
        callee = self.callee(expect=10)
        self.send_from_caller_ns([{"socket": "caller_other_port", "to": relay_a, "count": 5, "ssrc": THIRD_SSRC},
                                  {"socket": "caller", "to": relay_a, "count": 10, "ssrc": CALLER_SSRC}],
                                 sockets=(("caller", CALLER), ("caller_other_port", f"{CALLER_IP}:20200")))
        got = callee.result()["sockets"]["rtp"]
        s = self.wait_session(sid, lambda x: x["legs"][0]["drop_source"] >= 5, what="the other port refused")
        self.assertEqual(got["by_ssrc"], {str(CALLER_SSRC): 10})
        self.assertEqual(s["legs"][0]["remote"], CALLER)
        self.assertEqual(s["legs"][0]["latch"], "address-port")


if __name__ == "__main__":
    harness.main()
