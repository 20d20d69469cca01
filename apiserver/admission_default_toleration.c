/* admission_default_toleration: upstream's DefaultTolerationSeconds: a pod tolerates the
 * node.kubernetes.io/not-ready and /unreachable NoExecute taints for 300 s unless it says
 * otherwise, so that a node's short trouble does not evict it at once. */
#include "admission.h"

#include <string.h>

#include "base/json.h"

#define DEFAULT_TOLERATION_SECONDS 300

static void add_toleration(cJSON *spec, const char *key)
{
	cJSON *tols = cJSON_GetObjectItemCaseSensitive(spec, "tolerations");
	if (!cJSON_IsArray(tols)) {
		cJSON_DeleteItemFromObjectCaseSensitive(spec, "tolerations");
		tols = cJSON_AddArrayToObject(spec, "tolerations");
	}
	const cJSON *t;
	cJSON_ArrayForEach(t, tols)
	{
		const char *effect = kind_str(t, "effect");
		if (!strcmp(kind_str(t, "key"), key) && (!*effect || !strcmp(effect, "NoExecute")))
			return;
	}
	cJSON *n = cJSON_CreateObject();
	cJSON_AddStringToObject(n, "key", key);
	cJSON_AddStringToObject(n, "operator", "Exists");
	cJSON_AddStringToObject(n, "effect", "NoExecute");
	cJSON_AddNumberToObject(n, "tolerationSeconds", DEFAULT_TOLERATION_SECONDS);
	cJSON_AddItemToArray(tols, n);
}

static void default_toleration_admit(admission_run *q)
{
	cJSON *spec = kind_child_object(admission_obj(q), "spec");
	add_toleration(spec, "node.kubernetes.io/not-ready");
	add_toleration(spec, "node.kubernetes.io/unreachable");
	admission_next(q, NULL);
}

const admission_plugin admission_default_toleration = {
    .name = "DefaultTolerationSeconds",
    .ops = ADMIT_CREATE | ADMIT_UPDATE,
    .group = "",
    .kind = "Pod",
    .admit = default_toleration_admit,
};
