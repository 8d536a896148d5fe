"""JMAP Mailbox/get, Mailbox/changes, Quota/get and Identity/get over HTTP (issue 10;
RFC 8621 2 and 6, RFC 9425) on a real `kasten serve`: ids are the IMAP MAILBOXIDs,
changes made over IMAP (CREATE, RENAME, STORE \\Seen, APPEND) show in Mailbox/changes
and in the counts, and one account reaches nothing of another's by id."""

import re

from kasten_test import RawIMAP, deliver, make_message, unique_user
from test_jmap_core import CORE, MAIL, PASSWORD, api, basic, account_id, user

KASTEN_LISTEN = ("smtp", "imap", "http")
KASTEN_CONFIG = {"limits": {"max_unauthenticated_per_ip": 100}}
QUOTA = "urn:ietf:params:jmap:quota"
SUBMISSION = "urn:ietf:params:jmap:submission"
COUNTS = ["totalEmails", "unreadEmails", "totalThreads", "unreadThreads"]


def call(server, a, method, args, using=(CORE, MAIL)):
    """One method call as a; its [name, arguments] (asserting the HTTP status)."""
    st, resp = api(server, basic(a), {"using": list(using),
                                     "methodCalls": [[method, args, "c0"]]})
    assert st == 200, resp
    name, res, cid = resp["methodResponses"][0]
    assert cid == "c0"
    return name, res


def ok(c, command):
    tagged, _ = c.cmd(command)
    assert tagged.split()[1] == b"OK", tagged


def mailboxes(server, a, acct, **extra):
    name, res = call(server, a, "Mailbox/get", dict({"accountId": acct, "ids": None}, **extra))
    assert name == "Mailbox/get", res
    return res, {m["id"]: m for m in res["list"]}


def by_name(mbs, name):
    return next(m for m in mbs.values() if m["name"] == name)


def imap_mailboxids(server, a):
    """name -> MAILBOXID as IMAP (RFC 8474 STATUS MAILBOXID) tells it."""
    out = {}
    with RawIMAP(server.host, server.ports["imap"]) as c:
        c.login(a, PASSWORD)
        _, lines = c.cmd('LIST "" "*" RETURN (STATUS (MAILBOXID))')
        for line in lines:
            m = re.search(rb'STATUS "?([^" ]+)"? \(MAILBOXID \(([^)]+)\)\)', line)
            if m:
                out[m.group(1).decode()] = m.group(2).decode()
    return out


def test_mailbox_get_ids_roles_and_tree(mserver):
    """RFC 8621 2.1: id = MAILBOXID, name = last level, parentId, role, myRights."""
    a = user(mserver, "mbg")
    acct = account_id(mserver, a)
    with RawIMAP(mserver.host, mserver.ports["imap"]) as c:
        c.login(a, PASSWORD)
        ok(c, "CREATE Projects/Alpha")
        c.cmd("CREATE Orphan/Child")
        c.cmd("DELETE Orphan")
        c.cmd("UNSUBSCRIBE INBOX")
    ids = imap_mailboxids(mserver, a)
    res, mbs = mailboxes(mserver, a, acct)
    assert res["accountId"] == acct and res["notFound"] == [] and res["state"].isdigit()
    assert set(mbs) == set(ids.values()) and len(mbs) >= 4
    inbox = mbs[ids["INBOX"]]
    assert inbox["role"] == "inbox" and inbox["parentId"] is None
    assert inbox["isSubscribed"] is False
    assert inbox["myRights"]["mayDelete"] is False and inbox["myRights"]["mayRename"] is False
    alpha = mbs[ids["Projects/Alpha"]]
    assert alpha["name"] == "Alpha" and alpha["parentId"] == ids["Projects"]
    assert alpha["role"] is None and alpha["sortOrder"] == 0
    assert alpha["myRights"] == {k: True for k in (
        "mayReadItems", "mayAddItems", "mayRemoveItems", "maySetSeen", "maySetKeywords",
        "mayCreateChild", "mayRename", "mayDelete", "maySubmit")}
    assert mbs[ids["Projects"]]["parentId"] is None
    # the missing level "Orphan": its child is top level
    assert "Orphan" not in ids and mbs[ids["Orphan/Child"]]["parentId"] is None
    roles = {m["role"] for m in mbs.values()}
    assert {"inbox", "drafts", "sent", "trash", "junk"} <= roles
    # ids and properties (RFC 8620 5.1): "id" always, the rest as asked
    name, res = call(mserver, a, "Mailbox/get", {"accountId": acct,
                                                "ids": [ids["Projects"], "nope-1"],
                                                "properties": ["name"]})
    assert res["list"] == [{"id": ids["Projects"], "name": "Projects"}]
    assert res["notFound"] == ["nope-1"]
    name, res = call(mserver, a, "Mailbox/get", {"accountId": acct, "properties": ["bogus"]})
    assert name == "error" and res["type"] == "invalidArguments"
    # the mail capability is required (RFC 8620 3.6.2 unknownMethod)
    name, res = call(mserver, a, "Mailbox/get", {"accountId": acct}, using=(CORE,))
    assert name == "error" and res["type"] == "unknownMethod"


def test_counts_and_changes_follow_imap(mserver):
    """Counts (RFC 8621 2: unread = neither $seen nor $draft; an Email in two mailboxes
    counts in each; threads) and Mailbox/changes (2.2, updatedProperties) after IMAP
    APPEND, STORE \\Seen, CREATE and RENAME."""
    a = user(mserver, "mbc")
    acct = account_id(mserver, a)
    deliver(mserver, a, make_message("first", b"One.\r\n"))
    deliver(mserver, a, make_message("second", b"Two.\r\n"))
    ids = imap_mailboxids(mserver, a)
    res, mbs = mailboxes(mserver, a, acct)
    inbox = mbs[ids["INBOX"]]
    assert [inbox[k] for k in COUNTS] == [2, 2, 2, 2]
    s0 = res["state"]

    # STORE \Seen: only the counts change
    with RawIMAP(mserver.host, mserver.ports["imap"]) as c:
        c.login(a, PASSWORD)
        c.cmd("SELECT INBOX")
        ok(c, "UID STORE 1 +FLAGS (\\Seen)")
    _, mbs = mailboxes(mserver, a, acct)
    assert [mbs[ids["INBOX"]][k] for k in COUNTS] == [2, 1, 2, 1]
    name, ch = call(mserver, a, "Mailbox/changes", {"accountId": acct, "sinceState": s0})
    assert name == "Mailbox/changes", ch
    assert ch["oldState"] == s0 and ch["newState"] != s0 and not ch["hasMoreChanges"]
    assert ch["updated"] == [ids["INBOX"]] and ch["created"] == [] and ch["destroyed"] == []
    assert ch["updatedProperties"] == COUNTS
    s1 = ch["newState"]

    # CREATE, APPEND a draft (unread by IMAP, read by JMAP), COPY: a new mailbox
    with RawIMAP(mserver.host, mserver.ports["imap"]) as c:
        c.login(a, PASSWORD)
        c.cmd("CREATE Work")
        msg = make_message("draft", b"Draft.\r\n")
        c.send(b"A1 APPEND Work (\\Draft) {%d}\r\n" % len(msg))
        assert c.response().startswith(b"+")
        c.send(msg + b"\r\n")
        c.until("A1")
        c.cmd("SELECT INBOX")
        ok(c, "UID COPY 2 Work")
    ids = imap_mailboxids(mserver, a)
    _, mbs = mailboxes(mserver, a, acct)
    work = mbs[ids["Work"]]
    assert [work[k] for k in COUNTS] == [2, 1, 2, 1]
    # the copied Email counts in both mailboxes
    assert [mbs[ids["INBOX"]][k] for k in COUNTS] == [2, 1, 2, 1]
    name, ch = call(mserver, a, "Mailbox/changes", {"accountId": acct, "sinceState": s1})
    assert ch["created"] == [ids["Work"]] and ch["destroyed"] == []
    assert ch["updatedProperties"] is None
    s2 = ch["newState"]

    # RENAME: the same id, another name and parent; a change that is not only counts
    with RawIMAP(mserver.host, mserver.ports["imap"]) as c:
        c.login(a, PASSWORD)
        c.cmd("CREATE Archive2")
        ok(c, "RENAME Work Archive2/Work")
    ids2 = imap_mailboxids(mserver, a)
    assert ids2["Archive2/Work"] == ids["Work"]
    _, mbs = mailboxes(mserver, a, acct)
    moved = mbs[ids["Work"]]
    assert moved["name"] == "Work" and moved["parentId"] == ids2["Archive2"]
    name, ch = call(mserver, a, "Mailbox/changes", {"accountId": acct, "sinceState": s2})
    assert ids["Work"] in ch["updated"] and ch["created"] == [ids2["Archive2"]]
    assert ch["updatedProperties"] is None
    # up to date: nothing more; maxChanges cuts (RFC 8620 5.2)
    name, ch = call(mserver, a, "Mailbox/changes", {"accountId": acct,
                                                   "sinceState": ch["newState"]})
    assert ch["created"] == ch["updated"] == ch["destroyed"] == [] and not ch["hasMoreChanges"]
    name, ch = call(mserver, a, "Mailbox/changes", {"accountId": acct, "sinceState": s0,
                                                   "maxChanges": 1})
    assert ch["hasMoreChanges"] is True
    assert len(ch["created"]) + len(ch["updated"]) + len(ch["destroyed"]) == 1
    name, ch = call(mserver, a, "Mailbox/changes", {"accountId": acct,
                                                   "sinceState": "999999999"})
    assert name == "error" and ch["type"] == "cannotCalculateChanges"


def test_isolation_between_accounts(mserver):
    """One account asking for another's MAILBOXIDs gets notFound, and cannot name the
    other's accountId (RFC 8620 3.6.2 accountNotFound); its changes show none of them.
    (Shown to fail: a build whose Mailbox/get by ids read the mailboxes of the account
    made just before fails here.)"""
    a, b = user(mserver, "mbi-a"), user(mserver, "mbi-b")
    acct_a, acct_b = account_id(mserver, a), account_id(mserver, b)
    ids_a = imap_mailboxids(mserver, a)
    _, res_b = call(mserver, b, "Mailbox/get", {"accountId": acct_b, "ids": None})
    s_b = res_b["state"]
    want = list(ids_a.values())
    name, res = call(mserver, b, "Mailbox/get", {"accountId": acct_b, "ids": want})
    assert res["list"] == [] and sorted(res["notFound"]) == sorted(want)
    for method, args in (("Mailbox/get", {"ids": None}),
                         ("Mailbox/changes", {"sinceState": "0"})):
        name, res = call(mserver, b, method, dict(args, accountId=acct_a))
        assert name == "error" and res["type"] == "accountNotFound", res
    with RawIMAP(mserver.host, mserver.ports["imap"]) as c:
        c.login(a, PASSWORD)
        c.cmd("CREATE OnlyA")
    name, ch = call(mserver, b, "Mailbox/changes", {"accountId": acct_b, "sinceState": s_b})
    assert ch["created"] == ch["updated"] == ch["destroyed"] == []


def test_quota_get(mserver):
    """RFC 9425 4.1: an "octets" Quota of the account's byte limit with what its
    messages use; none when the account is unlimited; a "count" one for a message
    quota."""
    a = unique_user("mbq")
    mserver.user_add(a, PASSWORD, quota="1M")
    acct = account_id(mserver, a)
    msg = make_message("quota", b"Quota body.\r\n")
    deliver(mserver, a, msg)
    name, res = call(mserver, a, "Quota/get", {"accountId": acct, "ids": None},
                     using=(CORE, QUOTA))
    assert name == "Quota/get", res
    assert len(res["list"]) == 1
    q = res["list"][0]
    assert q["id"] == "octets" and q["resourceType"] == "octets" and q["scope"] == "account"
    assert q["hardLimit"] == 1 << 20 and q["types"] == ["Email"] and q["name"]
    stored = mserver.messages(a)[0] if hasattr(mserver, "messages") else None
    assert q["used"] > len(msg) // 2 and q["used"] < 1 << 20
    if stored is not None:
        assert q["used"] == len(stored)
    mserver.kasten("user", "set", a, "quota_messages=10")
    name, res = call(mserver, a, "Quota/get", {"accountId": acct, "ids": ["count", "x"]},
                     using=(CORE, QUOTA))
    assert res["list"] == [{"id": "count", "resourceType": "count", "used": 1,
                            "hardLimit": 10, "scope": "account", "types": ["Email"],
                            "name": res["list"][0]["name"]}]
    assert res["notFound"] == ["x"]
    b = user(mserver, "mbq-free")
    name, res = call(mserver, b, "Quota/get", {"accountId": account_id(mserver, b)},
                     using=(CORE, QUOTA))
    assert res["list"] == []
    name, res = call(mserver, a, "Quota/get", {"accountId": acct}, using=(CORE, MAIL))
    assert name == "error" and res["type"] == "unknownMethod"


def test_identity_get(mserver):
    """RFC 8621 6.1: the address and its aliases, mayDelete false, stable ids."""
    a = user(mserver, "mbid")
    acct = account_id(mserver, a)
    using = (CORE, MAIL, SUBMISSION)
    name, res = call(mserver, a, "Identity/get", {"accountId": acct}, using=using)
    assert name == "Identity/get", res
    assert [i["email"] for i in res["list"]] == [a]
    me = res["list"][0]
    assert me["name"] == "" and me["mayDelete"] is False and me["replyTo"] is None
    alias = unique_user("alias")
    mserver.kasten("user", "alias", "add", alias, a)
    name, res = call(mserver, a, "Identity/get", {"accountId": acct}, using=using)
    got = {i["email"]: i["id"] for i in res["list"]}
    assert got == {a: me["id"], alias: got[alias]} and got[alias] != me["id"]
    name, res = call(mserver, a, "Identity/get", {"accountId": acct, "ids": [got[alias], "Ix"],
                                                  "properties": ["email"]}, using=using)
    assert res["list"] == [{"id": got[alias], "email": alias}] and res["notFound"] == ["Ix"]
    b = user(mserver, "mbid-b")
    name, res = call(mserver, b, "Identity/get", {"accountId": account_id(mserver, b),
                                                  "ids": [me["id"]]}, using=using)
    assert res["list"] == [] and res["notFound"] == [me["id"]]


def test_mailbox_query(mserver):
    """RFC 8621 2.3: filters (parentId, name, role, hasAnyRole, isSubscribed, operators),
    sort by name, sortAsTree, filterAsTree, the window (RFC 8620 5.5)."""
    a = user(mserver, "mbqy")
    acct = account_id(mserver, a)
    with RawIMAP(mserver.host, mserver.ports["imap"]) as c:
        c.login(a, PASSWORD)
        for name in ("b", "b/z", "b/a", "A", "A/y", "c"):
            ok(c, "CREATE " + name)
            ok(c, "SUBSCRIBE " + name)
        ok(c, "UNSUBSCRIBE b")
    ids = imap_mailboxids(mserver, a)

    def query(**args):
        name, res = call(mserver, a, "Mailbox/query", dict({"accountId": acct}, **args))
        return name, res

    name, res = query(filter={"parentId": ids["b"]}, sort=[{"property": "name"}])
    assert name == "Mailbox/query", res
    assert res["ids"] == [ids["b/a"], ids["b/z"]] and res["canCalculateChanges"] is False
    assert res["queryState"].isdigit() and res["position"] == 0
    name, res = query(filter={"role": "inbox"})
    assert res["ids"] == [ids["INBOX"]]
    name, res = query(filter={"hasAnyRole": False, "parentId": None, "name": "B"},
                      sort=[{"property": "name", "collation": "i;octet"}])
    assert res["ids"] == [ids["b"]]
    name, res = query(filter={"operator": "NOT", "conditions": [{"isSubscribed": True}]})
    assert res["ids"] == [ids["b"]]
    name, res = query(filter={"operator": "OR", "conditions": [{"name": "z"}, {"name": "y"}]},
                      sort=[{"property": "name", "isAscending": False}])
    assert res["ids"] == [ids["b/z"], ids["A/y"]]
    # sortAsTree: parents before children, siblings by the comparators
    tops = sorted((n for n in ids if "/" not in n), key=str.lower)
    name, res = query(sort=[{"property": "name"}], sortAsTree=True, calculateTotal=True)
    want = []
    for t in tops:
        want.append(ids[t])
        want += [ids[n] for n in sorted((n for n in ids if n.startswith(t + "/")), key=str.lower)]
    assert res["ids"] == want and res["total"] == len(ids)
    # filterAsTree: b/a matches "a" but b does not, so it is left out
    name, res = query(filter={"name": "a"}, filterAsTree=True)
    assert ids["b/a"] not in res["ids"] and ids["A"] in res["ids"]
    name, res = query(filter={"name": "a"})
    assert ids["b/a"] in res["ids"]
    # window
    name, res = query(sort=[{"property": "name"}], sortAsTree=True, position=1, limit=2)
    assert res["ids"] == want[1:3] and res["position"] == 1
    name, res = query(sort=[{"property": "name"}], sortAsTree=True, anchor=ids["b"],
                      anchorOffset=1, limit=1)
    assert res["ids"] == [want[want.index(ids["b"]) + 1]]
    # errors (RFC 8620 5.5)
    for args, err in (({"filter": {"bogus": 1}}, "unsupportedFilter"),
                      ({"filter": {"name": 5}}, "invalidArguments"),
                      ({"sort": [{"property": "totalEmails"}]}, "unsupportedSort"),
                      ({"anchor": "nope"}, "anchorNotFound"),
                      ({"sortAsTree": "yes"}, "invalidArguments")):
        name, res = query(**args)
        assert name == "error" and res["type"] == err, (args, res)
    # another account's ids are none of ours
    b = user(mserver, "mbqy-b")
    name, res = call(mserver, b, "Mailbox/query", {"accountId": account_id(mserver, b),
                                                   "filter": {"parentId": ids["b"]}})
    assert res["ids"] == []


def test_mailbox_set(mserver):
    """RFC 8621 2.5: create (with a creation-id parent), rename and move, isSubscribed,
    destroy with mailboxHasChild / mailboxHasEmail / onDestroyRemoveEmails, role changes
    refused; IMAP sees each change."""
    a = user(mserver, "mbs")
    acct = account_id(mserver, a)
    ids = imap_mailboxids(mserver, a)

    def mset(**args):
        name, res = call(mserver, a, "Mailbox/set", dict({"accountId": acct}, **args))
        assert name == "Mailbox/set", res
        return res

    res = mset(create={"p": {"name": "Parent", "parentId": None, "isSubscribed": True},
                       "c": {"name": "Child", "parentId": "#p"},
                       "bad": {"name": "x/y"},
                       "role": {"name": "R", "role": "trash"},
                       "dup": {"name": "INBOX"},
                       "srv": {"name": "S", "totalEmails": 3}})
    assert set(res["created"]) == {"p", "c"}, res
    for cid, prop in (("bad", "name"), ("role", "role"), ("dup", "name"), ("srv", "totalEmails")):
        assert res["notCreated"][cid]["type"] == "invalidProperties", (cid, res)
        assert res["notCreated"][cid]["properties"] == [prop]
    pid, cid = res["created"]["p"]["id"], res["created"]["c"]["id"]
    assert res["created"]["p"]["isSubscribed"] is True
    assert res["created"]["c"]["myRights"]["mayDelete"] is True
    assert res["oldState"] != res["newState"]
    ids = imap_mailboxids(mserver, a)
    assert ids["Parent"] == pid and ids["Parent/Child"] == cid
    with RawIMAP(mserver.host, mserver.ports["imap"]) as c:
        c.login(a, PASSWORD)
        _, lines = c.cmd('LSUB "" "*"')
        assert any(b"Parent" in ln for ln in lines) and not any(b"Child" in ln for ln in lines)

    # rename and move (RFC 8621 2.5 update name/parentId): the id stays
    res = mset(update={cid: {"name": "Kid", "parentId": None, "isSubscribed": True},
                       pid: {"role": "archive"},
                       ids["INBOX"]: {"name": "Box"}})
    assert res["updated"] == {cid: None}, res
    assert res["notUpdated"][pid]["type"] == "invalidProperties"
    assert res["notUpdated"][ids["INBOX"]]["type"] == "forbidden"
    ids = imap_mailboxids(mserver, a)
    assert ids["Kid"] == cid and "Parent/Child" not in ids
    _, mbs = mailboxes(mserver, a, acct)
    assert mbs[cid]["isSubscribed"] is True and mbs[cid]["parentId"] is None
    res = mset(update={pid: {"parentId": cid}})
    assert imap_mailboxids(mserver, a)["Kid/Parent"] == pid
    res = mset(update={cid: {"parentId": pid}})
    assert res["notUpdated"][cid]["type"] == "invalidProperties"

    # destroy: a child or an Email stop it; onDestroyRemoveEmails lets it go
    with RawIMAP(mserver.host, mserver.ports["imap"]) as c:
        c.login(a, PASSWORD)
        msg = make_message("in kid", b"Kid.\r\n")
        c.send(b"A1 APPEND Kid/Parent {%d}\r\n" % len(msg))
        assert c.response().startswith(b"+")
        c.send(msg + b"\r\n")
        assert c.until("A1")[0].split()[1] == b"OK"
    res = mset(destroy=[cid, pid, ids["INBOX"], "nope"])
    assert res["notDestroyed"][cid]["type"] == "mailboxHasChild"
    assert res["notDestroyed"][pid]["type"] == "mailboxHasEmail"
    assert res["notDestroyed"][ids["INBOX"]]["type"] == "forbidden"
    assert res["notDestroyed"]["nope"]["type"] == "notFound"
    res = mset(destroy=[pid, cid], onDestroyRemoveEmails=True)
    assert res["destroyed"] == [pid, cid], res
    assert "Kid" not in imap_mailboxids(mserver, a)
    # ifInState (RFC 8620 5.3)
    name, res = call(mserver, a, "Mailbox/set", {"accountId": acct, "ifInState": "1",
                                                 "create": {"x": {"name": "X"}}})
    assert name == "error" and res["type"] == "stateMismatch"


def test_mailbox_set_isolation(mserver):
    """Another account's mailboxes can be neither changed, destroyed nor used as a
    parent: notFound / invalidProperties, and they stay as they were. (Shown to fail on
    a build that found the ids in the account made just before.)"""
    a, b = user(mserver, "mbsi-a"), user(mserver, "mbsi-b")
    acct_b = account_id(mserver, b)
    with RawIMAP(mserver.host, mserver.ports["imap"]) as c:
        c.login(a, PASSWORD)
        ok(c, "CREATE Mine")
    ids_a = imap_mailboxids(mserver, a)
    name, res = call(mserver, b, "Mailbox/set", {
        "accountId": acct_b,
        "create": {"x": {"name": "Inside", "parentId": ids_a["Mine"]}},
        "update": {ids_a["Mine"]: {"name": "Stolen"}},
        "destroy": [ids_a["Mine"]]})
    assert name == "Mailbox/set", res
    assert res["notCreated"]["x"]["type"] == "invalidProperties"
    assert res["notUpdated"][ids_a["Mine"]]["type"] == "notFound"
    assert res["notDestroyed"][ids_a["Mine"]]["type"] == "notFound"
    assert imap_mailboxids(mserver, a) == ids_a
    name, res = call(mserver, b, "Mailbox/set", {"accountId": account_id(mserver, a),
                                                 "destroy": [ids_a["Mine"]]})
    assert name == "error" and res["type"] == "accountNotFound"


def test_mailbox_set_subscription_of_a_name(mserver):
    """A name subscribed before its mailbox exists (RFC 9051 6.3.7) shows as
    isSubscribed when JMAP creates it; isSubscribed false in the create unsubscribes it."""
    a = user(mserver, "mbss")
    acct = account_id(mserver, a)
    with RawIMAP(mserver.host, mserver.ports["imap"]) as c:
        c.login(a, PASSWORD)
        ok(c, "SUBSCRIBE Early")
        ok(c, "SUBSCRIBE Later")
    name, res = call(mserver, a, "Mailbox/set", {"accountId": acct, "create": {
        "e": {"name": "Early"}, "l": {"name": "Later", "isSubscribed": False}}})
    assert res["created"]["e"]["isSubscribed"] is True, res
    assert res["created"]["l"]["isSubscribed"] is False
    _, mbs = mailboxes(mserver, a, acct)
    assert by_name(mbs, "Early")["isSubscribed"] is True
    assert by_name(mbs, "Later")["isSubscribed"] is False


def test_subscription_changes_show_in_mailbox_changes(mserver):
    """IMAP (UN)SUBSCRIBE of an existing mailbox changes its isSubscribed, so the
    mailbox is "updated" in Mailbox/changes (RFC 8621 2.2) and the state moves; a
    subscription to a name without a mailbox changes no Mailbox."""
    a = user(mserver, "mbsc")
    acct = account_id(mserver, a)
    with RawIMAP(mserver.host, mserver.ports["imap"]) as c:
        c.login(a, PASSWORD)
        ok(c, "CREATE Lists")
    ids = imap_mailboxids(mserver, a)
    res, mbs = mailboxes(mserver, a, acct)
    assert mbs[ids["Lists"]]["isSubscribed"] is False
    s0 = res["state"]
    with RawIMAP(mserver.host, mserver.ports["imap"]) as c:
        c.login(a, PASSWORD)
        ok(c, "SUBSCRIBE Lists")
    name, ch = call(mserver, a, "Mailbox/changes", {"accountId": acct, "sinceState": s0})
    assert ch["newState"] != s0, ch
    assert ch["updated"] == [ids["Lists"]] and ch["created"] == ch["destroyed"] == []
    assert ch["updatedProperties"] is None  # not only the counts
    _, mbs = mailboxes(mserver, a, acct)
    assert mbs[ids["Lists"]]["isSubscribed"] is True
    s1 = ch["newState"]
    with RawIMAP(mserver.host, mserver.ports["imap"]) as c:
        c.login(a, PASSWORD)
        ok(c, "SUBSCRIBE NoSuchBox")
    name, ch = call(mserver, a, "Mailbox/changes", {"accountId": acct, "sinceState": s1})
    assert ch["updated"] == ch["created"] == ch["destroyed"] == [], ch
    name, res = call(mserver, a, "Mailbox/set", {"accountId": acct, "update": {
        ids["Lists"]: {"isSubscribed": False}}})
    assert ids["Lists"] in res["updated"], res
    name, ch = call(mserver, a, "Mailbox/changes", {"accountId": acct, "sinceState": s1})
    assert ch["updated"] == [ids["Lists"]], ch


def test_unread_threads_span_mailboxes(mserver):
    """RFC 8621 2 unreadThreads: a Thread counts as unread in every mailbox holding one
    of its Emails when any of its Emails, in any mailbox, is unread."""
    a = user(mserver, "mbut")
    acct = account_id(mserver, a)
    first = make_message("topic", b"Start.\r\n")
    mid = re.search(rb"Message-ID: (<[^>]+>)", first).group(1)
    reply = make_message("re topic", b"Reply.\r\n",
                         extra=b"In-Reply-To: " + mid + b"\r\nReferences: " + mid + b"\r\n")
    with RawIMAP(mserver.host, mserver.ports["imap"]) as c:
        c.login(a, PASSWORD)
        ok(c, "CREATE Work")
        for box, msg, flags in (("INBOX", first, "(\\Seen)"), ("Work", reply, "()")):
            c.send(b"A1 APPEND %s %s {%d}\r\n" % (box.encode(), flags.encode(), len(msg)))
            assert c.response().startswith(b"+")
            c.send(msg + b"\r\n")
            assert c.until("A1")[0].split()[1] == b"OK"
    _, mbs = mailboxes(mserver, a, acct)
    assert [by_name(mbs, "INBOX")[k] for k in COUNTS] == [1, 0, 1, 1]
    assert [by_name(mbs, "Work")[k] for k in COUNTS] == [1, 1, 1, 1]
