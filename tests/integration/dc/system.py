"""The whole two-DC system of issue 14 on this machine (./tools/lab, the fault tests):
per DC an SBC, two call servers each with its dataplane, an active/passive MariaDB
pair behind a virtual IP (db_pair.py) replicating with the other DC's writer;
providers (sipp, provider.xml) that send to either DC and retry the other on 503
or no answer; the customers' VM (sipp UAS with RTP echo) in each DC.

  internet ns  bridge: 198.18.1.2 providers, SBCs 198.18.1.3 (dc1) / .4 (dc2),
               the call servers' public sides 198.18.1.11, .12 (dc1), .21, .22 (dc2)
  sbc ns       per DC: tandem-sbc, on the internet and on the DC's LAN
  node         per server: dataplane (af_packet on both sides) and tandem-control (its taps,
               and a management veth on the DC's LAN, 198.18.N0.101, .102)
  dcN ns       the DC's LAN and router (db_pair.py): DB hosts .11/.12, virtual IP 198.18.N0.10,
               the link to the other DC
  vm ns        per DC: the customers' VM at 198.18.2.2 (the rules route there: each DC reaches
               its own copy), the call servers' private sides 198.18.2.11, .12 / .21, .22

Every process reaches the database through its DC's virtual IP only.
"""

import collections
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "sbc"))
sys.path.insert(0, os.path.join(HERE, "..", "sip"))
sys.path.insert(0, os.path.join(HERE, ".."))

import db_pair  # noqa: E402
import dc_lab  # noqa: E402
import harness  # noqa: E402
import lab  # noqa: E402
from harness import add_netns, in_ns, log, run, temp_dir, wait_for  # noqa: E402

PROVIDER_IP = lab.PROVIDER_IP  # 198.18.1.2, the providers of lab.rules_csv()
VM_IP = lab.VM_IP  # 198.18.2.2
SERVERS_PER_DC = 2
PROBE_INTERVAL_MS = 500
SERVER_TIMEOUT_MS = 800
HOLD_MS = 3000          # a lab call's media time
PROVIDER_PORTS = {1: 5060, 2: 5062}   # the provider that prefers DC n sends from this port


def require_environment():
    lab.require_environment()
    db_pair.require_environment()


def sbc_ip(n):
    return f"198.18.1.{2 + n}"


def db_net(n):
    return f"198.18.{10 * n}"


def pcmu_second(path):
    """One second of a 440 Hz tone in PCMU: what the providers' rtp_stream loops."""
    import math
    with open(path, "wb") as f:
        f.write(bytes(_ulaw(int(8000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(8000)))
    return path


def _ulaw(sample):
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = max(0, magnitude.bit_length() - 8)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def provider_scenario(workdir):
    """scenarios/provider.xml with its audio (a tone, PCMU) written into workdir: the path as
    lab.Sipp takes a scenario. Calls from +4940555N with a running RTP stream (0 lost, jitter
    near 0 in the CDRs, unlike a replayed capture)."""
    audio = pcmu_second(os.path.join(workdir, "tone.pcmu"))
    with open(os.path.join(HERE, "scenarios", "provider.xml")) as f:
        text = f.read().replace("@AUDIO@", audio)
    path = os.path.join(workdir, "provider")
    with open(path + ".xml", "w") as f:
        f.write(text)
    return path


def provider_keys(sbc, alt):
    """provider.xml's keys: send to sbc, on 503 or no answer once more to alt (IPv4 addresses, port 5060)."""
    return {"sbc": f"{sbc}:5060", "alt": f"{alt}:5060", "alt_host": alt, "alt_port": 5060}


class RootOf:
    """A DB node as lab.load_rules wants its DB: a root socket and SQL in a database."""

    def __init__(self, node):
        self.socket, self.node = node.socket, node

    def sql(self, query, db=None):
        return self.node.sql(f"USE {db}; {query}" if db else query)


class Dc:
    def __init__(self, system, n):
        self.system, self.n, self.name = system, n, f"dc{n}"
        self.suffix = harness.unique_suffix()[:4]
        self.workdir = temp_dir(f"tandem-lab-{self.name}-")
        self.public = system.internet
        self.db = db_pair.DbPair(dc=n, net=db_net(n), remote_vip=f"{db_net(3 - n)}.10")
        self.nodes, self.sbc, self.vm = [], None, None

    @property
    def vip(self):
        return self.db.vip

    def db_flags_of(self, *kinds):
        """The flags of the DBs `kinds` ("rules", "cdr"): the virtual IP, the application's account."""
        pw = os.path.join(self.workdir, "db.password")
        with open(pw, "w") as f:
            f.write(db_pair.APP_PASSWORD)
        return [flag for kind in kinds for flag in (
            f"--{kind}-db", f"{self.vip}:3306", f"--{kind}-db-user", db_pair.APP_USER, f"--{kind}-db-password-file", pw)]

    def lan_attach(self, ns, host, name):
        """A veth from `ns` onto the DC's LAN (where the DB's virtual IP is) with 198.18.N0.host."""
        inside, bridge_end = f"m{name}", f"mb{name}"
        run(["ip", "link", "add", inside, "netns", ns, "type", "veth", "peer", "name", bridge_end,
             "netns", self.db.dc_ns])
        run(in_ns(self.db.dc_ns, ["ip", "link", "set", bridge_end, "master", "br0", "up"]))
        run(in_ns(ns, ["ip", "addr", "add", f"{self.db.net}.{host}/24", "dev", inside]))
        run(in_ns(ns, ["ip", "link", "set", inside, "up"]))
        # The other DC's LAN and the link between the DCs are behind the DC's router (operators'
        # tools in one DC reach the other's SBC metrics and DBs that way).
        for net in (f"{db_net(3 - self.n)}.0/24", f"{db_pair.DcLink.NET}.0/24"):
            run(in_ns(ns, ["ip", "route", "add", net, "via", self.db.client_ip]))

    def start_media_side(self):
        self.private = add_netns(f"tandem-{self.suffix}-vm")
        run(in_ns(self.private, ["ip", "link", "add", "br0", "type", "bridge"]))
        run(in_ns(self.private, ["ip", "link", "set", "br0", "up"]))
        run(in_ns(self.private, ["ip", "addr", "add", f"{VM_IP}/24", "dev", "br0"]))
        self.db_flags = self.db_flags_of("rules", "cdr")
        peers = [(f"sbc{m}", sbc_ip(m)) for m in (1, 2)]
        for i in range(SERVERS_PER_DC):
            ips = (f"198.18.1.{10 * self.n + i + 1}", f"198.18.2.{10 * self.n + i + 1}")
            node = dc_lab.Node(self, i, ips=ips, peers=peers, dc_name=self.name, dc_id=self.n,
                               before_start=lambda node, i=i: self.lan_attach(node.relay, 101 + i, f"{self.suffix}{i}"))
            node.name = f"{self.name}-{node.name}"
            self.nodes.append(node)
            log(f"{node.name} up: public {ips[0]}, private {ips[1]}")
        self.vm = lab.Sipp(self, self.private, "uas_answer", VM_IP, lab.SIP_PORT, calls=10 ** 6, timeout=86400,
                           extra=["-rtp_echo"])
        self.vm.wait_bound()

    def start_sbc(self, remote_nodes):
        self.sbc_ns = add_netns(f"tandem-{self.suffix}-sbc")
        self.sbc_if = f"s{self.suffix}"
        run(["ip", "link", "add", self.sbc_if, "netns", self.sbc_ns, "type", "veth", "peer", "name", f"sb{self.suffix}",
             "netns", self.public])
        run(in_ns(self.public, ["ip", "link", "set", f"sb{self.suffix}", "master", "br0", "up"]))
        run(in_ns(self.sbc_ns, ["ip", "addr", "add", f"{sbc_ip(self.n)}/24", "dev", self.sbc_if]))
        run(in_ns(self.sbc_ns, ["ip", "link", "set", self.sbc_if, "up"]))
        self.lan_attach(self.sbc_ns, 99, f"{self.suffix}s")
        self.sbc_metrics = f"{self.db.net}.99:9110"  # on the DC's LAN, where operators' tools are
        servers = [f"--server={n.name}={n.public_ip},dc=local" for n in self.nodes]
        servers += [f"--server={n.name}={n.public_ip},dc=remote" for n in remote_nodes]
        self.sbc = lab.SbcProcess(self.workdir, self.sbc_ns, [
            "--sip", f"{sbc_ip(self.n)}:5060", "--probe-interval", str(PROBE_INTERVAL_MS),
            "--server-timeout", str(SERVER_TIMEOUT_MS), "--dc", self.name, "--node", f"sbc{self.n}",
            "--metrics-listen", self.sbc_metrics,
            *self.db_flags_of("rules"), *servers])
        self.sbc.start()
        wait_for(lambda: all(s["state"] == "up" for s in self.sbc.servers().values()), 20, interval=0.1,
                 what=f"{self.name}'s SBC sees every server up")
        harness.CLEANUP.add(f"stop {self.name}'s SBC", lambda: self.sbc.stop())

    def dc_spec(self):
        """This DC as `tandemctl dc status --dc` takes it."""
        return (f"{self.name},sbc={self.sbc_metrics},vip={self.vip}:3306,"
                f"db={'+'.join(f'{n.ip}:3306' for n in self.db.nodes)}")

    def bridge_ends(self):
        """This DC's interfaces on the internet bridge: its SBC's and its servers' public sides."""
        return [f"sb{self.suffix}"] + [f"bp{self.suffix}{i}" for i in range(len(self.nodes))]

    def cdr_rows(self):
        """(id, call_id, server, disposition) of every CDR, from the DC's active DB."""
        active = self.db.active()
        if active is None:
            raise RuntimeError(f"{self.name}: no DB holds the virtual IP")
        rows = active.sql("SELECT id, call_id, server, disposition FROM tandem_cdr.cdr")
        return [tuple(r) for r in rows]


class System:
    def __init__(self):
        self.internet = add_netns(f"tandem-{harness.unique_suffix()[:4]}-net")
        run(in_ns(self.internet, ["ip", "link", "add", "br0", "type", "bridge"]))
        run(in_ns(self.internet, ["ip", "link", "set", "br0", "up"]))
        run(in_ns(self.internet, ["ip", "addr", "add", f"{PROVIDER_IP}/24", "dev", "br0"]))
        self.workdir = temp_dir("tandem-lab-")
        self.scenario = provider_scenario(self.workdir)
        self.dcs = [Dc(self, 1), Dc(self, 2)]
        self.link = None
        self.lock = threading.Lock()

    def dc(self, n):
        return self.dcs[n - 1]

    def start(self):
        """Everything up, in the order a DC comes up: databases, rules, servers, SBCs."""
        t0 = time.monotonic()
        for dc in self.dcs:
            dc.db.start()
        self.link = db_pair.DcLink(self.dcs[0].db, self.dcs[1].db)
        first = RootOf(self.dcs[0].db.active())
        sock = f"unix:{first.socket}"
        run([harness.TANDEMCTL, "db", "init", "--rules-db", sock, "--rules-db-user", "root", "--cdr-db", sock,
             "--cdr-db-user", "root"], timeout=60)
        lab.load_rules(first, self.workdir)
        self.wait_replicated(60)
        log(f"databases up and replicating both ways ({time.monotonic() - t0:.0f} s)")
        for dc in self.dcs:
            dc.start_media_side()
        for dc in self.dcs:
            dc.start_sbc([n for other in self.dcs if other is not dc for n in other.nodes])
        log(f"the two-DC system is up ({time.monotonic() - t0:.0f} s)")
        return self

    # -- state ------------------------------------------------------------------

    def nodes(self):
        return [n for dc in self.dcs for n in dc.nodes]

    def wait_replicated(self, timeout):
        """Until both DCs' writers hold the same GTID position (each has applied the other's)."""
        def same():
            actives = [dc.db.active() for dc in self.dcs]
            if None in actives:
                return False
            pos = [a.sql("SELECT @@gtid_binlog_pos", check=False) for a in actives]
            return None not in pos and sorted(pos[0][0][0].split(",")) == sorted(pos[1][0][0].split(","))
        try:
            return wait_for(same, timeout, interval=0.2, what="both DCs' databases at the same GTID position")
        except AssertionError as e:
            raise AssertionError(f"{e}:\n{self.replication_report()}") from None

    def replication_report(self):
        """Every live DB node's binlog position and replication connections, for a failure's message."""
        lines = []
        for dc in self.dcs:
            for n in dc.db.nodes:
                if n.mariadbd.poll() is not None:
                    continue
                pos = n.sql("SELECT @@gtid_binlog_pos, @@read_only", check=False, timeout=3)
                lines.append(f"{dc.name} {n.name}: {pos}")
                for name in ("", "remote"):
                    r = n.replication(name)
                    if r:
                        lines.append(f"  '{name}' from {r['Master_Host']} io={r['Slave_IO_Running']} "
                                     f"sql={r['Slave_SQL_Running']} io_pos={r['Gtid_IO_Pos']} "
                                     f"errors: {r['Last_IO_Error']} | {r['Last_SQL_Error']}")
        return "\n".join(lines)

    def calls_up(self):
        """Active calls per running call server."""
        return {n.name: n.active_calls() for n in self.nodes()
                if n.control.proc and n.control.proc.poll() is None}

    def wait_cdrs_written(self, timeout=60):
        """Until every running call server has written what it queued and spooled."""
        def written(node):
            if not node.control.proc or node.control.proc.poll() is not None:
                return True
            cdr = node.control.request("cdr-stats")
            return cdr["queue_depth"] == 0 and cdr["spooled"] <= cdr["written"] + cdr["refused"]
        wait_for(lambda: all(written(n) for n in self.nodes()), timeout, interval=0.2, what="every CDR written")

    # -- faults --------------------------------------------------------------------

    def kill_db(self, n, how="process"):
        """DC n's active DB host dies ("process") or its mariadbd hangs ("freeze"); returns
        (the node, time.time() of the kill, seconds until the other node held the virtual IP)."""
        pair = self.dc(n).db
        node, t = pair.kill_active(how)
        wait_for(lambda: pair.active() not in (None, node), 20, interval=0.05, what=f"{pair.vip} moved")
        return node, t, time.time() - t

    def restore_db(self, n, node):
        """The killed node back: it rejoins as the passive and catches up."""
        pair = self.dc(n).db
        pair.restore(node)
        pair.wait_caught_up(node, timeout=60)

    def isolate(self, n, isolated=True):
        """DC n cut off (True) or back: its SBC's and servers' links to the internet and the link
        between the DCs. Inside the DC all goes on (its servers still reach its DB)."""
        for iface in self.dc(n).bridge_ends():
            run(in_ns(self.internet, ["ip", "link", "set", iface, "down" if isolated else "up"]))
        self.link.set_up(not isolated)
        log(f"{self.dc(n).name} {'isolated' if isolated else 'back'}")

    def dc_status(self, from_dc=1, as_json=True):
        """`tandemctl dc status` of both DCs, run on DC from_dc's LAN: the exit code and what it
        printed (parsed with as_json)."""
        env = dict(os.environ, TANDEM_DB_PASSWORD=db_pair.MONITOR_PASSWORD)
        r = subprocess.run(in_ns(self.dc(from_dc).db.dc_ns, [
            harness.TANDEMCTL, *(["--json"] if as_json else []), "dc", "status", "--user", db_pair.MONITOR_USER,
            *[f"--dc={dc.dc_spec()}" for dc in self.dcs]]), capture_output=True, text=True, timeout=60, env=env)
        return r.returncode, json.loads(r.stdout) if as_json else (r.stdout + r.stderr).rstrip()

    # -- load --------------------------------------------------------------------

    def providers(self, rate, seconds, hold_ms=HOLD_MS, tag=""):
        """One provider per DC, each preferring its DC, together `rate` calls/s for `seconds`."""
        calls = max(1, round(rate * seconds / 2))
        out = []
        for n in (1, 2):
            me, other = sbc_ip(n), sbc_ip(3 - n)
            out.append(lab.Sipp(self, self.internet, self.scenario, PROVIDER_IP, PROVIDER_PORTS[n],
                                remote=f"{me}:5060", service=lab.DID_VM, calls=calls,
                                keys=provider_keys(me, other),
                                timeout=seconds + hold_ms / 1000 + 60,
                                extra=["-r", str(rate / 2), "-d", str(hold_ms), "-rtp_threadtasks", "50"],
                                media_port=30000 + 1000 * n))
        return Load(out, calls * 2)

    # -- CDRs ----------------------------------------------------------------------

    def compare_cdrs(self, expected_call_ids, timeout=120):
        """Waits for the CDRs to be written and replicated, then the per-fault figures:
        expected / found in DC1 / found in DC2 / doubled, and whether both DCs hold the same rows."""
        # A call whose BYE a fault lost ends on its media timeout (--idle-timeout 30 s): its CDR
        # comes only then, so the comparison waits for every call to end, and says which did not.
        try:
            wait_for(lambda: sum(self.calls_up().values()) == 0, timeout, interval=0.2, what="every call ended")
        except AssertionError:
            log(f"calls still up: {self.calls_up()}")
        self.wait_cdrs_written(timeout)
        self.wait_replicated(timeout)
        rows = [dc.cdr_rows() for dc in self.dcs]
        answered = [collections.Counter(cid for _, cid, _, disp in r if disp == "answered") for r in rows]
        expected = set(expected_call_ids)
        missing = sorted(c for c in expected if not (answered[0][c] and answered[1][c]))[:5]
        return {
            # What the DCs hold of the first calls that lack an answered record in either (to explain a failure).
            "missing": {c: [[r for r in dc_rows if r[1] == c] for dc_rows in rows] for c in missing},
            "expected": len(expected),
            "found_dc1": sum(1 for c in expected if answered[0][c]),
            "found_dc2": sum(1 for c in expected if answered[1][c]),
            "doubled": sum(max(0, k - 1) for a in answered for k in a.values()),
            "identical": sorted(rows[0]) == sorted(rows[1]),
            "rows_dc1": len(rows[0]), "rows_dc2": len(rows[1]),
            "refused": sum(n.control.request("cdr-stats")["refused"] for n in self.nodes()
                           if n.control.proc and n.control.proc.poll() is None),
        }


class Load:
    """The providers' calls of System.providers: wait for them, read what they saw."""

    def __init__(self, sipps, attempted):
        self.sipps, self.attempted = sipps, attempted

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        for s in self.sipps:
            s.wait(timeout=max(1, deadline - time.monotonic()))
        return self

    def lines(self, tag):
        return [v for s in self.sipps for v in s.log_values(tag)]

    def answered(self):
        return {v["call_id"] for v in self.lines("ANSWERED")}

    def figures(self):
        failed = 0
        for s in self.sipps:
            m = re.search(r"Failed call\s+\|\s+\d+\s+\|\s+(\d+)", s.text("out"))
            failed += int(m.group(1)) if m else 0
        via = collections.Counter(v["via"].split(":")[0] for v in self.lines("ANSWERED"))
        return {"attempted": self.attempted, "answered": len(self.answered()), "failed": failed,
                "failovers": len(self.lines("FAILOVER")), "gave_up": len(self.lines("GAVE_UP")),
                "answered_dc1": via.get(sbc_ip(1), 0), "answered_dc2": via.get(sbc_ip(2), 0)}


def kill(proc):
    if proc and proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
