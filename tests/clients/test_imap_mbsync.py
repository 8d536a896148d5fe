"""mbsync (isync 1.4, Debian 12) against kasten and against Dovecot, end to end: a
two-way sync of an IMAP account with a local Maildir tree (issue 7, "How it is shown").

Scenario (the same for both servers, which must end in the same state):
  1. the server has 5 messages in INBOX and two folders made with CREATE + APPEND
     ("Work", and "Lists/Debian" below an empty "Lists"); a first `mbsync -a` copies
     every folder and message into the Maildir tree, byte for byte apart from what
     mbsync changes;
  2. flags change and messages go on both sides, mbsync creates a local folder on the
     server (CREATE + APPEND) and pushes a new local message; the second run (on
     kasten after STARTTLS) leaves both sides with the same messages and flags, and
     exactly the expected ones;
  3. a third run transfers nothing (no body fetched, nothing appended, stored,
     expunged or created; no local file renamed); on kasten it runs over IMAPS with
     the server's self-signed certificate as mbsync's CertificateFile, and a fourth
     IMAPS run downloads exactly one newly delivered message.

What mbsync changes in a message (checked exactly): a message it downloads into the
Maildir has LF line ends (Maildir convention) and one field more, "X-TUID: " and 12
characters, as the last header field (its transaction id, so that it can find the
message again after an interrupted run); a message it uploads (APPEND) is the Maildir
file with CRLF line ends and the same kind of X-TUID field added last in the header,
although both servers return the new UID (UIDPLUS, APPENDUID; RFC 4315 3); the local
file itself is left as it was.

mbsync logs the IMAP dialogue with -Dn (">>> TAG COMMAND" lines, bodies left out); the
tests read it to see what was transferred.
"""

import re
import shutil
import subprocess

import pytest

from imap_clients import (DOVECOT_PASSWORD, DOVECOT_USER, append, dovecot_target,
                          find_file, flags_only, folder_messages, kasten_target, lf,
                          make_target, maildir_names, maildir_state, message_id, ok,
                          server_state, set_maildir_flags, write_maildir_message)
from kasten_test import make_message

KASTEN_LISTEN = ("smtp", "lmtp", "imap", "imaps")
MBSYNC = shutil.which("mbsync") or "/usr/bin/mbsync"
RUN_TIMEOUT = 60

SEEN, FLAGGED, ANSWERED = "\\Seen", "\\Flagged", "\\Answered"


@pytest.fixture(params=["kasten", "dovecot"])
def target(request):
    return make_target(request)


class Mbsync:
    def __init__(self, t, home):
        self.t, self.home = t, home
        self.mail = home / "mail"
        self.mail.mkdir(parents=True)
        self.runs = []

    def config(self, tls):
        """tls: None (plaintext), "STARTTLS" or "IMAPS" (mbsync's SSLType)."""
        port = self.t.tls_port if tls == "IMAPS" else self.t.port
        security = (f"SSLType {tls}\nCertificateFile {self.t.cert}\nSystemCertificates no\n"
                    if tls else "SSLType None\n")
        rc = self.home / f"mbsyncrc-{tls or 'plain'}"
        rc.write_text(
            f"IMAPAccount remote\nHost 127.0.0.1\nPort {port}\nUser {self.t.user}\n"
            f'Pass "{self.t.password}"\n{security}AuthMechs LOGIN\nTimeout 10\n\n'
            "IMAPStore remote\nAccount remote\n\n"
            f"MaildirStore local\nPath {self.mail}/\nInbox {self.mail}/INBOX\n"
            "SubFolders Verbatim\n\n"
            "Channel all\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\n"
            "Expunge Both\nSyncState *\n")
        return rc

    def run(self, tls=None):
        """One `mbsync -a`; returns the IMAP commands it sent (">>> " lines)."""
        r = subprocess.run([MBSYNC, "-c", str(self.config(tls)), "-V", "-Dn", "-a"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=RUN_TIMEOUT)
        out, err = (r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace"))
        self.runs.append((out, err))
        assert r.returncode == 0, f"mbsync exit {r.returncode}\n{err}\n{out[-6000:]}"
        return [re.sub(r"^(\(\d+ in progress\) )?>>> \d+ ", "", line)
                for line in out.splitlines() if ">>> " in line]

    def state(self):
        return maildir_state(self.mail)

    def names(self):
        return maildir_names(self.mail)


_TUID = re.compile(rb"\nX-TUID: [A-Za-z0-9+/]{12}\n\n")


def without_tuid(local):
    """A downloaded message without the X-TUID field mbsync adds last in the header."""
    head_end = local.index(b"\n\n")
    m = _TUID.search(local, 0, head_end + 2)
    assert m and m.end() == head_end + 2, f"no X-TUID last in the header: {local[:600]!r}"
    return local[:m.start()] + b"\n\n" + local[m.end():]


def check_downloaded(local_state, server):
    """Every server message is in the local folder of the same name with the same flags,
    its bytes the server's with LF line ends and mbsync's X-TUID field."""
    assert sorted(local_state) == sorted(server)
    for folder, msgs in server.items():
        assert sorted(local_state[folder]) == sorted(msgs), folder
        for mid, (flags, body) in msgs.items():
            lflags, lbody = local_state[folder][mid]
            assert lflags == flags, (folder, mid, lflags, flags)
            assert without_tuid(lbody) == lf(body), (folder, mid)


def transferred(commands):
    return [c for c in commands
            if re.match(r"(UID )?(FETCH|STORE|EXPUNGE|COPY|MOVE)\b|APPEND|CREATE|DELETE|"
                        r"RENAME", c) and not re.fullmatch(r"UID FETCH [\d:,]+ \(UID FLAGS\)", c)]


def test_mbsync_two_way(target, tmp_path):
    t = target
    inbox = [make_message(f"inbox {i}", f"Message {i}.\r\n") for i in range(5)]
    work = [make_message("work 0"), make_message("work 1")]
    debian = [make_message("debian 0"), make_message("debian 1")]
    for m in inbox:
        t.put(m)
    with t.imap() as c:
        ok(c, "CREATE Work")
        ok(c, "CREATE Lists")  # a real mailbox on both servers, not just a level
        ok(c, "CREATE Lists/Debian")
        append(c, "Work", work[0], "\\Seen")
        append(c, "Work", work[1])
        append(c, "Lists/Debian", debian[0], "\\Seen \\Answered")
        append(c, "Lists/Debian", debian[1], "\\Flagged")
    ids = {f"inbox{i}": message_id(m) for i, m in enumerate(inbox)}
    ids.update({"work0": message_id(work[0]), "work1": message_id(work[1]),
                "debian0": message_id(debian[0]), "debian1": message_id(debian[1])})

    # 1. first run: everything comes down
    mb = Mbsync(t, tmp_path / "mbsync")
    cmds = mb.run()
    server1 = server_state(t)
    assert set(server1) == {"INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive", "Work",
                            "Lists", "Lists/Debian"}
    assert len(server1["INBOX"]) == 5 and len(server1["Lists/Debian"]) == 2
    check_downloaded(mb.state(), server1)
    if t.export:  # what IMAP showed is what the store holds
        for folder, msgs in server1.items():
            assert sorted(b for _, b in msgs.values()) == sorted(t.export(folder)), folder
    assert sum("BODY.PEEK[]" in c for c in cmds) == 9, cmds

    # 2. changes on both sides
    local_inbox = mb.mail / "INBOX"
    set_maildir_flags(find_file(local_inbox, ids["inbox0"]), "FS")
    find_file(local_inbox, ids["inbox1"]).unlink()
    set_maildir_flags(find_file(mb.mail / "Work", ids["work0"]), "")  # \Seen off
    local_new = make_message("written locally").replace(b"\r\n", b"\n")
    write_maildir_message(local_inbox, local_new, "S")
    kept = [make_message("kept 0").replace(b"\r\n", b"\n"),
            make_message("kept 1").replace(b"\r\n", b"\n")]
    write_maildir_message(mb.mail / "Local", kept[0], "S")
    write_maildir_message(mb.mail / "Local", kept[1])
    with t.imap() as c:
        ok(c, "SELECT INBOX")
        uids = {message_id(b): u for u, _, b in folder_messages(c, "INBOX")}
        ok(c, "SELECT INBOX")
        ok(c, f"UID STORE {uids[ids['inbox2']]} +FLAGS (\\Flagged)")
        ok(c, f"UID STORE {uids[ids['inbox3']]} +FLAGS (\\Seen \\Answered)")
        ok(c, f"UID STORE {uids[ids['inbox4']]} +FLAGS (\\Deleted)")
        ok(c, "EXPUNGE")
        ok(c, "SELECT Lists/Debian")
        ok(c, "UID STORE 1:* -FLAGS (\\Flagged)")
    delivered = make_message("arrived between runs")
    t.put(delivered)

    tls = t.tls_port is not None  # kasten: TLS on the imap and imaps ports
    cmds = mb.run("STARTTLS" if tls else None)
    if tls:
        assert cmds[:1] == ["STARTTLS"], cmds
    assert 'CREATE "Local"' in cmds, cmds
    assert sum(c.startswith('APPEND "Local"') for c in cmds) == 2, cmds
    assert sum(c.startswith('APPEND "INBOX"') for c in cmds) == 1, cmds
    server2 = server_state(t)
    local2 = mb.state()
    expected = {
        "INBOX": {ids["inbox0"]: {SEEN, FLAGGED}, ids["inbox2"]: {FLAGGED},
                  ids["inbox3"]: {SEEN, ANSWERED}, message_id(local_new): {SEEN},
                  message_id(delivered): set()},
        "Work": {ids["work0"]: set(), ids["work1"]: set()},
        "Lists/Debian": {ids["debian0"]: {SEEN, ANSWERED}, ids["debian1"]: set()},
        "Local": {message_id(kept[0]): {SEEN}, message_id(kept[1]): set()},
        **{f: {} for f in ("Drafts", "Sent", "Trash", "Junk", "Archive", "Lists")},
    }
    assert flags_only(server2) == expected
    assert flags_only(local2) == expected
    # what went up is the local file with CRLF line ends and an X-TUID field, the local
    # file stays as it was; what came down as in the first run
    for folder, msg in (("Local", kept[0]), ("Local", kept[1]), ("INBOX", local_new)):
        up = server2[folder][message_id(msg)][1]
        assert b"\r\n" in up and b"\n" not in up.replace(b"\r\n", b""), up
        assert without_tuid(lf(up)) == msg
        assert local2[folder][message_id(msg)][1] == msg
    assert without_tuid(local2["INBOX"][message_id(delivered)][1]) == \
        lf(server2["INBOX"][message_id(delivered)][1])

    # 3. nothing left to do
    names = mb.names()
    cmds = mb.run("IMAPS" if tls else None)
    assert transferred(cmds) == [], cmds
    assert any(c.startswith("SELECT") for c in cmds), cmds  # it did look
    assert mb.names() == names
    assert server_state(t) == server2
    if tls:
        assert "Connection is now encrypted" in mb.runs[-1][0], mb.runs[-1][0][-3000:]
        late = make_message("arrived over TLS")
        t.put(late)
        cmds = mb.run("IMAPS")
        assert transferred(cmds) == [f"UID FETCH {max_uid(t)} (BODY.PEEK[])"], cmds
        local4 = mb.state()
        assert set(local4["INBOX"]) == set(local2["INBOX"]) | {message_id(late)}
        server4 = server_state(t, ["INBOX"])
        assert without_tuid(local4["INBOX"][message_id(late)][1]) == \
            lf(server4["INBOX"][message_id(late)][1])


def max_uid(t):
    with t.imap() as c:
        return max(u for u, _, _ in folder_messages(c, "INBOX"))


# ---- LOGOUT after COMPRESS DEFLATE ----

def compress_dovecot():
    """The shared Dovecot with COMPRESS=DEFLATE (RFC 4978), which kasten advertises."""
    from dovecot_test import DovecotServer

    class ZlibDovecot(DovecotServer):
        def _config(self):
            conf = super()._config()
            assert "mail_location" in conf
            conf = conf.replace("mail_location", "mail_plugins = zlib\nmail_location", 1)
            return conf + "protocol imap {\n  mail_plugins = $mail_plugins imap_zlib\n}\n"

    return ZlibDovecot(None, users={DOVECOT_USER: DOVECOT_PASSWORD}, protocols=("imap",))


@pytest.mark.parametrize("server_name", ["kasten", "dovecot"])
def test_mbsync_logout_after_compress(request, tmp_path, server_name):
    """mbsync turns on COMPRESS=DEFLATE whenever a server offers it and ends with
    LOGOUT; the session must end with the server's BYE and OK (RFC 9051 6.1.3, RFC 4978
    3: everything after the OK of COMPRESS is compressed), not an unexpected EOF."""
    if server_name == "kasten":
        t = kasten_target(request.getfixturevalue("server"))
        d = None
    else:
        d = compress_dovecot()
        d.start()
        request.addfinalizer(lambda: (d.stop(), d.remove()))
        t = dovecot_target(d)
    t.put(make_message("compressed"))
    mb = Mbsync(t, tmp_path / "mbsync")
    cmds = mb.run()
    assert "COMPRESS DEFLATE" in cmds, cmds
    assert cmds[-1] == "LOGOUT", cmds
    assert len(mb.state()["INBOX"]) == 1
    out, err = mb.runs[-1]
    assert "IMAP error" not in err and "unexpected EOF" not in err, err
