"""imap_clients: what the real-IMAP-client tests (tests/clients/test_imap_*.py) share.

A Target is one IMAP server a client is pointed at: kasten (the `server` fixture) or the
private Dovecot of tests/dovecot_test.py (the `dovecot` fixture), so that one scenario
runs against both and must end in the same state. The tests look at the server only
through IMAP (RawIMAP, read-only EXAMINE and BODY.PEEK) and at the client's local copy
only through its files, and compare the two as

    {folder: {Message-ID: (flags, message bytes)}}

Messages are matched by Message-ID (every test message has a unique one); \\Recent is
left out of the flags, since it belongs to one session, not to the message.
"""

import os
import re
from pathlib import Path

from kasten_test import RawIMAP, deliver, unique_user

PASSWORD = "Client-pass-42"
DOVECOT_USER, DOVECOT_PASSWORD = "u1", "dovecot-pass"
# Every folder both servers create for a new account (dovecot_test.SPECIAL).
DEFAULT_FOLDERS = {"INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"}
# Maildir info letters (maildir(5), "2," flags) and the IMAP system flags they stand for.
MAILDIR_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen",
                 "T": "\\Deleted"}
IMAP_TIMEOUT = 10


class Target:
    """One IMAP server under test and one account on it."""

    def __init__(self, name, host, port, user, password, tls_port=None, cert=None,
                 put=None, export=None):
        self.name, self.host, self.port = name, host, port
        self.user, self.password = user, password
        self.tls_port, self.cert = tls_port, cert
        self._put = put
        self.export = export  # kasten: folder -> [stored bytes] from `kasten export`

    def imap(self):
        c = RawIMAP(self.host, self.port, timeout=IMAP_TIMEOUT)
        c.login(self.user, self.password)
        return c

    def put(self, msg, folder="INBOX"):
        """A new message in `folder` that did not come over IMAP: an SMTP delivery for
        kasten (INBOX only), a file dropped into the Maildir for Dovecot."""
        self._put(msg, folder)


def kasten_target(server):
    address = unique_user("imc")
    server.user_add(address, PASSWORD)

    def put(msg, folder):
        assert folder == "INBOX", "kasten delivers to INBOX only"
        n = len(server.messages(address))
        deliver(server, address, msg)
        assert len(server.wait_messages(address, n + 1)) == n + 1

    return Target("kasten", server.host, server.ports["imap"], address, PASSWORD,
                  tls_port=server.ports.get("imaps"),
                  cert=server.data / "tls" / "cert.pem", put=put,
                  export=lambda folder: server.messages(address, folder))


def dovecot_target(dovecot):
    def put(msg, folder):
        dovecot.put(DOVECOT_USER, msg, folder=folder)

    return Target("dovecot", dovecot.host, dovecot.ports["imap"], DOVECOT_USER,
                  DOVECOT_PASSWORD, put=put)


def make_target(request):
    """For a fixture parametrized ["kasten", "dovecot"]: the same client scenario against
    kasten (the `server` fixture) and against Dovecot (the `dovecot` fixture)."""
    if request.param == "kasten":
        return kasten_target(request.getfixturevalue("server"))
    return dovecot_target(request.getfixturevalue("dovecot"))


# ---- IMAP helpers (RawIMAP) ----

def ok(c, command):
    st, un = c.cmd(command)
    assert re.match(rb"a\d+ OK", st), (command, st, un[-5:])
    return st, un


def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def append(c, folder, msg, flags=""):
    """APPEND with a synchronizing literal; returns the tagged OK line."""
    c.n += 1
    tag = f"a{c.n}"
    c.send(f"{tag} APPEND {quote(folder)} ({flags}) {{{len(msg)}}}\r\n")
    line = c.response()
    assert line.startswith(b"+"), line
    c.send(msg + b"\r\n")
    st, un = c.until(tag)
    assert st.startswith(f"{tag} OK".encode()), (st, un)
    return st


def list_folders(c):
    _, un = ok(c, 'LIST "" "*"')
    out = set()
    for line in un:
        m = re.match(rb'\* LIST \(([^)]*)\) (?:"[^"]*"|NIL) (.*)$', line)
        if not m or b"\\Noselect" in m.group(1) or b"\\NonExistent" in m.group(1):
            continue
        name = m.group(2)
        if name.startswith(b'"'):
            name = re.sub(rb'\\(.)', rb'\1', name[1:-1])
        out.add(name.decode())
    return out


_FETCH_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")
_FETCH_UID = re.compile(rb"UID (\d+)")
_FETCH_BODY = re.compile(rb"BODY\[\] \{(\d+)\}\r\n")


def parse_flags(text):
    if isinstance(text, bytes):
        text = text.decode()
    return frozenset(f for f in text.split() if f != "\\Recent")


def folder_messages(c, folder):
    """[(uid, flags, bytes)] of one folder, read with EXAMINE and BODY.PEEK[] (nothing
    on the server changes, not even \\Seen)."""
    ok(c, f"EXAMINE {quote(folder)}")
    _, un = ok(c, "UID FETCH 1:* (UID FLAGS BODY.PEEK[])")
    out = []
    for line in un:
        if not re.match(rb"\* \d+ FETCH ", line):
            continue
        m = _FETCH_BODY.search(line)
        assert m, line[:200]
        body = line[m.end():m.end() + int(m.group(1))]
        rest = line[:m.start()] + line[m.end() + int(m.group(1)):]
        out.append((int(_FETCH_UID.search(rest).group(1)),
                    parse_flags(_FETCH_FLAGS.search(rest).group(1)), body))
    ok(c, "CLOSE")
    return sorted(out)


def message_id(msg):
    m = re.search(rb"^Message-ID: *(<[^>\r\n]+>)\r?$", msg, re.M | re.I)
    assert m, f"no Message-ID in {msg[:300]!r}"
    return m.group(1).decode()


def keyed(messages):
    """{Message-ID: (flags, bytes)} from [(anything, flags, bytes)]; ids are unique."""
    out = {}
    for _, flags, body in messages:
        mid = message_id(body)
        assert mid not in out, f"{mid} twice"
        out[mid] = (flags, body)
    return out


def server_state(t, folders=None):
    """{folder: {Message-ID: (flags, bytes)}} of every folder on the server (or of
    `folders`)."""
    with t.imap() as c:
        names = list_folders(c) if folders is None else folders
        return {f: keyed(folder_messages(c, f)) for f in sorted(names)}


def flags_only(state):
    """{folder: {Message-ID: flags}}: a state without the message bytes."""
    return {f: {mid: fl for mid, (fl, _) in msgs.items()} for f, msgs in state.items()}


# ---- Maildir ----

def maildir_flags(filename):
    """The IMAP flags of a Maildir file name's ":2,FLAGS" info (none without info)."""
    if ":2," not in filename:
        return frozenset()
    info = filename.rsplit(":2,", 1)[1]
    return frozenset(MAILDIR_FLAGS[ch] for ch in info if ch in MAILDIR_FLAGS)


def is_maildir(path):
    return all((Path(path) / sub).is_dir() for sub in ("cur", "new", "tmp"))


def maildir_files(box):
    """[(path, flags, bytes)] of one Maildir folder (new/ and cur/)."""
    out = []
    for sub in ("new", "cur"):
        for p in sorted((Path(box) / sub).iterdir()):
            out.append((p, maildir_flags(p.name), p.read_bytes()))
    return out


def maildir_tree(root):
    """{folder name: path} of every Maildir below root, nested directories joined with
    "/" (mbsync's SubFolders Verbatim, offlineimap's sep = /)."""
    out = {}
    for dirpath, dirnames, _ in os.walk(root):
        if is_maildir(dirpath) and Path(dirpath) != Path(root):
            out[Path(os.path.relpath(dirpath, root)).as_posix()] = Path(dirpath)
        dirnames[:] = [d for d in dirnames if d not in ("cur", "new", "tmp")]
    return out


def maildir_state(root):
    """{folder: {Message-ID: (flags, bytes)}} of a Maildir tree with "/" nesting."""
    out = {}
    for name, box in maildir_tree(root).items():
        msgs = {}
        for _, flags, body in maildir_files(box):
            mid = message_id(body)
            assert mid not in msgs, f"{mid} twice in {box}"
            msgs[mid] = (flags, body)
        out[name] = msgs
    return out


def maildir_names(root):
    """Every message file name under root: a renamed file (a flag change) shows."""
    return sorted(str(p) for box in maildir_tree(root).values()
                  for p, _, _ in maildir_files(box))


def write_maildir_message(box, msg, flags="", name=None):
    """A message placed by a local mail program: cur/NAME:2,FLAGS (or new/NAME)."""
    box = Path(box)
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True, exist_ok=True)
    name = name or f"{os.getpid()}.{os.urandom(6).hex()}.kasten-test"
    path = box / "cur" / f"{name}:2,{flags}" if flags else box / "new" / name
    path.write_bytes(msg)
    return path


def set_maildir_flags(path, flags):
    """Rename a Maildir file to carry exactly `flags` (letters, sorted), in cur/."""
    path = Path(path)
    base = path.name.split(":2,", 1)[0]
    new = path.parent.parent / "cur" / f"{base}:2,{''.join(sorted(flags))}"
    path.rename(new)
    return new


def find_file(box, mid):
    """The one file in Maildir folder `box` whose Message-ID is `mid`."""
    hits = [p for p, _, body in maildir_files(box) if message_id(body) == mid]
    assert len(hits) == 1, f"{mid} in {box}: {hits}"
    return hits[0]


def lf(msg):
    return msg.replace(b"\r\n", b"\n")
