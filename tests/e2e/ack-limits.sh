#!/usr/bin/env bash
# nats.max_pending caps the orders a responder holds awaiting their PubAck:
# past it an order gets a fast 503 and nothing is stored, while the ones
# in hand still get their answer. A stream whose name is "error" still
# acknowledges: the PubAck's text is read as JSON, not searched for words.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "acknowledgement limits: max_pending, a stream named error"
export T_PROCS=1
export PADDOCK_NATS_MAX_PENDING=1
export PADDOCK_NATS_ACK_TIMEOUT_MS=5000
export PADDOCK_STREAM_NAME=error
t_stack
count() { bb_jsutil -s "$BB_NATS_URL" count error; }

t_post "$SEED_BODY"
expect "an order on a stream named error gets 200" "$T_STATUS" 200
expect "and is stored" "$(count)" 1

# A frozen server holds the first order's PubAck: the one slot is taken.
kill -STOP "$BB_NATS_PID"
curl -sS -o "$T_DIR/first.body" -w '%{http_code}' --max-time 20 \
	-H 'Content-Type: application/json' --data-binary "$SEED_BODY" \
	"$BB_URL/v1/order" >"$T_DIR/first.status" &
first=$!
sleep 0.5
t_post "$SEED_BODY"
expect "an order past nats.max_pending gets 503" "$T_STATUS" 503
check "at once (${T_TIME}s), not after the acknowledgement timeout" \
	awk "BEGIN { exit !($T_TIME < 1) }"
check "503 says why, and that nothing was stored" \
	grep -q 'await their acknowledgement; nothing was stored' <<<"$T_BODY"
kill -CONT "$BB_NATS_PID"
wait "$first"
expect "the order in hand gets 200 once NATS wakes" "$(cat "$T_DIR/first.status")" 200
expect "the stream holds the two answered 200, not the refused one" "$(count)" 2

t_post "$SEED_BODY"
expect "with the slot free again, the next order gets 200" "$T_STATUS" 200
expect "and is stored" "$(count)" 3
