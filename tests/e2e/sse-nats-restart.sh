#!/usr/bin/env bash
# NATS restarted mid-stream: the stream stays open on heartbeats through
# the outage, /healthz says 503, and once NATS is back (same port, same
# store) the events continue with consecutive ids: no gap, no duplicate.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "SSE across a NATS restart"
export PADDOCK_RELAY_HEARTBEAT_S=1
t_stack

relay_status() { curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$BB_RELAY_URL/healthz"; }

# until_status CODE SECONDS: until the relay's /healthz answers CODE.
until_status() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[ "$(relay_status)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# until_pings NAME N SECONDS: until the stream NAME has had N heartbeats.
until_pings() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(grep -c '^: ping$' "$T_DIR/$1.sse")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

check "a stream connects" sse_open s "$BB_RELAY_URL/v1/order/sse"
check "a stream connects through lighttpd" sse_open front "$BB_URL/v1/order/sse"
t_orders 2
check "the stream receives orders 1 and 2" sse_wait s '^id: 2$' 10
check "so does the one through lighttpd" sse_wait front '^id: 2$' 10

bb_stop_nats
check "the relay's /healthz turns 503 while NATS is down" until_status 503 10
pings=$(grep -c '^: ping$' "$T_DIR/s.sse")
fpings=$(grep -c '^: ping$' "$T_DIR/front.sse")
check "heartbeats keep coming during the outage (two more after $pings)" \
	until_pings s $((pings + 2)) 10
check "through lighttpd too" until_pings front $((fpings + 2)) 10
check "the stream is still connected" kill -0 "${SSE_PID[s]}"
check "so is the one through lighttpd" kill -0 "${SSE_PID[front]}"
expect "/healthz is still 503" "$(relay_status)" 503

# post_ok: post an order until one is taken (20 s): each responder of the
# pool reconnects on its own, and one still reconnecting answers 503
# (nothing stored).
post_ok() {
	local start=$SECONDS
	until t_post "$SEED_BODY"; [ "$T_STATUS" = 200 ]; do
		[ $((SECONDS - start)) -gt 20 ] && return 1
		sleep 0.2
	done
}

bb_start_nats "$BB_NATS_PORT"
check "the front door takes orders again (order 3)" post_ok
check "the relay's /healthz is 200 again" until_status 200 20
check "order 4 is taken" post_ok
check "order 5 is taken" post_ok
check "the stream receives the orders after the restart" sse_wait s '^id: 5$' 20
check "so does the one through lighttpd" sse_wait front '^id: 5$' 20
check "order 6 is taken" post_ok
check "and the next live one" sse_wait s '^id: 6$' 10
check "there too" sse_wait front '^id: 6$' 10
expect "ids 1 to 6, consecutive, each once" "$(sse_ids s)" "1 2 3 4 5 6"
expect "the same through lighttpd" "$(sse_ids front)" "1 2 3 4 5 6"
expect "JetStream holds those six" "$(t_count)" 6
