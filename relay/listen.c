/*
 * listen.c: the relay's listening sockets: TCP with SO_REUSEPORT, so that
 * several relay processes can share one port (one process is capped by
 * its descriptor limit), and optionally a unix socket. Accepting pauses
 * for a moment when descriptors run out instead of spinning on EMFILE.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "relay.h"

#define LISTEN_MAX      2
#define LISTEN_PAUSE_MS 100

struct listener {
	struct watcher w;
	int tcp;
	char *path; /* unix socket to unlink at close */
};

static struct listener listeners[LISTEN_MAX];
static int nlisteners;
static struct watcher pause_w = {.fd = -1};
static int paused;

static void listen_pause(void);

static int listen_fail(char **, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Set *cause (allocated) and return -1. */
static int
listen_fail(char **cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
	return -1;
}

static void
listen_accept(struct watcher *w, uint32_t events)
{
	struct listener *l = (struct listener *)w;
	int fd;

	for (;;) {
		fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd != -1) {
			client_accept(fd, l->tcp);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			log_warn("accept: pausing %d ms", LISTEN_PAUSE_MS);
			listen_pause();
		}
		return; /* EAGAIN: drained */
	}
}

/* Stop watching the listeners until the pause timer fires. */
static void
listen_pause(void)
{
	struct itimerspec its = {.it_value = {0, LISTEN_PAUSE_MS * 1000000}};
	int i;

	if (paused)
		return;
	for (i = 0; i < nlisteners; i++)
		loop_del(&listeners[i].w);
	timerfd_settime(pause_w.fd, 0, &its, NULL);
	paused = 1;
}

static void
listen_resume(struct watcher *w, uint32_t events)
{
	uint64_t n;
	int i;

	if (read(w->fd, &n, sizeof n) == -1 && errno != EAGAIN)
		log_warn("%s: read", __func__);
	if (!paused || relay.stopping)
		return;
	for (i = 0; i < nlisteners; i++)
		loop_add(&listeners[i].w, EPOLLIN);
	paused = 0;
}

static int
listen_tcp(const char *spec, char **cause)
{
	struct addrinfo hints, *res = NULL;
	char host[256], *colon;
	int fd, one = 1, rc;

	snprintf(host, sizeof host, "%s", spec);
	if ((colon = strrchr(host, ':')) == NULL)
		return listen_fail(
		    cause, "relay.listen '%s': not host:port", spec);
	*colon = '\0';
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(*host ? host : NULL, colon + 1, &hints, &res)))
		return listen_fail(
		    cause, "relay.listen '%s': %s", spec, gai_strerror(rc));
	fd = socket(
	    res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 4096)) {
		listen_fail(
		    cause, "relay.listen '%s': %s", spec, strerror(errno));
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int
listen_unix(const char *path, char **cause)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		return listen_fail(
		    cause, "relay.unix '%s': path too long", path);
	strcpy(sun.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof sun) ||
	    listen(fd, 4096)) {
		listen_fail(
		    cause, "relay.unix '%s': %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

static int
listen_add(int fd, int tcp, const char *path)
{
	struct listener *l = &listeners[nlisteners++];

	l->w.fd = fd;
	l->w.cb = listen_accept;
	l->tcp = tcp;
	l->path = path != NULL ? strdup(path) : NULL;
	return loop_add(&l->w, EPOLLIN);
}

/*
 * Open the TCP listener (tcp "host:port", or "" for none) and the unix
 * one (path, or ""), and watch them. 0, or -1 with an allocated *cause.
 */
int
listen_open(const char *tcp, const char *path, char **cause)
{
	int fd;

	*cause = NULL;
	if ((pause_w.fd = timerfd_create(
	         CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) == -1)
		return listen_fail(cause, "timerfd: %s", strerror(errno));
	pause_w.cb = listen_resume;
	loop_add(&pause_w, EPOLLIN);
	if (*tcp != '\0') {
		if ((fd = listen_tcp(tcp, cause)) == -1)
			return -1;
		listen_add(fd, 1, NULL);
	}
	if (*path != '\0') {
		if ((fd = listen_unix(path, cause)) == -1)
			return -1;
		listen_add(fd, 0, path);
	}
	if (nlisteners == 0)
		return listen_fail(cause,
		    "nothing to listen on: set relay.listen "
		    "or relay.unix");
	return 0;
}

/* Stop accepting: close the listeners, remove the unix socket. */
void
listen_close(void)
{
	int i;

	for (i = 0; i < nlisteners; i++) {
		if (!paused)
			loop_del(&listeners[i].w);
		close(listeners[i].w.fd);
		if (listeners[i].path != NULL) {
			unlink(listeners[i].path);
			free(listeners[i].path);
		}
	}
	nlisteners = 0;
	paused = 1; /* nothing to resume */
	if (pause_w.fd != -1) {
		loop_del(&pause_w);
		close(pause_w.fd);
		pause_w.fd = -1;
	}
}
