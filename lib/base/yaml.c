/* yaml: libyaml events to cJSON and a small block emitter. See yaml.h. */
#include "base/yaml.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "base/strbuf.h"

#define YAML_MAX_DEPTH 256
#define YAML_MAX_NODES 10000

typedef struct anchor {
	char *name;
	cJSON *node; /* a private copy */
} anchor;

typedef struct loader {
	yaml_parser_t parser;
	anchor *anchors;
	size_t n_anchors;
	size_t nodes;
	ck_err **err;
} loader;

static int parse_error(loader *l)
{
	yaml_parser_t *p = &l->parser;
	return ck_err_set(l->err, -EINVAL, "yaml: line %zu column %zu: %s",
	                  p->problem_mark.line + 1, p->problem_mark.column + 1,
	                  p->problem ? p->problem : "malformed");
}

static int next_event(loader *l, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&l->parser, ev))
		return parse_error(l);
	return 0;
}

static int event_error(loader *l, const yaml_event_t *ev, const char *what)
{
	return ck_err_set(l->err, -EINVAL, "yaml: line %zu column %zu: %s", ev->start_mark.line + 1,
	                  ev->start_mark.column + 1, what);
}

static bool all_digits(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

/* YAML 1.2 core schema for a plain scalar. */
static cJSON *plain_scalar(const char *s)
{
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL"))
		return cJSON_CreateNull();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return cJSON_CreateTrue();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return cJSON_CreateFalse();
	const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
	if (all_digits(d, "0123456789")) {
		char *end;
		double v = strtod(s, &end);
		if (!*end)
			return cJSON_CreateNumber(v);
	}
	if ((!strncmp(s, "0x", 2) && all_digits(s + 2, "0123456789abcdefABCDEF")) ||
	    (!strncmp(s, "0o", 2) && all_digits(s + 2, "01234567"))) {
		unsigned long long v = strtoull(s + 2, NULL, s[1] == 'x' ? 16 : 8);
		return cJSON_CreateNumber((double)v);
	}
	/* Floats: digits with a '.' or an exponent; no hex floats, inf or nan. */
	if (strspn(d, "0123456789.eE+-") == strlen(d) && strpbrk(d, "0123456789") &&
	    (*d == '.' || (*d >= '0' && *d <= '9'))) {
		char *end;
		double v = strtod(s, &end);
		if (!*end && isfinite(v))
			return cJSON_CreateNumber(v);
	}
	return cJSON_CreateString(s);
}

static cJSON *scalar(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	if (tag && strcmp(tag, "!")) {
		if (!strcmp(tag, YAML_STR_TAG))
			return cJSON_CreateString(v);
		if (!strcmp(tag, YAML_INT_TAG) || !strcmp(tag, YAML_FLOAT_TAG) ||
		    !strcmp(tag, YAML_BOOL_TAG) || !strcmp(tag, YAML_NULL_TAG)) {
			cJSON *j = plain_scalar(v);
			if (!cJSON_IsString(j))
				return j;
			cJSON_Delete(j);
		}
		return cJSON_CreateString(v);
	}
	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ev->data.scalar.plain_implicit)
		return plain_scalar(v);
	return cJSON_CreateString(v);
}

static size_t count_nodes(const cJSON *j)
{
	size_t n = 1;
	for (const cJSON *c = j->child; c; c = c->next)
		n += count_nodes(c);
	return n;
}

static int remember(loader *l, const char *name, const cJSON *node)
{
	l->anchors = ck_realloc(l->anchors, (l->n_anchors + 1) * sizeof(*l->anchors));
	l->anchors[l->n_anchors].name = ck_strdup(name);
	l->anchors[l->n_anchors].node = cJSON_Duplicate(node, true);
	l->n_anchors++;
	return 0;
}

static int parse_node(loader *l, yaml_event_t *ev, int depth, cJSON **out);

/* Parses the events after a MAPPING_START into obj. */
static int parse_mapping(loader *l, cJSON *obj, int depth)
{
	for (;;) {
		yaml_event_t kev;
		int rc = next_event(l, &kev);
		if (rc < 0)
			return rc;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			return 0;
		}
		_cleanup_free_ char *key = NULL;
		if (kev.type == YAML_SCALAR_EVENT) {
			key = ck_strdup((const char *)kev.data.scalar.value);
		} else if (kev.type == YAML_ALIAS_EVENT) {
			cJSON *k = NULL;
			rc = parse_node(l, &kev, depth + 1, &k);
			if (rc < 0)
				return rc;
			key = cJSON_IsString(k) ? ck_strdup(k->valuestring)
			                        : cJSON_PrintUnformatted(k);
			cJSON_Delete(k);
			kev.type = YAML_NO_EVENT;
		} else {
			rc = event_error(l, &kev, "mapping keys must be scalars");
			yaml_event_delete(&kev);
			return rc;
		}
		yaml_event_delete(&kev);
		yaml_event_t vev;
		rc = next_event(l, &vev);
		if (rc < 0)
			return rc;
		cJSON *val = NULL;
		rc = parse_node(l, &vev, depth + 1, &val);
		if (rc < 0)
			return rc;
		if (!strcmp(key, "<<") && cJSON_IsObject(val)) {
			/* Merge key: entries not already present. */
			cJSON *c;
			while ((c = val->child)) {
				cJSON_DetachItemViaPointer(val, c);
				if (cJSON_GetObjectItemCaseSensitive(obj, c->string))
					cJSON_Delete(c);
				else
					cJSON_AddItemToObject(obj, c->string, c);
			}
			cJSON_Delete(val);
			continue;
		}
		if (cJSON_GetObjectItemCaseSensitive(obj, key))
			cJSON_ReplaceItemInObjectCaseSensitive(obj, key, val);
		else
			cJSON_AddItemToObject(obj, key, val);
	}
}

static int parse_sequence(loader *l, cJSON *arr, int depth)
{
	for (;;) {
		yaml_event_t ev;
		int rc = next_event(l, &ev);
		if (rc < 0)
			return rc;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		cJSON *item = NULL;
		rc = parse_node(l, &ev, depth + 1, &item);
		if (rc < 0)
			return rc;
		cJSON_AddItemToArray(arr, item);
	}
}

/* Consumes ev (deletes it) and the events of its node. */
static int parse_node(loader *l, yaml_event_t *ev, int depth, cJSON **out)
{
	int rc = 0;
	cJSON *node = NULL;
	const char *anchor_name = NULL;
	if (depth > YAML_MAX_DEPTH) {
		rc = event_error(l, ev, "nesting too deep");
		yaml_event_delete(ev);
		return rc;
	}
	if (++l->nodes > YAML_MAX_NODES) {
		rc = event_error(l, ev, "too many nodes");
		yaml_event_delete(ev);
		return rc;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		node = scalar(ev);
		anchor_name = (const char *)ev->data.scalar.anchor;
		break;
	case YAML_SEQUENCE_START_EVENT:
		node = cJSON_CreateArray();
		anchor_name = (const char *)ev->data.sequence_start.anchor;
		rc = parse_sequence(l, node, depth);
		break;
	case YAML_MAPPING_START_EVENT:
		node = cJSON_CreateObject();
		anchor_name = (const char *)ev->data.mapping_start.anchor;
		rc = parse_mapping(l, node, depth);
		break;
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		for (size_t i = l->n_anchors; i-- > 0;) {
			if (!strcmp(l->anchors[i].name, name)) {
				node = cJSON_Duplicate(l->anchors[i].node, true);
				break;
			}
		}
		if (!node) {
			rc = event_error(l, ev, "unknown alias");
			break;
		}
		l->nodes += count_nodes(node);
		if (l->nodes > YAML_MAX_NODES)
			rc = event_error(l, ev, "too many nodes");
		break;
	}
	default:
		rc = event_error(l, ev, "unexpected event");
	}
	if (rc == 0 && anchor_name)
		remember(l, anchor_name, node);
	yaml_event_delete(ev);
	if (rc < 0) {
		cJSON_Delete(node);
		return rc;
	}
	*out = node;
	return 0;
}

static void loader_clear(loader *l)
{
	for (size_t i = 0; i < l->n_anchors; i++) {
		free(l->anchors[i].name);
		cJSON_Delete(l->anchors[i].node);
	}
	free(l->anchors);
	l->anchors = NULL;
	l->n_anchors = 0;
	yaml_parser_delete(&l->parser);
}

/* Parses documents; stops after the first when !all. */
static cJSON *load(const char *buf, size_t len, bool all, ck_err **err)
{
	loader l = {.err = err};
	if (!yaml_parser_initialize(&l.parser))
		abort();
	yaml_parser_set_input_string(&l.parser, (const unsigned char *)buf, len);
	cJSON *docs = cJSON_CreateArray();
	int rc = 0;
	for (;;) {
		yaml_event_t ev;
		rc = next_event(&l, &ev);
		if (rc < 0)
			break;
		yaml_event_type_t t = ev.type;
		if (t == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		if (t == YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			/* Anchors are per document. */
			for (size_t i = 0; i < l.n_anchors; i++) {
				free(l.anchors[i].name);
				cJSON_Delete(l.anchors[i].node);
			}
			l.n_anchors = 0;
			continue;
		}
		cJSON *node = NULL;
		rc = parse_node(&l, &ev, 0, &node);
		if (rc < 0)
			break;
		if (all && cJSON_IsNull(node)) {
			cJSON_Delete(node);
			continue;
		}
		cJSON_AddItemToArray(docs, node);
		if (!all)
			break;
	}
	loader_clear(&l);
	if (rc < 0) {
		cJSON_Delete(docs);
		return NULL;
	}
	return docs;
}

cJSON *ck_yaml_parse(const char *buf, size_t len, ck_err **err)
{
	cJSON *docs = load(buf, len, false, err);
	if (!docs)
		return NULL;
	cJSON *first = cJSON_DetachItemFromArray(docs, 0);
	cJSON_Delete(docs);
	return first ? first : cJSON_CreateNull();
}

cJSON *ck_yaml_parse_all(const char *buf, size_t len, ck_err **err)
{
	return load(buf, len, true, err);
}

/* ---- emitter ---- */

static bool needs_quotes(const char *s)
{
	if (!*s)
		return true;
	cJSON *typed = plain_scalar(s);
	bool is_str = cJSON_IsString(typed);
	cJSON_Delete(typed);
	if (!is_str)
		return true;
	/* YAML 1.1 booleans read by other tools. */
	static const char *const words[] = {"y",  "Y",  "yes", "Yes", "YES", "n",   "N",   "no",
	                                    "No", "NO", "on",  "On",  "ON",  "off", "Off", "OFF"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(words); i++)
		if (!strcmp(s, words[i]))
			return true;
	if (strchr("-?:,[]{}#&*!|>'\"%@` ", s[0]))
		return true;
	/* YAML 1.1 readers take some digit strings as ints (1_000), sexagesimals (12:30) or
	 * timestamps: quote anything starting like a number. */
	if ((s[0] >= '0' && s[0] <= '9') || s[0] == '+' || s[0] == '.')
		return true;
	if (s[strlen(s) - 1] == ' ' || s[strlen(s) - 1] == ':')
		return true;
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return true;
		if ((*p == ':' && p[1] == ' ') || (*p == ' ' && p[1] == '#'))
			return true;
	}
	return false;
}

static void emit_string(ck_buf *b, const char *s)
{
	if (!needs_quotes(s)) {
		ck_buf_puts(b, s);
		return;
	}
	ck_buf_put_quoted(b, s, CK_QUOTE_YAML);
}

static void emit_scalar(ck_buf *b, const cJSON *j)
{
	if (cJSON_IsString(j)) {
		emit_string(b, j->valuestring);
	} else if (cJSON_IsNumber(j) || cJSON_IsBool(j)) {
		char *t = cJSON_PrintUnformatted(j);
		ck_buf_puts(b, t);
		free(t);
	} else if (cJSON_IsObject(j)) {
		ck_buf_puts(b, "{}");
	} else if (cJSON_IsArray(j)) {
		ck_buf_puts(b, "[]");
	} else {
		ck_buf_puts(b, "null");
	}
}

static bool is_block(const cJSON *j)
{
	return (cJSON_IsObject(j) || cJSON_IsArray(j)) && j->child;
}

static void indent(ck_buf *b, int n)
{
	for (int i = 0; i < n; i++)
		ck_buf_putc(b, ' ');
}

/* Emits a block node whose first line continues the current line (after "- ") when
 * inline_first, else starts at column ind on a fresh line. */
static void emit_block(ck_buf *b, const cJSON *j, int ind, bool inline_first)
{
	bool first = true;
	for (const cJSON *c = j->child; c; c = c->next) {
		if (!(first && inline_first))
			indent(b, ind);
		first = false;
		if (cJSON_IsObject(j)) {
			emit_string(b, c->string);
			ck_buf_putc(b, ':');
			if (is_block(c)) {
				ck_buf_putc(b, '\n');
				/* Sequences under a key are written at the key's indentation. */
				emit_block(b, c, cJSON_IsArray(c) ? ind : ind + 2, false);
				continue;
			}
			ck_buf_putc(b, ' ');
			emit_scalar(b, c);
			ck_buf_putc(b, '\n');
		} else {
			ck_buf_puts(b, "- ");
			if (is_block(c)) {
				emit_block(b, c, ind + 2, true);
				continue;
			}
			emit_scalar(b, c);
			ck_buf_putc(b, '\n');
		}
	}
}

char *ck_yaml_print(const cJSON *j)
{
	ck_buf b = {0};
	if (is_block(j)) {
		emit_block(&b, j, 0, false);
	} else {
		emit_scalar(&b, j);
		ck_buf_putc(&b, '\n');
	}
	return ck_buf_steal(&b);
}
