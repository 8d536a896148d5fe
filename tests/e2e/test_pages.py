"""The webmail's client settings page shows the ports of the running config and a QR
code (decoded: the profile URL ClientSettings/get gives); the devices & activity page
lists a POP3 client after its session and what it removed, and an IMAP client by the
name it gave in ID (issue 10, webmail: "client settings page", "devices and
activity")."""

import re
import shutil
import subprocess

from jmap_test import CORE

KASTEN_CAP = "https://kasten.dev/jmap/account"


def test_settings_page_shows_running_ports_and_qr(mail, browser):
    r = browser.run("pages.mjs#settings", mail.base, params={
        "user": mail.alice, "password": mail.password})["result"]
    ports = mail.server.ports
    for card, listener in (("imap", "imap"), ("pop3", "pop3"), ("smtp", "submission")):
        assert re.search(rf"\b{ports[listener]}\b", r[card]), (card, ports[listener], r[card])
    # the address the mail clients fetch their settings from, as a QR code too
    assert r["autoconfig"], r
    assert r["qr"]["tag"] in ("svg", "img") and r["qr"]["marks"] > 0, r
    assert r["qr"]["width"] >= 64 and r["qr"]["height"] >= 64, r
    # the code says the profile URL of ClientSettings/get (the running config's)
    assert shutil.which("zbarimg"), "zbarimg missing: scripts/install-deps.sh check installs zbar-tools"
    decoded = subprocess.run(["zbarimg", "--raw", "-q", r["qrShot"]], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=60).stdout.decode().strip()
    (_, cs, _), = mail.client(mail.alice).calls([["ClientSettings/get", {}, "c0"]],
                                                using=[CORE, KASTEN_CAP])
    assert decoded == cs["mobileconfigUrl"], (decoded, cs)
    assert str(ports["http"]) in decoded and "email=" in decoded, decoded


def test_devices_page_lists_pop3_client(mail, browser):
    mail.deliver(mail.alice, "Fetched by POP3", body="y" * 500 + "\r\n")
    with mail.pop3(mail.alice) as c:
        assert c.cmd("STAT").startswith(b"+OK 1 ")
        assert c.cmd("DELE 1").startswith(b"+OK")
        assert c.cmd("QUIT").startswith(b"+OK")
    # an IMAP client that names itself (RFC 2971 ID)
    c = mail.imap(mail.alice)
    status, _ = c.cmd('ID ("name" "E2E Mailer" "version" "1.0")')
    assert b" OK " in status, status
    c.cmd("LOGOUT")
    c.close()
    r = browser.run("pages.mjs#devices", mail.base, params={
        "user": mail.alice, "password": mail.password})["result"]
    pop3 = [d for d in r["devices"] if d["data"].get("protocol", "").lower() == "pop3"
            or "POP3" in d["text"].upper()]
    assert pop3, r
    assert any("127.0.0.1" in d["text"] for d in pop3), pop3
    assert any("E2E Mailer" in d["text"] for d in r["devices"]), r["devices"]
    # what the POP3 client removed: one message
    assert len(r["removals"]) == 1, r
    assert r["removals"][0]["data"].get("count") == "1" or " 1 " in f" {r['removals'][0]['text']} ", r
