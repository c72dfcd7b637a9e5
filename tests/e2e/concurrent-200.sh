#!/usr/bin/env bash
# 200 concurrent orders: 200 answers of 200, 200 stored messages, no more,
# no fewer, and the stored ids are exactly the ids answered.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "200 concurrent orders"
t_stack

# One line per order: the body (one JSON line), a space, the status.
post_one() {
	local out
	out=$(curl -sS -w '%{http_code}' --max-time 20 -H 'Content-Type: application/json' \
		--data-binary "{\"size\":\"medium\",\"username\":\"tifoso$1\",\"destination\":\"grandstand $1\"}" \
		"$BB_URL/v1/order")
	echo "$(head -1 <<<"$out") ${out##*$'\n'}"
}
export -f post_one
export BB_URL
seq 1 200 | xargs -P 200 -I{} bash -c 'post_one {}' >"$T_DIR/answers" 2>&1
expect "200 answers of 200" "$(grep -c ' 200$' "$T_DIR/answers")" 200
sed -n 's/.*"order_id":"\([^"]*\)".* 200$/\1/p' "$T_DIR/answers" | sort >"$T_DIR/answered"
expect "200 distinct order ids" "$(sort -u "$T_DIR/answered" | wc -l)" 200
expect "200 messages in the stream" "$(t_count)" 200
bb_jsutil -s "$BB_NATS_URL" dump ORDERS | awk '{ print $3 }' | sort >"$T_DIR/stored"
check "the stored ids are the answered ids" cmp -s "$T_DIR/answered" "$T_DIR/stored"
