/* selector: label and field selectors as the API's query parameters spell them.
 *
 * Label selectors: comma-separated requirements
 *   key=value  key==value  key!=value  key in (a,b)  key notin (a,b)  key  !key
 * (keys may carry a DNS prefix "app.kubernetes.io/name"; values may be empty).
 * Field selectors: key=value, key==value, key!=value, with '\' escaping ',', '=' and '!'
 * in values. An empty selector matches everything. */
#ifndef CK_API_SELECTOR_H
#define CK_API_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/error.h"

enum selector_op {
	SELECTOR_EQ,
	SELECTOR_NEQ,
	SELECTOR_IN,
	SELECTOR_NOTIN,
	SELECTOR_EXISTS,
	SELECTOR_NOT_EXISTS,
};

typedef struct selector_req {
	char *key;
	enum selector_op op;
	char **values; /* for EQ/NEQ one value; IN/NOTIN the set */
	size_t n_values;
} selector_req;

typedef struct selector {
	selector_req *reqs;
	size_t n_reqs;
} selector;

/* Parses a label selector. Returns 0 and a new selector in *out (free with
 * selector_free), or -EINVAL with a one-line message in *err. s may be NULL or "". */
int selector_parse_labels(const char *s, selector **out, ck_err **err);

/* Parses a field selector (only =, ==, !=). Same contract as selector_parse_labels. */
int selector_parse_fields(const char *s, selector **out, ck_err **err);

/* Builds a selector from a metav1.LabelSelector object ({matchLabels, matchExpressions}).
 * NULL or {} gives the empty selector (matches everything). Returns -EINVAL with *err on
 * an unknown operator or malformed entry. */
int selector_from_label_selector(const cJSON *ls, selector **out, ck_err **err);

/* Frees s; accepts NULL; returns NULL. */
selector *selector_free(selector *s);
void selector_freep(selector **s);
#define _cleanup_selector_ _cleanup_(selector_freep)

/* True when a label set (a JSON object of strings, may be NULL) satisfies every
 * requirement. */
bool selector_match_labels(const selector *s, const cJSON *labels);

/* Generic matching: get(key, data) returns the value of key (borrowed) or NULL when
 * absent. */
bool selector_match(const selector *s, const char *(*get)(const char *key, void *data), void *data);

/* The selector in its canonical text form ("app=x,tier in (a,b)"), malloc'd; "" when
 * empty. */
char *selector_format(const selector *s);

#endif
