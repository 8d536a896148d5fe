"""The metrics registry as an operator sees it (issue 10, item 6): GET /metrics on the
admin listener, read with curl, in the Prometheus text exposition format 0.0.4
(https://prometheus.io/docs/instrumenting/exposition_formats/), checked twice: by a
strict reader of the format written here and by the parser of python3-prometheus-client.

Each counter test reads /metrics, does one exactly known thing with a real protocol
session on loopback, reads again and asserts the difference, so a counter that does
not move, or moves by a different amount, fails. Raw sockets where the test counts
bytes and commands; the protocol label of every listener is checked on the way."""

import imaplib
import re
import socket
import subprocess
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kasten_test import DOMAIN, RawPOP3, make_message
from outbound_test import OUTBOUND_LISTEN, remote_host, submit

KASTEN_LISTEN = ("smtp", "submission", "lmtp", "imap", "pop3", "http", "admin")
PASSWORD = "metrics-pass-1"

PROTOCOLS = ("smtp", "submission", "lmtp", "imap", "pop3", "http", "admin")
REASONS = ("unknown_user", "quota", "size", "relay_denied", "rate", "recipients",
           "dmarc_reject", "sender_denied", "syntax", "auth_required", "auth_failed",
           "tls_required", "temporary")
# Every family of docs/operations.md (Metrics) with its type.
FAMILIES = {
    "kasten_up": "gauge",
    "kasten_process_start_time_seconds": "gauge",
    "kasten_connections_total": "counter",
    "kasten_connections_open": "gauge",
    "kasten_logins_total": "counter",
    "kasten_logins_remembered_total": "counter",
    "kasten_bytes_received_total": "counter",
    "kasten_bytes_sent_total": "counter",
    "kasten_deliveries_total": "counter",
    "kasten_smtp_rejections_total": "counter",
    "kasten_http_responses_total": "counter",
    "kasten_command_duration_seconds": "histogram",
    "kasten_smtp_data_duration_seconds": "histogram",
    "kasten_jmap_method_duration_seconds": "histogram",
    "kasten_store_flushes_total": "counter",
    "kasten_queue_flushes_total": "counter",
    "kasten_deliver_batches_total": "counter",
    "kasten_deliver_messages_total": "counter",
    "kasten_notify_wakeups_total": "counter",
    "kasten_queue_messages": "gauge",
    "kasten_queue_recipients": "gauge",
    "kasten_queue_bytes": "gauge",
    "kasten_queue_oldest_seconds": "gauge",
    "kasten_outbound_connections_total": "counter",
    "kasten_outbound_transactions_total": "counter",
    "kasten_outbound_recipients_total": "counter",
}


# ---- reading /metrics ----

def scrape_text(server):
    host, port = server.addr("admin")
    r = subprocess.run(["curl", "-sS", "--max-time", "10", "-D", "-",
                        f"http://{host}:{port}/metrics"], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    head, body = r.stdout.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200"), head
    assert re.search(rb"(?im)^content-type: text/plain; version=0\.0\.4", head), head
    return body.decode("utf-8")


NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(rf'^({NAME})(?:\{{((?:{NAME}="[^"\\\n]*")(?:,{NAME}="[^"\\\n]*")*)\}})? '
                    r'([-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|Inf)|NaN)$')


def parse_strict(text):
    """The text format 0.0.4, strictly: lines end in LF (the last too); "# HELP name
    text" then "# TYPE name counter|gauge|histogram" once per family, before its
    samples; every sample belongs to the family of the last TYPE (a histogram's:
    name_bucket with an le label, cumulative, ending at +Inf equal to name_count, and
    name_sum); no series twice. Returns ({family: type}, {(name, labels): value})."""
    assert text.endswith("\n")
    types, samples = {}, {}
    family = ftype = None
    helped = None
    buckets = {}
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP "):
            name, help_text = line[7:].split(" ", 1)
            assert re.fullmatch(NAME, name) and name.startswith("kasten_"), line
            assert help_text.strip(), line
            assert name not in types and name != helped, f"{name} described twice"
            helped, family, ftype = name, None, None
            continue
        if line.startswith("# TYPE "):
            name, t = line[7:].split(" ")
            assert name == helped, f"TYPE {name} not right after its HELP"
            assert t in ("counter", "gauge", "histogram"), line
            family, ftype = name, t
            types[name] = t
            continue
        assert not line.startswith("#"), line
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.group(1), m.group(2), m.group(3)
        assert family, f"sample before any TYPE: {line}"
        lab = tuple(tuple(kv.split("=", 1)) for kv in labels.split(",")) if labels else ()
        lab = tuple((k, v.strip('"')) for k, v in lab)
        assert len({k for k, _ in lab}) == len(lab), f"label twice: {line}"
        if ftype == "histogram":
            base = dict(kv for kv in lab if kv[0] != "le")
            key = (family, tuple(sorted(base.items())))
            if name == family + "_bucket":
                le = dict(lab)["le"]
                prev = buckets.get(key, (None, -1))
                assert float(value) >= prev[1], f"buckets not cumulative: {line}"
                assert prev[0] is None or float(le) > float(prev[0]), line
                buckets[key] = (le, float(value))
            elif name == family + "_count":
                assert buckets[key][0] == "+Inf", f"no +Inf bucket before {line}"
                assert float(value) == buckets[key][1], f"_count != +Inf bucket: {line}"
            else:
                assert name == family + "_sum", f"{name} is not part of {family}"
        else:
            assert name == family, f"{name} under the TYPE of {family}"
        series = (name, tuple(sorted(lab)))
        assert series not in samples, f"series twice: {line}"
        samples[series] = float(value.replace("Inf", "inf"))
    return types, samples


class Metrics:
    def __init__(self, text):
        self.text = text
        self.types, self.samples = parse_strict(text)

    def get(self, name, **labels):
        key = (name, tuple(sorted(labels.items())))
        assert key in self.samples, f"no series {name}{labels}"
        return self.samples[key]


def scrape(server):
    return Metrics(scrape_text(server))


def delta(before, after, name, **labels):
    return after.get(name, **labels) - before.get(name, **labels)


def wait_for(server, cond, timeout=10):
    """Scrape until cond(metrics) holds (a close is counted when the server has
    processed it, a moment after the client saw it); returns the last scrape."""
    deadline = time.monotonic() + timeout
    while True:
        m = scrape(server)
        if cond(m) or time.monotonic() > deadline:
            return m
        time.sleep(0.05)


# ---- raw sessions that count their own bytes ----

class Raw:
    """A plain TCP session that records every byte it sends and receives."""

    def __init__(self, server, listener):
        self.sock = socket.create_connection(server.addr(listener), timeout=10)
        self.sent = 0
        self.received = 0
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)
        self.sent += len(data)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.sock.recv(65536)
            assert d, "connection closed"
            self.received += len(d)
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def smtp_reply(self):
        """One SMTP reply (every line of a multi-line one); returns the last line."""
        while True:
            line = self.line()
            if line[3:4] != b"-":
                return line

    def until_closed(self):
        self.sock.settimeout(10)
        while True:
            d = self.sock.recv(65536)
            if not d:
                break
            self.received += len(d)
            self.buf += d
        self.sock.close()


@pytest.fixture(scope="module")
def users(module_server):
    module_server.user_add(f"alice@{DOMAIN}", PASSWORD)
    module_server.user_add(f"bob@{DOMAIN}", PASSWORD)
    return f"alice@{DOMAIN}", f"bob@{DOMAIN}"


# ---- the format ----

def test_every_family_is_there_and_the_text_parses(mserver, users):
    text = scrape_text(mserver)
    types, samples = parse_strict(text)
    assert types == FAMILIES
    # the third-party parser reads the same families and values
    parsed = {f.name: f for f in text_string_to_metric_families(text)}
    for name, t in FAMILIES.items():
        key = name[:-len("_total")] if t == "counter" and name.endswith("_total") else name
        assert key in parsed, f"prometheus_client did not find {name}"
        assert parsed[key].type == t
        for s in parsed[key].samples:
            assert samples[(s.name, tuple(sorted(s.labels.items())))] == s.value
    m = Metrics(text)
    assert m.get("kasten_up") == 1
    assert abs(m.get("kasten_process_start_time_seconds") - time.time()) < 3600
    for p in PROTOCOLS:  # every label value is present from the start, at 0 or more
        m.get("kasten_connections_total", protocol=p)
        m.get("kasten_logins_total", protocol=p, result="ok")
        m.get("kasten_logins_total", protocol=p, result="failed")
        m.get("kasten_command_duration_seconds_bucket", protocol=p, le="+Inf")
    for r in REASONS:
        m.get("kasten_smtp_rejections_total", reason=r)
    for r in ("stored", "queued", "failed"):
        m.get("kasten_deliveries_total", result=r)


def test_queue_families_are_the_lines_of_kasten_queue_stats(mserver, users):
    """One formatter for both (`kasten queue stats` and /metrics): the same four
    families, with the same values for an empty queue."""
    out = mserver.kasten("queue", "stats").stdout.decode()
    cli = Metrics(out)
    m = scrape(mserver)
    for name in ("kasten_queue_messages", "kasten_queue_recipients", "kasten_queue_bytes",
                 "kasten_queue_oldest_seconds"):
        assert cli.types[name] == "gauge"
        assert m.get(name) == cli.get(name) == 0
        block = re.search(rf"# HELP {name} .*\n# TYPE {name} gauge\n{name} 0\n", m.text)
        assert block and block.group(0) in out


# ---- SMTP: connections, bytes, commands, a delivery, a rejection ----

def test_smtp_session_counts_exactly(mserver, users):
    alice, _ = users
    before = scrape(mserver)
    msgs = len(mserver.messages(alice))
    s = Raw(mserver, "smtp")
    assert s.smtp_reply().startswith(b"220")
    commands = [b"EHLO client.test\r\n", b"MAIL FROM:<sender@remote.test>\r\n",
                f"RCPT TO:<{alice}>\r\n".encode(),
                f"RCPT TO:<nobody@{DOMAIN}>\r\n".encode(), b"DATA\r\n"]
    expect = [b"250", b"250", b"250", b"550", b"354"]
    for cmd, code in zip(commands, expect):
        s.send(cmd)
        assert s.smtp_reply().startswith(code), cmd
    s.send(b"Subject: metrics\r\n\r\nbody\r\n.\r\n")
    assert s.smtp_reply().startswith(b"250")
    s.send(b"QUIT\r\n")
    assert s.smtp_reply().startswith(b"221")
    s.until_closed()
    assert len(mserver.wait_messages(alice, msgs + 1)) == msgs + 1
    after = wait_for(mserver, lambda m: delta(before, m, "kasten_connections_open",
                                                 protocol="smtp") == 0)
    assert delta(before, after, "kasten_connections_total", protocol="smtp") == 1
    assert delta(before, after, "kasten_connections_open", protocol="smtp") == 0
    # every byte the client sent was read by the protocol, every byte it got was written
    assert delta(before, after, "kasten_bytes_received_total", protocol="smtp") == s.sent
    assert delta(before, after, "kasten_bytes_sent_total", protocol="smtp") == s.received
    # EHLO MAIL RCPT RCPT DATA QUIT are six commands; the body is one DATA observation
    assert delta(before, after, "kasten_command_duration_seconds_count", protocol="smtp") == 6
    assert delta(before, after, "kasten_command_duration_seconds_bucket", protocol="smtp",
                 le="+Inf") == 6
    assert delta(before, after, "kasten_smtp_data_duration_seconds_count",
                 protocol="smtp") == 1
    assert delta(before, after, "kasten_command_duration_seconds_sum", protocol="smtp") > 0
    assert delta(before, after, "kasten_deliveries_total", result="stored") == 1
    assert delta(before, after, "kasten_deliveries_total", result="queued") == 0
    assert delta(before, after, "kasten_smtp_rejections_total", reason="unknown_user") == 1
    assert delta(before, after, "kasten_store_flushes_total") >= 1
    assert delta(before, after, "kasten_deliver_messages_total") == 1
    # other listeners saw nothing of it
    for p in ("submission", "lmtp", "imap", "pop3", "http"):
        assert delta(before, after, "kasten_connections_total", protocol=p) == 0
        assert delta(before, after, "kasten_bytes_received_total", protocol=p) == 0


def test_each_smtp_flavour_counts_under_its_own_label(mserver, users):
    """One net_proto serves three listeners: the label comes from the listener."""
    before = scrape(mserver)
    for listener in ("submission", "lmtp"):
        s = Raw(mserver, listener)
        assert s.smtp_reply().startswith(b"220")
        s.send(b"QUIT\r\n")
        assert s.smtp_reply().startswith(b"221")
        s.until_closed()
    after = wait_for(mserver, lambda m: all(
        delta(before, m, "kasten_connections_open", protocol=p) == 0
        for p in ("submission", "lmtp")))
    for p in ("submission", "lmtp"):
        assert delta(before, after, "kasten_connections_total", protocol=p) == 1
        assert delta(before, after, "kasten_command_duration_seconds_count", protocol=p) == 1
    assert delta(before, after, "kasten_connections_total", protocol="smtp") == 0


def test_smtp_refusals_count_by_reason(mserver, users):
    """RFC 5321 4.2: each refusal's reply code, and the reason it counts under."""
    before = scrape(mserver)
    s = Raw(mserver, "submission")
    s.smtp_reply()
    for cmd, code in ((b"EHLO client.test\r\n", b"250"),
                      (b"MAIL FROM:<x@remote.test>\r\n", b"530"),  # auth_required
                      (b"RCPT TO:<a@b.test>\r\n", b"503"),         # syntax (sequence)
                      (b"FROB\r\n", b"500"),                       # syntax (unknown verb)
                      (b"QUIT\r\n", b"221")):
        s.send(cmd)
        assert s.smtp_reply().startswith(code), cmd
    s.until_closed()
    s = Raw(mserver, "smtp")
    s.smtp_reply()
    for cmd, code in ((b"EHLO client.test\r\n", b"250"),
                      (b"MAIL FROM:<x@remote.test> SIZE=999999999999\r\n", b"552"),  # size
                      (b"MAIL FROM:<x@remote.test>\r\n", b"250"),
                      (b"RCPT TO:<someone@remote.test>\r\n", b"550"),  # relay_denied
                      (b"QUIT\r\n", b"221")):
        s.send(cmd)
        assert s.smtp_reply().startswith(code), cmd
    s.until_closed()
    after = scrape(mserver)
    want = {"auth_required": 1, "syntax": 2, "size": 1, "relay_denied": 1}
    for reason in REASONS:
        assert delta(before, after, "kasten_smtp_rejections_total", reason=reason) == \
            want.get(reason, 0), reason


# ---- IMAP and POP3: logins, commands ----

def test_imap_commands_and_login(mserver, users):
    alice, _ = users
    before = scrape(mserver)
    s = Raw(mserver, "imap")
    assert s.line().startswith(b"* OK")
    tagged = 0
    for cmd in (b"a1 CAPABILITY\r\n", f"a2 LOGIN {alice} {PASSWORD}\r\n".encode(),
                b"a3 SELECT INBOX\r\n", b"a4 NOOP\r\n", b"a5 LOGOUT\r\n"):
        s.send(cmd)
        tag = cmd.split(b" ")[0]
        while True:
            line = s.line()
            if line.startswith(tag + b" "):
                assert line.startswith(tag + b" OK"), line
                tagged += 1
                break
    s.until_closed()
    after = wait_for(mserver, lambda m: delta(before, m, "kasten_connections_open",
                                                 protocol="imap") == 0)
    assert tagged == 5
    assert delta(before, after, "kasten_logins_total", protocol="imap", result="ok") == 1
    assert delta(before, after, "kasten_logins_total", protocol="imap", result="failed") == 0
    assert delta(before, after, "kasten_command_duration_seconds_count", protocol="imap") == 5
    assert delta(before, after, "kasten_connections_total", protocol="imap") == 1
    assert delta(before, after, "kasten_bytes_received_total", protocol="imap") == s.sent
    assert delta(before, after, "kasten_bytes_sent_total", protocol="imap") == s.received


def test_imap_idle_counts_from_done(mserver, users):
    """RFC 2177: IDLE lasts as long as the client likes; one observation, measured from
    DONE to the tagged OK, so the histogram shows the server's time, not the client's."""
    alice, _ = users
    s = Raw(mserver, "imap")
    s.line()
    s.send(f"a1 LOGIN {alice} {PASSWORD}\r\n".encode())
    while not s.line().startswith(b"a1 OK"):
        pass
    s.send(b"a2 SELECT INBOX\r\n")
    while not s.line().startswith(b"a2 OK"):
        pass
    before = scrape(mserver)
    s.send(b"a3 IDLE\r\n")
    assert s.line().startswith(b"+ ")
    time.sleep(1.5)
    s.send(b"DONE\r\n")
    while not s.line().startswith(b"a3 OK"):
        pass
    after = scrape(mserver)
    s.send(b"a4 LOGOUT\r\n")
    s.until_closed()
    assert delta(before, after, "kasten_command_duration_seconds_count", protocol="imap") == 1
    assert delta(before, after, "kasten_command_duration_seconds_sum", protocol="imap") < 1
    assert delta(before, after, "kasten_command_duration_seconds_bucket", protocol="imap",
                 le="1") == 1


def test_pop3_commands_and_login(mserver, users):
    _, bob = users
    before = scrape(mserver)
    s = Raw(mserver, "pop3")
    assert s.line().startswith(b"+OK")
    for cmd in (f"USER {bob}\r\n".encode(), f"PASS {PASSWORD}\r\n".encode(), b"STAT\r\n",
                b"NOOP\r\n", b"QUIT\r\n"):
        s.send(cmd)
        assert s.line().startswith(b"+OK"), cmd
    s.until_closed()
    after = wait_for(mserver, lambda m: delta(before, m, "kasten_connections_open",
                                                 protocol="pop3") == 0)
    assert delta(before, after, "kasten_logins_total", protocol="pop3", result="ok") == 1
    assert delta(before, after, "kasten_command_duration_seconds_count", protocol="pop3") == 5
    assert delta(before, after, "kasten_bytes_received_total", protocol="pop3") == s.sent
    assert delta(before, after, "kasten_bytes_sent_total", protocol="pop3") == s.received


def test_open_connections_gauge(mserver, users):
    before = scrape(mserver)
    socks = [Raw(mserver, "imap") for _ in range(3)]
    for s in socks:
        s.line()
    during = scrape(mserver)
    assert delta(before, during, "kasten_connections_open", protocol="imap") == 3
    for s in socks:
        s.send(b"z LOGOUT\r\n")
        s.until_closed()
    after = wait_for(mserver, lambda m: delta(before, m, "kasten_connections_open",
                                                 protocol="imap") == 0)
    assert delta(before, after, "kasten_connections_open", protocol="imap") == 0
    assert delta(before, after, "kasten_connections_total", protocol="imap") == 3


def test_scraping_counts_as_admin_not_http(mserver, users):
    """The admin listener has its own label: reading /metrics does not move http."""
    before = scrape(mserver)
    scrape(mserver)
    after = scrape(mserver)
    assert delta(before, after, "kasten_connections_total", protocol="admin") == 2
    assert delta(before, after, "kasten_command_duration_seconds_count",
                 protocol="admin") == 2
    assert delta(before, after, "kasten_connections_total", protocol="http") == 0
    assert delta(before, after, "kasten_bytes_received_total", protocol="http") == 0


# Failed logins delay every later attempt from this address (net_penalty): a server of
# its own, so that the module's other tests keep their pace.
@pytest.mark.kasten(listen=KASTEN_LISTEN)
def test_failed_logins_count_per_protocol(server):
    alice = f"alice@{DOMAIN}"
    server.user_add(alice, PASSWORD)
    before = scrape(server)
    imap = imaplib.IMAP4(*server.addr("imap"))
    imap.login(alice, PASSWORD)
    imap.logout()
    imap = imaplib.IMAP4(*server.addr("imap"))
    with pytest.raises(imaplib.IMAP4.error):
        imap.login(alice, "wrong password")
    imap.logout()
    s = Raw(server, "submission")
    s.smtp_reply()
    s.send(b"EHLO client.test\r\n")
    s.smtp_reply()
    s.send(b"AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB3cm9uZw==\r\n")  # alice, "wrong"
    assert s.smtp_reply().startswith(b"535")
    s.send(b"QUIT\r\n")
    s.until_closed()
    after = scrape(server)
    assert delta(before, after, "kasten_logins_total", protocol="imap", result="ok") == 1
    assert delta(before, after, "kasten_logins_total", protocol="imap", result="failed") == 1
    assert delta(before, after, "kasten_logins_total", protocol="submission",
                 result="failed") == 1
    assert delta(before, after, "kasten_smtp_rejections_total", reason="auth_failed") == 1
    for p in ("smtp", "pop3", "http", "admin"):
        assert delta(before, after, "kasten_logins_total", protocol=p, result="failed") == 0


def test_a_verified_password_is_remembered_until_it_changes(server):
    """The auth cache (src/auth/auth_cache.c): the second login with the same password
    is accepted without hashing it again, over any protocol; a wrong password is never
    remembered; `kasten user passwd` on the running server makes the old password fail
    at once and the new one hash once before it is remembered."""
    alice = f"alice@{DOMAIN}"
    server.user_add(alice, PASSWORD)

    def imap_login(password):
        imap = imaplib.IMAP4(*server.addr("imap"))
        try:
            imap.login(alice, password)
            return True
        except imaplib.IMAP4.error:
            return False
        finally:
            imap.logout()

    def remembered(before, after, protocol="imap"):
        return delta(before, after, "kasten_logins_remembered_total", protocol=protocol)

    m0 = scrape(server)
    assert imap_login(PASSWORD)
    m1 = scrape(server)
    assert remembered(m0, m1) == 0  # the first login hashes
    assert imap_login(PASSWORD)
    assert not imap_login(PASSWORD + "x")
    m2 = scrape(server)
    assert remembered(m1, m2) == 1
    assert delta(m1, m2, "kasten_logins_total", protocol="imap", result="failed") == 1
    # one cache for every protocol: POP3 takes what IMAP verified
    with RawPOP3(*server.addr("pop3")) as p:
        p.login(alice, PASSWORD)
        p.cmd("QUIT")
    m3 = scrape(server)
    assert remembered(m2, m3, "pop3") == 1

    server.kasten("user", "passwd", alice, "--password-stdin", input="metrics-pass-2\n")
    assert not imap_login(PASSWORD)  # the old password is gone at once
    assert imap_login("metrics-pass-2")
    m4 = scrape(server)
    assert remembered(m3, m4) == 0
    assert delta(m3, m4, "kasten_logins_total", protocol="imap", result="failed") == 1
    assert imap_login("metrics-pass-2")
    assert remembered(m4, scrape(server)) == 1


# ---- a message queued for a remote recipient ----

@pytest.fixture
def far(zone):
    """far.test: its MX refuses connections, so what is queued for it stays queued."""
    zone.mx("far.test", [(10, "mx.far.test")])
    zone.a("mx.far.test", remote_host(9))
    return zone


def test_queued_recipients_and_queue_gauges(far, outbound_server):
    """Submission to one local and two remote recipients (RFC 6409): stored +1 and
    queued +2; the queue gauges show the message exactly as `kasten queue stats` does."""
    k = outbound_server(listen=OUTBOUND_LISTEN + ("admin",), dkim=False)
    k.user_add(f"local@{DOMAIN}", PASSWORD)
    before = scrape(k)
    assert before.get("kasten_queue_messages") == 0
    msg = make_message("queued", sender=k.user, rcpt="a@far.test")
    assert submit(k, ["a@far.test", f"local@{DOMAIN}", "b@far.test"], msg) == {}
    after = scrape(k)
    assert delta(before, after, "kasten_deliveries_total", result="stored") == 1
    assert delta(before, after, "kasten_deliveries_total", result="queued") == 2
    assert delta(before, after, "kasten_deliveries_total", result="failed") == 0
    assert delta(before, after, "kasten_logins_total", protocol="submission", result="ok") == 1
    assert delta(before, after, "kasten_smtp_data_duration_seconds_count",
                 protocol="submission") == 1
    assert delta(before, after, "kasten_queue_flushes_total") >= 1
    assert after.get("kasten_queue_messages") == 1
    assert after.get("kasten_queue_recipients") == 2
    assert after.get("kasten_queue_bytes") >= len(msg)
    cli = Metrics(k.kasten("queue", "stats").stdout.decode())
    for name in ("kasten_queue_messages", "kasten_queue_recipients", "kasten_queue_bytes"):
        assert cli.get(name) == after.get(name), name
