"""client_test: what the tests of the client side share (tests/proto/test_client_*.py:
`kasten fetch`, `kasten migrate`, `kasten sync`, issue 8).

Every test runs against two servers: kasten's own (`module_server`, one per test
module, with the listeners of CLIENT_LISTEN) and a private Dovecot 2.3 on loopback
(tests/dovecot_test.py; one per test module, with a pool of users). The `mailserver`
fixture is parametrized over the two and gives an Account: a fresh user with its
password in a 0600 file, the ports, ways to put messages into its folders, and its
folders read back over IMAP byte for byte (EXAMINE + BODY.PEEK[]: reading changes
nothing on the server). A test that needs a second account asks acct.another().

How messages get onto a server:
  kasten   INBOX mail without flags comes by SMTP (the server prepends Return-Path and
           Received); anything else (a folder, flags, a date) by IMAP APPEND; bulk mail
           by deliver_many (parallel SMTP sessions).
  Dovecot  files written into its Maildir (tmp/, then renamed into cur/ with :2,FLAGS
           and the mtime as INTERNALDATE), owned by the user Dovecot runs as.
The tests compare what the client wrote with what the server held, read back over
IMAP, never with what was sent: the server may add trace fields.

The client commands run as `kasten CMD ...` with HOME and the XDG directories inside the
test's own directory (fast_tmp: on tmpfs where there is one, since the client fsyncs
every message), so that no state of one test reaches another or the user's own; a
sanitizer report on their stderr fails the test. cut_points gives the cut-connection
sweeps their points (client_proxy cuts right after a command, before its answer, or at
a byte count). A command that is not in the binary
yet makes its tests skip (needs_command), so that `make check` stays green while the
client side is being written; an existing command that answers wrongly fails.
"""

import functools
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "clients"))

from client_proxy import client_commands  # noqa: E402

from imap_clients import list_folders, lf, ok, parse_flags, quote  # noqa: E402
from kasten_test import (HOST, HOSTNAME, RawIMAP, deliver, deliver_many,  # noqa: E402
                         free_ports, kasten_bin, make_message, sanitizer_report,
                         unique_user)

# Every listener the client tests use on kasten's side.
CLIENT_LISTEN = ("smtp", "lmtp", "imap", "imaps", "pop3", "pop3s")
# Dovecot users made at start (passwd-file); each test takes fresh ones from the pool.
DOVECOT_POOL = 120
RUN_TIMEOUT = 180  # seconds for one client run (2,000 messages under ASan included)
WAIT = 30  # seconds a test waits for a state it expects

# Maildir info letters and the IMAP system flags they stand for (the issue, item 2).
LETTER_FLAG = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen",
               "T": "\\Deleted"}
FLAG_LETTER = {v: k for k, v in LETTER_FLAG.items()}


# ---- is the command there yet ----

@functools.lru_cache(maxsize=None)
def command_exists(cmd):
    """`kasten CMD --help` exits 0: the command is in this binary."""
    try:
        r = subprocess.run([kasten_bin(), cmd, "--help"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def needs_command(cmd):
    return pytest.mark.skipif(not command_exists(cmd),
                              reason=f"`kasten {cmd}` is not in this build yet")


# ---- running the client ----

def client_env(home):
    """The environment of a client run: HOME and XDG inside the test's directory."""
    home = Path(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_STATE_HOME=str(home / ".local/state"),
               XDG_DATA_HOME=str(home / ".local/share"), XDG_CACHE_HOME=str(home / ".cache"))
    env.pop("KASTEN_CLIENT_NOW", None)
    return env


class Client:
    """Runs `kasten fetch|sync|migrate` for one test, in a home of its own."""

    def __init__(self, tmp_path):
        self.home = Path(tmp_path) / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = client_env(self.home)

    def _env(self, now):
        env = dict(self.env)
        if now is not None:
            env["KASTEN_CLIENT_NOW"] = str(int(now))
        return env

    def run(self, *args, now=None, timeout=RUN_TIMEOUT, expect=0):
        """Run to the end; expect: the exit code required (None: any but a crash).
        Returns the CompletedProcess with text stdout/stderr."""
        r = subprocess.run([kasten_bin(), *map(str, args)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                           env=self._env(now), timeout=timeout, cwd=str(self.home))
        check_no_crash(args, r.returncode, r.stderr)
        r.stdout = r.stdout.decode("utf-8", "replace")
        r.stderr = r.stderr.decode("utf-8", "replace")
        if expect is not None:
            assert r.returncode == expect, (
                f"kasten {' '.join(map(str, args))}: exit {r.returncode}, expected {expect}\n"
                f"stdout: {r.stdout[-3000:]}\nstderr: {r.stderr[-3000:]}")
        return r

    def start(self, *args, now=None):
        """Start in the background (kill -9 tests, sync without --once)."""
        return subprocess.Popen([kasten_bin(), *map(str, args)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                env=self._env(now), cwd=str(self.home))


def check_no_crash(args, rc, stderr):
    rep = sanitizer_report(stderr)
    assert rep is None, f"kasten {' '.join(map(str, args))}: sanitizer report:\n{rep}"
    assert rc >= 0 and rc < 128, \
        f"kasten {' '.join(map(str, args))}: killed or crashed (exit {rc})\n{stderr[-3000:]!r}"


def kill9(proc):
    """SIGKILL a client started with Client.start, as a crash would."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()


def stop(proc, timeout=30):
    """SIGTERM a background client; its (exit code, stdout, stderr)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=timeout)
    check_no_crash(proc.args[1:], proc.returncode if proc.returncode != -15 else 0, err)
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def one_line(text):
    """The one line of text (a summary on stdout, an error on stderr)."""
    lines = text.splitlines()
    assert len(lines) == 1 and lines[0].strip(), f"expected one line, got {text!r}"
    return lines[0]


def error_line(r, cmd):
    """A failed run: exit 1, one line `kasten CMD: ...` on stderr, nothing on stdout."""
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    line = one_line(r.stderr)
    assert line.startswith(f"kasten {cmd}: "), line
    return line


_DOWNLOADED = re.compile(r"(\d+)\D{0,40}?download|download\w*\D{0,20}?(\d+)", re.I)


def downloaded(stdout):
    """The number of messages `kasten fetch` says it downloaded, from its one-line
    summary."""
    line = one_line(stdout)
    m = _DOWNLOADED.search(line)
    assert m, f"no number of downloaded messages in {line!r}"
    return int(m.group(1) or m.group(2))


def wait_until(pred, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {timeout}s", pytrace=False)
        time.sleep(0.02)


# ---- messages ----

def sample_message(i, tag="m", size=0):
    """Message i of a test: CRLF line ends, a unique Message-ID, lines that POP3 and IMAP
    must carry as they are (a leading dot, a lone dot, a "From " line, 8-bit text), and
    size bytes of padding."""
    body = (f"Body of {tag} {i}.\r\n"
            ".leading dot\r\n"
            "..two dots\r\n"
            ".\r\n"
            "From here on an mbox would quote\r\n"
            "8-bit: gr\u00fc\u00dfe\r\n").encode()
    body += b"".join(b"pad %06d " % k + b"x" * 60 + b"\r\n" for k in range(size // 72))
    return make_message(f"{tag} {i}", body)


_MID = re.compile(rb"^Message-ID: *(<[^>\r\n]+>)\r?$", re.M | re.I)


def message_id(msg):
    m = _MID.search(msg)
    assert m, f"no Message-ID in {msg[:300]!r}"
    return m.group(1).decode()


# ---- the server side ----

class Message:
    def __init__(self, uid, flags, internaldate, body):
        self.uid, self.flags, self.internaldate, self.body = uid, flags, internaldate, body
        self.mid = message_id(body) if _MID.search(body) else None

    def __repr__(self):
        return f"Message(uid={self.uid}, flags={sorted(self.flags)}, mid={self.mid})"


_FETCH_BODY = re.compile(rb"BODY\[\] \{(\d+)\}\r\n")


def internaldate(text):
    return int(datetime.strptime(text.strip(), "%d-%b-%Y %H:%M:%S %z").timestamp())


def imap_date(epoch):
    return time.strftime("%d-%b-%Y %H:%M:%S +0000", time.gmtime(epoch))


def read_folder(c, folder):
    """[Message] of one folder in UID order, with EXAMINE and BODY.PEEK[]."""
    ok(c, f"EXAMINE {quote(folder)}")
    _, un = ok(c, "UID FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[])")
    out = []
    for line in un:
        if not re.match(rb"\* \d+ FETCH ", line):
            continue
        m = _FETCH_BODY.search(line)
        if not m:
            # a flag change by another session between EXAMINE and this FETCH comes
            # as an unsolicited FETCH (FLAGS ...) of its own (RFC 9051 7.5.2, 7.4)
            assert b"BODY[" not in line, line[:200]
            continue
        body = line[m.end():m.end() + int(m.group(1))]
        rest = line[:m.start()] + line[m.end() + int(m.group(1)):]
        out.append(Message(int(re.search(rb"UID (\d+)", rest).group(1)),
                           parse_flags(re.search(rb"FLAGS \(([^)]*)\)", rest).group(1)),
                           internaldate(re.search(rb'INTERNALDATE "([^"]+)"', rest)
                                        .group(1).decode()),
                           body))
    ok(c, "CLOSE")
    return sorted(out, key=lambda m: m.uid)


def folder_status(c, folder):
    """{MESSAGES, UIDVALIDITY, UIDNEXT} of a folder (STATUS, RFC 9051 6.3.11)."""
    _, un = ok(c, f"STATUS {quote(folder)} (MESSAGES UIDVALIDITY UIDNEXT)")
    m = re.search(rb"\(([^)]*)\)\s*$", un[-1])
    items = m.group(1).split()
    return {items[i].decode(): int(items[i + 1]) for i in range(0, len(items), 2)}


class Account:
    """One user on one server (kasten or Dovecot), with its password file."""

    def __init__(self, server, kind, user, password, pwfile):
        self.server, self.kind = server, kind
        self.user, self.password, self.password_file = user, password, pwfile
        self.host = HOST
        if kind == "kasten":
            self.ports = {p: server.ports[p] for p in ("pop3", "pop3s", "imap", "imaps")}
        else:
            self.ports = {p: server.ports[p] for p in ("pop3", "pop3s", "imap", "imaps")}
        self._another = None

    def another(self):
        """A second fresh account on the same server."""
        return self._another()

    # ---- IMAP ----
    def imap(self):
        c = RawIMAP(self.host, self.ports["imap"], timeout=60)
        c.login(self.user, self.password)
        return c

    def messages(self, folder="INBOX"):
        with self.imap() as c:
            return read_folder(c, folder)

    def folders(self):
        with self.imap() as c:
            return list_folders(c)

    def state(self, folders=None):
        """{folder: {Message-ID: Message}} of every folder (or of `folders`)."""
        with self.imap() as c:
            names = list_folders(c) if folders is None else folders
            out = {}
            for f in sorted(names):
                msgs = {}
                for m in read_folder(c, f):
                    assert m.mid not in msgs, f"{m.mid} twice in {f} on {self.kind}"
                    msgs[m.mid] = m
                out[f] = msgs
            return out

    def count(self, folder="INBOX"):
        with self.imap() as c:
            return folder_status(c, folder)["MESSAGES"]

    # ---- putting mail there ----
    def put(self, msg, folder="INBOX", flags="", when=None):
        """One message into folder, with Maildir flag letters and an INTERNALDATE."""
        if self.kind == "dovecot":
            dovecot_write(self.server, self.user, [(msg, folder, flags, when)])
            return
        if folder == "INBOX" and not flags and when is None:
            deliver(self.server, self.user, msg)
            return
        with self.imap() as c:
            _ensure_folder(c, folder)
            imap_append(c, folder, msg, flags, when)

    def put_many(self, msgs, folder="INBOX"):
        """Many messages at once (bytes each), without flags."""
        if self.kind == "dovecot":
            dovecot_write(self.server, self.user, [(m, folder, "", None) for m in msgs])
            return
        with self.imap() as c:
            _ensure_folder(c, folder)
            for m in msgs:
                imap_append(c, folder, m)

    def deliver_many(self, n, subject):
        """n small messages into INBOX as a mail server gets them (kasten: parallel
        SMTP; Dovecot: files in its Maildir)."""
        if self.kind == "kasten":
            deliver_many(self.server, self.user, n, subject=subject)
            return
        dovecot_write(self.server, self.user,
                      [(make_message(f"{subject} {i}"), "INBOX", "", None)
                       for i in range(n)])


def imap_append(c, folder, msg, flags="", when=None):
    fl = " ".join(LETTER_FLAG[ch] for ch in flags)
    date = f' "{imap_date(when)}"' if when is not None else ""
    c.n += 1
    tag = f"a{c.n}"
    c.send(f"{tag} APPEND {quote(folder)} ({fl}){date} {{{len(msg)}}}\r\n")
    line = c.response()
    assert line.startswith(b"+"), line
    c.send(msg + b"\r\n")
    st, un = c.until(tag)
    assert st.startswith(f"{tag} OK".encode()), (st, un)


def _ensure_folder(c, folder):
    if folder != "INBOX" and folder not in list_folders(c):
        ok(c, f"CREATE {quote(folder)}")


def dovecot_write(d, user, items):
    """Messages straight into the user's Maildirs: [(bytes, folder, flags, mtime)].
    Each goes to tmp/ and is renamed into cur/ (Dovecot may be reading the folder), and
    is handed to the user Dovecot runs as."""
    for msg, folder, flags, when in items:
        box = d.maildir(user, folder)
        if not (box / "cur").is_dir():
            for sub in ("cur", "new", "tmp"):
                (box / sub).mkdir(parents=True, exist_ok=True)
            for p in [box, box / "cur", box / "new", box / "tmp"] + list(box.parents):
                if d.dir in p.parents:
                    os.chown(p, d.uid, d.gid)
        when = int(when or time.time())
        dovecot_write.seq += 1
        name = f"{when}.M{dovecot_write.seq}P{os.getpid()}.kasten-client-test"
        tmp = box / "tmp" / name
        tmp.write_bytes(msg)
        os.utime(tmp, (when, when))
        os.chown(tmp, d.uid, d.gid)
        os.rename(tmp, box / "cur" / f"{name}:2,{''.join(sorted(flags))}")


dovecot_write.seq = 0


def write_password(directory, user, password):
    """The password file of a user: the password and a newline, mode 0600."""
    p = Path(directory) / f"{re.sub(r'[^A-Za-z0-9.]', '_', user)}.password"
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    os.chmod(p, 0o600)
    return p


# ---- the fixtures ----

def _dovecot_tls_class():
    from dovecot_test import DovecotServer

    class DovecotTLS(DovecotServer):
        """The Dovecot of tests/dovecot_test.py plus IMAPS and POP3S listeners with a
        self-signed certificate for mx.example.test (made at start), so that --tls
        against a server that is not kasten is tested too."""

        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.tls_ports = dict(zip(("imaps", "pop3s"), free_ports(2)))
            self.ports.update(self.tls_ports)

        def start(self):
            super().start()
            deadline = time.monotonic() + 20
            for port in self.tls_ports.values():
                self._wait_port(port, deadline)
            return self

        def _config(self):
            conf = super()._config()
            cert, key = self.dir / "tls-cert.pem", self.dir / "tls-key.pem"
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", str(key), "-out", str(cert), "-days", "2",
                            "-subj", f"/CN={HOSTNAME}"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # a failed login answered at once: the wrong-password cases need not wait
            conf = conf.replace("ssl = no\n", f"ssl = yes\nssl_cert = <{cert}\n"
                                f"ssl_key = <{key}\nauth_failure_delay = 0\n", 1)
            for p in ("imap", "pop3"):
                conf, n = re.subn(
                    rf"(  inet_listener {p}s {{\n    )port = 0",
                    rf"\g<1>address = {HOST}\n    port = {self.tls_ports[p + 's']}", conf)
                assert n == 1, f"no {p}s listener in the Dovecot config"
            return conf

    return DovecotTLS


@pytest.fixture(scope="module")
def dovecot_pool(tmp_path_factory):
    """One Dovecot per module with DOVECOT_POOL users d1, d2, ... (password "pw-dN"),
    listening for IMAP, POP3, IMAPS and POP3S."""
    from dovecot_test import available
    if not available():
        pytest.fail("/usr/sbin/dovecot missing: scripts/install-deps.sh check installs it")
    d = _dovecot_tls_class()(
        None, users={f"d{i}": f"pw-d{i}" for i in range(1, DOVECOT_POOL + 1)},
        protocols=("imap", "pop3"))
    d.next_user = 0
    try:
        d.start()
        yield d
    finally:
        d.stop()
        d.remove()


def _account_maker(request, kind, tmp_path):
    if kind == "kasten":
        server = request.getfixturevalue("mserver")

        def make():
            user = unique_user("cl")
            password = f"Pw-{user.split('@')[0]}"
            server.user_add(user, password)
            return Account(server, "kasten", user, password,
                           write_password(tmp_path, user, password))
    else:
        server = request.getfixturevalue("dovecot_pool")

        def make():
            server.next_user += 1
            assert server.next_user <= DOVECOT_POOL, "the Dovecot user pool is used up"
            user = f"d{server.next_user}"
            return Account(server, "dovecot", user, f"pw-{user}",
                           write_password(tmp_path, user, f"pw-{user}"))

    def another():
        a = make()
        a._another = another
        return a

    return another


@pytest.fixture
def fast_tmp(tmp_path):
    """A directory for the client's home and Maildirs on tmpfs (/dev/shm) where there is
    one, else tmp_path. The client fsyncs every message it stores; on a disk that is
    most of a run's time (2,000 messages: 14 s against 0.4 s), and what the kill -9 and
    cut-connection cases test is the order of the steps, which a SIGKILL does not undo
    (the page cache survives it), not the disk."""
    import shutil
    import tempfile
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    d = Path(tempfile.mkdtemp(prefix="kasten-client-", dir=shm))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(params=["kasten", "dovecot"])
def mailserver(request, tmp_path):
    """A fresh Account on kasten's server or on Dovecot (see the module docstring)."""
    return _account_maker(request, request.param, tmp_path)()


# ---- the local side ----

def maildir_letters(name):
    return "".join(sorted(name.rsplit(":2,", 1)[1])) if ":2," in name else ""


def local_files(box):
    """[(path, flag letters, bytes)] of one Maildir folder's new/ and cur/."""
    out = []
    for sub in ("new", "cur"):
        d = Path(box) / sub
        if d.is_dir():
            for p in sorted(d.iterdir()):
                out.append((p, maildir_letters(p.name), p.read_bytes()))
    return out


def count_files(box):
    """Messages in a Maildir folder (new/ and cur/), cheap enough to poll."""
    n = 0
    for sub in ("new", "cur"):
        try:
            n += sum(1 for _ in os.scandir(Path(box) / sub))
        except FileNotFoundError:
            pass
    return n


def local_by_mid(box):
    """{Message-ID: (flag letters, bytes, path)}; a Message-ID twice fails."""
    out = {}
    for p, letters, body in local_files(box):
        mid = message_id(body)
        assert mid not in out, f"{mid} twice in {box}: {out[mid][2]} and {p}"
        out[mid] = (letters, body, p)
    return out


def assert_same_messages(box, server_msgs):
    """The Maildir folder holds exactly the server's messages (the [Message] read before
    the run), each once, byte for byte with LF line ends and nothing added."""
    local = local_by_mid(box)
    want = {m.mid: m for m in server_msgs}
    missing = sorted(set(want) - set(local))
    extra = sorted(set(local) - set(want))
    assert not missing and not extra, \
        f"{box}: {len(missing)} missing {missing[:5]}, {len(extra)} extra {extra[:5]}"
    for mid, m in want.items():
        assert local[mid][1] == lf(m.body), (
            f"{mid} differs from the server's copy\nserver (LF) {lf(m.body)[:400]!r}\n"
            f"local       {local[mid][1][:400]!r}")
    return local


def crlf(msg):
    """LF line ends to CRLF, as a message goes over IMAP (a CRLF stays one)."""
    return msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def tree_snapshot(root):
    """{relative path: (sha-256 of the content, mtime ns)} of every file under root, and
    every directory: a source store that must not change."""
    import hashlib
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            rel = str(p.relative_to(root))
            if p.is_dir():
                out[rel + "/"] = ("dir", st.st_mtime_ns)
            else:
                out[rel] = (hashlib.sha256(p.read_bytes()).hexdigest(), st.st_mtime_ns)
    return out


def endpoint(acct, port="imap", host=None, security="--plain", proxy=None):
    """The connection options every client command shares: --host --port, the
    security option and the account (--user, --password-file). proxy: a
    client_proxy.Proxy in front of the server (its port replaces the server's)."""
    if proxy is not None:
        host, p = proxy.host, proxy.port
    else:
        p = acct.ports[port]
    return ["--host", host or acct.host, "--port", str(p), security,
            "--user", acct.user, "--password-file", str(acct.password_file)]


def wait_pop3_free(acct):
    """Wait until the server lets a POP3 session of acct in: after a client was killed
    or its connection cut, the server's maildrop lock (RFC 1939 8: one session at a
    time) goes when the server has seen the close; a rerun must not race it."""
    import poplib

    def free():
        try:
            c = poplib.POP3(acct.host, acct.ports["pop3"], timeout=10)
        except OSError:
            return False
        try:
            c.user(acct.user)
            c.pass_(acct.password)
        except poplib.error_proto as e:
            c.close()
            if b"IN-USE" in e.args[0] or b"lock" in e.args[0].lower():
                return False
            raise
        c.quit()  # UPDATE with nothing marked: changes nothing
        return True

    wait_until(free, "POP3 maildrop free")


# ---- local stores made by a test (the sources of migrate, the trees of sync) ----

def folder_dir(root, name, layout):
    """The Maildir of IMAP folder `name` under root: INBOX is the root itself; the
    others are ".A.B" beside it (Maildir++) or the directory A/B (layout "fs", one
    Maildir per directory)."""
    root = Path(root)
    if name == "INBOX":
        return root
    if layout == "maildir++":
        return root / ("." + name.replace("/", "."))
    return root.joinpath(*name.split("/"))


def write_local(box, msg, letters="", mtime=None, name=None):
    """A message as a local mail program leaves it: new/NAME without flags, else
    cur/NAME:2,LETTERS; mtime set (its INTERNALDATE for migrate). The path."""
    box = Path(box)
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True, exist_ok=True)
    write_local.seq += 1
    name = name or f"{1_600_000_000 + write_local.seq}.M{write_local.seq}P{os.getpid()}.src"
    path = (box / "cur" / f"{name}:2,{''.join(sorted(letters))}" if letters
            else box / "new" / name)
    path.write_bytes(msg)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


write_local.seq = 0


def make_tree(root, layout, spec):
    """A local Maildir tree from {folder: [(bytes, letters, mtime)]}; returns
    {folder: [(path, letters, bytes, mtime)]}."""
    out = {}
    for folder, msgs in spec.items():
        box = folder_dir(root, folder, layout)
        for sub in ("cur", "new", "tmp"):
            (box / sub).mkdir(parents=True, exist_ok=True)
        out[folder] = [(write_local(box, m, letters, mtime), letters, m, mtime)
                       for m, letters, mtime in msgs]
    return out


def letters_to_flags(letters):
    return frozenset(LETTER_FLAG[ch] for ch in letters if ch in LETTER_FLAG)


def flags_to_letters(flags):
    return "".join(sorted(FLAG_LETTER[f] for f in flags if f in FLAG_LETTER))


def uid_map(acct, folders):
    """{folder: [(uid, Message-ID)]}: what a run that uploads nothing must leave as is."""
    st = acct.state(folders)
    return {f: sorted((m.uid, mid) for mid, m in msgs.items()) for f, msgs in st.items()}


def local_tree(root):
    """{folder: Maildir path} of a local tree: the root is INBOX, ".A.B" beside it is
    "A/B" (Maildir++), a directory A/B with cur/ in it is "A/B" too."""
    root = Path(root)
    out = {}
    if (root / "cur").is_dir():
        out["INBOX"] = root
    for dirpath, dirnames, _ in os.walk(root):
        d = Path(dirpath)
        if d != root and (d / "cur").is_dir():
            rel = d.relative_to(root).as_posix()
            name = rel[1:].replace(".", "/") if rel.startswith(".") else rel
            out[name] = d
        dirnames[:] = [x for x in dirnames if x not in ("cur", "new", "tmp")]
    return out


def local_state(root):
    """{folder: {Message-ID: (flag letters, bytes, path)}} of a local tree."""
    return {f: local_by_mid(box) for f, box in local_tree(root).items()}


def assert_in_sync(acct, root):
    """Both sides hold the same folders, and in each the same messages (each once) with
    the same flags; local bytes are the server's with LF line ends."""
    server = acct.state()
    local = local_state(root)
    assert sorted(server) == sorted(local), \
        f"folders: server {sorted(server)}, local {sorted(local)}"
    for f in server:
        s, loc = server[f], local[f]
        assert sorted(s) == sorted(loc), (
            f"{f}: only on the server {sorted(set(s) - set(loc))}, "
            f"only here {sorted(set(loc) - set(s))}")
        for mid, m in s.items():
            letters, body, path = loc[mid]
            assert body == lf(m.body), f"{f} {mid}: {path} differs from the server's copy"
            system = {x for x in m.flags if x.startswith("\\")}  # keywords stay there
            assert letters_to_flags(letters) == system, \
                f"{f} {mid}: here {letters!r}, on the server {sorted(m.flags)}"
    return server, local


# Commands after which a cut leaves the two ends unsure whether the server did it.
CHANGING = re.compile(rb"^(\S+ )?(UID )?(APPEND|STORE|EXPUNGE|MOVE|COPY|CREATE|DELETE|"
                      rb"RENAME|CLOSE|DELE|QUIT|LOGOUT)\b", re.I)


def cut_points(stream):
    """Where to cut (client_proxy.Proxy's cut=), from the bytes of one whole client run
    (a Proxy's streams[0]): right after every client command from the login on (USER,
    PASS, UIDL, RETR, DELE; each APPEND with its literal; the last command left out:
    the run is over) -- every one that changes something on the server, a sample of
    the others, 16 in all at most; right before the server's tagged answer to each
    IMAP command that changes something (the server has done it, the client does not
    know); server byte counts spread over the run; and the middle of the message with
    "pad 000100 " in it (a 20,000-byte sample_message) in whichever direction it
    went."""
    c2s, s2c = stream["c2s"], stream["s2c"]
    login = re.search(rb"^(PASS |AUTH |\S+ LOGIN |\S+ AUTHENTICATE )", c2s, re.M)
    assert login, f"no login in {c2s[:300]!r}"
    cmds = [(k, c2s[a:b]) for k, (a, b) in enumerate(client_commands(c2s), 1)
            if a >= login.start()][:-1]
    changing = [k for k, cmd in cmds if CHANGING.match(cmd)]
    others = [k for k, cmd in cmds if not CHANGING.match(cmd)]
    room = max(16 - len(changing), 1)
    if len(others) > room:  # a sample of a long run
        others = [others[i * (len(others) - 1) // max(room - 1, 1)] for i in range(room)]
    points = [("after", k) for k in changing + others]
    tags = {cmd.split(b" ", 1)[0]: k for k, cmd in cmds if CHANGING.match(cmd)}
    points += [("answer", tags[m.group(1)])
               for m in re.finditer(rb"^(\S+) (OK|NO|BAD)\b", s2c, re.M) if m.group(1) in tags]
    points += [("s2c", len(s2c) * k // 4) for k in range(1, 4)]
    big = [(d, data.find(b"pad 000100 ")) for d, data in (("s2c", s2c), ("c2s", c2s))]
    big = [(d, n) for d, n in big if n > 0]
    assert big, "the big message went neither way"
    return sorted(set(points + big))
