/*
 * panettiere-serve.c: the baker at work. Two subjects in the queue group
 * "panettiere": dough, answered after a random, scaled delay through the
 * oven (or at once with an error while he sleeps or when the oven holds
 * panettiere.max_baking already), and health, answered at once. The main thread
 * calls panettiere_serve_tick() at each state change to move the nap schedule
 * on and log it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kitchen.h"

static const char panettiere_serve_busy[] = "{\"error\":\"unavailable\"}";

/* The oven's callback: a reply is due. Runs on the oven's thread. */
static void
panettiere_serve_deliver(
    void *arg, const char *reply, const char *body, size_t len)
{
	struct panettiere *p = arg;

	if (bus_reply(p->bus, reply, body, len) != BB_OK)
		log_warnx("%s: reply lost: not connected to NATS", __func__);
}

/* Answer now; from a nats.c thread. */
static void
panettiere_serve_answer(
    struct panettiere *p, const char *reply, const char *body, int len)
{
	if (len < 0)
		body = panettiere_serve_busy,
		len = sizeof panettiere_serve_busy - 1;
	panettiere_serve_deliver(p, reply, body, (size_t)len);
}

/*
 * kitchen.panettiere.dough: the delay is drawn now and the reply goes in
 * the oven, so this returns at once and many requests bake together.
 */
static void
panettiere_serve_dough(
    void *arg, const char *reply, const char *data, size_t len)
{
	struct panettiere *p = arg;
	const struct bb_conf *c = p->conf;
	char body[PANETTIERE_REPLY_MAX];
	int64_t now, delay = 0, until = 0;
	size_t baking;
	int asleep, n;

	if (reply == NULL)
		return; /* a publish, not a request: nobody to give dough to */
	pthread_mutex_lock(&p->mu);
	now = ids_now_ms();
	if ((asleep = p->naps && pause_within(&p->nap, now)))
		until = p->nap.end;
	else
		delay = clock_jitter(&p->dough_rng, c->panettiere.dough_ms,
		    c->panettiere.factor_min_pct, c->panettiere.factor_max_pct,
		    c->kitchen.time_scale_pct);
	pthread_mutex_unlock(&p->mu);
	if (asleep) {
		n = panettiere_reply_asleep(body, sizeof body, until);
		panettiere_serve_answer(p, reply, body, n);
		return;
	}
	/* Requests come one at a time on this subscription's thread. */
	if ((baking = oven_count(p->oven)) >=
	    (size_t)c->panettiere.max_baking) {
		if (!p->full_logged)
			log_warnx(
			    "oven full: %zu baking; refusing dough", baking);
		p->full_logged = 1;
		n = panettiere_reply_busy(body, sizeof body, baking);
		panettiere_serve_answer(p, reply, body, n);
		return;
	}
	p->full_logged = 0;
	n = panettiere_reply_dough(body, sizeof body, delay);
	if (n < 0 || oven_put(p->oven, now + delay, reply, body) != BB_OK) {
		log_warnx("%s: cannot take the order: out of memory or "
		          "stopping",
		    __func__);
		panettiere_serve_answer(p, reply, panettiere_serve_busy, -1);
		return;
	}
	log_debug("%s: dough due in %lld ms", __func__, (long long)delay);
}

/* kitchen.panettiere.health: awake or asleep, and until when. */
static void
panettiere_serve_health(
    void *arg, const char *reply, const char *data, size_t len)
{
	struct panettiere *p = arg;
	char body[PANETTIERE_REPLY_MAX];
	int64_t now, until = -1;
	int asleep = 0;

	if (reply == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	now = ids_now_ms();
	if (p->naps) {
		asleep = pause_within(&p->nap, now);
		until = asleep || now >= p->nap.end ? p->nap.end : p->nap.start;
	}
	pthread_mutex_unlock(&p->mu);
	panettiere_serve_answer(p, reply, body,
	    panettiere_reply_health(
	        body, sizeof body, asleep, until, oven_count(p->oven)));
}

/* The structured line for a state change. Called with mu held. */
static void
panettiere_serve_log_state(struct panettiere *p, int asleep)
{
	char t[IDS_TIME_LEN + 1];

	ids_rfc3339_ms(t, asleep ? p->nap.end : p->nap.start);
	log_info("state=%s until=%s overslept=%s", asleep ? "asleep" : "awake",
	    t, asleep && p->nap.over ? "yes" : "no");
}

/*
 * Set p up for conf (which must outlive p) and bus, with seed for every
 * random choice, and light the oven. Returns 0, or -1 with an allocated
 * *cause. The baker starts awake.
 */
int
panettiere_serve_init(struct panettiere *p, const struct bb_conf *conf,
    struct bus *bus, uint64_t seed, char **cause)
{
	memset(p, 0, sizeof *p);
	p->conf = conf;
	p->bus = bus;
	if (oven_open(&p->oven, panettiere_serve_deliver, p, cause) == -1)
		return -1;
	pthread_mutex_init(&p->mu, NULL);
	clock_rng_seed(&p->dough_rng, seed, CLOCK_STREAM_DOUGH);
	clock_rng_seed(&p->nap_rng, seed, CLOCK_STREAM_NAP);
	pause_plan_init(&p->plan,
	    (int64_t)conf->panettiere.sleep_every_s * 1000,
	    (int64_t)conf->panettiere.sleep_for_s * 1000,
	    conf->panettiere.oversleep_pct,
	    conf->panettiere.oversleep_factor_pct,
	    conf->kitchen.time_scale_pct);
	p->naps = pause_next(&p->plan, &p->nap_rng, ids_now_ms(), &p->nap);
	if (p->naps)
		panettiere_serve_log_state(p, 0);
	else
		log_info("state=awake until=never");
	return 0;
}

/* Subscribe to both subjects. Returns 0, or -1 with an allocated *cause. */
int
panettiere_serve_start(struct panettiere *p, char **cause)
{
	struct bb_err e;

	bb_err_clear(&e);
	if (bus_serve(p->bus, PANETTIERE_DOUGH, PANETTIERE_QUEUE,
	        panettiere_serve_dough, p, &p->dough_sub, &e) != BB_OK ||
	    bus_serve(p->bus, PANETTIERE_HEALTH, PANETTIERE_QUEUE,
	        panettiere_serve_health, p, &p->health_sub, &e) != BB_OK) {
		*cause = strdup(e.message); /* NULL is "out of memory" */
		return -1;
	}
	return 0;
}

/*
 * Move the schedule on to now, logging each change, and return the Unix
 * ms of the next change, or -1 if none is planned. Main thread only.
 */
int64_t
panettiere_serve_tick(struct panettiere *p)
{
	int64_t now, next = -1;

	pthread_mutex_lock(&p->mu);
	now = ids_now_ms();
	if (p->naps && now >= p->nap.end) {
		/* Late by a whole cycle (a stopped process)? Catch up. */
		while (now >= p->nap.end)
			pause_next(&p->plan, &p->nap_rng, p->nap.end, &p->nap);
		p->asleep_logged = 0;
		panettiere_serve_log_state(p, 0);
	}
	if (p->naps && !p->asleep_logged && pause_within(&p->nap, now)) {
		p->asleep_logged = 1;
		panettiere_serve_log_state(p, 1);
	}
	if (p->naps)
		next = now < p->nap.start ? p->nap.start : p->nap.end;
	pthread_mutex_unlock(&p->mu);
	return next;
}

/*
 * Stop taking requests, then bake what is in the oven and send it. A
 * request that slips in meanwhile is refused at once. Main thread only.
 */
void
panettiere_serve_stop(struct panettiere *p)
{
	size_t n = oven_count(p->oven);

	bus_unserve(p->dough_sub);
	bus_unserve(p->health_sub);
	p->dough_sub = p->health_sub = NULL;
	log_info(
	    "stopping: %zu dough%s still in the oven", n, n == 1 ? "" : "s");
	oven_close(p->oven);
	if (bus_flush(p->bus, 1000) != BB_OK)
		log_warnx(
		    "%s: the last replies may not have gone out", __func__);
}

/* Free p's resources. Call after bus_close(): no callback may be left. */
void
panettiere_serve_free(struct panettiere *p)
{
	oven_free(p->oven);
	p->oven = NULL;
	pthread_mutex_destroy(&p->mu);
}
