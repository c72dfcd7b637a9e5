/*
 * reply.c: the only place that knows HTTP status codes. Every answer goes
 * out through reply_raw() (JSON) or reply_text(): status line, CORS and
 * extra headers, the body (none for HEAD), then the request's log line is
 * due.
 */
#include "config.h"

#include <string.h>

#include "paddock.h"

static const int reply_codes[] = {
    [BB_OK] = 200,
    [BB_ENOMEM] = 503,
    [BB_EBADJSON] = 400,
    [BB_EINVALID] = 422,
    [BB_ETOOLARGE] = 413,
    [BB_EMEDIA] = 415,
    [BB_ENOTFOUND] = 404,
    [BB_EMETHOD] = 405,
    [BB_EUNAVAIL] = 503,
    [BB_ETIMEOUT] = 504,
    [BB_EINTERNAL] = 500,
    [BB_ECONF] = 500,
};
_Static_assert(sizeof reply_codes / sizeof reply_codes[0] == BB__MAX,
    "reply_codes must map every bb_status");

static const char *
reply_reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Unknown";
	}
}

/*
 * Compose status, headers and body (of type ctype, followed by a newline
 * when nl) into the connection's answer, which conn.c sends.
 */
static void
reply_compose(struct request *req, int code, const char *ctype,
    const char *body, size_t len, int nl)
{
	struct buf *out = &req->conn->resp;
	char head[256];
	struct fmt f;
	int with_body;

	req->status = code;
	req->pending = 0;
	cors_headers(req);
	with_body = code != 204 && !request_is_head(req);
	out->len = 0;
	if (buf_reserve(out, sizeof head * 2 + req->headers_len + len + 1) ==
	    -1) {
		req->status = 503; /* logged; the connection closes */
		req->conn->closing = 1;
		return;
	}
	fmt_init(&f, head, sizeof head);
	FMT_LIT(&f, "Status: ");
	fmt_uint(&f, (uint64_t)code, 3);
	FMT_LIT(&f, " ");
	fmt_str(&f, reply_reason(code));
	FMT_LIT(&f, "\r\n");
	buf_add(out, head, fmt_end(&f, NULL));
	buf_add(out, req->headers, req->headers_len);
	if (code != 204) {
		fmt_init(&f, head, sizeof head);
		FMT_LIT(&f, "Content-Type: ");
		fmt_str(&f, ctype);
		FMT_LIT(&f, "\r\nCache-Control: no-store\r\n"
		            "Content-Length: ");
		fmt_uint(&f, (uint64_t)len + (nl ? 1 : 0), 1);
		FMT_LIT(&f, "\r\n");
		buf_add(out, head, fmt_end(&f, NULL));
	}
	buf_add(out, "\r\n", 2);
	if (with_body) {
		buf_add(out, body, len);
		if (nl)
			buf_add(out, "\n", 1);
	}
}

/* Answer with a JSON text (nothing when len is 0) and a newline. */
void
reply_raw(struct request *req, int code, const char *body, size_t len)
{
	reply_compose(req, code, "application/json", body, len, 1);
}

/* Answer with body as it is, of type ctype. */
void
reply_text(struct request *req, int code, const char *ctype, const char *body,
    size_t len)
{
	reply_compose(req, code, ctype, body, len, 0);
}

/* Answer with o's compact text; o stays the caller's. */
void
reply_json(struct request *req, int code, struct json_object *o)
{
	const char *text;
	size_t len = 0;

	if (o == NULL || (text = json_text(o, &len)) == NULL) {
		reply_raw(req, 503, "{\"error\":\"out of memory\"}", 25);
		return;
	}
	reply_raw(req, code, text, len);
}

/* The error answer for s: its code, e's message and details. */
void
reply_error(struct request *req, enum bb_status s, const struct bb_err *e)
{
	struct json_object *o;
	struct bb_err fallback;

	if ((unsigned)s >= BB__MAX)
		s = BB_EINTERNAL;
	if (s == BB_EUNAVAIL || s == BB_ENOMEM)
		request_header(req, "Retry-After: 1");
	if (e == NULL || e->message[0] == '\0') {
		bb_err_clear(&fallback);
		bb_err_set(&fallback, "%s", bb_status_text(s));
		e = &fallback;
	}
	o = json_err_body(e);
	reply_json(req, reply_codes[s], o);
	json_object_put(o);
}

void
reply_empty(struct request *req, int code)
{
	reply_raw(req, code, NULL, 0);
}
