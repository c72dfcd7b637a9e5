/*
 * check_http.c: request-head parsing (relay/http.c). Tables of heads that
 * parse, heads that are malformed (with the words req->bad must hold),
 * heads that are incomplete or too large for max, then heads fed one byte
 * at a time, and RFC 3339 times with their exact milliseconds. Each head is
 * copied to a buffer of its exact length so valgrind sees any read past it.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"
#include "unit.h"

/* Bytes with their exact length: they may hold NUL. */
#define LIT(s) (s), sizeof(s) - 1

#define MAX 8192 /* the head limit unless a row says otherwise */

#define H11        " HTTP/1.1\r\n"
#define HOST       "Host: relay.example\r\n"
#define GET(t)     "GET " t H11 HOST "\r\n"
#define GETH(t, h) "GET " t H11 HOST h "\r\n"
#define LEI(v)     GETH("/events", "Last-Event-ID: " v "\r\n")
#define QLEI(v)    GET("/events?last_event_id=" v)

#define X8        "xxxxxxxx"
#define X64       X8 X8 X8 X8 X8 X8 X8 X8
#define P127      "/" X64 X8 X8 X8 X8 X8 X8 X8 "xxxxxx" /* a 127-byte path */
#define E8        "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
#define E32       E8 E8 E8 E8 /* 32 x U+00E9, 64 bytes once decoded */
#define UUID      "0192f0c4-5b1a-7cc3-8a4e-3f1f2a6b7c8d"
#define U64_MAX_S "18446744073709551615"
#define U64_OVER  "18446744073709551616"

/* Parse a copy of raw[0..len) in a buffer of exactly len bytes. */
static enum http_status
parse(
    const char *raw, size_t len, size_t max, struct http_req *req, size_t *used)
{
	enum http_status s;
	char *copy;

	copy = malloc(len > 0 ? len : 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, raw, len);
	s = http_parse(copy, len, max, req, used);
	free(copy);
	return s;
}

/* ---- heads that parse --------------------------------------------------- */

struct good_case {
	const char *raw;
	size_t len;
	const char *method;
	const char *path;
	int has_lei;
	uint64_t lei;
	int has_since;
	int64_t since_ms;
	const char *order_id; /* NULL for "" */
	const char *username; /* NULL for "" */
};

static const struct good_case good_cases[] = {
    /* Versions and line endings. */
    {LIT(GET("/events")), .method = "GET", .path = "/events"},
    {LIT("GET /events HTTP/1.0\r\n\r\n"), .method = "GET", .path = "/events"},
    {LIT("GET /events HTTP/1.0\n\n"), .method = "GET", .path = "/events"},
    {LIT("GET /events HTTP/1.1\nHost: x\n\n"), .method = "GET",
        .path = "/events"},
    {LIT("GET / HTTP/1.1\r\nHost: x\n\r\n"), .method = "GET", .path = "/"},
    {LIT("GET / HTTP/1.1\nHost: x\r\n\n"), .method = "GET", .path = "/"},
    {LIT("GET / HTTP/1.9\r\n\r\n"), .method = "GET", .path = "/"},
    /* Methods are kept as sent; the caller decides which it serves. */
    {LIT("get / HTTP/1.1\r\n\r\n"), .method = "get", .path = "/"},
    {LIT("OPTIONS /events HTTP/1.1\r\n\r\n"), .method = "OPTIONS",
        .path = "/events"},
    /* All four query parameters. */
    {LIT(GET("/events?last_event_id=12&since=2026-11-23T11:20:03.123Z"
             "&order_id=" UUID "&username=kimi")),
        .method = "GET", .path = "/events", .has_lei = 1, .lei = 12,
        .has_since = 1, .since_ms = 1795432803123LL, .order_id = UUID,
        .username = "kimi"},
    {LIT("GET /events?username=kimi&order_id=o1 HTTP/1.0\r\n\r\n"),
        .method = "GET", .path = "/events", .order_id = "o1",
        .username = "kimi"},
    /* The header Last-Event-ID, whatever its case, beats the query. */
    {LIT(GETH("/events?last_event_id=5", "Last-Event-ID: 9\r\n")),
        .method = "GET", .path = "/events", .has_lei = 1, .lei = 9},
    {LIT(GETH("/e", "last-event-id: 9\r\n")), .method = "GET", .path = "/e",
        .has_lei = 1, .lei = 9},
    {LIT(GETH("/e", "LAST-EVENT-ID:9\r\n")), .method = "GET", .path = "/e",
        .has_lei = 1, .lei = 9},
    {LIT(LEI("\t 9 \t")), .method = "GET", .path = "/events", .has_lei = 1,
        .lei = 9},
    /* An empty header is absent: the query then counts. */
    {LIT(GETH("/events?last_event_id=5", "Last-Event-ID:\r\n")),
        .method = "GET", .path = "/events", .has_lei = 1, .lei = 5},
    {LIT(LEI("  ")), .method = "GET", .path = "/events"},
    {LIT(QLEI("7")), .method = "GET", .path = "/events", .has_lei = 1,
        .lei = 7},
    /* Ids: 0, leading zeros and the largest uint64_t. */
    {LIT(LEI("0")), .method = "GET", .path = "/events", .has_lei = 1, .lei = 0},
    {LIT(LEI("007")), .method = "GET", .path = "/events", .has_lei = 1,
        .lei = 7},
    {LIT(QLEI("000")), .method = "GET", .path = "/events", .has_lei = 1,
        .lei = 0},
    {LIT(LEI(U64_MAX_S)), .method = "GET", .path = "/events", .has_lei = 1,
        .lei = UINT64_MAX},
    {LIT(QLEI(U64_MAX_S)), .method = "GET", .path = "/events", .has_lei = 1,
        .lei = UINT64_MAX},
    {LIT(LEI("000" U64_MAX_S)), .method = "GET", .path = "/events",
        .has_lei = 1, .lei = UINT64_MAX},
    /* The path is decoded, never normalised; '+' is a plus there. */
    {LIT(GET("/a%20b")), .method = "GET", .path = "/a b"},
    {LIT(GET("/a%2Fb%2fc")), .method = "GET", .path = "/a/b/c"},
    {LIT(GET("/a+b")), .method = "GET", .path = "/a+b"},
    {LIT(GET("/../../etc/passwd")), .method = "GET",
        .path = "/../../etc/passwd"},
    {LIT(GET("/%2e%2e/x")), .method = "GET", .path = "/../x"},
    {LIT(GET("/caf%C3%A9")), .method = "GET", .path = "/caf\xc3\xa9"},
    {LIT(GET("/a;b=c,d@e:f!$'()*[]|^{}`~\\\"<>")), .method = "GET",
        .path = "/a;b=c,d@e:f!$'()*[]|^{}`~\\\"<>"},
    {LIT(GET(P127)), .method = "GET", .path = P127},
    {LIT(GET("/events?")), .method = "GET", .path = "/events"},
    {LIT(GET("/events?&&")), .method = "GET", .path = "/events"},
    /* Query values: '+' is a space, %2B a plus, UTF-8 passes. */
    {LIT(GET("/e?username=kimi+r")), .method = "GET", .path = "/e",
        .username = "kimi r"},
    {LIT(GET("/e?username=a%2Bb")), .method = "GET", .path = "/e",
        .username = "a+b"},
    {LIT(GET("/e?username=%C3%A9")), .method = "GET", .path = "/e",
        .username = "\xc3\xa9"},
    {LIT(GET("/e?order_id=a=b")), .method = "GET", .path = "/e",
        .order_id = "a=b"},
    {LIT(GET("/e?order%5Fid=x")), .method = "GET", .path = "/e",
        .order_id = "x"},
    {LIT(GET("/e?order_id=" X64 "&username=" E32)), .method = "GET",
        .path = "/e", .order_id = X64,
        .username = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"},
    /* Unknown and case-different names are skipped; empty is absent. */
    {LIT(GET("/e?foo=bar&x&=&=y&Order_ID=z&order_id=o1")), .method = "GET",
        .path = "/e", .order_id = "o1"},
    {LIT(GET("/e?order_id=&username=&since=&last_event_id=")), .method = "GET",
        .path = "/e"},
    {LIT(GET("/e?order_id&username")), .method = "GET", .path = "/e"},
    {LIT(GET("/e?" X64 X64 "=1")), .method = "GET", .path = "/e"},
    /* since: offsets, written %2B, and lower case. */
    {LIT(GET("/e?since=2026-11-23T12:20:03%2B01:00")), .method = "GET",
        .path = "/e", .has_since = 1, .since_ms = 1795432803000LL},
    {LIT(GET("/e?since=2026-11-23t11:20:03z")), .method = "GET", .path = "/e",
        .has_since = 1, .since_ms = 1795432803000LL},
    /* Not 0, which JetStream would take as "new events only". */
    {LIT(GET("/e?since=1970-01-01T00%3A00%3A00Z")), .method = "GET",
        .path = "/e", .has_since = 1, .since_ms = 1},
    {LIT(GET("/e?since=1969-07-20T20:17:40Z")), .method = "GET", .path = "/e",
        .has_since = 1, .since_ms = 1},
    {LIT(GET("/e?since=2262-04-11T23:47:16Z")), .method = "GET", .path = "/e",
        .has_since = 1, .since_ms = 9223372036000LL},
    /* Other headers: trimmed, any value bytes but controls save HTAB. */
    {LIT(GETH("/e", "Accept: text/event-stream\r\n"
                    "Cache-Control: no-cache\r\n")),
        .method = "GET", .path = "/e"},
    {LIT(GETH("/e", "X-Name: Caf\xc3\xa9 \xff\r\n")), .method = "GET",
        .path = "/e"},
    {LIT(GETH("/e", "X-Tab: a\tb\r\n")), .method = "GET", .path = "/e"},
    {LIT(GETH("/e", "X-Empty:\r\nX-Spaces:   \r\n")), .method = "GET",
        .path = "/e"},
    {LIT(GETH("/e", "!#$%&'*+-.^_`|~09azAZ: token\r\n")), .method = "GET",
        .path = "/e"},
    {LIT(GETH("/e", "Last-Event-ID-Not: x\r\nX-Last-Event-ID: y\r\n")),
        .method = "GET", .path = "/e"},
};

#define NGOOD (int)(sizeof good_cases / sizeof good_cases[0])

START_TEST(test_parse_accepts_good_head)
{
	const struct good_case *c = &good_cases[_i];
	struct http_req req;
	enum http_status s;
	size_t used = 0;

	s = parse(c->raw, c->len, MAX, &req, &used);
	ck_assert_msg(s == HTTP_OK, "row %d: status %d: %s", _i, s, req.bad);
	ck_assert_uint_eq(used, c->len);
	ck_assert_str_eq(req.bad, "");
	ck_assert_str_eq(req.method, c->method);
	ck_assert_str_eq(req.path, c->path);
	ck_assert_int_eq(req.has_last_event_id, c->has_lei);
	ck_assert_uint_eq(req.last_event_id, c->lei);
	ck_assert_int_eq(req.has_since, c->has_since);
	ck_assert_int_eq(req.since_ms, c->since_ms);
	ck_assert_str_eq(req.order_id, c->order_id ? c->order_id : "");
	ck_assert_str_eq(req.username, c->username ? c->username : "");
}
END_TEST

/* ---- heads that are malformed ------------------------------------------ */

struct bad_case {
	const char *raw;
	size_t len;
	const char *words; /* in req->bad */
};

static const struct bad_case bad_cases[] = {
    /* The request line. */
    {LIT("\r\n"), "empty request line"},
    {LIT("\n\n"), "empty request line"},
    {LIT("\r\nGET / HTTP/1.1\r\n\r\n"), "empty request line"},
    {LIT("GET /\r\n\r\n"), "not METHOD SP target SP HTTP/1.x"},
    {LIT("GET / HTTP/1.1 x\r\n\r\n"), "not METHOD SP target SP HTTP/1.x"},
    {LIT("GET\r\n\r\n"), "not METHOD SP target SP HTTP/1.x"},
    {LIT("GET / HTTP/2.0\r\n\r\n"), "version is not HTTP/1.x"},
    {LIT("GET / HTTP/1\r\n\r\n"), "version is not HTTP/1.x"},
    {LIT("GET / HTTP/1.a\r\n\r\n"), "version is not HTTP/1.x"},
    {LIT("GET / http/1.1\r\n\r\n"), "version is not HTTP/1.x"},
    {LIT("GET / HTTP/1.1 \r\n\r\n"), "not METHOD SP target SP HTTP/1.x"},
    {LIT("GET / HTTP/1.10\r\n\r\n"), "version is not HTTP/1.x"},
    {LIT("GET /a b HTTP/1.1\r\n\r\n"), "not METHOD SP target SP HTTP/1.x"},
    {LIT("GET  / HTTP/1.1\r\n\r\n"), "not METHOD SP target SP HTTP/1.x"},
    {LIT(" GET / HTTP/1.1\r\n\r\n"), "not METHOD SP target SP HTTP/1.x"},
    {LIT(" / HTTP/1.1\r\n\r\n"), "method must be 1 to 7 bytes"},
    {LIT("PROPFIND / HTTP/1.1\r\n\r\n"), "method must be 1 to 7 bytes"},
    {LIT("M-SEARCH / HTTP/1.1\r\n\r\n"), "method must be 1 to 7 bytes"},
    {LIT("G(T / HTTP/1.1\r\n\r\n"), "method is not a token"},
    {LIT("G\xc3\x89T / HTTP/1.1\r\n\r\n"), "method is not a token"},
    {LIT("GET\t/ HTTP/1.1\r\n\r\n"), "request line has a NUL or control"},
    {LIT("GET /\0 HTTP/1.1\r\n\r\n"), "request line has a NUL or control"},
    {LIT("GET /\x7f HTTP/1.1\r\n\r\n"), "request line has a NUL or control"},
    {LIT("GET / HTTP/1.1\r\r\n\r\n"), "request line has a NUL or control"},
    {LIT("GET /a\rb HTTP/1.1\r\n\r\n"), "request line has a NUL or control"},
    /* The target: origin form only, visible ASCII, no fragment. */
    {LIT("GET  HTTP/1.1\r\n\r\n"), "must start with /"},
    {LIT(GET("events")), "must start with /"},
    {LIT(GET("http://relay.example/events")), "must start with /"},
    {LIT(GET("*")), "must start with /"},
    {LIT(GET("?a=b")), "must start with /"},
    {LIT(GET("/a#b")), "fragment"},
    {LIT(GET("/caf\xc3\xa9")), "not visible ASCII"},
    {LIT(GET(P127 "x")), "path is longer than 127 bytes"},
    {LIT(GET(P127 "%41")), "path is longer than 127 bytes"},
    /* Percent-escapes. */
    {LIT(GET("/a%zzb")), "path: bad %-escape"},
    {LIT(GET("/a%g0")), "path: bad %-escape"},
    {LIT(GET("/a%4")), "path: truncated %-escape"},
    {LIT(GET("/a%")), "path: truncated %-escape"},
    {LIT(GET("/a%00b")), "path: NUL or control byte"},
    {LIT(GET("/a%0d%0aSet-Cookie:x")), "path: NUL or control byte"},
    {LIT(GET("/a%7F")), "path: NUL or control byte"},
    {LIT(GET("/e?username=%00")), "username: NUL or control byte"},
    {LIT(GET("/e?username=a%0Ab")), "username: NUL or control byte"},
    {LIT(GET("/e?order_id=%zz")), "order_id: bad %-escape"},
    {LIT(GET("/e?order_id=%")), "order_id: truncated %-escape"},
    {LIT(GET("/e?foo=%zz")), "query parameter: bad %-escape"},
    {LIT(GET("/e?foo=%01")), "query parameter: NUL or control byte"},
    {LIT(GET("/e?%zz=1")), "query parameter name: bad %-escape"},
    {LIT(GET("/e?a%00=1")), "query parameter name: NUL or control byte"},
    /* Headers. */
    {LIT(GETH("/e", "X: a\r\n b\r\n")), "folding"},
    {LIT(GETH("/e", "X: a\r\n\tb\r\n")), "folding"},
    {LIT("GET / HTTP/1.1\r\n Host: x\r\n\r\n"), "folding"},
    {LIT(GETH("/e", "NoColonHere\r\n")), "without a colon"},
    {LIT(GETH("/e", ": value\r\n")), "empty name"},
    {LIT(GETH("/e", "X : a\r\n")), "header name is not a token"},
    {LIT(GETH("/e", "X\t: a\r\n")), "header name is not a token"},
    {LIT(GETH("/e", "X\0: a\r\n")), "header name is not a token"},
    {LIT(GETH("/e", "Caf\xc3\xa9: a\r\n")), "header name is not a token"},
    {LIT(GETH("/e", "X(y): a\r\n")), "header name is not a token"},
    {LIT(GETH("/e", "X: a\0b\r\n")), "header value has a NUL or control"},
    {LIT(GETH("/e", "X: a\x01z\r\n")), "header value has a NUL or control"},
    {LIT(GETH("/e", "X: a\x7f\r\n")), "header value has a NUL or control"},
    {LIT(GETH("/e", "X: a\rb\r\n")), "header value has a NUL or control"},
    {LIT(GETH("/e", "X: a\r\r\n")), "header value has a NUL or control"},
    {LIT(GETH("/e", "X: a\x1b[31m\r\n")), "header value has a NUL or control"},
    /* Last-Event-ID: a decimal below 2^64, once. */
    {LIT(LEI(U64_OVER)), "header Last-Event-ID is not a decimal number"},
    {LIT(LEI("99999999999999999999")), "Last-Event-ID is not a decimal"},
    {LIT(LEI("-1")), "Last-Event-ID is not a decimal"},
    {LIT(LEI("+1")), "Last-Event-ID is not a decimal"},
    {LIT(LEI("1 2")), "Last-Event-ID is not a decimal"},
    {LIT(LEI("1\t2")), "Last-Event-ID is not a decimal"},
    {LIT(LEI("abc")), "Last-Event-ID is not a decimal"},
    {LIT(LEI("0x10")), "Last-Event-ID is not a decimal"},
    {LIT(LEI("1.5")), "Last-Event-ID is not a decimal"},
    {LIT(LEI("1e3")), "Last-Event-ID is not a decimal"},
    {LIT(LEI("\xef\xbc\x91")), "Last-Event-ID is not a decimal"},
    {LIT(GETH("/e", "Last-Event-ID: 1\r\nLast-Event-ID: 1\r\n")),
        "Last-Event-ID given twice"},
    {LIT(GETH("/e", "Last-Event-ID:\r\nlast-event-id: 1\r\n")),
        "Last-Event-ID given twice"},
    {LIT(QLEI(U64_OVER)), "last_event_id is not a decimal number below 2^64"},
    {LIT(QLEI("-1")), "last_event_id is not a decimal"},
    {LIT(QLEI("%201")), "last_event_id is not a decimal"},
    {LIT(QLEI("1+")), "last_event_id is not a decimal"},
    {LIT(QLEI("1%2B")), "last_event_id is not a decimal"},
    {LIT(QLEI("x")), "last_event_id is not a decimal"},
    {LIT(QLEI(
         "00000000000000000000000000000000000000000000000000000000000000001")),
        "last_event_id is longer than 64 bytes"},
    /* Every value is checked, even one the header overrides. */
    {LIT(GETH("/e?last_event_id=x", "Last-Event-ID: 5\r\n")),
        "last_event_id is not a decimal"},
    /* A known query parameter given twice. */
    {LIT(GET("/e?order_id=a&order_id=b")), "order_id given twice"},
    {LIT(GET("/e?order_id=&order_id=b")), "order_id given twice"},
    {LIT(GET("/e?username=a&order%5fid=b&order_id=b")), "order_id given twice"},
    {LIT(GET("/e?last_event_id=1&last_event_id=1")),
        "last_event_id given twice"},
    {LIT(GET("/e?since=1970-01-01T00:00:00Z&since=1970-01-01T00:00:00Z")),
        "since given twice"},
    /* Values over their maximum or malformed. */
    {LIT(GET("/e?order_id=" X64 "x")), "order_id is longer than 64 bytes"},
    {LIT(GET("/e?username=" X64 "x")), "username is longer than 64 bytes"},
    {LIT(GET("/e?username=" E32 "x")), "username is longer than 64 bytes"},
    {LIT(GET("/e?since=yesterday")), "since is not an RFC 3339 time"},
    {LIT(GET("/e?since=2262-04-11T23:47:17Z")), "since is after 2262-04-11"},
    {LIT(GET("/e?since=9999-12-31T23:59:59Z")), "since is after 2262-04-11"},
    {LIT(GET("/e?since=2026-11-23T12:20:03+01:00")), "send + as %2B"},
    {LIT(GET("/e?since=2026-02-30T00:00:00Z")), "since is not an RFC 3339"},
    {LIT(GET("/e?since=2026-11-23T11:20:03.123456789012345678901234567890"
             "123456789012345678901234567890Z")),
        "since is longer than 64 bytes"},
};

#define NBAD (int)(sizeof bad_cases / sizeof bad_cases[0])

START_TEST(test_parse_rejects_bad_head)
{
	const struct bad_case *c = &bad_cases[_i];
	struct http_req req;
	enum http_status s;
	size_t used = 12345;

	s = parse(c->raw, c->len, MAX, &req, &used);
	ck_assert_msg(
	    s == HTTP_BAD, "row %d: status %d, expected HTTP_BAD", _i, s);
	ck_assert_msg(strstr(req.bad, c->words) != NULL,
	    "row %d: bad is '%s', expected '%s'", _i, req.bad, c->words);
	ck_assert_uint_eq(used, 12345);
}
END_TEST

/* ---- incomplete and too large ------------------------------------------ */

struct size_case {
	const char *raw;
	size_t len;
	size_t max;
	enum http_status status;
	size_t used; /* on HTTP_OK */
};

#define SHORT "GET / HTTP/1.1\r\n\r\n" /* 18 bytes */

static const struct size_case size_cases[] = {
    {LIT(""), MAX, HTTP_INCOMPLETE, 0},
    {LIT("G"), MAX, HTTP_INCOMPLETE, 0},
    {LIT("GET / HTTP/1.1"), MAX, HTTP_INCOMPLETE, 0},
    {LIT("GET / HTTP/1.1\r\n"), MAX, HTTP_INCOMPLETE, 0},
    {LIT("GET / HTTP/1.1\r\n\r"), MAX, HTTP_INCOMPLETE, 0},
    {LIT("GET / HTTP/1.1\r\nHost: x\r\n"), MAX, HTTP_INCOMPLETE, 0},
    {LIT("GET / HTTP/1.1\r\nHost: x\r\n\r"), MAX, HTTP_INCOMPLETE, 0},
    {LIT("GET / HTTP/1.1\nHost: x\n"), MAX, HTTP_INCOMPLETE, 0},
    /* Faults are found once the head is whole. */
    {LIT("\0\0\0\r\n"), MAX, HTTP_INCOMPLETE, 0},
    {LIT("\r"), MAX, HTTP_INCOMPLETE, 0},
    /* Over max without a whole head: at once, whatever the bytes. */
    {LIT("GET / HTTP/1.1\r\nHost: x"), 10, HTTP_TOO_LARGE, 0},
    {LIT("GET / HTTP/1.1\r\n\r"), 16, HTTP_TOO_LARGE, 0},
    {LIT("GET / HTTP/1.1\r\n\r"), 17, HTTP_INCOMPLETE, 0},
    {LIT("x"), 0, HTTP_TOO_LARGE, 0},
    {LIT(""), 0, HTTP_INCOMPLETE, 0},
    /* A whole head longer than max is too large; max itself fits. */
    {LIT(SHORT), 17, HTTP_TOO_LARGE, 0},
    {LIT(SHORT), 18, HTTP_OK, 18},
    {LIT(SHORT "GET / HTTP/1.1\r\n\r\n"), 18, HTTP_OK, 18},
    {LIT(SHORT "\0\0\0 body, never read"), 18, HTTP_OK, 18},
    {LIT(SHORT "\r\n"), MAX, HTTP_OK, 18},
    {LIT("GET / HTTP/1.1\n\nrest"), MAX, HTTP_OK, 16},
    {LIT("GET / HTTP/1.1\r\nHost: x\r\n\r\nXYZ"), MAX, HTTP_OK, 27},
};

#define NSIZE (int)(sizeof size_cases / sizeof size_cases[0])

START_TEST(test_parse_incomplete_or_too_large)
{
	const struct size_case *c = &size_cases[_i];
	struct http_req req;
	enum http_status s;
	size_t used = 12345;

	s = parse(c->raw, c->len, c->max, &req, &used);
	ck_assert_msg(s == c->status, "row %d: status %d, expected %d (%s)", _i,
	    s, c->status, req.bad);
	ck_assert_uint_eq(used, c->status == HTTP_OK ? c->used : 12345);
	if (c->status != HTTP_OK)
		ck_assert_str_eq(req.bad, "");
}
END_TEST

/* Many headers are fine within max: the parse is linear. */
START_TEST(test_parse_many_headers)
{
	static const char start[] = "GET /e?order_id=o1" H11 HOST;
	static const char line[] = "X-Padding: 0123456789\r\n";
	struct http_req req;
	size_t n, i, used;
	char *buf;

	buf = malloc(sizeof start + 5000 * (sizeof line - 1) + 2);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, start, sizeof start - 1);
	n = sizeof start - 1;
	for (i = 0; i < 5000; i++, n += sizeof line - 1)
		memcpy(buf + n, line, sizeof line - 1);
	memcpy(buf + n, "\r\n", 2);
	n += 2;
	ck_assert_int_eq(http_parse(buf, n, n, &req, &used), HTTP_OK);
	ck_assert_uint_eq(used, n);
	ck_assert_str_eq(req.order_id, "o1");
	ck_assert_int_eq(http_parse(buf, n, 8192, &req, &used), HTTP_TOO_LARGE);
	ck_assert_int_eq(
	    http_parse(buf, 8192, 8192, &req, &used), HTTP_INCOMPLETE);
	free(buf);
}
END_TEST

/* ---- one byte at a time ------------------------------------------------- */

struct drip_case {
	const char *raw;
	size_t len;
	const char *path;
	uint64_t lei;
};

static const struct drip_case drip_cases[] = {
    {LIT(GET("/events?order_id=" UUID "&username=kimi")), "/events", 0},
    {LIT("GET /events HTTP/1.1\nLast-Event-ID: 42\n\n"), "/events", 42},
    {LIT("GET / HTTP/1.0\r\n\r\n"), "/", 0},
    {LIT("GET / HTTP/1.0\n\r\n"), "/", 0},
    {LIT(GETH("/a%20b?last_event_id=7",
         "Last-Event-ID: 42\r\nAccept: text/event-stream\r\n")),
        "/a b", 42},
};

#define NDRIP (int)(sizeof drip_cases / sizeof drip_cases[0])

/* INCOMPLETE up to the last byte of the head, then OK with *used the
 * head's length however many bytes of the next request follow. */
START_TEST(test_parse_one_byte_at_a_time)
{
	static const char extra[] = "GET /next HTTP/1.1\r\n\r\n";
	const struct drip_case *c = &drip_cases[_i];
	struct http_req req;
	enum http_status s;
	size_t n, used;
	char *buf;

	buf = malloc(c->len + sizeof extra - 1);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, c->raw, c->len);
	memcpy(buf + c->len, extra, sizeof extra - 1);
	for (n = 0; n < c->len; n++) {
		used = 12345;
		s = http_parse(buf, n, MAX, &req, &used);
		ck_assert_msg(
		    s == HTTP_INCOMPLETE, "row %d: %d at %zu", _i, s, n);
		ck_assert_uint_eq(used, 12345);
	}
	for (; n <= c->len + sizeof extra - 1; n++) {
		used = 0;
		ck_assert_int_eq(http_parse(buf, n, MAX, &req, &used), HTTP_OK);
		ck_assert_uint_eq(used, c->len);
		ck_assert_str_eq(req.path, c->path);
		ck_assert_int_eq(req.has_last_event_id, c->lei != 0);
		ck_assert_uint_eq(req.last_event_id, c->lei);
	}
	free(buf);
}
END_TEST

/* ---- RFC 3339 ----------------------------------------------------------- */

struct time_case {
	const char *s;
	int ok;
	int64_t ms;
};

static const struct time_case time_cases[] = {
    {"2026-11-23T11:20:03Z", 1, 1795432803000LL},
    {"2026-11-23T11:20:03.123Z", 1, 1795432803123LL},
    {"2026-11-23t11:20:03.123z", 1, 1795432803123LL},
    {"2026-11-23T11:20:03.1Z", 1, 1795432803100LL},
    {"2026-11-23T11:20:03.12Z", 1, 1795432803120LL},
    {"2026-11-23T11:20:03.123456789Z", 1, 1795432803123LL},
    {"2026-11-23T11:20:03.9999Z", 1, 1795432803999LL},
    {"2026-11-23T11:20:03.000Z", 1, 1795432803000LL},
    {"2026-11-23T12:20:03+01:00", 1, 1795432803000LL},
    {"2026-11-23T12:20:03.123+01:00", 1, 1795432803123LL},
    {"2026-11-23T06:50:03-04:30", 1, 1795432803000LL},
    {"2026-11-23T11:20:03-00:00", 1, 1795432803000LL},
    {"2026-11-23T11:20:03+00:00", 1, 1795432803000LL},
    {"2026-11-23T00:30:00+01:00", 1, 1795390200000LL},
    {"2026-11-22T23:59:00-23:59", 1, 1795478280000LL},
    {"1970-01-01T00:00:00Z", 1, 0},
    {"1969-12-31T23:59:59.999Z", 1, -1},
    {"2024-02-29T00:00:00Z", 1, 1709164800000LL},
    {"2000-02-29T00:00:00Z", 1, 951782400000LL},
    {"2016-12-31T23:59:60Z", 1, 1483228800000LL},
    {"0000-01-01T00:00:00Z", 1, -62167219200000LL},
    {"9999-12-31T23:59:59.999Z", 1, 253402300799999LL},
    /* Out of range. */
    {"1900-02-29T00:00:00Z", 0, 0},
    {"2023-02-29T00:00:00Z", 0, 0},
    {"2026-04-31T00:00:00Z", 0, 0},
    {"2026-13-01T00:00:00Z", 0, 0},
    {"2026-00-01T00:00:00Z", 0, 0},
    {"2026-01-00T00:00:00Z", 0, 0},
    {"2026-01-32T00:00:00Z", 0, 0},
    {"2026-11-23T24:00:00Z", 0, 0},
    {"2026-11-23T11:60:00Z", 0, 0},
    {"2026-11-23T11:20:61Z", 0, 0},
    {"2026-11-23T11:20:03+24:00", 0, 0},
    {"2026-11-23T11:20:03+01:60", 0, 0},
    /* Not the syntax. */
    {"", 0, 0},
    {"2026-11-23", 0, 0},
    {"2026-11-23T11:20Z", 0, 0},
    {"2026-11-23 11:20:03Z", 0, 0},
    {"2026-11-23T11:20:03", 0, 0},
    {"2026-11-23T11:20:03.Z", 0, 0},
    {"2026-11-23T11:20:03,123Z", 0, 0},
    {"2026-11-23T11:20:03.12aZ", 0, 0},
    {"2026-11-23T11:20:03+0100", 0, 0},
    {"2026-11-23T11:20:03+01", 0, 0},
    {"2026-11-23T11:20:03+01:00:00", 0, 0},
    {"2026-11-23T11:20:03 +01:00", 0, 0},
    {"2026-11-23T11:20:03ZZ", 0, 0},
    {"2026-11-23T11:20:03Z ", 0, 0},
    {" 2026-11-23T11:20:03Z", 0, 0},
    {"26-11-23T11:20:03Z", 0, 0},
    {"+2026-11-23T11:20:03Z", 0, 0},
    {"2026-1-23T11:20:03Z", 0, 0},
    {"2026-11-23T1:20:03Z", 0, 0},
    {"2026-1a-23T11:20:03Z", 0, 0},
    {"2026/11/23T11:20:03Z", 0, 0},
    {"2026-11-23T11:20:03UTC", 0, 0},
    {"-001-01-01T00:00:00Z", 0, 0},
    {"1795432803000", 0, 0},
};

#define NTIME (int)(sizeof time_cases / sizeof time_cases[0])

START_TEST(test_parse_time)
{
	const struct time_case *c = &time_cases[_i];
	int64_t ms = 777;
	char *copy;
	int r;

	copy = strdup(c->s);
	ck_assert_ptr_nonnull(copy);
	r = http_parse_time(copy, &ms);
	free(copy);
	ck_assert_msg(
	    r == (c->ok ? 0 : -1), "row %d: '%s' gives %d", _i, c->s, r);
	if (c->ok)
		ck_assert_msg(ms == c->ms,
		    "row %d: '%s' is %lld, expected %lld", _i, c->s,
		    (long long)ms, (long long)c->ms);
	else
		ck_assert_int_eq(ms, 777);
}
END_TEST

START_TEST(test_parse_time_null)
{
	int64_t ms = 777;

	ck_assert_int_eq(http_parse_time(NULL, &ms), -1);
	ck_assert_int_eq(ms, 777);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc;

	tc = tcase_create("parse_good");
	tcase_add_loop_test(tc, test_parse_accepts_good_head, 0, NGOOD);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_bad");
	tcase_add_loop_test(tc, test_parse_rejects_bad_head, 0, NBAD);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_size");
	tcase_add_loop_test(tc, test_parse_incomplete_or_too_large, 0, NSIZE);
	tcase_add_test(tc, test_parse_many_headers);
	tcase_add_loop_test(tc, test_parse_one_byte_at_a_time, 0, NDRIP);
	suite_add_tcase(s, tc);

	tc = tcase_create("time");
	tcase_add_loop_test(tc, test_parse_time, 0, NTIME);
	tcase_add_test(tc, test_parse_time_null);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(http_suite());
}
