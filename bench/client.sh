#!/usr/bin/env bash
# bench/client.sh: the client side (issue 8), kasten's client against getmail6 and mbsync
# on the same data, each against kasten's server and against Debian's Dovecot:
#   fetch: FETCH_MSGS (5,000) messages of ~4 KB in INBOX (smtp-source through LMTP, as
#     bench/pop3.sh), downloaded into an empty Maildir and left on the server:
#     `kasten fetch --keep` over POP3 and IMAP, getmail6 over POP3 and IMAP (delete =
#     false), mbsync over IMAP (Sync Pull, Expunge None);
#   sync: SYNC_FOLDERS (20) folders x SYNC_PER_FOLDER (500) messages of ~4 KB with flags
#     (bench/client_fill.py over IMAP); each client's first sync into an empty Maildir
#     tree is timed as "initial", then a pass with nothing changed on either side right
#     after it ("no-change"), and another LATER_SECONDS (5) later ("later": the steady
#     state of a sync run every few minutes): `kasten sync --once` vs mbsync (Sync All,
#     Create Near, Expunge None).
#     With LATER_RUNS=N (default 1) the later pass runs N times, one after the other,
#     and its minimum and median are printed (later_seconds is then the median): one
#     pass of 40-100 ms moves with everything else the machine does.
#     A sync pass is also timed from the fork of the client binary itself to its exit
#     (client_*: bash's EPOCHREALTIME around it), without the wrapper processes around
#     every timed run (timeout, setpriv, env, bash, date: 5-100 ms, growing with the
#     load, the same for every client), which the plain seconds include.
# Each client runs through bench/byte_proxy.py, a loopback relay that counts the bytes
# both ways (it adds a thread hop per read; the same for every client). Before the
# timed runs every message is read once (client_fill.py --warm), so first-access
# indexing and a cold page cache are in nobody's time. Every result is checked: the
# Maildir must hold exactly the messages of the account.
# With FSYNC_COUNT=1 (default) a fetch runs under strace -c and the client's flushes
# (fsync, fdatasync, syncfs, sync_file_range) per message are printed. CLIENTS picks the
# clients ("kasten getmail mbsync").
# A client run that fails prints a FAILED line and the bench goes on with the others.
# Prints RESULT lines, then the ratios other/kasten of wall time and of bytes.
#   FETCH_MSGS=5000 SYNC_FOLDERS=20 SYNC_PER_FOLDER=500 SERVERS="kasten dovecot"
#   PARTS="fetch sync" CLIENTS="kasten getmail mbsync" FSYNC_COUNT=1
#   CLIENT_TIMEOUT=900 STALL_SECONDS=30 RETRIES=1 LATER_SECONDS=5 LATER_RUNS=1
set -euo pipefail
. "$(dirname "$0")/lib.sh"
FETCH_MSGS=${FETCH_MSGS:-5000}
SYNC_FOLDERS=${SYNC_FOLDERS:-20}
SYNC_PER_FOLDER=${SYNC_PER_FOLDER:-500}
SERVERS=${SERVERS:-kasten dovecot}
PARTS=${PARTS:-fetch sync}
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-900}
FSYNC_COUNT=${FSYNC_COUNT:-1}
CLIENTS=${CLIENTS:-kasten getmail mbsync}
STALL_SECONDS=${STALL_SECONDS:-30}
LATER_SECONDS=${LATER_SECONDS:-5}
LATER_RUNS=${LATER_RUNS:-1}
RETRIES=${RETRIES:-1}
command -v strace >/dev/null || FSYNC_COUNT=0
FAILURES=0
need
for tool in getmail mbsync; do
	command -v "$tool" >/dev/null || { echo "bench: $tool missing (apt-get install getmail6 isync)" >&2; exit 1; }
done
T=$(mktemp -d /tmp/kasten-bench-client.XXXXXX)
trap 'cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
FETCH_USER=user1@$BENCH_DOMAIN
SYNC_USER=user2@$BENCH_DOMAIN
SYNC_MSGS=$((SYNC_FOLDERS * SYNC_PER_FOLDER))
echo "$BENCH_PASS" >"$T/pass"
chmod 600 "$T/pass"
# The clients run as a mail user would, unprivileged (getmail refuses to deliver as
# root): as nobody when the bench runs as root.
AS_USER=()
if [ "$(id -u)" -eq 0 ]; then
	AS_USER=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	chmod 755 "$T"
	chown nobody "$T/pass"
fi
echo "client bench: fetch $FETCH_MSGS messages; sync $SYNC_FOLDERS folders x $SYNC_PER_FOLDER; tmp $T"

# Whether this build of kasten has the subcommand yet (the clients came in one by one).
has_cmd() { "$KASTEN_BIN" "$1" --help >/dev/null 2>&1; }

count_msgs() { # messages in new/ and cur/ anywhere below DIR
	find "$1" -type f \( -path '*/new/*' -o -path '*/cur/*' \) | wc -l
}

# ---- the clients: CLIENT_<name> PORT DIR (a fresh Maildir or tree), run from $T/run-N

N_RUN=0
new_run() {
	N_RUN=$((N_RUN + 1))
	export RUN=$T/run-$N_RUN RUN_HOME=$T/run-$N_RUN/home
	mkdir -p "$RUN_HOME"
	[ ${#AS_USER[@]} -eq 0 ] || chown -R nobody:nogroup "$RUN"
}

client_kasten_fetch() { # PROTO PORT DIR
	HOME=$RUN/home "$KASTEN_BIN" fetch --host 127.0.0.1 --port "$2" --plain --protocol "$1" \
		--user "$FETCH_USER" --password-file "$T/pass" --maildir "$3" --keep
}

client_getmail() { # PROTO PORT DIR
	local type=SimplePOP3Retriever extra=""
	[ "$1" = imap ] && type=SimpleIMAPRetriever extra='mailboxes = ("INBOX",)'
	mkdir -p "$3/tmp" "$3/new" "$3/cur" "$RUN/getmail"
	cat >"$RUN/getmail/getmailrc" <<-RC
	[retriever]
	type = $type
	server = 127.0.0.1
	port = $2
	username = $FETCH_USER
	password = $BENCH_PASS
	$extra
	[destination]
	type = Maildir
	path = $3/
	[options]
	read_all = true
	delete = false
	delivered_to = false
	received = false
	verbose = 0
	RC
	HOME=$RUN/home getmail --getmaildir "$RUN/getmail" --rcfile getmailrc
}

mbsync_conf() { # PORT DIR PATTERNS SYNC
	cat >"$RUN/mbsyncrc" <<-RC
	IMAPAccount bench
	Host 127.0.0.1
	Port $1
	User ${MBSYNC_USER:-$FETCH_USER}
	Pass $BENCH_PASS
	SSLType None
	AuthMechs LOGIN
	# Dovecot here offers no COMPRESS, so by default mbsync runs without it against
	# both servers (the same client for both); MBSYNC_COMPRESS=1 lets it compress
	# (kasten's server spun under it before 5ec673a)
	$( [ "${MBSYNC_COMPRESS:-0}" = 1 ] || echo "DisableExtensions COMPRESS=DEFLATE" )

	IMAPStore remote
	Account bench

	MaildirStore local
	Path $2/
	Inbox $2/INBOX
	SubFolders Verbatim

	Channel bench
	Far :remote:
	Near :local:
	Patterns $3
	Create Near
	Sync $4
	Expunge None
	SyncState *
	RC
}

client_mbsync_fetch() { # PORT DIR
	mkdir -p "$2"
	mbsync_conf "$1" "$2" INBOX Pull
	HOME=$RUN/home mbsync -q -c "$RUN/mbsyncrc" bench
}

export -f client_kasten_fetch client_getmail mbsync_conf client_mbsync_fetch
export T KASTEN_BIN FETCH_USER SYNC_USER BENCH_PASS

# ---- measuring

# timed LABEL LOG COMMAND...: wall seconds of COMMAND into $SECS; its output into LOG.
# With TRACE set (a file), under strace -c counting the flushes into that file
# (--seccomp-bpf: only those calls stop the client). With WATCH set (a directory), a
# run whose count of messages there stands still for STALL_SECONDS is ended and fails,
# with STALL_N messages stored after STALL_SECS seconds: getmail 6.18 loses the wakeup
# of its delivery child now and then (baseclasses.py: the child can exit before the
# parent waits) and then waits out its 180 s socket timeout and drops that message.
timed() {
	local label=$1 log=$2 t0 t1 tl tracer=() pid last=-1 still=0 n rc=0
	shift 2
	[ -n "${TRACE:-}" ] && tracer=(strace -f -qq --seccomp-bpf -c -o "$TRACE"
		-e trace=fsync,fdatasync,syncfs,sync_file_range,msync)
	STALL_N=0
	t0=$(now)
	tl=$t0
	# the client's own end time: the watch below looks only once a second
	rm -f "$log.end" "$log.end.client"
	timeout "$CLIENT_TIMEOUT" "${tracer[@]}" "${AS_USER[@]}" env TIMED_END="$log.end" \
		bash -c '"$@"; r=$?; date +%s.%N >"$TIMED_END"; exit $r' timed "$@" >"$log" 2>&1 &
	pid=$!
	PIDS_TO_STOP+=("$pid")
	if [ -n "${WATCH:-}" ]; then
		while kill -0 "$pid" 2>/dev/null; do
			sleep 1
			n=$(count_msgs "$WATCH" 2>/dev/null || echo 0)
			if [ "$n" = "$last" ]; then still=$((still + 1)); else still=0 last=$n tl=$(now); fi
			if [ "$still" -ge "$STALL_SECONDS" ]; then
				echo "bench: $label stalled at $n messages for ${STALL_SECONDS}s" >>"$log"
				STALL_N=$n STALL_SECS=$(elapsed "$t0" "$tl")
				kill -TERM "$pid" 2>/dev/null # timeout(1) passes it on
				break
			fi
		done
	fi
	wait "$pid" || rc=$?
	forget_pid "$pid"
	t1=$(cat "$log.end" 2>/dev/null || now)
	if [ "$rc" -ne 0 ] || [ "$still" -ge "$STALL_SECONDS" ]; then
		echo "bench: $label failed:" >&2
		tail -n 20 "$log" >&2
		return 1
	fi
	SECS=$(elapsed "$t0" "$t1")
	CSECS=""
	[ -s "$log.end.client" ] && CSECS=$(awk '{ t += $2 - $1 } END { printf "%.3f", t }' \
		"$log.end.client")
	return 0
}

# clock_run COMMAND...: run it, adding its own start and end (bash's clock, no process
# of its own) to $TIMED_END.client
clock_run() {
	local s=$EPOCHREALTIME r=0
	"$@" || r=$?
	echo "$s $EPOCHREALTIME" >>"$TIMED_END.client"
	return $r
}
export -f clock_run

# forget_pid PID: out of PIDS_TO_STOP once it ended (its number may be reused)
forget_pid() {
	local p keep=()
	for p in "${PIDS_TO_STOP[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS_TO_STOP=("${keep[@]}")
}

# proxy_start TARGET_PORT: a counting relay; its port in $PROXY_PORT
proxy_start() {
	PROXY_PORT=$(free_port)
	PROXY_COUNT=$T/proxy-$PROXY_PORT.count
	$PY "$REPO/bench/byte_proxy.py" "$PROXY_PORT" "$1" "$PROXY_COUNT" &
	PROXY_PID=$!
	PIDS_TO_STOP+=("$PROXY_PID")
	local i=0
	while [ ! -s "$PROXY_COUNT" ]; do # written once it listens
		i=$((i + 1))
		[ "$i" -gt 100 ] && { echo "bench: byte_proxy did not start" >&2; return 1; }
		sleep 0.1
	done
}

# proxy_stop: waits until every relayed connection ended, totals into $UP $DOWN $BYTES
proxy_stop() {
	local line i=0
	while :; do
		line=$(cat "$PROXY_COUNT")
		local o c
		o=$(echo "$line" | sed -n 's/.*opened=\([0-9]*\).*/\1/p')
		c=$(echo "$line" | sed -n 's/.*closed=\([0-9]*\).*/\1/p')
		[ "$o" = "$c" ] && break
		i=$((i + 1))
		[ "$i" -gt 300 ] && { echo "bench: proxy connections did not end" >&2; return 1; }
		sleep 0.1
	done
	UP=$(echo "$line" | sed -n 's/.*up=\([0-9]*\).*/\1/p')
	DOWN=$(echo "$line" | sed -n 's/.*down=\([0-9]*\).*/\1/p')
	BYTES=$((UP + DOWN))
	stop_pid "$PROXY_PID"
	forget_pid "$PROXY_PID"
}

# measure SERVER TEST CLIENT EXPECT TARGET_PORT FN ARGS...: FN ARGS... PORT DIR into a
# fresh Maildir, through the counting proxy (and strace when FSYNC_COUNT=1; not for
# getmail, whose lost wakeups strace makes more frequent), which must then hold EXPECT
# messages. A stalled run is tried again, up to RETRIES times; when the last one stalls
# too, its rate up to the stall is printed as "partial" and its time and bytes for
# EXPECT messages extrapolated from it. Sets R_<server>_<test>_<client>_{s,b}.
measure() {
	local server=$1 test=$2 client=$3 expect=$4 port=$5 fn=$6
	shift 6
	local key=${server}_${test//-/_}_${client} got attempt=0 trace="" flushes=""
	while :; do
		new_run
		proxy_start "$port"
		trace=""
		[ "$FSYNC_COUNT" = 1 ] && [ "$client" != getmail ] && trace=$RUN/strace
		if TRACE=$trace WATCH=$RUN/Maildir timed "$key" "$RUN/log" "$fn" "$@" "$PROXY_PORT" \
			"$RUN/Maildir"; then
			proxy_stop
			break
		fi
		proxy_stop || true
		attempt=$((attempt + 1))
		grep -q stalled "$RUN/log" || return 1
		if [ "$attempt" -gt "$RETRIES" ]; then
			[ "$STALL_N" -gt 0 ] || return 1
			local rate secs bytes
			rate=$(rate "$STALL_N" "$STALL_SECS")
			secs=$(awk -v n="$expect" -v r="$rate" 'BEGIN { printf "%.3f", n / r }')
			# bytes: the proxy also saw what was read ahead of the stalled delivery
			echo "RESULT client $server $test $client: partial: stalled after $STALL_N messages" \
				"in ${STALL_SECS}s, msgs_per_s=$rate; for $expect:" \
				"extrapolated_seconds=$secs retries=$RETRIES"
			eval "R_${key}_s=$secs R_${key}_b=0 R_${key}_x=1"
			return 0
		fi
		echo "bench: $key: trying again ($attempt of $RETRIES)" >&2
	done
	got=$(count_msgs "$RUN/Maildir")
	[ "$got" -eq "$expect" ] || { echo "bench: $key stored $got messages, not $expect" >&2; return 1; }
	# strace -c: "% time seconds usecs/call calls [errors] syscall", then a total line
	[ -n "$trace" ] && flushes=" flushes_per_msg=$(awk -v n="$expect" \
		'$NF ~ /^(fsync|fdatasync|syncfs|sync_file_range|msync)$/ { c += $4 }
		END { printf "%.2f", c / n }' "$trace")"
	echo "RESULT client $server $test $client: seconds=$SECS msgs_per_s=$(rate "$expect" "$SECS")" \
		"bytes=$BYTES up=$UP down=$DOWN$flushes retries=$attempt"
	eval "R_${key}_s=$SECS R_${key}_b=$BYTES"
}

# try LABEL COMMAND...: a failed measurement is reported and the bench goes on
try() {
	local label=$1
	shift
	"$@" || { echo "FAILED client $label"; FAILURES=$((FAILURES + 1)); }
}

want() { [[ " $CLIENTS " == *" $1 "* ]]; }

run_fetch() { # SERVER POP3_PORT IMAP_PORT
	local s=$1 pop=$2 imap=$3 m=$FETCH_MSGS
	if want kasten && has_cmd fetch; then
		try "$s fetch-pop3 kasten" measure "$s" fetch-pop3 kasten "$m" "$pop" client_kasten_fetch pop3
		try "$s fetch-imap kasten" measure "$s" fetch-imap kasten "$m" "$imap" client_kasten_fetch imap
	elif want kasten; then
		echo "SKIP client $s fetch kasten: $KASTEN_BIN has no fetch command"
	fi
	if want getmail; then
		try "$s fetch-pop3 getmail" measure "$s" fetch-pop3 getmail "$m" "$pop" client_getmail pop3
		try "$s fetch-imap getmail" measure "$s" fetch-imap getmail "$m" "$imap" client_getmail imap
	fi
	! want mbsync || try "$s fetch-imap mbsync" measure "$s" fetch-imap mbsync "$m" "$imap" client_mbsync_fetch
}

# sync_client NAME PORT DIR: one pass of that client over the whole account
sync_client() {
	case $1 in
	kasten)
		HOME=$RUN_HOME clock_run "$KASTEN_BIN" sync --host 127.0.0.1 --port "$2" --plain \
			--user "$SYNC_USER" --password-file "$T/pass" --maildir "$3" --once ;;
	mbsync)
		mkdir -p "$3"
		MBSYNC_USER=$SYNC_USER mbsync_conf "$2" "$3" '*' All
		HOME=$RUN_HOME clock_run mbsync -q -c "$RUN/mbsyncrc" bench ;;
	esac
}
export -f sync_client

min_of() { printf '%s\n' "$@" | sort -n | head -n 1; }
median_of() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
		END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The sync runs keep one Maildir tree per client: the first pass fills it, the second
# finds nothing to do; both through the counting proxy.
measure_sync() { # SERVER CLIENT IMAP_PORT
	local server=$1 client=$2 port=$3 key=${1}_sync_${2} got first first_b
	new_run
	local dir=$RUN/Maildir
	proxy_start "$port"
	timed "$key initial" "$RUN/log1" sync_client "$client" "$PROXY_PORT" "$dir" || return 1
	proxy_stop
	first=$SECS first_b=$BYTES
	got=$(count_msgs "$dir")
	[ "$got" -eq "$SYNC_MSGS" ] || { echo "bench: $key stored $got messages, not $SYNC_MSGS" >&2; return 1; }
	proxy_start "$port"
	timed "$key no-change" "$RUN/log2" sync_client "$client" "$PROXY_PORT" "$dir" || return 1
	proxy_stop
	local nc=$SECS nc_b=$BYTES nc_up=$UP nc_down=$DOWN nc_c=$CSECS
	# A sync that runs every few minutes finds nothing most of the time, long after the
	# last change: the steady state, timed after LATER_SECONDS (clients that keep
	# records of unchanged directories trust them only some seconds after the change)
	sleep "$LATER_SECONDS"
	local runs=() cruns=() i later_min later_med c_min c_med
	for i in $(seq "$LATER_RUNS"); do
		proxy_start "$port"
		timed "$key later" "$RUN/log3" sync_client "$client" "$PROXY_PORT" "$dir" || return 1
		proxy_stop
		runs+=("$SECS")
		cruns+=("$CSECS")
	done
	later_min=$(min_of "${runs[@]}") later_med=$(median_of "${runs[@]}")
	c_min=$(min_of "${cruns[@]}") c_med=$(median_of "${cruns[@]}")
	got=$(count_msgs "$dir")
	[ "$got" -eq "$SYNC_MSGS" ] || { echo "bench: $key has $got messages after the passes" >&2; return 1; }
	echo "RESULT client $server sync $client: initial_seconds=$first initial_bytes=$first_b" \
		"nochange_seconds=$nc nochange_bytes=$nc_b up=$nc_up down=$nc_down" \
		"later_seconds=$later_med later_bytes=$BYTES later_runs=$LATER_RUNS later_min=$later_min" \
		"client_nochange_seconds=$nc_c client_later_seconds=$c_med client_later_min=$c_min"
	eval "R_${key}_s=$nc R_${key}_b=$nc_b R_${key}_i=$first R_${key}_l=$later_med R_${key}_c=$c_med"
}

run_sync() { # SERVER IMAP_PORT
	if want kasten && has_cmd sync; then
		try "$1 sync kasten" measure_sync "$1" kasten "$2"
	elif want kasten; then
		echo "SKIP client $1 sync kasten: $KASTEN_BIN has no sync command"
	fi
	! want mbsync || try "$1 sync mbsync" measure_sync "$1" mbsync "$2"
}

fill() { # LMTP_PORT IMAP_PORT POP3_PORT
	"$SMTP_SOURCE" -L -d -s 1 -m "$FETCH_MSGS" -l 4096 -M client.test -f bench@sender.invalid \
		-t "$FETCH_USER" "127.0.0.1:$1"
	if [[ " $PARTS " == *" sync "* ]]; then
		echo "fill: $($PY "$REPO/bench/client_fill.py" "$2" "$SYNC_USER" "$BENCH_PASS" \
			--folders "$SYNC_FOLDERS" --per-folder "$SYNC_PER_FOLDER")"
		echo "warm: $($PY "$REPO/bench/client_fill.py" "$2" "$SYNC_USER" "$BENCH_PASS" --warm)"
	fi
	echo "warm: $($PY "$REPO/bench/client_fill.py" "$2" "$FETCH_USER" "$BENCH_PASS" --warm \
		--pop3-port "$3")"
}

run_server() { # NAME LMTP IMAP POP3
	fill "$2" "$3" "$4"
	[[ " $PARTS " == *" fetch "* ]] && run_fetch "$1" "$4" "$3"
	[[ " $PARTS " == *" sync "* ]] && run_sync "$1" "$3"
	return 0
}

for server in $SERVERS; do
	case $server in
	kasten)
		kasten_setup "$T/kasten" 2 lmtp pop3 imap
		kasten_start "$T/kasten/serve.log"
		wait_port "$KASTEN_PORT_lmtp"; wait_port "$KASTEN_PORT_pop3"; wait_port "$KASTEN_PORT_imap"
		assert_loopback_only kasten "$KASTEN_PID"
		run_server kasten "$KASTEN_PORT_lmtp" "$KASTEN_PORT_imap" "$KASTEN_PORT_pop3"
		stop_pid "$KASTEN_PID"
		;;
	dovecot)
		# Dovecot verifies the same yescrypt hash as kasten (bench/lib.sh)
		[ -n "${BENCH_HASH:-}" ] || kasten_setup "$T/hash" 1
		dovecot_setup "$T/dovecot" 2 "lmtp pop3 imap"
		dovecot_start
		wait_port "$DOVECOT_PORT_lmtp"; wait_port "$DOVECOT_PORT_pop3"; wait_port "$DOVECOT_PORT_imap"
		assert_loopback_only dovecot "$DOVECOT_PID"
		run_server dovecot "$DOVECOT_PORT_lmtp" "$DOVECOT_PORT_imap" "$DOVECOT_PORT_pop3"
		stop_pid "$DOVECOT_PID"
		;;
	esac
done

# Ratios: the other client's wall time and bytes over kasten's (above 1: kasten is faster
# or transfers less), per server and test.
echo
for server in $SERVERS; do
	for t in fetch-pop3:getmail fetch-imap:getmail fetch-imap:mbsync sync:mbsync; do
		test=${t%%:*} other=${t#*:}
		k=R_${server}_${test//-/_}_kasten o=R_${server}_${test//-/_}_${other}
		ks=${k}_s kb=${k}_b os=${o}_s ob=${o}_b
		[ -n "${!ks:-}" ] && [ -n "${!os:-}" ] || continue
		ox=${o}_x
		if [ -n "${!ox:-}" ]; then
			echo "RESULT client ratio $server $test $other/kasten: time $(ratio "${!os}" "${!ks}")" \
				"(extrapolated: $other stalled), bytes n/a"
		else
			echo "RESULT client ratio $server $test $other/kasten: time $(ratio "${!os}" "${!ks}")," \
				"bytes $(ratio "${!ob}" "${!kb}")"
		fi
	done
	k=R_${server}_sync_kasten o=R_${server}_sync_mbsync
	for pass in i:initial l:later c:later-client; do
		ks=${k}_${pass%%:*} os=${o}_${pass%%:*}
		[ -n "${!ks:-}" ] && [ -n "${!os:-}" ] || continue
		echo "RESULT client ratio $server sync-${pass#*:} mbsync/kasten: time $(ratio "${!os}" "${!ks}")"
	done
done
[ "$FAILURES" -eq 0 ]
