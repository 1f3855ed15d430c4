"""The local address and UDP ports, and the probes a target answers: SIP OPTIONS, rtpengine ng."""

import ipaddress
import json
import os
import socket
import subprocess

from .common import BenchError

# The address every process binds. cli.main() sets it from --local-ip before anything binds, so
# the other modules read it as net.LOCAL when they need it, never import it by value.
LOCAL = "127.0.0.1"


def udp_port_free(port, host=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((host or LOCAL, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def udp_errors():
    """The host's UDP receive errors so far (/proc/net/snmp): datagrams dropped for a full socket
    buffer (RcvbufErrors) and all receive errors (InErrors)."""
    try:
        lines = [l.split() for l in open("/proc/net/snmp") if l.startswith("Udp:")]
        row = dict(zip(lines[0][1:], (int(x) for x in lines[1][1:])))
        return {"rcvbuf": row.get("RcvbufErrors", 0), "in_errors": row.get("InErrors", 0)}
    except (OSError, IndexError, ValueError):
        return {"rcvbuf": 0, "in_errors": 0}


def add_local_ip(ip):
    """Puts `ip` on lo for the run when it is a benchmark address (198.18.0.0/15) not yet
    there; True if it did."""
    addr = ipaddress.ip_address(ip)
    if addr.is_loopback:
        return False
    have = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True).stdout
    if f" {ip}/" in have:
        return False
    if addr not in ipaddress.ip_network("198.18.0.0/15"):
        raise BenchError(f"--local-ip {ip} is on no interface (only 198.18.0.0/15 is added to lo)")
    subprocess.run(["ip", "addr", "add", f"{ip}/32", "dev", "lo"], check=True, capture_output=True)
    return True


def sip_options(host, port, timeout=0.5):
    """Send one OPTIONS; True if any SIP response comes back."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((LOCAL, 0))
        lport = s.getsockname()[1]
        tag = os.urandom(4).hex()
        msg = (f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {LOCAL}:{lport};branch=z9hG4bK{tag}\r\n"
               "Max-Forwards: 70\r\n"
               f"From: <sip:probe@{LOCAL}>;tag={tag}\r\n"
               f"To: <sip:{host}:{port}>\r\n"
               f"Call-ID: probe-{tag}@{LOCAL}\r\n"
               "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
        s.settimeout(timeout)
        s.sendto(msg.encode(), (host, port))
        data, _ = s.recvfrom(65535)
        return data.startswith(b"SIP/2.0 ")
    except OSError:
        return False
    finally:
        s.close()


def operator_command(path, cmd, timeout=2.0):
    """One command on a Tandem operator socket ({"cmd": NAME} and a newline, a JSON reply); the
    reply, or None."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(json.dumps({"cmd": cmd}).encode() + b"\n")
        data = b""
        while b"\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return json.loads(data.decode())
    except (OSError, ValueError):
        return None
    finally:
        s.close()


def bencode(obj):
    if isinstance(obj, dict):
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in sorted(obj.items())) + b"e"
    if isinstance(obj, (list, tuple)):
        return b"l" + b"".join(bencode(v) for v in obj) + b"e"
    if isinstance(obj, int):
        return b"i%de" % obj
    if isinstance(obj, str):
        obj = obj.encode()
    return b"%d:%s" % (len(obj), obj)


def bdecode(data, i=0):
    c = data[i:i + 1]
    if c == b"i":
        j = data.index(b"e", i)
        return int(data[i + 1:j]), j + 1
    if c in (b"l", b"d"):
        items, i = [], i + 1
        while data[i:i + 1] != b"e":
            v, i = bdecode(data, i)
            items.append(v)
        if c == b"l":
            return items, i + 1
        return {items[k].decode(errors="replace"): items[k + 1]
                for k in range(0, len(items), 2)}, i + 1
    j = data.index(b":", i)
    n = int(data[i:j])
    return data[j + 1:j + 1 + n], j + 1 + n


def ng_command(addr, command, timeout=1.0, **args):
    """One rtpengine ng command over UDP; the decoded dict, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        cookie = os.urandom(6).hex().encode()
        s.settimeout(timeout)
        s.sendto(cookie + b" " + bencode(dict(args, command=command)), addr)
        data, _ = s.recvfrom(1 << 20)
        if not data.startswith(cookie + b" "):
            return None
        return bdecode(data, len(cookie) + 1)[0]
    except (OSError, ValueError, IndexError):
        return None
    finally:
        s.close()
