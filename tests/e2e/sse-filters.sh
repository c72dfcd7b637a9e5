#!/usr/bin/env bash
# Filters: ?order_id=<id> gets only that order's events, ?username=<name>
# only that user's, a plain stream everything; live, and on a resume.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "SSE filters by order and by user"
t_stack

# post_as USER: an order from USER; its id in T_ID.
post_as() {
	t_post "{\"size\":\"small\",\"username\":\"$1\",\"destination\":\"pit lane\"}"
	T_ID=$(t_json .order_id)
	[ "$T_STATUS" = 200 ]
}

# sse_field NAME FIELD: FIELD of every event of the stream, space-separated.
sse_field() {
	sed -n 's/^data: //p' "$T_DIR/$1.sse" | jq -r ".$2" | tr '\n' ' ' | sed 's/ $//'
}

check "a plain stream connects" sse_open all "$BB_RELAY_URL/v1/order/sse"
check "a stream for user alice connects" sse_open alice "$BB_RELAY_URL/v1/order/sse?username=alice"
check "a stream for user bob connects, through lighttpd" sse_open bob "$BB_URL/v1/order/sse?username=bob"
check "a stream for order bulk-3 connects" sse_open bulk3 "$BB_RELAY_URL/v1/order/sse?order_id=bulk-3"
check "a stream for a user with no orders connects" sse_open nobody "$BB_RELAY_URL/v1/order/sse?username=nobody"

ids=()
for u in alice bob alice carol bob alice; do
	check "an order from $u is taken" post_as "$u"
	ids+=("$T_ID")
done
# Ten more on other subjects of the stream: order ids bulk-0 to bulk-9,
# all from user "bulk".
check "ten bulk events are published" bb_jsutil -s "$BB_NATS_URL" pub orders.bulk 10 200
# The plain stream sees the last event once every stream has had its own.
check "the plain stream receives all 16 events" sse_wait all '^id: 16$' 10

expect "the plain stream got every event in order" "$(sse_ids all)" "$(seq -s ' ' 1 16)"
check "alice's stream received her third order" sse_wait alice "\"order_id\":\"${ids[5]}\"" 5
expect "alice's stream got her orders only" "$(sse_ids alice)" "1 3 6"
expect "all of them hers" "$(sse_field alice username)" "alice alice alice"
check "bob's stream received his second order" sse_wait bob "\"order_id\":\"${ids[4]}\"" 5
expect "bob's stream got his orders only" "$(sse_ids bob)" "2 5"
expect "with their order ids" "$(sse_field bob order_id)" "${ids[1]} ${ids[4]}"
check "order bulk-3's stream received it" sse_wait bulk3 '"order_id":"bulk-3"' 5
expect "order bulk-3's stream got that order's event only" "$(sse_ids bulk3)" "10"
expect "a user with no orders got no event" "$(sse_ids nobody)" ""
check "but is still connected" kill -0 "${SSE_PID[nobody]}"

# A filtered resume: from the ring, only the matching events.
check "a stream for one order resumes from Last-Event-ID: 0" \
	sse_open carol "$BB_RELAY_URL/v1/order/sse?order_id=${ids[3]}" -H 'Last-Event-ID: 0'
check "and receives that order's event" sse_wait carol "\"order_id\":\"${ids[3]}\"" 5
check "alice resumes from Last-Event-ID: 1" \
	sse_open alice2 "$BB_RELAY_URL/v1/order/sse?username=alice" -H 'Last-Event-ID: 1'
check "and receives her later orders" sse_wait alice2 '^id: 6$' 5
check "one more order from alice is taken" post_as alice
check "it reaches alice's resumed stream live" sse_wait alice2 '^id: 17$' 5
check "and the plain stream" sse_wait all '^id: 17$' 5
expect "the order stream got only its order" "$(sse_ids carol)" "4"
expect "alice's resumed stream got only hers, no duplicate" "$(sse_ids alice2)" "3 6 17"
expect "alice's first stream got the new one too" "$(sse_ids alice)" "1 3 6 17"
expect "bob's stream did not" "$(sse_ids bob)" "2 5"
