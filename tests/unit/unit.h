/*
 * unit.h: what every tests/unit/check_*.c does in main(): run its suite
 * and exit 1 if a check failed. CK_FORK in the environment chooses
 * whether each test forks (boxbox's valgrind pass sets CK_FORK=no).
 */
#ifndef UNIT_H
#define UNIT_H

#include <check.h>

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

#endif /* UNIT_H */
