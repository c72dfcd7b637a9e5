/*
 * order.c: the order model. order_parse() turns a request body into a
 * validated struct order or a precise error naming every failing field;
 * order_json_write() (or order_to_json(), allocating) writes the message
 * stored in JetStream.
 *
 * Malformed input (not UTF-8, not JSON, trailing bytes, too deep, duplicate
 * keys) is BB_EBADJSON; well-formed JSON that is not a valid order is
 * BB_EINVALID with one detail per failing field.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxbox.h"

#define ORDER_KEYS_MAX 64 /* key literals kept to name a duplicate */

static const char *const order_fields[] = {
    "size", "toppings", "destination", "username"};

/* What json_scan() found that json-c accepts, by minus its return value. */
static const char *const order_scan_errors[] = {"",
    "\\u escape of a lone UTF-16 surrogate",
    "control character not escaped in a string",
    "NaN, Infinity or a number JSON does not allow (1., -01)"};

static const char *
order_type_name(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
	case json_type_int:
		return "a number";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "unknown";
}

/*
 * Check one string value: its type, byte length in [1, max] and no NUL
 * (which \u0000 can smuggle in). Returns the string or NULL, adding a
 * detail for field to e.
 */
static const char *
order_check_string(
    struct json_object *v, const char *field, size_t max, struct bb_err *e)
{
	const char *s;
	size_t len;

	if (!json_object_is_type(v, json_type_string)) {
		bb_err_add(
		    e, field, "must be a string, not %s", order_type_name(v));
		return NULL;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len == 0)
		bb_err_add(e, field, "must not be empty");
	else if (len > max)
		bb_err_add(
		    e, field, "must be at most %zu bytes, got %zu", max, len);
	else if (strlen(s) != len)
		bb_err_add(e, field, "must not contain NUL (\\u0000)");
	else
		return s;
	return NULL;
}

static void
order_check_size(struct order *o, struct json_object *v,
    const struct bb_strv *sizes, struct bb_err *e)
{
	char list[256];
	size_t off = 0;
	int i;

	if ((o->size = order_check_string(v, "size", ORDER_SIZE_LEN_MAX, e)) ==
	    NULL)
		return;
	for (i = 0; i < sizes->n; i++) {
		if (strcmp(o->size, sizes->v[i]) == 0)
			return;
	}
	o->size = NULL;
	list[0] = '\0';
	for (i = 0; i < sizes->n && off < sizeof list; i++)
		off += (size_t)snprintf(list + off, sizeof list - off, "%s%s",
		    i ? ", " : "", sizes->v[i]);
	bb_err_add(e, "size", "must be one of: %s", list);
}

static void
order_check_toppings(struct order *o, struct json_object *v, struct bb_err *e)
{
	char field[32];
	struct fmt f;
	size_t i, n;

	if (!json_object_is_type(v, json_type_array)) {
		bb_err_add(e, "toppings", "must be an array of strings, not %s",
		    order_type_name(v));
		return;
	}
	if ((n = json_object_array_length(v)) > ORDER_TOPPINGS_MAX) {
		bb_err_add(e, "toppings", "must have at most %d items, got %zu",
		    ORDER_TOPPINGS_MAX, n);
		return;
	}
	for (i = 0; i < n; i++) {
		fmt_init(&f, field, sizeof field);
		FMT_LIT(&f, "toppings[");
		fmt_uint(&f, i, 1);
		FMT_LIT(&f, "]");
		fmt_end(&f, NULL);
		o->toppings[i] =
		    order_check_string(json_object_array_get_idx(v, i), field,
		        ORDER_TOPPING_LEN_MAX, e);
	}
	o->ntoppings = (int)n;
}

/* Unescape one key literal (quotes included) through json-c. */
static struct json_object *
order_key_value(const struct json_span *k)
{
	char buf[512];

	snprintf(buf, sizeof buf, "%.*s",
	    (int)(k->len < sizeof buf - 1 ? k->len : sizeof buf - 1), k->p);
	return json_tokener_parse(buf);
}

/* Name the first duplicated top-level key. */
static void
order_name_duplicate(const struct json_span *keys, int n, struct bb_err *e)
{
	struct json_object *a, *b;
	int i, j, found = 0;

	for (i = 0; i < n && !found; i++) {
		a = order_key_value(&keys[i]);
		for (j = i + 1; a != NULL && j < n && !found; j++) {
			b = order_key_value(&keys[j]);
			if (b != NULL && strcmp(json_object_get_string(a),
			                     json_object_get_string(b)) == 0) {
				bb_err_add(e, json_object_get_string(a),
				    "duplicate key");
				found = 1;
			}
			json_object_put(b);
		}
		json_object_put(a);
	}
}

/*
 * This thread's json-c tokener, or NULL when out of memory. Making one per
 * order cost three allocations and their frees; one is kept for the
 * thread's life instead (paddock-fcgi parses orders on its loop's thread
 * only). After a successful parse json_tokener_reset() readies it for the
 * next text; the object the parse returned is the caller's alone.
 */
static _Thread_local struct json_tokener *order_tok;

static struct json_tokener *
order_tokener(void)
{
	if (order_tok == NULL &&
	    (order_tok = json_tokener_new_ex(ORDER_DEPTH_MAX)) != NULL)
		json_tokener_set_flags(order_tok, JSON_TOKENER_STRICT);
	return order_tok;
}

/*
 * After a failed parse the tokener is dropped, not reset: json-c 0.16's
 * reset leaves the pending half of a UTF-16 surrogate pair, which a text
 * that failed after a \ud800 would hand to the next order's first \u
 * escape as a U+FFFD. Failures are rare; a new tokener is cheap enough.
 */
static void
order_tokener_done(struct json_tokener *tok, enum json_tokener_error jerr)
{
	if (jerr == json_tokener_success) {
		json_tokener_reset(tok);
		return;
	}
	json_tokener_free(tok);
	order_tok = NULL;
}

/*
 * Parse body[0..len) (NUL-terminated at len) with json-c after the raw
 * checks. Returns BB_OK with *out owned by the caller (NULL for `null`).
 */
static enum bb_status
order_parse_json(
    const char *body, size_t len, struct json_object **out, struct bb_err *e)
{
	struct json_span keys[ORDER_KEYS_MAX];
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error jerr;
	size_t end;
	int nkeys, scan;

	*out = NULL;
	if (len == 0 || strspn(body, " \t\r\n") == len) {
		bb_err_set(e, "request body is empty; expected a JSON object");
		return BB_EBADJSON;
	}
	if (!json_utf8_valid(body, len)) {
		bb_err_set(e, "request body is not valid UTF-8");
		return BB_EBADJSON;
	}
	if ((tok = order_tokener()) == NULL)
		return BB_ENOMEM;
	/* Passing the terminating NUL tells json-c the input ends here. */
	o = json_tokener_parse_ex(tok, body, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	order_tokener_done(tok, jerr);
	if (jerr == json_tokener_error_depth) {
		bb_err_set(e, "malformed JSON: nesting deeper than %d levels",
		    ORDER_DEPTH_MAX);
		return BB_EBADJSON;
	}
	if (jerr != json_tokener_success) {
		bb_err_set(e, "malformed JSON at byte %zu: %s", end,
		    json_tokener_error_desc(jerr));
		return BB_EBADJSON;
	}
	if (end < len && strspn(body + end, " \t\r\n") != len - end) {
		json_object_put(o);
		bb_err_set(e,
		    "malformed JSON: unexpected data after the value "
		    "at byte %zu",
		    end);
		return BB_EBADJSON;
	}
	if ((scan = json_scan(body, len, &nkeys, keys, ORDER_KEYS_MAX)) < 0) {
		json_object_put(o);
		bb_err_set(e, "malformed JSON: %s", order_scan_errors[-scan]);
		return BB_EBADJSON;
	}
	if (json_object_is_type(o, json_type_object) &&
	    nkeys != json_object_object_length(o)) {
		json_object_put(o);
		bb_err_set(e, "malformed JSON: duplicate key in object");
		order_name_duplicate(
		    keys, nkeys < ORDER_KEYS_MAX ? nkeys : ORDER_KEYS_MAX, e);
		return BB_EBADJSON;
	}
	*out = o;
	return BB_OK;
}

static int
order_known_field(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof order_fields / sizeof order_fields[0]; i++) {
		if (strcmp(key, order_fields[i]) == 0)
			return 1;
	}
	return 0;
}

/*
 * Parse and validate an order body of len bytes; body[len] must be '\0'.
 * sizes lists the accepted sizes. On BB_OK, o holds the order (release it
 * with order_free()); otherwise e says why and o holds nothing.
 */
enum bb_status
order_parse(struct order *o, const char *body, size_t len,
    const struct bb_strv *sizes, struct bb_err *e)
{
	struct json_object *root, *v;
	enum bb_status s;

	memset(o, 0, sizeof *o);
	bb_err_clear(e);
	if ((s = order_parse_json(body, len, &root, e)) != BB_OK)
		return s;
	if (!json_object_is_type(root, json_type_object)) {
		bb_err_set(e, "request body must be a JSON object, not %s",
		    order_type_name(root));
		json_object_put(root);
		return BB_EINVALID;
	}
	o->json = root;
	json_object_object_foreach(root, key, val)
	{
		(void)val;
		if (!order_known_field(key))
			bb_err_add(e, key, "unknown field");
	}
	if (json_object_object_get_ex(root, "size", &v))
		order_check_size(o, v, sizes, e);
	else
		bb_err_add(e, "size", "is required");
	if (json_object_object_get_ex(root, "toppings", &v))
		order_check_toppings(o, v, e);
	if (json_object_object_get_ex(root, "destination", &v))
		o->destination = order_check_string(
		    v, "destination", ORDER_DESTINATION_LEN_MAX, e);
	else
		bb_err_add(e, "destination", "is required");
	if (json_object_object_get_ex(root, "username", &v))
		o->username = order_check_string(
		    v, "username", ORDER_USERNAME_LEN_MAX, e);
	else
		bb_err_add(e, "username", "is required");
	if (e->ndetails > 0) {
		bb_err_set(e, "invalid order: %d field%s failed validation",
		    e->ndetails + e->truncated, e->ndetails > 1 ? "s" : "");
		order_free(o);
		return BB_EINVALID;
	}
	return BB_OK;
}

/* Release what order_parse() kept; safe on a zeroed or freed order. */
void
order_free(struct order *o)
{
	json_object_put(o->json);
	o->json = NULL;
}

/* Give the order its id and time: a UUIDv7 and RFC 3339 of the same ms. */
enum bb_status
order_stamp(struct order *o)
{
	int64_t ms = ids_now_ms();
	enum bb_status s;

	if ((s = ids_uuid7(o->order_id, ms)) != BB_OK)
		return s;
	ids_rfc3339_ms(o->ordered_at, ms);
	return BB_OK;
}

/*
 * Appends for order_json_write(): each writes at *off and advances it, or
 * sets *off past size once the text does not fit, after which every later
 * call does nothing.
 */
static void
order_put_raw(char *buf, size_t size, size_t *off, const char *s, size_t n)
{
	if (*off > size || size - *off < n) {
		*off = size + 1;
		return;
	}
	memcpy(buf + *off, s, n);
	*off += n;
}

/*
 * s as a JSON string, quotes included, escaped as json-c escapes it with
 * JSON_C_TO_STRING_NOSLASHESCAPE (so the stored form did not change when
 * json-c stopped building it): the short escapes, \u00xx for the other
 * control characters, and UTF-8 as it is (order_parse() checked it).
 */
static void
order_put_string(char *buf, size_t size, size_t *off, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run = p;
	char esc[6];

	order_put_raw(buf, size, off, "\"", 1);
	for (; *p != '\0'; p++) {
		if (*p >= 0x20 && *p != '"' && *p != '\\')
			continue;
		order_put_raw(
		    buf, size, off, (const char *)run, (size_t)(p - run));
		run = p + 1;
		esc[0] = '\\';
		switch (*p) {
		case '"':
		case '\\':
			esc[1] = (char)*p;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 0xf];
			order_put_raw(buf, size, off, esc, 6);
			continue;
		}
		order_put_raw(buf, size, off, esc, 2);
	}
	order_put_raw(buf, size, off, (const char *)run, (size_t)(p - run));
	order_put_raw(buf, size, off, "\"", 1);
}

static void
order_put_field(
    char *buf, size_t size, size_t *off, const char *key, const char *value)
{
	order_put_raw(buf, size, off, key, strlen(key));
	order_put_string(buf, size, off, value);
}

/*
 * The stored form of a stamped order: {"order_id","size","toppings",
 * "destination","username","ordered_at","status"}, in that order, written
 * into buf[0..size) and NUL-terminated. No json-c tree: building one
 * took a dozen allocations per order, and the text is simple to write.
 * ORDER_JSON_MAX always fits. Returns the length, or -1 when it does not
 * fit.
 */
int
order_json_write(
    const struct order *o, const char *status, char *buf, size_t size)
{
	size_t off = 0;
	int i;

	order_put_field(buf, size, &off, "{\"order_id\":", o->order_id);
	order_put_field(buf, size, &off, ",\"size\":", o->size);
	order_put_raw(buf, size, &off, ",\"toppings\":[", 13);
	for (i = 0; i < o->ntoppings; i++) {
		if (i > 0)
			order_put_raw(buf, size, &off, ",", 1);
		order_put_string(buf, size, &off, o->toppings[i]);
	}
	order_put_field(buf, size, &off, "],\"destination\":", o->destination);
	order_put_field(buf, size, &off, ",\"username\":", o->username);
	order_put_field(buf, size, &off, ",\"ordered_at\":", o->ordered_at);
	order_put_field(buf, size, &off, ",\"status\":", status);
	order_put_raw(buf, size, &off, "}", 2); /* with the NUL */
	if (off > size)
		return -1;
	return (int)off - 1;
}

/*
 * order_json_write() into an allocated string the caller frees, or NULL
 * when out of memory.
 */
char *
order_to_json(const struct order *o, const char *status)
{
	char *out;

	if ((out = malloc(ORDER_JSON_MAX)) == NULL)
		return NULL;
	if (order_json_write(o, status, out, ORDER_JSON_MAX) < 0) {
		free(out);
		return NULL;
	}
	return out;
}
