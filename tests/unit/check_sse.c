/*
 * check_sse.c: SSE framing (relay/sse.c). Each table row gives a payload
 * and its exact frame; the frame is then read back by a small copy of the
 * browser's parser (WHATWG HTML, "Server-sent events", 9.2.6) which must
 * see exactly one event whose data is the payload with CR and CRLF turned
 * into LF, and no field the payload did not ask for. Every frame is also
 * written into every buffer size from 0 to its length + 1.
 */
#include "config.h"

#include <check.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"
#include "unit.h"

/* Bytes with their exact length: they may hold NUL. */
#define LIT(s) (s), sizeof(s) - 1

#define EMOJI  "\xf0\x9f\x8d\x95"                /* U+1F355, four bytes */
#define UTF8   "Caf\xc3\xa9 \xe2\x82\xac " EMOJI /* Café € 🍕 */
#define CANARY 0xa5

struct event_case {
	uint64_t id;
	const char *event;
	const char *data; /* dlen bytes */
	size_t dlen;
	const char *frame; /* flen bytes */
	size_t flen;
	const char *type; /* the event's type as the browser sees it */
};

static const struct event_case event_cases[] = {
    /* One line; an id of 0 is omitted. */
    {1, NULL, LIT("hello"), LIT("id: 1\ndata: hello\n\n"), "message"},
    {0, NULL, LIT("hello"), LIT("data: hello\n\n"), "message"},
    {10, NULL, LIT("x"), LIT("id: 10\ndata: x\n\n"), "message"},
    {UINT64_MAX, NULL, LIT("x"), LIT("id: 18446744073709551615\ndata: x\n\n"),
        "message"},
    /* Each kind of line break, and a mix. */
    {0, NULL, LIT("a\nb"), LIT("data: a\ndata: b\n\n"), "message"},
    {0, NULL, LIT("a\rb"), LIT("data: a\ndata: b\n\n"), "message"},
    {0, NULL, LIT("a\r\nb"), LIT("data: a\ndata: b\n\n"), "message"},
    {0, NULL, LIT("a\nb\rc\r\nd"),
        LIT("data: a\ndata: b\ndata: c\ndata: d\n\n"), "message"},
    /* LF CR is two breaks, CR CR LF too; CRLF is one. */
    {0, NULL, LIT("a\n\rb"), LIT("data: a\ndata: \ndata: b\n\n"), "message"},
    {0, NULL, LIT("a\r\r\nb"), LIT("data: a\ndata: \ndata: b\n\n"), "message"},
    {0, NULL, LIT("a\r\n\r\nb"), LIT("data: a\ndata: \ndata: b\n\n"),
        "message"},
    /* Leading and trailing breaks give empty lines, so none is lost. */
    {0, NULL, LIT("\na"), LIT("data: \ndata: a\n\n"), "message"},
    {0, NULL, LIT("\ra"), LIT("data: \ndata: a\n\n"), "message"},
    {0, NULL, LIT("a\n"), LIT("data: a\ndata: \n\n"), "message"},
    {0, NULL, LIT("a\r"), LIT("data: a\ndata: \n\n"), "message"},
    {0, NULL, LIT("a\r\n"), LIT("data: a\ndata: \n\n"), "message"},
    {0, NULL, LIT("\n"), LIT("data: \ndata: \n\n"), "message"},
    {0, NULL, LIT("\r"), LIT("data: \ndata: \n\n"), "message"},
    {0, NULL, LIT("\r\n"), LIT("data: \ndata: \n\n"), "message"},
    {0, NULL, LIT("\n\n"), LIT("data: \ndata: \ndata: \n\n"), "message"},
    /* Empty data is one empty line, and the event still fires. */
    {0, NULL, LIT(""), LIT("data: \n\n"), "message"},
    {7, NULL, NULL, 0, LIT("id: 7\ndata: \n\n"), "message"},
    /* A payload cannot forge a field or end the event early. */
    {0, NULL, LIT(" a"), LIT("data:  a\n\n"), "message"},
    {0, NULL, LIT("id: 5"), LIT("data: id: 5\n\n"), "message"},
    {0, NULL, LIT(":x"), LIT("data: :x\n\n"), "message"},
    {0, NULL, LIT("x\n\nid: 9\nevent: evil\ndata: y"),
        LIT("data: x\ndata: \ndata: id: 9\ndata: event: evil\n"
            "data: data: y\n\n"),
        "message"},
    {0, NULL, LIT("x\r\rretry: 1"), LIT("data: x\ndata: \ndata: retry: 1\n\n"),
        "message"},
    /* UTF-8 and NUL pass through; only dlen bytes are read. */
    {0, NULL, LIT(UTF8), LIT("data: " UTF8 "\n\n"), "message"},
    {0, NULL, LIT(UTF8 "\n" EMOJI), LIT("data: " UTF8 "\ndata: " EMOJI "\n\n"),
        "message"},
    {0, NULL, LIT("a\0b"), LIT("data: a\0b\n\n"), "message"},
    {0, NULL, "abc\ndef", 3, LIT("data: abc\n\n"), "message"},
    /* An event name; its line breaks become spaces. */
    {42, "order", LIT("{\"status\":\"ready\"}"),
        LIT("id: 42\nevent: order\ndata: {\"status\":\"ready\"}\n\n"), "order"},
    {0, "a\nb", LIT("x"), LIT("event: a b\ndata: x\n\n"), "a b"},
    {0, "a\rb", LIT("x"), LIT("event: a b\ndata: x\n\n"), "a b"},
    {0, "a\r\nb", LIT("x"), LIT("event: a b\ndata: x\n\n"), "a b"},
    {0, "a\n\nid: 1", LIT("x"), LIT("event: a  id: 1\ndata: x\n\n"),
        "a  id: 1"},
    {0, "\n", LIT("x"), LIT("event:  \ndata: x\n\n"), " "},
    {0, "", LIT("x"), LIT("event: \ndata: x\n\n"), "message"},
    {3, EMOJI, LIT(EMOJI), LIT("id: 3\nevent: " EMOJI "\ndata: " EMOJI "\n\n"),
        EMOJI},
};

#define NEVENT (int)(sizeof event_cases / sizeof event_cases[0])

/* ---- a copy of the browser's parser, for one frame --------------------- */

struct view {
	int events;   /* dispatched */
	int comments; /* lines starting with ':' */
	int unknown;  /* fields other than data, event, id and retry */
	int partial;  /* bytes after the last line break */
	char data[4096];
	size_t dlen;
	char type[64];
	char id[32];
	int has_id;
	long retry;
	/* The buffers of the event being read. */
	char buf[4096];
	size_t blen;
	char tbuf[64];
};

static void
view_dispatch(struct view *v)
{
	if (v->blen > 0) {
		v->events++;
		v->dlen = v->blen - 1; /* drop the last LF */
		memcpy(v->data, v->buf, v->dlen);
		strcpy(v->type, v->tbuf[0] != '\0' ? v->tbuf : "message");
	}
	v->blen = 0;
	v->tbuf[0] = '\0';
}

static void
view_field(struct view *v, const char *f, size_t fn, const char *val, size_t vn)
{
	ck_assert_uint_lt(v->blen + vn + 1, sizeof v->buf);
	if (fn == 4 && memcmp(f, "data", 4) == 0) {
		memcpy(v->buf + v->blen, val, vn);
		v->blen += vn;
		v->buf[v->blen++] = '\n';
	} else if (fn == 5 && memcmp(f, "event", 5) == 0) {
		ck_assert_uint_lt(vn, sizeof v->tbuf);
		memcpy(v->tbuf, val, vn);
		v->tbuf[vn] = '\0';
	} else if (fn == 2 && memcmp(f, "id", 2) == 0) {
		ck_assert_uint_lt(vn, sizeof v->id);
		ck_assert_ptr_null(memchr(val, '\0', vn));
		memcpy(v->id, val, vn);
		v->id[vn] = '\0';
		v->has_id = 1;
	} else if (fn == 5 && memcmp(f, "retry", 5) == 0) {
		ck_assert_uint_gt(vn, 0);
		ck_assert_uint_eq(strspn(val, "0123456789"), vn);
		v->retry = strtol(val, NULL, 10);
	} else
		v->unknown++;
}

static void
view_line(struct view *v, const char *l, size_t n)
{
	const char *colon;
	size_t fn;

	if (n == 0) {
		view_dispatch(v);
		return;
	}
	if (l[0] == ':') {
		v->comments++;
		return;
	}
	colon = memchr(l, ':', n);
	fn = colon != NULL ? (size_t)(colon - l) : n;
	if (colon == NULL)
		colon = l + n - 1;
	else if (colon + 1 < l + n && colon[1] == ' ')
		colon++;
	view_field(v, l, fn, colon + 1, (size_t)(l + n - colon - 1));
}

/* Read f[0..n) as the browser would; f must be NUL-terminated at n. */
static void
view(struct view *v, const char *f, size_t n)
{
	size_t i = 0, start;

	memset(v, 0, sizeof *v);
	v->retry = -1;
	while (i < n) {
		start = i;
		while (i < n && f[i] != '\r' && f[i] != '\n')
			i++;
		if (i == n) {
			v->partial = 1;
			break;
		}
		view_line(v, f + start, i - start);
		if (f[i] == '\r' && i + 1 < n && f[i + 1] == '\n')
			i++;
		i++;
	}
}

/* The payload with each CRLF and CR turned into LF, as event.data. */
static size_t
normalise(char *out, const char *d, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (d[i] == '\r' && i + 1 < n && d[i + 1] == '\n')
			continue;
		out[o++] = d[i] == '\r' ? '\n' : d[i];
	}
	return o;
}

/* ---- sse_event ---------------------------------------------------------- */

START_TEST(test_event_exact_frame)
{
	const struct event_case *c = &event_cases[_i];
	char buf[512];
	size_t n;

	memset(buf, CANARY, sizeof buf);
	n = sse_event(buf, sizeof buf, c->id, c->event, c->data, c->dlen);
	ck_assert_msg(
	    n == c->flen, "row %d: length %zu, expected %zu", _i, n, c->flen);
	ck_assert_msg(memcmp(buf, c->frame, c->flen) == 0, "row %d: '%.*s'", _i,
	    (int)n, buf);
	ck_assert_int_eq(buf[n], '\0');
	ck_assert_int_eq((unsigned char)buf[n + 1], CANARY);
}
END_TEST

START_TEST(test_event_as_the_browser_reads_it)
{
	const struct event_case *c = &event_cases[_i];
	struct view v;
	char buf[512], want[256];
	size_t n, wlen;

	n = sse_event(buf, sizeof buf, c->id, c->event, c->data, c->dlen);
	view(&v, buf, n);
	ck_assert_msg(v.events == 1, "row %d: %d events", _i, v.events);
	ck_assert_int_eq(v.comments, 0);
	ck_assert_int_eq(v.unknown, 0);
	ck_assert_int_eq(v.partial, 0);
	wlen = normalise(want, c->data != NULL ? c->data : "", c->dlen);
	ck_assert_msg(v.dlen == wlen && memcmp(v.data, want, wlen) == 0,
	    "row %d: data '%.*s'", _i, (int)v.dlen, v.data);
	ck_assert_str_eq(v.type, c->type);
	ck_assert_int_eq(v.has_id, c->id != 0);
	if (c->id != 0)
		ck_assert_uint_eq(strtoull(v.id, NULL, 10), c->id);
	ck_assert_int_eq(v.retry, -1);
}
END_TEST

/* Each buffer size: the full length back, a terminated buf, nothing
 * written past len, and either the whole frame or the empty string. */
static void
check_sizes(const char *frame, size_t flen,
    size_t (*fn)(char *, size_t, const void *), const void *arg)
{
	char buf[512];
	size_t len, n;

	ck_assert_uint_eq(fn(NULL, 0, arg), flen);
	for (len = 0; len <= flen + 1; len++) {
		memset(buf, CANARY, sizeof buf);
		n = fn(buf, len, arg);
		ck_assert_msg(
		    n == flen, "len %zu: %zu, expected %zu", len, n, flen);
		if (len > flen) {
			ck_assert(memcmp(buf, frame, flen) == 0);
			ck_assert_int_eq(buf[flen], '\0');
		} else if (len > 0)
			ck_assert_msg(
			    buf[0] == '\0', "len %zu: not emptied", len);
		ck_assert_msg((unsigned char)buf[len] == CANARY,
		    "len %zu: written past the end", len);
	}
}

static size_t
write_event(char *buf, size_t len, const void *arg)
{
	const struct event_case *c = arg;

	return sse_event(buf, len, c->id, c->event, c->data, c->dlen);
}

START_TEST(test_event_every_buffer_size)
{
	const struct event_case *c = &event_cases[_i];

	check_sizes(c->frame, c->flen, write_event, c);
}
END_TEST

START_TEST(test_event_long_payload)
{
	static char data[4000], buf[10000], want[4000];
	struct view v;
	size_t i, n, f, wlen;

	/* 1000 lines of "ab", ended by CR, CRLF and LF in turn. */
	for (i = 0, n = 0; i < 1000; i++) {
		data[n++] = 'a';
		data[n++] = 'b';
		if (i % 3 != 2)
			data[n++] = '\r';
		if (i % 3 != 0)
			data[n++] = '\n';
	}
	ck_assert_uint_eq(n, 2000 + 1000 + 333);
	/* 1001 lines: 1000 of "data: ab\n", one "data: \n", the blank one. */
	ck_assert_uint_eq(sse_event(NULL, 0, 0, NULL, data, n), 9008);
	f = sse_event(buf, sizeof buf, 0, NULL, data, n);
	ck_assert_uint_eq(f, 9008);
	view(&v, buf, f);
	ck_assert_int_eq(v.events, 1);
	wlen = normalise(want, data, n);
	ck_assert_uint_eq(wlen, 3000);
	ck_assert_uint_eq(v.dlen, wlen);
	ck_assert(memcmp(v.data, want, wlen) == 0);
	/* Cut between the CR and the LF of a CRLF: the CR alone ends it. */
	f = sse_event(buf, sizeof buf, 0, NULL, data, 6);
	ck_assert_str_eq(buf, "data: ab\ndata: ab\ndata: \n\n");
}
END_TEST

/* ---- sse_comment and sse_retry ----------------------------------------- */

struct comment_case {
	const char *text;
	const char *frame;
};

static const struct comment_case comment_cases[] = {
    {"hi", ": hi\n\n"},
    {"", ": \n\n"},
    {NULL, ": \n\n"},
    {"a\nb", ": a b\n\n"},
    {"a\rb", ": a b\n\n"},
    {"a\r\nb", ": a b\n\n"},
    {"a\n\rb", ": a  b\n\n"},
    {"a\n", ": a \n\n"},
    {"\r", ":  \n\n"},
    {"x\n\ndata: forged", ": x  data: forged\n\n"},
    {UTF8, ": " UTF8 "\n\n"},
};

#define NCOMMENT (int)(sizeof comment_cases / sizeof comment_cases[0])

static size_t
write_comment(char *buf, size_t len, const void *arg)
{
	return sse_comment(buf, len, ((const struct comment_case *)arg)->text);
}

START_TEST(test_comment_frame)
{
	const struct comment_case *c = &comment_cases[_i];
	struct view v;
	char buf[128];
	size_t n;

	n = sse_comment(buf, sizeof buf, c->text);
	ck_assert_str_eq(buf, c->frame);
	ck_assert_uint_eq(n, strlen(c->frame));
	view(&v, buf, n);
	ck_assert_int_eq(v.comments, 1);
	ck_assert_int_eq(v.events, 0);
	ck_assert_int_eq(v.unknown, 0);
	check_sizes(c->frame, n, write_comment, c);
}
END_TEST

struct retry_case {
	unsigned ms;
	const char *frame;
};

static const struct retry_case retry_cases[] = {
    {0, "retry: 0\n\n"},
    {3000, "retry: 3000\n\n"},
    {UINT_MAX, "retry: 4294967295\n\n"},
};

#define NRETRY (int)(sizeof retry_cases / sizeof retry_cases[0])

static size_t
write_retry(char *buf, size_t len, const void *arg)
{
	return sse_retry(buf, len, ((const struct retry_case *)arg)->ms);
}

START_TEST(test_retry_frame)
{
	const struct retry_case *c = &retry_cases[_i];
	struct view v;
	char buf[64];
	size_t n;

	n = sse_retry(buf, sizeof buf, c->ms);
	ck_assert_str_eq(buf, c->frame);
	ck_assert_uint_eq(n, strlen(c->frame));
	view(&v, buf, n);
	ck_assert_int_eq(v.events, 0);
	ck_assert_int_eq(v.retry, (long)c->ms);
	check_sizes(c->frame, n, write_retry, c);
}
END_TEST

static Suite *
sse_suite(void)
{
	Suite *s = suite_create("sse");
	TCase *tc;

	tc = tcase_create("event");
	tcase_add_loop_test(tc, test_event_exact_frame, 0, NEVENT);
	tcase_add_loop_test(tc, test_event_as_the_browser_reads_it, 0, NEVENT);
	tcase_add_loop_test(tc, test_event_every_buffer_size, 0, NEVENT);
	tcase_add_test(tc, test_event_long_payload);
	suite_add_tcase(s, tc);

	tc = tcase_create("comment_retry");
	tcase_add_loop_test(tc, test_comment_frame, 0, NCOMMENT);
	tcase_add_loop_test(tc, test_retry_frame, 0, NRETRY);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(sse_suite());
}
