#!/usr/bin/env bash
# SIGTERM: the relay ends every stream cleanly (what is queued, then FIN)
# and exits 0 within a few seconds; the clients see a normal end of stream.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "SSE relay SIGTERM ends streams cleanly"
t_stack

check "a stream connects directly" sse_open direct "$BB_RELAY_URL/v1/order/sse"
check "a stream connects through lighttpd" sse_open front "$BB_URL/v1/order/sse"
t_orders 2
check "both receive the orders" sse_wait direct '^id: 2$' 10
check "(through lighttpd too)" sse_wait front '^id: 2$' 10

kill -TERM "$BB_RELAY_PID"
start=$(date +%s%N)
# The relay is a child of this shell: wait gives its exit status. The
# watchdog of t_begin bounds the wait.
wait "$BB_RELAY_PID"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
expect "the relay exits 0 on SIGTERM" "$rc" 0
check "within 5 s (took $ms ms)" test "$ms" -le 5000
check "and logged its clean stop" grep -q 'msg="stopped"' "$T_DIR/relay.log"

# stream_ended NAME: its curl exits on its own within 5 s, with status 0.
stream_ended() {
	local i
	for ((i = 0; i < 100; i++)); do
		bb_alive "${SSE_PID[$1]}" || break
		sleep 0.05
	done
	bb_alive "${SSE_PID[$1]}" && return 1
	wait "${SSE_PID[$1]}"
}
check "the direct stream's curl sees the end of stream and exits 0" stream_ended direct
expect "with no error" "$(cat "$T_DIR/direct.err")" ""
check "the stream through lighttpd ends too, curl exits 0" stream_ended front
expect "with no error" "$(cat "$T_DIR/front.err")" ""
expect "the direct stream got both events" "$(sse_ids direct)" "1 2"
expect "so did the one through lighttpd" "$(sse_ids front)" "1 2"
