#!/usr/bin/env bash
# FastCGI as fcgi/conn.c speaks it, record by record (tests/fcgi-probe), on
# a standalone responder: management records, FCGI_KEEP_CONN or not,
# requests that come byte by byte, in odd records or padded, a refused
# second request, aborts, wrong roles and versions, long parameters,
# parameters holding a NUL, a request followed by the end of the input,
# bodies over the limit, and 500 connections at once. Then, each on a
# responder of its own (they stop it or starve it): SIGTERM with kept
# connections idle (the next requests after it, or in the same batch),
# SIGTERM with an order in hand or a connection accepted with its request
# still to come, fcgi.max_conns reached, two pipelined orders while NATS
# acknowledges nothing, and an order read in full late in the stop while
# NATS acknowledges nothing.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "FastCGI protocol handling of paddock-fcgi"
bb_start_nats "$(bb_jsutil port)"

# start_fcgi NAME [VAR=VALUE...]: a standalone responder, a child of this
# script (its exit status is visible), on $T_DIR/NAME.sock, logging to
# $T_DIR/NAME.log; VAR=VALUE override its configuration. Sets FCGI_PID and
# FCGI_SOCK; returns 1 when it does not listen.
start_fcgi() {
	local name=$1 i
	shift
	FCGI_SOCK=$T_DIR/$name.sock
	env PADDOCK_NATS_URL="$BB_NATS_URL" PADDOCK_LOG_FILE="$T_DIR/$name.log" "$@" \
		"$BB_BUILDDIR/fcgi/paddock-fcgi" -s "$FCGI_SOCK" -c "$BB_SRCDIR/conf/paddock.conf" \
		2>>"$T_DIR/$name.log" &
	FCGI_PID=$!
	bb_track "$FCGI_PID" "paddock-fcgi-$name"
	for ((i = 0; i < 200; i++)); do [ -S "$FCGI_SOCK" ] && return 0; sleep 0.05; done
	echo "# paddock-fcgi $name did not listen on $FCGI_SOCK"
	return 1
}

start_fcgi fcgi || bb_die "the main responder did not start"
SOCK=$FCGI_SOCK
fcgi=$FCGI_PID

# probe_on SOCKET SCENARIO [ARG]: run it; its lines in OUT, its exit status
# in RC. probe SCENARIO [ARG]: the same on the main responder.
probe_on() {
	local sock=$1
	shift
	OUT=$("$BB_BUILDDIR/tests/fcgi-probe" "$sock" "$@" 2>"$T_DIR/probe.err")
	RC=$?
	[ "$RC" = 0 ] || echo "# fcgi-probe $1: $(cat "$T_DIR/probe.err")"
}
probe() { probe_on "$SOCK" "$@"; }

# What the probe saw, bodies and times aside, as one line: "status 200|end
# 0 0|open", and "|exit 1" after a protocol surprise.
seen() {
	{ grep -Ev '^(body|after|sigterm) ' <<<"$OUT"; [ "$RC" = 0 ] || echo "exit $RC"; } | paste -sd'|'
}

# The n-th body line (1 for the first).
body() { sed -n 's/^body //p' <<<"$OUT" | sed -n "${1}p"; }

# ready_on SOCKET: until /health/ready answers 200 (NATS, then ORDERS), 10 s
# at most; the last answer in OUT.
ready_on() {
	local i
	for ((i = 0; i < 100; i++)); do
		probe_on "$1" get /health/ready
		grep -qx 'status 200' <<<"$OUT" && return 0
		sleep 0.1
	done
	return 1
}

# exit_within PID MS: wait for the child PID to exit, MS ms at most after
# the SIGTERM the probe sent (its "sigterm" line; else now), then kill it;
# its exit status in EXIT_RC, the time since the SIGTERM in EXIT_MS.
exit_within() {
	local start
	start=$(sed -n 's/^sigterm //p' <<<"$OUT")
	start=${start:-$(date +%s%N)}
	while bb_alive "$1" && [ $((($(date +%s%N) - start) / 1000000)) -le "$2" ]; do
		sleep 0.02
	done
	EXIT_MS=$((($(date +%s%N) - start) / 1000000))
	bb_alive "$1" && kill -KILL "$1"
	wait "$1"
	EXIT_RC=$?
}

# in_range N MIN MAX
in_range() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

ready_on "$SOCK"
expect "the standalone responder gets ready" "$(seen)" "status 200|end 0 0|closed"

# First, while the responder's spare connection objects still have the
# input buffer of a fresh connection (16384 bytes; bigger requests below
# grow it): a request that fills the first read exactly, then SHUT_WR, all
# sent while the responder is frozen, so that the read after the request,
# in the same pass, finds the end of the input. Then a short one.
probe half-close "$fcgi"
expect "half-close: 16384 bytes then SHUT_WR, answered, then closed" "$(seen | cut -d'|' -f1-4)" \
	"sent 16384|status 200|end 0 0|closed"
expect "half-close: 400 bytes then SHUT_WR, answered, then closed" "$(seen | cut -d'|' -f5-)" \
	"sent 400|status 200|end 0 0|closed"

probe nul-param
expect "nul-param: pairs holding a NUL are dropped, the others routed as sent" "$(seen)" \
	"status 200|end 0 0|open|status 200|end 0 0|closed"
expect "nul-param: it is /health/live that answers" "$(body 1)|$(body 2)" '{"status":"ok"}|{"status":"ok"}'

# FCGI_GET_VALUES names the three 1.0 variables and skips the unknown one.
probe get-values
values='values FCGI_MAX_CONNS=[1-9][0-9]* FCGI_MAX_REQS=[1-9][0-9]* FCGI_MPXS_CONNS=0'
check "get-values: the three variables, FCGI_MPXS_CONNS=0, and the connection stays" \
	grep -Eqx "${values}[|]open" <<<"$(seen)"

# The same name 4,000 times: answered once, in a record that fits.
probe values-repeat
check "values-repeat: FCGI_MAX_CONNS once, and the connection stays" \
	grep -Eqx 'values FCGI_MAX_CONNS=[1-9][0-9]*[|]open' <<<"$(seen)"

probe unknown-type
expect "unknown-type: FCGI_UNKNOWN_TYPE names type 20" "$(seen)" "unknown-type 20|open"

probe keep-conn
expect "keep-conn: three answers on one connection, open after each" "$(seen)" \
	"status 200|end 0 0|open|status 200|end 0 0|open|status 200|end 0 0|open"
expect "keep-conn: /health/live answers its body" "$(body 1)" '{"status":"ok"}'
id=$(body 2 | jq -r .order_id)
check "keep-conn: the order gets an id ($id)" grep -Eq '^[0-9a-f-]{36}$' <<<"$id"
expect "keep-conn: /healthz says ok" "$(body 3 | jq -r .status)" ok
stored=$(bb_jsutil -s "$BB_NATS_URL" last ORDERS "orders.waiting_to_cook.$id")
expect "keep-conn: the order is in the stream" "$(sed -n 1p <<<"$stored")" "Nats-Msg-Id: $id"
expect "keep-conn: stored as sent, pending" "$(sed -n 3p <<<"$stored" | jq -c '[.username, .destination, .status]')" \
	'["tubias","manoel moreira","pending"]'

probe no-keep
expect "no-keep: answered, then the responder closes" "$(seen)" "status 200|end 0 0|closed"

probe pipeline
expect "pipeline: three requests in one write, three answers in order" "$(seen)" \
	"status 200|end 0 0|status 200|end 0 0|status 200|end 0 0|open"

probe dribble
expect "dribble: an order sent byte by byte is accepted" "$(seen)" "status 200|end 0 0|closed"
check "dribble: with an order id" grep -Eq '^[0-9a-f-]{36}$' <<<"$(body 1 | jq -r .order_id)"

probe split-body
expect "split-body: 5 KB in odd records and writes is accepted" "$(seen)" "status 200|end 0 0|closed"

probe padding
expect "padding: padded records are read past" "$(seen)" "status 200|end 0 0|closed"

probe cant-mpx
expect "cant-mpx: the second is refused (FCGI_CANT_MPX_CONN), the first answered" "$(seen)" \
	"no-stdout|end 0 1|status 200|end 0 0|closed"

probe abort
expect "abort: in params and in the body, ended without output, the next served" "$(seen)" \
	"quiet|no-stdout|end 0 0|status 200|end 0 0|open|quiet|no-stdout|end 0 0|status 200|end 0 0|open"

probe unknown-role
expect "unknown-role: roles 2 and 3 get FCGI_UNKNOWN_ROLE; FCGI_KEEP_CONN honoured" "$(seen)" \
	"no-stdout|end 0 3|open|status 200|end 0 0|open|no-stdout|end 0 3|closed"

probe bad-version
expect "bad-version: a record of version 2 closes the connection" "$(seen)" "status 200|end 0 0|closed"

probe big-params
expect "big-params: 4-byte lengths and 100 KB of params" "$(seen)" "status 200|end 0 0|closed"

probe oversize
expect "oversize: 413 only once the body is whole, with and without CONTENT_LENGTH" "$(seen)" \
	"quiet|status 413|end 0 0|open|status 413|end 0 0|closed"

probe many 500
expect "many: 500 connections at once, all answered 200" "$(seen)" "many sent 500 ok 500"

# Answers the web server reads slowly hold the reading back: what it sends
# waits in its socket, not as answers in the responder's memory.
hwm0=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$fcgi/status")
probe flood-slow-reader 3
hwm1=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$fcgi/status")
check "flood-slow-reader: peak RSS grew by less than 16 MiB (${hwm0} -> ${hwm1} kB; $(seen))" \
	test "$RC" = 0 -a $((hwm1 - hwm0)) -lt $((16 * 1024))
probe get /health/live
expect "flood-slow-reader: and the responder serves on" "$(seen)" "status 200|end 0 0|closed"

# Last: should the params be lost or freed, the request answers 404 or the
# responder dies (ASan), which would spoil the scenarios after it.
probe values-mid
check "values-mid: FCGI_GET_VALUES inside a request is answered" grep -Eq "^${values}[|]" <<<"$(seen)"
expect "values-mid: and so is the request, its params intact" "$(seen | cut -d'|' -f2-)" "status 200|end 0 0|open"

# keep-conn, pipeline, dribble, split-body and padding: one order each.
expect "the stream holds exactly the five orders" "$(t_count)" 5
check "the responder still runs" bb_alive "$fcgi"
kill -TERM "$fcgi"
wait "$fcgi"
expect "and exits 0 on SIGTERM" "$?" 0

# The scenarios below stop or starve their responder: each has its own, so
# that a failure stays with its scenario.

# Kept connections, idle at SIGTERM: a new request after it is refused by
# the close of its connection, or answered whole and then closed. In
# stop-batch, the signal and the requests reach the responder in one
# epoll_wait(), the connections still idle when it reads the signal.
for sc in stop-keep stop-batch; do
	if start_fcgi "$sc" && ready_on "$FCGI_SOCK"; then
		probe_on "$FCGI_SOCK" "$sc" "$FCGI_PID"
		exit_within "$FCGI_PID" 5000
		expect "$sc: three kept connections served, open" \
			"$(seen | cut -d'|' -f1-9)" \
			"status 200|end 0 0|open|status 200|end 0 0|open|status 200|end 0 0|open"
		expect "$sc: after SIGTERM, each closed, or answered whole then closed" \
			"$(grep -Ec '^conn [123] (closed|reset|status 200 closed)$' <<<"$OUT")|$RC" "3|0"
		check "$sc: the responder exits within 3 s of SIGTERM (took $EXIT_MS ms)" \
			test "$EXIT_MS" -le 3000
		expect "$sc: and exits 0" "$EXIT_RC" 0
	else
		not_ok "$sc: the responder did not get ready"
	fi
done

# An order in hand at SIGTERM, on a kept connection: answered, then closed.
if start_fcgi stop-inflight && ready_on "$FCGI_SOCK"; then
	probe_on "$FCGI_SOCK" stop-inflight "$FCGI_PID"
	exit_within "$FCGI_PID" 5000
	expect "stop-inflight: the order in hand is answered, then the connection closed" \
		"$(seen)" "status 200|end 0 0|status 200|end 0 0|closed"
	id=$(body 2 | jq -r .order_id 2>/dev/null)
	stored=$(bb_jsutil -s "$BB_NATS_URL" last ORDERS "orders.waiting_to_cook.$id")
	expect "stop-inflight: the order is in the stream" "$(sed -n 1p <<<"$stored")" "Nats-Msg-Id: $id"
	check "stop-inflight: the responder exits within 3 s of SIGTERM (took $EXIT_MS ms)" \
		test "$EXIT_MS" -le 3000
	expect "stop-inflight: and exits 0" "$EXIT_RC" 0
else
	not_ok "stop-inflight: the responder did not get ready"
fi

# Connections accepted, their requests not yet written, at SIGTERM: the
# web server is about to write them, so the one that comes is answered,
# not closed unread. The other, silent, is closed when the stop gives up
# on requests not in full, nats.ack_timeout_ms + 2 s after the signal.
fresh_ack_ms=500
if start_fcgi stop-fresh PADDOCK_NATS_ACK_TIMEOUT_MS=$fresh_ack_ms && ready_on "$FCGI_SOCK"; then
	probe_on "$FCGI_SOCK" stop-fresh "$FCGI_PID"
	exit_within "$FCGI_PID" 8000
	expect "stop-fresh: the request written after SIGTERM is answered, then closed; the silent one closed" \
		"$(seen)" "status 200|end 0 0|conn 1 status 200 closed|conn 2 closed"
	check "stop-fresh: the responder exits when it gives up on the silent one (took $EXIT_MS ms)" \
		in_range "$EXIT_MS" $((fresh_ack_ms + 2000)) $((fresh_ack_ms + 4000))
	expect "stop-fresh: and exits 0" "$EXIT_RC" 0
	check "stop-fresh: the log says it closed one connection with no request" \
		grep -q 'stopping: 1 connection(s) closed with no request received in full' "$T_DIR/stop-fresh.log"
else
	not_ok "stop-fresh: the responder did not get ready"
fi

# fcgi.max_conns 3: three connections held, and a fourth waits in the
# listen backlog until one of them closes; FCGI_GET_VALUES says 3.
if start_fcgi max-conns PADDOCK_FCGI_MAX_CONNS=3 && ready_on "$FCGI_SOCK"; then
	probe_on "$FCGI_SOCK" max-conns 3
	v3='values FCGI_MAX_CONNS=3 FCGI_MAX_REQS=3 FCGI_MPXS_CONNS=0'
	expect "max-conns: three held, the fourth unanswered until the first closes" \
		"$(seen)" "$v3|$v3|$v3|held 3|quiet|$v3"
	check "max-conns: the responder warns that it holds its limit" \
		grep -q '3 connections held (fcgi.max_conns): not accepting until one closes' \
		"$T_DIR/max-conns.log"
	kill -TERM "$FCGI_PID"
	exit_within "$FCGI_PID" 5000
	expect "max-conns: the responder exits 0 on SIGTERM" "$EXIT_RC" 0
else
	not_ok "max-conns: the responder did not get ready"
fi

# NATS frozen (SIGSTOP: connected, acknowledging nothing), two orders in
# one write: the second is published only once the first has its 504, so
# its own 504 comes one acknowledgement timeout later. NATS is resumed
# whatever happens, before the EXIT trap stops it (a stopped process would
# not act on SIGTERM).
ack_ms=700
# The EXIT trap while NATS is frozen: resume it, then end as t_end does,
# with the status the script exits with.
thaw_and_end() {
	local rc=$?
	kill -CONT "$BB_NATS_PID" 2>/dev/null
	(exit "$rc")
	t_end
}
# freeze_nats: stop NATS (SIGSTOP) until it is stopped, resumed by the
# EXIT trap whatever happens; thaw_nats: resume it, and the trap as it was.
freeze_nats() {
	local i
	trap thaw_and_end EXIT
	kill -STOP "$BB_NATS_PID"
	for ((i = 0; i < 100; i++)); do
		[[ "$(ps -o stat= -p "$BB_NATS_PID")" == T* ]] && break
		sleep 0.01
	done
}
thaw_nats() {
	kill -CONT "$BB_NATS_PID"
	trap t_end EXIT
}
if start_fcgi pipeline-timeout PADDOCK_NATS_ACK_TIMEOUT_MS=$ack_ms && ready_on "$FCGI_SOCK"; then
	freeze_nats
	probe_on "$FCGI_SOCK" pipeline-timeout
	thaw_nats
	expect "pipeline-timeout: both orders get 504, the connection stays" \
		"$(seen)" "status 504|end 0 0|status 504|end 0 0|open"
	read -r first second <<<"$(sed -n 's/^after //p' <<<"$OUT" | paste -sd' ')"
	first=${first:-0} second=${second:-0}
	check "pipeline-timeout: the first after about $ack_ms ms (took $first ms)" \
		in_range "$first" $((ack_ms * 8 / 10)) $((ack_ms * 4))
	check "pipeline-timeout: the second one timeout later, not together (+$((second - first)) ms)" \
		in_range $((second - first)) $((ack_ms * 8 / 10)) $((ack_ms * 4))
	ready_on "$FCGI_SOCK"
	expect "pipeline-timeout: /health/ready is 200 again once NATS resumes" "$(seen)" \
		"status 200|end 0 0|closed"
	kill -TERM "$FCGI_PID"
	exit_within "$FCGI_PID" 5000
	expect "pipeline-timeout: the responder exits 0 on SIGTERM" "$EXIT_RC" 0
else
	not_ok "pipeline-timeout: the responder did not get ready"
fi

# An order read in full just before the stop's deadline (400 ms before
# it, nats.ack_timeout_ms + 2 s after SIGTERM), with NATS frozen: it was
# published, so it waits for its own deadline and gets its 504, after the
# stop's. Without that wait, the web server would see the connection close
# unanswered. NATS is thawed as soon as the answer is in: frozen 4 s, it
# would be found stale and the order failed earlier.
late_ack_ms=800 # PROBE_LATE_ACK_MS in tests/fcgi-probe.c
if start_fcgi stop-late PADDOCK_NATS_ACK_TIMEOUT_MS=$late_ack_ms && ready_on "$FCGI_SOCK"; then
	freeze_nats
	probe_on "$FCGI_SOCK" stop-late "$FCGI_PID"
	thaw_nats
	exit_within "$FCGI_PID" 10000
	expect "stop-late: the order ended 2.4 s after SIGTERM gets its 504, then the close" \
		"$(seen)" "conn 1 status 504 closed"
	after=$(sed -n 's/^after //p' <<<"$OUT")
	check "stop-late: the 504 came after the stop's deadline, at the order's own (${after:-?} ms after SIGTERM)" \
		in_range "${after:-0}" $((late_ack_ms * 2 + 1500)) $((late_ack_ms * 2 + 3000))
	check "stop-late: the responder exits once it is answered (took $EXIT_MS ms, answered at ${after:-?})" \
		test "$EXIT_MS" -le $((${after:-0} + 1000))
	expect "stop-late: and exits 0" "$EXIT_RC" 0
	check "stop-late: the log names no connection closed unanswered" \
		bash -c "! grep -q 'closed unanswered' '$T_DIR/stop-late.log'"
else
	not_ok "stop-late: the responder did not get ready"
fi
