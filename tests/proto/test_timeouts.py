"""Connections end, whatever state they are stuck in (issue 6, items 1 and 5).

Timeouts are shortened by config: idle timeouts count from the last whole command, not
from the last byte (a byte every now and then holds nothing open); connections to
login listeners must log in within login_timeout in total; every path that closes a
connection frees its descriptor (counted in /proc/PID/fd)."""

import os
import socket
import ssl
import time

import pytest

from kasten_test import (HOSTNAME, TCP_CLOSE_WAIT, RawPOP3, RawSMTP, deliver, make_message,
                         tcp_sockets, unique_user, unverified_context)

TIMEOUT = 2
CONFIG = {"limits": {"login_timeout": TIMEOUT, "smtp_timeout": TIMEOUT,
                     "pop3_timeout": TIMEOUT, "max_connections_per_ip": 500,
                     "max_unauthenticated_per_ip": 500}}
KASTEN_CONFIG = CONFIG
PASSWORD = "Timeout-pass-1"
CLOSE_WITHIN = TIMEOUT + 15  # generous: a busy CI machine is slow, never fast


def fd_count(server):
    return len(os.listdir(f"/proc/{server.proc.pid}/fd"))


def settled_fd_count(server):
    """The descriptors of an idle, fully started server (the store opens after the
    ports accept, so wait for the ready line and a stable count)."""
    deadline = time.monotonic() + 20
    while b"kasten ready" not in server.log_bytes() and time.monotonic() < deadline:
        time.sleep(0.05)
    last, same = -1, 0
    while same < 5 and time.monotonic() < deadline:
        n = fd_count(server)
        same = same + 1 if n == last else 0
        last = n
        time.sleep(0.05)
    return last


def close_wait_sockets(server):
    """Sockets of the server in CLOSE-WAIT: the peer is gone, the server kept its fd."""
    return sum(1 for _, state in tcp_sockets(server.proc.pid) if state == TCP_CLOSE_WAIT)


def wait_fds(server, want, timeout=CLOSE_WITHIN):
    deadline = time.monotonic() + timeout
    while fd_count(server) > want and time.monotonic() < deadline:
        time.sleep(0.1)
    return fd_count(server)


def wait_closed(sock, timeout=CLOSE_WITHIN):
    """Read until the server closes; returns everything it sent. Fails if it does not."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            return data
        except socket.timeout:
            break
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f"server kept the connection open; it sent {data[-200:]!r}")


@pytest.mark.parametrize("port", ["submissions", "pop3s"])
def test_silent_clients_on_tls_ports_are_closed_and_their_fds_freed(server, port):
    base = settled_fd_count(server)
    socks = [socket.create_connection(server.addr(port)) for _ in range(20)]
    try:
        deadline = time.monotonic() + 10
        while fd_count(server) < base + 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fd_count(server) >= base + 20  # all accepted: the test sees the leak
        for s in socks:  # the handshake never starts: the timeout must still end it
            wait_closed(s)
    finally:
        for s in socks:
            s.close()
    assert wait_fds(server, base) == base
    assert close_wait_sockets(server) == 0


def test_half_done_tls_handshake_is_closed(server):
    base = settled_fd_count(server)
    ctx = unverified_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=HOSTNAME)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    with socket.create_connection(server.addr("pop3s")) as s:
        s.sendall(outgoing.read())  # ClientHello, then nothing more
        wait_closed(s)
    assert wait_fds(server, base) == base


@pytest.mark.parametrize("port,starttls", [("submission", "STARTTLS"), ("pop3", "STLS")])
def test_starttls_without_a_handshake_is_closed(server, port, starttls):
    base = settled_fd_count(server)
    with socket.create_connection(server.addr(port)) as s:
        f = s.makefile("rb")
        f.readline()
        if port == "submission":
            s.sendall(b"EHLO client.test\r\n")
            while not f.readline().startswith(b"250 "):
                pass
        s.sendall(starttls.encode() + b"\r\n")
        assert f.readline()[:3] in (b"220", b"+OK")
        wait_closed(s)  # no ClientHello ever comes
    assert wait_fds(server, base) == base


def dribble(sock, data, every=0.5):
    """Send data a byte at a time until the server answers or closes; returns what it
    sent (b"" when it just closed). Fails if it still listens after CLOSE_WITHIN."""
    start = time.monotonic()
    for ch in data:
        try:
            sock.sendall(bytes([ch]))
        except OSError:
            return b""
        sock.settimeout(every)
        try:
            got = sock.recv(4096)
            return got
        except socket.timeout:
            pass
        except OSError:
            return b""
        assert time.monotonic() - start < CLOSE_WITHIN, "dribbling kept it open"
    raise AssertionError("ran out of bytes to dribble")


def test_byte_every_half_second_does_not_hold_a_command_line_open(server):
    # the server waits TIMEOUT for a whole command (RFC 5321 4.5.3.2.7), not per byte
    with RawSMTP(server.host, server.ports["smtp"]) as r:
        assert r.reply()[0] == 220
        start = time.monotonic()
        got = dribble(r.sock, b"NOOP" * 1000)
        assert got.startswith(b"421") or got == b"", got
        assert time.monotonic() - start >= TIMEOUT - 0.5


def test_body_dribble_is_closed(server):
    user = unique_user("dribble")
    server.user_add(user, PASSWORD)
    with RawSMTP(server.host, server.ports["smtp"]) as r:
        assert r.reply()[0] == 220
        assert r.cmd("EHLO client.test")[0] == 250
        assert r.cmd("MAIL FROM:<a@sender.invalid>")[0] == 250
        assert r.cmd(f"RCPT TO:<{user}>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        # a body counts as progress per LIMIT_BODY_PROGRESS octets, not per byte
        got = dribble(r.sock, b"x" * 100000)
        assert got.startswith(b"421"), got
    assert server.messages(user) == []


def test_pop3_must_log_in_in_time_even_when_busy(server):
    with RawPOP3(server.host, server.ports["pop3"]) as p:
        start = time.monotonic()
        reply = b""
        while time.monotonic() - start < CLOSE_WITHIN:
            try:
                reply = p.cmd("USER someone")  # whole commands: progress, no login
            except (ConnectionError, OSError):
                break
            if not reply.startswith(b"+OK"):
                break
            time.sleep(0.3)
        assert reply.startswith(b"-ERR Timeout"), reply
        assert time.monotonic() - start >= TIMEOUT - 0.5


def test_pop3_idle_after_login_times_out_and_deletes_nothing(server):
    # RFC 1939 3: the autologout timer; a timed-out session never enters UPDATE
    user = unique_user("idle")
    server.user_add(user, PASSWORD)
    deliver(server, user, make_message("idle"))
    with RawPOP3(server.host, server.ports["pop3"]) as p:
        p.login(user, PASSWORD)
        assert p.cmd("DELE 1").startswith(b"+OK")
        assert wait_closed(p.sock).startswith(b"-ERR Timeout")
    assert len(server.messages(user)) == 1


def test_reader_that_never_reads_is_dropped(server):
    """Output stuck in a full socket buffer: the close grace ends it."""
    user = unique_user("noread")
    server.user_add(user, PASSWORD)
    big = make_message("huge", body=(b"z" * 998 + b"\r\n") * 8000)  # 8 MB
    deliver(server, user, big)
    base = settled_fd_count(server)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(server.addr("pop3"))
    s.sendall(f"USER {user}\r\nPASS {PASSWORD}\r\nRETR 1\r\n".encode())
    time.sleep(0.5)  # let it start streaming into our small window; we never read
    try:
        assert wait_fds(server, base, timeout=TIMEOUT + 30) == base
    finally:
        s.close()


@pytest.mark.kasten(config={"limits": {"max_connections_per_ip": 5}})
def test_connections_per_ip_are_capped(server):
    settled_fd_count(server)  # the start-up probes' connections are gone
    socks = []
    try:
        for _ in range(5):
            s = RawSMTP(server.host, server.ports["smtp"])
            assert s.reply()[0] == 220
            socks.append(s)
        extra = RawSMTP(server.host, server.ports["smtp"])
        code, lines = extra.reply()
        assert code == 421 and "Too many connections" in lines[0]
        extra.close()
        socks.pop().close()
        deadline = time.monotonic() + 10  # a slot frees once the server saw the close
        while True:
            again = RawSMTP(server.host, server.ports["smtp"])
            code, _ = again.reply()
            if code == 220 or time.monotonic() > deadline:
                break
            again.close()
            time.sleep(0.1)
        assert code == 220
        again.close()
    finally:
        for s in socks:
            s.close()


@pytest.mark.kasten(config={"limits": {"max_unauthenticated_per_ip": 3}})
def test_unauthenticated_connections_per_ip_are_capped(server):
    settled_fd_count(server)
    user = unique_user("cap")
    server.user_add(user, PASSWORD)
    pops = [RawPOP3(server.host, server.ports["pop3"]) for _ in range(3)]
    try:
        extra = RawPOP3(server.host, server.ports["pop3"])
        assert extra.greeting.startswith(b"-ERR [SYS/TEMP] Too many connections")
        extra.close()
        # MX connections have no login: they are not counted against the cap
        with RawSMTP(server.host, server.ports["smtp"]) as r:
            assert r.reply()[0] == 220
        pops[0].login(user, PASSWORD)  # logged in: no longer unauthenticated
        deadline = time.monotonic() + 10
        while True:
            p = RawPOP3(server.host, server.ports["pop3"])
            if p.greeting.startswith(b"+OK") or time.monotonic() > deadline:
                break
            p.close()
        assert p.greeting.startswith(b"+OK")
        p.close()
    finally:
        for p in pops:
            p.close()
