/*
 * maestro-break.c: the cook is human. After each order he smokes a
 * cigarette (maestro.smoke_ms; with a chance of oversmoke_pct in 100 it
 * lasts oversmoke_factor_pct %, and it really does: the original drew the
 * chance and then forgot it). Every lunch_every_s of work he has lunch
 * for lunch_for_s, between batches, so no order is fetched meanwhile.
 * Orders held in a batch wait through a cigarette, kept alive. Both
 * breaks end early on a stop signal, and set the state (maestro.c) that
 * kitchen.maestro.health reports, with the break's end.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "kitchen.h"

/* The break plans and the first lunch, drawn from seed. */
void
maestro_break_init(struct maestro *m, uint64_t seed)
{
	const struct bb_conf *c = m->conf;
	int pct = c->kitchen.time_scale_pct;

	clock_rng_seed(&m->break_rng, seed, CLOCK_STREAM_BREAK);
	pause_plan_init(&m->smoke_plan, 0, c->maestro.smoke_ms,
	    c->maestro.oversmoke_pct, c->maestro.oversmoke_factor_pct, pct);
	pause_plan_init(&m->lunch_plan,
	    (int64_t)c->maestro.lunch_every_s * 1000,
	    (int64_t)c->maestro.lunch_for_s * 1000, 0, 100, pct);
	m->lunches =
	    pause_next(&m->lunch_plan, &m->break_rng, ids_now_ms(), &m->lunch);
}

/* A break of ms, in state, logged; returns 1 if a stop cut it short. */
static int
maestro_break_take(
    struct maestro *m, enum maestro_state state, int64_t ms, int over)
{
	char until[IDS_TIME_LEN + 1];
	int64_t end = ids_now_ms() + ms;
	int stopped;

	ids_rfc3339_ms(until, end);
	maestro_state_set(m, state, end, NULL);
	log_info("state=%s ms=%lld until=%s long=%s", maestro_state_name(state),
	    (long long)ms, until, over ? "yes" : "no");
	stopped = maestro_order_wait(m, ms, 1);
	maestro_state_set(m, MAESTRO_WORKING, 0, NULL);
	log_info("state=working");
	return stopped;
}

/* The cigarette after an order. Returns 1 if a stop cut it short. */
int
maestro_break_smoke(struct maestro *m)
{
	int64_t ms;
	int over;

	ms = pause_length(&m->smoke_plan, &m->break_rng, &over);
	if (ms <= 0)
		return 0;
	return maestro_break_take(m, MAESTRO_SMOKING, ms, over);
}

/*
 * Lunch, if it is due; between batches only. The next lunch comes
 * lunch_every_s after this one ends. Returns 1 if a stop cut it short.
 */
int
maestro_break_lunch(struct maestro *m)
{
	int64_t now = ids_now_ms(), len;
	int stopped;

	if (!m->lunches || now < m->lunch.start)
		return 0;
	len = m->lunch.end - m->lunch.start; /* late lunch: still a full one */
	stopped = maestro_break_take(m, MAESTRO_LUNCH, len, 0);
	pause_next(&m->lunch_plan, &m->break_rng, ids_now_ms(), &m->lunch);
	return stopped;
}
