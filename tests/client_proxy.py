"""client_proxy: a loopback TCP proxy between a mail client and a server, for the tests
of kasten fetch, sync and migrate (tests/proto/test_client_*.py) and bench/.

    p = Proxy(("127.0.0.1", 110))                 # forwards and counts
    p = Proxy(addr, cut=("s2c", 5000))            # the server's 5,000th byte is its last
    p = Proxy(addr, drop=rb"^QUIT\\r?\\n$")          # that client line never arrives
    p = Proxy(addr, rate=("s2c", 1 << 20))        # at most 1 MiB/s that way
    ... client connects to 127.0.0.1:p.port ...
    p.close(); p.bytes_c2s, p.bytes_s2c, p.cut_done, p.dropped

cut=(direction, n): in that direction ("c2s" client to server, "s2c" server to client)
exactly the first n bytes of each connection are forwarded; then both sides are closed
at once, as a dropped connection looks to both ends. cut=("after", k): the client's
bytes up to the end of its k-th command (1-based; an IMAP command with its literals,
client_commands) are forwarded, then both sides closed; cut=("answer", k): the same
just before the server's tagged answer to the k-th command (IMAP), i.e. when the server
has done it and the client does not know. These two hit the same step of every run
even when the runs differ by a few bytes (UIDs, MODSEQs). drop=regex: the first complete
client line (CRLF or LF included) that matches is not forwarded, and both sides are
closed instead: the server never sees it (a lost QUIT: RFC 1939 6, no UPDATE state).
rate=(direction, bytes per second): that direction is paced, so that a client on a
fast machine is still in the middle of a long download when the test has seen the
state it waits for and kills it (the kill -9 cases); what is checked never depends on
the pace.
record=True keeps the bytes of each connection in both directions (p.streams) so that
a test can find the offsets of commands and responses to cut at, and its reads in the
order forwarded (p.streams[i]["reads"]: [(direction, bytes)]): a client's writes, each
one read here as the client waits for an answer between them, count its round trips.

Threads: one accepting, two per connection; at most max_conns connections at a time
(more are closed at once), and a recorded stream is bounded by RECORD_MAX.
"""

import re
import socket
import threading
import time

RECORD_MAX = 64 << 20
CHUNK = 65536
RATE_CHUNK = 4096  # the unit of pacing


def client_commands(c2s):
    """[(start, end)] of each client command in the bytes a client sent: a line, with
    the IMAP literals it announces ({n} or {n+} at a line end) and the rest after them."""
    out, start, pos = [], 0, 0
    while True:
        i = c2s.find(b"\n", pos)
        if i < 0:
            return out
        m = re.search(rb"\{(\d+)\+?\}\r?\n$", c2s[pos:i + 1])
        if m:
            pos = i + 1 + int(m.group(1))
            if pos > len(c2s):
                return out
            continue
        out.append((start, i + 1))
        start = pos = i + 1


class _Conn:
    def __init__(self, client, upstream):
        self.sock = {"c2s": (client, upstream), "s2c": (upstream, client)}
        self.sent = {"c2s": 0, "s2c": 0}
        self.stream = {"c2s": bytearray(), "s2c": bytearray()}
        self.reads = []  # [(direction, bytes)] as forwarded, if recorded
        self.closed = False
        self.seen = {"c2s": bytearray(), "s2c": bytearray()}  # for cuts by command
        self.commands = 0  # complete client commands forwarded
        self.answer = None  # (tag, s2c offset to look from) of the command cut="answer"
        self.start = time.monotonic()
        self.lock = threading.Lock()

    def close(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for s in self.sock["c2s"]:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class Proxy:
    def __init__(self, upstream, cut=None, drop=None, rate=None, record=False, max_conns=8):
        for opt in (cut, rate):
            if opt is not None:
                assert opt[0] in ("c2s", "s2c", "after", "answer") and opt[1] >= 0, opt
        self.upstream = tuple(upstream)
        self.cut = cut
        self.drop = re.compile(drop) if isinstance(drop, (bytes, str)) else drop
        self.record = record
        self.rate = rate
        self.bytes_c2s = 0
        self.bytes_s2c = 0
        self.cut_done = False  # a connection was cut at the byte count
        self.dropped = None  # the client line that was dropped
        self.streams = []  # [{"c2s": bytes, "s2c": bytes}] per connection, if recorded
        self.connections = 0
        self._conns = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_conns)
        self._threads = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.host, self.port = self._listener.getsockname()
        self._stopping = False
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)

    # ---- accepting ----
    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # close() shut the listener down
            if self._stopping or not self._slots.acquire(blocking=False):
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                self._slots.release()
                continue
            conn = _Conn(client, upstream)
            with self._lock:
                self._conns.append(conn)
                self.connections += 1
            done = threading.Barrier(2, action=lambda c=conn: self._finish(c))
            for direction in ("c2s", "s2c"):
                t = threading.Thread(target=self._pump, args=(conn, direction, done),
                                     daemon=True)
                t.start()
                self._threads.append(t)

    def _finish(self, conn):
        conn.close()
        if self.record:
            with self._lock:
                rec = {d: bytes(conn.stream[d]) for d in ("c2s", "s2c")}
                rec["reads"] = list(conn.reads)
                self.streams.append(rec)
        self._slots.release()

    # ---- forwarding ----
    def _pump(self, conn, direction, done):
        src, dst = conn.sock[direction]
        pending = b""  # client bytes held until their line is complete (drop mode)
        try:
            while True:
                try:
                    data = src.recv(CHUNK)
                except OSError:
                    break
                if not data:
                    try:
                        if pending:
                            self._send(conn, direction, pending)
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    break
                if self.drop is not None and direction == "c2s":
                    pending += data
                    out, pending, hit = self._lines(pending)
                    if out and not self._send(conn, direction, out):
                        break
                    if hit is not None:
                        with self._lock:
                            if self.dropped is None:
                                self.dropped = hit
                        break
                elif not self._send(conn, direction, data):
                    break
        finally:
            conn.close()  # either side gone or cut: the other side goes too
            done.wait()

    def _lines(self, pending):
        """(bytes to forward, bytes held back, the dropped line or None)."""
        out = bytearray()
        while True:
            i = pending.find(b"\n")
            if i < 0:
                return bytes(out), pending, None
            line, pending = pending[:i + 1], pending[i + 1:]
            if self.dropped is None and self.drop.search(line):
                return bytes(out), b"", line
            out += line

    def _send(self, conn, direction, data):
        """Forward data (paced if asked), or the part of it before the cut; False once
        the connection is to end."""
        if self.rate is None or self.rate[0] != direction:
            return self._forward(conn, direction, data)
        for i in range(0, len(data), RATE_CHUNK):
            due = (conn.sent[direction] / self.rate[1]) - (time.monotonic() - conn.start)
            if due > 0:
                time.sleep(due)
            if not self._forward(conn, direction, data[i:i + RATE_CHUNK]):
                return False
        return True

    def _command_limit(self, conn, direction, data):
        """For cut=("after"|"answer", k): how many bytes of data go before the cut, or
        None for all of them."""
        kind, k = self.cut
        seen = conn.seen[direction]
        base = len(seen)
        seen += data
        if direction == "c2s":
            ends = [e for _, e in client_commands(bytes(seen))]
            for n, end in enumerate(ends[conn.commands:], conn.commands + 1):
                if end <= base:
                    continue
                conn.commands = n
                if n == k and kind == "after":
                    return end - base
                if n == k and kind == "answer":
                    cmd = bytes(seen[ends[n - 2] if n > 1 else 0:end])
                    conn.answer = (cmd.split(b" ", 1)[0], len(conn.seen["s2c"]))
            return None
        if kind == "answer" and conn.answer is not None:
            tag, since = conn.answer
            # from the line end before `since`: the answer may be the first line after it
            m = re.compile(rb"(?:^|\n)" + re.escape(tag) + rb" ").search(bytes(seen),
                                                                       max(since - 1, 0))
            if m:
                start = m.start() + (1 if seen[m.start()] == 10 else 0)
                return max(start - base, 0)
        return None

    def _forward(self, conn, direction, data):
        limit = None
        if self.cut is not None and self.cut[0] in ("after", "answer"):
            limit = self._command_limit(conn, direction, data)
            if limit is not None:
                data = data[:limit]
                limit = 0  # this send is the last one
        elif self.cut is not None and self.cut[0] == direction:
            limit = self.cut[1] - conn.sent[direction]
            data = data[:max(limit, 0)]
        if data:
            # recorded before it is passed on: whatever the other side answers to it
            # is then recorded after it
            if self.record and len(conn.stream[direction]) < RECORD_MAX:
                with conn.lock:
                    conn.reads.append((direction, bytes(data)))
            try:
                conn.sock[direction][1].sendall(data)
            except OSError:
                return False
            conn.sent[direction] += len(data)
            with self._lock:
                if direction == "c2s":
                    self.bytes_c2s += len(data)
                else:
                    self.bytes_s2c += len(data)
            if self.record and len(conn.stream[direction]) < RECORD_MAX:
                conn.stream[direction] += data
        if limit is not None and (self.cut[0] in ("after", "answer") or
                                  conn.sent[direction] >= self.cut[1]):
            with self._lock:
                self.cut_done = True
            return False
        return True

    # ---- the end ----
    def close(self):
        """Stop accepting, close every connection, wait for the threads."""
        self._stopping = True
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            c.close()
        for t in self._threads:
            t.join(timeout=10)

    @property
    def bytes_total(self):
        return self.bytes_c2s + self.bytes_s2c

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
