"""The HTTP server's large bodies and long answers (src/http/http_session.c, http_reply.c),
through the JMAP routes that use them: a request body past 1 MiB goes to an unlinked
spool file, not memory; a file answer streams in bounded memory however slowly the
client reads (RFC 9112 6: Content-Length framing); an event stream is chunked on
HTTP/1.1 (RFC 9112 7.1) and close-delimited on HTTP/1.0 (6.3 item 8), and the server
notices the client leaving. Memory is read from /proc/PID/status (VmRSS)."""

import base64
import hashlib
import json
import os
import socket
import time

from kasten_test import asan_build, deliver, make_message, unique_user

KASTEN_LISTEN = ("smtp", "http", "admin")
KASTEN_CONFIG = {"http": {"max_upload_size": "64M"}}
PASSWORD = "Http-stream-pass-1"
MIB = 1 << 20


def basic(user):
    return "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()


def rss(server):
    with open(f"/proc/{server.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def read_head(sock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        assert d, f"closed before the head: {buf!r}"
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        k, v = line.split(b":", 1)
        headers[k.decode().lower()] = v.strip().decode()
    return int(lines[0].split()[1]), headers, rest


def user(server):
    a = unique_user("hs")
    server.user_add(a, PASSWORD)
    return a


def account(server, auth):
    with socket.create_connection(server.addr("http"), timeout=10) as s:
        s.sendall(f"GET /jmap/session HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n"
                  "Connection: close\r\n\r\n".encode())
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    body = data.split(b"\r\n\r\n", 1)[1]
    return next(iter(json.loads(body)["accounts"]))


def spool_files(server):
    return [n for n in os.listdir(server.data / "spool") if n.startswith("http-")]


def test_large_chunked_upload_is_spooled_and_streamed_back_in_bounded_memory(mserver):
    a = user(mserver)
    auth = basic(a)
    acct = account(mserver, auth)
    size = 40 * MIB
    block = hashlib.sha256(b"kasten").digest() * 2048  # 64 KiB, not all one byte
    want = hashlib.sha256(block * (size // len(block))).hexdigest()
    base = rss(mserver)
    with socket.create_connection(mserver.addr("http"), timeout=30) as s:
        s.sendall(f"POST /jmap/upload/{acct}/ HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n"
                  "Content-Type: application/octet-stream\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n".encode())
        peak = 0
        for i in range(size // len(block)):
            s.sendall(b"%x\r\n" % len(block) + block + b"\r\n")
            if i == 64:  # 4 MiB in: past the memory bound, in a file that has no name
                assert spool_files(mserver) == []
            if i % 64 == 63:  # the server reads as it arrives: sample it on the way
                peak = max(peak, rss(mserver) - base)
        s.sendall(b"0\r\n\r\n")
        st, h, rest = read_head(s)
        while len(rest) < int(h["content-length"]):
            rest += s.recv(65536)
    assert st == 201, rest
    blob = json.loads(rest)
    assert blob["size"] == size
    # ASan keeps freed blocks in its quarantine (256 MB by default): resident memory
    # says nothing there; the other builds must stay flat
    if not asan_build(mserver.pid):
        assert peak < 12 * MIB, f"the upload grew the server by {peak >> 20} MiB"

    # a client reading slowly: the answer is read from the file as it drains
    base = rss(mserver)
    with socket.create_connection(mserver.addr("http"), timeout=30) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.sendall(f"GET /jmap/download/{acct}/{blob['blobId']}/b.bin HTTP/1.1\r\nHost: x\r\n"
                  f"Authorization: {auth}\r\n\r\n".encode())
        st, h, rest = read_head(s)
        assert st == 200 and int(h["content-length"]) == size
        assert "transfer-encoding" not in h
        digest = hashlib.sha256(rest)
        got = len(rest)
        peak = 0
        while got < size:
            d = s.recv(min(256 * 1024, size - got))
            assert d
            digest.update(d)
            got += len(d)
            if got < 8 * MIB:
                time.sleep(0.002)  # slow at first: the server must wait, not buffer
            peak = max(peak, rss(mserver) - base) if got % (4 * MIB) < len(d) else peak
        # the next request on the same connection: the length was exact
        s.sendall(f"GET /jmap/session HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n"
                  .encode())
        assert read_head(s)[0] == 200
    assert digest.hexdigest() == want
    if not asan_build(mserver.pid):  # see the upload's test
        assert peak < 12 * MIB, f"the download grew the server by {peak >> 20} MiB"


def test_event_stream_chunked_on_http11_close_delimited_on_http10(mserver):
    a = user(mserver)
    auth = basic(a)
    for version in ("1.1", "1.0"):
        with socket.create_connection(mserver.addr("http"), timeout=10) as s:
            s.sendall(f"GET /jmap/eventsource?types=*&closeafter=no&ping=0 HTTP/{version}\r\n"
                      f"Host: x\r\nAuthorization: {auth}\r\n\r\n".encode())
            st, h, rest = read_head(s)
            assert st == 200 and h["content-type"].startswith("text/event-stream")
            assert "content-length" not in h
            assert h["cache-control"] == "no-cache"
            if version == "1.1":
                assert h["transfer-encoding"] == "chunked"  # RFC 9112 7.1
            else:
                assert "transfer-encoding" not in h and h["connection"] == "close"
            deliver(mserver, a, make_message("stream", b"Event me.\r\n"))
            s.settimeout(10)
            while b"event: state" not in rest or not rest.endswith(b"\n\n" if version == "1.0"
                                                                    else b"\r\n"):
                d = s.recv(65536)
                assert d, rest
                rest += d
            if version == "1.1":
                # each write one chunk: size line, exactly that many octets, CRLF
                data = b""
                while rest:
                    line, rest = rest.split(b"\r\n", 1)
                    n = int(line, 16)
                    assert n > 0 and rest[n:n + 2] == b"\r\n"
                    data += rest[:n]
                    rest = rest[n + 2:]
            else:
                data = rest
            assert b"event: state\n" in data and data.endswith(b"\n\n")
        # the client left: the server drops the watch (a later change finds nobody)
    deliver(mserver, a, make_message("after", b"Nobody listens.\r\n"))
    time.sleep(0.3)
    assert mserver.running


def test_event_stream_head_has_no_body(mserver):
    """RFC 9110 9.3.2: HEAD of a stream is its head only, and the connection ends."""
    a = user(mserver)
    with socket.create_connection(mserver.addr("http"), timeout=10) as s:
        s.sendall(f"HEAD /jmap/eventsource?types=*&closeafter=no&ping=0 HTTP/1.1\r\nHost: x\r\n"
                  f"Authorization: {basic(a)}\r\n\r\n".encode())
        st, h, rest = read_head(s)
        assert st == 200 and h["content-type"].startswith("text/event-stream")
        s.settimeout(5)
        assert rest + s.recv(65536) == b""  # closed, nothing after the head
    deliver(mserver, a, make_message("head", b"Not streamed.\r\n"))  # its watch is gone
    time.sleep(0.3)
    assert mserver.running
