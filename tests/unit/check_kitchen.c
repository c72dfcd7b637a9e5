/*
 * check_kitchen.c: the kitchen's pure parts (kitchen/clock.c,
 * kitchen/pause.c, kitchen/panettiere-reply.c) and the oven's ordering
 * (kitchen/oven.c). A seed must repeat its choices, factors must stay in
 * range, breaks (naps, lunch, cigarettes) follow their plan and really run
 * long as often as configured, and time scales.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kitchen.h"
#include "unit.h"

#define NDRAWS 100000

/* A configuration with the shipped panettiere defaults. */
static struct bb_conf
kconf(int scale_pct)
{
	struct bb_conf c;

	memset(&c, 0, sizeof c);
	c.kitchen.time_scale_pct = scale_pct;
	c.kitchen.seed = 42;
	c.panettiere.dough_ms = 2000;
	c.panettiere.factor_min_pct = 50;
	c.panettiere.factor_max_pct = 200;
	c.panettiere.sleep_every_s = 60;
	c.panettiere.sleep_for_s = 10;
	c.panettiere.oversleep_pct = 30;
	c.panettiere.oversleep_factor_pct = 200;
	return c;
}

START_TEST(test_rng_same_seed_same_draws)
{
	struct clock_rng a, b;
	int i;

	clock_rng_seed(&a, 1234, CLOCK_STREAM_DOUGH);
	clock_rng_seed(&b, 1234, CLOCK_STREAM_DOUGH);
	for (i = 0; i < 1000; i++)
		ck_assert_uint_eq(clock_rng_next(&a), clock_rng_next(&b));
}
END_TEST

START_TEST(test_rng_streams_and_seeds_differ)
{
	struct clock_rng a, b, c;

	clock_rng_seed(&a, 1234, CLOCK_STREAM_DOUGH);
	clock_rng_seed(&b, 1234, CLOCK_STREAM_NAP);
	clock_rng_seed(&c, 1235, CLOCK_STREAM_DOUGH);
	ck_assert_uint_ne(clock_rng_next(&a), clock_rng_next(&b));
	clock_rng_seed(&a, 1234, CLOCK_STREAM_DOUGH);
	ck_assert_uint_ne(clock_rng_next(&a), clock_rng_next(&c));
}
END_TEST

/* {lo, hi}: every draw within, both ends reached. */
static const int ranges[][2] = {{50, 200}, {0, 99}, {7, 7}, {100, 101}};
#define NRANGES (int)(sizeof ranges / sizeof ranges[0])

START_TEST(test_range_within_bounds_and_reaches_both)
{
	struct clock_rng r;
	int i, v, lo = ranges[_i][0], hi = ranges[_i][1], seen_lo = 0,
	          seen_hi = 0;

	clock_rng_seed(&r, 7, CLOCK_STREAM_DOUGH);
	for (i = 0; i < NDRAWS; i++) {
		v = clock_rng_range(&r, lo, hi);
		ck_assert_int_ge(v, lo);
		ck_assert_int_le(v, hi);
		seen_lo |= v == lo;
		seen_hi |= v == hi;
	}
	ck_assert(seen_lo && seen_hi);
}
END_TEST

START_TEST(test_chance_near_its_percentage)
{
	struct clock_rng r;
	int i, hits = 0;

	clock_rng_seed(&r, 99, CLOCK_STREAM_NAP);
	for (i = 0; i < NDRAWS; i++)
		hits += clock_rng_chance(&r, 30);
	ck_assert_int_gt(hits, NDRAWS * 29 / 100);
	ck_assert_int_lt(hits, NDRAWS * 31 / 100);
	for (i = 0; i < 1000; i++) {
		ck_assert_int_eq(clock_rng_chance(&r, 0), 0);
		ck_assert_int_eq(clock_rng_chance(&r, 100), 1);
	}
}
END_TEST

/* {ms, pct, expected} */
static const int64_t scales[][3] = {
    {2000, 100, 2000}, {2000, 10, 200}, {60000, 1, 600}, {10000, 250, 25000},
    {1, 1, 1},              /* never rounds a real wait to zero */
    {0, 50, 0}, {3, 50, 2}, /* rounds to nearest */
};
#define NSCALES (int)(sizeof scales / sizeof scales[0])

START_TEST(test_scale_table)
{
	ck_assert_int_eq(
	    clock_scale(scales[_i][0], (int)scales[_i][1]), scales[_i][2]);
}
END_TEST

START_TEST(test_jitter_in_scaled_factor_range)
{
	struct clock_rng r;
	int64_t d, min = 1000000, max = 0;
	int i;

	clock_rng_seed(&r, 5, CLOCK_STREAM_DOUGH);
	for (i = 0; i < NDRAWS; i++) {
		d = clock_jitter(&r, 2000, 50, 200, 10);
		min = d < min ? d : min;
		max = d > max ? d : max;
	}
	ck_assert_int_eq(min, 100); /* 2000 ms x 0.5 x 10 % */
	ck_assert_int_eq(max, 400); /* 2000 ms x 2 x 10 % */
}
END_TEST

/* The baker's nap plan, as panettiere-serve.c builds it. */
static void
nap_plan(struct pause_plan *p, const struct bb_conf *c)
{
	pause_plan_init(p, (int64_t)c->panettiere.sleep_every_s * 1000,
	    (int64_t)c->panettiere.sleep_for_s * 1000,
	    c->panettiere.oversleep_pct, c->panettiere.oversleep_factor_pct,
	    c->kitchen.time_scale_pct);
}

START_TEST(test_nap_plan_scales)
{
	struct bb_conf c = kconf(10);
	struct pause_plan p;

	nap_plan(&p, &c);
	ck_assert_int_eq(p.every_ms, 6000);
	ck_assert_int_eq(p.for_ms, 1000);
	ck_assert_int_eq(p.over_pct, 30);
	ck_assert_int_eq(p.over_factor_pct, 200);
}
END_TEST

START_TEST(test_nap_schedule_follows_plan)
{
	struct bb_conf c = kconf(100);
	struct pause_plan p;
	struct pause n;
	struct clock_rng r;
	int64_t woke = 1000000;
	int i, over = 0;

	nap_plan(&p, &c);
	clock_rng_seed(&r, 42, CLOCK_STREAM_NAP);
	for (i = 0; i < 10000; i++) {
		ck_assert(pause_next(&p, &r, woke, &n));
		ck_assert_int_eq(n.start, woke + 60000);
		ck_assert_int_eq(n.end - n.start, n.over ? 20000 : 10000);
		ck_assert(!pause_within(&n, n.start - 1));
		ck_assert(pause_within(&n, n.start));
		ck_assert(pause_within(&n, n.end - 1));
		ck_assert(!pause_within(&n, n.end));
		over += n.over;
		woke = n.end;
	}
	ck_assert_int_gt(over, 2700); /* about 30 % */
	ck_assert_int_lt(over, 3300);
}
END_TEST

/* The first naps of seed 42, so a demo can be predicted and replayed. */
START_TEST(test_nap_seed_repeats)
{
	struct bb_conf c = kconf(100);
	struct pause_plan p;
	struct pause a, b;
	struct clock_rng ra, rb;
	int i;

	nap_plan(&p, &c);
	clock_rng_seed(&ra, 42, CLOCK_STREAM_NAP);
	clock_rng_seed(&rb, 42, CLOCK_STREAM_NAP);
	a.end = b.end = 0;
	for (i = 0; i < 100; i++) {
		pause_next(&p, &ra, a.end, &a);
		pause_next(&p, &rb, b.end, &b);
		ck_assert_int_eq(a.start, b.start);
		ck_assert_int_eq(a.end, b.end);
		ck_assert_int_eq(a.over, b.over);
	}
}
END_TEST

START_TEST(test_nap_disabled)
{
	struct bb_conf c = kconf(100);
	struct pause_plan p;
	struct pause n = {1, 2, 0};
	struct clock_rng r;

	clock_rng_seed(&r, 1, CLOCK_STREAM_NAP);
	c.panettiere.sleep_every_s = 0;
	nap_plan(&p, &c);
	ck_assert_int_eq(pause_next(&p, &r, 0, &n), 0);
	ck_assert_int_eq(n.start, 1); /* untouched */
	c = kconf(100);
	c.panettiere.sleep_for_s = 0;
	nap_plan(&p, &c);
	ck_assert_int_eq(pause_next(&p, &r, 0, &n), 0);
}
END_TEST

/*
 * The cook's cigarette: 1 s, and with a 10 % chance 1.5 s; oversmoking
 * must really happen (the original never did), about as often as set.
 */
START_TEST(test_cigarette_oversmokes)
{
	struct pause_plan p;
	struct clock_rng r;
	int64_t len;
	int i, over, n = 0;

	pause_plan_init(&p, 0, 1000, 10, 150, 100);
	clock_rng_seed(&r, 42, CLOCK_STREAM_BREAK);
	for (i = 0; i < NDRAWS; i++) {
		len = pause_length(&p, &r, &over);
		ck_assert_int_eq(len, over ? 1500 : 1000);
		n += over;
	}
	ck_assert_int_gt(n, NDRAWS / 10 - NDRAWS / 100);
	ck_assert_int_lt(n, NDRAWS / 10 + NDRAWS / 100);
	pause_plan_init(&p, 0, 1000, 100, 150, 10); /* always, at 10 % time */
	ck_assert_int_eq(pause_length(&p, &r, &over), 150);
	ck_assert_int_eq(over, 1);
	pause_plan_init(&p, 0, 1000, 0, 150, 100);
	ck_assert_int_eq(pause_length(&p, &r, &over), 1000);
	ck_assert_int_eq(over, 0);
}
END_TEST

/* The cook's lunch: every 60 s for 10 s, never long; scaled. */
START_TEST(test_lunch_schedule)
{
	struct pause_plan p;
	struct pause l;
	struct clock_rng r;

	pause_plan_init(&p, 60000, 10000, 0, 100, 10);
	clock_rng_seed(&r, 42, CLOCK_STREAM_BREAK);
	ck_assert(pause_next(&p, &r, 5000, &l));
	ck_assert_int_eq(l.start, 11000);
	ck_assert_int_eq(l.end, 12000);
	ck_assert_int_eq(l.over, 0);
	ck_assert(pause_within(&l, 11500));
	pause_plan_init(&p, 0, 10000, 0, 100, 10); /* lunch_every_s 0: none */
	ck_assert_int_eq(pause_next(&p, &r, 5000, &l), 0);
}
END_TEST

START_TEST(test_reply_bodies)
{
	char b[PANETTIERE_REPLY_MAX];

	ck_assert_int_gt(panettiere_reply_dough(b, sizeof b, 1234), 0);
	ck_assert_str_eq(b, "{\"dough\":\"ready\",\"took_ms\":1234}");
	ck_assert_int_gt(
	    panettiere_reply_asleep(b, sizeof b, 1763896803123LL), 0);
	ck_assert_str_eq(
	    b, "{\"error\":\"asleep\",\"until\":\"2025-11-23T11:20:03.123Z\"}");
	panettiere_reply_health(b, sizeof b, 1, 1763896803123LL, 0);
	ck_assert_str_eq(b, "{\"state\":\"asleep\",\"until\":"
	                    "\"2025-11-23T11:20:03.123Z\",\"baking\":0}");
	panettiere_reply_health(b, sizeof b, 0, -1, 3);
	ck_assert_str_eq(
	    b, "{\"state\":\"awake\",\"until\":null,\"baking\":3}");
	panettiere_reply_busy(b, sizeof b, 10000);
	ck_assert_str_eq(b, "{\"error\":\"busy\",\"baking\":10000}");
	ck_assert_int_eq(panettiere_reply_dough(b, 8, 1), -1);
}
END_TEST

/* What the oven delivered, in order. */
struct delivered {
	pthread_mutex_t mu;
	char order[16];
	int n;
};

static void
record(void *arg, const char *reply, const char *body, size_t len)
{
	struct delivered *d = arg;

	pthread_mutex_lock(&d->mu);
	if (d->n < (int)sizeof d->order - 1)
		d->order[d->n++] = body[0];
	pthread_mutex_unlock(&d->mu);
}

START_TEST(test_oven_delivers_by_due_time_and_drains)
{
	struct delivered d = {PTHREAD_MUTEX_INITIALIZER, "", 0};
	struct oven *o;
	char *cause = NULL;
	int64_t now = ids_now_ms(), t0;

	/*
	 * "0", put last, is already due and must come first: the others are
	 * due far enough ahead that the puts cannot outlast them, even under
	 * valgrind on a loaded machine (40 ms once did: "a0bBc").
	 */
	ck_assert_int_eq(oven_open(&o, record, &d, &cause), 0);
	ck_assert_int_eq(oven_put(o, now + 600, "r", "c"), BB_OK);
	ck_assert_int_eq(oven_put(o, now + 200, "r", "a"), BB_OK);
	ck_assert_int_eq(oven_put(o, now + 400, "r", "b"), BB_OK);
	ck_assert_int_eq(oven_put(o, now + 400, "r", "B"), BB_OK);
	ck_assert_int_eq(oven_put(o, now - 5, "r", "0"), BB_OK);
	t0 = ids_now_ms();
	oven_close(o); /* waits for all, each at its time */
	ck_assert_int_ge(ids_now_ms(), now + 600);
	ck_assert_int_lt(ids_now_ms() - t0, 5000); /* no hang */
	ck_assert_int_eq(oven_put(o, now, "r", "x"), BB_EUNAVAIL);
	oven_free(o);
	d.order[d.n] = '\0';
	ck_assert_str_eq(d.order, "0abBc");
}
END_TEST

static Suite *
kitchen_suite(void)
{
	Suite *s = suite_create("kitchen");
	TCase *tc;

	tc = tcase_create("clock");
	tcase_add_test(tc, test_rng_same_seed_same_draws);
	tcase_add_test(tc, test_rng_streams_and_seeds_differ);
	tcase_add_loop_test(
	    tc, test_range_within_bounds_and_reaches_both, 0, NRANGES);
	tcase_add_test(tc, test_chance_near_its_percentage);
	tcase_add_loop_test(tc, test_scale_table, 0, NSCALES);
	tcase_add_test(tc, test_jitter_in_scaled_factor_range);
	suite_add_tcase(s, tc);

	tc = tcase_create("nap");
	tcase_add_test(tc, test_nap_plan_scales);
	tcase_add_test(tc, test_nap_schedule_follows_plan);
	tcase_add_test(tc, test_nap_seed_repeats);
	tcase_add_test(tc, test_nap_disabled);
	tcase_add_test(tc, test_cigarette_oversmokes);
	tcase_add_test(tc, test_lunch_schedule);
	suite_add_tcase(s, tc);

	tc = tcase_create("reply");
	tcase_add_test(tc, test_reply_bodies);
	suite_add_tcase(s, tc);

	tc = tcase_create("oven");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_oven_delivers_by_due_time_and_drains);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(kitchen_suite());
}
