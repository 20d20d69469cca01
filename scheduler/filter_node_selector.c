/* NodeAffinity: spec.nodeSelector must be a subset of the node's labels, and the
 * requiredDuringSchedulingIgnoredDuringExecution node selector terms (ORed; expressions
 * and fields within a term ANDed) must match. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "scheduler.h"

static bool values_contain(const cJSON *values, const char *v)
{
	const cJSON *x;
	cJSON_ArrayForEach(x, values)
	{
		if (cJSON_IsString(x) && !strcmp(x->valuestring, v))
			return true;
	}
	return false;
}

static bool parse_int(const char *s, long long *out)
{
	char *end;
	if (!s || !*s)
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return !*end && errno == 0;
}

/* One requirement against a value (NULL when the label is absent). */
static bool requirement_matches(const cJSON *req, const char *have)
{
	const char *op = ck_json_get_str(req, "operator", "");
	const cJSON *values = ck_json_get(req, "values");
	if (!strcmp(op, "In"))
		return have && values_contain(values, have);
	if (!strcmp(op, "NotIn"))
		return !have || !values_contain(values, have);
	if (!strcmp(op, "Exists"))
		return have != NULL;
	if (!strcmp(op, "DoesNotExist"))
		return have == NULL;
	if (!strcmp(op, "Gt") || !strcmp(op, "Lt")) {
		long long h, want;
		const cJSON *v0 = cJSON_GetArrayItem(values, 0);
		if (!have || !parse_int(have, &h) || !cJSON_IsString(v0) ||
		    !parse_int(v0->valuestring, &want))
			return false;
		return !strcmp(op, "Gt") ? h > want : h < want;
	}
	return false;
}

static const char *label(const cJSON *node, const char *key)
{
	const cJSON *l =
	    cJSON_GetObjectItemCaseSensitive(ck_json_get(node, "metadata.labels"), key);
	return cJSON_IsString(l) ? l->valuestring : NULL;
}

bool sched_term_matches(const cJSON *term, const cJSON *node)
{
	const cJSON *exprs = ck_json_get(term, "matchExpressions");
	const cJSON *fields = ck_json_get(term, "matchFields");
	/* A term without requirements matches nothing. */
	if (cJSON_GetArraySize(exprs) == 0 && cJSON_GetArraySize(fields) == 0)
		return false;
	const cJSON *r;
	cJSON_ArrayForEach(r, exprs)
	{
		if (!requirement_matches(r, label(node, ck_json_get_str(r, "key", ""))))
			return false;
	}
	cJSON_ArrayForEach(r, fields)
	{
		if (strcmp(ck_json_get_str(r, "key", ""), "metadata.name"))
			return false;
		if (!requirement_matches(r, ck_json_get_str(node, "metadata.name", "")))
			return false;
	}
	return true;
}

char *filter_node_selector(const cJSON *pod, const sched_node_info *ni)
{
	const cJSON *kv;
	cJSON_ArrayForEach(kv, ck_json_get(pod, "spec.nodeSelector"))
	{
		const char *have = label(ni->node, kv->string);
		if (!have || !cJSON_IsString(kv) || strcmp(have, kv->valuestring))
			goto fail;
	}
	const cJSON *req = ck_json_get(
	    pod, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution");
	if (req) {
		bool any = false;
		const cJSON *term;
		cJSON_ArrayForEach(term, ck_json_get(req, "nodeSelectorTerms"))
		{
			if (sched_term_matches(term, ni->node)) {
				any = true;
				break;
			}
		}
		if (!any)
			goto fail;
	}
	return NULL;
fail:
	return ck_strdup("node(s) didn't match Pod's node affinity/selector");
}
