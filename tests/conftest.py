"""pytest fixtures shared by tests/proto and tests/clients.

    server          a started kasten (function scope): .ports .config .data .host
                    .user_add() .kasten() .export() .messages() .restart() .kill9() .stop()
    module_server   the same, one per test module
    kasten_factory  build more instances: kasten_factory(listen=..., config=...) -> unstarted

Per-test settings: @pytest.mark.kasten(listen=(...), config={"section": {"key": "v"}});
per-module: KASTEN_LISTEN = (...) and KASTEN_CONFIG = {...} in the test module.
At teardown every server still running gets SIGTERM and must exit 0; a sanitizer report
in its log fails the test. A failed test shows the server log.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kasten_test  # noqa: E402
from kasten_test import KastenServer  # noqa: E402
# the outbound fixtures (zone, remote_port, smtp_sink, remote_kasten, outbound_server):
# documented in tests/outbound_test.py
from outbound_test import (outbound_server, remote_kasten, remote_port,  # noqa: E402,F401
                           smtp_sink, zone)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "kasten(listen=..., config=...): settings for the `server` fixture")


def _settings(request, marker=True):
    listen = getattr(request.module, "KASTEN_LISTEN", kasten_test.DEFAULT_LISTEN)
    config = dict(getattr(request.module, "KASTEN_CONFIG", {}))
    if marker:
        m = request.node.get_closest_marker("kasten")
        if m:
            listen = m.kwargs.get("listen", listen)
            for section, kv in m.kwargs.get("config", {}).items():
                config[section] = {**config.get(section, {}), **kv}
    return listen, config


def _teardown(servers, since=0):
    errors = []
    for s in servers:
        try:
            if s.running:
                s.stop(check=False)
                assert s.exit_codes[-1:] == [0], \
                    f"kasten serve exited with {s.exit_codes[-1:]} after SIGTERM\n{s.log_tail()}"
            s.check_log(since)
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture
def kasten_factory(request, tmp_path):
    servers = []
    request.node._kasten_servers = servers

    def make(listen=None, config=None, name=None):
        d_listen, d_config = _settings(request)
        s = KastenServer(tmp_path / (name or f"kasten{len(servers)}"),
                         listen=listen or d_listen, config=config or d_config)
        servers.append(s)
        return s

    yield make
    _teardown(servers)


@pytest.fixture
def server(request, tmp_path):
    listen, config = _settings(request)
    s = KastenServer(tmp_path / "kasten", listen=listen, config=config)
    request.node._kasten_servers = [s]
    s.start()
    yield s
    _teardown([s])


@pytest.fixture(scope="module")
def module_server(request, tmp_path_factory):
    listen, config = _settings(request, marker=False)
    s = KastenServer(tmp_path_factory.mktemp("kasten"), listen=listen, config=config)
    s.start()
    yield s
    _teardown([s])  # whole log: catches reports written between tests too


@pytest.fixture
def mserver(request, module_server):
    """module_server, restarted if an earlier test left it dead; its log on failure."""
    request.node._kasten_servers = [module_server]
    if not module_server.running:
        module_server.proc = None
        module_server.start()
    mark = module_server.log_mark()
    yield module_server
    p = module_server.proc
    if p is not None and p.poll() is not None:
        module_server.proc = None
        pytest.fail(f"kasten serve died during this test (exit {p.returncode})\n"
                    f"{module_server.log_tail()}", pytrace=False)
    module_server.check_log(since=mark)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for s in getattr(item, "_kasten_servers", []):
            rep.sections.append((f"kasten log {s.log}", s.log_tail()))


@pytest.fixture
def dovecot():
    """A private Dovecot on loopback (tests/dovecot_test.py), users u1 and u2 with the
    password "dovecot-pass"; stopped and removed after the test."""
    from dovecot_test import DovecotServer, available
    if not available():
        pytest.fail("/usr/sbin/dovecot missing: scripts/install-deps.sh check installs it")
    d = DovecotServer(None, users={"u1": "dovecot-pass", "u2": "dovecot-pass"})
    try:
        d.start()
        yield d
    finally:
        d.stop()
        d.remove()
