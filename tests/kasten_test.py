"""kasten_test: shared helpers for the protocol and client tests.

A KastenServer is one real `kasten serve` process on free loopback ports with its own
data dir and config file, driven only through the fixed CLI contract:

    kasten serve --config FILE            foreground, logs on stderr, SIGTERM -> exit 0
    kasten user add|del|list|passwd|quota|alias|set ... --config FILE
    kasten export ADDRESS [--mailbox NAME] --config FILE   (mboxrd on stdout)

The binary comes from $KASTEN_BIN (default: build/kasten under the repo root).
Everything here talks to 127.0.0.1 only.
"""

import os
import random
import re
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DOMAIN = "example.test"
HOSTNAME = "mx.example.test"

ALL_LISTENERS = ("smtp", "submission", "submissions", "lmtp", "imap", "imaps",
                 "pop3", "pop3s", "http", "https", "admin")
# What the server of issues 2 and 3 serves; IMAP/HTTP tests ask for more with
# @pytest.mark.kasten(listen=ALL_LISTENERS) or KASTEN_LISTEN in their module.
DEFAULT_LISTEN = ("smtp", "submission", "submissions", "lmtp", "pop3", "pop3s")
TLS_LISTENERS = ("submissions", "imaps", "pop3s", "https")

START_TIMEOUT = float(os.environ.get("KASTEN_START_TIMEOUT", "10"))
STOP_TIMEOUT = float(os.environ.get("KASTEN_STOP_TIMEOUT", "20"))

# A sanitizer report anywhere in a log fails the test that produced it.
SANITIZER_RE = re.compile(
    rb"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
    rb"UndefinedBehaviorSanitizer|ThreadSanitizer|MemorySanitizer|"
    rb"SUMMARY: \w+Sanitizer")


def kasten_bin():
    b = os.environ.get("KASTEN_BIN")
    return str(Path(b).resolve()) if b else str(REPO / "build" / "kasten")


# Ports for servers the tests start come from below the kernel's ephemeral range
# (32768-60999 on Linux), which every outgoing connection draws from: a port found free
# there could be taken by some client's connection before the server binds it. Each
# pytest-xdist worker (PYTEST_XDIST_WORKER "gw0", "gw1", ...) draws from its own slice,
# so two workers never hand out the same port either.
PORT_BASE, PORT_SLICE = 12000, 4000


def _port_slice():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    k = int(worker[2:]) if worker[2:].isdigit() else 0
    return PORT_BASE + (k % 5) * PORT_SLICE


def free_ports(n):
    """n distinct loopback ports that nothing listens on or uses, from this worker's
    slice: each is bound (no SO_REUSEADDR: a port with connections in TIME_WAIT fails
    too) and all are released together. The wildcard address is bound, not HOST: the
    outbound tests' servers listen on 127.0.0.2-9, and a port free on 127.0.0.1 may be
    taken on one of those (seen: "address already in use" on 127.0.0.3)."""
    base = _port_slice()
    socks, ports = [], []
    try:
        while len(ports) < n:
            port = base + random.randrange(PORT_SLICE)
            if port in ports:
                continue
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                s.close()
                continue
            socks.append(s)
            ports.append(port)
    finally:
        for s in socks:
            s.close()
    return ports


def unverified_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def sanitizer_report(data):
    """The first sanitizer report in bytes `data` (with some context), or None."""
    m = SANITIZER_RE.search(data)
    if not m:
        return None
    start = max(0, m.start() - 200)
    return data[start:start + 4000].decode("utf-8", "replace")


def child_pid(pid):
    """The one child process of `pid` (a wrapper's kasten), from /proc."""
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d))
    assert len(kids) == 1, f"process {pid} has children {kids}, expected one"
    return kids[0]


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


class AdminError(AssertionError):
    pass


class KastenServer:
    """One kasten instance. Not started until start()."""

    host = HOST

    def __init__(self, workdir, listen=DEFAULT_LISTEN, config=None, host=HOST, ports=None):
        """host: the loopback address every listener binds (a remote MX of the outbound
        tests listens on 127.0.0.2..9); ports: {listener: port} fixed instead of free
        ones (remote MXes share one port, the sender's [outbound] remote_port)."""
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.data = self.dir / "data"
        self.config = self.dir / "kasten.conf"
        self.log = self.dir / "kasten.log"
        self.host = host
        self.listen = tuple(listen)
        self.ports = dict(zip(self.listen, free_ports(len(self.listen))))
        self.ports.update({k: v for k, v in (ports or {}).items() if k in self.listen})
        self.proc = None
        self.pid = None  # of kasten itself: proc.pid, or the wrapper's child (start)
        self.exit_codes = []
        self._log_fh = None
        self.write_config(config or {})

    # ---- config ----
    def write_config(self, extra):
        """extra: {"section": {"key": "value" or None to drop}} merged over the base."""
        conf = {
            "server": {"data": str(self.data), "hostname": HOSTNAME, "threads": "2"},
            "listen": {name: (f"{self.host}:{self.ports[name]}" if name in self.ports else "")
                       for name in ALL_LISTENERS},
            "auth": {"plaintext_loopback": "yes"},
            "quota": {"warn_percent": "90"},
            "pop3": {"enabled": "yes"},
            "limits": {"max_message_size": "10M", "max_recipients": "100"},
        }
        for section, kv in extra.items():
            conf.setdefault(section, {})
            for k, v in kv.items():
                if v is None:
                    conf[section].pop(k, None)
                else:
                    conf[section][k] = str(v)
        self.settings = conf
        lines = []
        for section, kv in conf.items():
            lines.append(f"[{section}]")
            lines.extend(f"{k} = {v}" for k, v in kv.items())
            lines.append("")
        self.config.write_text("\n".join(lines))

    def addr(self, name):
        return (self.host, self.ports[name])

    # ---- process ----
    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=START_TIMEOUT, wrapper=()):
        """wrapper: an optional command prefix (e.g. strace ... --) that runs kasten as its
        only child and exits with kasten's status; signals then go to kasten itself."""
        assert not self.running, "already running"
        self.data.mkdir(parents=True, exist_ok=True)
        self._log_fh = open(self.log, "ab")
        self._log_fh.write(f"\n==== kasten serve start {time.time():.3f}\n".encode())
        self._log_fh.flush()
        log_start = self._log_fh.tell()
        self.proc = subprocess.Popen(
            [*wrapper, kasten_bin(), "serve", "--config", str(self.config)],
            stdin=subprocess.DEVNULL, stdout=self._log_fh, stderr=self._log_fh,
            cwd=str(self.dir))
        self.pid = self.proc.pid
        deadline = time.monotonic() + timeout
        pending = set(self.ports)
        while pending:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                raise AssertionError(
                    f"kasten serve exited with {rc} during start-up\n{self.log_tail()}")
            for name in sorted(pending):
                try:
                    with socket.create_connection(self.addr(name), timeout=0.5):
                        pending.discard(name)
                except OSError:
                    pass
            if pending and time.monotonic() > deadline:
                self.kill9()
                raise AssertionError(
                    f"kasten serve: ports {sorted(pending)} not accepting after "
                    f"{timeout}s\n{self.log_tail()}")
            if pending:
                time.sleep(0.05)
        # the listeners take connections (the kernel queues them) before the server has
        # finished starting: "kasten ready" comes after its last start-up step, so a
        # test that changes the data dir next does not race the start-up
        while b"kasten ready" not in self.log_bytes()[log_start:]:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                raise AssertionError(
                    f"kasten serve exited with {rc} during start-up\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill9()
                raise AssertionError(f"kasten serve: not ready after {timeout}s\n"
                                     f"{self.log_tail()}")
            time.sleep(0.02)
        if wrapper:
            self.pid = child_pid(self.proc.pid)
        return self

    def stop(self, check=True):
        """SIGTERM, wait; the exit code must be 0 and the log free of sanitizer reports."""
        if self.proc is None:
            return None
        p, self.proc = self.proc, None
        if p.poll() is None:
            _signal(self.pid, signal.SIGTERM)
            try:
                p.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _signal(self.pid, signal.SIGKILL)
                p.kill()
                p.wait()
                self.exit_codes.append(f"no exit {STOP_TIMEOUT}s after SIGTERM")
                self._close_log()
                if check:
                    raise AssertionError(
                        f"kasten serve did not exit {STOP_TIMEOUT}s after SIGTERM "
                        f"(killed)\n{self.log_tail()}")
                return None
        rc = p.returncode
        self.exit_codes.append(rc)
        self._close_log()
        if check:
            assert rc == 0, f"kasten serve exited with {rc} after SIGTERM\n{self.log_tail()}"
            self.check_log()
        return rc

    def kill9(self):
        """SIGKILL, as a crash would: no clean-up runs."""
        if self.proc is None:
            return
        p, self.proc = self.proc, None
        if p.poll() is None:
            _signal(self.pid, signal.SIGKILL)
            p.kill()
        p.wait()
        self.exit_codes.append(p.returncode)
        self._close_log()

    def restart(self):
        self.stop()
        return self.start()

    def _close_log(self):
        if self._log_fh:
            self._log_fh.close()
            self._log_fh = None

    def log_bytes(self):
        try:
            return self.log.read_bytes()
        except FileNotFoundError:
            return b""

    def log_tail(self, n=12000):
        data = self.log_bytes()
        text = data[-n:].decode("utf-8", "replace")
        return f"---- {self.log} (last {min(n, len(data))} of {len(data)} bytes)\n{text}"

    def log_mark(self):
        """The log's current size: check_log(since=mark) looks only at what follows."""
        try:
            return self.log.stat().st_size
        except FileNotFoundError:
            return 0

    def check_log(self, since=0):
        rep = sanitizer_report(self.log_bytes()[since:])
        assert rep is None, f"sanitizer report in {self.log}:\n{rep}"

    # ---- admin CLI ----
    def kasten(self, *args, input=None, check=True, timeout=60, use_data=False):
        """Run `kasten ARGS --config FILE` (or --data DIR); returns CompletedProcess
        with bytes stdout/stderr. check: exit code 0 required."""
        loc = ["--data", str(self.data)] if use_data else ["--config", str(self.config)]
        if isinstance(input, str):
            input = input.encode()
        r = subprocess.run([kasten_bin(), *map(str, args), *loc], input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, cwd=str(self.dir))
        rep = sanitizer_report(r.stderr)
        if rep:
            raise AdminError(f"kasten {' '.join(map(str, args))}: sanitizer report:\n{rep}")
        if check and r.returncode != 0:
            raise AdminError(
                f"kasten {' '.join(map(str, args))} exited {r.returncode}\n"
                f"stdout: {r.stdout[-2000:]!r}\nstderr: {r.stderr[-4000:]!r}")
        return r

    def user_add(self, address, password, quota=None):
        args = ["user", "add", address, "--password-stdin"]
        if quota is not None:
            args += ["--quota", str(quota)]
        return self.kasten(*args, input=password + "\n")

    def user_list(self):
        """[{address, quota, used, count, raw}] from `kasten user list`."""
        out = self.kasten("user", "list").stdout.decode("utf-8", "replace")
        return parse_user_list(out)

    def export(self, address, mailbox="INBOX"):
        return self.kasten("export", address, "--mailbox", mailbox).stdout

    def messages(self, address, mailbox="INBOX"):
        return split_mboxrd(self.export(address, mailbox))

    def wait_messages(self, address, n, mailbox="INBOX", timeout=10):
        """Poll export until the mailbox holds at least n messages; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.messages(address, mailbox)
            if len(msgs) >= n or time.monotonic() > deadline:
                return msgs
            time.sleep(0.1)


# ---- mboxrd ----
_FROM_QUOTED = re.compile(rb"^>+From ")


def split_mboxrd(data):
    """Split the mboxrd bytes of `kasten export` into the messages as stored. The file
    has LF line ends throughout (docs/operations.md, Export): a "From " line starts each
    message, the LF the writer puts after each message goes, one '>' comes off every
    ">*From " line, and every LF becomes the CRLF the store keeps."""
    if not data:
        return []
    lines = _split_lf(data)  # not splitlines(): bare CR is message content
    assert lines[0].startswith(b"From "), f"mboxrd must start with 'From ': {data[:80]!r}"
    msgs, cur = [], None
    for line in lines:
        if line.startswith(b"From "):
            assert not line.endswith(b"\r\n"), f"From_ line ends in CRLF, not LF: {line!r}"
            if cur is not None:
                msgs.append(_finish(cur))
            cur = []
            continue
        if _FROM_QUOTED.match(line):
            line = line[1:]
        cur.append(line)
    msgs.append(_finish(cur))
    return msgs


def _split_lf(data):
    out, start = [], 0
    while start < len(data):
        i = data.find(b"\n", start)
        if i < 0:
            out.append(data[start:])
            break
        out.append(data[start:i + 1])
        start = i + 1
    return out


def _finish(lines):
    """One message from its mbox lines: the LF after it removed, LF -> CRLF."""
    msg = b"".join(lines)
    assert msg.endswith(b"\n"), f"no LF after a message: {msg[-40:]!r}"
    return msg[:-1].replace(b"\n", b"\r\n")


def mboxrd_quote(msg):
    """The mboxrd form of one message body (for tests of the splitter)."""
    return b"".join(b">" + l if _FROM_QUOTED.match(l) or l.startswith(b"From ") else l
                    for l in _split_lf(msg))


# The fields a receiving server puts on top: RFC 5321 4.4's, and on port 25 the
# Authentication-Results field (RFC 8601) of the inbound checks, right below them.
TRACE_FIELDS = (b"return-path", b"received", b"authentication-results")


def split_trace(msg):
    """(trace, rest): the leading Return-Path/Received fields (with folded lines) and
    the remainder, which must be the message exactly as the client sent it."""
    pos, fields = 0, []
    while pos < len(msg):
        end = msg.find(b"\r\n", pos)
        if end < 0:
            break
        line = msg[pos:end]
        name = line.split(b":", 1)[0].strip().lower() if b":" in line else b""
        if name not in TRACE_FIELDS:
            break
        fend = end + 2
        while fend < len(msg) and msg[fend:fend + 1] in (b" ", b"\t"):
            e = msg.find(b"\r\n", fend)
            if e < 0:
                break
            fend = e + 2
        fields.append(msg[pos:fend])
        pos = fend
    return b"".join(fields), msg[pos:]


def assert_delivered(stored, sent, sender):
    """stored == Return-Path: <sender> + Received... + sent, byte for byte."""
    trace, rest = split_trace(stored)
    assert trace.startswith(b"Return-Path: <" + sender.encode() + b">\r\n"), \
        f"no Return-Path <{sender}> first: {stored[:300]!r}"
    assert b"\r\nReceived: " in b"\r\n" + trace, f"no Received field: {stored[:400]!r}"
    assert rest == sent, (f"stored message differs from the one sent\n"
                          f"sent   {len(sent)} bytes: {sent[:300]!r}...\n"
                          f"stored {len(rest)} bytes: {rest[:300]!r}...")


# ---- `kasten user list` ----
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)([KMGT]?)(i?B)?$", re.I)
_MULT = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(s):
    """'512000', '500K', '500.0K', '2G', 'unlimited'/'-' (None). Returns bytes or None."""
    s = s.strip().rstrip(",")
    if s.lower() in ("-", "unlimited", "none", "0"):
        return None if s != "0" else 0
    m = _SIZE_RE.match(s)
    if not m:
        raise ValueError(f"not a size: {s!r}")
    return int(float(m.group(1)) * _MULT[m.group(2).upper()])


def size_matches(field, expected, rel=0.06):
    """A listed size equals `expected`: exact for plain bytes, within rounding for 12.3M."""
    got = parse_size(field)
    if got is None:
        return expected is None
    if re.fullmatch(r"\d+", field.strip()):
        return got == expected
    return abs(got - expected) <= max(rel * expected, 1024)


def parse_user_list(text):
    """One line per account: address, quota, used bytes, message count (whitespace,
    tab or comma separated; a header line without '@' is skipped)."""
    rows = []
    for line in text.splitlines():
        fields = [f for f in re.split(r"[\s,]+", line.strip()) if f]
        if not fields or "@" not in fields[0]:
            continue
        row = {"address": fields[0], "raw": line, "fields": fields[1:]}
        if len(fields) >= 4:
            row["quota"], row["used"], row["count"] = fields[1], fields[2], fields[3]
        rows.append(row)
    return rows


# ---- raw clients: exactly these bytes out, replies as they arrive ----
class _RawClient:
    """The socket half the raw SMTP, POP3 and IMAP clients share."""

    def __init__(self, host, port, tls=False, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            self.sock = unverified_context().wrap_socket(self.sock, server_hostname=HOSTNAME)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError(f"connection closed; pending {self.buf[:200]!r}")
        self.buf += chunk

    def _recv_within(self, wait):
        """What arrives within `wait` seconds without us sending anything."""
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return b""
        finally:
            self.sock.settimeout(10)

    def pending(self, wait=0.5):
        """Bytes that arrive within `wait` seconds without us sending anything (and
        those already read but not yet taken: they are taken now)."""
        out, self.buf = self.buf + self._recv_within(wait), b""
        return out

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


# ---- raw SMTP ----
class RawSMTP(_RawClient):
    """A byte-level SMTP/LMTP client: send exactly these bytes, read replies."""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed; pending {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        """(code, [text lines]) of one possibly multi-line reply."""
        lines = []
        while True:
            line = self._line()
            assert len(line) >= 3 and line[:3].isdigit(), f"bad reply line {line!r}"
            lines.append(line[4:].decode("utf-8", "replace"))
            if line[3:4] != b"-":
                return int(line[:3]), lines

    def cmd(self, line):
        self.send(line + "\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply()

    def starttls(self):
        self.sock = unverified_context().wrap_socket(self.sock, server_hostname=HOSTNAME)

    def pending(self, wait=0.5):
        """Bytes that arrive within `wait` seconds without us sending anything (those
        already read stay for the next reply)."""
        return self.buf + self._recv_within(wait)



def make_message(subject, body=b"Hello.\r\n", sender="a@example.test",
                 rcpt="b@example.test", extra=b""):
    """A small RFC 5322 message with CRLF line ends and a unique Message-ID."""
    if isinstance(body, str):
        body = body.encode()
    mid = f"<{subject.replace(' ', '.')}.{time.time_ns()}@test>"
    return (f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\n"
            f"Message-ID: {mid}\r\nDate: Sun, 22 Nov 2026 08:00:00 +0000\r\n").encode() \
        + extra + b"\r\n" + body


def dot_stuff(msg):
    """DATA transparency (RFC 5321 4.5.2) plus the terminating CRLF.CRLF."""
    out = b"".join(b"." + l if l.startswith(b".") else l for l in _split_lf(msg))
    if not out.endswith(b"\r\n"):
        out += b"\r\n"
    return out + b".\r\n"


_counter = [0]


def unique_user(prefix="u"):
    _counter[0] += 1
    return f"{prefix}{os.getpid()}x{_counter[0]}@{DOMAIN}"


# ---- delivery and raw POP3 (used by the POP3 protocol and client tests) ----
def deliver(server, rcpts, msg, sender="sender@sender.invalid", port="smtp"):
    """Deliver the bytes `msg` (CRLF line ends) in one SMTP or LMTP transaction over a
    raw socket; every recipient must be accepted and the data answered 250."""
    if isinstance(rcpts, str):
        rcpts = [rcpts]
    with RawSMTP(server.host, server.ports[port], timeout=60) as r:
        assert r.reply()[0] == 220
        assert r.cmd(("LHLO" if port == "lmtp" else "EHLO") + " client.test")[0] == 250
        assert r.cmd(f"MAIL FROM:<{sender}>")[0] == 250
        for rc in rcpts:
            code, lines = r.cmd(f"RCPT TO:<{rc}>")
            assert code == 250, f"RCPT {rc}: {code} {lines}"
        assert r.cmd("DATA")[0] == 354
        r.send(dot_stuff(msg))
        for _ in (rcpts if port == "lmtp" else [0]):
            code, lines = r.reply()
            assert code == 250, f"DATA: {code} {lines}"
        r.cmd("QUIT")


def deliver_many(server, rcpt, n, subject="bulk", conns=8):
    """Deliver n small messages to rcpt over `conns` parallel SMTP sessions (several
    transactions each, so the server's batched commits keep up); message i has the
    subject f"{subject} {i}". Returns when every one was answered 250."""
    import threading

    errors = []

    def worker(k):
        try:
            with RawSMTP(server.host, server.ports["smtp"], timeout=120) as r:
                assert r.reply()[0] == 220
                assert r.cmd("EHLO client.test")[0] == 250
                for i in range(k, n, conns):
                    assert r.cmd("MAIL FROM:<bulk@sender.invalid>")[0] == 250
                    assert r.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
                    assert r.cmd("DATA")[0] == 354
                    r.send(dot_stuff(make_message(f"{subject} {i}")))
                    code, lines = r.reply()
                    assert code == 250, f"DATA: {code} {lines}"
                r.cmd("QUIT")
        except Exception as e:  # reported below, in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def pop3_stuff(msg):
    """What RETR sends after its +OK line for the stored bytes `msg` (RFC 1939 3):
    every line that starts with '.' gets one more, then the '.' CRLF terminator."""
    out = b"".join(b"." + l if l.startswith(b".") else l for l in _split_lf(msg))
    if out and not out.endswith(b"\r\n"):
        out += b"\r\n"
    return out + b".\r\n"


def pop3_unstuff(wire):
    """The inverse of pop3_stuff: the message bytes of one multi-line response body
    (terminator included in `wire`)."""
    assert wire.endswith(b".\r\n") and (wire == b".\r\n" or wire.endswith(b"\r\n.\r\n")), \
        f"no terminator: {wire[-40:]!r}"
    body = wire[:-3]
    return b"".join(l[1:] if l.startswith(b".") else l for l in _split_lf(body))


class RawPOP3(_RawClient):
    """A byte-level POP3 client: send exactly these bytes, read lines and multi-line
    responses exactly as they arrive (nothing unstuffed unless asked)."""

    def __init__(self, host, port, tls=False, timeout=10, greeting=True):
        super().__init__(host, port, tls, timeout)
        self.greeting = self.line() if greeting else None

    def line(self):
        """One line including its CRLF."""
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def multi(self):
        """The body of a multi-line response as sent (stuffed), ending in '.' CRLF."""
        data = bytearray()
        while True:
            line = self.line()
            data += line
            if line == b".\r\n":
                return bytes(data)

    def cmd(self, line):
        """Send one command; return its first response line (CRLF included)."""
        self.send(line + "\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.line()

    def cmd_multi(self, line):
        """(first line, stuffed body) of a command answered +OK with a multi-line body;
        (first line, None) when it is answered -ERR."""
        first = self.cmd(line)
        return first, (self.multi() if first.startswith(b"+OK") else None)

    def login(self, user, password):
        r = self.cmd(f"USER {user}")
        assert r.startswith(b"+OK"), r
        r = self.cmd(f"PASS {password}")
        assert r.startswith(b"+OK"), r
        return r

    def stls(self):
        r = self.cmd("STLS")
        assert r.startswith(b"+OK"), r
        assert self.buf == b"", f"bytes after the STLS reply: {self.buf!r}"
        self.sock = unverified_context().wrap_socket(self.sock, server_hostname=HOSTNAME)
        return r



class RawIMAP(_RawClient):
    """A byte-level IMAP client: send exactly these bytes, read responses as they come.
    cmd() tags a command and returns (tagged status line, [untagged lines]) with each
    response line as bytes without its CRLF; literals are read whole and inlined into
    the line they belong to (so one response is one list entry)."""

    def __init__(self, host, port, tls=False, timeout=10, greeting=True):
        super().__init__(host, port, tls, timeout)
        self.n = 0
        self.greeting = self.response() if greeting else None

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n")
        line, self.buf = self.buf[:i], self.buf[i + 2:]
        return line

    def response(self):
        """One whole response: a line plus any literals it announces ({n} at its end)."""
        line = self._line()
        while True:
            m = re.search(rb"~?\{(\d+)\}$", line)
            if not m:
                return line
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill()
            line += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]
            line += self._line()

    def cmd(self, command, tag=None):
        """Send "TAG command"; return (b"TAG OK ...", [untagged responses])."""
        self.n += 1
        tag = tag or f"a{self.n}"
        self.send(f"{tag} {command}\r\n" if isinstance(command, str)
                  else tag.encode() + b" " + command + b"\r\n")
        return self.until(tag)

    def until(self, tag):
        untagged = []
        tag = tag.encode() if isinstance(tag, str) else tag
        while True:
            line = self.response()
            if line.startswith(tag + b" "):
                return line, untagged
            untagged.append(line)

    def login(self, user, password):
        status, _ = self.cmd(f'LOGIN "{user}" "{password}"')
        assert b" OK " in status, status
        return status



# ---- sessions on loop threads, updates that arrive unasked (the sync tests) ----
def wait_for(c, pattern, seconds=10):
    """Responses arriving on RawIMAP c without a command until one matches `pattern`
    (bytes regex); returns every response seen, the matching one last."""
    deadline = time.monotonic() + seconds
    seen = []
    c.sock.settimeout(seconds)
    try:
        while time.monotonic() < deadline:
            line = c.response()
            seen.append(line)
            if re.search(pattern, line):
                return seen
    except socket.timeout:
        pass
    finally:
        c.sock.settimeout(10)
    raise AssertionError(f"no {pattern!r} within {seconds}s; saw {seen!r}")


def read_responses(c, n, seconds=10):
    """The next n responses on c, arriving without a command (IDLE); fewer if the
    connection closes or `seconds` pass first: the caller compares what came."""
    deadline = time.monotonic() + seconds
    seen = []
    try:
        while len(seen) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            c.sock.settimeout(left)
            seen.append(c.response())
    except (socket.timeout, ConnectionError):
        pass
    finally:
        c.sock.settimeout(10)
    return seen


def loop_of(server, c, since=0):
    """The server loop thread that took connection c (its "connect ... loop=N" line, the
    last one for its port after log offset `since`: client ports get reused)."""
    port = c.sock.getsockname()[1]
    pat = re.compile(rb"peer=\[?" + re.escape(HOST.encode()) +
                     rb"\]?:%d connect proto=\w+ .*loop=(\d+)" % port)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = pat.findall(server.log_bytes()[since:])
        if found:
            return int(found[-1])
        time.sleep(0.02)
    raise AssertionError(f"no connect line for port {port}")


def imap_on_loop(server, loop=None, not_loop=None, proto="imap"):
    """A RawIMAP connection (greeting read, not logged in) on loop thread `loop`, or on
    any loop but `not_loop`; connects again until one lands there. c.loop says where."""
    for _ in range(64):
        mark = server.log_mark()
        c = RawIMAP(*server.addr(proto))
        n = loop_of(server, c, since=mark)
        if (loop is None or n == loop) and (not_loop is None or n != not_loop):
            c.loop = n
            return c
        c.close()
    raise AssertionError(f"64 connections, none on loop {loop} / off loop {not_loop}")


def asan_build(pid):
    """Whether process `pid` runs the AddressSanitizer build: its quarantine keeps freed
    memory, so resident-memory bounds say nothing there."""
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


def vm_rss(pid):
    """Resident set size of process `pid` in bytes (from /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


# TCP states in /proc/net/tcp (include/net/tcp_states.h)
TCP_LISTEN, TCP_CLOSE_WAIT = "0A", "08"


def tcp_sockets(pid):
    """[(local port, state)] of the TCP sockets process `pid` holds, from its fds and
    /proc/net/tcp and tcp6."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[9] in inodes:
                    out.append((int(fields[1].rsplit(":", 1)[1], 16), fields[3]))
    return out

