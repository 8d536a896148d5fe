#!/usr/bin/python3
"""make_golden.py: record Dovecot's answers for the IMAP formatting corpus.

For every NAME.eml beside this script, a private, loopback-only Dovecot (Debian's
dovecot-imapd, started as `dovecot -c CONF` with its own base_dir and state under a
temporary directory, as bench/lib.sh's dovecot_setup does) gets the message as the
only file of a Maildir folder of its own (byte for byte, so bare LF and missing final
newlines stay as they are), and is asked over IMAP for ENVELOPE, BODYSTRUCTURE, BODY
and the body sections that exist (and a few that do not). The answers go to
NAME.golden, which tests/unit/test_imap_fmt.c compares with kasten's output.

Rerun by hand when the corpus grows (not part of make check):
    tests/corpus/imap/make_golden.py [NAME ...]

NAME.golden holds one block per fetch item, in the order asked:
    "== " ITEM " " LEN LF  <LEN bytes>  LF      the item's value
    "== " ITEM " NIL" LF                         the server sent NIL
    "== " ITEM " NO" LF                          the FETCH was refused (NO/BAD)
ITEM is what was asked (BODY.PEEK[...] written as BODY[...]). For ENVELOPE,
BODYSTRUCTURE and BODY the value is the raw protocol text after the item name, literals
included; for a section it is the section's content (the literal's or quoted string's
bytes).
"""
import imaplib
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
USER = "golden"
PASS = "golden-pass"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("make_golden: dovecot did not listen on %d" % port)


def dovecot_conf(d, port, run_user, run_group, uid, gid):
    with open(os.path.join(d, "users"), "w") as f:
        f.write("%s:{PLAIN}%s:%d:%d::%s/home::\n" % (USER, PASS, uid, gid, d))
    return """base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = {u}
default_internal_group = {g}
default_login_user = {u}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:{d}/home/Maildir
first_valid_uid = 0
first_valid_gid = 0
passdb {{
  driver = passwd-file
  args = {d}/users
}}
userdb {{
  driver = passwd-file
  args = {d}/users
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""".format(d=d, u=run_user, g=run_group, port=port)


def folder_for(name):
    # Maildir++ uses "." as the hierarchy separator; corpus names have none.
    return name.replace(".", "_")


def put_messages(d, names):
    root = os.path.join(d, "home", "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    for i, name in enumerate(names):
        box = os.path.join(root, "." + folder_for(name))
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(box, sub), exist_ok=True)
        shutil.copyfile(os.path.join(HERE, name + ".eml"),
                        os.path.join(box, "cur", "%d.golden%d.host:2,S" % (1700000000 + i, i)))


# ---- reading the raw FETCH response ----

def read_response(m, tag):
    """Untagged lines (each with its literals joined in) and the tagged status."""
    untagged = []
    while True:
        line = m.readline()
        if not line:
            raise SystemExit("make_golden: connection closed")
        while True:
            lit = re.search(rb"\{(\d+)\}\r\n$", line)
            if not lit:
                break
            line += m.read(int(lit.group(1)))
            line += m.readline()
        if line.startswith(tag + b" "):
            return untagged, line.split(b" ", 2)[1]
        untagged.append(line)


def skip_value(buf, i):
    """Index after the IMAP value starting at buf[i]."""
    c = buf[i:i + 1]
    if c == b"(":
        depth = 0
        while True:
            c = buf[i:i + 1]
            if c == b"(":
                depth += 1
                i += 1
            elif c == b")":
                depth -= 1
                i += 1
                if depth == 0:
                    return i
            elif c == b'"' or c == b"{":
                i = skip_value(buf, i)
            else:
                i += 1
    if c == b'"':
        i += 1
        while buf[i:i + 1] != b'"':
            i += 2 if buf[i:i + 1] == b"\\" else 1
        return i + 1
    if c == b"{":
        m = re.compile(rb"\{(\d+)\}\r\n").match(buf, i)
        return m.end() + int(m.group(1))
    m = re.compile(rb"[^ ()]+").match(buf, i)
    return m.end()


def string_content(v):
    if v == b"NIL":
        return None
    if v.startswith(b'"'):
        return re.sub(rb"\\(.)", rb"\1", v[1:-1])
    m = re.match(rb"\{(\d+)\}\r\n", v)
    return v[m.end():]


def fetch_items(m, items):
    """Ask for each item on its own; return [(item, value or None or 'NO')]."""
    out = []
    for n, item in enumerate(items):
        tag = b"G%d" % n
        m.send(tag + b" FETCH 1 (" + item.encode() + b")\r\n")
        untagged, status = read_response(m, tag)
        if status != b"OK":
            out.append((item, "NO"))
            continue
        value = None
        for line in untagged:
            if not line.startswith(b"* 1 FETCH ("):
                continue
            body = line[len(b"* 1 FETCH ("):]
            i = 0
            while i < len(body) and body[i:i + 1] != b")":
                j = i
                while body[j:j + 1] not in (b" ", b"["):
                    j += 1
                if body[j:j + 1] == b"[":
                    j = body.index(b"]", j) + 1
                    if body[j:j + 1] == b"<":
                        j = body.index(b">", j) + 1
                name = body[i:j]
                k = skip_value(body, j + 1)
                if name.upper() != b"FLAGS":
                    value = body[j + 1:k]
                i = k + 1 if body[k:k + 1] == b" " else k
        if value is None:
            raise SystemExit("make_golden: no value for %s" % item)
        out.append((item, value))
    return out


# ---- which items to ask ----

def parse_list(buf, i=0):
    """A BODYSTRUCTURE value as nested Python lists of bytes/None."""
    assert buf[i:i + 1] == b"("
    i += 1
    items = []
    while buf[i:i + 1] != b")":
        if buf[i:i + 1] == b" ":
            i += 1
            continue
        if buf[i:i + 1] == b"(":
            sub, i = parse_list(buf, i)
            items.append(sub)
            continue
        j = skip_value(buf, i)
        items.append(string_content(buf[i:j]) if buf[i:i + 1] in (b'"', b"{") else
                     (None if buf[i:j] == b"NIL" else buf[i:j]))
        i = j
    return items, i + 1


def is_multipart(bs):
    return isinstance(bs[0], list)


def is_message(bs):
    return (not is_multipart(bs) and (bs[0] or b"").lower() == b"message" and
            (bs[1] or b"").lower() == b"rfc822" and len(bs) > 8 and isinstance(bs[8], list))


def children(bs):
    """A multipart's parts: the lists before its subtype."""
    out = []
    for c in bs:
        if not isinstance(c, list):
            break
        out.append(c)
    return out


def add_part(num, bs, out):
    """Part num (a list of numbers) with structure bs, and everything below it."""
    out.append((num, is_message(bs)))
    if is_multipart(bs):
        for k, child in enumerate(children(bs)):
            add_part(num + [k + 1], child, out)
    elif is_message(bs):
        parts_of_message(bs[8], num, out)


def parts_of_message(bs, prefix, out):
    """The parts of a message whose body has structure bs: a multipart's children, or
    part 1 for a single-part body (RFC 9051 6.4.5)."""
    if is_multipart(bs):
        for k, child in enumerate(children(bs)):
            add_part(prefix + [k + 1], child, out)
    else:
        add_part(prefix + [1], bs, out)


HEADER_FIELDS = "HEADER.FIELDS (From To Subject content-TYPE X-Not-There)"
HEADER_NOT = "HEADER.FIELDS.NOT (Subject Received MIME-Version)"


def items_for(bodystructure):
    items = ["ENVELOPE", "BODYSTRUCTURE", "BODY",
             "BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]",
             "BODY.PEEK[%s]" % HEADER_FIELDS, "BODY.PEEK[%s]" % HEADER_NOT]
    bs, _ = parse_list(bodystructure)
    secs = []
    parts_of_message(bs, [], secs)
    nums = set()
    for num, is_msg in secs:
        s = ".".join(str(x) for x in num)
        nums.add(s)
        items += ["BODY.PEEK[%s]" % s, "BODY.PEEK[%s.MIME]" % s]
        if is_msg:
            items += ["BODY.PEEK[%s.HEADER]" % s, "BODY.PEEK[%s.TEXT]" % s,
                      "BODY.PEEK[%s.%s]" % (s, HEADER_FIELDS)]
    # HEADER and TEXT of the first part that is not a message (RFC 9051 6.4.5 allows
    # them only after a message/rfc822 part)
    plain = [num for num, is_msg in secs if not is_msg]
    if plain:
        s = ".".join(str(x) for x in plain[0])
        items += ["BODY.PEEK[%s.HEADER]" % s, "BODY.PEEK[%s.TEXT]" % s]
    # parts that do not exist (RFC 9051 6.4.5)
    top = max(int(s.split(".")[0]) for s in nums)
    for s in ("%d" % (top + 1), "1.%d" % 99, "%d.HEADER" % (top + 1)):
        if s.split(".HEADER")[0] not in nums:
            items.append("BODY.PEEK[%s]" % s)
    return items


def golden_one(m, name):
    typ, _ = m.select('"%s"' % folder_for(name), readonly=True)
    if typ != "OK":
        raise SystemExit("make_golden: cannot select %s" % name)
    first = fetch_items(m, ["BODYSTRUCTURE"])[0][1]
    results = fetch_items(m, items_for(first))
    with open(os.path.join(HERE, name + ".golden"), "wb") as f:
        for item, value in results:
            label = item.replace("BODY.PEEK[", "BODY[").encode()
            if value == "NO":
                f.write(b"== " + label + b" NO\n")
                continue
            if item.startswith("BODY.PEEK["):
                value = string_content(value)
            if value is None:
                f.write(b"== " + label + b" NIL\n")
            else:
                f.write(b"== %s %d\n%s\n" % (label, len(value), value))
    m.close()


def main():
    if not os.access("/usr/sbin/dovecot", os.X_OK):
        raise SystemExit("make_golden: /usr/sbin/dovecot missing (Debian's dovecot-imapd)")
    names = sys.argv[1:] or sorted(f[:-4] for f in os.listdir(HERE) if f.endswith(".eml"))
    root = os.geteuid() == 0
    run_user = "nobody" if root else pwd.getpwuid(os.getuid()).pw_name
    pw = pwd.getpwnam(run_user)
    group = "nogroup" if root else run_user
    d = tempfile.mkdtemp(prefix="kasten-golden-")
    pid = None
    try:
        for sub in ("run", "state", "home"):
            os.makedirs(os.path.join(d, sub))
        port = free_port()
        conf = os.path.join(d, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(dovecot_conf(d, port, run_user, group, pw.pw_uid, pw.pw_gid))
        put_messages(d, names)
        runner = []
        if root:
            os.chmod(d, 0o755)
            for dirpath, dirnames, filenames in os.walk(d):
                for x in dirnames + filenames:
                    os.chown(os.path.join(dirpath, x), pw.pw_uid, pw.pw_gid)
            os.chown(d, pw.pw_uid, pw.pw_gid)
            runner = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        subprocess.run(runner + ["/usr/sbin/dovecot", "-c", conf], check=True)
        pidfile = os.path.join(d, "run", "master.pid")
        deadline = time.monotonic() + 15
        while not (os.path.exists(pidfile) and os.path.getsize(pidfile)):
            if time.monotonic() > deadline:
                raise SystemExit("make_golden: dovecot did not start")
            time.sleep(0.1)
        pid = int(open(pidfile).read())
        wait_port(port)
        m = imaplib.IMAP4("127.0.0.1", port)
        m.login(USER, PASS)
        for name in names:
            golden_one(m, name)
        m.logout()
        print("make_golden: %d golden files written" % len(names))
    finally:
        if pid:
            os.kill(pid, 15)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
