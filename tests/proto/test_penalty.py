"""Password guessing and address harvesting are slowed per client and per target name
(issue 6, item 4). A failure counts against the client (IPv4 address or IPv6 /64) and
against the name it tried; every later attempt, the right password too, waits first.
Delays are asserted as lower bounds only: a busy machine is never faster."""

import threading
import time

import pytest

from kasten_test import RawPOP3, RawSMTP, unique_user

PASSWORD = "Penalty-pass-1"
KASTEN_CONFIG = {"limits": {"max_unauthenticated_per_ip": 50}}


def timed_login(server, user, password):
    """(ok, seconds) of one USER/PASS on a fresh POP3 connection."""
    with RawPOP3(server.host, server.ports["pop3"], timeout=60) as p:
        assert p.cmd(f"USER {user}").startswith(b"+OK")
        start = time.monotonic()
        r = p.cmd(f"PASS {password}")
        return r.startswith(b"+OK"), time.monotonic() - start


def test_another_accounts_success_does_not_reset_the_count(server):
    """Bypass 1: one wrong guess at the victim, one correct login of the guesser's own
    account, and so on. The delays must keep growing all the same."""
    victim, own = unique_user("victim"), unique_user("own")
    server.user_add(victim, PASSWORD)
    server.user_add(own, PASSWORD)
    times = []
    for _ in range(4):
        ok, t = timed_login(server, victim, "wrong guess")
        assert not ok
        times.append(t)
        ok, _ = timed_login(server, own, PASSWORD)
        assert ok
    # 250 ms doubling per failure: the 4th guess waits at least 250 * 2^2 ms
    assert times[-1] >= 1.0, f"guess delays {times}: the success reset them"


def test_parallel_guesses_all_wait(server):
    """Bypass 2: guesses on parallel connections each wait the client's delay; a
    guesser giving up on slow answers learns nothing, since successes wait too."""
    victim, own = unique_user("victim"), unique_user("own")
    server.user_add(victim, PASSWORD)
    server.user_add(own, PASSWORD)
    for _ in range(4):
        assert not timed_login(server, victim, "wrong guess")[0]
    # the right password of another account from the same client waits as well
    ok, t = timed_login(server, own, PASSWORD)
    assert ok and t >= 2.0, t
    results = []

    def guess():
        results.append(timed_login(server, victim, "parallel guess"))

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 8
    assert all(not ok for ok, _ in results)
    assert min(t for _, t in results) >= 2.0, results


def test_failed_login_is_logged_with_the_user_name_not_the_password(server):
    victim = unique_user("logged")
    server.user_add(victim, PASSWORD)
    mark = server.log_mark()
    assert not timed_login(server, victim, "Secret-guess-77")[0]
    deadline = time.monotonic() + 10
    while b"login failed" not in server.log_bytes()[mark:] and time.monotonic() < deadline:
        time.sleep(0.05)
    log = server.log_bytes()[mark:]
    assert f"login failed user={victim}".encode() in log
    assert b"Secret-guess-77" not in log


def test_harvesting_unknown_recipients_is_slowed(server):
    real = unique_user("real")
    server.user_add(real, PASSWORD)
    with RawSMTP(server.host, server.ports["smtp"]) as r:
        assert r.reply()[0] == 220
        assert r.cmd("EHLO harvester.test")[0] == 250
        assert r.cmd("MAIL FROM:<h@harvester.invalid>")[0] == 250
        times = []
        for i in range(6):
            start = time.monotonic()
            code, _ = r.cmd(f"RCPT TO:<nobody{i}@example.test>")
            times.append(time.monotonic() - start)
            assert code == 550
        # a few mistyped addresses are free (3); then every answer waits, growing
        assert times[-1] >= 0.5, times
        start = time.monotonic()  # a real address waits as well: no oracle
        assert r.cmd(f"RCPT TO:<{real}>")[0] == 250
        assert time.monotonic() - start >= 1.0
