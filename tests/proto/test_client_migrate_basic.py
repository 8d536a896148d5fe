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


class CutBeforeAppendOK(Proxy):
    """Forwards everything until the server's tagged answer to the first APPEND: that
    line never reaches the client, and both sides are closed there (the tag is read
    from the client's APPEND, which always goes out before its answer)."""

    def __init__(self, upstream):
        super().__init__(upstream, record=True)
        self.tag = None

    def _forward(self, conn, direction, data):
        if direction == "s2c" and self.tag is not None:
            seen = bytes(conn.stream["s2c"][-2:])
            i = (seen + data).find(b"\n" + self.tag + b" ")
            if i >= 0:
                super()._forward(conn, direction, data[:max(i + 1 - len(seen), 0)])
                self.cut_done = True
                return False
        ok = super()._forward(conn, direction, data)
        if direction == "c2s" and self.tag is None:
            m = re.search(rb"(?:^|\n)(k\d+) APPEND ", bytes(conn.stream["c2s"]))
            if m:
                self.tag = m.group(1)
        return ok


def test_lost_append_ok_then_rerun(mailserver, tmp_path):
    """The connection drops after the server took the APPEND but before its tagged OK
    reached the client: exit 1, the rows stay 'pending'; the rerun finds the messages
    on the server and uploads none of them again."""
    acct, cl = mailserver, Client(tmp_path)
    msgs = [sample_message(i, "lost") for i in range(3)]
    src = tmp_path / "src"
    for i, m in enumerate(msgs):
        write_local(src, lf(m), "", BASE + i)
    proxy = CutBeforeAppendOK(("127.0.0.1", acct.ports["imap"]))
    try:
        r = migrate(cl, acct, "--maildir", src, proxy=proxy, expect=1)
        assert proxy.cut_done
    finally:
        proxy.close()
    assert r.stderr.startswith("kasten migrate: "), r.stderr
    assert bodies(acct) == sorted(msgs)  # the server did take them
    r = migrate(cl, acct, "--maildir", src)
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


# ---- a server with nothing but IMAP4rev1 ----

class MinimalIMAP:
    """A scripted IMAP4rev1 server on loopback with none of the extensions migrate uses
    when offered (no AUTH=PLAIN, LITERAL+, MULTIAPPEND, UIDPLUS): LOGIN, synchronizing
    literals (RFC 9051 4.3: "+" before the octets), one APPEND per message, no
    APPENDUID. Keeps what it was sent."""

    def __init__(self, user, password):
        import socket
        import threading
        self.user, self.password = user, password
        self.folders = {"INBOX": []}
        self.commands = []
        self.logins = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self._session(conn.makefile("rwb", buffering=0))

    def _command(self, f):
        """One command with its literals inlined; None at the end."""
        out = b""
        while True:
            line = f.readline()
            if not line:
                return None
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if not m:
                return out + line
            f.write(b"+ go ahead\r\n")
            n = int(m.group(1))
            data = b""
            while len(data) < n:
                data += f.read(n - len(data))
            out += line + data

    def _session(self, f):
        f.write(b"* OK [CAPABILITY IMAP4rev1] minimal ready\r\n")
        selected = None
        while True:
            cmd = self._command(f)
            if cmd is None:
                return
            self.commands.append(cmd)
            tag, verb = cmd.split(b" ", 2)[:2]
            verb = verb.upper().rstrip(b"\r\n")
            if verb == b"LOGIN":
                self.logins.append(cmd)
                ok = (self._astrings(cmd.split(b" ", 2)[2]) ==
                      [self.user.encode(), self.password.encode()])
                f.write(tag + (b" OK logged in\r\n" if ok else b" NO [AUTHENTICATIONFAILED] no\r\n"))
            elif verb == b"CAPABILITY":
                f.write(b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n")
            elif verb == b"LIST":
                if cmd.rstrip().endswith(b'""'):
                    f.write(b'* LIST (\\Noselect) "/" ""\r\n')
                else:
                    for name in self.folders:
                        f.write(b'* LIST () "/" "%s"\r\n' % name.encode())
                f.write(tag + b" OK done\r\n")
            elif verb == b"CREATE":
                self.folders[self._astrings(cmd.split(b" ", 2)[2])[0].decode()] = []
                f.write(tag + b" OK created\r\n")
            elif verb in (b"EXAMINE", b"SELECT"):
                selected = self._astrings(cmd.split(b" ", 2)[2])[0].decode()
                f.write(b"* %d EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n%s OK [READ-ONLY] done\r\n"
                        % (len(self.folders[selected]), tag))
            elif verb == b"UID" and b" FETCH " in cmd:
                self._fetch(f, tag, cmd, self.folders[selected])
            elif verb == b"APPEND":
                name = self._astrings(cmd.split(b" ", 2)[2])[0].decode()
                self.folders[name].append(re.search(rb"\{\d+\}\r\n(.*)\r\n$", cmd, re.S).group(1))
                f.write(tag + b" OK appended\r\n")
            elif verb == b"LOGOUT":
                f.write(b"* BYE bye\r\n" + tag + b" OK done\r\n")
                return
            else:
                f.write(tag + b" BAD unknown\r\n")

    @staticmethod
    def _astrings(s):
        """The quoted strings, literals and atoms of s."""
        out, i = [], 0
        while i < len(s):
            c = s[i:i + 1]
            if c == b'"':
                j, v = i + 1, b""
                while s[j:j + 1] != b'"':
                    if s[j:j + 1] == b"\\":
                        j += 1
                    v += s[j:j + 1]
                    j += 1
                out.append(v)
                i = j + 1
            elif c == b"{":
                m = re.match(rb"\{(\d+)\}\r\n", s[i:])
                n = int(m.group(1))
                out.append(s[i + m.end():i + m.end() + n])
                i += m.end() + n
            elif c in (b" ", b"\r", b"\n", b"(", b")"):
                i += 1
            else:
                m = re.match(rb"[^ \r\n()]+", s[i:])
                out.append(m.group(0))
                i += m.end()
        return out

    @staticmethod
    def _fetch(f, tag, cmd, msgs):
        body = b"BODY.PEEK[]" in cmd and b"HEADER.FIELDS" not in cmd
        uids = None if b" 1:* " in cmd else {int(re.search(rb"FETCH (\d+) ", cmd).group(1))}
        for i, m in enumerate(msgs, 1):
            if uids is not None and i not in uids:
                continue
            if body:
                f.write(b"* %d FETCH (UID %d BODY[] {%d}\r\n%s)\r\n" % (i, i, len(m), m))
            else:
                mid = re.search(rb"^Message-ID:[^\r\n]*\r\n", m, re.M | re.I)
                h = (mid.group(0) if mid else b"") + b"\r\n"
                f.write(b"* %d FETCH (UID %d RFC822.SIZE %d BODY[HEADER.FIELDS (MESSAGE-ID)] "
                        b"{%d}\r\n%s)\r\n" % (i, i, len(m), len(h), h))
        f.write(tag + b" OK fetched\r\n")

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("password", ['pa"ss\\word', "p\u00e4ssword"])
def test_a_server_with_only_imap4rev1(tmp_path, password):
    """LOGIN with a quoted string (quote and backslash escaped) or, for 8-bit, a
    synchronizing literal; one APPEND per message with a synchronizing literal; no
    APPENDUID: the second run still uploads nothing."""
    srv = MinimalIMAP("mini", password)
    try:
        cl = Client(tmp_path)
        pw = tmp_path / "pw"
        pw.write_text(password + "\n")
        pw.chmod(0o600)
        msgs = [sample_message(i, "mini") for i in range(3)]
        src = tmp_path / "src"
        for i, m in enumerate(msgs):
            write_local(src, lf(m), "S", BASE + i)
        args = ["migrate", "--host", "127.0.0.1", "--port", srv.port, "--plain",
                "--user", "mini", "--password-file", pw, "--maildir", src]
        r = cl.run(*args)
        assert folder_line(r, "INBOX") == (3, 0)
        assert sorted(srv.folders["INBOX"]) == sorted(msgs)
        appends = [c for c in srv.commands if re.match(rb"k\d+ APPEND ", c)]
        assert len(appends) == 3 and all(b"+}" not in c for c in appends)
        if password.isascii():
            assert srv.logins[0].startswith(b'k1 LOGIN "mini" "pa\\"ss\\\\word"'), srv.logins
        else:
            assert re.match(rb'k\d+ LOGIN "mini" \{%d\}\r\n' % len(password.encode()),
                            srv.logins[0]), srv.logins
        r = cl.run(*args)
        assert folder_line(r, "INBOX") == (0, 3)
        assert len(srv.folders["INBOX"]) == 3
    finally:
        srv.close()


def test_refused_login_leaves_nothing_locally(mailserver, tmp_path):
    """Issue 8: a failed login changes nothing locally, not even the journal's home."""
    acct, cl = mailserver, Client(tmp_path)
    src = tmp_path / "src"
    write_local(src, lf(sample_message(0, "refused")), "S", BASE)
    pw = tmp_path / "wrong"
    pw.write_text("not-the-password\n")
    pw.chmod(0o600)
    args = [a if a != str(acct.password_file) else str(pw) for a in endpoint(acct, "imap")]
    r = cl.run("migrate", *args, "--maildir", src, expect=1)
    assert r.stderr.startswith("kasten migrate: ") and r.stderr.count("\n") == 1, r.stderr
    assert not (cl.home / ".local/state/kasten").exists()
    assert acct.count() == 0
