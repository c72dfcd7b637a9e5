/*
 * route.c: the route table, one row per path with the methods it takes and
 * its handler. 404 for an unknown path, 405 with Allow for a wrong method,
 * and OPTIONS (CORS preflight or plain) for every known path.
 */
#include "config.h"

#include <string.h>

#include "paddock.h"

struct route {
	const char *path;
	int methods;
	void (*handler)(struct request *);
};

static const struct route routes[] = {
    {"/v1/order", ROUTE_POST, api_order},
    {"/healthz", ROUTE_GET | ROUTE_HEAD, api_health},
    {"/health/live", ROUTE_GET | ROUTE_HEAD, api_health_live},
    {"/health/ready", ROUTE_GET | ROUTE_HEAD, api_health_ready},
    {"/metrics", ROUTE_GET | ROUTE_HEAD, api_metrics},
};

static const struct {
	const char *name;
	int bit;
} route_methods[] = {
    {"GET", ROUTE_GET},
    {"HEAD", ROUTE_HEAD},
    {"POST", ROUTE_POST},
    {"OPTIONS", ROUTE_OPTIONS},
};

#define NMETHODS (sizeof route_methods / sizeof route_methods[0])

static int
route_method_bit(const char *method)
{
	size_t i;

	for (i = 0; i < NMETHODS; i++) {
		if (strcmp(method, route_methods[i].name) == 0)
			return route_methods[i].bit;
	}
	return 0;
}

/* "GET, HEAD, OPTIONS" for a route's methods, into buf. */
static void
route_allow(int methods, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	methods |= ROUTE_OPTIONS;
	for (i = 0; i < NMETHODS && off < len; i++) {
		if (methods & route_methods[i].bit)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    off ? ", " : "", route_methods[i].name);
	}
}

void
route_dispatch(struct request *req)
{
	const struct route *r = NULL;
	struct bb_err e;
	char allow[64];
	size_t i;
	int bit;

	for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (strcmp(req->path, routes[i].path) == 0) {
			r = &routes[i];
			break;
		}
	}
	bb_err_clear(&e);
	if (r == NULL) {
		bb_err_set(&e, "no such resource: %.200s", req->path);
		reply_error(req, BB_ENOTFOUND, &e);
		return;
	}
	bit = route_method_bit(req->method);
	if (bit == ROUTE_OPTIONS) {
		route_allow(r->methods, allow, sizeof allow);
		cors_preflight(req, allow);
		return;
	}
	if ((r->methods & bit) == 0) {
		route_allow(r->methods, allow, sizeof allow);
		request_header(req, "Allow: %s", allow);
		bb_err_set(&e, "method %.16s not allowed on %s; allowed: %s",
		    req->method, r->path, allow);
		reply_error(req, BB_EMETHOD, &e);
		return;
	}
	r->handler(req);
}
