#!/usr/bin/env bash
# The relay's limits and its plain answers: relay.max_clients (503 with
# Retry-After), 404, 405, 400, 431, the request timeout, and its own
# /metrics and /healthz.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "SSE relay limits and plain answers"
export PADDOCK_RELAY_MAX_CLIENTS=2
export PADDOCK_RELAY_REQUEST_TIMEOUT_S=1
t_stack

# raw_req BYTES: send BYTES (printf %b escapes) on a new connection to the
# relay, print what comes back until the relay closes (10 s at most).
raw_req() {
	timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "%b" "$2" >&3
		cat <&3' _ "$BB_RELAY_PORT" "$1" 2>/dev/null | tr -d '\r'
}

# has_error: stdin is a JSON object with a non-empty "error".
has_error() { jq -e '.error | length > 0' >/dev/null 2>&1; }

# until_clients N: until the relay counts N connections besides the asking
# one (5 s).
until_clients() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(curl -sS --max-time 5 "$BB_RELAY_URL/healthz" | jq .clients)" = $(($1 + 1)) ] && return 0
		sleep 0.05
	done
	return 1
}

# ---- /metrics and /healthz ------------------------------------------------
T_BASE=$BB_RELAY_URL t_req GET /metrics
expect "GET /metrics is 200" "$T_STATUS" 200
expect "as Prometheus text" "$(t_header content-type)" "text/plain; version=0.0.4"
for f in clients:gauge clients_total:counter rejected_total:counter \
	events_received_total:counter events_sent_total:counter bytes_sent_total:counter \
	slow_disconnects_total:counter resumes_ring_total:counter \
	resumes_jetstream_total:counter resets_total:counter bad_requests_total:counter \
	replays:gauge last_sequence:gauge nats_connected:gauge processes:gauge; do
	check "/metrics has the ${f%%:*} ${f#*:}" \
		grep -qx "# TYPE sse_relay_${f%%:*} ${f#*:}" <<<"$T_BODY"
done
check "every sample is a name and a number" \
	awk '!/^#/ && !($1 ~ /^sse_relay_[a-z_]+$/ && $2 ~ /^[0-9]+$/ && NF == 2) { exit 1 }' <<<"$T_BODY"
expect "NATS is connected" "$(awk '$1 == "sse_relay_nats_connected" { print $2 }' <<<"$T_BODY")" 1
expect "one relay process" "$(awk '$1 == "sse_relay_processes" { print $2 }' <<<"$T_BODY")" 1

T_BASE=$BB_RELAY_URL t_req GET /healthz
expect "GET /healthz is 200" "$T_STATUS" 200
expect "JSON" "$(t_header content-type)" "application/json"
expect "status ok" "$(t_json .status)" "ok"
expect "with the number of clients (this request)" "$(t_json .clients)" 1

# ---- plain errors -----------------------------------------------------------
T_BASE=$BB_RELAY_URL t_req GET /nowhere
expect "an unknown path is 404" "$T_STATUS" 404
expect "JSON" "$(t_header content-type)" "application/json"
check "with an error message" has_error <<<"$T_BODY"
T_BASE=$BB_RELAY_URL t_req POST /v1/order/sse --data-binary '{}'
expect "POST is 405" "$T_STATUS" 405
check "with a JSON error" has_error <<<"$T_BODY"

bad0=$(relay_metric sse_relay_bad_requests_total)
out=$(raw_req 'NONSENSE\r\n\r\n')
expect "a malformed request line is 400" "$(head -1 <<<"$out")" "HTTP/1.1 400 Bad Request"
check "with a JSON error" has_error <<<"$(sed '1,/^$/d' <<<"$out")"
# (curl, which reads the answer even though the relay closes the connection
# with the rest of the head unread)
T_BASE=$BB_RELAY_URL t_req GET /v1/order/sse -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)"
expect "a head over relay.header_max (8192) is 431" "$T_STATUS" 431
check "with a JSON error" has_error <<<"$T_BODY"
expect "both are counted" "$(relay_metric sse_relay_bad_requests_total)" $((bad0 + 2))

# ---- the request timeout ------------------------------------------------------
start=$(date +%s%N)
out=$(raw_req '')
ms=$((($(date +%s%N) - start) / 1000000))
expect "a client that sends nothing gets nothing" "$out" ""
check "and is closed after relay.request_timeout_s = 1 (took $ms ms)" \
	test "$ms" -ge 900 -a "$ms" -lt 5000
start=$(date +%s%N)
out=$(raw_req 'GET /healthz HTTP/1.1\r\n')
ms=$((($(date +%s%N) - start) / 1000000))
check "so is one that sends half a head (took $ms ms)" \
	test "$ms" -ge 900 -a "$ms" -lt 5000

# ---- relay.max_clients = 2 ------------------------------------------------------
check "a first stream connects" sse_open one "$BB_RELAY_URL/v1/order/sse"
check "a second stream connects" sse_open two "$BB_URL/v1/order/sse"
T_BASE=$BB_RELAY_URL t_req GET /v1/order/sse
expect "a third is refused with 503" "$T_STATUS" 503
expect "with Retry-After" "$(t_header retry-after)" "1"
check "and a JSON error naming the limit" grep -q 'max_clients' <<<"$(t_json .error)"
t_req GET /v1/order/sse
expect "through lighttpd too" "$T_STATUS" 503
check "the relay's own answer, passed on" grep -q 'max_clients' <<<"$(t_json .error)"
T_BASE=$BB_RELAY_URL t_req GET /metrics
expect "while full, every connection is refused, /metrics too" "$T_STATUS" 503
t_orders 1
check "the first stream still receives events" sse_wait one '^id: 1$' 10
check "so does the second" sse_wait two '^id: 1$' 10
sse_close one
check "once a stream leaves, the relay counts one" until_clients 1
T_BASE=$BB_RELAY_URL t_req GET /metrics
expect "and answers again" "$T_STATUS" 200
check "the refusals were counted" \
	awk '$1 == "sse_relay_rejected_total" && $2 >= 3 { f = 1 } END { exit !f }' <<<"$T_BODY"
check "a new stream connects in the freed place" sse_open three "$BB_RELAY_URL/v1/order/sse"
