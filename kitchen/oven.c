/*
 * oven.c: replies that must wait. A min-heap of {due, reply subject, body}
 * ordered by due time (then by arrival), and one thread that sleeps until
 * the earliest is due and hands it to the callback. Requests are thus
 * served at once however many are in the oven, and nats.c's delivery
 * thread never blocks. Due times are Unix ms (CLOCK_REALTIME, as
 * ids_now_ms() and pthread_cond_timedwait() count).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kitchen.h"

struct oven_item {
	int64_t due;
	uint64_t seq; /* equal due times leave in arrival order */
	char *reply;
	char *body;
};

struct oven {
	oven_cb cb;
	void *closure;
	pthread_t tid;
	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv;
	struct oven_item *heap;
	size_t n;
	size_t cap;
	uint64_t seq;
	int closing;
};

static int
oven_before(const struct oven_item *a, const struct oven_item *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void
oven_swap(struct oven *o, size_t i, size_t j)
{
	struct oven_item t = o->heap[i];

	o->heap[i] = o->heap[j];
	o->heap[j] = t;
}

static void
oven_sift_up(struct oven *o, size_t i)
{
	while (i > 0 && oven_before(&o->heap[i], &o->heap[(i - 1) / 2])) {
		oven_swap(o, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
oven_sift_down(struct oven *o, size_t i)
{
	size_t l, r, m;

	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < o->n && oven_before(&o->heap[l], &o->heap[m]))
			m = l;
		if (r < o->n && oven_before(&o->heap[r], &o->heap[m]))
			m = r;
		if (m == i)
			return;
		oven_swap(o, i, m);
		i = m;
	}
}

/* Remove and return the earliest item; the caller frees its strings. */
static struct oven_item
oven_pop(struct oven *o)
{
	struct oven_item top = o->heap[0];

	o->heap[0] = o->heap[--o->n];
	oven_sift_down(o, 0);
	return top;
}

static struct timespec
oven_abstime(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	return ts;
}

/*
 * The oven's thread: deliver each item when due. When closing, it goes
 * on until the oven is empty, so what was accepted is still answered.
 */
static void *
oven_run(void *arg)
{
	struct oven *o = arg;
	struct oven_item it;
	struct timespec ts;

	pthread_mutex_lock(&o->mu);
	for (;;) {
		if (o->n == 0) {
			if (o->closing)
				break;
			pthread_cond_wait(&o->cv, &o->mu);
			continue;
		}
		if (o->heap[0].due > ids_now_ms()) {
			ts = oven_abstime(o->heap[0].due);
			pthread_cond_timedwait(&o->cv, &o->mu, &ts);
			continue; /* an earlier item may have come in */
		}
		it = oven_pop(o);
		pthread_mutex_unlock(&o->mu);
		o->cb(o->closure, it.reply, it.body, strlen(it.body));
		free(it.reply);
		free(it.body);
		pthread_mutex_lock(&o->mu);
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

/*
 * Start an oven whose thread calls cb(closure, reply, body, len) for each
 * item when due. Returns 0, or -1 with an allocated *cause.
 */
int
oven_open(struct oven **out, oven_cb cb, void *closure, char **cause)
{
	struct oven *o;
	int error;

	*out = NULL;
	if ((o = calloc(1, sizeof *o)) == NULL) {
		*cause = strdup("out of memory");
		return -1;
	}
	o->cb = cb;
	o->closure = closure;
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cv, NULL);
	if ((error = pthread_create(&o->tid, NULL, oven_run, o)) != 0) {
		if (asprintf(cause, "oven thread: %s", strerror(error)) == -1)
			*cause = NULL;
		pthread_cond_destroy(&o->cv);
		pthread_mutex_destroy(&o->mu);
		free(o);
		return -1;
	}
	*out = o;
	return 0;
}

/* Make room for one more item; 0 or -1. Called with mu held. */
static int
oven_grow(struct oven *o)
{
	struct oven_item *nh;
	size_t cap;

	if (o->n < o->cap)
		return 0;
	cap = o->cap != 0 ? o->cap * 2 : 64;
	if ((nh = realloc(o->heap, cap * sizeof *nh)) == NULL)
		return -1;
	o->heap = nh;
	o->cap = cap;
	return 0;
}

/*
 * Deliver body on reply at Unix ms due. Both strings are copied. Any
 * thread may call it. BB_ENOMEM, or BB_EUNAVAIL once oven_close() began:
 * the caller answers at once instead.
 */
enum bb_status
oven_put(struct oven *o, int64_t due, const char *reply, const char *body)
{
	struct oven_item it = {due, 0, strdup(reply), strdup(body)};
	enum bb_status st = BB_OK;

	pthread_mutex_lock(&o->mu);
	if (o->closing)
		st = BB_EUNAVAIL;
	else if (it.reply == NULL || it.body == NULL || oven_grow(o) == -1)
		st = BB_ENOMEM;
	else {
		it.seq = o->seq++;
		o->heap[o->n] = it;
		oven_sift_up(o, o->n++);
		/* Only a new earliest item changes the thread's deadline. */
		if (o->heap[0].seq == it.seq)
			pthread_cond_signal(&o->cv);
	}
	pthread_mutex_unlock(&o->mu);
	if (st != BB_OK) {
		free(it.reply);
		free(it.body);
	}
	return st;
}

/* Items waiting. */
size_t
oven_count(struct oven *o)
{
	size_t n;

	pthread_mutex_lock(&o->mu);
	n = o->n;
	pthread_mutex_unlock(&o->mu);
	return n;
}

/*
 * Refuse new items, deliver every waiting one when due, and stop the
 * thread. Blocks until the last is delivered. oven_put() stays safe to
 * call (it answers BB_EUNAVAIL) until oven_free(). NULL is fine.
 */
void
oven_close(struct oven *o)
{
	if (o == NULL)
		return;
	pthread_mutex_lock(&o->mu);
	if (o->closing) {
		pthread_mutex_unlock(&o->mu);
		return;
	}
	o->closing = 1;
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
	pthread_join(o->tid, NULL);
}

/* Close if not done yet, then free. No thread may use o after. NULL ok. */
void
oven_free(struct oven *o)
{
	if (o == NULL)
		return;
	oven_close(o);
	free(o->heap);
	pthread_cond_destroy(&o->cv);
	pthread_mutex_destroy(&o->mu);
	free(o);
}
