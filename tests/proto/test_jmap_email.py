"""Email/changes, Email/query, Email/queryChanges, Thread/get and Thread/changes over
HTTP on a real `kasten serve` (issue 10, wave 2; RFC 8621 3, 4 and RFC 8620 5.2, 5.5,
5.6). Mail arrives by SMTP or IMAP APPEND (with an INTERNALDATE, so receivedAt orders
are exact) and is flagged, moved and expunged over IMAP: the JMAP view must show
exactly what happened."""

import base64
import http.client
import json
import re

from kasten_test import RawIMAP, deliver, make_message, unique_user

KASTEN_LISTEN = ("smtp", "imap", "http")
KASTEN_CONFIG = {"limits": {"max_unauthenticated_per_ip": 100}}
PASSWORD = "Jmap-email-pass-1"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"


def basic(a):
    return "Basic " + base64.b64encode(f"{a}:{PASSWORD}".encode()).decode()


def user(server, prefix="je"):
    a = unique_user(prefix)
    server.user_add(a, PASSWORD)
    return a


def call(server, a, name, args, acct=None):
    """One method call as a; (response name, arguments). accountId defaults to a's."""
    c = http.client.HTTPConnection(server.host, server.ports["http"], timeout=30)
    try:
        if acct is None:
            c.request("GET", "/jmap/session", headers={"Authorization": basic(a)})
            r = c.getresponse()
            acct = next(iter(json.loads(r.read())["accounts"]))
        body = {"using": [CORE, MAIL],
                "methodCalls": [[name, dict({"accountId": acct}, **args), "c0"]]}
        c.request("POST", "/jmap/api", body=json.dumps(body).encode(),
                  headers={"Authorization": basic(a), "Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        assert r.status == 200, data
        resp = json.loads(data)["methodResponses"]
        assert len(resp) == 1 and resp[0][2] == "c0", resp
        return resp[0][0], resp[0][1]
    finally:
        c.close()


def ok(server, a, name, args, acct=None):
    got, res = call(server, a, name, args, acct)
    assert got == name, res
    return res


def err(server, a, name, args, acct=None):
    got, res = call(server, a, name, args, acct)
    assert got == "error", res
    return res["type"]


def state(server, a):
    return ok(server, a, "Email/query", {"limit": 0})["queryState"]


def imap(server, a):
    c = RawIMAP(server.host, server.ports["imap"])
    c.login(a, PASSWORD)
    return c


def ids_of(c, mailbox="INBOX"):
    """[(uid, EMAILID, THREADID)] of a mailbox, by uid."""
    c.cmd(f"SELECT {mailbox}")
    _, untagged = c.cmd("UID FETCH 1:* (EMAILID THREADID)")
    out = []
    for line in untagged:
        m = re.search(rb"UID (\d+).*EMAILID \(([0-9a-f]+)\).*THREADID \((T[0-9a-f]+)\)", line)
        if m:
            out.append((int(m.group(1)), m.group(2).decode(), m.group(3).decode()))
    return sorted(out)


def mailboxid(c, mailbox="INBOX"):
    _, untagged = c.cmd(f"STATUS {mailbox} (MAILBOXID)")
    return re.search(rb"MAILBOXID \(([^)]+)\)", untagged[0]).group(1).decode()


def append(c, msg, day, flags=""):
    """APPEND with INTERNALDATE day (1-31) of Jan 2026, so receivedAt orders exactly."""
    st, _ = c.cmd(f'APPEND INBOX ({flags}) "{day:02d}-Jan-2026 10:00:00 +0000" '
                  f'{{{len(msg)}+}}\r\n'.encode() + msg)
    assert b" OK " in st, st


def all_changes(server, a, method, since, max_changes):
    """Page through /changes from since with maxChanges; (created, updated, destroyed,
    pages, final state)."""
    created, updated, destroyed, pages = [], [], [], 0
    while True:
        r = ok(server, a, method, {"sinceState": since, "maxChanges": max_changes})
        assert len(r["created"]) + len(r["updated"]) + len(r["destroyed"]) <= max_changes
        assert r["oldState"] == since
        created += r["created"]
        updated += r["updated"]
        destroyed += r["destroyed"]
        pages += 1
        since = r["newState"]
        if not r["hasMoreChanges"]:
            return created, updated, destroyed, pages, since


# ---- Email/changes, Thread/changes (RFC 8620 5.2, RFC 8621 4.3, 3.2) ----

def test_email_changes_smtp_and_imap(mserver):
    """Delivered by SMTP -> created; flagged, moved -> updated; expunged -> destroyed;
    created and destroyed after sinceState -> in no list (RFC 8620 5.2)."""
    a = user(mserver)
    s0 = state(mserver, a)
    for i in range(3):
        deliver(mserver, a, make_message(f"changes {i}"))
    r = ok(mserver, a, "Email/changes", {"sinceState": s0})
    with imap(mserver, a) as c:
        msgs = ids_of(c)
        e1, e2, e3 = (m[1] for m in msgs)
        assert sorted(r["created"]) == sorted([e1, e2, e3])
        assert r["updated"] == [] and r["destroyed"] == [] and not r["hasMoreChanges"]
        assert int(r["newState"]) > int(s0)
        s1 = r["newState"]
        # nothing happened since s1
        r = ok(mserver, a, "Email/changes", {"sinceState": s1})
        assert (r["created"], r["updated"], r["destroyed"], r["newState"]) == ([], [], [], s1)
        # flags: updated
        c.cmd("UID STORE 1 +FLAGS (\\Flagged)")
        r = ok(mserver, a, "Email/changes", {"sinceState": s1})
        assert (r["created"], r["updated"], r["destroyed"]) == ([], [e1], [])
        s2 = r["newState"]
        # moved to another mailbox: the same Email, updated (its mailboxIds changed)
        assert b" OK " in c.cmd("CREATE Keep")[0]
        assert b" OK " in c.cmd("UID MOVE 2 Keep")[0]
        r = ok(mserver, a, "Email/changes", {"sinceState": s2})
        assert (r["created"], r["updated"], r["destroyed"]) == ([], [e2], [])
        s3 = r["newState"]
        # expunged (its only copy): destroyed
        c.cmd("UID STORE 3 +FLAGS.SILENT (\\Deleted)")
        assert b" OK " in c.cmd("UID EXPUNGE 3")[0]
        r = ok(mserver, a, "Email/changes", {"sinceState": s3})
        assert (r["created"], r["updated"], r["destroyed"]) == ([], [], [e3])
        s4 = r["newState"]
        # a second copy, then that copy expunged: updated twice, never destroyed
        assert b" OK " in c.cmd("UID COPY 1 Keep")[0]
        r = ok(mserver, a, "Email/changes", {"sinceState": s4})
        assert (r["created"], r["updated"], r["destroyed"]) == ([], [e1], [])
        s5 = r["newState"]
        c.cmd("SELECT Keep")
        c.cmd("UID STORE 2 +FLAGS.SILENT (\\Deleted)")
        assert b" OK " in c.cmd("UID EXPUNGE 2")[0]
        r = ok(mserver, a, "Email/changes", {"sinceState": s5})
        assert (r["created"], r["updated"], r["destroyed"]) == ([], [e1], [])
        # from s1: the two updated, the third destroyed
        r = ok(mserver, a, "Email/changes", {"sinceState": s1})
        assert (sorted(r["updated"]), r["destroyed"], r["created"]) == (sorted([e1, e2]), [e3], [])
        # from s0: e1, e2 created (changed since too: still created); e3 left out
        r = ok(mserver, a, "Email/changes", {"sinceState": s0})
        assert (sorted(r["created"]), r["updated"], r["destroyed"]) == (sorted([e1, e2]), [], [])
        # Thread/changes: the three threads were created after s0, e3's is gone again
        t = {m[1]: m[2] for m in msgs}
        r = ok(mserver, a, "Thread/changes", {"sinceState": s0})
        assert sorted(r["created"]) == sorted([t[e1], t[e2]]) and r["destroyed"] == []
        r = ok(mserver, a, "Thread/changes", {"sinceState": s3})
        assert (r["created"], r["destroyed"]) == ([], [t[e3]])


def test_email_changes_paging_and_errors(mserver):
    """maxChanges pages with hasMoreChanges and intermediate states (RFC 8620 5.2);
    a state we never gave out: cannotCalculateChanges; bad arguments."""
    a = user(mserver)
    s0 = state(mserver, a)
    for i in range(7):
        deliver(mserver, a, make_message(f"page {i}"))
    with imap(mserver, a) as c:
        want = sorted(m[1] for m in ids_of(c))
    created, updated, destroyed, pages, end = all_changes(mserver, a, "Email/changes", s0, 2)
    assert sorted(created) == want and len(created) == 7 and pages >= 4
    assert (updated, destroyed) == ([], [])
    assert end == state(mserver, a)
    r = ok(mserver, a, "Email/changes", {"sinceState": s0, "maxChanges": 3})
    assert r["hasMoreChanges"] and len(r["created"]) == 3
    assert int(s0) < int(r["newState"]) < int(end)
    for bad in ("x", "01", str(int(end) + 1000), "-1", ""):
        assert err(mserver, a, "Email/changes", {"sinceState": bad}) == \
            "cannotCalculateChanges", bad
        assert err(mserver, a, "Thread/changes", {"sinceState": bad}) == \
            "cannotCalculateChanges", bad
    assert err(mserver, a, "Email/changes", {"sinceState": s0, "maxChanges": 0}) == \
        "invalidArguments"
    assert err(mserver, a, "Email/changes", {}) == "invalidArguments"
    assert err(mserver, a, "Email/changes", {"sinceState": 5}) == "invalidArguments"


# ---- Email/query (RFC 8621 4.4, RFC 8620 5.5) ----

def test_email_query_paging(mserver):
    """30 messages with distinct receivedAt and size: sorts, position (negative too),
    anchor + anchorOffset, limit, calculateTotal, exactly."""
    a = user(mserver)
    with imap(mserver, a) as c:
        # message i: day (i * 7) % 30 + 1 (distinct days in a shuffled order), size
        # growing with i
        for i in range(30):
            append(c, make_message(f"q{i}", b"x" * (10 * i) + b"\r\n"), (i * 7) % 30 + 1)
        msgs = ids_of(c)
        inbox = mailboxid(c)
        _, untagged = c.cmd("UID FETCH 1:* (INTERNALDATE RFC822.SIZE EMAILID)")
    days = {}
    sizes = {}
    for line in untagged:
        m = re.search(rb'INTERNALDATE "(\d+)-.*RFC822.SIZE (\d+).*EMAILID \(([0-9a-f]+)\)', line)
        days[m.group(3).decode()] = int(m.group(1))
        sizes[m.group(3).decode()] = int(m.group(2))
    assert len(days) == 30
    ids = [m[1] for m in msgs]
    by_date = sorted(ids, key=lambda e: (days[e], e))
    by_size = sorted(ids, key=lambda e: (sizes[e], e))
    f = {"inMailbox": inbox}

    def q(**kw):
        return ok(mserver, a, "Email/query", dict({"filter": f}, **kw))

    asc = [{"property": "receivedAt", "isAscending": True}]
    r = q(sort=asc, calculateTotal=True)
    assert (r["ids"], r["position"], r["total"]) == (by_date, 0, 30)
    assert r["canCalculateChanges"] is True and r["queryState"] == state(mserver, a)
    r = q(sort=[{"property": "receivedAt", "isAscending": False}])
    assert r["ids"] == by_date[::-1] and "total" not in r
    # no sort: receivedAt descending (the module's documented default)
    assert q()["ids"] == by_date[::-1]
    # no filter: the whole account (all in INBOX here)
    assert ok(mserver, a, "Email/query", {"sort": asc})["ids"] == by_date
    assert q(sort=[{"property": "size"}])["ids"] == by_size
    assert q(sort=[{"property": "size", "isAscending": False}])["ids"] == by_size[::-1]
    # position and limit
    r = q(sort=asc, position=10, limit=5, calculateTotal=True)
    assert (r["ids"], r["position"], r["total"]) == (by_date[10:15], 10, 30)
    assert "limit" not in r
    r = q(sort=asc, position=-5, limit=3)
    assert (r["ids"], r["position"]) == (by_date[25:28], 25)
    r = q(sort=asc, position=-100, limit=2)
    assert (r["ids"], r["position"]) == (by_date[0:2], 0)
    r = q(sort=asc, position=28, limit=10)
    assert (r["ids"], r["position"]) == (by_date[28:], 28)
    r = q(sort=asc, position=40, calculateTotal=True)
    assert (r["ids"], r["total"]) == ([], 30)
    r = q(sort=asc, limit=0, calculateTotal=True)
    assert (r["ids"], r["total"]) == ([], 30)
    # paging through with position: every id once, in order
    seen = []
    for p in range(0, 30, 7):
        seen += q(sort=asc, position=p, limit=7)["ids"]
    assert seen == by_date
    # anchor (position ignored) and anchorOffset, clamped at the start
    r = q(sort=asc, anchor=by_date[7], anchorOffset=-2, limit=3, position=20)
    assert (r["ids"], r["position"]) == (by_date[5:8], 5)
    r = q(sort=asc, anchor=by_date[1], anchorOffset=-5, limit=3)
    assert (r["ids"], r["position"]) == (by_date[0:3], 0)
    r = q(sort=asc, anchor=by_date[20], anchorOffset=4, limit=10)
    assert (r["ids"], r["position"]) == (by_date[24:30], 24)
    # paging with the anchor of the last page's last id (RFC 8620 5.5)
    seen = q(sort=asc, limit=8)["ids"]
    while len(seen) < 30:
        seen += q(sort=asc, anchor=seen[-1], anchorOffset=1, limit=8)["ids"]
    assert seen == by_date
    assert err(mserver, a, "Email/query", {"anchor": "0" * 32}) == "anchorNotFound"
    # the extremes of an Int (RFC 8620 1.3: +-(2^53 - 1)) are answered, past them refused
    big = 2 ** 53 - 1
    for kw, want in ((dict(anchor=by_date[5], anchorOffset=big), ([], 30)),
                     (dict(anchor=by_date[5], anchorOffset=-big), (by_date[:2], 0)),
                     (dict(position=big), ([], 30)), (dict(position=-big), (by_date[:2], 0))):
        r = q(sort=asc, limit=2, **kw)
        assert (r["ids"], r["position"]) == want, kw
    for kw in (dict(anchor=by_date[5], anchorOffset=2 ** 63 - 1), dict(position=-2 ** 53)):
        assert err(mserver, a, "Email/query", dict(sort=asc, **kw)) == "invalidArguments", kw
    # without a limit the server says which one it applied
    assert q(sort=asc)["limit"] == 1000


def test_email_query_unsupported_and_querychanges(mserver):
    """What the server does not know is refused, never answered wrong (RFC 8620 5.5;
    the filters and sorts it knows: test_jmap_email_query.py)."""
    a = user(mserver)
    deliver(mserver, a, make_message("one"))
    for f in ({"nosuch": "x"}, {"operator": "XOR", "conditions": [{}]}):
        assert err(mserver, a, "Email/query", {"filter": f}) == "unsupportedFilter", f
    for s in ([{"property": "nosuch"}], [{"property": "subject", "collation": "i;x"}]):
        assert err(mserver, a, "Email/query", {"sort": s}) == "unsupportedSort", s
    assert err(mserver, a, "Email/query", {"filter": {"inMailbox": 3}}) == "invalidArguments"
    assert err(mserver, a, "Email/query", {"collapseThreads": "yes"}) == "invalidArguments"
    assert err(mserver, a, "Email/query", {"position": "1"}) == "invalidArguments"
    # queryChanges (test_jmap_email_query.py has the rest): from the current state nothing
    s = state(mserver, a)
    r = ok(mserver, a, "Email/queryChanges", {"sinceQueryState": s})
    assert (r["removed"], r["added"], r["newQueryState"]) == ([], [], s)
    assert err(mserver, a, "Email/queryChanges", {"sinceQueryState": s,
                                                  "collapseThreads": True}) == \
        "cannotCalculateChanges"
    assert err(mserver, a, "Email/queryChanges", {}) == "invalidArguments"
    assert err(mserver, a, "Email/queryChanges",
               {"sinceQueryState": s, "filter": {"nosuch": "x"}}) == "unsupportedFilter"


# ---- threads (RFC 8621 3.1, 4.4.3 collapseThreads) ----

def test_collapse_threads_and_thread_get(mserver):
    """A reply (In-Reply-To) joins its parent's thread: Thread/get lists both by
    receivedAt; collapseThreads keeps the first of each thread in the sort order."""
    a = user(mserver)
    root = make_message("root")
    root_mid = re.search(rb"Message-ID: (<[^>]+>)", root).group(1)
    reply = make_message("Re: root", extra=b"In-Reply-To: " + root_mid + b"\r\n")
    other = make_message("other")
    with imap(mserver, a) as c:
        append(c, reply, 5)   # appended first, received later than the root
        append(c, root, 3)
        append(c, other, 4)
        msgs = ids_of(c)
    (_, e_reply, t_reply), (_, e_root, t_root), (_, e_other, t_other) = msgs
    assert t_reply == t_root != t_other
    r = ok(mserver, a, "Thread/get", {"ids": [t_root, t_other, "T" + "0" * 32, "x"]})
    assert r["list"] == [{"id": t_root, "emailIds": [e_root, e_reply]},
                         {"id": t_other, "emailIds": [e_other]}]
    assert r["notFound"] == ["T" + "0" * 32, "x"] and r["state"] == state(mserver, a)
    r = ok(mserver, a, "Thread/get", {"ids": [t_other], "properties": ["id"]})
    assert r["list"] == [{"id": t_other}]
    r = ok(mserver, a, "Thread/get", {"ids": None})
    assert sorted(r["list"], key=lambda t: t["id"]) == sorted(
        [{"id": t_root, "emailIds": [e_root, e_reply]}, {"id": t_other, "emailIds": [e_other]}],
        key=lambda t: t["id"])
    asc = [{"property": "receivedAt", "isAscending": True}]
    r = ok(mserver, a, "Email/query", {"sort": asc, "calculateTotal": True})
    assert (r["ids"], r["total"]) == ([e_root, e_other, e_reply], 3)
    r = ok(mserver, a, "Email/query", {"sort": asc, "collapseThreads": True,
                                       "calculateTotal": True})
    assert (r["ids"], r["total"]) == ([e_root, e_other], 2)
    r = ok(mserver, a, "Email/query", {"collapseThreads": True, "calculateTotal": True})
    assert (r["ids"], r["total"]) == ([e_reply, e_other], 2)
    assert err(mserver, a, "Thread/get", {"ids": [t_root], "properties": ["subject"]}) == \
        "invalidArguments"


# ---- isolation between accounts ----

def test_isolation_between_accounts(mserver):
    """Another account's Emails, Threads and Mailboxes are not there for a: its mailbox
    in inMailbox matches nothing (the answer of an empty mailbox), its thread is
    notFound, its Email no anchor, its changes not in a's; its accountId is refused."""
    a, b = user(mserver, "jia"), user(mserver, "jib")
    deliver(mserver, a, make_message("mine"))
    s_a = state(mserver, a)
    deliver(mserver, b, make_message("theirs"))
    with imap(mserver, b) as c:
        (_, e_b, t_b), = ids_of(c)
        inbox_b = mailboxid(c)
    with imap(mserver, a) as c:
        (_, e_a, t_a), = ids_of(c)
        inbox_a = mailboxid(c)
    assert inbox_a != inbox_b
    # b itself sees its own
    r = ok(mserver, b, "Email/query", {"filter": {"inMailbox": inbox_b}, "calculateTotal": True})
    assert (r["ids"], r["total"]) == ([e_b], 1)
    r = ok(mserver, a, "Email/query", {"filter": {"inMailbox": inbox_b}, "calculateTotal": True})
    assert (r["ids"], r["total"], r["position"]) == ([], 0, 0)
    r = ok(mserver, a, "Email/query", {"calculateTotal": True})
    assert (r["ids"], r["total"]) == ([e_a], 1)
    assert err(mserver, a, "Email/query", {"anchor": e_b}) == "anchorNotFound"
    r = ok(mserver, a, "Thread/get", {"ids": [t_b, t_a]})
    assert r["notFound"] == [t_b] and [t["id"] for t in r["list"]] == [t_a]
    r = ok(mserver, a, "Email/changes", {"sinceState": s_a})
    assert (r["created"], r["updated"], r["destroyed"]) == ([], [], [])
    _, sb = call(mserver, b, "Email/query", {"limit": 0})
    acct_b = sb["accountId"]
    for name, args in (("Email/query", {}), ("Email/changes", {"sinceState": "0"}),
                       ("Thread/get", {"ids": [t_b]}), ("Thread/changes", {"sinceState": "0"}),
                       ("Email/queryChanges", {"sinceQueryState": "0"})):
        assert err(mserver, a, name, args, acct=acct_b) == "accountNotFound", name


def test_methods_need_the_mail_capability(mserver):
    """RFC 8620 3.6.2: a method of a capability the request's `using` lacks is
    unknownMethod."""
    a = user(mserver)
    c = http.client.HTTPConnection(mserver.host, mserver.ports["http"], timeout=30)
    try:
        body = {"using": [CORE], "methodCalls": [["Email/query", {"accountId": "A1"}, "c0"]]}
        c.request("POST", "/jmap/api", body=json.dumps(body).encode(),
                  headers={"Authorization": basic(a), "Content-Type": "application/json"})
        r = c.getresponse()
        resp = json.loads(r.read())["methodResponses"]
        assert resp[0][0] == "error" and resp[0][1]["type"] == "unknownMethod", resp
    finally:
        c.close()


# ---- Email/get, the index's properties (RFC 8621 4.1, 4.2) ----

def test_email_get_index_properties(mserver):
    """id, blobId, threadId, mailboxIds, keywords (IMAP flags as JMAP keywords,
    lower-case, no \\Deleted), size, receivedAt (UTC); unknown and other accounts' ids
    are notFound; unknown properties are refused (the others: test_jmap_email_get.py)."""
    a, b = user(mserver, "jga"), user(mserver, "jgb")
    deliver(mserver, a, make_message("by smtp"))
    deliver(mserver, b, make_message("of b"))
    with imap(mserver, a) as c:
        append(c, make_message("appended"), 3, "\\Seen \\Answered \\Deleted $Forwarded MyKw")
        assert b" OK " in c.cmd("CREATE Keep")[0]
        c.cmd("SELECT INBOX")
        assert b" OK " in c.cmd("UID COPY 2 Keep")[0]
        (_, e1, t1), (_, e2, t2) = ids_of(c)
        inbox, keep = mailboxid(c), mailboxid(c, "Keep")
        c.cmd("SELECT INBOX")
        _, untagged = c.cmd("UID FETCH 1:2 (RFC822.SIZE)")
        sizes = [int(re.search(rb"RFC822.SIZE (\d+)", l).group(1)) for l in untagged]
    with imap(mserver, b) as c:
        (_, e_b, _), = ids_of(c)
    index = ["blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt"]
    r = ok(mserver, a, "Email/get", {"ids": [e2, e1, "0" * 32, e_b], "properties": index})
    assert r["notFound"] == ["0" * 32, e_b] and r["state"] == state(mserver, a)
    got2, got1 = r["list"]
    assert got2 == {"id": e2, "blobId": "G" + e2, "threadId": t2,
                    "mailboxIds": {inbox: True, keep: True},
                    "keywords": {"$seen": True, "$answered": True, "$forwarded": True,
                                 "mykw": True},
                    "size": sizes[1], "receivedAt": "2026-01-03T10:00:00Z"}
    assert (got1["mailboxIds"], got1["keywords"], got1["size"], got1["threadId"]) == \
        ({inbox: True}, {}, sizes[0], t1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", got1["receivedAt"])
    r = ok(mserver, a, "Email/get", {"ids": [e1], "properties": ["threadId"]})
    assert r["list"] == [{"id": e1, "threadId": t1}]
    r = ok(mserver, a, "Email/get", {"ids": None, "properties": ["size"]})
    assert sorted(r["list"], key=lambda e: e["id"]) == sorted(
        [{"id": e1, "size": sizes[0]}, {"id": e2, "size": sizes[1]}], key=lambda e: e["id"])
    for p in ("nope", "header:From:asDate", "header:X:asNothing"):
        assert err(mserver, a, "Email/get", {"ids": [e1], "properties": [p]}) == \
            "invalidArguments", p
    # the blobId downloads the message
    acct = ok(mserver, a, "Email/get", {"ids": []})["accountId"]
    c = http.client.HTTPConnection(mserver.host, mserver.ports["http"], timeout=30)
    try:
        c.request("GET", f"/jmap/download/{acct}/G{e2}/m.eml", headers={"Authorization": basic(a)})
        resp = c.getresponse()
        body = resp.read()
        assert resp.status == 200 and len(body) == sizes[1] and b"Subject: appended" in body
    finally:
        c.close()
