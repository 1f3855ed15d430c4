#!/usr/bin/env python3
"""UDP datagrams bigger than the MTU, to and from the node's own address: what
SIP over UDP does with a large message (RFC 4475's longreq is 3.5 KB; RFC 3261
section 18.1.1 wants up to 64 KB handled). The caller's kernel sends them as
IPv4 fragments; net_af_packet's socket fanout has the relay-dp kernel
reassemble them, so the dataplane receives one frame longer than the MTU, which
must fit the PMD's ring slots (af_packet.h) and is cut into fragments again for
the exception tap (fragment.h). The node's kernel must get every datagram
whole, its replies must get back whole, and nothing may be counted as dropped."""

import hashlib
import json
import subprocess
import sys
import time

import harness
from harness import CALLER_IP, RELAY_A_IP

NODE_PORT = 5099          # outside the relay port range: not media, the kernel's
CALLER_PORT = 5098
SIZES = [1000, 1472, 1473, 3000, 8000]
# The PMD's ring slots as the dataplane sets them (16384 bytes) hold frames up
# to 16318 bytes: the frame starts 66 bytes into the slot (tpacket2 header,
# sockaddr_ll, alignment). Minus Ethernet, IPv4 and UDP headers:
LARGEST_WHOLE = 16384 - 66 - 42

# Runs in a namespace: binds, prints READY, receives (and echoes back, if
# asked) until it has `expect` datagrams or `max_s` passed, and prints one
# JSON line: the length and SHA-256 of each datagram, in arrival order.
RECEIVER = r"""
import hashlib, json, socket, sys, time
spec = json.loads(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
host, port = spec["bind"].rsplit(":", 1)
s.bind((host, int(port)))
print("READY", flush=True)
got = []
deadline = time.monotonic() + spec["max_s"]
while len(got) < spec["expect"] and time.monotonic() < deadline:
    s.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        data, src = s.recvfrom(70000)
    except socket.timeout:
        break
    got.append({"len": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    if spec.get("echo"):
        s.sendto(data, src)
print(json.dumps({"received": got}), flush=True)
"""

# Runs in the caller's namespace: sends each size from a bound socket, then
# collects the echoes like RECEIVER.
SENDER = r"""
import hashlib, json, socket, sys, time
spec = json.loads(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
host, port = spec["bind"].rsplit(":", 1)
s.bind((host, int(port)))
host, port = spec["to"].rsplit(":", 1)
for n in spec["sizes"]:
    s.sendto(bytes((i * 7 + n) & 0xFF for i in range(n)), (host, int(port)))
    time.sleep(spec["pause_s"])
got = []
deadline = time.monotonic() + spec["max_s"]
while len(got) < spec["expect_echoes"] and time.monotonic() < deadline:
    s.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        data, src = s.recvfrom(70000)
    except socket.timeout:
        break
    got.append({"len": len(data), "sha256": hashlib.sha256(data).hexdigest()})
print(json.dumps({"echoes": got}), flush=True)
"""


def datagram(n):
    return bytes((i * 7 + n) & 0xFF for i in range(n))


def digest(n):
    return {"len": n, "sha256": hashlib.sha256(datagram(n)).hexdigest()}


class FragmentsTest(harness.DataplaneTest):

    def exchange(self, sizes, echo, max_s=10):
        """Sends `sizes` from the caller to the node's address; returns what the
        node's receiver got and the echoes the caller got back."""
        receiver = harness.spawn(
            harness.in_ns(self.topo.relay, [sys.executable, "-c", RECEIVER, json.dumps({
                "bind": f"{RELAY_A_IP}:{NODE_PORT}", "expect": len(sizes), "max_s": max_s, "echo": echo})]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        line = receiver.stdout.readline()
        if line.strip() != "READY":
            self.fail(f"receiver did not start: {line!r} {receiver.stderr.read()}")
        r = harness.run(harness.in_ns(self.topo.caller, [sys.executable, "-c", SENDER, json.dumps({
            "bind": f"{CALLER_IP}:{CALLER_PORT}", "to": f"{RELAY_A_IP}:{NODE_PORT}", "sizes": sizes,
            "pause_s": 0.05, "expect_echoes": len(sizes) if echo else 0, "max_s": max_s})]), timeout=max_s + 20)
        echoes = json.loads(r.stdout.strip().splitlines()[-1])["echoes"]
        try:
            out, err = receiver.communicate(timeout=max_s + 10)
        except subprocess.TimeoutExpired:
            harness.stop_process(receiver)
            self.fail("the node's receiver did not finish")
        if receiver.returncode != 0:
            self.fail(f"the node's receiver exited {receiver.returncode}: {err.strip()}")
        received = json.loads(out.strip().splitlines()[-1])["received"]
        return received, echoes

    def test_ring_slots_hold_reassembled_datagrams(self):
        log = self.dp.log_text()
        for port in (0, 1):
            self.assertIn(f"port {port}: net_af_packet ring slots of 16384 bytes", log)

    def test_datagrams_to_the_node_arrive_whole_and_replies_get_back(self):
        before = self.health()
        received, echoes = self.exchange(SIZES, echo=True)
        after = self.health()
        drops = self.drops_delta(before, after)
        harness.log(f"received {[g['len'] for g in received]}, echoes {[g['len'] for g in echoes]}, "
                    f"drops {drops}, port 0 {json.dumps(after['ports'][0])}")
        self.assertEqual(received, [digest(n) for n in SIZES], "the node's kernel did not get every datagram whole")
        self.assertEqual(echoes, [digest(n) for n in SIZES], "the node's replies did not all get back whole")
        self.assertEqual(drops, {}, "datagrams to the node were counted as dropped")
        punted = after["ports"][0]["punted"] - before["ports"][0]["punted"]
        # 1+1+1 frames, then 3000 bytes as 3 fragments and 8000 as 6 (the 1473
        # bytes come reassembled and go to the tap whole: within its MTU + 22).
        self.assertGreaterEqual(punted, 12, "fewer frames went to the kernel than the datagrams need")

    def test_largest_datagram_the_ring_holds(self):
        before = self.health()
        received, _ = self.exchange([LARGEST_WHOLE], echo=False)
        after = self.health()
        self.assertEqual(received, [digest(LARGEST_WHOLE)])
        self.assertEqual(self.drops_delta(before, after), {})

    def test_beyond_the_ring_slot_is_counted_not_lost_silently(self):
        # One byte more than a slot holds: the kernel cuts the frame, the
        # parser finds the IPv4 total length beyond it and counts the drop.
        before = self.health()
        received, _ = self.exchange([LARGEST_WHOLE + 1, 1000], echo=False, max_s=3)
        after = self.health()
        self.assertEqual(received, [digest(1000)], "only the datagram that fits may arrive")
        self.assertEqual(self.drops_delta(before, after), {"bad_ip_header": 1})


if __name__ == "__main__":
    harness.main()
