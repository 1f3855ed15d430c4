#!/usr/bin/env python3
"""A delete waits for the workers' grace period: other clients must be
answered meanwhile, and the deleting client's later replies come after the
delete's, in request order. A worker reading a net_pcap FIFO blocks inside
its receive call until a whole burst is there, online and never quiescent:
as long as the test writes nothing, a grace period cannot end. (Before, the
control socket stopped answering everyone until it did.)"""

import time

import dpctl
import harness
import packets as pk
from harness import CALLEE_IP, CALLER_IP
from test_pcap import BURST, CALLEE_MAC, CALLER_MAC, FifoDataplaneTest

HOLD_S = 2.0  # how long the grace period is held open while others are served


class SlowDeleteTest(FifoDataplaneTest):

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
