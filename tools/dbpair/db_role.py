#!/usr/bin/env python3
"""The role of one MariaDB of an active/passive pair, run by keepalived on its
host (docs/DB_FAILOVER.md). Python standard library and the `mariadb` client.

  db_role.py check   CONF          keepalived's vrrp_script: 0 = may hold the virtual IP
  db_role.py notify  CONF STATE    keepalived's notify_master/backup/fault (STATE: MASTER...)
  db_role.py promote CONF          the operator's word: this node may become active
                                   although it cannot prove it is in sync (both were down)

CONF is a JSON file: socket, pid_file, iface, vip, peer, repl_user, repl_password_file,
dir (latch, lock, state), log; and remote, the other DC's virtual IP (absent: one DC).

The node holding the virtual IP is the writer: replication stopped once the relay
log is applied, read_only off, semi-sync master on. Every other node is a
read_only replica of its peer. A replica may take the address only while it is
"in sync": its peer answers and it has received everything in the peer's binlog,
over a running replication that MariaDB's GTID strict mode accepted. That is
latched for the running mariadbd (its pid) so that the replica can still take
over once the peer is dead; a restart, a FAULT or a term as writer drops it.

With two DCs, the writer also replicates the other DC's writer through its
virtual IP, on the multi-source connection 'remote'; a replica has none (it gets
the other DC's transactions from its peer's binlog). Every statement on the
pair's own replication names no connection: the default one.
"""

import fcntl
import json
import os
import subprocess
import sys
import time

SQL_TIMEOUT_S = 1.0  # a healthy mariadbd answers in milliseconds: more means hung
APPLY_TIMEOUT_S = 20  # a new writer applies its relay log first (what the old one acknowledged)
REMOTE = "remote"  # the connection to the other DC


def parse_gtids(text):
    """'0-1-5,1-2-9' -> {domain: (server_id, seq_no)}."""
    out = {}
    for g in (text or "").replace("\n", "").split(","):
        if g.strip():
            d, s, n = (int(x) for x in g.strip().split("-"))
            out[d] = (s, n)
    return out


def covers(mine, theirs):
    """True when position `mine` holds every transaction of position `theirs`
    (GTID strict mode: sequence numbers only grow within a domain)."""
    a, b = parse_gtids(mine), parse_gtids(theirs)
    return all(d in a and (a[d][1] > n or a[d] == (s, n)) for d, (s, n) in b.items())


class Node:
    def __init__(self, conf_path):
        with open(conf_path) as f:
            self.c = json.load(f)
        self.dir = self.c["dir"]
        with open(self.c["repl_password_file"]) as f:
            self.repl_password = f.read().strip()

    def log(self, msg):
        with open(self.c["log"], "a") as f:
            f.write(f"{time.strftime('%H:%M:%S')}.{int(time.time() * 1000) % 1000:03d} [{os.getpid()}] {msg}\n")

    def _client(self, args, query, timeout):
        cmd = ["mariadb", "--no-defaults", "--connect-timeout=1", "-B", *args, "-e", query]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, "timed out"
        if r.returncode != 0:
            return None, r.stderr.strip()
        return r.stdout, None

    def sql(self, query, timeout=SQL_TIMEOUT_S, header=False):
        """Rows (lists of strings) from the local server, or None (the error is logged)."""
        out, err = self._client(["-S", self.c["socket"], "-uroot"] + ([] if header else ["-N"]), query, timeout)
        if out is None:
            self.log(f"local SQL failed ({err}): {query[:80]}")
            return None
        return [line.split("\t") for line in out.splitlines()]

    def peer_position(self):
        """(gtid_binlog_pos, is_writer, semi-sync master on) of the peer, or None when it does not answer."""
        out, _ = self._client(["-h", self.c["peer"], "-u", self.c["repl_user"], f"--password={self.repl_password}",
                               "-N"], "SELECT @@gtid_binlog_pos, @@read_only; "
                                      "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_status'", SQL_TIMEOUT_S + 1)
        if out is None:
            return None
        lines = [line.split("\t") for line in out.splitlines()]
        return lines[0][0], lines[0][1] == "0", lines[1][1] == "ON"

    def slave_status(self, connection=""):
        """A replication connection's status ({} if it does not exist), or None."""
        rows = self.sql("SHOW ALL SLAVES STATUS", header=True)
        if rows is None:
            return None
        return next((s for s in (dict(zip(rows[0], r)) for r in rows[1:]) if s["Connection_name"] == connection), {})

    def holds_vip(self):
        r = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", self.c["iface"]], capture_output=True,
                           text=True, timeout=5)
        return f" {self.c['vip']}/" in r.stdout

    # -- the latch: "in sync with the peer", valid for one mariadbd process ------------

    def mariadbd_pid(self):
        try:
            with open(self.c["pid_file"]) as f:
                return f.read().strip()
        except OSError:
            return None

    def _flag(self, name):
        path = os.path.join(self.dir, name)
        try:
            with open(path) as f:
                return f.read().strip() == self.mariadbd_pid()
        except OSError:
            return False

    def _set_flag(self, name):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(self.mariadbd_pid() or "")

    def _drop_flag(self, name):
        try:
            os.unlink(os.path.join(self.dir, name))
        except FileNotFoundError:
            pass

    # -- roles ------------------------------------------------------------------------

    def be_writer(self):
        """Applies what the relay log holds (every transaction the old writer may
        have acknowledged), forgets the old master, and opens for writes."""
        ss = self.slave_status()
        if ss is None:
            return False
        if ss:
            self.log("WRITER: stopping replication, applying the relay log")
            self.sql("STOP SLAVE IO_THREAD", timeout=10)
            ss = self.slave_status() or {}
            received = ss.get("Gtid_IO_Pos", "")
            if received:
                r = self.sql(f"SELECT MASTER_GTID_WAIT('{received}', {APPLY_TIMEOUT_S})", timeout=APPLY_TIMEOUT_S + 5)
                if r != [["0"]]:
                    self.log(f"NOT OPENING FOR WRITES: the relay log up to {received} is not applied "
                             f"({ss.get('Last_SQL_Error', '')}); this node stays read-only")
                    return False
            self.sql("STOP SLAVE; RESET SLAVE ALL", timeout=10)
        # Semi-sync slave off: the connection to the other DC must not acknowledge its writer's
        # commits in place of that DC's passive (read when the connection starts).
        ro = self.sql("SELECT @@read_only, @@rpl_semi_sync_master_enabled, @@rpl_semi_sync_slave_enabled")
        if ro != [["0", "1", "0"]]:
            if self.sql("SET GLOBAL rpl_semi_sync_master_enabled=ON; SET GLOBAL rpl_semi_sync_slave_enabled=OFF; "
                        "SET GLOBAL read_only=OFF", timeout=5) is None:
                return False
            pos = self.sql("SELECT @@gtid_binlog_pos")
            self.log(f"WRITER: read_only off at {pos[0][0] if pos and pos[0] else '?'}")
        self.replicate_remote()
        return True

    def replicate_remote(self):
        """The writer replicates the other DC's writer, from what it has applied
        (gtid_slave_pos: as a replica it applied the other DC's transactions too)."""
        if not self.c.get("remote"):
            return
        rs = self.slave_status(REMOTE)
        if rs is None:
            return
        if not rs:
            self.sql(f"CHANGE MASTER '{REMOTE}' TO MASTER_HOST='{self.c['remote']}', MASTER_PORT=3306, "
                     f"MASTER_USER='{self.c['repl_user']}', MASTER_PASSWORD='{self.repl_password}', "
                     f"MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; START SLAVE '{REMOTE}'", timeout=5)
            pos = self.sql("SELECT @@gtid_slave_pos")
            self.log(f"WRITER: replicating the other DC from {self.c['remote']} at {pos[0][0] if pos and pos[0] else '?'}")
        elif rs.get("Slave_IO_Running") == "No" or rs.get("Slave_SQL_Running") == "No":
            self.log(f"WRITER: the other DC's replication stopped (IO: {rs.get('Last_IO_Error')}; "
                     f"SQL: {rs.get('Last_SQL_Error')}), starting it again")
            self.sql(f"START SLAVE '{REMOTE}'", timeout=5)

    def be_replica(self):
        """read_only, no semi-sync master (its own binlog writes would wait for an
        acknowledgement nobody sends), replicating from the peer."""
        ro = self.sql("SELECT @@read_only, @@rpl_semi_sync_master_enabled, @@rpl_semi_sync_slave_enabled")
        if ro is None:
            return
        if ro != [["1", "0", "1"]]:
            self.sql("SET GLOBAL read_only=ON; SET GLOBAL rpl_semi_sync_master_enabled=OFF; "
                     "SET GLOBAL rpl_semi_sync_slave_enabled=ON", timeout=5)
            self.log("REPLICA: read_only on")
        if self.slave_status(REMOTE):
            # What it applied from the other DC stays in gtid_slave_pos and its binlog; the new writer
            # resumes from its own position.
            self.sql(f"STOP SLAVE '{REMOTE}'; RESET SLAVE '{REMOTE}' ALL", timeout=10)
            self.log("REPLICA: no longer replicating the other DC")
        ss = self.slave_status()
        if ss is None:
            return
        if ss.get("Master_Host") != self.c["peer"]:
            # Everything this node has is in its binlog (log_slave_updates): ask the peer for what follows.
            self.sql("STOP SLAVE; SET GLOBAL gtid_slave_pos=@@gtid_binlog_pos; "
                     f"CHANGE MASTER TO MASTER_HOST='{self.c['peer']}', MASTER_PORT=3306, "
                     f"MASTER_USER='{self.c['repl_user']}', MASTER_PASSWORD='{self.repl_password}', "
                     "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; START SLAVE", timeout=5)
            self.log(f"REPLICA: replicating from {self.c['peer']}")
        elif ss.get("Slave_IO_Running") == "No" or ss.get("Slave_SQL_Running") == "No":
            # Also after error 1236: the peer may have caught up with us since (both were down).
            self.sql("START SLAVE", timeout=5)

    def in_sync(self):
        """May this replica take the virtual IP now? Logs why not."""
        peer = self.peer_position()
        if peer is None:
            ok = self._flag("in_sync") or self._flag("promoted")
            if not ok:
                self.log("not eligible: the peer does not answer and this node was not in sync with it")
            return ok
        peer_pos, peer_writes, peer_semisync = peer
        ss = self.slave_status() or {}
        running = ss.get("Slave_IO_Running") == "Yes" and ss.get("Slave_SQL_Running") == "Yes"
        received = ss.get("Gtid_IO_Pos", "")
        # Once in sync, a peer still in semi-sync keeps it so: each of its commits waits for our
        # acknowledgement, and what its binlog holds beyond ours is in flight, not committed (it is
        # rolled back if the peer dies now). Under load, a check between the two must not drop the latch.
        caught_up = covers(received, peer_pos) or (self._flag("in_sync") and peer_semisync)
        if running and caught_up and (peer_semisync or not peer_writes):
            if not self._flag("in_sync"):
                self.log(f"in sync: received {received}, peer at {peer_pos}")
                self._set_flag("in_sync")
            return True
        if self._flag("in_sync"):
            self._drop_flag("in_sync")
        mine = (self.sql("SELECT @@gtid_binlog_pos") or [[""]])[0][0]
        if ss.get("Last_IO_Errno") == "1236" and covers(mine, peer_pos) and not peer_writes:
            # Both were down and the peer came back behind us: it catches up from us, then we from it.
            self.log(f"not eligible: ahead of the peer ({mine} > {peer_pos}), waiting for it to catch up")
        elif ss.get("Last_IO_Errno") == "1236":
            self.log(f"DIVERGED: the peer refuses to replicate to this node ({ss.get('Last_IO_Error')}). This node "
                     f"({mine}) holds transactions the peer ({peer_pos}) does not have: it will never take the "
                     f"virtual IP. Rebuild it from the active (docs/DB_FAILOVER.md)")
        else:
            self.log(f"not eligible: received {received or '-'} (running {running}), peer at {peer_pos}"
                     f"{'' if peer_semisync or not peer_writes else ', peer not in semi-sync'}")
        return self._flag("promoted")

    # -- entry points -----------------------------------------------------------------

    def locked(self, blocking):
        """The lock of role changes: a check never waits for a notify's."""
        f = open(os.path.join(self.dir, "lock"), "w")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            f.close()
            return None
        return f

    def check(self):
        if self.sql("SELECT 1") != [["1"]]:
            return 1
        writer = self.holds_vip()
        lock = self.locked(blocking=False)
        if lock:
            with lock:
                self.be_writer() if writer else self.be_replica()
        return 0 if writer or self.in_sync() else 1

    def notify(self, state):
        with open(os.path.join(self.dir, "state"), "w") as f:
            f.write(state)
        self.log(f"keepalived: {state}")
        if state in ("MASTER", "FAULT"):
            self._drop_flag("in_sync")  # a writer, or a server that stopped answering, must prove it again
        with self.locked(blocking=True):
            if state == "MASTER":
                self._drop_flag("promoted")
                self.be_writer()
            elif state in ("BACKUP", "FAULT"):
                self.be_replica()
        return 0

    def promote(self):
        self._set_flag("promoted")
        self.log("operator: promoted (may become active without proof of sync)")
        return 0


def main():
    action, conf = sys.argv[1], sys.argv[2]
    node = Node(conf)
    if action == "check":
        return node.check()
    if action == "notify":
        return node.notify(sys.argv[3])
    if action == "promote":
        return node.promote()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
