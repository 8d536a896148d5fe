"""The outbound engine (issue 9, src/outbound/out*.c): mail submitted for remote
recipients leaves through the queue to the MX hosts the private DNS zone names (RFC 5321
5.1), or through a relay, with retries, bounces and delay notices (RFC 3464), reused
connections and per-destination limits. Remote MXs are Postfix's smtp-sink and a second
`kasten serve` on 127.0.0.2..9 at one port (tests/outbound_test.py). Every wait is for a
state (the sink's counters, the log's outcome lines, a mailbox), never for time alone."""

import email
import email.policy
import imaplib
import re
import time

import dkim
import pytest

from kasten_test import DOMAIN, make_message
from dsn_parse import parse_dsn
from outbound_test import remote_host, submit


def wait_for(pred, timeout=30, what="condition"):
    """Poll pred() until it returns a true value; AssertionError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def log_text(server):
    return server.log_bytes().decode("utf-8", "replace")


def outcome_lines(server, status=None, rcpt=None):
    """The engine's per-recipient log lines (out_result.c), optionally filtered."""
    lines = [l for l in log_text(server).splitlines()
             if " qid=" in l and " rcpt=<" in l and " status=" in l]
    if status:
        lines = [l for l in lines if f" status={status} " in l]
    if rcpt:
        lines = [l for l in lines if f" rcpt=<{rcpt}> " in l]
    return lines


def inbox(server, timeout=30, n=1):
    """The sender's INBOX over IMAP once it holds at least n messages: [bytes]."""
    def fetch():
        im = imaplib.IMAP4(*server.addr("imap"), timeout=10)
        try:
            im.login(server.user, server.password)
            im.select("INBOX", readonly=True)
            _, data = im.search(None, "ALL")
            ids = data[0].split()
            if len(ids) < n:
                return None
            out = []
            for i in ids:
                _, parts = im.fetch(i, "(BODY.PEEK[])")
                out.append(parts[0][1])
            return out
        finally:
            im.logout()
    return wait_for(fetch, timeout, f"{n} messages in {server.user}'s INBOX")


def dsn_parts(raw):
    """(message, [per-recipient delivery-status field dicts], the report's fields)."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert msg.get_param("report-type") == "delivery-status"
    parts = msg.get_payload()
    ds = [p for p in parts if p.get_content_type() in
          ("message/delivery-status", "message/global-delivery-status")]
    assert len(ds) == 1
    blocks = ds[0].get_payload()
    fields = [dict((k.lower(), v) for k, v in b.items()) for b in blocks]
    return msg, fields[1:], fields[0]


def connections(server, relay_prefix):
    """Intervals of the engine's sessions to a host, from its connected/disconnected
    log lines, in log order: [("+"|"-")]."""
    ev = []
    for l in log_text(server).splitlines():
        if f" connected relay={relay_prefix}" in l:
            ev.append("+")
        elif f" disconnected relay={relay_prefix}" in l:
            ev.append("-")
    return ev


def max_concurrent(events):
    cur = best = 0
    for e in events:
        cur += 1 if e == "+" else -1
        best = max(best, cur)
    return best


# ---- delivery ----
def test_mx_preference_and_fallback(zone, smtp_sink, outbound_server):
    """RFC 5321 5.1: MX hosts in preference order; the best one refusing connections
    is skipped for the next. mx1 (pref 10) has nothing listening, mx2 (pref 20) is the
    sink and mx3 (pref 30) a sink that must not be used."""
    zone.mx("dest.test", [(30, "mx3.dest.test"), (10, "mx1.dest.test"),
                          (20, "mx2.dest.test")])
    zone.a("mx1.dest.test", remote_host(4))
    zone.a("mx2.dest.test", remote_host(2))
    zone.a("mx3.dest.test", remote_host(5))
    sink = smtp_sink(remote_host(2))
    other = smtp_sink(remote_host(5))
    k = outbound_server()
    submit(k, ["rcpt@dest.test"], make_message("fallback", sender=k.user))
    [m] = sink.wait_messages(1)
    assert m.rcpts == ["rcpt@dest.test"] and m.sender == k.user
    assert b"Subject: fallback" in m.data
    # RFC 5321 4.4: the Return-Path is for final delivery; our Received trace goes on
    assert m.header("Return-Path") == [] and len(m.header("Received")) == 1
    [line] = outcome_lines(k, "sent")
    assert "relay=mx2.dest.test[127.0.0.2]" in line and "rcpt=<rcpt@dest.test>" in line
    assert "attempt failed relay=mx1.dest.test[127.0.0.4]" in log_text(k)
    assert other.counters() == {"sess": 0, "quit": 0, "mesg": 0}


def test_implicit_mx_a_record(zone, smtp_sink, outbound_server):
    """RFC 5321 5.1: without MX records the domain itself is the mail host (its A)."""
    zone.a("plain.test", remote_host(2))
    zone.txt("plain.test", "no MX here")
    sink = smtp_sink(remote_host(2))
    k = outbound_server()
    submit(k, ["someone@plain.test"], make_message("implicit", sender=k.user))
    [m] = sink.wait_messages(1)
    assert m.rcpts == ["someone@plain.test"]
    [line] = outcome_lines(k, "sent")
    assert "relay=plain.test[127.0.0.2]" in line


def test_several_recipients_one_transaction(zone, smtp_sink, outbound_server):
    """Recipients of one domain share one transaction (one MAIL, several RCPT)."""
    zone.mx("dest.test", [(10, "mx.dest.test")]).a("mx.dest.test", remote_host(2))
    sink = smtp_sink(remote_host(2))
    k = outbound_server()
    rcpts = ["a@dest.test", "b@dest.test", "c@dest.test"]
    submit(k, rcpts, make_message("three", sender=k.user))
    [m] = sink.wait_messages(1)
    assert sorted(m.rcpts) == rcpts
    wait_for(lambda: sink.counters()["sess"] == 1, what="the session to end")
    assert sink.counters()["mesg"] == 1
    assert len(outcome_lines(k, "sent")) == 3


# ---- failures ----
def test_temporary_failure_retried_then_delivered(zone, smtp_sink, outbound_server):
    """RFC 5321 4.5.4.1: a 4xx answer is retried later ([outbound] retry_schedule,
    shortened to 1s in the tests) and the message then delivered once."""
    zone.mx("dest.test", [(10, "mx.dest.test")]).a("mx.dest.test", remote_host(2))
    soft = smtp_sink(remote_host(2), options=("-r", "RCPT", "-b",
                                              "451 4.3.2 try again later"))
    k = outbound_server()
    submit(k, ["rcpt@dest.test"], make_message("retry me", sender=k.user))
    line = wait_for(lambda: outcome_lines(k, "deferred"), what="a deferral")[0]
    assert "dsn=4.3.2" in line and "reply=451 4.3.2 try again later" in line
    soft.stop()
    ok = smtp_sink(remote_host(2))
    [m] = ok.wait_messages(1)
    assert m.rcpts == ["rcpt@dest.test"] and b"Subject: retry me" in m.data
    wait_for(lambda: outcome_lines(k, "sent"), what="the sent line")
    assert soft.counters()["mesg"] == 0
    assert inbox_is_empty(k)


def inbox_is_empty(server):
    im = imaplib.IMAP4(*server.addr("imap"), timeout=10)
    try:
        im.login(server.user, server.password)
        typ, data = im.select("INBOX", readonly=True)
        return data[0] == b"0"
    finally:
        im.logout()


def test_permanent_failure_bounced_with_dsn(zone, smtp_sink, outbound_server):
    """A 5xx RCPT answer fails that recipient at once; the local sender gets an RFC 3464
    report in its INBOX with the remote reply, and the other recipient is delivered."""
    zone.mx("dest.test", [(10, "mx.dest.test")]).a("mx.dest.test", remote_host(2))
    sink = smtp_sink(remote_host(2), options=("-f", "RCPT", "-B",
                                              "550 5.1.1 no such user here"))
    k = outbound_server()
    msg = make_message("bounce me", sender=k.user)
    msgid = re.search(rb"Message-ID: (<[^>]+>)", msg).group(1).decode()
    submit(k, ["nobody@dest.test"], msg)
    [raw] = inbox(k)
    report, rcpts, fields = dsn_parts(raw)
    assert fields["reporting-mta"].startswith("dns;")
    [r] = rcpts
    assert r["final-recipient"].replace(" ", "") == "rfc822;nobody@dest.test"
    assert r["action"] == "failed"
    assert r["status"] == "5.1.1"
    assert "550 5.1.1 no such user here" in r["diagnostic-code"]
    assert r["remote-mta"].replace(" ", "") == "dns;mx.dest.test"
    assert report["In-Reply-To"] == msgid
    assert msgid.encode() in raw  # the original headers are returned (RET=HDRS)
    [line] = outcome_lines(k, "bounced")
    assert "dsn=5.1.1" in line
    assert sink.counters()["mesg"] == 0


def test_null_mx_fails_at_once(zone, smtp_sink, outbound_server):
    """RFC 7505: a domain whose only MX is "0 ." accepts no mail: 556 5.1.10 at the
    first attempt, without any connection."""
    zone.mx("nomail.test", [(0, ".")])
    zone.a("nomail.test", remote_host(2))
    sink = smtp_sink(remote_host(2))
    k = outbound_server()
    submit(k, ["x@nomail.test"], make_message("null mx", sender=k.user))
    [raw] = inbox(k)
    _, [r], _ = dsn_parts(raw)
    assert r["action"] == "failed" and r["status"] == "5.1.10"
    assert "556 5.1.10" in r["diagnostic-code"]
    assert sink.counters() == {"sess": 0, "quit": 0, "mesg": 0}
    assert outcome_lines(k, "deferred") == []


def test_utf8_domain_looked_up_by_its_a_labels(zone, outbound_server):
    """RFC 6531 lets an SMTPUTF8 envelope name a domain in UTF-8; the DNS knows it by
    its A-labels (IDNA2008, RFC 5891 5): the MX of xn--bcher-kva.test is tried (nothing
    listens there: deferred), and a name IDNA2008 refuses (a zero-width joiner between
    letters, RFC 5892 CONTEXTJ) fails with 5.1.2 at once."""
    zone.mx("xn--bcher-kva.test", [(10, "mx.xn--bcher-kva.test")])
    zone.a("mx.xn--bcher-kva.test", remote_host(4))
    k = outbound_server()
    submit(k, ["leser@b\u00fccher.test"], make_message("idna", sender=k.user),
           mail_options=["SMTPUTF8"])
    wait_for(lambda: "attempt failed relay=mx.xn--bcher-kva.test[127.0.0.4]" in log_text(k),
             what="the attempt at the A-label MX")
    assert outcome_lines(k, "bounced") == []
    submit(k, ["leser@b\u00fc\u200dcher.test"], make_message("bad idna", sender=k.user),
           mail_options=["SMTPUTF8"])
    [raw] = inbox(k)
    dsn = parse_dsn(raw)  # RFC 6533 global form: the envelope was SMTPUTF8
    [r] = dsn.recipients
    assert r["action"] == "failed" and r["status"] == "5.1.2"
    assert "IDNA2008" in r["diagnostic-code"]


def test_nxdomain_fails_at_once(zone, outbound_server):
    """A recipient domain that does not exist (NXDOMAIN) fails with 5.1.2."""
    zone.mx("dest.test", [(10, "mx.dest.test")])
    k = outbound_server()
    submit(k, ["x@missing.dest.test"], make_message("nx", sender=k.user))
    [raw] = inbox(k)
    _, [r], _ = dsn_parts(raw)
    assert r["action"] == "failed" and r["status"] == "5.1.2"


def test_dead_destination_delay_then_give_up(zone, outbound_server):
    """A destination that never answers: deferred by retry_schedule, a delay notice
    once delay_notice has passed (RFC 3464 Action: delayed), then failed with 4.4.7 at
    give_up (counted from when the message was queued)."""
    zone.mx("dead.test", [(10, "mx.dead.test")]).a("mx.dead.test", remote_host(6))
    k = outbound_server(config={"outbound": {"retry_schedule": "1s", "delay_notice": "2s",
                                             "give_up": "6s"}})
    submit(k, ["x@dead.test"], make_message("dead end", sender=k.user))
    msgs = inbox(k, n=2, timeout=60)
    _, [delayed], _ = dsn_parts(msgs[0])
    _, [failed], _ = dsn_parts(msgs[1])
    assert delayed["action"] == "delayed" and delayed["status"].startswith("4.")
    assert "will-retry-until" in delayed
    assert failed["action"] == "failed" and failed["status"] == "4.4.7"
    assert len(outcome_lines(k, "deferred")) >= 2
    [line] = outcome_lines(k, "bounced")
    assert "dsn=4.4.7" in line
    # one delay notice although several deferrals came after delay_notice; the
    # failure is final, so nothing can follow
    assert len(inbox(k, n=2)) == 2


def test_loop_to_own_listener_refused(zone, outbound_server):
    """RFC 5321 5.1: an MX that is one of our own listeners would loop: 5.4.6, no
    delivery to ourselves."""
    k = outbound_server(start=False)
    port = k.addr("smtp")[1]
    zone.mx("loop.test", [(10, "mx.loop.test")]).a("mx.loop.test", "127.0.0.1")
    zone.apply()
    k.write_config({**k.settings, "outbound": {**k.settings["outbound"],
                                               "remote_port": str(port)}})
    k.start()
    submit(k, ["x@loop.test"], make_message("loop", sender=k.user))
    [raw] = inbox(k)
    _, [r], _ = dsn_parts(raw)
    assert r["action"] == "failed" and r["status"] == "5.4.6"
    assert " connected relay=" not in log_text(k)


# ---- connections ----
def test_restart_resumes_queued_mail(zone, smtp_sink, outbound_server, remote_port):
    """The queue survives a restart: mail deferred before the stop leaves after it."""
    zone.mx("dest.test", [(10, "mx.dest.test")]).a("mx.dest.test", remote_host(2))
    k = outbound_server(config={"outbound": {"retry_schedule": "2s"}})
    for i in range(3):
        submit(k, [f"r{i}@dest.test"], make_message(f"resume {i}", sender=k.user))
    wait_for(lambda: len(outcome_lines(k, "deferred")) >= 3, what="three deferrals")
    k.stop()
    sink = smtp_sink(remote_host(2))
    k.start()
    msgs = sink.wait_messages(3)
    assert sorted(m.rcpts[0] for m in msgs) == ["r0@dest.test", "r1@dest.test",
                                               "r2@dest.test"]


def test_relay_with_auth(zone, remote_kasten, outbound_server, tmp_path):
    """[outbound] relay: every message goes to the smarthost (a second kasten's
    submission port, STARTTLS required and AUTH PLAIN), whatever the MX records say."""
    relay = remote_kasten(listen=("smtp", "submission"))
    # the relay lets its account send as our sender (its own sender policy)
    relay_user = f"sender@{DOMAIN}"
    relay.user_add(relay_user, relay.password)
    zone.mx("remote.test", [(10, "mx.remote.test")]).a("mx.remote.test", remote_host(7))
    pw = tmp_path / "relay.pw"
    pw.write_text(relay.password + "\n")
    host, port = relay.addr("submission")
    k = outbound_server(config={"outbound": {"relay": f"{host}:{port}",
                                             "relay_user": relay_user,
                                             "relay_password_file": str(pw)}})
    submit(k, [relay.users[0]], make_message("via relay", sender=k.user))
    [stored] = wait_for(lambda: relay.messages(relay.users[0]), what="the relayed copy")
    assert b"Subject: via relay" in stored
    [line] = outcome_lines(k, "sent")
    assert f"relay={host}[{host}]:{port}" in line
    assert re.search(r"connected relay=\S+ tls=TLS", log_text(k))
    assert "auth ok" in log_text(relay)


def test_relay_wrong_password_defers(zone, remote_kasten, outbound_server, tmp_path):
    """Refused relay credentials are our configuration's fault, not the recipient's:
    the mail stays queued (deferred), no bounce."""
    relay = remote_kasten(listen=("smtp", "submission"))
    pw = tmp_path / "relay.pw"
    pw.write_text("wrong-password\n")
    host, port = relay.addr("submission")
    k = outbound_server(config={"outbound": {"relay": f"{host}:{port}",
                                             "relay_user": relay.users[0],
                                             "relay_password_file": str(pw)}})
    submit(k, [relay.users[0]], make_message("bad auth", sender=k.user))
    line = wait_for(lambda: outcome_lines(k, "deferred"), what="a deferral")[0]
    assert "AUTH on the relay failed" in line
    assert outcome_lines(k, "bounced") == []


# ---- DKIM ----
def dkim_keys(server):
    """{name: TXT text} of the DKIM records `kasten dns` prints."""
    out = {}
    for line in server.kasten("dns", DOMAIN).stdout.decode().splitlines():
        m = re.match(r"(\S+)\._domainkey\.(\S+)\.\s+\d+\s+IN\s+TXT\s+(.*)$", line)
        if m:
            out[f"{m.group(1)}._domainkey.{m.group(2)}."] = \
                "".join(re.findall(r'"([^"]*)"', m.group(3)))
    return out


def test_dkim_signatures_verify(zone, smtp_sink, outbound_server):
    """RFC 6376 / RFC 8463: the copy the MX receives carries an rsa-sha256 and an
    ed25519-sha256 signature of example.test, and python3-dkim verifies both."""
    zone.mx("dest.test", [(10, "mx.dest.test")]).a("mx.dest.test", remote_host(2))
    sink = smtp_sink(remote_host(2))
    k = outbound_server()
    submit(k, ["rcpt@dest.test"], make_message("signed", sender=k.user))
    [m] = sink.wait_messages(1)
    keys = dkim_keys(k)

    def dnsfunc(name, timeout=5):
        return keys.get(name.decode() if isinstance(name, bytes) else name, "").encode()

    d = dkim.DKIM(m.data)
    sigs = [v for v in m.header("DKIM-Signature")]
    algos = sorted(re.search(r"a=([\w-]+)", s).group(1) for s in sigs)
    assert algos == ["ed25519-sha256", "rsa-sha256"]
    for idx in range(len(sigs)):
        assert d.verify(idx=idx, dnsfunc=dnsfunc), f"signature {idx} does not verify"
    # and a changed body does not verify
    bad = dkim.DKIM(m.data.replace(b"Hello.", b"Hello!"))
    with pytest.raises(dkim.ValidationError, match="body hash mismatch"):
        bad.verify(idx=0, dnsfunc=dnsfunc)


def defer_all(zone, k, n, subject):
    """n messages to dest.test whose MX is not up yet: each deferred once."""
    for i in range(n):
        submit(k, [f"r{i}@dest.test"], make_message(f"{subject} {i}", sender=k.user))
    wait_for(lambda: len(outcome_lines(k, "deferred")) >= n, what=f"{n} deferrals")


def test_connection_reuse(zone, smtp_sink, outbound_server):
    """Messages waiting for one destination leave over ONE connection (one SMTP
    session at the sink, one transaction per message), not one each."""
    zone.mx("dest.test", [(10, "mx.dest.test")]).a("mx.dest.test", remote_host(2))
    k = outbound_server(config={"outbound": {"retry_schedule": "1h"}})
    n = 8
    defer_all(zone, k, n, "reuse")
    sink = smtp_sink(remote_host(2))
    k.kasten("queue", "retry", "--all")
    sink.wait_messages(n)
    wait_for(lambda: sink.counters()["sess"] >= 1, what="the session to end")
    assert sink.counters() == {"sess": 1, "quit": 1, "mesg": n}
    assert connections(k, "mx.dest.test") == ["+", "-"]


def test_destination_connection_limit(zone, smtp_sink, outbound_server):
    """[outbound] destination_connections = 2: 33 messages due at once for one domain
    are three leases of work (16 + 16 + 1); the sink holds every DATA answer back 1 s,
    so the sessions overlap, and at most two are ever open at once."""
    zone.mx("dest.test", [(10, "mx.dest.test")]).a("mx.dest.test", remote_host(2))
    k = outbound_server(config={"outbound": {"retry_schedule": "1h",
                                             "destination_connections": "2"}})
    n = 33
    defer_all(zone, k, n, "limit")
    sink = smtp_sink(remote_host(2), options=("-w", "1"))
    k.kasten("queue", "retry", "--all")
    sink.wait_messages(n, timeout=120)
    ev = wait_for(lambda: (lambda e: e if e.count("-") == e.count("+") else None)(
        connections(k, "mx.dest.test")), what="every connection to end")
    assert max_concurrent(ev) == 2, ev
    assert sink.counters()["mesg"] == n


def test_dkim_verified_by_receiving_kasten(zone, remote_kasten, outbound_server):
    """The receiving kasten (the MX of remote.test) checks both signatures on port 25
    and records dkim=pass for example.test in its Authentication-Results (RFC 8601)."""
    zone.mx("remote.test", [(10, "mx.remote.test")]).a("mx.remote.test", remote_host(3))
    remote = remote_kasten()
    k = outbound_server()
    submit(k, [remote.users[0]], make_message("checked", sender=k.user))
    wait_for(lambda: outcome_lines(k, "sent"), what="the sent line")
    [stored] = wait_for(lambda: remote.messages(remote.users[0]), what="the stored copy")
    head = stored.split(b"\r\n\r\n", 1)[0].decode()
    ar = re.findall(r"^Authentication-Results:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head,
                    re.M | re.I)
    assert len(ar) == 1, head
    text = re.sub(r"\s+", " ", ar[0])
    assert text.strip().startswith("mx.remote.test;"), text
    passes = re.findall(r"dkim=pass[^;]*header\.d=example\.test", text)
    assert len(passes) == 2, text
    # RFC 3207: STARTTLS was offered, so it was used (opportunistic: not verified)
    m = re.search(r" connected relay=mx\.remote\.test\[127\.0\.0\.3\]:\d+ tls=(.*)",
                  log_text(k))
    assert m and m.group(1).startswith("TLS") and "verified" not in m.group(1)


def test_destination_rate(zone, smtp_sink, outbound_server):
    """[outbound] destination_rate = 6 (messages per minute): a minute's worth goes at
    once, the next one only when the rate allows (about 10 s later; the test accepts
    anything from 5 s, a busy machine only makes it later)."""
    zone.mx("dest.test", [(10, "mx.dest.test")]).a("mx.dest.test", remote_host(2))
    k = outbound_server(config={"outbound": {"retry_schedule": "1h",
                                             "destination_rate": "6"}})
    defer_all(zone, k, 8, "rate")
    sink = smtp_sink(remote_host(2))
    k.kasten("queue", "retry", "--all")
    sink.wait_messages(6)
    t0 = time.monotonic()
    sink.wait_messages(7, timeout=60)
    assert time.monotonic() - t0 >= 5, "the 7th message came too soon"


def test_stop_finishes_the_transaction_in_flight(zone, smtp_sink, outbound_server):
    """SIGTERM while a message is being sent: the server waits for that transaction's
    answer (the sink delays it 2 s), records it and exits 0; after a restart the queue
    is empty and nothing is sent again."""
    zone.mx("dest.test", [(10, "mx.dest.test")]).a("mx.dest.test", remote_host(2))
    sink = smtp_sink(remote_host(2), options=("-w", "2"))
    k = outbound_server()
    submit(k, ["rcpt@dest.test"], make_message("in flight", sender=k.user))
    wait_for(lambda: " connected relay=mx.dest.test" in log_text(k), what="the session")
    k.stop()  # exit 0, no sanitizer report
    assert len(outcome_lines(k, "sent")) == 1
    k.start()
    assert "0 message(s)" in queue_list(k)
    assert sink.counters()["mesg"] == 1


def queue_list(server):
    return server.kasten("queue", "list").stdout.decode()


def _listening6(port):
    """Whether something listens on an IPv6 port (any address), from /proc/net/tcp6."""
    with open("/proc/net/tcp6") as f:
        next(f)
        return any(line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A"
                   for line in f)


def test_ipv6_mx(zone, smtp_sink, outbound_server, monkeypatch):
    """An MX host with only an AAAA record is reached over IPv6 (RFC 5321 5.1; RFC
    3596)."""
    import outbound_test
    ipv4_only = outbound_test._listening
    monkeypatch.setattr(outbound_test, "_listening",
                        lambda host, port: _listening6(port) if host.startswith("[")
                        else ipv4_only(host, port))
    zone.mx("six.test", [(10, "mx.six.test")]).aaaa("mx.six.test", "::1")
    sink = smtp_sink("[::1]")
    k = outbound_server()
    submit(k, ["rcpt@six.test"], make_message("over ipv6", sender=k.user))
    [m] = sink.wait_messages(1)
    assert m.rcpts == ["rcpt@six.test"]
    [line] = outcome_lines(k, "sent")
    assert "relay=mx.six.test[::1]:" in line


def relay_by_name(zone, remote_kasten, outbound_server, tmp_path, ca_file):
    """A relay named mx.remote.test (its certificate's name), AUTH over STARTTLS."""
    relay = remote_kasten(listen=("smtp", "submission"))
    relay_user = f"sender@{DOMAIN}"
    relay.user_add(relay_user, relay.password)
    zone.a("mx.remote.test", remote_host(3))
    pw = tmp_path / "relay.pw"
    pw.write_text(relay.password + "\n")
    port = relay.addr("submission")[1]
    conf = {"relay": f"mx.remote.test:{port}", "relay_user": relay_user,
            "relay_password_file": str(pw)}
    if ca_file:
        conf["mta_sts_ca_file"] = str(relay.data / "tls" / "cert.pem")
    k = outbound_server(config={"outbound": conf})
    submit(k, [relay.users[0]], make_message("relay by name", sender=k.user))
    return relay, k


def test_relay_certificate_verified(zone, remote_kasten, outbound_server, tmp_path):
    """relay_tls (default yes) with a relay named by host: its certificate must verify
    for that name; here against [outbound] mta_sts_ca_file, the relay's own
    self-signed certificate."""
    relay, k = relay_by_name(zone, remote_kasten, outbound_server, tmp_path, ca_file=True)
    wait_for(lambda: relay.messages(relay.users[0]), what="the relayed copy")
    assert re.search(r" connected relay=mx\.remote\.test\[127\.0\.0\.3\]:\d+ tls=TLS\S* "
                     r"\S+ verified", log_text(k)), log_text(k)[-3000:]


def test_relay_certificate_unverified_defers(zone, remote_kasten, outbound_server,
                                             tmp_path):
    """The same relay without a CA that vouches for it: no AUTH and no message over
    that connection; the mail stays queued (deferred), never sent in plain text."""
    relay, k = relay_by_name(zone, remote_kasten, outbound_server, tmp_path, ca_file=False)
    line = wait_for(lambda: outcome_lines(k, "deferred"), what="a deferral")[0]
    assert "TLS with mx.remote.test" in line
    assert " connected relay=" not in log_text(k)
    assert "auth ok" not in log_text(relay)


# ---- RFC 3461 DSN parameters ----
def test_dsn_parameters_passed_on(zone, smtp_sink, outbound_server):
    """RFC 3461 5.2/5.3: to a server offering DSN, NOTIFY, ORCPT, RET and ENVID go on
    with the message, and the success report is that server's business: none from
    us."""
    zone.mx("dest.test", [(10, "mx.dest.test")]).a("mx.dest.test", remote_host(2))
    sink = smtp_sink(remote_host(2))
    k = outbound_server()
    submit(k, ["rcpt@dest.test"], make_message("dsn on", sender=k.user),
           mail_options=["RET=HDRS", "ENVID=env+2Bid-1"],
           rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;orig@dest.test"])
    [m] = sink.wait_messages(1)
    assert "RET=HDRS" in m.mail_from and "ENVID=env+2Bid-1" in m.mail_from
    [args] = m.rcpt_args
    assert "NOTIFY=SUCCESS,FAILURE" in args and "ORCPT=rfc822;orig@dest.test" in args
    wait_for(lambda: outcome_lines(k, "sent"), what="the sent line")
    assert inbox_is_empty(k)


def test_notify_success_without_dsn_is_relayed(zone, smtp_sink, outbound_server):
    """RFC 3461 6.2: NOTIFY=SUCCESS to a server that does not offer DSN (smtp-sink -N):
    no parameters go on, and the sender gets a report with Action: relayed."""
    zone.mx("dest.test", [(10, "mx.dest.test")]).a("mx.dest.test", remote_host(2))
    sink = smtp_sink(remote_host(2), options=("-N",))
    k = outbound_server()
    submit(k, ["rcpt@dest.test"], make_message("dsn off", sender=k.user),
           rcpt_options=["NOTIFY=SUCCESS"])
    [m] = sink.wait_messages(1)
    assert m.rcpt_args == ["<rcpt@dest.test>"]
    [raw] = inbox(k)
    _, [r], _ = dsn_parts(raw)
    assert r["action"] == "relayed" and r["status"].startswith("2.")
