#!/usr/bin/env bash
# FastCGI as fcgi/conn.c speaks it, record by record (tests/fcgi-probe), on
# a standalone responder: management records, FCGI_KEEP_CONN or not,
# requests that come byte by byte, in odd records or padded, a refused
# second request, aborts, wrong roles and versions, long parameters,
# bodies over the limit, and 500 connections at once.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "FastCGI protocol handling of paddock-fcgi"
bb_start_nats "$(bb_jsutil port)"

SOCK=$T_DIR/probe.sock
PADDOCK_NATS_URL=$BB_NATS_URL PADDOCK_LOG_FILE=$T_DIR/fcgi.log \
	"$BB_BUILDDIR/fcgi/paddock-fcgi" -s "$SOCK" -c "$BB_SRCDIR/conf/paddock.conf" \
	2>>"$T_DIR/fcgi.log" &
fcgi=$!
bb_track "$fcgi" paddock-fcgi
for ((i = 0; i < 200; i++)); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || bb_die "paddock-fcgi did not listen on $SOCK"

# probe SCENARIO [ARG]: run it; its lines in OUT, its exit status in RC.
probe() {
	OUT=$("$BB_BUILDDIR/tests/fcgi-probe" "$SOCK" "$@" 2>"$T_DIR/probe.err")
	RC=$?
	[ "$RC" = 0 ] || echo "# fcgi-probe $1: $(cat "$T_DIR/probe.err")"
}

# What the probe saw, bodies aside, as one line: "status 200|end 0 0|open",
# and "|exit 1" after a protocol surprise.
seen() {
	{ grep -v '^body ' <<<"$OUT"; [ "$RC" = 0 ] || echo "exit $RC"; } | paste -sd'|'
}

# The n-th body line (1 for the first).
body() { sed -n 's/^body //p' <<<"$OUT" | sed -n "${1}p"; }

# The stream is ready once /health/ready answers 200 (NATS, then ORDERS).
for ((i = 0; i < 100; i++)); do
	probe get /health/ready
	grep -qx 'status 200' <<<"$OUT" && break
	sleep 0.1
done
expect "the standalone responder gets ready" "$(seen)" "status 200|end 0 0|closed"

# FCGI_GET_VALUES names the three 1.0 variables and skips the unknown one.
probe get-values
values='values FCGI_MAX_CONNS=[1-9][0-9]* FCGI_MAX_REQS=[1-9][0-9]* FCGI_MPXS_CONNS=0'
check "get-values: the three variables, FCGI_MPXS_CONNS=0, and the connection stays" \
	grep -Eqx "${values}[|]open" <<<"$(seen)"

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
