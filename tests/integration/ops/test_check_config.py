"""--check-config on tandem-control, tandem-sbc and tandem-dataplane: each check on a line of its
own, exit 0 when none is an error, 2 otherwise; with --check-db a real
MariaDB answers (and a wrong address does not). Nothing is served: no port
stays bound, no file is written."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sip"))

import lab  # noqa: E402
from harness import CLEANUP, stop_process, temp_dir  # noqa: E402

DB = None
WORK = None


def setUpModule():
    global DB, WORK
    WORK = temp_dir("tandem-check-")
    DB = lab.MariaDb().start()
    CLEANUP.add("stop mariadbd", lambda: stop_process(DB.proc, timeout=20))
    db = [f"unix:{DB.socket}"]
    subprocess.run([lab.harness.TANDEMCTL, "db", "init", "--rules-db", *db, "--rules-db-user", "root",
                    "--cdr-db", *db, "--cdr-db-user", "root"], check=True, capture_output=True, timeout=60)


def check(program, *args):
    r = subprocess.run([program, "--check-config", *args], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


class CheckConfig(unittest.TestCase):
    def server_args(self, *extra, **flags):
        """A good configuration; flags={"sip": "..."} replaces --sip, extra is added."""
        args = {"sip": "127.0.0.1:5999", "control-socket": os.path.join(WORK, "control.sock"),
                "rules-db": f"unix:{DB.socket}", "rules-db-user": "root", "cdr-db": f"unix:{DB.socket}",
                "cdr-db-user": "root", "cdr-spool-dir": os.path.join(WORK, "spool"),
                "rules-saved": os.path.join(WORK, "state", "rules.saved")}
        args.update({k.replace("_", "-"): v for k, v in flags.items()})
        return [x for k, v in args.items() for x in (f"--{k}", v)] + list(extra)

    def test_a_good_call_server_configuration_with_its_dbs(self):
        rc, out = check(lab.CONTROL, *self.server_args("--check-db", "--metrics-listen", "127.0.0.1:9198"))
        self.assertEqual(rc, 0, out)
        for line in ("ok       SIP 127.0.0.1:5999 (UDP)", "ok       SIP 127.0.0.1:5999 (TCP)",
                     "ok       metrics 127.0.0.1:9198 (TCP)", f"ok       CDR spool {WORK}/spool (made at the start)",
                     f"ok       Rules DB unix:{DB.socket} (tandem_rules): answers",
                     f"ok       CDR DB unix:{DB.socket} (tandem_cdr): answers",
                     "warning  dataplane socket /run/tandem/dataplane.sock"):
            self.assertIn(line, out)
        self.assertFalse(os.path.exists(os.path.join(WORK, "spool")), "a check makes nothing")

    def test_every_mistake_is_named_and_the_exit_is_2(self):
        a_file = os.path.join(WORK, "a-file")
        open(a_file, "w").close()
        rc, out = check(lab.CONTROL, *self.server_args("--check-db", "--metrics-listen", "192.0.2.1:5999",
                                                      sip="192.0.2.1:5999",
                                                      control_socket=f"{a_file}/dir/control.sock",
                                                      cdr_db="127.0.0.1:1"))
        self.assertEqual(rc, 2, out)
        self.assertIn("error    SIP 192.0.2.1:5999 (UDP): not an address of this host", out)
        self.assertIn(f"error    operator socket {a_file}/dir/control.sock: its directory {a_file}/dir: "
                      f"cannot be made ({a_file} is no directory)", out)
        self.assertIn("error    --metrics-listen 192.0.2.1:5999 is SIP's TCP port too", out)
        self.assertRegex(out, r"error    CDR DB .*127\.0\.0\.1:1 \(tandem_cdr\): .*Can't connect")

    def test_a_port_in_use_is_a_warning(self):
        with socket_bound(5998):
            rc, out = check(lab.CONTROL, *self.server_args(sip="127.0.0.1:5998"))
        self.assertEqual(rc, 0, out)
        self.assertIn("warning  SIP 127.0.0.1:5998 (UDP): in use", out)

    def test_the_sbc(self):
        rc, out = check(lab.SBC, "--sip", "127.0.0.1:5997", "--server", "a=127.0.0.1:5080",
                        "--control-socket", os.path.join(WORK, "sbc.sock"), "--rules-db", f"unix:{DB.socket}",
                        "--rules-db-user", "root", "--check-db")
        self.assertEqual(rc, 0, out)
        self.assertIn("ok       flags and --config parsed: 1 servers", out)
        self.assertIn(f"ok       Rules DB unix:{DB.socket} (tandem_rules): answers", out)
        rc, out = check(lab.SBC, "--sip", "127.0.0.1:5997", "--server", "a=127.0.0.1:5080", "--metrics-listen",
                        "nonsense")
        self.assertEqual(rc, 2, out)
        self.assertIn("--metrics-listen", out)
        rc, out = check(lab.SBC, "--sip", "127.0.0.1:5997", "--server", "me=127.0.0.1:5997",
                        "--control-socket", os.path.join(WORK, "sbc.sock"))
        self.assertEqual(rc, 2, out)
        self.assertIn("error    --server me is this SBC's own --sip 127.0.0.1:5997", out)

    def test_every_program_takes_its_command_line_the_same_way(self):
        # --version; an unknown flag named as such, not as a missing required one; a --config
        # key that is no option (a misspelt setting) refused, never silently dropped.
        conf = os.path.join(WORK, "misspelt.conf")
        with open(conf, "w") as f:
            f.write("capcity = 10\n")
        programs = {"tandem-control": [lab.CONTROL], "tandem-sbc": [lab.SBC], "tandemctl": [lab.harness.TANDEMCTL],
                    "tandem-dataplane": [lab.harness.DATAPLANE, "--no-huge", "--"]}
        for name, argv in programs.items():
            with self.subTest(program=name):
                r = subprocess.run([*argv, "--version"], capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertRegex(r.stdout.strip(), r"^\d+\.\d+\.\d+$")
                r = subprocess.run([*argv, "--bogus"], capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(f"{name}: unknown option or argument: --bogus", r.stderr)
                if name == "tandemctl":
                    continue  # no --config
                r = subprocess.run([*argv, "--config", conf, "--check-config"], capture_output=True, text=True,
                                   timeout=30)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn("the --config file sets 'capcity', which is no option of this program", r.stderr)
        with open(conf, "w") as f:
            f.write("[server]\ncapacity = 10\n")
        r = subprocess.run([lab.CONTROL, "--config", conf, "--check-config"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("the --config file has a section [server]: write its settings at the top", r.stderr)

    def test_the_dataplane(self):
        """Checked before EAL starts: lcores, memory, each device, the ports against the devices."""
        def dataplane(eal, *ours):
            r = subprocess.run([lab.harness.DATAPLANE, *eal, "--", "--check-config", "--port", "0:198.18.0.1/24",
                                "--control-socket", os.path.join(WORK, "dp", "dataplane.sock"), *ours],
                               capture_output=True, text=True, timeout=30)
            return r.returncode, r.stdout + r.stderr
        rc, out = dataplane(["-l", "0-1", "--no-huge", "--vdev", "net_null0"], "--metrics-listen", "127.0.0.1:9197")
        self.assertEqual(rc, 0, out)
        for line in ("ok       lcores -l 0-1: the main one and 1 worker(s)", "ok       --vdev net_null0",
                     "ok       --port 0 198.18.0.1/24", "ok       metrics 127.0.0.1:9197 (TCP)",
                     f"ok       control socket {WORK}/dp/dataplane.sock: its directory {WORK}/dp (made at the start)"):
            self.assertIn(line, out)
        self.assertFalse(os.path.exists(os.path.join(WORK, "dp")), "a check makes nothing")
        rc, out = dataplane(["-l", "0-63", "--no-huge", "--vdev", "net_af_packet0,iface=tandem-nosuch"],
                            "--port", "1:198.18.1.1/24,gw=198.18.9.1")
        self.assertEqual(rc, 2, out)
        self.assertRegex(out, r"error    -l 0-63: CPU \d+ is not one this process may run on")
        self.assertIn("error    --vdev net_af_packet0,iface=tandem-nosuch: no interface tandem-nosuch", out)
        self.assertIn("error    --port 1 198.18.1.1/24: EAL gets 1 device(s), so no port 1", out)
        self.assertIn("error    --port 1 198.18.1.1/24: gw 198.18.9.1 is outside the subnet", out)
        rc, out = dataplane(["--no-huge"], "--burst", "0")
        self.assertEqual(rc, 2, out)
        self.assertIn("--burst", out)


class socket_bound:
    """A UDP socket bound on 127.0.0.1:port for the with block."""

    def __init__(self, port):
        import socket
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", port))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.s.close()


if __name__ == "__main__":
    lab.main()
