"""One server per data dir and per address, listeners only where asked, and files
nobody else can read (issue 6, items 2 and 7)."""

import os
import socket
import stat
import subprocess
import time

import pytest

from kasten_test import HOST, TCP_LISTEN, free_ports, kasten_bin, tcp_sockets, unique_user


def serve_once(config, timeout=20):
    """Run `kasten serve` expecting it to refuse to start: (exit code, log)."""
    r = subprocess.run([kasten_bin(), "serve", "--config", str(config)],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def listening_ports(pid):
    return {port for port, state in tcp_sockets(pid) if state == TCP_LISTEN}


def test_second_server_on_the_same_data_dir_is_refused_naming_the_pid(server, kasten_factory):
    # the same data dir, other ports: it must not start (two POP3 sessions could then
    # hold one maildrop at once)
    other = kasten_factory(name="second")
    other.write_config({"server": {"data": str(server.data)}})
    code, log = serve_once(other.config)
    assert code != 0, log
    assert f"pid {server.proc.pid}" in log and "not starting a second server" in log, log
    # and it bound none of its ports on the way
    for port in other.ports.values():
        with pytest.raises(OSError):
            socket.create_connection((HOST, port), timeout=1).close()
    # the first one still serves, and admin commands work beside it
    user = unique_user("lock")
    server.user_add(user, "Lock-pass-1")
    assert any(r["address"] == user for r in server.user_list())


def test_second_server_on_another_data_dir_cannot_share_the_ports(server, kasten_factory):
    # a stale server or a second `make run` on other data must not take part of the mail:
    # SO_REUSEPORT would let it join the running server's listeners
    other = kasten_factory(name="elsewhere")
    other.ports = dict(server.ports)
    other.write_config({})
    (other.data).mkdir(parents=True, exist_ok=True)
    code, log = serve_once(other.config)
    assert code != 0, log
    assert "already in use by another process" in log, log
    # the data dir it locked on the way is free again: it can start on its own ports
    other.ports = dict(zip(other.listen, free_ports(len(other.listen))))
    other.write_config({})
    other.start()


def test_config_file_listeners_left_out_are_off(kasten_factory, tmp_path):
    s = kasten_factory(name="onlysmtp")
    (port,) = free_ports(1)
    s.data.mkdir(parents=True, exist_ok=True)
    # no [listen] key but smtp: nothing else may be bound, not even the defaults
    s.config.write_text(f"[server]\ndata = {s.data}\nhostname = mx.example.test\n"
                        f"threads = 2\n\n[listen]\nsmtp = {HOST}:{port}\n")
    s.listen, s.ports = ("smtp",), {"smtp": port}
    s.start()
    assert listening_ports(s.proc.pid) == {port}


@pytest.mark.parametrize("value", ["127.0.0.1:65536", "127.0.0.1:70000", "127.0.0.1:0",
                                   "127.0.0.1:", "127.0.0.1:-1", "127.0.0.1"])
def test_listen_port_out_of_range_is_refused(kasten_factory, value):
    s = kasten_factory(name="badport")
    s.data.mkdir(parents=True, exist_ok=True)
    s.write_config({"listen": {"smtp": value}})
    code, log = serve_once(s.config)
    assert code != 0 and "[listen]" in log and "65535" in log, log


def test_serve_refuses_a_missing_data_dir(kasten_factory):
    s = kasten_factory(name="nodata")
    code, log = serve_once(s.config)
    assert code != 0 and "does not exist" in log and "kasten init" in log, log
    assert not s.data.exists()


def test_files_are_private_even_in_a_world_readable_data_dir(kasten_factory):
    s = kasten_factory(name="modes")
    s.data.mkdir(parents=True)
    os.chmod(s.data, 0o755)  # made by an admin beforehand with a lax umask
    old = os.umask(0o022)
    try:
        s.start()
        user = unique_user("modes")
        s.user_add(user, "Modes-pass-1")
        from kasten_test import deliver, make_message
        deliver(s, user, make_message("modes"))
    finally:
        os.umask(old)
    s.stop()
    lax = []
    for root, dirs, files in os.walk(s.data):
        for name in dirs + files:
            p = os.path.join(root, name)
            mode = stat.S_IMODE(os.lstat(p).st_mode)
            want = 0o700 if os.path.isdir(p) else 0o600
            if mode & 0o077 or (mode != want and name != ".clean"):
                lax.append((p, oct(mode)))
    assert not lax, lax
    assert any(f.startswith("directory.db") for f in os.listdir(s.data))
    # the data dir itself was made 0755 by hand: the server says so at start-up
    s.start()
    deadline = time.monotonic() + 10
    while b"others can read it" not in s.log_bytes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"{s.data} is mode 0755".encode() in s.log_bytes()
