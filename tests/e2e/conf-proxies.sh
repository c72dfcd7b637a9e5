#!/usr/bin/env bash
# The shipped configurations work: paddock.conf passes -n, the lighttpd
# routes (used by every scenario) pass lighttpd's own check, and the nginx
# site starts and routes to the pool.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "shipped configurations"
t_stack

out=$("$BB_BUILDDIR/fcgi/paddock-fcgi" -n -c "$BB_SRCDIR/conf/paddock.conf" 2>&1)
expect "conf/paddock.conf passes paddock-fcgi -n" "$?" 0
check "and says so" grep -q 'configuration OK' <<<"$out"
printf 'nats: {\n\turl = "nats://x";\n\tack_timeout_ms = "fast";\n};\n' >"$T_DIR/bad.conf"
out=$("$BB_BUILDDIR/fcgi/paddock-fcgi" -n -c "$T_DIR/bad.conf" 2>&1)
expect "a bad file stops start-up" "$?" 1
check "with file, line and reason" grep -q "$T_DIR/bad.conf:3: nats.ack_timeout_ms must be an integer" <<<"$out"
out=$(PADDOCK_FCGI_BACKLOG=lots "$BB_BUILDDIR/fcgi/paddock-fcgi" -n -c "$BB_SRCDIR/conf/paddock.conf" 2>&1)
check "a bad environment value names the variable" grep -q 'environment PADDOCK_FCGI_BACKLOG' <<<"$out"
check "lighttpd accepts conf/lighttpd/boxbox.conf" lighttpd -tt -f "$T_DIR/lighttpd.conf"

# nginx with the shipped site: only the listen address and socket change.
port=$(bb_jsutil port)
mkdir -p "$T_DIR/nginx"
cp /etc/nginx/fastcgi_params "$T_DIR/nginx/"
sed -e "s#listen 127.0.0.1:8080;#listen 127.0.0.1:$port;#" \
	-e "s#unix:/run/boxbox/paddock.sock#unix:$BB_POOL_SOCK#" \
	"$BB_SRCDIR/conf/nginx/boxbox.conf" >"$T_DIR/nginx/boxbox.conf"
# The temporary dir and the pool's socket are root's: as root, so are the
# nginx workers (deployments give the socket a group nginx is in instead).
user=""
[ "$(id -u)" = 0 ] && user="user root root;"
cat >"$T_DIR/nginx/nginx.conf" <<NGINX
$user
daemon off;
master_process on;
worker_processes 1;
pid $T_DIR/nginx/nginx.pid;
error_log $T_DIR/nginx.log;
events { worker_connections 256; }
http {
	access_log $T_DIR/nginx-access.log;
	client_body_temp_path $T_DIR/nginx/body;
	fastcgi_temp_path $T_DIR/nginx/fastcgi;
	proxy_temp_path $T_DIR/nginx/proxy;
	uwsgi_temp_path $T_DIR/nginx/uwsgi;
	scgi_temp_path $T_DIR/nginx/scgi;
	include boxbox.conf;
}
NGINX
check "nginx accepts conf/nginx/boxbox.conf" nginx -t -q -p "$T_DIR/nginx" -c "$T_DIR/nginx/nginx.conf"
nginx -p "$T_DIR/nginx" -c "$T_DIR/nginx/nginx.conf" 2>>"$T_DIR/nginx.log" &
bb_track $! nginx
for ((i = 0; i < 100; i++)); do curl -fsS --max-time 1 -o /dev/null "http://127.0.0.1:$port/health/live" 2>/dev/null && break; sleep 0.05; done
T_BASE=http://127.0.0.1:$port
t_post "$SEED_BODY"
expect "an order through nginx gets 200" "$T_STATUS" 200
id=$(t_json .order_id)
check "and is stored" bb_jsutil -s "$BB_NATS_URL" last ORDERS "orders.waiting_to_cook.$id"
t_req GET /healthz
expect "/healthz through nginx" "$T_STATUS" 200
t_req GET /nope
expect "404 through nginx is the pool's JSON" "$(t_json .error)" "no such resource: /nope"
t_post "{\"size\":\"large\",\"username\":\"u\",\"destination\":\"$(head -c 70000 /dev/zero | tr '\0' a)\"}"
expect "413 through nginx is the pool's JSON" "$T_STATUS $(t_json '.error|test("limit")')" "413 true"
# nginx keeps its connections to the pool (fastcgi_keep_conn): requests go
# on over connections that already carried an order, a 404 and a 413.
for i in 1 2 3 4 5; do
	t_post "$SEED_BODY"
	[ "$T_STATUS" = 200 ] || break
done
expect "five more orders on kept connections get 200" "$T_STATUS" 200
t_req GET /health/ready
expect "and /health/ready too" "$T_STATUS" 200
t_req GET /metrics
expect "/metrics through nginx from 127.0.0.1" "$T_STATUS $(grep -c '^# TYPE paddock_' <<<"$T_BODY")" "200 8"
t_req GET /metrics --interface 127.0.0.2
expect "but 403 from 127.0.0.2" "$T_STATUS" 403
