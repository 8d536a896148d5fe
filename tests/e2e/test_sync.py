"""One mailbox, three protocols, the webmail open in a real browser (issue 10, "How it
is shown"): SMTP delivery appears without reload; opening a message sets \\Seen, which
an IMAP session in IDLE is told (RFC 2177, RFC 3501 7.4.2) and another sees in FETCH
FLAGS; a delete in the webmail makes POP3's STAT drop (RFC 1939 5); a POP3 DELE + QUIT
(RFC 1939 6) removes the message from the open webmail; flags an IMAP client sets show
in the open list ("changes from other devices appear without reload")."""

import re
import time

from e2e_harness import idle
from kasten_test import wait_for


def subject_of(tag):
    return f"{tag} {time.time_ns()}"


def size_of(mail, user, email_id):
    got = mail.jmap(user, "Email/get", {"ids": [email_id], "properties": ["size"]})
    assert got["notFound"] == [], got
    return got["list"][0]["size"]


def test_delivered_mail_appears_without_reload(mail, browser):
    subject = subject_of("Fresh by SMTP")

    def deliver(_):
        mail.deliver(mail.alice, subject)
        return {"subject": subject}

    r = browser.run("sync.mjs#newMail", mail.base, sync={"deliver": deliver},
                    params={"user": mail.alice, "password": mail.password})["result"]
    assert r["kept"] is True, "the page was reloaded"
    ids = mail.jmap(mail.alice, "Email/query", {"filter": {"inMailbox": r["mailboxId"]}})["ids"]
    assert ids == [r["row"]["id"]], (ids, r)
    assert r["row"]["unread"] == "true", r
    assert r["unreadAfter"] == r["unreadBefore"] + 1 == 1, r
    # the storage bar grew by the message, as Quota/get counts it (RFC 9425 4.1)
    size = size_of(mail, mail.alice, r["row"]["id"])
    assert r["quotaAfter"]["used"] == r["quotaBefore"]["used"] + size, (r, size)
    assert r["quotaAfter"]["used"] == mail.used_bytes(mail.alice), r


def test_opening_sets_seen_for_imap_idle(mail, browser):
    subject = subject_of("Read me")
    mail.deliver(mail.alice, subject)
    watcher = idle(mail.imap(mail.alice))
    other = mail.imap(mail.alice)
    other.cmd("EXAMINE INBOX")
    _, before = other.cmd("FETCH 1 (FLAGS)")
    assert not any(b"\\Seen" in line for line in before), before
    seen = {}

    def opened(data):
        # RFC 2177: the IDLE session is told at once, as an untagged FETCH with FLAGS
        seen["idle"] = wait_for(watcher, rb"^\* 1 FETCH \(.*FLAGS \([^)]*\\Seen", seconds=20)

    r = browser.run("sync.mjs#openMessage", mail.base, sync={"opened": opened},
                    params={"user": mail.alice, "password": mail.password,
                            "subject": subject})["result"]
    assert subject in r["readerSubject"], r
    assert seen["idle"], seen
    watcher.send("DONE\r\n")
    status, _ = watcher.until("idle1")
    assert b" OK " in status, status
    # a second session's FETCH FLAGS (RFC 3501 6.4.5)
    other.cmd("NOOP")
    _, after = other.cmd("FETCH 1 (FLAGS)")
    assert any(re.search(rb"FLAGS \([^)]*\\Seen", line) for line in after), after
    keywords = mail.jmap(mail.alice, "Email/get", {"ids": [r["row"]["id"]],
                                                   "properties": ["keywords"]})["list"][0]
    assert keywords["keywords"].get("$seen") is True, keywords
    watcher.close()
    other.close()


def test_webmail_delete_drops_pop3_stat(mail, browser):
    subject = subject_of("Delete me")
    mail.deliver(mail.alice, subject_of("Stays"))
    mail.deliver(mail.alice, subject, body="x" * 3000 + "\r\n")
    n0, octets0 = mail.pop3_stat(mail.alice)
    assert n0 == 2
    got = {}

    def deleted(data):
        size = size_of(mail, mail.alice, data["id"])
        got["size"] = size
        deadline = time.monotonic() + 20
        while mail.pop3_stat(mail.alice) != (n0 - 1, octets0 - size):
            assert time.monotonic() < deadline, (mail.pop3_stat(mail.alice), n0, octets0, size)
            time.sleep(0.1)

    r = browser.run("sync.mjs#deleteMessage", mail.base, sync={"deleted": deleted},
                    params={"user": mail.alice, "password": mail.password,
                            "subject": subject})["result"]
    assert mail.pop3_stat(mail.alice) == (1, octets0 - got["size"])
    # the webmail's delete is a move to Trash (issue 10: "delete to Trash")
    trash = mail.mailbox_id(mail.alice, "trash")
    boxes = mail.jmap(mail.alice, "Email/get", {"ids": [r["row"]["id"]],
                                                "properties": ["mailboxIds"]})["list"][0]
    assert boxes["mailboxIds"] == {trash: True}, boxes


def pop3_find(c, subject):
    """The message number whose header has this subject (TOP n 0, RFC 1939 7)."""
    first = c.cmd("STAT")
    n = int(first.split()[1])
    for i in range(1, n + 1):
        line, head = c.cmd_multi(f"TOP {i} 0")
        assert line.startswith(b"+OK"), line
        if f"Subject: {subject}\r\n".encode() in head:
            return i
    raise AssertionError(f"no message with subject {subject} among {n}")


def test_pop3_delete_leaves_open_webmail(mail, browser):
    keep, remove = subject_of("Keep me"), subject_of("Downloaded and deleted")
    mail.deliver(mail.alice, keep)
    mail.deliver(mail.alice, remove)

    def pop3_delete(data):
        with mail.pop3(mail.alice) as c:
            i = pop3_find(c, remove)
            assert c.cmd(f"DELE {i}").startswith(b"+OK")
            assert c.cmd("QUIT").startswith(b"+OK")  # RFC 1939 6: the UPDATE state

    r = browser.run("sync.mjs#pop3Delete", mail.base, sync={"pop3-delete": pop3_delete},
                    params={"user": mail.alice, "password": mail.password,
                            "keep": keep, "remove": remove})["result"]
    assert r["noReload"] is True, "the page was reloaded"
    assert r["still"]["id"] == r["kept"]["id"], r
    got = mail.jmap(mail.alice, "Email/get", {"ids": [r["removed"]["id"]], "properties": ["id"]})
    assert got["notFound"] == [r["removed"]["id"]], got


def test_imap_flags_appear_without_reload(mail, browser):
    subject = subject_of("Flag me elsewhere")
    mail.deliver(mail.alice, subject)

    def imap_store(data):
        c = mail.imap(mail.alice)
        c.cmd("SELECT INBOX")
        status, _ = c.cmd("STORE 1 +FLAGS (\\Flagged \\Seen)")  # RFC 3501 6.4.6
        assert b" OK " in status, status
        c.close()

    r = browser.run("sync.mjs#imapFlags", mail.base, sync={"imap-store": imap_store},
                    params={"user": mail.alice, "password": mail.password,
                            "subject": subject})["result"]
    assert r["before"]["unread"] == "true", r
    assert r["noReload"] is True, "the page was reloaded"
