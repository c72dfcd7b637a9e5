/*
 * xmalloc.c: allocators for start-up code, which may abort. Request and
 * relay paths never call these: they return BB_ENOMEM and answer 503.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "boxbox.h"

void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		fatal("%s", __func__);
	return p;
}

char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		fatal("%s", __func__);
	return p;
}
