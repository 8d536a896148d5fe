#!/usr/bin/python3
"""imap_fill.py: the mailboxes of the IMAP benchmarks, delivered over LMTP (loopback only).

    imap_fill.py PORT --users 1..50 --per-user 300 [--sessions 8] [--seed 1]

Delivers PER_USER messages to each of user<i>@example.test, SESSIONS LMTP sessions at
once, one recipient per transaction. The messages are generated from SEED alone, so
every server gets the same bytes; only the To: field names the account.

Why not smtp-source (as the LMTP and POP3 benches use): its messages are all alike,
and IMAP works on what is inside them. Here senders, subjects, dates and sizes vary
like an ordinary mailbox, so ENVELOPE and header fetches, SEARCH FROM/SUBJECT/BODY and
UNSEEN have something to find and a realistic fraction of hits. What imap_load searches
for (its defaults: FROM "alice", SUBJECT "invoice", BODY "harbour") occurs here:
  - one sender in SENDERS (1/26 of the messages) is alice.archer@;
  - about 1 subject in 10 carries "Invoice";
  - "harbour" is in the body of about 1 message in 10 (never in a header).
Sizes: ~70 % text of 1-4 KB, ~25 % 4-16 KB, ~5 % multipart with a 20-60 KB base64
attachment; 5 % of the subjects are RFC 2047 encoded words.

Prints "messages=N seconds=S msgs_per_s=R"; exits 1 if any delivery was refused."""

import argparse
import base64
import random
import smtplib
import sys
import threading
import time

HOST = "127.0.0.1"
SENDERS = [f"{first} {last} <{first.lower()}.{last.lower()}@{dom}>" for first, last, dom in [
    ("Alice", "Archer", "example.org"), ("Bruno", "Berg", "mail.example.net"),
    ("Carla", "Costa", "example.com"), ("David", "Dahl", "example.org"),
    ("Elena", "Engel", "lists.example.net"), ("Farid", "Fadel", "example.com"),
    ("Greta", "Gross", "example.org"), ("Hugo", "Hahn", "example.net"),
    ("Ines", "Ivers", "example.com"), ("Jonas", "Jung", "example.org"),
    ("Karin", "Klein", "example.net"), ("Lukas", "Lang", "example.com"),
    ("Mona", "Marx", "example.org"), ("Nils", "Neumann", "example.net"),
    ("Olga", "Ostrow", "example.com"), ("Paul", "Peters", "example.org"),
    ("Quinn", "Quast", "example.net"), ("Rosa", "Roth", "example.com"),
    ("Sven", "Sauer", "example.org"), ("Tina", "Thiel", "example.net"),
    ("Uwe", "Ulrich", "example.com"), ("Vera", "Vogt", "example.org"),
    ("Willi", "Weber", "example.net"), ("Xenia", "Xu", "example.com"),
    ("Yusuf", "Yilmaz", "example.org"), ("Zoe", "Zander", "example.net")]]
SUBJECT_WORDS = ("meeting notes budget review draft project plan schedule update report "
                 "question travel team offsite release call agenda minutes contract "
                 "proposal summary feedback lunch weekly monthly quarterly").split()
BODY_WORDS = ("the a of and to in is for on that with as at by from this be are we our "
              "you it will not have please can all more about which when their there "
              "ship market garden river window letter office morning evening "
              "station bridge kitchen library meeting number system question result "
              "project paper figure account invoice payment order delivery customer "
              "service support account balance report version change server client "
              "mountain coffee bicycle weather summer winter autumn spring holiday").split()
ENCODED_SUBJECTS = ["=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=",
                    "=?UTF-8?B?0J/RgNC40LLQtdGCLCDQvNC40YA=?=",
                    "=?ISO-8859-1?Q?Caf=E9_cr=E8me?="]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def paragraph_text(rng, size):
    lines, total = [], 0
    if rng.random() < 0.1:
        lines.append("We could meet at the harbour after work.")
    while total < size:
        words = [rng.choice(BODY_WORDS) for _ in range(rng.randint(8, 13))]
        line = " ".join(words).capitalize() + "."
        lines.append(line)
        total += len(line) + 2
    return "\r\n".join(lines) + "\r\n"


def subject(rng, j):
    r = rng.random()
    if r < 0.05:
        return rng.choice(ENCODED_SUBJECTS)
    words = [rng.choice(SUBJECT_WORDS) for _ in range(rng.randint(2, 6))]
    if r < 0.15:
        words = ["Invoice", str(1000 + j)] + words[:2]
    text = " ".join(words).capitalize()
    return ("Re: " + text) if rng.random() < 0.2 else text


def message(seed, j):
    """Message j: headers before To: and everything after, so To: can name the account."""
    rng = random.Random(f"{seed}:{j}")
    day = 1 + j // 24 % 28
    date = (f"{DAYS[(day + 2) % 7]}, {day:02d} {MONTHS[j // 672 % 12]} 2026 "
            f"{j % 24:02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} +0100")
    head = f"From: {rng.choice(SENDERS)}\r\n"
    rest = (f"Subject: {subject(rng, j)}\r\n"
            f"Date: {date}\r\n"
            f"Message-ID: <{seed}.{j}.{rng.getrandbits(32):08x}@bench.example.org>\r\n"
            "MIME-Version: 1.0\r\n")
    kind = rng.random()
    if kind < 0.05:
        blob = base64.encodebytes(rng.randbytes(rng.randint(20000, 60000))).decode()
        rest += (f"Content-Type: multipart/mixed; boundary=\"b-{j}\"\r\n\r\n"
                 f"--b-{j}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                 f"{paragraph_text(rng, rng.randint(300, 2000))}"
                 f"--b-{j}\r\nContent-Type: application/pdf; name=\"scan{j}.pdf\"\r\n"
                 f"Content-Disposition: attachment; filename=\"scan{j}.pdf\"\r\n"
                 "Content-Transfer-Encoding: base64\r\n\r\n"
                 + blob.replace("\n", "\r\n") + f"--b-{j}--\r\n")
    else:
        size = rng.randint(1000, 4000) if kind < 0.75 else rng.randint(4000, 16000)
        rest += ("Content-Type: text/plain; charset=us-ascii\r\n\r\n"
                 + paragraph_text(rng, size))
    return head.encode(), rest.encode()


def deliver(port, users, messages, domain, errors, counter):
    try:
        lmtp = smtplib.LMTP(HOST, port, local_hostname="fill.bench.test", timeout=300)
    except OSError as e:
        errors.append(f"connect: {e}")
        return
    with lmtp:
        for u in users:
            rcpt = f"user{u}@{domain}"
            for head, rest in messages:
                try:
                    lmtp.sendmail("bench@sender.invalid", [rcpt],
                                  head + f"To: <{rcpt}>\r\n".encode() + rest)
                    counter.append(1)
                except smtplib.SMTPException as e:
                    errors.append(f"{rcpt}: {e}")
                    return


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--users", default="1..50")
    ap.add_argument("--per-user", type=int, default=300)
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--domain", default="example.test")
    a = ap.parse_args()
    lo, hi = map(int, a.users.split(".."))
    users = list(range(lo, hi + 1))
    messages = [message(a.seed, j) for j in range(a.per_user)]
    errors, counter = [], []
    t0 = time.monotonic()
    threads = [threading.Thread(target=deliver, args=(a.port, users[i::a.sessions], messages,
                                                      a.domain, errors, counter))
               for i in range(min(a.sessions, len(users)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - t0
    n = len(counter)
    print(f"messages={n} seconds={secs:.2f} msgs_per_s={n / secs:.1f}")
    if errors or n != len(users) * a.per_user:
        print("imap_fill: errors:", *errors[:10], sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
