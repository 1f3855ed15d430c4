#!/usr/bin/env python3
"""Traffic helpers that run inside a test namespace (started by harness.py
with `ip netns exec NS python3 nstool.py ...`). Standard library only.

  udp       UDP sockets that send RTP-like packets and count what arrives.
            The spec is JSON on stdin; "READY" is printed once the sockets
            are bound, then one JSON report line at the end.
  raw-send  sends Ethernet frames from stdin (each a 4-byte little-endian
            length then the bytes) on an interface with an AF_PACKET socket,
            then prints a JSON report.

udp spec:
  {"sockets": [{"name": "a", "bind": "198.18.1.2:20000", "echo": false}, ...],
   "sends": [{"socket": "a", "to": "198.18.1.1:30000", "count": 5, "ssrc": 1,
              "seq": 0, "tag": 7, "payload_len": 160, "version": 2,
              "kind": "rtp"}, ...],
   "start_delay_ms": 0, "burst": 32, "pause_ms": 2,
   "expect": 100, "linger_ms": 200, "max_ms": 5000}
Sends go round-robin over the entries, `burst` packets then a pause. RTP
payload: a 4-byte tag (which the receiver counts by) then filler; kind "rtcp"
sends an empty receiver report instead. An "echo" socket returns every packet
to where it came from. The tool
stops `linger_ms` after `expect` packets arrived in all, or at `max_ms`.
"""

import json
import resource
import select
import socket
import struct
import sys
import time
from collections import Counter, defaultdict


def endpoint(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def rtp_packet(seq, ssrc, tag, payload_len, version):
    body = struct.pack("!I", tag) + bytes((seq + i) & 0xFF for i in range(max(0, payload_len - 4)))
    return struct.pack("!BBHII", (version & 3) << 6, 0, seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF, ssrc) + body


def rtcp_packet(ssrc):
    return struct.pack("!BBHI", 0x80, 201, 1, ssrc)


def run_udp(spec):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = len(spec.get("sockets", [])) + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(want, soft)), hard))
    socks = {}
    stats = {}
    poller = select.epoll()
    by_fd = {}
    for s in spec.get("sockets", []):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind(endpoint(s["bind"]))
        sock.setblocking(False)
        socks[s["name"]] = sock
        by_fd[sock.fileno()] = s["name"]
        poller.register(sock.fileno(), select.EPOLLIN)
        stats[s["name"]] = {"received": 0, "rtcp": 0, "echoed": 0, "echo": s.get("echo", False),
                            "by_source": Counter(), "by_ssrc": Counter(), "by_tag": Counter(),
                            "by_tag_source": defaultdict(Counter)}
    print("READY", flush=True)

    def receive(timeout):  # seconds
        got = 0
        for fd, _ in poller.poll(timeout):
            name = by_fd[fd]
            st = stats[name]
            while True:
                try:
                    data, src = socks[name].recvfrom(65535)
                except BlockingIOError:
                    break
                got += 1
                source = f"{src[0]}:{src[1]}"
                st["received"] += 1
                if st["echo"]:
                    try:
                        socks[name].sendto(data, src)
                        st["echoed"] += 1
                    except OSError:
                        pass
                if len(data) >= 2 and 192 <= data[1] <= 223:
                    st["rtcp"] += 1
                    continue
                st["by_source"][source] += 1
                if len(data) >= 12:
                    st["by_ssrc"][str(struct.unpack_from("!I", data, 8)[0])] += 1
                if len(data) >= 16:
                    tag = str(struct.unpack_from("!I", data, 12)[0])
                    st["by_tag"][tag] += 1
                    st["by_tag_source"][tag][source] += 1
        return got

    time.sleep(spec.get("start_delay_ms", 0) / 1000)
    # Round-robin over the send entries, one packet of each at a time.
    queue = []
    for entry in spec.get("sends", []):
        for k in range(entry.get("count", 1)):
            queue.append((k, entry))
    queue.sort(key=lambda item: item[0])
    sent = 0
    errors = Counter()
    burst = spec.get("burst", 32)
    pause = spec.get("pause_ms", 2) / 1000
    received = 0
    for i, (k, e) in enumerate(queue):
        sock = socks[e["socket"]]
        if e.get("kind", "rtp") == "rtcp":
            data = rtcp_packet(e.get("ssrc", 0x1234))
        else:
            data = rtp_packet(e.get("seq", 0) + k, e.get("ssrc", 0x1234), e.get("tag", 0),
                              e.get("payload_len", 160), e.get("version", 2))
        try:
            sock.sendto(data, endpoint(e["to"]))
            sent += 1
        except OSError as err:
            errors[err.strerror] += 1
        if (i + 1) % burst == 0:
            received += receive(0)
            time.sleep(pause)
    start = time.monotonic()
    expect = spec.get("expect")
    linger = spec.get("linger_ms", 200) / 1000
    max_s = spec.get("max_ms", 3000) / 1000
    reached = None
    while True:
        now = time.monotonic()
        if now - start >= max_s:
            break
        if expect is not None and received >= expect and reached is None:
            reached = now
        if reached is not None and now - reached >= linger:
            break
        if expect is None and now - start >= linger:
            break
        received += receive(0.02)
    report = {"sent": sent, "send_errors": dict(errors), "sockets": {}}
    for name, st in stats.items():
        report["sockets"][name] = {"received": st["received"], "rtcp": st["rtcp"], "echoed": st["echoed"],
                                   "by_source": dict(st["by_source"]),
                                   "by_ssrc": dict(st["by_ssrc"]), "by_tag": dict(st["by_tag"]),
                                   "by_tag_source": {t: dict(c) for t, c in st["by_tag_source"].items()}}
    print(json.dumps(report), flush=True)


def run_raw_send(iface, batch, pause_us):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    sock.bind((iface, 0))
    data = sys.stdin.buffer.read()
    sent = 0
    errors = Counter()
    off = 0
    n = 0
    while off + 4 <= len(data):
        (length,) = struct.unpack_from("<I", data, off)
        frame = data[off + 4:off + 4 + length]
        off += 4 + length
        try:
            sock.send(frame)
            sent += 1
        except OSError as err:
            errors[err.strerror] += 1
        n += 1
        if batch and n % batch == 0:
            time.sleep(pause_us / 1e6)
    print(json.dumps({"sent": sent, "errors": dict(errors)}), flush=True)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if sys.argv[1] == "udp":
        run_udp(json.loads(sys.stdin.read() if len(sys.argv) < 3 else sys.argv[2]))
    elif sys.argv[1] == "raw-send":
        iface = sys.argv[2]
        batch = int(sys.argv[3]) if len(sys.argv) > 3 else 0
        pause_us = int(sys.argv[4]) if len(sys.argv) > 4 else 0
        run_raw_send(iface, batch, pause_us)
    else:
        sys.exit(f"nstool: unknown command {sys.argv[1]}")


if __name__ == "__main__":
    main()
