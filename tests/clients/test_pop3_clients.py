"""Real POP3 clients from Debian against kasten, end to end: fetchmail, getmail6 and
curl's pop3:// and pop3s://, in both access models (issue 3):

- download and delete: afterwards the server INBOX is empty and the local store holds
  every message, byte-identical to what `kasten export` showed was stored, apart from
  the header fields each client adds (documented and checked exactly below);
- keep on server: nothing is deleted, a second run downloads nothing (UIDL), a newly
  delivered message is downloaded on the third run;
- getmail6's delete_after N days: kept until N days after first seen, then deleted.

What the clients add (checked by the tests):

fetchmail 6.4 (mda delivery, `no stripcr`): one Received field, inserted after the
    server's Return-Path (the first field):
        Received: from 127.0.0.1 [127.0.0.1]
        \tby HOST with POP3 (fetchmail-6.4.x)
        \tfor <LOCALUSER@localhost> (single-drop); DATE
    Everything else, CRLF line ends included, is byte-identical. (With fetchmail's
    default `stripcr` for an mda, the CRs are removed too; we turn that off to compare.)
    In keep mode fetchmail reads with "TOP n 99999999", not RETR.
getmail6 (Maildir destination): the message passes through Python's email package and
    is written with LF line ends (Maildir convention); the server's Return-Path is
    replaced by getmail's own (same value, from the envelope sender), followed by
        Delivered-To: unknown
        Received: from 127.0.0.1 (127.0.0.1:PORT) by HOST with POP3[-SSL]
          getmail6 msgid:UIDL; DATE
    then the rest of the message, byte-identical except CRLF -> LF.
curl: nothing; `curl pop3://.../N` writes the message exactly as stored.
"""

import os
import pwd
import re
import shutil
import subprocess
import tempfile

import pytest

from kasten_test import deliver, make_message, unique_user

FETCHMAIL = shutil.which("fetchmail") or "/usr/bin/fetchmail"
GETMAIL = shutil.which("getmail") or "/usr/bin/getmail"
CURL = shutil.which("curl") or "/usr/bin/curl"
PASSWORD = "Client-pass-42"
RUN_TIMEOUT = 60

BODY = (b"First line.\r\n"
        b".leading dot\r\n"
        b"..two leading dots\r\n"
        b".\r\n"
        b"Last line.\r\n")


# ---- helpers ----

@pytest.fixture
def account(mserver):
    a = unique_user("cl")
    mserver.user_add(a, PASSWORD)
    return a


def fill(server, address, n, tag="m"):
    before = len(server.messages(address))
    for i in range(n):
        deliver(server, address, make_message(f"{tag} {i}", BODY))
    msgs = server.wait_messages(address, before + n)
    assert len(msgs) == before + n
    return msgs


def msgid(msg):
    m = re.search(rb"^Message-ID: (<[^>]+>)\r?$", msg, re.M | re.I)
    assert m, f"no Message-ID in {msg[:300]!r}"
    return m.group(1)


def fields(msg, eol):
    """The header fields of msg as a list of raw byte strings (folded lines kept)."""
    out, pos = [], 0
    while True:
        end = msg.index(eol, pos)
        if end == pos:
            return out  # the blank line
        line = msg[pos:end + len(eol)]
        if line[:1] in (b" ", b"\t"):
            out[-1] += line
        else:
            out.append(line)
        pos = end + len(eol)


def run(cmd, env=None, timeout=RUN_TIMEOUT):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def server_empty(server, address):
    assert server.messages(address) == []
    (row,) = [r for r in server.user_list() if r["address"] == address]
    assert (row["used"], row["count"]) == ("0", "0"), row


# ---- fetchmail ----

class Fetchmail:
    """fetchmail -f RC in a private HOME, one mda file per message.
    mode: plain (no TLS at all), stls (STLS required), pop3s (implicit TLS)."""

    def __init__(self, server, home, address, mode, keep):
        self.home = home
        self.out = home / "out"
        self.out.mkdir(parents=True)
        store = home / "store.sh"
        store.write_text(f'f=$(mktemp "{self.out}/msg.XXXXXXXX") && exec cat > "$f"\n')
        port = server.ports["pop3s" if mode == "pop3s" else "pop3"]
        tls = {"plain": "sslproto ''",
               "stls": "sslproto 'tls1.2+' no sslcertck",
               "pop3s": "ssl no sslcertck"}[mode]
        self.rc = home / "fetchmailrc"
        self.rc.write_text(
            f"poll 127.0.0.1 protocol pop3 port {port} auth password"
            f"{' uidl' if keep else ''}\n"
            f'  user "{address}" there with password "{PASSWORD}" is "localuser" here\n'
            f"  {'keep' if keep else 'nokeep'} no stripcr {tls}\n"
            f'  mda "/bin/sh {store}"\n')
        self.rc.chmod(0o600)  # fetchmail refuses a readable rc file
        self.env = {**os.environ, "HOME": str(home), "FETCHMAILHOME": str(home)}

    def run(self):
        return run([FETCHMAIL, "-f", str(self.rc), "-v", "--nosyslog", "--nodetach",
                    "--pidfile", str(self.home / "fetchmail.pid"),
                    "--idfile", str(self.home / "fetchids")], env=self.env)

    def local(self):
        return [p.read_bytes() for p in sorted(self.out.iterdir())]


def check_fetchmail_copy(local, stored):
    """local == stored with fetchmail's Received field after the first field."""
    lf, sf = fields(local, b"\r\n"), fields(stored, b"\r\n")
    assert lf[0] == sf[0] and sf[0].startswith(b"Return-Path: "), (lf[0], sf[0])
    added = lf[1]
    assert re.match(rb"Received: from 127\.0\.0\.1 \[127\.0\.0\.1\]\r\n\tby \S+ with "
                    rb"POP3 \(fetchmail-[0-9.]+\)\r\n\tfor <localuser@localhost> "
                    rb"\(single-drop\); [^\r\n]+\r\n$", added), added
    assert local[len(lf[0]) + len(added):] == stored[len(sf[0]):]


def match_all(local, stored, check):
    got = {msgid(m): m for m in local}
    assert len(got) == len(local), "a message was downloaded twice"
    assert sorted(got) == sorted(msgid(m) for m in stored)
    for m in stored:
        check(got[msgid(m)], m)


@pytest.mark.parametrize("mode", ["plain", "stls", "pop3s"])
def test_fetchmail_download_and_delete(mserver, account, tmp_path, mode):
    stored = fill(mserver, account, 3)
    fm = Fetchmail(mserver, tmp_path / "fm", account, mode, keep=False)
    rc, out = fm.run()
    assert rc == 0, out
    if mode == "stls":
        assert "upgrade to TLS succeeded" in out, out
    if mode == "plain":
        assert "POP3> STLS" not in out, out
    assert len(re.findall(r"POP3> DELE \d+", out)) == 3, out
    server_empty(mserver, account)
    match_all(fm.local(), stored, check_fetchmail_copy)


@pytest.mark.parametrize("mode", ["plain", "pop3s"])
def test_fetchmail_keep_uidl(mserver, account, tmp_path, mode):
    stored = fill(mserver, account, 2)
    fm = Fetchmail(mserver, tmp_path / "fm", account, mode, keep=True)
    rc, out = fm.run()
    assert rc == 0, out
    assert "DELE" not in out, out
    match_all(fm.local(), stored, check_fetchmail_copy)
    assert mserver.messages(account) == stored  # nothing deleted, nothing changed
    rc, out = fm.run()
    assert rc == 1, f"second run should find no new mail (exit 1)\n{out}"  # 1: no mail
    assert len(fm.local()) == 2
    stored = fill(mserver, account, 1, tag="new")
    rc, out = fm.run()
    assert rc == 0, out
    local = fm.local()
    assert len(local) == 3
    match_all(local, stored, check_fetchmail_copy)
    assert mserver.messages(account) == stored


# ---- getmail6 ----

@pytest.fixture
def maildir():
    """An empty Maildir. getmail6 refuses to deliver as root: when the tests run as
    root, the Maildir belongs to `nobody` (outside pytest's 0700 tmp dir) and getmail
    is told to deliver as that user."""
    base = tempfile.mkdtemp(prefix="kasten-getmail-")
    user = None
    try:
        md = os.path.join(base, "Maildir")
        for d in ("", "cur", "new", "tmp"):
            os.mkdir(os.path.join(md, d))
        if os.geteuid() == 0:
            try:
                nobody = pwd.getpwnam("nobody")
            except KeyError:
                pytest.skip("running as root and there is no user 'nobody' for getmail")
            os.chmod(base, 0o755)
            for d in ("", "cur", "new", "tmp"):
                os.chown(os.path.join(md, d), nobody.pw_uid, nobody.pw_gid)
            user = "nobody"
        yield md, user
    finally:
        shutil.rmtree(base, ignore_errors=True)


class Getmail:
    def __init__(self, server, home, maildir, address, ssl, delete, delete_after=0):
        md, user = maildir
        self.home, self.md = home, md
        home.mkdir(parents=True)
        self.rc = home / "getmailrc"
        port = server.ports["pop3s" if ssl else "pop3"]
        self.rc.write_text(
            "[retriever]\n"
            f"type = {'SimplePOP3SSLRetriever' if ssl else 'SimplePOP3Retriever'}\n"
            f"server = 127.0.0.1\nport = {port}\nusername = {address}\n"
            f"password = {PASSWORD}\ntimeout = 20\n"
            "[destination]\ntype = Maildir\n"
            f"path = {md}/\n" + (f"user = {user}\n" if user else "") +
            "[options]\nverbose = 2\nread_all = false\n"
            f"delete = {'true' if delete else 'false'}\n"
            f"delete_after = {delete_after}\n")
        self.port = port

    def run(self):
        return run([GETMAIL, "--rcfile", str(self.rc), "--getmaildir", str(self.home)])

    def local(self):
        new = os.path.join(self.md, "new")
        return [open(os.path.join(new, f), "rb").read() for f in sorted(os.listdir(new))]

    def oldmail(self):
        (f,) = [p for p in self.home.iterdir() if p.name.startswith("oldmail-")]
        return f

    def backdate(self, days):
        """Move every first-seen time in getmail's oldmail file `days` back."""
        f = self.oldmail()
        lines = []
        for line in f.read_bytes().splitlines():
            uid, ts = line.split(b"\0")
            lines.append(uid + b"\0" + str(int(ts) - int(days * 86400)).encode())
        f.write_bytes(b"".join(l + b"\n" for l in lines))


def check_getmail_copy(local, stored, ssl):
    sf = fields(stored, b"\r\n")
    assert sf[0].startswith(b"Return-Path: ")
    lf = fields(local, b"\n")
    assert lf[0] == sf[0].replace(b"\r\n", b"\n"), (lf[0], sf[0])
    assert lf[1] == b"Delivered-To: unknown\n", lf[1]
    proto = b"POP3-SSL" if ssl else b"POP3"
    unfolded = re.sub(rb"\n[ \t]+", b" ", lf[2])  # getmail folds where it likes
    assert re.match(rb"Received: from 127\.0\.0\.1 \(127\.0\.0\.1:\d+\) by \S+ with " + proto
                    + rb" getmail6 msgid:[0-9a-f]{32}; [^\n]+\n$", unfolded), lf[2]
    added = len(lf[0]) + len(lf[1]) + len(lf[2])
    assert local[added:] == stored[len(sf[0]):].replace(b"\r\n", b"\n")


@pytest.mark.parametrize("ssl", [False, True], ids=["pop3", "pop3s"])
def test_getmail_download_and_delete(mserver, account, tmp_path, maildir, ssl):
    stored = fill(mserver, account, 3)
    gm = Getmail(mserver, tmp_path / "gm", maildir, account, ssl, delete=True)
    rc, out = gm.run()
    assert rc == 0, out
    assert "3 messages" in out and "retrieved" in out, out
    server_empty(mserver, account)
    match_all(gm.local(), stored, lambda l, s: check_getmail_copy(l, s, ssl))


@pytest.mark.parametrize("ssl", [False, True], ids=["pop3", "pop3s"])
def test_getmail_keep_on_server(mserver, account, tmp_path, maildir, ssl):
    stored = fill(mserver, account, 2)
    gm = Getmail(mserver, tmp_path / "gm", maildir, account, ssl, delete=False)
    rc, out = gm.run()
    assert rc == 0, out
    match_all(gm.local(), stored, lambda l, s: check_getmail_copy(l, s, ssl))
    assert mserver.messages(account) == stored
    rc, out = gm.run()
    assert rc == 0, out
    assert "0 messages" in out and "not retrieved (seen)" in out, out
    assert len(gm.local()) == 2
    stored = fill(mserver, account, 1, tag="new")
    rc, out = gm.run()
    assert rc == 0, out
    assert "1 messages" in out, out
    local = gm.local()
    assert len(local) == 3
    match_all(local, stored, lambda l, s: check_getmail_copy(l, s, ssl))
    assert mserver.messages(account) == stored


def test_getmail_delete_after_days(mserver, account, tmp_path, maildir):
    """getmail6 delete_after = 2: a message stays on the server until two days after
    getmail first saw it (the time in its oldmail file), then it is deleted."""
    stored = fill(mserver, account, 2)
    gm = Getmail(mserver, tmp_path / "gm", maildir, account, False, delete=False,
                 delete_after=2)
    rc, out = gm.run()
    assert rc == 0, out
    assert len(gm.local()) == 2
    assert mserver.messages(account) == stored
    gm.backdate(1)  # one day old: still kept
    rc, out = gm.run()
    assert rc == 0, out
    assert mserver.messages(account) == stored
    gm.backdate(2)  # three days old now
    rc, out = gm.run()
    assert rc == 0, out
    server_empty(mserver, account)
    assert len(gm.local()) == 2  # deleted, not downloaded again
    match_all(gm.local(), stored, lambda l, s: check_getmail_copy(l, s, False))


# ---- curl pop3:// ----

def curl(server, mode, address, path="", *args, password=PASSWORD):
    if mode == "pop3s":
        url = f"pop3s://127.0.0.1:{server.ports['pop3s']}/{path}"
        extra = ["--insecure"]
    else:
        url = f"pop3://127.0.0.1:{server.ports['pop3']}/{path}"
        extra = ["--ssl-reqd", "--insecure"] if mode == "stls" else []
    r = subprocess.run([CURL, "--silent", "--show-error", "--max-time", "10",
                        "--user", f"{address}:{password}", *extra, *args, url],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


@pytest.mark.parametrize("mode", ["plain", "stls", "pop3s"])
def test_curl_list_retr_top_uidl(mserver, account, mode):
    stored = fill(mserver, account, 2)
    rc, out, err = curl(mserver, mode, account)
    assert rc == 0, err
    assert out == b"".join(f"{i + 1} {len(m)}\r\n".encode() for i, m in enumerate(stored))
    for i, m in enumerate(stored):
        rc, out, err = curl(mserver, mode, account, str(i + 1))
        assert rc == 0, err
        assert out == m  # curl un-stuffs the dots; nothing added
    rc, out, err = curl(mserver, mode, account, "", "--request", "UIDL")
    assert rc == 0, err
    assert re.fullmatch(rb"1 [0-9a-f]{32}\r\n2 [0-9a-f]{32}\r\n", out), out
    rc, out, err = curl(mserver, mode, account, "", "--request", "TOP 1 0")
    assert rc == 0, err
    assert out == stored[0][:stored[0].index(b"\r\n\r\n") + 4]
    assert mserver.messages(account) == stored  # reading deletes nothing
    rc, out, err = curl(mserver, mode, account, "", password="wrong")
    assert rc == 67, (rc, err)  # CURLE_LOGIN_DENIED


@pytest.mark.parametrize("mode", ["plain", "pop3s"])
def test_curl_download_and_delete(mserver, account, tmp_path, mode):
    stored = fill(mserver, account, 3)
    got = []
    for _ in stored:
        # each session numbers the maildrop afresh: the oldest message is always 1
        rc, out, err = curl(mserver, mode, account, "1")
        assert rc == 0, err
        got.append(out)
        # a custom command without a multi-line answer: --head (-I), see curl(1)
        rc, out, err = curl(mserver, mode, account, "1", "--request", "DELE", "--head")
        assert rc == 0, err
    assert got == stored
    server_empty(mserver, account)
