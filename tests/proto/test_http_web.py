"""The embedded webmail's files (issue 10, items 4 and 5; src/http/http_web.c): GET / and
GET /web/<path> answer the bytes of web/ (and the two npm dist files) compiled into the
binary, with the page's Content-Security-Policy and the security headers on every
answer, exact content types, a strong ETag and 304 for If-None-Match (RFC 9110 8.8.3,
13.1.2), and 404 for everything that is not in the table, however the path is spelled
(no directory traversal: nothing is read from disk). curl is the real client for the
conditional GET (--etag-save/--etag-compare) and for paths sent as they are."""

import hashlib
import os
import subprocess

import pytest

from test_jmap_core import request

KASTEN_LISTEN = ("http", "admin")
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
WEB = os.path.join(ROOT, "web")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob: http: https:; connect-src 'self'; frame-src 'self' blob:; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".mjs": "text/javascript; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json"}
VENDOR = {"vendor/purify.es.mjs": "node_modules/dompurify/dist/purify.es.mjs",
          "vendor/qrcode.mjs": "node_modules/qrcode-generator/dist/qrcode.mjs"}


def web_files():
    """{served path: file on disk}: web/ but node_modules and the npm files, plus VENDOR."""
    out = {}
    for root, dirs, names in os.walk(WEB):
        top = os.path.samefile(root, WEB)
        dirs[:] = [d for d in dirs if not d.startswith(".") and not (top and d == "node_modules")]
        for n in names:
            if n.startswith(".") or (top and n in ("package.json", "package-lock.json")):
                continue
            p = os.path.join(root, n)
            out[os.path.relpath(p, WEB)] = p
    for name, src in VENDOR.items():
        out[name] = os.path.join(WEB, src)
    return out


def read(path):
    with open(path, "rb") as f:
        return f.read()


def assert_security(h):
    for k, v in SECURITY.items():
        assert h.get(k) == v, (k, h)


def curl(server, *args):
    port = server.ports["http"]
    r = subprocess.run(["curl", "-sS", "-D", "-", *args[:-1], f"http://127.0.0.1:{port}{args[-1]}"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, check=True)
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), headers, body


# ---- what is served ----

def test_root_is_index_html_with_the_page_csp_and_security_headers(mserver):
    """Issue 10 item 5: a strict CSP (no inline script: script-src 'self' only) and the
    security headers on the page; Cache-Control no-cache with a strong ETag."""
    st, h, body, _ = request(mserver, "GET", "/")
    assert st == 200
    assert h["content-type"] == "text/html; charset=utf-8"
    assert body == read(os.path.join(WEB, "index.html"))
    assert_security(h)
    assert h["cache-control"] == "no-cache"
    assert h["etag"] == '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    assert b"<script type=\"module\" src=\"/web/js/main.mjs\"></script>" in body
    # no inline script or style in the page itself: the CSP would block them
    assert body.count(b"<script") == body.count(b"<script type=\"module\" src=")
    assert b"<style" not in body and b" style=" not in body


def test_every_web_file_is_served_byte_exact_with_its_type(mserver):
    files = web_files()
    assert {"index.html", "app.css", "js/main.mjs", "js/jmap.mjs", "js/i18n.mjs",
            "js/i18n_en.mjs", "js/i18n_de.mjs", "js/ui.mjs", "js/views/list.mjs",
            "js/views/reader.mjs"} <= set(files)
    for name, path in sorted(files.items()):
        st, h, body, _ = request(mserver, "GET", "/web/" + name)
        assert st == 200, name
        assert h["content-type"] == TYPES[os.path.splitext(name)[1]], (name, h)
        assert body == read(path), name
        assert_security(h)
        assert h["etag"] == '"' + hashlib.sha256(body).hexdigest()[:32] + '"', name


def test_head_gives_the_headers_and_length_without_the_body(mserver):
    """RFC 9110 9.3.2."""
    st, h, body, _ = request(mserver, "HEAD", "/web/app.css")
    assert st == 200 and body == b""
    assert int(h["content-length"]) == len(read(os.path.join(WEB, "app.css")))
    assert_security(h)


# ---- conditional GET (RFC 9110 13.1.2) ----

def test_curl_etag_round_trip_gets_304(mserver, tmp_path):
    etag = tmp_path / "etag"
    st, h, body = curl(mserver, "--etag-save", str(etag), "/web/js/main.mjs")
    assert st == 200 and body == read(os.path.join(WEB, "js", "main.mjs"))
    st, h2, body = curl(mserver, "--etag-compare", str(etag), "/web/js/main.mjs")
    assert st == 304 and body == b""
    assert h2["etag"] == h["etag"]
    assert h2["cache-control"] == "no-cache"
    assert "content-type" not in h2 or h2["content-length"] == "0"


@pytest.mark.parametrize("form,want", [
    ("{tag}", 304),
    ("W/{tag}", 304),                       # 8.8.3.2: If-None-Match compares weakly
    ('"other", {tag}', 304),
    (' ,  "other" ,W/{tag} ', 304),         # 5.6.1: empty members and whitespace
    ("*", 304),
    ('"other"', 200),
    ("{tagnoquote}", 200),                  # not an entity-tag: the field is ignored
    ("{tag} junk", 200),
    ('"a, {tag}', 200),
    ("", 200),
])
def test_if_none_match_forms(mserver, form, want):
    _, h, body, _ = request(mserver, "GET", "/")
    tag = h["etag"]
    inm = form.format(tag=tag, tagnoquote=tag.strip('"'))
    st, h2, body2, _ = request(mserver, "GET", "/", headers={"If-None-Match": inm})
    assert st == want, inm
    assert (body2 == b"") == (want == 304)
    assert h2["etag"] == tag
    assert_security(h2)


# ---- what is not served ----

@pytest.mark.parametrize("path", [
    "/web/", "/web/nothing.js", "/web/js", "/web/js/", "/web/JS/main.mjs",
    "/web/../meson.build", "/web/%2e%2e/meson.build", "/web/js/../../meson.build",
    "/web/js/%2e%2e/%2e%2e/meson.build", "/web//etc/passwd", "/web/%2fetc%2fpasswd",
    "/web/./index.html", "/web/index.html/", "/web/node_modules/dompurify/package.json",
    "/web/package.json", "/web/package-lock.json", "/web/app.css%00.html",
    "/index.html", "/app.css", "/js/main.mjs", "/nothing",
])
def test_paths_outside_the_table_are_404(mserver, path):
    """Nothing is read from disk: whatever a path spells, only the table answers (a NUL
    in the path is the parser's 400). Outside /web/ the server's own 404 answers, with
    the server's default CSP (nothing may load at all)."""
    st, h, body = curl(mserver, "--path-as-is", path)
    assert st == (400 if "%00" in path else 404), (path, body)
    assert h["content-type"].startswith("application/problem+json")
    assert b"kasten" not in body and b"project(" not in body and b"root:" not in body
    if path.startswith("/web/") and st == 404:
        assert_security(h)
    else:
        assert h["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"


def test_root_is_the_root_only(mserver):
    """GET / is the page; other methods on it 405 with Allow (RFC 9110 15.5.6), and a
    POST to an unknown path is still 404 (the root row is not a prefix)."""
    st, h, _, _ = request(mserver, "POST", "/", b"x")
    assert st == 405 and h["allow"] == "GET, HEAD"
    st, h, _, _ = request(mserver, "POST", "/web/app.css", b"x")
    assert st == 405
    st, h, _, _ = request(mserver, "POST", "/nothing", b"x")
    assert st == 404


def test_admin_listener_serves_no_webmail(mserver):
    import http.client
    for path in ("/", "/web/js/main.mjs"):
        c = http.client.HTTPConnection(*mserver.addr("admin"), timeout=10)
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        c.close()
        assert r.status == 404, path


def test_a_scripts_401_has_no_basic_challenge(mserver):
    """The page's own requests (Fetch Metadata: Sec-Fetch-Dest empty) get the Bearer
    challenge alone (RFC 9110 11.6.1 needs one): a Basic challenge would make the
    browser show its password dialog over the login form. Other clients get both."""
    for path in ("/jmap/session", "/jmap/eventsource"):
        st, h, _, _ = request(mserver, "GET", path, headers={"Sec-Fetch-Dest": "empty",
                                                             "Sec-Fetch-Mode": "cors"})
        assert st == 401 and h["www-authenticate"] == 'Bearer realm="kasten"', (path, h)
        st, h, _, _ = request(mserver, "GET", path, headers={"Sec-Fetch-Dest": "document"})
        assert h["www-authenticate"] == 'Basic realm="kasten", Bearer realm="kasten"'
