#!/usr/bin/env python3
"""Idle timeout (--idle-timeout 2): a session without media is removed and the
subscribed client (tandemctl watch) gets a session_timeout event with its
final counters; sessions with media flowing both ways are never removed; a
session whose call is not answered yet (a leg without its remote) waits for
--offer-timeout (9) instead, and an answer restarts the clock."""

import json
import subprocess
import time

import dpctl
import harness
from harness import CALLEE_IP, CALLER_IP

CALLER = f"{CALLER_IP}:20000"
CALLEE = f"{CALLEE_IP}:40000"
IDLE_TIMEOUT_S = 2
OFFER_TIMEOUT_S = 9
ECHO_CALLS = 10
ECHO_PACKETS = 300  # 6 s at 20 ms
MASS_SESSIONS = 2000


def echo_traffic(topo, relay_ports, rounds, ptime_ms=20):
    """The caller sends one packet per session every ptime through the relay;
    the callee echoes each back, so both legs of every session get media."""
    callee = harness.UdpTool(topo.callee, {
        "sockets": [{"name": "echo", "bind": CALLEE, "echo": True}],
        "linger_ms": rounds * ptime_ms + 1500, "max_ms": rounds * ptime_ms + 1500})
    caller = harness.UdpTool(topo.caller, {
        "sockets": [{"name": "rtp", "bind": CALLER}],
        "sends": [{"socket": "rtp", "to": p, "count": rounds, "ssrc": 0x100 + i, "tag": i}
                  for i, p in enumerate(relay_ports)],
        "burst": len(relay_ports), "pause_ms": ptime_ms, "linger_ms": 300, "max_ms": 3000})
    return caller, callee


class IdleTimeoutTest(harness.DataplaneTest):
    dataplane_args = ("--idle-timeout", str(IDLE_TIMEOUT_S), "--offer-timeout", str(OFFER_TIMEOUT_S))

    def create(self):
        s = self.dp.create(b_remote=CALLEE)
        return s["id"], s["legs"][0]["local"]

    def test_idle_session_times_out_with_event(self):
        before = self.health()
        watch = harness.spawn([harness.TANDEMCTL, "--socket", self.dp.socket, "--json", "dataplane", "watch",
                               "--seconds", "6"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Subscribed once it shows as a client (besides our own health query).
        harness.wait_for(lambda: self.health()["clients"] >= 2, 5, what="tandemctl watch connected")
        time.sleep(0.3)
        idle_id, idle_port = self.create()
        busy_id, busy_port = self.create()

        # 20 packets on the session that then goes quiet; media on the other
        # for longer than the timeout.
        caller, callee = echo_traffic(self.topo, [busy_port], rounds=200)
        harness.udp_run(self.topo.caller, {"sockets": [{"name": "rtp", "bind": f"{CALLER_IP}:20002"}],
                                           "sends": [{"socket": "rtp", "to": idle_port, "count": 20, "ssrc": 7}],
                                           "linger_ms": 0})
        last_packet = time.monotonic()
        idle_before = self.wait_session(idle_id, lambda s: s["legs"][0]["packets"] == 20, what="20 packets in")
        out, err = watch.communicate(timeout=20)
        caller.result()
        callee.result()
        events = [json.loads(line) for line in out.splitlines() if line.strip()]
        harness.log(f"watch: {events}\nstderr: {err}")
        self.assertEqual(watch.returncode, 0, err)

        early = [e["session"]["id"] for e in events
                 if min(leg["idle_ms"] for leg in e["session"]["legs"]) < IDLE_TIMEOUT_S * 1000]
        self.assertEqual(early, [], f"sessions removed as idle while their media flowed: {events}")
        self.assertEqual(len(events), 1, f"expected one timeout event, got {events}")
        event = events[0]
        self.assertEqual(event["event"], "session_timeout")
        gone = event["session"]
        self.assertEqual(gone["id"], idle_id)
        a = gone["legs"][0]
        self.assertEqual(a["packets"], 20)
        self.assertEqual(a["rtp_received"], 20)  # the probation packets count once the source is valid
        self.assertEqual(a["remote"], f"{CALLER_IP}:20002")
        self.assertEqual(a["ssrc"], 7)
        self.assertEqual(gone["legs"][1]["packets"], 20, "the callee's echo")
        self.assertEqual(a["bytes"], idle_before["legs"][0]["bytes"])
        self.assertGreaterEqual(min(leg["idle_ms"] for leg in gone["legs"]), IDLE_TIMEOUT_S * 1000)
        self.assertLess(min(leg["idle_ms"] for leg in gone["legs"]), (IDLE_TIMEOUT_S + 2) * 1000)

        ids = [s["id"] for s in self.dp.sessions()]
        self.assertNotIn(idle_id, ids)
        self.assertIn(busy_id, ids, "a session with media flowing timed out")
        status = self.dp.status()
        self.assertEqual(status["timeouts"] - before["timeouts"], 1)
        # The busy one goes too once its media stopped.
        harness.wait_for(lambda: self.dp.status()["timeouts"] - before["timeouts"] == 2, IDLE_TIMEOUT_S + 4,
                         what="the second session timed out")
        self.assertEqual(self.dp.sessions(), [])
        self.assertLess(time.monotonic() - last_packet, 30)

    def test_mass_timeout_every_event_delivered(self):
        """Sessions that go idle together time out in one batch: the subscriber
        gets one event per session, none lost or repeated, while the socket
        still answers requests in between."""
        before = self.health()
        with self.dp.client(timeout=30) as c:
            c.subscribe()
            replies = c.pipeline([(dpctl.CREATE_SESSION, dpctl.create_body(
                dpctl.leg_spec(0, (CALLER_IP, 20000 + 2 * (i % 10000))),
                dpctl.leg_spec(1, (CALLEE_IP, 40000 + 2 * (i % 10000)))))
                for i in range(MASS_SESSIONS)])
            self.assertEqual([r.error() for r in replies if r.is_error], [])
            created = {dpctl.decode_session(r.body)["id"] for r in replies}
            deadline = time.monotonic() + IDLE_TIMEOUT_S + 20
            while len(c.events) < MASS_SESSIONS and time.monotonic() < deadline:
                c.health()  # a request between the events: its reply is not held up behind them
                try:
                    m = c.recv(timeout=1)
                except TimeoutError:
                    continue
                self.assertEqual(m.type, dpctl.EVENT_SESSION_TIMEOUT, f"unexpected message {m.type:#x}")
                c.events.append(dpctl.decode_session(m.body))
            ids = [e["id"] for e in c.events]
        self.assertEqual(len(ids), MASS_SESSIONS, "timeout events lost")
        self.assertEqual(set(ids), created)
        self.assertEqual(self.health()["timeouts"] - before["timeouts"], MASS_SESSIONS)
        self.assertEqual(self.dp.sessions(), [])

    def test_a_call_that_rings_waits_for_the_offer_timeout_and_its_answer_restarts_the_clock(self):
        # No media is due before the answer: a call ringing longer than --idle-timeout is no
        # dead call (rtpengine's --offer-timeout, likewise).
        start = time.monotonic()
        ringing = self.dp.create(a_remote=CALLER)["id"]
        answered = self.dp.create(a_remote=f"{CALLER_IP}:20002")["id"]
        time.sleep(IDLE_TIMEOUT_S + 1)
        alive = {s["id"] for s in self.dp.sessions()}
        self.assertEqual(alive, {ringing, answered}, "removed as idle while ringing")
        answered_at = time.monotonic()  # a lower bound of when the dataplane took the answer
        self.dp.ctl("update", answered, "--leg", "b", "--remote", CALLEE)
        time.sleep(IDLE_TIMEOUT_S * 0.75)
        self.assertIn(answered, {s["id"] for s in self.dp.sessions()},
                      "the answer gives its media the whole --idle-timeout to start")
        gone = {}
        deadline = start + OFFER_TIMEOUT_S + 5
        while len(gone) < 2 and time.monotonic() < deadline:
            alive = {s["id"] for s in self.dp.sessions()}
            for sid in (ringing, answered):
                if sid not in alive and sid not in gone:
                    gone[sid] = time.monotonic()
            time.sleep(0.1)
        self.assertEqual(set(gone), {ringing, answered}, "both removed in the end")
        harness.log(f"answered removed {gone[answered] - answered_at:.1f} s after its answer, "
                    f"ringing {gone[ringing] - start:.1f} s after its creation")
        self.assertGreaterEqual(gone[answered] - answered_at, IDLE_TIMEOUT_S)
        self.assertLess(gone[answered], gone[ringing], "the answered call went at --idle-timeout, first")
        self.assertGreaterEqual(gone[ringing] - start, OFFER_TIMEOUT_S - 0.2)

    def test_sessions_with_media_never_time_out(self):
        """Echo calls: both legs of a session receive media within the same
        millisecond. On a loaded machine (here: busy loops competing for the
        two cores) the idle scan must still not take that for idleness."""
        before = self.health()
        calls = []
        for i in range(ECHO_CALLS):
            callee_addr = f"{CALLEE_IP}:{40000 + 2 * i}"
            s = self.dp.create(b_remote=callee_addr)
            relay_a, relay_b = (leg["local"] for leg in s["legs"])
            callee = harness.RtpPeer(self.topo.callee, callee_addr, relay_b, "--echo", "--duration-ms", 60000)
            caller = harness.RtpPeer(self.topo.caller, f"{CALLER_IP}:{20000 + 2 * i}", relay_a,
                                     "--count", ECHO_PACKETS, "--receive-ms", 300)
            calls.append((s["id"], caller, callee))
        # Contention starts once media flows on every leg: starting ten pairs of
        # peers on a loaded machine may itself take longer than the timeout,
        # which would be a rightful timeout, not the one this test looks for.
        ids = {sid for sid, _, _ in calls}
        harness.wait_for(lambda: all(min(leg["packets"] for leg in s["legs"]) > 0
                                     for s in self.dp.sessions() if s["id"] in ids), 20,
                         what="media on every leg")
        with harness.CpuContention(processes=2, seconds=ECHO_PACKETS * 0.02 + 5):
            # Checked as soon as the first call ends (the calls end together):
            # from then on a session may rightly time out.
            calls[0][1].result(timeout=60)
            after = self.health()
            alive = {s["id"] for s in self.dp.sessions()}
            removed = [sid for sid, _, _ in calls if sid not in alive]
            for _, caller, callee in calls:
                caller.result(timeout=60)
                callee.stop()
                callee.result()
        harness.log(f"timeouts during the calls: {after['timeouts'] - before['timeouts']}, removed {removed}")
        if removed:
            lines = [l for l in self.dp.log_text().splitlines() if "timed out" in l]
            harness.log("dataplane log:\n" + "\n".join(lines))
        self.assertEqual(removed, [], f"{len(removed)} of {ECHO_CALLS} sessions with media flowing both ways "
                                      "were removed as idle")
        self.assertEqual(after["timeouts"] - before["timeouts"], 0)


if __name__ == "__main__":
    harness.main()
