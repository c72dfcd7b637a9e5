/*
 * buf.c: growable byte buffers for a connection's input, parameters, body
 * and output. They grow and are kept: a connection object is reused for
 * the next connection with its buffers, so a steady load allocates
 * nothing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "paddock.h"

/* Room for n more bytes. Returns 0, or -1 when out of memory. */
int
buf_reserve(struct buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->cap - b->len >= n)
		return 0;
	cap = b->cap > 0 ? b->cap : 512;
	while (cap - b->len < n)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

int
buf_add(struct buf *b, const void *data, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return -1;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

/*
 * Free b's memory if it grew past max: an object kept for reuse keeps
 * ordinary buffers, not the one that took a request of a megabyte.
 */
void
buf_trim(struct buf *b, size_t max)
{
	if (b->cap > max)
		buf_free(b);
	b->len = 0;
}

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
