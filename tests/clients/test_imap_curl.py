"""curl's imap:// and imaps:// (curl 7.88, Debian 12) against kasten and against
Dovecot: LIST, EXAMINE, FETCH by UID (whole message and a section), SEARCH as a custom
command and as a URL query, and upload (APPEND), with the same expectations for both
servers (Dovecot here speaks plaintext only, so imaps:// runs against kasten alone).

What curl does (checked below, from its -v transcript and the results):
  - it logs in with AUTHENTICATE PLAIN (SASL-IR) after a CAPABILITY, never LOGIN;
  - `imap://host/` sends LIST "" * and prints the untagged LIST lines as they came;
  - `imap://host/BOX;UID=n` selects BOX and sends UID FETCH n BODY[] (not PEEK, so the
    server sets \\Seen, RFC 9051 6.4.5) and writes the literal as is: nothing added,
    nothing changed; `;SECTION=HEADER` asks for BODY[HEADER];
  - `-X 'CMD'` on imap://host/BOX selects BOX first and prints the untagged responses;
  - `imap://host/BOX?KEYS` sends SEARCH KEYS (sequence numbers, not UIDs);
  - `-T FILE imap://host/BOX` sends APPEND BOX (\\Seen) {size} and the file as is.
"""

import re
import shutil
import subprocess

import pytest

from imap_clients import (DEFAULT_FOLDERS, dovecot_target, folder_messages, kasten_target,
                          list_folders, message_id, ok)
from kasten_test import make_message

KASTEN_LISTEN = ("smtp", "lmtp", "imap", "imaps")
CURL = shutil.which("curl") or "/usr/bin/curl"


@pytest.fixture(params=[("kasten", False), ("kasten", True), ("dovecot", False)],
                ids=["kasten-imap", "kasten-imaps", "dovecot-imap"])
def where(request):
    name, tls = request.param
    if name == "kasten":
        return kasten_target(request.getfixturevalue("server")), tls
    return dovecot_target(request.getfixturevalue("dovecot")), tls


class Curl:
    def __init__(self, t, tls):
        self.t = t
        self.base = (f"imaps://127.0.0.1:{t.tls_port}" if tls
                     else f"imap://127.0.0.1:{t.port}")
        self.extra = ["--insecure"] if tls else []

    def __call__(self, path, *args, password=None, expect=0):
        """curl BASE/PATH ARGS; returns (stdout bytes, the > and < lines of -v)."""
        r = subprocess.run(
            [CURL, "--silent", "--show-error", "--verbose", "--max-time", "10",
             "--user", f"{self.t.user}:{password or self.t.password}", *self.extra,
             *args, self.base + "/" + path],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            timeout=30)
        err = r.stderr.decode("utf-8", "replace")
        assert r.returncode == expect, f"curl exit {r.returncode}, not {expect}\n{err}"
        return r.stdout, [l for l in err.splitlines() if l[:2] in ("> ", "< ")]


def sent(dialogue):
    """The commands curl sent, tags removed."""
    return [l[2:].split(" ", 1)[1] for l in dialogue if l.startswith("> ") and " " in l[2:]]


def test_curl_list_fetch_search_upload(where, tmp_path):
    t, tls = where
    curl = Curl(t, tls)
    msgs = [make_message(f"curl {w}", f"The {w} message.\r\n") for w in
            ("alpha", "beta", "gamma")]
    for m in msgs:
        t.put(m)
    with t.imap() as c:
        ok(c, 'CREATE "Work Stuff"')
        stored = folder_messages(c, "INBOX")
        ok(c, "SELECT INBOX")
        ok(c, f"UID STORE {stored[0][0]} +FLAGS (\\Deleted)")
        ok(c, "EXPUNGE")  # the UIDs left no longer equal their sequence numbers
        stored = folder_messages(c, "INBOX")
        folders = list_folders(c)
    assert [message_id(b) for _, _, b in stored] == [message_id(m) for m in msgs[1:]]
    assert [u for u, _, _ in stored] != [1, 2]

    # LIST
    out, dialogue = curl("")
    assert 'LIST "" *' in sent(dialogue), dialogue
    assert any(s.startswith("AUTHENTICATE PLAIN") for s in sent(dialogue)), dialogue
    lines = out.decode().splitlines()
    assert all(l.startswith("* LIST (") for l in lines), lines
    names = {re.sub(r'^\* LIST \([^)]*\) "/" ', "", l).strip('"') for l in lines}
    assert names == folders == DEFAULT_FOLDERS | {"Work Stuff"}, lines
    assert '* LIST (\\HasNoChildren \\Sent) "/" Sent' in lines, lines

    # FETCH by UID: the stored bytes exactly, and \Seen set by BODY[]
    for uid, flags, body in stored:
        assert "\\Seen" not in flags
        out, dialogue = curl(f"INBOX;UID={uid}")
        assert f"UID FETCH {uid} BODY[]" in sent(dialogue), dialogue
        assert out == body
    out, dialogue = curl(f"INBOX;UID={stored[1][0]};SECTION=HEADER")
    assert f"UID FETCH {stored[1][0]} BODY[HEADER]" in sent(dialogue), dialogue
    assert out == stored[1][2][:stored[1][2].index(b"\r\n\r\n") + 4]
    with t.imap() as c:
        assert [(u, f) for u, f, _ in folder_messages(c, "INBOX")] == \
            [(u, frozenset({"\\Seen"})) for u, _, _ in stored]
    _, dialogue = curl(f"INBOX;UID={stored[-1][0] + 1}", expect=78)  # REMOTE_FILE_NOT_FOUND
    assert f"UID FETCH {stored[-1][0] + 1} BODY[]" in sent(dialogue), dialogue

    # SEARCH: a custom command answers with UIDs, the URL query with sequence numbers
    out, _ = curl("INBOX", "--request", "UID SEARCH SUBJECT gamma")
    assert out == f"* SEARCH {stored[1][0]}\r\n".encode()
    out, dialogue = curl("INBOX?SUBJECT%20beta")
    assert "SEARCH SUBJECT beta" in sent(dialogue), dialogue
    assert out == b"* SEARCH 1\r\n"
    out, _ = curl("", "--request", "EXAMINE INBOX")
    assert b"* 2 EXISTS\r\n" in out, out

    # upload
    up = make_message("curl upload", "Sent with curl -T.\r\n")
    (tmp_path / "up.eml").write_bytes(up)
    _, dialogue = curl("Work%20Stuff", "--upload-file", str(tmp_path / "up.eml"))
    assert f'APPEND "Work Stuff" (\\Seen) {{{len(up)}}}' in sent(dialogue), dialogue
    with t.imap() as c:
        assert [(f, b) for _, f, b in folder_messages(c, "Work Stuff")] == \
            [(frozenset({"\\Seen"}), up)]

    # a wrong password
    curl("", password="wrong", expect=67)  # CURLE_LOGIN_DENIED
