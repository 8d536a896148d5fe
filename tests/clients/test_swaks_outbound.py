"""swaks (Debian's swaks) submitting mail for a remote recipient (issue 9): kasten takes
it over STARTTLS + AUTH on the submission port, stores the local recipient's copy at
once, and sends the remote one out through the queue to the MX the private zone names
(Postfix's smtp-sink on 127.0.0.2). What the MX receives is swaks' message, unstuffed
and byte-exact, behind our DKIM signatures and Received field (RFC 5321 4.4: no
Return-Path), and the 250 came only after the queue held it (the sink is asked after)."""

import shutil
import subprocess

from outbound_test import remote_host

SWAKS = shutil.which("swaks") or "/usr/bin/swaks"


def swaks(server, *args, data, tmp_path):
    f = tmp_path / "msg.eml"
    f.write_bytes(data)
    cmd = [SWAKS, "--server", f"{server.host}:{server.ports['submission']}",
           "--helo", "client.test", "--data", f"@{f}", "--timeout", "20", *args]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def test_swaks_submission_to_remote_and_local(zone, smtp_sink, outbound_server, tmp_path):
    zone.mx("dest.test", [(10, "mx.dest.test")]).a("mx.dest.test", remote_host(2))
    sink = smtp_sink(remote_host(2))
    k = outbound_server()
    # no trailing newline: swaks adds "\r\n.\r\n" (RFC 5321 4.5.2 stuffing of ".lead")
    body = "Body line\n.leading dot\n..two dots\nlast"
    data = (f"From: <{k.user}>\nTo: <far@dest.test>, <{k.user}>\n"
            f"Subject: swaks outbound\nMessage-ID: <swaks-out@client.test>\n"
            f"Date: Tue, 01 Dec 2026 10:00:00 +0000\n\n{body}").encode()
    rc, out = swaks(k, "--from", k.user, "--to", f"far@dest.test,{k.user}", "--tls",
                    "--auth", "PLAIN", "--auth-user", k.user, "--auth-password", k.password,
                    data=data, tmp_path=tmp_path)
    assert rc == 0, out
    assert "TLS started" in out, out
    [m] = sink.wait_messages(1)
    assert m.rcpts == ["far@dest.test"] and m.sender == k.user
    head, sent_body = m.data.split(b"\r\n\r\n", 1)
    assert sent_body == body.replace("\n", "\r\n").encode() + b"\r\n"
    assert m.header("Return-Path") == [] and len(m.header("Received")) == 1
    assert len(m.header("DKIM-Signature")) == 2
    assert m.message_id() == "<swaks-out@client.test>"
    # the local recipient's copy is in its INBOX, unsigned (signing is for mail that
    # leaves), with its own Return-Path
    [stored] = k.messages(k.user)
    assert stored.startswith(f"Return-Path: <{k.user}>\r\n".encode())
    assert b"DKIM-Signature:" not in stored
    assert stored.endswith(body.replace("\n", "\r\n").encode() + b"\r\n")
