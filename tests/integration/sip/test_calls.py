"""Calls through tandem-control end to end: sipp as provider and VM, the
dataplane relaying RTP on veths, MariaDB holding the rules and the CDRs. Every
scenario is checked in the CDR DB row it leaves."""

import unittest

import lab
from lab import DID_FORWARD, DID_MENU, DID_REJECT, DID_RING, DID_VM, MOBILE, CARRIER_A_PORT, CARRIER_B_PORT

LAB = None


def setUpModule():
    global LAB
    LAB = lab.Lab()


class Calls(unittest.TestCase):
    def setUp(self):
        self.before = {r["id"] for r in LAB.cdrs()}

    def tearDown(self):
        LAB.wait_idle()

    def new_cdrs(self, count=1):
        lab.wait_for(lambda: len([r for r in LAB.cdrs() if r["id"] not in self.before]) >= count, 20,
                     interval=0.1, what=f"{count} new CDR(s)")
        return [r for r in LAB.cdrs() if r["id"] not in self.before]

    def check_sipp(self, *peers):
        for p in peers:
            rc = p.wait()
            self.assertEqual(rc, 0, f"sipp failed:\n{p.describe()}\n--- control:\n{LAB.control_text()[-4000:]}")

    def test_inbound_call_with_media_both_ways(self):
        vm = LAB.vm("uas_answer", extra=["-rtp_echo"])
        caller = LAB.provider_call("uac_call", DID_VM, keys={"hold_ms": 3000, "rtcp_mux": 0})
        self.check_sipp(caller)
        vm.stop()
        # Each side saw only the relay's address in the other's SDP.
        answer = caller.log_values("ANSWER_SDP")
        self.assertEqual(answer[0]["ip"], lab.harness.RELAY_A_IP, caller.describe())
        offer = vm.log_values("OFFER_SDP")
        self.assertEqual(offer[0]["ip"], lab.harness.RELAY_B_IP, vm.describe())
        [cdr] = self.new_cdrs()
        self.assertEqual(cdr["direction"], "inbound")
        self.assertEqual(cdr["disposition"], "answered")
        self.assertEqual(cdr["sip_code"], "200")
        self.assertEqual(cdr["called"], DID_VM)
        self.assertEqual(cdr["customer"], "Acme")
        self.assertEqual(cdr["hangup_side"], "caller")
        self.assertGreaterEqual(int(cdr["billable_s"]), 3)
        # RTP went through the relay both ways: ~150 packets sent, echoed back.
        self.assertGreater(int(cdr["a_packets"]), 100, cdr)
        self.assertGreater(int(cdr["b_packets"]), 100, cdr)


if __name__ == "__main__":
    lab.main()
