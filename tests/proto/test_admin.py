"""`kasten user ...` and `kasten export` (issue 2, item 3; issue 6, items 9, 11, 15), with
the server running unless a test says otherwise."""

import base64
import mailbox
import re
import subprocess

import pytest

from kasten_test import (DOMAIN, RawSMTP, assert_delivered, dot_stuff, kasten_bin,
                         make_message, size_matches, split_trace, unique_user)

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


# ---- addresses (RFC 5321 4.1.2, 4.5.3.1; RFC 6531) ----

def long_address(total):
    """local@domain of exactly `total` octets: a 64-octet local part, 63-octet labels."""
    local = "l" * 64
    rest = total - 65
    labels = []
    while rest > 64:
        labels.append("d" * 63)
        rest -= 64
    labels.append("t" * rest)
    addr = f"{local}@{'.'.join(labels)}"
    assert len(addr.encode()) == total
    return addr


UNDELIVERABLE = [
    "evil@../../tmp",                    # not a domain: empty labels
    "a@example.test.",                   # trailing dot: an empty label
    "a..b@example.test",                 # RFC 5321 4.1.2 Dot-string: no empty atom
    ".a@example.test",
    "a@-example.test",                   # RFC 5321 4.1.2 sub-domain: Let-dig at both ends
    "a@exa_mple.test",
    "a@[192.0.2.1]",                     # an address literal names a host, not a domain
    "a@192.0.2.1",                       # all-digit top-level label (RFC 3696 2)
    '"a b"@example.test',                # RFC 5321 4.1.2: SHOULD avoid quoted local parts
    "l" * 65 + "@example.test",          # RFC 5321 4.5.3.1.1: local part <= 64
    "a@" + "d" * 64 + ".example.test",   # RFC 1035 2.3.4: label <= 63
    long_address(255),                   # RFC 5321 4.5.3.1.3: path <= 256 with "<>"
]


@pytest.mark.parametrize("bad", UNDELIVERABLE)
def test_user_add_refuses_what_smtp_cannot_deliver_to(mserver, bad):
    r = mserver.kasten("user", "add", bad, "--password-stdin", input=PASSWORD + "\n",
                       check=False)
    assert r.returncode == 2, (bad, r.stdout, r.stderr)
    assert bad.encode() in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert row(mserver, bad) is None
    assert bad not in mserver.kasten("user", "list").stdout.decode()


def test_user_add_domain_message_names_the_domain(mserver):
    r = mserver.kasten("user", "add", "evil@../../tmp", "--password-stdin",
                       input=PASSWORD + "\n", check=False)
    assert r.returncode == 2
    assert b"'../../tmp' is not a domain name" in r.stderr, r.stderr


@pytest.mark.parametrize("bad", ["evil@../../tmp", "a@[192.0.2.1]", '"x y"@example.test'])
def test_alias_add_refuses_what_smtp_cannot_deliver_to(mserver, bad):
    a = unique_user("owner")
    mserver.user_add(a, PASSWORD)
    r = mserver.kasten("user", "alias", "add", bad, a, check=False)
    assert r.returncode == 2, (bad, r.stderr)
    out = mserver.kasten("user", "alias", "list").stdout.decode()
    assert bad not in out


def test_longest_and_utf8_addresses_are_deliverable(mserver):
    """What `user add` accepts at the limits, SMTP delivers to (RFC 5321 4.5.3.1.3: 254
    octets fill a 256-octet path; RFC 6531: UTF-8 with SMTPUTF8)."""
    longest = long_address(254)
    mserver.user_add(longest, PASSWORD)
    msg = make_message("longest", rcpt="x@example.test")
    assert deliver(mserver, longest, msg) == 250
    (stored,) = mserver.messages(longest)
    assert_delivered(stored, msg, "admin-test@sender.invalid")

    utf8 = f"j\u00f6rg{unique_user('u')}".replace("@example.test", "@m\u00fcnchen.example")
    mserver.user_add(utf8, PASSWORD)
    with RawSMTP(mserver.host, mserver.ports["smtp"]) as r:
        assert r.reply()[0] == 220
        assert r.cmd("EHLO client.test")[0] == 250
        assert r.cmd("MAIL FROM:<s@sender.invalid> SMTPUTF8")[0] == 250
        assert r.cmd(f"RCPT TO:<{utf8}>".encode())[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send(dot_stuff(msg))
        assert r.reply()[0] == 250
    assert len(mserver.messages(utf8)) == 1


# ---- passwords: bounded like every login (AUTH_SASL_PART_MAX, RFC 4616 2) ----

def test_password_of_255_octets_works_256_is_refused(mserver):
    a = unique_user("pw")
    pw255 = "p\u00e4" * 85  # 255 octets of UTF-8
    assert len(pw255.encode()) == 255
    mserver.user_add(a, pw255)
    assert login_ok(mserver, a, pw255)

    b = unique_user("pw")
    for too_long in ("x" * 256, "x" * 2000):
        r = mserver.kasten("user", "add", b, "--password-stdin", input=too_long + "\n",
                           check=False)
        assert r.returncode != 0 and b"longer than 255 octets" in r.stderr, r.stderr
        assert row(mserver, b) is None
    # passwd refuses it too, and the old password stays
    r = mserver.kasten("user", "passwd", a, "--password-stdin", input="y" * 256 + "\n",
                       check=False)
    assert r.returncode != 0 and b"longer than 255 octets" in r.stderr, r.stderr
    assert login_ok(mserver, a, pw255)


@pytest.mark.parametrize("pw", [b"nul\0inside", b"tab\there", b"ctl\x01", b"del\x7f",
                                b"cr\rinside"])
def test_password_with_control_characters_is_refused(mserver, pw):
    a = unique_user("pw")
    r = mserver.kasten("user", "add", a, "--password-stdin", input=pw + b"\n", check=False)
    assert r.returncode != 0 and b"control character" in r.stderr, r.stderr
    assert row(mserver, a) is None


def test_password_line_end_crlf_is_not_part_of_it(mserver):
    a = unique_user("pw")
    mserver.kasten("user", "add", a, "--password-stdin", input=b"crlf-pass\r\n")
    assert login_ok(mserver, a, "crlf-pass")


# ---- --help never acts ----

HELP_LINES = [
    (("serve",), "usage: kasten serve"),
    (("init",), "usage: kasten init"),
    (("export",), "usage: kasten export"),
    (("export", "someone@example.test"), "usage: kasten export"),
    (("user",), "usage: kasten user"),
    (("user", "add", "x@example.test"), "usage: kasten user"),
    (("user", "del"), "usage: kasten user"),
    (("user", "del", "x@example.test"), "usage: kasten user"),
    (("user", "list"), "usage: kasten user"),
    (("user", "passwd", "x@example.test"), "usage: kasten user"),
    (("user", "alias", "del"), "usage: kasten user"),
    (("user", "alias", "list"), "usage: kasten user"),
]


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("args,first", HELP_LINES)
def test_help_prints_usage_and_touches_nothing(kasten_factory, args, first, flag):
    s = kasten_factory()
    r = s.kasten(*args, flag, input=PASSWORD + "\n", check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().startswith(first), r.stdout
    assert r.stderr == b""
    assert not s.data.exists()  # no data dir created, no store opened


def test_help_does_not_delete(mserver):
    a = unique_user("keep")
    mserver.user_add(a, PASSWORD)
    alias = unique_user("keepal")
    mserver.kasten("user", "alias", "add", alias, a)
    for args in (("user", "del", "--help"), ("user", "del", a, "--help"),
                 ("user", "del", a, "-h"), ("user", "alias", "del", alias, "--help")):
        r = mserver.kasten(*args)
        assert r.stdout.startswith(b"usage: kasten user"), r.stdout
    assert row(mserver, a) is not None
    assert alias in mserver.kasten("user", "alias", "list").stdout.decode()


def test_top_level_help(kasten_factory):
    s = kasten_factory()
    for args in (("--help",), ("-h",), ("help",)):
        r = subprocess.run([kasten_bin(), *args], capture_output=True)
        assert r.returncode == 0 and r.stdout.startswith(b"usage: kasten COMMAND"), r
    r = subprocess.run([kasten_bin(), "help", "user"], capture_output=True)
    assert r.returncode == 0 and r.stdout.startswith(b"usage: kasten user"), r
    assert not s.data.exists()


# ---- aliases ----

def alias_rows(server):
    out = server.kasten("user", "alias", "list").stdout.decode()
    rows = [line.split() for line in out.splitlines()[1:]]
    return {r[0]: r[1] for r in rows}


def test_alias_list_and_del(mserver):
    a, b = unique_user("owner"), unique_user("owner")
    mserver.user_add(a, PASSWORD)
    mserver.user_add(b, PASSWORD)
    al1, al2 = unique_user("al"), unique_user("al")
    mserver.kasten("user", "alias", "add", al1, a)
    mserver.kasten("user", "alias", "add", al2.upper().replace("@EXAMPLE.TEST", "@Example.Test"), b)
    out = mserver.kasten("user", "alias", "list").stdout.decode()
    assert out.splitlines()[0].split() == ["ALIAS", "ACCOUNT"], out
    rows = alias_rows(mserver)
    assert rows[al1] == a and rows[al2] == b, rows  # stored lower-case
    names = list(rows)
    assert names == sorted(names)

    mserver.kasten("user", "alias", "del", al1)
    rows = alias_rows(mserver)
    assert al1 not in rows and rows[al2] == b
    # mail to the removed alias is refused, to the other one delivered
    assert deliver(mserver, al1, make_message("gone", rcpt=al1)) == 550
    assert deliver(mserver, al2, make_message("here", rcpt=al2)) == 250


def test_alias_del_unknown_is_reported(mserver):
    ghost = unique_user("ghost")
    r = mserver.kasten("user", "alias", "del", ghost, check=False)
    assert r.returncode == 1 and f"no alias {ghost}".encode() in r.stderr, r.stderr
    a = unique_user("acct")
    mserver.user_add(a, PASSWORD)
    r = mserver.kasten("user", "alias", "del", a, check=False)
    assert r.returncode == 1 and b"is an account, not an alias" in r.stderr, r.stderr
    assert row(mserver, a) is not None


def test_alias_of_deleted_account_leaves_the_list(mserver):
    a = unique_user("owner")
    mserver.user_add(a, PASSWORD)
    al = unique_user("al")
    mserver.kasten("user", "alias", "add", al, a)
    mserver.kasten("user", "del", a)
    assert al not in alias_rows(mserver)


# ---- `user list` shows the message quota ----

def test_user_list_shows_message_quota(mserver):
    a = unique_user("mq")
    mserver.user_add(a, PASSWORD, quota="1M")
    out = mserver.kasten("user", "list").stdout.decode()
    assert out.splitlines()[0].split()[-1] == "MSG-QUOTA", out
    assert row(mserver, a)["fields"][4] == "unlimited"
    mserver.kasten("user", "set", a, "quota_messages=7")
    r = row(mserver, a)
    assert r["fields"][4] == "7", r["raw"]
    # the first four columns keep their meaning
    assert size_matches(r["quota"], 1 << 20) and r["count"] == "0"
    mserver.kasten("user", "set", a, "quota_messages=0")
    assert row(mserver, a)["fields"][4] == "unlimited"


# ---- `kasten export`: envelope sender and one line-ending convention (LF) ----

def test_export_from_line_carries_the_envelope_sender(mserver):
    a = unique_user("exp")
    mserver.user_add(a, PASSWORD)
    assert deliver(mserver, a, make_message("one", rcpt=a), sender="alice@sender.invalid") == 250
    assert deliver(mserver, a, make_message("two", rcpt=a), sender="") == 250
    data = mserver.export(a)
    froms = [line for line in data.split(b"\n") if line.startswith(b"From ")]
    assert len(froms) == 2, data
    assert froms[0].startswith(b"From alice@sender.invalid "), froms
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
    senders = {"first": "alice@sender.invalid", "second": "", "third": "bob@b.invalid"}
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


def test_init_prints_every_listener_of_the_embedded_default(tmp_path):
    """`make run` runs `kasten init`: it must tell how to reach every listener that
    `kasten serve` then opens, the HTTP ones included (docs/config.md defaults)."""
    r = subprocess.run([kasten_bin(), "init", "--data", str(tmp_path / "d")],
                       capture_output=True, timeout=60, check=True)
    out = r.stdout.decode()
    for name, port in (("IMAP", 1143), ("IMAPS", 1993), ("POP3", 1110), ("POP3S", 1995),
                       ("SMTP submit", 1587), ("SMTPS", 1465), ("SMTP in", 2525),
                       ("LMTP", 2424), ("HTTP", 8080), ("HTTPS", 8443), ("admin", 9090)):
        assert re.search(rf"^  {re.escape(name)} +host 127\.0\.0\.1  port {port} ", out,
                         re.M), (name, out)
    assert "demo@localhost   password: " in out
