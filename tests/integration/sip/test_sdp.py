"""SDP through tandem-control end to end (issue 12): what the B2BUA refuses
and how it says so, the attributes it must relay untouched, and answers made
to match their offers (RFC 3264 section 6) wherever they come: a 2xx, the ACK
of a delayed offer, a re-INVITE's 2xx."""

import json
import os

import lab
from lab import DID_VM, in_ns, run

LAB = None
SENDER = os.path.join(lab.HERE, "sip_send.py")

# The caller's SDP (sip_send.py call fills in {ip} and {port}).
AUDIO = "v=0\no=caller 1 1 IN IP4 {ip}\ns=-\nc=IN IP4 {ip}\nt=0 0\nm=audio {port} RTP/AVP 0\na=rtpmap:0 PCMU/8000\n"
AUDIO_AND_VIDEO = AUDIO + "m=video 0 RTP/AVP 31\n"
AUDIO_SAVP = AUDIO.replace("RTP/AVP", "RTP/SAVP") + "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\n"


def raw_call(called=DID_VM, wait=15, **sdp):
    """A call from the provider's host by sip_send.py (offer, answer, reoffer: SDP texts)."""
    cmd = ["python3", SENDER, "call", "--to", f"{lab.NODE_IP}:{lab.SIP_PORT}", "--called", called, "--wait", str(wait)]
    for name, text in sdp.items():
        cmd += [f"--{name}", text]
    return json.loads(run(in_ns(LAB.topo.caller, cmd), timeout=wait + 60).stdout)


def messages(sipp, method):
    """The requests of `method` that sipp received, as its message log has them."""
    found = []
    for chunk in sipp.text("msg").split("message received")[1:]:  # "UDP message received [N] bytes :"
        message = chunk.split("\n", 1)[-1].lstrip().split("\n-----")[0]
        if message.startswith(method + " "):
            found.append(message)
    return found


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

    def test_delayed_offer_answer_in_the_ack_is_mended(self):
        # The VM's 2xx offers one stream; the caller's ACK answers with a second one nothing offered:
        # dropped before the ACK goes on to the VM (RFC 3264 section 6: the offer's m= lines, in order).
        vm = LAB.vm("uas_answer_then_bye", keys={"hold_ms": 500})
        out = raw_call(answer=AUDIO_AND_VIDEO)
        self.check_sipp(vm)
        self.assertIn(200, out["codes"], out)
        self.assertIsNotNone(out["bye_after_s"], out)  # the VM's BYE: the call went on
        acks = messages(vm, "ACK")
        self.assertEqual(len(acks), 1, vm.describe())
        self.assertIn("m=audio ", acks[0], acks[0])
        self.assertNotIn("m=video", acks[0], acks[0])
        cdr = self.new_cdr()
        self.assertEqual((cdr["disposition"], cdr["hangup_side"]), ("answered", "callee"), cdr)

    def test_delayed_offer_answer_on_another_transport_ends_the_call(self):
        # RTP/SAVP cannot answer RTP/AVP: the VM gets its ACK (without that answer), then both a BYE.
        vm = LAB.vm("uas_answer")
        out = raw_call(answer=AUDIO_SAVP)
        self.check_sipp(vm)
        self.assertIsNotNone(out["bye_after_s"], f"{out}\n{LAB.control_text()[-3000:]}")
        acks = messages(vm, "ACK")
        self.assertEqual(len(acks), 1, vm.describe())
        self.assertNotIn("RTP/SAVP", acks[0], acks[0])
        cdr = self.new_cdr()
        self.assertEqual((cdr["hangup_side"], cdr["hangup_reason"]),
                         ("system", "SDP answer in the ACK does not match the offer"), cdr)

    def test_reinvite_answer_on_another_transport_ends_the_call(self):
        # The re-INVITE's offer is RTP/AVP, the VM answers RTP/SAVP: the caller's transaction gets its
        # 2xx, without that answer, and both sides a BYE.
        vm = LAB.vm("uas_reinvite_mismatch")
        out = raw_call(offer=AUDIO, reoffer=AUDIO)
        self.check_sipp(vm)
        self.assertEqual(len(vm.log_values("REINVITE_RECEIVED")), 1, vm.describe())
        self.assertEqual(len(vm.log_values("BYE_RECEIVED")), 1, vm.describe())
        self.assertEqual([c for c in out["codes"] if c >= 200], [200, 200], out)
        self.assertEqual(out["reinvite_sdp"], "", out)
        self.assertIsNotNone(out["bye_after_s"], out)
        cdr = self.new_cdr()
        self.assertEqual((cdr["disposition"], cdr["hangup_side"], cdr["hangup_reason"]),
                         ("answered", "system", "re-INVITE answer does not match the offer"), cdr)


if __name__ == "__main__":
    lab.main()
