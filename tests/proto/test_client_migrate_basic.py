"""`kasten migrate` (issue 8, item 3): the de-duplication and journal rules of
src/client/client_migrate.h beside the end-to-end tests of test_client_migrate.py, each
against kasten's server and the private Dovecot (client_test.mailserver).

- Messages without a Message-ID are candidates by size and matched by content: a keep
  copy is not uploaded again, a different message of the same size is.
- Local duplicates of one message go up once per folder.
- A journal row left 'pending' is looked for on the server before anything is sent
  again: rows set back to 'pending' by hand, and an APPEND whose tagged OK was lost
  (RFC 9051 6.3.12: the server has the messages, the client never heard so).
"""

import re
import sqlite3

import pytest

from client_test import (CLIENT_LISTEN, Client, command_exists, dovecot_pool,  # noqa: F401
                         endpoint, mailserver, sample_message, write_local)
from client_proxy import Proxy
from imap_clients import lf

KASTEN_LISTEN = CLIENT_LISTEN
pytestmark = pytest.mark.skipif(not command_exists("migrate"),
                                reason="`kasten migrate` is not in this build yet")

BASE = 1_600_000_000


def migrate(cl, acct, *args, expect=0, proxy=None):
    return cl.run("migrate", *endpoint(acct, "imap", proxy=proxy), *args, expect=expect)


def folder_line(r, folder):
    m = re.search(rf"^{re.escape(folder)}: (\d+) uploaded, (\d+) already on the server$",
                  r.stdout, re.M)
    assert m, r.stdout
    return int(m.group(1)), int(m.group(2))


def no_mid(tag, fill):
    """A message without Message-ID; every fill gives the same size."""
    return (f"Subject: {tag}\r\nFrom: a@example.test\r\n\r\n".encode() +
            fill * 300 + b"\r\n")


def bodies(acct, folder="INBOX"):
    return sorted(m.body for m in acct.messages(folder))


def test_without_message_id_matched_by_content(mailserver, tmp_path):
    acct, cl = mailserver, Client(tmp_path)
    a, b, c = no_mid("same", b"a"), no_mid("same", b"b"), no_mid("same", b"c")
    acct.put(a, flags="S")  # the keep copy
    acct.put(b, flags="S")  # same size, other content
    src = tmp_path / "src"
    write_local(src, lf(a), "S", BASE)
    write_local(src, lf(c), "S", BASE + 1)
    r = migrate(cl, acct, "--maildir", src)
    assert folder_line(r, "INBOX") == (1, 1)
    assert bodies(acct) == sorted([a, b, c])


def test_local_duplicates_go_up_once(mailserver, tmp_path):
    acct, cl = mailserver, Client(tmp_path)
    m0, m1 = sample_message(0, "dup"), sample_message(1, "dup")
    src = tmp_path / "src"
    write_local(src, lf(m0), "S", BASE)
    write_local(src, lf(m0), "S", BASE + 1)  # the same message twice, as POP3 tools do
    write_local(src, lf(m1), "", BASE + 2)
    write_local(src / ".Work", lf(m0), "", BASE + 3)  # and once in another folder
    r = migrate(cl, acct, "--maildir", src)
    assert folder_line(r, "INBOX") == (2, 1)
    assert folder_line(r, "Work") == (1, 0)
    assert bodies(acct) == sorted([m0, m1])
    assert bodies(acct, "Work") == [m0]


def test_pending_rows_are_looked_for_on_the_server(mailserver, tmp_path):
    acct, cl = mailserver, Client(tmp_path)
    msgs = [sample_message(i, "pend") for i in range(5)]
    src = tmp_path / "src"
    for i, m in enumerate(msgs):
        write_local(src, lf(m), "S", BASE + i)
    assert folder_line(migrate(cl, acct, "--maildir", src), "INBOX") == (5, 0)
    # the journal: $XDG_STATE_HOME/kasten, named after the account and the source
    dbs = list((cl.home / ".local/state/kasten").glob("migrate-*.db"))
    assert len(dbs) == 1 and acct.user in dbs[0].name, dbs
    with sqlite3.connect(dbs[0]) as db:
        n = db.execute("UPDATE migrate_msg SET state = 'pending'").rowcount
    assert n == 5
    r = migrate(cl, acct, "--maildir", src)
    assert folder_line(r, "INBOX") == (0, 5)
    assert bodies(acct) == sorted(msgs)


def test_lost_append_ok_then_rerun(mailserver, tmp_path):
    """The connection drops after the server took the APPEND but before its tagged OK
    reached the client: exit 1, the rows stay 'pending'; the rerun finds the messages
    on the server and uploads none of them again."""
    acct, cl = mailserver, Client(tmp_path)
    msgs = [sample_message(i, "lost") for i in range(3)]
    src = tmp_path / "src"
    for i, m in enumerate(msgs):
        write_local(src, lf(m), "", BASE + i)
    # a first run through a recording proxy finds where the APPEND's OK starts
    probe = acct.another()
    rec = Proxy(("127.0.0.1", probe.ports["imap"]), record=True)
    try:
        migrate(cl, probe, "--maildir", src, proxy=rec)
        c2s = bytes(rec.streams[0]["c2s"])
        s2c = bytes(rec.streams[0]["s2c"])
    finally:
        rec.close()
    tag = re.search(rb"\r\n(k\d+) APPEND ", c2s).group(1)
    cut = re.search(rb"\r\n" + tag + rb" OK", s2c).start() + 2
    cl2 = Client(tmp_path / "second")
    proxy = Proxy(("127.0.0.1", acct.ports["imap"]), cut=("s2c", cut))
    try:
        r = migrate(cl2, acct, "--maildir", src, proxy=proxy, expect=1)
    finally:
        proxy.close()
    assert r.stderr.startswith("kasten migrate: "), r.stderr
    assert bodies(acct) == sorted(msgs)  # the server did take them
    r = migrate(cl2, acct, "--maildir", src)
    assert folder_line(r, "INBOX") == (0, 3)
    assert bodies(acct) == sorted(msgs)


def test_append_never_arrived_then_rerun(mailserver, tmp_path):
    """The connection drops before the server sees the APPEND: the rows written before
    it are 'pending', not 'done', so the rerun uploads every message (once)."""
    acct, cl = mailserver, Client(tmp_path)
    msgs = [sample_message(i, "never") for i in range(3)]
    src = tmp_path / "src"
    for i, m in enumerate(msgs):
        write_local(src, lf(m), "S", BASE + i)
    proxy = Proxy(("127.0.0.1", acct.ports["imap"]), drop=rb"^k\d+ APPEND ")
    try:
        r = migrate(cl, acct, "--maildir", src, proxy=proxy, expect=1)
        assert proxy.dropped, "no APPEND was sent"
    finally:
        proxy.close()
    assert r.stderr.startswith("kasten migrate: "), r.stderr
    assert acct.count() == 0
    r = migrate(cl, acct, "--maildir", src)
    assert folder_line(r, "INBOX") == (3, 0)
    assert bodies(acct) == sorted(msgs)
