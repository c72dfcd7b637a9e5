/*
 * main.c: sse-relay. Load the configuration, raise the descriptor limit,
 * listen, connect the feed, and run the loop until SIGTERM or SIGINT,
 * which ends every stream cleanly and exits 0.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "relay.h"

#ifndef PADDOCK_CONF
#define PADDOCK_CONF "/etc/boxbox/paddock.conf"
#endif

struct relay relay;

static struct watcher sig_w = {.fd = -1};
static struct watcher tick_w = {.fd = -1};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: sse-relay [-nV] [-c file] [-b host:port] [-s socket]\n"
	    "  -c file        configuration (default %s)\n"
	    "  -n             check the configuration, print it, and exit\n"
	    "  -b host:port   listen here (overrides relay.listen)\n"
	    "  -s socket      listen on this unix socket (relay.unix)\n"
	    "  -V             print the version and exit\n",
	    PADDOCK_CONF);
	exit(2);
}

static void
on_signal(struct watcher *w, uint32_t events)
{
	struct signalfd_siginfo si;

	if (read(w->fd, &si, sizeof si) != sizeof si)
		return;
	log_info("signal %u: closing every stream", si.ssi_signo);
	relay.stopping = 1;
	loop_stop();
}

static void
on_tick(struct watcher *w, uint32_t events)
{
	uint64_t n;

	if (read(w->fd, &n, sizeof n) == -1 && errno != EAGAIN)
		return;
	client_tick(ids_mono_ms());
	stats_gauges();
}

/* One descriptor per stream: take all the kernel allows us. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit");
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)relay.conf.relay.max_clients + 64)
		log_warnx("descriptor limit %llu is below relay.max_clients "
		          "%d: accept will pause when it runs out",
		    (unsigned long long)rl.rlim_cur,
		    relay.conf.relay.max_clients);
}

static void
setup_signals(void)
{
	struct itimerspec its = {{1, 0}, {1, 0}};
	sigset_t set;

	/* Blocked before any thread starts, so nats.c's threads inherit it. */
	daemon_signals(&set);
	if ((sig_w.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	sig_w.cb = on_signal;
	loop_add(&sig_w, EPOLLIN);
	if ((tick_w.fd = timerfd_create(
	         CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) == -1)
		fatal("timerfd");
	timerfd_settime(tick_w.fd, 0, &its, NULL);
	tick_w.cb = on_tick;
	loop_add(&tick_w, EPOLLIN);
}

int
main(int argc, char **argv)
{
	const char *conf_path = PADDOCK_CONF, *bind_addr = NULL, *sock = NULL;
	int ch, check = 0, required = 0;
	char *cause = NULL;

	while ((ch = getopt(argc, argv, "c:nVb:s:")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			required = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'V':
			printf("sse-relay %s\n", BB_VERSION);
			return 0;
		case 'b':
			bind_addr = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("sse-relay", LOG_LVL_INFO);
	if (conf_load(&relay.conf, conf_path, required, &cause))
		fatalx("configuration: %s", cause != NULL ? cause : "error");
	if (check) {
		daemon_check(&relay.conf);
		return 0;
	}
	daemon_logging("sse-relay", &relay.conf);
	stats_open();
	raise_nofile();
	if (loop_init() == -1)
		fatal("epoll");
	setup_signals();
	if (hub_init() == -1)
		fatalx("out of memory");
	if (listen_open(bind_addr != NULL ? bind_addr : relay.conf.relay.listen,
	        sock != NULL ? sock : relay.conf.relay.unix_path, &cause))
		fatalx("%s", cause != NULL ? cause : "cannot listen");
	if (feed_open(&cause))
		fatalx("%s", cause != NULL ? cause : "cannot start the feed");
	log_info("listening on %s%s%s, up to %d streams",
	    bind_addr != NULL ? bind_addr : relay.conf.relay.listen,
	    sock != NULL || *relay.conf.relay.unix_path ? " and " : "",
	    sock != NULL ? sock : relay.conf.relay.unix_path,
	    relay.conf.relay.max_clients);
	if (loop_run() == -1)
		log_warn("epoll_wait");
	listen_close();
	client_close_all();
	feed_close();
	hub_free();
	stats_close();
	log_info("stopped");
	conf_free(&relay.conf);
	return 0;
}
