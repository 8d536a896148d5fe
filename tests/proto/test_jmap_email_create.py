"""Email/set create: the message kasten writes from a JMAP Email object (issue 10, wave
3; RFC 8621 4.6 "create", contract C3: src/http/jmap_email_build_*.c) on a real `kasten
serve`. A created Email is read back over IMAP (FETCH FLAGS, BODYSTRUCTURE, BODY[]) and
parsed by Python's email package (policy=default) field by field: RFC 5322 header
fields (2.1.1 line lengths, 2.2.3 folding, 3.3 dates, 3.6.4 Message-ID), RFC 2047
encoded words and RFC 2231 parameters for what is not ASCII, RFC 2045/2046 MIME
structure and transfer encodings. Refusals are SetErrors (RFC 8620 5.3, RFC 8621 4.6):
invalidProperties naming the property, blobNotFound with the ids, tooLarge, overQuota;
another account's blob ids are never found."""

import base64
import email
import email.policy
import re

from jmap_test import JmapClient
from kasten_test import RawIMAP, deliver, unique_user

KASTEN_LISTEN = ("smtp", "imap", "http")
# a message limit the size test can pass with a modest upload
MAX_MESSAGE = 600 * 1024
KASTEN_CONFIG = {"limits": {"max_unauthenticated_per_ip": 100,
                            "max_message_size": str(MAX_MESSAGE)}}
PASSWORD = "Jmap-create-pass-1"

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


def account(server, prefix="ec", quota=None):
    a = unique_user(prefix)
    server.user_add(a, PASSWORD, quota=quota)
    return a, JmapClient(server, a, PASSWORD)


def create(c, obj, mailbox_role="drafts"):
    """Email/set create of one Email: ("created", {...}) or ("notCreated", SetError)."""
    _, roles = c.mailbox_ids()
    obj = dict({"mailboxIds": {roles[mailbox_role]: True}}, **obj)
    r = c.ok("Email/set", {"create": {"k": obj}})
    if "k" in (r.get("created") or {}):
        return "created", r["created"]["k"]
    return "notCreated", r["notCreated"]["k"]


def created(c, obj, mailbox_role="drafts"):
    kind, res = create(c, obj, mailbox_role)
    assert kind == "created", res
    return res


def refused(c, obj):
    kind, res = create(c, obj)
    assert kind == "notCreated", res
    return res


def fetch(server, a, mailbox, eid):
    """(FLAGS line, BODYSTRUCTURE line, BODY[] bytes) of the Email over IMAP."""
    with RawIMAP(server.host, server.ports["imap"]) as i:
        i.login(a, PASSWORD)
        st, _ = i.cmd(f"SELECT {mailbox}")
        assert b" OK " in st
        _, untagged = i.cmd("UID FETCH 1:* (EMAILID FLAGS BODYSTRUCTURE BODY.PEEK[])")
        for line in untagged:
            if f"EMAILID ({eid})".encode() in line:
                m = re.search(rb"BODY\[\] \{(\d+)\}\r\n", line)
                body = line[m.end():m.end() + int(m.group(1))]
                return line[:m.start()], line[:m.start()], body
    raise AssertionError(f"{eid} not in {mailbox}")


def check_lines(raw):
    """CRLF line ends only; no line over 998 octets (RFC 5322 2.1.1); header lines at
    most 78 (2.1.1 SHOULD: we fold everything we write)."""
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    head, _, _ = raw.partition(b"\r\n\r\n")
    for line in raw.split(b"\r\n"):
        assert len(line) <= 998, line[:100]
    for line in head.split(b"\r\n"):
        assert len(line) <= 78, line


def parse(raw):
    m = email.message_from_bytes(raw, policy=email.policy.default)
    for part in m.walk():
        assert not part.defects, (part.get_content_type(), part.defects)
    return m


# ---- the draft the webmail saves: text + HTML + attachment + inline image ----

def test_draft_text_html_attachment_inline(mserver):
    """RFC 8621 4.6: textBody + htmlBody + an inline image with a cid + an attachment
    become multipart/mixed(multipart/alternative(text/plain, multipart/related(
    text/html, image/png)), application/pdf); stored in Drafts with $draft and $seen
    (\\Draft \\Seen over IMAP); every field reads back as it was given."""
    a, c = account(mserver)
    pdf = c.upload(PDF, "application/pdf")
    png = c.upload(PNG, "image/png")
    subject = "Grüße aus Köln – Entwurf 🙂 mit einem Betreff, der länger ist als eine Zeile"
    text = "Hallo Jürgen,\nanbei das Dokument.\n\n-- \nAnna"
    html = '<p>Hallo J&uuml;rgen,</p><p><img src="cid:logo@kasten"></p>'
    res = created(c, {
        "keywords": {"$draft": True, "$seen": True},
        "from": [{"name": "Anna Müller", "email": a}],
        "to": [{"name": "Jürgen Schmidt", "email": "juergen@example.org"},
               {"name": "Smith, John", "email": "john@example.net"},
               {"name": None, "email": "plain@example.com"}],
        "cc": [{"name": "\"Quoted\" Name", "email": "q@example.org"}],
        "bcc": [{"name": "Geheim", "email": "secret@example.org"}],
        "replyTo": [{"name": None, "email": "reply@example.org"}],
        "subject": subject,
        "sentAt": "2026-12-01T09:30:00+01:00",
        "inReplyTo": ["orig-1@example.org"],
        "references": ["root@example.org", "orig-1@example.org"],
        "header:X-Mailer:asText": "kasten webmail",
        "textBody": [{"partId": "t", "type": "text/plain"}],
        "htmlBody": [{"partId": "h", "type": "text/html"}],
        "attachments": [
            {"blobId": pdf["blobId"], "type": "application/pdf", "name": "Übersicht 2026.pdf"},
            {"blobId": png["blobId"], "type": "image/png", "name": "logo.png",
             "disposition": "inline", "cid": "logo@kasten"}],
        "bodyValues": {"t": {"value": text}, "h": {"value": html}},
    })
    assert set(res) == {"id", "blobId", "threadId", "size"}
    flags, bs, raw = fetch(mserver, a, "Drafts", res["id"])
    assert b"\\Draft" in flags and b"\\Seen" in flags
    assert len(raw) == res["size"]
    check_lines(raw)
    # BODYSTRUCTURE (RFC 9051 7.5.2) sees the same tree
    for sub in (b'"MIXED"', b'"ALTERNATIVE"', b'"RELATED"', b'"PDF"', b'"PNG"'):
        assert sub.lower() in bs.lower(), bs
    m = parse(raw)
    assert m["Subject"] == subject
    assert m["From"].addresses[0].display_name == "Anna Müller"
    assert m["From"].addresses[0].addr_spec == a
    to = m["To"].addresses
    assert [(x.display_name, x.addr_spec) for x in to] == [
        ("Jürgen Schmidt", "juergen@example.org"), ("Smith, John", "john@example.net"),
        ("", "plain@example.com")]
    assert m["Cc"].addresses[0].display_name == '"Quoted" Name'
    # a draft keeps its Bcc (EmailSubmission removes it when sending, RFC 8621 7)
    assert m["Bcc"].addresses[0].addr_spec == "secret@example.org"
    assert m["Reply-To"].addresses[0].addr_spec == "reply@example.org"
    # RFC 5322 3.3 with the offset the client gave
    assert raw.count(b"\r\nDate: Tue, 1 Dec 2026 09:30:00 +0100\r\n") == 1
    assert re.fullmatch(r"<[0-9a-f]{32}@[^>]+>", m["Message-ID"])
    assert m["In-Reply-To"] == "<orig-1@example.org>"
    assert m["References"].split() == ["<root@example.org>", "<orig-1@example.org>"]
    assert m["X-Mailer"] == "kasten webmail"
    assert m["MIME-Version"] == "1.0"
    # the tree of 4.6
    assert m.get_content_type() == "multipart/mixed"
    alt, att = m.get_payload()
    assert alt.get_content_type() == "multipart/alternative"
    plain, rel = alt.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert plain.get_content_charset() == "utf-8"
    assert plain.get_content().replace("\r\n", "\n") == text
    assert rel.get_content_type() == "multipart/related"
    h, img = rel.get_payload()
    assert h.get_content_type() == "text/html" and h.get_content().rstrip() == html
    assert img.get_content_type() == "image/png"
    assert img["Content-ID"] == "<logo@kasten>"
    assert img.get_content_disposition() == "inline"
    assert img.get_content() == PNG
    assert att.get_content_type() == "application/pdf"
    assert att.get_content_disposition() == "attachment"
    assert att.get_filename() == "Übersicht 2026.pdf"
    assert att.get_content() == PDF
    assert att["Content-Transfer-Encoding"] == "base64"
    # the server's own reading of it (Email/get, RFC 8621 4.1) gives the same values
    got = c.ok("Email/get", {"ids": [res["id"]],
                             "properties": ["subject", "from", "to", "sentAt", "keywords"]})
    e = got["list"][0]
    assert e["subject"] == subject
    assert e["from"] == [{"name": "Anna Müller", "email": a}]
    assert e["to"][1] == {"name": "Smith, John", "email": "john@example.net"}
    assert e["sentAt"] == "2026-12-01T09:30:00+01:00"
    assert e["keywords"] == {"$draft": True, "$seen": True}


def test_long_lines_folded_and_encoded(mserver):
    """RFC 5322 2.1.1 / 2.2.3: a long ASCII subject is folded at its spaces (unfolding
    restores it); a 3000-character body line goes out quoted-printable (RFC 2045 6.7:
    lines of at most 76) and decodes to itself; UTF-8 text that is mostly not ASCII
    goes out base64; a text that fits stays 7bit."""
    a, c = account(mserver)
    subject = " ".join(f"word{i}" for i in range(60))
    long_line = "x" * 3000
    res = created(c, {
        "subject": subject,
        "bodyStructure": {"type": "multipart/mixed", "subParts": [
            {"partId": "1", "type": "text/plain"},
            {"partId": "2", "type": "text/plain"},
            {"partId": "3", "type": "text/plain"}]},
        "bodyValues": {"1": {"value": long_line + "\nend"},
                       "2": {"value": "Привет, мир! Это текст по-русски."},
                       "3": {"value": "short ascii\n"}},
    })
    _, _, raw = fetch(mserver, a, "Drafts", res["id"])
    check_lines(raw)
    head = raw.partition(b"\r\n\r\n")[0]
    assert b"\r\n word" in head  # folded before a space
    m = parse(raw)
    assert m["Subject"] == subject
    p1, p2, p3 = m.get_payload()
    assert p1["Content-Transfer-Encoding"] == "quoted-printable"
    assert p1.get_content().replace("\r\n", "\n") == long_line + "\nend"
    assert max(len(l) for l in p1.get_payload(decode=False).split("\n")) <= 77
    assert p2["Content-Transfer-Encoding"] == "base64"
    assert p2.get_content().replace("\r\n", "\n") == "Привет, мир! Это текст по-русски."
    assert p3["Content-Transfer-Encoding"] == "7bit"
    assert b"\r\n\r\nshort ascii\r\n" in raw


def test_header_forms_written_back(mserver):
    """RFC 8621 4.1.2: each header:X:asForm writes a field that parses back to the same
    value in that form (Email/get of the same property), :all writes one field per
    value, and headers [{name, value}] raw fields as given."""
    a, c = account(mserver)
    props = {
        "header:X-Text:asText": "Text with ümlaut",
        "header:X-Addr:asAddresses": [{"name": "Ä B", "email": "ab@example.org"}],
        "header:X-Group:asGroupedAddresses": [
            {"name": "Team", "addresses": [{"name": "C", "email": "c@example.org"}]},
            {"name": None, "addresses": [{"name": None, "email": "d@example.org"}]}],
        "header:X-Ids:asMessageIds": ["a@x", "b@y"],
        "header:X-When:asDate": "2020-02-29T23:59:59-08:00",
        "header:List-Post:asURLs": ["mailto:list@example.org"],
        "header:X-Many:asText:all": ["one", "two"],
        "header:X-Raw": " raw value\r\n folded",
    }
    res = created(c, dict(props, headers=[{"name": "X-Dup", "value": " 1"},
                                          {"name": "X-Dup", "value": " 2"}],
                          bodyValues={"b": {"value": "x"}}, textBody=[{"partId": "b"}]))
    _, _, raw = fetch(mserver, a, "Drafts", res["id"])
    check_lines(raw)
    assert b"\r\nX-Raw: raw value\r\n folded\r\n" in raw
    assert b"\r\nX-Dup: 1\r\nX-Dup: 2\r\n" in raw
    assert b"\r\nX-Many: one\r\nX-Many: two\r\n" in raw
    assert b"\r\nX-When: Sat, 29 Feb 2020 23:59:59 -0800\r\n" in raw
    assert b"\r\nList-Post: <mailto:list@example.org>\r\n" in raw
    got = c.ok("Email/get", {"ids": [res["id"]], "properties": list(props)})["list"][0]
    for k, v in props.items():
        if k == "header:X-Raw":
            continue
        assert got[k] == v, (k, got[k])


def test_forward_part_of_another_email(mserver):
    """C1 blob ids: an attachment of a received message (part "2", its decoded
    content) and the whole message (message/rfc822) attached to a new Email by blob id,
    byte for byte."""
    a, c = account(mserver)
    payload = bytes(range(256)) * 4
    msg = (b"From: <x@example.test>\r\nTo: <" + a.encode() + b">\r\nSubject: orig\r\n"
           b"Message-ID: <orig@example.test>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=b1\r\n\r\n"
           b"--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
           b"--b1\r\nContent-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: base64\r\n"
           b"Content-Disposition: attachment; filename=data.bin\r\n\r\n"
           + base64.encodebytes(payload).replace(b"\n", b"\r\n") + b"--b1--\r\n")
    deliver(mserver, a, msg)
    mserver.wait_messages(a, 1)
    eid = c.ok("Email/query", {})["ids"][0]
    res = created(c, {
        "subject": "Fwd: orig",
        "textBody": [{"partId": "t"}], "bodyValues": {"t": {"value": "forwarding"}},
        "attachments": [
            {"blobId": f"G{eid}.2", "type": "application/octet-stream", "name": "data.bin"},
            {"blobId": f"G{eid}", "type": "message/rfc822", "name": "orig.eml"}],
    })
    _, _, raw = fetch(mserver, a, "Drafts", res["id"])
    check_lines(raw)
    m = parse(raw)
    _, part, whole = m.get_payload()
    assert part.get_content() == payload
    assert whole.get_content_type() == "message/rfc822"
    assert whole["Content-Transfer-Encoding"] in ("7bit", "8bit")
    inner = whole.get_payload()[0]
    assert inner["Message-ID"] == "<orig@example.test>"
    assert inner.get_payload()[1].get_payload(decode=True) == payload


def test_other_accounts_blobs_not_found(mserver):
    """Isolation (issue 10 "no account can read another's data through any blob id"):
    another account's upload, message and part blob ids are blobNotFound, listed in
    notFound, and nothing is stored."""
    a, ca = account(mserver)
    b, cb = account(mserver)
    up = ca.upload(b"secret upload", "text/plain")
    ca_res = created(ca, {"textBody": [{"partId": "t"}],
                          "bodyValues": {"t": {"value": "secret"}}})
    theirs = [up["blobId"], f"G{ca_res['id']}", f"G{ca_res['id']}.1"]
    err = refused(cb, {"textBody": [{"partId": "t"}], "bodyValues": {"t": {"value": "x"}},
                       "attachments": [{"blobId": i} for i in theirs]})
    assert err["type"] == "blobNotFound"
    assert sorted(err["notFound"]) == sorted(theirs)
    assert cb.ok("Email/query", {})["ids"] == []
    # the owner can use the same ids
    created(ca, {"attachments": [{"blobId": i} for i in theirs]})


def test_blob_not_found(mserver):
    a, c = account(mserver)
    ok = c.upload(b"fine", "text/plain")
    err = refused(c, {"attachments": [{"blobId": "Udeadbeef"}, {"blobId": ok["blobId"]},
                                      {"blobId": "G" + "0" * 32 + ".1"}]})
    assert err["type"] == "blobNotFound"
    assert err["notFound"] == ["Udeadbeef", "G" + "0" * 32 + ".1"]


def test_invalid_properties(mserver):
    """RFC 8621 4.6 create rules, each refused as invalidProperties naming the
    property; nothing is stored."""
    a, c = account(mserver)
    body = {"bodyValues": {"b": {"value": "x"}}, "textBody": [{"partId": "b"}]}
    cases = [
        # Content-* fields only on body parts
        ({"header:Content-Type": " text/html", **body}, "header:Content-Type"),
        ({"headers": [{"name": "Content-Type", "value": " text/html"}], **body},
         "headers/Content-Type"),
        # the server chooses the transfer encoding
        ({"bodyStructure": {"partId": "b", "header:Content-Transfer-Encoding": " 8bit"},
          "bodyValues": {"b": {"value": "x"}}},
         "bodyStructure/header:Content-Transfer-Encoding"),
        # one field, one property
        ({"subject": "a", "header:Subject:asText": "b", **body}, "header:Subject:asText"),
        # a form the field does not allow
        ({"header:From:asDate": "2020-01-01T00:00:00Z", **body}, "header:From:asDate"),
        # no field can be smuggled in with a line break
        ({"subject": "hi\r\nBcc: victim@example.org", **body}, "subject"),
        ({"header:X-A": " a\r\nBcc: victim@example.org", **body}, "header:X-A"),
        ({"to": [{"name": "x", "email": "a@b>\r\nBcc: <v@example.org"}], **body}, "to"),
        # bodyStructure excludes textBody/htmlBody/attachments
        ({"bodyStructure": {"partId": "b"}, **body}, "textBody"),
        # textBody is one text/plain part
        ({"bodyValues": {"b": {"value": "x"}}, "textBody": [{"partId": "b",
                                                             "type": "text/html"}]},
         "textBody/0/type"),
        # a partId must name a body value, which is neither truncated nor broken
        ({"bodyValues": {}, "textBody": [{"partId": "b"}]}, "textBody/0/partId"),
        ({"bodyValues": {"b": {"value": "x", "isTruncated": True}},
          "textBody": [{"partId": "b"}]}, "bodyValues/b/isTruncated"),
        # partId or blobId, not both; no charset with a partId
        ({"bodyValues": {"b": {"value": "x"}},
          "textBody": [{"partId": "b", "charset": "latin1"}]}, "textBody/0/charset"),
        # server-set properties
        ({"size": 10, **body}, "size"),
        ({"sentAt": "not a date", **body}, "sentAt"),
    ]
    for obj, prop in cases:
        err = refused(c, obj)
        assert err["type"] == "invalidProperties", (obj, err)
        assert err["properties"] == [prop], (obj, err)
    assert c.ok("Email/query", {})["ids"] == []


def test_too_large_and_over_quota(server):
    """[limits] max_message_size bounds a created message (tooLarge, RFC 8620 5.3), the
    quota left bounds it too (overQuota); just under both, it is stored."""
    a, c = account(server, quota=str(2 * MAX_MESSAGE))
    big = c.upload(b"\0" * (MAX_MESSAGE * 3 // 4 + 1000))  # base64: 4/3 past the limit
    fits = c.upload(b"\0" * (MAX_MESSAGE // 2))
    err = refused(c, {"attachments": [{"blobId": big["blobId"]}]})
    assert err["type"] == "tooLarge", err
    first = created(c, {"attachments": [{"blobId": fits["blobId"]}]})
    assert first["size"] < MAX_MESSAGE
    # the quota now has less than another such message left
    created(c, {"attachments": [{"blobId": fits["blobId"]}]})
    err = refused(c, {"attachments": [{"blobId": fits["blobId"]}]})
    assert err["type"] == "overQuota", err
    assert len(c.ok("Email/query", {})["ids"]) == 2
