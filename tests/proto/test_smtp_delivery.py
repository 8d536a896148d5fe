"""What happens to mail after the envelope is accepted, against a real `kasten serve`:
results at commit (nothing acknowledged may be lost, RFC 5321 3.3 / 6.1), postmaster
(RFC 5321 4.5.1), who may send (RFC 6409 6.1, RFC 5322 3.6.2), and the log lines an
admin reads.

Failures at commit are injected from outside, without test switches in the binary: while
the server runs, one account's <data>/accounts/<id>/msg directory is replaced by a
regular file, so linking the message into it fails (tests run as root, so permissions
would not stop the server)."""

import base64
import os
import re
import time
from pathlib import Path

import pytest

from kasten_test import (DOMAIN, HOSTNAME, RawSMTP, assert_delivered, dot_stuff,
                         make_message, unique_user)

PASSWORD = "Delivery-pass-77"
PM = f"pm-{os.getpid()}@{DOMAIN}"
KASTEN_CONFIG = {"server": {"postmaster": PM}}


def user(server, prefix="p", quota=None):
    a = unique_user(prefix)
    server.user_add(a, PASSWORD, quota=quota)
    return a


@pytest.fixture(scope="module")
def postmaster(module_server):
    """The configured [server] postmaster account, made once per server."""
    module_server.user_add(PM, PASSWORD)
    return PM


def raw(server, port="smtp"):
    r = RawSMTP(server.host, server.ports[port], timeout=30)
    assert r.reply()[0] == 220
    assert r.cmd(("LHLO" if port == "lmtp" else "EHLO") + " client.test")[0] == 250
    return r


def login(r, address):
    token = base64.b64encode(f"\0{address}\0{PASSWORD}".encode()).decode()
    assert r.cmd(f"AUTH PLAIN {token}")[0] == 235


def enh(reply):
    code, lines = reply
    return code, lines[0].split(" ", 1)[0]


def transaction(r, sender, rcpts, msg, port="smtp"):
    """MAIL, RCPT (each must be accepted), DATA; the final reply or replies."""
    assert r.cmd(f"MAIL FROM:<{sender}>")[0] == 250
    for a in rcpts:
        code, lines = r.cmd(f"RCPT TO:<{a}>")
        assert code == 250, (a, code, lines)
    assert r.cmd("DATA")[0] == 354
    r.send(dot_stuff(msg))
    return [r.reply() for _ in (rcpts if port == "lmtp" else [0])]


def account_dir(server, address):
    """<data>/accounts/<id> of an account made now: the directory `user add` creates."""
    accounts = server.data / "accounts"
    before = set(os.listdir(accounts)) if accounts.exists() else set()
    server.user_add(address, PASSWORD)
    (new,) = set(os.listdir(accounts)) - before
    return accounts / new


class BrokenMsgDir:
    """Replace an account's msg/ directory by a regular file while the server runs, so
    that link() into it fails at commit (ENOTDIR: a temporary I/O error)."""

    def __init__(self, acct_dir):
        self.msg = Path(acct_dir) / "msg"
        self.saved = Path(acct_dir) / "msg.saved"

    def __enter__(self):
        assert self.msg.is_dir()
        self.msg.rename(self.saved)
        self.msg.write_bytes(b"not a directory\n")
        return self

    def __exit__(self, *exc):
        self.msg.unlink()
        self.saved.rename(self.msg)


def log_since(server, mark):
    return server.log_bytes()[mark:].decode("utf-8", "replace")


# ---- results at commit: nothing acknowledged may be lost ----

@pytest.mark.parametrize("port", ["smtp", "submission"])
def test_one_recipient_fails_temporarily_at_commit_451_whole_transaction(server, port):
    """A recipient whose copy could not be stored must not be acknowledged: with one
    reply for all (RFC 5321 3.3, 4.2.5), the whole transaction is answered 451 and the
    client retries; the recipients stored already get a duplicate, none loses a copy."""
    a, c = user(server), user(server)
    b = unique_user("broken")
    b_dir = account_dir(server, b)
    sender = user(server) if port == "submission" else "x@sender.invalid"
    msg = make_message("commit failure", sender=sender, rcpt=a)
    mark = server.log_mark()
    with raw(server, port) as r:
        if port == "submission":
            login(r, sender)
        with BrokenMsgDir(b_dir):
            (reply,) = transaction(r, sender, [a, b, c], msg)
            assert enh(reply) == (451, "4.3.0"), reply
            assert b in reply[1][0]
        # the retry (the client's job after a 4xx) reaches everyone
        (reply,) = transaction(r, sender, [a, b, c], msg)
        assert reply[0] == 250
    assert len(server.messages(b)) == 1
    for x in (a, c):
        copies = server.messages(x)
        assert len(copies) == 2  # a duplicate, the lesser evil
        for m in copies:
            assert_delivered(m, msg, sender)
    log = log_since(server, mark)
    assert re.search(rf"delivery id=\S+ from=<{re.escape(sender)}> size=\d+ nrcpt=3 "
                     rf"reply=451 rcpts=<{re.escape(a)}>=ok,<{re.escape(b)}>=temp,"
                     rf"<{re.escape(c)}>=ok", log), log
    if port == "submission":  # no DSN for a temporary failure: the client retried
        assert server.messages(sender) == []


def test_lmtp_commit_failure_reported_for_that_recipient_rfc2033_section_4_2(server):
    a = user(server)
    b = unique_user("broken")
    b_dir = account_dir(server, b)
    msg = make_message("lmtp commit failure", rcpt=a)
    with raw(server, "lmtp") as r, BrokenMsgDir(b_dir):
        replies = transaction(r, "x@sender.invalid", [a, b], msg, port="lmtp")
    assert [enh(x) for x in replies] == [(250, "2.0.0"), (451, "4.3.0")]
    assert len(server.messages(a)) == 1
    assert server.messages(b) == []


def test_recipient_gone_before_commit_accepted_with_dsn(server):
    """A permanent failure at commit (the account was deleted after RCPT) while other
    copies were stored: a 5xx would bounce the message for the recipients that have it,
    so the answer is 250 and the remote sender gets a DSN (RFC 3464) for the one that
    failed through the outbound queue, queued before the 250 (issue 9 item 3)."""
    a, b = user(server), user(server)
    msg = make_message("gone", rcpt=a)
    mark = server.log_mark()
    with raw(server) as r:
        assert r.cmd("MAIL FROM:<x@sender.invalid>")[0] == 250
        assert r.cmd(f"RCPT TO:<{a}>")[0] == 250
        assert r.cmd(f"RCPT TO:<{b}>")[0] == 250
        server.kasten("user", "del", b)
        assert r.cmd("DATA")[0] == 354
        r.send(dot_stuff(msg))
        code, lines = r.reply()
        assert code == 250, lines
    assert len(server.messages(a)) == 1
    log = log_since(server, mark)
    assert re.search(r"bounce: qid=\S+ action=failed rcpts=1 to=<x@sender.invalid> "
                     r"via=queue dsn_qid=", log), log


# ---- the delivery log line ----

def test_log_delivery_line_lists_every_recipient(mserver):
    """A long recipient list goes on in "continued" lines with the same id: no
    recipient is left out of the log (log lines are cut at 2 KiB)."""
    rcpt = user(mserver)
    mark = mserver.log_mark()
    with raw(mserver) as r:
        msg = make_message("many", rcpt=rcpt)
        assert transaction(r, "many@sender.invalid", [rcpt] * 60, msg)[0][0] == 250
    log = log_since(mserver, mark)
    (qid,) = re.findall(r"delivery id=(\S+) from=<many@sender.invalid> size=\d+ nrcpt=60 "
                        r"reply=250 ", log)
    lines = [l for l in log.splitlines() if f"delivery id={qid} " in l]
    assert len(lines) >= 2, lines
    assert sum(l.count(f"<{rcpt}>=ok") for l in lines) == 60
    assert len(mserver.messages(rcpt)) == 1  # one account: stored once


# ---- postmaster (RFC 5321 4.5.1) ----

def test_postmaster_without_domain_and_in_every_local_domain_rfc5321_section_4_5_1(
        mserver, postmaster):
    other = unique_user("pmdom").replace(DOMAIN, "other-domain.test")
    mserver.user_add(other, PASSWORD)  # makes other-domain.test a local domain
    rcpts = ["postmaster", "Postmaster", "POSTMASTER@" + DOMAIN,
             "postmaster@other-domain.test", f"postmaster@{HOSTNAME}"]
    before = len(mserver.messages(postmaster))
    with raw(mserver) as r:
        for rc in rcpts:
            msg = make_message(f"to {rc}", rcpt=rc)
            (reply,) = transaction(r, "x@sender.invalid", [rc], msg)
            assert reply[0] == 250, (rc, reply)
        # a remote domain's postmaster is still not ours to take (no relay)
        assert r.cmd("MAIL FROM:<x@sender.invalid>")[0] == 250
        assert enh(r.cmd("RCPT TO:<postmaster@remote.invalid>")) == (550, "5.7.1")
    assert len(mserver.messages(postmaster)) == before + len(rcpts)


def test_postmaster_alias_of_a_domain_wins(mserver, postmaster):
    owner = user(mserver)
    dom = f"d{os.getpid()}x{time.time_ns()}.test"
    mserver.kasten("user", "alias", "add", f"postmaster@{dom}", owner)
    msg = make_message("domain postmaster", rcpt=f"postmaster@{dom}")
    with raw(mserver) as r:
        (reply,) = transaction(r, "x@sender.invalid", [f"Postmaster@{dom}"], msg)
        assert reply[0] == 250
    assert len(mserver.messages(owner)) == 1


def test_full_postmaster_is_deferred_never_refused_rfc5321_section_4_5_1(server):
    """Decided: the store enforces quota at commit, so a full postmaster mailbox cannot
    take mail; it answers 452 4.2.2 (the sender retries while the admin makes room)
    instead of 552, which would make postmaster unreachable for good."""
    server.user_add(PM, PASSWORD, quota="10K")
    filler = make_message("filler", body=b"f" * 20000 + b"\r\n")
    server.kasten("user", "quota", PM, "100K")
    with raw(server) as r:
        assert transaction(r, "x@sender.invalid", ["postmaster"], filler)[0][0] == 250
    server.kasten("user", "quota", PM, "10K")
    with raw(server) as r:
        assert r.cmd("MAIL FROM:<x@sender.invalid>")[0] == 250
        assert enh(r.cmd("RCPT TO:<postmaster>")) == (452, "4.2.2")
        assert enh(r.cmd(f"RCPT TO:<postmaster@{DOMAIN}>")) == (452, "4.2.2")


@pytest.mark.kasten(config={"server": {"postmaster": None}})
def test_default_postmaster_is_postmaster_at_hostname(server):
    pm = f"postmaster@{HOSTNAME}"
    mark = server.log_mark()
    with raw(server) as r:
        assert r.cmd("MAIL FROM:<x@sender.invalid>")[0] == 250
        # no such account yet: refused, and the log says what to configure
        assert enh(r.cmd("RCPT TO:<postmaster>")) == (550, "5.1.1")
    assert "[server] postmaster" in log_since(server, mark)
    server.user_add(pm, PASSWORD)
    a = user(server)  # makes DOMAIN local
    with raw(server) as r:
        msg = make_message("default pm", rcpt="postmaster")
        assert transaction(r, "x@sender.invalid", ["postmaster", f"postmaster@{DOMAIN}"],
                           msg)[0][0] == 250
    assert len(server.messages(pm)) == 1
    assert server.messages(a) == []


def test_dsn_and_quota_warning_come_from_the_postmaster(mserver, postmaster):
    """RFC 3464 2: a DSN has the null envelope sender (Return-Path: <>); its From: and a
    quota warning's must reach a person: the configured postmaster."""
    sender, full = user(mserver), user(mserver, quota="100K")
    filler = make_message("fill", body=(b"h" * 998 + b"\r\n") * 95, rcpt=full)  # ~95 %
    with raw(mserver) as r:
        assert transaction(r, "w@sender.invalid", [full], filler)[0][0] == 250
    # the warning is stored on its own after the filler's 250: wait for it (the filler
    # and the warning) before the quota shrinks, or the smaller quota refuses it
    warning = [m for m in mserver.wait_messages(full, 2, timeout=60)
               if b"Auto-Submitted: auto-generated" in m]
    assert len(warning) == 1
    mserver.kasten("user", "quota", full, "4K")
    with raw(mserver, "submission") as r:
        login(r, sender)
        msg = make_message("dsn from", sender=sender, rcpt=full)
        assert transaction(r, sender, [full], msg)[0][0] == 250
    (dsn,) = mserver.wait_messages(sender, 1, timeout=60)
    for m in (dsn, warning[0]):
        assert m.startswith(b"Return-Path: <>\r\n")
        head = m.split(b"\r\n\r\n", 1)[0]
        assert re.search(rb"\r\nFrom: [^\r\n]*<" + re.escape(PM.encode()) + rb">\r\n", head), head


# ---- who may send ----

@pytest.mark.parametrize("sender", [f"someone@{DOMAIN}", f"x@{HOSTNAME}",
                                    f"Someone@{DOMAIN.upper()}"])
def test_smtp_local_sender_without_auth_refused_550_5_7_1(mserver, sender):
    user(mserver)  # DOMAIN is local
    with raw(mserver) as r:
        assert enh(r.cmd(f"MAIL FROM:<{sender}>")) == (550, "5.7.1")
        assert r.cmd("MAIL FROM:<>")[0] == 250  # RFC 5321 4.5.5: bounces always
        assert r.cmd("RSET")[0] == 250
        assert r.cmd("MAIL FROM:<x@sender.invalid>")[0] == 250
    with raw(mserver, "lmtp") as r:  # an MTA in front has decided already
        assert r.cmd(f"MAIL FROM:<{sender}>")[0] == 250


@pytest.mark.kasten(config={"smtp": {"allow_local_sender": "yes"}})
def test_smtp_local_sender_allowed_by_config(server):
    rcpt = user(server)
    msg = make_message("local sender", sender=rcpt, rcpt=rcpt)
    with raw(server) as r:
        assert transaction(r, rcpt, [rcpt], msg)[0][0] == 250


def submit(server, account, from_header, rcpt, envelope=None):
    msg = (f"From: {from_header}\r\nTo: <{rcpt}>\r\nSubject: from check\r\n\r\nhi\r\n"
           .encode() if from_header is not None
           else f"To: <{rcpt}>\r\nSubject: no from\r\n\r\nhi\r\n".encode())
    with raw(server, "submission") as r:
        login(r, account)
        assert r.cmd(f"MAIL FROM:<{envelope or account}>")[0] == 250
        assert r.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send(dot_stuff(msg))
        return r.reply()


def test_submission_header_from_must_be_owned_rfc5322_section_3_6_2(mserver):
    a, b, rcpt = user(mserver), user(mserver), user(mserver)
    alias = unique_user("fromalias")
    mserver.kasten("user", "alias", "add", alias, a)
    ok = [f"<{a}>", f"Me <{a}>", a, f'"A, B" <{a}>, {alias}', f"{a.upper()}",
          f"Me <{a}>,\r\n\tAlias <{alias}>", f"{a} (comment)"]
    for h in ok:
        assert submit(mserver, a, h, rcpt)[0] == 250, h
    bad = [f"<{b}>", f"Me <{a}>, <{b}>", "<someone@remote.invalid>", "undisclosed:;",
           f"{a.split('@')[0]}", ""]
    for h in bad:
        code, lines = submit(mserver, a, h, rcpt)
        assert (code, lines[0].split()[0]) == (550, "5.7.1"), (h, code, lines)
    code, lines = submit(mserver, a, None, rcpt)
    assert (code, lines[0].split()[0]) == (550, "5.7.1")
    assert "From:" in lines[0]
    assert len(mserver.messages(rcpt)) == len(ok)


def test_submission_two_from_fields_refused_rfc5322_section_3_6(mserver):
    a, rcpt = user(mserver), user(mserver)
    with raw(mserver, "submission") as r:
        login(r, a)
        msg = make_message("two froms", sender=a, rcpt=rcpt, extra=b"From: <x@evil.invalid>\r\n")
        (reply,) = transaction(r, a, [rcpt], msg)
        assert enh(reply) == (550, "5.7.1")
    assert mserver.messages(rcpt) == []


@pytest.mark.kasten(config={"submission": {"check_from": "no"}})
def test_submission_from_check_can_be_switched_off(server):
    a, rcpt = user(server), user(server)
    assert submit(server, a, "<someone@remote.invalid>", rcpt)[0] == 250
    assert len(server.messages(rcpt)) == 1


# ---- the log an admin reads ----

def test_log_refused_recipients_and_delivery_line(mserver):
    full = user(mserver, quota="1K")
    filler = make_message("filler", body=b"q" * 2000 + b"\r\n")
    mserver.kasten("user", "quota", full, "100K")
    with raw(mserver) as r:
        assert transaction(r, "l@sender.invalid", [full], filler)[0][0] == 250
    mserver.kasten("user", "quota", full, "1K")
    ok = user(mserver)
    mark = mserver.log_mark()
    with raw(mserver) as r:
        assert r.cmd("MAIL FROM:<log@sender.invalid> SMTPUTF8")[0] == 250
        # client strings are escaped in the log
        assert r.cmd(f"RCPT TO:<n\u00f6body@{DOMAIN}>")[0] == 550
        assert r.cmd(f"RCPT TO:<nobody-{os.getpid()}@{DOMAIN}>")[0] == 550
        assert r.cmd("RCPT TO:<victim@remote.invalid>")[0] == 550
        assert r.cmd(f"RCPT TO:<{full}>")[0] == 552
        assert r.cmd(f"RCPT TO:<{ok}>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        msg = make_message("logged", rcpt=ok)
        r.send(dot_stuff(msg))
        assert r.reply()[0] == 250
    log = log_since(mserver, mark)
    assert f"to=<n\\xc3\\xb6body@{DOMAIN}> reason=unknown" in log, log
    for to, reason, code in ((f"nobody-{os.getpid()}@{DOMAIN}", "unknown", 550),
                             ("victim@remote.invalid", "relay", 550), (full, "quota", 552)):
        assert re.search(rf"rcpt refused from=<log@sender.invalid> to=<{re.escape(to)}> "
                         rf"reason={reason} code={code}", log), (to, log)
    (stored,) = mserver.messages(ok)
    m = re.search(rf"delivery id=\S+ from=<log@sender.invalid> size=(\d+) nrcpt=1 reply=250 "
                  rf"rcpts=<{re.escape(ok)}>=ok", log)
    assert m, log
    assert int(m.group(1)) == len(stored)

