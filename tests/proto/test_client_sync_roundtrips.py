"""The round trips of a `kasten sync --once` pass (docs/client.md, "Passes that find
nothing"): against kasten's server and a private Dovecot (client_test), a pass that
finds nothing writes three times after the greeting and waits for an answer after each:
- the login (AUTHENTICATE PLAIN with SASL-IR, RFC 4959; the capabilities come from the
  greeting's and the login OK's [CAPABILITY] codes, RFC 9051 7.1, so no CAPABILITY);
- ENABLE CONDSTORE QRESYNC (RFC 5161, RFC 7162 3.2.3) in the same write as the LIST with
  RETURN (STATUS) (RFC 5819): RFC 9051 5.5 lets a client pipeline a command that does
  not depend on the one before, and the hierarchy delimiter is taken from the LIST
  entries (RFC 9051 7.3.1) instead of a LIST "" "" of its own;
- LOGOUT (RFC 9051 6.1.3).
A scripted server covers what the real ones never do: no [CAPABILITY] anywhere (the
client asks CAPABILITY, RFC 9051 6.1.1), LIST entries without a delimiter (the client
asks LIST "" "", RFC 9051 6.3.9, and maps "A.B" to the local folder A/B), ENABLE
answered after the LIST that followed it (tagged answers of pipelined commands may come
in any order, RFC 9051 5.5), and an ENABLE refused with NO (the pass fails, and says so).
"""

import re
import socket
import threading

import pytest

from client_proxy import Proxy
from client_test import (CLIENT_LISTEN, Client, assert_in_sync,  # noqa: F401
                         command_exists, dovecot_pool, endpoint, error_line, fast_tmp,
                         mailserver, sample_message)

KASTEN_LISTEN = CLIENT_LISTEN
pytestmark = pytest.mark.skipif(not command_exists("sync"),
                                reason="`kasten sync` is not in this build yet")


def client_writes(stream):
    """The client's writes after the greeting, each as the proxy read it: consecutive
    client reads with no server bytes between them are one turn."""
    turns = []
    last = None
    for direction, data in stream["reads"]:
        if direction == "c2s":
            if last == "c2s":
                turns[-1] += data
            else:
                turns.append(data)
        last = direction
    return turns


def test_no_change_pass_is_three_round_trips(mailserver, fast_tmp):
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    for i, f in enumerate(("INBOX", "Work", "Lists/Dev")):
        acct.put(sample_message(i, "rt"), folder=f, flags="S" if i % 2 else "")
    cl.run("sync", *endpoint(acct, "imap"), "--maildir", md, "--once")
    assert_in_sync(acct, md)
    with Proxy((acct.host, acct.ports["imap"]), record=True) as p:
        cl.run("sync", *endpoint(acct, "imap", proxy=p), "--maildir", md, "--once")
    assert len(p.streams) == 1
    turns = client_writes(p.streams[0])
    verbs = [[ln.split(b" ")[1] for ln in t.split(b"\r\n") if ln] for t in turns]
    assert verbs == [[b"AUTHENTICATE"], [b"ENABLE", b"LIST"], [b"LOGOUT"]], turns
    assert b"RETURN (STATUS (" in turns[1]
    assert b'LIST "" ""' not in p.streams[0]["c2s"]
    assert_in_sync(acct, md)
    # the nested folder went through the delimiter the LIST answer gave ('/' or '.')
    assert (md / ".Lists.Dev" / "cur").is_dir()


# ---- a scripted server ----

class FakeIMAP:
    """A scripted IMAP server on loopback, one connection: an empty INBOX and an empty
    "A.B"; LIST entries with a NIL delimiter, "." only for LIST "" "". caps: what
    CAPABILITY lists (never sent unasked); enable: "ok", "late" (answered after the next
    command, or after 2 s without one) or "no"."""

    def __init__(self, caps, enable="ok"):
        self.caps, self.enable = caps, enable
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.seen = []  # the client's command lines, without tags
        self.enable_held_for = None  # the command that came while ENABLE waited
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _lines(self, c):
        buf = b""
        while True:
            while b"\r\n" not in buf:
                try:
                    data = c.recv(4096)
                except socket.timeout:
                    yield None  # nothing came while ENABLE's answer was held
                    continue
                if not data:
                    return
                buf += data
            line, buf = buf.split(b"\r\n", 1)
            yield line.decode()

    def _answer(self, tag, cmd):
        verb = cmd.split(" ")[0].upper()
        if verb == "CAPABILITY":
            return f"* CAPABILITY IMAP4rev1 {self.caps}\r\n{tag} OK done\r\n"
        if verb == "LIST" and cmd.endswith('"" ""'):
            return f'* LIST (\\Noselect) "." ""\r\n{tag} OK done\r\n'
        if verb == "LIST":
            return (f"* LIST () NIL INBOX\r\n* LIST () NIL A.B\r\n{tag} OK done\r\n")
        if verb in ("SELECT", "EXAMINE"):
            return ("* FLAGS (\\Seen)\r\n* 0 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n"
                    f"* OK [UIDNEXT 1] n\r\n{tag} OK [READ-WRITE] done\r\n")
        if verb == "LOGOUT":
            return f"* BYE bye\r\n{tag} OK done\r\n"
        if verb == "ENABLE":
            if self.enable == "no":
                return f"{tag} NO [CANNOT] not today\r\n"
            return f"* ENABLED CONDSTORE\r\n{tag} OK done\r\n"
        return f"{tag} OK done\r\n"

    def _serve(self):
        c, _ = self.sock.accept()
        with c:
            c.sendall(b"* OK fake IMAP ready\r\n")
            held = None
            lines = self._lines(c)
            for line in lines:
                if line is None:
                    c.settimeout(None)
                    c.sendall(self._answer(*held).encode())
                    held = None
                    continue
                tag, _, cmd = line.partition(" ")
                self.seen.append(cmd)
                if cmd.upper().startswith("ENABLE") and self.enable == "late":
                    held = (tag, cmd)
                    c.settimeout(2)
                    continue
                try:
                    c.sendall(self._answer(tag, cmd).encode())
                    if held:
                        self.enable_held_for = cmd
                        c.sendall(self._answer(*held).encode())
                        held = None
                        c.settimeout(None)
                except OSError:
                    return
                if cmd.upper() == "LOGOUT":
                    return

    def close(self):
        self.sock.close()
        self.thread.join(timeout=10)


def fake_sync(tmp_path, fake, expect=0):
    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    pw.chmod(0o600)
    md = tmp_path / "mail"
    try:
        r = Client(tmp_path).run("sync", "--host", "127.0.0.1", "--port", fake.port,
                                 "--plain", "--user", "u", "--password-file", pw,
                                 "--maildir", md, "--once", expect=expect)
    finally:
        fake.close()
    return r, md


def test_no_capability_code_and_no_delimiter_in_list(tmp_path):
    fake = FakeIMAP("LITERAL+ ENABLE CONDSTORE")
    _, md = fake_sync(tmp_path, fake)
    verbs = [c.split(" ")[0].upper() for c in fake.seen]
    # RFC 9051 6.1.1 / 6.2.3: nothing said them, so the client asks before and after
    assert verbs[:3] == ["CAPABILITY", "LOGIN", "CAPABILITY"], fake.seen
    # RFC 9051 6.3.9: no LIST entry had a delimiter: asked once, after the LIST
    lists = [c for c in fake.seen if c.upper().startswith("LIST")]
    assert lists[0].endswith('"*"') and lists[1] == 'LIST "" ""', lists
    assert (md / ".A.B" / "cur").is_dir() and not (md / ".A" / "cur").is_dir()
    assert (md / "cur").is_dir()


def test_enable_answered_after_the_list(tmp_path):
    fake = FakeIMAP("LITERAL+ ENABLE CONDSTORE", enable="late")
    _, md = fake_sync(tmp_path, fake)
    # the LIST came while ENABLE waited: it was sent without waiting for ENABLE's answer
    assert fake.enable_held_for is not None and \
        fake.enable_held_for.upper().startswith("LIST"), fake.seen
    assert (md / ".A.B" / "cur").is_dir()


def test_enable_refused(tmp_path):
    fake = FakeIMAP("LITERAL+ ENABLE CONDSTORE", enable="no")
    r, md = fake_sync(tmp_path, fake, expect=1)
    line = error_line(r, "sync")
    assert re.search(r"ENABLE: NO \[CANNOT\] not today", line), line
    assert not any(c.upper().startswith(("SELECT", "EXAMINE")) for c in fake.seen), fake.seen
