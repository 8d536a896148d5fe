"""Email/get with the parsed properties of RFC 8621 4.1 (headers and their forms, body
structure, textBody/htmlBody/attachments, bodyValues), part blobs (contract C1 in
src/http/jmap.h) and Email/parse (4.9), on a real `kasten serve`. What Email/get says
is compared with what IMAP (ENVELOPE, BODYSTRUCTURE, BINARY[x], RFC 3516) and Python's
email module say about the same message on the same server."""

import email
import email.policy
import json
import re
import shutil
from pathlib import Path

import pytest

from jmap_test import CORE, MAIL, JmapClient, basic, http_request
from kasten_test import RawIMAP, unique_user

KASTEN_LISTEN = ("smtp", "imap", "http")
KASTEN_CONFIG = {"limits": {"max_unauthenticated_per_ip": 100}}
PASSWORD = "Jmap-get-pass-1"
CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "imap"

LIST_PROPS = ["id", "threadId", "mailboxIds", "keywords", "from", "to", "cc", "subject",
              "receivedAt", "sentAt", "size", "preview", "hasAttachment"]
READ_PROPS = ["bodyValues", "textBody", "htmlBody", "attachments", "messageId",
              "references", "replyTo"]


def account(server, prefix="jg"):
    a = unique_user(prefix)
    server.user_add(a, PASSWORD)
    return a, JmapClient(server, a, PASSWORD)


def imap(server, a):
    c = RawIMAP(*server.addr("imap"))
    c.login(a, PASSWORD)
    return c


def append(c, msg, mailbox="INBOX", flags=""):
    st, _ = c.cmd(f'APPEND {mailbox} ({flags}) "05-Jan-2026 10:00:00 +0000" '
                  f'{{{len(msg)}+}}\r\n'.encode() + msg)
    assert b" OK " in st, st


def emailid(c, uid, mailbox="INBOX"):
    c.cmd(f"EXAMINE {mailbox}")
    _, untagged = c.cmd(f"UID FETCH {uid} (EMAILID)")
    return re.search(rb"EMAILID \(([0-9a-f]+)\)", b"".join(untagged)).group(1).decode()


def store(server, msgs):
    """A fresh account holding msgs (bytes, CRLF) in INBOX: (client, imap, [EMAILID])."""
    a, j = account(server)
    c = imap(server, a)
    for m in msgs:
        append(c, m)
    ids = [emailid(c, i + 1) for i in range(len(msgs))]
    return j, c, ids


def crlf(s):
    if isinstance(s, str):
        s = s.encode()
    return s.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def get1(j, eid, props, **kw):
    r = j.ok("Email/get", dict({"ids": [eid], "properties": props}, **kw))
    assert r["notFound"] == [], r
    return r["list"][0]


MIXED = crlf("""From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@example.org>
Sender: Secretary <sec@example.org>
To: Bob <bob@example.net>, "Carol, C." <carol@example.net>
Cc: Team: dave@example.net, Erin <erin@example.net>;, frank@example.net
Reply-To: replies@example.org
Subject: =?ISO-8859-1?Q?Gr=FC=DFe?= aus Berlin
Date: Tue, 24 Feb 2026 18:55:12 +0100
Message-ID: <m1@example.org>
In-Reply-To: <m0@example.org>
References: <root@example.org> <m0@example.org>
List-Unsubscribe: <mailto:leave@example.org>, <https://example.org/leave?x=1>
X-Custom: one
X-Custom:  two
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Gr=FC=DFe, this is the plain text.
--alt
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PGh0bWw+PGJvZHk+PHA+R3LDvMOfZSwgSFRNTDwvcD48L2JvZHk+PC9odG1sPg==
--alt--
--outer
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename*=UTF-8''Bericht%20%C3%BCber.pdf
Content-Transfer-Encoding: base64
Content-Language: de

JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDw+PgplbmRvYmoKdHJhaWxlcgo8PD4+CiUlRU9GCg==
--outer--
""")


def test_list_and_read_properties(mserver):
    """The webmail's list and reading properties on one multipart message (RFC 8621
    4.1.2-4.1.4): decoded names and subject, groups flattened, sentAt with the zone
    as written, the alternative split into textBody/htmlBody, the PDF an attachment,
    values decoded to UTF-8."""
    j, c, (eid,) = store(mserver, [MIXED])
    e = get1(j, eid, LIST_PROPS)
    assert e["from"] == [{"name": "Jörg Müller", "email": "joerg@example.org"}]
    assert e["to"] == [{"name": "Bob", "email": "bob@example.net"},
                       {"name": "Carol, C.", "email": "carol@example.net"}]
    assert e["cc"] == [{"name": None, "email": "dave@example.net"},
                       {"name": "Erin", "email": "erin@example.net"},
                       {"name": None, "email": "frank@example.net"}]
    assert e["subject"] == "Grüße aus Berlin"
    assert e["sentAt"] == "2026-02-24T18:55:12+01:00"
    assert e["receivedAt"] == "2026-01-05T10:00:00Z"
    assert e["size"] == len(MIXED)
    assert e["hasAttachment"] is True
    assert e["preview"].startswith("Grüße, this is the plain text")
    assert e["keywords"] == {} and len(e["mailboxIds"]) == 1
    r = get1(j, eid, READ_PROPS, fetchTextBodyValues=True, fetchHTMLBodyValues=True)
    assert r["messageId"] == ["m1@example.org"]
    assert r["references"] == ["root@example.org", "m0@example.org"]
    assert r["replyTo"] == [{"name": None, "email": "replies@example.org"}]
    assert [p["partId"] for p in r["textBody"]] == ["1.1"]
    assert [p["partId"] for p in r["htmlBody"]] == ["1.2"]
    att = r["attachments"]
    assert [(p["partId"], p["type"], p["name"], p["disposition"]) for p in att] == [
        ("2", "application/pdf", "Bericht über.pdf", "attachment")]
    assert att[0]["blobId"] == f"G{eid}.2" and att[0]["language"] == ["de"]
    assert att[0]["size"] == 58  # decoded, as the download
    assert r["textBody"][0]["charset"] == "iso-8859-1"
    assert r["bodyValues"] == {
        "1.1": {"value": "Grüße, this is the plain text.", "isEncodingProblem": False,
                "isTruncated": False},
        "1.2": {"value": "<html><body><p>Grüße, HTML</p></body></html>",
                "isEncodingProblem": False, "isTruncated": False}}


# ---- part blobs (contract C1; RFC 8620 6.2 download) ----

def binary(c, uid, section):
    """IMAP UID FETCH BINARY[section] (RFC 3516): the decoded octets."""
    st, untagged = c.cmd(f"UID FETCH {uid} (BINARY.PEEK[{section}])")
    assert b" OK " in st, st
    line = b"\r\n".join(untagged)
    m = re.search(rb"BINARY\[" + section.encode() + rb"\] ~?\{(\d+)\}\r\n", line)
    if m:
        return line[m.end():m.end() + int(m.group(1))]
    m = re.search(rb"BINARY\[" + section.encode() + rb"\] \"((?:[^\"\\]|\\.)*)\"", line)
    return re.sub(rb"\\(.)", rb"\1", m.group(1))


def download(j, blob, name="x", query="", auth=None):
    st, hdrs, body = http_request(j.server, "GET", f"/jmap/download/{j.acct}/{blob}/{name}"
                                  + query, headers={"Authorization": auth or j.auth})
    return st, hdrs, body


def leaves(part):
    if part.get("subParts") is not None:
        for p in part["subParts"]:
            yield from leaves(p)
    else:
        yield part


def test_part_blobs_are_imap_binary(mserver):
    """Every leaf part's blob downloads the part decoded, byte for byte what IMAP
    BINARY[partId] (RFC 3516) gives for the same section, with the part's type when
    the URL names none; the whole-message blob is BODY[]."""
    j, c, (eid,) = store(mserver, [MIXED])
    bs = get1(j, eid, ["bodyStructure"])["bodyStructure"]
    parts = list(leaves(bs))
    assert [p["partId"] for p in parts] == ["1.1", "1.2", "2"]
    c.cmd("EXAMINE INBOX")
    for p in parts:
        st, hdrs, body = download(j, p["blobId"])
        assert st == 200, body
        assert body == binary(c, 1, p["partId"]), p["partId"]
        assert len(body) == p["size"], p
        assert hdrs["content-type"].split(";")[0] == p["type"]
    py = email.message_from_bytes(MIXED, policy=email.policy.default)
    pdf = [q for q in py.walk() if q.get_content_type() == "application/pdf"][0]
    assert download(j, f"G{eid}.2")[2] == pdf.get_payload(decode=True)
    st, hdrs, body = download(j, f"G{eid}.2", query="?type=text/plain")
    assert hdrs["content-type"].startswith("text/plain")
    assert download(j, f"G{eid}")[2] == MIXED
    for bad in (f"G{eid}.3", f"G{eid}.1", f"G{eid}.0", f"G{eid}.1.3", f"G{eid}.",
                f"G{eid}.1.1.", f"G{eid}.01", "G" + "0" * 32 + ".1"):
        assert download(j, bad)[0] == 404, bad


def test_part_blobs_isolated(mserver):
    """Another account's Email id and part blob ids are notFound / 404, whether asked
    by id, by download under one's own account, or under the other's account id."""
    j, c, (eid,) = store(mserver, [MIXED])
    b, jb = account(mserver, "jgother")
    r = jb.ok("Email/get", {"ids": [eid], "properties": ["subject", "bodyValues"],
                            "fetchAllBodyValues": True})
    assert r["list"] == [] and r["notFound"] == [eid]
    for blob in (f"G{eid}", f"G{eid}.2", f"G{eid}.1.1"):
        assert download(jb, blob)[0] == 404, blob
        assert download(j, blob)[0] == 200, blob
        st, _, _ = http_request(mserver, "GET", f"/jmap/download/{j.acct}/{blob}/x",
                                headers={"Authorization": jb.auth})
        assert st == 404, blob


# ---- Email/parse (RFC 8621 4.9) ----

FORWARD = crlf("""From: Fwd <fwd@example.org>
To: x@example.net
Subject: Fwd: two messages
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="f"

--f
Content-Type: text/plain

See the attached messages.
--f
Content-Type: message/rfc822

""") + MIXED + crlf("""
--f
Content-Type: message/rfc822
Content-Transfer-Encoding: base64

""") + __import__("base64").encodebytes(crlf("From: b64@example.org\nSubject: inside base64\n\nhi\n")).replace(b"\n", b"\r\n") + crlf("""--f--
""")


def test_parse_upload_and_parts(mserver):
    """An upload, a stored message and a message/rfc822 part parse into Emails with
    null id/threadId/mailboxIds/keywords/receivedAt; the parts of a parsed part get
    blob ids that continue the IMAP numbering (G<id>.2 + 1.1 = G<id>.2.1.1) and
    download as IMAP BINARY does; a non-message part is notParsable, an unknown or
    another account's blob notFound."""
    j, c, (eid,) = store(mserver, [FORWARD])
    up = j.upload(MIXED, "message/rfc822")["blobId"]
    _, jb = account(mserver, "jgparse")
    other = jb.upload(MIXED, "message/rfc822")["blobId"]
    props = ["id", "threadId", "mailboxIds", "keywords", "receivedAt", "blobId", "size",
             "subject", "from", "sentAt", "preview", "bodyStructure", "textBody",
             "attachments", "bodyValues", "header:X-Custom:all"]
    r = j.ok("Email/parse", {"blobIds": [up, f"G{eid}.2", f"G{eid}.3", f"G{eid}.1",
                                         f"G{eid}", other, "U" + "0" * 32, f"G{eid}.9"],
                             "properties": props, "fetchTextBodyValues": True})
    assert r["notParsable"] == [f"G{eid}.1"]
    assert sorted(r["notFound"]) == sorted([other, "U" + "0" * 32, f"G{eid}.9"])
    p_up, p_part = r["parsed"][up], r["parsed"][f"G{eid}.2"]
    for p in (p_up, p_part):
        assert [p[k] for k in ("id", "threadId", "mailboxIds", "keywords", "receivedAt")] \
            == [None] * 5
        assert p["subject"] == "Grüße aus Berlin"
        assert p["from"] == [{"name": "Jörg Müller", "email": "joerg@example.org"}]
        assert p["sentAt"] == "2026-02-24T18:55:12+01:00"
        assert p["header:X-Custom:all"] == [" one", "  two"]
        assert p["size"] == len(MIXED)
        assert p["preview"].startswith("Grüße, this is the plain text")
        assert p["bodyValues"]["1.1"]["value"] == "Grüße, this is the plain text."
    assert p_up["blobId"] == up
    assert p_up["attachments"][0]["blobId"] == up + ".2"
    assert p_part["attachments"][0]["blobId"] == f"G{eid}.2.2"
    assert p_part["textBody"][0]["blobId"] == f"G{eid}.2.1.1"
    c.cmd("EXAMINE INBOX")
    for blob, section in ((f"G{eid}.2.2", "2.2"), (f"G{eid}.2.1.1", "2.1.1")):
        st, _, body = download(j, blob)
        assert st == 200 and body == binary(c, 1, section), blob
    assert download(j, up + ".2")[2] == download(j, f"G{eid}.2.2")[2]
    # the base64 message/rfc822 is parsed from its decoded blob; its parts have no
    # section of their own in the stored tree: null blob ids
    p3 = r["parsed"][f"G{eid}.3"]
    assert p3["subject"] == "inside base64" and p3["textBody"][0]["blobId"] is None
    assert r["parsed"][f"G{eid}"]["subject"] == "Fwd: two messages"
    # blobs are the account's own: the other account cannot parse them, nor their parts
    theirs = [up, f"G{eid}", f"G{eid}.2", up + ".2"]
    r = jb.ok("Email/parse", {"blobIds": theirs + [other], "properties": ["subject"]})
    assert r["notFound"] == theirs and list(r["parsed"]) == [other]
    for blob in theirs:
        assert download(jb, blob)[0] == 404, blob
    assert j.err("Email/parse", {"blobIds": "x"}) == "invalidArguments"
    assert j.err("Email/parse", {"blobIds": [up], "properties": ["header:From:asDate"]}) \
        == "invalidArguments"


# ---- the IMAP corpus: Email/get against ENVELOPE, BODYSTRUCTURE and BINARY ----

def sexp(data):
    """An IMAP response value (lists, strings, literals, NIL, atoms) -> Python."""
    pos = 0

    def value():
        nonlocal pos
        while data[pos:pos + 1] == b" ":
            pos += 1
        ch = data[pos:pos + 1]
        if ch == b"(":
            pos += 1
            out = []
            while True:
                while data[pos:pos + 1] == b" ":
                    pos += 1
                if data[pos:pos + 1] == b")":
                    pos += 1
                    return out
                out.append(value())
        if ch == b'"':
            m = re.compile(rb'"((?:[^"\\]|\\.)*)"').match(data, pos)
            pos = m.end()
            return re.sub(rb"\\(.)", rb"\1", m.group(1))
        m = re.compile(rb"~?\{(\d+)\}\r\n").match(data, pos)
        if m:
            n = int(m.group(1))
            pos = m.end() + n
            return data[m.end():pos]
        m = re.compile(rb"[^ ()]+").match(data, pos)
        pos = m.end()
        return None if m.group(0) == b"NIL" else m.group(0)
    return value()


def fetch_item(c, uid, item, no_ok=False):
    """The value of one FETCH item; "NO" when the server refuses it and no_ok."""
    st, untagged = c.cmd(f"UID FETCH {uid} ({item})")
    if no_ok and b" NO " in st:
        return "NO"
    assert b" OK " in st, st
    line = b"\r\n".join(u for u in untagged if b" FETCH (" in u)
    k = line.index(item.split("[")[0].replace(".PEEK", "").encode() + (b"[" if "[" in item else b" "))
    k = line.index(b" ", line.index(b"]", k) if "[" in item else k) + 1
    return sexp(line[k:])


def imap_leaves(bs, section=""):
    """[(section, "type/subtype")] of a BODYSTRUCTURE's leaves, message/rfc822 parts
    as leaves (JMAP does not descend into them, RFC 8621 4.1.4)."""
    if isinstance(bs[0], list):
        out = []
        k = 0
        while k < len(bs) and isinstance(bs[k], list):
            out += imap_leaves(bs[k], f"{section}.{k + 1}" if section else str(k + 1))
            k += 1
        return out
    return [(section or "1", (bs[0] + b"/" + bs[1]).decode().lower())]


def decode_words(raw):
    """RFC 2047 decoding by Python's email package (which also collapses whitespace
    runs: compare through norm())."""
    import email.header
    if raw is None:
        return None
    s = str(email.header.make_header(email.header.decode_header(
        raw.decode("utf-8", "replace"))))
    return s or None


def norm(s):
    """Whitespace runs as one space, NUL and U+FFFD alike: what the two decoders may
    legitimately differ in (RFC 8621 4.1.2.2 unfolds but keeps runs)."""
    if s is None:
        return None
    return re.sub(r"\s+", " ", s.replace("\x00", "\ufffd")).strip()


@pytest.fixture(scope="module")
def corpus_account(module_server):
    a, j = account(module_server, "jgcorpus")
    c = imap(module_server, a)
    names = sorted(p.stem for p in CORPUS.glob("*.eml"))
    for name in names:
        msg = (CORPUS / f"{name}.eml").read_bytes()
        c.send(f"p APPEND INBOX ~{{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
        st, _ = c.until("p")
        assert b" OK " in st, (name, st)
    c.cmd("EXAMINE INBOX")
    ids = [emailid(c, i + 1) for i in range(len(names))]
    yield j, c, names, ids
    c.close()


def test_corpus_structure_is_imap_bodystructure(corpus_account, mserver):
    """For every corpus message: the leaves of bodyStructure are BODYSTRUCTURE's, with
    the same section numbers and types; each leaf's size is BINARY.SIZE[partId] and its
    blob is BINARY[partId], byte for byte (RFC 3516)."""
    j, c, names, ids = corpus_account
    r = j.ok("Email/get", {"ids": ids, "properties": ["bodyStructure"],
                           "bodyProperties": ["partId", "blobId", "size", "type", "subParts"]})
    assert [e["id"] for e in r["list"]] == ids
    bad, n = [], 0
    for uid, (name, e) in enumerate(zip(names, r["list"]), 1):
        mine = [(p["partId"], p["type"]) for p in leaves(e["bodyStructure"])]
        theirs = imap_leaves(fetch_item(c, uid, "BODYSTRUCTURE"))
        if mine != theirs:
            bad.append(f"{name}: {mine} != {theirs}")
            continue
        for p in leaves(e["bodyStructure"]):
            n += 1
            size = fetch_item(c, uid, f"BINARY.SIZE[{p['partId']}]", no_ok=True)
            st, _, body = download(j, p["blobId"])
            if size == "NO":  # [UNKNOWN-CTE]: JMAP gives the bytes as stored
                want = fetch_item(c, uid, f"BODY.PEEK[{p['partId']}]")
                if st != 200 or body != want or p["size"] != len(want):
                    bad.append(f"{name} {p['partId']}: unknown CTE not as stored")
                continue
            if int(size) != p["size"]:
                bad.append(f"{name} {p['partId']}: size {p['size']} != {size}")
            want = fetch_item(c, uid, f"BINARY.PEEK[{p['partId']}]")
            if st != 200 or body != (want or b""):
                bad.append(f"{name} {p['partId']}: blob differs from BINARY")
    assert n > 100
    assert not bad, "\n".join(bad[:20])


def test_corpus_headers_are_envelope(corpus_account, mserver):
    """subject and the address fields as ENVELOPE has them, decoded (RFC 2047) by
    Python's email package; messageId as ENVELOPE's without brackets. ENVELOPE takes
    the first of repeated fields, JMAP the last (RFC 8621 4.1.3): messages with a
    field twice are compared on the fields they have once."""
    j, c, names, ids = corpus_account
    r = j.ok("Email/get", {"ids": ids, "properties": [
        "subject", "from", "sender", "to", "cc", "bcc", "replyTo", "messageId", "headers"]})
    fields = [("subject", 1), ("from", 2), ("sender", 3), ("replyTo", 4), ("to", 5),
              ("cc", 6), ("bcc", 7)]
    field_names = {"subject": "subject", "from": "from", "sender": "sender",
                   "replyTo": "reply-to", "to": "to", "cc": "cc", "bcc": "bcc"}
    bad, n = [], 0
    for uid, (name, e) in enumerate(zip(names, r["list"]), 1):
        env = fetch_item(c, uid, "ENVELOPE")
        counts = {}
        for h in e["headers"]:
            counts[h["name"].lower()] = counts.get(h["name"].lower(), 0) + 1
        for prop, k in fields:
            if counts.get(field_names[prop], 0) != 1:
                continue
            n += 1
            if prop == "subject":
                if norm(e["subject"]) != norm(decode_words(env[1]) or ""):
                    bad.append(f"{name} subject: {e['subject']!r} != {decode_words(env[1])!r}")
                continue
            want = []
            for a in env[k] or []:
                if a[3] is None:  # group markers: JMAP Addresses flattens groups
                    continue
                host = a[3].decode("utf-8", "replace")
                mbox = (a[2] or b"").decode("utf-8", "replace")
                want.append((norm(decode_words(a[0])), mbox + ("@" + host if host else "")))
            got = [(norm(x["name"]), x["email"]) for x in e[prop] or []]
            # IMAP repeats From for an empty Sender/Reply-To (RFC 9051 7.5.2)
            if prop in ("sender", "replyTo") and got == [] and env[k] == env[2]:
                continue
            if got != want:
                bad.append(f"{name} {prop}: {got} != {want}")
    assert n > 100
    assert not bad, "\n".join(bad[:30])


# ---- RFC 8621 4.1.4: textBody, htmlBody, attachments ----

def reference_lists(msg):
    """The RFC 8621 4.1.4 parseStructure, transcribed, over Python's email parse tree
    with IMAP section numbers: (textBody, htmlBody, attachments) as partId lists."""
    def node(part, section):
        sub = None  # message/rfc822 is a leaf (RFC 8621 4.1.4), though Python descends
        if part.get_content_maintype() == "multipart":
            sub = [node(p, f"{section}.{i}" if section else str(i))
                   for i, p in enumerate(part.get_payload(), 1)]
        return {"type": part.get_content_type(), "sub": sub, "id": section,
                "disposition": part.get_content_disposition(),
                "name": part.get_filename()}
    top = node(msg, "" if msg.get_content_maintype() == "multipart" else "1")

    def inline_media(t):
        return t.split("/")[0] in ("image", "audio", "video")

    def parse(parts, mtype, in_alt, html, text, att):
        tl = len(text) if text is not None else -1
        hl = len(html) if html is not None else -1
        for i, p in enumerate(parts):
            is_inline = (p["disposition"] != "attachment" and
                         (p["type"] in ("text/plain", "text/html") or inline_media(p["type"]))
                         and (i == 0 or (mtype != "related" and
                                         (inline_media(p["type"]) or not p["name"]))))
            if p["sub"] is not None:
                st = p["type"].split("/")[1]
                parse(p["sub"], st, in_alt or st == "alternative", html, text, att)
            elif is_inline:
                if mtype == "alternative":
                    {"text/plain": text, "text/html": html}.get(p["type"], att).append(p["id"])
                    continue
                if in_alt:
                    if p["type"] == "text/plain":
                        html = None
                    if p["type"] == "text/html":
                        text = None
                if text is not None:
                    text.append(p["id"])
                if html is not None:
                    html.append(p["id"])
                if (text is None or html is None) and inline_media(p["type"]):
                    att.append(p["id"])
            else:
                att.append(p["id"])
        if mtype == "alternative" and text is not None and html is not None:
            if tl == len(text) and hl != len(html):
                text.extend(html[hl:])
            if hl == len(html) and tl != len(text):
                html.extend(text[tl:])
    text, html, att = [], [], []
    parse([top], "mixed", False, html, text, att)
    return text, html, att


def mime(tree, boundary="b"):
    """A message from a nested ("multipart/x", [children]) / ("type/sub", extra
    headers) description."""
    def part(t, depth):
        if len(t) > 1 and isinstance(t[1], list):
            b = f"{boundary}{depth}x{id(t)}"
            out = f"Content-Type: {t[0]}; boundary=\"{b}\"\n\n"
            for c in t[1]:
                out += f"--{b}\n" + part(c, depth + 1) + "\n"
            return out + f"--{b}--\n"
        body = "R0lGODlhAQABAAAAACw=" if not t[0].startswith("text/") else f"{t[0]} body"
        enc = "Content-Transfer-Encoding: base64\n" if not t[0].startswith("text/") else ""
        return f"Content-Type: {t[0]}\n{t[1] if len(t) > 1 else ''}{enc}\n{body}\n"
    return crlf("From: a@example.org\nSubject: s\nMIME-Version: 1.0\n" + part(tree, 0))


STRUCTURES = [
    ("text/plain",),
    ("text/html",),
    ("image/png",),
    ("multipart/alternative", [("text/plain",), ("text/html",)]),
    ("multipart/alternative", [("text/html",)]),
    ("multipart/mixed", [("multipart/alternative", [("text/plain",), (
        "multipart/related", [("text/html",), ("image/png", "Content-ID: <i1>\n")])]),
        ("application/pdf", "Content-Disposition: attachment; filename=a.pdf\n")]),
    ("multipart/mixed", [("text/plain",), ("image/jpeg",), ("text/plain",),
                         ("text/plain", "Content-Disposition: inline; filename=b.txt\n"),
                         ("text/html", "Content-Disposition: attachment\n")]),
    ("multipart/related", [("text/html",), ("text/plain",), ("image/gif",)]),
    ("multipart/alternative", [("text/plain",), ("multipart/related", [
        ("text/html",), ("image/png",)]), ("application/octet-stream",)]),
    ("multipart/mixed", [("multipart/alternative", [("text/plain",), ("image/png",)]),
                         ("audio/ogg",), ("message/rfc822",)]),
]


def test_body_lists_follow_rfc_8621_algorithm(mserver):
    """textBody, htmlBody and attachments are what the RFC's parseStructure gives for
    each structure (alternatives, related, inline media, named text parts, explicit
    dispositions), transcribed in Python over the email package's tree."""
    msgs = [mime(t) for t in STRUCTURES]
    j, c, ids = store(mserver, msgs)
    r = j.ok("Email/get", {"ids": ids, "properties": [
        "textBody", "htmlBody", "attachments", "hasAttachment"], "bodyProperties": ["partId"]})
    for t, m, e in zip(STRUCTURES, msgs, r["list"]):
        want = reference_lists(email.message_from_bytes(m))
        got = tuple([p["partId"] for p in e[k]] for k in ("textBody", "htmlBody", "attachments"))
        assert got == want, t
    # 4.1.4: an attachment not marked Content-Disposition: inline; a lone image is
    # the body (textBody and htmlBody), not an attachment
    assert [e["hasAttachment"] for e in r["list"]] == [
        False, False, False, False, False, True, True, True, True, True]


def test_body_values(mserver):
    """bodyValues (RFC 8621 4.2): fetchTextBodyValues / fetchHTMLBodyValues /
    fetchAllBodyValues pick the parts; maxBodyValueBytes cuts on a UTF-8 character
    boundary with isTruncated; an unknown charset or bytes that are not UTF-8 set
    isEncodingProblem; charsets are converted (RFC 2045, 2046)."""
    msg = crlf("""From: a@example.org
Subject: values
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=v

--v
Content-Type: multipart/alternative; boundary=w

--w
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

\u00e4\u00f6\u00fc\u20ac and more
--w
Content-Type: text/html; charset=windows-1252
Content-Transfer-Encoding: quoted-printable

<p>=80=E4</p>
--w--
--v
Content-Type: text/plain; charset=x-unknown-charset
Content-Disposition: attachment; filename=notes.txt

plain ascii
--v
Content-Type: text/plain; charset=utf-8

bad \xff\xfe utf-8
--v--
""".encode("utf-8").replace(b"\\xff\\xfe", b"\xff\xfe"))
    msg = msg.replace("bad \xff\xfe".encode("utf-8"), b"bad \xff\xfe")
    j, c, (eid,) = store(mserver, [msg])
    vals = get1(j, eid, ["bodyValues"], fetchTextBodyValues=True)["bodyValues"]
    assert list(vals) == ["1.1", "3"]
    assert vals["1.1"] == {"value": "äöü€ and more", "isEncodingProblem": False,
                           "isTruncated": False}
    assert vals["3"]["isEncodingProblem"] is True
    assert vals["3"]["value"].startswith("bad \ufffd")
    vals = get1(j, eid, ["bodyValues"], fetchHTMLBodyValues=True)["bodyValues"]
    assert vals == {"1.2": {"value": "<p>€ä</p>", "isEncodingProblem": False,
                            "isTruncated": False}, "3": vals["3"]}
    vals = get1(j, eid, ["bodyValues"], fetchAllBodyValues=True)["bodyValues"]
    assert sorted(vals) == ["1.1", "1.2", "2", "3"]
    assert vals["2"] == {"value": "plain ascii", "isEncodingProblem": True,
                         "isTruncated": False}
    assert get1(j, eid, ["bodyValues"])["bodyValues"] == {}
    # "äöü€": 2+2+2+3 bytes; a cut inside a character backs off to its start
    for n, want in ((1, ""), (2, "ä"), (3, "ä"), (6, "äöü"), (8, "äöü"), (9, "äöü€"),
                    (13, "äöü€ and"), (14, "äöü€ and "), (100, "äöü€ and more")):
        v = get1(j, eid, ["bodyValues"], fetchTextBodyValues=True,
                 maxBodyValueBytes=n)["bodyValues"]["1.1"]
        assert (v["value"], v["isTruncated"]) == (want, n < 18), n
    for bad in (0, -1, "10", 1.5):
        assert j.err("Email/get", {"ids": [eid], "properties": ["bodyValues"],
                                   "maxBodyValueBytes": bad}) == "invalidArguments", bad
    assert j.err("Email/get", {"ids": [eid], "fetchAllBodyValues": "yes"}) == \
        "invalidArguments"


def test_header_properties(mserver):
    """header:{name}[:as{form}][:all] (RFC 8621 4.1.3) on the message and, through
    bodyProperties, on its parts; headers in order; a form a known field does not
    allow is invalidArguments (4.1.2)."""
    j, c, (eid,) = store(mserver, [MIXED])
    e = get1(j, eid, ["headers", "header:x-custom", "header:X-Custom:all",
                      "header:X-Custom:asText:all", "header:List-Unsubscribe:asURLs",
                      "header:Cc:asGroupedAddresses", "header:Date:asDate",
                      "header:References:asMessageIds", "header:X-Missing",
                      "header:X-Missing:all", "header:Subject:asText", "inReplyTo",
                      "sender", "bcc"])
    py = email.message_from_bytes(MIXED)
    assert [h["name"] for h in e["headers"]] == list(py.keys())
    assert e["headers"][0] == {"name": "From",
                               "value": " =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@example.org>"}
    assert e["header:x-custom"] == "  two"
    assert e["header:X-Custom:all"] == [" one", "  two"]
    assert e["header:X-Custom:asText:all"] == ["one", "two"]
    assert e["header:List-Unsubscribe:asURLs"] == [
        "mailto:leave@example.org", "https://example.org/leave?x=1"]
    assert e["header:Cc:asGroupedAddresses"] == [
        {"name": "Team", "addresses": [{"name": None, "email": "dave@example.net"},
                                       {"name": "Erin", "email": "erin@example.net"}]},
        {"name": None, "addresses": [{"name": None, "email": "frank@example.net"}]}]
    assert e["header:Date:asDate"] == "2026-02-24T18:55:12+01:00"
    assert e["header:References:asMessageIds"] == ["root@example.org", "m0@example.org"]
    assert e["header:X-Missing"] is None and e["header:X-Missing:all"] == []
    assert e["header:Subject:asText"] == "Grüße aus Berlin"
    assert e["inReplyTo"] == ["m0@example.org"] and e["bcc"] is None
    assert e["sender"] == [{"name": "Secretary", "email": "sec@example.org"}]
    bs = get1(j, eid, ["bodyStructure"], bodyProperties=[
        "partId", "headers", "header:Content-Type:asRaw", "type", "subParts"])["bodyStructure"]
    assert bs["partId"] is None and bs["type"] == "multipart/mixed"
    pdf = bs["subParts"][1]
    assert pdf["header:Content-Type:asRaw"] == ' application/pdf; name="report.pdf"'
    assert [h["name"] for h in pdf["headers"]] == [
        "Content-Type", "Content-Disposition", "Content-Transfer-Encoding", "Content-Language"]
    for bad in ("header:From:asDate", "header:Subject:asAddresses", "header:Date:asRaw:x",
                "header:X:asFoo", "header:", "header:A B"):
        assert j.err("Email/get", {"ids": [eid], "properties": [bad]}) == \
            "invalidArguments", bad
        assert j.err("Email/get", {"ids": [eid], "properties": ["id"],
                                   "bodyProperties": [bad]}) == "invalidArguments", bad
    assert j.err("Email/get", {"ids": [eid], "bodyProperties": ["nope"]}) == "invalidArguments"


def test_default_properties(mserver):
    """Without properties, Email/get answers RFC 8621 4.2's default list; without
    bodyProperties the parts have 4.2's default part properties."""
    j, c, (eid,) = store(mserver, [MIXED])
    e = j.ok("Email/get", {"ids": [eid]})["list"][0]
    assert sorted(e) == sorted([
        "id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt",
        "messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc",
        "replyTo", "subject", "sentAt", "hasAttachment", "preview", "bodyValues",
        "textBody", "htmlBody", "attachments"])
    assert sorted(e["attachments"][0]) == sorted([
        "partId", "blobId", "size", "name", "type", "charset", "disposition", "cid",
        "language", "location"])
    assert e["textBody"][0]["charset"] == "iso-8859-1"
    assert e["attachments"][0]["charset"] is None and e["bodyValues"] == {}


def test_headers_need_no_message_file(mserver):
    """A headers-and-preview Email/get of 50 messages is answered from the store's
    cached headers and previews: it still works with every message file removed
    (bodies then fail as the file is gone)."""
    a, j = account(mserver, "jgnofile")
    c = imap(mserver, a)
    for i in range(50):
        append(c, crlf(f"From: Sender {i} <s{i}@example.org>\nTo: r@example.net\n"
                       f"Subject: message {i}\nDate: Mon, 2 Mar 2026 10:{i:02d}:00 +0000\n"
                       f"\nbody {i}\n"))
    ids = [emailid(c, i + 1) for i in range(50)]
    want = j.ok("Email/get", {"ids": ids, "properties": LIST_PROPS})["list"]
    acct_dir = Path(mserver.data) / "accounts" / j.acct[1:]
    assert (acct_dir / "index.db").exists()
    own = [p for p in (acct_dir / "msg").rglob("*") if p.is_file()]
    assert len(own) == 50
    backup = Path(str(mserver.data) + "-moved")
    for p in own:
        dest = backup / p.relative_to(mserver.data)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(p), str(dest))
    try:
        got = j.ok("Email/get", {"ids": ids, "properties": LIST_PROPS + [
            "messageId", "references", "replyTo", "headers"]})["list"]
        for g, w in zip(got, want):
            assert {k: g[k] for k in w} == w
        assert got[7]["subject"] == "message 7" and got[7]["preview"] == "body 7"
        assert j.err("Email/get", {"ids": ids[:1], "properties": ["bodyValues"],
                                   "fetchTextBodyValues": True}) == "serverFail"
    finally:
        for p in own:
            shutil.move(str(backup / p.relative_to(mserver.data)), str(p))


def test_header_past_the_cache(mserver):
    """A header longer than the store caches (64 KiB) is read from the message file:
    the header properties are the same as for a short one."""
    pad = "".join(f"X-Pad-{i}: {'p' * 70}\n {'q' * 300}\n" for i in range(200))
    msg = crlf(f"From: Long <long@example.org>\nSubject: =?UTF-8?Q?long_h=C3=A9ader?=\n"
               f"{pad}X-Last: end\n\nbody\n")
    assert len(msg) > 70000  # past LIMIT_CACHED_HEADER
    j, c, (eid,) = store(mserver, [msg])
    e = get1(j, eid, ["from", "subject", "header:X-Last", "headers", "preview"])
    assert e["from"] == [{"name": "Long", "email": "long@example.org"}]
    assert e["subject"] == "long héader" and e["header:X-Last"] == " end"
    assert len(e["headers"]) == 203 and e["preview"] == "body"
