/*
 * slot.c: a process's counters in a file, which the other processes of a
 * program can map and add up. A scrape of /metrics reaches one process of
 * several (paddock-fcgi's pool behind the web server, sse-relay processes
 * sharing a port), so each counts in a file of its own in a directory,
 * mapped into memory, and the process that answers adds up every file
 * there: the figures are the program's, whoever answers. (Prometheus'
 * Python client does the same in its multiprocess mode.) Without a
 * directory a process counts in memory and reports itself alone.
 *
 * The files are slots, <prefix><n>.metrics. A process holds an exclusive
 * flock(2) on its slot while it lives and takes the first slot nobody
 * holds, going on with the counts a dead process left there: the counters
 * never go back while the directory lasts, and there are never more files
 * than processes ever alive at once. A scrape tests each lock with a
 * shared one, which only a live owner refuses (two scrapes at once do not
 * see each other), so that the caller adds the gauges of live slots only.
 *
 * Every slot begins with a struct slot_head, whose magic names the layout
 * and whose size checks it: a slot of another layout is started afresh
 * by its taker and skipped by a scrape. Only its owner writes a slot, one
 * aligned 64-bit word at a time (slot_add, slot_set), so readers never see
 * a torn counter; they may see a slot a few counts behind.
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

#include "boxbox.h"

#define SLOT_SUFFIX      ".metrics"
#define SLOT_MAX         4096   /* processes alive at once, scrapes aside */
#define SLOT_NFS_MAGIC   0x6969 /* flock() is a per-process lock there */
#define SLOT_TMPFS_MAGIC 0x01021994
#define SLOT_RAMFS_MAGIC 0x858458f6

static int
slot_fail(char **cause, const char *what, const char *path, int err)
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
slot_take(const char *dir, const char *prefix, size_t size, char **cause)
{
	char path[4096];
	struct stat st;
	int fd, n, err = 0;

	for (n = 0; n < SLOT_MAX; n++) {
		if (snprintf(path, sizeof path, "%s/%s%d" SLOT_SUFFIX, dir,
		        prefix, n) >= (int)sizeof path)
			return slot_fail(cause, "directory", dir, ENAMETOOLONG);
		fd =
		    open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd == -1)
			return slot_fail(cause, "file", path, errno);
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		err = errno;
		close(fd);
		if (err != EWOULDBLOCK) /* no flock() here: say so, once */
			return slot_fail(cause, "lock", path, err);
	}
	if (n == SLOT_MAX)
		return slot_fail(cause, "directory", dir, EBUSY);
	err = 0; /* the slots passed over were busy: not this one's error */
	/*
	 * A dead process's counts go on; anything else starts afresh, with
	 * its blocks allocated now (a full tmpfs says ENOSPC here, not
	 * SIGBUS later).
	 */
	if (fstat(fd, &st) == -1)
		err = errno;
	else if (!S_ISREG(st.st_mode))
		err = EINVAL;
	else if (st.st_size != (off_t)size) {
		if (ftruncate(fd, 0) == -1)
			err = errno;
		else
			err = posix_fallocate(fd, 0, (off_t)size);
	}
	if (err != 0) {
		close(fd);
		return slot_fail(cause, "file", path, err);
	}
	return fd;
}

/*
 * Check that dir will do for slots, and make it if missing. A disk will,
 * at a cost the caller may log: *on_disk says so.
 */
static int
slot_dir(const char *dir, int *on_disk, char **cause)
{
	struct statfs sf;

	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		return slot_fail(cause, "directory", dir, errno);
	if (statfs(dir, &sf) == -1)
		return slot_fail(cause, "directory", dir, errno);
	if (sf.f_type == SLOT_NFS_MAGIC)
		return slot_fail(cause, "directory", dir, EOPNOTSUPP);
	*on_disk =
	    sf.f_type != SLOT_TMPFS_MAGIC && sf.f_type != SLOT_RAMFS_MAGIC;
	return 0;
}

/*
 * Count in a slot of dir (made if missing), named prefix<n>.metrics, or in
 * memory when dir is NULL or empty: size bytes, a struct slot_head first,
 * zeroed unless a dead process of the same layout (magic, size) left its
 * counts there. Once per process. -1 with *cause (allocated, or NULL)
 * when the directory will not do; the caller may then count in memory.
 * s->on_disk: the directory is not on tmpfs, so each write-back of the
 * slot's page makes the next count wait for it (worth a warning).
 */
int
slot_open(struct slot *s, const char *dir, const char *prefix, size_t size,
    uint32_t magic, char **cause)
{
	struct slot_head *h;
	void *p;
	int fd = -1, err;

	*cause = NULL;
	s->mem = NULL;
	s->size = size;
	s->fd = -1;
	s->on_disk = 0;
	if (dir != NULL && dir[0] != '\0') {
		if (slot_dir(dir, &s->on_disk, cause) == -1 ||
		    (fd = slot_take(dir, prefix, size, cause)) == -1)
			return -1;
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	} else
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		err = errno;
		if (fd != -1)
			close(fd);
		return slot_fail(cause, "mmap", dir != NULL ? dir : "", err);
	}
	h = p;
	if (h->magic != magic || h->size != size) {
		memset(p, 0, size);
		h->magic = magic;
		h->size = (uint32_t)size;
	}
	s->mem = p;
	s->fd = fd;
	return 0;
}

/* The slot stays, with its counts; its lock goes, which frees it. */
void
slot_close(struct slot *s)
{
	if (s->mem != NULL)
		munmap(s->mem, s->size);
	if (s->fd != -1)
		close(s->fd);
	s->mem = NULL;
	s->fd = -1;
}

static int
slot_is_ours(const char *name, const char *prefix)
{
	size_t n = strlen(name), p = strlen(prefix), x = sizeof SLOT_SUFFIX - 1;

	return n > p + x && strncmp(name, prefix, p) == 0 &&
	       strcmp(name + n - x, SLOT_SUFFIX) == 0;
}

/* One slot of the directory to cb; anything not a slot is skipped. */
static void
slot_visit(int dfd, const char *name, size_t size, uint32_t magic, slot_cb cb,
    void *arg)
{
	const struct slot_head *h;
	struct stat st;
	void *p;
	int fd, live;

	/* Not a FIFO's open, not a link's target: a slot is a plain file. */
	fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size != (off_t)size) {
		close(fd);
		return;
	}
	/* Only a live owner's exclusive lock refuses a shared one. */
	live = flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	/*
	 * The mapping holds the open file, and with it a lock taken: let go
	 * now, so that a process starting meanwhile can take the slot.
	 */
	if (!live)
		flock(fd, LOCK_UN);
	close(fd);
	if (p == MAP_FAILED)
		return;
	h = p;
	if (h->magic == magic && h->size == size)
		cb(p, live, arg);
	munmap(p, size);
}

/*
 * Every slot of s's directory of that prefix and layout to cb, with
 * whether its owner lives; only s itself when it counts in memory. s
 * must have been through slot_open(), even a failed one, which set its
 * size. -1 when the directory cannot be read.
 */
int
slot_each(const struct slot *s, const char *dir, const char *prefix,
    uint32_t magic, slot_cb cb, void *arg)
{
	struct dirent *de;
	DIR *d;

	if (s->mem != NULL && s->fd == -1) {
		cb(s->mem, 1, arg);
		return 0;
	}
	if (dir == NULL || dir[0] == '\0' || (d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (slot_is_ours(de->d_name, prefix))
			slot_visit(
			    dirfd(d), de->d_name, s->size, magic, cb, arg);
	}
	closedir(d);
	return 0;
}
