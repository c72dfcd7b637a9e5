#!/usr/bin/env bash
# NATS stopped: orders get a fast 503 and health says so within 2 s; NATS
# back: orders succeed without restarting anything. NATS frozen: 504 after
# the acknowledgement timeout, never a hang.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "NATS outage and recovery"
export PADDOCK_NATS_ACK_TIMEOUT_MS=700
t_stack

t_post "$SEED_BODY"
expect "an order before the outage gets 200" "$T_STATUS" 200

bb_stop_nats
start=$(date +%s%N)
until t_req GET /healthz; [ "$T_STATUS" = 503 ]; do
	[ $(($(date +%s%N) - start)) -gt 2000000000 ] && break
	sleep 0.05
done
ms=$((($(date +%s%N) - start) / 1000000))
expect "/healthz turns 503 after NATS stops" "$T_STATUS" 503
check "within 2 s (took $ms ms)" test "$ms" -le 2000
expect "/healthz names the failing check" "$(t_json '[.status, .checks.nats.status]|join(",")')" "unavailable,unavailable"
check "/healthz gives the NATS error" jq -e '.checks.nats.error|length > 0' <<<"$T_BODY"
t_req GET /health/ready
expect "/health/ready is 503" "$T_STATUS" 503
t_req GET /health/live
expect "/health/live stays 200" "$T_STATUS" 200

for i in 1 2 3; do
	t_post "$SEED_BODY"
	expect "order $i during the outage gets 503" "$T_STATUS" 503
	check "fast (${T_TIME}s)" awk "BEGIN { exit !($T_TIME < 0.5) }"
done
expect "503 carries Retry-After" "$(t_header retry-after)" "1"
check "503 says nothing was stored" grep -q 'nothing was stored' <<<"$T_BODY"

bb_start_nats "$BB_NATS_PORT"
start=$(date +%s%N)
until t_post "$SEED_BODY"; [ "$T_STATUS" = 200 ]; do
	[ $(($(date +%s%N) - start)) -gt 10000000000 ] && break
	sleep 0.1
done
ms=$((($(date +%s%N) - start) / 1000000))
expect "orders succeed again once NATS is back (after $ms ms)" "$T_STATUS" 200
# Each responder process reconnects on its own (with jitter): wait for all.
for ((i = 0; i < 100; i++)); do
	t_req GET /healthz
	[ "$T_STATUS" = 200 ] && t_req GET /healthz && [ "$T_STATUS" = 200 ] && break
	sleep 0.1
done
expect "/healthz is 200 again" "$T_STATUS" 200
expect "the stream kept the first order and the new one only" "$(t_count)" 2

# A frozen server: the connection stays up but nothing is acknowledged.
kill -STOP "$BB_NATS_PID"
t_post "$SEED_BODY"
kill -CONT "$BB_NATS_PID"
expect "no acknowledgement in time gets 504" "$T_STATUS" 504
check "after the configured 0.7 s, not a hang (${T_TIME}s)" awk "BEGIN { exit !($T_TIME >= 0.6 && $T_TIME < 2.5) }"
check "504 says the outcome is unknown" grep -q 'may or may not be stored' <<<"$T_BODY"
sleep 0.5
t_post "$SEED_BODY"
expect "and the next order gets 200" "$T_STATUS" 200
