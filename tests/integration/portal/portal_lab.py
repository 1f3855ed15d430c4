"""The portal's lab: a real MariaDB (../sip/lab.py's) with the Rules DB and
the CDR DB made by `tandemctl db init` (which creates the portal's read-only
DB user), generated call records of two customers, accounts made with
`tandemctl portal users add`, tandem-portal processes on loopback, an HTTP
client that follows no redirect, and headless Chromium driven by Selenium.
"""

import calendar
import decimal
import http.client
import os
import random
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sip"))

import lab  # noqa: E402
from harness import CLEANUP, log, run, spawn, stop_process, temp_dir, wait_for  # noqa: E402

TANDEMCTL = lab.harness.TANDEMCTL
PORTAL = lab.harness.binary("TANDEM_PORTAL", "portal/tandem-portal")
BUILD_DIR = os.environ.get("TANDEM_BUILD_DIR", os.path.join(HERE, "..", "..", "..", "build"))
PORTAL_DB_PASSWORD = "portal-db-secret-4711"
MONTH = "2026-11"
ACME = "Acme"
OTHER = "Zürich & <Co>"     # escaping everywhere it shows
PASSWORDS = {"alice": "alice-password-1", "bob": "bob-password-22", "carol": "carol-password-3",
             "ops": "operator-password-4"}
ACCOUNTS = {"alice": ACME, "bob": OTHER, "carol": ACME, "ops": None}
# The CDR columns the rows below fill, by name: the table grows columns (with defaults) over time.
CDR_COLUMNS = ("id, call_id, direction, caller, called, customer, target, provider, cost, dc, server, start_time, "
               "answer_time, end_time, duration_ms, billable_s, disposition, sip_code, hangup_side, hangup_reason, "
               "a_packets, a_bytes, a_lost, a_jitter_max_us, a_jitter_mean_us, "
               "b_packets, b_bytes, b_lost, b_jitter_max_us, b_jitter_mean_us")
SIP_CODES = {"answered": 200, "busy": 486, "no_answer": 480, "failed": 503, "cancelled": 487, "rejected": 603}


def require_environment():
    for prog in ("mariadbd", "mariadb-install-db", "mariadb"):
        if not lab.find_program(prog):
            lab.harness.skip(f"needs {prog} (apt-get install mariadb-server)")
    for path in (TANDEMCTL, PORTAL):
        if not os.access(path, os.X_OK):
            lab.harness.skip(f"{path} is not built")
    for prog in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not os.access(prog, os.X_OK):
            lab.harness.skip(f"needs {prog} (apt-get install chromium chromium-driver)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        lab.harness.skip("needs python3-selenium")


def record_id(seq):
    return (1 << 56) | (2 << 40) | seq


def format_id(seq):
    return f"1-2-{seq}"


def minutes(seconds):
    """cdr::format_minutes: seconds as minutes, two decimals, half up."""
    return str((decimal.Decimal(seconds) / 60).quantize(decimal.Decimal("0.01"), rounding=decimal.ROUND_HALF_UP))


class Cdrs:
    """Call records of November 2026 (and a few of October, which the month
    must leave out): ACME's fill three pages of calls, OTHER's one."""

    def __init__(self):
        rnd = random.Random(17)
        self.rows = []
        seq = 0
        for customer, count, month in ((ACME, 130, 11), (OTHER, 40, 11), (ACME, 5, 10)):
            for _ in range(count):
                seq += 1
                start = calendar.timegm((2026, month, 1, 0, 0, 0))
                start_ms = start * 1000 + rnd.randrange(calendar.monthrange(2026, month)[1] * 86400 * 1000)
                disposition = rnd.choice(["answered"] * 6 + [d for d in SIP_CODES if d != "answered"])
                direction = rnd.choice(["inbound", "outbound"])
                answered = disposition == "answered"
                answer_ms = start_ms + rnd.randrange(1000, 9000) if answered else None
                end_ms = (answer_ms + rnd.randrange(500, 600_000)) if answered else start_ms + rnd.randrange(100, 30_000)
                billable = -(-(end_ms - answer_ms) // 1000) if answered else 0
                cost = decimal.Decimal(billable) * decimal.Decimal("0.000150") if direction == "outbound" else 0
                legs = [(rnd.randrange(0, 30000), rnd.randrange(-3, 200), rnd.randrange(0, 40000),
                         rnd.randrange(0, 20000)) for _ in range(2)]
                self.rows.append({
                    "seq": seq, "id": record_id(seq), "customer": customer, "direction": direction,
                    "caller": rnd.choice(["+4930100001", "+4930100002", "+4917000001"]),
                    "called": rnd.choice(["+4930200001", "+4930200002", "+33100000001"]),
                    "start_ms": start_ms, "answer_ms": answer_ms, "end_ms": end_ms, "billable_s": billable,
                    "cost": decimal.Decimal(cost).quantize(decimal.Decimal("0.000001")),
                    "disposition": disposition, "legs": legs})

    @staticmethod
    def _time(ms):
        if ms is None:
            return "NULL"
        t = time.gmtime(ms // 1000)
        return "'" + time.strftime("%Y-%m-%d %H:%M:%S", t) + f".{ms % 1000:03d}'"

    def insert_sql(self):
        values = []
        for r in self.rows:
            legs = ", ".join(f"{p}, {p * 172}, {lost}, {jmax}, {jmean}" for p, lost, jmax, jmean in r["legs"])
            customer = r["customer"].replace("'", "''")
            values.append(
                f"({r['id']}, 'call-{r['seq']}@test', '{r['direction']}', '{r['caller']}', '{r['called']}', "
                f"'{customer}', 'sip:pbx@vm', '{'carrier-a' if r['direction'] == 'outbound' else ''}', {r['cost']}, "
                f"'dc1', 'srv1', {self._time(r['start_ms'])}, {self._time(r['answer_ms'])}, "
                f"{self._time(r['end_ms'])}, {r['end_ms'] - r['start_ms']}, {r['billable_s']}, "
                f"'{r['disposition']}', {SIP_CODES[r['disposition']]}, 'caller', '', {legs})")
        return f"INSERT INTO cdr ({CDR_COLUMNS}) VALUES " + ",\n".join(values)

    def of(self, customer, month=11, **where):
        """The customer's records of that month, newest first, as the portal lists them."""
        rows = [r for r in self.rows if r["customer"] == customer and time.gmtime(r["start_ms"] // 1000).tm_mon == month
                and all(r[k] == v for k, v in where.items())]
        return sorted(rows, key=lambda r: (r["start_ms"], r["id"]), reverse=True)


class Db:
    """MariaDB (`maria`, or one started here) with both DBs (tandemctl db
    init, the portal's DB user) and, unless `samples` is false, the records of
    Cdrs and the accounts."""

    def __init__(self, workdir, samples=True, mariadb_extra=(), maria=None):
        self.maria = maria or lab.MariaDb(mariadb_extra).start()
        self.address = f"unix:{self.maria.socket}"
        env = dict(os.environ, TANDEM_PORTAL_DB_PASSWORD=PORTAL_DB_PASSWORD)
        r = subprocess.run([TANDEMCTL, "db", "--rules-db", self.address, "--rules-db-user", "root",
                            "--cdr-db", self.address, "--cdr-db-user", "root", "init"],
                           capture_output=True, text=True, timeout=60, env=env)
        if r.returncode != 0:
            raise RuntimeError("tandemctl db init: " + r.stderr)
        self.init_output = r.stdout
        self.password_file = os.path.join(workdir, "portal-db-password")
        with open(self.password_file, "w") as f:
            f.write(PORTAL_DB_PASSWORD + "\n")
        if samples:
            self.cdrs = Cdrs()
            self.maria.sql(self.cdrs.insert_sql(), db="tandem_cdr")
            self.maria.sql(f"INSERT INTO customers (name, time_zone, vm_sip) VALUES ('{ACME}', 'UTC', 'sip:a@vm'), "
                           f"('{OTHER}', 'UTC', 'sip:z@vm')", db="tandem_rules")
            for login, customer in ACCOUNTS.items():
                who = ["--operator"] if customer is None else ["--customer", customer]
                self.ctl(["portal", "users", "add", login] + who, stdin=PASSWORDS[login] + "\n")

    def ctl(self, args, stdin=None, check=True):
        """tandemctl ARGS on this MariaDB as root (portal: the Rules DB; cdr: the CDR DB)."""
        return run([TANDEMCTL] + args + ["--db", self.address, "--db-user", "root"], input=stdin, check=check,
                   timeout=60)

    def as_portal(self, query):
        """A statement as the portal's DB user: (exit code, stderr)."""
        r = subprocess.run([lab.find_program("mariadb"), "--no-defaults", f"--socket={self.maria.socket}",
                            "-utandem_portal", f"-p{PORTAL_DB_PASSWORD}", "-N", "-B", "-e", query],
                           capture_output=True, text=True, timeout=30)
        return r.returncode, r.stderr


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Portal:
    """tandem-portal on 127.0.0.1, its log in the work dir."""

    def __init__(self, db, workdir, name, extra=()):
        self.port = free_port()
        self.tls = "--tls-cert" in extra
        self.log_path = os.path.join(workdir, f"portal-{name}.log")
        self.args = [PORTAL, "--listen", f"127.0.0.1:{self.port}",
                     "--rules-db", db.address, "--rules-db-password-file", db.password_file,
                     "--cdr-db", db.address, "--cdr-db-password-file", db.password_file] + list(extra)
        self.out = open(self.log_path, "w")
        self.proc = spawn(self.args, stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(lambda: self.proc.poll() is not None or "ready on" in lab.read_text(self.log_path), 20,
                 what=f"tandem-portal {name} to be ready")
        if self.proc.poll() is not None:
            raise RuntimeError(f"tandem-portal {name} exited: " + lab.read_text(self.log_path))

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def stop(self):
        stop_process(self.proc)
        self.out.close()

    def log(self):
        return lab.read_text(self.log_path)

    def request(self, method, path, cookies=None, form=None, headers=None):
        """(status, headers as a dict of lists, body text); no redirect followed."""
        if self.tls:
            c = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=30,
                                            context=ssl._create_unverified_context())
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        if cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            got = {}
            for k, v in r.getheaders():
                got.setdefault(k.lower(), []).append(v)
            return r.status, got, r.read().decode("utf-8", "replace")
        finally:
            c.close()

    def login(self, login, password=None):
        """Logs in over HTTP: (status, session cookie or None)."""
        status, headers, body = self.request("GET", "/login")
        assert status == 200, status
        csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', body).group(1)
        status, headers, _ = self.request("POST", "/login", cookies={"tandem_login_csrf": csrf},
                                          form={"csrf": csrf, "login": login,
                                                "password": PASSWORDS.get(login, "") if password is None else password})
        for c in headers.get("set-cookie", []):
            m = re.match(r"tandem_session=([0-9a-f]{64});", c)
            if m:
                return status, {"tandem_session": m.group(1)}
        return status, None


def browser(workdir):
    """Headless Chromium under chromedriver, its profile in the work dir."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000",
              f"--user-data-dir={os.path.join(workdir, 'chromium')}", "--no-first-run", "--disable-extensions",
              "--disable-background-networking", "--disable-sync", "--disable-component-update"):
        options.add_argument(a)
    service = Service("/usr/bin/chromedriver", log_path=os.path.join(workdir, "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    CLEANUP.add("quit chromium", driver.quit)
    return driver


DEMO_LOGIN = "demo"
DEMO_PASSWORD = "demo-password"


def start_demo_portal(maria, workdir, customer):
    """What ./tools/demo ends with: on the demo's MariaDB the portal's DB user,
    a login for `customer`, tandem-portal on loopback, the login checked."""
    db = Db(workdir, samples=False, maria=maria)
    db.ctl(["portal", "users", "add", DEMO_LOGIN, "--customer", customer], stdin=DEMO_PASSWORD + "\n")
    portal = Portal(db, workdir, "demo")
    CLEANUP.add("stop tandem-portal demo", portal.stop)
    status, cookies = portal.login(DEMO_LOGIN, DEMO_PASSWORD)
    if status != 303 or portal.request("GET", "/month", cookies=cookies)[0] != 200:
        raise RuntimeError(f"the demo login does not work ({status}): " + portal.log())
    return portal


def screenshot_dir():
    """Under the build folder: the pages as the test saw them, kept for a look."""
    d = os.path.join(BUILD_DIR, "portal-screenshots")
    os.makedirs(d, exist_ok=True)
    return d


def self_signed(workdir):
    """A certificate and key for 127.0.0.1 (openssl), for the TLS test."""
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
         "-subj", "/CN=127.0.0.1"], timeout=60)
    return cert, key
