#!/usr/bin/env bash
# bench/relay.sh: outbound relay throughput (issue 9), kasten against Postfix in one run.
# CLIENTS submission sessions send MESSAGES messages (~SIZE bytes, one remote recipient
# each, over 10 domains) that ONE local smtp-sink accepts (no dump: the sink costs
# nothing):
#   kasten   on its submission port with AUTH PLAIN, [outbound] relay = the sink
#            (relay_tls = no: the sink offers no STARTTLS), its default durability (the
#            250 after the queue file and its rows are fsynced), no DKIM key (Postfix
#            signs nothing either)
#   Postfix  a private instance (bench/postfix_instance.sh), mynetworks = 127.0.0.0/8 so
#            it relays without AUTH, relayhost = [127.0.0.1]:SINK, its default
#            durability (cleanup fsyncs every queue file before the 250)
# Time: from the first MAIL FROM until the sink has counted every message; messages/s
# for each, the ratio, and each server's CPU seconds per 1,000 messages. Then, with
# FSYNC_COUNT=1 (the default), a short run of FSYNC_MESSAGES under strace -c counts each
# server's sync calls per message: what its durability costs.
#   CLIENTS=8 MESSAGES=4000 SIZE=4096 TIME_LIMIT=600 FSYNC_MESSAGES=400 bench/relay.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/postfix_instance.sh"
CLIENTS=${CLIENTS:-8}
MESSAGES=${MESSAGES:-4000}
SIZE=${SIZE:-4096}
TIME_LIMIT=${TIME_LIMIT:-600}
FSYNC_COUNT=${FSYNC_COUNT:-1}
FSYNC_MESSAGES=${FSYNC_MESSAGES:-400}
SMTP_SINK=/usr/sbin/smtp-sink
[ -x "$KASTEN_BIN" ] || { echo "bench: $KASTEN_BIN not found: build first" >&2; exit 1; }
for b in "$SMTP_SINK" /usr/sbin/postfix /usr/sbin/postconf; do
	[ -x "$b" ] || { echo "bench: $b missing (postfix package)" >&2; exit 1; }
done

T=$(mktemp -d /tmp/kasten-bench-relay.XXXXXX)
trap 'postfix_stop; cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
echo "relay bench: $MESSAGES messages (~$SIZE bytes) over $CLIENTS sessions to one smtp-sink; tmp $T"

# ---- the sink: counts finished transactions (-c) on stdout ----
SINK_PORT=$(free_port)
sink_user=()
[ "$(id -u)" -eq 0 ] && sink_user=(-u nobody)
"$SMTP_SINK" "${sink_user[@]}" -c -m 1024 "127.0.0.1:$SINK_PORT" 1024 >"$T/sink.count" 2>"$T/sink.err" &
PIDS_TO_STOP+=("$!")
wait_port "$SINK_PORT"
sink_count() { tr '\r' '\n' <"$T/sink.count" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -1 | awk '{ print $1 + 0 }'; }

# wait_sink TARGET: until the sink counted TARGET messages (or TIME_LIMIT); prints the time
wait_sink() {
	local target=$1 start
	start=$(now)
	while [ "$(sink_count)" -lt "$target" ]; do
		if [ "$(elapsed "$start" "$(now)" | cut -d. -f1)" -ge "$TIME_LIMIT" ]; then
			echo "bench: sink has $(sink_count) of $target after ${TIME_LIMIT}s" >&2
			break
		fi
		sleep 0.02
	done
	now
}

# run_load NAME PORT [--user U --password-file F]: the load, then the wait for the sink;
# sets RUN_TIME, RUN_SENT (messages the sink got in this run), RUN_ACKED, RUN_ACK_TIME
# (from the first MAIL FROM to the last 250)
run_load() {
	local name=$1 port=$2 count=$3 base out t0 t1
	shift 3
	base=$(sink_count)
	out=$($PY "$REPO/bench/submit_load.py" --port "$port" --clients "$CLIENTS" \
		--messages "$count" --size "$SIZE" --run "$name" "$@") ||
		echo "bench: $name: the load generator reported errors" >&2
	RUN_ACKED=$(echo "$out" | awk '{ print $2 }')
	t0=$(echo "$out" | awk '{ print $4 }')
	RUN_ACK_TIME=$(elapsed "$t0" "$(echo "$out" | awk '{ print $6 }')")
	t1=$(wait_sink $((base + count)))
	RUN_TIME=$(elapsed "$t0" "$t1")
	RUN_SENT=$(($(sink_count) - base))
}

# kasten_up DIR: a fresh kasten relaying to the sink; its submission port up
kasten_up() {
	kasten_setup "$1" 1 submission
	cat >>"$KASTEN_CONF" <<CONF
[outbound]
relay = 127.0.0.1:$SINK_PORT
relay_tls = no
[submission]
max_messages_per_hour = 0
CONF
	echo "$BENCH_PASS" >"$1/password"
	kasten_start "$1/serve.log"
	wait_port "$KASTEN_PORT_submission"
	assert_loopback_only kasten "$KASTEN_PID"
}
kasten_load() { # kasten_load DIR NAME COUNT
	run_load "$2" "$KASTEN_PORT_submission" "$3" --user "user1@$BENCH_DOMAIN" \
		--password-file "$1/password"
}

# postfix_up DIR: a fresh private Postfix relaying to the sink; its smtpd up
postfix_up() {
	postfix_setup "$1" "$SINK_PORT"
	postfix_start
	wait_port "$POSTFIX_PORT"
	assert_loopback_only postfix "$POSTFIX_PID"
}

# ---- kasten ----
kasten_up "$T/kasten"
c0=$(cpu_ticks "$KASTEN_PID")
kasten_load "$T/kasten" kasten "$MESSAGES"
k_cpu=$(cpu_seconds "$c0" "$(cpu_ticks "$KASTEN_PID")")
k_time=$RUN_TIME k_sent=$RUN_SENT k_acked=$RUN_ACKED k_ack_time=$RUN_ACK_TIME
stop_pid "$KASTEN_PID"

# ---- Postfix ----
postfix_up "$T/postfix"
c0=$(cpu_ticks "$POSTFIX_PID")
run_load postfix "$POSTFIX_PORT" "$MESSAGES"
p_cpu=$(cpu_seconds "$c0" "$(cpu_ticks "$POSTFIX_PID")")
p_time=$RUN_TIME p_sent=$RUN_SENT p_acked=$RUN_ACKED p_ack_time=$RUN_ACK_TIME
postfix_stop

k_rate=$(rate "$k_sent" "$k_time")
p_rate=$(rate "$p_sent" "$p_time")
per_k() { awk -v c="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.2f", c * 1000 / n; else print "n/a" }'; }
echo
echo "RESULT relay kasten:  $k_acked acked in ${k_ack_time}s, $k_sent/$MESSAGES at the sink in ${k_time}s = $k_rate msg/s, CPU $(per_k "$k_cpu" "$k_sent") s per 1000"
echo "RESULT relay postfix: $p_acked acked in ${p_ack_time}s, $p_sent/$MESSAGES at the sink in ${p_time}s = $p_rate msg/s, CPU $(per_k "$p_cpu" "$p_sent") s per 1000"
echo "RESULT relay ratio kasten/postfix: $(ratio "$k_rate" "$p_rate")"
ok=0
[ "$k_sent" -eq "$MESSAGES" ] || { echo "FAIL: the sink got $k_sent of $MESSAGES from kasten"; ok=1; }
[ "$p_sent" -eq "$MESSAGES" ] || { echo "FAIL: the sink got $p_sent of $MESSAGES from postfix"; ok=1; }

# ---- sync calls per message (a separate small run: strace slows everything) ----
# Postfix forks smtpd/cleanup/smtp on demand: following the master (-f) counts them.
if [ "$FSYNC_COUNT" = 1 ] && command -v strace >/dev/null; then
	echo
	echo "sync calls: $FSYNC_MESSAGES messages each, under strace -f -c"
	sync_trace() { # sync_trace NAME PID: starts strace on PID; sets STRACE_PID
		strace -f -c -e trace=fsync,fdatasync,syncfs,sync_file_range,msync \
			-o "$T/$1.strace" -p "$2" 2>/dev/null &
		STRACE_PID=$!
		PIDS_TO_STOP+=("$STRACE_PID")
		# strace has attached once the traced process shows a tracer
		local i=0
		while ! grep -q "^TracerPid:[[:space:]]*[1-9]" "/proc/$2/status" 2>/dev/null; do
			i=$((i + 1)); [ "$i" -gt 100 ] && break
			sleep 0.05
		done
	}
	sync_count() { # sync_count NAME: stops strace, prints the calls per message
		kill -INT "$STRACE_PID"; wait "$STRACE_PID" 2>/dev/null || true
		local calls
		calls=$(awk '$NF ~ /^(fsync|fdatasync|syncfs|sync_file_range|msync)$/ { n += $4 } END { print n + 0 }' "$T/$1.strace")
		echo "RESULT relay sync calls $1: $calls for $RUN_SENT messages = $(ratio "$calls" "$RUN_SENT") per message"
	}
	kasten_up "$T/kasten-sync"
	sync_trace kasten "$KASTEN_PID"
	kasten_load "$T/kasten-sync" kasten-sync "$FSYNC_MESSAGES"
	sync_count kasten
	stop_pid "$KASTEN_PID"
	postfix_up "$T/postfix-sync"
	sync_trace postfix "$POSTFIX_PID"
	run_load postfix-sync "$POSTFIX_PORT" "$FSYNC_MESSAGES"
	sync_count postfix
	postfix_stop
fi
exit "$ok"
