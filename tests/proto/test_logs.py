"""Logs an admin can use (issue 6, item 12): with log_level = debug the protocol
dialogue is in the log, secrets and message bodies never are."""

import base64
import time

from kasten_test import RawPOP3, RawSMTP, deliver, make_message, unique_user

PASSWORD = "Log-secret-pass-42"
KASTEN_CONFIG = {"server": {"log_level": "debug"}}


def wait_log(server, needle, mark=0, timeout=10):
    deadline = time.monotonic() + timeout
    while needle not in server.log_bytes()[mark:] and time.monotonic() < deadline:
        time.sleep(0.05)
    return server.log_bytes()[mark:]


def test_debug_log_shows_the_dialogue_without_secrets_or_bodies(server):
    user = unique_user("dialogue")
    server.user_add(user, PASSWORD)
    mark = server.log_mark()
    body = b"Body-marker-that-must-not-be-logged\r\n"
    plain = base64.b64encode(f"\0{user}\0{PASSWORD}".encode()).decode()
    with RawSMTP(server.host, server.ports["submission"]) as r:
        assert r.reply()[0] == 220
        assert r.cmd("EHLO client.test")[0] == 250
        assert r.cmd(f"AUTH PLAIN {plain}")[0] == 235
        assert r.cmd(f"MAIL FROM:<{user}>")[0] == 250
        assert r.cmd(f"RCPT TO:<{user}>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send(make_message("logged", body=body, sender=user) + b".\r\n")
        assert r.reply()[0] == 250
        r.cmd("QUIT")
    with RawPOP3(server.host, server.ports["pop3"]) as p:
        p.login(user, PASSWORD)
        assert p.cmd("AUTH PLAIN").startswith(b"-ERR")  # not in this state
        p.cmd("QUIT")
    log = wait_log(server, b"S: +OK", mark)
    for line in (b"C: EHLO client.test", b"S: 250-PIPELINING", b"C: AUTH [secret]",
                 b"S: 235 2.7.0", f"C: MAIL FROM:<{user}>".encode(), b"C: DATA",
                 f"C: USER {user}".encode(), b"C: PASS [secret]", b"C: QUIT"):
        assert line in log, (line, log[-3000:])
    assert PASSWORD.encode() not in log
    assert plain.encode() not in log
    assert b"Body-marker" not in log


def test_debug_log_hides_sasl_responses(server):
    user = unique_user("sasl")
    server.user_add(user, PASSWORD)
    mark = server.log_mark()
    with RawPOP3(server.host, server.ports["pop3"]) as p:
        assert p.cmd("AUTH LOGIN").startswith(b"+ ")
        assert p.cmd(base64.b64encode(user.encode()).decode()).startswith(b"+ ")
        assert p.cmd(base64.b64encode(PASSWORD.encode()).decode()).startswith(b"+OK")
    log = wait_log(server, b"C: [SASL response]", mark)
    assert b"C: AUTH LOGIN" in log
    assert base64.b64encode(PASSWORD.encode()) not in log and PASSWORD.encode() not in log


def test_delivery_and_refusals_are_logged_at_info(kasten_factory):
    s = kasten_factory(name="infolog", config={"server": {"log_level": "info"}})
    s.start()
    user = unique_user("info")
    s.user_add(user, PASSWORD)
    mark = s.log_mark()
    deliver(s, user, make_message("info"), sender="someone@sender.invalid")
    with RawSMTP(s.host, s.ports["smtp"]) as r:
        r.reply()
        r.cmd("EHLO c.test")
        r.cmd("MAIL FROM:<someone@sender.invalid>")
        assert r.cmd("RCPT TO:<nobody@example.test>")[0] == 550
    log = wait_log(s, b"rcpt refused", mark)
    assert b"from=<someone@sender.invalid>" in log and b" size=" in log
    assert b"to=<nobody@example.test> reason=unknown" in log
    assert b"C: " not in log  # the dialogue is debug only
