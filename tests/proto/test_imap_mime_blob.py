"""A message stored with a MIME structure blob of an older MIME_BLOB_VERSION is still
answered by today's rules (src/mime/mime.h): FETCH parses its file again instead of
trusting the blob. The blob of another message, marked with the previous version, is
put into the index under a message whose structure the current rules decide (a
delimiter matched by its beginning, RFC 2046 5.1.1, and body-fld-lines counting line
ends, RFC 9051 7.5.2); BODYSTRUCTURE and a body section must still be that message's."""

import glob
import sqlite3

from kasten_test import RawIMAP, unique_user

KASTEN_LISTEN = ("smtp", "imap")
PASSWORD = "Blob-pass-123"
BLOB_VERSION = 2  # MIME_BLOB_VERSION in src/mime/mime.h

PREFIX = (b"Subject: stored before\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: multipart/mixed; boundary=abc\r\n\r\n"
          b"--abc\r\nContent-Type: text/plain\r\n\r\nfirst\r\n"
          b"--abcdef begins with the delimiter\r\n\r\nsecond\r\n"
          b"--abc--\r\n")
PREFIX_BS = (b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL)'
             b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 0 NIL NIL NIL NIL)'
             b' "mixed" ("boundary" "abc") NIL NIL NIL)')
OTHER = b"Subject: other\r\n\r\nplain body\r\n"


def fetch_one(c, item):
    st, untagged = c.cmd(f"FETCH 1 ({item})")
    assert b" OK " in st, st
    lines = [u for u in untagged if u.startswith(b"* 1 FETCH (")]
    assert len(lines) == 1, untagged
    return lines[0]


def test_older_blob_version_is_parsed_again(mserver):
    a = unique_user("blob")
    mserver.user_add(a, PASSWORD)
    c = RawIMAP(*mserver.addr("imap"))
    c.login(a, PASSWORD)
    for n, msg in enumerate((PREFIX, OTHER)):
        c.send(f"p{n} APPEND INBOX {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
        st, _ = c.until(f"p{n}")
        assert b" OK " in st, st
    st, _ = c.cmd("SELECT INBOX")
    assert b" OK " in st, st
    assert fetch_one(c, "BODYSTRUCTURE") == b"* 1 FETCH (BODYSTRUCTURE " + PREFIX_BS + b")"

    blobs = {}
    for path in glob.glob(str(mserver.data / "accounts" / "*" / "index.db")):
        db = sqlite3.connect(path, timeout=10)
        try:
            rows = db.execute("SELECT m.uid, c.guid, c.mime FROM messages m JOIN content c "
                              "ON c.guid = m.guid").fetchall()
            if len(rows) != 2:
                continue
            blobs = {uid: (guid, bytes(mime)) for uid, guid, mime in rows}
            assert all(b[:4] == b"KMB" + bytes([BLOB_VERSION]) for _, b in blobs.values())
            stale = blobs[2][1][:3] + bytes([BLOB_VERSION - 1]) + blobs[2][1][4:]
            with db:
                db.execute("UPDATE content SET mime = ? WHERE guid = ?", (stale, blobs[1][0]))
        finally:
            db.close()
    assert blobs, "no index.db holds the two messages"

    # Read as it is, the stale blob would describe the other message.
    assert fetch_one(c, "BODYSTRUCTURE") == b"* 1 FETCH (BODYSTRUCTURE " + PREFIX_BS + b")"
    assert fetch_one(c, "BODY.PEEK[2]") == b"* 1 FETCH (BODY[2] {6}\r\nsecond)"
    assert fetch_one(c, "ENVELOPE").startswith(b'* 1 FETCH (ENVELOPE (NIL "stored before" ')
    c.close()
