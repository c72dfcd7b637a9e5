/*
 * panettiere-nap.c: when the baker sleeps. He is awake for every_ms after
 * each nap (and after starting), then sleeps for_ms; with a chance of
 * oversleep_pct in 100 he oversleeps, and the nap lasts
 * oversleep_factor_pct % as long. Pure: the caller keeps the clock.
 */
#include "config.h"

#include "kitchen.h"

/* The schedule of c, in scaled milliseconds. */
void
panettiere_nap_plan(struct panettiere_nap_plan *p, const struct bb_conf *c)
{
	int pct = c->kitchen.time_scale_pct;

	p->every_ms =
	    clock_scale((int64_t)c->panettiere.sleep_every_s * 1000, pct);
	p->for_ms = clock_scale((int64_t)c->panettiere.sleep_for_s * 1000, pct);
	p->oversleep_pct = c->panettiere.oversleep_pct;
	p->oversleep_factor_pct = c->panettiere.oversleep_factor_pct;
}

/*
 * The nap after waking at woke_at, into *nap. Returns 0 when the plan
 * never sleeps (sleep_every_s or sleep_for_s 0); *nap is then untouched.
 * Draws one number from rng per nap, so a seed fixes the whole schedule.
 */
int
panettiere_nap_next(const struct panettiere_nap_plan *p, struct clock_rng *rng,
    int64_t woke_at, struct panettiere_nap *nap)
{
	int64_t len = p->for_ms;
	int over;

	if (p->every_ms <= 0 || p->for_ms <= 0)
		return 0;
	over = clock_rng_chance(rng, p->oversleep_pct);
	if (over)
		len = len * p->oversleep_factor_pct / 100;
	nap->start = woke_at + p->every_ms;
	nap->end = nap->start + len;
	nap->overslept = over;
	return 1;
}

/* 1 while now falls within nap. */
int
panettiere_nap_asleep(const struct panettiere_nap *nap, int64_t now)
{
	return now >= nap->start && now < nap->end;
}
