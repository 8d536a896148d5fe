"""The webmail's list and reader in a real browser (issue 10, item 4: folders, list,
multi-select, sort, conversation view, reading, mark read/unread, flag, move also by
drag and drop, delete to Trash, empty Trash, junk, search, keyboard shortcuts, English
and German). Every action is checked on the server through JMAP (RFC 8621 4.1.1
keywords, 4.1.2 mailboxIds), not only in the page."""

import re
import time

from kasten_test import make_message


def stamp(tag):
    return f"{tag} {time.time_ns()}"


def keywords_of(mail, user, subject):
    """{keyword: True} and mailboxIds of the message with this subject, or None."""
    ids = mail.jmap(user, "Email/query", {"filter": {"subject": subject}})["ids"]
    if not ids:
        return None
    e = mail.jmap(user, "Email/get", {"ids": ids, "properties": ["keywords", "mailboxIds"]})
    return e["list"][0]


def test_actions_on_selection_and_open_message(mail, browser):
    a = mail.alice
    subjects = [stamp(f"Act {i}") for i in range(1, 5)]
    for s in subjects:
        mail.deliver(a, s)
    box = {role: mail.mailbox_id(a, role) for role in ("inbox", "archive", "junk", "trash")}
    s1, s2, s3, s4 = subjects

    def read(d):
        for s in d["read"]:
            assert keywords_of(mail, a, s)["keywords"].get("$seen") is True, s
        assert "$seen" not in keywords_of(mail, a, d["unread"])["keywords"]

    def flagged(_):
        k = keywords_of(mail, a, s2)["keywords"]
        assert k.get("$flagged") is True and "$seen" not in k, k

    def moved(_):
        assert keywords_of(mail, a, s1)["mailboxIds"] == {box["archive"]: True}

    def dragged(_):
        assert keywords_of(mail, a, s3)["mailboxIds"] == {box["trash"]: True}

    def junked(_):
        e = keywords_of(mail, a, s4)
        assert e["mailboxIds"] == {box["junk"]: True} and e["keywords"].get("$junk") is True, e

    def notjunk(_):
        e = keywords_of(mail, a, s4)
        assert e["mailboxIds"] == {box["inbox"]: True}, e
        assert e["keywords"].get("$notjunk") is True and "$junk" not in e["keywords"], e

    def deleted(_):
        assert keywords_of(mail, a, s2)["mailboxIds"] == {box["trash"]: True}

    r = browser.run("reading.mjs#actions", mail.base,
                    params={"user": a, "password": mail.password, "subjects": subjects,
                            "archive": box["archive"]},
                    sync={"read": read, "flagged": flagged, "moved": moved, "dragged": dragged,
                          "junked": junked, "deleted": deleted,
                          "notjunk": notjunk})["result"]
    assert r["selected"] == 3, r  # Shift+click took the range
    # Empty Trash destroyed both (RFC 8621 4.6: destroy), the others are where they went
    assert keywords_of(mail, a, s2) is None and keywords_of(mail, a, s3) is None
    assert mail.jmap(a, "Email/query", {"filter": {"inMailbox": box["trash"]}})["ids"] == []
    assert keywords_of(mail, a, s1)["mailboxIds"] == {box["archive"]: True}


def test_keys_sort_threads_and_search(mail, browser):
    a = mail.alice
    word = f"zebrafish{time.time_ns() % 100000}"
    small, big, found = stamp("Small"), stamp("Big"), stamp("Has the word")
    mail.deliver(a, small, body="s\r\n")
    mail.deliver(a, big, body="b" * 5000 + "\r\n")
    mail.deliver(a, found, body=f"The {word} swims.\r\n")
    topic = stamp("Topic")
    first = make_message(topic, sender="carol@sender.invalid", rcpt=a)
    mid = re.search(rb"Message-ID: (<[^>]+>)", first).group(1)
    mail.deliver(a, topic, raw=first)
    mail.deliver(a, "Re: " + topic, extra=b"In-Reply-To: " + mid + b"\r\nReferences: " + mid + b"\r\n")
    subjects = [small, big, found, topic, "Re: " + topic]
    r = browser.run("reading.mjs#browse", mail.base,
                    params={"user": a, "password": mail.password, "subjects": subjects,
                            "thread": topic, "word": word, "found": found})["result"]
    assert r["helpRows"] >= 14, r
    assert r["sizes"] == sorted(r["sizes"], reverse=True), r
    assert r["count"] == "2", r
    assert r["results"] == [found], r   # full text (store_search), across mailboxes
    assert r["where"] == ["Inbox"], r   # a result says which folder it is in


def test_german_ui(mail, browser):
    r = browser.run("reading.mjs#german", mail.base, locale="de-DE",
                    params={"user": mail.alice, "password": mail.password})["result"]
    assert r["lang"] == "de", r
    assert r["login"] == "Anmelden", r
    assert r["error"] == "E-Mail-Adresse oder Passwort ist falsch.", r
    assert r["inbox"].startswith("Posteingang"), r
    assert r["search"] == "Suchen", r


def test_session_ended_elsewhere_shows_the_login(mail, browser):
    """A session that ends (here: POST /jmap/logout with its cookie and CSRF token, as a
    second tab would) takes the page back to the login with a note, not to a broken
    view."""
    import http.client
    import json

    def expire(d):
        headers = {"Cookie": f"kasten_session={d['cookie']}"}
        c = http.client.HTTPConnection(mail.server.host, mail.server.ports["http"], timeout=10)
        c.request("GET", "/jmap/session", headers=headers)
        csrf = json.loads(c.getresponse().read())["csrfToken"]
        c.request("POST", "/jmap/logout", body=b"", headers={**headers, "X-CSRF-Token": csrf})
        r = c.getresponse()
        r.read()
        c.close()
        assert r.status == 204, r.status

    r = browser.run("reading.mjs#expiry", mail.base, sync={"expire": expire},
                    params={"user": mail.alice, "password": mail.password})["result"]
    assert r == {"error": "Your session has ended. Please sign in again.", "form": True}, r
