#!/usr/bin/env bash
# The stream: created at start-up when missing, with file storage and a
# duplicate window of at least 2 minutes; an existing one used as it is,
# with a warning for each difference. -b: a TCP listener of its own.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "stream creation and reuse"
t_stack

expect "a missing stream is created as configured" \
	"$(bb_jsutil -s "$BB_NATS_URL" info ORDERS)" \
	"storage=file dup_s=120 max_age_s=604800 replicas=1 subjects=orders.>"
# The responder that created it logs it, from its readiness thread.
for ((i = 0; i < 40; i++)); do grep -q 'stream ORDERS created' "$T_DIR/pool.log" && break; sleep 0.05; done
check "its creation is logged" grep -q 'stream ORDERS created on orders.>' "$T_DIR/pool.log"

# A second, different stream that already exists is used as it is.
bb_jsutil -s "$BB_NATS_URL" mkstream OTHER 'other.>' memory 60
port=$(bb_jsutil port)
PADDOCK_NATS_URL=$BB_NATS_URL PADDOCK_STREAM_NAME=OTHER PADDOCK_STREAM_PREFIX=other \
	PADDOCK_STREAM_SUBJECTS='other.>' PADDOCK_LOG_FILE="$T_DIR/other.log" \
	"$BB_BUILDDIR/fcgi/paddock-fcgi" -b "127.0.0.1:$port" \
	-c "$BB_SRCDIR/conf/paddock.conf" &
bb_track $! paddock-fcgi-other
for ((i = 0; i < 100; i++)); do grep -q 'stream OTHER exists with a duplicate' "$T_DIR/other.log" 2>/dev/null && break; sleep 0.05; done
check "a memory stream is reported" grep -q 'stream OTHER exists with memory storage' "$T_DIR/other.log"
check "a short duplicate window is reported" grep -q 'stream OTHER exists with a duplicate window of 60s (configured 120s); using it as it is' "$T_DIR/other.log"
expect "and the stream is left as it was" "$(bb_jsutil -s "$BB_NATS_URL" info OTHER)" \
	"storage=memory dup_s=60 max_age_s=0 replicas=1 subjects=other.>"
check "-b opens a TCP listener" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
