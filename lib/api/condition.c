/* condition: lookups and updates of status.conditions. See condition.h. */
#include "api/condition.h"

#include <string.h>

#include "base/json.h"

const cJSON *condition_find(const cJSON *obj, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, ck_json_get(obj, "status.conditions"))
	{
		if (!strcmp(ck_json_get_str(c, "type", ""), type))
			return c;
	}
	return NULL;
}

const char *condition_status(const cJSON *obj, const char *type, const char *def)
{
	const cJSON *c = condition_find(obj, type);
	return c ? ck_json_get_str(c, "status", def) : def;
}

bool condition_true(const cJSON *obj, const char *type)
{
	return !strcmp(condition_status(obj, type, ""), "True");
}

const char *condition_since(const cJSON *conds, const char *type, const char *status,
                            const char *now)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, conds)
	{
		if (!strcmp(ck_json_get_str(c, "type", ""), type))
			return strcmp(ck_json_get_str(c, "status", ""), status)
			           ? now
			           : ck_json_get_str(c, "lastTransitionTime", now);
	}
	return now;
}

/* Sets key of c to s (NULL: removes it); true when that changed c. */
static bool set_str(cJSON *c, const char *key, const char *s)
{
	const cJSON *old = cJSON_GetObjectItemCaseSensitive(c, key);
	if (!s) {
		if (!old)
			return false;
		cJSON_DeleteItemFromObjectCaseSensitive(c, key);
		return true;
	}
	if (cJSON_IsString(old) && !strcmp(old->valuestring, s))
		return false;
	ck_json_set_str(c, key, s);
	return true;
}

bool condition_set(cJSON *obj, const char *type, const char *status, const char *reason,
                   const char *message, const char *now, bool probe_time)
{
	cJSON *conds = ck_json_get(obj, "status.conditions");
	if (!cJSON_IsArray(conds)) {
		ck_json_set(obj, "status.conditions", cJSON_CreateArray());
		conds = ck_json_get(obj, "status.conditions");
	}
	cJSON *c = (cJSON *)condition_find(obj, type);
	bool changed = false;
	if (!c) {
		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "type", type);
		cJSON_AddItemToArray(conds, c);
		changed = true;
	}
	if (set_str(c, "status", status)) {
		ck_json_set_str(c, "lastTransitionTime", now);
		changed = true;
	}
	if (!cJSON_GetObjectItemCaseSensitive(c, "lastTransitionTime"))
		ck_json_set_str(c, "lastTransitionTime", now);
	if (probe_time && !cJSON_GetObjectItemCaseSensitive(c, "lastProbeTime")) {
		cJSON_AddNullToObject(c, "lastProbeTime");
		changed = true;
	}
	changed |= set_str(c, "reason", reason);
	changed |= set_str(c, "message", message);
	return changed;
}
