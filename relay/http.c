/*
 * http.c: parse the head of an HTTP/1.x request for sse-relay: the method,
 * the decoded path, the query parameters the relay knows and the header
 * Last-Event-ID. Pure: no allocation, no I/O, no globals, so any thread may
 * call it on its own buffers.
 *
 * Every byte is hostile. Nothing is read at or past len, and the first
 * fault ends the parse with HTTP_BAD and a reason in req->bad that names
 * the part at fault but never echoes the client's bytes (they could hold
 * anything, and the reason goes into a 400 body and a log line).
 *
 * Choices where RFC 9112 leaves room, or the relay is stricter:
 *  - a line may end in CRLF or a bare LF; a CR anywhere else is a control
 *    byte, so HTTP_BAD;
 *  - no empty lines are skipped before the request line;
 *  - the method is any token of 1 to 7 bytes, kept as sent (methods are
 *    case-sensitive; the caller decides which it serves);
 *  - only the origin form ("/path?query") is taken: no "*", no absolute
 *    form, no fragment; the path is decoded but not normalised, so "/../"
 *    is just bytes of a path;
 *  - a query parameter given twice is HTTP_BAD (the same URL must not mean
 *    different things to a proxy and to us); unknown parameters are
 *    skipped but must still decode; an empty value is as if absent;
 *  - a header given twice is HTTP_BAD only for Last-Event-ID; there is no
 *    limit on the number of headers other than max, the parse is linear.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "relay.h"

#define HTTP_NAME_MAX  32 /* query parameter names kept to compare */
#define HTTP_VALUE_MAX 64 /* longest value of any known parameter */

/* Bytes of the head, not terminated. */
struct http_span {
	const char *p;
	size_t n;
};

/* What the parse has seen so far beyond what struct http_req holds. */
struct http_ctx {
	struct http_req *req;
	unsigned seen;  /* known query parameters met, one bit each */
	int header_lei; /* Last-Event-ID header met (even empty) */
	int query_has_lei;
	uint64_t query_lei;
};

typedef enum http_status (*http_param_fn)(
    struct http_ctx *, const char *, size_t);

static enum http_status http_param_last_event_id(
    struct http_ctx *, const char *, size_t);
static enum http_status http_param_since(
    struct http_ctx *, const char *, size_t);
static enum http_status http_param_order_id(
    struct http_ctx *, const char *, size_t);
static enum http_status http_param_username(
    struct http_ctx *, const char *, size_t);

/* The query parameters the relay reads; their values are at most max. */
static const struct http_param {
	const char *name;
	size_t max;
	http_param_fn set;
} http_params[] = {
    {"last_event_id", HTTP_VALUE_MAX, http_param_last_event_id},
    {"since", HTTP_VALUE_MAX, http_param_since},
    {"order_id", HTTP_ORDER_ID_MAX, http_param_order_id},
    {"username", HTTP_USERNAME_MAX, http_param_username},
};

#define HTTP_NPARAMS (sizeof http_params / sizeof http_params[0])

_Static_assert(
    HTTP_ORDER_ID_MAX <= HTTP_VALUE_MAX && HTTP_USERNAME_MAX <= HTTP_VALUE_MAX,
    "a known parameter's value must fit the decoding buffer");
_Static_assert(sizeof http_params / sizeof http_params[0] <= 32,
    "one bit of http_ctx.seen per known parameter");

static enum http_status http_bad(struct http_req *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Say why in req->bad; returns HTTP_BAD. */
static enum http_status
http_bad(struct http_req *req, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(req->bad, sizeof req->bad, fmt, ap);
	va_end(ap);
	return HTTP_BAD;
}

/* A token character (RFC 9110 5.6.2). */
static int
http_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
http_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static int
http_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Does s[0..n) equal the lowercase name, ignoring ASCII case? */
static int
http_name_is(const char *s, size_t n, const char *name)
{
	size_t i;
	unsigned char c;

	if (strlen(name) != n)
		return 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c != (unsigned char)name[i])
			return 0;
	}
	return 1;
}

/*
 * The length of the head in buf[0..n): up to and including the first empty
 * line (LF or CRLF right after a LF, or at the very start). 0 if there is
 * no empty line yet.
 */
static size_t
http_head_len(const char *buf, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		if (buf[i] != '\n')
			continue;
		if (i == start || (i == start + 1 && buf[start] == '\r'))
			return i + 1;
		start = i + 1;
	}
	return 0;
}

/* Take the next line of a complete head, without its CRLF or LF. */
static void
http_next_line(struct http_span *head, struct http_span *line)
{
	const char *lf;

	lf = memchr(head->p, '\n', head->n);
	line->p = head->p;
	line->n = (size_t)(lf - head->p);
	head->n -= line->n + 1;
	head->p = lf + 1;
	if (line->n > 0 && line->p[line->n - 1] == '\r')
		line->n--;
}

/*
 * Percent-decode s[0..n) into out (cap bytes, NUL-terminated), '+' as a
 * space when plus is set. Sets *dlen to the full decoded length, which may
 * be >= cap (out then holds a prefix). Returns -1 on a malformed escape or
 * a decoded NUL or control byte, with req->bad naming what.
 */
static int
http_decode(const char *s, size_t n, int plus, char *out, size_t cap,
    size_t *dlen, struct http_req *req, const char *what)
{
	size_t i, o = 0;
	int hi, lo;
	unsigned char c;

	for (i = 0; i < n; i++, o++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (n - i < 3) {
				http_bad(req, "%s: truncated %%-escape", what);
				return -1;
			}
			hi = http_hex((unsigned char)s[i + 1]);
			lo = http_hex((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0) {
				http_bad(req, "%s: bad %%-escape", what);
				return -1;
			}
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus)
			c = ' ';
		if (http_ctl(c)) {
			http_bad(req, "%s: NUL or control byte", what);
			return -1;
		}
		if (o + 1 < cap)
			out[o] = (char)c;
	}
	out[o < cap ? o : cap - 1] = '\0';
	*dlen = o;
	return 0;
}

/* A decimal below 2^64, digits only: 0 and *v, or -1. */
static int
http_parse_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t r = 0;
	size_t i;
	unsigned d;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (r > (UINT64_MAX - d) / 10)
			return -1;
		r = r * 10 + d;
	}
	*v = r;
	return 0;
}

static enum http_status
http_param_last_event_id(struct http_ctx *ctx, const char *v, size_t n)
{
	if (http_parse_u64(v, n, &ctx->query_lei) == -1)
		return http_bad(ctx->req,
		    "last_event_id is not a decimal number below 2^64");
	ctx->query_has_lei = 1;
	return HTTP_OK;
}

/*
 * JetStream takes the start time in nanoseconds since 1970 as an int64_t,
 * and reads 0 as "no time": new events only.
 */
#define HTTP_SINCE_MAX_MS (INT64_MAX / 1000000) /* 2262-04-11 */

static enum http_status
http_param_since(struct http_ctx *ctx, const char *v, size_t n)
{
	int64_t *ms = &ctx->req->since_ms;

	if (http_parse_time(v, ms) == -1)
		return http_bad(
		    ctx->req, "since is not an RFC 3339 time (send + as %%2B)");
	if (*ms > HTTP_SINCE_MAX_MS)
		return http_bad(ctx->req, "since is after 2262-04-11");
	if (*ms < 1) /* every stored event is after it */
		*ms = 1;
	ctx->req->has_since = 1;
	return HTTP_OK;
}

static enum http_status
http_param_order_id(struct http_ctx *ctx, const char *v, size_t n)
{
	memcpy(ctx->req->order_id, v, n + 1);
	return HTTP_OK;
}

static enum http_status
http_param_username(struct http_ctx *ctx, const char *v, size_t n)
{
	memcpy(ctx->req->username, v, n + 1);
	return HTTP_OK;
}

/* One "name=value" (or "name") of the query; unknown names are skipped. */
static enum http_status
http_query_param(struct http_ctx *ctx, const char *s, size_t n)
{
	const struct http_param *pm = NULL;
	const char *eq, *vp;
	char name[HTTP_NAME_MAX + 1], value[HTTP_VALUE_MAX + 1];
	size_t nlen, vlen, i;

	eq = memchr(s, '=', n);
	nlen = eq != NULL ? (size_t)(eq - s) : n;
	if (http_decode(s, nlen, 1, name, sizeof name, &nlen, ctx->req,
	        "query parameter name") == -1)
		return HTTP_BAD;
	for (i = 0; i < HTTP_NPARAMS && nlen <= HTTP_NAME_MAX; i++) {
		if (strcmp(name, http_params[i].name) == 0)
			pm = &http_params[i];
	}
	vp = eq != NULL ? eq + 1 : s + n; /* no '=': an empty value */
	if (http_decode(vp, (size_t)(s + n - vp), 1, value, sizeof value, &vlen,
	        ctx->req, pm != NULL ? pm->name : "query parameter") == -1)
		return HTTP_BAD;
	if (pm == NULL)
		return HTTP_OK;
	if (ctx->seen & 1u << (pm - http_params))
		return http_bad(
		    ctx->req, "query parameter %s given twice", pm->name);
	ctx->seen |= 1u << (pm - http_params);
	if (vlen > pm->max)
		return http_bad(
		    ctx->req, "%s is longer than %zu bytes", pm->name, pm->max);
	return vlen == 0 ? HTTP_OK : pm->set(ctx, value, vlen);
}

static enum http_status
http_query(struct http_ctx *ctx, const char *s, size_t n)
{
	const char *amp;
	size_t k;

	while (n > 0) {
		amp = memchr(s, '&', n);
		k = amp != NULL ? (size_t)(amp - s) : n;
		if (k > 0 && http_query_param(ctx, s, k) != HTTP_OK)
			return HTTP_BAD;
		s += k;
		n -= k;
		if (n > 0) {
			s++;
			n--;
		}
	}
	return HTTP_OK;
}

/* The origin-form target: "/path" then an optional "?query". */
static enum http_status
http_target(struct http_ctx *ctx, const char *s, size_t n)
{
	struct http_req *req = ctx->req;
	const char *q;
	size_t i, plen, dlen;

	if (n == 0 || s[0] != '/')
		return http_bad(req, "request target must start with /");
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return http_bad(req,
			    "request target has a byte that is not visible "
			    "ASCII");
		if (s[i] == '#')
			return http_bad(req, "request target has a fragment");
	}
	q = memchr(s, '?', n);
	plen = q != NULL ? (size_t)(q - s) : n;
	if (http_decode(s, plen, 0, req->path, sizeof req->path, &dlen, req,
	        "path") == -1)
		return HTTP_BAD;
	if (dlen >= sizeof req->path)
		return http_bad(
		    req, "path is longer than %zu bytes", sizeof req->path - 1);
	if (q == NULL)
		return HTTP_OK;
	return http_query(ctx, q + 1, n - plen - 1);
}

/* "METHOD SP target SP HTTP/1.x", with exactly one space between. */
static enum http_status
http_request_line(struct http_ctx *ctx, const struct http_span *l)
{
	struct http_req *req = ctx->req;
	const char *sp1, *sp2, *end = l->p + l->n;
	size_t mlen, i;

	for (i = 0; i < l->n; i++) {
		if (http_ctl((unsigned char)l->p[i]))
			return http_bad(
			    req, "request line has a NUL or control byte");
	}
	/* Neither part holds a space, so any other count is malformed. */
	if ((sp1 = memchr(l->p, ' ', l->n)) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1))) == NULL ||
	    memchr(sp2 + 1, ' ', (size_t)(end - sp2 - 1)) != NULL)
		return http_bad(
		    req, "request line is not METHOD SP target SP HTTP/1.x");
	if ((mlen = (size_t)(sp1 - l->p)) == 0 || mlen >= sizeof req->method)
		return http_bad(req, "method must be 1 to %zu bytes",
		    sizeof req->method - 1);
	for (i = 0; i < mlen; i++) {
		if (!http_tchar((unsigned char)l->p[i]))
			return http_bad(req, "method is not a token");
	}
	memcpy(req->method, l->p, mlen);
	req->method[mlen] = '\0';
	if (end - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    sp2[8] < '0' || sp2[8] > '9')
		return http_bad(req, "version is not HTTP/1.x");
	return http_target(ctx, sp1 + 1, (size_t)(sp2 - sp1 - 1));
}

static enum http_status
http_last_event_id(struct http_ctx *ctx, const char *v, size_t n)
{
	struct http_req *req = ctx->req;

	if (ctx->header_lei)
		return http_bad(req, "header Last-Event-ID given twice");
	ctx->header_lei = 1;
	if (n == 0)
		return HTTP_OK; /* as if absent */
	if (http_parse_u64(v, n, &req->last_event_id) == -1)
		return http_bad(req, "header Last-Event-ID is not a decimal "
		                     "number below 2^64");
	req->has_last_event_id = 1;
	return HTTP_OK;
}

/* "name: value", value trimmed of spaces and tabs; obs-fold is refused. */
static enum http_status
http_header(struct http_ctx *ctx, const struct http_span *l)
{
	struct http_req *req = ctx->req;
	const char *v, *colon;
	size_t i, nlen, vlen;

	if (l->p[0] == ' ' || l->p[0] == '\t')
		return http_bad(req, "header line folding is not allowed");
	if ((colon = memchr(l->p, ':', l->n)) == NULL)
		return http_bad(req, "header line without a colon");
	nlen = (size_t)(colon - l->p);
	if (nlen == 0)
		return http_bad(req, "header with an empty name");
	for (i = 0; i < nlen; i++) {
		if (!http_tchar((unsigned char)l->p[i]))
			return http_bad(req, "header name is not a token");
	}
	v = colon + 1;
	vlen = l->n - nlen - 1;
	for (i = 0; i < vlen; i++) {
		if (http_ctl((unsigned char)v[i]) && v[i] != '\t')
			return http_bad(
			    req, "header value has a NUL or control byte");
	}
	while (vlen > 0 && (v[0] == ' ' || v[0] == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (http_name_is(l->p, nlen, "last-event-id"))
		return http_last_event_id(ctx, v, vlen);
	return HTTP_OK;
}

/*
 * See relay.h. req is reset first and always written: on HTTP_BAD its bad
 * says why; on HTTP_INCOMPLETE and HTTP_TOO_LARGE it is left empty. *used
 * (used may be NULL) is written only on HTTP_OK. A head is never longer
 * than max, its empty line included.
 */
enum http_status
http_parse(
    const char *buf, size_t len, size_t max, struct http_req *req, size_t *used)
{
	struct http_ctx ctx = {req, 0, 0, 0, 0};
	struct http_span head, line;
	size_t hlen;

	memset(req, 0, sizeof *req);
	if ((hlen = http_head_len(buf, len < max ? len : max)) == 0)
		return len > max ? HTTP_TOO_LARGE : HTTP_INCOMPLETE;
	head.p = buf;
	head.n = hlen;
	http_next_line(&head, &line);
	if (line.n == 0)
		return http_bad(req, "empty request line");
	if (http_request_line(&ctx, &line) != HTTP_OK)
		return HTTP_BAD;
	for (;;) {
		http_next_line(&head, &line);
		if (line.n == 0)
			break;
		if (http_header(&ctx, &line) != HTTP_OK)
			return HTTP_BAD;
	}
	if (!req->has_last_event_id && ctx.query_has_lei) {
		req->has_last_event_id = 1;
		req->last_event_id = ctx.query_lei;
	}
	if (used != NULL)
		*used = hlen;
	return HTTP_OK;
}

/* ---- RFC 3339 times ---------------------------------------------------- */

/* n decimal digits at s: 0 and *v, or -1. */
static int
http_digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

static int
http_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
http_mdays(int y, int m)
{
	static const int days[12] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && http_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's
 * days_from_civil). */
static int64_t
http_days(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The fraction after the seconds (".ddd…", any digits, truncated to
 * milliseconds); returns the bytes taken or -1. */
static int
http_fraction(const char *s, int *msec)
{
	int i, scale = 100;

	*msec = 0;
	if (s[0] != '.')
		return 0;
	for (i = 1; s[i] >= '0' && s[i] <= '9'; i++) {
		*msec += (s[i] - '0') * scale;
		scale /= 10;
	}
	return i > 1 ? i : -1;
}

/* "Z", "z" or "+hh:mm" / "-hh:mm" ending s: 0 and the offset east of UTC
 * in minutes, or -1. */
static int
http_offset(const char *s, int *minutes)
{
	int hh, mm;

	*minutes = 0;
	if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0')
		return 0;
	if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':' ||
	    http_digits(s + 1, 2, &hh) == -1 ||
	    http_digits(s + 4, 2, &mm) == -1 || hh > 23 || mm > 59)
		return -1;
	*minutes = (s[0] == '-' ? -1 : 1) * (hh * 60 + mm);
	return 0;
}

/*
 * See relay.h: full-date "T" full-time (RFC 3339 section 5.6), 'T' and 'Z'
 * in either case, years 0000 to 9999. A leap second (:60) counts as the
 * first second of the next minute. *ms is written only on success.
 */
int
http_parse_time(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, msec, off, n;
	int64_t t;

	if (s == NULL || strnlen(s, 20) < 20 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
		return -1;
	if (http_digits(s, 4, &y) == -1 || http_digits(s + 5, 2, &mo) == -1 ||
	    http_digits(s + 8, 2, &d) == -1 ||
	    http_digits(s + 11, 2, &h) == -1 ||
	    http_digits(s + 14, 2, &mi) == -1 ||
	    http_digits(s + 17, 2, &sec) == -1)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > http_mdays(y, mo) || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	if ((n = http_fraction(s + 19, &msec)) == -1 ||
	    http_offset(s + 19 + n, &off) == -1)
		return -1;
	t = http_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off * 60;
	*ms = t * 1000 + msec;
	return 0;
}
