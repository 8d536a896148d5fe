"""The JMAP requests the webmail's compose and clean-up pages send (web/js/views/
compose.mjs, cleanup.mjs), exactly as they send them, on a real `kasten serve`:

- saving a draft again is ONE Email/set that creates the new draft and destroys the old
  one, with the new draft's attachments taken by the old draft's part blob ids: that
  works only because a /set creates before it destroys (RFC 8620 5.3), and the page
  then re-reads the parts with Email/get ids ["#draft"] (a creation id, RFC 8620 5.3);
- sending is ONE request: Email/set create + EmailSubmission/set whose
  onSuccessUpdateEmail moves the message from Drafts to Sent and clears $draft (RFC 8621
  7.5); a refused send leaves it in Drafts;
- the clean-up page's Email/query without inMailbox over every folder, sorted by size
  descending or receivedAt ascending, with Email/get by result reference (RFC 8620 3.7),
  and one Email/set destroy of a selection, after which Quota/get's used has dropped by
  their sizes (RFC 9425 4.1)."""

import time

from jmap_test import CORE, MAIL, QUOTA, SUBMISSION, JmapClient, http_request
from kasten_test import RawIMAP, unique_user

KASTEN_LISTEN = ("smtp", "submission", "imap", "http")
KASTEN_CONFIG = {"limits": {"max_unauthenticated_per_ip": 100}}
PASSWORD = "Webmail-pages-1"


def account(server, quota=None):
    a = unique_user("wp")
    server.user_add(a, PASSWORD, quota=quota)
    return a, JmapClient(server, a, PASSWORD, using=(CORE, MAIL, QUOTA, SUBMISSION))


def by_id(responses):
    return {r[2]: r for r in responses}


def download(server, c, blob_id):
    st, _, body = http_request(server, "GET", f"/jmap/download/{c.acct}/{blob_id}/x",
                               headers={"Authorization": c.auth})
    assert st == 200, body
    return body


def draft(drafts, to, attachments):
    """The Email object compose.mjs builds (buildEmail)."""
    return {"mailboxIds": {drafts: True}, "keywords": {"$draft": True, "$seen": True},
            "from": [{"name": None, "email": "me@example.test"}],
            "to": [{"name": "Bob", "email": to}], "subject": "Plans",
            "bodyValues": {"body": {"value": "Draft text.\n"}},
            "textBody": [{"partId": "body", "type": "text/plain"}],
            "attachments": [{"blobId": b, "type": "application/octet-stream",
                             "name": f"file{i}.bin", "disposition": "attachment"}
                            for i, b in enumerate(attachments)]}


def save(c, email, previous):
    """compose.mjs saveDraft(): Email/set create (+ destroy previous) and Email/get of
    the new draft's attachments in one request."""
    s = {"create": {"draft": email}}
    if previous:
        s["destroy"] = [previous]
    r = by_id(c.calls([["Email/set", s, "e"],
                       ["Email/get", {"ids": ["#draft"], "properties": ["attachments"]}, "g"]]))
    assert r["e"][0] == "Email/set", r
    assert "draft" in r["e"][1].get("created", {}), r["e"][1]
    return r["e"][1], r["g"][1]


def test_draft_saved_again_replaces_the_old_one(mserver):
    """RFC 8620 5.3: creates run before destroys, so the new draft copies the old one's
    attachment by its part blob id in the same Email/set that destroys it."""
    a, c = account(mserver)
    _, roles = c.mailbox_ids()
    payload = bytes(range(256)) * 40
    up = c.upload(payload)
    first, got = save(c, draft(roles["drafts"], "bob@example.test", [up["blobId"]]), None)
    first_id = first["created"]["draft"]["id"]
    parts = got["list"][0]["attachments"]
    assert [p["blobId"] for p in parts] == [f"G{first_id}.2"]

    second, got = save(c, draft(roles["drafts"], "bob@example.test",
                                [p["blobId"] for p in parts]), first_id)
    second_id = second["created"]["draft"]["id"]
    assert second["destroyed"] == [first_id]
    assert second_id != first_id
    new_parts = got["list"][0]["attachments"]
    assert [p["blobId"] for p in new_parts] == [f"G{second_id}.2"]
    assert download(mserver, c, new_parts[0]["blobId"]) == payload

    # exactly one draft left, the second, still a draft
    q = c.ok("Email/query", {"filter": {"inMailbox": roles["drafts"]}})
    assert q["ids"] == [second_id]
    e = c.ok("Email/get", {"ids": [second_id], "properties": ["keywords", "mailboxIds"]})
    assert e["list"][0]["keywords"] == {"$draft": True, "$seen": True}
    assert c.ok("Email/get", {"ids": [first_id]})["notFound"] == [first_id]


def append(server, a, mailbox, size, day):
    c = RawIMAP(server.host, server.ports["imap"])
    c.login(a, PASSWORD)
    msg = (f"From: s{day}@example.org\r\nSubject: size {size}\r\n"
           f"Message-ID: <m{day}.{size}@example.org>\r\n\r\n").encode()
    msg += b"x" * (size - len(msg) - 2) + b"\r\n"
    st, _ = c.cmd(f'APPEND {mailbox} () "{day:02d}-Jan-2026 10:00:00 +0000" '
                  f'{{{len(msg)}+}}\r\n'.encode() + msg)
    assert b" OK " in st, st
    c.close()
    return len(msg)


def query_page(c, prop, ascending):
    """cleanup.mjs load(): one page of the whole account, with the rows' properties."""
    r = by_id(c.calls([
        ["Email/query", {"sort": [{"property": prop, "isAscending": ascending}],
                         "position": 0, "limit": 100, "calculateTotal": True}, "q"],
        ["Email/get", {"#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"},
                       "properties": ["mailboxIds", "from", "subject", "receivedAt",
                                      "size"]}, "g"]]))
    assert r["q"][0] == "Email/query" and r["g"][0] == "Email/get", r
    rows = {e["id"]: e for e in r["g"][1]["list"]}
    return r["q"][1]["total"], [rows[i] for i in r["q"][1]["ids"]]


def quota_used(c):
    q = c.ok("Quota/get", {"ids": None})["list"]
    return next(x["used"] for x in q if x["resourceType"] == "octets")


def test_cleanup_lists_every_folder_and_destroys_a_selection(mserver):
    """RFC 8621 4.4: no inMailbox = every Email of the account; sizes descending,
    receivedAt ascending; one destroy of three frees their sizes (RFC 9425 4.1)."""
    a, c = account(mserver, quota="50M")
    c.ok("Mailbox/set", {"create": {"n": {"name": "Old", "parentId": None}}})
    spec = [("INBOX", 3000, 5), ("INBOX", 90000, 9), ("Old", 40000, 2),
            ("Old", 1500, 7), ("INBOX", 20000, 3)]
    sizes = {}
    for box, size, day in spec:
        sizes[day] = append(mserver, a, box, size, day)
    names, _ = c.mailbox_ids()

    total, rows = query_page(c, "size", False)
    assert total == 5
    assert [e["size"] for e in rows] == sorted(sizes.values(), reverse=True)
    assert {next(iter(e["mailboxIds"])) for e in rows} == {names["INBOX"], names["Old"]}
    assert rows[0]["subject"] == "size 90000"
    assert rows[0]["from"] == [{"name": None, "email": "s9@example.org"}]

    _, oldest = query_page(c, "receivedAt", True)
    assert [e["receivedAt"][:10] for e in oldest] == [
        f"2026-01-{d:02d}" for d in sorted(sizes)]

    used = quota_used(c)
    pick = rows[:3]
    r = c.ok("Email/set", {"destroy": [e["id"] for e in pick]})
    assert sorted(r["destroyed"]) == sorted(e["id"] for e in pick)
    assert quota_used(c) == used - sum(e["size"] for e in pick)
    total, rest = query_page(c, "size", False)
    assert total == 2 and [e["id"] for e in rest] == [e["id"] for e in rows[3:]]
    # the folder counts follow (the shell's folder list re-reads them)
    boxes = {m["name"]: m["totalEmails"]
             for m in c.ok("Mailbox/get", {"ids": None, "properties": ["name", "totalEmails"]})["list"]}
    assert boxes["INBOX"] + boxes["Old"] == 2



def identity_of(c, address):
    ids = c.ok("Identity/get", {"ids": None})["list"]
    return next(i for i in ids if i["email"].lower() == address.lower())


def send(c, email, previous, identity, drafts, sent):
    """compose.mjs send(): the Email created in Drafts (replacing the draft it was),
    submitted, and on success moved to Sent without $draft, in ONE request."""
    s = {"create": {"draft": email}}
    if previous:
        s["destroy"] = [previous]
    sub = {"create": {"send": {"emailId": "#draft", "identityId": identity}},
           "onSuccessUpdateEmail": {"#send": {f"mailboxIds/{drafts}": None,
                                              f"mailboxIds/{sent}": True,
                                              "keywords/$draft": None}}}
    return c.calls([["Email/set", s, "e"], ["EmailSubmission/set", sub, "s"]],
                   using=[CORE, MAIL, SUBMISSION])


def test_send_in_one_request_moves_the_draft_to_sent(mserver):
    """RFC 8621 7.5: onSuccessUpdateEmail runs only after the submission was created
    (an implicit Email/set after EmailSubmission/set's response); the recipient gets it."""
    a, c = account(mserver)
    b, cb = account(mserver)
    _, roles = c.mailbox_ids()
    email = draft(roles["drafts"], b, [])
    email["from"] = [{"name": "Alice", "email": a}]
    first, _ = save(c, email, None)
    first_id = first["created"]["draft"]["id"]

    resp = send(c, email, first_id, identity_of(c, a)["id"], roles["drafts"], roles["sent"])
    names = [r[0] for r in resp]
    assert names == ["Email/set", "EmailSubmission/set", "Email/set"], resp
    created = resp[0][1]["created"]["draft"]["id"]
    assert resp[0][1]["destroyed"] == [first_id]
    assert "send" in resp[1][1]["created"], resp[1][1]
    assert list(resp[2][1]["updated"]) == [created]
    e = c.ok("Email/get", {"ids": [created], "properties": ["mailboxIds", "keywords"]})["list"][0]
    assert e["mailboxIds"] == {roles["sent"]: True}
    assert e["keywords"] == {"$seen": True}
    assert c.ok("Email/query", {"filter": {"inMailbox": roles["drafts"]}})["ids"] == []

    deadline = time.monotonic() + 20
    while True:
        got = cb.ok("Email/query", {"filter": {"inMailbox": cb.mailbox_ids()[1]["inbox"]}})["ids"]
        if got:
            break
        assert time.monotonic() < deadline, "the recipient got nothing in 20 s"
        time.sleep(0.1)
    m = cb.ok("Email/get", {"ids": got, "properties": ["subject", "from"]})["list"][0]
    assert m["subject"] == "Plans" and m["from"] == [{"name": "Alice", "email": a}]


def test_refused_send_leaves_the_message_in_drafts(mserver):
    """A From that is not the account's: EmailSubmission notCreated (RFC 8621 7.5), no
    implicit update; the Email stays a draft in Drafts."""
    a, c = account(mserver)
    _, roles = c.mailbox_ids()
    email = draft(roles["drafts"], "bob@example.test", [])
    email["from"] = [{"name": None, "email": "someone.else@example.org"}]
    resp = send(c, email, None, identity_of(c, a)["id"], roles["drafts"], roles["sent"])
    assert [r[0] for r in resp] == ["Email/set", "EmailSubmission/set"], resp
    # the envelope comes from the From header here, so either refusal fits RFC 8621 7.5;
    # compose.mjs words both the same way
    assert resp[1][1]["notCreated"]["send"]["type"] in ("forbiddenFrom", "forbiddenMailFrom")
    created = resp[0][1]["created"]["draft"]["id"]
    e = c.ok("Email/get", {"ids": [created], "properties": ["mailboxIds", "keywords"]})["list"][0]
    assert e["mailboxIds"] == {roles["drafts"]: True}
    assert e["keywords"] == {"$draft": True, "$seen": True}
