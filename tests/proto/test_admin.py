"""`kasten user ...` and `kasten export` (issue 2, item 3), with the server running."""

import base64
import mailbox

import pytest

from kasten_test import (DOMAIN, RawSMTP, assert_delivered, dot_stuff, make_message,
                         size_matches, split_trace, unique_user)

PASSWORD = "Admin-test-pass-1"
MAILBOXES = ("INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive")


def row(server, address):
    rows = [r for r in server.user_list() if r["address"].lower() == address.lower()]
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


def deliver(server, rcpt, msg, sender="admin-test@sender.invalid"):
    with RawSMTP(server.host, server.ports["smtp"]) as r:
        assert r.reply()[0] == 220
        assert r.cmd("EHLO client.test")[0] == 250
        assert r.cmd(f"MAIL FROM:<{sender}>")[0] == 250
        code, lines = r.cmd(f"RCPT TO:<{rcpt}>")
        if code != 250:
            return code
        assert r.cmd("DATA")[0] == 354
        r.send(dot_stuff(msg))
        code = r.reply()[0]
        r.cmd("QUIT")
        return code


def login_ok(server, address, password):
    """AUTH PLAIN (RFC 4616: UTF-8) on submission; smtplib would encode ASCII only."""
    with RawSMTP(server.host, server.ports["submission"]) as r:
        assert r.reply()[0] == 220
        assert r.cmd("EHLO client.test")[0] == 250
        tok = base64.b64encode(f"\0{address}\0{password}".encode()).decode()
        code, _ = r.cmd(f"AUTH PLAIN {tok}")
        assert code in (235, 535), code
        return code == 235


def test_user_add_list_del(mserver):
    a = unique_user("adm")
    assert row(mserver, a) is None
    mserver.user_add(a, PASSWORD)
    r = row(mserver, a)
    assert r is not None, mserver.kasten("user", "list").stdout
    assert "count" in r, f"list line needs address, quota, used, count: {r['raw']!r}"
    assert r["count"] == "0"
    assert size_matches(r["used"], 0)
    mserver.kasten("user", "del", a)
    assert row(mserver, a) is None
    # deleted while the server runs: mail to it is refused
    assert deliver(mserver, a, make_message("after del", rcpt=a)) == 550


def test_user_add_duplicate_fails(mserver):
    a = unique_user("dup")
    mserver.user_add(a, PASSWORD)
    r = mserver.kasten("user", "add", a, "--password-stdin", input="x\n", check=False)
    assert r.returncode != 0


def test_user_del_unknown_fails(mserver):
    r = mserver.kasten("user", "del", f"nobody-at-all@{DOMAIN}", check=False)
    assert r.returncode != 0


def test_user_add_invalid_address_fails(mserver):
    for bad in ("no-at-sign", "a@", "@b", "a b@c.test"):
        r = mserver.kasten("user", "add", bad, "--password-stdin", input="x\n",
                           check=False)
        assert r.returncode != 0, bad


@pytest.mark.parametrize("size,expected", [("500K", 500 << 10), ("100M", 100 << 20),
                                           ("2G", 2 << 30)])
def test_quota_size_parsing(mserver, size, expected):
    a = unique_user("q")
    mserver.user_add(a, PASSWORD, quota=size)
    assert size_matches(row(mserver, a)["quota"], expected), row(mserver, a)["raw"]
    b = unique_user("q")
    mserver.user_add(b, PASSWORD)
    mserver.kasten("user", "quota", b, size)
    assert size_matches(row(mserver, b)["quota"], expected), row(mserver, b)["raw"]


def test_quota_bad_size_fails(mserver):
    a = unique_user("q")
    mserver.user_add(a, PASSWORD)
    for bad in ("12X", "-1", "K", "1.5.5M", "99999999999999999999G"):
        assert mserver.kasten("user", "quota", a, bad, check=False).returncode != 0, bad


def test_list_shows_used_bytes_and_count_after_delivery(mserver):
    a = unique_user("used")
    mserver.user_add(a, PASSWORD, quota="10M")
    m1 = make_message("one", body=b"a" * 3000 + b"\r\n", rcpt=a)
    m2 = make_message("two", body=b"b" * 5000 + b"\r\n", rcpt=a)
    assert deliver(mserver, a, m1) == 250
    assert deliver(mserver, a, m2) == 250
    stored = mserver.messages(a)
    assert len(stored) == 2
    r = row(mserver, a)
    assert r["count"] == "2"
    assert size_matches(r["used"], sum(map(len, stored))), (r["raw"], sum(map(len, stored)))


def test_passwd_while_running(mserver):
    a = unique_user("pw")
    mserver.user_add(a, PASSWORD)
    assert login_ok(mserver, a, PASSWORD)
    mserver.kasten("user", "passwd", a, "--password-stdin", input="New-pass-2\n")
    assert not login_ok(mserver, a, PASSWORD)
    assert login_ok(mserver, a, "New-pass-2")


def test_password_with_spaces_and_utf8(mserver):
    a = unique_user("pw")
    pw = "p\u00e4ss w\u00f6rd with spaces"
    mserver.user_add(a, pw)
    assert login_ok(mserver, a, pw)
    assert not login_ok(mserver, a, pw + "x")


def test_alias_add(mserver):
    a = unique_user("owner")
    mserver.user_add(a, PASSWORD)
    alias = unique_user("al")
    mserver.kasten("user", "alias", "add", alias, a)
    msg = make_message("via alias", rcpt=alias)
    assert deliver(mserver, alias, msg) == 250
    (stored,) = mserver.messages(a)
    assert_delivered(stored, msg, "admin-test@sender.invalid")


def test_alias_to_unknown_account_fails(mserver):
    r = mserver.kasten("user", "alias", "add", unique_user("al"), f"ghost@{DOMAIN}",
                       check=False)
    assert r.returncode != 0


def test_new_account_has_special_use_mailboxes(mserver):
    a = unique_user("mb")
    mserver.user_add(a, PASSWORD)
    for mb in MAILBOXES:
        assert mserver.export(a, mb) == b"", mb


def test_export_unknown_mailbox_fails(mserver):
    a = unique_user("mb")
    mserver.user_add(a, PASSWORD)
    assert mserver.kasten("export", a, "--mailbox", "NoSuchBox", check=False).returncode != 0
    assert mserver.kasten("export", a, "--mailbox", "../../etc", check=False).returncode != 0


def test_user_set_pop3_off(mserver):
    a = unique_user("pop")
    mserver.user_add(a, PASSWORD)
    mserver.kasten("user", "set", a, "pop3=off")
    mserver.kasten("user", "set", a, "pop3=on")
    assert mserver.kasten("user", "set", a, "bogus=1", check=False).returncode != 0


def test_data_option_instead_of_config(mserver):
    a = unique_user("data")
    mserver.kasten("user", "add", a, "--password-stdin", input=PASSWORD + "\n",
                   use_data=True)
    out = mserver.kasten("user", "list", use_data=True).stdout.decode()
    assert a in out


def test_admin_commands_without_server(kasten_factory):
    s = kasten_factory()
    a = unique_user("offline")
    # only `kasten init` creates a data dir: a mistyped --data must not make a new store
    r = s.kasten("user", "add", a, "--password-stdin", input=PASSWORD + "\n", check=False)
    assert r.returncode != 0 and b"does not exist" in r.stderr, r.stderr
    assert not s.data.exists()
    s.data.mkdir(parents=True)
    s.user_add(a, PASSWORD, quota="1M")
    assert size_matches(row(s, a)["quota"], 1 << 20)
    assert s.export(a) == b""
    s.start()
    msg = make_message("offline then online", rcpt=a)
    assert deliver(s, a, msg) == 250
    assert len(s.messages(a)) == 1
    s.stop()
    # the store survives a clean restart
    s.start()
    assert len(s.messages(a)) == 1


# ---- `kasten export`: envelope sender and one line-ending convention (LF) ----

def test_export_from_line_carries_the_envelope_sender(mserver):
    a = unique_user("exp")
    mserver.user_add(a, PASSWORD)
    assert deliver(mserver, a, make_message("one", rcpt=a), sender="alice@sender.example") == 250
    assert deliver(mserver, a, make_message("two", rcpt=a), sender="") == 250
    data = mserver.export(a)
    froms = [line for line in data.split(b"\n") if line.startswith(b"From ")]
    assert len(froms) == 2, data
    assert froms[0].startswith(b"From alice@sender.example "), froms
    assert froms[1].startswith(b"From MAILER-DAEMON "), froms  # the null sender <>


def test_export_is_lf_only_and_round_trips(mserver):
    a = unique_user("exp")
    mserver.user_add(a, PASSWORD)
    # SMTP stores CRLF lines only (bare CR and LF are refused, RFC 5321 2.3.8)
    body = (b"From the start\r\n>From once\r\n" + b">" * 70 + b"From deep\r\n"
            b"\r\nFrom \r\n.\r\nFrom\r\nend\r\n")
    msgs = [make_message("quoting", body=body, rcpt=a), make_message("plain", rcpt=a)]
    for m in msgs:
        assert deliver(mserver, a, m) == 250
    data = mserver.export(a)
    assert b"\r" not in data, data[:300]  # one convention: LF
    assert b"\n" + b">" * 71 + b"From deep\n" in data
    stored = mserver.messages(a)
    assert len(stored) == 2
    for s, m in zip(stored, msgs):
        assert_delivered(s, m, "admin-test@sender.invalid")


def test_export_reads_cleanly_with_python_mailbox(mserver, tmp_path):
    a = unique_user("exp")
    mserver.user_add(a, PASSWORD)
    bodies = {"first": b"Hello.\r\nSecond line.\r\n", "second": b"Bye.\r\n",
              "third": b"\r\n\r\nafter blank lines\r\n"}
    senders = {"first": "alice@sender.example", "second": "", "third": "bob@b.example"}
    for subj, body in bodies.items():
        assert deliver(mserver, a, make_message(subj, body=body, rcpt=a),
                       sender=senders[subj]) == 250
    path = tmp_path / "export.mbox"
    path.write_bytes(mserver.export(a))
    box = mailbox.mbox(str(path), create=False)
    got = list(box)
    box.close()
    assert [m["Subject"] for m in got] == list(bodies)
    for m in got:
        subj = m["Subject"]
        assert m.get_from().split()[0] == (senders[subj] or "MAILER-DAEMON"), m.get_from()
        assert m.get_payload(decode=False).encode() == bodies[subj].replace(b"\r\n", b"\n")
        assert "\r" not in m.as_string()


def test_export_round_trips_a_message_without_final_line_end(mserver):
    """BDAT (RFC 3030 2) may end a message without CRLF; the export keeps that exact."""
    a = unique_user("exp")
    mserver.user_add(a, PASSWORD)
    msg = make_message("no final crlf", body=b"last line without end", rcpt=a)
    with RawSMTP(mserver.host, mserver.ports["smtp"]) as r:
        assert r.reply()[0] == 220
        assert r.cmd("EHLO client.test")[0] == 250
        assert r.cmd("MAIL FROM:<admin-test@sender.invalid>")[0] == 250
        assert r.cmd(f"RCPT TO:<{a}>")[0] == 250
        r.send(f"BDAT {len(msg)} LAST\r\n".encode() + msg)
        assert r.reply()[0] == 250
    assert deliver(mserver, a, make_message("after it", rcpt=a)) == 250
    data = mserver.export(a)
    assert b"last line without end\nFrom admin-test@sender.invalid " in data, data
    first, second = mserver.messages(a)
    assert_delivered(first, msg, "admin-test@sender.invalid")
    assert split_trace(second)[1].startswith(b"From: ")
    assert mserver.kasten("export", a).stderr == b""
