"""Multi-device sync (issue 7, item 7): every kind of change to a selected mailbox,
seen by every kind of session that has it selected, byte for byte (RFC 9051 5.2, 7.4.1
EXPUNGE, 7.3.1 EXISTS, 7.5.2 FETCH; RFC 3501 2.3.2 and 7.3.2 for rev1's \\Recent and
RECENT; RFC 7162 3.1.10 MODSEQ in unsolicited FETCH, 3.2.10 VANISHED; RFC 2177 IDLE).

The matrix: each change (CHANGES) is made once, in an account of its own, while seven
sessions have the mailbox selected (OBSERVERS):

    idle             rev2, in IDLE, on the loop thread of the IMAP session that acts
    idle_other_loop  rev2, in IDLE, on the other loop thread
    noop             rev2, NOOP after the change, on the acting session's loop thread
    noop_other_loop  rev2, NOOP after the change, on the other loop thread
    condstore        rev2, SELECT ... (CONDSTORE), NOOP: FETCH carries MODSEQ
    qresync          rev2, ENABLE QRESYNC, NOOP: VANISHED instead of EXPUNGE
    rev1             IMAP4rev1, NOOP; the first to select, so \\Recent is its own

An idling session must get the update without sending anything (it is read before the
test sends DONE); a NOOP session gets it in the NOOP's answer. Each (change, observer)
pair is one test: the scenario runs at the first of them and its record serves the
rest (one account and seven sessions per change, not per pair). The expected lines come
from a model of the change: which messages, their flags, the modseq the change took.
Afterwards every observer's sequence numbers must map to the UIDs the mailbox holds.

Then the rules of RFC 9051 7.5.1 (no EXPUNGE while answering FETCH, STORE or SEARCH by
sequence number; sequence numbers stay those the client knows) and RFC 2180 4.1 (FETCH
of a message another session expunged), also against Dovecot.

The server runs two loop threads (tests/kasten_test.py writes threads = 2)."""

import re

import pytest

from kasten_test import (RawIMAP, RawPOP3, deliver, imap_on_loop, make_message,
                         read_responses, unique_user)

KASTEN_LISTEN = ("smtp", "lmtp", "imap", "pop3")
PASSWORD = "Sync-pass-123"
MSG = b"From: <a@example.test>\r\nSubject: sync\r\n\r\nbody\r\n"
SYSTEM = (b"\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Junk $NotJunk")


def account(server):
    a = unique_user("sy")
    server.user_add(a, PASSWORD)
    return a


def ok(c, command):
    st, un = c.cmd(command)
    assert re.match(rb"\S+ OK", st), (command, st, un)
    return st, un


def login(c, address, rev2=True):
    c.login(address, PASSWORD)
    if rev2:
        ok(c, "ENABLE IMAP4rev2")
    return c


def append(c, mailbox, n, flags=""):
    uids = []
    for _ in range(n):
        st, _ = ok(c, f"APPEND {mailbox} ({flags}) {{{len(MSG)}+}}\r\n".encode() + MSG)
        uids.append(int(re.search(rb"APPENDUID \d+ (\d+)", st).group(1)))
    return uids


def highestmodseq(c, mailbox):
    _, un = ok(c, f"STATUS {mailbox} (HIGHESTMODSEQ)")
    return int(re.search(rb"HIGHESTMODSEQ (\d+)", un[-1]).group(1))


def uid_set(uids):
    """Ascending UIDs as the server writes a uid-set: "1:3,7"."""
    out, i, uids = [], 0, sorted(uids)
    while i < len(uids):
        j = i
        while j + 1 < len(uids) and uids[j + 1] == uids[j] + 1:
            j += 1
        out.append(b"%d" % uids[i] if i == j else b"%d:%d" % (uids[i], uids[j]))
        i = j + 1
    return b",".join(out)


def noop(c):
    """(untagged responses, tagged line or "closed") of one NOOP."""
    c.n += 1
    tag = f"n{c.n}"
    c.send(f"{tag} NOOP\r\n")
    return until_or_closed(c, tag)


def until_or_closed(c, tag):
    seen = []
    try:
        while True:
            line = c.response()
            if line.startswith(tag.encode() + b" "):
                return seen, line
            seen.append(line)
    except ConnectionError:
        return seen, "closed"


# ---- the model: what each kind of session is told ----
# view: "rev2" (plain), "condstore", "qresync" (CONDSTORE's MODSEQ too), "rev1"

def fetch(view, seq, uid, flags, m, keywords=b""):
    r"""An unsolicited FETCH for a flag change: FLAGS (system flags, \Recent for rev1's
    own recent messages, keywords), UID always, MODSEQ under CONDSTORE (RFC 7162
    3.1.10; QRESYNC implies it)."""
    words = list(flags)
    if view == "rev1":
        words.append(b"\\Recent")  # every message of the set-up is rev1's recent one
    if keywords:
        words.append(keywords)
    line = b"* %d FETCH (FLAGS (%s) UID %d" % (seq, b" ".join(words), uid)
    if view in ("condstore", "qresync"):
        line += b" MODSEQ (%d)" % m
    return line + b")"


def expunged(view, seqs_uids):
    """EXPUNGE from the highest sequence number down (7.4.1), or one VANISHED. rev1 then
    RECENT: the messages were rev1's recent ones (all of the set-up's three are), and
    the count changed in a way EXPUNGE does not say (RFC 3501 7.3.2; as Dovecot)."""
    if view == "qresync":
        return [b"* VANISHED " + uid_set([u for _, u in seqs_uids])]
    return [b"* %d EXPUNGE" % s for s, _ in sorted(seqs_uids, reverse=True)] + \
        ([b"* %d RECENT" % (3 - len(seqs_uids))] if view == "rev1" else [])


def exists(view, n, recent):
    """EXISTS; rev1 also RECENT (RFC 3501 7.3.2), counting its earlier recent ones."""
    return [b"* %d EXISTS" % n] + ([b"* %d RECENT" % recent] if view == "rev1" else [])


def new_keyword(keyword):
    """FLAGS and PERMANENTFLAGS naming a keyword new to the mailbox (RFC 9051 7.3.5),
    before any message shows it."""
    return [b"* FLAGS (" + SYSTEM + b" " + keyword + b")",
            b"* OK [PERMANENTFLAGS (" + SYSTEM + b" " + keyword + b" \\*)] Flags permitted"]


BYE_DELETED = b"* BYE [NONEXISTENT] The selected mailbox was deleted"


# ---- the changes ----
# mailbox: the one the observers select, holding UIDs 1..3 without flags; "Other" holds
# one \Flagged message. select: what the acting IMAP session selects. prep: done before
# the observers start watching (its updates are read and dropped). act(x): the change.
# expect(view, m): the lines, m being the modseq the change took. after: the mailbox's
# UIDs afterwards (None: the observers are disconnected). mailbox_after: where to read
# the modseq afterwards.

def pop3_delete(x, msg_numbers):
    p = RawPOP3(*x.server.addr("pop3"))
    p.login(x.address, PASSWORD)
    for n in msg_numbers:
        assert p.cmd(f"DELE {n}").startswith(b"+OK")
    assert p.cmd("QUIT").startswith(b"+OK")
    p.close()


CHANGES = {
    "store": dict(
        act=lambda x: ok(x.actor, "STORE 2 +FLAGS (\\Flagged)"),
        expect=lambda v, m: [fetch(v, 2, 2, [b"\\Flagged"], m)],
        after=[1, 2, 3]),
    "store_keyword": dict(
        act=lambda x: ok(x.actor, "STORE 1:2 +FLAGS (\\Seen Todo)"),
        expect=lambda v, m: new_keyword(b"Todo") + [
            fetch(v, 1, 1, [b"\\Seen"], m, b"Todo"), fetch(v, 2, 2, [b"\\Seen"], m, b"Todo")],
        after=[1, 2, 3]),
    "uid_store": dict(
        prep=lambda x: ok(x.actor, "STORE 3 +FLAGS.SILENT (\\Seen \\Answered $Junk)"),
        act=lambda x: ok(x.actor, "UID STORE 3 -FLAGS (\\Seen)"),
        expect=lambda v, m: [fetch(v, 3, 3, [b"\\Answered", b"$Junk"], m)],
        after=[1, 2, 3]),
    "expunge": dict(
        prep=lambda x: ok(x.actor, "STORE 1,3 +FLAGS.SILENT (\\Deleted)"),
        act=lambda x: ok(x.actor, "EXPUNGE"),
        expect=lambda v, m: expunged(v, [(1, 1), (3, 3)]),
        after=[2]),
    "uid_expunge": dict(
        prep=lambda x: ok(x.actor, "STORE 1:3 +FLAGS.SILENT (\\Deleted)"),
        act=lambda x: ok(x.actor, "UID EXPUNGE 2:3"),
        expect=lambda v, m: expunged(v, [(2, 2), (3, 3)]),
        after=[1]),
    "move_out": dict(
        act=lambda x: ok(x.actor, "MOVE 2 Other"),
        expect=lambda v, m: expunged(v, [(2, 2)]),
        after=[1, 3]),
    "move_in": dict(
        select="Other",
        act=lambda x: ok(x.actor, "MOVE 1 INBOX"),
        expect=lambda v, m: exists(v, 4, 4),
        after=[1, 2, 3, 4]),
    "copy_in": dict(
        select="Other",
        act=lambda x: ok(x.actor, "COPY 1 INBOX"),
        expect=lambda v, m: exists(v, 4, 4),
        after=[1, 2, 3, 4]),
    "append": dict(
        select=None,
        act=lambda x: append(x.actor, "INBOX", 1, "\\Seen"),
        expect=lambda v, m: exists(v, 4, 4),
        after=[1, 2, 3, 4]),
    "pop3_dele": dict(
        select=None,
        act=lambda x: pop3_delete(x, [2]),
        expect=lambda v, m: expunged(v, [(2, 2)]),
        after=[1, 3]),
    "smtp": dict(
        select=None,
        act=lambda x: deliver(x.server, x.address, make_message("sync smtp")),
        expect=lambda v, m: exists(v, 4, 4),
        after=[1, 2, 3, 4]),
    "lmtp": dict(
        select=None,
        act=lambda x: deliver(x.server, x.address, make_message("sync lmtp"), port="lmtp"),
        expect=lambda v, m: exists(v, 4, 4),
        after=[1, 2, 3, 4]),
    # the selected mailbox itself: a child created, renamed (it stays selected: same
    # mailbox, same UIDVALIDITY, RFC 9051 6.3.6), deleted (RFC 9051 7.1.5 BYE)
    "create_child": dict(
        mailbox="Work", select=None,
        act=lambda x: ok(x.actor, "CREATE Work/Child"),
        expect=lambda v, m: [],
        after=[1, 2, 3]),
    "rename": dict(
        mailbox="Work", select=None, mailbox_after="Play",
        act=lambda x: ok(x.actor, "RENAME Work Play"),
        expect=lambda v, m: [],
        after=[1, 2, 3]),
    "delete": dict(
        mailbox="Work", select=None, mailbox_after=None,
        act=lambda x: ok(x.actor, "DELETE Work"),
        expect=lambda v, m: [BYE_DELETED],
        after=None),
    # RFC 9051 6.3.6: renaming INBOX moves its messages out; INBOX stays, empty
    "rename_inbox": dict(
        select=None,
        act=lambda x: ok(x.actor, "RENAME INBOX Saved"),
        expect=lambda v, m: expunged(v, [(1, 1), (2, 2), (3, 3)]),
        after=[]),
}

OBSERVERS = ("idle", "idle_other_loop", "noop", "noop_other_loop", "condstore",
             "qresync", "rev1")
VIEW = {"condstore": "condstore", "qresync": "qresync", "rev1": "rev1"}


class Scenario:
    """One change made while the seven observers watch; what each of them was told."""

    def __init__(self, server, name):
        spec = CHANGES[name]
        self.server, self.name = server, name
        self.address = account(server)
        mb = spec.get("mailbox", "INBOX")
        self.actor = login(imap_on_loop(server), self.address)
        here = self.actor.loop
        if mb != "INBOX":
            ok(self.actor, f"CREATE {mb}")
        assert append(self.actor, mb, 3) == [1, 2, 3]
        ok(self.actor, "CREATE Other")
        append(self.actor, "Other", 1, "\\Flagged")
        select = spec.get("select", mb)
        if select:
            ok(self.actor, f"SELECT {select}")
        placement = {"idle": dict(loop=here), "idle_other_loop": dict(not_loop=here),
                     "noop": dict(loop=here), "noop_other_loop": dict(not_loop=here)}
        self.obs = {}
        for o in ("rev1",) + tuple(x for x in OBSERVERS if x != "rev1"):
            c = login(imap_on_loop(server, **placement.get(o, {})), self.address,
                      rev2=o != "rev1")
            if o == "qresync":
                ok(c, "ENABLE QRESYNC")
            _, un = ok(c, f"SELECT {mb}" + (" (CONDSTORE)" if o == "condstore" else ""))
            assert b"* 3 EXISTS" in un
            if o == "rev1":
                assert b"* 3 RECENT" in un  # the first to select: all three are its
            self.obs[o] = c
        if spec.get("prep"):
            spec["prep"](self)
            for c in self.obs.values():
                assert noop(c)[1] != "closed"
        for o in ("idle", "idle_other_loop"):
            self.obs[o].send("i1 IDLE\r\n")
            assert self.obs[o].response() == b"+ idling"

        spec["act"](self)

        after = spec.get("mailbox_after", mb)
        probe = login(RawIMAP(*server.addr("imap")), self.address)
        self.modseq = highestmodseq(probe, after) if after else 0
        self.seen, self.uids = {}, {}
        for o, c in self.obs.items():
            want = spec["expect"](VIEW.get(o, "rev2"), self.modseq)
            if o.startswith("idle"):
                # what arrives with no command sent; then DONE ends the IDLE
                lines = read_responses(c, len(want))
                try:
                    c.send("DONE\r\n")
                    more, end = until_or_closed(c, "i1")
                except OSError:
                    more, end = [], "closed"
                self.seen[o] = (lines, more, end)
            else:
                lines, end = noop(c)
                self.seen[o] = (lines, [], end)
            if end != "closed":
                _, un = ok(c, "UID FETCH 1:* (UID)")
                self.uids[o] = [(int(s), int(u)) for s, u in (
                    re.match(rb"\* (\d+) FETCH \(.*UID (\d+)", x).groups() for x in un)]
        for c in [self.actor, probe, *self.obs.values()]:
            c.close()


_scenarios = {}


def scenario(server, name):
    key = (id(server), name)
    if key not in _scenarios:
        _scenarios[key] = Scenario(server, name)
    return _scenarios[key]


def expected(name, observer, modseq):
    spec = CHANGES[name]
    lines = spec["expect"](VIEW.get(observer, "rev2"), modseq)
    closed = spec["after"] is None
    if observer.startswith("idle"):
        # every line before DONE, nothing after it but the tagged OK
        return (lines, [], "closed" if closed else b"i1 OK IDLE terminated")
    return (lines, [], "closed" if closed else "OK NOOP completed")


# Known server bugs, each an exact exchange: {(change, observer): reason}
MATRIX_BUGS = {}


def matrix_params():
    for change in CHANGES:
        for observer in OBSERVERS:
            bug = MATRIX_BUGS.get((change, observer))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            yield pytest.param(change, observer, marks=marks, id=f"{change}-{observer}")


@pytest.mark.parametrize("change,observer", list(matrix_params()))
def test_matrix(mserver, change, observer):
    s = scenario(mserver, change)
    lines, more, end = s.seen[observer]
    if observer.startswith("noop") or observer in VIEW:
        # the tag is ours: compare the rest of the tagged line
        end = end if end == "closed" else end.split(b" ", 1)[1].decode()
    assert (lines, more, end) == expected(change, observer, s.modseq)
    after = CHANGES[change]["after"]
    if after is not None:
        # the session's sequence numbers map to the UIDs the mailbox holds
        assert s.uids[observer] == list(enumerate(after, start=1))


# ---- RFC 9051 7.5.1: no EXPUNGE while answering by sequence number ----

def two_sessions(server, n=5, rev2=True, other_loop=True):
    """(address, a, b): n messages (UIDs 1..n) in INBOX, selected by a and b, on
    different loop threads; rev2 unless told otherwise (a only)."""
    address = account(server)
    b = login(imap_on_loop(server), address)
    assert append(b, "INBOX", n) == list(range(1, n + 1))
    a = login(imap_on_loop(server, not_loop=b.loop if other_loop else None), address,
              rev2=rev2)
    ok(a, "SELECT INBOX")
    ok(b, "SELECT INBOX")
    return address, a, b


def expunge_by(b, uids):
    ok(b, f"UID STORE {uid_set(uids).decode()} +FLAGS.SILENT (\\Deleted)")
    ok(b, f"UID EXPUNGE {uid_set(uids).decode()}")


def test_fetch_by_sequence_number_holds_back_expunges(mserver):
    """RFC 9051 7.5.1: B expunges UIDs 2 and 4 while A knows them as 2 and 4. A's FETCH
    by sequence number gets no EXPUNGE and the numbers it knows; the two messages are
    not there to fetch (RFC 2180 4.1.2: NO, without their data). A's NOOP then reports
    them, from the top; the numbers A uses afterwards are the new ones."""
    _, a, b = two_sessions(mserver)
    expunge_by(b, [2, 4])
    st, un = a.cmd("FETCH 1:5 (UID FLAGS)")
    assert un == [b"* 1 FETCH (UID 1 FLAGS ())", b"* 3 FETCH (UID 3 FLAGS ())",
                  b"* 5 FETCH (UID 5 FLAGS ())"]
    assert st.split(b" ", 1)[1] == (b"NO [EXPUNGEISSUED] Some of the requested messages "
                                    b"no longer exist")
    # still the old numbering: 5 is UID 5, 3 is UID 3
    assert a.cmd("FETCH 5 (UID)")[1] == [b"* 5 FETCH (UID 5)"]
    assert a.cmd("FETCH 3 (UID)")[1] == [b"* 3 FETCH (UID 3)"]
    assert noop(a) == ([b"* 4 EXPUNGE", b"* 2 EXPUNGE"], b"n%d OK NOOP completed" % a.n)
    _, un = ok(a, "FETCH 1:3 (UID)")
    assert un == [b"* 1 FETCH (UID 1)", b"* 2 FETCH (UID 3)", b"* 3 FETCH (UID 5)"]
    assert a.cmd("FETCH 4 (UID)")[0].split(b" ", 2)[1] == b"BAD"  # only 3 now


def test_fetch_of_a_message_expunged_by_another_session(mserver):
    """RFC 2180 4.1: a FETCH names only a message another session expunged, not yet
    reported. kasten answers NO [EXPUNGEISSUED] with no data (4.1.2, RFC 5530 3), for
    flags and for the body alike; a UID FETCH of it answers nothing for it and may,
    and does, report the expunge (RFC 9051 7.5.1: UID commands may)."""
    _, a, b = two_sessions(mserver, n=3)
    expunge_by(b, [2])
    for items in ("FLAGS", "BODY.PEEK[]", "(UID RFC822.SIZE)"):
        st, un = a.cmd(f"FETCH 2 {items}")
        assert (un, st.split(b" ", 1)[1]) == ([], b"NO [EXPUNGEISSUED] Some of the "
                                                 b"requested messages no longer exist")
    st, un = a.cmd("UID FETCH 2 (FLAGS)")
    assert (un, st.split(b" ", 1)[1]) == ([b"* 2 EXPUNGE"], b"OK UID FETCH completed")
    assert noop(a)[0] == []


def test_store_by_sequence_number_holds_back_expunges(mserver):
    """RFC 9051 7.5.1: STORE by sequence number while UID 2 is expunged but unreported:
    no EXPUNGE in the answer, the FETCH responses carry the numbers A knows (3 is still
    UID 3); the expunged message is left out (RFC 2180 4.2). Then NOOP reports it."""
    _, a, b = two_sessions(mserver)
    expunge_by(b, [2])
    st, un = a.cmd("STORE 1:3 +FLAGS (\\Seen)")
    assert un == [b"* 1 FETCH (FLAGS (\\Seen))", b"* 3 FETCH (FLAGS (\\Seen))"]
    assert st.split(b" ", 1)[1] == b"OK Store completed"
    assert noop(a)[0] == [b"* 2 EXPUNGE"]
    _, un = ok(a, "FETCH 1:4 (UID FLAGS)")
    assert un == [b"* 1 FETCH (UID 1 FLAGS (\\Seen))", b"* 2 FETCH (UID 3 FLAGS (\\Seen))",
                  b"* 3 FETCH (UID 4 FLAGS ())", b"* 4 FETCH (UID 5 FLAGS ())"]
    # B is told of A's change as an update (5.2), with the UIDs it knows
    assert noop(b)[0] == [b"* 1 FETCH (FLAGS (\\Seen) UID 1)",
                          b"* 2 FETCH (FLAGS (\\Seen) UID 3)"]


def test_search_by_sequence_number_holds_back_expunges(mserver):
    """RFC 9051 7.5.1: SEARCH answers in the numbers the client knows, with no EXPUNGE;
    flag updates may come with it (7.5.2 allows FETCH). UID SEARCH may report the
    expunge, and does, before its result."""
    _, a, b = two_sessions(mserver, rev2=False)  # rev1: "* SEARCH n..." answers
    ok(b, "STORE 2,4 +FLAGS.SILENT (\\Flagged)")
    expunge_by(b, [2])
    st, un = a.cmd("SEARCH FLAGGED")
    assert un == [b"* 4 FETCH (FLAGS (\\Flagged \\Recent) UID 4)", b"* SEARCH 4"]
    assert st.split(b" ", 1)[1] == b"OK SEARCH completed"
    _, un = ok(a, "SEARCH ALL")
    assert un == [b"* SEARCH 1 3 4 5"]  # 2 is gone; the others keep their numbers
    _, un = ok(a, "UID SEARCH FLAGGED")
    assert un == [b"* 2 EXPUNGE", b"* 4 RECENT", b"* SEARCH 4"]  # A's recent ones: 5 - 1
    _, un = ok(a, "SEARCH FLAGGED")
    assert un == [b"* SEARCH 3"]


def test_qresync_vanished_is_held_back_too(mserver):
    """RFC 7162 3.2.10: VANISHED has EXPUNGE's restrictions on when it may be sent. A
    QRESYNC session's FETCH by sequence number gets none; its UID FETCH may, and gets
    it after its own FETCH (whose number, 4, is still the one the client knows)."""
    address = account(mserver)
    b = login(imap_on_loop(mserver), address)
    append(b, "INBOX", 4)
    a = login(imap_on_loop(mserver, not_loop=b.loop), address)
    ok(a, "ENABLE QRESYNC")
    ok(a, "SELECT INBOX")
    ok(b, "SELECT INBOX")
    expunge_by(b, [1, 3])
    st, un = a.cmd("FETCH 2,4 (UID)")
    assert (un, st.split(b" ", 1)[1]) == ([b"* 2 FETCH (UID 2)", b"* 4 FETCH (UID 4)"],
                                          b"OK FETCH completed")
    st, un = a.cmd("UID FETCH 4 (FLAGS)")
    assert (un, st.split(b" ", 1)[1]) == ([b"* 4 FETCH (UID 4 FLAGS ())", b"* VANISHED 1,3"],
                                          b"OK UID FETCH completed")
    assert a.cmd("FETCH 2 (UID)")[1] == [b"* 2 FETCH (UID 4)"]


def test_numbers_stay_consistent_while_mail_arrives(mserver):
    """RFC 9051 7.5.1 / 7.4.1: with an expunge held back and a new message come in, the
    client's count is the old one plus the new (EXISTS 6 while UID 2 still counts);
    after the EXPUNGE the new message is number 5."""
    address, a, b = two_sessions(mserver)
    expunge_by(b, [2])
    deliver(mserver, address, make_message("arrives"))
    st, un = a.cmd("FETCH 3:5 (UID)")
    assert un == [b"* 3 FETCH (UID 3)", b"* 4 FETCH (UID 4)", b"* 5 FETCH (UID 5)",
                  b"* 6 EXISTS"]
    assert st.split(b" ", 1)[1] == b"OK FETCH completed"
    assert a.cmd("FETCH 6 (UID)")[1] == [b"* 6 FETCH (UID 6)"]
    assert noop(a)[0] == [b"* 2 EXPUNGE"]
    assert a.cmd("FETCH 5 (UID)")[1] == [b"* 5 FETCH (UID 6)"]


def test_idle_reports_expunges_held_by_a_fetch(mserver):
    """An expunge held back during a FETCH goes out at the next moment it may: here
    the IDLE that follows (RFC 2177: the server sends updates while idling)."""
    _, a, b = two_sessions(mserver, n=3)
    expunge_by(b, [3])
    st, un = a.cmd("FETCH 3 (UID)")
    assert un == [] and b" NO [EXPUNGEISSUED]" in st
    a.send("i1 IDLE\r\n")
    assert read_responses(a, 2) == [b"* 3 EXPUNGE", b"+ idling"]
    a.send("DONE\r\n")
    assert a.until("i1") == (b"i1 OK IDLE terminated", [])


# ---- the same exchanges against Dovecot ----

def seven_five_one_script(connect):
    """RFC 9051 7.5.1 / RFC 2180 4.1 / RFC 3501 2.3.2 exchanges, rev1 (Dovecot 2.3 has no
    IMAP4rev2). Returns [(step, untagged, tagged status word and code)]."""
    out = []

    def step(name, c, command):
        st, un = c.cmd(command)
        words = st.split(b" ")
        status = words[1] + (b" " + words[2] if words[2].startswith(b"[") else b"")
        out.append((name, un, status))

    b, a = connect(), connect()
    for _ in range(5):
        ok(b, b"APPEND INBOX {%d+}\r\n" % len(MSG) + MSG)
    ok(a, "SELECT INBOX")
    ok(b, "SELECT INBOX")
    ok(b, "UID STORE 2,4 +FLAGS.SILENT (\\Deleted)")
    ok(b, "UID EXPUNGE 2,4")
    step("fetch", a, "FETCH 1:5 (UID FLAGS)")
    step("store", a, "STORE 1:3 +FLAGS (\\Seen)")
    step("search", a, "SEARCH ALL")
    step("noop", a, "NOOP")
    step("fetch after", a, "FETCH 1:3 (UID)")
    c, d = connect(), connect()
    ok(c, "SELECT Sent")
    ok(d, "SELECT Sent")
    ok(b, b"APPEND Sent {%d+}\r\n" % len(MSG) + MSG)
    step("recent first", d, "NOOP")
    step("recent second", c, "NOOP")
    step("recent flags first", d, "FETCH 1 (FLAGS)")
    step("recent flags second", c, "FETCH 1 (FLAGS)")
    return out


def test_seven_five_one_against_dovecot(mserver, dovecot):
    """The exchanges of the 7.5.1 tests against Dovecot 2.3 and kasten. Where they
    differ, both answers are written here; each side is allowed by the RFCs:
      fetch   a message expunged by another session, not yet reported: Dovecot sends
              the flags it still has (RFC 2180 4.1.1) and then unsolicited FETCH for
              the \\Deleted it saw, OK; kasten sends nothing for it and NO
              [EXPUNGEISSUED] (4.1.2)
      store   Dovecot also stores on the expunged message 2 and reports it
      search  Dovecot counts the expunged messages in, kasten leaves them out (both
              in the numbering the client knows; RFC 2180 4.3)
    The rest is the same on both: the EXPUNGEs and then RECENT (the count fell) at
    NOOP, the numbering afterwards, and \\Recent on one session only (RFC 3501 2.3.2)."""
    a = unique_user("sy")
    mserver.user_add(a, PASSWORD)
    ours = seven_five_one_script(lambda: login(RawIMAP(*mserver.addr("imap")), a, rev2=False))

    def dovecot_session():
        c = RawIMAP(*dovecot.addr("imap"))
        c.login("u1", "dovecot-pass")
        return c
    theirs = seven_five_one_script(dovecot_session)
    differ = {
        "fetch": (([b"* 1 FETCH (UID 1 FLAGS (\\Recent))", b"* 3 FETCH (UID 3 FLAGS (\\Recent))",
                    b"* 5 FETCH (UID 5 FLAGS (\\Recent))"], b"NO [EXPUNGEISSUED]"),
                  ([b"* 1 FETCH (UID 1 FLAGS (\\Recent))",
                    b"* 2 FETCH (UID 2 FLAGS (\\Deleted \\Recent))",
                    b"* 3 FETCH (UID 3 FLAGS (\\Recent))",
                    b"* 4 FETCH (UID 4 FLAGS (\\Deleted \\Recent))",
                    b"* 5 FETCH (UID 5 FLAGS (\\Recent))",
                    b"* 2 FETCH (FLAGS (\\Deleted \\Recent))",
                    b"* 4 FETCH (FLAGS (\\Deleted \\Recent))"], b"OK")),
        "store": (([b"* 1 FETCH (FLAGS (\\Seen \\Recent))",
                    b"* 3 FETCH (FLAGS (\\Seen \\Recent))"], b"OK"),
                  ([b"* 1 FETCH (FLAGS (\\Seen \\Recent))",
                    b"* 2 FETCH (FLAGS (\\Deleted \\Seen \\Recent))",
                    b"* 3 FETCH (FLAGS (\\Seen \\Recent))"], b"OK")),
        "search": (([b"* SEARCH 1 3 5"], b"OK"), ([b"* SEARCH 1 2 3 4 5"], b"OK")),
    }
    assert [s for s, _, _ in ours] == [s for s, _, _ in theirs]
    for (name, un1, st1), (_, un2, st2) in zip(ours, theirs):
        if name in differ:
            assert ((un1, st1), (un2, st2)) == differ[name], name
        else:
            assert (un1, st1) == (un2, st2), name
