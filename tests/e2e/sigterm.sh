#!/usr/bin/env bash
# SIGTERM: a responder stops accepting, finishes what it has, exits 0; its
# siblings keep serving, so no order in a burst is lost or refused.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "SIGTERM finishes requests in flight"
t_stack

post_one() {
	curl -sS -o /dev/null -w '%{http_code}\n' --max-time 20 -H 'Content-Type: application/json' \
		--data-binary '{"size":"small","username":"u","destination":"d"}' "$BB_URL/v1/order"
}
export -f post_one
export BB_URL
seq 1 300 | xargs -P 16 -I{} bash -c post_one >"$T_DIR/codes" 2>&1 &
load=$!
sleep 0.3
victim=${BB_POOL_PIDS[0]}
kill -TERM "$victim"
start=$(date +%s%N)
while bb_alive "$victim"; do sleep 0.05; done
ms=$((($(date +%s%N) - start) / 1000000))
check "the responder exits within 3 s of SIGTERM (took $ms ms)" test "$ms" -le 3000
wait "$load"
expect "every order of the burst got 200" "$(grep -c '^200$' "$T_DIR/codes")" 300
expect "and every one is stored" "$(t_count)" 300
check "the responder logged its clean stop" grep -q "pid=$victim msg=\"stopped\"" "$T_DIR/pool.log"

# Standalone (-s), as a child of this script: the exit status is visible.
PADDOCK_NATS_URL=$BB_NATS_URL "$BB_BUILDDIR/fcgi/paddock-fcgi" -s "$T_DIR/solo.sock" \
	-c "$BB_SRCDIR/conf/paddock.conf" 2>>"$T_DIR/solo.log" &
solo=$!
bb_track "$solo" paddock-fcgi-solo
for ((i = 0; i < 100; i++)); do [ -S "$T_DIR/solo.sock" ] && break; sleep 0.05; done
kill -TERM "$solo"
wait "$solo"
expect "a standalone responder exits 0 on SIGTERM" "$?" 0
check "and removes its socket" test ! -e "$T_DIR/solo.sock"
