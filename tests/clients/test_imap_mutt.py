"""mutt (2.2, Debian 12) in tmux against kasten and against Dovecot: list, read, flag,
delete, move and reconnect, as a person at the keyboard would (issue 7).

mutt runs in a detached tmux session on a private tmux server (`tmux -L NAME`, killed
by that name at the end); keys go in with `tmux send-keys`, the screen comes out with
`tmux capture-pane -p`, and every step waits (bounded) for the text it expects on the
screen, or for the state it expects on the server, read over a separate IMAP
connection. The muttrc (in tmp_path) points at the plaintext listener (loopback
plaintext is allowed by the test config) with no header or body cache, so that every
start reads the server afresh.

What mutt sends (from the server's protocol log): AUTHENTICATE, ENABLE UTF8=ACCEPT,
SELECT; the index from one FETCH of UID FLAGS INTERNALDATE RFC822.SIZE and
BODY.PEEK[HEADER.FIELDS (...)]; a message it shows with UID FETCH n BODY.PEEK[], \\Seen
set by its own STORE later; flag changes, deletions and the \\Deleted of a saved
message as UID STORE +FLAGS.SILENT when the mailbox is synced ($ or quit); saving to
another folder as UID COPY; EXPUNGE to purge. With mark_old (the default) it also
stores the keyword "Old" on messages left unread when it leaves the mailbox.
"""

import os
import re
import shutil
import subprocess
import time

import pytest

from imap_clients import folder_messages, make_target, message_id
from kasten_test import make_message

KASTEN_LISTEN = ("smtp", "imap")
MUTT = shutil.which("mutt") or "/usr/bin/mutt"
TMUX = shutil.which("tmux") or "/usr/bin/tmux"
WAIT = 15  # seconds any one step may take
WORDS = ("one", "two", "three", "four")


@pytest.fixture(params=["kasten", "dovecot"])
def target(request):
    return make_target(request)


class Tmux:
    """A private tmux server with one session running a shell command. The pane stays
    after the command exits (remain-on-exit), so its last screen can still be read."""

    def __init__(self, name, conf):
        self.name, self.conf = name, conf
        conf.write_text("set -g remain-on-exit on\n")

    def tmux(self, *args, check=True):
        r = subprocess.run([TMUX, "-L", self.name, "-f", str(self.conf), *args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=10, text=True)
        assert not check or r.returncode == 0, (args, r.stderr)
        return r

    def start(self, command):
        if self.tmux("has-session", "-t", "mutt", check=False).returncode == 0:
            self.tmux("respawn-pane", "-k", "-t", "mutt", command)  # in the dead pane
        else:
            self.tmux("new-session", "-d", "-s", "mutt", "-x", "120", "-y", "30", command)

    def keys(self, *keys):
        """tmux key names (Enter, C-u, ...) as they are."""
        self.tmux("send-keys", "-t", "mutt", *keys)

    def type(self, text):
        """Literal text, nothing taken for a key name."""
        self.tmux("send-keys", "-t", "mutt", "-l", text)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "mutt").stdout

    def wait(self, pred, what):
        """The screen once pred(screen) holds; fails with the screen after WAIT s."""
        deadline = time.monotonic() + WAIT
        while True:
            sc = self.screen()
            if pred(sc):
                return sc
            if time.monotonic() > deadline:
                pytest.fail(f"mutt: no {what} after {WAIT}s; the screen:\n{sc}")
            time.sleep(0.1)

    def wait_text(self, text):
        return self.wait(lambda sc: text in sc, repr(text))

    def kill(self):
        self.tmux("kill-server", check=False)


def index(screen):
    """{subject: status flags} of the index lines ("%4C %Z %s")."""
    out = {}
    for line in screen.splitlines():
        m = re.match(r"^ *\d+ (.{3}) (mutt \w+)\s*$", line)
        if m:
            out[m.group(2)] = m.group(1)
    return out


def wait_exit(tmux, exited):
    """mutt has ended, with exit status 0."""
    tmux.wait(lambda s: exited.exists() and exited.read_text().endswith("\n"), "mutt exit")
    assert exited.read_text() == "0\n"
    exited.unlink()


def wait_server(t, pred, what):
    deadline = time.monotonic() + WAIT
    while True:
        with t.imap() as c:
            state = {f: folder_messages(c, f) for f in ("INBOX", "Archive")}
        if pred(state):
            return state
        if time.monotonic() > deadline:
            pytest.fail(f"server: no {what} after {WAIT}s: "
                        f"{ {f: [(u, sorted(fl)) for u, fl, _ in m] for f, m in state.items()} }")
        time.sleep(0.2)


def subjects(msgs):
    return {re.search(rb"^Subject: (.*)\r$", b, re.M).group(1).decode(): flags
            for _, flags, b in msgs}


@pytest.fixture
def tmux(request, tmp_path):
    tm = Tmux(f"kasten-mutt-{os.getpid()}-{id(request)}", tmp_path / "tmux.conf")
    yield tm
    tm.kill()


def test_mutt_list_read_flag_delete_move_reconnect(target, tmp_path, tmux):
    t = target
    sent = {w: make_message(f"mutt {w}", f"This is the body of mutt {w}.\r\n")
            for w in WORDS}
    for w in WORDS:
        t.put(sent[w])
    with t.imap() as c:
        stored = {message_id(b): b for _, _, b in folder_messages(c, "INBOX")}
    rc = tmp_path / "muttrc"
    rc.write_text(
        f'set folder = "imap://127.0.0.1:{t.port}/"\n'
        f'set imap_user = "{t.user}"\nset imap_pass = "{t.password}"\n'
        'set spoolfile = "+INBOX"\nset ssl_starttls = no\nset ssl_force_tls = no\n'
        'set header_cache = ""\nset message_cachedir = ""\n'
        'set sort = mailbox-order\nset index_format = "%4C %Z %s"\n'
        "set delete = yes\nset quit = yes\nset move = no\nset confirmappend = no\n"
        'set record = ""\nset wait_key = no\nset help = no\nset markers = no\n'
        "set imap_keepalive = 300\nset mail_check = 300\n")
    # tmux runs this with sh -c; the shell writes mutt's exit status when it ends
    exited = tmp_path / "mutt.exit"
    command = (f"env HOME={tmp_path} TERM=screen LANG=C.UTF-8 {MUTT} -n -F {rc}; "
               f"echo $? > {exited}")

    # list
    tmux.start(command)
    sc = tmux.wait(lambda s: len(index(s)) == 4, "index of 4 messages")
    assert all("N" in f for f in index(sc).values()), sc  # all unread

    def select(word):
        tmux.keys("/")
        tmux.wait_text("Search for:")
        tmux.type(f"mutt {word}")
        tmux.keys("Enter")

    # read: the pager shows the body
    select("one")
    tmux.keys("Enter")
    tmux.wait_text("This is the body of mutt one.")
    tmux.keys("q")
    tmux.wait(lambda s: index(s).get("mutt one", "N").strip() == "", "mutt one read")

    # flag, delete, save to =Archive (which marks the original deleted), then sync
    select("two")
    tmux.keys("F")
    tmux.wait(lambda s: "!" in index(s).get("mutt two", ""), "flag on mutt two")
    select("three")
    tmux.keys("d")
    tmux.wait(lambda s: "D" in index(s).get("mutt three", ""), "mutt three deleted")
    select("four")
    tmux.keys("s")
    tmux.wait_text("Save to mailbox")
    tmux.keys("C-u")
    tmux.type("=Archive")
    tmux.keys("Enter")
    tmux.wait(lambda s: "D" in index(s).get("mutt four", ""), "mutt four saved")
    tmux.keys("$")
    tmux.wait(lambda s: set(index(s)) == {"mutt one", "mutt two"}, "synced index")

    state = wait_server(
        t, lambda st: set(subjects(st["INBOX"])) == {"mutt one", "mutt two"}
        and set(subjects(st["Archive"])) == {"mutt four"}, "INBOX one, two; Archive four")
    inbox = subjects(state["INBOX"])
    assert {"\\Seen"} <= inbox["mutt one"] and "\\Flagged" not in inbox["mutt one"]
    assert "\\Flagged" in inbox["mutt two"]
    (archived,) = state["Archive"]
    assert archived[2] == stored[message_id(sent["four"])]  # COPY keeps the bytes

    # quit, start again: the state is on the server
    tmux.keys("q")
    wait_exit(tmux, exited)
    tmux.start(command)
    sc = tmux.wait(lambda s: set(index(s)) == {"mutt one", "mutt two"}, "index after restart")
    assert "!" in index(sc)["mutt two"] and "N" not in index(sc)["mutt one"], sc
    tmux.keys("c")
    tmux.wait_text("Open mailbox")
    tmux.keys("C-u")
    tmux.type("=Archive")
    tmux.keys("Enter")
    tmux.wait(lambda s: set(index(s)) == {"mutt four"}, "Archive index")
    tmux.keys("Enter")
    tmux.wait_text("This is the body of mutt four.")
    tmux.keys("q")
    tmux.wait(lambda s: set(index(s)) == {"mutt four"}, "Archive index again")
    tmux.keys("q")
    wait_exit(tmux, exited)
