/*
 * bus.c: the NATS connection and JetStream, for every Box Box program.
 * natsStatus never leaves the bus-*.c files: callers see bb_status and a
 * reason. paddock-fcgi publishes from its event loop instead (bus-loop.c).
 *
 * Publishing from threads (maestro) is pipelined. Each calling thread hands its
 * message to js_PublishMsgAsync() and sleeps on its own condition variable;
 * nats.c's reply thread runs bus_ack() for each acknowledgement, finds the
 * waiter whose message it is and wakes it. Many requests thus wait for their
 * acknowledgements at once on one connection, and a 2xx is only ever given
 * after the PubAck. The per-message MaxWait makes nats.c report a missing
 * acknowledgement as NATS_TIMEOUT, which becomes BB_ETIMEOUT. A
 * synchronous subscription per thread, so that the reader thread wakes the
 * caller without the AckHandler's thread in between, was measured too: no
 * more orders a second, and more context switches per order, since the
 * AckHandler's thread wakes once for many acknowledgements.
 *
 * The reconnect buffer is set to zero: while the connection is down a
 * publish fails at once instead of being queued and sent after the
 * reconnect, so an order answered 503 can never be stored later.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "boxbox.h"
#include "bus-int.h"

#define BUS_WAITERS_MAX     1024 /* the most worker threads a process runs */
#define BUS_READY_CACHE_MS  1000
#define BUS_ENSURE_EVERY_MS 1000

/* One per publishing thread, created on its first publish. */
struct bus_waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	_Atomic(natsMsg *) msg; /* in flight; the ack handler claims it */
	int done;
	enum bb_status status;
	char why[160];
};

struct bus {
	const struct bb_conf *conf;
	_Atomic(bus_event_cb) event; /* read by nats.c threads */
	natsOptions *opts;
	natsConnection *nc;
	jsCtx *js;

	pthread_mutex_t wmu; /* guards registration of waiters */
	struct bus_waiter *waiters[BUS_WAITERS_MAX];
	atomic_int nwaiters;

	atomic_int need_ensure; /* stream not yet known to exist */
	pthread_mutex_t emu;    /* one ensure at a time; guards below */
	int64_t ensure_after;
	int64_t ready_at;
	enum bb_status ready_status;
	char ready_why[160];

	struct bus_loop *loop; /* bus_open_loop(): on the caller's loop */
};

static _Thread_local struct bus_waiter *bus_tl_waiter;

/* Chain fallible nats.c calls flat, as nats.c's own IFOK does. */
#define IFOK_BUS(s, call)                                                      \
	do {                                                                   \
		if ((s) == NATS_OK)                                            \
			(s) = (call);                                          \
	} while (0)

static void bus_emit(struct bus *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Tell the program something worth logging; the library itself is mute. */
static void
bus_emit(struct bus *b, const char *fmt, ...)
{
	bus_event_cb event = atomic_load(&b->event);
	char buf[512];
	va_list ap;

	if (event == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	event(buf);
}

/* First connection after a start-up that found the server down. */
static void
bus_on_connected(natsConnection *nc, void *closure)
{
	struct bus *b = closure;
	char url[256] = "";

	natsConnection_GetConnectedUrl(nc, url, sizeof url);
	atomic_store(&b->need_ensure, 1);
	bus_emit(b, "nats: connected to %s", url);
}

static void
bus_on_disconnected(natsConnection *nc, void *closure)
{
	bus_emit(closure, "nats: disconnected; reconnecting in the background");
}

static void
bus_on_reconnected(natsConnection *nc, void *closure)
{
	struct bus *b = closure;
	char url[256] = "";

	natsConnection_GetConnectedUrl(nc, url, sizeof url);
	/* The server may have lost or changed the stream: check again. */
	atomic_store(&b->need_ensure, 1);
	bus_emit(b, "nats: reconnected to %s", url);
}

static void
bus_on_error(
    natsConnection *nc, natsSubscription *sub, natsStatus s, void *closure)
{
	bus_emit(
	    closure, "nats: asynchronous error: %s", natsStatus_GetText(s));
}

/* Which bb_status a failed publish or API call means for the client. */
static enum bb_status
bus_map(natsStatus s)
{
	switch (s) {
	case NATS_OK:
		return BB_OK;
	case NATS_TIMEOUT:
		return BB_ETIMEOUT;
	case NATS_NO_MEMORY:
		return BB_ENOMEM;
	case NATS_INVALID_ARG:
	case NATS_INVALID_SUBJECT:
	case NATS_MAX_PAYLOAD:
		return BB_EINTERNAL;
	default:
		return BB_EUNAVAIL;
	}
}

/* ---- stream management ------------------------------------------------ */

static void
bus_compare_stream(struct bus *b, jsStreamInfo *si)
{
	const struct bb_conf *c = b->conf;
	jsStreamConfig *sc = si->Config;
	int i, covered = 0;

	for (i = 0; i < sc->SubjectsLen; i++) {
		if (strcmp(sc->Subjects[i], c->stream.subjects) == 0)
			covered = 1;
	}
	if (!covered)
		bus_emit(b,
		    "stream %s exists without subject %s; using it as "
		    "it is",
		    sc->Name, c->stream.subjects);
	if (sc->Storage != js_FileStorage)
		bus_emit(b,
		    "stream %s exists with memory storage (configured: "
		    "file); using it as it is",
		    sc->Name);
	if (sc->Duplicates / 1000000000 < c->stream.duplicate_window_s)
		bus_emit(b,
		    "stream %s exists with a duplicate window of %llds "
		    "(configured %ds); using it as it is",
		    sc->Name, (long long)(sc->Duplicates / 1000000000),
		    c->stream.duplicate_window_s);
	if (sc->MaxAge / 1000000000 != c->stream.max_age_s)
		bus_emit(b,
		    "stream %s exists with max age %llds (configured "
		    "%ds); using it as it is",
		    sc->Name, (long long)(sc->MaxAge / 1000000000),
		    c->stream.max_age_s);
	if (sc->Replicas != c->stream.replicas)
		bus_emit(b,
		    "stream %s exists with %lld replicas (configured "
		    "%d); using it as it is",
		    sc->Name, (long long)sc->Replicas, c->stream.replicas);
}

static natsStatus
bus_add_stream(struct bus *b, jsErrCode *jerr)
{
	const struct bb_conf *c = b->conf;
	const char *subjects[1] = {c->stream.subjects};
	jsStreamInfo *si = NULL;
	jsStreamConfig sc;
	natsStatus s;

	jsStreamConfig_Init(&sc);
	sc.Name = c->stream.name;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	sc.Duplicates = (int64_t)c->stream.duplicate_window_s * 1000000000;
	sc.MaxAge = (int64_t)c->stream.max_age_s * 1000000000;
	sc.Replicas = c->stream.replicas;
	s = js_AddStream(&si, b->js, &sc, NULL, jerr);
	if (s == NATS_OK)
		bus_emit(b, "stream %s created on %s", c->stream.name,
		    c->stream.subjects);
	jsStreamInfo_Destroy(si);
	return s;
}

/*
 * Make sure the stream exists: create it if missing, warn where an existing
 * one differs from the configuration. Called with emu held.
 */
static enum bb_status
bus_ensure_locked(struct bus *b, char *why, size_t len)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		s = js_GetStreamInfo(
		    &si, b->js, b->conf->stream.name, NULL, &jerr);
		if (s == NATS_OK) {
			bus_compare_stream(b, si);
			jsStreamInfo_Destroy(si);
			atomic_store(&b->need_ensure, 0);
			return BB_OK;
		}
		if (s != NATS_NOT_FOUND)
			break;
		/* Another responder may create it first: then look again. */
		if ((s = bus_add_stream(b, &jerr)) == NATS_OK) {
			atomic_store(&b->need_ensure, 0);
			return BB_OK;
		}
	}
	snprintf(why, len, "stream %s unavailable: %s%s%s",
	    b->conf->stream.name, natsStatus_GetText(s),
	    nats_GetLastError(NULL) != NULL ? ": " : "",
	    nats_GetLastError(NULL) != NULL ? nats_GetLastError(NULL) : "");
	return bus_map(s) == BB_ETIMEOUT ? BB_EUNAVAIL : bus_map(s);
}

/* Run bus_ensure_locked() when it is due, at most once a second. */
static void
bus_maybe_ensure(struct bus *b)
{
	char why[160];
	int64_t now;

	if (!atomic_load(&b->need_ensure) || pthread_mutex_trylock(&b->emu))
		return;
	now = ids_now_ms();
	if (atomic_load(&b->need_ensure) && now >= b->ensure_after) {
		b->ensure_after = now + BUS_ENSURE_EVERY_MS;
		if (bus_ensure_locked(b, why, sizeof why) != BB_OK)
			bus_emit(b, "%s", why);
	}
	pthread_mutex_unlock(&b->emu);
}

/* ---- publishing --------------------------------------------------------- */

/*
 * The PubAck handler, on nats.c's reply thread. Finds the waiter whose
 * message this is and wakes it. The handler owns msg and destroys it.
 */
static void
bus_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	struct bus *b = closure;
	struct bus_waiter *w;
	natsMsg *expect;
	int i, n = atomic_load(&b->nwaiters);

	for (i = 0; i < n; i++) {
		w = b->waiters[i];
		expect = msg;
		if (atomic_load(&w->msg) != msg ||
		    !atomic_compare_exchange_strong(&w->msg, &expect, NULL))
			continue;
		pthread_mutex_lock(&w->mu);
		if (pa != NULL)
			w->status = BB_OK;
		else {
			w->status = bus_map(pae->Err);
			if (pae->Err == NATS_NO_RESPONDERS)
				atomic_store(&b->need_ensure, 1);
			snprintf(w->why, sizeof w->why, "%s%s%s",
			    natsStatus_GetText(pae->Err),
			    pae->ErrText != NULL ? ": " : "",
			    pae->ErrText != NULL ? pae->ErrText : "");
		}
		w->done = 1;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		break;
	}
	natsMsg_Destroy(msg);
}

/* This thread's waiter, registered on first use; NULL when out of slots. */
static struct bus_waiter *
bus_waiter(struct bus *b)
{
	struct bus_waiter *w;
	pthread_condattr_t ca;
	int n;

	if (bus_tl_waiter != NULL)
		return bus_tl_waiter;
	if ((w = calloc(1, sizeof *w)) == NULL)
		return NULL;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&b->wmu);
	if ((n = atomic_load(&b->nwaiters)) < BUS_WAITERS_MAX) {
		b->waiters[n] = w;
		atomic_store(&b->nwaiters, n + 1);
	}
	pthread_mutex_unlock(&b->wmu);
	if (n >= BUS_WAITERS_MAX) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return bus_tl_waiter = w;
}

/*
 * Sleep until bus_ack() answers for key, or until a deadline past nats.c's
 * own MaxWait (a safety net: nats.c reports the timeout itself). If the
 * deadline passes and the handler has not claimed the message yet, take
 * it back so a late acknowledgement finds no waiter.
 */
static enum bb_status
bus_wait(struct bus_waiter *w, natsMsg *key, int ack_ms, char *why, size_t len)
{
	struct timespec dl;
	natsMsg *expect = key;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += ack_ms / 1000 + 1;
	dl.tv_nsec += (long)(ack_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->mu);
	while (!w->done) {
		if (pthread_cond_timedwait(&w->cv, &w->mu, &dl) != ETIMEDOUT)
			continue;
		if (atomic_compare_exchange_strong(&w->msg, &expect, NULL)) {
			pthread_mutex_unlock(&w->mu);
			snprintf(why, len, "no acknowledgement within %d ms",
			    ack_ms);
			return BB_ETIMEOUT;
		}
		/* The handler claimed it and is about to signal: wait. */
		dl.tv_sec += 1;
		expect = key;
	}
	snprintf(why, len, "%s", w->why);
	pthread_mutex_unlock(&w->mu);
	return w->status;
}

/* The client's sentence for a failed publish of message id. */
void
bus_publish_err(
    struct bb_err *e, enum bb_status s, const char *id, const char *detail)
{
	switch (s) {
	case BB_ETIMEOUT:
		bb_err_set(e,
		    "JetStream did not acknowledge %s in time; it may "
		    "or may not be stored (%s)",
		    id, detail);
		break;
	case BB_EUNAVAIL:
		bb_err_set(e,
		    "the order stream is unavailable; nothing was "
		    "stored (%s)",
		    detail);
		break;
	default:
		bb_err_set(e, "%s (%s)", bb_status_text(s), detail);
		break;
	}
}

/*
 * Publish data[0..len) on subject with the de-duplication id msg_id and
 * wait for JetStream's acknowledgement. BB_OK means the message is stored.
 * BB_EUNAVAIL means it was not sent; BB_ETIMEOUT that it was sent but not
 * acknowledged in time. Any thread may call it; it blocks the caller.
 */
enum bb_status
bus_publish(struct bus *b, const char *subject, const char *msg_id,
    const char *data, size_t len, struct bb_err *e)
{
	struct bus_waiter *w;
	jsPubOptions po;
	natsMsg *m = NULL, *key;
	enum bb_status st;
	natsStatus s;
	char why[160];

	if (natsConnection_Status(b->nc) != NATS_CONN_STATUS_CONNECTED) {
		bb_err_set(e, "order service unavailable: not connected to "
		              "NATS; nothing was stored");
		return BB_EUNAVAIL;
	}
	bus_maybe_ensure(b);
	if ((w = bus_waiter(b)) == NULL) {
		bb_err_set(e, "%s", bb_status_text(BB_ENOMEM));
		return BB_ENOMEM;
	}
	jsPubOptions_Init(&po);
	po.MaxWait = b->conf->nats.ack_timeout_ms;
	po.MsgId = msg_id;
	po.ExpectStream = b->conf->stream.name;
	if ((s = natsMsg_Create(&m, subject, NULL, data, (int)len)) !=
	    NATS_OK) {
		bb_err_set(e, "%s", bb_status_text(bus_map(s)));
		return bus_map(s);
	}
	pthread_mutex_lock(&w->mu);
	w->done = 0;
	w->why[0] = '\0';
	atomic_store(&w->msg, m);
	pthread_mutex_unlock(&w->mu);
	key = m;
	/* On success nats.c takes m and clears our pointer. */
	if ((s = js_PublishMsgAsync(b->js, &m, &po)) != NATS_OK) {
		atomic_store(&w->msg, NULL);
		natsMsg_Destroy(m);
		/*
		 * Not sent, so certainly not stored: 503, even for nats.c's
		 * NATS_TIMEOUT, which here means it stalled on max_pending.
		 */
		st = bus_map(s);
		if (st == BB_ETIMEOUT)
			st = BB_EUNAVAIL;
		bus_publish_err(e, st, msg_id, natsStatus_GetText(s));
		return st;
	}
	st = bus_wait(w, key, b->conf->nats.ack_timeout_ms, why, sizeof why);
	if (st != BB_OK)
		bus_publish_err(e, st, msg_id, why);
	return st;
}

/* ---- state -------------------------------------------------------------- */

const char *
bus_state_text(enum bus_state s)
{
	static const char *const names[] = {
	    [BUS_CONNECTED] = "connected",
	    [BUS_CONNECTING] = "connecting",
	    [BUS_RECONNECTING] = "reconnecting",
	    [BUS_CLOSED] = "closed",
	};

	return (unsigned)s <= BUS_CLOSED ? names[s] : "unknown";
}

/* The connection's state, and a sentence about it in why. */
enum bus_state
bus_state(struct bus *b, char *why, size_t len)
{
	char url[256] = "";
	const char *last = NULL;

	/* A loop must not wait for the lock a reconnect holds: bus-loop.c. */
	if (b->loop != NULL && !bus_loop_usable(b->loop)) {
		snprintf(why, len, "not connected to %s; reconnecting",
		    b->conf->nats.url);
		return BUS_RECONNECTING;
	}
	switch (natsConnection_Status(b->nc)) {
	case NATS_CONN_STATUS_CONNECTED:
		natsConnection_GetConnectedUrl(b->nc, url, sizeof url);
		snprintf(why, len, "connected to %s", url);
		return BUS_CONNECTED;
	case NATS_CONN_STATUS_CLOSED:
		snprintf(why, len, "connection closed");
		return BUS_CLOSED;
	case NATS_CONN_STATUS_CONNECTING:
		snprintf(why, len, "connecting to %s", b->conf->nats.url);
		return BUS_CONNECTING;
	default:
		natsConnection_GetLastError(b->nc, &last);
		snprintf(why, len, "not connected to %s; reconnecting%s%s",
		    b->conf->nats.url, last != NULL ? ": " : "",
		    last != NULL ? last : "");
		return BUS_RECONNECTING;
	}
}

/*
 * Readiness: connected, and the stream exists. The answer is cached for a
 * second so that probes cannot flood the JetStream API.
 */
enum bb_status
bus_stream_ready(struct bus *b, struct bb_err *e)
{
	enum bb_status st;
	char why[160];
	int64_t now;

	if (bus_state(b, why, sizeof why) != BUS_CONNECTED) {
		bb_err_set(e, "%s", why);
		return BB_EUNAVAIL;
	}
	pthread_mutex_lock(&b->emu);
	now = ids_now_ms();
	if (now >= b->ready_at) {
		b->ready_status =
		    bus_ensure_locked(b, b->ready_why, sizeof b->ready_why);
		b->ready_at = now + BUS_READY_CACHE_MS;
	}
	st = b->ready_status;
	if (st != BB_OK)
		bb_err_set(e, "%s", b->ready_why);
	pthread_mutex_unlock(&b->emu);
	return st;
}

/* ---- subscribing ------------------------------------------------------- */

struct bus_sub {
	natsSubscription *sub;
	bus_msg_cb cb;
	void *closure;
};

/* nats.c's message callback: hand over sequence and payload, then free. */
static void
bus_on_msg(
    natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	struct bus_sub *bs = closure;
	jsMsgMetaData *meta = NULL;

	if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
		bs->cb(bs->closure, meta->Sequence.Stream, natsMsg_GetData(msg),
		    (size_t)natsMsg_GetDataLength(msg));
		jsMsgMetaData_Destroy(meta);
	}
	natsMsg_Destroy(msg); /* a nats message callback owns the message */
}

/* After the last callback of a subscription: only now can bs go. */
static void
bus_sub_complete(void *closure)
{
	free(closure);
}

/*
 * An ordered consumer on subject of the configured stream, from stream
 * sequence start_seq (when not 0), else from start_ms (Unix ms, when not
 * 0), else from new messages on. nats.c recreates an ordered consumer from
 * the last sequence it delivered after a reconnect or a gap, so nothing is
 * skipped. cb runs on a nats.c thread, one message at a time. *out is
 * freed by bus_unsubscribe().
 */
enum bb_status
bus_subscribe(struct bus *b, const char *subject, uint64_t start_seq,
    int64_t start_ms, bus_msg_cb cb, void *closure, struct bus_sub **out,
    struct bb_err *e)
{
	struct bus_sub *bs;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus s;

	*out = NULL;
	if ((bs = calloc(1, sizeof *bs)) == NULL)
		return BB_ENOMEM;
	/* cb's closure is kept by value: see bus_unsubscribe() */
	bs->cb = cb;
	bs->closure = closure;
	jsSubOptions_Init(&so);
	so.Stream = b->conf->stream.name;
	so.Ordered = true;
	if (start_seq != 0) {
		so.Config.DeliverPolicy = js_DeliverByStartSequence;
		so.Config.OptStartSeq = start_seq;
	} else if (start_ms != 0) {
		so.Config.DeliverPolicy = js_DeliverByStartTime;
		so.Config.OptStartTime = start_ms * 1000000;
	} else
		so.Config.DeliverPolicy = js_DeliverNew;
	s = js_Subscribe(
	    &bs->sub, b->js, subject, bus_on_msg, bs, NULL, &so, &jerr);
	if (s != NATS_OK) {
		bb_err_set(e, "subscribe %s: %s (%d)", subject,
		    natsStatus_GetText(s), (int)jerr);
		free(bs);
		return bus_map(s) == BB_ETIMEOUT ? BB_EUNAVAIL : bus_map(s);
	}
	natsSubscription_SetOnCompleteCB(bs->sub, bus_sub_complete, bs);
	*out = bs;
	return BB_OK;
}

/*
 * Stop a subscription. A callback already running may finish after this
 * returns (nats.c delivers on its own thread), so the closure given to
 * bus_subscribe() must stay valid: pass a value, such as an id.
 */
void
bus_unsubscribe(struct bus_sub *bs)
{
	natsSubscription *sub;

	if (bs == NULL)
		return;
	sub = bs->sub; /* bs may be freed by bus_sub_complete from here on */
	natsSubscription_Unsubscribe(sub);
	natsSubscription_Destroy(sub);
}

/*
 * How many messages the consumer behind bs has yet to deliver, the stream
 * sequence it has delivered up to, and how many it has sent so far.
 */
enum bb_status
bus_sub_pending(
    struct bus_sub *bs, uint64_t *pending, uint64_t *delivered, uint64_t *sent)
{
	jsConsumerInfo *ci = NULL;

	if (natsSubscription_GetConsumerInfo(&ci, bs->sub, NULL, NULL) !=
	    NATS_OK)
		return BB_EUNAVAIL;
	*pending = ci->NumPending;
	*delivered = ci->Delivered.Stream;
	*sent = ci->Delivered.Consumer;
	jsConsumerInfo_Destroy(ci);
	return BB_OK;
}

/* The stream's first and last sequence (0 and 0 when empty). */
enum bb_status
bus_stream_seqs(
    struct bus *b, uint64_t *first, uint64_t *last, struct bb_err *e)
{
	jsStreamInfo *si = NULL;
	natsStatus s;

	s = js_GetStreamInfo(&si, b->js, b->conf->stream.name, NULL, NULL);
	if (s != NATS_OK) {
		bb_err_set(e, "stream %s: %s", b->conf->stream.name,
		    natsStatus_GetText(s));
		return BB_EUNAVAIL;
	}
	*first = si->State.FirstSeq;
	*last = si->State.LastSeq;
	jsStreamInfo_Destroy(si);
	return BB_OK;
}

/* ---- life cycle ---------------------------------------------------------- */

static natsStatus
bus_options(struct bus *b)
{
	const struct bb_conf *c = b->conf;
	natsOptions *o = NULL;
	natsStatus s;

	s = natsOptions_Create(&o);
	IFOK_BUS(s, natsOptions_SetURL(o, c->nats.url));
	IFOK_BUS(s, natsOptions_SetName(o, c->nats.name));
	IFOK_BUS(s, natsOptions_SetTimeout(o, c->nats.connect_timeout_ms));
	IFOK_BUS(s, natsOptions_SetMaxReconnect(o, -1));
	IFOK_BUS(s, natsOptions_SetReconnectWait(o, c->nats.reconnect_wait_ms));
	IFOK_BUS(s, natsOptions_SetReconnectJitter(o, 100, 1000));
	/*
	 * With a connected callback, Connect() returns NATS_NOT_YET_CONNECTED
	 * at once when the server is down and keeps trying in the background;
	 * without one it would block, retrying, for ever.
	 */
	IFOK_BUS(s,
	    natsOptions_SetRetryOnFailedConnect(o, true, bus_on_connected, b));
	IFOK_BUS(s, natsOptions_SetReconnectBufSize(o, 0));
	IFOK_BUS(s, natsOptions_SetFailRequestsOnDisconnect(o, true));
	/* A silently dead link is found within about 4-6 s, not 20-30. */
	IFOK_BUS(s, natsOptions_SetPingInterval(o, 2000));
	IFOK_BUS(s, natsOptions_SetMaxPingsOut(o, 2));
	IFOK_BUS(s, natsOptions_SetDisconnectedCB(o, bus_on_disconnected, b));
	IFOK_BUS(s, natsOptions_SetReconnectedCB(o, bus_on_reconnected, b));
	IFOK_BUS(s, natsOptions_SetErrorHandler(o, bus_on_error, b));
	if (b->loop != NULL)
		IFOK_BUS(s, bus_loop_options(o, b->loop));
	/*
	 * SendAsap stays off: each publish would be its own write(2) and the
	 * server's own read; nats.c's flusher batching the writes of all the
	 * threads measured better (README "Performance").
	 */
	if (s != NATS_OK) {
		natsOptions_Destroy(o);
		return s;
	}
	b->opts = o;
	return NATS_OK;
}

/*
 * Connect to NATS (in the background if it is down: start-up does not wait
 * for it) and make sure the stream exists if the server is up. conf must
 * outlive the bus; event, if not NULL, receives log-worthy sentences from
 * any thread. Returns 0, or -1 with an allocated *cause. Call after any
 * fork: nats.c starts threads.
 */
int
bus_open(struct bus **out, const struct bb_conf *conf, bus_event_cb event,
    char **cause)
{
	return bus_open_with(out, conf, event, NULL, cause);
}

/*
 * bus_open(), or with loop (bus-loop.c) not NULL, a connection on an event
 * loop: then the stream is not checked here, since no reply can be read
 * before the loop turns. The bus owns loop from here on, even on failure.
 */
int
bus_open_with(struct bus **out, const struct bb_conf *conf, bus_event_cb event,
    struct bus_loop *loop, char **cause)
{
	struct bus *b;
	jsOptions jo;
	natsStatus s;
	char why[160];

	*out = NULL;
	if ((b = calloc(1, sizeof *b)) == NULL) {
		*cause = strdup("out of memory");
		bus_loop_free(loop);
		return -1;
	}
	b->conf = conf;
	b->loop = loop;
	atomic_store(&b->event, event);
	pthread_mutex_init(&b->wmu, NULL);
	pthread_mutex_init(&b->emu, NULL);
	atomic_store(&b->need_ensure, 1);
	/*
	 * No spinning on nats.c's locks: by default a thread spins up to
	 * 2000 times before it sleeps, and with dozens of publishing threads
	 * on two cores the spinning took more CPU than the publishing. Only
	 * the first call in a process counts; nothing has called it before.
	 */
	s = nats_Open(0);
	IFOK_BUS(s, bus_options(b));
	if (s == NATS_OK) {
		s = natsConnection_Connect(&b->nc, b->opts);
		if (s == NATS_NOT_YET_CONNECTED)
			s = NATS_OK;
	}
	jsOptions_Init(&jo);
	jo.Wait = conf->nats.ack_timeout_ms;
	jo.PublishAsync.MaxPending = conf->nats.max_pending;
	jo.PublishAsync.AckHandler = bus_ack;
	jo.PublishAsync.AckHandlerClosure = b;
	jo.PublishAsync.StallWait = 50;
	IFOK_BUS(s, natsConnection_JetStream(&b->js, b->nc, &jo));
	if (loop != NULL)
		IFOK_BUS(s, bus_loop_subscribe(b->nc, loop));
	if (s != NATS_OK) {
		if (asprintf(cause, "nats %s: %s", conf->nats.url,
		        nats_GetLastError(NULL) != NULL
		            ? nats_GetLastError(NULL)
		            : natsStatus_GetText(s)) == -1)
			*cause = NULL;
		bus_close(b);
		return -1;
	}
	if (natsConnection_Status(b->nc) != NATS_CONN_STATUS_CONNECTED)
		bus_emit(b,
		    "nats: %s is not reachable yet; retrying in the "
		    "background",
		    conf->nats.url);
	else if (loop == NULL) {
		/* On a loop, bus_stream_ready() does it once the loop turns. */
		pthread_mutex_lock(&b->emu);
		if (bus_ensure_locked(b, why, sizeof why) != BB_OK)
			bus_emit(b, "%s", why);
		pthread_mutex_unlock(&b->emu);
	}
	*out = b;
	return 0;
}

/*
 * Wait (briefly) for acknowledgements still due, then close the connection
 * and free everything. Callers must have stopped publishing. NULL is fine.
 * Also releases nats.c's global state: one bus per process.
 */
void
bus_close(struct bus *b)
{
	jsPubOptions po;
	int i;

	if (b == NULL)
		return;
	if (b->js != NULL) {
		jsPubOptions_Init(&po);
		po.MaxWait = b->conf->nats.ack_timeout_ms;
		js_PublishAsyncComplete(b->js, &po);
	}
	/* closing is not news: no "disconnected" line */
	atomic_store(&b->event, NULL);
	if (b->nc != NULL)
		natsConnection_Close(b->nc);
	bus_loop_release(b->loop);
	jsCtx_Destroy(b->js);
	natsConnection_Destroy(b->nc);
	natsOptions_Destroy(b->opts);
	/*
	 * nats.c's threads may still be running callbacks that point at b
	 * (the AckHandler, connection events): wait until every one has
	 * unwound before freeing what they use.
	 */
	nats_CloseAndWait(0);
	/* After: the disconnected callback may still have written to it. */
	bus_loop_free(b->loop);
	for (i = 0; i < atomic_load(&b->nwaiters); i++) {
		pthread_cond_destroy(&b->waiters[i]->cv);
		pthread_mutex_destroy(&b->waiters[i]->mu);
		free(b->waiters[i]);
	}
	pthread_mutex_destroy(&b->wmu);
	pthread_mutex_destroy(&b->emu);
	free(b);
}

/* For the other bus-*.c files only (see bus-int.h). */
natsConnection *
bus_conn(struct bus *b)
{
	return b->nc;
}

/* For the other bus-*.c files only. */
const struct bb_conf *
bus_conf(struct bus *b)
{
	return b->conf;
}

struct bus_loop *
bus_loop_of(struct bus *b)
{
	return b->loop;
}

/* For the other bus-*.c files only: the JetStream context of the bus. */
jsCtx *
bus_js(struct bus *b)
{
	return b->js;
}
