/*
 * sse-pub.c: the publishing half of the sse-relay benchmark. It stores
 * COUNT orders in JetStream at RATE a second, each one JSON line carrying
 * "bench_ns", the CLOCK_REALTIME nanoseconds just before the publish, from
 * which sse-load measures publish-to-receive latency.
 *
 *   sse-pub -s NATS_URL -r RATE -n COUNT [-subject-prefix PREFIX]
 *
 * Subjects are PREFIX.waiting_to_cook.<n> (PREFIX "orders" by default; it
 * must fall within the stream's "orders.>"), n from 1 to COUNT. Each publish
 * waits for its PubAck (5 s at most), so a run lasts about COUNT / RATE
 * seconds plus the acks. One line goes to standard output at the end:
 *
 *   count=N acked=N stream=ORDERS first_seq=.. last_seq=.. ack_max_us=..
 *
 * Exit status: 0 every message acked, 1 failure (with a reason on stderr),
 * 2 usage.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#define PUB_ACK_WAIT_MS 5000

struct pub {
	const char *url;
	const char *prefix;
	unsigned rate;
	unsigned count;
	natsConnection *nc;
	jsCtx *js;
	uint64_t first_seq, last_seq, ack_max_us;
	char stream[64];
};

static int
usage(void)
{
	fprintf(stderr, "usage: sse-pub -s NATS_URL -r RATE -n COUNT "
	                "[-subject-prefix PREFIX]\n");
	return 2;
}

static uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

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

static int
pub_options(struct pub *p, int argc, char **argv)
{
	int i;

	p->prefix = "orders";
	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "-s") == 0)
			p->url = argv[i + 1];
		else if (strcmp(argv[i], "-r") == 0) {
			if (parse_uint(argv[i + 1], 1, 100000, &p->rate) == -1)
				return -1;
		} else if (strcmp(argv[i], "-n") == 0) {
			if (parse_uint(argv[i + 1], 1, 10000000, &p->count) ==
			    -1)
				return -1;
		} else if (strcmp(argv[i], "-subject-prefix") == 0 ||
		           strcmp(argv[i], "--subject-prefix") == 0)
			p->prefix = argv[i + 1];
		else
			return -1;
	}
	if (i != argc || p->url == NULL || p->rate == 0 || p->count == 0 ||
	    *p->prefix == '\0')
		return -1;
	return 0;
}

/*
 * Write order n's JSON line into buf; returns its length, or -1 if it does
 * not fit. bench_ns is taken here, as late as possible before the publish.
 */
static int
pub_payload(char *buf, size_t len, unsigned n)
{
	char when[32];
	struct timespec ts;
	struct tm tm;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(buf, len,
	    "{\"order_id\":\"bench-%u\",\"size\":\"large\",\"toppings\":[],"
	    "\"destination\":\"d\",\"username\":\"u\","
	    "\"ordered_at\":\"%s.%03ldZ\",\"status\":\"pending\","
	    "\"bench_ns\":%llu}",
	    n, when, ts.tv_nsec / 1000000,
	    (unsigned long long)ts.tv_sec * 1000000000u +
	        (unsigned long long)ts.tv_nsec);
	return r > 0 && (size_t)r < len ? r : -1;
}

/* Publish order n and wait for its PubAck; 0 on success. */
static int
pub_one(struct pub *p, unsigned n)
{
	char subj[256], data[512];
	jsPubOptions opts;
	jsPubAck *pa = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	uint64_t t0, us;
	int len;

	if (snprintf(subj, sizeof subj, "%s.waiting_to_cook.%u", p->prefix,
	        n) >= (int)sizeof subj ||
	    (len = pub_payload(data, sizeof data, n)) == -1) {
		fprintf(stderr, "sse-pub: subject prefix too long\n");
		return -1;
	}
	jsPubOptions_Init(&opts);
	opts.MaxWait = PUB_ACK_WAIT_MS;
	t0 = clock_ns(CLOCK_MONOTONIC);
	s = js_Publish(&pa, p->js, subj, data, len, &opts, &jerr);
	if (s != NATS_OK) {
		fprintf(stderr,
		    "sse-pub: publish %s: %s (JetStream error %d)\n", subj,
		    natsStatus_GetText(s), (int)jerr);
		return -1;
	}
	us = (clock_ns(CLOCK_MONOTONIC) - t0) / 1000;
	if (us > p->ack_max_us)
		p->ack_max_us = us;
	if (p->first_seq == 0)
		p->first_seq = pa->Sequence;
	p->last_seq = pa->Sequence;
	snprintf(p->stream, sizeof p->stream, "%s", pa->Stream);
	jsPubAck_Destroy(pa);
	return 0;
}

/* Publish on an absolute schedule: message i at start + i / rate. */
static unsigned
pub_run(struct pub *p)
{
	struct timespec at;
	uint64_t start = clock_ns(CLOCK_MONOTONIC), t;
	unsigned i;

	for (i = 0; i < p->count; i++) {
		t = start + (uint64_t)i * 1000000000u / p->rate;
		at.tv_sec = (time_t)(t / 1000000000u);
		at.tv_nsec = (long)(t % 1000000000u);
		while (clock_nanosleep(
		           CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
			;
		if (pub_one(p, i + 1) == -1)
			break;
	}
	return i;
}

int
main(int argc, char **argv)
{
	struct pub p;
	natsStatus s;
	unsigned acked = 0;

	memset(&p, 0, sizeof p);
	if (pub_options(&p, argc, argv) == -1)
		return usage();
	s = natsConnection_ConnectTo(&p.nc, p.url);
	if (s == NATS_OK)
		s = natsConnection_JetStream(&p.js, p.nc, NULL);
	if (s != NATS_OK)
		fprintf(
		    stderr, "sse-pub: %s: %s\n", p.url, natsStatus_GetText(s));
	else
		acked = pub_run(&p);
	if (s == NATS_OK)
		printf(
		    "count=%u acked=%u stream=%s first_seq=%llu last_seq=%llu "
		    "ack_max_us=%llu\n",
		    p.count, acked, p.stream[0] ? p.stream : "-",
		    (unsigned long long)p.first_seq,
		    (unsigned long long)p.last_seq,
		    (unsigned long long)p.ack_max_us);
	jsCtx_Destroy(p.js);
	natsConnection_Destroy(p.nc);
	nats_CloseAndWait(10000);
	return s == NATS_OK && acked == p.count ? 0 : 1;
}
