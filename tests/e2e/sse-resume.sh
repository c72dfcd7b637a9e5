#!/usr/bin/env bash
# A stream resumed after a disconnect gets exactly the events it missed, in
# order, with no gap and no duplicate at the seam: from the in-memory ring,
# from JetStream once the ring has moved on, with a reset event once even
# JetStream has dropped them or never had the id (past the stream's end),
# and from a time with since=. A client without
# Last-Event-ID gets live events only, or the last replay_last first. All
# of it holds right after a relay starts, while it back-fills its ring,
# and on a stream purged to its end.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "SSE resume: ring, JetStream, reset, since, replay_last"
# A ring of 16 events, so that 40 missed events must come from JetStream.
export PADDOCK_RELAY_RING=16
t_stack

# sse_events NAME: the stream's events, one per line: "<id>" or
# "<id>:<event>" when the event has a name.
sse_events() {
	awk '/^id: / { id = substr($0, 5) }
		/^event: / { ev = substr($0, 8) }
		/^$/ { if (id != "" || ev != "") print id (ev != "" ? ":" ev : ""); id = ""; ev = "" }' \
		"$T_DIR/$1.sse" | tr '\n' ' ' | sed 's/ $//'
}

# sse_start NAME URL [curl args]: sse_open without waiting for the stream
# to connect.
sse_start() {
	local name=$1 url=$2
	shift 2
	curl -sS -N --max-time "${T_TIMEOUT:-120}" "$@" "$url" \
		>"$T_DIR/$name.sse" 2>"$T_DIR/$name.err" &
	SSE_PID[$name]=$!
	bb_track $! "curl-$name"
}

# Stream z asks for everything since 2020 while the stream is still empty:
# it waits for the first event.
check "stream z opens with since= on the empty stream" \
	sse_open z "$BB_RELAY_URL/v1/order/sse?since=2020-01-01T00:00:00Z"
ring0=$(relay_metric sse_relay_resumes_ring_total)
js0=$(relay_metric sse_relay_resumes_jetstream_total)

# ---- (a) from the ring, with the Last-Event-ID header -------------------
check "stream a connects" sse_open a "$BB_RELAY_URL/v1/order/sse"
t_orders 3
check "stream a receives the first three events" sse_wait a '^id: 3$' 10
expect "with ids 1 2 3" "$(sse_ids a)" "1 2 3"
check "so does stream z" sse_wait z '^id: 3$' 10
expect "with ids 1 2 3 too" "$(sse_ids z)" "1 2 3"
sse_close a
sse_close z
t_orders 3
check "the relay saw the three missed orders" wait_metric sse_relay_last_sequence 6
check "stream b resumes with Last-Event-ID: 3" \
	sse_open b "$BB_RELAY_URL/v1/order/sse" -H 'Last-Event-ID: 3'
check "stream b receives the missed events" sse_wait b '^id: 6$' 10
t_orders 1
check "and then the live one" sse_wait b '^id: 7$' 10
expect "exactly 4 5 6, then the live 7 once" "$(sse_ids b)" "4 5 6 7"
expect "the resume came from the ring" "$(relay_metric sse_relay_resumes_ring_total)" $((ring0 + 1))
sse_close b

# ---- (b) from the ring, with the query parameter ------------------------
t_orders 3
check "the relay saw orders 8 to 10" wait_metric sse_relay_last_sequence 10
check "stream c resumes with ?last_event_id=7" \
	sse_open c "$BB_RELAY_URL/v1/order/sse?last_event_id=7"
check "stream c receives the missed events" sse_wait c '^id: 10$' 10
t_orders 1
check "and then the live one" sse_wait c '^id: 11$' 10
expect "exactly 8 9 10, then the live 11 once" "$(sse_ids c)" "8 9 10 11"
expect "the resume came from the ring" "$(relay_metric sse_relay_resumes_ring_total)" $((ring0 + 2))
expect "neither resume needed JetStream" "$(relay_metric sse_relay_resumes_jetstream_total)" "$js0"
sse_close c

# ---- (c) from JetStream: the ring of 16 no longer reaches back ----------
check "40 events are published while no stream is open" \
	bb_jsutil -s "$BB_NATS_URL" pub orders.bulk 40 200
check "the relay saw them" wait_metric sse_relay_last_sequence 51
check "stream d resumes with Last-Event-ID: 11" \
	sse_open d "$BB_RELAY_URL/v1/order/sse" -H 'Last-Event-ID: 11'
check "stream d receives the 40 missed events" sse_wait d '^id: 51$' 15
t_orders 1
check "and then the live one" sse_wait d '^id: 52$' 10
expect "exactly 12 to 51 in order, then the live 52 once" "$(sse_ids d)" "$(seq -s ' ' 12 52)"
expect "the resume was replayed from JetStream" \
	"$(relay_metric sse_relay_resumes_jetstream_total)" $((js0 + 1))
expect "not from the ring" "$(relay_metric sse_relay_resumes_ring_total)" $((ring0 + 2))
check "the replay ended once the stream went live" wait_metric sse_relay_replays 0
sse_close d

# ---- (d) reset: JetStream no longer holds the id either -----------------
check "the stream is purged down to its last 5 messages (48 to 52)" \
	bb_jsutil -s "$BB_NATS_URL" purge ORDERS 5
expect "5 messages are left" "$(t_count)" 5
resets0=$(relay_metric sse_relay_resets_total)
check "stream e resumes with Last-Event-ID: 20" \
	sse_open e "$BB_RELAY_URL/v1/order/sse" -H 'Last-Event-ID: 20'
check "stream e receives what the stream still holds" sse_wait e '^id: 52$' 15
t_orders 1
check "and then the live one" sse_wait e '^id: 53$' 10
expect "a reset event first, then 48 to 52, then the live 53" \
	"$(sse_events e)" "47:reset 48 49 50 51 52 53"
check "the reset names the first available id" \
	grep -qx 'data: {"first_id":48}' "$T_DIR/e.sse"
expect "the reset is counted" "$(relay_metric sse_relay_resets_total)" $((resets0 + 1))
expect "as a resume from JetStream" "$(relay_metric sse_relay_resumes_jetstream_total)" $((js0 + 2))
sse_close e

# ---- (e) since=<RFC 3339 time> --------------------------------------------
# A second either side of the mark, so that the NATS timestamps of the
# orders cannot fall on the wrong side of it on a slow machine.
sleep 1
since=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
sleep 1
t_orders 2
check "the relay saw orders 54 and 55" wait_metric sse_relay_last_sequence 55
check "stream f starts from since=$since" \
	sse_open f "$BB_RELAY_URL/v1/order/sse?since=$since"
check "stream f receives the events since then" sse_wait f '^id: 55$' 10
t_orders 1
check "and then the live one" sse_wait f '^id: 56$' 10
expect "exactly 54 55, then the live 56 once" "$(sse_ids f)" "54 55 56"
expect "since= is replayed from JetStream" "$(relay_metric sse_relay_resumes_jetstream_total)" $((js0 + 3))
sse_close f

# ---- (f) no Last-Event-ID: live only; or replay_last first -----------------
check "stream g opens without Last-Event-ID" sse_open g "$BB_RELAY_URL/v1/order/sse"
# Stream j asks for everything since a time after the last event: there is
# nothing to replay, and the next event must come once.
sleep 1
check "stream j opens with since= a time after the last event" \
	sse_open j "$BB_RELAY_URL/v1/order/sse?since=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)"
check "with nothing to replay it goes live at once: no replay holds on" \
	wait_metric sse_relay_replays 0
t_orders 1
check "stream g receives the live event" sse_wait g '^id: 57$' 10
expect "and nothing of the history" "$(sse_ids g)" "57"
check "stream j receives it too" sse_wait j '^id: 57$' 10
t_orders 1
check "and the next" sse_wait j '^id: 58$' 10
expect "stream j got 57 and 58, each once" "$(sse_ids j)" "57 58"
check "no replay is left running" wait_metric sse_relay_replays 0
sse_close g
sse_close j

# A second relay with replay_last = 2 and a ring of 4096, on its own port,
# after 3000 more events: it back-fills its ring with them at start-up.
# Streams h, k and l open as soon as the relay answers, while it likely
# still back-fills, as after a restart; stream i once it is settled. h and
# i get the same last two; k, at the end already, only what is new; l
# what it missed.
check "3000 more events are published" bb_jsutil -s "$BB_NATS_URL" pub orders.bulk 3000 4000
PADDOCK_RELAY_REPLAY_LAST=2 PADDOCK_RELAY_RING=4096 PADDOCK_LOG_FILE=$T_DIR/relay-last.log \
	bb_start_relay "$(bb_jsutil port)" -c "$BB_SRCDIR/conf/paddock.conf"
sse_start h "$BB_RELAY_URL/v1/order/sse"
sse_start k "$BB_RELAY_URL/v1/order/sse" -H 'Last-Event-ID: 3058'
sse_start l "$BB_RELAY_URL/v1/order/sse" -H 'Last-Event-ID: 3000'
check "stream h opens on it at once, without Last-Event-ID" sse_wait h '^: connected' 10
check "stream k resumes on it at once from the last event" sse_wait k '^: connected' 10
check "stream l resumes on it at once from 3000" sse_wait l '^: connected' 10
check "the replay_last relay is up" wait_metric sse_relay_nats_connected 1
check "and has seen every event" wait_metric sse_relay_last_sequence 3058
check "stream i opens on it, without Last-Event-ID" sse_open i "$BB_RELAY_URL/v1/order/sse"
check "stream h receives the last two events" sse_wait h '^id: 3058$' 10
check "so does stream i" sse_wait i '^id: 3058$' 10
t_orders 1
check "and then the live one" sse_wait h '^id: 3059$' 10
check "both of them" sse_wait i '^id: 3059$' 10
check "and the resumed streams" sse_wait k '^id: 3059$' 10
check "all of them" sse_wait l '^id: 3059$' 10
expect "stream h got exactly 3057 3058, then the live 3059" "$(sse_ids h)" "3057 3058 3059"
expect "so did stream i" "$(sse_ids i)" "3057 3058 3059"
expect "stream k got the live 3059 only" "$(sse_ids k)" "3059"
expect "stream l got 3001 to 3058, then the live 3059" "$(sse_ids l)" "$(seq -s ' ' 3001 3059)"
check "no replay is left running on the second relay" wait_metric sse_relay_replays 0
sse_close h
sse_close i
sse_close k
sse_close l

# A third relay starts after the stream was purged to its end (as max_age
# expiry leaves it): nothing to back-fill, so its ring is ready at once,
# and a resume from the last id is served from it, live, with no JetStream
# replay held open until the next order.
check "the stream is purged" bb_jsutil -s "$BB_NATS_URL" purge ORDERS 0
PADDOCK_LOG_FILE=$T_DIR/relay-purged.log \
	bb_start_relay "$(bb_jsutil port)" -c "$BB_SRCDIR/conf/paddock.conf"
check "the relay on the purged stream is up" wait_metric sse_relay_nats_connected 1
check "and knows where the stream ends" wait_metric sse_relay_last_sequence 3059
check "stream m resumes on it from the last id" \
	sse_open m "$BB_RELAY_URL/v1/order/sse" -H 'Last-Event-ID: 3059'
expect "from the ring, ready with nothing in it" "$(relay_metric sse_relay_resumes_ring_total)" 1
expect "no replay runs for it" "$(relay_metric sse_relay_replays)" 0
t_orders 1
check "stream m gets the next order" sse_wait m '^id: 3060$' 10
expect "and only it" "$(sse_ids m)" "3060"
sse_close m

# A Last-Event-ID past the stream's end, as JetStream has it: from a
# stream since deleted and made again, or made up. The client has none of
# what the stream holds, so it is told with a reset, as for an id too old,
# and gets all of it; not only what comes after its id, which may be never.
resets0=$(relay_metric sse_relay_resets_total)
check "stream n resumes with Last-Event-ID: 9000, past the end" \
	sse_open n "$BB_RELAY_URL/v1/order/sse" -H 'Last-Event-ID: 9000'
check "stream n receives what the stream holds" sse_wait n '^id: 3060$' 15
t_orders 1
check "and then the live one" sse_wait n '^id: 3061$' 10
expect "a reset event first, then 3060, then the live 3061" \
	"$(sse_events n)" "3059:reset 3060 3061"
check "the reset names the first available id" \
	grep -qx 'data: {"first_id":3060}' "$T_DIR/n.sse"
expect "the reset is counted" "$(relay_metric sse_relay_resets_total)" $((resets0 + 1))
check "no replay is left running" wait_metric sse_relay_replays 0
sse_close n
