"""JMAP EmailSubmission (issue 10 item 3; RFC 8621 7): EmailSubmission/set sends an
existing Email through the same checks and pipeline as SMTP submission (src/smtp/
smtp_submit.h): local recipients delivered (read back over IMAP, byte for byte), remote
ones queued and sent (to Postfix's smtp-sink, DKIM-signed), Bcc removed from what is
sent, the envelope made from the header fields, onSuccessUpdateEmail moving the draft
to Sent as an implicit Email/set, the SetErrors of RFC 8621 7.5, the rate limit,
/get, /changes, /query, and isolation between accounts.

Every test talks to a real `kasten serve` over loopback."""

import imaplib
import re
import time

from jmap_test import CORE, MAIL, SUBMISSION, JmapClient
from kasten_test import DOMAIN, HOSTNAME, unique_user

KASTEN_LISTEN = ("smtp", "imap", "http")
KASTEN_CONFIG = {"limits": {"max_unauthenticated_per_ip": 100},
                 "submission": {"max_recipients": "5"}}
PASSWORD = "Jmap-submit-pass-1"
USING = (CORE, MAIL, SUBMISSION)


def user(server, prefix="js", password=PASSWORD):
    a = unique_user(prefix)
    server.user_add(a, password)
    return a


def client(server, a, password=PASSWORD):
    return JmapClient(server, a, password, using=USING)


def draft(frm, to=(), cc=(), bcc=(), subject="Hello", body="Dear friend,\r\nhello.\r\n"):
    h = [f"From: Sender <{frm}>"]
    if to:
        h.append("To: " + ", ".join(to))
    if cc:
        h.append("Cc: " + ", ".join(cc))
    if bcc:
        # folded, so the removal must take the continuation line too (RFC 5322 2.2.3)
        h.append("Bcc: " + ",\r\n ".join(bcc))
    h += [f"Subject: {subject}", "Date: Wed, 02 Dec 2026 07:00:00 +0000",
          f"Message-ID: <{time.monotonic_ns()}@{DOMAIN}>", "MIME-Version: 1.0",
          "Content-Type: text/plain; charset=utf-8"]
    return ("\r\n".join(h) + "\r\n\r\n" + body).encode()


def imap(server, a, password=PASSWORD):
    c = imaplib.IMAP4(server.host, server.ports["imap"], timeout=10)
    c.login(a, password)
    return c


def put_draft(server, c, a, msg):
    """APPEND msg to Drafts as a draft ($draft, RFC 8621 4.1.1); its Email id (the one
    Email there that was not before: receivedAt has whole seconds only)."""
    _, roles = c.mailbox_ids()
    query = {"filter": {"inMailbox": roles["drafts"]}}
    before = set(c.ok("Email/query", query)["ids"])
    i = imap(server, a)
    typ, _ = i.append("Drafts", r"(\Draft)", None, msg)
    assert typ == "OK"
    i.logout()
    new = set(c.ok("Email/query", query)["ids"]) - before
    assert len(new) == 1, new
    return new.pop()


def identity(c, email=None):
    lst = c.ok("Identity/get", {"ids": None})["list"]
    return next(i["id"] for i in lst if email is None or i["email"] == email)


def fetch_all(server, a, password=PASSWORD, n=1, timeout=10):
    """The n messages of a's INBOX, raw, waiting for them (delivery is durable before
    EmailSubmission/set answers; this only waits for nothing)."""
    deadline = time.monotonic() + timeout
    while True:
        i = imap(server, a, password)
        i.select("INBOX")
        _, data = i.uid("SEARCH", None, "ALL")
        uids = data[0].split()
        if len(uids) >= n or time.monotonic() > deadline:
            out = []
            for u in uids:
                _, d = i.uid("FETCH", u, "(BODY.PEEK[])")
                out.append(d[0][1])
            i.logout()
            return out
        i.logout()
        time.sleep(0.1)


def submit(c, email_id, ident, envelope=None, extra=None, cid="s1"):
    obj = {"identityId": ident, "emailId": email_id}
    if envelope is not None:
        obj["envelope"] = envelope
    args = {"create": {cid: obj}}
    args.update(extra or {})
    return c.calls([["EmailSubmission/set", args, "c0"]])


def env(mail_from, *rcpts):
    return {"mailFrom": {"email": mail_from, "parameters": None},
            "rcptTo": [{"email": r, "parameters": None} for r in rcpts]}


def set_error(resp):
    [(name, res, _)] = resp
    assert name == "EmailSubmission/set", res
    assert not res.get("created"), res
    return res["notCreated"]["s1"]


# ---- sending ----

def test_send_local_bcc_removed_and_draft_moved_to_sent(mserver):
    """RFC 8621 7: the envelope from the header fields (From; To, Cc, Bcc), RFC 5322
    3.6.3: the blind copy's address appears in no copy; 7.5 onSuccessUpdateEmail: the
    implicit Email/set after the EmailSubmission/set response."""
    a, b, c_ = user(mserver, "jsa"), user(mserver, "jsb"), user(mserver, "jsc")
    d = user(mserver, "jsd")
    ca = client(mserver, a)
    msg = draft(a, to=[f"B <{b}>"], bcc=[f"Hidden <{c_}>", d])
    eid = put_draft(mserver, ca, a, msg)
    _, roles = ca.mailbox_ids()
    resp = submit(ca, eid, identity(ca), extra={"onSuccessUpdateEmail": {"#s1": {
        "keywords/$draft": None, f"mailboxIds/{roles['drafts']}": None,
        f"mailboxIds/{roles['sent']}": True}}})
    assert [r[0] for r in resp] == ["EmailSubmission/set", "Email/set"], resp
    created = resp[0][1]["created"]["s1"]
    assert re.fullmatch(r"S[0-9]+", created["id"]) and created["undoStatus"] == "final"
    assert resp[1][1]["updated"] == {eid: None}, resp[1]
    assert resp[1][2] == "c0"

    # what each recipient got: our trace fields, then the message without its Bcc
    expect = re.sub(rb"Bcc: [^\r]*\r\n( [^\r]*\r\n)*", b"", msg)
    assert b"Bcc" not in expect and len(expect) < len(msg)
    for rcpt in (b, c_, d):
        [got] = fetch_all(mserver, rcpt)
        head, _, rest = got.partition(b"\r\n\r\n")
        trace = re.match(rb"Return-Path: <([^>]*)>\r\nReceived: by ([^ ]+) \(kasten\) "
                         rb"with JMAP id ([0-9a-f]{12});\r\n\t[^\r]+\r\n", got)
        assert trace, got[:300]
        assert trace.group(1).decode() == a and trace.group(2).decode() == HOSTNAME
        assert got[trace.end():] == expect, got
        assert b"bcc" not in got.lower()

    # the draft is in Sent, no longer a draft
    e = ca.ok("Email/get", {"ids": [eid], "properties": ["mailboxIds", "keywords"]})["list"][0]
    assert e["mailboxIds"] == {roles["sent"]: True}
    assert "$draft" not in e["keywords"]

    # RFC 8621 7.1: the submission as kept
    s = ca.ok("EmailSubmission/get", {"ids": [created["id"]]})["list"][0]
    assert s["emailId"] == eid and s["identityId"] == identity(ca)
    assert s["threadId"] == created["threadId"] and s["undoStatus"] == "final"
    assert s["envelope"] == env(a, b, c_, d)
    assert set(s["deliveryStatus"]) == {b, c_, d}
    for st in s["deliveryStatus"].values():
        assert st["delivered"] == "yes" and st["displayed"] == "unknown", st
        assert st["smtpReply"].startswith("250 ")
    assert s["dsnBlobIds"] == [] and s["mdnBlobIds"] == []


def test_envelope_given_full_mailbox_gets_a_notice(mserver):
    """An explicit envelope wins over the header fields (RFC 8621 7); a full local
    mailbox is delivered "no" and the sender gets a failure notice, as on submission."""
    a, b = user(mserver, "jse"), user(mserver, "jsf")
    full = unique_user("jsfull")
    mserver.user_add(full, PASSWORD, quota="1K")
    ca = client(mserver, a)
    eid = put_draft(mserver, ca, a, draft(a, to=["nobody-in-header@example.invalid"],
                                          body="x" * 2000 + "\r\n"))
    [(_, res, _)] = submit(ca, eid, identity(ca), envelope=env(a, b, full))
    sid = res["created"]["s1"]["id"]
    assert len(fetch_all(mserver, b)) == 1
    st = ca.ok("EmailSubmission/get", {"ids": [sid]})["list"][0]["deliveryStatus"]
    assert st[b]["delivered"] == "yes"
    assert st[full]["delivered"] == "no" and st[full]["smtpReply"].startswith("552 5.2.2")
    notices = fetch_all(mserver, a)
    assert len(notices) == 1 and b"multipart/report" in notices[0], notices


def test_remote_recipient_queued_signed_and_sent(zone, smtp_sink, outbound_server):
    """A remote recipient goes through the outbound queue: DKIM-signed for our domain
    (RFC 6376), Bcc gone, the envelope as derived."""
    zone.mx("dest.test", [(10, "mx.dest.test")])
    zone.a("mx.dest.test", "127.0.0.2")
    sink = smtp_sink("127.0.0.2")
    k = outbound_server(listen=("smtp", "submission", "imap", "http"),
                        config={"limits": {"max_unauthenticated_per_ip": "1000"}})
    c = client(k, k.user, k.password)
    msg = draft(k.user, to=["Far <far@dest.test>"], bcc=["hidden@dest.test"])
    i = imap(k, k.user, k.password)
    assert i.append("Drafts", r"(\Draft)", None, msg)[0] == "OK"
    i.logout()
    _, roles = c.mailbox_ids()
    [eid] = c.ok("Email/query", {"filter": {"inMailbox": roles["drafts"]}})["ids"]
    [(_, res, _)] = submit(c, eid, identity(c))
    sid = res["created"]["s1"]["id"]
    [m] = sink.wait_messages(1)
    assert m.sender == k.user
    assert sorted(m.rcpts) == ["far@dest.test", "hidden@dest.test"]
    assert b"DKIM-Signature:" in m.data and b"hidden@" not in m.data
    assert b"Bcc" not in m.data
    st = c.ok("EmailSubmission/get", {"ids": [sid]})["list"][0]["deliveryStatus"]
    # queued at the send; once the sink took it the queue keeps no row to read
    assert {v["delivered"] for v in st.values()} <= {"queued", "yes", "unknown"}, st


# ---- refusals (RFC 8621 7.5) ----

def test_forbidden_from_and_mail_from(mserver):
    a, b = user(mserver), user(mserver)
    ca = client(mserver, a)
    eid = put_draft(mserver, ca, a, draft("someone@elsewhere.test", to=[b]))
    assert set_error(submit(ca, eid, identity(ca)))["type"] == "forbiddenMailFrom"
    assert set_error(submit(ca, eid, identity(ca), envelope=env(a, b)))["type"] == \
        "forbiddenFrom"
    eid2 = put_draft(mserver, ca, a, draft(a, to=[b]))
    assert set_error(submit(ca, eid2, identity(ca), envelope=env(b, b)))["type"] == \
        "forbiddenMailFrom"
    assert fetch_all(mserver, b, timeout=0) == []


def test_recipient_errors(mserver):
    a, b = user(mserver), user(mserver)
    ca = client(mserver, a)
    eid = put_draft(mserver, ca, a, draft(a, to=[b]))
    # [submission] max_recipients = 5
    e = set_error(submit(ca, eid, identity(ca),
                         envelope=env(a, *[f"r{i}@{DOMAIN}" for i in range(6)])))
    assert e["type"] == "tooManyRecipients" and e["maxRecipients"] == 5, e
    e = set_error(submit(ca, eid, identity(ca), envelope=env(a, b, f"nobody@{DOMAIN}")))
    assert e["type"] == "invalidRecipients" and e["invalidRecipients"] == \
        [f"nobody@{DOMAIN}"], e
    eid2 = put_draft(mserver, ca, a, draft(a))
    assert set_error(submit(ca, eid2, identity(ca)))["type"] == "noRecipients"
    e = set_error(submit(ca, eid, identity(ca), envelope={"mailFrom": {"email": a},
                                                           "rcptTo": [{"email": "bad"}]}))
    assert e["type"] == "invalidProperties" and e["properties"] == ["envelope"], e
    assert fetch_all(mserver, b, timeout=0) == []  # nothing of it went anywhere


def test_rate_limit(kasten_factory):
    """[submission] max_messages_per_hour counts JMAP sends as it counts SMTP ones."""
    s = kasten_factory(config={"limits": {"max_unauthenticated_per_ip": 100},
                               "submission": {"max_messages_per_hour": "2"}})
    s.start()
    a, b = user(s), user(s)
    ca = client(s, a)
    eid = put_draft(s, ca, a, draft(a, to=[b]))
    for _ in range(2):
        [(_, res, _)] = submit(ca, eid, identity(ca))
        assert "s1" in res["created"], res
    e = set_error(submit(ca, eid, identity(ca)))
    assert e["type"] == "forbiddenToSend", e
    assert len(fetch_all(s, b, n=2)) == 2


# ---- /get /changes /query /set update+destroy ----

def test_changes_query_update_destroy(mserver):
    a, b = user(mserver), user(mserver)
    ca = client(mserver, a)
    state0 = ca.ok("EmailSubmission/get", {"ids": []})["state"]
    e1 = put_draft(mserver, ca, a, draft(a, to=[b], subject="one"))
    e2 = put_draft(mserver, ca, a, draft(a, to=[b], subject="two"))
    s1 = submit(ca, e1, identity(ca))[0][1]["created"]["s1"]["id"]
    s2 = submit(ca, e2, identity(ca))[0][1]["created"]["s1"]["id"]
    ch = ca.ok("EmailSubmission/changes", {"sinceState": state0})
    assert ch["created"] == [s1, s2] and ch["destroyed"] == [] and ch["updated"] == []
    half = ca.ok("EmailSubmission/changes", {"sinceState": state0, "maxChanges": 1})
    assert half["created"] == [s1] and half["hasMoreChanges"] is True
    q = ca.ok("EmailSubmission/query", {"filter": {"emailIds": [e2]}})
    assert q["ids"] == [s2]
    q = ca.ok("EmailSubmission/query", {"sort": [{"property": "emailId"}]})
    assert q["ids"] == sorted([s1, s2], key=lambda s: e1 if s == s1 else e2)
    assert ca.err("EmailSubmission/query", {"filter": {"subject": "x"}}) == \
        "unsupportedFilter"
    # RFC 8620 5.6: a server may always answer cannotCalculateChanges
    assert ca.err("EmailSubmission/queryChanges", {"sinceQueryState": q["queryState"]}) == \
        "cannotCalculateChanges"
    assert ca.err("EmailSubmission/queryChanges", {}) == "invalidArguments"
    # sent at once: nothing to cancel (RFC 8621 7.5 cannotUnsend)
    r = ca.ok("EmailSubmission/set", {"update": {s1: {"undoStatus": "canceled"}}})
    assert r["notUpdated"][s1]["type"] == "cannotUnsend"
    mid = ca.ok("EmailSubmission/get", {"ids": []})["state"]
    r = ca.ok("EmailSubmission/set", {"destroy": [s1], "ifInState": mid})
    assert r["destroyed"] == [s1] and r["oldState"] == mid != r["newState"]
    ch = ca.ok("EmailSubmission/changes", {"sinceState": mid})
    assert ch["destroyed"] == [s1] and ch["created"] == []
    g = ca.ok("EmailSubmission/get", {"ids": [s1, s2]})
    assert g["notFound"] == [s1] and [x["id"] for x in g["list"]] == [s2]
    assert ca.err("EmailSubmission/set", {"destroy": [s2], "ifInState": mid}) == \
        "stateMismatch"


def test_isolation(mserver):
    """Another account's Email, Identity and submissions are unknown (RFC 8620 5.3:
    no SetError or answer tells them apart from ids that never existed)."""
    a, b = user(mserver, "jsia"), user(mserver, "jsib")
    ca, cb = client(mserver, a), client(mserver, b)
    eid = put_draft(mserver, ca, a, draft(a, to=[b]))
    sid = submit(ca, eid, identity(ca))[0][1]["created"]["s1"]["id"]
    own = put_draft(mserver, cb, b, draft(b, to=[a]))
    e = set_error(submit(cb, eid, identity(cb)))
    assert e["type"] == "invalidProperties" and e["properties"] == ["emailId"], e
    e = set_error(submit(cb, own, identity(ca)))
    assert e["type"] == "invalidProperties" and e["properties"] == ["identityId"], e
    g = cb.ok("EmailSubmission/get", {"ids": [sid]})
    assert g["list"] == [] and g["notFound"] == [sid]
    assert cb.ok("EmailSubmission/get", {"ids": None})["list"] == []
    assert cb.ok("EmailSubmission/query", {})["ids"] == []
    assert cb.ok("EmailSubmission/changes", {"sinceState": "0"})["created"] == []
    r = cb.ok("EmailSubmission/set", {"destroy": [sid], "update": {sid: {"undoStatus": "final"}}})
    assert r["notDestroyed"][sid]["type"] == "notFound"
    assert r["notUpdated"][sid]["type"] == "notFound"
    for m in ("EmailSubmission/get", "EmailSubmission/query", "EmailSubmission/changes",
              "EmailSubmission/set"):
        args = {"accountId": ca.acct, "ids": [sid], "sinceState": "0"} \
            if m != "EmailSubmission/set" else {"accountId": ca.acct, "destroy": [sid]}
        if m == "EmailSubmission/query":
            args = {"accountId": ca.acct}
        assert cb.err(m, args) == "accountNotFound"
    # A's submission is still there
    assert ca.ok("EmailSubmission/get", {"ids": [sid]})["list"][0]["id"] == sid


def test_one_request_create_draft_send_and_move(mserver):
    """What a client sends in one request (RFC 8621 7.5 example): Email/set creates the
    draft, EmailSubmission/set sends "#draft" (RFC 8620 5.3 creation ids), and
    onSuccessUpdateEmail names the submission by its creation id "#send"."""
    a, b = user(mserver), user(mserver)
    ca = client(mserver, a)
    _, roles = ca.mailbox_ids()
    resp = ca.calls([
        ["Email/set", {"create": {"draft": {
            "mailboxIds": {roles["drafts"]: True}, "keywords": {"$draft": True},
            "from": [{"email": a}], "to": [{"name": "B", "email": b}],
            "subject": "one request", "bodyValues": {"t": {"value": "Hi B.\n"}},
            "textBody": [{"partId": "t", "type": "text/plain"}]}}}, "e"],
        ["EmailSubmission/set", {"create": {"send": {"identityId": identity(ca),
                                                     "emailId": "#draft"}},
                                 "onSuccessUpdateEmail": {"#send": {
                                     f"mailboxIds/{roles['drafts']}": None,
                                     f"mailboxIds/{roles['sent']}": True,
                                     "keywords/$draft": None}}}, "s"]])
    assert [r[0] for r in resp] == ["Email/set", "EmailSubmission/set", "Email/set"], resp
    eid = resp[0][1]["created"]["draft"]["id"]
    assert resp[1][1]["created"]["send"]["id"]
    assert resp[2][1]["updated"] == {eid: None} and resp[2][2] == "s"
    [got] = fetch_all(mserver, b)
    assert b"Subject: one request" in got and b"Hi B." in got
    e = ca.ok("Email/get", {"ids": [eid], "properties": ["mailboxIds", "keywords"]})["list"][0]
    assert e["mailboxIds"] == {roles["sent"]: True} and "$draft" not in e["keywords"]
