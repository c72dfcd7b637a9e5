/*
 * status.c: the one status enum's text table, and the error record that
 * carries a failure's reason and failing fields to the edge.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boxbox.h"

static const char *const status_texts[] = {
    [BB_OK] = "success",
    [BB_ENOMEM] = "out of memory",
    [BB_EBADJSON] = "malformed JSON",
    [BB_EINVALID] = "validation failed",
    [BB_ETOOLARGE] = "request body too large",
    [BB_EMEDIA] = "unsupported media type",
    [BB_ENOTFOUND] = "not found",
    [BB_EMETHOD] = "method not allowed",
    [BB_EUNAVAIL] = "order service unavailable",
    [BB_ETIMEOUT] = "order not acknowledged in time",
    [BB_EINTERNAL] = "internal error",
    [BB_ECONF] = "bad configuration",
};
_Static_assert(sizeof status_texts / sizeof status_texts[0] == BB__MAX,
    "status_texts must name every bb_status");

/* Return a static text for s; never NULL. */
const char *
bb_status_text(enum bb_status s)
{
	if ((unsigned)s >= BB__MAX)
		return "unknown status";
	return status_texts[s];
}

void
bb_err_clear(struct bb_err *e)
{
	e->message[0] = '\0';
	e->ndetails = 0;
	e->truncated = 0;
}

/* Set the human message of e; a later call replaces it. */
void
bb_err_set(struct bb_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
}

/* Append one failing field; past BB_DETAILS_MAX only counts truncation. */
void
bb_err_add(struct bb_err *e, const char *field, const char *fmt, ...)
{
	struct bb_detail *d;
	va_list ap;

	if (e->ndetails >= BB_DETAILS_MAX) {
		e->truncated = 1;
		return;
	}
	d = &e->details[e->ndetails++];
	snprintf(d->field, sizeof d->field, "%s", field);
	va_start(ap, fmt);
	vsnprintf(d->message, sizeof d->message, fmt, ap);
	va_end(ap);
}
