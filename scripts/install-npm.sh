#!/bin/sh
# install-npm.sh: install the webmail's pinned npm packages (web/package-lock.json) into
# web/node_modules, when they are missing or the lock file changed since the last
# install. The build embeds two of their dist files (scripts/embed-web.py), and the
# browser tests run playwright-core from there. `npm ci` installs exactly the lock's
# versions and checks each package's integrity hash; --ignore-scripts: no package runs
# code at install time.
# Usage: scripts/install-npm.sh   (from anywhere; needs node and npm: install-deps.sh)
set -eu
web="$(cd "$(dirname "$0")/../web" && pwd)"
stamp="$web/node_modules/.kasten-lock.sha256"
want=$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
	echo "install-npm: npm is missing: run scripts/install-deps.sh build" >&2
	exit 1
fi
echo "install-npm: npm ci in $web"
(cd "$web" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
echo "$want" >"$stamp"
