#!/usr/bin/env bash
# The kitchen's human behaviour on a real nats-server with the gateway in
# front, at 5 % time and a fixed seed: maestro smokes after each order and,
# when told to oversmoke every time, really smokes 1.5 times as long before
# the next order; lunch comes between batches, health says so, and no
# order is fetched until it ends; a sleeping baker delays an order, which
# maestro retries with backoff, and never loses it.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "maestro smokes and lunches; a sleeping baker delays, never loses"

t_stack
. "$BB_SRCDIR/tests/e2e/kitchen-lib.sh"
export PADDOCK_KITCHEN_TIME_SCALE_PCT=5 PADDOCK_KITCHEN_SEED=7
export PADDOCK_MAESTRO_ACK_WAIT_MS=3000 PADDOCK_MAESTRO_FETCH_WAIT_MS=300
until_ms() { jq '.until | sub("\\.(?<ms>[0-9]{3})Z$"; "Z") as $s | ($s | fromdate) * 1000 + (.[20:23] | tonumber)' <<<"$1"; }
gap() { echo $(($(updated_ms "$2" in_progress) - $(updated_ms "$1" completed))); }

# Cigarettes: 20 s at 5 % is 1 s, and always oversmoked to 1.5 s.
PADDOCK_PANETTIERE_SLEEP_EVERY_S=0 bb_start_panettiere -c "$CONF"
start_maestro PADDOCK_MAESTRO_LUNCH_EVERY_S=0 PADDOCK_MAESTRO_SMOKE_MS=20000 \
	PADDOCK_MAESTRO_OVERSMOKE_PCT=100 PADDOCK_MAESTRO_OVERSMOKE_FACTOR_PCT=150
t_orders 2
a=${T_IDS[0]} b=${T_IDS[1]}
check "after an order, health says smoking" health_wait smoking 10
check "until an RFC 3339 time" jq -e '.until | test("^[0-9-]{10}T[0-9:.]{12}Z$")' <<<"$HEALTH"
check "the cigarette is logged, oversmoked" log_wait "state=smoking ms=1500" 1
check "both orders complete" state_wait "$b" completed 10
[ "$(updated_ms "$a" completed)" -lt "$(updated_ms "$b" completed)" ] || { t=$a a=$b b=$t; }
g=$(gap "$a" "$b")
check "the next order waits for the whole oversmoked cigarette (gap $g ms >= 1500)" test "$g" -ge 1500
check "and not much longer (gap $g ms < 2500)" test "$g" -lt 2500
check "every state of both stored once" all_once "$a" "$b"
kill -TERM "$MAESTRO_PID"
wait "$MAESTRO_PID"

# Lunch: after 20 s (1 s) of work, 120 s (6 s) of lunch; no cigarettes.
start_maestro PADDOCK_MAESTRO_LUNCH_EVERY_S=20 PADDOCK_MAESTRO_LUNCH_FOR_S=120 \
	PADDOCK_MAESTRO_SMOKE_MS=0
check "health says lunch after a second of work" health_wait lunch 5
lunch_end=$(until_ms "$HEALTH")
t_post "$SEED_BODY"
c=$(t_json .order_id)
sleep 1
check "an order posted during lunch is not fetched" test -z "$(js last ORDERS "orders.in_progress.$c" 2>/dev/null)"
expect "health still says lunch" "$(health | jq -r .state)" lunch
check "after lunch it is cooked" state_wait "$c" completed 10
s=$(updated_ms "$c" in_progress)
check "not before lunch ended ($s >= $lunch_end)" test "$s" -ge "$lunch_end"
check "lunch is logged" log_wait "state=lunch ms=6000" 1
kill -TERM "$MAESTRO_PID"
wait "$MAESTRO_PID"
kill -TERM "$BB_PANETTIERE_PID"
wait "$BB_PANETTIERE_PID"

# A baker awake for 40 s (2 s) after starting and after each nap, asleep
# for 40 s (2 s), never oversleeping. Maestro backs off 4 s (200 ms),
# doubling: attempts 0, 0.2, 0.6, 1.4 and 3 s after the first, so one of
# them falls in the 2 s after the nap, whenever within it the order came.
PADDOCK_PANETTIERE_SLEEP_EVERY_S=40 PADDOCK_PANETTIERE_SLEEP_FOR_S=40 \
	PADDOCK_PANETTIERE_OVERSLEEP_PCT=0 bb_start_panettiere -c "$CONF"
start_maestro PADDOCK_MAESTRO_LUNCH_EVERY_S=0 PADDOCK_MAESTRO_SMOKE_MS=0 \
	PADDOCK_MAESTRO_DOUGH_BACKOFF_MS=4000
baker_asleep() { [ "$(js req kitchen.panettiere.health '' 1000 | jq -r .state)" = asleep ]; }
for ((i = 0; i < 150; i++)); do baker_asleep && break; sleep 0.02; done
check "the baker falls asleep" baker_asleep
t_post "$SEED_BODY"
d=$(t_json .order_id)
check "maestro is told the baker sleeps" log_wait "order=$d dough attempt 1: {\\\"error\\\":\\\"asleep\\\"" 5
check "and the order completes once he wakes" state_wait "$d" completed 10
check "every state stored once" once_each "$d" waiting_to_cook in_progress waiting_delivery completed
kill -TERM "$MAESTRO_PID"
wait "$MAESTRO_PID"
expect "maestro stops with 0" "$?" 0

# A stop is prompt, idle (a minute's fetch wait) or at lunch (30 s).
# stop_ms: SIGTERM maestro and wait (in this shell, its parent); how
# long it took in T.
stop_ms() {
	local t0
	t0=$(now_ms)
	kill -TERM "$MAESTRO_PID"
	wait "$MAESTRO_PID"
	T=$(($(now_ms) - t0))
}
start_maestro PADDOCK_MAESTRO_FETCH_WAIT_MS=60000 PADDOCK_MAESTRO_LUNCH_EVERY_S=0
log_wait "pid=$MAESTRO_PID msg=\"consumer maestro" 5
sleep 0.3
stop_ms
check "an idle maestro stops within 2 s of SIGTERM ($T ms)" test "$T" -lt 2000
start_maestro PADDOCK_MAESTRO_LUNCH_EVERY_S=20 PADDOCK_MAESTRO_LUNCH_FOR_S=600
health_wait lunch 5
stop_ms
check "a maestro at lunch stops within 2 s of SIGTERM ($T ms)" test "$T" -lt 2000
