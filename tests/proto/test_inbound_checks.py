"""Inbound checks on port 25 (issue 9 item 5): SPF (RFC 7208), DKIM verification
(RFC 6376) and DMARC (RFC 7489), and their Authentication-Results field (RFC 8601),
against a private unbound (tests/dns_test.py) that serves the SPF and DMARC TXT
records and the DKIM keys. Messages come from 127.0.0.1 and, with the client socket
bound there, from 127.0.0.2; DKIM signatures are made by dkimpy (python3-dkim), which
nobody here wrote. Every result is read back byte for byte from the message as IMAP
serves it. Submission and LMTP get no Authentication-Results; a forged field with our
host name as its authserv-id is removed (RFC 8601 5), a foreign one kept."""

import base64
import imaplib
import re
import smtplib
import subprocess

import pytest

from dns_test import DnsServer, available as dns_available
from kasten_test import HOST, HOSTNAME, KastenServer, make_message, unique_user

dkim = pytest.importorskip("dkim")  # python3-dkim: scripts/install-deps.sh check
pytestmark = pytest.mark.skipif(not dns_available(), reason="unbound/ldnsutils missing")

LISTEN = ("smtp", "submission", "lmtp", "imap")
PASSWORD = "Checks-pass-1"
SELECTOR = "sel1"


def _rsa_key():
    """A 2048-bit RSA key: the PEM for dkimpy and the base64 DER for the key record."""
    pem = subprocess.run(["openssl", "genrsa", "2048"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"], input=pem,
                         check=True, capture_output=True).stdout
    return pem, base64.b64encode(der).decode()


def _txt(text):
    """A TXT rdata in zone-file form, cut into strings of at most 255 bytes."""
    return " ".join('"%s"' % text[i:i + 200] for i in range(0, len(text), 200))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    pem, pub = _rsa_key()
    key = f"{SELECTOR}._domainkey IN TXT {_txt('v=DKIM1; k=rsa; p=' + pub)}"
    d = DnsServer(tmp_path_factory.mktemp("dns"))
    d.zone("checks.test", [
        'pass IN TXT "v=spf1 ip4:127.0.0.1 -all"',
        'fail IN TXT "v=spf1 ip4:192.0.2.1 -all"',
        'soft IN TXT "v=spf1 ip4:192.0.2.1 ~all"',
        'neutral IN TXT "v=spf1 ?all"',
        'two IN TXT "v=spf1 -all"', 'two IN TXT "v=spf1 +all"',
        'inc IN TXT "v=spf1 include:pass.checks.test -all"',
        'redir IN TXT "v=spf1 redirect=pass.checks.test"',
        'second IN TXT "v=spf1 ip4:127.0.0.2 -all"',
        # RFC 7208 7: %{i} the client, %{l} the local part, %{d} the domain
        'macro IN TXT "v=spf1 exists:%{i}.%{l}._spf.%{d} -all"',
        '127.0.0.1.alice._spf.macro IN A 127.0.0.2',
        'none IN A 127.0.0.1',
    ])
    d.zone("spfal.test", ['mail IN TXT "v=spf1 ip4:127.0.0.1 -all"',
                          '_dmarc IN TXT "v=DMARC1; p=reject"'])
    d.zone("dkimal.test", [key, '_dmarc IN TXT "v=DMARC1; p=reject"'])
    d.zone("dkimonly.test", [key])
    d.zone("pnone.test", ['_dmarc IN TXT "v=DMARC1; p=none"'])
    d.zone("preject.test", ['_dmarc IN TXT "v=DMARC1; p=reject"'])
    # RFC 7489 6.6.3: sub.orgfb.test has no record, its organizational domain has
    d.zone("orgfb.test", ['_dmarc IN TXT "v=DMARC1; p=reject"', 'sub IN A 127.0.0.9'])
    d.dead_zone("dead.test")
    d.start()
    config = d.kasten_config(timeout=5)
    config["limits"] = {"max_connections_per_ip": "1000", "max_unauthenticated_per_ip": "1000"}
    s = KastenServer(tmp_path_factory.mktemp("kasten"), listen=LISTEN, config=config)
    s.start()
    rcpt = unique_user("checks")
    s.user_add(rcpt, PASSWORD)
    yield {"server": s, "dns": d, "pem": pem, "rcpt": rcpt}
    s.stop()
    d.stop()
    s.check_log()


def sign(msg, pem, domain):
    sig = dkim.sign(msg, SELECTOR.encode(), domain.encode(), pem,
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                    linesep=b"\r\n")
    return sig + msg


def send(server, sender, rcpt, msg, source="127.0.0.1"):
    """One SMTP transaction on port 25 from source; (code, text) of the end of data."""
    c = smtplib.SMTP(timeout=60, source_address=(source, 0))
    try:
        c.connect(HOST, server.ports["smtp"])
        c.ehlo("client.test")
        c.mail(sender)
        code, _ = c.rcpt(rcpt)
        assert code == 250
        code, text = c.data(msg)
        return code, text.decode()
    finally:
        c.quit()


def fetch_all(server, user):
    """Every message of the INBOX as IMAP serves it (BODY.PEEK[])."""
    im = imaplib.IMAP4(HOST, server.ports["imap"])
    try:
        im.login(user, PASSWORD)
        im.select("INBOX", readonly=True)
        _, data = im.search(None, "ALL")
        out = []
        for n in data[0].split():
            _, parts = im.fetch(n, "(BODY.PEEK[])")
            out.append(parts[0][1])
        return out
    finally:
        im.logout()


def wait_message(server, user, subject, timeout=20):
    import time
    deadline = time.monotonic() + timeout
    while True:
        for m in fetch_all(server, user):
            if b"\r\nSubject: " + subject.encode() + b"\r\n" in m:
                return m
        assert time.monotonic() < deadline, f"no message {subject!r}"
        time.sleep(0.2)


def authres(msg):
    """The Authentication-Results fields of msg (folds kept), in order."""
    head = msg.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    return [m.group(0) for m in
            re.finditer(rb"(?im)^Authentication-Results:.*\r\n(?:[ \t].*\r\n)*", head)]


def fold(pieces_per_result, host=HOSTNAME):
    """RFC 8601 2.2 as kasten writes it (docs/operations.md): each result on a line
    of its own after a tab, pieces joined by spaces, folded before a piece that would
    pass column 78 (a tab counts 8)."""
    out = f"Authentication-Results: {host}"
    for i, pieces in enumerate(pieces_per_result):
        out += ";" if i == 0 else ""
        col = 8
        out += "\r\n\t" + pieces[0]
        col += len(pieces[0])
        for p in pieces[1:]:
            if col + 1 + len(p) > 78:
                out += "\r\n\t" + p
                col = 8 + len(p)
            else:
                out += " " + p
                col += 1 + len(p)
        if i < len(pieces_per_result) - 1:
            out += ";"
    return (out + "\r\n").encode()


def header_b(signed):
    """RFC 6008: the first 8 characters of the signature's b= (quoted when they hold a
    character outside an RFC 2045 token)."""
    b = re.search(rb"\bb=([A-Za-z0-9+/=\s]+)", signed.split(b"\r\n\r\n")[0]).group(1)
    b8 = re.sub(rb"\s", b"", b)[:8].decode()
    return f'"{b8}"' if re.search(r"[/=]", b8) else b8


SPF_CASES = [
    # (MAIL FROM, source, result) -- RFC 7208 2.6
    ("alice@pass.checks.test", "127.0.0.1", "pass"),
    ("alice@fail.checks.test", "127.0.0.1", "fail"),
    ("alice@soft.checks.test", "127.0.0.1", "softfail"),
    ("alice@neutral.checks.test", "127.0.0.1", "neutral"),
    ("alice@none.checks.test", "127.0.0.1", "none"),
    ("alice@two.checks.test", "127.0.0.1", "permerror"),   # 4.5: two records
    ("alice@inc.checks.test", "127.0.0.1", "pass"),        # 5.2 include
    ("alice@redir.checks.test", "127.0.0.1", "pass"),      # 6.1 redirect
    ("alice@macro.checks.test", "127.0.0.1", "pass"),      # 7 macros
    ("bob@macro.checks.test", "127.0.0.1", "fail"),
    ("alice@second.checks.test", "127.0.0.2", "pass"),     # the client's own address
    ("alice@second.checks.test", "127.0.0.1", "fail"),
    ("alice@dead.test", "127.0.0.1", "temperror"),         # SERVFAIL
]


@pytest.mark.parametrize("sender,source,result", SPF_CASES)
def test_spf(env, sender, source, result):
    """RFC 7208 results for MAIL FROM, from 127.0.0.1 and 127.0.0.2 (loopback is
    checked like any client); the From: domain has no DMARC record."""
    s, rcpt = env["server"], env["rcpt"]
    subject = f"spf {sender} {source}"
    msg = make_message(subject, sender=sender, rcpt=rcpt)
    assert send(s, sender, rcpt, msg, source)[0] == 250
    got = wait_message(s, rcpt, subject)
    domain = sender.split("@")[1]
    dmarc = ["dmarc=temperror" if domain == "dead.test" else "dmarc=none",
             f"header.from={domain}"]
    assert authres(got) == [fold([[f"spf={result}", f"smtp.mailfrom={sender}"],
                                  ["dkim=none"], dmarc])]
    assert got.endswith(msg)


def test_spf_null_sender_helo(env):
    """RFC 7208 2.4: for the null sender the identity is postmaster@<HELO>."""
    s, rcpt = env["server"], env["rcpt"]
    msg = make_message("null sender", sender="mailer-daemon@pass.checks.test", rcpt=rcpt)
    c = smtplib.SMTP(timeout=60)
    c.connect(HOST, s.ports["smtp"])
    c.ehlo("pass.checks.test")
    c.mail("<>")
    assert c.rcpt(rcpt)[0] == 250
    assert c.data(msg)[0] == 250
    c.quit()
    got = wait_message(s, rcpt, "null sender")
    assert authres(got) == [fold([["spf=pass", "smtp.mailfrom=postmaster@pass.checks.test"],
                                  ["dkim=none"],
                                  ["dmarc=none", "header.from=pass.checks.test"]])]


def test_dmarc_pass_spf_aligned(env):
    """RFC 7489 3.1.2: relaxed SPF alignment, MAIL FROM mail.spfal.test, From
    spfal.test; the record says p=reject, but the message passes."""
    s, rcpt = env["server"], env["rcpt"]
    msg = make_message("dmarc spf aligned", sender="alice@spfal.test", rcpt=rcpt)
    assert send(s, "bounce@mail.spfal.test", rcpt, msg)[0] == 250
    got = wait_message(s, rcpt, "dmarc spf aligned")
    assert authres(got) == [fold([["spf=pass", "smtp.mailfrom=bounce@mail.spfal.test"],
                                  ["dkim=none"],
                                  ["dmarc=pass", "(p=reject)", "header.from=spfal.test"]])]


def test_dkim_pass_dmarc_dkim_aligned(env):
    """RFC 6376 verification of dkimpy's signature, and RFC 7489 3.1.1 alignment of
    its d= with From: while SPF passes for an unrelated domain."""
    s, rcpt = env["server"], env["rcpt"]
    msg = sign(make_message("dkim aligned", sender="alice@dkimal.test", rcpt=rcpt),
               env["pem"], "dkimal.test")
    assert send(s, "alice@pass.checks.test", rcpt, msg)[0] == 250
    got = wait_message(s, rcpt, "dkim aligned")
    assert authres(got) == [fold([
        ["spf=pass", "smtp.mailfrom=alice@pass.checks.test"],
        ["dkim=pass", "header.d=dkimal.test", f"header.s={SELECTOR}",
         f"header.b={header_b(msg)}"],
        ["dmarc=pass", "(p=reject)", "header.from=dkimal.test"]])]
    assert got.endswith(msg)


def test_dkim_fail_body_altered(env):
    """A body changed after signing: dkim=fail with the verifier's reason; the domain
    has no DMARC record, so the message is delivered."""
    s, rcpt = env["server"], env["rcpt"]
    signed = sign(make_message("dkim altered", sender="alice@dkimonly.test", rcpt=rcpt),
                  env["pem"], "dkimonly.test")
    msg = signed.replace(b"Hello.", b"Hello!")
    assert send(s, "alice@pass.checks.test", rcpt, msg)[0] == 250
    got = wait_message(s, rcpt, "dkim altered")
    [ar] = authres(got)
    reason = re.search(rb'reason="([^"]*)"', ar).group(1).decode()
    assert "body hash" in reason
    assert ar == fold([["spf=pass", "smtp.mailfrom=alice@pass.checks.test"],
                       ["dkim=fail", f'reason="{reason}"', "header.d=dkimonly.test",
                        f"header.s={SELECTOR}", f"header.b={header_b(msg)}"],
                       ["dmarc=none", "header.from=dkimonly.test"]])


def test_dkim_one_result_per_signature(env):
    """RFC 8601 2.7.1: one dkim= per signature, in header order: a passing one, and one
    whose key lives in a zone whose server does not answer (temperror)."""
    s, rcpt = env["server"], env["rcpt"]
    inner = sign(make_message("two signatures", sender="alice@dkimonly.test", rcpt=rcpt),
                 env["pem"], "dead.test")
    msg = sign(inner, env["pem"], "dkimonly.test")
    assert send(s, "alice@pass.checks.test", rcpt, msg)[0] == 250
    got = wait_message(s, rcpt, "two signatures")
    [ar] = authres(got)
    reason = re.search(rb'dkim=temperror reason="([^"]*)"', ar).group(1).decode()
    assert ar == fold([["spf=pass", "smtp.mailfrom=alice@pass.checks.test"],
                       ["dkim=pass", "header.d=dkimonly.test", f"header.s={SELECTOR}",
                        f"header.b={header_b(msg)}"],
                       ["dkim=temperror", f'reason="{reason}"', "header.d=dead.test",
                        f"header.s={SELECTOR}", f"header.b={header_b(inner)}"],
                       ["dmarc=none", "header.from=dkimonly.test"]])


def test_dmarc_fail_p_none_delivered(env):
    s, rcpt = env["server"], env["rcpt"]
    msg = make_message("dmarc p none", sender="alice@pnone.test", rcpt=rcpt)
    assert send(s, "alice@pass.checks.test", rcpt, msg)[0] == 250
    got = wait_message(s, rcpt, "dmarc p none")
    assert authres(got) == [fold([["spf=pass", "smtp.mailfrom=alice@pass.checks.test"],
                                  ["dkim=none"],
                                  ["dmarc=fail", "(p=none)", "header.from=pnone.test"]])]


def test_dmarc_fail_p_reject_refused(env):
    """[checks] dmarc_reject (default yes): 550 5.7.1 with the reason; nothing stored."""
    s, rcpt = env["server"], env["rcpt"]
    msg = make_message("dmarc p reject", sender="alice@preject.test", rcpt=rcpt)
    code, text = send(s, "alice@pass.checks.test", rcpt, msg)
    assert code == 550
    assert text == ("5.7.1 Rejected by the DMARC policy of preject.test: "
                    "no aligned SPF or DKIM pass")
    assert not any(b"dmarc p reject" in m for m in fetch_all(s, rcpt))


def test_dmarc_org_domain_fallback(env):
    """RFC 7489 6.6.3: _dmarc.sub.orgfb.test does not exist; the organizational domain
    orgfb.test (the suffix list's default rule "*": `test` is a public suffix) has
    p=reject, which refuses the message."""
    s, rcpt = env["server"], env["rcpt"]
    msg = make_message("dmarc org fallback", sender="alice@sub.orgfb.test", rcpt=rcpt)
    code, text = send(s, "alice@pass.checks.test", rcpt, msg)
    assert (code, text) == (550, "5.7.1 Rejected by the DMARC policy of orgfb.test: "
                                 "no aligned SPF or DKIM pass")


def test_dmarc_second_from_field_checked(env):
    """RFC 7489 6.6.1: every From: domain is evaluated, so a second From: field with a
    passing domain cannot hide a failing one."""
    s, rcpt = env["server"], env["rcpt"]
    msg = make_message("two from", sender="alice@pass.checks.test", rcpt=rcpt,
                       extra=b"From: <ceo@preject.test>\r\n")
    code, text = send(s, "alice@pass.checks.test", rcpt, msg)
    assert code == 550 and "preject.test" in text


@pytest.mark.parametrize("case", ["five domains", "huge field"])
def test_dmarc_from_unreadable_refused(env, case):
    """RFC 7489 6.6.1: From: domains that cannot all be evaluated (more than 4, or a
    field too large to parse whole) are refused, so a failing domain cannot hide among
    them or behind padding."""
    s, rcpt = env["server"], env["rcpt"]
    if case == "five domains":
        extra = b"From: " + b", ".join(b"<a@d%d.pass.checks.test>" % i for i in range(4)) \
            + b", <ceo@preject.test>\r\n"
    else:
        pad = b"".join(b" (" + b"x" * 70 + b")\r\n" for _ in range(4000))
        extra = b"From:" + pad + b" <ceo@preject.test>\r\n"
    msg = make_message(f"from {case}", sender="alice@pass.checks.test", rcpt=rcpt,
                       extra=extra).replace(b"From: <alice@pass.checks.test>\r\n", b"", 1)
    code, text = send(s, "alice@pass.checks.test", rcpt, msg)
    assert (code, text) == (550, "5.7.1 Cannot check DMARC: too many From: domains, or a "
                                 "From: field too large (RFC 7489 6.6.1)")


@pytest.mark.parametrize("fields", [999, 1000, 1001])
def test_header_field_limit(env, fields):
    """LIMIT_HEADER_FIELDS (1,000): a header with more fields cannot be cleared of
    forged Authentication-Results fields past the limit, so it is refused (552 5.3.4);
    at the limit it is checked and delivered."""
    s, rcpt = env["server"], env["rcpt"]
    subject = f"fields {fields}"
    base = make_message(subject, sender="alice@pass.checks.test", rcpt=rcpt)
    pad = b"".join(b"X-Pad: %d\r\n" % i for i in range(fields - 5))  # base has 5
    msg = base.replace(b"\r\n\r\n", b"\r\n" + pad + b"\r\n", 1)
    code, text = send(s, "alice@pass.checks.test", rcpt, msg)
    if fields <= 1000:
        assert code == 250
        got = wait_message(s, rcpt, subject)
        assert len(authres(got)) == 1 and got.endswith(msg)
    else:
        assert (code, text) == (552, "5.3.4 Message header too large to check")


def test_dmarc_four_from_domains_each_evaluated(env):
    """LIMIT_DMARC_FROM_DOMAINS (4) From: domains: each gets its dmarc= result."""
    s, rcpt = env["server"], env["rcpt"]
    domains = [f"d{i}.pass.checks.test" for i in range(4)]
    extra = ("From: " + ", ".join(f"<a@{d}>" for d in domains) + "\r\n").encode()
    msg = make_message("four from", sender="alice@pass.checks.test", rcpt=rcpt,
                       extra=extra).replace(b"From: <alice@pass.checks.test>\r\n", b"", 1)
    assert send(s, "alice@pass.checks.test", rcpt, msg)[0] == 250
    got = wait_message(s, rcpt, "four from")
    assert authres(got) == [fold([["spf=pass", "smtp.mailfrom=alice@pass.checks.test"],
                                  ["dkim=none"]] +
                                 [["dmarc=none", f"header.from={d}"] for d in domains])]


def test_forged_authres_removed_foreign_kept(env):
    """RFC 8601 5: a field claiming our host name (any case, with a comment before
    it) is removed wherever it stands; another host's field stays where it was."""
    s, rcpt = env["server"], env["rcpt"]
    foreign = b"Authentication-Results: mx.other.example; spf=pass smtp.mailfrom=x@y.test\r\n"
    forged = (b"Authentication-Results: (forged) MX.Example.Test;\r\n"
              b"\tdmarc=pass header.from=pass.checks.test\r\n")
    body = make_message("forged authres", sender="alice@pass.checks.test", rcpt=rcpt)
    msg = forged + foreign + body.replace(b"Subject:", forged.replace(b"MX.", b"mx.") +
                                          b"Subject:", 1)
    assert send(s, "alice@pass.checks.test", rcpt, msg)[0] == 250
    got = wait_message(s, rcpt, "forged authres")
    ours = fold([["spf=pass", "smtp.mailfrom=alice@pass.checks.test"], ["dkim=none"],
                 ["dmarc=none", "header.from=pass.checks.test"]])
    assert authres(got) == [ours, foreign]
    assert got.endswith(foreign + body)


@pytest.mark.parametrize("port", ["lmtp", "submission"])
def test_no_checks_on_lmtp_and_submission(env, port):
    """The checks belong to port 25: LMTP and submission messages get no field (and a
    client's field stays as it was sent)."""
    s, rcpt = env["server"], env["rcpt"]
    subject = f"no checks {port}"
    foreign = b"Authentication-Results: mx.other.example; none\r\n"
    msg = foreign + make_message(subject, sender=rcpt, rcpt=rcpt)
    if port == "lmtp":
        c = smtplib.LMTP(HOST, s.ports["lmtp"], timeout=60)
        c.sendmail("alice@pass.checks.test", [rcpt], msg)
    else:
        c = smtplib.SMTP(HOST, s.ports["submission"], timeout=60)
        c.ehlo("client.test")
        c.login(rcpt, PASSWORD)
        c.sendmail(rcpt, [rcpt], msg)
    c.quit()
    got = wait_message(s, rcpt, subject)
    assert authres(got) == [foreign]


def test_switches(env, kasten_factory):
    """[checks] spf = no leaves spf= out; dmarc_reject = no delivers a p=reject failure
    with dmarc=fail; with all three off nothing is added and nothing removed."""
    config = env["dns"].kasten_config(timeout=5)
    config["checks"] = {"spf": "no", "dmarc_reject": "no"}
    k = kasten_factory(listen=LISTEN, config=config, name="switches")
    k.start()
    rcpt = unique_user("switch")
    k.user_add(rcpt, PASSWORD)
    msg = make_message("switch reject", sender="alice@preject.test", rcpt=rcpt)
    assert send(k, "alice@pass.checks.test", rcpt, msg)[0] == 250
    got = wait_message(k, rcpt, "switch reject")
    assert authres(got) == [fold([["dkim=none"],
                                  ["dmarc=fail", "(p=reject)", "header.from=preject.test"]])]
    k.stop()
    config["checks"] = {"spf": "no", "dkim": "no", "dmarc": "no"}
    k.write_config(config)
    k.start()
    forged = b"Authentication-Results: mx.example.test; dmarc=pass header.from=preject.test\r\n"
    msg = forged + make_message("switch off", sender="alice@preject.test", rcpt=rcpt)
    assert send(k, "alice@pass.checks.test", rcpt, msg)[0] == 250
    got = wait_message(k, rcpt, "switch off")
    assert authres(got) == [forged]

