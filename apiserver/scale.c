/* scale: Scale objects for the scale subresource. */
#include "scale.h"

#include <stdlib.h>

#include "api/selector.h"
#include "base/error.h"
#include "base/json.h"

cJSON *scale_from_object(const cJSON *obj)
{
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "kind", "Scale");
	cJSON_AddStringToObject(s, "apiVersion", "autoscaling/v1");
	cJSON *meta = cJSON_AddObjectToObject(s, "metadata");
	static const char *const keep[] = {"name", "namespace", "uid", "resourceVersion",
	                                   "creationTimestamp"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(keep); i++) {
		const cJSON *v = ck_json_get(ck_json_get(obj, "metadata"), keep[i]);
		if (v)
			cJSON_AddItemToObject(meta, keep[i], ck_json_dup(v));
	}
	cJSON *spec = cJSON_AddObjectToObject(s, "spec");
	cJSON_AddNumberToObject(spec, "replicas", (double)ck_json_get_int(obj, "spec.replicas", 0));
	cJSON *status = cJSON_AddObjectToObject(s, "status");
	cJSON_AddNumberToObject(status, "replicas",
	                        (double)ck_json_get_int(obj, "status.replicas", 0));
	_cleanup_(selector_freep) selector *sel = NULL;
	if (selector_from_label_selector(ck_json_get(obj, "spec.selector"), &sel, NULL) == 0) {
		char *text = selector_format(sel);
		cJSON_AddStringToObject(status, "selector", text);
		free(text);
	}
	return s;
}
