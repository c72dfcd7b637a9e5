# lib.sh: shared by the end-to-end scenarios, one scenario per script. Each
# runs real servers (nats-server -js, spawn-fcgi + paddock-fcgi, lighttpd)
# on free ports in a private temporary directory, started through the same
# bb_* functions as `./boxbox up`, and stopped by PID from an EXIT trap.
# Output is TAP-like; the exit status is what automake counts.

set -uo pipefail
: "${BB_SRCDIR:?run the scenarios through make check}"
: "${BB_BUILDDIR:?run the scenarios through make check}"
BB_LIB=1 . "$BB_SRCDIR/boxbox"

T_N=0
T_FAILED=0

t_begin() {
	T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/boxbox-e2e.XXXXXX")
	bb_stack_init "$T_DIR"
	trap t_end EXIT
	# A scenario never hangs CI: after T_TIMEOUT seconds it fails.
	trap 'echo "# timed out after ${T_TIMEOUT:-120} s"; exit 124' TERM
	# Its output goes nowhere: an open stdout would keep `script | tail`
	# waiting for the sleep.
	(sleep "${T_TIMEOUT:-120}" && kill -TERM $$) >/dev/null 2>&1 &
	T_WATCHDOG=$!
	echo "# $(basename "$0"): $*"
}

t_end() {
	local rc=$?
	# The sleep first, so the watchdog never signals a recycled PID.
	pkill -P "$T_WATCHDOG" 2>/dev/null
	kill "$T_WATCHDOG" 2>/dev/null
	# A scenario that died on its own (a server did not start) fails.
	[ "$rc" = 0 ] || { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - the scenario stopped early (exit $rc)"; }
	bb_stack_stop
	if [ "$T_FAILED" -gt 0 ]; then
		for f in "$T_DIR"/*.log; do
			[ -s "$f" ] || continue
			echo "# --- last lines of $(basename "$f")"
			tail -15 "$f" | sed 's/^/#   /'
		done
	fi
	[ -n "${T_KEEP:-}" ] || rm -rf "$T_DIR"
	echo "1..$T_N"
	echo "# $((T_N - T_FAILED)) passed, $T_FAILED failed"
	[ "$T_FAILED" = 0 ] && exit 0
	exit 1
}

ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }

# check DESCRIPTION COMMAND...: one assertion. The command's output goes
# nowhere: only TAP lines on standard output.
check() {
	local desc=$1
	shift
	if "$@" >/dev/null; then ok "$desc"; else not_ok "$desc"; fi
}

# expect DESCRIPTION ACTUAL EXPECTED
expect() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		echo "#   expected: $3"
		echo "#   got:      $2"
	fi
}

# Start NATS, the pool, the relay and lighttpd on free ports. T_PROCS
# responder processes.
t_stack() {
	bb_start_nats "$(bb_jsutil port)"
	bb_start_pool "$T_DIR/paddock.sock" "${T_PROCS:-2}" -c "$BB_SRCDIR/conf/paddock.conf"
	bb_start_relay "$(bb_jsutil port)" -c "$BB_SRCDIR/conf/paddock.conf"
	bb_start_lighttpd "$(bb_jsutil port)"
}

# t_req METHOD PATH [curl args...]: sets T_STATUS, T_BODY, T_HEADERS
# (lower-cased names) and T_TIME (seconds).
t_req() {
	local method=$1 path=$2 out how=(-X "$1")
	shift 2
	# -X HEAD would make curl wait for the body Content-Length announces.
	[ "$method" = HEAD ] && how=(-I)
	rm -f "$T_DIR/h" "$T_DIR/b"
	touch "$T_DIR/b"
	out=$(curl -sS "${how[@]}" -D "$T_DIR/h" -o "$T_DIR/b" \
		-w '%{http_code} %{time_total}' --max-time 20 "$@" "${T_BASE:-$BB_URL}$path")
	T_STATUS=${out%% *}
	T_TIME=${out#* }
	T_BODY=$(cat "$T_DIR/b")
	T_HEADERS=$(tr -d '\r' <"$T_DIR/h" |
		awk '{ i = index($0, ": "); if (i) print tolower(substr($0, 1, i - 1)) substr($0, i); else print }')
}

# t_post BODY [curl args...]: POST /v1/order as application/json.
t_post() {
	local body=$1
	shift
	t_req POST /v1/order -H 'Content-Type: application/json' --data-binary "$body" "$@"
}

# The value of a response header (name in lower case).
t_header() { printf '%s\n' "$T_HEADERS" | sed -n "s/^$1: //p" | head -1; }

t_json() { printf '%s' "$T_BODY" | jq -r "$1" 2>/dev/null; }

t_count() { bb_jsutil -s "$BB_NATS_URL" count ORDERS; }

SEED_BODY='{"size":"large","username":"tubias","destination":"manoel moreira"}'

# ---- SSE streams -----------------------------------------------------------

# relay_metric NAME: the value of one sample of the relay's /metrics.
relay_metric() {
	curl -sS --max-time 5 "$BB_RELAY_URL/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# metric_is NAME VALUE: the relay's sample NAME is VALUE.
metric_is() { [ "$(relay_metric "$1")" = "$2" ]; }
# wait_metric NAME VALUE: until it is (10 s).
wait_metric() { bb_until 200 0.05 metric_is "$@"; }

# sse_open NAME URL [curl args]: read a stream into $T_DIR/NAME.sse in the
# background (its PID in SSE_PID[NAME]); returns once ": connected" came.
declare -A SSE_PID
sse_open() {
	local name=$1 url=$2 i
	shift 2
	curl -sS -N --max-time "${T_TIMEOUT:-120}" "$@" "$url" \
		>"$T_DIR/$name.sse" 2>"$T_DIR/$name.err" &
	SSE_PID[$name]=$!
	bb_track $! "curl-$name"
	for ((i = 0; i < 200; i++)); do
		grep -q '^: connected' "$T_DIR/$name.sse" 2>/dev/null && return 0
		sleep 0.025
	done
	echo "# stream $name did not connect: $(cat "$T_DIR/$name.err" "$T_DIR/$name.sse")" >&2
	return 1
}

# sse_wait NAME REGEX [SECONDS]: until a line of the stream matches.
sse_wait() {
	local name=$1 re=$2 limit=${3:-5} start
	start=$(date +%s%N)
	until grep -Eq "$re" "$T_DIR/$name.sse" 2>/dev/null; do
		[ $(($(date +%s%N) - start)) -gt $((limit * 1000000000)) ] && return 1
		sleep 0.01
	done
}

# The ids a stream received, space-separated, in order.
sse_ids() { sed -n 's/^id: //p' "$T_DIR/$1.sse" | tr '\n' ' ' | sed 's/ $//'; }

sse_close() { kill "${SSE_PID[$1]}" 2>/dev/null; wait "${SSE_PID[$1]}" 2>/dev/null; true; }

# t_orders N: post N orders at the front door; their ids in T_IDS.
t_orders() {
	local i
	T_IDS=()
	for ((i = 0; i < $1; i++)); do
		t_post "$SEED_BODY"
		T_IDS+=("$(t_json .order_id)")
	done
}
