"""durability_check: read an strace of `kasten serve` and check that every acknowledged
message was durable before its acknowledgement left.

The rule (DESIGN.md, "Storage"): the message file is on disk, "then the index row is
committed; only then does the client get its OK/250", so that "nothing acknowledged is
ever lost". kill -9 keeps the page cache, so a crash test cannot see a missing flush;
this checker looks at the system calls instead. For every acknowledged message M and
every piece of state its 250 promises:

    - each write of its bytes to its spool file <data>/spool/NAME,
    - each link(2) of that file into <data>/accounts/ID/msg/GUID,
    - the writes to <data>/accounts/ID/index.db-wal from that link up to and including
      the frame that commits the transaction which inserted M's row,

there must be a flush F that covers that piece (syncfs on the data file system or sync:
everything; fsync/fdatasync: only the file or directory it names) such that

    the piece's call returned  <  F started,   and   F returned 0  <  the 250 write started

where F really ran ("= 0", not strace's "(INJECTED)", not an error, not unfinished).

Order: strace handles the stops of all threads one at a time and prints each into the
one output file as it handles it, and a stopped thread runs on only after that. So if
F's return is printed before the reply's write starts, no byte of the reply had been
sent when F returned; and a write printed as returned before F's start was in the page
cache when F began.
The checker therefore orders events by line number (-ttt timestamps are reported only).
A call printed as `NAME(... <unfinished ...>` starts at that line and returns at its
`<... NAME resumed>` line.

Replies are found on the server's side of the client's connection (strace -yy prints
TCP:[server->127.0.0.1:PORT]): for SMTP the write carrying "queued as QID", where QID is
the id in the Received field the server wrote into the spool file; for LMTP the first
write on that connection with a "250 " line after the message's spool writes began.
Messages are told apart by their sender (MAIL FROM), which the server writes first
into the spool file as Return-Path.

The WAL format (sqlite.org/fileformat2.html, "WAL File Format"): a 24-byte frame header
is written on its own, then the page; header bytes 4..8 are non-zero only in the frame
that commits a transaction.
"""

import bisect
import codecs
import os
import re
from dataclasses import dataclass, field

# What the server must be traced for (strace -e trace=...).
TRACE_CALLS = ("write", "writev", "pwrite64", "pwritev", "pwritev2", "sendto", "sendmsg",
               "link", "linkat", "syncfs", "fsync", "fdatasync", "sync", "copy_file_range")
FLUSH_CALLS = ("syncfs", "fsync", "fdatasync", "sync")
WRITE_CALLS = ("write", "writev", "pwrite64", "pwritev", "pwritev2", "sendto", "sendmsg")
LINK_CALLS = ("link", "linkat")
# Port 25's checks write the message again into a new spool file (the trace fields, the
# Authentication-Results field, the rest copied file to file) and unlink the first: the
# copy is what gets linked, so its copies and writes are what must be durable.
COPY_CALLS = ("copy_file_range",)
FD_ANY_RE = re.compile(r"(?:^|, )-?\d+<(.*?)>(?=[,)]|$)")
WAL_FRAME_HEADER = 24


def strace_command(trace_path, inject_flush=False):
    """The wrapper for KastenServer.start: strace every thread into one file, -yy for fd
    paths and TCP ports, -s 512 for the first bytes of every write. inject_flush turns
    every flush into a no-op returning 0 (the kernel never runs it): the mutant.
    LeakSanitizer cannot run in a traced process (it ptraces the process itself at exit
    and fails), so a sanitizer build runs without the leak check here; every other
    sanitizer check stays on, and the untraced tests check leaks."""
    asan = [o for o in os.environ.get("ASAN_OPTIONS", "").split(":") if o]
    cmd = ["env", "ASAN_OPTIONS=" + ":".join(asan + ["detect_leaks=0"]),
           "strace", "-f", "-ttt", "-yy", "-s", "512", "--seccomp-bpf", "-o", str(trace_path),
           "-e", "trace=" + ",".join(TRACE_CALLS)]
    if inject_flush:
        cmd += ["-e", "inject=syncfs,fsync,fdatasync,sync:retval=0"]
    return cmd + ["--"]


# ---- parsing ----

@dataclass
class Call:
    seq: int       # line where it started
    end: int       # line where it returned, or None: never returned
    pid: int
    t0: float      # start and return time (-ttt), for reports only
    t1: float
    name: str
    args: str
    ret: str       # "0", "-1 EIO (Input/output error)", "0 (INJECTED)", "?" ...
    path: str = None  # the first argument's fd path (-y), if any

    def real_ok(self):
        """Returned 0 or more, and the kernel ran it."""
        return (self.end is not None and re.match(r"\d", self.ret) is not None
                and "(INJECTED)" not in self.ret)

    def strings(self):
        """The decoded bytes of every string argument, in order."""
        return [decode(s) for s in STRING_RE.findall(self.args)]

    def data(self):
        """What a write call wrote, as far as strace -s showed it."""
        return b"".join(self.strings())

    def when(self):
        if self.end is None:
            return f"{self.t0:.6f} (line {self.seq + 1}, never returned)"
        if self.end == self.seq:
            return f"{self.t0:.6f} (line {self.seq + 1})"
        return f"{self.t0:.6f}..{self.t1:.6f} (lines {self.seq + 1}..{self.end + 1})"

    def describe(self):
        what = self.path or " -> ".join(s.decode("utf-8", "replace") for s in self.strings())
        return f"{self.name}({what}) = {self.ret} by {self.pid} at {self.when()}"


LINE_RE = re.compile(r"^(\d+) +(\d+\.\d+) (.*)$")
CALL_RE = re.compile(r"^(\w+)\((.*)$")
RESUMED_RE = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
# the return value is after the last closing quote: ") = 0", ") = -1 EIO (...)"
RET_RE = re.compile(r'\) += (\?|-?\d+|0x[0-9a-f]+)([^"]*)$')
FD_RE = re.compile(r"^(-?\d+)<(.*?)>(?=[,)]|$)")
STRING_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')


def decode(s):
    """The bytes of one strace string (C escapes; non-ASCII bytes come as octal)."""
    return codecs.escape_decode(s.encode("latin-1"))[0]


def parse(lines):
    """Calls from strace -f -ttt output lines, in the order they started."""
    calls, pending = [], {}
    for i, line in enumerate(lines):
        m = LINE_RE.match(line.rstrip("\n"))
        if not m:
            continue
        pid, ts, body = int(m.group(1)), float(m.group(2)), m.group(3)
        r = RESUMED_RE.match(body)
        if r:
            c = pending.pop(pid, None)
            if c is None or c.name != r.group(1):
                raise ValueError(f"line {i + 1}: resumed without its start: {line[:200]}")
            _finish(c, c.args + r.group(2), i, ts)
            continue
        c = CALL_RE.match(body)
        if not c:
            continue  # +++ exited +++, --- SIGNAL ---, strace notes
        call = Call(seq=i, end=None, pid=pid, t0=ts, t1=ts, name=c.group(1), args="", ret="?")
        calls.append(call)
        rest = c.group(2)
        if rest.endswith(" <unfinished ...>"):
            call.args = rest[:-len(" <unfinished ...>")]
            pending[pid] = call
        else:
            _finish(call, rest, i, ts)
    return calls  # those still pending never returned: end stays None


def _finish(call, text, i, ts):
    m = RET_RE.search(text)
    if m:
        call.args, call.ret = text[:m.start()], (m.group(1) + m.group(2)).strip()
        call.end, call.t1 = (i, ts) if m.group(1) != "?" else (None, ts)
    else:
        call.args = text  # no return at all (the process died in the call)
    f = FD_RE.match(call.args)
    if f:
        call.path = f.group(2)


# ---- the model ----

@dataclass
class Ack:
    """What a client saw: message `tag` (its MAIL FROM local part) acknowledged with 250
    on the connection from local port `port`; qid for SMTP (from "queued as")."""
    tag: str
    port: int
    proto: str      # "smtp" or "lmtp"
    rcpts: int
    qid: str = None


@dataclass
class Piece:
    """One thing an acknowledgement promises is on disk."""
    what: str
    call: Call
    covered_by: set   # fsync/fdatasync of one of these paths covers it


@dataclass
class Result:
    checked: int = 0        # acknowledged messages checked
    pieces: int = 0         # writes, links and WAL writes checked
    flushes: int = 0        # real, completed flushes in the trace
    injected: int = 0       # flushes strace did not let run
    by_call: dict = field(default_factory=dict)  # real flushes per syscall name
    violations: list = field(default_factory=list)

    def summary(self):
        calls = ", ".join(f"{n} {k}" for k, n in sorted(self.by_call.items()))
        return (f"{self.checked} acknowledged messages, {self.pieces} writes/links checked, "
                f"{self.flushes} real flushes ({calls}), {self.injected} injected, "
                f"{len(self.violations)} violations")


class Trace:
    def __init__(self, lines, data_dir):
        self.data = os.path.realpath(data_dir)
        self.calls = parse(lines)
        self.flushes = [c for c in self.calls if c.name in FLUSH_CALLS]  # by start line
        self.flush_seqs = [f.seq for f in self.flushes]
        self.spool_writes = {}   # spool path -> [write calls]
        self.links = {}          # spool path -> [link calls that returned 0]
        self.wal_writes = {}     # wal path -> [write calls]
        self.sock_writes = {}    # client port -> [write calls on that connection]
        self.by_sender = {}      # MAIL FROM local part -> [spool paths]
        self.copied_from = {}    # spool path -> the spool path its bytes were copied from
        spool, accounts = self.data + "/spool/", self.data + "/accounts/"
        for c in self.calls:
            if c.name in WRITE_CALLS and c.path:
                if c.path.startswith(spool):
                    self.spool_writes.setdefault(c.path, []).append(c)
                elif c.path.startswith(accounts) and c.path.endswith("/index.db-wal"):
                    self.wal_writes.setdefault(c.path, []).append(c)
                else:
                    port = re.search(r"^TCP:\[[^\]]*->127\.0\.0\.1:(\d+)\]$", c.path)
                    if port:
                        self.sock_writes.setdefault(int(port.group(1)), []).append(c)
            elif c.name in COPY_CALLS and c.path and c.path.startswith(spool):
                fds = FD_ANY_RE.findall(c.args)
                if len(fds) == 2 and fds[1].startswith(spool):
                    self.spool_writes.setdefault(fds[1], []).append(c)
                    self.copied_from[fds[1]] = c.path
            elif c.name in LINK_CALLS and c.real_ok():
                src, dst = self._link_paths(c)
                self.links.setdefault(src, []).append((c, dst))
        for path, writes in self.spool_writes.items():
            sender = re.match(rb"Return-Path: <([^@>]*)@", writes[0].data())
            if sender:
                self.by_sender.setdefault(sender.group(1).decode(), []).append(path)

    def _link_paths(self, c):
        names = [s.decode("utf-8", "replace") for s in c.strings()]
        if c.name == "linkat":  # linkat(olddirfd, "old", newdirfd, "new", flags)
            dirs = re.findall(r"(?:^|, )(AT_FDCWD(?:<[^>]*>)?|-?\d+<[^>]*>), \"", c.args)
            names = [n if n.startswith("/") or not d.endswith(">") else
                     d[d.index("<") + 1:-1] + "/" + n for d, n in zip(dirs, names)]
        return os.path.realpath(names[0]), os.path.realpath(names[1])

    def covers(self, flush, piece):
        if flush.name == "sync":
            return True
        if flush.name == "syncfs":
            p = flush.path or ""
            return p == self.data or p.startswith(self.data + "/") or _same_fs(p, self.data)
        return flush.path in piece.covered_by

    # ---- one message ----
    def message_files(self, spool):
        """The spool files that hold the message first written to `spool`: the copies
        made of it when it was written again (then they are what is linked), else it."""
        return [y for y, x in self.copied_from.items() if x == spool] or [spool]

    def message_links(self, spool):
        return [lk for f in self.message_files(spool) for lk in self.links.get(f, [])]

    def pieces(self, spool):
        """(pieces, problems) of the message in spool file `spool`."""
        pieces, problems = [], []
        for f in self.message_files(spool):
            names = {f} | {dst for _, dst in self.links.get(f, [])}
            for w in self.spool_writes[f]:
                pieces.append(Piece(f"spool write to {os.path.basename(f)}", w, names))
        links = self.message_links(spool)
        if not links:
            problems.append(f"no link of {spool} into accounts/*/msg/ in the trace")
        for lk, dst in links:
            pieces.append(Piece(f"link to {dst[len(self.data) + 1:]}", lk,
                                {os.path.dirname(dst)}))
            wal = os.path.dirname(os.path.dirname(dst)) + "/index.db-wal"
            commit = self.commit_writes(lk, wal)
            if not commit:
                problems.append(f"no WAL commit frame in {wal} after {lk.describe()}")
            for w in commit:
                pieces.append(Piece(f"WAL write to {wal[len(self.data) + 1:]}", w, {wal}))
        return pieces, problems

    def commit_writes(self, link, wal):
        """The writes to `wal` by the linking thread after the link, up to and including
        the page of the first commit frame: the transaction that holds the row."""
        out, commit_header = [], False
        for w in self.wal_writes.get(wal, []):
            if w.seq <= link.end or w.pid != link.pid:
                continue
            out.append(w)
            if commit_header:
                return out  # the commit frame's page
            d = w.strings()
            if len(d) == 1 and len(d[0]) == WAL_FRAME_HEADER and d[0][4:8] != b"\0\0\0\0":
                commit_header = True
        return []

    def reply_of(self, ack, spool):
        """The server's write that carried this message's 250, or None."""
        writes = self.sock_writes.get(ack.port, [])
        first = self.spool_writes[spool][0].seq
        for w in writes:
            lines = w.data().split(b"\r\n")
            if ack.proto == "smtp":
                qid = f" {ack.qid}".encode()
                if any(l.startswith(b"250 ") and l.endswith(qid) for l in lines):
                    return w
            elif w.seq > first and any(l.startswith(b"250 ") for l in lines):
                return w
        return None

    def flush_for(self, piece, reply):
        """A real flush covering piece that started after it returned and returned before
        the reply started; else (None, the closest flush that did not qualify)."""
        if piece.call.end is None:
            return None, None  # never returned: nothing can come after it
        near = None
        for f in self.flushes[bisect.bisect_right(self.flush_seqs, piece.call.end):]:
            if not self.covers(f, piece):
                continue
            if f.seq < reply.seq and f.real_ok() and f.end < reply.seq:
                return f, None
            if near is None:
                near = f  # the first covering one, for the report
            if f.seq >= reply.seq:
                break
        return None, near


def check(lines, data_dir, acks):
    """Check trace `lines` (strace output) for the acknowledgements `acks` (what the
    clients received). Returns a Result; every violation is a readable string."""
    t = Trace(lines, data_dir)
    res = Result(injected=sum(1 for f in t.flushes if "(INJECTED)" in f.ret))
    for f in t.flushes:
        if f.real_ok():
            res.flushes += 1
            res.by_call[f.name] = res.by_call.get(f.name, 0) + 1
    for ack in acks:
        spools = t.by_sender.get(ack.tag, [])
        if len(spools) != 1:
            res.violations.append(f"{ack.tag}: acknowledged, but {len(spools)} spool files "
                                  f"with its Return-Path in the trace")
            continue
        spool = spools[0]
        head = t.spool_writes[spool][0].data()
        qid = re.search(rb"\) with E?SMTP\w* id (\w+)", head)
        if ack.proto == "smtp" and (not qid or qid.group(1).decode() != ack.qid):
            res.violations.append(f"{ack.tag}: the client got queue id {ack.qid}, the spool "
                                  f"file {spool} says {qid and qid.group(1)}")
            continue
        reply = t.reply_of(ack, spool)
        if reply is None:
            res.violations.append(f"{ack.tag}: its 250 (port {ack.port}) is not in the trace")
            continue
        pieces, problems = t.pieces(spool)
        if len(t.message_links(spool)) != ack.rcpts:
            problems.append(f"{len(t.message_links(spool))} links for {ack.rcpts} recipients")
        res.checked += 1
        res.pieces += len(pieces)
        for p in problems:
            res.violations.append(f"{ack.tag}: {p}; its 250 went at {reply.when()}")
        for p in pieces:
            f, near = t.flush_for(p, reply)
            if f is None:
                res.violations.append(
                    f"{ack.tag} ({ack.proto} queue id {ack.qid or '-'}): {p.what} "
                    f"[{p.call.describe()}] was not flushed before its 250 "
                    f"[{reply.describe()}]; covering flush: "
                    f"{near.describe() if near else 'none'}")
                break  # one report per message is enough to read
    return res


def _same_fs(path, data):
    try:
        return os.stat(path).st_dev == os.stat(data).st_dev
    except OSError:
        return False
