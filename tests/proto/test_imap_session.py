"""The IMAP session (RFC 9051, RFC 3501) against a real `kasten serve`: greeting and
CAPABILITY in each state, STARTTLS and implicit TLS, LOGIN and AUTHENTICATE (RFC 4959
SASL-IR), ENABLE (RFC 5161), ID (RFC 2971), COMPRESS=DEFLATE (RFC 4978), SELECT and
EXAMINE, CLOSE/UNSELECT, IDLE (RFC 2177), the error limit, and mailbox updates from
deliveries and POP3 reaching selected and idling sessions, also on other loop threads.

Raw sockets (RawIMAP) for byte-exact answers; the server runs two loop threads."""

import base64
import os
import re
import socket
import ssl
import time
import zlib

import pytest

from kasten_test import (HOST, HOSTNAME, RawIMAP, RawPOP3, deliver, deliver_many,
                         make_message, unique_user, unverified_context)

KASTEN_LISTEN = ("smtp", "lmtp", "imap", "imaps", "pop3")
PASSWORD = "Imap-pass-123"

CAPS_NOTAUTH = b"IMAP4rev1 IMAP4rev2 SASL-IR ID ENABLE IDLE LITERAL-"
CAPS_AUTH = (b"IMAP4rev1 IMAP4rev2 SASL-IR ID ENABLE IDLE LITERAL+ LITERAL- NAMESPACE "
             b"UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED "
             b"LIST-STATUS MULTIAPPEND ESEARCH SEARCHRES SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT "
             b"THREAD=REFERENCES WITHIN QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE STATUS=SIZE "
             b"BINARY UTF8=ACCEPT CONDSTORE QRESYNC OBJECTID SAVEDATE PREVIEW "
             b"APPENDLIMIT=10485760")


def account(server, prefix="i"):
    a = unique_user(prefix)
    server.user_add(a, PASSWORD)
    return a


def connect(server, tls=False):
    return RawIMAP(*server.addr("imaps" if tls else "imap"), tls=tls)


def logged_in(server, address, **kw):
    c = connect(server, **kw)
    c.login(address, PASSWORD)
    return c


def fill(server, address, n):
    for i in range(n):
        deliver(server, address, make_message(f"imap session {i}"))
    assert len(server.wait_messages(address, n)) == n


def wait_for(c, pattern, seconds=10):
    """Responses arriving without a command until one matches `pattern` (bytes regex);
    returns every response line seen."""
    deadline = time.monotonic() + seconds
    seen = []
    c.sock.settimeout(seconds)
    try:
        while time.monotonic() < deadline:
            line = c.response()
            seen.append(line)
            if re.search(pattern, line):
                return seen
    finally:
        c.sock.settimeout(10)
    raise AssertionError(f"no {pattern!r} within {seconds}s; saw {seen!r}")


def loop_of(server, c):
    """The server loop thread that took this connection (its connect log line)."""
    port = c.sock.getsockname()[1]
    pat = re.compile(rf"peer=\[?{re.escape(HOST)}\]?:{port} connect proto=imap .*loop=(\d+)")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in server.log.read_text(errors="replace").splitlines():
            m = pat.search(line)
            if m:
                return int(m.group(1))
        time.sleep(0.05)
    raise AssertionError(f"no connect line for port {port}")


def on_two_loops(server, address, selected="INBOX"):
    """Two logged-in sessions with `selected` selected, on different loop threads."""
    a = logged_in(server, address)
    for _ in range(64):
        b = logged_in(server, address)
        if loop_of(server, b) != loop_of(server, a):
            for c in (a, b):
                status, _ = c.cmd(f"SELECT {selected}")
                assert status.startswith(b"a") and b" OK " in status, status
            return a, b
        b.close()
    raise AssertionError("64 connections all landed on one loop thread")


# ---- greeting, capabilities (RFC 9051 6.1.1, 7.1.1) ----

def test_greeting_lists_the_capabilities_before_login(server):
    c = connect(server)
    assert c.greeting == (b"* OK [CAPABILITY " + CAPS_NOTAUTH + b" STARTTLS AUTH=PLAIN "
                          b"AUTH=LOGIN] " + HOSTNAME.encode() + b" kasten IMAP ready")
    status, untagged = c.cmd("CAPABILITY")
    assert untagged == [b"* CAPABILITY " + CAPS_NOTAUTH + b" STARTTLS AUTH=PLAIN AUTH=LOGIN"]
    assert status == b"a1 OK Capability completed"


def test_login_answers_with_the_authenticated_capabilities(server):
    a = account(server)
    c = connect(server)
    status = c.login(a, PASSWORD)
    # RFC 9051 6.2.3: the capability list may change at login; sent in the OK
    assert status == b"a1 OK [CAPABILITY " + CAPS_AUTH + b" COMPRESS=DEFLATE] Logged in"
    status, untagged = c.cmd("CAPABILITY")
    assert untagged == [b"* CAPABILITY " + CAPS_AUTH + b" COMPRESS=DEFLATE"]


@pytest.mark.kasten(config={"auth": {"plaintext_loopback": "no"}})
def test_cleartext_login_is_disabled_without_tls(server):
    a = account(server)
    c = connect(server)
    # RFC 9051 6.2.3 / 7.2.2: LOGINDISABLED, no AUTH= before STARTTLS
    assert b" LOGINDISABLED]" in c.greeting and b"AUTH=" not in c.greeting
    status, _ = c.cmd(f'LOGIN "{a}" "{PASSWORD}"')
    assert status == (b"a1 NO [PRIVACYREQUIRED] Cleartext login not allowed without TLS; "
                      b"use STARTTLS first")
    status, _ = c.cmd("AUTHENTICATE PLAIN " + base64.b64encode(
        f"\0{a}\0{PASSWORD}".encode()).decode())
    assert status.startswith(b"a2 NO [PRIVACYREQUIRED]"), status
    # after STARTTLS the same login works and the list no longer says STARTTLS
    status, _ = c.cmd("STARTTLS")
    assert status == b"a3 OK Begin TLS negotiation now"
    c.sock = unverified_context().wrap_socket(c.sock, server_hostname=HOSTNAME)
    status, untagged = c.cmd("CAPABILITY")
    assert untagged == [b"* CAPABILITY " + CAPS_NOTAUTH + b" AUTH=PLAIN AUTH=LOGIN"]
    c.login(a, PASSWORD)


def test_implicit_tls_greeting(server):
    c = connect(server, tls=True)
    assert c.greeting.startswith(b"* OK [CAPABILITY " + CAPS_NOTAUTH + b" AUTH=PLAIN")
    assert b"STARTTLS" not in c.greeting
    status, _ = c.cmd("STARTTLS")
    assert status == b"a1 BAD TLS already active"


def test_bytes_pipelined_after_starttls_are_discarded(server):
    """RFC 9051 6.2.1 / RFC 7817: a command sent in clear behind STARTTLS must not run
    inside the TLS session (the STARTTLS command injection attack)."""
    a = account(server)
    c = connect(server)
    c.send(f'a1 STARTTLS\r\na2 LOGIN "{a}" "{PASSWORD}"\r\n')
    assert c.response() == b"a1 OK Begin TLS negotiation now"
    c.sock = unverified_context().wrap_socket(c.sock, server_hostname=HOSTNAME)
    status, untagged = c.cmd("NOOP", tag="a3")
    assert untagged == [] and status == b"a3 OK NOOP completed"
    status, _ = c.cmd("SELECT INBOX", tag="a4")
    assert status == b"a4 BAD Log in first"


# ---- login (RFC 9051 6.2.2, 6.2.3; RFC 4959) ----

def test_login_failure_says_authenticationfailed(server):
    a = account(server)
    c = connect(server)
    status, _ = c.cmd(f'LOGIN "{a}" "wrong"')
    assert status == b"a1 NO [AUTHENTICATIONFAILED] Authentication failed"
    status, _ = c.cmd('LOGIN "nobody@example.test" "x"')
    assert status == b"a2 NO [AUTHENTICATIONFAILED] Authentication failed"


def test_authenticate_plain_with_initial_response(server):
    a = account(server)
    c = connect(server)
    ir = base64.b64encode(f"\0{a}\0{PASSWORD}".encode()).decode()
    status, _ = c.cmd(f"AUTHENTICATE PLAIN {ir}")
    assert status.startswith(b"a1 OK [CAPABILITY IMAP4rev1"), status
    status, _ = c.cmd("SELECT INBOX")
    assert b" OK [READ-WRITE]" in status


def test_authenticate_plain_and_login_by_continuation(server):
    a = account(server)
    c = connect(server)
    c.send("a1 AUTHENTICATE PLAIN\r\n")
    assert c.response() == b"+ "
    c.send(base64.b64encode(f"\0{a}\0{PASSWORD}".encode()) + b"\r\n")
    status, _ = c.until("a1")
    assert status.startswith(b"a1 OK [CAPABILITY "), status

    c = connect(server)
    c.send("b1 AUTHENTICATE LOGIN\r\n")
    assert c.response() == b"+ " + base64.b64encode(b"Username:")
    c.send(base64.b64encode(a.encode()) + b"\r\n")
    assert c.response() == b"+ " + base64.b64encode(b"Password:")
    c.send(base64.b64encode(PASSWORD.encode()) + b"\r\n")
    status, _ = c.until("b1")
    assert status.startswith(b"b1 OK [CAPABILITY "), status


def test_authenticate_cancel_and_unknown_mechanism(server):
    c = connect(server)
    c.send("a1 AUTHENTICATE PLAIN\r\n")
    assert c.response() == b"+ "
    c.send("*\r\n")  # RFC 9051 6.2.2: the client cancels
    assert c.until("a1")[0] == b"a1 BAD Authentication cancelled"
    status, _ = c.cmd("AUTHENTICATE CRAM-MD5", tag="a2")
    assert status == b"a2 NO [CANNOT] Unsupported authentication mechanism"
    status, _ = c.cmd("AUTHENTICATE PLAIN !!!!", tag="a3")
    assert status == b"a3 BAD Malformed authentication response"


def test_commands_out_of_state(server):
    a = account(server)
    c = connect(server)
    assert c.cmd("SELECT INBOX")[0] == b"a1 BAD Log in first"
    assert c.cmd("FETCH 1 FLAGS")[0] == b"a2 BAD Log in first"
    c.login(a, PASSWORD)
    assert c.cmd(f'LOGIN "{a}" "{PASSWORD}"')[0] == b"a4 BAD Not allowed in this state"
    assert c.cmd("FETCH 1 FLAGS")[0] == b"a5 BAD Select a mailbox first"
    assert c.cmd("CLOSE")[0] == b"a6 BAD Select a mailbox first"
    assert c.cmd("XYZZY")[0] == b"a7 BAD Unknown command"


# ---- ENABLE, ID, NOOP, LOGOUT ----

def test_enable_lists_only_what_it_newly_enabled(server):
    a = account(server)
    c = logged_in(server, a)
    status, untagged = c.cmd("ENABLE CONDSTORE X-UNKNOWN IMAP4rev2")
    # RFC 5161 3.1: unknown names are ignored; the response lists what was enabled
    assert untagged == [b"* ENABLED IMAP4rev2 CONDSTORE"] and status == b"a2 OK Enabled"
    status, untagged = c.cmd("ENABLE CONDSTORE")
    assert untagged == [b"* ENABLED"]
    # RFC 9051 Appendix E: LSUB and CHECK are gone from IMAP4rev2
    assert c.cmd('LSUB "" "*"')[0] == b"a4 BAD Command not part of IMAP4rev2"
    assert c.cmd("CHECK")[0] == b"a5 BAD Command not part of IMAP4rev2"


def test_enable_condstore_while_selected_sends_highestmodseq(server):
    a = account(server)
    fill(server, a, 1)
    c = logged_in(server, a)
    status, untagged = c.cmd("SELECT INBOX")
    modseq = re.search(rb"HIGHESTMODSEQ (\d+)", b"\n".join(untagged)).group(1)
    status, untagged = c.cmd("ENABLE CONDSTORE")
    # RFC 7162 3.1: the client learns the value its CONDSTORE state starts from
    assert untagged == [b"* OK [HIGHESTMODSEQ " + modseq + b"] Highest",
                        b"* ENABLED CONDSTORE"]


def test_enable_before_login_is_refused(server):
    c = connect(server)
    assert c.cmd("ENABLE IMAP4rev2")[0] == b"a1 BAD Log in first"


def test_id_says_who_we_are(server):
    c = connect(server)
    status, untagged = c.cmd('ID ("name" "test-client" "version" "1.0")')
    assert len(untagged) == 1 and status == b"a1 OK ID completed"
    assert re.fullmatch(rb'\* ID \("name" "kasten" "version" "[^"]+"\)', untagged[0])
    assert c.cmd("ID NIL")[0] == b"a2 OK ID completed"
    assert c.cmd('ID ("name")')[0].startswith(b"a3 BAD ")


def test_noop_check_logout(server):
    a = account(server)
    c = logged_in(server, a)
    assert c.cmd("NOOP") == (b"a2 OK NOOP completed", [])
    assert c.cmd("SELECT INBOX")[0].startswith(b"a3 OK")
    assert c.cmd("CHECK") == (b"a4 OK Check completed", [])
    status, untagged = c.cmd("LOGOUT")
    # RFC 9051 6.1.3: BYE first, then the tagged OK, then the server closes
    assert untagged == [b"* BYE " + HOSTNAME.encode() + b" kasten IMAP signing off"]
    assert status == b"a5 OK Logout completed"
    with pytest.raises(ConnectionError):
        c.response()


# ---- COMPRESS (RFC 4978) ----

class Deflated:
    """The two DEFLATE streams of RFC 4978 3 (raw deflate, a sync flush per write) under
    a RawIMAP: its cmd()/response() work as before, literals included."""

    def __init__(self, c):
        assert c.buf == b"", "nothing may follow the tagged OK uncompressed"
        self.c = c
        self.out = zlib.compressobj(9, zlib.DEFLATED, -15)
        self.inp = zlib.decompressobj(-15)
        c._fill = self._fill
        c.send = self._send

    def _send(self, data):
        data = data.encode() if isinstance(data, str) else data
        self.c.sock.sendall(self.out.compress(data) + self.out.flush(zlib.Z_SYNC_FLUSH))

    def _fill(self):
        while True:
            chunk = self.c.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            data = self.inp.decompress(chunk)
            if data:
                self.c.buf += data
                return

    def cmd(self, tag, command):
        return self.c.cmd(command, tag=tag)


def test_compress_deflate_both_ways(server):
    a = account(server)
    fill(server, a, 2)
    c = logged_in(server, a)
    assert c.cmd("COMPRESS DEFLATE") == (b"a2 OK DEFLATE active", [])
    z = Deflated(c)
    status, untagged = z.cmd("b1", "CAPABILITY")
    assert status == b"b1 OK Capability completed"
    assert untagged == [b"* CAPABILITY " + CAPS_AUTH]  # COMPRESS=DEFLATE no longer offered
    status, untagged = z.cmd("b2", "SELECT INBOX")
    assert b"* 2 EXISTS" in untagged and status.startswith(b"b2 OK [READ-WRITE]")
    status, _ = z.cmd("b3", "COMPRESS DEFLATE")
    assert status == b"b3 NO [COMPRESSIONACTIVE] DEFLATE active already"
    # a large response goes through the stream too
    status, untagged = z.cmd("b4", "LIST \"\" \"*\"")
    assert status.startswith(b"b4 OK"), status
    # RFC 9051 6.1.3: BYE and the tagged OK reach the client, compressed, before the close
    status, untagged = z.cmd("b5", "LOGOUT")
    assert untagged == [b"* BYE " + HOSTNAME.encode() + b" kasten IMAP signing off"]
    assert status == b"b5 OK Logout completed"
    assert c.sock.recv(16) == b""


def test_compress_over_tls_and_a_large_answer(server):
    """COMPRESS under TLS (RFC 4978 3: TLS below, DEFLATE above), with an answer far
    bigger than the connection's output window (incompressible, so the compressed
    stream is as big): all of it arrives, byte for byte, and the session goes on."""
    a = account(server)
    body = base64.encodebytes(os.urandom(3 << 20)).replace(b"\n", b"\r\n")
    deliver(server, a, make_message("big", body))
    stored = server.wait_messages(a, 1)[0]
    c = logged_in(server, a, tls=True)
    c.cmd("SELECT INBOX")
    assert c.cmd("COMPRESS DEFLATE")[0] == b"a3 OK DEFLATE active"
    z = Deflated(c)
    status, untagged = z.cmd("b1", "FETCH 1 BODY.PEEK[]")
    assert status == b"b1 OK FETCH completed", status
    literal = untagged[0].split(b"}", 1)[1]  # "* 1 FETCH (BODY[] {n}" CRLF data ")"
    assert literal == b"\r\n" + stored + b")"
    status, untagged = z.cmd("b2", "LOGOUT")
    assert status == b"b2 OK Logout completed"


def test_compress_client_gone_mid_answer(server):
    """A client that drops the connection while a compressed answer is still streaming:
    the server lets go of the session cleanly (the harness checks its exit and, in the
    sanitizer build, that nothing touched freed memory)."""
    a = account(server)
    body = base64.encodebytes(os.urandom(2 << 20)).replace(b"\n", b"\r\n")
    deliver(server, a, make_message("big", body))
    server.wait_messages(a, 1)
    c = logged_in(server, a)
    c.cmd("SELECT INBOX")
    assert c.cmd("COMPRESS DEFLATE")[0] == b"a3 OK DEFLATE active"
    z = Deflated(c)
    c.send("b1 FETCH 1 BODY.PEEK[]\r\n")
    c._fill()  # the answer has begun
    c.sock.close()
    d = logged_in(server, a)
    assert d.cmd("NOOP")[0] == b"a2 OK NOOP completed"


def test_compress_pipelined_flood_is_answered(server):
    """RFC 4978 under pipelining, as mbsync does it: a compressed burst of commands that
    expands past half the connection's input window. The decompressing filter must stop
    at the room left in the window and go on when the session has read (it spun at 100 %
    CPU on the loop thread, answering nothing more, when it compared the whole buffer
    with the room left); every command is answered, in order."""
    a = account(server)
    fill(server, a, 1)
    c = logged_in(server, a)
    c.cmd("SELECT INBOX")
    assert c.cmd("COMPRESS DEFLATE")[0] == b"a3 OK DEFLATE active"
    z = Deflated(c)
    # about 400 KB of commands, compressed to a few KB; their answers fill the output
    # window, so the session stops reading and the decompressed commands wait in the
    # input window
    n = 12000
    c.send(b"".join(b"b%d UID FETCH 1 (UID BODY.PEEK[])\r\n" % i for i in range(n)))
    c.sock.settimeout(60)
    for i in range(n):
        status, _ = c.until(f"b{i}")
        assert status == f"b{i} OK UID FETCH completed".encode(), status
    assert z.cmd("c1", "LOGOUT")[0] == b"c1 OK Logout completed"


def test_compress_unknown_mechanism(server):
    a = account(server)
    c = logged_in(server, a)
    assert c.cmd("COMPRESS LZ4")[0] == b"a2 NO Unknown compression mechanism"
    assert c.cmd("NOOP")[0] == b"a3 OK NOOP completed"


# ---- SELECT / EXAMINE / CLOSE / UNSELECT (RFC 9051 6.3.2, 6.3.3, 6.4.1; RFC 3501) ----

def select_lines(untagged):
    """The SELECT response with the volatile numbers replaced."""
    out = []
    for line in untagged:
        line = re.sub(rb"UIDVALIDITY \d+", b"UIDVALIDITY V", line)
        line = re.sub(rb"HIGHESTMODSEQ \d+", b"HIGHESTMODSEQ M", line)
        line = re.sub(rb"MAILBOXID \([^)]*\)", b"MAILBOXID (I)", line)
        out.append(line)
    return out


FLAGS = b"\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Junk $NotJunk"


def test_select_rev1(server):
    a = account(server)
    fill(server, a, 3)
    c = logged_in(server, a)
    status, untagged = c.cmd("SELECT INBOX")
    assert status == b"a2 OK [READ-WRITE] SELECT completed"
    assert select_lines(untagged) == [
        b"* FLAGS (" + FLAGS + b")",
        b"* OK [PERMANENTFLAGS (" + FLAGS + b" \\*)] Flags permitted",
        b"* 3 EXISTS",
        b"* 3 RECENT",  # RFC 3501 2.3.2: the first session to see them
        b"* OK [UNSEEN 1] First unseen",
        b"* OK [UIDVALIDITY V] UIDs valid",
        b"* OK [UIDNEXT 4] Predicted next UID",
        b"* OK [HIGHESTMODSEQ M] Highest",
        b"* OK [MAILBOXID (I)] Ok",
    ]
    # another session: no \Recent left for it
    d = logged_in(server, a)
    _, untagged = d.cmd("SELECT INBOX")
    assert b"* 0 RECENT" in untagged


def test_select_rev2(server):
    a = account(server)
    fill(server, a, 2)
    c = logged_in(server, a)
    c.cmd("ENABLE IMAP4rev2")
    status, untagged = c.cmd("SELECT inbox")
    assert status == b"a3 OK [READ-WRITE] SELECT completed"
    # RFC 9051 6.3.2: no RECENT, no UNSEEN; the LIST response of the mailbox
    assert select_lines(untagged) == [
        b"* FLAGS (" + FLAGS + b")",
        b"* OK [PERMANENTFLAGS (" + FLAGS + b" \\*)] Flags permitted",
        b"* 2 EXISTS",
        b"* OK [UIDVALIDITY V] UIDs valid",
        b"* OK [UIDNEXT 3] Predicted next UID",
        b"* OK [HIGHESTMODSEQ M] Highest",
        b"* OK [MAILBOXID (I)] Ok",
        b'* LIST () "/" INBOX',
    ]
    # a second SELECT closes the first: [CLOSED] (RFC 9051 7.1)
    status, untagged = c.cmd("EXAMINE Sent")
    assert untagged[0] == b"* OK [CLOSED] Previous mailbox is now closed"
    assert status == b"a4 OK [READ-ONLY] EXAMINE completed"
    assert b"* OK [PERMANENTFLAGS ()] Flags permitted" in untagged


def test_select_of_a_missing_mailbox_leaves_no_mailbox_selected(server):
    a = account(server)
    c = logged_in(server, a)
    assert c.cmd("SELECT INBOX")[0].startswith(b"a2 OK")
    # RFC 9051 6.3.2: a failed SELECT closes the current mailbox too
    assert c.cmd("SELECT Nowhere")[0] == b"a3 NO [NONEXISTENT] No such mailbox"
    assert c.cmd("FETCH 1 FLAGS")[0] == b"a4 BAD Select a mailbox first"


def test_select_names_outside_the_account_are_refused(server):
    a = account(server)
    c = logged_in(server, a)
    for n, name in enumerate(['"../INBOX"', '"/etc/passwd"', '"a/../../b"', '"a//b"',
                              '"x\\\\y"', '"."'], start=2):
        status, _ = c.cmd(f"SELECT {name}")
        assert status.startswith(f"a{n} NO".encode()) or status.startswith(f"a{n} BAD".encode()), status
        assert b"OK" not in status


def test_examine_claims_no_recent(server):
    a = account(server)
    fill(server, a, 1)
    c = logged_in(server, a)
    _, untagged = c.cmd("EXAMINE INBOX")
    assert b"* 0 RECENT" in untagged
    _, untagged = c.cmd("SELECT INBOX")
    assert b"* 1 RECENT" in untagged


def test_select_condstore_parameter(server):
    a = account(server)
    c = logged_in(server, a)
    status, untagged = c.cmd("SELECT INBOX (CONDSTORE)")
    assert status == b"a2 OK [READ-WRITE] SELECT completed"
    # RFC 7162 3.1.8: CONDSTORE is on from here; enabling it again lists nothing
    assert c.cmd("ENABLE CONDSTORE")[1] == [b"* ENABLED"]


def test_select_qresync_needs_enable(server):
    a = account(server)
    c = logged_in(server, a)
    status, _ = c.cmd("SELECT INBOX (QRESYNC (1 1))")
    assert status == b"a2 BAD QRESYNC is not enabled"  # RFC 7162 3.2.5


def test_close_and_unselect(server):
    a = account(server)
    c = logged_in(server, a)
    c.cmd("SELECT INBOX")
    assert c.cmd("UNSELECT") == (b"a3 OK UNSELECT completed", [])
    assert c.cmd("FETCH 1 FLAGS")[0] == b"a4 BAD Select a mailbox first"
    c.cmd("EXAMINE INBOX")
    assert c.cmd("CLOSE") == (b"a6 OK CLOSE completed", [])


def test_close_expunges_silently_and_durably(server):
    r"""RFC 9051 6.4.1: CLOSE removes the \Deleted messages without EXPUNGE responses;
    EXAMINE's CLOSE and UNSELECT remove nothing. Another session sees the expunge."""
    a = account(server)
    fill(server, a, 3)
    c = logged_in(server, a)
    other = logged_in(server, a)
    other.cmd("SELECT INBOX")
    c.cmd("SELECT INBOX")
    c.cmd("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
    assert c.cmd("UNSELECT") == (b"a4 OK UNSELECT completed", [])
    c.cmd("EXAMINE INBOX")
    assert c.cmd("CLOSE") == (b"a6 OK CLOSE completed", [])
    _, untagged = c.cmd("SELECT INBOX")
    assert b"* 3 EXISTS" in untagged
    assert c.cmd("CLOSE") == (b"a8 OK CLOSE completed", [])
    # other was the first to see them: its \Recent count changes too (as Dovecot)
    assert other.cmd("NOOP")[1] == [b"* 3 EXPUNGE", b"* 1 EXPUNGE", b"* 1 RECENT"]
    server.kill9()
    server.start()
    assert len(server.messages(a)) == 1


# ---- limits ----

def test_too_many_bad_commands_close_the_connection(server):
    c = connect(server)
    for i in range(1, 20):
        assert c.cmd("XYZZY")[0] == f"a{i} BAD Unknown command".encode()
    c.send("a20 XYZZY\r\n")
    assert c.response() == b"a20 BAD Unknown command"
    assert c.response() == b"* BYE Too many errors, closing"
    with pytest.raises(ConnectionError):
        c.response()


@pytest.mark.kasten(config={"limits": {"max_message_size": "64K"}})
def test_a_non_synchronizing_literal_over_appendlimit(server):
    """RFC 7889 / RFC 7888 4: a LITERAL+ APPEND over APPENDLIMIT is read and thrown
    away and answered NO [TOOBIG]; the session goes on. One past twice the limit is not
    read: the server closes."""
    a = account(server)
    c = logged_in(server, a)
    msg = make_message("big", b"x" * (64 << 10) + b"\r\n")
    status, _ = c.cmd(b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)
    assert status.startswith(b"a2 NO [TOOBIG]"), status
    assert c.cmd("NOOP")[0] == b"a3 OK NOOP completed"
    c.send(b"a4 APPEND INBOX {%d+}\r\n" % ((128 << 10) + 1))
    assert c.response().startswith(b"a4 NO [TOOBIG]")
    assert c.response().startswith(b"* BYE ")


def test_pipelined_commands_answer_in_order(server):
    a = account(server)
    fill(server, a, 1)
    c = logged_in(server, a)
    c.send("p1 NOOP\r\np2 SELECT INBOX\r\np3 NOOP\r\np4 UNSELECT\r\np5 CAPABILITY\r\n")
    tags = []
    while len(tags) < 5:
        line = c.response()
        if not line.startswith(b"* "):
            tags.append(line.split(b" ")[0])
    assert tags == [b"p1", b"p2", b"p3", b"p4", b"p5"]


# ---- updates reach selected and idling sessions (RFC 9051 5.2, 7.5.1; RFC 2177) ----

def test_delivery_shows_at_the_next_command(server):
    a = account(server)
    c = logged_in(server, a)
    c.cmd("SELECT INBOX")
    fill(server, a, 2)
    # the store has both; the session hears of them (notify/) before or at NOOP
    status, untagged = c.cmd("NOOP")
    assert untagged == [b"* 2 EXISTS", b"* 2 RECENT"] and status == b"a3 OK NOOP completed"
    assert c.cmd("NOOP") == (b"a4 OK NOOP completed", [])


def test_idle_gets_a_delivery_at_once(server):
    a = account(server)
    c = logged_in(server, a)
    c.cmd("ENABLE IMAP4rev2")
    c.cmd("SELECT INBOX")
    c.send("i1 IDLE\r\n")
    assert c.response() == b"+ idling"
    fill(server, a, 1)
    assert wait_for(c, rb"^\* 1 EXISTS$") == [b"* 1 EXISTS"]
    c.send("DONE\r\n")
    assert c.until("i1") == (b"i1 OK IDLE terminated", [])


def test_idle_needs_done(server):
    a = account(server)
    c = logged_in(server, a)
    c.send("i1 IDLE\r\n")
    assert c.response() == b"+ idling"
    c.send("i2 NOOP\r\n")  # anything but DONE ends IDLE with BAD (RFC 2177 3)
    assert c.until("i1") == (b"i1 BAD Expected DONE to end IDLE", [])


def test_pop3_delete_reaches_sessions_on_both_loop_threads(server):
    """A POP3 DELE+QUIT expunges; a session idling on one loop thread hears it at once,
    one on the other loop thread at its next command (RFC 9051 7.5.1 EXPUNGE)."""
    a = account(server)
    fill(server, a, 3)
    idler, other = on_two_loops(server, a)
    idler.send("i1 IDLE\r\n")
    assert idler.response() == b"+ idling"
    p = RawPOP3(*server.addr("pop3"))
    p.cmd(f"USER {a}")
    p.cmd(f"PASS {PASSWORD}")
    assert p.cmd("DELE 2").startswith(b"+OK")
    assert p.cmd("QUIT").startswith(b"+OK")
    assert wait_for(idler, rb"^\* 2 EXPUNGE$") == [b"* 2 EXPUNGE"]
    idler.send("DONE\r\n")
    assert idler.until("i1")[0] == b"i1 OK IDLE terminated"
    status, untagged = other.cmd("NOOP")
    assert untagged == [b"* 2 EXPUNGE"] and status.endswith(b"OK NOOP completed")


def test_delivery_reaches_idlers_on_both_loop_threads(server):
    a = account(server)
    x, y = on_two_loops(server, a)
    for c in (x, y):
        c.send("i1 IDLE\r\n")
        assert c.response() == b"+ idling"
    fill(server, a, 1)
    for c in (x, y):
        seen = wait_for(c, rb"^\* 1 EXISTS$")
        assert seen == [b"* 1 EXISTS"]
        c.send("DONE\r\n")
        status, untagged = c.until("i1")
        # rev1: one of the two sessions gets \Recent for it (RFC 3501 2.3.2)
        assert status == b"i1 OK IDLE terminated" and untagged in ([], [b"* 1 RECENT"])


def test_a_keyword_new_to_the_mailbox_is_announced_to_other_sessions(server):
    """Another session's APPEND with a keyword the mailbox never had: FLAGS and
    PERMANENTFLAGS name it before EXISTS (RFC 9051 7.3.5, 6.3.2)."""
    a = account(server)
    c = logged_in(server, a)
    c.cmd("ENABLE IMAP4rev2")
    c.cmd("SELECT INBOX")
    d = logged_in(server, a)
    msg = make_message("with keyword")
    status, _ = d.cmd(b"APPEND INBOX (Work $Junk) {%d+}\r\n" % len(msg) + msg)
    assert b" OK [APPENDUID " in status, status
    status, untagged = c.cmd("NOOP")
    assert untagged == [
        b"* FLAGS (" + FLAGS + b" Work)",
        b"* OK [PERMANENTFLAGS (" + FLAGS + b" Work \\*)] Flags permitted",
        b"* 1 EXISTS",
    ]
    # FETCH shows the keyword and the one kept as a flag bit
    status, untagged = c.cmd("FETCH 1 FLAGS")
    assert untagged == [b"* 1 FETCH (FLAGS ($Junk Work))"]


def test_rev1_recent_count_follows_expunges_by_others(server):
    """RFC 3501 2.3.2 / 7.3.2: messages expunged by another session no longer count as
    \\Recent for this one; the next RECENT response says how many are left."""
    a = account(server)
    fill(server, a, 2)
    c = logged_in(server, a)
    _, untagged = c.cmd("SELECT INBOX")
    assert b"* 2 RECENT" in untagged
    d = logged_in(server, a)
    d.cmd("SELECT INBOX")
    assert d.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")[0].endswith(b"OK Store completed")
    assert d.cmd("EXPUNGE")[0].endswith(b"OK Expunge completed")
    # the count changed in a way EXPUNGE does not say: RECENT follows (as Dovecot)
    assert c.cmd("NOOP")[1] == [b"* 1 EXPUNGE", b"* 1 RECENT"]
    for i in range(2):
        deliver(server, a, make_message(f"later {i}"))
    assert len(server.wait_messages(a, 3)) == 3
    status, untagged = c.cmd("NOOP")
    assert untagged == [b"* 3 EXISTS", b"* 3 RECENT"]  # 1 left + 2 new, not 4


@pytest.mark.kasten(config={"server": {"log_level": "debug"}})
def test_protocol_log_shows_tags(server):
    a = account(server)
    c = logged_in(server, a)
    c.cmd("NOOP", tag="tag77")
    deadline = time.monotonic() + 10
    while b"S: tag77 OK NOOP completed" not in server.log.read_bytes():
        assert time.monotonic() < deadline, server.log_tail()
        time.sleep(0.05)


def test_a_long_fetch_is_not_echoed_back(server):
    """A FETCH of BODY[] over 4,500 unseen messages sets \\Seen in many steps (one store
    change each); the session reports each message once, in the FETCH itself, and is
    not told of its own changes again as unsolicited FETCH FLAGS (RFC 9051 7.5.2)."""
    a = account(server)
    n = 4500
    deliver_many(server, a, n)
    c = logged_in(server, a)
    c.cmd("SELECT INBOX")
    status, untagged = c.cmd("FETCH 1:* (FLAGS BODY[HEADER.FIELDS (SUBJECT)])")
    assert status == b"a3 OK FETCH completed", status
    assert len(untagged) == n
    assert all(b"\\Seen" in u for u in untagged)
    assert c.cmd("NOOP") == (b"a4 OK NOOP completed", [])


def test_rev1_recent_belongs_to_the_session_that_saw_it_first(server):
    """RFC 3501 2.3.2: \\Recent is set for one session only. B looks first at a new
    message, so A, selected since before it arrived, never shows it \\Recent."""
    a = account(server)
    fill(server, a, 1)
    first = logged_in(server, a)
    assert b"* 1 RECENT" in first.cmd("SELECT INBOX")[1]
    second = logged_in(server, a)
    assert b"* 0 RECENT" in second.cmd("SELECT INBOX")[1]
    deliver(server, a, make_message("new one"))
    assert len(server.wait_messages(a, 2)) == 2
    assert second.cmd("NOOP")[1] == [b"* 2 EXISTS", b"* 1 RECENT"]
    assert first.cmd("NOOP")[1] == [b"* 2 EXISTS"]
    assert first.cmd("FETCH 1:2 FLAGS")[1] == [b"* 1 FETCH (FLAGS (\\Recent))",
                                                b"* 2 FETCH (FLAGS ())"]
    assert second.cmd("FETCH 1:2 FLAGS")[1] == [b"* 1 FETCH (FLAGS ())",
                                                 b"* 2 FETCH (FLAGS (\\Recent))"]
    assert first.cmd("SEARCH RECENT")[1] == [b"* SEARCH 1"]
