"""Logging in to the webmail in a real browser (issue 10, webmail: log in / log out;
security: the session cookie HttpOnly + SameSite=Strict)."""

from jmap_test import http_request


def session_status(mail, token):
    """The status of GET /jmap/session with this webmail token as Bearer (RFC 6750)."""
    return http_request(mail.server, "GET", "/jmap/session",
                        headers={"Authorization": "Bearer " + token})[0]


def test_login_wrong_password_logout(mail, browser):
    r = browser.run("login.mjs#loginLogout", mail.base,
                    params={"user": mail.alice, "password": mail.password})["result"]
    # a wrong password: an error, no folders, no session cookie
    assert r["wrong"]["error"], r
    assert r["wrong"]["folders"] == 0, r
    assert "kasten_session" not in r["wrong"]["cookies"], r
    # logged in: exactly the account's mailboxes (Mailbox/get), the Inbox among them
    boxes = mail.jmap(mail.alice, "Mailbox/get", {"properties": ["role"]})["list"]
    assert sorted(f["id"] for f in r["folders"]) == sorted(b["id"] for b in boxes), r
    assert {"id": mail.mailbox_id(mail.alice, "inbox"), "role": "inbox"} in r["folders"]
    # RFC 6265 4.1.2.6, draft-ietf-httpbis-rfc6265bis 4.1.2.7: script and other sites
    # never see or send it
    assert r["cookie"]["httpOnly"] is True and r["cookie"]["sameSite"] == "Strict", r
    # logged out: the form again after a reload, and the token is dead on the server
    assert r["after"]["folders"] == 0, r
    assert r["after"]["cookie"] != r["cookie"]["value"], r
    assert session_status(mail, r["cookie"]["value"]) == 401
