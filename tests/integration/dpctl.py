"""A client of the dataplane control protocol (dataplane_protocol/protocol.h,
version 4) in plain Python, for tests that need many requests fast
(pipelining) or malformed ones on purpose.

Every wire struct is a struct.Struct whose size is checked against the
header's static_assert; check_header() also compares the sizes, message type
numbers, error codes and drop reason order with the C++ sources, so that the
protocol cannot drift from this copy unnoticed.

Integers are in host order ("=": native order, standard sizes, no padding),
IPv4 addresses in network order (kept as 4 raw bytes here).
"""

import os
import re
import socket
import struct
import time

MAGIC = 0x54445043
VERSION = 4
MAX_REQUEST = 4096
MAX_LIST_ITEMS = 128
REPLY_BIT = 0x8000
MAX_PORTS = 8
MAX_WORKERS = 16
MAX_DROP_REASONS = 32
MAX_OFFENDERS = 16

MODE_LEARN = 0x01
MODE_STRICT = 0x02
MODE_LOCK_ADDRESS = 0x04
MODE_LOCK_PORT = 0x08
MODE_DEFAULT = MODE_LEARN | MODE_STRICT | MODE_LOCK_ADDRESS
LEG_LATCHED_RTP = 0x10
LEG_LATCHED_RTCP = 0x20
EVENT_TIMEOUTS = 1

# MsgType
(HELLO, CREATE_SESSION, UPDATE_LEG, DELETE_SESSION, QUERY_SESSION, LIST_SESSIONS, SUBSCRIBE, HEALTH,
 PUNT_OFFENDERS) = range(1, 10)
EVENT_SESSION_TIMEOUT = 0x4001
ERROR = 0x7FFF
MESSAGE_TYPES = {"hello": HELLO, "create_session": CREATE_SESSION, "update_leg": UPDATE_LEG,
                 "delete_session": DELETE_SESSION, "query_session": QUERY_SESSION, "list_sessions": LIST_SESSIONS,
                 "subscribe": SUBSCRIBE, "health": HEALTH, "punt_offenders": PUNT_OFFENDERS}

ERROR_CODES = {"bad_magic": 1, "bad_version": 2, "bad_length": 3, "too_large": 4, "unknown_type": 5,
               "bad_field": 6, "no_such_session": 7, "table_full": 8, "port_unavailable": 9, "no_free_port": 10}
ERROR_NAMES = {v: k for k, v in ERROR_CODES.items()}

# dataplane_protocol/drop_reasons.h, in enum order: HealthReply.drops is indexed by it.
DROP_REASONS = ["truncated", "bad_ip_header", "bad_udp_length", "no_session", "source_mismatch", "bad_rtp",
                "no_destination", "no_neighbor", "tx_full", "punt_full", "not_media", "martian_source",
                "bad_ip_checksum", "bad_udp_checksum", "foreign_mac", "wrong_vlan", "bad_rtcp", "unrelayable",
                "punt_policed_source", "punt_policed_global", "punt_policed_arp_icmp", "handoff_full"]

HEADER = struct.Struct("=IHHII")
ERROR_REPLY = struct.Struct("=I124s")
HELLO_REQUEST = struct.Struct("=32s")
HELLO_REPLY = struct.Struct("=HHIHHHH" + "4s" * MAX_PORTS + "16s" * MAX_PORTS)
LEG_SPEC = struct.Struct("=4s4sHHHBBB3s")
CREATE_REQUEST = struct.Struct("=" + LEG_SPEC.format[1:] * 2)
UPDATE_LEG_REQUEST = struct.Struct("=QBBBB4sHHI")
SESSION_REQUEST = struct.Struct("=Q")
LEG_INFO = struct.Struct("=4s4sHHHBBQQIIIIQQqIIIIHBB4s")
SESSION_INFO = struct.Struct("=QII" + LEG_INFO.format[1:] * 2)
LIST_REQUEST = struct.Struct("=QII")
LIST_REPLY = struct.Struct("=QII")
SUBSCRIBE_REQUEST = struct.Struct("=II")
HEALTH_REQUEST = struct.Struct("=II")
PORT_HEALTH = struct.Struct("=QQQQQQQQ4sBB2s")
WORKER_HEALTH = struct.Struct("=QQQQQQQQ")
HEALTH_REPLY = struct.Struct("=IIIIHHIIIIIQQQ" + "Q" * MAX_DROP_REASONS + PORT_HEALTH.format[1:] * MAX_PORTS +
                             WORKER_HEALTH.format[1:] * MAX_WORKERS)
OFFENDERS_REQUEST = struct.Struct("=II")
PUNT_OFFENDER = struct.Struct("=4sIQQ")
OFFENDERS_REPLY = struct.Struct("=IIQ" + PUNT_OFFENDER.format[1:] * MAX_OFFENDERS)

# The header's static_asserts, by struct name.
SIZES = {
    "Header": (HEADER, 16), "ErrorReply": (ERROR_REPLY, 128), "HelloRequest": (HELLO_REQUEST, 32),
    "HelloReply": (HELLO_REPLY, 48 + 16 * MAX_PORTS), "LegSpec": (LEG_SPEC, 20), "CreateRequest": (CREATE_REQUEST, 40),
    "UpdateLegRequest": (UPDATE_LEG_REQUEST, 24), "SessionRequest": (SESSION_REQUEST, 8), "LegInfo": (LEG_INFO, 96),
    "SessionInfo": (SESSION_INFO, 208), "ListRequest": (LIST_REQUEST, 16), "ListReply": (LIST_REPLY, 16),
    "SubscribeRequest": (SUBSCRIBE_REQUEST, 8), "HealthRequest": (HEALTH_REQUEST, 8), "PortHealth": (PORT_HEALTH, 72),
    "WorkerHealth": (WORKER_HEALTH, 64),
    "HealthReply": (HEALTH_REPLY, 64 + 8 * MAX_DROP_REASONS + 72 * MAX_PORTS + 64 * MAX_WORKERS),
    "OffendersRequest": (OFFENDERS_REQUEST, 8), "PuntOffender": (PUNT_OFFENDER, 24),
    "OffendersReply": (OFFENDERS_REPLY, 16 + 24 * MAX_OFFENDERS),
}
for _name, (_s, _size) in SIZES.items():
    assert _s.size == _size, f"{_name}: {_s.size} bytes here, {_size} in dataplane_protocol/protocol.h"

REQUEST_BODY = {HELLO: HELLO_REQUEST, CREATE_SESSION: CREATE_REQUEST, UPDATE_LEG: UPDATE_LEG_REQUEST,
                DELETE_SESSION: SESSION_REQUEST, QUERY_SESSION: SESSION_REQUEST, LIST_SESSIONS: LIST_REQUEST,
                SUBSCRIBE: SUBSCRIBE_REQUEST, HEALTH: HEALTH_REQUEST, PUNT_OFFENDERS: OFFENDERS_REQUEST}


def check_header(source_root):
    """Compares this module with dataplane_protocol/protocol.h and drop_reasons.h.
    Returns a list of differences (empty when in step)."""
    problems = []
    with open(os.path.join(source_root, "dataplane_protocol", "protocol.h")) as f:
        proto = f.read()
    with open(os.path.join(source_root, "dataplane_protocol", "drop_reasons.h")) as f:
        drops = f.read()
    constants = {"kMaxPorts": MAX_PORTS, "kMaxWorkers": MAX_WORKERS, "kMaxDropReasons": MAX_DROP_REASONS,
                 "kMaxOffenders": MAX_OFFENDERS}

    def evaluate(expr):
        for k, v in constants.items():
            expr = expr.replace(k, str(v))
        if not re.fullmatch(r"[0-9+* ()]+", expr):
            raise ValueError(expr)
        return eval(expr)  # digits and + * only

    asserted = dict(re.findall(r"static_assert\(sizeof\((\w+)\) == ([^)]*)\);", proto))
    for name, expr in asserted.items():
        if name not in SIZES:
            problems.append(f"dataplane_protocol/protocol.h asserts the size of {name}, which dpctl.py does not know")
        elif evaluate(expr) != SIZES[name][1]:
            problems.append(f"{name}: {evaluate(expr)} bytes in dataplane_protocol/protocol.h, {SIZES[name][1]} in dpctl.py")
    for name in SIZES:
        if name not in asserted:
            problems.append(f"{name}: no static_assert in dataplane_protocol/protocol.h any more")
    for name, value in [("kMagic", MAGIC), ("kVersion", VERSION), ("kMaxRequest", MAX_REQUEST),
                        ("kMaxListItems", MAX_LIST_ITEMS), ("kMaxPorts", MAX_PORTS), ("kMaxWorkers", MAX_WORKERS),
                        ("kMaxDropReasons", MAX_DROP_REASONS), ("kMaxOffenders", MAX_OFFENDERS)]:
        m = re.search(rf"{name} = (0x[0-9a-fA-F]+|\d+);", proto)
        if not m or int(m.group(1), 0) != value:
            problems.append(f"{name}: {m.group(1) if m else 'missing'} in dataplane_protocol/protocol.h, {value} in dpctl.py")
    types = {n: int(v) for n, v in re.findall(r"X\((\w+), (\d+), \w+Request, \w+\)", proto)}
    if types != MESSAGE_TYPES:
        problems.append(f"message types: {types} in dataplane_protocol/protocol.h, {MESSAGE_TYPES} in dpctl.py")
    codes = {n: int(v) for n, v in re.findall(r"X\((\w+), (\d+), \"", proto)}
    if codes != ERROR_CODES:
        problems.append(f"error codes: {codes} in dataplane_protocol/protocol.h, {ERROR_CODES} in dpctl.py")
    reasons = re.findall(r"X\((\w+), \"", drops)
    if reasons != DROP_REASONS:
        problems.append(f"drop reasons: {reasons} in drop_reasons.h, {DROP_REASONS} in dpctl.py")
    return problems


# -- messages -----------------------------------------------------------------


def encode(msg_type, seq, body=b"", version=VERSION, magic=MAGIC, length=None):
    """One message; every header field can be overridden to build bad ones."""
    if length is None:
        length = HEADER.size + len(body)
    return HEADER.pack(magic, version, msg_type, length, seq) + body


def ip_raw(ip):
    return socket.inet_aton(ip) if ip else b"\0\0\0\0"


def ip_text(raw):
    return socket.inet_ntoa(raw)


def leg_spec(port, remote=None, rtcp_port=0, local_port=0, mode=MODE_DEFAULT, clock_khz=0, reserved=b"\0\0\0",
             local_ip=""):
    """remote: (ip, port) or None; local_ip: one of the port's addresses, or "" to let the dataplane choose."""
    ip, rport = remote if remote else ("", 0)
    return LEG_SPEC.pack(ip_raw(ip), ip_raw(local_ip), rport, rtcp_port, local_port, port, mode, clock_khz, reserved)


def create_body(leg_a, leg_b):
    return leg_a + leg_b


def update_body(session_id, leg, remote, rtcp_port=0, mode=MODE_DEFAULT, clock_khz=0, reserved=0, reserved2=0):
    return UPDATE_LEG_REQUEST.pack(session_id, leg, mode, clock_khz, reserved, ip_raw(remote[0]), remote[1],
                                   rtcp_port, reserved2)


def decode_leg(fields):
    (local_ip, remote_ip, local_port, remote_port, remote_rtcp_port, port, flags, packets, nbytes, rtcp_packets,
     drop_source, drop_bad_rtp, idle_ms, rtp_expected, rtp_received, rtp_lost, jitter_us, jitter_max_us,
     jitter_mean_us, ssrc, ssrc_changes, clock_khz, worker, _) = fields
    return {"local_ip": ip_text(local_ip), "remote_ip": ip_text(remote_ip), "local_port": local_port,
            "remote_port": remote_port, "remote_rtcp_port": remote_rtcp_port, "port": port, "flags": flags,
            "latched": bool(flags & (LEG_LATCHED_RTP | LEG_LATCHED_RTCP)), "packets": packets, "bytes": nbytes,
            "rtcp_packets": rtcp_packets, "drop_source": drop_source, "drop_bad_rtp": drop_bad_rtp,
            "idle_ms": idle_ms, "rtp_expected": rtp_expected, "rtp_received": rtp_received, "rtp_lost": rtp_lost,
            "jitter_us": jitter_us, "jitter_max_us": jitter_max_us, "jitter_mean_us": jitter_mean_us, "ssrc": ssrc,
            "ssrc_changes": ssrc_changes, "clock_khz": clock_khz, "worker": worker - 1 if worker else None}


def decode_session(body, offset=0):
    f = SESSION_INFO.unpack_from(body, offset)
    per_leg = len(LEG_INFO.unpack(bytes(LEG_INFO.size)))
    return {"id": f[0], "age_s": f[1], "legs": [decode_leg(f[3:3 + per_leg]), decode_leg(f[3 + per_leg:])]}


def decode_health(body):
    f = HEALTH_REPLY.unpack(body)
    (uptime_s, sessions, max_sessions, memory, workers, ports, clients, mbufs_in_use, mbufs_total, neighbors,
     timeouts, control_errors, created, deleted) = f[:14]
    drops = f[14:14 + MAX_DROP_REASONS]
    rest = f[14 + MAX_DROP_REASONS:]
    per_port = len(PORT_HEALTH.unpack(bytes(PORT_HEALTH.size)))
    port_list = []
    for i in range(ports):
        p = rest[i * per_port:(i + 1) * per_port]
        port_list.append({"rx_packets": p[0], "tx_packets": p[1], "rx_missed": p[2], "rx_nombuf": p[3],
                          "rx_errors": p[4], "tx_errors": p[5], "punted": p[6], "injected": p[7],
                          "ip": ip_text(p[8]), "link_up": bool(p[9]), "port": p[10]})
    wrest = rest[per_port * MAX_PORTS:]
    per_worker = len(WORKER_HEALTH.unpack(bytes(WORKER_HEALTH.size)))
    worker_list = []
    for i in range(workers):
        w = wrest[i * per_worker:(i + 1) * per_worker]
        worker_list.append({"rx": w[0], "tx": w[1], "relayed": w[2], "busy_polls": w[3], "idle_polls": w[4],
                            "sleeps": w[5], "handed_off": w[6],
                            "sleep_us": w[7]})
    return {"uptime_s": uptime_s, "sessions": sessions, "max_sessions": max_sessions,
            "session_memory_bytes": memory, "clients": clients, "mbufs_in_use": mbufs_in_use,
            "mbufs_total": mbufs_total, "neighbors": neighbors, "timeouts": timeouts,
            "control_errors": control_errors, "sessions_created": created, "sessions_deleted": deleted,
            "drops": {name: drops[i] for i, name in enumerate(DROP_REASONS)}, "ports": port_list,
            "workers": worker_list}


def decode_offenders(body):
    f = OFFENDERS_REPLY.unpack(body)
    count, sources, evictions = f[:3]
    per = len(PUNT_OFFENDER.unpack(bytes(PUNT_OFFENDER.size)))
    offenders = [f[3 + i * per:3 + (i + 1) * per] for i in range(min(count, MAX_OFFENDERS))]
    return {"sources": sources, "evictions": evictions,
            "offenders": [{"source": ip_text(o[0]), "last_drop_ms": o[1], "dropped": o[2], "passed": o[3]}
                          for o in offenders]}


def decode_error(body):
    code, message = ERROR_REPLY.unpack(body)
    return {"code": code, "name": ERROR_NAMES.get(code, str(code)),
            "message": message.split(b"\0", 1)[0].decode(errors="replace")}


class ProtocolError(Exception):
    """The dataplane answered with an error message."""

    def __init__(self, error, request_type):
        super().__init__(f"{error['name']}: {error['message']} (request type {request_type})")
        self.error = error


class Message:
    def __init__(self, msg_type, seq, body):
        self.type = msg_type
        self.seq = seq
        self.body = body

    @property
    def is_error(self):
        return self.type == ERROR

    def error(self):
        return decode_error(self.body)


class Client:
    """One connection. Requests can be pipelined: send() many, then recv()
    their replies, which come back in request order."""

    def __init__(self, path=None, timeout=5.0, sock=None):
        """Connects to `path`, or speaks over an already connected `sock`."""
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
        sock.settimeout(timeout)
        self.sock = sock
        self.buf = b""
        self.seq = 0
        self.events = []

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, msg_type, body):
        self.seq += 1
        self.sock.sendall(encode(msg_type, self.seq, body))
        return self.seq

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"dataplane did not answer ({len(self.buf)} of {n} bytes)")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError(f"dataplane closed the connection ({len(self.buf)} of {n} bytes read)")
            self.buf += chunk

    def recv(self, timeout=5.0):
        """The next message (reply, error or event)."""
        deadline = time.monotonic() + timeout
        self._fill(HEADER.size, deadline)
        magic, version, msg_type, length, seq = HEADER.unpack_from(self.buf)
        if magic != MAGIC or version != VERSION or length < HEADER.size:
            raise ValueError(f"bad reply header: magic {magic:#x} version {version} length {length}")
        self._fill(length, deadline)
        body = self.buf[HEADER.size:length]
        self.buf = self.buf[length:]
        return Message(msg_type, seq, body)

    def recv_reply(self, seq, timeout=5.0):
        """The reply to request `seq`, keeping events aside."""
        while True:
            m = self.recv(timeout)
            if m.type == EVENT_SESSION_TIMEOUT and m.seq == 0:
                self.events.append(decode_session(m.body))
                continue
            if m.seq != seq:
                raise ValueError(f"reply for seq {m.seq}, expected {seq}")
            return m

    def call(self, msg_type, body, timeout=5.0):
        seq = self.send(msg_type, body)
        m = self.recv_reply(seq, timeout)
        if m.is_error:
            raise ProtocolError(m.error(), msg_type)
        if m.type != msg_type | REPLY_BIT:
            raise ValueError(f"reply type {m.type:#x} to request {msg_type}")
        return m.body

    # -- typed requests -------------------------------------------------------

    def hello(self, name="dpctl"):
        f = HELLO_REPLY.unpack(self.call(HELLO, HELLO_REQUEST.pack(name.encode())))
        return {"version": f[0], "workers": f[1], "max_sessions": f[2], "port_count": f[3],
                "relay_port_min": f[4], "relay_port_max": f[5],
                "port_ip": [ip_text(x) for x in f[7:7 + MAX_PORTS]],
                "port_role": [x.split(b"\0", 1)[0].decode() for x in f[7 + MAX_PORTS:]]}

    def health(self):
        return decode_health(self.call(HEALTH, HEALTH_REQUEST.pack(0, 0)))

    def punt_offenders(self, max_items=MAX_OFFENDERS):
        return decode_offenders(self.call(PUNT_OFFENDERS, OFFENDERS_REQUEST.pack(max_items, 0)))

    def create(self, leg_a, leg_b):
        return decode_session(self.call(CREATE_SESSION, create_body(leg_a, leg_b)))

    def query(self, session_id):
        return decode_session(self.call(QUERY_SESSION, SESSION_REQUEST.pack(session_id)))

    def delete(self, session_id):
        return decode_session(self.call(DELETE_SESSION, SESSION_REQUEST.pack(session_id)))

    def update(self, session_id, leg, remote, **kw):
        return decode_session(self.call(UPDATE_LEG, update_body(session_id, leg, remote, **kw)))

    def subscribe(self, events=EVENT_TIMEOUTS):
        return SUBSCRIBE_REQUEST.unpack(self.call(SUBSCRIBE, SUBSCRIBE_REQUEST.pack(events, 0)))[0]

    def list_all(self, page=MAX_LIST_ITEMS):
        sessions = []
        cursor = 0
        while True:
            body = self.call(LIST_SESSIONS, LIST_REQUEST.pack(cursor, page, 0))
            cursor, count, _total = LIST_REPLY.unpack_from(body)
            for i in range(count):
                sessions.append(decode_session(body, LIST_REPLY.size + i * SESSION_INFO.size))
            if cursor == 0:
                return sessions

    def pipeline(self, requests, window=256, timeout=10.0):
        """Sends (type, body) requests with up to `window` unanswered, and
        returns their replies in order as Message objects."""
        replies = []
        pending = []
        for msg_type, body in requests:
            pending.append(self.send(msg_type, body))
            if len(pending) >= window:
                replies.append(self.recv_reply(pending.pop(0), timeout))
        for seq in pending:
            replies.append(self.recv_reply(seq, timeout))
        return replies
