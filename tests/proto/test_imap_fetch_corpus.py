"""FETCH answers of a real `kasten serve` compared byte for byte with Dovecot's on the
IMAP corpus (tests/corpus/imap: 69 tricky messages).

Every NAME.eml goes into one mailbox with APPEND as literal8 (RFC 3516 4.4: stored as
sent, bare LF and NUL included), and the mailbox is EXAMINEd from a rev1 session, as
the goldens were recorded. Two sets of goldens:
  - ../NAME.golden (tests/corpus/imap/make_golden.py): ENVELOPE, BODYSTRUCTURE, BODY and
    body sections, which tests/unit/test_imap_fmt_corpus.c checks on the formatter; here
    the same answers come through the session, the store's cached structure and the
    message file. ../NAME.except holds the formatter's deliberate differences; a
    section's NUL reaches the client as 0x80 (the session's rule, what Dovecot sends).
  - fetch/NAME.golden (tests/corpus/imap/fetch/make_golden.py): RFC822.SIZE, BODY[] with
    partial ranges, RFC822.HEADER/TEXT, BINARY[section], BINARY.SIZE and partial BINARY,
    as raw protocol text after the item name (literal or literal8 included).
    fetch/NAME.except holds kasten's answer where it differs on purpose, with a line
    "# ITEM: kinds" (the kinds are explained in tests/corpus/imap/fetch/README.md); an
    exception that Dovecot's answer equals is stale and fails."""

import re
from pathlib import Path

import pytest

from kasten_test import RawIMAP, unique_user

KASTEN_LISTEN = ("smtp", "imap")
KASTEN_CONFIG = {"limits": {"max_message_size": "64M"}}
PASSWORD = "Corpus-pass-123"
CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "imap"
FETCH = CORPUS / "fetch"
NAMES = sorted(p.stem for p in CORPUS.glob("*.eml"))
SECTION = re.compile(r"(BODY|BINARY)\[")


def blocks(path):
    """{item: value bytes, "NO" or None (NIL)} and {item: reason} of a golden or except
    file ("== ITEM LEN" LF bytes LF; "#" lines between blocks)."""
    out, why = {}, {}
    if not path.exists():
        return out, why
    data, i = path.read_bytes(), 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl].decode()
        i = nl + 1
        if line.startswith("# ") and ": " in line and not line.startswith("#   "):
            item, reason = line[2:].rsplit(": ", 1)
            why[item] = reason
            continue
        if line.startswith("#") or not line:
            continue
        m = re.fullmatch(r"== (.*) (\d+|NO|NIL)", line)
        assert m, f"{path}: bad line {line!r}"
        item, n = m.groups()
        if n in ("NO", "NIL"):
            out[item] = "NO" if n == "NO" else None
            continue
        out[item] = data[i:i + int(n)]
        assert data[i + int(n):i + int(n) + 1] == b"\n", f"{path}: {item}: bad length"
        i += int(n) + 1
    return out, why


def ask(item):
    """The item as asked: PEEK, so that nothing changes (the goldens were EXAMINEd)."""
    return item.replace("BODY[", "BODY.PEEK[").replace("BINARY[", "BINARY.PEEK[")


def skip_value(b, i):
    c = b[i:i + 1]
    if c == b"(":
        depth = 0
        while True:
            c = b[i:i + 1]
            if c == b"(":
                depth += 1
                i += 1
            elif c == b")":
                depth -= 1
                i += 1
                if depth == 0:
                    return i
            elif c in (b'"', b"{"):
                i = skip_value(b, i)
            else:
                i += 1
    if c == b'"':
        i += 1
        while b[i:i + 1] != b'"':
            i += 2 if b[i:i + 1] == b"\\" else 1
        return i + 1
    m = re.compile(rb"~?\{(\d+)\}\r\n").match(b, i)
    if m:
        return m.end() + int(m.group(1))
    return re.compile(rb"[^ ()]+").match(b, i).end()


def fetch_raw(c, seq, item):
    """kasten's raw value of one item (the protocol text after its name), or "NO"."""
    st, untagged = c.cmd(f"FETCH {seq} ({ask(item)})")
    if not re.match(rb"a\d+ OK ", st):
        assert b" NO " in st, (item, st)
        return "NO"
    lines = [u for u in untagged if u.startswith(b"* %d FETCH (" % seq)]
    assert len(lines) == 1, (item, untagged)
    body = lines[0][len(b"* %d FETCH (" % seq):]
    name = re.match(rb"[^ \[]+(\[[^\]]*\](<\d+>)?)?", body).group(0)
    k = skip_value(body, len(name) + 1)
    assert body[k:] == b")", (item, body[:200])
    return body[len(name) + 1:k]


def content(raw):
    """A string value's octets (the formatter's goldens hold sections so)."""
    m = re.match(rb"~?\{(\d+)\}\r\n", raw)
    if m:
        return raw[m.end():]
    if raw == b"NIL":
        return None
    assert raw.startswith(b'"'), raw[:80]
    return re.sub(rb"\\(.)", rb"\1", raw[1:-1])


@pytest.fixture(scope="module")
def corpus(module_server):
    """A session with the corpus EXAMINEd; message i + 1 is NAMES[i]."""
    a = unique_user("corpus")
    module_server.user_add(a, PASSWORD)
    c = RawIMAP(*module_server.addr("imap"))
    c.login(a, PASSWORD)
    st, _ = c.cmd("CREATE corpus")
    assert b" OK " in st
    for n, name in enumerate(NAMES):
        msg = (CORPUS / f"{name}.eml").read_bytes()
        c.send(f"p{n} APPEND corpus ~{{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
        st, _ = c.until(f"p{n}")
        assert b" OK " in st, (name, st)
    st, _ = c.cmd("EXAMINE corpus")
    assert b" OK " in st
    yield c
    c.close()


def test_corpus_is_there():
    assert len(NAMES) >= 60 and all((FETCH / f"{n}.golden").exists() for n in NAMES)


def test_formatter_goldens_through_the_session(corpus, mserver):
    """ENVELOPE, BODYSTRUCTURE, BODY and every section the formatter's goldens hold,
    fetched from the server: the cached structure and the file give what Dovecot gave,
    or the formatter's recorded difference."""
    bad, n = [], 0
    for seq, name in enumerate(NAMES, 1):
        golden, _ = blocks(CORPUS / f"{name}.golden")
        excepted, _ = blocks(CORPUS / f"{name}.except")
        for item, want in golden.items():
            raw = fetch_raw(corpus, seq, item)
            got = content(raw) if SECTION.match(item) else raw
            if item in excepted:
                want = excepted[item]
                if SECTION.match(item):
                    want = want.replace(b"\0", b"\x80")
            n += 1
            if got != want:
                bad.append(f"{name} {item}: kasten {got!r:.300} dovecot {want!r:.300}")
    assert not bad, f"{len(bad)} of {n} items differ:\n" + "\n".join(bad[:20])


def test_fetch_goldens(corpus, mserver):
    """RFC822.SIZE, BODY[] and partials, RFC822.HEADER/TEXT, BINARY, BINARY.SIZE and
    partial BINARY, byte for byte as Dovecot answers, or as fetch/NAME.except records
    (and then Dovecot's answer must differ: no stale exceptions)."""
    bad, n, excepted_n = [], 0, 0
    for seq, name in enumerate(NAMES, 1):
        golden, _ = blocks(FETCH / f"{name}.golden")
        excepted, why = blocks(FETCH / f"{name}.except")
        for item in excepted:
            if item not in golden:
                bad.append(f"{name} {item}: exception for an item Dovecot was not asked")
        for item, want in golden.items():
            got = fetch_raw(corpus, seq, item)
            n += 1
            if item in excepted:
                excepted_n += 1
                if item not in why:
                    bad.append(f"{name} {item}: exception without a '# ITEM: kinds' line")
                elif excepted[item] == want:
                    bad.append(f"{name} {item}: stale exception, Dovecot answers the same")
                want = excepted[item]
            if got != want:
                bad.append(f"{name} {item}: kasten {got!r:.300} expected {want!r:.300}")
    assert not bad, f"{len(bad)} of {n} items differ:\n" + "\n".join(bad[:30])
    print(f"{n} FETCH items over {len(NAMES)} messages, {excepted_n} deliberate differences")
