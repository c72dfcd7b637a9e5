#!/usr/bin/env bash
# relay-metrics.sh: two sse-relay processes share one port (SO_REUSEPORT)
# and one relay.metrics_dir, so GET /metrics, whichever process answers,
# reports both: streams held by one are seen through the other, counters
# outlive the process that counted, a new process goes on in the dead
# one's slot (the first free: here slot 1, slot 0 being held), and a
# directory that will not do leaves a relay counting alone, logged. Each
# relay also listens on a unix socket of its own, so
# that the test can choose which process answers.
. "$(dirname "$0")/lib.sh"
t_begin "relay metrics: processes on one port add up"

CONF=$BB_SRCDIR/conf/paddock.conf
bb_start_nats "$(bb_jsutil port)"
bb_start_pool "$T_DIR/paddock.sock" 1 -c "$CONF"
PORT=$(bb_jsutil port)
bb_start_relay "$PORT" -c "$CONF" -s "$T_DIR/relay-a.sock"
bb_start_relay "$PORT" -c "$CONF" -s "$T_DIR/relay-b.sock"
B_PID=$BB_RELAY_PID
bb_start_lighttpd "$(bb_jsutil port)"

# scrape WHO: GET /metrics from relay WHO's own socket into T_BODY.
scrape() {
	T_BODY=$(curl -sS --max-time 5 --unix-socket "$T_DIR/relay-$1.sock" http://relay/metrics)
}
metric() { awk -v n="$1" '$1 == n { print $2 }' <<<"$T_BODY"; }
# figures WHO: processes, streams (the scrape's own connection
# included), on NATS, events received, events sent, last sequence.
figures() {
	scrape "$1"
	echo "$(metric sse_relay_processes) $(metric sse_relay_clients)" \
		"$(metric sse_relay_nats_connected) $(metric sse_relay_events_received_total)" \
		"$(metric sse_relay_events_sent_total) $(metric sse_relay_last_sequence)"
}
figures_are() { [ "$(figures "$1")" = "$2" ]; }
# until_figures WHO EXPECTED: the gauges follow within a tick (a second).
until_figures() {
	bb_until 100 0.1 figures_are "$@" && return 0
	echo "# relay $1: $(figures "$1"), expected $2" >&2
	return 1
}

check "both relays answer on the port's metrics directory" until_figures a "2 1 2 0 0 0"
check "relay B's scrape says the same" until_figures b "2 1 2 0 0 0"
slots=$(find "$BB_RELAY_METRICS" -name 'sse-relay.*.metrics' | wc -l)
expect "one slot each in $BB_RELAY_METRICS" "$slots" 2

# Three streams on relay A; relay B counts them.
for s in s1 s2 s3; do
	sse_open "$s" http://relay/v1/order/sse --unix-socket "$T_DIR/relay-a.sock" ||
		not_ok "stream $s opens"
done
check "relay B sees A's three streams" until_figures b "2 4 2 0 0 0"

for i in 1 2; do
	t_post "$SEED_BODY"
	expect "order $i is stored" "$T_STATUS" 200
done
for s in s1 s2 s3; do
	check "stream $s gets both events" sse_wait "$s" '^id: 2$'
done
# Each process receives every event (2 x 2); only A's streams were sent.
check "relay B: 4 received, 6 sent, sequence 2" until_figures b "2 4 2 4 6 2"
scrape a
text=$(grep -v '^#' <<<"$T_BODY" | awk '{ print $1 }' | sort | tr '\n' ' ')
expect "every family once" "$text" "sse_relay_bad_requests_total sse_relay_bytes_sent_total sse_relay_clients sse_relay_clients_total sse_relay_events_received_total sse_relay_events_sent_total sse_relay_last_sequence sse_relay_nats_connected sse_relay_processes sse_relay_rejected_total sse_relay_replays sse_relay_resets_total sse_relay_resumes_jetstream_total sse_relay_resumes_ring_total sse_relay_slow_disconnects_total "
scrape a
total_before=$(metric sse_relay_clients_total)

# B (slot 1) stops: its counts stay, its gauges go; A keeps its streams.
kill -TERM "$B_PID"
wait "$B_PID"
expect "relay B stops on SIGTERM, status 0" "$?" 0
bb_untrack "$B_PID" # reaped: its number may be reused
check "relay A alone: 1 process, B's counts kept" until_figures a "1 4 1 4 6 2"
scrape a
check "connections counted so far do not go back" \
	test "$(metric sse_relay_clients_total)" -ge "$total_before"

# C takes B's slot, slot 0 being A's, and goes on from B's counts.
bb_start_relay "$PORT" -c "$CONF" -s "$T_DIR/relay-c.sock"
check "relay C joins: 2 processes, counters go on" until_figures c "2 4 2 4 6 2"
slots=$(find "$BB_RELAY_METRICS" -name 'sse-relay.*.metrics' | wc -l)
expect "still two slots" "$slots" 2
check "C counts in the directory" bash -c "! grep -q 'reports this process alone' '$T_DIR/relay.log'"

# A directory that will not do: the relay says so and counts alone.
touch "$T_DIR/not-a-directory"
PADDOCK_RELAY_METRICS_DIR=$T_DIR/not-a-directory/metrics \
	PADDOCK_LOG_FILE=$T_DIR/relay-d.log \
	bb_start_relay "$(bb_jsutil port)" -c "$CONF" -s "$T_DIR/relay-d.sock"
check "a relay without a usable directory counts alone" until_figures d "1 1 1 0 0 2"
check "and logs why" grep -q 'not-a-directory/metrics: Not a directory; GET /metrics reports this process alone' "$T_DIR/relay-d.log"
