/*
 * api-metrics.c: GET /metrics, the pool's figures in Prometheus' text
 * format (version 0.0.4): requests and orders by status, the duration of
 * the orders stored, and what the live processes hold now. metrics.c
 * counts and adds up; this file only writes them out.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "paddock.h"

#define API_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * The statuses an order can get, written even at 0: a rule such as
 * increase(paddock_orders_total{code="504"}[5m]) > 0 must see the first.
 */
static const int api_metrics_order_codes[] = {
    200, 400, 413, 415, 422, 500, 503, 504};

/* Append to b; 0, or -1 when memory ran out. */
static int api_metrics_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
api_metrics_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n + 1) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

static int
api_metrics_head(
    struct buf *b, const char *name, const char *type, const char *help)
{
	return api_metrics_printf(
	    b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A counter by status: those in always (may be NULL), then any other. */
static int
api_metrics_by_code(struct buf *b, const char *name, const char *help,
    const uint64_t *v, const int *always, size_t nalways)
{
	int rc, i;
	size_t j;

	rc = api_metrics_head(b, name, "counter", help);
	for (i = 0; i < METRICS_CODES; i++) {
		for (j = 0; j < nalways; j++)
			if (always[j] == METRICS_CODE_MIN + i)
				break;
		if (v[i] != 0 || j < nalways)
			rc |= api_metrics_printf(b,
			    "%s{code=\"%d\"} %" PRIu64 "\n", name,
			    METRICS_CODE_MIN + i, v[i]);
	}
	return rc;
}

static int
api_metrics_gauge(struct buf *b, const char *name, const char *help, uint64_t v)
{
	return api_metrics_head(b, name, "gauge", help) |
	       api_metrics_printf(b, "%s %" PRIu64 "\n", name, v);
}

/* Prometheus' histogram: cumulative buckets, then _sum and _count. */
static int
api_metrics_histogram(struct buf *b, const struct metrics *m)
{
	const char *name = "paddock_order_duration_seconds";
	uint64_t n = 0;
	int rc, i;

	rc = api_metrics_head(b, name, "histogram",
	    "Orders answered 200 (stored), from the request whole to the "
	    "answer, JetStream acknowledgement included.");
	for (i = 0; i < METRICS_BUCKETS - 1; i++) {
		n += m->order_bucket[i];
		rc |=
		    api_metrics_printf(b, "%s_bucket{le=\"%g\"} %" PRIu64 "\n",
		        name, (double)metrics_bounds_us[i] / 1e6, n);
	}
	n += m->order_bucket[METRICS_BUCKETS - 1];
	rc |= api_metrics_printf(
	    b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, n);
	rc |= api_metrics_printf(
	    b, "%s_sum %.6f\n", name, (double)m->order_sum_us / 1e6);
	rc |= api_metrics_printf(b, "%s_count %" PRIu64 "\n", name, n);
	return rc;
}

static int
api_metrics_write(struct buf *b, const struct metrics_sum *s)
{
	int rc;

	rc = api_metrics_by_code(b, "paddock_http_requests_total",
	    "Requests answered by the pool, every path, by HTTP status.",
	    s->m.requests, NULL, 0);
	rc |= api_metrics_by_code(b, "paddock_orders_total",
	    "POST /v1/order answered, by HTTP status: 200 stored; 4xx "
	    "refused, nothing stored; 503 NATS unavailable or "
	    "nats.max_pending reached, nothing stored; 504 stored or not, "
	    "unknown.",
	    s->m.orders, api_metrics_order_codes,
	    sizeof api_metrics_order_codes / sizeof api_metrics_order_codes[0]);
	rc |= api_metrics_histogram(b, &s->m);
	rc |= api_metrics_gauge(b, "paddock_orders_in_flight",
	    "Orders published and awaiting their JetStream acknowledgement.",
	    s->m.in_flight);
	rc |= api_metrics_gauge(
	    b, "paddock_connections", "FastCGI connections open.", s->m.conns);
	rc |= api_metrics_gauge(b, "paddock_nats_connected_processes",
	    "Processes of the pool connected to NATS.", s->m.nats_connected);
	rc |= api_metrics_gauge(b, "paddock_processes",
	    "Processes of the pool alive (counting in fcgi.metrics_dir).",
	    s->processes);
	rc |= api_metrics_head(b, "paddock_build_info", "gauge",
	    "Always 1; the version of the process that answered.");
	rc |= api_metrics_printf(
	    b, "paddock_build_info{version=\"%s\"} 1\n", BB_VERSION);
	return rc;
}

/* GET /metrics: whichever process answers, the pool's figures. */
void
api_metrics(struct request *req)
{
	struct metrics_sum *s;
	struct buf b = {0};
	struct bb_err e;

	bb_err_clear(&e);
	if ((s = calloc(1, sizeof *s)) == NULL) {
		reply_error(req, BB_ENOMEM, NULL);
		return;
	}
	if (metrics_sum(req->app->conf.fcgi.metrics_dir, s) == -1) {
		log_warn(
		    "metrics: cannot read %s", req->app->conf.fcgi.metrics_dir);
		bb_err_set(&e, "metrics: cannot read fcgi.metrics_dir");
		reply_error(req, BB_EINTERNAL, &e);
	} else if (api_metrics_write(&b, s) == -1)
		reply_error(req, BB_ENOMEM, NULL);
	else
		reply_text(req, 200, API_METRICS_TYPE, b.p, b.len);
	buf_free(&b);
	free(s);
}
