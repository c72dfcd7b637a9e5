/*
 * conn.c: one FastCGI connection from the web server, in the responder
 * role (FastCGI 1.0; record layouts from fcgi2's fastcgi.h). Records are
 * read into a buffer until the request is whole: its parameters and its
 * body, up to the empty FCGI_STDIN record. Only then is it dispatched, so
 * the input is always read to its end before the connection closes: on a
 * unix socket, closing with input unread resets the peer, which may then
 * lose the answer.
 *
 * One request at a time per connection: FCGI_MPXS_CONNS is 0, and a
 * second FCGI_BEGIN_REQUEST during a request is refused with
 * FCGI_CANT_MPX_CONN. With FCGI_KEEP_CONN (nginx's fastcgi_keep_conn) the
 * connection then waits for the next request; without it (lighttpd) it
 * closes once the answer is written.
 *
 * Functions that return int say -1 when the connection must be closed
 * (an error, or its end), 0 otherwise; only loop.c closes.
 */
#include "config.h"

#include <errno.h>
#include <fastcgi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "paddock.h"

#define CONN_READ_MIN     16384
#define CONN_IN_MAX       (1024 * 1024) /* read no further ahead */
#define CONN_PARAMS_LIMIT (256 * 1024)  /* far above any web server's */
#define CONN_FREE_KEEP    256           /* idle connection objects kept */
#define CONN_SPARE_BUF    (64 * 1024)   /* larger buffers are not kept */

/* Freed connection objects, kept with their buffers for the next ones. */
static struct conn_list conn_spares = TAILQ_HEAD_INITIALIZER(conn_spares);
static int conn_nspares;

static int conn_parse(struct conn *);

/* A connection for accepted socket fd, reusing a freed one if any. */
struct conn *
conn_new(struct app *app, int fd)
{
	struct conn *c;

	if ((c = TAILQ_FIRST(&conn_spares)) != NULL) {
		TAILQ_REMOVE(&conn_spares, c, entry);
		conn_nspares--;
	} else if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	c->app = app;
	c->fd = fd;
	c->watched = 0;
	c->state = CONN_BEGIN;
	c->keep = 0;
	c->closing = 0;
	c->peer_eof = 0;
	c->fresh = 1;
	c->in_off = 0;
	c->in.len = c->params.len = c->body.len = c->out.len = 0;
	c->resp.len = 0;
	c->out_off = 0;
	return c;
}

static void
conn_destroy(struct conn *c)
{
	buf_free(&c->in);
	buf_free(&c->params);
	buf_free(&c->body);
	buf_free(&c->out);
	buf_free(&c->pdecoded);
	buf_free(&c->resp);
	free(c);
}

/* Close the socket (if still open) and keep or free the object. */
void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	if (conn_nspares < CONN_FREE_KEEP) {
		buf_trim(&c->in, CONN_SPARE_BUF);
		buf_trim(&c->params, CONN_SPARE_BUF);
		buf_trim(&c->body, CONN_SPARE_BUF);
		buf_trim(&c->out, CONN_SPARE_BUF);
		buf_trim(&c->pdecoded, CONN_SPARE_BUF);
		buf_trim(&c->resp, CONN_SPARE_BUF);
		TAILQ_INSERT_HEAD(&conn_spares, c, entry);
		conn_nspares++;
	} else
		conn_destroy(c);
}

/* Free every kept object, at exit (valgrind sees no leak). */
void
conn_free_spares(void)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&conn_spares)) != NULL) {
		TAILQ_REMOVE(&conn_spares, c, entry);
		conn_destroy(c);
	}
	conn_nspares = 0;
}

/* Append one record header for len bytes of content; room is reserved. */
static void
conn_header(struct buf *out, int type, unsigned id, size_t len)
{
	unsigned char *h = (unsigned char *)out->p + out->len;

	h[0] = FCGI_VERSION_1;
	h[1] = (unsigned char)type;
	h[2] = (unsigned char)(id >> 8);
	h[3] = (unsigned char)id;
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = 0; /* no padding: it is optional */
	h[7] = 0;
	out->len += FCGI_HEADER_LEN;
}

/* Append a record of type with content data[0..len), len <= 65535. */
static int
conn_record_out(
    struct conn *c, int type, unsigned id, const void *data, size_t len)
{
	if (buf_reserve(&c->out, FCGI_HEADER_LEN + len) == -1)
		return -1;
	conn_header(&c->out, type, id, len);
	if (len > 0)
		memcpy(c->out.p + c->out.len, data, len);
	c->out.len += len;
	return 0;
}

/*
 * The answer's bytes, as FCGI_STDOUT records of at most 65535 bytes. Out of
 * memory, the connection closes once the request ends (c->closing).
 */
void
conn_stdout(struct conn *c, const char *data, size_t len)
{
	size_t n;

	while (len > 0) {
		n = len > FCGI_MAX_LENGTH ? FCGI_MAX_LENGTH : len;
		if (conn_record_out(c, FCGI_STDOUT, c->req_id, data, n) == -1) {
			c->closing = 1;
			return;
		}
		data += n;
		len -= n;
	}
}

/* FCGI_END_REQUEST for request id, after its empty stdout if it ran. */
static int
conn_end_record(struct conn *c, unsigned id, int protocol_status)
{
	FCGI_EndRequestBody end;

	memset(&end, 0, sizeof end);
	end.protocolStatus = (unsigned char)protocol_status;
	if (protocol_status == FCGI_REQUEST_COMPLETE &&
	    conn_record_out(c, FCGI_STDOUT, id, NULL, 0) == -1)
		return -1;
	return conn_record_out(c, FCGI_END_REQUEST, id, &end, sizeof end);
}

/*
 * End the connection's request; the connection closes after it without
 * FCGI_KEEP_CONN, or once stopping.
 */
static int
conn_end(struct conn *c, int protocol_status)
{
	if (conn_end_record(c, c->req_id, protocol_status) == -1)
		return -1;
	if (!c->keep || loop_stopping(c->app->loop))
		c->closing = 1;
	return 0;
}

/*
 * Decode FastCGI name-value pairs in p[0..len) into dec, one after the
 * other, each as its two lengths (uint32_t) then "name\0value\0": looked up
 * without strlen(3). Returns 0, or -1 when malformed or out of memory.
 */
static int
conn_pairs(const unsigned char *p, size_t len, struct buf *dec)
{
	size_t lens[2], off = 0, i;

	dec->len = 0;
	/* A pair takes 2 bytes at least, and grows by 8 + 2 at most. */
	if (buf_reserve(dec, len * 5 + 16) == -1)
		return -1;
	while (off < len) {
		for (i = 0; i < 2; i++) {
			if (off >= len)
				return -1;
			if (p[off] & 0x80) {
				if (len - off < 4)
					return -1;
				lens[i] = ((size_t)(p[off] & 0x7f) << 24) |
				          ((size_t)p[off + 1] << 16) |
				          ((size_t)p[off + 2] << 8) |
				          p[off + 3];
				off += 4;
			} else
				lens[i] = p[off++];
		}
		if (lens[0] > len - off || lens[1] > len - off - lens[0])
			return -1;
		if (memchr(p + off, '\0', lens[0] + lens[1]) != NULL) {
			/* Stored NUL-terminated, it would shift the pairs. */
			off += lens[0] + lens[1];
			continue;
		}
		for (i = 0; i < 2; i++) {
			uint32_t l = (uint32_t)lens[i];

			memcpy(dec->p + dec->len, &l, sizeof l);
			dec->len += sizeof l;
		}
		for (i = 0; i < 2; i++) {
			memcpy(dec->p + dec->len, p + off, lens[i]);
			dec->len += lens[i];
			dec->p[dec->len++] = '\0';
			off += lens[i];
		}
	}
	return 0;
}

/*
 * The next pair of dec after *off: its name, with its value in *value.
 * NULL at the end. (conn_pairs() drops pairs that hold a NUL.)
 */
static const char *
conn_pair_next(
    const struct buf *dec, size_t *off, size_t *name_len, const char **value)
{
	uint32_t lens[2];
	const char *name;

	if (*off >= dec->len)
		return NULL;
	memcpy(lens, dec->p + *off, sizeof lens);
	name = dec->p + *off + sizeof lens;
	*name_len = lens[0];
	*value = name + lens[0] + 1;
	*off += sizeof lens + lens[0] + lens[1] + 2;
	return name;
}

/* The request parameter name (a CGI variable), or NULL. */
const char *
conn_param(const struct conn *c, const char *name)
{
	size_t off = 0, len = strlen(name), n_len;
	const char *n, *v;

	while ((n = conn_pair_next(&c->pdecoded, &off, &n_len, &v)) != NULL) {
		if (n_len == len && memcmp(n, name, len) == 0)
			return v;
	}
	return NULL;
}

/* Append one name-value pair (both shorter than 128 bytes). */
static void
conn_pair_out(struct buf *b, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	if (buf_reserve(b, 2 + nl + vl) == -1)
		return;
	b->p[b->len++] = (char)nl;
	b->p[b->len++] = (char)vl;
	memcpy(b->p + b->len, name, nl);
	memcpy(b->p + b->len + nl, value, vl);
	b->len += nl + vl;
}

/* FCGI_GET_VALUES: answer for the variables we know. */
static int
conn_get_values(struct conn *c, const unsigned char *p, size_t len)
{
	struct buf asked = {0}, res = {0};
	const char *name, *v;
	size_t off = 0, name_len;
	unsigned said = 0, bit;
	char max[16];
	int rc = -1;

	/* One request per connection: as many requests as connections. */
	snprintf(max, sizeof max, "%d", c->app->conf.fcgi.max_conns);

	/* Not into c->pdecoded: a request's parameters may be there. */
	if (conn_pairs(p, len, &asked) == -1)
		goto done;
	while ((name = conn_pair_next(&asked, &off, &name_len, &v)) != NULL) {
		if (strcmp(name, FCGI_MAX_CONNS) == 0) {
			bit = 1;
			v = max;
		} else if (strcmp(name, FCGI_MAX_REQS) == 0) {
			bit = 2;
			v = max;
		} else if (strcmp(name, FCGI_MPXS_CONNS) == 0) {
			bit = 4;
			v = "0";
		} else
			continue;
		/*
		 * Each once: a query may name one thousands of times, and
		 * the answers must fit one record (65,535 bytes).
		 */
		if (said & bit)
			continue;
		said |= bit;
		conn_pair_out(&res, name, v);
	}
	rc = conn_record_out(c, FCGI_GET_VALUES_RESULT, 0, res.p, res.len);
done:
	buf_free(&asked);
	buf_free(&res);
	return rc;
}

/* A management record (request id 0). */
static int
conn_management(struct conn *c, int type, const unsigned char *p, size_t len)
{
	FCGI_UnknownTypeBody u;

	if (type == FCGI_GET_VALUES)
		return conn_get_values(c, p, len);
	memset(&u, 0, sizeof u);
	u.type = (unsigned char)type;
	return conn_record_out(c, FCGI_UNKNOWN_TYPE, 0, &u, sizeof u);
}

/* FCGI_BEGIN_REQUEST: a new request, if the connection has none. */
static int
conn_begin(struct conn *c, unsigned id, const unsigned char *p, size_t len)
{
	const FCGI_BeginRequestBody *b = (const void *)p;

	if (len < sizeof *b)
		return -1;
	if (c->state != CONN_BEGIN) /* refused under its own id; ours goes on */
		return conn_end_record(c, id, FCGI_CANT_MPX_CONN);
	c->req_id = id;
	c->keep = (b->flags & FCGI_KEEP_CONN) != 0;
	if (((unsigned)b->roleB1 << 8 | b->roleB0) != FCGI_RESPONDER) {
		c->state = CONN_WRITE;
		return conn_end(c, FCGI_UNKNOWN_ROLE);
	}
	c->params.len = 0;
	c->body.len = 0;
	c->pdecoded.len = 0;
	c->req.body_over = 0;
	c->state = CONN_PARAMS;
	return 0;
}

/* The request is whole: answer it, or start its publish. */
static int
conn_dispatch(struct conn *c)
{
	if (buf_reserve(&c->body, 1) == -1)
		return -1;
	c->body.p[c->body.len] = '\0';
	request_begin(&c->req, c->app, c);
	route_dispatch(&c->req);
	if (c->req.pending) {
		c->state = CONN_ACK;
		return 0;
	}
	return conn_answered(c);
}

static int
conn_stdin(struct conn *c, const unsigned char *p, size_t len)
{
	size_t cap = (size_t)c->app->conf.order.max_body + 1;

	if (len == 0)
		return conn_dispatch(c);
	/* Keep one byte past the limit to tell "exactly max" from more. */
	if (c->body.len + len > cap) {
		c->req.body_over = 1;
		len = cap > c->body.len ? cap - c->body.len : 0;
	}
	return buf_add(&c->body, p, len);
}

static int
conn_params(struct conn *c, const unsigned char *p, size_t len)
{
	if (len > 0) {
		if (c->params.len + len > CONN_PARAMS_LIMIT)
			return -1;
		return buf_add(&c->params, p, len);
	}
	if (conn_pairs((const unsigned char *)c->params.p, c->params.len,
	        &c->pdecoded) == -1)
		return -1;
	c->state = CONN_STDIN;
	return 0;
}

/* One record of the current request, or a management record. */
static int
conn_record(
    struct conn *c, int type, unsigned id, const unsigned char *p, size_t len)
{
	if (id == FCGI_NULL_REQUEST_ID)
		return conn_management(c, type, p, len);
	if (type == FCGI_BEGIN_REQUEST)
		return conn_begin(c, id, p, len);
	if (c->state == CONN_BEGIN || id != c->req_id)
		return 0; /* not an active request: ignored, as 1.0 says */
	switch (type) {
	case FCGI_ABORT_REQUEST:
		/* Nothing published yet: end it without an answer. */
		c->state = CONN_WRITE;
		return conn_end(c, FCGI_REQUEST_COMPLETE);
	case FCGI_PARAMS:
		return c->state == CONN_PARAMS ? conn_params(c, p, len) : -1;
	case FCGI_STDIN:
		return c->state == CONN_STDIN ? conn_stdin(c, p, len) : -1;
	default:
		return 0; /* FCGI_DATA: only filters get it */
	}
}

/* 1 when a whole record waits in the input. */
static int
conn_has_record(const struct conn *c)
{
	const unsigned char *h = (const unsigned char *)c->in.p + c->in_off;
	size_t left = c->in.len - c->in_off;

	return left >= FCGI_HEADER_LEN &&
	       left >= FCGI_HEADER_LEN + ((size_t)h[4] << 8 | h[5]) + h[6];
}

/*
 * Act on the whole records read so far, while the connection reads a
 * request, and write what they produced; with FCGI_KEEP_CONN, go on with
 * the next request if it is there already. Consumed input is only
 * skipped here (c->in_off); conn_input() moves the rest down, once.
 */
static int
conn_parse(struct conn *c)
{
	const unsigned char *h;
	size_t clen;

	for (;;) {
		while (c->state <= CONN_STDIN && !c->closing &&
		       conn_has_record(c)) {
			h = (const unsigned char *)c->in.p + c->in_off;
			if (h[0] != FCGI_VERSION_1)
				return -1;
			clen = (size_t)h[4] << 8 | h[5];
			c->in_off += FCGI_HEADER_LEN + clen + h[6];
			if (conn_record(c, h[1], (unsigned)h[2] << 8 | h[3],
			        h + FCGI_HEADER_LEN, clen) == -1)
				return -1;
		}
		if (c->state == CONN_ACK)
			return 0;
		if (conn_output(c) == -1)
			return -1;
		if (c->state != CONN_BEGIN || c->closing || !conn_has_record(c))
			return 0;
	}
}

/*
 * The socket is readable (or was just accepted): read what is there and
 * act on it. Reads until a short read rather than until EAGAIN: one
 * read(2) for a request that came in one piece.
 */
int
conn_input(struct conn *c)
{
	ssize_t n;
	size_t room;
	int rc;

	if (c->in_off > 0) {
		memmove(c->in.p, c->in.p + c->in_off, c->in.len - c->in_off);
		c->in.len -= c->in_off;
		c->in_off = 0;
	}
	for (;;) {
		if (buf_reserve(&c->in, CONN_READ_MIN) == -1)
			return -1;
		room = c->in.cap - c->in.len;
		n = read(c->fd, c->in.p + c->in.len, room);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == -1)
			return -1;
		if (n == 0) {
			/* The web server closed its side: answer what
			 * came whole before that, then close. */
			c->peer_eof = 1;
			break;
		}
		c->in.len += (size_t)n;
		c->fresh = 0;
		/*
		 * A short read: all there was. A web server that pipelines
		 * faster than we answer waits in its socket, not in our
		 * memory: past CONN_IN_MAX (more than any record), epoll
		 * says when to read on.
		 */
		if ((size_t)n < room || c->in.len >= CONN_IN_MAX)
			break;
	}
	rc = conn_parse(c);
	if (rc == 0 && c->peer_eof && c->state <= CONN_STDIN)
		return -1; /* no more input can come */
	return rc;
}

/* The request has its answer in c->resp: queue it and end the request. */
int
conn_answered(struct conn *c)
{
	int64_t us = request_elapsed_us(&c->req); /* one reading for both */

	conn_stdout(c, c->resp.p, c->resp.len);
	c->resp.len = 0;
	request_log(&c->req, us);
	metrics_request(c->req.status, c->req.order, us);
	if (conn_end(c, FCGI_REQUEST_COMPLETE) == -1)
		return -1;
	c->state = CONN_WRITE;
	return 0;
}

/*
 * Write what is due. Once all is written: close when the request ended
 * without FCGI_KEEP_CONN (or the web server closed its side), else wait
 * for the next request. The loop watches for whatever the connection
 * waits for.
 */
int
conn_output(struct conn *c)
{
	ssize_t n;

	while (c->out_off < c->out.len) {
		n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			loop_watch(c->app->loop, c, EPOLLOUT);
			return 0;
		}
		if (n <= 0)
			return -1;
		c->out_off += (size_t)n;
	}
	c->out.len = c->out_off = 0;
	if (c->closing)
		return -1;
	if (c->state == CONN_WRITE)
		c->state = CONN_BEGIN;
	if (c->peer_eof && c->state == CONN_BEGIN && !conn_has_record(c))
		return -1;
	loop_watch(c->app->loop, c, EPOLLIN);
	return 0;
}

/*
 * Go on after the loop wrote (EPOLLOUT) or answered an order: finish the
 * output, then any request already read.
 */
int
conn_resume(struct conn *c)
{
	if (conn_output(c) == -1)
		return -1;
	return conn_parse(c);
}

/* Output not yet written: the socket said EAGAIN. */
int
conn_output_pending(const struct conn *c)
{
	return c->out_off < c->out.len;
}

/* Nothing in hand: no request begun, nothing to write. */
int
conn_idle(const struct conn *c)
{
	return c->state == CONN_BEGIN && c->in.len == c->in_off &&
	       c->out.len == 0;
}
