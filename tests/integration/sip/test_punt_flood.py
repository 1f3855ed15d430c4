"""A SIP flood from one address is cut in the dataplane, before the node's
kernel and tandem-control see it, while another address's calls go through
(signalling and media): the exception path's per-source policing
(dataplane/punt_policer.h).

The flooder is a second address on the provider's host, sending SIP OPTIONS
to the node at 50,000 packets a second (tandem-udp-flood, sendmmsg) while
sipp places calls from the provider's own address. What reaches the node's
kernel is counted on the tap (its receive counter) and by the kernel's UDP
counters; both must stay within the flooder's rate times the flood's time
plus its burst, and a margin for the calls' own signalling. A ping flood
meets the ICMP budget and leaves calls alone too."""

import json
import os
import re
import subprocess

import lab
from harness import in_ns, log, run, spawn
from lab import DID_VM

LAB = None
FLOOD = lab.harness.binary("TANDEM_UDP_FLOOD", "tools/udp_flood/tandem-udp-flood")
FLOODER_IP = "198.18.1.3"
FLOOD_PPS = 50000
FLOOD_SECONDS = 8
PUNT_RATE = 1000
PUNT_BURST = 200
ICMP_RATE = 200
ICMP_BURST = 20
PING_SECONDS = 4
CALLS = 6
# The calls' SIP through the tap (about ten messages a call), ARP, sipp's
# retransmissions: far below what the flood would add unpoliced.
SIGNALLING_MARGIN = 1000
OPTIONS = ("OPTIONS sip:node@198.18.1.1 SIP/2.0\\r\\nVia: SIP/2.0/UDP 198.18.1.3:5099;branch=z9hG4bK-flood\\r\\n"
           "From: <sip:flood@198.18.1.3>;tag=f\\r\\nTo: <sip:node@198.18.1.1>\\r\\nCall-ID: flood@198.18.1.3\\r\\n"
           "CSeq: 1 OPTIONS\\r\\nMax-Forwards: 70\\r\\nContent-Length: 0\\r\\n\\r\\n")


def tearDownModule():
    LAB.stop_control()  # a clean exit, nothing reported by the sanitizers


def setUpModule():
    global LAB
    LAB = lab.Lab(dataplane_args=("--idle-timeout", "30", "--punt-rate", str(PUNT_RATE), "--punt-burst",
                                  str(PUNT_BURST), "--punt-arp-icmp-rate", str(ICMP_RATE),
                                  "--punt-arp-icmp-burst", str(ICMP_BURST)))
    LAB.topo.add_caller_address(FLOODER_IP)
    lab.CallTest.lab = LAB


def kernel_received():
    """What reached the node's kernel from the wire: the public tap's receive
    counter, and the UDP datagrams its stack took in (delivered, to no socket,
    or in error)."""
    ns, tap = LAB.topo.relay, LAB.topo.taps[0]
    tap_rx = int(run(in_ns(ns, ["cat", f"/sys/class/net/{tap}/statistics/rx_packets"])).stdout)
    lines = [line.split() for line in run(in_ns(ns, ["cat", "/proc/net/snmp"])).stdout.splitlines()
             if line.startswith("Udp:")]
    udp = dict(zip(lines[0][1:], map(int, lines[1][1:])))
    return tap_rx, udp["InDatagrams"] + udp["NoPorts"] + udp["InErrors"]


class PuntFlood(lab.CallTest):
    idle_timeout = 40

    def test_a_flood_from_one_address_is_cut_while_calls_from_another_succeed(self):
        tap_before, udp_before = kernel_received()
        drops_before = LAB.dp.status()["drops"]
        flood = spawn(in_ns(LAB.topo.caller, [FLOOD, "--from", f"{FLOODER_IP}:5099", "--to", f"{lab.NODE_IP}:5060",
                                              "--rate", str(FLOOD_PPS), "--seconds", str(FLOOD_SECONDS),
                                              "--payload", OPTIONS]),
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        vm = LAB.vm("uas_answer", calls=CALLS, extra=["-rtp_echo"])
        caller = LAB.provider_call("uac_call", DID_VM, calls=CALLS, extra=["-r", "2", "-l", "2"],
                                   keys={"hold_ms": 1500, "rtcp_mux": 0, "delayed_offer": 0})
        self.check_sipp(caller, vm)
        out, err = flood.communicate(timeout=FLOOD_SECONDS + 30)
        self.assertEqual(flood.returncode, 0, err)
        report = json.loads(out)
        log(f"flood: {report}")
        self.assertGreaterEqual(report["sent"] / report["seconds"], FLOOD_PPS * 0.9, "the flood fell short of its rate")

        tap_after, udp_after = kernel_received()
        status = LAB.dp.status()
        policed = status["drops"]["punt_policed_source"] - drops_before["punt_policed_source"]
        bound = PUNT_RATE * (report["seconds"] + 0.5) + PUNT_BURST + SIGNALLING_MARGIN
        log(f"to the kernel: tap {tap_after - tap_before}, UDP {udp_after - udp_before}, bound {bound:.0f}; "
            f"policed {policed}; punt {status['punt']}")
        self.assertLessEqual(tap_after - tap_before, bound)
        self.assertLessEqual(udp_after - udp_before, bound)
        self.assertGreaterEqual(policed, report["sent"] - bound, "the flood was not cut in the dataplane")

        top = status["punt"]["offenders"][0]
        self.assertEqual(top["source"], FLOODER_IP, status["punt"])
        self.assertGreaterEqual(top["dropped"], policed * 0.99)
        self.assertLess(top["last_drop_ms"], 60000)
        self.assertNotIn(lab.PROVIDER_IP, [o["source"] for o in status["punt"]["offenders"]],
                         "the caller's signalling was never policed")
        self.assertEqual(status["drops"]["punt_policed_global"], drops_before["punt_policed_global"])

        rows = self.new_cdrs(CALLS)
        self.assertEqual(len(rows), CALLS, rows)
        for cdr in rows:
            self.assertEqual((cdr["disposition"], cdr["sip_code"]), ("answered", "200"), cdr)
            self.assertGreater(int(cdr["a_packets"]), 40, cdr)
            self.assertGreater(int(cdr["b_packets"]), 40, cdr)
        self.assertIn("to the kernel:", run([lab.harness.TANDEMCTL, "--socket", LAB.dp.socket, "dataplane",
                                             "status"]).stdout)

    def test_a_ping_flood_meets_the_icmp_budget_while_a_call_succeeds(self):
        before = LAB.dp.status()["drops"]
        ping = spawn(in_ns(LAB.topo.caller, ["ping", "-f", "-q", "-w", str(PING_SECONDS), lab.NODE_IP]),
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
        vm = LAB.vm("uas_answer", extra=["-rtp_echo"])
        caller = LAB.provider_call("uac_call", DID_VM, keys={"hold_ms": 1500, "rtcp_mux": 0, "delayed_offer": 0})
        self.check_sipp(caller, vm)
        out, _ = ping.communicate(timeout=PING_SECONDS + 20)
        log(f"ping -f: {out.strip().splitlines()[-2:]}")
        received = int(re.search(r"(\d+) received", out).group(1))
        after = LAB.dp.status()["drops"]
        self.assertGreater(after["punt_policed_arp_icmp"], before["punt_policed_arp_icmp"], out)
        self.assertLessEqual(received, ICMP_RATE * (PING_SECONDS + 1) + ICMP_BURST, out)
        self.assertEqual(after["punt_policed_source"], before["punt_policed_source"])
        [cdr] = self.new_cdrs(1)
        self.assertEqual((cdr["disposition"], cdr["sip_code"]), ("answered", "200"), cdr)
        self.assertGreater(int(cdr["a_packets"]), 40, cdr)


if __name__ == "__main__":
    if not os.access(FLOOD, os.X_OK):
        lab.harness.skip(f"needs {FLOOD} (built with the project)")
    lab.main()
