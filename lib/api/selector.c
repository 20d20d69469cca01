/* selector: parsing, matching and printing label and field selectors. */
#include "api/selector.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/strbuf.h"

static void req_clear(selector_req *r)
{
	free(r->key);
	for (size_t i = 0; i < r->n_values; i++)
		free(r->values[i]);
	free(r->values);
}

selector *selector_free(selector *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_reqs; i++)
		req_clear(&s->reqs[i]);
	free(s->reqs);
	free(s);
	return NULL;
}

void selector_freep(selector **s)
{
	selector_free(*s);
}

static selector_req *add_req(selector *s, char *key, enum selector_op op)
{
	s->reqs = ck_realloc(s->reqs, (s->n_reqs + 1) * sizeof(*s->reqs));
	selector_req *r = &s->reqs[s->n_reqs++];
	*r = (selector_req){.key = key, .op = op};
	return r;
}

static void add_value(selector_req *r, char *v)
{
	r->values = ck_realloc(r->values, (r->n_values + 1) * sizeof(*r->values));
	r->values[r->n_values++] = v;
}

/* ---- label selectors ---- */

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '/';
}

static bool value_ok(const char *v)
{
	size_t n = strlen(v);
	if (n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!key_char(v[i]) || v[i] == '/')
			return false;
	return true;
}

typedef struct lexer {
	const char *s;
	size_t pos;
	ck_err **err;
} lexer;

static void skip_space(lexer *lx)
{
	while (lx->s[lx->pos] == ' ' || lx->s[lx->pos] == '\t')
		lx->pos++;
}

/* Reads an identifier (key or value); returns NULL (not an error) when none starts here. */
static char *read_ident(lexer *lx)
{
	skip_space(lx);
	size_t start = lx->pos;
	while (key_char(lx->s[lx->pos]))
		lx->pos++;
	if (lx->pos == start)
		return NULL;
	return ck_strndup(lx->s + start, lx->pos - start);
}

static bool accept(lexer *lx, const char *tok)
{
	skip_space(lx);
	size_t n = strlen(tok);
	if (strncmp(lx->s + lx->pos, tok, n))
		return false;
	lx->pos += n;
	return true;
}

static int fail(lexer *lx, const char *what)
{
	return ck_err_set(lx->err, -EINVAL,
	                  "unable to parse requirement: %s at position %zu in \"%s\"", what,
	                  lx->pos, lx->s);
}

static int parse_set(lexer *lx, selector_req *r)
{
	if (!accept(lx, "("))
		return fail(lx, "expected '('");
	skip_space(lx);
	if (accept(lx, ")"))
		return fail(lx, "for 'in', 'notin' operators, values set can't be empty");
	for (;;) {
		char *v = read_ident(lx);
		if (!v)
			v = ck_strdup("");
		add_value(r, v);
		if (!value_ok(v))
			return fail(lx, "invalid label value");
		if (accept(lx, ")"))
			return 0;
		if (!accept(lx, ","))
			return fail(lx, "expected ',' or ')'");
	}
}

static int parse_label_req(lexer *lx, selector *s)
{
	if (accept(lx, "!")) {
		char *key = read_ident(lx);
		if (!key)
			return fail(lx, "expected a key after '!'");
		add_req(s, key, SELECTOR_NOT_EXISTS);
		return 0;
	}
	char *key = read_ident(lx);
	if (!key)
		return fail(lx, "expected a key");
	skip_space(lx);
	size_t before = lx->pos;
	char *word = read_ident(lx);
	if (word && (!strcmp(word, "in") || !strcmp(word, "notin"))) {
		selector_req *r =
		    add_req(s, key, !strcmp(word, "in") ? SELECTOR_IN : SELECTOR_NOTIN);
		free(word);
		return parse_set(lx, r);
	}
	free(word);
	lx->pos = before;
	enum selector_op op;
	if (accept(lx, "==") || accept(lx, "="))
		op = SELECTOR_EQ;
	else if (accept(lx, "!="))
		op = SELECTOR_NEQ;
	else {
		add_req(s, key, SELECTOR_EXISTS);
		return 0;
	}
	selector_req *r = add_req(s, key, op);
	char *v = read_ident(lx);
	add_value(r, v ? v : ck_strdup(""));
	if (!value_ok(r->values[0]))
		return fail(lx, "invalid label value");
	return 0;
}

int selector_parse_labels(const char *str, selector **out, ck_err **err)
{
	selector *s = ck_calloc(1, sizeof(*s));
	lexer lx = {.s = str ? str : "", .err = err};
	skip_space(&lx);
	if (lx.s[lx.pos]) {
		for (;;) {
			int r = parse_label_req(&lx, s);
			if (r < 0) {
				selector_free(s);
				return r;
			}
			if (accept(&lx, ","))
				continue;
			skip_space(&lx);
			if (!lx.s[lx.pos])
				break;
			int rc = fail(&lx, "unexpected character");
			selector_free(s);
			return rc;
		}
	}
	for (size_t i = 0; i < s->n_reqs; i++) {
		const char *k = s->reqs[i].key;
		const char *slash = strchr(k, '/');
		if (strlen(slash ? slash + 1 : k) > 63 || (slash && strchr(slash + 1, '/'))) {
			int rc = ck_err_set(err, -EINVAL, "invalid label key \"%s\"", k);
			selector_free(s);
			return rc;
		}
	}
	*out = s;
	return 0;
}

/* ---- field selectors ---- */

/* Copies term[0..n) unescaping "\\," "\\=" "\\!" and "\\\\"; NULL on a bad escape. */
static char *unescape(const char *term, size_t n)
{
	char *out = ck_malloc(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (term[i] == '\\') {
			if (i + 1 >= n || !strchr(",=!\\", term[i + 1])) {
				free(out);
				return NULL;
			}
			i++;
		}
		out[o++] = term[i];
	}
	out[o] = '\0';
	return out;
}

/* Index of the first unescaped occurrence of c in s[0..n), or n. */
static size_t find_unescaped(const char *s, size_t n, char c)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\') {
			i++;
			continue;
		}
		if (s[i] == c)
			return i;
	}
	return n;
}

static int parse_field_term(const char *t, size_t n, selector *s, ck_err **err)
{
	size_t eq = find_unescaped(t, n, '=');
	if (eq == n)
		return ck_err_set(err, -EINVAL, "invalid selector: '%.*s'; can't understand '%.*s'",
		                  (int)n, t, (int)n, t);
	size_t key_end = eq, val_start = eq + 1;
	enum selector_op op = SELECTOR_EQ;
	if (eq > 0 && t[eq - 1] == '!' && (eq < 2 || t[eq - 2] != '\\')) {
		op = SELECTOR_NEQ;
		key_end = eq - 1;
	} else if (val_start < n && t[val_start] == '=') {
		val_start++;
	}
	while (key_end > 0 && t[key_end - 1] == ' ')
		key_end--;
	size_t key_start = 0;
	while (key_start < key_end && t[key_start] == ' ')
		key_start++;
	if (key_start == key_end)
		return ck_err_set(err, -EINVAL, "invalid selector: '%.*s': empty field name",
		                  (int)n, t);
	char *key = unescape(t + key_start, key_end - key_start);
	char *val = unescape(t + val_start, n - val_start);
	if (!key || !val) {
		free(key);
		free(val);
		return ck_err_set(err, -EINVAL, "invalid selector: '%.*s': invalid escape sequence",
		                  (int)n, t);
	}
	add_value(add_req(s, key, op), val);
	return 0;
}

int selector_parse_fields(const char *str, selector **out, ck_err **err)
{
	selector *s = ck_calloc(1, sizeof(*s));
	const char *p = str ? str : "";
	size_t len = strlen(p);
	while (len) {
		size_t n = find_unescaped(p, len, ',');
		int r = n ? parse_field_term(p, n, s, err) : 0;
		if (r < 0) {
			selector_free(s);
			return r;
		}
		if (n == len)
			break;
		p += n + 1;
		len -= n + 1;
	}
	*out = s;
	return 0;
}

/* ---- metav1.LabelSelector ---- */

int selector_from_label_selector(const cJSON *ls, selector **out, ck_err **err)
{
	selector *s = ck_calloc(1, sizeof(*s));
	const cJSON *it;
	cJSON_ArrayForEach(it, ck_json_get(ls, "matchLabels"))
	{
		if (!cJSON_IsString(it)) {
			selector_free(s);
			return ck_err_set(err, -EINVAL,
			                  "matchLabels: value of \"%s\" is not a string",
			                  it->string ? it->string : "");
		}
		add_value(add_req(s, ck_strdup(it->string), SELECTOR_EQ),
		          ck_strdup(it->valuestring));
	}
	static const struct {
		const char *name;
		enum selector_op op;
	} ops[] = {{"In", SELECTOR_IN},
	           {"NotIn", SELECTOR_NOTIN},
	           {"Exists", SELECTOR_EXISTS},
	           {"DoesNotExist", SELECTOR_NOT_EXISTS}};
	cJSON_ArrayForEach(it, ck_json_get(ls, "matchExpressions"))
	{
		const char *key = ck_json_get_str(it, "key", "");
		const char *op = ck_json_get_str(it, "operator", "");
		size_t i = 0;
		while (i < CK_ARRAY_SIZE(ops) && strcmp(ops[i].name, op))
			i++;
		if (!*key || i == CK_ARRAY_SIZE(ops)) {
			selector_free(s);
			return ck_err_set(err, -EINVAL,
			                  "\"%s\" is not a valid label selector operator", op);
		}
		selector_req *r = add_req(s, ck_strdup(key), ops[i].op);
		const cJSON *v;
		cJSON_ArrayForEach(v, ck_json_get(it, "values"))
		{
			if (cJSON_IsString(v))
				add_value(r, ck_strdup(v->valuestring));
		}
	}
	*out = s;
	return 0;
}

/* ---- matching ---- */

static bool in_values(const selector_req *r, const char *v)
{
	for (size_t i = 0; i < r->n_values; i++)
		if (!strcmp(r->values[i], v))
			return true;
	return false;
}

bool selector_match(const selector *s, const char *(*get)(const char *key, void *data), void *data)
{
	for (size_t i = 0; s && i < s->n_reqs; i++) {
		const selector_req *r = &s->reqs[i];
		const char *v = get(r->key, data);
		bool ok;
		switch (r->op) {
		case SELECTOR_EQ:
		case SELECTOR_IN:
			ok = v && in_values(r, v);
			break;
		case SELECTOR_NEQ:
		case SELECTOR_NOTIN:
			ok = !v || !in_values(r, v);
			break;
		case SELECTOR_EXISTS:
			ok = v != NULL;
			break;
		default:
			ok = v == NULL;
			break;
		}
		if (!ok)
			return false;
	}
	return true;
}

static const char *label_get(const char *key, void *data)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive((const cJSON *)data, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool selector_match_labels(const selector *s, const cJSON *labels)
{
	return selector_match(s, label_get, (void *)labels);
}

/* ---- printing ---- */

static int cmp_req(const void *a, const void *b)
{
	return strcmp(((const selector_req *)a)->key, ((const selector_req *)b)->key);
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *selector_format(const selector *s)
{
	_cleanup_buf_ ck_buf b = {0};
	if (!s)
		return ck_buf_steal(&b);
	/* Canonical order: requirements by key, set values sorted. */
	selector_req *reqs = ck_malloc((s->n_reqs ? s->n_reqs : 1) * sizeof(*reqs));
	if (s->n_reqs)
		memcpy(reqs, s->reqs, s->n_reqs * sizeof(*reqs));
	qsort(reqs, s->n_reqs, sizeof(*reqs), cmp_req);
	for (size_t i = 0; i < s->n_reqs; i++) {
		const selector_req *r = &reqs[i];
		if (i)
			ck_buf_puts(&b, ",");
		if (r->op == SELECTOR_NOT_EXISTS)
			ck_buf_puts(&b, "!");
		ck_buf_puts(&b, r->key);
		switch (r->op) {
		case SELECTOR_EQ:
			ck_buf_puts(&b, "=");
			break;
		case SELECTOR_NEQ:
			ck_buf_puts(&b, "!=");
			break;
		case SELECTOR_IN:
			ck_buf_puts(&b, " in (");
			break;
		case SELECTOR_NOTIN:
			ck_buf_puts(&b, " notin (");
			break;
		default:
			continue;
		}
		char **vals = ck_malloc((r->n_values ? r->n_values : 1) * sizeof(*vals));
		if (r->n_values)
			memcpy(vals, r->values, r->n_values * sizeof(*vals));
		qsort(vals, r->n_values, sizeof(*vals), cmp_strp);
		for (size_t j = 0; j < r->n_values; j++) {
			if (j)
				ck_buf_puts(&b, ",");
			ck_buf_puts(&b, vals[j]);
		}
		free(vals);
		if (r->op == SELECTOR_IN || r->op == SELECTOR_NOTIN)
			ck_buf_puts(&b, ")");
	}
	free(reqs);
	return ck_buf_steal(&b);
}
