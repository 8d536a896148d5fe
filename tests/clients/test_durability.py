"""Durability seen in the system calls (DESIGN.md "Storage": the file and the index row
are on disk before the client gets its 250). kill -9 keeps the page cache, so
test_crash.py passes with every flush removed; these tests strace the server instead:

  - a real server under concurrent SMTP and LMTP load: for every acknowledged message,
    its spool writes, its links into accounts/*/msg/ and the WAL frames that commit its
    rows are followed by a completed flush that returned before its 250 was written
    (durability_check.py states the rule and how the trace is read);
  - the mutant: the same server with every flush turned into a no-op (strace
    -e inject=...:retval=0, the kernel never runs it): every acknowledged message must
    be reported;
  - the checker on small hand-written traces: a late, failed, injected or unfinished
    flush, a fsync that covers too little, a missing commit frame.

Bounded: the load stops at LOAD_DEADLINE seconds; each server test < 60 s."""

import itertools
import os
import re
import threading
import time

import pytest

from durability_check import Ack, check, strace_command
from kasten_test import RawSMTP, dot_stuff, unique_user

SMTP_CLIENTS, SMTP_MESSAGES = 8, 40          # messages per client
LMTP_CLIENTS, LMTP_MESSAGES, LMTP_RCPTS = 2, 15, 3
LOAD_DEADLINE = 30.0                          # seconds of sending at most
MIN_ACKED = 100                               # fewer means the check proves little


def message(n, rcpts):
    """0.3 .. 60 KB: the larger ones take several spool writes (32 KB buffer)."""
    size = 300 + (n * 7919) % 60000
    line = b"%06d durability 0123456789abcdefghijklmnopqrstuvwxyz\r\n" % n
    body = line * max(1, size // len(line))
    return (f"From: <dur{n}@sender.invalid>\r\nTo: <{rcpts[0]}>\r\n"
            f"Subject: durability {n}\r\nMessage-ID: <dur.{n}@test>\r\n\r\n").encode() + body


class Load:
    """Concurrent clients, each sending its messages one after the other on one
    connection; every message has its own sender dur<N>@sender.invalid, the tag the
    checker finds it by. Records what the clients were told (acks) and every error."""

    def __init__(self, server, rcpts):
        self.server, self.rcpts = server, rcpts
        self.numbers = itertools.count()
        self.lock = threading.Lock()
        self.acks, self.errors = [], []
        self.deadline = time.monotonic() + LOAD_DEADLINE

    def client(self, proto, messages, n_rcpts):
        try:
            with RawSMTP(self.server.host, self.server.ports[proto], timeout=60) as r:
                port = r.sock.getsockname()[1]
                assert r.reply()[0] == 220
                assert r.cmd(("LHLO" if proto == "lmtp" else "EHLO") + " client.test")[0] == 250
                for _ in range(messages):
                    if time.monotonic() > self.deadline:
                        break
                    self.one(r, proto, port, n_rcpts)
                r.cmd("QUIT")
        except Exception as e:  # any failure here fails the test (traced_run)
            with self.lock:
                self.errors.append(f"{proto} client: {e!r}")

    def one(self, r, proto, port, n_rcpts):
        n = next(self.numbers)
        # SMTP: every fourth message has two recipients (one 250, two links)
        k = n_rcpts if proto == "lmtp" else (2 if n % 4 == 0 else 1)
        to = [self.rcpts[(n + i) % len(self.rcpts)] for i in range(k)]
        r.send(f"MAIL FROM:<dur{n}@sender.invalid>\r\n" +
               "".join(f"RCPT TO:<{a}>\r\n" for a in to) + "DATA\r\n")
        codes = [r.reply()[0] for _ in range(k + 2)]
        assert codes == [250] * (k + 1) + [354], f"dur{n}: {codes}"
        r.send(dot_stuff(message(n, to)))
        replies = [r.reply() for _ in (to if proto == "lmtp" else [0])]
        assert all(code == 250 for code, _ in replies), f"dur{n}: {replies}"
        qid = None
        if proto == "smtp":
            m = re.search(r"Ok: queued as (\w+)", replies[0][1][-1])
            assert m, f"dur{n}: no queue id in {replies}"
            qid = m.group(1)
        with self.lock:
            self.acks.append(Ack(tag=f"dur{n}", port=port, proto=proto, rcpts=k, qid=qid))

    def run(self, smtp_clients, smtp_messages, lmtp_clients, lmtp_messages):
        threads = [threading.Thread(target=self.client, args=("smtp", smtp_messages, 1))
                   for _ in range(smtp_clients)]
        threads += [threading.Thread(target=self.client,
                                     args=("lmtp", lmtp_messages, LMTP_RCPTS))
                    for _ in range(lmtp_clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=LOAD_DEADLINE + 60)
        assert not any(t.is_alive() for t in threads), "a client hangs"
        return self


def traced_run(kasten_factory, name, inject_flush, size):
    """Start a server under strace, load it, stop it (SIGTERM; kasten must exit 0 and
    strace with it), and check the trace. Returns (result, load, seconds)."""
    t0 = time.monotonic()
    s = kasten_factory(name=name)
    trace = s.dir / "strace.out"
    s.start(wrapper=strace_command(trace, inject_flush=inject_flush))
    rcpts = [unique_user("dur") for _ in range(4)]
    for a in rcpts:
        s.user_add(a, "Durable-pass-1")
    load = Load(s, rcpts).run(*size)
    s.stop()
    assert not load.errors, "\n".join(load.errors[:10])
    assert len(load.acks) >= min(MIN_ACKED, size[0] * size[1]), \
        f"only {len(load.acks)} messages acknowledged in {LOAD_DEADLINE}s"
    with open(trace, encoding="latin-1") as f:
        res = check(f, s.data, load.acks)
    return res, load, time.monotonic() - t0


def test_every_ack_follows_a_completed_flush(kasten_factory):
    res, load, secs = traced_run(
        kasten_factory, "durable", False,
        (SMTP_CLIENTS, SMTP_MESSAGES, LMTP_CLIENTS, LMTP_MESSAGES))
    print(f"durability: {res.summary()}, {secs:.1f}s")
    assert not res.violations, \
        f"{len(res.violations)} acknowledged before durable:\n" + "\n".join(res.violations[:10])
    assert res.checked == len(load.acks)
    assert any(a.proto == "lmtp" for a in load.acks)
    assert res.flushes >= 1 and res.injected == 0
    assert secs < 60


def test_mutant_without_flushes_is_caught(kasten_factory):
    """Every syncfs/fsync/fdatasync/sync returns 0 without running: the server behaves
    exactly as one whose flush was deleted, and the checker must report every message."""
    res, load, secs = traced_run(kasten_factory, "mutant", True, (3, 20, 1, 5))
    print(f"durability mutant: {res.summary()}, {secs:.1f}s\nfirst report: "
          f"{res.violations[0] if res.violations else '-'}")
    assert res.injected >= 1, "strace injected nothing: the mutant is not a mutant"
    assert res.flushes == 0, "a flush ran although all were to be injected"
    assert res.checked == len(load.acks)
    reported = {v.split(" ", 1)[0].rstrip(":") for v in res.violations}
    missed = {a.tag for a in load.acks} - reported
    assert not missed, f"{len(missed)} unflushed messages not reported: {sorted(missed)[:10]}"
    assert all("(INJECTED)" in v or "none" in v for v in res.violations), res.violations[:3]
    assert secs < 60


# ---- the checker on hand-written traces ----

HEADER = r"\0\0\0\3\0\0\0\0abcdefghijklmnop"    # a WAL frame header, not a commit
COMMIT = r"\0\0\0\v\0\0\0\vabcdefghijklmnop"    # the commit frame's header


def small_trace(d, flush, wal=True, commit=True):
    """One SMTP message dur0 to one account: session thread 100, committer 101; `flush`
    is a list of (position, line body) put at "before"/"after" the reply or "mid"."""
    spool, msg = f"{d}/spool/1.1.0.aa", f"{d}/accounts/1/msg/g1"
    lines = [
        f'100 1.000001 write(7<{spool}>, "Return-Path: <dur0@sender.invalid>\\r\\n'
        f'Received: from client.test ([127.0.0.1])\\r\\n\\tby mx (kasten) with ESMTP id q0'
        f'\\r\\n", 100) = 100',
        f'101 1.000002 link("{spool}", "{msg}") = 0',
    ]
    if wal:
        w = f"101 1.000003 pwrite64(9<{d}/accounts/1/index.db-wal>, "
        lines += [w + f'"{HEADER}", 24, 32) = 24', w + '"\\r\\0\\0", 4096, 56) = 4096']
        if commit:
            lines += [w + f'"{COMMIT}", 24, 4152) = 24', w + '"\\n\\0\\0", 4096, 4176) = 4096']
    reply = ('100 1.000009 writev(8<TCP:[127.0.0.1:25->127.0.0.1:4000]>, '
             '[{iov_base="250 2.0.0 Ok: queued as q0\\r\\n", iov_len=28}], 1) = 28')
    before = [b for where, b in flush if where == "before"]
    mid = [b for where, b in flush if where == "mid"]
    after = [b for where, b in flush if where == "after"]
    lines = lines + [f"101 1.000005 {b}" for b in before] + mid + [reply] + \
        [f"101 1.000010 {b}" for b in after]
    ack = Ack(tag="dur0", port=4000, proto="smtp", rcpts=1, qid="q0")
    return lines, ack


def run_small(tmp_path, flush, **kw):
    d = os.path.realpath(tmp_path)
    lines, ack = small_trace(d, [(w, b.replace("<D", "<" + d)) for w, b in flush], **kw)
    return check(lines, d, [ack])


def test_checker_accepts_a_flush_between_commit_and_reply(tmp_path):
    res = run_small(tmp_path, [("before", "syncfs(5<D>) = 0")])
    assert res.checked == 1 and res.pieces == 6 and res.flushes == 1
    assert not res.violations, res.violations


def test_checker_accepts_fsyncs_of_file_directory_and_wal(tmp_path):
    res = run_small(tmp_path, [("before", "fsync(6<D/accounts/1/msg/g1>) = 0"),
                               ("before", "fsync(5<D/accounts/1/msg>) = 0"),
                               ("before", "fdatasync(9<D/accounts/1/index.db-wal>) = 0")])
    assert not res.violations, res.violations


@pytest.mark.parametrize("flush, why", [
    ([], "no flush at all"),
    ([("after", "syncfs(5<D>) = 0")], "the flush comes after the reply"),
    ([("before", "syncfs(5<D>) = 0 (INJECTED)")], "the flush never ran"),
    ([("before", "syncfs(5<D>) = -1 EIO (Input/output error)")], "the flush failed"),
    ([("before", "syncfs(5<D> <unfinished ...>"),
      ("after", "<... syncfs resumed>) = 0")], "the flush returned after the reply"),
    ([("before", "fdatasync(9<D/accounts/1/index.db-wal>) = 0")],
     "the WAL is synced, the file and its link are not"),
    ([("before", "syncfs(5</elsewhere>) = 0")], "another file system was synced"),
])
def test_checker_reports(tmp_path, flush, why):
    res = run_small(tmp_path, flush)
    assert res.checked == 1
    assert len(res.violations) == 1, f"{why}: {res.violations}"
    assert res.violations[0].startswith("dur0 (smtp queue id q0): ")
    assert "was not flushed before its 250" in res.violations[0]


def test_checker_orders_by_return_not_by_start(tmp_path):
    """A flush counts when its return is printed before the reply starts, whatever other
    threads did while it ran (a return printed after the reply's start: see above)."""
    d = os.path.realpath(tmp_path)
    res = run_small(tmp_path, [("before", "syncfs(5<D> <unfinished ...>"),
                               ("mid", f"100 1.000006 write(3<{d}/x.log>, \"log\", 3) = 3"),
                               ("mid", "101 1.000007 <... syncfs resumed>) = 0")])
    assert not res.violations, res.violations


def test_checker_wants_writes_done_before_the_flush_starts(tmp_path):
    """A write still running when the flush begins is not covered by that flush."""
    d = os.path.realpath(tmp_path)
    lines, ack = small_trace(d, [("before", f"syncfs(5<{d}> <unfinished ...>"),
                                 ("mid", "100 1.000006 <... write resumed>) = 100"),
                                 ("mid", "101 1.000007 <... syncfs resumed>) = 0")])
    assert lines[0].endswith(", 100) = 100")
    lines[0] = lines[0][:-len(") = 100")] + " <unfinished ...>"
    res = check(lines, d, [ack])
    assert len(res.violations) == 1 and "spool write" in res.violations[0], res.violations


def test_checker_needs_the_commit_frame(tmp_path):
    for kw in ({"commit": False}, {"wal": False}):
        res = run_small(tmp_path, [("before", "syncfs(5<D>) = 0")], **kw)
        assert len(res.violations) == 1 and "no WAL commit frame" in res.violations[0], \
            (kw, res.violations)


def test_checker_wants_every_acknowledgement_in_the_trace(tmp_path):
    d = os.path.realpath(tmp_path)
    lines, _ = small_trace(d, [("before", f"syncfs(5<{d}>) = 0")])
    res = check(lines, d, [Ack(tag="dur1", port=4000, proto="smtp", rcpts=1, qid="q1"),
                           Ack(tag="dur0", port=4001, proto="smtp", rcpts=1, qid="q0"),
                           Ack(tag="dur0", port=4000, proto="smtp", rcpts=2, qid="q0")])
    assert len(res.violations) == 3, res.violations
