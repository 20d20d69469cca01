/* patch: JSON, merge, strategic merge and apply patches. */
#include "patch.h"

#include <string.h>
#include <strings.h>

#include "api/kind.h"
#include "base/json.h"
#include "base/yaml.h"

enum patch_type patch_type_of(const char *ct)
{
	static const struct {
		const char *type;
		enum patch_type t;
	} types[] = {
	    {"application/json-patch+json", PATCH_JSON},
	    {"application/merge-patch+json", PATCH_MERGE},
	    {"application/strategic-merge-patch+json", PATCH_STRATEGIC},
	    {"application/apply-patch+yaml", PATCH_APPLY},
	};
	if (!ct)
		return PATCH_UNSUPPORTED;
	size_t n = strcspn(ct, "; ");
	for (size_t i = 0; i < CK_ARRAY_SIZE(types); i++)
		if (strlen(types[i].type) == n && !strncasecmp(ct, types[i].type, n))
			return types[i].t;
	return PATCH_UNSUPPORTED;
}

cJSON *patch_parse(enum patch_type t, const char *body, size_t len, ck_err **err)
{
	cJSON *p = t == PATCH_APPLY ? ck_yaml_parse(body, len, err) : ck_json_parse(body, len, err);
	if (!p)
		return NULL;
	if ((t == PATCH_JSON && !cJSON_IsArray(p)) ||
	    ((t == PATCH_STRATEGIC || t == PATCH_APPLY) && !cJSON_IsObject(p))) {
		cJSON_Delete(p);
		ck_err_set(err, -EINVAL, "the patch is not a JSON %s",
		           t == PATCH_JSON ? "array" : "object");
		return NULL;
	}
	return p;
}

static bool is_directive(const char *key)
{
	return !strcmp(key, "$patch") || !strcmp(key, "$retainKeys") ||
	       !strncmp(key, "$setElementOrder/", 17);
}

/* A copy of v without strategic directives. */
static cJSON *strip_directives(const cJSON *v)
{
	cJSON *c = ck_json_dup(v);
	if (cJSON_IsObject(c)) {
		cJSON *it = c->child;
		while (it) {
			cJSON *next = it->next;
			if (it->string && it->string[0] == '$')
				cJSON_Delete(cJSON_DetachItemViaPointer(c, it));
			else if (cJSON_IsObject(it) || cJSON_IsArray(it))
				cJSON_ReplaceItemViaPointer(c, it, strip_directives(it));
			it = next;
		}
	} else if (cJSON_IsArray(c)) {
		cJSON *it = c->child;
		while (it) {
			cJSON *next = it->next;
			cJSON_ReplaceItemViaPointer(c, it, strip_directives(it));
			it = next;
		}
	}
	return c;
}

static cJSON *find_by_key(cJSON *list, const char *key, const cJSON *want)
{
	cJSON *e;
	cJSON_ArrayForEach(e, list)
	{
		if (ck_json_equal(cJSON_GetObjectItemCaseSensitive(e, key), want))
			return e;
	}
	return NULL;
}

static void merge_list(cJSON *target, const cJSON *patch, const char *key)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, patch)
	{
		const cJSON *want = cJSON_GetObjectItemCaseSensitive(e, key);
		cJSON *match = want ? find_by_key(target, key, want) : NULL;
		const char *directive = ck_json_get_str(e, "$patch", "");
		if (!strcmp(directive, "delete")) {
			if (match)
				cJSON_Delete(cJSON_DetachItemViaPointer(target, match));
		} else if (match) {
			cJSON *copy = ck_json_dup(match);
			cJSON_ReplaceItemViaPointer(target, match, patch_strategic(copy, e));
		} else {
			cJSON_AddItemToArray(target, strip_directives(e));
		}
	}
}

static void merge_set(cJSON *target, const cJSON *patch)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, patch)
	{
		bool found = false;
		const cJSON *t;
		cJSON_ArrayForEach(t, target)
		{
			found |= ck_json_equal(t, e);
		}
		if (!found)
			cJSON_AddItemToArray(target, ck_json_dup(e));
	}
}

static void delete_from_list(cJSON *target, const cJSON *values)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, values)
	{
		cJSON *t = target ? target->child : NULL;
		while (t) {
			cJSON *next = t->next;
			if (ck_json_equal(t, v))
				cJSON_Delete(cJSON_DetachItemViaPointer(target, t));
			t = next;
		}
	}
}

cJSON *patch_strategic(cJSON *target, const cJSON *patch)
{
	if (!cJSON_IsObject(patch)) {
		cJSON_Delete(target);
		return ck_json_dup(patch);
	}
	const char *directive = ck_json_get_str(patch, "$patch", "");
	if (!strcmp(directive, "replace") || !cJSON_IsObject(target)) {
		cJSON_Delete(target);
		return strip_directives(patch);
	}
	const cJSON *p;
	cJSON_ArrayForEach(p, patch)
	{
		const char *k = p->string;
		if (is_directive(k))
			continue;
		if (!strncmp(k, "$deleteFromPrimitiveList/", 25)) {
			cJSON *list = cJSON_GetObjectItemCaseSensitive(target, k + 25);
			if (cJSON_IsArray(list))
				delete_from_list(list, p);
			continue;
		}
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(target, k);
		if (cJSON_IsNull(p) ||
		    (cJSON_IsObject(p) && !strcmp(ck_json_get_str(p, "$patch", ""), "delete"))) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, k);
			continue;
		}
		cJSON *val;
		if (cJSON_IsObject(p)) {
			val = patch_strategic(cur ? cJSON_DetachItemViaPointer(target, cur) : NULL,
			                      p);
			cJSON_AddItemToObject(target, k, val);
			continue;
		}
		const char *mk = cJSON_IsArray(p) && cJSON_IsArray(cur)
		                     ? kind_merge_key(k, p->child ? p->child : cur->child)
		                     : NULL;
		if (mk) {
			merge_list(cur, p, mk);
		} else if (cJSON_IsArray(p) && cJSON_IsArray(cur) && !strcmp(k, "finalizers")) {
			merge_set(cur, p);
		} else {
			val = strip_directives(p);
			if (cur)
				cJSON_ReplaceItemViaPointer(target, cur, val);
			else
				cJSON_AddItemToObject(target, k, val);
		}
	}
	return target;
}

int patch_apply(enum patch_type t, const cJSON *patch, cJSON **obj, ck_err **err)
{
	switch (t) {
	case PATCH_JSON:
		return ck_json_patch(obj, patch, err);
	case PATCH_MERGE:
	case PATCH_APPLY:
		return ck_json_merge_patch(obj, patch);
	case PATCH_STRATEGIC:
		*obj = patch_strategic(*obj, patch);
		return 0;
	default:
		return ck_err_set(err, -EINVAL, "unsupported patch type");
	}
}
