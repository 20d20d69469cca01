#include "base/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/strbuf.h"

#define JSON_MAX_DEPTH 256

/* Every cJSON allocation goes through ck_malloc, as every other allocation of ckube does:
 * running out of memory aborts in one place instead of leaving a NULL inside a tree that
 * the caller never checks. Every program that uses JSON links this file. */
__attribute__((constructor)) static void json_init_hooks(void)
{
	cJSON_InitHooks(&(cJSON_Hooks){.malloc_fn = ck_malloc, .free_fn = free});
}

void ck_json_deletep(cJSON **j)
{
	if (*j)
		cJSON_Delete(*j);
	*j = NULL;
}

static bool json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of a JSON number at p (RFC 8259 grammar), or 0 when the run of number characters
 * there is not one. cJSON alone would accept "01", "+1", ".5" and "1.". */
static size_t json_number_len(const char *p, size_t len)
{
	size_t run = 0;
	while (run < len && (is_digit(p[run]) || strchr("+-.eE", p[run])))
		run++;
	size_t i = 0;
	if (i < run && p[i] == '-')
		i++;
	if (i < run && p[i] == '0')
		i++;
	else if (i < run && is_digit(p[i]))
		while (i < run && is_digit(p[i]))
			i++;
	else
		return 0;
	if (i < run && p[i] == '.') {
		size_t start = ++i;
		while (i < run && is_digit(p[i]))
			i++;
		if (i == start)
			return 0;
	}
	if (i < run && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < run && (p[i] == '+' || p[i] == '-'))
			i++;
		size_t start = i;
		while (i < run && is_digit(p[i]))
			i++;
		if (i == start)
			return 0;
	}
	return i == run ? run : 0;
}

/* What cJSON does not check: nesting depth, number syntax, raw control characters in
 * strings. Returns NULL when fine, else the reason with *off at the offending byte. */
static const char *json_prescan(const char *buf, size_t len, size_t *off)
{
	int depth = 0;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		*off = i;
		if (in_str) {
			if ((unsigned char)c < 0x20)
				return "control character in string";
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > JSON_MAX_DEPTH)
				return "nesting deeper than 256";
		} else if (c == ']' || c == '}') {
			depth--;
		} else if (is_digit(c) || c == '-' || c == '+' || c == '.') {
			size_t n = json_number_len(buf + i, len - i);
			if (n == 0)
				return "malformed number";
			i += n - 1;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			while (i + 1 < len && ((buf[i + 1] >= 'a' && buf[i + 1] <= 'z') ||
			                       (buf[i + 1] >= 'A' && buf[i + 1] <= 'Z')))
				i++;
		}
	}
	return NULL;
}

typedef struct key_ref {
	cJSON *item;
	size_t pos;
} key_ref;

static int key_ref_cmp(const void *a, const void *b)
{
	const key_ref *x = a, *y = b;
	int c =
	    strcmp(x->item->string ? x->item->string : "", y->item->string ? y->item->string : "");
	if (c)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Drops all but the last of members with the same key, as Go's encoding/json keeps the
 * last value: every later comparison and lookup then sees one value per key. */
static void json_dedupe(cJSON *obj)
{
	size_t n = 0;
	for (cJSON *c = obj->child; c; c = c->next)
		n++;
	if (n < 2)
		return;
	if (n <= 16) { /* the common case: no allocation */
		for (cJSON *c = obj->child, *next; c; c = next) {
			next = c->next;
			for (cJSON *d = c->next; d; d = d->next) {
				if (ck_streq(c->string, d->string)) {
					cJSON_Delete(cJSON_DetachItemViaPointer(obj, c));
					break;
				}
			}
		}
		return;
	}
	_cleanup_free_ key_ref *refs = ck_malloc(n * sizeof(*refs));
	size_t i = 0;
	for (cJSON *c = obj->child; c; c = c->next, i++)
		refs[i] = (key_ref){c, i};
	qsort(refs, n, sizeof(*refs), key_ref_cmp);
	for (i = 0; i + 1 < n; i++) {
		if (strcmp(refs[i].item->string ? refs[i].item->string : "",
		           refs[i + 1].item->string ? refs[i + 1].item->string : "") == 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(obj, refs[i].item));
	}
}

/* Rejects numbers that overflowed to infinity (Go rejects them too) and dedupes keys. */
static int json_normalize(cJSON *j)
{
	if (cJSON_IsNumber(j) && !isfinite(j->valuedouble))
		return -EINVAL;
	if (cJSON_IsObject(j))
		json_dedupe(j);
	for (cJSON *c = j->child; c; c = c->next)
		if (json_normalize(c) < 0)
			return -EINVAL;
	return 0;
}

cJSON *ck_json_parse(const char *buf, size_t len, ck_err **err)
{
	if (!buf || len == 0) {
		ck_err_set(err, -EINVAL, "invalid JSON: empty input");
		return NULL;
	}
	size_t bad = 0;
	const char *why = json_prescan(buf, len, &bad);
	if (why) {
		ck_err_set(err, -EINVAL, "invalid JSON at byte %zu: %s", bad, why);
		return NULL;
	}
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	if (!j) {
		size_t off = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : 0;
		ck_err_set(err, -EINVAL, "invalid JSON at byte %zu", off);
		return NULL;
	}
	size_t off = end ? (size_t)(end - buf) : len;
	while (off < len && json_space(buf[off]))
		off++;
	if (off < len) {
		cJSON_Delete(j);
		ck_err_set(err, -EINVAL, "invalid JSON at byte %zu: data after the value", off);
		return NULL;
	}
	if (json_normalize(j) < 0) {
		cJSON_Delete(j);
		ck_err_set(err, -EINVAL, "invalid JSON: number out of range");
		return NULL;
	}
	return j;
}

/* ---- printing ---- */

static void print_number(ck_buf *b, double d)
{
	if (!isfinite(d)) {
		ck_buf_puts(b, "null");
		return;
	}
	if (d == trunc(d) && fabs(d) < 1e21) {
		/* integral: plain digits as Go writes them, never an exponent */
		ck_buf_printf(b, "%.0f", d);
		return;
	}
	char tmp[64];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	ck_buf_puts(b, tmp);
}

static void print_indent(ck_buf *b, int indent, int level)
{
	if (indent < 0)
		return;
	ck_buf_putc(b, '\n');
	for (int i = 0; i < indent * level; i++)
		ck_buf_putc(b, ' ');
}

static void print_value(ck_buf *b, const cJSON *j, int indent, int level)
{
	if (!j) {
		ck_buf_puts(b, "null");
		return;
	}
	switch (j->type & 0xFF) {
	case cJSON_False:
		ck_buf_puts(b, "false");
		break;
	case cJSON_True:
		ck_buf_puts(b, "true");
		break;
	case cJSON_Number:
		print_number(b, j->valuedouble);
		break;
	case cJSON_String:
		ck_buf_put_quoted(b, j->valuestring, CK_QUOTE_JSON);
		break;
	case cJSON_Raw:
		ck_buf_puts(b, j->valuestring ? j->valuestring : "null");
		break;
	case cJSON_Array:
	case cJSON_Object: {
		bool obj = (j->type & 0xFF) == cJSON_Object;
		ck_buf_putc(b, obj ? '{' : '[');
		if (!j->child) {
			ck_buf_putc(b, obj ? '}' : ']');
			break;
		}
		for (const cJSON *c = j->child; c; c = c->next) {
			print_indent(b, indent, level + 1);
			if (obj) {
				ck_buf_put_quoted(b, c->string, CK_QUOTE_JSON);
				ck_buf_puts(b, indent >= 0 ? ": " : ":");
			}
			print_value(b, c, indent, level + 1);
			if (c->next)
				ck_buf_putc(b, ',');
		}
		print_indent(b, indent, level);
		ck_buf_putc(b, obj ? '}' : ']');
		break;
	}
	default: /* cJSON_NULL, cJSON_Invalid */
		ck_buf_puts(b, "null");
	}
}

void ck_json_print_buf(struct ck_buf *b, const cJSON *j)
{
	print_value(b, j, -1, 0);
}

char *ck_json_print(const cJSON *j)
{
	ck_buf b = {0};
	print_value(&b, j, -1, 0);
	return ck_buf_steal(&b);
}

char *ck_json_print_pretty(const cJSON *j)
{
	ck_buf b = {0};
	print_value(&b, j, 4, 0);
	return ck_buf_steal(&b);
}

/* ---- dotted paths ---- */

/* Copies the next segment of *path (unescaping "\x" to "x") into seg; advances *path past
 * the separating dot. Returns false at the end of the path. */
static bool path_next(const char **path, ck_buf *seg)
{
	const char *p = *path;
	if (!p)
		return false;
	ck_buf_clear(seg);
	ck_buf_reserve(seg, 0);
	for (; *p && *p != '.'; p++) {
		if (*p == '\\' && p[1])
			p++;
		ck_buf_putc(seg, *p);
	}
	*path = *p ? p + 1 : NULL;
	return true;
}

/* Parses a canonical non-negative decimal index (no sign, no leading zeros). */
static bool parse_index(const char *s, size_t *out)
{
	if (!*s || (s[0] == '0' && s[1]))
		return false;
	size_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (SIZE_MAX - 9) / 10)
			return false;
		v = v * 10 + (size_t)(*s - '0');
	}
	*out = v;
	return true;
}

static cJSON *child_of(const cJSON *node, const char *seg)
{
	if (cJSON_IsObject(node))
		return cJSON_GetObjectItemCaseSensitive(node, seg);
	size_t idx;
	if (cJSON_IsArray(node) && parse_index(seg, &idx) && idx < (size_t)cJSON_GetArraySize(node))
		return cJSON_GetArrayItem(node, (int)idx);
	return NULL;
}

/* cJSON_ReplaceItemViaPointer does not carry the key over: give v item's key first. */
static void obj_replace(cJSON *parent, cJSON *item, cJSON *v)
{
	char *key = ck_strdup(item->string ? item->string : "");
	if (!(v->type & cJSON_StringIsConst))
		cJSON_free(v->string);
	v->string = key;
	v->type &= ~cJSON_StringIsConst;
	cJSON_ReplaceItemViaPointer(parent, item, v);
}

cJSON *ck_json_get(const cJSON *obj, const char *path)
{
	if (!obj || !path)
		return NULL;
	if (!*path)
		return (cJSON *)obj;
	_cleanup_buf_ ck_buf seg = {0};
	const cJSON *cur = obj;
	while (cur && path_next(&path, &seg))
		cur = child_of(cur, ck_buf_str(&seg));
	return (cJSON *)cur;
}

const char *ck_json_get_str(const cJSON *obj, const char *path, const char *def)
{
	const cJSON *j = ck_json_get(obj, path);
	return cJSON_IsString(j) && j->valuestring ? j->valuestring : def;
}

int64_t ck_json_get_int(const cJSON *obj, const char *path, int64_t def)
{
	const cJSON *j = ck_json_get(obj, path);
	if (!cJSON_IsNumber(j))
		return def;
	double d = j->valuedouble;
	if (!isfinite(d) || d != trunc(d) || d < -9223372036854775808.0 ||
	    d >= 9223372036854775808.0)
		return def;
	return (int64_t)d;
}

bool ck_json_get_bool(const cJSON *obj, const char *path, bool def)
{
	const cJSON *j = ck_json_get(obj, path);
	return cJSON_IsBool(j) ? cJSON_IsTrue(j) : def;
}

int ck_json_set(cJSON *obj, const char *path, cJSON *val)
{
	_cleanup_json_ cJSON *v = val;
	if (!obj || !path || !*path || !val)
		return -EINVAL;
	_cleanup_buf_ ck_buf seg = {0};
	cJSON *cur = obj;
	path_next(&path, &seg);
	for (;;) {
		const char *key = ck_buf_str(&seg);
		bool last = path == NULL;
		if (cJSON_IsArray(cur)) {
			size_t idx;
			if (!parse_index(key, &idx) || idx >= (size_t)cJSON_GetArraySize(cur))
				return -EINVAL;
			if (last) {
				cJSON_ReplaceItemInArray(cur, (int)idx, CK_TAKE_PTR(v));
				return 0;
			}
			cur = cJSON_GetArrayItem(cur, (int)idx);
		} else if (cJSON_IsObject(cur)) {
			cJSON *next = cJSON_GetObjectItemCaseSensitive(cur, key);
			if (last) {
				if (next)
					obj_replace(cur, next, CK_TAKE_PTR(v));
				else
					cJSON_AddItemToObject(cur, key, CK_TAKE_PTR(v));
				return 0;
			}
			if (!next) {
				next = cJSON_CreateObject();
				cJSON_AddItemToObject(cur, key, next);
			}
			cur = next;
		} else {
			return -EINVAL;
		}
		path_next(&path, &seg);
	}
}

int ck_json_set_str(cJSON *obj, const char *path, const char *s)
{
	return ck_json_set(obj, path, s ? cJSON_CreateString(s) : cJSON_CreateNull());
}

int ck_json_set_int(cJSON *obj, const char *path, int64_t v)
{
	return ck_json_set(obj, path, cJSON_CreateNumber((double)v));
}

int ck_json_set_bool(cJSON *obj, const char *path, bool v)
{
	return ck_json_set(obj, path, cJSON_CreateBool(v));
}

void ck_json_remove(cJSON *obj, const char *path)
{
	if (!obj || !path || !*path)
		return;
	_cleanup_buf_ ck_buf seg = {0};
	cJSON *cur = obj;
	while (cur && path_next(&path, &seg)) {
		cJSON *next = child_of(cur, ck_buf_str(&seg));
		if (!path) {
			if (next)
				cJSON_Delete(cJSON_DetachItemViaPointer(cur, next));
			return;
		}
		cur = next;
	}
}

/* ---- dup / equal ---- */

cJSON *ck_json_dup(const cJSON *j)
{
	if (!j)
		return NULL;
	cJSON *d = cJSON_Duplicate(j, true);
	if (!d)
		abort(); /* only on allocation failure */
	return d;
}

bool ck_json_equal(const cJSON *a, const cJSON *b)
{
	if (a == b)
		return true;
	if (!a || !b)
		return false;
	int ta = a->type & 0xFF, tb = b->type & 0xFF;
	if (ta != tb)
		return false;
	switch (ta) {
	case cJSON_False:
	case cJSON_True:
	case cJSON_NULL:
		return true;
	case cJSON_Number:
		return a->valuedouble == b->valuedouble;
	case cJSON_String:
	case cJSON_Raw:
		return ck_streq(a->valuestring, b->valuestring);
	case cJSON_Array: {
		const cJSON *x = a->child, *y = b->child;
		for (; x && y; x = x->next, y = y->next)
			if (!ck_json_equal(x, y))
				return false;
		return !x && !y;
	}
	case cJSON_Object: {
		if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
			return false;
		for (const cJSON *x = a->child; x; x = x->next) {
			const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
			if (!y || !ck_json_equal(x, y))
				return false;
		}
		return true;
	}
	default:
		return false;
	}
}

/* ---- RFC 7386 merge patch ---- */

/* Returns the merged value; consumes target (owned, may be NULL). */
static cJSON *merge(cJSON *target, const cJSON *patch)
{
	if (!cJSON_IsObject(patch)) {
		if (target)
			cJSON_Delete(target);
		return ck_json_dup(patch);
	}
	if (!cJSON_IsObject(target)) {
		if (target)
			cJSON_Delete(target);
		target = cJSON_CreateObject();
	}
	for (const cJSON *p = patch->child; p; p = p->next) {
		const char *key = p->string ? p->string : "";
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(target, key);
		if (cJSON_IsNull(p)) {
			if (cur)
				cJSON_Delete(cJSON_DetachItemViaPointer(target, cur));
			continue;
		}
		if (cur && cJSON_IsObject(cur) && cJSON_IsObject(p)) {
			merge(cur, p); /* in place: returns cur */
			continue;
		}
		cJSON *v = merge(NULL, p);
		if (cur)
			obj_replace(target, cur, v);
		else
			cJSON_AddItemToObject(target, key, v);
	}
	return target;
}

int ck_json_merge_patch(cJSON **target, const cJSON *patch)
{
	*target = merge(*target, patch);
	if (!*target)
		*target = cJSON_CreateNull();
	return 0;
}

/* ---- RFC 6901 pointers and RFC 6902 patch ---- */

/* Splits a JSON pointer into unescaped tokens. Returns 0 or -EINVAL. */
static int pointer_parse(const char *ptr, char ***out)
{
	_cleanup_strv_ char **toks = ck_calloc(1, sizeof(char *));
	if (!ptr)
		return -EINVAL;
	if (!*ptr) {
		*out = CK_TAKE_PTR(toks);
		return 0;
	}
	if (*ptr != '/')
		return -EINVAL;
	const char *p = ptr + 1;
	for (;;) {
		ck_buf t = {0};
		ck_buf_reserve(&t, 0);
		for (; *p && *p != '/'; p++) {
			if (*p == '~') {
				if (p[1] == '0')
					ck_buf_putc(&t, '~');
				else if (p[1] == '1')
					ck_buf_putc(&t, '/');
				else {
					ck_buf_free(&t);
					return -EINVAL;
				}
				p++;
			} else {
				ck_buf_putc(&t, *p);
			}
		}
		ck_strv_push(&toks, ck_buf_steal(&t));
		if (!*p)
			break;
		p++;
	}
	*out = CK_TAKE_PTR(toks);
	return 0;
}

static cJSON *pointer_resolve(cJSON *doc, char **toks, size_t n)
{
	cJSON *cur = doc;
	for (size_t i = 0; cur && i < n; i++)
		cur = child_of(cur, toks[i]);
	return cur;
}

cJSON *ck_json_pointer_get(const cJSON *doc, const char *ptr)
{
	_cleanup_strv_ char **toks = NULL;
	if (!doc || pointer_parse(ptr, &toks) < 0)
		return NULL;
	return pointer_resolve((cJSON *)doc, toks, ck_strv_len(toks));
}

typedef struct patch_ctx {
	size_t index;
	const char *op;
	const char *path;
	ck_err **err;
} patch_ctx;

static int patch_fail(const patch_ctx *c, int code, const char *what)
{
	return ck_err_set(c->err, code, "json patch operation %zu (%s %s): %s", c->index,
	                  c->op ? c->op : "?", c->path ? c->path : "?", what);
}

/* cJSON_InsertItemInArray of some cJSON releases refuses valid positions: insert by hand.
 * idx < size. */
static void array_insert(cJSON *array, size_t idx, cJSON *v)
{
	cJSON *after = array->child;
	for (size_t i = 0; i < idx; i++)
		after = after->next;
	v->next = after;
	if (after == array->child) {
		v->prev = after->prev; /* the first item's prev is the last item */
		array->child = v;
	} else {
		v->prev = after->prev;
		after->prev->next = v;
	}
	after->prev = v;
}

/* Adds val (owned) at the location toks names in *doc. */
static int patch_add(const patch_ctx *c, cJSON **doc, char **toks, cJSON *val)
{
	_cleanup_json_ cJSON *v = val;
	size_t n = ck_strv_len(toks);
	if (n == 0) {
		if (*doc)
			cJSON_Delete(*doc);
		*doc = CK_TAKE_PTR(v);
		return 0;
	}
	cJSON *parent = pointer_resolve(*doc, toks, n - 1);
	const char *last = toks[n - 1];
	if (cJSON_IsObject(parent)) {
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(parent, last);
		if (cur)
			obj_replace(parent, cur, CK_TAKE_PTR(v));
		else
			cJSON_AddItemToObject(parent, last, CK_TAKE_PTR(v));
		return 0;
	}
	if (cJSON_IsArray(parent)) {
		size_t size = (size_t)cJSON_GetArraySize(parent), idx;
		if (strcmp(last, "-") == 0)
			idx = size;
		else if (!parse_index(last, &idx) || idx > size)
			return patch_fail(c, -EINVAL, "array index out of range");
		if (idx == size)
			cJSON_AddItemToArray(parent, CK_TAKE_PTR(v));
		else
			array_insert(parent, idx, CK_TAKE_PTR(v));
		return 0;
	}
	return patch_fail(c, -EINVAL, "parent path not found");
}

/* Detaches the node toks names from *doc into *out. */
static int patch_detach(const patch_ctx *c, cJSON **doc, char **toks, cJSON **out)
{
	size_t n = ck_strv_len(toks);
	if (n == 0)
		return patch_fail(c, -EINVAL, "cannot remove the whole document");
	cJSON *parent = pointer_resolve(*doc, toks, n - 1);
	cJSON *node = parent ? child_of(parent, toks[n - 1]) : NULL;
	if (!node)
		return patch_fail(c, -EINVAL, "path not found");
	*out = cJSON_DetachItemViaPointer(parent, node);
	return 0;
}

static const cJSON *member(const cJSON *op, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(op, name);
}

/* True when pointer a is a proper prefix of b (b lies inside a). */
static bool pointer_inside(char **a, char **b)
{
	size_t na = ck_strv_len(a), nb = ck_strv_len(b);
	if (na >= nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static int patch_one(patch_ctx *c, cJSON **doc, const cJSON *op)
{
	if (!cJSON_IsObject(op))
		return patch_fail(c, -EINVAL, "operation is not an object");
	const cJSON *jop = member(op, "op"), *jpath = member(op, "path");
	if (!cJSON_IsString(jop))
		return patch_fail(c, -EINVAL, "missing \"op\"");
	c->op = jop->valuestring;
	if (!cJSON_IsString(jpath))
		return patch_fail(c, -EINVAL, "missing \"path\"");
	c->path = jpath->valuestring;
	_cleanup_strv_ char **toks = NULL;
	if (pointer_parse(c->path, &toks) < 0)
		return patch_fail(c, -EINVAL, "malformed JSON pointer");
	const cJSON *value = member(op, "value");
	const char *o = c->op;

	if (strcmp(o, "add") == 0 || strcmp(o, "replace") == 0 || strcmp(o, "test") == 0) {
		if (!value)
			return patch_fail(c, -EINVAL, "missing \"value\"");
	}
	if (strcmp(o, "add") == 0)
		return patch_add(c, doc, toks, ck_json_dup(value));
	if (strcmp(o, "remove") == 0) {
		_cleanup_json_ cJSON *old = NULL;
		return patch_detach(c, doc, toks, &old);
	}
	if (strcmp(o, "replace") == 0) {
		cJSON *cur = pointer_resolve(*doc, toks, ck_strv_len(toks));
		if (!cur)
			return patch_fail(c, -EINVAL, "path not found");
		if (cur == *doc) {
			cJSON_Delete(*doc);
			*doc = ck_json_dup(value);
			return 0;
		}
		size_t n = ck_strv_len(toks);
		cJSON *parent = pointer_resolve(*doc, toks, n - 1);
		if (cJSON_IsObject(parent))
			obj_replace(parent, cur, ck_json_dup(value));
		else
			cJSON_ReplaceItemViaPointer(parent, cur, ck_json_dup(value));
		return 0;
	}
	if (strcmp(o, "test") == 0) {
		cJSON *cur = pointer_resolve(*doc, toks, ck_strv_len(toks));
		if (!cur)
			return patch_fail(c, CK_ECONFLICT, "test failed: path not found");
		if (!ck_json_equal(cur, value))
			return patch_fail(c, CK_ECONFLICT, "test failed: value differs");
		return 0;
	}
	if (strcmp(o, "move") == 0 || strcmp(o, "copy") == 0) {
		const cJSON *jfrom = member(op, "from");
		if (!cJSON_IsString(jfrom))
			return patch_fail(c, -EINVAL, "missing \"from\"");
		_cleanup_strv_ char **from = NULL;
		if (pointer_parse(jfrom->valuestring, &from) < 0)
			return patch_fail(c, -EINVAL, "malformed \"from\" pointer");
		cJSON *src = pointer_resolve(*doc, from, ck_strv_len(from));
		if (!src)
			return patch_fail(c, -EINVAL, "\"from\" path not found");
		if (strcmp(o, "copy") == 0)
			return patch_add(c, doc, toks, ck_json_dup(src));
		if (pointer_inside(from, toks))
			return patch_fail(c, -EINVAL, "cannot move a value into itself");
		if (strcmp(jfrom->valuestring, c->path) == 0)
			return 0;
		if (ck_strv_len(from) == 0)
			return patch_fail(c, -EINVAL, "cannot move the whole document");
		cJSON *moved = NULL;
		int r = patch_detach(c, doc, from, &moved);
		if (r < 0)
			return r;
		return patch_add(c, doc, toks, moved);
	}
	return patch_fail(c, -EINVAL, "unknown operation");
}

int ck_json_patch(cJSON **target, const cJSON *patch, ck_err **err)
{
	if (!cJSON_IsArray(patch))
		return ck_err_set(err, -EINVAL, "json patch: not an array of operations");
	_cleanup_json_ cJSON *doc = ck_json_dup(*target);
	patch_ctx c = {.err = err};
	for (const cJSON *op = patch->child; op; op = op->next, c.index++) {
		c.op = c.path = NULL;
		int r = patch_one(&c, &doc, op);
		if (r < 0)
			return r;
	}
	if (*target)
		cJSON_Delete(*target);
	*target = CK_TAKE_PTR(doc);
	return 0;
}

/* ---- RFC 3339 ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

char *ck_time_rfc3339(const struct timespec *t, bool micro)
{
	struct tm tm;
	time_t sec = t->tv_sec;
	if (!gmtime_r(&sec, &tm))
		memset(&tm, 0, sizeof(tm));
	if (micro)
		return ck_asprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		                   (long)(t->tv_nsec / 1000));
	return ck_asprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	                   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

char *ck_time_now_rfc3339(bool micro)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return ck_time_rfc3339(&now, micro);
}

static bool digits(const char **s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*s)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*s += n;
	*out = v;
	return true;
}

static bool expect(const char **s, const char *any)
{
	if (!**s || !strchr(any, **s))
		return false;
	(*s)++;
	return true;
}

int ck_time_parse_rfc3339(const char *s, struct timespec *out)
{
	int Y, M, D, h, m, sec, oh = 0, om = 0;
	if (!s || !digits(&s, 4, &Y) || !expect(&s, "-") || !digits(&s, 2, &M) ||
	    !expect(&s, "-") || !digits(&s, 2, &D) || !expect(&s, "Tt ") || !digits(&s, 2, &h) ||
	    !expect(&s, ":") || !digits(&s, 2, &m) || !expect(&s, ":") || !digits(&s, 2, &sec))
		return -EINVAL;
	long nsec = 0;
	if (*s == '.') {
		s++;
		int n = 0;
		long scale = 100000000;
		for (; *s >= '0' && *s <= '9'; s++, n++) {
			nsec += (*s - '0') * scale;
			scale /= 10;
		}
		if (n == 0)
			return -EINVAL;
	}
	int sign = 0;
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (!digits(&s, 2, &oh) || !expect(&s, ":") || !digits(&s, 2, &om) || oh > 23 ||
		    om > 59)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*s)
		return -EINVAL;
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
	if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] + (M == 2 && leap) || h > 23 || m > 59 ||
	    sec > 59)
		return -EINVAL;
	int64_t t = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + sec;
	t -= sign * (oh * 3600 + om * 60);
	out->tv_sec = (time_t)t;
	out->tv_nsec = nsec;
	return 0;
}
