"""A private DNS server on loopback for the outbound tests: Debian's `unbound`, started
with zones the test writes, and DNSSEC-signed zones made at test time with ldnsutils
(ldns-keygen, ldns-signzone).

    d = DnsServer(tmp_dir)
    d.zone("example.test", ["@ MX 10 mx1.example.test.", "mx1 A 127.0.0.2"])
    d.zone("secure.test", ["@ MX 10 mx.secure.test."], signed=True)
    d.zone("bogus.test", ["@ MX 10 mx.bogus.test."], signed=True, tamper="MX")
    d.dead_zone("dead.test")     # delegated to a server that does not answer
    d.start()
    kasten config: d.kasten_config() -> {"dns": {"resolver": ..., "trust_anchor": ...}}
    d.stop()

How it answers: unbound serves every zone from its own files (auth-zone, for-upstream:
the data enters its resolver as if fetched from an authoritative server) and resolves
with RD set, as the resolver kasten's `[dns] resolver` names would. It does not validate
(module-config: iterator): DNSSEC is checked by kasten itself against trust_anchor, the
DS records of the signed zones, so a tampered signature reaches kasten and shows as
bogus. With validating=True it validates too (with the same anchors) and answers AD /
SERVFAIL like a validating resolver does.

Records are zone-file lines relative to the zone (owner "@" or a relative name, TTL and
class optional, written as given). Every zone gets its SOA and NS. A "signed" zone is
signed with a fresh ECDSA P-256 key (algorithm 13) valid from an hour ago for four
weeks; tamper=TYPE flips one byte of the signature over that type's RRset.
"""

import base64
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from kasten_test import HOST, free_ports

UNBOUND = "/usr/sbin/unbound"
KEYGEN = "/usr/bin/ldns-keygen"
SIGNZONE = "/usr/bin/ldns-signzone"
START_TIMEOUT = float(os.environ.get("KASTEN_START_TIMEOUT", "10")) * 2


def available():
    return all(os.access(p, os.X_OK) for p in (UNBOUND, KEYGEN, SIGNZONE))


class DnsServer:
    host = HOST

    def __init__(self, workdir=None, validating=False):
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="kasten-dns-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.validating = validating
        self.zones = {}       # origin -> zone file path
        self.anchors = []     # DS lines of the signed zones
        self.dead = []        # origins delegated to a silent server
        self.port = self.silent_port = None
        self.proc = None

    # ---- zones ----
    def zone(self, origin, records, signed=False, tamper=None):
        origin = origin.rstrip(".")
        lines = [f"$ORIGIN {origin}.", "$TTL 300",
                 f"@ IN SOA ns.{origin}. hostmaster.{origin}. 1 3600 600 86400 300",
                 f"@ IN NS ns.{origin}.", f"ns IN A {HOST}", *records, ""]
        path = self.dir / f"{origin}.zone"
        path.write_text("\n".join(lines))
        if signed:
            path = self._sign(origin, path, tamper)
        self.zones[origin] = path

    def dead_zone(self, origin):
        """A zone delegated to a loopback port where no server answers: SERVFAIL."""
        self.dead.append(origin.rstrip("."))

    def _sign(self, origin, path, tamper):
        keys = self.dir / f"keys-{origin}"
        shutil.rmtree(keys, ignore_errors=True)
        keys.mkdir()
        base = subprocess.run([KEYGEN, "-a", "ECDSAP256SHA256", "-k", origin], cwd=keys,
                              check=True, capture_output=True, text=True).stdout.strip()
        now = time.time()
        stamp = lambda t: time.strftime("%Y%m%d%H%M%S", time.gmtime(t))
        subprocess.run([SIGNZONE, "-i", stamp(now - 3600), "-e", stamp(now + 28 * 86400),
                        "-f", str(path) + ".signed", str(path), str(keys / base)],
                       cwd=keys, check=True, capture_output=True)
        self.anchors.append((keys / f"{base}.ds").read_text().strip())
        signed = Path(str(path) + ".signed")
        if tamper:
            signed.write_text(self._tamper(signed.read_text(), tamper))
        return signed

    @staticmethod
    def _tamper(text, rtype):
        """Flip one bit in the signature of the RRSIG that covers rtype."""
        out, done = [], False
        for line in text.splitlines():
            f = line.split()
            if not done and len(f) >= 13 and f[3] == "RRSIG" and f[4] == rtype:
                sig = bytearray(base64.b64decode("".join(f[12:])))
                sig[len(sig) // 2] ^= 0x01
                line = "\t".join(f[:12] + [base64.b64encode(bytes(sig)).decode()])
                done = True
            out.append(line)
        assert done, f"no RRSIG over {rtype} to tamper with"
        return "\n".join(out) + "\n"

    # ---- the server ----
    def addr(self):
        return f"{HOST}:{self.port}"

    def trust_anchor_file(self):
        path = self.dir / "trust-anchors"
        path.write_text("".join(a + "\n" for a in self.anchors))
        return path

    def kasten_config(self, timeout=None):
        """The [dns] section for kasten_factory(config=...)."""
        conf = {"resolver": self.addr(), "trust_anchor": str(self.trust_anchor_file())}
        if timeout:
            conf["timeout"] = str(timeout)
        return {"dns": conf}

    def _config(self, silent_port):
        ta = self.trust_anchor_file()
        lines = [
            "server:",
            f"  interface: {HOST}", f"  port: {self.port}",
            "  do-daemonize: no", '  username: ""', '  chroot: ""', '  pidfile: ""',
            f'  directory: "{self.dir}"', "  use-syslog: no",
            f'  logfile: "{self.dir / "unbound.log"}"', "  verbosity: 1",
            f"  access-control: {HOST}/8 allow",
            "  do-not-query-localhost: no",
            # the special-use name test. (RFC 6761 6.2) is ours here
            '  local-zone: "test." nodefault',
            # a silent server is given up on within a few seconds, not minutes
            "  infra-cache-max-rtt: 1000",
            "  qname-minimisation: no",
            '  module-config: "%s"' % ("validator iterator" if self.validating
                                      else "iterator"),
        ]
        if self.validating and self.anchors:
            lines.append(f'  trust-anchor-file: "{ta}"')
        for origin, path in self.zones.items():
            lines += ["auth-zone:", f'  name: "{origin}."', f'  zonefile: "{path}"',
                      "  for-downstream: no", "  for-upstream: yes",
                      "  fallback-enabled: no"]
        for origin in self.dead:
            lines += ["stub-zone:", f'  name: "{origin}."',
                      f"  stub-addr: {HOST}@{silent_port}"]
        return "\n".join(lines) + "\n"

    def start(self):
        assert self.proc is None
        if self.port is None:  # a restart keeps the address kasten was given
            self.port, self.silent_port = free_ports(2)
        conf = self.dir / "unbound.conf"
        conf.write_text(self._config(self.silent_port))
        subprocess.run([UNBOUND + "-checkconf", str(conf)], check=True,
                       capture_output=True)
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_ready()

    def query_rcode(self, name, qtype=6, wait=1.0):
        """One UDP query with RD set (RFC 1035 4.1.1); the answer's RCODE, or None."""
        qname = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l)
        msg = struct.pack(">HHHHHH", 0x4b41, 0x0100, 1, 0, 0, 0) + qname + b"\0" \
            + struct.pack(">HH", qtype, 1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(wait)
            s.sendto(msg, (HOST, self.port))
            try:
                data = s.recv(4096)
            except OSError:  # timeout, or refused while it is not listening yet
                return None
        if len(data) < 12 or data[:2] != msg[:2] or not data[2] & 0x80:
            return None
        return data[3] & 0x0f

    def _wait_ready(self):
        """Ready once it answers a query for a name it serves."""
        probe = next(iter(self.zones), None) or "test"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"unbound exited {self.proc.returncode}: "
                                   f"{self.proc.stderr.read().decode(errors='replace')}"
                                   f"{self.log()}")
            if self.query_rcode(probe) == 0:
                return
        raise RuntimeError(f"unbound did not answer within {START_TIMEOUT} s\n{self.log()}")

    def log(self):
        p = self.dir / "unbound.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()
        self.proc = None

    def restart(self):
        """After changing zones: a new process (and an empty cache)."""
        self.stop()
        self.start()

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)
