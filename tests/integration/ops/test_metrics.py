"""A real Prometheus scrapes tandem-control, tandem-sbc and tandem-dataplane
(--metrics-listen) while calls go through them, and finds the series an
operator graphs; `promtool check metrics` passes on every exposition.

The one-node lab of lab.py (tandem-control and its dataplane, MariaDB, sipp as
provider and as the customer's VM) with tandem-sbc in front of it, as in
test_sbc_front.py; Prometheus runs in the provider's namespace, where both
processes are reachable:

  caller ns  198.18.1.2  the provider (sipp); Prometheus on 198.18.1.2:9090
             198.18.1.3  tandem-sbc, /metrics on :9111
  relay ns   198.18.1.1  tandem-control, /metrics on :9110
  relay_dp   198.18.250.2 tandem-dataplane, /metrics on :9112, on a management
             veth to the caller ns (198.18.250.1), as a node's management LAN
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sip"))

import lab  # noqa: E402
from harness import CLEANUP, in_ns, spawn, stop_process, wait_for  # noqa: E402

SBC_IP = lab.harness.CALLER_ALT_IP
PROMETHEUS = f"{lab.PROVIDER_IP}:9090"
CONTROL_METRICS = f"{lab.NODE_IP}:9110"
SBC_METRICS = f"{SBC_IP}:9111"
DATAPLANE_METRICS = "127.0.0.1:9112"  # in the dataplane's own namespace
DATAPLANE_MANAGEMENT = ("198.18.250.1", "198.18.250.2")  # caller ns, dataplane ns
DATAPLANE_SCRAPED = f"{DATAPLANE_MANAGEMENT[1]}:9112"
LAB = None
SBC = None


def setUpModule():
    global LAB, SBC
    LAB = lab.Lab(control_args=["--peer", f"sbc={SBC_IP}", "--metrics-listen", CONTROL_METRICS],
                  dataplane_args=["--idle-timeout", "30", "--metrics-listen", "0.0.0.0:9112"])
    LAB.topo.add_caller_address(SBC_IP)
    caller_if, dp_if = f"mc{LAB.topo.suffix}", f"md{LAB.topo.suffix}"  # gone with the namespaces
    lab.harness.run(in_ns(LAB.topo.caller, ["ip", "link", "add", caller_if, "type", "veth", "peer", "name", dp_if,
                                            "netns", LAB.topo.relay_dp]))
    for ns, dev, ip in ((LAB.topo.caller, caller_if, DATAPLANE_MANAGEMENT[0]),
                        (LAB.topo.relay_dp, dp_if, DATAPLANE_MANAGEMENT[1])):
        lab.harness.run(in_ns(ns, ["ip", "addr", "add", f"{ip}/30", "dev", dev]))
        lab.harness.run(in_ns(ns, ["ip", "link", "set", dev, "up"]))
    lab.CallTest.lab = LAB
    SBC = lab.SbcProcess(LAB.workdir, LAB.topo.caller, [
        "--sip", f"{SBC_IP}:5060", "--server", f"node1={lab.NODE_IP}", "--probe-interval", "300",
        "--rules-db", f"unix:{LAB.db.socket}", "--rules-db-user", "root", "--metrics-listen", SBC_METRICS]).start()
    CLEANUP.add("stop tandem-sbc", SBC.stop)


def tearDownModule():
    LAB.stop_control()


def in_caller(cmd, **kw):
    return subprocess.run(in_ns(LAB.topo.caller, cmd), capture_output=True, text=True, timeout=30, **kw)


def scrape(target):
    ns = LAB.topo.relay_dp if target == DATAPLANE_METRICS else LAB.topo.caller
    r = subprocess.run(in_ns(ns, ["curl", "-sf", f"http://{target}/metrics"]), capture_output=True, text=True,
                       timeout=30)
    if r.returncode != 0:
        raise AssertionError(f"no /metrics on {target}: curl exit {r.returncode}")
    return r.stdout


class Prometheus:
    """prometheus in the caller namespace, scraping the three processes every second."""

    def __init__(self):
        self.dir = os.path.join(LAB.workdir, "prometheus")
        os.makedirs(self.dir)
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
                    f"  - job_name: tandem-control\n    static_configs:\n      - targets: ['{CONTROL_METRICS}']\n"
                    f"  - job_name: tandem-sbc\n    static_configs:\n      - targets: ['{SBC_METRICS}']\n"
                    f"  - job_name: tandem-dataplane\n    static_configs:\n      - targets: ['{DATAPLANE_SCRAPED}']\n")
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.proc = spawn(in_ns(LAB.topo.caller, [
            "prometheus", f"--config.file={config}", f"--storage.tsdb.path={self.dir}/data",
            f"--web.listen-address={PROMETHEUS}", "--storage.tsdb.retention.time=1h"]),
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        CLEANUP.add("stop prometheus", self.stop)

    def stop(self):
        stop_process(self.proc, timeout=10)

    def query(self, expr):
        """The instant vector of `expr`: [(labels, value)]; [] while Prometheus has none."""
        r = in_caller(["curl", "-sf", f"http://{PROMETHEUS}/api/v1/query?query={urllib.parse.quote(expr)}"])
        if r.returncode != 0:
            return []
        data = json.loads(r.stdout)["data"]["result"]
        return [(x["metric"], float(x["value"][1])) for x in data]


class Metrics(lab.CallTest):
    def test_prometheus_scrapes_every_process_during_calls(self):
        prometheus = Prometheus()
        wait_for(lambda: len(prometheus.query("up == 1")) == 3, 30, interval=0.5, what="the three targets up")
        vm = LAB.vm("uas_answer", extra=["-rtp_echo"], calls=3)
        caller = lab.Sipp(LAB, LAB.topo.caller, "uac_call", lab.PROVIDER_IP, lab.SIP_PORT, remote=f"{SBC_IP}:5060",
                          service=lab.DID_VM, keys={"hold_ms": 500, "rtcp_mux": 0, "delayed_offer": 0}, calls=3)
        self.check_sipp(caller, vm)
        self.new_cdrs(3)
        want = {  # what an operator graphs first, and what it must read after 3 calls
            "tandem_sbc_invites_total": 3,
            "tandem_sbc_calls_answered_total": 3,
            'tandem_sbc_server_calls_sent_total{server="node1"}': 3,
            'tandem_sbc_server_state{server="node1",state="up"}': 1,
            "tandem_control_invites_total": 3,
            "tandem_control_calls_answered_total": 3,
            "tandem_cdr_written_total": 3,
            "tandem_cdr_db_up": 1,
            'tandem_rules_loaded{job="tandem-control"}': 1,
            'tandem_rules_from_saved{job="tandem-control"}': 0,
            # The ended calls' histograms: every answered call's setup, both legs' media.
            "tandem_control_call_setup_seconds_count": 3,
            'tandem_control_call_rtp_loss_ratio_count{leg="caller"}': 3,
            'tandem_control_call_rtp_jitter_max_seconds_count{leg="callee"}': 3,
            # The call server's Rules DB and CDR DB connections.
            'tandem_db_connects_total{job="tandem-control",database="tandem_rules"}': 1,
            'tandem_db_connects_total{job="tandem-control",database="tandem_cdr"}': 1,
            # The dataplane: the calls' sessions and media, both ports' bytes.
            "tandem_dp_sessions_created_total": 3,
            'sum(tandem_dp_worker_relayed_packets_total{job="tandem-dataplane"})': 50,
            'tandem_dp_port_rx_bytes_total{port="0",role="public"}': 10000,
            'tandem_dp_port_tx_bytes_total{port="1",role="private"}': 10000,
        }
        got = {}

        def all_there():
            for expr, value in want.items():
                result = prometheus.query(expr)
                got[expr] = result[0][1] if len(result) == 1 else None
            return all(got[e] is not None and got[e] >= v for e, v in want.items())

        wait_for(all_there, 20, interval=0.5, what=f"the series in Prometheus (so far {got})")
        self.assertEqual(got['tandem_rules_from_saved{job="tandem-control"}'], 0)
        self.assertGreater(prometheus.query('tandem_sbc_server_probe_rtt_seconds{server="node1"}')[0][1], 0)
        self.assertEqual(prometheus.query("tandem_control_calls_active")[0][1], 0)

    def test_the_dataplanes_metrics_count_the_calls_media(self):
        vm = LAB.vm("uas_answer", extra=["-rtp_echo"])
        caller = lab.Sipp(LAB, LAB.topo.caller, "uac_call", lab.PROVIDER_IP, lab.SIP_PORT, remote=f"{SBC_IP}:5060",
                          service=lab.DID_VM, keys={"hold_ms": 1000, "rtcp_mux": 0, "delayed_offer": 0})
        self.check_sipp(caller, vm)
        self.new_cdrs(1)

        def value(text, series):
            m = re.search(r"(?m)^" + re.escape(series) + r" (\S+)$", text)
            return float(m.group(1)) if m else None

        def counted():
            text = scrape(DATAPLANE_METRICS)
            return (value(text, "tandem_dp_sessions_created_total") or 0) >= 1 and \
                (value(text, 'tandem_dp_worker_relayed_packets_total{worker="0"}') or 0) >= 50

        wait_for(counted, 10, interval=0.5, what="the call's session and media in the dataplane's metrics")
        text = scrape(DATAPLANE_METRICS)
        self.assertEqual(value(text, 'tandem_dp_port_link_up{port="0",role="public"}'), 1)
        for direction in ("rx", "tx"):  # a second of G.711 each way: 50 packets of over 200 bytes
            self.assertGreater(value(text, f'tandem_dp_port_{direction}_bytes_total{{port="1",role="private"}}'), 10000)
        self.assertIsNotNone(value(text, 'tandem_dp_drops_total{reason="no_session"}'))
        self.assertGreater(value(text, "tandem_dp_sessions_max"), 0)

    def test_promtool_accepts_every_exposition(self):
        for target in (CONTROL_METRICS, SBC_METRICS, DATAPLANE_METRICS):
            text = scrape(target)
            r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(r.returncode, 0, f"{target}: {r.stdout}{r.stderr}")
            if target != DATAPLANE_METRICS:
                self.assertIn("# TYPE tandem_sip_bad_messages_total counter", text)

    def test_every_metric_of_the_dashboard_is_exported(self):
        with open(os.path.join(lab.harness.SOURCE_ROOT, "tools", "grafana", "tandem.json")) as f:
            dashboard = json.load(f)
        exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        names = set(re.findall(r"\btandem_[a-z0-9_]+", " ".join(exprs)))
        exported = set(re.findall(r"(?m)^(tandem_[a-z0-9_]+)", scrape(CONTROL_METRICS) + scrape(SBC_METRICS) +
                                  scrape(DATAPLANE_METRICS)))
        self.assertGreater(len(names), 15)
        self.assertEqual(names - exported, set(), "in the dashboard, exported by no process")

    def test_a_refused_scrape_path_and_a_bad_flag(self):
        r = in_caller(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"http://{SBC_METRICS}/other"])
        self.assertEqual(r.stdout, "404")
        bad = subprocess.run([lab.SBC, "--sip", "127.0.0.1", "--server", "a=127.0.0.1:5999",
                              "--metrics-listen", "9110"], capture_output=True, text=True, timeout=10)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--metrics-listen", bad.stderr)


if __name__ == "__main__":
    lab.main()
