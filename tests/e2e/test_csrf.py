"""Cross-site request forgery in a real browser (issue 10, security: "CSRF protection on
every state-changing request"). While alice is logged in to the webmail, a page of
another origin on the same host (127.0.0.1, another port: the same site, so even the
SameSite=Strict session cookie goes along) posts Email/set destroy calls to /jmap/api:
by fetch (no-cors, text/plain: no preflight) and by an HTML form (enctype=text/plain,
no script needed). Neither carries the X-CSRF-Token only the webmail's own page can
read; both are refused and the messages stay."""

import json
import time

from jmap_test import CORE, MAIL


def destroy_body(account, email_id):
    return json.dumps({"using": [CORE, MAIL], "methodCalls": [
        ["Email/set", {"accountId": account, "destroy": [email_id]}, "c0"]]})


def attack_page(api, fetch_body, form_body):
    # the form's one field name="<JSON up to the last string>" value="<its end>": the
    # text/plain body is name=value, valid JSON
    name, value = form_body[:-1] + ',"x":"', '"}'
    return f"""<!DOCTYPE html><html><body>
<iframe name="sink" id="sink"></iframe>
<form id="f" method="POST" action="{api}" enctype="text/plain" target="sink">
<input type="hidden" name='{name}' value='{value}'></form>
<script>
(async () => {{
  const r = {{}};
  try {{
    await fetch({json.dumps(api)}, {{ method: 'POST', mode: 'no-cors', credentials: 'include',
      headers: {{ 'Content-Type': 'text/plain' }}, body: {json.dumps(fetch_body)} }});
    r.fetch = 'sent';
  }} catch (e) {{ r.fetch = String(e); }}
  await new Promise((res) => {{
    document.getElementById('sink').onload = res;
    document.getElementById('f').submit();
  }});
  r.form = 'sent';
  window.__result = r;
  window.__done = true;
}})();
</script></body></html>"""


def test_cross_site_posts_are_refused(mail, browser):
    subjects = [f"Keep {k} {time.time_ns()}" for k in ("one", "two")]
    for s in subjects:
        mail.deliver(mail.alice, s)
    inbox = mail.mailbox_id(mail.alice, "inbox")
    ids = mail.jmap(mail.alice, "Email/query", {"filter": {"inMailbox": inbox}})["ids"]
    assert len(ids) == 2
    account = mail.client(mail.alice).acct
    url = mail.remote.serve_page("/attack.html", attack_page(
        f"{mail.base}/jmap/api", destroy_body(account, ids[0]), destroy_body(account, ids[1])))
    assert not url.startswith(mail.base)  # another origin
    r = browser.run("csrf.mjs#crossSite", mail.base, params={
        "user": mail.alice, "password": mail.password, "attackUrl": url})["result"]
    assert r["cookie"] is True, r
    # the fetch may end in a network error in the page (the API's answer is not for other
    # sites to read: Cross-Origin-Resource-Policy), but the request went out
    assert r["result"]["fetch"] in ("sent", "TypeError: Failed to fetch"), r
    assert r["result"]["form"] == "sent", r
    gone = set(mail.jmap(mail.alice, "Email/get", {"ids": ids, "properties": ["id"]})["notFound"])
    assert ids[0] not in gone, "the cross-site fetch destroyed a message"
    assert ids[1] not in gone, "the cross-site form destroyed a message"
