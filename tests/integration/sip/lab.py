"""The call server's lab: the dataplane topology of ../harness.py with
tandem-control on the node, a real MariaDB (Rules DB and CDR DB) in a temporary
data dir, sample rules, and sipp as the provider (caller namespace) and as the
customer's PBX VM (callee namespace).

  caller ns 198.18.1.2   provider/SBC: sipp UAC on :5060, carriers' UAS on :5062 and :5064
  relay ns  198.18.1.1   tandem-control SIP (UDP, TCP) on the public tap; MariaDB on a Unix socket
            198.18.2.1   the private tap
  callee ns 198.18.2.2   the customer's VM: sipp UAS on :5060 (and UAC for outbound calls)

Media goes through the dataplane: leg 0 on port 0 (role public), leg 1 on port
1 (role private). The caller and callee namespaces cannot reach each other:
the relay namespace does not forward.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import harness  # noqa: E402
from harness import CLEANUP, in_ns, log, run, spawn, stop_process, temp_dir, wait_for  # noqa: E402

CONTROL = harness.binary("TANDEM_CONTROL", "control/server/tandem-control")
SBC = harness.binary("TANDEM_SBC", "control/sbc/tandem-sbc")
SCENARIOS = os.path.join(HERE, "scenarios")
SIP_PORT = 5060
PROVIDER_IP = harness.CALLER_IP
VM_IP = harness.CALLEE_IP
NODE_IP = harness.RELAY_A_IP
CARRIER_A_PORT = 5062
CARRIER_B_PORT = 5064

# Numbers of the sample rules (rules_csv below).
DID_VM = "+4930100001"          # the customer's VM (default action)
DID_REJECT = "+4930100003"      # a rule rejects with 603
DID_FORWARD = "+4930100004"     # forwarded to a mobile through least-cost routing
DID_MENU = "+4930100005"        # the attendant's menu "main" (no options: tests/integration/attendant adds them)
DID_RING = "+4930100006"        # ring the VM for 2 s, then the mobile
MOBILE = "+4917000001"


def find_program(name):
    for d in ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


def require_environment():
    harness.require_environment(programs=(harness.DATAPLANE, harness.TANDEMCTL, CONTROL))
    for prog in ("sipp", "mariadbd", "mariadb-install-db", "mariadb"):
        if not find_program(prog):
            harness.skip(f"needs {prog} (apt-get install sip-tester mariadb-server)")


class MariaDb:
    """A plain mariadbd on a Unix socket in a temporary dir (no TCP): the
    Rules DB and the CDR DB of the lab."""

    def __init__(self, extra=()):
        self.dir = temp_dir("tandem-sip-db-")
        self.socket = os.path.join(self.dir, "sock")
        self.proc = None
        self.extra = list(extra)   # mariadbd flags after ours (later ones win: a benchmark's larger buffer pool)

    def _args(self):
        return ["--no-defaults", f"--datadir={self.dir}/data"] + (["--user=root"] if os.geteuid() == 0 else [])

    def start(self):
        run([find_program("mariadb-install-db")] + self._args() + ["--auth-root-authentication-method=normal",
                                                                    "--skip-test-db"], timeout=120)
        return self.run()

    def stop(self):
        """Shuts mariadbd down (run() starts it again on the same data)."""
        stop_process(self.proc, timeout=30)

    def run(self):
        """mariadbd on the data dir, once it answers."""
        with open(os.path.join(self.dir, "mariadbd.out"), "a") as out:
            self.proc = spawn([find_program("mariadbd")] + self._args() + [
                f"--socket={self.socket}", "--skip-networking", f"--pid-file={self.dir}/pid",
                f"--log-error={self.dir}/error.log", "--innodb-buffer-pool-size=64M", "--skip-name-resolve",
                "--innodb-flush-log-at-trx-commit=2"] + self.extra,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(lambda: self.proc.poll() is not None or self.sql("SELECT 1", check=False) == [["1"]], 60,
                 interval=0.1, what="MariaDB to answer")
        if self.proc.poll() is not None:
            raise RuntimeError("mariadbd exited: " + open(os.path.join(self.dir, "error.log")).read()[-2000:])
        return self

    def sql(self, query, db=None, check=True, timeout=30):
        cmd = [find_program("mariadb"), "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-B", "-e", query]
        if db:
            cmd.append(db)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            if check:
                raise RuntimeError(f"SQL failed: {query}: {r.stderr.strip()}")
            return None
        return [line.split("\t") for line in r.stdout.splitlines()]


def rules_csv(vm_ip=VM_IP, provider_ip=PROVIDER_IP):
    """The sample Rules DB as tandemctl imports it: table -> CSV."""
    vm = f"sip:pbx@{vm_ip}:{SIP_PORT}"
    return {
        "customers": "name,time_zone,vm_sip,default_action,default_target\n"
                     f"Acme,Europe/Berlin,{vm},voicemail,\n",
        "numbers": "e164,customer\n" + "".join(f"{n},Acme\n" for n in (
            DID_VM, DID_REJECT, DID_FORWARD, DID_MENU, DID_RING)),
        "menus": "customer,name,prompt\nAcme,main,PROMPT\n",
        "rules": "number,priority,action,target,description\n"
                 f"{DID_REJECT},10,reject,603,closed for good\n"
                 f"{DID_FORWARD},10,forward,{MOBILE},to the mobile\n"
                 f"{DID_MENU},10,menu,MENU_ID,attendant\n"
                 f"{DID_RING},10,ring,\"sip:pbx@{vm_ip}:{SIP_PORT}/2,{MOBILE}/20\",vm then mobile\n",
        "providers": "name,sip_address,max_calls,enabled,preference\n"
                     f"carrier-a,sip:{provider_ip}:{CARRIER_A_PORT},0,1,0\n"
                     f"carrier-b,sip:{provider_ip}:{CARRIER_B_PORT},0,1,1\n",
        "rates": "provider,prefix,cost_per_min,billing_increment_s\n"
                 "carrier-a,49,0.010000,60\ncarrier-b,49,0.020000,1\n",
    }


def read_text(path):
    """A log's text; empty before the process wrote it."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def write_prompt(path, seconds=1):
    """A menu prompt as tandemctl takes it: 8 kHz mono 16-bit PCM (silence)."""
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 8000 * seconds)
    return path


def load_rules(db, workdir):
    """rules_csv() into the Rules DB of `db`, with tandemctl rules import."""
    csvs = rules_csv()
    prompt = write_prompt(os.path.abspath(os.path.join(workdir, "welcome.wav")))
    for table in ("customers", "numbers", "menus", "rules", "providers", "rates"):
        text = csvs[table].replace("PROMPT", prompt)
        if table == "rules":
            menu_id = db.sql("SELECT id FROM menus WHERE name='main'", db="tandem_rules")[0][0]
            text = text.replace("MENU_ID", menu_id)
        path = os.path.join(workdir, f"{table}.csv")
        with open(path, "w") as f:
            f.write(text)
        run([harness.TANDEMCTL, "rules", "import", "--db", f"unix:{db.socket}", "--db-user", "root", table, path])


class Sipp:
    """One sipp process in a namespace running a scenario of scenarios/."""

    def __init__(self, lab, ns, scenario, local_ip, local_port, remote=None, service=None, keys=None, media_port=None,
                 calls=1, transport="u1", timeout=60, extra=()):
        self.log_path = os.path.join(lab.workdir, f"sipp-{os.path.basename(scenario)}-{local_port}-{time.monotonic_ns()}.log")
        self.err_path = self.log_path.replace(".log", ".err")
        self.msg_path = self.log_path.replace(".log", ".msg")
        cmd = ["sipp", "-sf", os.path.join(SCENARIOS, scenario + ".xml"), "-i", local_ip, "-p", str(local_port),
               "-m", str(calls), "-t", transport, "-timeout", f"{timeout}s", "-timeout_error", "-nostdin",
               "-trace_logs", "-log_file", self.log_path, "-trace_err", "-error_file", self.err_path,
               "-trace_msg", "-message_file", self.msg_path, "-nd"]
        self.media_port = media_port or 20000 + (local_port % 1000) * 10
        cmd += ["-mi", local_ip, "-mp", str(self.media_port)]
        if service:
            cmd += ["-s", service]
        for k, v in (keys or {}).items():
            cmd += ["-key", k, str(v)]
        cmd += list(extra)
        if remote:
            cmd.append(remote)
        self.cmd = in_ns(ns, cmd)
        self.out = open(self.log_path.replace(".log", ".out"), "w")
        self.proc = spawn(self.cmd, stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          cwd=SCENARIOS)
        self.ns, self.port = ns, local_port

    def wait(self, timeout=90):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_process(self.proc, timeout=5)
        self.out.close()
        return self.proc.returncode

    def stop(self):
        if self.proc.poll() is None:
            stop_process(self.proc, timeout=5, sig=signal.SIGUSR1)
        self.out.close()
        return self.proc.returncode

    def text(self, which="log"):
        return read_text({"log": self.log_path, "err": self.err_path, "msg": self.msg_path,
                          "out": self.log_path.replace(".log", ".out")}[which])

    def describe(self):
        return (f"{' '.join(self.cmd)}\n--- errors:\n{self.text('err')[-3000:]}\n--- log:\n{self.text('log')[-2000:]}"
                f"\n--- messages:\n{self.text('msg')[-6000:]}")

    def log_values(self, tag):
        """The key=value pairs of the scenario's log lines starting with `tag`."""
        return [dict(re.findall(r"(\w+)=(\S+)", line)) for line in self.text("log").splitlines()
                if line.strip().startswith(tag) or f" {tag} " in line]

    def wait_bound(self, timeout=10):
        harness.wait_for(lambda: self.port in udp_or_tcp_ports(self.ns), timeout, interval=0.02,
                         what=f"sipp bound on {self.port}")


def udp_or_tcp_ports(ns):
    ports = set()
    for table in ("/proc/net/udp", "/proc/net/tcp"):
        out = run(in_ns(ns, ["cat", table])).stdout.splitlines()[1:]
        ports |= {int(line.split()[1].split(":")[1], 16) for line in out if line.strip()}
    return ports


class CallServer:
    """tandem-control in a namespace: its command line, log and operator socket."""

    def __init__(self, workdir, ns, sip_ip, dp_socket, db_flags, name="node1", node_id=1, args=(), dc="lab", dc_id=1):
        self.ns, self.name = ns, name
        self.socket = os.path.join(workdir, f"{name}-control.sock")
        self.log_path = os.path.join(workdir, f"{name}-control.log")
        self.cmd = [CONTROL, "--sip", f"{sip_ip}:{SIP_PORT}", "--dataplane-socket", dp_socket,
                    "--external-media", "public", "--internal-media", "private",
                    "--control-socket", self.socket, "--cdr-spool-dir", os.path.join(workdir, f"{name}-spool"),
                    "--rules-saved", os.path.join(workdir, f"{name}-rules.saved"),
                    "--cdr-max-delay", "50", "--rules-poll", "200", "--log-level", "debug",
                    "--dc", dc, "--node", name, "--cdr-dc-id", str(dc_id), "--cdr-node-id", str(node_id)]
        self.cmd += list(db_flags) + list(args)
        self.proc = None

    def start(self, extra=()):
        cmd = self.cmd + list(extra)
        before = self.text().count("ready;")  # one log across restarts
        log(f"starting: {' '.join(cmd)}")
        # A sanitized build: a bounded quarantine, so that memory figures stay meaningful.
        os.environ.setdefault("ASAN_OPTIONS", "quarantine_size_mb=16")
        with open(self.log_path, "a") as out:
            self.proc = spawn(in_ns(self.ns, cmd), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(lambda: self.proc.poll() is not None or self.text().count("ready;") > before, 40,
                 what=f"tandem-control {self.name} ready")
        if self.proc.poll() is not None:
            raise RuntimeError(f"tandem-control exited {self.proc.returncode}:\n{self.text()}")

    def stop(self, sig=signal.SIGTERM):
        """Stops tandem-control (SIGTERM: calls ended, CDRs spooled); raises
        when it did not exit cleanly or a sanitizer reported something."""
        rc = stop_process(self.proc, timeout=20, sig=sig)
        text = self.text()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if marker in text:
                raise AssertionError(f"tandem-control: {marker}\n{text[text.index(marker) - 200:][:6000]}")
        if rc != 0 and sig == signal.SIGTERM:
            raise AssertionError(f"tandem-control exited {rc}:\n{text[-3000:]}")
        return rc

    def text(self):
        return read_text(self.log_path)

    def request(self, cmd, **kw):
        """One request on the operator socket."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(self.socket)
        s.sendall((json.dumps(dict(cmd=cmd, **kw)) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        return json.loads(data)

    def stats(self):
        return self.request("stats")


class SbcProcess:
    """tandem-sbc in a namespace (None: this one): its log, its operator socket through tandemctl."""

    def __init__(self, workdir, ns, args):
        self.ns = ns
        self.socket = os.path.join(workdir, "sbc.sock")
        self.log_path = os.path.join(workdir, "sbc.log")
        self.cmd = [SBC, "--control-socket", self.socket, "--log-level", "debug",
                    "--rules-saved", os.path.join(workdir, "sbc-rules.saved"), *args]
        self.proc = None

    def start(self):
        before = self.text().count("ready;")  # one log across restarts
        cmd = in_ns(self.ns, self.cmd) if self.ns else self.cmd
        with open(self.log_path, "a") as out:
            self.proc = spawn(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(lambda: self.proc.poll() is not None or self.text().count("ready;") > before, 20,
                 what="tandem-sbc ready")
        if self.proc.poll() is not None:
            raise RuntimeError(f"tandem-sbc exited {self.proc.returncode}:\n{self.text()}")
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc:
            stop_process(self.proc, timeout=10, sig=sig)
            self.proc = None

    def text(self):
        return read_text(self.log_path)

    def ctl(self, *args):
        r = run([harness.TANDEMCTL, "--sbc-socket", self.socket, "--control-socket", self.socket, "--json",
                 *[str(a) for a in args]])
        return json.loads(r.stdout)

    def servers(self):
        return {s["name"]: s for s in self.ctl("servers")}

    def counters(self):
        return self.ctl("stats")["counters"]


class Lab:
    """Everything of the module docstring, started; stop() (or the cleanup at
    exit) takes it all down."""

    def __init__(self, control_args=(), dataplane_args=("--idle-timeout", "30")):
        self.workdir = temp_dir("tandem-sip-")
        self.topo = harness.Topology().build()
        self.dp = harness.relay_dataplane(self.topo, args=list(dataplane_args), workdir=self.workdir)
        self.db = MariaDb().start()
        self.db_flags = ["--rules-db", f"unix:{self.db.socket}", "--rules-db-user", "root",
                         "--cdr-db", f"unix:{self.db.socket}", "--cdr-db-user", "root"]
        self.ctl("db", "init", *self.db_flags, timeout=60)
        self.load_rules()
        self.server = CallServer(self.workdir, self.topo.relay, NODE_IP, self.dp.socket, self.db_flags,
                                 args=control_args)
        self.control_socket = self.server.socket
        self.start_control()

    # -- tools

    def ctl(self, *args, timeout=30, check=True):
        return run([harness.TANDEMCTL] + [str(a) for a in args], timeout=timeout, check=check)

    def load_rules(self):
        load_rules(self.db, self.workdir)

    @property
    def control(self):
        return self.server.proc

    def start_control(self, extra=()):
        self.server.start(extra)

    def stop_control(self):
        return self.server.stop()

    def control_text(self):
        return self.server.text()

    def request(self, cmd, **kw):
        return self.server.request(cmd, **kw)

    def stats(self):
        return self.server.stats()

    def wait_idle(self, timeout=20):
        """No call left on the server, its CDRs in the DB, no dataplane session."""
        wait_for(lambda: self.stats()["active_calls"] == 0, timeout, interval=0.1, what="no active call")
        wait_for(lambda: self.request("cdr-stats")["queue_depth"] == 0 and
                 self.request("cdr-stats")["written"] >= self.request("cdr-stats")["spooled"], timeout,
                 interval=0.1, what="CDRs written")
        wait_for(lambda: not self.dp.sessions(), timeout, interval=0.1, what="no dataplane session")

    def cdrs(self, where="1=1"):
        cols = ["id", "call_id", "direction", "caller", "called", "customer", "target", "provider", "cost",
                "disposition", "sip_code", "hangup_side", "hangup_reason", "billable_s", "duration_ms",
                "answer_time", "a_packets", "b_packets", "a_lost", "b_lost"]
        rows = self.db.sql(f"SELECT {','.join(cols)} FROM cdr WHERE {where} ORDER BY id", db="tandem_cdr")
        return [dict(zip(cols, r)) for r in rows]

    # -- sipp

    def provider_call(self, scenario, called, keys=None, port=SIP_PORT, **kw):
        """sipp on the provider's host calling the node."""
        return Sipp(self, self.topo.caller, scenario, PROVIDER_IP, port, remote=f"{NODE_IP}:{SIP_PORT}",
                    service=called, keys=keys, **kw)

    def vm(self, scenario, keys=None, port=SIP_PORT, **kw):
        """sipp as the customer's VM, waiting for calls."""
        s = Sipp(self, self.topo.callee, scenario, VM_IP, port, keys=keys, **kw)
        s.wait_bound()
        return s

    def vm_call(self, scenario, dialled, keys=None, port=5070, **kw):
        """sipp on the VM placing an outbound call through the node."""
        return Sipp(self, self.topo.callee, scenario, VM_IP, port, remote=f"{NODE_IP}:{SIP_PORT}",
                    service=dialled, keys=keys, **kw)

    def carrier(self, scenario, port, keys=None, **kw):
        """sipp as a carrier's gateway on the provider host, waiting for calls."""
        s = Sipp(self, self.topo.caller, scenario, PROVIDER_IP, port, keys=keys, **kw)
        s.wait_bound()
        return s


class CallTest(unittest.TestCase):
    """What every call test checks on its module's Lab (`CallTest.lab`, set by
    the module's setUpModule): sipp's exit code, the counters and the CDR rows
    new since setUp; the lab idle again after each test."""

    lab = None
    idle_timeout = 20   # s for the calls, CDRs and sessions to be gone after a test
    cdr_timeout = 20    # s for a call's CDR to reach the DB

    def setUp(self):
        self.before = {r["id"] for r in self.lab.cdrs()}
        self.counters = self.lab.stats()["counters"]

    def tearDown(self):
        self.lab.wait_idle(timeout=self.idle_timeout)

    def counted(self, name):
        return self.lab.stats()["counters"][name] - self.counters[name]

    def new_cdrs(self, count):
        wait_for(lambda: len([r for r in self.lab.cdrs() if r["id"] not in self.before]) >= count, self.cdr_timeout,
                 interval=0.1, what=f"{count} CDR(s)")
        return [r for r in self.lab.cdrs() if r["id"] not in self.before]

    def new_cdr(self):
        rows = self.new_cdrs(1)
        self.assertEqual(len(rows), 1, rows)
        return rows[0]

    def check_sipp(self, *peers, timeout=90):
        for p in peers:
            rc = p.wait(timeout=timeout)
            self.assertEqual(rc, 0, f"sipp failed:\n{p.describe()}\n--- control:\n{self.lab.control_text()[-4000:]}")


def main():
    require_environment()
    harness.run_tests()
