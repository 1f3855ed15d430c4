"""The sipp scenarios of the call server's tests (sip/scenarios/) against each
other, without the product: sipp UAC against sipp UAS on the loopback of a
namespace of their own. A scenario that fails here fails for its own reasons,
and a red sip test would blame the product for them (issue 12, item 3):

- under load, with sipp's default behaviours (an unexpected message aborts the
  call), every call of uac_call and uac_wait_bye must succeed: a 100 Trying
  that came while sipp was held on a conditional send after the INVITE aborted
  them (19 of 20 calls at -r 4);
- uas_reinvite takes an offer's direction from its stream, else its session,
  else sendrecv (RFC 3264 5.1), never from an earlier offer, and a re-INVITE
  without SDP as no offer at all.

Needs root (sipp's play_pcap_audio sends through a raw socket) and sipp."""

import os
import re
import shutil
import subprocess
import sys
import unittest

import harness
from harness import CLEANUP, in_ns, run, spawn, temp_dir

SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sip", "scenarios")
NS = None
UAS_PORT, UAC_PORT = 5060, 5062


def sipp(scenario, workdir, name, port, calls, keys=(), rate=None, remote=None, media_port=20000):
    """A sipp command line on the loopback, logs in workdir/name.*."""
    cmd = ["sipp", "-sf", scenario, "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1",
           "-mp", str(media_port), "-m", str(calls), "-nostdin", "-timeout", "60s", "-timeout_error",
           "-trace_logs", "-log_file", os.path.join(workdir, name + ".log"),
           "-trace_err", "-error_file", os.path.join(workdir, name + ".err")]
    for k, v in keys:
        cmd += ["-key", k, str(v)]
    if rate:
        cmd += ["-r", str(rate)]
    if remote:
        cmd += ["-s", "1000", remote]
    else:
        cmd.append("-rtp_echo")
    return in_ns(NS, cmd)


def text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def log_values(workdir, name, tag):
    return [dict(re.findall(r"(\w+)=(\S+)", line)) for line in text(os.path.join(workdir, name + ".log")).splitlines()
            if line.startswith(tag + " ")]


class Scenarios(unittest.TestCase):
    def pair(self, uac, uas, calls, rate=None, uac_keys=(), uas_keys=(), uac_dir=SCENARIOS):
        """Runs the UAS, then the UAC against it; both must exit 0. Returns the logs' dir."""
        workdir = temp_dir("tandem-sipp-")
        uas_proc = spawn(sipp(os.path.join(SCENARIOS, uas + ".xml"), workdir, "uas", UAS_PORT, calls, uas_keys),
                         stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        harness.wait_for(lambda: UAS_PORT in harness.udp_ports_bound(NS), 10, what="the UAS bound")
        uac_proc = subprocess.run(sipp(os.path.join(uac_dir, uac + ".xml"), workdir, "uac", UAC_PORT, calls,
                                       uac_keys, rate, remote=f"127.0.0.1:{UAS_PORT}", media_port=22000),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  timeout=90)
        try:
            uas_rc = uas_proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            uas_proc.kill()
            uas_rc = uas_proc.wait()
        why = (f"{uac} against {uas}:\n--- UAC errors:\n{text(os.path.join(workdir, 'uac.err'))[-3000:]}"
               f"\n--- UAS errors:\n{text(os.path.join(workdir, 'uas.err'))[-3000:]}")
        self.assertEqual((uac_proc.returncode, uas_rc), (0, 0), why)
        self.assertNotIn("unexpected message", text(os.path.join(workdir, "uac.err")), why)
        return workdir

    def test_uac_call_under_load(self):
        for delayed in (0, 1):
            self.pair("uac_call", "uas_answer", calls=40, rate=10,
                      uac_keys=[("hold_ms", 200), ("rtcp_mux", 0), ("delayed_offer", delayed)])

    def test_uac_wait_bye_under_load(self):
        self.pair("uac_wait_bye", "uas_answer_then_bye", calls=40, rate=10,
                  uac_keys=[("bye_timeout_ms", 10000), ("rtcp_mux", 0), ("media", 1), ("delayed_offer", 0)],
                  uas_keys=[("hold_ms", 200)])

    def reinvite_variant(self, hold_at_session_level):
        """uac_reinvite with a resume that has no direction line (as a B2BUA may relay it),
        and its hold's a=sendonly at the session level if asked; in a dir of its own."""
        workdir = temp_dir("tandem-sipp-uac-")
        with open(os.path.join(SCENARIOS, "uac_reinvite.xml")) as f:
            scenario = f.read()
        resume = scenario.index("m=audio [media_port+2]")
        line = scenario.index("a=sendrecv\n", resume)
        scenario = scenario[:line] + scenario[line + len("a=sendrecv\n"):]
        if hold_at_session_level:
            hold = scenario.index("CSeq: 2 INVITE")
            line = scenario.index("a=sendonly\n", hold)
            scenario = scenario[:line] + scenario[line + len("a=sendonly\n"):]
            timing = scenario.index("t=0 0\n", hold) + len("t=0 0\n")
            scenario = scenario[:timing] + "a=sendonly\n" + scenario[timing:]
        with open(os.path.join(workdir, "uac_reinvite_variant.xml"), "w") as f:
            f.write(scenario)
        shutil.copy(os.path.join(SCENARIOS, "pcmu_1s.pcap"), workdir)
        return workdir

    def test_offer_without_a_direction_is_sendrecv(self):
        # After the hold (sendonly: the stream's, or the session's), the UAS answers the resume
        # without a direction line sendrecv again, not recvonly as to the hold.
        for session_level in (False, True):
            logs = self.pair("uac_reinvite_variant", "uas_reinvite", calls=1,
                             uac_keys=[("hold_ms", 300), ("check_hold", 1)],
                             uac_dir=self.reinvite_variant(session_level))
            offers = log_values(logs, "uas", "REINVITE_OFFER")
            self.assertEqual([o.get("dir") for o in offers], ["sendonly", "sendrecv"], offers)
            self.assertEqual(log_values(logs, "uac", "HOLD_ANSWER_DIR")[0].get("dir"), "recvonly")
            self.assertEqual(log_values(logs, "uac", "RESUME_ANSWER_DIR")[0].get("dir"), "sendrecv")

    def test_reinvite_without_sdp_is_no_offer(self):
        logs = self.pair("uac_refresh", "uas_reinvite", calls=1, uac_keys=[("hold_ms", 300)])
        [offer] = log_values(logs, "uas", "REINVITE_OFFER")
        self.assertNotIn("dir", offer)
        self.assertNotIn("ip", offer)  # not the INVITE's, kept by sipp
        self.assertEqual(log_values(logs, "uas", "REINVITE_ACK_SDP")[0]["ip"], "127.0.0.1")


def main():
    global NS
    if os.geteuid() != 0:
        harness.skip("needs root (sipp plays RTP through a raw socket; a network namespace)")
    if shutil.which("sipp") is None:
        harness.skip("needs sipp (apt-get install sip-tester)")
    CLEANUP.install()
    try:
        NS = harness.add_netns(f"tandem-sipp-{harness.unique_suffix()}")
        result = unittest.main(exit=False, verbosity=2).result
    finally:
        CLEANUP.run()
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
