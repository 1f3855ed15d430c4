#!/usr/bin/env python3
"""Capture in, capture out, compared field by field. The dataplane runs with
net_pcap ports (rx_pcap = a FIFO the test writes, tx_pcap = a file) in a
namespace of its own; tandem-rtp-pcap generates the callers' and callees'
RTP/RTCP and the frames the relay must send for them (its addresses and
ports, its port MAC towards the remote's MAC, TTL 64), and compares them with
what the relay wrote. The input frames carry TTL 17 so that the TTL rewrite is
checked too. A few legal non-media frames (fragments, IP options) to a live
relay port ride along: never out of the relay; those whose UDP ports show
they are for the relay port (the first fragment, the header with options, a
jumbo frame in a chain of mbufs) are
dropped as unrelayable, since the kernel has no socket there and would answer
"port unreachable"; the later fragment, whose ports nobody can see, goes to
the kernel. net_af_packet cannot show that for fragments, since its socket
fanout reassembles them first.

net_pcap opens its rx pcap at probe, and that blocks until a writer opens
the FIFO: the test opens both FIFOs and writes the pcap headers while the
dataplane starts. A worker reading a pcap FIFO blocks until a whole burst
(or EOF) is there; gratuitous ARPs, a burst of them per port, teach the
dataplane the remotes' MACs first, and the session is created only then
(so that it has no ARP request of its own to send)."""

import os
import queue
import threading

import dpctl
import harness
import packets as pk
from harness import CALLEE_IP, CALLER_IP, RELAY_A_IP, RELAY_B_IP

SESSIONS = 8
PACKETS = 50          # RTP per session and direction
RTCP_EVERY = 10       # an SR after every 10 RTP packets
BURST = 32            # the dataplane's --burst: the ARP preamble fills one
INPUT_TTL = 17
CALLER_MAC = "02:00:00:00:01:02"
CALLEE_MAC = "02:00:00:00:02:02"
A_LOCAL, B_LOCAL = 30000, 32000        # relay ports of session 0 on legs a and b
CALLER_PORT, CALLEE_PORT = 20000, 40000
CALLER_SSRC, CALLEE_SSRC = 0x10000000, 0x20000000


class FifoWriter:
    """Writes a pcap stream into a FIFO from a thread of its own (opening
    blocks until the reader opens, writing blocks while the reader waits on
    the other port): write() queues frames, close() ends the stream."""

    def __init__(self, path):
        self.path = path
        self.queue = queue.Queue()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            with open(self.path, "wb", buffering=0) as f:
                f.write(pk.pcap_header())
                while True:
                    item = self.queue.get()
                    if item is None:
                        return
                    f.write(item)
        except OSError as e:
            self.error = e

    def write(self, frames):
        self.queue.put(b"".join(pk.pcap_record(fr, i * 1000) for i, fr in enumerate(frames)))

    def close(self, timeout=30):
        self.queue.put(None)
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError(f"writing {self.path} did not finish: the dataplane stopped reading")
        if self.error:
            raise AssertionError(f"writing {self.path}: {self.error}")


def rtp_pcap(*args):
    return harness.run([harness.RTP_PCAP] + [str(a) for a in args], timeout=60, check=False)


def generate(out, src_mac, dst_mac, src_ip, dst_ip, src_port, dst_port, ssrc, vlan=None):
    r = rtp_pcap("generate", "--out", out, "--sessions", SESSIONS, "--packets-per-session", PACKETS,
                 "--src-mac", src_mac, "--dst-mac", dst_mac, "--src-ip", src_ip, "--dst-ip", dst_ip,
                 "--src-port-base", src_port, "--dst-port-base", dst_port, "--rtcp-every", RTCP_EVERY,
                 "--ssrc-base", ssrc, *(["--vlan", vlan] if vlan else []))
    if r.returncode != 0:
        raise AssertionError(f"tandem-rtp-pcap generate: {r.stderr}")
    return pk.read_pcap(out)


class FifoDataplaneTest(harness.DataplaneTest):
    """A dataplane on two net_pcap ports whose rx pcaps are FIFOs this test
    writes (self.writers) and whose tx pcaps are files (self.outs), in a
    namespace of its own. Also the base of test_slow_delete.py, which uses
    that a worker reading an empty FIFO blocks, online."""
    # 802.1Q id of each port (None: untagged).
    vlans = (None, None)
    # False: --exception-path none, no taps (no kernel behind the ports).
    exception_path = True

    @classmethod
    def setUpClass(cls):
        harness.CLEANUP.install()
        cls.dir = harness.temp_dir()
        cls.ns = harness.add_netns(f"tandem-{harness.unique_suffix()}-pcap")
        suffix = harness.unique_suffix()
        cls.fifos = [os.path.join(cls.dir, f"in{i}.fifo") for i in (0, 1)]
        cls.outs = [os.path.join(cls.dir, f"out{i}.pcap") for i in (0, 1)]
        for f in cls.fifos:
            os.mkfifo(f)
        def port(i, ip, role):
            tap = f",tap=tp{i}{suffix}" if cls.exception_path else ""
            return f"{i}:{ip}/24,role={role}{tap}" + (f",vlan={cls.vlans[i]}" if cls.vlans[i] else "")

        cls.dp = harness.Dataplane(
            cls.ns,
            vdevs=[f"net_pcap{i},rx_pcap={cls.fifos[i]},tx_pcap={cls.outs[i]}" for i in (0, 1)],
            ports=[port(0, RELAY_A_IP, "public"), port(1, RELAY_B_IP, "private")],
            args=["--burst", str(BURST), "--idle-timeout", "0"] + ([] if cls.exception_path else
                                                                   ["--exception-path", "none"]),
            workdir=cls.dir)
        # The writers open the FIFOs as the dataplane's probe opens them.
        cls.writers = [FifoWriter(f) for f in cls.fifos]
        cls.dp.start(ready_timeout=30)
        cls.baseline_mbufs = cls.dp.health()["mbufs_in_use"]

    @classmethod
    def tearDownClass(cls):
        # The writers end (EOF) so that a blocked worker can see the stop flag.
        for w in getattr(cls, "writers", []):
            if w.thread.is_alive():
                w.queue.put(None)
        super().tearDownClass()


class PcapTest(FifoDataplaneTest):
    def tearDown(self):
        pass  # the one test stops the dataplane itself to flush the captures

    def test_relayed_frames_field_by_field(self):
        mac0, mac1 = self.dp.port_macs[0], self.dp.port_macs[1]
        # 1. The remotes announce themselves; the workers read one burst per port.
        vlan0, vlan1 = self.vlans
        self.writers[0].write([pk.gratuitous_arp(CALLER_MAC, CALLER_IP, vlan0)] * BURST)
        self.writers[1].write([pk.gratuitous_arp(CALLEE_MAC, CALLEE_IP, vlan1)] * BURST)
        harness.wait_for(lambda: self.dp.health()["neighbors"] == 2, 10, what="both remotes' MACs learnt")

        # 2. Sessions with both remotes known, on fixed relay ports.
        with self.dp.client() as c:
            for i in range(SESSIONS):
                s = c.create(dpctl.leg_spec(0, remote=(CALLER_IP, CALLER_PORT + 2 * i), local_port=A_LOCAL + 2 * i),
                             dpctl.leg_spec(1, remote=(CALLEE_IP, CALLEE_PORT + 2 * i), local_port=B_LOCAL + 2 * i))
                self.assertEqual([leg["local_port"] for leg in s["legs"]], [A_LOCAL + 2 * i, B_LOCAL + 2 * i])
            before = c.health()

        # 3. Media both ways, as the remotes send it (TTL lowered on the way).
        d = self.dir
        from_caller = generate(f"{d}/caller.pcap", CALLER_MAC, mac0, CALLER_IP, RELAY_A_IP, CALLER_PORT, A_LOCAL,
                               CALLER_SSRC, vlan0)
        from_callee = generate(f"{d}/callee.pcap", CALLEE_MAC, mac1, CALLEE_IP, RELAY_B_IP, CALLEE_PORT, B_LOCAL,
                               CALLEE_SSRC, vlan1)
        # What the relay must send: its own addresses and ports, its MAC to the remote's, TTL 64, the
        # outgoing port's VLAN.
        generate(f"{d}/expected_to_callee.pcap", mac1, CALLEE_MAC, RELAY_B_IP, CALLEE_IP, B_LOCAL, CALLEE_PORT,
                 CALLER_SSRC, vlan1)
        generate(f"{d}/expected_to_caller.pcap", mac0, CALLER_MAC, RELAY_A_IP, CALLER_IP, A_LOCAL, CALLER_PORT,
                 CALLEE_SSRC, vlan0)
        # Legal IPv4 that is not media for the relay: never out of the relay.
        dgram = pk.udp(CALLER_IP, RELAY_A_IP, CALLER_PORT, A_LOCAL, pk.rtp(1, 1, 1, b"\0" * 40))
        not_media = [pk.ethernet(mac0, CALLER_MAC, pk.ETH_P_IP, ip, vlan=vlan0) for ip in (
            pk.ipv4(CALLER_IP, RELAY_A_IP, dgram[:24], flags_frag=0x2000, ident=77),   # first fragment
            pk.ipv4(CALLER_IP, RELAY_A_IP, dgram[24:], flags_frag=0x0003, ident=77),   # last fragment
            pk.ipv4(CALLER_IP, RELAY_A_IP, dgram, options=b"\x01\x01\x01\x00"),           # IP options
            # a jumbo frame, longer than an mbuf: net_pcap hands it over as a chain
            pk.ipv4(CALLER_IP, RELAY_A_IP, pk.udp(CALLER_IP, RELAY_A_IP, CALLER_PORT, A_LOCAL,
                                                  pk.rtp(2, 2, 1, b"\0" * 4000))))]
        self.writers[0].write([pk.set_ttl(f, INPUT_TTL) for f in from_caller] + not_media)
        self.writers[1].write([pk.set_ttl(f, INPUT_TTL) for f in from_callee])
        for w in self.writers:
            w.close()

        # 4. All read and relayed: then stop, so that net_pcap flushes its captures.
        per_direction = SESSIONS * (PACKETS + PACKETS // RTCP_EVERY)
        inputs = (len(from_caller) + len(not_media), len(from_callee))

        def done():
            h = self.dp.health()
            read = all(h["ports"][i]["rx_packets"] - before["ports"][i]["rx_packets"] >= inputs[i] for i in (0, 1))
            relayed = sum(w["relayed"] for w in h["workers"]) - sum(w["relayed"] for w in before["workers"])
            return read and relayed >= 2 * per_direction and h

        harness.wait_for(done, 20, what="every frame read and relayed")
        # The frames for the kernel leave through the tap at the end of the worker's loop.
        try:
            after = harness.wait_for(lambda: (lambda h: h["ports"][0]["punted"] - before["ports"][0]["punted"]
                                              >= 1 and h)(self.dp.health()), 2, what="punted")
        except AssertionError:
            after = self.dp.health()
        sessions = dpctl_sessions(self.dp)
        drops = self.drops_delta(before, after)
        punted = after["ports"][0]["punted"] - before["ports"][0]["punted"]
        harness.log(f"drops {drops}, punted on port 0: {punted}")
        mbufs = self.dp.wait_mbufs(self.baseline_mbufs)
        code = self.dp.stop()
        self.assertEqual(code, 0, f"dataplane exit code on SIGTERM:\n{self.dp.log_text()[-3000:]}")

        self.assertEqual(drops, {"unrelayable": 3}, "the first fragment, the IP options and the jumbo frame are "
                                                    "refused, no more")
        self.assertEqual(punted, 1, "the later fragment did not go to the kernel")
        self.assertLessEqual(mbufs, self.baseline_mbufs, "mbufs not back to their baseline")
        for s in sessions:
            for leg in s["legs"]:
                self.assertEqual(leg["packets"], PACKETS + PACKETS // RTCP_EVERY, f"session {s['id']}")
                self.assertEqual(leg["rtcp_packets"], PACKETS // RTCP_EVERY)
                self.assertEqual(leg["rtp_lost"], 0)

        # 5. Field by field (tandem-rtp-pcap also checks the checksums of what the relay wrote).
        for expected, actual in ((f"{d}/expected_to_callee.pcap", self.outs[1]),
                                 (f"{d}/expected_to_caller.pcap", self.outs[0])):
            with self.subTest(actual=os.path.basename(actual)):
                r = rtp_pcap("compare", expected, actual, "--max-diffs", 20)
                harness.log(f"compare {os.path.basename(expected)} {os.path.basename(actual)}: exit {r.returncode}\n"
                            f"{r.stdout}{r.stderr}")
                self.assertEqual(r.returncode, 0, f"relayed frames differ from the expected ones:\n{r.stdout}{r.stderr}")
                frames = pk.read_pcap(actual)
                self.assertEqual(len(frames), per_direction)
                self.assertTrue(all(pk.Decoded(f).ip["ttl"] == 64 for f in frames))


class NoExceptionPathArpTest(FifoDataplaneTest):
    """--exception-path none: no kernel behind the ports, but the ARP that
    reaches them (the remotes' announcements, the answers to the relay's own
    requests) still teaches the neighbour table. It was dropped as not_media,
    so that towards a remote that had not sent first no next hop ever
    resolved (every packet dropped as no_neighbor)."""
    exception_path = False

    def test_arp_learnt_without_a_kernel(self):
        before = self.dp.health()
        self.writers[0].write([pk.gratuitous_arp(CALLER_MAC, CALLER_IP, None)] * BURST)
        self.writers[1].write([pk.gratuitous_arp(CALLEE_MAC, CALLEE_IP, None)] * BURST)
        harness.wait_for(lambda: self.dp.health()["neighbors"] == 2, 10, what="both remotes' MACs learnt")
        after = self.dp.health()
        self.assertEqual(self.drops_delta(before, after), {})
        self.assertEqual([p["punted"] - q["punted"] for p, q in zip(after["ports"], before["ports"])], [0, 0],
                         "nothing goes to a kernel that is not there")


class PcapVlanTest(PcapTest):
    """The same with port 1 on 802.1Q VLAN 100: the relay tags what it sends
    to the callee and untags what goes to the caller."""
    vlans = (None, 100)




def dpctl_sessions(dp):
    with dp.client() as c:
        return c.list_all()


if __name__ == "__main__":
    harness.main()
