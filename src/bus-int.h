/*
 * bus-int.h: what the bus-*.c files share among themselves. Nothing else
 * includes it, so nats.c's types never reach the programs.
 */
#ifndef BUS_INT_H
#define BUS_INT_H

#include <nats/nats.h>

#include "boxbox.h"

natsConnection *bus_conn(struct bus *);
jsCtx *bus_js(struct bus *);
const struct bb_conf *bus_conf(struct bus *);

/* bus-loop.c, for bus.c */
struct bus_loop;

int bus_open_with(struct bus **, const struct bb_conf *, bus_event_cb,
    struct bus_loop *, char **);
struct bus_loop *bus_loop_of(struct bus *);
natsStatus bus_loop_options(natsOptions *, struct bus_loop *);
natsStatus bus_loop_subscribe(natsConnection *, struct bus_loop *);
int bus_loop_usable(struct bus_loop *);
void bus_loop_release(struct bus_loop *);
void bus_loop_free(struct bus_loop *);

#endif
