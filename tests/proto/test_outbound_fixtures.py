"""The outbound test fixtures themselves (tests/outbound_test.py): the zone answers what a
test declared (through kasten's own resolver, `kasten dns lookup`), smtp-sink dumps each
transaction exactly and refuses where told, a remote kasten on 127.0.0.N takes mail for
its domain at the shared remote port, and the outbound server starts with its account,
its DKIM keys published in the zone. The other outbound tests stand on these."""

import smtplib
import time

import pytest

from kasten_test import DOMAIN, make_message
from outbound_test import OUTBOUND_LISTEN, remote_host


def lookup(k, rtype, name):
    r = k.kasten("dns", "lookup", rtype, name, check=False)
    return r.stdout.decode().splitlines()


def test_zone_answers_declared_records(zone, kasten_factory):
    """MX in preference order (RFC 5321 5.1), A, TXT joined from its 255-byte strings
    (RFC 7208 3.3), TLSA, a null MX (RFC 7505); unsigned zones are insecure, a signed
    one secure, a tampered one bogus (RFC 4035 4.3)."""
    long_txt = "v=DKIM1; k=rsa; p=" + "B" * 400
    zone.mx("dest.test", [(20, "mx2.dest.test"), (10, "mx1.dest.test")])
    zone.a("mx1.dest.test", remote_host(2))
    zone.txt("k._domainkey.dest.test", long_txt)
    zone.tlsa("_25._tcp.mx1.dest.test", 3, 1, 1, "AB" * 32)
    zone.mx("null.test", [(0, ".")])
    zone.declare("secure.test", signed=True).mx("secure.test", [(10, "mx.secure.test")])
    zone.declare("bogus.test", tamper="MX").mx("bogus.test", [(10, "mx.bogus.test")])
    zone.apply()
    k = kasten_factory(listen=(), config=zone.kasten_config())

    out = lookup(k, "MX", "dest.test")
    assert out[0] == "MX dest.test: ok (insecure)"
    assert out[1:] == ["10 mx1.dest.test.", "20 mx2.dest.test."]
    assert lookup(k, "A", "mx1.dest.test")[1:] == [remote_host(2)]
    txt = lookup(k, "TXT", "k._domainkey.dest.test")
    assert long_txt in "".join(txt[1:]).replace('" "', "").replace('"', ""), txt
    tlsa = lookup(k, "TLSA", "_25._tcp.mx1.dest.test")
    assert tlsa[0].endswith("(insecure)") and "3 1 1" in tlsa[1], tlsa
    assert "null MX" in lookup(k, "MX", "null.test")[0]
    assert lookup(k, "MX", "secure.test")[0] == "MX secure.test: ok (secure)"
    assert "bogus" in lookup(k, "MX", "bogus.test")[0]
    # a name in no declared zone: NXDOMAIN from test. itself, not a resolver timeout
    assert lookup(k, "TXT", "_dmarc.undeclared.test")[0] == \
        "TXT _dmarc.undeclared.test: NXDOMAIN (insecure)"


def test_sink_dumps_each_transaction(smtp_sink):
    """Two transactions on one connection: envelope and message bytes as sent
    (dot-stuffing removed, RFC 5321 4.5.2), one session counted."""
    sink = smtp_sink(remote_host(2))
    msgs = [make_message("sink one", body=b".dotted\r\nline\r\n"), make_message("sink two")]
    with smtplib.SMTP(sink.host, sink.port, timeout=30) as s:
        s.ehlo("client.test")
        assert s.sendmail("a@src.test", ["x@dest.test", "y@dest.test"], msgs[0]) == {}
        assert s.sendmail("b@src.test", ["z@dest.test"], msgs[1]) == {}
    got = sink.wait_messages(2)
    assert sorted((m.sender, tuple(m.rcpts), m.data) for m in got) == [
        ("a@src.test", ("x@dest.test", "y@dest.test"), msgs[0]),
        ("b@src.test", ("z@dest.test",), msgs[1])]
    assert got[0].helo == "client.test"
    assert got[0].message_id() is not None
    # the session is counted when it ends, which is after QUIT's reply
    deadline = time.monotonic() + 10
    while sink.counters()["sess"] < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sink.counters() == {"sess": 1, "quit": 1, "mesg": 2}


def test_sink_refuses_where_told(smtp_sink):
    """-r RCPT: every recipient refused 4xx; -f DATA: the message refused 5xx; no dump."""
    soft = smtp_sink(remote_host(4), options=["-r", "RCPT"])
    hard = smtp_sink(remote_host(5), options=["-f", "DATA"])
    with smtplib.SMTP(soft.host, soft.port, timeout=30) as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            s.sendmail("a@src.test", ["x@dest.test"], make_message("soft"))
        assert e.value.recipients["x@dest.test"][0] // 100 == 4
    with smtplib.SMTP(hard.host, hard.port, timeout=30) as s:
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("a@src.test", ["x@dest.test"], make_message("hard"))
        assert e.value.smtp_code // 100 == 5
    assert soft.messages() == [] and hard.messages() == []


def test_remote_kasten_takes_mail_for_its_domain(remote_kasten, remote_port):
    """A second kasten on 127.0.0.3 at the shared remote port: port 25 mail for its
    account is stored."""
    r = remote_kasten(remote_host(3))
    assert r.addr("smtp") == (remote_host(3), remote_port)
    msg = make_message("to the remote", sender="a@src.test", rcpt=r.users[0])
    with smtplib.SMTP(*r.addr("smtp"), timeout=30) as s:
        assert s.sendmail("a@src.test", [r.users[0]], msg) == {}
    [stored] = r.wait_messages(r.users[0], 1)
    assert stored.endswith(msg)


def test_outbound_server_starts_with_account_and_keys(zone, outbound_server, remote_port):
    """The kasten under test: its listeners up, [outbound] remote_port = the test's
    port, its account logs in on submission, and both DKIM keys (RSA and ed25519,
    RFC 8463) answer from the zone as `kasten dns` printed them."""
    k = outbound_server()
    assert set(k.ports) == set(OUTBOUND_LISTEN)
    assert k.settings["outbound"]["remote_port"] == str(remote_port)
    with smtplib.SMTP(*k.addr("submission"), timeout=30) as s:
        s.ehlo("client.test")
        assert s.login(k.user, k.password)[0] == 235
    for selector, k_tag in (("k1", "k=rsa"), ("e1", "k=ed25519")):
        out = lookup(k, "TXT", f"{selector}._domainkey.{DOMAIN}")
        assert out[0].startswith("TXT") and "ok" in out[0], out
        assert k_tag in "".join(out[1:]), out
    assert lookup(k, "A", f"mx.{DOMAIN}")[1:] == ["127.0.0.1"]
