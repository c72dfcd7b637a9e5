/*
 * boxbox.h: the shared core of Box Box (libboxbox.a). Types and prototypes,
 * one section per source file. Nothing here knows about FastCGI or HTTP
 * codes; programs translate bb_status at their edge.
 */
#ifndef BOXBOX_H
#define BOXBOX_H

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#define BB_VERSION PACKAGE_VERSION

/* status.c */
enum bb_status {
	BB_OK = 0,
	BB_ENOMEM,    /* out of memory on a request path */
	BB_EBADJSON,  /* body is not well-formed JSON */
	BB_EINVALID,  /* body is JSON but not a valid order */
	BB_ETOOLARGE, /* body over the configured limit */
	BB_EMEDIA,    /* body is not application/json */
	BB_ENOTFOUND, /* no such resource */
	BB_EMETHOD,   /* resource exists, method does not */
	BB_EUNAVAIL,  /* NATS unreachable or JetStream refused */
	BB_ETIMEOUT,  /* JetStream acknowledgement did not come in time */
	BB_EINTERNAL, /* a bug or an unexpected library failure */
	BB_ECONF,     /* bad configuration */
	BB__MAX
};

/* One failing field, for the "details" of an error answer. */
struct bb_detail {
	char field[48];
	char message[112];
};

#define BB_DETAILS_MAX 32

/*
 * The reason travels with the failure: a human message and, for body
 * errors, every failing field. Lives on the caller's stack.
 */
struct bb_err {
	char message[192];
	int ndetails;
	int truncated; /* more failures than BB_DETAILS_MAX */
	struct bb_detail details[BB_DETAILS_MAX];
};

const char *bb_status_text(enum bb_status);
void bb_err_clear(struct bb_err *);
void bb_err_set(struct bb_err *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void bb_err_add(struct bb_err *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* log.c */
enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(const char *, enum log_level);
int log_open_file(const char *);
int log_level_parse(const char *, enum log_level *);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void log_line(const char *, size_t);
void log_buffered(int);
void log_flush(void);
size_t log_escape(char *, size_t, const char *);

/* fmt.c: appending text without printf, for per-request paths. */
struct fmt {
	char *p;
	size_t len, size;
	int cut; /* something did not fit */
};

/* Append a string literal, its length counted by the compiler. */
#define FMT_LIT(f, lit) fmt_mem((f), "" lit "", sizeof(lit) - 1)

void fmt_init(struct fmt *, char *, size_t);
void fmt_mem(struct fmt *, const char *, size_t);
void fmt_str(struct fmt *, const char *);
void fmt_uint(struct fmt *, uint64_t, int);
size_t fmt_end(struct fmt *, int *);

/* xmalloc.c: start-up only; request paths return BB_ENOMEM instead. */
void *xcalloc(size_t, size_t);
char *xstrdup(const char *);

/* conf.c */
struct bb_strv {
	char **v;
	int n;
};

struct bb_conf {
	struct {
		char *url;
		char *name;
		int connect_timeout_ms;
		int reconnect_wait_ms;
		int ack_timeout_ms;
		int max_pending;
	} nats;
	struct {
		char *name;
		char *subjects;
		char *prefix;
		int duplicate_window_s;
		int max_age_s;
		int replicas;
	} stream;
	struct {
		struct bb_strv sizes;
		int max_body;
	} order;
	struct {
		int backlog;
		int cpu_affinity;  /* pin each process to a CPU of its own */
		int max_conns;     /* connections one process holds at once */
		char *metrics_dir; /* the pool's metrics files; "": in memory */
	} fcgi;
	struct {
		struct bb_strv allow_origins;
		struct bb_strv allow_methods;
		struct bb_strv allow_headers;
		struct bb_strv expose_headers;
		int max_age;
		int allow_credentials;
	} cors;
	struct {
		char *level;
		char *file;
	} log;
	struct {
		char *listen;
		char *unix_path;
		int max_clients;
		int heartbeat_s;
		int retry_ms;
		int retry_jitter_ms;
		int max_buffer;
		int header_max;
		int request_timeout_s;
		int replay_last;
		int ring;
		int max_replays;
		char *metrics_dir; /* relays' metrics files; "": in memory */
	} relay;
	struct {
		int time_scale_pct; /* every kitchen duration, in % */
		int seed;           /* 0: a new random seed per start */
	} kitchen;
	struct {
		int dough_ms;
		int factor_min_pct;
		int factor_max_pct;
		int sleep_every_s; /* 0: never sleeps */
		int sleep_for_s;
		int oversleep_pct;
		int oversleep_factor_pct;
		int max_baking;
	} panettiere;
	struct {
		int batch;
		int fetch_wait_ms;
		int ack_wait_ms;
		int dough_attempts;
		int dough_backoff_ms; /* first retry; doubles each time */
		int dough_timeout_ms;
		int bake_ms;
		int deliver_ms;
		int smoke_ms;
		int oversmoke_pct;
		int oversmoke_factor_pct;
		int lunch_every_s;
		int lunch_for_s;
	} maestro;
};

#define CONF_ENV_PREFIX "PADDOCK_"

int conf_load(struct bb_conf *, const char *, int, char **);
void conf_free(struct bb_conf *);
void conf_print(const struct bb_conf *, FILE *);

/* daemon.c: the programs' shared start-up */
void daemon_check(struct bb_conf *);
void daemon_logging(const char *, const struct bb_conf *);
void daemon_signals(sigset_t *);

/*
 * slot.c: a process's counters in a file of a directory, which the others
 * of its program map and add up for GET /metrics (see there).
 */
struct slot_head {
	uint32_t magic; /* names the layout */
	uint32_t size;  /* of the whole slot: the layout, checked too */
};

struct slot {
	void *mem; /* mapped; begins with a struct slot_head */
	size_t size;
	int fd;      /* the slot's file, locked; -1: counting in memory */
	int on_disk; /* its directory is not on tmpfs: say so */
};

/* What a caller logs when on_disk (a format, with the directory). */
#define SLOT_ON_DISK                                                           \
	"metrics: %s is not on tmpfs: each write-back of a slot to the "       \
	"disk makes the next count wait for it; /run or /dev/shm would not"

/* A slot's memory, and whether a live process owns it. */
typedef void (*slot_cb)(const void *, int, void *);

int slot_open(
    struct slot *, const char *, const char *, size_t, uint32_t, char **);
void slot_close(struct slot *);
int slot_each(
    const struct slot *, const char *, const char *, uint32_t, slot_cb, void *);

/* Only a slot's owner writes it: a plain add, published whole. */
static inline void
slot_add(uint64_t *p, uint64_t v)
{
	__atomic_store_n(
	    p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

static inline void
slot_set(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline uint64_t
slot_get(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* ids.c: order ids (UUIDv7) and RFC 3339 times; thread-safe. */
#define IDS_UUID_LEN 36
#define IDS_TIME_LEN 24 /* 2026-11-23T11:20:03.123Z */

int64_t ids_now_ms(void);
int64_t ids_mono_ms(void);
enum bb_status ids_uuid7(char[IDS_UUID_LEN + 1], int64_t);
void ids_rfc3339_ms(char[IDS_TIME_LEN + 1], int64_t);
int ids_uuid_valid(const char *);

/* order.c */
#define ORDER_SIZE_LEN_MAX        64
#define ORDER_TOPPINGS_MAX        20
#define ORDER_TOPPING_LEN_MAX     64
#define ORDER_DESTINATION_LEN_MAX 128
#define ORDER_USERNAME_LEN_MAX    64
#define ORDER_DEPTH_MAX           8

/*
 * A validated order. Strings point into the json-c tree held in json;
 * order_free() releases it all.
 */
struct order {
	struct json_object *json;
	const char *size;
	const char *destination;
	const char *username;
	const char *toppings[ORDER_TOPPINGS_MAX];
	int ntoppings;
	char order_id[IDS_UUID_LEN + 1];
	char ordered_at[IDS_TIME_LEN + 1];
};

/*
 * Room for the stored form of any valid order: every string escaped at
 * worst 6 bytes for 1 (\u00xx), plus keys, an id, a time and a status.
 */
#define ORDER_JSON_MAX                                                         \
	(6 * (ORDER_TOPPINGS_MAX * (ORDER_TOPPING_LEN_MAX + 3) +               \
	         ORDER_DESTINATION_LEN_MAX + ORDER_USERNAME_LEN_MAX +          \
	         ORDER_SIZE_LEN_MAX) +                                         \
	    512)

enum bb_status order_parse(struct order *, const char *, size_t,
    const struct bb_strv *, struct bb_err *);
void order_free(struct order *);
enum bb_status order_stamp(struct order *);
int order_json_write(const struct order *, const char *, char *, size_t);
char *order_to_json(const struct order *, const char *);

/* json.c: strict checks json-c lacks, and the error body */
struct json_span {
	const char *p;
	size_t len;
};

int json_utf8_valid(const char *, size_t);
int json_scan(const char *, size_t, int *, struct json_span *, int);
struct json_object *json_err_body(const struct bb_err *);
const char *json_text(struct json_object *, size_t *);

/* bus.c: the NATS connection and JetStream; natsStatus never leaves it. */
struct bus;

enum bus_state { BUS_CONNECTED, BUS_CONNECTING, BUS_RECONNECTING, BUS_CLOSED };

typedef void (*bus_event_cb)(const char *);

int bus_open(struct bus **, const struct bb_conf *, bus_event_cb, char **);
void bus_close(struct bus *);
enum bb_status bus_publish(struct bus *, const char *, const char *,
    const char *, size_t, struct bb_err *);
void bus_publish_err(
    struct bb_err *, enum bb_status, const char *, const char *);
enum bus_state bus_state(struct bus *, char *, size_t);
enum bb_status bus_stream_ready(struct bus *, struct bb_err *);
const char *bus_state_text(enum bus_state);

/*
 * A message from an ordered subscription: its stream sequence and payload,
 * valid only during the call. Runs on a nats.c thread.
 */
typedef void (*bus_msg_cb)(void *, uint64_t, const char *, size_t);
struct bus_sub;

enum bb_status bus_subscribe(struct bus *, const char *, uint64_t, int64_t,
    bus_msg_cb, void *, struct bus_sub **, struct bb_err *);
void bus_unsubscribe(struct bus_sub *);
enum bb_status bus_sub_pending(
    struct bus_sub *, uint64_t *, uint64_t *, uint64_t *);
enum bb_status bus_stream_seqs(
    struct bus *, uint64_t *, uint64_t *, struct bb_err *);

/*
 * bus-loop.c: publishing from one thread's epoll loop (paddock-fcgi).
 * Everything but bus_open_loop() runs on the loop's thread. An
 * acknowledgement reaches bus_ack_cb with the publish's token, its status
 * (BB_OK: stored) and, on failure, a reason.
 */
typedef void (*bus_ack_cb)(void *, uint64_t, enum bb_status, const char *);

int bus_open_loop(struct bus **, const struct bb_conf *, bus_event_cb, int,
    void *, int, char **);
void bus_loop_io(struct bus *, uint32_t);
unsigned bus_loop_epoch(struct bus *);
enum bb_status bus_loop_publish(struct bus *, const char *, const char *,
    const char *, size_t, uint64_t, struct bb_err *);
void bus_loop_acks(struct bus *, bus_ack_cb, void *);
void bus_loop_flush(struct bus *);

/*
 * bus-rpc.c: NATS core request/reply. A request's reply subject and
 * payload, valid only during the call; reply is NULL when the sender
 * expects no answer. Runs on a nats.c thread, one message at a time per
 * subscription.
 */
typedef void (*bus_req_cb)(void *, const char *, const char *, size_t);
struct bus_rpc;

enum bb_status bus_serve(struct bus *, const char *, const char *, bus_req_cb,
    void *, struct bus_rpc **, struct bb_err *);
void bus_unserve(struct bus_rpc *);
enum bb_status bus_reply(struct bus *, const char *, const char *, size_t);
enum bb_status bus_flush(struct bus *, int);
enum bb_status bus_request(
    struct bus *, const char *, const char *, size_t, int, char **, size_t *);

/*
 * bus-pull.c: a durable JetStream pull consumer shared by several
 * processes. Each fetched message reaches the callback as an opaque
 * handle the callback then owns: exactly one of bus_msg_ack(),
 * bus_msg_nak() or bus_msg_term() must end it, and that call frees it.
 * The payload is valid until then.
 */
struct bus_pull;
struct bus_msg;
typedef void (*bus_pull_cb)(void *, struct bus_msg *, const char *, size_t);

enum bb_status bus_pull_open(struct bus *, const char *, const char *, int,
    struct bus_pull **, struct bb_err *);
enum bb_status bus_pull_fetch(
    struct bus_pull *, int, int, bus_pull_cb, void *, struct bb_err *);
void bus_pull_close(struct bus_pull *);
enum bb_status bus_msg_progress(struct bus_msg *);
enum bb_status bus_msg_ack(struct bus_msg *);
enum bb_status bus_msg_nak(struct bus_msg *, int);
enum bb_status bus_msg_term(struct bus_msg *);
int bus_msg_deliveries(struct bus_msg *);
enum bb_status bus_stream_has(
    struct bus *, const char *, const char *, struct bb_err *);

#endif
