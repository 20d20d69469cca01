/* Claiming dependents by the owner's selector, as upstream's ControllerRefManager does
 * (controller.h). */
#include "controller.h"

#include <stdlib.h>

#include "base/json.h"
#include "base/log.h"
#include "base/strbuf.h"

/* Patches obj's ownerReferences to its list without owner_uid's, plus add when non-NULL
 * (taken), at obj's resourceVersion: a change meanwhile fails with a conflict. */
static void patch_refs(cm_controller *c, const cJSON *owner, const cm_cache *deps, const cJSON *obj,
                       cJSON *add)
{
	_cleanup_json_ cJSON *patch = cJSON_CreateObject();
	cJSON *meta = cJSON_AddObjectToObject(patch, "metadata");
	cJSON *refs = cJSON_CreateArray();
	const cJSON *ref;
	cJSON_ArrayForEach(ref, ck_json_get(obj, "metadata.ownerReferences"))
	{
		if (!ck_streq(ck_json_get_str(ref, "uid", NULL), kc_obj_uid(owner)))
			cJSON_AddItemToArray(refs, ck_json_dup(ref));
	}
	if (add)
		cJSON_AddItemToArray(refs, add);
	if (cJSON_GetArraySize(refs))
		cJSON_AddItemToObject(meta, "ownerReferences", refs);
	else {
		cJSON_Delete(refs);
		cJSON_AddNullToObject(meta, "ownerReferences");
	}
	cJSON_AddStringToObject(meta, "resourceVersion", kc_obj_resource_version(obj));
	CK_V(2, "%s %s %s: %s %s/%s", add ? "adopting" : "releasing", deps->res->kind,
	     kc_obj_name(obj), add ? "by" : "from", kc_obj_namespace(owner), kc_obj_name(owner));
	_cleanup_free_ char *owner_key = informer_key(owner);
	cm_request rq = {
	    .verb = CM_PATCH,
	    .res = deps->res,
	    .ns = kc_obj_namespace(obj),
	    .name = kc_obj_name(obj),
	    .body = patch,
	    .patch_type = KC_PATCH_MERGE,
	};
	cm_request_for(c, owner_key, &rq, add ? "adopt" : "release", NULL);
}

const cJSON **cm_claim(cm_controller *c, const kc_resource *owner_res, const cJSON *owner,
                       const selector *sel, const cm_cache *deps, bool (*keep)(const cJSON *obj),
                       size_t *n)
{
	size_t n_owned = 0, n_orphans = 0;
	_cleanup_free_ const cJSON **owned =
	    cm_cache_by_index(deps, CM_INDEX_OWNER, kc_obj_uid(owner), &n_owned);
	_cleanup_free_ const cJSON **orphans =
	    cm_cache_by_index(deps, CM_INDEX_ORPHAN, kc_obj_namespace(owner), &n_orphans);
	const cJSON **claimed = ck_calloc(n_owned + n_orphans + 1, sizeof(*claimed));
	size_t k = 0;
	bool owner_deleting = cm_being_deleted(owner);
	for (size_t i = 0; i < n_owned; i++) {
		const cJSON *obj = owned[i], *ref = cm_controller_ref(obj);
		/* The owner index also holds objects owner owns without controlling them. */
		if (!ref || !ck_streq(ck_json_get_str(ref, "uid", NULL), kc_obj_uid(owner)))
			continue;
		if (keep && !keep(obj))
			continue;
		if (selector_match_labels(sel, ck_json_get(obj, "metadata.labels")))
			claimed[k++] = obj;
		else if (!owner_deleting)
			patch_refs(c, owner, deps, obj, NULL);
	}
	/* An empty selector would adopt the whole namespace: it adopts nothing. */
	for (size_t i = 0; i < n_orphans && !owner_deleting && sel->n_reqs; i++) {
		const cJSON *obj = orphans[i];
		if ((keep && !keep(obj)) || cm_being_deleted(obj) ||
		    !selector_match_labels(sel, ck_json_get(obj, "metadata.labels")))
			continue;
		patch_refs(c, owner, deps, obj, cm_owner_ref(owner_res, owner));
		claimed[k++] = obj;
	}
	*n = k;
	return claimed;
}
