/*
 * check_ids.c: order ids and times (src/ids.c). A UUIDv7 must carry its
 * version, variant and millisecond, never repeat, and sort by time; times
 * are RFC 3339 UTC with milliseconds.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boxbox.h"
#include "unit.h"

#define NIDS 10000

static const int64_t uuid_ms[] = {
    0, 1, 999, 1763896803123LL, /* 2025-11-23T11:20:03.123Z */
    1795432803123LL, 0x0123456789abLL,
    0xffffffffffffLL, /* the largest 48-bit time */
};

#define NMS (int)(sizeof uuid_ms / sizeof uuid_ms[0])

static int
hexval(char c)
{
	return c >= 'a' ? c - 'a' + 10 : c - '0';
}

/* The 48-bit time at the head of a UUIDv7. */
static int64_t
uuid_ms_of(const char *id)
{
	int64_t ms = 0;
	int i;

	for (i = 0; i < 13; i++) {
		if (i != 8)
			ms = ms << 4 | hexval(id[i]);
	}
	return ms;
}

START_TEST(test_uuid7_layout)
{
	char id[IDS_UUID_LEN + 1];

	ck_assert_int_eq(ids_uuid7(id, uuid_ms[_i]), BB_OK);
	ck_assert_uint_eq(strlen(id), IDS_UUID_LEN);
	ck_assert_msg(ids_uuid_valid(id), "%s", id);
	ck_assert_msg(id[14] == '7', "version nibble of %s", id);
	ck_assert_msg(strchr("89ab", id[19]) != NULL, "variant of %s", id);
	ck_assert_msg(uuid_ms_of(id) == uuid_ms[_i], "time of %s", id);
}
END_TEST

START_TEST(test_uuid7_known_prefix)
{
	char id[IDS_UUID_LEN + 1];

	ck_assert_int_eq(ids_uuid7(id, 1763896803123LL), BB_OK);
	/* 1763896803123 = 0x019ab0713f33 */
	ck_assert_int_eq(strncmp(id, "019ab071-3f33-7", 15), 0);
	ck_assert_int_eq(ids_uuid7(id, 0), BB_OK);
	ck_assert_int_eq(strncmp(id, "00000000-0000-7", 15), 0);
}
END_TEST

static int
cmp_ids(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

START_TEST(test_uuid7_ids_are_distinct)
{
	char(*ids)[IDS_UUID_LEN + 1];
	int64_t ms = ids_now_ms();
	int i;

	ids = calloc(NIDS, sizeof *ids);
	ck_assert_ptr_nonnull(ids);
	/* All in one millisecond: only the random bits tell them apart. */
	for (i = 0; i < NIDS; i++) {
		ck_assert_int_eq(ids_uuid7(ids[i], ms), BB_OK);
		ck_assert(ids_uuid_valid(ids[i]));
	}
	qsort(ids, NIDS, sizeof *ids, cmp_ids);
	for (i = 1; i < NIDS; i++)
		ck_assert_str_ne(ids[i - 1], ids[i]);
	free(ids);
}
END_TEST

START_TEST(test_uuid7_sorts_by_time)
{
	char prev[IDS_UUID_LEN + 1], id[IDS_UUID_LEN + 1];
	int64_t ms = 1763896803123LL;
	int i;

	ck_assert_int_eq(ids_uuid7(prev, ms), BB_OK);
	for (i = 1; i < 2000; i++) {
		/* Steps of 1 ms, then of ever larger powers. */
		ms += i < 1000 ? 1 : (int64_t)1 << (i % 30);
		ck_assert_int_eq(ids_uuid7(id, ms), BB_OK);
		ck_assert_msg(strcmp(prev, id) < 0, "%s !< %s", prev, id);
		memcpy(prev, id, sizeof id);
	}
}
END_TEST

struct time_case {
	int64_t ms;
	const char *text;
};

static const struct time_case time_cases[] = {
    {0, "1970-01-01T00:00:00.000Z"},
    {1, "1970-01-01T00:00:00.001Z"},
    {10, "1970-01-01T00:00:00.010Z"},
    {999, "1970-01-01T00:00:00.999Z"},
    {1000, "1970-01-01T00:00:01.000Z"},
    {86399999, "1970-01-01T23:59:59.999Z"},
    {951782400000LL, "2000-02-29T00:00:00.000Z"},
    {1763896803123LL, "2025-11-23T11:20:03.123Z"},
    {1795432803123LL, "2026-11-23T11:20:03.123Z"},
    {4102444799999LL, "2099-12-31T23:59:59.999Z"},
    {253402300799999LL, "9999-12-31T23:59:59.999Z"},
};

#define NTIME (int)(sizeof time_cases / sizeof time_cases[0])

START_TEST(test_rfc3339_known_values)
{
	char out[IDS_TIME_LEN + 1];

	memset(out, '#', sizeof out);
	ids_rfc3339_ms(out, time_cases[_i].ms);
	ck_assert_str_eq(out, time_cases[_i].text);
	ck_assert_uint_eq(strlen(out), IDS_TIME_LEN);
}
END_TEST

/* 1763896803123 checked against gmtime_r rather than a constant. */
START_TEST(test_rfc3339_matches_gmtime)
{
	char out[IDS_TIME_LEN + 1], want[80];
	int64_t ms = 1763896803123LL;
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
	snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(ms % 1000));
	ids_rfc3339_ms(out, ms);
	ck_assert_str_eq(out, want);
}
END_TEST

/*
 * ids_rfc3339_ms() keeps the last second it formatted: a time in the same
 * second, the next, an earlier one or one far away must each still come
 * out as gmtime_r() says.
 */
START_TEST(test_rfc3339_cached_second_follows)
{
	static const int64_t seq[] = {1763896803123LL, 1763896803999LL,
	    1763896804000LL, 1763896803000LL, 1763896802999LL,
	    1763896802999LL + 86400000LL, 0, 1763896803123LL};
	char out[IDS_TIME_LEN + 1], want[80];
	struct tm tm;
	time_t t;
	size_t i;

	for (i = 0; i < sizeof seq / sizeof seq[0]; i++) {
		t = (time_t)(seq[i] / 1000);
		ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
		snprintf(want, sizeof want,
		    "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		    (int)(seq[i] % 1000));
		ids_rfc3339_ms(out, seq[i]);
		ck_assert_msg(strcmp(out, want) == 0, "step %zu: %s, not %s", i,
		    out, want);
	}
}
END_TEST

START_TEST(test_now_ms_is_plausible)
{
	int64_t a, b;

	a = ids_now_ms();
	b = ids_now_ms();
	ck_assert_int_gt(a, 1700000000000LL); /* after November 2023 */
	ck_assert_int_lt(a, 4102444800000LL); /* before 2100 */
	ck_assert_int_ge(b, a);
}
END_TEST

struct valid_case {
	const char *s;
	int valid;
};

static const struct valid_case valid_cases[] = {
    {"0192f0c4-5b1a-7cc3-8a4e-3f1f2a6b7c8d", 1},
    {"00000000-0000-0000-0000-000000000000", 1},
    {"ffffffff-ffff-ffff-ffff-ffffffffffff", 1},
    {"0192F0C4-5B1A-7CC3-8A4E-3F1F2A6B7C8D", 0},
    {"0192f0c4-5b1a-7cc3-8a4e-3f1f2a6b7c8D", 0},
    {"0192f0c4-5b1a-7cc3-8a4e-3f1f2a6b7c8", 0},
    {"0192f0c4-5b1a-7cc3-8a4e-3f1f2a6b7c8d0", 0},
    {"0192f0c4-5b1a-7cc3-8a4e-3f1f2a6b7c8d ", 0},
    {"0192f0c45-b1a-7cc3-8a4e-3f1f2a6b7c8d", 0},
    {"0192f0c4-5b1a7-cc3-8a4e-3f1f2a6b7c8d", 0},
    {"0192f0c4-5b1a-7cc38-a4e-3f1f2a6b7c8d", 0},
    {"0192f0c4-5b1a-7cc3-8a4e3-f1f2a6b7c8d", 0},
    {"0192f0c4-5b1a-7cc3-8a4e-3f1f2a6b-c8d", 0},
    {"0192f0c4_5b1a_7cc3_8a4e_3f1f2a6b7c8d", 0},
    {"0192f0c45b1a7cc38a4e3f1f2a6b7c8d", 0},
    {"0192f0c4-5b1a-7cc3-8a4e-3f1f2a6b7c8g", 0},
    {"{0192f0c4-5b1a-7cc3-8a4e-3f1f2a6b7c8d}", 0},
    {" 0192f0c4-5b1a-7cc3-8a4e-3f1f2a6b7c8d", 0},
    {"", 0},
    {"-", 0},
};

#define NVALID (int)(sizeof valid_cases / sizeof valid_cases[0])

START_TEST(test_uuid_valid_table)
{
	const struct valid_case *c = &valid_cases[_i];
	size_t len = strlen(c->s);
	char *copy;

	/* An exact copy, so that valgrind sees a read past the NUL. */
	copy = malloc(len + 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, c->s, len + 1);
	ck_assert_msg(
	    ids_uuid_valid(copy) == c->valid, "row %d: '%s'", _i, c->s);
	free(copy);
}
END_TEST

static Suite *
ids_suite(void)
{
	Suite *s = suite_create("ids");
	TCase *tc;

	tc = tcase_create("uuid7");
	tcase_add_loop_test(tc, test_uuid7_layout, 0, NMS);
	tcase_add_test(tc, test_uuid7_known_prefix);
	tcase_add_test(tc, test_uuid7_ids_are_distinct);
	tcase_add_test(tc, test_uuid7_sorts_by_time);
	suite_add_tcase(s, tc);

	tc = tcase_create("time");
	tcase_add_loop_test(tc, test_rfc3339_known_values, 0, NTIME);
	tcase_add_test(tc, test_rfc3339_matches_gmtime);
	tcase_add_test(tc, test_rfc3339_cached_second_follows);
	tcase_add_test(tc, test_now_ms_is_plausible);
	suite_add_tcase(s, tc);

	tc = tcase_create("uuid_valid");
	tcase_add_loop_test(tc, test_uuid_valid_table, 0, NVALID);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(ids_suite());
}
