"""Delivery status notifications (RFC 3464 in an RFC 6522 multipart/report) made by a
real `kasten serve` for mail it accepted and then could not deliver, read back from the
sender's INBOX with tests/dsn_parse.py: the report's header fields (RFC 3464 2, RFC 3834
5), the per-message (2.2) and per-recipient (2.3) fields, the returned original (RFC 3461
4.3 RET=HDRS / RET=FULL, byte-exact), the RFC 6533 forms for SMTPUTF8 mail, and the
cases where no report may be made (RFC 3461 4.1 NOTIFY=NEVER, a report about a report).

A full mailbox is the failure: its quota is lowered below its usage after RCPT's check
would pass, so the commit refuses it while the message is accepted (250) for the
sender. The report is stored before that 250 (docs/operations.md, Bounces), so a
later transaction's report is a barrier: once it is there, an earlier one that was
due would be there too."""

import base64
import email.utils
import os
import re

import dkim
import pytest

from dsn_parse import parse_dsn
from kasten_test import DOMAIN, HOSTNAME, RawSMTP, dot_stuff, make_message, unique_user

PASSWORD = "Bounce-pass-31"
PM = f"pm-bounce-{os.getpid()}@{DOMAIN}"
KASTEN_CONFIG = {"server": {"postmaster": PM}}


def user(server, quota=None):
    a = unique_user("b")
    server.user_add(a, PASSWORD, quota=quota)
    return a


def full_user(server):
    """An account that takes nothing more: 4K quota over 8K of mail."""
    a = user(server, quota="100K")
    filler = make_message("fill", body=(b"f" * 998 + b"\r\n") * 8, sender=a, rcpt=a)
    with submission(server, a) as r:
        assert send(r, a, [a], filler)[0] == 250
    server.kasten("user", "quota", a, "4K")
    return a


class submission:
    """An authenticated submission session (RFC 6409) as `sender`."""

    def __init__(self, server, sender):
        self.r = RawSMTP(server.host, server.ports["submission"], timeout=60)
        assert self.r.reply()[0] == 220
        code, lines = self.r.cmd("EHLO client.test")
        assert code == 250 and "DSN" in lines, lines  # RFC 3461 4
        token = base64.b64encode(f"\0{sender}\0{PASSWORD}".encode()).decode()
        assert self.r.cmd(f"AUTH PLAIN {token}")[0] == 235

    def __enter__(self):
        return self.r

    def __exit__(self, *a):
        self.r.close()


def send(r, sender, rcpts, msg, mail_params="", rcpt_params=None):
    """One transaction; every RCPT must be accepted. The final reply (code, lines)."""
    assert r.cmd(f"MAIL FROM:<{sender}>{mail_params}")[0] == 250
    for i, a in enumerate(rcpts):
        p = rcpt_params[i] if rcpt_params else ""
        code, lines = r.cmd(f"RCPT TO:<{a}>{p}")
        assert code == 250, (a, code, lines)
    assert r.cmd("DATA")[0] == 354
    r.send(dot_stuff(msg))
    return r.reply()


def qid_of(reply):
    m = re.search(r"queued as (\S+)", reply[1][-1])
    assert m, reply
    return m.group(1)


def reports(server, address, n):
    msgs = server.wait_messages(address, n, timeout=60)
    assert len(msgs) == n, f"{len(msgs)} messages, want {n}"
    return [parse_dsn(m) for m in msgs]


def header_section(msg):
    return msg.split(b"\r\n\r\n", 1)[0] + b"\r\n"


def test_submission_failure_report_fields_rfc3464(mserver):
    """One recipient's mailbox is full at the commit: the sender gets one report naming
    only that recipient, with every field RFC 3464 asks of a failure."""
    sender, ok, full = user(mserver), user(mserver), full_user(mserver)
    msg = make_message("report fields", sender=sender, rcpt=full)
    with submission(mserver, sender) as r:
        reply = send(r, sender, [ok, full], msg, " RET=HDRS ENVID=QQ+2Bx-1",
                     ["", f" NOTIFY=FAILURE ORCPT=rfc822;Orig+2Bfull@{DOMAIN}"])
        assert reply[0] == 250, reply
    qid = qid_of(reply)
    (raw,) = mserver.wait_messages(sender, 1, timeout=60)
    dsn = parse_dsn(raw)
    # RFC 3464 2, RFC 5321 4.5.5: the null reverse path; a postmaster who reads replies
    assert raw.startswith(b"Return-Path: <>\r\n")
    assert dsn.header("From") == f"MAILER-DAEMON <{PM}>"
    assert dsn.header("To") == f"<{sender}>"
    assert dsn.subject == "Undelivered Mail Returned to Sender"
    assert dsn.header("Auto-Submitted") == "auto-replied"  # RFC 3834 5
    orig_id = re.search(rb"Message-ID: (<[^>]+>)", msg).group(1).decode()
    assert dsn.header("In-Reply-To") == orig_id
    assert dsn.header("References") == orig_id
    assert re.fullmatch(r"<[^<>@\s]+@[^<>\s]+>", dsn.header("Message-ID"))
    assert email.utils.parsedate_to_datetime(dsn.header("Date"))
    # RFC 6522 3: the human part, then the status, then the original
    assert dsn.report_type == "delivery-status"
    assert dsn.text_type == "text/plain"
    assert dsn.status_type == "message/delivery-status"
    assert qid in dsn.text
    assert f"<{full}>: the mailbox is full" in dsn.text and f"<{ok}>" not in dsn.text
    # RFC 3464 2.2: per message
    pm = dsn.per_message
    assert pm["reporting-mta"] == f"dns; {HOSTNAME}"
    assert pm["original-envelope-id"] == "QQ+x-1"  # RFC 3461 4.4, xtext-decoded
    assert email.utils.parsedate_to_datetime(pm["arrival-date"])
    # RFC 3464 2.3: per recipient, only the failed one
    assert len(dsn.recipients) == 1
    rc = dsn.recipients[0]
    assert rc["final-recipient"] == f"rfc822; {full}"
    assert rc["original-recipient"] == f"rfc822;Orig+full@{DOMAIN}"
    assert rc["action"] == "failed"
    assert rc["status"] == "5.2.2"
    assert rc["diagnostic-code"] == "smtp; 552 5.2.2 Mailbox full"
    assert email.utils.parsedate_to_datetime(rc["last-attempt-date"])
    assert "will-retry-until" not in rc
    # RFC 6522 / 3462: the header section of the original as we received it (our
    # trace fields on top), byte for byte
    assert dsn.original_type == "text/rfc822-headers"
    assert dsn.original.endswith(header_section(msg))
    assert dsn.original.startswith(f"Return-Path: <{sender}>\r\nReceived: ".encode())
    assert b"report fields" in dsn.original and b"Hello." not in dsn.original
    assert len(mserver.messages(ok)) == 1


def test_ret_full_returns_the_whole_message_rfc3461_section_4_3(mserver):
    sender, full = user(mserver), full_user(mserver)
    msg = make_message("ret full", sender=sender, rcpt=full,
                       body=b"first line\r\n.leading dot\r\nlast line\r\n")
    with submission(mserver, sender) as r:
        assert send(r, sender, [full], msg, " RET=FULL")[0] == 250
    (dsn,) = reports(mserver, sender, 1)
    assert dsn.original_type == "message/rfc822"
    assert dsn.original.endswith(msg)  # the body too, dot-unstuffed, exact
    assert "the whole message" in dsn.text


def test_smtputf8_report_uses_global_types_rfc6533(mserver):
    sender, full = user(mserver), full_user(mserver)
    msg = make_message("utf8", sender=sender, rcpt=full,
                       extra="X-Note: Grüße\r\n".encode())
    with submission(mserver, sender) as r:
        assert send(r, sender, [full], msg, " SMTPUTF8")[0] == 250
    (dsn,) = reports(mserver, sender, 1)
    assert dsn.status_type == "message/global-delivery-status"  # RFC 6533 6.1
    assert dsn.original_type == "message/global-headers"        # RFC 6533 6.3
    assert dsn.original.endswith(header_section(msg))
    assert dsn.recipient(full)["status"] == "5.2.2"


def test_notify_never_makes_no_report_rfc3461_section_4_1(mserver):
    """NOTIFY=NEVER: no report. A later transaction with the default NOTIFY is the
    barrier: its report is stored before its 250, so when it is the only one in the
    INBOX, none was made for the first."""
    sender, full1, full2 = user(mserver), full_user(mserver), full_user(mserver)
    with submission(mserver, sender) as r:
        m1 = make_message("never", sender=sender, rcpt=full1)
        assert send(r, sender, [full1], m1, "", [" NOTIFY=NEVER"])[0] == 250
        m2 = make_message("default notify", sender=sender, rcpt=full2)
        assert send(r, sender, [full2], m2)[0] == 250
    (dsn,) = reports(mserver, sender, 1)
    assert [x["final-recipient"] for x in dsn.recipients] == [f"rfc822; {full2}"]
    # SUCCESS alone asks for no failure report either (RFC 3461 4.1)
    with submission(mserver, sender) as r:
        m3 = make_message("success only", sender=sender, rcpt=full1)
        assert send(r, sender, [full1], m3, "", [" NOTIFY=SUCCESS"])[0] == 250
        m4 = make_message("barrier", sender=sender, rcpt=full2)
        assert send(r, sender, [full2], m4)[0] == 250
    dsns = reports(mserver, sender, 2)
    assert all(d.recipients[0]["final-recipient"] == f"rfc822; {full2}" for d in dsns)


def test_no_report_about_a_report_rfc3464_section_2(mserver):
    """A message that is itself a delivery report never gets one (no bounce loop), even
    from a sender who may get reports; a normal message after it shows the barrier."""
    sender, full = user(mserver), full_user(mserver)
    report = make_message("a report", sender=sender, rcpt=full, extra=(
        b"MIME-Version: 1.0\r\nContent-Type: multipart/report;"
        b" report-type=delivery-status;\r\n\tboundary=\"b1\"\r\n"),
        body=b"--b1\r\n\r\ntext\r\n--b1--\r\n")
    with submission(mserver, sender) as r:
        assert send(r, sender, [full], report)[0] == 250
        normal = make_message("not a report", sender=sender, rcpt=full)
        assert send(r, sender, [full], normal)[0] == 250
    (dsn,) = reports(mserver, sender, 1)
    assert b"not a report" in dsn.original


def test_report_for_a_full_sender_is_dropped(mserver):
    """The sender's own mailbox is full too: the report is dropped and logged, never
    retried or reported on (RFC 3461 5.2.2 does not ask for more)."""
    sender, full = full_user(mserver), full_user(mserver)
    before = len(mserver.messages(sender))
    mark = mserver.log_mark()
    with submission(mserver, sender) as r:
        msg = make_message("both full", sender=sender, rcpt=full)
        assert send(r, sender, [full], msg)[0] == 250
    log = mserver.log_bytes()[mark:].decode("utf-8", "replace")
    assert "DSN dropped, sender mailbox full" in log, log
    assert len(mserver.messages(sender)) == before


# ---- a remote sender: the report goes out through the queue ----

def test_report_to_a_remote_sender_is_mailed_from_the_null_sender(zone, smtp_sink,
                                                                   outbound_server):
    """Port 25: one of two local mailboxes is full at the commit. The message is taken
    for the other (250) and the remote sender gets a report by mail: MAIL FROM:<> (RFC
    5321 4.5.5, RFC 3464 2), no Return-Path of ours (RFC 5321 4.4: the final delivery
    adds it), the report's fields as for a local sender."""
    from outbound_test import remote_host
    zone.mx("far.test", [(10, "mx.far.test")])
    zone.a("mx.far.test", remote_host(2))
    sink = smtp_sink(remote_host(2))
    k = outbound_server(config={"server": {"postmaster": PM}})  # DKIM keys for DOMAIN
    ok, full = user(k), user(k, quota="100K")
    filler = make_message("fill", body=(b"f" * 998 + b"\r\n") * 8, sender=full, rcpt=full)
    with submission(k, full) as r:
        assert send(r, full, [full], filler)[0] == 250
    msg = make_message("from afar", sender="alice@far.test", rcpt=full)
    with RawSMTP(k.host, k.ports["smtp"], timeout=60) as r:
        assert r.reply()[0] == 220
        assert r.cmd("EHLO client.far.test")[0] == 250
        assert r.cmd("MAIL FROM:<alice@far.test>")[0] == 250
        assert r.cmd(f"RCPT TO:<{ok}>")[0] == 250
        assert r.cmd(f"RCPT TO:<{full}>")[0] == 250
        k.kasten("user", "quota", full, "4K")  # full between RCPT and the commit
        assert r.cmd("DATA")[0] == 354
        r.send(dot_stuff(msg))
        reply = r.reply()
        assert reply[0] == 250, reply
    (m,) = sink.wait_messages(1, timeout=60)
    assert m.sender == "" and m.rcpts == ["alice@far.test"]
    assert not m.data.startswith(b"Return-Path:")
    dsn = parse_dsn(m.data)
    assert dsn.header("To") == "<alice@far.test>"
    assert dsn.subject == "Undelivered Mail Returned to Sender"
    assert dsn.header("From") == f"MAILER-DAEMON <{PM}>"
    rc = dsn.recipient(full)
    assert (rc["action"], rc["status"]) == ("failed", "5.2.2")
    assert [x["final-recipient"] for x in dsn.recipients] == [f"rfc822; {full}"]
    assert dsn.original.endswith(header_section(msg))
    assert len(k.messages(ok)) == 1
    # RFC 6376: signed for the From: domain, so DMARC at the sender's side passes;
    # python3-dkim verifies it with the records `kasten dns` prints
    keys = {}
    for line in k.kasten("dns", DOMAIN).stdout.decode().splitlines():
        km = re.match(r"(\S+\._domainkey\.\S+)\s+\d+\s+IN\s+TXT\s+(.*)$", line)
        if km:
            keys[km.group(1)] = "".join(re.findall(r'"([^"]*)"', km.group(2)))
    sigs = m.header("DKIM-Signature")
    assert len(sigs) == 2 and all(f"d={DOMAIN};" in x.replace(" ", "") for x in sigs), sigs
    d = dkim.DKIM(m.data)
    for idx in range(len(sigs)):
        assert d.verify(idx=idx, dnsfunc=lambda name, timeout=5: keys.get(
            name.decode() if isinstance(name, bytes) else name, "").encode())
