/*
 * kitchen.h: the kitchen's services, panettiere and maestro.
 * Types and prototypes, one section per source file, as in boxbox.h.
 */
#ifndef KITCHEN_H
#define KITCHEN_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include "boxbox.h"

/* clock.c: scaled durations and a seeded RNG; pure, any thread. */
struct clock_rng {
	uint64_t s;
};

/* Independent streams drawn from one kitchen.seed. */
enum clock_stream {
	CLOCK_STREAM_DOUGH = 1,
	CLOCK_STREAM_NAP,
	CLOCK_STREAM_BAKE,
	CLOCK_STREAM_BREAK
};

void clock_rng_seed(struct clock_rng *, uint64_t, enum clock_stream);
uint64_t clock_rng_next(struct clock_rng *);
int clock_rng_range(struct clock_rng *, int, int);
int clock_rng_chance(struct clock_rng *, int);
uint64_t clock_random_seed(void);
uint64_t clock_kitchen_seed(const struct bb_conf *);
int64_t clock_scale(int64_t, int);
int64_t clock_jitter(struct clock_rng *, int64_t, int, int, int);

/* oven.c: replies held until their due time, then handed to a callback. */
struct oven;

/* Called on the oven's thread with a reply subject and a body. */
typedef void (*oven_cb)(void *, const char *, const char *, size_t);

int oven_open(struct oven **, oven_cb, void *, char **);
enum bb_status oven_put(struct oven *, int64_t, const char *, const char *);
size_t oven_count(struct oven *);
void oven_close(struct oven *);
void oven_free(struct oven *);

/* pause.c: breaks from work (naps, lunch, cigarettes); pure. */
struct pause_plan {
	int64_t every_ms; /* working this long after each break */
	int64_t for_ms;   /* then a break this long */
	int over_pct;     /* chance in 100 that a break runs long */
	int over_factor_pct;
};

/* One break: from start (inclusive) to end (exclusive), Unix ms. */
struct pause {
	int64_t start;
	int64_t end;
	int over;
};

void pause_plan_init(struct pause_plan *, int64_t, int64_t, int, int, int);
int64_t pause_length(const struct pause_plan *, struct clock_rng *, int *);
int pause_next(
    const struct pause_plan *, struct clock_rng *, int64_t, struct pause *);
int pause_within(const struct pause *, int64_t);

/* panettiere-reply.c: the JSON bodies; pure. */
#define PANETTIERE_REPLY_MAX 128

int panettiere_reply_dough(char *, size_t, int64_t);
int panettiere_reply_asleep(char *, size_t, int64_t);
int panettiere_reply_busy(char *, size_t, size_t);
int panettiere_reply_health(char *, size_t, int, int64_t, size_t);

/* panettiere-serve.c: the baker's state and its two subjects. */
#define PANETTIERE_DOUGH  "kitchen.panettiere.dough"
#define PANETTIERE_HEALTH "kitchen.panettiere.health"
#define PANETTIERE_QUEUE  "panettiere"

struct panettiere {
	const struct bb_conf *conf;
	struct bus *bus;
	struct oven *oven;
	struct bus_rpc *dough_sub;
	struct bus_rpc *health_sub;
	int full_logged; /* the dough callback's thread only */

	pthread_mutex_t mu; /* guards everything below */
	struct clock_rng dough_rng;
	struct clock_rng nap_rng;
	struct pause_plan plan;
	struct pause nap;
	int naps; /* 0: never sleeps; nap is unused */
	int asleep_logged;
};

int panettiere_serve_init(struct panettiere *, const struct bb_conf *,
    struct bus *, uint64_t, char **);
int panettiere_serve_start(struct panettiere *, char **);
int64_t panettiere_serve_tick(struct panettiere *);
void panettiere_serve_stop(struct panettiere *);
void panettiere_serve_free(struct panettiere *);

/* maestro: the cook. See maestro.c for the lifecycle of an order. */
#define MAESTRO_DURABLE      "maestro"
#define MAESTRO_HEALTH       "kitchen.maestro.health"
#define MAESTRO_QUEUE        "maestro"
#define MAESTRO_BATCH_MAX    256 /* maestro.batch's upper bound */
#define MAESTRO_BAKE_MIN_PCT 80  /* bake_ms times a factor in this range */
#define MAESTRO_BAKE_MAX_PCT 120

/* One fetched order, held until its last state is stored. */
struct maestro_held {
	struct bus_msg *msg; /* ours until ack, nak or term */
	const char *data;    /* valid while msg is held */
	size_t len;
};

/* What the cook is doing, as kitchen.maestro.health says. */
enum maestro_state { MAESTRO_WORKING, MAESTRO_SMOKING, MAESTRO_LUNCH };

struct maestro {
	const struct bb_conf *conf;
	struct bus *bus;
	struct bus_pull *pull;
	struct bus_rpc *health_sub;
	const sigset_t *stop_set; /* polled between orders and in breaks */
	int stopping;
	struct clock_rng bake_rng;
	struct clock_rng break_rng;
	struct pause_plan smoke_plan;
	struct pause_plan lunch_plan;
	struct pause lunch; /* the next lunch, if lunches */
	int lunches;
	struct maestro_held held[MAESTRO_BATCH_MAX];
	int nheld; /* held[cur..nheld) still to cook */
	int cur;

	pthread_mutex_t mu; /* guards the state, read by health's thread */
	enum maestro_state state;
	int64_t until;                /* a break's end, Unix ms */
	char order[IDS_UUID_LEN + 1]; /* the order cooking, or "" */
};

/* maestro.c: waiting for a stop signal; the state health reports. */
int maestro_stop_due(struct maestro *, int64_t);
const char *maestro_state_name(enum maestro_state);
void maestro_state_set(
    struct maestro *, enum maestro_state, int64_t, const char *);

/* maestro-break.c: the cigarette after each order, and lunch. */
void maestro_break_init(struct maestro *, uint64_t);
int maestro_break_smoke(struct maestro *);
int maestro_break_lunch(struct maestro *);

/* maestro-dough.c: ask the baker, with retries and backoff. */
int64_t maestro_dough_backoff(const struct bb_conf *, int);
int maestro_dough_get(struct maestro *, const char *, int *);

/* maestro-order.c: one order through its states. */
void maestro_order_keepalive(struct maestro *);
int maestro_order_cook(struct maestro *, struct maestro_held *);
int maestro_order_wait(struct maestro *, int64_t, int);

#endif
