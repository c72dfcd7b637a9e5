/*
 * paddock.h: the paddock-fcgi responder's own types. One thread per
 * process runs an epoll loop (loop.c) over the listening socket, the
 * FastCGI connections and the NATS socket. A connection (conn.c) reads
 * FastCGI records until a request is whole; request.c presents it, route.c
 * sends it to one api-*.c handler, and reply.c, the only file that knows
 * HTTP status codes, answers. An order's answer waits in the loop for its
 * JetStream acknowledgement; nothing blocks the thread. ready.c checks the
 * stream from a thread of its own, since that check waits for replies the
 * loop reads. metrics.c counts every answer, in a file the pool's other
 * processes can read, for GET /metrics (api-metrics.c).
 */
#ifndef PADDOCK_H
#define PADDOCK_H

#include <pthread.h>
#include <stdint.h>
#include <sys/queue.h>

#include "boxbox.h"

#ifndef TAILQ_FOREACH_SAFE /* BSD's, which glibc's sys/queue.h lacks */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)                             \
	for ((var) = TAILQ_FIRST(head);                                        \
	     (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);            \
	     (var) = (tvar))
#endif

struct loop;
struct ready;

/* The process: configuration, the NATS connection and the loop. */
struct app {
	struct bb_conf conf;
	struct bus *bus;
	struct loop *loop;
	struct ready *ready;
};

/* A growable byte buffer; buf_free() releases it. */
struct buf {
	char *p;
	size_t len;
	size_t cap;
};

#define REQUEST_HEADERS_MAX 2048

/*
 * One request, inside its connection. The strings it points to live in
 * the connection's buffers until the answer is written.
 */
struct request {
	struct app *app;
	struct conn *conn;
	char method[16];
	char path[256];
	const char *content_type;
	const char *origin;
	long long content_length; /* -1 when absent */
	const char *body;         /* NUL-terminated, at most max_body */
	size_t body_len;
	int body_over; /* more than order.max_body bytes came */
	int order;     /* routed to api_order(), for the metrics */
	int64_t start_ns;

	/* filled while answering */
	int status;  /* the HTTP status once answered, else 0 */
	int pending; /* waiting for a JetStream acknowledgement */
	char order_id[IDS_UUID_LEN + 1];
	char ordered_at[IDS_TIME_LEN + 1];
	char headers[REQUEST_HEADERS_MAX]; /* extra "Name: value\r\n" lines */
	size_t headers_len;
};

/* buf.c */
int buf_reserve(struct buf *, size_t);
int buf_add(struct buf *, const void *, size_t);
void buf_trim(struct buf *, size_t);
void buf_free(struct buf *);

/* conn.c: a FastCGI connection */
enum conn_state {
	CONN_BEGIN,  /* waiting for FCGI_BEGIN_REQUEST */
	CONN_PARAMS, /* reading FCGI_PARAMS */
	CONN_STDIN,  /* reading FCGI_STDIN */
	CONN_ACK,    /* an order waits for its acknowledgement */
	CONN_WRITE,  /* the answer waits for the socket */
};

struct conn {
	TAILQ_ENTRY(conn) entry; /* loop's io list, or its ack list */
	struct app *app;
	int fd;      /* -1 once closed */
	int watched; /* registered on the loop's epoll */
	enum conn_state state;
	unsigned req_id;
	int keep;     /* FCGI_KEEP_CONN: the web server reuses the connection */
	int closing;  /* close once the output is written */
	int peer_eof; /* the web server closed its side */
	int fresh;    /* accepted, nothing read yet: a request is on its way */

	struct buf in; /* records read; those before in_off are done */
	size_t in_off;
	struct buf params;
	struct buf body;
	struct buf out; /* records to write */
	size_t out_off;
	struct buf pdecoded; /* the parameters: "name\0value\0"... */

	struct request req;
	struct buf resp; /* the answer's HTTP head and body */
	uint64_t token;  /* of the publish awaited */
	unsigned epoch;
	int64_t deadline_ms; /* io: idle limit; ack: acknowledgement limit */
};

TAILQ_HEAD(conn_list, conn);

struct conn *conn_new(struct app *, int);
void conn_free(struct conn *);
void conn_free_spares(void);
int conn_input(struct conn *);
int conn_output(struct conn *);
int conn_answered(struct conn *);
int conn_resume(struct conn *);
int conn_idle(const struct conn *);
const char *conn_param(const struct conn *, const char *);
void conn_stdout(struct conn *, const char *, size_t);
int conn_output_pending(const struct conn *);

/* loop.c: the event loop */
struct loop *loop_new(struct app *, int, char **);
int loop_nats_open(struct loop *, bus_event_cb, char **);
void loop_run(struct loop *);
void loop_free(struct loop *);
uint64_t loop_await_ack(struct loop *, struct conn *);
int loop_acks_full(const struct loop *);
void loop_watch(struct loop *, struct conn *, uint32_t);
int loop_stopping(const struct loop *);
int loop_publish_closed(const struct loop *);
void loop_wake(struct loop *);

/* ready.c: the stream check, on its own thread */
int ready_start(struct app *);
void ready_request_stop(struct ready *);
int ready_stopped(struct ready *);
void ready_free(struct ready *);
enum bb_status ready_get(struct ready *, struct bb_err *);

/* request.c */
void request_begin(struct request *, struct app *, struct conn *);
enum bb_status request_check_body(struct request *, struct bb_err *);
void request_header(struct request *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void request_header_line(struct request *, const char *, size_t);
void request_log(const struct request *, int64_t);
int64_t request_elapsed_us(const struct request *);
int request_is_head(const struct request *);

/* route.c */
#define ROUTE_GET     0x01
#define ROUTE_HEAD    0x02
#define ROUTE_POST    0x04
#define ROUTE_OPTIONS 0x08

void route_dispatch(struct request *);

/* reply.c */
void reply_json(struct request *, int, struct json_object *);
void reply_raw(struct request *, int, const char *, size_t);
void reply_text(struct request *, int, const char *, const char *, size_t);
void reply_error(struct request *, enum bb_status, const struct bb_err *);
void reply_empty(struct request *, int);

/* metrics.c: the pool's counters, one file per process (see there) */
#define METRICS_CODE_MIN 100
#define METRICS_CODE_MAX 599
#define METRICS_CODES    (METRICS_CODE_MAX - METRICS_CODE_MIN + 1)
#define METRICS_BUCKETS  13          /* twelve bounds, then over the last */
#define METRICS_MAGIC    0x314d4242u /* "BBM1": the layout below */

struct metrics {
	struct slot_head head; /* METRICS_MAGIC, sizeof(struct metrics) */
	uint64_t requests[METRICS_CODES];       /* answered, by status */
	uint64_t orders[METRICS_CODES];         /* POST /v1/order, by status */
	uint64_t order_bucket[METRICS_BUCKETS]; /* 200s by duration, each
	                                            bucket its own */
	uint64_t order_sum_us;
	uint64_t in_flight;      /* gauges: awaiting a PubAck, */
	uint64_t conns;          /* FastCGI connections open, */
	uint64_t nats_connected; /* 1 when connected */
};

struct metrics_sum {
	struct metrics m;
	unsigned processes; /* live ones */
};

extern const uint64_t metrics_bounds_us[METRICS_BUCKETS - 1];

int metrics_open(const char *, char **);
void metrics_close(void);
void metrics_request(int, int, int64_t);
void metrics_gauges(uint64_t, uint64_t, int);
int metrics_sum(const char *, struct metrics_sum *);

/* cors.c */
void cors_headers(struct request *);
void cors_preflight(struct request *, const char *);

/* api-order.c */
void api_order(struct request *);
void api_order_acked(struct request *, enum bb_status, const char *);

/* api-metrics.c */
void api_metrics(struct request *);

/* api-health.c */
void api_health(struct request *);
void api_health_live(struct request *);
void api_health_ready(struct request *);

#endif
