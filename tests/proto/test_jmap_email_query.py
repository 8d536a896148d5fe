"""Email/query filters and sorts and SearchSnippet/get (RFC 8621 4.4, 5.1) on a real
`kasten serve`. A corpus is delivered by SMTP and flagged, copied and threaded over IMAP;
every filter condition and operator is then compared with what kasten's own IMAP
SEARCH answers for the same criteria on the same server (IMAP is the oracle for the
text semantics), every sort with IMAP SORT (RFC 5256, RFC 5957 DISPLAYFROM/DISPLAYTO),
the EMAILIDs mapped through FETCH EMAILID (RFC 8474)."""

import re

import pytest

from jmap_test import CORE, MAIL, JmapClient
from kasten_test import RawIMAP, deliver, unique_user

KASTEN_LISTEN = ("smtp", "imap", "http")
KASTEN_CONFIG = {"limits": {"max_unauthenticated_per_ip": 100}}
PASSWORD = "Jmap-query-pass-1"


def msg(n, subject, frm, to, body, date, cc=None, extra=b"", ctype=None):
    h = (f"From: {frm}\r\nTo: {to}\r\n" + (f"Cc: {cc}\r\n" if cc else "") +
         f"Subject: {subject}\r\nMessage-ID: <q{n}.{unique_user('m')}@test>\r\n"
         f"Date: {date}\r\n").encode() + extra
    if ctype:
        return h + ctype + b"\r\n" + body
    return h + b"\r\n" + (body.encode() if isinstance(body, str) else body)


ATTACHED = (b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=bb\r\n",
            b"--bb\r\nContent-Type: text/plain\r\n\r\nsee the invoice attached\r\n"
            b"--bb\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
            b"filename=x.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
            b"--bb--\r\n")

# (subject, from, to, cc, body, Date) -- keys distinct where the sorts compare them
CORPUS = [
    ("Quarterly report", '"Zoe Adams" <zoe@example.test>', "team@example.test", None,
     "numbers are up this quarter", "Mon, 05 Jan 2026 09:00:00 +0000"),
    ("Re: Quarterly report", "bob@example.test", '"Carl" <carl@example.test>',
     "dana@example.test", "thanks, looks fine", "Tue, 06 Jan 2026 09:00:00 +0100"),
    ("=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=", '"=?UTF-8?Q?J=C3=BCrgen?=" <j@example.de>',
     "ann@example.test", None, "Viele Grüße und bis bald", "Wed, 07 Jan 2026 12:00:00 +0000"),
    ("Invoice 2026-01", '"Billing" <billing@shop.test>', '"Ann Smith" <ann@example.test>', None,
     ATTACHED, "Thu, 01 Jan 2026 08:00:00 +0000"),
    ("lunch?", '"alice" <alice@example.test>', '"Bea" <bea@example.test>',
     "team@example.test", "pizza at noon", "garbage date"),
    ("[list] Fwd: meeting notes", "Mallory <mallory@evil.test>", "ann@example.test", None,
     "agenda: budget, hiring", "Fri, 02 Jan 2026 10:00:00 -0500"),
]


@pytest.fixture(scope="module")
def corpus(module_server):
    """Two accounts; a's mailboxes hold the corpus (INBOX; one copied to Archive, one
    moved to Archive), flags set over IMAP. Returns a dict the tests read."""
    s = module_server
    a, b = unique_user("qa"), unique_user("qb")
    s.user_add(a, PASSWORD)
    s.user_add(b, PASSWORD)
    mids = []
    for n, (subj, frm, to, cc, body, date) in enumerate(CORPUS):
        if isinstance(body, tuple):
            m = msg(n, subj, frm, to, body[1], date, cc, extra=body[0], ctype=b"")
        else:
            m = msg(n, subj, frm, to, body, date, cc)
        if n == 1:  # a reply to the first: one thread
            m = m.replace(b"Date:", b"In-Reply-To: " + mids[0] + b"\r\nDate:", 1)
        mids.append(re.search(rb"Message-ID: (<[^>]+>)", m).group(1))
        deliver(s, a, m)
    deliver(s, b, msg(99, "b's secret report", "x@example.test", b, "numbers", CORPUS[0][5]))
    c = RawIMAP(s.host, s.ports["imap"])
    c.login(a, PASSWORD)
    c.cmd("SELECT INBOX")
    assert b" OK " in c.cmd("UID STORE 1,3 +FLAGS (\\Flagged)")[0]
    assert b" OK " in c.cmd("UID STORE 1,2,4 +FLAGS (\\Seen)")[0]
    assert b" OK " in c.cmd("UID STORE 2 +FLAGS ($Label1)")[0]
    assert b" OK " in c.cmd("UID COPY 3 Archive")[0]
    assert b" OK " in c.cmd("UID MOVE 6 Archive")[0]
    d = {"server": s, "a": a, "b": b, "imap": c,
         "ja": JmapClient(s, a, PASSWORD), "jb": JmapClient(s, b, PASSWORD)}
    d["mbox"], d["role"] = d["ja"].mailbox_ids()
    yield d
    c.close()


def emailids(c, mailbox, uids):
    """{uid: EMAILID} of a mailbox's messages."""
    c.cmd(f"SELECT {mailbox}")
    _, un = c.cmd("UID FETCH 1:* (EMAILID)")
    m = {}
    for line in un:
        g = re.search(rb"UID (\d+).*EMAILID \(([0-9a-f]+)\)", line)
        if g:
            m[int(g.group(1))] = g.group(2).decode()
    return [m[u] for u in uids] if uids is not None else m


def imap_search(c, criteria, mailboxes=("INBOX", "Archive")):
    """The EMAILIDs IMAP UID SEARCH finds in the mailboxes (an Email matches if any
    copy does)."""
    out = set()
    for mb in mailboxes:
        c.cmd(f"SELECT {mb}")
        st, un = c.cmd(b"UID SEARCH CHARSET UTF-8 " + criteria.encode()
                       if any(ord(ch) > 127 for ch in criteria)
                       else f"UID SEARCH {criteria}")
        assert b" OK " in st, st
        uids = [int(x) for line in un if line.startswith(b"* SEARCH")
                for x in line.split()[2:]]
        out |= set(emailids(c, mb, uids))
    return out


def query(j, filt=None, sort=None, **kw):
    args = dict(kw)
    if filt is not None:
        args["filter"] = filt
    if sort is not None:
        args["sort"] = sort
    return j.ok("Email/query", args)["ids"]


# ---- each condition against IMAP SEARCH (RFC 8621 4.4.1) ----

TEXT_CASES = [
    ({"text": "quarter"}, 'TEXT "quarter"'),
    ({"text": "ANN@"}, 'TEXT "ann@"'),
    ({"from": "zoe"}, 'FROM "zoe"'),
    ({"from": "jürgen"}, 'FROM "JÜRGEN"'),
    ({"to": "ann"}, 'TO "ann"'),
    ({"cc": "dana"}, 'CC "dana"'),
    ({"bcc": "nobody"}, 'BCC "nobody"'),
    ({"subject": "report"}, 'SUBJECT "report"'),
    ({"subject": "grüße"}, 'SUBJECT "GRÜßE"'),
    ({"subject": "köln"}, 'SUBJECT "Köln"'),
    ({"body": "pizza"}, 'BODY "pizza"'),
    ({"body": "up"}, 'BODY "up"'),
    ({"body": "invoice attached"}, 'BODY "invoice attached"'),
    ({"header": ["Cc"]}, 'HEADER Cc ""'),
    ({"header": ["cc", "DANA"]}, 'HEADER CC "dana"'),
    ({"header": ["In-Reply-To"]}, 'HEADER In-Reply-To ""'),
    ({"header": ["Subject", "grüße"]}, 'HEADER Subject "grüße"'),
    ({"minSize": 400}, "LARGER 399"),
    ({"maxSize": 400}, "SMALLER 400"),
    ({"hasKeyword": "$flagged"}, "FLAGGED"),
    ({"notKeyword": "$seen"}, "UNSEEN"),
    ({"hasKeyword": "$LABEL1"}, "KEYWORD $Label1"),
    ({"notKeyword": "$label1"}, "UNKEYWORD $Label1"),
    ({"operator": "NOT", "conditions": [{"text": "quarter"}, {"hasKeyword": "$seen"}]},
     'NOT TEXT "quarter" NOT SEEN'),
    ({"operator": "OR", "conditions": [{"from": "zoe"}, {"to": "ann"}]},
     'OR FROM "zoe" TO "ann"'),
    ({"operator": "AND", "conditions": [{"from": "example"}, {"operator": "OR", "conditions": [
        {"subject": "report"}, {"operator": "NOT", "conditions": [{"body": "fine"}]}]}]},
     'FROM "example" OR SUBJECT "report" NOT BODY "fine"'),
    ({"text": "report", "hasKeyword": "$seen"}, 'TEXT "report" SEEN'),
    ({"operator": "OR", "conditions": []}, "NOT ALL"),
    ({"operator": "AND", "conditions": []}, "ALL"),
]


@pytest.mark.parametrize("filt,criteria", TEXT_CASES, ids=[str(c[1]) for c in TEXT_CASES])
def test_condition_matches_imap_search(corpus, filt, criteria):
    """An Email matches when IMAP SEARCH finds any copy (account-wide, all mailboxes)."""
    want = imap_search(corpus["imap"], criteria)
    assert set(query(corpus["ja"], filt)) == want, (filt, criteria)


def test_mailbox_conditions(corpus):
    """inMailbox, inMailboxOtherThan; an unknown or another account's mailbox id
    matches nothing (RFC 8621 4.4.1; isolation)."""
    ja, jb, c = corpus["ja"], corpus["jb"], corpus["imap"]
    inbox, arch = corpus["mbox"]["INBOX"], corpus["mbox"]["Archive"]
    in_inbox = imap_search(c, "ALL", ("INBOX",))
    in_arch = imap_search(c, "ALL", ("Archive",))
    assert set(query(ja, {"inMailbox": inbox, "hasKeyword": "$flagged"})) == \
        imap_search(c, "FLAGGED", ("INBOX",))
    assert set(query(ja, {"inMailboxOtherThan": [inbox]})) == in_arch
    assert set(query(ja, {"inMailboxOtherThan": [arch]})) == in_inbox
    assert query(ja, {"inMailboxOtherThan": [inbox, arch]}) == []
    assert set(query(ja, {"operator": "AND", "conditions": [{"inMailbox": inbox},
                                                             {"inMailbox": arch}]})) == \
        in_inbox & in_arch
    # b's INBOX id asked by a: nothing, with any filter and on the fast path too
    b_inbox = corpus["jb"].mailbox_ids()[0]["INBOX"]
    assert query(ja, {"inMailbox": b_inbox}) == []
    assert query(ja, {"inMailbox": b_inbox, "text": "numbers"}) == []
    assert query(ja, {"inMailbox": "nosuchmailbox"}) == []
    # b sees none of a's Emails whatever the filter
    assert set(query(jb, {"text": "report"})) <= set(query(jb))
    assert len(query(jb)) == 1
    assert ja.err("Email/query", {"filter": {"inMailbox": 7}}) == "invalidArguments"


def test_dates_and_attachment(corpus):
    """before/after against receivedAt (RFC 8620 1.4 UTCDate), hasAttachment."""
    ja, c = corpus["ja"], corpus["imap"]
    everything = set(query(ja))
    assert query(ja, {"before": "2000-01-01T00:00:00Z"}) == []
    assert set(query(ja, {"after": "2000-01-01T00:00:00Z"})) == everything
    assert set(query(ja, {"after": "2000-01-01T00:00:00.5Z",
                          "before": "2100-01-01T00:00:00Z"})) == everything
    for bad in ("2026-01-01", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00+01:00", 5):
        assert ja.err("Email/query", {"filter": {"before": bad}}) == "invalidArguments", bad
    att = set(query(ja, {"hasAttachment": True}))
    assert att == imap_search(c, 'SUBJECT "Invoice"')
    assert set(query(ja, {"hasAttachment": False})) == everything - att
    # the filter and Email/get's property agree
    got = ja.ok("Email/get", {"ids": sorted(everything), "properties": ["hasAttachment"]})
    assert {e["id"] for e in got["list"] if e["hasAttachment"]} == att


def test_thread_keyword_conditions(corpus):
    """all/some/noneInThreadHaveKeyword over the whole thread (RFC 8621 4.4.1): the
    report and its reply are one thread, $seen on both, $flagged on the first only."""
    ja, c = corpus["ja"], corpus["imap"]
    thread = imap_search(c, 'SUBJECT "Quarterly report"')
    assert len(thread) == 2
    assert thread <= set(query(ja, {"allInThreadHaveKeyword": "$seen"}))
    assert thread <= set(query(ja, {"someInThreadHaveKeyword": "$flagged"}))
    assert not thread & set(query(ja, {"allInThreadHaveKeyword": "$flagged"}))
    assert not thread & set(query(ja, {"noneInThreadHaveKeyword": "$flagged"}))
    some_flagged = set(query(ja, {"someInThreadHaveKeyword": "$flagged"}))
    none_flagged = set(query(ja, {"noneInThreadHaveKeyword": "$flagged"}))
    assert some_flagged | none_flagged == set(query(ja)) and not some_flagged & none_flagged


def test_bad_filters(corpus):
    """unsupportedFilter for what is not known or past a bound, invalidArguments for a
    known condition with a bad value (RFC 8620 5.5)."""
    ja = corpus["ja"]
    for f in ({"nosuch": 1}, {"operator": "XOR", "conditions": []},
              {"text": "x" * 1025}):
        assert ja.err("Email/query", {"filter": f}) == "unsupportedFilter", f
    # LIMIT_JMAP_FILTER_DEPTH: 4 nested operators are read, the 5th is refused
    deep = {"text": "x"}
    for _ in range(4):
        deep = {"operator": "NOT", "conditions": [deep]}
    ja.ok("Email/query", {"filter": deep})
    deep = {"operator": "NOT", "conditions": [deep]}
    assert ja.err("Email/query", {"filter": deep}) == "unsupportedFilter"
    many = {"operator": "OR", "conditions": [{"text": f"t{i}"} for i in range(65)]}
    assert ja.err("Email/query", {"filter": many}) == "unsupportedFilter"
    for f in ({"hasKeyword": "a b"}, {"minSize": -1}, {"hasAttachment": "yes"},
              {"header": []}, {"header": ["a", "b", "c"]}, {"header": ["a:b"]},
              {"operator": "AND"}, {"operator": "AND", "conditions": {}},
              {"inMailboxOtherThan": "x"}, {"text": 3}, [1]):
        assert ja.err("Email/query", {"filter": f}) == "invalidArguments", f


# ---- sorts against IMAP SORT (RFC 8621 4.4.2, RFC 5256) ----

SORTS = [("size", "SIZE"), ("sentAt", "DATE"), ("subject", "SUBJECT"),
         ("from", "DISPLAYFROM"), ("to", "DISPLAYTO")]


@pytest.mark.parametrize("prop,key", SORTS, ids=[s[0] for s in SORTS])
def test_sort_matches_imap_sort(corpus, prop, key):
    """The order of INBOX by each property, both directions, i;ascii-casemap (the
    collation IMAP SORT uses). The reply is left out on both sides: its base subject
    equals its parent's, and IMAP breaks ties by sequence number, JMAP by EMAILID."""
    ja, c = corpus["ja"], corpus["imap"]
    inbox = corpus["mbox"]["INBOX"]
    c.cmd("SELECT INBOX")
    for asc, rev in ((True, ""), (False, "REVERSE ")):
        st, un = c.cmd(f'UID SORT ({rev}{key}) UTF-8 NOT HEADER In-Reply-To ""')
        assert b" OK " in st, st
        uids = [int(x) for line in un if line.startswith(b"* SORT") for x in line.split()[2:]]
        want = emailids(c, "INBOX", uids)
        got = query(ja, {"operator": "AND", "conditions": [
                        {"inMailbox": inbox},
                        {"operator": "NOT", "conditions": [{"header": ["In-Reply-To"]}]}]},
                    [{"property": prop, "isAscending": asc, "collation": "i;ascii-casemap"}])
        assert got == want, (prop, asc)


def test_sort_ties_keywords_and_collations(corpus):
    """Ties by the next Comparator, then EMAILID ascending either way; keyword sorts
    false before true; i;unicode-casemap folds non-ASCII case, i;ascii-casemap not."""
    s, ja = corpus["server"], corpus["ja"]
    u = unique_user("qs")
    s.user_add(u, PASSWORD)
    for n, subj in enumerate(["=?UTF-8?Q?=C3=89b?=", "=?UTF-8?Q?=C3=A9a?=", "same", "same"]):
        deliver(s, u, msg(n, subj, "x@example.test", u, "body", "Mon, 05 Jan 2026 09:00:00 +0000"))
    j = JmapClient(s, u, PASSWORD)
    ids = query(j, {"minSize": 0}, [{"property": "subject", "collation": "i;unicode-casemap"}])
    same = sorted(query(j, {"subject": "same"}))
    # ties: EMAILID ascending in both directions of the Comparator
    for asc in (True, False):
        assert query(j, {"subject": "same"}, [{"property": "subject", "isAscending": asc}]) == same
    assert ids[:2] == same  # "same" < "éa" < "éb" (folded bytes: é is 0xC3 0xA9)
    ea, eb = ids[2], ids[3]
    assert query(j, {"text": "é"}, [{"property": "subject", "collation": "i;unicode-casemap"}]) == [ea, eb]
    # ascii-casemap leaves É (0xC3 0x89) before é (0xC3 0xA9)
    assert query(j, {"text": "é"}, [{"property": "subject", "collation": "i;ascii-casemap"}]) == [eb, ea]
    # keyword sort: with the keyword after without it when ascending, ties by EMAILID
    ja_ids = query(ja, None, [{"property": "hasKeyword", "keyword": "$flagged"},
                              {"property": "receivedAt", "isAscending": True}])
    flagged = set(query(ja, {"hasKeyword": "$flagged"}))
    k = len(ja_ids) - len(flagged)
    assert set(ja_ids[k:]) == flagged
    assert ja.err("Email/query", {"sort": [{"property": "nosuch"}]}) == "unsupportedSort"
    assert ja.err("Email/query", {"sort": [{"property": "subject", "collation": "x"}]}) == \
        "unsupportedSort"
    assert ja.err("Email/query", {"sort": [{"property": "hasKeyword"}]}) == "invalidArguments"
    opts = ja.session["accounts"][ja.acct]["accountCapabilities"][MAIL]["emailQuerySortOptions"]
    assert set(opts) == {"receivedAt", "size", "from", "to", "subject", "sentAt",
                         "hasKeyword", "allInThreadHaveKeyword", "someInThreadHaveKeyword"}


def test_collapse_threads_with_filter(corpus):
    """collapseThreads after the filter: the first match of each thread in the sort
    order stays (RFC 8621 4.4.3); a thread whose first Email is filtered out still
    shows with its next one."""
    ja, c = corpus["ja"], corpus["imap"]
    thread = imap_search(c, 'SUBJECT "Quarterly report"')
    full = query(ja, {"subject": "report"}, [{"property": "sentAt"}])
    col = query(ja, {"subject": "report"}, [{"property": "sentAt"}], collapseThreads=True)
    assert len(full) == 2 and len(col) == 1 and col[0] == full[0]
    col_desc = query(ja, {"subject": "report"}, [{"property": "sentAt", "isAscending": False}],
                     collapseThreads=True)
    assert col_desc == [full[1]]
    reply_only = query(ja, {"subject": "report", "body": "thanks"}, collapseThreads=True)
    assert len(reply_only) == 1 and reply_only[0] in thread and reply_only[0] != full[0]
    r = ja.ok("Email/query", {"filter": {"from": "example"}, "collapseThreads": True,
                              "calculateTotal": True, "position": 1, "limit": 2})
    every = query(ja, {"from": "example"}, collapseThreads=True)
    assert r["ids"] == every[1:3] and r["total"] == len(every) and r["position"] == 1
    lst = query(ja, {"from": "example"})
    r = ja.ok("Email/query", {"filter": {"from": "example"}, "anchor": lst[-1],
                              "anchorOffset": -1, "limit": 5})
    assert r["ids"] == lst[-2:] and r["position"] == len(lst) - 2
    assert ja.err("Email/query", {"filter": {"from": "example"}, "anchor": "nosuch"}) == \
        "anchorNotFound"


def test_received_at_ties_by_emailid(corpus):
    """receivedAt (SMTP deliveries within one second tie): ties by EMAILID ascending in
    both directions, on the filtered path and the store's (RFC 8620 5.5)."""
    ja = corpus["ja"]
    inbox = corpus["mbox"]["INBOX"]
    for filt in ({"inMailbox": inbox}, {"inMailbox": inbox, "minSize": 0}):
        for asc in (True, False):
            ids = query(ja, filt, [{"property": "receivedAt", "isAscending": asc}])
            got = ja.ok("Email/get", {"ids": ids, "properties": ["receivedAt"]})["list"]
            keys = [(e["receivedAt"], e["id"]) for e in got]
            want = sorted(keys, key=lambda k: k[1])
            want = sorted(want, key=lambda k: k[0], reverse=not asc)
            assert keys == want, (filt, asc)


# ---- SearchSnippet/get (RFC 8621 5.1) ----

def test_search_snippets(corpus):
    """Matched terms in <mark></mark>, the rest HTML-escaped, null where nothing
    matched; unknown and another account's ids in notFound (isolation)."""
    s, ja, jb = corpus["server"], corpus["ja"], corpus["jb"]
    u = unique_user("qn")
    s.user_add(u, PASSWORD)
    deliver(s, u, msg(1, "Tom & <Jerry> say \"hi\" to TOM", "x@example.test", u,
                      "tom's body: <b>bold</b> Tom again", "Mon, 05 Jan 2026 09:00:00 +0000"))
    deliver(s, u, msg(2, "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", "x@example.test", u, "nothing here",
                      "Mon, 05 Jan 2026 09:00:00 +0000"))
    deliver(s, u, msg(3, '"', "x@example.test", u, "q", "Mon, 05 Jan 2026 09:00:00 +0000"))
    j = JmapClient(s, u, PASSWORD)
    tom = query(j, {"subject": "tom"})[0]
    # the longest output per input byte: one marked character that is escaped
    quote = [e for e in query(j) if e not in query(j, {"subject": "tom"})
             and e not in query(j, {"subject": "gr"})]
    r = j.ok("SearchSnippet/get", {"filter": {"subject": '"'}, "emailIds": quote})
    assert r["list"][0]["subject"] == "<mark>&quot;</mark>"
    gr = query(j, {"subject": "grüße"})[0]
    r = j.ok("SearchSnippet/get", {"filter": {"text": "tom"}, "emailIds": [tom, gr]})
    by = {x["emailId"]: x for x in r["list"]}
    assert by[tom]["subject"] == ("<mark>Tom</mark> &amp; &lt;Jerry&gt; say &quot;hi&quot; "
                                  "to <mark>TOM</mark>")
    assert by[tom]["preview"].startswith("<mark>tom</mark>&#39;s body: &lt;b&gt;bold")
    assert by[gr]["subject"] is None and by[gr]["preview"] is None
    assert r["notFound"] is None
    # subject terms mark only the subject, body terms only the preview; NOT marks nothing
    r = j.ok("SearchSnippet/get", {"filter": {"subject": "GRÜ"}, "emailIds": [gr]})
    assert r["list"][0]["subject"] == "<mark>Grü</mark>ße" and r["list"][0]["preview"] is None
    r = j.ok("SearchSnippet/get", {"filter": {"body": "bold"}, "emailIds": [tom]})
    assert r["list"][0]["subject"] is None and "<mark>bold</mark>" in r["list"][0]["preview"]
    r = j.ok("SearchSnippet/get", {"filter": {"operator": "NOT", "conditions": [
        {"text": "tom"}]}, "emailIds": [tom]})
    assert r["list"][0]["subject"] is None
    # a body term past the stored preview (256 characters): an excerpt around it
    body = "lorem ipsum\r\n" * 60 + "the <Needle> is here\r\n" + "dolor sit\r\n" * 60
    deliver(s, u, msg(4, "long one", "x@example.test", u, body,
                      "Mon, 05 Jan 2026 09:00:00 +0000"))
    long_id = query(j, {"subject": "long one"})[0]
    assert "needle" not in j.ok("Email/get", {"ids": [long_id],
                                              "properties": ["preview"]})["list"][0]["preview"]
    p = j.ok("SearchSnippet/get", {"filter": {"body": "NEEDLE"},
                                   "emailIds": [long_id]})["list"][0]["preview"]
    # cut between whole words, marked with an ellipsis at both ends
    assert p.startswith("\u2026") and p.endswith("\u2026"), p
    assert p[1:].split()[0] in ("lorem", "ipsum") and p[:-1].split()[-1] in ("dolor", "sit"), p
    assert "the &lt;<mark>Needle</mark>&gt; is here dolor sit" in p, p
    assert len(p) < 256 + 60, p
    # isolation: a's ids asked by u, and unknown ids, are notFound
    a_ids = query(ja)
    r = j.ok("SearchSnippet/get", {"filter": {"text": "report"},
                                   "emailIds": [a_ids[0], "nosuch", tom]})
    assert r["notFound"] == [a_ids[0], "nosuch"] and [x["emailId"] for x in r["list"]] == [tom]
    b_ids = query(jb)
    assert ja.ok("SearchSnippet/get", {"filter": {"text": "secret"},
                                       "emailIds": b_ids})["notFound"] == b_ids
    assert j.err("SearchSnippet/get", {"filter": {"nosuch": 1}, "emailIds": []}) == \
        "unsupportedFilter"
    assert j.err("SearchSnippet/get", {"emailIds": "x"}) == "invalidArguments"
    assert j.err("SearchSnippet/get", {"emailIds": ["x"] * 501}) == "requestTooLarge"
    assert j.err("SearchSnippet/get", {"emailIds": [], "accountId": "A999999"}) == \
        "accountNotFound"


# ---- Email/queryChanges (RFC 8621 4.5, RFC 8620 5.6) ----

def apply_changes(old, r):
    """What a client does with a queryChanges answer: take out every removed id, put in
    every added one at its index (in index order)."""
    gone = set(r["removed"])
    lst = [i for i in old if i not in gone]
    for a in sorted(r["added"], key=lambda a: a["index"]):
        lst.insert(a["index"], a["id"])
    return lst


def test_query_changes(corpus):
    """Deliveries, flag changes over IMAP and an expunge between two states: the old
    results with the changes applied are the new results, for several filters and
    sorts; collapseThreads and thread-keyword queries cannot calculate changes."""
    s = corpus["server"]
    u = unique_user("qc")
    s.user_add(u, PASSWORD)
    for n in range(5):
        deliver(s, u, msg(n, f"topic {n % 3}", f"p{n}@example.test", u, f"body {n}",
                          f"Mon, 0{n + 1} Jan 2026 09:00:00 +0000"))
    j = JmapClient(s, u, PASSWORD)
    inbox = j.mailbox_ids()[0]["INBOX"]
    queries = [
        {"filter": {"inMailbox": inbox}},
        {"filter": {"inMailbox": inbox, "notKeyword": "$seen"},
         "sort": [{"property": "sentAt", "isAscending": False}]},
        {"filter": {"operator": "OR", "conditions": [{"subject": "topic 1"},
                                                     {"hasKeyword": "$flagged"}]},
         "sort": [{"property": "subject"}, {"property": "size", "isAscending": False}]},
    ]
    before = [j.ok("Email/query", q) for q in queries]
    assert all(r["canCalculateChanges"] for r in before)
    c = RawIMAP(s.host, s.ports["imap"])
    c.login(u, PASSWORD)
    c.cmd("SELECT INBOX")
    assert b" OK " in c.cmd("UID STORE 1 +FLAGS (\\Seen \\Flagged)")[0]
    assert b" OK " in c.cmd("UID STORE 2 +FLAGS (\\Deleted)")[0]
    assert b" OK " in c.cmd("EXPUNGE")[0]
    deliver(s, u, msg(7, "topic 1 again", "z@example.test", u, "new", "Sun, 04 Jan 2026 09:00:00 +0000"))
    c.close()
    for q, old in zip(queries, before):
        now = j.ok("Email/query", q)
        r = j.ok("Email/queryChanges", dict(q, sinceQueryState=old["queryState"],
                                            calculateTotal=True))
        assert r["oldQueryState"] == old["queryState"]
        assert r["newQueryState"] == now["queryState"]
        assert apply_changes(old["ids"], r) == now["ids"], q
        assert r["total"] == len(now["ids"])
        # from the new state: nothing
        r = j.ok("Email/queryChanges", dict(q, sinceQueryState=now["queryState"]))
        assert r["removed"] == [] and r["added"] == []
        # maxChanges below what changed (4 Emails)
        assert j.err("Email/queryChanges", dict(q, sinceQueryState=old["queryState"],
                                                maxChanges=2)) == "tooManyChanges"
    for q in ({"filter": {"inMailbox": inbox}, "collapseThreads": True},
              {"filter": {"someInThreadHaveKeyword": "$seen"}},
              {"sort": [{"property": "allInThreadHaveKeyword", "keyword": "$seen"}]}):
        r = j.ok("Email/query", q)
        assert r["canCalculateChanges"] is False
        assert j.err("Email/queryChanges", dict(q, sinceQueryState=r["queryState"])) == \
            "cannotCalculateChanges"
    for bad in ("x", "", "01", "99999999999", "-1"):
        assert j.err("Email/queryChanges", {"sinceQueryState": bad}) == \
            "cannotCalculateChanges", bad
