"""A dataplane that dies does not take the node's calls with it. The
dataplane is SIGKILLed during calls with RTP both ways and started again
(as its supervisor would): within --media-restore-deadline tandem-control
creates every call's session again on the same relay ports with the same
remotes, media flows again, the callers hang up normally, and each CDR counts
the media of before and after the restart (less what the dataplane counted
after its last sample). Started after the deadline, the calls end: every
caller and callee gets its BYE once SIP can leave the node again (here SIP
rides the dataplane's exception taps, so that is when it is back)."""

import signal
import time

import lab
from lab import DID_VM

LAB = None
CALLS = 50
DEADLINE_S = 4
SAMPLE_S = 1


def setUpModule():
    global LAB
    LAB = lab.Lab(control_args=["--media-restore-deadline", str(DEADLINE_S),
                                "--media-sample-interval", str(SAMPLE_S)])
    lab.CallTest.lab = LAB


def tearDownModule():
    LAB.stop_control()


def kill_and_restart_dataplane(down_s):
    """SIGKILL, then the same command again after `down_s`: its taps are new
    interfaces, moved into the node's namespace and given its addresses."""
    LAB.dp.proc.send_signal(signal.SIGKILL)
    LAB.dp.proc.wait(timeout=10)
    LAB.dp.log_file.close()
    killed = time.monotonic()
    time.sleep(down_s)
    LAB.dp.start()
    LAB.topo.attach_taps()
    return time.monotonic() - killed


class DataplaneRestart(lab.CallTest):
    idle_timeout = 60   # 50 calls' CDRs and sessions
    cdr_timeout = 60

    def wait_calls(self, n):
        lab.wait_for(lambda: LAB.stats()["active_calls"] >= n and len(LAB.dp.sessions()) >= n, 30, interval=0.2,
                     what=f"{n} calls up with their sessions")

    def test_calls_survive_a_restart_within_the_deadline(self):
        hold_ms = 12000
        vm = LAB.vm("uas_answer", extra=["-rtp_echo"], calls=CALLS)
        caller = LAB.provider_call("uac_call", DID_VM, calls=CALLS, timeout=90,
                                   keys={"hold_ms": hold_ms, "rtcp_mux": 0, "delayed_offer": 0},
                                   extra=["-r", "25", "-l", str(CALLS)])
        self.wait_calls(CALLS)
        time.sleep(2 * SAMPLE_S)
        sessions = LAB.dp.sessions()
        ports_before = sorted(leg["local"] for s in sessions for leg in s["legs"])
        before_kill = sum(s["legs"][0]["packets"] for s in sessions)
        down = kill_and_restart_dataplane(0.5)
        lab.log(f"dataplane down for {down:.1f} s")
        lab.wait_for(lambda: len(LAB.dp.sessions()) == CALLS, 10, interval=0.1, what="every session restored")
        ports_after = sorted(leg["local"] for s in LAB.dp.sessions() for leg in s["legs"])
        self.assertEqual(ports_after, ports_before, "the sessions came back on other relay ports")
        # Media flows again through the new dataplane, both ways.
        lab.wait_for(lambda: all(leg["packets"] > 0 for s in LAB.dp.sessions() for leg in s["legs"]), 10,
                     interval=0.2, what="RTP through every restored session, both ways")
        # What the new dataplane counts, as late as it can be read before the calls end.
        after_restart = {}
        while caller.proc.poll() is None:
            for s in LAB.dp.sessions():
                after_restart[s["id"]] = s["legs"][0]["packets"]
            time.sleep(0.2)
        self.check_sipp(caller, timeout=120)
        vm.stop()
        cdrs = self.new_cdrs(CALLS)
        self.assertEqual(len(cdrs), CALLS)
        for cdr in cdrs:
            self.assertEqual((cdr["disposition"], cdr["hangup_side"]), ("answered", "caller"), cdr)
        # The records hold the counts of both dataplanes: at most one sample
        # interval of the first one's is lost (50 packets/s per leg).
        recorded = sum(int(c["a_packets"]) for c in cdrs)
        least = before_kill - 50 * SAMPLE_S * CALLS + sum(after_restart.values())
        lab.log(f"caller legs: {before_kill} packets before the kill, {sum(after_restart.values())} seen after "
                f"the restart, {recorded} in the CDRs")
        self.assertGreaterEqual(recorded, least)
        self.assertGreater(recorded, sum(after_restart.values()) + before_kill // 2)

    def test_calls_end_with_byes_after_the_deadline(self):
        calls = 10
        vm = LAB.vm("uas_answer", extra=["-rtp_echo"], calls=calls)
        caller = LAB.provider_call("uac_wait_bye", DID_VM, calls=calls, timeout=90,
                                   keys={"bye_timeout_ms": 60000, "rtcp_mux": 0, "media": 1,
                                         "delayed_offer": 0},
                                   extra=["-r", "20", "-l", str(calls)])
        self.wait_calls(calls)
        time.sleep(2 * SAMPLE_S)
        kill_and_restart_dataplane(DEADLINE_S + 2)
        # Each caller got its BYE (uac_wait_bye fails without it), and so did the VM.
        self.check_sipp(caller, vm, timeout=120)
        cdrs = self.new_cdrs(calls)
        for cdr in cdrs:
            self.assertEqual((cdr["hangup_side"], cdr["hangup_reason"]), ("system", "media relay lost"), cdr)
            self.assertGreater(int(cdr["a_packets"]), 0, "the counters sampled before the crash are in the CDR")


if __name__ == "__main__":
    lab.main()
