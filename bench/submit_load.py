"""bench/submit_load.py: the relay bench's load generator (bench/relay.sh). CLIENTS
processes each hold one SMTP session (AUTH PLAIN first when --user is given, as a mail
client does on submission) and send their share of MESSAGES messages of about SIZE
bytes, one recipient each, spread over the --domains remote domains. smtp-source has
no AUTH, so the same generator drives both servers.

Prints one line: "acked N first T0 last T1" (N messages answered 250; T0 the wall clock
just before the first MAIL FROM of any client, T1 after the last 250), and exits 1 if
any message was refused or a session failed.

    python3 bench/submit_load.py --port P --clients 8 --messages 4000 [--user U --password-file F]
"""

import argparse
import multiprocessing
import smtplib
import sys
import time


def client(args, k, password, out):
    """Client k sends messages k, k + clients, ...; puts (acked, first, last, error)."""
    acked, first, error = 0, None, None
    body = ("x" * 76 + "\r\n") * max(1, args.size // 78)
    try:
        with smtplib.SMTP(args.host, args.port, timeout=300) as s:
            s.ehlo("load.bench.test")
            if args.user:
                s.login(args.user, password, initial_response_ok=True)
            sender = args.user or "load@example.test"
            for i in range(k, args.messages, args.clients):
                rcpt = f"r{i}@d{i % args.domains}.bench.test"
                msg = (f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: relay bench {i}\r\n"
                       f"Message-ID: <relay.{i}.{args.run}@example.test>\r\n"
                       f"Date: Wed, 02 Dec 2026 00:00:00 +0000\r\n\r\n{body}")
                if first is None:
                    first = time.time()
                refused = s.sendmail(sender, [rcpt], msg)
                if refused:
                    raise smtplib.SMTPException(f"refused {refused}")
                acked += 1
    except (OSError, smtplib.SMTPException) as e:
        error = f"client {k}: {e!r}"
    out.put((acked, first, time.time(), error))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--messages", type=int, default=4000)
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--domains", type=int, default=10)
    p.add_argument("--user")
    p.add_argument("--password-file")
    p.add_argument("--run", default=str(int(time.time())), help="tag in Message-IDs")
    args = p.parse_args()
    password = None
    if args.user:
        with open(args.password_file) as f:
            password = f.readline().rstrip("\n")
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=client, args=(args, k, password, out))
             for k in range(args.clients)]
    for pr in procs:
        pr.start()
    results = [out.get() for _ in procs]
    for pr in procs:
        pr.join()
    errors = [r[3] for r in results if r[3]]
    firsts = [r[1] for r in results if r[1] is not None]
    acked = sum(r[0] for r in results)
    print(f"acked {acked} first {min(firsts) if firsts else 0:.6f} "
          f"last {max(r[2] for r in results):.6f}")
    for e in errors[:5]:
        print(f"submit_load: {e}", file=sys.stderr)
    return 1 if errors or acked != args.messages else 0


if __name__ == "__main__":
    sys.exit(main())
