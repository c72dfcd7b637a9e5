#!/usr/bin/env bash
# order-callgrind.sh: how many instructions does the responder itself spend
# on an order, and where? It starts the stack as order-bench.sh does, with
# the one responder under valgrind's callgrind, warms it up, then counts
# (callgrind_control -z, then -d) over a run of GET /health/live and a run
# of POST /v1/order at C connections, and prints the user-space
# instructions per request of every thread of the responder, with the
# functions that take most of them.
#
# A count of instructions does not depend on how busy the host is, which
# a rate on this shared 2-core machine does (README "Performance": the
# speed drifts by a fifth within minutes). It leaves out what the kernel
# does for the responder (its system calls, the sleeps and wake-ups),
# which is most of its time per order; order-bench.sh measures that.
#
#   tests/bench/order-callgrind.sh [-d SECONDS] [-c CONNECTIONS] [-n TOP]
#
#   -d   length of each counted run (10 s; under callgrind the responder
#        takes a few thousand requests a second)
#   -c   wrk connections (8), one wrk thread
#   -n   functions listed per run (12), by inclusive and by own count
#
# Environment: ORDER_CALLGRIND_KEEP=1 keeps the run directory, with the
# callgrind dumps (callgrind.out.PID.1 for the ceiling run, .2 for orders)
# for callgrind_annotate. BB_BUILDDIR is the build tree (build/default).
# Every process it starts is stopped by PID from the EXIT trap.

set -uo pipefail
BB_SRCDIR=${BB_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BB_BUILDDIR=${BB_BUILDDIR:-$BB_SRCDIR/build/default}
BB_LIB=1 . "$BB_SRCDIR/boxbox"
BENCH=order-callgrind BENCH_KEEP=${ORDER_CALLGRIND_KEEP:-}
. "$BB_SRCDIR/tests/bench/bench-lib.sh"

DURATION=10
CONNS=8
TOP=12
WARMUP_S=3
CONF=$BB_SRCDIR/conf/paddock.conf
LUA=$BB_SRCDIR/tests/bench/order-wrk.lua

usage() {
	echo "usage: order-callgrind.sh [-d SECONDS] [-c CONNECTIONS] [-n TOP]" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	-d) DURATION=$2 ;;
	-c) CONNS=$2 ;;
	-n) TOP=$2 ;;
	*) usage ;;
	esac
	shift 2
done
for v in "$DURATION" "$CONNS" "$TOP"; do is_count "$v" || usage; done
for c in wrk valgrind callgrind_control callgrind_annotate; do
	command -v "$c" >/dev/null || die "$c is not installed"
done

# wrk_run OUT SECONDS PATH [get]: wrk with order-wrk.lua, tracked by PID
# so that the EXIT trap stops it; dies unless every request was 2xx.
wrk_run() {
	local out=$1 secs=$2 path=$3 mode=${4:-} pid e
	wrk -t1 -c"$CONNS" -d"${secs}s" -s "$LUA" "$BB_URL$path" ${mode:+-- "$mode"} \
		>"$out" 2>&1 &
	pid=$!
	bb_track "$pid" wrk
	wait "$pid"
	grep -q '^wrk-result ' "$out" || die "wrk failed: $(tail -3 "$out")"
	for e in non2xx connect read write timeout; do
		[ "$(field "$out" "$e")" = 0 ] || die "wrk: $e errors ($out)"
	done
	[ "$(field "$out" requests)" -gt 0 ] || die "wrk made no request ($out)"
}

# count PID PATH NAME: zero the counters, run wrk on PATH, dump, report.
count() {
	local pid=$1 path=$2 name=$3 out n dump before
	out=$DIR/wrk.$name.out
	callgrind_control -z "$pid" >/dev/null 2>&1 || die "callgrind_control -z failed"
	before=$(ls "$DIR"/callgrind.out.* 2>/dev/null | wc -l)
	if [ "$name" = orders ]; then
		wrk_run "$out" "$DURATION" "$path"
	else
		wrk_run "$out" "$DURATION" "$path" get
	fi
	callgrind_control -d "$pid" >/dev/null 2>&1 || die "callgrind_control -d failed"
	n=$(field "$out" requests)
	for _ in $(seq 50); do
		[ "$(ls "$DIR"/callgrind.out.* | wc -l)" -gt "$before" ] && break
		sleep 0.1
	done
	dump=$(ls -t "$DIR"/callgrind.out.* | head -1)
	report "$dump" "$n" "$name" "$path"
}

# report DUMP N NAME PATH: the totals and the top functions, per request.
report() {
	local dump=$1 n=$2 name=$3 path=$4 total
	total=$(awk '/^(summary|totals):/ { t = $2 } END { print t + 0 }' "$dump")
	printf '  %-8s %s: %d requests, %d instructions per request\n' \
		"$name" "$path" "$n" $((total / n))
	printf '    most, counting what they call (per request):\n'
	top "$dump" "$n" yes
	printf '    most, by their own instructions (per request):\n'
	top "$dump" "$n" no
}

# top DUMP N INCLUSIVE: TOP functions, per request, without the frames
# every call passes through (main, the loop, thread starts).
top() {
	callgrind_annotate --inclusive="$3" --threshold=100 "$1" 2>/dev/null |
		awk -v n="$2" -v top="$TOP" '
		/^ *[0-9,]+ +\([ 0-9.]+%\) +[^ ]/ && !/PROGRAM TOTALS/ {
			c = $1; gsub(",", "", c)
			f = $0; sub(/^ *[0-9,]+ +\([ 0-9.]+%\) +/, "", f); sub(/ \[.*$/, "", f)
			sub(/^.*\//, "", f)
			if (f ~ /libc-start|libc_start_call_main|below main|^main\.c:main$|^loop\.c:loop_run$|^clone\.S|^pthread_create\.c:start_thread|^\?\?\?:0x/)
				next
			if (seen[f]++)
				next
			printf "      %8d  %s\n", c / n, f
			if (++k == top) exit
		}'
}

bench_begin $((DURATION * 2 + 180))
say "run directory $DIR"
bb_start_nats "$(bb_jsutil port)" >/dev/null
BB_POOL_WRAP="$(command -v valgrind) -q --tool=callgrind --callgrind-out-file=$DIR/callgrind.out.%p" \
	bb_start_pool "$DIR/pool.sock" 1 -c "$CONF"
bb_start_lighttpd "$(bb_jsutil port)"
bench_wait_ready 60 # the responder starts slowly under valgrind
say "warm-up: $WARMUP_S s of orders"
wrk_run "$DIR/wrk.warm-up.out" "$WARMUP_S" /v1/order

echo "order-callgrind: results"
echo "  command:  $0 -d $DURATION -c $CONNS -n $TOP"
echo "  machine:  $(nproc) cores, $(uname -sr), $(valgrind --version)"
echo "  counted:  user-space instructions (callgrind Ir) of every thread of one paddock-fcgi, wrk -t1 -c$CONNS -d${DURATION}s"
count "${BB_POOL_PIDS[0]}" /health/live ceiling
count "${BB_POOL_PIDS[0]}" /v1/order orders
FINISHED=1
