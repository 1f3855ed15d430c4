"""RFC 3261 behaviours of the call server that sipp's scenarios do not reach,
with hand-written requests (sip_send.py) through the real server: a 2xx never
ACKed, a SIPS Request-URI, an INVITE's Expires, OPTIONS' Supported, invalid
IPv6 references, folded headers. T1 is 100 ms here, so that timer H (64*T1)
is 6.4 s."""

import json
import os
import re

import lab
from lab import DID_VM, in_ns, run

LAB = None
SENDER = os.path.join(lab.HERE, "sip_send.py")
NODE = f"{lab.NODE_IP}:{lab.SIP_PORT}"
T1_MS = 100


def tearDownModule():
    LAB.stop_control()  # a clean exit, nothing reported by the sanitizers


def setUpModule():
    global LAB
    LAB = lab.Lab(control_args=["--sip-t1", str(T1_MS), "--no-answer", "8"])
    lab.CallTest.lab = LAB


def request(name, uri=f"sip:{DID_VM}@{NODE}", via_host=f"{lab.PROVIDER_IP}:5098", method="INVITE", headers=(),
            display='"caller"'):
    """A request from the provider's host, without a body; `name` makes its Call-ID and branch."""
    lines = [f"{method} {uri} SIP/2.0", f"Via: SIP/2.0/UDP {via_host};branch=z9hG4bK-{name}", "Max-Forwards: 70",
             f"From: {display} <sip:+4940111@{lab.PROVIDER_IP}>;tag={name}", f"To: <sip:{DID_VM}@{NODE}>",
             f"Call-ID: {name}@{lab.PROVIDER_IP}", f"CSeq: 1 {method}", f"Contact: <sip:caller@{lab.PROVIDER_IP}:5098>",
             *headers, "Content-Length: 0"]
    return "\r\n".join(lines) + "\r\n\r\n"


def send(messages, wait=1.5):
    """Each message (name -> text) over UDP from the provider's host: name -> the codes it got back."""
    folder = lab.temp_dir("tandem-sip-raw-")
    for name, text in messages.items():
        with open(os.path.join(folder, name + ".dat"), "w", newline="") as f:
            f.write(text)
    r = run(in_ns(LAB.topo.caller, ["python3", SENDER, "corpus", "--to", NODE, "--dir", folder, "--transport", "udp",
                                    "--wait", str(wait)]), timeout=120)
    return {name: result["codes"] for name, result in json.loads(r.stdout).items()}


def final(codes):
    finals = [c for c in codes if c >= 200]
    return finals[0] if finals else None


class Conformance(lab.CallTest):
    def test_a_2xx_never_acked_ends_the_call_after_64_t1(self):
        vm = LAB.vm("uas_answer")  # answers; then our ACK and, 64*T1 later, our BYE
        r = run(in_ns(LAB.topo.caller, ["python3", SENDER, "no-ack", "--to", NODE, "--called", DID_VM,
                                        "--wait", "20"]), timeout=60)
        out = json.loads(r.stdout)
        self.assertIn(200, out["codes"], out)
        self.assertIsNotNone(out["bye_after_s"], f"{out}\n{LAB.control_text()[-3000:]}")
        timer_h = 64 * T1_MS / 1000
        self.assertGreaterEqual(out["bye_after_s"], timer_h - 0.5, out)
        self.assertLess(out["bye_after_s"], timer_h + 3, out)
        self.check_sipp(vm)  # the callee got its BYE too
        self.assertEqual(self.counted("no_ack"), 1)
        cdr = self.new_cdr()
        self.assertEqual((cdr["disposition"], cdr["hangup_side"], cdr["hangup_reason"]),
                         ("answered", "system", "no ACK"), cdr)

    def test_a_sips_request_uri_is_refused_not_downgraded(self):
        codes = send({"sips": request("sips-1", uri=f"sips:{DID_VM}@{NODE}")})["sips"]
        self.assertEqual(final(codes), 416, codes)
        cdr = self.new_cdr()
        self.assertEqual((cdr["disposition"], cdr["sip_code"]), ("rejected", "416"), cdr)

    def test_an_invite_expires_cancels_the_target_and_487s_the_caller(self):
        vm = LAB.vm("uas_ring_no_answer")  # rings until cancelled
        codes = send({"expires": request("expires-1", headers=["Expires: 2"])}, wait=6)["expires"]
        self.assertEqual(final(codes), 487, f"{codes}\n{LAB.control_text()[-3000:]}")  # not --no-answer's 480
        self.check_sipp(vm)  # cancelled
        self.assertRegex(vm.text("msg"), re.compile(r"^Expires: [12]\r?$", re.M), "Expires passed on to the target")
        self.assertEqual(self.counted("expired"), 1)
        cdr = self.new_cdr()
        self.assertEqual((cdr["disposition"], cdr["sip_code"], cdr["hangup_reason"]),
                         ("no_answer", "487", "INVITE Expires ran out"), cdr)

    def test_options_says_what_is_supported(self):
        options = LAB.provider_call("uac_options", None, keys={"require_load": 1}, port=5092)
        self.check_sipp(options)
        text = options.text("msg")
        for header in ("Supported", "Allow", "Accept"):
            self.assertRegex(text, re.compile(rf"^{header}:", re.M | re.I), text[-2000:])

    def test_an_ipv6_reference_that_is_no_ipv6_address_is_400(self):
        codes = send({
            "ruri": request("v6-ruri", uri=f"sip:{DID_VM}@[2001:db8:::10]"),
            "via": request("v6-via", via_host="[2001:db8:::9:1]:5098"),
        })
        self.assertEqual({name: final(c) for name, c in codes.items()}, {"ruri": 400, "via": 400}, codes)

    def test_a_folded_header_is_sent_on_unfolded(self):
        vm = LAB.vm("uas_busy")
        folded = request("folded-1", display='"Bob\r\n  Smith"',
                         headers=[f"P-Asserted-Identity: <sip:+4940111@{lab.PROVIDER_IP}>,\r\n   <tel:+4940111>"])
        codes = send({"folded": folded})["folded"]
        self.assertEqual(final(codes), 486, codes)
        self.check_sipp(vm)
        invite = vm.text("msg")
        self.assertIn(f"P-Asserted-Identity: <sip:+4940111@{lab.PROVIDER_IP}>, <tel:+4940111>", invite)
        self.assertIn('From: "Bob Smith" <sip:+4940111@', invite)
        self.new_cdr()


if __name__ == "__main__":
    lab.main()
