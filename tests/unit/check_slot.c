/*
 * check_slot.c: a process's counters in a slot file (src/slot.c). A slot
 * is the first of the directory nobody holds; a dead process's slot is
 * taken with its counts, a held one never; a scrape sees every slot of the
 * prefix and layout, and which are live. Another process is played by a
 * second open file description, whose flock() conflicts with ours.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boxbox.h"
#include "unit.h"

#define MAGIC  0x54534554u /* "TEST" */
#define PREFIX "check."

struct counts {
	struct slot_head head;
	uint64_t n;
	uint64_t gauge;
};

static char dir[64];

static void
open_ok(struct slot *s, const char *d)
{
	char *cause = NULL;

	ck_assert_msg(
	    slot_open(s, d, PREFIX, sizeof(struct counts), MAGIC, &cause) == 0,
	    "slot_open: %s", cause != NULL ? cause : "?");
	free(cause);
}

/* A slot file as a process left it: n counted, locked if held. */
static int
file_put(const char *name, uint32_t magic, uint64_t n, int held)
{
	struct counts c;
	char path[256];
	int fd;

	memset(&c, 0, sizeof c);
	c.head.magic = magic;
	c.head.size = sizeof c;
	c.n = n;
	c.gauge = 1;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, &c, sizeof c), (ssize_t)sizeof c);
	if (held)
		ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	else {
		close(fd);
		fd = -1;
	}
	return fd;
}

struct seen {
	uint64_t n, gauges;
	int slots, live;
};

static void
add_up(const void *mem, int live, void *arg)
{
	const struct counts *c = mem;
	struct seen *s = arg;

	s->slots++;
	s->n += slot_get(&c->n);
	if (live) {
		s->live++;
		s->gauges += slot_get(&c->gauge);
	}
}

static struct seen
scrape(const struct slot *s)
{
	struct seen seen = {0};

	ck_assert_int_eq(slot_each(s, dir, PREFIX, MAGIC, add_up, &seen), 0);
	return seen;
}

START_TEST(test_memory_is_itself_alone)
{
	struct slot s;
	struct counts *c;
	struct seen seen;

	unit_dir_make(dir, sizeof dir, "check_slot");
	file_put(PREFIX "0.metrics", MAGIC, 5, 0); /* not read */
	open_ok(&s, NULL);
	ck_assert_int_eq(s.fd, -1);
	c = s.mem;
	ck_assert_uint_eq(c->head.magic, MAGIC);
	slot_add(&c->n, 3);
	seen = scrape(&s);
	ck_assert_int_eq(seen.slots, 1);
	ck_assert_int_eq(seen.live, 1);
	ck_assert_uint_eq(seen.n, 3);
	slot_close(&s);
	unit_dir_remove(dir);
}
END_TEST

/* The bug this suite was written for: slot 0 held, slot 1 dead. */
START_TEST(test_a_dead_slot_after_a_held_one_is_taken)
{
	struct slot s;
	struct counts *c;
	struct seen seen;
	int held;

	unit_dir_make(dir, sizeof dir, "check_slot");
	held = file_put(PREFIX "0.metrics", MAGIC, 5, 1);
	file_put(PREFIX "1.metrics", MAGIC, 7, 0);
	open_ok(&s, dir);
	ck_assert_int_ne(s.fd, -1);
	c = s.mem;
	ck_assert_uint_eq(slot_get(&c->n), 7); /* goes on from the dead's */
	slot_add(&c->n, 1);
	seen = scrape(&s);
	ck_assert_int_eq(seen.slots, 2);
	ck_assert_int_eq(seen.live, 2);
	ck_assert_uint_eq(seen.n, 13);
	slot_close(&s);
	seen = scrape(&s);
	ck_assert_int_eq(seen.live, 1); /* the holder only */
	ck_assert_uint_eq(seen.n, 13);  /* our counts stay */
	close(held);
	unit_dir_remove(dir);
}
END_TEST

START_TEST(test_each_process_takes_its_own)
{
	struct slot a, b;
	struct seen seen;

	unit_dir_make(dir, sizeof dir, "check_slot");
	open_ok(&a, dir);
	open_ok(&b, dir);
	slot_add(&((struct counts *)a.mem)->n, 2);
	slot_add(&((struct counts *)b.mem)->n, 3);
	seen = scrape(&a);
	ck_assert_int_eq(seen.slots, 2);
	ck_assert_int_eq(seen.live, 2);
	ck_assert_uint_eq(seen.n, 5);
	slot_close(&b);
	slot_close(&a);
	unit_dir_remove(dir);
}
END_TEST

START_TEST(test_another_layout_starts_afresh_and_is_skipped)
{
	struct slot s;
	struct seen seen;
	char path[128];

	unit_dir_make(dir, sizeof dir, "check_slot");
	file_put(PREFIX "0.metrics", MAGIC + 1, 9, 0);
	open_ok(&s, dir); /* takes slot 0, zeroed */
	ck_assert_uint_eq(slot_get(&((struct counts *)s.mem)->n), 0);
	file_put(PREFIX "1.metrics", MAGIC + 1, 9, 0);
	file_put("other.0.metrics", MAGIC, 9, 0);
	snprintf(path, sizeof path, "%s/" PREFIX "2.metrics.tmp", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	seen = scrape(&s);
	ck_assert_int_eq(seen.slots, 1);
	ck_assert_uint_eq(seen.n, 0);
	slot_close(&s);
	unit_dir_remove(dir);
}
END_TEST

START_TEST(test_unusable_directory_says_why)
{
	struct slot s;
	char *cause = NULL, path[128];

	unit_dir_make(dir, sizeof dir, "check_slot");
	file_put("file", MAGIC, 0, 0);
	snprintf(path, sizeof path, "%s/file/metrics", dir);
	ck_assert_int_eq(
	    slot_open(&s, path, PREFIX, sizeof(struct counts), MAGIC, &cause),
	    -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, "Not a directory"));
	ck_assert_ptr_null(s.mem);
	free(cause);
	unit_dir_remove(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("slot");
	TCase *tc = tcase_create("slot");

	tcase_add_test(tc, test_memory_is_itself_alone);
	tcase_add_test(tc, test_a_dead_slot_after_a_held_one_is_taken);
	tcase_add_test(tc, test_each_process_takes_its_own);
	tcase_add_test(tc, test_another_layout_starts_afresh_and_is_skipped);
	tcase_add_test(tc, test_unusable_directory_says_why);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
