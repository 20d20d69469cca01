/* log: klog-style lines on stderr.
 *   I1122 17:33:27.627123    1234 file.c:42] message
 * Severity letter I/W/E/F, month+day, wall time with microseconds, thread id
 * right-aligned in 7 columns, source file base name and line. `-v=N` sets the
 * verbosity that CK_V(n, ...) lines need. Thread-safe; one write(2) per line. */
#ifndef CK_BASE_LOG_H
#define CK_BASE_LOG_H

#include <stdlib.h>
#include <time.h>

enum ck_log_level {
	CK_LOG_INFO = 'I',
	CK_LOG_WARNING = 'W',
	CK_LOG_ERROR = 'E',
	CK_LOG_FATAL = 'F'
};

/* Current verbosity (klog -v). Defaults to 0. */
void ck_log_set_verbosity(int v);
int ck_log_verbosity(void);

/* Redirects output to fd (default 2). For tests. */
void ck_log_set_fd(int fd);

/* Formats and writes one line with a single write(2) (under a lock, so lines of several
 * threads never mix). Keeps errno. CK_LOG_FATAL aborts after writing. */
void ck_log_write(enum ck_log_level level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Formats one line into a malloc'd string, in local time (as klog). The line always
 * ends in exactly one added '\n' unless msg already ends in one. Exposed for tests. */
char *ck_log_format(enum ck_log_level level, const char *file, int line, long tid,
                    const struct timespec *now, const char *msg);

#define CK_INFO(...)  ck_log_write(CK_LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define CK_WARN(...)  ck_log_write(CK_LOG_WARNING, __FILE__, __LINE__, __VA_ARGS__)
#define CK_ERROR(...) ck_log_write(CK_LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
/* Logs and aborts the process: for main() and impossible states only. A statement. */
#define CK_FATAL(...)                                                                              \
	do {                                                                                       \
		ck_log_write(CK_LOG_FATAL, __FILE__, __LINE__, __VA_ARGS__);                       \
		abort();                                                                           \
	} while (0)
/* Verbose info, printed only when the verbosity is at least n. */
#define CK_V(n, ...)                                                                               \
	do {                                                                                       \
		if (ck_log_verbosity() >= (n))                                                     \
			ck_log_write(CK_LOG_INFO, __FILE__, __LINE__, __VA_ARGS__);                \
	} while (0)

#endif
