/*
 * metrics.c: what the pool has answered, for GET /metrics. A scrape
 * reaches one process of the pool, whichever the web server connects to,
 * so each process counts in a file of its own in fcgi.metrics_dir, mapped
 * into memory, and the process that answers adds up every file there: the
 * figures are the pool's, whoever answers. (Prometheus' Python client does
 * the same in its multiprocess mode.) Without a directory a process counts
 * in memory and reports itself alone.
 *
 * The files are slots, paddock-fcgi.<n>.metrics. A process holds an
 * exclusive flock(2) on its slot while it lives and takes the first slot
 * nobody holds, going on with the counts a dead process left there: the
 * pool's counters never go back while the directory lasts, and there are
 * never more files than processes ever alive at once. A scrape tests each
 * lock with a shared one, which only a live owner refuses (two scrapes at
 * once do not see each other), and adds the gauges of live slots only.
 *
 * Only the loop's thread writes its slot. Readers map the files too, so
 * each counter they read is one aligned 64-bit load, never torn; they may
 * see a slot a few requests behind.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "paddock.h"

#define METRICS_PREFIX      "paddock-fcgi."
#define METRICS_SUFFIX      ".metrics"
#define METRICS_SLOTS_MAX   4096   /* processes alive at once, scrapes aside */
#define METRICS_NFS_MAGIC   0x6969 /* flock() is a per-process lock there */
#define METRICS_TMPFS_MAGIC 0x01021994
#define METRICS_RAMFS_MAGIC 0x858458f6

_Static_assert(sizeof(struct metrics) % 8 == 0,
    "every counter of struct metrics is an aligned 64-bit word");

/* Upper bounds of the order duration buckets, in microseconds. */
const uint64_t metrics_bounds_us[METRICS_BUCKETS - 1] = {1000, 2500, 5000,
    10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000};

static struct metrics *metrics_self; /* this process's, mapped */
static int metrics_fd = -1;          /* its slot, locked; -1: in memory */

static void
metrics_add(uint64_t *p, uint64_t v)
{
	/* One writer: a plain add, published whole to readers. */
	__atomic_store_n(
	    p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

static void
metrics_set(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static uint64_t
metrics_get(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static int
metrics_fail(char **cause, const char *what, const char *path, int err)
{
	if (asprintf(cause, "metrics: %s %s: %s", what, path, strerror(err)) ==
	    -1)
		*cause = NULL;
	return -1;
}

/*
 * Lock the first slot of dir nobody holds and give it the right size: its
 * descriptor, or -1 with *cause (allocated, or NULL) saying why.
 */
static int
metrics_take_slot(const char *dir, char **cause)
{
	char path[4096];
	struct stat st;
	int fd, n, err = 0;

	for (n = 0; n < METRICS_SLOTS_MAX; n++) {
		if (snprintf(path, sizeof path,
		        "%s/" METRICS_PREFIX "%d" METRICS_SUFFIX, dir,
		        n) >= (int)sizeof path)
			return metrics_fail(
			    cause, "directory", dir, ENAMETOOLONG);
		fd =
		    open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd == -1)
			return metrics_fail(cause, "file", path, errno);
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		err = errno;
		close(fd);
		if (err != EWOULDBLOCK) /* no flock() here: say so, once */
			return metrics_fail(cause, "lock", path, err);
	}
	if (n == METRICS_SLOTS_MAX)
		return metrics_fail(cause, "directory", dir, EBUSY);
	/*
	 * A dead process's counts go on; anything else starts afresh, with
	 * its blocks allocated now (a full tmpfs says ENOSPC here, not
	 * SIGBUS later).
	 */
	if (fstat(fd, &st) == -1)
		err = errno;
	else if (!S_ISREG(st.st_mode))
		err = EINVAL;
	else if (st.st_size != (off_t)sizeof(struct metrics)) {
		if (ftruncate(fd, 0) == -1)
			err = errno;
		else
			err = posix_fallocate(fd, 0, sizeof(struct metrics));
	}
	if (err != 0) {
		close(fd);
		return metrics_fail(cause, "file", path, err);
	}
	return fd;
}

/* Map a slot, or anonymous memory when fd is -1. */
static struct metrics *
metrics_map(int fd)
{
	void *p;

	if (fd != -1)
		p = mmap(NULL, sizeof(struct metrics), PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0);
	else
		p = mmap(NULL, sizeof(struct metrics), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * Count in a slot of dir (made if missing), or in memory when dir is NULL
 * or empty. Once per process, before the loop runs. -1 with *cause
 * (allocated, or NULL) when the directory will not do; the caller may
 * then count in memory.
 */
int
metrics_open(const char *dir, char **cause)
{
	struct statfs sf;
	int fd = -1, err;

	*cause = NULL;
	if (dir != NULL && dir[0] != '\0') {
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			return metrics_fail(cause, "directory", dir, errno);
		if (statfs(dir, &sf) == -1)
			return metrics_fail(cause, "directory", dir, errno);
		if (sf.f_type == METRICS_NFS_MAGIC)
			return metrics_fail(
			    cause, "directory", dir, EOPNOTSUPP);
		/* Said, not refused: it works, at a cost. */
		if (sf.f_type != METRICS_TMPFS_MAGIC &&
		    sf.f_type != METRICS_RAMFS_MAGIC)
			log_warnx(
			    "metrics: %s is not on tmpfs: each write-back "
			    "of a slot to the disk makes the next count "
			    "wait for it; /run or /dev/shm would not",
			    dir);
		if ((fd = metrics_take_slot(dir, cause)) == -1)
			return -1;
	}
	if ((metrics_self = metrics_map(fd)) == NULL) {
		err = errno;
		if (fd != -1)
			close(fd);
		return metrics_fail(cause, "mmap", dir != NULL ? dir : "", err);
	}
	metrics_fd = fd;
	if (metrics_self->magic != METRICS_MAGIC ||
	    metrics_self->size != sizeof *metrics_self) {
		memset(metrics_self, 0, sizeof *metrics_self);
		metrics_self->magic = METRICS_MAGIC;
		metrics_self->size = sizeof *metrics_self;
	}
	metrics_gauges(0, 0, 0); /* a dead owner's are not ours */
	return 0;
}

/* The slot stays, with its counts; its lock goes, which frees it. */
void
metrics_close(void)
{
	if (metrics_self != NULL) {
		metrics_gauges(0, 0, 0);
		munmap(metrics_self, sizeof *metrics_self);
	}
	if (metrics_fd != -1)
		close(metrics_fd);
	metrics_self = NULL;
	metrics_fd = -1;
}

/*
 * Count an answered request: its status, and for an order (order != 0)
 * that too and, if stored (200), its duration.
 */
void
metrics_request(int status, int order, int64_t dur_us)
{
	struct metrics *m = metrics_self;
	int b;

	if (m == NULL)
		return;
	if (status < METRICS_CODE_MIN || status > METRICS_CODE_MAX)
		status = 500; /* none is answered; counted, not dropped */
	metrics_add(&m->requests[status - METRICS_CODE_MIN], 1);
	if (!order)
		return;
	metrics_add(&m->orders[status - METRICS_CODE_MIN], 1);
	if (status != 200)
		return;
	if (dur_us < 0)
		dur_us = 0;
	for (b = 0; b < METRICS_BUCKETS - 1; b++) {
		if ((uint64_t)dur_us <= metrics_bounds_us[b])
			break;
	}
	metrics_add(&m->order_bucket[b], 1);
	metrics_add(&m->order_sum_us, (uint64_t)dur_us);
}

/* This process's gauges, as of now. */
void
metrics_gauges(uint64_t in_flight, uint64_t conns, int nats_connected)
{
	if (metrics_self == NULL)
		return;
	metrics_set(&metrics_self->in_flight, in_flight);
	metrics_set(&metrics_self->conns, conns);
	metrics_set(&metrics_self->nats_connected, nats_connected ? 1 : 0);
}

/* Add m's counters (and, for a live process, its gauges) into sum. */
static void
metrics_add_up(struct metrics_sum *sum, const struct metrics *m, int live)
{
	int i;

	for (i = 0; i < METRICS_CODES; i++) {
		sum->m.requests[i] += metrics_get(&m->requests[i]);
		sum->m.orders[i] += metrics_get(&m->orders[i]);
	}
	for (i = 0; i < METRICS_BUCKETS; i++)
		sum->m.order_bucket[i] += metrics_get(&m->order_bucket[i]);
	sum->m.order_sum_us += metrics_get(&m->order_sum_us);
	if (!live)
		return;
	sum->processes++;
	sum->m.in_flight += metrics_get(&m->in_flight);
	sum->m.conns += metrics_get(&m->conns);
	sum->m.nats_connected += metrics_get(&m->nats_connected);
}

static int
metrics_is_slot(const char *name)
{
	size_t n = strlen(name), p = sizeof METRICS_PREFIX - 1,
	       s = sizeof METRICS_SUFFIX - 1;

	return n > p + s && strncmp(name, METRICS_PREFIX, p) == 0 &&
	       strcmp(name + n - s, METRICS_SUFFIX) == 0;
}

/* One slot of the directory into sum; anything not a slot is skipped. */
static void
metrics_sum_slot(int dfd, const char *name, struct metrics_sum *sum)
{
	const struct metrics *m;
	struct stat st;
	int fd, live;

	/* Not a FIFO's open, not a link's target: a slot is a plain file. */
	fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size != (off_t)sizeof *m) {
		close(fd);
		return;
	}
	/* Only a live owner's exclusive lock refuses a shared one. */
	live = flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	m = mmap(NULL, sizeof *m, PROT_READ, MAP_SHARED, fd, 0);
	/*
	 * The mapping holds the open file, and with it a lock taken: let go
	 * now, so that a process starting meanwhile can take the slot.
	 */
	if (!live)
		flock(fd, LOCK_UN);
	close(fd);
	if (m == MAP_FAILED)
		return;
	if (m->magic == METRICS_MAGIC && m->size == sizeof *m)
		metrics_add_up(sum, m, live);
	munmap((void *)m, sizeof *m);
}

/*
 * The pool's figures: every slot of dir added up, or this process's own
 * when it counts in memory. -1 when the directory cannot be read.
 */
int
metrics_sum(const char *dir, struct metrics_sum *sum)
{
	struct dirent *de;
	DIR *d;

	memset(sum, 0, sizeof *sum);
	if (metrics_self != NULL && metrics_fd == -1) {
		metrics_add_up(sum, metrics_self, 1);
		return 0;
	}
	if (dir == NULL || dir[0] == '\0' || (d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (metrics_is_slot(de->d_name))
			metrics_sum_slot(dirfd(d), de->d_name, sum);
	}
	closedir(d);
	return 0;
}
