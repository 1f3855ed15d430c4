#!/usr/bin/env python3
"""1,200 sessions at once, programmed through the binary control protocol with
pipelined requests (dpctl.py): media on every one reaches the right remote
from the right relay port, the counters say so, and all of them go away on
delete. And the table refuses sessions beyond --max-sessions, cleanly."""

import json
import time

import dpctl
import harness
from harness import CALLEE_IP, CALLER_IP, RELAY_A_IP, RELAY_B_IP

SESSIONS = 1200
MAX_SESSIONS = 1500
PACKETS = 3
CALLER = f"{CALLER_IP}:20000"


def callee_port(i):
    return 40000 + 2 * i


def create_requests(n, first=0):
    return [(dpctl.CREATE_SESSION,
             dpctl.create_body(dpctl.leg_spec(0), dpctl.leg_spec(1, remote=(CALLEE_IP, callee_port(first + i)))))
            for i in range(n)]


class ScaleTest(harness.DataplaneTest):
    dataplane_args = ("--max-sessions", str(MAX_SESSIONS))

    def create_many(self, client, n, first=0):
        t0 = time.monotonic()
        replies = client.pipeline(create_requests(n, first))
        elapsed = time.monotonic() - t0
        errors = [r.error() for r in replies if r.is_error]
        self.assertEqual(errors, [], f"{len(errors)} creates refused")
        sessions = [dpctl.decode_session(r.body) for r in replies]
        harness.log(f"created {n} sessions in {elapsed:.2f} s ({n / elapsed:.0f}/s)")
        return sessions

    def delete_many(self, client, ids):
        replies = client.pipeline([(dpctl.DELETE_SESSION, dpctl.SESSION_REQUEST.pack(i)) for i in ids])
        errors = [r.error() for r in replies if r.is_error]
        self.assertEqual(errors, [], f"{len(errors)} deletes refused")
        return [dpctl.decode_session(r.body) for r in replies]

    def test_1200_sessions_relay_and_delete(self):
        before = self.health()
        with self.dp.client(timeout=30) as c:
            hello = c.hello("test_scale")
            self.assertEqual(hello["port_ip"][:2], [RELAY_A_IP, RELAY_B_IP])
            self.assertEqual(hello["port_role"][:2], ["public", "private"])
            sessions = self.create_many(c, SESSIONS)
            ids = [s["id"] for s in sessions]
            self.assertEqual(len(set(ids)), SESSIONS, "session ids repeat")
            for leg in (0, 1):
                ports = [s["legs"][leg]["local_port"] for s in sessions]
                self.assertEqual(len(set(ports)), SESSIONS, f"leg {leg}: relay ports repeat")
                self.assertTrue(all(p % 2 == 0 and hello["relay_port_min"] <= p <= hello["relay_port_max"]
                                    for p in ports), f"leg {leg}: relay port outside the range or odd")
            listed = c.list_all()
            self.assertEqual(sorted(s["id"] for s in listed), sorted(ids))
            self.assertEqual(c.health()["sessions"], SESSIONS)

            # PACKETS on every session, each tagged with its session's index.
            relay_a = [f"{RELAY_A_IP}:{s['legs'][0]['local_port']}" for s in sessions]
            relay_b = [f"{RELAY_B_IP}:{s['legs'][1]['local_port']}" for s in sessions]
            callee = harness.UdpTool(self.topo.callee, {
                "sockets": [{"name": str(i), "bind": f"{CALLEE_IP}:{callee_port(i)}"} for i in range(SESSIONS)],
                "expect": SESSIONS * PACKETS, "linger_ms": 500, "max_ms": 20000})
            sender = harness.udp_run(self.topo.caller, {
                "sockets": [{"name": "rtp", "bind": CALLER}],
                "sends": [{"socket": "rtp", "to": relay_a[i], "count": PACKETS, "ssrc": 0x5000 + i, "tag": i,
                           "payload_len": 40} for i in range(SESSIONS)],
                "burst": 50, "pause_ms": 5, "linger_ms": 0})
            self.assertEqual(sender["sent"], SESSIONS * PACKETS)
            got = callee.result(timeout=60)["sockets"]
            wrong = {}
            for i in range(SESSIONS):
                expected = {str(i): {relay_b[i]: PACKETS}}
                if got[str(i)]["by_tag_source"] != expected:
                    wrong[i] = got[str(i)]["by_tag_source"]
            self.assertEqual(wrong, {}, f"{len(wrong)} sessions' media did not arrive (only) from their relay port "
                                        f"to their remote; first: {json.dumps(dict(list(wrong.items())[:5]))}")

            listed = {s["id"]: s for s in c.list_all()}
            bad = {}
            for i, sid in enumerate(ids):
                a, b = listed[sid]["legs"]
                if (a["packets"], a["rtp_received"], a["rtp_lost"], a["remote_ip"], a["remote_port"], a["ssrc"],
                        b["packets"]) != (PACKETS, PACKETS, 0, CALLER_IP, 20000, 0x5000 + i, 0):
                    bad[sid] = listed[sid]
            self.assertEqual(bad, {}, f"{len(bad)} sessions with wrong counters; first: "
                                      f"{json.dumps(list(bad.values())[:2])}")
            mid = c.health()
            harness.log(f"drops: {self.drops_delta(before, mid)}; ports: {mid['ports']}")
            self.assertEqual(self.drops_delta(before, mid), {})

            finals = self.delete_many(c, ids)
            self.assertEqual(sorted(s["id"] for s in finals), sorted(ids))
            self.assertTrue(all(s["legs"][0]["packets"] == PACKETS for s in finals), "final counters wrong")
            after = c.health()
            self.assertEqual(after["sessions"], 0)
            self.assertEqual(after["sessions_created"] - before["sessions_created"], SESSIONS)
            self.assertEqual(after["sessions_deleted"] - before["sessions_deleted"], SESSIONS)
            self.assertEqual(c.list_all(), [])
            # A deleted session's id is refused, not mistaken for a new one in its slot.
            self.create_many(c, 1)
            stale = c.pipeline([(dpctl.QUERY_SESSION, dpctl.SESSION_REQUEST.pack(ids[0]))])[0]
            self.assertTrue(stale.is_error)
            self.assertEqual(stale.error()["name"], "no_such_session")

    def test_table_full(self):
        with self.dp.client(timeout=30) as c:
            sessions = self.create_many(c, MAX_SESSIONS)
            refused = c.pipeline(create_requests(1, MAX_SESSIONS))[0]
            self.assertTrue(refused.is_error, "a session beyond --max-sessions was created")
            self.assertEqual(refused.error()["name"], "table_full")
            self.assertEqual(c.health()["sessions"], MAX_SESSIONS)
            # A freed slot is usable again.
            self.delete_many(c, [sessions[0]["id"]])
            self.create_many(c, 1, MAX_SESSIONS)
            self.assertEqual(c.health()["sessions"], MAX_SESSIONS)


if __name__ == "__main__":
    harness.main()
