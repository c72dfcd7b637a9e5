/*
 * check_conf.c: the configuration loader (src/conf.c). Defaults, a file in
 * a private temporary directory, PADDOCK_* environment overrides, errors
 * that name the file, the line and the reason, and conf_print() output
 * that loads back to the same values. Each test clears PADDOCK_* on entry
 * and exit; the fixture removes its directory.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boxbox.h"
#include "unit.h"

static char tmpdir[] = "/tmp/check_conf.XXXXXX";
static char pathbuf[PATH_MAX];

/* Unset every PADDOCK_* variable, whoever set it. */
static void
clear_env(void)
{
	char name[256], **ep;
	size_t len;

	for (;;) {
		for (ep = environ; *ep != NULL; ep++) {
			if (strncmp(*ep, CONF_ENV_PREFIX,
			        strlen(CONF_ENV_PREFIX)) == 0)
				break;
		}
		if (*ep == NULL)
			return;
		len = strcspn(*ep, "=");
		ck_assert_uint_lt(len, sizeof name);
		memcpy(name, *ep, len);
		name[len] = '\0';
		ck_assert_int_eq(unsetenv(name), 0);
	}
}

/*
 * The directory is made once per test case, outside the forked tests, so
 * that it is removed even when a test fails.
 */
static void
dir_setup(void)
{
	strcpy(tmpdir, "/tmp/check_conf.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
dir_teardown(void)
{
	struct dirent *de;
	DIR *d;

	ck_assert_ptr_nonnull(d = opendir(tmpdir));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(pathbuf, sizeof pathbuf, "%s/%s", tmpdir, de->d_name);
		ck_assert_int_eq(unlink(pathbuf), 0);
	}
	closedir(d);
	ck_assert_int_eq(rmdir(tmpdir), 0);
}

/* Around every test: under CK_FORK=no the environment outlives it. */
static void
env_setup(void)
{
	clear_env();
}

static void
env_teardown(void)
{
	clear_env();
}

static TCase *
conf_tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_checked_fixture(tc, env_setup, env_teardown);
	return tc;
}

/* The path of name in the test's directory; valid until the next call. */
static const char *
temp_path(const char *name)
{
	snprintf(pathbuf, sizeof pathbuf, "%s/%s", tmpdir, name);
	return pathbuf;
}

static const char *
write_conf(const char *name, const char *text)
{
	const char *path = temp_path(name);
	FILE *fp;

	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	ck_assert_int_ge(fputs(text, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
	return path;
}

static void
assert_strv(const struct bb_strv *sv, const char *const *want, int n)
{
	int i;

	ck_assert_int_eq(sv->n, n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(sv->v[i], want[i]);
}

static void
assert_strv_eq(const struct bb_strv *a, const struct bb_strv *b)
{
	assert_strv(a, (const char *const *)b->v, b->n);
}

/* Every field of a and b, so a key conf_print() forgets shows up. */
static void
assert_conf_eq(const struct bb_conf *a, const struct bb_conf *b)
{
	ck_assert_str_eq(a->nats.url, b->nats.url);
	ck_assert_str_eq(a->nats.name, b->nats.name);
	ck_assert_int_eq(
	    a->nats.connect_timeout_ms, b->nats.connect_timeout_ms);
	ck_assert_int_eq(a->nats.reconnect_wait_ms, b->nats.reconnect_wait_ms);
	ck_assert_int_eq(a->nats.ack_timeout_ms, b->nats.ack_timeout_ms);
	ck_assert_int_eq(a->nats.max_pending, b->nats.max_pending);
	ck_assert_str_eq(a->stream.name, b->stream.name);
	ck_assert_str_eq(a->stream.subjects, b->stream.subjects);
	ck_assert_str_eq(a->stream.prefix, b->stream.prefix);
	ck_assert_int_eq(
	    a->stream.duplicate_window_s, b->stream.duplicate_window_s);
	ck_assert_int_eq(a->stream.max_age_s, b->stream.max_age_s);
	ck_assert_int_eq(a->stream.replicas, b->stream.replicas);
	assert_strv_eq(&a->order.sizes, &b->order.sizes);
	ck_assert_int_eq(a->order.max_body, b->order.max_body);
	ck_assert_int_eq(a->fcgi.cpu_affinity, b->fcgi.cpu_affinity);
	ck_assert_int_eq(a->fcgi.backlog, b->fcgi.backlog);
	ck_assert_int_eq(a->fcgi.max_conns, b->fcgi.max_conns);
	ck_assert_str_eq(a->fcgi.metrics_dir, b->fcgi.metrics_dir);
	ck_assert_str_eq(a->relay.metrics_dir, b->relay.metrics_dir);
	assert_strv_eq(&a->cors.allow_origins, &b->cors.allow_origins);
	assert_strv_eq(&a->cors.allow_methods, &b->cors.allow_methods);
	assert_strv_eq(&a->cors.allow_headers, &b->cors.allow_headers);
	assert_strv_eq(&a->cors.expose_headers, &b->cors.expose_headers);
	ck_assert_int_eq(a->cors.max_age, b->cors.max_age);
	ck_assert_int_eq(a->cors.allow_credentials, b->cors.allow_credentials);
	ck_assert_str_eq(a->log.level, b->log.level);
	ck_assert_str_eq(a->log.file, b->log.file);
}

static void
assert_defaults(const struct bb_conf *c)
{
	static const char *const sizes[] = {"small", "medium", "large"};
	static const char *const methods[] = {"GET", "POST", "OPTIONS"};
	static const char *const headers[] = {"Content-Type"};
	static const char *const expose[] = {"Location"};

	ck_assert_str_eq(c->nats.url, "nats://127.0.0.1:4222");
	ck_assert_str_eq(c->nats.name, "paddock-fcgi");
	ck_assert_int_eq(c->nats.connect_timeout_ms, 2000);
	ck_assert_int_eq(c->nats.reconnect_wait_ms, 250);
	ck_assert_int_eq(c->nats.ack_timeout_ms, 2000);
	ck_assert_int_eq(c->nats.max_pending, 4096);
	ck_assert_str_eq(c->stream.name, "ORDERS");
	ck_assert_str_eq(c->stream.subjects, "orders.>");
	ck_assert_str_eq(c->stream.prefix, "orders");
	ck_assert_int_eq(c->stream.duplicate_window_s, 120);
	ck_assert_int_eq(c->stream.max_age_s, 604800);
	ck_assert_int_eq(c->stream.replicas, 1);
	assert_strv(&c->order.sizes, sizes, 3);
	ck_assert_int_eq(c->order.max_body, 65536);
	ck_assert_int_eq(c->fcgi.cpu_affinity, 0);
	ck_assert_int_eq(c->fcgi.backlog, 1024);
	ck_assert_int_eq(c->fcgi.max_conns, 10000);
	assert_strv(&c->cors.allow_origins, NULL, 0);
	assert_strv(&c->cors.allow_methods, methods, 3);
	assert_strv(&c->cors.allow_headers, headers, 1);
	assert_strv(&c->cors.expose_headers, expose, 1);
	ck_assert_int_eq(c->cors.max_age, 600);
	ck_assert_int_eq(c->cors.allow_credentials, 0);
	ck_assert_str_eq(c->log.level, "info");
	ck_assert_str_eq(c->log.file, "");
}

/* Load, expecting success; the caller conf_free()s. */
static void
load_ok(struct bb_conf *c, const char *path, int required)
{
	char *cause = (char *)1;

	ck_assert_msg(conf_load(c, path, required, &cause) == 0, "%s",
	    cause != NULL ? cause : "(no cause)");
	ck_assert_ptr_null(cause);
}

/* Load, expecting failure; returns the cause for the caller to free. */
static char *
load_fail(struct bb_conf *c, const char *path)
{
	char *cause = NULL;

	ck_assert_int_eq(conf_load(c, path, 1, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	/* conf_load() freed c already; freeing again must be harmless. */
	ck_assert_ptr_null(c->nats.url);
	ck_assert_ptr_null(c->order.sizes.v);
	conf_free(c);
	return cause;
}

START_TEST(test_defaults_without_file)
{
	struct bb_conf c;

	load_ok(&c, NULL, 0);
	assert_defaults(&c);
	conf_free(&c);
	ck_assert_ptr_null(c.nats.url);
	conf_free(&c);
}
END_TEST

START_TEST(test_absent_file_optional)
{
	struct bb_conf c;

	load_ok(&c, temp_path("absent.conf"), 0);
	assert_defaults(&c);
	conf_free(&c);
}
END_TEST

START_TEST(test_absent_file_required)
{
	struct bb_conf c;
	char *cause, *path;

	path = strdup(temp_path("absent.conf"));
	cause = load_fail(&c, path);
	ck_assert_msg(strncmp(cause, path, strlen(path)) == 0, "%s", cause);
	ck_assert_ptr_nonnull(strstr(cause, "cannot read"));
	free(cause);
	free(path);
}
END_TEST

START_TEST(test_file_overrides_defaults)
{
	static const char *const sizes[] = {"personal", "family"};
	static const char *const origins[] = {
	    "https://a.example", "https://b.example"};
	struct bb_conf c;
	const char *path;

	path = write_conf("good.conf",
	    "# a comment\n"
	    "nats: {\n"
	    "\turl = \"nats://10.0.0.5:4222\";\n"
	    "\tack_timeout_ms = 3000L;\n"
	    "};\n"
	    "order: { sizes = [\"personal\", \" family \"]; };\n"
	    "fcgi: { backlog = 4; };\n"
	    "cors: {\n"
	    "\tallow_origins = (\"https://a.example\", "
	    "\"https://b.example\");\n"
	    "\tallow_credentials = true;\n"
	    "\tmax_age = 0;\n"
	    "};\n"
	    "stream: { max_age_s = 0; replicas = 3; };\n"
	    "log: { level = \"debug\"; };\n");
	load_ok(&c, path, 1);
	ck_assert_str_eq(c.nats.url, "nats://10.0.0.5:4222");
	ck_assert_int_eq(c.nats.ack_timeout_ms, 3000);
	assert_strv(&c.order.sizes, sizes, 2);
	ck_assert_int_eq(c.fcgi.backlog, 4);
	assert_strv(&c.cors.allow_origins, origins, 2);
	ck_assert_int_eq(c.cors.allow_credentials, 1);
	ck_assert_int_eq(c.cors.max_age, 0);
	ck_assert_int_eq(c.stream.max_age_s, 0);
	ck_assert_int_eq(c.stream.replicas, 3);
	ck_assert_str_eq(c.log.level, "debug");
	/* What the file leaves out keeps its default. */
	ck_assert_str_eq(c.nats.name, "paddock-fcgi");
	ck_assert_int_eq(c.fcgi.cpu_affinity, 0);
	ck_assert_int_eq(c.order.max_body, 65536);
	conf_free(&c);
}
END_TEST

START_TEST(test_empty_file_gives_defaults)
{
	struct bb_conf c;

	load_ok(&c, write_conf("empty.conf", "# nothing\n"), 1);
	assert_defaults(&c);
	conf_free(&c);
}
END_TEST

struct file_error {
	const char *text;
	int line;
	const char *reason;
};

static const struct file_error file_errors[] = {
    {"nats: {\n\turl = ;\n};\n", 2, "syntax error"},
    {"nats: {\n\tname = \"y\";\n\turl = \"a\" 5;\n};\n", 3, "syntax error"},
    {"fcgi: {\n\tbacklog = 4;\n\t= 5;\n};\n", 3, "syntax error"},
    {"fcgi: {\n\tbacklog = 4;\n\n", 4, "syntax error"}, /* at EOF */
    {"nats: {\n};\n\nbogus: {\n\tx = 1;\n};\n", 4, "unknown section 'bogus'"},
    {"nats: {\n\turl = \"nats://x:4222\";\n\n\tbogus = 1;\n};\n", 4,
        "unknown key 'bogus' in section 'nats'"},
    {"fcgi: {\n\tcpu_affinity = true;\n\tbacklog = 8;\n\tthread = 2;\n};\n", 4,
        "unknown key 'thread' in section 'fcgi'"},
    {"nats = 5;\n", 1, "'nats' must be a group"},
    {"fcgi: {\n\tbacklog = \"16\";\n};\n", 2,
        "fcgi.backlog must be an integer"},
    {"fcgi: {\n\tbacklog = 1.5;\n};\n", 2, "fcgi.backlog must be an integer"},
    {"fcgi: {\n\tbacklog = true;\n};\n", 2, "fcgi.backlog must be an integer"},
    {"fcgi: {\n\tbacklog = [16];\n};\n", 2, "fcgi.backlog must be an integer"},
    {"order: {\n\tsizes = 3;\n};\n", 2,
        "order.sizes must be a list of strings"},
    {"order: {\n\tsizes = \"small\";\n};\n", 2,
        "order.sizes must be a list of strings"},
    {"order: {\n\tsizes = [1, 2];\n};\n", 2,
        "order.sizes must be a list of strings"},
    {"order: {\n\tsizes = (\"a\", 2);\n};\n", 2,
        "order.sizes must be a list of strings"},
    {"nats: {\n\turl = 4222;\n};\n", 2, "nats.url must be a string"},
    {"cors: {\n\tallow_credentials = \"yes\";\n};\n", 2,
        "cors.allow_credentials must be true or false"},
    {"cors: {\n\tallow_credentials = 1;\n};\n", 2,
        "cors.allow_credentials must be true or false"},
    {"fcgi: {\n\tbacklog = 0;\n};\n", 2,
        "fcgi.backlog must be between 1 and 65535"},
    {"fcgi: {\n\tbacklog = 65536;\n};\n", 2,
        "fcgi.backlog must be between 1 and 65535"},
    {"fcgi: {\n\tbacklog = -1;\n};\n", 2,
        "fcgi.backlog must be between 1 and 65535"},
    {"fcgi: {\n\tbacklog = 4294967312L;\n};\n", 2,
        "fcgi.backlog must be between 1 and 65535"},
    {"stream: {\n\tduplicate_window_s = 60;\n};\n", 2,
        "stream.duplicate_window_s must be between 120 and 86400"},
    {"order: {\n\tmax_body = 100;\n};\n", 2,
        "order.max_body must be between 256 and 16777216"},
    {"order: {\n\tsizes = [\"small\", \"\"];\n};\n", 2, "empty item in list"},
    {"order: {\n\tsizes = [\"small\", \"  \"];\n};\n", 2, "empty item in list"},
    {"cors: {\n\tallow_origins = [\"\"];\n};\n", 2, "empty item in list"},
};

#define NFILE_ERRORS (int)(sizeof file_errors / sizeof file_errors[0])

START_TEST(test_file_error_names_file_and_line)
{
	const struct file_error *fe = &file_errors[_i];
	struct bb_conf c;
	char *cause, want[PATH_MAX + 32];

	cause = load_fail(&c, write_conf("bad.conf", fe->text));
	snprintf(want, sizeof want, "%s:%d: ", temp_path("bad.conf"), fe->line);
	ck_assert_msg(strncmp(cause, want, strlen(want)) == 0,
	    "row %d: '%s' does not start with '%s'", _i, cause, want);
	ck_assert_msg(strstr(cause, fe->reason) != NULL,
	    "row %d: '%s' lacks '%s'", _i, cause, fe->reason);
	free(cause);
}
END_TEST

/* Whole-configuration checks, made after the file and the environment. */
static const struct file_error invalid_confs[] = {
    {"order: { sizes = []; };\n", 0, "order.sizes must name at least one"},
    {"cors: { allow_origins = [\"*\"]; allow_credentials = true; };\n", 0,
        "cannot be combined with cors.allow_credentials"},
    {"cors: { allow_origins = [\"https://a.example\", \"*\"];\n"
     "\tallow_credentials = true; };\n",
        0, "cannot be combined with cors.allow_credentials"},
    {"log: { level = \"loud\"; };\n", 0, "log.level 'loud'"},
    {"stream: { prefix = \"a b\"; };\n", 0, "stream.prefix 'a b'"},
    {"stream: { prefix = \"orders.*\"; };\n", 0, "stream.prefix"},
    {"stream: { subjects = \"\"; };\n", 0, "stream.subjects"},
    {"stream: { subjects = \"orders..x\"; };\n", 0, "stream.subjects"},
    {"stream: { name = \"OR.DERS\"; };\n", 0, "stream.name 'OR.DERS'"},
    {"stream: { name = \"\"; };\n", 0, "stream.name"},
};

#define NINVALID (int)(sizeof invalid_confs / sizeof invalid_confs[0])

START_TEST(test_invalid_conf_refused)
{
	struct bb_conf c;
	char *cause;

	cause = load_fail(&c, write_conf("bad.conf", invalid_confs[_i].text));
	ck_assert_msg(strstr(cause, invalid_confs[_i].reason) != NULL,
	    "row %d: '%s' lacks '%s'", _i, cause, invalid_confs[_i].reason);
	free(cause);
}
END_TEST

START_TEST(test_cors_star_without_credentials)
{
	static const char *const star[] = {"*"};
	struct bb_conf c;

	load_ok(&c,
	    write_conf("star.conf", "cors: { allow_origins = [\"*\"]; };\n"),
	    1);
	assert_strv(&c.cors.allow_origins, star, 1);
	ck_assert_int_eq(c.cors.allow_credentials, 0);
	conf_free(&c);
}
END_TEST

START_TEST(test_cors_star_with_env_credentials)
{
	struct bb_conf c;
	char *cause;

	setenv("PADDOCK_CORS_ALLOW_CREDENTIALS", "true", 1);
	cause = load_fail(&c,
	    write_conf("star.conf", "cors: { allow_origins = [\"*\"]; };\n"));
	ck_assert_ptr_nonnull(strstr(cause, "cors.allow_credentials"));
	free(cause);
}
END_TEST

START_TEST(test_env_overrides)
{
	static const char *const sizes[] = {"a", "b", "c"};
	struct bb_conf c;

	setenv("PADDOCK_NATS_URL", "nats://10.1.2.3:4333", 1);
	setenv("PADDOCK_FCGI_CPU_AFFINITY", "true", 1);
	setenv("PADDOCK_ORDER_SIZES", "a, b ,c", 1);
	setenv("PADDOCK_CORS_ALLOW_CREDENTIALS", "true", 1);
	load_ok(&c, NULL, 0);
	ck_assert_str_eq(c.nats.url, "nats://10.1.2.3:4333");
	ck_assert_int_eq(c.fcgi.cpu_affinity, 1);
	assert_strv(&c.order.sizes, sizes, 3);
	ck_assert_int_eq(c.cors.allow_credentials, 1);
	ck_assert_int_eq(c.fcgi.backlog, 1024);
	conf_free(&c);
}
END_TEST

START_TEST(test_env_wins_over_file)
{
	static const char *const sizes[] = {"xl"};
	struct bb_conf c;
	const char *path;

	path = write_conf("file.conf",
	    "nats: { url = \"nats://file:4222\"; name = \"from-file\"; };\n"
	    "fcgi: { cpu_affinity = true; backlog = 64; };\n"
	    "order: { sizes = [\"s\", \"m\"]; };\n"
	    "cors: { allow_credentials = true; };\n");
	setenv("PADDOCK_NATS_URL", "nats://env:4222", 1);
	setenv("PADDOCK_FCGI_CPU_AFFINITY", "false", 1);
	setenv("PADDOCK_ORDER_SIZES", "xl", 1);
	setenv("PADDOCK_CORS_ALLOW_CREDENTIALS", "false", 1);
	load_ok(&c, path, 1);
	ck_assert_str_eq(c.nats.url, "nats://env:4222");
	ck_assert_int_eq(c.fcgi.cpu_affinity, 0);
	assert_strv(&c.order.sizes, sizes, 1);
	ck_assert_int_eq(c.cors.allow_credentials, 0);
	/* Keys without a variable keep the file's value. */
	ck_assert_str_eq(c.nats.name, "from-file");
	ck_assert_int_eq(c.fcgi.backlog, 64);
	conf_free(&c);
}
END_TEST

START_TEST(test_env_booleans)
{
	static const char *const yes[] = {"true", "1", "yes"};
	static const char *const no[] = {"false", "0", "no"};
	struct bb_conf c;
	size_t i;

	for (i = 0; i < 3; i++) {
		setenv("PADDOCK_CORS_ALLOW_CREDENTIALS", yes[i], 1);
		load_ok(&c, NULL, 0);
		ck_assert_int_eq(c.cors.allow_credentials, 1);
		conf_free(&c);
		setenv("PADDOCK_CORS_ALLOW_CREDENTIALS", no[i], 1);
		load_ok(&c, NULL, 0);
		ck_assert_int_eq(c.cors.allow_credentials, 0);
		conf_free(&c);
	}
}
END_TEST

struct env_error {
	const char *name;
	const char *value;
	const char *reason;
};

static const struct env_error env_errors[] = {
    {"PADDOCK_FCGI_BACKLOG", "abc", "'abc' is not an integer"},
    {"PADDOCK_FCGI_BACKLOG", "", "is not an integer"},
    {"PADDOCK_FCGI_BACKLOG", "12abc", "'12abc' is not an integer"},
    {"PADDOCK_FCGI_BACKLOG", "1.5", "is not an integer"},
    {"PADDOCK_FCGI_BACKLOG", "0", "fcgi.backlog must be between 1 and 65535"},
    {"PADDOCK_FCGI_BACKLOG", "4294967312",
        "fcgi.backlog must be between 1 and 65535"},
    {"PADDOCK_NATS_ACK_TIMEOUT_MS", "99999999999999999999",
        "is not an integer"},
    {"PADDOCK_CORS_ALLOW_CREDENTIALS", "maybe", "'maybe' is not a boolean"},
    {"PADDOCK_CORS_ALLOW_CREDENTIALS", "TRUE", "is not a boolean"},
    {"PADDOCK_ORDER_SIZES", "a,,b", "empty item in list"},
    {"PADDOCK_ORDER_SIZES", " ,a", "empty item in list"},
    {"PADDOCK_ORDER_SIZES", "a,b,", "empty item in list"},
    {"PADDOCK_ORDER_SIZES", ",", "empty item in list"},
    {"PADDOCK_ORDER_SIZES", " ", "empty item in list"},
    {"PADDOCK_CORS_ALLOW_ORIGINS", "https://a.example, ", "empty item in list"},
};

#define NENV_ERRORS (int)(sizeof env_errors / sizeof env_errors[0])

START_TEST(test_env_error_names_variable)
{
	const struct env_error *ee = &env_errors[_i];
	struct bb_conf c;
	char *cause, want[128];

	setenv(ee->name, ee->value, 1);
	cause = load_fail(&c, NULL);
	snprintf(want, sizeof want, "environment %s: ", ee->name);
	ck_assert_msg(strncmp(cause, want, strlen(want)) == 0,
	    "row %d: '%s' does not start with '%s'", _i, cause, want);
	ck_assert_msg(strstr(cause, ee->reason) != NULL,
	    "row %d: '%s' lacks '%s'", _i, cause, ee->reason);
	free(cause);
}
END_TEST

START_TEST(test_env_empty_list)
{
	struct bb_conf c;

	setenv("PADDOCK_CORS_ALLOW_METHODS", "", 1);
	load_ok(&c, NULL, 0);
	ck_assert_int_eq(c.cors.allow_methods.n, 0);
	conf_free(&c);
	setenv("PADDOCK_ORDER_SIZES", "", 1);
	free(load_fail(&c, NULL));
}
END_TEST

START_TEST(test_env_unrelated_ignored)
{
	struct bb_conf c;

	setenv("PADDOCK_NOPE", "1", 1);
	setenv("PADDOCK_FCGI", "1", 1);
	load_ok(&c, NULL, 0);
	assert_defaults(&c);
	conf_free(&c);
}
END_TEST

/* conf_print() c into a file, load it back and compare. */
static void
assert_print_reloads(const struct bb_conf *c)
{
	struct bb_conf again;
	const char *path;
	FILE *fp;

	path = temp_path("printed.conf");
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	conf_print(c, fp);
	ck_assert_int_eq(fclose(fp), 0);
	load_ok(&again, temp_path("printed.conf"), 1);
	assert_conf_eq(c, &again);
	conf_free(&again);
}

START_TEST(test_print_defaults_reloads)
{
	struct bb_conf c;

	load_ok(&c, NULL, 0);
	assert_print_reloads(&c);
	conf_free(&c);
}
END_TEST

START_TEST(test_print_file_reloads)
{
	struct bb_conf c;
	const char *path;

	path = write_conf("full.conf",
	    "nats: { url = \"nats://u:p@10.0.0.5:4222,nats://10.0.0.6:4222\";\n"
	    "\tname = \"paddock-2\"; connect_timeout_ms = 10;\n"
	    "\treconnect_wait_ms = 60000; ack_timeout_ms = 1500;\n"
	    "\tmax_pending = 1000000; };\n"
	    "stream: { name = \"PIZZA\"; subjects = \"pizza.>\";\n"
	    "\tprefix = \"pizza\"; duplicate_window_s = 86400;\n"
	    "\tmax_age_s = 0; replicas = 5; };\n"
	    "order: { sizes = [\"S\", \"M\", \"L\", \"XL\"]; max_body = 256; "
	    "};\n"
	    "fcgi: { cpu_affinity = true; backlog = 65535; max_conns = 3; };\n"
	    "cors: { allow_origins = [\"https://a.example\"];\n"
	    "\tallow_methods = [\"POST\"]; allow_headers = [];\n"
	    "\texpose_headers = [\"Location\", \"X-Request-Id\"];\n"
	    "\tmax_age = 86400; allow_credentials = true; };\n"
	    "log: { level = \"warn\"; };\n");
	load_ok(&c, path, 1);
	assert_print_reloads(&c);
	conf_free(&c);
}
END_TEST

START_TEST(test_print_escapes_strings)
{
	struct bb_conf c;

	setenv("PADDOCK_NATS_NAME", "say \"hi\" \\ bye\tnow", 1);
	setenv("PADDOCK_ORDER_SIZES", "a\"b,c\\d", 1);
	load_ok(&c, NULL, 0);
	ck_assert_str_eq(c.nats.name, "say \"hi\" \\ bye\tnow");
	clear_env();
	assert_print_reloads(&c);
	conf_free(&c);
}
END_TEST

START_TEST(test_print_shape)
{
	struct bb_conf c;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	load_ok(&c, NULL, 0);
	ck_assert_ptr_nonnull(fp = open_memstream(&buf, &len));
	conf_print(&c, fp);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_msg(
	    strncmp(buf, "nats: {\n\turl = \"nats://127.0.0.1:4222\";\n", 40) ==
	        0,
	    "%s", buf);
	ck_assert_ptr_nonnull(strstr(buf, "\tbacklog = 1024;\n"));
	ck_assert_ptr_nonnull(
	    strstr(buf, "\tsizes = [\"small\", \"medium\", \"large\"];\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\tallow_origins = [];\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\tallow_credentials = false;\n"));
	ck_assert_str_eq(buf + len - 3, "};\n");
	free(buf);
	conf_free(&c);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc;

	tc = conf_tcase("file");
	tcase_add_test(tc, test_defaults_without_file);
	tcase_add_test(tc, test_absent_file_optional);
	tcase_add_test(tc, test_absent_file_required);
	tcase_add_test(tc, test_file_overrides_defaults);
	tcase_add_test(tc, test_empty_file_gives_defaults);
	tcase_add_loop_test(
	    tc, test_file_error_names_file_and_line, 0, NFILE_ERRORS);
	tcase_add_loop_test(tc, test_invalid_conf_refused, 0, NINVALID);
	tcase_add_test(tc, test_cors_star_without_credentials);
	suite_add_tcase(s, tc);

	tc = conf_tcase("env");
	tcase_add_test(tc, test_env_overrides);
	tcase_add_test(tc, test_env_wins_over_file);
	tcase_add_test(tc, test_env_booleans);
	tcase_add_loop_test(tc, test_env_error_names_variable, 0, NENV_ERRORS);
	tcase_add_test(tc, test_env_empty_list);
	tcase_add_test(tc, test_env_unrelated_ignored);
	tcase_add_test(tc, test_cors_star_with_env_credentials);
	suite_add_tcase(s, tc);

	tc = conf_tcase("print");
	tcase_add_test(tc, test_print_defaults_reloads);
	tcase_add_test(tc, test_print_file_reloads);
	tcase_add_test(tc, test_print_escapes_strings);
	tcase_add_test(tc, test_print_shape);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(conf_suite());
}
