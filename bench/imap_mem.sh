#!/usr/bin/env bash
# bench/imap_mem.sh: server memory per logged-in, selected, IDLE IMAP connection, kasten vs
# Debian's dovecot-imapd, plaintext (imap) and implicit TLS (imaps): CONNS connections
# spread over USERS accounts of PER_USER messages each (bench/imap_mem.py does the
# connecting and the measuring). A fresh server process per row: memory a run freed
# stays with the allocator and would make the next row look cheap.
#   CONNS=10000 USERS=1000 PER_USER=40 MODES="plain tls" SERVERS="kasten dovecot"
set -euo pipefail
. "$(dirname "$0")/lib.sh"
CONNS=${CONNS:-10000}
USERS=${USERS:-1000}
PER_USER=${PER_USER:-40}
MODES=${MODES:-plain tls}
SERVERS=${SERVERS:-kasten dovecot}
need
# the client holds CONNS sockets, and so do kasten and Dovecot's log and stats services
# (a pipe or socket per imap process); Dovecot's imap-login processes, one per core,
# hold two per TLS session they proxy. The servers inherit this limit.
want_fds=$((CONNS + 1000))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$want_fds" ]; then
	ulimit -Hn "$want_fds" 2>/dev/null || { echo "bench: need ulimit -Hn >= $want_fds" >&2; exit 1; }
fi
ulimit -n "$(ulimit -Hn)"
# Dovecot's IDLE watches a session's mailbox with an inotify instance of the session's
# own; past fs.inotify.max_user_instances (128 by default) it logs a warning and polls
# every 30 s instead, a session that would see changes late. Lift the limit for the run
# (root only) and put it back afterwards.
INOTIFY=/proc/sys/fs/inotify/max_user_instances
INOTIFY_BEFORE=$(cat "$INOTIFY")
restore_inotify() { [ "$(cat "$INOTIFY")" = "$INOTIFY_BEFORE" ] || echo "$INOTIFY_BEFORE" >"$INOTIFY"; }
if [[ " $SERVERS " == *" dovecot "* ]] && [ "$INOTIFY_BEFORE" -lt $((CONNS + 1000)) ]; then
	echo $((CONNS + 1000)) 2>/dev/null >"$INOTIFY" ||
		echo "bench: cannot raise $INOTIFY ($INOTIFY_BEFORE): most Dovecot IDLE sessions will poll" >&2
fi
T=$(mktemp -d /tmp/kasten-bench-imapmem.XXXXXX)
trap 'cleanup; restore_inotify; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
build_imap_load "$T"
echo "imap memory bench: $CONNS IDLE connections over $USERS accounts x $PER_USER messages; tmp $T"

fill() { # fill NAME LMTP_PORT IMAP_PORT: the mailboxes, then one untimed session per account
	echo "$1 fill: $($PY "$REPO/bench/imap_fill.py" "$2" --users "1..$USERS" --per-user "$PER_USER" --sessions 8)"
	"$IMAP_LOAD" -W -p "$3" -n "$USERS" -t 900 -l "$1" >"$T/$1.warmup" ||
		{ cat "$T/$1.warmup"; echo "bench: $1 warm-up failed" >&2; return 1; }
}

measure() { # measure NAME PORT PID MODE
	local tls=()
	[ "$4" = tls ] && tls=(--tls)
	$PY "$REPO/bench/imap_mem.py" "$2" --pid "$3" --label "$1" "${tls[@]}" --conns "$CONNS" \
		--users "1..$USERS" --password "$BENCH_PASS"
}

for server in $SERVERS; do
	case $server in
	kasten)
		KASTEN_MAX_PER_IP=$((CONNS + 1000)) kasten_setup "$T/kasten" "$USERS" lmtp imap imaps
		kasten_start "$T/kasten/serve.log"
		wait_port "$KASTEN_PORT_lmtp"; wait_port "$KASTEN_PORT_imap"
		assert_loopback_only kasten "$KASTEN_PID"
		fill kasten "$KASTEN_PORT_lmtp" "$KASTEN_PORT_imap"
		stop_pid "$KASTEN_PID"
		for mode in $MODES; do
			kasten_start "$T/kasten/serve-$mode.log"
			port=KASTEN_PORT_imap; [ "$mode" = tls ] && port=KASTEN_PORT_imaps
			wait_port "${!port}"
			measure kasten "${!port}" "$KASTEN_PID" "$mode"
			stop_pid "$KASTEN_PID"
		done
		;;
	dovecot)
		[ -n "${BENCH_HASH:-}" ] || kasten_setup "$T/hash" 1
		DOVECOT_TLS=1 DOVECOT_IMAP_CONNS=$((CONNS + 1000)) dovecot_setup "$T/dovecot" "$USERS" "lmtp imap"
		dovecot_start
		wait_port "$DOVECOT_PORT_lmtp"; wait_port "$DOVECOT_PORT_imap"
		assert_loopback_only dovecot "$DOVECOT_PID"
		fill dovecot "$DOVECOT_PORT_lmtp" "$DOVECOT_PORT_imap"
		stop_pid "$DOVECOT_PID"
		for mode in $MODES; do
			dovecot_start
			port=DOVECOT_PORT_imap; [ "$mode" = tls ] && port=DOVECOT_PORT_imaps
			wait_port "${!port}"
			measure dovecot "${!port}" "$DOVECOT_PID" "$mode"
			stop_pid "$DOVECOT_PID"
		done
		polling=$(grep -c 'Inotify instance limit' "$T/dovecot/dovecot.log" || true)
		[ "$polling" -eq 0 ] ||
			echo "bench: $polling Dovecot IDLE sessions ran without inotify (see above)" >&2
		;;
	*) echo "bench: unknown server $server" >&2; exit 1 ;;
	esac
done
