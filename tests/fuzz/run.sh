#!/bin/sh
# run.sh NAME... - run each libFuzzer target build/fuzz/fuzz/fuzz_NAME for
# FUZZ_SECONDS (make fuzz).  Each starts from a copy of its corpus,
# tests/fuzz/corpus/NAME, kept in $BUILD/corpus/NAME: what it finds stays
# there.  With FUZZ_KEEP=1 the new inputs that add coverage are merged
# into tests/fuzz/corpus/NAME (then commit them: make test replays them).
# A crash leaves its input in $BUILD/crashes/ and fails the run.
#   FUZZ_SECONDS  per target (default 60)
#   FUZZ_JOBS     fuzzing processes per target (default 1)
#   FUZZ_ARGS     more libFuzzer flags
# Prints, per target: executions, executions/s, coverage (edges), features
# and corpus size, from libFuzzer's own final lines.
BUILD=${BUILD:-build/fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}
DIR=$(dirname "$0")
status=0
if [ "$SECONDS_EACH" -le 0 ]; then
	echo "fuzz: FUZZ_SECONDS=$SECONDS_EACH, nothing run (the targets are built)"
	exit 0
fi
mkdir -p "$BUILD/crashes"
for name in "$@"; do
	bin="$BUILD/fuzz/fuzz_$name"
	work="$BUILD/corpus/$name"
	log="$BUILD/fuzz_$name.$$.log"
	mkdir -p "$work" "$DIR/corpus/$name"
	if [ "$JOBS" -gt 1 ]; then
		par="-fork=$JOBS"
	else
		par=
	fi
	# shellcheck disable=SC2086
	"$bin" $par -max_total_time="$SECONDS_EACH" -timeout=60 -print_final_stats=1 \
		-artifact_prefix="$BUILD/crashes/$name-" $FUZZ_ARGS \
		"$work" "$DIR/corpus/$name" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	corp=$(ls "$work" | wc -l)
	printf "fuzz_%s: %s executions in %s s (%s/s), coverage %s edges, %s features, corpus %s\n" \
		"$name" "${runs:-?}" "${took:-$SECONDS_EACH}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "$corp"
	if [ "$rc" -ne 0 ]; then
		echo "fuzz_$name: FAILED (exit $rc); the end of $log:"
		tail -30 "$log"
		status=1
	elif [ "${FUZZ_KEEP:-0}" = 1 ]; then
		"$bin" -merge=1 "$DIR/corpus/$name" "$work" >>"$log" 2>&1
		echo "fuzz_$name: corpus merged into $DIR/corpus/$name ($(ls "$DIR/corpus/$name" | wc -l) inputs)"
	fi
done
exit $status
