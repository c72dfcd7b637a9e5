/*
 * ready.c: is the order stream there? A thread of its own asks JetStream
 * once a second (bus_stream_ready(), which also creates the stream when it
 * is missing, after a restart of NATS for one) and keeps the answer for
 * GET /health/ready. Not the loop's thread: the question waits for a
 * reply, and only the loop reads the NATS socket.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "paddock.h"

#define READY_EVERY_MS 1000

struct ready {
	struct app *app;
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;            /* with mu */
	atomic_int finished; /* the thread is past its last request */
	enum bb_status status;
	struct bb_err err;
};

static void *
ready_main(void *arg)
{
	struct ready *r = arg;
	struct timespec ts;
	struct bb_err e;
	enum bb_status st;

	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		pthread_mutex_unlock(&r->mu);
		bb_err_clear(&e);
		st = bus_stream_ready(r->app->bus, &e);
		pthread_mutex_lock(&r->mu);
		r->status = st;
		r->err = e;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += READY_EVERY_MS % 1000 * 1000000L;
		ts.tv_sec += READY_EVERY_MS / 1000 + ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		while (!r->stop &&
		       pthread_cond_timedwait(&r->cv, &r->mu, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&r->mu);
	atomic_store(&r->finished, 1);
	loop_wake(r->app->loop); /* it may wait for this to exit */
	return NULL;
}

/* Start checking, into app->ready. Returns 0, or -1. */
int
ready_start(struct app *app)
{
	pthread_condattr_t ca;
	struct ready *r;

	if ((r = calloc(1, sizeof *r)) == NULL)
		return -1;
	r->app = app;
	r->status = BB_EUNAVAIL;
	bb_err_set(&r->err, "the stream has not been checked yet");
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&r->tid, NULL, ready_main, r) != 0) {
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		free(r);
		return -1;
	}
	app->ready = r;
	return 0;
}

/* Ask the thread to stop; the loop turns until ready_stopped(). */
void
ready_request_stop(struct ready *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

int
ready_stopped(struct ready *r)
{
	return r == NULL || atomic_load(&r->finished);
}

/* Stop (if not yet), join and free. NULL is fine. */
void
ready_free(struct ready *r)
{
	if (r == NULL)
		return;
	ready_request_stop(r);
	pthread_join(r->tid, NULL);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* The last answer: BB_OK, or why not in e. */
enum bb_status
ready_get(struct ready *r, struct bb_err *e)
{
	enum bb_status st;

	pthread_mutex_lock(&r->mu);
	st = r->status;
	if (st != BB_OK)
		*e = r->err;
	pthread_mutex_unlock(&r->mu);
	return st;
}
