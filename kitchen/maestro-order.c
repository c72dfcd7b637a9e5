/*
 * maestro-order.c: one order through the kitchen. The pending order from
 * orders.waiting_to_cook.<id> becomes in_progress, gets dough from the
 * baker, bakes, becomes waiting_delivery, is delivered and becomes
 * completed; or becomes failed, with a reason, when no dough came. Each
 * state is the whole order with a new "status" and "updated_at", stored
 * in JetStream with Nats-Msg-Id <id>.<state>, so that an order delivered
 * again (its cook died before the ack) never stores a state twice. The
 * JetStream message is acknowledged only after the last state is stored.
 * An order delivered again first looks in the stream for the states its
 * last cook stored: one that ended (completed or failed) is only
 * acknowledged, one waiting for delivery is only delivered. Without that,
 * an order whose cook died between storing "failed" and the ack could
 * come back, find dough and also end "completed", past the duplicate
 * window's help since the state names differ.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "kitchen.h"

#define MAESTRO_RETRY_MS 1000 /* redelivery delay when NATS fails us */

static void
maestro_sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * Tell JetStream that every order still held, the one cooking and those
 * waiting behind it in the batch, is being worked on, so that AckWait
 * does not hand them to another cook. An order already released (acked,
 * during the cigarette after it) has no message any more. Main thread.
 */
void
maestro_order_keepalive(struct maestro *m)
{
	int i;

	for (i = m->cur; i < m->nheld; i++)
		if (m->held[i].msg != NULL &&
		    bus_msg_progress(m->held[i].msg) != BB_OK)
			log_warnx(
			    "%s: cannot extend an order's ack wait", __func__);
}

/*
 * Wait ms, keeping the held orders alive: their AckWait is renewed before
 * each slice, first at once, since a dough request may just have used
 * most of one. With stoppable (a break, not an order in hand), a stop
 * signal ends the wait: returns 1, else 0. Main thread.
 */
int
maestro_order_wait(struct maestro *m, int64_t ms, int stoppable)
{
	int64_t slice = m->conf->maestro.ack_wait_ms / 3, end, d;

	end = ids_now_ms() + ms;
	while ((ms = end - ids_now_ms()) > 0) {
		maestro_order_keepalive(m);
		d = ms < slice ? ms : slice;
		if (!stoppable)
			maestro_sleep_ms(d);
		else if (maestro_stop_due(m, d))
			return 1;
	}
	return 0;
}

/* The pending order in data[0..len), or NULL if it is not a JSON object. */
static struct json_object *
maestro_order_parse(const char *data, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o;

	if ((tok = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, data, (int)len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	                     !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* Set a string member; json-c's add takes the new value, frees the old. */
static int
maestro_order_set(struct json_object *o, const char *key, const char *val)
{
	struct json_object *v;

	if ((v = json_object_new_string(val)) == NULL)
		return -1;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/*
 * Store order o, id, in state (with reason, if not NULL) and log the
 * change. Returns 0 once JetStream acknowledged it (or knew it already),
 * else -1, logged.
 */
static int
maestro_order_publish(struct maestro *m, struct json_object *o, const char *id,
    const char *state, const char *reason)
{
	char now[IDS_TIME_LEN + 1], subject[256], msg_id[IDS_UUID_LEN + 32];
	struct bb_err e;
	const char *text;
	size_t len;

	bb_err_clear(&e);
	ids_rfc3339_ms(now, ids_now_ms());
	if (maestro_order_set(o, "status", state) == -1 ||
	    maestro_order_set(o, "updated_at", now) == -1 ||
	    (reason != NULL && maestro_order_set(o, "reason", reason) == -1)) {
		log_warnx("order=%s state=%s: out of memory", id, state);
		return -1;
	}
	text =
	    json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	snprintf(subject, sizeof subject, "%s.%s.%s", m->conf->stream.prefix,
	    state, id);
	snprintf(msg_id, sizeof msg_id, "%s.%s", id, state);
	if (bus_publish(m->bus, subject, msg_id, text, len, &e) != BB_OK) {
		log_warnx(
		    "order=%s state=%s: not stored: %s", id, state, e.message);
		return -1;
	}
	if (reason != NULL)
		log_info("order=%s state=%s reason=\"%s\"", id, state, reason);
	else
		log_info("order=%s state=%s", id, state);
	return 0;
}

/* Deliver order o and store it completed; 0, or -1 if not stored. */
static int
maestro_order_deliver(struct maestro *m, struct json_object *o, const char *id)
{
	const struct bb_conf *c = m->conf;

	maestro_order_wait(m,
	    clock_scale(c->maestro.deliver_ms, c->kitchen.time_scale_pct), 0);
	return maestro_order_publish(m, o, id, "completed", NULL);
}

/*
 * The states after in_progress. Returns 0 when the order reached
 * completed or failed, -1 when a state could not be stored.
 */
static int
maestro_order_steps(struct maestro *m, struct json_object *o, const char *id)
{
	const struct bb_conf *c = m->conf;
	char reason[64];
	int attempts;

	if (maestro_dough_get(m, id, &attempts) == -1) {
		snprintf(reason, sizeof reason, "no dough after %d attempts",
		    attempts);
		return maestro_order_publish(m, o, id, "failed", reason);
	}
	maestro_order_wait(m,
	    clock_jitter(&m->bake_rng, c->maestro.bake_ms, MAESTRO_BAKE_MIN_PCT,
	        MAESTRO_BAKE_MAX_PCT, c->kitchen.time_scale_pct),
	    0);
	if (maestro_order_publish(m, o, id, "waiting_delivery", NULL) == -1)
		return -1;
	return maestro_order_deliver(m, o, id);
}

/* Where a redelivered order resumes. */
enum maestro_resume {
	MAESTRO_RESUME_COOK,    /* from the start: nothing stored */
	MAESTRO_RESUME_DOUGH,   /* in_progress is stored */
	MAESTRO_RESUME_DELIVER, /* waiting_delivery is stored */
	MAESTRO_RESUME_ENDED,   /* completed or failed is stored */
	MAESTRO_RESUME_ERROR    /* NATS did not say */
};

/* 1 if the stream holds order id in state, 0 if not, -1 on error. */
static int
maestro_order_stored(struct maestro *m, const char *id, const char *state)
{
	const struct bb_conf *c = m->conf;
	char subject[256];
	struct bb_err e;
	enum bb_status st;

	bb_err_clear(&e);
	snprintf(
	    subject, sizeof subject, "%s.%s.%s", c->stream.prefix, state, id);
	st = bus_stream_has(m->bus, c->stream.name, subject, &e);
	if (st == BB_OK)
		return 1;
	if (st == BB_ENOTFOUND)
		return 0;
	log_warnx("order=%s: %s", id, e.message);
	return -1;
}

/* How far an earlier cook took order id, from the states stored. */
static enum maestro_resume
maestro_order_resume(struct maestro *m, const char *id, const char **ended)
{
	static const char *const ends[] = {"completed", "failed"};
	size_t i;
	int r;

	for (i = 0; i < sizeof ends / sizeof ends[0]; i++) {
		if ((r = maestro_order_stored(m, id, ends[i])) == -1)
			return MAESTRO_RESUME_ERROR;
		if (r == 1) {
			*ended = ends[i];
			return MAESTRO_RESUME_ENDED;
		}
	}
	if ((r = maestro_order_stored(m, id, "waiting_delivery")) == -1)
		return MAESTRO_RESUME_ERROR;
	if (r == 1)
		return MAESTRO_RESUME_DELIVER;
	if ((r = maestro_order_stored(m, id, "in_progress")) == -1)
		return MAESTRO_RESUME_ERROR;
	return r ? MAESTRO_RESUME_DOUGH : MAESTRO_RESUME_COOK;
}

/*
 * Take order o, id, from where a redelivery says to its end. Returns 1
 * once it ended, 0 when an earlier cook had ended it, -1 when a state
 * could not be stored or the stream could not be read.
 */
static int
maestro_order_run(struct maestro *m, struct maestro_held *h,
    struct json_object *o, const char *id)
{
	const char *ended = NULL;

	/* Not the first delivery, or not known to be: look first. */
	switch (bus_msg_deliveries(h->msg) != 1
	            ? maestro_order_resume(m, id, &ended)
	            : MAESTRO_RESUME_COOK) {
	case MAESTRO_RESUME_ERROR:
		return -1;
	case MAESTRO_RESUME_ENDED:
		log_info("order=%s already %s: acknowledged", id, ended);
		return 0;
	case MAESTRO_RESUME_DELIVER:
		log_info("order=%s resumes at delivery", id);
		return maestro_order_deliver(m, o, id) == -1 ? -1 : 1;
	case MAESTRO_RESUME_DOUGH:
		/* Stored again past the duplicate window, it would be twice. */
		log_info("order=%s resumes at dough", id);
		return maestro_order_steps(m, o, id) == -1 ? -1 : 1;
	case MAESTRO_RESUME_COOK:
		break;
	}
	if (maestro_order_publish(m, o, id, "in_progress", NULL) == -1 ||
	    maestro_order_steps(m, o, id) == -1)
		return -1;
	return 1;
}

/* The order's id, if it has a valid one, else NULL. */
static const char *
maestro_order_id(struct json_object *o)
{
	struct json_object *v;
	const char *id;

	if (!json_object_object_get_ex(o, "order_id", &v) ||
	    (id = json_object_get_string(v)) == NULL || !ids_uuid_valid(id))
		return NULL;
	return id;
}

/*
 * Cook the held order h to its end and release its message: acked once
 * the order is completed or failed, given back (nak) when NATS would not
 * store a state, terminated when it is not an order at all. Returns 1
 * when this cook took the order to its end (time for a cigarette), else
 * 0. Main thread.
 */
int
maestro_order_cook(struct maestro *m, struct maestro_held *h)
{
	struct json_object *o;
	char id[IDS_UUID_LEN + 1];
	const char *p;
	int r;

	if ((o = maestro_order_parse(h->data, h->len)) == NULL ||
	    (p = maestro_order_id(o)) == NULL) {
		log_warnx("%s: not an order with a valid order_id; dropped",
		    __func__);
		json_object_put(o);
		bus_msg_term(h->msg);
		h->msg = NULL; /* freed: see maestro_order_keepalive() */
		return 0;
	}
	snprintf(id, sizeof id, "%s", p); /* o changes under p */
	maestro_state_set(m, MAESTRO_WORKING, 0, id);
	if ((r = maestro_order_run(m, h, o, id)) == -1)
		bus_msg_nak(h->msg, MAESTRO_RETRY_MS);
	else if (bus_msg_ack(h->msg) != BB_OK)
		log_warnx("order=%s: ack lost; it will come again, and its "
		          "states are stored once",
		    id);
	h->msg = NULL; /* freed: see maestro_order_keepalive() */
	maestro_state_set(m, MAESTRO_WORKING, 0, NULL);
	json_object_put(o);
	return r == 1;
}
