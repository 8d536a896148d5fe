"""An HTML message that tries everything a mail can try, in the webmail in a real browser
(issue 10: HTML shown sanitized in a sandboxed iframe without allow-scripts under a
strict CSP; no script from a message ever runs; remote images blocked until the user
allows them for that message). Two layers, DOMPurify and the iframe's sandbox + CSP
(contract C6): the scripts would set markers (a window variable in the page and the
frame, document.title, a dialog) and reach the request-logging server (fetch, an image,
navigation); the remote image would be logged too. After "show remote images" the image
request does arrive: the log is shown to see loads."""

import time

from e2e_harness import BrowserError

ALLOWED_AFTER = {"/remote-image.png", "/css-bg.png"}


def html_message(to, subject, remote):
    html = f"""<!DOCTYPE html>
<html><head>
<meta http-equiv="refresh" content="0;url={remote}/meta-refresh">
<link rel="stylesheet" href="{remote}/remote.css">
<script>
try {{ top.__e2ePwned = 'script'; }} catch (e) {{}}
try {{ parent.__e2ePwned = 'script'; }} catch (e) {{}}
window.__e2ePwned = 'script';
document.title = 'pwned';
fetch('{remote}/script-fetch');
new Image().src = '{remote}/script-image';
alert('script');
</script>
</head>
<body onload="window.__e2ePwned='body-onload'; fetch('{remote}/body-onload')">
<p>Hello <b>HTML</b> world</p>
<img src="{remote}/remote-image.png" alt="remote image" width="16" height="16">
<img src="broken-e2e.png" onerror="top.__e2ePwned='onerror'; fetch('{remote}/onerror')">
<svg onload="top.__e2ePwned='svg-onload'; fetch('{remote}/svg-onload')"></svg>
<div style="background-image: url({remote}/css-bg.png); width: 16px; height: 16px"></div>
<a href="javascript:top.__e2ePwned='js-link';fetch('{remote}/js-link')">click me</a>
<form action="{remote}/form"><button>send</button></form>
<iframe src="javascript:parent.parent.__e2ePwned='iframe'"></iframe>
</body></html>
"""
    return (f"From: Mallory <mallory@sender.invalid>\r\nTo: <{to}>\r\n"
            f"Subject: {subject}\r\nMessage-ID: <html.{time.time_ns()}@test>\r\n"
            "Date: Sun, 22 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
            "\r\n" + html.replace("\n", "\r\n")).encode()


def assert_inert(state):
    """The frame still shows the message (no navigation away) and no script ran."""
    assert state["frameUrl"] == "about:srcdoc", state
    assert state.get("shown") is True, state
    assert state["top"] is None and state["frame"] is None, state
    assert "pwned" not in state["title"] and state["frameTitle"] != "pwned", state


def test_html_mail_runs_no_script_loads_nothing_remote(mail, browser):
    subject = f"Newsletter {time.time_ns()}"
    remote = mail.remote
    mail.deliver(mail.alice, subject, raw=html_message(mail.alice, subject, remote.url))

    def blocked(state):
        # the message is shown and its links were clicked: nothing reached the server
        assert remote.requests() == [], f"requests reached the remote server: {remote.requests()}"
        assert_inert(state)
        assert state["remoteImage"] is False, state

    def allowed(_):
        remote.wait_for("/remote-image.png")

    try:
        r = browser.run("html.mjs#htmlMessage", mail.base,
                        sync={"blocked": blocked, "allowed": allowed},
                        params={"user": mail.alice, "password": mail.password,
                                "subject": subject})["result"]
    except BrowserError as e:
        raise AssertionError(f"requests that reached the remote server: {remote.requests()}\n"
                             f"{e}") from None
    # the sandbox: at most popups (links open in a new tab), never scripts or same-origin
    assert r["sandbox"] is not None, r
    assert set(r["sandbox"].split()) <= {"allow-popups", "allow-popups-to-escape-sandbox"}, r
    assert_inert(r["allowed"])
    assert r["dialogs"] == [] and r["popups"] == [], r
    # after "show remote images": the image (and the CSS image) only; by then a script's
    # request, sent earlier, would have arrived before it
    paths = {p for _, p in remote.requests()}
    assert "/remote-image.png" in paths and paths <= ALLOWED_AFTER, paths


def simple_html(to, subject, text, image_url):
    return (f"From: <news@sender.invalid>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{time.time_ns()}@test>\r\nDate: Sun, 22 Nov 2026 08:00:00 +0000\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            f"<p>{text}</p><img src=\"{image_url}\" width=\"16\" height=\"16\">\r\n").encode()


def test_remote_images_allowed_for_that_message_only(mail, browser):
    """Issue 10: remote images blocked "until the user allows them for that message":
    the permission given to one message does not carry over to the next."""
    remote = mail.remote
    first, second = (f"{k} letter {time.time_ns()}" for k in ("First", "Second"))
    mail.deliver(mail.alice, first, raw=simple_html(mail.alice, first, "First message",
                                                    f"{remote.url}/one.png"))
    mail.deliver(mail.alice, second, raw=simple_html(mail.alice, second, "Second message",
                                                     f"{remote.url}/two.png"))

    def on_first(_):
        assert {p for _, p in remote.requests()} == {"/one.png"}, remote.requests()

    def on_second(state):
        assert {p for _, p in remote.requests()} == {"/one.png"}, remote.requests()
        assert state["frameUrl"] == "about:srcdoc" and state["image"] is False, state
        assert state["offered"] == 1, state  # the second message asks again

    browser.run("html.mjs#perMessage", mail.base,
                sync={"first": on_first, "second": on_second},
                params={"user": mail.alice, "password": mail.password,
                        "first": first, "second": second})


def test_link_in_mail_opens_new_tab(mail, browser):
    """A link in a message opens in a new tab (the frame's sandbox allows popups and
    nothing else), leaving the webmail and the message as they were. (No opener and no
    Referer come with it, but chromium's defaults for a sandboxed srcdoc frame and
    target=_blank already ensure both, so they are not what this test shows.)"""
    remote = mail.remote
    subject = f"Linked {time.time_ns()}"
    mail.deliver(mail.alice, subject, raw=(
        f"From: <news@sender.invalid>\r\nTo: <{mail.alice}>\r\nSubject: {subject}\r\n"
        f"Message-ID: <{time.time_ns()}@test>\r\nDate: Sun, 22 Nov 2026 08:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f"<p><a href=\"{remote.url}/landing\">Read more</a></p>\r\n").encode())
    r = browser.run("html.mjs#linkOpensTab", mail.base, params={
        "user": mail.alice, "password": mail.password, "subject": subject})["result"]
    assert r["attrs"]["target"] == "_blank", r
    assert r["opened"] == f"{remote.url}/landing", r
    assert r["pageUrl"].startswith(mail.base) and r["frameUrl"] == "about:srcdoc", r
    assert ("GET", "/landing") in remote.requests()
