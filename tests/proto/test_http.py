"""The HTTP/1.1 server (issue 10, item 1; src/http): message syntax and framing by RFC
9112, status codes by RFC 9110, problem bodies by RFC 7807, the three listeners (http,
https with implicit TLS, admin with /healthz and /metrics only).

Raw sockets for the byte-exact cases (smuggling, bounds, pipelining, 100-continue);
curl as the real client for https and the admin endpoints. The routes used are the
admin listener's GET /healthz (takes a body of up to 64 KiB, like every route without
a maximum of its own) and unknown paths on the public listeners."""

import json
import socket
import ssl
import subprocess
import time

import pytest

from kasten_test import HOSTNAME

KASTEN_LISTEN = ("http", "https", "admin")

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


# ---- a raw client ----

def connect(server, name="admin", timeout=10):
    s = socket.create_connection(server.addr(name), timeout=timeout)
    if name == "https":
        ctx = ssl.create_default_context(cafile=str(server.data / "tls" / "cert.pem"))
        s = ctx.wrap_socket(s, server_hostname=HOSTNAME)
    return s


def read_until_closed(sock, timeout=10):
    """Everything the server sends until it closes the connection (fails if it does not)."""
    sock.settimeout(timeout)
    out = b""
    while True:
        try:
            d = sock.recv(65536)
        except ConnectionResetError:
            break
        if not d:
            break
        out += d
    return out


def parse_responses(data, head_requests=()):
    """Split data into responses: [(status, {lowercase name: value}, body)]. Bodies are
    framed by Content-Length (none for indexes in head_requests), or run to the end."""
    out = []
    i = 0
    while i < len(data):
        end = data.index(b"\r\n\r\n", i)
        lines = data[i:end].split(b"\r\n")
        version, status, _ = lines[0].split(b" ", 2)
        assert version == b"HTTP/1.1", lines[0]
        headers = {}
        for line in lines[1:]:
            name, value = line.split(b":", 1)
            key = name.decode().lower()
            assert key not in headers, f"{key} sent twice"
            headers[key] = value.strip().decode()
        i = end + 4
        status = int(status)
        if status == 100:
            out.append((status, headers, b""))
            continue
        if len(out) in head_requests:
            n = 0
        elif "content-length" in headers:
            n = int(headers["content-length"])
        else:
            n = len(data) - i
        out.append((status, headers, data[i:i + n]))
        i += n
    return out


def exchange(server, data, name="admin"):
    """Send data, half-close, and return the parsed responses."""
    with connect(server, name) as s:
        s.sendall(data)
        if name != "https":
            s.shutdown(socket.SHUT_WR)
        return parse_responses(read_until_closed(s))


def recv_response(sock, timeout=10):
    """One response with a Content-Length body, read from a kept-open connection."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        assert d, f"closed before a whole response: {buf!r}"
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, v = line.split(b":", 1)
        if k.lower() == b"content-length":
            n = int(v)
    while len(rest) < n:
        d = sock.recv(65536)
        assert d
        rest += d
    assert len(rest) == n, "more bytes than the answer announced"
    return parse_responses(head + b"\r\n\r\n" + rest)[0]


def get(path, extra=b"", version=b"HTTP/1.1"):
    return b"GET " + path + b" " + version + b"\r\nHost: " + HOSTNAME.encode() + b"\r\n" + \
        extra + b"\r\n"


def assert_problem(resp, status):
    """RFC 7807 3.1: type, title, status (and the media type of 6.1)."""
    st, headers, body = resp
    assert st == status
    assert headers["content-type"] == "application/problem+json"
    p = json.loads(body)
    assert p["status"] == status
    assert p["type"] == "about:blank" and p["title"]


def curl(*args):
    r = subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


# ---- the listeners ----

def test_admin_serves_healthz_and_metrics_with_curl(mserver):
    host, port = mserver.addr("admin")
    out = curl("-i", f"http://{host}:{port}/healthz")
    head, body = out.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert body == b"ok\n"
    out = curl("-i", f"http://{host}:{port}/metrics")
    head, body = out.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n" in head
    assert b"\nkasten_up 1\n" in b"\n" + body
    assert b"# TYPE " in body


def metric(server, name):
    host, port = server.addr("admin")
    for line in curl(f"http://{host}:{port}/metrics").decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_metrics_count_public_answers_by_class(mserver):
    """Answers of the public listeners count by status class; scraping does not."""
    four = 'kasten_http_responses_total{code="4xx"}'
    two = 'kasten_http_responses_total{code="2xx"}'
    before4, before2 = metric(mserver, four), metric(mserver, two)
    for _ in range(3):
        exchange(mserver, get(b"/nothing"), "http")
    assert metric(mserver, four) == before4 + 3
    assert metric(mserver, two) == before2
    assert metric(mserver, 'kasten_command_duration_seconds_count{protocol="http"}') >= 3


def test_public_listeners_404_the_admin_endpoints(mserver):
    for name in ("http", "https"):
        for path in (b"/healthz", b"/metrics"):
            (resp,) = exchange(mserver, get(path, b"Connection: close\r\n"), name)
            assert_problem(resp, 404)


def test_https_with_curl_and_the_servers_certificate(mserver):
    """The self-signed certificate in <data>/tls/ verifies for the hostname; answers over
    TLS carry Strict-Transport-Security (RFC 6797 7.2), plain ones never do."""
    _, port = mserver.addr("https")
    out = curl("-i", "--cacert", str(mserver.data / "tls" / "cert.pem"),
               "--resolve", f"{HOSTNAME}:{port}:127.0.0.1", f"https://{HOSTNAME}:{port}/nothing")
    head, body = out.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert b"\r\nStrict-Transport-Security: max-age=31536000" in head
    assert json.loads(body)["status"] == 404
    (resp,) = exchange(mserver, get(b"/nothing", b"Connection: close\r\n"), "http")
    assert "strict-transport-security" not in resp[1]


def test_every_answer_carries_the_security_headers(mserver):
    cases = [(get(b"/healthz"), 200), (get(b"/nothing"), 404),
             (b"POST /healthz HTTP/1.1\r\nHost: a\r\n\r\n", 405),
             (b"GET / HTTP/1.1\r\n\r\n", 400)]
    for req, status in cases:
        (resp,) = exchange(mserver, req + get(b"/healthz", b"Connection: close\r\n"))[:1]
        st, headers, body = resp
        assert st == status
        for k, v in SECURITY_HEADERS.items():
            assert headers.get(k) == v, (status, k)
        assert headers["content-length"] == str(len(body))
        assert headers["date"].endswith(" GMT")  # RFC 9110 5.6.7 IMF-fixdate
        time.strptime(headers["date"], "%a, %d %b %Y %H:%M:%S GMT")


def test_405_lists_the_allowed_methods(mserver):
    """RFC 9110 15.5.6: 405 with Allow; GET routes take HEAD too (9.3.2)."""
    (resp,) = exchange(mserver, b"DELETE /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert_problem(resp, 405)
    assert resp[1]["allow"] == "GET, HEAD"


def test_unknown_methods_are_501(mserver):
    """RFC 9110 9.1: a method the server does not implement is 501, on any path."""
    for method in (b"BREW", b"TRACE", b"CONNECT", b"get"):
        target = b"a:443" if method == b"CONNECT" else b"/healthz"
        (resp,) = exchange(mserver, method + b" " + target + b" HTTP/1.1\r\nHost: a\r\n"
                           b"Connection: close\r\n\r\n")
        assert resp[0] in (400, 501), method  # CONNECT's authority-form target: 400
        assert_problem(resp, resp[0])
        if method != b"CONNECT":
            assert resp[0] == 501


# ---- connections ----

def test_keep_alive_serves_several_requests_on_one_connection(mserver):
    """RFC 9112 9.3: HTTP/1.1 connections persist."""
    with connect(mserver) as s:
        for path, status in ((b"/healthz", 200), (b"/nothing", 404), (b"/metrics", 200),
                             (b"/healthz", 200)):
            s.sendall(get(path))
            st, headers, _ = recv_response(s)
            assert st == status
            assert "connection" not in headers


def test_pipelined_requests_are_answered_in_order(mserver):
    """RFC 9112 9.3.2: answers in the order of the requests, all from one write."""
    reqs = get(b"/healthz") + get(b"/nothing") + \
        b"HEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\n" + get(b"/metrics") + \
        get(b"/healthz", b"Connection: close\r\n")
    with connect(mserver) as s:
        s.sendall(reqs)
        out = parse_responses(read_until_closed(s), head_requests=(2,))
    assert [r[0] for r in out] == [200, 404, 200, 200, 200]
    assert out[0][2] == b"ok\n" and out[4][2] == b"ok\n"
    assert b"kasten_up" in out[3][2]
    assert out[4][1]["connection"] == "close"


def test_head_is_get_without_the_body(mserver):
    """RFC 9110 9.3.2: the same fields as GET, Content-Length included, no content."""
    with connect(mserver) as s:
        s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\n" + get(b"/healthz"))
        time.sleep(0.3)
        s.shutdown(socket.SHUT_WR)
        data = read_until_closed(s)
    head, rest = data.split(b"\r\n\r\n", 1)
    assert b"\r\nContent-Length: 3\r\n" in head + b"\r\n"
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n")  # nothing between the two answers
    assert rest.endswith(b"\r\n\r\nok\n")


def test_http10_closes_unless_keep_alive(mserver):
    """RFC 9112 9.3: HTTP/1.0 persists only with keep-alive."""
    with connect(mserver) as s:
        s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        (resp,) = parse_responses(read_until_closed(s))
    assert resp[0] == 200 and resp[1]["connection"] == "close"
    with connect(mserver) as s:
        s.sendall(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        st, headers, _ = recv_response(s)
        assert st == 200 and headers["connection"] == "keep-alive"
        s.sendall(get(b"/healthz"))
        assert recv_response(s)[0] == 200


def test_connection_close_is_honoured(mserver):
    with connect(mserver) as s:
        s.sendall(get(b"/healthz", b"Connection: close\r\n") + get(b"/healthz"))
        out = parse_responses(read_until_closed(s))
    assert len(out) == 1 and out[0][1]["connection"] == "close"


def test_absolute_form_target(mserver):
    """RFC 9112 3.2.2: a server accepts the absolute-form."""
    (resp,) = exchange(mserver, b"GET http://" + HOSTNAME.encode() +
                       b"/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert resp[0] == 200 and resp[2] == b"ok\n"


# ---- bodies ----

def test_chunked_body_is_read_and_the_connection_goes_on(mserver):
    """RFC 9112 7.1: chunk extensions skipped, the trailer section read and dropped."""
    req = (b"GET /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5;ext=\"x\"\r\nhello\r\n1a\r\n" + b"z" * 26 + b"\r\n0\r\nTrailer-Field: 1\r\n\r\n")
    out = exchange(mserver, req + get(b"/healthz", b"Connection: close\r\n"))
    assert [r[0] for r in out] == [200, 200]


def test_content_length_body_is_read(mserver):
    out = exchange(mserver, b"GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
                   b"hello" + get(b"/healthz", b"Connection: close\r\n"))
    assert [r[0] for r in out] == [200, 200]


def test_expect_100_continue(mserver):
    """RFC 9110 10.1.1: 100 before the body only when the route takes its size; a body
    past the maximum gets 413 at once, without 100, and the connection closes."""
    with connect(mserver) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                  b"Content-Length: 10\r\n\r\n")
        s.settimeout(10)
        assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"0123456789")
        assert recv_response(s)[0] == 200
    with connect(mserver) as s:  # no half-close: the server closes by itself
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                  b"Content-Length: 65537\r\n\r\n")
        t0 = time.monotonic()
        (resp,) = parse_responses(read_until_closed(s))
        assert time.monotonic() - t0 < 8
    assert_problem(resp, 413)
    assert resp[1]["connection"] == "close"
    (resp,) = exchange(mserver, get(b"/healthz", b"Expect: tea\r\n"))
    assert_problem(resp, 417)


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_body_past_the_route_maximum_is_413_and_closes(mserver, framing):
    """The default route maximum is 64 KiB (LIMIT_HTTP_BODY_DEFAULT): at it 200, one
    octet past it 413 and the connection closes (the rest is never read as requests)."""
    limit = 64 * 1024
    for size, status in ((limit, 200), (limit + 1, 413)):
        body = b"x" * size
        if framing == "length":
            req = b"GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % size + body
        else:
            half = size // 2
            req = (b"GET /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
                   b"%x\r\n" % half + body[:half] + b"\r\n" +
                   b"%x\r\n" % (size - half) + body[half:] + b"\r\n0\r\n\r\n")
        out = exchange(mserver, req + get(b"/healthz", b"Connection: close\r\n"))
        if status == 200:
            assert [r[0] for r in out] == [200, 200]
        else:
            assert len(out) == 1
            assert_problem(out[0], 413)
            assert out[0][1]["connection"] == "close"


# ---- bounds (RFC 9112 3, 5; RFC 9110 15.5.15, RFC 6585 5) ----

def test_request_line_bound_414(mserver):
    """8 KiB request line with its CRLF: at the bound served, one octet past it 414."""
    base = len(b"GET /healthz? HTTP/1.1\r\n")
    for extra, status in ((0, 200), (1, 414)):
        query = b"a" * (8192 - base + extra)
        line = b"GET /healthz?" + query + b" HTTP/1.1\r\n"
        assert len(line) == 8192 + extra
        out = exchange(mserver, line + b"Host: a\r\nConnection: close\r\n\r\n")
        assert len(out) == 1 and out[0][0] == status
        if status == 414:
            assert_problem(out[0], 414)
            assert out[0][1]["connection"] == "close"


def test_header_section_bounds_431(mserver):
    """32 KiB of header section and 100 fields: at each bound served, past it 431."""
    for extra, status in ((0, 200), (1, 431)):
        fixed = len(b"Host: a\r\nConnection: close\r\nX: \r\n\r\n")
        section = b"Host: a\r\nConnection: close\r\nX: " + b"v" * (32768 - fixed + extra) + \
            b"\r\n\r\n"
        assert len(section) == 32768 + extra
        out = exchange(mserver, b"GET /healthz HTTP/1.1\r\n" + section)
        assert len(out) == 1 and out[0][0] == status
    for fields, status in ((100, 200), (101, 431)):
        section = b"Host: a\r\nConnection: close\r\n" + \
            b"".join(b"F%d: x\r\n" % i for i in range(fields - 2)) + b"\r\n"
        out = exchange(mserver, b"GET /healthz HTTP/1.1\r\n" + section)
        assert len(out) == 1 and out[0][0] == status
        if status == 431:
            assert_problem(out[0], 431)


# ---- request smuggling (RFC 9112 6.1, 6.3, 5.1, 5.2, 2.2) ----

SMUGGLED = get(b"/metrics", b"Connection: close\r\n")
SMUGGLING = {
    # CL.TE / TE.CL: both framings at once (6.3 item 3: 400 and close)
    "te_and_cl": b"GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % (5 + len(SMUGGLED)) + SMUGGLED,
    "cl_and_te": b"GET /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                 b"Content-Length: 3\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "two_cl": b"GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
              b"Content-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED,
    "cl_list": b"GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 0, %d\r\n\r\n"
               % len(SMUGGLED) + SMUGGLED,
    "cl_sign": b"GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: +0\r\n\r\n" + SMUGGLED,
    "two_te": b"GET /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
              b"Transfer-Encoding: identity\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "te_not_final_chunked": b"GET /healthz HTTP/1.1\r\nHost: a\r\n"
                            b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "te_obfuscated": b"GET /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n"
                     b"0\r\n\r\n" + SMUGGLED,
    "te_in_http10": b"GET /healthz HTTP/1.0\r\nTransfer-Encoding: chunked\r\n"
                    b"Connection: keep-alive\r\n\r\n0\r\n\r\n" + SMUGGLED,
    # 5.1: no whitespace between the field name and the colon
    "space_before_colon": b"GET /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n"
                          b"Content-Length: 0\r\n\r\n0\r\n\r\n" + SMUGGLED,
    # 5.2: obs-fold
    "obs_fold": b"GET /healthz HTTP/1.1\r\nHost: a\r\nX: y\r\n Transfer-Encoding: chunked\r\n\r\n"
                b"0\r\n\r\n" + SMUGGLED,
    # 2.2: bare LF and bare CR
    "bare_lf": b"GET /healthz HTTP/1.1\r\nHost: a\nContent-Length: 0\r\n\r\n" + SMUGGLED,
    "bare_cr": b"GET /healthz HTTP/1.1\r\nHost: a\rContent-Length: 0\r\n\r\n" + SMUGGLED,
    # 7.1: chunk sizes only in plain hex, chunk data ended by CRLF
    "chunk_size_prefix": b"GET /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"0x0\r\n\r\n" + SMUGGLED,
    "chunk_data_overrun": b"GET /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"1\r\nab\r\n0\r\n\r\n" + SMUGGLED,
    "chunk_bare_lf": b"GET /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"0\n\r\n" + SMUGGLED,
    # 3.2: exactly one Host in HTTP/1.1
    "no_host": b"GET /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n" + SMUGGLED,
    "two_hosts": b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + SMUGGLED,
    # 3: one SP between the parts of the request line
    "request_line_spaces": b"GET  /healthz HTTP/1.1\r\nHost: a\r\n\r\n" + SMUGGLED,
    "nul_in_field": b"GET /healthz HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n" + SMUGGLED,
}


@pytest.mark.parametrize("name", sorted(SMUGGLING))
def test_smuggling_forms_get_400_and_close(mserver, name):
    """Each ambiguous framing is refused with 400 and the connection closes: the bytes
    after it (a second request) are never answered."""
    out = exchange(mserver, SMUGGLING[name])
    assert len(out) == 1, [r[0] for r in out]
    assert_problem(out[0], 400)
    assert out[0][1]["connection"] == "close"


def test_other_codings_501_and_versions_505(mserver):
    (resp,) = exchange(mserver, b"GET /healthz HTTP/1.1\r\nHost: a\r\n"
                       b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + SMUGGLED)
    assert_problem(resp, 501)
    (resp,) = exchange(mserver, b"GET /healthz HTTP/2.0\r\nHost: a\r\n\r\n" + SMUGGLED)
    assert_problem(resp, 505)


def test_body_of_an_unknown_path_is_not_read_as_requests(mserver):
    """A 404 for a request with a body closes: the body is never parsed as a request."""
    out = exchange(mserver, b"POST /nothing HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n"
                   % len(SMUGGLED) + SMUGGLED)
    assert len(out) == 1
    assert_problem(out[0], 404)
    assert out[0][1]["connection"] == "close"


# ---- timeouts and limits ----

@pytest.mark.kasten(config={"limits": {"http_timeout": "2"}})
def test_idle_timeout_closes_silent_and_kept_alive_connections(server):
    with connect(server) as s:
        t0 = time.monotonic()
        assert read_until_closed(s, timeout=20) == b""  # RFC 9112 9.5: no late 408
        assert 1.5 < time.monotonic() - t0 < 15
    with connect(server) as s:
        s.sendall(get(b"/healthz"))
        assert recv_response(s)[0] == 200
        t0 = time.monotonic()
        assert read_until_closed(s, timeout=20) == b""
        assert 1.5 < time.monotonic() - t0 < 15
    with connect(server) as s:  # a header section trickling in does not hold it open
        t0 = time.monotonic()
        s.settimeout(1)
        closed = False
        while time.monotonic() - t0 < 15 and not closed:
            try:
                s.sendall(b"X")
                closed = s.recv(1) == b""
            except socket.timeout:
                pass
            except (BrokenPipeError, ConnectionResetError):
                closed = True
        assert closed and time.monotonic() - t0 < 15


@pytest.mark.kasten(config={"limits": {"max_connections_per_ip": "3"}})
def test_per_client_connection_limit(server):
    held = []
    try:
        for name in ("admin", "http", "admin"):
            held.append(connect(server, name))
            # answered: accepted and counted before the next one (two loop threads
            # accept in any order)
            held[-1].sendall(get(b"/healthz"))
            assert recv_response(held[-1])[0] in (200, 404)
        with connect(server) as s:
            data = read_until_closed(s)
        assert data.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        (resp,) = parse_responses(data)
        assert resp[1]["connection"] == "close"
    finally:
        for s in held:
            s.close()
    deadline = time.monotonic() + 10
    while True:  # the slots come back once the server saw the closes
        with connect(server) as s:
            s.sendall(get(b"/healthz", b"Connection: close\r\n"))
            out = read_until_closed(s)
        if out.startswith(b"HTTP/1.1 200") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert out.startswith(b"HTTP/1.1 200")
