#!/usr/bin/env bash
# tifosi/tifosi, the seed's load scenarios, against a real stack: both at
# 10 % time (about 3 s), every order answered 200 and stored exactly once,
# the summary complete, the ramps as planned, latencies timed without the
# waits; varied bodies all valid; usage, an unreachable target and a stop
# by signal.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
command -v wrk >/dev/null || { echo "# SKIP: wrk is not installed"; exit 77; }
TIFOSI=$BB_SRCDIR/tifosi/tifosi
t_begin "tifosi: the seed's load scenarios"
t_stack

# value KEY FILE: from a scenario's .result file.
value() { awk -v k="$1" '$1 == k { print $2; exit }' "$2"; }
# The clients column of a .timeline file, space-separated.
clients() { awk '{ printf "%s%d", (NR > 1 ? " " : ""), $2 }' "$1"; }
# Answers with a status other than 2xx in a .result file.
non2xx() { awk '$1 ~ /^status_/ && $1 !~ /^status_2[0-9][0-9]$/ { n += $2 } END { print n + 0 }' "$1"; }
# |a - b| <= limit
near() { [ "$1" -le $(($2 + $3)) ] && [ "$1" -ge $(($2 - $3)) ]; }

# ---- both scenarios, the seed's body --------------------------------------
R=$T_DIR/both
before=$(t_count)
rc=0
"$TIFOSI" both -u "$BB_URL" -s 10 -o "$R" >"$T_DIR/both.out" 2>&1 || rc=$?
sed 's/^/#   /' "$T_DIR/both.out"
expect "both scenarios: exit 0" "$rc" 0
out=$(cat "$T_DIR/both.out")
expect "a block per scenario and one for both" \
	"$(grep -E '^== (Ferrari is losing|Ferrari is winning|Both scenarios)' <<<"$out" | cut -c1-22)" \
	"$(printf '%s\n' '== Ferrari is losing: ' '== Ferrari is winning:' '== Both scenarios, tog')"
expect "three latency lines with p50, p90, p99 and max" \
	"$(grep -Ec '^  latency   p50 [0-9.]+ ms, p90 [0-9.]+ ms, p99 [0-9.]+ ms, max [0-9.]+ ms$' <<<"$out")" 3
total=0
for s in losing winning; do
	f=$R/$s.result
	answered=$(value answered "$f")
	check "$s: requests answered (${answered:-none})" [ "${answered:-0}" -gt 0 ]
	expect "$s: every request sent was answered" "$(value sent "$f")" "$answered"
	expect "$s: no answer other than 2xx" "$(non2xx "$f")" 0
	ok2xx=$(awk '$1 ~ /^status_2/ { n += $2 } END { print n + 0 }' "$f")
	expect "$s: the gateway answers 200" "$(value status_200 "$f")" "$answered"
	check "$s: the printed statuses say so" grep -q "^  statuses  200: $ok2xx\$" <<<"$(sed -n "/^== Ferrari is $s/,/^  latency/p" <<<"$out")"
	total=$((total + ok2xx))
	# The script's own timing and wrk's agree: neither includes the waits
	# (100 ms of think time here), which would show at p50 as ~100 ms.
	check "$s: p50 agrees with wrk's (±20 ms)" near "$(value p50_us "$f")" "$(value wrk_p50_us "$f")" 20000
	check "$s: max agrees with wrk's (±20 ms)" near "$(value max_us "$f")" "$(value wrk_max_us "$f")" 20000
	expect "$s: no extra request" "$(value extra "$f")" 0
done
expect "both: the total's statuses add up" "$(sed -n '/^== Both/,$p' <<<"$out" | sed -n 's/^  statuses  //p')" "200: $total"
expect "the stream grew by exactly the 2xx answers" "$(($(t_count) - before))" "$total"

# The ramps, as the clients that sent in each scenario second (0.1 s here).
read -ra c < <(clients "$R/losing.timeline")
echo "#   losing clients per second: ${c[*]}"
expect "losing: 20 scenario seconds" "${#c[@]}" 20
check "losing: starts low (${c[0]}) and ends low (${c[19]})" test "${c[0]}" -le 2 -a "${c[19]}" -le 2
# On a busy machine a slow answer can make a client miss a 0.1 s second.
top=$(printf '%s\n' "${c[@]}" | sort -n | tail -1)
check "losing: 7 to 10 clients at the top ($top)" test "$top" -ge 7 -a "$top" -le 10
check "losing: rises, then falls" test "${c[4]}" -lt "${c[9]}" -a "${c[15]}" -lt "${c[10]}"
read -ra c < <(clients "$R/winning.timeline")
echo "#   winning clients per second: ${c[*]}"
expect "winning: 22 scenario seconds" "${#c[@]}" 22
check "winning: 8 to 10 clients for the first 10 s" \
	test "$(printf '%s\n' "${c[@]:0:10}" | sort -n | head -1)" -ge 8 -a "$(printf '%s\n' "${c[@]:0:10}" | sort -n | tail -1)" -le 10
top=$(printf '%s\n' "${c[@]}" | sort -n | tail -1)
check "winning: 70 to 100 at the spike ($top)" test "$top" -ge 70 -a "$top" -le 100
check "winning: the spike is at 11-13 s (${c[10]} ${c[11]} ${c[12]})" test "${c[11]}" -ge 70 -o "${c[12]}" -ge 70
check "winning: back down at the end (${c[21]})" [ "${c[21]}" -le 25 ]

# ---- varied bodies ----------------------------------------------------------
before=$(t_count)
rc=0
"$TIFOSI" losing -u "$BB_URL" -s 5 -b varied -o "$T_DIR/varied" >"$T_DIR/varied.out" 2>&1 || rc=$?
expect "varied bodies: exit 0" "$rc" 0
f=$T_DIR/varied/losing.result
expect "varied bodies: all answered 200" "$(value status_200 "$f")" "$(value sent "$f")"
expect "varied bodies: all stored" "$(($(t_count) - before))" "$(value status_200 "$f")"
sizes=$(bb_jsutil -s "$BB_NATS_URL" dump ORDERS | tail -n "$(value status_200 "$f")" |
	sed -n 's/.*"size":"\([a-z]*\)".*/\1/p' | sort -u | tr '\n' ' ')
expect "varied bodies: every size" "$sizes" "large medium small "

# ---- usage and failures -----------------------------------------------------
rc=0
"$TIFOSI" -h >"$T_DIR/h.out" 2>&1 || rc=$?
expect "-h: exit 0" "$rc" 0
check "-h: prints the usage" grep -q '^  tifosi/tifosi \[losing|winning|both\]' "$T_DIR/h.out"
rc=0
"$TIFOSI" podium >/dev/null 2>&1 || rc=$?
expect "an unknown scenario: exit 2" "$rc" 2
rc=0
"$TIFOSI" both -u "http://127.0.0.1:$(bb_jsutil port)" -s 10 >"$T_DIR/down.out" 2>&1 || rc=$?
expect "an unreachable target: exit 1" "$rc" 1
check "an unreachable target: says so" grep -q 'cannot reach' "$T_DIR/down.out"

# A stop by signal (Ctrl-C does the same) takes its wrk processes with it.
"$TIFOSI" winning -u "$BB_URL" >"$T_DIR/stop.out" 2>&1 &
pid=$!
for ((i = 0; i < 100; i++)); do
	wrks=$(pgrep -P "$pid" -x wrk | tr '\n' ' ') || true
	[ -n "$wrks" ] && break
	sleep 0.05
done
check "the run started a wrk ($wrks)" [ -n "$wrks" ]
sleep 1
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
expect "stopped by SIGTERM: exit 130" "$rc" 130
left=0
for w in $wrks; do bb_alive "$w" && left=$((left + 1)); done
expect "no wrk left running" "$left" 0
