"""One data center on this machine: tandem-sbc in front of N real call servers,
each tandem-control with its own tandem-dataplane, one MariaDB (Rules DB and
CDR DB), sipp as the provider and as the customer's VM.

  pub ns   bridge: 198.18.1.2 the provider (sipp), 198.18.1.3 tandem-sbc
  node i   relaydp ns: the dataplane on two af_packet veths, one on each bridge
           relay ns: its taps 198.18.1.(11+i) (public) and 198.18.2.(11+i) (private), tandem-control
  priv ns  bridge: 198.18.2.2 the customer's VM (sipp)

Media goes between the provider and the chosen node's dataplane, and between
that dataplane and the VM: the SBC only signals.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sip"))
sys.path.insert(0, os.path.join(HERE, ".."))

import harness  # noqa: E402
import lab  # noqa: E402
from harness import CLEANUP, add_netns, in_ns, log, run, stop_process, temp_dir, wait_for  # noqa: E402

PROVIDER_IP = lab.PROVIDER_IP   # 198.18.1.2
SBC_IP = harness.CALLER_ALT_IP  # 198.18.1.3
VM_IP = lab.VM_IP               # 198.18.2.2


def node_ips(i):
    return f"198.18.1.{11 + i}", f"198.18.2.{11 + i}"


class Node:
    """A call server: tandem-dataplane (relaydp ns) and tandem-control (relay ns)."""

    def __init__(self, dc, i, control_args=(), ips=None, peers=(("sbc", SBC_IP),), dc_name="lab", dc_id=1,
                 before_start=None):
        """The i-th server of `dc` (which has suffix, public, private, workdir, db_flags);
        before_start(node) runs once its namespaces are up, before tandem-control starts."""
        s = f"{dc.suffix}{i}"
        self.name = f"node{i + 1}"
        self.public_ip, self.private_ip = ips or node_ips(i)
        self.relay_dp = add_netns(f"tandem-{s}-rdp")
        self.relay = add_netns(f"tandem-{s}-rel")
        dp_ifs = []
        for side, (lan_ns, port_if, lan_if) in enumerate(((dc.public, f"np{s}", f"bp{s}"),
                                                          (dc.private, f"nv{s}", f"bv{s}"))):
            run(["ip", "link", "add", port_if, "netns", self.relay_dp, "type", "veth", "peer", "name", lan_if,
                 "netns", lan_ns])
            for ns, iface in ((self.relay_dp, port_if), (lan_ns, lan_if)):
                # veths leave UDP checksums to an offload that net_af_packet never does.
                run(in_ns(ns, ["ethtool", "-K", iface, "tx", "off"]))
                run(in_ns(ns, ["ip", "link", "set", iface, "up"]))
            run(in_ns(lan_ns, ["ip", "link", "set", lan_if, "master", "br0"]))
            dp_ifs.append(port_if)
        taps = [f"tp{s}a", f"tp{s}b"]
        self.dp = harness.Dataplane(
            self.relay_dp, vdevs=[f"net_af_packet0,iface={dp_ifs[0]}", f"net_af_packet1,iface={dp_ifs[1]}"],
            ports=[f"0:{self.public_ip}/24,role=public,tap={taps[0]}",
                   f"1:{self.private_ip}/24,role=private,tap={taps[1]}"],
            args=["--idle-timeout", "30"], workdir=dc.workdir, name=f"{self.name}-dataplane").start()
        for tap, ip in zip(taps, (self.public_ip, self.private_ip)):
            run(in_ns(self.relay_dp, ["ip", "link", "set", tap, "netns", self.relay]))
            run(in_ns(self.relay, ["ip", "addr", "add", f"{ip}/24", "dev", tap]))
            run(in_ns(self.relay, ["ip", "link", "set", tap, "up"]))
        # The call server's Via and Contact name its public address: the VM answers there, through
        # the node (as a VM's default route would take it).
        run(in_ns(dc.private, ["ip", "route", "add", f"{self.public_ip}/32", "via", self.private_ip]))
        if before_start:
            before_start(self)
        self.control = lab.CallServer(dc.workdir, self.relay, self.public_ip, self.dp.socket, dc.db_flags,
                                      name=self.name, node_id=i + 1, dc=dc_name, dc_id=dc_id,
                                      args=[*(f"--peer={n}={ip}" for n, ip in peers), *control_args])
        self.control.start()
        CLEANUP.add(f"stop {self.name}", self.stop)

    def stop(self):
        if self.control.proc and self.control.proc.poll() is None:
            os.kill(self.control.proc.pid, 18)  # SIGCONT: a stopped server cannot exit
            stop_process(self.control.proc, timeout=20)

    def active_calls(self):
        return self.control.stats()["active_calls"]


class Sbc(lab.SbcProcess):
    """tandem-sbc in the public namespace, in front of every node."""

    def __init__(self, dc, args=(), probe_interval_ms=300):
        super().__init__(dc.workdir, dc.public, [
            "--sip", f"{SBC_IP}:5060", "--probe-interval", str(probe_interval_ms), "--server-timeout", "500",
            "--rules-db", f"unix:{dc.db.socket}", "--rules-db-user", "root", "--rules-poll", "200",
            "--node", "sbc1", *[f"--server={n.name}={n.public_ip}" for n in dc.nodes], *args])

    def start(self):
        super().start()
        wait_for(lambda: all(s["capacity"] > 0 for s in self.servers().values()), 10, what="every server probed")
        return self


class DataCenter:
    def __init__(self, nodes=4, control_args=()):
        self.suffix = harness.unique_suffix()[:4]
        self.workdir = temp_dir("tandem-dc-")
        self.public = add_netns(f"tandem-{self.suffix}-pub")
        self.private = add_netns(f"tandem-{self.suffix}-priv")
        for ns, ips in ((self.public, (PROVIDER_IP, SBC_IP)), (self.private, (VM_IP,))):
            run(in_ns(ns, ["ip", "link", "add", "br0", "type", "bridge"]))
            run(in_ns(ns, ["ip", "link", "set", "br0", "up"]))
            for ip in ips:
                run(in_ns(ns, ["ip", "addr", "add", f"{ip}/24", "dev", "br0"]))
        self.db = lab.MariaDb().start()
        self.db_flags = ["--rules-db", f"unix:{self.db.socket}", "--rules-db-user", "root",
                         "--cdr-db", f"unix:{self.db.socket}", "--cdr-db-user", "root"]
        run([harness.TANDEMCTL, "db", "init", *self.db_flags], timeout=60)
        lab.load_rules(self.db, self.workdir)
        self.nodes = []
        for i in range(nodes):
            self.nodes.append(Node(self, i, control_args))
            log(f"{self.nodes[-1].name} up")
        self.sbc = None

    def node(self, name):
        return next(n for n in self.nodes if n.name == name)

    def start_sbc(self, args=(), probe_interval_ms=300):
        if self.sbc:
            self.sbc.stop()
        self.sbc = Sbc(self, args, probe_interval_ms).start()
        CLEANUP.add("stop tandem-sbc", lambda: self.sbc and self.sbc.stop())
        return self.sbc

    def provider_calls(self, scenario, called, keys, calls=1, rate=None, port=lab.SIP_PORT, **kw):
        """sipp as the provider, calling through the SBC (a second one at once: another port)."""
        extra = list(kw.pop("extra", ()))
        if rate:
            extra += ["-r", str(rate)]
        return lab.Sipp(self, self.public, scenario, PROVIDER_IP, port, remote=f"{SBC_IP}:5060",
                        service=called, keys=keys, calls=calls, extra=extra, **kw)

    def vm(self, scenario, calls=1, **kw):
        s = lab.Sipp(self, self.private, scenario, VM_IP, lab.SIP_PORT, calls=calls, **kw)
        s.wait_bound()
        return s

    def cdrs(self, where="1=1"):
        cols = ["id", "call_id", "server", "disposition", "sip_code", "hangup_side", "a_packets", "b_packets"]
        rows = self.db.sql(f"SELECT {','.join(cols)} FROM cdr WHERE {where} ORDER BY id", db="tandem_cdr")
        return [dict(zip(cols, r)) for r in rows]

    def wait_idle(self, timeout=30):
        for n in self.nodes:
            if n.control.proc and n.control.proc.poll() is None:
                wait_for(lambda: n.active_calls() == 0, timeout, interval=0.1, what=f"{n.name} idle")
