#!/bin/sh
# install-deps.sh: install the Debian packages kasten builds and tests with, if missing.
# Usage: scripts/install-deps.sh [build|check|bench]   (each includes the ones before it)
#   build: what `make run` needs to build and run kasten, nothing more (nodejs and npm:
#          scripts/install-npm.sh installs the webmail's pinned npm packages)
#   check: the test tools and real clients of `make check`
#   bench: the anchors (Dovecot) `make bench` compares against
set -eu
level=${1:-check}

build="gcc make meson ninja-build pkg-config libevent-dev libssl-dev libsqlite3-dev
libcrypt-dev libinih-dev zlib1g-dev libunbound-dev dns-root-data libidn2-dev publicsuffix
libjansson-dev nodejs npm"
check="openssl libcmocka-dev clang libclang-rt-14-dev python3 python3-pytest swaks postfix
fetchmail getmail6 curl libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl strace
isync offlineimap3 mutt tmux dovecot-imapd dovecot-pop3d dovecot-lmtpd
python3-dkim unbound ldnsutils python3-pytest-xdist python3-prometheus-client
chromium zbar-tools"
bench="dovecot-lmtpd dovecot-pop3d dovecot-imapd"

case "$level" in
build) want="$build" ;;
check) want="$build $check" ;;
bench) want="$build $check $bench" ;;
*) echo "usage: $0 [build|check|bench]" >&2; exit 2 ;;
esac

# nodejs and npm count as present when their commands are: a NodeSource nodejs (as on
# our machine images) bundles npm and conflicts with Debian's npm package.
present() {
	case "$1" in
	nodejs | npm) command -v "$1" >/dev/null 2>&1 && return 0 ;;
	esac
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

missing=""
for p in $want; do
	present "$p" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Postfix is installed only for its smtp-source load generator: never let it run.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends $missing
