# bench-lib.sh: what the benchmark scripts share. Sourced after boxbox's
# bb_* functions, with BENCH set to the script's name (for its messages
# and its temporary directory) and BENCH_KEEP to 1 to keep that directory.

say() { printf '%s: %s\n' "$BENCH" "$*" >&2; }
die() { say "$*"; exit 1; }

is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }

# bench_begin [TIMEOUT_S]: a run directory in DIR for the stack's files and
# PIDs, traps that stop what was started however the run ends, and with
# TIMEOUT_S a watchdog that stops the run after that long (exit 124).
bench_begin() {
	DIR=$(mktemp -d "${TMPDIR:-/tmp}/$BENCH.XXXXXX") || die "mktemp failed"
	bb_stack_init "$DIR"
	FINISHED=0
	WATCHDOG=
	BENCH_TIMEOUT=${1:-}
	trap bench_end EXIT
	trap 'if [ -f "$DIR/timed-out" ]; then say "stopped: timed out after $BENCH_TIMEOUT s"; exit 124; fi; say "stopped by SIGTERM"; exit 143' TERM
	trap 'say "interrupted"; exit 130' INT
	[ -n "${1:-}" ] || return 0
	# The watchdog's sleep goes with it, so nothing is left behind.
	(
		trap 'kill "$sp" 2>/dev/null; exit 0' TERM
		sleep "$1" &
		sp=$!
		wait "$sp" && : >"$DIR/timed-out" && kill -TERM $$ 2>/dev/null
	) &
	WATCHDOG=$!
}

# The EXIT trap: stop the stack, show the logs of a run that failed, and
# remove the run directory unless BENCH_KEEP=1.
bench_end() {
	local rc=$? f
	trap - TERM INT
	[ -z "$WATCHDOG" ] || kill "$WATCHDOG" 2>/dev/null
	bb_stack_stop
	if [ "$FINISHED" != 1 ]; then
		for f in "$DIR"/*.log "$DIR"/*.err "$DIR"/*.out; do
			[ -s "$f" ] || continue
			say "--- last lines of $(basename "$f")"
			tail -8 "$f" | sed 's/^/    /' >&2
		done
	fi
	if [ "${BENCH_KEEP:-}" = 1 ]; then
		say "run directory kept: $DIR"
	else
		rm -rf "$DIR"
	fi
	exit "$rc"
}

# cpu_ticks PID: utime + stime (fields 14 and 15 of /proc/PID/stat, read
# after the command name, which may hold spaces).
cpu_ticks() {
	local s f
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	read -r -a f <<<"${s##*) }"
	echo $((f[11] + f[12]))
}

# pids_cpu PID...: their CPU ticks, summed.
pids_cpu() {
	local pid t=0
	for pid in "$@"; do t=$((t + $(cpu_ticks "$pid"))); done
	echo "$t"
}

# pass 1|0 TEXT: one target's verdict; a FAIL makes VERDICT FAIL.
pass() {
	if [ "$1" = 1 ]; then
		echo "    PASS  $2"
	else
		echo "    FAIL  $2"
		VERDICT=FAIL
	fi
}

# bench_wait_ready SECONDS: until the stack's /health/ready answers 200
# (NATS up, stream ORDERS there, which a responder makes once it has
# started), or die.
bench_wait_ready() {
	bb_until $(($1 * 10)) 0.1 bb_answers "$BB_URL/health/ready" ||
		die "the stack was not ready in $1 s (/health/ready)"
}

# field FILE NAME: NAME=<value> from the wrk-result line that
# tests/bench/order-wrk.lua's done() wrote into FILE.
field() { sed -n "s/^wrk-result .*\\b$2=\\([^ ]*\\).*/\\1/p" "$1"; }
