"""Sends raw SIP messages and reports what came back; run inside a test
namespace (ip netns exec NS python3 sip_send.py ...).

  sip_send.py corpus --to IP:PORT --dir DIR          each *.dat over the transport its top Via names
  sip_send.py burst  --to IP:PORT --dir DIR --count N  N malformed datagrams (mutated corpus, garbage)
  sip_send.py big    --to IP:PORT --size N --transport tcp   one OPTIONS of N bytes (a long header)
  sip_send.py no-ack --to IP:PORT --called NUMBER      an INVITE over UDP whose 2xx is never ACKed;
                                                       waits --wait s for the BYE, answers it
  sip_send.py stream --to IP:PORT --file F             F's bytes on one TCP connection; every code that
                                                       comes back until the server closes it (or --wait s)
  sip_send.py call --to IP:PORT --called NUMBER [--offer SDP | --answer SDP] [--reoffer SDP]
                                                       a call over UDP: INVITE (with --offer, or none: a
                                                       delayed offer, --answer goes in the ACK), then a
                                                       re-INVITE with --reoffer; waits --wait s for a BYE

Prints one JSON object: for corpus, file -> {"transport", "codes"} with every
status code received within the wait; for burst, {"sent": N}.
"""

import argparse
import json
import os
import random
import re
import socket
import time


TOP_VIA = re.compile(rb"^(?:Via|v)[ \t]*:[ \t\r\n]*SIP[ \t\r\n]*/[ \t\r\n]*2\.0[ \t\r\n]*/[ \t\r\n]*([A-Za-z]+)",
                     re.M | re.I)


def top_via_transport(raw):
    m = TOP_VIA.search(raw)
    return m.group(1).decode().upper() if m else "UDP"


def with_via_transport(raw, transport):
    """The message with its top Via naming `transport` (a server drops a
    request whose Via names another transport than the one it came on)."""
    m = TOP_VIA.search(raw)
    if not m:
        return raw
    return raw[:m.start(1)] + transport.encode() + raw[m.end(1):]


def codes_in(data):
    return [int(c) for c in re.findall(rb"^SIP/2\.0 (\d{3}) ", data, re.M)]


def send_udp(host, port, raw, wait, source=""):
    """As a UAC does over UDP (RFC 3261 timer A): the request again after 0.5 s and 1 s
    while no final answer came, so that a datagram lost on a loaded machine is no verdict."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.sendto(raw, (host, port))
    codes = []
    for retransmit_after in (0.5, 1.0, wait):
        codes += collect(s, retransmit_after, lambda: s.recv(65535), close=False)
        if any(c >= 200 for c in codes):
            break
        s.sendto(raw, (host, port))
    s.close()
    return codes


def send_tcp(host, port, raw, wait, source=""):
    s = socket.create_connection((host, port), timeout=5, source_address=(source, 0))
    s.sendall(raw)
    return collect(s, wait, lambda: s.recv(65535))


def collect(s, wait, recv, close=True):
    """Everything received until `wait` s pass with no final answer, or 0.3 s after one."""
    codes = []
    deadline = time.monotonic() + wait
    s.settimeout(0.1)
    try:
        while time.monotonic() < deadline:
            try:
                data = recv()
            except socket.timeout:
                continue
            if not data:
                break
            codes += codes_in(data)
            if any(c >= 200 for c in codes):
                deadline = min(deadline, time.monotonic() + 0.3)
    finally:
        if close:
            s.close()
    return codes


def corpus(args):
    host, port = args.to.rsplit(":", 1)
    out = {}
    for name in sorted(os.listdir(args.dir)):
        if not name.endswith(".dat"):
            continue
        with open(os.path.join(args.dir, name), "rb") as f:
            raw = f.read()
        transport = args.transport.upper() if args.transport else top_via_transport(raw)
        if transport not in ("UDP", "TCP"):
            transport = "TCP"  # TLS (bext01): we do not speak it; the same message over TCP
        if top_via_transport(raw) != transport:
            raw = with_via_transport(raw, transport)
        send = send_tcp if transport == "TCP" else send_udp
        out[name[:-4]] = {"transport": transport, "codes": send(host, int(port), raw, args.wait, args.source)}
    print(json.dumps(out))


def burst(args):
    host, port = args.to.rsplit(":", 1)
    rng = random.Random(args.seed)
    seeds = []
    for name in sorted(os.listdir(args.dir)):
        if name.endswith(".dat"):
            with open(os.path.join(args.dir, name), "rb") as f:
                seeds.append(f.read())
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
    sent = 0
    for i in range(args.count):
        kind = i % 4
        if kind == 0:  # random bytes
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 1400)))
        else:
            data = bytearray(rng.choice(seeds))
            for _ in range(rng.randint(1, 20)):  # flip, drop or duplicate a few bytes
                at = rng.randrange(len(data))
                op = rng.randrange(3)
                if op == 0:
                    data[at] = rng.getrandbits(8)
                elif op == 1:
                    del data[at]
                else:
                    data[at:at] = data[at:at + rng.randint(1, 40)]
            if kind == 3:  # truncated
                data = data[:rng.randint(1, len(data))]
            data = bytes(data[:60000])
        try:
            s.sendto(data, (host, int(port)))
            sent += 1
        except OSError:
            pass
        if i % 200 == 199:
            time.sleep(0.01)  # bounded pace: the point is bad input, not a flood that drops in the kernel
    print(json.dumps({"sent": sent}))


def big(args):
    host, port = args.to.rsplit(":", 1)
    head = ("OPTIONS sip:{host} SIP/2.0\r\nVia: SIP/2.0/{t} 0.0.0.0:5060;branch=z9hG4bK-big{n}\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:big@example.net>;tag=1\r\nTo: <sip:{host}>\r\n"
            "Call-ID: big-{n}\r\nCSeq: 1 OPTIONS\r\n").format(host=host, t=(args.transport or "tcp").upper(),
                                                           n=args.size)
    tail = "Content-Length: 0\r\n\r\n"
    pad = "X-Padding: " + "a" * max(0, args.size - len(head) - len(tail) - 13) + "\r\n"
    raw = (head + pad + tail).encode()
    send = send_udp if args.transport == "udp" else send_tcp
    print(json.dumps({"size": len(raw), "codes": send(host, int(port), raw, args.wait, args.source)}))


def no_ack(args):
    """An INVITE (UDP, with an offer) whose 2xx we never ACK; then the BYE that
    RFC 3261 13.3.1.4 says must come, answered 200. Prints the codes received,
    the seconds from the first 2xx to the BYE and the BYE's Reason."""
    host, port = args.to.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, int(port)))  # which also gives the socket its address, for Via and Contact
    me, my_port = s.getsockname()
    sdp = f"v=0\r\no=- 1 1 IN IP4 {me}\r\ns=-\r\nc=IN IP4 {me}\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
    invite = (f"INVITE sip:{args.called}@{host}:{port} SIP/2.0\r\n"
              f"Via: SIP/2.0/UDP {me}:{my_port};branch=z9hG4bK-noack-{my_port}\r\nMax-Forwards: 70\r\n"
              f"From: <sip:noack@{me}>;tag=noack\r\nTo: <sip:{args.called}@{host}>\r\n"
              f"Call-ID: noack-{my_port}@{me}\r\nCSeq: 1 INVITE\r\nContact: <sip:noack@{me}:{my_port}>\r\n"
              f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}")
    s.send(invite.encode())
    s.settimeout(0.2)
    out = {"codes": [], "bye_after_s": None, "bye_reason": None}
    answered_at = None
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline and out["bye_after_s"] is None:
        try:
            data = s.recv(65535)
        except socket.timeout:
            continue
        if data.startswith(b"SIP/2.0 "):
            out["codes"] += codes_in(data)
            if answered_at is None and any(200 <= c < 300 for c in codes_in(data)):
                answered_at = time.monotonic()
        elif data.startswith(b"BYE ") and answered_at:
            out["bye_after_s"] = round(time.monotonic() - answered_at, 2)
            reason = re.search(rb"^Reason:[ \t]*(.*?)\r$", data, re.M | re.I)
            out["bye_reason"] = reason.group(1).decode() if reason else None
            s.send(ok_for(data))
    s.close()
    print(json.dumps(out))


def stream(args):
    """The file's bytes on one TCP connection: the codes received, and after how
    many seconds the server closed the connection (None: still open after --wait)."""
    host, port = args.to.rsplit(":", 1)
    with open(args.file, "rb") as f:
        raw = f.read()
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(raw)
    s.settimeout(0.1)
    start = time.monotonic()
    out = {"codes": [], "closed_after_s": None}
    while time.monotonic() < start + args.wait:
        try:
            data = s.recv(65535)
        except socket.timeout:
            continue
        except ConnectionResetError:
            data = b""
        if not data:
            out["closed_after_s"] = round(time.monotonic() - start, 2)
            break
        out["codes"] += codes_in(data)
    s.close()
    print(json.dumps(out))


def sdp_text(template, me, media_port):
    """An SDP of the command line: "{ip}" and "{port}" filled in, lines ended by CRLF."""
    lines = template.replace("{ip}", me).replace("{port}", str(media_port)).strip().split("\n")
    return "".join(line.strip() + "\r\n" for line in lines)


def header(message, name, compact):
    m = re.search(rb"^(?:" + name + rb"|" + compact + rb")[ \t]*:[ \t]*(.*?)\r$", message, re.M | re.I)
    return m.group(1).decode() if m else None


def body_of(message):
    return message.split(b"\r\n\r\n", 1)[1].decode(errors="replace") if b"\r\n\r\n" in message else ""


class Dialog:
    """The caller's side of one call over UDP, as simple as a test needs."""

    def __init__(self, args):
        host, port = args.to.rsplit(":", 1)
        self.node = (host, int(port))
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.connect(self.node)
        self.me, self.port = self.s.getsockname()
        self.call_id = f"call-{self.port}@{self.me}"
        self.from_ = f"<sip:caller@{self.me}>;tag=c{self.port}"
        self.to = f"<sip:{args.called}@{host}>"
        self.target = f"sip:{args.called}@{host}:{port}"
        self.cseq = 0
        self.codes = []
        self.pending = []  # requests from the node that came while we waited for a response

    def request(self, method, body="", cseq=None):
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        branch = f"z9hG4bK-{method.lower()}-{cseq}-{self.port}-{time.monotonic_ns()}"
        text = (f"{method} {self.target} SIP/2.0\r\nVia: SIP/2.0/UDP {self.me}:{self.port};branch={branch}\r\n"
                f"Max-Forwards: 70\r\nFrom: {self.from_}\r\nTo: {self.to}\r\nCall-ID: {self.call_id}\r\n"
                f"CSeq: {cseq} {method}\r\nContact: <sip:caller@{self.me}:{self.port}>\r\n")
        if body:
            text += f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        else:
            text += "Content-Length: 0\r\n\r\n"
        self.s.send(text.encode())
        return text.encode()

    def recv(self, timeout):
        self.s.settimeout(timeout)
        try:
            return self.s.recv(65535)
        except socket.timeout:
            return None

    def invite(self, body, wait=10):
        """An INVITE (or re-INVITE) and its ACK: the final response."""
        raw = self.request("INVITE", body)
        cseq = self.cseq
        deadline, resend = time.monotonic() + wait, time.monotonic() + 0.5
        while time.monotonic() < deadline:
            data = self.recv(0.1)
            if data is None:
                if time.monotonic() > resend:
                    self.s.send(raw)
                    resend = time.monotonic() + 1
                continue
            if not data.startswith(b"SIP/2.0 "):
                self.pending.append(data)
                continue
            resend = deadline
            code = codes_in(data)[0]
            self.codes.append(code)
            if code >= 200:
                if code < 300:
                    self.to = header(data, rb"To", rb"t")
                    contact = re.search(r"<([^>]+)>", header(data, rb"Contact", rb"m") or "")
                    if contact:
                        self.target = contact.group(1)
                return data, cseq
        return None, cseq

    def ack(self, cseq, body=""):
        self.request("ACK", body, cseq=cseq)

    def wait_bye(self, wait, final_2xx, ack_body, cseq):
        """Answers the BYE that comes within `wait` s (the seconds it took); the
        2xx again gets its ACK again."""
        start = time.monotonic()
        while time.monotonic() < start + wait:
            data = self.pending.pop(0) if self.pending else self.recv(0.1)
            if data is None:
                continue
            if data.startswith(b"SIP/2.0 ") and final_2xx and codes_in(data)[:1] == [200]:
                self.ack(cseq, ack_body)
            elif data.startswith(b"BYE "):
                self.s.send(ok_for(data))
                return round(time.monotonic() - start, 2)
        return None


def call(args):
    """A call as its caller: the SDP of each final answer, and whether a BYE came."""
    d = Dialog(args)
    media = 40000 + d.port % 1000 * 2
    offer = sdp_text(args.offer, d.me, media) if args.offer else ""
    out = {"codes": [], "sdp": None, "reinvite_sdp": None, "bye_after_s": None}
    final, cseq = d.invite(offer)
    ack_body = ""
    if final and codes_in(final)[0] < 300:
        out["sdp"] = body_of(final)
        ack_body = sdp_text(args.answer, d.me, media) if args.answer and not offer else ""
        d.ack(cseq, ack_body)
        if args.reoffer:
            final, cseq = d.invite(sdp_text(args.reoffer, d.me, media))
            ack_body = ""
            if final:
                out["reinvite_sdp"] = body_of(final)
                d.ack(cseq)
        out["bye_after_s"] = d.wait_bye(args.wait, final, ack_body, cseq)
    elif final:
        d.ack(cseq)
    out["codes"] = d.codes
    print(json.dumps(out))


def ok_for(request):
    """A 200 OK to `request`: its Via, From, To, Call-ID and CSeq copied."""
    keep = re.compile(rb"^(Via|v|From|f|To|t|Call-ID|i|CSeq)[ \t]*:", re.I)
    headers = [line for line in request.split(b"\r\n\r\n")[0].split(b"\r\n")[1:] if keep.match(line)]
    return b"\r\n".join([b"SIP/2.0 200 OK"] + headers + [b"Content-Length: 0", b"", b""])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["corpus", "burst", "big", "no-ack", "stream", "call"])
    p.add_argument("--file", help="the bytes to send (stream)")
    p.add_argument("--offer", help="the INVITE's SDP, lines split by \\n, {ip} and {port} filled in (call)")
    p.add_argument("--answer", help="the ACK's SDP when the INVITE had none (call)")
    p.add_argument("--reoffer", help="a re-INVITE's SDP after the ACK (call)")
    p.add_argument("--called", help="the number an INVITE calls (no-ack, call)")
    p.add_argument("--to", required=True)
    p.add_argument("--source", default="", help="our address (corpus, big; default: the kernel's choice)")
    p.add_argument("--dir")
    p.add_argument("--size", type=int, default=100000)
    p.add_argument("--transport", choices=["udp", "tcp"], help="force one transport (corpus)")
    p.add_argument("--wait", type=float, default=1.5, help="seconds to wait for answers per message")
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--seed", type=int, default=4475)
    args = p.parse_args()
    {"corpus": corpus, "burst": burst, "big": big, "no-ack": no_ack, "stream": stream, "call": call}[args.mode](args)


if __name__ == "__main__":
    main()
