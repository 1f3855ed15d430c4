#!/usr/bin/env python3
"""Two workers (issue 16): each port has two queues, which the kernel fills by
flow hash (PACKET_FANOUT, as a NIC's RSS would), so a session's legs, and a
leg's RTP and its RTCP on the odd port, land on either worker. Calls relay
both ways with RTP and RTCP: every packet arrives, from the right relay port;
every leg's counters are exact (one writer: the worker that owns the leg,
handed the packets that reached the other); some sessions have their legs on
different workers, and some packets were handed over."""

import json

import dpctl
import harness
from harness import CALLEE_IP, CALLER_IP, RELAY_A_IP, RELAY_B_IP

SESSIONS = 32
RTP_PACKETS = 40
RTCP_PACKETS = 4


def caller_port(i):
    return 20000 + 4 * i


def callee_port(i):
    return 40000 + 4 * i


class TwoWorkersTest(harness.DataplaneTest):
    # The main lcore and worker 0 share CPU 0, worker 1 has CPU 1: adaptive
    # polling lets three lcores share this machine's two cores.
    dataplane_lcores = "0@0,1@0,2@1"
    dataplane_qpairs = 2

    def test_calls_relay_both_ways_with_legs_on_either_worker(self):
        health = self.health()
        self.assertEqual(len(health["workers"]), 2, health)
        before = health
        sessions = [self.dp.create(b_remote=f"{CALLEE_IP}:{callee_port(i)}") for i in range(SESSIONS)]
        relay_a = [int(s["legs"][0]["local"].rsplit(":", 1)[1]) for s in sessions]
        relay_b = [int(s["legs"][1]["local"].rsplit(":", 1)[1]) for s in sessions]
        per_session = RTP_PACKETS + RTCP_PACKETS
        expected = SESSIONS * per_session

        # The callee echoes every packet, RTP and RTCP each from its own port:
        # leg b's two flows, relayed back to the caller's latched ports.
        callee = harness.UdpTool(self.topo.callee, {
            "sockets": [{"name": f"{kind}{i}", "bind": f"{CALLEE_IP}:{callee_port(i) + off}", "echo": True}
                        for i in range(SESSIONS) for kind, off in (("rtp", 0), ("rtcp", 1))],
            "expect": expected, "linger_ms": 300, "max_ms": 20000})
        sends = []
        for i in range(SESSIONS):
            sends.append({"socket": f"rtp{i}", "to": f"{RELAY_A_IP}:{relay_a[i]}", "count": RTP_PACKETS,
                          "ssrc": 0x7000 + i, "tag": i, "payload_len": 80})
            sends.append({"socket": f"rtcp{i}", "to": f"{RELAY_A_IP}:{relay_a[i] + 1}", "count": RTCP_PACKETS,
                          "ssrc": 0x7000 + i, "kind": "rtcp"})
        caller = harness.udp_run(self.topo.caller, {
            "sockets": [{"name": f"{kind}{i}", "bind": f"{CALLER_IP}:{caller_port(i) + off}"}
                        for i in range(SESSIONS) for kind, off in (("rtp", 0), ("rtcp", 1))],
            "sends": sends, "burst": 32, "pause_ms": 3, "expect": expected, "linger_ms": 300, "max_ms": 20000})
        echoed = callee.result(timeout=60)["sockets"]
        self.assertEqual(caller["sent"], expected, caller)

        with self.dp.client() as c:
            listed = {s["id"]: s for s in c.list_all()}
            after = c.health()
        drops = self.drops_delta(before, after)
        wrong = {}
        for i in range(SESSIONS):
            rtp, rtcp = caller["sockets"][f"rtp{i}"], caller["sockets"][f"rtcp{i}"]
            got = (rtp["received"], rtp["by_tag_source"], rtcp["received"], rtcp["rtcp"],
                   echoed[f"rtp{i}"]["received"], echoed[f"rtcp{i}"]["received"])
            want = (RTP_PACKETS, {str(i): {f"{RELAY_A_IP}:{relay_a[i]}": RTP_PACKETS}}, RTCP_PACKETS, RTCP_PACKETS,
                    RTP_PACKETS, RTCP_PACKETS)
            if got != want:
                wrong[i] = got
        self.assertEqual(wrong, {}, f"{len(wrong)} sessions lost or misrouted packets (caller rtp, by tag and "
                                    f"source, caller rtcp, callee rtp, callee rtcp); first: "
                                    f"{json.dumps(dict(list(wrong.items())[:3]))}; drops {drops}; sessions "
                                    f"{json.dumps([listed[sessions[i]['id']] for i in list(wrong)[:2]])}")

        bad = {}
        owners = []
        for s in sessions:
            a, b = listed[s["id"]]["legs"]
            owners.append((a["worker"], b["worker"]))
            counts = [(leg["packets"], leg["rtcp_packets"], leg["rtp_lost"], leg["drop_source"]) for leg in (a, b)]
            if counts != [(per_session, RTCP_PACKETS, 0, 0)] * 2 or None in owners[-1]:
                bad[s["id"]] = (counts, owners[-1])
        harness.log(f"leg owners (a, b): {owners}\nworkers: {json.dumps(after['workers'])}")
        self.assertEqual(bad, {}, f"{len(bad)} sessions with wrong counters or an unowned leg; first: "
                                  f"{json.dumps(dict(list(bad.items())[:3]))}")
        self.assertTrue(any(a != b for a, b in owners), f"no session has its legs on two workers: {owners}")
        workers = after["workers"]
        self.assertTrue(all(w["relayed"] > 0 for w in workers), workers)
        self.assertGreater(sum(w["handed_off"] for w in workers), 0, "no packet reached a worker not its leg's owner")
        self.assertLessEqual(drops.get("no_neighbor", 0), 2, drops)
        self.assertEqual({k: v for k, v in drops.items() if k != "no_neighbor"}, {}, "unexpected drops")

    def test_status_shows_each_worker_and_leg_owner(self):
        s = self.dp.create(b_remote=f"{CALLEE_IP}:{callee_port(0)}")
        harness.udp_run(self.topo.caller, {
            "sockets": [{"name": "rtp", "bind": f"{CALLER_IP}:{caller_port(0)}"}],
            "sends": [{"socket": "rtp", "to": s["legs"][0]["local"], "count": 5}], "linger_ms": 200})
        shown = self.dp.show(s["id"])
        self.assertIn(shown["legs"][0]["worker"], (0, 1), shown)
        self.assertIsNone(shown["legs"][1]["worker"], shown)  # nothing received on leg b yet
        text = harness.run([harness.TANDEMCTL, "--socket", self.dp.socket, "dataplane", "status"]).stdout
        self.assertIn("worker 1", text)
        self.assertIn("handed off", text)


if __name__ == "__main__":
    harness.main()
