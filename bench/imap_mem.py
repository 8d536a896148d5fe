#!/usr/bin/python3
"""imap_mem.py: server memory per logged-in, selected, IDLE IMAP connection (loopback only).

    imap_mem.py PORT --pid PID --label NAME [--tls] [--conns 10000] [--users 1..1000]
                [--password P] [--parallel 64] [--timeout 1200]

Opens CONNS connections to 127.0.0.1:PORT (after a TLS handshake with --tls), each
LOGIN user<i>@example.test (round robin over --users), SELECT INBOX, IDLE, and waits for
the "+"; PARALLEL of them are being set up at a time (the logins' password hashing is
what takes long). Then all sit in IDLE while the server's memory is read, before (after
a warm-up of 20 such connections, opened and closed) and after.

The server is PID and all its descendants (Dovecot: master, imap-login, imap, auth,
anvil, log, stats...; kasten: one process). For each, from /proc: RSS (VmRSS: the sum
counts pages shared between processes once per process, as `ps` would add them up), PSS
(Pss in smaps_rollup: shared pages divided among their sharers, so the sum is the real
footprint) and page tables (VmPTE: kernel memory, in neither of the others). Prints:

    RESULT imap_mem server=NAME tls=no conns=N rss_per_conn=B pss_per_conn=B
           pte_per_conn=B procs_before=P procs_after=P setup_s=S ...

Exits 1 if a connection failed or closed before the measurement. Bounded: every step
has a timeout and the whole run --timeout seconds."""

import argparse
import asyncio
import os
import resource
import ssl
import sys
import time

HOST = "127.0.0.1"
STEP_TIMEOUT = 120  # one connection's login, select or IDLE; Dovecot queues logins


def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def kib_field(path, name):
    with open(path) as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
    return 0


def memory(pid):
    """(rss, pss, pte, processes) of PID's tree, in bytes."""
    rss = pss = pte = n = 0
    for p in descendants(pid):
        try:
            rss += kib_field(f"/proc/{p}/status", "VmRSS")
            pte += kib_field(f"/proc/{p}/status", "VmPTE")
            pss += kib_field(f"/proc/{p}/smaps_rollup", "Pss")
            n += 1
        except OSError:
            continue
    return rss, pss, pte, n


class Session:
    def __init__(self, reader, writer):
        self.r, self.w, self.tag = reader, writer, 0

    async def line(self):
        line = await asyncio.wait_for(self.r.readline(), STEP_TIMEOUT)
        if not line:
            raise ConnectionError("closed by the server")
        if line.rstrip().endswith(b"}"):  # a literal: skip it and the rest of the line
            size = int(line.rstrip()[line.rstrip().rindex(b"{") + 1:-1].rstrip(b"+"))
            await asyncio.wait_for(self.r.readexactly(size), STEP_TIMEOUT)
            return line + await self.line()
        return line

    async def done(self):
        """Ends the IDLE: its tagged OK shows the session was still there."""
        self.w.write(b"DONE\r\n")
        tag = f"m{self.tag} ".encode()
        while not (line := await self.line()).startswith(tag):
            pass
        if not line[len(tag):].startswith(b"OK"):
            raise RuntimeError(f"IDLE: {line[:200]!r}")

    async def command(self, text, until_continuation=False):
        self.tag += 1
        tag = f"m{self.tag} ".encode()
        self.w.write(tag + text.encode() + b"\r\n")
        while True:
            line = await self.line()
            if until_continuation and line.startswith(b"+"):
                return
            if line.startswith(tag):
                if not line[len(tag):].startswith(b"OK"):
                    raise RuntimeError(f"{text.split()[0]}: {line[:200]!r}")
                return


async def open_idle(port, user, password, tls_ctx):
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(HOST, port, ssl=tls_ctx,
                                server_hostname="localhost" if tls_ctx else None), STEP_TIMEOUT)
    s = Session(reader, writer)
    greeting = await s.line()
    if not greeting.startswith(b"* OK"):
        raise RuntimeError(f"greeting {greeting[:100]!r}")
    await s.command(f'LOGIN "{user}" "{password}"')
    await s.command("SELECT INBOX")
    await s.command("IDLE", until_continuation=True)
    return s


async def open_many(n, port, users, password, tls_ctx, parallel):
    slots = asyncio.Semaphore(parallel)
    sessions, errors = [], []

    async def one(i):
        async with slots:
            try:
                sessions.append(await open_idle(port, users[i % len(users)], password, tls_ctx))
            except (OSError, RuntimeError, ValueError, asyncio.TimeoutError,
                    asyncio.IncompleteReadError) as e:
                errors.append(f"connection {i}: {type(e).__name__} {e}")

    await asyncio.gather(*(one(i) for i in range(n)))
    return sessions, errors


async def end_idle_all(sessions, parallel):
    """The number of sessions that no longer answer DONE with OK."""
    slots = asyncio.Semaphore(parallel * 4)

    async def one(s):
        async with slots:
            try:
                await s.done()
                return 0
            except (OSError, RuntimeError, ValueError, asyncio.TimeoutError,
                    asyncio.IncompleteReadError):
                return 1

    return sum(await asyncio.gather(*(one(s) for s in sessions)))


def close_all(sessions):
    for s in sessions:
        s.w.transport.abort()


async def run(a):
    tls_ctx = None
    if a.tls:
        tls_ctx = ssl.create_default_context()
        tls_ctx.check_hostname = False
        tls_ctx.verify_mode = ssl.CERT_NONE
    lo, hi = map(int, a.users.split(".."))
    users = [f"user{i}@{a.domain}" for i in range(lo, hi + 1)]
    # warm up: TLS contexts, allocator arenas, Dovecot's pre-forked processes settle
    warm, errors = await open_many(20, a.port, users, a.password, tls_ctx, a.parallel)
    close_all(warm)
    if errors:
        print("imap_mem: warm-up failed:", *errors[:5], sep="\n  ", file=sys.stderr)
        return 1
    await asyncio.sleep(2)
    before = memory(a.pid)
    t0 = time.monotonic()
    sessions, errors = await open_many(a.conns, a.port, users, a.password, tls_ctx, a.parallel)
    setup = time.monotonic() - t0
    await asyncio.sleep(a.settle)
    after = memory(a.pid)
    # every connection must have stayed open and in IDLE: nothing may have been dropped
    dropped = await end_idle_all(sessions, a.parallel)
    close_all(sessions)
    n = len(sessions)
    per = [(y - x) / max(n, 1) for x, y in zip(before[:3], after[:3])]
    print(f"RESULT imap_mem server={a.label} tls={'yes' if a.tls else 'no'} conns={n} "
          f"rss_per_conn={per[0]:.0f} pss_per_conn={per[1]:.0f} pte_per_conn={per[2]:.0f} "
          f"procs_before={before[3]} procs_after={after[3]} setup_s={setup:.1f} "
          f"rss_before={before[0]} rss_after={after[0]} pss_before={before[1]} "
          f"pss_after={after[1]} failed={len(errors)} dropped={dropped}")
    if errors or dropped or n != a.conns:
        print(f"imap_mem: {len(errors)} failed, {dropped} dropped:", *errors[:10],
              sep="\n  ", file=sys.stderr)
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--pid", type=int, required=True, help="the server (and its descendants)")
    ap.add_argument("--label", required=True)
    ap.add_argument("--tls", action="store_true", help="implicit TLS (the imaps port)")
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--users", default="1..1000")
    ap.add_argument("--domain", default="example.test")
    ap.add_argument("--password", default="Bench-pass-1")
    ap.add_argument("--parallel", type=int, default=64)
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--timeout", type=float, default=1200)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < a.conns + 100:
        print(f"imap_mem: {a.conns} connections need `ulimit -Hn` > {a.conns + 100}",
              file=sys.stderr)
        return 1
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        return asyncio.run(asyncio.wait_for(run(a), a.timeout))
    except asyncio.TimeoutError:
        print(f"imap_mem: not done after {a.timeout:.0f} s", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
