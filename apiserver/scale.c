/* scale: Scale objects for the scale subresource. */
#include "scale.h"

#include <stdlib.h>

#include "api/selector.h"
#include "base/error.h"
#include "base/json.h"

/* The selector at path as text: a LabelSelector object is formatted, a string (a CRD's
 * status.selector) taken as it is. NULL when there is none. */
static char *selector_text(const cJSON *obj, const char *path)
{
	const cJSON *v = path ? ck_json_get(obj, path) : NULL;
	if (cJSON_IsString(v))
		return ck_strdup(v->valuestring);
	_cleanup_(selector_freep) selector *sel = NULL;
	if (!v || selector_from_label_selector(v, &sel, NULL) < 0)
		return NULL;
	return selector_format(sel);
}

cJSON *scale_from_object(const cJSON *obj, const kind_scale_paths *paths)
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
	cJSON_AddNumberToObject(spec, "replicas",
	                        (double)ck_json_get_int(obj, paths->spec_replicas, 0));
	cJSON *status = cJSON_AddObjectToObject(s, "status");
	cJSON_AddNumberToObject(status, "replicas",
	                        (double)ck_json_get_int(obj, paths->status_replicas, 0));
	_cleanup_free_ char *text = selector_text(obj, paths->label_selector);
	if (text)
		cJSON_AddStringToObject(status, "selector", text);
	return s;
}

void scale_apply(cJSON *obj, const cJSON *scale, const kind_scale_paths *paths)
{
	ck_json_set_int(obj, paths->spec_replicas, ck_json_get_int(scale, "spec.replicas", 0));
}

cJSON *scale_view(const route *rt, const cJSON *obj)
{
	if (!rt->subres || rt->subres->type != KIND_SUB_SCALE)
		return NULL;
	return scale_from_object(obj, rt->subres->scale);
}
