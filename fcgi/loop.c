/*
 * loop.c: paddock-fcgi's one thread. An epoll loop over the listening
 * socket (shared with the sibling processes under spawn-fcgi: watched
 * with EPOLLEXCLUSIVE, so that a connection wakes one process, not all),
 * the FastCGI connections, the NATS socket (bus-loop.c), a signalfd for
 * SIGTERM and SIGINT, and an eventfd that nats.c's threads write when the
 * NATS connection is lost.
 *
 * Each pass: handle the events, then hand out the acknowledgements that
 * arrived (an order is answered only now), fail the orders whose
 * acknowledgement can no longer come, and close connections idle past
 * their limit. A connection is on exactly one of two lists, each in
 * deadline order, so that only their heads need looking at: io (reading a
 * request or writing an answer, LOOP_IO_TIMEOUT_S) or ack (an order
 * published, nats.ack_timeout_ms).
 *
 * SIGTERM or SIGINT: stop accepting, answer every request in hand, exit
 * (loop_drain()).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "paddock.h"

#define LOOP_EVENTS          256
#define LOOP_ACCEPT_MAX      8 /* per wake-up: leave some to the siblings */
#define LOOP_IO_TIMEOUT_S    30
#define LOOP_ACCEPT_PAUSE_MS 100   /* out of descriptors: wait, then retry */
#define LOOP_FULL_WARN_MS    10000 /* at fcgi.max_conns: warn this often */
#define LOOP_TICK_MS         1000

struct loop {
	struct app *app;
	int epfd;
	int listen_fd;
	int sig_fd;
	int wake_fd;
	int listening;            /* the listener is on epfd */
	int64_t accept_resume_ms; /* not listening: resume then, below max */
	int64_t full_warned_ms;

	struct conn_list io;
	struct conn_list ack;
	int nconns;
	int nack; /* on the ack list: orders awaiting their PubAck */
	uint64_t next_token;
	unsigned epoch; /* bus_loop_epoch() as last seen */
	int nats_ok;    /* connected, as last seen: for the metrics */
	int64_t nats_seen_ms;

	int stopping;
	int64_t stop_by_ms; /* requests not read in full by then are dropped */
	int64_t exit_by_ms; /* and whatever is left then */
};

/* epoll_event.data.ptr of what is not a connection */
static char loop_tag_listen, loop_tag_signal, loop_tag_wake, loop_tag_nats;

static int
loop_add(struct loop *l, int fd, uint32_t events, void *tag)
{
	struct epoll_event ev = {.events = events, .data.ptr = tag};

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/*
 * The loop for listening socket fd (non-blocking), with signals blocked
 * by the caller. Returns NULL with an allocated *cause on failure.
 */
struct loop *
loop_new(struct app *app, int listen_fd, char **cause)
{
	struct loop *l;
	sigset_t set;

	if ((l = calloc(1, sizeof *l)) == NULL) {
		*cause = strdup("out of memory");
		return NULL;
	}
	l->app = app;
	l->listen_fd = listen_fd;
	l->sig_fd = l->wake_fd = -1;
	TAILQ_INIT(&l->io);
	TAILQ_INIT(&l->ack);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (l->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) ==
	        -1 ||
	    (l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    loop_add(l, l->sig_fd, EPOLLIN, &loop_tag_signal) == -1 ||
	    loop_add(l, l->wake_fd, EPOLLIN, &loop_tag_wake) == -1 ||
	    loop_add(l, listen_fd, EPOLLIN | EPOLLEXCLUSIVE,
	        &loop_tag_listen) == -1) {
		if (asprintf(cause, "event loop: %s", strerror(errno)) == -1)
			*cause = NULL;
		loop_free(l);
		return NULL;
	}
	l->listening = 1;
	app->loop = l;
	return l;
}

/* Connect to NATS on this loop (in the background if it is down). */
int
loop_nats_open(struct loop *l, bus_event_cb event, char **cause)
{
	return bus_open_loop(&l->app->bus, &l->app->conf, event, l->epfd,
	    &loop_tag_nats, l->wake_fd, cause);
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	if (l->epfd != -1)
		close(l->epfd);
	if (l->sig_fd != -1)
		close(l->sig_fd);
	if (l->wake_fd != -1)
		close(l->wake_fd);
	conn_free_spares();
	free(l);
}

/* Watch c's socket for events (EPOLLIN or EPOLLOUT), or for none (0). */
void
loop_watch(struct loop *l, struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};
	int op;

	if ((uint32_t)c->watched == events || c->fd == -1)
		return;
	if (events == 0)
		op = EPOLL_CTL_DEL;
	else
		op = c->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(l->epfd, op, c->fd, &ev) == -1)
		log_warn("%s: epoll_ctl", __func__);
	c->watched = (int)events;
}

/*
 * The token of the publish c is about to make; its acknowledgement will
 * come back with it. Also notes the connection's epoch: a loss of the NATS
 * connection after this fails it.
 */
uint64_t
loop_await_ack(struct loop *l, struct conn *c)
{
	c->token = ++l->next_token;
	c->epoch = bus_loop_epoch(l->app->bus);
	c->deadline_ms = ids_mono_ms() + l->app->conf.nats.ack_timeout_ms;
	return c->token;
}

/* 1 when nats.max_pending orders already await their PubAck. */
int
loop_acks_full(const struct loop *l)
{
	return l->nack >= l->app->conf.nats.max_pending;
}

static struct conn_list *
loop_list(struct loop *l, const struct conn *c)
{
	return c->state == CONN_ACK ? &l->ack : &l->io;
}

/* Take c off list (where it was), keeping the ack count. */
static void
loop_unlist(struct loop *l, struct conn_list *list, struct conn *c)
{
	TAILQ_REMOVE(list, c, entry);
	if (list == &l->ack)
		l->nack--;
}

static void
loop_close(struct loop *l, struct conn *c)
{
	loop_unlist(l, loop_list(l, c), c);
	l->nconns--;
	conn_free(c);
}

/*
 * After c has worked: close it (rc -1), or put it at the tail of the list
 * its state belongs on, with a fresh deadline. A connection waiting for
 * its acknowledgement is not watched: there is nothing to read.
 */
static void
loop_after(struct loop *l, struct conn *c, struct conn_list *was, int rc)
{
	loop_unlist(l, was, c);
	if (rc == -1) {
		l->nconns--;
		conn_free(c);
		return;
	}
	if (c->state == CONN_ACK) {
		loop_watch(l, c, 0); /* its deadline: loop_await_ack() */
		l->nack++;
	} else
		c->deadline_ms = ids_mono_ms() + LOOP_IO_TIMEOUT_S * 1000;
	TAILQ_INSERT_TAIL(loop_list(l, c), c, entry);
}

/* fcgi.max_conns connections held: no more until one closes. */
static int
loop_full(const struct loop *l)
{
	return l->nconns >= l->app->conf.fcgi.max_conns;
}

/*
 * Stop accepting until one closes (see loop_expire()). The web server's
 * next connections wait in the listen backlog, or a sibling process on
 * the same socket takes them.
 */
static void
loop_pause_full(struct loop *l)
{
	int64_t now = ids_mono_ms();

	epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->listen_fd, NULL);
	l->listening = 0;
	l->accept_resume_ms = now;
	/* Once in a while: a pool at its limit may come and go by the ms. */
	if (l->full_warned_ms == 0 ||
	    now - l->full_warned_ms >= LOOP_FULL_WARN_MS) {
		log_warnx("%d connections held (fcgi.max_conns): not "
		          "accepting until one closes",
		    l->nconns);
		l->full_warned_ms = now;
	}
}

static void
loop_accept(struct loop *l)
{
	struct conn *c;
	int i, fd;

	if (l->stopping)
		return; /* the listener's event came in the batch of the signal
		         */
	for (i = 0; i < LOOP_ACCEPT_MAX; i++) {
		if (loop_full(l)) {
			loop_pause_full(l);
			return;
		}
		fd = accept4(
		    l->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warn("%s: pausing %d ms", __func__,
				    LOOP_ACCEPT_PAUSE_MS);
				epoll_ctl(
				    l->epfd, EPOLL_CTL_DEL, l->listen_fd, NULL);
				l->listening = 0;
				l->accept_resume_ms =
				    ids_mono_ms() + LOOP_ACCEPT_PAUSE_MS;
			}
			/* EAGAIN: a sibling took it; others: the peer left */
			if (errno != ECONNABORTED && errno != EPROTO)
				return;
			continue;
		}
		if ((c = conn_new(l->app, fd)) == NULL) {
			close(fd);
			continue;
		}
		l->nconns++;
		TAILQ_INSERT_TAIL(&l->io, c, entry);
		/* The web server wrote the request as it connected: read. */
		loop_after(l, c, &l->io, conn_input(c));
	}
}

static void
loop_conn_event(struct loop *l, struct conn *c, uint32_t events)
{
	struct conn_list *was = loop_list(l, c);
	int rc;

	if (c->state == CONN_ACK)
		return; /* not watched; a stale event */
	/*
	 * Output waiting (watched for EPOLLOUT, whatever the state): write
	 * it before reading more, or a web server that sends records and
	 * does not read would grow c->out without end.
	 */
	if (conn_output_pending(c))
		rc = conn_resume(c);
	else
		rc = conn_input(c);
	loop_after(l, c, was, rc);
}

/* Answer an order with its acknowledgement's outcome. */
static void
loop_answer(struct loop *l, struct conn *c, enum bb_status st, const char *why)
{
	int rc;

	api_order_acked(&c->req, st, why);
	c->state = CONN_WRITE; /* leaves the ack list in loop_after() */
	rc = conn_answered(c);
	if (rc == 0)
		rc = conn_resume(c);
	loop_after(l, c, &l->ack, rc);
}

/* bus_loop_acks()'s callback. Acknowledgements come in publish order. */
static void
loop_on_ack(void *arg, uint64_t token, enum bb_status st, const char *why)
{
	struct loop *l = arg;
	struct conn *c;

	TAILQ_FOREACH(c, &l->ack, entry)
	{
		if (c->token == token) {
			loop_answer(l, c, st, why);
			return;
		}
	}
	/* Its request timed out already: nobody waits. */
}

/* The NATS connection was lost: what it had in flight gets no answer. */
static void
loop_check_epoch(struct loop *l)
{
	unsigned epoch = bus_loop_epoch(l->app->bus);
	struct conn *c, *next;

	if (epoch == l->epoch)
		return;
	l->epoch = epoch;
	TAILQ_FOREACH_SAFE(c, &l->ack, entry, next)
	{
		if (c->epoch != epoch)
			loop_answer(l, c, BB_ETIMEOUT,
			    "the connection to NATS was lost before the "
			    "acknowledgement");
	}
}

static void
loop_expire(struct loop *l, int64_t now)
{
	char why[96];
	struct conn *c;

	while ((c = TAILQ_FIRST(&l->ack)) != NULL && c->deadline_ms <= now) {
		snprintf(why, sizeof why, "no acknowledgement within %d ms",
		    l->app->conf.nats.ack_timeout_ms);
		loop_answer(l, c, BB_ETIMEOUT, why);
	}
	while ((c = TAILQ_FIRST(&l->io)) != NULL && c->deadline_ms <= now) {
		if (!conn_idle(c))
			log_warnx("connection idle for %d s in the middle of "
			          "a request: closed",
			    LOOP_IO_TIMEOUT_S);
		loop_close(l, c);
	}
	if (!l->listening && !l->stopping && !loop_full(l) &&
	    now >= l->accept_resume_ms &&
	    loop_add(l, l->listen_fd, EPOLLIN | EPOLLEXCLUSIVE,
	        &loop_tag_listen) == 0)
		l->listening = 1;
}

/* How long epoll_wait() may sleep: until the first deadline. */
static int
loop_timeout(struct loop *l, int64_t now)
{
	int64_t next = now + LOOP_TICK_MS;
	struct conn *c;

	if ((c = TAILQ_FIRST(&l->ack)) != NULL && c->deadline_ms < next)
		next = c->deadline_ms;
	if ((c = TAILQ_FIRST(&l->io)) != NULL && c->deadline_ms < next)
		next = c->deadline_ms;
	/* Full: a close, in some pass, is what resumes; no timer. */
	if (!l->listening && !l->stopping && !loop_full(l) &&
	    l->accept_resume_ms < next)
		next = l->accept_resume_ms;
	if (l->stopping && now < l->stop_by_ms && l->stop_by_ms < next)
		next = l->stop_by_ms;
	if (l->stopping && l->exit_by_ms < next)
		next = l->exit_by_ms;
	return next > now ? (int)(next - now) : 0;
}

/* 1 once SIGTERM or SIGINT came: no connection takes another request. */
int
loop_stopping(const struct loop *l)
{
	return l->stopping;
}

/*
 * 1 once stop_by has passed, stopping: an order published now might get
 * its acknowledgement after exit_by, when nobody would answer it.
 */
int
loop_publish_closed(const struct loop *l)
{
	return l->stopping && ids_mono_ms() >= l->stop_by_ms;
}

/* Wake the loop from another thread (ready.c, when it has finished). */
void
loop_wake(struct loop *l)
{
	uint64_t one = 1;

	if (write(l->wake_fd, &one, sizeof one) == -1)
		(void)0; /* the counter is already non-zero: awake anyway */
}

/*
 * Stopping, after each pass (events for a connection may still be in the
 * batch of the signal): close the connections with nothing in hand, but
 * not one nothing has been read from yet: its web server connected to
 * send a request. At stop_by, drop the requests still coming in; from
 * then on nothing is published (loop_publish_closed()), and an order
 * published before gets its answer by its own deadline, a 504 at worst:
 * every order published is answered before exit_by. 1 when no connection
 * is left and the readiness thread has stopped, or exit_by has come.
 */
static int
loop_drain(struct loop *l, int64_t now)
{
	struct conn *c, *next;
	int late = now >= l->stop_by_ms, dropped = 0;

	TAILQ_FOREACH_SAFE(c, &l->io, entry, next)
	{
		if (conn_idle(c) && !c->fresh)
			loop_close(l, c);
		else if (late && !conn_output_pending(c)) {
			dropped++;
			loop_close(l, c);
		}
	}
	if (dropped > 0)
		log_warnx("stopping: %d connection(s) closed with no "
		          "request received in full",
		    dropped);
	if (l->nconns == 0 && ready_stopped(l->app->ready))
		return 1;
	if (now < l->exit_by_ms)
		return 0;
	if (l->nconns > 0)
		log_warnx("stopping: %d connection(s) closed unanswered or "
		          "with their answer unwritten",
		    l->nconns);
	return 1;
}

/*
 * SIGTERM or SIGINT: stop accepting. Requests in hand have until stop_by
 * to come in full (an order then waits up to nats.ack_timeout_ms for its
 * acknowledgement), and answers a second more to be written.
 */
static void
loop_stop(struct loop *l, int sig)
{
	if (l->stopping)
		return;
	log_info("signal %d: finishing requests in flight", sig);
	l->stopping = 1;
	l->stop_by_ms = ids_mono_ms() + l->app->conf.nats.ack_timeout_ms + 2000;
	l->exit_by_ms = l->stop_by_ms + l->app->conf.nats.ack_timeout_ms + 1000;
	if (l->listening)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->listen_fd, NULL);
	l->listening = 0;
	ready_request_stop(l->app->ready);
}

static void
loop_signal(struct loop *l)
{
	struct signalfd_siginfo si;

	while (read(l->sig_fd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			loop_stop(l, (int)si.ssi_signo);
		/* SIGUSR1 (fcgi2's graceful restart) is ignored. */
	}
}

static void
loop_event(struct loop *l, struct epoll_event *ev)
{
	uint64_t n;

	if (ev->data.ptr == &loop_tag_listen)
		loop_accept(l);
	else if (ev->data.ptr == &loop_tag_nats)
		bus_loop_io(l->app->bus, ev->events);
	else if (ev->data.ptr == &loop_tag_signal)
		loop_signal(l);
	else if (ev->data.ptr == &loop_tag_wake) {
		if (read(l->wake_fd, &n, sizeof n) == -1)
			(void)0; /* already read: nothing to do */
	} else
		loop_conn_event(l, ev->data.ptr, ev->events);
}

/*
 * This process's gauges in its metrics file, for whichever process of the
 * pool answers the next scrape. NATS's state takes its lock: once a tick.
 */
static void
loop_metrics(struct loop *l, int64_t now)
{
	char why[256];

	if (now - l->nats_seen_ms >= LOOP_TICK_MS) {
		l->nats_ok =
		    bus_state(l->app->bus, why, sizeof why) == BUS_CONNECTED;
		l->nats_seen_ms = now;
	}
	metrics_gauges((uint64_t)l->nack, (uint64_t)l->nconns, l->nats_ok);
}

/* Run until stopped and every request in hand is answered. */
void
loop_run(struct loop *l)
{
	struct epoll_event evs[LOOP_EVENTS];
	int64_t now = ids_mono_ms();
	struct conn *c;
	int i, n;

	loop_metrics(l, now); /* a scrape may come before the first pass */
	for (;;) {
		/* What this pass (or start-up) gave NATS goes out now. */
		bus_loop_flush(l->app->bus);
		n = epoll_wait(l->epfd, evs, LOOP_EVENTS, loop_timeout(l, now));
		if (n == -1 && errno != EINTR)
			fatal("epoll_wait");
		for (i = 0; i < n; i++)
			loop_event(l, &evs[i]);
		bus_loop_acks(l->app->bus, loop_on_ack, l);
		loop_check_epoch(l);
		now = ids_mono_ms();
		loop_expire(l, now);
		loop_metrics(l, now);
		log_flush();
		if (l->stopping && loop_drain(l, now))
			break;
	}
	while ((c = TAILQ_FIRST(&l->io)) != NULL)
		loop_close(l, c);
	while ((c = TAILQ_FIRST(&l->ack)) != NULL)
		loop_close(l, c);
}
