/*
 * pause.c: the kitchen's breaks. A plan says how long someone works
 * (every_ms) before a break of for_ms, which with a chance of over_pct in
 * 100 runs long, over_factor_pct % of for_ms: the baker's naps and
 * oversleeping, the cook's lunch, and with no every_ms the cook's
 * cigarette and oversmoking. Pure: the caller keeps the clock and the RNG.
 */
#include "config.h"

#include "kitchen.h"

/* A plan in real milliseconds, stored scaled by scale_pct. */
void
pause_plan_init(struct pause_plan *p, int64_t every_ms, int64_t for_ms,
    int over_pct, int over_factor_pct, int scale_pct)
{
	p->every_ms = clock_scale(every_ms, scale_pct);
	p->for_ms = clock_scale(for_ms, scale_pct);
	p->over_pct = over_pct;
	p->over_factor_pct = over_factor_pct;
}

/*
 * The length of one break; *over says whether it ran long. Draws exactly
 * one number from rng, so a seed fixes every break that follows.
 */
int64_t
pause_length(const struct pause_plan *p, struct clock_rng *rng, int *over)
{
	*over = clock_rng_chance(rng, p->over_pct);
	return *over ? p->for_ms * p->over_factor_pct / 100 : p->for_ms;
}

/*
 * The break after work resumed at woke_at, into *b. Returns 0 when the
 * plan has no breaks (every_ms or for_ms 0); *b is then untouched.
 */
int
pause_next(const struct pause_plan *p, struct clock_rng *rng, int64_t woke_at,
    struct pause *b)
{
	int64_t len;
	int over;

	if (p->every_ms <= 0 || p->for_ms <= 0)
		return 0;
	len = pause_length(p, rng, &over);
	b->start = woke_at + p->every_ms;
	b->end = b->start + len;
	b->over = over;
	return 1;
}

/* 1 while now falls within break b. */
int
pause_within(const struct pause *b, int64_t now)
{
	return now >= b->start && now < b->end;
}
