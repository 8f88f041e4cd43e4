/* log.c: JSON-lines logs and the audit log; see log.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <stdint.h>
#include <sys/uio.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

static atomic_int min_level = CG_LOG_INFO;
/* Writers hold the lock shared for their one writev, a reopen holds it
 * alone: closing the old descriptor while a worker is about to write to it
 * would lose the line, or put it into whatever file or socket the number
 * is given to next. */
static pthread_rwlock_t audit_lock = PTHREAD_RWLOCK_INITIALIZER;
static int audit_fd = -1; /* under audit_lock */

void
cg_log_set_level(int level)
{
	atomic_store(&min_level, level);
}

void
cg_log_time(char *buf)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);

	snprintf(buf + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void
log_line(enum cg_level level, const char *msg)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	char when[32];
	struct cg_buf b;
	enum cg_err err;

	cg_log_time(when);
	cg_buf_init(&b, CG_BUF_MAX_LOG_LINE);
	err = cg_buf_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"", when, names[level]);
	if (!err)
		err = cg_buf_add_json_string(&b, msg);
	if (!err)
		err = cg_buf_addstr(&b, "\"}\n");
	/* One write per line, so that lines of several threads never mix. A
	 * line that did not fit is not written at all, never half. */
	if (!err && write(STDERR_FILENO, b.p, b.len) < 0)
		errno = 0;
	cg_buf_free(&b);
}

void
cg_log(enum cg_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if ((int)level < atomic_load(&min_level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_line(level, msg);
}

void
cg_log_limited(struct cg_log_limit *lim, enum cg_level level, const char *fmt, ...)
{
	long long now = (long long)time(NULL);
	unsigned long before;
	char msg[1100];
	size_t n;
	va_list ap;

	if ((int)level < atomic_load(&min_level))
		return;
	if (atomic_exchange(&lim->second, now) != now)
		atomic_store(&lim->lines, 0);
	if (atomic_fetch_add(&lim->lines, 1) >= CG_LOG_LIMIT_PER_SECOND) {
		atomic_fetch_add(&lim->dropped, 1);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, 1024, fmt, ap);
	va_end(ap);
	n = strlen(msg);
	if ((before = atomic_exchange(&lim->dropped, 0)) != 0)
		snprintf(msg + n, sizeof(msg) - n, " (and %lu more like it not logged)", before);
	log_line(level, msg);
}

enum cg_err
cg_audit_open(const char *path)
{
	int fd = -1, old;

	if (path) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0)
			return CG_EIO;
	}
	pthread_rwlock_wrlock(&audit_lock);
	old = audit_fd;
	audit_fd = fd;
	pthread_rwlock_unlock(&audit_lock);
	if (old >= 0)
		close(old);
	return CG_OK;
}

void
cg_audit_write(const char *line, unsigned long len)
{
	struct iovec v[2] = {{(void *)(uintptr_t)line, len}, {(void *)(uintptr_t) "\n", 1}};
	int failed = 0;

	pthread_rwlock_rdlock(&audit_lock);
	/* O_APPEND and one writev: each line lands whole at the end, whatever
	 * the thread. */
	if (audit_fd >= 0 && writev(audit_fd, v, 2) < 0)
		failed = errno;
	pthread_rwlock_unlock(&audit_lock);
	if (failed)
		cg_log(CG_LOG_ERROR, "audit log: write failed: %s", strerror(failed));
}
