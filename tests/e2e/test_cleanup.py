"""The clean-up view in a real browser (issue 10, "How it is shown": it deletes the
three largest messages and the quota bar shrinks). The messages lie in two folders;
the quota bar's data-used before and after agrees with Quota/get (RFC 9425 4.1)."""

import time

SIZES = (300_000, 240_000, 180_000, 60_000, 20_000, 2_000)


def body_of(n):
    line = "0123456789" * 7 + "abcd\r\n"  # 76 octets
    return line * (n // len(line))


def test_cleanup_deletes_three_largest(mail, browser):
    for i, n in enumerate(SIZES):
        mail.deliver(mail.alice, f"Bulky {i} {time.time_ns()}", body=body_of(n))
    # the second largest moves to a folder of its own: clean-up looks across folders
    c = mail.imap(mail.alice)
    assert b" OK " in c.cmd('CREATE "Projects"')[0]
    c.cmd("SELECT INBOX")
    _, found = c.cmd('UID SEARCH SUBJECT "Bulky 1"')
    uid = next(line for line in found if line.startswith(b"* SEARCH")).split()[2].decode()
    assert b" OK " in c.cmd(f'UID MOVE {uid} "Projects"')[0]  # RFC 6851
    c.close()
    every = mail.jmap(mail.alice, "Email/query", {"sort": [{"property": "size",
                                                            "isAscending": False}]})["ids"]
    sizes = {e["id"]: e["size"] for e in mail.jmap(
        mail.alice, "Email/get", {"ids": every, "properties": ["size"]})["list"]}
    largest = every[:3]
    used0 = mail.used_bytes(mail.alice)

    r = browser.run("cleanup.mjs#deleteLargest", mail.base, params={
        "user": mail.alice, "password": mail.password, "count": 3,
        "expect": len(SIZES)})["result"]
    assert r["before"]["used"] == used0, r
    assert r["before"]["quota"] == mail.quota(mail.alice)["hardLimit"], r
    assert {x["id"]: x["size"] for x in r["listed"]} == sizes, r
    assert sorted(x["id"] for x in r["chosen"]) == sorted(largest), (r, largest)
    # gone from the server, the quota bar and Quota/get agree on what is left
    got = mail.jmap(mail.alice, "Email/get", {"ids": largest, "properties": ["id"]})
    assert sorted(got["notFound"]) == sorted(largest), got
    used1 = mail.used_bytes(mail.alice)
    assert r["after"]["used"] == used1, (r["after"], used1)
    assert used0 - used1 == sum(sizes[i] for i in largest), (used0, used1, sizes)
    assert sorted(x["id"] for x in r["left"]) == sorted(set(every) - set(largest)), r
