#!/usr/bin/env bash
# An order posted at the front door reaches an SSE client in under a
# second directly, through lighttpd and through nginx: nothing buffers.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "SSE through each proxy"
t_stack

# nginx with the shipped site, as conf-proxies.sh starts it.
nport=$(bb_jsutil port)
mkdir -p "$T_DIR/nginx"
cp /etc/nginx/fastcgi_params "$T_DIR/nginx/"
sed -e "s#listen 127.0.0.1:8080;#listen 127.0.0.1:$nport;#" \
	-e "s#unix:/run/boxbox/paddock.sock#unix:$BB_POOL_SOCK#" \
	-e "s#server 127.0.0.1:8090;#server 127.0.0.1:$BB_RELAY_PORT;#" \
	"$BB_SRCDIR/conf/nginx/boxbox.conf" >"$T_DIR/nginx/boxbox.conf"
user=""
[ "$(id -u)" = 0 ] && user="user root root;"
cat >"$T_DIR/nginx/nginx.conf" <<NGINX
$user
daemon off;
worker_processes 1;
pid $T_DIR/nginx/nginx.pid;
error_log $T_DIR/nginx.log;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $T_DIR/nginx/body;
	fastcgi_temp_path $T_DIR/nginx/fastcgi;
	proxy_temp_path $T_DIR/nginx/proxy;
	uwsgi_temp_path $T_DIR/nginx/uwsgi;
	scgi_temp_path $T_DIR/nginx/scgi;
	include boxbox.conf;
}
NGINX
nginx -p "$T_DIR/nginx" -c "$T_DIR/nginx/nginx.conf" 2>>"$T_DIR/nginx.log" &
bb_track $! nginx
for ((i = 0; i < 100; i++)); do curl -fsS --max-time 1 -o /dev/null "http://127.0.0.1:$nport/health/live" 2>/dev/null && break; sleep 0.05; done

check "direct stream connects" sse_open direct "$BB_RELAY_URL/v1/order/sse"
check "stream through lighttpd connects" sse_open lighttpd "$BB_URL/v1/order/sse"
check "stream through nginx connects" sse_open nginx "http://127.0.0.1:$nport/v1/order/sse"

t_req GET /v1/order/sse --max-time 1 -o /dev/null
expect "lighttpd passes the event-stream type" "$(t_header content-type)" "text/event-stream"
expect "and no-cache" "$(t_header cache-control)" "no-cache"

t_post "$SEED_BODY"
id=$(t_json .order_id)
start=$(date +%s%N)
for s in direct lighttpd nginx; do
	sse_wait "$s" "\"order_id\":\"$id\"" 2
	ms=$((($(date +%s%N) - start) / 1000000))
	check "the order reaches the $s stream in under a second ($ms ms after the 200)" test "$ms" -lt 1000
done
expect "the event's id is its stream sequence" "$(sse_ids lighttpd)" "1"
check "the event's data is the stored order" grep -q "^data: {\"order_id\":\"$id\",\"size\":\"large\"" "$T_DIR/nginx.sse"
check "the stream opened with a retry and a comment" grep -q '^retry: [0-9]*$' "$T_DIR/direct.sse"
