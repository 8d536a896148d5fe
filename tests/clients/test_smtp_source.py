"""Postfix's smtp-source as a real, parallel SMTP/LMTP client: a bounded burst, and every
message arrives (counted via `kasten export`)."""

import os
import subprocess

import pytest

from kasten_test import split_trace, unique_user

SMTP_SOURCE = "/usr/sbin/smtp-source"
SESSIONS, MESSAGES, LENGTH = 5, 200, 4096


def burst(server, port, rcpt, *extra, sender="source@sender.invalid", m=MESSAGES):
    cmd = [SMTP_SOURCE, "-s", str(SESSIONS), "-m", str(m), "-l", str(LENGTH),
           "-f", sender, "-t", rcpt, "-M", "client.test", *extra,
           f"{server.host}:{server.ports[port]}"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    assert r.returncode == 0, r.stdout.decode("utf-8", "replace")[-3000:]


def check(server, rcpt, n):
    msgs = server.messages(rcpt)
    assert len(msgs) == n
    for m in msgs:
        trace, rest = split_trace(m)
        assert trace.startswith(b"Return-Path: <source@sender.invalid>\r\n")
        head, _, body = rest.partition(b"\r\n\r\n")
        assert len(body) >= LENGTH - 100, len(body)


@pytest.mark.parametrize("extra", [[], ["-d"]], ids=["new-connection", "same-connection"])
def test_smtp_source_smtp(mserver, extra):
    rcpt = unique_user("src")
    mserver.user_add(rcpt, "Source-pass-1")
    burst(mserver, "smtp", rcpt, *extra)
    check(mserver, rcpt, MESSAGES)


def test_smtp_source_lmtp(mserver):
    rcpt = unique_user("src")
    mserver.user_add(rcpt, "Source-pass-1")
    burst(mserver, "lmtp", rcpt, "-L", "-d")
    check(mserver, rcpt, MESSAGES)


def test_smtp_source_lmtp_three_recipients(mserver):
    """-r 3 sends to 3<rcpt>, 2<rcpt> and <rcpt> in one transaction."""
    local, domain = unique_user("src").split("@")
    for prefix in ("", "2", "3"):
        mserver.user_add(f"{prefix}{local}@{domain}", "Source-pass-1")
    burst(mserver, "lmtp", f"{local}@{domain}", "-L", "-r", "3", m=50)
    for prefix in ("", "2", "3"):
        check(mserver, f"{prefix}{local}@{domain}", 50)
