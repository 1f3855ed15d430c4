#!/usr/bin/env python3
"""The portal under a big CDR DB (issue 17's benchmark): N generated call
records of M customers over the year 2026, then one customer's month page and
first calls page through the real tandem-portal, p50/p99 over R requests each,
and EXPLAIN of the queries behind them (they must use the indexes).

  python3 bench/portal/portal_bench.py [--records 10000000] [--customers 1000] [--requests 200]

Needs a build (TANDEM_BUILD_DIR or ./build) and MariaDB;
starts its own mariadbd (../../tests/integration/sip/lab.py) in a temporary
dir and removes it. The rows are made by MariaDB itself (the Sequence engine),
with the secondary indexes dropped during the load and added back after (a
sorted build instead of 10 million random inserts); the table then is what the
migrations make.
"""

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
BUILD = os.environ.get("TANDEM_BUILD_DIR", os.path.join(ROOT, "build"))
os.environ.setdefault("TANDEMCTL", os.path.join(BUILD, "tools", "tandemctl", "tandemctl"))
os.environ.setdefault("TANDEM_PORTAL", os.path.join(BUILD, "portal", "tandem-portal"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "portal"))

import portal_lab as pl  # noqa: E402

CUSTOMER = "customer-0042"
MONTH = "2026-11"
INDEXES = ("start_time (start_time)", "customer_start (customer, start_time)", "caller_start (caller, start_time)",
           "called_start (called, start_time)", "call_id (call_id)")


def rows_sql(first, last, customers, records):
    """INSERT ... SELECT of records first..last, spread evenly over 2026."""
    step_us = 365 * 86400 * 1_000_000 // records
    return f"""INSERT INTO cdr ({pl.CDR_COLUMNS}) SELECT
  (1 << 56) | (2 << 40) | seq, CONCAT('bench-', seq), IF(seq % 2, 'inbound', 'outbound'),
  CONCAT('+4930', LPAD(seq % 100000, 6, '0')), CONCAT('+33', LPAD(seq % 77777, 9, '0')),
  CONCAT('customer-', LPAD(seq % {customers}, 4, '0')), 'sip:pbx@vm', IF(seq % 2, '', 'carrier-a'),
  IF(seq % 2 = 0 AND seq % 10 > 2, ((seq * 7919) % 600 + 1) * 0.0002, 0), 'dc1', 'srv1',
  t, IF(seq % 10 > 2, t + INTERVAL 2 SECOND, NULL),
  IF(seq % 10 > 2, t + INTERVAL 2 + (seq * 7919) % 600 + 1 SECOND, t + INTERVAL 5 SECOND),
  IF(seq % 10 > 2, (4 + (seq * 7919) % 600) * 1000, 5000), IF(seq % 10 > 2, (seq * 7919) % 600 + 1, 0),
  ELT(seq % 10 + 1, 'busy', 'no_answer', 'failed', 'answered', 'answered', 'answered', 'answered', 'answered',
      'answered', 'answered'),
  ELT(seq % 10 + 1, 486, 480, 503, 200, 200, 200, 200, 200, 200, 200), 'caller', '',
  seq % 30000, seq % 30000 * 172, seq % 7, seq % 40000, seq % 20000,
  seq % 29000, seq % 29000 * 172, seq % 5, seq % 30000, seq % 15000
FROM (SELECT seq, TIMESTAMPADD(MICROSECOND, (seq - 1) * {step_us}, '2026-01-01 00:00:00') AS t
      FROM seq_{first}_to_{last}) AS s"""


def load(db, records, customers):
    t0 = time.monotonic()
    db.maria.sql("ALTER TABLE cdr " + ", ".join("DROP INDEX " + i.split()[0] for i in INDEXES), db="tandem_cdr")
    chunk = 500_000
    for first in range(1, records + 1, chunk):
        db.maria.sql("SET unique_checks = 0; " + rows_sql(first, min(first + chunk - 1, records), customers, records),
                     db="tandem_cdr", timeout=600)
        pl.log(f"{min(first + chunk - 1, records):,} records ({time.monotonic() - t0:.0f} s)")
    db.maria.sql("ALTER TABLE cdr " + ", ".join("ADD KEY " + i for i in INDEXES), db="tandem_cdr", timeout=3600)
    db.maria.sql("ANALYZE TABLE cdr", db="tandem_cdr", timeout=600)
    pl.log(f"loaded and indexed in {time.monotonic() - t0:.0f} s")
    return time.monotonic() - t0


def timed(portal, path, cookies, n):
    """Wall ms per request, over one kept-alive connection like a browser's."""
    c = http.client.HTTPConnection("127.0.0.1", portal.port, timeout=60)
    h = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    out = []
    for _ in range(n):
        t = time.perf_counter()
        c.request("GET", path, headers=h)
        r = c.getresponse()
        body = r.read()
        out.append((time.perf_counter() - t) * 1000)
        if r.status != 200:
            raise RuntimeError(f"{path}: {r.status} {body[:200]!r}")
    c.close()
    return out


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def explain(db):
    month = "start_time >= '2026-11-01 00:00:00' AND start_time < '2026-12-01 00:00:00' AND customer = 'customer-0042'"
    # The shapes of cdr::usage() and cdr::records_sql(), with the values bound.
    sums = ("COUNT(*), SUM(disposition = 'answered'), SUM(billable_s), SUM(cost), SUM(IF(answer_time IS NULL, 0, "
            "TIMESTAMPDIFF(MICROSECOND, answer_time, end_time) DIV 1000))")
    queries = {
        "month per direction": f"SELECT CAST(direction AS CHAR), {sums} FROM cdr WHERE {month} GROUP BY 1 ORDER BY 1",
        "month per day": f"SELECT CAST(DATE(start_time) AS CHAR), {sums} FROM cdr WHERE {month} GROUP BY 1 ORDER BY 1",
        "first calls page": "SELECT * FROM cdr WHERE customer = 'customer-0042' "
                            "ORDER BY start_time DESC, id DESC LIMIT 51",
        "every customer's month (operator, tandemctl cdr report)":
            f"SELECT customer, {sums} FROM cdr FORCE INDEX (start_time) WHERE start_time >= '2026-11-01 00:00:00' "
            "AND start_time < '2026-12-01 00:00:00' GROUP BY 1 ORDER BY 1",
    }
    out = []
    for name, q in queries.items():
        rows = db.maria.sql("EXPLAIN " + q, db="tandem_cdr")
        out.append(f"{name}:\n  " + "\n  ".join("\t".join(r) for r in rows))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=10_000_000)
    ap.add_argument("--customers", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()
    pl.CLEANUP.install()
    try:
        work = pl.temp_dir("tandem-portal-bench-")
        # The buffer pool holds the whole table; not kept across a restart, so that
        # the pages can also be measured with it cold (the files stay in the page cache).
        db = pl.Db(work, samples=False,
                   mariadb_extra=["--innodb-buffer-pool-size=2G", "--innodb-log-file-size=512M",
                                  "--innodb-buffer-pool-dump-at-shutdown=0", "--innodb-buffer-pool-load-at-startup=0"])
        load_s = load(db, args.records, args.customers)
        size = db.maria.sql("SELECT ROUND((data_length + index_length) / 1048576) FROM information_schema.tables "
                            "WHERE table_schema = 'tandem_cdr' AND table_name = 'cdr'")[0][0]
        db.ctl(["portal", "users", "add", "bench", "--customer", CUSTOMER], stdin="bench-password-1\n")
        db.ctl(["portal", "users", "add", "bench-ops", "--operator"], stdin="bench-password-2\n")
        portal = pl.Portal(db, work, "bench")
        pl.CLEANUP.add("stop tandem-portal", portal.stop)
        status, cookies = portal.login("bench", "bench-password-1")
        assert status == 303, status
        pages = (("month page", f"/month?month={MONTH}"), ("first calls page", "/calls"))
        results = {}
        for name, path in pages:
            first = timed(portal, path, cookies, 1)[0]
            ms = timed(portal, path, cookies, args.requests)
            results[name] = (first, statistics.median(ms), percentile(ms, 99), max(ms))
        status, ops = portal.login("bench-ops", "bench-password-2")
        assert status == 303, status
        try:
            every = ", ".join(f"{ms:.0f}" for ms in timed(portal, f"/month?month={MONTH}", ops, 3)) + " ms"
        except RuntimeError as e:
            every = f"failed: {str(e)[:60]}"
        # Cold: mariadbd restarted, its buffer pool empty; the portal reconnects by itself.
        db.maria.stop()
        db.maria.run()
        time.sleep(6)   # past the pool's idle check: its connections to the old server are found dead, not used
        cold = {name: timed(portal, path, cookies, 1)[0] for name, path in pages}
        month_calls = db.maria.sql(f"SELECT COUNT(*) FROM cdr WHERE customer = '{CUSTOMER}' AND start_time >= "
                                   f"'2026-11-01' AND start_time < '2026-12-01'", db="tandem_cdr", timeout=600)[0][0]
        print(f"\n{args.records:,} records of {args.customers:,} customers in 2026 ({size} MiB with indexes, "
              f"loaded in {load_s:.0f} s); {CUSTOMER}: {month_calls} calls in {MONTH}; "
              f"{args.requests} requests each, one connection, after one first request")
        print(f"{'page':<18}{'first ms':>10}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
        for name, (first, p50, p99, top) in results.items():
            print(f"{name:<18}{first:>10.1f}{p50:>10.1f}{p99:>10.1f}{top:>10.1f}")
        print("cold buffer pool (mariadbd restarted), first request: " +
              ", ".join(f"{name} {ms:.1f} ms" for name, ms in cold.items()))
        print(f"operator, every customer's month ({args.records // 12:,} records or so), warm: {every}")
        print("\nEXPLAIN (id select_type table type possible_keys key key_len ref rows Extra):\n" + explain(db))
        print("load average: " + open("/proc/loadavg").read().strip())
    finally:
        pl.CLEANUP.run()


if __name__ == "__main__":
    main()
