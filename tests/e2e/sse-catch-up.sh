#!/usr/bin/env bash
# A resume of thousands of events from the ring goes at the client's pace
# instead of cutting the client off as slow: with relay.max_buffer at
# 64 KiB, 4,000 missed events of 2 KiB (8 MiB, more than the kernel's
# socket buffers take at once) reach a resuming client, every one in order,
# then the live ones, and nobody is cut off; so do they a client reading at
# 4 MB/s, and the last 3,000 a client given replay_last.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "SSE catch-up from the ring at the client's pace"
export PADDOCK_RELAY_MAX_BUFFER=65536
export PADDOCK_RELAY_RING=4096
export PADDOCK_RELAY_REPLAY_LAST=3000
t_stack

relay_metric() {
	curl -sS --max-time 5 "$BB_RELAY_URL/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}
wait_metric() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(relay_metric "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}
# in_order NAME FIRST LAST: the stream's ids are FIRST..LAST, each once.
in_order() {
	sse_ids "$1" | tr ' ' '\n' |
		awk -v f="$2" -v l="$3" '$1 != f + NR - 1 { bad = 1 } END { exit bad || NR != l - f + 1 }'
}

n=4000
check "$n events of 2 KiB are published" bb_jsutil -s "$BB_NATS_URL" pub orders.bulk "$n" 2048
check "the relay has them all" wait_metric sse_relay_last_sequence "$n"

check "stream a resumes with Last-Event-ID: 0" \
	sse_open a "$BB_RELAY_URL/v1/order/sse" -H 'Last-Event-ID: 0'
check "stream b resumes too, reading at 4 MB/s" \
	sse_open b "$BB_RELAY_URL/v1/order/sse" -H 'Last-Event-ID: 0' --limit-rate 4M
check "stream c opens without Last-Event-ID (replay_last 3000)" \
	sse_open c "$BB_RELAY_URL/v1/order/sse"
check "stream a gets event $n" sse_wait a "^id: $n\$" 60
check "stream b too" sse_wait b "^id: $n\$" 60
check "stream c too" sse_wait c "^id: $n\$" 60
t_orders 2
for s in a b c; do
	check "stream $s gets the two live orders after" sse_wait $s "^id: $((n + 2))\$" 10
done
check "stream a: 1 to $((n + 2)), each once, in order" in_order a 1 $((n + 2))
check "stream b: the same" in_order b 1 $((n + 2))
check "stream c: $((n - 2999)) to $((n + 2))" in_order c $((n - 2999)) $((n + 2))
expect "both resumes came from the ring" "$(relay_metric sse_relay_resumes_ring_total)" 2
expect "no JetStream replay was needed" "$(relay_metric sse_relay_resumes_jetstream_total)" 0
expect "nobody was cut off as slow" "$(relay_metric sse_relay_slow_disconnects_total)" 0
for s in a b c; do
	check "stream $s is still connected" kill -0 "${SSE_PID[$s]}"
	sse_close $s
done
