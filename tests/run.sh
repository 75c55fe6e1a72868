#!/bin/sh
# run.sh - every test suite in order (the include layering of core/ and
# bindings/, C tests of core/ and bindings/, the fuzz corpora replayed,
# Lua tests of the module, the lab verification, the soak for
# CHANLAB_SOAK_SECONDS (default 60), the trace timeline in a browser), one summary line at the end:
# "N passed, N failed".  Exits non-zero if anything failed.
# BUILD names the build folder (build, build/tsan, build/asan).
BUILD=${BUILD:-build}
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# add PASS FAIL: accumulate one suite's counts.
add() { passed=$((passed + $1)); failed=$((failed + $2)); }

# suite NAME CMD...: run one suite, echo its output, count it.  A suite
# that prints no recognisable summary (a crash) counts as one failure.
suite() {
	name=$1; shift
	echo "== $name"
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	if [ -z "$p" ]; then   # LuaUnit: "Ran N tests in T seconds, S successes..."
		n=$(sed -n 's/^Ran \([0-9]*\) tests.*/\1/p' "$log" | tail -1)
		s=$(sed -n 's/^Ran [0-9]* tests in [^,]*, \([0-9]*\) success.*/\1/p' "$log" | tail -1)
		if [ -n "$n" ]; then p=$s; f=$((n - s)); fi
	fi
	if [ -z "$p" ]; then   # our own runners: "N passed, N failed"
		line=$(grep -E '^([a-z]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
		p=$(echo "$line" | sed -n 's/.*\b\([0-9][0-9]*\) passed.*/\1/p')
		f=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p')
	fi
	if [ -z "$p" ]; then
		echo "!! $name: no summary (exit $rc)"; add 0 1; return
	fi
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "!! $name: exit status $rc"; f=1
	fi
	add "$p" "$f"
}

suite "layers" lua5.4 tests/layers.lua
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && suite "$(basename "$t")" "$t"
done
if [ -x "$BUILD/chanlab" ]; then
	for t in tests/lua/test_*.lua; do
		[ -f "$t" ] && suite "$(basename "$t")" env CHANLAB="$BUILD/chanlab" "$BUILD/chanlab" "$t"
	done
	suite "labs" "$BUILD/chanlab" lab verify
	suite "soak" env CHANLAB_SOAK_SECONDS="${CHANLAB_SOAK_SECONDS:-60}" \
		"$BUILD/chanlab" tests/soak/soak.lua
	suite "browser" env BUILD="$BUILD" CHANLAB="$BUILD/chanlab" tests/browser/run.sh
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
