#!/bin/sh
# run.sh - the browser test of the HTML trace timeline (timeline.mjs),
# for tests/run.sh.  Skips, saying why, when Node, Chromium or the
# playwright-core driver is missing and cannot be installed (npm ci from
# package-lock.json; `make deps` installs Chromium).  Always ends with
# "browser: N passed, N failed".
# Environment: BUILD (build folder), CHANLAB (the interpreter), CHROMIUM.
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-build}
CHANLAB=${CHANLAB:-$BUILD/chanlab}
skip() { echo "browser: skipped: $1"; echo "browser: 0 passed, 0 failed"; exit 0; }

command -v node >/dev/null 2>&1 || skip "no node (apt-get install nodejs npm)"
if [ -z "$CHROMIUM" ]; then
	for c in chromium chromium-browser google-chrome; do
		CHROMIUM=$(command -v $c 2>/dev/null) && break
	done
fi
[ -n "$CHROMIUM" ] && [ -x "$CHROMIUM" ] || skip "no Chromium (make deps installs Debian's chromium)"
if [ ! -d "$here/node_modules/playwright-core" ]; then
	command -v npm >/dev/null 2>&1 || skip "no npm to install playwright-core"
	(cd "$here" && npm ci --no-audit --no-fund --silent >/dev/null 2>&1) ||
		skip "cannot install playwright-core (npm ci in tests/browser failed: offline?)"
fi
export CHANLAB CHROMIUM BUILD
exec node "$here/timeline.mjs"
