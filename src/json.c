/*
 * json.c: what json-c does not do for us. json-c parses; this file checks
 * the raw text for what a strict API must refuse and json-c accepts
 * silently: invalid UTF-8 (json-c's check lets some through), lone UTF-16
 * surrogates in \u escapes (json-c turns them into U+FFFD, inventing data)
 * and duplicate object keys (json-c keeps the last). It also builds the
 * error body every program answers with.
 */
#include "config.h"

#include <string.h>

#include "boxbox.h"

/*
 * 1 if s[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) without a NUL byte, 0 otherwise.
 */
int
json_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	unsigned char c;

	while (p < end) {
		c = *p++;
		if (c >= 0x01 && c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf) {
			if (end - p < 1 || (p[0] & 0xc0) != 0x80)
				return 0;
			p += 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			if (end - p < 2 || (p[0] & 0xc0) != 0x80 ||
			    (p[1] & 0xc0) != 0x80)
				return 0;
			if ((c == 0xe0 && p[0] < 0xa0) ||
			    (c == 0xed && p[0] >= 0xa0))
				return 0; /* overlong, or a surrogate */
			p += 2;
		} else if (c >= 0xf0 && c <= 0xf4) {
			if (end - p < 3 || (p[0] & 0xc0) != 0x80 ||
			    (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
				return 0;
			if ((c == 0xf0 && p[0] < 0x90) ||
			    (c == 0xf4 && p[0] >= 0x90))
				return 0; /* overlong, or above U+10FFFF */
			p += 3;
		} else
			return 0; /* NUL, continuation, 0xc0, 0xc1, 0xf5.. */
	}
	return 1;
}

static int
json_hex4(const char *p, const char *end, unsigned *out)
{
	unsigned v = 0;
	int i;

	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			v |= (unsigned)(p[i] - '0');
		else if (p[i] >= 'a' && p[i] <= 'f')
			v |= (unsigned)(p[i] - 'a' + 10);
		else if (p[i] >= 'A' && p[i] <= 'F')
			v |= (unsigned)(p[i] - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t
json_digits(const char *p, const char *end)
{
	const char *s = p;

	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return (size_t)(p - s);
}

/*
 * Length of the number at s, or 0 if it is one json-c accepts and RFC 8259
 * does not: "1.", "-01", "-Infinity".
 */
static size_t
json_number_len(const char *s, const char *end)
{
	const char *p = s;
	size_t n;

	if (p < end && *p == '-')
		p++;
	if ((n = json_digits(p, end)) == 0 || (*p == '0' && n > 1))
		return 0;
	p += n;
	if (p < end && *p == '.') {
		if ((n = json_digits(++p, end)) == 0)
			return 0;
		p += n;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		if ((n = json_digits(p, end)) == 0)
			return 0;
		p += n;
	}
	return (size_t)(p - s);
}

/*
 * Scan well-formed JSON text (json-c accepted it already). Counts the keys
 * of the top-level object into *nkeys, records up to max key literals
 * (quotes included) in keys, and returns 0, or what json-c let through:
 * -1 a \u escape of a lone surrogate, -2 a control character not escaped
 * in a string, -3 NaN, Infinity or a number RFC 8259 does not allow.
 */
int
json_scan(
    const char *s, size_t len, int *nkeys, struct json_span *keys, int max)
{
	const char *p = s, *end = s + len, *start = NULL;
	unsigned u, lo;
	size_t n;
	int depth = 0;

	*nkeys = 0;
	while (p < end) {
		if (*p == '-' || (*p >= '0' && *p <= '9')) {
			if ((n = json_number_len(p, end)) == 0)
				return -3;
			p += n;
			continue;
		}
		if (*p == 'N' || *p == 'I')
			return -3;
		if (*p == '{' || *p == '[') {
			depth++;
			p++;
			continue;
		}
		if (*p == '}' || *p == ']') {
			depth--;
			p++;
			continue;
		}
		if (*p != '"') {
			p++;
			continue;
		}
		for (start = p++; p < end && *p != '"'; p++) {
			if ((unsigned char)*p < 0x20)
				return -2;
			if (*p != '\\')
				continue;
			if (*++p != 'u')
				continue;
			if (json_hex4(p + 1, end, &u))
				return -1;
			p += 4;
			if (u >= 0xdc00 && u <= 0xdfff)
				return -1;
			if (u >= 0xd800 && u <= 0xdbff) {
				if (end - p < 7 || p[1] != '\\' ||
				    p[2] != 'u' || json_hex4(p + 3, end, &lo) ||
				    lo < 0xdc00 || lo > 0xdfff)
					return -1;
				p += 6;
			}
		}
		p++; /* closing quote */
		if (depth != 1)
			continue;
		while (p < end &&
		       (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p++;
		if (p < end && *p == ':') {
			if (*nkeys < max) {
				keys[*nkeys].p = start;
				keys[*nkeys].len = (size_t)(p - start);
			}
			(*nkeys)++;
		}
	}
	return 0;
}

/* The error body: {"error":"...","details":[{"field","message"}]}. */
struct json_object *
json_err_body(const struct bb_err *e)
{
	struct json_object *o, *arr, *d;
	int i;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	/* json_object_object_add takes ownership of the value it is given */
	json_object_object_add(o, "error", json_object_new_string(e->message));
	if (e->ndetails == 0)
		return o;
	arr = json_object_new_array_ext(e->ndetails);
	for (i = 0; arr != NULL && i < e->ndetails; i++) {
		d = json_object_new_object();
		json_object_object_add(
		    d, "field", json_object_new_string(e->details[i].field));
		json_object_object_add(d, "message",
		    json_object_new_string(e->details[i].message));
		json_object_array_add(arr, d);
	}
	json_object_object_add(o, "details", arr);
	return o;
}

/*
 * The compact text of o, valid until o is freed or changed; *len gets its
 * length. Slashes stay unescaped: "\/" only makes logs harder to read.
 */
const char *
json_text(struct json_object *o, size_t *len)
{
	return json_object_to_json_string_length(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}
