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
    # an upload is the account's own: the other account cannot parse it
    r = jb.ok("Email/parse", {"blobIds": [up, other], "properties": ["subject"]})
    assert r["notFound"] == [up] and list(r["parsed"]) == [other]
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
