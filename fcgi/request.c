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
	req->order = 0;
	req->order_id[0] = '\0';
	req->headers_len = 0;
	req->headers[0] = '\0';
	req->body = conn->body.p;
	req->body_len = conn->body.len;
	if ((m = request_param(req, "REQUEST_METHOD")) == NULL)
		m = "GET";
	n = strnlen(m, sizeof req->method - 1);
	memcpy(req->method, m, n);
	req->method[n] = '\0';
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
	char line[sizeof req->headers];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof line)
		request_header_line(req, line, (size_t)n);
}

/* Add the header line[0..len) (no CRLF) to the answer; nothing if no room. */
void
request_header_line(struct request *req, const char *line, size_t len)
{
	size_t room = sizeof req->headers - req->headers_len;

	if (room < 3 || len > room - 3)
		return;
	memcpy(req->headers + req->headers_len, line, len);
	req->headers_len += len;
	memcpy(req->headers + req->headers_len, "\r\n", 3);
	req->headers_len += 2;
}

/* Microseconds since the request was whole, rounded. */
int64_t
request_elapsed_us(const struct request *req)
{
	return (request_now_ns() - req->start_ns + 500) / 1000;
}

/*
 * One logfmt line per request: method, path, status, duration (us, from
 * request_elapsed_us()), order. Built with fmt.c, not snprintf(): it runs
 * for every request.
 */
void
request_log(const struct request *req, int64_t us)
{
	char line[768], esc[300], ts[IDS_TIME_LEN + 1];
	struct fmt f;
	size_t n;

	ids_rfc3339_ms(ts, ids_now_ms());
	fmt_init(&f, line, sizeof line - 1); /* room for the newline */
	FMT_LIT(&f, "ts=");
	fmt_mem(&f, ts, IDS_TIME_LEN);
	FMT_LIT(&f, " level=info proc=paddock-fcgi method=\"");
	n = log_escape(esc, 40, req->method); /* a method is short */
	fmt_mem(&f, esc, n);
	FMT_LIT(&f, "\" path=\"");
	n = log_escape(esc, sizeof esc, req->path);
	fmt_mem(&f, esc, n);
	FMT_LIT(&f, "\" status=");
	fmt_uint(&f, (uint64_t)req->status, 1);
	FMT_LIT(&f, " dur_ms=");
	fmt_uint(&f, (uint64_t)(us < 0 ? 0 : us) / 1000, 1);
	FMT_LIT(&f, ".");
	fmt_uint(&f, (uint64_t)(us < 0 ? 0 : us) % 1000, 3);
	if (req->order_id[0] != '\0') {
		FMT_LIT(&f, " order_id=");
		fmt_str(&f, req->order_id);
	}
	n = fmt_end(&f, NULL);
	line[n++] = '\n';
	log_line(line, n);
}
