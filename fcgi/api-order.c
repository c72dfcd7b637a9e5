/*
 * api-order.c: POST /v1/order. Check the media type, read the capped body,
 * parse and validate it (order.c), give the order its id and time, publish
 * it (bus-loop.c), and answer 200 only after JetStream has acknowledged
 * it: the request waits, pending, and the loop calls api_order_acked()
 * with the outcome. Every failure answers before anything is published,
 * except a missing acknowledgement (504), where the outcome is unknown.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "paddock.h"

/* application/json, any case, optionally followed by parameters. */
static int
api_order_is_json(const char *ct)
{
	size_t n = sizeof "application/json" - 1;

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static enum bb_status
api_order_publish(struct request *req, struct order *o, struct bb_err *e)
{
	const struct bb_conf *c = &req->app->conf;
	char subject[256], msg[ORDER_JSON_MAX];
	struct fmt f;
	enum bb_status s;
	int len;

	if (loop_publish_closed(req->app->loop)) {
		bb_err_set(e, "order service stopping; nothing was stored");
		return BB_EUNAVAIL;
	}
	if (loop_acks_full(req->app->loop)) {
		bb_err_set(e,
		    "order service busy: nats.max_pending orders "
		    "await their acknowledgement; nothing was stored");
		return BB_EUNAVAIL;
	}
	if ((s = order_stamp(o)) != BB_OK)
		return s;
	memcpy(req->order_id, o->order_id, sizeof req->order_id);
	memcpy(req->ordered_at, o->ordered_at, sizeof req->ordered_at);
	/* On the stack: nothing on the heap for the stored form. */
	if ((len = order_json_write(o, "pending", msg, sizeof msg)) < 0) {
		bb_err_set(e, "order too large to store; nothing was stored");
		return BB_EINTERNAL;
	}
	fmt_init(&f, subject, sizeof subject);
	fmt_str(&f, c->stream.prefix);
	FMT_LIT(&f, ".waiting_to_cook.");
	fmt_str(&f, o->order_id);
	fmt_end(&f, NULL);
	return bus_loop_publish(req->app->bus, subject, o->order_id, msg,
	    (size_t)len, loop_await_ack(req->app->loop, req->conn), e);
}

/*
 * The loop, when the acknowledgement came (BB_OK), or an error said why
 * not: answer the order published by api_order().
 */
void
api_order_acked(struct request *req, enum bb_status s, const char *why)
{
	struct bb_err e;
	char body[128];
	struct fmt f;
	size_t n;

	if (s != BB_OK) {
		bb_err_clear(&e);
		bus_publish_err(&e, s, req->order_id, why);
		reply_error(req, s, &e);
		return;
	}
	fmt_init(&f, body, sizeof body);
	FMT_LIT(&f, "Location: /v1/order/");
	fmt_str(&f, req->order_id);
	request_header_line(req, body, fmt_end(&f, NULL));
	fmt_init(&f, body, sizeof body);
	FMT_LIT(&f, "{\"order_id\":\"");
	fmt_str(&f, req->order_id);
	FMT_LIT(&f, "\",\"ordered_at\":\"");
	fmt_str(&f, req->ordered_at);
	FMT_LIT(&f, "\"}");
	n = fmt_end(&f, NULL);
	reply_raw(req, 200, body, n);
}

void
api_order(struct request *req)
{
	struct order o;
	struct bb_err e;
	enum bb_status s;

	req->order = 1;
	bb_err_clear(&e);
	memset(&o, 0, sizeof o);
	if (!api_order_is_json(req->content_type)) {
		bb_err_set(&e,
		    "request body must be application/json, not "
		    "%.64s",
		    req->content_type != NULL && *req->content_type != '\0'
		        ? req->content_type
		        : "(none)");
		s = BB_EMEDIA;
	} else if ((s = request_check_body(req, &e)) == BB_OK &&
	           (s = order_parse(&o, req->body, req->body_len,
	                &req->app->conf.order.sizes, &e)) == BB_OK)
		s = api_order_publish(req, &o, &e);
	if (s == BB_OK)
		req->pending = 1; /* answered by api_order_acked() */
	else
		reply_error(req, s, &e);
	order_free(&o);
}
