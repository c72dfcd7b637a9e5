#!/usr/bin/env bash
# sse-bench.sh: can sse-relay hold 50,000 Server-Sent Event streams on one
# 2-core machine, at most 8 KiB of relay memory per idle stream, and deliver
# an event to all of them with p99 under 250 ms? It starts nats-server -js,
# R relay processes sharing one port (SO_REUSEPORT), and L sse-load
# processes, each holding at most 18,000 streams from its own source address
# (127.0.0.2, 127.0.0.3, ...), since a process may hold 20,000 descriptors
# and a source address has some 28,000 ports. Once every stream is up, it
# reads each relay's RSS and descriptors, publishes E events with sse-pub,
# and prints one block of figures with PASS/FAIL against the targets.
#
#   tests/bench/sse-bench.sh [-n STREAMS] [-r RELAYS] [-e EVENTS]
#       [-l PER_LOADER] [-R RAMP_PER_SEC] [-T TIMEOUT_S]
#
# Environment (options win): SSE_BENCH_N (50000), SSE_BENCH_RELAYS
# (ceil(N / 18000)), SSE_BENCH_EVENTS (5), SSE_BENCH_RATE (events a second,
# 1), SSE_BENCH_PER_LOADER (18000), SSE_BENCH_RAMP (connects a second over
# all loaders, 10000), SSE_BENCH_TIMEOUT (300 s, the whole run),
# SSE_BENCH_MAX_CLIENTS (given to each relay, 19000), SSE_BENCH_RELAY (the
# relay binary, $BB_BUILDDIR/relay/sse-relay), SSE_BENCH_CONF
# (conf/paddock.conf), SSE_BENCH_KEEP=1 (keep the run directory).
# BB_BUILDDIR is the build tree (default build/default in the sources); the
# tools are built there on demand.
#
# Every process it starts is stopped by PID from the EXIT trap, and its
# temporary directory removed. Exit status: 0 every target met, 1 a target
# missed or the run failed, 2 usage.

set -uo pipefail
BB_SRCDIR=${BB_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BB_BUILDDIR=${BB_BUILDDIR:-$BB_SRCDIR/build/default}
BB_LIB=1 . "$BB_SRCDIR/boxbox"
BENCH=sse-bench BENCH_KEEP=${SSE_BENCH_KEEP:-}
. "$BB_SRCDIR/tests/bench/bench-lib.sh"

# The targets, from the issue.
TARGET_STREAMS=50000
TARGET_KIB_PER_STREAM=8
TARGET_P99_MS=250

N=${SSE_BENCH_N:-50000}
RELAYS=${SSE_BENCH_RELAYS:-}
EVENTS=${SSE_BENCH_EVENTS:-5}
RATE=${SSE_BENCH_RATE:-1}
PER_LOADER=${SSE_BENCH_PER_LOADER:-18000}
RAMP=${SSE_BENCH_RAMP:-10000}
TIMEOUT=${SSE_BENCH_TIMEOUT:-300}
MAX_CLIENTS=${SSE_BENCH_MAX_CLIENTS:-19000}
CONF=${SSE_BENCH_CONF:-$BB_SRCDIR/conf/paddock.conf}
RELAY=${SSE_BENCH_RELAY:-$BB_BUILDDIR/relay/sse-relay}
TOOLS=$BB_BUILDDIR/tests/bench
COMMAND="$0 $*"

# Seconds the streams may take to come up beyond N / RAMP, and the events to
# arrive after the last publish.
ESTABLISH_SLACK=60
DELIVERY_GRACE=30

usage() {
	echo "usage: sse-bench.sh [-n STREAMS] [-r RELAYS] [-e EVENTS] [-l PER_LOADER] [-R RAMP_PER_SEC] [-T TIMEOUT_S]" >&2
	exit 2
}

parse_options() {
	local opt
	while getopts n:r:e:l:R:T: opt; do
		case $opt in
		n) N=$OPTARG ;;
		r) RELAYS=$OPTARG ;;
		e) EVENTS=$OPTARG ;;
		l) PER_LOADER=$OPTARG ;;
		R) RAMP=$OPTARG ;;
		T) TIMEOUT=$OPTARG ;;
		*) usage ;;
		esac
	done
	[ "$OPTIND" -gt "$#" ] || usage
	RELAYS=${RELAYS:-$(((N + 17999) / 18000))}
	for v in "$N" "$RELAYS" "$EVENTS" "$RATE" "$PER_LOADER" "$RAMP" "$TIMEOUT" "$MAX_CLIENTS"; do
		is_count "$v" || usage
	done
	[ "$PER_LOADER" -le 19000 ] || die "at most 19000 streams a loader (20,000 descriptors a process)"
	LOADERS=$(((N + PER_LOADER - 1) / PER_LOADER))
	[ "$LOADERS" -le 250 ] || die "$LOADERS loaders: more than the 127.0.0.2-127.0.0.251 source addresses"
}

# ---- reading processes ----------------------------------------------------

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

nfds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

relays_cpu() { pids_cpu "${RELAY_PIDS[@]}"; }

# ticks_s TICKS: in seconds.
ticks_s() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'; }

# ---- the stack ---------------------------------------------------------------

build_tools() {
	make -s -C "$BB_BUILDDIR" tests/jsutil tests/thp-off tests/bench/sse-load tests/bench/sse-pub >&2 ||
		die "could not build the tools in $BB_BUILDDIR"
	if [ -z "${SSE_BENCH_RELAY:-}" ] && [ ! -x "$RELAY" ]; then
		make -s -C "$BB_BUILDDIR" relay/sse-relay >&2 || true
	fi
	[ -x "$RELAY" ] || die "no relay at $RELAY (build it, or set SSE_BENCH_RELAY)"
}

start_nats() {
	bb_start_nats "$(bb_jsutil port)"
	# The stream as the relay would create it, on file storage.
	bb_jsutil -s "$BB_NATS_URL" mkstream ORDERS 'orders.>' file 120 ||
		die "could not create the ORDERS stream"
}

# relay_ready: every relay listens on the port and /healthz answers 200 a
# few times in a row (SO_REUSEPORT spreads the probes over the relays).
relay_ready() {
	local pid i
	for pid in "${RELAY_PIDS[@]}"; do
		bb_alive "$pid" || die "relay $pid exited at start"
		ss -Hltnp "sport = :$RELAY_PORT" 2>/dev/null | grep "pid=$pid," >/dev/null || return 1
	done
	for ((i = 0; i < 3 * RELAYS; i++)); do
		curl -fsS --max-time 1 -o /dev/null "http://127.0.0.1:$RELAY_PORT/healthz" 2>/dev/null || return 1
	done
}

start_relays() {
	local i pid
	RELAY_PORT=$(bb_jsutil port)
	RELAY_CMD="PADDOCK_NATS_URL=$BB_NATS_URL PADDOCK_RELAY_MAX_CLIENTS=$MAX_CLIENTS $RELAY -c $CONF -b 127.0.0.1:$RELAY_PORT"
	RELAY_PIDS=()
	for ((i = 0; i < RELAYS; i++)); do
		PADDOCK_NATS_URL=$BB_NATS_URL PADDOCK_RELAY_MAX_CLIENTS=$MAX_CLIENTS \
			PADDOCK_LOG_FILE=$DIR/relay.$i.log \
			"$RELAY" -c "$CONF" -b "127.0.0.1:$RELAY_PORT" >"$DIR/relay.$i.out" 2>&1 &
		pid=$!
		RELAY_PIDS+=("$pid")
		bb_track "$pid" sse-relay
	done
	for ((i = 0; i < 300; i++)); do
		relay_ready && return 0
		sleep 0.1
	done
	die "the relays did not answer /healthz on port $RELAY_PORT within 30 s"
}

# ---- the loaders ---------------------------------------------------------------

start_loaders() {
	local i n src ramp base=$((N / LOADERS)) extra=$((N % LOADERS)) pid cmd
	# Long enough for the whole run; they are told to stop once every
	# stream has every event.
	LOAD_SECONDS=$((N / RAMP + ESTABLISH_SLACK + 5 + EVENTS / RATE + DELIVERY_GRACE + 30))
	ramp=$((RAMP / LOADERS))
	[ "$ramp" -ge 1 ] || ramp=1
	LOADER_PIDS=()
	for ((i = 0; i < LOADERS; i++)); do
		n=$((base + (i < extra ? 1 : 0)))
		src=127.0.0.$((2 + i))
		cmd=("$TOOLS/sse-load" -a "127.0.0.1:$RELAY_PORT" -n "$n" -s "$src" \
			-t "$LOAD_SECONDS" -r "$ramp" -e "$EVENTS" -l "$DELIVERY_GRACE" \
			-o "$DIR/samples.$i")
		LOAD_CMD=${cmd[*]}
		"${cmd[@]}" >"$DIR/load.$i.out" 2>"$DIR/load.$i.err" &
		pid=$!
		LOADER_PIDS+=("$pid")
		bb_track "$pid" sse-load
	done
	LOADER_SPREAD="$LOADERS loader(s) of <= $((base + (extra > 0 ? 1 : 0))) streams from 127.0.0.2-127.0.0.$((1 + LOADERS)), $ramp connects/s each"
}

# loaders_progress: LP_OK and LP_FAILED summed over the loaders' last
# progress lines (one a second on their stderr).
loaders_progress() {
	local i line ok failed
	LP_OK=0
	LP_FAILED=0
	for ((i = 0; i < LOADERS; i++)); do
		line=$(tail -n 1 "$DIR/load.$i.err" 2>/dev/null)
		ok=$(sed -n 's/.* ok=\([0-9]*\) .*/\1/p' <<<"$line")
		failed=$(sed -n 's/.* failed=\([0-9]*\) .*/\1/p' <<<"$line")
		LP_OK=$((LP_OK + ${ok:-0}))
		LP_FAILED=$((LP_FAILED + ${failed:-0}))
	done
}

wait_established() {
	local deadline=$((SECONDS + N / RAMP + ESTABLISH_SLACK)) next=0 pid
	while [ "$SECONDS" -lt "$deadline" ]; do
		loaders_progress
		[ $((LP_OK + LP_FAILED)) -ge "$N" ] && return 0
		for pid in "${LOADER_PIDS[@]}"; do
			bb_alive "$pid" || die "loader $pid exited while connecting"
		done
		if [ "$SECONDS" -ge "$next" ]; then
			say "streams: $LP_OK up, $LP_FAILED failed of $N"
			next=$((SECONDS + 5))
		fi
		sleep 0.5
	done
	say "not every stream settled within $((N / RAMP + ESTABLISH_SLACK)) s: measuring what is up"
}

# wait_loaders SECONDS: wait until every loader has every event (it then
# holds its streams, -l), read the relays' CPU and RSS before the streams
# close, then tell the loaders to stop (they report as they go) and reap
# them.
wait_loaders() {
	local deadline=$((SECONDS + $1)) i pid left
	while [ "$SECONDS" -lt "$deadline" ]; do
		left=0
		for ((i = 0; i < LOADERS; i++)); do
			pid=${LOADER_PIDS[$i]}
			bb_alive "$pid" && ! grep -q 'phase=complete' "$DIR/load.$i.err" &&
				left=$((left + 1))
		done
		[ "$left" = 0 ] && break
		sleep 0.1
	done
	CPU_AFTER=$(relays_cpu)
	RSS_AFTER=()
	for pid in "${RELAY_PIDS[@]}"; do RSS_AFTER+=("$(rss_kib "$pid")"); done
	for pid in "${LOADER_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${LOADER_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
}

# ---- figures -------------------------------------------------------------------

# sum_field NAME: NAME=<n> summed over the loaders' summary lines.
sum_field() {
	cat "$DIR"/load.*.out 2>/dev/null |
		sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" | awk '{ s += $1 } END { print s + 0 }'
}

# latency: "COUNT P50_MS P99_MS MAX_MS", nearest rank over every sample.
latency() {
	cat "$DIR"/samples.* 2>/dev/null | LC_ALL=C sort -n |
		awk '{ v[NR] = $1 }
		END {
			if (NR == 0) { print "0 - - -"; exit }
			r50 = int((NR * 50 + 99) / 100); r99 = int((NR * 99 + 99) / 100)
			printf "%d %.1f %.1f %.1f\n", NR, v[r50] / 1000, v[r99] / 1000, v[NR] / 1000
		}'
}

measure_idle() {
	local pid
	RSS_IDLE=()
	FDS_IDLE=()
	for pid in "${RELAY_PIDS[@]}"; do
		RSS_IDLE+=("$(rss_kib "$pid")")
		FDS_IDLE+=("$(nfds "$pid")")
	done
}

measure_loaded() {
	local i pid streams
	RSS_LOADED=()
	RELAY_STREAMS=()
	for ((i = 0; i < RELAYS; i++)); do
		pid=${RELAY_PIDS[$i]}
		RSS_LOADED+=("$(rss_kib "$pid")")
		streams=$(($(nfds "$pid") - FDS_IDLE[i]))
		[ "$streams" -ge 0 ] || streams=0
		RELAY_STREAMS+=("$streams")
	done
}

report() {
	local i per total_d=0 total_s=0 overall=- per_relay="" ok failed events expected
	local count p50 p99 max cpu_s load_s
	ok=$(sum_field ok)
	failed=$(sum_field failed)
	events=$(sum_field events)
	expected=$((N * EVENTS))
	read -r count p50 p99 max <<<"$(latency)"
	for ((i = 0; i < RELAYS; i++)); do
		per=-
		if [ "${RELAY_STREAMS[$i]}" -gt 0 ]; then
			per=$(awk -v d=$((RSS_LOADED[i] - RSS_IDLE[i])) -v s="${RELAY_STREAMS[$i]}" 'BEGIN { printf "%.2f", d / s }')
		fi
		per_relay+=" #$((i + 1)): ${RSS_IDLE[$i]} -> ${RSS_LOADED[$i]} KiB, ${RELAY_STREAMS[$i]} streams, $per KiB/stream;"
		total_d=$((total_d + RSS_LOADED[i] - RSS_IDLE[i]))
		total_s=$((total_s + RELAY_STREAMS[i]))
	done
	[ "$total_s" -gt 0 ] && overall=$(awk -v d="$total_d" -v s="$total_s" 'BEGIN { printf "%.2f", d / s }')
	cpu_s=$(ticks_s $((CPU_AFTER - CPU_BEFORE)))
	# The loaders report their total CPU as they exit.
	load_s=$(awk -v ms="$(sum_field cpu_ms)" -v t="$LOAD_CPU_BEFORE" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.2f", ms / 1000 - t / hz }')
	VERDICT=PASS
	cat <<-EOF
		sse-bench: results
		  command:             $COMMAND
		  settings:            N=$N relays=$RELAYS events=$EVENTS rate=$RATE/s per_loader=$PER_LOADER ramp=$RAMP/s max_clients=$MAX_CLIENTS
		  relay command:       $RELAY_CMD  (x$RELAYS)
		  loader command:      $LOAD_CMD  (last of $LOADERS)
		  loaders:             $LOADER_SPREAD
		  machine:             $(nproc) cores, $(uname -sr), nofile hard $(ulimit -Hn)
		  streams held:        $ok of $N
		  streams failed:      $failed (connect $(sum_field fail_connect), 503 $(sum_field fail_503), other status $(sum_field fail_status), closed early $(sum_field fail_closed)); still connecting $(sum_field pending)
		  relay processes:     $RELAYS (alive at the end: $RELAYS_ALIVE)
		  relay streams:       ${RELAY_STREAMS[*]} (open descriptors beyond idle)
		  relay RSS:          $per_relay
		  RSS per idle stream: $overall KiB overall
		  relay RSS after:     ${RSS_AFTER[*]} KiB (the events delivered, streams still open)
		  relay CPU, ramp-up:  $(ticks_s $((CPU_LOADED - CPU_IDLE))) s
		  relay CPU, delivery: $cpu_s s (all relays, $EVENTS event(s) at $RATE/s, over $DELIVERY_S s)
		  loader CPU, delivery: $load_s s (all loaders: the client's share of the same cores)
		  publisher:           $PUB_OUT
		  events delivered:    $events of $expected (N x E)
		  latency:             p50 $p50 ms, p99 $p99 ms, max $max ms ($count samples)
		  targets:
	EOF
	pass "$([ "$ok" -ge "$TARGET_STREAMS" ] && echo 1)" "streams held: $ok >= $TARGET_STREAMS"
	pass "$([ "$overall" != - ] && awk -v v="$overall" -v t="$TARGET_KIB_PER_STREAM" 'BEGIN { exit !(v <= t) }' && echo 1)" \
		"relay memory per idle stream: $overall KiB <= $TARGET_KIB_PER_STREAM KiB"
	pass "$([ "$count" -gt 0 ] && awk -v v="$p99" -v t="$TARGET_P99_MS" 'BEGIN { exit !(v < t) }' && echo 1)" \
		"latency p99: $p99 ms < $TARGET_P99_MS ms"
	pass "$([ "$events" = "$expected" ] && echo 1)" "events delivered: $events = $expected"
	pass "$([ "$RELAYS_ALIVE" = "$RELAYS" ] && echo 1)" "every relay still running: $RELAYS_ALIVE of $RELAYS"
	echo "  result: $VERDICT"
}

# ---- the run ---------------------------------------------------------------------

main() {
	local pid t0
	parse_options "$@"
	build_tools
	bench_begin "$TIMEOUT"
	say "$N streams over $RELAYS relay(s) and $LOADERS loader(s), $EVENTS event(s) at $RATE/s; run directory $DIR"
	start_nats
	start_relays
	sleep 0.5 # the /healthz probes' descriptors closed
	measure_idle
	CPU_IDLE=$(relays_cpu)
	say "relays ready on 127.0.0.1:$RELAY_PORT, idle RSS ${RSS_IDLE[*]} KiB"
	start_loaders
	wait_established
	sleep 3 # let the relays finish their writes before reading memory
	measure_loaded
	CPU_LOADED=$(relays_cpu)
	say "$LP_OK streams up ($LP_FAILED failed); relay RSS ${RSS_LOADED[*]} KiB; publishing"
	CPU_BEFORE=$(relays_cpu)
	LOAD_CPU_BEFORE=$(pids_cpu "${LOADER_PIDS[@]}")
	t0=$SECONDS
	PUB_OUT=$("$TOOLS/sse-pub" -s "$BB_NATS_URL" -r "$RATE" -n "$EVENTS" 2>&1) ||
		say "sse-pub failed: $PUB_OUT"
	wait_loaders "$DELIVERY_GRACE"
	DELIVERY_S=$((SECONDS - t0))
	RELAYS_ALIVE=0
	for pid in "${RELAY_PIDS[@]}"; do
		bb_alive "$pid" && RELAYS_ALIVE=$((RELAYS_ALIVE + 1))
	done
	report
	FINISHED=1
	[ "$VERDICT" = PASS ]
}

main "$@"
