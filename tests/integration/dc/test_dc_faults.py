"""The two-DC system (system.py) under the faults of issue 14, each under a steady
load of calls with RTP from providers into both DCs, each ending by comparing the
CDR tables of both DCs: every call a provider saw answered has exactly one CDR, in
DC1 and in DC2, and both DCs hold the same rows.

The faults share one system and run in order (each leaves it whole again). Per
fault a line FAULT name: attempted, failed, recovery time, CDRs expected / found
in DC1 / found in DC2 / doubled. TANDEM_DC_CUT_S shortens the 60 s cuts (faults 4
and 5) for development.
"""

import json
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import system  # noqa: E402
import harness  # noqa: E402
import lab  # noqa: E402
from harness import log, wait_for  # noqa: E402

CUT_S = float(os.environ.get("TANDEM_DC_CUT_S", "60"))
RATE = 6            # calls/s, half into each DC
LEAD_S = 4          # load before a fault
S = None


def setUpModule():
    global S
    S = system.System().start()


class Faults(unittest.TestCase):
    def run_load(self, seconds, fault, hold_ms=system.HOLD_MS):
        """Load for `seconds`; fault() runs after LEAD_S and returns the figures it measured.
        Returns (the load's figures with fault's, the CDR comparison)."""
        load = S.providers(RATE, seconds, hold_ms=hold_ms)
        time.sleep(LEAD_S)
        measured = fault() or {}
        load.wait(seconds + hold_ms / 1000 + 90)
        figures = dict(load.figures(), **measured)
        cdrs = S.compare_cdrs(load.answered())
        return figures, cdrs

    def report(self, name, figures, cdrs, max_failed=0):
        log(f"FAULT {name}: {json.dumps(dict(figures, **{k: v for k, v in cdrs.items() if k != 'missing'}))}")
        self.assertEqual((cdrs["found_dc1"], cdrs["found_dc2"], cdrs["doubled"]),
                         (cdrs["expected"], cdrs["expected"], 0), f"CDRs of {name}: {cdrs}")
        self.assertTrue(cdrs["identical"], f"both DCs hold the same CDRs after {name}: {cdrs}")
        self.assertEqual(cdrs["refused"], 0, f"CDRs the DB refused (kept in the spool's refused/): {cdrs}")
        self.assertGreater(figures["answered"], 0, figures)
        self.assertLessEqual(figures["failed"], max_failed, f"calls failed by {name}: {figures}")

    def test_0_dc_status_shows_both_dcs(self):
        """tandemctl dc status, from DC1's LAN: each SBC's view of the four servers, who holds each
        DC's virtual IP, the replication from the other DC."""
        rc, dcs = S.dc_status()
        self.assertEqual(rc, 0, dcs)
        for dc, view in zip(S.dcs, dcs):
            self.assertEqual(view["dc"], dc.name)
            self.assertTrue(view["sbc"]["reachable"], view)
            self.assertEqual({s["name"]: s["state"] for s in view["sbc"]["servers"]},
                             {n.name: "up" for n in S.nodes()}, view)
            self.assertEqual(view["vip"]["holder"], f"{dc.db.active().ip}:3306", view)
            other = S.dc(3 - dc.n)
            self.assertEqual(view["from_other_dc"]["master"], f"{other.vip}:3306", view)
            self.assertTrue(view["from_other_dc"]["io_running"] and view["from_other_dc"]["sql_running"], view)
            self.assertEqual(view["errors"], [], view)
        bad = harness.run([harness.TANDEMCTL, "dc", "status", "--dc", "dc1,sbc=1.2.3.4:9110,db=h1+"], check=False)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("an empty DB host", bad.stderr)

    def test_1_db_failover_and_the_old_active_rejoining(self):
        """Faults 1 and 2: DC1's active DB host dies under load; the virtual IP moves, the
        servers reconnect, no call fails; the old active comes back as the passive."""
        pair = S.dc(1).db
        first_commit = {}

        def kill():
            old, t_kill, moved_s = S.kill_db(1)
            new = pair.active()
            before = int(new.sql("SELECT COUNT(*) FROM tandem_cdr.cdr")[0][0])
            wait_for(lambda: int(new.sql("SELECT COUNT(*) FROM tandem_cdr.cdr")[0][0]) > before, 30,
                     interval=0.05, what="a CDR committed on the new active")
            first_commit["old"] = old
            return {"vip_moved_s": round(moved_s, 2), "first_cdr_commit_s": round(time.time() - t_kill, 2)}

        figures, cdrs = self.run_load(20, kill)
        rc, dcs = S.dc_status()
        self.assertEqual(dcs[0]["vip"]["holder"], f"{pair.active().ip}:3306", "dc status names the new holder")
        self.assertEqual(rc, 1, "a DB host down is news")
        self.assertTrue(any(first_commit["old"].ip in e for e in dcs[0]["errors"]), dcs[0]["errors"])
        S.restore_db(1, first_commit["old"])
        self.assertIsNot(pair.active(), first_commit["old"], "the old active came back as the passive")
        # The failover's time is a figure (bench/RESULTS.md), not a test's verdict: this machine is noisy.
        self.report("db-failover", figures, cdrs)

    def test_3_call_server_killed(self):
        """Fault 3: SIGKILL a call server of DC1 and start it again: the SBC sends its calls
        elsewhere; only the calls it had up fail, and their CDRs appear once it is back."""
        victim = S.dc(1).nodes[0]
        up = {}

        def kill():
            up["calls_up"] = victim.active_calls()
            system.kill(victim.control.proc)
            t = time.monotonic()
            wait_for(lambda: S.dc(1).sbc.servers()[victim.name]["state"] != "up", 10, interval=0.05,
                     what=f"{victim.name} no longer chosen")
            seen = time.monotonic() - t
            time.sleep(2)
            victim.control.start()
            wait_for(lambda: S.dc(1).sbc.servers()[victim.name]["state"] == "up", 10, interval=0.1,
                     what=f"{victim.name} up again")
            return {"calls_up_on_killed": up["calls_up"], "not_chosen_after_s": round(seen, 2)}

        figures, cdrs = self.run_load(15, kill)
        self.report("server-kill", figures, cdrs, max_failed=figures["calls_up_on_killed"])
        # The calls it had up, billed from its open-call files when it started again (cdr/open_calls.h).
        self.assertEqual(victim.control.request("cdr-stats")["recovered"], figures["calls_up_on_killed"])
        left = S.dc(1).db.active().sql("SELECT COUNT(*) FROM tandem_cdr.cdr WHERE hangup_reason = "
                                       "'call server stopped with the call up'")
        self.assertEqual(int(left[0][0]), figures["calls_up_on_killed"])

    def test_4_sbc_killed(self):
        """Fault 7: SIGKILL DC1's SBC: providers' new calls go to DC2 (no answer, then the other
        DC); it is restarted 3 s later (as its unit would) and the calls already up end normally
        through it: it keeps no dialog state."""
        sbc = S.dc(1).sbc

        def kill():
            t = time.monotonic()
            sbc.stop(signal.SIGKILL)
            time.sleep(3)
            sbc.start()
            return {"sbc_down_s": round(time.monotonic() - t, 2)}

        figures, cdrs = self.run_load(15, kill)
        self.assertGreater(figures["failovers"], 0, "calls offered while it was gone went to DC2")
        self.report("sbc-kill", figures, cdrs)

    def test_5_rules_edit_routes_in_the_other_dc(self):
        """Fault 6: a rules edit in DC1 during load: DC2's servers route the new way within the
        reload interval (plus replication)."""
        number = "+4930100077"
        dc2 = S.dc(2)
        versions = {n.name: n.control.stats()["rules"]["version"] for n in dc2.nodes}
        measured = {}

        def edit():
            active = S.dc(1).db.active()
            t = time.monotonic()
            active.sql("SET @x := 0")  # the connection answers before the clock starts
            sock = f"unix:{active.socket}"
            for table, *fields in (("numbers", f"e164={number}", "customer=Acme"),
                                   ("rules", f"number={number}", "priority=10", "action=reject", "target=486")):
                harness.run([harness.TANDEMCTL, "rules", "--db", sock, "--db-user", "root", "add", table, *fields])
            wait_for(lambda: all(n.control.stats()["rules"]["version"] != versions[n.name] for n in dc2.nodes), 10,
                     interval=0.05, what="DC2's servers loaded the edit")
            measured["dc2_routes_new_rules_s"] = round(time.monotonic() - t, 2)
            return measured

        figures, cdrs = self.run_load(10, edit)
        caller = lab.Sipp(S, S.internet, "uac_reject", system.PROVIDER_IP, 5070, remote=f"{system.sbc_ip(2)}:5060",
                          service=number, keys={"expect_code": 486})
        self.assertEqual(caller.wait(), 0, caller.describe())
        self.report("rules-edit", figures, cdrs)
        self.assertLess(measured["dc2_routes_new_rules_s"], 5, measured)

    def test_6_link_between_the_dcs_cut(self):
        """Fault 5: the replication link down for CUT_S under load, then back: no conflict,
        no loss, the lag back to zero."""
        def cut():
            S.link.set_up(False)
            time.sleep(CUT_S)
            t = time.monotonic()
            S.link.set_up(True)
            S.wait_replicated(120)
            return {"cut_s": CUT_S, "caught_up_s": round(time.monotonic() - t, 2)}

        figures, cdrs = self.run_load(CUT_S + LEAD_S + 4, cut)
        self.report("link-cut", figures, cdrs)

    def test_7_dc2_isolated(self):
        """Fault 4: DC2 cut off for CUT_S: providers' calls go to DC1; the calls DC2 had up
        are lost to the providers but billed (DC2's servers end them when their media stops);
        once DC2 is back both DCs hold identical CDRs and rules."""
        up = {}

        def isolate():
            up["calls_up_in_dc2"] = sum(n.active_calls() for n in S.dc(2).nodes)
            S.isolate(2)
            time.sleep(CUT_S)
            t = time.monotonic()
            S.isolate(2, False)
            wait_for(lambda: all(s["state"] == "up" for dc in S.dcs for s in dc.sbc.servers().values()), 30,
                     interval=0.2, what="every server up at both SBCs")
            S.wait_replicated(120)
            return dict(up, recovered_s=round(time.monotonic() - t, 2))

        figures, cdrs = self.run_load(CUT_S + LEAD_S + 4, isolate)
        rules = [sorted(dc.db.active().sql("SELECT * FROM tandem_rules.rules")) for dc in S.dcs]
        self.assertEqual(rules[0], rules[1], "identical rules")
        self.report("dc-isolated", figures, cdrs, max_failed=figures["calls_up_in_dc2"] + RATE)

    def test_8_both_dbs_of_dc1_down_and_a_server_restarted(self):
        """Fault 8: both DBs of DC1 down, then a call server of DC1 restarted: it routes from its
        saved rules; the CDRs of that time are spooled and land when the DBs are back."""
        pair = S.dc(1).db
        node = S.dc(1).nodes[1]
        killed = []

        for _ in range(2):
            killed.append(pair.active())
            pair.kill(killed[-1], "process")
            if len(killed) == 1:
                wait_for(lambda: pair.active() not in (None, killed[0]), 20, interval=0.05, what="VIP moved")
        node.control.stop()
        node.control.start()
        self.assertEqual(node.control.stats()["rules"]["from"], "saved")
        wait_for(lambda: S.dc(1).sbc.servers()[node.name]["state"] == "up", 10, interval=0.1,
                 what=f"{node.name} up at the SBC")
        load = S.providers(RATE, 10).wait(10 + 90)
        figures = load.figures()
        self.assertGreater(node.control.stats()["counters"]["calls_answered"], 0, "it routed calls from saved rules")
        # Both were down: neither can prove alone that it is in sync, so no address until both
        # are back; the one behind catches up from the other and VRRP elects (docs/DB_FAILOVER.md).
        for n in reversed(killed):
            pair.restore(n)
        wait_for(lambda: pair.active() is not None, 60, interval=0.1, what="a DC1 DB active again")
        pair.wait_caught_up(next(n for n in pair.nodes if n is not pair.active()), timeout=60)
        cdrs = S.compare_cdrs(load.answered())
        self.report("dc1-dbs-down", figures, cdrs)


if __name__ == "__main__":
    system.require_environment()
    harness.run_tests()
