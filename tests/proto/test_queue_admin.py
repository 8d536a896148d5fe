"""`kasten queue` beside a running server (issue 9 item 6): list, show, retry, hold,
release, delete (also of a message being sent at that moment), stats as Prometheus text
lines, and a message leased when the server died tried again after the restart.

The queue is filled the real way: submission (RFC 6409) to recipients at far.test,
whose MX is 127.0.0.9. Where nothing listens there, every attempt is refused and the
recipients stay queued (deferred); where a silent listener accepts and never greets,
an attempt lasts until [outbound] command_timeout, so the message is "being sent" for
that long. Every check waits for the state it looks at, never for a time."""

import re
import socket
import threading
import time

import pytest

from kasten_test import make_message
from outbound_test import remote_host, submit

FAR = "far.test"
WAIT = 60  # seconds any awaited state may take on a busy machine

# a long retry schedule: after its first attempt a message waits an hour, unless retried
SLOW_RETRY = {"outbound": {"retry_schedule": "1h"}}


@pytest.fixture
def far(zone):
    zone.mx(FAR, [(10, f"mx.{FAR}")])
    zone.a(f"mx.{FAR}", remote_host(9))
    return zone


class SilentMX:
    """A listener on 127.0.0.9:port that accepts connections and never says a word,
    so the sending worker waits (RFC 5321 4.5.3.2.1: the greeting wait) while the
    message is leased."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((remote_host(9), port))
        self.sock.listen(16)
        self.conns = []
        self.accepted = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            self.accepted.set()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in self.conns:
            c.close()
        self.thread.join(5)


def wait_for(what, fn, timeout=WAIT):
    """fn() until it returns something true; that value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def queue(k, *args, check=True):
    r = k.kasten("queue", *args, check=check)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def listing(k):
    """qid -> [sender, recipients, size, age, next attempt, last error]: the columns of
    its `kasten queue list` line (tab-separated)."""
    _, out, _ = queue(k, "list")
    lines = out.splitlines()
    assert lines[0] == "ID\tSENDER\tRECIPIENTS\tSIZE\tAGE\tNEXT\tLAST-ERROR"
    assert lines[-1] == f"{len(lines) - 2} message(s)"
    rows = {}
    for line in lines[1:-1]:
        cols = line.split("\t")
        assert len(cols) == 7, line
        rows[cols[0]] = cols[1:]
    return rows


def show(k, qid):
    """The `kasten queue show` fields and recipient lines of qid."""
    _, out, _ = queue(k, "show", qid)
    fields, rcpts = {}, []
    for line in out.splitlines():
        key, _, value = line.partition(": ")
        if key == "recipient":
            rcpts.append(value)
        else:
            fields[key] = value
    return fields, rcpts


def attempts(k, qid):
    return [int(re.search(r" attempts=(\d+)", r).group(1)) for r in show(k, qid)[1]]


def queue_one(k, subject, rcpts):
    """Submit one message to rcpts; its qid once it is listed."""
    before = set(listing(k))
    assert submit(k, rcpts, make_message(subject, sender=k.user)) == {}
    new = wait_for("the message in the listing", lambda: set(listing(k)) - before)
    [qid] = new
    return qid


def test_list_show_stats(far, outbound_server):
    k = outbound_server()
    q1 = queue_one(k, "first", [f"a@{FAR}", f"b@{FAR}"])
    q2 = queue_one(k, "second", [f"c@{FAR}"])
    assert re.fullmatch(r"[0-9a-f]{16}", q1) and q1 != q2
    # the engine tried and was refused: the reason is in the listing
    rows = wait_for("a last error for both",
                    lambda: (lambda l: l if all(l[q][5] != "-" for q in (q1, q2))
                             else None)(listing(k)))
    sender, rcpts, size, age, nxt, error = rows[q1]
    assert sender == f"<{k.user}>"
    assert sorted(rcpts.split(",")) == [f"a@{FAR}", f"b@{FAR}"]
    files = {q: (k.data / "queue" / "msg" / q).stat().st_size for q in (q1, q2)}
    assert int(size) == files[q1]
    assert re.fullmatch(r"\d+[smhd]", age)
    assert nxt in ("now", "sending") or re.fullmatch(r"in \d+[smhd]", nxt)
    # the engine's reason, one line (RFC 5321 4.2 style text or our own)
    assert error and "\n" not in error

    fields, rc = show(k, q1)
    assert fields["id"] == q1 and fields["sender"] == f"<{k.user}>"
    assert fields["size"] == str(files[q1]) and fields["held"] == "no"
    assert fields["kind"] == "normal" and fields["dkim-signed"] == "yes"
    assert fields["file"] == str(k.data / "queue" / "msg" / q1)
    assert [r.split()[0] for r in rc] == [f"<a@{FAR}>", f"<b@{FAR}>"]
    assert all(" pending " in r for r in rc)
    code, _, err = queue(k, "show", "0000000000000000", check=False)
    assert code == 1 and "no such message" in err

    # Prometheus text format, one sample line per metric after its HELP and TYPE
    _, out, _ = queue(k, "stats")
    lines = out.splitlines()
    samples = {}
    for i in range(0, len(lines), 3):
        name = lines[i].split()[2]
        assert lines[i].startswith(f"# HELP {name} ")
        assert lines[i + 1] == f"# TYPE {name} gauge"
        m = re.fullmatch(rf"{name} (\d+)", lines[i + 2])
        samples[name] = int(m.group(1))
    assert samples["kasten_queue_messages"] == 2
    assert samples["kasten_queue_recipients"] == 3
    assert samples["kasten_queue_bytes"] == sum(files.values())
    assert samples["kasten_queue_oldest_seconds"] >= 0
    assert len(lines) == 12


def test_retry_hold_release(far, outbound_server):
    k = outbound_server(SLOW_RETRY)
    held = queue_one(k, "held", [f"h@{FAR}"])
    free = queue_one(k, "free", [f"f@{FAR}"])
    for q in (held, free):
        wait_for("the first attempt", lambda: attempts(k, q) == [1])
    # both wait an hour now
    rows = listing(k)
    assert rows[free][4] in ("in 59m", "in 1h")

    _, out, _ = queue(k, "hold", held)
    assert out == f"{held}: held\n"
    assert listing(k)[held][4] == "held"
    assert show(k, held)[0]["held"] == "yes"
    _, out, _ = queue(k, "retry", "--all")
    assert out == "all: 2 recipient(s) due now\n"
    wait_for("the retried attempt", lambda: attempts(k, free) == [2])
    assert attempts(k, held) == [1]  # held: passed over by the same scheduler passes

    _, out, _ = queue(k, "release", held)
    assert out == f"{held}: released\n"
    wait_for("the released attempt", lambda: attempts(k, held) == [2])

    _, out, _ = queue(k, "retry", free)
    assert out == f"{free}: 1 recipient(s) due now\n"
    wait_for("the retried attempt", lambda: attempts(k, free) == [3])
    code, _, err = queue(k, "hold", "ffffffffffffffff", check=False)
    assert code == 1 and "no such message" in err


def test_delete(far, outbound_server):
    k = outbound_server(SLOW_RETRY)
    qid = queue_one(k, "delete me", [f"d@{FAR}"])
    wait_for("the first attempt", lambda: attempts(k, qid) == [1])
    _, out, _ = queue(k, "delete", qid)
    assert out == f"{qid}: deleted\n"
    assert qid not in listing(k)
    assert not (k.data / "queue" / "msg" / qid).exists()
    code, _, err = queue(k, "delete", qid, check=False)
    assert code == 1 and "no such message" in err
    code, _, _ = queue(k, "delete", check=False)
    assert code == 2


def test_delete_while_sending(far, outbound_server, remote_port):
    """A message whose attempt is under way is marked: the worker's record of that
    attempt removes it (and later its file), and it is never tried again."""
    mx = SilentMX(remote_port)
    try:
        k = outbound_server({"outbound": {"command_timeout": "5s"}})
        qid = queue_one(k, "busy", [f"x@{FAR}"])
        assert mx.accepted.wait(WAIT)
        wait_for("the message being sent", lambda: listing(k)[qid][4] == "sending")
        _, out, _ = queue(k, "delete", qid)
        assert out.startswith(f"{qid}: being sent right now; marked deleted")
        fields, rc = show(k, qid)  # still there while the worker waits
        assert " deleted " in rc[0]
        wait_for("the attempt's end", lambda: qid not in listing(k))
        # the file goes once the rows' removal is durable: at the next durable commit,
        # here the next message's queueing
        path = k.data / "queue" / "msg" / qid
        queue_one(k, "next", [f"z@{FAR}"])
        assert not path.exists()
    finally:
        mx.close()


def test_leased_when_killed_is_tried_again(far, outbound_server, remote_port):
    """kill -9 during an attempt: the lease dies with the server, so the message is
    tried again after the restart (the documented duplicate window)."""
    mx = SilentMX(remote_port)
    try:
        k = outbound_server(SLOW_RETRY)
        qid = queue_one(k, "crash", [f"y@{FAR}"])
        wait_for("the message being sent", lambda: listing(k)[qid][4] == "sending")
        k.kill9()
    finally:
        mx.close()
    assert attempts(k, qid) == [0]
    assert listing(k)[qid][4] == "sending"  # the lease as the dead server left it
    k.start()
    # nothing listens now: the new attempt is refused and counted
    wait_for("the attempt after the restart", lambda: attempts(k, qid) == [1])
    assert re.fullmatch(r"in \d+[mh]", listing(k)[qid][4])
