"""The JMAP core over HTTP (issue 10, item 3 and 5; RFC 8620): the session resource, the
request engine's errors, result references, authentication (Basic with the shared login
penalty, the webmail login's cookie and Bearer token, CSRF), blob upload/download with
isolation between accounts, and push over EventSource.

Every test talks to a real `kasten serve` over loopback; curl is the client where one
real client is enough (Basic auth, the session resource)."""

import base64
import http.client
import json
import re
import subprocess
import time

import pytest

from jmap_test import EventStream
from kasten_test import (RawIMAP, RawPOP3, deliver, make_message, unique_user)

KASTEN_LISTEN = ("smtp", "imap", "pop3", "http", "admin")
KASTEN_CONFIG = {"limits": {"max_unauthenticated_per_ip": 100},
                 "http": {"max_upload_size": "2M"}}
PASSWORD = "Jmap-core-pass-1"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
CHALLENGE = 'Basic realm="kasten", Bearer realm="kasten"'


# ---- helpers ----

def basic(user, password=PASSWORD):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def request(server, method, path, body=None, headers=None, timeout=30):
    """(status, {lower-case header: value}, body bytes, raw header list)."""
    c = http.client.HTTPConnection(server.host, server.ports["http"], timeout=timeout)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data, r.getheaders()
    finally:
        c.close()


def api(server, auth, req, extra=None):
    """POST /jmap/api with the Authorization value auth; (status, parsed JSON)."""
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    headers.update(extra or {})
    st, h, body, _ = request(server, "POST", "/jmap/api", req, headers)
    return st, json.loads(body) if body else None


def echo_req(*calls, using=(CORE,)):
    return {"using": list(using), "methodCalls": [list(c) for c in calls]}


def user(server, prefix="jm", quota=None):
    a = unique_user(prefix)
    server.user_add(a, PASSWORD, quota=quota)
    return a


def account_id(server, a):
    st, _, body, _ = request(server, "GET", "/jmap/session", headers={"Authorization": basic(a)})
    assert st == 200, body
    return next(iter(json.loads(body)["accounts"]))


def login(server, a, password=PASSWORD, headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return request(server, "POST", "/jmap/login", {"username": a, "password": password}, h)


def session_cookie(headers):
    m = re.match(r"kasten_session=([^;]*)", headers.get("set-cookie", ""))
    assert m, headers
    return m.group(1)


def assert_problem(status, headers, body, want_status, want_type=None, limit=None):
    assert status == want_status, (status, body)
    assert headers["content-type"].startswith("application/problem+json"), headers
    p = json.loads(body)
    assert p["status"] == want_status, p
    if want_type:
        assert p["type"] == want_type, p
    if limit:
        assert p["limit"] == limit, p
    return p


# ---- the session resource (RFC 8620 2) ----

def test_session_requires_credentials(mserver):
    """RFC 8620 2, RFC 9110 11.6.1, RFC 6750 3: 401 with both challenges."""
    for method, path in (("GET", "/.well-known/jmap"), ("GET", "/jmap/session"),
                         ("POST", "/jmap/api"), ("GET", "/jmap/eventsource"),
                         ("GET", "/jmap/download/A1/U0/x"), ("POST", "/jmap/upload/A1/")):
        st, h, body, _ = request(mserver, method, path, b"{}" if method == "POST" else None)
        assert_problem(st, h, body, 401)
        assert h["www-authenticate"] == CHALLENGE, (path, h)


def test_session_resource_with_curl(mserver):
    """RFC 8620 2: every member, the limits we enforce, the URL templates (2.1)."""
    a = user(mserver)
    port = mserver.ports["http"]
    r = subprocess.run(["curl", "-sS", "-u", f"{a}:{PASSWORD}", "-D", "-",
                        f"http://127.0.0.1:{port}/.well-known/jmap"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, check=True)
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"content-type: application/json" in head.lower()
    s = json.loads(body)
    acct = next(iter(s["accounts"]))
    assert re.fullmatch(r"A[1-9][0-9]*", acct)
    assert s["capabilities"][CORE] == {
        "maxSizeUpload": 2 * 1024 * 1024, "maxConcurrentUpload": 4,
        "maxSizeRequest": 10000000, "maxConcurrentRequests": 4, "maxCallsInRequest": 64,
        "maxObjectsInGet": 500, "maxObjectsInSet": 500,
        "collationAlgorithms": ["i;ascii-numeric", "i;ascii-casemap", "i;unicode-casemap"]}
    assert set(s["capabilities"]) == {CORE, MAIL, "urn:ietf:params:jmap:submission",
                                      "urn:ietf:params:jmap:quota",
                                      "https://kasten.dev/jmap/account"}
    assert s["accounts"] == {acct: {
        "name": a, "isPersonal": True, "isReadOnly": False,
        "accountCapabilities": {
            MAIL: {"maxMailboxesPerEmail": None, "maxMailboxDepth": None,
                   "maxSizeMailboxName": 512,
                   "maxSizeAttachmentsPerEmail": 10 * 1024 * 1024 // 4 * 3,
                   "emailQuerySortOptions": ["receivedAt", "size", "from", "to", "subject",
                                             "sentAt", "hasKeyword", "allInThreadHaveKeyword",
                                             "someInThreadHaveKeyword"],
                   "mayCreateTopLevelMailbox": True},
            "urn:ietf:params:jmap:submission": {"maxDelayedSend": 0,
                                                "submissionExtensions": {}},
            "urn:ietf:params:jmap:quota": {},
            "https://kasten.dev/jmap/account": {}}}}
    assert s["primaryAccounts"] == {MAIL: acct, "urn:ietf:params:jmap:submission": acct,
                                    "urn:ietf:params:jmap:quota": acct,
                                    "https://kasten.dev/jmap/account": acct}
    assert s["username"] == a
    base = f"http://127.0.0.1:{port}"
    assert s["apiUrl"] == base + "/jmap/api"
    assert s["downloadUrl"] == base + "/jmap/download/{accountId}/{blobId}/{name}?type={type}"
    assert s["uploadUrl"] == base + "/jmap/upload/{accountId}/"
    assert s["eventSourceUrl"] == (base + "/jmap/eventsource?types={types}"
                                   "&closeafter={closeafter}&ping={ping}")
    assert re.fullmatch(r"[0-9a-f]{16}", s["state"])
    assert "csrfToken" not in s  # only for the cookie session
    # the same object at /jmap/session; the API's sessionState is the session's state
    st, _, body2, _ = request(mserver, "GET", "/jmap/session", headers={"Authorization": basic(a)})
    assert st == 200 and json.loads(body2) == s
    st, resp = api(mserver, basic(a), echo_req())
    assert st == 200 and resp["sessionState"] == s["state"]


# ---- Basic, and the penalty it shares with the other protocols ----

def test_basic_wrong_password_is_penalized(server):
    """auth_login: a failure delays the next attempt from the client (250 ms doubling),
    over HTTP and over POP3 alike (one penalty for every protocol)."""
    a = user(server)
    st, h, body, _ = request(server, "GET", "/jmap/session",
                             headers={"Authorization": basic(a, "wrong")})
    assert_problem(st, h, body, 401)
    assert h["www-authenticate"] == CHALLENGE
    t = time.monotonic()
    st, _, _, _ = request(server, "GET", "/jmap/session",
                          headers={"Authorization": basic(a, "wrong again")})
    assert st == 401
    assert time.monotonic() - t >= 0.25
    # the third attempt over POP3 waits for both HTTP failures
    with RawPOP3(server.host, server.ports["pop3"], timeout=30) as p:
        assert p.cmd(f"USER {a}").startswith(b"+OK")
        t = time.monotonic()
        assert p.cmd(f"PASS {PASSWORD}").startswith(b"+OK")
        assert time.monotonic() - t >= 0.5
    # malformed credentials and unknown schemes are 401 too, never a crash
    for v in ("Basic !!!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Digest x=1",
              "Bearer " + "0" * 64, "Bearer short"):
        st, h, _, _ = request(server, "GET", "/jmap/session", headers={"Authorization": v})
        assert st == 401, v


# ---- the webmail login: cookie, Bearer, CSRF ----

def test_login_cookie_bearer_logout(mserver):
    a = user(mserver)
    st, h, body, raw = login(mserver, a)
    assert st == 200, body
    cookie = [v for k, v in raw if k.lower() == "set-cookie"][0]
    token = session_cookie(h)
    attrs = [x.strip() for x in cookie.split(";")]
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= set(attrs), cookie
    assert "Secure" not in attrs  # plain http; the https listener adds it
    assert "Max-Age=2592000" in attrs  # [http] session_days = 30
    j = json.loads(body)
    assert j["accessToken"] == token and re.fullmatch(r"[0-9a-f]{64}", token)
    assert re.fullmatch(r"[0-9a-f]{64}", j["csrfToken"]) and j["csrfToken"] != token
    assert j["username"] == a and j["accountId"] == account_id(mserver, a)
    # the cookie opens the session (with the CSRF token for a reloaded page) ...
    st, _, body, _ = request(mserver, "GET", "/jmap/session",
                             headers={"Cookie": f"kasten_session={token}"})
    assert st == 200 and json.loads(body)["csrfToken"] == j["csrfToken"]
    # ... the same token as Bearer (RFC 6750), without CSRF token
    st, resp = api(mserver, f"Bearer {token}", echo_req(["Core/echo", {"x": 1}, "c"]))
    assert st == 200 and resp["methodResponses"] == [["Core/echo", {"x": 1}, "c"]]
    # logout with the cookie needs the CSRF token too
    st, _, _, _ = request(mserver, "POST", "/jmap/logout",
                          headers={"Cookie": f"kasten_session={token}"})
    assert st == 403
    st, h, _, _ = request(mserver, "POST", "/jmap/logout",
                          headers={"Cookie": f"kasten_session={token}",
                                   "X-CSRF-Token": j["csrfToken"]})
    assert st == 204
    assert re.match(r"kasten_session=;.*Max-Age=0", h["set-cookie"]), h["set-cookie"]
    for hdr in ({"Cookie": f"kasten_session={token}"}, {"Authorization": f"Bearer {token}"}):
        st, h, _, _ = request(mserver, "GET", "/jmap/session", headers=hdr)
        assert st == 401, hdr


def test_login_refusals(mserver):
    a = user(mserver)
    st, h, body, _ = login(mserver, a, "wrong")
    assert_problem(st, h, body, 401)
    assert "set-cookie" not in h
    # a cross-site form can send only form encodings, never application/json
    st, _, _, _ = request(mserver, "POST", "/jmap/login",
                          f"username={a}&password={PASSWORD}".encode(),
                          {"Content-Type": "application/x-www-form-urlencoded"})
    assert st == 415
    st, _, _, _ = request(mserver, "POST", "/jmap/login", b"[1,2]",
                          {"Content-Type": "application/json"})
    assert st == 400
    st, _, _, _ = login(mserver, a, headers={"Origin": "http://evil.example"})
    assert st == 403


def test_csrf(mserver):
    """A state-changing request authenticated by the cookie needs X-CSRF-Token, and its
    Origin, when sent, must be the server's own; Bearer needs neither."""
    a = user(mserver)
    st, h, body, _ = login(mserver, a)
    token, csrf = session_cookie(h), json.loads(body)["csrfToken"]
    c = {"Cookie": f"kasten_session={token}", "Content-Type": "application/json"}
    own = f"http://127.0.0.1:{mserver.ports['http']}"
    req = echo_req(["Core/echo", {}, "c"])
    cases = [
        ({}, 403),
        ({"X-CSRF-Token": "0" * 64}, 403),
        ({"X-CSRF-Token": csrf[:-1]}, 403),
        ({"X-CSRF-Token": csrf, "Origin": "http://evil.example"}, 403),
        ({"X-CSRF-Token": csrf, "Origin": "null"}, 403),
        ({"X-CSRF-Token": csrf, "Origin": f"https://127.0.0.1:{mserver.ports['http']}"}, 403),
        ({"X-CSRF-Token": csrf}, 200),
        ({"X-CSRF-Token": csrf, "Origin": own}, 200),
    ]
    for extra, want in cases:
        st, h, body, _ = request(mserver, "POST", "/jmap/api", req, {**c, **extra})
        assert st == want, (extra, st, body)
        if want == 403:
            assert_problem(st, h, body, 403)
    # a GET with the cookie needs no token (it changes nothing)
    st, _, _, _ = request(mserver, "GET", "/jmap/session", headers={"Cookie": c["Cookie"]})
    assert st == 200
    # Bearer: no CSRF token, whatever the Origin (no browser adds Authorization)
    st, _, _, _ = request(mserver, "POST", "/jmap/api", req,
                          {"Authorization": f"Bearer {token}", "Origin": "http://evil.example"})
    assert st == 200


# ---- the request engine over HTTP (RFC 8620 3) ----

def test_echo(mserver):
    a = user(mserver)
    req = echo_req(["Core/echo", {"hello": True, "high": 5}, "b3ff"])
    st, resp = api(mserver, basic(a), req)
    assert st == 200
    assert resp["methodResponses"] == [["Core/echo", {"hello": True, "high": 5}, "b3ff"]]
    assert "createdIds" not in resp


def raw_api(server, a, body):
    return request(server, "POST", "/jmap/api", body,
                   {"Authorization": basic(a), "Content-Type": "application/json"})


def test_request_level_errors(mserver):
    """RFC 8620 3.6.1: each as a problem details object with its type."""
    a = user(mserver)
    err = "urn:ietf:params:jmap:error:"
    for body, typ in ((b"{not json", "notJSON"), (b"\xff\xfe", "notJSON"),
                      (b'{"using":[],"using":[],"methodCalls":[]}', "notJSON"),
                      (b"[]", "notRequest"), (b'{"using":[]}', "notRequest"),
                      (b'{"using":[],"methodCalls":[["Core/echo",{}]]}', "notRequest"),
                      (b'{"using":["urn:x:nope"],"methodCalls":[]}', "unknownCapability")):
        st, h, rb, _ = raw_api(mserver, a, body)
        assert_problem(st, h, rb, 400, err + typ)
    # maxCallsInRequest: 64 run, 65 are refused
    calls = [["Core/echo", {}, f"c{i}"] for i in range(65)]
    st, resp = api(mserver, basic(a), echo_req(*calls[:64]))
    assert st == 200 and len(resp["methodResponses"]) == 64
    st, h, rb, _ = raw_api(mserver, a, json.dumps(echo_req(*calls)).encode())
    assert_problem(st, h, rb, 400, err + "limit", "maxCallsInRequest")
    # nesting: the arguments at depth 4, so 12 levels inside them reach 16, 13 pass it
    for levels, ok in ((12, True), (13, False)):
        v = 0
        for _ in range(levels):
            v = [v]
        st, h, rb, _ = raw_api(mserver, a, json.dumps(echo_req(["Core/echo", {"x": v}, "c"])).encode())
        if ok:
            assert st == 200, rb
        else:
            assert_problem(st, h, rb, 400, err + "limit", "maxDepth")
    # maxSizeRequest: 10,000,000 octets pass, one more is refused (spooled, not in memory)
    base = json.dumps(echo_req()).encode()
    for size, ok in ((10000000, True), (10000001, False)):
        body = base + b" " * (size - len(base))
        st, h, rb, _ = raw_api(mserver, a, body)
        if ok:
            assert st == 200, rb[:300]
        else:
            assert_problem(st, h, rb, 400, err + "limit", "maxSizeRequest")


def test_method_level_errors_and_result_references(mserver):
    """RFC 8620 3.6.2 (an error answers one call, the next runs) and 3.7 with '*'."""
    a = user(mserver)
    st, resp = api(mserver, basic(a), echo_req(
        ["Nope/get", {}, "c0"],
        ["Core/echo", {"list": [{"id": "a", "t": ["x", "y"]}, {"id": "b", "t": ["z"]}]}, "c1"],
        ["Core/echo", {"#ids": {"resultOf": "c1", "name": "Core/echo", "path": "/list/*/id"},
                       "#t": {"resultOf": "c1", "name": "Core/echo", "path": "/list/*/t"},
                       "#first": {"resultOf": "c1", "name": "Core/echo",
                                  "path": "/list/0/t/1"}}, "c2"],
        ["Core/echo", {"#x": {"resultOf": "c1", "name": "Core/get", "path": "/list"}}, "c3"],
        ["Core/echo", {"#x": {"resultOf": "c9", "name": "Core/echo", "path": "/list"}}, "c4"],
        ["Core/echo", {"#x": {"resultOf": "c1", "name": "Core/echo", "path": "/list/7"}}, "c5"],
        ["Core/echo", {"x": 1, "#x": {"resultOf": "c1", "name": "Core/echo",
                                      "path": "/list"}}, "c6"]))
    assert st == 200
    r = resp["methodResponses"]
    assert r[0] == ["error", {"type": "unknownMethod"}, "c0"]
    assert r[2] == ["Core/echo", {"ids": ["a", "b"], "t": ["x", "y", "z"], "first": "y"}, "c2"]
    for i in (3, 4, 5):
        assert r[i][0] == "error" and r[i][1]["type"] == "invalidResultReference", r[i]
        assert r[i][2] == f"c{i}"
    assert r[6][0] == "error" and r[6][1]["type"] == "invalidArguments"
    # a method whose capability is not in `using` is unknown (3.3)
    st, resp = api(mserver, basic(a), echo_req(["Core/echo", {}, "c"], using=(MAIL,)))
    assert resp["methodResponses"] == [["error", {"type": "unknownMethod"}, "c"]]
    # createdIds comes back when sent (3.3)
    st, resp = api(mserver, basic(a), {"using": [CORE], "methodCalls": [],
                                       "createdIds": {"k": "v"}})
    assert resp["createdIds"] == {"k": "v"}


# ---- blobs (RFC 8620 6) ----

def upload(server, auth, acct, data, ctype="application/octet-stream", extra=None):
    h = {"Authorization": auth, "Content-Type": ctype}
    h.update(extra or {})
    st, hh, body, _ = request(server, "POST", f"/jmap/upload/{acct}/", data, h)
    return st, hh, body


def test_upload_download_byte_exact(mserver):
    a = user(mserver)
    acct = account_id(mserver, a)
    for data in (bytes(range(256)) * 4, b"", bytes(range(256)) * 6000):  # 1.5 MiB: spooled
        st, h, body = upload(mserver, basic(a), acct, data, "image/png")
        assert st == 201, body
        j = json.loads(body)
        assert j["accountId"] == acct and j["type"] == "image/png" and j["size"] == len(data)
        assert re.fullmatch(r"U[0-9a-f]{32}", j["blobId"])
        st, h, got, _ = request(mserver, "GET",
                                f"/jmap/download/{acct}/{j['blobId']}/caf%C3%A9%20%22x%22.png"
                                "?type=image/png", headers={"Authorization": basic(a)})
        assert st == 200 and got == data
        assert h["content-type"] == "image/png"
        assert h["content-length"] == str(len(data))
        # RFC 6266 4.3 / RFC 8187: an ASCII fallback and the UTF-8 name
        assert h["content-disposition"] == (
            "attachment; filename=\"caf__ _x_.png\"; filename*=UTF-8''caf%C3%A9%20%22x%22.png")
        assert h["cache-control"] == "private, immutable, max-age=31536000"
        assert "sandbox" in h["content-security-policy"]
        assert h["x-content-type-options"] == "nosniff"
    # a type that could not go into a header as it is becomes octet-stream
    st, h, got, _ = request(mserver, "GET", f"/jmap/download/{acct}/{j['blobId']}/x?type=a%0d%0ab",
                            headers={"Authorization": basic(a)})
    assert st == 200 and h["content-type"] == "application/octet-stream"


def test_download_message_by_emailid(mserver):
    """"G" + EMAILID names the whole message, byte for byte as IMAP has it."""
    a = user(mserver)
    acct = account_id(mserver, a)
    deliver(mserver, a, make_message("blob test", b"Body of the blob test.\r\n"))
    with RawIMAP(mserver.host, mserver.ports["imap"]) as c:
        c.login(a, PASSWORD)
        c.cmd("SELECT INBOX")
        _, untagged = c.cmd("UID FETCH 1 (EMAILID BODY.PEEK[])")
    m = re.search(rb"EMAILID \(([0-9a-f]{32})\)", untagged[0])
    raw = untagged[0][untagged[0].index(b"}\r\n") + 3:]
    st, h, got, _ = request(mserver, "GET", f"/jmap/download/{acct}/G{m.group(1).decode()}/m.eml",
                            headers={"Authorization": basic(a)})
    assert st == 200, got
    assert raw.startswith(got) and len(got) > 100 and got.endswith(b"blob test.\r\n")
    for bad in ("G" + "0" * 32, "G" + m.group(1).decode() + ".9", "Gxyz", "U" + "0" * 32, "x"):
        st, _, _, _ = request(mserver, "GET", f"/jmap/download/{acct}/{bad}/m",
                              headers={"Authorization": basic(a)})
        assert st == 404, bad


@pytest.mark.kasten(config={"http": {"max_upload_size": "64K"}})
def test_upload_limits(server):
    """[http] max_upload_size (413 before the body is read) and the quota (413, JMAP)."""
    a = user(server)
    acct = account_id(server, a)
    st, _, _ = upload(server, basic(a), acct, b"x" * 65536)
    assert st == 201
    st, h, body = upload(server, basic(a), acct, b"x" * 65537)
    assert st == 413
    q = user(server, "jq", quota="10K")
    st, h, body = upload(server, basic(q), account_id(server, q), b"y" * 20000)
    assert_problem(st, h, body, 413, "urn:ietf:params:jmap:error:limit", "quota")


def test_isolation_between_accounts(mserver):
    """No account reaches another's blobs or messages, nor uploads into its account:
    404 for all of it, the same answer as for what does not exist."""
    a, b = user(mserver, "iso-a"), user(mserver, "iso-b")
    acct_a, acct_b = account_id(mserver, a), account_id(mserver, b)
    st, _, body = upload(mserver, basic(a), acct_a, b"secret of a")
    blob = json.loads(body)["blobId"]
    deliver(mserver, a, make_message("private", b"Private to a.\r\n"))
    with RawIMAP(mserver.host, mserver.ports["imap"]) as c:
        c.login(a, PASSWORD)
        c.cmd("SELECT INBOX")
        _, untagged = c.cmd("UID FETCH 1 (EMAILID)")
    emailid = re.search(rb"EMAILID \(([0-9a-f]{32})\)", untagged[0]).group(1).decode()
    # a itself reaches both
    for bid in (blob, "G" + emailid):
        st, _, _, _ = request(mserver, "GET", f"/jmap/download/{acct_a}/{bid}/x",
                              headers={"Authorization": basic(a)})
        assert st == 200, bid
    for bid in (blob, "G" + emailid):
        for acct in (acct_a, acct_b):
            st, h, body, _ = request(mserver, "GET", f"/jmap/download/{acct}/{bid}/x",
                                     headers={"Authorization": basic(b)})
            assert_problem(st, h, body, 404)
            assert b"secret" not in body
    st, h, body = upload(mserver, basic(b), acct_a, b"into a")
    assert_problem(st, h, body, 404)
    # nor with a's id in an API request (the accountId a method checks)
    st, resp = api(mserver, basic(b), echo_req(["Core/echo", {"accountId": acct_a}, "c"]))
    assert st == 200  # echo reads no account; the standard methods refuse it (unit tests)


# ---- push (RFC 8620 7.3) ----

def test_eventsource_smtp_and_imap(mserver):
    a = user(mserver)
    acct = account_id(mserver, a)
    es = EventStream(mserver, basic(a))
    try:
        assert es.head.startswith(b"HTTP/1.1 200"), es.head
        assert b"content-type: text/event-stream" in es.head.lower()
        deliver(mserver, a, make_message("push", b"Push me.\r\n"))
        t = time.monotonic()
        ev = es.event("state", 2)
        assert time.monotonic() - t < 2
        changed = ev["data"]["changed"][acct]
        assert ev["data"]["@type"] == "StateChange"
        assert set(changed) == {"Email", "EmailDelivery", "Mailbox", "Thread"}
        assert len(set(changed.values())) == 1 and list(changed.values())[0] == ev["id"].decode()
        first = int(ev["id"])
        # an IMAP STORE moves the state too
        with RawIMAP(mserver.host, mserver.ports["imap"]) as c:
            c.login(a, PASSWORD)
            c.cmd("SELECT INBOX")
            c.cmd("UID STORE 1 +FLAGS (\\Flagged)")
        ev = es.event("state", 2)
        assert int(ev["id"]) > first
    finally:
        es.close()


def test_eventsource_options(mserver):
    """types filters the types; closeafter=state ends the response after one event;
    Last-Event-ID older than now is answered at once; bad options are 400."""
    a = user(mserver)
    acct = account_id(mserver, a)
    es = EventStream(mserver, basic(a), "types=Mailbox,Quota,Nope&closeafter=state&ping=0")
    try:
        deliver(mserver, a, make_message("one", b"1\r\n"))
        ev = es.event("state", 2)
        assert set(ev["data"]["changed"][acct]) == {"Mailbox", "Quota"}
        es.sock.settimeout(5)
        rest = es.buf
        while True:
            d = es.sock.recv(65536)
            if not d:
                break
            rest += d
        assert rest.endswith(b"0\r\n\r\n"), rest  # the chunked body ended
    finally:
        es.close()
    st, h, body, _ = request(mserver, "GET", "/jmap/eventsource?closeafter=maybe",
                             headers={"Authorization": basic(a)})
    assert st == 400
    st, h, body, _ = request(mserver, "GET", "/jmap/eventsource?ping=-1",
                             headers={"Authorization": basic(a)})
    assert st == 400


def test_eventsource_last_event_id(mserver):
    """A reconnecting client sends the id of the last event it saw (the modseq): what
    changed since is told at once, without waiting for the next change."""
    a = user(mserver)
    acct = account_id(mserver, a)
    es = EventStream(mserver, basic(a))
    try:
        deliver(mserver, a, make_message("before", b"1\r\n"))
        seen = es.event("state", 2)["id"].decode()
    finally:
        es.close()
    deliver(mserver, a, make_message("while away", b"2\r\n"))
    time.sleep(0.5)
    es = EventStream(mserver, f"{basic(a)}\r\nLast-Event-ID: {seen}")
    try:
        ev = es.event("state", 2)
        assert int(ev["id"]) > int(seen)
        assert ev["data"]["changed"][acct]["Email"] == ev["id"].decode()
    finally:
        es.close()


def test_login_records_the_device(mserver):
    """The webmail login is a client of the account's activity log (issue 10, devices
    and activity): protocol http, the peer address, the User-Agent."""
    a = user(mserver)
    st, _, _, _ = login(mserver, a, headers={"User-Agent": "JmapCoreTest/1.0"})
    assert st == 200
    out = mserver.kasten("user", "activity", a).stdout.decode()
    rows = [line.split(None, 7) for line in out.splitlines()[1:]]
    assert [r for r in rows if r[2] == "http" and r[3] == "login" and r[6] == "127.0.0.1"
            and r[7] == "JmapCoreTest/1.0"], out


@pytest.mark.kasten(listen=("smtp", "http", "https"))
def test_https_cookie_is_secure(server):
    """On the https listener the cookie gets Secure (RFC 6265 4.1.2.5), the URLs https,
    and the Origin check the https scheme."""
    import ssl
    a = user(server)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    port = server.ports["https"]

    def req(method, path, body=None, headers=None):
        c = http.client.HTTPSConnection(server.host, port, timeout=30, context=ctx)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    st, h, body = req("POST", "/jmap/login",
                      json.dumps({"username": a, "password": PASSWORD}).encode(),
                      {"Content-Type": "application/json"})
    assert st == 200, body
    attrs = [x.strip() for x in h["set-cookie"].split(";")]
    assert "Secure" in attrs and "HttpOnly" in attrs and "SameSite=Strict" in attrs
    token, csrf = session_cookie(h), json.loads(body)["csrfToken"]
    st, h, body = req("GET", "/jmap/session", headers={"Cookie": f"kasten_session={token}"})
    assert st == 200
    assert json.loads(body)["apiUrl"] == f"https://127.0.0.1:{port}/jmap/api"
    c = {"Cookie": f"kasten_session={token}", "X-CSRF-Token": csrf,
         "Content-Type": "application/json"}
    body = json.dumps(echo_req(["Core/echo", {}, "c"])).encode()
    for origin, want in ((f"https://127.0.0.1:{port}", 200), (f"http://127.0.0.1:{port}", 403)):
        st, _, rb = req("POST", "/jmap/api", body, {**c, "Origin": origin})
        assert st == want, (origin, rb)


def test_eventsource_ping(mserver):
    """RFC 8620 7.3: ping=1 is raised to our minimum of 30 s, and the ping event's data
    says the interval used."""
    a = user(mserver)
    es = EventStream(mserver, basic(a), "types=*&closeafter=no&ping=1")
    try:
        t = time.monotonic()
        ev = es.event("ping", 40)
        assert ev["data"] == {"interval": 30}
        assert 29 <= time.monotonic() - t <= 40
    finally:
        es.close()
