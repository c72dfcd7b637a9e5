/*
 * relay.h: sse-relay, one long-lived event-loop daemon per host that holds
 * the NATS subscription and streams order events to browsers as
 * Server-Sent Events. One thread (the loop) owns every client socket;
 * nats.c delivers on its own threads, so feed.c queues each message and
 * wakes the loop through an eventfd.
 *
 *   main.c    arguments, configuration, signals, run and stop the loop
 *   loop.c    epoll, the wake-up eventfd and the one-second tick
 *   listen.c  listening sockets (TCP with SO_REUSEPORT, unix), accept,
 *             pause on EMFILE
 *   client.c  one connection: read the request, answer, stream, buffer
 *             cap, heartbeats, close
 *   http.c    pure: parse a request head (method, path, query, headers)
 *   sse.c     pure: SSE framing of events and comments
 *   hub.c     which clients want which event: all, by order, by user
 *   feed.c    the JetStream ordered consumer, the recent-event ring, the
 *             replay of stored events for Last-Event-ID and since=
 *   api.c     /healthz and /metrics
 *   stats.c   the counters, in a slot other relay processes can add up
 */
#ifndef RELAY_H
#define RELAY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>

#include "boxbox.h"

/* ---- sse.c: pure framing ------------------------------------------------ */

/*
 * Each writes the frame into buf (len bytes) and returns the frame's full
 * length, like snprintf: when the return is >= len, nothing useful was
 * written and the caller retries with a larger buffer. buf is always
 * NUL-terminated when len > 0.
 */

/*
 * An event: "id: <id>\n" (omitted when id is 0), "event: <event>\n"
 * (omitted when event is NULL), one "data: <line>\n" per line of data, the
 * lines split on CR, LF and CRLF as the SSE specification reads them (so a
 * payload can never end the event early or forge a field), then a blank
 * line. Empty data gives one "data: \n" line.
 */
size_t sse_event(char *buf, size_t len, uint64_t id, const char *event,
    const char *data, size_t dlen);

/* A comment: ": <text>\n\n" (the text's line breaks become spaces). */
size_t sse_comment(char *buf, size_t len, const char *text);

/* A reconnection delay: "retry: <ms>\n\n". */
size_t sse_retry(char *buf, size_t len, unsigned ms);

/* ---- http.c: pure request parsing -------------------------------------- */

#define HTTP_ORDER_ID_MAX 64
#define HTTP_USERNAME_MAX 64

enum http_status {
	HTTP_INCOMPLETE, /* need more bytes */
	HTTP_OK,         /* a whole, valid request head */
	HTTP_BAD,        /* 400: malformed */
	HTTP_TOO_LARGE,  /* 431: head over the limit */
};

struct http_req {
	char method[8];
	char path[128];        /* decoded path, without the query */
	int has_last_event_id; /* header Last-Event-ID or ?last_event_id= */
	uint64_t last_event_id;
	int has_since; /* ?since=<RFC 3339> */
	int64_t since_ms;
	char order_id[HTTP_ORDER_ID_MAX + 1]; /* ?order_id=, "" if none */
	char username[HTTP_USERNAME_MAX + 1]; /* ?username=, "" if none */
	char bad[96]; /* why HTTP_BAD, for the 400 body */
};

/*
 * Parse the request head in buf[0..len), which need not be terminated.
 * The head ends with an empty line (CRLF CRLF, or LF LF); max is the most
 * bytes a head may take. On HTTP_OK, *used is the head's length. The header
 * Last-Event-ID wins over the query parameter last_event_id. Query values
 * are percent-decoded; '+' is a space. An id that is not a decimal number
 * below 2^64, a since that is not RFC 3339, a value over its maximum, a NUL
 * or control byte anywhere, or a request line that is not
 * "METHOD SP target SP HTTP/1.x" is HTTP_BAD with req->bad saying which.
 */
enum http_status http_parse(const char *buf, size_t len, size_t max,
    struct http_req *req, size_t *used);

/* Parse RFC 3339 ("2026-11-23T11:20:03Z", fractions and offsets allowed)
 * into Unix milliseconds; 0 on success, -1 if malformed. */
int http_parse_time(const char *s, int64_t *ms);

/* ---- blob.c: refcounted frames, shared by every client they go to ------ */

/*
 * Bytes to send: an event's frame, formatted once and shared by every
 * client it fans out to, or a head or comment for one client. Only the
 * loop thread touches refs once a blob is queued.
 */
struct blob {
	unsigned refs;
	uint64_t seq; /* stream sequence, 0 if not an event */
	char order_id[HTTP_ORDER_ID_MAX + 1];
	char username[HTTP_USERNAME_MAX + 1];
	size_t len;
	char data[];
};

struct blob *blob_new(const char *, size_t);
struct blob *blob_event(uint64_t, const char *, const char *, size_t);
struct blob *blob_ref(struct blob *);
void blob_unref(struct blob *);

/* ---- loop.c -------------------------------------------------------------- */

/* Whatever owns an fd starts with a watcher; epoll data points at it. */
struct watcher {
	int fd;
	void (*cb)(struct watcher *, uint32_t);
};

int loop_init(void);
int loop_add(struct watcher *, uint32_t);
int loop_mod(struct watcher *, uint32_t);
void loop_del(struct watcher *);
int loop_run(void);
void loop_stop(void);

/* ---- the relay's state ----------------------------------------------------
 */

struct client;

#define RELAY_STATS_MAGIC 0x31524242u /* "BBR1": the layout below */

/* Written by the loop's thread only, with slot_add() and slot_set(). */
struct relay_stats {
	struct slot_head head; /* RELAY_STATS_MAGIC, its size */
	uint64_t clients_total;
	uint64_t rejected_full;
	uint64_t events_received;
	uint64_t events_sent;
	uint64_t bytes_sent;
	uint64_t slow_disconnects;
	uint64_t resumes_ring;
	uint64_t resumes_jetstream;
	uint64_t resets;
	uint64_t bad_requests;
	uint64_t clients; /* gauges, as of the last tick or scrape: */
	uint64_t replays;
	uint64_t last_seq;
	uint64_t nats_connected; /* 1 with the live feed subscribed */
};

/* What every relay process sharing relay.metrics_dir adds up to. */
struct relay_sum {
	struct relay_stats s; /* gauges from live processes; last_seq the
	                         highest of them */
	unsigned processes;   /* live ones */
};

struct relay {
	struct bb_conf conf;
	struct relay_stats *stats; /* this process's, mapped (stats.c) */
	int nclients;
	int stopping;
	struct client *closing; /* closed at a safe point: after a fan-out */
};

extern struct relay relay;

/* ---- listen.c ------------------------------------------------------------ */

int listen_open(const char *, const char *, char **);
void listen_close(void);

/* ---- client.c ------------------------------------------------------------ */

void client_accept(int, int);
void client_send(struct client *, struct blob *);
void client_deliver(struct client *, struct blob *);
void client_close_later(struct client *, const char *);
void client_reap(void);
void client_tick(int64_t);
void client_close_all(void);
void client_replay_event(uint64_t, struct blob *);
void client_replay_done(uint64_t, uint64_t, const char *);
void client_replay_nothing(uint64_t, uint64_t);
void client_ring_ready(void);

/* ---- hub.c ----------------------------------------------------------------
 */

enum hub_kind { HUB_ALL, HUB_ORDER, HUB_USER };

/* A client's place in the index: one list, by its filter. */
struct hub_link {
	struct client *prev, *next;
	struct hub_topic *topic; /* NULL for HUB_ALL */
};

int hub_init(void);
void hub_free(void);
int hub_add(struct client *, struct hub_link *, enum hub_kind, const char *);
void hub_remove(struct hub_link *);
void hub_fanout(struct blob *);
int hub_topics(void);
const char *hub_topic_value(const struct hub_topic *);

/* hub.c calls this for each client an event is for. */
struct hub_link *client_link(struct client *);

/* ---- feed.c ----------------------------------------------------------------
 */

int feed_open(char **);
void feed_close(void);
void feed_drain(void);
int feed_connected(char *, size_t);
uint64_t feed_last_seq(void);
int feed_ring_from(
    uint64_t, int (*)(struct client *, struct blob *), struct client *);
int feed_ring_last(int, uint64_t *);
int feed_replay_start(uint64_t, uint64_t, int64_t);
void feed_replay_stop(uint64_t);
int feed_active_replays(void);

/* ---- api.c ------------------------------------------------------------------
 */

struct blob *api_health(void);
struct blob *api_metrics(void);
struct blob *api_error(int, const char *, const char *);

/* ---- stats.c ------------------------------------------------------------- */

void stats_open(void);
void stats_gauges(void);
int stats_sum(struct relay_sum *);
void stats_close(void);

#endif
