"""`kasten sync` passes that find nothing to do (docs/client.md, "Passes that find
nothing"), against kasten's server and a private Dovecot (client_test): such a pass
SELECTs no folder whose LIST-STATUS (RFC 5819) UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ
(RFC 7162 3.1.2) and MESSAGES are those of its last complete pass, and does not read a
local folder whose new/ and cur/ are as a listing found them that began 2 seconds or
more after their last change. None of this may hide a change: each case makes one
between two passes, after a pass that skipped everything, and the next `--once` must
carry it over:
- a flag changed by another session on the server, in every folder;
- a message appended, and one expunged, by another session;
- a file moved between two local folders by another mail program;
- a file renamed (a flag letter) right after a pass, and one renamed within what a
  coarse clock would stamp as the same tick (the directory's mtime set back to what it
  was, as a file system of whole seconds leaves it): the pass before must not have
  trusted a listing of directories that had just changed.
The local side is read while the server checks the password; a login that fails must
still leave an existing tree and its state as they were.
Directory times are set with os.utime where a case needs old or just-changed
directories, so that nothing waits for the clock.
"""

import os
import re
import time

import pytest

from client_proxy import Proxy
from client_test import (CLIENT_LISTEN, Client, assert_in_sync,  # noqa: F401
                         command_exists, dovecot_pool, endpoint, fast_tmp, local_state,
                         mailserver, ok, one_line, quote, sample_message, tree_snapshot)

KASTEN_LISTEN = CLIENT_LISTEN
pytestmark = pytest.mark.skipif(not command_exists("sync"),
                                reason="`kasten sync` is not in this build yet")

FOLDERS = ("INBOX", "Work", "Lists/Dev")
PER_FOLDER = 3
QUIET = 2  # LIMIT_CLIENT_SYNC_DIR_QUIET: seconds


def sync(cl, acct, md, expect=0):
    """One `--once` pass through a recording proxy: (result, the client's bytes)."""
    with Proxy((acct.host, acct.ports["imap"]), record=True) as p:
        r = cl.run("sync", *endpoint(acct, "imap", proxy=p), "--maildir", md, "--once",
                   expect=expect)
    return r, b"".join(s["c2s"] for s in p.streams)


def selected(c2s):
    """The mailboxes the client SELECTed or EXAMINEd, in order."""
    return [m.group(2).decode().strip('"') for m in
            re.finditer(rb"(?m)^\S+ (SELECT|EXAMINE) (\"[^\"]*\"|\S+)", c2s)]


def folder_dir(md, folder):
    return md if folder == "INBOX" else md / ("." + folder.replace("/", "."))


def message_dirs(md):
    return [folder_dir(md, f) / d for f in FOLDERS for d in ("new", "cur")]


def set_mtime(path, ns):
    os.utime(path, ns=(os.stat(path).st_atime_ns, ns))


def age_dirs(md, seconds=10 * QUIET):
    """The message directories as if nothing had changed in them for a while."""
    old = time.time_ns() - seconds * 1_000_000_000
    for d in message_dirs(md):
        set_mtime(d, old)


def fill(acct):
    """PER_FOLDER messages in each folder, some with flags; {folder: [Message-ID]}."""
    mids = {}
    for f in FOLDERS:
        msgs = [sample_message(i, "nc-" + f.replace("/", "-")) for i in range(PER_FOLDER)]
        for i, m in enumerate(msgs):
            acct.put(m, folder=f, flags="S" if i % 2 else "")
        mids[f] = [re.search(rb"Message-ID: (<[^>]+>)", m).group(1).decode() for m in msgs]
    return mids


def skip_ready(cl, acct, md):
    """The first pass, then one that must find nothing: no SELECT at all (every folder's
    STATUS is as recorded, every local folder as its rows)."""
    sync(cl, acct, md)
    assert_in_sync(acct, md)
    r, c2s = sync(cl, acct, md)
    assert selected(c2s) == [], f"a pass without changes SELECTed {selected(c2s)}"
    assert b" FETCH " not in c2s, c2s
    assert b"RETURN (STATUS (" in c2s, "no LIST-STATUS"
    return r


def server_store(acct, folder, mid, op, flags):
    """Another session changes a message's flags (UID STORE)."""
    with acct.imap() as c:
        ok(c, f"SELECT {quote(folder)}")
        _, un = ok(c, f'UID SEARCH HEADER Message-ID "{mid}"')
        uid = [int(x) for line in un if line.startswith(b"* SEARCH")
               for x in line.split()[2:]]
        assert len(uid) == 1, (folder, mid, un)
        ok(c, f"UID STORE {uid[0]} {op} ({flags})")
        if "\\Deleted" in flags and op.startswith("+"):
            ok(c, f"UID EXPUNGE {uid[0]}")


def local_file(md, folder, mid):
    return local_state(md)[folder][mid][2]


def rename_letters(path, letters):
    """Another mail program changes a message's flags: a rename within cur/."""
    base = path.name.split(":2,", 1)[0]
    new = path.parent.parent / "cur" / f"{base}:2,{''.join(sorted(letters))}"
    path.rename(new)
    return new


def test_unchanged_folders_are_not_selected(mailserver, fast_tmp):
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    fill(acct)
    skip_ready(cl, acct, md)
    # and again, now that the local folders may be trusted without a listing
    age_dirs(md)
    sync(cl, acct, md)
    r, c2s = sync(cl, acct, md)
    assert selected(c2s) == [], selected(c2s)
    assert_in_sync(acct, md)


def test_trusted_folders_are_not_read(mailserver, fast_tmp):
    """Directories that kept the stamp a quiet listing recorded are not read again: their
    access time, set back after that pass, stays where it was (a directory read moves it
    forward under relatime, the default), while the pass still finds them in sync."""
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    probe = fast_tmp / "atime-probe"
    probe.mkdir()
    os.utime(probe, ns=(1_000_000_000, os.stat(probe).st_mtime_ns))
    os.listdir(probe)
    if os.stat(probe).st_atime_ns == 1_000_000_000:
        pytest.skip("this file system does not move a directory's atime on a read")
    fill(acct)
    sync(cl, acct, md)
    age_dirs(md)
    sync(cl, acct, md)  # lists every folder, long after their last change: recorded
    for d in message_dirs(md):
        os.utime(d, ns=(1_000_000_000, os.stat(d).st_mtime_ns))
    r, c2s = sync(cl, acct, md)
    assert selected(c2s) == []
    read = [str(d) for d in message_dirs(md) if os.stat(d).st_atime_ns != 1_000_000_000]
    assert read == [], f"read although their stamp was as recorded: {read}"
    assert_in_sync(acct, md)


def test_server_flags_changed_in_every_folder(mailserver, fast_tmp):
    """RFC 7162 3.1.2: a flag change moves the folder's HIGHESTMODSEQ, so its STATUS
    differs from the record and the folder is SELECTed, also when its local side is
    trusted without a listing."""
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    mids = fill(acct)
    skip_ready(cl, acct, md)
    age_dirs(md)
    sync(cl, acct, md)
    for f in FOLDERS:
        server_store(acct, f, mids[f][0], "+FLAGS", "\\Flagged")
        server_store(acct, f, mids[f][1], "-FLAGS", "\\Seen")
    r, c2s = sync(cl, acct, md)
    assert len(selected(c2s)) == len(FOLDERS), selected(c2s)
    server, local = assert_in_sync(acct, md)
    for f in FOLDERS:
        assert "F" in local[f][mids[f][0]][0], (f, local[f])
        assert "S" not in local[f][mids[f][1]][0], (f, local[f])


def test_message_appended_and_expunged_by_another_session(mailserver, fast_tmp):
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    mids = fill(acct)
    skip_ready(cl, acct, md)
    acct.put(sample_message(7, "nc-new"), folder="Work")
    server_store(acct, "Lists/Dev", mids["Lists/Dev"][2], "+FLAGS", "\\Deleted")
    r, _ = sync(cl, acct, md)
    server, local = assert_in_sync(acct, md)
    assert len(local["Work"]) == PER_FOLDER + 1
    assert mids["Lists/Dev"][2] not in local["Lists/Dev"]


def test_file_moved_between_local_folders(mailserver, fast_tmp):
    """A move changes both directories: neither is trusted, the file is found in the
    other folder (R7) and moved on the server."""
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    mids = fill(acct)
    skip_ready(cl, acct, md)
    age_dirs(md)
    sync(cl, acct, md)
    src = local_file(md, "INBOX", mids["INBOX"][0])
    src.rename(folder_dir(md, "Work") / src.parent.name / src.name)
    sync(cl, acct, md)
    server, _ = assert_in_sync(acct, md)
    assert mids["INBOX"][0] in server["Work"] and mids["INBOX"][0] not in server["INBOX"]


def test_local_rename_right_after_a_pass(mailserver, fast_tmp):
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    mids = fill(acct)
    skip_ready(cl, acct, md)
    rename_letters(local_file(md, "Work", mids["Work"][0]), "FS")
    sync(cl, acct, md)
    server, _ = assert_in_sync(acct, md)
    assert {"\\Flagged", "\\Seen"} <= server["Work"][mids["Work"][0]].flags


def test_local_rename_in_the_same_tick(mailserver, fast_tmp):
    """cur/ changed just now (its mtime is set ahead, as if the last change were still
    coming): the pass lists it, and must not record that listing as one to trust. A
    rename after it that leaves the mtime as it was (a clock of coarse ticks, or whole
    seconds, stamps a change in the same tick alike) is then still seen by the next
    pass. A build that trusts a recent mtime misses it."""
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    mids = fill(acct)
    skip_ready(cl, acct, md)
    cur = folder_dir(md, "Work") / "cur"
    stamp = time.time_ns() + 60 * 1_000_000_000
    set_mtime(cur, stamp)
    r, c2s = sync(cl, acct, md)
    assert selected(c2s) == [], "nothing changed, yet a folder was SELECTed"
    assert os.stat(cur).st_mtime_ns == stamp, "the pass changed cur/"
    rename_letters(local_file(md, "Work", mids["Work"][1]), "FS")
    set_mtime(cur, stamp)
    sync(cl, acct, md)
    server, _ = assert_in_sync(acct, md)
    assert "\\Flagged" in server["Work"][mids["Work"][1]].flags


def test_wrong_password_changes_an_existing_tree_in_nothing(mailserver, fast_tmp):
    """The tree is read while the server checks the password (the state opened, every
    folder listed): with a wrong one, not a byte or an mtime of the tree changes, the
    state's files included."""
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    fill(acct)
    sync(cl, acct, md)
    before = tree_snapshot(md)
    acct.password_file.write_text("wrong\n")
    r, _ = sync(cl, acct, md, expect=1)
    assert one_line(r.stderr).startswith("kasten sync: login failed"), r.stderr
    assert tree_snapshot(md) == before
