"""The browser tests' fixtures (issue 10, "How it is shown"; contract C7).

    mail        a started `kasten serve` (SMTP, submission, IMAP, POP3, HTTP on loopback)
                with two accounts, alice and bob (e2e_harness.Mail: its clients)
    remote_log  a loopback HTTP server logging every request (e2e_harness.RemoteLog)
    browser     run(target, ...) runs a scenario of tests/e2e/*.mjs in Debian's chromium
                (e2e_harness.Browser)

The scenarios use only the webmail's DOM hooks (contract C6); the tests assert on the
server's state through IMAP, POP3 and JMAP and on the DOM state the scenario reports.
Without /usr/bin/chromium (or the one E2E_CHROMIUM names) the tests are skipped with
the reason, except under CI=true, where a missing browser fails them:
scripts/install-deps.sh check installs it.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_harness import (CHROMIUM, CONFIG, LISTEN, PLAYWRIGHT, REPO, Browser,  # noqa: E402
                         Mail, RemoteLog)


def _ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def _browser_installed():
    if not os.access(CHROMIUM, os.X_OK):
        if _ci():
            pytest.fail(f"{CHROMIUM} missing under CI: scripts/install-deps.sh check "
                        "installs Debian's chromium", pytrace=False)
        pytest.skip(f"{CHROMIUM} missing (Debian's chromium; scripts/install-deps.sh "
                    "check installs it): browser tests skipped")
    # the pinned playwright-core (web/package-lock.json); a no-op when already installed
    r = subprocess.run([str(REPO / "scripts" / "install-npm.sh")], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=600)
    if r.returncode != 0 or not (PLAYWRIGHT / "index.mjs").exists():
        pytest.fail("scripts/install-npm.sh did not install playwright-core:\n"
                    + r.stdout.decode("utf-8", "replace")[-3000:], pytrace=False)


@pytest.fixture(autouse=True)
def _needs_browser(_browser_installed):
    """Every test here drives the browser: skipped or failed above when it is missing."""


@pytest.fixture
def remote_log():
    log = RemoteLog()
    yield log
    log.close()


@pytest.fixture
def mail(kasten_factory, remote_log):
    s = kasten_factory(listen=LISTEN, config=CONFIG, name="kasten")
    s.start()
    yield Mail(s, remote_log)


@pytest.fixture
def browser(request, tmp_path):
    return Browser(request.node, tmp_path)


def pytest_terminal_summary(terminalreporter):
    shots = sorted({v for reports in terminalreporter.stats.values() for rep in reports
                    for k, v in getattr(rep, "user_properties", ()) if k == "screenshot"})
    if shots:
        terminalreporter.write_line("browser screenshots (tests/e2e/artifacts):")
        for p in shots:
            terminalreporter.write_line(f"  {p}")
