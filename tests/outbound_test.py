"""outbound_test: the shared fixtures of the outbound tests (issue 9). Everything listens
on loopback; remote MXes on 127.0.0.2..127.0.0.9 (Linux routes all of 127/8 to lo), all
at ONE port per test (`remote_port`), which the sending kasten has as [outbound]
remote_port, so MX records can name different hosts the way the Internet does.

    def test_x(zone, smtp_sink, outbound_server):
        zone.mx("dest.test", [(10, "mx1.dest.test"), (20, "mx2.dest.test")])
        zone.a("mx1.dest.test", "127.0.0.2")
        zone.a("mx2.dest.test", "127.0.0.3")
        sink = smtp_sink("127.0.0.3")                  # started, on 127.0.0.3:remote_port
        k = outbound_server()                          # zone applied, kasten started
        submit(k, ["rcpt@dest.test"], make_message("hi", sender=k.user))
        [m] = sink.wait_messages(1)
        assert m.rcpts == ["rcpt@dest.test"] and b"DKIM-Signature:" in m.data

Fixtures (registered in tests/conftest.py):
  zone            a Zone: records for names under `test.`, served by a private unbound
                  (tests/dns_test.py) from zone.apply() on. Function scope: every test
                  gets its own unbound (starting one takes about 1 s on a busy machine).
  remote_port     the one port every remote MX of the test listens on.
  smtp_sink       factory: smtp_sink(host="127.0.0.2", options=(...)) -> a started
                  SmtpSink (Postfix's smtp-sink, every transaction dumped to a file).
  remote_kasten   factory: remote_kasten(host="127.0.0.3", domain="remote.test",
                  users=("rcpt",)) -> a started second `kasten serve` whose smtp listener
                  is host:remote_port, with accounts rcpt@remote.test (password
                  REMOTE_PASSWORD) and the zone's resolver. Applies the zone (records
                  added later need another apply(), which restarts unbound).
  outbound_server factory: outbound_server(config=None, listen=OUTBOUND_LISTEN,
                  dkim=True, start=True) -> the kasten under test: [dns] = the zone's
                  unbound, [outbound] remote_port and short retries (OUTBOUND_CONFIG),
                  the account .user (password .password) and, with dkim, RSA and ed25519
                  keys for example.test whose records (`kasten dns example.test`, with
                  mx.example.test A 127.0.0.1, where kasten sends from) go into the zone.
                  Applies the zone, so declare every record before calling it.

A SmtpSink: .messages() -> the finished transactions as SinkMessage (.sender .rcpts
.mail_from .rcpt_args .helo .data .header(name) .message_id()); .wait_messages(n);
.counters() -> {"sess", "quit", "mesg"} (smtp-sink -c: sessions ended, QUITs,
transactions); .stop(). Its options are smtp-sink(1)'s: "-r"/"-f" CMD,CMD refuse 4xx/5xx
(with "-b"/"-B" the reply text), "-p" "-8" "-E" "-N" drop PIPELINING, 8BITMIME,
ENHANCEDSTATUSCODES, DSN, "-w" N waits N s before answering DATA, "-W" CMD:N before CMD
(".:N": the message is in, its 250 late), "-q"/"-Q" CMD disconnect. It offers no
STARTTLS, CHUNKING or SMTPUTF8.

Helpers: submit(server, rcpts, msg) over submission with AUTH PLAIN; remote_host(i) =
"127.0.0.{i}".
"""

import os
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from dns_test import DnsServer, available as dns_available
from kasten_test import DOMAIN, HOST, KastenServer, free_ports

SMTP_SINK = "/usr/sbin/smtp-sink"
START_TIMEOUT = float(os.environ.get("KASTEN_START_TIMEOUT", "10"))

OUTBOUND_LISTEN = ("smtp", "submission", "imap")
OUTBOUND_USER = f"sender@{DOMAIN}"
OUTBOUND_PASSWORD = "Outbound-pass-1"
REMOTE_PASSWORD = "Remote-pass-1"
DKIM_SELECTORS = (("k1", "rsa"), ("e1", "ed25519"))

# Retries within a test's patience; give_up and delay_notice far enough away that no
# test meets them unless it sets them itself (then e.g. give_up = 8s, delay_notice = 3s).
OUTBOUND_CONFIG = {
    "outbound": {"retry_schedule": "1s,2s,4s", "give_up": "1h", "delay_notice": "0",
                 "connect_timeout": "5s", "command_timeout": "30s", "data_timeout": "30s"},
    "limits": {"max_connections_per_ip": "1000", "max_unauthenticated_per_ip": "1000"},
}


def remote_host(i):
    """The loopback address of remote MX number i (2..9)."""
    assert 2 <= i <= 9, i
    return f"127.0.0.{i}"


# ---- DNS ----
class Zone:
    """DNS data for names under `test.`, grouped into zones. A name belongs to the
    longest zone declared with declare() that contains it, else to the zone of its last
    two labels ("_25._tcp.mx1.dest.test" -> "dest.test"). Records are written to zone
    files and served at apply(); applying again (after more records) restarts unbound on
    the same port, so do it before any kasten that caches answers starts. The zone
    `test.` itself is served too (empty unless declared): any other name under it is an
    NXDOMAIN at once."""

    def __init__(self, workdir):
        self.dns = DnsServer(workdir)
        self.dns.port, self.dns.silent_port = free_ports(2)  # known before apply()
        self.records = {}     # origin -> [zone-file line]
        self.options = {}     # origin -> {"signed": bool, "tamper": TYPE or None}
        self.dead = []
        self._applied = None  # what the running unbound serves

    # -- declaring --
    def declare(self, origin, signed=False, tamper=None):
        """A zone of its own; signed: DNSSEC-signed (DANE needs secure answers);
        tamper=TYPE: signed, with the signature over TYPE broken (bogus answers)."""
        origin = origin.rstrip(".").lower()
        self.options[origin] = {"signed": signed or bool(tamper), "tamper": tamper}
        self.records.setdefault(origin, [])
        return self

    def dead_zone(self, origin):
        """A zone whose server never answers (SERVFAIL after unbound's timeouts)."""
        self.dead.append(origin.rstrip(".").lower())
        return self

    def origin_of(self, name):
        name = name.rstrip(".").lower()
        best = None
        for origin in self.options:
            if (name == origin or name.endswith("." + origin)) and \
                    (best is None or len(origin) > len(best)):
                best = origin
        if best:
            return best
        labels = name.split(".")
        assert len(labels) >= 2 and labels[-1] == "test", f"{name}: not under test."
        return ".".join(labels[-2:])

    def add(self, name, rtype, data, ttl=300):
        """One record: add("x.dest.test", "A", "127.0.0.2")."""
        origin = self.origin_of(name)
        if origin not in self.options:
            self.declare(origin)
        self.records[origin].append(f"{name.rstrip('.')}. {ttl} IN {rtype} {data}")
        return self

    def mx(self, name, hosts):
        """hosts: [(preference, host)]; [(0, ".")] is a null MX (RFC 7505)."""
        for pref, host in hosts:
            self.add(name, "MX", f"{pref} {host.rstrip('.')}.")
        return self

    def a(self, name, *addrs):
        for addr in addrs:
            self.add(name, "A", addr)
        return self

    def aaaa(self, name, *addrs):
        for addr in addrs:
            self.add(name, "AAAA", addr)
        return self

    def cname(self, name, target):
        return self.add(name, "CNAME", target.rstrip(".") + ".")

    def txt(self, name, text):
        """One TXT record holding `text`, split into strings of at most 255 bytes (RFC
        1035 3.3.14); readers join them (RFC 7208 3.3, RFC 6376 3.6.2.2)."""
        raw = text.encode()
        chunks = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
        quoted = " ".join('"' + c.decode().replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for c in chunks)
        return self.add(name, "TXT", quoted)

    def tlsa(self, name, usage, selector, mtype, data_hex):
        """TLSA (RFC 6698) at e.g. "_25._tcp.mx1.dest.test" (the port is the remote
        port kasten connects to: _{remote_port}._tcp for the test's MXes)."""
        return self.add(name, "TLSA", f"{usage} {selector} {mtype} {data_hex}")

    def zone_lines(self, text):
        """Zone-file lines with absolute owner names (what `kasten dns DOMAIN` prints);
        comments and blank lines are skipped."""
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith(";"):
                continue
            owner = line.split()[0]
            assert owner.endswith("."), f"owner name not absolute: {line!r}"
            origin = self.origin_of(owner)
            if origin not in self.options:
                self.declare(origin)
            self.records[origin].append(line)
        return self

    # -- serving --
    def apply(self):
        """Write, sign and serve everything declared so far (restarting unbound when it
        ran with other data). Returns self."""
        state = (repr(sorted(self.records.items())), repr(sorted(self.options.items())),
                 tuple(self.dead))
        if state == self._applied:
            return self
        d = self.dns
        d.stop()
        d.zones, d.anchors, d.dead = {}, [], list(self.dead)
        if "test" not in self.records:
            # test. itself, empty: every name no zone holds is an NXDOMAIN at once
            # (RFC 6761 6.2), not a recursion towards the root that times out
            d.zone("test", [])
        for origin, lines in self.records.items():
            opt = self.options[origin]
            d.zone(origin, lines, signed=opt["signed"], tamper=opt["tamper"])
        d.start()
        self._applied = state
        return self

    @property
    def applied(self):
        return self._applied is not None

    def kasten_config(self):
        """The [dns] section of a kasten using this zone. The trust anchor file holds
        the DS records of the signed zones, rewritten at every apply(): a kasten that
        validates DNSSEC must start after the apply() that signed its zones."""
        return self.dns.kasten_config(timeout=5)

    def stop(self):
        self.dns.stop()


# ---- Postfix's smtp-sink ----
_COUNTERS_RE = re.compile(rb"sess=(\d+) quit=(\d+) mesg=(\d+)")


class SinkMessage:
    """One transaction smtp-sink dumped: helo, mail_from (the MAIL arguments, e.g.
    "<a@b> SIZE=12 BODY=8BITMIME"), sender (the address alone), rcpts (addresses),
    rcpt_args (the RCPT arguments), data (the message as received, CRLF line ends,
    dot-stuffing removed), path (the dump file)."""

    def __init__(self, path, raw):
        self.path = path
        self.helo, self.mail_from, self.rcpt_args = None, None, []
        lines = raw.split(b"\n")
        i = 0
        while i < len(lines) and not lines[i].startswith(b"Received: "):
            key, _, val = lines[i].decode("utf-8", "replace").partition(": ")
            if key == "X-Helo-Args":
                self.helo = val
            elif key == "X-Mail-Args":
                self.mail_from = val
            elif key == "X-Rcpt-Args":
                self.rcpt_args.append(val)
            i += 1
        assert i < len(lines), f"{path}: no smtp-sink Received header"
        i += 3  # "Received: from ...", "\tby smtp-sink ...", "\tDATE" (smtp-sink(1))
        body = lines[i:]
        # the dump ends with the message's last line end plus one empty line
        assert body[-2:] == [b"", b""], f"{path}: incomplete dump {raw[-60:]!r}"
        self.data = b"\r\n".join(body[:-2]) + b"\r\n"
        self.sender = _address(self.mail_from)
        self.rcpts = [_address(a) for a in self.rcpt_args]

    def header(self, name):
        """The values of header field `name` (unfolded, as str), in order."""
        head = self.data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        out = []
        for field in re.split(r"\r\n(?![ \t])", head):
            k, _, v = field.partition(":")
            if k.strip().lower() == name.lower():
                out.append(re.sub(r"\r\n[ \t]", " ", v).strip())
        return out

    def message_id(self):
        ids = self.header("Message-ID")
        return ids[0] if ids else None


def _address(args):
    if args is None:
        return None
    m = re.match(r"<([^>]*)>", args)
    return m.group(1) if m else args.split()[0]


class SmtpSink:
    """One smtp-sink process on host:port. Every finished transaction (the "." was
    read, whether or not the client waited for the reply) is a file in self.dump;
    aborted ones leave none. counters() are smtp-sink's own -c counts."""

    def __init__(self, host, port, options=(), workdir=None):
        self.host, self.port, self.options = host, port, tuple(options)
        # smtp-sink drops to an unprivileged user when run as root (-u); pytest's temp
        # dirs are private to root, so the dump lives in a directory of its own
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="kasten-sink-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dump = self.dir / "dump"
        self.dump.mkdir(exist_ok=True)
        self.counter_file = self.dir / "counters"
        self.err_file = self.dir / "stderr"
        self.proc = None

    def start(self):
        user = []
        if os.geteuid() == 0:
            user = ["-u", "nobody"]
            os.chmod(self.dir, 0o755)
            shutil.chown(self.dump, "nobody")
        with open(self.counter_file, "wb") as out, open(self.err_file, "wb") as err:
            self.proc = subprocess.Popen(
                [SMTP_SINK, *user, "-c", "-d", f"{self.dump}/%s.", *self.options,
                 f"{self.host}:{self.port}", "256"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        deadline = time.monotonic() + START_TIMEOUT
        while not _listening(self.host, self.port):  # a probe connection would count
            if self.proc.poll() is not None:
                raise AssertionError(f"smtp-sink exited {self.proc.returncode}: "
                                     f"{self.err_file.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                raise AssertionError(f"smtp-sink not listening on {self.host}:{self.port}")
            time.sleep(0.02)
        return self

    def counters(self):
        """{"sess": sessions ended, "quit": QUITs, "mesg": transactions finished}."""
        found = _COUNTERS_RE.findall(self.counter_file.read_bytes())
        sess, quit_, mesg = map(int, found[-1]) if found else (0, 0, 0)
        return {"sess": sess, "quit": quit_, "mesg": mesg}

    def messages(self):
        """The finished transactions, oldest first. smtp-sink keeps a transaction's file
        open until the transaction ends (and removes it when it is aborted), so a file
        it does not hold open is complete: the directory is listed BEFORE the open files
        are, so that a file created in between is not taken for a finished one."""
        names = list(self.dump.iterdir())
        held = self._open_files()
        out = []
        for p in names:
            if str(p) in held:
                continue
            try:
                out.append((p.stat().st_mtime_ns, p.name, SinkMessage(p, p.read_bytes())))
            except FileNotFoundError:  # an aborted transaction's file, removed
                continue
        return [m for _, _, m in sorted(out, key=lambda t: t[:2])]

    def _open_files(self):
        fd_dir = Path(f"/proc/{self.proc.pid}/fd")
        held = set()
        for fd in fd_dir.iterdir() if self.proc and self.proc.poll() is None else ():
            try:
                held.add(os.readlink(fd))
            except OSError:  # closed meanwhile
                pass
        return held

    def wait_messages(self, n, timeout=30):
        """At least n finished transactions within timeout seconds, else AssertionError."""
        deadline = time.monotonic() + timeout
        while True:
            if self.counters()["mesg"] >= n:
                msgs = self.messages()
                if len(msgs) >= n:
                    return msgs
            if time.monotonic() > deadline:
                raise AssertionError(f"smtp-sink {self.host}: {self.counters()} after "
                                     f"{timeout}s, wanted {n} messages")
            time.sleep(0.05)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def _listening(host, port):
    """Whether something listens on host:port (IPv4), from /proc/net/tcp."""
    a, b, c, d = (int(x) for x in host.split("."))
    want = f"{d:02X}{c:02X}{b:02X}{a:02X}:{port:04X}"
    with open("/proc/net/tcp") as f:
        next(f)
        return any(line.split()[1] == want and line.split()[3] == "0A" for line in f)


# ---- submitting ----
def submit(server, rcpts, msg, sender=None, user=None, password=None, mail_options=(),
           rcpt_options=()):
    """One transaction on server's submission port after AUTH PLAIN (RFC 4954) as user
    (default server.user); returns smtplib's refused-recipients dict (every recipient
    refused raises SMTPRecipientsRefused, a refused DATA SMTPDataError)."""
    user = user or server.user
    with smtplib.SMTP(*server.addr("submission"), timeout=60) as s:
        s.ehlo("client.test")
        s.login(user, password or server.password, initial_response_ok=True)
        return s.sendmail(sender or user, rcpts, msg, mail_options=list(mail_options),
                          rcpt_options=list(rcpt_options))


# ---- fixtures ----
@pytest.fixture
def zone(tmp_path):
    if not dns_available():
        pytest.fail("unbound or ldnsutils missing: scripts/install-deps.sh check")
    z = Zone(tmp_path / "dns")
    yield z
    z.stop()


@pytest.fixture
def remote_port():
    return free_ports(1)[0]


@pytest.fixture
def smtp_sink(remote_port):
    if not os.access(SMTP_SINK, os.X_OK):
        pytest.fail(f"{SMTP_SINK} missing (postfix package): scripts/install-deps.sh")
    sinks = []

    def make(host=remote_host(2), options=(), port=None):
        s = SmtpSink(host, port or remote_port, options)
        sinks.append(s)
        return s.start()

    yield make
    for s in sinks:
        s.stop()
        s.remove()


def _add_users(server, domain, users, password):
    server.data.mkdir(parents=True, exist_ok=True)  # start() makes it, later
    for u in users:
        server.user_add(f"{u}@{domain}", password)


@pytest.fixture
def remote_kasten(request, tmp_path, zone, remote_port):
    servers = request.node.__dict__.setdefault("_kasten_servers", [])

    def make(host=remote_host(3), domain="remote.test", users=("rcpt",), config=None,
             listen=("smtp", "imap")):
        # its port 25 checks (SPF, DKIM, DMARC) ask the zone: a resolver that does not
        # answer yet would cost them their timeouts on the first message
        zone.apply()
        conf = {"server": {"hostname": f"mx.{domain}"}, **zone.kasten_config()}
        for section, kv in (config or {}).items():
            conf[section] = {**conf.get(section, {}), **kv}
        s = KastenServer(tmp_path / f"remote-{host}", listen=listen, config=conf,
                         host=host, ports={"smtp": remote_port})
        s.domain = domain
        s.users = [f"{u}@{domain}" for u in users]
        s.password = REMOTE_PASSWORD
        servers.append(s)
        _add_users(s, domain, users, REMOTE_PASSWORD)
        return s.start()

    yield make
    # the servers stop in kasten_factory's way: SIGTERM must give exit 0
    from conftest import _teardown
    _teardown(servers)


@pytest.fixture
def outbound_server(request, tmp_path, zone, remote_port):
    servers = request.node.__dict__.setdefault("_kasten_servers", [])

    def make(config=None, listen=OUTBOUND_LISTEN, dkim=True, start=True, name="outbound"):
        s = KastenServer(tmp_path / name, listen=listen)
        s.user, s.password = OUTBOUND_USER, OUTBOUND_PASSWORD
        servers.append(s)
        _add_users(s, DOMAIN, [s.user.split("@")[0]], s.password)
        if dkim:
            for selector, algorithm in DKIM_SELECTORS:
                s.kasten("dkim", "keygen", DOMAIN, "--selector", selector,
                         "--algorithm", algorithm)
            records = s.kasten("dns", DOMAIN).stdout.decode()
            zone.zone_lines(records)
            zone.a(f"mx.{DOMAIN}", HOST)
        zone.apply()
        conf = {**OUTBOUND_CONFIG, **zone.kasten_config()}
        conf["outbound"] = {**conf["outbound"], "remote_port": str(remote_port)}
        for section, kv in (config or {}).items():
            conf[section] = {**conf.get(section, {}), **kv}
        s.write_config(conf)
        return s.start() if start else s

    yield make
    from conftest import _teardown
    _teardown(servers)
