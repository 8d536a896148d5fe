"""Email/set update and destroy, and Email/import (issue 10, wave 3; RFC 8621 4.6, 4.8;
RFC 8620 5.3 PatchObjects) on a real `kasten serve`. What JMAP changes must be what IMAP
and POP3 see: flags in FETCH and in IDLE, a move as EXPUNGE in one mailbox and a new
UID in the other, a destroy as EXPUNGE and a smaller POP3 STAT, an import byte for byte
in BODY[]; and Email/changes and the EventSource must see each change."""

import re
import time

import pytest

from jmap_test import CORE, QUOTA, EventStream, JmapClient, basic
from kasten_test import (RawIMAP, RawPOP3, deliver, make_message, read_responses, unique_user,
                         wait_for)

KASTEN_LISTEN = ("smtp", "imap", "pop3", "http")
KASTEN_CONFIG = {"limits": {"max_unauthenticated_per_ip": 100}}
PASSWORD = "Jmap-set-pass-1"


def account(server, prefix="es", quota=None):
    a = unique_user(prefix)
    server.user_add(a, PASSWORD, quota=quota)
    return a, JmapClient(server, a, PASSWORD)


def imap(server, a):
    c = RawIMAP(server.host, server.ports["imap"])
    c.login(a, PASSWORD)
    return c


def uids(c, mailbox="INBOX"):
    """{uid: (EMAILID, FLAGS text)} of a mailbox."""
    c.cmd(f"SELECT {mailbox}")
    _, untagged = c.cmd("UID FETCH 1:* (EMAILID FLAGS)")
    out = {}
    for line in untagged:
        m = re.search(rb"UID (\d+)", line)
        e = re.search(rb"EMAILID \(([0-9a-f]+)\)", line)
        f = re.search(rb"FLAGS \(([^)]*)\)", line)
        if m and e:
            out[int(m.group(1))] = (e.group(1).decode(), f.group(1).decode() if f else "")
    return out


def delivered(server, a, c, n=1, subject="set"):
    """n messages delivered by SMTP; their EMAILIDs in delivery order."""
    for i in range(n):
        deliver(server, a, make_message(f"{subject} {i}", b"Body %d.\r\n" % i))
    server.wait_messages(a, n)
    return [e for _, (e, _) in sorted(uids(c).items())]


def get(c, eid, props=("mailboxIds", "keywords")):
    r = c.ok("Email/get", {"ids": [eid], "properties": list(props)})
    return r["list"][0] if r["list"] else None


def quota_used(c):
    """Quota/get's used octets (RFC 9425), what the webmail's quota bar shows."""
    (resp,) = c.calls([["Quota/get", {"ids": None}, "q"]], using=[CORE, QUOTA])
    return resp[1]["list"][0]["used"]


def set_update(c, upd, **extra):
    return c.ok("Email/set", dict({"update": upd}, **extra))


# ---- update: keywords (RFC 8621 4.6, RFC 8620 5.3) ----

def test_keywords_whole_and_members_seen_by_imap(mserver):
    """keywords whole and keywords/<k> true|null; $seen etc. are IMAP system flags,
    other keywords IMAP keywords; \\Deleted set over IMAP survives a whole replace."""
    a, c = account(mserver)
    with imap(mserver, a) as i:
        (e,) = delivered(mserver, a, i)
        s0 = c.ok("Email/get", {"ids": []})["state"]
        r = set_update(c, {e: {"keywords": {"$seen": True, "$Flagged": True, "Work": True}}})
        assert r["updated"] == {e: None} and r["notUpdated"] is None
        assert r["oldState"] == s0 and int(r["newState"]) > int(s0)
        assert get(c, e)["keywords"] == {"$seen": True, "$flagged": True, "work": True}
        flags = list(uids(i).values())[0][1].split()
        assert sorted(flags) == sorted(["\\Seen", "\\Flagged", "work"])
        # a member path: add one, remove one (RFC 8620 5.3 JSON Pointer)
        set_update(c, {e: {"keywords/$answered": True, "keywords/work": None}})
        assert get(c, e)["keywords"] == {"$seen": True, "$flagged": True, "$answered": True}
        # $forwarded, $junk are kept as the store's bits, shown as IMAP keywords
        set_update(c, {e: {"keywords/$forwarded": True, "keywords/$junk": True,
                           "keywords/a~1b": True}})
        flags = list(uids(i).values())[0][1]
        assert "$Forwarded" in flags and "$Junk" in flags and "a/b" in flags
        assert get(c, e)["keywords"]["a/b"] is True
        # IMAP's \Deleted has no keyword; replacing the keywords keeps it
        i.cmd("UID STORE 1:* +FLAGS (\\Deleted)")
        set_update(c, {e: {"keywords": {}}})
        assert list(uids(i).values())[0][1] == "\\Deleted"
        assert get(c, e)["keywords"] == {}


def test_keyword_change_reaches_idle(mserver):
    """A JMAP keyword change is an IMAP FETCH FLAGS in IDLE at once (issue 10 item 3)."""
    a, c = account(mserver)
    with imap(mserver, a) as i, imap(mserver, a) as idle:
        (e,) = delivered(mserver, a, i)
        idle.cmd("SELECT INBOX")
        idle.send(b"i1 IDLE\r\n")
        assert idle.response().startswith(b"+")
        set_update(c, {e: {"keywords/$seen": True}})
        seen = read_responses(idle, 1, seconds=5)
        assert seen and re.search(rb"\* 1 FETCH \(.*FLAGS \(\\Seen\)", seen[0]), seen
        idle.send(b"DONE\r\n")
        st, _ = idle.until("i1")
        assert b"OK" in st


def test_patch_errors(mserver):
    """invalidPatch, invalidProperties, notFound per id; the rest of the call goes on."""
    a, c = account(mserver)
    with imap(mserver, a) as i:
        (e,) = delivered(mserver, a, i)
    r = set_update(c, {
        e: {"keywords/$seen": True},
        "0123456789abcdef0123456789abcdef": {"keywords/$seen": True},
        "nope": {"keywords/$seen": True},
    })
    assert list(r["updated"]) == [e]
    assert r["notUpdated"]["0123456789abcdef0123456789abcdef"]["type"] == "notFound"
    assert r["notUpdated"]["nope"]["type"] == "notFound"
    cases = [
        ({"subject": "x"}, "invalidProperties", ["subject"]),
        ({"keywords": {"bad keyword": True}}, "invalidProperties", ["keywords"]),
        ({"keywords": {"$seen": False}}, "invalidProperties", ["keywords"]),
        ({"keywords/$seen": False}, "invalidProperties", ["keywords/$seen"]),
        ({"keywords/a(b": True}, "invalidProperties", ["keywords/a(b"]),
        ({"keywords/a/b": True}, "invalidPatch", None),
        ({"keywords/a~2": True}, "invalidPatch", None),
        ({"keywords": {}, "keywords/$seen": True}, "invalidPatch", None),
        ({"mailboxIds": {}}, "invalidProperties", ["mailboxIds"]),
        ({"mailboxIds": {"Mnosuchmailbox": True}}, "invalidProperties", ["mailboxIds"]),
        ({"mailboxIds/Mnosuch": True}, "invalidProperties", ["mailboxIds/Mnosuch"]),
        ({"mailboxIds/x": False}, "invalidProperties", ["mailboxIds/x"]),
    ]
    for patch, typ, props in cases:
        r = set_update(c, {e: patch})
        err = r["notUpdated"][e]
        assert err["type"] == typ, (patch, err)
        if props:
            assert err["properties"] == props, (patch, err)
    # nothing of that changed the Email
    assert get(c, e)["keywords"] == {"$seen": True}
    # the store keeps 4 KiB of keywords on a message: tooManyKeywords past it
    many = {f"k{n:03d}" + "x" * 40: True for n in range(100)}
    r = set_update(c, {e: {"keywords": many}})
    assert r["notUpdated"][e]["type"] == "tooManyKeywords", r
    assert get(c, e)["keywords"] == {"$seen": True}


# ---- update: mailboxIds ----

def test_move_copy_remove_seen_by_imap(mserver):
    """mailboxIds whole = a move (IMAP: EXPUNGE in INBOX, a new UID in the target, same
    EMAILID); mailboxIds/<id> true = a copy; null = that copy expunged; the last
    mailbox cannot go (invalidProperties)."""
    a, c = account(mserver)
    with imap(mserver, a) as i:
        i.cmd("CREATE Work")
        (e,) = delivered(mserver, a, i)
        names, roles = c.mailbox_ids()
        inbox, work, trash = roles["inbox"], names["Work"], roles["trash"]
        # an IDLE session on INBOX sees the move as EXPUNGE
        with imap(mserver, a) as idle:
            idle.cmd("SELECT INBOX")
            idle.send(b"i1 IDLE\r\n")
            assert idle.response().startswith(b"+")
            r = set_update(c, {e: {"mailboxIds": {work: True}}})
            assert r["updated"] == {e: None}, r
            seen = read_responses(idle, 1, seconds=5)
            assert seen == [b"* 1 EXPUNGE"], seen
            idle.send(b"DONE\r\n")
            idle.until("i1")
        assert uids(i, "INBOX") == {}
        assert [v[0] for v in uids(i, "Work").values()] == [e]
        assert get(c, e)["mailboxIds"] == {work: True}
        # copy into Trash too: two copies, one EMAILID
        set_update(c, {e: {f"mailboxIds/{trash}": True}})
        assert get(c, e)["mailboxIds"] == {work: True, trash: True}
        assert [v[0] for v in uids(i, "Trash").values()] == [e]
        # remove from Work: only Trash keeps it
        set_update(c, {e: {f"mailboxIds/{work}": None}})
        assert get(c, e)["mailboxIds"] == {trash: True}
        assert uids(i, "Work") == {}
        # the last mailbox stays
        r = set_update(c, {e: {f"mailboxIds/{trash}": None}})
        assert r["notUpdated"][e]["type"] == "invalidProperties"
        assert r["notUpdated"][e]["properties"] == ["mailboxIds"]
        # back to INBOX with a new UID there (UIDs are never reused)
        set_update(c, {e: {"mailboxIds": {inbox: True}}})
        assert list(uids(i, "INBOX")) == [2]
        assert get(c, e)["mailboxIds"] == {inbox: True}


def test_selection_batches(mserver):
    """A webmail selection: the same keyword patch on many Emails, and mailboxIds = one
    mailbox on many (one already there, one in two mailboxes), each Email answered on
    its own (an unknown id notFound), IMAP seeing every copy changed."""
    a, c = account(mserver)
    with imap(mserver, a) as i:
        i.cmd("CREATE Work")
        ids = delivered(mserver, a, i, 5)
        names, roles = c.mailbox_ids()
        trash, work = roles["trash"], names["Work"]
        unknown = "0123456789abcdef0123456789abcdef"
        r = set_update(c, {e: {"keywords/$seen": True, "keywords/$flagged": True}
                           for e in ids + [unknown]})
        assert sorted(r["updated"]) == sorted(ids)
        assert r["notUpdated"] == {unknown: {"type": "notFound"}}
        assert all("\\Seen" in f and "\\Flagged" in f for _, f in uids(i).values())
        set_update(c, {e: {"keywords/$flagged": None} for e in ids[:2]})
        flagged = {e: "\\Flagged" in f for e, f in uids(i).values()}
        assert flagged == {e: k >= 2 for k, e in enumerate(ids)}
        # ids[0] also in Work, ids[1] already in Trash: all five end up in Trash only
        set_update(c, {ids[0]: {f"mailboxIds/{work}": True}})
        set_update(c, {ids[1]: {"mailboxIds": {trash: True}}})
        r = set_update(c, {e: {"mailboxIds": {trash: True}} for e in ids + [unknown]})
        assert sorted(r["updated"]) == sorted(ids)
        assert r["notUpdated"] == {unknown: {"type": "notFound"}}
        assert uids(i, "INBOX") == {} and uids(i, "Work") == {}
        assert sorted(e for e, _ in uids(i, "Trash").values()) == sorted(ids)
        for e in ids:
            assert get(c, e)["mailboxIds"] == {trash: True}
        r = set_update(c, {e: {"mailboxIds": {"Mnosuch": True}} for e in ids})
        assert {v["type"] for v in r["notUpdated"].values()} == {"invalidProperties"}
        # the webmail's move: mailboxIds/<from>: null + mailboxIds/<to>: true. ids[0]
        # is in Trash only (moves), ids[1] in Trash and Work (leaves Trash), ids[2] is
        # moved to INBOX first (not in Trash: the patch copies it into Work)
        set_update(c, {ids[1]: {f"mailboxIds/{work}": True}})
        set_update(c, {ids[2]: {"mailboxIds": {roles["inbox"]: True}}})
        move = {f"mailboxIds/{trash}": None, f"mailboxIds/{work}": True}
        r = set_update(c, {e: move for e in ids[:3] + [unknown]})
        assert sorted(r["updated"]) == sorted(ids[:3])
        assert r["notUpdated"] == {unknown: {"type": "notFound"}}
        assert get(c, ids[0])["mailboxIds"] == {work: True}
        assert get(c, ids[1])["mailboxIds"] == {work: True}
        assert get(c, ids[2])["mailboxIds"] == {work: True, roles["inbox"]: True}
        assert sorted(e for e, _ in uids(i, "Work").values()) == sorted(ids[:3])
        # an unknown target: each Email answered as jmap_email_update_one would
        r = set_update(c, {e: {f"mailboxIds/{work}": None, "mailboxIds/Mnosuch": True}
                           for e in ids[:2]})
        assert {k: v["properties"] for k, v in r["notUpdated"].items()} == \
            {e: ["mailboxIds/Mnosuch"] for e in ids[:2]}


def test_copy_over_quota(server):
    """A copy counts against the quota in full (store_copy): overQuota, nothing done,
    not even the keyword change of the same patch."""
    a, c = account(server)
    with imap(server, a) as i:
        i.cmd("CREATE Work")
        (e,) = delivered(server, a, i)
        names, roles = c.mailbox_ids()
        size = c.ok("Email/get", {"ids": [e], "properties": ["size"]})["list"][0]["size"]
        # room for two copies, not three
        server.kasten("user", "quota", a, str(size * 2 + size // 2))
        set_update(c, {e: {f"mailboxIds/{names['Work']}": True}})
        r = set_update(c, {e: {f"mailboxIds/{roles['trash']}": True,
                               "keywords/$seen": True}})
        assert r["notUpdated"][e]["type"] == "overQuota", r
        assert get(c, e) == {"id": e, "mailboxIds": {roles["inbox"]: True, names["Work"]: True},
                             "keywords": {}}
        assert uids(i, "Trash") == {}
        # a move needs no room
        r = set_update(c, {e: {"mailboxIds": {roles["trash"]: True, names["Work"]: True}}})
        assert r["updated"] == {e: None}, r


# ---- destroy ----

def test_destroy_every_copy_and_pop3_stat(mserver):
    """destroy expunges every copy (IMAP EXPUNGE in IDLE), POP3 STAT drops, the quota
    usage shrinks at once; a destroyed id is notFound afterwards."""
    a, c = account(mserver, quota="10M")
    with imap(mserver, a) as i:
        e1, e2 = delivered(mserver, a, i, 2)
        _, roles = c.mailbox_ids()
        set_update(c, {e1: {f"mailboxIds/{roles['trash']}": True}})
        with RawPOP3(mserver.host, mserver.ports["pop3"]) as p:
            p.login(a, PASSWORD)
            assert p.cmd("STAT").startswith(b"+OK 2 ")
        used = quota_used(c)
        with imap(mserver, a) as idle:
            idle.cmd("SELECT INBOX")
            idle.send(b"i1 IDLE\r\n")
            assert idle.response().startswith(b"+")
            r = c.ok("Email/set", {"destroy": [e1, "0123456789abcdef0123456789abcdef"]})
            assert r["destroyed"] == [e1]
            assert r["notDestroyed"] == {"0123456789abcdef0123456789abcdef":
                                         {"type": "notFound"}}
            assert read_responses(idle, 1, seconds=5) == [b"* 1 EXPUNGE"]
            idle.send(b"DONE\r\n")
            idle.until("i1")
        assert uids(i, "Trash") == {}
        with RawPOP3(mserver.host, mserver.ports["pop3"]) as p:
            p.login(a, PASSWORD)
            assert p.cmd("STAT").startswith(b"+OK 1 ")
        assert quota_used(c) < used
        assert c.ok("Email/get", {"ids": [e1]})["notFound"] == [e1]
        r = c.ok("Email/set", {"destroy": [e1]})
        assert r["notDestroyed"][e1]["type"] == "notFound"
        assert get(c, e2) is not None


def test_empty_trash(mserver):
    """Empty Trash: destroy every Email an Email/query of Trash returns, in one call."""
    a, c = account(mserver)
    with imap(mserver, a) as i:
        ids = delivered(mserver, a, i, 5)
        _, roles = c.mailbox_ids()
        set_update(c, {e: {"mailboxIds": {roles["trash"]: True}} for e in ids[:4]})
        q = c.ok("Email/query", {"filter": {"inMailbox": roles["trash"]}})
        assert sorted(q["ids"]) == sorted(ids[:4])
        r = c.ok("Email/set", {"destroy": q["ids"]})
        assert sorted(r["destroyed"]) == sorted(ids[:4])
        assert c.ok("Email/query", {"filter": {"inMailbox": roles["trash"]}})["ids"] == []
        assert [v[0] for v in uids(i, "INBOX").values()] == [ids[4]]


# ---- ifInState, changes, push ----

def test_if_in_state(mserver):
    a, c = account(mserver)
    with imap(mserver, a) as i:
        (e,) = delivered(mserver, a, i)
    st = c.ok("Email/get", {"ids": []})["state"]
    assert c.err("Email/set", {"ifInState": "1", "update": {e: {"keywords": {}}}}) \
        == "stateMismatch"
    r = c.ok("Email/set", {"ifInState": st, "update": {e: {"keywords/$seen": True}}})
    assert r["oldState"] == st and r["updated"] == {e: None}


def test_changes_and_eventsource_see_each_change(mserver):
    """Email/changes lists the update, then the destroy; a StateChange event for each."""
    a, c = account(mserver)
    with imap(mserver, a) as i:
        (e,) = delivered(mserver, a, i)
    s0 = c.ok("Email/get", {"ids": []})["state"]
    with EventStream(mserver, basic(a, PASSWORD)) as es:
        set_update(c, {e: {"keywords/$flagged": True}})
        ev = es.event("state", 5)
        assert "Email" in ev["data"]["changed"][c.acct]
        r = c.ok("Email/changes", {"sinceState": s0})
        assert (r["created"], r["updated"], r["destroyed"]) == ([], [e], [])
        s1 = r["newState"]
        c.ok("Email/set", {"destroy": [e]})
        ev2 = es.event("state", 5)
        assert int(ev2["id"]) > int(ev["id"])
        r = c.ok("Email/changes", {"sinceState": s1})
        assert (r["created"], r["updated"], r["destroyed"]) == ([], [], [e])
        # an import is created, and pushed
        _, roles = c.mailbox_ids()
        blob = c.upload(IMPORTED)["blobId"]
        s2 = r["newState"]
        new = c.ok("Email/import", {"emails": {"k": {"blobId": blob, "mailboxIds": {
            roles["inbox"]: True}}}})["created"]["k"]["id"]
        ev3 = es.event("state", 5)
        assert int(ev3["id"]) > int(ev2["id"])
        r = c.ok("Email/changes", {"sinceState": s2})
        assert (r["created"], r["updated"], r["destroyed"]) == ([new], [], [])


# ---- isolation ----

def test_isolation(mserver):
    """Another account's Email ids are notFound for update and destroy, its mailbox ids
    invalidProperties; its account id is accountNotFound; nothing of it changes."""
    a, ca = account(mserver)
    b, cb = account(mserver)
    with imap(mserver, a) as i:
        (ea,) = delivered(mserver, a, i)
    with imap(mserver, b) as i:
        (eb,) = delivered(mserver, b, i)
    _, roles_a = ca.mailbox_ids()
    _, roles_b = cb.mailbox_ids()
    r = set_update(cb, {ea: {"keywords/$seen": True}})
    assert r["notUpdated"][ea]["type"] == "notFound"
    r = cb.ok("Email/set", {"destroy": [ea]})
    assert r["notDestroyed"][ea]["type"] == "notFound"
    r = set_update(cb, {eb: {"mailboxIds": {roles_a["trash"]: True}}})
    assert r["notUpdated"][eb]["type"] == "invalidProperties"
    got, res = cb.call("Email/set", {"accountId": ca.acct, "destroy": [ea]})
    assert got == "error" and res["type"] == "accountNotFound"
    assert get(ca, ea) == {"id": ea, "mailboxIds": {roles_a["inbox"]: True}, "keywords": {}}
    assert get(cb, eb)["mailboxIds"] == {roles_b["inbox"]: True}


# ---- Email/import (RFC 8621 4.8) ----

IMPORTED = (b"From: Ann <ann@example.test>\r\nTo: bob@example.test\r\n"
            b"Subject: imported\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
            b"Message-ID: <imp-1@example.test>\r\n\r\nImported body.\r\n")


def body_of(i, mailbox, uid):
    i.cmd(f"SELECT {mailbox}")
    _, untagged = i.cmd(f"UID FETCH {uid} BODY.PEEK[]")
    line = next(u for u in untagged if b"BODY[]" in u)
    m = re.search(rb"BODY\[\] \{(\d+)\}\r\n", line)
    n = int(m.group(1))
    return line[m.end():m.end() + n]


def test_import_byte_exact(mserver):
    """An uploaded message imported into two mailboxes with keywords and receivedAt:
    IMAP BODY[] gives back exactly the upload, INTERNALDATE is receivedAt, one EMAILID
    in both; created holds id, blobId, threadId, size."""
    a, c = account(mserver)
    names, roles = c.mailbox_ids()
    blob = c.upload(IMPORTED, "message/rfc822")["blobId"]
    r = c.ok("Email/import", {"emails": {"k1": {
        "blobId": blob, "mailboxIds": {roles["inbox"]: True, roles["archive"]: True}
        if "archive" in roles else {roles["inbox"]: True, roles["trash"]: True},
        "keywords": {"$seen": True, "imported": True},
        "receivedAt": "2026-11-30T08:15:00Z"}}})
    created = r["created"]["k1"]
    assert r["notCreated"] is None and int(r["newState"]) > int(r["oldState"])
    assert set(created) == {"id", "blobId", "threadId", "size"}
    assert created["size"] == len(IMPORTED) and created["blobId"] == "G" + created["id"]
    e = get(c, created["id"], ("mailboxIds", "keywords", "receivedAt", "threadId"))
    assert e["keywords"] == {"$seen": True, "imported": True}
    assert e["receivedAt"] == "2026-11-30T08:15:00Z" and e["threadId"] == created["threadId"]
    assert len(e["mailboxIds"]) == 2
    with imap(mserver, a) as i:
        (uid,) = uids(i).keys()
        assert uids(i)[uid][0] == created["id"]
        assert body_of(i, "INBOX", uid) == IMPORTED
        _, untagged = i.cmd(f"UID FETCH {uid} (INTERNALDATE FLAGS)")
        assert b'INTERNALDATE "30-Nov-2026 08:15:00 +0000"' in untagged[0], untagged
        assert b"\\Seen" in untagged[0] and b"imported" in untagged[0]
    # the message's own blob id imports again as a new Email (a new EMAILID)
    r = c.ok("Email/import", {"emails": {"k2": {"blobId": created["blobId"],
                                                "mailboxIds": {roles["inbox"]: True}}}})
    assert r["created"]["k2"]["id"] != created["id"]
    assert r["created"]["k2"]["threadId"] == created["threadId"]


def test_import_attached_message(mserver):
    """The blob of a message/rfc822 part (C1: G<EMAILID>.<partId>, its decoded content)
    imports as an Email of its own, byte for byte."""
    a, c = account(mserver)
    _, roles = c.mailbox_ids()
    inner = IMPORTED
    outer = (b"From: carl@example.test\r\nTo: bob@example.test\r\nSubject: fwd\r\n"
             b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
             b"--XX\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
             b"--XX\r\nContent-Type: message/rfc822\r\n\r\n" + inner +
             b"\r\n--XX--\r\n")
    inbox = {roles["inbox"]: True}
    e = c.ok("Email/import", {"emails": {"o": {"blobId": c.upload(outer)["blobId"],
                                               "mailboxIds": inbox}}})["created"]["o"]
    r = c.ok("Email/import", {"emails": {"i": {"blobId": e["blobId"] + ".2",
                                               "mailboxIds": inbox}}})
    assert r["created"]["i"]["size"] == len(inner), r
    with imap(mserver, a) as i:
        uid = next(u for u, (eid, _) in uids(i).items() if eid == r["created"]["i"]["id"])
        assert body_of(i, "INBOX", uid) == inner


def test_import_bare_lf_becomes_crlf(mserver):
    a, c = account(mserver)
    _, roles = c.mailbox_ids()
    blob = c.upload(IMPORTED.replace(b"\r\n", b"\n"))["blobId"]
    r = c.ok("Email/import", {"emails": {"k": {"blobId": blob,
                                               "mailboxIds": {roles["inbox"]: True}}}})
    assert r["created"]["k"]["size"] == len(IMPORTED)
    with imap(mserver, a) as i:
        assert body_of(i, "INBOX", 1) == IMPORTED


def test_import_errors(mserver):
    """Per entry: invalidProperties for an unknown blob, mailbox, keyword or date; the
    others are imported; ifInState stateMismatch for the call."""
    a, c = account(mserver)
    _, roles = c.mailbox_ids()
    blob = c.upload(IMPORTED)["blobId"]
    inbox = {roles["inbox"]: True}
    r = c.ok("Email/import", {"emails": {
        "ok": {"blobId": blob, "mailboxIds": inbox},
        "noblob": {"blobId": "U" + "0" * 32, "mailboxIds": inbox},
        "badblob": {"blobId": "../etc/passwd", "mailboxIds": inbox},
        "nomb": {"blobId": blob, "mailboxIds": {}},
        "unknownmb": {"blobId": blob, "mailboxIds": {"Mnosuch": True}},
        "kw": {"blobId": blob, "mailboxIds": inbox, "keywords": {"a b": True}},
        "date": {"blobId": blob, "mailboxIds": inbox, "receivedAt": "yesterday"},
        "empty": {"blobId": c.upload(b"")["blobId"], "mailboxIds": inbox},
    }})
    assert list(r["created"]) == ["ok"]
    nc = r["notCreated"]
    for k, prop in [("noblob", "blobId"), ("badblob", "blobId"), ("nomb", "mailboxIds"),
                    ("unknownmb", "mailboxIds"), ("kw", "keywords"), ("date", "receivedAt")]:
        assert nc[k]["type"] == "invalidProperties" and nc[k]["properties"] == [prop], nc[k]
    assert nc["empty"]["type"] == "invalidEmail"
    assert c.err("Email/import", {"ifInState": "1", "emails": {}}) == "stateMismatch"
    assert c.err("Email/import", {"emails": []}) == "invalidArguments"


def test_import_over_quota(server):
    """An import past the quota is overQuota and stores nothing: two copies of a
    message that fits once, then a second Email once the first is in."""
    a, c = account(server, quota="2K")
    _, roles = c.mailbox_ids()
    msg = IMPORTED + b"y" * 1000 + b"\r\n"
    blob = c.upload(msg)["blobId"]
    r = c.ok("Email/import", {"emails": {"k": {"blobId": blob, "mailboxIds": {
        roles["inbox"]: True, roles["trash"]: True}}}})
    assert r["notCreated"]["k"]["type"] == "overQuota", r
    with imap(server, a) as i:
        assert uids(i, "INBOX") == {} and uids(i, "Trash") == {}
    inbox = {roles["inbox"]: True}
    r = c.ok("Email/import", {"emails": {"k": {"blobId": blob, "mailboxIds": inbox}}})
    assert r["created"]["k"]["size"] == len(msg)
    r = c.ok("Email/import", {"emails": {"k": {"blobId": blob, "mailboxIds": inbox}}})
    assert r["notCreated"]["k"]["type"] == "overQuota", r
    with imap(server, a) as i:
        assert len(uids(i, "INBOX")) == 1


def test_import_isolation(mserver):
    """Another account's upload, message and part blob ids are unknown blobs here
    (invalidProperties blobId), its mailbox ids unknown mailboxes."""
    a, ca = account(mserver)
    b, cb = account(mserver)
    _, roles_a = ca.mailbox_ids()
    _, roles_b = cb.mailbox_ids()
    blob_a = ca.upload(IMPORTED)["blobId"]
    ea = ca.ok("Email/import", {"emails": {"k": {"blobId": blob_a, "mailboxIds": {
        roles_a["inbox"]: True}}}})["created"]["k"]
    for blob in (blob_a, ea["blobId"], ea["blobId"] + ".1"):
        r = cb.ok("Email/import", {"emails": {"k": {"blobId": blob, "mailboxIds": {
            roles_b["inbox"]: True}}}})
        assert r["notCreated"]["k"]["type"] == "invalidProperties", (blob, r)
        assert r["notCreated"]["k"]["properties"] == ["blobId"]
    blob_b = cb.upload(IMPORTED)["blobId"]
    r = cb.ok("Email/import", {"emails": {"k": {"blobId": blob_b, "mailboxIds": {
        roles_a["inbox"]: True}}}})
    assert r["notCreated"]["k"]["properties"] == ["mailboxIds"]
    with imap(mserver, a) as i:
        assert len(uids(i)) == 1


# ---- create (the create rules themselves are CREATE's tests: test_jmap_email_create) ----

def test_create_stores_into_mailboxes(mserver):
    """Email/set create: the Email written by jmap_email_build lands in its mailboxes
    with its keywords (a draft in Drafts, as the webmail saves one); #cid ids resolve
    for a later update in the same request."""
    a, c = account(mserver)
    _, roles = c.mailbox_ids()
    resp = c.calls([
        ["Email/set", {"create": {"d1": {
            "mailboxIds": {roles["drafts"]: True}, "keywords": {"$draft": True},
            "from": [{"email": a}], "subject": "draft",
            "bodyValues": {"b": {"value": "Hello"}},
            "textBody": [{"partId": "b", "type": "text/plain"}]}}}, "s1"],
        ["Email/set", {"update": {"#d1": {"keywords/$seen": True}}}, "s2"],
    ])
    created = resp[0][1]["created"]["d1"]
    assert set(created) == {"id", "blobId", "threadId", "size"}
    assert resp[1][1]["updated"] == {created["id"]: None}
    assert get(c, created["id"]) == {"id": created["id"],
                                     "mailboxIds": {roles["drafts"]: True},
                                     "keywords": {"$draft": True, "$seen": True}}
    with imap(mserver, a) as i:
        ((uid, (eid, flags)),) = uids(i, "Drafts").items()
        assert eid == created["id"] and "\\Draft" in flags
        assert b"Subject: draft\r\n" in body_of(i, "Drafts", uid)
    r = c.ok("Email/set", {"create": {"x": {"subject": "no mailbox"}}})
    assert r["notCreated"]["x"]["type"] == "invalidProperties"
    assert r["notCreated"]["x"]["properties"] == ["mailboxIds"]


def test_creation_ids_across_methods(mserver):
    """A Mailbox created earlier in the request is named by "#cid" in Email/import's
    and Email/set's mailboxIds (RFC 8620 5.3 creation ids)."""
    a, c = account(mserver)
    blob = c.upload(IMPORTED)["blobId"]
    resp = c.calls([
        ["Mailbox/set", {"create": {"m": {"name": "Fresh"}, "n": {"name": "Other"}}}, "0"],
        ["Email/import", {"emails": {"e": {"blobId": blob, "mailboxIds": {"#m": True}}}},
         "1"],
        ["Email/set", {"update": {"#e": {"mailboxIds": {"#n": True}}}}, "2"],
    ])
    mb = resp[0][1]["created"]
    e = resp[1][1]["created"]["e"]["id"]
    assert resp[2][1]["updated"] == {e: None}, resp[2]
    assert get(c, e)["mailboxIds"] == {mb["n"]["id"]: True}
    with imap(mserver, a) as i:
        assert [v[0] for v in uids(i, "Other").values()] == [e]


def test_import_and_move_reach_idle_as_exists(mserver):
    """An import into INBOX and a move into it are EXISTS in an IDLE session there at
    once (issue 10 item 3: a change made over JMAP reaches IDLE sessions)."""
    a, c = account(mserver)
    _, roles = c.mailbox_ids()
    blob = c.upload(IMPORTED)["blobId"]
    e = c.ok("Email/import", {"emails": {"k": {"blobId": blob, "mailboxIds": {
        roles["trash"]: True}}}})["created"]["k"]["id"]
    with imap(mserver, a) as idle:
        idle.cmd("SELECT INBOX")
        idle.send(b"i1 IDLE\r\n")
        assert idle.response().startswith(b"+")
        c.ok("Email/import", {"emails": {"k": {"blobId": blob, "mailboxIds": {
            roles["inbox"]: True}}}})
        wait_for(idle, rb"^\* 1 EXISTS$", seconds=5)
        set_update(c, {e: {f"mailboxIds/{roles['trash']}": None,
                           f"mailboxIds/{roles['inbox']}": True}})
        wait_for(idle, rb"^\* 2 EXISTS$", seconds=5)
        idle.send(b"DONE\r\n")
        idle.until("i1")
