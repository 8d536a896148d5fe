"""SEARCH, SORT and THREAD compared with Debian's Dovecot 2.3 on the same messages: the
IMAP formatting corpus (tests/corpus/imap) and a generated set of reply chains, RFC 2047
subjects, missing and odd dates, groups and bodies in every encoding (searchset.py).
Both servers get the same octets, flags and INTERNALDATEs (Dovecot in Maildir files,
kasten by APPEND with literal8), and answer the same commands in rev1.

Where kasten answers differently on purpose, the case names the messages concerned and
why; the test then compares both answers without those messages (NOT UID ...), and
checks that the full answers still differ (an exception that no longer applies fails).
The kinds of difference:

  html        BODY searches the text a reader sees: HTML is reduced to text by
              mime_extract (tags are not words, "<b>bold</b> world" holds "bold world");
              Dovecot 2.3 without an FTS plugin searches the raw HTML
  inner       BODY searches an encapsulated message as a reader sees it: its From, To,
              Cc, Subject and Date above its text (mime_extract); Dovecot's BODY skips
              every header (its TEXT finds them, as kasten's does)
  extract     other decisions of mime_extract on malformed MIME: a multipart without a
              usable boundary is one text part, an invalid Content-Type is text/plain
              (RFC 2045 5.2), an unknown transfer encoding is read as it is
  first       of two Content-Transfer-Encoding fields the first counts (mime.h); Dovecot
              takes the last
  accents     matching folds case, not accents (store_search_fold: "é" is not "e");
              Dovecot's i;unicode-casemap decomposes "é" and finds "e" in it
  casemap     SORT compares with i;ascii-casemap (RFC 5256 3); Dovecot uses
              i;unicode-casemap, which sorts "Åsa" and "éé" among the A and E
  spaces      a search string matches the field as written; Dovecot collapses runs of
              white space first ("spaced   out")
  nul         a NUL in a header value ends the store's full-text column of that field,
              so text after it is not found (reported to the store)
  placeholder addresses without a mailbox or a domain: Dovecot sorts on the placeholders
              it invents (MISSING_MAILBOX, MISSING_DOMAIN), kasten on what is there (the
              corpus README has the same kind)
  bare-cr     a bare CR in a display name is a space (mime_unfold, as both servers show
              it in ENVELOPE); Dovecot's DISPLAYFROM sorts on the CR itself
  bare-lf     sizes of a file with bare LF line ends: kasten counts the octets stored,
              Dovecot as if they were CRLF (corpus README: bare-lf)
  pre1970     a Date: before 1970 is a date before 1970; Dovecot sorts and searches it
              as later than every other date
  star        "n:*" with n past the last message names the last message (RFC 9051 9,
              seq-range: "*" is the largest number in use); Dovecot names nothing
  grammar     THREAD without a result is "* THREAD" (RFC 5256 4: "THREAD" [SP
              1*thread-list]); Dovecot adds a space
"""

import datetime
import re

import pytest

from kasten_test import RawIMAP, unique_user
import searchset

KASTEN_LISTEN = ("smtp", "lmtp", "imap")
PASSWORD = "Dovecmp-pass-123"
FLAGS = {"S": "\\Seen", "F": "\\Flagged", "D": "\\Draft", "R": "\\Answered", "T": "\\Deleted"}

# command: {message numbers: kind}, for the generated set
GENERATED = {
    "SEARCH ALL": {}, "SEARCH SEEN": {}, "SEARCH UNSEEN FLAGGED": {}, "SEARCH DRAFT": {},
    "SEARCH FROM alice": {}, "SEARCH FROM example.org": {}, 'SEARCH FROM "jörg"': {},
    'SEARCH FROM "renée"': {}, "SEARCH FROM team": {}, "SEARCH TO asa": {},
    'SEARCH TO "åsa"': {}, "SEARCH TO undisclosed": {}, "SEARCH CC zoe": {},
    'SEARCH CC ""': {}, 'SEARCH TO ""': {}, 'SEARCH FROM ""': {}, "SEARCH SUBJECT plan": {},
    'SEARCH SUBJECT "project plan"': {}, 'SEARCH SUBJECT "köln"': {},
    'SEARCH SUBJECT "GRÜSSE"': {}, 'SEARCH SUBJECT "grüße"': {}, 'SEARCH SUBJECT "smart"': {},
    'SEARCH SUBJECT "привет"': {}, 'SEARCH SUBJECT ""': {}, "SEARCH SUBJECT fwd": {},
    'SEARCH SUBJECT "re:"': {}, 'SEARCH SUBJECT "spaced   out"': {24: "spaces"},
    "SEARCH BODY plan": {}, 'SEARCH BODY "café"': {}, 'SEARCH BODY "crème"': {},
    'SEARCH BODY "şeker"': {}, 'SEARCH BODY "bold world"': {35: "html"},
    "SEARCH BODY bold": {}, "SEARCH BODY attached": {},
    'SEARCH BODY "attachment words"': {}, "SEARCH BODY JVBER": {},
    "SEARCH BODY html": {35: "html"}, "SEARCH BODY e": {}, "SEARCH BODY ag": {},
    "SEARCH TEXT plan": {}, 'SEARCH TEXT "message-id: <t1"': {}, "SEARCH TEXT carol": {},
    'SEARCH TEXT "in-reply-to"': {}, "SEARCH HEADER References t1": {},
    'SEARCH HEADER References ""': {}, 'SEARCH HEADER In-Reply-To ""': {},
    'SEARCH HEADER Message-ID "<d1@x>"': {}, "SEARCH HEADER Content-Transfer-Encoding base64": {},
    "SEARCH SENTBEFORE 10-Jan-2024": {}, "SEARCH SENTON 25-Jan-2024": {},
    "SEARCH SENTON 26-Jan-2024": {}, "SEARCH SENTON 24-Jan-2024": {},
    "SEARCH SENTSINCE 25-Jan-2024": {}, "SEARCH SENTSINCE 1-Jan-1990": {},
    "SEARCH BEFORE 3-Jan-2024": {}, "SEARCH ON 5-Jan-2024": {}, "SEARCH SINCE 10-Jan-2024": {},
    "SEARCH LARGER 300": {}, "SEARCH SMALLER 200": {}, "SEARCH NOT (OR SEEN FLAGGED)": {},
    "SEARCH OR BODY plan SUBJECT lost": {}, "SEARCH 5:10 NOT SEEN": {},
    "SEARCH UID 3,7:9": {}, "SEARCH 30:*": {}, "SEARCH 100:*": {36: "star"},
    "SORT (ARRIVAL) UTF-8 ALL": {}, "SORT (REVERSE ARRIVAL) UTF-8 ALL": {},
    "SORT (DATE) UTF-8 ALL": {}, "SORT (REVERSE DATE) UTF-8 ALL": {},
    "SORT (SIZE) UTF-8 ALL": {}, "SORT (SUBJECT) UTF-8 ALL": {},
    "SORT (REVERSE SUBJECT) UTF-8 ALL": {}, "SORT (FROM) UTF-8 ALL": {},
    "SORT (TO) UTF-8 ALL": {}, "SORT (CC) UTF-8 ALL": {},
    "SORT (REVERSE FROM DATE) UTF-8 ALL": {}, "SORT (DISPLAYFROM) UTF-8 ALL": {},
    "SORT (DISPLAYTO) UTF-8 ALL": {22: "casemap"}, "SORT (SUBJECT) UTF-8 SEEN": {},
    "THREAD REFERENCES UTF-8 ALL": {}, "THREAD ORDEREDSUBJECT UTF-8 ALL": {},
    "THREAD REFERENCES UTF-8 NOT SEEN": {}, "THREAD REFERENCES UTF-8 SUBJECT lost": {},
}

# the corpus: same commands, other exceptions, by message name (corpus_cases numbers them)
PRE1970 = {"obs-syntax-addr": "pre1970"}  # Date: Thu, 13 Feb 1969
CORPUS = dict.fromkeys(GENERATED, {})
del CORPUS["THREAD REFERENCES UTF-8 SUBJECT lost"]  # empty there: EXACT has that case
CORPUS.update({
    "SEARCH FROM example.org": {},  # header-nul.eml: found past the NUL too
    'SEARCH SUBJECT "spaced   out"': {},
    'SEARCH BODY "bold world"': {}, "SEARCH BODY html": {}, 'SEARCH BODY "attachment words"': {},
    "SEARCH BODY e": {"boundary-missing-param": "extract", "boundary-never-used": "extract",
                      "ct-invalid": "extract", "cte-odd": "extract",
                      "headers-8bit-latin1": "accents",
                      # the digest's message has "From: x@example.com", text "alt plain"
                      "multipart-toplevel-nested-rfc822-digest": "inner"},
    "SEARCH BODY ag": {"ct-duplicate": "first"},
    # Carol is in the inner header
    "SEARCH SENTBEFORE 10-Jan-2024": PRE1970, "SEARCH SENTSINCE 25-Jan-2024": PRE1970,
    "SEARCH SENTSINCE 1-Jan-1990": PRE1970, "SORT (DATE) UTF-8 ALL": PRE1970,
    "SORT (REVERSE DATE) UTF-8 ALL": PRE1970, "THREAD REFERENCES UTF-8 ALL": PRE1970,
    "THREAD REFERENCES UTF-8 NOT SEEN": PRE1970, "THREAD ORDEREDSUBJECT UTF-8 ALL": PRE1970,
    "SEARCH LARGER 300": {"lf-bare": "bare-lf"},
    "SORT (SIZE) UTF-8 ALL": {"lf-bare-plain": "bare-lf", "lf-bare": "bare-lf"},
    "SEARCH 100:*": {"uppercase-types": "star"},  # the last one
    # addr-display-only: From "Only A Name", To: Just A Name, Cc: "Quoted Only" <>;
    # addr-phrase-forms: From: Just A Name, To: "Quoted" more words
    "SORT (FROM) UTF-8 ALL": {"addr-display-only": "placeholder",
                              "addr-phrase-forms": "placeholder"},
    "SORT (TO) UTF-8 ALL": {"addr-display-only": "placeholder",
                            "addr-phrase-forms": "placeholder"},
    "SORT (CC) UTF-8 ALL": {"addr-display-only": "placeholder"},
    "SORT (REVERSE FROM DATE) UTF-8 ALL": {"addr-display-only": "placeholder",
                                           "addr-phrase-forms": "placeholder"},
    # addr-no-domain: From: alice; bare-cr-values: From: "Alice<CR>Example"
    "SORT (DISPLAYFROM) UTF-8 ALL": {"addr-no-domain": "placeholder",
                                     "bare-cr-values": "bare-cr"},
    "SORT (DISPLAYTO) UTF-8 ALL": {"addr-encoded-name": "casemap"},  # "éé" <ee@...>
})


def corpus_cases():
    """CORPUS with message numbers: the place of each name in searchset.corpus()."""
    number = {p.stem: i + 1 for i, p in enumerate(sorted(searchset.CORPUS.glob("*.eml")))}
    return {command: {number[name]: kind for name, kind in excluded.items()}
            for command, excluded in CORPUS.items()}


# command: (kasten's whole answer, kind) where the difference is in the answer's form
EXACT = {
    "THREAD REFERENCES UTF-8 SUBJECT nothing-at-all": ([b"* THREAD"], "grammar"),
    "THREAD ORDEREDSUBJECT UTF-8 SUBJECT nothing-at-all": ([b"* THREAD"], "grammar"),
}


def kasten_session(server, msgs):
    a = unique_user("dc")
    server.user_add(a, PASSWORD)
    c = RawIMAP(*server.addr("imap"))
    c.login(a, PASSWORD)
    for m, flags, when in msgs:
        date = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
        f = " ".join(FLAGS[x] for x in flags)
        c.n += 1
        tag = f"p{c.n}"
        c.send(f'{tag} APPEND INBOX ({f}) "{date:%d-%b-%Y %H:%M:%S +0000}" ~{{{len(m)}+}}\r\n'
               .encode() + m + b"\r\n")
        st, _ = c.until(tag)
        assert b" OK " in st, st
    return c


def dovecot_session(dovecot, msgs):
    for m, flags, when in msgs:
        dovecot.put("u1", m, flags=flags, when=when)
    c = RawIMAP(*dovecot.addr("imap"))
    c.login("u1", "dovecot-pass")
    return c


def answers(c, command):
    st, un = c.cmd(command)
    assert re.match(rb"\S+ OK ", st), (command, st)
    return [u for u in un if not u.startswith(b"* OK [HIGHESTMODSEQ")]


def with_exclusion(command, uids):
    """The command with its search keys narrowed by NOT UID ..."""
    return command + " NOT UID " + ",".join(map(str, sorted(uids)))


@pytest.mark.parametrize("which", ["generated", "corpus"])
def test_search_sort_thread_as_dovecot(mserver, dovecot, which):
    msgs = searchset.generated() if which == "generated" else searchset.corpus()
    cases = GENERATED if which == "generated" else corpus_cases()
    k = kasten_session(mserver, msgs)
    d = dovecot_session(dovecot, msgs)
    for c in (k, d):
        answers(c, "SELECT INBOX")
    differ = []
    for command, excluded in cases.items():
        mine, theirs = answers(k, command), answers(d, command)
        if excluded:
            assert mine != theirs, f"{command}: the exception {excluded} no longer applies"
            command = with_exclusion(command, excluded)
            mine, theirs = answers(k, command), answers(d, command)
        if mine != theirs:
            differ.append(f"{command}\n  kasten  {mine}\n  dovecot {theirs}")
    for command, (want, kind) in EXACT.items():
        mine, theirs = answers(k, command), answers(d, command)
        assert mine == want and theirs != mine, (command, kind, mine, theirs)
    assert not differ, "\n".join(differ)
