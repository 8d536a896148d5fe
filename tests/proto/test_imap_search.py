"""SEARCH and UID SEARCH against a real `kasten serve`: every search key of RFC 9051
6.4.4 and of RFC 3501 6.4.4 (NEW, OLD, RECENT), MODSEQ (RFC 7162 3.1.5), OLDER and
YOUNGER (RFC 5032), SAVEDBEFORE/SAVEDON/SAVEDSINCE/SAVEDATESUPPORTED (RFC 8514),
EMAILID and THREADID (RFC 8474); CHARSET and BADCHARSET; the answers: rev1 "* SEARCH",
ESEARCH (RFC 4731, RFC 9051 7.3.4, always under IMAP4rev2) and the saved result of
SEARCHRES (RFC 5182); no EXPUNGE while answering a SEARCH by sequence number (RFC 9051
7.5.1); a mailbox larger than one store window; and that header and body keys never
open a message file (strace).

Raw sockets (RawIMAP), byte-exact: the answers are fixed by the RFCs' grammar. Messages
go in with APPEND (flags, INTERNALDATE, exact octets). What Dovecot 2.3 answers for the
same keys is compared in test_imap_search_dovecot.py."""

import datetime
import os
import re
import time

from kasten_test import RawIMAP, deliver, make_message, unique_user

KASTEN_LISTEN = ("smtp", "lmtp", "imap")
PASSWORD = "Search-pass-123"


# ---- helpers ----

def account(server, prefix="q"):
    a = unique_user(prefix)
    server.user_add(a, PASSWORD)
    return a


def session(server, address, select=None, rev2=False):
    c = RawIMAP(*server.addr("imap"))
    c.login(address, PASSWORD)
    if rev2:
        ok(c, "ENABLE IMAP4rev2")
    if select:
        ok(c, f"SELECT {select}")
    return c


def ok(c, command, tag=None):
    st, un = c.cmd(command, tag)
    assert re.match(rb"\S+ OK ", st), (command, st, un)
    return un


def answer(c, command, tag=None):
    """The tagged line without its tag, and the untagged ones."""
    st, un = c.cmd(command, tag)
    return st.split(b" ", 1)[1], un


def append(c, msg, flags="", date=None, mailbox="INBOX"):
    """APPEND with LITERAL+ (octets stored as sent); returns the UID."""
    if isinstance(msg, str):
        msg = msg.encode()
    c.n += 1
    tag = f"p{c.n}"
    args = (f" ({flags})" if flags is not None else "") + (f' "{date}"' if date else "")
    c.send(f"{tag} APPEND {mailbox}{args} {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
    st, _ = c.until(tag)
    assert b" OK " in st, st
    return int(re.search(rb"APPENDUID \d+ (\d+)", st).group(1))


def multiappend(c, msgs, mailbox="INBOX"):
    """[(msg, flags)] in one MULTIAPPEND (RFC 3502): one commit for all of them."""
    c.n += 1
    tag = f"p{c.n}"
    out = f"{tag} APPEND {mailbox}".encode()
    for m, flags in msgs:
        out += f" ({flags}) {{{len(m)}+}}\r\n".encode() + m
    c.send(out + b"\r\n")
    st, _ = c.until(tag)
    assert b" OK " in st, st


def msg(subject="s", body="hello\r\n", frm="a@example.test", to="b@example.test",
        date="Mon, 1 Jan 2024 10:00:00 +0000", extra=""):
    h = f"From: {frm}\r\nTo: {to}\r\n"
    if subject is not None:
        h += f"Subject: {subject}\r\n"
    if date is not None:
        h += f"Date: {date}\r\n"
    return (h + extra + "\r\n" + body).encode()


def mailbox(server, msgs, prefix="q", rev2=False):
    """A new account whose INBOX holds msgs [(message, flags[, date])], selected."""
    a = account(server, prefix)
    c = session(server, a, rev2=rev2)
    for m in msgs:
        append(c, *m)
    ok(c, "SELECT INBOX")
    return a, c


def search(c, keys):
    """The untagged answers of "SEARCH keys"."""
    return ok(c, f"SEARCH {keys}")


def updates(c, want, timeout=10):
    """NOOP until an untagged answer matching want arrives (the other session's change
    reaches this one through notify/, not at once); all answers seen."""
    seen, deadline = [], time.monotonic() + timeout
    while True:
        seen += ok(c, "NOOP")
        if any(re.match(want, u) for u in seen) or time.monotonic() > deadline:
            return seen


# ---- keys on flags, numbers, sizes, dates (the message rows) ----

def test_flag_and_keyword_keys(mserver):
    # RFC 9051 6.4.4; flags and keywords compare case-insensitively (2.3.2)
    _, c = mailbox(mserver, [(msg(), "\\Seen \\Answered"), (msg(), "\\Flagged \\Draft kwA"),
                             (msg(), "\\Deleted $Forwarded"), (msg(), "")])
    want = {
        "ALL": b"* SEARCH 1 2 3 4", "ANSWERED": b"* SEARCH 1", "UNANSWERED": b"* SEARCH 2 3 4",
        "DELETED": b"* SEARCH 3", "UNDELETED": b"* SEARCH 1 2 4", "DRAFT": b"* SEARCH 2",
        "UNDRAFT": b"* SEARCH 1 3 4", "FLAGGED": b"* SEARCH 2", "UNFLAGGED": b"* SEARCH 1 3 4",
        "SEEN": b"* SEARCH 1", "UNSEEN": b"* SEARCH 2 3 4", "KEYWORD kwa": b"* SEARCH 2",
        "KEYWORD KWA": b"* SEARCH 2", "UNKEYWORD kwA": b"* SEARCH 1 3 4",
        "KEYWORD $forwarded": b"* SEARCH 3", "UNKEYWORD $Forwarded": b"* SEARCH 1 2 4",
        "KEYWORD absent": b"* SEARCH",
    }
    for keys, line in want.items():
        assert search(c, keys) == [line], keys


def test_rev1_recent_new_old_and_their_absence_in_rev2(mserver):
    # RFC 3501 6.4.4: RECENT, NEW (recent and unseen), OLD; \Recent belongs to the first
    # session that selects (2.3.2). RFC 9051 Appendix E: the keys are gone in IMAP4rev2
    a = account(mserver, "qr")
    c = session(mserver, a)
    for flags in ("", "\\Seen", ""):
        append(c, msg(), flags)
    ok(c, "SELECT INBOX")
    assert search(c, "RECENT") == [b"* SEARCH 1 2 3"]
    assert search(c, "NEW") == [b"* SEARCH 1 3"]
    assert search(c, "OLD") == [b"* SEARCH"]
    assert search(c, "NOT RECENT") == [b"* SEARCH"]
    d = session(mserver, a, select="INBOX")
    assert search(d, "RECENT") == [b"* SEARCH"]
    assert search(d, "OLD") == [b"* SEARCH 1 2 3"]
    assert search(d, "NEW") == [b"* SEARCH"]
    e = session(mserver, a, select="INBOX", rev2=True)
    for key in ("RECENT", "NEW", "OLD", "OR SEEN NEW"):
        st, un = answer(e, f"SEARCH {key}")
        assert st == b"BAD NEW, OLD and RECENT are not search keys of IMAP4rev2" and un == []


def test_sequence_sets_uids_and_star(mserver):
    # RFC 9051 6.4.4 sequence-set and UID keys; "*" is the largest number in use, so n:*
    # with n past it still names the last message (9, seq-range); numbers past the end
    # name nothing. UID SEARCH answers UIDs (6.4.9)
    _, c = mailbox(mserver, [(msg(), "") for _ in range(5)])
    for keys, line in {"2:4": b"* SEARCH 2 3 4", "*": b"* SEARCH 5", "4:*": b"* SEARCH 4 5",
                       "1,3,5": b"* SEARCH 1 3 5", "5:3": b"* SEARCH 3 4 5", "6": b"* SEARCH",
                       "9:*": b"* SEARCH 5", "1,3 2:3": b"* SEARCH 3"}.items():
        assert search(c, keys) == [line], keys
    ok(c, "STORE 2 +FLAGS.SILENT (\\Deleted)")
    ok(c, "EXPUNGE")  # now 1 2 3 4 are UIDs 1 3 4 5
    assert search(c, "UID 3:4") == [b"* SEARCH 2 3"]
    assert search(c, "UID 2") == [b"* SEARCH"]
    assert search(c, "UID 10:*") == [b"* SEARCH 4"]
    assert ok(c, "UID SEARCH 2:3") == [b"* SEARCH 3 4"]
    assert ok(c, "UID SEARCH *") == [b"* SEARCH 5"]
    assert ok(c, "UID SEARCH UID 1:*") == [b"* SEARCH 1 3 4 5"]


def test_sizes(mserver):
    # RFC 9051 6.4.4 LARGER / SMALLER: RFC822.SIZE strictly above / below
    small, big = msg(body="x\r\n"), msg(body="y" * 5000 + "\r\n")
    _, c = mailbox(mserver, [(small, ""), (big, "")])
    s, b = len(small), len(big)
    assert search(c, f"LARGER {s - 1}") == [b"* SEARCH 1 2"]
    assert search(c, f"LARGER {s}") == [b"* SEARCH 2"]
    assert search(c, f"SMALLER {b}") == [b"* SEARCH 1"]
    assert search(c, f"SMALLER {b + 1}") == [b"* SEARCH 1 2"]
    assert search(c, f"LARGER {b}") == [b"* SEARCH"]
    assert search(c, "SMALLER 0") == [b"* SEARCH"]


def test_internal_dates_older_younger(mserver):
    # RFC 9051 6.4.4 BEFORE/ON/SINCE compare the INTERNALDATE's day, which the server
    # keeps (and shows in FETCH) in UTC; RFC 5032 OLDER/YOUNGER compare seconds with now
    _, c = mailbox(mserver, [(msg(), "", "31-Dec-2023 23:59:59 +0000"),
                             (msg(), "", "01-Jan-2024 00:00:00 +0000"),
                             (msg(), "", "01-Jan-2024 23:30:00 -0500"),
                             (msg(), "", "15-Mar-2024 12:00:00 +0100"),
                             (msg(), "")])
    assert ok(c, "FETCH 3 INTERNALDATE") == [b'* 3 FETCH (INTERNALDATE "02-Jan-2024 04:30:00 +0000")']
    for keys, line in {"BEFORE 1-Jan-2024": b"* SEARCH 1", "ON 1-Jan-2024": b"* SEARCH 2",
                       "ON 2-Jan-2024": b"* SEARCH 3", "SINCE 2-Jan-2024": b"* SEARCH 3 4 5",
                       "SINCE 16-Mar-2024 BEFORE 1-Jan-2000": b"* SEARCH",
                       "OLDER 86400": b"* SEARCH 1 2 3 4", "YOUNGER 86400": b"* SEARCH 5",
                       "NOT OLDER 86400": b"* SEARCH 5"}.items():
        assert search(c, keys) == [line], keys
    st, _ = answer(c, "SEARCH OLDER 0")  # RFC 5032: nz-number
    assert st.startswith(b"BAD ")


def test_save_dates(mserver):
    # RFC 8514 4.3: SAVEDBEFORE/SAVEDON/SAVEDSINCE compare the day the message was saved
    # into the mailbox (the FETCH SAVEDATE), SAVEDATESUPPORTED matches every message of
    # a mailbox that keeps save dates (all of ours)
    _, c = mailbox(mserver, [(msg(), "", "01-Jan-2001 00:00:00 +0000"), (msg(), "")])
    saved = re.search(rb'SAVEDATE "(\d+-\w+-\d+)', ok(c, "FETCH 1 SAVEDATE")[0]).group(1)
    day = datetime.datetime.strptime(saved.decode(), "%d-%b-%Y").date()
    before = (day - datetime.timedelta(days=1)).strftime("%d-%b-%Y")
    after = (day + datetime.timedelta(days=1)).strftime("%d-%b-%Y")
    assert search(c, f"SAVEDON {saved.decode()}") == [b"* SEARCH 1 2"]
    assert search(c, f"SAVEDSINCE {before}") == [b"* SEARCH 1 2"]
    assert search(c, f"SAVEDBEFORE {after}") == [b"* SEARCH 1 2"]
    assert search(c, f"SAVEDBEFORE {saved.decode()}") == [b"* SEARCH"]
    assert search(c, f"SAVEDSINCE {after}") == [b"* SEARCH"]
    assert search(c, "SAVEDATESUPPORTED") == [b"* SEARCH 1 2"]
    assert search(c, "BEFORE 2-Jan-2001") == [b"* SEARCH 1"]  # INTERNALDATE is not SAVEDATE


# ---- keys on the header (full-text index and cached header) ----

def test_sent_dates(mserver):
    # RFC 9051 6.4.4 SENTBEFORE/SENTON/SENTSINCE: the Date: field's day as written,
    # time and zone disregarded; RFC 5322 4.3 obsolete forms parse; a message without a
    # usable Date: counts as sent on 1-Jan-1970 (as in Dovecot)
    _, c = mailbox(mserver, [(msg(date="Mon, 1 Jan 2024 10:00:00 +0100"), ""),
                             (msg(date="Tue, 2 Jan 2024 23:30:00 -0500"), ""),
                             (msg(date=None), ""),
                             (msg(date="garbage"), ""),
                             (msg(date="Wed, 3 Jan 24 01:00:00 EST (comment)"), "")])
    for keys, line in {"SENTON 2-Jan-2024": b"* SEARCH 2", "SENTON 3-Jan-2024": b"* SEARCH 5",
                       "SENTBEFORE 2-Jan-2024": b"* SEARCH 1 3 4",
                       "SENTSINCE 2-Jan-2024": b"* SEARCH 2 5",
                       "SENTSINCE 1-Jan-1971": b"* SEARCH 1 2 5",
                       "SENTON 1-Jan-1970": b"* SEARCH 3 4"}.items():
        assert search(c, keys) == [line], keys


HEADERS = [
    msg(frm="=?ISO-8859-1?Q?J=F6rg_M=FCller?= <jm@example.org>", to="team@example.org",
        subject="=?UTF-8?B?w5xiZXIgYWxsZXM=?=",
        extra='Cc: "Carol" <carol@x.example>\r\nX-Mailer: Foo 1.0\r\n'),
    msg(frm="bob@example.org", to="=?utf-8?q?Ren=C3=A9e?= <renee@y.example>",
        subject="folded\r\n  subject line", extra="Bcc: hidden@z.example\r\n"),
    msg(frm="zoe@example.org", subject=None, extra="X-Empty:\r\nX-Two: one\r\nX-Two: two\r\n"),
]


def test_address_and_subject_keys_match_decoded_values(mserver):
    # RFC 9051 6.4.4: case-insensitive substrings of the fields; RFC 2047 encoded words
    # and charsets are decoded first; a folded value is unfolded (RFC 5322 2.2.3)
    _, c = mailbox(mserver, [(m, "") for m in HEADERS])
    for keys, line in {'FROM "jörg"': b"* SEARCH 1", 'FROM "MÜLLER"': b"* SEARCH 1",
                       "FROM jm@example": b"* SEARCH 1", "FROM example.org": b"* SEARCH 1 2 3",
                       'TO "renée"': b"* SEARCH 2", 'TO "RENÉE"': b"* SEARCH 2",
                       "TO team": b"* SEARCH 1", "CC carol": b"* SEARCH 1",
                       "BCC hidden": b"* SEARCH 2", "BCC carol": b"* SEARCH",
                       'SUBJECT "über"': b"* SEARCH 1", 'SUBJECT "ÜBER ALLES"': b"* SEARCH 1",
                       'SUBJECT "subject line"': b"* SEARCH 2", "SUBJECT uber": b"* SEARCH",
                       "SUBJECT l": b"* SEARCH 1 2", "FROM zo": b"* SEARCH 3"}.items():
        assert search(c, keys) == [line], keys


def test_header_key_presence_and_other_fields(mserver):
    # RFC 9051 6.4.4 HEADER field-name string: "" matches every message that has the
    # field (an empty value too); the field name is case-insensitive; every occurrence
    # of a repeated field counts; the envelope keys with "" mean "has the field"
    _, c = mailbox(mserver, [(m, "") for m in HEADERS])
    for keys, line in {'HEADER X-Mailer "foo 1"': b"* SEARCH 1", 'HEADER x-MAILER ""': b"* SEARCH 1",
                       'HEADER X-Empty ""': b"* SEARCH 3", "HEADER X-Two two": b"* SEARCH 3",
                       "HEADER X-Two one": b"* SEARCH 3", 'HEADER Subject "ÜBER"': b"* SEARCH 1",
                       'HEADER Message-ID ""': b"* SEARCH", 'HEADER From ""': b"* SEARCH 1 2 3",
                       'SUBJECT ""': b"* SEARCH 1 2", 'CC ""': b"* SEARCH 1",
                       "HEADER X-Mailer bar": b"* SEARCH"}.items():
        assert search(c, keys) == [line], keys


BODIES = [
    # quoted-printable ISO-8859-1 text
    (b"From: a@example.test\r\nSubject: one\r\nX-Note: quux\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: text/plain; charset=iso-8859-1\r\n"
     b"Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe aus K=F6ln\r\n"),
    # plain and HTML alternatives
    (b"From: a@example.test\r\nSubject: two\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n"
     b"Content-Type: text/plain\r\n\r\nplain part zebra\r\n--b\r\n"
     b"Content-Type: text/html\r\n\r\n<p>html <b>giraffe</b></p>\r\n--b--\r\n"),
    # base64
    (b"From: a@example.test\r\nSubject: three\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
     b"YmFzZTY0IGVuY29kZWQgd2FscnVz\r\n"),
    # a text attachment is text of the message, a binary one is not (mime_extract)
    (b"From: a@example.test\r\nSubject: four\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n"
     b"Content-Type: text/plain\r\n\r\nsee attachment\r\n--m\r\n"
     b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
     b"c2VjcmV0IG5hcndoYWw=\r\n--m\r\n"
     b"Content-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\n"
     b"attached llama\r\n--m--\r\n"),
]


def test_body_and_text(mserver):
    # RFC 9051 6.4.4 BODY: the body's text (decoded transfer encodings, charsets, HTML
    # reduced to text), not the header; TEXT: header or body, where the header is
    # "Name: value" per field (Dovecot matches the same). Short needles (1-2 characters:
    # no trigram) and long ones give the same substring semantics
    _, c = mailbox(mserver, [(m, "") for m in BODIES])
    for keys, line in {'BODY "köln"': b"* SEARCH 1", 'BODY "KÖLN"': b"* SEARCH 1",
                       'BODY "grüße aus"': b"* SEARCH 1", "BODY zebra": b"* SEARCH 2",
                       "BODY giraffe": b"* SEARCH 2", 'BODY "html giraffe"': b"* SEARCH 2",
                       "BODY iraff": b"* SEARCH 2", "BODY walrus": b"* SEARCH 3",
                       "BODY narwhal": b"* SEARCH", "BODY llama": b"* SEARCH 4",
                       "BODY one": b"* SEARCH", "BODY quux": b"* SEARCH",
                       "TEXT one": b"* SEARCH 1", "TEXT quux": b"* SEARCH 1",
                       'TEXT "x-note: q"': b"* SEARCH 1", 'TEXT "x-note:q"': b"* SEARCH",
                       "TEXT zebra": b"* SEARCH 2", "TEXT subject": b"* SEARCH 1 2 3 4",
                       "BODY z": b"* SEARCH 2", "BODY wa": b"* SEARCH 3", "BODY wal": b"* SEARCH 3",
                       "BODY l": b"* SEARCH 1 2 3 4", 'BODY ""': b"* SEARCH 1 2 3 4",
                       'TEXT ""': b"* SEARCH 1 2 3 4"}.items():
        assert search(c, keys) == [line], keys


def test_uncached_long_header_is_read_from_the_file(mserver):
    # A header longer than the store caches (LIMIT_CACHED_HEADER, 64 KiB) is read from
    # the start of the message file for HEADER; fields past that bound are not seen, as
    # the full-text index does not see them either
    big = (b"From: a@example.test\r\nX-Early: findme\r\n"
           + b"".join(b"X-Pad-%05d: %s\r\n" % (i, b"p" * 60) for i in range(1200))
           + b"X-Late: toolate\r\nSubject: late\r\n\r\nbody\r\n")
    assert big.index(b"X-Late") > 64 * 1024
    _, c = mailbox(mserver, [(msg(), ""), (big, "")])
    assert search(c, "HEADER X-Early findme") == [b"* SEARCH 2"]
    assert search(c, 'HEADER X-Pad-00500 ""') == [b"* SEARCH 2"]
    assert search(c, "HEADER X-Late toolate") == [b"* SEARCH"]
    assert search(c, "TEXT findme") == [b"* SEARCH 2"]


# ---- boolean structure, charsets, limits ----

def test_not_or_and_nesting(mserver):
    # RFC 9051 6.4.4: keys in a list all hold; OR of two; NOT; parenthesized lists
    _, c = mailbox(mserver, [(msg(body="zebra\r\n"), "\\Seen"), (msg(), "\\Flagged"),
                             (msg(body="zebra\r\n"), "\\Seen \\Flagged"), (msg(), "")])
    for keys, line in {"SEEN FLAGGED": b"* SEARCH 3", "OR SEEN FLAGGED": b"* SEARCH 1 2 3",
                       "NOT SEEN": b"* SEARCH 2 4", "(SEEN FLAGGED)": b"* SEARCH 3",
                       "OR (SEEN FLAGGED) (NOT SEEN NOT FLAGGED)": b"* SEARCH 3 4",
                       "NOT (OR SEEN FLAGGED)": b"* SEARCH 4",
                       "OR BODY zebra FLAGGED": b"* SEARCH 1 2 3",
                       "NOT BODY zebra": b"* SEARCH 2 4", "BODY zebra NOT FLAGGED": b"* SEARCH 1",
                       "OR NOT BODY zebra SEEN": b"* SEARCH 1 2 3 4",
                       "((((SEEN))))": b"* SEARCH 1 3"}.items():
        assert search(c, keys) == [line], keys
    # LIMIT_IMAP_SEARCH_DEPTH: 32 levels of NOT are fine, 33 are refused
    assert search(c, "NOT " * 32 + "SEEN") == [b"* SEARCH 1 3"]
    st, un = answer(c, "SEARCH " + "NOT " * 33 + "SEEN")
    assert st == b"NO [LIMIT] Search keys nested too deeply" and un == []


def test_charset(mserver):
    # RFC 9051 6.4.4: UTF-8 and US-ASCII; any other charset is NO [BADCHARSET] with the
    # supported ones (7.1); a string that is not UTF-8 is a syntax error
    _, c = mailbox(mserver, [(msg(subject="Grüße"), "")])
    assert search(c, 'CHARSET UTF-8 SUBJECT "grüße"') == [b"* SEARCH 1"]
    assert search(c, "CHARSET us-ascii SUBJECT gr") == [b"* SEARCH 1"]
    st, un = c.cmd("SEARCH CHARSET ISO-8859-1 ALL", "t1")
    assert (st, un) == (b"t1 NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset", [])
    st, un = c.cmd(b"SEARCH CHARSET UTF-8 BODY {2+}\r\n\xff\xfe", "t2")
    assert (st, un) == (b"t2 BAD Search string is not valid UTF-8", [])
    st, un = c.cmd(b"SEARCH SUBJECT {3+}\r\na\x00b", "t3")
    assert st.startswith(b"t3 BAD ") and un == []


def test_search_string_limit(mserver):
    # LIMIT_SEARCH_NEEDLE (1024 octets) bounds a search string: NO [LIMIT] past it
    _, c = mailbox(mserver, [(msg(subject="x" * 1100), "")])
    assert ok(c, b"SEARCH SUBJECT {1024+}\r\n" + b"x" * 1024) == [b"* SEARCH 1"]
    st, un = c.cmd(b"SEARCH SUBJECT {1025+}\r\n" + b"x" * 1025, "t")
    assert (st, un) == (b"t NO [LIMIT] Search string too long", [])


def test_bad_syntax(mserver):
    _, c = mailbox(mserver, [(msg(), "")])
    for args in ("", "FOO", "(SEEN", "OR SEEN", "UID", "LARGER x", "BEFORE 32-Jan-2024",
                 "RETURN (FOO) ALL", "RETURN ALL", "CHARSET", "EMAILID a+b", "0"):
        st, un = answer(c, f"SEARCH {args}")
        assert st.startswith(b"BAD ") and un == [], args


# ---- answers: ESEARCH, IMAP4rev2, SEARCHRES, MODSEQ ----

def five_seen_124(server, rev2=False):
    """Messages 1..5, \\Seen on 1 2 4, UIDs 1 3 4 5 6 after an expunge of UID 2."""
    a, c = mailbox(server, [(msg(), f) for f in ("\\Seen", "\\Deleted", "\\Seen", "", "\\Seen", "")],
                   rev2=rev2)
    ok(c, "EXPUNGE")
    return a, c


def test_esearch_rev1(mserver):
    # RFC 4731 3.1: MIN MAX ALL COUNT in Dovecot's order; ALL as a sequence-set; no
    # MIN/MAX/ALL without matches, COUNT always; UID indicator and UIDs for UID SEARCH;
    # "RETURN ()" is ALL
    _, c = five_seen_124(mserver)
    assert ok(c, "SEARCH RETURN (MIN MAX COUNT ALL) SEEN", "t1") == [
        b'* ESEARCH (TAG "t1") MIN 1 MAX 4 ALL 1:2,4 COUNT 3']
    assert ok(c, "SEARCH RETURN (COUNT MIN) SEEN", "t2") == [b'* ESEARCH (TAG "t2") MIN 1 COUNT 3']
    assert ok(c, "SEARCH RETURN () SEEN", "t3") == [b'* ESEARCH (TAG "t3") ALL 1:2,4']
    assert ok(c, "SEARCH RETURN (COUNT) DELETED", "t4") == [b'* ESEARCH (TAG "t4") COUNT 0']
    assert ok(c, "SEARCH RETURN (MIN MAX ALL) DELETED", "t5") == [b'* ESEARCH (TAG "t5")']
    assert ok(c, "UID SEARCH RETURN (MIN MAX ALL) SEEN", "t6") == [
        b'* ESEARCH (TAG "t6") UID MIN 1 MAX 5 ALL 1,3,5']
    assert ok(c, "UID SEARCH RETURN (ALL) 1:*", "t7") == [b'* ESEARCH (TAG "t7") UID ALL 1,3:6']
    assert ok(c, "UID SEARCH RETURN (COUNT) DELETED", "t8") == [b'* ESEARCH (TAG "t8") UID COUNT 0']


def test_rev2_always_answers_esearch(mserver):
    # RFC 9051 6.4.4 / 7.3.4: IMAP4rev2 has no "* SEARCH"; without RETURN it is ALL
    _, c = five_seen_124(mserver, rev2=True)
    assert ok(c, "SEARCH SEEN", "t1") == [b'* ESEARCH (TAG "t1") ALL 1:2,4']
    assert ok(c, "SEARCH DELETED", "t2") == [b'* ESEARCH (TAG "t2")']
    assert ok(c, "UID SEARCH SEEN", "t3") == [b'* ESEARCH (TAG "t3") UID ALL 1,3,5']
    assert ok(c, "SEARCH RETURN (COUNT) SEEN", "t4") == [b'* ESEARCH (TAG "t4") COUNT 3']
    assert ok(c, "SEARCH RETURN (SAVE) SEEN", "t5") == []


def test_searchres_saves_and_dollar_refers_to_it(mserver):
    # RFC 5182 (RFC 9051 6.4.4.1): SAVE alone answers nothing; "$" is the saved UIDs in
    # any later command, by sequence number or UID; expunged messages leave it
    _, c = five_seen_124(mserver)
    st, un = c.cmd("SEARCH RETURN (SAVE) SEEN", "t1")
    assert (st, un) == (b"t1 OK SEARCH completed", [])
    assert search(c, "$") == [b"* SEARCH 1 2 4"]
    assert search(c, "NOT $") == [b"* SEARCH 3 5"]
    assert ok(c, "UID SEARCH UID $") == [b"* SEARCH 1 3 5"]
    assert ok(c, "FETCH $ (UID)") == [b"* 1 FETCH (UID 1)", b"* 2 FETCH (UID 3)",
                                      b"* 4 FETCH (UID 5)"]
    # pipelined: the save is done before the next command runs (RFC 5182 2.3)
    c.send(b"t2 SEARCH RETURN (SAVE) UNSEEN\r\nt3 SEARCH $\r\n")
    assert c.until("t2") == (b"t2 OK SEARCH completed", [])
    assert c.until("t3") == (b"t3 OK SEARCH completed", [b"* SEARCH 3 5"])
    ok(c, "STORE 3 +FLAGS.SILENT (\\Deleted)")
    ok(c, "EXPUNGE")
    assert search(c, "$") == [b"* SEARCH 4"]


def test_searchres_with_min_max_count(mserver):
    # RFC 5182 2.4: SAVE with only MIN and/or MAX keeps those; with ALL or COUNT all
    _, c = five_seen_124(mserver)
    assert ok(c, "SEARCH RETURN (SAVE MIN) SEEN", "t1") == [b'* ESEARCH (TAG "t1") MIN 1']
    assert search(c, "$") == [b"* SEARCH 1"]
    assert ok(c, "SEARCH RETURN (MAX SAVE) SEEN", "t2") == [b'* ESEARCH (TAG "t2") MAX 4']
    assert search(c, "$") == [b"* SEARCH 4"]
    assert ok(c, "SEARCH RETURN (SAVE MIN MAX) SEEN", "t3") == [b'* ESEARCH (TAG "t3") MIN 1 MAX 4']
    assert search(c, "$") == [b"* SEARCH 1 4"]
    assert ok(c, "SEARCH RETURN (SAVE MIN COUNT) SEEN", "t4") == [
        b'* ESEARCH (TAG "t4") MIN 1 COUNT 3']
    assert search(c, "$") == [b"* SEARCH 1 2 4"]
    assert ok(c, "SEARCH RETURN (SAVE ALL) UNSEEN", "t5") == [b'* ESEARCH (TAG "t5") ALL 3,5']
    assert search(c, "$") == [b"* SEARCH 3 5"]


def test_searchres_kept_by_bad_emptied_by_no_and_select(mserver):
    # RFC 5182 2.1: a SEARCH answered BAD changes nothing; one with SAVE answered NO
    # empties "$"; so does selecting a mailbox; an empty "$" is valid and names nothing
    _, c = five_seen_124(mserver)
    ok(c, "SEARCH RETURN (SAVE) SEEN")
    st, _ = answer(c, "SEARCH RETURN (SAVE) BADKEY")
    assert st.startswith(b"BAD ")
    assert search(c, "$") == [b"* SEARCH 1 2 4"]
    st, _ = answer(c, "SEARCH RETURN (SAVE) CHARSET KOI8-R ALL")
    assert st == b"NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"
    assert search(c, "$") == [b"* SEARCH"]
    ok(c, "SEARCH RETURN (SAVE) SEEN")
    ok(c, "SELECT INBOX")
    assert search(c, "$") == [b"* SEARCH"]


def modseqs(c):
    out = {}
    for u in ok(c, "FETCH 1:* (MODSEQ)"):
        m = re.match(rb"\* (\d+) FETCH \(MODSEQ \((\d+)\)\)", u)
        out[int(m.group(1))] = int(m.group(2))
    return out


def test_modseq_key_and_answers(mserver):
    # RFC 7162 3.1.5: MODSEQ matches messages changed at or after the value and the
    # answer names the highest modseq of the messages it returns; no match, no MODSEQ.
    # The key enables CONDSTORE: the first time, HIGHESTMODSEQ comes first (3.1).
    # RFC 4731 3.2: with MIN or MAX alone the MODSEQ is theirs
    _, c = mailbox(mserver, [(msg(), "") for _ in range(3)])
    un = search(c, "MODSEQ 0")
    assert re.fullmatch(rb"\* OK \[HIGHESTMODSEQ \d+\] Highest", un[0]) and len(un) == 2
    ms = modseqs(c)
    assert un[1] == b"* SEARCH 1 2 3 (MODSEQ %d)" % max(ms.values())
    assert search(c, "MODSEQ 0") == [b"* SEARCH 1 2 3 (MODSEQ %d)" % max(ms.values())]
    ok(c, "STORE 2 +FLAGS.SILENT (\\Flagged)")
    ms = modseqs(c)
    assert ms[2] > ms[1] and ms[2] > ms[3]
    assert search(c, f"MODSEQ {ms[2]}") == [b"* SEARCH 2 (MODSEQ %d)" % ms[2]]
    assert search(c, f"MODSEQ {ms[2] + 1}") == [b"* SEARCH"]
    assert search(c, f'MODSEQ "/flags/\\\\flagged" all {ms[2]}') == [b"* SEARCH 2 (MODSEQ %d)" % ms[2]]
    assert ok(c, "SEARCH RETURN (MIN) MODSEQ 0", "t1") == [
        b'* ESEARCH (TAG "t1") MIN 1 MODSEQ %d' % ms[1]]
    assert ok(c, "SEARCH RETURN (MAX) MODSEQ 0", "t2") == [
        b'* ESEARCH (TAG "t2") MAX 3 MODSEQ %d' % ms[3]]
    assert ok(c, "SEARCH RETURN (MIN MAX) MODSEQ 0", "t3") == [
        b'* ESEARCH (TAG "t3") MIN 1 MAX 3 MODSEQ %d' % max(ms[1], ms[3])]
    assert ok(c, "SEARCH RETURN (COUNT) MODSEQ 0", "t4") == [
        b'* ESEARCH (TAG "t4") COUNT 3 MODSEQ %d' % ms[2]]
    assert ok(c, "SEARCH RETURN (COUNT) MODSEQ 99999999", "t5") == [b'* ESEARCH (TAG "t5") COUNT 0']


def test_objectid_keys(mserver):
    # RFC 8474 6: EMAILID and THREADID match the object ids FETCH shows, exactly
    a = account(mserver, "qo")
    first = make_message("topic", "one\r\n")
    mid = re.search(rb"Message-ID: (<[^>]+>)", first).group(1)
    deliver(mserver, a, first, port="lmtp")
    deliver(mserver, a, make_message("Re: topic", "two\r\n",
                                     extra=b"In-Reply-To: " + mid + b"\r\n"), port="lmtp")
    deliver(mserver, a, make_message("other", "three\r\n"), port="lmtp")
    assert len(mserver.wait_messages(a, 3)) == 3
    c = session(mserver, a, select="INBOX")
    ids = {}
    for u in ok(c, "FETCH 1:3 (EMAILID THREADID)"):
        m = re.match(rb"\* (\d) FETCH \(EMAILID \((\S+)\) THREADID \((\S+)\)\)", u)
        ids[int(m.group(1))] = (m.group(2).decode(), m.group(3).decode())
    assert ids[1][1] == ids[2][1] != ids[3][1]
    assert search(c, f"EMAILID {ids[2][0]}") == [b"* SEARCH 2"]
    assert search(c, f"THREADID {ids[1][1]}") == [b"* SEARCH 1 2"]
    assert search(c, f"THREADID {ids[3][1]}") == [b"* SEARCH 3"]
    assert search(c, "EMAILID nosuchid") == [b"* SEARCH"]


# ---- the mailbox as the client knows it ----

def test_no_expunge_while_answering_search_by_sequence_number(mserver):
    # RFC 9051 7.5.1: another session's expunge is not reported during SEARCH (the
    # expunged message keeps its number, and matches nothing); UID SEARCH and NOOP may
    # report it, and do
    a, c = mailbox(mserver, [(msg(), "\\Seen"), (msg(), "\\Seen"), (msg(), "\\Seen")])
    d = session(mserver, a, select="INBOX")
    ok(d, "STORE 2 +FLAGS.SILENT (\\Deleted)")
    ok(d, "EXPUNGE")
    for _ in range(3):
        un = search(c, "SEEN")
        assert un == [b"* SEARCH 1 3"], un
    un = updates(c, rb"\* 2 EXPUNGE")
    assert b"* 2 EXPUNGE" in un
    assert search(c, "SEEN") == [b"* SEARCH 1 2"]
    ok(d, "STORE 2 +FLAGS.SILENT (\\Deleted)")
    ok(d, "EXPUNGE")
    deadline = time.monotonic() + 10
    while True:  # UID SEARCH may carry the EXPUNGE (answering by UID)
        un = ok(c, "UID SEARCH SEEN")
        assert b"* SEARCH 1" in un, un
        if b"* 2 EXPUNGE" in un or time.monotonic() > deadline:
            break
    assert b"* 2 EXPUNGE" in un


def test_new_messages_are_searched_once_announced(mserver):
    # RFC 9051 7.3.1: a message is numbered once EXISTS told the client of it; the
    # search runs over the mailbox as the client knows it after the updates it gets
    a, c = mailbox(mserver, [(msg(), "")])
    d = session(mserver, a)
    append(d, msg(subject="late arrival"))
    un = updates(c, rb"\* 2 EXISTS")
    assert b"* 2 EXISTS" in un
    assert search(c, "SUBJECT arrival") == [b"* SEARCH 2"]


def test_more_messages_than_one_store_window(mserver):
    # The search reads the store LIMIT_IMAP_SEARCH_WINDOW (1024) messages at a time and
    # the sequence-number map as runs of UIDs: 2600 messages with expunges in between
    # give the same answers as a model of them
    a = account(mserver, "qb")
    c = session(mserver, a)
    n = 2600
    batch = []
    for i in range(1, n + 1):
        body = f"word{i % 10} {'needle' if i % 7 == 0 else 'hay'}\r\n"
        batch.append((msg(subject=f"n{i}", body=body), "\\Seen" if i % 3 == 0 else ""))
        if len(batch) == 100:
            multiappend(c, [(m, f) for m, f in batch])
            batch = []
    ok(c, "SELECT INBOX")
    gone = [u for u in range(1, n + 1) if u % 250 == 0 or 1000 <= u <= 1100]
    ok(c, "UID STORE " + ",".join(map(str, gone)) + " +FLAGS.SILENT (\\Deleted)")
    ok(c, "EXPUNGE")
    uids = [u for u in range(1, n + 1) if u not in set(gone)]
    seq = {u: i + 1 for i, u in enumerate(uids)}

    def expect(pred, by_uid=False):
        vals = [(u if by_uid else seq[u]) for u in uids if pred(u)]
        return b"* SEARCH" + b"".join(b" %d" % v for v in vals)

    assert search(c, "SEEN") == [expect(lambda u: u % 3 == 0)]
    assert search(c, "BODY needle") == [expect(lambda u: u % 7 == 0)]
    assert search(c, "BODY needle UNSEEN") == [expect(lambda u: u % 7 == 0 and u % 3)]
    assert ok(c, "UID SEARCH OR BODY word3 SEEN") == [
        expect(lambda u: u % 10 == 3 or u % 3 == 0, True)]
    assert search(c, "SUBJECT n2599") == [expect(lambda u: u == 2599)]
    assert search(c, "1500:1600 SEEN") == [
        expect(lambda u: 1500 <= seq[u] <= 1600 and u % 3 == 0)]
    want = expect(lambda u: True, True)[len(b"* SEARCH "):].split()
    assert ok(c, "UID SEARCH RETURN (COUNT MIN MAX) ALL", "t") == [
        b'* ESEARCH (TAG "t") UID MIN %s MAX %s COUNT %d' % (want[0], want[-1], len(want))]


def test_header_and_body_keys_open_no_message_file(kasten_factory, tmp_path):
    # DESIGN "Storage": SEARCH uses the index (rows, cached headers, FTS5): strace shows
    # no open of a message file while header, body, date and thread keys, SORT and
    # THREAD run; FETCH BODY[] then opens each file (the control that the check can fail)
    server = kasten_factory()
    trace = tmp_path / "trace"
    asan = [o for o in os.environ.get("ASAN_OPTIONS", "").split(":") if o]
    server.start(wrapper=["env", "ASAN_OPTIONS=" + ":".join(asan + ["detect_leaks=0"]),
                          "strace", "-f", "-ttt", "-e", "trace=open,openat", "-o",
                          str(trace), "--"])
    a = account(server, "qs")
    for i in range(20):
        deliver(server, a, make_message(f"subject {i}", f"body text {i}\r\n"), port="lmtp")
    assert len(server.wait_messages(a, 20)) == 20
    c = session(server, a, select="INBOX")
    for m in BODIES:
        append(c, m)
    ok(c, "NOOP")
    t0 = time.time()
    assert search(c, "BODY giraffe") == [b"* SEARCH 22"]
    assert search(c, "TEXT quux") == [b"* SEARCH 21"]
    assert search(c, "TEXT zz-nothing") == [b"* SEARCH"]
    search(c, 'HEADER Message-ID "" SUBJECT "subject 1" FROM sender SENTSINCE 1-Jan-2000')
    search(c, "OR BODY text CC x")
    ok(c, "SORT (DATE SUBJECT FROM) UTF-8 ALL")
    ok(c, "THREAD REFERENCES UTF-8 ALL")
    t1 = time.time()
    assert len(ok(c, "FETCH 1:* BODY.PEEK[]")) == 24
    t2 = time.time()
    c.close()
    server.stop()
    msg_file = re.compile(r"^\d+\s+(\d+\.\d+) open(?:at)?\(.*/accounts/\d+/msg/[0-9a-f]+\"")
    times = [float(m.group(1)) for m in map(msg_file.match, trace.read_text().splitlines()) if m]
    assert [t for t in times if t0 <= t <= t1] == []
    assert len([t for t in times if t1 <= t <= t2]) == 24
