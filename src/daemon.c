/*
 * daemon.c: what every Box Box program does the same way at start-up:
 * the -n check, logging as configured, and the stop signals blocked before
 * any thread starts (nats.c's threads inherit the mask), so that only the
 * program's own sigwait(), signalfd or sigtimedwait() ever takes them.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "boxbox.h"

/* -n: print the effective configuration, say it is fine, and free it. */
void
daemon_check(struct bb_conf *c)
{
	conf_print(c, stdout);
	printf("# configuration OK\n");
	conf_free(c);
}

/* Log at log.level, to log.file when set; exits if the file won't open. */
void
daemon_logging(const char *name, const struct bb_conf *c)
{
	enum log_level lvl = LOG_LVL_INFO;

	log_level_parse(c->log.level, &lvl); /* conf_load() validated it */
	log_init(name, lvl);
	if (*c->log.file != '\0' && log_open_file(c->log.file))
		fatal("cannot open log file %s", c->log.file);
}

/* Ignore SIGPIPE; block SIGTERM and SIGINT into set, for the caller. */
void
daemon_signals(sigset_t *set)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}
