/*
 * main.c: paddock-fcgi, one FastCGI responder process. It loads the
 * configuration, takes the listening socket (fd 0 when started by
 * spawn-fcgi or a web server, fd 3 from systemd's socket activation, or
 * its own with -s or -b), pins itself to a
 * CPU when asked, connects to NATS on its event loop (loop.c) and runs
 * that loop on its one thread until SIGTERM or SIGINT, after which the
 * loop answers what it has in hand and main closes NATS and exits 0.
 * Under spawn-fcgi, several processes share the socket: run one per CPU.
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

#include <fcgiapp.h>

#include "paddock.h"

#ifndef PADDOCK_CONF
#define PADDOCK_CONF "/etc/boxbox/paddock.conf"
#endif

static void
usage(void)
{
	fprintf(stderr,
	    "usage: paddock-fcgi [-nV] [-c file] [-s socket | -b host:port]\n"
	    "  -c file        configuration (default %s)\n"
	    "  -n             check the configuration, print it, and exit\n"
	    "  -s socket      listen on this unix socket (default: fd 0, as "
	    "spawn-fcgi passes it,\n"
	    "                 or the one systemd passes: LISTEN_FDS)\n"
	    "  -b host:port   listen on this TCP address\n"
	    "  -V             print the version and exit\n",
	    PADDOCK_CONF);
	exit(2);
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
 * The socket systemd passes (socket activation: LISTEN_PID and LISTEN_FDS,
 * the first at descriptor 3, as sd_listen_fds(3) has it; libsystemd for
 * these ten lines would be a dependency for nothing), or 0 (FastCGI's
 * descriptor: spawn-fcgi, a web server) when none was passed to us.
 */
static int
systemd_listener(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char pids[32], nfds[32];
	char *end;
	long p;

	if (pid == NULL || fds == NULL)
		return 0;
	snprintf(pids, sizeof pids, "%s", pid);
	snprintf(nfds, sizeof nfds, "%s", fds);
	/* Read once, and by nobody after us, whomever they were for. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	errno = 0;
	p = strtol(pids, &end, 10);
	if (errno != 0 || end == pids || *end != '\0' || p != (long)getpid())
		return 0; /* our parent's, not ours */
	if (strcmp(nfds, "1") != 0)
		fatalx("systemd passed %s sockets: give paddock-fcgi one "
		       "(ListenStream= once in its .socket unit)",
		    nfds);
	if (fcntl(3, F_SETFD, FD_CLOEXEC) == -1)
		fatal("socket from systemd (descriptor 3)");
	return 3;
}

/*
 * fd is a stream socket that listens: not a connection (a .socket unit
 * with Accept=yes passes one), which accept() would refuse forever while
 * epoll kept saying it is ready.
 */
static void
check_listening(int fd, const char *what)
{
	struct stat st;
	socklen_t len;
	int v;

	if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode))
		fatalx("%s is not a socket", what);
	len = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == -1 ||
	    v != SOCK_STREAM)
		fatalx("%s is not a stream socket", what);
	len = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == -1 || !v)
		fatalx("%s is not listening (a connection? Accept=no in a "
		       ".socket unit)",
		    what);
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
	} else if ((fd = systemd_listener()) == 3)
		check_listening(fd, "descriptor 3 from systemd");
	else if (fstat(0, &st) == -1 || !S_ISSOCK(st.st_mode))
		fatalx("standard input is not a listening socket: start "
		       "paddock-fcgi from spawn-fcgi, a FastCGI server or "
		       "systemd (a .socket unit), or give -s socket or "
		       "-b host:port");
	else
		check_listening(fd, "standard input");
	/*
	 * O_NONBLOCK is the socket's, shared with every sibling, which all
	 * set it too; under systemd, NonBlocking=yes in every unit that
	 * shares it, or a sibling's start clears it for all.
	 */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		fatal("fcntl O_NONBLOCK");
	return fd;
}

int
main(int argc, char **argv)
{
	const char *conf_path = PADDOCK_CONF, *sock = NULL, *bind_addr = NULL;
	int ch, check = 0, conf_required = 0, fd, cpu;
	static struct app app;
	struct loop *loop;
	sigset_t set;
	char *cause = NULL;

	while ((ch = getopt(argc, argv, "c:nVs:b:")) != -1) {
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
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("paddock-fcgi", LOG_LVL_INFO);
	if (conf_load(&app.conf, conf_path, conf_required, &cause))
		fatalx("configuration: %s", cause != NULL ? cause : "error");
	if (check) {
		daemon_check(&app.conf);
		return 0;
	}
	daemon_logging("paddock-fcgi", &app.conf);
	if (geteuid() == 0)
		log_warnx("running as root: run the pool as an unprivileged "
		          "user (spawn-fcgi -u, systemd User=)");

	/*
	 * TERM and INT reach the loop through its signalfd: blocked before
	 * nats.c starts a thread, so that none of them takes one. USR1 too,
	 * and ignored there: fcgi2 responders take it as "finish and exit",
	 * and a stray one must not kill the process.
	 */
	daemon_signals(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN); /* a web server gone: EPIPE, not death */

	/* Metrics must not stop the orders: alone in memory, if need be. */
	if (metrics_open(app.conf.fcgi.metrics_dir, &cause) == -1) {
		log_warnx("%s; GET /metrics reports this process alone",
		    cause != NULL ? cause : "metrics: cannot start");
		free(cause);
		cause = NULL;
		if (metrics_open(NULL, &cause) == -1)
			fatalx("%s", cause != NULL ? cause : "metrics: mmap");
	}
	fd = open_listener(sock, bind_addr, app.conf.fcgi.backlog);
	if (app.conf.fcgi.cpu_affinity) {
		if ((cpu = pin_cpu(fd)) >= 0)
			log_info("pinned to CPU %d", cpu);
		else
			log_info("not pinned: a sibling holds every CPU, or "
			         "the kernel refused");
	}
	if ((loop = loop_new(&app, fd, &cause)) == NULL ||
	    loop_nats_open(loop, on_bus_event, &cause) == -1)
		fatalx("%s", cause != NULL ? cause : "cannot start");
	if (ready_start(&app) == -1)
		fatalx("cannot start the readiness thread");
	log_info("serving, nats %s, stream %s", app.conf.nats.url,
	    app.conf.stream.name);

	log_buffered(1); /* this thread's lines go out once per pass */
	loop_run(loop);
	log_buffered(0);

	ready_free(app.ready);
	bus_loop_flush(app.bus); /* what the last pass left, before closing */
	bus_close(app.bus);
	loop_free(loop);
	metrics_close();
	if (sock != NULL)
		unlink(sock);
	log_info("stopped");
	conf_free(&app.conf);
	return 0;
}
