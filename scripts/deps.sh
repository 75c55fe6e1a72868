#!/bin/sh
# deps.sh - install what chanlab needs to build and test, if it is missing.
# As root it uses apt-get; otherwise it prints the exact command to run.
# With WITH_GO=1 it also wants Go (for `make bench`'s side-by-side table).
# Optional packages (luarocks for the rockspec test, groff for the man
# page test, chromium for the trace timeline's browser test) are tried too; without them those tests skip, so failing to
# install them fails nothing.
set -e
need=""
pkg-config --exists lua5.4 2>/dev/null || need="$need liblua5.4-dev"
command -v lua5.4 >/dev/null 2>&1 || need="$need lua5.4"
[ -f /usr/share/lua/5.4/luaunit.lua ] || need="$need lua-unit"
pkg-config --exists cmocka 2>/dev/null || need="$need libcmocka-dev"
[ -x /usr/bin/time ] || need="$need time"   # peak memory in test_hostile.lua
command -v pkg-config >/dev/null 2>&1 || need="pkg-config $need"
if [ "${WITH_GO:-0}" = 1 ]; then
	command -v go >/dev/null 2>&1 || need="$need golang-go"
fi
want=""
command -v luarocks >/dev/null 2>&1 || want="$want luarocks"
command -v groff >/dev/null 2>&1 || want="$want groff-base"
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
	want="$want chromium"
[ -z "$need$want" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	if [ -n "$need" ]; then
		echo "deps: installing$need"
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
	fi
	[ -n "$want" ] && [ -z "$need" ] && { apt-get update -qq >/dev/null 2>&1 || true; }
	for p in $want; do
		echo "deps: installing (optional) $p"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $p >/dev/null 2>&1 ||
		echo "deps: could not install $p; the tests that use it will be skipped" >&2
	done
else
	[ -n "$want" ] && echo "deps: optional (tests skip without them): sudo apt-get install -y$want" >&2
	[ -z "$need" ] && exit 0
	echo "deps: missing$need" >&2
	echo "deps: run: sudo apt-get install -y$need" >&2
	exit 1
fi
