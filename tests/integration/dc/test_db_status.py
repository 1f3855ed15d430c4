"""tandemctl db status on a data center's MariaDB pair (db_pair.py): which host
writes, which replicates from whom with what lag, and a host that is gone;
after a failover the roles as they are then."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import db_pair  # noqa: E402
import harness  # noqa: E402
from harness import CLEANUP, in_ns, wait_for  # noqa: E402

PAIR = None
MONITOR, MONITOR_PASSWORD = db_pair.MONITOR_USER, db_pair.MONITOR_PASSWORD


def setUpModule():
    global PAIR
    PAIR = db_pair.DbPair(dc=1).start()


def status():
    """tandemctl db status --json from the DC's client namespace: (exit code, {host ip: status})."""
    hosts = [x for n in PAIR.nodes for x in ("--host", n.ip)]
    r = subprocess.run(in_ns(PAIR.dc_ns, [harness.TANDEMCTL, "--json", "db", "status", *hosts, "--user", MONITOR]),
                       capture_output=True, text=True, timeout=30, env={**os.environ, "TANDEM_DB_PASSWORD": MONITOR_PASSWORD})
    return r.returncode, {s["address"]: s for s in json.loads(r.stdout)}


class DbStatus(unittest.TestCase):
    def test_a_the_writer_and_its_replica(self):
        active = PAIR.active()
        passive = next(n for n in PAIR.nodes if n is not active)
        PAIR.wait_caught_up(passive)
        rc, hosts = status()
        self.assertEqual(rc, 0, hosts)
        w, r = hosts[active.ip], hosts[passive.ip]
        self.assertEqual((w["role"], w["semi_sync_master"], w["replicates_from"]), ("writer", True, []), w)
        self.assertEqual(r["role"], "replica", r)
        [link] = r["replicates_from"]
        self.assertEqual((link["master"], link["io_running"], link["sql_running"], link["lag_s"], link["last_error"]),
                         (f"{active.ip}:3306", True, True, 0, ""), link)
        self.assertEqual(link["received"], w["gtid_binlog_pos"])
        self.assertEqual((w["gtid_domain_id"], w["server_id"]), (1, active.server_id))

    def test_b_after_a_failover(self):
        old, _ = PAIR.kill_active("process")
        wait_for(lambda: PAIR.active() not in (None, old), 10, interval=0.1, what="the VIP moved")
        new = PAIR.active()
        wait_for(lambda: status()[1][new.ip].get("role") == "writer", 10, interval=0.2, what="the new writer open")
        rc, hosts = status()
        self.assertEqual(rc, 1, "a host that does not answer is an error for scripts")
        self.assertFalse(hosts[old.ip]["reachable"])
        self.assertIn("Can't connect", hosts[old.ip]["error"])
        self.assertEqual(hosts[new.ip]["replicates_from"], [], "the writer replicates from nobody in its DC")
        PAIR.restore(old)
        # Back as a replica of the new writer, once its role script has set it up (every second).
        wait_for(lambda: [(x["master"], x["io_running"]) for x in status()[1][old.ip].get("replicates_from", [])] ==
                 [(f"{new.ip}:3306", True)], 60, interval=0.5, what="the old writer replicating from the new")
        rc, hosts = status()
        self.assertEqual(rc, 0)
        self.assertEqual(hosts[old.ip]["role"], "replica")


if __name__ == "__main__":
    db_pair.require_environment()
    harness.run_tests()
