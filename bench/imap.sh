#!/usr/bin/env bash
# bench/imap.sh: IMAP under a mixed load, kasten vs Debian's dovecot-imapd on the same data.
#   1. both servers get the same USERS accounts with PER_USER messages each, through
#      their own LMTP (bench/imap_fill.py: varied senders, subjects and sizes);
#   2. a warm-up session per account (imap_load -W), untimed, so Dovecot's first-access
#      indexing and the page cache are measured for neither;
#   3. imap_load: CLIENTS clients for DURATION seconds, the mix in
#      bench/imap_load_session.c. Two clients per account by default, a phone and a
#      laptop: what one appends, flags or expunges reaches the other's session, in IDLE
#      or at its next command, so the change notification paths are part of the load.
# Prints imap_load's RESULT lines for each server, the server's CPU time over the timed
# window, the throughput ratio kasten/dovecot per command and in total, and the ratio of
# CPU time per operation.
#   CLIENTS=50 USERS=CLIENTS/2 PER_USER=300 DURATION=30 IDLE_MS=100 SERVERS="kasten dovecot"
set -euo pipefail
. "$(dirname "$0")/lib.sh"
CLIENTS=${CLIENTS:-50}
USERS=${USERS:-$(((CLIENTS + 1) / 2))}
PER_USER=${PER_USER:-300}
DURATION=${DURATION:-30}
IDLE_MS=${IDLE_MS:-100}
SERVERS=${SERVERS:-kasten dovecot}
need
T=$(mktemp -d /tmp/kasten-bench-imap.XXXXXX)
trap 'cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
build_imap_load "$T"
echo "imap bench: $CLIENTS clients on $USERS accounts x $PER_USER messages, ${DURATION}s; tmp $T"

run_one() { # run_one NAME IMAP_PORT LMTP_PORT SERVER_PID STORED_COUNT_COMMAND...
	local name=$1 port=$2 lmtp=$3 pid=$4 stored c0 c1
	shift 4
	echo "$name fill: $($PY "$REPO/bench/imap_fill.py" "$lmtp" --users "1..$USERS" --per-user "$PER_USER")"
	stored=$("$@")
	[ "$stored" -eq $((USERS * PER_USER)) ] ||
		{ echo "bench: $name stored $stored messages, not $((USERS * PER_USER))" >&2; return 1; }
	"$IMAP_LOAD" -W -p "$port" -n "$USERS" -a "$USERS" -t 600 -l "$name" >"$T/$name.warmup" ||
		{ cat "$T/$name.warmup"; echo "bench: $name warm-up failed" >&2; return 1; }
	# the server's CPU time over imap_load's timed window, which starts once every
	# client has logged in (it prints "# window" then)
	"$IMAP_LOAD" -p "$port" -n "$CLIENTS" -a "$USERS" -t "$DURATION" -i "$IDLE_MS" -l "$name" \
		>"$T/$name.out" &
	local load=$!
	PIDS_TO_STOP+=("$load")
	while ! grep -qs '^# window' "$T/$name.out" && kill -0 "$load" 2>/dev/null; do sleep 0.1; done
	c0=$(cpu_ticks "$pid") m0=$(machine_ticks)
	wait "$load" || { cat "$T/$name.out"; echo "bench: $name run had errors" >&2; return 1; }
	c1=$(cpu_ticks "$pid") m1=$(machine_ticks)
	cat "$T/$name.out"
	local ops cpu
	ops=$(sed -n 's/.* total ops=\([0-9]*\) .*/\1/p' "$T/$name.out")
	cpu=$(cpu_seconds "$c0" "$c1")
	awk -v s="$cpu" -v n="$ops" 'BEGIN { if (n > 0) printf "%.3f", s * 1000 / n }' >"$T/$name.cpu"
	# machine_cpu_s - server_cpu_s - imap_load's load_cpu_s = what else ran meanwhile
	echo "RESULT imap $name server_cpu_s=$cpu server_cpu_ms_per_op=$(cat "$T/$name.cpu")" \
		"machine_cpu_s=$(cpu_seconds "$m0" "$m1") machine_cpu_max_s=$(($(nproc) * DURATION))"
}

for server in $SERVERS; do
	case $server in
	kasten)
		kasten_setup "$T/kasten" "$USERS" lmtp imap
		kasten_start "$T/kasten/serve.log"
		wait_port "$KASTEN_PORT_lmtp"; wait_port "$KASTEN_PORT_imap"
		assert_loopback_only kasten "$KASTEN_PID"
		run_one kasten "$KASTEN_PORT_imap" "$KASTEN_PORT_lmtp" "$KASTEN_PID" kasten_count
		stop_pid "$KASTEN_PID"
		;;
	dovecot)
		# Dovecot verifies the hash kasten made for the same password (lib.sh)
		[ -n "${BENCH_HASH:-}" ] || kasten_setup "$T/hash" 1
		dovecot_setup "$T/dovecot" "$USERS" "lmtp imap"
		dovecot_start
		wait_port "$DOVECOT_PORT_lmtp"; wait_port "$DOVECOT_PORT_imap"
		assert_loopback_only dovecot "$DOVECOT_PID"
		run_one dovecot "$DOVECOT_PORT_imap" "$DOVECOT_PORT_lmtp" "$DOVECOT_PID" \
			dovecot_count "$T/dovecot"
		stop_pid "$DOVECOT_PID"
		;;
	*) echo "bench: unknown server $server" >&2; exit 1 ;;
	esac
done

[ -f "$T/kasten.out" ] && [ -f "$T/dovecot.out" ] || exit 0
echo
field() { sed -n "s/.* server=$1 cmd=$2 .*$3=\([0-9.]*\).*/\1/p" "$T/$1.out"; }
for cmd in $(sed -n 's/.* cmd=\([A-Z_]*\) .*/\1/p' "$T/kasten.out"); do
	echo "RESULT imap ratio kasten/dovecot cmd=$cmd" \
		"ops_per_s=$(ratio "$(field kasten "$cmd" ops_per_s)" "$(field dovecot "$cmd" ops_per_s)")" \
		"p50_latency_dovecot/kasten=$(ratio "$(field dovecot "$cmd" p50_ms)" "$(field kasten "$cmd" p50_ms)")"
done
total() { sed -n 's/.* total ops=[0-9]* seconds=[0-9.]* ops_per_s=\([0-9.]*\).*/\1/p' "$T/$1.out"; }
echo "RESULT imap ratio kasten/dovecot total ops_per_s=$(ratio "$(total kasten)" "$(total dovecot)")"
# On a machine others use too, throughput follows the share of the CPU each server got;
# the CPU time it spent per operation does not.
echo "RESULT imap ratio dovecot/kasten server_cpu_ms_per_op=$(ratio "$(cat "$T/dovecot.cpu")" "$(cat "$T/kasten.cpu")")"
