/*
 * paddock.h: the paddock-fcgi responder's own types. A request arrives in
 * main.c's accept loop, is read by request.c, routed by route.c to one
 * api-*.c handler, and answered through reply.c, the only file that knows
 * HTTP status codes.
 */
#ifndef PADDOCK_H
#define PADDOCK_H

#include <stdatomic.h>
#include <stdint.h>

#include <fcgiapp.h>

#include "boxbox.h"

/* The process: configuration and the NATS connection, shared by threads. */
struct app {
	struct bb_conf conf;
	struct bus *bus;
	atomic_int stopping;
};

#define REQUEST_HEADERS_MAX 2048

/*
 * One request. Everything it points to lives in the FCGX request or the
 * worker's reused buffers; request_reset() makes it ready for the next.
 */
struct request {
	struct app *app;
	FCGX_Request *fcgx;
	char method[16]; /* copied: logged after FCGX_Finish_r frees params */
	char path[256];
	const char *content_type; /* these two point into the FCGX params: */
	const char *origin;       /* valid until FCGX_Finish_r() */
	long long content_length; /* -1 when absent */
	char *body;               /* the worker's buffer, max_body + 1 bytes */
	size_t body_len;
	int64_t start_ns;

	/* filled while answering */
	int status;
	char order_id[IDS_UUID_LEN + 1];
	char headers[REQUEST_HEADERS_MAX]; /* extra "Name: value\r\n" lines */
	size_t headers_len;
};

/* request.c */
void request_begin(struct request *, struct app *, FCGX_Request *, char *);
enum bb_status request_read_body(struct request *, struct bb_err *);
void request_header(struct request *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void request_log(const struct request *);
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
void reply_error(struct request *, enum bb_status, const struct bb_err *);
void reply_empty(struct request *, int);

/* cors.c */
void cors_headers(struct request *);
void cors_preflight(struct request *, const char *);

/* api-order.c */
void api_order(struct request *);

/* api-health.c */
void api_health(struct request *);
void api_health_live(struct request *);
void api_health_ready(struct request *);

#endif
