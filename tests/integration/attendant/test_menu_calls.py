"""The attendant end to end: sipp callers (sip/lab.py's lab: tandem-control,
tandem-dataplane, MariaDB, the customer's VM) call a menu number; the prompt's
RTP is captured on the caller's wire and checked packet by packet against the
prompt file; digits go as RFC 4733 events (sipp's own captures) and as SIP
INFO; the calls end where the menus say, with the menu path in their CDR.

Menus (the lab's customer Acme):
  main   prompt 1 s; 1 = voicemail, 2 = menu sub, 3 = forward to the mobile (least-cost routing),
         8 = menu broken, 9 = hang up;
         first digit within 2 s, 1 retry, then hang up (timeout and invalid)
  sub    prompt 1 s; 3 = extension 201, 4 = hang up, 50 = extension 50, 501 = extension 501
  broken its prompt file is gone at run time; timeout action: voicemail
"""

import os
import struct
import sys
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sip"))
sys.path.insert(0, os.path.join(HERE, ".."))

import lab as sip_lab  # noqa: E402
from harness import CLEANUP, log  # noqa: E402
from lab import CARRIER_A_PORT, CARRIER_B_PORT, DID_MENU, MOBILE, CallTest  # noqa: E402

import menu_caller  # noqa: E402
from caller_side import Capture, rtp_fields, tone_wav  # noqa: E402

LAB = None
PROMPT_S = 1
FRAMES = PROMPT_S * 50


def ulaw(sample):
    """G.711 u-law of a 16-bit sample (bias 132, clipped at 32635), as ITU-T G.711's table gives it and
    as spandsp and Asterisk compute it. (Python's audioop works from 14 bits, the Sun way, and differs in
    the last bit of some codes.)"""
    sign = 0x80 if sample < 0 else 0
    v = min(abs(sample), 32635) + 132
    seg = v.bit_length() - 8
    return ~(sign | seg << 4 | (v >> (seg + 3)) & 0x0f) & 0xff


def alaw(sample):
    """G.711 A-law of a 16-bit sample: its 13 most significant bits, even bits inverted."""
    v = sample >> 3
    sign = 0x80 if v >= 0 else 0
    v = min(v if v >= 0 else -v - 1, 0xfff)
    seg = 0 if v < 0x20 else v.bit_length() - 5
    mantissa = (v >> 1) & 0x0f if seg == 0 else (v >> seg) & 0x0f
    return (sign | seg << 4 | mantissa) ^ 0x55


def law_frames(path, law=ulaw):
    """The prompt as the caller must hear it: G.711, 160 bytes a frame, the last one filled with silence."""
    with wave.open(path) as w:
        pcm = w.readframes(w.getnframes())
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    coded = bytes(law(s) for s in samples)
    coded += bytes([law(0)]) * ((-len(coded)) % 160)
    return [coded[i:i + 160] for i in range(0, len(coded), 160)]


def setUpModule():
    global LAB
    sip_lab.require_environment()
    LAB = sip_lab.Lab()
    db = ["--db", f"unix:{LAB.db.socket}", "--db-user", "root"]
    main_prompt = tone_wav(os.path.join(LAB.workdir, "main.wav"), 440, PROMPT_S)
    sub_prompt = tone_wav(os.path.join(LAB.workdir, "sub.wav"), 620, PROMPT_S)
    broken_prompt = tone_wav(os.path.join(LAB.workdir, "broken.wav"), 300, PROMPT_S)
    LAB.ctl("rules", "menus", "add", *db, "customer=Acme", "name=sub", f"prompt={sub_prompt}", "timeout_s=2",
            "retries=0", "timeout_action=hangup", "invalid_action=hangup", "inter_digit_timeout_s=2",
            "--option", "3=extension:201", "--option", "4=hangup", "--option", "50=extension:50",
            "--option", "501=extension:501")
    LAB.ctl("rules", "menus", "add", *db, "customer=Acme", "name=broken", f"prompt={broken_prompt}",
            "timeout_action=voicemail", "--option", "1=hangup")
    ids = {name: menu_id for menu_id, name in LAB.db.sql("SELECT id, name FROM menus", db="tandem_rules")}
    LAB.ctl("rules", "menus", "edit", *db, ids["main"], f"prompt={main_prompt}", "timeout_s=2", "retries=1",
            "timeout_action=hangup", "invalid_action=hangup", "--option", "1=voicemail",
            "--option", f"2=menu:{ids['sub']}", "--option", f"3=forward:{MOBILE}", "--option", f"8=menu:{ids['broken']}",
            "--option", "9=hangup")
    os.remove(broken_prompt)  # saved while it was there; gone when a caller needs it
    LAB.request("rules-reload")
    LAB.ids = ids
    LAB.main_frames = law_frames(main_prompt)
    LAB.sub_frames = law_frames(sub_prompt)
    LAB.main_frames_pcma = law_frames(main_prompt, alaw)


def tearDownModule():
    CLEANUP.run()


class MenuCallTest(CallTest):
    def setUp(self):
        self.lab = LAB
        super().setUp()

    def call(self, name, steps, timeout=60, delayed_offer=False, **kw):
        path = menu_caller.write(os.path.join(LAB.workdir, f"{name}.xml"), steps, delayed_offer)
        return LAB.provider_call(path[:-4], DID_MENU, timeout=timeout, **kw)

    def prompt_streams(self, packets, pt=0):
        """The prompts received, split at each marker bit: lists of RTP fields with arrival times."""
        streams = []
        for t, _sport, _dport, payload in packets:
            f = rtp_fields(payload)
            if f["pt"] != pt:
                continue
            f["t"] = t
            if f["marker"] or not streams:
                streams.append([])
            streams[-1].append(f)
        return streams

    def assert_prompt(self, stream, frames, complete=True):
        """Consecutive sequence numbers and timestamps, the prompt's own bytes, paced (not sent in a burst)."""
        if complete:
            self.assertEqual(len(stream), len(frames), "every frame of the prompt, none missing")
        self.assertTrue(stream[0]["marker"], "the marker bit on the prompt's first packet")
        for i, f in enumerate(stream):
            self.assertEqual((f["seq"] - stream[0]["seq"]) & 0xffff, i, "continuous sequence numbers")
            self.assertEqual((f["ts"] - stream[0]["ts"]) & 0xffffffff, 160 * i, "20 ms of timestamp per packet")
            self.assertEqual(f["data"], frames[i], f"frame {i} is the prompt's")
        deltas = [(b["t"] - a["t"]) * 1000 for a, b in zip(stream, stream[1:])]
        if deltas:
            # Delays only stretch a stream; a prompt sent without pacing would arrive within a few ms.
            self.assertGreater(stream[-1]["t"] - stream[0]["t"], 0.8 * 0.020 * (len(stream) - 1), "paced at 20 ms")
        return [abs(d - 20) for d in deltas]

    def log_pacing(self, errors, what):
        errors = sorted(errors)
        log(f"prompt pacing on the caller's wire, {what}: {len(errors) + 1} packets, |arrival gap - 20 ms| "
            f"p50 {errors[len(errors) // 2]:.2f} ms, p99 {errors[int(len(errors) * 0.99)]:.2f} ms, "
            f"max {errors[-1]:.2f} ms")

    def menu_cdr(self, **expected):
        cdr = self.new_cdr()
        path = LAB.db.sql(f"SELECT menu_path FROM cdr WHERE id={cdr['id']}", db="tandem_cdr")[0][0]
        for k, v in expected.items():
            self.assertEqual(path if k == "menu_path" else cdr[k], str(v), f"{k} of {cdr} (menu path {path!r})")
        return cdr

    def test_rfc4733_digit_after_the_prompt_transfers_to_the_vm_with_media_both_ways(self):
        m = LAB.ids["main"]
        vm = LAB.vm("uas_answer", extra=["-rtp_echo"])
        cap = Capture(LAB, "vm")
        caller = self.call("to_vm", [("pause", 1500), ("rfc4733", 1), ("pause", 1000), ("media", 2000), ("bye",)])
        self.check_sipp(caller, vm)
        packets = cap.stop()
        streams = self.prompt_streams([p for p in packets if p[1] % 2 == 0])
        self.assertGreaterEqual(len(streams), 1, packets[:5])
        self.log_pacing(self.assert_prompt(streams[0], LAB.main_frames), "one caller")
        cdr = self.menu_cdr(disposition="answered", hangup_side="caller", menu_path=f"{m}:1")
        self.assertIn("vm", cdr["target"])
        self.assertGreater(int(cdr["a_packets"]), 50, "the caller's media reached the relay")
        self.assertGreater(int(cdr["b_packets"]), 0, "the VM's echo came back through the relay")
        self.assertEqual(self.counted("menu_calls"), 1)
        self.assertEqual(self.counted("menu_transfers"), 1)
        self.assertEqual(self.counted("menu_digits"), 1, "one digit, however many end packets it has")

    def test_forward_after_the_menu_fails_over_between_providers(self):
        m = LAB.ids["main"]
        first = LAB.carrier("uas_503", CARRIER_A_PORT)
        second = LAB.carrier("uas_answer", CARRIER_B_PORT, extra=["-rtp_echo"])
        caller = self.call("forward", [("pause", 1200), ("rfc4733", 3), ("media", 2000), ("bye",)])
        self.check_sipp(caller, first)
        second.stop()
        cdr = self.menu_cdr(disposition="answered", provider="carrier-b", menu_path=f"{m}:3")
        self.assertEqual(cdr["target"], MOBILE)
        self.assertGreater(int(cdr["b_packets"]), 0, "carrier-b's echo came back through the relay")
        self.assertEqual(self.counted("failovers"), 1)

    def test_barge_in_and_nested_menu_lead_to_an_extension(self):
        m, s = LAB.ids["main"], LAB.ids["sub"]
        vm = LAB.vm("uas_answer")
        cap = Capture(LAB, "nested")
        caller = self.call("nested", [("pause", 300), ("rfc4733", 2), ("pause", 1500), ("rfc4733", 3),
                                      ("pause", 1000), ("bye",)])
        self.check_sipp(caller, vm)
        streams = self.prompt_streams(cap.stop())
        self.assertEqual(len(streams), 2, "main's prompt, then sub's")
        self.assertLess(len(streams[0]), FRAMES, "the digit stopped main's prompt (barge-in)")
        self.assert_prompt(streams[0], LAB.main_frames, complete=False)
        self.assert_prompt(streams[1], LAB.sub_frames)
        self.assertIn("sip:201@", vm.text("msg"), "the VM was invited for extension 201")
        cdr = self.menu_cdr(disposition="answered", menu_path=f"{m}:2 {s}:3")
        self.assertIn("extension 201", cdr["target"])

    def test_sip_info_digits_of_both_types_and_a_multi_digit_entry(self):
        m, s = LAB.ids["main"], LAB.ids["sub"]
        vm = LAB.vm("uas_answer")
        caller = self.call("info", [("pause", 200), ("info", 2), ("pause", 300), ("info_dtmf", 5), ("info", 0),
                                    ("info", "#"), ("pause", 1000), ("bye",)])
        self.check_sipp(caller, vm)
        self.assertIn("sip:50@", vm.text("msg"), "50# is extension 50, not 501")
        self.menu_cdr(disposition="answered", menu_path=f"{m}:2 {s}:50#")

    def test_no_digit_plays_the_prompt_again_then_takes_the_timeout_action(self):
        m = LAB.ids["main"]
        cap = Capture(LAB, "timeout")
        caller = self.call("timeout", [("wait_bye", 15000)])
        self.check_sipp(caller)
        streams = self.prompt_streams(cap.stop())
        self.assertEqual(len(streams), 2, "the prompt and its one retry")
        for st in streams:
            self.assert_prompt(st, LAB.main_frames)
        self.menu_cdr(disposition="answered", hangup_side="system", menu_path=f"{m}:timeout {m}:timeout")
        self.assertEqual(self.counted("menu_timeouts"), 2)
        self.assertEqual(self.counted("menu_retries"), 1)

    def test_invalid_digit_then_a_valid_one(self):
        m = LAB.ids["main"]
        caller = self.call("invalid", [("pause", 1500), ("rfc4733", 7), ("pause", 1500), ("rfc4733", 9),
                                       ("wait_bye", 5000)])
        self.check_sipp(caller)
        self.menu_cdr(hangup_side="system", menu_path=f"{m}:7 {m}:9")
        self.assertEqual(self.counted("menu_invalid"), 1)

    def test_missing_prompt_takes_the_menus_timeout_action(self):
        m, b = LAB.ids["main"], LAB.ids["broken"]
        vm = LAB.vm("uas_answer")
        caller = self.call("broken", [("pause", 300), ("rfc4733", 8), ("pause", 1500), ("bye",)])
        self.check_sipp(caller, vm)
        self.menu_cdr(disposition="answered", menu_path=f"{m}:8 {b}:prompt-error")
        self.assertEqual(self.counted("menu_prompt_errors"), 1)
        self.assertIn("cannot play the prompt", LAB.control_text())

    def test_200_callers_in_menus_at_once(self):
        m = LAB.ids["main"]
        n = 200
        vm = LAB.vm("uas_answer", calls=n, timeout=120)
        cap = Capture(LAB, "many")
        # 100 calls a second: all 200 hear the prompt at once; each keys 1 after it.
        caller = self.call("many", [("pause", 1500), ("rfc4733", 1), ("pause", 1000), ("bye",)], timeout=120,
                           calls=n, extra=["-r", "100", "-l", str(n)])
        self.check_sipp(caller, vm, timeout=150)
        by_port = {}
        for packet in cap.stop():
            by_port.setdefault(packet[1], []).append(packet)
        prompts = [self.prompt_streams(p)[0] for port, p in sorted(by_port.items()) if port % 2 == 0]
        self.assertEqual(len(prompts), n, "a prompt to every caller, each from its own relay port")
        errors = []
        for stream in prompts:
            errors += self.assert_prompt(stream, LAB.main_frames)
        self.log_pacing(errors, f"{n} callers at once")
        cdrs = self.new_cdrs(n)
        self.assertEqual(len(cdrs), n)
        for cdr in cdrs:
            self.assertEqual((cdr["disposition"], cdr["hangup_side"]), ("answered", "caller"), cdr)
            self.assertIn("vm", cdr["target"], cdr)
        paths = LAB.db.sql(f"SELECT menu_path, COUNT(*) FROM cdr WHERE id IN ({','.join(c['id'] for c in cdrs)}) "
                           "GROUP BY menu_path", db="tandem_cdr")
        self.assertEqual(paths, [[f"{m}:1", str(n)]], "every digit routed")
        self.assertEqual(self.counted("menu_transfers"), n)

    def test_delayed_offer_gets_our_offer_and_the_law_the_ack_chose(self):
        m = LAB.ids["main"]
        cap = Capture(LAB, "delayed")
        caller = self.call("delayed", [("pause", 1500), ("rfc4733", 9), ("wait_bye", 5000)], delayed_offer=True)
        self.check_sipp(caller)
        streams = self.prompt_streams(cap.stop(), pt=8)
        self.assertEqual(len(streams), 1, "the prompt in PCMA, as the ACK's answer chose")
        self.assert_prompt(streams[0], LAB.main_frames_pcma)
        self.assertIn("m=audio", caller.text("msg"))
        self.menu_cdr(disposition="answered", hangup_side="system", menu_path=f"{m}:9")

    def test_caller_hangs_up_mid_prompt(self):
        caller = self.call("hangup", [("pause", 400), ("bye",)])
        self.check_sipp(caller)
        cdr = self.menu_cdr(hangup_side="caller", menu_path="")
        self.assertEqual(cdr["disposition"], "answered")


if __name__ == "__main__":
    sip_lab.main()
