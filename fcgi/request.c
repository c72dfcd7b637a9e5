/*
 * request.c: a FastCGI request as the handlers see it: method, path,
 * the few headers we use, and the body its connection read, with the
 * configured cap. Also the one log line per request.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "paddock.h"

static int64_t
request_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *
request_param(struct request *req, const char *name)
{
	return conn_param(req->conn, name);
}

/*
 * Start req for the request conn has read whole. The path is REQUEST_URI
 * without its query, which lighttpd and nginx both pass unchanged whatever
 * the mount point.
 */
void
request_begin(struct request *req, struct app *app, struct conn *conn)
{
	const char *uri, *cl, *m;
	char *end;
	size_t n;

	req->app = app;
	req->conn = conn;
	req->start_ns = request_now_ns();
	req->status = 0;
	req->pending = 0;
	req->order_id[0] = '\0';
	req->headers_len = 0;
	req->headers[0] = '\0';
	req->body = conn->body.p;
	req->body_len = conn->body.len;
	if ((m = request_param(req, "REQUEST_METHOD")) == NULL)
		m = "GET";
	snprintf(req->method, sizeof req->method, "%s", m);
	if ((uri = request_param(req, "REQUEST_URI")) == NULL &&
	    (uri = request_param(req, "SCRIPT_NAME")) == NULL)
		uri = "/";
	n = strcspn(uri, "?");
	if (n >= sizeof req->path)
		n = sizeof req->path - 1;
	memcpy(req->path, uri, n);
	req->path[n] = '\0';
	req->content_type = request_param(req, "CONTENT_TYPE");
	req->origin = request_param(req, "HTTP_ORIGIN");
	req->content_length = -1;
	if ((cl = request_param(req, "CONTENT_LENGTH")) != NULL &&
	    *cl != '\0') {
		errno = 0;
		req->content_length = strtoll(cl, &end, 10);
		if (errno != 0 || *end != '\0' || req->content_length < 0)
			req->content_length = -1;
	}
}

int
request_is_head(const struct request *req)
{
	return strcmp(req->method, "HEAD") == 0;
}

/*
 * Check the body's size: over order.max_body, declared or actual, is
 * BB_ETOOLARGE. The connection kept at most max_body + 1 bytes of it.
 */
enum bb_status
request_check_body(struct request *req, struct bb_err *e)
{
	size_t max = (size_t)req->app->conf.order.max_body;

	if (req->content_length > (long long)max) {
		bb_err_set(e,
		    "request body of %lld bytes is over the limit of "
		    "%zu bytes",
		    req->content_length, max);
		return BB_ETOOLARGE;
	}
	if (req->body_over || req->body_len > max) {
		bb_err_set(
		    e, "request body is over the limit of %zu bytes", max);
		return BB_ETOOLARGE;
	}
	return BB_OK;
}

/* Queue one extra response header; silently dropped when full. */
void
request_header(struct request *req, const char *fmt, ...)
{
	size_t room = sizeof req->headers - req->headers_len;
	va_list ap;
	int n;

	if (room < 3)
		return;
	va_start(ap, fmt);
	n = vsnprintf(req->headers + req->headers_len, room - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room - 2) {
		req->headers[req->headers_len] = '\0';
		return;
	}
	req->headers_len += (size_t)n;
	memcpy(req->headers + req->headers_len, "\r\n", 3);
	req->headers_len += 2;
}

/* One logfmt line per request: method, path, status, duration, order. */
void
request_log(const struct request *req)
{
	char line[768], path[300], method[40];
	struct timespec ts;
	struct tm tm;
	double ms;
	int n;

	ms = (double)(request_now_ns() - req->start_ns) / 1e6;
	log_escape(path, sizeof path, req->path);
	log_escape(method, sizeof method, req->method);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof line,
	    "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=info "
	    "proc=paddock-fcgi method=\"%s\" path=\"%s\" status=%d "
	    "dur_ms=%.3f%s%s\n",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, method, path, req->status, ms,
	    req->order_id[0] ? " order_id=" : "", req->order_id);
	if (n > 0)
		log_line(line,
		    (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}
