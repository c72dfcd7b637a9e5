#!/usr/bin/env bash
# An accepted order is stored in JetStream exactly as specified: subject,
# Nats-Msg-Id header and the order JSON byte for byte; 200 with Location.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "orders are stored exactly as specified"
t_stack

t_post '{"size":"large","toppings":["pepperoni","mushrooms"],"destination":"Ferrari Garage #16","username":"charles_leclerc"}'
expect "a valid order gets 200" "$T_STATUS" 200
id=$(t_json .order_id)
at=$(t_json .ordered_at)
check "order_id is a UUIDv7" grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' <<<"$id"
check "ordered_at is RFC 3339 UTC with milliseconds" grep -Eq '^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]{3}Z$' <<<"$at"
expect "the answer holds exactly order_id and ordered_at" "$(t_json 'keys_unsorted|join(",")')" "order_id,ordered_at"
expect "Location names the order" "$(t_header location)" "/v1/order/$id"
expect "Content-Type is application/json" "$(t_header content-type)" "application/json"

stored=$(bb_jsutil -s "$BB_NATS_URL" last ORDERS "orders.waiting_to_cook.$id")
expect "the message carries Nats-Msg-Id: <order_id>" "$(sed -n 1p <<<"$stored")" "Nats-Msg-Id: $id"
expect "the stored JSON is exactly the order, pending" "$(sed -n 3p <<<"$stored")" \
	"{\"order_id\":\"$id\",\"size\":\"large\",\"toppings\":[\"pepperoni\",\"mushrooms\"],\"destination\":\"Ferrari Garage #16\",\"username\":\"charles_leclerc\",\"ordered_at\":\"$at\",\"status\":\"pending\"}"

t_post "$SEED_BODY"
expect "the seed's body (no toppings) gets 200" "$T_STATUS" 200
id=$(t_json .order_id)
stored=$(bb_jsutil -s "$BB_NATS_URL" last ORDERS "orders.waiting_to_cook.$id" | sed -n 3p)
expect "absent toppings are stored as []" "$(jq -c .toppings <<<"$stored")" "[]"

t_req POST /v1/order -H 'Content-Type: application/json; charset=utf-8' --data-binary \
	'{"size":"small","toppings":["basilico fresco","\u00e0 la \"crème\""],"destination":"Box 16 — Maranello 🏎️","username":"kimi\\räikkönen"}'
expect "UTF-8, escapes and a charset parameter are accepted" "$T_STATUS" 200
id=$(t_json .order_id)
stored=$(bb_jsutil -s "$BB_NATS_URL" last ORDERS "orders.waiting_to_cook.$id" | sed -n 3p)
expect "UTF-8 and escaped strings round-trip exactly" \
	"$(jq -c '[.toppings, .destination, .username]' <<<"$stored")" \
	'[["basilico fresco","à la \"crème\""],"Box 16 — Maranello 🏎️","kimi\\räikkönen"]'

expect "the stream holds the three orders" "$(t_count)" 3
check "the request log names the order" grep -q "path=\"/v1/order\" status=200 dur_ms=[0-9.]* order_id=$id" "$T_DIR/pool.log"
