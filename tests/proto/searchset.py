"""searchset: the messages SEARCH, SORT and THREAD are compared on with Dovecot
(test_imap_search_dovecot.py): the IMAP formatting corpus (tests/corpus/imap/*.eml) and a
generated set of reply chains (References, In-Reply-To, truncated and missing parents,
duplicate ids, loops), RFC 2047 subjects in several charsets with reply and forward
markers, missing and odd dates, address lists with groups and encoded names, and bodies
in every transfer encoding. Deterministic: the same bytes every run. Each entry is
(message bytes, flags for Maildir "S"/"F"/..., INTERNALDATE as seconds since the
epoch)."""

from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "imap"
BASE = 1704067200  # 1-Jan-2024 00:00:00 UTC


def _msg(mid, subject, date, frm="a@example.test", to="b@example.test", cc=None,
         refs=None, irt=None, body="text\r\n", extra="", ctype=None, cte=None):
    h = [f"From: {frm}"] if frm is not None else []
    if to is not None:
        h.append(f"To: {to}")
    if cc is not None:
        h.append(f"Cc: {cc}")
    if subject is not None:
        h.append(f"Subject: {subject}")
    if date is not None:
        h.append(f"Date: {date}")
    if mid is not None:
        h.append(f"Message-ID: {mid}")
    if refs is not None:
        h.append(f"References: {refs}")
    if irt is not None:
        h.append(f"In-Reply-To: {irt}")
    if ctype:
        h += ["MIME-Version: 1.0", f"Content-Type: {ctype}"]
    if cte:
        h.append(f"Content-Transfer-Encoding: {cte}")
    return ("\r\n".join(h) + "\r\n" + extra + "\r\n").encode() + \
        (body.encode() if isinstance(body, str) else body)


def _day(d, h=10, zone="+0000"):
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    return f"{days[(d - 1) % 7]}, {d} Jan 2024 {h:02d}:00:00 {zone}"


def generated():
    m = []
    # a thread with replies in and out of order, one reply by In-Reply-To only
    m.append(_msg("<t1@x>", "Project plan", _day(1), frm="Alice <alice@example.org>",
                  body="Let us plan the project.\r\n"))
    m.append(_msg("<t2@x>", "Re: Project plan", _day(2), frm="Bob <bob@example.org>",
                  refs="<t1@x>", irt="<t1@x>", body="Sounds good.\r\n"))
    m.append(_msg("<t4@x>", "RE: Re: Project plan", _day(4), frm="alice@example.org",
                  refs="<t1@x> <t2@x> <t3@x>", body="Agreed with Carol.\r\n"))
    m.append(_msg("<t3@x>", "Re: Project plan", _day(3), frm="Carol <carol@example.org>",
                  refs="<t1@x> <t2@x>", body="One more point.\r\n"))
    m.append(_msg("<t5@x>", "Re: [team] Project plan", _day(5, 8), frm="dave@example.org",
                  irt="<t1@x>", body="Late answer.\r\n"))
    # replies to a message that is not in the mailbox; a truncated References line
    m.append(_msg("<l1@x>", "Re: lost original", _day(6), refs="<gone@x>"))
    m.append(_msg("<l2@x>", "Re: lost original", _day(7), refs="<gone@x>"))
    m.append(_msg("<l3@x>", "Re: lost original", _day(8), refs="<l1@x>"))
    # same subjects without references: gathered by subject (step 5)
    m.append(_msg("<s1@x>", "Quarterly report", _day(9)))
    m.append(_msg("<s2@x>", "Fwd: Quarterly report", _day(10)))
    m.append(_msg("<s3@x>", "Quarterly report (fwd)", _day(11)))
    m.append(_msg("<s4@x>", "[fwd: Quarterly report]", _day(12)))
    # duplicate ids, a loop, a message referencing itself, quoted ids
    m.append(_msg("<d1@x>", "duplicate one", _day(13)))
    m.append(_msg("<d1@x>", "duplicate two", _day(14)))
    m.append(_msg("<loopa@x>", "loop a", _day(15), refs="<loopb@x>"))
    m.append(_msg("<loopb@x>", "loop b", _day(16), refs="<loopa@x>"))
    m.append(_msg("<self@x>", "self", _day(17), refs="<self@x>"))
    m.append(_msg('<"q1"@x>', "quoted id", _day(18)))
    m.append(_msg("<q2@x>", "Re: quoted id", _day(19), refs="<q1@x>"))
    # encoded subjects and names, several charsets
    m.append(_msg("<e1@x>", "=?ISO-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=", _day(20),
                  frm="=?ISO-8859-1?Q?J=F6rg_M=FCller?= <jm@example.org>",
                  body="Hallo Welt.\r\n"))
    m.append(_msg("<e2@x>", "Re: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=", _day(21),
                  frm="=?UTF-8?Q?Ren=C3=A9e?= <renee@example.org>", irt="<e1@x>"))
    m.append(_msg("<e3@x>", "=?windows-1252?Q?=93Smart=94_quotes?=", _day(22),
                  frm="zed@example.org", to="=?utf-8?q?=C3=85sa?= <asa@example.org>"))
    m.append(_msg("<e4@x>", "=?KOI8-R?B?8NLJ18XU?=", _day(23), frm="ivan@example.ru"))
    m.append(_msg("<e5@x>", "[list]  Re:   Fw:  spaced   out  ", _day(24)))
    # dates: missing, broken, obsolete, far zones
    m.append(_msg("<x1@x>", "no date", None))
    m.append(_msg("<x2@x>", "bad date", "not a date"))
    m.append(_msg("<x3@x>", "obsolete date", "25 Jan 24 10:00 EST"))
    m.append(_msg("<x4@x>", "far east", _day(26, 1, "+1400")))
    m.append(_msg("<x5@x>", "far west", _day(25, 23, "-1200")))
    # address lists
    m.append(_msg("<a1@x>", "group", _day(27), frm="Team: ann@example.org, ben@example.org;",
                  to="undisclosed-recipients:;", cc='"Zoe Z" <zoe@example.org>, amy@example.org'))
    m.append(_msg("<a2@x>", "no to", _day(28), to=None, cc="Ben <BEN@example.org>"))
    m.append(_msg("<a3@x>", "no from", _day(29), frm=None))
    # bodies in every transfer encoding
    m.append(_msg("<b1@x>", "qp body", _day(30), ctype="text/plain; charset=iso-8859-1",
                  cte="quoted-printable", body="Caf=E9 cr=E8me br=FBl=E9e\r\n"))
    m.append(_msg("<b2@x>", "b64 body", _day(31), ctype="text/plain; charset=utf-8",
                  cte="base64", body="xZ5la2VyIHZlIHRlbMOkcmUgc8O2emNd\r\n"))
    m.append(_msg("<b3@x>", "html body", _day(31, 11), ctype="text/html",
                  body="<html><body><p>Hello <b>bold</b> world</p></body></html>\r\n"))
    m.append(_msg("<b4@x>", "attachments", _day(31, 12),
                  ctype="multipart/mixed; boundary=zz",
                  body="--zz\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
                       "--zz\r\nContent-Type: text/plain\r\n"
                       "Content-Disposition: attachment; filename=notes.txt\r\n\r\n"
                       "attachment words here\r\n"
                       "--zz\r\nContent-Type: application/pdf\r\n"
                       "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--zz--\r\n"))
    flags = ["S", "", "SF", "", "F", "", "S", "", "", "S", "", "", "D", "", "", "", "",
             "S", "", "S", "", "F", "", "", "", "", "", "", "", "", "", "", "", "S", ""]
    out = []
    for i, msg in enumerate(m):
        out.append((msg, flags[i] if i < len(flags) else "", BASE + i * 3600 * 7))
    return out


def corpus():
    out = []
    for i, p in enumerate(sorted(CORPUS.glob("*.eml"))):
        out.append((p.read_bytes(), "", BASE - 86400 * 30 + i * 3600))
    return out
