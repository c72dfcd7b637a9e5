/*
 * bus-rpc.c: NATS core request/reply, for the kitchen's services. A
 * service subscribes in a queue group, so that several processes share
 * the requests, and answers on each request's reply subject, at once or
 * later from any thread. natsStatus never leaves the bus-*.c files.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "boxbox.h"
#include "bus-int.h"

/* Requests a subscription may hold undelivered before nats.c drops some. */
#define BUS_RPC_PENDING_MSGS  65536
#define BUS_RPC_PENDING_BYTES (64 * 1024 * 1024)

struct bus_rpc {
	natsSubscription *sub;
	bus_req_cb cb;
	void *closure;
};

/* nats.c's message callback: hand over reply subject and payload, free. */
static void
bus_rpc_on_msg(
    natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	struct bus_rpc *r = closure;

	r->cb(r->closure, natsMsg_GetReply(msg), natsMsg_GetData(msg),
	    (size_t)natsMsg_GetDataLength(msg));
	natsMsg_Destroy(msg); /* a nats message callback owns the message */
}

/* After the last callback of the subscription: only now can r go. */
static void
bus_rpc_complete(void *closure)
{
	free(closure);
}

/*
 * Serve requests on subject in the queue group queue (NULL: none). cb runs
 * on a nats.c thread with closure, which must outlive bus_unserve() and
 * the bus (see there). *out is set only on success and released by
 * bus_unserve(). Works while NATS is down: nats.c subscribes again on
 * every reconnect.
 */
enum bb_status
bus_serve(struct bus *b, const char *subject, const char *queue, bus_req_cb cb,
    void *closure, struct bus_rpc **out, struct bb_err *e)
{
	struct bus_rpc *r;
	natsStatus s;

	*out = NULL;
	if ((r = calloc(1, sizeof *r)) == NULL) {
		bb_err_set(e, "%s", bb_status_text(BB_ENOMEM));
		return BB_ENOMEM;
	}
	r->cb = cb;
	r->closure = closure;
	if (queue != NULL)
		s = natsConnection_QueueSubscribe(
		    &r->sub, bus_conn(b), subject, queue, bus_rpc_on_msg, r);
	else
		s = natsConnection_Subscribe(
		    &r->sub, bus_conn(b), subject, bus_rpc_on_msg, r);
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(
		    r->sub, BUS_RPC_PENDING_MSGS, BUS_RPC_PENDING_BYTES);
	if (s == NATS_OK)
		s = natsSubscription_SetOnCompleteCB(
		    r->sub, bus_rpc_complete, r);
	if (s != NATS_OK) {
		bb_err_set(e, "serve %s: %s", subject, natsStatus_GetText(s));
		if (r->sub != NULL)
			natsSubscription_Destroy(r->sub);
		free(r);
		return s == NATS_NO_MEMORY ? BB_ENOMEM : BB_EUNAVAIL;
	}
	*out = r;
	return BB_OK;
}

/*
 * Stop serving. A callback already running may still finish after this
 * returns, so its closure must stay valid until bus_close(), which waits
 * for nats.c's threads. NULL is fine.
 */
void
bus_unserve(struct bus_rpc *r)
{
	natsSubscription *sub;

	if (r == NULL)
		return;
	sub = r->sub; /* r may be freed by bus_rpc_complete from here on */
	natsSubscription_Unsubscribe(sub);
	natsSubscription_Destroy(sub);
}

/*
 * Publish data[0..len) on a request's reply subject. Any thread may call
 * it. BB_EUNAVAIL when NATS is not connected: the requester times out.
 */
enum bb_status
bus_reply(struct bus *b, const char *reply, const char *data, size_t len)
{
	natsStatus s;

	s = natsConnection_Publish(bus_conn(b), reply, data, (int)len);
	if (s == NATS_OK)
		return BB_OK;
	return s == NATS_NO_MEMORY ? BB_ENOMEM : BB_EUNAVAIL;
}

/* Push buffered replies out, waiting up to ms for the server's PONG. */
enum bb_status
bus_flush(struct bus *b, int ms)
{
	natsStatus s;

	s = natsConnection_FlushTimeout(bus_conn(b), ms);
	if (s == NATS_OK)
		return BB_OK;
	return s == NATS_TIMEOUT ? BB_ETIMEOUT : BB_EUNAVAIL;
}

/*
 * Send data[0..len) on subject and wait up to timeout_ms for one reply.
 * On BB_OK *reply is an allocated, NUL-terminated copy of its data, which
 * the caller frees, and *reply_len its length; otherwise both are left
 * alone. BB_ETIMEOUT: no reply in time; BB_EUNAVAIL: nobody serves the
 * subject or NATS is down. Any thread may call it.
 */
enum bb_status
bus_request(struct bus *b, const char *subject, const char *data, size_t len,
    int timeout_ms, char **reply, size_t *reply_len)
{
	natsMsg *m = NULL;
	natsStatus s;
	size_t n;
	char *out;

	s = natsConnection_Request(
	    &m, bus_conn(b), subject, data, (int)len, timeout_ms);
	if (s != NATS_OK) {
		if (s == NATS_TIMEOUT)
			return BB_ETIMEOUT;
		return s == NATS_NO_MEMORY ? BB_ENOMEM : BB_EUNAVAIL;
	}
	n = (size_t)natsMsg_GetDataLength(m);
	if ((out = malloc(n + 1)) == NULL) {
		natsMsg_Destroy(m);
		return BB_ENOMEM;
	}
	memcpy(out, natsMsg_GetData(m), n);
	out[n] = '\0';
	natsMsg_Destroy(m);
	*reply = out;
	*reply_len = n;
	return BB_OK;
}
