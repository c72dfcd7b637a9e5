/*
 * maestro.c: the cook. Load the configuration, connect to NATS, take
 * pending orders in batches from the durable JetStream pull consumer
 * "maestro" on orders.waiting_to_cook.> (shared by every maestro, explicit
 * ack) and cook each in turn (maestro-order.c), answering
 * kitchen.maestro.health meanwhile; a cigarette after each order and
 * lunch between batches (maestro-break.c). SIGTERM or SIGINT: finish the
 * order in hand, give the rest of the batch back to the consumer, exit 0.
 * A cook killed outright loses nothing: its unacknowledged orders come
 * again after AckWait, and Nats-Msg-Id keeps each state stored once.
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kitchen.h"

#ifndef PADDOCK_CONF
#define PADDOCK_CONF "/etc/boxbox/paddock.conf"
#endif

#define MAESTRO_NATS_NAME "maestro"
#define MAESTRO_SETUP_MS  1000 /* retry the consumer this often */
#define MAESTRO_FETCH_MS  1000 /* longest pull request: see maestro_run */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: maestro [-nV] [-c file]\n"
	    "  -c file        configuration (default %s)\n"
	    "  -n             check the configuration, print it, and exit\n"
	    "  -V             print the version and exit\n",
	    PADDOCK_CONF);
	exit(2);
}

static void
on_bus_event(const char *what)
{
	log_info("%s", what);
}

/* Take a pending stop signal, waiting up to ms; 1 once one came. */
int
maestro_stop_due(struct maestro *m, int64_t ms)
{
	struct timespec ts;
	int sig;

	if (m->stopping)
		return 1;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	if ((sig = sigtimedwait(m->stop_set, NULL, &ts)) > 0) {
		log_info("signal %d: finishing the order in hand", sig);
		m->stopping = 1;
	}
	return m->stopping;
}

static const char *const maestro_state_names[] = {
    [MAESTRO_WORKING] = "working",
    [MAESTRO_SMOKING] = "smoking",
    [MAESTRO_LUNCH] = "lunch",
};

const char *
maestro_state_name(enum maestro_state state)
{
	return maestro_state_names[state];
}

/* Set the state; until for a break, order for work (NULL: none). */
void
maestro_state_set(struct maestro *m, enum maestro_state state, int64_t until,
    const char *order)
{
	pthread_mutex_lock(&m->mu);
	m->state = state;
	m->until = until;
	snprintf(m->order, sizeof m->order, "%s", order != NULL ? order : "");
	pthread_mutex_unlock(&m->mu);
}

/* The health body into buf: {"state":...} with "until" or "order". */
static int
maestro_state_json(struct maestro *m, char *buf, size_t size)
{
	char until[IDS_TIME_LEN + 1];
	int n;

	pthread_mutex_lock(&m->mu);
	if (m->state != MAESTRO_WORKING) {
		ids_rfc3339_ms(until, m->until);
		n = snprintf(buf, size, "{\"state\":\"%s\",\"until\":\"%s\"}",
		    maestro_state_names[m->state], until);
	} else if (m->order[0] != '\0')
		n = snprintf(buf, size,
		    "{\"state\":\"working\",\"order\":\"%s\"}", m->order);
	else
		n = snprintf(buf, size, "{\"state\":\"working\"}");
	pthread_mutex_unlock(&m->mu);
	return n;
}

/* kitchen.maestro.health, on a nats.c thread. */
static void
maestro_health(void *arg, const char *reply, const char *data, size_t len)
{
	struct maestro *m = arg;
	char body[128];
	int n;

	if (reply == NULL)
		return;
	n = maestro_state_json(m, body, sizeof body);
	if (n < 0 || (size_t)n >= sizeof body) {
		log_warnx("%s: health body too long", __func__);
		return;
	}
	if (bus_reply(m->bus, reply, body, (size_t)n) != BB_OK)
		log_warnx("%s: reply lost: not connected to NATS", __func__);
}

/* bus_pull_fetch's callback: hold the order; it is ours until released. */
static void
maestro_take(void *arg, struct bus_msg *msg, const char *data, size_t len)
{
	struct maestro *m = arg;

	m->held[m->nheld].msg = msg;
	m->held[m->nheld].data = data;
	m->held[m->nheld].len = len;
	m->nheld++;
}

/*
 * Cook the batch in order, with a cigarette after each order cooked (a
 * stop ends it, and the loop); on a stop, give back what is left.
 */
static void
maestro_cook_batch(struct maestro *m)
{
	for (m->cur = 0; m->cur < m->nheld; m->cur++) {
		if (maestro_stop_due(m, 0))
			break;
		if (maestro_order_cook(m, &m->held[m->cur]))
			maestro_break_smoke(m);
	}
	for (; m->cur < m->nheld; m->cur++)
		bus_msg_nak(m->held[m->cur].msg, 0); /* another cook, now */
	m->nheld = m->cur = 0;
}

/* Wait for the stream and bind the consumer; -1 if stopped first. */
static int
maestro_setup(struct maestro *m)
{
	const struct bb_conf *c = m->conf;
	char filter[256];
	struct bb_err e;
	int warned = 0;

	snprintf(
	    filter, sizeof filter, "%s.waiting_to_cook.>", c->stream.prefix);
	for (;;) {
		bb_err_clear(&e);
		if (bus_stream_ready(m->bus, &e) == BB_OK &&
		    bus_pull_open(m->bus, MAESTRO_DURABLE, filter,
		        c->maestro.ack_wait_ms, &m->pull, &e) == BB_OK)
			break;
		if (!warned++)
			log_warnx("waiting for the consumer: %s", e.message);
		if (maestro_stop_due(m, MAESTRO_SETUP_MS))
			return -1;
	}
	log_info("consumer %s on %s: batch %d, ack wait %d ms, time scale %d%%",
	    MAESTRO_DURABLE, filter, c->maestro.batch, c->maestro.ack_wait_ms,
	    c->kitchen.time_scale_pct);
	return 0;
}

/*
 * Fetch and cook until a stop signal. A fetch blocks and no signal cuts
 * it short, so an idle cook asks in pull requests of at most
 * MAESTRO_FETCH_MS: a stop or a lunch is never later than that.
 */
static void
maestro_run(struct maestro *m)
{
	const struct bb_conf *c = m->conf;
	int wait = c->maestro.fetch_wait_ms;
	enum bb_status st;
	struct bb_err e;

	if (wait > MAESTRO_FETCH_MS)
		wait = MAESTRO_FETCH_MS;
	while (!maestro_stop_due(m, 0)) {
		if (maestro_break_lunch(m))
			break;
		bb_err_clear(&e);
		st = bus_pull_fetch(
		    m->pull, c->maestro.batch, wait, maestro_take, m, &e);
		if (st == BB_OK)
			maestro_cook_batch(m);
		else if (st != BB_ETIMEOUT) {
			log_warnx("%s", e.message);
			maestro_stop_due(m, MAESTRO_SETUP_MS);
		}
	}
}

/* Parse the options; returns the configuration path. */
static const char *
parse_args(int argc, char **argv, int *check, int *required)
{
	const char *conf_path = PADDOCK_CONF;
	int ch;

	while ((ch = getopt(argc, argv, "c:nV")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			*required = 1;
			break;
		case 'n':
			*check = 1;
			break;
		case 'V':
			printf("maestro %s\n", BB_VERSION);
			exit(0);
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	return conf_path;
}

int
main(int argc, char **argv)
{
	const char *conf_path;
	int check = 0, required = 0;
	static struct maestro cook; /* the held batch is large */
	struct bb_conf conf;
	struct bb_err e;
	char *cause = NULL;
	uint64_t seed;
	sigset_t set;

	conf_path = parse_args(argc, argv, &check, &required);
	log_init("maestro", LOG_LVL_INFO);
	if (conf_load(&conf, conf_path, required, &cause))
		fatalx("configuration: %s", cause != NULL ? cause : "error");
	if (check) {
		daemon_check(&conf);
		return 0;
	}
	daemon_logging("maestro", &conf);
	/* The shared file names the gateway; tell NATS who we are. */
	if (getenv("PADDOCK_NATS_NAME") == NULL) {
		free(conf.nats.name);
		conf.nats.name = xstrdup(MAESTRO_NATS_NAME);
	}
	daemon_signals(&set);
	cook.conf = &conf;
	cook.stop_set = &set;
	seed = clock_kitchen_seed(&conf);
	pthread_mutex_init(&cook.mu, NULL); /* before health can ask */
	cook.state = MAESTRO_WORKING;
	clock_rng_seed(&cook.bake_rng, seed, CLOCK_STREAM_BAKE);
	maestro_break_init(&cook, seed);
	if (bus_open(&cook.bus, &conf, on_bus_event, &cause))
		fatalx("%s", cause != NULL ? cause : "cannot open NATS");
	bb_err_clear(&e);
	if (bus_serve(cook.bus, MAESTRO_HEALTH, MAESTRO_QUEUE, maestro_health,
	        &cook, &cook.health_sub, &e) != BB_OK)
		fatalx("%s", e.message);
	if (maestro_setup(&cook) == 0)
		maestro_run(&cook);
	bus_pull_close(cook.pull);
	bus_unserve(cook.health_sub);
	bus_close(cook.bus); /* waits for nats.c's threads: no callback after */
	log_info("stopped");
	pthread_mutex_destroy(&cook.mu);
	conf_free(&conf);
	return 0;
}
