/*
 * check_order.c: the order model (src/order.c). Tables of request bodies,
 * each with the status, the failing field and the words the client must
 * get back; then stamping and the stored JSON form.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "boxbox.h"
#include "unit.h"

/* A body with its exact length: it may hold NUL or invalid UTF-8. */
#define LIT(s) (s), sizeof(s) - 1

/* The pieces of a valid order, to build bodies with one thing wrong. */
#define SZ         "\"size\":\"medium\""
#define TP         "\"toppings\":[\"cheese\",\"basil\"]"
#define DS         "\"destination\":\"Table 4\""
#define US         "\"username\":\"kimi\""
#define OK_BODY    "{" SZ "," TP "," DS "," US "}"
#define NO_SIZE(v) "{\"size\":" v "," DS "," US "}"
#define NO_DEST(v) "{" SZ ",\"destination\":" v "," US "}"
#define NO_USER(v) "{" SZ "," DS ",\"username\":" v "}"
#define NO_TOPS(v) "{" SZ ",\"toppings\":" v "," DS "," US "}"

#define X8     "xxxxxxxx"
#define X64    X8 X8 X8 X8 X8 X8 X8 X8
#define X128   X64 X64
#define EURO   "\xe2\x82\xac" /* U+20AC, three bytes */
#define EURO7  EURO EURO EURO EURO EURO EURO EURO
#define EURO21 EURO7 EURO7 EURO7
#define T5     "\"t\",\"t\",\"t\",\"t\",\"t\""
#define T20    T5 "," T5 "," T5 "," T5

static const char *const sizes_v[] = {"small", "medium", "large"};
static const struct bb_strv sizes = {(char **)sizes_v, 3};

struct bad_case {
	const char *body;
	size_t len;
	enum bb_status status;
	const char *field; /* the one detail expected, or NULL for none */
	const char *msg;   /* in the message (or the detail), or NULL */
};

static const struct bad_case bad_cases[] = {
    /* Not JSON at all. */
    {LIT(""), BB_EBADJSON, NULL, "empty"},
    {LIT(" \t\r\n "), BB_EBADJSON, NULL, "empty"},
    {LIT("{"), BB_EBADJSON, NULL, "malformed JSON"},
    {LIT("{\"size\":\"medium\""), BB_EBADJSON, NULL, "malformed JSON"},
    {LIT("{\"size\":\"med"), BB_EBADJSON, NULL, "malformed JSON"},
    {LIT("{" SZ "," DS "," US), BB_EBADJSON, NULL, "malformed JSON"},
    {LIT("{" SZ "," DS "," US ","), BB_EBADJSON, NULL, "malformed JSON"},
    {LIT(OK_BODY " x"), BB_EBADJSON, NULL, "malformed JSON at byte"},
    {LIT(OK_BODY OK_BODY), BB_EBADJSON, NULL, "malformed JSON at byte"},
    {LIT(OK_BODY "\n{}"), BB_EBADJSON, NULL, "malformed JSON at byte"},
    {LIT("{'size':'medium'," DS "," US "}"), BB_EBADJSON, NULL, NULL},
    {LIT("{size:\"medium\"," DS "," US "}"), BB_EBADJSON, NULL, NULL},
    {LIT("{" SZ ",/* c */" DS "," US "}"), BB_EBADJSON, NULL, NULL},
    {LIT("{" SZ ",// c\n" DS "," US "}"), BB_EBADJSON, NULL, NULL},
    {LIT("# c\n" OK_BODY), BB_EBADJSON, NULL, NULL},
    {LIT("{" SZ "," DS "," US ",}"), BB_EBADJSON, NULL, NULL},
    {LIT(NO_TOPS("[\"a\",]")), BB_EBADJSON, NULL, NULL},
    /* Not JSON, though json-c's strict mode takes it. */
    {LIT(NO_SIZE("NaN")), BB_EBADJSON, NULL, "NaN"},
    {LIT(NO_SIZE("Infinity")), BB_EBADJSON, NULL, "NaN, Infinity"},
    {LIT(NO_SIZE("-Infinity")), BB_EBADJSON, NULL, "NaN, Infinity"},
    {LIT(NO_TOPS("[NaN]")), BB_EBADJSON, NULL, "NaN"},
    {LIT(NO_SIZE("1.")), BB_EBADJSON, NULL, "number JSON does not allow"},
    {LIT(NO_SIZE("-01")), BB_EBADJSON, NULL, "number JSON does not allow"},
    {LIT(NO_SIZE("-00")), BB_EBADJSON, NULL, "number JSON does not allow"},
    {LIT(NO_SIZE("1.e5")), BB_EBADJSON, NULL, "number JSON does not allow"},
    {LIT(NO_USER("\"a\tb\"")), BB_EBADJSON, NULL, "control character"},
    {LIT(NO_USER("\"a\nb\"")), BB_EBADJSON, NULL, "control character"},
    {LIT(NO_USER("\"\x1f\"")), BB_EBADJSON, NULL, "control character"},
    {LIT("{" SZ "," DS "," US ",\"a\rb\":1}"), BB_EBADJSON, NULL,
        "control character"},
    /* Not JSON. */
    {LIT(NO_SIZE("nan")), BB_EBADJSON, NULL, NULL},
    {LIT(NO_SIZE("TRUE")), BB_EBADJSON, NULL, NULL},
    {LIT(NO_SIZE("01")), BB_EBADJSON, NULL, NULL},
    {LIT(NO_SIZE("\"\\x41\"")), BB_EBADJSON, NULL, NULL},
    {LIT(NO_SIZE("\"\\q\"")), BB_EBADJSON, NULL, NULL},
    {LIT("\xef\xbb\xbf" OK_BODY), BB_EBADJSON, NULL, NULL},
    /* Duplicate keys: json-c would keep the last one silently. */
    {LIT("{" SZ ",\"size\":\"large\"," DS "," US "}"), BB_EBADJSON, "size",
        "duplicate"},
    {LIT("{" SZ ",\"\\u0073ize\":\"large\"," DS "," US "}"), BB_EBADJSON,
        "size", "duplicate"},
    {LIT("{" US "," SZ "," DS ",\"username\":\"kimi\"}"), BB_EBADJSON,
        "username", "duplicate"},
    {LIT("{" SZ "," DS "," US ",\"x\":1,\"x\":2}"), BB_EBADJSON, "x",
        "duplicate"},
    /* Nesting past ORDER_DEPTH_MAX is a 400; within it, a 422. */
    {LIT(NO_TOPS("[[[[[[[[[[\"x\"]]]]]]]]]]")), BB_EBADJSON, NULL, "deeper"},
    {LIT(NO_TOPS("[{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{}}}}}}}]")),
        BB_EBADJSON, NULL, "deeper"},
    {LIT(NO_TOPS("[[\"x\"]]")), BB_EINVALID, "toppings[0]", "an array"},
    /* json-c counts the innermost value too: 1 + 6 arrays + "x" is 8. */
    {LIT(NO_TOPS("[[[[[[\"x\"]]]]]]")), BB_EINVALID, "toppings[0]", "an array"},
    {LIT(NO_TOPS("[[[[[[[\"x\"]]]]]]]")), BB_EBADJSON, NULL, "deeper than 8"},
    /* Not UTF-8, or a NUL byte. */
    {LIT(NO_USER("\"a\x80\"")), BB_EBADJSON, NULL, "UTF-8"},
    {LIT(NO_USER("\"\xc0\xaf\"")), BB_EBADJSON, NULL, "UTF-8"},
    {LIT(NO_USER("\"\xed\xa0\x80\"")), BB_EBADJSON, NULL, "UTF-8"},
    {LIT(NO_USER("\"\xf5\x80\x80\x80\"")), BB_EBADJSON, NULL, "UTF-8"},
    {LIT(NO_USER("\"\xe2\x82\"")), BB_EBADJSON, NULL, "UTF-8"},
    {LIT(NO_USER("\"\xff\"")), BB_EBADJSON, NULL, "UTF-8"},
    {LIT(OK_BODY "\xe2\x82"), BB_EBADJSON, NULL, "UTF-8"},
    {LIT(NO_USER("\"a\0b\"")), BB_EBADJSON, NULL, NULL},
    {LIT(OK_BODY "\0"), BB_EBADJSON, NULL, NULL},
    {LIT("\0" OK_BODY), BB_EBADJSON, NULL, NULL},
    /* Escapes of lone UTF-16 surrogates: json-c would invent U+FFFD. */
    {LIT(NO_USER("\"\\ud800\"")), BB_EBADJSON, NULL, "surrogate"},
    {LIT(NO_USER("\"\\udc00\"")), BB_EBADJSON, NULL, "surrogate"},
    {LIT(NO_USER("\"\\uD800x\"")), BB_EBADJSON, NULL, "surrogate"},
    {LIT(NO_USER("\"\\ud800\\u0041\"")), BB_EBADJSON, NULL, "surrogate"},
    {LIT(NO_USER("\"\\udc00\\ud800\"")), BB_EBADJSON, NULL, "surrogate"},
    {LIT("{" SZ "," DS "," US ",\"\\ud800\":1}"), BB_EBADJSON, NULL,
        "surrogate"},
    /* JSON, but not an order. */
    {LIT("null"), BB_EINVALID, NULL, "not null"},
    {LIT("[]"), BB_EINVALID, NULL, "not an array"},
    {LIT("\"str\""), BB_EINVALID, NULL, "not a string"},
    {LIT("123"), BB_EINVALID, NULL, "not a number"},
    {LIT("-1.5e3"), BB_EINVALID, NULL, "not a number"},
    {LIT("true"), BB_EINVALID, NULL, "not a boolean"},
    {LIT(NO_USER("\"ki\\u0000mi\"")), BB_EINVALID, "username", "NUL"},
    {LIT(NO_TOPS("[\"\\u0000\"]")), BB_EINVALID, "toppings[0]", "NUL"},
    {LIT(NO_SIZE("\"medium\\u0000\"")), BB_EINVALID, "size", "NUL"},
    /* Each field with each wrong type. */
    {LIT(NO_SIZE("2")), BB_EINVALID, "size", "not a number"},
    {LIT(NO_SIZE("1.5")), BB_EINVALID, "size", "not a number"},
    {LIT(NO_SIZE("0")), BB_EINVALID, "size", "not a number"},
    {LIT(NO_SIZE("-0.5e+3")), BB_EINVALID, "size", "not a number"},
    {LIT(NO_SIZE("10E2")), BB_EINVALID, "size", "not a number"},
    {LIT(NO_SIZE("true")), BB_EINVALID, "size", "not a boolean"},
    {LIT(NO_SIZE("null")), BB_EINVALID, "size", "not null"},
    {LIT(NO_SIZE("{}")), BB_EINVALID, "size", "not an object"},
    {LIT(NO_SIZE("[\"medium\"]")), BB_EINVALID, "size", "not an array"},
    {LIT(NO_DEST("4")), BB_EINVALID, "destination", "not a number"},
    {LIT(NO_DEST("false")), BB_EINVALID, "destination", "not a boolean"},
    {LIT(NO_DEST("null")), BB_EINVALID, "destination", "not null"},
    {LIT(NO_DEST("{\"t\":4}")), BB_EINVALID, "destination", "not an object"},
    {LIT(NO_DEST("[]")), BB_EINVALID, "destination", "not an array"},
    {LIT(NO_USER("7")), BB_EINVALID, "username", "not a number"},
    {LIT(NO_USER("true")), BB_EINVALID, "username", "not a boolean"},
    {LIT(NO_USER("null")), BB_EINVALID, "username", "not null"},
    {LIT(NO_USER("{}")), BB_EINVALID, "username", "not an object"},
    {LIT(NO_USER("[\"kimi\"]")), BB_EINVALID, "username", "not an array"},
    {LIT(NO_TOPS("1")), BB_EINVALID, "toppings", "not a number"},
    {LIT(NO_TOPS("true")), BB_EINVALID, "toppings", "not a boolean"},
    {LIT(NO_TOPS("null")), BB_EINVALID, "toppings", "not null"},
    {LIT(NO_TOPS("{}")), BB_EINVALID, "toppings", "not an object"},
    {LIT(NO_TOPS("\"cheese\"")), BB_EINVALID, "toppings", "not a string"},
    {LIT(NO_TOPS("[1]")), BB_EINVALID, "toppings[0]", "not a number"},
    {LIT(NO_TOPS("[\"a\",null]")), BB_EINVALID, "toppings[1]", "not null"},
    {LIT(NO_TOPS("[\"a\",\"b\",{}]")), BB_EINVALID, "toppings[2]",
        "not an object"},
    /* Missing and unknown fields. */
    {LIT("{" DS "," US "}"), BB_EINVALID, "size", "is required"},
    {LIT("{" SZ "," US "}"), BB_EINVALID, "destination", "is required"},
    {LIT("{" SZ "," DS "}"), BB_EINVALID, "username", "is required"},
    {LIT("{" SZ "," DS "," US ",\"extra\":1}"), BB_EINVALID, "extra",
        "unknown field"},
    {LIT("{" SZ "," DS "," US ",\"Size\":\"small\"}"), BB_EINVALID, "Size",
        "unknown field"},
    /* Values out of their range; lengths are in bytes. */
    {LIT(NO_SIZE("\"huge\"")), BB_EINVALID, "size",
        "must be one of: small, medium, large"},
    {LIT(NO_SIZE("\"Medium\"")), BB_EINVALID, "size", "must be one of"},
    {LIT(NO_SIZE("\"medium \"")), BB_EINVALID, "size", "must be one of"},
    {LIT(NO_SIZE("\"\"")), BB_EINVALID, "size", "must not be empty"},
    {LIT(NO_TOPS("[" T20 ",\"t\"]")), BB_EINVALID, "toppings",
        "at most 20 items, got 21"},
    {LIT(NO_TOPS("[\"\"]")), BB_EINVALID, "toppings[0]", "must not be empty"},
    {LIT(NO_TOPS("[\"" X64 "x\"]")), BB_EINVALID, "toppings[0]",
        "at most 64 bytes, got 65"},
    {LIT(NO_DEST("\"\"")), BB_EINVALID, "destination", "must not be empty"},
    {LIT(NO_DEST("\"" X128 "x\"")), BB_EINVALID, "destination",
        "at most 128 bytes, got 129"},
    {LIT(NO_USER("\"\"")), BB_EINVALID, "username", "must not be empty"},
    {LIT(NO_USER("\"" X64 "x\"")), BB_EINVALID, "username",
        "at most 64 bytes, got 65"},
    {LIT(NO_USER("\"" EURO21 "xx\"")), BB_EINVALID, "username",
        "at most 64 bytes, got 65"},
    {LIT(NO_USER("\"" EURO21 EURO "\"")), BB_EINVALID, "username", "got 66"},
    {LIT(NO_USER("\"\\u20ac" EURO21 "\"")), BB_EINVALID, "username", "got 66"},
};

#define NBAD (int)(sizeof bad_cases / sizeof bad_cases[0])

/* order_parse() wants body[len] == '\0'; an exact copy lets valgrind see
 * any read past it. */
static enum bb_status
parse(struct order *o, const char *body, size_t len, struct bb_err *e)
{
	enum bb_status s;
	char *copy;

	copy = malloc(len + 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, body, len);
	copy[len] = '\0';
	s = order_parse(o, copy, len, &sizes, e);
	free(copy);
	return s;
}

static int
has_detail(const struct bb_err *e, const char *field)
{
	int i;

	for (i = 0; i < e->ndetails; i++) {
		if (strcmp(e->details[i].field, field) == 0)
			return 1;
	}
	return 0;
}

static void
check_words(const struct bb_err *e, const char *words, int row)
{
	int i;

	if (words == NULL || strstr(e->message, words) != NULL)
		return;
	for (i = 0; i < e->ndetails; i++) {
		if (strstr(e->details[i].message, words) != NULL)
			return;
	}
	ck_abort_msg("row %d: '%s' in neither message '%s' nor details", row,
	    words, e->message);
}

START_TEST(test_parse_rejects_bad_body)
{
	const struct bad_case *c = &bad_cases[_i];
	struct order o;
	struct bb_err e;
	enum bb_status s;

	s = parse(&o, c->body, c->len, &e);
	ck_assert_msg(s == c->status, "row %d: status %s, expected %s (%s)", _i,
	    bb_status_text(s), bb_status_text(c->status), e.message);
	ck_assert_ptr_null(o.json);
	ck_assert_msg(e.message[0] != '\0', "row %d: no message", _i);
	if (c->field == NULL)
		ck_assert_msg(e.ndetails == 0, "row %d: %d unexpected details",
		    _i, e.ndetails);
	else {
		ck_assert_msg(e.ndetails == 1, "row %d: %d details, expected 1",
		    _i, e.ndetails);
		ck_assert_msg(has_detail(&e, c->field),
		    "row %d: detail is '%s', expected '%s'", _i,
		    e.details[0].field, c->field);
	}
	check_words(&e, c->msg, _i);
}
END_TEST

struct good_case {
	const char *body;
	size_t len;
	const char *size;
	int ntoppings;
	const char *last_topping; /* or NULL */
	const char *destination;
	const char *username;
};

static const struct good_case good_cases[] = {
    {LIT("{" SZ "," DS "," US "}"), "medium", 0, NULL, "Table 4", "kimi"},
    {LIT(OK_BODY), "medium", 2, "basil", "Table 4", "kimi"},
    {LIT(NO_TOPS("[]")), "medium", 0, NULL, "Table 4", "kimi"},
    {LIT(OK_BODY " \t\r\n"), "medium", 2, "basil", "Table 4", "kimi"},
    {LIT(" \n" OK_BODY), "medium", 2, "basil", "Table 4", "kimi"},
    {LIT("{ \"username\" : \"kimi\" ,\n\t\"destination\"\t:\"Table 4\","
         "\"size\":\"small\" }"),
        "small", 0, NULL, "Table 4", "kimi"},
    {LIT("{\"\\u0073ize\":\"large\"," DS "," US "}"), "large", 0, NULL,
        "Table 4", "kimi"},
    {LIT(NO_USER("\"\\ud83c\\udf55 fan\"")), "medium", 0, NULL, "Table 4",
        "\xf0\x9f\x8d\x95 fan"},
    {LIT(NO_USER("\"\\uD83C\\uDF55\"")), "medium", 0, NULL, "Table 4",
        "\xf0\x9f\x8d\x95"},
    {LIT(NO_USER("\"\xf0\x9f\x8d\x95\"")), "medium", 0, NULL, "Table 4",
        "\xf0\x9f\x8d\x95"},
    {LIT(NO_TOPS("[" T20 "]")), "medium", 20, "t", "Table 4", "kimi"},
    {LIT(NO_TOPS("[\"" X64 "\"]")), "medium", 1, X64, "Table 4", "kimi"},
    {LIT(NO_DEST("\"" X128 "\"")), "medium", 0, NULL, X128, "kimi"},
    {LIT(NO_USER("\"" X64 "\"")), "medium", 0, NULL, "Table 4", X64},
    {LIT(NO_USER("\"" EURO21 "x\"")), "medium", 0, NULL, "Table 4", EURO21 "x"},
    {LIT(NO_USER("\"a\\\"b\\\\c\\/d\\n\"")), "medium", 0, NULL, "Table 4",
        "a\"b\\c/d\n"},
    {LIT(NO_DEST("\"Caf\xc3\xa9 \xe2\x82\xac\"")), "medium", 0, NULL,
        "Caf\xc3\xa9 \xe2\x82\xac", "kimi"},
    {LIT(NO_TOPS("[\"a\",\"a\"]")), "medium", 2, "a", "Table 4", "kimi"},
};

#define NGOOD (int)(sizeof good_cases / sizeof good_cases[0])

START_TEST(test_parse_accepts_good_body)
{
	const struct good_case *c = &good_cases[_i];
	struct order o;
	struct bb_err e;
	enum bb_status s;

	s = parse(&o, c->body, c->len, &e);
	ck_assert_msg(s == BB_OK, "row %d: %s: %s (%s)", _i, bb_status_text(s),
	    e.message, e.ndetails ? e.details[0].message : "");
	ck_assert_ptr_nonnull(o.json);
	ck_assert_int_eq(e.ndetails, 0);
	ck_assert_str_eq(o.size, c->size);
	ck_assert_int_eq(o.ntoppings, c->ntoppings);
	if (c->last_topping != NULL)
		ck_assert_str_eq(o.toppings[o.ntoppings - 1], c->last_topping);
	ck_assert_str_eq(o.destination, c->destination);
	ck_assert_str_eq(o.username, c->username);
	order_free(&o);
}
END_TEST

START_TEST(test_parse_rejects_deep_nesting)
{
	static const char head[] = "{\"toppings\":";
	struct order o;
	struct bb_err e;
	size_t n = 100000, len = sizeof head - 1 + n;
	char *body;

	body = malloc(len + 1);
	ck_assert_ptr_nonnull(body);
	memcpy(body, head, sizeof head - 1);
	memset(body + sizeof head - 1, '[', n);
	body[len] = '\0';
	ck_assert_int_eq(order_parse(&o, body, len, &sizes, &e), BB_EBADJSON);
	ck_assert_ptr_nonnull(strstr(e.message, "deeper"));
	free(body);
}
END_TEST

/*
 * The tokener is kept from one order to the next (order.c): a text cut
 * short, one too deep, one with trailing data, or one that failed just
 * after the first half of a surrogate pair must leave nothing behind for
 * the good order that follows each, whose \u escapes must decode alone.
 */
START_TEST(test_parse_after_a_failure_starts_clean)
{
	static const char *const bad[] = {"{\"size\":\"medium\",\"top",
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "{} {", "{\"a\":tru",
	    "{\"username\":\"\\ud800\\u00zz\"}", "{\"username\":\"\\ud800\\u"};
	static const char good[] =
	    "{" SZ "," TP "," DS ",\"username\":\"\\u006bimi\"}";
	struct order o;
	struct bb_err e;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_int_eq(
		    parse(&o, bad[i], strlen(bad[i]), &e), BB_EBADJSON);
		ck_assert_int_eq(parse(&o, good, sizeof good - 1, &e), BB_OK);
		ck_assert_str_eq(o.size, "medium");
		ck_assert_str_eq(o.username, "kimi");
		order_free(&o);
	}
}
END_TEST

START_TEST(test_parse_lists_every_failing_field)
{
	static const char body[] = "{\"extra\":1,\"size\":\"huge\","
	                           "\"toppings\":[\"ok\",\"\",\"" X64 "x\",7],"
	                           "\"destination\":\"\",\"username\":42}";
	static const char *const fields[] = {"extra", "size", "toppings[1]",
	    "toppings[2]", "toppings[3]", "destination", "username"};
	struct order o;
	struct bb_err e;
	size_t i;

	ck_assert_int_eq(parse(&o, LIT(body), &e), BB_EINVALID);
	ck_assert_int_eq(e.ndetails, 7);
	ck_assert_int_eq(e.truncated, 0);
	for (i = 0; i < sizeof fields / sizeof fields[0]; i++)
		ck_assert_str_eq(e.details[i].field, fields[i]);
	ck_assert_ptr_nonnull(strstr(e.message, "7 fields"));
	ck_assert_ptr_null(o.json);
}
END_TEST

START_TEST(test_parse_missing_fields_all_named)
{
	struct order o;
	struct bb_err e;

	ck_assert_int_eq(parse(&o, LIT("{\"toppings\":[]}"), &e), BB_EINVALID);
	ck_assert_int_eq(e.ndetails, 3);
	ck_assert_str_eq(e.details[0].field, "size");
	ck_assert_str_eq(e.details[1].field, "destination");
	ck_assert_str_eq(e.details[2].field, "username");
}
END_TEST

START_TEST(test_parse_truncates_details_past_max)
{
	char body[4096];
	struct order o;
	struct bb_err e;
	size_t off;
	int i;

	off = (size_t)snprintf(body, sizeof body, "{" SZ "," DS "," US);
	for (i = 0; i < BB_DETAILS_MAX + 8; i++)
		off += (size_t)snprintf(
		    body + off, sizeof body - off, ",\"k%d\":%d", i, i);
	snprintf(body + off, sizeof body - off, "}");
	ck_assert_int_eq(parse(&o, body, strlen(body), &e), BB_EINVALID);
	ck_assert_int_eq(e.ndetails, BB_DETAILS_MAX);
	ck_assert_int_eq(e.truncated, 1);
	ck_assert_str_eq(e.details[0].field, "k0");
}
END_TEST

START_TEST(test_free_twice_is_safe)
{
	struct order o;
	struct bb_err e;

	ck_assert_int_eq(parse(&o, LIT(OK_BODY), &e), BB_OK);
	order_free(&o);
	ck_assert_ptr_null(o.json);
	order_free(&o);
	memset(&o, 0, sizeof o);
	order_free(&o);
}
END_TEST

static void
check_time_format(const char *t)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	ck_assert_uint_eq(strlen(t), IDS_TIME_LEN);
	for (i = 0; i < sizeof shape - 1; i++) {
		if (shape[i] == 'd')
			ck_assert_msg(t[i] >= '0' && t[i] <= '9', "%s", t);
		else
			ck_assert_msg(t[i] == shape[i], "%s", t);
	}
}

START_TEST(test_stamp_gives_uuid_and_time)
{
	struct order o;
	struct bb_err e;
	int64_t before, after;
	char lo[IDS_TIME_LEN + 1], hi[IDS_TIME_LEN + 1];

	ck_assert_int_eq(parse(&o, LIT(OK_BODY), &e), BB_OK);
	before = ids_now_ms();
	ck_assert_int_eq(order_stamp(&o), BB_OK);
	after = ids_now_ms();
	ck_assert_msg(ids_uuid_valid(o.order_id), "%s", o.order_id);
	ck_assert_int_eq(o.order_id[14], '7');
	check_time_format(o.ordered_at);
	ids_rfc3339_ms(lo, before);
	ids_rfc3339_ms(hi, after);
	ck_assert_str_ge(o.ordered_at, lo);
	ck_assert_str_le(o.ordered_at, hi);
	order_free(&o);
}
END_TEST

START_TEST(test_stamp_twice_gives_new_id)
{
	struct order o;
	struct bb_err e;
	char first[IDS_UUID_LEN + 1];

	ck_assert_int_eq(parse(&o, LIT(OK_BODY), &e), BB_OK);
	ck_assert_int_eq(order_stamp(&o), BB_OK);
	memcpy(first, o.order_id, sizeof first);
	ck_assert_int_eq(order_stamp(&o), BB_OK);
	ck_assert_str_ne(first, o.order_id);
	order_free(&o);
}
END_TEST

/* Parse body, fix its id and time, and return order_to_json(). */
static char *
stored_form(const char *body, size_t len)
{
	struct order o;
	struct bb_err e;
	char *json;

	ck_assert_int_eq(parse(&o, body, len, &e), BB_OK);
	strcpy(o.order_id, "0192f0c4-5b1a-7cc3-8a4e-3f1f2a6b7c8d");
	strcpy(o.ordered_at, "2026-11-23T11:20:03.123Z");
	json = order_to_json(&o, "pending");
	order_free(&o);
	ck_assert_ptr_nonnull(json);
	return json;
}

/*
 * The largest valid order, every byte a control character (escaped as 6),
 * fits ORDER_JSON_MAX: api-order.c's buffer never turns one into a 500.
 */
START_TEST(test_json_max_fits_the_worst_order)
{
	static char size[ORDER_SIZE_LEN_MAX + 1],
	    dest[ORDER_DESTINATION_LEN_MAX + 1],
	    user[ORDER_USERNAME_LEN_MAX + 1],
	    top[ORDER_TOPPINGS_MAX][ORDER_TOPPING_LEN_MAX + 1];
	char buf[ORDER_JSON_MAX];
	struct order o;
	int i, n;

	memset(&o, 0, sizeof o);
	memset(size, 0x01, ORDER_SIZE_LEN_MAX);
	memset(dest, 0x01, ORDER_DESTINATION_LEN_MAX);
	memset(user, 0x01, ORDER_USERNAME_LEN_MAX);
	o.size = size;
	o.destination = dest;
	o.username = user;
	for (i = 0; i < ORDER_TOPPINGS_MAX; i++) {
		memset(top[i], 0x01, ORDER_TOPPING_LEN_MAX);
		o.toppings[i] = top[i];
	}
	o.ntoppings = ORDER_TOPPINGS_MAX;
	memset(o.order_id, 'f', IDS_UUID_LEN);
	memset(o.ordered_at, '9', IDS_TIME_LEN);
	n = order_json_write(&o, "waiting_delivery", buf, sizeof buf);
	ck_assert_int_gt(n, 0);
	ck_assert_int_lt(n, ORDER_JSON_MAX);
	ck_assert_uint_eq(strlen(buf), (size_t)n);
	/* One byte short of its length: refused, not cut. */
	ck_assert_int_eq(
	    order_json_write(&o, "waiting_delivery", buf, (size_t)n), -1);
}
END_TEST

START_TEST(test_to_json_exact_text)
{
	char *json;

	json = stored_form(LIT(OK_BODY));
	ck_assert_str_eq(json,
	    "{\"order_id\":\"0192f0c4-5b1a-7cc3-8a4e-3f1f2a6b7c8d\","
	    "\"size\":\"medium\",\"toppings\":[\"cheese\",\"basil\"],"
	    "\"destination\":\"Table 4\",\"username\":\"kimi\","
	    "\"ordered_at\":\"2026-11-23T11:20:03.123Z\","
	    "\"status\":\"pending\"}");
	free(json);
	json = stored_form(LIT("{" SZ "," DS "," US "}"));
	ck_assert_ptr_nonnull(strstr(json, ",\"toppings\":[],"));
	free(json);
}
END_TEST

START_TEST(test_to_json_key_order)
{
	static const char *const keys[] = {"order_id", "size", "toppings",
	    "destination", "username", "ordered_at", "status"};
	struct json_object *j, *v;
	struct order o;
	struct bb_err e;
	char *json, prefix[64];
	size_t i = 0;

	ck_assert_int_eq(parse(&o, LIT(OK_BODY), &e), BB_OK);
	ck_assert_int_eq(order_stamp(&o), BB_OK);
	json = order_to_json(&o, "pending");
	ck_assert_ptr_nonnull(json);
	snprintf(prefix, sizeof prefix, "{\"order_id\":\"%s\",\"size\":\"",
	    o.order_id);
	ck_assert_int_eq(strncmp(json, prefix, strlen(prefix)), 0);
	j = json_tokener_parse(json);
	ck_assert_ptr_nonnull(j);
	json_object_object_foreach(j, key, val)
	{
		(void)val;
		ck_assert_uint_lt(i, sizeof keys / sizeof keys[0]);
		ck_assert_str_eq(key, keys[i++]);
	}
	ck_assert_uint_eq(i, sizeof keys / sizeof keys[0]);
	ck_assert(json_object_object_get_ex(j, "ordered_at", &v));
	ck_assert_str_eq(json_object_get_string(v), o.ordered_at);
	ck_assert(json_object_object_get_ex(j, "status", &v));
	ck_assert_str_eq(json_object_get_string(v), "pending");
	ck_assert(json_object_object_get_ex(j, "toppings", &v));
	ck_assert_int_eq(json_object_array_length(v), 2);
	json_object_put(j);
	free(json);
	order_free(&o);
}
END_TEST

/* Escapes and non-ASCII survive parse -> order_to_json -> parse. */
struct trip_case {
	const char *body;
	size_t len;
	const char *username; /* after parsing */
	const char *escaped;  /* as it must appear in the stored form */
};

static const struct trip_case trip_cases[] = {
    {LIT(NO_USER("\"a\\\"b\"")), "a\"b", "\"username\":\"a\\\"b\""},
    {LIT(NO_USER("\"a\\\\b\"")), "a\\b", "\"username\":\"a\\\\b\""},
    {LIT(NO_USER("\"a\\nb\\tc\\rd\"")), "a\nb\tc\rd",
        "\"username\":\"a\\nb\\tc\\rd\""},
    {LIT(NO_USER("\"\\u0001\\u001f\"")), "\x01\x1f",
        "\"username\":\"\\u0001\\u001f\""},
    {LIT(NO_USER("\"a\\/b\"")), "a/b", "\"username\":\"a/b\""},
    {LIT(NO_USER("\"Jos\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8d\x95\"")),
        "Jos\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8d\x95",
        "\"username\":\"Jos\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8d\x95\""},
    {LIT(NO_USER("\"\\u00e9\\ud83c\\udf55\"")), "\xc3\xa9\xf0\x9f\x8d\x95",
        "\"username\":\"\xc3\xa9\xf0\x9f\x8d\x95\""},
    {LIT(NO_USER("\"<script>\"")), "<script>", "\"username\":\"<script>\""},
};

#define NTRIP (int)(sizeof trip_cases / sizeof trip_cases[0])

START_TEST(test_to_json_round_trips)
{
	const struct trip_case *c = &trip_cases[_i];
	struct json_object *j, *v;
	char *json;

	json = stored_form(c->body, c->len);
	ck_assert_msg(strstr(json, c->escaped) != NULL, "row %d: %s", _i, json);
	ck_assert(json_utf8_valid(json, strlen(json)));
	j = json_tokener_parse(json);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_object_object_get_ex(j, "username", &v));
	ck_assert_str_eq(json_object_get_string(v), c->username);
	json_object_put(j);
	free(json);
}
END_TEST

START_TEST(test_to_json_escapes_every_field)
{
	struct json_object *j, *v;
	char *json;

	json = stored_form(LIT("{" SZ ",\"toppings\":[\"q\\\"\",\"\\\\\"],"
	                       "\"destination\":\"\\u0007\\n\"," US "}"));
	j = json_tokener_parse(json);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_object_object_get_ex(j, "destination", &v));
	ck_assert_str_eq(json_object_get_string(v), "\a\n");
	ck_assert(json_object_object_get_ex(j, "toppings", &v));
	ck_assert_str_eq(
	    json_object_get_string(json_object_array_get_idx(v, 0)), "q\"");
	ck_assert_str_eq(
	    json_object_get_string(json_object_array_get_idx(v, 1)), "\\");
	json_object_put(j);
	free(json);
}
END_TEST

static Suite *
order_suite(void)
{
	Suite *s = suite_create("order");
	TCase *tc;

	tc = tcase_create("parse_bad");
	tcase_add_loop_test(tc, test_parse_rejects_bad_body, 0, NBAD);
	tcase_add_test(tc, test_parse_rejects_deep_nesting);
	tcase_add_test(tc, test_parse_after_a_failure_starts_clean);
	tcase_add_test(tc, test_parse_lists_every_failing_field);
	tcase_add_test(tc, test_parse_missing_fields_all_named);
	tcase_add_test(tc, test_parse_truncates_details_past_max);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_good");
	tcase_add_loop_test(tc, test_parse_accepts_good_body, 0, NGOOD);
	tcase_add_test(tc, test_free_twice_is_safe);
	suite_add_tcase(s, tc);

	tc = tcase_create("stamp");
	tcase_add_test(tc, test_stamp_gives_uuid_and_time);
	tcase_add_test(tc, test_stamp_twice_gives_new_id);
	suite_add_tcase(s, tc);

	tc = tcase_create("to_json");
	tcase_add_test(tc, test_to_json_exact_text);
	tcase_add_test(tc, test_json_max_fits_the_worst_order);
	tcase_add_test(tc, test_to_json_key_order);
	tcase_add_loop_test(tc, test_to_json_round_trips, 0, NTRIP);
	tcase_add_test(tc, test_to_json_escapes_every_field);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(order_suite());
}
