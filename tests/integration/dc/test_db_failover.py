"""A data center's MariaDB pair (db_pair.py) failing over under a writer: the
active killed or hung, the VIP moving to the passive, no acknowledged insert
lost, the old active rejoining as a passive that catches up first, and a
transaction the passive never acknowledged never coming back.

The cases share one pair and run in order (test_a_... to test_e_...); each
starts from a healthy pair, restoring what the previous one left killed.
"""

import collections
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import db_pair  # noqa: E402
import harness  # noqa: E402
from harness import CLEANUP, in_ns, log, spawn, stop_process, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PAIR = None
MAX_MOVE_S = 5.0       # advert_int 1 s: the seed's "2 missed heartbeats" is 3-4 s in VRRP
WRITE_PERIOD_S = 0.02


def setUpModule():
    global PAIR
    PAIR = db_pair.DbPair(dc=1).start()
    PAIR.sql(PAIR.active(), "CREATE DATABASE dcw; CREATE TABLE dcw.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
                            "run INT NOT NULL, seq INT NOT NULL, server_id INT NOT NULL)")


class Writer:
    """db_writer.py in the client namespace, inserting rows of one run."""
    runs = 0

    def __init__(self):
        Writer.runs += 1
        self.run = Writer.runs
        self.proc = spawn(in_ns(PAIR.dc_ns, [sys.executable, os.path.join(HERE, "db_writer.py"),
                                              json.dumps(PAIR.client_args()),
                                              str(WRITE_PERIOD_S), str(self.run)]),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=15)
        if self.proc.returncode != 0:
            raise AssertionError(f"writer exited {self.proc.returncode}: {err}")
        self.result = json.loads(out.strip().splitlines()[-1])
        return self.result

    def acked_on(self, node):
        return len(node.sql(f"SELECT 1 FROM dcw.t WHERE run={self.run} AND server_id={node.server_id}", check=False)
                   or [])


def wait_vip_on(node, since, timeout=15):
    """Waits until node holds the VIP; returns the seconds since `since`."""
    wait_for(lambda: PAIR.active() is node, timeout, interval=0.05, what=f"the VIP on {node.name}")
    return time.time() - since


def healthy_pair():
    """Restores any node a previous case left down; returns (active, passive) once
    the passive replicates, has caught up and may take over."""
    for n in PAIR.nodes:
        if n.mariadbd.poll() is not None or n.mariadbd.pid in PAIR.frozen or n.keepalived.poll() is not None:
            PAIR.restore(n)
    active = wait_for(PAIR.active, 30, interval=0.1, what="an active node")
    passive = active.peer
    PAIR.wait_caught_up(passive, timeout=60)
    wait_for(lambda: passive.vrrp_state() == "BACKUP", 30, interval=0.1, what=f"{passive.name} an eligible passive")
    return active, passive


class DbFailoverTest(unittest.TestCase):
    def check_writes(self, writer, result, node):
        """Every acknowledged insert is on node, none twice, none that was refused."""
        rows = [int(r[0]) for r in node.sql(f"SELECT seq FROM dcw.t WHERE run={writer.run}")]
        acked, failed, unknown = set(result["acked"]), set(result["failed"]), set(result["unknown"])
        lost = sorted(acked - set(rows))
        self.assertEqual(lost, [], f"acknowledged inserts missing on {node.name}")
        self.assertEqual(len(rows), len(set(rows)), "an insert is there twice")
        self.assertEqual(sorted(set(rows) & failed), [], "an insert refused to the client is there")
        log(f"writes: {len(acked)} acknowledged, all on {node.name}; {len(failed)} refused; {len(unknown)} "
            f"unknown, of which {len(set(rows) & unknown)} committed; lost 0")

    def failover_under_writes(self, how):
        active, passive = healthy_pair()
        writer = Writer()
        wait_for(lambda: writer.acked_on(active) >= 50, 20, interval=0.1, what="the writer under way")
        killed, t_kill = PAIR.kill_active(how)
        moved_s = wait_vip_on(passive, t_kill)
        wait_for(lambda: writer.acked_on(passive) >= 20, 20, interval=0.1, what="writes on the new active")
        result = writer.stop()
        log(f"errors seen by the writer: {dict(collections.Counter(m[:60] for _, _, o, m in result['events'] if m))}")
        ok_times = [t for t, _, outcome, _ in result["events"] if outcome == "ok"]
        before = max(t for t in ok_times if t < t_kill)
        after = min(t for t in ok_times if t > t_kill)
        log(f"{how}: VIP on {passive.name} {moved_s:.2f} s after the kill; writes stopped {after - before:.2f} s "
            f"(last acknowledged {t_kill - before:.2f} s before the kill)")
        self.assertLess(moved_s, MAX_MOVE_S, "the VIP took too long to move")
        self.assertEqual(passive.sql("SELECT @@read_only"), [["0"]])
        self.check_writes(writer, result, passive)
        return killed, passive

    def test_a_process_killed(self):
        self.failover_under_writes("process")

    def test_b_frozen(self):
        self.failover_under_writes("freeze")

    def assert_no_vip_for(self, seconds, why):
        """Nobody takes the address for `seconds` (longer than VRRP's master-down interval)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            holder = PAIR.active()
            self.assertIsNone(holder, f"{holder and holder.name} took the VIP although {why}")
            time.sleep(0.1)

    def test_c1_old_active_rejoins_as_passive(self):
        active, passive = healthy_pair()
        old, _ = PAIR.kill_active("process")
        wait_vip_on(passive, time.time())
        wait_for(lambda: passive.sql("SELECT @@read_only") == [["0"]], 30, interval=0.1, what="the new writer")
        # A backlog the returning node must replicate before it may be eligible.
        PAIR.sql("vip", "INSERT INTO dcw.t (run, seq, server_id) SELECT 0, seq, @@server_id FROM dcw.seq_1_to_500")
        for _ in range(20):
            PAIR.sql("vip", "INSERT INTO dcw.t (run, seq, server_id) VALUES (0, 0, @@server_id)")
        target = PAIR.gtid(passive)
        t0 = time.time()
        PAIR.restore(old)
        samples, behind_seen = 0, False
        while not (old.vrrp_state() == "BACKUP" and PAIR.gtid(old) == target):
            holder = PAIR.active()
            self.assertIs(holder, passive, "the VIP left the new active (nopreempt)")
            state, gtid = old.vrrp_state(), old.sql("SELECT @@gtid_current_pos", check=False)
            if gtid != [[target]]:
                behind_seen = True
                self.assertNotIn(state, ("BACKUP", "MASTER"), f"{old.name} eligible while behind ({gtid} < {target})")
            samples += 1
            self.assertLess(time.time() - t0, 60, "the old active did not catch up")
            time.sleep(0.05)
        log(f"{old.name} back: eligible passive {time.time() - t0:.2f} s after its restart ({samples} samples, "
            f"behind seen: {behind_seen})")
        self.assertIs(PAIR.active(), passive, "the VIP stays where it is (nopreempt)")
        self.assertEqual(old.sql("SELECT @@read_only"), [["1"]])
        status = old.sql("SHOW SLAVE STATUS")[0]
        self.assertIn(passive.ip, status, "replicates from the new active")
        count = "SELECT COUNT(*), SUM(seq) FROM dcw.t"
        self.assertEqual(old.sql(count), passive.sql(count))
        self.assertEqual(PAIR.gtid(old), PAIR.gtid(passive))

    def test_c2_a_passive_behind_never_takes_over(self):
        """Both down, the one that is behind comes back first: it waits (no VIP) for the
        other; when that one is back, it catches up and the pair elects a writer."""
        active, passive = healthy_pair()
        PAIR.kill(passive, "process")
        for i in range(20):  # the first waits SEMISYNC_TIMEOUT_MS for the passive, then asynchronous
            PAIR.sql("vip", f"INSERT INTO dcw.t (run, seq, server_id) VALUES (0, {i}, @@server_id)")
        ahead = PAIR.gtid(active)
        time.sleep(2)  # committed in InnoDB's log too, not only in the binlog: not in doubt at restart
        PAIR.kill(active, "process")
        PAIR.restore(passive)
        self.assert_no_vip_for(6, f"{passive.name} is behind a dead peer")
        self.assertEqual(passive.sql("SELECT @@read_only"), [["1"]])
        PAIR.restore(active)
        new = wait_for(PAIR.active, 30, interval=0.1, what="a writer once both are back")
        log(f"both back: {new.name} elected")
        PAIR.wait_caught_up(new.peer)
        self.assertEqual(PAIR.gtid(new), ahead, "the writer has every transaction")

    def cut_off(self, active, passive):
        """The passive stops receiving: the active refuses its replication account
        (the role script would restart a merely stopped replication)."""
        active.sql(f"SET sql_log_bin=0; REVOKE REPLICATION SLAVE ON *.* FROM '{db_pair.REPL_USER}'@'%'")
        passive.sql("STOP SLAVE IO_THREAD")
        wait_for(lambda: passive.vrrp_state() == "FAULT", 10, interval=0.1,
                 what=f"{passive.name} not eligible once it stops receiving")

    def test_d_unacknowledged_transaction_is_cut(self):
        """A commit the passive never acknowledged: the passive knew it was not receiving,
        so nobody takes over; the old active's restart cuts it from its binlog (semi-sync
        crash recovery) and the pair goes on without it."""
        active, passive = healthy_pair()
        self.cut_off(active, passive)
        # Holds the commit in doubt long enough to kill the server at that point (1 s in production).
        active.sql("SET GLOBAL rpl_semi_sync_master_timeout=60000")
        insert = subprocess.Popen(in_ns(PAIR.dc_ns, PAIR.client_args() + [
            "-e", "INSERT INTO dcw.t (run, seq, server_id) VALUES (-1, 1, @@server_id)"]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: active.sql("SHOW STATUS LIKE 'Rpl_semi_sync_master_wait_sessions'")[0][1] == "1", 10,
                 interval=0.05, what="the insert waiting for the passive's acknowledgement")
        in_doubt = active.sql("SELECT @@gtid_binlog_pos")[0][0]
        PAIR.kill(active, "process")
        try:  # its server is gone without a word: the client would wait for ever
            insert.communicate(timeout=2)
        except subprocess.TimeoutExpired:
            insert.kill()
            insert.communicate()
        self.assertNotEqual(insert.returncode, 0, "the insert was never acknowledged")
        self.assert_no_vip_for(6, f"{passive.name} stopped receiving before the kill")
        PAIR.restore(active)
        self.assertIn(f"to remove transactions starting from GTID {in_doubt}", active.error_log())
        # The old active, back with what its peer has, is the writer again; the peer is let back in.
        wait_vip_on(active, time.time(), timeout=30)
        active.sql(f"SET sql_log_bin=0; GRANT REPLICATION SLAVE ON *.* TO '{db_pair.REPL_USER}'@'%'")
        PAIR.wait_caught_up(passive)
        log(f"in-doubt {in_doubt} cut at restart; {active.name} writer again at {PAIR.gtid(active)}")
        for n in PAIR.nodes:
            self.assertEqual(n.sql("SELECT COUNT(*) FROM dcw.t WHERE run=-1"), [["0"]], f"on {n.name}")

    def test_e_diverged_node_refuses_to_rejoin(self):
        """An operator forced the passive to take over although the dead active had a
        commit it lacks (acknowledged after the semi-sync timeout): the old active,
        back, is refused by MariaDB's GTID check, says so, and stays a read-only outcast."""
        active, passive = healthy_pair()
        self.cut_off(active, passive)
        PAIR.sql("vip", "INSERT INTO dcw.t (run, seq, server_id) VALUES (-2, 1, @@server_id)")  # async after 1 s
        time.sleep(2)  # durable, not in doubt: the restart keeps it
        PAIR.kill(active, "process")
        subprocess.run([sys.executable, db_pair.ROLE_SCRIPT, "promote", passive.role_conf], check=True)
        wait_vip_on(passive, time.time())
        wait_for(lambda: passive.sql("SELECT @@read_only") == [["0"]], 30, interval=0.1, what="the forced writer")
        PAIR.sql("vip", "INSERT INTO dcw.t (run, seq, server_id) VALUES (-2, 2, @@server_id)")
        seen = active.role_log_text().count("DIVERGED")
        PAIR.restore(active)
        wait_for(lambda: active.role_log_text().count("DIVERGED") > seen, 30, interval=0.2, what="the refusal")
        for _ in range(30):
            self.assertIs(PAIR.active(), passive)
            self.assertEqual(active.sql("SELECT @@read_only"), [["1"]])
            self.assertNotIn(active.vrrp_state(), ("BACKUP", "MASTER"))
            time.sleep(0.2)
        log("refused: " + [line for line in active.role_log_text().splitlines() if "DIVERGED" in line][-1])

if __name__ == "__main__":
    db_pair.require_environment()
    harness.run_tests()
