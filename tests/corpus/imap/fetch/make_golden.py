#!/usr/bin/python3
"""make_golden.py: record Dovecot's FETCH answers for the IMAP corpus, for the items the
formatter's goldens (../NAME.golden) do not cover: RFC822.SIZE, BODY[] whole and with
partial ranges, the rev1 RFC822.HEADER and RFC822.TEXT, BINARY[section], BINARY.SIZE and
partial BINARY for the whole message and every part. tests/proto/test_imap_fetch_corpus.py
asks a real kasten the same and compares.

The Dovecot is the one ../make_golden.py runs (a private, loopback-only instance with
its own base_dir, every ../NAME.eml byte for byte as the only message of a Maildir
folder); this script only asks other items. Rerun by hand when the corpus grows:
    tests/corpus/imap/fetch/make_golden.py [NAME ...]

NAME.golden beside this script holds one block per item, in the order asked:
    "== " ITEM " " LEN LF  <LEN bytes>  LF   the raw protocol text after the item name
                                             ("{n}" CRLF and the octets, "~{n}" CRLF and
                                             the octets, or a number)
    "== " ITEM " NO" LF                      the FETCH was answered NO (NO [UNKNOWN-CTE])
ITEM is what was asked, BODY.PEEK and BINARY.PEEK written as BODY and BINARY. The
session is rev1 and the folder is EXAMINEd, so RFC822.TEXT sets no flag."""
import imaplib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.dirname(HERE)
sys.path.insert(0, CORPUS)
import make_golden as mg  # noqa: E402  (the Dovecot set-up and the response reader)


def skip_value(buf, i):
    """../make_golden.py's, and literal8 ("~{n}", RFC 3516) too."""
    if buf[i:i + 1] == b"~":
        return mg.skip_value(buf, i + 1)
    return mg.skip_value(buf, i)


def fetch_items(m, items):
    """Ask for each item on its own; [(item, raw value or "NO")]."""
    out = []
    for n, item in enumerate(items):
        tag = b"G%d" % n
        m.send(tag + b" FETCH 1 (" + item.encode() + b")\r\n")
        untagged, status = mg.read_response(m, tag)
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
                k = skip_value(body, j + 1)
                if body[i:j].upper() not in (b"FLAGS", b"UID"):
                    value = body[j + 1:k]
                i = k + 1 if body[k:k + 1] == b" " else k
        if value is None:
            raise SystemExit("make_golden: no value for %s" % item)
        out.append((item, value))
    return out


def items_for(bodystructure, size):
    bs, _ = mg.parse_list(bodystructure)
    secs = []
    mg.parts_of_message(bs, [], secs)
    items = ["RFC822.SIZE", "BODY.PEEK[]", "BODY.PEEK[]<0.10>", "BODY.PEEK[]<7.30>",
             "BODY.PEEK[]<%d.100>" % max(size - 5, 0), "BODY.PEEK[]<%d.5>" % (size + 10),
             "BODY.PEEK[TEXT]<2.20>", "BODY.PEEK[HEADER.FIELDS (From Subject)]<3.15>",
             "RFC822.HEADER", "RFC822.TEXT", "BINARY.PEEK[]", "BINARY.SIZE[]"]
    for num, _ in secs:
        s = ".".join(str(x) for x in num)
        items += ["BINARY.PEEK[%s]" % s, "BINARY.SIZE[%s]" % s, "BINARY.PEEK[%s]<1.6>" % s]
    return items


def golden_one(m, name):
    typ, _ = m.select('"%s"' % mg.folder_for(name), readonly=True)
    if typ != "OK":
        raise SystemExit("make_golden: cannot select %s" % name)
    size = os.path.getsize(os.path.join(CORPUS, name + ".eml"))
    first = fetch_items(m, ["BODYSTRUCTURE"])[0][1]
    results = fetch_items(m, items_for(first, size))
    with open(os.path.join(HERE, name + ".golden"), "wb") as f:
        for item, value in results:
            label = item.replace(".PEEK[", "[").encode()
            if value == "NO":
                f.write(b"== " + label + b" NO\n")
            else:
                f.write(b"== %s %d\n%s\n" % (label, len(value), value))
    m.close()


def main():
    if not os.access("/usr/sbin/dovecot", os.X_OK):
        raise SystemExit("make_golden: /usr/sbin/dovecot missing (Debian's dovecot-imapd)")
    names = sys.argv[1:] or sorted(f[:-4] for f in os.listdir(CORPUS) if f.endswith(".eml"))
    root = os.geteuid() == 0
    run_user = "nobody" if root else pwd.getpwuid(os.getuid()).pw_name
    pw = pwd.getpwnam(run_user)
    group = "nogroup" if root else run_user
    d = tempfile.mkdtemp(prefix="kasten-golden-")
    pid = None
    try:
        for sub in ("run", "state", "home"):
            os.makedirs(os.path.join(d, sub))
        port = mg.free_port()
        conf = os.path.join(d, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(mg.dovecot_conf(d, port, run_user, group, pw.pw_uid, pw.pw_gid))
        mg.put_messages(d, names)
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
        mg.wait_port(port)
        m = imaplib.IMAP4("127.0.0.1", port)
        m.login(mg.USER, mg.PASS)
        for name in names:
            golden_one(m, name)
        m.logout()
        print("make_golden: %d FETCH golden files written" % len(names))
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
