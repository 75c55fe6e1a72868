#!/bin/sh
# one.sh KIND N CMD... - one fault-injection run: CMD with its N-th
# allocation failing (failalloc.c).  Prints "ok N" or "FAIL N why", and
# for a failure keeps the output in $FAULT_LOGS/KIND.N.
#   KIND lua: a chanlab run; it must end 0, or 1/2 saying "not enough
#             memory" (or "out of memory"); LeakSanitizer runs at exit 0.
#   KIND c:   a cmocka suite; its tests may fail (they did not expect the
#             failure), but nothing may crash, hang or trip a sanitizer,
#             and a suite whose tests all passed must not leak.
kind=$1; n=$2; shift 2
out=$(mktemp)
CHANLAB_FAIL_AT=$n timeout "${FAULT_TIMEOUT:-60}" "$@" >"$out" 2>&1
rc=$?
why=
if [ $rc -eq 124 ]; then why="hang"
elif [ $rc -ge 128 ]; then why="signal $((rc - 128))"
elif grep -q "Sanitizer\|runtime error:" "$out"; then
	if grep -q "LeakSanitizer" "$out" && ! grep -q "ERROR: AddressSanitizer\|runtime error:" "$out"; then
		[ "$kind" = c ] && grep -q "\[  FAILED  \]" "$out" || why="leak"
	else
		why="sanitizer"
	fi
elif grep -q "Test failed with exception" "$out"; then why="crash (caught by cmocka)"
elif [ "$kind" = lua ] && [ $rc -ne 0 ]; then
	if [ $rc -gt 2 ]; then why="exit $rc"
	elif ! grep -q "not enough memory\|out of memory" "$out"; then why="unclear error (exit $rc)"
	fi
fi
if [ -n "$why" ]; then
	echo "FAIL $n $why"
	[ -n "$FAULT_LOGS" ] && cp "$out" "$FAULT_LOGS/$kind.$(basename "$1").${CHANLAB_FAIL_RUN:-1}.$n"
else
	echo "ok $n"
fi
rm -f "$out"
