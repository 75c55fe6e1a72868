#!/bin/sh
# run.sh - what `make bench` runs: chanlab's benchmarks beside Go's.
#
# Builds scripts/bench/go/*.go into $BUILD/bench-go/, runs the C benchmarks
# found in $BUILD/bench/ (their lines printed as they are), then runs every
# workload of scripts/bench/*.lua under $BUILD/chanlab and its twin in Go,
# alternately, 3 or 5 times each, and prints the medians side by side with
# a ratio that always reads "chanlab's cost relative to Go's".
#
# It never fails the build: it exits 0 whatever happens; a run that
# crashes, times out or prints no figure shows `failed` in its cell and the
# reason under the table.
#
# Environment (all optional):
#   BUILD          build folder (default build)
#   BENCH_TIMEOUT  seconds allowed to one run (default 90)
#   BENCH_BUDGET   seconds for the workloads; past it, one run each (default 420)
#   BENCH_1M=0     skip the 1,000,000 parked goroutines run
#   BENCH_TIMEOUT_1M  seconds allowed to that run (default 180)
#   BENCH_ONLY     space-separated workload names to run (default all)
#   BENCH_NO_GO=1  act as if Go were missing (chanlab's column alone)
# Uses sh and awk only (plus timeout(1) from coreutils).

BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 0
BENCH=scripts/bench
CHANLAB=$BUILD/chanlab
GOOUT=$BUILD/bench-go
TMO=${BENCH_TIMEOUT:-90}
BUDGET=${BENCH_BUDGET:-420}
START=$(date +%s)
PATH=$PATH:/usr/local/go/bin:/usr/lib/go/bin
export PATH

TMP=$(mktemp -d "${TMPDIR:-/tmp}/chanlab-bench.XXXXXX") || exit 0
trap 'rm -rf "$TMP"' EXIT INT TERM
RES=$TMP/results     # side <TAB> figure <TAB> value <TAB> unit, one per figure per run
NOTES=$TMP/notes     # why runs failed, and other remarks, printed after the table
: >"$RES"; : >"$NOTES"

elapsed() { echo $(( $(date +%s) - START )); }
note() { echo "$*" >>"$NOTES"; }

# ---- machine and tools -------------------------------------------------------
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
mem=$(awk '/^MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)
echo "== chanlab benchmarks =="
echo "date:    $(date '+%Y-%m-%d %H:%M:%S %z')"
echo "machine: $(nproc 2>/dev/null || echo '?') CPUs, ${cpu:-unknown CPU}, ${mem:-? GB} RAM, load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"

NOGO=""
depmsg=$(WITH_GO=1 scripts/deps.sh 2>&1)
if [ "${BENCH_NO_GO:-0}" = 1 ]; then
	NOGO="BENCH_NO_GO=1 was given"
elif ! command -v go >/dev/null 2>&1; then
	NOGO="Go is missing after 'WITH_GO=1 scripts/deps.sh'${depmsg:+ (it said: $(echo "$depmsg" | tr '\n' ' '))}"
fi
if [ -z "$NOGO" ]; then
	echo "go:      $(go version 2>/dev/null)"
	if [ -z "${HOME:-}" ] && [ -z "${GOCACHE:-}" ] && [ -z "${XDG_CACHE_HOME:-}" ]; then
		GOCACHE=$ROOT/$GOOUT/.cache; export GOCACHE
	fi
	mkdir -p "$GOOUT"
	for f in "$BENCH"/go/*.go; do
		[ -f "$f" ] || continue
		n=$(basename "$f" .go)
		if ! GO111MODULE=off GOFLAGS= go build -o "$GOOUT/$n" "$f" >"$TMP/gobuild" 2>&1; then
			note "go build $f failed: $(head -3 "$TMP/gobuild" | tr '\n' ' ')"
			rm -f "$GOOUT/$n"
		fi
	done
else
	echo "go:      none - $NOGO; printing chanlab's column alone"
fi

NOCL=""
if [ -x "$CHANLAB" ] && "$CHANLAB" -e 'print(1)' >/dev/null 2>&1 || \
   { [ -x "$CHANLAB" ] && echo 'print(1)' >"$TMP/one.lua" && "$CHANLAB" run "$TMP/one.lua" >/dev/null 2>&1; }; then
	echo "chanlab: $("$CHANLAB" --version 2>/dev/null | head -1) ($CHANLAB, default procs)"
else
	NOCL="$CHANLAB is not built or cannot run a script"
	echo "chanlab: none - $NOCL"
fi
HAVE_LUA=""
command -v lua5.4 >/dev/null 2>&1 && HAVE_LUA=1
HAVE_NOPREEMPT=""
[ -z "$NOCL" ] && grep -aq CHANLAB_PREEMPT "$CHANLAB" 2>/dev/null && HAVE_NOPREEMPT=1

# ---- C benchmarks ------------------------------------------------------------
cb=0
for b in "$BUILD"/bench/*; do
	[ -f "$b" ] && [ -x "$b" ] || continue
	[ $cb = 0 ] && echo && echo "== C benchmarks ($BUILD/bench/) =="
	cb=1
	timeout -k 5 "$TMO" "$b" 2>&1
	rc=$?
	[ $rc != 0 ] && echo "$(basename "$b"): failed (exit $rc)"
done

# ---- one run -----------------------------------------------------------------
# run1 SIDE FIGURE LABEL CMD... : runs CMD under the timeout; appends every
# "name: value unit" line it prints to $RES under SIDE; when it fails (non-zero
# exit, timeout, or FIGURE missing) appends SIDE FIGURE "failed" instead of
# its figures and writes the reason to $NOTES.
run1() {
	side=$1; fig=$2; label=$3; shift 3
	t=${RUN_TMO:-$TMO}
	timeout -k 5 "$t" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	why=""
	if [ $rc = 124 ] || [ $rc = 137 ]; then why="timed out after ${t}s"
	elif [ $rc -gt 128 ]; then why="killed by signal $((rc - 128))"
	elif [ $rc != 0 ]; then why="exit status $rc"
	elif ! grep -q "^$fig: " "$TMP/out"; then why="printed no '$fig:' line"
	fi
	if [ -n "$why" ]; then
		printf '%s\t%s\tfailed\t\n' "$side" "$fig" >>"$RES"
		msg=$(grep -h . "$TMP/out" "$TMP/err" 2>/dev/null | head -3 | tr '\n' ' ' | cut -c1-300)
		note "$label ($side): $why${msg:+: $msg}"
		return 1
	fi
	awk -v side="$side" -F': ' '/^[a-z0-9_]+: / {
		v = $2; u = ""
		if (match(v, / /)) { u = substr(v, RSTART + 1); v = substr(v, 1, RSTART - 1) }
		printf "%s\t%s\t%s\t%s\n", side, $1, v, u }' "$TMP/out" >>"$RES"
	return 0
}

# ---- workloads ---------------------------------------------------------------
# name  runs  figure
WORKLOADS="pingpong 5 pingpong
buffered 3 buffered
table_msg 3 table_msg
spawn 5 spawn
parked_mem 3 parked_mem
parallel 3 parallel_efficiency
tight_loop 3 tight_loop
select4 5 select4
mutex 5 mutex
workerpool 3 workerpool"

echo
echo "== workloads (each run alternates chanlab and Go; medians below) =="
short=0
echo "$WORKLOADS" | while read -r w reps fig; do
	if [ -n "${BENCH_ONLY:-}" ]; then
		case " $BENCH_ONLY " in *" $w "*) ;; *) continue ;; esac
	fi
	if [ "$(elapsed)" -gt "$BUDGET" ]; then
		[ $short = 0 ] && note "time budget of ${BUDGET}s used up at '$w': one run each from there on"
		short=1; reps=1
	fi
	printf '%-12s' "$w"
	i=1
	while [ $i -le "$reps" ]; do
		if [ -z "$NOCL" ]; then
			run1 chanlab "$fig" "$w run $i" "$CHANLAB" run "$BENCH/$w.lua"
			printf ' c'
			if [ "$w" = tight_loop ] && [ -n "$HAVE_NOPREEMPT" ]; then
				run1 nopreempt "$fig" "$w run $i, CHANLAB_PREEMPT=0" \
					env CHANLAB_PREEMPT=0 "$CHANLAB" run "$BENCH/$w.lua"
				printf ' n'
			fi
		fi
		if [ -z "$NOGO" ]; then
			if [ -x "$GOOUT/$w" ]; then
				run1 go "$fig" "$w run $i" "$GOOUT/$w"
			else
				printf 'go\t%s\tfailed\t\n' "$fig" >>"$RES"
			fi
			printf ' g'
		fi
		if [ "$w" = tight_loop ] && [ -n "$HAVE_LUA" ]; then
			run1 stocklua "$fig" "$w run $i, stock lua5.4" \
				env LUA_CPATH="$BUILD/?.so;;" lua5.4 "$BENCH/$w.lua"
		fi
		i=$((i + 1))
	done
	echo " ($(elapsed)s)"
done

# ---- 1,000,000 parked goroutines (optional, guarded by free memory) ----------
do1m=1
[ "${BENCH_1M:-1}" = 0 ] && do1m=0
if [ -n "${BENCH_ONLY:-}" ]; then
	case " $BENCH_ONLY " in *" parked_1m "*) ;; *) do1m=0 ;; esac
fi
if [ $do1m = 1 ]; then
	avail=$(awk '/^MemAvailable/ { print int($2 / 1024) }' /proc/meminfo)
	for side in chanlab go; do
		if [ $side = chanlab ]; then
			[ -n "$NOCL" ] && continue
			cmd="$CHANLAB run $BENCH/parked_mem.lua 1000000"
		else
			[ -n "$NOGO" ] && continue
			cmd="$GOOUT/parked_mem 1000000"
		fi
		# Estimate from the 100,000 run (KB/goroutine x 1e6, +25%); unknown: 8 GB.
		need=$(awk -F'\t' -v s=$side '$1 == s && $2 == "parked_mem" && $3 + 0 > 0 { t += $3; n++ }
			END { if (n) printf "%d", t / n * 1000000 / 1024 * 1.25 + 200; else print 8192 }' "$RES")
		if [ "$(elapsed)" -gt $((BUDGET + 60)) ]; then
			printf '%s\tparked_1m\tskipped\t(time budget used up)\n' $side >>"$RES"
		elif [ "$need" -gt $((avail - 2048)) ]; then
			printf '%s\tparked_1m\tskipped\t(needs ~%s MB, %s MB available)\n' $side "$need" "$avail" >>"$RES"
		else
			printf '%-12s %s' "parked_1m" "$side"
			# shellcheck disable=SC2086
			RUN_TMO=${BENCH_TIMEOUT_1M:-180} run1 $side parked_1m "parked_1m" $cmd
			echo " ($(elapsed)s)"
		fi
	done
fi

# ---- the table ---------------------------------------------------------------
echo
echo "ratio = chanlab's cost relative to Go's: chanlab/Go for times and memory,"
echo "        Go/chanlab for throughputs and efficiency; 2.0 = chanlab needs twice"
echo "        what Go needs (or does half as much); medians of the runs shown."
[ -n "$NOGO" ] && echo "(no Go column: $NOGO)"
[ -n "$NOCL" ] && echo "(no chanlab column: $NOCL)"
awk -F'\t' -v nogo="$NOGO" -v nocl="$NOCL" -v nopre="$HAVE_NOPREEMPT" '
function num(v) { return v ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ }
function fmt(v) {
	if (v >= 1000 || v <= -1000) return sprintf("%.0f", v)
	if (v >= 10 || v <= -10) return sprintf("%.1f", v)
	return sprintf("%.3f", v)
}
# median of the numeric values of side s, figure f; "" when none
function median(s, f,    n, i, j, t, a) {
	n = 0
	for (i = 1; i <= cnt[s, f]; i++) if (num(val[s, f, i])) a[++n] = val[s, f, i] + 0
	if (n == 0) return ""
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
# the cell of side s, figure f: median and unit, or the word it printed
function cell(s, f,    m, i, bad, w) {
	if (cnt[s, f] == 0) return "-"
	m = median(s, f)
	bad = 0; w = ""
	for (i = 1; i <= cnt[s, f]; i++) if (!num(val[s, f, i])) { bad++; w = val[s, f, i] " " unitof[s, f, i] }
	if (m == "") return w
	return fmt(m) " " unit[s, f] (bad ? sprintf(" (%d/%d failed)", bad, cnt[s, f]) : "")
}
{
	s = $1; f = $2
	if (!((f) in seen)) { seen[f] = 1; order[++nf] = f }
	k = ++cnt[s, f]; val[s, f, k] = $3; unitof[s, f, k] = $4
	if (num($3)) unit[s, f] = $4
	all[s, f] = all[s, f] (k > 1 ? " " : "") $3
}
END {
	line = "+----------------------+--------------------------+--------------------------+--------+"
	print line
	printf "| %-20s | %-24s | %-24s | %-6s |\n", "workload", "chanlab (median)", "Go (median)", "ratio"
	print line
	for (i = 1; i <= nf; i++) {
		f = order[i]
		c = nocl != "" ? "no chanlab" : cell("chanlab", f)
		g = nogo != "" ? "no Go" : cell("go", f)
		mc = median("chanlab", f); mg = median("go", f); r = "-"
		if (mc != "" && mg != "" && mc > 0 && mg > 0) {
			u = unit["go", f]
			hib = (u == "" || u ~ /\/s$/)
			r = sprintf("%.2f", hib ? mg / mc : mc / mg)
		}
		printf "| %-20s | %-24s | %-24s | %6s |\n", f, c, g, r
		if (f == "tight_loop") {
			mn = median("nopreempt", f)
			if (nocl != "") p = "-"
			else if (nopre == "") p = "n/a (no CHANLAB_PREEMPT)"
			else if (mc != "" && mn != "" && mn > 0) p = sprintf("%+.1f %%", (mc - mn) / mn * 100)
			else p = "failed"
			printf "| %-20s | %-24s | %-24s | %6s |\n", "preempt_cost", p, "-", "-"
		}
	}
	print line
	print ""
	print "all runs (in order):"
	for (i = 1; i <= nf; i++) {
		f = order[i]
		split("chanlab nopreempt go stocklua", sides, " ")
		for (j = 1; j <= 4; j++) if (cnt[sides[j], f]) printf "  %-20s %-9s %s\n", f, sides[j], all[sides[j], f]
	}
	ml = median("stocklua", "tight_loop"); mc = median("chanlab", "tight_loop"); mn = median("nopreempt", "tight_loop")
	if (ml != "") {
		printf "tight_loop in a stock lua5.4 (no hook, no runtime): %s ns/iter", fmt(ml)
		if (mc != "") printf "; chanlab: %+.1f %%", (mc - ml) / ml * 100
		if (mn != "") printf "; chanlab with CHANLAB_PREEMPT=0: %+.1f %%", (mn - ml) / ml * 100
		print ""
	}
}' "$RES"
echo
echo "== deterministic runs and explore (scripts/bench/schedules.sh) =="
BUILD=$BUILD sh "$BENCH/schedules.sh"
if [ -s "$NOTES" ]; then
	echo
	echo "notes:"
	sed 's/^/  /' "$NOTES"
fi
echo "total: $(elapsed)s"
exit 0
