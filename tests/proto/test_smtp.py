"""SMTP (RFC 5321), CHUNKING (RFC 3030), LMTP (RFC 2033), AUTH (RFC 4954), STARTTLS
(RFC 3207), submissions (RFC 8314) and quota/DSN (RFC 3463/3464) against a real
`kasten serve`, with smtplib and raw sockets for byte-exact cases.

Every delivery is checked through `kasten export`: the stored message is the one sent,
byte for byte, with only Return-Path and Received prepended."""

import smtplib
import socket
import ssl
import time

import pytest

from kasten_test import (DOMAIN, HOSTNAME, RawSMTP, assert_delivered, dot_stuff,
                         make_message, split_trace, unique_user, unverified_context)

MAX_SIZE = 1 << 20
KASTEN_CONFIG = {"limits": {"max_message_size": "1M"}}
PASSWORD = "Secret-pass-123"

# DSN: RFC 3461 (advertised on every listener); REQUIRETLS (RFC 8689 2) only over TLS
SMTP_EXTENSIONS = {"pipelining", "8bitmime", "size", "enhancedstatuscodes", "starttls",
                   "smtputf8", "chunking", "dsn"}


def user(server, prefix="u", quota=None):
    a = unique_user(prefix)
    server.user_add(a, PASSWORD, quota=quota)
    return a


def smtp(server, port="smtp"):
    s = smtplib.SMTP(server.host, server.ports[port], local_hostname="client.test",
                     timeout=15)
    return s


def raw(server, port="smtp", ehlo=True, tls=False):
    r = RawSMTP(server.host, server.ports[port], tls=tls)
    code, _ = r.reply()
    assert code == 220
    if ehlo:
        verb = "LHLO" if port == "lmtp" else "EHLO"
        code, _ = r.cmd(f"{verb} client.test")
        assert code == 250
    return r


def deliver_raw(server, sender, rcpts, msg, port="smtp"):
    """One transaction over a raw socket; returns the final reply(s) after DATA."""
    with raw(server, port) as r:
        assert r.cmd(f"MAIL FROM:<{sender}>")[0] == 250
        for rc in rcpts:
            assert r.cmd(f"RCPT TO:<{rc}>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send(dot_stuff(msg))
        replies = [r.reply() for _ in (rcpts if port == "lmtp" else [0])]
        assert r.cmd("QUIT")[0] == 221
    return replies


def code_and_enh(reply):
    code, lines = reply
    return code, lines[0].split(" ", 1)[0]


# ---- greeting, EHLO (RFC 5321 4.2, 4.1.1.1; RFC 1870; RFC 6152; RFC 2920; RFC 2034)

def test_greeting_220_rfc5321_section_4_2(mserver):
    with RawSMTP(mserver.host, mserver.ports["smtp"]) as r:
        code, lines = r.reply()
        assert code == 220
        assert lines[0].split()[0] == HOSTNAME


def test_ehlo_extensions_smtp_rfc5321_section_4_1_1_1(mserver):
    s = smtp(mserver)
    code, _ = s.ehlo()
    assert code == 250
    assert set(s.esmtp_features) == SMTP_EXTENSIONS
    # RFC 1870 section 4: SIZE with the fixed maximum
    assert s.esmtp_features["size"].strip() == str(MAX_SIZE)
    s.quit()


def test_helo_rfc5321_section_4_1_1_1(mserver):
    with raw(mserver, ehlo=False) as r:
        code, lines = r.cmd("HELO client.test")
        assert code == 250 and len(lines) == 1


def test_ehlo_submission_with_plaintext_loopback(mserver):
    """[auth] plaintext_loopback = yes: AUTH PLAIN LOGIN offered before TLS on loopback."""
    s = smtp(mserver, "submission")
    s.ehlo()
    assert set(s.esmtp_features) == SMTP_EXTENSIONS | {"auth"}
    assert {"PLAIN", "LOGIN"} <= set(s.esmtp_features["auth"].upper().split())
    s.quit()


@pytest.mark.kasten(config={"auth": {"plaintext_loopback": "no"},
                            "limits": {"max_message_size": "1M"}})
def test_ehlo_submission_auth_only_after_starttls_rfc4954_section_4(server):
    s = smtp(server, "submission")
    s.ehlo()
    assert "auth" not in s.esmtp_features
    assert "starttls" in s.esmtp_features
    # RFC 4954 section 4: AUTH before TLS when not offered -> 5xx (538 5.7.11 or 503/504)
    code, _ = s.docmd("AUTH", "PLAIN AGFiYwBkZWY=")
    assert 500 <= code < 600
    s.starttls(context=unverified_context())
    s.ehlo()
    # RFC 3207 section 4.2: STARTTLS is not offered again; RFC 8689 2: REQUIRETLS now is
    assert set(s.esmtp_features) == (SMTP_EXTENSIONS - {"starttls"}) | {"auth", "requiretls"}
    assert {"PLAIN", "LOGIN"} <= set(s.esmtp_features["auth"].upper().split())
    s.quit()


def test_smtp_port_never_offers_auth(mserver):
    s = smtp(mserver)
    s.starttls(context=unverified_context())
    s.ehlo()
    assert "auth" not in s.esmtp_features
    s.quit()


# ---- basic transaction (RFC 5321 3.3, 4.1.1.2-4.1.1.4, 4.4) ----

def test_mail_rcpt_data_byte_exact_with_trace_rfc5321_section_4_4(mserver):
    rcpt = user(mserver)
    sender = "someone@sender.invalid"
    body = (b"Plain line\r\n\r\n  leading spaces and trailing  \r\n"
            b"8-bit: \xc3\xa4\xc3\xb6\xc3\xbc\r\n\ttab\r\n" + b"x" * 998 + b"\r\n"
            b"From the start of a line\r\n>From quoted already\r\nlast line\r\n")
    msg = make_message("byte exact", body=body, sender=sender, rcpt=rcpt)
    (reply,) = deliver_raw(mserver, sender, [rcpt], msg)
    assert code_and_enh(reply) == (250, "2.0.0") or reply[0] == 250
    msgs = mserver.messages(rcpt)
    assert len(msgs) == 1
    assert_delivered(msgs[0], msg, sender)
    trace, _ = split_trace(msgs[0])
    assert HOSTNAME.encode() in trace  # RFC 5321 4.4: "by" the receiving host


def test_smtplib_sendmail(mserver):
    rcpt = user(mserver)
    msg = make_message("smtplib", sender="x@sender.invalid", rcpt=rcpt)
    s = smtp(mserver)
    assert s.sendmail("x@sender.invalid", [rcpt], msg) == {}
    s.quit()
    msgs = mserver.messages(rcpt)
    assert len(msgs) == 1
    assert_delivered(msgs[0], msg, "x@sender.invalid")


def test_null_reverse_path_rfc5321_section_4_5_5(mserver):
    rcpt = user(mserver)
    msg = make_message("bounce", sender="MAILER-DAEMON@sender.invalid", rcpt=rcpt)
    (reply,) = deliver_raw(mserver, "", [rcpt], msg)
    assert reply[0] == 250
    (stored,) = mserver.messages(rcpt)
    assert stored.startswith(b"Return-Path: <>\r\n")


def test_unknown_local_user_550_5_1_1_rfc3463(mserver):
    with raw(mserver) as r:
        assert r.cmd("MAIL FROM:<a@sender.invalid>")[0] == 250
        assert code_and_enh(r.cmd(f"RCPT TO:<nobody-here@{DOMAIN}>")) == (550, "5.1.1")


@pytest.mark.parametrize("rcpt", ["victim@remote.invalid",
                                  f"victim%remote.invalid@{DOMAIN}",
                                  f"@{DOMAIN}:victim@remote.invalid",
                                  "victim@[192.0.2.1]"])
def test_no_open_relay_550_5_7_1(mserver, rcpt):
    with raw(mserver) as r:
        assert r.cmd("MAIL FROM:<a@sender.invalid>")[0] == 250
        code, enh = code_and_enh(r.cmd(f"RCPT TO:<{rcpt}>"))
        assert 500 <= code < 600, f"relay to {rcpt} accepted"
        if "%" not in rcpt:
            assert (code, enh) in ((550, "5.7.1"), (501, "5.1.3"), (553, "5.1.3"))
        # no transaction with only refused recipients
        assert r.cmd("DATA")[0] in (503, 554)


def test_alias_delivery(mserver):
    owner = user(mserver)
    alias = unique_user("alias")
    mserver.kasten("user", "alias", "add", alias, owner)
    msg = make_message("to alias", rcpt=alias)
    (reply,) = deliver_raw(mserver, "s@sender.invalid", [alias], msg)
    assert reply[0] == 250
    msgs = mserver.messages(owner)
    assert len(msgs) == 1
    assert_delivered(msgs[0], msg, "s@sender.invalid")


def test_vrfy_252_rfc5321_section_3_5_3(mserver):
    owner = user(mserver)
    with raw(mserver) as r:
        assert r.cmd(f"VRFY {owner}")[0] == 252
        assert r.cmd(f"VRFY nobody@{DOMAIN}")[0] == 252  # no address harvesting


def test_rset_noop_quit_rfc5321_section_4_1_1_5(mserver):
    rcpt = user(mserver)
    with raw(mserver) as r:
        assert r.cmd("MAIL FROM:<a@sender.invalid>")[0] == 250
        assert r.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
        assert code_and_enh(r.cmd("RSET")) == (250, "2.0.0")
        # the transaction is gone: DATA without MAIL/RCPT is a bad sequence (503 5.5.1)
        assert r.cmd("DATA")[0] == 503
        assert r.cmd("RCPT TO:<" + rcpt + ">")[0] == 503
        assert r.cmd("NOOP")[0] == 250
        assert r.cmd("NOOP ignored argument")[0] == 250
        code, _ = r.cmd("QUIT")
        assert code == 221
        assert r.sock.recv(10) == b""  # closed after QUIT
    assert mserver.messages(rcpt) == []


def test_unknown_command_500_and_session_continues(mserver):
    with raw(mserver) as r:
        assert r.cmd("FROBNICATE")[0] == 500
        assert r.cmd("NOOP")[0] == 250


def test_pipelining_rfc2920_replies_in_order(mserver):
    a, b = user(mserver), user(mserver)
    msg = make_message("pipelined", rcpt=a)
    with raw(mserver) as r:
        r.send(f"MAIL FROM:<p@sender.invalid>\r\nRCPT TO:<{a}>\r\n"
               f"RCPT TO:<nobody@{DOMAIN}>\r\nRCPT TO:<{b}>\r\nDATA\r\n")
        assert [r.reply()[0] for _ in range(5)] == [250, 250, 550, 250, 354]
        r.send(dot_stuff(msg) + b"NOOP\r\nQUIT\r\n")
        assert [r.reply()[0] for _ in range(3)] == [250, 250, 221]
    for rc in (a, b):
        (stored,) = mserver.messages(rc)
        assert_delivered(stored, msg, "p@sender.invalid")


def test_pipelining_two_transactions_one_write(mserver):
    a = user(mserver)
    m1, m2 = make_message("first", rcpt=a), make_message("second", rcpt=a)
    with raw(mserver) as r:
        r.send(f"MAIL FROM:<p@sender.invalid>\r\nRCPT TO:<{a}>\r\nDATA\r\n")
        assert [r.reply()[0] for _ in range(3)] == [250, 250, 354]
        r.send(dot_stuff(m1) + f"MAIL FROM:<q@sender.invalid>\r\nRCPT TO:<{a}>\r\nDATA\r\n"
               .encode())
        assert [r.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
        r.send(dot_stuff(m2) + b"QUIT\r\n")
        assert [r.reply()[0] for _ in range(2)] == [250, 221]
    msgs = mserver.messages(a)
    assert len(msgs) == 2
    assert_delivered(msgs[0], m1, "p@sender.invalid")
    assert_delivered(msgs[1], m2, "q@sender.invalid")


# ---- CHUNKING (RFC 3030) ----

def bdat_session(server, rcpt, chunks, sender="c@sender.invalid"):
    with raw(server) as r:
        assert r.cmd(f"MAIL FROM:<{sender}>")[0] == 250
        assert r.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
        replies = []
        for i, ch in enumerate(chunks):
            last = " LAST" if i == len(chunks) - 1 else ""
            r.send(f"BDAT {len(ch)}{last}\r\n".encode() + ch)
            replies.append(r.reply())
        assert r.cmd("QUIT")[0] == 221
    return replies


def test_bdat_one_chunk_last_rfc3030_section_2(mserver):
    rcpt = user(mserver)
    # BDAT data is literal: a line with a single dot and a leading dot are content
    msg = make_message("bdat one", body=b"line\r\n.\r\n..two dots\r\nend\r\n", rcpt=rcpt)
    replies = bdat_session(mserver, rcpt, [msg])
    assert replies[0][0] == 250
    (stored,) = mserver.messages(rcpt)
    assert_delivered(stored, msg, "c@sender.invalid")


def test_bdat_several_chunks(mserver):
    rcpt = user(mserver)
    msg = make_message("bdat many", body=b"0123456789\r\n" * 500, rcpt=rcpt)
    cuts = [0, 1, 7, 100, 2049, 4000, len(msg)]  # splits inside lines and CRLFs
    chunks = [msg[cuts[i]:cuts[i + 1]] for i in range(len(cuts) - 1)]
    replies = bdat_session(mserver, rcpt, chunks)
    assert [c for c, _ in replies] == [250] * len(chunks)
    (stored,) = mserver.messages(rcpt)
    assert_delivered(stored, msg, "c@sender.invalid")


def test_bdat_zero_last_rfc3030_section_2(mserver):
    rcpt = user(mserver)
    msg = make_message("bdat zero last", rcpt=rcpt)
    replies = bdat_session(mserver, rcpt, [msg[:50], msg[50:], b""])
    assert [c for c, _ in replies] == [250, 250, 250]
    (stored,) = mserver.messages(rcpt)
    assert_delivered(stored, msg, "c@sender.invalid")


def test_bdat_pipelined_in_one_write(mserver):
    rcpt = user(mserver)
    msg = make_message("bdat pipelined", rcpt=rcpt)
    with raw(mserver) as r:
        r.send(f"MAIL FROM:<c@sender.invalid>\r\nRCPT TO:<{rcpt}>\r\n".encode()
               + f"BDAT 10\r\n".encode() + msg[:10]
               + f"BDAT {len(msg) - 10} LAST\r\n".encode() + msg[10:] + b"QUIT\r\n")
        assert [r.reply()[0] for _ in range(5)] == [250, 250, 250, 250, 221]
    (stored,) = mserver.messages(rcpt)
    assert_delivered(stored, msg, "c@sender.invalid")


def test_data_after_bdat_is_bad_sequence_rfc3030_section_2(mserver):
    rcpt = user(mserver)
    with raw(mserver) as r:
        assert r.cmd("MAIL FROM:<c@sender.invalid>")[0] == 250
        assert r.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
        r.send(b"BDAT 5\r\nabcde")
        assert r.reply()[0] == 250
        assert r.cmd("DATA")[0] == 503
        assert r.cmd("RSET")[0] == 250
    assert mserver.messages(rcpt) == []


# ---- DATA transparency and smuggling (RFC 5321 4.5.2, 2.3.8) ----

def test_dot_stuffing_round_trip_rfc5321_section_4_5_2(mserver):
    rcpt = user(mserver)
    body = b".\r\n..\r\n.leading dot\r\n...three\r\n. \r\nend\r\n"
    msg = make_message("dots", body=body, rcpt=rcpt)
    (reply,) = deliver_raw(mserver, "d@sender.invalid", [rcpt], msg)
    assert reply[0] == 250
    (stored,) = mserver.messages(rcpt)
    assert_delivered(stored, msg, "d@sender.invalid")


@pytest.mark.parametrize("fake_end", [b"\n.\n", b"\r.\r", b"\r\n.\n", b"\n.\r\n",
                                      b"\r.\r\n", b"\r\n.\r", b"\r\n\x00.\r\n"],
                         ids=["LF.LF", "CR.CR", "CRLF.LF", "LF.CRLF", "CR.CRLF",
                              "CRLF.CR", "NUL"])
def test_smuggling_only_crlf_dot_crlf_ends_data(mserver, fake_end):
    """SMTP smuggling (2023): a bare-LF/CR end-of-data look-alike must neither end the
    message nor start a second one. Accepted: one message holding the bytes, or a 5xx
    for the whole message after the real CRLF.CRLF; never two messages."""
    victim = user(mserver)
    smuggled = (f"MAIL FROM:<admin@{DOMAIN}>\r\nRCPT TO:<{victim}>\r\nDATA\r\n"
                f"Subject: smuggled\r\n\r\nsmuggled body\r\n").encode()
    head = make_message("carrier", rcpt=victim)
    with raw(mserver) as r:
        assert r.cmd("MAIL FROM:<e@sender.invalid>")[0] == 250
        assert r.cmd(f"RCPT TO:<{victim}>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send(head + b"before" + fake_end + smuggled + b"\r\n.\r\nQUIT\r\n")
        codes = []
        try:
            while True:
                codes.append(r.reply()[0])
        except (ConnectionError, OSError, AssertionError):
            pass
    # exactly one reply for the message, then 221 (or the server closed after a 5xx)
    assert len(codes) >= 1 and (codes[0] == 250 or 500 <= codes[0] < 600), codes
    assert codes[1:] in ([221], []), f"extra replies: smuggled commands ran: {codes}"
    msgs = mserver.messages(victim)
    assert len(msgs) <= 1
    if codes[0] == 250:
        assert len(msgs) == 1
        assert b"smuggled body" in msgs[0] and b"carrier" in msgs[0]
    else:
        assert msgs == []


def test_command_line_too_long_500_5_5_2_session_continues(mserver):
    with raw(mserver) as r:
        code, enh = code_and_enh(r.cmd("NOOP " + "x" * 3000))
        assert (code, enh) == (500, "5.5.2")
        assert r.cmd("NOOP")[0] == 250
        rcpt = user(mserver)
        assert r.cmd("MAIL FROM:<" + "a" * 2100 + "@sender.invalid>")[0] == 500
        assert r.cmd("MAIL FROM:<a@sender.invalid>")[0] == 250
        assert r.cmd(f"RCPT TO:<{rcpt}>")[0] == 250


@pytest.mark.kasten(config={"limits": {"max_message_size": "4M"}})
def test_data_and_bdat_1mb_single_line_stored_byte_exact_rfc5321_section_4_5_3_1_6(server):
    """RFC 5321 4.5.3.1.6 allows a server to take longer lines than 1000 octets; real mail
    (single-line HTML, unwrapped base64) has them and Postfix and Dovecot accept them.
    DATA streams to the spool, so only the SIZE limit bounds a line: a 1 MiB line (with
    a leading dot on the wire) is stored byte for byte, over DATA and over BDAT."""
    rcpt = user(server)
    line = bytes(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i % 64]
                 for i in range(1 << 20))
    msg = make_message("long line", body=b"." + line + b"\r\nend\r\n", rcpt=rcpt)
    with raw(server) as r:
        assert r.cmd("MAIL FROM:<f@sender.invalid>")[0] == 250
        assert r.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send(dot_stuff(msg))
        assert r.reply()[0] == 250
        assert r.cmd("MAIL FROM:<f@sender.invalid>")[0] == 250
        assert r.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
        r.send(f"BDAT {len(msg)} LAST\r\n".encode() + msg)
        assert r.reply()[0] == 250
        assert r.cmd("NOOP")[0] == 250
    msgs = server.messages(rcpt)
    assert len(msgs) == 2
    for m in msgs:
        assert_delivered(m, msg, "f@sender.invalid")


# ---- trace fields (RFC 5321 4.4) ----

@pytest.mark.parametrize("how", ["DATA", "BDAT"])
def test_client_return_path_removed_rfc5321_section_4_4(mserver, how):
    """The delivering MTA adds Return-Path; one in the client's header section is a
    forgery and goes, folded lines included; every other byte stays as sent."""
    rcpt = user(mserver)
    forged = (b"Return-Path: <forged@evil.invalid>\r\n"
              b"return-path :\r\n <second@evil.invalid>\r\n")
    msg = forged + make_message("return path", rcpt=rcpt,
                                extra=b"X-Note: Return-Path: <in a value>\r\n",
                                body=b"Return-Path: <in the body>\r\n")
    if how == "DATA":
        (reply,) = deliver_raw(mserver, "real@sender.invalid", [rcpt], msg)
        assert reply[0] == 250
    else:  # the first field cut across chunks
        replies = bdat_session(mserver, rcpt, [msg[:30], msg[30:]], sender="real@sender.invalid")
        assert [c for c, _ in replies] == [250, 250]
    (stored,) = mserver.messages(rcpt)
    assert_delivered(stored, msg[len(forged):], "real@sender.invalid")
    head = stored.split(b"\r\n\r\n", 1)[0].lower()
    assert head.count(b"\r\nreturn-path:") + head.startswith(b"return-path:") == 1
    assert b"evil.invalid" not in stored


# ---- size limits (RFC 1870) ----

def test_size_param_over_limit_552_5_3_4_rfc1870_section_6(mserver):
    rcpt = user(mserver)
    with raw(mserver) as r:
        assert code_and_enh(r.cmd(f"MAIL FROM:<g@sender.invalid> SIZE={MAX_SIZE + 1}")) \
            == (552, "5.3.4")
        assert r.cmd(f"MAIL FROM:<g@sender.invalid> SIZE={MAX_SIZE // 2}")[0] == 250
        assert r.cmd(f"RCPT TO:<{rcpt}>")[0] == 250


def test_message_over_max_message_size_552(mserver):
    rcpt = user(mserver)
    msg = make_message("too big", body=(b"z" * 998 + b"\r\n") * (MAX_SIZE // 1000 + 10),
                       rcpt=rcpt)
    with raw(mserver) as r:
        assert r.cmd("MAIL FROM:<h@sender.invalid>")[0] == 250
        assert r.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send(dot_stuff(msg))
        code, enh = code_and_enh(r.reply())
        assert code == 552 and enh in ("5.3.4", "5.2.3")
        assert r.cmd("NOOP")[0] == 250
    assert mserver.messages(rcpt) == []


def test_bdat_over_max_message_size_552(mserver):
    rcpt = user(mserver)
    with raw(mserver) as r:
        assert r.cmd("MAIL FROM:<h@sender.invalid>")[0] == 250
        assert r.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
        chunk = b"w" * 600000
        r.send(f"BDAT {len(chunk)}\r\n".encode() + chunk)
        c1 = r.reply()[0]
        r.send(f"BDAT {len(chunk)} LAST\r\n".encode() + chunk)
        c2 = r.reply()[0]
        assert c1 == 552 or c2 == 552, (c1, c2)
        assert r.cmd("RSET")[0] == 250
    assert mserver.messages(rcpt) == []


# ---- STARTTLS (RFC 3207) ----

def test_starttls_then_ehlo_again_rfc3207_section_4_2(mserver):
    rcpt = user(mserver)
    s = smtp(mserver)
    s.ehlo()
    code, _ = s.starttls(context=unverified_context())
    assert code == 220
    code, _ = s.ehlo()
    assert code == 250
    assert "starttls" not in s.esmtp_features
    msg = make_message("over tls", rcpt=rcpt)
    assert s.sendmail("t@sender.invalid", [rcpt], msg) == {}
    s.quit()
    (stored,) = mserver.messages(rcpt)
    assert_delivered(stored, msg, "t@sender.invalid")


def test_starttls_discards_pipelined_plaintext_cve_2011_0411(mserver):
    """RFC 3207 section 4.2 / CVE-2011-0411: bytes sent after STARTTLS in the same
    packet must be thrown away, never executed inside the TLS session."""
    with raw(mserver) as r:
        r.send(b"STARTTLS\r\nRSET\r\n")
        code, _ = r.reply()
        if code != 220:
            assert 400 <= code < 600  # refusing STARTTLS with pipelined data is safe too
            return
        # a reply to RSET in the clear means it was executed before the handshake
        assert r.pending(0.5) == b"", "the injected RSET was answered in plaintext"
        r.starttls()
        assert r.pending(0.7) == b"", "a reply to the injected RSET arrived over TLS"
        assert r.cmd("VRFY someone")[0] == 252  # the first reply is to our command
        code, lines = r.cmd("EHLO client.test")
        assert code == 250


def test_starttls_twice_rejected(mserver):
    s = smtp(mserver)
    s.ehlo()
    s.starttls(context=unverified_context())
    s.ehlo()
    code, _ = s.docmd("STARTTLS")
    assert 500 <= code < 600
    s.close()


# ---- LMTP (RFC 2033) ----

def test_lmtp_lhlo_rfc2033_section_4_1(mserver):
    s = smtplib.LMTP(mserver.host, mserver.ports["lmtp"], local_hostname="client.test",
                     timeout=15)
    code, _ = s.ehlo()  # smtplib.LMTP sends LHLO
    assert code == 250
    # RFC 2033 section 5: PIPELINING and ENHANCEDSTATUSCODES are required
    assert {"pipelining", "enhancedstatuscodes"} <= set(s.esmtp_features)
    s.quit()


def test_lmtp_rejects_helo_ehlo_rfc2033_section_4_1(mserver):
    with raw(mserver, "lmtp", ehlo=False) as r:
        assert 500 <= r.cmd("EHLO client.test")[0] < 600
        assert 500 <= r.cmd("HELO client.test")[0] < 600
        assert r.cmd("LHLO client.test")[0] == 250


def test_lmtp_one_reply_per_recipient_rfc2033_section_4_2(mserver):
    a, b = user(mserver), user(mserver)
    msg = make_message("lmtp two", rcpt=a)
    replies = deliver_raw(mserver, "l@sender.invalid", [a, b], msg, port="lmtp")
    assert [c for c, _ in replies] == [250, 250]
    for rc in (a, b):
        (stored,) = mserver.messages(rc)
        assert_delivered(stored, msg, "l@sender.invalid")


def test_lmtp_over_quota_recipient_gets_552_5_2_2(mserver):
    ok, full = user(mserver), user(mserver, quota="4K")
    msg = make_message("lmtp quota", body=b"q" * 6000 + b"\r\n", rcpt=ok)
    with raw(mserver, "lmtp") as r:
        assert r.cmd("MAIL FROM:<l@sender.invalid>")[0] == 250
        assert r.cmd(f"RCPT TO:<{ok}>")[0] == 250
        assert r.cmd(f"RCPT TO:<{full}>")[0] == 250  # size unknown at RCPT
        assert r.cmd("DATA")[0] == 354
        r.send(dot_stuff(msg))
        first, second = r.reply(), r.reply()
        assert first[0] == 250
        assert code_and_enh(second) == (552, "5.2.2")
    assert len(mserver.messages(ok)) == 1
    assert mserver.messages(full) == []


def test_lmtp_pipelined_replies_in_order(mserver):
    a, b = user(mserver), user(mserver)
    msg = make_message("lmtp pipelined", rcpt=a)
    with raw(mserver, "lmtp") as r:
        r.send(f"MAIL FROM:<l@sender.invalid>\r\nRCPT TO:<{a}>\r\nRCPT TO:<nobody@{DOMAIN}>"
               f"\r\nRCPT TO:<{b}>\r\nDATA\r\n".encode())
        assert [r.reply()[0] for _ in range(5)] == [250, 250, 550, 250, 354]
        r.send(dot_stuff(msg) + b"QUIT\r\n")
        # one reply per accepted recipient only
        assert [r.reply()[0] for _ in range(3)] == [250, 250, 221]


# ---- submission (RFC 6409, 4954, 8314) ----

def test_submission_auth_plain_rfc4954(mserver):
    a, b = user(mserver), user(mserver)
    s = smtp(mserver, "submission")
    s.ehlo()
    s.starttls(context=unverified_context())
    s.ehlo()
    s.user, s.password = a, PASSWORD
    code, _ = s.auth("PLAIN", s.auth_plain)
    assert code == 235
    msg = make_message("submitted", sender=a, rcpt=b)
    assert s.sendmail(a, [b], msg) == {}
    s.quit()
    (stored,) = mserver.messages(b)
    assert_delivered(stored, msg, a)


def test_submission_auth_login_rfc4954(mserver):
    a = user(mserver)
    s = smtp(mserver, "submission")
    s.ehlo()
    s.starttls(context=unverified_context())
    s.ehlo()
    s.user, s.password = a, PASSWORD
    code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
    assert code == 235
    s.quit()


def test_submission_plaintext_auth_on_loopback(mserver):
    a = user(mserver)
    s = smtp(mserver, "submission")
    s.ehlo()
    code, _ = s.login(a, PASSWORD)
    assert code == 235
    s.quit()


def test_submission_wrong_password_535_5_7_8(mserver):
    a = user(mserver)
    with raw(mserver, "submission") as r:
        import base64
        bad = base64.b64encode(f"\0{a}\0wrong".encode()).decode()
        assert code_and_enh(r.cmd(f"AUTH PLAIN {bad}")) == (535, "5.7.8")
        good = base64.b64encode(f"\0{a}\0{PASSWORD}".encode()).decode()
        assert r.cmd(f"AUTH PLAIN {good}")[0] == 235


def test_submission_requires_auth_530_rfc4954_section_6(mserver):
    a = user(mserver)
    with raw(mserver, "submission") as r:
        code, _ = r.cmd(f"MAIL FROM:<{a}>")
        assert code == 530


def test_submission_foreign_mail_from_553_5_7_1(mserver):
    a, b = user(mserver), user(mserver)
    s = smtp(mserver, "submission")
    s.login(a, PASSWORD)
    code, msg = s.docmd("MAIL", f"FROM:<{b}>")
    assert code == 553 and msg.decode().startswith("5.7.1")
    s.rset()
    code, msg = s.docmd("MAIL", "FROM:<someone@elsewhere.invalid>")
    assert code == 553
    assert s.docmd("MAIL", f"FROM:<{a}>")[0] == 250
    s.quit()


def test_submission_alias_as_mail_from(mserver):
    a, b = user(mserver), user(mserver)
    alias = unique_user("sendas")
    mserver.kasten("user", "alias", "add", alias, a)
    s = smtp(mserver, "submission")
    s.login(a, PASSWORD)
    msg = make_message("from alias", sender=alias, rcpt=b)
    assert s.sendmail(alias, [b], msg) == {}
    s.quit()
    assert len(mserver.messages(b)) == 1


def test_submission_remote_recipient_accepted_port25_refused_550_5_7_1(mserver):
    """With the outbound queue (always there under `kasten serve`), an authenticated
    submission takes a remote recipient; port 25 never does (no open relay). The queue
    side is tested in test_submission_outbound.py."""
    a = user(mserver)
    s = smtp(mserver, "submission")
    s.login(a, PASSWORD)
    assert s.docmd("MAIL", f"FROM:<{a}>")[0] == 250
    code, msg = s.docmd("RCPT", "TO:<friend@remote.invalid>")
    assert code == 250 and msg.decode().startswith("2.1.5")
    s.quit()
    s = smtp(mserver)
    s.ehlo()
    assert s.docmd("MAIL", "FROM:<x@sender.invalid>")[0] == 250
    code, msg = s.docmd("RCPT", "TO:<friend@remote.invalid>")
    assert code == 550 and msg.decode().startswith("5.7.1")
    s.quit()


def test_submissions_implicit_tls_rfc8314_section_3(mserver):
    a, b = user(mserver), user(mserver)
    s = smtplib.SMTP_SSL(mserver.host, mserver.ports["submissions"],
                         local_hostname="client.test", context=unverified_context(),
                         timeout=15)
    s.ehlo()
    assert "starttls" not in s.esmtp_features
    assert {"PLAIN", "LOGIN"} <= set(s.esmtp_features["auth"].upper().split())
    s.login(a, PASSWORD)
    msg = make_message("implicit tls", sender=a, rcpt=b)
    assert s.sendmail(a, [b], msg) == {}
    s.quit()
    (stored,) = mserver.messages(b)
    assert_delivered(stored, msg, a)


def test_submissions_raw_tls_socket(mserver):
    sock = socket.create_connection(mserver.addr("submissions"), timeout=10)
    tls = unverified_context().wrap_socket(sock, server_hostname=HOSTNAME)
    assert tls.version() in ("TLSv1.2", "TLSv1.3")
    assert tls.recv(4) == b"220 "
    tls.close()


# ---- quota, DSN, warning (RFC 3463 5.2.2, RFC 3464) ----

def test_quota_full_mailbox_552_5_2_2_at_rcpt(mserver):
    rcpt = user(mserver, quota="100K")
    msg = make_message("fill", body=b"f" * 6000 + b"\r\n", rcpt=rcpt)
    assert deliver_raw(mserver, "q@sender.invalid", [rcpt], msg)[0][0] == 250
    mserver.kasten("user", "quota", rcpt, "4K")  # now over quota: full
    with raw(mserver) as r:
        assert r.cmd("MAIL FROM:<q@sender.invalid>")[0] == 250
        assert code_and_enh(r.cmd(f"RCPT TO:<{rcpt}>")) == (552, "5.2.2")


def test_quota_message_does_not_fit_552_5_2_2_at_end_of_data(mserver):
    rcpt = user(mserver, quota="10K")
    msg = make_message("too big for quota", body=b"g" * 20000 + b"\r\n", rcpt=rcpt)
    with raw(mserver) as r:
        assert r.cmd("MAIL FROM:<q@sender.invalid>")[0] == 250
        assert r.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send(dot_stuff(msg))
        assert code_and_enh(r.reply()) == (552, "5.2.2")
        assert r.cmd("NOOP")[0] == 250
    assert mserver.messages(rcpt) == []


def test_quota_size_param_at_rcpt_552_5_2_2(mserver):
    rcpt = user(mserver, quota="10K")
    with raw(mserver) as r:
        assert r.cmd("MAIL FROM:<q@sender.invalid> SIZE=50000")[0] == 250
        assert code_and_enh(r.cmd(f"RCPT TO:<{rcpt}>")) == (552, "5.2.2")


def test_local_submission_to_full_mailbox_dsn_rfc3464(mserver):
    sender, full = user(mserver), user(mserver, quota="4K")
    filler = make_message("filler", body=b"f" * 5000 + b"\r\n", rcpt=full)
    mserver.kasten("user", "quota", full, "100K")
    assert deliver_raw(mserver, "q@sender.invalid", [full], filler)[0][0] == 250
    mserver.kasten("user", "quota", full, "4K")
    subject = f"dsn-probe-{time.time_ns()}"
    msg = make_message(subject, sender=sender, rcpt=full)
    s = smtp(mserver, "submission")
    s.login(sender, PASSWORD)
    # accepted from the local sender; the failure is reported by DSN
    assert s.sendmail(sender, [full], msg) == {}
    s.quit()
    dsns = mserver.wait_messages(sender, 1)
    assert len(dsns) == 1, "no DSN in the sender's INBOX"
    dsn = dsns[0]
    low = dsn.lower()
    assert b"multipart/report" in low and b"report-type=delivery-status" in low.replace(
        b'"', b"")
    assert b"message/delivery-status" in low
    assert b"Action: failed" in dsn
    assert b"Status: 5.2.2" in dsn
    assert f"Final-Recipient: rfc822;".lower().encode() in low.replace(b"; ", b";")
    assert subject.encode() in dsn  # the original headers are attached
    assert len(mserver.messages(full)) == 1  # only the filler


def test_quota_warning_at_90_percent_once(mserver):
    rcpt = user(mserver, quota="100K")
    tag = f"fill-{time.time_ns()}"
    big = make_message(tag + "-a", body=(b"h" * 998 + b"\r\n") * 50, rcpt=rcpt)   # ~50%
    assert deliver_raw(mserver, "w@sender.invalid", [rcpt], big)[0][0] == 250
    assert not any(tag.encode() not in m for m in mserver.messages(rcpt))
    more = make_message(tag + "-b", body=(b"i" * 998 + b"\r\n") * 45, rcpt=rcpt)  # ~93.5%
    assert deliver_raw(mserver, "w@sender.invalid", [rcpt], more)[0][0] == 250
    small = make_message(tag + "-c", body=b"small\r\n", rcpt=rcpt)
    assert deliver_raw(mserver, "w@sender.invalid", [rcpt], small)[0][0] == 250
    msgs = mserver.wait_messages(rcpt, 4)
    ours = [m for m in msgs if tag.encode() in m]
    warnings = [m for m in msgs if tag.encode() not in m]
    assert len(ours) == 3
    assert len(warnings) == 1, f"{len(warnings)} warning messages"
    assert b"90" in warnings[0] or b"quota" in warnings[0].lower()


def test_quota_warning_at_90_percent_of_message_count(mserver):
    """A message-count quota refuses mail like a byte quota, so it is warned about at
    [quota] warn_percent too (17 of 20 messages: none yet; 18 of 20: one warning)."""
    rcpt = user(mserver)
    mserver.kasten("user", "set", rcpt, "quota_messages=20")
    tag = f"count-{time.time_ns()}"
    for i in range(17):
        msg = make_message(f"{tag}-{i}", rcpt=rcpt)
        assert deliver_raw(mserver, "w@sender.invalid", [rcpt], msg)[0][0] == 250
    assert len(mserver.messages(rcpt)) == 17
    msg = make_message(f"{tag}-17", rcpt=rcpt)
    assert deliver_raw(mserver, "w@sender.invalid", [rcpt], msg)[0][0] == 250
    msgs = mserver.wait_messages(rcpt, 19)
    warnings = [m for m in msgs if tag.encode() not in m]
    assert len(warnings) == 1, f"{len(warnings)} warnings in {len(msgs)} messages"
    assert b"18 of the 20 messages" in warnings[0]
