#!/bin/sh
# deps.sh - install what chanlab needs to build and test, if it is missing.
# As root it uses apt-get; otherwise it prints the exact command to run.
# With WITH_GO=1 it also wants Go (for `make bench`'s side-by-side table).
set -e
need=""
pkg-config --exists lua5.4 2>/dev/null || need="$need liblua5.4-dev"
command -v lua5.4 >/dev/null 2>&1 || need="$need lua5.4"
[ -f /usr/share/lua/5.4/luaunit.lua ] || need="$need lua-unit"
pkg-config --exists cmocka 2>/dev/null || need="$need libcmocka-dev"
command -v pkg-config >/dev/null 2>&1 || need="pkg-config $need"
if [ "${WITH_GO:-0}" = 1 ]; then
	command -v go >/dev/null 2>&1 || need="$need golang-go"
fi
# For the browser test of the trace timeline (tests/browser/): Chromium.
# Optional: when it cannot be installed that test says so and skips.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "deps: installing chromium (for the trace timeline's browser test)"
		if ! { apt-get update -qq >/dev/null 2>&1 &&
		       DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		           --no-install-recommends chromium >/dev/null 2>&1; }; then
			echo "deps: could not install chromium: the browser test will be skipped" >&2
		fi
	else
		echo "deps: optional: sudo apt-get install -y chromium (the trace timeline's browser test)" >&2
	fi
fi
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing$need"
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
else
	echo "deps: missing$need" >&2
	echo "deps: run: sudo apt-get install -y$need" >&2
	exit 1
fi
