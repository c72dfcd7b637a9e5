/*
 * panettiere.c: the baker. Load the configuration, connect to NATS, serve
 * kitchen.panettiere.dough and kitchen.panettiere.health, and keep the
 * sleep schedule on the main thread until SIGTERM or SIGINT, which stop
 * the subscriptions, deliver every dough still in the oven and exit 0.
 */
#include "config.h"

#include <errno.h>
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

#define PANETTIERE_NATS_NAME "panettiere"
#define PANETTIERE_IDLE_MS   60000 /* wake this often with no change due */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: panettiere [-nV] [-c file]\n"
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

/*
 * Sleep until Unix ms next (or a while, if -1) unless a stop signal comes
 * first. Returns the signal, or 0.
 */
static int
wait_signal(const sigset_t *set, int64_t next)
{
	int64_t ms = next < 0 ? PANETTIERE_IDLE_MS : next - ids_now_ms();
	struct timespec ts;
	int sig;

	if (ms < 0)
		ms = 0;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	sig = sigtimedwait(set, NULL, &ts);
	return sig > 0 ? sig : 0;
}

/* Keep the schedule until a stop signal; returns the signal. */
static int
run(struct panettiere *p, const sigset_t *set)
{
	int sig;

	while ((sig = wait_signal(set, panettiere_serve_tick(p))) == 0)
		;
	return sig;
}

int
main(int argc, char **argv)
{
	const char *conf_path = PADDOCK_CONF;
	int ch, check = 0, required = 0, sig;
	struct panettiere baker;
	struct bb_conf conf;
	struct bus *bus = NULL;
	char *cause = NULL;
	sigset_t set;

	while ((ch = getopt(argc, argv, "c:nV")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			required = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'V':
			printf("panettiere %s\n", BB_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("panettiere", LOG_LVL_INFO);
	if (conf_load(&conf, conf_path, required, &cause))
		fatalx("configuration: %s", cause != NULL ? cause : "error");
	if (check) {
		daemon_check(&conf);
		return 0;
	}
	daemon_logging("panettiere", &conf);
	/* The shared file names the gateway; tell NATS who we are. */
	if (getenv("PADDOCK_NATS_NAME") == NULL) {
		free(conf.nats.name);
		conf.nats.name = xstrdup(PANETTIERE_NATS_NAME);
	}
	daemon_signals(&set);
	if (bus_open(&bus, &conf, on_bus_event, &cause))
		fatalx("%s", cause != NULL ? cause : "cannot open NATS");
	if (panettiere_serve_init(
	        &baker, &conf, bus, clock_kitchen_seed(&conf), &cause) == -1 ||
	    panettiere_serve_start(&baker, &cause) == -1)
		fatalx("%s", cause != NULL ? cause : "out of memory");
	log_info("serving %s and %s, time scale %d%%", PANETTIERE_DOUGH,
	    PANETTIERE_HEALTH, conf.kitchen.time_scale_pct);
	sig = run(&baker, &set);
	log_info("signal %d: finishing the dough in hand", sig);
	panettiere_serve_stop(&baker);
	bus_close(bus); /* waits for nats.c's threads: no callback after */
	panettiere_serve_free(&baker);
	log_info("stopped");
	conf_free(&conf);
	return 0;
}
