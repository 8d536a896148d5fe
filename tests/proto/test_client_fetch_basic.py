"""`kasten fetch` (issue 8): what tests/proto/test_client_fetch.py leaves to the engine
and the option layer: the client config file (--account NAME, command line over file),
usage and config errors, a POP3 server that cannot be used (no UIDL; data injected
before the STLS handshake, RFC 2595 3.1), and an IMAP UIDVALIDITY change after which
nothing already downloaded is downloaded again (RFC 9051 2.3.1.1: UIDs are only valid
with their UIDVALIDITY; the client re-matches by Message-ID and size)."""

import socket
import threading

import pytest

from client_test import (CLIENT_LISTEN, Client, assert_same_messages,  # noqa: F401
                         command_exists, dovecot_pool, downloaded, endpoint, error_line,
                         local_files, mailserver, sample_message)

KASTEN_LISTEN = CLIENT_LISTEN
pytestmark = pytest.mark.skipif(not command_exists("fetch"),
                                reason="`kasten fetch` is not in this build yet")

T0 = 1_900_000_000


def write_config(cl, text):
    conf = cl.home / ".config" / "kasten" / "client.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(text)
    return conf


def test_account_from_config_file(mailserver, tmp_path):
    """Every setting from [account NAME], the password from password_command; an option
    on the command line wins over the file (--keep-days 0 over keep = yes)."""
    acct, cl = mailserver, Client(tmp_path)
    for i in range(2):
        acct.put(sample_message(i, "conf"))
    before = acct.messages()
    md = tmp_path / "mail"
    write_config(cl, f"""
[account other]
host = 192.0.2.1

[account work]
host = {acct.host}
port = {acct.ports['pop3']}
tls = plain
user = {acct.user}
password_command = cat '{acct.password_file}'
maildir = {md}
protocol = pop3
keep = yes
""")
    r = cl.run("fetch", "--account", "work", now=T0)
    assert downloaded(r.stdout) == 2
    assert acct.count() == 2, "keep = yes from the file was not applied"
    assert_same_messages(md, before)
    r = cl.run("fetch", "--account", "work", "--keep-days", "0", now=T0)
    assert downloaded(r.stdout) == 0
    assert acct.count() == 0, "--keep-days 0 on the command line did not win"
    assert_same_messages(md, before)


@pytest.mark.parametrize("body,what", [
    ("[account work]\nhost = h\nuser = u\npassword_file = /x\nhots = typo\n", "hots"),
    ("[account work]\nhost = h\nuser = u\npassword_file = /x\ntls = maybe\n", "maybe"),
    ("[account work]\nhost = h\nuser = u\npassword_file = /x\nkeep_days = -1\n", "-1"),
    ("[account play]\nhost = h\n", "account work"),
])
def test_config_errors(tmp_path, body, what):
    """A bad config file is one error line naming what is wrong, exit 1; nothing made."""
    cl = Client(tmp_path)
    write_config(cl, body)
    md = tmp_path / "mail"
    line = error_line(cl.run("fetch", "--account", "work", "--maildir", md, expect=1),
                      "fetch")
    assert what in line, line
    assert not md.exists()


@pytest.mark.parametrize("args", [
    ["--host", "h", "--user", "u", "--password-file", "/x"],                 # no --maildir
    ["--host", "h", "--user", "u", "--password-file", "/x", "--maildir", "m", "--keep",
     "--keep-days", "2"],
    ["--host", "h", "--user", "u", "--password-file", "/x", "--maildir", "m",
     "--keep-days", "36501"],
    ["--host", "h", "--user", "u", "--password-file", "/x", "--maildir", "m",
     "--keep-days", "-1"],
    ["--host", "h", "--user", "u", "--password-file", "/x", "--maildir", "m",
     "--protocol", "smtp"],
    ["--host", "h", "--user", "u", "--password-file", "/x", "--maildir", "m", "--tls",
     "--plain"],
    ["--host", "h", "--user", "u", "--password-file", "/x", "--maildir", "m", "--mbox",
     "f"],                                                                   # not fetch's
    ["--user", "u", "--password-file", "/x", "--maildir", "m"],              # no --host
    ["--host", "h", "--user", "u", "--password-file", "/x", "--maildir"],    # no value
])
def test_usage_errors(tmp_path, args):
    cl = Client(tmp_path)
    r = cl.run("fetch", *args, expect=2)
    assert r.stderr.startswith("kasten fetch: "), r.stderr
    assert "usage: kasten fetch" in r.stderr
    assert r.stdout == ""


def test_password_command_fails(mailserver, tmp_path):
    acct, cl = mailserver, Client(tmp_path)
    write_config(cl, f"[account a]\nhost = {acct.host}\nport = {acct.ports['pop3']}\n"
                     f"tls = plain\nuser = {acct.user}\npassword_command = exit 3\n")
    md = tmp_path / "mail"
    line = error_line(cl.run("fetch", "--account", "a", "--maildir", md, expect=1), "fetch")
    assert "password_command" in line, line
    assert not md.exists()


# ---- a POP3 server that cannot be used ----

class FakePOP3:
    """A scripted POP3 server on loopback for one connection: answers[verb] is sent for
    each command line starting with verb; the greeting first."""

    def __init__(self, answers):
        self.answers = answers
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.seen = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        c, _ = self.sock.accept()
        with c:
            c.sendall(b"+OK fake POP3\r\n")
            buf = b""
            while True:
                data = c.recv(4096)
                if not data:
                    return
                buf += data
                while b"\r\n" in buf:
                    line, buf = buf.split(b"\r\n", 1)
                    verb = line.split(b" ")[0].upper().decode()
                    self.seen.append(verb)
                    c.sendall(self.answers.get(verb, b"-ERR no\r\n"))
                    if verb in ("QUIT", "STLS"):
                        return

    def close(self):
        self.sock.close()
        self.thread.join(timeout=10)


def fake_fetch(cl, fake, tmp_path, *security):
    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    pw.chmod(0o600)
    md = tmp_path / "mail"
    r = cl.run("fetch", "--host", "127.0.0.1", "--port", fake.port, *security, "--user", "u",
               "--password-file", pw, "--maildir", md, expect=1)
    return error_line(r, "fetch"), md


def test_pop3_without_uidl_is_refused(tmp_path):
    """RFC 1939 7: UIDL is optional; without it fetch cannot know what it already has,
    so it refuses (and creates nothing) rather than download everything again."""
    fake = FakePOP3({"CAPA": b"+OK\r\nUSER\r\n.\r\n", "USER": b"+OK\r\n",
                     "PASS": b"+OK 1 message\r\n", "UIDL": b"-ERR unknown command\r\n",
                     "QUIT": b"+OK\r\n"})
    try:
        line, md = fake_fetch(Client(tmp_path), fake, tmp_path, "--plain")
    finally:
        fake.close()
    assert "UIDL" in line, line
    assert not md.exists()
    assert "RETR" not in fake.seen and "DELE" not in fake.seen


def test_stls_injection_is_refused(tmp_path):
    """RFC 2595 3.1 / 4: bytes that arrive after +OK to STLS but before the handshake
    (here a forged answer sent in the same segment) may come from anyone on the path;
    the client must not read them as the server's, and stops."""
    fake = FakePOP3({"CAPA": b"+OK\r\nSTLS\r\nUIDL\r\nUSER\r\n.\r\n",
                     "STLS": b"+OK begin TLS\r\n+OK 0 messages\r\n"})
    try:
        line, md = fake_fetch(Client(tmp_path), fake, tmp_path, "--starttls")
    finally:
        fake.close()
    assert "before TLS" in line, line
    assert not md.exists()
    assert "USER" not in fake.seen and "PASS" not in fake.seen and "AUTH" not in fake.seen


def test_starttls_not_offered_is_refused(tmp_path):
    """--starttls against a server that does not list STLS: refused, the password never
    sent in clear."""
    fake = FakePOP3({"CAPA": b"+OK\r\nUIDL\r\nUSER\r\n.\r\n", "QUIT": b"+OK\r\n"})
    try:
        line, md = fake_fetch(Client(tmp_path), fake, tmp_path, "--starttls")
    finally:
        fake.close()
    assert "STLS" in line, line
    assert "PASS" not in fake.seen and "USER" not in fake.seen


# ---- IMAP: a UIDVALIDITY change ----

def renew_uidvalidity(acct):
    """Give INBOX a new UIDVALIDITY with the same messages under new UIDs, as a server
    does after losing its index (RFC 9051 2.3.1.1). kasten: RENAME INBOX moves the
    messages away (RFC 9051 6.3.6), COPY brings them back, and INBOX is recreated only
    if the server gives the new INBOX a new UIDVALIDITY. Dovecot: its index and UID list
    are replaced by a list with another UIDVALIDITY and no UIDs."""
    def uidvalidity():
        with acct.imap() as c:
            tag, un = c.cmd("STATUS INBOX (UIDVALIDITY)")
            assert b" OK" in tag, tag
            return un
    before = uidvalidity()
    if acct.kind == "dovecot":
        box = acct.server.maildir(acct.user)
        for f in box.iterdir():
            if f.name.startswith("dovecot.index") or f.name == "dovecot-uidlist":
                f.unlink()
        (box / "dovecot-uidlist").write_text("3 V4242 N1\n")
    else:
        with acct.imap() as c:
            for line in ("RENAME INBOX Renamed", "SELECT Renamed", "COPY 1:* INBOX"):
                tag, _ = c.cmd(line)
                assert b" OK" in tag, (line, tag)
    return before, uidvalidity()


def test_imap_uidvalidity_change_downloads_nothing_again(mailserver, tmp_path):
    acct, cl = mailserver, Client(tmp_path)
    md = tmp_path / "mail"
    for i in range(3):
        acct.put(sample_message(i, "uv", size=(0, 900, 4000)[i]))
    first = acct.messages()
    args = ["fetch", *endpoint(acct, "imap"), "--protocol", "imap", "--maildir", md]
    assert downloaded(cl.run(*args, "--keep").stdout) == 3
    old, new = renew_uidvalidity(acct)
    if old == new:
        pytest.skip(f"{acct.kind} kept UIDVALIDITY across RENAME INBOX: {old!r}")
    assert downloaded(cl.run(*args, "--keep").stdout) == 0
    assert len(local_files(md)) == 3
    acct.put(sample_message(9, "uv-late"))
    late = [m for m in acct.messages() if m.mid not in {x.mid for x in first}]
    assert len(late) == 1
    assert downloaded(cl.run(*args).stdout) == 1
    assert acct.count() == 0
    assert_same_messages(md, first + late)


def test_progress_line_only_on_a_terminal(mailserver, tmp_path):
    """On a terminal the download shows "\\r  N/M messages downloaded" (the last state
    always), cleared before the summary; a pipe gets the summary line alone (the other
    tests' one_line checks)."""
    import os
    import pty
    import subprocess
    from kasten_test import kasten_bin
    acct, cl = mailserver, Client(tmp_path)
    for i in range(3):
        acct.put(sample_message(i, "tty"))
    md = tmp_path / "mail"
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([kasten_bin(), "fetch", *endpoint(acct, "pop3"), "--maildir",
                              str(md), "--keep"], stdout=slave, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, env=cl.env)
        os.close(slave)
        slave = None
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        assert p.wait(timeout=120) == 0, p.stderr.read()
        p.stderr.close()
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)
    text = out.decode("utf-8", "replace")
    assert "\r  3/3 messages downloaded" in text, repr(text)
    assert "messages downloaded\r\x1b[Kkasten fetch: " in text, repr(text)
    assert text.endswith("kasten fetch: 3 messages downloaded, 0 deleted on the server, "
                         "3 kept there\r\n"), repr(text)


def test_one_run_per_maildir(mailserver, tmp_path):
    """While another run holds the journal DIR/kasten-client.db (flock), a second run
    stops with one line and downloads nothing: two runs would both take the same
    message for new and store it twice. The lock goes with its holder."""
    import fcntl
    acct, cl = mailserver, Client(tmp_path)
    md = tmp_path / "mail"
    for i in range(2):
        acct.put(sample_message(i, "lock"))
    before = acct.messages()
    args = ["fetch", *endpoint(acct, "imap"), "--protocol", "imap", "--maildir", md]
    assert downloaded(cl.run(*args, "--keep").stdout) == 2
    acct.put(sample_message(5, "lock-late"))
    everything = acct.messages()
    with open(md / "kasten-client.db", "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        line = error_line(cl.run(*args, expect=1), "fetch")
        assert "in use" in line, line
        assert len(local_files(md)) == 2
        assert acct.count() == 3
    assert downloaded(cl.run(*args).stdout) == 1
    assert acct.count() == 0
    assert len(local_files(md)) == 3
    assert_same_messages(md, everything)
    assert len(everything) == len(before) + 1
