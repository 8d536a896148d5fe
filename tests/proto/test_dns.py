"""kasten's resolver (src/outbound/dns*) against a private unbound (tests/dns_test.py):
`kasten dns lookup TYPE NAME` and `kasten dns check DOMAIN`, with [dns] resolver
pointing at that unbound and [dns] trust_anchor at the DS records of the zones the
fixture signed.

The status line is exact (cmd_dns_lookup.c):
    TYPE NAME: STATUS[, implicit MX | , null MX][, canonical NAME] (SEC)[: WHY]
"""

import re
import socket

import pytest

from dns_test import DnsServer, available
from kasten_test import HOST, KastenServer, sanitizer_report

TLSA_HASH = "8755CDAA8FE24EF16CC0F2C918063185E433FAAF1415664911D9E30A924138C4"
LONG_KEY = "p=" + "A" * 300   # a DKIM-like record longer than one 255-byte string


def zones(d):
    d.zone("example.test", [
        "@ MX 10 mx-a.example.test.",
        "@ MX 10 mx-b.example.test.",
        "@ MX 20 mx-c.example.test.",
        "mx-a A 127.0.0.2",
        "mx-a AAAA ::2",
        "nomx A 127.0.0.4",                      # no MX: implicit MX (RFC 5321 5.1)
        "nullmx MX 0 .",                         # RFC 7505
        "alias CNAME nomx.example.test.",
        'spf TXT "v=spf1 " "mx -all"',            # RFC 7208 3.3: joined as one
        f'k1._domainkey TXT "v=DKIM1; k=rsa; " "{LONG_KEY[:200]}" "{LONG_KEY[200:]}"',
        f"_25._tcp.mx-a TLSA 3 1 1 {TLSA_HASH}",
    ])
    d.zone("secure.test", ["@ MX 10 mx.secure.test.", "mx A 127.0.0.3"], signed=True)
    d.zone("bogus.test", ["@ MX 10 mx.bogus.test.", "mx A 127.0.0.5"], signed=True,
           tamper="MX")
    d.dead_zone("dead.test")


@pytest.fixture(scope="module", params=["plain", "validating"])
def dns(request, tmp_path_factory):
    """Each case runs against a forwarder that does not validate and against one that
    does (answers AD, SERVFAIL for bogus data): kasten's verdicts must be the same."""
    if not available():
        pytest.fail("unbound or ldnsutils missing: scripts/install-deps.sh check")
    d = DnsServer(tmp_path_factory.mktemp("dns"), validating=request.param == "validating")
    zones(d)
    d.start()
    yield d
    d.stop()


@pytest.fixture
def kasten(kasten_factory, dns):
    return kasten_factory(listen=(), config=dns.kasten_config(timeout=10))


def lookup(k, rtype, name, want_rc=None):
    r = k.kasten("dns", "lookup", rtype, name, check=False)
    out = r.stdout.decode()
    if want_rc is not None:
        assert r.returncode == want_rc, (out, r.stderr)
    lines = out.splitlines()
    assert lines, r.stderr
    return lines[0], lines[1:]


def test_mx_preference_order(kasten):
    """RFC 5321 5.1: lowest preference first; the two hosts of preference 10 in random
    order, so over 40 lookups each comes first (p of failing: 2 * 2^-40)."""
    firsts = set()
    for _ in range(40):
        status, recs = lookup(kasten, "MX", "example.test", 0)
        assert status == "MX example.test: ok (insecure)"
        assert sorted(recs[:2]) == ["10 mx-a.example.test.", "10 mx-b.example.test."]
        assert recs[2:] == ["20 mx-c.example.test."]
        firsts.add(recs[0])
        if len(firsts) == 2:
            break
    assert firsts == {"10 mx-a.example.test.", "10 mx-b.example.test."}


def test_implicit_mx(kasten):
    """RFC 5321 5.1: no MX records: the domain itself, preference 0."""
    assert lookup(kasten, "MX", "nomx.example.test", 0) == (
        "MX nomx.example.test: ok, implicit MX (insecure)", ["0 nomx.example.test."])


def test_implicit_mx_after_cname(kasten):
    """RFC 5321 5.1: a CNAME is followed; the implicit MX is the canonical name."""
    assert lookup(kasten, "MX", "alias.example.test", 0) == (
        "MX alias.example.test: ok, implicit MX, canonical nomx.example.test (insecure)",
        ["0 nomx.example.test."])
    assert lookup(kasten, "A", "alias.example.test", 0) == (
        "A alias.example.test: ok, canonical nomx.example.test (insecure)", ["127.0.0.4"])


def test_null_mx(kasten):
    """RFC 7505 3: "0 ." says the domain accepts no mail: no hosts, not an implicit MX."""
    assert lookup(kasten, "MX", "nullmx.example.test", 0) == (
        "MX nullmx.example.test: ok, null MX (insecure)", [])


def test_nxdomain_nodata_servfail_apart(kasten):
    """NXDOMAIN (RCODE 3, RFC 1035 4.1.1), no data (NOERROR, empty answer, RFC 2308 2.2)
    and a temporary failure (a zone whose server does not answer: SERVFAIL) are three
    different answers; the queue bounces the first and retries the last."""
    assert lookup(kasten, "MX", "nope.example.test", 1) == (
        "MX nope.example.test: NXDOMAIN (insecure)", [])
    assert lookup(kasten, "TXT", "mx-a.example.test", 1) == (
        "TXT mx-a.example.test: no data (insecure)", [])
    assert lookup(kasten, "A", "www.dead.test", 1) == (
        "A www.dead.test: temporary failure (insecure): SERVFAIL", [])


def test_addresses(kasten):
    assert lookup(kasten, "A", "mx-a.example.test", 0)[1] == ["127.0.0.2"]
    assert lookup(kasten, "AAAA", "mx-a.example.test", 0) == (
        "AAAA mx-a.example.test: ok (insecure)", ["::2"])


def test_txt_strings_joined(kasten):
    """RFC 7208 3.3 and RFC 6376 3.6.2.2: a record's strings joined with nothing between;
    a 302-byte text given as three strings comes back whole."""
    assert lookup(kasten, "TXT", "spf.example.test", 0) == (
        "TXT spf.example.test: ok (insecure)", ['"v=spf1 mx -all"'])
    assert lookup(kasten, "TXT", "k1._domainkey.example.test", 0)[1] == [
        f'"v=DKIM1; k=rsa; {LONG_KEY}"']


def test_tlsa(kasten):
    """RFC 6698 2.1: usage, selector, matching type, association data."""
    assert lookup(kasten, "TLSA", "_25._tcp.mx-a.example.test", 0) == (
        "TLSA _25._tcp.mx-a.example.test: ok (insecure)", [f"3 1 1 {TLSA_HASH}"])


def test_dnssec_secure_insecure_bogus(kasten):
    """The signed zone validates (secure), its proven non-existence too (RFC 4035 5.4);
    the unsigned one is insecure; a tampered signature is bogus: a temporary failure
    whose records are never handed on (RFC 4035 5.5)."""
    assert lookup(kasten, "MX", "secure.test", 0) == (
        "MX secure.test: ok (secure)", ["10 mx.secure.test."])
    assert lookup(kasten, "A", "nope.secure.test", 1) == (
        "A nope.secure.test: NXDOMAIN (secure)", [])
    assert lookup(kasten, "TXT", "secure.test", 1) == ("TXT secure.test: no data (secure)", [])
    assert lookup(kasten, "MX", "example.test", 0)[0] == "MX example.test: ok (insecure)"
    status, recs = lookup(kasten, "MX", "bogus.test", 1)
    assert status.startswith("MX bogus.test: temporary failure (bogus): DNSSEC bogus: ")
    assert "signature" in status and recs == []
    # the zone's other, untampered records still validate
    assert lookup(kasten, "A", "mx.bogus.test", 0) == (
        "A mx.bogus.test: ok (secure)", ["127.0.0.5"])


def test_secure_needs_our_own_validation(kasten_factory, dns):
    """What makes an answer secure is kasten's validation from its trust anchor, never
    the forwarder's word (a validating forwarder sets AD on secure.test): without a
    trust anchor for the zone, or with [dns] dnssec = no, the same answer is insecure."""
    other = DnsServer(dns.dir / "other-anchor")
    other.zone("secure.test", ["@ MX 10 elsewhere.test."], signed=True)  # another key
    no_anchor = kasten_factory(listen=(), config={"dns": {
        "resolver": dns.addr(), "trust_anchor": str(other.trust_anchor_file())}},
        name="wrong-anchor")
    status, _ = lookup(no_anchor, "MX", "secure.test", 1)
    assert status.startswith("MX secure.test: temporary failure (bogus)")
    off = kasten_factory(listen=(), config={"dns": {"resolver": dns.addr(),
                                                    "dnssec": "no"}}, name="dnssec-off")
    assert lookup(off, "MX", "secure.test", 0) == (
        "MX secure.test: ok (insecure)", ["10 mx.secure.test."])


def test_timeout_bounds_a_query(kasten_factory):
    """[dns] timeout bounds one query (at most LIMIT_DNS_QUERY_TIME): a resolver that
    takes the query and never answers gives a temporary failure that says so."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind((HOST, 0))
        k = kasten_factory(listen=(), config={"dns": {
            "resolver": f"{HOST}:{silent.getsockname()[1]}", "timeout": "1"}})
        r = k.kasten("dns", "lookup", "A", "example.test", check=False, timeout=30)
    assert r.returncode == 1
    assert r.stdout.decode() == \
        "A example.test: temporary failure (insecure): no answer within 1 s\n"


def test_recursion_mode_defaults(kasten_factory):
    """Without [dns] resolver kasten recurses from the root itself, validating from
    Debian's root key (dns-root-data). This machine reaches no root server, so the one
    answer to see is libunbound's own for localhost (RFC 6761 6.3), which also shows
    that the default trust anchor was read and accepted."""
    k = kasten_factory(listen=())
    assert lookup(k, "A", "localhost", 0) == ("A localhost: ok (insecure)", ["127.0.0.1"])
    assert lookup(k, "AAAA", "localhost", 0) == ("AAAA localhost: ok (insecure)", ["::1"])


def test_unreadable_trust_anchor(kasten_factory, tmp_path):
    """A trust anchor that cannot be read stops the resolver at once, saying which file
    (libunbound itself would notice only at the first query)."""
    k = kasten_factory(listen=(), config={"dns": {"trust_anchor": str(tmp_path / "none")}})
    r = k.kasten("dns", "lookup", "A", "localhost", check=False)
    assert r.returncode == 1 and r.stdout == b""
    assert f"trust anchor {tmp_path / 'none'}: cannot read it".encode() in r.stderr


def test_lookup_usage(kasten):
    for args in (["dns", "lookup"], ["dns", "lookup", "MX"], ["dns", "lookup", "SOA", "x.test"],
                 ["dns", "lookup", "MX", "a..b"], ["dns", "lookup", "MX", "x", "y"]):
        r = kasten.kasten(*args, check=False)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stdout == b""


def test_bad_resolver_key(kasten_factory):
    """[dns] resolver must be ADDR:PORT: a host name or a missing port is refused."""
    for bad in ("localhost:53", "127.0.0.1", "[::1]53", "127.0.0.1:0"):
        k = kasten_factory(listen=(), config={"dns": {"resolver": bad}}, name="bad")
        r = k.kasten("dns", "lookup", "A", "example.test", check=False)
        assert r.returncode == 1, (bad, r.stdout, r.stderr)
        assert b"[dns] resolver" in r.stderr


# ---- kasten dns DOMAIN: the client-setup records (RFC 6186, RFC 8314 5.1) ----

def dns_print(tmp_path, listen, extra=None):
    """`kasten dns example.org` with these [listen] values (every other one off)."""
    k = KastenServer(tmp_path, listen=(),
                     config={"server": {"hostname": "mail.example.org"},
                             "listen": listen, **(extra or {})})
    k.data.mkdir(parents=True, exist_ok=True)
    return k.kasten("dns", "example.org").stdout.decode().splitlines()


HEAD = [
    "; the records example.org publishes for mail through mail.example.org "
    "(kasten dns check example.org)",
    "example.org. 3600 IN MX 10 mail.example.org.",
    'example.org. 3600 IN TXT "v=spf1 mx -all"',
    '_dmarc.example.org. 3600 IN TXT "v=DMARC1; p=quarantine; '
    'rua=mailto:postmaster@example.org"',
]
TAIL = [
    "; mail.example.org. 3600 IN A <the IPv4 address of this host>",
    "; mail.example.org. 3600 IN AAAA <the IPv6 address of this host>",
]


def test_print_client_records_all_listeners(tmp_path):
    """Every client service on: RFC 6186 SRV records with the listeners' ports, implicit
    TLS at a lower priority number than STARTTLS (RFC 8314 5.1), IMAP before POP3
    (RFC 6186 3.4), Outlook's _autodiscover at the https port, and the autoconfig and
    autodiscover names as CNAMEs to the host. A listener bound to loopback is
    published under the hostname all the same (the admin's forwarding)."""
    listen = {"imaps": "127.0.0.1:993", "imap": "[::1]:143", "pop3s": "*:995",
              "pop3": "127.0.0.1:110", "submissions": "127.0.0.1:465",
              "submission": "127.0.0.1:587", "https": "127.0.0.1:443"}
    assert dns_print(tmp_path, listen) == HEAD + [
        "_imaps._tcp.example.org. 3600 IN SRV 0 1 993 mail.example.org.",
        "_imap._tcp.example.org. 3600 IN SRV 10 1 143 mail.example.org.",
        "_pop3s._tcp.example.org. 3600 IN SRV 20 1 995 mail.example.org.",
        "_pop3._tcp.example.org. 3600 IN SRV 30 1 110 mail.example.org.",
        "_submissions._tcp.example.org. 3600 IN SRV 0 1 465 mail.example.org.",
        "_submission._tcp.example.org. 3600 IN SRV 10 1 587 mail.example.org.",
        "_autodiscover._tcp.example.org. 3600 IN SRV 0 1 443 mail.example.org.",
        "autoconfig.example.org. 3600 IN CNAME mail.example.org.",
        "autodiscover.example.org. 3600 IN CNAME mail.example.org.",
    ] + TAIL


def test_print_client_records_pop3_off_other_ports(tmp_path):
    """[pop3] enabled = no: both POP3 services are "0 0 0 ." (RFC 6186 4: not
    offered), like a listener that is off (imap, submissions, https here); other ports
    are published as configured."""
    listen = {"imaps": "127.0.0.1:10993", "pop3s": "127.0.0.1:10995",
              "pop3": "127.0.0.1:10110", "submission": "127.0.0.1:10587"}
    assert dns_print(tmp_path, listen, {"pop3": {"enabled": "no"}}) == HEAD + [
        "_imaps._tcp.example.org. 3600 IN SRV 0 1 10993 mail.example.org.",
        "_imap._tcp.example.org. 3600 IN SRV 0 0 0 .",
        "_pop3s._tcp.example.org. 3600 IN SRV 0 0 0 .",
        "_pop3._tcp.example.org. 3600 IN SRV 0 0 0 .",
        "_submissions._tcp.example.org. 3600 IN SRV 0 0 0 .",
        "_submission._tcp.example.org. 3600 IN SRV 10 1 10587 mail.example.org.",
        "_autodiscover._tcp.example.org. 3600 IN SRV 0 0 0 .",
        "autoconfig.example.org. 3600 IN CNAME mail.example.org.",
        "autodiscover.example.org. 3600 IN CNAME mail.example.org.",
    ] + TAIL


def test_lookup_srv_cname(kasten_factory, tmp_path):
    """`kasten dns lookup` reads SRV (RFC 2782; the target "." of RFC 6186 4 shown as
    ".") and CNAME records."""
    d = DnsServer(tmp_path / "dns")
    d.zone("srv.test", ["_imaps._tcp SRV 0 1 993 mail.srv.test.",
                        "_pop3._tcp SRV 0 0 0 .",
                        "autoconfig CNAME mail.srv.test.", "mail A 127.0.0.7"])
    d.start()
    try:
        k = kasten_factory(listen=(), config=d.kasten_config(), name="srvlookup")
        assert lookup(k, "SRV", "_imaps._tcp.srv.test", 0) == (
            "SRV _imaps._tcp.srv.test: ok (insecure)", ["0 1 993 mail.srv.test."])
        assert lookup(k, "SRV", "_pop3._tcp.srv.test", 0)[1] == ["0 0 0 ."]
        assert lookup(k, "CNAME", "autoconfig.srv.test", 0)[1] == ["mail.srv.test."]
    finally:
        d.stop()


# ---- kasten dns check DOMAIN ----

CHECK_DOMAIN = "check.test"
CHECK_HOST = "mail.check.test"
# IMAP and submission both ways, https for Outlook; POP3 off: "0 0 0 ." wanted
CHECK_LISTEN = {"imaps": "127.0.0.1:993", "imap": "127.0.0.1:143",
                "submissions": "127.0.0.1:465", "submission": "127.0.0.1:587",
                "https": "127.0.0.1:443"}
CHECK_CONFIG = {"server": {"hostname": CHECK_HOST}, "listen": CHECK_LISTEN}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """What `kasten dns check.test` says to publish, with a DKIM key of each algorithm,
    as zone-file lines (the A/AAAA it leaves as comments filled in)."""
    k = KastenServer(tmp_path_factory.mktemp("pub"), listen=(), config=CHECK_CONFIG)
    k.data.mkdir(parents=True, exist_ok=True)
    k.kasten("dkim", "keygen", CHECK_DOMAIN, "--algorithm", "rsa")
    k.kasten("dkim", "keygen", CHECK_DOMAIN, "--algorithm", "ed25519")
    out = k.kasten("dns", CHECK_DOMAIN).stdout.decode()
    lines = [l for l in out.splitlines() if l and not l.startswith(";")]
    assert sum(" IN TXT " in l for l in lines) == 4, out   # SPF, DMARC, two DKIM
    assert any(" IN MX " in l for l in lines), out
    assert sum(" IN SRV " in l for l in lines) == 7, out
    assert sum(" IN CNAME " in l for l in lines) == 2, out
    return k, lines + [f"{CHECK_HOST}. 3600 IN A 127.0.0.9"]


def check(k, d, lines):
    d.zones.clear()
    d.zone(CHECK_DOMAIN, lines)
    d.restart()
    r = k.kasten("dns", "check", CHECK_DOMAIN, check=False)
    assert sanitizer_report(r.stderr) is None
    return r.returncode, r.stdout.decode().splitlines()


@pytest.fixture
def checker(published, tmp_path):
    k, lines = published
    d = DnsServer(tmp_path / "dns")
    d.zone(CHECK_DOMAIN, lines)
    d.start()
    k.write_config({**CHECK_CONFIG, **d.kasten_config()})
    yield k, d, lines
    d.stop()


def test_check_all_ok(checker):
    k, d, lines = checker
    rc, out = check(k, d, lines)
    assert rc == 0, out
    verdicts = [l.split(" ", 2)[:2] for l in out[:-1]]
    assert verdicts == [["ok", "mx"], ["ok", "spf"], ["ok", "dmarc"], ["ok", "dkim"],
                        ["ok", "dkim"]] + [["ok", "srv"]] * 7 + [["ok", "cname"]] * 2 + [
                        ["ok", "a"], ["missing", "aaaa"]], out
    assert out[-1] == "all 16 records ok"   # one address family is enough


def _role(line):
    if " IN SRV " in line:
        return "srv"
    if " IN CNAME " in line:
        return "cname"
    if " IN MX " in line:
        return "mx"
    if "v=spf1" in line:
        return "spf"
    if line.startswith("_dmarc."):
        return "dmarc"
    if "._domainkey." in line:
        return "dkim"
    return "a"


@pytest.mark.parametrize("role", ["mx", "spf", "dmarc", "dkim", "srv", "cname", "a"])
def test_check_missing(checker, role):
    k, d, lines = checker
    victim = next(l for l in lines if _role(l) == role)
    rc, out = check(k, d, [l for l in lines if l != victim])
    assert rc == 1
    bad = [l for l in out[:-1] if not l.startswith("ok ")
           and not l.startswith("missing aaaa ")]
    assert len(bad) == 1 and bad[0].startswith(f"missing {role} "), out
    assert out[-1].startswith("1 of 16 records not ok"), out


CHANGES = {
    "mx": (r"MX 10 \S+", "MX 10 other.check.test.", 'found "10 other.check.test"'),
    "spf": (r'"v=spf1[^"]*"', '"v=spf1 -all"', 'found "v=spf1 -all"'),
    "dmarc": (r"p=quarantine", "p=none", 'found "v=DMARC1; p=none;'),
    "dkim": (r"p=[A-Za-z0-9+/]{8}", "p=AAAAAAAA", 'found "v=DKIM1;'),
    "srv": (r"SRV 0 1 993 ", "SRV 0 1 994 ", 'found "0 1 994 mail.check.test."'),
    "cname": (r"CNAME \S+", "CNAME other.check.test.", 'found "other.check.test"'),
    "a": (r"A 127\.0\.0\.9", "A 127.0.0.10", None),
}


@pytest.mark.parametrize("role", list(CHANGES))
def test_check_different(checker, role):
    k, d, lines = checker
    pattern, repl, found = CHANGES[role]
    victim = next(l for l in lines if _role(l) == role)
    changed = re.sub(pattern, repl, victim, count=1)
    assert changed != victim
    rc, out = check(k, d, [changed if l == victim else l for l in lines])
    bad = [l for l in out[:-1] if not l.startswith("ok ")
           and not l.startswith("missing aaaa ")]
    if role == "a":
        # "any address" is what kasten asks for the host: another address is fine
        assert rc == 0 and bad == [], out
        return
    assert rc == 1
    assert len(bad) == 1 and bad[0].startswith(f"different {role} "), out
    assert found in bad[0], out


def test_check_srv_rules(checker):
    """SRV: the priority and weight are the admin's (ok), the target and port are not;
    a service that is off wants exactly "0 0 0 ." (RFC 6186 4), so a record offering
    it is "different", and so is "." for a service that is on."""
    k, d, lines = checker
    pop3 = next(l for l in lines if l.startswith("_pop3._tcp."))
    imap = next(l for l in lines if l.startswith("_imap._tcp."))
    assert pop3.endswith(" IN SRV 0 0 0 ."), pop3
    changed = {pop3: pop3.replace("0 0 0 .", f"30 1 110 {CHECK_HOST}."),
               imap: imap.replace(" SRV 10 1 ", " SRV 5 7 ")}
    rc, out = check(k, d, [changed.get(l, l) for l in lines])
    bad = [l for l in out[:-1] if not l.startswith("ok ") and not l.startswith("missing aaaa ")]
    assert rc == 1 and len(bad) == 1, out
    assert bad[0].startswith(f"different srv _pop3._tcp.{CHECK_DOMAIN}: \"0 0 0 .\", "
                             f'found "30 1 110 {CHECK_HOST}."'), out
    imaps = next(l for l in lines if l.startswith("_imaps._tcp."))
    rc, out = check(k, d, [l.split(" SRV ")[0] + " SRV 0 0 0 ." if l == imaps else l
                           for l in lines])
    bad = [l for l in out[:-1] if not l.startswith("ok ") and not l.startswith("missing aaaa ")]
    assert rc == 1 and len(bad) == 1 and bad[0].startswith("different srv _imaps."), out


def test_check_two_spf_records(checker):
    """RFC 7208 4.5: two SPF records are a permerror for every receiver."""
    k, d, lines = checker
    rc, out = check(k, d, lines + [f'{CHECK_DOMAIN}. 3600 IN TXT "v=spf1 a -all"'])
    assert rc == 1
    spf = [l for l in out if l.split(" ")[1] == "spf"]
    assert spf[0].startswith("different spf ") and "2 spf records" in spf[0], out


def test_check_failed_lookup(kasten_factory, dns):
    """A domain whose server does not answer: every record "failed", exit 1."""
    k = kasten_factory(listen=(), config={"server": {"hostname": "mail.dead.test"},
                                          **dns.kasten_config()}, name="deadcheck")
    r = k.kasten("dns", "check", "dead.test", check=False)
    out = r.stdout.decode().splitlines()
    assert r.returncode == 1
    assert out[0].startswith("failed mx dead.test: ") and out[0].endswith(": SERVFAIL"), out
