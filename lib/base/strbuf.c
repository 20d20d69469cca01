#include "base/strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ck_buf_reserve(ck_buf *b, size_t n)
{
	if (b->len + n + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + n + 1) {
		if (cap > SIZE_MAX / 2)
			abort();
		cap *= 2;
	}
	b->s = ck_realloc(b->s, cap);
	b->cap = cap;
	b->s[b->len] = '\0';
}

void ck_buf_append(ck_buf *b, const void *p, size_t n)
{
	ck_buf_reserve(b, n);
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void ck_buf_puts(ck_buf *b, const char *s)
{
	if (s)
		ck_buf_append(b, s, strlen(s));
}

void ck_buf_putc(ck_buf *b, char c)
{
	ck_buf_append(b, &c, 1);
}

void ck_buf_vprintf(ck_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		abort();
	ck_buf_reserve(b, (size_t)n);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void ck_buf_printf(ck_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ck_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

/* The escape JSON and YAML write for c, or NULL for the numeric one (or none). */
static const char *short_escape(unsigned char c, enum ck_quote style)
{
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	case '\b':
		return style == CK_QUOTE_JSON ? "\\b" : NULL;
	case '\f':
		return style == CK_QUOTE_JSON ? "\\f" : NULL;
	default:
		return NULL;
	}
}

void ck_buf_put_quoted(ck_buf *b, const char *s, enum ck_quote style)
{
	bool json = style == CK_QUOTE_JSON;
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	const unsigned char *run = p;
	ck_buf_putc(b, '"');
	for (; *p; p++) {
		if (*p >= 0x20 && *p != '"' && *p != '\\' && (json || *p != 0x7f))
			continue;
		ck_buf_append(b, run, (size_t)(p - run));
		run = p + 1;
		const char *e = short_escape(*p, style);
		if (e)
			ck_buf_puts(b, e);
		else if (json)
			ck_buf_printf(b, "\\u%04x", *p);
		else
			ck_buf_printf(b, "\\x%02x", *p);
	}
	ck_buf_append(b, run, (size_t)(p - run));
	ck_buf_putc(b, '"');
}

void ck_buf_clear(ck_buf *b)
{
	ck_buf_truncate(b, 0);
}

void ck_buf_truncate(ck_buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->s[len] = '\0';
}

char *ck_buf_steal(ck_buf *b)
{
	char *s = b->s ? b->s : ck_strdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

const char *ck_buf_str(const ck_buf *b)
{
	return b->s ? b->s : "";
}

void ck_buf_free(ck_buf *b)
{
	if (!b)
		return;
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

size_t ck_strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

void ck_strv_push(char ***v, char *s)
{
	size_t n = ck_strv_len(*v);
	*v = ck_realloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = s;
	(*v)[n + 1] = NULL;
}

void ck_strv_add(char ***v, const char *s)
{
	ck_strv_push(v, ck_strdup(s));
}

char **ck_strv_dup(char *const *v)
{
	if (!v)
		return NULL;
	size_t n = ck_strv_len(v);
	char **r = ck_malloc((n + 1) * sizeof(char *));
	for (size_t i = 0; i < n; i++)
		r[i] = ck_strdup(v[i]);
	r[n] = NULL;
	return r;
}

char **ck_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
	return NULL;
}

void ck_strv_freep(char ***v)
{
	*v = ck_strv_free(*v);
}

char **ck_strv_split(const char *s, const char *sep)
{
	char **v = ck_calloc(1, sizeof(char *));
	if (!s || !*s)
		return v;
	for (;;) {
		size_t n = strcspn(s, sep);
		ck_strv_push(&v, ck_strndup(s, n));
		if (!s[n])
			break;
		s += n + 1;
	}
	return v;
}

char *ck_strv_join(char *const *v, const char *sep)
{
	ck_buf b = {0};
	for (size_t i = 0; v && v[i]; i++) {
		if (i)
			ck_buf_puts(&b, sep);
		ck_buf_puts(&b, v[i]);
	}
	return ck_buf_steal(&b);
}

bool ck_strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

bool ck_str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool ck_str_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

bool ck_streq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}
