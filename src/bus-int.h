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

#endif
