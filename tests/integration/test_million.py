#!/usr/bin/env python3
"""A million sessions on one pair of wire ports (issue 16): each port has 40
relay addresses, which the dataplane spreads legs over, each address with the
whole relay port range. Created over the control socket (pipelined, by
tandem-bench-session-loader); media on a sample spread over the whole set is
relayed from the right relay address and port to the right remote; all of
them are deleted; then sessions, mbufs, the index and the relay ports are
back to where they were: the sample's exact addresses and ports can be had
again."""

import json
import os
import subprocess

import dpctl
import harness
from harness import CALLEE_IP, CALLER_IP

SESSIONS = 1_000_000
ADDRESSES = 40  # x 27,768 even ports of 10000-65535 = 1,110,720 legs per port
SAMPLES = 200
PACKETS = 3
SESSION_LOADER = harness.binary("TANDEM_SESSION_LOADER", "bench/tandem-bench-session-loader")
REMOTE_BASE = 20000


def more_addresses(subnet):
    return tuple(f"{subnet}.{10 + i}" for i in range(ADDRESSES - 1))


def address(subnet, k):
    """A port's k-th relay address: its own (.1), then more_addresses'."""
    return f"{subnet}.1" if k == 0 else f"{subnet}.{9 + k}"


class MillionSessionsTest(harness.DataplaneTest):
    dataplane_args = ("--max-sessions", str(SESSIONS), "--relay-ports", "10000-65535", "--idle-timeout", "0")

    @classmethod
    def setUpClass(cls):
        # As DataplaneTest's, with the addresses and the memory a million sessions need.
        harness.CLEANUP.install()
        cls.topo = harness.Topology().build()
        cls.dp = harness.relay_dataplane(cls.topo, args=cls.dataplane_args,
                                         more_ips=(more_addresses("198.18.1"), more_addresses("198.18.2")),
                                         memory_mb=1024)
        cls.baseline_mbufs = cls.dp.health()["mbufs_in_use"]

    def tearDown(self):
        # After a failure the sessions may still be there: a million are more
        # than DataplaneTest's Python clean-up deletes in time, and stopping
        # the dataplane frees them anyway.
        if self.dp.alive() and self.health()["sessions"] > 10_000:
            return
        super().tearDown()

    def loader(self, workdir):
        samples = os.path.join(workdir, "samples.jsonl")
        cmd = [SESSION_LOADER, "--socket", self.dp.socket, "--sessions", str(SESSIONS), "--any-local",
               "--remote-base", str(REMOTE_BASE), "--window", "1024", "--samples", str(SAMPLES),
               "--sample-out", samples, "--hold", "--delete"]
        harness.log("starting: " + " ".join(cmd))
        self.loader_log = os.path.join(workdir, "loader.log")
        with open(self.loader_log, "w") as log:
            proc = harness.spawn(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
        return proc, samples

    def test_a_million_sessions_relay_and_go(self):
        before = self.health()
        self.assertEqual(before["sessions"], 0)
        harness.log(f"memory per session: {before['session_memory_bytes']} bytes")
        workdir = harness.temp_dir()
        proc, samples_path = self.loader(workdir)
        try:
            created = json.loads(proc.stdout.readline() or "{}")
            harness.log(f"created: {created}")
            self.assertEqual(created.get("create", {}).get("errors"), 0, f"{created} {self.loader_stderr()}")
            self.assertEqual(self.health()["sessions"], SESSIONS)
            with open(samples_path) as f:
                samples = [json.loads(line) for line in f]
            self.assertEqual(len(samples), SAMPLES)
            # Legs go round each port's addresses, one per session on a fresh dataplane.
            misplaced = [s for s in samples
                         for leg, subnet in ((0, "198.18.1"), (1, "198.18.2"))
                         if s["local"][leg].rsplit(":", 1)[0] != address(subnet, s["index"] % ADDRESSES)]
            self.assertEqual(misplaced, [], "legs not spread round the port's addresses")
            addresses = {s["local"][leg].rsplit(":", 1)[0] for s in samples for leg in (0, 1)}
            harness.log(f"{len(addresses)} relay addresses among the samples; relaying on them")
            self.relay_sample(samples)
            harness.log("sample relayed; deleting")
            out, _ = proc.communicate(timeout=120)  # closes its stdin: it deletes them all
        finally:
            if proc.poll() is None:
                harness.stop_process(proc)
        result = json.loads(out.strip().splitlines()[-1])
        harness.log(f"deleted: {result.get('delete')}")
        self.assertEqual(proc.returncode, 0, self.loader_stderr())
        self.assertEqual(result["delete"]["errors"], 0, result)
        self.assertEqual(result["delete"]["done"], SESSIONS, result)

        after = self.health()
        self.assertEqual(after["sessions"], 0)
        self.assertEqual(after["sessions_deleted"] - before["sessions_deleted"], SESSIONS)
        last = self.dp.wait_mbufs(self.baseline_mbufs)
        self.assertLessEqual(last, self.baseline_mbufs, "mbufs did not come back")
        # Index entries and relay ports released: the sample's exact places are free again.
        with self.dp.client(timeout=30) as c:
            again = c.pipeline([(dpctl.CREATE_SESSION, dpctl.create_body(
                *(self.spec(leg, s["local"][leg]) for leg in (0, 1)))) for s in samples])
        refused = [r.error() for r in again if r.is_error]
        self.assertEqual(refused, [], "relay addresses and ports still taken after every delete")

    def loader_stderr(self):
        with open(self.loader_log) as f:
            return f.read()[-2000:]

    @staticmethod
    def spec(leg, local):
        ip, port = local.rsplit(":", 1)
        return dpctl.leg_spec(leg, local_ip=ip, local_port=int(port))

    def relay_sample(self, samples):
        """PACKETS from the caller to leg a of every sample session: they reach
        the callee from leg b's relay address and port, tagged by sample."""
        ports = sorted({s["remote_port"] for s in samples})
        self.assertEqual(len(ports), SAMPLES, "samples share remote ports: the test cannot tell them apart")
        callee = harness.UdpTool(self.topo.callee, {
            "sockets": [{"name": str(p), "bind": f"{CALLEE_IP}:{p}"} for p in ports],
            "expect": SAMPLES * PACKETS, "linger_ms": 300, "max_ms": 20000})
        harness.udp_run(self.topo.caller, {
            "sockets": [{"name": str(s["remote_port"]), "bind": f"{CALLER_IP}:{s['remote_port']}"} for s in samples],
            "sends": [{"socket": str(s["remote_port"]), "to": s["local"][0], "count": PACKETS, "tag": i,
                       "payload_len": 40} for i, s in enumerate(samples)],
            "burst": 50, "pause_ms": 5, "linger_ms": 0})
        got = callee.result(timeout=60)["sockets"]
        wrong = {}
        for i, s in enumerate(samples):
            want = {str(i): {s["local"][1]: PACKETS}}
            if got[str(s["remote_port"])]["by_tag_source"] != want:
                wrong[s["id"]] = (s, got[str(s["remote_port"])]["by_tag_source"])
        self.assertEqual(wrong, {}, f"{len(wrong)} of {SAMPLES} sampled sessions did not relay; first: "
                                    f"{json.dumps(list(wrong.values())[:3])}")


if __name__ == "__main__":
    harness.main()
