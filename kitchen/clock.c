/*
 * clock.c: the kitchen's sense of time and chance. Every duration goes
 * through clock_scale() with kitchen.time_scale_pct, so a demo or a test
 * runs the day in seconds; every random choice comes from a splitmix64
 * generator seeded from kitchen.seed, so a run can be repeated. Pure: the
 * caller owns each struct clock_rng and serialises its use.
 */
#include "config.h"

#include <stdint.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "kitchen.h"

/*
 * Seed rng for one stream of seed. Each concern (dough, naps) draws from
 * its own stream, so the nap schedule does not depend on how many
 * requests came in between.
 */
void
clock_rng_seed(struct clock_rng *rng, uint64_t seed, enum clock_stream stream)
{
	rng->s = seed ^ ((uint64_t)stream * 0xd1b54a32d192ed03ULL);
}

/* splitmix64: tiny, fast, and good enough to simulate a baker. */
uint64_t
clock_rng_next(struct clock_rng *rng)
{
	uint64_t z = (rng->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]; the modulo bias is below 2^-40 for our ranges. */
int
clock_rng_range(struct clock_rng *rng, int lo, int hi)
{
	if (hi <= lo)
		return lo;
	return lo +
	       (int)(clock_rng_next(rng) % (uint64_t)((int64_t)hi - lo + 1));
}

/* 1 with a chance of pct in 100, else 0. */
int
clock_rng_chance(struct clock_rng *rng, int pct)
{
	return clock_rng_range(rng, 0, 99) < pct;
}

/* A seed for kitchen.seed = 0: from the kernel, or the time if it fails. */
uint64_t
clock_random_seed(void)
{
	struct timespec ts;
	uint64_t seed;

	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == sizeof seed &&
	    seed != 0)
		return seed;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)ts.tv_nsec ^
	       ((uint64_t)getpid() << 40);
}

/* ms at pct % speed of time, rounded to nearest; 1 ms at least if ms > 0. */
int64_t
clock_scale(int64_t ms, int pct)
{
	int64_t v;

	if (ms <= 0)
		return 0;
	v = (ms * pct + 50) / 100;
	return v > 0 ? v : 1;
}

/* base_ms times a random factor in [min_pct, max_pct] %, then scaled. */
int64_t
clock_jitter(struct clock_rng *rng, int64_t base_ms, int min_pct, int max_pct,
    int scale_pct)
{
	int factor = clock_rng_range(rng, min_pct, max_pct);

	return clock_scale(base_ms * factor / 100, scale_pct);
}

/*
 * The seed the kitchen runs with: kitchen.seed, or when that is 0 a random
 * one, logged so that a surprising run can be replayed with kitchen.seed.
 */
uint64_t
clock_kitchen_seed(const struct bb_conf *c)
{
	uint64_t seed;

	if (c->kitchen.seed != 0)
		return (uint64_t)c->kitchen.seed;
	seed = clock_random_seed();
	log_info("kitchen.seed is 0: using random seed %llu",
	    (unsigned long long)seed);
	return seed;
}
