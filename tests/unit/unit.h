/*
 * unit.h: what every tests/unit/check_*.c does in main(): run its suite
 * and exit 1 if a check failed. CK_FORK in the environment chooses
 * whether each test forks (boxbox's valgrind pass sets CK_FORK=no).
 */
#ifndef UNIT_H
#define UNIT_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline int
unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}

/*
 * A fresh directory named after the suite, on tmpfs where there is one
 * (as metrics slots would have it); unit_dir_remove() removes it.
 */
static inline void
unit_dir_make(char *dir, size_t len, const char *name)
{
	snprintf(dir, len, "%s/%s.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", name);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static inline void
unit_dir_remove(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

#endif /* UNIT_H */
