"""Submission into the outbound queue (issue 9 items 1, 3, 4, 7), seen from the client
and from the queue's rows: remote recipients queued beside local copies in one group
commit, the 250 only after the rows are on disk (kill -9 right after it), RFC 3461 DSN
parameters into the rows, RFC 8689 REQUIRETLS only over TLS, the DKIM lines stored in
the row (verified by dkimpy) while local copies stay unsigned, the abuse limits, port 25
never relaying, and port 25 accepting a message for the recipients whose mailbox can
take it with a DSN for the full one.

The remote destination far.test has its MX on 127.0.0.9 where nothing listens: the
engine's attempts are refused and the recipients stay queued (deferred), so the rows
can be read at leisure."""

import base64
import re
import sqlite3

import pytest

from kasten_test import DOMAIN, RawSMTP, dot_stuff, make_message
from outbound_test import remote_host, submit

dkim = pytest.importorskip("dkim")  # python3-dkim: scripts/install-deps.sh check

FAR = "far.test"
LOCAL2 = f"local2@{DOMAIN}"
PASSWORD2 = "Local2-pass-1"


@pytest.fixture
def far(zone):
    """far.test: an MX that refuses connections, so queued mail stays queued."""
    zone.mx(FAR, [(10, f"mx.{FAR}")])
    zone.a(f"mx.{FAR}", remote_host(9))
    return zone


def queue_rows(server):
    """[(msg row dict, [rcpt row dicts])] of the server's queue.db, oldest first."""
    db = sqlite3.connect(str(server.data / "queue" / "queue.db"), timeout=10)
    db.row_factory = sqlite3.Row
    try:
        out = []
        for m in db.execute("SELECT * FROM msg ORDER BY id"):
            rc = db.execute("SELECT * FROM rcpt WHERE msg_id = ? ORDER BY id", (m["id"],))
            out.append((dict(m), [dict(r) for r in rc]))
        return out
    finally:
        db.close()


def queue_file(server, msg):
    return (server.data / "queue" / "msg" / msg["qid"]).read_bytes()


def raw_login(server, user=None, password=None, port="submission"):
    r = RawSMTP(*server.addr(port))
    assert r.reply()[0] == 220
    assert r.cmd("EHLO client.test")[0] == 250
    cred = base64.b64encode(f"\0{user or server.user}\0{password or server.password}"
                            .encode()).decode()
    assert r.cmd(f"AUTH PLAIN {cred}")[0] == 235
    return r


def enh(reply):
    code, lines = reply
    return code, lines[0].split(" ", 1)[0]


def dkim_records(server):
    """name -> TXT text of `kasten dns example.test` (the keys the fixture made)."""
    recs = {}
    for line in server.kasten("dns", DOMAIN).stdout.decode().splitlines():
        if " TXT " not in line or "_domainkey" not in line:
            continue
        strings = re.findall(r'"((?:[^"\\]|\\.)*)"', line)
        recs[line.split()[0].rstrip(".") + "."] = "".join(strings).encode()
    return recs


# ---- queued beside the local copies (issue 9 item 1, RFC 6409) ----

def test_remote_and_local_recipients_one_message_dkim_in_row_only(far, outbound_server):
    k = outbound_server()
    k.user_add(LOCAL2, PASSWORD2)
    msg = make_message("mixed", sender=k.user, rcpt=f"a@{FAR}")
    assert submit(k, [f"a@{FAR}", LOCAL2, f"b@{FAR}"], msg) == {}
    [(m, rcpts)] = queue_rows(k)
    assert m["sender"] == k.user and m["account_id"] > 0 and m["kind"] == 0
    # what the administrator sees (issue 9 item 6)
    listing = k.kasten("queue", "list").stdout.decode()
    [line] = [l for l in listing.splitlines() if l.startswith(m["qid"])]
    assert f"<{k.user}>" in line and f"a@{FAR}" in line and f"b@{FAR}" in line
    assert [r["address"] for r in rcpts] == [f"a@{FAR}", f"b@{FAR}"]
    assert all(r["domain"] == FAR for r in rcpts)
    data = queue_file(k, m)
    assert m["size"] == len(data) and data.endswith(msg)
    # RFC 6376: one signature per key (RSA and ed25519, RFC 8463), in the row only
    lines = m["dkim_header"].encode()
    assert len(re.findall(rb"(?m)^DKIM-Signature:", lines)) == 2
    assert b"DKIM-Signature" not in data
    signed = lines + data
    recs = dkim_records(k)
    d = dkim.DKIM(signed)
    for i in range(2):
        assert d.verify(idx=i, dnsfunc=lambda name, timeout=5: recs.get(name.decode()))
    # the local copy: the same message, unsigned (like Postfix + OpenDKIM local delivery)
    [local] = k.wait_messages(LOCAL2, 1)
    assert local.endswith(msg) and b"DKIM-Signature" not in local


def test_only_remote_recipients(far, outbound_server):
    k = outbound_server(dkim=False)
    msg = make_message("remote only", sender=k.user, rcpt=f"a@{FAR}")
    assert submit(k, [f"a@{FAR}"], msg) == {}
    [(m, [r])] = queue_rows(k)
    assert r["address"] == f"a@{FAR}" and m["dkim_header"] is None  # no keys: unsigned
    assert queue_file(k, m).endswith(msg)


def test_250_only_after_queue_on_disk_kill9(far, outbound_server):
    """The issue's durability rule: once the client has the 250, a kill -9 loses nothing:
    after the restart the queue holds the message and its envelope."""
    k = outbound_server()
    msg = make_message("durable", sender=k.user, rcpt=f"a@{FAR}")
    r = raw_login(k)
    assert r.cmd(f"MAIL FROM:<{k.user}>")[0] == 250
    assert r.cmd(f"RCPT TO:<a@{FAR}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(dot_stuff(msg))
    assert enh(r.reply()) == (250, "2.0.0")
    k.kill9()
    r.close()
    k.start()
    [(m, [rc])] = queue_rows(k)
    assert rc["address"] == f"a@{FAR}" and rc["state"] == 0  # still to be sent
    assert queue_file(k, m).endswith(msg)


# ---- RFC 3461 DSN parameters into the rows ----

def test_dsn_parameters_round_trip_into_queue_rfc3461_section_4(far, outbound_server):
    k = outbound_server(dkim=False)
    msg = make_message("dsn params", sender=k.user, rcpt=f"a@{FAR}")
    r = raw_login(k)
    # syntax errors first: 501 5.5.4, nothing accepted (RFC 3461 4.1, 4.3, 4.4)
    assert enh(r.cmd(f"MAIL FROM:<{k.user}> RET=SOME")) == (501, "5.5.4")
    assert enh(r.cmd(f"MAIL FROM:<{k.user}> RET=FULL RET=HDRS")) == (501, "5.5.4")
    assert enh(r.cmd(f"MAIL FROM:<{k.user}> ENVID=a+0Ab")) == (501, "5.5.4")
    assert r.cmd(f"MAIL FROM:<{k.user}> RET=HDRS ENVID=QQ+2B314 BODY=8BITMIME")[0] == 250
    assert enh(r.cmd(f"RCPT TO:<x@{FAR}> NOTIFY=NEVER,DELAY")) == (501, "5.5.4")
    assert enh(r.cmd(f"RCPT TO:<x@{FAR}> ORCPT=rfc822")) == (501, "5.5.4")
    assert enh(r.cmd(f"RCPT TO:<x@{FAR}> NOTIFY=DELAY NOTIFY=DELAY")) == (501, "5.5.4")
    assert r.cmd(f"RCPT TO:<a@{FAR}> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;A+2BB+40{FAR}")[0] \
        == 250
    assert r.cmd(f"RCPT TO:<b@{FAR}> NOTIFY=NEVER")[0] == 250
    assert r.cmd(f"RCPT TO:<c@{FAR}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(dot_stuff(msg))
    assert r.reply()[0] == 250
    r.close()
    [(m, rcpts)] = queue_rows(k)
    assert m["envid"] == "QQ+314"          # xtext decoded
    assert m["ret"] == 1                   # QUEUE_RET_HDRS
    assert m["body"] == 1                  # QUEUE_BODY_8BITMIME
    assert m["requiretls"] == 0 and m["smtputf8"] == 0
    assert [(x["address"], x["notify"], x["orcpt"]) for x in rcpts] == [
        (f"a@{FAR}", 2 | 4, f"rfc822;A+B@{FAR}"),  # SUCCESS|FAILURE
        (f"b@{FAR}", 1, None),                     # NEVER
        (f"c@{FAR}", 0, None),                     # not given
    ]


def test_requiretls_only_over_tls_rfc8689_section_4_1(far, outbound_server):
    k = outbound_server(dkim=False)
    msg = make_message("requiretls", sender=k.user, rcpt=f"a@{FAR}")
    r = raw_login(k)
    code, lines = r.cmd("EHLO client.test")
    assert "REQUIRETLS" not in lines and "DSN" in lines  # RFC 8689 2: not before TLS
    assert enh(r.cmd(f"MAIL FROM:<{k.user}> REQUIRETLS")) == (530, "5.7.10")
    # RFC 3207 4.2: STARTTLS forgets the login made before it
    assert r.cmd("STARTTLS")[0] == 220
    r.starttls()
    code, lines = r.cmd("EHLO client.test")
    assert "REQUIRETLS" in lines
    cred = base64.b64encode(f"\0{k.user}\0{k.password}".encode()).decode()
    assert r.cmd(f"AUTH PLAIN {cred}")[0] == 235
    assert r.cmd(f"MAIL FROM:<{k.user}> REQUIRETLS")[0] == 250
    assert r.cmd(f"RCPT TO:<a@{FAR}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(dot_stuff(msg))
    assert r.reply()[0] == 250
    r.close()
    [(m, _)] = queue_rows(k)
    assert m["requiretls"] == 1


# ---- never an open relay ----

def test_port25_never_relays_and_submission_needs_auth(far, outbound_server):
    k = outbound_server(dkim=False)
    with RawSMTP(*k.addr("smtp")) as r:
        assert r.reply()[0] == 220
        assert r.cmd("EHLO client.test")[0] == 250
        assert r.cmd("MAIL FROM:<someone@elsewhere.test>")[0] == 250
        assert enh(r.cmd(f"RCPT TO:<a@{FAR}>")) == (550, "5.7.1")
        assert enh(r.cmd(f"RCPT TO:<a@[127.0.0.9]>")) == (550, "5.7.1")
        assert enh(r.cmd(f"RCPT TO:<@{DOMAIN}:a@{FAR}>")) == (550, "5.7.1")  # source route
    with RawSMTP(*k.addr("submission")) as r:
        assert r.reply()[0] == 220
        assert r.cmd("EHLO client.test")[0] == 250
        assert enh(r.cmd(f"MAIL FROM:<{k.user}>")) == (530, "5.7.0")
        assert r.cmd(f"RCPT TO:<a@{FAR}>")[0] == 503
    assert queue_rows(k) == []


# ---- abuse limits (issue 9 item 7) ----

def test_max_recipients_per_message_452_rfc5321_section_4_5_3_1_8(far, outbound_server):
    k = outbound_server(dkim=False, config={"submission": {"max_recipients": "3"}})
    k.user_add(LOCAL2, PASSWORD2)
    msg = make_message("three", sender=k.user, rcpt=f"a@{FAR}")
    r = raw_login(k)
    assert r.cmd(f"MAIL FROM:<{k.user}>")[0] == 250
    assert r.cmd(f"RCPT TO:<a@{FAR}>")[0] == 250
    assert r.cmd(f"RCPT TO:<{LOCAL2}>")[0] == 250
    assert r.cmd(f"RCPT TO:<b@{FAR}>")[0] == 250
    assert enh(r.cmd(f"RCPT TO:<c@{FAR}>")) == (452, "4.5.3")
    assert r.cmd("DATA")[0] == 354
    r.send(dot_stuff(msg))
    assert r.reply()[0] == 250
    r.close()
    [(_, rcpts)] = queue_rows(k)
    assert [x["address"] for x in rcpts] == [f"a@{FAR}", f"b@{FAR}"]


def test_messages_per_hour_per_account_450_4_7_1(far, outbound_server):
    """[submission] max_messages_per_hour = 3: the fourth MAIL of the hour is refused
    (temporarily: the client may try later), another account is not affected."""
    k = outbound_server(dkim=False, config={"submission": {"max_messages_per_hour": "3"}})
    k.user_add(LOCAL2, PASSWORD2)
    r = raw_login(k)
    for i in range(3):
        assert r.cmd(f"MAIL FROM:<{k.user}>")[0] == 250
        assert r.cmd(f"RCPT TO:<a@{FAR}>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send(dot_stuff(make_message(f"rate {i}", sender=k.user, rcpt=f"a@{FAR}")))
        assert r.reply()[0] == 250
    code, lines = r.cmd(f"MAIL FROM:<{k.user}>")
    assert (code, lines[0].split()[0]) == (450, "4.7.1")
    assert "per hour" in lines[0]
    r.close()
    # a new connection of the same account is still over the limit
    r = raw_login(k)
    assert enh(r.cmd(f"MAIL FROM:<{k.user}>")) == (450, "4.7.1")
    r.close()
    r = raw_login(k, LOCAL2, PASSWORD2)
    assert r.cmd(f"MAIL FROM:<{LOCAL2}>")[0] == 250
    r.close()
    assert len(queue_rows(k)) == 3


def test_foreign_from_header_refused_with_remote_recipient(far, outbound_server):
    """[submission] check_from (default yes): a From: the account does not own is
    refused after DATA, so nothing reaches the queue (a forged From: would ride on a
    real account's login and on our DKIM keys)."""
    k = outbound_server()
    msg = make_message("forged", sender="ceo@bank.test", rcpt=f"a@{FAR}")
    r = raw_login(k)
    assert r.cmd(f"MAIL FROM:<{k.user}>")[0] == 250
    assert r.cmd(f"RCPT TO:<a@{FAR}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(dot_stuff(msg))
    code, lines = r.reply()
    assert (code, lines[0].split()[0]) == (550, "5.7.1") and "bank.test" in lines[0]
    r.close()
    assert queue_rows(k) == []


def test_foreign_from_allowed_by_config_is_not_signed(far, outbound_server):
    k = outbound_server(config={"submission": {"check_from": "no"}})
    msg = make_message("not ours", sender="news@bank.test", rcpt=f"a@{FAR}")
    assert submit(k, [f"a@{FAR}"], msg) == {}
    [(m, _)] = queue_rows(k)
    assert m["dkim_header"] is None  # our keys sign only our domains


# ---- port 25: accepted for the others, a DSN for the full mailbox (issue 9 item 3) ----

@pytest.mark.parametrize("notify", ["", " NOTIFY=NEVER"])
def test_port25_partial_accept_with_dsn(far, outbound_server, notify):
    k = outbound_server(dkim=False)
    full, ok = f"full@{DOMAIN}", f"fine@{DOMAIN}"
    k.user_add(full, PASSWORD2, quota="2K")
    k.user_add(ok, PASSWORD2)
    sender = f"sender@{FAR}"
    msg = make_message("partial", sender=sender, rcpt=ok, body=b"x" * 4000 + b"\r\n")
    mark = k.log_mark()
    with RawSMTP(*k.addr("smtp")) as r:
        assert r.reply()[0] == 220
        assert r.cmd("EHLO client.test")[0] == 250
        assert r.cmd(f"MAIL FROM:<{sender}>")[0] == 250
        assert r.cmd(f"RCPT TO:<{full}>{notify}")[0] == 250  # size unknown: fits yet
        assert r.cmd(f"RCPT TO:<{ok}>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send(dot_stuff(msg))
        assert enh(r.reply()) == (250, "2.0.0")
    assert len(k.wait_messages(ok, 1)) == 1
    assert k.messages(full) == []
    log = k.log_bytes()[mark:].decode("utf-8", "replace")
    dsns = [(m, rc) for m, rc in queue_rows(k) if m["kind"] == 1]
    if notify:  # RFC 3461 4.1: NEVER asks for no report
        assert dsns == []
        assert re.search(r"bounce: qid=\S+ action=failed no report", log), log
        return
    assert re.search(rf"bounce: qid=\S+ action=failed rcpts=1 to=<{re.escape(sender)}> "
                     r"via=queue", log), log
    [(m, [rc])] = dsns
    assert m["sender"] == "" and rc["address"] == sender  # RFC 5321 4.5.5: null sender
    dsn = queue_file(k, m)
    assert b"Status: 5.2.2" in dsn, dsn
    assert re.search(rb"Final-Recipient: rfc822; ?" + re.escape(full.encode()), dsn), dsn


def test_port25_every_mailbox_full_still_552(far, outbound_server):
    k = outbound_server(dkim=False)
    full = f"full@{DOMAIN}"
    k.user_add(full, PASSWORD2, quota="2K")
    msg = make_message("all full", sender=f"sender@{FAR}", rcpt=full,
                       body=b"x" * 4000 + b"\r\n")
    with RawSMTP(*k.addr("smtp")) as r:
        assert r.reply()[0] == 220
        assert r.cmd("EHLO client.test")[0] == 250
        assert r.cmd(f"MAIL FROM:<sender@{FAR}>")[0] == 250
        assert r.cmd(f"RCPT TO:<{full}>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send(dot_stuff(msg))
        assert enh(r.reply()) == (552, "5.2.2")
    assert queue_rows(k) == []


def test_submission_full_local_mailbox_notify_never_no_dsn(far, outbound_server):
    """Submission answers 250 and reports a local failure by DSN (RFC 3464) into the
    sender's INBOX, unless the recipient's NOTIFY=NEVER (RFC 3461 4.1) says not to."""
    k = outbound_server(dkim=False)
    full = f"full@{DOMAIN}"
    k.user_add(full, PASSWORD2, quota="2K")
    for notify, want in (("NEVER", 0), ("FAILURE", 1)):
        before = len(k.messages(k.user))
        msg = make_message(f"to full {notify}", sender=k.user, rcpt=full,
                           body=b"x" * 4000 + b"\r\n")
        assert submit(k, [full, f"a@{FAR}"], msg, rcpt_options=[f"NOTIFY={notify}"]) == {}
        inbox = k.messages(k.user)
        assert len(inbox) == before + want
        if want:
            assert b"Status: 5.2.2" in inbox[-1]


def test_queue_failure_answers_451_for_the_whole_message(far, outbound_server):
    """The queue cannot take the message (its msg/ directory is gone and a file stands
    in its way): the whole message gets 451 4.3.0, nothing is acknowledged, and the
    client's retry succeeds once the queue can take it again (after a restart: the queue
    keeps its directory open)."""
    k = outbound_server(dkim=False)
    k.user_add(LOCAL2, PASSWORD2)
    msgdir = k.data / "queue" / "msg"
    msgdir.rmdir()  # empty: nothing queued yet
    msgdir.write_bytes(b"in the way\n")
    msg = make_message("queue broken", sender=k.user, rcpt=f"a@{FAR}")
    r = raw_login(k)
    assert r.cmd(f"MAIL FROM:<{k.user}>")[0] == 250
    assert r.cmd(f"RCPT TO:<a@{FAR}>")[0] == 250
    assert r.cmd(f"RCPT TO:<{LOCAL2}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(dot_stuff(msg))
    assert enh(r.reply()) == (451, "4.3.0")
    r.close()
    assert queue_rows(k) == []
    msgdir.unlink()
    k.restart()
    r = raw_login(k)
    assert r.cmd(f"MAIL FROM:<{k.user}>")[0] == 250
    assert r.cmd(f"RCPT TO:<a@{FAR}>")[0] == 250
    assert r.cmd(f"RCPT TO:<{LOCAL2}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(dot_stuff(msg))
    assert r.reply()[0] == 250
    r.close()
    [(m, [rc])] = queue_rows(k)
    assert rc["address"] == f"a@{FAR}" and queue_file(k, m).endswith(msg)
    # the local recipient got the first attempt's copy too: a duplicate, never a loss
    assert len(k.messages(LOCAL2)) == 2


@pytest.mark.parametrize("port", ["smtp", "lmtp"])
def test_dsn_offered_and_accepted_on_port25_and_lmtp(far, outbound_server, port):
    """RFC 3461 on port 25 and on LMTP (RFC 2033 4.1 allows extensions): DSN offered,
    the parameters accepted for local recipients; REQUIRETLS not offered without TLS
    (and never on LMTP, a local hop)."""
    k = outbound_server(dkim=False, listen=("smtp", "submission", "lmtp"))
    k.user_add(LOCAL2, PASSWORD2)
    msg = make_message("dsn params local", sender=f"x@{FAR}", rcpt=LOCAL2)
    with RawSMTP(*k.addr(port)) as r:
        assert r.reply()[0] == 220
        code, lines = r.cmd(("LHLO" if port == "lmtp" else "EHLO") + " client.test")
        assert code == 250 and "DSN" in lines and "REQUIRETLS" not in lines
        assert r.cmd(f"MAIL FROM:<x@{FAR}> RET=FULL ENVID=e1")[0] == 250
        assert r.cmd(f"RCPT TO:<{LOCAL2}> NOTIFY=SUCCESS ORCPT=rfc822;{LOCAL2}")[0] == 250
        assert enh(r.cmd(f"RCPT TO:<{LOCAL2}> NOTIFY=NEVER,FAILURE")) == (501, "5.5.4")
        assert r.cmd("DATA")[0] == 354
        r.send(dot_stuff(msg))
        assert r.reply()[0] == 250
        if port == "lmtp":
            assert enh(r.cmd(f"MAIL FROM:<x@{FAR}> REQUIRETLS")) == (555, "5.5.4")
    assert len(k.wait_messages(LOCAL2, 1)) == 1
