#!/usr/bin/env python3
"""tandem-bench-rtp-load against a real dataplane over net_memif: RTP for every
session, both legs, for a few seconds; everything it sent comes back relayed
to the right remote, nothing lost, out of order or changed, and the
dataplane's own per-leg counters agree. It refuses to run without sessions.
Served (--serve), as bench/sip runs it: the generator is the memif server,
started first, and measures on demand; the dataplane, started after it, is the
zero-copy client.

Topology: one namespace holds the dataplane (memif port role=server, its
exception tap, adaptive polling) and the generator (role=client), or the other
way round; the memif socket is a file in the test's directory. Both EALs run
with --no-huge, so the test needs no hugepages."""

import json
import os
import subprocess
import time
import unittest

import dpctl
import harness

DP_IP = "198.18.70.1"
REMOTE_A = "198.18.70.2"
REMOTE_B = "198.18.70.3"
REMOTE_A_UNKNOWN = "198.18.70.4"
REMOTE_B_UNKNOWN = "198.18.70.5"
DP_MAC = "02:00:00:00:d0:01"
LOAD_MAC = "02:00:00:00:1a:01"
SESSIONS = 24
SECONDS = 3
RTP_LOAD = harness.binary("TANDEM_RTP_LOAD", "bench/tandem-bench-rtp-load")


def make_place(tag):
    """A namespace and a directory for a dataplane and the generator; (suffix, namespace,
    directory, the memif's socket, the memif's vdev arguments for it)."""
    harness.CLEANUP.install()
    if not os.access(RTP_LOAD, os.X_OK):
        raise AssertionError(f"{RTP_LOAD} is not built")
    sfx = harness.unique_suffix()
    ns = harness.add_netns(f"tandem-{sfx}-{tag}")
    work = harness.temp_dir()
    memif_sock = os.path.join(work, "memif.sock")
    return sfx, ns, work, memif_sock, f"socket={memif_sock},socket-abstract=no,rsize=11"


def create_sessions(test, dp, remote_a=REMOTE_A, remote_b=REMOTE_B):
    requests = [(dpctl.CREATE_SESSION,
                 dpctl.create_body(dpctl.leg_spec(0, remote=(remote_a, 4000 + 2 * i)),
                                   dpctl.leg_spec(0, remote=(remote_b, 6000 + 2 * i))))
                for i in range(SESSIONS)]
    # One more whose callee has not answered yet: no remote on leg b, nothing to send for it.
    requests.append((dpctl.CREATE_SESSION, dpctl.create_body(dpctl.leg_spec(0, remote=(REMOTE_A, 5000)),
                                                             dpctl.leg_spec(0))))
    with dp.client() as c:
        errors = [r.error() for r in c.pipeline(requests) if r.is_error]
    test.assertEqual(errors, [])


def check_lossless(test, dp, s, seconds, err, packets_before=0):
    """A summary of `seconds` of RTP on create_sessions()'s sessions: all of it relayed, unchanged,
    and the dataplane's per-leg counters (packets_before each before it) agree."""
    harness.log("summary: " + json.dumps(s))
    per_leg = seconds * 50
    test.assertEqual((s["sessions"], s["legs"], s["remote_ips"]), (SESSIONS, 2 * SESSIONS, 2))
    test.assertEqual(s["sessions_skipped"]["legs_without_remote"], 1)
    test.assertEqual(s["sent"], 2 * SESSIONS * per_leg)
    test.assertEqual(s["tx_failed"], 0)
    test.assertEqual(s["expected"], s["sent"])
    test.assertEqual(s["received"], s["expected"], err)
    for key in ("lost", "lost_by_seq", "out_of_order", "duplicates", "bad_payload_or_ssrc",
                "legs_without_packets", "misdirected"):
        test.assertEqual(s[key], 0, key)
    test.assertFalse(s["interrupted"])
    # Paced, not blasted: about 50 packets/s per leg over the run.
    test.assertAlmostEqual(s["pps_sent"], 2 * SESSIONS * 50, delta=2 * SESSIONS * 50 * 0.1)
    # The dataplane counted the same on every leg: what the generator sent as its remote.
    answered = [x for x in dp.sessions() if all(leg["remote"] != "-" for leg in x["legs"])]
    test.assertEqual(len(answered), SESSIONS)
    test.assertEqual(sorted({leg["packets"] for x in answered for leg in x["legs"]}), [packets_before + per_leg])


class RtpLoadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        sfx, cls.ns, cls.work, cls.memif, memif = make_place("rtpload")
        cls.dp = harness.Dataplane(cls.ns, vdevs=[f"net_memif0,role=server,{memif},mac={DP_MAC}"],
                                   ports=[f"0:{DP_IP}/24,role=public,tap=tl{sfx}"], workdir=cls.work)
        cls.dp.start()
        cls.load_argv = ["--no-huge", "-m", "128", "-l", "1", "--no-pci",
                         "--vdev", f"net_memif0,role=client,{memif},mac={LOAD_MAC}", "--",
                         "--socket", cls.dp.socket, "--dataplane-mac", DP_MAC]

    @classmethod
    def tearDownClass(cls):
        code = cls.dp.stop() if cls.dp.alive() else None
        harness.CLEANUP.run()
        if code not in (None, 0):
            raise AssertionError(f"dataplane exited {code} on SIGTERM")

    def tearDown(self):
        if not self.dp.alive():
            self.fail(f"dataplane died:\n{self.dp.log_text()[-4000:]}")
        self.dp.delete_all()

    def rtp_load(self, *args, timeout=60):
        """Runs the generator in the dataplane's namespace; (exit code, summary or None, stderr)."""
        prefix = f"tandem-it-load-{harness.unique_suffix()}"
        harness.CLEANUP.add(f"remove EAL files of {prefix}", lambda: harness.remove_dpdk_runtime(prefix))
        out = os.path.join(self.work, f"{prefix}.json")
        argv = [RTP_LOAD, "--file-prefix", prefix] + self.load_argv + ["--json", out] + [str(a) for a in args]
        harness.log("running: " + " ".join(argv))
        proc = harness.spawn(harness.in_ns(self.ns, argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, stdin=subprocess.DEVNULL)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            harness.stop_process(proc)
            self.fail(f"tandem-bench-rtp-load did not finish in {timeout} s")
        summary = None
        if os.path.exists(out):
            with open(out) as f:
                summary = json.load(f)
        return proc.returncode, summary, err

    def create_sessions(self, remote_a=REMOTE_A, remote_b=REMOTE_B):
        create_sessions(self, self.dp, remote_a, remote_b)

    def test_no_sessions_is_an_error(self):
        code, summary, err = self.rtp_load("--seconds", 1)
        self.assertEqual(code, 1, err)
        self.assertIsNone(summary)
        self.assertIn("no session", err)

    def test_every_leg_relayed_without_loss(self):
        self.create_sessions()
        code, s, err = self.rtp_load("--seconds", SECONDS)
        self.assertEqual(code, 0, err)
        check_lossless(self, self.dp, s, SECONDS, err)

    def test_answers_the_dataplanes_arp_for_the_remotes(self):
        # Remotes the dataplane has not learnt yet, and no announcement: it asks by ARP when
        # the first packet toward one finds no neighbour (once a second per address at most:
        # the request it made at create time went nowhere, the memif was down).
        self.create_sessions(REMOTE_A_UNKNOWN, REMOTE_B_UNKNOWN)
        time.sleep(1.1)
        code, s, err = self.rtp_load("--seconds", 1, "--no-announce")
        self.assertEqual(code, 0, err)
        harness.log("summary: " + json.dumps(s))
        self.assertGreaterEqual(s["arp_answered"], 1)
        # At most the first packet of each session waits for the answer and is dropped.
        self.assertLessEqual(s["lost"], SESSIONS)
        for key in ("lost_by_seq", "bad_payload_or_ssrc", "legs_without_packets", "misdirected"):
            self.assertEqual(s[key], 0, key)


class ServedZeroCopyTest(unittest.TestCase):
    """The rig of bench/sip's concurrent calls: the generator (--serve) is the memif server and
    up first; the dataplane connects to it as the zero-copy client (EAL --single-file-segments),
    so that it copies no packet. Two measurements on the one attachment, both lossless; a line
    that is not a measurement is refused and the generator goes on, then ends with its input."""

    @classmethod
    def setUpClass(cls):
        sfx, cls.ns, cls.work, memif_sock, memif = make_place("rtpserve")
        # Made first for its socket's path, started after the generator.
        cls.dp = harness.Dataplane(cls.ns, eal=["--single-file-segments"],
                                   vdevs=[f"net_memif0,role=client,{memif},mac={DP_MAC},zero-copy=yes"],
                                   ports=[f"0:{DP_IP}/24,role=public,tap=ts{sfx}"], args=["--mbufs", "16384"],
                                   workdir=cls.work)
        prefix = f"tandem-it-serve-{sfx}"
        harness.CLEANUP.add(f"remove EAL files of {prefix}", lambda: harness.remove_dpdk_runtime(prefix))
        cls.load_err_path = os.path.join(cls.work, "rtp_load.log")
        cls.load_err = open(cls.load_err_path, "w")
        argv = [RTP_LOAD, "--file-prefix", prefix, "--no-huge", "-m", "128", "-l", "1", "--no-pci",
                "--vdev", f"net_memif0,role=server,{memif},mac={LOAD_MAC}", "--",
                "--socket", cls.dp.socket, "--dataplane-mac", DP_MAC, "--attach-timeout", "60", "--serve"]
        harness.log("starting: " + " ".join(argv))
        cls.load = harness.spawn(harness.in_ns(cls.ns, argv), stdin=subprocess.PIPE, stdout=cls.load_err,
                                 stderr=subprocess.STDOUT, text=True)
        harness.wait_for(lambda: os.path.exists(memif_sock), 30, what="the generator's memif socket")
        cls.dp.start()

    @classmethod
    def tearDownClass(cls):
        code = cls.dp.stop() if cls.dp.alive() else None
        if cls.load.poll() is None:
            harness.stop_process(cls.load)
        cls.load_err.close()
        harness.CLEANUP.run()
        if code not in (None, 0):
            raise AssertionError(f"dataplane exited {code} on SIGTERM")

    def generator_log(self):
        with open(self.load_err_path, errors="replace") as f:
            return f.read()[-4000:]

    def measure(self, seconds, name):
        out = os.path.join(self.work, name)
        self.load.stdin.write(f"{seconds} {out}\n")
        self.load.stdin.flush()
        harness.wait_for(lambda: os.path.exists(out) or self.load.poll() is not None, seconds + 30,
                         what=f"the generator's summary {name}")
        self.assertTrue(os.path.exists(out), self.generator_log())
        with open(out) as f:
            return json.load(f)

    def test_measurements_on_demand_zero_copy(self):
        self.assertIn("zero-copy", " ".join(self.dp.cmd))
        create_sessions(self, self.dp)
        first = self.measure(2, "first.json")
        check_lossless(self, self.dp, first, 2, self.generator_log())
        self.load.stdin.write("two seconds please\n")
        self.load.stdin.flush()
        second = self.measure(1, "second.json")
        check_lossless(self, self.dp, second, 1, self.generator_log(), packets_before=2 * 50)
        self.load.stdin.close()
        self.assertEqual(self.load.wait(timeout=30), 1, "a refused line makes the exit status 1")
        self.assertIn('ignored "two seconds please"', self.generator_log())


if __name__ == "__main__":
    harness.require_environment()
    harness.CLEANUP.install()
    try:
        result = unittest.main(exit=False, verbosity=2).result
    finally:
        harness.CLEANUP.run()
    raise SystemExit(0 if result.wasSuccessful() else 1)
