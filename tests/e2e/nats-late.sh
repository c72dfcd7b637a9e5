#!/usr/bin/env bash
# The pool starts before NATS: it serves at once (503 for orders, health
# says why), and once NATS appears it creates the stream and takes orders,
# without a restart.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "NATS comes up after the pool"

BB_NATS_PORT=$(bb_jsutil port)
BB_NATS_URL=nats://127.0.0.1:$BB_NATS_PORT
bb_start_pool "$T_DIR/paddock.sock" 2 -c "$BB_SRCDIR/conf/paddock.conf"
bb_start_lighttpd "$(bb_jsutil port)"
check "start-up says NATS is not reachable yet" grep -q 'is not reachable yet; retrying in the background' "$T_DIR/pool.log"

t_post "$SEED_BODY"
expect "an order before NATS exists gets 503" "$T_STATUS" 503
t_req GET /healthz
expect "/healthz is 503" "$T_STATUS" 503
t_req GET /health/live
expect "/health/live is 200: the process serves" "$T_STATUS" 200

bb_start_nats "$BB_NATS_PORT"
start=$(date +%s%N)
until t_post "$SEED_BODY"; [ "$T_STATUS" = 200 ]; do
	[ $(($(date +%s%N) - start)) -gt 10000000000 ] && break
	sleep 0.1
done
expect "orders succeed once NATS is up ($((($(date +%s%N) - start) / 1000000)) ms)" "$T_STATUS" 200
expect "the stream was created then" "$(bb_jsutil -s "$BB_NATS_URL" info ORDERS | cut -d' ' -f1,2)" "storage=file dup_s=120"
expect "and holds only the order that got 200" "$(t_count)" 1
# Each responder process connects on its own: wait until both say ready.
for ((i = 0; i < 100; i++)); do
	t_req GET /health/ready
	[ "$T_STATUS" = 200 ] && t_req GET /health/ready && [ "$T_STATUS" = 200 ] && break
	sleep 0.1
done
expect "/health/ready is 200" "$T_STATUS" 200
