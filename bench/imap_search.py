#!/usr/bin/python3
"""imap_search.py: SEARCH, SORT and THREAD over one big mailbox, kasten beside Debian's
Dovecot on the same messages (issue 7: "a body search over 10,000 messages does not read
10,000 files").

    bench/imap_search.py [--messages N] [--no-dovecot]      (KASTEN_BIN as for the tests)

Both servers get the same N generated messages (about 2 KB each: reply chains, encoded
subjects, a few hundred words of body from a fixed vocabulary) with the same flags and
INTERNALDATEs; kasten through MULTIAPPEND, Dovecot as Maildir files. kasten runs under
`strace -f -e trace=open,openat` so that every open of a message file is counted per
command. Each command runs three times; the table shows the first (cold: kasten fills
the full-text rows the background indexer has not reached yet) and the best of the
others, as wall time seen by the client. Loopback only; every process is stopped."""

import argparse
import datetime
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from kasten_test import KastenServer, RawIMAP, unique_user  # noqa: E402

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
         "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee "
         "zulu meeting budget report quarter invoice schedule project review draft release "
         "server client network storage backup migrate update patch deploy monitor").split()
COMMANDS = [
    "SEARCH BODY needlework",          # rare word: few matches
    "SEARCH BODY budget",              # common word
    "SEARCH BODY zu",                  # 2 characters: no trigram, scan of the indexed text
    "SEARCH TEXT needlework",          # index, then the cached headers of the rest
    "SEARCH SUBJECT quarterly",
    "SEARCH FROM carol",
    'SEARCH HEADER X-Mailer "tool 7"',  # a field the index does not keep: cached headers
    "SEARCH SENTSINCE 1-Jun-2024",
    "SEARCH UNSEEN FLAGGED",
    "SEARCH OR BODY needlework SUBJECT invoice",
    "SORT (DATE) UTF-8 ALL",
    "SORT (SUBJECT) UTF-8 ALL",
    "SORT (FROM) UTF-8 ALL",
    "SORT (REVERSE ARRIVAL) UTF-8 ALL",
    "THREAD REFERENCES UTF-8 ALL",
    "THREAD ORDEREDSUBJECT UTF-8 ALL",
]


def messages(n):
    rnd = random.Random(7)
    people = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
    base = 1704067200
    out = []
    for i in range(n):
        root = i - rnd.randrange(1, 6) if i > 5 and rnd.random() < 0.6 else None
        subject = f"thread {root if root is not None else i} quarterly {rnd.choice(WORDS)}"
        if root is not None:
            subject = "Re: " + subject
        if i % 10 == 0:
            subject = "=?utf-8?q?Gr=C3=BC=C3=9Fe_" + str(i) + "?="
        refs = f"References: <m{root}@bench>\r\n" if root is not None else ""
        words = [rnd.choice(WORDS) for _ in range(rnd.randrange(150, 350))]
        if i % 97 == 0:
            words.insert(rnd.randrange(len(words)), "needlework")
        body = "\r\n".join(" ".join(words[k:k + 12]) for k in range(0, len(words), 12))
        when = base + i * 1800
        date = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
        msg = (f"From: {rnd.choice(people).title()} <{rnd.choice(people)}@example.org>\r\n"
               f"To: team@example.org\r\nSubject: {subject}\r\n"
               f"Date: {date:%a, %d %b %Y %H:%M:%S +0000}\r\nMessage-ID: <m{i}@bench>\r\n"
               f"{refs}X-Mailer: tool {i % 13}\r\n\r\n{body}\r\n").encode()
        out.append((msg, "S" if i % 3 else "F" if i % 5 == 0 else "", when))
    return out


def fill_kasten(server, msgs):
    a = unique_user("bench")
    server.user_add(a, "Bench-pass-1")
    c = RawIMAP(*server.addr("imap"), timeout=600)
    c.login(a, "Bench-pass-1")
    flags = {"S": "\\Seen", "F": "\\Flagged", "": ""}
    for k in range(0, len(msgs), 64):  # 3 arguments each: LIMIT_IMAP_ARGS
        c.n += 1
        out = f"p{c.n} APPEND INBOX".encode()
        for m, f, when in msgs[k:k + 64]:
            d = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
            out += f' ({flags[f]}) "{d:%d-%b-%Y %H:%M:%S +0000}" {{{len(m)}+}}\r\n'.encode() + m
        c.send(out + b"\r\n")
        st, _ = c.until(f"p{c.n}")
        assert b" OK " in st, st
    return c


def run(c, command, trace=None):
    """[(seconds, message files opened)] of three runs, and the first answer's size."""
    out, size = [], 0
    for _ in range(3):
        t0 = time.time()
        st, un = c.cmd(command)
        t1 = time.time()
        assert b" OK " in st, (command, st)
        size = size or sum(len(u) for u in un)
        out.append((t0, t1))
    return out, size


def opened(trace, t0, t1):
    pat = re.compile(r"^\d+\s+(\d+\.\d+) open(?:at)?\(.*/accounts/\d+/msg/[0-9a-f]+\"")
    return sum(1 for m in map(pat.match, trace.read_text().splitlines())
               if m and t0 <= float(m.group(1)) <= t1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--no-dovecot", action="store_true")
    args = ap.parse_args()
    msgs = messages(args.messages)
    work = Path(tempfile.mkdtemp(prefix="kasten-bench-search-"))
    trace = work / "trace"
    k = KastenServer(work / "kasten", listen=("smtp", "imap"),
                     config={"limits": {"max_message_size": "64M"}})
    k.start(wrapper=["strace", "--seccomp-bpf", "-f", "-ttt", "-e", "trace=open,openat", "-o", str(trace), "--"])
    results = {}
    try:
        t = time.time()
        c = fill_kasten(k, msgs)
        print(f"kasten: {len(msgs)} messages appended in {time.time() - t:.1f} s", flush=True)
        st, _ = c.cmd("SELECT INBOX")
        for cmd in COMMANDS:
            results[cmd] = {"kasten": run(c, cmd)}
        c.close()
    finally:
        k.stop(check=False)
    for cmd in COMMANDS:
        times, size = results[cmd]["kasten"]
        results[cmd]["kasten_opens"] = [opened(trace, a, b) for a, b in times]
    if not args.no_dovecot:
        from dovecot_test import DovecotServer
        d = DovecotServer(None, users={"u1": "Bench-pass-1"})
        d.start()
        try:
            for m, f, when in msgs:
                d.put("u1", m, flags=f, when=when)
            c = RawIMAP(*d.addr("imap"), timeout=600)
            c.login("u1", "Bench-pass-1")
            c.cmd("SELECT INBOX")
            for cmd in COMMANDS:
                results[cmd]["dovecot"] = run(c, cmd)
            c.close()
        finally:
            d.stop()
            d.remove()
    print(f"\n{len(msgs)} messages; seconds: first run / best of two more"
          + ("" if args.no_dovecot else "; Dovecot 2.3 (no FTS plugin) beside"))
    print(f"{'command':44} {'kasten':>15} {'files':>7} {'answer':>8} {'dovecot':>15}")
    for cmd in COMMANDS:
        (times, size) = results[cmd]["kasten"]
        secs = [b - a for a, b in times]
        opens = results[cmd]["kasten_opens"]
        line = f"{cmd:44} {secs[0]:7.3f}/{min(secs[1:]):7.3f} {max(opens):7d} {size:8d}"
        if "dovecot" in results[cmd]:
            dt = [b - a for a, b in results[cmd]["dovecot"][0]]
            line += f" {dt[0]:7.3f}/{min(dt[1:]):7.3f}"
        print(line)


if __name__ == "__main__":
    main()
