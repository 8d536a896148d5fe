# bench/lib.sh: shared pieces of the side-by-side benchmarks (sourced, not run).
# Everything listens on 127.0.0.1 only; every process started here is stopped by PID.

BENCH_DOMAIN=example.test
BENCH_PASS=Bench-pass-1
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KASTEN_BIN=${KASTEN_BIN:-$REPO/build/kasten}
PY=/usr/bin/python3
SMTP_SOURCE=/usr/sbin/smtp-source

PIDS_TO_STOP=()

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.1f", n / t; else print "inf" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() { # wait_port PORT [seconds]
	local port=$1 limit=${2:-15} i=0
	while ! $PY -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.5)" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -gt $((limit * 5)) ] && { echo "bench: port $port not up after ${limit}s" >&2; return 1; }
		sleep 0.2
	done
}

stop_pid() { # stop_pid PID: SIGTERM, wait up to 20 s, then SIGKILL
	local pid=$1 i=0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt 100 ]; then kill -KILL "$pid" 2>/dev/null || true; break; fi
		sleep 0.2
	done
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local p
	for p in "${PIDS_TO_STOP[@]}"; do stop_pid "$p"; done
	PIDS_TO_STOP=()
	if [ -n "${DOVECOT_PIDFILE:-}" ] && [ -f "$DOVECOT_PIDFILE" ]; then
		stop_pid "$(cat "$DOVECOT_PIDFILE")"
	fi
}

need() {
	[ -x "$KASTEN_BIN" ] || { echo "bench: $KASTEN_BIN not found: build first (make build)" >&2; exit 1; }
	[ -x "$SMTP_SOURCE" ] || { echo "bench: $SMTP_SOURCE missing (postfix package)" >&2; exit 1; }
	[ -x /usr/sbin/dovecot ] || { echo "bench: dovecot missing: scripts/install-deps.sh bench" >&2; exit 1; }
}

# ---- kasten ----
# kasten_setup DIR NUSERS LISTENERS...   (listeners: lmtp pop3 imap...); sets KASTEN_CONF,
# KASTEN_PORT_*; KASTEN_MAX_PER_IP (default 10000) lifts the per-IP connection caps
kasten_setup() {
	local dir=$1 n=$2
	shift 2
	mkdir -p "$dir/data"
	KASTEN_CONF=$dir/kasten.conf
	{
		echo "[server]"
		echo "data = $dir/data"
		echo "hostname = bench.$BENCH_DOMAIN"
		echo "[listen]"
		for l in smtp submission submissions lmtp imap imaps pop3 pop3s http; do
			if [[ " $* " == *" $l "* ]]; then
				local p
				p=$(free_port)
				eval "KASTEN_PORT_$l=$p"
				echo "$l = 127.0.0.1:$p"
			else
				echo "$l ="
			fi
		done
		echo "[auth]"
		echo "plaintext_loopback = yes"
		# all load comes from one loopback address; Dovecot has no per-IP caps here
		echo "[limits]"
		echo "max_connections_per_ip = ${KASTEN_MAX_PER_IP:-10000}"
		echo "max_unauthenticated_per_ip = ${KASTEN_MAX_PER_IP:-10000}"
	} >"$KASTEN_CONF"
	local i
	for i in $(seq 1 "$n"); do
		echo "$BENCH_PASS" | "$KASTEN_BIN" user add "user$i@$BENCH_DOMAIN" --password-stdin \
			--config "$KASTEN_CONF" >/dev/null 2>>"$dir/admin.log"
	done
	# Dovecot verifies the same kind of hash (yescrypt, through crypt(3)): a login
	# costs both servers the same, so the POP3 numbers compare the servers, not the
	# password schemes
	BENCH_HASH=$(/usr/bin/python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT pwhash FROM accounts LIMIT 1").fetchone()[0])' \
		"$dir/data/directory.db")
}

kasten_start() { # kasten_start LOG
	"$KASTEN_BIN" serve --config "$KASTEN_CONF" 2>"$1" &
	KASTEN_PID=$!
	PIDS_TO_STOP+=("$KASTEN_PID")
}

kasten_count() { # total messages over all accounts (4th column of user list)
	"$KASTEN_BIN" user list --config "$KASTEN_CONF" 2>/dev/null | awk '$1 ~ /@/ { n += $4 } END { print n + 0 }'
}

# ---- dovecot ----
# dovecot_setup DIR NUSERS PROTOCOLS: an unprivileged instance under DIR; sets
# DOVECOT_CONF, DOVECOT_PORT_lmtp, DOVECOT_PORT_pop3, DOVECOT_PORT_imap, DOVECOT_PIDFILE.
# IMAP sizing, for the many-connection runs: DOVECOT_IMAP_CONNS (default 1000) is the
# number of IMAP sessions it must hold at once; DOVECOT_TLS=1 adds an imaps listener
# (DOVECOT_PORT_imaps) with a self-signed P-256 certificate, as kasten makes its own.
dovecot_setup() {
	local dir=$1 n=$2 protocols=$3
	local run_user uid gid
	mkdir -p "$dir/run" "$dir/state" "$dir/mail"
	if [ "$(id -u)" -eq 0 ]; then
		run_user=nobody
		chown -R nobody:nogroup "$dir"
		chmod 755 "$dir" "$(dirname "$dir")"
	else
		run_user=$(id -un)
	fi
	uid=$(id -u "$run_user")
	gid=$(id -g "$run_user")
	DOVECOT_RUN_USER=$run_user
	DOVECOT_PORT_lmtp=$(free_port)
	DOVECOT_PORT_pop3=$(free_port)
	DOVECOT_PORT_imap=$(free_port)
	DOVECOT_PORT_imaps=0
	local imap_conns=${DOVECOT_IMAP_CONNS:-1000} ssl_conf="ssl = no"
	if [ -n "${DOVECOT_TLS:-}" ]; then
		DOVECOT_PORT_imaps=$(free_port)
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
			-subj "/CN=bench.$BENCH_DOMAIN" -keyout "$dir/key.pem" -out "$dir/cert.pem" \
			2>/dev/null
		chown "$run_user" "$dir/key.pem" 2>/dev/null || true
		ssl_conf="ssl = yes
ssl_cert = <$dir/cert.pem
ssl_key = <$dir/key.pem"
	fi
	DOVECOT_CONF=$dir/dovecot.conf
	DOVECOT_PIDFILE=$dir/run/master.pid
	local i
	: >"$dir/users"
	for i in $(seq 1 "$n"); do
		echo "user$i@$BENCH_DOMAIN:{CRYPT}$BENCH_HASH:$uid:$gid::$dir/mail/user$i@$BENCH_DOMAIN::" >>"$dir/users"
	done
	cat >"$DOVECOT_CONF" <<CONF
# generated by bench/lib.sh: an unprivileged, loopback-only Dovecot with shipped
# durability defaults (mail_fsync is NOT set: the default, optimized, applies).
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
info_log_path = $dir/dovecot.info.log
protocols = $protocols
listen = 127.0.0.1
default_internal_user = $run_user
default_internal_group = $(id -gn "$run_user")
default_login_user = $run_user
$ssl_conf
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$dir/mail/%u/Maildir
first_valid_uid = 0
first_valid_gid = 0
passdb {
  driver = passwd-file
  args = $dir/users
}
userdb {
  driver = passwd-file
  args = $dir/users
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $DOVECOT_PORT_lmtp
  }
  unix_listener lmtp {
    mode = 0600
  }
}
service pop3-login {
  chroot =
  inet_listener pop3 {
    address = 127.0.0.1
    port = $DOVECOT_PORT_pop3
  }
  inet_listener pop3s {
    port = 0
  }
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $DOVECOT_PORT_imap
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $DOVECOT_PORT_imaps
  }
}
service submission-login {
  chroot =
}
service anvil {
  chroot =
}
# 200 simultaneous POP3 sessions (the many-client run) exceed the shipped limits
# (pop3-login runs one process per connection, at most 100: "-ERR Connection queue
# full"). Use Dovecot's documented high-performance login mode and room for 1,000
# sessions, so the anchor is measured at its best rather than at its defaults.
service pop3-login {
  service_count = 0
  process_min_avail = 2
  client_limit = 1000
}
service pop3 {
  process_limit = 1024
}
service auth {
  client_limit = 4096
}
# IMAP the same way: the high-performance login mode (one imap-login process per core,
# each holding many clients; with TLS it keeps proxying the session after login), and
# Dovecot's shipped one imap process per session, with room for DOVECOT_IMAP_CONNS of
# them. Every one of them keeps a connection to the log, anvil and stats services, and
# all come from one user and one address (mail_max_userip_connections, default 10).
service imap-login {
  service_count = 0
  process_min_avail = $(nproc)
  client_limit = $imap_conns
  # proxying thousands of TLS sessions outgrows the shipped 256 MB address space
  # ("Out of memory ... OpenSSL malloc() failed" at ~5,000 sessions a process)
  vsz_limit = 4G
}
service imap {
  process_limit = $imap_conns
}
service anvil {
  client_limit = $((imap_conns + 100))
}
service log {
  client_limit = $((imap_conns + 100))
}
service stats {
  client_limit = $((imap_conns + 100))
}
protocol imap {
  mail_max_userip_connections = $imap_conns
}
CONF
	chown "$run_user" "$dir/users" "$DOVECOT_CONF" 2>/dev/null || true
}

dovecot_start() {
	local runner=()
	[ "$(id -u)" -eq 0 ] && runner=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	"${runner[@]}" /usr/sbin/dovecot -c "$DOVECOT_CONF" || {
		cat "$(dirname "$DOVECOT_CONF")/dovecot.log" >&2 2>/dev/null
		return 1
	}
	local i=0
	while [ ! -s "$DOVECOT_PIDFILE" ]; do
		i=$((i + 1)); [ "$i" -gt 50 ] && { echo "bench: dovecot did not start" >&2; return 1; }
		sleep 0.2
	done
	DOVECOT_PID=$(cat "$DOVECOT_PIDFILE")
	PIDS_TO_STOP+=("$DOVECOT_PID")
}

# Every listening socket of PID (and its children) must be on loopback.
assert_loopback_only() { # assert_loopback_only NAME PID
	local name=$1 pid=$2 pids bad
	pids=$(pgrep -d'|' -P "$pid" 2>/dev/null || true)
	pids="$pid${pids:+|$pids}"
	bad=$(ss -Hltnp 2>/dev/null | grep -E "pid=($pids)," | awk '{ print $4 }' |
		grep -vE '^(127\.[0-9.]+|\[::1\]):[0-9]+$' || true)
	if [ -n "$bad" ]; then
		echo "bench: $name listens on non-loopback addresses: $bad: stopping" >&2
		return 1
	fi
}

dovecot_count() { # messages in every Maildir under DIR/mail
	find "$1/mail" -type f \( -path '*/Maildir/new/*' -o -path '*/Maildir/cur/*' \) | wc -l
}

# lmtp_load PORT NUSERS PER_USER SESSIONS: SESSIONS parallel smtp-source -L processes
# (each one session reusing its connection) until every user got PER_USER messages.
lmtp_load() {
	local port=$1 n=$2 per=$3 sessions=$4
	seq 1 "$n" | xargs -P "$sessions" -I{} "$SMTP_SOURCE" -L -d -s 1 -m "$per" -l 4096 \
		-M client.test -f "bench@sender.invalid" -t "user{}@$BENCH_DOMAIN" \
		"127.0.0.1:$port"
}

# ---- IMAP ----
# cpu_ticks PID: CPU time (clock ticks) of PID, its live children and the children it
# has reaped: a server's whole cost over a run is the difference of two readings, also
# for Dovecot, whose per-session imap processes come and go.
cpu_ticks() {
	local pid=$1 kids
	kids=$(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ' || true)
	# fields after the ")" of comm: utime=12 stime=13 cutime=14 cstime=15 (from 1 = state)
	{ cat "/proc/$pid/stat"; for k in $kids; do cat "/proc/$k/stat" 2>/dev/null || true; done; } |
		awk '{ sub(/^.*\) /, ""); t += $12 + $13; if (NR == 1) t += $14 + $15 }
			END { print t + 0 }'
}

# machine_ticks: CPU time (clock ticks) all cores spent busy, whoever ran: beside a
# server's own time it shows whether something else shared the machine during a run
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

cpu_seconds() { awk -v a="$1" -v b="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }'; }

# build_imap_load DIR: compiles the IMAP load generator (not part of the kasten build)
# into DIR, after its response reader passed its own test; sets IMAP_LOAD
build_imap_load() {
	local b=$REPO/bench cc_flags=(-std=c11 -O2 -Wall -Wextra -Werror)
	cc "${cc_flags[@]}" -o "$1/imap_response_test" "$b/imap_response_test.c" "$b/imap_response.c"
	"$1/imap_response_test" >/dev/null || { echo "bench: imap_response_test failed" >&2; return 1; }
	cc "${cc_flags[@]}" -o "$1/imap_load" "$b/imap_load.c" "$b/imap_load_session.c" \
		"$b/imap_response.c" "$b/latency_hist.c"
	IMAP_LOAD=$1/imap_load
}
