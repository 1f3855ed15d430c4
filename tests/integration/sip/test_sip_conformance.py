"""RFC 3261 behaviours of the call server that sipp's scenarios do not reach,
with hand-written requests (sip_send.py) through the real server: a 2xx never
ACKed, a SIPS Request-URI, an INVITE's Expires, OPTIONS' Supported, invalid
IPv6 references (RFC 5118), folded headers, bytes on a TCP connection that
start no message. T1 is 100 ms here, so that timer H (64*T1) is 6.4 s."""

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


def send(messages, wait=1.5, transport="udp"):
    """Each message (name -> text) from the provider's host, over UDP or each on a TCP connection of
    its own (its top Via says so): name -> the codes it got back."""
    folder = lab.temp_dir("tandem-sip-raw-")
    for name, text in messages.items():
        with open(os.path.join(folder, name + ".dat"), "w", newline="") as f:
            f.write(text)
    r = run(in_ns(LAB.topo.caller, ["python3", SENDER, "corpus", "--to", NODE, "--dir", folder, "--transport",
                                    transport, "--wait", str(wait)]), timeout=120)
    return {name: result["codes"] for name, result in json.loads(r.stdout).items()}


def send_stream(raw, wait=5):
    """`raw` on one TCP connection from the provider's host: the codes that came back, and after how
    many seconds the node closed the connection (None: not within `wait`)."""
    path = os.path.join(lab.temp_dir("tandem-sip-stream-"), "stream.dat")
    with open(path, "w", newline="") as f:
        f.write(raw)
    r = run(in_ns(LAB.topo.caller, ["python3", SENDER, "stream", "--to", NODE, "--file", path, "--wait", str(wait)]),
            timeout=60)
    return json.loads(r.stdout)


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
        # Never confirmed by the caller: not billed (it may have tried elsewhere, system.py's providers do).
        self.assertEqual((cdr["disposition"], cdr["hangup_side"], cdr["hangup_reason"]),
                         ("failed", "system", "no ACK from the caller"), cdr)

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

    def test_an_ipv6_address_without_brackets_is_400(self):
        # RFC 5118 4.2 "ipv6-bad": sofia-sip's own parser finds no request line in these, and nta drops
        # what is no request unseen; the call server's message class reads them (sip_message_class.h).
        # The RFC's message also has the address in its To, which nta itself answers 400.
        for transport in ("udp", "tcp"):
            rfc5118 = ("OPTIONS sip:user@2001:db8::10 SIP/2.0\r\nTo: sip:user@2001:db8::10\r\n"
                       "From: sip:user@example.com;tag=81x2\r\n"
                       f"Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111-{transport}\r\n"
                       f"Call-ID: SSG9559905523997077-{transport}@hlau_4100\r\nMax-Forwards: 70\r\n"
                       "CSeq: 921 OPTIONS\r\nContent-Length: 0\r\n\r\n")
            codes = send({
                "invite": request(f"v6-bare-invite-{transport}", uri=f"sip:{DID_VM}@2001:db8::10"),
                "options": request(f"v6-bare-options-{transport}", uri="sip:2001:db8::10;transport=udp",
                                   method="OPTIONS"),
                "rfc5118": rfc5118,
            }, transport=transport)
            self.assertEqual({name: final(c) for name, c in codes.items()},
                             {"invite": 400, "options": 400, "rfc5118": 400}, f"over {transport}: {codes}")
        self.assertIn("IPv6 reference without brackets", LAB.control_text())

    def test_bytes_after_content_length_that_start_no_message_close_the_connection(self):
        # RFC 3261 18.3: a stream's framing is lost when what follows a message's body starts no
        # message. The message itself is answered; then nta closes the connection (FIN), with a 400
        # first when the bytes carry a Via to answer (a request whose start line is garbage).
        options = request("framing-ok", uri=f"sip:{NODE}", method="OPTIONS").replace("SIP/2.0/UDP", "SIP/2.0/TCP")
        broken = request("framing-broken", uri=f"sip:{NODE}", method="OPTIONS").replace("SIP/2.0/UDP", "SIP/2.0/TCP")
        broken = "hello world\r\n" + broken.split("\r\n", 1)[1]
        body_overrun = f"v=0\r\no=- 1 1 IN IP4 {lab.PROVIDER_IP}\r\ns=-\r\n"
        for name, tail, codes in (("body overrun", body_overrun, [200]), ("broken start line", broken, [200, 400])):
            out = send_stream(options + tail)
            self.assertEqual(out["codes"], codes, f"{name}: {out}")
            self.assertIsNotNone(out["closed_after_s"], f"{name}: the connection stays open: {out}")
            self.assertLess(out["closed_after_s"], 3, f"{name}: {out}")
        # A well-framed stream stays open: two messages, both answered.
        out = send_stream(options + options.replace("framing-ok", "framing-ok-2"), wait=2)
        self.assertEqual((out["codes"], out["closed_after_s"]), ([200, 200], None), out)

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

    def test_privacy_id_keeps_the_asserted_identity_from_the_customer(self):
        # RFC 3325: a provider's call with Privacy "id" reaches the customer's VM, outside the
        # trust domain, without the P-Asserted-Identity, and with the Privacy header.
        vm = LAB.vm("uas_busy")
        private = request("privacy-1", headers=[f"P-Asserted-Identity: <sip:+4940111@{lab.PROVIDER_IP}>",
                                                "Privacy: id"])
        self.assertEqual(final(send({"private": private})["private"]), 486)
        self.check_sipp(vm)
        invite = vm.text("msg")
        self.assertIn("Privacy: id", invite)
        self.assertNotIn("P-Asserted-Identity", invite)
        self.new_cdr()


if __name__ == "__main__":
    lab.main()
