/*
 * fmt.c: text built without printf, for what runs once per request. A
 * snprintf(3) call cost the responder 1,000-3,000 instructions (callgrind),
 * and each request made several: its log line, its answer's head, its
 * Location and body, its subject. These append strings and numbers into a
 * fixed buffer for tens of instructions each.
 *
 * A struct fmt never writes past its buffer: what does not fit is cut, and
 * fmt_end() says so.
 */
#include "config.h"

#include <string.h>

#include "boxbox.h"

/* Append into buf[0..size), size > 0. */
void
fmt_init(struct fmt *f, char *buf, size_t size)
{
	f->p = buf;
	f->len = 0;
	f->size = size;
	f->cut = 0;
}

void
fmt_mem(struct fmt *f, const char *s, size_t n)
{
	size_t room = f->size - 1 - f->len;

	if (n > room) {
		n = room;
		f->cut = 1;
	}
	memcpy(f->p + f->len, s, n);
	f->len += n;
}

void
fmt_str(struct fmt *f, const char *s)
{
	fmt_mem(f, s, strlen(s));
}

/* v in decimal, at least width digits (zero-padded, width <= 20). */
void
fmt_uint(struct fmt *f, uint64_t v, int width)
{
	char d[20];
	int n = 0;

	do {
		d[sizeof d - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n < width && n < (int)sizeof d)
		d[sizeof d - 1 - n++] = '0';
	fmt_mem(f, d + sizeof d - n, (size_t)n);
}

/* NUL-terminate; the length, and *cut (if not NULL) 1 when text was cut. */
size_t
fmt_end(struct fmt *f, int *cut)
{
	f->p[f->len] = '\0';
	if (cut != NULL)
		*cut = f->cut;
	return f->len;
}
