#!/usr/bin/env bash
# bench/pop3.sh: POP3 download speed, kasten vs Debian's dovecot-pop3d on the same data
# (both loaded through their LMTP with the same smtp-source messages of ~4 KB):
#   1. one client RETRs SINGLE (5,000) messages, keep mode, then delete mode
#   2. USERS (200) clients at once each download their mailbox (PER_USER messages), keep
# Prints messages/s, MB/s and the ratio kasten/dovecot for each.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
USERS=${USERS:-200}
PER_USER=${PER_USER:-50}
SINGLE=${SINGLE:-5000}
need
T=$(mktemp -d /tmp/kasten-bench-pop3.XXXXXX)
trap 'cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
NU=$((USERS + 1)) # user$NU is the single-client account
LOAD=$PY
echo "pop3 bench: 1 client x $SINGLE messages; $USERS clients x $PER_USER messages; tmp $T"

fill() { # fill LMTP_PORT
	"$SMTP_SOURCE" -L -d -s 1 -m "$SINGLE" -l 4096 -M client.test -f bench@sender.invalid \
		-t "user$NU@$BENCH_DOMAIN" "127.0.0.1:$1" &
	local p=$!
	lmtp_load "$1" "$USERS" "$PER_USER" 20
	wait "$p"
}

run_all() { # run_all NAME POP3_PORT -> RESULT_<name>_<test> lines
	local name=$1 port=$2 out
	# warm-up: one login each so first-access indexing is not in the timings of either
	$PY "$(dirname "$0")/pop3_load.py" many "$port" "$BENCH_PASS" --users "1..$USERS" \
		--stat-only >/dev/null
	$PY "$(dirname "$0")/pop3_load.py" single "$port" "user$NU@$BENCH_DOMAIN" "$BENCH_PASS" \
		--stat-only >/dev/null
	out=$($PY "$(dirname "$0")/pop3_load.py" single "$port" "user$NU@$BENCH_DOMAIN" "$BENCH_PASS" --mode keep)
	echo "RESULT pop3 $name single-keep: $out"
	eval "R_${name}_keep='$out'"
	out=$($PY "$(dirname "$0")/pop3_load.py" many "$port" "$BENCH_PASS" --users "1..$USERS")
	echo "RESULT pop3 $name many-keep: $out"
	eval "R_${name}_many='$out'"
	out=$($PY "$(dirname "$0")/pop3_load.py" single "$port" "user$NU@$BENCH_DOMAIN" "$BENCH_PASS" --mode delete)
	echo "RESULT pop3 $name single-delete: $out"
	eval "R_${name}_delete='$out'"
}

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

kasten_setup "$T/kasten" "$NU" lmtp pop3
kasten_start "$T/kasten/serve.log"
wait_port "$KASTEN_PORT_lmtp"; wait_port "$KASTEN_PORT_pop3"
assert_loopback_only kasten "$KASTEN_PID"
fill "$KASTEN_PORT_lmtp"
echo "kasten loaded: $(kasten_count) messages"
run_all kasten "$KASTEN_PORT_pop3"
stop_pid "$KASTEN_PID"

dovecot_setup "$T/dovecot" "$NU" "lmtp pop3"
dovecot_start
wait_port "$DOVECOT_PORT_lmtp"; wait_port "$DOVECOT_PORT_pop3"
assert_loopback_only dovecot "$DOVECOT_PID"
fill "$DOVECOT_PORT_lmtp"
echo "dovecot loaded: $(dovecot_count "$T/dovecot") messages"
run_all dovecot "$DOVECOT_PORT_pop3"
stop_pid "$DOVECOT_PID"

echo
for t in keep many delete; do
	k=R_kasten_$t d=R_dovecot_$t
	echo "RESULT pop3 ratio kasten/dovecot $t: msgs/s $(ratio "$(field "${!k}" msgs_per_s)" "$(field "${!d}" msgs_per_s)")," \
		"MB/s $(ratio "$(field "${!k}" mb_per_s)" "$(field "${!d}" mb_per_s)")"
done
