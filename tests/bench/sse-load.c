/*
 * sse-load.c: a load client for sse-relay. One process, one thread, one
 * epoll loop holding up to about 18,000 Server-Sent Event streams (a process
 * may hold 20,000 descriptors, and a source address has some 28,000
 * ephemeral ports), so a benchmark spreads 50,000 streams over a few of
 * these, each from its own loopback source address.
 *
 *   sse-load -a HOST:PORT -n CONNS [-s SRC_IP] [-t SECONDS]
 *       [-r RAMP_PER_SEC] [-o SAMPLES_FILE] [-e EXPECTED_EVENTS]
 *       [-l LINGER_SECONDS]
 *
 * Each stream sends "GET /v1/order/sse" and is parsed as its bytes arrive
 * by a small per-connection state machine (no line buffer: about 24 bytes
 * a connection). A stream is established by "HTTP/1.x 200"; every event
 * (a block with data lines, ended by a blank line) is counted, and the
 * integer after "bench_ns": in a data line (CLOCK_REALTIME nanoseconds at
 * publish) gives one latency sample, read time minus bench_ns, in
 * microseconds. The read time is taken once per read(2), so the samples
 * include this client's own queueing: they over-state, never under-state
 * (by at most 1 ms more once every stream is up, see load_coalesce()).
 *
 * The run ends after SECONDS (default 60), on SIGINT or SIGTERM, or once
 * every connection has either failed or received EXPECTED_EVENTS events;
 * with -l, the streams are then held LINGER_SECONDS more (still within
 * SECONDS), so that a script can read the server's figures before a whole
 * process's streams close at once. Progress goes to standard error once a
 * second ("phase=connecting", "streaming", then "complete" as soon as it is
 * so); at the end one line goes to standard output:
 *
 *   conns=N ok=HELD failed=F events=E p50_us=.. p99_us=.. max_us=..
 *       pending=P established=X fail_connect=.. fail_status=.. fail_503=..
 *       fail_closed=.. samples=.. dropped=.. cpu_ms=..
 *
 * where ok counts streams answered 200 and still open at the end, failed
 * those refused, answered otherwise or closed early, pending those still
 * connecting or awaiting their answer, and cpu_ms this process's own CPU time
 * (user and system), to tell whether the client was the bottleneck. With -o,
 * every sample is written to SAMPLES_FILE, one per line in arrival order, so
 * that a script can merge several processes.
 *
 * Exit status: 0 the run completed (whatever it measured), 1 failure (with
 * a reason on stderr), 2 usage.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOAD_MAX_EVENTS     1024  /* epoll_wait batch */
#define LOAD_READ_SIZE      65536 /* shared by every connection */
#define LOAD_START_BATCH    1000  /* connects per loop turn, at most */
#define LOAD_MAX_SAMPLES    (64u * 1024 * 1024)
#define LOAD_COALESCE_BELOW 256 /* a smaller batch: pause, see below */
#define LOAD_COALESCE_NS    1000000
#define LOAD_FD_SPARE       16 /* stdio, epoll, the samples file */

static const char bench_key[] = "\"bench_ns\":";
#define BENCH_KEY_LEN (sizeof bench_key - 1)

enum conn_state {
	CS_IDLE = 0, /* not started yet */
	CS_CONNECTING,
	CS_STATUS,  /* reading "HTTP/1.1 200 OK" */
	CS_HEADERS, /* reading up to the blank line */
	CS_BODY,    /* streaming */
	CS_FAILED
};

/* Per-line parse flags. */
#define PF_LAST_CR 0x01 /* the previous byte was CR: skip an LF */
#define PF_DATA    0x02 /* this line is a "data:" line */
#define PF_OTHER   0x04 /* this line is anything else */
#define PF_IN_NS   0x08 /* reading the digits after "bench_ns": */
#define PF_NS_DONE 0x10 /* this line's sample is taken */
#define PF_EVENT   0x20 /* the current block has a data line */
#define PF_COUNTED 0x40 /* this connection reached the expected events */

struct conn {
	int fd;
	uint8_t state;
	uint8_t flags;
	uint8_t lpos;  /* bytes into the line, saturating at 255 */
	uint8_t match; /* bytes of bench_key matched, or digits read */
	uint32_t events;
	uint64_t acc; /* status code, then bench_ns */
};

struct load {
	struct sockaddr_in dst;
	struct sockaddr_in src;
	int bind_src;
	unsigned nconns;
	unsigned seconds;
	unsigned ramp; /* connects per second, 0 for as fast as possible */
	unsigned expected;
	unsigned linger; /* seconds held after completion */
	const char *samples_path;

	char request[256];
	size_t request_len;
	int ep;
	struct conn *conns;
	unsigned started;
	int complete;

	/* Counters. */
	unsigned established, ok, pending, done;
	unsigned fail_connect, fail_status, fail_503, fail_closed;
	uint64_t events;

	uint32_t *samples;
	size_t nsamples, samples_cap;
	uint64_t dropped;
};

static volatile sig_atomic_t load_stop;

static int
usage(void)
{
	fprintf(stderr,
	    "usage: sse-load -a HOST:PORT -n CONNS [-s SRC_IP] [-t SECONDS] "
	    "[-r RAMP_PER_SEC] [-o SAMPLES_FILE] [-e EXPECTED_EVENTS] "
	    "[-l LINGER_SECONDS]\n");
	return 2;
}

static void
on_signal(int sig)
{
	(void)sig;
	load_stop = 1;
}

static uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Parse a decimal in [min, max] into *out; 0 on success, -1 if not one. */
static int
parse_uint(const char *s, unsigned long min, unsigned long max, unsigned *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *s == '-' || v < min ||
	    v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* "A.B.C.D:PORT" into sin; 0 on success, -1 if not one. */
static int
parse_addr(const char *s, struct sockaddr_in *sin)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	unsigned port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof host ||
	    parse_uint(colon + 1, 1, 65535, &port) == -1)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

/*
 * Raise the soft descriptor limit to the hard one; -1 (with a reason on
 * stderr) when even that cannot hold the connections asked for.
 */
static int
raise_nofile(unsigned nconns)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		perror("sse-load: getrlimit");
		return -1;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		perror("sse-load: setrlimit");
		return -1;
	}
	if (rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)nconns + LOAD_FD_SPARE > rl.rlim_cur) {
		fprintf(stderr,
		    "sse-load: %u connections need %u descriptors, the limit "
		    "is %llu: use more processes\n",
		    nconns, nconns + LOAD_FD_SPARE,
		    (unsigned long long)rl.rlim_cur);
		return -1;
	}
	return 0;
}

static void
sample_add(struct load *l, uint64_t now_ns, uint64_t bench_ns)
{
	uint64_t us = now_ns > bench_ns ? (now_ns - bench_ns) / 1000 : 0;
	uint32_t *p;
	size_t cap;

	if (l->nsamples == l->samples_cap) {
		cap = l->samples_cap ? l->samples_cap * 2 : 4096;
		if (cap > LOAD_MAX_SAMPLES ||
		    (p = realloc(l->samples, cap * sizeof *p)) == NULL) {
			l->dropped++;
			return;
		}
		l->samples = p;
		l->samples_cap = cap;
	}
	l->samples[l->nsamples++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* Close a connection for good and count why. */
static void
conn_fail(struct load *l, struct conn *c, unsigned *reason)
{
	if (c->state == CS_BODY)
		l->ok--;
	else if (c->state != CS_IDLE)
		l->pending--; /* connecting or awaiting its answer */
	if (c->flags & PF_COUNTED)
		l->done--;
	(*reason)++;
	if (c->fd != -1)
		close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
	c->state = CS_FAILED;
}

/* The status line: the three digits after "HTTP/1.x ". */
static void
parse_status(struct load *l, struct conn *c, char ch)
{
	if (ch == '\r')
		return;
	if (ch != '\n') {
		if (c->lpos >= 9 && c->lpos <= 11 && ch >= '0' && ch <= '9')
			c->acc = c->acc * 10 + (uint64_t)(ch - '0');
		if (c->lpos < UINT8_MAX)
			c->lpos++;
		return;
	}
	c->lpos = 0;
	if (c->acc == 200) {
		c->state = CS_HEADERS;
		return;
	}
	conn_fail(l, c, c->acc == 503 ? &l->fail_503 : &l->fail_status);
}

/* Header lines, until the blank one that starts the stream. */
static void
parse_header(struct load *l, struct conn *c, char ch)
{
	if (ch == '\r')
		return;
	if (ch != '\n') {
		c->lpos = 1;
		return;
	}
	if (c->lpos != 0) {
		c->lpos = 0;
		return;
	}
	c->state = CS_BODY;
	c->flags = 0;
	c->acc = 0;
	c->match = 0;
	l->established++;
	l->ok++;
	l->pending--;
}

/* The end of the digits after "bench_ns": gives a sample. */
static void
body_end_ns(struct load *l, struct conn *c, uint64_t now_ns)
{
	c->flags = (uint8_t)((c->flags & ~PF_IN_NS) | PF_NS_DONE);
	if (c->match > 0)
		sample_add(l, now_ns, c->acc);
}

static void
body_end_line(struct load *l, struct conn *c, uint64_t now_ns)
{
	if (c->flags & PF_IN_NS)
		body_end_ns(l, c, now_ns);
	if (c->lpos == 0 && (c->flags & PF_EVENT)) {
		/* A blank line dispatches a block that had data. */
		c->events++;
		l->events++;
		c->flags &= (uint8_t)~PF_EVENT;
		if (l->expected > 0 && c->events == l->expected) {
			c->flags |= PF_COUNTED;
			l->done++;
		}
	}
	c->flags &= (uint8_t)(PF_EVENT | PF_COUNTED | PF_LAST_CR);
	c->lpos = 0;
	c->match = 0;
	c->acc = 0;
}

/* One byte of a data line's value: look for bench_key, then digits. */
static void
body_data(struct load *l, struct conn *c, char ch, uint64_t now_ns)
{
	if (c->flags & PF_NS_DONE)
		return;
	if (c->flags & PF_IN_NS) {
		if (ch >= '0' && ch <= '9' && c->match < 19) {
			c->acc = c->acc * 10 + (uint64_t)(ch - '0');
			c->match++;
		} else
			body_end_ns(l, c, now_ns);
		return;
	}
	if (ch == bench_key[c->match]) {
		if (++c->match == BENCH_KEY_LEN) {
			c->flags |= PF_IN_NS;
			c->match = 0;
			c->acc = 0;
		}
	} else
		/* The key's only self-overlap is its opening quote. */
		c->match = ch == bench_key[0] ? 1 : 0;
}

/* One byte of the stream: lines, fields, events. */
static void
parse_body(struct load *l, struct conn *c, char ch, uint64_t now_ns)
{
	static const char data[] = "data:";

	if (ch == '\n' && (c->flags & PF_LAST_CR)) {
		c->flags &= (uint8_t)~PF_LAST_CR;
		return;
	}
	c->flags &= (uint8_t)~PF_LAST_CR;
	if (ch == '\r' || ch == '\n') {
		if (ch == '\r')
			c->flags |= PF_LAST_CR;
		body_end_line(l, c, now_ns);
		return;
	}
	if (c->flags & PF_DATA)
		body_data(l, c, ch, now_ns);
	else if (!(c->flags & PF_OTHER)) {
		/* Still within the first five bytes: is it "data:"? */
		if (ch != data[c->lpos])
			c->flags |= PF_OTHER;
		else if (c->lpos == 4) {
			c->flags |= PF_DATA | PF_EVENT;
			c->match = 0;
		}
	}
	if (c->lpos < UINT8_MAX)
		c->lpos++;
}

static void
conn_parse(struct load *l, struct conn *c, const char *buf, size_t len,
    uint64_t now_ns)
{
	size_t i;

	for (i = 0; i < len && c->state != CS_FAILED; i++) {
		switch (c->state) {
		case CS_STATUS:
			parse_status(l, c, buf[i]);
			break;
		case CS_HEADERS:
			parse_header(l, c, buf[i]);
			break;
		default:
			parse_body(l, c, buf[i], now_ns);
			break;
		}
	}
}

/* Readable: one read per wake-up (level-triggered), then parse it. */
static void
conn_read(struct load *l, struct conn *c)
{
	static char buf[LOAD_READ_SIZE];
	ssize_t n;

	n = read(c->fd, buf, sizeof buf);
	if (n > 0) {
		conn_parse(l, c, buf, (size_t)n, clock_ns(CLOCK_REALTIME));
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	conn_fail(l, c, &l->fail_closed);
}

/* Writable while connecting: the connect finished; send the request. */
static void
conn_connected(struct load *l, struct conn *c)
{
	struct epoll_event ev;
	socklen_t len = sizeof(int);
	int err = 0;
	ssize_t n;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0) {
		conn_fail(l, c, &l->fail_connect);
		return;
	}
	/* A fresh socket's buffer takes a 200-byte request whole. */
	n = send(c->fd, l->request, l->request_len, MSG_NOSIGNAL);
	if (n != (ssize_t)l->request_len) {
		conn_fail(l, c, &l->fail_connect);
		return;
	}
	c->state = CS_STATUS;
	c->lpos = 0;
	c->acc = 0;
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.u32 = (uint32_t)(c - l->conns);
	if (epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		conn_fail(l, c, &l->fail_connect);
}

/* Bind fd to the source address, port 0; bind(2)'s return. */
static int
bind_src(int fd, const struct sockaddr_in *src)
{
#ifdef IP_BIND_ADDRESS_NO_PORT
	int one = 1;

	/* connect picks the port, from the 4-tuple: no bind-time search. */
	(void)setsockopt(
	    fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
	return bind(fd, (const struct sockaddr *)src, sizeof *src);
}

/* Start one non-blocking connect; failures are counted, not fatal. */
static void
conn_start(struct load *l, struct conn *c)
{
	struct epoll_event ev;

	c->state = CS_CONNECTING;
	l->pending++;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		conn_fail(l, c, &l->fail_connect);
		return;
	}
	if ((l->bind_src && bind_src(c->fd, &l->src) == -1) ||
	    (connect(c->fd, (struct sockaddr *)&l->dst, sizeof l->dst) == -1 &&
	        errno != EINPROGRESS)) {
		conn_fail(l, c, &l->fail_connect);
		return;
	}
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLOUT;
	ev.data.u32 = (uint32_t)(c - l->conns);
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		conn_fail(l, c, &l->fail_connect);
}

/* Start the connects the ramp allows by now, a batch at a time. */
static void
load_ramp(struct load *l, uint64_t elapsed_ns)
{
	uint64_t due = l->nconns;
	unsigned batch = 0;

	if (l->ramp > 0) {
		due = elapsed_ns / 1000 * l->ramp / 1000000 + 1;
		if (due > l->nconns)
			due = l->nconns;
	}
	while (l->started < due && batch++ < LOAD_START_BATCH)
		conn_start(l, &l->conns[l->started++]);
}

static unsigned
load_failed(const struct load *l)
{
	return l->fail_connect + l->fail_status + l->fail_503 + l->fail_closed;
}

/* Every connection has failed or has all the expected events. */
static int
load_complete(const struct load *l)
{
	return l->expected > 0 && l->started == l->nconns &&
	       l->done + load_failed(l) == l->nconns;
}

static void
load_progress(const struct load *l, uint64_t elapsed_ns)
{
	char src[INET_ADDRSTRLEN] = "-";
	const char *phase = "streaming";

	if (l->complete)
		phase = "complete";
	else if (l->started < l->nconns || l->pending > 0)
		phase = "connecting";
	if (l->bind_src)
		inet_ntop(AF_INET, &l->src.sin_addr, src, sizeof src);
	fprintf(stderr,
	    "sse-load: src=%s t=%llu phase=%s started=%u ok=%u failed=%u "
	    "pending=%u events=%llu done=%u\n",
	    src, (unsigned long long)(elapsed_ns / 1000000000u), phase,
	    l->started, l->ok, load_failed(l), l->pending,
	    (unsigned long long)l->events, l->done);
}

static void
load_dispatch(struct load *l, const struct epoll_event *ev)
{
	struct conn *c = &l->conns[ev->data.u32];

	if (c->state == CS_CONNECTING)
		conn_connected(l, c);
	else if (c->state != CS_FAILED)
		conn_read(l, c);
}

/*
 * After a small batch, pause 1 ms so that ready streams pile up instead of
 * each waking this process. On loopback the relay's write pays for that
 * wake-up, a cost no remote browser puts on it; pausing halves this
 * client's CPU and frees it for the relay. It adds at most 1 ms to a
 * sample.
 */
static void
load_coalesce(void)
{
	struct timespec ts = {0, LOAD_COALESCE_NS};

	nanosleep(&ts, NULL);
}

/* The loop: bounded by the deadline, a signal, or completion and linger. */
static int
load_run(struct load *l)
{
	struct epoll_event evs[LOAD_MAX_EVENTS];
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC), now, last = 0;
	uint64_t limit = (uint64_t)l->seconds * 1000000000u;
	int i, n, timeout;

	while (!load_stop) {
		now = clock_ns(CLOCK_MONOTONIC) - t0;
		if (now >= limit)
			break;
		if (!l->complete && load_complete(l)) {
			l->complete = 1;
			load_progress(l, now);
			if (l->linger == 0)
				break;
			if (now + (uint64_t)l->linger * 1000000000u < limit)
				limit = now + (uint64_t)l->linger * 1000000000u;
		}
		load_ramp(l, now);
		if (now - last >= 1000000000u || last == 0) {
			load_progress(l, now);
			last = now ? now : 1;
		}
		timeout = l->started < l->nconns ? 5 : 100;
		n = epoll_wait(l->ep, evs, LOAD_MAX_EVENTS, timeout);
		if (n == -1 && errno != EINTR) {
			perror("sse-load: epoll_wait");
			return -1;
		}
		for (i = 0; i < n; i++)
			load_dispatch(l, &evs[i]);
		if (n > 0 && n < LOAD_COALESCE_BELOW && l->started == l->nconns)
			load_coalesce();
	}
	load_progress(l, clock_ns(CLOCK_MONOTONIC) - t0);
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples; 0 when there are none. */
static uint32_t
percentile(const uint32_t *v, size_t n, unsigned pct)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (n * pct + 99) / 100;
	return v[rank > 0 ? rank - 1 : 0];
}

static int
write_samples(const struct load *l)
{
	FILE *f;
	size_t i;
	int rc = 0;

	if ((f = fopen(l->samples_path, "w")) == NULL) {
		fprintf(stderr, "sse-load: %s: %s\n", l->samples_path,
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < l->nsamples; i++)
		fprintf(f, "%u\n", l->samples[i]);
	if (ferror(f) | fclose(f)) {
		fprintf(
		    stderr, "sse-load: %s: write failed\n", l->samples_path);
		rc = -1;
	}
	return rc;
}

/* This process's CPU time so far (user + system), in milliseconds. */
static unsigned long long
cpu_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return (unsigned long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
	           1000 +
	       (unsigned long long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) /
	           1000;
}

static void
load_report(struct load *l)
{
	size_t n = l->nsamples;

	qsort(l->samples, n, sizeof *l->samples, cmp_u32);
	printf("conns=%u ok=%u failed=%u events=%llu p50_us=%u p99_us=%u "
	       "max_us=%u pending=%u established=%u fail_connect=%u "
	       "fail_status=%u fail_503=%u fail_closed=%u samples=%zu "
	       "dropped=%llu cpu_ms=%llu\n",
	    l->nconns, l->ok, load_failed(l), (unsigned long long)l->events,
	    percentile(l->samples, n, 50), percentile(l->samples, n, 99),
	    n ? l->samples[n - 1] : 0, l->pending + (l->nconns - l->started),
	    l->established, l->fail_connect, l->fail_status, l->fail_503,
	    l->fail_closed, n, (unsigned long long)l->dropped, cpu_ms());
	fflush(stdout);
}

static int
load_options(struct load *l, int argc, char **argv)
{
	int ch, have_addr = 0;

	l->seconds = 60;
	while ((ch = getopt(argc, argv, "a:n:s:t:r:o:e:l:")) != -1) {
		switch (ch) {
		case 'a':
			if (parse_addr(optarg, &l->dst) == -1)
				return -1;
			have_addr = 1;
			break;
		case 'n':
			if (parse_uint(optarg, 1, 1000000, &l->nconns) == -1)
				return -1;
			break;
		case 's':
			memset(&l->src, 0, sizeof l->src);
			l->src.sin_family = AF_INET;
			if (inet_pton(AF_INET, optarg, &l->src.sin_addr) != 1)
				return -1;
			l->bind_src = 1;
			break;
		case 't':
			if (parse_uint(optarg, 1, 86400, &l->seconds) == -1)
				return -1;
			break;
		case 'r':
			if (parse_uint(optarg, 0, 10000000, &l->ramp) == -1)
				return -1;
			break;
		case 'o':
			l->samples_path = optarg;
			break;
		case 'e':
			if (parse_uint(optarg, 0, 1000000, &l->expected) == -1)
				return -1;
			break;
		case 'l':
			if (parse_uint(optarg, 0, 86400, &l->linger) == -1)
				return -1;
			break;
		default:
			return -1;
		}
	}
	return have_addr && l->nconns > 0 && optind == argc ? 0 : -1;
}

static int
load_init(struct load *l)
{
	char host[INET_ADDRSTRLEN];
	struct sigaction sa;
	unsigned i;
	int n;

	inet_ntop(AF_INET, &l->dst.sin_addr, host, sizeof host);
	n = snprintf(l->request, sizeof l->request,
	    "GET /v1/order/sse HTTP/1.1\r\nHost: %s:%u\r\n"
	    "Accept: text/event-stream\r\nUser-Agent: sse-load\r\n\r\n",
	    host, ntohs(l->dst.sin_port));
	l->request_len = (size_t)n;
	if (raise_nofile(l->nconns) == -1)
		return -1;
	if ((l->conns = calloc(l->nconns, sizeof *l->conns)) == NULL) {
		perror("sse-load: calloc");
		return -1;
	}
	for (i = 0; i < l->nconns; i++)
		l->conns[i].fd = -1;
	if (l->expected > 0 && l->nconns <= LOAD_MAX_SAMPLES / l->expected)
		l->samples_cap = (size_t)l->nconns * l->expected;
	if (l->samples_cap > 0 &&
	    (l->samples = malloc(l->samples_cap * sizeof *l->samples)) == NULL)
		l->samples_cap = 0; /* grown on demand instead */
	if ((l->ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("sse-load: epoll_create1");
		return -1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int
main(int argc, char **argv)
{
	struct load l;
	int rc = 0;

	memset(&l, 0, sizeof l);
	l.ep = -1;
	if (load_options(&l, argc, argv) == -1)
		return usage();
	if (load_init(&l) == -1 || load_run(&l) == -1)
		rc = 1;
	else {
		/* The samples in arrival order, before the report sorts them.
		 */
		if (l.samples_path != NULL && write_samples(&l) == -1)
			rc = 1;
		load_report(&l);
	}
	/* The kernel closes the streams; the relay sees them all go at once. */
	free(l.conns);
	free(l.samples);
	if (l.ep != -1)
		close(l.ep);
	return rc;
}
