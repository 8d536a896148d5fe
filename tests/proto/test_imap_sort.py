"""SORT and THREAD (RFC 5256) and their UID forms against a real `kasten serve`: every
sort criterion (ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO, REVERSE; DISPLAYFROM and
DISPLAYTO of RFC 5957), base subjects (2.1), the sent date and its INTERNALDATE fallback
(2.2), ties by sequence number, i;ascii-casemap; THREAD=ORDEREDSUBJECT and
THREAD=REFERENCES with dummy parents, subject gathering and the thread-list syntax (4);
the search keys after the charset; errors (BAD, NO [BADCHARSET]).

Raw sockets (RawIMAP), byte-exact: RFC 5256 4 fixes the answers' grammar. The same
messages are compared with Dovecot 2.3 in test_imap_search_dovecot.py."""

import re

from kasten_test import RawIMAP, unique_user

KASTEN_LISTEN = ("smtp", "lmtp", "imap")
PASSWORD = "Sort-pass-123"


def ok(c, command, tag=None):
    st, un = c.cmd(command, tag)
    assert re.match(rb"\S+ OK ", st), (command, st, un)
    return un


def append(c, msg, date):
    c.n += 1
    tag = f"p{c.n}"
    c.send(f'{tag} APPEND INBOX () "{date}" {{{len(msg)}+}}\r\n'.encode() + msg + b"\r\n")
    st, _ = c.until(tag)
    assert b" OK " in st, st


def mailbox(server, msgs, prefix="o", gap=False):
    """A new account with msgs [(message, internal date)] in INBOX, selected; with gap
    a first message is appended and expunged, so that UIDs are sequence numbers + 1."""
    a = unique_user(prefix)
    server.user_add(a, PASSWORD)
    c = RawIMAP(*server.addr("imap"))
    c.login(a, PASSWORD)
    if gap:
        append(c, b"Subject: gone\r\n\r\nx\r\n", "01-Jan-2000 00:00:00 +0000")
    for m, d in msgs:
        append(c, m, d)
    ok(c, "SELECT INBOX")
    if gap:
        ok(c, "STORE 1 +FLAGS.SILENT (\\Deleted)")
        ok(c, "EXPUNGE")
    return c


def message(frm=None, to=None, cc=None, subject=None, date=None, body="x\r\n", extra=""):
    h = ""
    for name, v in (("From", frm), ("To", to), ("Cc", cc), ("Subject", subject), ("Date", date)):
        if v is not None:
            h += f"{name}: {v}\r\n"
    return (h + extra + "\r\n" + body).encode()


# seq: from, to, cc, subject, Date:, INTERNALDATE
SORTSET = [
    (message("Zed <aaa@x.example>", "mmm@x.example", None, "Re: banana",
             "Tue, 2 Jan 2024 10:00:00 +0000", "b" * 40), "05-Jan-2024 00:00:00 +0000"),
    (message("Abe <ZZZ@x.example>", '"A" <bbb@x.example>', "cc@x.example", "apple",
             "Mon, 1 Jan 2024 23:00:00 -0500", "b" * 10), "03-Jan-2024 00:00:00 +0000"),
    (message("mid@x.example", None, "aaa@x.example", "[list] Fwd: Banana (fwd)", None,
             "b" * 30), "01-Jan-2024 00:00:00 +0000"),
    (message('"Bob" <bob@x.example>', "undisclosed-recipients:;", None,
             "=?utf-8?q?=C3=84pfel?=", "garbage", "b" * 20), "04-Jan-2024 00:00:00 +0000"),
    (message("bob@x.example", "Zoe <zoe@x.example>", None, "", "Tue, 2 Jan 2024 10:00:00 +0000",
             "b" * 10), "02-Jan-2024 00:00:00 +0000"),
]


def test_sort_each_criterion(mserver):
    # RFC 5256 3: ARRIVAL is INTERNALDATE; DATE the Date: in UTC, INTERNALDATE where it
    # is missing or does not parse (2.2); FROM/TO/CC the first address's addr-mailbox
    # ("" if none; a group's is its name, as in ENVELOPE); SUBJECT the base subject (2.1);
    # ties go by sequence number; i;ascii-casemap ("ZZZ" after "mid", UTF-8 after ASCII)
    c = mailbox(mserver, SORTSET)
    sizes = [len(m) for m, _ in SORTSET]
    by_size = sorted(range(1, 6), key=lambda i: (sizes[i - 1], i))
    want = {
        "ARRIVAL": "3 5 2 4 1", "DATE": "3 2 1 5 4", "FROM": "1 4 5 3 2", "TO": "3 2 1 4 5",
        "CC": "1 4 5 3 2", "SUBJECT": "5 2 1 3 4", "SIZE": " ".join(map(str, by_size)),
        "REVERSE SUBJECT": "4 1 3 2 5", "REVERSE ARRIVAL": "1 4 2 5 3",
        "FROM DATE": "1 5 4 3 2", "FROM REVERSE DATE": "1 4 5 3 2",
        "REVERSE CC SUBJECT": "2 3 5 1 4",
        "DISPLAYFROM": "2 4 5 3 1", "DISPLAYTO": "3 2 1 4 5",
    }
    for crit, line in want.items():
        assert ok(c, f"SORT ({crit}) UTF-8 ALL") == [b"* SORT " + line.encode()], crit


def test_sort_answers_uids_and_searches(mserver):
    # RFC 5256 3: UID SORT answers UIDs; the search keys select what is sorted
    c = mailbox(mserver, SORTSET, gap=True)
    assert ok(c, "UID SORT (ARRIVAL) UTF-8 ALL") == [b"* SORT 4 6 3 5 2"]
    assert ok(c, "SORT (ARRIVAL) US-ASCII NOT SUBJECT apple") == [b"* SORT 3 5 4 1"]
    assert ok(c, "SORT (SUBJECT) UTF-8 SUBJECT banana") == [b"* SORT 1 3"]
    assert ok(c, "SORT (SUBJECT) UTF-8 SUBJECT nothing") == [b"* SORT"]
    assert ok(c, "SORT (DATE) UTF-8 2:4") == [b"* SORT 3 2 4"]
    # RFC 7162 3.1.5: a MODSEQ key adds the highest modseq of the messages found
    un = ok(c, "SORT (ARRIVAL) UTF-8 MODSEQ 1")
    assert re.fullmatch(rb"\* OK \[HIGHESTMODSEQ \d+\] Highest", un[0])
    assert re.fullmatch(rb"\* SORT 3 5 2 4 1 \(MODSEQ \d+\)", un[1])


def test_sort_base_subjects(mserver):
    # RFC 5256 2.1 through SORT: reply and forward markers, blobs, trailers and the
    # [fwd: ...] wrapper go; what is left compares case-insensitively
    subjects = ["[fwd: Re: kiwi]", "  Re:  RE:[x] FWD: Kiwi  (fwd)", "[a] [b]", "kiwi",
                "Re: [list] aardvark", "=?utf-8?b?UmU6IGtpd2k=?=", "\tzebra\t"]
    c = mailbox(mserver, [(message(subject=s), "01-Jan-2024 00:00:00 +0000") for s in subjects])
    # base subjects: kiwi kiwi [b] kiwi aardvark kiwi zebra; "[" (0x5B) sorts after
    # "Z" (0x5A), and a-z compare as A-Z
    assert ok(c, "SORT (SUBJECT) UTF-8 ALL") == [b"* SORT 5 1 2 4 6 7 3"]


def test_sort_errors(mserver):
    c = mailbox(mserver, SORTSET[:1])
    for args in ("(NAME) UTF-8 ALL", "() UTF-8 ALL", "(REVERSE) UTF-8 ALL", "(SUBJECT) ALL",
                 "SUBJECT UTF-8 ALL", "(SUBJECT) UTF-8", "(SUBJECT REVERSE) UTF-8 ALL"):
        st, un = c.cmd(f"SORT {args}")
        assert b" BAD " in st and un == [], args
    st, un = c.cmd("SORT (SUBJECT) ISO-8859-1 ALL", "t")
    assert (st, un) == (b"t NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset", [])


def at(hour):
    return f"Mon, 1 Jan 2024 {hour:02d}:00:00 +0000"


# seq: Message-ID, subject, references, Date: hour
THREADSET = [
    message(subject="topic", date=at(9), extra="Message-ID: <a@x>\r\n"),
    message(subject="Re: topic", date=at(11), extra="Message-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\n"),
    message(subject="Re: topic", date=at(12),
            extra="Message-ID: <c@x>\r\nReferences: <a@x>\r\n <b@x>\r\n"),
    message(subject="Re: topic", date=at(10), extra="Message-ID: <d@x>\r\nReferences: <a@x>\r\n"),
    message(subject="other", date=at(13), extra="Message-ID: <e@x>\r\n"),
    message(subject="Re: other", date=at(14), extra="Message-ID: <f@x>\r\n"),
    message(subject="Re: lost", date=at(15), extra="Message-ID: <g@x>\r\nReferences: <gone@x>\r\n"),
    message(subject="Re: lost", date=at(8), extra="Message-ID: <h@x>\r\nReferences: <gone@x>\r\n"),
    message(subject="Fwd: unrelated", date=at(16)),
]


def test_thread_references(mserver):
    # RFC 5256 3 REFERENCES: parents from References (else In-Reply-To), replies sorted
    # by date; two replies to a missing message keep a dummy parent at the root (step
    # 3); a root whose subject repeats another's goes under it (step 5); roots by date
    c = mailbox(mserver, [(m, "01-Jan-2024 00:00:00 +0000") for m in THREADSET])
    assert ok(c, "THREAD REFERENCES UTF-8 ALL") == [
        b"* THREAD ((8)(7))(1 (4)(2 3))(5 6)(9)"]
    assert ok(c, "THREAD REFERENCES UTF-8 NOT SUBJECT lost") == [b"* THREAD (1 (4)(2 3))(5 6)(9)"]
    assert ok(c, "THREAD REFERENCES US-ASCII 7") == [b"* THREAD (7)"]
    assert ok(c, "THREAD REFERENCES UTF-8 SUBJECT nothing") == [b"* THREAD"]


def test_thread_orderedsubject(mserver):
    # RFC 5256 3 ORDEREDSUBJECT: one thread per base subject, its messages by date: the
    # first the root, the second its child, the others the second's siblings; threads
    # by the date of their first message
    c = mailbox(mserver, [(m, "01-Jan-2024 00:00:00 +0000") for m in THREADSET])
    assert ok(c, "THREAD ORDEREDSUBJECT UTF-8 ALL") == [b"* THREAD (8 7)(1 (4)(2)(3))(5 6)(9)"]


def test_uid_thread_and_errors(mserver):
    c = mailbox(mserver, [(m, "01-Jan-2024 00:00:00 +0000") for m in THREADSET], gap=True)
    assert ok(c, "UID THREAD REFERENCES UTF-8 ALL") == [
        b"* THREAD ((9)(8))(2 (5)(3 4))(6 7)(10)"]
    assert ok(c, "UID THREAD ORDEREDSUBJECT UTF-8 UID 2:5") == [b"* THREAD (2 (5)(3)(4))"]
    st, un = c.cmd("THREAD ARRIVAL UTF-8 ALL")
    assert b" BAD " in st and un == []
    st, un = c.cmd("THREAD REFERENCES KOI8-R ALL", "t")
    assert (st, un) == (b"t NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset", [])


def test_thread_of_a_long_reply_chain(mserver):
    # 300 messages each answering the one before: one thread of members, no nesting
    msgs = []
    for i in range(300):
        refs = f"References: <m{i - 1}@x>\r\n" if i else ""
        msgs.append((message(subject="chain" if i == 0 else "Re: chain", date=at(0),
                             extra=f"Message-ID: <m{i}@x>\r\n{refs}"),
                     "01-Jan-2024 00:00:00 +0000"))
    c = mailbox(mserver, msgs)
    want = b"* THREAD (" + b" ".join(b"%d" % i for i in range(1, 301)) + b")"
    assert ok(c, "THREAD REFERENCES UTF-8 ALL") == [want]
