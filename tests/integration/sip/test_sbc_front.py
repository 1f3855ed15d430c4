"""tandem-sbc in front of the real call server: the lab of lab.py (tandem-control
with its dataplane, MariaDB, sipp as provider and as the customer's VM), with
tandem-sbc on the provider's side of the network taking the provider's calls.

  caller ns  198.18.1.2  the provider (sipp), a provider in the Rules DB
             198.18.1.3  tandem-sbc: servers node1 (198.18.1.1, the lab's call server) and
                         gone (198.18.1.9, nobody); providers from the Rules DB
  relay ns   198.18.1.1  tandem-control (--peer sbc=198.18.1.3) and its dataplane

Media goes between the provider and the node's dataplane: the SBC only signals.
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lab  # noqa: E402
import test_sip_robustness as robustness  # noqa: E402  (the corpus' expectations)
from harness import CLEANUP, in_ns, run, wait_for  # noqa: E402

SBC_IP = lab.harness.CALLER_ALT_IP
GONE_IP = "198.18.1.9"
LAB = None


def setUpModule():
    global LAB
    LAB = lab.Lab(control_args=["--peer", f"sbc={SBC_IP}"])
    LAB.topo.add_caller_address(SBC_IP)
    lab.CallTest.lab = LAB
    front = lab.SbcProcess(LAB.workdir, LAB.topo.caller, [
        "--sip", f"{SBC_IP}:5060", "--server", f"node1={lab.NODE_IP}", "--server", f"gone={GONE_IP}",
        "--probe-interval", "300", "--server-timeout", "500", "--rules-db", f"unix:{LAB.db.socket}",
        "--rules-db-user", "root", "--rules-poll", "200", "--node", "sbc1"]).start()
    CLEANUP.add("stop tandem-sbc", front.stop)
    SbcFrontTest.sbc = front
    wait_for(lambda: front.servers()["gone"]["state"] == "down" and front.servers()["node1"]["capacity"] > 0, 10,
             what="node1 probed, gone down")


class SbcFrontTest(lab.CallTest):
    sbc = None

    def setUp(self):
        super().setUp()
        self.sbc_counters = self.sbc.counters()

    def sbc_counted(self, name):
        return self.sbc.counters()[name] - self.sbc_counters[name]

    def call(self, scenario, called, keys, **kw):
        return lab.Sipp(LAB, LAB.topo.caller, scenario, lab.PROVIDER_IP, lab.SIP_PORT, remote=f"{SBC_IP}:5060",
                        service=called, keys=keys, **kw)

    def test_the_servers_load_comes_from_its_probe_answers(self):
        node = self.sbc.servers()["node1"]
        self.assertEqual(node["state"], "up")
        self.assertEqual(node["capacity"], 500, "X-Tandem-Load: 0/500 from tandem-control")
        self.assertGreater(node["rtt_ms"], 0)
        self.assertEqual(self.sbc.servers()["gone"]["state"], "down")

    def test_a_call_through_the_sbc_with_media_straight_to_the_node(self):
        vm = LAB.vm("uas_answer", extra=["-rtp_echo"])
        caller = self.call("uac_call", lab.DID_VM, {"hold_ms": 2000, "rtcp_mux": 0, "delayed_offer": 0})
        self.check_sipp(caller)
        vm.stop()
        # The answer's media address is the node's relay, not the SBC's.
        self.assertEqual(caller.log_values("ANSWER_SDP")[0]["ip"], lab.NODE_IP, caller.describe())
        cdr = self.new_cdr()
        self.assertEqual(cdr["disposition"], "answered", cdr)
        self.assertGreater(int(cdr["a_packets"]), 60, cdr)
        self.assertGreater(int(cdr["b_packets"]), 60, cdr)
        self.assertEqual(self.sbc_counted("calls_answered"), 1)
        self.assertEqual(self.sbc_counted("acks"), 1, "the ACK by the route set through the SBC")
        self.assertEqual(self.sbc_counted("in_dialog"), 1, "the caller's BYE through the SBC")

    def test_a_tcp_provider_through_the_sbc_to_a_udp_server(self):
        vm = LAB.vm("uas_answer", extra=["-rtp_echo"])
        caller = self.call("uac_call", lab.DID_VM, {"hold_ms": 500, "rtcp_mux": 0, "delayed_offer": 0},
                           transport="t1")
        self.check_sipp(caller)
        vm.stop()
        self.assertEqual(self.new_cdr()["disposition"], "answered")
        self.assertEqual(self.sbc_counted("in_dialog"), 1)

    def test_a_cancel_reaches_the_server_that_has_the_invite(self):
        vm = LAB.vm("uas_ring_no_answer")
        caller = self.call("uac_cancel", lab.DID_VM, {"ring_ms": 1000})
        self.check_sipp(caller, vm)
        cdr = self.new_cdr()
        self.assertEqual((cdr["disposition"], cdr["sip_code"]), ("cancelled", "487"), cdr)
        self.assertEqual(self.sbc_counted("cancelled"), 1)

    def test_the_servers_refusal_reaches_the_provider_and_is_no_failover(self):
        caller = self.call("uac_reject", "+4930999999", {"expect_code": 404})
        self.check_sipp(caller)
        self.assertEqual(self.new_cdr()["sip_code"], "404")
        self.assertEqual(self.sbc_counted("calls_refused_by_server"), 1)
        self.assertEqual(self.sbc_counted("failovers"), 0)

    def test_a_callees_503_reaches_the_provider_and_benches_no_server(self):
        # The customer's PBX answers 503: how this call ended, not the server's unavailability
        # (tandem-control's own 503s carry Retry-After, this one none): no failover, node1 stays
        # in the dispatch. Failing over on it, every server would ring the same PBX and leave
        # the dispatch in turn.
        vm = LAB.vm("uas_503")
        caller = self.call("uac_reject", lab.DID_VM, {"expect_code": 503})
        self.check_sipp(caller, vm)
        self.assertEqual(self.new_cdr()["sip_code"], "503")
        self.assertEqual(self.sbc_counted("failovers"), 0)
        self.assertEqual(self.sbc.servers()["node1"]["state"], "up")

    def test_a_draining_server_gets_no_new_call(self):
        LAB.ctl("--control-socket", LAB.control_socket, "drain")
        try:
            wait_for(lambda: self.sbc.servers()["node1"]["state"] == "draining", 5, what="node1 draining at the SBC")
            self.assertEqual(self.sbc.servers()["node1"]["draining"], "server")
            caller = self.call("uac_reject", lab.DID_VM, {"expect_code": 503})
            self.check_sipp(caller)
            self.assertEqual(self.sbc_counted("no_server"), 1)
        finally:
            LAB.ctl("--control-socket", LAB.control_socket, "undrain")
        wait_for(lambda: self.sbc.servers()["node1"]["state"] == "up", 5, what="node1 up again")


    def test_rfc4475_through_the_sbc_gets_what_the_server_gives(self):
        # The SBC checks as the call server does (control/sip/) and forwards what passes: every
        # message gets the final answer it gets from the call server alone, and nothing malformed
        # reaches the server.
        before = LAB.stats()["counters"]["refused_request"]
        r = run(in_ns(LAB.topo.caller, ["python3", robustness.SENDER, "corpus", "--to", f"{SBC_IP}:5060",
                                        "--dir", robustness.CORPUS, "--transport", "udp", "--source", lab.PROVIDER_IP]),
                timeout=300)
        results = json.loads(r.stdout)
        # wsinv is an INVITE with a To tag: in a dialog, which the SBC forwards only by its own Route
        # (481 otherwise, RFC 3261 12.2.2); the call server alone takes it as a new call.
        expected = dict(robustness.EXPECTED_UDP, wsinv={481})
        self.assertEqual(robustness.wrong_answers(results, expected), {}, f"SBC log:\n{self.sbc.text()[-3000:]}")
        self.assertEqual(LAB.stats()["counters"]["refused_request"], before, "the SBC forwarded a malformed request")
        self.assertIsNone(self.sbc.proc.poll(), "tandem-sbc died")

    def test_an_oversized_message_is_refused_and_a_large_one_answered(self):
        def big(size):
            r = run(in_ns(LAB.topo.caller, ["python3", robustness.SENDER, "big", "--to", f"{SBC_IP}:5060", "--size",
                                            str(size), "--transport", "tcp", "--source", lab.PROVIDER_IP]), timeout=60)
            return json.loads(r.stdout)["codes"]
        self.assertIn(big(100000)[:1], ([413], []))  # 413, or the connection closed
        self.assertEqual(big(20000), [200])
        self.assertIsNone(self.sbc.proc.poll(), "tandem-sbc died")

    def test_a_request_in_no_dialog_of_ours_is_refused_not_relayed(self):
        # A BYE with a To tag but without our Route: forwarding it to its Request-URI would make
        # the SBC an open relay.
        code = run(in_ns(LAB.topo.caller, ["python3", "-c", STRAY_BYE, SBC_IP, lab.PROVIDER_IP]), timeout=10).stdout
        self.assertEqual(code.strip(), "481")
        self.assertEqual(self.sbc_counted("no_route"), 1)
        self.assertEqual(self.sbc_counted("in_dialog"), 0)


# A BYE in a dialog that never went through the SBC, to a third party's address; prints the answer's code.
STRAY_BYE = r"""
import socket, sys
sbc, me = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((me, 0))
port = s.getsockname()[1]
s.sendto((f"BYE sip:victim@198.18.1.77:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {me}:{port};branch=z9hG4bKstray\r\n"
          f"From: <sip:a@{me}>;tag=1\r\nTo: <sip:b@198.18.1.77>;tag=2\r\nCall-ID: stray-bye\r\n"
          f"CSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode(), (sbc, 5060))
s.settimeout(3)
print(s.recv(65535).decode().split(" ", 2)[1])
"""


if __name__ == "__main__":
    lab.main()
