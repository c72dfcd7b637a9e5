#!/usr/bin/env bash
# panettiere on a real nats-server, at 10 % time (a 2 s dough takes
# 100-400 ms, naps come every 6 s for 1 s, or 2 s when oversleeping) and
# with a fixed seed: dough comes after the scaled delay, concurrent
# requests bake together, a sleeping baker says so at once, health tells
# the state and until when, and SIGTERM delivers what is in the oven and
# exits 0; a full oven (panettiere.max_baking) refuses at once.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "panettiere bakes, sleeps and stops"

bb_start_nats "$(bb_jsutil port)"
PADDOCK_NATS_URL=$BB_NATS_URL PADDOCK_KITCHEN_TIME_SCALE_PCT=10 PADDOCK_KITCHEN_SEED=7 \
	"$BB_BUILDDIR/kitchen/panettiere" -c "$BB_SRCDIR/conf/paddock.conf" \
	2>>"$T_DIR/panettiere.log" &
baker=$!
bb_track "$baker" panettiere

req() { bb_jsutil -s "$BB_NATS_URL" req "$1" "${2:-}" "${3:-5000}"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# health_wait STATE SECONDS: until health says STATE; its reply in HEALTH.
health_wait() {
	local start
	start=$(now_ms)
	while HEALTH=$(req kitchen.panettiere.health '' 500 2>/dev/null); ! printf '%s' "$HEALTH" | grep "\"$1\"" >/dev/null; do
		[ $(($(now_ms) - start)) -gt $(($2 * 1000)) ] && return 1
		sleep 0.02
	done
}
until_is_time() { jq -e '.until | test("^[0-9-]{10}T[0-9:.]{12}Z$")' <<<"$1" >/dev/null; }

check "the baker answers health, awake, soon after starting" health_wait awake 5
check "awake until an RFC 3339 time" until_is_time "$HEALTH"
check "its start is logged as a state change" grep -q 'msg="state=awake until=' "$T_DIR/panettiere.log"

start=$(now_ms)
body=$(req kitchen.panettiere.dough '{"order_id":"x"}')
elapsed=$(($(now_ms) - start))
took=$(jq -r .took_ms <<<"$body")
expect "a dough request gets dough" "$(jq -r .dough <<<"$body")" ready
check "took_ms is 2000 ms x [0.5, 2] at 10 % (took $took)" test "$took" -ge 100 -a "$took" -le 400
check "and the reply came after it ($elapsed ms)" test "$elapsed" -ge "$took"

# The 8 requests below must land in one awake spell (6 s at 10 %). On a
# slow run (ASan on a loaded host) the steps above may have used most of
# the first; then they wait for the next.
health_wait awake 5
left=$(($(date -d "$(jq -r .until <<<"$HEALTH")" +%s%3N) - $(now_ms)))
if [ "$left" -lt 2000 ]; then
	echo "# $left ms of the awake spell left: waiting for the next"
	health_wait asleep 5 && health_wait awake 5
fi
start=$(now_ms)
clients=()
for i in 1 2 3 4 5 6 7 8; do
	req kitchen.panettiere.dough '{}' >"$T_DIR/c$i" 2>&1 &
	clients+=($!)
done
wait "${clients[@]}" # by PID: a bare wait would also wait for the baker
elapsed=$(($(now_ms) - start))
sum=$(cat "$T_DIR"/c? | jq -s 'map(.took_ms) | add')
expect "8 concurrent requests all get dough" "$(cat "$T_DIR"/c? | jq -r .dough | grep -c ready)" 8
check "together, in $elapsed ms, not one after another ($sum ms)" test "$elapsed" -lt "$sum"

check "the baker falls asleep within the scaled 6 s" health_wait asleep 8
until_asleep=$(jq -r .until <<<"$HEALTH")
check "asleep until an RFC 3339 time" until_is_time "$HEALTH"
# "At once" against a health request timed just before, which is answered
# at once: the machine may be slow (shared, loaded), not 300 ms slower in
# between.
start=$(now_ms)
req kitchen.panettiere.health '' >/dev/null
instant=$(($(now_ms) - start))
start=$(now_ms)
body=$(req kitchen.panettiere.dough '{}')
elapsed=$(($(now_ms) - start))
expect "a request while asleep gets the asleep error" "$(jq -r .error <<<"$body")" asleep
expect "saying until when" "$(jq -r .until <<<"$body")" "$until_asleep"
check "at once, not baked: no took_ms" test "$(jq -r .took_ms <<<"$body")" = null
check "and about as fast as health ($elapsed ms; health $instant ms)" test "$elapsed" -lt $((instant + 300))
check "falling asleep is logged" grep -q 'msg="state=asleep until=' "$T_DIR/panettiere.log"

check "the baker wakes up again" health_wait awake 5
check "waking is logged" test "$(grep -c 'msg="state=awake until=' "$T_DIR/panettiere.log")" -ge 2

req kitchen.panettiere.dough '{}' >"$T_DIR/last" 2>&1 &
client=$!
baking() { [ "$(req kitchen.panettiere.health '' 500 | jq .baking)" -ge 1 ]; }
for ((i = 0; i < 100; i++)); do baking && break; sleep 0.01; done
check "health counts the dough in the oven" baking
kill -TERM "$baker"
wait "$baker"
expect "SIGTERM: panettiere exits 0" "$?" 0
wait "$client"
expect "after delivering the dough in the oven" "$(jq -r .dough <"$T_DIR/last" 2>/dev/null)" ready
check "it had that dough in the oven at the signal" grep -q 'msg="stopping: 1 dough still in the oven"' "$T_DIR/panettiere.log"
check "and logs its stop" grep -q 'msg="stopped"' "$T_DIR/panettiere.log"

# A full oven refuses at once: 2 doughs at most, each 2-8 s at 10 %, so
# the three requests reach the baker before the first is out.
PADDOCK_NATS_URL=$BB_NATS_URL PADDOCK_KITCHEN_TIME_SCALE_PCT=10 PADDOCK_KITCHEN_SEED=7 \
	PADDOCK_PANETTIERE_MAX_BAKING=2 PADDOCK_PANETTIERE_DOUGH_MS=40000 \
	PADDOCK_PANETTIERE_SLEEP_EVERY_S=0 \
	"$BB_BUILDDIR/kitchen/panettiere" -c "$BB_SRCDIR/conf/paddock.conf" \
	2>>"$T_DIR/panettiere.log" &
baker=$!
bb_track "$baker" panettiere
check "a baker with a small oven answers health" health_wait awake 5
clients=()
for i in 1 2 3; do
	req kitchen.panettiere.dough '{}' 10000 >"$T_DIR/f$i" 2>&1 &
	clients+=($!)
done
wait "${clients[@]}"
expect "two of three concurrent requests get dough" "$(cat "$T_DIR"/f? | jq -r .dough | grep -c ready)" 2
expect "the third is told the oven is full" "$(cat "$T_DIR"/f? | jq -c 'select(.error)')" '{"error":"busy","baking":2}'
check "which is logged once" test "$(grep -c 'oven full: 2 baking' "$T_DIR/panettiere.log")" = 1
kill -TERM "$baker"
wait "$baker"
