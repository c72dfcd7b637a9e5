/*
 * bus-pull.c: a durable JetStream pull consumer with explicit acks, for a
 * worker that several processes run side by side: each fetch takes a batch
 * of messages no other process holds, and a message not acknowledged within
 * AckWait (its holder died) is delivered again to someone. A struct
 * bus_msg is a natsMsg behind an opaque pointer; whoever holds it ends it
 * with exactly one of ack, nak or term, which frees it.
 * natsStatus never leaves the bus-*.c files.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "boxbox.h"
#include "bus-int.h"

struct bus_pull {
	natsSubscription *sub;
};

static enum bb_status
bus_pull_map(natsStatus s)
{
	switch (s) {
	case NATS_OK:
		return BB_OK;
	case NATS_TIMEOUT:
		return BB_ETIMEOUT;
	case NATS_NO_MEMORY:
		return BB_ENOMEM;
	default:
		return BB_EUNAVAIL;
	}
}

/*
 * Create or bind the durable consumer durable on filter, explicit ack,
 * with ack_wait_ms. *out is set only on success and released by
 * bus_pull_close(), before bus_close(). The stream must exist.
 */
enum bb_status
bus_pull_open(struct bus *b, const char *durable, const char *filter,
    int ack_wait_ms, struct bus_pull **out, struct bb_err *e)
{
	struct bus_pull *p;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus s;

	*out = NULL;
	if ((p = calloc(1, sizeof *p)) == NULL) {
		bb_err_set(e, "%s", bb_status_text(BB_ENOMEM));
		return BB_ENOMEM;
	}
	jsSubOptions_Init(&so);
	so.Config.Durable = durable;
	so.Config.AckPolicy = js_AckExplicit;
	so.Config.AckWait = (int64_t)ack_wait_ms * 1000000; /* ns */
	s = js_PullSubscribe(
	    &p->sub, bus_js(b), filter, durable, NULL, &so, &jerr);
	if (s != NATS_OK) {
		bb_err_set(e, "pull consumer %s on %s: %s (JetStream error %d)",
		    durable, filter, natsStatus_GetText(s), (int)jerr);
		free(p);
		return bus_pull_map(s);
	}
	*out = p;
	return BB_OK;
}

/*
 * Fetch up to batch messages, waiting up to wait_ms for the first, and
 * hand each to cb(closure, msg, data, len) in order on the calling thread;
 * cb owns msg from then on (see the header comment). BB_ETIMEOUT when
 * nothing came, which is no error.
 */
enum bb_status
bus_pull_fetch(struct bus_pull *p, int batch, int wait_ms, bus_pull_cb cb,
    void *closure, struct bb_err *e)
{
	natsMsgList list;
	jsErrCode jerr = 0;
	natsStatus s;
	natsMsg *m;
	int i;

	memset(&list, 0, sizeof list);
	s = natsSubscription_Fetch(&list, p->sub, batch, wait_ms, &jerr);
	if (s != NATS_OK) {
		if (s != NATS_TIMEOUT)
			bb_err_set(e, "fetch: %s (JetStream error %d)",
			    natsStatus_GetText(s), (int)jerr);
		return bus_pull_map(s);
	}
	for (i = 0; i < list.Count; i++) {
		m = list.Msgs[i];
		list.Msgs[i] = NULL; /* now cb's; the list must not free it */
		cb(closure, (struct bus_msg *)m, natsMsg_GetData(m),
		    (size_t)natsMsg_GetDataLength(m));
	}
	natsMsgList_Destroy(&list);
	return BB_OK;
}

/*
 * Drop the subscription; the durable consumer stays on the server with
 * its unacknowledged messages. NULL is fine.
 */
void
bus_pull_close(struct bus_pull *p)
{
	if (p == NULL)
		return;
	natsSubscription_Destroy(p->sub);
	free(p);
}

/* Still working on it: restart its AckWait. msg stays the caller's. */
enum bb_status
bus_msg_progress(struct bus_msg *msg)
{
	return bus_pull_map(natsMsg_InProgress((natsMsg *)msg, NULL));
}

/* Done: acknowledge and wait for the server's confirmation. Frees msg. */
enum bb_status
bus_msg_ack(struct bus_msg *msg)
{
	natsStatus s;

	s = natsMsg_AckSync((natsMsg *)msg, NULL, NULL);
	natsMsg_Destroy((natsMsg *)msg);
	return bus_pull_map(s);
}

/* Give it back for redelivery after delay_ms (0: at once). Frees msg. */
enum bb_status
bus_msg_nak(struct bus_msg *msg, int delay_ms)
{
	natsStatus s;

	s = natsMsg_NakWithDelay((natsMsg *)msg, delay_ms, NULL);
	natsMsg_Destroy((natsMsg *)msg);
	return bus_pull_map(s);
}

/* Never deliver it again (it cannot be handled). Frees msg. */
enum bb_status
bus_msg_term(struct bus_msg *msg)
{
	natsStatus s;

	s = natsMsg_Term((natsMsg *)msg, NULL);
	natsMsg_Destroy((natsMsg *)msg);
	return bus_pull_map(s);
}

/* How many times msg has been delivered (1 the first time); 0: unknown. */
int
bus_msg_deliveries(struct bus_msg *msg)
{
	jsMsgMetaData *meta = NULL;
	int n;

	if (natsMsg_GetMetaData(&meta, (natsMsg *)msg) != NATS_OK)
		return 0;
	n = meta->NumDelivered > INT_MAX ? INT_MAX : (int)meta->NumDelivered;
	jsMsgMetaData_Destroy(meta);
	return n;
}

/*
 * Whether stream holds a message on subject: BB_OK if it does,
 * BB_ENOTFOUND if not, else the error, described in e.
 */
enum bb_status
bus_stream_has(
    struct bus *b, const char *stream, const char *subject, struct bb_err *e)
{
	natsMsg *m = NULL;
	jsErrCode jerr = 0;
	natsStatus s;

	s = js_GetLastMsg(&m, bus_js(b), stream, subject, NULL, &jerr);
	natsMsg_Destroy(m);
	if (s == NATS_OK)
		return BB_OK;
	if (s == NATS_NOT_FOUND)
		return BB_ENOTFOUND;
	bb_err_set(e, "last message on %s: %s (JetStream error %d)", subject,
	    natsStatus_GetText(s), (int)jerr);
	return bus_pull_map(s);
}
