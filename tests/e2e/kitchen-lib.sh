# kitchen-lib.sh: what the maestro scenarios share, sourced after lib.sh
# and t_stack. Everything reads the stream through jsutil, never the
# cook's own word.
CONF=$BB_SRCDIR/conf/paddock.conf

# start_maestro [VAR=value...]: one more cook, logging to maestro.log;
# its PID in MAESTRO_PID.
start_maestro() {
	env "$@" PADDOCK_NATS_URL="$BB_NATS_URL" PADDOCK_LOG_FILE="$T_DIR/maestro.log" \
		"$BB_BUILDDIR/kitchen/maestro" -c "$CONF" &
	MAESTRO_PID=$!
	bb_track "$MAESTRO_PID" maestro
}
# kill_maestro: SIGKILL, without the shell's "Killed" noise.
kill_maestro() { { kill -KILL "$MAESTRO_PID" && wait "$MAESTRO_PID"; } 2>/dev/null; }
js() { bb_jsutil -s "$BB_NATS_URL" "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# state_wait ID STATE SECONDS: until orders.STATE.ID is stored.
state_wait() {
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		js last ORDERS "orders.$2.$1" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}
# counts ID: "subject count" lines for every subject of order ID.
counts() { js dump ORDERS | awk -v id="$1" '$2 ~ id { n[$2]++ } END { for (s in n) print s, n[s] }' | sort; }
# once_each ID STATE...: the stream holds exactly these states of ID, once.
once_each() {
	local id=$1 s out=""
	for s in "${@:2}"; do out+="orders.$s.$id 1"$'\n'; done
	[ "$(counts "$id")" = "$(printf '%s' "$out" | sort)" ]
}
# all_completed SECONDS ID...: until every ID is completed, SECONDS each.
all_completed() {
	local i s=$1
	shift
	for i in "$@"; do state_wait "$i" completed "$s" || return 1; done
}
# all_once ID...: every ID went through every state, each stored once.
all_once() {
	local i
	for i in "$@"; do
		once_each "$i" waiting_to_cook in_progress waiting_delivery completed || return 1
	done
}
msg_ids_ok() {
	js dump ORDERS | awk -v id="$1" '$2 ~ id && $2 !~ /waiting_to_cook/ { split($2, p, "."); if ($3 != id "." p[2]) bad++ } END { exit bad > 0 }'
}
data_of() { js last ORDERS "orders.$2.$1" | sed '1,2d'; }
# updated_ms ID STATE: that state's updated_at in Unix ms.
updated_ms() { data_of "$1" "$2" | jq '.updated_at | sub("\\.(?<ms>[0-9]{3})Z$"; "Z") as $s | ($s | fromdate) * 1000 + (.[20:23] | tonumber)'; }
health() { js req kitchen.maestro.health '' 1000; }
# health_wait STATE SECONDS: until maestro's health says STATE; its reply
# in HEALTH.
health_wait() {
	local start
	start=$(now_ms)
	while HEALTH=$(health 2>/dev/null); [ "$(jq -r .state <<<"$HEALTH" 2>/dev/null)" != "$1" ]; do
		[ $(($(now_ms) - start)) -gt $(($2 * 1000)) ] && return 1
		sleep 0.02
	done
}
# log_wait TEXT SECONDS: until maestro.log holds TEXT.
log_wait() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		grep -F -- "$1" "$T_DIR/maestro.log" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}
