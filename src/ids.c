/*
 * ids.c: order ids and times. An order id is a UUIDv7 (RFC 9562): 48 bits
 * of Unix milliseconds then 74 random bits. v7 rather than v4 because ids
 * then sort by order time, which keeps logs, stream subjects and any index
 * built on them in arrival order, and the time it reveals is already public
 * in ordered_at. The random bits come from getrandom(2), drawn in blocks
 * into a per-thread pool so a request costs no system call on average.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "boxbox.h"

#define IDS_POOL 240 /* 24 ids per refill */

static _Thread_local unsigned char ids_pool[IDS_POOL];
static _Thread_local size_t ids_used = IDS_POOL;

/* Current wall-clock time in Unix milliseconds. */
int64_t
ids_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A monotonic clock in milliseconds, for deadlines: steps do not move it. */
int64_t
ids_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum bb_status
ids_random(unsigned char *out, size_t len)
{
	ssize_t n;
	size_t got;

	if (ids_used + len > IDS_POOL) {
		for (got = 0; got < IDS_POOL; got += (size_t)n) {
			n = getrandom(ids_pool + got, IDS_POOL - got, 0);
			if (n == -1 && errno == EINTR) {
				n = 0;
				continue;
			}
			if (n <= 0)
				return BB_EINTERNAL;
		}
		ids_used = 0;
	}
	memcpy(out, ids_pool + ids_used, len);
	ids_used += len;
	return BB_OK;
}

/* Write a lowercase UUIDv7 for time ms into out (37 bytes). */
enum bb_status
ids_uuid7(char out[IDS_UUID_LEN + 1], int64_t ms)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	enum bb_status s;
	int i, o = 0;

	if ((s = ids_random(b + 6, 10)) != BB_OK)
		return s;
	for (i = 0; i < 6; i++)
		b[i] = (unsigned char)((uint64_t)ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70 | (b[6] & 0x0f)); /* version 7 */
	b[8] = (unsigned char)(0x80 | (b[8] & 0x3f)); /* variant 10 */
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0xf];
	}
	out[o] = '\0';
	return BB_OK;
}

/* Format ms as RFC 3339 UTC with milliseconds: 2026-11-23T11:20:03.123Z */
void
ids_rfc3339_ms(char out[IDS_TIME_LEN + 1], int64_t ms)
{
	/*
	 * gmtime_r() and strftime() cost more than the rest of an order's
	 * stamp; the second they format changes once a second.
	 */
	static _Thread_local int64_t cached_s = INT64_MIN;
	static _Thread_local char cached[20];
	int64_t s = ms / 1000;
	time_t t;
	struct tm tm;

	if (s != cached_s) {
		t = (time_t)s;
		gmtime_r(&t, &tm);
		strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
		cached_s = s;
	}
	memcpy(out, cached, 19);
	out[19] = '.';
	out[20] = (char)('0' + (ms / 100) % 10);
	out[21] = (char)('0' + (ms / 10) % 10);
	out[22] = (char)('0' + ms % 10);
	out[23] = 'Z';
	out[24] = '\0';
}

/* 1 if s is a canonical lowercase UUID, 0 otherwise. */
int
ids_uuid_valid(const char *s)
{
	int i;

	for (i = 0; i < IDS_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		               (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return s[IDS_UUID_LEN] == '\0';
}
