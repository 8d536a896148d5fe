"""The per-account activity log (issue 10, "devices and activity"): which clients used
an account and what POP3 sessions removed from it, recorded by real IMAP, POP3 and
submission sessions and read back with `kasten user activity ADDRESS`.

IMAP records at login and when ID (RFC 2971) names the client; POP3 at login and, in
the UPDATE state (RFC 1939 6), how many messages and bytes DELE removed, never for a
connection dropped without QUIT; submission at AUTH (RFC 4954). The writes run off the
loop thread, so the tests poll the admin command for a short while."""

import calendar
import imaplib
import json
import poplib
import smtplib
import socket
import subprocess
import time

import pytest

from kasten_test import deliver, make_message, unique_user

KASTEN_LISTEN = ("smtp", "submission", "imap", "pop3", "http")
PASSWORD = "Activity-pass-1"
COLUMNS = ("last_seen", "first_seen", "protocol", "kind", "removed", "bytes", "address",
           "client")


def account(server, prefix="act"):
    a = unique_user(prefix)
    server.user_add(a, PASSWORD)
    return a


def iso(ts):
    return calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"))


def activity(server, address):
    """The rows of `kasten user activity`, as dicts, in its order (newest first)."""
    out = server.kasten("user", "activity", address).stdout.decode()
    lines = out.splitlines()
    assert lines[0].split() == ["LAST-SEEN", "FIRST-SEEN", "PROTOCOL", "KIND", "REMOVED",
                                "BYTES", "ADDRESS", "CLIENT"], out
    # the client name is last and may contain spaces
    return [dict(zip(COLUMNS, line.split(None, 7))) for line in lines[1:]]


def wait_activity(server, address, pred, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        rows = activity(server, address)
        if pred(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def logins(rows, protocol):
    return [r for r in rows if r["kind"] == "login" and r["protocol"] == protocol]


def imap(server, address=None):
    c = imaplib.IMAP4(server.host, server.ports["imap"], timeout=10)
    if address:
        c.login(address, PASSWORD)
    return c


# RFC 2971 3.1: ID is valid in any state; imaplib does not know the command
imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))


def imap_id(c, *pairs):
    args = " ".join(f'"{x}"' for x in pairs)
    typ, data = c._simple_command("ID", f"({args})")
    assert typ == "OK", data


def test_imap_login_and_id_rfc2971(server):
    a = account(server)
    before = int(time.time())
    c = imap(server, a)
    rows = wait_activity(server, a, lambda r: logins(r, "imap"))
    assert len(rows) == 1, rows
    r = rows[0]
    assert (r["protocol"], r["kind"], r["address"], r["client"]) == \
        ("imap", "login", "127.0.0.1", "-")
    assert (r["removed"], r["bytes"]) == ("-", "-")
    assert before - 1 <= iso(r["first_seen"]) <= iso(r["last_seen"]) <= time.time() + 1
    # RFC 2971 3.3: name and version; kept as "name version"
    imap_id(c, "name", "Thunderbird", "version", "115.3.1", "os", "Linux")
    rows = wait_activity(server, a, lambda r: len(logins(r, "imap")) == 2)
    clients = sorted(r["client"] for r in logins(rows, "imap"))
    assert clients == ["-", "Thunderbird 115.3.1"], rows
    # the same ID again writes nothing new; a name without version is the name
    imap_id(c, "name", "Thunderbird", "version", "115.3.1")
    imap_id(c, "NAME", "K-9 Mail")
    rows = wait_activity(server, a, lambda r: len(logins(r, "imap")) == 3)
    assert sorted(r["client"] for r in logins(rows, "imap")) == \
        ["-", "K-9 Mail", "Thunderbird 115.3.1"], rows
    c.logout()


def test_imap_id_before_login_names_the_login(server):
    a = account(server)
    c = imap(server)
    imap_id(c, "name", "Early Bird", "version", "2")
    # nothing is written for an unauthenticated session
    c.login(a, PASSWORD)
    rows = wait_activity(server, a, lambda r: logins(r, "imap"))
    assert [r["client"] for r in rows] == ["Early Bird 2"], rows
    c.logout()


def test_imap_id_is_sanitized_and_bounded(server):
    a = account(server)
    c = imap(server, a)
    # RFC 9051 quoted strings may carry control characters (not CR, LF): an ESC sequence
    # must not reach a terminal that shows the log
    imap_id(c, "name", "Evil\x1b[31mRed\x01", "version", "v" * 300)
    rows = wait_activity(server, a, lambda r: len(logins(r, "imap")) == 2)
    named = [r["client"] for r in rows if r["client"] != "-"]
    assert len(named) == 1, rows
    name = named[0]
    assert name.startswith("Evil?[31mRed? vvvv"), name
    assert len(name.encode()) == 128, name  # LIMIT_ACTIVITY_STRING
    assert all(0x20 <= ord(ch) < 0x7f for ch in name)
    c.logout()


def test_failed_login_is_not_recorded(server):
    a = account(server)
    c = imap(server)
    with pytest.raises(imaplib.IMAP4.error):
        c.login(a, "wrong-password")
    c.logout()
    # a later good login is the only row
    c = imap(server, a)
    rows = wait_activity(server, a, lambda r: logins(r, "imap"))
    assert len(rows) == 1 and rows[0]["client"] == "-", rows
    c.logout()


def fill(server, address, n):
    for i in range(n):
        deliver(server, address, make_message(f"activity {i}", f"Body {i}.\r\n".encode()))
    assert len(server.wait_messages(address, n)) == n


def test_pop3_dele_quit_records_removal_rfc1939_section_6(server):
    a = account(server)
    fill(server, a, 3)
    p = poplib.POP3(server.host, server.ports["pop3"], timeout=10)
    p.user(a)
    p.pass_(PASSWORD)
    sizes = {int(n): int(s) for n, s in (x.split() for x in
                                         (b.decode() for b in p.list()[1]))}
    p.dele(1)
    p.dele(3)
    # DELE only marks: nothing is removed (or logged) before QUIT
    time.sleep(0.3)
    assert not [r for r in activity(server, a) if r["kind"] == "removed"]
    p.quit()
    rows = wait_activity(server, a, lambda r: [x for x in r if x["kind"] == "removed"])
    removed = [r for r in rows if r["kind"] == "removed"]
    assert len(removed) == 1, rows
    r = removed[0]
    assert (r["protocol"], r["address"], r["client"]) == ("pop3", "127.0.0.1", "-")
    assert int(r["removed"]) == 2
    assert int(r["bytes"]) == sizes[1] + sizes[3]
    assert r["first_seen"] == "-"
    assert len(logins(rows, "pop3")) == 1
    assert len(server.messages(a)) == 1


def test_pop3_dropped_connection_records_no_removal(server):
    a = account(server)
    fill(server, a, 2)
    s = socket.create_connection((server.host, server.ports["pop3"]), timeout=10)
    f = s.makefile("rb")
    f.readline()
    for cmd in (f"USER {a}", f"PASS {PASSWORD}", "DELE 1"):
        s.sendall(cmd.encode() + b"\r\n")
        assert f.readline().startswith(b"+OK")
    f.close()
    s.close()  # no QUIT: no UPDATE state, nothing deleted (RFC 1939 6)
    # a second session removes one message with QUIT; once its row is there, the
    # dropped session's would have been too
    p = poplib.POP3(server.host, server.ports["pop3"], timeout=10)
    for _ in range(50):  # the dropped session's maildrop lock goes with its close
        try:
            p.user(a)
            p.pass_(PASSWORD)
            break
        except poplib.error_proto:
            time.sleep(0.1)
            p = poplib.POP3(server.host, server.ports["pop3"], timeout=10)
    assert p.stat()[0] == 2
    p.dele(2)
    p.quit()
    rows = wait_activity(server, a, lambda r: [x for x in r if x["kind"] == "removed"])
    removed = [r for r in rows if r["kind"] == "removed"]
    assert [int(r["removed"]) for r in removed] == [1], rows
    assert len(server.messages(a)) == 1


def test_pop3_quit_without_dele_records_no_removal(server):
    a = account(server)
    fill(server, a, 1)
    p = poplib.POP3(server.host, server.ports["pop3"], timeout=10)
    p.user(a)
    p.pass_(PASSWORD)
    p.quit()
    rows = wait_activity(server, a, lambda r: logins(r, "pop3"))
    assert len(rows) == 1 and rows[0]["kind"] == "login", rows


def test_submission_auth_rfc4954(server):
    a = account(server)
    s = smtplib.SMTP(server.host, server.ports["submission"], timeout=10)
    s.ehlo()
    s.login(a, PASSWORD)
    s.quit()
    rows = wait_activity(server, a, lambda r: logins(r, "submission"))
    assert [(r["protocol"], r["address"], r["client"]) for r in rows] == \
        [("submission", "127.0.0.1", "-")], rows


def test_accounts_see_only_their_own(server):
    a, b = account(server, "acta"), account(server, "actb")
    c = imap(server, a)
    imap_id(c, "name", "OnlyA")
    wait_activity(server, a, lambda r: len(r) == 2)
    c.logout()
    assert activity(server, b) == []
    # one login of one protocol twice from one address: one row, last_seen moves
    c = imap(server, a)
    c.logout()
    rows = activity(server, a)
    assert len(logins(rows, "imap")) == 2, rows


def test_unknown_account(server):
    r = server.kasten("user", "activity", "nobody@example.invalid", check=False)
    assert r.returncode == 1
    assert b"activity nobody@example.invalid" in r.stderr


def test_webmail_login_records_the_browser(server):
    """A JMAP/webmail login (POST /jmap/login) is a client seen, named by its
    User-Agent (RFC 9110 10.1.5); a failed one records nothing."""
    a = account(server)
    url = f"http://{server.host}:{server.ports['http']}/jmap/login"

    def curl_login(password):
        out = subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-A", "Firefox/133.0",
             "-H", "Content-Type: application/json", "--data-binary",
             json.dumps({"username": a, "password": password}), url],
            capture_output=True, timeout=60, check=True)
        return out.stdout.decode()

    assert curl_login("wrong") == "401"
    assert curl_login(PASSWORD) == "200"
    rows = wait_activity(server, a, lambda r: logins(r, "http"))
    assert [(r["kind"], r["address"], r["client"]) for r in rows] == \
        [("login", "127.0.0.1", "Firefox/133.0")], rows
