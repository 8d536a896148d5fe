#!/usr/bin/env bash
# bench/lmtp.sh: the same smtp-source LMTP load against kasten and Dovecot's LMTP
# (Maildir, shipped fsync defaults), in one run. Prints messages/s and the ratio.
#   USERS=200 PER_USER=100 SESSIONS=20   -> 20,000 messages of ~4 KB to 200 accounts
#   FSYNC_COUNT=1: a separate short run under strace -c counting fsync-family calls
set -euo pipefail
. "$(dirname "$0")/lib.sh"
USERS=${USERS:-200}
PER_USER=${PER_USER:-100}
SESSIONS=${SESSIONS:-20}
FSYNC_COUNT=${FSYNC_COUNT:-1}
TOTAL=$((USERS * PER_USER))
need
T=$(mktemp -d /tmp/kasten-bench-lmtp.XXXXXX)
trap 'cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
echo "lmtp bench: $TOTAL messages (~4 KB) to $USERS accounts over $SESSIONS sessions; tmp $T"

# ---- kasten ----
kasten_setup "$T/kasten" "$USERS" lmtp
kasten_start "$T/kasten/serve.log"
wait_port "$KASTEN_PORT_lmtp"
assert_loopback_only kasten "$KASTEN_PID"
t0=$(now)
lmtp_load "$KASTEN_PORT_lmtp" "$USERS" "$PER_USER" "$SESSIONS"
t1=$(now)
k_time=$(elapsed "$t0" "$t1")
k_count=$(kasten_count)
stop_pid "$KASTEN_PID"

# ---- dovecot ----
dovecot_setup "$T/dovecot" "$USERS" lmtp
dovecot_start
wait_port "$DOVECOT_PORT_lmtp"
assert_loopback_only dovecot "$DOVECOT_PID"
t0=$(now)
lmtp_load "$DOVECOT_PORT_lmtp" "$USERS" "$PER_USER" "$SESSIONS"
t1=$(now)
d_time=$(elapsed "$t0" "$t1")
d_count=$(dovecot_count "$T/dovecot")
stop_pid "$DOVECOT_PID"

k_rate=$(rate "$TOTAL" "$k_time")
d_rate=$(rate "$TOTAL" "$d_time")
echo
echo "RESULT lmtp kasten:  $k_count/$TOTAL stored in ${k_time}s = $k_rate msg/s"
echo "RESULT lmtp dovecot: $d_count/$TOTAL stored in ${d_time}s = $d_rate msg/s"
echo "RESULT lmtp ratio kasten/dovecot: $(ratio "$k_rate" "$d_rate")"
ok=0
[ "$k_count" -eq "$TOTAL" ] || { echo "FAIL: kasten stored $k_count of $TOTAL"; ok=1; }
[ "$d_count" -eq "$TOTAL" ] || { echo "FAIL: dovecot stored $d_count of $TOTAL"; ok=1; }

# ---- fsync counts (separate short run: strace slows everything) ----
if [ "$FSYNC_COUNT" = 1 ] && command -v strace >/dev/null; then
	small_per=10
	small=$((USERS * small_per))
	echo
	echo "fsync count: $small messages each, under strace -f -c"
	rm -rf "$T/kasten"
	kasten_setup "$T/kasten" "$USERS" lmtp
	kasten_start "$T/kasten/serve2.log"
	wait_port "$KASTEN_PORT_lmtp"
	strace -f -c -e trace=fsync,fdatasync,syncfs,sync_file_range,msync -o "$T/kasten.strace" \
		-p "$KASTEN_PID" 2>/dev/null &
	st=$!
	sleep 1
	lmtp_load "$KASTEN_PORT_lmtp" "$USERS" "$small_per" "$SESSIONS"
	kill -INT "$st"; wait "$st" 2>/dev/null || true
	stop_pid "$KASTEN_PID"
	rm -rf "$T/dovecot"
	dovecot_setup "$T/dovecot" "$USERS" lmtp
	dovecot_start
	wait_port "$DOVECOT_PORT_lmtp"
	# Dovecot forks lmtp processes on demand: follow the master
	strace -f -c -e trace=fsync,fdatasync,syncfs,sync_file_range,msync -o "$T/dovecot.strace" \
		-p "$DOVECOT_PID" 2>/dev/null &
	st=$!
	sleep 1
	lmtp_load "$DOVECOT_PORT_lmtp" "$USERS" "$small_per" "$SESSIONS"
	kill -INT "$st"; wait "$st" 2>/dev/null || true
	stop_pid "$DOVECOT_PID"
	for s in kasten dovecot; do
		calls=$(awk '$NF ~ /^(fsync|fdatasync|syncfs|sync_file_range|msync)$/ { n += $4 } END { print n + 0 }' "$T/$s.strace")
		echo "RESULT fsync $s: $calls sync calls for $small messages = $(ratio "$calls" "$small") per message"
	done
fi
exit $ok
