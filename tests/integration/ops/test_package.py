"""tools/package builds the Debian package; it installs into an empty root
(dpkg --root), its binaries run and read the configuration it ships, `dpkg -r`
leaves only the operator's configuration and `dpkg -P` nothing at all."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sip"))

import harness  # noqa: E402
import lab  # noqa: E402
from harness import temp_dir  # noqa: E402


def run(*cmd, **kw):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=300, **kw)


class Package(unittest.TestCase):
    def test_build_install_check_remove(self):
        work = temp_dir("tandem-package-")
        built = run(os.path.join(harness.SOURCE_ROOT, "tools", "package"), os.path.join(work, "out"))
        self.assertEqual(built.returncode, 0, built.stderr)
        deb = built.stdout.strip()
        info = run("dpkg-deb", "-I", deb).stdout
        depends = next(line for line in info.splitlines() if line.startswith(" Depends: "))
        for lib in ("libsofia-sip-ua0", "librte-eal23", "libmysqlcppconn7v5", "libcpp-httplib0.11"):
            self.assertIn(lib, depends)  # what the binaries link, found by dpkg-shlibdeps
        self.assertTrue(depends.endswith(", dpdk"), "and DPDK's drivers, loaded at run time")
        self.assertEqual(run("dpkg-deb", "-f", deb, "Package").stdout.strip(), "tandem")
        contents = run("dpkg-deb", "-c", deb).stdout
        for path in ("./usr/bin/tandem-control", "./usr/bin/tandem-dataplane", "./usr/bin/tandem-sbc",
                     "./usr/bin/tandemctl", "./usr/lib/systemd/system/tandem-control.service",
                     "./etc/tandem/control.conf", "./etc/default/tandem-dataplane", "./usr/share/tandem/rules-schema.sql"):
            self.assertIn(path, contents)

        root = os.path.join(work, "root")
        for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "var/log"):
            os.makedirs(os.path.join(root, d))
        for f in ("var/lib/dpkg/status", "var/lib/dpkg/available"):
            open(os.path.join(root, f), "w").close()
        # An empty root has none of the libraries: their packages are this machine's.
        installed = run("dpkg", f"--root={root}", "--force-depends", "-i", deb)
        self.assertEqual(installed.returncode, 0, installed.stdout + installed.stderr)
        self.assertIn("/etc/tandem/control.conf", run("dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W", "-f",
                                                         "${Conffiles}", "tandem").stdout)

        help_text = run(os.path.join(root, "usr/bin/tandem-control"), "--help").stdout
        self.assertIn("--check-config", help_text)
        etc = os.path.join(root, "etc", "tandem")
        with open(os.path.join(etc, "control.conf")) as f:
            conf = f.read().replace("/etc/tandem/", etc + "/")
        with open(os.path.join(work, "control.conf"), "w") as f:
            f.write(conf)
        for pw in ("rules-db.password", "cdr-db.password"):
            with open(os.path.join(etc, pw), "w") as f:
                f.write("secret\n")
        checked = run(os.path.join(root, "usr/bin/tandem-control"), "--config", os.path.join(work, "control.conf"),
                      "--check-config")
        self.assertIn("ok       flags and --config parsed", checked.stdout, checked.stdout + checked.stderr)
        for pw in ("rules-db.password", "cdr-db.password"):
            os.unlink(os.path.join(etc, pw))

        self.assertEqual(run("dpkg", f"--root={root}", "-r", "tandem").returncode, 0)
        self.assertFalse(os.path.exists(os.path.join(root, "usr/bin/tandem-control")))
        self.assertTrue(os.path.exists(os.path.join(etc, "control.conf")), "removal keeps the operator's config")
        self.assertEqual(run("dpkg", f"--root={root}", "-P", "tandem").returncode, 0)
        left = [os.path.join(d, f) for d, _, files in os.walk(root) for f in files
                if not os.path.relpath(d, root).startswith(("var/lib/dpkg", "var/log"))]
        self.assertEqual(left, [], "a purge leaves nothing")


if __name__ == "__main__":
    lab.require_environment()
    harness.run_tests()
