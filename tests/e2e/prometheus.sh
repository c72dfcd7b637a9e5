#!/usr/bin/env bash
# The shipped Prometheus configuration (conf/prometheus) and Grafana
# dashboard (conf/grafana) against a running stack: promtool checks the
# rules and runs their unit tests; Prometheus, with the shipped jobs
# pointed at this stack's ports, scrapes the pool through lighttpd and the
# relay and sees what was answered; the rules load healthy; and every
# query of the dashboard runs without error and returns data.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "Prometheus jobs, rules and the Grafana dashboard, on a live stack"
P=$BB_SRCDIR/conf/prometheus
DASH=$BB_SRCDIR/conf/grafana/boxbox.json

check "promtool check rules" promtool check rules "$P/boxbox-rules.yml"
check "promtool test rules: each alert fires as written, and only then" \
	bash -c "cd '$P' && promtool test rules boxbox-rules.test.yml"

T_PROCS=2 t_stack
for i in 1 2 3; do t_post "$SEED_BODY"; done
expect "three orders stored" "$T_STATUS" 200
t_post '{"size":"huge","destination":"Monza","username":"kimi"}'
expect "one refused" "$T_STATUS" 422

# The shipped file, its targets this stack's, scraped every second.
mkdir -p "$T_DIR/prom"
cp "$P/boxbox-rules.yml" "$T_DIR/prom/"
sed -e "s|\"127.0.0.1:8080\"|\"127.0.0.1:$BB_HTTP_PORT\"|" \
	-e "s|\"127.0.0.1:8090\"|\"127.0.0.1:$BB_RELAY_PORT\"|" \
	-e "s|_interval: 15s|_interval: 1s|" \
	"$P/prometheus.yml" >"$T_DIR/prom/prometheus.yml"
check "promtool check config" promtool check config "$T_DIR/prom/prometheus.yml"
port=$(bb_jsutil port)
prometheus --config.file="$T_DIR/prom/prometheus.yml" \
	--storage.tsdb.path="$T_DIR/prom/data" \
	--web.listen-address="127.0.0.1:$port" >>"$T_DIR/prometheus.log" 2>&1 &
bb_track $! prometheus

# query PROMQL: the API's JSON answer.
query() {
	curl -sSG --max-time 5 "http://127.0.0.1:$port/api/v1/query" --data-urlencode "query=$1"
}
# value PROMQL: the first sample's value, or "none".
value() { query "$1" | jq -r '.data.result[0].value[1] // "none"' 2>/dev/null || echo none; }

# Scraped: both jobs up, and a second scrape of each (rates need two).
for ((i = 0; i < 150; i++)); do
	[ "$(value 'sum(up)')" = 2 ] &&
		[ "$(value 'min(count_over_time(up[1m]))')" -ge 3 ] 2>/dev/null && break
	sleep 0.2
done
expect "both jobs up (boxbox-intake through lighttpd, boxbox-relay)" \
	"$(value 'up{job="boxbox-intake"}') $(value 'up{job="boxbox-relay"}')" "1 1"
expect "Prometheus saw the 3 orders stored" "$(value 'sum(paddock_orders_total{code="200"})')" 3
expect "and the one refused" "$(value 'sum(paddock_orders_total{code="422"})')" 1
expect "and the 504s at 0" "$(value 'sum(paddock_orders_total{code="504"})')" 0
expect "3 orders timed" "$(value 'sum(paddock_order_duration_seconds_count)')" 3
expect "2 responders, both on NATS" \
	"$(value 'sum(paddock_processes)') $(value 'sum(paddock_nats_connected_processes)')" "2 2"
expect "the relay on NATS" "$(value 'sse_relay_nats_connected')" 1

rules=$(curl -sS --max-time 5 "http://127.0.0.1:$port/api/v1/rules")
expect "the rules loaded: 10, all healthy" \
	"$(jq -r '[.data.groups[].rules[]] | "\(length) \(map(select(.health != "ok")) | length)"' <<<"$rules")" "10 0"
expect "no alert firing on a healthy stack" \
	"$(jq -r '[.data.groups[].rules[] | select(.type == "alerting" and .state == "firing")] | length' <<<"$rules")" 0

# The dashboard: each query runs, and returns data (a panel would be empty
# otherwise).
check "the dashboard is JSON with 8 panels" test "$(jq '.panels | length' "$DASH")" = 8
n=0 bad=""
while IFS= read -r expr; do
	n=$((n + 1))
	ans=$(query "$expr")
	[ "$(jq -r '.status' <<<"$ans")" = success ] && [ "$(jq '.data.result | length' <<<"$ans")" -gt 0 ] ||
		bad="$bad [$expr: $(jq -c '{status, error, n: (.data.result | length)}' <<<"$ans")]"
done < <(jq -r '.panels[].targets[].expr' "$DASH")
expect "its $n queries run and return data" "${bad:-none failed}" "none failed"
