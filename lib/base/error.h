/* error: the one error convention of ckube.
 *
 * Every fallible function returns 0 (or a non-negative value) on success and a
 * negative code on failure: a negated errno (-ENOENT, -EINVAL, ...) or one of the
 * CK_E* codes below. It may also take `ck_err **err`: when err is non-NULL and
 * *err is NULL, the function stores an error object holding the same code and a
 * message a user can read. Callers add context with ck_err_wrap() on the way up;
 * only main() turns an error into output and an exit code. Library code never
 * prints an error and never exits.
 */
#ifndef CK_BASE_ERROR_H
#define CK_BASE_ERROR_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>

/* Codes beyond errno's range, for conditions a caller acts on. The X-macro keeps
 * the value, the name and the text in step. */
#define CK_ERRORS(X)                                                                               \
	X(CK_ECONFLICT, -4001, "conflict")                                                         \
	X(CK_ECOMPACTED, -4002, "revision compacted")                                              \
	X(CK_EUNAVAILABLE, -4003, "unavailable")                                                   \
	X(CK_EPROTO, -4004, "protocol error")                                                      \
	X(CK_EGONE, -4005, "gone")                                                                 \
	X(CK_EHTTP, -4006, "HTTP error status")

enum {
#define CK_X(name, value, text) name = value,
	CK_ERRORS(CK_X)
#undef CK_X
};

typedef struct ck_err {
	int code;  /* negative: -errno or CK_E* */
	char *msg; /* owned, never NULL */
} ck_err;

/* Stores a new error (code, printf-style message) in *err when err && !*err.
 * Returns code, so that `return ck_err_set(err, -EINVAL, "bad %s", x);` reads well.
 * code must be negative. */
int ck_err_set(ck_err **err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* As ck_err_set, with the text of strerror(-code) appended: "open x: No such file". */
int ck_err_errno(ck_err **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes context to the message already in *err ("ctx: old message") and returns
 * its code. With no error stored it stores code with the context alone. */
int ck_err_wrap(ck_err **err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Frees e; accepts NULL; returns NULL. */
ck_err *ck_err_free(ck_err *e);

/* Text for a code: strerror for -errno, the CK_ERRORS text otherwise. Static storage. */
const char *ck_strerror(int code);

/* ---- cleanup attributes: every owned resource gets one. ---- */
void ck_freep(void *p);
void ck_closep(int *fd);
void ck_err_freep(ck_err **e);

#define _cleanup_(f)    __attribute__((cleanup(f)))
#define _cleanup_free_  _cleanup_(ck_freep)
#define _cleanup_close_ _cleanup_(ck_closep)
#define _cleanup_err_   _cleanup_(ck_err_freep)

/* Hands ownership over: returns p and leaves the variable NULL (or -1 for fds). */
#define CK_TAKE_PTR(p)                                                                             \
	({                                                                                         \
		__typeof__(p) _p = (p);                                                            \
		(p) = NULL;                                                                        \
		_p;                                                                                \
	})
#define CK_TAKE_FD(fd)                                                                             \
	({                                                                                         \
		int _fd = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_fd;                                                                               \
	})

/* Allocation failure is not an error callers can handle: abort with a message. */
void *ck_malloc(size_t n);
void *ck_calloc(size_t n, size_t size);
void *ck_realloc(void *p, size_t n);
char *ck_strdup(const char *s);
/* A copy of s, or NULL when s is NULL. */
char *ck_strdup_or_null(const char *s);
char *ck_strndup(const char *s, size_t n);
char *ck_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *ck_vasprintf(const char *fmt, va_list ap);

#define CK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
