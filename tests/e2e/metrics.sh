#!/usr/bin/env bash
# GET /metrics through lighttpd: whichever responder answers, the figures
# are the pool's (each counts in a slot file of fcgi.metrics_dir, the one
# answering adds them up). A pool of two and a third responder on the
# same directory behind a second lighttpd, so that each front door's
# answer must include what only the other saw. A responder gone keeps
# its counts and leaves the gauges; NATS down shows in both.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "metrics: the pool's figures, whoever answers"
T_PROCS=2 t_stack

# metric NAME: its value in the last scrape (T_BODY), or "absent".
metric() {
	awk -v n="$1" '$1 == n { v = $2 } END { print (v == "" ? "absent" : v) }' <<<"$T_BODY"
}

# scrapes N: N scrapes; each one's figures, one line per scrape, on stdout.
scrapes() {
	local i
	for ((i = 0; i < $1; i++)); do
		t_req GET /metrics
		echo "$T_STATUS $(metric 'paddock_orders_total{code="200"}') $(metric 'paddock_orders_total{code="422"}') $(metric 'paddock_orders_total{code="400"}') $(metric paddock_order_duration_seconds_count) $(metric paddock_processes) $(metric paddock_nats_connected_processes)"
	done | sort | uniq -c | awk '{ $1 = $1 " x"; print }' | paste -sd ';'
}

# A third responder, standalone on a socket of its own behind a second
# lighttpd, counting in the pool's directory: what each front door's
# scrape reports must include what went through the other.
PADDOCK_NATS_URL=$BB_NATS_URL PADDOCK_LOG_FILE=$T_DIR/third.log PADDOCK_FCGI_METRICS_DIR=$BB_POOL_METRICS \
	"$BB_BUILDDIR/fcgi/paddock-fcgi" -s "$T_DIR/third.sock" -c "$BB_SRCDIR/conf/paddock.conf" 2>>"$T_DIR/third.log" &
THIRD_PID=$!
bb_track "$THIRD_PID" paddock-fcgi-third
URL_A=$BB_URL
for ((i = 0; i < 100; i++)); do [ -S "$T_DIR/third.sock" ] && break; sleep 0.05; done
BB_POOL_SOCK=$T_DIR/third.sock bb_start_lighttpd "$(bb_jsutil port)"
URL_B=$BB_URL BB_URL=$URL_A

for i in 1 2 3 4; do T_BASE=$URL_A t_post "$SEED_BODY"; done
for i in 1 2; do T_BASE=$URL_B t_post "$SEED_BODY"; done
expect "orders through both front doors stored" "$T_STATUS" 200
T_BASE=$URL_A t_post '{"size":"huge","destination":"Monza","username":"kimi"}'
expect "a refused order (422)" "$T_STATUS" 422
T_BASE=$URL_B t_post '{"size":'
expect "a malformed one (400)" "$T_STATUS" 400

check "the directory is on tmpfs (${BB_POOL_METRICS%/*}): nothing said of it" \
	bash -c "! grep -q 'not on tmpfs' '$T_DIR/pool.log' '$T_DIR/third.log'"
check "a slot per responder ($(ls "$BB_POOL_METRICS" | paste -sd ' '))" \
	test "$(ls "$BB_POOL_METRICS" | grep -c '^paddock-fcgi\.[0-9]*\.metrics$')" = 3
want="200 6 1 1 6 3 3"
expect "scrapes by the third: 6 stored, 1 refused, 1 malformed, 6 timed, 3 processes, 3 on NATS" \
	"$(T_BASE=$URL_B scrapes 4)" "4 x $want"
# (lighttpd's connections go to either of the pool's two, which share a
# socket; the kernel picks, most often the same one: the third is what
# makes sure an answer includes another process's counts.)
expect "scrapes by the pool of two: the same" "$(T_BASE=$URL_A scrapes 8)" "8 x $want"
t_req GET /metrics
expect "text format 0.0.4" "$(t_header content-type)" "text/plain; version=0.0.4; charset=utf-8"
check "every line a comment or a sample" awk '!/^# (HELP|TYPE) / && !/^[a-z_]+(\{[a-z]+="[^"]*"\})? [0-9.e+]+$/ { bad = 1 } END { exit bad }' <<<"$T_BODY"
expect "each family typed once" "$(grep -c '^# TYPE ' <<<"$T_BODY")" 8
expect "the histogram's +Inf bucket is its count" \
	"$(metric 'paddock_order_duration_seconds_bucket{le="+Inf"}')" "$(metric paddock_order_duration_seconds_count)"
check "its buckets never fall" awk -F'[ ]' '/_bucket\{/ { if ($2 < last) bad = 1; last = $2 } END { exit bad }' <<<"$T_BODY"
check "every request counted, the scrapes too" \
	awk '/^paddock_http_requests_total\{code="200"\}/ { n = $2 } END { exit !(n >= 6 + 12) }' <<<"$T_BODY"
expect "the orders' statuses are there at 0 too" "$(metric 'paddock_orders_total{code="504"}') $(metric 'paddock_orders_total{code="415"}')" "0 0"
expect "and the version" "$(metric "paddock_build_info{version=\"$("$BB_BUILDDIR/fcgi/paddock-fcgi" -V | cut -d' ' -f2)\"}")" 1
t_req HEAD /metrics
expect "HEAD /metrics is 200" "$T_STATUS" 200
# The shipped site lets only var.metrics_allow (here 127.0.0.1) read it.
t_req GET /metrics --interface 127.0.0.2
expect "from 127.0.0.2 lighttpd answers 403" "$T_STATUS" 403
t_req GET '/metrics?from=elsewhere' --interface 127.0.0.2
expect "with a query too" "$T_STATUS" 403
t_req GET /health/live --interface 127.0.0.2
expect "while the rest is open to it" "$T_STATUS" 200
t_req DELETE /metrics
expect "DELETE /metrics is 405" "$T_STATUS" 405
expect "with Allow" "$(t_header allow)" "GET, HEAD, OPTIONS"

# The third stops: its counts stay in the pool's, its gauges go.
kill -TERM "$THIRD_PID"
wait "$THIRD_PID"
expect "the third stops on SIGTERM, status 0" "$?" 0
bb_untrack "$THIRD_PID" # reaped: its number may be reused
expect "the third stopped: its counts stay, 2 processes, 2 on NATS" \
	"$(T_BASE=$URL_A scrapes 4)" "4 x 200 6 1 1 6 2 2"

# NATS down: the gauge falls within a tick (a second), then an order's
# 503 is counted.
bb_stop_nats
for ((i = 0; i < 40; i++)); do
	t_req GET /metrics
	[ "$(metric paddock_nats_connected_processes)" = 0 ] && break
	sleep 0.1
done
expect "paddock_nats_connected_processes falls to 0" "$(metric paddock_nats_connected_processes)" 0
expect "no 503 yet, but its line is there" "$(metric 'paddock_orders_total{code="503"}')" 0
t_post "$SEED_BODY"
expect "an order with NATS down gets 503" "$T_STATUS" 503
t_req GET /metrics
expect "the 503 is counted" "$(metric 'paddock_orders_total{code="503"}')" 1
