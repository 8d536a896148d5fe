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
