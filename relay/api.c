/*
 * api.c: the relay's own answers: GET /healthz (NATS and the live feed),
 * GET /metrics (Prometheus text), and JSON errors. Each returns a blob
 * holding a whole HTTP/1.1 response, "Connection: close".
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

/* Wrap body in a response head. NULL when out of memory. */
static struct blob *
api_response(int code, const char *reason, const char *type, const char *extra,
    const char *body, size_t len)
{
	struct blob *b;
	char head[512];
	size_t n;
	char *buf;

	n = (size_t)snprintf(head, sizeof head,
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Cache-Control: no-store\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n"
	    "%s\r\n",
	    code, reason, type, len, extra);
	if ((buf = malloc(n + len)) == NULL)
		return NULL;
	memcpy(buf, head, n);
	memcpy(buf + n, body, len);
	b = blob_new(buf, n + len);
	free(buf);
	return b;
}

/* {"error":"<message>"} with status code. */
struct blob *
api_error(int code, const char *reason, const char *message)
{
	struct bb_err e;
	struct json_object *o;
	struct blob *b;
	const char *text;
	size_t len = 0;

	bb_err_clear(&e);
	bb_err_set(&e, "%s", message);
	if ((o = json_err_body(&e)) == NULL ||
	    (text = json_text(o, &len)) == NULL) {
		json_object_put(o);
		return NULL;
	}
	b = api_response(code, reason, "application/json",
	    code == 503 ? "Retry-After: 1\r\n" : "", text, len);
	json_object_put(o);
	return b;
}

struct blob *
api_health(void)
{
	struct json_object *o, *checks, *nats;
	char why[256], now[IDS_TIME_LEN + 1];
	struct blob *b;
	const char *text;
	size_t len = 0;
	int ok;

	ok = feed_connected(why, sizeof why);
	ids_rfc3339_ms(now, ids_now_ms());
	o = json_object_new_object();
	checks = json_object_new_object();
	nats = json_object_new_object();
	json_object_object_add(
	    nats, "status", json_object_new_string(ok ? "ok" : "unavailable"));
	if (!ok)
		json_object_object_add(
		    nats, "error", json_object_new_string(why));
	json_object_object_add(checks, "nats", nats);
	json_object_object_add(
	    o, "status", json_object_new_string(ok ? "ok" : "unavailable"));
	json_object_object_add(o, "checks", checks);
	json_object_object_add(
	    o, "clients", json_object_new_int(relay.nclients));
	json_object_object_add(
	    o, "version", json_object_new_string(BB_VERSION));
	json_object_object_add(o, "timestamp", json_object_new_string(now));
	text = json_text(o, &len);
	b = text == NULL
	        ? NULL
	        : api_response(ok ? 200 : 503,
	              ok ? "OK" : "Service Unavailable", "application/json",
	              ok ? "" : "Retry-After: 1\r\n", text, len);
	json_object_put(o);
	return b;
}

/* Append one metric with its HELP and TYPE lines. */
static void
api_metric(char *buf, size_t len, size_t *off, const char *name,
    const char *type, const char *help, unsigned long long v)
{
	if (*off >= len)
		return;
	*off += (size_t)snprintf(buf + *off, len - *off,
	    "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type,
	    name, v);
}

struct blob *
api_metrics(void)
{
	struct relay_sum sum;
	const struct relay_stats *s = &sum.s;
	char buf[4096];
	size_t off = 0;

	if (stats_sum(&sum) == -1) {
		log_warn("metrics: %s", relay.conf.relay.metrics_dir);
		return api_error(500, "Internal Server Error",
		    "cannot read relay.metrics_dir");
	}
	api_metric(buf, sizeof buf, &off, "sse_relay_processes", "gauge",
	    "Relay processes counted here (sharing relay.metrics_dir).",
	    sum.processes);
	api_metric(buf, sizeof buf, &off, "sse_relay_clients", "gauge",
	    "Connections open now, streams and requests.",
	    (unsigned long long)s->clients);
	api_metric(buf, sizeof buf, &off, "sse_relay_clients_total", "counter",
	    "Connections accepted.", (unsigned long long)s->clients_total);
	api_metric(buf, sizeof buf, &off, "sse_relay_rejected_total", "counter",
	    "Connections refused with 503 at relay.max_clients.",
	    (unsigned long long)s->rejected_full);
	api_metric(buf, sizeof buf, &off, "sse_relay_events_received_total",
	    "counter",
	    "Live events received from JetStream, by every process (each "
	    "receives every event).",
	    (unsigned long long)s->events_received);
	api_metric(buf, sizeof buf, &off, "sse_relay_events_sent_total",
	    "counter", "Events written to clients (one per client).",
	    (unsigned long long)s->events_sent);
	api_metric(buf, sizeof buf, &off, "sse_relay_bytes_sent_total",
	    "counter", "Bytes written to clients.",
	    (unsigned long long)s->bytes_sent);
	api_metric(buf, sizeof buf, &off, "sse_relay_slow_disconnects_total",
	    "counter", "Clients cut off over relay.max_buffer.",
	    (unsigned long long)s->slow_disconnects);
	api_metric(buf, sizeof buf, &off, "sse_relay_resumes_ring_total",
	    "counter", "Resumes served from the in-memory ring.",
	    (unsigned long long)s->resumes_ring);
	api_metric(buf, sizeof buf, &off, "sse_relay_resumes_jetstream_total",
	    "counter", "Resumes and since= replayed from JetStream.",
	    (unsigned long long)s->resumes_jetstream);
	api_metric(buf, sizeof buf, &off, "sse_relay_resets_total", "counter",
	    "Resumes from an id older than the stream keeps.",
	    (unsigned long long)s->resets);
	api_metric(buf, sizeof buf, &off, "sse_relay_bad_requests_total",
	    "counter", "Requests refused with 400 or 431.",
	    (unsigned long long)s->bad_requests);
	api_metric(buf, sizeof buf, &off, "sse_relay_replays", "gauge",
	    "JetStream replays running now.", (unsigned long long)s->replays);
	api_metric(buf, sizeof buf, &off, "sse_relay_last_sequence", "gauge",
	    "Highest stream sequence seen by a live process.",
	    (unsigned long long)s->last_seq);
	api_metric(buf, sizeof buf, &off, "sse_relay_nats_connected", "gauge",
	    "Processes with NATS connected and the live feed subscribed.",
	    (unsigned long long)s->nats_connected);
	if (off >= sizeof buf)
		off = sizeof buf - 1;
	return api_response(
	    200, "OK", "text/plain; version=0.0.4", "", buf, off);
}
