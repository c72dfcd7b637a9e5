/*
 * loop.c: the relay's one event loop: epoll over every socket, the
 * eventfd through which feed.c says "events queued", a signalfd, and the
 * timers. Only this thread touches clients.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "relay.h"

#define LOOP_EVENTS 256

static int loop_fd = -1;
static int loop_running;

int
loop_init(void)
{
	if ((loop_fd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	return 0;
}

int
loop_add(struct watcher *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	return epoll_ctl(loop_fd, EPOLL_CTL_ADD, w->fd, &ev);
}

int
loop_mod(struct watcher *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	return epoll_ctl(loop_fd, EPOLL_CTL_MOD, w->fd, &ev);
}

void
loop_del(struct watcher *w)
{
	epoll_ctl(loop_fd, EPOLL_CTL_DEL, w->fd, NULL);
}

/*
 * Dispatch until loop_stop(). After each batch, clients marked for closing
 * during it are closed: never inside a fan-out or a write path.
 */
int
loop_run(void)
{
	struct epoll_event evs[LOOP_EVENTS];
	struct watcher *w;
	int i, n;

	loop_running = 1;
	while (loop_running) {
		n = epoll_wait(loop_fd, evs, LOOP_EVENTS, 1000);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (i = 0; i < n; i++) {
			w = evs[i].data.ptr;
			w->cb(w, evs[i].events);
		}
		client_reap();
	}
	return 0;
}

void
loop_stop(void)
{
	loop_running = 0;
}
