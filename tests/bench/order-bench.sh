#!/usr/bin/env bash
# order-bench.sh: how many orders a second does the intake take on this
# machine, at what latency, for how much CPU and memory, against the
# ceiling of the same stack? It starts the stack as `./boxbox up` does
# (nats-server -js with file storage in a temporary directory, the
# paddock-fcgi pool under spawn-fcgi with conf/paddock.conf, lighttpd with
# conf/lighttpd/boxbox.conf) on free ports, then runs wrk at C
# connections: a short warm-up of orders, then ROUNDS rounds of GET
# /health/live for the ceiling followed by POST /v1/order with valid orders
# (tests/bench/order-wrk.lua: the seed's body and varied ones) for the
# measurement. It prints each round and one block of figures pooled over
# the rounds (rates over all their requests and seconds, percentiles over
# all their latencies), with PASS/FAIL against the targets of issue 5.
# With -g it also measures, in every round, a stand-in for the Go service
# Box Box replaces (tests/bench/go-original: Echo and nats.go from Debian,
# serving HTTP itself) against a nats-server of its own with the same
# settings, the two order runs taking turns at going first, and prints
# our orders/s against its.
# Latencies are wrk's, which it corrects for coordinated omission, and
# the responses' own besides (see uncorrect); the target is on wrk's.
#
#   tests/bench/order-bench.sh [-d SECONDS] [-r ROUNDS] [-c CONNECTIONS]
#       [-w WRK_THREADS] [-p PROCS] [-s SAMPLE_S] [-P PERF_FILE]
#       [--duration SECONDS] [-g]
#
#   -d, --duration  length of each order run (10 s); each ceiling run lasts
#                   as long, at most 10 s. A run of 60 s or more also
#                   samples the responders' RSS every SAMPLE_S seconds
#                   (-s, default duration / 10) and checks it does not
#                   grow: --duration 300 is the long mode, one round.
#   -r              rounds (3; 1 in the long mode). This machine's speed
#                   drifts by a fifth within minutes: ceiling and orders in
#                   turn, pooled, are compared at the same moments.
#   -c, -w          wrk connections (64) and threads (2)
#   -p              responder processes, each one event loop (default:
#                   PADDOCK_POOL_PROCS, or half the CPUs as ./boxbox up)
#   -P FILE         perf record -g one responder during the first order
#                   run into FILE and print its top symbols (needs perf)
#   -g, --go        also the Go stand-in, each round (installs golang-go
#                   and Debian's Echo 4 and nats.go if missing); an even
#                   number of rounds (4 by default), so that each goes
#                   first as often
#
# Environment (options win): ORDER_BENCH_CONF (conf/paddock.conf),
# ORDER_BENCH_KEEP=1 (keep the run directory), and any PADDOCK_<SECTION>_<KEY>
# setting, which reaches the responders; GOMAXPROCS and GOGC reach
# nats-server (default: half the CPUs, at least 1, and 400; see bb_start_nats
# in boxbox), BB_NATS_THP=on leaves it transparent huge pages (off by
# default, tests/thp-off); BB_SCHED and BB_SCHED_{POOL,HTTPD,NATS} start them
# under SCHED_BATCH (batch, the default) or the kernel's default policy
# (other; bb_sched in boxbox). BB_BUILDDIR is the build tree
# (default build/default in the sources).
#
# Every process it starts is stopped by PID from the EXIT trap (Ctrl-C
# included), and its temporary directory removed. Exit status: 0 every
# target met, 1 a target missed or the run failed, 2 usage.

set -uo pipefail
BB_SRCDIR=${BB_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BB_BUILDDIR=${BB_BUILDDIR:-$BB_SRCDIR/build/default}
BB_LIB=1 . "$BB_SRCDIR/boxbox"
BENCH=order-bench BENCH_KEEP=${ORDER_BENCH_KEEP:-}
. "$BB_SRCDIR/tests/bench/bench-lib.sh"

# The targets, from the issue.
TARGET_RATIO=0.6
TARGET_P99_MS=10
TARGET_RATE=25000
TARGET_RSS_KIB=$((16 * 1024))
TARGET_GROWTH_KIB=512 # what "no growth" tolerates: allocator noise
LONG_RUN_S=60         # from this duration on, RSS is sampled

DURATION=10
ROUNDS=
CONNS=64
WRK_THREADS=2
PROCS=${PADDOCK_POOL_PROCS:-$(bb_pool_procs)}
SAMPLE_S=
PERF_FILE=
GO=
WARMUP_S=3
CONF=${ORDER_BENCH_CONF:-$BB_SRCDIR/conf/paddock.conf}
LUA=$BB_SRCDIR/tests/bench/order-wrk.lua
COMMAND="$0 $*"

usage() {
	echo "usage: order-bench.sh [-d|--duration SECONDS] [-r ROUNDS] [-c CONNECTIONS] [-w WRK_THREADS] [-p PROCS] [-s SAMPLE_S] [-P PERF_FILE] [-g|--go]" >&2
	exit 2
}

parse_options() {
	local opt
	while [ $# -gt 0 ]; do
		opt=$1
		case $opt in
		-g | --go)
			GO=1
			shift
			continue
			;;
		esac
		[ $# -ge 2 ] || usage
		case $opt in
		-d | --duration) DURATION=$2 ;;
		-r) ROUNDS=$2 ;;
		-c) CONNS=$2 ;;
		-w) WRK_THREADS=$2 ;;
		-p) PROCS=$2 ;;
		-s) SAMPLE_S=$2 ;;
		-P) PERF_FILE=$2 ;;
		*) usage ;;
		esac
		shift 2
	done
	for v in "$DURATION" "$CONNS" "$WRK_THREADS" "$PROCS" ${SAMPLE_S:+"$SAMPLE_S"} ${ROUNDS:+"$ROUNDS"}; do
		is_count "$v" || usage
	done
	if [ "$DURATION" -ge "$LONG_RUN_S" ]; then
		SAMPLE_S=${SAMPLE_S:-$((DURATION / 10))}
		# The RSS samples follow one responder through one run.
		[ "${ROUNDS:-1}" = 1 ] || { say "a run of $LONG_RUN_S s or more has one round"; usage; }
		ROUNDS=1
	fi
	if [ -n "$GO" ]; then
		ROUNDS=${ROUNDS:-4}
		[ $((ROUNDS % 2)) = 0 ] || { say "-g takes an even number of rounds"; usage; }
	fi
	ROUNDS=${ROUNDS:-3}
	CEILING_S=$((DURATION < 10 ? DURATION : 10))
	command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
	[ -z "$PERF_FILE" ] || command -v perf >/dev/null || die "-P needs perf"
}

# ---- reading processes ------------------------------------------------------

# status_kib PID FIELD: a /proc/PID/status figure (VmRSS, VmHWM) in KiB.
status_kib() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# ctx_switches PID...: context switches of every thread of these processes.
ctx_switches() {
	local pid
	for pid in "$@"; do cat /proc/"$pid"/task/*/status 2>/dev/null; done |
		awk '/^(non)?voluntary_ctxt_switches:/ { n += $2 } END { print n + 0 }'
}

# cpu_snapshot: every process of the stack, in ticks, as "pool nats httpd",
# then the responders' context switches.
cpu_snapshot() {
	echo "$(pids_cpu "${BB_POOL_PIDS[@]}") $(cpu_ticks "$BB_NATS_PID") $(cpu_ticks "$BB_LIGHTTPD_PID") $(ctx_switches "${BB_POOL_PIDS[@]}")"
}

# per ITEMS COUNT: items per count, one decimal.
per() { awk -v a="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.1f", a / n; else print "-" }'; }

# us_per TICKS COUNT: microseconds of CPU per item.
us_per() {
	awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "-" }'
}

# proc_start PID: when PID started, in seconds since the epoch (to the
# clock tick): field 22 of /proc/PID/stat, in ticks since boot.
proc_start() {
	local s f
	s=$(cat "/proc/$1/stat") || die "no process $1"
	read -r -a f <<<"${s##*) }"
	awk -v t="${f[19]}" -v hz="$(getconf CLK_TCK)" -v boot="$(awk '$1 == "btime" { print $2 }' /proc/stat)" \
		'BEGIN { printf "%.2f", boot + t / hz }'
}

now() { date +%s.%N; }

# nats_gc FROM TO: nats-server's collections that began between FROM and
# TO (seconds since the epoch), from its gctrace lines:
#   gc 9 @21.352s 0%: 0.051+61+0.005 ms clock, ..., 198->201->58 MB, ...
# (@ is seconds since the process started; the three clock figures are
# the stop-the-world start, the concurrent mark and the stop-the-world end;
# the last MB figure is the heap left live). Prints "COUNT LONGEST_MS
# TOTAL_MS LIVE_MB", the last with "-" for none.
nats_gc() {
	awk -v from="$(awk -v a="$1" -v s="$NATS_START" 'BEGIN { print a - s }')" \
		-v to="$(awk -v a="$2" -v s="$NATS_START" 'BEGIN { print a - s }')" '
		$1 == "gc" && $3 ~ /^@/ {
			t = substr($3, 2) + 0
			if (t < from || t > to) next
			split($5, c, "+")
			ms = c[1] + c[2] + c[3]
			n++; sum += ms; if (ms > max) max = ms
			for (i = 6; i <= NF; i++) if ($i == "MB,") { split($(i - 1), h, "->"); live = h[3] }
		}
		END { if (n) printf "%d %.0f %.0f %s\n", n, max, sum, live; else print "0 0 0 -" }' "$BB_RUN/nats.log"
}

# sched_policy PID...: the scheduling policy of every thread of the PIDs
# (bb_sched_classes), "mixed (...)" or "gone".
sched_policy() {
	local cls
	cls=$(bb_sched_classes "$@")
	case $cls in
	"") echo "gone" ;;
	TS) echo SCHED_OTHER ;;
	B) echo SCHED_BATCH ;;
	*) echo "mixed ($cls)" ;;
	esac
}

# cpus_allowed PID...: the CPUs each PID may run on, as the kernel lists
# them (its main thread's Cpus_allowed_list), one list per PID.
cpus_allowed() {
	local p
	for p in "$@"; do
		awk '$1 == "Cpus_allowed_list:" { print $2 }' "/proc/$p/status" 2>/dev/null || echo gone
	done | paste -sd ' '
}

stream_count() { bb_jsutil -s "$BB_NATS_URL" count ORDERS 2>/dev/null || echo -1; }

# ---- the stack ----------------------------------------------------------------

start_stack() {
	make -s -C "$BB_BUILDDIR" tests/jsutil tests/thp-off fcgi/paddock-fcgi >&2 ||
		die "could not build paddock-fcgi and jsutil in $BB_BUILDDIR"
	# nats-server's Go runtime logs each garbage collection (gctrace, one
	# line per cycle, to nats.log), so that the report can say which fell
	# in the order runs.
	GODEBUG=${GODEBUG:+$GODEBUG,}gctrace=1 bb_start_nats "$(bb_jsutil port)"
	NATS_START=$(proc_start "$BB_NATS_PID")
	bb_start_pool "$DIR/paddock.sock" "$PROCS" -c "$CONF"
	bb_start_lighttpd "$(bb_jsutil port)"
	bench_wait_ready 10
}

# The Go stand-in's Debian packages: Echo 4 and nats.go, built in GOPATH
# mode (Debian ships no module proxy). Echo's packages import themselves
# as github.com/labstack/echo/v4, which Debian installs without the /v4:
# a link in a GOPATH of the run's own supplies it.
GO_PACKAGES=(golang-go golang-github-labstack-echo-dev golang-github-nats-io-go-nats-dev)
GO_SRC=/usr/share/gocode/src

build_go() {
	local gopath=$DIR/gopath BB_PACKAGES=("${GO_PACKAGES[@]}")
	bb_deps
	mkdir -p "$gopath/src/github.com/labstack/echo"
	ln -s "$GO_SRC/github.com/labstack/echo" "$gopath/src/github.com/labstack/echo/v4"
	(cd "$BB_SRCDIR/tests/bench/go-original" &&
		GO111MODULE=off GOPATH=$gopath:/usr/share/gocode go build -o "$DIR/go-original" main.go) ||
		die "could not build tests/bench/go-original"
}

# start_go: the stand-in on a port of its own, with its own nats-server
# started as ours is (the same GOMAXPROCS, GOGC and huge pages, so that
# the two stacks differ in what serves HTTP and publishes, not in the
# server). The stand-in itself runs with Go's defaults, huge pages off
# as for nats-server, under the pool's scheduling policy (bb_sched POOL).
# Sets GO_URL, GO_PID, GO_NATS_PID, GO_NATS_URL.
start_go() {
	local pid=$BB_NATS_PID url=$BB_NATS_URL port=$BB_NATS_PORT
	build_go
	mkdir -p "$DIR/go"
	GODEBUG=${GODEBUG:+$GODEBUG,}gctrace=1 bb_start_nats "$(bb_jsutil port)" "$DIR/go"
	GO_NATS_PID=$BB_NATS_PID GO_NATS_URL=$BB_NATS_URL
	BB_NATS_PID=$pid BB_NATS_URL=$url BB_NATS_PORT=$port
	GO_URL=http://127.0.0.1:$(bb_jsutil port)
	env -u GOMAXPROCS -u GOGC -u GODEBUG $(bb_sched POOL) "$BB_BUILDDIR/tests/thp-off" "$DIR/go-original" \
		-listen "${GO_URL#http://}" -nats "$GO_NATS_URL" -stream ORDERS -prefix orders \
		-log "$DIR/go/requests.log" >"$DIR/go/go-original.log" 2>&1 &
	GO_PID=$!
	bb_track "$GO_PID" go-original
	bb_until 100 0.1 bb_answers "$GO_URL/health/live" && return 0
	tail -8 "$DIR/go/go-original.log" >&2
	die "go-original did not answer on $GO_URL"
}

go_count() { bb_jsutil -s "$GO_NATS_URL" count ORDERS 2>/dev/null || echo -1; }

go_cpu_snapshot() { echo "$(cpu_ticks "$GO_PID") $(cpu_ticks "$GO_NATS_PID") 0 0"; }

# ---- wrk --------------------------------------------------------------------------

# run_wrk NAME SECONDS URL [get]: wrk in the background (so that Ctrl-C
# stops it through the PID list), its wrk-result line into $DIR/NAME.out
# and its latencies into $DIR/NAME.hist ("MICROSECONDS COUNT" lines).
run_wrk() {
	local name=$1 secs=$2 url=$3 mode=${4:-}
	WRK_CMD="wrk -t$WRK_THREADS -c$CONNS -d${secs}s --latency -s $LUA $url${mode:+ -- $mode}"
	ORDER_WRK_HIST=$DIR/$name.hist \
		wrk -t"$WRK_THREADS" -c"$CONNS" -d"${secs}s" --latency -s "$LUA" "$url" ${mode:+-- "$mode"} \
		>"$DIR/$name.out" 2>&1 &
	WRK_PID=$!
	bb_track "$WRK_PID" wrk
}

wait_wrk() {
	wait "$WRK_PID"
	grep '^wrk-result ' "$1" >/dev/null || die "wrk failed: $(tail -3 "$1")"
}

# sum NAME FILE...: NAME summed over the files' wrk-result lines.
sum() {
	local name=$1 f t=0
	shift
	for f in "$@"; do t=$((t + $(field "$f" "$name"))); done
	echo "$t"
}

# rate FILE...: requests a second over all of them.
rate() { awk -v n="$(sum requests "$@")" -v us="$(sum duration_us "$@")" 'BEGIN { printf "%.0f", n / (us / 1e6) }'; }

# ratio A B: A / B to three decimals, 0 when B is not positive.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }'; }

# pooled FILE.out...: "REQUESTS NON2XX SOCKET_ERRORS REQUESTS_A_SECOND"
# over these runs, each one's FILE.raw written besides (uncorrect).
pooled() {
	local f
	for f in "$@"; do uncorrect "$f"; done
	echo "$(sum requests "$@") $(sum non2xx "$@")" \
		"$(($(sum connect "$@") + $(sum read "$@") + $(sum write "$@") + $(sum timeout "$@")))" \
		"$(rate "$@")"
}

ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }

# latency FILE.hist...: "P50 P90 P99 MAX" in microseconds over all of
# their latencies, each percentile as wrk 4 takes it (the smallest value
# with at least round(p% of the count + 0.5) values at or below it).
latency() {
	cat "$@" | sort -n -k1,1 | awk '
		{ v[NR] = $1; c[NR] = $2; n += $2 }
		END {
			split("50 90 99", ps, " ")
			for (k = 1; k <= 3; k++) {
				rank = int(ps[k] / 100 * n + 0.5 + 0.5); t = 0
				for (i = 1; i <= NR; i++) { t += c[i]; if (t >= rank) break }
				printf "%d ", v[i]
			}
			print v[NR] + 0
		}'
}

# thp_of PID: "on" or "off", as /proc/PID/status says (BB_NATS_THP).
thp_of() { awk '/^THP_enabled:/ { t = $2 ? "on" : "off" } END { print t ? t : "?" }' "/proc/$1/status" 2>/dev/null; }

# uncorrect FILE.out: FILE.raw, the latencies of FILE.hist as wrk measured
# them. Before it reports, wrk 4 "corrects for coordinated omission"
# (stats_correct() in its stats.c): it takes E, the run time over the
# requests per connection, and for each latency L of 2E or more it adds
# samples L-E, L-2E, ... while above E, as if the requests a stall kept
# from being sent had waited too. One 400 ms stall of 64 connections so
# adds some 8,000 samples: wrk's percentiles describe the stalls, this
# file each response's own time. It undoes the correction from the top
# down, the samples at L being the measured ones plus those added from
# L+E, L+2E, ...; the count comes back to wrk's requests.
uncorrect() {
	local e
	e=$(awk -v c="$CONNS" '/^wrk-result / {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); a[kv[1]] = kv[2] }
		per = int(a["requests"] / c); printf "%d", (per > 0) ? int(a["duration_us"] / per) : 0 }' "$1")
	awk -v e="${e:-0}" '
		{ v[$1] = $2; if ($1 > max) max = $1 }
		END {
			for (m = max; m > e && e > 0; m--) {
				s[m] = (m + e <= max) ? raw[m + e] + s[m + e] : 0
				raw[m] = v[m] - s[m]
			}
			for (m = 1; m <= max; m++) {
				n = (e > 0 && m > e) ? raw[m] : v[m]
				if (n > 0) print m, n
			}
		}' "${1%.out}.hist" >"${1%.out}.raw"
}

# over MS FILE.raw...: how many latencies exceed MS milliseconds.
over() { cat "${@:2}" | awk -v us="$(($1 * 1000))" '$1 > us { n += $2 } END { print n + 0 }'; }

# sample_rss: while wrk runs, the responders' RSS every SAMPLE_S seconds
# into $DIR/rss.samples as "SECONDS KIB KIB ...".
sample_rss() {
	local t=0 pid line
	: >"$DIR/rss.samples"
	while bb_alive "$WRK_PID"; do
		line=$t
		for pid in "${BB_POOL_PIDS[@]}"; do line+=" $(status_kib "$pid" VmRSS)"; done
		echo "$line" >>"$DIR/rss.samples"
		sleep "$SAMPLE_S"
		t=$((t + SAMPLE_S))
	done
}

# ---- the runs -----------------------------------------------------------------------

# add_cpu VAR BEFORE AFTER: VAR ("pool nats httpd switches") += AFTER - BEFORE.
add_cpu() {
	local -a a b c
	read -r -a a <<<"${!1}"
	read -r -a b <<<"$2"
	read -r -a c <<<"$3"
	printf -v "$1" '%s %s %s %s' $((a[0] + c[0] - b[0])) $((a[1] + c[1] - b[1])) \
		$((a[2] + c[2] - b[2])) $((a[3] + c[3] - b[3]))
}

# round K: GET /health/live for the ceiling, then the orders, each adding
# its CPU to CEIL_CPU and ORDERS_CPU; the order run's start and end go to
# $DIR/windows (for nats_gc).
round() {
	local k=$1 perf_pid= sampler_pid= before from
	say "round $k of $ROUNDS: ${CEILING_S} s of GET /health/live, then ${DURATION} s of POST /v1/order"
	before=$(cpu_snapshot)
	run_wrk "ceiling.$k" "$CEILING_S" "$BB_URL/health/live" get
	wait_wrk "$DIR/ceiling.$k.out"
	add_cpu CEIL_CPU "$before" "$(cpu_snapshot)"
	CEILING_CMD=$WRK_CMD

	sleep 1 # the ceiling's connections closed
	# The two order runs take turns at going first, since the host's speed
	# drifts within a round.
	[ -z "$GO" ] || [ $((k % 2)) = 1 ] || go_round "$k"
	before=$(cpu_snapshot)
	from=$(now)
	run_wrk "orders.$k" "$DURATION" "$BB_URL/v1/order"
	if [ -n "$PERF_FILE" ] && [ "$k" = 1 ]; then
		perf record -g -o "$PERF_FILE" -p "${BB_POOL_PIDS[0]}" -- sleep "$((DURATION > 2 ? DURATION - 1 : 1))" \
			>"$DIR/perf.out" 2>&1 &
		perf_pid=$!
		bb_track "$perf_pid" perf
	fi
	if [ -n "$SAMPLE_S" ]; then
		sample_rss &
		sampler_pid=$!
		bb_track "$sampler_pid" rss-sampler
	fi
	wait_wrk "$DIR/orders.$k.out"
	echo "$from $(now)" >>"$DIR/windows"
	add_cpu ORDERS_CPU "$before" "$(cpu_snapshot)"
	ORDERS_CMD=$WRK_CMD
	[ -z "$perf_pid" ] || wait "$perf_pid"
	[ -z "$sampler_pid" ] || wait "$sampler_pid"
	sleep 0.5 # acknowledgements of the requests wrk left in flight
	[ -z "$GO" ] || [ $((k % 2)) = 0 ] || go_round "$k"
}

# go_round K: the Go stand-in's orders for as long as ours, its CPU (the
# stand-in's and its nats-server's) added to GO_CPU.
go_round() {
	local before
	before=$(go_cpu_snapshot)
	run_wrk "go.$1" "$DURATION" "$GO_URL/v1/order"
	wait_wrk "$DIR/go.$1.out"
	add_cpu GO_CPU "$before" "$(go_cpu_snapshot)"
	sleep 1
}

measure() {
	local k
	say "warm-up: ${WARMUP_S} s of orders"
	run_wrk warmup "$WARMUP_S" "$BB_URL/v1/order"
	wait_wrk "$DIR/warmup.out"
	if [ -n "$GO" ]; then
		run_wrk go.warmup "$WARMUP_S" "$GO_URL/v1/order"
		wait_wrk "$DIR/go.warmup.out"
		sleep 0.5 # acknowledgements of the requests wrk left in flight
		GO_COUNT_BEFORE=$(go_count)
	fi

	CEIL_CPU="0 0 0 0" ORDERS_CPU="0 0 0 0" GO_CPU="0 0 0 0"
	: >"$DIR/windows"
	COUNT_BEFORE=$(stream_count)
	for ((k = 1; k <= ROUNDS; k++)); do round "$k"; done
	COUNT_AFTER=$(stream_count)
	if [ -n "$GO" ]; then
		GO_COUNT_AFTER=$(go_count)
		GO_HWM=$(status_kib "$GO_PID" VmHWM)
		GO_NATS_HWM=$(status_kib "$GO_NATS_PID" VmHWM)
	fi
	HWM=()
	for pid in "${BB_POOL_PIDS[@]}"; do HWM+=("$(status_kib "$pid" VmHWM)"); done
	NATS_HWM=$(status_kib "$BB_NATS_PID" VmHWM)
}

# ---- figures --------------------------------------------------------------------------

# rss_growth: "FIRST LAST GROWTH" in KiB, the largest growth of any
# responder from the first sample after a tenth of the run to the last.
rss_growth() {
	awk -v skip="$SAMPLE_S" '
		NR == 1 { next }
		first == "" && $1 >= skip { first = NR; for (i = 2; i <= NF; i++) f[i] = $i }
		{ for (i = 2; i <= NF; i++) l[i] = $i }
		END {
			g = -1e9
			for (i in f) if (l[i] - f[i] > g) { g = l[i] - f[i]; a = f[i]; b = l[i] }
			if (first == "") print "- - -"; else print a, b, g
		}' "$DIR/rss.samples"
}

# gc_in WINDOWS...: nats_gc summed over "FROM TO" windows.
gc_in() {
	local from to n=0 longest=0 total=0 live=- g
	while read -r from to; do
		read -r -a g <<<"$(nats_gc "$from" "$to")"
		n=$((n + g[0]))
		total=$((total + g[2]))
		[ "${g[1]}" -gt "$longest" ] && longest=${g[1]}
		[ "${g[3]}" = - ] || live=${g[3]}
	done
	echo "$n $longest $total $live"
}

# One line per round, so that a round the machine slowed down shows.
report_rounds() {
	local k o c gc own
	for ((k = 1; k <= ROUNDS; k++)); do
		o=$DIR/orders.$k.out c=$DIR/ceiling.$k.out
		read -r -a gc <<<"$(sed -n "${k}p" "$DIR/windows" | gc_in)"
		read -r -a own <<<"$(latency "${o%.out}.raw")"
		printf '  round %d:            ceiling %s requests/s, orders %s/s (%s), p99 %s ms (own %s), max %s ms; nats-server GC %s, longest %s ms\n' \
			"$k" "$(rate "$c")" "$(rate "$o")" "$(ratio "$(rate "$o")" "$(rate "$c")")" \
			"$(ms "$(field "$o" p99_us)")" "$(ms "${own[2]}")" "$(ms "$(field "$o" max_us)")" "${gc[0]}" "${gc[1]}"
		[ -z "$GO" ] || printf '                      Go stand-in %s orders/s (ours %s of it; %s), p99 %s ms\n' \
			"$(rate "$DIR/go.$k.out")" \
			"$(ratio "$(rate "$o")" "$(rate "$DIR/go.$k.out")")" \
			"$([ $((k % 2)) = 1 ] && echo "ours first" || echo "it first")" "$(ms "$(field "$DIR/go.$k.out" p99_us)")"
	done
}

report() {
	local -a o c lat clat own gc
	local reqs non2xx errs ok rate ceil ratio p50 p99 max stored diff hz creqs
	local pool nats httpd cs hwm_max=0 k growth=
	for ((k = 1; k <= ROUNDS; k++)); do
		o+=("$DIR/orders.$k.out")
		c+=("$DIR/ceiling.$k.out")
	done
	read -r reqs non2xx errs rate <<<"$(pooled "${o[@]}")"
	ok=$((reqs - non2xx))
	ceil=$(rate "${c[@]}")
	creqs=$(sum requests "${c[@]}")
	ratio=$(ratio "$rate" "$ceil")
	read -r -a lat <<<"$(latency "${o[@]/%.out/.hist}")"
	read -r -a own <<<"$(latency "${o[@]/%.out/.raw}")"
	read -r -a clat <<<"$(latency "${c[@]/%.out/.hist}")"
	p50=$(ms "${lat[0]}")
	p99=$(ms "${lat[2]}")
	max=$(ms "${lat[3]}")
	stored=$((COUNT_AFTER - COUNT_BEFORE))
	diff=$((stored - ok))
	for k in "${HWM[@]}"; do [ "$k" -gt "$hwm_max" ] && hwm_max=$k; done
	hz=$(getconf CLK_TCK)
	read -r -a gc <<<"$(gc_in <"$DIR/windows")"
	VERDICT=PASS
	cat <<-EOF
		order-bench: results
		  command:            $COMMAND
		  machine:            $(nproc) cores, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg)
		  stack:              nats-server $(nats-server --version | awk '{ print $2 }') -js (file storage), lighttpd $(lighttpd -v | sed -n 's/^lighttpd\/\([^ ]*\).*/\1/p'), $PROCS paddock-fcgi (one event loop each; spawn-fcgi, unix socket)
		  scheduling:         nats-server $(sched_policy "$BB_NATS_PID"), lighttpd $(sched_policy "$BB_LIGHTTPD_PID"), responders $(sched_policy "${BB_POOL_PIDS[@]}") (every thread; BB_SCHED, BB_SCHED_<WHO> in boxbox)
		  CPUs allowed:       nats-server $(cpus_allowed "$BB_NATS_PID"), lighttpd $(cpus_allowed "$BB_LIGHTTPD_PID"), responders $(cpus_allowed "${BB_POOL_PIDS[@]}") (fcgi.cpu_affinity: PADDOCK_FCGI_CPU_AFFINITY, bb_start_pool in boxbox)
		  rounds:             $ROUNDS, each $CEILING_S s of the ceiling then $DURATION s of orders; figures below pooled over all rounds
		  ceiling command:    $CEILING_CMD
		  orders command:     $ORDERS_CMD
	EOF
	report_rounds
	read -r pool nats httpd cs <<<"$CEIL_CPU"
	cat <<-EOF
		  ceiling:            $ceil requests/s GET /health/live (p50 $(ms "${clat[0]}") ms, p99 $(ms "${clat[2]}") ms, non-2xx $(sum non2xx "${c[@]}"))
		  ceiling CPU:        responders $(us_per "$pool" "$creqs") us, lighttpd $(us_per "$httpd" "$creqs") us per request; responder context switches $(per "$cs" "$creqs") per request
		  orders:             $rate orders/s over $(awk -v us="$(sum duration_us "${o[@]}")" 'BEGIN { printf "%.1f", us / 1e6 }') s ($reqs requests, $ok 2xx)
		  latency:            p50 $p50 ms, p90 $(ms "${lat[1]}") ms, p99 $p99 ms, max $max ms (wrk's, corrected for coordinated omission)
		  responses' own:     p50 $(ms "${own[0]}") ms, p90 $(ms "${own[1]}") ms, p99 $(ms "${own[2]}") ms; over $TARGET_P99_MS ms: $(over "$TARGET_P99_MS" "${o[@]/%.out/.raw}") of $(cat "${o[@]/%.out/.raw}" | awk '{ n += $2 } END { print n + 0 }') (wrk's latencies without its correction: uncorrect)
		  errors:             non-2xx $non2xx, socket errors $errs
		  ratio:              $ratio of the ceiling (orders/s / GET /health/live requests/s)
		  stream ORDERS:      $COUNT_BEFORE -> $COUNT_AFTER messages, +$stored; 2xx $ok; difference $diff (requests wrk left in flight at each stop: 0..$((CONNS * ROUNDS)))
	EOF
	read -r pool nats httpd cs <<<"$ORDERS_CPU"
	cat <<-EOF
		  CPU per order:      responders $(us_per "$pool" "$ok") us, nats-server $(us_per "$nats" "$ok") us, lighttpd $(us_per "$httpd" "$ok") us (/proc/PID/stat utime+stime, tick $((1000 / hz)) ms)
		  context switches:   $(per "$cs" "$ok") per order, all responder threads (/proc/PID/task/*/status)
		  responder peak RSS: ${HWM[*]} KiB (VmHWM per process)
		  nats-server RSS:    peak $NATS_HWM KiB (VmHWM; GOMAXPROCS=$BB_NATS_GOMAXPROCS GOGC=$BB_NATS_GOGC; transparent huge pages $(thp_of "$BB_NATS_PID"))
		  nats-server GC:     ${gc[0]} collections began in the order runs, longest ${gc[1]} ms, ${gc[2]} ms in all (wall clock, gctrace); live heap after the last: ${gc[3]} MB
	EOF
	if [ -n "$SAMPLE_S" ]; then
		read -r -a growth <<<"$(rss_growth)"
		echo "  responder RSS over time (s: KiB per process, every $SAMPLE_S s):"
		sed 's/^/      /' "$DIR/rss.samples"
		echo "  RSS growth:         ${growth[2]} KiB at most (${growth[0]} -> ${growth[1]} KiB, from $SAMPLE_S s to the end)"
	fi
	if [ -n "$PERF_FILE" ]; then
		echo "  perf profile:       $PERF_FILE (responder ${BB_POOL_PIDS[0]}, round 1); top symbols, self:"
		perf report -i "$PERF_FILE" --no-children --sort dso,symbol --stdio 2>/dev/null |
			grep -E '^ +[0-9]' | head -25 | sed 's/^/    /'
	fi
	[ -z "$GO" ] || report_go "$ok" "$(sum duration_us "${o[@]}")"
	echo "  targets:"
	# On the unrounded figures: 20,320 of 33,967 is 0.598, and 0.60 rounded.
	pass "$(awk -v a="$rate" -v c="$ceil" -v t="$TARGET_RATIO" 'BEGIN { exit !(c > 0 && a >= c * t) }' && echo 1)" \
		"orders/s >= $TARGET_RATIO x ceiling: $rate >= $(awk -v c="$ceil" -v t="$TARGET_RATIO" 'BEGIN { printf "%.0f", c * t }') ($ratio)"
	pass "$([ "$rate" -ge "$TARGET_RATE" ] && echo 1)" "orders/s >= $TARGET_RATE: $rate"
	pass "$(awk -v v="$p99" -v t="$TARGET_P99_MS" 'BEGIN { exit !(v <= t) }' && echo 1)" \
		"p99 <= $TARGET_P99_MS ms at $CONNS connections: $p99 ms"
	pass "$([ "$non2xx" = 0 ] && [ "$errs" = 0 ] && [ "$reqs" -gt 0 ] && echo 1)" \
		"no error: non-2xx $non2xx, socket errors $errs"
	pass "$([ "$diff" -ge 0 ] && [ "$diff" -le $((CONNS * ROUNDS)) ] && echo 1)" \
		"stored = 2xx, give or take in flight: +$stored - $ok = $diff in 0..$((CONNS * ROUNDS))"
	pass "$([ "$hwm_max" -le "$TARGET_RSS_KIB" ] && [ "$hwm_max" -gt 0 ] && echo 1)" \
		"responder peak RSS <= $TARGET_RSS_KIB KiB: $hwm_max KiB"
	if [ -n "$SAMPLE_S" ]; then
		pass "$([ "${growth[2]}" != - ] && [ "${growth[2]}" -le "$TARGET_GROWTH_KIB" ] && echo 1)" \
			"responder RSS does not grow: +${growth[2]} KiB <= $TARGET_GROWTH_KIB KiB"
	fi
	echo "  result: $VERDICT"
}

# report_go OUR_2XX OUR_US: the Go stand-in's figures, pooled as ours
# are, and ours against its in 2xx a second.
report_go() {
	local -a g lat own
	local reqs non2xx errs ok rate stored go nats k vs
	for ((k = 1; k <= ROUNDS; k++)); do g+=("$DIR/go.$k.out"); done
	read -r reqs non2xx errs rate <<<"$(pooled "${g[@]}")"
	ok=$((reqs - non2xx))
	read -r -a lat <<<"$(latency "${g[@]/%.out/.hist}")"
	read -r -a own <<<"$(latency "${g[@]/%.out/.raw}")"
	stored=$((GO_COUNT_AFTER - GO_COUNT_BEFORE))
	read -r go nats _ <<<"$GO_CPU"
	# 2xx a second on both sides: ours over theirs.
	vs=$(ratio "$(awk -v n="$1" -v us="$2" 'BEGIN { print n / us }')" \
		"$(awk -v n="$ok" -v us="$(sum duration_us "${g[@]}")" 'BEGIN { print (us > 0) ? n / us : 0 }')")
	[ "$non2xx" = 0 ] && [ "$errs" = 0 ] || vs="$vs (not a fair comparison: the stand-in had errors)"
	cat <<-EOF
		  Go stand-in:        tests/bench/go-original (Echo $(deb_version golang-github-labstack-echo-dev), nats.go $(deb_version golang-github-nats-io-go-nats-dev), $(go version | awk '{ print $3 }'), Go's defaults; huge pages off; $(sched_policy "$GO_PID")) on a nats-server of its own, same settings
		  its orders:         $rate orders/s over $(awk -v us="$(sum duration_us "${g[@]}")" 'BEGIN { printf "%.1f", us / 1e6 }') s ($reqs requests, $ok 2xx); non-2xx $non2xx, socket errors $errs
		  its latency:        p50 $(ms "${lat[0]}") ms, p90 $(ms "${lat[1]}") ms, p99 $(ms "${lat[2]}") ms, max $(ms "${lat[3]}") ms (wrk's); own p99 $(ms "${own[2]}") ms
		  its stream:         $GO_COUNT_BEFORE -> $GO_COUNT_AFTER messages, +$stored; 2xx $ok; difference $((stored - ok))
		  its CPU per order:  go-original $(us_per "$go" "$ok") us, its nats-server $(us_per "$nats" "$ok") us
		  its peak RSS:       go-original $GO_HWM KiB, its nats-server $GO_NATS_HWM KiB
		  ours / Go stand-in: $vs (2xx a second, the same rounds, each going first in half of them)
	EOF
}

# deb_version PACKAGE: its installed Debian version.
deb_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }

main() {
	parse_options "$@"
	bench_begin
	say "run directory $DIR"
	start_stack
	say "stack up: $BB_URL, $PROCS responder(s) ${BB_POOL_PIDS[*]}, nats $BB_NATS_PID, lighttpd $BB_LIGHTTPD_PID"
	if [ -n "$GO" ]; then
		start_go
		say "Go stand-in up: $GO_URL, go-original $GO_PID, nats $GO_NATS_PID"
	fi
	measure
	report
	FINISHED=1
	[ "$VERDICT" = PASS ]
}

main "$@"
