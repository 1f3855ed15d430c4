"""tandem-sbc end to end on loopback: real sipp peers as providers and as call
servers (sipp UAS answering OPTIONS with -aa, as Kamailio's dispatcher tests do),
the real tandem-sbc between them, tandemctl for what an operator sees.

  127.0.30.1:5060          tandem-sbc
  127.0.30.2, 127.0.30.3   providers (sipp UAC); 127.0.30.9 nobody's
  127.0.30.11..14          four local call servers; 127.0.30.21 a remote one
  127.0.30.50, .51         addresses where no server answers

Real tandem-control servers behind the SBC: tests/integration/sip/test_sbc_front.py
(the one-node lab, CANCEL included) and test_sbc_dc.py here (a data center of four).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "sip"))

import harness  # noqa: E402
import lab  # noqa: E402  (SbcProcess)
from harness import CLEANUP, log, spawn, stop_process, temp_dir, wait_for  # noqa: E402

SCENARIOS = os.path.join(HERE, "scenarios")
SBC_IP = "127.0.30.1"
PROVIDERS = ("127.0.30.2", "127.0.30.3")
STRANGER = "127.0.30.9"
LOCAL = {f"cs{i}": f"127.0.30.{10 + i}" for i in range(1, 5)}
REMOTE = {"far1": "127.0.30.21"}
NOBODY = ("127.0.30.50", "127.0.30.51")


class Server:
    """A call server's worth of SIP: sipp UAS answering calls and OPTIONS (over TCP: `tcp`)."""

    def __init__(self, work, name, ip, tcp=False):
        self.name, self.ip, self.work, self.tcp = name, ip, work, tcp
        self.proc = None

    def start(self):
        transport = ["-t", "t1"] if self.tcp else []
        self.proc = spawn(["sipp", "-sn", "uas", *transport, "-aa", "-i", self.ip, "-p", "5060", "-nostdin",
                           "-trace_err", "-error_file", os.path.join(self.work, f"{self.name}.err")],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.work)
        wait_for(lambda: bound(self.ip, 5060, self.tcp), 10, what=f"{self.name} listening")

    def stop(self):
        if self.proc:
            if self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGCONT)
            stop_process(self.proc, timeout=5)
            self.proc = None


class Answerer:
    """A call server that only answers: OPTIONS 200, every INVITE a final `code` (with
    Retry-After when `retry_after`), on UDP; counts the INVITEs. What a real call server says
    when it cannot take a call (503 with Retry-After) or when the call itself failed behind it."""

    def __init__(self, ip, code, retry_after=None):
        self.ip, self.code, self.retry_after = ip, code, retry_after
        self.invites = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 5060))
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()
        CLEANUP.add(f"stop the answerer on {ip}", self.stop)

    def serve(self):
        while self.running:
            try:
                data, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            head = data.decode(errors="replace").split("\r\n\r\n", 1)[0].split("\r\n")
            method = head[0].split(" ", 1)[0]
            if method not in ("OPTIONS", "INVITE"):
                continue  # ACK of our final answer
            if method == "INVITE":
                self.invites += 1
            code, phrase = (200, "OK") if method == "OPTIONS" else (self.code, "Refused")
            keep = [h for h in head[1:] if h.split(":", 1)[0].strip().lower() in ("via", "from", "call-id", "cseq")]
            to = next(h for h in head[1:] if h.lower().startswith("to:"))
            extra = [f"Retry-After: {self.retry_after}"] if method == "INVITE" and self.retry_after else []
            reply = [f"SIP/2.0 {code} {phrase}", *keep, to + ";tag=answerer", *extra, "Content-Length: 0", "", ""]
            self.sock.sendto("\r\n".join(reply).encode(), peer)

    def stop(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


def raw_request(source_ip, text, wait=1.0):
    """A request from `source_ip` (its {port} filled in); the final answer's code, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source_ip, 0))
    s.sendto(text.format(me=source_ip, port=s.getsockname()[1]).replace("\n", "\r\n").encode(), (SBC_IP, 5060))
    deadline = time.monotonic() + wait
    try:
        while time.monotonic() < deadline:
            s.settimeout(max(deadline - time.monotonic(), 0.01))
            data = s.recv(65535).decode(errors="replace")
            code = int(data.split(" ", 2)[1])
            if code >= 200:
                return code, data
    except socket.timeout:
        pass
    finally:
        s.close()
    return None, ""


def bound(ip, port, tcp=False):
    out = subprocess.run(["ss", "-Htlpn" if tcp else "-Hulpn"], capture_output=True, text=True).stdout
    return f"{ip}:{port} " in out


def sbc(work, servers, extra=()):
    """tandem-sbc on loopback in front of `servers` (--server specs); the providers are its peers."""
    return lab.SbcProcess(work, None, ["--sip", f"{SBC_IP}:5060",
                                       *[f"--peer=provider{i}={ip}" for i, ip in enumerate(PROVIDERS)],
                                       *[f"--server={s}" for s in servers], *extra])


def sipp_calls(work, provider, scenario, count, rate, duration_ms, port=5062, timeout=60, extra=()):
    """Places `count` calls through the SBC; returns (successful, failed)."""
    stat = os.path.join(work, f"uac-{provider}-{time.monotonic_ns()}")
    cmd = ["sipp", f"{SBC_IP}:5060", "-sf", os.path.join(SCENARIOS, scenario), "-s", "+4930100001",
           "-i", provider, "-p", str(port), "-m", str(count), "-r", str(rate), "-d", str(duration_ms),
           "-nostdin", "-timeout", f"{timeout}s", "-timeout_error", "-trace_err",
           "-error_file", stat + ".err", "-trace_screen", "-screen_file", stat + ".screen", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 15, cwd=work)
    with open(stat + ".screen", errors="replace") as f:
        screen = f.read()
    ok = re.search(r"Successful call\s+\|\s+\d+\s+\|\s+(\d+)", screen)
    bad = re.search(r"Failed call\s+\|\s+\d+\s+\|\s+(\d+)", screen)
    if not ok or not bad:
        raise RuntimeError(f"sipp wrote no statistics (exit {r.returncode}): {r.stderr[-2000:]}")
    return int(ok.group(1)), int(bad.group(1))


def raw_invite(source_ip, wait=1.0, call_id=None, extra=""):
    """One INVITE over UDP from `source_ip` (`extra`: more header lines, CRLF-ended); every
    response within `wait` s, as (code, text, seconds)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source_ip, 0))
    port = s.getsockname()[1]
    call_id = call_id or f"raw-{time.monotonic_ns()}@{source_ip}"
    msg = (f"INVITE sip:+4930100001@{SBC_IP}:5060 SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP {source_ip}:{port};branch=z9hG4bK{time.monotonic_ns()}\r\n"
           f"From: <sip:+4940111@{source_ip}>;tag=raw\r\nTo: <sip:+4930100001@{SBC_IP}>\r\n"
           f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:raw@{source_ip}:{port}>\r\n"
           f"Max-Forwards: 70\r\n{extra}Content-Length: 0\r\n\r\n")
    start = time.monotonic()
    s.sendto(msg.encode(), (SBC_IP, 5060))
    got = []
    deadline = start + wait
    while time.monotonic() < deadline:
        s.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            data = s.recv(65535).decode(errors="replace")
        except socket.timeout:
            break
        code = int(data.split(" ", 2)[1])
        got.append((code, data, time.monotonic() - start))
        if code >= 200:
            ack = msg.replace("INVITE sip", "ACK sip", 1).replace("CSeq: 1 INVITE", "CSeq: 1 ACK")
            s.sendto(ack.encode(), (SBC_IP, 5060))
            break
    s.close()
    return got


class SbcTest(unittest.TestCase):
    servers = {}

    @classmethod
    def setUpClass(cls):
        cls.work = temp_dir("tandem-sbc-")
        cls.servers = {n: Server(cls.work, n, ip) for n, ip in {**LOCAL, **REMOTE}.items()}
        for s in cls.servers.values():
            s.start()
            CLEANUP.add(f"stop {s.name}", s.stop)

    def setUp(self):
        self.sbc = None
        for s in self.servers.values():
            if s.proc is None or s.proc.poll() is not None:
                s.start()

    def tearDown(self):
        for s in self.servers.values():
            if s.proc and s.proc.poll() is None:
                os.kill(s.proc.pid, signal.SIGCONT)
        if self.sbc:
            if self._outcome_failed():
                log("SBC log tail:\n" + self.sbc.text()[-4000:])
            self.sbc.stop()

    def _outcome_failed(self):
        outcome = getattr(self, "_outcome", None)
        return outcome is not None and not getattr(outcome, "success", True)

    def start_sbc(self, names, extra=(), probe_interval_ms=300, server_timeout_ms=400):
        """An SBC in front of the servers `names` (ours by name, or NAME=IP)."""
        specs = [n if "=" in n else f"{n}={LOCAL.get(n) or REMOTE[n]},dc={'remote' if n in REMOTE else 'local'}"
                 for n in names]
        self.sbc = sbc(self.work, specs, ["--probe-interval", str(probe_interval_ms),
                                          "--server-timeout", str(server_timeout_ms), *extra])
        self.sbc.start()
        wait_for(lambda: all(s["probed"] for s in self.sbc.servers().values() if s["name"] in self.servers), 5,
                 what="every server probed")
        return self.sbc

    def sent(self):
        return {n: s["calls_sent"] for n, s in self.sbc.servers().items()}

    # Distribution.

    def test_equal_idle_servers_take_calls_in_turn(self):
        self.start_sbc(LOCAL)
        ok, bad = sipp_calls(self.work, PROVIDERS[0], "uac_routed.xml", 8, 4, 50)
        self.assertEqual((ok, bad), (8, 0))
        self.assertEqual(self.sent(), {n: 2 for n in LOCAL})
        log(f"calls per server: {self.sent()}")
        self.assertEqual(self.sbc.counters()["acks"], 8, "every ACK through the SBC by the route set")
        self.assertGreaterEqual(self.sbc.counters()["in_dialog"], 8, "every BYE through the SBC")

    def test_a_burst_within_one_probe_interval_spreads_over_every_server(self):
        self.start_sbc(LOCAL, probe_interval_ms=5000)
        ok, bad = sipp_calls(self.work, PROVIDERS[0], "uac_routed.xml", 40, 400, 2000)
        self.assertEqual((ok, bad), (40, 0))
        self.assertEqual(self.sent(), {n: 10 for n in LOCAL})

    def test_remote_dc_only_when_no_local_server_can_take_the_call(self):
        self.start_sbc(["cs1", "cs2", "far1"])
        ok, _ = sipp_calls(self.work, PROVIDERS[0], "uac_routed.xml", 4, 10, 50)
        self.assertEqual(ok, 4)
        self.assertEqual(self.sent()["far1"], 0)
        for n in ("cs1", "cs2"):
            self.sbc.ctl("servers", "drain", n)
        self.assertEqual(self.sbc.servers()["cs1"]["draining"], "operator")
        ok, _ = sipp_calls(self.work, PROVIDERS[0], "uac_routed.xml", 3, 10, 50)
        self.assertEqual(ok, 3)
        self.assertEqual(self.sent()["far1"], 3)
        self.sbc.ctl("servers", "undrain", "cs1")
        ok, _ = sipp_calls(self.work, PROVIDERS[0], "uac_routed.xml", 2, 10, 50)
        self.assertEqual(ok, 2)
        self.assertEqual(self.sent()["far1"], 3, "back to the local DC after undrain")

    # Failover.

    def test_a_stopped_server_fails_over_and_comes_back(self):
        self.start_sbc(LOCAL)
        victim = self.servers["cs2"]
        os.kill(victim.proc.pid, signal.SIGSTOP)
        stopped = time.monotonic()
        ok, bad = sipp_calls(self.work, PROVIDERS[0], "uac_routed.xml", 12, 8, 50)
        self.assertEqual((ok, bad), (12, 0), "no provider sees the stopped server")
        servers = self.sbc.servers()
        self.assertGreaterEqual(servers["cs2"]["failovers"], 1)
        down = wait_for(lambda: self.sbc.servers()["cs2"]["state"] == "down", 3, what="cs2 down")
        log(f"cs2 down {time.monotonic() - stopped:.2f} s after SIGSTOP (probe interval 0.3 s)")
        self.assertTrue(down)
        self.assertGreaterEqual(self.sbc.counters()["server_timeouts"], 1)
        os.kill(victim.proc.pid, signal.SIGCONT)
        wait_for(lambda: self.sbc.servers()["cs2"]["state"] == "up", 3, what="cs2 up again")

    def test_a_server_marked_down_before_it_answered_gives_the_call_back(self):
        # --server-timeout (5 s) outlives the probes (300 ms, 2 misses): the stopped server is marked
        # down first, its INVITE goes on at once, and the timer it had must not fire afterwards.
        self.start_sbc(["cs1", "cs2"], server_timeout_ms=5000)
        os.kill(self.servers["cs1"].proc.pid, signal.SIGSTOP)  # cs1: the first in turn
        start = time.monotonic()
        ok, bad = sipp_calls(self.work, PROVIDERS[0], "uac_routed.xml", 1, 20, 0)  # at once, before cs1 is down
        took = time.monotonic() - start
        self.assertEqual((ok, bad), (1, 0))
        self.assertLess(took, 3, "given back when cs1 went down, not after --server-timeout")
        self.assertEqual(self.sent(), {"cs1": 1, "cs2": 1})
        time.sleep(5.5)  # past the first INVITE's --server-timeout
        self.assertIsNone(self.sbc.proc.poll(), "tandem-sbc died")
        self.assertEqual(self.sbc.counters()["failovers"], 1)

    def test_an_sbc_behind_on_its_socket_blames_no_server(self):
        # The SBC's core full, in one step: the SBC stopped while cs1's answer arrives, resumed
        # after --server-timeout. Its timer is then due with the 180 and 200 unread in its socket:
        # they are read first, and cs1 keeps the call (no CANCEL, no second INVITE, not failed).
        # T1 of 2 s: nta's own INVITE retransmission (timer A) would also be due, and sipp's UAS
        # drops a call whose INVITE comes again after its 200.
        self.start_sbc(["cs1", "cs2"], probe_interval_ms=5000, extra=["--sip-t1", "2000"])
        cs1 = self.servers["cs1"].proc.pid
        os.kill(cs1, signal.SIGSTOP)  # cs1: the first in turn
        call = {}
        t = threading.Thread(target=lambda: call.update(r=sipp_calls(self.work, PROVIDERS[0], "uac_routed.xml", 1, 10,
                                                                      50)))
        t.start()
        try:
            wait_for(lambda: self.sent()["cs1"] == 1, 5, what="the INVITE sent to cs1")
            os.kill(self.sbc.proc.pid, signal.SIGSTOP)
            os.kill(cs1, signal.SIGCONT)
            time.sleep(1.0)  # the 400 ms --server-timeout is long past when the SBC runs again
        finally:
            os.kill(self.sbc.proc.pid, signal.SIGCONT)
            os.kill(cs1, signal.SIGCONT)
            t.join(30)
        self.assertEqual(call.get("r"), (1, 0))
        counters = self.sbc.counters()
        self.assertEqual(self.sent(), {"cs1": 1, "cs2": 0})
        self.assertEqual((counters["failovers"], counters["server_timeouts"], counters["late_2xx"]), (0, 0, 0))
        self.assertEqual(counters["server_timeouts_put_off"], 1)
        self.assertEqual(self.sbc.servers()["cs1"]["state"], "up")

    def test_an_overloaded_sbc_refuses_new_calls_at_once_instead_of_failing_them_later(self):
        # 300 INVITEs at 500 a second; for the first 0.4 s the SBC cannot read (its core full, in
        # one step). Those that waited over --shed-delay 100 ms are refused with 503 at once, those
        # after go through; no server is blamed, and the log says when it began and ended.
        self.start_sbc(LOCAL, extra=["--shed-delay", "100", "--invite-rate", "0"])
        pid = self.sbc.proc.pid
        call = {}
        os.kill(pid, signal.SIGSTOP)
        try:
            t = threading.Thread(target=lambda: call.update(r=sipp_calls(
                self.work, PROVIDERS[0], "uac_routed.xml", 300, 500, 50, timeout=30)))
            t.start()
            time.sleep(0.4)  # no INVITE retransmitted yet (T1 500 ms)
        finally:
            os.kill(pid, signal.SIGCONT)
        t.join(60)
        ok, bad = call["r"]
        counters = self.sbc.counters()
        log(f"300 INVITEs, the SBC stopped for 0.4 s: {bad} refused at once, {ok} answered")
        self.assertEqual(ok + bad, 300)
        self.assertGreater(bad, 0)
        self.assertGreater(ok, 0)
        self.assertEqual(counters["refused_overload"], bad)
        self.assertEqual((counters["failovers"], counters["no_server"]), (0, 0))
        self.assertIn("overloaded:", self.sbc.text())
        self.assertIn(f"overload over: {bad} new INVITEs were refused", self.sbc.text())

    def test_a_killed_server_costs_no_call(self):
        self.start_sbc(LOCAL)
        self.servers["cs3"].stop()
        ok, bad = sipp_calls(self.work, PROVIDERS[0], "uac_routed.xml", 12, 8, 50)
        self.assertEqual((ok, bad), (12, 0))
        wait_for(lambda: self.sbc.servers()["cs3"]["state"] == "down", 3, what="cs3 down")

    def test_503_with_retry_after_at_once_when_no_server_is_up(self):
        self.start_sbc([f"dead{i}={ip}" for i, ip in enumerate(NOBODY)])
        wait_for(lambda: all(s["state"] == "down" for s in self.sbc.servers().values()), 5, what="both down")
        got = raw_invite(PROVIDERS[0])
        finals = [g for g in got if g[0] >= 200]
        self.assertEqual([g[0] for g in finals], [503])
        self.assertRegex(finals[0][1], r"(?m)^Retry-After: *[1-9]")
        self.assertLess(finals[0][2], 0.2, "no waiting on servers known to be down")
        self.assertEqual(self.sbc.counters()["no_server"], 1)

    def test_503_at_once_when_every_server_is_at_capacity(self):
        # sipp reports no load: with probes this rare the SBC's own count is the load.
        self.start_sbc(["cs1=127.0.30.11,capacity=1", "cs2=127.0.30.12,capacity=1"], probe_interval_ms=60000)
        held = {}
        t = threading.Thread(target=lambda: held.update(r=sipp_calls(self.work, PROVIDERS[0], "uac_routed.xml", 2, 10,
                                                                      3000)))
        t.start()
        wait_for(lambda: sum(s["answered"] for s in self.sbc.servers().values()) == 2, 10, what="2 calls up")
        got = raw_invite(PROVIDERS[1])
        t.join(30)
        finals = [g for g in got if g[0] >= 200]
        self.assertEqual([g[0] for g in finals], [503])
        self.assertLess(finals[0][2], 0.2)
        self.assertRegex(finals[0][1], r"(?m)^Retry-After: *[1-9]")
        self.assertEqual(held.get("r"), (2, 0))

    # In dialog.

    def test_calls_survive_an_sbc_restart(self):
        self.start_sbc(LOCAL)
        results = {}

        def place():
            results["calls"] = sipp_calls(self.work, PROVIDERS[0], "uac_routed.xml", 10, 10, 3000)

        t = threading.Thread(target=place)
        t.start()
        time.sleep(1.5)  # every call answered, none hung up yet
        self.sbc.stop(signal.SIGKILL)
        self.sbc.start()
        t.join(60)
        self.assertEqual(results.get("calls"), (10, 0), "every BYE reached its server through the new SBC")
        self.assertEqual(self.sbc.counters()["in_dialog"], 10)

    def test_a_tcp_server_and_a_connect_failure_that_fails_over_at_once(self):
        tcp = Server(self.work, "tcp1", "127.0.30.41", tcp=True)
        tcp.start()
        try:
            # The dead server first in turn, and probes too rare to have marked it down: the refused
            # connection, not --server-timeout, sends the call on.
            self.start_sbc(["gone=127.0.30.52,transport=tcp", "tcp1=127.0.30.41,transport=tcp"],
                           probe_interval_ms=60000, server_timeout_ms=5000)
            start = time.monotonic()
            ok, bad = sipp_calls(self.work, PROVIDERS[0], "uac_routed.xml", 1, 1, 0)
            took = time.monotonic() - start
            self.assertEqual((ok, bad), (1, 0))
            self.assertLess(took, 3, "failed over on the refused connection, not after --server-timeout")
            self.assertEqual(self.sbc.counters()["failovers"], 1)
            self.assertEqual(self.sbc.counters()["in_dialog"], 1, "the BYE went to the server over TCP")
        finally:
            tcp.stop()

    def test_a_503_with_retry_after_fails_over_and_the_server_sits_out(self):
        # RFC 3261 21.5.4, 3263 4.3: the server says it cannot take the call now.
        busy = Answerer("127.0.30.31", 503, retry_after=5)
        self.start_sbc(["busy=127.0.30.31", "cs1"], probe_interval_ms=5000)
        wait_for(lambda: self.sbc.servers()["busy"]["state"] == "up", 5, what="busy probed up")
        finals = [[g[0] for g in raw_invite(PROVIDERS[0]) if g[0] >= 200] for _ in range(4)]
        self.assertEqual(finals, [[200]] * 4, "every call answered by cs1")
        self.assertEqual(busy.invites, 1, "the busy server sits out until its next probe")
        self.assertEqual(self.sbc.counters()["failovers"], 1)
        self.assertEqual(self.sbc.servers()["busy"]["failovers"], 1)

    def test_a_calls_own_5xx_reaches_the_provider_and_benches_no_server(self):
        # A 500, or a 503 without Retry-After (RFC 3261 21.5.4: as a 500), is how the call ended
        # behind the server (its callee's PBX, no provider): another server would say the same.
        for code, retry_after in ((500, None), (503, None), (502, None)):
            with self.subTest(code=code):
                answerer = Answerer("127.0.30.32", code, retry_after)
                try:
                    self.start_sbc(["calls=127.0.30.32", "cs1"], probe_interval_ms=5000)
                    wait_for(lambda: self.sbc.servers()["calls"]["state"] == "up", 5, what="calls probed up")
                    finals = [[g[0] for g in raw_invite(PROVIDERS[0]) if g[0] >= 200] for _ in range(4)]
                    # Its refusals add no load, so it stays the least loaded and gets the next call.
                    self.assertIn([code], finals)
                    self.assertEqual(sorted(finals), sorted([[code]] * answerer.invites + [[200]] * (4 - answerer.invites)),
                                     "each call the answerer refused reached the provider, none went on to cs1")
                    self.assertEqual(self.sbc.counters()["failovers"], 0)
                    self.assertEqual(self.sbc.servers()["calls"]["state"], "up")
                finally:
                    answerer.stop()
                    self.sbc.stop()
                    self.sbc = None

    # What is addressed to the SBC itself.

    def test_options_to_the_sbc_as_monitoring_sends_it(self):
        self.start_sbc(LOCAL)
        options = ("OPTIONS sip:{me}@" + SBC_IP + " SIP/2.0\nVia: SIP/2.0/UDP {me}:{port};branch=z9hG4bKopt{port}\n"
                   "From: <sip:mon@{me}>;tag=1\nTo: <sip:" + SBC_IP + ">\nCall-ID: opt-{port}\nCSeq: 1 OPTIONS\n"
                   "Max-Forwards: 70\n{extra}Content-Length: 0\n\n")
        # sipsak's Accept: text/plain; our answer has no body, so nothing to refuse.
        self.assertEqual(raw_request(PROVIDERS[0], options.replace("{extra}", "Accept: text/plain\n"))[0], 200)
        code, text = raw_request(PROVIDERS[0], options.replace("{extra}", "Require: nosuch\n"))
        self.assertEqual(code, 420)
        self.assertRegex(text, r"(?m)^Unsupported: *nosuch")
        register = options.replace("OPTIONS sip", "REGISTER sip").replace("1 OPTIONS", "1 REGISTER")
        code, text = raw_request(PROVIDERS[0], register.replace("{extra}", ""))
        self.assertEqual(code, 405)
        self.assertRegex(text, r"(?m)^Allow: *INVITE")

    def test_an_invite_that_requires_an_extension_is_the_far_ends_to_judge(self):
        # RFC 3261 16.3 item 6: a proxy heeds Proxy-Require only.
        self.start_sbc(["cs1"])
        got = raw_invite(PROVIDERS[0], wait=3, extra="Require: timer\r\n")
        self.assertEqual([g[0] for g in got if g[0] >= 200], [200])
        got = raw_invite(PROVIDERS[0], extra="Proxy-Require: nosuch\r\n")
        self.assertEqual([g[0] for g in got], [420])
        self.assertRegex(got[0][1], r"(?m)^Unsupported: *nosuch")
        self.assertEqual(self.sent()["cs1"], 1)

    # Policing.

    def test_a_providers_request_in_a_dialog_goes_to_a_server_only(self):
        # Our Route on top and a To tag make it look like a dialog through us; its next hop is a
        # third party: forwarding it would place a call past the dispatcher from our address.
        self.start_sbc(LOCAL)
        relayed = ("{method} {ruri} SIP/2.0\nVia: SIP/2.0/UDP {me}:{port};branch=z9hG4bKrel{port}\n"
                   "Route: <sip:" + SBC_IP + ":5060;lr>\nFrom: <sip:a@{me}>;tag=1\n"
                   "To: <sip:+19005550100@198.18.1.77>;tag=forged\nCall-ID: rel-{port}\nCSeq: 5 {method}\n"
                   "Contact: <sip:a@{me}:{port}>\nMax-Forwards: 70\nContent-Length: 0\n\n")
        cs1 = f"sip:b@{LOCAL['cs1']}:5060"
        for method, ruri, code, change in (("INVITE", "sip:+19005550100@198.18.1.77", 403, None),
                                           ("BYE", "sip:+19005550100@198.18.1.77", 403, None),
                                           ("BYE", "tel:+19005550100", 416, None),
                                           # to a server, but malformed: never sent on
                                           ("BYE", cs1, 400, ("Max-Forwards: 70", "Max-Forwards: x")),
                                           ("BYE", cs1, 420, ("Max-Forwards: 70", "Max-Forwards: 70\nProxy-Require: x"))):
            with self.subTest(method=method, ruri=ruri, code=code):
                text = relayed.replace("{method}", method).replace("{ruri}", ruri)
                if change:
                    text = text.replace(*change)
                self.assertEqual(raw_request(PROVIDERS[0], text)[0], code)
        self.assertEqual(self.sbc.counters()["in_dialog"], 0)
        self.assertEqual(sum(self.sent().values()), 0)

    def test_an_unknown_source_gets_403_and_nothing_is_forwarded(self):
        self.start_sbc(LOCAL)
        got = raw_invite(STRANGER)
        self.assertEqual([g[0] for g in got], [403])
        self.assertEqual(sum(self.sent().values()), 0)
        self.assertEqual(self.sbc.counters()["refused_peer"], 1)

    def test_a_flood_from_one_provider_does_not_starve_another(self):
        self.start_sbc(LOCAL, ["--invite-rate", "5", "--invite-burst", "5"])
        flood = {}
        t = threading.Thread(target=lambda: flood.update(r=sipp_calls(
            self.work, PROVIDERS[0], "uac_routed.xml", 150, 50, 20, port=5062)))
        t.start()
        ok, bad = sipp_calls(self.work, PROVIDERS[1], "uac_routed.xml", 8, 2, 20, port=5064)
        t.join(60)
        log(f"flood at 10x the limit: {flood.get('r')}; the other provider: {(ok, bad)}")
        self.assertEqual((ok, bad), (8, 0))
        self.assertGreater(flood["r"][1], 50, "the flood's excess refused")
        self.assertGreater(self.sbc.counters()["refused_rate"], 50)


def main():
    if os.geteuid() != 0:
        harness.skip("needs root (ss -p)")
    harness.require_environment(programs=(lab.SBC, harness.TANDEMCTL))
    if not shutil.which("sipp"):
        harness.skip("sipp is not installed")
    try:
        prog = unittest.main(exit=False, verbosity=2)
        ok = prog.result.wasSuccessful()
    finally:
        CLEANUP.run()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
