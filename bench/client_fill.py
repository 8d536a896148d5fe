#!/usr/bin/python3
"""client_fill.py: the IMAP account of bench/client.sh's sync run, filled over IMAP
(loopback only), the same bytes for every server:

    client_fill.py PORT USER PASSWORD --folders 20 --per-folder 500 [--size 4096] [--seed 1]
    client_fill.py PORT USER PASSWORD --warm [--pop3-port P]

Folders: INBOX and Folder01 .. Folder{N-1} (created when missing). Each gets PER_FOLDER
messages of about SIZE bytes (CRLF lines, a unique Message-ID, Date, From, Subject and
a text body), with flags as a used mailbox has them: every 2nd \\Seen, every 10th
\\Flagged, every 20th \\Answered. APPEND carries the flags and an INTERNALDATE.
MULTIAPPEND (RFC 3502) in batches of 100 when the server offers it, LITERAL+ (RFC 7888)
when offered, else synchronizing literals.

--warm reads every message of every folder once (IMAP FETCH BODY.PEEK[], and with
--pop3-port RETR of INBOX over POP3) and changes nothing: before the timed runs, so that
neither server's first-access indexing nor a cold page cache is in a client's time.

Prints "messages=N seconds=S"; exits 1 on any NO/BAD."""

import argparse
import random
import re
import socket
import sys
import time

HOST = "127.0.0.1"
BATCH = 100


class Imap:
    def __init__(self, port):
        self.s = socket.create_connection((HOST, port))
        self.f = self.s.makefile("rb")
        self.n = 0
        self.line()  # greeting

    def line(self):
        ln = self.f.readline()
        if not ln:
            sys.exit("client_fill: connection closed")
        return ln

    def send(self, b):
        self.s.sendall(b)

    def tagged(self, tag):
        """Read to the tagged reply; the untagged lines before it."""
        lines = []
        while True:
            ln = self.line()
            if ln.startswith(tag + b" "):
                return ln, lines
            lines.append(ln)

    def cmd(self, text):
        self.n += 1
        tag = b"F%d" % self.n
        self.send(tag + b" " + text + b"\r\n")
        return self.tagged(tag)


def quote(s):
    return b'"' + s.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def message(rng, folder, i, size):
    words = "alpha beta gamma delta mail sync folder flag offline server client local".split()
    date = time.gmtime(1700000000 + i * 3607 + sum(folder.encode()) % 1000)
    hdr = (f"From: Sender {i % 37} <sender{i % 37}@example.org>\r\n"
           f"To: bench@example.test\r\n"
           f"Subject: {folder} message {i} {rng.choice(words)}\r\n"
           f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', date)}\r\n"
           f"Message-ID: <bench.{folder}.{i}@client-fill.example>\r\n"
           f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
    body = []
    n = len(hdr)
    while n < size:
        ln = " ".join(rng.choice(words) for _ in range(12)) + "\r\n"
        body.append(ln)
        n += len(ln)
    flags = []
    if i % 2 == 0:
        flags.append("\\Seen")
    if i % 10 == 0:
        flags.append("\\Flagged")
    if i % 20 == 0:
        flags.append("\\Answered")
    idate = time.strftime("%d-%b-%Y %H:%M:%S +0000", date)
    return (hdr + "".join(body)).encode(), " ".join(flags).encode(), idate.encode()


def append_batch(im, box, msgs, multi, plus):
    """APPEND (or one MULTIAPPEND of) msgs to box."""
    groups = [msgs] if multi else [[m] for m in msgs]
    for g in groups:
        im.n += 1
        tag = b"F%d" % im.n
        out = tag + b" APPEND " + quote(box)
        for k, (data, flags, idate) in enumerate(g):
            lit = b"{%d+}" % len(data) if plus else b"{%d}" % len(data)
            out += b" (" + flags + b") " + quote(idate) + b" " + lit + b"\r\n"
            im.send(out)
            if not plus:
                ln = im.line()
                if not ln.startswith(b"+"):
                    sys.exit(f"client_fill: APPEND refused: {ln!r}")
            out = data
        im.send(out + b"\r\n")
        ln, _ = im.tagged(tag)
        if b" OK" not in ln[:len(tag) + 4]:
            sys.exit(f"client_fill: APPEND to {box!r}: {ln!r}")


def warm(im, a, t0):
    _, lines = im.cmd(b'LIST "" "*"')
    total = 0
    for ln in lines:
        m = re.match(rb'\* LIST \([^)]*\) (?:"[^"]*"|NIL) (.*)$', ln.rstrip(b"\r\n"))
        if not m:
            continue
        name = m.group(1)
        ok, _ = im.cmd(b"EXAMINE " + name)
        if b" OK" not in ok:
            continue
        _, got = im.cmd(b"FETCH 1:* (UID FLAGS BODY.PEEK[])")  # reads literals as lines
        total += sum(1 for g in got if g.startswith(b"* ") and b" FETCH " in g)
    im.cmd(b"LOGOUT")
    if a.pop3_port:
        import poplib
        p = poplib.POP3(HOST, a.pop3_port)
        p.user(a.user)
        p.pass_(a.password)
        count = p.stat()[0]
        for i in range(1, count + 1):
            p.retr(i)
        p.quit()
    print(f"warmed={total} seconds={time.time() - t0:.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("user")
    ap.add_argument("password")
    ap.add_argument("--folders", type=int, default=20)
    ap.add_argument("--per-folder", type=int, default=500)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--warm", action="store_true")
    ap.add_argument("--pop3-port", type=int)
    a = ap.parse_args()
    t0 = time.time()
    im = Imap(a.port)
    ln, _ = im.cmd(b"LOGIN " + quote(a.user.encode()) + b" " + quote(a.password.encode()))
    if b" OK" not in ln:
        sys.exit(f"client_fill: LOGIN: {ln!r}")
    if a.warm:
        return warm(im, a, t0)
    _, caps = im.cmd(b"CAPABILITY")
    caps = b" ".join(caps).upper()
    multi, plus = b"MULTIAPPEND" in caps, b"LITERAL+" in caps
    total = 0
    for f in range(a.folders):
        name = "INBOX" if f == 0 else f"Folder{f:02d}"
        if f:
            im.cmd(b"CREATE " + quote(name.encode()))  # NO when it exists: fine
        rng = random.Random(a.seed * 1000 + f)
        msgs = [message(rng, name, i, a.size) for i in range(a.per_folder)]
        for k in range(0, len(msgs), BATCH):
            append_batch(im, name.encode(), msgs[k:k + BATCH], multi, plus)
        total += len(msgs)
    im.cmd(b"LOGOUT")
    print(f"messages={total} seconds={time.time() - t0:.2f}")


if __name__ == "__main__":
    main()
