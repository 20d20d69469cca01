/* patch: JSON, merge, strategic merge and apply patches. */
#include "patch.h"

#include <string.h>
#include <strings.h>

#include "api/schema.h"
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

/* Merges the elements of patch into target by key; elem is their type (may be NULL). */
static void merge_list(cJSON *target, const cJSON *patch, const char *key, const schema_type *elem)
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
			cJSON_ReplaceItemViaPointer(target, match, patch_strategic(copy, e, elem));
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

/* "$retainKeys": keys of obj that the list does not name go. */
static void retain_keys(cJSON *obj, const cJSON *keys)
{
	cJSON *it = obj->child;
	while (it) {
		cJSON *next = it->next;
		bool keep = false;
		const cJSON *k;
		cJSON_ArrayForEach(k, keys)
		{
			keep |= cJSON_IsString(k) && !strcmp(k->valuestring, it->string);
		}
		if (!keep)
			cJSON_Delete(cJSON_DetachItemViaPointer(obj, it));
		it = next;
	}
}

/* Does a list patch hold a {"$patch": "replace"} element (replace the whole list)? */
static bool list_replaced(const cJSON *patch)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, patch)
	{
		if (!strcmp(ck_json_get_str(e, "$patch", ""), "replace"))
			return true;
	}
	return false;
}

/* A copy of a list patch without its {"$patch": "replace"} elements and directives. */
static cJSON *list_without_directives(const cJSON *patch)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *e;
	cJSON_ArrayForEach(e, patch)
	{
		if (strcmp(ck_json_get_str(e, "$patch", ""), "replace"))
			cJSON_AddItemToArray(out, strip_directives(e));
	}
	return out;
}

/* Patches list cur (field f of the parent, NULL when unknown) with list p, in place when
 * it merges; returns the value to store, or NULL when cur was patched in place. */
static cJSON *patch_list(cJSON *cur, const cJSON *p, const schema_field *f)
{
	if (!f || !f->repeated || !(f->strategy & SCHEMA_PATCH_MERGE) || !cJSON_IsArray(cur))
		return list_without_directives(p);
	if (list_replaced(p))
		return list_without_directives(p);
	if (f->merge_key)
		merge_list(cur, p, f->merge_key, f->type);
	else
		merge_set(cur, p);
	return NULL;
}

cJSON *patch_strategic(cJSON *target, const cJSON *patch, const schema_type *type)
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
		const schema_field *f = schema_field_find(type, k);
		cJSON *val;
		if (cJSON_IsObject(p)) {
			/* Map values and unknown fields merge as plain JSON objects. */
			const schema_type *sub = f && !f->repeated && !f->map ? f->type : NULL;
			val = patch_strategic(cur ? cJSON_DetachItemViaPointer(target, cur) : NULL,
			                      p, sub);
			cJSON_AddItemToObject(target, k, val);
			continue;
		}
		val = cJSON_IsArray(p) ? patch_list(cur, p, f) : ck_json_dup(p);
		if (!val)
			continue;
		if (cur)
			cJSON_ReplaceItemInObjectCaseSensitive(target, k, val);
		else
			cJSON_AddItemToObject(target, k, val);
	}
	const cJSON *keep = cJSON_GetObjectItemCaseSensitive(patch, "$retainKeys");
	if (cJSON_IsArray(keep))
		retain_keys(target, keep);
	return target;
}

int patch_apply(enum patch_type t, const cJSON *patch, const schema_type *type, cJSON **obj,
                ck_err **err)
{
	switch (t) {
	case PATCH_JSON:
		return ck_json_patch(obj, patch, err);
	case PATCH_MERGE:
	case PATCH_APPLY:
		return ck_json_merge_patch(obj, patch);
	case PATCH_STRATEGIC:
		*obj = patch_strategic(*obj, patch, type);
		return 0;
	default:
		return ck_err_set(err, -EINVAL, "unsupported patch type");
	}
}
