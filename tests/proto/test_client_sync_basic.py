"""kasten sync --once, the basic exchanges (issue 8 item 2), against kasten's server and
Dovecot: first sync down, byte for byte with flags; new messages, flags and deletions
both ways; a second pass with nothing to do changes nothing; the safety rules of
docs/client.md S1 (an emptied local folder deletes nothing on the server). The larger
scenarios live in test_client_sync.py."""

import os
from pathlib import Path

from client_test import (CLIENT_LISTEN, Client, assert_same_messages, endpoint,
                         local_by_mid, message_id, mailserver, needs_command,  # noqa: F401
                         sample_message, dovecot_pool)  # noqa: F401

KASTEN_LISTEN = CLIENT_LISTEN

pytestmark = needs_command("sync")


def sync(client, acct, root, *extra, expect=0):
    return client.run("sync", *endpoint(acct), "--maildir", root, "--once", *extra,
                      expect=expect)


def flags_of(acct, folder="INBOX"):
    return {m.mid: m.flags for m in acct.messages(folder)}


def rename_flags(path, letters):
    """What a mail reader does to change flags: a rename into cur/ with the new info."""
    path = Path(path)
    base = path.name.split(":2,")[0]
    new = path.parent.parent / "cur" / f"{base}:2,{''.join(sorted(letters))}"
    os.rename(path, new)
    return new


def test_down_up_flags_deletions(mailserver, tmp_path):
    acct = mailserver
    client = Client(tmp_path)
    root = tmp_path / "Mail"
    m1, m2, m3 = (sample_message(i, "sync") for i in range(3))
    acct.put(m1)
    acct.put(m2, flags="S")
    acct.put(m3, folder="Work", flags="F")
    # 3.1.1 of the docs: everything on the server comes down, flags as info letters
    r = sync(client, acct, root)
    assert "3 downloaded" in r.stdout, r.stdout
    local = assert_same_messages(root, acct.messages("INBOX"))
    assert local[message_id(m2)][0] == "S"
    work = assert_same_messages(root / ".Work", acct.messages("Work"))
    assert work[message_id(m3)][0] == "F"

    # a second pass has nothing to do
    r = sync(client, acct, root)
    assert "0 downloaded, 0 uploaded, 0 flag changes here and 0 on the server" in r.stdout

    # local changes go up: \Seen on m1, m2 deleted, a new message in a new folder
    rename_flags(local[message_id(m1)][2], "S")
    os.unlink(local[message_id(m2)][2])
    new_box = root / ".Local"
    for sub in ("cur", "new", "tmp"):
        (new_box / sub).mkdir(parents=True)
    m4 = sample_message(4, "sync").replace(b"\r\n", b"\n")
    (new_box / "cur" / "1700000000.x1.host:2,RS").write_bytes(m4)
    os.utime(new_box / "cur" / "1700000000.x1.host:2,RS", (1700000000, 1700000000))
    sync(client, acct, root)
    inbox = {m.mid: m for m in acct.messages("INBOX")}
    assert set(inbox) == {message_id(m1)}
    assert "\\Seen" in inbox[message_id(m1)].flags
    up = acct.messages("Local")
    assert len(up) == 1 and up[0].body.replace(b"\r\n", b"\n") == m4
    assert up[0].flags == {"\\Seen", "\\Answered"}
    assert up[0].internaldate == 1700000000

    # server changes come down: a flag, a deletion, a new message
    with acct.imap() as c:
        c.cmd('SELECT "Work"')
        c.cmd("UID STORE 1:* +FLAGS (\\Answered)")
        c.cmd("SELECT INBOX")
        c.cmd("UID STORE 1:* +FLAGS (\\Deleted)")
        c.cmd("EXPUNGE")
    m5 = sample_message(5, "sync")
    acct.put(m5)
    r = sync(client, acct, root)
    assert_same_messages(root, acct.messages("INBOX"))
    work = local_by_mid(root / ".Work")
    assert work[message_id(m3)][0] == "FR"
    # and the upload was not downloaded back as a second copy
    assert len(local_by_mid(new_box)) == 1


def test_emptied_local_folder_deletes_nothing(mailserver, tmp_path):
    """S1: a local folder that lost all its files (or its directory) deletes nothing on
    the server; the messages come down again."""
    acct = mailserver
    client = Client(tmp_path)
    root = tmp_path / "Mail"
    msgs = [sample_message(i, "s1") for i in range(3)]
    for m in msgs:
        acct.put(m, folder="Keep")
    sync(client, acct, root)
    box = root / ".Keep"
    assert len(local_by_mid(box)) == 3
    for sub in ("cur", "new"):
        for p in (box / sub).iterdir():
            p.unlink()
    sync(client, acct, root)
    assert acct.count("Keep") == 3
    assert len(local_by_mid(box)) == 3
    # the directory itself gone: the same
    import shutil
    shutil.rmtree(box)
    sync(client, acct, root)
    assert acct.count("Keep") == 3
    assert_same_messages(box, acct.messages("Keep"))


def test_uidvalidity_change_with_local_edits(mailserver, tmp_path):
    """R9: the server's folder is made again (new UIDVALIDITY, same messages) while local
    edits wait: the flag change and the deletion made locally reach the new folder, the
    new local message is uploaded once, nothing is downloaded twice."""
    acct = mailserver
    client = Client(tmp_path)
    root = tmp_path / "Mail"
    msgs = [sample_message(i, "uv") for i in range(4)]
    for m in msgs:
        acct.put(m, folder="Box")
    sync(client, acct, root)
    box = root / ".Box"
    local = local_by_mid(box)
    before = acct.messages("Box")
    with acct.imap() as c:
        st = c.cmd('STATUS "Box" (UIDVALIDITY)')
    # the server rebuilds the folder
    with acct.imap() as c:
        c.cmd('DELETE "Box"')
    for m in before:
        acct.put(m.body, folder="Box",
                 flags="".join(sorted({"\\Seen": "S", "\\Flagged": "F"}.get(f, "")
                                      for f in m.flags)))
    with acct.imap() as c:
        st2 = c.cmd('STATUS "Box" (UIDVALIDITY)')
    assert st != st2
    # local edits meanwhile
    rename_flags(local[message_id(msgs[0])][2], "F")
    os.unlink(local[message_id(msgs[1])][2])
    m9 = sample_message(9, "uv").replace(b"\r\n", b"\n")
    (box / "new" / "1700000009.new.host").write_bytes(m9)
    r = sync(client, acct, root)
    assert "0 downloaded" in r.stdout, r.stdout
    server = {m.mid: m for m in acct.messages("Box")}
    assert set(server) == {message_id(msgs[0]), message_id(msgs[2]), message_id(msgs[3]),
                           message_id(m9)}
    assert "\\Flagged" in server[message_id(msgs[0])].flags
    assert_same_messages(box, acct.messages("Box"))
    r = sync(client, acct, root)
    assert "0 downloaded, 0 uploaded" in r.stdout, r.stdout


def test_local_move_is_a_move(mailserver, tmp_path):
    """R7: a file another program moved from INBOX to .Work is moved on the server, not
    deleted and uploaded, and not downloaded again."""
    acct = mailserver
    client = Client(tmp_path)
    root = tmp_path / "Mail"
    m1, m2 = sample_message(1, "mv"), sample_message(2, "mv")
    acct.put(m1)
    acct.put(m2, folder="Work")
    sync(client, acct, root)
    p = local_by_mid(root)[message_id(m1)][2]
    os.rename(p, root / ".Work" / "cur" / (p.name if ":2," in p.name else p.name + ":2,"))
    r = sync(client, acct, root)
    assert "1 moved" in r.stdout and "0 uploaded" in r.stdout, r.stdout
    assert acct.count("INBOX") == 0
    assert_same_messages(root / ".Work", acct.messages("Work"))
    r = sync(client, acct, root)
    assert "0 downloaded, 0 uploaded" in r.stdout, r.stdout
    assert_same_messages(root / ".Work", acct.messages("Work"))
    assert len(local_by_mid(root)) == 0


def test_local_rename_is_a_rename(mailserver, tmp_path):
    """R8: .Old renamed to .New locally becomes RENAME on the server."""
    acct = mailserver
    client = Client(tmp_path)
    root = tmp_path / "Mail"
    for i in range(3):
        acct.put(sample_message(i, "rn"), folder="Old")
    sync(client, acct, root)
    os.rename(root / ".Old", root / ".New")
    r = sync(client, acct, root)
    assert "1 renamed" in r.stdout, r.stdout
    folders = acct.folders()
    assert "New" in folders and "Old" not in folders
    assert_same_messages(root / ".New", acct.messages("New"))
    assert not (root / ".Old").exists()


def test_push_both_ways_within_seconds(mailserver, tmp_path):
    """Without --once: a message arriving on the server is on disk within 5 s (IDLE), a
    file a mail reader drops into the tree is on the server within 5 s; SIGTERM ends the
    run with exit 0 and its summary line."""
    import time
    from client_test import stop, wait_until
    acct = mailserver
    client = Client(tmp_path)
    root = tmp_path / "Mail"
    acct.put(sample_message(0, "push"))
    proc = client.start("sync", *endpoint(acct), "--maildir", root)
    try:
        wait_until(lambda: len(local_by_mid(root)) == 1 if (root / "cur").is_dir() else 0,
                   "first pass")
        m1 = sample_message(1, "push")
        t0 = time.monotonic()
        acct.put(m1)
        wait_until(lambda: message_id(m1) in local_by_mid(root), "pushed message", timeout=5)
        down = time.monotonic() - t0
        m2 = sample_message(2, "push").replace(b"\r\n", b"\n")
        tmp = root / "tmp" / "1700000002.local.host"
        tmp.write_bytes(m2)
        os.rename(tmp, root / "new" / "1700000002.local.host")
        t0 = time.monotonic()
        wait_until(lambda: message_id(m2) in {m.mid for m in acct.messages()},
                   "uploaded message", timeout=5)
        up = time.monotonic() - t0
    finally:
        rc, out, err = stop(proc)
    assert rc == 0, (rc, out, err)
    assert out.startswith("kasten sync: ") and out.count("\n") == 1, out
    assert down < 5 and up < 5


def test_kill9_mid_download_and_mid_upload(mailserver, tmp_path):
    """Crash safety (docs/client.md): SIGKILL while 400 messages come down, twice, and
    while 150 go up; each rerun ends with every message once on both sides. A proxy
    holds the data to a rate at which the whole transfer takes 12 s, so the kill, made
    when a share of the bytes has passed, finds the run in the middle of it however
    fast or busy the machine is (waiting for that state, not for a time)."""
    from client_proxy import Proxy
    from client_test import kill9, wait_until
    acct = mailserver
    client = Client(tmp_path)
    root = tmp_path / "Mail"
    down = [sample_message(i, "k9") for i in range(400)]
    acct.put_many(down)
    total = sum(len(m) for m in down)
    upstream = (acct.host, acct.ports["imap"])
    for share in (0.15, 0.55):  # both before the first batch's commit (256 of 400)
        with Proxy(upstream, rate=("s2c", total // 12)) as p:
            proc = client.start("sync", *endpoint(acct, proxy=p), "--maildir", root,
                                "--once")
            wait_until(lambda: p.bytes_s2c >= total * share or proc.poll() is not None,
                       f"{share:.0%} of the download", timeout=60)
            assert proc.poll() is None, "the run ended before it could be killed"
            kill9(proc)
    sync(client, acct, root)
    assert_same_messages(root, acct.messages("INBOX"))
    # up: 150 new local files in a new folder, killed in the second MULTIAPPEND batch
    box = root / ".Up"
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True)
    up = [sample_message(i, "k9up").replace(b"\r\n", b"\n") for i in range(150)]
    for i, m in enumerate(up):
        (box / "cur" / f"17000{i:05d}.up{i}.host:2,S").write_bytes(m)
    total = sum(len(m) for m in up)
    with Proxy(upstream, rate=("c2s", total // 12)) as p:
        proc = client.start("sync", *endpoint(acct, proxy=p), "--maildir", root, "--once")
        wait_until(lambda: p.bytes_c2s >= total // 2 or proc.poll() is not None,
                   "half of the upload", timeout=60)
        assert proc.poll() is None, "the run ended before it could be killed"
        kill9(proc)
    sync(client, acct, root)
    state = acct.state(["Up", "INBOX"])  # fails on a Message-ID twice
    assert len(state["Up"]) == 150 and len(state["INBOX"]) == 400
    assert_same_messages(box, acct.messages("Up"))
    r = sync(client, acct, root)
    assert "0 downloaded, 0 uploaded" in r.stdout, r.stdout


def test_headers_first(mailserver, tmp_path):
    """--headers-first: every new message first as its header alone, then whole under
    the same name (docs/client.md); the end is the same tree as without it, with the
    flags a reader gave a header-only file kept."""
    acct = mailserver
    client = Client(tmp_path)
    root = tmp_path / "Mail"
    for i in range(5):
        acct.put(sample_message(i, "hf", size=3000), folder="INBOX" if i % 2 else "Work",
                 flags="S" if i == 1 else "")
    r = sync(client, acct, root, "--headers-first")
    assert "5 downloaded" in r.stdout, r.stdout
    assert_same_messages(root, acct.messages("INBOX"))
    assert_same_messages(root / ".Work", acct.messages("Work"))
    r = sync(client, acct, root, "--headers-first")
    assert "0 downloaded, 0 uploaded" in r.stdout, r.stdout


def test_uidvalidity_change_without_message_id(mailserver, tmp_path):
    """R9 by content: a message without a Message-ID is matched again by its SHA-256
    after the folder is made again; it is neither downloaded nor uploaded twice."""
    acct = mailserver
    client = Client(tmp_path)
    root = tmp_path / "Mail"
    bare = (b"From: <a@example.test>\r\nSubject: no id\r\n\r\nbody without an id\r\n")
    other = sample_message(1, "bare")
    acct.put(bare, folder="Bare")
    acct.put(other, folder="Bare")
    sync(client, acct, root)
    with acct.imap() as c:
        c.cmd('DELETE "Bare"')
    acct.put(bare, folder="Bare", flags="S")
    acct.put(other, folder="Bare")
    r = sync(client, acct, root)
    assert "0 downloaded, 0 uploaded" in r.stdout, r.stdout
    files = [p for sub in ("cur", "new") for p in (root / ".Bare" / sub).iterdir()]
    assert sorted(p.read_bytes() for p in files) == sorted(
        m.body.replace(b"\r\n", b"\n") for m in acct.messages("Bare"))
    assert len(files) == 2 and acct.count("Bare") == 2


def test_folder_deleted_on_the_server(mailserver, tmp_path):
    """S3: a folder deleted on the server goes locally too, and stays gone on both
    sides; one holding a message the server never had is made again for it."""
    acct = mailserver
    client = Client(tmp_path)
    root = tmp_path / "Mail"
    acct.put(sample_message(1, "gone"), folder="Gone")
    acct.put(sample_message(2, "gone"), folder="Kept")
    sync(client, acct, root)
    new_local = sample_message(3, "gone").replace(b"\r\n", b"\n")
    (root / ".Kept" / "new" / "1700000003.kept.host").write_bytes(new_local)
    with acct.imap() as c:
        c.cmd('DELETE "Gone"')
        c.cmd('DELETE "Kept"')
    r = sync(client, acct, root)
    assert "deleted here and 0 on the server" in r.stdout, r.stdout
    assert not (root / ".Gone").exists()
    folders = acct.folders()
    assert "Gone" not in folders
    assert [m.mid for m in acct.messages("Kept")] == [message_id(new_local)]
    assert_same_messages(root / ".Kept", acct.messages("Kept"))
    sync(client, acct, root)
    assert "Gone" not in acct.folders() and not (root / ".Gone").exists()


def test_first_sync_into_a_filled_tree(mailserver, tmp_path):
    """A tree another program filled (here: ours without its state) is adopted: copies
    the server has are paired by Message-ID and size, not uploaded or downloaded again;
    what only one side has is copied."""
    acct = mailserver
    client = Client(tmp_path)
    root = tmp_path / "Mail"
    for i in range(3):
        acct.put(sample_message(i, "adopt"), folder="Box")
    sync(client, acct, root)
    (root / "kasten-sync.db").unlink()
    for extra in ("kasten-sync.db-wal", "kasten-sync.db-shm"):
        if (root / extra).exists():
            (root / extra).unlink()
    acct.put(sample_message(7, "adopt"), folder="Box")
    (root / ".Box" / "new" / "1700000008.adopt.host").write_bytes(
        sample_message(8, "adopt").replace(b"\r\n", b"\n"))
    r = sync(client, acct, root)
    assert "1 downloaded, 1 uploaded" in r.stdout, r.stdout
    assert_same_messages(root / ".Box", acct.messages("Box"))
    assert acct.count("Box") == 5


def test_second_run_on_one_tree_is_refused(mailserver, tmp_path):
    """One kasten sync per tree: a --once beside a staying-connected run stops with one
    line on stderr and changes nothing; once the first ends, it runs."""
    from client_test import error_line, stop, wait_until
    acct = mailserver
    client = Client(tmp_path)
    root = tmp_path / "Mail"
    acct.put(sample_message(1, "lock"))
    proc = client.start("sync", *endpoint(acct), "--maildir", root)
    try:
        wait_until(lambda: (root / "cur").is_dir() and len(local_by_mid(root)) == 1,
                   "first pass")
        r = sync(client, acct, root, expect=1)
        assert "another kasten sync is running" in error_line(r, "sync")
    finally:
        rc, out, err = stop(proc)
    assert rc == 0, err
    sync(client, acct, root)


def test_implicit_tls_and_certificate(mailserver, tmp_path):
    """--tls (RFC 8314) against a self-signed certificate: refused without --insecure,
    with one line and nothing created locally; with it, the sync runs."""
    from client_test import error_line
    acct = mailserver
    client = Client(tmp_path)
    root = tmp_path / "Mail"
    acct.put(sample_message(1, "tls"))
    args = ["sync", *endpoint(acct, "imaps", security="--tls"), "--maildir", root, "--once"]
    r = client.run(*args, expect=1)
    assert "certificate" in error_line(r, "sync")
    assert not root.exists()
    r = client.run(*args, "--insecure")
    assert "1 downloaded" in r.stdout, r.stdout
    assert_same_messages(root, acct.messages())
