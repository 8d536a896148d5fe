"""offlineimap3 (OfflineIMAP 8.0 on imaplib2, Debian 12) against kasten and against
Dovecot: a two-way sync of several folders with a local Maildir tree (issue 7).

Scenario (the same for both servers, which must end in the same state):
  1. the server has 3 messages in INBOX and two folders filled with APPEND ("Work",
     and "Lists/Debian" below "Lists"); the first `offlineimap -o` copies them all;
  2. on the local side a message gets \\Flagged and \\Seen, one loses \\Seen, one file is
     deleted and a new folder with a message appears; on the server a message gets
     \\Flagged and \\Answered, one is expunged and a new one arrives; after the second
     sync both sides hold exactly the expected messages and flags;
  3. a third sync transfers nothing (no body fetched, nothing appended, stored,
     expunged or created; no local file renamed); on kasten it runs over IMAPS, the
     server's self-signed certificate pinned by its SHA-256 fingerprint
     (cert_fingerprint: offlineimap checks the host name against the certificate
     otherwise, and the tests connect to 127.0.0.1).

What offlineimap changes in a message (checked exactly): a downloaded message is the
server's bytes with LF line ends, nothing added (the UID and an MD5 of the folder name
go into the file name, ",U=uid,FMD5=..."); an uploaded message is the Maildir file with
CRLF line ends, nothing added either, since both servers answer APPEND with APPENDUID
(RFC 4315 3; without it offlineimap would add an X-OfflineIMAP field to find it again).

offlineimap -d imap logs every command imaplib2 writes ("writer > b'TAG ...'").
"""

import hashlib
import re
import shutil
import ssl
import subprocess

import pytest

from imap_clients import (append, find_file, flags_only, folder_messages, lf, make_target,
                          maildir_names, maildir_state, message_id, ok, server_state,
                          set_maildir_flags, write_maildir_message)
from kasten_test import make_message

KASTEN_LISTEN = ("smtp", "lmtp", "imap", "imaps")
OFFLINEIMAP = shutil.which("offlineimap") or "/usr/bin/offlineimap"
RUN_TIMEOUT = 60

SEEN, FLAGGED, ANSWERED = "\\Seen", "\\Flagged", "\\Answered"


@pytest.fixture(params=["kasten", "dovecot"])
def target(request):
    return make_target(request)


def cert_sha256(path):
    der = ssl.PEM_cert_to_DER_cert(path.read_text())
    return hashlib.sha256(der).hexdigest()


class Offlineimap:
    def __init__(self, t, home):
        self.t, self.home = t, home
        self.mail = home / "mail"
        self.mail.mkdir(parents=True)
        self.runs = []

    def config(self, tls):
        if tls:
            security = (f"remoteport = {self.t.tls_port}\nssl = yes\n"
                        f"cert_fingerprint = {cert_sha256(self.t.cert)}\n")
        else:
            security = f"remoteport = {self.t.port}\nssl = no\nstarttls = no\n"
        rc = self.home / ("offlineimaprc-tls" if tls else "offlineimaprc")
        rc.write_text(
            f"[general]\naccounts = test\nmetadata = {self.home}/meta\n\n"
            "[Account test]\nlocalrepository = local\nremoterepository = remote\n\n"
            f"[Repository local]\ntype = Maildir\nlocalfolders = {self.mail}\nsep = /\n\n"
            f"[Repository remote]\ntype = IMAP\nremotehost = 127.0.0.1\n{security}"
            f"remoteuser = {self.t.user}\nremotepass = {self.t.password}\n"
            "maxconnections = 1\nsocktimeout = 10\n")
        return rc

    def run(self, tls=False):
        """One `offlineimap -o`; returns the commands it sent, tags removed."""
        r = subprocess.run([OFFLINEIMAP, "-c", str(self.config(tls)), "-o", "-u", "basic",
                            "-d", "imap"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=RUN_TIMEOUT)
        out = r.stdout.decode("utf-8", "replace")
        self.runs.append(out)
        assert r.returncode == 0, f"offlineimap exit {r.returncode}\n{out[-8000:]}"
        assert "ERROR" not in out, out[-8000:]
        cmds = []
        for m in re.finditer(r"writer > b(['\"])(.*?)\\r\\n\1", out):
            parts = m.group(2).split(" ", 1)
            if len(parts) == 2 and re.fullmatch(r"[A-Z]+\d+", parts[0]):
                cmds.append(parts[1])
        return cmds

    def state(self):
        return maildir_state(self.mail)

    def names(self):
        return maildir_names(self.mail)


def transferred(commands):
    return [c for c in commands
            if re.match(r"(UID )?(FETCH|STORE|EXPUNGE|COPY|MOVE)\b|APPEND|CREATE|DELETE|"
                        r"RENAME", c)
            and not re.fullmatch(r"FETCH 1:\* \(FLAGS UID INTERNALDATE\)", c)]


def test_offlineimap_two_way(target, tmp_path):
    t = target
    inbox = [make_message(f"inbox {i}", f"Message {i}.\r\n") for i in range(3)]
    work = [make_message("work 0"), make_message("work 1")]
    debian = make_message("debian 0")
    for m in inbox:
        t.put(m)
    with t.imap() as c:
        for name in ("Work", "Lists", "Lists/Debian"):
            ok(c, f"CREATE {name}")
        append(c, "Work", work[0], "\\Seen")
        append(c, "Work", work[1])
        append(c, "Lists/Debian", debian, "\\Seen \\Answered")
    ids = {f"inbox{i}": message_id(m) for i, m in enumerate(inbox)}
    ids.update({"work0": message_id(work[0]), "work1": message_id(work[1])})

    # 1. first sync: everything comes down, LF line ends, nothing added
    oi = Offlineimap(t, tmp_path / "offlineimap")
    cmds = oi.run()
    server1 = server_state(t)
    assert set(server1) == {"INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive", "Work",
                            "Lists", "Lists/Debian"}
    local1 = oi.state()
    assert flags_only(local1) == flags_only(server1)
    for folder, msgs in server1.items():
        for mid, (_, body) in msgs.items():
            assert local1[folder][mid][1] == lf(body), (folder, mid)
    assert sum("BODY.PEEK[]" in c for c in cmds) == 6, cmds

    # 2. changes on both sides
    local_inbox = oi.mail / "INBOX"
    set_maildir_flags(find_file(local_inbox, ids["inbox0"]), "FS")
    find_file(local_inbox, ids["inbox1"]).unlink()
    set_maildir_flags(find_file(oi.mail / "Work", ids["work0"]), "")
    kept = make_message("kept locally").replace(b"\r\n", b"\n")
    write_maildir_message(oi.mail / "Local", kept, "S")
    with t.imap() as c:
        uids = {message_id(b): u for u, _, b in folder_messages(c, "INBOX")}
        ok(c, "SELECT INBOX")
        ok(c, f"UID STORE {uids[ids['inbox2']]} +FLAGS (\\Flagged \\Answered)")
        ok(c, "SELECT Work")
        ok(c, "UID STORE 2 +FLAGS (\\Deleted)")
        ok(c, "EXPUNGE")
    delivered = make_message("arrived between syncs")
    t.put(delivered)

    cmds = oi.run()
    assert "CREATE Local" in cmds, cmds
    assert sum(c.startswith("APPEND Local ") for c in cmds) == 1, cmds
    server2, local2 = server_state(t), oi.state()
    expected = {
        "INBOX": {ids["inbox0"]: {SEEN, FLAGGED}, ids["inbox2"]: {FLAGGED, ANSWERED},
                  message_id(delivered): set()},
        "Work": {ids["work0"]: set()},
        "Lists/Debian": {message_id(debian): {SEEN, ANSWERED}},
        "Local": {message_id(kept): {SEEN}},
        **{f: {} for f in ("Drafts", "Sent", "Trash", "Junk", "Archive", "Lists")},
    }
    assert flags_only(server2) == expected
    assert flags_only(local2) == expected
    assert server2["Local"][message_id(kept)][1] == kept.replace(b"\n", b"\r\n")
    assert local2["Local"][message_id(kept)][1] == kept
    assert local2["INBOX"][message_id(delivered)][1] == \
        lf(server2["INBOX"][message_id(delivered)][1])

    # 3. nothing left to do
    names = oi.names()
    tls = t.tls_port is not None
    cmds = oi.run(tls=tls)
    assert transferred(cmds) == [], cmds
    assert any(c.startswith("SELECT") for c in cmds), cmds
    assert oi.names() == names
    assert server_state(t) == server2
    if tls:  # implicit TLS: a plaintext session on this port would not get past the greeting
        assert f"Establishing connection to 127.0.0.1:{t.tls_port} " in oi.runs[-1]
