/* strbuf: a growable string buffer and NULL-terminated string vectors.
 *
 * ck_buf: always NUL-terminated once anything was appended (s may be NULL before);
 * len excludes the NUL. Appends never fail (allocation failure aborts, as ck_malloc).
 *   _cleanup_buf_ ck_buf b = {0};
 *   ck_buf_printf(&b, "%s=%d", k, v);
 *   return ck_buf_steal(&b);
 *
 * strv: char ** terminated by NULL, each string malloc'd, the array malloc'd. */
#ifndef CK_BASE_STRBUF_H
#define CK_BASE_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

typedef struct ck_buf {
	char *s;    /* owned; NULL until the first append */
	size_t len; /* bytes used, excluding the terminating NUL */
	size_t cap; /* bytes allocated */
} ck_buf;

/* Appends n bytes of p (may contain NUL bytes). */
void ck_buf_append(ck_buf *b, const void *p, size_t n);
/* Appends a C string; NULL appends nothing. */
void ck_buf_puts(ck_buf *b, const char *s);
void ck_buf_putc(ck_buf *b, char c);
void ck_buf_printf(ck_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ck_buf_vprintf(ck_buf *b, const char *fmt, va_list ap);
/* Makes sure at least n more bytes (plus the NUL) fit without reallocation. */
void ck_buf_reserve(ck_buf *b, size_t n);
/* How ck_buf_put_quoted writes what a double-quoted string cannot hold as it is. Both
 * write \" \\ \n \r \t and pass every other byte (UTF-8 included) through. */
enum ck_quote {
	CK_QUOTE_JSON, /* also \b \f; other bytes below 0x20 as \u00XX (RFC 8259) */
	CK_QUOTE_YAML, /* other bytes below 0x20, and DEL, as \xXX (YAML double-quoted) */
};
/* Appends s between double quotes, escaped as style says; NULL is written as "". */
void ck_buf_put_quoted(ck_buf *b, const char *s, enum ck_quote style);
/* Drops the content but keeps the allocation. */
void ck_buf_clear(ck_buf *b);
/* Shortens to len bytes (no-op when len >= b->len). */
void ck_buf_truncate(ck_buf *b, size_t len);
/* Returns the string (caller owns it; never NULL: "" when empty) and resets b. */
char *ck_buf_steal(ck_buf *b);
/* The current content as a C string, never NULL ("" when empty); borrowed. */
const char *ck_buf_str(const ck_buf *b);
/* Frees the content and resets b; accepts NULL. */
void ck_buf_free(ck_buf *b);
#define _cleanup_buf_ _cleanup_(ck_buf_free)

/* ---- string vectors ---- */
/* Number of strings; 0 for NULL. */
size_t ck_strv_len(char *const *v);
/* Appends s (takes ownership of s) to *v, which may be NULL. */
void ck_strv_push(char ***v, char *s);
/* As ck_strv_push with a copy of s. */
void ck_strv_add(char ***v, const char *s);
/* Deep copy; NULL for NULL. */
char **ck_strv_dup(char *const *v);
/* Frees every string and the array; accepts NULL; returns NULL. */
char **ck_strv_free(char **v);
void ck_strv_freep(char ***v);
#define _cleanup_strv_ _cleanup_(ck_strv_freep)
/* Splits s at every sep character (e.g. ","); empty fields are kept ("a,,b" has 3).
 * An empty s gives an empty vector (not NULL). */
char **ck_strv_split(const char *s, const char *sep);
/* Joins with sep between strings; "" for an empty or NULL vector. */
char *ck_strv_join(char *const *v, const char *sep);
/* True when v contains a string equal to s. */
bool ck_strv_contains(char *const *v, const char *s);

/* ---- small string predicates ---- */
bool ck_str_has_prefix(const char *s, const char *prefix);
bool ck_str_has_suffix(const char *s, const char *suffix);
/* strcmp that treats NULL as "" (returns true when equal). */
bool ck_streq(const char *a, const char *b);

#endif
