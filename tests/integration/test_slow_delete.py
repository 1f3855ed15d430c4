#!/usr/bin/env python3
"""A delete waits for the workers' grace period: other clients must be
answered meanwhile, and the deleting client's later replies come after the
delete's, in request order. A worker reading a net_pcap FIFO blocks inside
its receive call until a whole burst is there, online and never quiescent:
as long as the test writes nothing, a grace period cannot end. (Before, the
control socket stopped answering everyone until it did.)"""

import os
import time

import dpctl
import harness
import packets as pk
from harness import CALLEE_IP, CALLER_IP, RELAY_A_IP, RELAY_B_IP
from test_pcap import BURST, CALLEE_MAC, CALLER_MAC, FifoWriter

HOLD_S = 2.0  # how long the grace period is held open while others are served


class SlowDeleteTest(harness.DataplaneTest):

    @classmethod
    def setUpClass(cls):
        harness.CLEANUP.install()
        cls.dir = harness.temp_dir()
        cls.ns = harness.add_netns(f"tandem-{harness.unique_suffix()}-slowdel")
        suffix = harness.unique_suffix()
        cls.fifos = [os.path.join(cls.dir, f"in{i}.fifo") for i in (0, 1)]
        for f in cls.fifos:
            os.mkfifo(f)
        cls.dp = harness.Dataplane(
            cls.ns,
            vdevs=[f"net_pcap{i},rx_pcap={cls.fifos[i]},tx_pcap={cls.dir}/out{i}.pcap" for i in (0, 1)],
            ports=[f"0:{RELAY_A_IP}/24,role=public,tap=ts0{suffix}", f"1:{RELAY_B_IP}/24,role=private,tap=ts1{suffix}"],
            args=["--burst", str(BURST), "--idle-timeout", "0"], workdir=cls.dir)
        cls.writers = [FifoWriter(f) for f in cls.fifos]
        cls.dp.start(ready_timeout=30)
        cls.baseline_mbufs = cls.dp.health()["mbufs_in_use"]

    @classmethod
    def tearDownClass(cls):
        for w in getattr(cls, "writers", []):
            if w.thread.is_alive():
                w.queue.put(None)  # EOF: a blocked worker sees the stop flag
        super().tearDownClass()

    def tearDown(self):
        pass  # the one test checks the end state itself

    def unblock_worker(self):
        """A burst on each port: the worker reads it, finishes its round and
        reports a quiescent state (it then blocks again, on the next read)."""
        self.writers[0].write([pk.gratuitous_arp(CALLER_MAC, CALLER_IP)] * BURST)
        self.writers[1].write([pk.gratuitous_arp(CALLEE_MAC, CALLEE_IP)] * BURST)

    def test_other_clients_are_served_while_a_delete_waits(self):
        self.unblock_worker()
        harness.wait_for(lambda: self.dp.health()["neighbors"] == 2, 10, what="the worker's first round")
        with self.dp.client(timeout=10) as deleting, self.dp.client() as other:
            sid = deleting.create(dpctl.leg_spec(0, remote=(CALLER_IP, 20000)),
                                  dpctl.leg_spec(1, remote=(CALLEE_IP, 40000)))["id"]
            delete_seq = deleting.send(dpctl.DELETE_SESSION, dpctl.SESSION_REQUEST.pack(sid))
            health_seq = deleting.send(dpctl.HEALTH, dpctl.HEALTH_REQUEST.pack(0, 0))

            # The worker holds the grace period open: the other client is
            # answered, again and again, and the deleting one hears nothing.
            deadline = time.monotonic() + HOLD_S
            answered = 0
            while time.monotonic() < deadline:
                other.health()
                answered += 1
            self.assertGreater(answered, 10)
            with self.assertRaises(TimeoutError, msg="a reply came before the grace period ended"):
                deleting.recv(timeout=0.2)
            with self.assertRaises(dpctl.ProtocolError) as refused:
                other.query(sid)
            self.assertEqual(refused.exception.error["name"], "no_such_session", "the id is refused at once")

            self.unblock_worker()
            first = deleting.recv(timeout=10)
            second = deleting.recv(timeout=10)
        self.assertEqual((first.seq, first.type), (delete_seq, dpctl.DELETE_SESSION | dpctl.REPLY_BIT))
        self.assertEqual(dpctl.decode_session(first.body)["id"], sid)
        self.assertEqual((second.seq, second.type), (health_seq, dpctl.HEALTH | dpctl.REPLY_BIT))
        h = self.dp.health()
        self.assertEqual((h["sessions"], h["sessions_deleted"]), (0, 1))


if __name__ == "__main__":
    harness.main()
