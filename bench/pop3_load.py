#!/usr/bin/python3
"""pop3_load.py: a small POP3 load generator for bench/pop3.sh (loopback only).

  pop3_load.py single PORT USER PASS --mode keep|delete
      one client: USER/PASS, STAT, RETR 1..N (delete mode: RETR n + DELE n), QUIT,
      pipelined (RFC 2449) 32 messages at a time
  pop3_load.py many PORT PASS --users 1..200 [--procs 4]
      one client per account user<i>@example.test, all at once: RETR every message
      (keep mode), QUIT

Prints one line: "messages=N bytes=B seconds=S msgs_per_s=R mb_per_s=M".
Replies are read with a byte-level RETR reader (terminator CRLF.CRLF); bounded by
a 300 s socket timeout per read and a message count known from STAT."""

import argparse
import multiprocessing
import socket
import sys
import threading
import time

HOST = "127.0.0.1"
WINDOW = 32


class Pop3:
    def __init__(self, port):
        self.s = socket.create_connection((HOST, port), timeout=300)
        self.buf = b""
        self.line()

    def _fill(self):
        d = self.s.recv(262144)
        if not d:
            raise ConnectionError("closed")
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        l, self.buf = self.buf.split(b"\r\n", 1)
        if not l.startswith(b"+OK"):
            raise RuntimeError(f"POP3 error: {l[:200]!r}")
        return l

    def cmd(self, c):
        self.s.sendall(c.encode() + b"\r\n")
        return self.line()

    def multiline(self):
        """Body of a multi-line reply (after its +OK line), still dot-stuffed."""
        start = 0
        while True:
            i = self.buf.find(b"\r\n.\r\n", start)
            if i >= 0:
                body, self.buf = self.buf[:i + 2], self.buf[i + 5:]
                return body
            if self.buf.startswith(b".\r\n"):
                self.buf = self.buf[3:]
                return b""
            start = max(0, len(self.buf) - 4)
            self._fill()

    def login(self, user, pw):
        self.cmd(f"USER {user}")
        self.cmd(f"PASS {pw}")

    def stat(self):
        return int(self.cmd("STAT").split()[1])

    def retr(self, n):
        self.cmd(f"RETR {n}")
        return len(self.multiline())

    def quit(self):
        self.cmd("QUIT")
        self.s.close()


def download(port, user, pw, delete=False, stat_only=False):
    c = Pop3(port)
    c.login(user, pw)
    n = c.stat()
    if stat_only:
        c.cmd("LIST")
        c.multiline()
        c.quit()
        return n, 0
    total = 0
    # RFC 2449 PIPELINING (both servers advertise it): WINDOW commands per write, then
    # their replies in order, so the client's round trips do not dominate the timing
    for lo in range(1, n + 1, WINDOW):
        ids = range(lo, min(n, lo + WINDOW - 1) + 1)
        c.s.sendall(b"".join((b"RETR %d\r\n" % i) + ((b"DELE %d\r\n" % i) if delete else b"")
                             for i in ids))
        for _ in ids:
            c.line()
            total += len(c.multiline())
            if delete:
                c.line()
    c.quit()
    if delete:
        c = Pop3(port)
        c.login(user, pw)
        left = c.stat()
        c.quit()
        if left:
            raise RuntimeError(f"{user}: {left} messages left after delete mode")
    return n, total


def _proc(args):
    port, users, pw, stat_only = args
    out, errs = [], []

    def run(u):
        try:
            out.append(download(port, u, pw, stat_only=stat_only))
        except Exception as e:  # noqa: BLE001 - reported, makes the run fail
            errs.append(f"{u}: {e}")

    ts = [threading.Thread(target=run, args=(u,)) for u in users]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out, errs


def report(n, b, secs):
    print(f"messages={n} bytes={b} seconds={secs:.3f} msgs_per_s={n / secs:.1f} "
          f"mb_per_s={b / secs / 1e6:.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["single", "many"])
    ap.add_argument("port", type=int)
    ap.add_argument("rest", nargs="+")
    ap.add_argument("--mode", default="keep", choices=["keep", "delete"])
    ap.add_argument("--users", default="1..200")
    ap.add_argument("--domain", default="example.test")
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--stat-only", action="store_true", help="login, STAT, LIST, QUIT")
    a = ap.parse_args()
    if a.what == "single":
        user, pw = a.rest
        t0 = time.monotonic()
        n, b = download(a.port, user, pw, delete=a.mode == "delete", stat_only=a.stat_only)
        report(n, b, time.monotonic() - t0)
        return 0
    (pw,) = a.rest
    lo, hi = map(int, a.users.split(".."))
    users = [f"user{i}@{a.domain}" for i in range(lo, hi + 1)]
    groups = [(a.port, users[i::a.procs], pw, a.stat_only) for i in range(a.procs)]
    t0 = time.monotonic()
    with multiprocessing.Pool(a.procs) as pool:
        results = pool.map(_proc, groups)
    secs = time.monotonic() - t0
    errs = [e for _, es in results for e in es]
    done = [r for rs, _ in results for r in rs]
    report(sum(n for n, _ in done), sum(b for _, b in done), secs)
    if errs:
        print("errors:", *errs[:10], sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
