/*
 * conf.c: the configuration schema and its loader. One table names every
 * key with its type, bounds, default and help; defaults, the libconfig file
 * and PADDOCK_<SECTION>_<KEY> environment overrides all go through it, so a
 * key cannot exist in one place and not the others. The loader validates
 * everything before returning, and reports file, line and reason.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "boxbox.h"

enum conf_type { CONF_INT, CONF_BOOL, CONF_STR, CONF_LIST };

struct conf_key {
	const char *section;
	const char *key;
	enum conf_type type;
	size_t off;
	const char *def;
	long long min;
	long long max;
};

#define OFF(f) offsetof(struct bb_conf, f)

/* Keep in step with conf/paddock.conf, which documents every key. */
static const struct conf_key conf_keys[] = {
    {"nats", "url", CONF_STR, OFF(nats.url), "nats://127.0.0.1:4222", 0, 0},
    {"nats", "name", CONF_STR, OFF(nats.name), "paddock-fcgi", 0, 0},
    {"nats", "connect_timeout_ms", CONF_INT, OFF(nats.connect_timeout_ms),
        "2000", 10, 60000},
    {"nats", "reconnect_wait_ms", CONF_INT, OFF(nats.reconnect_wait_ms), "250",
        10, 60000},
    {"nats", "ack_timeout_ms", CONF_INT, OFF(nats.ack_timeout_ms), "2000", 10,
        60000},
    {"nats", "max_pending", CONF_INT, OFF(nats.max_pending), "4096", 1,
        1000000},
    {"stream", "name", CONF_STR, OFF(stream.name), "ORDERS", 0, 0},
    {"stream", "subjects", CONF_STR, OFF(stream.subjects), "orders.>", 0, 0},
    {"stream", "prefix", CONF_STR, OFF(stream.prefix), "orders", 0, 0},
    {"stream", "duplicate_window_s", CONF_INT, OFF(stream.duplicate_window_s),
        "120", 120, 86400},
    {"stream", "max_age_s", CONF_INT, OFF(stream.max_age_s), "604800", 0,
        INT_MAX},
    {"stream", "replicas", CONF_INT, OFF(stream.replicas), "1", 1, 5},
    {"order", "sizes", CONF_LIST, OFF(order.sizes), "small,medium,large", 0, 0},
    {"order", "max_body", CONF_INT, OFF(order.max_body), "65536", 256,
        16777216},
    {"fcgi", "backlog", CONF_INT, OFF(fcgi.backlog), "1024", 1, 65535},
    {"fcgi", "cpu_affinity", CONF_BOOL, OFF(fcgi.cpu_affinity), "false", 0, 0},
    {"fcgi", "max_conns", CONF_INT, OFF(fcgi.max_conns), "10000", 1, 1000000},
    {"fcgi", "metrics_dir", CONF_STR, OFF(fcgi.metrics_dir), "", 0, 0},
    {"cors", "allow_origins", CONF_LIST, OFF(cors.allow_origins), "", 0, 0},
    {"cors", "allow_methods", CONF_LIST, OFF(cors.allow_methods),
        "GET,POST,OPTIONS", 0, 0},
    {"cors", "allow_headers", CONF_LIST, OFF(cors.allow_headers),
        "Content-Type", 0, 0},
    {"cors", "expose_headers", CONF_LIST, OFF(cors.expose_headers), "Location",
        0, 0},
    {"cors", "max_age", CONF_INT, OFF(cors.max_age), "600", 0, 86400},
    {"cors", "allow_credentials", CONF_BOOL, OFF(cors.allow_credentials),
        "false", 0, 0},
    {"log", "level", CONF_STR, OFF(log.level), "info", 0, 0},
    {"log", "file", CONF_STR, OFF(log.file), "", 0, 0},
    {"relay", "listen", CONF_STR, OFF(relay.listen), "127.0.0.1:8090", 0, 0},
    {"relay", "unix", CONF_STR, OFF(relay.unix_path), "", 0, 0},
    {"relay", "max_clients", CONF_INT, OFF(relay.max_clients), "10000", 1,
        1000000},
    {"relay", "heartbeat_s", CONF_INT, OFF(relay.heartbeat_s), "15", 1, 3600},
    {"relay", "retry_ms", CONF_INT, OFF(relay.retry_ms), "3000", 100, 600000},
    {"relay", "retry_jitter_ms", CONF_INT, OFF(relay.retry_jitter_ms), "2000",
        0, 600000},
    {"relay", "max_buffer", CONF_INT, OFF(relay.max_buffer), "262144", 4096,
        67108864},
    {"relay", "header_max", CONF_INT, OFF(relay.header_max), "8192", 512,
        65536},
    {"relay", "request_timeout_s", CONF_INT, OFF(relay.request_timeout_s), "10",
        1, 3600},
    {"relay", "replay_last", CONF_INT, OFF(relay.replay_last), "0", 0, 100000},
    {"relay", "ring", CONF_INT, OFF(relay.ring), "4096", 16, 1000000},
    {"relay", "max_replays", CONF_INT, OFF(relay.max_replays), "64", 1, 10000},
    {"relay", "metrics_dir", CONF_STR, OFF(relay.metrics_dir), "", 0, 0},
    {"kitchen", "time_scale_pct", CONF_INT, OFF(kitchen.time_scale_pct), "100",
        1, 100000},
    {"kitchen", "seed", CONF_INT, OFF(kitchen.seed), "0", 0, INT_MAX},
    {"panettiere", "dough_ms", CONF_INT, OFF(panettiere.dough_ms), "2000", 1,
        3600000},
    {"panettiere", "factor_min_pct", CONF_INT, OFF(panettiere.factor_min_pct),
        "50", 1, 10000},
    {"panettiere", "factor_max_pct", CONF_INT, OFF(panettiere.factor_max_pct),
        "200", 1, 10000},
    {"panettiere", "sleep_every_s", CONF_INT, OFF(panettiere.sleep_every_s),
        "60", 0, 86400},
    {"panettiere", "sleep_for_s", CONF_INT, OFF(panettiere.sleep_for_s), "10",
        0, 86400},
    {"panettiere", "oversleep_pct", CONF_INT, OFF(panettiere.oversleep_pct),
        "30", 0, 100},
    {"panettiere", "oversleep_factor_pct", CONF_INT,
        OFF(panettiere.oversleep_factor_pct), "200", 100, 10000},
    {"panettiere", "max_baking", CONF_INT, OFF(panettiere.max_baking), "10000",
        1, 1000000},
    {"maestro", "batch", CONF_INT, OFF(maestro.batch), "10", 1, 256},
    {"maestro", "fetch_wait_ms", CONF_INT, OFF(maestro.fetch_wait_ms), "5000",
        10, 600000},
    {"maestro", "ack_wait_ms", CONF_INT, OFF(maestro.ack_wait_ms), "30000", 100,
        3600000},
    {"maestro", "dough_attempts", CONF_INT, OFF(maestro.dough_attempts), "5", 1,
        100},
    {"maestro", "dough_backoff_ms", CONF_INT, OFF(maestro.dough_backoff_ms),
        "100", 0, 600000},
    {"maestro", "dough_timeout_ms", CONF_INT, OFF(maestro.dough_timeout_ms),
        "10000", 1, 600000},
    {"maestro", "bake_ms", CONF_INT, OFF(maestro.bake_ms), "3000", 0, 3600000},
    {"maestro", "deliver_ms", CONF_INT, OFF(maestro.deliver_ms), "2000", 0,
        3600000},
    {"maestro", "smoke_ms", CONF_INT, OFF(maestro.smoke_ms), "1000", 0,
        3600000},
    {"maestro", "oversmoke_pct", CONF_INT, OFF(maestro.oversmoke_pct), "10", 0,
        100},
    {"maestro", "oversmoke_factor_pct", CONF_INT,
        OFF(maestro.oversmoke_factor_pct), "150", 100, 10000},
    {"maestro", "lunch_every_s", CONF_INT, OFF(maestro.lunch_every_s), "60", 0,
        86400},
    {"maestro", "lunch_for_s", CONF_INT, OFF(maestro.lunch_for_s), "10", 0,
        86400},
};

#define CONF_NKEYS (sizeof conf_keys / sizeof conf_keys[0])

static int conf_fail(char **, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
conf_fail(char **cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
	return -1;
}

static void *
conf_field(struct bb_conf *c, const struct conf_key *k)
{
	return (char *)c + k->off;
}

static void
conf_strv_free(struct bb_strv *sv)
{
	int i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static const struct conf_key *
conf_find(const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++) {
		if (strcmp(conf_keys[i].section, section) == 0 &&
		    (key == NULL || strcmp(conf_keys[i].key, key) == 0))
			return &conf_keys[i];
	}
	return NULL;
}

static int
conf_set_int(
    struct bb_conf *c, const struct conf_key *k, long long v, char **why)
{
	if (v < k->min || v > k->max)
		return conf_fail(why, "%s.%s must be between %lld and %lld",
		    k->section, k->key, k->min, k->max);
	*(int *)conf_field(c, k) = (int)v;
	return 0;
}

static int
conf_set_string(
    struct bb_conf *c, const struct conf_key *k, const char *v, char **why)
{
	char **p = conf_field(c, k);
	char *dup;

	if ((dup = strdup(v)) == NULL)
		return conf_fail(why, "out of memory");
	free(*p);
	*p = dup;
	return 0;
}

/* Append v to a list, trimming blanks; empty items are refused. */
static int
conf_strv_push(struct bb_strv *sv, const char *v, size_t len, char **why)
{
	char **nv;

	while (len > 0 && isspace((unsigned char)*v)) {
		v++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)v[len - 1]))
		len--;
	if (len == 0)
		return conf_fail(why, "empty item in list");
	if ((nv = realloc(sv->v, sizeof *nv * (size_t)(sv->n + 1))) == NULL)
		return conf_fail(why, "out of memory");
	sv->v = nv;
	if ((sv->v[sv->n] = strndup(v, len)) == NULL)
		return conf_fail(why, "out of memory");
	sv->n++;
	return 0;
}

/* Parse a default or an environment value, the text form of every type. */
static int
conf_set_text(
    struct bb_conf *c, const struct conf_key *k, const char *text, char **why)
{
	struct bb_strv sv = {NULL, 0};
	const char *p, *comma;
	long long v;
	char *end;

	switch (k->type) {
	case CONF_INT:
		errno = 0;
		v = strtoll(text, &end, 10);
		if (errno != 0 || end == text || *end != '\0')
			return conf_fail(why, "%s.%s: '%s' is not an integer",
			    k->section, k->key, text);
		return conf_set_int(c, k, v, why);
	case CONF_BOOL:
		if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0 ||
		    strcmp(text, "yes") == 0)
			*(int *)conf_field(c, k) = 1;
		else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0 ||
		         strcmp(text, "no") == 0)
			*(int *)conf_field(c, k) = 0;
		else
			return conf_fail(why, "%s.%s: '%s' is not a boolean",
			    k->section, k->key, text);
		return 0;
	case CONF_STR:
		return conf_set_string(c, k, text, why);
	case CONF_LIST:
		/* "" is the empty list; "a," has an empty last item. */
		for (p = text; *text != '\0'; p = comma + 1) {
			if ((comma = strchr(p, ',')) == NULL)
				comma = p + strlen(p);
			if (conf_strv_push(&sv, p, (size_t)(comma - p), why)) {
				conf_strv_free(&sv);
				return -1;
			}
			if (*comma == '\0')
				break;
		}
		conf_strv_free(conf_field(c, k));
		*(struct bb_strv *)conf_field(c, k) = sv;
		return 0;
	}
	return conf_fail(why, "unknown type");
}

/* Set a key from a libconfig setting, checking its type. */
static int
conf_set_setting(struct bb_conf *c, const struct conf_key *k,
    config_setting_t *s, char **why)
{
	struct bb_strv sv = {NULL, 0};
	config_setting_t *e;
	const char *str;
	int i, type = config_setting_type(s);

	switch (k->type) {
	case CONF_INT:
		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
			return conf_fail(why, "%s.%s must be an integer",
			    k->section, k->key);
		return conf_set_int(c, k, config_setting_get_int64(s), why);
	case CONF_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			return conf_fail(why, "%s.%s must be true or false",
			    k->section, k->key);
		*(int *)conf_field(c, k) = config_setting_get_bool(s);
		return 0;
	case CONF_STR:
		if (type != CONFIG_TYPE_STRING)
			return conf_fail(
			    why, "%s.%s must be a string", k->section, k->key);
		return conf_set_string(c, k, config_setting_get_string(s), why);
	case CONF_LIST:
		if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
			return conf_fail(why,
			    "%s.%s must be a list of strings, like [\"a\", "
			    "\"b\"]",
			    k->section, k->key);
		for (i = 0; (e = config_setting_get_elem(s, (unsigned)i));
		     i++) {
			if ((str = config_setting_get_string(e)) == NULL ||
			    conf_strv_push(&sv, str, strlen(str), why)) {
				conf_strv_free(&sv);
				if (str == NULL)
					return conf_fail(why,
					    "%s.%s must be a list of strings",
					    k->section, k->key);
				return -1;
			}
		}
		conf_strv_free(conf_field(c, k));
		*(struct bb_strv *)conf_field(c, k) = sv;
		return 0;
	}
	return conf_fail(why, "unknown type");
}

static int
conf_defaults(struct bb_conf *c, char **cause)
{
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++) {
		if (conf_set_text(c, &conf_keys[i], conf_keys[i].def, cause))
			return -1;
	}
	return 0;
}

static int
conf_file_fail(char **cause, const char *path, config_setting_t *s, char *why)
{
	const char *file = config_setting_source_file(s);

	conf_fail(cause, "%s:%d: %s", file != NULL ? file : path,
	    config_setting_source_line(s), why != NULL ? why : "bad value");
	free(why);
	return -1;
}

/* Walk every group and key of the file; unknown ones are errors. */
static int
conf_apply_file(struct bb_conf *c, config_t *cf, const char *path, char **cause)
{
	config_setting_t *root = config_root_setting(cf), *g, *s;
	const struct conf_key *k;
	char *why = NULL;
	int i, j;

	for (i = 0; (g = config_setting_get_elem(root, (unsigned)i)); i++) {
		if (conf_find(config_setting_name(g), NULL) == NULL) {
			conf_fail(&why, "unknown section '%s'",
			    config_setting_name(g));
			return conf_file_fail(cause, path, g, why);
		}
		if (!config_setting_is_group(g)) {
			conf_fail(&why, "'%s' must be a group { ... }",
			    config_setting_name(g));
			return conf_file_fail(cause, path, g, why);
		}
		for (j = 0; (s = config_setting_get_elem(g, (unsigned)j));
		     j++) {
			k = conf_find(
			    config_setting_name(g), config_setting_name(s));
			if (k == NULL) {
				conf_fail(&why,
				    "unknown key '%s' in section "
				    "'%s'",
				    config_setting_name(s),
				    config_setting_name(g));
				return conf_file_fail(cause, path, s, why);
			}
			if (conf_set_setting(c, k, s, &why))
				return conf_file_fail(cause, path, s, why);
		}
	}
	return 0;
}

static int
conf_read_file(struct bb_conf *c, const char *path, int required, char **cause)
{
	config_t cf;
	int rc = 0;

	if (!required && access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	config_init(&cf);
	if (config_read_file(&cf, path) != CONFIG_TRUE) {
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			rc = conf_fail(cause, "%s: cannot read: %s", path,
			    strerror(errno != 0 ? errno : EIO));
		else
			rc = conf_fail(cause, "%s:%d: %s",
			    config_error_file(&cf) != NULL
			        ? config_error_file(&cf)
			        : path,
			    config_error_line(&cf), config_error_text(&cf));
	} else
		rc = conf_apply_file(c, &cf, path, cause);
	config_destroy(&cf); /* libconfig strings die here: we copied them */
	return rc;
}

/* PADDOCK_<SECTION>_<KEY>, upper case, into buf. */
static void
conf_env_name(char *buf, size_t len, const struct conf_key *k)
{
	char *p;

	snprintf(buf, len, "%s%s_%s", CONF_ENV_PREFIX, k->section, k->key);
	for (p = buf; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
}

static int
conf_apply_env(struct bb_conf *c, char **cause)
{
	char name[128], *why = NULL;
	const char *v;
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++) {
		conf_env_name(name, sizeof name, &conf_keys[i]);
		if ((v = getenv(name)) == NULL)
			continue;
		if (conf_set_text(c, &conf_keys[i], v, &why)) {
			conf_fail(cause, "environment %s: %s", name,
			    why != NULL ? why : "bad value");
			free(why);
			return -1;
		}
	}
	return 0;
}

/* A NATS subject token or subject: printable, no blanks or wildcards. */
static int
conf_subject_ok(const char *s, int wildcards)
{
	if (*s == '\0' || *s == '.')
		return 0;
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return 0;
		if (!wildcards && (*s == '*' || *s == '>'))
			return 0;
		if (s[0] == '.' && (s[1] == '.' || s[1] == '\0'))
			return 0;
	}
	return 1;
}

static int
conf_validate(struct bb_conf *c, char **cause)
{
	enum log_level lvl;
	int i;

	if (c->order.sizes.n == 0)
		return conf_fail(cause, "order.sizes must name at least one "
		                        "size");
	if (strlen(c->stream.prefix) > 64 ||
	    !conf_subject_ok(c->stream.prefix, 0))
		return conf_fail(cause,
		    "stream.prefix '%s' is not a valid "
		    "subject prefix",
		    c->stream.prefix);
	if (!conf_subject_ok(c->stream.subjects, 1))
		return conf_fail(cause,
		    "stream.subjects '%s' is not a valid "
		    "subject",
		    c->stream.subjects);
	if (*c->stream.name == '\0' || strpbrk(c->stream.name, " .*>") != NULL)
		return conf_fail(cause,
		    "stream.name '%s' is not a valid stream "
		    "name",
		    c->stream.name);
	if (log_level_parse(c->log.level, &lvl))
		return conf_fail(cause,
		    "log.level '%s' must be error, warn, "
		    "info or debug",
		    c->log.level);
	for (i = 0; i < c->cors.allow_origins.n; i++) {
		if (strcmp(c->cors.allow_origins.v[i], "*") == 0 &&
		    c->cors.allow_credentials)
			return conf_fail(cause,
			    "cors.allow_origins \"*\" cannot be combined with "
			    "cors.allow_credentials = true (browsers refuse "
			    "it; list the origins instead)");
	}
	if (c->panettiere.factor_min_pct > c->panettiere.factor_max_pct)
		return conf_fail(cause,
		    "panettiere.factor_min_pct %d is above "
		    "panettiere.factor_max_pct %d",
		    c->panettiere.factor_min_pct, c->panettiere.factor_max_pct);
	/* maestro keeps its orders alive between requests, not during one. */
	if ((int64_t)c->maestro.dough_timeout_ms * c->kitchen.time_scale_pct /
	        100 >=
	    c->maestro.ack_wait_ms)
		return conf_fail(cause,
		    "maestro.dough_timeout_ms %d at kitchen.time_scale_pct %d "
		    "is not below maestro.ack_wait_ms %d: an order would go "
		    "to another cook during one dough request",
		    c->maestro.dough_timeout_ms, c->kitchen.time_scale_pct,
		    c->maestro.ack_wait_ms);
	return 0;
}

/*
 * Load the configuration: defaults, then the file at path (which may be
 * absent unless required), then the environment, then validate. On
 * failure returns -1 with *cause set to an allocated "file:line: reason"
 * the caller frees; c is then freed already. c is fully owned by the
 * caller and released by conf_free().
 */
int
conf_load(struct bb_conf *c, const char *path, int required, char **cause)
{
	*cause = NULL;
	memset(c, 0, sizeof *c);
	if (conf_defaults(c, cause) ||
	    (path != NULL && conf_read_file(c, path, required, cause)) ||
	    conf_apply_env(c, cause) || conf_validate(c, cause)) {
		conf_free(c);
		if (*cause == NULL)
			*cause = strdup("out of memory");
		return -1;
	}
	return 0;
}

/* Free everything c owns; c may be zeroed or half loaded. */
void
conf_free(struct bb_conf *c)
{
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++) {
		if (conf_keys[i].type == CONF_STR) {
			free(*(char **)conf_field(c, &conf_keys[i]));
			*(char **)conf_field(c, &conf_keys[i]) = NULL;
		} else if (conf_keys[i].type == CONF_LIST)
			conf_strv_free(conf_field(c, &conf_keys[i]));
	}
}

/* s as a libconfig string literal that reads back the same. */
static void
conf_print_string(const char *s, FILE *fp)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(fp, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(fp, "\\x%02x", (unsigned char)*s);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

/* Print the effective configuration in libconfig syntax. */
void
conf_print(const struct bb_conf *c, FILE *fp)
{
	const struct conf_key *k;
	const struct bb_strv *sv;
	const char *section = "";
	size_t i;
	int j;

	for (i = 0; i < CONF_NKEYS; i++) {
		k = &conf_keys[i];
		if (strcmp(section, k->section) != 0) {
			fprintf(fp, "%s%s: {\n", i ? "};\n" : "", k->section);
			section = k->section;
		}
		fprintf(fp, "\t%s = ", k->key);
		switch (k->type) {
		case CONF_INT:
			fprintf(
			    fp, "%d", *(const int *)((const char *)c + k->off));
			break;
		case CONF_BOOL:
			fputs(*(const int *)((const char *)c + k->off)
			          ? "true"
			          : "false",
			    fp);
			break;
		case CONF_STR:
			conf_print_string(
			    *(char *const *)((const char *)c + k->off), fp);
			break;
		case CONF_LIST:
			sv = (const struct bb_strv *)((const char *)c + k->off);
			fputc('[', fp);
			for (j = 0; j < sv->n; j++) {
				fputs(j ? ", " : "", fp);
				conf_print_string(sv->v[j], fp);
			}
			fputc(']', fp);
			break;
		}
		fputs(";\n", fp);
	}
	fputs("};\n", fp);
}
