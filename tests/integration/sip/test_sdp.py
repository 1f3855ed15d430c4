"""SDP through tandem-control end to end (issue 12): what the B2BUA refuses
and how it says so, and the attributes it must relay untouched."""


import lab
from lab import DID_VM

LAB = None


def tearDownModule():
    LAB.stop_control()  # a clean exit, nothing reported by the sanitizers


def setUpModule():
    global LAB
    LAB = lab.Lab()
    lab.CallTest.lab = LAB


class Sdp(lab.CallTest):
    def test_ipv6_media_is_488_with_warn_code_301(self):
        # RFC 3261 section 20.43: 301 "incompatible network address formats", which
        # a user agent can act on (offer IPv4 instead); 399 says nothing.
        caller = LAB.provider_call("uac_offer_refused", DID_VM, keys={"v6_media": "2001:db8::1"})
        self.check_sipp(caller)
        self.assertEqual(caller.log_values("REFUSED")[0]["warn_code"], "301", caller.describe())
        cdr = self.new_cdr()
        self.assertEqual((cdr["disposition"], cdr["sip_code"]), ("rejected", "488"), cdr)
        self.assertIn("IPv4", cdr["hangup_reason"], cdr)

    def test_answer_on_another_transport_ends_the_call(self):
        # RFC 3264 section 6: RTP/SAVP cannot answer RTP/AVP; relayed, the caller
        # would send plain RTP to a callee that expects SRTP.
        vm = LAB.vm("uas_answer_mismatch")
        caller = LAB.provider_call("uac_reject", DID_VM, keys={"expect_code": 502})
        self.check_sipp(caller, vm)
        self.assertEqual(len(vm.log_values("BYE_RECEIVED")), 1, vm.describe())
        cdr = self.new_cdr()
        self.assertEqual((cdr["disposition"], cdr["sip_code"], cdr["hangup_reason"]),
                         ("failed", "502", "callee's SDP answer does not match the offer"), cdr)
        self.assertIn("RTP/SAVP", LAB.control_text())

    def test_resume_offer_keeps_its_sendrecv(self):
        # Endpoints that keep the previous direction when an offer has no a= line
        # never leave hold unless the resume's explicit a=sendrecv reaches them.
        vm = LAB.vm("uas_reinvite", extra=["-rtp_echo"])
        caller = LAB.provider_call("uac_reinvite", DID_VM, keys={"hold_ms": 500, "check_hold": 1})
        self.check_sipp(caller, vm)
        dirs = [r.get("dir") for r in vm.log_values("REINVITE_OFFER")]
        self.assertEqual(dirs, ["sendonly", "sendrecv"], vm.describe())
        # The resume offer as the VM received it (up to its answer), whatever the scenario assumes without a=.
        resume = vm.text("msg").split("INVITE sip:")[3].split("\nSIP/2.0 ")[0]
        self.assertIn("a=sendrecv", resume, vm.describe())


if __name__ == "__main__":
    lab.main()
