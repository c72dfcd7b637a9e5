/*
 * blob.c: refcounted frames. An event is formatted once, on the NATS
 * thread that received it, and the same bytes are queued to every client
 * that wants it; a slow client costs a pointer, not a copy.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "relay.h"

/* A blob holding a copy of data; NULL when out of memory. refs is 1. */
struct blob *
blob_new(const char *data, size_t len)
{
	struct blob *b;

	if ((b = malloc(sizeof *b + len + 1)) == NULL)
		return NULL;
	b->refs = 1;
	b->seq = 0;
	b->order_id[0] = b->username[0] = '\0';
	b->len = len;
	memcpy(b->data, data, len);
	b->data[len] = '\0';
	return b;
}

/* Copy the string member key of o into buf, if it is a short string. */
static void
blob_field(struct json_object *o, const char *key, char *buf, size_t len)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string) &&
	    (size_t)json_object_get_string_len(v) < len)
		memcpy(buf, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v) + 1);
}

/*
 * The SSE frame of stream message seq whose payload is data[0..dlen),
 * with its order_id and username read from the JSON for the filters.
 * event is the SSE event name or NULL. Any thread may call it.
 */
struct blob *
blob_event(uint64_t seq, const char *event, const char *data, size_t dlen)
{
	struct json_object *o;
	struct json_tokener *tok;
	struct blob *b;
	size_t need;

	need = sse_event(NULL, 0, seq, event, data, dlen);
	if ((b = malloc(sizeof *b + need + 1)) == NULL)
		return NULL;
	b->refs = 1;
	b->seq = seq;
	b->order_id[0] = b->username[0] = '\0';
	b->len = sse_event(b->data, need + 1, seq, event, data, dlen);
	if ((tok = json_tokener_new()) != NULL) {
		o = json_tokener_parse_ex(tok, data, (int)dlen);
		if (json_object_is_type(o, json_type_object)) {
			blob_field(
			    o, "order_id", b->order_id, sizeof b->order_id);
			blob_field(
			    o, "username", b->username, sizeof b->username);
		}
		json_object_put(o);
		json_tokener_free(tok);
	}
	return b;
}

struct blob *
blob_ref(struct blob *b)
{
	b->refs++;
	return b;
}

void
blob_unref(struct blob *b)
{
	if (b != NULL && --b->refs == 0)
		free(b);
}
