#!/usr/bin/env bash
# bench/jmap.sh: the webmail's message list over JMAP on a 10,000-message mailbox
# (issue 10), with IMAP's equivalent on the same messages as the anchor, kasten beside
# Debian's Dovecot.
#   1. one account per server gets MESSAGES messages through its own LMTP
#      (bench/imap_fill.py: varied senders, subjects, sizes; the same bytes for both);
#   2. bench/jmap_load.py jmap: RUNS requests, each Email/query (inMailbox INBOX, sort
#      receivedAt desc, limit 50) + Email/get of the 50 with the list properties (from,
#      subject, receivedAt, preview, keywords, size), over one keep-alive connection;
#   3. bench/jmap_load.py imap: RUNS times UID SORT (REVERSE ARRIVAL) + UID FETCH 50
#      (ENVELOPE FLAGS RFC822.SIZE), against kasten and against Dovecot.
# Prints the RESULT lines (p50/p90/p99/max in ms) and the ratios JMAP/IMAP on kasten
# and kasten/Dovecot for IMAP.
#   MESSAGES=10000 RUNS=200 WARMUP=10 SERVERS="kasten dovecot"
set -euo pipefail
. "$(dirname "$0")/lib.sh"
MESSAGES=${MESSAGES:-10000}
RUNS=${RUNS:-200}
WARMUP=${WARMUP:-10}
SERVERS=${SERVERS:-kasten dovecot}
need
T=$(mktemp -d /tmp/kasten-bench-jmap.XXXXXX)
trap 'cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
USER1=user1@$BENCH_DOMAIN
echo "jmap bench: $MESSAGES messages in one INBOX, $RUNS runs after $WARMUP warm-up; tmp $T"

fill() { # fill NAME LMTP_PORT COUNT_COMMAND...
	local name=$1 lmtp=$2 stored
	shift 2
	echo "$name fill: $($PY "$REPO/bench/imap_fill.py" "$lmtp" --users 1..1 --per-user "$MESSAGES")"
	stored=$("$@")
	[ "$stored" -eq "$MESSAGES" ] ||
		{ echo "bench: $name stored $stored messages, not $MESSAGES" >&2; return 1; }
}

load() { # load KIND PORT LABEL
	$PY "$REPO/bench/jmap_load.py" "$1" "$2" "$USER1" "$BENCH_PASS" --runs "$RUNS" \
		--warmup "$WARMUP" --label "$3" | tee -a "$T/results"
}

for server in $SERVERS; do
	case $server in
	kasten)
		kasten_setup "$T/kasten" 1 lmtp imap http
		kasten_start "$T/kasten/serve.log"
		wait_port "$KASTEN_PORT_lmtp"; wait_port "$KASTEN_PORT_imap"; wait_port "$KASTEN_PORT_http"
		assert_loopback_only kasten "$KASTEN_PID"
		fill kasten "$KASTEN_PORT_lmtp" kasten_count
		load jmap "$KASTEN_PORT_http" kasten
		load imap "$KASTEN_PORT_imap" kasten
		stop_pid "$KASTEN_PID"
		;;
	dovecot)
		[ -n "${BENCH_HASH:-}" ] || kasten_setup "$T/hash" 1
		dovecot_setup "$T/dovecot" 1 "lmtp imap"
		dovecot_start
		wait_port "$DOVECOT_PORT_lmtp"; wait_port "$DOVECOT_PORT_imap"
		assert_loopback_only dovecot "$DOVECOT_PID"
		fill dovecot "$DOVECOT_PORT_lmtp" dovecot_count "$T/dovecot"
		load imap "$DOVECOT_PORT_imap" dovecot
		stop_pid "$DOVECOT_PID"
		;;
	*) echo "bench: unknown server $server" >&2; exit 1 ;;
	esac
done

echo
p() { sed -n "s/^RESULT jmap $1 kind=$2 .* $3=\([0-9.]*\).*/\1/p" "$T/results"; }
if grep -q "kasten kind=jmap" "$T/results" && grep -q "kasten kind=imap" "$T/results"; then
	echo "RESULT jmap ratio jmap/imap on kasten p50=$(ratio "$(p kasten jmap p50_ms)" "$(p kasten imap p50_ms)")" \
		"p99=$(ratio "$(p kasten jmap p99_ms)" "$(p kasten imap p99_ms)")"
fi
if grep -q "dovecot kind=imap" "$T/results"; then
	grep -q "kasten kind=imap" "$T/results" &&
		echo "RESULT jmap ratio imap kasten/dovecot p50=$(ratio "$(p kasten imap p50_ms)" "$(p dovecot imap p50_ms)")" \
			"p99=$(ratio "$(p kasten imap p99_ms)" "$(p dovecot imap p99_ms)")"
	grep -q "kasten kind=jmap" "$T/results" &&
		echo "RESULT jmap ratio kasten-jmap/dovecot-imap p50=$(ratio "$(p kasten jmap p50_ms)" "$(p dovecot imap p50_ms)")" \
			"p99=$(ratio "$(p kasten jmap p99_ms)" "$(p dovecot imap p99_ms)")"
fi
