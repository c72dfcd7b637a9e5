/*
 * sse.c: Server-Sent Events framing (WHATWG HTML, "Server-sent events").
 * Pure: no allocation, no I/O, no globals, so any thread may call it on
 * its own buffers.
 *
 * The browser splits the stream into lines on CRLF, LF and CR alike, and
 * rebuilds event.data by joining the values of the "data:" lines with LF.
 * So a payload is cut at each of its line breaks into one "data: " line per
 * piece: a payload of n line breaks gives n + 1 lines (a trailing break
 * gives a last, empty line) and event.data comes back as the payload with
 * every CR and CRLF turned into LF. No byte of a payload, an event name or
 * a comment can end a line early, so none can forge a field or an event.
 *
 * Every function returns the frame's full length like snprintf. When that
 * is >= len the frame did not fit; buf then holds the empty string (never a
 * truncated frame that a careless caller could send) and nothing is written
 * past buf[len - 1]. buf may be NULL when len is 0.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "relay.h"

/* A frame being written: the caller's buffer and the length so far. */
struct sse_buf {
	char *p;
	size_t len;
	size_t off; /* full length, even past len; saturates at SIZE_MAX */
};

static void
sse_put(struct sse_buf *b, const char *s, size_t n)
{
	size_t room;

	if (b->off < b->len) {
		room = b->len - b->off;
		memcpy(b->p + b->off, s, n < room ? n : room);
	}
	b->off = n > SIZE_MAX - b->off ? SIZE_MAX : b->off + n;
}

static void
sse_put_str(struct sse_buf *b, const char *s)
{
	sse_put(b, s, strlen(s));
}

/* Terminate the frame, or empty buf if it did not fit. */
static size_t
sse_end(struct sse_buf *b)
{
	if (b->len > 0)
		b->p[b->off < b->len ? b->off : 0] = '\0';
	return b->off;
}

static void
sse_put_u64(struct sse_buf *b, uint64_t v)
{
	char digits[20];
	size_t i = sizeof digits;

	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	sse_put(b, digits + i, sizeof digits - i);
}

/* Put the C string s on one line: each CR, LF or CRLF becomes one space. */
static void
sse_put_flat(struct sse_buf *b, const char *s)
{
	size_t n;

	for (;;) {
		n = strcspn(s, "\r\n");
		sse_put(b, s, n);
		s += n;
		if (*s == '\0')
			return;
		sse_put(b, " ", 1);
		if (s[0] == '\r' && s[1] == '\n')
			s++;
		s++;
	}
}

/* One "data: " line per line of d[0..n), cut as the SSE parser cuts. */
static void
sse_put_data(struct sse_buf *b, const char *d, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		if (d[i] != '\r' && d[i] != '\n')
			continue;
		sse_put_str(b, "data: ");
		sse_put(b, d + start, i - start);
		sse_put(b, "\n", 1);
		/* CRLF is one line break, a lone CR or LF is another. */
		if (d[i] == '\r' && i + 1 < n && d[i + 1] == '\n')
			i++;
		start = i + 1;
	}
	sse_put_str(b, "data: ");
	sse_put(b, d + start, n - start);
	sse_put(b, "\n", 1);
}

/*
 * See relay.h. An event name's line breaks become spaces, as a comment's
 * do; an empty name is written as "event: " (the browser then dispatches
 * a "message"). data may be NULL when dlen is 0.
 */
size_t
sse_event(char *buf, size_t len, uint64_t id, const char *event,
    const char *data, size_t dlen)
{
	struct sse_buf b = {buf, len, 0};

	if (id != 0) {
		sse_put_str(&b, "id: ");
		sse_put_u64(&b, id);
		sse_put(&b, "\n", 1);
	}
	if (event != NULL) {
		sse_put_str(&b, "event: ");
		sse_put_flat(&b, event);
		sse_put(&b, "\n", 1);
	}
	sse_put_data(&b, data != NULL ? data : "", data != NULL ? dlen : 0);
	sse_put(&b, "\n", 1);
	return sse_end(&b);
}

/* See relay.h. A NULL text is the empty comment ": \n\n". */
size_t
sse_comment(char *buf, size_t len, const char *text)
{
	struct sse_buf b = {buf, len, 0};

	sse_put_str(&b, ": ");
	sse_put_flat(&b, text != NULL ? text : "");
	sse_put_str(&b, "\n\n");
	return sse_end(&b);
}

size_t
sse_retry(char *buf, size_t len, unsigned ms)
{
	struct sse_buf b = {buf, len, 0};

	sse_put_str(&b, "retry: ");
	sse_put_u64(&b, ms);
	sse_put_str(&b, "\n\n");
	return sse_end(&b);
}
