/*
 * main.c: paddock-fcgi, one FastCGI responder process. It loads the
 * configuration, opens the NATS connection, and runs fcgi.threads worker
 * threads, each in an FCGX_Accept_r() loop on the listening socket: fd 0
 * when started by spawn-fcgi or a web server, or its own with -s or -b.
 *
 * SIGTERM or SIGINT: stop accepting, let requests in flight finish and get
 * their acknowledgements, close NATS, exit 0. Workers must notice while
 * idle: each waits for the (non-blocking) listening socket for at most
 * ACCEPT_WAKE_S before FCGX_Accept_r(), and looks at the stop flag in
 * between; when a sibling takes the connection first, accept() says EAGAIN
 * and the worker waits again. The wait is an epoll of its own with
 * EPOLLEXCLUSIVE, so that a connection wakes one idle worker of the whole
 * pool, not all of them: with poll(2) every idle thread of every process
 * woke for each request (lighttpd connects once per request), and the
 * context switches cost more than the request. Not a signal: fcgi2 does not
 * retry read(2) or write(2) on EINTR, so a signal could break a request in
 * flight. Not shutdown(2): under spawn-fcgi the socket is shared, and that
 * would stop the sibling processes too. Not a receive timeout on the listener:
 * TCP sockets would inherit it while fcgi2 still reads the request's
 * parameters.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "paddock.h"

#ifndef PADDOCK_CONF
#define PADDOCK_CONF "/etc/boxbox/paddock.conf"
#endif

#define ACCEPT_WAKE_S        1
#define REQUEST_IO_TIMEOUT_S 30 /* a stalled web server cannot pin a worker */

struct worker {
	pthread_t tid;
	struct app *app;
	int listen_fd;
	int unix_listener; /* AF_UNIX: answers close without lingering */
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: paddock-fcgi [-nV] [-c file] [-s socket | -b host:port] "
	    "[-t threads]\n"
	    "  -c file        configuration (default %s)\n"
	    "  -n             check the configuration, print it, and exit\n"
	    "  -s socket      listen on this unix socket (default: fd 0, as "
	    "spawn-fcgi passes it)\n"
	    "  -b host:port   listen on this TCP address\n"
	    "  -t threads     worker threads (overrides fcgi.threads)\n"
	    "  -V             print the version and exit\n",
	    PADDOCK_CONF);
	exit(2);
}

/* Bound reads and writes on an accepted connection. */
static void
set_timeouts(int fd, int seconds)
{
	struct timeval tv = {seconds, 0};

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1)
		log_warn("%s: setsockopt", __func__);
}

/*
 * A worker's own epoll instance on the listener, with EPOLLEXCLUSIVE: see
 * the top of the file. Returns the epoll descriptor or -1.
 */
static int
accept_watch(int listen_fd)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
	int ep;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev) == -1) {
		close(ep);
		return -1;
	}
	return ep;
}

/*
 * 1 when the listener has a connection waiting, 0 after ACCEPT_WAKE_S.
 * EPOLLEXCLUSIVE wakes the first worker that registered, so at low load
 * one process takes most connections; at full load all share them.
 */
static int
accept_ready(int ep)
{
	struct epoll_event ev;

	return epoll_wait(ep, &ev, 1, ACCEPT_WAKE_S * 1000) > 0;
}

/*
 * Pin this process, and every thread it starts later, to one CPU that no
 * sibling on the same listening socket holds. A sibling's claim is an
 * abstract unix socket named after the listener's inode and the CPU: the
 * kernel drops it when the process ends, however it ends, so a restarted
 * responder finds its CPU free. Returns the CPU, or -1 when every allowed
 * CPU is taken (more processes than CPUs) or pinning failed.
 */
static int
pin_cpu(int listen_fd)
{
	struct sockaddr_un sa;
	struct stat st;
	cpu_set_t allowed, one;
	int fd, cpu, n;

	if (fstat(listen_fd, &st) == -1 ||
	    sched_getaffinity(0, sizeof allowed, &allowed) == -1 ||
	    (fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		memset(&sa, 0, sizeof sa);
		sa.sun_family = AF_UNIX;
		/* sun_path[0] stays '\0': an abstract name, no file. */
		n = snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1,
		    "paddock-fcgi/%ju/%ju/cpu%d", (uintmax_t)st.st_dev,
		    (uintmax_t)st.st_ino, cpu);
		if (bind(fd, (struct sockaddr *)&sa,
		        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
		                    (size_t)n)) == 0)
			break;
	}
	CPU_ZERO(&one);
	CPU_SET(cpu < CPU_SETSIZE ? cpu : 0, &one);
	if (cpu == CPU_SETSIZE || sched_setaffinity(0, sizeof one, &one)) {
		close(fd);
		return -1;
	}
	return cpu; /* fd stays open: the claim lasts as long as we do */
}

static void
on_bus_event(const char *what)
{
	log_warnx("%s", what);
}

/*
 * 1 when fd is a unix socket. fcgi2 closes each connection lingering: it
 * shuts down its side and waits for the web server to close first, so
 * that a reset cannot destroy an answer still in flight. That wait is a
 * sleep and a wake-up per request. On a unix socket a reset comes only
 * from closing with input unread (the peer's next read fails with
 * ECONNRESET, answer or not: nginx lost a 413 that way), so there the
 * worker closes at once when the input was read to its end
 * (input_drained()), and lingers otherwise.
 */
/*
 * 1 once the request's input has been read to its end: a body read whole,
 * or no body, whose empty stdin record is read here (lighttpd and nginx
 * send it with the parameters).
 */
static int
input_drained(FCGX_Request *fr, const struct request *req)
{
	if (FCGX_HasSeenEOF(fr->in) == EOF)
		return 1;
	return req->content_length <= 0 && FCGX_GetChar(fr->in) == EOF;
}

static int
is_unix_socket(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	       ss.ss_family == AF_UNIX;
}

/* One worker: accept, handle, finish, until the process stops. */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct app *app = w->app;
	struct request req;
	FCGX_Request fr;
	char *body;
	int rc, ep;

	if ((ep = accept_watch(w->listen_fd)) == -1) {
		log_warn("%s: epoll", __func__);
		return NULL;
	}
	if ((body = malloc((size_t)app->conf.order.max_body + 1)) == NULL) {
		log_warnx("%s: out of memory", __func__);
		close(ep);
		return NULL;
	}
	FCGX_InitRequest(&fr, w->listen_fd, 0);
	while (!atomic_load(&app->stopping)) {
		/*
		 * Try accept(2) after a timeout too: a non-blocking listener
		 * says EAGAIN at once, and a wake-up that went to a stopped
		 * sibling is made up for within ACCEPT_WAKE_S.
		 */
		(void)accept_ready(ep);
		if ((rc = FCGX_Accept_r(&fr)) < 0) {
			if (atomic_load(&app->stopping) || rc == -EAGAIN ||
			    rc == -EINTR)
				continue;
			errno = -rc;
			log_warn("%s: accept", __func__);
			nanosleep(&(struct timespec){0, 100000000}, NULL);
			continue;
		}
		set_timeouts(fr.ipcFd, REQUEST_IO_TIMEOUT_S);
		request_begin(&req, app, &fr, body);
		route_dispatch(&req);
		if (w->unix_listener && input_drained(&fr, &req))
			FCGX_Detach(&fr); /* see is_unix_socket() */
		FCGX_Finish_r(&fr);
		request_log(&req);
	}
	FCGX_Free(&fr, 0);
	free(body);
	close(ep);
	return NULL;
}

/*
 * Stop the workers: each leaves its loop after the request in hand, or
 * within ACCEPT_WAKE_S when idle in accept().
 */
static void
workers_stop(struct app *app, struct worker *ws, int n)
{
	int i;

	/*
	 * Not FCGX_ShutdownPending(): it makes FCGX_Accept_r() refuse, and a
	 * worker woken by EPOLLEXCLUSIVE that refuses leaves the connection in
	 * the backlog with no sibling woken for it (it waited there until the
	 * next connection came). A worker woken now takes the request and
	 * finishes it, like one already in hand.
	 */
	atomic_store(&app->stopping, 1);
	for (i = 0; i < n; i++)
		pthread_join(ws[i].tid, NULL);
}

static int
open_listener(const char *sock, const char *bind_addr, int backlog)
{
	struct stat st;
	int fd = 0;

	if (sock != NULL || bind_addr != NULL) {
		if (sock != NULL)
			unlink(sock); /* a stale socket from a previous run */
		if ((fd = FCGX_OpenSocket(
		         sock != NULL ? sock : bind_addr, backlog)) < 0)
			fatal("cannot listen on %s",
			    sock != NULL ? sock : bind_addr);
	} else if (fstat(0, &st) == -1 || !S_ISSOCK(st.st_mode))
		fatalx("standard input is not a listening socket: start "
		       "paddock-fcgi from spawn-fcgi or a FastCGI server, or "
		       "give -s socket or -b host:port");
	/* Shared with siblings under spawn-fcgi, who all do the same. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		fatal("fcntl O_NONBLOCK");
	return fd;
}

int
main(int argc, char **argv)
{
	const char *conf_path = PADDOCK_CONF, *sock = NULL, *bind_addr = NULL;
	int ch, check = 0, conf_required = 0, threads = 0, i, fd, sig, cpu;
	int unix_listener;
	static struct app app;
	struct worker *ws;
	sigset_t set;
	char *cause;

	while ((ch = getopt(argc, argv, "c:nVs:b:t:")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			conf_required = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'V':
			printf("paddock-fcgi %s\n", BB_VERSION);
			return 0;
		case 's':
			sock = optarg;
			break;
		case 'b':
			bind_addr = optarg;
			break;
		case 't':
			threads = atoi(optarg);
			if (threads < 1 || threads > 1024)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("paddock-fcgi", LOG_LVL_INFO);
	if (conf_load(&app.conf, conf_path, conf_required, &cause))
		fatalx("configuration: %s", cause != NULL ? cause : "error");
	if (threads > 0)
		app.conf.fcgi.threads = threads;
	if (check) {
		daemon_check(&app.conf);
		return 0;
	}
	daemon_logging("paddock-fcgi", &app.conf);
	if (geteuid() == 0)
		log_warnx("running as root: run the pool as an unprivileged "
		          "user (spawn-fcgi -u, systemd User=)");

	/*
	 * TERM and INT are taken by sigwait() in the main thread alone.
	 * USR1 is blocked too, and ignored there: FCGX_Init() installs a
	 * handler that makes every later FCGX_Accept_r() refuse for good, so
	 * one stray kill -USR1 would leave workers that never answer again.
	 */
	daemon_signals(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (FCGX_Init() != 0)
		fatalx("FCGX_Init failed");
	fd = open_listener(sock, bind_addr, app.conf.fcgi.backlog);
	unix_listener = is_unix_socket(fd);
	/* Before any thread starts: they all inherit it. */
	if (app.conf.fcgi.cpu_affinity) {
		if ((cpu = pin_cpu(fd)) >= 0)
			log_info("pinned to CPU %d", cpu);
		else
			log_info("not pinned: a sibling holds every CPU, or "
			         "the kernel refused");
	}
	if (bus_open(&app.bus, &app.conf, on_bus_event, &cause))
		fatalx("%s", cause != NULL ? cause : "cannot open NATS");

	ws = xcalloc((size_t)app.conf.fcgi.threads, sizeof *ws);
	for (i = 0; i < app.conf.fcgi.threads; i++) {
		ws[i].app = &app;
		ws[i].listen_fd = fd;
		ws[i].unix_listener = unix_listener;
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]))
			fatalx("cannot start worker thread %d", i);
	}
	log_info("serving with %d threads, nats %s, stream %s",
	    app.conf.fcgi.threads, app.conf.nats.url, app.conf.stream.name);

	while (sigwait(&set, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
		;
	log_info("signal %d: finishing requests in flight", sig);
	workers_stop(&app, ws, app.conf.fcgi.threads);
	free(ws);
	bus_close(app.bus);
	if (sock != NULL)
		unlink(sock);
	log_info("stopped");
	conf_free(&app.conf);
	return 0;
}
