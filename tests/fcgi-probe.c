/*
 * fcgi-probe.c: a FastCGI 1.0 client for the end-to-end tests. It speaks to
 * paddock-fcgi's socket record by record, to send what a web server sends
 * only by chance: bytes one at a time, records of odd sizes or padded,
 * a second request on a busy connection, an abort, a wrong role or version,
 * a half-closed connection, a stop signal with requests in hand. One
 * scenario per run. It prints one line per thing it saw and leaves the
 * judging to tests/e2e/fcgi-protocol.sh:
 *
 *   status 200                an answer's HTTP status
 *   body {...}                its body (one line of JSON)
 *   no-stdout                 an answer without FCGI_STDOUT content
 *   end APP PROTO             FCGI_END_REQUEST: appStatus, protocolStatus
 *   values NAME=VALUE ...     FCGI_GET_VALUES_RESULT, in the order given
 *   unknown-type T            FCGI_UNKNOWN_TYPE naming record type T
 *   quiet                     no answer while the request is not whole
 *   open | closed | reset     the connection afterwards: no news for a
 *                             while, an orderly end, or a reset
 *   many sent N ok M          M of N connections answered 200 and closed
 *   sent N                    a request of N bytes went out (half-close)
 *   conn N closed | reset     after a stop, connection N ended without an
 *   conn N status S STATE     answer, or answered S whole, then STATE
 *   after MS                  the answer above came MS ms after the write
 *   sigterm NS                SIGTERM sent at NS (CLOCK_REALTIME, in ns:
 *                             date +%s%N), to time the responder's exit
 *
 * Usage: fcgi-probe SOCKET SCENARIO [ARG]; `fcgi-probe` alone lists them.
 * The stop-* scenarios send SIGTERM to the responder whose PID is ARG;
 * half-close stops it (SIGSTOP, SIGCONT) while it sends, given its PID.
 * Exit status: 0 when the responder kept to the protocol, whatever it
 * answered; 1 on a surprise (a malformed or unexpected record, bytes where
 * none belong, a timeout), with the reason on stderr; 2 usage.
 */
#include "config.h"

#include <errno.h>
#include <fastcgi.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Far above any answer, far below the e2e watchdog. */
#define PROBE_TIMEOUT_MS 10000
/* Quiet this long: the responder kept the connection and said nothing. */
#define PROBE_OPEN_MS 200
#define PROBE_MANY    500
/*
 * A connection the responder is done with closes at once; far below the
 * stop's own deadline (nats.ack_timeout_ms + 2 s), which would close it
 * anyway.
 */
#define PROBE_CLOSE_MS 1000
/* After SIGTERM: long enough for the responder to close what is idle. */
#define PROBE_STOP_PAUSE_US 100000
#define PROBE_STOP_CONNS    3
/* stop-late: the script's nats.ack_timeout_ms, and when the order ends */
#define PROBE_LATE_ACK_MS 800
#define PROBE_LATE_MS     (PROBE_LATE_ACK_MS + 1600)
/* The first read of a fresh connection: CONN_READ_MIN in fcgi/conn.c. */
#define PROBE_FIRST_READ 16384

/*
 * nats.c's habit: a step runs only while every step before it returned 0,
 * so that a scenario reads as a flat list with one cleanup after it.
 */
#define IFOK(rc, call)                                                         \
	do {                                                                   \
		if ((rc) == 0)                                                 \
			(rc) = (call);                                         \
	} while (0)
/* The seed's order body, as tests/e2e/lib.sh has it. */
#define PROBE_ORDER                                                            \
	"{\"size\":\"large\",\"username\":\"tubias\",\"destination\":"         \
	"\"manoel moreira\"}"

struct obuf {
	unsigned char *p;
	size_t len;
	size_t cap;
};

/* One request as the probe sends it. */
struct req {
	unsigned id;
	int keep; /* FCGI_KEEP_CONN */
	int role; /* 0: FCGI_RESPONDER */
	const char *method;
	const char *uri;
	const char *body; /* sent as application/json; NULL: none */
	size_t body_len;
	int no_length;        /* no CONTENT_LENGTH, as for a chunked upload */
	const size_t *chunks; /* record sizes, 0-ended, cycled; NULL: largest */
	int pad;              /* padding of each record; -1: varying */
	const struct obuf *lead;  /* name-value pairs before the usual ones */
	const struct obuf *extra; /* more name-value pairs, encoded */
};

/* One request's answer. */
struct answer {
	struct obuf out; /* FCGI_STDOUT content, NUL-terminated */
	int stdout_ended;
	unsigned long app_status;
	int protocol_status;
	int status;       /* from the CGI "Status:" line */
	const char *body; /* inside out */
	size_t body_len;
};

struct record {
	int type;
	unsigned id;
	size_t len;
	unsigned char data[FCGI_MAX_LENGTH + 1];
};

struct scenario {
	const char *name;
	int (*run)(const char *);
	const char *help;
};

static const char *probe_sock;
static const char *probe_name = "fcgi-probe";
static struct record probe_rec; /* 64 KB: not on the stack */
static const size_t chunk_max[] = {FCGI_MAX_LENGTH, 0};

/* Print why the scenario failed; returns -1 for the caller to pass on. */
static int __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fcgi-probe: %s: ", probe_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* Out of memory, a test tool has nothing better to do than stop. */
static void
ob_add(struct obuf *b, const void *data, size_t n)
{
	size_t cap;

	if (b->cap - b->len < n) {
		cap = b->cap > 0 ? b->cap : 256;
		while (cap - b->len < n)
			cap *= 2;
		if ((b->p = realloc(b->p, cap)) == NULL) {
			perror("fcgi-probe");
			exit(1);
		}
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void
ob_free(struct obuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

static void
nap_us(long us)
{
	struct timespec ts = {
	    .tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- records out ---------------------------------------------------- */

static void
record(struct obuf *b, int type, unsigned id, const void *data, size_t len,
    unsigned pad)
{
	static const unsigned char zeros[255];
	FCGI_Header h;

	h.version = FCGI_VERSION_1;
	h.type = (unsigned char)type;
	h.requestIdB1 = (unsigned char)(id >> 8);
	h.requestIdB0 = (unsigned char)id;
	h.contentLengthB1 = (unsigned char)(len >> 8);
	h.contentLengthB0 = (unsigned char)len;
	h.paddingLength = (unsigned char)pad;
	h.reserved = 0;
	ob_add(b, &h, sizeof h);
	ob_add(b, data, len);
	ob_add(b, zeros, pad);
}

/* A name or value length: one byte below 128, else four (high bit set). */
static void
pair_length(struct obuf *b, size_t n)
{
	unsigned char l[4];

	if (n < 128) {
		l[0] = (unsigned char)n;
		ob_add(b, l, 1);
		return;
	}
	l[0] = (unsigned char)(0x80 | n >> 24);
	l[1] = (unsigned char)(n >> 16);
	l[2] = (unsigned char)(n >> 8);
	l[3] = (unsigned char)n;
	ob_add(b, l, 4);
}

/* A pair whose name or value may hold a NUL. */
static void
pair_n(
    struct obuf *b, const char *name, size_t nl, const char *value, size_t vl)
{
	pair_length(b, nl);
	pair_length(b, vl);
	ob_add(b, name, nl);
	ob_add(b, value, vl);
}

static void
pair(struct obuf *b, const char *name, const char *value)
{
	pair_n(b, name, strlen(name), value, strlen(value));
}

/* Padding of the k-th record of r: fixed, or cycling through odd ones. */
static unsigned
req_pad(const struct req *r, size_t k)
{
	static const unsigned pads[] = {1, 7, 255, 0, 3, 128, 6};

	if (r->pad >= 0)
		return (unsigned)r->pad;
	return pads[k % (sizeof pads / sizeof pads[0])];
}

/* A stream (params or stdin) of r in records, then its empty record. */
static void
stream(struct obuf *b, int type, const struct req *r, const unsigned char *data,
    size_t len)
{
	const size_t *sizes = r->chunks != NULL ? r->chunks : chunk_max;
	size_t i = 0, k = 1, n;

	while (len > 0) {
		n = sizes[i] < len ? sizes[i] : len;
		record(b, type, r->id, data, n, req_pad(r, k++));
		data += n;
		len -= n;
		if (sizes[++i] == 0)
			i = 0;
	}
	record(b, type, r->id, NULL, 0, req_pad(r, k));
}

static void
req_begin(struct obuf *b, const struct req *r)
{
	FCGI_BeginRequestBody body;
	int role = r->role != 0 ? r->role : FCGI_RESPONDER;

	memset(&body, 0, sizeof body);
	body.roleB1 = (unsigned char)(role >> 8);
	body.roleB0 = (unsigned char)role;
	body.flags = r->keep ? FCGI_KEEP_CONN : 0;
	record(b, FCGI_BEGIN_REQUEST, r->id, &body, sizeof body, req_pad(r, 0));
}

/* The CGI variables, in the order of nginx's fastcgi_params. */
static void
req_params(struct obuf *b, const struct req *r)
{
	struct obuf p = {0};
	char len[32] = "";

	if (r->body != NULL && !r->no_length)
		snprintf(len, sizeof len, "%zu", r->body_len);
	if (r->lead != NULL)
		ob_add(&p, r->lead->p, r->lead->len);
	pair(&p, "QUERY_STRING", "");
	pair(&p, "REQUEST_METHOD", r->method);
	pair(&p, "CONTENT_TYPE", r->body != NULL ? "application/json" : "");
	pair(&p, "CONTENT_LENGTH", len);
	pair(&p, "SCRIPT_NAME", r->uri);
	pair(&p, "REQUEST_URI", r->uri);
	pair(&p, "DOCUMENT_URI", r->uri);
	pair(&p, "SERVER_PROTOCOL", "HTTP/1.1");
	pair(&p, "GATEWAY_INTERFACE", "CGI/1.1");
	pair(&p, "SERVER_SOFTWARE", "fcgi-probe");
	pair(&p, "REMOTE_ADDR", "127.0.0.1");
	pair(&p, "SERVER_NAME", "localhost");
	if (r->extra != NULL)
		ob_add(&p, r->extra->p, r->extra->len);
	stream(b, FCGI_PARAMS, r, p.p, p.len);
	ob_free(&p);
}

static void
req_stdin(struct obuf *b, const struct req *r)
{
	stream(b, FCGI_STDIN, r, (const unsigned char *)r->body,
	    r->body != NULL ? r->body_len : 0);
}

static void
req_build(struct obuf *b, const struct req *r)
{
	req_begin(b, r);
	req_params(b, r);
	req_stdin(b, r);
}

static struct req
req_get(unsigned id, int keep, const char *uri)
{
	struct req r = {.id = id, .keep = keep, .method = "GET", .uri = uri};

	return r;
}

static struct req
req_order(unsigned id, int keep, const char *body, size_t len)
{
	struct req r = {.id = id,
	    .keep = keep,
	    .method = "POST",
	    .uri = "/v1/order",
	    .body = body,
	    .body_len = len};

	return r;
}

/* FCGI_GET_VALUES for the three 1.0 names, one unknown, and filler. */
static void
values_query(struct obuf *b, size_t filler)
{
	struct obuf p = {0};
	char *name;

	pair(&p, FCGI_MAX_CONNS, "");
	pair(&p, FCGI_MAX_REQS, "");
	pair(&p, FCGI_MPXS_CONNS, "");
	pair(&p, "FCGI_PROBE_UNKNOWN", "");
	if (filler > 0) {
		if ((name = malloc(filler + 1)) == NULL)
			exit(1);
		memset(name, 'X', filler);
		name[filler] = '\0';
		pair(&p, name, "");
		free(name);
	}
	record(b, FCGI_GET_VALUES, FCGI_NULL_REQUEST_ID, p.p, p.len, 0);
	ob_free(&p);
}

/* ---- the socket ----------------------------------------------------- */

static int
dial(void)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(probe_sock) >= sizeof sa.sun_path)
		return fail("socket path too long: %s", probe_sock);
	memcpy(sa.sun_path, probe_sock, strlen(probe_sock));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return fail("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		close(fd);
		return fail("connect %s: %s", probe_sock, strerror(errno));
	}
	return fd;
}

/* Send it all; -1 with errno set, and nothing printed. */
static int
send_raw(int fd, const void *data, size_t n)
{
	const unsigned char *p = data;
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
send_all(int fd, const void *data, size_t n)
{
	if (send_raw(fd, data, n) == -1)
		return fail("send: %s", strerror(errno));
	return 0;
}

/*
 * Send p[0..n) in writes of sizes[] (0-ended, cycled) with a pause after
 * each, so that the responder's reads end inside headers and contents.
 */
static int
send_pieces(int fd, const unsigned char *p, size_t n, const size_t *sizes,
    long pause_us)
{
	size_t i = 0, k;

	while (n > 0) {
		k = sizes[i] < n ? sizes[i] : n;
		if (send_all(fd, p, k) == -1)
			return -1;
		p += k;
		n -= k;
		if (sizes[++i] == 0)
			i = 0;
		nap_us(pause_us);
	}
	return 0;
}

/*
 * Read exactly n bytes. Returns n; 0 when the connection ended before the
 * first; -1 on an error, an end after some bytes or PROBE_TIMEOUT_MS of
 * silence (errno says which).
 */
static ssize_t
read_full(int fd, void *buf, size_t n)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		if ((r = poll(&pfd, 1, PROBE_TIMEOUT_MS)) == 0)
			errno = ETIMEDOUT;
		if (r <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			return -1;
		}
		r = read(fd, (char *)buf + got, n - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == 0 && got == 0)
			return 0;
		if (r == 0)
			errno = EPIPE;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* The next record. Returns 1, 0 at the connection's end, -1 on a surprise. */
static int
read_record(int fd, struct record *r)
{
	unsigned char pad[255];
	FCGI_Header h;
	ssize_t n;

	if ((n = read_full(fd, &h, sizeof h)) == 0)
		return 0;
	if (n == -1)
		return fail("reading a record: %s", strerror(errno));
	if (h.version != FCGI_VERSION_1)
		return fail("a record of version %d", h.version);
	r->type = h.type;
	r->id = (unsigned)h.requestIdB1 << 8 | h.requestIdB0;
	r->len = (size_t)h.contentLengthB1 << 8 | h.contentLengthB0;
	if ((size_t)read_full(fd, r->data, r->len) != r->len ||
	    (size_t)read_full(fd, pad, h.paddingLength) != h.paddingLength)
		return fail("a record of type %d cut short", r->type);
	r->data[r->len] = '\0';
	return 1;
}

/*
 * What the connection does within ms: "open" (nothing), "closed" (an
 * orderly end), "reset", or "data" (bytes nobody asked for).
 */
static const char *
conn_state(int fd, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char c;
	ssize_t n;

	if (poll(&pfd, 1, ms) == 0)
		return "open";
	n = read(fd, &c, 1);
	if (n == 0)
		return "closed";
	if (n == -1 && errno == ECONNRESET)
		return "reset";
	return n > 0 ? "data" : "error";
}

/* Print the connection's state; stray bytes or an error are a surprise. */
static int
show_state(int fd, int ms)
{
	const char *s = conn_state(fd, ms);

	if (strcmp(s, "data") == 0 || strcmp(s, "error") == 0)
		return fail("unexpected %s on the connection", s);
	printf("%s\n", s);
	return 0;
}

/* Nothing may come yet; if something does, fail saying why it must not. */
static int
show_quiet(int fd, const char *why)
{
	const char *s = conn_state(fd, PROBE_OPEN_MS);

	if (strcmp(s, "open") != 0)
		return fail("%s: %s", why, s);
	printf("quiet\n");
	return 0;
}

/* ---- answers in ----------------------------------------------------- */

/* Check the CGI response in a->out: Status line, head, Content-Length. */
static int
answer_parse(struct answer *a)
{
	const char *p, *eoh, *cl;

	if (a->out.len == 0)
		return 0;
	ob_add(&a->out, "", 1);
	a->out.len--;
	p = (const char *)a->out.p;
	if (sscanf(p, "Status: %3d ", &a->status) != 1)
		return fail("an answer not starting with Status: %.40s", p);
	if ((eoh = strstr(p, "\r\n\r\n")) == NULL)
		return fail("an answer whose head does not end");
	a->body = eoh + 4;
	a->body_len = a->out.len - (size_t)(a->body - p);
	cl = strcasestr(p, "\r\nContent-Length: ");
	if (cl != NULL && cl < eoh && strtoul(cl + 18, NULL, 10) != a->body_len)
		return fail(
		    "Content-Length %.10s for %zu bytes", cl + 18, a->body_len);
	return 0;
}

static int
answer_end(struct answer *a, const struct record *r)
{
	const FCGI_EndRequestBody *e = (const void *)r->data;

	if (r->len != sizeof *e)
		return fail("FCGI_END_REQUEST of %zu bytes", r->len);
	if (a->out.len > 0 && !a->stdout_ended)
		return fail("FCGI_END_REQUEST before the end of FCGI_STDOUT");
	a->app_status = (unsigned long)e->appStatusB3 << 24 |
	                (unsigned long)e->appStatusB2 << 16 |
	                (unsigned long)e->appStatusB1 << 8 | e->appStatusB0;
	a->protocol_status = e->protocolStatus;
	return answer_parse(a);
}

/* Read request id's records up to its FCGI_END_REQUEST; nothing else. */
static int
read_answer(int fd, unsigned id, struct answer *a)
{
	struct record *r = &probe_rec;
	int n;

	memset(a, 0, sizeof *a);
	for (;;) {
		if ((n = read_record(fd, r)) <= 0)
			return n == 0 ? fail("closed before FCGI_END_REQUEST "
			                     "of request %u",
			                    id)
			              : -1;
		if (r->id != id)
			return fail("a record of type %d for request %u while "
			            "waiting for %u",
			    r->type, r->id, id);
		if (r->type == FCGI_END_REQUEST)
			return answer_end(a, r);
		if (r->type != FCGI_STDOUT)
			return fail(
			    "a record of type %d in an answer", r->type);
		if (a->stdout_ended)
			return fail("FCGI_STDOUT after its empty record");
		if (r->len == 0)
			a->stdout_ended = 1;
		ob_add(&a->out, r->data, r->len);
	}
}

static void
answer_print(const struct answer *a)
{
	size_t n = a->body_len;

	if (a->out.len == 0)
		printf("no-stdout\n");
	else
		printf("status %d\n", a->status);
	if (n > 0 && a->body[n - 1] == '\n')
		n--;
	if (n > 0)
		printf("body %.*s\n", (int)n, a->body);
	printf("end %lu %d\n", a->app_status, a->protocol_status);
}

/* Read and print request id's answer. */
static int
show_answer(int fd, unsigned id)
{
	struct answer a;
	int rc;

	if ((rc = read_answer(fd, id, &a)) == 0)
		answer_print(&a);
	ob_free(&a.out);
	return rc;
}

/* Send r whole, then read and print its answer. */
static int
exchange(int fd, const struct req *r)
{
	struct obuf b = {0};
	int rc = 0;

	req_build(&b, r);
	IFOK(rc, send_all(fd, b.p, b.len));
	IFOK(rc, show_answer(fd, r->id));
	ob_free(&b);
	return rc;
}

/* Decode one name or value length at p[*off]; -1 when it overruns. */
static int
take_length(const unsigned char *p, size_t len, size_t *off, size_t *n)
{
	if (*off < len && !(p[*off] & 0x80)) {
		*n = p[(*off)++];
		return 0;
	}
	if (len - *off < 4)
		return -1;
	*n = (size_t)(p[*off] & 0x7f) << 24 | (size_t)p[*off + 1] << 16 |
	     (size_t)p[*off + 2] << 8 | p[*off + 3];
	*off += 4;
	return 0;
}

/* Read an FCGI_GET_VALUES_RESULT and print its pairs on one line. */
static int
show_values(int fd)
{
	const struct record *r = &probe_rec;
	size_t off = 0, nl, vl;

	if (read_record(fd, &probe_rec) != 1)
		return fail("no FCGI_GET_VALUES_RESULT");
	if (r->type != FCGI_GET_VALUES_RESULT || r->id != 0)
		return fail("a record of type %d for request %u instead of "
		            "FCGI_GET_VALUES_RESULT",
		    r->type, r->id);
	printf("values");
	while (off < r->len) {
		if (take_length(r->data, r->len, &off, &nl) == -1 ||
		    take_length(r->data, r->len, &off, &vl) == -1 ||
		    nl + vl > r->len - off)
			return fail("a malformed FCGI_GET_VALUES_RESULT");
		printf(" %.*s=%.*s", (int)nl, r->data + off, (int)vl,
		    r->data + off + nl);
		off += nl + vl;
	}
	printf("\n");
	return 0;
}

/* ---- scenarios ------------------------------------------------------ */

/* arg as a PID; 0 when there is none and optional is set; -1 if bad. */
static pid_t
arg_pid(const char *arg, int optional)
{
	char *end;
	long pid;

	if (arg == NULL && optional)
		return 0;
	pid = arg != NULL ? strtol(arg, &end, 10) : 0;
	if (arg == NULL || *end != '\0' || pid <= 1)
		return fail("needs the responder's PID, not %s",
		    arg != NULL ? arg : "nothing");
	return (pid_t)pid;
}

/* SIGTERM to the PID in arg, and when (the script times the exit). */
static int
stop_pid(const char *arg)
{
	struct timespec ts;
	pid_t pid;

	if ((pid = arg_pid(arg, 0)) == -1)
		return -1;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (kill(pid, SIGTERM) == -1)
		return fail("kill %ld: %s", (long)pid, strerror(errno));
	printf("sigterm %lld%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
	return 0;
}

/* What talk() does on its connection besides sending the buffer. */
struct talk {
	const struct req *before; /* exchanged first; NULL: none */
	const size_t *pieces;     /* write sizes, 0-ended, cycled; NULL: one */
	long pause_us;            /* after each piece */
	const char *stop;         /* a PID: SIGTERM to it once all is sent */
	unsigned answers;         /* to ids 1 on, or from before's id + 1 */
	int timed;                /* "after MS" (since the send) after each */
	int ms;                   /* then the connection's state within ms */
	/* Reads and prints a record that comes before the answers. */
	int (*first)(int fd);
};

/*
 * One connection: dial, exchange t->before, send b, print t->first's
 * record, the answers and the connection's state; close it. Frees b.
 */
static int
talk(struct obuf *b, const struct talk *t)
{
	unsigned id = t->before != NULL ? t->before->id + 1 : 1, end;
	int64_t start;
	int fd, rc = 0;

	if ((fd = dial()) == -1) {
		ob_free(b);
		return -1;
	}
	if (t->before != NULL)
		IFOK(rc, exchange(fd, t->before));
	start = mono_ms();
	if (t->pieces != NULL)
		IFOK(rc, send_pieces(fd, b->p, b->len, t->pieces, t->pause_us));
	else
		IFOK(rc, send_all(fd, b->p, b->len));
	if (t->stop != NULL)
		IFOK(rc, stop_pid(t->stop));
	if (t->first != NULL)
		IFOK(rc, t->first(fd));
	for (end = id + t->answers; id < end; id++) {
		IFOK(rc, show_answer(fd, id));
		if (rc == 0 && t->timed)
			printf("after %lld\n", (long long)(mono_ms() - start));
	}
	IFOK(rc, show_state(fd, t->ms));
	ob_free(b);
	close(fd);
	return rc;
}

/*
 * The n requests rs on one connection, each answered before the next
 * goes out, and the connection's state after each: within PROBE_OPEN_MS,
 * and last_ms after the last.
 */
static int
serve_each(const struct req *rs, size_t n, int last_ms)
{
	size_t i;
	int fd, rc = 0;

	if ((fd = dial()) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		IFOK(rc, exchange(fd, &rs[i]));
		IFOK(rc, show_state(fd, i + 1 < n ? PROBE_OPEN_MS : last_ms));
	}
	close(fd);
	return rc;
}

/* GET arg, without FCGI_KEEP_CONN (the readiness wait uses it). */
static int
sc_get(const char *arg)
{
	struct req r = req_get(1, 0, arg != NULL ? arg : "/health/live");

	return serve_each(&r, 1, PROBE_TIMEOUT_MS);
}

static int
sc_get_values(const char *arg)
{
	struct obuf b = {0};

	values_query(&b, 0);
	return talk(
	    &b, &(struct talk){.first = show_values, .ms = PROBE_OPEN_MS});
}

/*
 * FCGI_GET_VALUES naming FCGI_MAX_CONNS 4,000 times (16 bytes each, one
 * record): answered once, in a record that fits, and the connection goes
 * on.
 */
static int
sc_values_repeat(const char *arg)
{
	struct obuf b = {0}, p = {0};
	int i;

	(void)arg;
	for (i = 0; i < 4000; i++)
		pair(&p, FCGI_MAX_CONNS, "");
	record(&b, FCGI_GET_VALUES, FCGI_NULL_REQUEST_ID, p.p, p.len, 0);
	ob_free(&p);
	return talk(
	    &b, &(struct talk){.first = show_values, .ms = PROBE_OPEN_MS});
}

/*
 * A responder holding its fcgi.max_conns (ARG) connections: ARG kept
 * open, each answering FCGI_GET_VALUES ("values ..."), then one more
 * whose query waits unanswered ("quiet") until the first closes
 * ("values ..." again).
 */
static int
sc_max_conns(const char *arg)
{
	int n = arg != NULL ? atoi(arg) : 0, i, held = 0, extra = -1, rc = 0;
	struct obuf b = {0};
	int *fds;

	if (n <= 0 || (fds = calloc((size_t)n, sizeof *fds)) == NULL)
		return fail("needs the responder's fcgi.max_conns, not %s",
		    arg != NULL ? arg : "nothing");
	values_query(&b, 0);
	for (i = 0; i < n && rc == 0; i++) {
		if ((fds[i] = dial()) == -1) {
			rc = -1;
			break;
		}
		held++;
		IFOK(rc, send_all(fds[i], b.p, b.len));
		IFOK(rc, show_values(fds[i]));
	}
	if (rc == 0)
		printf("held %d\n", held);
	if (rc == 0 && (extra = dial()) == -1)
		rc = -1;
	IFOK(rc, send_all(extra, b.p, b.len));
	IFOK(rc,
	    show_quiet(extra, "a connection past fcgi.max_conns was served"));
	if (rc == 0) {
		close(fds[0]);
		fds[0] = -1;
	}
	IFOK(rc, show_values(extra));
	for (i = 0; i < held; i++)
		if (fds[i] != -1)
			close(fds[i]);
	if (extra != -1)
		close(extra);
	free(fds);
	ob_free(&b);
	return rc;
}

/* The answer to a management record of a type no 1.0 application knows. */
static int
unknown_type_answer(int fd)
{
	const struct record *r = &probe_rec;

	if (read_record(fd, &probe_rec) != 1)
		return fail("no FCGI_UNKNOWN_TYPE");
	if (r->type != FCGI_UNKNOWN_TYPE || r->id != 0 ||
	    r->len != sizeof(FCGI_UnknownTypeBody))
		return fail("a record of type %d, %zu bytes, for request %u",
		    r->type, r->len, r->id);
	printf("unknown-type %d\n", r->data[0]);
	return 0;
}

static int
sc_unknown_type(const char *arg)
{
	struct obuf b = {0};

	/* Type 20: past FCGI_MAXTYPE. */
	record(&b, 20, FCGI_NULL_REQUEST_ID, "?", 1, 0);
	return talk(&b,
	    &(struct talk){.first = unknown_type_answer, .ms = PROBE_OPEN_MS});
}

/* Three requests on one connection, with a new id each time. */
static int
sc_keep_conn(const char *arg)
{
	struct req rs[] = {req_get(1, 1, "/health/live"),
	    req_order(2, 1, PROBE_ORDER, strlen(PROBE_ORDER)),
	    req_get(3, 1, "/healthz")};

	return serve_each(rs, 3, PROBE_OPEN_MS);
}

static int
sc_no_keep(const char *arg)
{
	return sc_get("/health/live");
}

/* Three requests in one write, as a pipelining client would. */
static int
sc_pipeline(const char *arg)
{
	struct req live = req_get(1, 1, "/health/live");
	struct req order = req_order(2, 1, PROBE_ORDER, strlen(PROBE_ORDER));
	struct req healthz = req_get(3, 1, "/healthz");
	struct obuf b = {0};

	req_build(&b, &live);
	req_build(&b, &order);
	req_build(&b, &healthz);
	return talk(&b, &(struct talk){.answers = 3, .ms = PROBE_OPEN_MS});
}

/* An order, one byte per write, a millisecond apart. */
static int
sc_dribble(const char *arg)
{
	static const size_t one[] = {1, 0};
	struct req r = req_order(1, 0, PROBE_ORDER, strlen(PROBE_ORDER));
	struct obuf b = {0};

	req_build(&b, &r);
	return talk(&b, &(struct talk){.pieces = one,
	                    .pause_us = 1000,
	                    .answers = 1,
	                    .ms = PROBE_TIMEOUT_MS});
}

/*
 * An order of 5 KB (the seed's, widened with blanks) in records of odd
 * sizes, params too, sent in writes of other odd sizes.
 */
static int
sc_split_body(const char *arg)
{
	static const size_t records[] = {1, 7, 13, 255, 1021, 3, 4093, 0};
	static const size_t writes[] = {5, 11, 3, 700, 1, 2, 8, 89, 1500, 0};
	struct obuf body = {0}, b = {0};
	struct req r;
	int rc, i;

	ob_add(&body, "{", 1);
	for (i = 0; i < 5000; i++)
		ob_add(&body, i % 100 == 99 ? "\n" : " ", 1);
	ob_add(&body, PROBE_ORDER + 1, strlen(PROBE_ORDER) - 1);
	r = req_order(1, 0, (const char *)body.p, body.len);
	r.chunks = records;
	req_build(&b, &r);
	rc = talk(&b, &(struct talk){.pieces = writes,
	                  .pause_us = 2000,
	                  .answers = 1,
	                  .ms = PROBE_TIMEOUT_MS});
	ob_free(&body);
	return rc;
}

/* Every record padded, by 0 to 255 bytes, params and body cut small. */
static int
sc_padding(const char *arg)
{
	static const size_t records[] = {37, 0};
	struct req r = req_order(1, 0, PROBE_ORDER, strlen(PROBE_ORDER));
	struct obuf b = {0};

	r.chunks = records;
	r.pad = -1;
	req_build(&b, &r);
	return talk(&b, &(struct talk){.answers = 1, .ms = PROBE_TIMEOUT_MS});
}

/*
 * Request 2 begins (whole, params and stdin) while request 1 is in the
 * middle of its params: 2 is refused, 1 then finishes and is answered.
 */
static int
sc_cant_mpx(const char *arg)
{
	static const size_t records[] = {16, 0};
	struct req one = req_get(1, 0, "/health/live");
	struct req two = req_get(2, 0, "/healthz");
	struct obuf b1 = {0}, p1 = {0}, b2 = {0};
	size_t first = FCGI_HEADER_LEN + 16; /* request 1's first PARAMS */
	int fd, rc = 0;

	if ((fd = dial()) == -1)
		return -1;
	one.chunks = records;
	req_begin(&b1, &one);
	req_params(&p1, &one);
	req_stdin(&p1, &one);
	req_build(&b2, &two);
	IFOK(rc, send_all(fd, b1.p, b1.len));
	IFOK(rc, send_all(fd, p1.p, first));
	IFOK(rc, send_all(fd, b2.p, b2.len));
	IFOK(rc, show_answer(fd, 2));
	IFOK(rc, send_all(fd, p1.p + first, p1.len - first));
	IFOK(rc, show_answer(fd, 1));
	IFOK(rc, show_state(fd, PROBE_TIMEOUT_MS));
	ob_free(&b1);
	ob_free(&p1);
	ob_free(&b2);
	close(fd);
	return rc;
}

/*
 * Abort request r after its first cut bytes (whole records); then send
 * the rest, which must be ignored, and the next request, which must be
 * answered.
 */
static int
abort_after(int fd, const struct req *r, size_t cut, unsigned next_id)
{
	struct req next = req_get(next_id, 1, "/health/live");
	struct obuf b = {0}, a = {0};
	int rc = 0;

	req_build(&b, r);
	record(&a, FCGI_ABORT_REQUEST, r->id, NULL, 0, 0);
	IFOK(rc, send_all(fd, b.p, cut));
	IFOK(rc,
	    show_quiet(fd, "the responder did not wait for the whole request"));
	IFOK(rc, send_all(fd, a.p, a.len));
	IFOK(rc, show_answer(fd, r->id));
	IFOK(rc, send_all(fd, b.p + cut, b.len - cut));
	IFOK(rc, exchange(fd, &next));
	IFOK(rc, show_state(fd, PROBE_OPEN_MS));
	ob_free(&b);
	ob_free(&a);
	return rc;
}

/* Abort in the middle of the params, then in the middle of the body. */
static int
sc_abort(const char *arg)
{
	static const size_t records[] = {16, 0};
	struct req get = req_get(1, 1, "/health/live");
	struct req order = req_order(3, 1, PROBE_ORDER, strlen(PROBE_ORDER));
	struct obuf b = {0};
	size_t in_params, in_body;
	int fd, rc = 0;

	if ((fd = dial()) == -1)
		return -1;
	get.chunks = order.chunks = records;
	/* The BEGIN and one PARAMS record of 16 bytes. */
	in_params = FCGI_HEADER_LEN + sizeof(FCGI_BeginRequestBody) +
	            FCGI_HEADER_LEN + 16;
	/* The order's BEGIN, all its params, and one STDIN of 16 bytes. */
	req_begin(&b, &order);
	req_params(&b, &order);
	in_body = b.len + FCGI_HEADER_LEN + 16;
	ob_free(&b);
	IFOK(rc, abort_after(fd, &get, in_params, 2));
	IFOK(rc, abort_after(fd, &order, in_body, 4));
	close(fd);
	return rc;
}

/*
 * Role 2 (authorizer) with FCGI_KEEP_CONN: refused, the connection stays
 * and serves a responder request; then role 3 (filter) without the flag.
 */
static int
sc_unknown_role(const char *arg)
{
	struct req rs[] = {req_get(1, 1, "/health/live"),
	    req_get(2, 1, "/health/live"), req_get(3, 0, "/health/live")};

	rs[0].role = FCGI_AUTHORIZER;
	rs[2].role = FCGI_FILTER;
	return serve_each(rs, 3, PROBE_TIMEOUT_MS);
}

/* A request with FCGI_KEEP_CONN, then a record of version 2. */
static int
sc_bad_version(const char *arg)
{
	struct req live = req_get(1, 1, "/health/live");
	struct req bad = req_get(2, 1, "/health/live");
	struct obuf b = {0};

	req_build(&b, &bad);
	b.p[0] = 2;
	return talk(
	    &b, &(struct talk){.before = &live, .ms = PROBE_TIMEOUT_MS});
}

static char *
repeat(char c, size_t n)
{
	char *s;

	if ((s = malloc(n + 1)) == NULL)
		exit(1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* Long names and values (4-byte lengths), one of 100 KB, and 96 more. */
static void
big_params(struct obuf *extra)
{
	char name[64], value[64], *agent, *origin, *big, *xname;
	int i;

	agent = repeat('a', 300);
	memcpy(agent, "Mozilla/5.0 (probe) ", 20);
	origin = repeat('o', 200);
	memcpy(origin, "https://", 8);
	big = repeat('b', 100000);
	xname = repeat('N', 150);
	memcpy(xname, "HTTP_X_", 7);
	pair(extra, "HTTP_USER_AGENT", agent);
	pair(extra, "HTTP_ORIGIN", origin);
	pair(extra, "HTTP_X_BIG", big);
	pair(extra, xname, "long name");
	for (i = 0; i < 96; i++) {
		snprintf(name, sizeof name, "HTTP_X_PROBE_%d", i);
		snprintf(value, sizeof value, "value %d of 96", i);
		pair(extra, name, value);
	}
	free(agent);
	free(origin);
	free(big);
	free(xname);
}

/* 112 parameters in all, spanning two PARAMS records. */
static int
sc_big_params(const char *arg)
{
	struct req r = req_get(1, 0, "/health/live");
	struct obuf extra = {0};
	int rc;

	big_params(&extra);
	r.extra = &extra;
	rc = serve_each(&r, 1, PROBE_TIMEOUT_MS);
	ob_free(&extra);
	return rc;
}

/*
 * Bodies over order.max_body (64 KB in conf/paddock.conf): 200 KB with
 * CONTENT_LENGTH and FCGI_KEEP_CONN, where no answer may come before the
 * body's end; then 100 KB without CONTENT_LENGTH or the flag.
 */
static int
sc_oversize(const char *arg)
{
	char *body = repeat('x', 200000);
	struct req declared = req_order(1, 1, body, 200000);
	struct req undeclared = req_order(2, 0, body, 100000);
	struct obuf b = {0};
	size_t end;
	int fd, rc = 0;

	if ((fd = dial()) == -1) {
		free(body);
		return -1;
	}
	undeclared.no_length = 1;
	req_build(&b, &declared);
	end = b.len - FCGI_HEADER_LEN; /* all but the empty FCGI_STDIN */
	IFOK(rc, send_all(fd, b.p, end));
	IFOK(rc,
	    show_quiet(fd, "the responder did not wait for the whole request"));
	IFOK(rc, send_all(fd, b.p + end, FCGI_HEADER_LEN));
	IFOK(rc, show_answer(fd, 1));
	IFOK(rc, show_state(fd, PROBE_OPEN_MS));
	IFOK(rc, exchange(fd, &undeclared));
	IFOK(rc, show_state(fd, PROBE_TIMEOUT_MS));
	ob_free(&b);
	free(body);
	close(fd);
	return rc;
}

/*
 * FCGI_GET_VALUES between a request's params and the end of its body,
 * which is when the responder holds the decoded params. The query carries
 * an unknown name of arg bytes (default 300), to be skipped.
 */
static int
sc_values_mid(const char *arg)
{
	struct req r = req_get(1, 1, "/health/live");
	struct obuf b = {0};

	req_begin(&b, &r);
	req_params(&b, &r);
	values_query(&b, arg != NULL ? strtoul(arg, NULL, 10) : 300);
	req_stdin(&b, &r);
	return talk(
	    &b, &(struct talk){
	            .first = show_values, .answers = 1, .ms = PROBE_OPEN_MS});
}

/* Read one of many answers: 200, a clean end, then the close. */
static int
many_ok(int fd)
{
	struct answer a;
	int ok;

	ok = read_answer(fd, 1, &a) == 0 && a.status == 200 &&
	     a.protocol_status == FCGI_REQUEST_COMPLETE &&
	     strcmp(conn_state(fd, PROBE_TIMEOUT_MS), "closed") == 0;
	ob_free(&a.out);
	return ok;
}

/* arg (default 500) connections, all sending before any is read. */
static int
sc_many(const char *arg)
{
	struct req r = req_get(1, 0, "/health/live");
	int n = arg != NULL ? atoi(arg) : PROBE_MANY, i, sent = 0, ok = 0;
	struct obuf b = {0};
	int *fds;

	if (n <= 0 || (fds = calloc((size_t)n, sizeof *fds)) == NULL)
		return fail("bad count %s", arg);
	req_build(&b, &r);
	for (i = 0; i < n; i++) {
		if ((fds[i] = dial()) == -1)
			break;
		if (send_all(fds[i], b.p, b.len) == -1) {
			close(fds[i]);
			break;
		}
		sent++;
	}
	for (i = 0; i < sent; i++) {
		ok += many_ok(fds[i]);
		close(fds[i]);
	}
	printf("many sent %d ok %d\n", sent, ok);
	free(fds);
	ob_free(&b);
	return sent == n && ok == n ? 0 : fail("%d of %d answered", ok, n);
}

/*
 * A web server that sends fast and reads slowly: records that each get an
 * answer (FCGI_UNKNOWN_TYPE, 16 bytes for 9), as fast as the responder
 * takes them, for ARG seconds (default 3), reading 4 KB of answers a
 * millisecond. A responder that read on whenever the socket took a little
 * output would hold the answers in memory; the script reads its peak RSS.
 */
static int
sc_flood_slow_reader(const char *arg)
{
	int64_t end = mono_ms() + (arg != NULL ? atol(arg) : 3) * 1000;
	size_t sent = 0, got = 0, off = 0;
	struct obuf b = {0};
	char sink[4096];
	ssize_t n;
	int fd;

	while (b.len < 65536 - 9)
		record(&b, 20, FCGI_NULL_REQUEST_ID, "?", 1, 0);
	if ((fd = dial()) == -1)
		return fail("connect");
	while (mono_ms() < end) {
		while ((n = send(fd, b.p + off, b.len - off,
		            MSG_NOSIGNAL | MSG_DONTWAIT)) > 0) {
			sent += (size_t)n;
			off = (off + (size_t)n) % b.len;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			break;
		if ((n = recv(fd, sink, sizeof sink, MSG_DONTWAIT)) > 0)
			got += (size_t)n;
		nap_us(1000);
	}
	printf("flood sent %zu KiB read %zu KiB\n", sent >> 10, got >> 10);
	close(fd);
	ob_free(&b);
	return 0;
}

/*
 * SIGSTOP pid and wait until it has stopped (kill(2) returns before):
 * what is sent to it meanwhile is all there when it reads again.
 */
static int
freeze(pid_t pid)
{
	char path[64], stat[512], *p;
	FILE *f;
	size_t n;
	int i;

	if (kill(pid, SIGSTOP) == -1)
		return fail("kill %ld: %s", (long)pid, strerror(errno));
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	for (i = 0; i < 1000; i++) {
		if ((f = fopen(path, "r")) == NULL)
			break;
		n = fread(stat, 1, sizeof stat - 1, f);
		fclose(f);
		stat[n] = '\0';
		/* "pid (comm) S ...": comm may hold anything, ')' too. */
		if ((p = strrchr(stat, ')')) != NULL &&
		    strncmp(p, ") T", 3) == 0)
			return 0;
		nap_us(1000);
	}
	kill(pid, SIGCONT);
	return fail("pid %ld did not stop", (long)pid);
}

/*
 * GET /health/live with FCGI_KEEP_CONN, padded with one more parameter to
 * size bytes in all, into b. Returns -1 when no padding gets there.
 */
static int
half_close_request(struct obuf *b, size_t size)
{
	static const char name[] = "HTTP_X_PAD";
	struct req r = req_get(1, 1, "/health/live");
	struct obuf pad = {0};
	size_t base, fixed, vl = 0;
	char *value;

	req_build(b, &r);
	base = b->len;
	b->len = 0;
	/* The pair: its two lengths (1 or 4 bytes each), name and value. */
	fixed = base + 1 + (sizeof name - 1);
	if (size >= fixed + 1 && size - fixed - 1 < 128)
		vl = size - fixed - 1;
	else if (size >= fixed + 4 + 128)
		vl = size - fixed - 4;
	else
		return fail("no request of exactly %zu bytes", size);
	value = repeat('p', vl);
	pair(&pad, name, value);
	r.extra = &pad;
	req_build(b, &r);
	free(value);
	ob_free(&pad);
	if (b->len != size)
		return fail("a request of %zu bytes, not %zu", b->len, size);
	return 0;
}

/*
 * A whole request of size bytes, then at once shutdown(SHUT_WR): the
 * responder must answer it, then close. With pid (> 0) frozen meanwhile,
 * the request and the end of the input are both there when it reads.
 * With FCGI_KEEP_CONN, so that the close can only come from that end.
 */
static int
half_close_one(pid_t pid, size_t size)
{
	struct obuf b = {0};
	int fd, rc = 0;

	if (half_close_request(&b, size) == -1)
		return -1;
	if (pid > 0 && freeze(pid) == -1) {
		ob_free(&b);
		return -1;
	}
	/* A stopped responder still takes the connection: the backlog. */
	if ((fd = dial()) == -1)
		rc = -1;
	IFOK(rc, send_all(fd, b.p, b.len));
	if (rc == 0 && shutdown(fd, SHUT_WR) == -1)
		rc = fail("shutdown: %s", strerror(errno));
	if (pid > 0 && kill(pid, SIGCONT) == -1 && rc == 0)
		rc = fail("kill %ld: %s", (long)pid, strerror(errno));
	if (rc == 0)
		printf("sent %zu\n", b.len);
	IFOK(rc, show_answer(fd, 1));
	IFOK(rc, show_state(fd, PROBE_TIMEOUT_MS));
	ob_free(&b);
	if (fd != -1)
		close(fd);
	return rc;
}

/*
 * A request of PROBE_FIRST_READ bytes: it fills the responder's first read
 * exactly, so the read after it, in the same pass, meets the end of the
 * input (given the responder's PID in arg, frozen while it is sent). Then
 * a short one, read whole in one read.
 */
static int
sc_half_close(const char *arg)
{
	pid_t pid;
	int rc = 0;

	if ((pid = arg_pid(arg, 1)) == -1)
		return -1;
	IFOK(rc, half_close_one(pid, PROBE_FIRST_READ));
	IFOK(rc, half_close_one(pid, 400));
	return rc;
}

/*
 * Pairs holding a NUL before the variables the routing reads: one in a
 * value, then (next request) one in a name. Each must be dropped whole:
 * kept NUL-terminated, it would count as two strings and shift every
 * pair after it, REQUEST_URI's name becoming a value.
 */
static int
sc_nul_param(const char *arg)
{
	struct req rs[] = {
	    req_get(1, 1, "/health/live"), req_get(2, 0, "/health/live")};
	struct obuf lv = {0}, ln = {0};
	int rc;

	pair_n(&lv, "HTTP_X_NUL", 10, "a\0b", 3);
	pair_n(&ln, "HTTP_X\0NUL", 10, "b", 1);
	rs[0].lead = &lv;
	rs[1].lead = &ln;
	rc = serve_each(rs, 2, PROBE_TIMEOUT_MS);
	ob_free(&lv);
	ob_free(&ln);
	return rc;
}

/*
 * Request r on connection n, after the stop. The responder may have closed
 * the connection already: the send then fails, which the reading says.
 */
static int
stop_send(int fd, unsigned n, const struct req *r)
{
	struct obuf b = {0};
	int rc = 0;

	req_build(&b, r);
	if (send_raw(fd, b.p, b.len) == -1 && errno != EPIPE &&
	    errno != ECONNRESET)
		rc = fail("conn %u: send: %s", n, strerror(errno));
	ob_free(&b);
	return rc;
}

/*
 * What became of request r on connection n, in one line: the connection
 * ended without an answer ("closed", or "reset": closed with the request
 * unread), or the answer came whole, then the close. A part of an answer,
 * or silence, is a surprise.
 */
static int
stop_read(int fd, unsigned n, const struct req *r)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	struct answer a;
	char c;
	ssize_t k;
	int rc;

	if (poll(&pfd, 1, PROBE_TIMEOUT_MS) != 1)
		return fail("conn %u: neither an answer nor a close", n);
	if ((k = recv(fd, &c, 1, MSG_PEEK)) == 0) {
		printf("conn %u closed\n", n);
		return 0;
	}
	if (k == -1 && errno == ECONNRESET) {
		printf("conn %u reset\n", n);
		return 0;
	}
	if (k == -1)
		return fail("conn %u: recv: %s", n, strerror(errno));
	if ((rc = read_answer(fd, r->id, &a)) == 0)
		printf("conn %u status %d %s\n", n, a.status,
		    conn_state(fd, PROBE_CLOSE_MS));
	ob_free(&a.out);
	return rc;
}

/*
 * PROBE_STOP_CONNS connections with FCGI_KEEP_CONN, each served once and
 * left open; SIGTERM to the responder (arg: its PID); then a new request
 * on each. Stopping, the responder takes no new request on a kept
 * connection: it closes it, at the latest once it has answered what it
 * had in hand. In a batch, the responder is frozen from before the signal
 * to after the requests, so that it sees them all in one epoll_wait():
 * the connections it would close as idle have input waiting in the same
 * batch. Otherwise the requests come PROBE_STOP_PAUSE_US after the signal.
 */
static int
stop_kept(const char *arg, int batch)
{
	struct req first = req_get(1, 1, "/health/live");
	struct req next = req_get(2, 1, "/health/live");
	int fds[PROBE_STOP_CONNS], i, n = 0, rc = 0;
	pid_t pid;

	if ((pid = arg_pid(arg, 0)) == -1)
		return -1;
	for (i = 0; i < PROBE_STOP_CONNS && rc == 0; i++) {
		if ((fds[i] = dial()) == -1) {
			rc = -1;
			break;
		}
		n++;
		IFOK(rc, exchange(fds[i], &first));
		IFOK(rc, show_state(fds[i], PROBE_OPEN_MS));
	}
	if (batch)
		IFOK(rc, freeze(pid));
	IFOK(rc, stop_pid(arg));
	if (rc == 0 && !batch)
		nap_us(PROBE_STOP_PAUSE_US);
	for (i = 0; i < n; i++)
		IFOK(rc, stop_send(fds[i], (unsigned)i + 1, &next));
	/* Whatever failed: a frozen responder would never stop. */
	if (batch && kill(pid, SIGCONT) == -1 && rc == 0)
		rc = fail("kill %ld: %s", (long)pid, strerror(errno));
	for (i = 0; i < n; i++) {
		IFOK(rc, stop_read(fds[i], (unsigned)i + 1, &next));
		close(fds[i]);
	}
	return rc;
}

static int
sc_stop_keep(const char *arg)
{
	return stop_kept(arg, 0);
}

static int
sc_stop_batch(const char *arg)
{
	return stop_kept(arg, 1);
}

/*
 * On a connection with FCGI_KEEP_CONN (served once, so accepted: a stop
 * cannot leave it in the listen queue), an order, and SIGTERM (arg: the
 * PID) right after it, before its answer: the order is in hand, so it
 * gets its answer; then the connection closes, kept or not.
 */
static int
sc_stop_inflight(const char *arg)
{
	struct req live = req_get(1, 1, "/health/live");
	struct req order = req_order(2, 1, PROBE_ORDER, strlen(PROBE_ORDER));
	struct obuf b = {0};

	req_build(&b, &order);
	return talk(&b, &(struct talk){.before = &live,
	                    .stop = arg,
	                    .answers = 1,
	                    .ms = PROBE_CLOSE_MS});
}

/*
 * Two connections accepted with nothing on them yet when SIGTERM (arg:
 * the PID) comes, as when the web server has connected and is about to
 * write. The first one's request, sent PROBE_STOP_PAUSE_US after the
 * signal, is answered, then the connection closes; the second stays
 * silent until the responder gives up on it (the script times that). A
 * third connection, served and closed first, makes sure that the
 * responder has accepted the two: it takes its listen queue in order.
 */
static int
sc_stop_fresh(const char *arg)
{
	struct req live = req_get(1, 0, "/health/live");
	int fd = -1, silent = -1, other = -1, rc = 0;

	if (arg_pid(arg, 0) == -1)
		return -1;
	if ((fd = dial()) == -1 || (silent = dial()) == -1 ||
	    (other = dial()) == -1)
		rc = -1;
	IFOK(rc, exchange(other, &live));
	IFOK(rc, stop_pid(arg));
	if (rc == 0)
		nap_us(PROBE_STOP_PAUSE_US);
	IFOK(rc, stop_send(fd, 1, &live));
	IFOK(rc, stop_read(fd, 1, &live));
	IFOK(rc, stop_read(silent, 2, &live));
	if (fd != -1)
		close(fd);
	if (silent != -1)
		close(silent);
	if (other != -1)
		close(other);
	return rc;
}

/*
 * An order whose last record (the empty FCGI_STDIN) comes
 * PROBE_LATE_MS after SIGTERM (arg: the PID), while NATS acknowledges
 * nothing (the script freezes it, and sets nats.ack_timeout_ms to
 * PROBE_LATE_ACK_MS). The responder drops requests not read in full
 * ack_timeout_ms + 2 s after the signal; this one was, 400 ms before, so
 * it is published, and gets its 504 at its own deadline, after that
 * moment: "after MS" is since the signal. The whole freeze stays under
 * the 4 s after which nats.c would call the frozen server stale (pings
 * every 2 s, 2 outstanding: src/bus.c) and fail the order earlier.
 */
static int
sc_stop_late(const char *arg)
{
	struct req order = req_order(1, 0, PROBE_ORDER, strlen(PROBE_ORDER));
	struct obuf b = {0};
	int64_t start;
	int fd, rc = 0;

	if (arg_pid(arg, 0) == -1 || (fd = dial()) == -1)
		return -1;
	req_build(&b, &order);
	IFOK(rc, send_all(fd, b.p, b.len - FCGI_HEADER_LEN));
	start = mono_ms();
	IFOK(rc, stop_pid(arg));
	if (rc == 0)
		nap_us(PROBE_LATE_MS * 1000L);
	IFOK(rc, send_all(fd, b.p + b.len - FCGI_HEADER_LEN, FCGI_HEADER_LEN));
	IFOK(rc, stop_read(fd, 1, &order));
	if (rc == 0)
		printf("after %lld\n", (long long)(mono_ms() - start));
	ob_free(&b);
	close(fd);
	return rc;
}

/*
 * Two orders in one write with FCGI_KEEP_CONN, for when NATS acknowledges
 * nothing (the script freezes it). The second is read only once the first
 * is answered, so each waits its own nats.ack_timeout_ms: the answers
 * come one timeout apart, not together.
 */
static int
sc_pipeline_timeout(const char *arg)
{
	struct req one = req_order(1, 1, PROBE_ORDER, strlen(PROBE_ORDER));
	struct req two = req_order(2, 1, PROBE_ORDER, strlen(PROBE_ORDER));
	struct obuf b = {0};

	req_build(&b, &one);
	req_build(&b, &two);
	return talk(
	    &b, &(struct talk){.answers = 2, .timed = 1, .ms = PROBE_OPEN_MS});
}

static const struct scenario scenarios[] = {
    {"get", sc_get, "GET PATH (default /health/live), then the close"},
    {"get-values", sc_get_values, "FCGI_GET_VALUES"},
    {"values-repeat", sc_values_repeat,
        "FCGI_GET_VALUES naming one variable 4,000 times"},
    {"max-conns", sc_max_conns,
        "ARG (fcgi.max_conns) connections held, one more waits"},
    {"unknown-type", sc_unknown_type, "a management record of type 20"},
    {"keep-conn", sc_keep_conn, "three requests on one connection"},
    {"no-keep", sc_no_keep, "one request; the responder closes"},
    {"pipeline", sc_pipeline, "three requests in one write"},
    {"dribble", sc_dribble, "an order one byte at a time"},
    {"split-body", sc_split_body, "odd record and write sizes"},
    {"padding", sc_padding, "padded records"},
    {"cant-mpx", sc_cant_mpx, "a second request during the first"},
    {"abort", sc_abort, "FCGI_ABORT_REQUEST in params, then in stdin"},
    {"unknown-role", sc_unknown_role, "roles 2 and 3"},
    {"bad-version", sc_bad_version, "a record of version 2"},
    {"big-params", sc_big_params, "long and many parameters"},
    {"oversize", sc_oversize, "bodies over order.max_body"},
    {"values-mid", sc_values_mid, "FCGI_GET_VALUES inside a request [FILLER]"},
    {"many", sc_many, "N connections at once (default 500)"},
    {"flood-slow-reader", sc_flood_slow_reader,
        "records that get answers, read slowly [SECONDS]"},
    {"half-close", sc_half_close, "16 KB, then 400 B, then SHUT_WR [PID]"},
    {"nul-param", sc_nul_param, "params holding a NUL, dropped whole"},
    {"stop-keep", sc_stop_keep, "kept connections, SIGTERM to PID, more"},
    {"stop-batch", sc_stop_batch, "stop-keep, all in one epoll batch"},
    {"stop-inflight", sc_stop_inflight, "an order, SIGTERM to PID at once"},
    {"pipeline-timeout", sc_pipeline_timeout, "two orders, NATS frozen"},
    {"stop-fresh", sc_stop_fresh, "two accepted, SIGTERM to PID, a GET on one"},
    {"stop-late", sc_stop_late, "SIGTERM to PID mid-order, NATS frozen"},
};

static int
usage(void)
{
	size_t i;

	fprintf(stderr, "usage: fcgi-probe SOCKET SCENARIO [ARG]\n");
	for (i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
		fprintf(stderr, "  %-16s %s\n", scenarios[i].name,
		    scenarios[i].help);
	return 2;
}

int
main(int argc, char **argv)
{
	const struct scenario *s;
	size_t i;

	if (argc < 3 || argc > 4)
		return usage();
	probe_sock = argv[1];
	/* Line by line: the script reads stdout and stderr interleaved. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
		s = &scenarios[i];
		if (strcmp(argv[2], s->name) == 0) {
			probe_name = s->name;
			return s->run(argc == 4 ? argv[3] : NULL) == 0 ? 0 : 1;
		}
	}
	return usage();
}
