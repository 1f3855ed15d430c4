"""A call server restarted while its DBs cannot be reached routes calls from
the rules it saved at its last load (--rules-saved), says so in its log and in
tandemctl stats, and takes the Rules DB's rules back as soon as they load; the
calls' CDRs, spooled meanwhile, reach the CDR DB then. Without saved rules the
same restart refuses the provider itself (403: which addresses are providers
is in the rules).

The DBs "go away" for new connections only: their Unix socket is moved aside,
as a DB host that stopped answering looks to a process that starts."""

import os

import lab
from lab import DID_REJECT, DID_VM

LAB = None


def saved_file():
    return os.path.join(LAB.workdir, "node1-rules.saved")  # lab.CallServer's --rules-saved


def tearDownModule():
    LAB.stop_control()  # a clean exit, nothing reported by the sanitizers


def setUpModule():
    global LAB
    LAB = lab.Lab()
    lab.CallTest.lab = LAB


class SavedRules(lab.CallTest):
    def db_away(self):
        os.rename(LAB.db.socket, LAB.db.socket + ".away")

    def db_back(self):
        os.rename(LAB.db.socket + ".away", LAB.db.socket)

    def restart_without_db(self):
        LAB.stop_control()
        self.db_away()
        try:
            LAB.start_control()
        except Exception:
            self.db_back()
            raise

    def test_a_restart_without_the_db_routes_from_the_saved_rules(self):
        saved = saved_file()
        version = LAB.stats()["rules"]["version"]
        self.assertTrue(os.path.exists(saved), "saved at the load")
        with open(saved, "rb") as f:
            self.assertTrue(f.readline().startswith(f"tandem-rules-saved 2 version={version:020d}".encode()))
        self.restart_without_db()
        try:
            rules = LAB.stats()["rules"]
            self.assertEqual((rules["from"], rules["version"]), ("saved", version), rules)
            self.assertIn("connect", rules["last_error"].lower())
            self.assertIn("routing from the rules saved in " + saved, LAB.control_text())
            caller = LAB.provider_call("uac_reject", DID_REJECT, keys={"expect_code": 603})
            self.check_sipp(caller)  # the rules' answer, not 503
        finally:
            self.db_back()
        lab.wait_for(lambda: LAB.stats()["rules"]["from"] == "db", 10, interval=0.1, what="the DB's rules")
        self.assertIn("no longer routing from the saved rules", LAB.control_text())
        cdr = self.new_cdr()
        self.assertEqual((cdr["disposition"], cdr["sip_code"], cdr["called"], cdr["customer"]),
                         ("rejected", "603", DID_REJECT, "Acme"), cdr)

    def test_without_saved_rules_the_same_restart_refuses_calls(self):
        os.remove(saved_file())
        self.restart_without_db()
        try:
            self.assertEqual(LAB.stats()["rules"]["from"], "none")
            caller = LAB.provider_call("uac_reject", DID_VM, keys={"expect_code": 403})
            self.check_sipp(caller)
            self.assertEqual(LAB.stats()["counters"]["refused_peer"], 1)  # a process of its own: from 0
        finally:
            self.db_back()
            LAB.stop_control()
            LAB.start_control()


if __name__ == "__main__":
    lab.main()
