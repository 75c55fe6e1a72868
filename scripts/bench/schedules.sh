#!/bin/sh
# schedules.sh - what deterministic runs and `chanlab explore` cost (part
# of `make bench`; run alone: scripts/bench/schedules.sh).  Prints one
# `name: value unit` line per figure and never fails.
#
#   explore_random, explore_pct   schedules/s of `explore` (1,000 runs, one
#                                 child a CPU) on a 2-goroutine racy counter
#   explore_dfs                   schedules/s of a dfs (one child at a time)
#   dfs_2x3                       seconds to cover every schedule of two
#                                 goroutines of 3 steps each (20 schedules)
#   seed_lab_NN                   wall ms of `chanlab run --seed 1` of lab NN
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 0
CHANLAB=$BUILD/chanlab
[ -x "$CHANLAB" ] || { echo "schedules: $CHANLAB missing"; exit 0; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/chanlab-sched.XXXXXX") || exit 0
trap 'rm -rf "$TMP"' EXIT INT TERM

cat >"$TMP/counter.lua" <<'LUA'
local n = atomic.int(0)
local wg = sync.waitgroup()
for _ = 1, 2 do wg:go(function() n:store(n:load() + 1) end) end
wg:wait()
print("counter = " .. n:load())
LUA
cat >"$TMP/dfs2x3.lua" <<'LUA'
local n = atomic.int(0)
go(function() n:add(1) n:add(1) end)
n:add(10) n:add(10)
LUA

# rate STRATEGY RUNS: the schedules/s explore reports on its last line
rate() {
	"$CHANLAB" explore --strategy "$1" --runs "$2" "$TMP/counter.lua" 2>/dev/null |
		sed -n 's/.*(\([0-9]*\) schedules\/s).*/\1/p' | tail -1
}
echo "explore_random: $(rate random 1000) schedules/s"
echo "explore_pct: $(rate pct 1000) schedules/s"
echo "explore_dfs: $(rate dfs 1000) schedules/s"
line=$("$CHANLAB" explore --strategy dfs "$TMP/dfs2x3.lua" | tail -1)
echo "dfs_2x3: $(echo "$line" | sed -n 's/.*, \([0-9.]*\) s (.*/\1/p') s ($(echo "$line" | cut -d, -f1))"
for lab in labs/0*.lua; do
	n=$(basename "$lab" | cut -c1-2)
	t0=$(date +%s%N)
	"$CHANLAB" run --seed 1 "$lab" >/dev/null 2>&1
	t1=$(date +%s%N)
	echo "seed_lab_$n: $(( (t1 - t0) / 1000000 )) ms"
done
exit 0
