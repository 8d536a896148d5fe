"""The webmail's inbox at desktop (1280x800) and phone (390x844) size, screenshots saved
as test artifacts (tests/e2e/artifacts/<test>-<size>.png); the phone shows one pane at a
time; the keyboard shortcuts j/k/o; the German UI from the browser's language (issue 10,
webmail: "keyboard shortcuts", "works on a phone-sized screen", "UI in English and
German, chosen from the browser's language")."""

import re
import time
from pathlib import Path

from e2e_harness import ARTIFACTS, REPO


def deliver_three(mail):
    subjects = [f"Layout {k} {time.time_ns()}" for k in ("one", "two", "three")]
    for s in subjects:
        mail.deliver(mail.alice, s, sender="dora@sender.invalid")
    return subjects


def test_inbox_screenshots_desktop_and_phone(mail, browser):
    subjects = deliver_three(mail)
    params = {"user": mail.alice, "password": mail.password, "subjects": subjects}
    desk = browser.run("layout.mjs#inbox", mail.base, params=params, size="desktop")
    phone = browser.run("layout.mjs#inbox", mail.base, params=params, size="phone")
    for size in ("desktop", "phone"):
        shot = ARTIFACTS / f"{browser.test_name}-{size}.png"
        assert shot.stat().st_size > 1000, shot
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot
    d, p = desk["result"], phone["result"]
    assert d["listed"]["rows"] == p["listed"]["rows"] == 3, (d, p)
    assert d["listed"]["listVisible"] and d["listed"]["fits"], d
    # the phone: the list without the reader, then the reader without the list
    assert p["listed"] == {"rows": 3, "listVisible": True, "readerVisible": False,
                           "fits": True}, p
    assert p["reading"] == {"listVisible": False, "readerVisible": True, "fits": True}, p
    assert d["reading"]["readerVisible"], d


def test_keyboard_j_k_o(mail, browser):
    subjects = deliver_three(mail)
    r = browser.run("layout.mjs#keyboard", mail.base, params={
        "user": mail.alice, "password": mail.password, "subjects": subjects})["result"]
    order = r["order"]
    assert sorted(order) == sorted(subjects), r
    # j moves down, k up, o opens the message at the cursor
    assert order.index(r["second"]) == order.index(r["first"]) + 1, r
    assert r["back"] == r["first"], r


def i18n_table(lang):
    """{key: string} of web/js/i18n_<lang>.mjs (its 'key': 'value' lines)."""
    text = Path(REPO / "web" / "js" / f"i18n_{lang}.mjs").read_text()
    return dict(re.findall(r"^\s*'([\w.]+)':\s*'((?:[^'\\]|\\.)*)',?\s*$", text, re.M))


def test_german_ui_from_browser_language(mail, browser):
    de, en = i18n_table("de"), i18n_table("en")
    r = browser.run("layout.mjs#german", mail.base, locale="de-DE", params={
        "user": mail.alice, "password": mail.password})["result"]
    assert r["login"]["languages"][0].startswith("de"), r
    assert r["login"]["lang"] == "de", r
    assert r["login"]["submit"] == de["login.submit"] != en["login.submit"], r
    assert r["logout"] == de["nav.logout"] != en["nav.logout"], r
    assert r["inbox"].startswith(de["role.inbox"]), r


def test_phone_reaches_every_page_through_the_menu(mail, browser):
    """On a 390x844 phone each page of the navigation opens from the menu and is no
    wider than the screen."""
    r = browser.run("layout.mjs#phonePages", mail.base, size="phone", params={
        "user": mail.alice, "password": mail.password})["result"]
    assert set(r) == {"nav-settings", "nav-devices", "nav-cleanup", "compose"}, r
    assert all(page["fits"] for page in r.values()), r
