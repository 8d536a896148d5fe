"""Helpers the JMAP protocol tests share (tests/proto/test_jmap_*.py): a JMAP client
over http.client with Basic auth, blob upload, and a raw EventSource reader. They talk
to a real `kasten serve` (tests/kasten_test.py) over loopback."""

import base64
import http.client
import json
import re
import socket
import time

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
SUBMISSION = "urn:ietf:params:jmap:submission"
QUOTA = "urn:ietf:params:jmap:quota"


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def http_request(server, method, path, body=None, headers=None, timeout=30):
    """(status, {lower-case header: value}, body bytes)."""
    c = http.client.HTTPConnection(server.host, server.ports["http"], timeout=timeout)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


class JmapClient:
    """One account's JMAP calls: c.ok("Email/set", {...}) -> the response arguments
    (accountId filled in), c.err(...) -> the error type, c.calls([...]) -> every
    methodResponse of one request."""

    def __init__(self, server, user, password, using=(CORE, MAIL)):
        self.server, self.user, self.auth = server, user, basic(user, password)
        self.using = list(using)
        st, _, body = http_request(server, "GET", "/jmap/session",
                                   headers={"Authorization": self.auth})
        assert st == 200, body
        self.session = json.loads(body)
        self.acct = next(iter(self.session["accounts"]))

    def calls(self, calls, using=None):
        """[[name, args, id], ...] (accountId added where missing) -> methodResponses."""
        calls = [[n, dict({"accountId": self.acct}, **a), i] for n, a, i in calls]
        body = {"using": using or self.using, "methodCalls": calls}
        st, _, data = http_request(self.server, "POST", "/jmap/api", body,
                                   {"Authorization": self.auth,
                                    "Content-Type": "application/json"})
        assert st == 200, data
        return json.loads(data)["methodResponses"]

    def call(self, name, args):
        resp = self.calls([[name, args, "c0"]])
        assert len(resp) >= 1 and resp[0][2] == "c0", resp
        return resp[0][0], resp[0][1]

    def ok(self, name, args):
        got, res = self.call(name, args)
        assert got == name, res
        return res

    def err(self, name, args):
        got, res = self.call(name, args)
        assert got == "error", res
        return res["type"]

    def upload(self, data, ctype="application/octet-stream"):
        """POST /jmap/upload/: the parsed answer ({"blobId", "type", "size", ...})."""
        st, _, body = http_request(self.server, "POST", f"/jmap/upload/{self.acct}/", data,
                                   {"Authorization": self.auth, "Content-Type": ctype})
        assert st == 201, body
        return json.loads(body)

    def mailbox_ids(self):
        """{name: id} and {role: id} of the account's mailboxes."""
        lst = self.ok("Mailbox/get", {"ids": None})["list"]
        return ({m["name"]: m["id"] for m in lst},
                {m["role"]: m["id"] for m in lst if m.get("role")})


class EventStream:
    """A raw GET /jmap/eventsource: the events as they arrive (chunk framing ignored:
    one event is one write, so one chunk)."""

    def __init__(self, server, auth, query="types=*&closeafter=no&ping=0"):
        self.sock = socket.create_connection((server.host, server.ports["http"]), timeout=10)
        self.sock.sendall(f"GET /jmap/eventsource?{query} HTTP/1.1\r\nHost: x\r\n"
                          f"Authorization: {auth}\r\nAccept: text/event-stream\r\n\r\n".encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._fill(10)
        self.head, self.buf = self.buf.split(b"\r\n\r\n", 1)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        d = self.sock.recv(65536)
        if not d:
            raise ConnectionError("closed")
        self.buf += d

    def event(self, name, timeout):
        """The next event of that name within timeout seconds: {"id", "data"}."""
        deadline = time.monotonic() + timeout
        pat = re.compile(rb"event: " + name.encode() + rb"\n(?:id: (\d+)\n)?data: (.*)\n\n")
        while True:
            m = pat.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return {"id": m.group(1), "data": json.loads(m.group(2))}
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {name} event in {timeout}s: {self.buf!r}")
            try:
                self._fill(left)
            except socket.timeout:
                pass

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
