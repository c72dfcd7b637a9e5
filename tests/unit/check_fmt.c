/*
 * check_fmt.c: text without printf (src/fmt.c). What fmt writes must be
 * what snprintf() would, and nothing may be written past the buffer: what
 * does not fit is cut and said to be.
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "boxbox.h"
#include "unit.h"

struct uint_case {
	uint64_t v;
	int width;
};

static const struct uint_case uint_cases[] = {
    {0, 0},
    {0, 1},
    {0, 3},
    {7, 3},
    {42, 1},
    {999, 3},
    {1000, 3},
    {200, 3},
    {503, 1},
    {18446744073709551615ULL, 1},
    {18446744073709551615ULL, 20},
    {5, 20},
};

#define NUINT (int)(sizeof uint_cases / sizeof uint_cases[0])

START_TEST(test_uint_matches_printf)
{
	const struct uint_case *c = &uint_cases[_i];
	char got[64], want[64];
	struct fmt f;
	size_t n;
	int cut;

	fmt_init(&f, got, sizeof got);
	fmt_uint(&f, c->v, c->width);
	n = fmt_end(&f, &cut);
	snprintf(want, sizeof want, "%0*" PRIu64, c->width, c->v);
	ck_assert_str_eq(got, want);
	ck_assert_uint_eq(n, strlen(want));
	ck_assert_int_eq(cut, 0);
}
END_TEST

START_TEST(test_appends_in_order)
{
	char got[64];
	struct fmt f;
	size_t n;
	int cut;

	fmt_init(&f, got, sizeof got);
	fmt_str(&f, "Status: ");
	fmt_uint(&f, 200, 3);
	fmt_mem(&f, " OKAY", 3);
	fmt_str(&f, "");
	n = fmt_end(&f, &cut);
	ck_assert_str_eq(got, "Status: 200 OK");
	ck_assert_uint_eq(n, 14);
	ck_assert_int_eq(cut, 0);
}
END_TEST

/* A buffer of 8 holds 7 characters and the NUL; the rest is cut. */
START_TEST(test_cuts_at_the_end_of_the_buffer)
{
	char buf[12];
	struct fmt f;
	size_t n;
	int cut;

	memset(buf, '#', sizeof buf);
	fmt_init(&f, buf, 8);
	fmt_str(&f, "abcde");
	fmt_uint(&f, 123456, 1);
	fmt_str(&f, "xyz");
	n = fmt_end(&f, &cut);
	ck_assert_uint_eq(n, 7);
	ck_assert_str_eq(buf, "abcde12");
	ck_assert_int_eq(cut, 1);
	ck_assert_int_eq(buf[8], '#');
}
END_TEST

START_TEST(test_exact_fit_is_not_cut)
{
	char buf[4];
	struct fmt f;
	int cut;

	fmt_init(&f, buf, sizeof buf);
	fmt_str(&f, "abc");
	ck_assert_uint_eq(fmt_end(&f, &cut), 3);
	ck_assert_str_eq(buf, "abc");
	ck_assert_int_eq(cut, 0);
}
END_TEST

static Suite *
fmt_suite(void)
{
	Suite *s = suite_create("fmt");
	TCase *tc = tcase_create("fmt");

	tcase_add_loop_test(tc, test_uint_matches_printf, 0, NUINT);
	tcase_add_test(tc, test_appends_in_order);
	tcase_add_test(tc, test_cuts_at_the_end_of_the_buffer);
	tcase_add_test(tc, test_exact_fit_is_not_cut);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(fmt_suite());
}
