/*
 * feed.c: where events come from. One JetStream ordered consumer per relay
 * process on the stream's subjects feeds every client; a ring keeps the
 * most recent events for resumes and replay_last; an older Last-Event-ID,
 * or since=, gets its own ordered consumer from that point, and switches
 * to the ring and the live feed once it reaches what the ring holds, with
 * no gap and no duplicate at the seam (clients drop any sequence they have
 * already sent).
 *
 * Threads: nats.c delivers on its own threads, which only build the frame
 * (blob_event) and queue it, then wake the loop through an eventfd. Every
 * blocking NATS call (subscribing, stream info) runs on the feed's worker
 * thread, so the loop never waits on NATS. Everything else here, the ring
 * included, belongs to the loop thread.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "relay.h"

enum item_kind {
	ITEM_LIVE,     /* a live event */
	ITEM_BACKFILL, /* the live feed starts; seq: last already stored */
	ITEM_REPLAY,   /* an event for one replaying client */
	ITEM_RESET,    /* replay: the id is older than the stream; seq: first */
	ITEM_CAUGHT_UP, /* replay: nothing pending; seq: delivered up to */
	ITEM_NOTHING,   /* replay: nothing pending, nothing sent; seq: where
	                   the consumer stands */
	ITEM_ERROR,     /* replay: could not start */
};

struct item {
	struct item *next;
	enum item_kind kind;
	uint64_t id; /* replays: the replay's; ITEM_BACKFILL: the first seq */
	uint64_t seq;
	struct blob *b;
};

enum req_kind { REQ_START, REQ_STOP };

struct req {
	struct req *next;
	enum req_kind kind;
	uint64_t id;
	uint64_t seq;
	int64_t ms;
};

struct replay {
	uint64_t id;
	struct bus_sub *sub;
};

static struct bus *feed_bus;

/* nats.c threads -> loop */
static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static struct item *q_head, *q_tail;
static struct watcher q_w = {.fd = -1};

/* loop -> worker */
static pthread_mutex_t r_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t r_cv = PTHREAD_COND_INITIALIZER;
static struct req *r_head, *r_tail;
static int r_stop;
static pthread_t r_thread;
static int r_started;

/* worker-owned */
static struct bus_sub *live_sub;
static struct replay *replays;
static int nreplays;

/* loop-owned */
static struct blob **ring;
static int ring_cap, ring_len, ring_start;
static uint64_t backfill_until;
static int ring_ready;
static uint64_t last_seq;
static int active_replays;
static atomic_int live_ok;

/* ---- the queue to the loop --------------------------------------------- */

static void
feed_push(enum item_kind kind, uint64_t id, uint64_t seq, struct blob *b)
{
	struct item *it;
	uint64_t one = 1;
	int wake;

	if ((it = calloc(1, sizeof *it)) == NULL) {
		blob_unref(b);
		return;
	}
	it->kind = kind;
	it->id = id;
	it->seq = seq;
	it->b = b;
	pthread_mutex_lock(&q_mu);
	wake = q_head == NULL;
	if (q_tail != NULL)
		q_tail->next = it;
	else
		q_head = it;
	q_tail = it;
	pthread_mutex_unlock(&q_mu);
	if (wake && write(q_w.fd, &one, sizeof one) == -1 && errno != EAGAIN)
		log_warn("%s: eventfd", __func__);
}

/* nats.c thread: a live event. */
static void
feed_on_live(void *closure, uint64_t seq, const char *data, size_t len)
{
	struct blob *b;

	if ((b = blob_event(seq, NULL, data, len)) != NULL)
		feed_push(ITEM_LIVE, 0, seq, b);
}

/* nats.c thread: an event of one replay; closure is the replay's id. */
static void
feed_on_replay(void *closure, uint64_t seq, const char *data, size_t len)
{
	struct blob *b;

	if ((b = blob_event(seq, NULL, data, len)) != NULL)
		feed_push(ITEM_REPLAY, (uint64_t)(uintptr_t)closure, seq, b);
}

/* ---- the ring (loop thread) -------------------------------------------- */

static void
ring_push(struct blob *b)
{
	int i;

	if (ring_len == ring_cap) {
		blob_unref(ring[ring_start]);
		ring[ring_start] = blob_ref(b);
		ring_start = (ring_start + 1) % ring_cap;
		return;
	}
	i = (ring_start + ring_len) % ring_cap;
	ring[i] = blob_ref(b);
	ring_len++;
}

static struct blob *
ring_at(int i)
{
	return ring[(ring_start + i) % ring_cap];
}

/* The index of the ring's first event after sequence after (ring_len if
 * none): its sequences only grow. */
static int
feed_ring_index(uint64_t after)
{
	int lo = 0, hi = ring_len, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ring_at(mid)->seq > after)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * Hand fn the ring's events after sequence after, in order, until fn
 * returns non-zero (fn NULL: only check). Returns 0 when every one was
 * handed (or there is none), 1 when fn stopped early, or -1 when the ring
 * does not reach back to after + 1 (or is not filled yet): then the caller
 * must replay from JetStream.
 */
int
feed_ring_from(
    uint64_t after, int (*fn)(struct client *, struct blob *), struct client *c)
{
	int i;

	if (!ring_ready)
		return -1;
	if (after >= last_seq)
		return 0;
	if (ring_len == 0 || ring_at(0)->seq > after + 1)
		return -1;
	for (i = feed_ring_index(after); fn != NULL && i < ring_len; i++) {
		if (fn(c, ring_at(i)) != 0)
			return i + 1 < ring_len ? 1 : 0;
	}
	return 0;
}

/*
 * Where the ring's last n events begin: *after is the sequence to hand
 * events after (feed_ring_from) to get them. -1 while the ring is still
 * being back-filled at start-up: it then holds older events, not the last
 * ones.
 */
int
feed_ring_last(int n, uint64_t *after)
{
	if (!ring_ready)
		return -1;
	if (ring_len == 0)
		*after = last_seq;
	else
		*after = ring_at(ring_len > n ? ring_len - n : 0)->seq - 1;
	return 0;
}

/* The highest stream sequence the relay knows of. */
uint64_t
feed_last_seq(void)
{
	return last_seq;
}

/* ---- the loop side ------------------------------------------------------- */

/* The ring holds the last events from now on: waiting replays go live. */
static void
feed_ring_ready(void)
{
	ring_ready = 1;
	client_ring_ready();
}

static void
feed_live(struct item *it)
{
	if (it->seq <= last_seq && ring_ready)
		return; /* a redelivery after a consumer reset */
	ring_push(it->b);
	if (it->seq > last_seq)
		last_seq = it->seq;
	if (!ring_ready && it->seq >= backfill_until)
		feed_ring_ready();
	if (it->seq <= backfill_until)
		return; /* stored before we started: for resumes only */
	slot_add(&relay.stats->events_received, 1);
	hub_fanout(it->b);
}

static void
feed_item(struct item *it)
{
	switch (it->kind) {
	case ITEM_LIVE:
		feed_live(it);
		break;
	case ITEM_BACKFILL:
		backfill_until = it->seq;
		if (it->seq > last_seq)
			last_seq = it->seq;
		/*
		 * Ready once the ring holds the stream's last event, or at
		 * once when the stream holds none: never used (0), or purged
		 * or expired to its end (first past last), where waiting for
		 * the back-fill would wait for the next order.
		 */
		if (!ring_ready &&
		    (it->seq == 0 || it->id > it->seq ||
		        (ring_len > 0 &&
		            ring_at(ring_len - 1)->seq >= it->seq)))
			feed_ring_ready();
		break;
	case ITEM_REPLAY:
		client_replay_event(it->id, it->b);
		break;
	case ITEM_RESET:
		client_replay_done(it->id, it->seq, NULL);
		break;
	case ITEM_CAUGHT_UP:
		client_replay_done(it->id, it->seq, "caught up");
		break;
	case ITEM_NOTHING:
		client_replay_nothing(it->id, it->seq);
		break;
	case ITEM_ERROR:
		client_replay_done(it->id, 0, "replay failed");
		break;
	}
}

/* The eventfd fired: process everything queued, in order. */
static void
feed_wake(struct watcher *w, uint32_t events)
{
	(void)events;
	feed_drain();
}

void
feed_drain(void)
{
	struct item *it, *next;
	uint64_t n;

	if (read(q_w.fd, &n, sizeof n) == -1 && errno != EAGAIN)
		log_warn("%s: eventfd", __func__);
	pthread_mutex_lock(&q_mu);
	it = q_head;
	q_head = q_tail = NULL;
	pthread_mutex_unlock(&q_mu);
	for (; it != NULL; it = next) {
		next = it->next;
		feed_item(it);
		blob_unref(it->b);
		free(it);
	}
}

/* ---- the worker thread: every blocking NATS call ------------------------ */

static void
feed_request(enum req_kind kind, uint64_t id, uint64_t seq, int64_t ms)
{
	struct req *r;

	if ((r = calloc(1, sizeof *r)) == NULL)
		return;
	r->kind = kind;
	r->id = id;
	r->seq = seq;
	r->ms = ms;
	pthread_mutex_lock(&r_mu);
	if (r_tail != NULL)
		r_tail->next = r;
	else
		r_head = r;
	r_tail = r;
	pthread_cond_signal(&r_cv);
	pthread_mutex_unlock(&r_mu);
}

/* Start the live feed: the ring is back-filled with the last events. */
static void
worker_live(void)
{
	uint64_t first = 0, last = 0, start;
	struct bb_err e;

	bb_err_clear(&e);
	if (bus_stream_seqs(feed_bus, &first, &last, &e) != BB_OK)
		return;
	start = last >= (uint64_t)ring_cap ? last - (uint64_t)ring_cap + 1 : 1;
	if (start < first)
		start = first;
	feed_push(ITEM_BACKFILL, first, last, NULL);
	if (bus_subscribe(feed_bus, relay.conf.stream.subjects,
	        start != 0 ? start : 1, 0, feed_on_live, NULL, &live_sub,
	        &e) != BB_OK) {
		log_warnx("live feed: %s", e.message);
		return;
	}
	atomic_store(&live_ok, 1);
	log_info("live feed on %s from sequence %llu",
	    relay.conf.stream.subjects, (unsigned long long)start);
}

static void
worker_start(struct req *r)
{
	uint64_t first = 0, last = 0, seq = r->seq, pending, delivered, sent;
	struct replay *rp = &replays[nreplays];
	struct bb_err e;

	bb_err_clear(&e);
	/*
	 * The loop counts replays against max_replays, but a STOP lost to a
	 * failed allocation (feed_request) leaves its replay here: never
	 * past the array.
	 */
	if (nreplays >= relay.conf.relay.max_replays) {
		bb_err_set(&e, "max_replays are running");
		goto fail;
	}
	if (seq != 0) {
		if (bus_stream_seqs(feed_bus, &first, &last, &e) != BB_OK)
			goto fail;
		/* Never written to: first is 0 (purged: last + 1). */
		if (first == 0)
			first = last + 1;
		/*
		 * Older than the stream keeps; or past its end as JetStream
		 * has it, not only as this relay does (a relay that lags
		 * behind another on the same port is no reason): an id from a
		 * stream since deleted and made again, or made up. Either way
		 * the client has none of what the stream holds.
		 */
		if (seq < first || seq > last + 1) {
			feed_push(ITEM_RESET, r->id, first, NULL);
			seq = first;
		}
		/*
		 * At the end (the client already has everything), subscribe
		 * all the same: JetStream starts the consumer at the next
		 * event, and a replay always has a consumer that goes on with
		 * the live events until the ring can take over.
		 */
	}
	if (bus_subscribe(feed_bus, relay.conf.stream.subjects, seq, r->ms,
	        feed_on_replay, (void *)(uintptr_t)r->id, &rp->sub,
	        &e) != BB_OK)
		goto fail;
	rp->id = r->id;
	nreplays++;
	/*
	 * On a stream still empty, delivered is 0, which the loop would take
	 * for a failure: say nothing, the consumer goes on with the live
	 * events. A consumer that has sent nothing and has nothing pending
	 * (a since= after the last event) stands past every stored event:
	 * the client can go live at once instead of holding a replay until
	 * the next order.
	 */
	if (bus_sub_pending(rp->sub, &pending, &delivered, &sent) == BB_OK &&
	    pending == 0 && delivered != 0)
		feed_push(sent == 0 ? ITEM_NOTHING : ITEM_CAUGHT_UP, r->id,
		    delivered, NULL);
	return;
fail:
	log_warnx("replay %llu: %s", (unsigned long long)r->id, e.message);
	feed_push(ITEM_ERROR, r->id, 0, NULL);
}

static void
worker_stop(uint64_t id)
{
	int i;

	for (i = 0; i < nreplays; i++) {
		if (replays[i].id != id)
			continue;
		bus_unsubscribe(replays[i].sub);
		replays[i] = replays[--nreplays];
		return;
	}
}

static void *
worker_main(void *arg)
{
	struct timespec dl;
	struct req *r;

	(void)arg;
	pthread_mutex_lock(&r_mu);
	while (!r_stop) {
		if ((r = r_head) != NULL) {
			if ((r_head = r->next) == NULL)
				r_tail = NULL;
			pthread_mutex_unlock(&r_mu);
			if (r->kind == REQ_START)
				worker_start(r);
			else
				worker_stop(r->id);
			free(r);
			pthread_mutex_lock(&r_mu);
			continue;
		}
		if (live_sub == NULL) {
			pthread_mutex_unlock(&r_mu);
			worker_live();
			pthread_mutex_lock(&r_mu);
		}
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 1;
		if (r_head == NULL && !r_stop)
			pthread_cond_timedwait(&r_cv, &r_mu, &dl);
	}
	pthread_mutex_unlock(&r_mu);
	return NULL;
}

/*
 * Replay stored events to client id from stream sequence seq (or from
 * Unix ms when seq is 0). -1 when max_replays are already running.
 */
int
feed_replay_start(uint64_t id, uint64_t seq, int64_t ms)
{
	if (active_replays >= relay.conf.relay.max_replays)
		return -1;
	active_replays++;
	feed_request(REQ_START, id, seq, ms);
	return 0;
}

void
feed_replay_stop(uint64_t id)
{
	active_replays--;
	feed_request(REQ_STOP, id, 0, 0);
}

/* ---- state and life cycle --------------------------------------------------
 */

/* 1 when NATS is connected and the live feed runs; why says more. */
int
feed_connected(char *why, size_t len)
{
	if (bus_state(feed_bus, why, len) != BUS_CONNECTED)
		return 0;
	if (!atomic_load(&live_ok)) {
		snprintf(why, len, "live feed not subscribed yet");
		return 0;
	}
	return 1;
}

int
feed_active_replays(void)
{
	return active_replays;
}

static void
feed_on_bus_event(const char *what)
{
	log_warnx("%s", what);
}

static int
feed_fail(char **cause, const char *why)
{
	*cause = strdup(why);
	return -1;
}

/*
 * Connect to NATS (in the background if it is down), and start the worker
 * that subscribes the live feed. 0, or -1 with an allocated *cause.
 */
int
feed_open(char **cause)
{
	ring_cap = relay.conf.relay.ring;
	if ((ring = calloc((size_t)ring_cap, sizeof *ring)) == NULL ||
	    (replays = calloc((size_t)relay.conf.relay.max_replays,
	         sizeof *replays)) == NULL)
		return feed_fail(cause, "out of memory");
	if ((q_w.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return feed_fail(cause, "eventfd failed");
	q_w.cb = feed_wake;
	loop_add(&q_w, EPOLLIN);
	if (bus_open(&feed_bus, &relay.conf, feed_on_bus_event, cause))
		return -1;
	if (pthread_create(&r_thread, NULL, worker_main, NULL) != 0)
		return feed_fail(cause, "cannot start the feed thread");
	r_started = 1;
	return 0;
}

/* Stop the worker, every subscription, NATS; free the ring and queue. */
void
feed_close(void)
{
	struct item *it;
	struct req *r;
	int i;

	if (r_started) {
		pthread_mutex_lock(&r_mu);
		r_stop = 1;
		pthread_cond_signal(&r_cv);
		pthread_mutex_unlock(&r_mu);
		pthread_join(r_thread, NULL);
	}
	while ((r = r_head) != NULL) {
		r_head = r->next;
		free(r);
	}
	for (i = 0; i < nreplays; i++)
		bus_unsubscribe(replays[i].sub);
	bus_unsubscribe(live_sub);
	bus_close(feed_bus); /* after this no nats.c thread runs */
	while ((it = q_head) != NULL) {
		q_head = it->next;
		blob_unref(it->b);
		free(it);
	}
	for (i = 0; i < ring_len; i++)
		blob_unref(ring_at(i));
	free(ring);
	free(replays);
	if (q_w.fd != -1)
		close(q_w.fd);
}
