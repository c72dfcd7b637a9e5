/*
 * maestro-dough.c: the cook asks the baker for dough on
 * kitchen.panettiere.dough, up to maestro.dough_attempts times. A timeout,
 * nobody serving the subject, or a reply with "error" (the baker sleeps)
 * is a failed attempt, followed by a pause of dough_backoff_ms doubled
 * after each failure, scaled by kitchen.time_scale_pct like every wait.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "kitchen.h"

/*
 * The pause after failed attempt number attempt (1-based): base, 2 base,
 * 4 base..., scaled. Pure.
 */
int64_t
maestro_dough_backoff(const struct bb_conf *c, int attempt)
{
	int64_t ms = c->maestro.dough_backoff_ms;
	int i;

	for (i = 1; i < attempt && ms < 3600000; i++)
		ms *= 2;
	return clock_scale(ms, c->kitchen.time_scale_pct);
}

/* 1 if the reply gives dough, 0 if it carries "error" or is not JSON. */
static int
maestro_dough_ok(const char *reply, size_t len)
{
	struct json_object *o, *err;
	int ok;

	if ((o = json_tokener_parse(reply)) == NULL)
		return 0;
	ok = json_object_is_type(o, json_type_object) &&
	     !json_object_object_get_ex(o, "error", &err);
	json_object_put(o);
	return ok;
}

/* One request; 1 with dough, else 0 and a logged reason. */
static int
maestro_dough_try(struct maestro *m, const char *id, int attempt)
{
	const struct bb_conf *c = m->conf;
	char req[64 + IDS_UUID_LEN], *reply = NULL;
	size_t rlen;
	enum bb_status st;
	int n, ok;

	n = snprintf(req, sizeof req, "{\"order_id\":\"%s\"}", id);
	st = bus_request(m->bus, PANETTIERE_DOUGH, req, (size_t)n,
	    (int)clock_scale(
	        c->maestro.dough_timeout_ms, c->kitchen.time_scale_pct),
	    &reply, &rlen);
	if (st != BB_OK) {
		log_warnx("order=%s dough attempt %d: %s", id, attempt,
		    bb_status_text(st));
		return 0;
	}
	/* log.c escapes the baker's bytes; %.100s bounds them. */
	if (!(ok = maestro_dough_ok(reply, rlen)))
		log_warnx(
		    "order=%s dough attempt %d: %.100s", id, attempt, reply);
	free(reply);
	return ok;
}

/*
 * Get dough for order id. Returns 0 once the baker gave it, or -1 after
 * dough_attempts failures; *attempts says how many were made. Keeps the
 * held messages alive between attempts. Blocks the calling thread.
 */
int
maestro_dough_get(struct maestro *m, const char *id, int *attempts)
{
	int i, max = m->conf->maestro.dough_attempts;

	for (i = 1; i <= max; i++) {
		maestro_order_keepalive(m);
		if (maestro_dough_try(m, id, i)) {
			*attempts = i;
			return 0;
		}
		if (i < max)
			maestro_order_wait(
			    m, maestro_dough_backoff(m->conf, i), 0);
	}
	*attempts = max;
	return -1;
}
