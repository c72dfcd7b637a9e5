#!/usr/bin/env bash
# The systemd units as built (conf/systemd): systemd-analyze verify has
# nothing to say of any of them once their programs are the ones built
# here (it also checks that each ExecStart can run). Then socket
# activation as paddock-fcgi.socket does it: systemd-socket-activate holds
# the socket and starts paddock-fcgi on the first connection with the
# socket as descriptor 3 (LISTEN_FDS), behind lighttpd; an order through
# it is stored. Two sockets passed are refused with a clear message.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "systemd units and socket activation"

units=$(ls "$BB_BUILDDIR"/conf/systemd/*.s* 2>/dev/null | grep -c -v '\.tmp$')
expect "five units built" "$units" 5
mkdir -p "$T_DIR/units"
for f in "$BB_BUILDDIR"/conf/systemd/*.service "$BB_BUILDDIR"/conf/systemd/*.socket; do
	# ExecStart=<sbindir>/<program> ...: the program built here instead.
	prog=$(sed -n 's|^ExecStart=[^ ]*/\([^/ ]*\) .*|\1|p' "$f")
	[ -n "$prog" ] || { cp "$f" "$T_DIR/units/"; continue; } # the socket
	built=$(ls "$BB_BUILDDIR"/{fcgi,relay,kitchen}/"$prog" 2>/dev/null | head -1)
	check "$(basename "$f"): ExecStart runs $prog, built here" test -n "$built"
	sed "s|^ExecStart=[^ ]*/$prog |ExecStart=$built |" "$f" >"$T_DIR/units/$(basename "$f")"
done
# What it says of our units (not of the host's they pull in, nor its
# drop-ins), and its status.
out=$(cd "$T_DIR/units" && systemd-analyze verify --recursive-errors=no ./* 2>&1)
rc=$?
ours=$(grep -E 'paddock-fcgi|sse-relay|maestro|panettiere' <<<"$out")
expect "systemd-analyze verify: not a word of ours" "$ours" ""
expect "and its status 0" "$rc" 0
expect "the socket starts the first responder" \
	"$(sed -n 's/^Service=//p' "$T_DIR/units/paddock-fcgi.socket")" "paddock-fcgi@1.service"
expect "which takes the socket's descriptor" \
	"$(sed -n 's/^Sockets=//p' "$T_DIR/units/paddock-fcgi@.service")" "paddock-fcgi.socket"

# Socket activation, as systemd does it, behind lighttpd.
bb_start_nats "$(bb_jsutil port)"
sock=$T_DIR/activated.sock
# Like systemd, it passes only the environment it is given (-E).
san=()
for v in ASAN_OPTIONS UBSAN_OPTIONS; do [ -n "${!v:-}" ] && san+=(-E "$v=${!v}"); done
systemd-socket-activate -l "$sock" -E PADDOCK_NATS_URL="$BB_NATS_URL" \
	-E PADDOCK_LOG_FILE="$T_DIR/activated.log" ${san[@]+"${san[@]}"} \
	"$BB_BUILDDIR/fcgi/paddock-fcgi" -c "$BB_SRCDIR/conf/paddock.conf" \
	>>"$T_DIR/activate.log" 2>&1 &
ACTIVATED_PID=$! # the same process once it execs paddock-fcgi
bb_track "$ACTIVATED_PID" paddock-fcgi-activated
for ((i = 0; i < 100; i++)); do [ -S "$sock" ] && break; sleep 0.05; done
# lighttpd's first request (its start-up check) starts paddock-fcgi,
# which creates the stream within a second or so: ready, then an order.
BB_POOL_SOCK=$sock bb_start_lighttpd "$(bb_jsutil port)"
for ((i = 0; i < 100; i++)); do
	t_req GET /health/ready
	[ "$T_STATUS" = 200 ] && break
	sleep 0.1
done
expect "the activated responder gets ready" "$T_STATUS" 200
t_post "$SEED_BODY"
expect "an order through the activated responder gets 200" "$T_STATUS" 200
id=$(t_json .order_id)
check "and is stored" bb_jsutil -s "$BB_NATS_URL" last ORDERS "orders.waiting_to_cook.$id"
# (Its standard input is /dev/null there: the order came through fd 3.)
expect "it is paddock-fcgi, execed in systemd-socket-activate's place" \
	"$(tr '\0' ' ' <"/proc/$ACTIVATED_PID/cmdline")" \
	"$BB_BUILDDIR/fcgi/paddock-fcgi -c $BB_SRCDIR/conf/paddock.conf "
kill -TERM "$ACTIVATED_PID"
wait "$ACTIVATED_PID"
expect "SIGTERM: it stops, status 0" "$?" 0
bb_untrack "$ACTIVATED_PID"

# Two sockets: refused, saying so.
systemd-socket-activate -l "$T_DIR/one.sock" -l "$T_DIR/two.sock" \
	-E PADDOCK_NATS_URL="$BB_NATS_URL" ${san[@]+"${san[@]}"} \
	"$BB_BUILDDIR/fcgi/paddock-fcgi" -c "$BB_SRCDIR/conf/paddock.conf" \
	>"$T_DIR/two.log" 2>&1 &
TWO_PID=$!
bb_track "$TWO_PID" paddock-fcgi-two
for ((i = 0; i < 100; i++)); do [ -S "$T_DIR/one.sock" ] && break; sleep 0.05; done
curl -s --max-time 2 --unix-socket "$T_DIR/one.sock" http://x/ >/dev/null
wait "$TWO_PID"
rc=$?
bb_untrack "$TWO_PID"
check "two sockets: paddock-fcgi exits with an error ($rc)" test "$rc" != 0
check "naming the fix" grep -q 'systemd passed 2 sockets: give paddock-fcgi one' "$T_DIR/two.log"
