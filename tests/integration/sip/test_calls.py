"""Calls through tandem-control end to end: sipp as provider and VM, the
dataplane relaying RTP on veths, MariaDB holding the rules and the CDRs. Every
scenario is checked in the CDR DB row it leaves."""


import lab
from lab import CARRIER_A_PORT, CARRIER_B_PORT, DID_FORWARD, DID_MENU, DID_REJECT, DID_RING, DID_VM, MOBILE

LAB = None
RELAY_PUBLIC = lab.harness.RELAY_A_IP
RELAY_PRIVATE = lab.harness.RELAY_B_IP


def tearDownModule():
    LAB.stop_control()  # a clean exit, nothing reported by the sanitizers


def setUpModule():
    global LAB
    LAB = lab.Lab(control_args=["--no-answer", "4", "--provider-setup", "1500"])
    lab.CallTest.lab = LAB


class Calls(lab.CallTest):
    def assert_cdr(self, cdr, **want):
        got = {k: cdr[k] for k in want}
        self.assertEqual(got, {k: str(v) for k, v in want.items()}, cdr)

    # -- inbound

    def test_inbound_call_with_media_both_ways(self):
        vm = LAB.vm("uas_answer", extra=["-rtp_echo"])
        caller = LAB.provider_call("uac_call", DID_VM, keys={"hold_ms": 3000, "rtcp_mux": 0, "delayed_offer": 0})
        self.check_sipp(caller)
        vm.stop()
        # Each side saw only the relay's address for the other.
        self.assertEqual(caller.log_values("ANSWER_SDP")[0]["ip"], RELAY_PUBLIC, caller.describe())
        self.assertEqual(vm.log_values("OFFER_SDP")[0]["ip"], RELAY_PRIVATE, vm.describe())
        cdr = self.new_cdr()
        self.assert_cdr(cdr, direction="inbound", disposition="answered", sip_code=200, called=DID_VM,
                        customer="Acme", hangup_side="caller", provider="")
        self.assertGreaterEqual(int(cdr["billable_s"]), 3)
        # RTP went through the relay both ways: ~150 packets sent and echoed back.
        self.assertGreater(int(cdr["a_packets"]), 100, cdr)
        self.assertGreater(int(cdr["b_packets"]), 100, cdr)

    def test_delayed_offer(self):
        # INVITE without SDP: the VM's 200 brings the offer, the caller's ACK the answer; both anchored.
        vm = LAB.vm("uas_answer", extra=["-rtp_echo"])
        caller = LAB.provider_call("uac_call", DID_VM, keys={"hold_ms": 2000, "rtcp_mux": 0, "delayed_offer": 1})
        self.check_sipp(caller)
        vm.stop()
        self.assertEqual(caller.log_values("ANSWER_SDP")[0]["ip"], RELAY_PUBLIC, caller.describe())
        self.assertNotIn("ip", vm.log_values("OFFER_SDP")[0], vm.describe())  # the INVITE had none
        self.assertEqual(vm.log_values("ACK_SDP")[0]["ip"], RELAY_PRIVATE, vm.describe())
        cdr = self.new_cdr()
        self.assert_cdr(cdr, direction="inbound", disposition="answered", sip_code=200, hangup_side="caller")
        self.assertGreater(int(cdr["a_packets"]), 60, cdr)
        self.assertGreater(int(cdr["b_packets"]), 60, cdr)

    def test_inbound_call_over_tcp(self):
        vm = LAB.vm("uas_answer", extra=["-rtp_echo"])
        caller = LAB.provider_call("uac_call", DID_VM, keys={"hold_ms": 1000, "rtcp_mux": 0, "delayed_offer": 0}, transport="t1")
        self.check_sipp(caller)
        vm.stop()
        self.assert_cdr(self.new_cdr(), disposition="answered", sip_code=200, hangup_side="caller")

    def test_callee_busy(self):
        vm = LAB.vm("uas_busy")
        caller = LAB.provider_call("uac_reject", DID_VM, keys={"expect_code": 486})
        self.check_sipp(caller, vm)
        self.assert_cdr(self.new_cdr(), disposition="busy", sip_code=486, hangup_side="callee")

    def test_rule_rejects_the_call(self):
        caller = LAB.provider_call("uac_reject", DID_REJECT, keys={"expect_code": 603})
        self.check_sipp(caller)
        self.assert_cdr(self.new_cdr(), disposition="rejected", sip_code=603, called=DID_REJECT, customer="Acme")

    def test_unknown_number_is_not_found(self):
        caller = LAB.provider_call("uac_reject", "+4930999999", keys={"expect_code": 404})
        self.check_sipp(caller)
        self.assert_cdr(self.new_cdr(), disposition="rejected", sip_code=404, customer="(none)")

    def test_attendant_answers_a_menu_number(self):
        # The menus themselves: tests/integration/attendant.
        caller = LAB.provider_call("uac_call", DID_MENU, keys={"hold_ms": 0, "rtcp_mux": 0, "delayed_offer": 0})
        self.check_sipp(caller)
        cdr = self.new_cdr()
        self.assert_cdr(cdr, disposition="answered", hangup_side="caller")
        self.assertIn("(main)", cdr["target"])
        self.assertEqual(self.counted("menu_calls"), 1)

    def test_caller_cancels_while_ringing(self):
        vm = LAB.vm("uas_ring_no_answer")
        caller = LAB.provider_call("uac_cancel", DID_VM, keys={"ring_ms": 1000})
        self.check_sipp(caller, vm)
        self.assert_cdr(self.new_cdr(), disposition="cancelled", sip_code=487, hangup_side="caller")
        self.assertEqual(self.counted("cancelled"), 1)

    def test_caller_cancels_before_ringing(self):
        vm = LAB.vm("uas_ring_no_answer")
        caller = LAB.provider_call("uac_cancel_early", DID_VM)
        self.check_sipp(caller, vm)
        self.assert_cdr(self.new_cdr(), disposition="cancelled", sip_code=487)

    def test_callee_hangs_up(self):
        vm = LAB.vm("uas_answer_then_bye", keys={"hold_ms": 2000}, extra=["-rtp_echo"])
        caller = LAB.provider_call("uac_wait_bye", DID_VM, keys={"bye_timeout_ms": 15000, "rtcp_mux": 0, "media": 1, "delayed_offer": 0})
        self.check_sipp(caller, vm)
        cdr = self.new_cdr()
        self.assert_cdr(cdr, disposition="answered", hangup_side="callee", hangup_reason="BYE")
        self.assertGreater(int(cdr["b_packets"]), 50, cdr)

    def test_reinvite_hold_and_resume_on_a_new_port(self):
        vm = LAB.vm("uas_reinvite", extra=["-rtp_echo"])
        caller = LAB.provider_call("uac_reinvite", DID_VM, keys={"hold_ms": 1000, "check_hold": 1})
        self.check_sipp(caller, vm)
        self.assertEqual(self.counted("reinvites"), 2)
        cdr = self.new_cdr()
        self.assert_cdr(cdr, disposition="answered", hangup_side="caller")
        # After the resume the caller sends from its new port: the relay follows it.
        self.assertGreater(int(cdr["b_packets"]), 80, cdr)

    def test_methods_we_do_not_serve_in_a_dialog_are_refused_not_relayed_half_made(self):
        # REFER (a transfer) would reach the VM without Refer-To, UPDATE's answer would stay
        # unanchored: 405 with Allow, and 501 for a method nobody knows; the call goes on.
        vm = LAB.vm("uas_answer", extra=["-rtp_echo"])
        caller = LAB.provider_call("uac_refer", DID_VM)
        self.check_sipp(caller, vm)
        self.assert_cdr(self.new_cdr(), disposition="answered", hangup_side="caller")

    def test_the_callers_bye_on_the_early_dialog_gets_487_for_its_invite(self):
        # RFC 3261 15.1.2: the pending INVITE is answered 487; the ringing callee gets a CANCEL.
        vm = LAB.vm("uas_ring_no_answer")
        caller = LAB.provider_call("uac_bye_early", DID_VM)
        self.check_sipp(caller, vm)
        self.assert_cdr(self.new_cdr(), disposition="cancelled", hangup_side="caller")

    def test_a_refused_reinvite_leaves_the_media_where_it_was(self):
        # RFC 3264 section 8: the caller offers to move its media, the callee refuses (488): the
        # relay still sends to the caller's first port, not to the one the refused offer named.
        vm = LAB.vm("uas_refuse_reinvite")
        caller = LAB.provider_call("uac_reinvite_refused", DID_VM)
        lab.wait_for(lambda: caller.log_values("REINVITE_REFUSED"), 15, what="the re-INVITE refused")
        port = caller.media_port
        legs = [leg for s in LAB.dp.sessions() for leg in s["legs"] if leg["remote"].startswith(lab.PROVIDER_IP)]
        self.assertEqual([leg["remote"] for leg in legs], [f"{lab.PROVIDER_IP}:{port}"], legs)
        self.check_sipp(caller, vm)
        self.assertEqual(self.counted("reinvites"), 1)
        self.new_cdr()

    def test_delayed_offer_without_an_answer_in_the_ack_ends_the_call(self):
        vm = LAB.vm("uas_answer", extra=["-rtp_echo"])
        caller = LAB.provider_call("uac_wait_bye", DID_VM,
                                   keys={"bye_timeout_ms": 10000, "rtcp_mux": 0, "media": 0, "delayed_offer": 1})
        self.check_sipp(caller)
        vm.stop()
        self.assertEqual(len(caller.log_values("BYE_RECEIVED")), 1, caller.describe())
        self.assertNotIn("ip", vm.log_values("ACK_SDP")[0], vm.describe())  # ACKed, with no answer to give
        self.assert_cdr(self.new_cdr(), disposition="answered", hangup_side="system",
                        hangup_reason="no SDP answer in the ACK")

    def test_reinvite_without_sdp_gets_the_answer_in_the_ack(self):
        vm = LAB.vm("uas_reinvite", extra=["-rtp_echo"])
        caller = LAB.provider_call("uac_refresh", DID_VM, keys={"hold_ms": 500})
        self.check_sipp(caller)
        vm.stop()
        self.assertEqual(caller.log_values("REFRESH_OFFER_SDP")[0]["ip"], RELAY_PUBLIC, caller.describe())
        reinvite = vm.log_values("REINVITE_OFFER")[0]
        self.assertNotIn("dir", reinvite, vm.describe())  # relayed without an offer
        self.assertEqual(vm.log_values("REINVITE_ACK_SDP")[0]["ip"], RELAY_PRIVATE, vm.describe())
        self.assert_cdr(self.new_cdr(), disposition="answered", hangup_side="caller")

    def test_early_media_and_rtcp_mux(self):
        vm = LAB.vm("uas_early_media", keys={"early_ms": 1000}, extra=["-rtp_echo"])
        caller = LAB.provider_call("uac_call", DID_VM, keys={"hold_ms": 1000, "rtcp_mux": 1, "delayed_offer": 0})
        self.check_sipp(caller)
        vm.stop()
        early = caller.log_values("EARLY_SDP")
        self.assertEqual(early[0]["ip"], RELAY_PUBLIC, caller.describe())
        self.assertIn("a=rtcp-mux", vm.text("msg"))
        self.assert_cdr(self.new_cdr(), disposition="answered")

    def test_no_answer(self):
        vm = LAB.vm("uas_ring_no_answer")
        caller = LAB.provider_call("uac_reject", DID_VM, keys={"expect_code": 480})
        self.check_sipp(caller, vm)  # the VM was cancelled after --no-answer 4
        self.assert_cdr(self.new_cdr(), disposition="no_answer", sip_code=480)

    def test_forward_to_a_mobile_through_least_cost_routing(self):
        carrier = LAB.carrier("uas_answer", CARRIER_A_PORT, extra=["-rtp_echo"])
        caller = LAB.provider_call("uac_call", DID_FORWARD, keys={"hold_ms": 1000, "rtcp_mux": 0, "delayed_offer": 0})
        self.check_sipp(caller)
        carrier.stop()
        self.assertIn(f"sip:{MOBILE}@", carrier.text("msg"))
        self.assert_cdr(self.new_cdr(), direction="inbound", disposition="answered", target=MOBILE,
                        provider="carrier-a")

    def test_ring_targets_in_order(self):
        vm = LAB.vm("uas_ring_no_answer")                        # rung for 2 s, then cancelled
        carrier = LAB.carrier("uas_answer", CARRIER_A_PORT, extra=["-rtp_echo"])  # the mobile answers
        caller = LAB.provider_call("uac_call", DID_RING, keys={"hold_ms": 1000, "rtcp_mux": 0, "delayed_offer": 0})
        self.check_sipp(caller, vm)
        carrier.stop()
        self.assert_cdr(self.new_cdr(), disposition="answered", target=MOBILE, provider="carrier-a")
        self.assertEqual(self.counted("failovers"), 1)

    # -- outbound

    def test_outbound_call_by_least_cost(self):
        carrier = LAB.carrier("uas_answer", CARRIER_A_PORT, extra=["-rtp_echo"])
        vm = LAB.vm_call("uac_call", MOBILE, keys={"hold_ms": 2000, "rtcp_mux": 0, "delayed_offer": 0})
        self.check_sipp(vm)
        carrier.stop()
        # The VM sees the relay's private side, the carrier its public side.
        self.assertEqual(vm.log_values("ANSWER_SDP")[0]["ip"], RELAY_PRIVATE, vm.describe())
        self.assertEqual(carrier.log_values("OFFER_SDP")[0]["ip"], RELAY_PUBLIC, carrier.describe())
        cdr = self.new_cdr()
        self.assert_cdr(cdr, direction="outbound", disposition="answered", provider="carrier-a", called=MOBILE,
                        customer="Acme")
        # carrier-a bills 0.01 per started minute.
        self.assertEqual(cdr["cost"], "0.010000")
        self.assertGreater(int(cdr["a_packets"]), 60, cdr)
        self.assertGreater(int(cdr["b_packets"]), 60, cdr)

    def fails_over_to_the_second_provider(self, first):
        """`first` (a carrier's sipp) refuses the VM's call; the second provider answers it."""
        second = LAB.carrier("uas_answer", CARRIER_B_PORT, extra=["-rtp_echo"])
        vm = LAB.vm_call("uac_call", MOBILE, keys={"hold_ms": 1000, "rtcp_mux": 0, "delayed_offer": 0})
        self.check_sipp(vm, first)
        second.stop()
        self.assert_cdr(self.new_cdr(), direction="outbound", disposition="answered", provider="carrier-b")
        self.assertEqual(self.counted("failovers"), 1)

    def test_provider_failover(self):
        self.fails_over_to_the_second_provider(LAB.carrier("uas_503", CARRIER_A_PORT))

    def test_a_provider_that_challenges_us_is_skipped(self):
        # 407: it wants credentials we do not have; the caller cannot answer our challenge.
        self.fails_over_to_the_second_provider(LAB.carrier("uas_reject_code", CARRIER_A_PORT, keys={"code": 407}))

    def test_no_provider_left_is_503(self):
        first = LAB.carrier("uas_503", CARRIER_A_PORT)
        second = LAB.carrier("uas_503", CARRIER_B_PORT)
        vm = LAB.vm_call("uac_reject", MOBILE, keys={"expect_code": 503})
        self.check_sipp(vm, first, second)
        self.assert_cdr(self.new_cdr(), direction="outbound", disposition="failed", sip_code=503)

    def test_silent_provider_is_skipped(self):
        # Nothing listens on carrier-a's port: ICMP unreachable or --provider-setup moves on.
        second = LAB.carrier("uas_answer", CARRIER_B_PORT, extra=["-rtp_echo"])
        vm = LAB.vm_call("uac_call", MOBILE, keys={"hold_ms": 500, "rtcp_mux": 0, "delayed_offer": 0})
        self.check_sipp(vm)
        second.stop()
        self.assert_cdr(self.new_cdr(), disposition="answered", provider="carrier-b")

    # -- operators

    def ctl(self, *args):
        r = LAB.ctl("--control-socket", LAB.control_socket, "--json", *args)
        return lab.json.loads(r.stdout)

    def test_operator_sees_live_calls_and_counters(self):
        vm = LAB.vm("uas_ring_no_answer")
        caller = LAB.provider_call("uac_cancel", DID_VM, keys={"ring_ms": 2500})
        lab.wait_for(lambda: self.ctl("calls") and self.ctl("calls")[0]["state"] == "ringing", 10, interval=0.1,
                     what="the call ringing in tandemctl calls")
        [call] = self.ctl("calls")
        self.assertEqual((call["direction"], call["called"], call["customer"]), ("inbound", DID_VM, "Acme"))
        detail = self.ctl("call", str(call["id"]))
        self.assertIn("the customer's VM", detail["decision"])
        self.assertNotEqual(detail["media"]["session"], 0)
        self.assertEqual(detail["media"]["caller_side"]["relay"], RELAY_PUBLIC)
        stats = self.ctl("stats")
        self.assertEqual((stats["active_calls"], stats["capacity"]), (1, 500))
        self.check_sipp(caller, vm)
        self.assertEqual(self.ctl("calls"), [])
        lab.wait_for(lambda: self.ctl("cdr", "stats")["written"] >= 1, 10, interval=0.1, what="CDR written")
        cdr_stats = self.ctl("cdr", "stats")
        self.assertTrue(cdr_stats["db_up"])
        self.assertEqual(cdr_stats["rejected"] + cdr_stats["dropped"], 0)
        self.new_cdr()

    def test_rules_edited_in_sql_apply_to_the_next_call(self):
        LAB.db.sql("UPDATE rules SET target='486' WHERE description='closed for good'", db="tandem_rules")
        try:
            version = LAB.stats()["rules"]["version"]
            reload = self.ctl("rules", "reload")  # rather than wait for the next poll
            self.assertTrue(reload["ok"], reload)
            self.assertNotEqual(reload["version"], version)
            caller = LAB.provider_call("uac_reject", DID_REJECT, keys={"expect_code": 486})
            self.check_sipp(caller)
            self.new_cdr()
        finally:
            LAB.db.sql("UPDATE rules SET target='603' WHERE description='closed for good'", db="tandem_rules")
            self.ctl("rules", "reload")

    # -- the SBC's view

    def test_options_reports_the_load(self):
        options = LAB.provider_call("uac_options", None, keys={"require_load": 1}, port=5092)
        self.check_sipp(options)
        self.assertIn("X-Tandem-Load: 0/500", options.text("msg"))


if __name__ == "__main__":
    lab.main()
