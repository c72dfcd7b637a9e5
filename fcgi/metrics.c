/*
 * metrics.c: what the pool has answered, for GET /metrics. A scrape
 * reaches one process of the pool, whichever the web server connects to,
 * so each process counts in a slot of fcgi.metrics_dir
 * (paddock-fcgi.<n>.metrics; src/slot.c says how), and the process that
 * answers adds up every slot there: the figures are the pool's, whoever
 * answers. Without a directory a process counts in memory and reports
 * itself alone.
 *
 * Only the loop's thread writes its slot; counters go on from a dead
 * process's, and gauges count from live processes only.
 */
#include "config.h"

#include <string.h>

#include "paddock.h"

#define METRICS_PREFIX "paddock-fcgi."

_Static_assert(sizeof(struct metrics) % 8 == 0,
    "every counter of struct metrics is an aligned 64-bit word");

/* Upper bounds of the order duration buckets, in microseconds. */
const uint64_t metrics_bounds_us[METRICS_BUCKETS - 1] = {1000, 2500, 5000,
    10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000};

static struct slot metrics_slot = {.fd = -1};
static struct metrics *metrics_self; /* in metrics_slot */

/*
 * Count in a slot of dir (made if missing), or in memory when dir is NULL
 * or empty. Once per process, before the loop runs. -1 with *cause
 * (allocated, or NULL) when the directory will not do; the caller may
 * then count in memory.
 */
int
metrics_open(const char *dir, char **cause)
{
	if (slot_open(&metrics_slot, dir, METRICS_PREFIX,
	        sizeof(struct metrics), METRICS_MAGIC, cause) == -1)
		return -1;
	if (metrics_slot.on_disk) /* said, not refused: it works */
		log_warnx(SLOT_ON_DISK, dir);
	metrics_self = metrics_slot.mem;
	metrics_gauges(0, 0, 0); /* a dead owner's are not ours */
	return 0;
}

/* The slot stays, with its counts; its lock goes, which frees it. */
void
metrics_close(void)
{
	if (metrics_self != NULL)
		metrics_gauges(0, 0, 0);
	slot_close(&metrics_slot);
	metrics_self = NULL;
}

/*
 * Count an answered request: its status, and for an order (order != 0)
 * that too and, if stored (200), its duration.
 */
void
metrics_request(int status, int order, int64_t dur_us)
{
	struct metrics *m = metrics_self;
	int b;

	if (m == NULL)
		return;
	if (status < METRICS_CODE_MIN || status > METRICS_CODE_MAX)
		status = 500; /* none is answered; counted, not dropped */
	slot_add(&m->requests[status - METRICS_CODE_MIN], 1);
	if (!order)
		return;
	slot_add(&m->orders[status - METRICS_CODE_MIN], 1);
	if (status != 200)
		return;
	if (dur_us < 0)
		dur_us = 0;
	for (b = 0; b < METRICS_BUCKETS - 1; b++) {
		if ((uint64_t)dur_us <= metrics_bounds_us[b])
			break;
	}
	slot_add(&m->order_bucket[b], 1);
	slot_add(&m->order_sum_us, (uint64_t)dur_us);
}

/* This process's gauges, as of now. */
void
metrics_gauges(uint64_t in_flight, uint64_t conns, int nats_connected)
{
	if (metrics_self == NULL)
		return;
	slot_set(&metrics_self->in_flight, in_flight);
	slot_set(&metrics_self->conns, conns);
	slot_set(&metrics_self->nats_connected, nats_connected ? 1 : 0);
}

/* Add m's counters (and, for a live process, its gauges) into sum. */
static void
metrics_add_up(const void *slot, int live, void *arg)
{
	const struct metrics *m = slot;
	struct metrics_sum *sum = arg;
	int i;

	for (i = 0; i < METRICS_CODES; i++) {
		sum->m.requests[i] += slot_get(&m->requests[i]);
		sum->m.orders[i] += slot_get(&m->orders[i]);
	}
	for (i = 0; i < METRICS_BUCKETS; i++)
		sum->m.order_bucket[i] += slot_get(&m->order_bucket[i]);
	sum->m.order_sum_us += slot_get(&m->order_sum_us);
	if (!live)
		return;
	sum->processes++;
	sum->m.in_flight += slot_get(&m->in_flight);
	sum->m.conns += slot_get(&m->conns);
	sum->m.nats_connected += slot_get(&m->nats_connected);
}

/*
 * The pool's figures: every slot of dir added up, or this process's own
 * when it counts in memory. -1 when the directory cannot be read.
 */
int
metrics_sum(const char *dir, struct metrics_sum *sum)
{
	memset(sum, 0, sizeof *sum);
	return slot_each(&metrics_slot, dir, METRICS_PREFIX, METRICS_MAGIC,
	    metrics_add_up, sum);
}
