/* verb_write: create, update and patch, with the status, scale and binding subresources. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "defaults.h"
#include "patch.h"
#include "scale.h"
#include "service.h"
#include "status.h"
#include "storage.h"
#include "validate.h"
#include "watch_cache.h"

static bool is_sub(const api_req *r, const char *sub)
{
	return r->rt.sub && !strcmp(r->rt.sub, sub);
}

/* Answers s (when not NULL) and frees r: true when it did. */
static bool answered(api_req *r, cJSON *s)
{
	if (!s)
		return false;
	status_send(r->x, s);
	api_req_free(r);
	return true;
}

/* The Status when apiVersion/kind of a request body are not what the path serves, else
 * NULL. */
static cJSON *type_mismatch(const cJSON *body, const char *api_version, const char *kind)
{
	const char *av = ck_json_get_str(body, "apiVersion", "");
	const char *k = ck_json_get_str(body, "kind", "");
	if (*k && strcmp(k, kind))
		return status_bad_request_new(
		    "the kind in the data (%s) does not match the expected kind (%s)", k, kind);
	if (*av && strcmp(av, api_version))
		return status_bad_request_new("the API version in the data (%s) does not match the "
		                              "expected API version (%s)",
		                              av, api_version);
	return NULL;
}

/* The 422 Status when obj (replacing old, NULL on create) is invalid, else NULL. */
static cJSON *invalid(api_req *r, const cJSON *old, const cJSON *obj)
{
	cJSON *causes = validate_object(r->rt.kind, old, obj);
	if (!causes)
		return NULL;
	return status_invalid_new(r->rt.kind, ck_json_get_str(obj, "metadata.name", ""), causes);
}

/* ---- create ---- */

static void created(api_req *r, enum update_action action, const cJSON *obj)
{
	if (service_is(r->rt.kind))
		service_keep(r);
	api_respond_object(r, 201, obj);
	api_req_free(r);
}

static enum update_action create_mutate(api_req *r, const cJSON *cur, cJSON **next, cJSON **status)
{
	if (cur) {
		*status = status_already_exists_new(r->rt.kind,
		                                    ck_json_get_str(r->body, "metadata.name", ""));
		return UPDATE_FAILED;
	}
	*next = ck_json_dup(r->body);
	return UPDATE_WRITE;
}

static void create_store(api_req *r)
{
	_cleanup_free_ char *key = storage_key(r->srv, r->rt.kind, r->rt.ns,
	                                       ck_json_get_str(r->body, "metadata.name", ""));
	storage_update(r, key, create_mutate, created);
}

static void create_in_namespace(api_req *r, const cJSON *ns)
{
	if (!ns) {
		status_namespace_not_found(r->x, r->rt.ns);
		api_req_free(r);
		return;
	}
	if (ck_json_get(ns, "metadata.deletionTimestamp")) {
		status_send(
		    r->x, status_new(403, "Forbidden",
		                     status_details(r->rt.kind,
		                                    ck_json_get_str(r->body, "metadata.name", "")),
		                     "%s \"%s\" is forbidden: unable to create new content in "
		                     "namespace %s because it is being terminated",
		                     r->rt.kind->plural,
		                     ck_json_get_str(r->body, "metadata.name", ""), r->rt.ns));
		api_req_free(r);
		return;
	}
	create_store(r);
}

static void create_binding(api_req *r);

/* Checks and completes a new object (type, namespace, defaults, validation) in place.
 * Returns the Status when it cannot be created, else NULL. */
static cJSON *prepare_new(api_req *r, cJSON *obj)
{
	const kind_desc *k = r->rt.kind;
	char av[64];
	cJSON *s = type_mismatch(obj, kind_api_version(k, av, sizeof(av)), k->kind);
	if (s)
		return s;
	const char *ns = ck_json_get_str(obj, "metadata.namespace", "");
	if (k->namespaced && *ns && strcmp(ns, r->rt.ns))
		return status_bad_request_new("the namespace of the provided object does not match "
		                              "the namespace sent on the request");
	defaults_for_create(k, obj, k->namespaced ? r->rt.ns : NULL);
	return invalid(r, NULL, obj);
}

/* Stores r->body once its namespace is known to exist. */
static void create_checked(api_req *r)
{
	if (!r->rt.kind->namespaced) {
		create_store(r);
		return;
	}
	const kind_desc *nsk = kind_by_resource("", "v1", "namespaces");
	_cleanup_free_ char *key = storage_key(r->srv, nsk, NULL, r->rt.ns);
	/* As upstream's admission, the namespace cache first; etcd when it has none (the
	 * namespace may be a moment old). Once terminating, a namespace stays so. */
	const cJSON *ns = NULL;
	if (watch_cache_get(server_cache(r->srv, nsk), key, &ns) == 0 && ns) {
		create_in_namespace(r, ns);
		return;
	}
	storage_get(r, key, create_in_namespace);
}

static void allocated(api_req *r, bool ok)
{
	if (ok)
		create_checked(r);
	else
		api_req_free(r);
}

void verb_create(api_req *r)
{
	if (is_sub(r, "binding")) {
		create_binding(r);
		return;
	}
	if (answered(r, prepare_new(r, r->body)))
		return;
	if (r->dry_run) {
		api_respond_object(r, 201, r->body);
		api_req_free(r);
		return;
	}
	if (service_is(r->rt.kind)) {
		service_allocate(r, allocated);
		return;
	}
	create_checked(r);
}

/* ---- binding ---- */

static void bound(api_req *r, enum update_action action, const cJSON *obj)
{
	cJSON *s = status_new(201, NULL, NULL, "%s", "");
	status_send(r->x, s);
	api_req_free(r);
}

static void set_condition(cJSON *obj, const char *type, const char *status)
{
	cJSON *conds = ck_json_get(obj, "status.conditions");
	if (!cJSON_IsArray(conds)) {
		ck_json_set(obj, "status.conditions", cJSON_CreateArray());
		conds = ck_json_get(obj, "status.conditions");
	}
	cJSON *c;
	cJSON_ArrayForEach(c, conds)
	{
		if (!strcmp(ck_json_get_str(c, "type", ""), type))
			break;
	}
	if (!c) {
		c = cJSON_CreateObject();
		cJSON_AddItemToArray(conds, c);
	}
	_cleanup_free_ char *now = ck_time_now_rfc3339(false);
	ck_json_set_str(c, "type", type);
	ck_json_set_str(c, "status", status);
	ck_json_set(c, "lastProbeTime", cJSON_CreateNull());
	ck_json_set_str(c, "lastTransitionTime", now);
}

static enum update_action binding_mutate(api_req *r, const cJSON *cur, cJSON **next, cJSON **status)
{
	const char *node = ck_json_get_str(r->body, "target.name", "");
	if (!cur) {
		*status = status_not_found_new(r->rt.kind, r->rt.name);
		return UPDATE_FAILED;
	}
	const char *bound_to = ck_json_get_str(cur, "spec.nodeName", "");
	if (*bound_to) {
		_cleanup_free_ char *why =
		    ck_asprintf("pod %s is already assigned to node \"%s\"", r->rt.name, bound_to);
		*status = status_new(409, "Conflict", status_details(r->rt.kind, r->rt.name),
		                     "Operation cannot be fulfilled on pods/binding \"%s\": %s",
		                     r->rt.name, why);
		return UPDATE_FAILED;
	}
	if (ck_json_get(cur, "metadata.deletionTimestamp")) {
		*status = status_new(409, "Conflict", status_details(r->rt.kind, r->rt.name),
		                     "Operation cannot be fulfilled on pods/binding \"%s\": "
		                     "pod %s is being deleted, cannot be assigned to a host",
		                     r->rt.name, r->rt.name);
		return UPDATE_FAILED;
	}
	*next = ck_json_dup(cur);
	ck_json_set_str(*next, "spec.nodeName", node);
	const cJSON *a;
	cJSON_ArrayForEach(a, ck_json_get(r->body, "metadata.annotations"))
	{
		cJSON *ann = ck_json_get(*next, "metadata.annotations");
		if (!ann) {
			ck_json_set(*next, "metadata.annotations", cJSON_CreateObject());
			ann = ck_json_get(*next, "metadata.annotations");
		}
		cJSON_DeleteItemFromObjectCaseSensitive(ann, a->string);
		cJSON_AddItemToObject(ann, a->string, ck_json_dup(a));
	}
	set_condition(*next, "PodScheduled", "True");
	return UPDATE_WRITE;
}

static void create_binding(api_req *r)
{
	if (answered(r, type_mismatch(r->body, "v1", "Binding")))
		return;
	if (!*ck_json_get_str(r->body, "target.name", "")) {
		cJSON *causes = cJSON_CreateArray();
		kind_causes c = {causes};
		kind_cause_required(&c, "target.name");
		status_invalid(r->x, r->rt.kind, r->rt.name, causes);
		api_req_free(r);
		return;
	}
	_cleanup_free_ char *key = storage_key(r->srv, r->rt.kind, r->rt.ns, r->rt.name);
	storage_update(r, key, binding_mutate, bound);
}

/* ---- update and patch ---- */

static void updated(api_req *r, enum update_action action, const cJSON *obj)
{
	if (!obj) {
		status_not_found(r->x, r->rt.kind, r->rt.name);
	} else if (is_sub(r, "scale")) {
		_cleanup_json_ cJSON *s = scale_from_object(obj);
		api_respond_object(r, 200, s);
	} else {
		api_respond_object(r, 200, obj);
	}
	api_req_free(r);
}

static void copy_field(cJSON *dst, const cJSON *src, const char *path)
{
	const cJSON *v = ck_json_get(src, path);
	if (v)
		ck_json_set(dst, path, ck_json_dup(v));
	else
		ck_json_remove(dst, path);
}

/* The object an update of cur with body produces, or NULL with the Status in *status. */
static cJSON *merge_update(api_req *r, const cJSON *cur, const cJSON *body, cJSON **status)
{
	const kind_desc *k = r->rt.kind;
	const char *want_rv = ck_json_get_str(body, "metadata.resourceVersion", "");
	if (*want_rv && strcmp(want_rv, ck_json_get_str(cur, "metadata.resourceVersion", ""))) {
		*status = status_conflict_new(k, r->rt.name, NULL);
		return NULL;
	}
	cJSON *next;
	if (is_sub(r, "scale")) {
		next = ck_json_dup(cur);
		ck_json_set_int(next, "spec.replicas", ck_json_get_int(body, "spec.replicas", 0));
	} else if (is_sub(r, "status")) {
		next = ck_json_dup(cur);
		copy_field(next, body, "status");
	} else {
		const char *name = ck_json_get_str(body, "metadata.name", "");
		if (*name && strcmp(name, r->rt.name)) {
			*status =
			    status_bad_request_new("the name of the object (%s) does not match "
			                           "the name on the URL (%s)",
			                           name, r->rt.name);
			return NULL;
		}
		next = ck_json_dup(body);
		if (!cJSON_IsObject(ck_json_get(next, "metadata")))
			ck_json_set(next, "metadata", cJSON_CreateObject());
		static const char *const keep[] = {
		    "metadata.name",
		    "metadata.namespace",
		    "metadata.uid",
		    "metadata.creationTimestamp",
		    "metadata.deletionTimestamp",
		    "metadata.deletionGracePeriodSeconds",
		    "metadata.generation",
		};
		for (size_t i = 0; i < CK_ARRAY_SIZE(keep); i++)
			copy_field(next, cur, keep[i]);
		for (const char *const *f = k->immutable; f && *f; f++)
			copy_field(next, cur, *f);
		if (k->subresources & KIND_SUB_STATUS)
			copy_field(next, cur, "status");
		defaults_apply(k, next);
	}
	ck_json_set_str(next, "metadata.resourceVersion",
	                ck_json_get_str(cur, "metadata.resourceVersion", ""));
	if (!ck_json_equal(ck_json_get(next, "spec"), ck_json_get(cur, "spec")))
		ck_json_set_int(next, "metadata.generation",
		                ck_json_get_int(cur, "metadata.generation", 0) + 1);
	*status = invalid(r, cur, next);
	if (*status) {
		cJSON_Delete(next);
		return NULL;
	}
	return next;
}

/* What to store for next: nothing when unchanged, a delete once the last finalizer of an
 * object being deleted is gone. */
static enum update_action decide(cJSON **next, const cJSON *cur)
{
	if (ck_json_equal(*next, cur)) {
		cJSON_Delete(*next);
		*next = NULL;
		return UPDATE_UNCHANGED;
	}
	if (ck_json_get(*next, "metadata.deletionTimestamp") &&
	    cJSON_GetArraySize(ck_json_get(*next, "metadata.finalizers")) == 0 &&
	    ck_json_get_int(*next, "metadata.deletionGracePeriodSeconds", 0) == 0) {
		cJSON_Delete(*next);
		*next = NULL;
		return UPDATE_DELETE;
	}
	return UPDATE_WRITE;
}

static enum update_action update_mutate(api_req *r, const cJSON *cur, cJSON **next, cJSON **status)
{
	if (!cur) {
		*status = status_not_found_new(r->rt.kind, r->rt.name);
		return UPDATE_FAILED;
	}
	*next = merge_update(r, cur, r->body, status);
	if (!*next)
		return UPDATE_FAILED;
	return decide(next, cur);
}

void verb_update(api_req *r)
{
	const kind_desc *k = r->rt.kind;
	char av[64];
	if (answered(r, is_sub(r, "scale")
	                    ? type_mismatch(r->body, "autoscaling/v1", "Scale")
	                    : type_mismatch(r->body, kind_api_version(k, av, sizeof(av)), k->kind)))
		return;
	_cleanup_free_ char *key = storage_key(r->srv, k, r->rt.ns, r->rt.name);
	storage_update(r, key, update_mutate, updated);
}

typedef struct patch_state {
	enum patch_type type;
	cJSON *patch;
	bool created; /* a server-side apply created the object */
} patch_state;

static void patch_state_free(void *p)
{
	patch_state *ps = p;
	cJSON_Delete(ps->patch);
	free(ps);
}

static void patched(api_req *r, enum update_action action, const cJSON *obj)
{
	patch_state *ps = r->verb_data;
	if (ps->created) {
		api_respond_object(r, 201, obj);
		api_req_free(r);
		return;
	}
	updated(r, action, obj);
}

static enum update_action patch_mutate(api_req *r, const cJSON *cur, cJSON **next, cJSON **status)
{
	patch_state *ps = r->verb_data;
	ps->created = false;
	if (!cur && ps->type == PATCH_APPLY && !r->rt.sub) {
		/* Server-side apply creates what does not exist yet. */
		*next = ck_json_dup(ps->patch);
		ck_json_set_str(*next, "metadata.name", r->rt.name);
		*status = prepare_new(r, *next);
		if (*status)
			return UPDATE_FAILED;
		ps->created = true;
		return UPDATE_WRITE;
	}
	if (!cur) {
		*status = status_not_found_new(r->rt.kind, r->rt.name);
		return UPDATE_FAILED;
	}
	_cleanup_json_ cJSON *view = is_sub(r, "scale") ? scale_from_object(cur) : ck_json_dup(cur);
	_cleanup_err_ ck_err *err = NULL;
	int rc = patch_apply(ps->type, ps->patch, &view, &err);
	if (rc < 0) {
		*status =
		    rc == CK_ECONFLICT
		        ? status_new(422, "Invalid", NULL, "%s", err->msg)
		        : status_bad_request_new("%s", err ? err->msg : "the patch does not apply");
		return UPDATE_FAILED;
	}
	if (!cJSON_IsObject(view)) {
		*status = status_bad_request_new("the patch does not produce an object");
		return UPDATE_FAILED;
	}
	*next = merge_update(r, cur, view, status);
	if (!*next)
		return UPDATE_FAILED;
	return decide(next, cur);
}

void verb_patch(api_req *r)
{
	patch_state *ps = ck_calloc(1, sizeof(*ps));
	r->verb_data = ps;
	r->verb_free = patch_state_free;
	ps->type = patch_type_of(http_request_header(r->hr, "Content-Type"));
	if (ps->type == PATCH_UNSUPPORTED) {
		status_send(r->x,
		            status_new(415, "UnsupportedMediaType", NULL,
		                       "the body of the request was in an unknown format - "
		                       "accepted media types include: "
		                       "application/json-patch+json, application/merge-patch+json, "
		                       "application/apply-patch+yaml, "
		                       "application/strategic-merge-patch+json"));
		api_req_free(r);
		return;
	}
	_cleanup_err_ ck_err *err = NULL;
	ps->patch = patch_parse(ps->type, r->hr->body, r->hr->body_len, &err);
	if (!ps->patch) {
		status_bad_request(r->x, "error decoding patch: %s", err ? err->msg : "empty body");
		api_req_free(r);
		return;
	}
	_cleanup_free_ char *key = storage_key(r->srv, r->rt.kind, r->rt.ns, r->rt.name);
	storage_update(r, key, patch_mutate, patched);
}
