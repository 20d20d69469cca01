/* Helpers shared by the controllers. See controller.h. */
#include "controller.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/strbuf.h"

const cJSON *cm_controller_ref(const cJSON *obj)
{
	const cJSON *ref;
	cJSON_ArrayForEach(ref, ck_json_get(obj, "metadata.ownerReferences"))
	{
		if (ck_json_get_bool(ref, "controller", false))
			return ref;
	}
	return NULL;
}

char *cm_controller_key(const cJSON *obj, const char *kind)
{
	const cJSON *ref = cm_controller_ref(obj);
	if (!ref || !ck_streq(ck_json_get_str(ref, "kind", NULL), kind))
		return NULL;
	return ck_asprintf("%s/%s", kc_obj_namespace(obj), ck_json_get_str(ref, "name", ""));
}

cJSON *cm_owner_ref(const kc_resource *r, const cJSON *owner)
{
	cJSON *ref = cJSON_CreateObject();
	_cleanup_free_ char *api_version =
	    *r->group ? ck_asprintf("%s/%s", r->group, r->version) : ck_strdup(r->version);
	cJSON_AddStringToObject(ref, "apiVersion", api_version);
	cJSON_AddStringToObject(ref, "kind", r->kind);
	cJSON_AddStringToObject(ref, "name", kc_obj_name(owner));
	cJSON_AddStringToObject(ref, "uid", kc_obj_uid(owner));
	cJSON_AddBoolToObject(ref, "controller", true);
	cJSON_AddBoolToObject(ref, "blockOwnerDeletion", true);
	return ref;
}

bool cm_being_deleted(const cJSON *obj)
{
	return ck_json_get(obj, "metadata.deletionTimestamp") != NULL &&
	       !cJSON_IsNull(ck_json_get(obj, "metadata.deletionTimestamp"));
}

bool cm_pod_ready(const cJSON *pod)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, ck_json_get(pod, "status.conditions"))
	{
		if (ck_streq(ck_json_get_str(c, "type", NULL), "Ready"))
			return ck_streq(ck_json_get_str(c, "status", NULL), "True");
	}
	return false;
}

bool cm_pod_active(const cJSON *pod)
{
	const char *phase = ck_json_get_str(pod, "status.phase", "");
	return strcmp(phase, "Succeeded") && strcmp(phase, "Failed") && !cm_being_deleted(pod);
}

const cJSON **cm_owned(const informer *inf, const char *uid, size_t *n)
{
	size_t all = 0;
	const cJSON **objs = informer_by_index(inf, CM_INDEX_OWNER, uid, &all);
	size_t k = 0;
	for (size_t i = 0; i < all; i++) {
		const cJSON *ref = cm_controller_ref(objs[i]);
		if (ref && ck_streq(ck_json_get_str(ref, "uid", NULL), uid))
			objs[k++] = objs[i];
	}
	*n = k;
	return objs;
}

void cm_enqueue_obj(wq *q, const cJSON *obj)
{
	_cleanup_free_ char *key = informer_key(obj);
	wq_add(q, key);
}

bool cm_synced(const cm_ctx *ctx)
{
	return informer_synced(ctx->deployments) && informer_synced(ctx->replicasets) &&
	       informer_synced(ctx->pods);
}
