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


def in_mailbox(mail, user, role, subject):
    """The Emails with this subject in the mailbox of this role (JMAP)."""
    box = mail.mailbox_id(user, role)
    ids = mail.jmap(user, "Email/query", {"filter": {"inMailbox": box}})["ids"]
    got = mail.jmap(user, "Email/get", {"ids": ids, "properties": ["subject", "keywords"]})
    return [e for e in got["list"] if e["subject"] == subject]


def test_compose_draft_saved_resumed_sent(mail, browser):
    """Issue 10: "drafts saved to Drafts" (RFC 8621 4.1.1 $draft); the draft resumed from
    its route is the one sent, and it leaves Drafts."""
    subject = f"Half-written {time.time_ns()}"

    def saved(status):
        assert status["kind"] == "ok", status
        drafts = in_mailbox(mail, mail.alice, "drafts", subject)
        assert len(drafts) == 1 and drafts[0]["keywords"].get("$draft") is True, drafts
        return {"id": drafts[0]["id"]}

    r = browser.run("compose.mjs#draftThenSend", mail.base, sync={"saved": saved}, params={
        "user": mail.alice, "password": mail.password, "to": mail.bob, "subject": subject,
        "body": "To be continued."})["result"]
    assert r["resumed"]["subject"] == subject and mail.bob in r["resumed"]["to"], r
    assert "To be continued." in r["resumed"]["body"], r
    assert r["sent"]["kind"] == "ok", r
    msg = fetch_by_subject(mail, mail.bob, subject)
    assert "To be continued." in msg.get_body(preferencelist=("plain",)).get_content()
    assert in_mailbox(mail, mail.alice, "drafts", subject) == []
    assert len(in_mailbox(mail, mail.alice, "sent", subject)) == 1


def test_compose_reply(mail, browser):
    """A reply to bob's message: To and "Re:" filled in, In-Reply-To/References to the
    original (RFC 5322 3.6.4), the original marked $answered (RFC 8621 4.1.1)."""
    subject = f"Question {time.time_ns()}"
    mid = f"<question.{time.time_ns()}@example.test>"
    mail.deliver(mail.alice, subject, sender=mail.bob, raw=(
        f"From: Bob <{mail.bob}>\r\nTo: <{mail.alice}>\r\nSubject: {subject}\r\n"
        f"Message-ID: {mid}\r\nDate: Sun, 22 Nov 2026 08:00:00 +0000\r\n\r\n"
        "Are you coming?\r\n").encode())
    def sent(status):
        assert status["kind"] == "ok", status
        deadline = time.monotonic() + 20
        while True:
            original = in_mailbox(mail, mail.alice, "inbox", subject)
            if original and original[0]["keywords"].get("$answered") is True:
                return
            assert time.monotonic() < deadline, f"the original is not $answered: {original}"
            time.sleep(0.1)

    r = browser.run("compose.mjs#reply", mail.base, sync={"sent": sent}, params={
        "user": mail.alice, "password": mail.password, "subject": subject,
        "answer": "Yes, I am."})["result"]
    assert mail.bob in r["prefilled"]["to"], r
    assert r["prefilled"]["subject"] == f"Re: {subject}", r
    assert r["sent"]["kind"] == "ok", r
    msg = fetch_by_subject(mail, mail.bob, f"Re: {subject}")
    assert msg["In-Reply-To"] == mid, msg["In-Reply-To"]
    assert mid in msg["References"], msg["References"]
    assert "Yes, I am." in msg.get_body(preferencelist=("plain",)).get_content()
    original = in_mailbox(mail, mail.alice, "inbox", subject)
    assert len(original) == 1 and original[0]["keywords"].get("$answered") is True, original
