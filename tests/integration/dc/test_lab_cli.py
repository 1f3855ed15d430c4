"""./tools/lab as an operator drives it: up (twice: the second says so), status,
calls with the CDRs of both DCs compared, calls with an SBC killed meanwhile,
a DB failover and its return, commands it refuses, down - and nothing of it left
(namespaces, processes, its socket)."""

import os
import re
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import system  # noqa: E402
import harness  # noqa: E402
from harness import CLEANUP, log  # noqa: E402

LAB = os.path.join(harness.SOURCE_ROOT, "tools", "lab")
CDRS = re.compile(r"CDRs: expected (\d+), found in DC1 (\d+), in DC2 (\d+), doubled (\d+); both DCs identical")


def lab(*args, timeout=120, check=True):
    r = subprocess.run([sys.executable, LAB, *args], capture_output=True, text=True, timeout=timeout)
    log(f"tools/lab {' '.join(args)} -> {r.returncode}\n{r.stdout[-3000:]}{r.stderr[-2000:]}")
    if check and r.returncode != 0:
        raise AssertionError(f"tools/lab {' '.join(args)} exited {r.returncode}: {r.stdout[-2000:]}{r.stderr}")
    return r


def namespaces():
    return set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())


class LabCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.before = namespaces()
        CLEANUP.add("tools/lab down", lambda: lab("down", timeout=180, check=False))
        out = lab("up", timeout=400).stdout
        assert "lab: up" in out, out

    def expect_cdrs(self, out):
        m = CDRS.search(out)
        self.assertIsNotNone(m, out)
        expected, dc1, dc2, doubled = map(int, m.groups())
        self.assertGreater(expected, 0, out)
        self.assertEqual((dc1, dc2, doubled), (expected, expected, 0), out)

    def test_a_up_again_says_it_is_up(self):
        self.assertIn("already up", lab("up", timeout=120).stdout)

    def test_b_status(self):
        out = lab("status").stdout
        for line in ("dc1: SBC sbc1 198.18.1.3 up", "dc2: SBC sbc2 198.18.1.4 up", "dc1-node2: 0 calls", "CDR DB up",
                     "DB virtual IP 198.18.10.10:3306 -> 198.18.10.11:3306",
                     "from the other DC (198.18.20.10:3306): replicating"):
            self.assertIn(line, out)
        self.assertRegex(out, r"dc2-node1\s+local\s+up")
        self.assertEqual(len(re.findall(r"(?m)^    198\.18\.\d+\.\d+:3306  writer", out)), 2, out)

    def test_c_calls(self):
        self.expect_cdrs(lab("calls", "4", "5", timeout=300).stdout)

    def test_d_calls_while_an_sbc_is_killed_and_restarted(self):
        result = {}
        t = threading.Thread(target=lambda: result.update(out=lab("calls", "4", "10", timeout=300).stdout))
        t.start()
        time.sleep(3)
        self.assertIn("killed", lab("fault", "sbc-kill", "--dc", "1").stdout)
        time.sleep(3)
        lab("fault", "sbc-restart", "--dc", "1")
        t.join(timeout=300)
        self.expect_cdrs(result["out"])
        self.assertRegex(result["out"], r"failovers [1-9]")

    def test_e_db_failover_and_back(self):
        self.assertRegex(lab("fault", "db-kill", "--dc", "2").stdout, r"db1 killed; the virtual IP moved in [0-9.]+ s")
        self.assertIn("DB virtual IP 198.18.20.10:3306 -> 198.18.20.12:3306", lab("status").stdout)
        self.assertIn("db1 back and caught up", lab("fault", "db-restore", "--dc", "2", timeout=200).stdout)
        self.expect_cdrs(lab("calls", "4", "3", timeout=300).stdout)

    def test_f_refused(self):
        r = lab("fault", "no-such-fault", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("invalid choice", r.stderr)
        r = lab("calls", "-1", "5", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("must be positive", r.stderr)

    def left_nothing(self):
        self.assertEqual(namespaces() - self.before, set())
        self.assertFalse(os.path.exists("/run/tandem-lab/lab.sock"))
        left = subprocess.run(["pgrep", "-f", "tools/lab serve"], capture_output=True, text=True).stdout
        self.assertEqual(left.strip(), "", "the lab's holder exited")
        self.assertIn("not up", lab("status", check=False).stderr)

    def test_y_down_leaves_nothing(self):
        self.assertIn("lab: down", lab("down", timeout=180).stdout)
        self.left_nothing()

    def test_z_what_a_dead_holder_left_goes_at_down(self):
        lab("up", timeout=400)
        holder = subprocess.run(["pgrep", "-f", "tools/lab serve"], capture_output=True, text=True).stdout.split()
        self.assertEqual(len(holder), 1, holder)
        os.kill(int(holder[0]), 9)
        time.sleep(0.5)
        self.assertIn("its holder was gone", lab("down", timeout=180).stdout)
        self.left_nothing()


if __name__ == "__main__":
    system.require_environment()
    harness.run_tests()
