"""Two data centers, each a MariaDB pair (db_pair.py), replicating both ways
between their writers over one link (docs/DB_FAILOVER.md, "Between the DCs"):
rows written in both at once end up identical in all four servers with disjoint
ids, a rules edit in one DC raises the other's config_version, the link cut
under load and restored (fault 5) loses and doubles nothing, and a failover in
one DC carries the replication over to its new writer.

The cases share both pairs and run in order. TANDEM_DC_CUT_S shortens the cut
(60 s) for development.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import db_pair  # noqa: E402
import harness  # noqa: E402
from harness import TANDEMCTL, in_ns, log, spawn, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CUT_S = float(os.environ.get("TANDEM_DC_CUT_S", "60"))
RULES_POLL_S = 1.0       # the reloader's default --rules-poll: an edit must be there by the next poll
WRITE_PERIOD_S = 0.02    # 50 inserts/s in each DC
MAX_CATCH_UP_S = 30.0    # a 60 s backlog of 50 inserts/s, applied after the link is back
DC1 = DC2 = LINK = None
TABLES = ("dcw.t", "tandem_rules.customers", "tandem_rules.config_version", "tandem_cdr.cdr")


def setUpModule():
    global DC1, DC2, LINK
    DC1 = db_pair.DbPair(dc=1, net="198.18.10", remote_vip="198.18.20.10").start()
    DC2 = db_pair.DbPair(dc=2, net="198.18.20", remote_vip="198.18.10.10").start()
    LINK = db_pair.DcLink(DC1, DC2)
    # The real schemas, created once, in DC1: DC2 gets them by replication.
    vip = f"{DC1.vip}:3306"
    env = dict(os.environ, TANDEM_RULES_DB_PASSWORD=db_pair.APP_PASSWORD, TANDEM_CDR_DB_PASSWORD=db_pair.APP_PASSWORD)
    r = subprocess.run(in_ns(DC1.dc_ns, [TANDEMCTL, "db", "--rules-db", vip, "--rules-db-user", db_pair.APP_USER,
                                         "--cdr-db", vip, "--cdr-db-user", db_pair.APP_USER, "init"]),
                       capture_output=True, text=True, timeout=60, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"tandemctl db init: {r.stdout}{r.stderr}")
    DC1.sql("vip", "CREATE DATABASE dcw; CREATE TABLE dcw.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
                   "run INT NOT NULL, seq INT NOT NULL, server_id INT NOT NULL, UNIQUE KEY (run, seq))")
    log(f"both DCs converged {converge(60):.2f} s after the schemas were created")


def nodes():
    return DC1.nodes + DC2.nodes


def live_nodes():
    return [n for n in nodes() if n.mariadbd.poll() is None]


def binlog_pos(node):
    return node.sql("SELECT @@gtid_binlog_pos", check=False)


def converge(timeout):
    """Waits until every live server has every transaction of both DCs (the same
    binlog position: each logs what it applies); returns the seconds it took."""
    t0 = time.monotonic()
    try:
        wait_for(lambda: len({str(binlog_pos(n)) for n in live_nodes()}) == 1, timeout, interval=0.1,
                 what="all servers at the same GTID position")
    except AssertionError as e:
        raise AssertionError(f"{e}: " + "; ".join(f"DC{n.pair.dc} {n.name} {binlog_pos(n)}" for n in live_nodes()))
    return time.monotonic() - t0


def remote_status(pair):
    """The writer of a DC, and the status of its connection to the other DC."""
    writer = pair.active()
    return writer, writer.replication("remote") if writer else {}


def seq(node, domain):
    """The last sequence number of a GTID domain in a server's binlog."""
    pos = binlog_pos(node)[0][0]
    return next(int(g.split("-")[2]) for g in pos.split(",") if g.split("-")[0] == str(domain))


def dump(node, table):
    return node.sql(f"SELECT * FROM {table} ORDER BY 1")


class Writer:
    """db_writer.py in a DC's client namespace, inserting rows of one run through its VIP."""
    runs = 0

    def __init__(self, pair):
        Writer.runs += 1
        self.run, self.pair = Writer.runs, pair
        self.proc = spawn(in_ns(pair.dc_ns, [sys.executable, os.path.join(HERE, "db_writer.py"),
                                             json.dumps(pair.client_args()), str(WRITE_PERIOD_S), str(self.run)]),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def acked(self):
        return len(self.pair.sql("vip", f"SELECT 1 FROM dcw.t WHERE run={self.run}", check=False) or [])

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=15)
        if self.proc.returncode != 0:
            raise AssertionError(f"writer exited {self.proc.returncode}: {err}")
        return json.loads(out.strip().splitlines()[-1])


class DcReplicationTest(unittest.TestCase):
    def assert_identical(self):
        """Every live server holds the same rows, no replication connection has an error."""
        for table in TABLES:
            ref = dump(live_nodes()[0], table)
            for n in live_nodes()[1:]:
                self.assertEqual(dump(n, table), ref, f"{table} differs on {n.pair.dc}/{n.name}")
        for pair in (DC1, DC2):
            writer, rs = remote_status(pair)
            self.assertEqual((rs.get("Slave_IO_Running"), rs.get("Slave_SQL_Running"), rs.get("Last_SQL_Errno"),
                              rs.get("Seconds_Behind_Master")), ("Yes", "Yes", "0", "0"),
                             f"DC{pair.dc}'s writer {writer.name} replicating the other DC: {rs}")

    def assert_writes(self, writer, result):
        """Every acknowledged insert of a writer is on every live server, once, with its DC's ids."""
        for n in live_nodes():
            rows = n.sql(f"SELECT id, seq FROM dcw.t WHERE run={writer.run}")
            seqs = [int(s) for _, s in rows]
            self.assertEqual(sorted(set(result["acked"]) - set(seqs)), [], f"acknowledged inserts lost on {n.name}")
            self.assertEqual(len(seqs), len(set(seqs)), f"an insert twice on {n.name}")
            self.assertEqual({int(i) % 2 for i, _ in rows}, {writer.pair.offset % 2}, "ids of the other DC's series")
        log(f"DC{writer.pair.dc} writer: {len(result['acked'])} acknowledged, all in both DCs; "
            f"{len(result['failed'])} refused, {len(result['unknown'])} unknown")

    def lag_under_load(self, samples=20):
        """The largest Seconds_Behind_Master and backlog (transactions of the other DC
        not yet in a writer's binlog) seen in samples 0.1 s apart."""
        behind, backlog = 0, 0
        for _ in range(samples):
            for pair, other in ((DC1, DC2), (DC2, DC1)):
                backlog = max(backlog, seq(other.active(), other.dc) - seq(pair.active(), other.dc))
                behind = max(behind, int(remote_status(pair)[1].get("Seconds_Behind_Master") or 0))
            time.sleep(0.1)
        return f"Seconds_Behind_Master at most {behind} s, backlog at most {backlog} transactions"

    def test_a_both_dcs_write_at_once(self):
        def insert(pair, i):
            for k in range(20):
                pair.sql("vip", f"INSERT INTO tandem_rules.customers (name, time_zone, vm_sip) "
                                f"VALUES ('dc{pair.dc}-{i}-{k}', 'UTC', 'sip:vm@dc{pair.dc}')")
                pair.sql("vip", "INSERT INTO dcw.t (run, seq, server_id) VALUES (0, "
                                f"{pair.dc * 1000 + i * 100 + k}, @@server_id)")
        threads = [threading.Thread(target=insert, args=(p, i)) for p in (DC1, DC2) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        log(f"60 customers and 60 rows inserted in each DC at once; converged in {converge(30):.2f} s")
        self.assert_identical()
        customers = DC1.nodes[0].sql("SELECT id, name FROM tandem_rules.customers")
        self.assertEqual(len(customers), 120)
        for i, name in customers:
            self.assertEqual(int(i) % 2, 1 if name.startswith("dc1-") else 0, f"customer {name} has id {i}")
        # A rules edit in DC1 raises the sum the reloaders of DC2 poll (rules/store.h).
        version = "SELECT SUM(version) FROM tandem_rules.config_version"
        before = DC2.sql("vip", version)
        t0 = time.monotonic()
        DC1.sql("vip", "UPDATE tandem_rules.customers SET vm_sip='sip:vm2@dc1' WHERE name='dc1-0-0'")
        wait_for(lambda: DC2.sql("vip", version) != before, 10, interval=0.01, what="DC2's config_version to move")
        seen_s = time.monotonic() - t0
        log(f"a rules edit in DC1 seen in DC2's config_version {seen_s * 1000:.0f} ms later")
        self.assertLess(seen_s, RULES_POLL_S)
        converge(10)
        self.assertEqual(DC1.sql("vip", version), DC2.sql("vip", version))

    def test_b_link_down_under_load(self):
        """Fault 5: the link between the DCs down for CUT_S under load, then back."""
        writers = [Writer(DC1), Writer(DC2)]
        wait_for(lambda: all(w.acked() >= 100 for w in writers), 30, interval=0.2, what="both writers under way")
        log(f"under load, before the cut: {self.lag_under_load()}")
        LINK.set_up(False)
        t_cut = time.monotonic()
        try:
            time.sleep(CUT_S)
            behind = [w.acked() for w in writers]
        finally:
            LINK.set_up(True)
        t_back = time.monotonic()
        log(f"link down {t_back - t_cut:.1f} s; acknowledged meanwhile {behind}")
        # Caught up: each writer has what the other DC's writer had when the link came back.
        for pair, other in ((DC1, DC2), (DC2, DC1)):
            target = seq(other.active(), other.dc)
            wait_for(lambda: seq(pair.active(), other.dc) >= target,
                     MAX_CATCH_UP_S, interval=0.1, what=f"DC{pair.dc} catching up with DC{other.dc}")
            log(f"DC{pair.dc} caught up with DC{other.dc}'s backlog {time.monotonic() - t_back:.2f} s after the link "
                f"came back")
        time.sleep(3)
        results = [w.stop() for w in writers]
        log(f"converged {converge(MAX_CATCH_UP_S):.2f} s after the writers stopped")
        self.assert_identical()
        for w, result in zip(writers, results):
            self.assert_writes(w, result)

    def test_c_failover_in_one_dc(self):
        """DC1's active dies while both DCs write, with the link down (DC2 behind in
        DC1's domain): DC1's new writer, once the link is back, asks DC2 for a position
        DC2 does not have yet and replicates it, DC2's writer reaches it through the VIP."""
        writers = [Writer(DC1), Writer(DC2)]
        wait_for(lambda: all(w.acked() >= 50 for w in writers), 30, interval=0.2, what="both writers under way")
        LINK.set_up(False)
        try:
            time.sleep(2)
            killed, t_kill = DC1.kill_active("process")
            new = wait_for(DC1.active, 15, interval=0.05, what="DC1's new writer")
            on_new = f"SELECT COUNT(*) FROM dcw.t WHERE run={writers[0].run} AND server_id={new.server_id}"
            wait_for(lambda: int(new.sql(on_new)[0][0]) >= 50, 30, interval=0.2, what="writes on DC1's new writer")
        finally:
            LINK.set_up(True)
        t_back = time.time()
        wait_for(lambda: remote_status(DC1)[1].get("Slave_IO_Running") == "Yes", 15, interval=0.05,
                 what="DC1's new writer replicating DC2")
        target = seq(DC2.active(), 2)
        wait_for(lambda: seq(new, 2) >= target, 15, interval=0.05,
                 what="DC1's new writer caught up with DC2")
        log(f"{new.name} DC1's writer, link back {t_back - t_kill:.2f} s after the kill; caught up with DC2 "
            f"{time.time() - t_back:.2f} s after the link came back")
        results = [w.stop() for w in writers]
        DC1.restore(killed)
        DC1.wait_caught_up(killed, timeout=60)
        log(f"converged {converge(30):.2f} s after the writers stopped")
        self.assert_identical()
        for w, result in zip(writers, results):
            self.assert_writes(w, result)


if __name__ == "__main__":
    db_pair.require_environment()
    harness.run_tests()
