"""kasten's own JMAP methods for the webmail (issue 10: "devices and activity" and the
"client settings" page), capability https://kasten.dev/jmap/account:

  Activity/get        the account's activity log: clients seen (IMAP ID names them,
                      RFC 2971) and what POP3 sessions removed at QUIT (RFC 1939 6)
  ClientSettings/get  incoming/outgoing services, POP3 policy and the autoconfig links,
                      from the running config (the list autoconfig and `kasten dns` use)

Every test talks to a real `kasten serve` over loopback. The activity writes run off
the loop thread, so the tests poll Activity/get until the rows are there."""

import base64
import calendar
import http.client
import imaplib
import json
import poplib
import time
import urllib.parse
import xml.etree.ElementTree as ET

from kasten_test import HOSTNAME, deliver, make_message, unique_user

KASTEN_LISTEN = ("smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s",
                 "http")
KASTEN_CONFIG = {"pop3": {"expire_days": "7"},
                 "limits": {"max_unauthenticated_per_ip": 100}}
PASSWORD = "Jmap-kasten-pass-1"
CORE = "urn:ietf:params:jmap:core"
KASTEN = "https://kasten.dev/jmap/account"

# RFC 2971 3.1: ID is valid in any state; imaplib does not know the command
imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))


def basic(a):
    return "Basic " + base64.b64encode(f"{a}:{PASSWORD}".encode()).decode()


def user(server, prefix="jk"):
    a = unique_user(prefix)
    server.user_add(a, PASSWORD)
    return a


def request(server, method, path, body=None, headers=None):
    c = http.client.HTTPConnection(server.host, server.ports["http"], timeout=30)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def account_id(server, a):
    st, body = request(server, "GET", "/jmap/session", headers={"Authorization": basic(a)})
    assert st == 200, body
    return next(iter(json.loads(body)["accounts"]))


def call(server, a, name, args=None, acct=None, using=(CORE, KASTEN)):
    """One method call as a; its [name, args] response."""
    if args is None:
        args = {"accountId": acct or account_id(server, a)}
    body = json.dumps({"using": list(using), "methodCalls": [[name, args, "c"]]})
    st, data = request(server, "POST", "/jmap/api", body.encode(),
                       {"Authorization": basic(a), "Content-Type": "application/json"})
    assert st == 200, data
    resp = json.loads(data)["methodResponses"]
    assert len(resp) == 1 and resp[0][2] == "c", resp
    return resp[0][0], resp[0][1]


def ok(server, a, name, args=None):
    n, r = call(server, a, name, args)
    assert n == name, r
    return r


def utc(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def wait_list(server, a, pred, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        lst = ok(server, a, "Activity/get")["list"]
        if pred(lst) or time.monotonic() > deadline:
            return lst
        time.sleep(0.1)


def fill(server, a, n):
    for i in range(n):
        deliver(server, a, make_message(f"kasten {i}", f"Body {i}.\r\n".encode()))
    assert len(server.wait_messages(a, n)) == n


# ---- Activity/get ----

def test_activity_devices_and_pop3_removal(mserver):
    """An IMAP client naming itself with ID (RFC 2971 3.3) and a POP3 client removing two
    messages with DELE + QUIT (RFC 1939 6): the device rows and the removal with its
    count and octets, newest first."""
    a = user(mserver)
    acct = account_id(mserver, a)
    fill(mserver, a, 3)
    before = int(time.time())
    c = imaplib.IMAP4(mserver.host, mserver.ports["imap"], timeout=10)
    c.login(a, PASSWORD)
    typ, data = c._simple_command("ID", '("name" "Thunderbird" "version" "115.3.1")')
    assert typ == "OK", data
    c.logout()
    p = poplib.POP3(mserver.host, mserver.ports["pop3"], timeout=10)
    p.user(a)
    p.pass_(PASSWORD)
    sizes = {int(n): int(s) for n, s in (x.decode().split() for x in p.list()[1])}
    p.dele(1)
    p.dele(3)
    p.quit()

    lst = wait_list(mserver, a, lambda lst: any(e["kind"] == "removed" for e in lst) and
                    any(e.get("client") == "Thunderbird 115.3.1" for e in lst))
    r = ok(mserver, a, "Activity/get")
    assert r["accountId"] == acct
    lst = r["list"]
    removed = [e for e in lst if e["kind"] == "removed"]
    assert len(removed) == 1, lst
    e = removed[0]
    assert set(e) == {"kind", "protocol", "client", "address", "count", "bytes", "at"}, e
    assert (e["protocol"], e["client"], e["address"]) == ("pop3", None, "127.0.0.1"), e
    assert e["count"] == 2 and e["bytes"] == sizes[1] + sizes[3], (e, sizes)
    assert before - 1 <= utc(e["at"]) <= time.time() + 1

    seen = [e for e in lst if e["kind"] == "seen"]
    for e in seen:
        assert set(e) == {"kind", "protocol", "client", "address", "firstSeen",
                          "lastSeen"}, e
        assert utc(e["firstSeen"]) <= utc(e["lastSeen"])
    by = {(e["protocol"], e["client"]) for e in seen}
    assert ("imap", "Thunderbird 115.3.1") in by, seen
    assert ("imap", None) in by, seen  # the login, before ID named the client
    assert ("pop3", None) in by, seen
    assert all(e["address"] == "127.0.0.1" for e in seen), seen
    # newest first (store_activity_list: by last seen / when)
    times = [utc(e["lastSeen"] if e["kind"] == "seen" else e["at"]) for e in lst]
    assert times == sorted(times, reverse=True), lst


def test_activity_and_settings_isolation(mserver):
    """Another account's id: accountNotFound (RFC 8620 3.6.2), and B's own log does not
    hold A's clients."""
    a, b = user(mserver, "jka"), user(mserver, "jkb")
    acct_a = account_id(mserver, a)
    c = imaplib.IMAP4(mserver.host, mserver.ports["imap"], timeout=10)
    c.login(a, PASSWORD)
    typ, _ = c._simple_command("ID", '("name" "OnlyForA")')
    assert typ == "OK"
    c.logout()
    wait_list(mserver, a, lambda lst: any(e["client"] == "OnlyForA" for e in lst))
    for name in ("Activity/get", "ClientSettings/get"):
        n, r = call(mserver, b, name, {"accountId": acct_a})
        assert (n, r["type"]) == ("error", "accountNotFound"), r
    assert not any(e["client"] == "OnlyForA" for e in ok(mserver, b, "Activity/get")["list"])


def test_methods_need_the_kasten_capability_and_take_only_accountid(mserver):
    """RFC 8620 3.6.2: a method of a capability the request did not `use` is
    unknownMethod; an argument the method does not know is invalidArguments."""
    a = user(mserver)
    acct = account_id(mserver, a)
    for name in ("Activity/get", "ClientSettings/get"):
        n, r = call(mserver, a, name, {"accountId": acct}, using=(CORE,))
        assert (n, r["type"]) == ("error", "unknownMethod"), r
        n, r = call(mserver, a, name, {"accountId": acct, "ids": None})
        assert (n, r["type"]) == ("error", "invalidArguments"), r
        n, r = call(mserver, a, name, {})
        assert (n, r["type"]) == ("error", "invalidArguments"), r


def test_session_lists_the_capability(mserver):
    """RFC 8620 2: the capability in capabilities, the account's accountCapabilities and
    primaryAccounts."""
    a = user(mserver)
    st, body = request(mserver, "GET", "/jmap/session", headers={"Authorization": basic(a)})
    s = json.loads(body)
    acct = next(iter(s["accounts"]))
    assert s["capabilities"][KASTEN] == {}
    assert s["accounts"][acct]["accountCapabilities"][KASTEN] == {}
    assert s["primaryAccounts"][KASTEN] == acct


# ---- ClientSettings/get ----

def expected_services(server, pop3):
    """What the server's config says, in the order of preference (IMAP before POP3,
    implicit TLS before STARTTLS: RFC 8314 3.3)."""
    def svc(proto, name, security):
        return {"protocol": proto, "host": HOSTNAME, "port": server.ports[name],
                "security": security}
    incoming = [svc("imap", "imaps", "tls"), svc("imap", "imap", "starttls")]
    if pop3:
        incoming += [svc("pop3", "pop3s", "tls"), svc("pop3", "pop3", "starttls")]
    outgoing = [svc("smtp", "submissions", "tls"), svc("smtp", "submission", "starttls")]
    return incoming, outgoing


def test_client_settings_match_the_config(mserver):
    a = user(mserver, "jk+tag")
    r = ok(mserver, a, "ClientSettings/get")
    incoming, outgoing = expected_services(mserver, pop3=True)
    assert r["incoming"] == incoming
    assert r["outgoing"] == outgoing
    assert r["pop3"] == {"enabled": True, "expireDays": 7}
    base = f"http://{HOSTNAME}:{mserver.ports['http']}"
    q = urllib.parse.quote(a, safe="")
    assert "%2B" in q and "%40" in q
    assert r["autoconfigUrl"] == \
        f"{base}/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress={q}"
    assert r["mobileconfigUrl"] == f"{base}/mobileconfig?email={q}"
    assert set(r) == {"accountId", "incoming", "outgoing", "pop3", "autoconfigUrl",
                      "mobileconfigUrl"}
    # the autoconfig document the link names says the same, server by server
    path = urllib.parse.urlsplit(r["autoconfigUrl"])
    st, body = request(mserver, "GET", f"{path.path}?{path.query}")
    assert st == 200, body
    doc = ET.fromstring(body)
    sock = {"SSL": "tls", "STARTTLS": "starttls", "plain": "plain"}
    got_in = [{"protocol": s.get("type"), "host": s.findtext("hostname"),
               "port": int(s.findtext("port")), "security": sock[s.findtext("socketType")]}
              for s in doc.iter("incomingServer")]
    got_out = [{"protocol": s.get("type"), "host": s.findtext("hostname"),
                "port": int(s.findtext("port")), "security": sock[s.findtext("socketType")]}
               for s in doc.iter("outgoingServer")]
    assert got_in == r["incoming"] and got_out == r["outgoing"]
    assert next(doc.iter("username")).text == "%EMAILADDRESS%"


def test_client_settings_pop3_off_for_one_account(mserver):
    a = user(mserver)
    mserver.kasten("user", "set", a, "pop3=off")
    r = ok(mserver, a, "ClientSettings/get")
    incoming, outgoing = expected_services(mserver, pop3=False)
    assert (r["incoming"], r["outgoing"]) == (incoming, outgoing)
    assert r["pop3"] == {"enabled": False, "expireDays": 7}


def test_client_settings_pop3_off_and_https(kasten_factory):
    """[pop3] enabled = no: no POP3 server offered; expire_days 0: expireDays null (the
    messages stay until a client deletes them); with an https listener the links are
    https (what a phone following the QR code should use)."""
    s = kasten_factory(listen=KASTEN_LISTEN + ("https",),
                       config={"pop3": {"enabled": "no", "expire_days": "0"},
                               "limits": {"max_unauthenticated_per_ip": 100}})
    s.start()
    a = user(s)
    r = ok(s, a, "ClientSettings/get")
    incoming, outgoing = expected_services(s, pop3=False)
    assert (r["incoming"], r["outgoing"]) == (incoming, outgoing)
    assert r["pop3"] == {"enabled": False, "expireDays": None}
    q = urllib.parse.quote(a, safe="")
    assert r["mobileconfigUrl"] == \
        f"https://{HOSTNAME}:{s.ports['https']}/mobileconfig?email={q}"
