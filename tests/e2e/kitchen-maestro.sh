#!/usr/bin/env bash
# maestro on a real nats-server with the gateway in front, at 5 % time and
# with a fixed seed: a posted order goes pending -> in_progress ->
# waiting_delivery -> completed, each state stored once with Nats-Msg-Id
# <id>.<state>; health says working, and on which order; with no baker an
# order fails after dough_attempts with a reason; SIGTERM finishes the
# order in hand and exits 0; SIGKILL mid-batch loses nothing and
# duplicates nothing, and an order whose cook died after storing its end
# (or waiting_delivery) is not cooked again; two maestros share the
# consumer and cook each order once.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "maestro cooks orders through their states"

t_stack
. "$BB_SRCDIR/tests/e2e/kitchen-lib.sh"
export PADDOCK_KITCHEN_TIME_SCALE_PCT=5 PADDOCK_KITCHEN_SEED=7 PADDOCK_PANETTIERE_SLEEP_EVERY_S=0
# Short real-time waits so that the scenario runs in seconds; the durable
# consumer keeps its ack wait, so every maestro here uses the same one.
export PADDOCK_MAESTRO_ACK_WAIT_MS=1000 PADDOCK_MAESTRO_FETCH_WAIT_MS=300
# Breaks have their own scenario (kitchen-breaks.sh); none here.
export PADDOCK_MAESTRO_LUNCH_EVERY_S=0 PADDOCK_MAESTRO_SMOKE_MS=0

bb_start_panettiere -c "$CONF"
start_maestro

t_post "$SEED_BODY"
id=$(t_json .order_id)
check "an order is accepted at the front door" test -n "$id"
check "maestro cooks it to completed" state_wait "$id" completed 10
check "every state stored exactly once" once_each "$id" waiting_to_cook in_progress waiting_delivery completed
check "each state's Nats-Msg-Id is <id>.<state>" msg_ids_ok "$id"
body=$(data_of "$id" completed)
expect "the completed message is the order with status completed" "$(jq -r .status <<<"$body")" completed
expect "and the same order_id" "$(jq -r .order_id <<<"$body")" "$id"
time_ok() { jq -e '.updated_at | test("^[0-9-]{10}T[0-9:.]{12}Z$")' <<<"$1" >/dev/null; }
check "with an RFC 3339 ms updated_at" time_ok "$body"
expect "waiting_delivery carries its status" "$(data_of "$id" waiting_delivery | jq -r .status)" waiting_delivery
check "each state change is logged" test "$(grep -c "order=$id state=" "$T_DIR/maestro.log")" = 3
expect "health says working, with no order, between orders" "$(health)" '{"state":"working"}'

# A slow bake (20 s at 5 %: about 1 s) to catch maestro in the middle.
kill -TERM "$MAESTRO_PID"
wait "$MAESTRO_PID"
start_maestro PADDOCK_MAESTRO_BAKE_MS=20000
t_post "$SEED_BODY"
id2=$(t_json .order_id)
state_wait "$id2" in_progress 5
expect "health says working on that order during it" "$(health)" "{\"state\":\"working\",\"order\":\"$id2\"}"
kill -TERM "$MAESTRO_PID"
wait "$MAESTRO_PID"
expect "SIGTERM mid-order: maestro exits 0" "$?" 0
check "after finishing the order in hand" once_each "$id2" waiting_to_cook in_progress waiting_delivery completed

# SIGKILL in the middle of a batch: 4 orders wait before the cook starts,
# so he takes them in one fetch; he dies cooking the second.
t_orders 4
batch=("${T_IDS[@]}")
start_maestro PADDOCK_MAESTRO_BAKE_MS=60000 # 3 s: time to kill mid-order
id3=${batch[1]} # cooked in the order they were posted
state_wait "${batch[0]}" completed 10
state_wait "$id3" in_progress 5
held=$(js consumer ORDERS maestro)
kill_maestro
check "SIGKILL mid-batch: one order done" js last ORDERS "orders.completed.${batch[0]}"
check "and the one in hand unfinished" test -z "$(js last ORDERS "orders.completed.$id3" 2>/dev/null)"
check "the batch was one fetch: 3 orders held, unacked, at the kill ($held)" \
	test "${held%% *}" = ack_pending=3
check "the last not started" test -z "$(js last ORDERS "orders.in_progress.${batch[3]}" 2>/dev/null)"
start_maestro
check "a new maestro gets them again after the ack wait and completes all 4" all_completed 15 "${batch[@]}"
check "every state of each stored exactly once" all_once "${batch[@]}"
check "the one in hand resumed at dough, its in_progress not stored again" \
	log_wait "order=$id3 resumes at dough" 1

# Killed after storing the order's end but before the ack: it comes again
# and must only be acknowledged, or it could end twice (failed, then
# completed). The dead cook's "failed" is stored by hand here, since no
# signal lands reliably between a store and an ack.
kill -TERM "$MAESTRO_PID"
wait "$MAESTRO_PID"
start_maestro PADDOCK_MAESTRO_BAKE_MS=100000 # 5 s: time to kill it
t_post "$SEED_BODY"
id5=$(t_json .order_id)
state_wait "$id5" in_progress 5
kill_maestro
js put "orders.failed.$id5" "$id5.failed" \
	"$(data_of "$id5" in_progress | jq -c '.status = "failed" | .reason = "stored by a cook that died"')"
start_maestro
check "an order that already ended is acknowledged, not cooked again" \
	log_wait "order=$id5 already failed: acknowledged" 10
sleep 1.5 # past the ack wait: an unacked order would come again
check "it keeps its one end" once_each "$id5" waiting_to_cook in_progress failed

# Killed while delivering: the order resumes at delivery, not from dough.
kill -TERM "$MAESTRO_PID"
wait "$MAESTRO_PID"
start_maestro PADDOCK_MAESTRO_DELIVER_MS=100000 # 5 s: time to kill it
t_post "$SEED_BODY"
id6=$(t_json .order_id)
state_wait "$id6" waiting_delivery 5
kill_maestro
mark=$(($(wc -l <"$T_DIR/maestro.log") + 1))
start_maestro
check "an order killed in delivery resumes at delivery" log_wait "order=$id6 resumes at delivery" 10
check "and is completed" state_wait "$id6" completed 10
not_cooked_again() { ! tail -n "+$mark" "$T_DIR/maestro.log" | grep "order=$id6 state=in_progress" >/dev/null; }
check "without being cooked again" not_cooked_again
check "every state of it stored exactly once" once_each "$id6" waiting_to_cook in_progress waiting_delivery completed

first=$MAESTRO_PID
mark=$(($(wc -l <"$T_DIR/maestro.log") + 1))
start_maestro PADDOCK_MAESTRO_BATCH=2
t_orders 6
check "two maestros sharing the consumer complete 6 orders" all_completed 10 "${T_IDS[@]}"
check "each state of each order stored exactly once" all_once "${T_IDS[@]}"
cooked_by() { tail -n "+$mark" "$T_DIR/maestro.log" | grep -c "pid=$1 .*state=completed"; }
check "both cooked ($(cooked_by "$first") and $(cooked_by "$MAESTRO_PID"))" \
	test "$(cooked_by "$first")" -ge 1 -a "$(cooked_by "$MAESTRO_PID")" -ge 1

kill -TERM "$first" "$MAESTRO_PID" "$BB_PANETTIERE_PID"
wait "$first" "$MAESTRO_PID" "$BB_PANETTIERE_PID"
start_maestro PADDOCK_MAESTRO_DOUGH_ATTEMPTS=2
t_post "$SEED_BODY"
id4=$(t_json .order_id)
check "with no baker the order fails" state_wait "$id4" failed 10
body=$(data_of "$id4" failed)
expect "status failed" "$(jq -r .status <<<"$body")" failed
expect "with a reason" "$(jq -r .reason <<<"$body")" "no dough after 2 attempts"
check "and no later states" once_each "$id4" waiting_to_cook in_progress failed
sleep 1.5 # past the ack wait: an unacked order would come again
check "the failed order was acked, not redelivered" test "$(grep -c "order=$id4 state=in_progress" "$T_DIR/maestro.log")" = 1
kill -TERM "$MAESTRO_PID"
wait "$MAESTRO_PID"
expect "maestro stops with 0" "$?" 0
check "and logs its stop" grep -q 'msg="stopped"' "$T_DIR/maestro.log"
