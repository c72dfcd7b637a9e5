#!/usr/bin/env bash
# Every error class answers its status with a JSON body, and none of them
# stores anything in the stream.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "each error class, nothing stored"
t_stack

# expect_error DESC STATUS METHOD PATH [curl args]
expect_error() {
	local desc=$1 status=$2
	shift 2
	t_req "$@"
	expect "$desc: $status" "$T_STATUS" "$status"
	check "$desc: JSON error body" jq -e '.error | type == "string" and length > 0' <<<"$T_BODY"
	expect "$desc: Content-Type" "$(t_header content-type)" "application/json"
}
J=(-H 'Content-Type: application/json')

expect_error "malformed JSON" 400 POST /v1/order "${J[@]}" --data-binary '{"size":'
expect_error "empty body" 400 POST /v1/order "${J[@]}" --data-binary ''
expect_error "trailing garbage" 400 POST /v1/order "${J[@]}" --data-binary "$SEED_BODY x"
expect_error "invalid UTF-8" 400 POST /v1/order "${J[@]}" --data-binary $'{"size":"large","username":"\xff","destination":"d"}'
expect_error "duplicate key" 400 POST /v1/order "${J[@]}" --data-binary '{"size":"large","size":"small","username":"u","destination":"d"}'
expect "duplicate key: the field is named" "$(t_json '.details[0].field')" "size"
expect_error "text/plain body" 415 POST /v1/order -H 'Content-Type: text/plain' --data-binary "$SEED_BODY"
expect_error "form body (curl's default type)" 415 POST /v1/order --data-binary "$SEED_BODY"
big=$(head -c 70000 /dev/zero | tr '\0' 'a')
expect_error "body over 64 KiB" 413 POST /v1/order "${J[@]}" --data-binary "{\"size\":\"large\",\"username\":\"u\",\"destination\":\"$big\"}"
expect_error "invalid order" 422 POST /v1/order "${J[@]}" \
	--data-binary '{"size":"huge","toppings":["ham",""],"destination":"","colour":"red"}'
expect "422 lists every failing field" "$(t_json '[.details[].field]|sort|join(",")')" \
	"colour,destination,size,toppings[1],username"
expect_error "null body" 422 POST /v1/order "${J[@]}" --data-binary 'null'
expect_error "unknown path" 404 GET /v1/nope
expect_error "wrong method" 405 GET /v1/order
expect "405 says what is allowed" "$(t_header allow)" "POST, OPTIONS"
expect_error "DELETE on health" 405 DELETE /healthz
expect "405 Allow on /healthz" "$(t_header allow)" "GET, HEAD, OPTIONS"

expect "no error stored anything" "$(t_count)" 0
t_post "$SEED_BODY"
expect "a valid order still goes through" "$T_STATUS" 200
expect "and only it is stored" "$(t_count)" 1
