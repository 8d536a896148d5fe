#!/usr/bin/env bash
# bench/run.sh: `make bench`. Installs the Dovecot packages, expects build/kasten (builds
# nothing but the bench's own IMAP load generator), runs the LMTP, POP3 and IMAP
# side-by-side benchmarks and the memory ones, and keeps the output in
# bench/last-run.txt (copy the RESULT lines into bench/RESULTS.md).
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh bench
export KASTEN_BIN=${KASTEN_BIN:-$PWD/build/kasten}
[ -x "$KASTEN_BIN" ] || { echo "bench: $KASTEN_BIN not found: run 'make build' first" >&2; exit 1; }
out=${BENCH_OUT:-bench/last-run.txt}
rc=0
{
	echo "# kasten bench $(date -u +%Y-%m-%dT%H:%M:%SZ) $(git rev-parse --short HEAD 2>/dev/null)"
	echo "# $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB, $(uname -r), $(dovecot --version 2>/dev/null | sed 's/^/dovecot /')"
	for b in ${BENCHES:-lmtp pop3 connmem imap imap_mem relay jmap}; do
		echo "=== $b"
		timeout "${BENCH_TIMEOUT:-3600}" "bench/$b.sh" || { echo "=== $b FAILED"; rc=1; }
	done
} 2>&1 | tee "$out"
[ "${PIPESTATUS[0]}" -eq 0 ] && [ "$rc" -eq 0 ] && ! grep -q FAILED "$out"
