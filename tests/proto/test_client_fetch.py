"""`kasten fetch` (issue 8, item 1) end to end: POP3 (RFC 1939, UIDL from RFC 1939 7)
and IMAP INBOX (RFC 9051; UID + UIDVALIDITY decide what is new, RFC 9051 2.3.1.1) into
a local Maildir, against kasten's server and a private Dovecot (client_test).

What every case checks: the Maildir holds exactly the server's messages (as read over
IMAP before the run), each once, byte for byte with LF line ends and nothing added;
the server holds what the mode says (default: nothing; --keep: everything; --keep-days
N: what was first downloaded less than N days ago by the client's clock, which
KASTEN_CLIENT_NOW moves). A failed run prints one line on stderr and creates nothing.

The damage cases: a proxy (client_proxy) cuts the connection at a sweep of byte counts
in both directions, or drops the one command that would delete (POP3 QUIT: the server
never enters the UPDATE state, RFC 1939 6; IMAP: the EXPUNGE), and the client is
killed with SIGKILL twice during a download of 2,000 messages, and once (strace) at the
point between a message's rename into new/ and its record in the journal; after each, a
rerun must end with every message once.
"""

import functools
import re
import subprocess

import pytest

from client_proxy import Proxy
from client_test import (CLIENT_LISTEN, Client, assert_same_messages, command_exists,
                         count_files, cut_points, dovecot_pool, downloaded, endpoint,  # noqa: F401
                         error_line, fast_tmp, kill9, local_files, mailserver,
                         sample_message, wait_pop3_free, wait_until)
from kasten_test import free_ports, kasten_bin

KASTEN_LISTEN = CLIENT_LISTEN
pytestmark = pytest.mark.skipif(not command_exists("fetch"),
                                reason="`kasten fetch` is not in this build yet")

DAY = 86400
T0 = 1_900_000_000  # the client's clock in the --keep-days cases (KASTEN_CLIENT_NOW)
# The command of each protocol that makes the server delete (the "lost QUIT" case).
DELETE_COMMAND = {"pop3": rb"^QUIT\r?\n$",
                  "imap": rb"^\S+ (UID EXPUNGE|EXPUNGE|CLOSE)\b"}


@functools.lru_cache(maxsize=None)
def protocol_supported(proto):
    """Whether this build's fetch knows --protocol proto: a usage error (exit 2) for the
    option says no; anything else (here: the closed port) says yes."""
    if not command_exists("fetch"):
        return False
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        pw = f"{d}/pw"
        with open(pw, "w") as f:
            f.write("x\n")
        r = subprocess.run([kasten_bin(), "fetch", "--host", "127.0.0.1", "--port",
                            str(free_ports(1)[0]), "--plain", "--protocol", proto,
                            "--user", "x", "--password-file", pw, "--maildir", f"{d}/m"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return r.returncode != 2


@pytest.fixture(params=["pop3", "imap"])
def proto(request):
    if not protocol_supported(request.param):
        pytest.skip(f"`kasten fetch --protocol {request.param}` is not in this build yet")
    return request.param


def fetch(cl, acct, proto, md, *extra, port=None, now=None, expect=0, **kw):
    """One `kasten fetch` run (port: the name of the listener, the protocol's own by
    default); returns the CompletedProcess."""
    return cl.run("fetch", *endpoint(acct, port or proto, **kw), "--protocol", proto,
                  "--maildir", md, *extra, now=now, expect=expect)


def settle(acct, proto):
    """After a run that ended badly: the server has let go of the session."""
    if proto == "pop3":
        wait_pop3_free(acct)


def put(acct, n, tag, sizes=(0,)):
    for i in range(n):
        acct.put(sample_message(i, tag, size=sizes[i % len(sizes)]))


def mids(msgs):
    return sorted(m.mid for m in msgs)


# ---- the three modes ----

def test_default_downloads_then_deletes(mailserver, proto, fast_tmp):
    """Every message downloaded byte-exact into new/ (LF line ends, nothing added to the
    header), then deleted on the server; tmp/ left empty. A \\Seen message is new too:
    what is new is decided by UIDL/UID, never by \\Seen."""
    acct, cl = mailserver, Client(fast_tmp)
    put(acct, 4, "def", sizes=(0, 300, 5000, 100_000))
    acct.put(sample_message(9, "def-seen"), flags="S")
    before = acct.messages()
    assert len(before) == 5
    md = fast_tmp / "does" / "not" / "exist"
    r = fetch(cl, acct, proto, md)
    assert downloaded(r.stdout) == 5, r.stdout
    assert_same_messages(md, before)
    assert acct.count() == 0
    assert list((md / "tmp").iterdir()) == []
    # nothing new: a second run downloads nothing and changes nothing
    r = fetch(cl, acct, proto, md)
    assert downloaded(r.stdout) == 0, r.stdout
    assert_same_messages(md, before)


def test_keep_leaves_mail_and_downloads_once(mailserver, proto, fast_tmp):
    acct, cl = mailserver, Client(fast_tmp)
    put(acct, 3, "keep", sizes=(0, 2000))
    before = acct.messages()
    md = fast_tmp / "mail"
    assert downloaded(fetch(cl, acct, proto, md, "--keep").stdout) == 3
    assert_same_messages(md, before)
    after = acct.messages()
    assert [(m.mid, m.body) for m in after] == [(m.mid, m.body) for m in before]
    assert downloaded(fetch(cl, acct, proto, md, "--keep").stdout) == 0
    assert_same_messages(md, before)
    acct.put(sample_message(7, "keep-late"))
    assert downloaded(fetch(cl, acct, proto, md, "--keep").stdout) == 1
    now = acct.messages()
    assert len(now) == 4
    assert_same_messages(md, now)


def test_keep_days_two(mailserver, proto, fast_tmp):
    """--keep-days 2: a message stays on the server until 2 days after the client first
    downloaded it and goes on the first run after that; one that came a day later goes
    a day later."""
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    put(acct, 2, "kd-first")
    first = acct.messages()
    assert downloaded(fetch(cl, acct, proto, md, "--keep-days", 2, now=T0).stdout) == 2
    acct.put(sample_message(0, "kd-second"))
    everything = acct.messages()
    second = [m for m in everything if m.mid not in mids(first)]
    r = fetch(cl, acct, proto, md, "--keep-days", 2, now=T0 + DAY)
    assert downloaded(r.stdout) == 1
    assert mids(acct.messages()) == mids(everything)
    assert downloaded(fetch(cl, acct, proto, md, "--keep-days", 2,
                            now=T0 + 2 * DAY - 60).stdout) == 0
    assert mids(acct.messages()) == mids(everything), "deleted before 2 days"
    assert downloaded(fetch(cl, acct, proto, md, "--keep-days", 2,
                            now=T0 + 2 * DAY + 60).stdout) == 0
    assert mids(acct.messages()) == mids(second), "the first two not deleted at 2 days"
    fetch(cl, acct, proto, md, "--keep-days", 2, now=T0 + 3 * DAY - 60)
    assert mids(acct.messages()) == mids(second)
    fetch(cl, acct, proto, md, "--keep-days", 2, now=T0 + 3 * DAY + 60)
    assert acct.count() == 0
    assert_same_messages(md, everything)


def test_keep_days_zero_deletes_on_the_next_run(mailserver, proto, fast_tmp):
    """--keep-days 0: kept by the run that downloads it, deleted by the next one; a
    message the client has not downloaded yet is never deleted."""
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    put(acct, 2, "kz")
    first = acct.messages()
    assert downloaded(fetch(cl, acct, proto, md, "--keep-days", 0, now=T0).stdout) == 2
    assert mids(acct.messages()) == mids(first)
    acct.put(sample_message(5, "kz-new"))
    everything = acct.messages()
    newer = [m for m in everything if m.mid not in mids(first)]
    assert downloaded(fetch(cl, acct, proto, md, "--keep-days", 0, now=T0).stdout) == 1
    assert mids(acct.messages()) == mids(newer)
    assert downloaded(fetch(cl, acct, proto, md, "--keep-days", 0, now=T0).stdout) == 0
    assert acct.count() == 0
    assert_same_messages(md, everything)


def test_three_runs_with_new_mail_between(mailserver, proto, fast_tmp):
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    seen = []
    for run, n in enumerate((2, 3, 1)):
        put(acct, n, f"three-{run}", sizes=(100, 7000))
        new = acct.messages()
        assert len(new) == n
        seen += new
        assert downloaded(fetch(cl, acct, proto, md).stdout) == n
        assert acct.count() == 0
        assert_same_messages(md, seen)


# ---- a cut connection, a lost QUIT, kill -9 ----

def test_cut_connection_sweep(mailserver, proto, fast_tmp):
    """The connection is cut at each point of a sweep (client -> server after every
    command line; server -> client all through the run); each time a rerun follows.
    Every round puts 3 new messages; at the end of each round the Maildir holds every
    message put so far exactly once and the server none."""
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    expected = []

    def round_(tag):
        put(acct, 3, tag, sizes=(200, 20_000, 500))
        new = acct.messages()
        assert len(new) == 3
        expected.extend(new)

    round_("cut-measure")
    with Proxy((acct.host, acct.ports[proto]), record=True) as p:
        assert downloaded(fetch(cl, acct, proto, md, proxy=p).stdout) == 3
    assert_same_messages(md, expected)
    assert len(p.streams) == 1, "fetch made more than one connection"
    points = cut_points(p.streams[0])
    for k, cut in enumerate(points):
        round_(f"cut-{k:02d}")
        with Proxy((acct.host, acct.ports[proto]), cut=cut) as p:
            fetch(cl, acct, proto, md, proxy=p, expect=None)
        assert p.cut_done, f"the run ended before the cut at {cut}"
        settle(acct, proto)
        fetch(cl, acct, proto, md)
        assert acct.count() == 0, f"cut at {cut}: left on the server"
        assert_same_messages(md, expected)


def test_lost_quit(mailserver, proto, fast_tmp):
    """The command that makes the server delete never reaches it (POP3 QUIT: no UPDATE
    state, RFC 1939 6; IMAP: the EXPUNGE) and the connection closes: every message is
    still on the server, and the rerun downloads none of them again but deletes them."""
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    put(acct, 3, "lostquit", sizes=(0, 3000))
    before = acct.messages()
    with Proxy((acct.host, acct.ports[proto]), drop=DELETE_COMMAND[proto]) as p:
        fetch(cl, acct, proto, md, proxy=p, expect=None)
    assert p.dropped, "the client never sent the deleting command"
    settle(acct, proto)
    assert mids(acct.messages()) == mids(before)
    assert_same_messages(md, before)
    r = fetch(cl, acct, proto, md)
    assert downloaded(r.stdout) == 0, r.stdout
    assert acct.count() == 0
    assert_same_messages(md, before)


KILL_MESSAGES = 2000


def test_kill9_twice_during_2000(mailserver, proto, fast_tmp):
    """SIGKILL during a download of 2,000 messages, once after a few hundred have
    arrived and again some hundreds later, then a run to the end: exactly the 2,000
    messages, each once and byte for byte; none left on the server. In the killed runs a
    proxy paces the server's bytes (the whole mailbox would take 3 s), so that the
    client is still at work when the Maildir has the files the test waits for, however
    fast it is."""
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    acct.deliver_many(KILL_MESSAGES, "kill9")
    before = acct.messages()
    assert len(before) == KILL_MESSAGES
    rate = sum(len(m.body) for m in before) // 3
    mark = 0
    for step in (300, 300):
        with Proxy((acct.host, acct.ports[proto]), rate=("s2c", rate)) as p:
            proc = cl.start("fetch", *endpoint(acct, proto, proxy=p), "--protocol", proto,
                            "--maildir", md)
            target = mark + step
            wait_until(lambda: count_files(md) >= target or proc.poll() is not None,
                       f"{target} files in the Maildir", timeout=120)
            assert proc.poll() is None, \
                f"fetch ended before the kill (exit {proc.returncode}, {count_files(md)} files)"
            kill9(proc)
        mark = count_files(md)
        assert mark < KILL_MESSAGES
        settle(acct, proto)
    fetch(cl, acct, proto, md)
    assert acct.count() == 0
    assert_same_messages(md, before)


BATCH = 256  # LIMIT_CLIENT_MAILDIR_BATCH: messages made durable together


def test_kill9_between_storing_and_recording(mailserver, proto, fast_tmp):
    """SIGKILL at the one point a random kill rarely hits: a batch of messages is
    renamed into new/ but the state does not say 'done' yet. strace injects the SIGKILL
    at the entry of the first batch's last rename (the contract of client_maildir.h's
    batched commit: the rows committed, the files flushed, the renames, one fsync of
    new/), so that BATCH - 1 files are in new/ and one is still in tmp/, all with
    'pending' rows. The rerun must take the files for what they are: every message
    once, and only the rest downloaded."""
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    acct.deliver_many(BATCH + 44, "window")
    before = acct.messages()
    assert len(before) == BATCH + 44
    args = ["fetch", *endpoint(acct, proto), "--protocol", proto, "--maildir", md]
    r = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=renameat",
                        "-e", f"inject=renameat:signal=SIGKILL:when={BATCH}",
                        kasten_bin(), *map(str, args)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=cl.env, timeout=120)
    assert r.returncode in (-9, 137), (r.returncode, r.stderr[-2000:])
    assert count_files(md) == BATCH - 1, \
        "the kill did not come right after the first batch was renamed"
    settle(acct, proto)
    assert mids(acct.messages()) == mids(before), "deleted before the end of the run"
    r = fetch(cl, acct, proto, md)
    assert downloaded(r.stdout) == len(before) - (BATCH - 1), r.stdout
    assert acct.count() == 0
    assert_same_messages(md, before)


# ---- refusals ----

def test_wrong_password(mailserver, proto, fast_tmp):
    acct, cl = mailserver, Client(fast_tmp)
    acct.put(sample_message(0, "wrongpw"))
    acct.password_file.write_text("not-the-password\n")
    md = fast_tmp / "mail"
    line = error_line(fetch(cl, acct, proto, md, expect=1), "fetch")
    assert re.search(r"login|auth|password|credential", line, re.I), line
    assert not md.exists(), "a failed login created the Maildir"
    assert acct.count() == 1


def test_unreachable_server(mailserver, proto, fast_tmp):
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    (closed,) = free_ports(1)
    r = cl.run("fetch", "--host", "127.0.0.1", "--port", closed, "--plain", "--protocol",
               proto, "--user", acct.user, "--password-file", acct.password_file,
               "--maildir", md, expect=1)
    line = error_line(r, "fetch")
    assert str(closed) in line, line
    assert not md.exists()


def test_tls_certificate_verified(mailserver, proto, fast_tmp):
    """--tls (RFC 8314) against the server's self-signed certificate: refused without
    --insecure (nothing changed locally or on the server), accepted with it; then
    --starttls --insecure on the plain port."""
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    put(acct, 2, "tls")
    before = acct.messages()
    line = error_line(fetch(cl, acct, proto, md, port=proto + "s", security="--tls",
                                  expect=1),
                      "fetch")
    assert re.search(r"certificate", line, re.I), line
    assert not md.exists()
    assert acct.count() == 2
    r = fetch(cl, acct, proto, md, "--insecure", port=proto + "s", security="--tls")
    assert downloaded(r.stdout) == 2
    assert_same_messages(md, before)
    acct.put(sample_message(3, "starttls"))
    later = acct.messages()
    r = fetch(cl, acct, proto, md, "--insecure", security="--starttls")
    assert downloaded(r.stdout) == 1
    assert_same_messages(md, before + later)


def test_state_belongs_to_account_not_host_alias(mailserver, proto, fast_tmp):
    """The same account fetched through 127.0.0.1 and then through localhost into the
    same Maildir is one account: nothing is downloaded twice."""
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    put(acct, 3, "alias")
    before = acct.messages()
    assert downloaded(fetch(cl, acct, proto, md, "--keep", host="127.0.0.1").stdout) == 3
    assert downloaded(fetch(cl, acct, proto, md, "--keep", host="localhost").stdout) == 0
    assert_same_messages(md, before)
    assert len(local_files(md)) == 3


def test_account_from_the_config_file(mailserver, proto, fast_tmp):
    """--account NAME: the settings from [account NAME] of ~/.config/kasten/client.conf,
    the password from password_command; an option on the command line wins over the
    file; a password command that fails is an error that changes nothing."""
    acct, cl = mailserver, Client(fast_tmp)
    md, other = fast_tmp / "mail", fast_tmp / "other"
    put(acct, 2, "conf")
    before = acct.messages()
    conf = cl.home / ".config" / "kasten" / "client.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(
        "[account other]\nhost = 127.0.0.1\nport = 1\n\n"
        f"[account work]\nhost = {acct.host}\nport = {acct.ports[proto]}\ntls = plain\n"
        f"user = {acct.user}\npassword_command = cat {acct.password_file}\n"
        f"maildir = {md}\nprotocol = {proto}\nkeep = yes\n"
        "[account broken]\nhost = 127.0.0.1\n"
        f"port = {acct.ports[proto]}\ntls = plain\nuser = {acct.user}\n"
        f"password_command = exit 3\nmaildir = {other}\nprotocol = {proto}\n")
    assert downloaded(cl.run("fetch", "--account", "work").stdout) == 2
    assert_same_messages(md, before)
    assert mids(acct.messages()) == mids(before), "keep = yes not applied"
    r = cl.run("fetch", "--account", "work", "--maildir", other)
    assert downloaded(r.stdout) == 2
    assert_same_messages(other, before)
    error_line(cl.run("fetch", "--account", "broken", expect=1), "fetch")
    assert mids(acct.messages()) == mids(before)


# ---- a real mail program reads what fetch wrote ----

def test_mutt_reads_the_maildir(mailserver, fast_tmp, tmp_path):
    """mutt (tmux, as tests/clients/test_imap_mutt.py runs it) opens the Maildir that a
    POP3 fetch wrote: every message in its index, a body in its pager."""
    from test_imap_mutt import MUTT, Tmux
    acct, cl = mailserver, Client(fast_tmp)
    md = fast_tmp / "mail"
    put(acct, 3, "mutt-read")
    assert downloaded(fetch(cl, acct, "pop3", md).stdout) == 3
    rc = tmp_path / "muttrc"
    rc.write_text(f'set folder = "{md}"\nset spoolfile = "{md}"\n'
                  'set mbox_type = Maildir\nset index_format = "%4C %Z %s"\n'
                  "set sort = subject\nset quit = yes\nset move = no\n"
                  "set mark_old = no\nset wait_key = no\nset help = no\n"
                  'set header_cache = ""\nset record = ""\n')
    exited = tmp_path / "mutt.exit"
    tm = Tmux(f"kasten-fetch-mutt-{acct.user.split('@')[0]}", tmp_path / "tmux.conf")
    try:
        tm.start(f"env HOME={cl.home} TERM=screen LANG=C.UTF-8 {MUTT} -n -F {rc} "
                 f"-f {md}; echo $? > {exited}")
        sc = tm.wait(lambda s: all(f"mutt-read {i}" in s for i in range(3)),
                     "the three messages in the index")
        assert re.search(r"^ +1 .*mutt-read 0", sc, re.M), sc
        tm.keys("Enter")
        tm.wait_text("Body of mutt-read 0.")
        tm.keys("q")
        tm.wait(lambda s: "mutt-read 2" in s and "Body of" not in s, "the index again")
        tm.keys("q")
        tm.wait(lambda s: exited.exists() and exited.read_text().endswith("\n"),
                "mutt exit")
        assert exited.read_text() == "0\n"
    finally:
        tm.kill()
