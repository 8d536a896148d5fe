"""`kasten migrate` (issue 8, item 3) end to end: a POP3 client's local store (a Maildir
tree, Maildir++ or one Maildir per directory, or an mbox file) uploaded into an IMAP
account, against kasten's server and a private Dovecot (client_test).

What is checked on the server, read back over IMAP: every folder of the source with
exactly its messages, each once; the bytes are the local file's with CRLF line ends
(RFC 9051 6.3.12 APPEND takes a message as RFC 5322 says, CRLF); the flags are the
Maildir info letters (S \\Seen, R \\Answered, F \\Flagged, D \\Draft) or the mbox
Status/X-Status letters; INTERNALDATE (RFC 9051 2.3.3) is the file's mtime or the From_
line's date. Copies that POP3 "keep" left on the server are not uploaded again
(Message-ID and content), a second run uploads nothing, a run killed with SIGKILL and
rerun leaves each message once, and the source store is never changed (every file
hashed with its name and mtime before and after).
"""

import re
import time

import pytest

from client_proxy import Proxy
from client_test import (CLIENT_LISTEN, Client, command_exists, crlf,  # noqa: F401
                         cut_points, dovecot_pool, endpoint, fast_tmp, kill9,
                         letters_to_flags, make_tree, mailserver, sample_message,
                         tree_snapshot, uid_map, wait_until, write_local)
from imap_clients import lf

KASTEN_LISTEN = CLIENT_LISTEN
pytestmark = pytest.mark.skipif(not command_exists("migrate"),
                                reason="`kasten migrate` is not in this build yet")

H = 3600
BASE = 1_600_000_000  # mtimes of the source messages (2020-09-13)


def migrate(cl, acct, *source, expect=0, proxy=None):
    return cl.run("migrate", *endpoint(acct, "imap", proxy=proxy), *source, expect=expect)


def source_spec(tag):
    """Folders, flags and mtimes of a small store: INBOX, an existing special folder,
    a new folder and a nested one."""
    msgs = iter(lf(sample_message(i, tag, size=(0, 4000)[i % 2])) for i in range(20))
    return {
        "INBOX": [(next(msgs), "", BASE), (next(msgs), "S", BASE + H),
                  (next(msgs), "FS", BASE + 2 * H)],
        "Sent": [(next(msgs), "S", BASE + 3 * H), (next(msgs), "RS", BASE + 4 * H)],
        "Work": [(next(msgs), "D", BASE + 5 * H), (next(msgs), "", BASE + 6 * H)],
        "Lists/kasten": [(next(msgs), "F", BASE + 7 * H), (next(msgs), "DFRS", BASE + 8 * H)],
    }


def check_uploaded(acct, made):
    """The server's folders hold exactly the local messages: bytes with CRLF, flags,
    INTERNALDATE = mtime."""
    state = acct.state(list(made))
    for folder, files in made.items():
        want = {}
        for path, letters, body, mtime in files:
            want[re.search(rb"Message-ID: (<[^>]+>)", body).group(1).decode()] = \
                (letters, body, mtime)
        got = state[folder]
        assert sorted(got) == sorted(want), f"{folder}: {sorted(got)} != {sorted(want)}"
        for mid, (letters, body, mtime) in want.items():
            m = got[mid]
            assert m.body == crlf(body), f"{folder} {mid}: {m.body[:300]!r}"
            assert m.flags == letters_to_flags(letters), (folder, mid, m.flags, letters)
            assert m.internaldate == mtime, (folder, mid, m.internaldate, mtime)
    return state


@pytest.mark.parametrize("layout", ["maildir++", "fs"])
def test_maildir_tree_uploaded(mailserver, layout, fast_tmp):
    """Folders, flags, dates and bytes; what it did per folder on stdout; a second run
    uploads nothing; the source unchanged."""
    acct, cl = mailserver, Client(fast_tmp)
    src = fast_tmp / "Maildir"
    made = make_tree(src, layout, source_spec(f"mig-{layout}"))
    snap = tree_snapshot(src)
    r = migrate(cl, acct, "--maildir", src)
    for folder in made:
        assert folder in r.stdout, f"nothing said about {folder}: {r.stdout!r}"
    assert set(made) <= acct.folders()
    check_uploaded(acct, made)
    assert tree_snapshot(src) == snap, "migrate changed the source store"
    uids = uid_map(acct, list(made))
    migrate(cl, acct, "--maildir", src)
    assert uid_map(acct, list(made)) == uids, "the second run changed the account"
    assert tree_snapshot(src) == snap


def test_no_duplicates_of_what_pop3_keep_left(mailserver, fast_tmp):
    """The server still holds the messages a POP3 client downloaded with "keep" (the
    local copies are the server's bytes with LF line ends, some marked read locally):
    those are not uploaded again; only the others are."""
    acct, cl = mailserver, Client(fast_tmp)
    for i in range(3):
        acct.put(sample_message(i, "kept", size=1000 * i))
    kept = acct.messages()
    src = fast_tmp / "Maildir"
    for k, m in enumerate(kept):
        write_local(src, lf(m.body), "S" if k else "", BASE + k * H)
    fresh = [sample_message(i, "fresh") for i in range(2)]
    for k, body in enumerate(fresh):
        write_local(src, lf(body), "", BASE + 10 * H + k)
    work = [sample_message(0, "fresh-work")]
    write_local(src / ".Work", lf(work[0]), "S", BASE)
    snap = tree_snapshot(src)
    migrate(cl, acct, "--maildir", src)
    after = {m.mid: m for m in acct.messages()}
    assert len(after) == 5, sorted(after)
    for m in kept:
        assert after[m.mid].uid == m.uid and after[m.mid].body == m.body, \
            f"{m.mid} was uploaded again"
    for body in fresh:
        assert [x.body for x in after.values()].count(body) == 1
    assert [m.body for m in acct.messages("Work")] == work
    assert tree_snapshot(src) == snap


@pytest.mark.skipif(not command_exists("fetch"), reason="`kasten fetch` is not built yet")
def test_the_maildir_a_pop3_keep_fetch_wrote(mailserver, fast_tmp):
    """The move the issue is about: `kasten fetch --keep` over POP3 filled a Maildir
    (its state file inside it), the user read one message there and wrote one more;
    migrate into the same account leaves every message once: the kept copies are not
    uploaded again, the new local one is, the one fetch had not seen stays."""
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "Maildir"
    for i in range(3):
        acct.put(sample_message(i, "pk", size=3000 * i))
    cl.run("fetch", *endpoint(acct, "pop3"), "--protocol", "pop3", "--keep",
           "--maildir", md)
    kept = acct.messages()
    acct.put(sample_message(3, "pk-unseen"))
    first = sorted((md / "new").iterdir())[0]  # read in a mail program: cur/, S
    first.rename(md / "cur" / (first.name + ":2,S"))
    mine = lf(sample_message(4, "pk-local"))
    write_local(md, mine, "", BASE)
    migrate(cl, acct, "--maildir", md)
    after = acct.messages()
    assert len(after) == 5, [m.mid for m in after]
    assert len({m.mid for m in after}) == 5
    by_mid = {m.mid: m for m in after}
    for m in kept:
        assert by_mid[m.mid].uid == m.uid, f"{m.mid} was uploaded again"
    assert [m.body for m in after].count(crlf(mine)) == 1


# ---- mbox ----

def mbox_date(epoch):
    return time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(epoch))


def test_mbox_with_mailbox(mailserver, fast_tmp):
    """An mbox file (mboxrd: ">From " unquoted once) into --mailbox, a new nested folder
    with a space in its name: the From_ line's date as INTERNALDATE, Status R -> \\Seen,
    X-Status A F T -> \\Answered \\Flagged \\Draft, both fields left out of the message
    (as mutt writes them); a second run uploads nothing."""
    acct, cl = mailserver, Client(fast_tmp)
    cases = [  # (status fields, flags expected)
        (b"", set()),
        (b"Status: RO\n", {"\\Seen"}),
        (b"Status: O\nX-Status: AF\n", {"\\Answered", "\\Flagged"}),
        (b"Status: RO\nX-Status: T\n", {"\\Seen", "\\Draft"}),
    ]
    mbox, want = b"", {}
    for k, (status, flags) in enumerate(cases):
        msg = lf(sample_message(k, "mbox", size=(0, 3000)[k % 2]))
        head, body = msg.split(b"\n\n", 1)
        body += b"From the start of a line\n>From quoted once\n"
        stored = head + b"\n\n" + body
        quoted = head + b"\n" + status + b"\n" + \
            re.sub(rb"^(>*From )", rb">\1", body, flags=re.M)
        when = BASE + k * 86400 + 17
        mbox += f"From sender@example.test {mbox_date(when)}\n".encode() + quoted + b"\n"
        mid = re.search(rb"Message-ID: (<[^>]+>)", msg).group(1).decode()
        want[mid] = (crlf(stored), flags, when)
    src = fast_tmp / "old.mbox"
    src.write_bytes(mbox)
    before = (src.read_bytes(), src.stat().st_mtime_ns)
    folder = "Imported/2020 mail"
    migrate(cl, acct, "--mbox", src, "--mailbox", folder)
    got = acct.state([folder])[folder]
    assert sorted(got) == sorted(want)
    for mid, (body, flags, when) in want.items():
        assert got[mid].body == body, f"{mid}\n{got[mid].body!r}\n{body!r}"
        assert got[mid].flags == flags, (mid, got[mid].flags)
        assert got[mid].internaldate == when, (mid, got[mid].internaldate, when)
    uids = uid_map(acct, [folder])
    migrate(cl, acct, "--mbox", src, "--mailbox", folder)
    assert uid_map(acct, [folder]) == uids
    assert (src.read_bytes(), src.stat().st_mtime_ns) == before


# ---- kill -9 ----

KILL_MESSAGES = 1000


def test_kill9_midrun_then_rerun(mailserver, fast_tmp):
    """SIGKILL while a store of 1,000 messages is being uploaded, then a rerun: each
    message exactly once on the server; the source unchanged."""
    acct, cl = mailserver, Client(fast_tmp)
    src = fast_tmp / "Maildir"
    bodies = {}
    for i in range(KILL_MESSAGES):
        body = lf(sample_message(i, "mk9"))
        write_local(src, body, "S" if i % 3 else "", BASE + i)
        bodies[re.search(rb"Message-ID: (<[^>]+>)", body).group(1).decode()] = body
    snap = tree_snapshot(src)
    proc = cl.start("migrate", *endpoint(acct, "imap"), "--maildir", src)
    with acct.imap() as c:
        def uploaded():
            _, un = c.cmd("STATUS INBOX (MESSAGES)")
            n = int(re.search(rb"MESSAGES (\d+)", un[-1]).group(1))
            return n >= 200 or proc.poll() is not None
        wait_until(uploaded, "200 messages uploaded", timeout=120)
    assert proc.poll() is None, f"migrate ended before the kill (exit {proc.returncode})"
    kill9(proc)
    migrate(cl, acct, "--maildir", src)
    got = acct.state(["INBOX"])["INBOX"]
    assert sorted(got) == sorted(bodies), \
        f"{len(got)} on the server; missing {sorted(set(bodies) - set(got))[:5]}"
    for mid, body in bodies.items():
        assert got[mid].body == crlf(body)
    assert tree_snapshot(src) == snap


# ---- a cut connection ----

def test_cut_connection_sweep(mailserver, fast_tmp):
    """The connection cut at each point of a sweep (client_test.cut_points: right after
    each APPEND and right before its answer, inside the 20,000-byte one, all through
    the server's bytes), a rerun after each: every round adds two messages to the
    source, and after each rerun the server holds every message of the source once."""
    acct, cl = mailserver, Client(fast_tmp)
    src = fast_tmp / "Maildir"
    want = {}

    def round_(tag):
        for i, size in enumerate((300, 20_000)):
            body = lf(sample_message(i, tag, size=size))
            write_local(src, body, "S" if i else "", BASE + len(want))
            want[re.search(rb"Message-ID: (<[^>]+>)", body).group(1).decode()] = body

    round_("mcut-measure")
    with Proxy((acct.host, acct.ports["imap"]), record=True) as p:
        migrate(cl, acct, "--maildir", src, proxy=p)
    assert len(p.streams) == 1, "migrate made more than one connection"
    for k, cut in enumerate(cut_points(p.streams[0])):
        round_(f"mcut-{k:02d}")
        with Proxy((acct.host, acct.ports["imap"]), cut=cut) as p:
            migrate(cl, acct, "--maildir", src, proxy=p, expect=None)
        assert p.cut_done, f"the run ended before the cut at {cut}"
        migrate(cl, acct, "--maildir", src)
        got = acct.state(["INBOX"])["INBOX"]
        assert sorted(got) == sorted(want), f"cut at {cut}"
        for mid, body in want.items():
            assert got[mid].body == crlf(body)


# ---- a real client reads what migrate uploaded ----

def test_mbsync_sees_what_migrate_uploaded(mailserver, fast_tmp, tmp_path):
    """mbsync (as tests/clients/test_imap_mbsync.py runs it) copies the migrated account
    into a Maildir tree of its own: the same folders, messages (bytes with LF, apart from
    the X-TUID field mbsync adds) and flags as the source."""
    from test_imap_mbsync import Mbsync, without_tuid
    from imap_clients import maildir_state
    acct, cl = mailserver, Client(fast_tmp)
    src = fast_tmp / "Maildir"
    made = make_tree(src, "maildir++", source_spec("mig-mbsync"))
    migrate(cl, acct, "--maildir", src)

    class Target:  # what Mbsync reads of a target
        port, user, password = acct.ports["imap"], acct.user, acct.password

    mb = Mbsync(Target, tmp_path / "mbsync")
    mb.run()
    local = maildir_state(mb.mail)
    for folder, files in made.items():
        got = local[folder]
        assert len(got) == len(files), (folder, sorted(got))
        for path, letters, body, mtime in files:
            mid = re.search(rb"Message-ID: (<[^>]+>)", body).group(1).decode()
            flags, mbody = got[mid]
            assert without_tuid(mbody) == body, (folder, mid)
            assert flags == letters_to_flags(letters), (folder, mid, flags, letters)
    for folder, msgs in local.items():
        assert folder in made or not msgs, f"{folder} has messages: {sorted(msgs)}"


def test_wrong_password_changes_nothing(mailserver, fast_tmp):
    acct, cl = mailserver, Client(fast_tmp)
    src = fast_tmp / "Maildir"
    make_tree(src, "maildir++", {"INBOX": [(sample_message(0, "mig-pw"), "", BASE)]})
    snap = tree_snapshot(src)
    acct.password_file.write_text("wrong\n")
    r = migrate(cl, acct, "--maildir", src, expect=1)
    line = r.stderr.strip()
    assert line.startswith("kasten migrate: ") and "\n" not in line, r.stderr
    assert tree_snapshot(src) == snap
    acct.password_file.write_text(acct.password + "\n")
    assert acct.count() == 0
