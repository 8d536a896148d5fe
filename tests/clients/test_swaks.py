"""swaks (Debian's swaks) as a real SMTP/LMTP/submission client against kasten.

swaks sends the --data file with LF turned into CRLF, dot-stuffed, and adds the CRLF
before the terminating dot; the stored message must be exactly that."""

import re
import shutil
import subprocess

import pytest

from kasten_test import assert_delivered, unique_user

SWAKS = shutil.which("swaks") or "/usr/bin/swaks"
PASSWORD = "Swaks-pass-42"


def swaks(server, port, *args, data, tmp_path):
    f = tmp_path / f"msg{unique_user('m').split('@')[0]}.eml"
    f.write_bytes(data)
    cmd = [SWAKS, "--server", f"{server.host}:{server.ports[port]}", "--helo", "client.test",
           "--data", f"@{f}", "--timeout", "20", *args]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def message(rcpt, subject, sender="sender@sender.invalid"):
    # no trailing newline: swaks adds "\r\n.\r\n". On submission the From: header must
    # be the authenticated account's ([submission] check_from).
    return (f"From: <{sender}>\nTo: <{rcpt}>\nSubject: {subject}\n"
            f"Message-ID: <{subject}@swaks.test>\n\nBody line\n.leading dot\n"
            f"8-bit \u00e4\u00f6\u00fc\nlast").encode()


def expected(data):
    return data.replace(b"\n", b"\r\n") + b"\r\n"


@pytest.fixture
def rcpt(mserver):
    a = unique_user("swaks")
    mserver.user_add(a, PASSWORD)
    return a


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "starttls"])
def test_swaks_smtp(mserver, rcpt, tmp_path, tls):
    data = message(rcpt, f"swaks-smtp-{tls}")
    extra = ["--tls"] if tls else []
    rc, out = swaks(mserver, "smtp", "--to", rcpt, "--from", "sender@sender.invalid",
                    *extra, data=data, tmp_path=tmp_path)
    assert rc == 0, out
    if tls:
        assert "TLS started" in out, out
    (stored,) = mserver.messages(rcpt)
    assert_delivered(stored, expected(data), "sender@sender.invalid")


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_swaks_submission_auth_tls(mserver, rcpt, tmp_path, mech):
    sender = unique_user("swaksfrom")
    mserver.user_add(sender, PASSWORD)
    data = message(rcpt, f"swaks-sub-{mech}", sender)
    rc, out = swaks(mserver, "submission", "--to", rcpt, "--from", sender, "--tls",
                    "--auth", mech, "--auth-user", sender, "--auth-password", PASSWORD,
                    data=data, tmp_path=tmp_path)
    assert rc == 0, out
    assert re.search(r"^<[~-]\s+235 ", out, re.M), out  # swaks' log of the AUTH reply
    (stored,) = mserver.messages(rcpt)
    assert_delivered(stored, expected(data), sender)


def test_swaks_submissions_implicit_tls(mserver, rcpt, tmp_path):
    sender = unique_user("swaksfrom")
    mserver.user_add(sender, PASSWORD)
    data = message(rcpt, "swaks-submissions", sender)
    rc, out = swaks(mserver, "submissions", "--to", rcpt, "--from", sender,
                    "--tls-on-connect", "--auth", "PLAIN", "--auth-user", sender,
                    "--auth-password", PASSWORD, data=data, tmp_path=tmp_path)
    assert rc == 0, out
    (stored,) = mserver.messages(rcpt)
    assert_delivered(stored, expected(data), sender)


def test_swaks_submission_wrong_password(mserver, rcpt, tmp_path):
    rc, out = swaks(mserver, "submission", "--to", rcpt, "--from", rcpt, "--tls",
                    "--auth", "PLAIN", "--auth-user", rcpt, "--auth-password", "wrong",
                    data=message(rcpt, "swaks-badpw"), tmp_path=tmp_path)
    assert rc != 0
    assert "535" in out, out
    assert mserver.messages(rcpt) == []


def test_swaks_lmtp(mserver, rcpt, tmp_path):
    other = unique_user("swaks")
    mserver.user_add(other, PASSWORD)
    data = message(rcpt, "swaks-lmtp")
    rc, out = swaks(mserver, "lmtp", "--protocol", "LMTP", "--to", f"{rcpt},{other}",
                    "--from", "sender@sender.invalid", data=data, tmp_path=tmp_path)
    assert rc == 0, out
    for a in (rcpt, other):
        (stored,) = mserver.messages(a)
        assert_delivered(stored, expected(data), "sender@sender.invalid")


def test_swaks_relay_refused(mserver, tmp_path):
    rc, out = swaks(mserver, "smtp", "--to", "victim@remote.invalid",
                    "--from", "sender@sender.invalid",
                    data=message("victim@remote.invalid", "relay"), tmp_path=tmp_path)
    assert rc != 0
    assert "550" in out, out
