"""Compose and send in the webmail in a real browser, to a second local account who
receives it (issue 10, "How it is shown"); the sent copy is in Sent (RFC 8621 7.5:
onSuccessUpdateEmail moves it there)."""

import email
import email.policy
import re
import time


def fetch_by_subject(mail, user, subject, timeout=20):
    """The message with this subject in user's INBOX, over IMAP (RFC 3501 6.4.4 SEARCH,
    6.4.5 FETCH BODY.PEEK[]), once it has arrived."""
    c = mail.imap(user)
    try:
        deadline = time.monotonic() + timeout
        while True:
            c.cmd("SELECT INBOX")
            _, untagged = c.cmd(f'UID SEARCH SUBJECT "{subject}"')
            uids = [u for line in untagged if line.startswith(b"* SEARCH")
                    for u in line.split()[2:]]
            if uids:
                break
            assert time.monotonic() < deadline, f"{subject!r} did not reach {user}"
            time.sleep(0.2)
        assert len(uids) == 1, uids
        _, untagged = c.cmd(f"UID FETCH {uids[0].decode()} (BODY.PEEK[])")
        raw = next(line for line in untagged if b"FETCH" in line)
        m = re.search(rb"BODY\[\] \{(\d+)\}\r\n", raw)
        return email.message_from_bytes(raw[m.end():m.end() + int(m.group(1))],
                                        policy=email.policy.default)
    finally:
        c.close()


def sent_copy(mail, user, subject):
    sent = mail.mailbox_id(user, "sent")
    ids = mail.jmap(user, "Email/query", {"filter": {"inMailbox": sent}})["ids"]
    got = mail.jmap(user, "Email/get", {"ids": ids,
                                        "properties": ["subject", "keywords", "mailboxIds"]})
    return [e for e in got["list"] if e["subject"] == subject], sent


def send(mail, browser, subject, body, attachment=None):
    r = browser.run("compose.mjs#send", mail.base, params={
        "user": mail.alice, "password": mail.password, "to": mail.bob,
        "subject": subject, "body": body, "attachment": attachment})["result"]
    assert r["kind"] == "ok", r


def test_compose_send_to_second_account(mail, browser):
    subject = f"Lunch on Friday {time.time_ns()}"
    body = "Shall we meet at noon?\nAlice"
    send(mail, browser, subject, body)
    msg = fetch_by_subject(mail, mail.bob, subject)
    assert msg["Subject"] == subject
    assert [a.addr_spec for a in msg["From"].addresses] == [mail.alice]
    assert [a.addr_spec for a in msg["To"].addresses] == [mail.bob]
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "Shall we meet at noon?" in text and "Alice" in text, text
    copies, sent = sent_copy(mail, mail.alice, subject)
    assert len(copies) == 1, copies
    assert copies[0]["mailboxIds"] == {sent: True}, copies
    assert not copies[0]["keywords"].get("$draft"), copies


def test_compose_with_attachment(mail, browser):
    subject = f"The notes {time.time_ns()}"
    content = "line one\nline two: grüße\n"
    send(mail, browser, subject, "Attached.",
         {"name": "notes.txt", "type": "text/plain", "content": content})
    msg = fetch_by_subject(mail, mail.bob, subject)
    parts = [p for p in msg.iter_attachments() if p.get_filename() == "notes.txt"]
    assert len(parts) == 1, [p.get_filename() for p in msg.iter_attachments()]
    assert parts[0].get_content().replace("\r\n", "\n") == content
