#include "base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *ck_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

void *ck_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		abort();
	return p;
}

void *ck_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		abort();
	return q;
}

char *ck_strdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		abort();
	return p;
}

char *ck_strdup_or_null(const char *s)
{
	return s ? ck_strdup(s) : NULL;
}

char *ck_strndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		abort();
	return p;
}

char *ck_vasprintf(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	return s;
}

char *ck_asprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = ck_vasprintf(fmt, ap);
	va_end(ap);
	return s;
}

const char *ck_strerror(int code)
{
	switch (code) {
#define CK_X(name, value, text)                                                                    \
	case name:                                                                                 \
		return text;
		CK_ERRORS(CK_X)
#undef CK_X
	default:
		return strerror(code < 0 ? -code : code);
	}
}

static int err_store(ck_err **err, int code, char *msg)
{
	if (err && !*err) {
		ck_err *e = ck_malloc(sizeof(*e));
		e->code = code;
		e->msg = msg;
		*err = e;
	} else {
		free(msg);
	}
	return code;
}

int ck_err_set(ck_err **err, int code, const char *fmt, ...)
{
	if (!err || *err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	char *msg = ck_vasprintf(fmt, ap);
	va_end(ap);
	return err_store(err, code, msg);
}

int ck_err_errno(ck_err **err, int code, const char *fmt, ...)
{
	if (!err || *err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *ctx = ck_vasprintf(fmt, ap);
	va_end(ap);
	return err_store(err, code, ck_asprintf("%s: %s", ctx, ck_strerror(code)));
}

int ck_err_wrap(ck_err **err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	char *ctx = ck_vasprintf(fmt, ap);
	va_end(ap);
	if (!*err)
		return err_store(err, code, ctx);
	char *msg = ck_asprintf("%s: %s", ctx, (*err)->msg);
	free(ctx);
	free((*err)->msg);
	(*err)->msg = msg;
	return (*err)->code;
}

ck_err *ck_err_free(ck_err *e)
{
	if (e) {
		free(e->msg);
		free(e);
	}
	return NULL;
}

void ck_freep(void *p)
{
	free(*(void **)p);
}

void ck_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

void ck_err_freep(ck_err **e)
{
	ck_err_free(*e);
}
