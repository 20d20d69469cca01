/* TaintToleration: NoSchedule and NoExecute taints must be tolerated. */
#include <string.h>

#include "base/json.h"
#include "scheduler.h"

static bool toleration_matches(const cJSON *t, const char *key, const char *value,
                               const char *effect)
{
	const char *tkey = ck_json_get_str(t, "key", "");
	const char *top = ck_json_get_str(t, "operator", "Equal");
	const char *teffect = ck_json_get_str(t, "effect", "");
	if (*teffect && strcmp(teffect, effect))
		return false;
	/* An empty key with Exists matches every taint. */
	if (*tkey && strcmp(tkey, key))
		return false;
	if (!strcmp(top, "Exists"))
		return true;
	if (!*top || !strcmp(top, "Equal"))
		return !strcmp(ck_json_get_str(t, "value", ""), value);
	return false;
}

bool sched_tolerates_key(const cJSON *pod, const char *key, const char *effect)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, ck_json_get(pod, "spec.tolerations"))
	{
		if (toleration_matches(t, key, "", effect))
			return true;
	}
	return false;
}

bool sched_tolerates(const cJSON *pod, const cJSON *taint)
{
	const char *key = ck_json_get_str(taint, "key", "");
	const char *value = ck_json_get_str(taint, "value", "");
	const char *effect = ck_json_get_str(taint, "effect", "");
	const cJSON *t;
	cJSON_ArrayForEach(t, ck_json_get(pod, "spec.tolerations"))
	{
		if (toleration_matches(t, key, value, effect))
			return true;
	}
	return false;
}

char *filter_taints(const cJSON *pod, const sched_node_info *ni)
{
	const cJSON *taint;
	cJSON_ArrayForEach(taint, ck_json_get(ni->node, "spec.taints"))
	{
		const char *effect = ck_json_get_str(taint, "effect", "");
		if (strcmp(effect, "NoSchedule") && strcmp(effect, "NoExecute"))
			continue;
		if (!sched_tolerates(pod, taint))
			return ck_asprintf("node(s) had untolerated taint {%s: %s}",
			                   ck_json_get_str(taint, "key", ""),
			                   ck_json_get_str(taint, "value", ""));
	}
	return NULL;
}
