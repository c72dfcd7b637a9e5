/*
 * stats.c: the relay's counters and gauges, for GET /metrics. Several
 * relay processes may share one port (SO_REUSEPORT, past one process's
 * descriptor limit), and a scrape reaches one of them; so, as paddock-fcgi
 * does, each counts in a slot of relay.metrics_dir (sse-relay.<n>.metrics;
 * src/slot.c says how) and the one that answers adds them all up. Without
 * a directory the process counts in memory and reports itself alone.
 *
 * Counters are written as they happen; the gauges (streams, replays, the
 * last sequence, the feed's state) once a second and before a scrape.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "relay.h"

#define STATS_PREFIX "sse-relay."

_Static_assert(sizeof(struct relay_stats) % 8 == 0,
    "every counter of struct relay_stats is an aligned 64-bit word");

static struct slot stats_slot = {.fd = -1};

static void
stats_zero(struct relay_stats *s)
{
	slot_set(&s->clients, 0);
	slot_set(&s->replays, 0);
	slot_set(&s->last_seq, 0);
	slot_set(&s->nats_connected, 0);
}

/*
 * Count in a slot of relay.metrics_dir, or in memory when it is empty or
 * will not do (which is logged). Before anything counts.
 */
void
stats_open(void)
{
	const char *dir = relay.conf.relay.metrics_dir;
	char *cause = NULL;

	if (slot_open(&stats_slot, dir, STATS_PREFIX,
	        sizeof(struct relay_stats), RELAY_STATS_MAGIC, &cause) == -1) {
		log_warnx("%s; GET /metrics reports this process alone",
		    cause != NULL ? cause : "metrics: cannot start");
		free(cause);
		cause = NULL;
		if (slot_open(&stats_slot, NULL, STATS_PREFIX,
		        sizeof(struct relay_stats), RELAY_STATS_MAGIC,
		        &cause) == -1)
			fatalx("%s", cause != NULL ? cause : "metrics: mmap");
	}
	if (stats_slot.on_disk) /* said, not refused: it works */
		log_warnx(SLOT_ON_DISK, dir);
	relay.stats = stats_slot.mem;
	stats_zero(relay.stats); /* a dead owner's are not ours */
}

/* This process's gauges, as of now. */
void
stats_gauges(void)
{
	struct relay_stats *s = relay.stats;
	char why[128];

	if (s == NULL)
		return;
	slot_set(&s->clients, (uint64_t)relay.nclients);
	slot_set(&s->replays, (uint64_t)feed_active_replays());
	slot_set(&s->last_seq, feed_last_seq());
	slot_set(&s->nats_connected, feed_connected(why, sizeof why) ? 1 : 0);
}

/* Add a slot's counters (and, for a live process, its gauges) into sum. */
static void
stats_add_up(const void *slot, int live, void *arg)
{
	const struct relay_stats *s = slot;
	struct relay_sum *sum = arg;
	uint64_t seq;

	sum->s.clients_total += slot_get(&s->clients_total);
	sum->s.rejected_full += slot_get(&s->rejected_full);
	sum->s.events_received += slot_get(&s->events_received);
	sum->s.events_sent += slot_get(&s->events_sent);
	sum->s.bytes_sent += slot_get(&s->bytes_sent);
	sum->s.slow_disconnects += slot_get(&s->slow_disconnects);
	sum->s.resumes_ring += slot_get(&s->resumes_ring);
	sum->s.resumes_jetstream += slot_get(&s->resumes_jetstream);
	sum->s.resets += slot_get(&s->resets);
	sum->s.bad_requests += slot_get(&s->bad_requests);
	if (!live)
		return;
	sum->processes++;
	sum->s.clients += slot_get(&s->clients);
	sum->s.replays += slot_get(&s->replays);
	sum->s.nats_connected += slot_get(&s->nats_connected);
	if ((seq = slot_get(&s->last_seq)) > sum->s.last_seq)
		sum->s.last_seq = seq;
}

/*
 * Every relay process's figures added up, this one's gauges fresh; only
 * this process's when it counts in memory. -1 when the directory cannot
 * be read.
 */
int
stats_sum(struct relay_sum *sum)
{
	memset(sum, 0, sizeof *sum);
	stats_gauges();
	return slot_each(&stats_slot, relay.conf.relay.metrics_dir,
	    STATS_PREFIX, RELAY_STATS_MAGIC, stats_add_up, sum);
}

/* The slot stays, with its counts; its lock goes, which frees it. */
void
stats_close(void)
{
	if (relay.stats != NULL)
		stats_zero(relay.stats);
	slot_close(&stats_slot);
	relay.stats = NULL;
}
