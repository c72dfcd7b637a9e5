/*
 * hub.c: which clients want which event. A client is in exactly one
 * list: everything, one order's lifecycle, or one user's orders. Topic
 * lists hang off a json-c hash table (linkhash, already a dependency), so
 * an event costs one list walk plus two lookups: 10,000 clients each
 * following one order cost no more than 10,000 following everything.
 * Loop thread only.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/linkhash.h>

#include "relay.h"

struct hub_topic {
	char *key; /* "o:<order_id>" or "u:<username>"; the table's key */
	struct client *head;
	int n;
};

static struct lh_table *hub_table;
static struct client *hub_all;

static void
hub_entry_free(struct lh_entry *e)
{
	struct hub_topic *t = (struct hub_topic *)lh_entry_v(e);

	free(t->key);
	free(t);
}

int
hub_init(void)
{
	if ((hub_table = lh_kchar_table_new(1024, hub_entry_free)) == NULL)
		return -1;
	return 0;
}

void
hub_free(void)
{
	if (hub_table != NULL)
		lh_table_free(hub_table);
	hub_table = NULL;
}

/* The filter value of a topic: its key without the "o:" or "u:". */
const char *
hub_topic_value(const struct hub_topic *t)
{
	return t->key + 2;
}

/* Live topics, for /metrics. */
int
hub_topics(void)
{
	return hub_table != NULL ? lh_table_length(hub_table) : 0;
}

static struct hub_topic *
hub_topic(const char *key, int create)
{
	struct hub_topic *t;
	void *v;

	if (lh_table_lookup_ex(hub_table, key, &v))
		return v;
	if (!create || (t = calloc(1, sizeof *t)) == NULL)
		return NULL;
	if ((t->key = strdup(key)) == NULL ||
	    lh_table_insert(hub_table, t->key, t) != 0) {
		free(t->key);
		free(t);
		return NULL;
	}
	return t;
}

static void
hub_key(char *buf, size_t len, enum hub_kind kind, const char *value)
{
	snprintf(buf, len, "%c:%s", kind == HUB_ORDER ? 'o' : 'u', value);
}

/*
 * Put client c (whose link is l) in the list for its filter. 0, or -1 when
 * out of memory.
 */
int
hub_add(
    struct client *c, struct hub_link *l, enum hub_kind kind, const char *value)
{
	struct client **head = &hub_all;
	char key[HTTP_USERNAME_MAX + 8];

	l->topic = NULL;
	if (kind != HUB_ALL) {
		hub_key(key, sizeof key, kind, value);
		if ((l->topic = hub_topic(key, 1)) == NULL)
			return -1;
		head = &l->topic->head;
		l->topic->n++;
	}
	l->prev = NULL;
	l->next = *head;
	if (*head != NULL)
		client_link(*head)->prev = c;
	*head = c;
	return 0;
}

/* Take a client out of its list; an emptied topic goes away. */
void
hub_remove(struct hub_link *l)
{
	struct client **head = l->topic != NULL ? &l->topic->head : &hub_all;

	if (l->prev != NULL)
		client_link(l->prev)->next = l->next;
	else
		*head = l->next;
	if (l->next != NULL)
		client_link(l->next)->prev = l->prev;
	if (l->topic != NULL && --l->topic->n == 0)
		lh_table_delete(hub_table, l->topic->key);
	l->prev = l->next = NULL;
	l->topic = NULL;
}

static void
hub_walk(struct client *c, struct blob *b)
{
	struct client *next;

	for (; c != NULL; c = next) {
		next = client_link(c)->next;
		client_deliver(c, b);
	}
}

/* Deliver b to everyone who wants it: all, its order, its user. */
void
hub_fanout(struct blob *b)
{
	char key[HTTP_USERNAME_MAX + 8];
	struct hub_topic *t;

	hub_walk(hub_all, b);
	if (b->order_id[0] != '\0') {
		hub_key(key, sizeof key, HUB_ORDER, b->order_id);
		if ((t = hub_topic(key, 0)) != NULL)
			hub_walk(t->head, b);
	}
	if (b->username[0] != '\0') {
		hub_key(key, sizeof key, HUB_USER, b->username);
		if ((t = hub_topic(key, 0)) != NULL)
			hub_walk(t->head, b);
	}
}
