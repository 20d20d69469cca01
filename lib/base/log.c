#include "base/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"

static atomic_int log_verbosity;
static atomic_int log_fd = 2;
/* Lines longer than PIPE_BUF are not atomic on pipes: serialise the writes. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void ck_log_set_verbosity(int v)
{
	atomic_store(&log_verbosity, v);
}

int ck_log_verbosity(void)
{
	return atomic_load(&log_verbosity);
}

void ck_log_set_fd(int fd)
{
	atomic_store(&log_fd, fd);
}

static const char *log_basename(const char *file)
{
	const char *slash = file ? strrchr(file, '/') : NULL;
	return slash ? slash + 1 : (file ? file : "???");
}

char *ck_log_format(enum ck_log_level level, const char *file, int line, long tid,
                    const struct timespec *now, const char *msg)
{
	struct tm tm;
	time_t sec = now->tv_sec;
	localtime_r(&sec, &tm);
	ck_buf b = {0};
	ck_buf_printf(&b, "%c%02d%02d %02d:%02d:%02d.%06ld %7ld %s:%d] ", (char)level,
	              tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	              (long)(now->tv_nsec / 1000), tid, log_basename(file), line);
	ck_buf_puts(&b, msg);
	if (b.len == 0 || b.s[b.len - 1] != '\n')
		ck_buf_putc(&b, '\n');
	return ck_buf_steal(&b);
}

static void log_write_all(int fd, const char *s, size_t n)
{
	pthread_mutex_lock(&log_lock);
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break; /* nowhere to report a failing log */
		}
		s += w;
		n -= (size_t)w;
	}
	pthread_mutex_unlock(&log_lock);
}

void ck_log_write(enum ck_log_level level, const char *file, int line, const char *fmt, ...)
{
	int saved_errno = errno;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = ck_vasprintf(fmt, ap);
	va_end(ap);
	_cleanup_free_ char *out =
	    ck_log_format(level, file, line, (long)syscall(SYS_gettid), &now, msg);
	log_write_all(atomic_load(&log_fd), out, strlen(out));
	if (level == CK_LOG_FATAL)
		abort();
	errno = saved_errno;
}
