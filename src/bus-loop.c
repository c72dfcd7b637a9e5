/*
 * bus-loop.c: publishing to JetStream from one thread's epoll loop, for
 * paddock-fcgi. The NATS connection is attached to the caller's epoll
 * instance through nats.c's external event loop API: nats.c starts no read
 * thread, and with SendAsap no flusher thread either. A publish only
 * appends to nats.c's buffer and asks for the socket to be writable; the
 * loop then writes every order published in that pass with one write(2).
 *
 * Acknowledgements come back on a synchronous subscription to this
 * process's own inbox, "_INBOX.<nuid>.<token>", which the loop drains
 * after it has read from the socket. So a whole order, from the request
 * to the answer, runs on the loop's thread, and nats.c's threads only
 * wake for pings and reconnects. This is JetStream's publish as nats.c's
 * js_PublishMsgAsync() does it (a request with Nats-Msg-Id and
 * Nats-Expected-Stream headers, the PubAck as its reply), without the
 * thread that delivers js_PublishMsgAsync()'s acknowledgements.
 *
 * Requests that must wait for a reply (stream management, readiness) may
 * not be made on the loop's thread, which alone reads the socket; they
 * run on another thread while the loop turns.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <nats/nats.h>

#include "boxbox.h"
#include "bus-int.h"

/*
 * nats.c frees a message on its garbage collector's thread, which
 * natsMsg_Destroy() wakes when it sleeps: a wake-up (and two context
 * switches) per message, two messages per order. Kept and destroyed by
 * the hundred (or after BUS_LOOP_SPENT_MS), they wake it once per hundred.
 */
#define BUS_LOOP_SPENT_MAX 512
#define BUS_LOOP_SPENT_MS  20

struct bus_loop {
	int epfd;
	void *tag;   /* epoll_event.data.ptr of the NATS socket */
	int wake_fd; /* an eventfd the loop watches; -1: none */

	pthread_mutex_t mu; /* nats.c calls back from any of its threads */
	int fd;             /* the attached socket, -1 when none */
	int want_read, want_write;
	uint32_t events;   /* as registered on epfd; 0: not registered */
	atomic_int usable; /* attached: nats.c's lock is not held for long */

	pthread_t thread; /* the loop's */
	int write_due;    /* the loop writes at the end of its pass */

	natsMsg *spent[BUS_LOOP_SPENT_MAX]; /* to destroy */
	int nspent;
	int64_t spent_since_ms;

	atomic_uint epoch; /* +1 at each disconnection */
	natsSubscription *inbox;
	char prefix[64]; /* "_INBOX.<nuid>." */
	size_t prefix_len;
};

/* Make the epoll registration match what nats.c wants. With mu held. */
static natsStatus
bus_loop_apply(struct bus_loop *bl)
{
	struct epoll_event ev = {.data.ptr = bl->tag};
	int op;

	if (bl->fd == -1)
		return NATS_OK;
	ev.events = (bl->want_read ? EPOLLIN : 0) |
	            (bl->want_write && !bl->write_due ? EPOLLOUT : 0);
	if (ev.events == bl->events)
		return NATS_OK;
	if (ev.events == 0) {
		(void)epoll_ctl(bl->epfd, EPOLL_CTL_DEL, bl->fd, NULL);
		bl->events = 0;
		return NATS_OK;
	}
	op = bl->events != 0 ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(bl->epfd, op, bl->fd, &ev) == -1)
		return NATS_SYS_ERROR;
	bl->events = ev.events;
	return NATS_OK;
}

/* nats.c: connected or reconnected on socket fd. Poll it for reading. */
static natsStatus
bus_loop_attach(void **data, void *loop, natsConnection *nc, natsSock fd)
{
	struct bus_loop *bl = loop;
	natsStatus s;

	(void)nc;
	pthread_mutex_lock(&bl->mu);
	/* A reconnect: nats.c closed the old socket, and epoll forgot it. */
	bl->fd = (int)fd;
	bl->events = 0;
	bl->want_read = 1;
	bl->want_write = 0;
	s = bus_loop_apply(bl);
	pthread_mutex_unlock(&bl->mu);
	*data = bl;
	/* Called once the handshake is done: publishing may go on. */
	atomic_store(&bl->usable, s == NATS_OK);
	return s;
}

/*
 * nats.c stops reading only when the connection is lost (or closed), just
 * before it closes the socket; any reconnect comes after. So this is where
 * every acknowledgement still due is known lost: a new epoch, and the loop
 * woken to fail them. And from here until the next attach, nats.c's
 * reconnect thread may hold the connection's lock for as long as a
 * connect takes: the loop must not touch the connection.
 */
static natsStatus
bus_loop_read(void *data, bool add)
{
	struct bus_loop *bl = data;
	uint64_t one = 1;
	natsStatus s;

	if (!add) {
		atomic_store(&bl->usable, 0);
		atomic_fetch_add(&bl->epoch, 1);
		if (bl->wake_fd != -1 &&
		    write(bl->wake_fd, &one, sizeof one) == -1)
			(void)0; /* the counter is non-zero: awake anyway */
	}
	pthread_mutex_lock(&bl->mu);
	bl->want_read = add;
	s = bus_loop_apply(bl);
	pthread_mutex_unlock(&bl->mu);
	return s;
}

/*
 * nats.c has buffered something to send, or has sent it all. On the
 * loop's thread (a publish), bus_loop_flush() writes at the end of the
 * pass: everything published during the pass goes out in one write(2),
 * with no epoll_ctl(2). From nats.c's threads (a ping), epoll wakes the
 * loop when the socket is writable.
 */
static natsStatus
bus_loop_write(void *data, bool add)
{
	struct bus_loop *bl = data;
	natsStatus s;

	pthread_mutex_lock(&bl->mu);
	bl->want_write = add;
	if (add && pthread_equal(pthread_self(), bl->thread))
		bl->write_due = 1;
	if (!add)
		bl->write_due = 0;
	s = bus_loop_apply(bl);
	pthread_mutex_unlock(&bl->mu);
	return s;
}

static natsStatus
bus_loop_detach(void *data)
{
	struct bus_loop *bl = data;

	atomic_store(&bl->usable, 0);
	pthread_mutex_lock(&bl->mu);
	bl->want_read = bl->want_write = 0;
	(void)bus_loop_apply(bl);
	bl->fd = -1;
	pthread_mutex_unlock(&bl->mu);
	return NATS_OK;
}

/* For bus.c: the options that put the connection on the loop. */
natsStatus
bus_loop_options(natsOptions *o, struct bus_loop *bl)
{
	natsStatus s;

	s = natsOptions_SetEventLoop(o, bl, bus_loop_attach, bus_loop_read,
	    bus_loop_write, bus_loop_detach);
	/*
	 * With an event loop, SendAsap only asks for the write event: no
	 * flusher thread, no write(2) per message.
	 */
	if (s == NATS_OK)
		s = natsOptions_SetSendAsap(o, true);
	return s;
}

/* 1 when the loop may use the connection: see bus_loop_read(). */
int
bus_loop_usable(struct bus_loop *bl)
{
	return atomic_load(&bl->usable);
}

/* For bus.c: subscribe to this process's inbox, after the connect. */
natsStatus
bus_loop_subscribe(natsConnection *nc, struct bus_loop *bl)
{
	char subject[80];
	natsInbox *inbox = NULL;
	natsStatus s;

	if ((s = natsInbox_Create(&inbox)) != NATS_OK)
		return s;
	snprintf(bl->prefix, sizeof bl->prefix, "%s.", (const char *)inbox);
	bl->prefix_len = strlen(bl->prefix);
	natsInbox_Destroy(inbox);
	snprintf(subject, sizeof subject, "%s*", bl->prefix);
	s = natsConnection_SubscribeSync(&bl->inbox, nc, subject);
	/* Acknowledgements are never dropped for being many. */
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(bl->inbox, -1, -1);
	return s;
}

/*
 * Start an event loop's bus: the NATS socket is polled on epfd with
 * data.ptr == tag (pass its events to bus_loop_io()), and wake_fd, an
 * eventfd the loop also polls, is written when the connection is lost
 * (see bus_loop_epoch()). Otherwise as bus_open(), except that the stream
 * is not checked here: bus_stream_ready() does it, from another thread.
 */
int
bus_open_loop(struct bus **out, const struct bb_conf *conf, bus_event_cb event,
    int epfd, void *tag, int wake_fd, char **cause)
{
	struct bus_loop *bl;

	*out = NULL;
	if ((bl = calloc(1, sizeof *bl)) == NULL) {
		*cause = strdup("out of memory");
		return -1;
	}
	bl->epfd = epfd;
	bl->tag = tag;
	bl->wake_fd = wake_fd;
	bl->fd = -1;
	bl->thread = pthread_self();
	pthread_mutex_init(&bl->mu, NULL);
	/* bus_open_with() owns bl from here on, and frees it on failure. */
	return bus_open_with(out, conf, event, bl, cause);
}

static void
bus_loop_destroy_spent(struct bus_loop *bl)
{
	while (bl->nspent > 0)
		natsMsg_Destroy(bl->spent[--bl->nspent]);
}

/*
 * For bus.c's bus_close(): after the connection is closed, release what
 * holds nats.c objects (before nats_CloseAndWait(), which waits for them);
 * then, after it, bus_loop_free().
 */
void
bus_loop_release(struct bus_loop *bl)
{
	if (bl == NULL)
		return;
	bus_loop_destroy_spent(bl);
	natsSubscription_Destroy(bl->inbox);
	bl->inbox = NULL;
}

void
bus_loop_free(struct bus_loop *bl)
{
	if (bl == NULL)
		return;
	bus_loop_release(bl);
	pthread_mutex_destroy(&bl->mu);
	free(bl);
}

/*
 * The loop's thread: epoll said events for the NATS socket. Not while the
 * connection is lost: the event may be stale, from this pass's batch, and
 * nats.c's reconnect thread may hold the connection's lock for as long as
 * a connect takes (see bus_loop_read). The socket is gone or no longer
 * watched for reading then, and a reconnect attaches afresh.
 */
void
bus_loop_io(struct bus *b, uint32_t events)
{
	if (!atomic_load(&bus_loop_of(b)->usable))
		return;
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		natsConnection_ProcessReadEvent(bus_conn(b));
	if (events & EPOLLOUT)
		natsConnection_ProcessWriteEvent(bus_conn(b));
}

/*
 * The loop's thread, at the end of each pass: write what the pass
 * published, and destroy its messages. If the socket cannot take it all,
 * epoll says when it can.
 */
void
bus_loop_flush(struct bus *b)
{
	struct bus_loop *bl = bus_loop_of(b);
	int due;

	pthread_mutex_lock(&bl->mu);
	due = bl->write_due;
	pthread_mutex_unlock(&bl->mu);
	if (due && atomic_load(&bl->usable))
		natsConnection_ProcessWriteEvent(bus_conn(b));
	pthread_mutex_lock(&bl->mu);
	if (bl->write_due) {
		/* Still something to write: let epoll say when. */
		bl->write_due = 0;
		(void)bus_loop_apply(bl);
	}
	pthread_mutex_unlock(&bl->mu);
	if (bl->nspent > 0 &&
	    ids_mono_ms() - bl->spent_since_ms >= BUS_LOOP_SPENT_MS)
		bus_loop_destroy_spent(bl);
}

/* How many times the connection was lost; see bus_open_loop(). */
unsigned
bus_loop_epoch(struct bus *b)
{
	return atomic_load(&bus_loop_of(b)->epoch);
}

/* Destroy m later, with others: see BUS_LOOP_SPENT_MAX. */
static void
bus_loop_spend(struct bus_loop *bl, natsMsg *m)
{
	if (m == NULL)
		return;
	if (bl->nspent == BUS_LOOP_SPENT_MAX)
		bus_loop_destroy_spent(bl);
	if (bl->nspent == 0)
		bl->spent_since_ms = ids_mono_ms();
	bl->spent[bl->nspent++] = m;
}

/*
 * Send data[0..len) to subject as a JetStream publish with the
 * de-duplication id msg_id. Its acknowledgement reaches bus_loop_acks()'s
 * callback with token. BB_OK: sent (or queued to send); otherwise nothing
 * was sent and nothing will be stored, and e says why.
 */
enum bb_status
bus_loop_publish(struct bus *b, const char *subject, const char *msg_id,
    const char *data, size_t len, uint64_t token, struct bb_err *e)
{
	struct bus_loop *bl = bus_loop_of(b);
	natsMsg *m = NULL;
	char reply[96];
	struct fmt f;
	natsStatus s;

	if (!atomic_load(&bl->usable) ||
	    natsConnection_Status(bus_conn(b)) != NATS_CONN_STATUS_CONNECTED) {
		bb_err_set(e, "order service unavailable: not connected to "
		              "NATS; nothing was stored");
		return BB_EUNAVAIL;
	}
	fmt_init(&f, reply, sizeof reply);
	fmt_mem(&f, bl->prefix, bl->prefix_len);
	fmt_uint(&f, token, 1);
	fmt_end(&f, NULL);
	s = natsMsg_Create(&m, subject, reply, data, (int)len);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Nats-Msg-Id", msg_id);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(
		    m, "Nats-Expected-Stream", bus_conf(b)->stream.name);
	if (s == NATS_OK)
		s = natsConnection_PublishMsg(bus_conn(b), m);
	bus_loop_spend(bl, m);
	if (s != NATS_OK) {
		bus_publish_err(e, BB_EUNAVAIL, msg_id, natsStatus_GetText(s));
		return BB_EUNAVAIL;
	}
	return BB_OK;
}

/*
 * What a PubAck says: BB_OK, or why not. JetStream answers
 * {"stream":"ORDERS","seq":42} (with "duplicate":true for a repeated
 * id), or {"error":{"code":503,"err_code":10077,"description":"..."}};
 * a subject no stream takes gets nats-server's "no responders" status.
 */
static enum bb_status
bus_loop_ack_status(struct bus *b, natsMsg *m, char *why, size_t len)
{
	const char *d = natsMsg_GetData(m);
	int n = natsMsg_GetDataLength(m);
	struct json_object *o, *err, *desc;
	enum bb_status st;

	if (natsMsg_IsNoResponders(m)) {
		/* ready.c looks for the stream, and creates it, each second. */
		snprintf(why, len, "no stream takes the subject");
		return BB_EUNAVAIL;
	}
	if (n > 0 && memmem(d, (size_t)n, "\"error\"", 7) == NULL &&
	    memmem(d, (size_t)n, "\"seq\"", 5) != NULL)
		return BB_OK;
	/*
	 * The slow way: a JetStream error refused the order (503, nothing
	 * stored); a PubAck the quick test missed (a stream named "error")
	 * is one; anything else leaves the outcome unknown (504).
	 */
	if ((o = json_tokener_parse(d)) == NULL) {
		snprintf(why, len, "%s", "unexpected acknowledgement");
		return BB_ETIMEOUT;
	}
	if (json_object_object_get_ex(o, "error", &err)) {
		st = BB_EUNAVAIL;
		snprintf(why, len, "JetStream: %s",
		    json_object_object_get_ex(err, "description", &desc)
		        ? json_object_get_string(desc)
		        : "error");
	} else if (json_object_object_get_ex(o, "seq", NULL))
		st = BB_OK;
	else {
		st = BB_ETIMEOUT;
		snprintf(why, len, "%s", "unexpected acknowledgement");
	}
	json_object_put(o);
	return st;
}

/*
 * The token ending a reply subject, "<prefix><token>" as published: 0, or
 * -1 unless s is all digits and fits. (strtoull(), where sscanf() cost a
 * thousand instructions an acknowledgement.)
 */
static int
bus_loop_token(const char *s, unsigned long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return *end == '\0' && errno == 0 ? 0 : -1;
}

/*
 * The loop's thread, after bus_loop_io(): hand every acknowledgement that
 * has arrived to cb(closure, token, status, why). A token nobody waits for
 * any more (its request timed out) is the callback's to ignore.
 */
void
bus_loop_acks(struct bus *b, bus_ack_cb cb, void *closure)
{
	struct bus_loop *bl = bus_loop_of(b);
	unsigned long long token;
	const char *subj;
	uint64_t queued = 0;
	enum bb_status st;
	natsMsg *m;
	char why[160];

	if (natsSubscription_QueuedMsgs(bl->inbox, &queued) != NATS_OK)
		return;
	while (queued-- > 0 &&
	       natsSubscription_NextMsg(&m, bl->inbox, 0) == NATS_OK) {
		subj = natsMsg_GetSubject(m);
		why[0] = '\0';
		if (strncmp(subj, bl->prefix, bl->prefix_len) == 0 &&
		    bus_loop_token(subj + bl->prefix_len, &token) == 0) {
			st = bus_loop_ack_status(b, m, why, sizeof why);
			cb(closure, (uint64_t)token, st, why);
		}
		bus_loop_spend(bl, m);
	}
}
