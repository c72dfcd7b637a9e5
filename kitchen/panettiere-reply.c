/*
 * panettiere-reply.c: the baker's answers, as JSON text. Pure. Each
 * returns the length written into buf (of at least PANETTIERE_REPLY_MAX
 * bytes), or -1 if it did not fit.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "kitchen.h"

static int
panettiere_reply_fit(int n, size_t len)
{
	return n < 0 || (size_t)n >= len ? -1 : n;
}

/* {"dough":"ready","took_ms":N} */
int
panettiere_reply_dough(char *buf, size_t len, int64_t took_ms)
{
	return panettiere_reply_fit(
	    snprintf(buf, len, "{\"dough\":\"ready\",\"took_ms\":%lld}",
	        (long long)took_ms),
	    len);
}

/* {"error":"asleep","until":"<RFC 3339>"}: maestro backs off until then. */
int
panettiere_reply_asleep(char *buf, size_t len, int64_t until_ms)
{
	char t[IDS_TIME_LEN + 1];

	ids_rfc3339_ms(t, until_ms);
	return panettiere_reply_fit(
	    snprintf(buf, len, "{\"error\":\"asleep\",\"until\":\"%s\"}", t),
	    len);
}

/* {"error":"busy","baking":n}: the oven is full. */
int
panettiere_reply_busy(char *buf, size_t len, size_t baking)
{
	return panettiere_reply_fit(
	    snprintf(buf, len, "{\"error\":\"busy\",\"baking\":%zu}", baking),
	    len);
}

/*
 * {"state":"awake"|"asleep","until":"<RFC 3339>"|null,"baking":n};
 * until_ms < 0 means no change is planned (a baker who never sleeps);
 * baking is the dough in the oven.
 */
int
panettiere_reply_health(
    char *buf, size_t len, int asleep, int64_t until_ms, size_t baking)
{
	const char *state = asleep ? "asleep" : "awake";
	char t[IDS_TIME_LEN + 3] = "null";

	if (until_ms >= 0) {
		t[0] = '"';
		ids_rfc3339_ms(t + 1, until_ms);
		strcat(t, "\"");
	}
	return panettiere_reply_fit(
	    snprintf(buf, len, "{\"state\":\"%s\",\"until\":%s,\"baking\":%zu}",
	        state, t, baking),
	    len);
}
