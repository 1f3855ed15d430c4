#!/usr/bin/env python3
"""The control socket under abuse: unframeable input gets one error reply and
the connection is closed; well-framed bad requests get an error reply each
and the connection stays usable; seeded random input, clients killed
mid-message, clients that never read, and more clients than the limit. The
dataplane must keep answering, count every refusal in control_errors, and
let go of every client."""

import json
import random
import socket
import subprocess
import sys
import time

import dpctl
import harness

FUZZ_CONNECTIONS = 300
FUZZ_SEED = 7
MAX_CLIENTS = 256      # dataplane/control_server.cc


def header(msg_type=dpctl.HEALTH, seq=1, length=None, body=b"", version=dpctl.VERSION, magic=dpctl.MAGIC):
    return dpctl.encode(msg_type, seq, body, version=version, magic=magic, length=length)


def health_request(seq=1):
    return header(dpctl.HEALTH, seq, body=dpctl.HEALTH_REQUEST.pack(0, 0))


SENTINEL_SEQ = 0xFFFFFFFF


def read_messages(sock, timeout=3.0, until_seq=None):
    """Reads until the dataplane closes the connection, `timeout` passes, or
    the reply with seq `until_seq` arrived. Returns (messages as (type, seq,
    body), closed)."""
    sock.settimeout(0.2)
    data = b""
    deadline = time.monotonic() + timeout
    closed = False
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
        if until_seq is not None and any(seq == until_seq for _, seq, _ in parse(data, partial=True)):
            break
    return parse(data), closed


def parse(data, partial=False):
    messages = []
    while len(data) >= dpctl.HEADER.size:
        magic, version, msg_type, length, seq = dpctl.HEADER.unpack_from(data)
        if magic != dpctl.MAGIC or version != dpctl.VERSION or length < dpctl.HEADER.size:
            raise AssertionError(f"the dataplane sent a malformed message: {data[:16].hex()}")
        if len(data) < length:
            break
        messages.append((msg_type, seq, data[dpctl.HEADER.size:length]))
        data = data[length:]
    if data and not partial:
        raise AssertionError(f"{len(data)} bytes of a cut message from the dataplane")
    return messages


class ControlFuzzTest(harness.DataplaneTest):

    def connect(self, timeout=5.0):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # Blocking connect: with a timeout Python makes the socket non-blocking,
        # and a full listen backlog then fails at once (EAGAIN) instead of waiting.
        s.connect(self.dp.socket)
        s.settimeout(timeout)
        return s

    def assert_fatal(self, data, code):
        """Unframeable: one error reply with `code`, then the connection closes."""
        with self.connect() as s:
            s.sendall(data)
            messages, closed = read_messages(s)
        self.assertEqual(len(messages), 1, f"{data[:20]!r}: replies {messages}")
        msg_type, seq, body = messages[0]
        self.assertEqual(msg_type, dpctl.ERROR)
        self.assertEqual(seq, 0)
        self.assertEqual(dpctl.decode_error(body)["name"], code)
        self.assertTrue(closed, f"{data[:20]!r}: connection left open after {code}")

    def assert_clients_back(self):
        # Our own health query is the one client left.
        harness.wait_for(lambda: self.health()["clients"] == 1, 5, what="every client let go")

    # -- unframeable: reply, then close -------------------------------------------

    def test_unframeable_messages_close_the_connection(self):
        before = self.health()
        cases = [
            (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "bad_magic"),
            (b"GE", "bad_magic"),                    # refused as soon as the magic cannot match
            (header(version=dpctl.VERSION + 1), "bad_version"),
            (header(version=dpctl.VERSION - 1), "bad_version"),
            (header(length=100000), "too_large"),
            (header(length=dpctl.MAX_REQUEST + 1), "too_large"),
            (header(length=8), "bad_length"),
            (header(length=0), "bad_length"),
            (header(magic=0x43504454), "bad_magic"),  # byte-swapped magic
        ]
        for data, code in cases:
            with self.subTest(code=code, data=data[:16]):
                self.assert_fatal(data, code)
        after = self.health()
        self.assertEqual(after["control_errors"] - before["control_errors"], len(cases))
        self.assert_clients_back()

    # -- well framed but wrong: reply, stay open --------------------------------------

    def test_bad_requests_get_errors_and_the_connection_stays(self):
        before = self.health()
        leg = dpctl.leg_spec
        with self.dp.client() as c:
            taken = c.create(leg(0, local_port=30100), leg(1))
            requests = [
                ((99, b""), "unknown_type"),
                ((dpctl.HEALTH | dpctl.REPLY_BIT, dpctl.HEALTH_REQUEST.pack(0, 0)), "unknown_type"),
                ((dpctl.EVENT_SESSION_TIMEOUT, b""), "unknown_type"),
                ((dpctl.HEALTH, b"\0" * 4), "bad_length"),
                ((dpctl.CREATE_SESSION, b"\0" * 31), "bad_length"),
                ((dpctl.HELLO, b"\0" * 33), "bad_length"),
                ((dpctl.CREATE_SESSION, leg(5) + leg(1)), "bad_field"),                  # port not configured
                ((dpctl.CREATE_SESSION, leg(0) + leg(200)), "bad_field"),
                ((dpctl.CREATE_SESSION, leg(0, mode=0x80) + leg(1)), "bad_field"),      # unknown mode bits
                ((dpctl.CREATE_SESSION, leg(0, remote=("198.18.1.2", 0)) + leg(1)), "bad_field"),
                ((dpctl.CREATE_SESSION, leg(0, remote=("127.0.0.1", 4000)) + leg(1)), "bad_field"),
                ((dpctl.CREATE_SESSION, leg(0, remote=("224.0.0.1", 4000)) + leg(1)), "bad_field"),
                ((dpctl.CREATE_SESSION, leg(0, rtcp_port=4001) + leg(1)), "bad_field"),  # RTCP without RTP
                ((dpctl.CREATE_SESSION, leg(0, clock_khz=200) + leg(1)), "bad_field"),
                ((dpctl.CREATE_SESSION, leg(0, reserved=b"\0\1\0") + leg(1)), "bad_field"),
                ((dpctl.CREATE_SESSION, leg(0, local_port=30001) + leg(1)), "port_unavailable"),  # odd
                ((dpctl.CREATE_SESSION, leg(0, local_port=1000) + leg(1)), "port_unavailable"),   # below range
                ((dpctl.CREATE_SESSION, leg(0, local_port=30200) + leg(0, local_port=30200)), "port_unavailable"),
                ((dpctl.CREATE_SESSION, leg(0, local_port=30100) + leg(1)), "port_unavailable"),  # in use
                ((dpctl.UPDATE_LEG, dpctl.update_body(taken["id"], 2, ("198.18.1.2", 4000))), "bad_field"),
                ((dpctl.UPDATE_LEG, dpctl.update_body(taken["id"], 0, ("198.18.1.2", 4000), reserved2=1)),
                 "bad_field"),
                ((dpctl.UPDATE_LEG, dpctl.update_body(taken["id"] + 2, 0, ("198.18.1.2", 4000))),
                 "no_such_session"),
                ((dpctl.DELETE_SESSION, dpctl.SESSION_REQUEST.pack(12345)), "no_such_session"),
                ((dpctl.QUERY_SESSION, dpctl.SESSION_REQUEST.pack(taken["id"] + (2 << 32))), "no_such_session"),
                ((dpctl.LIST_SESSIONS, dpctl.LIST_REQUEST.pack(0, 0, 0)), "bad_field"),
                ((dpctl.LIST_SESSIONS, dpctl.LIST_REQUEST.pack(0, dpctl.MAX_LIST_ITEMS + 1, 0)), "bad_field"),
                ((dpctl.SUBSCRIBE, dpctl.SUBSCRIBE_REQUEST.pack(2, 0)), "bad_field"),
                ((dpctl.PUNT_OFFENDERS, dpctl.OFFENDERS_REQUEST.pack(0, 0)), "bad_field"),
                ((dpctl.PUNT_OFFENDERS, dpctl.OFFENDERS_REQUEST.pack(dpctl.MAX_OFFENDERS + 1, 0)), "bad_field"),
                ((dpctl.PUNT_OFFENDERS, dpctl.OFFENDERS_REQUEST.pack(1, 1)), "bad_field"),
                ((dpctl.PUNT_OFFENDERS, b"\0" * 4), "bad_length"),
            ]
            # Pipelined, with good requests between them: every reply in order.
            batch = []
            for req, code in requests:
                batch += [(req, code), ((dpctl.HEALTH, dpctl.HEALTH_REQUEST.pack(0, 0)), None)]
            replies = c.pipeline([req for req, _ in batch])
            for (req, code), reply in zip(batch, replies):
                with self.subTest(request=req[0], code=code):
                    if code is None:
                        self.assertEqual(reply.type, dpctl.HEALTH | dpctl.REPLY_BIT)
                    else:
                        self.assertTrue(reply.is_error, f"request type {req[0]} was accepted")
                        self.assertEqual(reply.error()["name"], code, reply.error()["message"])
            # Still the same, working connection.
            self.assertEqual(c.hello("after errors")["version"], dpctl.VERSION)
            self.assertEqual(c.query(taken["id"])["id"], taken["id"])
            after = c.health()
        self.assertEqual(after["control_errors"] - before["control_errors"], len(requests))
        self.assertEqual(after["sessions"], 1, "a refused create left a session behind")

    # -- random input -----------------------------------------------------------------

    def test_random_input(self):
        rng = random.Random(FUZZ_SEED)
        types = list(dpctl.REQUEST_BODY) + [0, max(dpctl.REQUEST_BODY) + 1, 0x4001, 0x7FFF, 0xFFFF]
        for i in range(FUZZ_CONNECTIONS):
            kind = rng.randrange(3)
            if kind == 0:      # anything at all
                data = rng.randbytes(rng.randrange(1, 300))
            elif kind == 1:    # a good header, a random type and a body of random size
                t = rng.choice(types)
                body = rng.randbytes(rng.choice([0, 4, 8, 16, 24, 32, rng.randrange(0, 200)]))
                data = header(t, rng.randrange(SENTINEL_SEQ), body=body)
            else:              # a known type with its own body size, random contents
                t = rng.choice(list(dpctl.REQUEST_BODY))
                data = header(t, rng.randrange(SENTINEL_SEQ), body=rng.randbytes(dpctl.REQUEST_BODY[t].size))
                data = data * rng.randrange(1, 4)
            with self.connect() as s:
                # A good request last: its reply tells that all before it was served.
                try:
                    s.sendall(data + health_request(SENTINEL_SEQ))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # refused and closed before we were done
                messages, _ = read_messages(s, timeout=2, until_seq=SENTINEL_SEQ)  # checks replies are well formed
            for msg_type, _, body in messages:
                self.assertTrue(msg_type == dpctl.ERROR or msg_type & dpctl.REPLY_BIT,
                                f"unexpected message type {msg_type:#x}")
            self.assertTrue(self.dp.alive(), f"the dataplane died on input {i}: {data[:64].hex()}")
        h = self.health()
        self.assertGreater(h["control_errors"], 0)
        self.assert_clients_back()

    # -- clients that go away or misbehave -------------------------------------------------

    def test_clients_killed_mid_message(self):
        # Half a header, then gone.
        with self.connect() as s:
            s.sendall(health_request()[:8])
        # A header announcing a body that never comes.
        with self.connect() as s:
            s.sendall(header(dpctl.CREATE_SESSION, 1, length=16 + 32) + b"\0" * 10)
        # A separate process holding the socket mid-message, SIGKILLed.
        code = ("import socket, sys, time\n"
                "s = socket.socket(socket.AF_UNIX)\n"
                f"s.connect({self.dp.socket!r})\n"
                f"s.sendall({health_request()[:11]!r})\n"
                "print('sent', flush=True)\n"
                "time.sleep(60)\n")
        victims = [harness.spawn([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
                   for _ in range(5)]
        for v in victims:
            self.assertEqual(v.stdout.readline().strip(), "sent")
        harness.wait_for(lambda: self.health()["clients"] >= 6, 5, what="the victims connected")
        for v in victims:
            v.kill()
            v.wait(timeout=5)
        self.assert_clients_back()
        self.assertEqual(self.health()["sessions"], 0)

    def test_client_that_never_reads_is_cut_off(self):
        """Pipelines requests whose replies (over 64 MB, the limit of
        control_server.cc) it never reads."""
        before = self.health()
        request = health_request()
        n = (64 << 20) // (dpctl.HEADER.size + dpctl.HEALTH_REPLY.size) + 5000
        with self.connect(timeout=10) as s:
            chunk = request * 1000
            try:
                for _ in range(n // 1000):
                    s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # cut off while still sending
            # Still connected (a client that closed is simply gone, not cut off).
            harness.wait_for(lambda: self.health()["control_errors"] > before["control_errors"], 10,
                             what="the non-reading client cut off and counted")
            self.assertIn("does not read its replies", self.dp.log_text())
        self.assertTrue(self.dp.alive())
        self.assert_clients_back()

    def test_many_clients_at_once(self):
        before = self.health()
        sockets = []
        try:
            for _ in range(200):
                sockets.append(self.connect())
            for i, s in enumerate(sockets):
                s.sendall(header(dpctl.HELLO, i, body=dpctl.HELLO_REQUEST.pack(b"many")) + health_request(i))
            for i, s in enumerate(sockets):
                c = dpctl.Client(sock=s)
                hello = c.recv()
                health = c.recv()
                self.assertEqual((hello.type, hello.seq), (dpctl.HELLO | dpctl.REPLY_BIT, i))
                self.assertEqual((health.type, health.seq), (dpctl.HEALTH | dpctl.REPLY_BIT, i))
            self.assertEqual(self.health()["clients"], 201)
            # Beyond the limit connections are accepted and closed at once.
            for _ in range(MAX_CLIENTS + 20 - len(sockets)):
                sockets.append(self.connect())
            answered = refused = 0
            for s in sockets[200:]:
                try:
                    s.sendall(health_request(SENTINEL_SEQ))
                except (BrokenPipeError, ConnectionResetError):
                    refused += 1
                    continue
                messages, closed = read_messages(s, timeout=2, until_seq=SENTINEL_SEQ)
                if messages:
                    answered += 1
                elif closed:
                    refused += 1
            harness.log(f"beyond 200 clients: {answered} answered, {refused} refused")
            self.assertEqual(answered + refused, MAX_CLIENTS + 20 - 200)
            self.assertGreaterEqual(refused, 20)
            self.assertLessEqual(200 + answered, MAX_CLIENTS)
        finally:
            for s in sockets:
                s.close()
        self.assert_clients_back()
        after = self.health()
        self.assertGreaterEqual(after["control_errors"] - before["control_errors"], 20)

    def test_tandemctl_errors_with_json_are_json(self):
        """tandemctl --json says what went wrong as {"error", "code"} on
        stdout, with the same exit codes as without: 1 refused, 2 usage."""
        def ctl(*args, socket_path=None):
            return harness.run([harness.TANDEMCTL, "--socket", socket_path or self.dp.socket, *args],
                               timeout=20, check=False)

        cases = [
            ((["--json", "dataplane", "show", "999999"], None), 1, "no session"),          # the dataplane refuses
            ((["--json", "dataplane", "status"], "/nonexistent/dp.sock"), 1, "/nonexistent/dp.sock"),  # unreachable
            ((["--json", "dataplane", "create", "--a-remote", "nowhere"], None), 2, "--a-remote nowhere"),
            ((["--json", "dataplane", "update", "1", "--leg", "a", "--remote", "1.2.3.4"], None), 2, "--remote 1.2.3.4"),
            ((["--json", "dataplane", "update", "1", "--remote", "1.2.3.4:4000"], None), 2, "--leg is required"),
            ((["dataplane", "frobnicate", "--json"], None), 2, "unknown option or argument: frobnicate"),
            ((["--json", "dataplane", "create", "--a-latch", "nobody"], None), 2, "nobody"),
        ]
        for (args, sock), code, mention in cases:
            with self.subTest(args=args):
                r = ctl(*args, socket_path=sock)
                self.assertEqual(r.returncode, code, r.stdout + r.stderr)
                body = json.loads(r.stdout)
                self.assertEqual(body["code"], code)
                self.assertIn(mention, body["error"])
                plain = ctl(*[a for a in args if a != "--json"], socket_path=sock)
                self.assertEqual(plain.returncode, code, "the same exit code without --json")
                self.assertEqual(plain.stdout, "", "without --json the error is not on stdout")
                self.assertIn(mention, plain.stderr)


if __name__ == "__main__":
    harness.main()
