"""MTA-STS (RFC 8461) and DANE (RFC 7672) policy decisions (src/outbound/tlspol*,
mtasts*, dane.c) through `kasten tls-policy DOMAIN`: the private unbound of
tests/dns_test.py serves the _mta-sts TXT, MX, A and TLSA records (signed zones for
DANE), and HTTPS servers on loopback (python's http.server with a test CA made with
openssl) serve the policies at https://mta-sts.<domain>/.well-known/mta-sts.txt on
[outbound] mta_sts_port, verified against [outbound] mta_sts_ca_file.

The delivery cases at the end send real mail through the engine (tests/outbound_test.py
fixtures) to a second kasten whose certificate does or does not satisfy the policy.

Output format (cmd_tls_policy.c):
    domain DOMAIN
    mta-sts MODE[ id=ID source=SOURCE max_age=N expires_in=Ns]
      pattern PATTERN
      why TEXT
    mx PREF HOST (SEC): REQUIREMENT | skipped (not in the enforced MTA-STS policy)
      tlsa U S M HEX / names NAME... / why TEXT
"""

import hashlib
import http.server
import ssl
import subprocess
import threading
import time

import pytest

from dns_test import DnsServer, available
from kasten_test import KastenServer, free_ports, make_message
from outbound_test import remote_host, submit

TLSA_HASH = "8755CDAA8FE24EF16CC0F2C918063185E433FAAF1415664911D9E30A924138C4"
GOOD_IP, BAD_IP = "127.0.0.20", "127.0.0.21"   # HTTPS with the CA's cert / a stranger's
GONE_IP = "127.0.0.22"                          # nothing listens there

ENFORCE = "version: STSv1\r\nmode: enforce\r\nmx: mx.enforce.test\r\nmax_age: 86400\r\n"

# host -> (status, content type, body, extra headers) the HTTPS servers answer with
POLICIES = {
    "mta-sts.enforce.test": (200, "text/plain", ENFORCE),
    "mta-sts.testing.test": (200, "text/plain; charset=utf-8",
                             "version: STSv1\nmode: testing\nmx: mx.testing.test\n"
                             "max_age: 86400\n"),
    "mta-sts.none.test": (200, "text/plain", "version: STSv1\nmode: none\nmax_age: 86400\n"),
    "mta-sts.wild.test": (200, "text/plain",
                          "version: STSv1\nmode: enforce\nmx: *.wild.test\nmax_age: 600\n"),
    "mta-sts.badcert.test": (200, "text/plain", ENFORCE.replace("enforce.test", "badcert.test")),
    "mta-sts.wrongname.test": (200, "text/plain",
                               ENFORCE.replace("enforce.test", "wrongname.test")),
    "mta-sts.html.test": (200, "text/html", ENFORCE.replace("enforce.test", "html.test")),
    "mta-sts.redirect.test": (301, "text/plain", ""),
    "mta-sts.big.test": (200, "text/plain",
                         ENFORCE.replace("enforce.test", "big.test")
                         + "x: " + "y" * (64 * 1024) + "\n"),
    "mta-sts.cache.test": (200, "text/plain", ENFORCE.replace("enforce.test", "cache.test")),
    "mta-sts.dane.test": (200, "text/plain",
                          "version: STSv1\nmode: enforce\nmx: mx.dane.test\nmax_age: 600\n"),
    # no Content-Length: the end of the body is the TLS close, made properly or not
    "mta-sts.noclen.test": (200, "text/plain", ENFORCE.replace("enforce.test", "noclen.test"),
                            "close_notify"),
    "mta-sts.cut.test": (200, "text/plain", ENFORCE.replace("enforce.test", "cut.test"),
                         "tcp_close"),
    # the delivery cases
    "mta-sts.stsgood.test": (200, "text/plain", ENFORCE.replace("enforce.test", "stsgood.test")),
    "mta-sts.stsbad.test": (200, "text/plain", ENFORCE.replace("enforce.test", "stsbad.test")),
}
HITS = {}


def sts_zone(name, ip=GOOD_IP, mx=("mx",), txt_id="1"):
    recs = [f"@ MX {10 * (i + 1)} {m}.{name}." for i, m in enumerate(mx)]
    recs += [f"{m} A 127.0.0.2" for m in mx if "." not in m]
    recs += [f'_mta-sts TXT "v=STSv1; id={txt_id};"', f"mta-sts A {ip}"]
    return recs


def zones(d, cache_id="1", cache_ip=GOOD_IP):
    d.zone("enforce.test", sts_zone("enforce.test", mx=("mx", "other")))
    d.zone("testing.test", sts_zone("testing.test", mx=("elsewhere",)))
    d.zone("none.test", sts_zone("none.test"))
    d.zone("wild.test", sts_zone("wild.test", mx=("a", "b.c")) + ["b.c A 127.0.0.2"])
    d.zone("badcert.test", sts_zone("badcert.test", ip=BAD_IP))
    d.zone("wrongname.test", sts_zone("wrongname.test"))
    d.zone("html.test", sts_zone("html.test"))
    d.zone("redirect.test", sts_zone("redirect.test"))
    d.zone("big.test", sts_zone("big.test"))
    d.zone("noclen.test", sts_zone("noclen.test"))
    d.zone("cut.test", sts_zone("cut.test"))
    d.zone("cache.test", sts_zone("cache.test", ip=cache_ip, txt_id=cache_id))
    d.zone("nosts.test", ["@ MX 10 mx.nosts.test.", "mx A 127.0.0.2",
                          # a TLSA in an unsigned zone is not used (RFC 7672 2.2)
                          f"_25._tcp.mx TLSA 3 1 1 {TLSA_HASH}",
                          '_mta-sts TXT "v=spf1 -all"'])
    # DANE: signed zones (RFC 7672 2.2: a secure MX, secure address, secure TLSA)
    d.zone("dane.test", ["@ MX 10 mx.dane.test.", "mx A 127.0.0.2",
                         f"_25._tcp.mx TLSA 3 1 1 {TLSA_HASH}",
                         f"_25._tcp.mx TLSA 1 1 1 {TLSA_HASH}",   # PKIX-EE: not usable
                         '_mta-sts TXT "v=STSv1; id=1;"', f"mta-sts A {GOOD_IP}"],
           signed=True)
    d.zone("pkixonly.test", ["@ MX 10 mx.pkixonly.test.", "mx A 127.0.0.2",
                             f"_25._tcp.mx TLSA 1 1 1 {TLSA_HASH}"], signed=True)
    d.zone("notlsa.test", ["@ MX 10 mx.notlsa.test.", "mx A 127.0.0.2"], signed=True)
    d.zone("nomx.test", ["@ A 127.0.0.2", f"_25._tcp TLSA 3 1 1 {TLSA_HASH}"], signed=True)
    d.zone("danebogus.test", ["@ MX 10 mx.danebogus.test.", "mx A 127.0.0.2",
                              f"_25._tcp.mx TLSA 3 1 1 {TLSA_HASH}"],
           signed=True, tamper="TLSA")


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def leaf_cert(d, name, names, ca=True):
    """d/name.pem and d/name.key for the DNS names, issued by the test CA (ca) or
    self-signed (no CA knows it)."""
    san = "subjectAltName=" + ",".join(f"DNS:{h}" for h in names)
    if not ca:
        openssl("req", "-x509", *EC, "-keyout", f"{name}.key", "-out", f"{name}.pem",
                "-days", "2", "-subj", f"/CN={names[0]}", "-addext", san, cwd=d)
        return
    (d / f"{name}.cnf").write_text(san + "\n")
    openssl("req", *EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj",
            f"/CN={names[0]}", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.cnf",
            cwd=d)


def spki_sha256(pem):
    """The TLSA 3 1 1 data of a certificate (RFC 6698 2.1.2/2.1.3): SHA-256 of its
    DER SubjectPublicKeyInfo."""
    pub = subprocess.run(["openssl", "x509", "-in", str(pem), "-pubkey", "-noout"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         check=True, capture_output=True).stdout
    return hashlib.sha256(der).hexdigest().upper()


def make_certs(d):
    """A test CA; a server certificate from it for every mta-sts name but
    wrongname.test's; a self-signed one for badcert.test."""
    openssl("req", "-x509", *EC, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=kasten test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign", cwd=d)
    leaf_cert(d, "good", [h for h in POLICIES if h != "mta-sts.wrongname.test"])
    leaf_cert(d, "bad", ["mta-sts.badcert.test"], ca=False)


class PolicyHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0]
        HITS[host] = HITS.get(host, 0) + 1
        entry = POLICIES.get(host)
        if self.path != "/.well-known/mta-sts.txt" or entry is None:
            self.send_error(404)
            return
        status, ctype, body, *close = entry
        self.send_response(status)
        if status == 301:
            self.send_header("Location", f"https://{host}/elsewhere")
        self.send_header("Content-Type", ctype)
        if not close:
            self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())
        self.wfile.flush()
        if close == ["close_notify"]:
            # the body ends with a TLS close (RFC 8446 6.1); python's close alone
            # sends none, which is what a cut looks like
            self.connection.unwrap()
            self.close_connection = True

    def log_message(self, *args):
        pass


def https_server(ip, port, cert, key):
    srv = http.server.ThreadingHTTPServer((ip, port), PolicyHandler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.fixture(scope="module")
def https(tmp_path_factory):
    """The policy servers: (port, certificate dir); the test CA is dir/ca.pem."""
    certs = tmp_path_factory.mktemp("certs")
    make_certs(certs)
    port = free_ports(1)[0]
    servers = [https_server(GOOD_IP, port, certs / "good.pem", certs / "good.key"),
               https_server(BAD_IP, port, certs / "bad.pem", certs / "bad.key")]
    yield port, certs
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.fixture(scope="module")
def env(tmp_path_factory, https):
    if not available():
        pytest.fail("unbound or ldnsutils missing: scripts/install-deps.sh check")
    d = DnsServer(tmp_path_factory.mktemp("dns"))
    zones(d)
    d.start()
    yield d, https[0], https[1] / "ca.pem"
    d.stop()


@pytest.fixture(scope="module")
def kasten(env, tmp_path_factory):
    """One data dir for the module: the MTA-STS cache persists across the cases, as it
    does across a server's deliveries."""
    d, port, ca = env
    k = KastenServer(tmp_path_factory.mktemp("kasten"), listen=(), config={
        **d.kasten_config(timeout=10),
        "outbound": {"mta_sts_port": str(port), "mta_sts_ca_file": str(ca)}})
    k.data.mkdir(parents=True, exist_ok=True)
    return k


def policy(k, domain, *args, want_rc=0):
    r = k.kasten("tls-policy", domain, *args, check=False)
    out = r.stdout.decode()
    assert r.returncode == want_rc, (out, r.stderr.decode()[-3000:])
    return out.splitlines()


def mx_lines(lines):
    """{host: (requirement line after ': ', [indented lines])}"""
    res, cur = {}, None
    for line in lines:
        if line.startswith("mx "):
            head, _, req = line.partition(": ")
            cur = head.split()[2]
            res[cur] = (req, [])
        elif line.startswith("  ") and cur:
            res[cur][1].append(line.strip())
    return res


def test_enforce_pkix_and_mx_mismatch(kasten):
    """RFC 8461 4.1: in enforce mode an MX no pattern matches is not used; 4.2: a
    matching MX needs a certificate valid for its name (pkix)."""
    lines = policy(kasten, "enforce.test")
    assert lines[0] == "domain enforce.test"
    assert lines[1].startswith("mta-sts enforce id=1 source=")
    assert "max_age=86400" in lines[1]
    assert lines[2] == "  pattern mx.enforce.test"
    mx = mx_lines(lines)
    assert mx["mx.enforce.test"][0] == "pkix"
    assert "names mx.enforce.test" in mx["mx.enforce.test"][1]
    assert mx["other.enforce.test"][0] == "skipped (not in the enforced MTA-STS policy)"


def test_testing_mode_never_refuses(kasten):
    """RFC 8461 5: testing: the MX that does not match is still used, TLS opportunistic;
    a media type with parameters is still text/plain (RFC 8461 3.3)."""
    lines = policy(kasten, "testing.test")
    assert lines[1].startswith("mta-sts testing id=1 ")
    mx = mx_lines(lines)
    assert mx["elsewhere.testing.test"][0] == "opportunistic (MTA-STS testing)"


def test_mode_none(kasten):
    """RFC 8461 5: "none": a policy without mx that withdraws the protection."""
    lines = policy(kasten, "none.test")
    assert lines[1].startswith("mta-sts none id=1 ")
    req, detail = mx_lines(lines)["mx.none.test"]
    assert req == "opportunistic"
    assert any("MTA-STS mode none" in l for l in detail)


def test_wildcard_one_label(kasten):
    """RFC 8461 4.1: "*.wild.test" matches a.wild.test, not b.c.wild.test."""
    mx = mx_lines(policy(kasten, "wild.test"))
    assert mx["a.wild.test"][0] == "pkix"
    assert mx["b.c.wild.test"][0].startswith("skipped")


@pytest.mark.parametrize("domain,reason", [
    ("badcert.test", "certificate of mta-sts.badcert.test does not verify"),
    ("wrongname.test", "certificate of mta-sts.wrongname.test does not verify"),
    ("html.test", "media type is not text/plain"),
    ("redirect.test", "HTTP status 301"),
    ("big.test", "policy body over 65536 bytes"),
    ("cut.test", "closed without TLS close_notify and without Content-Length"),
])
def test_unusable_policy_ignored(kasten, domain, reason):
    """RFC 8461 3.3: a policy is only taken from an HTTPS server whose certificate is
    valid for mta-sts.<domain>, answering 200 (no redirects) with text/plain of at
    most 64 KiB, whose end is certain (a Content-Length, or the TLS close_notify: a
    connection simply closed could be an attacker cutting "max_age: 604800" short);
    otherwise, with nothing cached, delivery goes on as without MTA-STS."""
    lines = policy(kasten, domain)
    assert lines[1] == "mta-sts absent"
    assert reason in lines[2], lines
    assert mx_lines(lines)[f"mx.{domain}"][0] == "opportunistic"


def test_body_ended_by_close_notify(kasten):
    """Without Content-Length the body ends with the connection; a TLS close_notify
    makes that end certain (RFC 8446 6.1): the policy applies."""
    lines = policy(kasten, "noclen.test")
    assert lines[1].startswith("mta-sts enforce id=1 source=fetched"), lines
    assert mx_lines(lines)["mx.noclen.test"][0] == "pkix"


def test_no_sts_record(kasten):
    """RFC 8461 3.1: a TXT at _mta-sts that is not "v=STSv1" is not a policy; RFC 7672
    2.2: a TLSA record in an unsigned zone gives no DANE."""
    lines = policy(kasten, "nosts.test")
    assert lines[1] == "mta-sts absent"
    req, detail = mx_lines(lines)["mx.nosts.test"]
    assert req == "opportunistic"
    assert any("not DNSSEC-secure" in l for l in detail)


def test_cache_reuse_and_id_change(kasten, env):
    """RFC 8461 5.1/3.3: the id unchanged: the cached policy, no fetch; a new id while
    the policy server is gone (nothing listens at its address): the cached, unexpired
    policy still applies; a newer id with the server back: fetched again."""
    d = env[0]
    HITS.clear()
    first = policy(kasten, "cache.test")
    assert "source=fetched" in first[1]
    assert HITS.get("mta-sts.cache.test") == 1
    again = policy(kasten, "cache.test")
    assert "source=cached " in again[1], again
    assert HITS.get("mta-sts.cache.test") == 1          # no second fetch
    try:
        zones(d, cache_id="2", cache_ip=GONE_IP)
        d.restart()
        stale = policy(kasten, "cache.test")
        assert stale[1].startswith("mta-sts enforce id=1 source=cached, refresh failed"), stale
        assert "connect: Connection refused" in stale[3], stale
        assert mx_lines(stale)["mx.cache.test"][0] == "pkix"
        saved = POLICIES["mta-sts.cache.test"]
        POLICIES["mta-sts.cache.test"] = (saved[0], saved[1],
                                           saved[2].replace("enforce", "testing"))
    finally:
        zones(d, cache_id="3")
        d.restart()
    fresh = policy(kasten, "cache.test")
    assert fresh[1].startswith("mta-sts testing id=3 source=fetched"), fresh
    assert HITS.get("mta-sts.cache.test") == 2


def test_dane_ee(kasten):
    """RFC 7672 2.2, 3.1.1: secure MX, address and TLSA: DANE with the usable record
    only (3.1.3: PKIX-EE is not used for SMTP). DANE, not the PKIX check of the
    enforced MTA-STS policy, verifies the host (RFC 8461 2: MTA-STS never overrides
    DANE); the policy's mx list still says which hosts may be used."""
    lines = policy(kasten, "dane.test")
    assert lines[1].startswith("mta-sts enforce ")
    req, detail = mx_lines(lines)["mx.dane.test"]
    assert req == "dane"
    assert detail[0] == f"tlsa 3 1 1 {TLSA_HASH}"
    assert "names mx.dane.test dane.test" in detail


def test_dane_without_mx(kasten):
    """RFC 7672 2.2.1 with RFC 5321 5.1: no MX records, the domain is its own host; its
    secure address and TLSA answers give DANE."""
    lines = policy(kasten, "nomx.test")
    assert "no MX records: the domain itself (RFC 5321 5.1)" in lines
    req, detail = mx_lines(lines)["nomx.test"]
    assert req == "dane"
    assert detail[0] == f"tlsa 3 1 1 {TLSA_HASH}"
    assert "names nomx.test" in detail


def test_dane_other_port(kasten):
    """RFC 7672 2.2.2: the TLSA name carries the port: none at _2525._tcp."""
    req, detail = mx_lines(policy(kasten, "notlsa.test", "--port", "2525"))["mx.notlsa.test"]
    assert req == "opportunistic"
    assert any("_2525._tcp.mx.notlsa.test" in l for l in detail)


def test_dane_unusable_records_encrypt(kasten):
    """RFC 7672 2.2: a secure TLSA RRset with no usable record: TLS still required."""
    req, _ = mx_lines(policy(kasten, "pkixonly.test"))["mx.pkixonly.test"]
    assert req == "encrypt"


def test_dane_bogus_defers(kasten):
    """RFC 7672 2.2: a TLSA answer that fails validation: no delivery to that host now
    (never plain text), the whole domain deferred: exit 1."""
    lines = policy(kasten, "danebogus.test", want_rc=1)
    req, detail = mx_lines(lines)["mx.danebogus.test"]
    assert req == "defer"
    assert any("bogus" in l for l in detail)



def test_usage_errors(kasten):
    """Exit 2 on a usage error or a name that is not a domain; --help prints the usage
    and does nothing else (main.c)."""
    for args in ((), ("a.test", "b.test"), ("--port", "0", "a.test"), ("--bogus",),
                 ("bad_domain!",)):
        r = kasten.kasten("tls-policy", *args, check=False)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stdout == b"", args
    r = kasten.kasten("tls-policy", "--help", check=False)
    assert r.returncode == 0 and r.stdout.startswith(b"usage: kasten tls-policy DOMAIN")

# ---- real delivery through the engine ----

def queue_error(k, rcpt, timeout=60):
    """Wait until the queue shows a last error for the message to rcpt; returns the
    line (the state the test checks, not a time)."""
    deadline = time.monotonic() + timeout
    while True:
        out = k.kasten("queue", "list").stdout.decode()
        lines = [l for l in out.splitlines() if rcpt in l and "TLS" in l]
        if lines or time.monotonic() > deadline:
            assert lines, out
            return lines[0]
        time.sleep(0.2)


def test_delivery_dane(zone, remote_port, remote_kasten, outbound_server, https, tmp_path):
    """RFC 7672 3.1.1: the MX's certificate matches its DANE-EE record: delivered, the
    handshake verified by DANE (a self-signed certificate is fine). A record that does
    not match the certificate: the mail stays queued, never sent in clear (2.2)."""
    certs = https[1]
    leaf_cert(certs, "mxdane", ["mx.daneok.test"], ca=False)
    leaf_cert(certs, "mxdanebad", ["mx.danebad.test"], ca=False)
    for dom, ip, cert in (("daneok.test", remote_host(3), "mxdane"),
                          ("danebad.test", remote_host(4), "mxdanebad")):
        zone.declare(dom, signed=True)
        zone.mx(dom, [(10, f"mx.{dom}")])
        zone.a(f"mx.{dom}", ip)
    zone.tlsa(f"_{remote_port}._tcp.mx.daneok.test", 3, 1, 1,
              spki_sha256(certs / "mxdane.pem"))
    zone.tlsa(f"_{remote_port}._tcp.mx.danebad.test", 3, 1, 1,
              spki_sha256(certs / "mxdane.pem"))     # not the key mx.danebad.test has
    ok = remote_kasten(host=remote_host(3), domain="daneok.test", config={
        "tls": {"cert": str(certs / "mxdane.pem"), "key": str(certs / "mxdane.key")}})
    bad = remote_kasten(host=remote_host(4), domain="danebad.test", config={
        "tls": {"cert": str(certs / "mxdanebad.pem"), "key": str(certs / "mxdanebad.key")}})
    k = outbound_server()
    submit(k, ["rcpt@daneok.test"], make_message("dane ok", sender=k.user))
    submit(k, ["rcpt@danebad.test"], make_message("dane bad", sender=k.user))
    assert len(ok.wait_messages("rcpt@daneok.test", 1, timeout=60)) == 1
    assert f"mx=mx.daneok.test port={remote_port} req=dane" in k.log_bytes().decode(errors="replace")
    line = queue_error(k, "rcpt@danebad.test")
    assert "mx.danebad.test" in line
    assert bad.messages("rcpt@danebad.test") == []


def test_delivery_mta_sts_enforce(zone, remote_port, remote_kasten, outbound_server, https):
    """RFC 8461 4.2: enforce: the MX certificate must verify (here against the test CA,
    [outbound] mta_sts_ca_file) for the MX name: delivered; a self-signed one: the mail
    stays queued, never sent without verified TLS."""
    port, certs = https
    leaf_cert(certs, "mxsts", ["mx.stsgood.test"])
    leaf_cert(certs, "mxstsbad", ["mx.stsbad.test"], ca=False)
    for dom, ip in (("stsgood.test", remote_host(5)), ("stsbad.test", remote_host(6))):
        zone.mx(dom, [(10, f"mx.{dom}")])
        zone.a(f"mx.{dom}", ip)
        zone.txt(f"_mta-sts.{dom}", "v=STSv1; id=1;")
        zone.a(f"mta-sts.{dom}", GOOD_IP)
    good = remote_kasten(host=remote_host(5), domain="stsgood.test", config={
        "tls": {"cert": str(certs / "mxsts.pem"), "key": str(certs / "mxsts.key")}})
    bad = remote_kasten(host=remote_host(6), domain="stsbad.test", config={
        "tls": {"cert": str(certs / "mxstsbad.pem"), "key": str(certs / "mxstsbad.key")}})
    k = outbound_server(config={"outbound": {"mta_sts_port": str(port),
                                             "mta_sts_ca_file": str(certs / "ca.pem")}})
    submit(k, ["rcpt@stsgood.test"], make_message("sts ok", sender=k.user))
    submit(k, ["rcpt@stsbad.test"], make_message("sts bad", sender=k.user))
    assert len(good.wait_messages("rcpt@stsgood.test", 1, timeout=60)) == 1
    assert f"mx=mx.stsgood.test port={remote_port} req=pkix" in k.log_bytes().decode(errors="replace")
    line = queue_error(k, "rcpt@stsbad.test")
    assert "mx.stsbad.test" in line
    assert bad.messages("rcpt@stsbad.test") == []
