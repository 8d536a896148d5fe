#!/usr/bin/python3
"""jmap_load.py: the webmail's message-list request, timed, and IMAP's equivalent as the
anchor (issue 10: "JMAP Email/query + Email/get of 50 headers on a 10,000-message
mailbox, latency percentiles"). Loopback only.

    jmap_load.py jmap PORT USER PASSWORD [--runs N] [--warmup W] [--label L]
    jmap_load.py imap PORT USER PASSWORD [--runs N] [--warmup W] [--label L]

jmap: one keep-alive HTTP/1.1 connection with the Bearer token of POST /jmap/login (what
the webmail holds; Basic auth would hash the password on every request, as it must),
each run ONE POST /jmap/api with Email/query (inMailbox INBOX, sort receivedAt descending,
limit 50) and Email/get of its ids by result reference (RFC 8620 3.7) for the webmail's
list properties: from, subject, receivedAt, preview, keywords, size.
imap: one logged-in session with INBOX selected, each run UID SORT (REVERSE ARRIVAL)
UTF-8 ALL, then UID FETCH of the first 50 (ENVELOPE FLAGS RFC822.SIZE): what an IMAP
client needs for the same list.

A run is timed from the first byte sent to the last byte of the answer read; the W
warm-up runs before are not counted. Every run checks its answer (50 entries, the
properties present) so a fast error cannot pass for a fast answer. Prints
"RESULT jmap LABEL kind=K runs=N p50_ms= p90_ms= p99_ms= max_ms= mean_ms=" ."""

import argparse
import http.client
import json
import re
import socket
import sys
import time

PROPS = ["from", "subject", "receivedAt", "preview", "keywords", "size"]


def pct(sorted_ms, p):
    i = min(len(sorted_ms) - 1, max(0, int(round(p / 100 * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[i]


class Jmap:
    def __init__(self, port, user, password):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.c.request("POST", "/jmap/login", body=json.dumps(
            {"username": user, "password": password}),
            headers={"Content-Type": "application/json"})
        r = self.c.getresponse()
        login = json.loads(r.read())
        if r.status != 200:
            sys.exit(f"jmap_load: login: HTTP {r.status} {login}")
        self.h = {"Authorization": "Bearer " + login["accessToken"],
                  "Content-Type": "application/json"}
        self.c.request("GET", "/jmap/session", headers=self.h)
        r = self.c.getresponse()
        s = json.loads(r.read())
        self.acct = next(iter(s["accounts"]))
        mb = self.call([["Mailbox/get", {"accountId": self.acct, "ids": None,
                                         "properties": ["role"]}, "m"]])
        self.inbox = next(m["id"] for m in mb[0][1]["list"] if m["role"] == "inbox")
        self.body = json.dumps({
            "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
            "methodCalls": [
                ["Email/query", {"accountId": self.acct, "filter": {"inMailbox": self.inbox},
                                 "sort": [{"property": "receivedAt", "isAscending": False}],
                                 "limit": 50}, "q"],
                ["Email/get", {"accountId": self.acct, "properties": PROPS,
                               "#ids": {"resultOf": "q", "name": "Email/query",
                                        "path": "/ids"}}, "g"]]}).encode()

    def call(self, calls):
        body = json.dumps({"using": ["urn:ietf:params:jmap:core",
                                     "urn:ietf:params:jmap:mail"], "methodCalls": calls})
        self.c.request("POST", "/jmap/api", body=body, headers=self.h)
        r = self.c.getresponse()
        return json.loads(r.read())["methodResponses"]

    def run(self):
        self.c.request("POST", "/jmap/api", body=self.body, headers=self.h)
        r = self.c.getresponse()
        data = r.read()
        if r.status != 200:
            sys.exit(f"jmap_load: HTTP {r.status}: {data[:200]!r}")
        resp = json.loads(data)["methodResponses"]
        lst = resp[1][1].get("list") if resp[1][0] == "Email/get" else None
        if not lst or len(lst) != 50 or any(p not in lst[0] for p in PROPS):
            sys.exit(f"jmap_load: unexpected answer {data[:300]!r}")


class Imap:
    def __init__(self, port, user, password):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.f = self.s.makefile("rb")
        self.f.readline()
        self.n = 0
        self.cmd(f'LOGIN "{user}" "{password}"')
        self.cmd("SELECT INBOX")

    def cmd(self, line):
        """Send one command; the untagged lines (literals read whole) until its tag."""
        self.n += 1
        tag = f"b{self.n}"
        self.s.sendall(f"{tag} {line}\r\n".encode())
        out = []
        while True:
            ln = self.f.readline()
            if not ln:
                sys.exit("jmap_load: IMAP connection closed")
            m = re.search(rb"\{(\d+)\}\r\n$", ln)
            while m:  # a literal: read it and the rest of the line
                ln += self.f.read(int(m.group(1)))
                more = self.f.readline()
                ln += more
                m = re.search(rb"\{(\d+)\}\r\n$", more)
            if ln.startswith(tag.encode() + b" "):
                if not ln.startswith(tag.encode() + b" OK"):
                    sys.exit(f"jmap_load: IMAP {line!r}: {ln!r}")
                return out
            out.append(ln)

    def run(self):
        sort = self.cmd("UID SORT (REVERSE ARRIVAL) UTF-8 ALL")
        uids = next(ln for ln in sort if ln.startswith(b"* SORT")).split()[2:52]
        uids = [u.decode() for u in uids]
        got = self.cmd(f"UID FETCH {','.join(uids)} (ENVELOPE FLAGS RFC822.SIZE)")
        if len([ln for ln in got if b" FETCH " in ln and b"ENVELOPE" in ln]) != 50:
            sys.exit(f"jmap_load: IMAP FETCH gave {len(got)} lines")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=("jmap", "imap"))
    ap.add_argument("port", type=int)
    ap.add_argument("user")
    ap.add_argument("password")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--label", default="kasten")
    a = ap.parse_args()
    client = (Jmap if a.kind == "jmap" else Imap)(a.port, a.user, a.password)
    for _ in range(a.warmup):
        client.run()
    ms = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        client.run()
        ms.append((time.perf_counter() - t0) * 1000)
    ms.sort()
    print(f"RESULT jmap {a.label} kind={a.kind} runs={a.runs} p50_ms={pct(ms, 50):.2f} "
          f"p90_ms={pct(ms, 90):.2f} p99_ms={pct(ms, 99):.2f} max_ms={ms[-1]:.2f} "
          f"mean_ms={sum(ms) / len(ms):.2f}")


if __name__ == "__main__":
    main()
