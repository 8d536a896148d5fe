"""Client autoconfiguration (issue 10, item 2; src/http/http_autoconfig*.c), served on
the public HTTP listeners and generated from the running configuration:

  GET  /.well-known/autoconfig/mail/config-v1.1.xml, /mail/config-v1.1.xml
       Thunderbird's clientConfig 1.1 (Mozilla wiki "Autoconfiguration file format")
  POST /autodiscover/autodiscover.xml
       Outlook's POX autodiscover ([MS-OXDSCLI]: request schema 2006, response 2006a)
  GET  /mobileconfig?email=ADDR
       an Apple configuration profile (com.apple.mail.managed)

Every document is parsed by a real parser (xml.etree, plistlib) and checked field by
field against the configuration of two servers: every listener with [pop3]
expire_days = 7, and POP3 disabled with IMAP and submission over STARTTLS only (and the
ports are never the standard ones: free loopback ports). curl fetches one of each as a
real client, over https with the server's certificate verified."""

import plistlib
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from kasten_test import HOSTNAME, KastenServer

TB_PATHS = ("/.well-known/autoconfig/mail/config-v1.1.xml", "/mail/config-v1.1.xml")
POX_PATH = "/autodiscover/autodiscover.xml"
REQ_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
RESP_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
SCHEMA_2006A = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
ADDRESS = "user@example.test"
# a mailbox whose quoted local part holds every character XML must escape
NASTY = "\"a<b>&c'd\"@example.test"

CONFIGS = {
    "all": (("smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s",
             "http", "https", "admin"),
            {"pop3": {"enabled": "yes", "expire_days": "7"}}),
    "pop3-off": (("submission", "imap", "pop3", "pop3s", "http", "https", "admin"),
                 {"pop3": {"enabled": "no", "expire_days": "0"}}),
}

# conf_services() order: IMAP before POP3, implicit TLS before STARTTLS (RFC 8314)
SERVICES = (("imaps", "imap", True), ("imap", "imap", False), ("pop3s", "pop3", True),
            ("pop3", "pop3", False), ("submissions", "smtp", True),
            ("submission", "smtp", False))


@pytest.fixture(scope="module", params=list(CONFIGS))
def server(request, tmp_path_factory):
    listen, config = CONFIGS[request.param]
    k = KastenServer(tmp_path_factory.mktemp(f"autoconfig-{request.param}"), listen=listen,
                     config=config)
    k.start()
    yield k
    k.stop()
    k.check_log()


def offered(server):
    """[(listener, type, implicit TLS, port)] the documents must list, in order."""
    pop3 = server.settings["pop3"]["enabled"] == "yes"
    return [(name, kind, tls, server.ports[name]) for name, kind, tls in SERVICES
            if name in server.ports and (kind != "pop3" or pop3)]


def http(server, method, path, body=None, headers=None, listener="http"):
    """(status, headers, body) over plain http; errors too."""
    host, port = server.addr(listener)
    req = urllib.request.Request(f"http://{host}:{port}{path}", data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def curl(server, *args):
    """curl over https, the server's self-signed certificate verified for HOSTNAME."""
    port = server.ports["https"]
    cmd = ["curl", "-sS", "--max-time", "10", "--cacert", str(server.data / "tls" / "cert.pem"),
           "--resolve", f"{HOSTNAME}:{port}:127.0.0.1", *args]
    cmd = [a.replace("BASE", f"https://{HOSTNAME}:{port}") for a in cmd]
    return subprocess.run(cmd, check=True, capture_output=True, timeout=30).stdout


def pox_request(email, schema=SCHEMA_2006A):
    return (f'<?xml version="1.0" encoding="utf-8"?>\r\n<Autodiscover xmlns="{REQ_NS}">\r\n'
            f"  <Request>\r\n    <EMailAddress>{email}</EMailAddress>\r\n"
            f"    <AcceptableResponseSchema>{schema}</AcceptableResponseSchema>\r\n"
            "  </Request>\r\n</Autodiscover>\r\n").encode()


# ---- Thunderbird ----

def check_thunderbird(server, doc, domain):
    root = ET.fromstring(doc)
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    prov = root.find("emailProvider")
    assert prov.get("id") == domain and prov.findtext("domain") == domain
    servers = [e for e in prov if e.tag in ("incomingServer", "outgoingServer")]
    want = offered(server)
    # incoming before outgoing, each in conf_services() order (IMAP first)
    want = [w for w in want if w[1] != "smtp"] + [w for w in want if w[1] == "smtp"]
    assert len(servers) == len(want)
    for e, (name, kind, tls, port) in zip(servers, want):
        assert e.tag == ("outgoingServer" if kind == "smtp" else "incomingServer"), name
        assert e.get("type") == kind
        assert e.findtext("hostname") == HOSTNAME
        assert e.findtext("port") == str(port)
        assert e.findtext("socketType") == ("SSL" if tls else "STARTTLS")
        assert e.findtext("username") == "%EMAILADDRESS%"
        assert e.findtext("authentication") == "password-cleartext"
        pop3 = e.find("pop3")
        if kind != "pop3":
            assert pop3 is None
            continue
        # [pop3] expire_days = 7: leave copies for 7 days (the server removes them then)
        assert pop3.findtext("leaveMessagesOnServer") == "true"
        assert pop3.findtext("daysToLeaveMessagesOnServer") == "7"
        assert pop3.findtext("downloadOnBiff") == "true"
    assert servers[0].get("type") == "imap"


@pytest.mark.parametrize("path", TB_PATHS)
def test_thunderbird(server, path):
    status, headers, body = http(server, "GET", f"{path}?emailaddress={ADDRESS}")
    assert status == 200
    assert headers["Content-Type"] == "application/xml; charset=utf-8"
    check_thunderbird(server, body, "example.test")


def test_thunderbird_without_address(server):
    """No emailaddress (or an empty one): the provider is the hostname."""
    for query in ("", "?emailaddress="):
        status, _, body = http(server, "GET", TB_PATHS[1] + query)
        assert status == 200
        check_thunderbird(server, body, HOSTNAME)


def test_thunderbird_curl(server):
    """Thunderbird fetches https://autoconfig.DOMAIN/mail/config-v1.1.xml: curl does
    the same over the https listener (certificate verified)."""
    body = curl(server, "BASE/mail/config-v1.1.xml?emailaddress=" +
                urllib.parse.quote(ADDRESS))
    check_thunderbird(server, body, "example.test")


def test_thunderbird_bad_address(server):
    """Not a mailbox (RFC 5321): 400 with a problem body, never a broken document."""
    for bad in ("a<b@example.test", "nobody", "a@b@c", "x@example.test\r\nX: y"):
        status, headers, body = http(server, "GET", TB_PATHS[0] + "?emailaddress=" +
                                     urllib.parse.quote(bad))
        assert status == 400, bad
        assert headers["Content-Type"] == "application/problem+json"


# ---- Outlook POX ----

def pox(server, body, listener="http"):
    return http(server, "POST", POX_PATH, body, {"Content-Type": "text/xml"}, listener)


def check_pox(server, doc, login):
    root = ET.fromstring(doc)
    assert root.tag == f"{{{RESP_NS}}}Autodiscover"
    n = f"{{{SCHEMA_2006A}}}"
    acct = root.find(f"{n}Response/{n}Account")
    assert acct.findtext(f"{n}AccountType") == "email"
    assert acct.findtext(f"{n}Action") == "settings"
    protos = acct.findall(f"{n}Protocol")
    want = offered(server)
    assert len(protos) == len(want)
    for p, (name, kind, tls, port) in zip(protos, want):
        assert p.findtext(f"{n}Type") == kind.upper(), name
        assert p.findtext(f"{n}Server") == HOSTNAME
        assert p.findtext(f"{n}Port") == str(port)
        assert p.findtext(f"{n}LoginName") == login
        assert p.findtext(f"{n}SSL") == "on"
        # [MS-OXDSCLI] 2.2.4.1.1.2.4.x: Encryption SSL = implicit TLS, TLS = STARTTLS
        assert p.findtext(f"{n}Encryption") == ("SSL" if tls else "TLS")
        assert p.findtext(f"{n}SPA") == "off"
        assert p.findtext(f"{n}AuthRequired") == "on"
        assert p.findtext(f"{n}DomainRequired") == "off"


def test_pox(server):
    status, headers, body = pox(server, pox_request(ADDRESS))
    assert status == 200
    assert headers["Content-Type"] == "text/xml; charset=utf-8"
    check_pox(server, body, ADDRESS)
    # Outlook's other spelling of the path
    status, _, body = http(server, "POST", "/Autodiscover/Autodiscover.xml",
                           pox_request(ADDRESS))
    assert status == 200
    check_pox(server, body, ADDRESS)


def test_pox_curl(server):
    body = curl(server, "-X", "POST", "-H", "Content-Type: text/xml", "--data-binary",
                pox_request(ADDRESS).decode(), "BASE" + POX_PATH)
    check_pox(server, body, ADDRESS)


def test_pox_escaping(server):
    """The address comes back as the LoginName: escaped, so the answer stays one
    well-formed document whose text is the address exactly."""
    escaped = NASTY.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    status, _, body = pox(server, pox_request(escaped))
    assert status == 200
    check_pox(server, body, NASTY)


def pox_error(body):
    root = ET.fromstring(body)
    err = root.find(f"{{{RESP_NS}}}Response/{{{RESP_NS}}}Error")
    return err.findtext(f"{{{RESP_NS}}}ErrorCode")


def test_pox_errors(server):
    """Well-formed but unusable: 200 with an Error element ([MS-OXDSCLI] 2.2.4.2):
    600 for a missing or bad address, 601 for another response schema (ActiveSync's)."""
    for email in ("", "not an address", "a@b@c"):
        status, _, body = pox(server, pox_request(email))
        assert status == 200 and pox_error(body) == "600", email
    mobilesync = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
    status, _, body = pox(server, pox_request(ADDRESS, mobilesync))
    assert status == 200 and pox_error(body) == "601"


BAD_XML = {
    "not xml": b"hello",
    "unclosed": pox_request(ADDRESS)[:-20],
    "mismatched": b"<Autodiscover><Request></Autodiscover></Request>",
    # no DOCTYPE, so no entity can be declared, so none can expand ("billion laughs")
    "doctype": b'<!DOCTYPE a [<!ENTITY x "xxxxxxxxxx"><!ENTITY y "&x;&x;&x;">]>'
               b"<Autodiscover><Request><EMailAddress>&y;</EMailAddress></Request>"
               b"</Autodiscover>",
    "two addresses": pox_request(ADDRESS).replace(
        b"</EMailAddress>", b"</EMailAddress><EMailAddress>b@example.test</EMailAddress>"),
    "invalid utf-8": pox_request("\xff@example.test".encode("latin-1").decode("latin-1"))
                     .replace(b"\xc3\xbf", b"\xff"),
}


def nested(depth):
    """Outlook's request with elements nested to depth in all (Autodiscover, Request,
    then depth - 2 more inside Request)."""
    inner = b"<x>" * (depth - 2) + b"</x>" * (depth - 2)
    return pox_request(ADDRESS).replace(b"</Request>", inner + b"</Request>")


@pytest.mark.parametrize("case", list(BAD_XML))
def test_pox_bad_xml(server, case):
    status, headers, body = pox(server, BAD_XML[case])
    assert status == 400, body
    assert headers["Content-Type"] == "application/problem+json"


def test_pox_depth_limit(server):
    """LIMIT_AUTODISCOVER_DEPTH (8): a request nested 8 deep is answered, 9 is 400."""
    status, _, body = pox(server, nested(8))
    assert status == 200
    check_pox(server, body, ADDRESS)
    status, headers, _ = pox(server, nested(9))
    assert status == 400
    assert headers["Content-Type"] == "application/problem+json"


def test_pox_size_limit(server):
    """LIMIT_AUTODISCOVER_REQUEST (8192): a request padded to exactly the limit is
    answered; one byte more is 413 before the body is read (http.h: max_body)."""
    base = pox_request(ADDRESS)
    pad = 8192 - len(base) - len("<!---->")
    exact = base.replace(b"<Autodiscover ", b"<!--" + b"x" * pad + b"--><Autodiscover ", 1)
    assert len(exact) == 8192
    status, _, body = pox(server, exact)
    assert status == 200
    check_pox(server, body, ADDRESS)
    over = exact.replace(b"<!--", b"<!-- ", 1)
    status, headers, _ = pox(server, over)
    assert status == 413
    assert headers["Connection"] == "close"


def test_pox_needs_post(server):
    status, headers, _ = http(server, "GET", POX_PATH)
    assert status == 405
    assert headers["Allow"] == "POST"


# ---- Apple ----

def check_profile(server, body, address):
    prof = plistlib.loads(body)
    assert prof["PayloadType"] == "Configuration" and prof["PayloadVersion"] == 1
    (mail,) = prof["PayloadContent"]
    assert mail["PayloadType"] == "com.apple.mail.managed"
    want = offered(server)
    incoming = next(w for w in want if w[1] != "smtp")   # IMAP first, implicit TLS first
    outgoing = next(w for w in want if w[1] == "smtp")
    assert mail["EmailAccountType"] == {"imap": "EmailTypeIMAP", "pop3": "EmailTypePOP"}[
        incoming[1]]
    assert mail["EmailAddress"] == address
    for side, (_, _, _, port) in (("Incoming", incoming), ("Outgoing", outgoing)):
        assert mail[f"{side}MailServerHostName"] == HOSTNAME
        assert mail[f"{side}MailServerPortNumber"] == port
        assert mail[f"{side}MailServerUseSSL"] is True
        assert mail[f"{side}MailServerUsername"] == address
        assert mail[f"{side}MailServerAuthentication"] == "EmailAuthPassword"
    assert mail["PayloadUUID"] != prof["PayloadUUID"]
    return prof


def test_mobileconfig(server):
    status, headers, body = http(server, "GET", "/mobileconfig?email=" + ADDRESS)
    assert status == 200
    assert headers["Content-Type"] == "application/x-apple-aspen-config"
    assert headers["Content-Disposition"] == 'attachment; filename="mail.mobileconfig"'
    prof = check_profile(server, body, ADDRESS)
    # the same address again: the same UUIDs (the device replaces the profile)
    again = plistlib.loads(http(server, "GET", "/mobileconfig?email=" + ADDRESS)[2])
    assert again["PayloadUUID"] == prof["PayloadUUID"]
    other = plistlib.loads(http(server, "GET", "/mobileconfig?email=other@example.test")[2])
    assert other["PayloadUUID"] != prof["PayloadUUID"]
    assert other["PayloadIdentifier"] != prof["PayloadIdentifier"]


def test_mobileconfig_curl(server, tmp_path):
    """Downloaded with curl as a file, the way a phone's browser saves it."""
    out = tmp_path / "p.mobileconfig"
    curl(server, "-o", str(out), "BASE/mobileconfig?email=" + urllib.parse.quote(ADDRESS))
    check_profile(server, out.read_bytes(), ADDRESS)


def test_mobileconfig_escaping(server):
    status, _, body = http(server, "GET", "/mobileconfig?email=" + urllib.parse.quote(NASTY))
    assert status == 200
    check_profile(server, body, NASTY)


def test_mobileconfig_bad_address(server):
    for query in ("", "?email=", "?email=nobody", "?email=" + urllib.parse.quote("a<b@x.test")):
        status, headers, _ = http(server, "GET", "/mobileconfig" + query)
        assert status == 400, query
        assert headers["Content-Type"] == "application/problem+json"


def test_not_on_admin_listener(server):
    """The admin listener serves /metrics and /healthz only."""
    for path in TB_PATHS + ("/mobileconfig?email=" + ADDRESS,):
        assert http(server, "GET", path, listener="admin")[0] == 404
    assert pox(server, pox_request(ADDRESS), listener="admin")[0] == 404


def test_answers_follow_the_config(tmp_path):
    """Every answer is made from the configuration the server runs with: switching
    POP3 off (and restarting) takes it out of every document."""
    k = KastenServer(tmp_path, listen=("imaps", "pop3s", "submissions", "http"),
                     config={"pop3": {"enabled": "yes"}})
    k.start()
    try:
        types = lambda: [e.get("type") for e in ET.fromstring(
            http(k, "GET", TB_PATHS[1])[2]).find("emailProvider")
            if e.tag.endswith("Server")]
        assert types() == ["imap", "pop3", "smtp"]
        k.stop()
        k.write_config({"pop3": {"enabled": "no"}})
        k.start()
        assert types() == ["imap", "smtp"]
    finally:
        k.stop()
