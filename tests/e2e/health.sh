#!/usr/bin/env bash
# /healthz in the seed's shape, /health/live and /health/ready.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "health endpoints"
t_stack

t_req GET /healthz
expect "/healthz is 200 when NATS is up" "$T_STATUS" 200
expect "/healthz says ok with the NATS check" "$(t_json '[.status, .checks.nats.status]|join(",")')" "ok,ok"
check "/healthz has version and timestamp" jq -e '(.version|length > 0) and (.timestamp|test("Z$"))' <<<"$T_BODY"
t_req HEAD /healthz
expect "HEAD /healthz is 200" "$T_STATUS" 200
expect "HEAD announces the JSON of GET" "$(t_header content-type)" "application/json"
t_req GET /health/live
expect "/health/live is 200" "$T_STATUS" 200
t_req GET /health/ready
expect "/health/ready is 200 with NATS and the stream" "$T_STATUS" 200
expect "/health/ready checks both" "$(t_json '[.checks.nats.status, .checks.stream.status]|join(",")')" "ok,ok"
t_req GET '/healthz?verbose=1'
expect "a query string does not change the route" "$T_STATUS" 200

# fcgi.cpu_affinity, which bb_start_pool turns on: each responder and all
# its threads (nats.c's too) on one CPU of its own (2 responders here).
cpus_of() { awk '$1 == "Cpus_allowed_list:" { print $2 }' "$1/status"; }
all_threads_on() {
	local t
	for t in /proc/"$1"/task/*; do [ "$(cpus_of "$t")" = "$2" ] || return 1; done
}
if [ "$(nproc)" = 2 ]; then
	a=$(cpus_of "/proc/${BB_POOL_PIDS[0]}") b=$(cpus_of "/proc/${BB_POOL_PIDS[1]}")
	check "each responder is pinned to one CPU of its own ($a, $b)" \
		test "$a" != "$b" -a -n "$a" -a -n "$b" -a -z "${a//[0-9]/}" -a -z "${b//[0-9]/}"
	check "with all its threads" all_threads_on "${BB_POOL_PIDS[0]}" "$a"
	check "which it logs" grep -q 'msg="pinned to CPU' "$T_DIR/pool.log"
else
	ok "responders pinned # SKIP $(nproc) CPUs, not 2: not pinned"
fi

# bb_sched: each process, every thread of it, under the policy bb_sched
# chose for it (bb_sched_classes: TS the default, B SCHED_BATCH);
# BB_SCHED_<WHO> wins over BB_SCHED, anything but batch or other is
# refused. A second pool, under the policy the first one does not have,
# is at the end.
class_for() { if [ -n "$(bb_sched "$1")" ]; then echo B; else echo TS; fi; }
expect "the responders and all their threads: $(class_for POOL)" "$(bb_sched_classes "${BB_POOL_PIDS[@]}")" "$(class_for POOL)"
expect "lighttpd: $(class_for HTTPD)" "$(bb_sched_classes "$BB_LIGHTTPD_PID")" "$(class_for HTTPD)"
expect "nats-server: $(class_for NATS)" "$(bb_sched_classes "$BB_NATS_PID")" "$(class_for NATS)"
expect "the relay keeps the default policy" "$(bb_sched_classes "$BB_RELAY_PID")" TS
expect "by default, chrt --batch for each" "$(
	unset BB_SCHED BB_SCHED_POOL BB_SCHED_HTTPD BB_SCHED_NATS
	echo "$(bb_sched POOL)|$(bb_sched HTTPD)|$(bb_sched NATS)"
)" "chrt --batch 0|chrt --batch 0|chrt --batch 0"
expect "BB_SCHED=batch: chrt for the pool" "$(
	unset BB_SCHED_POOL
	BB_SCHED=batch bb_sched POOL
)" "chrt --batch 0"
expect "BB_SCHED_NATS=other wins over BB_SCHED=batch" "$(BB_SCHED=batch BB_SCHED_NATS=other bb_sched NATS)" ""
refused=$(bash -c "BB_LIB=1 . '$BB_SRCDIR/boxbox'; unset BB_SCHED_POOL BB_SCHED_HTTPD BB_SCHED_NATS
	BB_SCHED=fast bb_stack_init '$T_DIR/sched'; echo started" 2>&1)
expect "BB_SCHED=fast is refused before anything starts" "$refused" \
	"boxbox: BB_SCHED_POOL or BB_SCHED: batch or other, not fast"

# nats-server without transparent huge pages (tests/thp-off; BB_NATS_THP
# in bb_start_nats), and thp-off on a command of its own.
thp_of() { awk '$1 == "THP_enabled:" { print $2 }' "/proc/$1/status"; }
if [ -n "$(thp_of $$)" ]; then
	expect "nats-server runs with transparent huge pages off" "$(thp_of "$BB_NATS_PID")" 0
	expect "thp-off turns them off for the command it runs" \
		"$("$BB_BUILDDIR/tests/thp-off" awk '$1 == "THP_enabled:" { print $2 }' /proc/self/status)" 0
	expect "a command run without it keeps them" "$(awk '$1 == "THP_enabled:" { print $2 }' /proc/self/status)" 1
else
	ok "transparent huge pages off for nats-server # SKIP this kernel has no THP_enabled in /proc/PID/status"
	ok "thp-off # SKIP no THP_enabled"
	ok "thp-off inherits # SKIP no THP_enabled"
fi
expect "thp-off reports a command it cannot run" \
	"$("$BB_BUILDDIR/tests/thp-off" /nonexistent/cmd 2>&1; echo "rc $?")" \
	"thp-off: /nonexistent/cmd: No such file or directory
rc 127"

# A stray SIGUSR1 (fcgi2's own "accept no more") changes nothing.
kill -USR1 "${BB_POOL_PIDS[@]}"
answered=0
for i in 1 2 3 4 5 6 7 8; do
	t_req GET /health/live
	[ "$T_STATUS" = 200 ] && answered=$((answered + 1))
done
expect "after SIGUSR1 the pool still answers" "$answered" 8
check "and every responder still runs" kill -0 "${BB_POOL_PIDS[@]}"

# The other policy for a second pool of one, through bb_start_pool as
# `up` starts it: the policy reaches the responder and all its threads.
if [ "$(class_for POOL)" = B ]; then other=other want=TS; else other=batch want=B; fi
BB_SCHED_POOL=$other bb_start_pool "$T_DIR/second.sock" 1 -c "$BB_SRCDIR/conf/paddock.conf"
expect "BB_SCHED_POOL=$other: the responder and all its threads $want" \
	"$(bb_sched_classes "${BB_POOL_PIDS[@]}")" "$want"
