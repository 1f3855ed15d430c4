"""tandem-portal end to end (issue 17): a real MariaDB with generated call
records, the real tandem-portal and tandemctl, and a real headless Chromium
driven by Selenium.

In the browser: log in, the month with its charts (the figures equal
`tandemctl cdr report`), the calls newest first, the next page, a filter, a
call's media quality, the CSV (compared with the DB), log out; a screenshot of
each page under the build folder (portal-screenshots/). Over plain HTTP:
every page without a cookie goes to the login page, another customer's ids,
pages and CSVs are 404, forms without their CSRF token 403, SQL
metacharacters and 10 kB values in every parameter, the operator's view,
wrong passwords and the lock-out, an expired session, passwd and disable
ending sessions, TLS with Secure cookies, the DB user that can only read, and
the DB down (503) and back (recovered without a restart).
"""

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import portal_lab as pl  # noqa: E402
from portal_lab import ACME, MONTH, OTHER, PASSWORDS  # noqa: E402

WORK = None
DB = None
PORTAL = None      # the one the browser and most tests use
STRICT = None      # 3 failures lock for a minute; sessions idle out after 2 s


def setUpModule():
    global WORK, DB, PORTAL, STRICT
    WORK = pl.temp_dir("tandem-portal-")
    DB = pl.Db(WORK)
    PORTAL = pl.Portal(DB, WORK, "main", ["--login-max-failures", "1000",
                                          "--metrics-listen", f"127.0.0.1:{pl.free_port()}"])
    pl.CLEANUP.add("stop tandem-portal main", PORTAL.stop)
    STRICT = pl.Portal(DB, WORK, "strict", ["--login-max-failures", "3", "--login-window", "60",
                                             "--login-lockout", "60", "--session-idle", "2"])
    pl.CLEANUP.add("stop tandem-portal strict", STRICT.stop)


def cells(row):
    return [c.text.strip() for c in row.find_elements("css selector", "th, td")]


def report_row(customer):
    """The customer's line of `tandemctl cdr report --month --csv`."""
    out = DB.ctl(["cdr", "report", "--month", MONTH, "--csv"]).stdout
    for row in csv.reader(io.StringIO(out)):
        if row[0] == customer:
            return row
    raise AssertionError(f"{customer} not in the report:\n{out}")


def shown_id(r):
    return pl.format_id(r["seq"])


class A_Browser(unittest.TestCase):
    """One customer's visit, in Chromium."""

    @classmethod
    def setUpClass(cls):
        cls.driver = pl.browser(WORK)
        cls.shots = pl.screenshot_dir()

    def shot(self, name):
        self.driver.save_screenshot(os.path.join(self.shots, name + ".png"))

    def go(self, path):
        self.driver.get(PORTAL.url + path)

    def click(self, element):
        """Clicks and waits for the next page: a click does not wait for the navigation it starts."""
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait
        page = self.driver.find_element("tag name", "html")
        element.click()

        def gone(_):
            # Chromium says "stale" or, caught while it swaps documents, "does not belong to the document".
            try:
                page.is_enabled()
                return False
            except StaleElementReferenceException:
                return True
            except WebDriverException as e:
                if "does not belong to the document" in str(e):
                    return True
                raise

        WebDriverWait(self.driver, 20).until(gone)

    def log_in(self, login):
        self.go("/login")
        self.driver.find_element("name", "login").send_keys(login)
        self.driver.find_element("name", "password").send_keys(PASSWORDS[login])
        self.click(self.driver.find_element("css selector", "button[type=submit]"))

    def calls_shown(self):
        rows = self.driver.find_elements("css selector", "#calls tr")[1:]
        return [r.find_element("css selector", "a").get_attribute("href").rsplit("/", 1)[1] for r in rows]

    def test_visit(self):
        d = self.driver
        self.go("/month")
        self.assertTrue(d.current_url.endswith("/login"), d.current_url)
        self.shot("1-login")
        self.log_in("alice")
        self.assertIn("/month", d.current_url)
        self.assertIn("Month of Acme", d.title)
        cookie = d.get_cookie("tandem_session")
        self.assertTrue(cookie["httpOnly"])
        self.assertEqual(cookie["sameSite"], "Strict")

        # The month: the totals equal tandemctl's report, the charts have a bar per day.
        self.go(f"/month?month={MONTH}")
        self.shot("2-month")
        rows = d.find_elements("css selector", "#usage tr")
        self.assertEqual(cells(rows[0]), ["direction", "calls", "answered", "minutes", "billable minutes", "cost"])
        total = cells(rows[-1])
        report = report_row(ACME)
        self.assertEqual([total[0], total[1], total[2], total[4], total[5]],
                         ["total", report[1], report[2], report[3], report[4]])
        acme = DB.cdrs.of(ACME)
        talk_s = sum(round((r["end_ms"] - r["answer_ms"]) / 1000) for r in acme if r["answer_ms"])
        self.assertEqual(total[1], str(len(acme)))
        self.assertAlmostEqual(float(total[3]), talk_s / 60, delta=0.02 * len(acme))
        by_direction = {cells(r)[0]: cells(r) for r in rows[1:-1]}
        for direction in ("inbound", "outbound"):
            self.assertEqual(by_direction[direction][1], str(len(DB.cdrs.of(ACME, direction=direction))))
        charts = d.find_elements("css selector", "svg")
        self.assertEqual(len(charts), 2)
        for chart in charts:
            self.assertEqual(len(chart.find_elements("css selector", "rect")), 30)   # November's days

        # The calls: newest first, a page of 50, the next page.
        self.click(d.find_element("link text", "This month's calls"))
        self.shot("3-calls")
        self.assertEqual(self.calls_shown(), [shown_id(r) for r in acme[:50]])
        self.click(d.find_element("link text", "older"))
        self.assertEqual(self.calls_shown(), [shown_id(r) for r in acme[50:100]])
        self.assertIn("page=2", d.current_url)

        # A filter from the form.
        from selenium.webdriver.support.ui import Select
        Select(d.find_element("name", "direction")).select_by_visible_text("outbound")
        Select(d.find_element("name", "disposition")).select_by_visible_text("answered")
        self.click(d.find_element("css selector", "form.filter button"))
        self.shot("4-calls-filtered")
        want = DB.cdrs.of(ACME, direction="outbound", disposition="answered")
        self.assertLessEqual(len(want), 50)
        self.assertEqual(self.calls_shown(), [shown_id(r) for r in want])
        d.find_element("name", "number").send_keys(want[0]["caller"])
        self.click(d.find_element("css selector", "form.filter button"))
        self.assertEqual(self.calls_shown(),
                         [shown_id(r) for r in want if want[0]["caller"] in (r["caller"], r["called"])])

        # One call: both legs' media quality as recorded.
        self.click(d.find_element("css selector", "#calls tr:nth-child(2) a"))
        self.shot("5-call")
        first = want[0]
        self.assertIn(shown_id(first), d.title)
        media = [cells(r) for r in d.find_elements("css selector", "#media tr")[1:]]
        for leg, row in zip(first["legs"], media):
            packets, lost, jmax, jmean = leg
            self.assertEqual(row[1:], [str(packets), str(packets * 172), str(lost), str(jmax), str(jmean)])

        # The month's calls as CSV, fetched with the browser's session: the same as the DB.
        self.go(f"/calls?from={MONTH}-01&to={MONTH}-30")
        href = d.find_element("link text", "Download CSV").get_attribute("href")
        status, headers, body = PORTAL.request("GET", href[len(PORTAL.url):],
                                               cookies={"tandem_session": d.get_cookie("tandem_session")["value"]})
        self.assertEqual(status, 200)
        self.assertIn("attachment", headers["content-disposition"][0])
        got = list(csv.DictReader(io.StringIO(body)))
        self.assertEqual([r["id"] for r in got], [shown_id(r) for r in acme])
        for g, r in zip(got, acme):
            self.assertEqual((g["customer"], g["direction"], g["disposition"], g["billable_s"], g["cost"]),
                             (ACME, r["direction"], r["disposition"], str(r["billable_s"]), str(r["cost"])))
            self.assertEqual(g["b_packets"], str(r["legs"][1][0]))

        # Log out: back to the login page, and the pages with it.
        self.click(d.find_element("css selector", "header form button"))
        self.assertTrue(d.current_url.endswith("/login"), d.current_url)
        self.shot("6-logged-out")
        self.go("/calls")
        self.assertTrue(d.current_url.endswith("/login"), d.current_url)

    def test_operator(self):
        d = self.driver
        self.log_in("ops")
        self.go("/customers")
        self.shot("7-customers")
        self.assertEqual([a.text for a in d.find_elements("css selector", "main li a")], [ACME, OTHER])
        self.click(d.find_element("link text", OTHER))
        self.go(d.current_url[len(PORTAL.url):] + f"&month={MONTH}")
        self.shot("8-operator-month")
        total = cells(d.find_elements("css selector", "#usage tr")[-1])
        report = report_row(OTHER)
        self.assertEqual([total[1], total[2], total[4], total[5]], report[1:])
        self.click(d.find_element("css selector", "header form button"))


class B_Http(unittest.TestCase):
    """What a browser would not try."""

    @classmethod
    def setUpClass(cls):
        status, cls.alice = PORTAL.login("alice")
        assert status == 303 and cls.alice, status

    def test_every_page_without_a_cookie_goes_to_login(self):
        for method, path in (("GET", "/"), ("GET", "/month"), ("GET", "/month.csv"), ("GET", "/calls"),
                             ("GET", "/calls.csv"), ("GET", "/calls/1-2-1"), ("GET", "/customers"),
                             ("POST", "/logout"), ("GET", f"/month?month={MONTH}&customer=Acme")):
            for cookies in (None, {"tandem_session": "0" * 64}, {"tandem_session": "x'; DROP TABLE cdr; --"}):
                status, headers, _ = PORTAL.request(method, path, cookies=cookies)
                self.assertEqual(status, 303, (method, path, cookies))
                self.assertIn(headers["location"][0], ("/login", "/month"), (method, path))

    def test_another_customers_data_is_not_found(self):
        theirs = DB.cdrs.of(OTHER)[0]
        other = urllib.parse.quote(OTHER)
        for path in (f"/calls/{shown_id(theirs)}", f"/calls/{theirs['id']}", "/calls/1-2-999999",
                     f"/month?customer={other}", f"/month.csv?month={MONTH}&customer={other}",
                     f"/calls?customer={other}", f"/calls.csv?customer={other}", "/calls.csv?customer=x",
                     "/customers", f"/calls/{shown_id(theirs)}?customer={other}", "/nothing/here"):
            status, _, body = PORTAL.request("GET", path, cookies=self.alice)
            self.assertEqual(status, 404, path)
            self.assertNotIn(theirs["called"] + "<", body)
        # Their own: found; and their CSV holds their calls only.
        status, _, _ = PORTAL.request("GET", f"/calls/{shown_id(DB.cdrs.of(ACME)[0])}", cookies=self.alice)
        self.assertEqual(status, 200)
        status, _, body = PORTAL.request("GET", "/calls.csv", cookies=self.alice)
        self.assertEqual({r["customer"] for r in csv.DictReader(io.StringIO(body))}, {ACME})

    def test_forms_without_their_csrf_token_are_refused(self):
        status, _, _ = PORTAL.request("POST", "/logout", cookies=self.alice)
        self.assertEqual(status, 403)
        status, _, _ = PORTAL.request("POST", "/logout", cookies=self.alice, form={"csrf": "0" * 64})
        self.assertEqual(status, 403)
        self.assertEqual(PORTAL.request("GET", "/month", cookies=self.alice)[0], 200)   # still logged in
        status, _, _ = PORTAL.request("POST", "/login", form={"login": "alice", "password": PASSWORDS["alice"]})
        self.assertEqual(status, 403)
        status, _, _ = PORTAL.request("POST", "/login", cookies={"tandem_login_csrf": "a" * 64},
                                      form={"csrf": "b" * 64, "login": "alice", "password": PASSWORDS["alice"]})
        self.assertEqual(status, 403)
        self.assertIn("no or wrong CSRF token", PORTAL.log())

    def test_sql_metacharacters_and_10kb_values_in_every_parameter(self):
        values = ["' OR '1'='1' -- ", "\"><script>alert(1)</script>", "%00\\", "x" * 10240, "1; DROP TABLE cdr"]
        params = ("customer", "month", "from", "to", "number", "direction", "disposition", "page")
        for path in ("/month", "/month.csv", "/calls", "/calls.csv", "/calls/1-2-1", "/customers"):
            for p in params:
                for v in values:
                    status, _, body = PORTAL.request("GET", f"{path}?{p}={urllib.parse.quote(v)}",
                                                     cookies=self.alice)
                    self.assertIn(status, (200, 400, 404, 414), (path, p, v[:20]))
                    self.assertNotIn("<script>alert", body, (path, p))
        # A number with SQL in it is just a number that matches nothing.
        status, _, body = PORTAL.request("GET", "/calls?number=%27%20OR%20%271%27%3D%271", cookies=self.alice)
        self.assertEqual(status, 200)
        self.assertIn("No calls.", body)
        for field in ("login", "password"):
            status, _ = PORTAL.login("alice" if field == "password" else "x" * 10240,
                                     "y" * 10240 if field == "password" else "z")
            self.assertIn(status, (401, 413))
        self.assertEqual(DB.maria.sql("SELECT COUNT(*) FROM cdr", db="tandem_cdr"), [[str(len(DB.cdrs.rows))]])
        self.assertEqual(PORTAL.request("GET", "/month", cookies=self.alice)[0], 200)

    def test_operator_report_csv_is_tandemctls(self):
        status, ops = PORTAL.login("ops")
        self.assertEqual(status, 303)
        status, _, body = PORTAL.request("GET", f"/month.csv?month={MONTH}", cookies=ops)
        self.assertEqual(status, 200)
        # (tandemctl's output is read as text: its CRLF arrive as LF.)
        self.assertEqual(body.replace("\r\n", "\n"), DB.ctl(["cdr", "report", "--month", MONTH, "--csv"]).stdout)
        status, _, body = PORTAL.request("GET", f"/month.csv?month={MONTH}&customer=Acme", cookies=ops)
        self.assertEqual(body.splitlines()[-1], "total," + ",".join(report_row(ACME)[1:]))

    def test_passwords_never_logged(self):
        for portal in (PORTAL, STRICT):
            for password in PASSWORDS.values():
                self.assertNotIn(password, portal.log())
        self.assertNotIn(pl.PORTAL_DB_PASSWORD, PORTAL.log())


class C_Accounts(unittest.TestCase):
    """Wrong passwords, lock-out, expiry, passwd, disable: on the strict portal."""

    def test_1_expired_session(self):
        status, carol = STRICT.login("carol")
        self.assertEqual(status, 303)
        self.assertEqual(STRICT.request("GET", "/month", cookies=carol)[0], 200)
        time.sleep(2.5)
        status, headers, _ = STRICT.request("GET", "/month", cookies=carol)
        self.assertEqual((status, headers["location"][0]), (303, "/login"))

    def test_2_passwd_and_disable_end_sessions(self):
        status, carol = STRICT.login("carol")
        self.assertEqual(status, 303)
        DB.ctl(["portal", "users", "passwd", "carol"], stdin="carol-password-new\n")
        self.assertEqual(STRICT.request("GET", "/month", cookies=carol)[0], 303)
        status, carol = STRICT.login("carol", "carol-password-new")
        self.assertEqual(status, 303)
        DB.ctl(["portal", "users", "disable", "carol"])
        self.assertEqual(STRICT.request("GET", "/month", cookies=carol)[0], 303)
        # On the other portal: a failure here would count towards test_3's lock-out.
        self.assertEqual(PORTAL.login("carol", "carol-password-new")[0], 401)
        DB.ctl(["portal", "users", "enable", "carol"])
        listing = DB.ctl(["portal", "users", "list"]).stdout
        self.assertIn("carol  customer Acme  created", listing)
        self.assertIn("ops  operator", listing)
        self.assertNotIn("argon2", listing)
        # A short password, a taken login, and a flag-less password: refused with a reason.
        r = DB.ctl(["portal", "users", "add", "dave", "--customer", ACME], stdin="short\n", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("at least 10", r.stderr)
        r = DB.ctl(["portal", "users", "add", "ops", "--operator"], stdin="long enough pw\n", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("exists already", r.stderr)

    def test_3_wrong_password_then_lockout(self):
        for _ in range(3):
            self.assertEqual(STRICT.login("carol", "wrong password")[0], 401)
        # Locked: even the right password is refused now (the account, and this address).
        self.assertEqual(STRICT.login("carol", "carol-password-new")[0], 429)
        self.assertEqual(STRICT.login("ops")[0], 429)
        log = STRICT.log()
        self.assertIn("login of carol from 127.0.0.1 failed: now locked for 60 s", log)
        self.assertIn("locked after too many failures, refused", log)
        self.assertNotIn("wrong password", log)


class D_Deployment(unittest.TestCase):

    def test_db_user_may_only_read(self):
        self.assertIn("portal DB user tandem_portal: may read, nothing else", DB.init_output)
        self.assertEqual(DB.as_portal("SELECT COUNT(*) FROM tandem_cdr.cdr")[0], 0)
        for statement in ("DELETE FROM tandem_cdr.cdr", "INSERT INTO tandem_rules.portal_users (login, password_hash) "
                          "VALUES ('x', 'y')", "UPDATE tandem_rules.portal_users SET disabled = 0",
                          "SELECT * FROM tandem_rules.rates", "DROP TABLE tandem_cdr.cdr", "CREATE DATABASE x"):
            code, err = DB.as_portal(statement)
            self.assertNotEqual(code, 0, statement)
            self.assertRegex(err, "denied", statement)

    def test_check_config(self):
        r = pl.run(PORTAL.args + ["--check-config"], check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("--check-db to read them", r.stdout)
        r = pl.run(PORTAL.args + ["--check-config", "--check-db"], check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("ok       CDR DB: tandem_cdr.cdr", r.stdout)
        bad = os.path.join(WORK, "wrong-password")
        with open(bad, "w") as f:
            f.write("wrong\n")
        args = [a if a != DB.password_file else bad for a in PORTAL.args]
        r = pl.run(args + ["--check-config", "--check-db"], check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("error    Rules DB", r.stdout)
        for flags in (["--listen", "nowhere"], ["--tls-cert", "x.pem"], ["--session-idle", "0"], []):
            r = pl.run([pl.PORTAL] + flags + ([] if not flags else ["--rules-db", "unix:/x", "--cdr-db", "unix:/x"]),
                       check=False)
            self.assertEqual(r.returncode, 2, flags)
        self.assertEqual(pl.run([pl.PORTAL, "--help"]).returncode, 0)

    def test_unit_and_shipped_configuration(self):
        """tools/systemd's unit passes systemd-analyze verify; portal.conf parses and only its
        placeholders (the certificate and key to put in place) are wrong."""
        units = os.path.join(pl.lab.harness.SOURCE_ROOT, "tools", "systemd")
        root = pl.temp_dir("tandem-portal-unit-")
        bindir, etc = os.path.join(root, "bin"), os.path.join(root, "etc", "tandem")
        os.makedirs(bindir)
        os.makedirs(etc)
        os.symlink(os.path.abspath(pl.PORTAL), os.path.join(bindir, "tandem-portal"))
        with open(os.path.join(units, "tandem-portal.service.in")) as f:
            text = f.read().replace("@bindir@", bindir).replace("@sysconfdir@", os.path.dirname(etc))
        unit = os.path.join(root, "tandem-portal.service")
        with open(unit, "w") as f:
            f.write(text.replace("@docdir@", root))
        with open(os.path.join(units, "portal.conf")) as f:
            conf = f.read().replace("/etc/tandem/", etc + "/")
        with open(os.path.join(etc, "portal.conf"), "w") as f:
            f.write(conf)
        with open(os.path.join(etc, "portal-db.password"), "w") as f:
            f.write("secret\n")
        r = pl.run(["systemd-analyze", "verify", unit], check=False)
        self.assertEqual((r.returncode, r.stderr.strip()), (0, ""), r.stdout)
        r = pl.run([pl.PORTAL, "--config", os.path.join(etc, "portal.conf"), "--check-config"], check=False)
        self.assertIn("ok       flags and --config parsed", r.stdout)
        errors = [line for line in r.stdout.splitlines() if line.startswith("error")]
        self.assertEqual([e.split(":")[0] for e in errors], [f"error    --tls-cert {etc}/portal.pem",
                                                              f"error    --tls-key {etc}/portal.key"], r.stdout)
        self.assertEqual(r.returncode, 2)

    def test_tls_and_secure_cookies(self):
        cert, key = pl.self_signed(WORK)
        tls = pl.Portal(DB, WORK, "tls", ["--tls-cert", cert, "--tls-key", key])
        try:
            status, _, body = tls.request("GET", "/login")
            self.assertEqual(status, 200)
            status, alice = tls.login("alice")
            self.assertEqual(status, 303)
            status, headers, _ = tls.request("GET", "/login")
            self.assertTrue(all("Secure" in c for c in headers["set-cookie"]))
            status, headers, _ = tls.request("GET", f"/month?month={MONTH}", cookies=alice)
            self.assertEqual(status, 200)
            self.assertEqual(headers["strict-transport-security"], ["max-age=31536000"])
        finally:
            tls.stop()
        # Plain HTTP behind a proxy that does TLS: Secure cookies all the same; without it none.
        proxied = pl.Portal(DB, WORK, "proxied", ["--behind-tls-proxy"])
        try:
            _, headers, _ = proxied.request("GET", "/login")
            self.assertTrue(all("; Secure" in c for c in headers["set-cookie"]))
        finally:
            proxied.stop()
        _, headers, _ = PORTAL.request("GET", "/login")
        self.assertFalse(any("Secure" in c for c in headers["set-cookie"]))
        self.assertNotIn("strict-transport-security", headers)


    def test_demo_portal(self):
        demo = pl.start_demo_portal(DB.maria, WORK, ACME)
        try:
            status, cookies = demo.login(pl.DEMO_LOGIN, pl.DEMO_PASSWORD)
            self.assertIn(f"Month of {ACME}", demo.request("GET", f"/month?month={MONTH}", cookies=cookies)[2])
        finally:
            demo.stop()

    def test_metrics(self):
        listen = PORTAL.args[PORTAL.args.index("--metrics-listen") + 1]
        time.sleep(1.5)   # published every second
        text = pl.run(["curl", "-sf", f"http://{listen}/metrics"]).stdout
        values = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(tandem_portal_\w+) (\S+)$", text, re.M)}
        for name, at_least in (("tandem_portal_logins_total", 3), ("tandem_portal_not_found_total", 10),
                               ("tandem_portal_csrf_refused_total", 4), ("tandem_portal_bad_parameters_total", 10),
                               ("tandem_portal_login_failures_total", 1), ("tandem_portal_requests_total", 100),
                               ("tandem_portal_sessions", 1)):
            self.assertGreaterEqual(values.get(name, -1), at_least, name)
        r = pl.run(["promtool", "check", "metrics"], input=text, check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # And a real Prometheus scrapes it (on loopback, like the other processes' in suite ops).
        api = f"127.0.0.1:{pl.free_port()}"
        config = os.path.join(WORK, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: tandem-portal\n"
                    f"    static_configs:\n      - targets: ['{listen}']\n")
        with open(os.path.join(WORK, "prometheus.log"), "w") as log:
            prometheus = pl.spawn(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={WORK}/prometheus",
                                   f"--web.listen-address={api}"], stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        pl.CLEANUP.add("stop prometheus", lambda: pl.stop_process(prometheus, timeout=10))

        def scraped():
            r = pl.run(["curl", "-sf", f"http://{api}/api/v1/query?query=tandem_portal_logins_total"], check=False)
            result = json.loads(r.stdout)["data"]["result"] if r.returncode == 0 else []
            return result and float(result[0]["value"][1]) >= 3

        pl.wait_for(scraped, 30, interval=0.5, what="tandem_portal_logins_total in Prometheus")
        pl.stop_process(prometheus, timeout=10)


class E_DbDown(unittest.TestCase):
    """Last: MariaDB stops, the portal says 503, then recovers by itself."""

    def test_db_down_then_back(self):
        status, alice = PORTAL.login("alice")
        self.assertEqual(status, 303)
        DB.maria.stop()
        try:
            for path in ("/month", f"/calls?from={MONTH}-01", "/calls/1-2-1", "/month.csv"):
                status, headers, body = PORTAL.request("GET", path, cookies=alice)
                self.assertEqual(status, 503, path)
                self.assertEqual(headers["retry-after"], ["5"])
                self.assertIn("cannot be read just now", body)
            self.assertEqual(PORTAL.login("alice")[0], 503)
            self.assertEqual(PORTAL.request("GET", "/login")[0], 200)
        finally:
            DB.maria.run()
        # The same session, no restart: within seconds the pages are back.
        pl.wait_for(lambda: PORTAL.request("GET", f"/month?month={MONTH}", cookies=alice)[0] == 200, 20,
                    interval=0.5, what="the portal to read the DB again")
        self.assertEqual(PORTAL.request("GET", "/calls", cookies=alice)[0], 200)
        self.assertIsNone(PORTAL.proc.poll())


if __name__ == "__main__":
    pl.require_environment()
    pl.lab.harness.run_tests()
