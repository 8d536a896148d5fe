"""STARTTLS command injection (RFC 3207 section 4.2, RFC 2595 section 4; CVE-2011-0411):
commands pipelined after STARTTLS/STLS in the same write were sent in the clear and must
never be executed, neither before the handshake (a plaintext reply) nor inside TLS."""

import pytest

from kasten_test import HOSTNAME, RawPOP3, RawSMTP, unverified_context

KASTEN_CONFIG = {"auth": {"plaintext_loopback": "yes"}}


@pytest.mark.parametrize("port", ["smtp", "submission", "lmtp"])
def test_smtp_starttls_pipelined_commands_are_dropped_rfc3207_4_2(server, port):
    with RawSMTP(server.host, server.ports[port]) as r:
        assert r.reply()[0] == 220
        hello = "LHLO" if port == "lmtp" else "EHLO"
        assert r.cmd(f"{hello} client.test")[0] == 250
        r.send(b"STARTTLS\r\nNOOP\r\nMAIL FROM:<evil@example.test>\r\n")
        code, _ = r.reply()
        assert code == 220
        # nothing after the 220 in the clear: the injected NOOP got no answer
        assert r.pending(0.5) == b""
        r.starttls()
        # nor inside TLS
        assert r.pending(0.5) == b""
        # and the injected MAIL FROM left no transaction behind (RFC 3207 4.2: the
        # server forgets everything learned before TLS)
        assert r.cmd(f"{hello} client.test")[0] == 250
        assert r.cmd("RCPT TO:<someone@example.test>")[0] == 503


def test_pop3_stls_pipelined_commands_are_dropped_rfc2595_4(server):
    with RawPOP3(server.host, server.ports["pop3"]) as p:
        assert p.greeting.startswith(b"+OK")
        p.send(b"STLS\r\nCAPA\r\n")
        assert p.line().startswith(b"+OK")
        assert p.pending(0.5) == b""
        p.buf = b""
        p.sock = unverified_context().wrap_socket(p.sock, server_hostname=HOSTNAME)
        assert p.pending(0.5) == b""
        assert p.cmd("NOOP").startswith(b"-ERR")  # still AUTHORIZATION: NOOP not valid
