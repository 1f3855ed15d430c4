"""The call server's limits: capacity (503 with Retry-After), the dataplane's
media timeout (BYE both sides) and the maximum call duration. Each is checked
in the CDR DB row it leaves. (The dataplane going away under calls:
test_dataplane_restart.py.)"""


import lab
from lab import DID_VM

LAB = None


def tearDownModule():
    LAB.stop_control()  # a clean exit, nothing reported by the sanitizers


def setUpModule():
    global LAB
    LAB = lab.Lab(control_args=["--capacity", "1", "--retry-after", "7", "--max-call", "6"],
                  dataplane_args=("--idle-timeout", "4"))
    lab.CallTest.lab = LAB


class Limits(lab.CallTest):
    def test_capacity_503_with_retry_after(self):
        vm = LAB.vm("uas_ring_no_answer")
        first = LAB.provider_call("uac_cancel", DID_VM, keys={"ring_ms": 1500})
        lab.wait_for(lambda: LAB.stats()["active_calls"] == 1, 10, interval=0.05, what="the first call")
        second = LAB.provider_call("uac_reject", DID_VM, keys={"expect_code": 503}, port=5066)
        self.check_sipp(second, first, vm)
        self.assertIn("Retry-After: 7", second.text("msg"))
        self.assertEqual(self.counted("refused_capacity"), 1)
        rows = sorted(self.new_cdrs(2), key=lambda r: r["sip_code"])
        self.assertEqual([(r["disposition"], r["sip_code"]) for r in rows], [("cancelled", "487"), ("rejected", "503")])
        self.assertEqual(rows[1]["hangup_reason"], "at capacity")

    def test_media_timeout_ends_the_call_on_both_sides(self):
        vm = LAB.vm("uas_answer")  # answers, sends no media, waits for a BYE
        caller = LAB.provider_call("uac_wait_bye", DID_VM, keys={"bye_timeout_ms": 20000, "rtcp_mux": 0, "media": 0, "delayed_offer": 0})
        self.check_sipp(caller, vm)
        self.assertEqual(self.counted("media_timeouts"), 1)
        [cdr] = self.new_cdrs(1)
        self.assertEqual((cdr["disposition"], cdr["hangup_side"], cdr["hangup_reason"]),
                         ("answered", "system", "media timeout"), cdr)

    def test_maximum_call_duration(self):
        vm = LAB.vm("uas_answer", extra=["-rtp_echo"])
        caller = LAB.provider_call("uac_wait_bye", DID_VM, keys={"bye_timeout_ms": 20000, "rtcp_mux": 0, "media": 1, "delayed_offer": 0})
        self.check_sipp(caller, vm)
        self.assertEqual(self.counted("max_duration"), 1)
        [cdr] = self.new_cdrs(1)
        self.assertEqual((cdr["hangup_side"], cdr["hangup_reason"]), ("system", "max call duration"), cdr)
        self.assertIn(int(cdr["billable_s"]), (6, 7), cdr)


if __name__ == "__main__":
    lab.main()
