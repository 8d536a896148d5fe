#!/usr/bin/env python3
"""conn_memory.py: server memory per idle connection, per protocol.

Starts `kasten serve` on free loopback ports in a temp dir, opens N connections to one
listener at a time, reads each greeting (after the TLS handshake on the TLS ports), and
reports the growth of the server's resident set divided by N. The connections then sit
idle; the figure is what tens of thousands of idle clients would cost. Each listener is
measured twice: just greeted, and after one command (EHLO, CAPA) has been answered.

    bench/conn_memory.py [--kasten build/kasten] [--n 2000] [--no-limits]

Prints one RESULT line per listener: bytes per connection."""

import argparse
import os
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

LISTENERS = [("smtp", False), ("submissions", True), ("pop3", False), ("pop3s", True)]


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def settle(pid, secs=1.0):
    time.sleep(secs)
    return rss(pid)


def wait_port(port, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# One command each protocol answers before login, and how its answer ends.
COMMANDS = {"smtp": (b"EHLO bench.test\r\n", b"\n250 "),
            "pop3": (b"CAPA\r\n", b"\r\n.\r\n")}


def read_until(s, end):
    data = b""
    while end not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def open_many(port, tls, n, command=None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conns = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        if tls:
            s = ctx.wrap_socket(s, server_hostname="localhost")
        read_until(s, b"\r\n")  # the greeting: the session exists and has answered
        if command:
            s.sendall(command[0])
            read_until(s, command[1])
        conns.append(s)
    return conns


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kasten", default=os.environ.get("KASTEN_BIN", "build/kasten"))
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--no-limits", action="store_true",
                    help="builds older than the per-client limits (no [limits] keys)")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = tempfile.mkdtemp(prefix="kasten-connmem-")
    ports = dict(zip([l for l, _ in LISTENERS], free_ports(len(LISTENERS))))
    data = os.path.join(tmp, "data")
    os.mkdir(data, 0o700)
    conf = os.path.join(tmp, "kasten.conf")
    with open(conf, "w") as f:
        f.write(f"[server]\ndata = {data}\nthreads = 2\nlog_level = warn\n\n[listen]\n")
        for name, port in ports.items():
            f.write(f"{name} = 127.0.0.1:{port}\n")
        n = args.n + 10
        if not args.no_limits:
            f.write(f"\n[limits]\nmax_connections_per_ip = {n}\n"
                    f"max_unauthenticated_per_ip = {n}\n")
    print(f"kasten {args.kasten}, {args.n} idle connections per listener")
    try:
        for (name, tls), after in [(l, a) for l in LISTENERS for a in (False, True)]:
            command = COMMANDS["pop3" if name.startswith("pop3") else "smtp"] if after else None
            # a fresh server per listener: freed memory stays in the allocator, so a
            # second run in the same process would look free
            proc = subprocess.Popen([args.kasten, "serve", "--config", conf],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_port(ports[name])
                for c in open_many(ports[name], tls, 20):  # warm up TLS and malloc
                    c.close()
                before = settle(proc.pid)
                conns = open_many(ports[name], tls, args.n, command)
                after = settle(proc.pid)
                per = (after - before) / args.n
                state = "after-command" if command else "greeted"
                print(f"RESULT conn_memory listener={name} tls={'yes' if tls else 'no'} "
                      f"state={state} bytes_per_conn={per:.0f} "
                      f"rss_before={before} rss_after={after}")
                for c in conns:
                    c.close()
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
