"""One data center's database: an active/passive MariaDB pair behind a virtual
IP, with MariaDB's own GTID semi-synchronous replication and keepalived (VRRP);
the roles are tools/dbpair/db_role.py's (docs/DB_FAILOVER.md).

  dc ns    bridge br0: NET.2 the client (tests reach the VIP from here)
  db1 ns   NET.11 mariadbd :3306, keepalived  \\  VRRP (unicast), virtual IP NET.10
  db2 ns   NET.12 mariadbd :3306, keepalived  /  on the holder's interface

DbPair(dc=1) is the first DC's pair: gtid_domain_id 1, auto_increment_offset 1
(rules/store.h), server ids 11 and 12. The dc namespace is also the DC's router
(the DB hosts' default route): link_dcs() joins two pairs' routers by a veth, the
link between the DCs, over which each writer replicates the other DC's VIP
(DbPair(remote_vip=...), docs/DB_FAILOVER.md).
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "sip"))

import harness  # noqa: E402
from harness import CLEANUP, add_netns, in_ns, log, run, spawn, stop_process, temp_dir, wait_for  # noqa: E402
from lab import find_program  # noqa: E402

ROLE_SCRIPT = os.path.abspath(os.path.join(HERE, "..", "..", "..", "tools", "dbpair", "db_role.py"))
APP_USER, APP_PASSWORD = "app", "app-secret"
REPL_USER, REPL_PASSWORD = "repl", "repl-secret"
MONITOR_USER, MONITOR_PASSWORD = "monitor", "monitor-secret"   # tandemctl db status, dc status
SEMISYNC_TIMEOUT_MS = 1000   # a passive that does not acknowledge within this holds writes no longer
PROGRAMS = ("mariadbd", "mariadb-install-db", "mariadb", "keepalived")


def require_environment():
    harness.require_environment(programs=())
    for prog in PROGRAMS:
        if not find_program(prog):
            harness.skip(f"needs {prog} (apt-get install mariadb-server keepalived)")


class DbNode:
    """A host of the pair: its namespace, mariadbd and keepalived."""

    def __init__(self, pair, i):
        self.pair = pair
        self.name = f"db{i + 1}"
        self.ip = f"{pair.net}.{11 + i}"
        self.server_id = pair.dc * 10 + i + 1
        self.ns = add_netns(f"tandem-{pair.suffix}-{self.name}")
        self.iface = f"e{pair.suffix}{i}"
        self.dir = os.path.join(pair.workdir, self.name)
        os.makedirs(self.dir)
        self.socket = os.path.join(self.dir, "sock")
        self.pid_file = os.path.join(self.dir, "mariadbd.pid")
        self.role_log = os.path.join(self.dir, "role.log")
        self.mariadbd = None
        self.keepalived = None
        bridge_if = f"b{pair.suffix}{i}"
        run(["ip", "link", "add", self.iface, "netns", self.ns, "type", "veth", "peer", "name", bridge_if,
             "netns", pair.dc_ns])
        run(in_ns(pair.dc_ns, ["ip", "link", "set", bridge_if, "master", "br0", "up"]))
        run(in_ns(self.ns, ["ip", "addr", "add", f"{self.ip}/24", "dev", self.iface]))
        run(in_ns(self.ns, ["ip", "link", "set", self.iface, "up"]))
        run(in_ns(self.ns, ["ip", "route", "add", "default", "via", pair.client_ip]))

    @property
    def peer(self):
        return next(n for n in self.pair.nodes if n is not self)

    # -- mariadbd ---------------------------------------------------------------

    def install(self):
        run([find_program("mariadb-install-db"), "--no-defaults", f"--datadir={self.dir}/data", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"], timeout=120)

    def start_mariadbd(self):
        p = self.pair
        args = [
            find_program("mariadbd"), "--no-defaults", "--user=root", f"--datadir={self.dir}/data",
            f"--socket={self.socket}", f"--pid-file={self.pid_file}", f"--log-error={self.dir}/error.log",
            "--port=3306", "--bind-address=0.0.0.0", "--skip-name-resolve",
            "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=48M", "--max-connections=100",
            f"--server-id={self.server_id}", f"--gtid-domain-id={p.dc}", "--gtid-strict-mode=ON",
            f"--log-bin={self.dir}/data/binlog", f"--relay-log={self.dir}/data/relay", "--log-slave-updates",
            "--binlog-format=ROW", "--sync-binlog=1", "--innodb-flush-log-at-trx-commit=1",
            f"--auto-increment-increment={p.increment}", f"--auto-increment-offset={p.offset}",
            # Every start is a passive's: read-only, no replication until the role script says from
            # whom, and semi-sync crash recovery: a transaction the passive never acknowledged is
            # rolled back and cut from the binlog (needs both options on 10.11; checked).
            "--read-only=ON", "--skip-slave-start", "--init-rpl-role=SLAVE",
            "--rpl-semi-sync-slave-enabled=ON", "--rpl-semi-sync-master-enabled=OFF",
            "--rpl-semi-sync-master-wait-point=AFTER_SYNC", f"--rpl-semi-sync-master-timeout={SEMISYNC_TIMEOUT_MS}",
            # STOP SLAVE on the new active tries to reach the dead master for this long (5 s by default).
            "--rpl-semi-sync-slave-kill-conn-timeout=1",
            # Between the DCs (a ring of two writers): a transaction may reach a server on two
            # paths (its own binlog via the other DC, or the peer's and the other DC's after a
            # failover): apply it once. Its own transactions coming back are dropped by server id.
            "--gtid-ignore-duplicates=ON", "--replicate-same-server-id=OFF",
            # A writer that died without a word (or a VIP that moved) leaves the other DC's connection
            # waiting on a dead TCP stream: heartbeats every 2 s, reconnect after 5 s without (not 60).
            "--slave-net-timeout=5",
            # The Rules DB's triggers are created by tandemctl's account, which has no SUPER; with
            # row-based binlogs their bodies are never replayed elsewhere.
            "--log-bin-trust-function-creators=ON",
        ]
        with open(os.path.join(self.dir, "mariadbd.out"), "a") as out:
            self.mariadbd = spawn(in_ns(self.ns, args), stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        wait_for(lambda: self.mariadbd.poll() is not None or self.sql("SELECT 1", check=False) == [["1"]], 60,
                 interval=0.1, what=f"{self.name}'s mariadbd to answer")
        if self.mariadbd.poll() is not None:
            raise RuntimeError(f"{self.name}'s mariadbd exited: {self.error_log()[-2000:]}")

    def error_log(self):
        with open(os.path.join(self.dir, "error.log"), errors="replace") as f:
            return f.read()

    def sql(self, query, check=True, timeout=10, header=False):
        """Rows of a query as root on the node's socket (None on failure unless check)."""
        r = subprocess.run([find_program("mariadb"), "--no-defaults", f"--socket={self.socket}", "-uroot",
                            *([] if header else ["-N"]), "-B", "-e", query], capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            if check:
                raise RuntimeError(f"{self.name}: SQL failed: {query}: {r.stderr.strip()}")
            return None
        return [line.split("\t") for line in r.stdout.splitlines()]

    def replication(self, connection=""):
        """A replication connection's status as a dict ({} if there is none)."""
        rows = self.sql("SHOW ALL SLAVES STATUS", header=True)
        return next((s for s in (dict(zip(rows[0], r)) for r in rows[1:]) if s["Connection_name"] == connection), {})

    # -- keepalived ---------------------------------------------------------------

    def write_configs(self):
        pw_file = os.path.join(self.dir, "repl.password")
        with open(pw_file, "w") as f:
            f.write(REPL_PASSWORD)
        self.role_conf = os.path.join(self.dir, "role.json")
        with open(self.role_conf, "w") as f:
            json.dump({"socket": self.socket, "pid_file": self.pid_file, "iface": self.iface, "vip": self.pair.vip,
                       "peer": self.peer.ip, "repl_user": REPL_USER, "repl_password_file": pw_file,
                       "dir": self.dir, "log": self.role_log,
                       **({"remote": self.pair.remote_vip} if self.pair.remote_vip else {})}, f, indent=1)
        role = f"{sys.executable} {ROLE_SCRIPT}"
        # nopreempt: the holder keeps the address. Priorities still differ so that two nodes waiting
        # for a master at once (both were down) do not both time out and take it in the same instant.
        self.keepalived_conf = os.path.join(self.dir, "keepalived.conf")
        with open(self.keepalived_conf, "w") as f:
            f.write(f"""global_defs {{
    router_id tandem_{self.name}
    script_user root
}}
vrrp_script db_ok {{
    script "{role} check {self.role_conf}"
    interval 1
    timeout 4
    fall 2
    rise 1
    init_fail
}}
vrrp_instance db {{
    state BACKUP
    nopreempt
    interface {self.iface}
    virtual_router_id {self.pair.vrid}
    priority {100 - 10 * self.pair.nodes.index(self)}
    version 3
    advert_int 0.5
    unicast_src_ip {self.ip}
    unicast_peer {{
        {self.peer.ip}
    }}
    virtual_ipaddress {{
        {self.pair.vip}/24 dev {self.iface}
    }}
    track_script {{
        db_ok
    }}
    notify_master "{role} notify {self.role_conf} MASTER"
    notify_backup "{role} notify {self.role_conf} BACKUP"
    notify_fault "{role} notify {self.role_conf} FAULT"
}}
""")

    def start_keepalived(self):
        out = open(os.path.join(self.dir, "keepalived.log"), "a")
        self.keepalived = spawn(in_ns(self.ns, [
            find_program("keepalived"), "--dont-fork", "--log-console", "--log-detail", "--vrrp",
            "--use-file", self.keepalived_conf, "--pid", os.path.join(self.dir, "keepalived.pid"),
            "--vrrp_pid", os.path.join(self.dir, "vrrp.pid"), "--checkers_pid", os.path.join(self.dir, "checkers.pid")]),
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()

    def stop_keepalived(self):
        if self.keepalived:
            stop_process(self.keepalived, timeout=10)

    # -- state ----------------------------------------------------------------------

    def holds_vip(self):
        # "up": a dead host's link is down, the address its SIGKILLed keepalived left does not count.
        out = run(in_ns(self.ns, ["ip", "-o", "-4", "addr", "show", "dev", self.iface, "up"]), check=False).stdout
        return f" {self.pair.vip}/" in out

    def vrrp_state(self):
        try:
            with open(os.path.join(self.dir, "state")) as f:
                return f.read().strip()
        except FileNotFoundError:
            return None

    def role_log_text(self):
        try:
            with open(self.role_log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


class DbPair:
    def __init__(self, dc=1, offset=None, increment=2, net="198.18.10", vrid=None, remote_vip=None):
        self.dc = dc
        self.offset = offset if offset is not None else dc
        self.increment = increment
        self.net = net
        self.vip = f"{net}.10"
        self.client_ip = f"{net}.2"
        self.vrid = vrid or 50 + dc
        self.remote_vip = remote_vip  # the other DC's VIP, which this DC's writer replicates
        self.suffix = harness.unique_suffix()[:4]
        self.workdir = temp_dir("tandem-dbpair-")
        self.nodes = []
        self.frozen = set()

    def start(self):
        """Both nodes up: db1 the active (bootstrapped), db2 its passive in sync."""
        self.dc_ns = add_netns(f"tandem-{self.suffix}-dc")
        run(in_ns(self.dc_ns, ["ip", "link", "add", "br0", "type", "bridge"]))
        run(in_ns(self.dc_ns, ["ip", "link", "set", "br0", "up"]))
        run(in_ns(self.dc_ns, ["ip", "addr", "add", f"{self.client_ip}/24", "dev", "br0"]))
        run(in_ns(self.dc_ns, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]))
        self.nodes = [DbNode(self, i) for i in range(2)]
        CLEANUP.add("stop the DB pair", self.stop)
        for n in self.nodes:
            n.install()
            n.start_mariadbd()
            # The same accounts on both, outside the binlog: each node's own.
            n.sql(f"SET sql_log_bin=0; CREATE USER '{REPL_USER}'@'%' IDENTIFIED BY '{REPL_PASSWORD}'; "
                  f"GRANT REPLICATION SLAVE ON *.* TO '{REPL_USER}'@'%'; "
                  f"CREATE USER '{APP_USER}'@'%' IDENTIFIED BY '{APP_PASSWORD}'; "
                  f"GRANT ALL ON dcw.* TO '{APP_USER}'@'%'; GRANT ALL ON `tandem\\_%`.* TO '{APP_USER}'@'%'; "
                  f"CREATE USER '{MONITOR_USER}'@'%' IDENTIFIED BY '{MONITOR_PASSWORD}'; "
                  f"GRANT SLAVE MONITOR, BINLOG MONITOR ON *.* TO '{MONITOR_USER}'@'%'")
            n.write_configs()
        first, second = self.nodes
        # Nobody to be in sync with yet: the operator's word makes db1 the first active.
        run([sys.executable, ROLE_SCRIPT, "promote", first.role_conf])
        first.start_keepalived()
        wait_for(lambda: self.active() is first and first.sql("SELECT @@read_only") == [["0"]], 20,
                 interval=0.1, what="db1 active and writable")
        second.start_keepalived()
        self.wait_caught_up(second)
        wait_for(lambda: second.vrrp_state() == "BACKUP", 20, interval=0.1, what="db2 an eligible passive")
        log(f"DB pair up: {first.name} active, VIP {self.vip}")
        return self

    def stop(self):
        for n in self.nodes:
            if n.mariadbd and n.mariadbd.pid in self.frozen and n.mariadbd.poll() is None:
                os.kill(n.mariadbd.pid, signal.SIGCONT)
            n.stop_keepalived()
            if n.mariadbd and n.mariadbd.poll() is None:
                n.sql("SHUTDOWN", check=False)
                stop_process(n.mariadbd, timeout=20)
        self.frozen.clear()

    def node(self, name):
        return next(n for n in self.nodes if n.name == name)

    def active(self):
        """The node whose interface holds the virtual IP (None if none; both: an error)."""
        holders = [n for n in self.nodes if n.holds_vip()]
        if len(holders) > 1:
            raise AssertionError(f"two nodes hold the virtual IP {self.vip}")
        return holders[0] if holders else None

    def kill_active(self, how):
        """Kills the active (see kill); returns (node, time.time() of the kill)."""
        node = self.active()
        if node is None:
            raise AssertionError("no active node to kill")
        return node, self.kill(node, how)

    def kill(self, node, how):
        """"process": the host dies (its link down, every process of its namespace
        SIGKILLed); "freeze": its mariadbd hangs (SIGSTOP). Returns time.time() of the kill."""
        t = time.time()
        if how == "process":
            # The link first: a keepalived that outlives its parent for a moment says goodbye (priority 0).
            run(in_ns(node.ns, ["ip", "link", "set", node.iface, "down"]))
            for pid in run(["ip", "netns", "pids", node.ns], check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            node.mariadbd.wait(timeout=10)
            node.keepalived.wait(timeout=10)
        elif how == "freeze":
            pid = node.mariadbd.pid
            os.kill(pid, signal.SIGSTOP)
            self.frozen.add(pid)
            # Before anything stops it: a stopped process cannot exit.
            CLEANUP.add(f"SIGCONT {pid}", lambda: pid in self.frozen and os.kill(pid, signal.SIGCONT))
        else:
            raise ValueError(how)
        log(f"killed {node.name} ({how})")
        return t

    def restore(self, node):
        """Brings a killed node back as its host would: a hung mariadbd is killed and
        restarted (thawed, it would finish commits its peer never acknowledged); a
        dead host comes back without the address its killed keepalived left."""
        if node.mariadbd.pid in self.frozen:
            node.mariadbd.kill()
            node.mariadbd.wait(timeout=10)
            self.frozen.discard(node.mariadbd.pid)
        if node.keepalived.poll() is not None:
            run(in_ns(node.ns, ["ip", "addr", "del", f"{self.vip}/24", "dev", node.iface]), check=False)
            run(in_ns(node.ns, ["ip", "link", "set", node.iface, "up"]))
            # The link going down took the default route with it: the host boots with it again.
            run(in_ns(node.ns, ["ip", "route", "replace", "default", "via", self.client_ip]))
        node.start_mariadbd()
        if node.keepalived.poll() is not None:
            # keepalived's last state is gone with the host (it lives in /run).
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(node.dir, "state"))
            node.start_keepalived()
        log(f"restored {node.name}")

    # -- SQL ----------------------------------------------------------------------

    def client_args(self):
        """The mariadb client as the application, through the VIP (to run in the client namespace)."""
        return [find_program("mariadb"), "--no-defaults", "-h", self.vip, "-u", APP_USER, f"--password={APP_PASSWORD}",
                "--connect-timeout=1", "-N", "-B"]

    def sql(self, target, query, check=True, timeout=10):
        """Rows of a query on a node (root, its socket) or "vip" (the application's account)."""
        if target != "vip":
            return target.sql(query, check=check, timeout=timeout)
        r = subprocess.run(in_ns(self.dc_ns, self.client_args() + ["-e", query]), capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            if check:
                raise RuntimeError(f"SQL through the VIP failed: {query}: {r.stderr.strip()}")
            return None
        return [line.split("\t") for line in r.stdout.splitlines()]

    def gtid(self, node):
        return node.sql("SELECT @@gtid_current_pos")[0][0]

    def wait_caught_up(self, node, timeout=30):
        """Waits until node replicates from its active peer and has applied all of it."""
        def caught_up():
            active = self.active()
            if active is None or active is node:
                return False
            target = self.gtid(active)
            return node.sql("SELECT @@gtid_current_pos", check=False) == [[target]]
        wait_for(caught_up, timeout, interval=0.1, what=f"{node.name} caught up with the active")


class DcLink:
    """The link between two DCs: a veth between their routers (the dc namespaces),
    each routing the other DC's network over it. set_up(False) cuts it (both ends
    down, as a dead WAN link); the DCs' own networks are untouched."""

    NET = "198.18.30"

    def __init__(self, a, b):
        self.ends = [(a, f"x{a.suffix}", f"{self.NET}.1", b), (b, f"x{b.suffix}", f"{self.NET}.2", a)]
        run(["ip", "link", "add", self.ends[0][1], "netns", a.dc_ns, "type", "veth", "peer", "name",
             self.ends[1][1], "netns", b.dc_ns])
        for pair, iface, ip, _ in self.ends:
            run(in_ns(pair.dc_ns, ["ip", "addr", "add", f"{ip}/30", "dev", iface]))
        self.set_up(True)

    def set_up(self, up):
        for pair, iface, _, _ in self.ends:
            run(in_ns(pair.dc_ns, ["ip", "link", "set", iface, "up" if up else "down"]))
        if up:  # a link that went down took its routes with it
            for (pair, iface, _, other), (_, _, peer_ip, _) in zip(self.ends, reversed(self.ends)):
                run(in_ns(pair.dc_ns, ["ip", "route", "replace", f"{other.net}.0/24", "via", peer_ip, "dev", iface]))
        log(f"link between the DCs {'up' if up else 'down'}")
