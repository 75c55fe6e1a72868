#!/bin/sh
# run.sh - fault injection over the Lua workload and the C suites (make
# faults; README "Running untrusted scripts").  For each program: count
# its allocations (failalloc.c), then run it once for every N from 1 to
# that count with the N-th allocation failing (one.sh says what passes).
#   BUILD        the fault build (build/faults: ASan + failalloc)
#   FAULT_STRIDE run every k-th N only (default 1: every N)
#   FAULT_MAX    a program with more allocations than this is sampled at
#                evenly spaced N (default 20000)
#   FAULT_C_MAX  the same for the C suites (default FAULT_MAX): their
#                stress tests make up to 640,000 allocations and take
#                seconds a run, so every N of them would take days
#   FAULT_JOBS   runs at once (default: CPUs)
#   FAULT_ONLY   a pattern: only the programs whose name matches
#   FAULT_TIMEOUT  seconds one run may take before it counts as a hang
#                (default 60; test_chan's 8x8 tests need over 15 on a
#                loaded machine)
# Ends with "faults: N passed, N failed" (injection points); failures'
# output is kept in $BUILD/faults-logs.
BUILD=${BUILD:-build/faults}
STRIDE=${FAULT_STRIDE:-1}
MAX=${FAULT_MAX:-20000}
JOBS=${FAULT_JOBS:-$(nproc)}
ONLY=${FAULT_ONLY:-.}
DIR=$(dirname "$0")
export FAULT_LOGS="$BUILD/faults-logs"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:$ASAN_OPTIONS"
rm -rf "$FAULT_LOGS"
mkdir -p "$FAULT_LOGS"
total_ok=0
total_fail=0
results=$(mktemp)
trap 'rm -f "$results"' EXIT

# program NAME KIND CMD...
program() {
	name=$1; kind=$2; shift 2
	echo "$name" | grep -q -- "$ONLY" || return 0
	count=$(CHANLAB_FAIL_COUNT=1 timeout 120 "$@" 2>&1 >/dev/null |
		sed -n 's/.*failalloc: \([0-9]*\) allocations.*/\1/p' | tail -1)
	if [ -z "$count" ] || [ "$count" -eq 0 ]; then
		echo "$name: no allocation counted, skipped"
		return 0
	fi
	step=$STRIDE
	max=$MAX
	[ "$kind" = c ] && max=${FAULT_C_MAX:-$MAX}
	[ $((count / step)) -gt "$max" ] && step=$(((count + max - 1) / max))
	start=$(date +%s)
	seq 1 "$step" "$count" | xargs -P "$JOBS" -I{} "$DIR/one.sh" "$kind" {} "$@" >"$results"
	ok=$(grep -c "^ok" "$results")
	fail=$(grep -c "^FAIL" "$results")
	total_ok=$((total_ok + ok))
	total_fail=$((total_fail + fail))
	printf "%-34s %7d allocations, every %4d: %6d points, %d failed (%d s)\n" \
		"$name" "$count" "$step" $((ok + fail)) "$fail" $(($(date +%s) - start))
	grep "^FAIL" "$results" | sort -k2 -n | head -5 | sed 's/^/    /'
}

# The workload three ways, each with one failing allocation, with two in a
# row (Lua's retry after its emergency collection fails too, so the
# error reaches the bindings), and with every allocation failing from N on
# (the program must still end cleanly).
for run in 1 2 0; do
	export CHANLAB_FAIL_RUN=$run
	case $run in 1) what="1 fails" ;; 2) what="2 fail" ;; 0) what="all fail" ;; esac
	program "workload --seed 1, $what" lua "$BUILD/chanlab" run --seed 1 "$DIR/workload.lua"
	program "workload --procs 2, $what" lua "$BUILD/chanlab" run --procs 2 "$DIR/workload.lua"
	program "sandboxed, $what" lua "$BUILD/chanlab" run --sandbox --procs 2 "$DIR/workload.lua"
done
export CHANLAB_FAIL_RUN=1
for t in "$BUILD"/tests/test_*; do
	# the fuzz targets' replays abort on any surprise, out of memory too
	case "$t" in *.d | */test_fuzz_*) continue ;; esac
	[ -x "$t" ] && program "$(basename "$t")" c "$t"
done
echo "faults: $total_ok passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
