#!/usr/bin/env bash
# A resume of thousands of events from the ring goes at the client's pace
# instead of cutting the client off as slow: with relay.max_buffer at
# 64 KiB, 4,000 missed events of 2 KiB (8 MiB, more than the kernel's
# socket buffers take at once) reach a resuming client, every one in order,
# then the live ones, and nobody is cut off; so do they a client reading at
# 4 MB/s, and the last 3,000 a client given replay_last. Orders stored
# while a client catches up come in their turn, a filtered client resumes
# across the events it does not want, and a client that stops reading
# while it catches up is cut off as slow once the ring moves on past it.
# A resume older than the ring, from JetStream, is paced too, and a client
# that stops reading while its replay is paused is cut off.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "SSE catch-up from the ring at the client's pace"
export PADDOCK_RELAY_MAX_BUFFER=65536
export PADDOCK_RELAY_RING=4096
export PADDOCK_RELAY_REPLAY_LAST=3000
t_stack

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

# A filter: only the two orders of "tubias"; the bulk events are "bulk"'s.
check "stream f, username=tubias, resumes from 0" \
	sse_open f "$BB_RELAY_URL/v1/order/sse?username=tubias" -H 'Last-Event-ID: 0'
check "it gets the orders of tubias" sse_wait f "^id: $((n + 2))\$" 30
expect "and nothing else" "$(sse_ids f)" "$((n + 1)) $((n + 2))"

# Orders stored while a client reading about 1.5 MB/s (32 KiB at a time,
# then a pause) is still catching up (8 MiB: some 5 s) come after the
# backlog, each once. (curl's --limit-rate reads ahead of its rate.)
exec 8<>"/dev/tcp/127.0.0.1/$BB_RELAY_PORT"
printf 'GET /v1/order/sse HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 0\r\n\r\n' >&8
(while dd bs=32768 count=1 status=none; do sleep 0.02; done <&8 >"$T_DIR/d.sse") &
reader=$!
bb_track "$reader" slow-reader
exec 8<&-
t_orders 3
had=$(sse_ids d | wc -w)
check "three orders are stored while it catches up (it had $had events)" test "$had" -lt "$n"
check "the slow reader gets them after the backlog" sse_wait d "^id: $((n + 5))\$" 60
check "the slow reader: 1 to $((n + 5)), each once, in order" in_order d 1 $((n + 5))
check "stream f got the three live too" sse_wait f "^id: $((n + 5))\$" 10
expect "still nobody cut off, no replay" \
	"$(relay_metric sse_relay_slow_disconnects_total) $(relay_metric sse_relay_replays)" "0 0"
kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null
bb_untrack "$reader"
sse_close f

# A resume older than the ring comes from JetStream, paced the same way
# (the replay stops when the queue is full and starts again after the
# last event sent): a relay with a ring of 64, two streams from 0, one
# reading at full speed, one at about 1.5 MB/s.
first_relay=$BB_RELAY_PID
PADDOCK_RELAY_RING=64 PADDOCK_RELAY_HEARTBEAT_S=1 PADDOCK_LOG_LEVEL=debug \
	PADDOCK_LOG_FILE=$T_DIR/relay3.log \
	bb_start_relay "$(bb_jsutil port)" -c "$BB_SRCDIR/conf/paddock.conf"
relay3=$BB_RELAY_PID
check "a relay with a ring of 64 is on NATS" wait_metric sse_relay_nats_connected 1
check "stream g resumes from 0 on it" \
	sse_open g "$BB_RELAY_URL/v1/order/sse" -H 'Last-Event-ID: 0'
exec 8<>"/dev/tcp/127.0.0.1/$BB_RELAY_PORT"
printf 'GET /v1/order/sse HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 0\r\n\r\n' >&8
(while dd bs=32768 count=1 status=none; do sleep 0.02; done <&8 >"$T_DIR/h.sse") &
reader=$!
bb_track "$reader" slow-reader-h
exec 8<&-
check "stream g gets every event" sse_wait g "^id: $((n + 5))\$" 60
check "stream g: 1 to $((n + 5)), each once, in order" in_order g 1 $((n + 5))
check "the slow reader gets every event" sse_wait h "^id: $((n + 5))\$" 60
check "the slow reader: 1 to $((n + 5)), each once, in order" in_order h 1 $((n + 5))
expect "both from JetStream" "$(relay_metric sse_relay_resumes_jetstream_total)" 2
check "no replay is left running" wait_metric sse_relay_replays 0
expect "nobody was cut off" "$(relay_metric sse_relay_slow_disconnects_total)" 0
pauses=$(grep -c 'replay [0-9]* paused after event' "$T_DIR/relay3.log")
check "replays paused, a bounded number of times ($pauses)" test "$pauses" -ge 1 -a "$pauses" -le 64
check "and started again after the last event sent" \
	grep -q 'replay [0-9]* from event [0-9]' "$T_DIR/relay3.log"
kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null
bb_untrack "$reader"
sse_close g
# One that stops reading while its replay is paused is cut off once its
# queue has not drained for four heartbeats (of 1 s on this relay).
exec 9<>"/dev/tcp/127.0.0.1/$BB_RELAY_PORT"
printf 'GET /v1/order/sse HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 0\r\n\r\n' >&9
check "a client that stops reading mid-replay is cut off as slow" \
	wait_metric sse_relay_slow_disconnects_total 1
check "logged so" grep -q 'level=warn .*cut off after event [0-9]*: stopped reading while its replay was paused' \
	"$T_DIR/relay3.log"
exec 9<&-
kill -TERM "$relay3"
wait "$relay3"
bb_untrack "$relay3"
BB_RELAY_PID=$first_relay

# A relay with a ring of 256 and a max_buffer of 1 MiB (the first is
# stopped, to spare memory): a client resumes 16 MiB back (255 events of
# 64 KiB; the kernel takes a few MiB), stops reading, and 300 more events
# move the ring on past it: it is cut off as slow within a tick.
kill -TERM "$BB_RELAY_PID"
wait "$BB_RELAY_PID"
bb_untrack "$BB_RELAY_PID"
check "256 events of 64 KiB are published" bb_jsutil -s "$BB_NATS_URL" pub orders.big 256 65536
last=$((n + 5 + 256))
PADDOCK_RELAY_RING=256 PADDOCK_RELAY_MAX_BUFFER=1048576 PADDOCK_LOG_FILE=$T_DIR/relay2.log \
	bb_start_relay "$(bb_jsutil port)" -c "$BB_SRCDIR/conf/paddock.conf"
# Its ring is back-filled once a resume from the end comes from it (until
# then, resumes are JetStream's, and not paced).
ring_filled() {
	local i
	for ((i = 0; i < 100; i++)); do
		curl -sS -N --max-time 0.3 -H "Last-Event-ID: $last" \
			"$BB_RELAY_URL/v1/order/sse" >/dev/null 2>&1
		[ "$(relay_metric sse_relay_resumes_ring_total)" = 1 ] && return 0
		sleep 0.1
	done
	return 1
}
check "the second relay has them in its ring" ring_filled
exec 7<>"/dev/tcp/127.0.0.1/$BB_RELAY_PORT"
printf 'GET /v1/order/sse HTTP/1.1\r\nHost: x\r\nLast-Event-ID: %d\r\n\r\n' $((last - 255)) >&7
check "the stalled client is counted" wait_metric sse_relay_clients 2
check "and catches up from the ring" wait_metric sse_relay_resumes_ring_total 2
check "300 more events are published" bb_jsutil -s "$BB_NATS_URL" pub orders.big 300 65536
check "the stalled client is cut off as slow" wait_metric sse_relay_slow_disconnects_total 1
check "logged as left behind by the ring" \
	grep -q 'level=warn .*cut off after event [0-9]*: stopped reading while it caught up' "$T_DIR/relay2.log"
timeout 20 cat <&7 >/dev/null
expect "the relay closed its connection (EOF)" "$?" 0
exec 7<&-
