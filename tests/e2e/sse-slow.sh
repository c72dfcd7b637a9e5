#!/usr/bin/env bash
# A client that stops reading is cut off once its queue passes
# relay.max_buffer, while a client that reads gets every event, and the
# relay's memory stays bounded: a slow reader costs at most max_buffer.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "SSE slow client cut off, others unharmed"
# 8 MiB: room for 1,024 events, so that the reading client (curl) keeps up
# on a loaded machine while the publisher runs flat out. 64 KiB lost it
# once at load 17; 1 MiB lost it twice under make -j2 check (the relay's
# warning: "client 3: cut off after event 3028: 1046052 bytes queued").
export PADDOCK_RELAY_MAX_BUFFER=8388608
# A small ring, so that what the relay holds is what the clients cost.
export PADDOCK_RELAY_RING=256
t_stack

# kB of the relay's memory: VmHWM (peak) or VmRSS (now).
relay_mem() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$BB_RELAY_PID/status"; }

# 6000 events of 8 KiB: 48 MiB, far more than the kernel buffers of the
# slow socket (a few MiB) plus max_buffer; a relay that queued without a cap
# would grow by some 45 MiB.
n=6000
bytes=8192
base=$(relay_mem VmRSS)

# The slow client: this shell sends the request on fd 7 and never reads.
exec 7<>"/dev/tcp/127.0.0.1/$BB_RELAY_PORT"
printf 'GET /v1/order/sse HTTP/1.1\r\nHost: x\r\n\r\n' >&7
check "a normal stream connects" sse_open fast "$BB_RELAY_URL/v1/order/sse"
expect "the relay counts both streams (and this request)" "$(curl -sS --max-time 5 "$BB_RELAY_URL/healthz" | jq .clients)" 3

check "$n events of $bytes bytes are published" bb_jsutil -s "$BB_NATS_URL" pub orders.bulk "$n" "$bytes"
check "the normal stream receives the last one" sse_wait fast "^id: $n\$" 60
expect "and every one, in order" "$(sse_ids fast | tr ' ' '\n' | awk '$1 != NR { bad = 1 } END { print NR, bad + 0 }')" "$n 0"
check "the normal stream is still connected" kill -0 "${SSE_PID[fast]}"
slow=$(relay_metric sse_relay_slow_disconnects_total)
# Exactly one: the reading client must not have been cut off too.
expect "the slow client alone was cut off (slow disconnects)" "$slow" 1
check "the relay logged it as a warning" \
	grep -q 'level=warn .*cut off after event [0-9]*: [0-9]* bytes queued, over relay.max_buffer' "$BB_RUN/relay.log"
# What the kernel buffered is still readable, then the relay's FIN.
timeout 20 cat <&7 >"$T_DIR/slow.out"
rc=$?
exec 7<&-
got=$(stat -c %s "$T_DIR/slow.out")
check "the relay closed the slow client's connection (EOF after $got bytes)" \
	test "$rc" = 0 -a "$got" -gt 0 -a "$got" -lt $((n * bytes))
check "the relay now counts the normal stream only (and this request)" \
	test "$(curl -sS --max-time 5 "$BB_RELAY_URL/healthz" | jq .clients)" = 2

hwm=$(relay_mem VmHWM)
rss=$(relay_mem VmRSS)
if ldd "$BB_BUILDDIR/relay/sse-relay" | grep libasan >/dev/null; then
	ok "relay memory bounded # SKIP under ASan (peak ${hwm} kB)"
else
	check "the relay's peak memory stayed under 64 MiB (${hwm} kB; now ${rss} kB)" \
		test "$hwm" -lt $((64 * 1024))
	check "it grew by less than 32 MiB during the burst (from ${base} kB)" \
		test $((hwm - base)) -lt $((32 * 1024))
fi
