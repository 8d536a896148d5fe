"""The outbound SMTP client (src/outbound/smtpc*, contract 3) driven through
`kasten smtp-send` against Postfix's smtp-sink, a real `kasten serve` and small
scripted servers for what neither does (silence, a cut connection, STARTTLS injection).

RFC 5321 4.5.2 (dot-stuffing), 3.3 (a transaction), 4.5.3.2 (timeouts); RFC 2920
(PIPELINING), RFC 3030 (CHUNKING), RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 6531
(SMTPUTF8), RFC 3461 (DSN parameters), RFC 3207 (STARTTLS), RFC 4954 (AUTH), RFC 7672
(DANE), RFC 6125 (names)."""

import hashlib
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import _teardown
from kasten_test import DOMAIN, KastenServer, kasten_bin, split_trace

KASTEN_LISTEN = ("smtp", "submission")
RIGHT_NAME = "mx.right.test"


def smtp_send(*args, timeout=120):
    """(exit code, [(who, line)...] of the transcript, other stdout lines, stderr)."""
    p = subprocess.run([kasten_bin(), "smtp-send", *map(str, args)], capture_output=True,
                       timeout=timeout)
    out = p.stdout.decode("utf-8", "replace").splitlines()
    conv = [(l[0], l[3:]) for l in out if l[:3] in ("C: ", "S: ")]
    rest = [l for l in out if l[:3] not in ("C: ", "S: ")]
    return p.returncode, conv, rest, p.stderr.decode("utf-8", "replace")


def sent(conv):
    return [l for who, l in conv if who == "C"]


def stored_body(msg):
    """A stored message without what the receiving kasten put on top: trace fields and
    the Authentication-Results of its port 25 checks (RFC 8601)."""
    rest = msg
    while True:
        _, rest = split_trace(rest)
        if not rest.lower().startswith(b"authentication-results:"):
            return rest
        end = rest.find(b"\r\n")
        while rest[end + 2:end + 3] in (b" ", b"\t"):
            end = rest.find(b"\r\n", end + 2)
        rest = rest[end + 2:]


def message_file(tmp_path, data, name="msg.eml"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


MSG = (b"From: <a@example.test>\r\nTo: <x@dest.test>\r\nSubject: smtpc\r\n"
       b"Message-ID: <smtpc.1@test>\r\n\r\n"
       b".\r\n..\r\n.x\r\n...\r\nmiddle\r\n. \r\nlast\r\n")


# ---- certificates: a CA and a leaf for RIGHT_NAME, made by openssl(1) ----
def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=smtpc test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign", cwd=d)
    _openssl("req", *ec, "-keyout", "mx.key", "-out", "mx.csr", "-subj", f"/CN={RIGHT_NAME}",
             cwd=d)
    (d / "ext").write_text(f"subjectAltName=DNS:{RIGHT_NAME}\nbasicConstraints=CA:FALSE\n")
    _openssl("x509", "-req", "-in", "mx.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "mx.pem", "-days", "2", "-extfile", "ext", cwd=d)
    # the server sends its chain: the leaf and the CA (DANE-TA(2) needs the CA in it)
    (d / "chain.pem").write_bytes((d / "mx.pem").read_bytes() + (d / "ca.pem").read_bytes())
    spki = subprocess.run("openssl x509 -in mx.pem -pubkey -noout | "
                          "openssl pkey -pubin -outform DER", shell=True, cwd=d, check=True,
                          capture_output=True).stdout
    ca_der = subprocess.run(["openssl", "x509", "-in", "ca.pem", "-outform", "DER"], cwd=d,
                            check=True, capture_output=True).stdout
    return {"dir": d, "ca": d / "ca.pem", "chain": d / "chain.pem", "key": d / "mx.key",
            "leaf": d / "mx.pem", "spki_sha256": hashlib.sha256(spki).hexdigest(),
            "ca_sha256": hashlib.sha256(ca_der).hexdigest()}


@pytest.fixture(scope="module")
def tls_kasten(certs, tmp_path_factory):
    """A kasten serve with the test CA's certificate for RIGHT_NAME; small SIZE."""
    s = KastenServer(tmp_path_factory.mktemp("kasten-tls"), listen=KASTEN_LISTEN,
                     config={"tls": {"cert": certs["chain"], "key": certs["key"]},
                             "limits": {"max_message_size": "3M"}})
    s.data.mkdir(parents=True, exist_ok=True)
    s.user_add(f"rcpt@{DOMAIN}", "Rcpt-pass-1")
    s.user_add(f"other@{DOMAIN}", "Other-pass-1")
    s.start()
    yield s
    _teardown([s])


# ---- smtp-sink: dot-stuffing, pipelining, DSN parameters, checks ----
def test_dot_stuffing_lines_arrive_intact(tmp_path, smtp_sink):
    """RFC 5321 4.5.2: lines ".", "..", ".x" arrive as sent; the message is sent in one
    pipelined group (RFC 2920 3.1: MAIL, RCPTs, DATA before the first reply)."""
    sink = smtp_sink()
    f = message_file(tmp_path, MSG)
    rc, conv, rest, err = smtp_send("--host", sink.host, "--port", sink.port,
                                    "--from", "a@example.test", "--to", "x@dest.test",
                                    "--to", "y@dest.test", f)
    assert rc == 0, (conv, rest, err)
    [m] = sink.wait_messages(1)
    assert m.data == MSG
    assert m.rcpts == ["x@dest.test", "y@dest.test"]
    # the group: after EHLO's reply, four commands before the next server line
    i = next(k for k, (w, l) in enumerate(conv) if l.startswith("MAIL FROM:"))
    assert [w for w, _ in conv[i:i + 4]] == ["C"] * 4
    assert conv[i + 3] == ("C", "DATA")
    assert "RCPT x@dest.test: 250 2.0.0 Ok" in rest


def test_message_without_final_crlf_and_lf_file(tmp_path, smtp_sink):
    """A last line without CRLF gets one before the "." (RFC 5321 4.1.1.4); a file with
    LF line ends is sent with CRLF."""
    sink = smtp_sink()
    f = message_file(tmp_path, b"Subject: lf\n\n.\nend")
    rc, conv, rest, err = smtp_send("--host", sink.host, "--port", sink.port,
                                    "--to", "x@dest.test", f)
    assert rc == 0, (conv, rest, err)
    [m] = sink.wait_messages(1)
    assert m.data == b"Subject: lf\r\n\r\n.\r\nend\r\n"
    assert m.sender == ""  # the null sender by default


def test_no_pipelining_one_command_at_a_time(tmp_path, smtp_sink):
    """Without PIPELINING every command waits for its reply (RFC 2920 3.1)."""
    sink = smtp_sink(options=("-p",))
    f = message_file(tmp_path, MSG)
    rc, conv, rest, err = smtp_send("--host", sink.host, "--port", sink.port,
                                    "--to", "x@dest.test", "--to", "y@dest.test", f)
    assert rc == 0, (conv, rest, err)
    [m] = sink.wait_messages(1)
    assert m.data == MSG
    i = next(k for k, (w, l) in enumerate(conv) if l.startswith("MAIL FROM:"))
    whos = [w for w, _ in conv[i:i + 8]]
    assert whos == ["C", "S"] * 4, conv[i:]


def test_all_rcpts_refused_rset_instead_of_data(tmp_path, smtp_sink):
    """Every RCPT refused: no DATA, RSET (the transaction is over); exit 1."""
    sink = smtp_sink(options=("-f", "RCPT"))  # -f implies no PIPELINING
    f = message_file(tmp_path, MSG)
    rc, conv, rest, err = smtp_send("--host", sink.host, "--port", sink.port,
                                    "--to", "x@dest.test", "--to", "y@dest.test", f)
    assert rc == 1
    cmds = sent(conv)
    assert "DATA" not in cmds and "RSET" in cmds, conv
    assert any(l.startswith("RCPT x@dest.test: 5") for l in rest), rest
    assert sink.counters()["mesg"] == 0


def test_dsn_parameters_passed_on(tmp_path, smtp_sink):
    """RFC 3461 4: RET, ENVID (xtext), NOTIFY on MAIL and RCPT, when DSN is offered."""
    sink = smtp_sink()
    f = message_file(tmp_path, MSG)
    rc, conv, rest, err = smtp_send("--host", sink.host, "--port", sink.port,
                                    "--from", "a@example.test", "--to", "x@dest.test",
                                    "--notify", "SUCCESS,FAILURE", "--ret", "HDRS",
                                    "--envid", "id+1=x", f)
    assert rc == 0, (conv, rest, err)
    [m] = sink.wait_messages(1)
    assert "RET=HDRS" in m.mail_from and "ENVID=id+2B1+3Dx" in m.mail_from, m.mail_from
    assert m.rcpt_args == ["<x@dest.test> NOTIFY=SUCCESS,FAILURE"]


def test_dsn_parameters_not_sent_without_dsn(tmp_path, smtp_sink):
    sink = smtp_sink(options=("-N",))
    f = message_file(tmp_path, MSG)
    rc, conv, rest, err = smtp_send("--host", sink.host, "--port", sink.port,
                                    "--to", "x@dest.test", "--notify", "NEVER",
                                    "--envid", "e1", f)
    assert rc == 0, (conv, rest, err)
    [m] = sink.wait_messages(1)
    assert m.mail_from == "<>" and m.rcpt_args == ["<x@dest.test>"]


def test_smtputf8_not_offered_fails_before_mail(tmp_path, smtp_sink):
    """RFC 6531 3.4: an SMTPUTF8 message to a server without SMTPUTF8 fails (5.6.7);
    nothing of the transaction is sent."""
    sink = smtp_sink()
    f = message_file(tmp_path, MSG)
    rc, conv, rest, err = smtp_send("--host", sink.host, "--port", sink.port,
                                    "--to", "j\u00fcrgen@dest.test", f)
    assert rc == 1
    assert not any(c.startswith("MAIL") for c in sent(conv)), conv
    assert "RCPT j\u00fcrgen@dest.test: 553 5.6.7 " in "\n".join(rest), rest


def test_8bit_without_8bitmime_fails(tmp_path, smtp_sink):
    """RFC 6152 3: no BODY=8BITMIME to a server without 8BITMIME: 5.6.3, nothing sent."""
    sink = smtp_sink(options=("-8",))
    f = message_file(tmp_path, b"Subject: 8\r\n\r\nGr\xc3\xbc\xc3\x9fe\r\n")
    rc, conv, rest, err = smtp_send("--host", sink.host, "--port", sink.port,
                                    "--to", "x@dest.test", f)
    assert rc == 1
    assert not any(c.startswith("MAIL") for c in sent(conv))
    assert any("554 5.6.3" in l for l in rest), rest


def test_8bitmime_sent_when_offered(tmp_path, smtp_sink):
    sink = smtp_sink()
    data = b"Subject: 8\r\n\r\nGr\xc3\xbc\xc3\x9fe\r\n"
    f = message_file(tmp_path, data)
    rc, conv, rest, err = smtp_send("--host", sink.host, "--port", sink.port,
                                    "--to", "x@dest.test", f)
    assert rc == 0, (conv, rest, err)
    [m] = sink.wait_messages(1)
    assert m.mail_from == "<> BODY=8BITMIME" and m.data == data


# ---- a real kasten: per-recipient results, BDAT, SIZE, TLS, AUTH ----
def test_per_recipient_results(tmp_path, tls_kasten):
    """One refused and one accepted recipient: each gets its own reply; exit 1; the
    accepted one has the message byte for byte."""
    s = tls_kasten
    data = MSG
    f = message_file(tmp_path, data)
    rc, conv, rest, err = smtp_send("--host", s.host, "--port", s.ports["smtp"],
                                    "--from", "a@sender.test",
                                    "--to", f"nobody@{DOMAIN}", "--to", f"rcpt@{DOMAIN}", f)
    assert rc == 1, (conv, rest, err)
    out = "\n".join(rest)
    assert f"RCPT nobody@{DOMAIN}: 550 5.1.1" in out, out
    assert f"RCPT rcpt@{DOMAIN}: 250 " in out, out
    # kasten offers CHUNKING: the message went as BDAT, not DATA (RFC 3030 2)
    assert any(c.startswith(f"BDAT {len(data)} LAST") for c in sent(conv)), conv
    assert "DATA" not in sent(conv)
    msgs = s.wait_messages(f"rcpt@{DOMAIN}", 1)
    assert stored_body(msgs[-1]) == data


def test_all_refused_pipelined_no_bdat(tmp_path, tls_kasten):
    """PIPELINING and CHUNKING: MAIL and both RCPTs in one group; both refused, so no
    BDAT, RSET (RFC 3030 2 sends no chunk without a recipient)."""
    s = tls_kasten
    f = message_file(tmp_path, MSG)
    rc, conv, rest, err = smtp_send("--host", s.host, "--port", s.ports["smtp"],
                                    "--to", f"nobody1@{DOMAIN}", "--to", f"nobody2@{DOMAIN}",
                                    f)
    assert rc == 1
    cmds = sent(conv)
    assert not any(c.startswith(("BDAT", "DATA")) for c in cmds) and "RSET" in cmds, conv
    i = next(k for k, (w, l) in enumerate(conv) if l.startswith("MAIL FROM:"))
    assert [w for w, _ in conv[i:i + 3]] == ["C"] * 3


def test_dsn_parameters_to_kasten(tmp_path, tls_kasten):
    """RFC 3461 4: kasten offers DSN and its parser checks xtext; the parameters as we
    format them are accepted there."""
    s = tls_kasten
    f = message_file(tmp_path, MSG)
    rc, conv, rest, err = smtp_send("--host", s.host, "--port", s.ports["smtp"],
                                    "--to", f"rcpt@{DOMAIN}", "--notify", "FAILURE,DELAY",
                                    "--ret", "FULL", "--envid", "a+b=c d", f)
    assert rc == 0, (conv, rest, err)
    cmds = sent(conv)
    assert "MAIL FROM:<> SIZE=%d RET=FULL ENVID=a+2Bb+3Dc+20d" % len(MSG) in cmds, cmds
    assert f"RCPT TO:<rcpt@{DOMAIN}> NOTIFY=FAILURE,DELAY" in cmds, cmds


def test_bdat_chunks(tmp_path, tls_kasten):
    """A message over one BDAT chunk (1 MiB) goes in several; it arrives byte for byte,
    lines starting with "." unchanged (BDAT has no dot-stuffing)."""
    s = tls_kasten
    line = b".dot line " + b"x" * 90 + b"\r\n"
    data = b"Subject: big\r\n\r\n" + line * 25000  # ~2.5 MB
    f = message_file(tmp_path, data)
    before = len(s.messages(f"other@{DOMAIN}"))
    rc, conv, rest, err = smtp_send("--host", s.host, "--port", s.ports["smtp"],
                                    "--to", f"other@{DOMAIN}", f)
    assert rc == 0, (conv[-6:], rest, err)
    bdats = [c for c in sent(conv) if c.startswith("BDAT ")]
    assert bdats == ["BDAT 1048576", "BDAT 1048576", f"BDAT {len(data) - 2097152} LAST"]
    msgs = s.wait_messages(f"other@{DOMAIN}", before + 1)
    assert stored_body(msgs[-1]) == data


def test_size_exceeded_fails_before_mail(tmp_path, tls_kasten):
    """RFC 1870 6: SIZE offered and the message larger: 552 5.3.4 without sending it."""
    s = tls_kasten
    data = b"Subject: huge\r\n\r\n" + (b"y" * 998 + b"\r\n") * 3200  # > 3M
    f = message_file(tmp_path, data)
    rc, conv, rest, err = smtp_send("--host", s.host, "--port", s.ports["smtp"],
                                    "--to", f"rcpt@{DOMAIN}", f)
    assert rc == 1
    assert not any(c.startswith(("MAIL", "BDAT", "DATA")) for c in sent(conv)), conv
    assert any(f"RCPT rcpt@{DOMAIN}: 552 5.3.4 " in l for l in rest), rest


def _tls_send(s, tmp_path, *opts, to=None):
    f = message_file(tmp_path, MSG)
    return smtp_send("--host", s.host, "--port", s.ports["smtp"], "--starttls",
                     "--to", to or f"rcpt@{DOMAIN}", *opts, f)


def test_starttls_pkix_right_name(tmp_path, tls_kasten, certs):
    rc, conv, rest, err = _tls_send(tls_kasten, tmp_path, "--verify", "pkix",
                                    "--name", RIGHT_NAME, "--ca-file", certs["ca"])
    assert rc == 0, (conv, rest, err)
    assert any(l.startswith("TLS: pkix TLSv1.3") for l in rest), rest
    # RFC 3207 4.2: EHLO again after the handshake
    assert sent(conv).count("EHLO localhost") == 2


def test_starttls_pkix_wrong_name_fails_none_works(tmp_path, tls_kasten, certs):
    """A certificate for another name: PKIX fails and nothing is sent; --verify none
    (opportunistic TLS) sends."""
    rc, conv, rest, err = _tls_send(tls_kasten, tmp_path, "--verify", "pkix",
                                    "--name", "mx.wrong.test", "--ca-file", certs["ca"])
    assert rc == 1
    assert "certificate does not verify" in err, err
    assert not any(c.startswith("MAIL") for c in sent(conv)), conv
    # and without the CA: unknown issuer
    rc, conv, rest, err = _tls_send(tls_kasten, tmp_path, "--verify", "pkix",
                                    "--name", RIGHT_NAME)
    assert rc == 1 and "certificate does not verify" in err, err
    rc, conv, rest, err = _tls_send(tls_kasten, tmp_path, "--verify", "none")
    assert rc == 0, (conv, rest, err)
    assert any(l.startswith("TLS: unverified TLSv1.3") for l in rest), rest


def test_dane_ee_match_and_mismatch(tmp_path, tls_kasten, certs):
    """RFC 7672 3.1.1: DANE-EE(3) SPKI(1) SHA-256(1) matching the leaf verifies (no
    name check); one byte off and the handshake fails before any MAIL."""
    good = certs["spki_sha256"]
    rc, conv, rest, err = _tls_send(tls_kasten, tmp_path, "--tlsa", f"3 1 1 {good}",
                                    "--name", "any.name.test")
    assert rc == 0, (conv, rest, err)
    assert any(l.startswith("TLS: dane-ee ") for l in rest), rest
    bad = ("0" if good[0] != "0" else "1") + good[1:]
    rc, conv, rest, err = _tls_send(tls_kasten, tmp_path, "--tlsa", f"3 1 1 {bad}")
    assert rc == 1
    assert "certificate does not verify" in err, err
    assert not any(c.startswith("MAIL") for c in sent(conv)), conv


def test_dane_ta_needs_the_name(tmp_path, tls_kasten, certs):
    """RFC 7672 3.2.2: DANE-TA(2) Cert(0) SHA-256(1) of the CA verifies the chain, and
    the leaf must carry one of the names."""
    rec = f"2 0 1 {certs['ca_sha256']}"
    rc, conv, rest, err = _tls_send(tls_kasten, tmp_path, "--tlsa", rec,
                                    "--name", RIGHT_NAME)
    assert rc == 0, (conv, rest, err)
    assert any(l.startswith("TLS: dane-ta ") for l in rest), rest
    rc, conv, rest, err = _tls_send(tls_kasten, tmp_path, "--tlsa", rec,
                                    "--name", "mx.wrong.test")
    assert rc == 1 and "certificate does not verify" in err, err


def test_requiretls_only_over_verified_tls(tmp_path, tls_kasten, certs):
    """RFC 8689 4.1: a REQUIRETLS message goes only over verified TLS to a server that
    offers REQUIRETLS (kasten does after STARTTLS); unverified: 5.7.10 before MAIL."""
    rc, conv, rest, err = _tls_send(tls_kasten, tmp_path, "--requiretls", "--verify", "none")
    assert rc == 1
    assert not any(c.startswith("MAIL") for c in sent(conv)), conv
    assert any(": 550 5.7.10 " in l for l in rest), rest
    rc, conv, rest, err = _tls_send(tls_kasten, tmp_path, "--requiretls", "--verify", "pkix",
                                    "--name", RIGHT_NAME, "--ca-file", certs["ca"])
    assert rc == 0, (conv, rest, err)
    assert any(c.startswith("MAIL FROM:<>") and c.endswith(" REQUIRETLS")
               for c in sent(conv)), conv


def test_auth_over_starttls(tmp_path, tls_kasten, certs):
    """RFC 4954: AUTH PLAIN after STARTTLS on submission; the password is never shown."""
    s = tls_kasten
    pw = tmp_path / "pw"
    pw.write_text("Rcpt-pass-1\n")
    # submission checks the From: header against the account
    f = message_file(tmp_path, MSG.replace(b"<a@example.test>", f"<rcpt@{DOMAIN}>".encode()))
    base = ("--host", s.host, "--port", s.ports["submission"], "--starttls",
            "--from", f"rcpt@{DOMAIN}", "--to", f"other@{DOMAIN}",
            "--auth-user", f"rcpt@{DOMAIN}")
    rc, conv, rest, err = smtp_send(*base, "--password-file", pw, f)
    assert rc == 0, (conv, rest, err)
    assert "AUTH PLAIN <hidden>" in sent(conv)
    assert all("Rcpt-pass-1" not in l and "UmNwdC1wYXNzLTE" not in l for _, l in conv)
    pw.write_text("wrong\n")
    rc, conv, rest, err = smtp_send(*base, "--password-file", pw, f)
    assert rc == 1 and "535" in err, err
    assert not any(c.startswith("MAIL") for c in sent(conv))


def test_auth_refused_on_plain_text(tmp_path, tls_kasten):
    """AUTH only over TLS unless asked for (--auth-plaintext)."""
    s = tls_kasten
    pw = tmp_path / "pw"
    pw.write_text("Rcpt-pass-1\n")
    f = message_file(tmp_path, MSG)
    rc, conv, rest, err = smtp_send("--host", s.host, "--port", s.ports["submission"],
                                    "--plain", "--to", f"other@{DOMAIN}",
                                    "--auth-user", f"rcpt@{DOMAIN}", "--password-file", pw,
                                    f)
    assert rc == 1 and "plain text" in err, err
    assert not any(c.startswith("AUTH") for c in sent(conv)), conv


# ---- scripted servers: silence, a cut connection, STARTTLS injection ----
class Scripted:
    """A one-connection server on loopback running handler(conn) in a thread."""

    def __init__(self, handler):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.error = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            conn, _ = self.sock.accept()
            with conn:
                self.handler(conn)
        except Exception as e:  # reported by the test through .error
            self.error = e
        finally:
            self.done.set()

    def close(self):
        self.sock.close()


def _lines(conn):
    """A generator of the client's lines (bytes without CRLF)."""
    buf = b""
    while True:
        while b"\n" not in buf:
            d = conn.recv(65536)
            if not d:
                return
            buf += d
        line, buf = buf.split(b"\n", 1)
        yield line.rstrip(b"\r")


def test_silent_server_times_out(tmp_path):
    """RFC 5321 4.5.3.2: the wait for the greeting is bounded (here --timeout 2)."""
    release = threading.Event()
    srv = Scripted(lambda conn: release.wait(60))
    try:
        f = message_file(tmp_path, MSG)
        t0 = time.monotonic()
        rc, conv, rest, err = smtp_send("--host", "127.0.0.1", "--port", srv.port,
                                        "--timeout", "2", "--to", "x@dest.test", f)
        elapsed = time.monotonic() - t0
        assert rc == 1
        assert "no reply within 2000 ms" in err, err
        assert elapsed < 60  # the server would still be silent: the timeout ended it
    finally:
        release.set()
        srv.close()


def _cut_mid_data(conn):
    conn.sendall(b"220 cut.test ESMTP\r\n")
    lines = _lines(conn)
    for line in lines:
        if line.startswith(b"EHLO"):
            conn.sendall(b"250-cut.test\r\n250 PIPELINING\r\n")
        elif line.startswith((b"MAIL", b"RCPT")):
            conn.sendall(b"250 2.0.0 ok\r\n")
        elif line == b"DATA":
            conn.sendall(b"354 go\r\n")
            break
    got = 0
    while got < 100000:  # part of the message, then the connection goes
        d = conn.recv(65536)
        if not d:
            break
        got += len(d)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def test_connection_cut_mid_data(tmp_path):
    """The server goes away in the middle of DATA: no recipient is counted as
    delivered (no result: temporary for the queue); exit 1."""
    srv = Scripted(_cut_mid_data)
    try:
        f = message_file(tmp_path, b"Subject: big\r\n\r\n" + b"z" * 76 * 80000)
        rc, conv, rest, err = smtp_send("--host", "127.0.0.1", "--port", srv.port,
                                        "--timeout", "30", "--to", "x@dest.test",
                                        "--to", "y@dest.test", f)
        assert srv.done.wait(30) and srv.error is None, srv.error
        assert rc == 1
        assert "RCPT x@dest.test: no result: " in "\n".join(rest), rest
        assert "RCPT y@dest.test: no result: " in "\n".join(rest), rest
    finally:
        srv.close()


def _injecting(certs, seen):
    def handler(conn):
        conn.sendall(b"220 inject.test ESMTP\r\n")
        for line in _lines(conn):
            if line.startswith(b"EHLO"):
                conn.sendall(b"250-inject.test\r\n250 STARTTLS\r\n")
            elif line == b"STARTTLS":
                # RFC 3207 4.2: a reply injected behind the 220, in the same segment
                conn.sendall(b"220 go ahead\r\n250-INJECTED\r\n250 PIPELINING\r\n")
                break
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certs["chain"], certs["key"])
        with ctx.wrap_socket(conn, server_side=True) as t:
            for line in _lines(t):
                seen.append(line)
                if line.startswith(b"EHLO"):
                    t.sendall(b"250-inject.test after TLS\r\n250 SIZE 1000000\r\n")
                elif line.startswith((b"MAIL", b"RCPT")):
                    t.sendall(b"250 ok\r\n")
                elif line == b"DATA":
                    t.sendall(b"354 go\r\n")
                elif line == b".":
                    t.sendall(b"250 queued\r\n")
                elif line == b"QUIT":
                    t.sendall(b"221 bye\r\n")
                    return
    return handler


def test_starttls_injection_discarded(tmp_path, certs):
    """RFC 3207 4.2: what the server sent after its 220 to STARTTLS and before the
    handshake is thrown away; the EHLO after TLS gets the server's real answer. A client
    that kept the injected bytes would take "250-INJECTED / 250 PIPELINING" as the
    answer to its second EHLO and pipeline; this one waits for each reply."""
    seen = []
    srv = Scripted(_injecting(certs, seen))
    try:
        f = message_file(tmp_path, MSG)
        rc, conv, rest, err = smtp_send("--host", "127.0.0.1", "--port", srv.port,
                                        "--starttls", "--to", "x@dest.test", f)
        assert srv.done.wait(30) and srv.error is None, srv.error
        assert rc == 0, (conv, rest, err)
        server_lines = [l for w, l in conv if w == "S"]
        assert "INJECTED" not in "\n".join(server_lines), conv
        assert "250-inject.test after TLS" in server_lines
        # after TLS: EHLO answered by the real reply, then one command per reply
        i = max(k for k, (w, l) in enumerate(conv) if l == "EHLO localhost")
        assert conv[i + 1] == ("S", "250-inject.test after TLS"), conv[i:]
    finally:
        srv.close()


def _smtp_script(greeting, answer, seen):
    """A plain-text server: greeting first, then answer(line) -> bytes (None: hang up)
    for each line; DATA content is read up to the "." line and answered by answer(b".")."""
    def handler(conn):
        conn.sendall(greeting)
        in_data = False
        for line in _lines(conn):
            seen.append(line)
            if in_data and line != b".":
                continue
            in_data = False
            out = answer(line)
            if out is None:
                return
            conn.sendall(out)
            if line == b"DATA" and out.startswith(b"354"):
                in_data = True
            if line == b"QUIT":
                return
    return handler


def _run_script(tmp_path, greeting, answer, *args):
    seen = []
    srv = Scripted(_smtp_script(greeting, answer, seen))
    try:
        f = message_file(tmp_path, MSG)
        res = smtp_send("--host", "127.0.0.1", "--port", srv.port, "--timeout", "30", *args,
                        f)
        assert srv.done.wait(30) and srv.error is None, srv.error
        return res, seen
    finally:
        srv.close()


def test_554_greeting_is_reported(tmp_path):
    """RFC 5321 3.1: a 554 greeting: no EHLO, QUIT, the reply shown; exit 1."""
    (rc, conv, rest, err), seen = _run_script(
        tmp_path, b"554 5.7.1 go away\r\n",
        lambda l: b"221 bye\r\n" if l == b"QUIT" else b"503 no\r\n", "--to", "x@dest.test")
    assert rc == 1 and "554 5.7.1 go away" in err, err
    assert seen == [b"QUIT"]


def test_helo_after_ehlo_refused(tmp_path):
    """RFC 5321 3.2: EHLO answered 5xx: HELO, and no extensions (no pipelining)."""
    def answer(l):
        if l.startswith(b"EHLO"):
            return b"502 5.5.1 what\r\n"
        if l == b"DATA":
            return b"354 go\r\n"
        return b"221 bye\r\n" if l == b"QUIT" else b"250 ok\r\n"
    (rc, conv, rest, err), seen = _run_script(tmp_path, b"220 old.test\r\n", answer,
                                              "--to", "x@dest.test")
    assert rc == 0, (conv, rest, err)
    assert seen[:2] == [b"EHLO localhost", b"HELO localhost"]
    i = next(k for k, (w, l) in enumerate(conv) if l.startswith("MAIL FROM:"))
    assert [w for w, _ in conv[i:i + 6]] == ["C", "S"] * 3


def test_pipelined_all_refused_then_354(tmp_path):
    """RFC 2920 3.1: DATA went with the group and the server took it although every
    RCPT was refused: the client ends it with a lone "." and nothing counts as sent."""
    def answer(l):
        if l.startswith(b"EHLO"):
            return b"250-p.test\r\n250 PIPELINING\r\n"
        if l.startswith(b"RCPT"):
            return b"550 5.1.1 no such user\r\n"
        if l == b"DATA":
            return b"354 go\r\n"
        if l == b".":
            return b"554 5.5.1 no recipients\r\n"
        return b"221 bye\r\n" if l == b"QUIT" else b"250 ok\r\n"
    (rc, conv, rest, err), seen = _run_script(tmp_path, b"220 p.test\r\n", answer,
                                              "--to", "x@dest.test", "--to", "y@dest.test")
    assert rc == 1
    i = seen.index(b"DATA")
    assert seen[i + 1:i + 3] == [b".", b"RSET"], seen  # no message line between
    assert all(l.startswith("RCPT ") and ": 550 5.1.1 " in l for l in rest[1:3]), rest


def test_malformed_and_long_replies_end_the_session(tmp_path):
    """RFC 5321 4.2: a reply line that is not one (a code of 1xx, a line over 2048
    bytes) is an error of the connection, not a crash or a guess."""
    for bad in (b"150 what\r\n", b"250 " + b"x" * 3000 + b"\r\n", b"250-a\r\n251 b\r\n"):
        (rc, conv, rest, err), seen = _run_script(
            tmp_path, b"220 m.test\r\n", lambda l, bad=bad: bad if l.startswith(b"EHLO")
            else None, "--to", "x@dest.test")
        assert rc == 1
        assert "reply from the server" in err, err
