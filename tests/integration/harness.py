"""Shared harness of the dataplane integration tests: the namespace topology of
DESIGN.md ("Test topology on one machine"), the dataplane process, tandemctl,
RTP peers and traffic helpers, and cleanup that runs whatever happens.

Topology (every name carries a random suffix, so runs never collide):

  caller ns  vc<sfx> 198.18.1.2/24 --veth-- va<sfx>  relay-dp ns  vb<sfx> --veth-- ve<sfx> 198.18.2.2/24  callee ns
                                             (no IP; the dataplane binds
                                              both with net_af_packet)
  relay ns   tp0<sfx> 198.18.1.1/24, tp1<sfx> 198.18.2.1/24: the dataplane's
             exception taps, moved here once it is ready.

A test program calls harness.main(), which exits 77 (skipped, for meson)
when the machine cannot run it, and otherwise runs its unittest cases.
"""

import atexit
import json
import os
import re
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import dpctl

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP_EXIT = 77

CALLER_IP = "198.18.1.2"
CALLER_ALT_IP = "198.18.1.3"   # a second address on the caller's veth: the "third party"
CALLEE_IP = "198.18.2.2"
RELAY_A_IP = "198.18.1.1"      # port 0, role public
RELAY_B_IP = "198.18.2.1"      # port 1, role private


def binary(env_name, relative):
    """A built program: from the environment (meson passes them), else from
    the build tree next to this source tree."""
    path = os.environ.get(env_name)
    if path:
        return path
    return os.path.join(HERE, "..", "..", "build", relative)


DATAPLANE = binary("TANDEM_DATAPLANE", "dataplane/tandem-dataplane")
TANDEMCTL = binary("TANDEMCTL", "tools/tandemctl/tandemctl")
RTP_PEER = binary("TANDEM_RTP_PEER", "tools/rtp_peer/tandem-rtp-peer")
RTP_PCAP = binary("TANDEM_RTP_PCAP", "tools/rtp_pcap/tandem-rtp-pcap")
SOURCE_ROOT = os.environ.get("TANDEM_SOURCE_ROOT", os.path.join(HERE, "..", ".."))


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def skip(reason):
    print(f"SKIP: {reason}", flush=True)
    sys.exit(SKIP_EXIT)


def require_environment(programs=(DATAPLANE, TANDEMCTL, RTP_PEER)):
    """Exits 77 with the reason when this machine cannot run the tests."""
    if os.geteuid() != 0:
        skip("needs root (network namespaces, veth, net_af_packet)")
    if not os.path.exists("/dev/net/tun"):
        skip("needs /dev/net/tun (the dataplane's exception path is a tap)")
    for tool in ("ip", "ethtool"):
        if shutil.which(tool) is None:
            skip(f"needs the '{tool}' command")
    for p in programs:
        if not os.access(p, os.X_OK):
            skip(f"{p} is not built")
    probe = f"tandem-probe-{secrets.token_hex(3)}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode != 0:
        skip("cannot create network namespaces here")
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)


# -- cleanup ------------------------------------------------------------------


class Cleanup:
    """Undo actions, run last-in first-out exactly once: at exit, on SIGTERM/
    SIGINT/SIGHUP (meson's timeout sends SIGTERM), or when a test asks."""

    def __init__(self):
        self.actions = []
        self.installed = False

    def install(self):
        if self.installed:
            return
        self.installed = True
        atexit.register(self.run)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, _frame):
        log(f"signal {signum}: cleaning up")
        self.run()
        os._exit(128 + signum)

    def add(self, description, fn):
        """Registers an undo action; returns a token for run_one()."""
        entry = [description, fn]
        self.actions.append(entry)
        return entry

    def run_one(self, entry):
        if entry in self.actions:
            self.actions.remove(entry)
            self._do(entry)

    def _do(self, entry):
        description, fn = entry
        try:
            fn()
        except Exception as e:  # keep going: everything else must still be undone
            log(f"cleanup '{description}' failed: {e}")

    def run(self):
        while self.actions:
            self._do(self.actions.pop())


CLEANUP = Cleanup()


def unique_suffix():
    return secrets.token_hex(3)


def temp_dir(prefix="tandem-it-"):
    d = tempfile.mkdtemp(prefix=prefix)
    if os.environ.get("TANDEM_KEEP_TEST_DIRS"):  # for a post-mortem: logs, spools, captures
        log(f"keeping {d}")
    else:
        CLEANUP.add(f"remove {d}", lambda: shutil.rmtree(d, ignore_errors=True))
    return d


# -- processes ------------------------------------------------------------------


def run(cmd, timeout=30, check=True, input=None):
    """Runs a command to completion (bounded); raises with its output on failure."""
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip() or r.stdout.strip()}")
    return r


def in_ns(ns, cmd):
    return ["ip", "netns", "exec", ns] + list(cmd)


def stop_process(proc, timeout=10, sig=signal.SIGTERM):
    """Signals a process, waits, then kills it; returns its exit code."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log(f"pid {proc.pid} ignored signal {sig}: killing it")
            proc.kill()
            proc.wait(timeout=5)
    return proc.returncode


def spawn(cmd, **kw):
    """Popen whose process is stopped at cleanup if still running."""
    proc = subprocess.Popen(cmd, **kw)
    CLEANUP.add(f"stop pid {proc.pid}", lambda: stop_process(proc, timeout=5))
    return proc


def wait_for(predicate, timeout, interval=0.05, what="condition"):
    """Polls predicate() until it returns something true; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# -- namespaces and links -------------------------------------------------------


def add_netns(name):
    run(["ip", "netns", "add", name])
    # No DNS in a lab: `ip netns exec` mounts /etc/netns/NAME/resolv.conf over the host's, and a
    # name server on the namespace's own loopback refuses at once. Without it a name (a Via's host
    # that an answer must go to) waits for the host's name server through a route that leads
    # nowhere: sofia-sip resolves such names synchronously, and its thread stood still for 40 s.
    etc = os.path.join("/etc/netns", name)
    os.makedirs(etc, exist_ok=True)
    with open(os.path.join(etc, "resolv.conf"), "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    CLEANUP.add(f"remove {etc}", lambda: shutil.rmtree(etc, ignore_errors=True))

    def remove():
        # Whatever still runs in it (a peer a test lost track of) goes first.
        pids = run(["ip", "netns", "pids", name], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        run(["ip", "netns", "del", name], check=False)

    CLEANUP.add(f"delete netns {name}", remove)
    run(in_ns(name, ["ip", "link", "set", "lo", "up"]))
    # No IPv6 chatter (router and neighbour solicitations) through the relay.
    run(in_ns(name, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                     "net.ipv6.conf.default.disable_ipv6=1"]), check=False)
    return name


def link_mac(ns, iface):
    out = run(in_ns(ns, ["ip", "-j", "link", "show", iface])).stdout
    return json.loads(out)[0]["address"]


class Topology:
    """The caller, callee, relay-dp and relay namespaces and their veths."""

    def __init__(self, suffix=None):
        self.suffix = suffix or unique_suffix()
        s = self.suffix
        self.caller = f"tandem-{s}-caller"
        self.callee = f"tandem-{s}-callee"
        self.relay_dp = f"tandem-{s}-relaydp"
        self.relay = f"tandem-{s}-relay"
        self.caller_if = f"vc{s}"     # in caller
        self.relay_a_if = f"va{s}"    # in relay_dp, DPDK port 0
        self.callee_if = f"ve{s}"     # in callee
        self.relay_b_if = f"vb{s}"    # in relay_dp, DPDK port 1
        self.taps = [f"tp0{s}", f"tp1{s}"]
        self.caller_mac = None
        self.callee_mac = None

    def build(self):
        for ns in (self.caller, self.callee, self.relay_dp, self.relay):
            add_netns(ns)
        for host_ns, host_if, relay_if, ip, gw in (
                (self.caller, self.caller_if, self.relay_a_if, CALLER_IP, RELAY_A_IP),
                (self.callee, self.callee_if, self.relay_b_if, CALLEE_IP, RELAY_B_IP)):
            run(["ip", "link", "add", host_if, "netns", host_ns, "type", "veth", "peer", "name", relay_if,
                 "netns", self.relay_dp])
            # veths leave UDP checksums to an offload that net_af_packet never does.
            run(in_ns(host_ns, ["ethtool", "-K", host_if, "tx", "off"]))
            run(in_ns(self.relay_dp, ["ethtool", "-K", relay_if, "tx", "off"]))
            run(in_ns(host_ns, ["ip", "addr", "add", f"{ip}/24", "dev", host_if]))
            run(in_ns(host_ns, ["ip", "link", "set", host_if, "up"]))
            run(in_ns(self.relay_dp, ["ip", "link", "set", relay_if, "up"]))
            run(in_ns(host_ns, ["ip", "route", "add", "default", "via", gw]))
        self.caller_mac = link_mac(self.caller, self.caller_if)
        self.callee_mac = link_mac(self.callee, self.callee_if)
        return self

    def attach_taps(self, more_ips=((), ())):
        """Moves the dataplane's exception taps into the relay namespace and
        gives them the node's addresses (and each port's further ones)."""
        for tap, ip, more in zip(self.taps, (RELAY_A_IP, RELAY_B_IP), more_ips):
            run(in_ns(self.relay_dp, ["ip", "link", "set", tap, "netns", self.relay]))
            batch = "".join(f"addr add {a}/24 dev {tap}\n" for a in (ip, *more))
            run(in_ns(self.relay, ["ip", "-batch", "-"]), input=batch)
            run(in_ns(self.relay, ["ip", "link", "set", tap, "up"]))

    def add_caller_address(self, ip):
        run(in_ns(self.caller, ["ip", "addr", "add", f"{ip}/24", "dev", self.caller_if]))


# -- the dataplane --------------------------------------------------------------


def remove_dpdk_runtime(prefix):
    """EAL's run-time directory and any hugepage files of this file prefix."""
    for base in ("/var/run/dpdk", "/run/dpdk"):
        shutil.rmtree(os.path.join(base, prefix), ignore_errors=True)
    for mount in ("/dev/hugepages", "/mnt/huge"):
        if os.path.isdir(mount):
            for name in os.listdir(mount):
                if name.startswith(prefix + "map_"):
                    try:
                        os.unlink(os.path.join(mount, name))
                    except OSError:
                        pass


class Dataplane:
    """A tandem-dataplane process in a namespace, its log and control socket.

    vdevs: the EAL --vdev arguments; ports: our --port specs; args: more of
    our flags; eal: more EAL flags; lcores: EAL's --lcores map (default:
    lcores 0 and 1, one worker). The log goes to a file (printed on failure)."""

    def __init__(self, ns, vdevs, ports, args=(), workdir=None, name="dataplane", lcores=None, memory_mb=512,
                 eal=()):
        self.ns = ns
        self.workdir = workdir or temp_dir()
        self.prefix = f"tandem-it-{unique_suffix()}"
        self.socket = os.path.join(self.workdir, f"{name}.sock")
        self.log_path = os.path.join(self.workdir, f"{name}.log")
        cores = ["--lcores", lcores] if lcores else ["-l", "0-1"]
        self.cmd = [DATAPLANE, "--no-huge", "-m", str(memory_mb), *cores, "--file-prefix", self.prefix, "--no-pci",
                    *eal]
        for v in vdevs:
            self.cmd += ["--vdev", v]
        self.cmd += ["--"]
        for p in ports:
            self.cmd += ["--port", p]
        self.cmd += ["--poll-mode", "adaptive", "--control-socket", self.socket] + list(args)
        self.proc = None
        self.port_macs = {}
        self.exit_code = None

    def start(self, ready_timeout=30):
        """Starts it and waits for its "ready:" line."""
        CLEANUP.add(f"remove EAL files of {self.prefix}", lambda: remove_dpdk_runtime(self.prefix))
        self.log_file = open(self.log_path, "w")
        log(f"starting: ip netns exec {self.ns} {' '.join(self.cmd)}")
        self.proc = spawn(in_ns(self.ns, self.cmd), stdout=self.log_file, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + ready_timeout
        while "ready:" not in self.log_text():
            if self.proc.poll() is not None:
                raise RuntimeError(f"dataplane exited {self.proc.returncode} before ready:\n{self.log_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"dataplane not ready after {ready_timeout} s:\n{self.log_text()}")
            time.sleep(0.05)
        for port, mac in re.findall(r"port (\d+): \S+ mac ([0-9A-Fa-f:]{17})", self.log_text()):
            self.port_macs[int(port)] = mac.lower()
        return self

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15):
        """SIGTERM, as an operator would; returns the exit code."""
        if self.proc is None:
            return None
        self.exit_code = stop_process(self.proc, timeout=timeout)
        self.log_file.close()
        return self.exit_code

    # -- control ------------------------------------------------------------

    def client(self, timeout=5.0):
        return dpctl.Client(self.socket, timeout=timeout)

    def health(self):
        with self.client() as c:
            return c.health()

    def ctl(self, *args, timeout=20, check=True):
        """tandemctl --json dataplane ARGS; returns the parsed JSON (or the
        completed process when check is False)."""
        r = run([TANDEMCTL, "--socket", self.socket, "--json", "dataplane"] + [str(a) for a in args],
                timeout=timeout, check=check)
        if not check:
            return r
        return json.loads(r.stdout)

    def status(self):
        return self.ctl("status")

    def sessions(self):
        return self.ctl("sessions")

    def show(self, session_id):
        return self.ctl("show", session_id)

    def create(self, a_port=0, b_port=1, a_remote=None, b_remote=None, a_local=None, b_local=None, extra=()):
        args = ["create", "--a-port", a_port, "--b-port", b_port]
        for flag, value in (("--a-remote", a_remote), ("--b-remote", b_remote), ("--a-local", a_local),
                            ("--b-local", b_local)):
            if value is not None:
                args += [flag, value]
        return self.ctl(*args, *extra)

    def delete(self, session_id):
        return self.ctl("delete", session_id)

    def delete_all(self):
        with self.client() as c:
            ids = [s["id"] for s in c.list_all()]
            for reply in c.pipeline([(dpctl.DELETE_SESSION, dpctl.SESSION_REQUEST.pack(i)) for i in ids]):
                if reply.is_error:
                    raise AssertionError(f"delete failed: {reply.error()}")
        return len(ids)

    def wait_mbufs(self, baseline, timeout=5.0):
        """Waits for mbufs_in_use to come back to the baseline (packets may
        still be in flight); returns the last value seen."""
        last = [None]

        def back():
            last[0] = self.health()["mbufs_in_use"]
            return last[0] <= baseline

        try:
            wait_for(back, timeout, interval=0.1, what="mbufs_in_use back to baseline")
        except AssertionError:
            pass
        return last[0]


def relay_dataplane(topo, args=(), workdir=None, lcores=None, qpairs=1, more_ips=((), ()), memory_mb=512):
    """The af_packet dataplane of the standard topology, started and with its
    taps in the relay namespace. qpairs: queues per port, which the kernel
    fills by flow hash (PACKET_FANOUT), as RSS would; more_ips: each port's
    further relay addresses (the taps get them too, for ARP)."""
    addresses = [",".join([ip, *more]) for ip, more in zip((RELAY_A_IP, RELAY_B_IP), more_ips)]
    dp = Dataplane(topo.relay_dp,
                   vdevs=[f"net_af_packet{i},iface={iface},qpairs={qpairs}"
                          for i, iface in enumerate((topo.relay_a_if, topo.relay_b_if))],
                   ports=[f"0:{addresses[0]}/24,role=public,tap={topo.taps[0]}",
                          f"1:{addresses[1]}/24,role=private,tap={topo.taps[1]}"],
                   args=args, workdir=workdir, lcores=lcores, memory_mb=memory_mb)
    dp.start()
    topo.attach_taps(more_ips)
    return dp


# -- traffic --------------------------------------------------------------------


def udp_ports_bound(ns):
    """The local UDP ports with a socket in a namespace (from /proc/net/udp)."""
    out = run(in_ns(ns, ["cat", "/proc/net/udp"])).stdout.splitlines()[1:]
    return {int(line.split()[1].split(":")[1], 16) for line in out if line.strip()}


def wait_udp_bound(ns, port, timeout=10):
    wait_for(lambda: port in udp_ports_bound(ns), timeout, interval=0.02, what=f"UDP port {port} bound in {ns}")


class RtpPeer:
    """tandem-rtp-peer in a namespace; result() waits and parses its report.
    The constructor returns once the peer's RTP socket is bound (the machine
    may be loaded: a fixed delay would not do), so a peer started next can
    send to it at once."""

    def __init__(self, ns, local, remote, *args):
        self.cmd = in_ns(ns, [RTP_PEER, "--local", local, "--remote", remote, "--json"] + [str(a) for a in args])
        self.started = time.monotonic()
        self.proc = spawn(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          stdin=subprocess.DEVNULL)
        wait_udp_bound(ns, int(local.rsplit(":", 1)[1]))

    def elapsed_ms(self):
        return (time.monotonic() - self.started) * 1000

    def stop(self):
        """Ends an --echo peer early (SIGTERM: it still reports)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def result(self, timeout=30):
        if getattr(self, "report", None) is not None:
            return self.report
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_process(self.proc)
            raise AssertionError(f"rtp peer did not finish in {timeout} s: {' '.join(self.cmd)}")
        if self.proc.returncode != 0:
            raise AssertionError(f"rtp peer exited {self.proc.returncode}: {err.strip()}")
        self.report = json.loads(out.strip().splitlines()[-1])
        return self.report


class UdpTool:
    """nstool.py udp in a namespace (see its docstring for the spec)."""

    def __init__(self, ns, spec):
        self.proc = spawn(in_ns(ns, [sys.executable, os.path.join(HERE, "nstool.py"), "udp"]),
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.proc.stdin.write(json.dumps(spec))
        self.proc.stdin.close()
        line = self.proc.stdout.readline()
        if line.strip() != "READY":
            raise AssertionError(f"nstool udp did not start: {line!r} {self.proc.stderr.read()}")

    def result(self, timeout=60):
        try:
            out = self.proc.stdout.read()
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_process(self.proc)
            raise AssertionError("nstool udp did not finish")
        if self.proc.returncode != 0:
            raise AssertionError(f"nstool udp exited {self.proc.returncode}: {self.proc.stderr.read()}")
        return json.loads(out.strip().splitlines()[-1])


class CpuContention:
    """Busy-looping processes (bounded by `seconds`) that compete with the
    dataplane's threads for the machine's cores, as a loaded node would:
    races that need a thread to be preempted at the wrong time show up."""

    def __init__(self, processes=2, seconds=15):
        code = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass\n"
        self.procs = [spawn([sys.executable, "-c", code]) for _ in range(processes)]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            stop_process(p, timeout=2, sig=signal.SIGKILL)


def udp_run(ns, spec, timeout=60):
    return UdpTool(ns, spec).result(timeout)


def raw_send(ns, iface, frames, batch=64, pause_us=2000, timeout=120):
    """Sends Ethernet frames as they are from an interface in a namespace."""
    data = b"".join(struct.pack("<I", len(f)) + f for f in frames)
    r = subprocess.run(in_ns(ns, [sys.executable, os.path.join(HERE, "nstool.py"), "raw-send", iface, str(batch),
                                  str(pause_us)]), input=data, capture_output=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f"raw-send failed: {r.stderr.decode(errors='replace')}")
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


# -- test cases -------------------------------------------------------------------


class DataplaneTest(unittest.TestCase):
    """A test class sharing one topology and one dataplane. After every test:
    leftover sessions are deleted, mbufs_in_use must come back to the
    baseline taken after start (no leaked mbufs), and the process must be
    alive. At the end the dataplane must stop cleanly on SIGTERM."""

    dataplane_args = ()
    dataplane_lcores = None
    dataplane_qpairs = 1
    topo = None
    dp = None
    baseline_mbufs = None

    @classmethod
    def setUpClass(cls):
        CLEANUP.install()
        cls.topo = Topology().build()
        cls.dp = relay_dataplane(cls.topo, args=cls.dataplane_args, lcores=cls.dataplane_lcores,
                                 qpairs=cls.dataplane_qpairs)
        # Let the taps' own start-up traffic settle before the baseline.
        time.sleep(0.3)
        cls.baseline_mbufs = cls.dp.health()["mbufs_in_use"]
        log(f"dataplane ready, mbufs_in_use baseline {cls.baseline_mbufs}")

    @classmethod
    def tearDownClass(cls):
        if cls.dp is not None:
            alive = cls.dp.alive()
            code = cls.dp.stop()
            log(f"dataplane stopped with exit code {code}")
            if alive and code != 0:
                raise AssertionError(f"dataplane exited {code} on SIGTERM:\n{cls.dp.log_text()[-4000:]}")
        CLEANUP.run()

    def tearDown(self):
        if not self.dp.alive():
            self.fail(f"dataplane died:\n{self.dp.log_text()[-4000:]}")
        self.dp.delete_all()
        last = self.dp.wait_mbufs(self.baseline_mbufs)
        self.assertLessEqual(last, self.baseline_mbufs,
                             f"mbufs_in_use {last} did not come back to its baseline {self.baseline_mbufs}: leak")

    # helpers shared by the tests

    def health(self):
        return self.dp.health()

    def drops_delta(self, before, after):
        return {k: after["drops"][k] - before["drops"][k] for k in after["drops"]
                if after["drops"][k] != before["drops"][k]}

    def wait_session(self, session_id, predicate, timeout=5.0, what="session counters"):
        """Polls a session until predicate(session) holds; returns it."""
        last = [None]

        def check():
            r = self.dp.ctl("show", session_id, check=False)
            if r.returncode != 0:
                removed = [line for line in self.dp.log_text().splitlines() if f"session {session_id} " in line]
                raise AssertionError(f"session {session_id} is gone ({r.stderr.strip()}); dataplane log: {removed}")
            last[0] = json.loads(r.stdout)
            return predicate(last[0])

        try:
            wait_for(check, timeout, interval=0.1, what=what)
        except AssertionError as e:
            raise AssertionError(f"{e}; last: {json.dumps(last[0])}")
        return last[0]


def main(programs=(DATAPLANE, TANDEMCTL, RTP_PEER)):
    """Entry point of a test program: skip (77) or run the unittest cases."""
    require_environment(programs)
    problems = dpctl.check_header(SOURCE_ROOT)
    if problems:
        print("dpctl.py is out of step with the protocol headers:\n  " + "\n  ".join(problems), file=sys.stderr)
        sys.exit(1)
    run_tests()


def run_tests():
    """The module's unittest cases, whatever they leave cleaned up after; exits 0 or 1."""
    CLEANUP.install()
    try:
        result = unittest.main(exit=False, verbosity=2).result
    finally:
        CLEANUP.run()
    sys.exit(0 if result.wasSuccessful() else 1)
