/*
 * check_json.c: the strict JSON checks json-c lacks (src/json.c) and the
 * status text and error record (src/status.c). UTF-8 by byte class, the
 * raw scan for keys, surrogates and non-JSON json-c accepts, and the
 * error body every program answers with.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "boxbox.h"
#include "unit.h"

#define LIT(s) (s), sizeof(s) - 1

struct utf8_case {
	const char *s;
	size_t len;
	int valid;
};

static const struct utf8_case utf8_cases[] = {
    /* Valid: every length at its bounds. */
    {LIT(""), 1}, {LIT("plain ASCII {}[]\t\r\n"), 1}, {LIT("\x01\x7f"), 1},
    {LIT("\xc2\x80"), 1},         /* U+0080 */
    {LIT("\xc3\xa9"), 1},         /* U+00E9 */
    {LIT("\xdf\xbf"), 1},         /* U+07FF */
    {LIT("\xe0\xa0\x80"), 1},     /* U+0800 */
    {LIT("\xe2\x82\xac"), 1},     /* U+20AC */
    {LIT("\xed\x9f\xbf"), 1},     /* U+D7FF, below the surrogates */
    {LIT("\xee\x80\x80"), 1},     /* U+E000, above them */
    {LIT("\xef\xbf\xbf"), 1},     /* U+FFFF */
    {LIT("\xef\xbb\xbf"), 1},     /* U+FEFF, a BOM is valid UTF-8 */
    {LIT("\xf0\x90\x80\x80"), 1}, /* U+10000 */
    {LIT("\xf0\x9f\x8d\x95"), 1}, /* U+1F355 */
    {LIT("\xf4\x8f\xbf\xbf"), 1}, /* U+10FFFF */
    {LIT("a\xc3\xa9"
         "b\xe2\x82\xac"
         "c\xf0\x9f\x8d\x95"),
        1},
    {"ab\x80", 2, 1}, /* len is the end, not the NUL */
    /* Invalid: NUL and stray continuation bytes. */
    {LIT("\0"), 0}, {LIT("a\0b"), 0}, {LIT("\x80"), 0}, {LIT("\xbf"), 0},
    {LIT("a\x80"
         "b"),
        0},
    {LIT("\xc3\xa9\xa9"), 0},
    /* Overlong forms. */
    {LIT("\xc0\xaf"), 0}, {LIT("\xc0\x80"), 0}, {LIT("\xc1\xbf"), 0},
    {LIT("\xe0\x80\xaf"), 0}, {LIT("\xe0\x9f\xbf"), 0},
    {LIT("\xf0\x80\x80\xaf"), 0}, {LIT("\xf0\x8f\xbf\xbf"), 0},
    /* UTF-16 surrogates encoded directly. */
    {LIT("\xed\xa0\x80"), 0}, {LIT("\xed\xaf\xbf"), 0},
    {LIT("\xed\xb0\x80"), 0}, {LIT("\xed\xbf\xbf"), 0},
    {LIT("\xed\xa0\xbd\xed\xb8\x80"), 0}, /* CESU-8 pair */
    /* Above U+10FFFF, and bytes that never occur. */
    {LIT("\xf4\x90\x80\x80"), 0}, {LIT("\xf5\x80\x80\x80"), 0},
    {LIT("\xf7\xbf\xbf\xbf"), 0}, {LIT("\xf8\x88\x80\x80\x80"), 0},
    {LIT("\xfc\x84\x80\x80\x80\x80"), 0}, {LIT("\xfe"), 0}, {LIT("\xff"), 0},
    /* Truncated sequences, at the end and before another byte. */
    {LIT("\xc3"), 0}, {LIT("\xe2\x82"), 0}, {LIT("\xe2"), 0},
    {LIT("\xf0\x9f\x8d"), 0}, {LIT("\xf0\x9f"), 0},
    {LIT("\xc3"
         "a"),
        0},
    {LIT("\xe2\x82"
         "a"),
        0},
    {LIT("\xe2"
         "a\xac"),
        0},
    {LIT("\xf0\x9f\x8d"
         "a"),
        0},
    {LIT("\xf0\x9f"
         "a\x95"),
        0},
    {"\xe2\x82\xac", 2, 0}, /* cut by len */
};

#define NUTF8 (int)(sizeof utf8_cases / sizeof utf8_cases[0])

START_TEST(test_utf8_valid_table)
{
	const struct utf8_case *c = &utf8_cases[_i];
	char *copy;

	/* An exact copy, so that valgrind sees a read past len. */
	copy = malloc(c->len ? c->len : 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, c->s, c->len);
	ck_assert_msg(json_utf8_valid(copy, c->len) == c->valid,
	    "row %d: expected %s", _i, c->valid ? "valid" : "invalid");
	free(copy);
}
END_TEST

struct scan_case {
	const char *text;
	int rc;
	int nkeys;
	const char *key0; /* first key literal, quotes included, or NULL */
};

static const struct scan_case scan_cases[] = {
    /* Key counting: the top level only. */
    {"{}", 0, 0, NULL},
    {"{\"a\":1}", 0, 1, "\"a\""},
    {"{\"a\":1,\"b\":2,\"c\":3}", 0, 3, "\"a\""},
    {"{\"a\":{\"b\":1,\"c\":2}}", 0, 1, "\"a\""},
    {"{\"a\":[{\"b\":1},{\"c\":{\"d\":2}}],\"e\":3}", 0, 2, "\"a\""},
    {"{\"a\":{},\"a\":{}}", 0, 2, "\"a\""},
    {"{\"a:b\":1}", 0, 1, "\"a:b\""},
    {"{\"a\\\"b\":1,\"c\":2}", 0, 2, "\"a\\\"b\""},
    {"{\"a\\\\\":1,\"c\":2}", 0, 2, "\"a\\\\\""},
    {"{\"a\" \t\r\n: 1, \"b\"\n:2}", 0, 2, "\"a\" \t\r\n"},
    {"{ \"\\u0073ize\" : 1 }", 0, 1, "\"\\u0073ize\" "},
    {"{\"a\":\"b\",\"c\":\"d:e\"}", 0, 2, "\"a\""},
    {"{\"a\":\"{\\\"x\\\":1,\\\"y\\\":2}\"}", 0, 1, "\"a\""},
    {"{\"a\":\"}]\",\"b\":\"[{\"}", 0, 2, "\"a\""},
    {"[\"a\",\"b\"]", 0, 0, NULL},
    {"[{\"a\":1,\"b\":2}]", 0, 0, NULL},
    {"\"a\"", 0, 0, NULL},
    {"null", 0, 0, NULL},
    /* Surrogate escapes: pairs pass, lone halves do not. */
    {"{\"a\":\"\\ud83c\\udf55\"}", 0, 1, "\"a\""},
    {"{\"a\":\"\\uD83C\\uDF55\"}", 0, 1, "\"a\""},
    {"{\"\\udbff\\udfff\":1}", 0, 1, "\"\\udbff\\udfff\""},
    {"{\"a\":\"\\ud7ff\\ue000\"}", 0, 1, "\"a\""},
    {"{\"a\":\"\\ud800\"}", -1, -1, NULL},
    {"{\"a\":\"\\udbff\"}", -1, -1, NULL},
    {"{\"a\":\"\\udc00\"}", -1, -1, NULL},
    {"{\"a\":\"\\udfff\"}", -1, -1, NULL},
    {"{\"a\":\"\\ud800x\"}", -1, -1, NULL},
    {"{\"a\":\"\\ud800\\n\"}", -1, -1, NULL},
    {"{\"a\":\"\\ud800\\u0041\"}", -1, -1, NULL},
    {"{\"a\":\"\\ud800\\ud800\"}", -1, -1, NULL},
    {"{\"a\":\"\\udc00\\ud800\"}", -1, -1, NULL},
    {"{\"\\ud800\":1}", -1, -1, NULL},
    {"[[[\"\\udc00\"]]]", -1, -1, NULL},
    {"\"\\\\ud800\"", 0, 0, NULL}, /* an escaped backslash, then text */
    /* Raw control characters, which JSON strings may not hold. */
    {"{\"a\":\"x\ty\"}", -2, -1, NULL},
    {"{\"a\":\"\n\"}", -2, -1, NULL},
    {"{\"a\x1f\":1}", -2, -1, NULL},
    {"{\"a\":\"\x7f\"}", 0, 1, "\"a\""},
    /* Numbers: RFC 8259 grammar, and the non-numbers json-c takes. */
    {"[0,-0,1,10,-1.5,0.25,1e5,1E+5,1e-5,-0.5E-10,123456789012]", 0, 0, NULL},
    {"{\"a\":-12.5e+3}", 0, 1, "\"a\""},
    {"[NaN]", -3, -1, NULL},
    {"[Infinity]", -3, -1, NULL},
    {"[-Infinity]", -3, -1, NULL},
    {"{\"a\":NaN}", -3, -1, NULL},
    {"[1.]", -3, -1, NULL},
    {"[1.e5]", -3, -1, NULL},
    {"[-01]", -3, -1, NULL},
    {"[00]", -3, -1, NULL},
    {"[1e]", -3, -1, NULL},
    {"[1e+]", -3, -1, NULL},
    {"[-]", -3, -1, NULL},
    {"[\"NaN\",\"-01\",\"1.\"]", 0, 0, NULL},
};

#define NSCAN (int)(sizeof scan_cases / sizeof scan_cases[0])

START_TEST(test_scan_table)
{
	const struct scan_case *c = &scan_cases[_i];
	struct json_span keys[8];
	size_t len = strlen(c->text);
	char *copy;
	int nkeys = -1, rc;

	copy = malloc(len);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, c->text, len);
	rc = json_scan(copy, len, &nkeys, keys, 8);
	ck_assert_msg(rc == c->rc, "row %d: rc %d, expected %d", _i, rc, c->rc);
	if (c->nkeys >= 0)
		ck_assert_msg(nkeys == c->nkeys, "row %d: %d keys, expected %d",
		    _i, nkeys, c->nkeys);
	if (c->key0 != NULL) {
		ck_assert_uint_eq(keys[0].len, strlen(c->key0));
		ck_assert_mem_eq(keys[0].p, c->key0, keys[0].len);
		ck_assert_ptr_eq(
		    keys[0].p, copy + (strstr(c->text, c->key0) - c->text));
	}
	free(copy);
}
END_TEST

START_TEST(test_scan_counts_past_max)
{
	static const char text[] = "{\"a\":1,\"bb\":2,\"ccc\":3,\"d\":4}";
	struct json_span keys[2];
	int nkeys;

	ck_assert_int_eq(json_scan(LIT(text), &nkeys, keys, 2), 0);
	ck_assert_int_eq(nkeys, 4);
	ck_assert_uint_eq(keys[0].len, 3);
	ck_assert_uint_eq(keys[1].len, 4);
	ck_assert_mem_eq(keys[1].p, "\"bb\"", 4);
}
END_TEST

START_TEST(test_scan_span_stops_before_colon)
{
	static const char text[] = "{\"k\"   :1}";
	struct json_span keys[1];
	int nkeys;

	ck_assert_int_eq(json_scan(LIT(text), &nkeys, keys, 1), 0);
	ck_assert_int_eq(nkeys, 1);
	ck_assert_ptr_eq(keys[0].p, text + 1);
	/* The span runs to the colon; order.c parses it as a JSON value. */
	ck_assert_uint_eq(keys[0].len, 6);
}
END_TEST

static char *
err_body_text(const struct bb_err *e)
{
	struct json_object *o;
	char *text;

	o = json_err_body(e);
	ck_assert_ptr_nonnull(o);
	text = strdup(json_text(o, NULL));
	json_object_put(o);
	ck_assert_ptr_nonnull(text);
	return text;
}

START_TEST(test_err_body_without_details)
{
	struct bb_err e;
	char *text;

	bb_err_clear(&e);
	bb_err_set(&e, "request body is empty; expected a JSON object");
	text = err_body_text(&e);
	ck_assert_str_eq(text,
	    "{\"error\":\"request body is empty; expected a JSON object\"}");
	free(text);
}
END_TEST

START_TEST(test_err_body_with_details)
{
	struct bb_err e;
	char *text;

	bb_err_clear(&e);
	bb_err_set(&e, "invalid order: %d fields failed validation", 2);
	bb_err_add(&e, "size", "must be one of: %s", "small, large");
	bb_err_add(&e, "toppings[0]", "must not be empty");
	text = err_body_text(&e);
	ck_assert_str_eq(text,
	    "{\"error\":\"invalid order: 2 fields failed validation\","
	    "\"details\":[{\"field\":\"size\",\"message\":\"must be one of: "
	    "small, large\"},{\"field\":\"toppings[0]\",\"message\":\"must "
	    "not be empty\"}]}");
	free(text);
}
END_TEST

START_TEST(test_err_body_escapes_text)
{
	struct json_object *o, *v;
	struct bb_err e;
	char *text;

	bb_err_clear(&e);
	bb_err_set(&e, "a \"quoted\" \\ path/x\n");
	bb_err_add(&e, "we\"ird\x01", "caf\xc3\xa9");
	text = err_body_text(&e);
	ck_assert_ptr_nonnull(
	    strstr(text, "\"error\":\"a \\\"quoted\\\" \\\\ path/x\\n\""));
	ck_assert_ptr_nonnull(strstr(text, "\"field\":\"we\\\"ird\\u0001\""));
	o = json_tokener_parse(text);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "error", &v));
	ck_assert_str_eq(json_object_get_string(v), e.message);
	json_object_put(o);
	free(text);
}
END_TEST

START_TEST(test_err_add_truncates_past_max)
{
	struct bb_err e;
	int i;

	bb_err_clear(&e);
	for (i = 0; i < BB_DETAILS_MAX; i++)
		bb_err_add(&e, "f", "n%d", i);
	ck_assert_int_eq(e.ndetails, BB_DETAILS_MAX);
	ck_assert_int_eq(e.truncated, 0);
	bb_err_add(&e, "over", "by one");
	bb_err_add(&e, "over", "by two");
	ck_assert_int_eq(e.ndetails, BB_DETAILS_MAX);
	ck_assert_int_eq(e.truncated, 1);
	ck_assert_str_eq(e.details[BB_DETAILS_MAX - 1].message, "n31");
	bb_err_clear(&e);
	ck_assert_int_eq(e.ndetails, 0);
	ck_assert_int_eq(e.truncated, 0);
	ck_assert_str_eq(e.message, "");
}
END_TEST

START_TEST(test_err_add_cuts_long_text)
{
	char longer[300];
	struct bb_err e;

	memset(longer, 'x', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	bb_err_clear(&e);
	bb_err_set(&e, "%s", longer);
	bb_err_add(&e, longer, "%s", longer);
	ck_assert_uint_eq(strlen(e.message), sizeof e.message - 1);
	ck_assert_uint_eq(
	    strlen(e.details[0].field), sizeof e.details[0].field - 1);
	ck_assert_uint_eq(
	    strlen(e.details[0].message), sizeof e.details[0].message - 1);
	bb_err_set(&e, "short");
	ck_assert_str_eq(e.message, "short");
}
END_TEST

struct status_case {
	int status;
	const char *text;
};

static const struct status_case status_cases[] = {
    {BB_OK, "success"},
    {BB_ENOMEM, "out of memory"},
    {BB_EBADJSON, "malformed JSON"},
    {BB_EINVALID, "validation failed"},
    {BB_ETOOLARGE, "request body too large"},
    {BB_EMEDIA, "unsupported media type"},
    {BB_ENOTFOUND, "not found"},
    {BB_EMETHOD, "method not allowed"},
    {BB_EUNAVAIL, "order service unavailable"},
    {BB_ETIMEOUT, "order not acknowledged in time"},
    {BB_EINTERNAL, "internal error"},
    {BB_ECONF, "bad configuration"},
    {BB__MAX, "unknown status"},
    {BB__MAX + 1, "unknown status"},
    {-1, "unknown status"},
    {1000000, "unknown status"},
};

#define NSTATUS (int)(sizeof status_cases / sizeof status_cases[0])

START_TEST(test_status_text_table)
{
	const struct status_case *c = &status_cases[_i];

	ck_assert_str_eq(bb_status_text((enum bb_status)c->status), c->text);
}
END_TEST

START_TEST(test_status_text_names_every_status)
{
	int i, j;

	/* The table above must grow with the enum. */
	ck_assert_int_eq(BB__MAX, NSTATUS - 4);
	for (i = 0; i < BB__MAX; i++) {
		ck_assert_str_ne(bb_status_text(i), "unknown status");
		for (j = 0; j < i; j++)
			ck_assert_str_ne(bb_status_text(i), bb_status_text(j));
	}
}
END_TEST

START_TEST(test_text_keeps_slashes)
{
	struct json_object *o;
	size_t len;
	const char *t;

	o = json_object_new_object();
	json_object_object_add(o, "url", json_object_new_string("/v1/order"));
	t = json_text(o, &len);
	ck_assert_str_eq(t, "{\"url\":\"/v1/order\"}");
	ck_assert_uint_eq(len, strlen(t));
	json_object_put(o);
}
END_TEST

static Suite *
json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc;

	tc = tcase_create("utf8");
	tcase_add_loop_test(tc, test_utf8_valid_table, 0, NUTF8);
	suite_add_tcase(s, tc);

	tc = tcase_create("scan");
	tcase_add_loop_test(tc, test_scan_table, 0, NSCAN);
	tcase_add_test(tc, test_scan_counts_past_max);
	tcase_add_test(tc, test_scan_span_stops_before_colon);
	suite_add_tcase(s, tc);

	tc = tcase_create("err_body");
	tcase_add_test(tc, test_err_body_without_details);
	tcase_add_test(tc, test_err_body_with_details);
	tcase_add_test(tc, test_err_body_escapes_text);
	tcase_add_test(tc, test_text_keeps_slashes);
	suite_add_tcase(s, tc);

	tc = tcase_create("status");
	tcase_add_test(tc, test_err_add_truncates_past_max);
	tcase_add_test(tc, test_err_add_cuts_long_text);
	tcase_add_loop_test(tc, test_status_text_table, 0, NSTATUS);
	tcase_add_test(tc, test_status_text_names_every_status);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(json_suite());
}
