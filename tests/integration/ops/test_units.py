"""The service units (tools/systemd/) pass systemd-analyze verify against the
built binaries, and the configuration files shipped with them parse: with
their placeholder addresses, --check-config names what to edit and nothing
else."""

import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sip"))

import harness  # noqa: E402
import lab  # noqa: E402
from harness import temp_dir  # noqa: E402

UNITS = os.path.join(harness.SOURCE_ROOT, "tools", "systemd")
DATAPLANE = harness.DATAPLANE


class Units(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        """The units as meson installs them, @bindir@ a directory of the built binaries, @sysconfdir@ a
        copy of the shipped configuration, its /etc/tandem paths pointing there."""
        cls.root = temp_dir("tandem-units-")
        bindir, cls.etc = os.path.join(cls.root, "bin"), os.path.join(cls.root, "etc")
        os.makedirs(bindir)
        os.makedirs(os.path.join(cls.etc, "tandem"))
        os.makedirs(os.path.join(cls.etc, "default"))
        for binary in (DATAPLANE, lab.CONTROL, lab.SBC):
            os.symlink(os.path.abspath(binary), os.path.join(bindir, os.path.basename(binary)))
        cls.units = []
        for name in ("tandem-dataplane", "tandem-control", "tandem-sbc"):
            with open(os.path.join(UNITS, name + ".service.in")) as f:
                text = f.read()
            text = text.replace("@bindir@", bindir).replace("@sysconfdir@", cls.etc).replace("@docdir@", cls.root)
            path = os.path.join(cls.root, name + ".service")
            with open(path, "w") as f:
                f.write(text)
            cls.units.append(path)
        shutil.copy(os.path.join(UNITS, "tandem-dataplane.default"), os.path.join(cls.etc, "default", "tandem-dataplane"))
        for conf in ("control.conf", "sbc.conf"):
            with open(os.path.join(UNITS, conf)) as f:
                text = f.read().replace("/etc/tandem/", os.path.join(cls.etc, "tandem") + "/")
            with open(os.path.join(cls.etc, "tandem", conf), "w") as f:
                f.write(text)
        for pw in ("rules-db.password", "cdr-db.password"):
            with open(os.path.join(cls.etc, "tandem", pw), "w") as f:
                f.write("secret\n")

    def test_systemd_analyze_verify(self):
        r = subprocess.run(["systemd-analyze", "verify", *self.units], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr.strip(), "", "no warning either")

    def test_the_shipped_configuration_parses_and_only_its_placeholders_are_wrong(self):
        for binary, conf in ((lab.CONTROL, "control.conf"), (lab.SBC, "sbc.conf")):
            r = subprocess.run([binary, "--config", os.path.join(self.etc, "tandem", conf), "--check-config"],
                               capture_output=True, text=True, timeout=30)
            out = r.stdout + r.stderr
            self.assertIn("ok       flags and --config parsed", out)
            errors = [line for line in out.splitlines() if line.startswith("error")]
            self.assertTrue(errors, out)
            for line in errors:  # what an operator must edit: the example's addresses and directories
                self.assertRegex(line, r"^error    (SIP 203\.0\.113\.\d+:5060 \(\w+\): not an address of this host|"
                                       r"operator socket /run/tandem/\w+\.sock: its directory /run/tandem)", out)
            self.assertEqual(r.returncode, 2)

    def test_each_process_is_checked_before_it_starts(self):
        for unit in self.units[1:]:
            with open(unit) as f:
                text = f.read()
            self.assertRegex(text, r"(?m)^ExecStartPre=.* --check-config$")


if __name__ == "__main__":
    lab.require_environment()
    harness.run_tests()
