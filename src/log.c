/*
 * log.c: the programs' logging, one line per event to stderr, in logfmt
 * (key=value) so that journald, lighttpd's error log or a shipper can
 * parse it. The library code in src/ reports through statuses and never
 * logs; only programs call these.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "boxbox.h"

static const char *log_procname = "boxbox";
static enum log_level log_max = LOG_LVL_INFO;

static const char *const log_level_names[] = {
    [LOG_LVL_ERROR] = "error",
    [LOG_LVL_WARN] = "warn",
    [LOG_LVL_INFO] = "info",
    [LOG_LVL_DEBUG] = "debug",
};

void
log_init(const char *procname, enum log_level max)
{
	log_procname = procname;
	log_max = max;
}

/*
 * Send the log (and anything else written to stderr) to path, appending.
 * Needed under spawn-fcgi, which points its children's stderr at
 * /dev/null. Each line is one write(2) to an O_APPEND file, so the lines
 * of several processes never mix. Returns 0, or -1 with errno set.
 */
int
log_open_file(const char *path)
{
	int fd;

	if ((fd = open(
	         path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) == -1)
		return -1;
	if (fd != STDERR_FILENO) {
		if (dup2(fd, STDERR_FILENO) == -1) {
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/* Parse "error", "warn", "info" or "debug"; 0 on success, -1 otherwise. */
int
log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof log_level_names / sizeof log_level_names[0];
	     i++) {
		if (strcasecmp(s, log_level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/*
 * Copy s into buf as a logfmt-safe value: quotes, backslashes and control
 * bytes are escaped, so untrusted input cannot forge a log line. Returns
 * the length written (buf is always terminated).
 */
size_t
log_escape(char *buf, size_t len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	unsigned char c;

	if (len == 0)
		return 0;
	for (; (c = (unsigned char)*s) != '\0' && o + 5 < len; s++) {
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 0xf];
		} else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return o;
}

/*
 * A thread may buffer its lines (log_buffered()) and write them with one
 * write(2) per log_flush(): paddock-fcgi's loop logs a line per request,
 * and flushes once per pass. Other threads write as before.
 */
#define LOG_BUF_SIZE 16384

static _Thread_local char *log_buf;
static _Thread_local size_t log_buf_len;

static void
log_write(const char *line, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(STDERR_FILENO, line, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		line += n;
		len -= (size_t)n;
	}
}

/* Write this thread's buffered lines, if any. */
void
log_flush(void)
{
	if (log_buf != NULL && log_buf_len > 0)
		log_write(log_buf, log_buf_len);
	log_buf_len = 0;
}

/* Buffer this thread's lines (on) until log_flush(), or stop (off). */
void
log_buffered(int on)
{
	log_flush();
	if (!on) {
		free(log_buf);
		log_buf = NULL;
	} else if (log_buf == NULL)
		log_buf = malloc(LOG_BUF_SIZE);
}

/*
 * Write one finished line with a single write(2), so lines never mix, or
 * buffer it whole for this thread's next log_flush().
 */
void
log_line(const char *line, size_t len)
{
	if (log_buf != NULL && len <= LOG_BUF_SIZE) {
		if (LOG_BUF_SIZE - log_buf_len < len)
			log_flush();
		memcpy(log_buf + log_buf_len, line, len);
		log_buf_len += len;
		return;
	}
	log_flush();
	log_write(line, len);
}

static void
log_vemit(enum log_level lvl, int errnum, const char *fmt, va_list ap)
{
	char msg[1024], esc[1400], line[1600];
	struct timespec ts;
	struct tm tm;
	int n;

	if (lvl > log_max)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (errnum != 0) {
		n = (int)strlen(msg);
		snprintf(
		    msg + n, sizeof msg - (size_t)n, ": %s", strerror(errnum));
	}
	log_escape(esc, sizeof esc, msg);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof line,
	    "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s proc=%s "
	    "pid=%ld msg=\"%s\"\n",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, log_level_names[lvl], log_procname,
	    (long)getpid(), esc);
	if (n > 0)
		log_line(line,
		    (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_WARN, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_WARN, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERROR, saved, fmt, ap);
	va_end(ap);
	log_flush();
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	log_flush();
	exit(1);
}
