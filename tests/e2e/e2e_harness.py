"""e2e_harness: what the browser tests use besides fixtures (tests/e2e/conftest.py).

    RemoteLog   a plain HTTP server on loopback logging every request it gets: what a
                remote image or a message's script would reach
    Mail        a kasten with two accounts (alice, bob; quota QUOTA) and the clients the
                tests check its state with: SMTP delivery, IMAP, POP3, JMAP (Basic auth)
    Browser     runs one scenario of tests/e2e/*.mjs in Debian's chromium through
                browser.mjs, answers its sync points, returns its report
Everything talks to 127.0.0.1 only.
"""

import base64
import glob
import http.server
import json
import os
import subprocess
import threading
import time
from pathlib import Path

from jmap_test import CORE, MAIL, SUBMISSION, JmapClient
from jmap_test import QUOTA as QUOTA_CAP
from kasten_test import (REPO, RawIMAP, RawPOP3, deliver, free_ports, make_message,
                         unique_user)

E2E = Path(__file__).resolve().parent
ARTIFACTS = E2E / "artifacts"
# Debian's chromium; E2E_CHROMIUM names another build of it
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
PLAYWRIGHT = REPO / "web" / "node_modules" / "playwright-core"
PASSWORD = "E2e-browser-pass-1"
QUOTA = 4 * 1024 * 1024
LISTEN = ("smtp", "submission", "imap", "pop3", "http")
# many browser and client logins from 127.0.0.1 in one test: no login throttling here
CONFIG = {"limits": {"max_unauthenticated_per_ip": 200}, "pop3": {"enabled": "yes"}}
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# a whole scenario, including chromium's start under load; each wait inside is 20 s
SCENARIO_TIMEOUT = float(os.environ.get("E2E_SCENARIO_TIMEOUT", "180"))

# ---- the request log: a remote server a message could reach ----

PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


class RemoteLog:
    """A loopback HTTP server answering every GET with a 1x1 PNG (or a page a test put
    there) and logging every request (method, path): a remote image, a script's fetch or
    a beacon would land here."""

    def __init__(self):
        self.port = free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._log = []
        self.pages = {}  # path -> HTML bytes served instead of the PNG (serve_page)
        log = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _record(self):
                with log._lock:
                    log._log.append((self.command, self.path))

            def do_GET(self):
                self._record()
                page = log.pages.get(self.path)
                if page is not None:  # a page a test put here (serve_page)
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(PNG_1X1)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(PNG_1X1)

            def _empty(self):
                self._record()
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                self.send_response(204)
                self.end_headers()

            do_POST = do_PUT = do_HEAD = do_OPTIONS = _empty

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve_page(self, path, html):
        """Serve `html` at `path` (another site's page: the origin of a cross-site test)."""
        self.pages[path] = html.encode()
        return self.url + path

    def requests(self):
        with self._lock:
            return list(self._log)

    def clear(self):
        with self._lock:
            self._log.clear()

    def wait_for(self, path, timeout=20):
        """Until a request for `path` arrived; the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.requests()
            if any(p == path for _, p in got):
                return got
            time.sleep(0.05)
        raise AssertionError(f"no request for {path} within {timeout}s; log {self.requests()}")

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- the server with two accounts, and clients for it ----

class Mail:
    """A kasten with accounts alice and bob, and the clients the tests check it with."""

    def __init__(self, server, remote):
        self.server = server
        self.remote = remote
        self.password = PASSWORD
        self.base = f"http://{server.host}:{server.ports['http']}"
        self.alice = unique_user("alice")
        self.bob = unique_user("bob")
        server.user_add(self.alice, PASSWORD, quota=QUOTA)
        server.user_add(self.bob, PASSWORD, quota=QUOTA)
        self._clients = {}

    # -- mail in --
    def deliver(self, to, subject, body="Hello from the browser tests.\r\n", extra=b"",
                sender="carol@sender.invalid", raw=None):
        """Deliver one message by SMTP (port 25); returns its bytes as sent."""
        msg = raw or make_message(subject, body=body, sender=sender, rcpt=to, extra=extra)
        deliver(self.server, to, msg)
        return msg

    # -- IMAP and POP3 --
    def imap(self, user):
        c = RawIMAP(self.server.host, self.server.ports["imap"], timeout=30)
        c.login(user, PASSWORD)
        return c

    def pop3(self, user):
        c = RawPOP3(self.server.host, self.server.ports["pop3"], timeout=30)
        c.login(user, PASSWORD)
        return c

    def pop3_stat(self, user):
        """(count, octets) of a POP3 STAT in a session of its own (RFC 1939 5)."""
        with self.pop3(user) as c:
            line = c.cmd("STAT")
            assert line.startswith(b"+OK "), line
            n, octets = line.split()[1:3]
            c.cmd("QUIT")
            return int(n), int(octets)

    # -- JMAP, as a third-party client would (HTTP Basic; tests/jmap_test.py) --
    def client(self, user):
        if user not in self._clients:
            self._clients[user] = JmapClient(self.server, user, PASSWORD,
                                             using=(CORE, MAIL, QUOTA_CAP, SUBMISSION))
        return self._clients[user]

    def jmap(self, user, name, args):
        """One JMAP method call as `user` in their own account; its arguments (an
        error response fails the test)."""
        return self.client(user).ok(name, args)

    def mailbox_id(self, user, role):
        lst = self.jmap(user, "Mailbox/get", {"properties": ["role", "name"]})["list"]
        for m in lst:
            if m.get("role") == role:
                return m["id"]
        raise AssertionError(f"no mailbox with role {role}: {lst}")

    def quota(self, user):
        """Quota/get's octets quota of the account: {used, hardLimit, ...} (RFC 9425 4.1)."""
        lst = self.jmap(user, "Quota/get", {"ids": None})["list"]
        octets = [q for q in lst if q.get("resourceType") == "octets"]
        assert len(octets) == 1, lst
        return octets[0]

    def used_bytes(self, user):
        return self.quota(user)["used"]


# ---- the browser ----

class BrowserError(AssertionError):
    pass


class Browser:
    """Runs scenarios of tests/e2e/*.mjs for one test: run() returns the scenario's
    report (its "result", the page's "requests", "console", "screenshots")."""

    def __init__(self, node, tmp_path):
        self.node = node  # the pytest item: its user_properties carry the screenshots
        self.test_name = node.name
        self.tmp = tmp_path
        # the screenshots of an earlier run of this test would pass for this run's
        for old in ARTIFACTS.glob(f"{glob.escape(self.test_name)}-*.png"):
            old.unlink()

    def run(self, target, base, params=None, size="desktop", locale="en-US", sync=None,
            timeout=SCENARIO_TIMEOUT):
        """target "file.mjs#function"; sync: {name: fn(data) -> reply data} for the
        scenario's h.sync points (an exception there fails the scenario and is raised
        here). Screenshots go to artifacts/<test>-<size>[-label].png."""
        config = {"base": base, "params": params or {}, "name": f"{self.test_name}-{size}",
                  "viewport": SIZES[size], "mobile": size == "phone", "locale": locale,
                  "artifacts": str(ARTIFACTS), "timeout": 20000, "executablePath": CHROMIUM}
        err_path = self.tmp / f"browser-{int(time.time() * 1000)}.stderr"
        with open(err_path, "wb") as err:
            proc = subprocess.Popen(
                ["node", str(E2E / "browser.mjs"), target, json.dumps(config)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
                cwd=str(E2E))
        # a scenario that hangs is ended (by this child's PID) rather than the whole run:
        # SIGTERM first, on which playwright closes the chromium it launched
        timer = threading.Timer(timeout, proc.terminate)
        timer.start()
        result, failure, noise = None, None, []
        try:
            for line in proc.stdout:
                try:
                    msg = json.loads(line)
                except ValueError:
                    noise.append(line)
                    continue
                if msg.get("event") == "sync":
                    reply = {"data": None}
                    try:
                        fn = (sync or {})[msg["name"]]
                        reply["data"] = fn(msg.get("data"))
                    except BaseException as e:  # re-raised below, after the browser ends
                        failure = failure or e
                        reply = {"error": f"{type(e).__name__}: {e}"}
                    proc.stdin.write(json.dumps(reply) + "\n")
                    proc.stdin.flush()
                elif msg.get("event") == "result":
                    result = msg
            proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        stderr = err_path.read_text(errors="replace")[-4000:]
        if result:
            # listed at the end of the run, also from pytest-xdist's workers
            self.node.user_properties.extend(("screenshot", p) for p in result["screenshots"])
        if failure is not None:
            raise failure
        if result is None:
            raise BrowserError(f"{target}: no result (exit {proc.returncode}; killed after "
                               f"{timeout}s?)\nstderr: {stderr}\nstdout: {''.join(noise)[-2000:]}")
        if not result["ok"]:
            raise BrowserError(
                f"{target} failed in the browser: {result['error']}\n"
                f"url: {result.get('url')}\nscreenshot: {result.get('errorShot')}\n"
                f"page errors: {result['pageErrors']}\nconsole: {result['console'][-30:]}\n"
                f"responses >= 400: {result['failedResponses'][-30:]}\n"
                f"stderr: {stderr}\nDOM: {result.get('dom')}")
        return result


def idle(c, mailbox="INBOX"):
    """Put RawIMAP c into IDLE on `mailbox` (RFC 2177); returns once the server's
    continuation came, so changes from now on reach c unasked."""
    c.cmd(f"SELECT {mailbox}")
    c.send("idle1 IDLE\r\n")
    line = c.response()
    assert line.startswith(b"+"), line
    return c
