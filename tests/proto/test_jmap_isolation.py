"""Isolation between two accounts across the whole JMAP API (issue 10 item 5: "no account
can read or change another's data through any endpoint or blob id"). Account A has a
mailbox, a multipart message (so a part blob), an upload, a thread, an identity and a
submission; account B calls EVERY method of the server's table (read from
src/http/jmap_methods.c, so a method added later fails here until it has a case) with
A's ids and with A's accountId, and fetches every blob URL of A's.

What B may see: notFound (RFC 8620 5.1, 5.3), accountNotFound (3.6.2), empty results,
a SetError that does not tell A's ids from ids that never existed. What it must never
see: any of A's ids or A's address outside the lists that echo what B sent. Afterwards
A's data is as it was. A real `kasten serve` over loopback."""

import json
import re
from pathlib import Path

from jmap_test import CORE, MAIL, QUOTA, SUBMISSION, JmapClient, http_request
from kasten_test import deliver, unique_user

KASTEN_LISTEN = ("smtp", "imap", "http")
KASTEN_CONFIG = {"limits": {"max_unauthenticated_per_ip": 100}}
PASSWORD = "Jmap-isolation-pass-1"
KASTEN = "https://kasten.dev/jmap/account"
USING = (CORE, MAIL, SUBMISSION, QUOTA, KASTEN)
METHODS_C = Path(__file__).resolve().parents[2] / "src" / "http" / "jmap_methods.c"
# the SetError / notFound members that echo ids B itself sent
ECHO = ("notFound", "notUpdated", "notDestroyed", "notCreated", "invalidRecipients")


def table_methods():
    names = re.findall(r'^\s*\{"([A-Za-z]+/[A-Za-z]+)",', METHODS_C.read_text(), re.M)
    assert len(names) > 20, names
    return names


def message(a, b):
    """multipart/mixed: a text part (1) and an attachment (2), so blob G<id>.2 exists."""
    return (f"From: A <{a}>\r\nTo: <{a}>\r\nSubject: isolation secret\r\n"
            "Message-ID: <iso-1@example.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
            "Content-Type: text/plain\r\n\r\nthe isolation secret text\r\n--XX\r\n"
            "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; "
            "filename=a.bin\r\nContent-Transfer-Encoding: base64\r\n\r\nc2VjcmV0\r\n"
            f"--XX--\r\n").encode()


def setup_a(server):
    a, b = unique_user("isoa"), unique_user("isob")
    server.user_add(a, PASSWORD)
    server.user_add(b, PASSWORD)
    ca, cb = JmapClient(server, a, PASSWORD, USING), JmapClient(server, b, PASSWORD, USING)
    deliver(server, a, message(a, b))
    server.wait_messages(a, 1)
    _, roles = ca.mailbox_ids()
    [eid] = ca.ok("Email/query", {"filter": {"inMailbox": roles["inbox"]}})["ids"]
    e = ca.ok("Email/get", {"ids": [eid], "properties": ["threadId", "blobId",
                                                          "attachments", "keywords"]})
    e = e["list"][0]
    mbox = ca.ok("Mailbox/set", {"create": {"m": {"name": "A-private"}}})["created"]["m"]["id"]
    upload = ca.upload(b"A's upload bytes", "text/plain")["blobId"]
    ident = ca.ok("Identity/get", {"ids": None})["list"][0]["id"]
    sub = ca.ok("EmailSubmission/set", {"create": {"s": {
        "identityId": ident, "emailId": eid,
        "envelope": {"mailFrom": {"email": a}, "rcptTo": [{"email": a}]}}}})
    sid = sub["created"]["s"]["id"]
    ids = {"email": eid, "thread": e["threadId"], "blob": e["blobId"],
           "part": e["attachments"][0]["blobId"], "upload": upload, "mailbox": mbox,
           "inbox": roles["inbox"], "identity": ident, "submission": sid}
    return a, b, ca, cb, ids, e["keywords"]


def cases(ids, b_inbox):
    """B's arguments for each method (accountId is added by the client), A's ids in every
    place the method reads one."""
    e, t, m, s = ids["email"], ids["thread"], ids["mailbox"], ids["submission"]
    blobs = [ids["blob"], ids["part"], ids["upload"]]
    return {
        "Email/get": {"ids": [e], "properties": ["subject", "mailboxIds"]},
        "Email/changes": {"sinceState": "0"},
        "Email/query": {"filter": {"inMailbox": m}},
        "Email/queryChanges": {"sinceQueryState": "0", "filter": {"inMailbox": ids["inbox"]}},
        "SearchSnippet/get": {"emailIds": [e], "filter": {"text": "isolation"}},
        "Email/parse": {"blobIds": blobs},
        "Email/set": {"update": {e: {"keywords/$flagged": True}}, "destroy": [e],
                      "create": {"c1": {"mailboxIds": {m: True}, "subject": "x"},
                                 "c2": {"mailboxIds": {b_inbox: True}, "subject": "x",
                                        "attachments": [{"blobId": ids["part"]}]}}},
        "Email/import": {"emails": {"i": {"blobId": ids["blob"],
                                          "mailboxIds": {b_inbox: True}}}},
        "Thread/get": {"ids": [t]},
        "Thread/changes": {"sinceState": "0"},
        "Mailbox/get": {"ids": [m, ids["inbox"]]},
        "Mailbox/changes": {"sinceState": "0"},
        "Mailbox/query": {"filter": {"parentId": m}},
        "Mailbox/set": {"update": {m: {"name": "stolen"}}, "destroy": [m],
                        "create": {"n": {"name": "child", "parentId": m}}},
        "Quota/get": {"ids": None},
        "Identity/get": {"ids": [ids["identity"]]},
        "EmailSubmission/get": {"ids": [s]},
        "EmailSubmission/changes": {"sinceState": "0"},
        "EmailSubmission/query": {"filter": {"emailIds": [e]}},
        "EmailSubmission/queryChanges": {"sinceQueryState": "0",
                                         "filter": {"emailIds": [e]}},
        "EmailSubmission/set": {"update": {s: {"undoStatus": "canceled"}}, "destroy": [s],
                                "create": {"x": {"identityId": ids["identity"],
                                                 "emailId": e}}},
        "Activity/get": {},
        "ClientSettings/get": {},
    }


def scrub(v):
    """v without the members that echo what B sent."""
    if isinstance(v, dict):
        return {k: scrub(x) for k, x in v.items() if k not in ECHO}
    if isinstance(v, list):
        return [scrub(x) for x in v]
    return v


def assert_refused(name, res, ids):
    """The specific answer each kind of method must give to A's ids."""
    verb = name.split("/")[1]
    if verb == "get" and "notFound" in res and name not in ("Quota/get",):
        assert res["list"] == [] or name == "Mailbox/get", (name, res)
    if name == "Email/get":
        assert res["notFound"] == [ids["email"]]
    if name == "Email/parse":
        assert sorted(res["notFound"]) == sorted([ids["blob"], ids["part"], ids["upload"]])
    if name == "SearchSnippet/get":
        assert res["notFound"] == [ids["email"]] and res["list"] == []
    if name in ("Thread/get", "Identity/get", "EmailSubmission/get"):
        assert res["list"] == [] and len(res["notFound"]) == 1, (name, res)
    if name == "Mailbox/get":
        assert sorted(res["notFound"]) == sorted([ids["mailbox"], ids["inbox"]])
    if verb == "set":
        for k, err in (res.get("notUpdated") or {}).items():
            assert err["type"] == "notFound", (name, k, err)
        for k, err in (res.get("notDestroyed") or {}).items():
            assert err["type"] == "notFound", (name, k, err)
        assert not res.get("updated") and not res.get("destroyed"), (name, res)
        assert not res.get("created"), (name, res)
    if name == "Email/import":
        assert not res.get("created") and "i" in res["notCreated"], res
    if verb in ("query",):
        assert res["ids"] == [], (name, res)


def test_every_method_with_the_other_accounts_ids(mserver):
    a, b, ca, cb, ids, keywords = setup_a(mserver)
    _, b_roles = cb.mailbox_ids()
    table = cases(ids, b_roles["inbox"])
    secret = set(ids.values()) | {a}
    for name in table_methods():
        if name == "Core/echo":
            continue  # no account: echoes what it is sent
        assert name in table, f"{name}: add an isolation case for it"
        # 1. A's accountId: accountNotFound (RFC 8620 3.6.2), whatever the arguments
        got, res = cb.call(name, dict(table[name], accountId=ca.acct))
        assert (got, res.get("type")) == ("error", "accountNotFound"), (name, res)
        # 2. B's own account, A's ids
        got, res = cb.call(name, table[name])
        if got == "error":
            # a state B never had may be refused; nothing of A's is in an error
            assert res["type"] in ("cannotCalculateChanges", "invalidArguments"), (name, res)
        else:
            assert got == name, (name, res)
            assert_refused(name, res, ids)
        text = json.dumps(scrub(res))
        leaked = [x for x in secret if x in text]
        assert not leaked, (name, leaked, res)

    # A's data is as it was
    e = ca.ok("Email/get", {"ids": [ids["email"]], "properties": ["keywords", "mailboxIds"]})
    assert e["list"][0]["keywords"] == keywords
    assert e["list"][0]["mailboxIds"] == {ids["inbox"]: True}
    mb = ca.ok("Mailbox/get", {"ids": [ids["mailbox"]]})["list"]
    assert [m["name"] for m in mb] == ["A-private"]
    assert ca.ok("EmailSubmission/get", {"ids": [ids["submission"]]})["list"][0]["id"] == \
        ids["submission"]
    # (the submission sent A a copy of the message: same Message-ID, same thread)
    assert ids["email"] in ca.ok("Thread/get", {"ids": [ids["thread"]]})["list"][0]["emailIds"]


def test_every_blob_url_of_the_other_account(mserver):
    """RFC 8620 6.2: a download names an account and a blob; B gets 404 for every blob
    of A's (whole message, part, upload), under its own account id and under A's, and
    cannot upload into A's account."""
    a, b, ca, cb, ids, _ = setup_a(mserver)
    auth = {"Authorization": cb.auth}
    for blob in (ids["blob"], ids["part"], ids["upload"]):
        for acct in (cb.acct, ca.acct):
            st, _, body = http_request(mserver, "GET", f"/jmap/download/{acct}/{blob}/x",
                                       headers=auth)
            assert st == 404, (acct, blob, st, body)
            assert b"secret" not in body and b"upload bytes" not in body
        # A itself can: the ids are real
        st, _, body = http_request(mserver, "GET", f"/jmap/download/{ca.acct}/{blob}/x",
                                   headers={"Authorization": ca.auth})
        assert st == 200, (blob, body)
    st, _, body = http_request(mserver, "POST", f"/jmap/upload/{ca.acct}/", b"intruder",
                               {"Authorization": cb.auth, "Content-Type": "text/plain"})
    assert st in (403, 404), (st, body)
