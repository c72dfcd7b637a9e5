/*
 * client.c: one connection. It reads a request head (bounded in size and
 * time), answers /healthz, /metrics or an error and closes, or starts a
 * stream: the SSE head, a retry with jitter and a comment, the resume or
 * replay it asked for, then live events and heartbeats.
 *
 * Writes go straight to the socket; only what the kernel does not take is
 * queued, as references to shared frames. A client whose queue passes
 * relay.max_buffer is disconnected (it resumes with Last-Event-ID), so no
 * client ever delays another and memory stays bounded. A resume, from
 * the ring or from JetStream, is paced by the client instead
 * (client_catch_up, client_replay_pause), so that a long one is not taken
 * for a slow client. Clients are closed at a safe point, after the current
 * batch of events (client_reap), never inside a fan-out. Loop thread only.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"

#define CLIENT_READ_CHUNK 4096

enum client_state { CL_READ, CL_STREAM, CL_ANSWERED };

struct outq {
	struct outq *next;
	struct blob *b;
	size_t off;
};

struct client {
	struct watcher w; /* first: epoll's data points here */
	struct hub_link link;
	struct client *prev, *next; /* every client, for ticks and shutdown */
	struct client *next_closing;
	struct client *next_replay;
	enum client_state state;
	enum hub_kind kind;
	unsigned tcp : 1, in_hub : 1, closing : 1, replaying : 1, want_out : 1,
	    catching_up : 1;
	uint64_t id;
	uint64_t rid;      /* replaying: its JetStream replay's id; 0: paused */
	int64_t paused_at; /* when the replay was paused */
	uint64_t last_seq; /* events up to here are handled: sent, or not
	                      wanted by the client's filter */
	int64_t deadline;  /* CL_READ: request timeout */
	int64_t next_ping;
	char *rbuf; /* a partial request head */
	size_t rlen;
	struct outq *qhead, *qtail;
	size_t queued;
};

static struct client *clients;
static struct client *replaying; /* clients whose replay runs */
static uint64_t next_id = 1;
static struct blob *ping_blob;

struct hub_link *
client_link(struct client *c)
{
	return &c->link;
}

static void
client_events(struct client *c)
{
	uint32_t ev = EPOLLIN | EPOLLRDHUP;

	if (c->qhead != NULL)
		ev |= EPOLLOUT;
	if (c->want_out != (c->qhead != NULL)) {
		c->want_out = c->qhead != NULL;
		loop_mod(&c->w, ev);
	}
}

/* Mark c for closing after the current batch; why is for the debug log. */
void
client_close_later(struct client *c, const char *why)
{
	if (c->closing)
		return;
	c->closing = 1;
	c->next_closing = relay.closing;
	relay.closing = c;
	log_debug("client %llu: closing: %s", (unsigned long long)c->id, why);
}

static void client_catch_up(struct client *);
static void client_replay_resume(struct client *);
static int client_paused(const struct client *);
static void client_go_live(struct client *);
static void client_cut_off(struct client *, const char *);

/* Below this many bytes queued, a client catching up gets more. */
static size_t
client_room(void)
{
	return (size_t)relay.conf.relay.max_buffer / 2;
}

/* Write what the queue holds until the kernel takes no more. */
static void
client_flush(struct client *c)
{
	struct outq *q;
	ssize_t n;

	while ((q = c->qhead) != NULL) {
		n = send(c->w.fd, q->b->data + q->off, q->b->len - q->off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			client_close_later(c, "write error");
			return;
		}
		slot_add(&relay.stats->bytes_sent, (uint64_t)n);
		c->queued -= (size_t)n;
		if ((q->off += (size_t)n) < q->b->len)
			break;
		c->qhead = q->next;
		if (c->qhead == NULL)
			c->qtail = NULL;
		blob_unref(q->b);
		free(q);
	}
	if (c->catching_up && !c->closing && !relay.stopping &&
	    c->queued < client_room())
		client_catch_up(c);
	else if (client_paused(c) && c->qhead == NULL && !c->closing &&
	         !relay.stopping)
		client_replay_resume(c);
	if (c->qhead == NULL && c->state == CL_ANSWERED)
		client_close_later(c, "answered");
	else
		client_events(c);
}

/*
 * Send b to c: straight to the socket when nothing is queued, else (and
 * for what the kernel does not take) queue a reference. Over the buffer
 * cap the client is cut off.
 */
void
client_send(struct client *c, struct blob *b)
{
	struct outq *q;
	size_t off = 0;
	char why[80];
	ssize_t n;

	if (c->closing)
		return;
	if (c->qhead == NULL) {
		n = send(c->w.fd, b->data, b->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			client_close_later(c, "write error");
			return;
		}
		if (n > 0) {
			slot_add(&relay.stats->bytes_sent, (uint64_t)n);
			off = (size_t)n;
		}
		if (off == b->len) {
			if (c->state == CL_ANSWERED)
				client_close_later(c, "answered");
			return;
		}
	}
	if (c->queued + (b->len - off) > (size_t)relay.conf.relay.max_buffer) {
		snprintf(why, sizeof why,
		    "%zu bytes queued, over "
		    "relay.max_buffer",
		    c->queued);
		client_cut_off(c, why);
		return;
	}
	if ((q = malloc(sizeof *q)) == NULL) {
		client_close_later(c, "out of memory");
		return;
	}
	q->next = NULL;
	q->b = blob_ref(b);
	q->off = off;
	if (c->qtail != NULL)
		c->qtail->next = q;
	else
		c->qhead = q;
	c->qtail = q;
	c->queued += b->len - off;
	client_events(c);
}

/* Does event b pass c's filter? (The hub already sorts live events.) */
static int
client_wants(struct client *c, struct blob *b)
{
	const char *v =
	    c->link.topic != NULL ? hub_topic_value(c->link.topic) : NULL;

	switch (c->kind) {
	case HUB_ORDER:
		return v != NULL && strcmp(b->order_id, v) == 0;
	case HUB_USER:
		return v != NULL && strcmp(b->username, v) == 0;
	default:
		return 1;
	}
}

/* An event for c, sent once: sequences at or below last_seq are dropped. */
static void
client_event(struct client *c, struct blob *b)
{
	if (b->seq <= c->last_seq || !client_wants(c, b))
		return;
	c->last_seq = b->seq;
	slot_add(&relay.stats->events_sent, 1);
	c->next_ping = ids_mono_ms() + relay.conf.relay.heartbeat_s * 1000;
	client_send(c, b);
}

/*
 * A live event from the hub; replaying clients get theirs from the replay,
 * and clients catching up from the ring, which holds this one too.
 */
void
client_deliver(struct client *c, struct blob *b)
{
	if (c->state == CL_STREAM && !c->replaying && !c->catching_up)
		client_event(c, b);
}

/* One ring event to a client catching up; non-zero: enough for now. */
static int
client_walk(struct client *c, struct blob *b)
{
	client_event(c, b);
	if (c->last_seq < b->seq) /* filtered out: handled all the same */
		c->last_seq = b->seq;
	return c->closing || c->queued >= client_room();
}

/* ---- replays ----------------------------------------------------------------
 */

/*
 * The client whose running replay is id. Each replay has an id of its
 * own, not the client's: a paused replay's last events, still queued from
 * nats.c's thread, must not be taken for the next one's.
 */
static struct client *
client_find_replaying(uint64_t id)
{
	struct client *c;

	for (c = replaying; c != NULL; c = c->next_replay) {
		if (c->rid == id)
			return c->closing ? NULL : c;
	}
	return NULL;
}

/* Start a JetStream replay for c; -1 when max_replays already run. */
static int
client_replay_start(struct client *c, uint64_t seq, int64_t ms)
{
	uint64_t rid = next_id++;

	if (feed_replay_start(rid, seq, ms) == -1)
		return -1;
	c->rid = rid;
	return 0;
}

/* Replaying clients have a list of their own: few, and looked up by id. */
static void
client_replay_begin(struct client *c)
{
	c->replaying = 1;
	c->next_replay = replaying;
	replaying = c;
}

static void
client_replay_end(struct client *c)
{
	struct client **p;

	for (p = &replaying; *p != NULL; p = &(*p)->next_replay) {
		if (*p == c) {
			*p = c->next_replay;
			break;
		}
	}
	c->replaying = 0;
	if (c->rid != 0)
		feed_replay_stop(c->rid);
	c->rid = 0;
}

/*
 * A replay goes as fast as JetStream sends, so when c's queue passes half
 * of relay.max_buffer it is stopped (c->rid 0: paused, still replaying,
 * so live events skip c), and started again after the last event sent
 * once the queue is empty (client_flush, or the tick if max_replays were
 * busy): the kernel's socket buffer still holds plenty for the client to
 * read meanwhile, and each restart costs the worker a consumer. A long
 * resume from JetStream thus goes at the client's pace too; a client that
 * stops reading while paused is cut off by the tick.
 */
static int
client_paused(const struct client *c)
{
	return c->replaying && c->rid == 0;
}

static void
client_replay_pause(struct client *c)
{
	log_debug("client %llu: replay %llu paused after event %llu",
	    (unsigned long long)c->id, (unsigned long long)c->rid,
	    (unsigned long long)c->last_seq);
	feed_replay_stop(c->rid);
	c->rid = 0;
	c->paused_at = ids_mono_ms();
}

static void
client_replay_resume(struct client *c)
{
	/* The ring may hold all that is left by now. */
	if (feed_ring_from(c->last_seq, NULL, NULL) == 0) {
		client_go_live(c);
		return;
	}
	if (client_replay_start(c, c->last_seq + 1, 0) == 0)
		log_debug("client %llu: replay %llu from event %llu",
		    (unsigned long long)c->id, (unsigned long long)c->rid,
		    (unsigned long long)c->last_seq + 1);
}

/*
 * A client too slow for the stream: its queue passed relay.max_buffer, or
 * the ring moved on past it while it caught up. Worth an operator's eye,
 * as nats-server's "Slow Consumer Detected" is: it loses its stream (and
 * resumes with Last-Event-ID).
 */
static void
client_cut_off(struct client *c, const char *why)
{
	slot_add(&relay.stats->slow_disconnects, 1);
	log_warnx("client %llu: cut off after event %llu: %s",
	    (unsigned long long)c->id, (unsigned long long)c->last_seq, why);
	client_close_later(c, why);
}

/*
 * Send c the ring's events after what it has had while its queue stays
 * under half of relay.max_buffer; client_flush() asks for more as the
 * socket drains, and live events skip c until it is at the ring's end
 * (they are in the ring too, and come in their turn). So a resume of
 * thousands of events goes at the client's pace instead of cutting it off
 * as slow. A client slower than that, which the ring leaves behind, is
 * cut off: client_tick() checks the ones that stopped reading.
 */
static void
client_catch_up(struct client *c)
{
	switch (feed_ring_from(c->last_seq, client_walk, c)) {
	case 0:
		c->catching_up = 0;
		return;
	case 1:
		c->catching_up = 1;
		return;
	}
	c->catching_up = 0;
	client_cut_off(c, "the ring moved on past it while it caught up");
}

/* The replay reached what the ring holds: finish from the ring, go live. */
static void
client_go_live(struct client *c)
{
	client_replay_end(c);
	client_catch_up(c);
}

void
client_replay_event(uint64_t id, struct blob *b)
{
	struct client *c;

	if ((c = client_find_replaying(id)) == NULL)
		return;
	/* Full: b comes again when the replay starts after last_seq. */
	if (c->last_seq != 0 && b->seq > c->last_seq &&
	    c->queued >= client_room()) {
		client_replay_pause(c);
		return;
	}
	client_event(c, b);
	/* The ring holds everything after b: switch over. */
	if (c->last_seq < b->seq)
		c->last_seq = b->seq;
	if (feed_ring_from(c->last_seq, NULL, NULL) == 0)
		client_go_live(c);
}

/*
 * The replay for id has nothing more pending (why "caught up", seq the
 * stream sequence it has delivered up to), failed (why set, seq 0), or
 * says the id was older than the stream (why NULL, seq the first available
 * sequence).
 */
void
client_replay_done(uint64_t id, uint64_t seq, const char *why)
{
	struct client *c;
	struct blob *b;
	char data[64];
	int n;

	if ((c = client_find_replaying(id)) == NULL)
		return;
	if (why == NULL) {
		slot_add(&relay.stats->resets, 1);
		n = snprintf(data, sizeof data, "{\"first_id\":%llu}",
		    (unsigned long long)seq);
		if ((b = blob_event(seq - 1, "reset", data, (size_t)n)) !=
		    NULL) {
			client_send(c, b);
			blob_unref(b);
		}
		c->last_seq = seq - 1;
		return;
	}
	if (seq == 0) {
		client_close_later(c, why);
		return;
	}
	/*
	 * Caught up means the replay delivered up to seq, but its events
	 * come on a nats.c thread and may still be queued behind this notice:
	 * skipping to seq would lose them. Wait until c has had them all, and
	 * while the ring cannot take over yet (it is back-filled at start-up)
	 * stay on the replay, which goes on with the live events;
	 * client_replay_event() switches over later.
	 */
	if (c->last_seq < seq || feed_ring_from(c->last_seq, NULL, NULL) == -1)
		return;
	client_go_live(c);
}

/*
 * The replay for id had nothing to send: every stored event up to seq is
 * before what the client asked for (a since= after the last event). It
 * goes live now, not at the next order, which on a quiet stream may be
 * long in coming while it holds one of relay.max_replays.
 */
void
client_replay_nothing(uint64_t id, uint64_t seq)
{
	struct client *c;

	if ((c = client_find_replaying(id)) == NULL)
		return;
	if (c->last_seq < seq)
		c->last_seq = seq;
	if (feed_ring_from(c->last_seq, NULL, NULL) == 0)
		client_go_live(c);
}

/*
 * The ring has just become able to take over (its back-fill at start-up
 * is done): replays that stayed on only to wait for it go live now, not
 * at their next event, which on a quiet stream may be long in coming.
 */
void
client_ring_ready(void)
{
	struct client *c, *next;

	for (c = replaying; c != NULL; c = next) {
		next = c->next_replay; /* client_go_live() unlinks c */
		if (!c->closing && feed_ring_from(c->last_seq, NULL, NULL) == 0)
			client_go_live(c);
	}
}

/* ---- the request ------------------------------------------------------------
 */

static void
client_answer(struct client *c, struct blob *b)
{
	c->state = CL_ANSWERED;
	if (b == NULL) {
		client_close_later(c, "out of memory");
		return;
	}
	client_send(c, b);
	blob_unref(b);
}

static unsigned
client_retry_ms(void)
{
	unsigned r = 0, jitter = (unsigned)relay.conf.relay.retry_jitter_ms;

	if (jitter > 0 && getrandom(&r, sizeof r, GRND_NONBLOCK) == sizeof r)
		r %= jitter + 1;
	return (unsigned)relay.conf.relay.retry_ms + r;
}

static struct blob *
client_stream_head(void)
{
	char head[512];
	size_t n;

	n = (size_t)snprintf(head, sizeof head,
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/event-stream\r\n"
	    "Cache-Control: no-cache\r\n"
	    "X-Accel-Buffering: no\r\n"
	    "Connection: close\r\n"
	    "\r\n");
	n += sse_retry(head + n, sizeof head - n, client_retry_ms());
	n += sse_comment(head + n, sizeof head - n, "connected");
	return blob_new(head, n);
}

/*
 * replay_last: the ring's last n events, then live. While the ring is
 * still being back-filled at start-up it does not hold the last events
 * yet, so the same n come from JetStream instead (nothing if the stream's
 * end is not known yet either; a reset first if the stream no longer holds
 * n). -1 when too many replays run.
 */
static int
client_replay_last(struct client *c)
{
	uint64_t n = (uint64_t)relay.conf.relay.replay_last;
	uint64_t last = feed_last_seq(), after;

	if (feed_ring_last(relay.conf.relay.replay_last, &after) == 0) {
		c->last_seq = after;
		client_catch_up(c);
		return 0;
	}
	c->last_seq = last > n ? last - n : 0;
	if (last == 0)
		return 0;
	if (client_replay_start(c, c->last_seq + 1, 0) == -1)
		return -1;
	client_replay_begin(c);
	return 0;
}

/* Where the stream starts: resume, since, replay_last, or live. */
static int
client_start_position(struct client *c, const struct http_req *req)
{
	if (req->has_last_event_id) {
		c->last_seq = req->last_event_id;
		/*
		 * An id past the end this relay knows goes to JetStream, which
		 * tells a relay lagging behind the one that sent it from an id
		 * the stream never had (worker_start in feed.c).
		 */
		if (req->last_event_id <= feed_last_seq() &&
		    feed_ring_from(req->last_event_id, NULL, NULL) == 0) {
			slot_add(&relay.stats->resumes_ring, 1);
			client_catch_up(c);
			return 0;
		}
		if (client_replay_start(c, req->last_event_id + 1, 0) == -1)
			return -1;
		slot_add(&relay.stats->resumes_jetstream, 1);
		client_replay_begin(c);
		return 0;
	}
	if (req->has_since) {
		if (client_replay_start(c, 0, req->since_ms) == -1)
			return -1;
		slot_add(&relay.stats->resumes_jetstream, 1);
		client_replay_begin(c);
		return 0;
	}
	c->last_seq = feed_last_seq();
	if (relay.conf.relay.replay_last > 0)
		return client_replay_last(c);
	return 0;
}

static void
client_stream(struct client *c, const struct http_req *req)
{
	struct blob *head;

	c->kind = req->order_id[0] != '\0'   ? HUB_ORDER
	          : req->username[0] != '\0' ? HUB_USER
	                                     : HUB_ALL;
	if (hub_add(c, &c->link, c->kind,
	        c->kind == HUB_ORDER ? req->order_id : req->username) == -1) {
		client_answer(
		    c, api_error(503, "Service Unavailable", "out of memory"));
		return;
	}
	c->in_hub = 1;
	if ((head = client_stream_head()) == NULL) {
		client_close_later(c, "out of memory");
		return;
	}
	c->state = CL_STREAM;
	c->next_ping = ids_mono_ms() + relay.conf.relay.heartbeat_s * 1000;
	client_send(c, head);
	blob_unref(head);
	if (client_start_position(c, req) == -1) {
		/* Too many JetStream replays at once: come back later. */
		client_close_later(c, "replays busy");
	}
}

static void
client_route(struct client *c, const struct http_req *req)
{
	if (strcmp(req->method, "GET") != 0) {
		client_answer(c, api_error(405, "Method Not Allowed",
		                     "only GET is served here"));
		return;
	}
	if (strcmp(req->path, "/v1/order/sse") == 0)
		client_stream(c, req);
	else if (strcmp(req->path, "/healthz") == 0)
		client_answer(c, api_health());
	else if (strcmp(req->path, "/metrics") == 0)
		client_answer(c, api_metrics());
	else
		client_answer(
		    c, api_error(404, "Not Found", "no such resource"));
}

/* Parse what has arrived; answer when the head is complete. */
static void
client_parse(struct client *c, const char *buf, size_t len)
{
	struct http_req req;
	size_t used;

	switch (http_parse(
	    buf, len, (size_t)relay.conf.relay.header_max, &req, &used)) {
	case HTTP_INCOMPLETE:
		if (c->rbuf == NULL &&
		    (c->rbuf = malloc(
		         (size_t)relay.conf.relay.header_max + 1)) == NULL) {
			client_close_later(c, "out of memory");
			return;
		}
		if (buf != c->rbuf)
			memcpy(c->rbuf, buf, len);
		c->rlen = len;
		return;
	case HTTP_TOO_LARGE:
		slot_add(&relay.stats->bad_requests, 1);
		client_answer(
		    c, api_error(431, "Request Header Fields Too Large",
		           "request head over relay.header_max"));
		break;
	case HTTP_BAD:
		slot_add(&relay.stats->bad_requests, 1);
		client_answer(c, api_error(400, "Bad Request", req.bad));
		break;
	case HTTP_OK:
		client_route(c, &req);
		break;
	}
	free(c->rbuf);
	c->rbuf = NULL;
	c->rlen = 0;
}

static void
client_read(struct client *c)
{
	static char chunk[CLIENT_READ_CHUNK];
	size_t room;
	ssize_t n;

	if (c->state != CL_READ) {
		/* A stream's client has nothing to say; EOF means it left. */
		n = recv(c->w.fd, chunk, sizeof chunk, MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			client_close_later(c, "client left");
		return;
	}
	if (c->rbuf == NULL) {
		n = recv(c->w.fd, chunk, sizeof chunk, MSG_DONTWAIT);
		if (n > 0)
			client_parse(c, chunk, (size_t)n);
	} else {
		room = (size_t)relay.conf.relay.header_max + 1 - c->rlen;
		n = recv(c->w.fd, c->rbuf + c->rlen, room, MSG_DONTWAIT);
		if (n > 0)
			client_parse(c, c->rbuf, c->rlen + (size_t)n);
	}
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
		client_close_later(c, "client left");
}

static void
client_io(struct watcher *w, uint32_t events)
{
	struct client *c = (struct client *)w;

	if (c->closing)
		return;
	if (events & EPOLLOUT)
		client_flush(c);
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		client_read(c);
}

/* ---- life cycle -------------------------------------------------------------
 */

/* Over relay.max_clients: a 503, written once, best effort, and close. */
static void
client_refuse(int fd)
{
	struct blob *b;

	slot_add(&relay.stats->rejected_full, 1);
	if ((b = api_error(503, "Service Unavailable",
	         "relay.max_clients reached; retry later")) != NULL) {
		if (send(fd, b->data, b->len, MSG_NOSIGNAL | MSG_DONTWAIT) ==
		    -1)
			log_debug("%s: send: %s", __func__, strerror(errno));
		blob_unref(b);
	}
	close(fd);
}

/* A new connection from listen.c. */
void
client_accept(int fd, int tcp)
{
	struct client *c;
	int one = 1;

	if (relay.stopping || relay.nclients >= relay.conf.relay.max_clients ||
	    (c = calloc(1, sizeof *c)) == NULL) {
		client_refuse(fd);
		return;
	}
	if (tcp)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->w.fd = fd;
	c->w.cb = client_io;
	c->tcp = tcp ? 1 : 0;
	c->id = next_id++;
	c->state = CL_READ;
	c->deadline = ids_mono_ms() + relay.conf.relay.request_timeout_s * 1000;
	if (loop_add(&c->w, EPOLLIN | EPOLLRDHUP) == -1) {
		close(fd);
		free(c);
		return;
	}
	c->next = clients;
	if (clients != NULL)
		clients->prev = c;
	clients = c;
	relay.nclients++;
	slot_add(&relay.stats->clients_total, 1);
}

static void
client_free(struct client *c)
{
	struct outq *q;

	if (c->in_hub)
		hub_remove(&c->link);
	if (c->replaying)
		client_replay_end(c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	loop_del(&c->w);
	close(c->w.fd);
	while ((q = c->qhead) != NULL) {
		c->qhead = q->next;
		blob_unref(q->b);
		free(q);
	}
	free(c->rbuf);
	free(c);
	relay.nclients--;
}

/* Close every client marked during the batch that just ended. */
void
client_reap(void)
{
	struct client *c;

	while ((c = relay.closing) != NULL) {
		relay.closing = c->next_closing;
		client_free(c);
	}
}

/*
 * A paused replay whose queue is empty: max_replays were busy when it
 * drained, try again. One whose queue has not drained for four
 * heartbeats: the client stopped reading.
 */
static void
client_tick_paused(struct client *c, int64_t now)
{
	if (c->qhead == NULL) {
		if (!relay.stopping)
			client_replay_resume(c);
	} else if (now - c->paused_at >
	           4 * (int64_t)relay.conf.relay.heartbeat_s * 1000)
		client_cut_off(
		    c, "stopped reading while its replay was paused");
}

/* Every second: request timeouts, heartbeats, paused and slow clients. */
void
client_tick(int64_t now)
{
	struct client *c;

	if (ping_blob == NULL &&
	    (ping_blob = blob_new(": ping\n\n", 8)) == NULL)
		return;
	for (c = clients; c != NULL; c = c->next) {
		if (c->closing)
			continue;
		if (c->state == CL_READ && now >= c->deadline) {
			client_close_later(c, "request timeout");
			continue;
		}
		if (c->state != CL_STREAM)
			continue;
		if (client_paused(c))
			client_tick_paused(c, now);
		else if (c->catching_up &&
		         feed_ring_from(c->last_seq, NULL, NULL) == -1)
			client_cut_off(c, "stopped reading while it caught up, "
			                  "and the ring moved on past it");
		if (!c->closing && now >= c->next_ping) {
			c->next_ping =
			    now + relay.conf.relay.heartbeat_s * 1000;
			client_send(c, ping_blob);
		}
	}
}

/* SIGTERM: end every stream cleanly (FIN after what is queued). */
void
client_close_all(void)
{
	struct client *c;

	for (c = clients; c != NULL; c = c->next) {
		if (c->qhead != NULL)
			client_flush(c);
		shutdown(c->w.fd, SHUT_WR);
		client_close_later(c, "shutting down");
	}
	client_reap();
	blob_unref(ping_blob);
	ping_blob = NULL;
}
