#!/usr/bin/env bash
# order-bench.sh: how many orders a second does the intake take on this
# machine, at what latency, for how much CPU and memory, against the
# ceiling of the same stack? It starts the stack as `./boxbox up` does
# (nats-server -js with file storage in a temporary directory, the
# paddock-fcgi pool under spawn-fcgi with conf/paddock.conf, lighttpd with
# conf/lighttpd/boxbox.conf) on free ports, then runs wrk three times at C
# connections: a short warm-up of orders, GET /health/live for the ceiling,
# and POST /v1/order with valid orders (tests/bench/order-wrk.lua: the
# seed's body and varied ones) for the measurement. It prints one block of
# figures with PASS/FAIL against the targets of issue 5.
#
#   tests/bench/order-bench.sh [-d SECONDS] [-c CONNECTIONS] [-w WRK_THREADS]
#       [-p PROCS] [-s SAMPLE_S] [-P PERF_FILE] [--duration SECONDS]
#
#   -d, --duration  length of the order run (10 s); the ceiling run lasts
#                   as long, at most 10 s. A run of 60 s or more also
#                   samples the responders' RSS every SAMPLE_S seconds
#                   (-s, default duration / 10) and checks it does not
#                   grow: --duration 300 is the long mode.
#   -c, -w          wrk connections (64) and threads (2)
#   -p              responder processes, each one event loop (default:
#                   PADDOCK_POOL_PROCS, or half the CPUs as ./boxbox up)
#   -P FILE         perf record -g one responder during the order run into
#                   FILE and print its top symbols (needs perf)
#
# Environment (options win): ORDER_BENCH_CONF (conf/paddock.conf),
# ORDER_BENCH_KEEP=1 (keep the run directory), and any PADDOCK_<SECTION>_<KEY>
# setting, which reaches the responders; GOMAXPROCS and GOGC reach
# nats-server (default: the CPUs less PROCS, at least 1, and 400; see
# bb_start_nats in boxbox). BB_BUILDDIR is the build tree (default
# build/default in the sources).
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
CONNS=64
WRK_THREADS=2
PROCS=${PADDOCK_POOL_PROCS:-$(bb_pool_procs)}
SAMPLE_S=
PERF_FILE=
WARMUP_S=3
CONF=${ORDER_BENCH_CONF:-$BB_SRCDIR/conf/paddock.conf}
LUA=$BB_SRCDIR/tests/bench/order-wrk.lua
COMMAND="$0 $*"

usage() {
	echo "usage: order-bench.sh [-d|--duration SECONDS] [-c CONNECTIONS] [-w WRK_THREADS] [-p PROCS] [-s SAMPLE_S] [-P PERF_FILE]" >&2
	exit 2
}

parse_options() {
	local opt
	while [ $# -gt 0 ]; do
		opt=$1
		[ $# -ge 2 ] || usage
		case $opt in
		-d | --duration) DURATION=$2 ;;
		-c) CONNS=$2 ;;
		-w) WRK_THREADS=$2 ;;
		-p) PROCS=$2 ;;
		-s) SAMPLE_S=$2 ;;
		-P) PERF_FILE=$2 ;;
		*) usage ;;
		esac
		shift 2
	done
	for v in "$DURATION" "$CONNS" "$WRK_THREADS" "$PROCS" ${SAMPLE_S:+"$SAMPLE_S"}; do
		is_count "$v" || usage
	done
	if [ "$DURATION" -ge "$LONG_RUN_S" ]; then
		SAMPLE_S=${SAMPLE_S:-$((DURATION / 10))}
	fi
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

stream_count() { bb_jsutil -s "$BB_NATS_URL" count ORDERS 2>/dev/null || echo -1; }

# ---- the stack ----------------------------------------------------------------

start_stack() {
	make -s -C "$BB_BUILDDIR" tests/jsutil fcgi/paddock-fcgi >&2 ||
		die "could not build paddock-fcgi and jsutil in $BB_BUILDDIR"
	# nats-server's GOMAXPROCS: the CPUs this run's pool leaves. Its Go
	# runtime logs each garbage collection (gctrace, one line per cycle,
	# to nats.log), so that the report can say which fell in the order run.
	GODEBUG=${GODEBUG:+$GODEBUG,}gctrace=1 PADDOCK_POOL_PROCS=$PROCS \
		bb_start_nats "$(bb_jsutil port)"
	NATS_START=$(proc_start "$BB_NATS_PID")
	bb_start_pool "$DIR/paddock.sock" "$PROCS" -c "$CONF"
	bb_start_lighttpd "$(bb_jsutil port)"
	# The stream exists once a responder has started: wait for /health/ready.
	local i
	for ((i = 0; i < 100; i++)); do
		curl -fsS --max-time 1 -o /dev/null "$BB_URL/health/ready" 2>/dev/null && return 0
		sleep 0.1
	done
	die "the pool never became ready (stream ORDERS)"
}

# ---- wrk --------------------------------------------------------------------------

# run_wrk NAME SECONDS URL [get]: wrk in the background (so that Ctrl-C
# stops it through the PID list), its wrk-result line into $DIR/NAME.out.
run_wrk() {
	local name=$1 secs=$2 url=$3 mode=${4:-}
	WRK_CMD="wrk -t$WRK_THREADS -c$CONNS -d${secs}s --latency -s $LUA $url${mode:+ -- $mode}"
	wrk -t"$WRK_THREADS" -c"$CONNS" -d"${secs}s" --latency -s "$LUA" "$url" ${mode:+-- "$mode"} \
		>"$DIR/$name.out" 2>&1 &
	WRK_PID=$!
	bb_track "$WRK_PID" wrk
}

wait_wrk() {
	wait "$WRK_PID"
	grep '^wrk-result ' "$1" >/dev/null || die "wrk failed: $(tail -3 "$1")"
}

# field FILE NAME: NAME=<value> from FILE's wrk-result line.
field() { sed -n "s/^wrk-result .*\\b$2=\\([^ ]*\\).*/\\1/p" "$1"; }

rate() { awk -v n="$(field "$1" requests)" -v us="$(field "$1" duration_us)" 'BEGIN { printf "%.0f", n / (us / 1e6) }'; }

ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }

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

measure() {
	local perf_pid= sampler_pid=
	say "warm-up: ${WARMUP_S} s of orders"
	run_wrk warmup "$WARMUP_S" "$BB_URL/v1/order"
	wait_wrk "$DIR/warmup.out"

	say "ceiling: ${CEILING_S} s of GET /health/live"
	CEIL_CPU_BEFORE=$(cpu_snapshot)
	run_wrk ceiling "$CEILING_S" "$BB_URL/health/live" get
	wait_wrk "$DIR/ceiling.out"
	CEIL_CPU_AFTER=$(cpu_snapshot)
	CEILING_CMD=$WRK_CMD

	say "orders: ${DURATION} s of POST /v1/order"
	sleep 1 # the ceiling's connections closed
	COUNT_BEFORE=$(stream_count)
	CPU_BEFORE=$(cpu_snapshot)
	ORDERS_FROM=$(now)
	run_wrk orders "$DURATION" "$BB_URL/v1/order"
	if [ -n "$PERF_FILE" ]; then
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
	wait_wrk "$DIR/orders.out"
	ORDERS_TO=$(now)
	CPU_AFTER=$(cpu_snapshot)
	ORDERS_CMD=$WRK_CMD
	[ -z "$perf_pid" ] || wait "$perf_pid"
	[ -z "$sampler_pid" ] || wait "$sampler_pid"
	sleep 0.5 # acknowledgements of the requests wrk left in flight
	COUNT_AFTER=$(stream_count)
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

report() {
	local o=$DIR/orders.out c=$DIR/ceiling.out
	local reqs non2xx errs ok rate ceil ratio p50 p99 max stored diff hz
	local pool0 nats0 httpd0 cs0 pool1 nats1 httpd1 cs1 hwm_max=0 k growth= ceil_cpu gc
	reqs=$(field "$o" requests)
	non2xx=$(field "$o" non2xx)
	errs=$(($(field "$o" connect) + $(field "$o" read) + $(field "$o" write) + $(field "$o" timeout)))
	ok=$((reqs - non2xx))
	rate=$(rate "$o")
	ceil=$(rate "$c")
	ratio=$(awk -v a="$rate" -v b="$ceil" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')
	p50=$(ms "$(field "$o" p50_us)")
	p99=$(ms "$(field "$o" p99_us)")
	max=$(ms "$(field "$o" max_us)")
	stored=$((COUNT_AFTER - COUNT_BEFORE))
	diff=$((stored - ok))
	read -r pool0 nats0 httpd0 cs0 <<<"$CEIL_CPU_BEFORE"
	read -r pool1 nats1 httpd1 cs1 <<<"$CEIL_CPU_AFTER"
	ceil_cpu="responders $(us_per $((pool1 - pool0)) "$(field "$c" requests)") us, lighttpd $(us_per $((httpd1 - httpd0)) "$(field "$c" requests)") us; responder context switches $(per $((cs1 - cs0)) "$(field "$c" requests)")"
	read -r pool0 nats0 httpd0 cs0 <<<"$CPU_BEFORE"
	read -r pool1 nats1 httpd1 cs1 <<<"$CPU_AFTER"
	for k in "${HWM[@]}"; do [ "$k" -gt "$hwm_max" ] && hwm_max=$k; done
	hz=$(getconf CLK_TCK)
	read -r -a gc <<<"$(nats_gc "$ORDERS_FROM" "$ORDERS_TO")"
	VERDICT=PASS
	cat <<-EOF
		order-bench: results
		  command:            $COMMAND
		  machine:            $(nproc) cores, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg)
		  stack:              nats-server $(nats-server --version | awk '{ print $2 }') -js (file storage), lighttpd $(lighttpd -v | sed -n 's/^lighttpd\/\([^ ]*\).*/\1/p'), $PROCS paddock-fcgi (one event loop each; spawn-fcgi, unix socket)
		  ceiling command:    $CEILING_CMD
		  ceiling:            $ceil requests/s GET /health/live (p50 $(ms "$(field "$c" p50_us)") ms, p99 $(ms "$(field "$c" p99_us)") ms, non-2xx $(field "$c" non2xx))
		  ceiling CPU:        $ceil_cpu per request
		  orders command:     $ORDERS_CMD
		  orders:             $rate orders/s over $(awk -v us="$(field "$o" duration_us)" 'BEGIN { printf "%.1f", us / 1e6 }') s ($reqs requests, $ok 2xx)
		  latency:            p50 $p50 ms, p90 $(ms "$(field "$o" p90_us)") ms, p99 $p99 ms, max $max ms
		  errors:             non-2xx $non2xx, socket errors $errs
		  ratio:              $ratio of the ceiling (orders/s / GET /health/live requests/s)
		  stream ORDERS:      $COUNT_BEFORE -> $COUNT_AFTER messages, +$stored; 2xx $ok; difference $diff (requests wrk left in flight at stop: 0..$CONNS)
		  CPU per order:      responders $(us_per $((pool1 - pool0)) "$ok") us, nats-server $(us_per $((nats1 - nats0)) "$ok") us, lighttpd $(us_per $((httpd1 - httpd0)) "$ok") us (/proc/PID/stat utime+stime, tick $((1000 / hz)) ms)
		  context switches:   $(per $((cs1 - cs0)) "$ok") per order, all responder threads (/proc/PID/task/*/status)
		  responder peak RSS: ${HWM[*]} KiB (VmHWM per process)
		  nats-server RSS:    peak $NATS_HWM KiB (VmHWM; GOMAXPROCS=$BB_NATS_GOMAXPROCS GOGC=$BB_NATS_GOGC)
		  nats-server GC:     ${gc[0]} collections began in the order run, longest ${gc[1]} ms, ${gc[2]} ms in all (wall clock, gctrace); live heap after the last: ${gc[3]} MB
	EOF
	if [ -n "$SAMPLE_S" ]; then
		read -r -a growth <<<"$(rss_growth)"
		echo "  responder RSS over time (s: KiB per process, every $SAMPLE_S s):"
		sed 's/^/      /' "$DIR/rss.samples"
		echo "  RSS growth:         ${growth[2]} KiB at most (${growth[0]} -> ${growth[1]} KiB, from $SAMPLE_S s to the end)"
	fi
	if [ -n "$PERF_FILE" ]; then
		echo "  perf profile:       $PERF_FILE (responder ${BB_POOL_PIDS[0]}); top symbols, self:"
		perf report -i "$PERF_FILE" --no-children --sort dso,symbol --stdio 2>/dev/null |
			grep -E '^ +[0-9]' | head -25 | sed 's/^/    /'
	fi
	echo "  targets:"
	# On the unrounded figures: 20,320 of 33,967 is 0.598, and 0.60 rounded.
	pass "$(awk -v a="$rate" -v c="$ceil" -v t="$TARGET_RATIO" 'BEGIN { exit !(c > 0 && a >= c * t) }' && echo 1)" \
		"orders/s >= $TARGET_RATIO x ceiling: $rate >= $(awk -v c="$ceil" -v t="$TARGET_RATIO" 'BEGIN { printf "%.0f", c * t }') ($ratio)"
	pass "$([ "$rate" -ge "$TARGET_RATE" ] && echo 1)" "orders/s >= $TARGET_RATE: $rate"
	pass "$(awk -v v="$p99" -v t="$TARGET_P99_MS" 'BEGIN { exit !(v <= t) }' && echo 1)" \
		"p99 <= $TARGET_P99_MS ms at $CONNS connections: $p99 ms"
	pass "$([ "$non2xx" = 0 ] && [ "$errs" = 0 ] && [ "$reqs" -gt 0 ] && echo 1)" \
		"no error: non-2xx $non2xx, socket errors $errs"
	pass "$([ "$diff" -ge 0 ] && [ "$diff" -le "$CONNS" ] && echo 1)" \
		"stored = 2xx, give or take in flight: +$stored - $ok = $diff in 0..$CONNS"
	pass "$([ "$hwm_max" -le "$TARGET_RSS_KIB" ] && [ "$hwm_max" -gt 0 ] && echo 1)" \
		"responder peak RSS <= $TARGET_RSS_KIB KiB: $hwm_max KiB"
	if [ -n "$SAMPLE_S" ]; then
		pass "$([ "${growth[2]}" != - ] && [ "${growth[2]}" -le "$TARGET_GROWTH_KIB" ] && echo 1)" \
			"responder RSS does not grow: +${growth[2]} KiB <= $TARGET_GROWTH_KIB KiB"
	fi
	echo "  result: $VERDICT"
}

main() {
	parse_options "$@"
	bench_begin
	say "run directory $DIR"
	start_stack
	say "stack up: $BB_URL, $PROCS responder(s) ${BB_POOL_PIDS[*]}, nats $BB_NATS_PID, lighttpd $BB_LIGHTTPD_PID"
	measure
	report
	FINISHED=1
	[ "$VERDICT" = PASS ]
}

main "$@"
