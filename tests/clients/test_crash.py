"""Durability (issue 2, DESIGN.md "Storage"): kill -9 the server in the middle of a
delivery burst, restart it, and every message that got its 250 is in the store, byte
for byte; nothing partial or corrupt is there. Bounded: < 60 s per test."""

import re
import subprocess
import threading
import time

from kasten_test import RawSMTP, dot_stuff, split_trace, unique_user

THREADS = 8
KILL_AFTER_ACKS = 300
MAX_MESSAGES = 5000       # hard bound on what the senders try
BURST_DEADLINE = 20.0     # seconds of sending at most before the kill
SENDER = "crash@sender.invalid"
MID_RE = re.compile(rb"^Message-ID: (<[^>]+>)\r$", re.M | re.I)


def crash_message(n, rcpt):
    size = 200 + (n * 7919) % 20000  # 0.2 .. 20 KB, several network writes for some
    line = (b"%06d " % n) + b"abcdefghijklmnopqrstuvwxyz0123456789" * 2 + b"\r\n"
    body = (line * (size // len(line) + 1))[:size]
    body = body[:body.rfind(b"\r\n") + 2] if b"\r\n" in body else body + b"\r\n"
    return (f"From: <{SENDER}>\r\nTo: <{rcpt}>\r\nSubject: crash test {n}\r\n"
            f"Message-ID: <crash.{n}@test>\r\n\r\n").encode() + body


class Burst:
    def __init__(self, server, rcpts):
        self.server, self.rcpts = server, rcpts
        self.lock = threading.Lock()
        self.next = 0
        self.sent = {}    # message-id -> (rcpt, bytes): every message we started
        self.acked = {}   # message-id -> (rcpt, bytes): got 250 after the final dot
        self.stop = threading.Event()

    def take(self):
        with self.lock:
            if self.stop.is_set() or self.next >= MAX_MESSAGES:
                return None
            n = self.next
            self.next += 1
        rcpt = self.rcpts[n % len(self.rcpts)]
        msg = crash_message(n, rcpt)
        mid = f"<crash.{n}@test>".encode()
        with self.lock:
            self.sent[mid] = (rcpt, msg)
        return mid, rcpt, msg

    def worker(self):
        try:
            with RawSMTP(self.server.host, self.server.ports["smtp"], timeout=10) as r:
                assert r.reply()[0] == 220
                assert r.cmd("EHLO client.test")[0] == 250
                while True:
                    job = self.take()
                    if job is None:
                        r.cmd("QUIT")
                        return
                    mid, rcpt, msg = job
                    r.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n")
                    codes = [r.reply()[0] for _ in range(3)]
                    if codes != [250, 250, 354]:
                        return
                    r.send(dot_stuff(msg))
                    if r.reply()[0] == 250:
                        with self.lock:
                            self.acked[mid] = (rcpt, msg)
        except (OSError, ConnectionError, AssertionError):
            return  # the server was killed under us


def test_kill9_during_burst_keeps_every_acknowledged_message(kasten_factory):
    t0 = time.monotonic()
    s = kasten_factory(name="crash")
    s.start()
    rcpts = [unique_user("crash") for _ in range(4)]
    for a in rcpts:
        s.user_add(a, "Crash-pass-1")

    b = Burst(s, rcpts)
    threads = [threading.Thread(target=b.worker, daemon=True) for _ in range(THREADS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + BURST_DEADLINE
    while time.monotonic() < deadline and len(b.acked) < KILL_AFTER_ACKS \
            and any(t.is_alive() for t in threads):
        time.sleep(0.01)
    s.kill9()
    b.stop.set()
    for t in threads:
        t.join(timeout=15)
    acked = dict(b.acked)
    assert acked, f"no message acknowledged before the kill\n{s.log_tail()}"

    s.start()  # recovery runs here
    stored = {}
    for a in rcpts:
        for m in s.messages(a):
            trace, rest = split_trace(m)
            ids = MID_RE.findall(rest)
            assert len(ids) == 1, f"stored message without its Message-ID: {m[:300]!r}"
            mid = ids[0]
            assert mid not in stored, f"{mid!r} stored twice"
            assert mid in b.sent, f"unknown message {mid!r} in the store"
            rcpt, sent = b.sent[mid]
            assert rcpt == a, f"{mid!r} in the wrong account"
            assert trace.startswith(f"Return-Path: <{SENDER}>\r\n".encode())
            assert rest == sent, f"{mid!r} stored corrupt: {len(rest)} vs {len(sent)} bytes"
            stored[mid] = m
    lost = sorted(set(acked) - set(stored))
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged messages lost: {lost[:10]}"
    # user list agrees with the store after recovery
    listing = {r["address"]: r for r in s.user_list()}
    for a in rcpts:
        n = sum(1 for m in stored if b.sent[m][0] == a)
        assert listing[a].get("count") == str(n), listing[a]["raw"]
    s.stop()
    print(f"acked {len(acked)}, stored {len(stored)}, started {len(b.sent)}, "
          f"{time.monotonic() - t0:.1f}s")
    assert time.monotonic() - t0 < 60


def test_kill9_during_smtp_source_burst(kasten_factory):
    """The same with Postfix's smtp-source. Its -c counter goes up when the final "." is
    sent, before the reply is read (smtp-source.c data_done), so with S sessions at most
    S counted messages were not yet acknowledged: after the restart at least
    counter - S messages must be stored, all complete."""
    s = kasten_factory(name="crash-src")
    s.start()
    rcpt = unique_user("crashsrc")
    s.user_add(rcpt, "Crash-pass-1")
    length, sessions = 4096, 10
    p = subprocess.Popen(
        ["/usr/sbin/smtp-source", "-c", "-s", str(sessions), "-m", str(MAX_MESSAGES), "-l",
         str(length), "-f", SENDER, "-t", rcpt, "-M", "client.test",
         f"{s.host}:{s.ports['smtp']}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out = b""
        deadline = time.monotonic() + BURST_DEADLINE
        # let it run until some hundreds are acknowledged
        while time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.2)
            if len(s.messages(rcpt)) >= KILL_AFTER_ACKS:
                break
        s.kill9()
        out, _ = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    counts = [int(x) for x in re.findall(rb"(\d+)", out.split(b"smtp-source:")[0])]
    acked = max(counts) - sessions if counts else 0  # a lower bound, see above
    s.start()
    msgs = s.messages(rcpt)
    assert len(msgs) >= acked, f"{acked} acknowledged, {len(msgs)} stored"
    bodies = set()
    for m in msgs:
        trace, rest = split_trace(m)
        head, sep, body = rest.partition(b"\r\n\r\n")
        assert sep and trace.startswith(f"Return-Path: <{SENDER}>\r\n".encode())
        bodies.add(len(body))
    assert len(bodies) <= 1, f"messages of different sizes stored: {sorted(bodies)[:10]}"
    s.stop()
