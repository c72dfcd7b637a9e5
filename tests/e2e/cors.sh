#!/usr/bin/env bash
# CORS from configuration: preflight, allowed and refused origins, and the
# start-up refusal of "*" with credentials.
. "${BB_SRCDIR:?run the scenarios through make check}/tests/e2e/lib.sh"
t_begin "CORS"
export PADDOCK_CORS_ALLOW_ORIGINS="https://pitwall.example, https://garage.example"
export PADDOCK_CORS_MAX_AGE=900
t_stack

t_req OPTIONS /v1/order -H 'Origin: https://pitwall.example' \
	-H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: content-type'
expect "preflight is 204" "$T_STATUS" 204
expect "preflight allows the origin" "$(t_header access-control-allow-origin)" "https://pitwall.example"
expect "preflight lists the methods" "$(t_header access-control-allow-methods)" "GET, POST, OPTIONS"
expect "preflight lists the headers" "$(t_header access-control-allow-headers)" "Content-Type"
expect "preflight max age" "$(t_header access-control-max-age)" "900"
expect "preflight varies on Origin" "$(t_header vary)" "Origin"

t_req OPTIONS /v1/order -H 'Origin: https://evil.example' -H 'Access-Control-Request-Method: POST'
expect "a refused origin's preflight is still 204" "$T_STATUS" 204
expect "a refused origin gets no Access-Control-Allow-Origin" "$(t_header access-control-allow-origin)" ""

t_post "$SEED_BODY" -H 'Origin: https://garage.example'
expect "an allowed origin's POST is 200" "$T_STATUS" 200
expect "it gets Access-Control-Allow-Origin" "$(t_header access-control-allow-origin)" "https://garage.example"
expect "Location is exposed to scripts" "$(t_header access-control-expose-headers)" "Location"
t_post "$SEED_BODY" -H 'Origin: https://evil.example'
expect "a refused origin's POST gets no Access-Control-Allow-Origin" "$(t_header access-control-allow-origin)" ""
t_req OPTIONS /healthz
expect "plain OPTIONS is 204" "$T_STATUS" 204
expect "plain OPTIONS says Allow" "$(t_header allow)" "GET, HEAD, OPTIONS"

out=$(PADDOCK_CORS_ALLOW_ORIGINS='*' PADDOCK_CORS_ALLOW_CREDENTIALS=true \
	"$BB_BUILDDIR/fcgi/paddock-fcgi" -n -c "$BB_SRCDIR/conf/paddock.conf" 2>&1)
rc=$?
expect "\"*\" with credentials stops start-up" "$rc" 1
check "and says why" grep -q 'cannot be combined with cors.allow_credentials' <<<"$out"
