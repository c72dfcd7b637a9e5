/*
 * api-health.c: GET /healthz (the seed's shape: the service and its NATS
 * check), GET /health/live (the process serves) and GET /health/ready
 * (NATS connected and the order stream exists, as ready.c last saw it),
 * for load balancers and orchestrators.
 */
#include "config.h"

#include <stdio.h>

#include "paddock.h"

static struct json_object *
api_health_check(int ok, const char *error)
{
	struct json_object *c = json_object_new_object();

	json_object_object_add(
	    c, "status", json_object_new_string(ok ? "ok" : "unavailable"));
	if (!ok && error != NULL)
		json_object_object_add(
		    c, "error", json_object_new_string(error));
	return c;
}

static struct json_object *
api_health_body(int ok, struct json_object *checks)
{
	struct json_object *o = json_object_new_object();
	char now[IDS_TIME_LEN + 1];

	ids_rfc3339_ms(now, ids_now_ms());
	json_object_object_add(
	    o, "status", json_object_new_string(ok ? "ok" : "unavailable"));
	if (checks != NULL)
		json_object_object_add(o, "checks", checks);
	json_object_object_add(
	    o, "version", json_object_new_string(BB_VERSION));
	json_object_object_add(o, "timestamp", json_object_new_string(now));
	return o;
}

void
api_health(struct request *req)
{
	struct json_object *checks, *o;
	char why[256];
	int ok;

	ok = bus_state(req->app->bus, why, sizeof why) == BUS_CONNECTED;
	checks = json_object_new_object();
	json_object_object_add(checks, "nats", api_health_check(ok, why));
	o = api_health_body(ok, checks);
	if (!ok)
		request_header(req, "Retry-After: 1");
	reply_json(req, ok ? 200 : 503, o);
	json_object_put(o);
}

void
api_health_live(struct request *req)
{
	static const char body[] = "{\"status\":\"ok\"}";

	reply_raw(req, 200, body, sizeof body - 1);
}

void
api_health_ready(struct request *req)
{
	struct json_object *checks, *o;
	struct bb_err e;
	char why[256];
	int nats_ok, ok;

	bb_err_clear(&e);
	nats_ok = bus_state(req->app->bus, why, sizeof why) == BUS_CONNECTED;
	ok = nats_ok && ready_get(req->app->ready, &e) == BB_OK;
	checks = json_object_new_object();
	json_object_object_add(checks, "nats", api_health_check(nats_ok, why));
	json_object_object_add(checks, "stream",
	    api_health_check(ok, nats_ok ? e.message : "NATS not connected"));
	o = api_health_body(ok, checks);
	if (!ok)
		request_header(req, "Retry-After: 1");
	reply_json(req, ok ? 200 : 503, o);
	json_object_put(o);
}
