/*
 * check_metrics.c: the pool's counters (fcgi/metrics.c). A process counts
 * in memory or in a slot of a directory, the first nobody holds; a scrape
 * adds up every slot of the directory, a dead process's counters but not
 * its gauges, and skips what is not a slot. Another process is played by
 * a second open file description, whose flock() conflicts with ours.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "paddock.h"
#include "unit.h"

#define C(code) ((code)-METRICS_CODE_MIN)

static char dir[64];

static void
open_ok(const char *d)
{
	char *cause = NULL;

	ck_assert_msg(metrics_open(d, &cause) == 0, "metrics_open: %s",
	    cause != NULL ? cause : "?");
	free(cause);
}

/*
 * A file another process would have left: counts, gauges, a magic, size
 * bytes of it (zeros past the struct); held, if locked, until the caller
 * closes the descriptor it returns.
 */
static int
file_put(const char *name, uint32_t magic, size_t size, int locked)
{
	static char bytes[sizeof(struct metrics) + 64];
	struct metrics m;
	char path[256];
	int fd;

	ck_assert_uint_le(size, sizeof bytes);
	memset(&m, 0, sizeof m);
	m.head.magic = magic;
	m.head.size = sizeof m;
	m.requests[C(200)] = 5;
	m.orders[C(200)] = 5;
	m.order_bucket[0] = 5;
	m.order_sum_us = 2500;
	m.in_flight = 7;
	m.conns = 3;
	m.nats_connected = 1;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	memset(bytes, 0, sizeof bytes);
	memcpy(bytes, &m, sizeof m);
	ck_assert_int_eq(write(fd, bytes, size), (ssize_t)size);
	if (locked) {
		ck_assert_int_eq(flock(fd, LOCK_EX), 0);
		return fd; /* alive while it stays open */
	}
	close(fd);
	return -1;
}

START_TEST(test_memory_counts_itself)
{
	struct metrics_sum s;

	open_ok(NULL);
	metrics_request(200, 1, 1500);
	metrics_request(422, 1, 100);
	metrics_request(200, 0, 50);
	metrics_request(99, 0, 10); /* never answered: counted as 500 */
	metrics_gauges(4, 9, 1);
	ck_assert_int_eq(metrics_sum(NULL, &s), 0);
	ck_assert_uint_eq(s.m.requests[C(200)], 2);
	ck_assert_uint_eq(s.m.requests[C(422)], 1);
	ck_assert_uint_eq(s.m.requests[C(500)], 1);
	ck_assert_uint_eq(s.m.orders[C(200)], 1);
	ck_assert_uint_eq(s.m.orders[C(422)], 1);
	ck_assert_uint_eq(s.m.order_bucket[1], 1); /* 1.5 ms: le 0.0025 */
	ck_assert_uint_eq(s.m.order_sum_us, 1500);
	ck_assert_uint_eq(s.m.in_flight, 4);
	ck_assert_uint_eq(s.m.conns, 9);
	ck_assert_uint_eq(s.m.nats_connected, 1);
	ck_assert_uint_eq(s.processes, 1);
	metrics_close();
}
END_TEST

START_TEST(test_buckets_take_their_bound)
{
	static const struct {
		int64_t us;
		int bucket;
	} cases[] = {{-5, 0}, {0, 0}, {1000, 0}, {1001, 1}, {10000, 3},
	    {10001, 4}, {5000000, 11}, {5000001, 12}, {60000000, 12}};
	struct metrics_sum s;
	size_t i;
	int b;

	open_ok(NULL);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		metrics_request(200, 1, cases[i].us);
		ck_assert_int_eq(metrics_sum(NULL, &s), 0);
		for (b = 0; b < METRICS_BUCKETS; b++)
			if (s.m.order_bucket[b] != 0)
				break;
		ck_assert_msg(b == cases[i].bucket && s.m.order_bucket[b] == 1,
		    "%lld us: bucket %d, not %d", (long long)cases[i].us, b,
		    cases[i].bucket);
		metrics_close(); /* in memory: the next open starts afresh */
		open_ok(NULL);
	}
	metrics_close();
}
END_TEST

START_TEST(test_directory_adds_up_every_slot)
{
	struct metrics_sum s;
	char path[256];
	int live, peek;

	unit_dir_make(dir, sizeof dir, "check_metrics");
	open_ok(dir);
	metrics_request(200, 1, 100);
	metrics_request(200, 1, 100);
	metrics_gauges(1, 2, 1);
	/* A dead process's slot: its counters count, not its gauges. */
	file_put("paddock-fcgi.900.metrics", METRICS_MAGIC,
	    sizeof(struct metrics), 0);
	ck_assert_int_eq(metrics_sum(dir, &s), 0);
	ck_assert_uint_eq(s.m.requests[C(200)], 7);
	ck_assert_uint_eq(s.m.orders[C(200)], 7);
	ck_assert_uint_eq(s.m.order_bucket[0], 7);
	ck_assert_uint_eq(s.m.order_sum_us, 2700);
	ck_assert_uint_eq(s.m.in_flight, 1);
	ck_assert_uint_eq(s.m.conns, 2);
	ck_assert_uint_eq(s.m.nats_connected, 1);
	ck_assert_uint_eq(s.processes, 1);
	/* A live one (its owner's lock held): both. */
	live = file_put("paddock-fcgi.901.metrics", METRICS_MAGIC,
	    sizeof(struct metrics), 1);
	/* Not slots: skipped. */
	file_put("other.metrics", METRICS_MAGIC, sizeof(struct metrics), 0);
	file_put("paddock-fcgi.902.metrics", METRICS_MAGIC, 64, 0);
	file_put(
	    "paddock-fcgi.903.metrics", 0xdeadbeefu, sizeof(struct metrics), 0);
	file_put("paddock-fcgi.904.metrics.tmp", METRICS_MAGIC,
	    sizeof(struct metrics), 0);
	ck_assert_int_eq(metrics_sum(dir, &s), 0);
	ck_assert_uint_eq(s.m.requests[C(200)], 12);
	ck_assert_uint_eq(s.m.in_flight, 8);
	ck_assert_uint_eq(s.m.conns, 5);
	ck_assert_uint_eq(s.m.nats_connected, 2);
	ck_assert_uint_eq(s.processes, 2);
	/*
	 * Another scrape at the same moment (a shared lock on the dead slot)
	 * does not make it look alive.
	 */
	snprintf(path, sizeof path, "%s/paddock-fcgi.900.metrics", dir);
	peek = open(path, O_RDONLY);
	ck_assert_int_ge(peek, 0);
	ck_assert_int_eq(flock(peek, LOCK_SH | LOCK_NB), 0);
	ck_assert_int_eq(metrics_sum(dir, &s), 0);
	ck_assert_uint_eq(s.processes, 2);
	ck_assert_uint_eq(s.m.in_flight, 8);
	close(peek);
	close(live);
	ck_assert_int_eq(metrics_sum(dir, &s), 0);
	ck_assert_uint_eq(s.processes, 1); /* its lock went with it */
	ck_assert_uint_eq(s.m.requests[C(200)], 12);
	metrics_close();
	unit_dir_remove(dir);
}
END_TEST

START_TEST(test_reopen_goes_on_counting)
{
	struct metrics_sum s;

	unit_dir_make(dir, sizeof dir, "check_metrics");
	open_ok(dir);
	metrics_request(200, 1, 10);
	metrics_request(200, 1, 10);
	metrics_request(200, 1, 10);
	metrics_gauges(3, 3, 1);
	metrics_close();
	/* The next process takes the free slot and goes on. */
	open_ok(dir);
	ck_assert_int_eq(metrics_sum(dir, &s), 0);
	ck_assert_uint_eq(s.m.orders[C(200)], 3);
	ck_assert_uint_eq(s.m.in_flight, 0); /* gauges start afresh */
	ck_assert_uint_eq(s.m.nats_connected, 0);
	ck_assert_uint_eq(s.processes, 1);
	metrics_request(200, 1, 10);
	ck_assert_int_eq(metrics_sum(dir, &s), 0);
	ck_assert_uint_eq(s.m.orders[C(200)], 4);
	metrics_close();
	unit_dir_remove(dir);
}
END_TEST

START_TEST(test_a_held_slot_is_left_alone)
{
	struct metrics_sum s;
	char path[256];
	int held;

	unit_dir_make(dir, sizeof dir, "check_metrics");
	/* Slot 0 held by a live process: a start takes slot 1. */
	held = file_put(
	    "paddock-fcgi.0.metrics", METRICS_MAGIC, sizeof(struct metrics), 1);
	open_ok(dir);
	metrics_request(422, 1, 10);
	snprintf(path, sizeof path, "%s/paddock-fcgi.1.metrics", dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_eq(metrics_sum(dir, &s), 0);
	ck_assert_uint_eq(s.processes, 2);
	ck_assert_uint_eq(s.m.orders[C(422)], 1);
	ck_assert_uint_eq(s.m.orders[C(200)], 5);
	metrics_close();
	close(held);
	unit_dir_remove(dir);
}
END_TEST

START_TEST(test_a_foreign_slot_starts_afresh)
{
	static const struct {
		uint32_t magic;
		size_t size;
	} cases[] = {{METRICS_MAGIC, 64}, {0xdeadbeefu, sizeof(struct metrics)},
	    {METRICS_MAGIC, sizeof(struct metrics) + 8}};
	struct metrics_sum s;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unit_dir_make(dir, sizeof dir, "check_metrics");
		file_put(
		    "paddock-fcgi.0.metrics", cases[i].magic, cases[i].size, 0);
		open_ok(dir);
		ck_assert_int_eq(metrics_sum(dir, &s), 0);
		ck_assert_uint_eq(s.m.requests[C(200)], 0);
		ck_assert_uint_eq(s.processes, 1);
		metrics_request(200, 0, 1);
		ck_assert_int_eq(metrics_sum(dir, &s), 0);
		ck_assert_uint_eq(s.m.requests[C(200)], 1);
		metrics_close();
		unit_dir_remove(dir);
	}
}
END_TEST

START_TEST(test_unusable_directory_fails)
{
	struct metrics_sum s;
	char *cause = NULL;

	ck_assert_int_eq(metrics_open("/dev/null/metrics", &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, "/dev/null/metrics"));
	free(cause);
	ck_assert_int_eq(metrics_sum("/nonexistent/metrics", &s), -1);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_test(tc, test_memory_counts_itself);
	tcase_add_test(tc, test_buckets_take_their_bound);
	tcase_add_test(tc, test_directory_adds_up_every_slot);
	tcase_add_test(tc, test_reopen_goes_on_counting);
	tcase_add_test(tc, test_a_held_slot_is_left_alone);
	tcase_add_test(tc, test_a_foreign_slot_starts_afresh);
	tcase_add_test(tc, test_unusable_directory_fails);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(metrics_suite());
}
