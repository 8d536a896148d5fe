#!/usr/bin/env bash
# check.sh: build and run every test: unit tests, protocol tests with real clients,
# the same again under ASan+UBSan, and a short run of every fuzz target.
# Ends with one line "check: N passed, N failed".
set -u
cd "$(dirname "$0")/.."
PY=/usr/bin/python3 # Debian's, which has pytest; not whatever python3 is first on PATH
passed=0
failed=0
failures=()
recap=$(mktemp)
trap 'rm -f "$recap"' EXIT

# A stage's output goes to the terminal as it comes; the lines that say what failed
# (pytest's FAILED lines, a sanitizer's SUMMARY, the fuzz input) are kept for a recap
# at the very end, since CI shows only the last lines of a half-hour log.
stage() { # stage NAME COMMAND...
	local name=$1 log rc
	shift
	echo "=== $name"
	log=$(mktemp)
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("$name")
		echo "=== FAILED: $name"
		{
			echo "--- $name"
			grep -E '^(FAILED|ERROR) |^--- fuzz_.* FAILED|SUMMARY:|^Base64:|^[0-9]+ (failed|passed)|^=+ .*(failed|error)' "$log" |
				cut -c1-300 | tail -n 15
		} >>"$recap"
	fi
	rm -f "$log"
}

build() { # build DIR [meson options]; unit tests are required here, optional for make run
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" -Dunit_tests=enabled "$@" >/dev/null || return 1
	else
		meson setup "$dir" -Dunit_tests=enabled "$@" >/dev/null || return 1
	fi
	ninja -C "$dir"
}

# Protocol tests run on every core (pytest-xdist): most of a test's time is waiting for
# servers, clients and timers. Whole files go to one worker (--dist loadfile), so a
# module's fixtures (a Dovecot, a zone) start once; ports never collide (kasten_test.py).
pytests() { # pytests BINARY
	KASTEN_BIN=$PWD/$1 $PY -m pytest -q -p no:cacheprovider -n "${TEST_WORKERS:-$(nproc)}" \
		--dist loadfile tests/proto tests/clients
}

fuzz_one() { # fuzz_one TARGET: a short run from its seed corpus; output in TARGET's log
	local t=$1 name corpus
	name=$(basename "$t")
	corpus=fuzz/corpus/${name#fuzz_}
	mkdir -p "$corpus"
	# new inputs go to a scratch dir first, so the seed corpus in git stays as is;
	# a crashing or slow input lands in fuzz/ (ignored by git), not in the root
	"$t" -max_total_time="${FUZZ_SECONDS:-10}" -rss_limit_mb=1024 -max_len=65536 \
		-print_final_stats=0 -artifact_prefix=fuzz/ "$(mktemp -d)" "$corpus"
}

fuzz_all() { # every target, as many at once as there are cores
	local ok=0 t name logs
	logs=$(mktemp -d)
	for t in build-fuzz/fuzz/fuzz_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue # not meson's fuzz_*.p object dirs
		while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do sleep 0.2; done
		name=$(basename "$t")
		(fuzz_one "$t" >"$logs/$name" 2>&1; echo $? >"$logs/$name.rc") &
	done
	wait
	for t in "$logs"/*.rc; do # the passing targets first, a crash report last
		name=$(basename "$t" .rc)
		[ "$(cat "$t")" = 0 ] || continue
		echo "--- $name"
		tail -n 1 "$logs/$name"
	done
	for t in "$logs"/*.rc; do
		name=$(basename "$t" .rc)
		[ "$(cat "$t")" = 0 ] && continue
		ok=1
		echo "--- $name FAILED"
		cat "$logs/$name" # the crash report and the input that caused it
	done
	rm -rf "$logs"
	return $ok
}

stage build build build
stage unit meson test -C build --print-errorlogs
# The webmail's pure modules (web/js: address lists, replies, sizes and times, the QR
# code) under node's test runner; the QR test reads the pinned qrcode-generator.
web_unit() { scripts/install-npm.sh && node --test tests/web/; }
stage web-unit web_unit
stage proto pytests build/kasten
# The browser tests: Debian's chromium driven by playwright-core (web/node_modules), on
# the normal build only (under ASan they would measure the sanitizer's slowness); on
# every core like the protocol tests, since a browser test mostly waits.
e2e_tests() {
	scripts/install-npm.sh && KASTEN_BIN=$PWD/build/kasten $PY -m pytest -q -p no:cacheprovider \
		-n "${TEST_WORKERS:-$(nproc)}" tests/e2e
}
stage e2e e2e_tests
stage asan-build build build-asan -Db_sanitize=address,undefined -Db_lundef=false
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
stage asan-unit meson test -C build-asan --print-errorlogs
stage asan-proto pytests build-asan/kasten
unset ASAN_OPTIONS UBSAN_OPTIONS
fuzz_build() { CC=clang build build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false; }
stage fuzz-build fuzz_build
stage fuzz fuzz_all
# the webmail's address parser (JavaScript: a small mutation fuzzer, same time budget)
stage fuzz-web node fuzz/fuzz_addrlist.mjs

echo
cat "$recap"
[ ${#failures[@]} -eq 0 ] || echo "failed stages: ${failures[*]}"
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
