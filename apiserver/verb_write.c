/* verb_write: create, update and patch, with the subresources the kinds' tables name
 * (views of a field, Scale views, bodies created on a parent such as a Binding). Creates
 * go through the admission chains (pipeline.h) before storage; updates run them inside
 * the read-modify-write. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "defaults.h"
#include "patch.h"
#include "pipeline.h"
#include "scale.h"
#include "status.h"
#include "storage.h"
#include "validate.h"

/* True when r is on a subresource of type t. */
static bool sub_is(const api_req *r, enum kind_sub_type t)
{
	return r->rt.subres && r->rt.subres->type == t;
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

/* Mutating admission, validation and validating admission of obj (replacing old) without
 * waiting, as a read-modify-write needs: the refusal, or NULL. */
static cJSON *admit_now(api_req *r, enum admission_op op, cJSON *obj, const cJSON *old)
{
	admission_attrs a;
	auth_user u;
	pipeline_attrs(r, op, ck_json_get_str(obj, "metadata.name", ""), &a, &u);
	cJSON *s = pipeline_admit_now(r->srv, &a, admission_mutating, obj, old);
	if (!s)
		s = invalid(r, old, obj);
	if (!s)
		s = pipeline_admit_now(r->srv, &a, admission_validating, obj, old);
	return s;
}

/* ---- create ---- */

typedef struct create_state {
	pipeline p;
} create_state;

static void create_state_free(void *d)
{
	create_state *cs = d;
	pipeline_end(&cs->p);
	free(cs);
}

static void created(api_req *r, enum update_action action, const cJSON *obj)
{
	create_state *cs = r->verb_data;
	cs->p.stored = true;
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

/* Checks and completes a new object (type, namespace, defaults) in place. Returns the
 * Status when it cannot be created, else NULL. */
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
	return NULL;
}

static void create_admitted(cJSON *status, void *data)
{
	api_req *r = data;
	if (answered(r, status))
		return;
	if (r->dry_run) {
		api_respond_object(r, 201, r->body);
		api_req_free(r);
		return;
	}
	_cleanup_free_ char *key = storage_key(r->srv, r->rt.kind, r->rt.ns,
	                                       ck_json_get_str(r->body, "metadata.name", ""));
	storage_update(r, key, create_mutate, created);
}

static void create_mutated(cJSON *status, void *data)
{
	api_req *r = data;
	create_state *cs = r->verb_data;
	if (answered(r, status) || answered(r, invalid(r, NULL, r->body)))
		return;
	admission_start(cs->p.run, admission_validating, r->body, NULL, create_admitted, r);
}

static void create_on_parent(api_req *r);

void verb_create(api_req *r)
{
	if (sub_is(r, KIND_SUB_CREATE)) {
		create_on_parent(r);
		return;
	}
	if (answered(r, prepare_new(r, r->body)))
		return;
	create_state *cs = ck_calloc(1, sizeof(*cs));
	r->verb_data = cs;
	r->verb_free = create_state_free;
	/* The name is the body's, generated or not: the body outlives the run. */
	if (answered(r, pipeline_begin(&cs->p, r, ADMIT_CREATE,
	                               ck_json_get_str(r->body, "metadata.name", ""))))
		return;
	admission_start(cs->p.run, admission_mutating, r->body, NULL, create_mutated, r);
}

/* ---- bodies created on a parent (pods/binding) ---- */

static void applied(api_req *r, enum update_action action, const cJSON *obj)
{
	status_send(r->x, status_new(201, NULL, NULL, "%s", ""));
	api_req_free(r);
}

static enum update_action parent_mutate(api_req *r, const cJSON *cur, cJSON **next, cJSON **status)
{
	if (!cur) {
		*status = status_not_found_new(r->rt.kind, r->rt.name);
		return UPDATE_FAILED;
	}
	kind_sub_conflict c = {0};
	*next = r->rt.subres->apply(cur, r->body, r->rt.name, &c);
	if (*next)
		return UPDATE_WRITE;
	*status = status_new(409, "Conflict", status_details(r->rt.kind, r->rt.name),
	                     "Operation cannot be fulfilled on %s/%s \"%s\": %s",
	                     r->rt.kind->plural, r->rt.subres->name, r->rt.name, c.why);
	free(c.why);
	return UPDATE_FAILED;
}

static void create_on_parent(api_req *r)
{
	const kind_subresource *sub = r->rt.subres;
	char av[64];
	if (answered(r, type_mismatch(r->body,
	                              kind_subresource_api_version(r->rt.kind, sub, av, sizeof(av)),
	                              kind_subresource_kind(r->rt.kind, sub))))
		return;
	kind_causes c = {0};
	if (sub->validate)
		sub->validate(r->body, &c);
	if (c.list) {
		status_invalid(r->x, r->rt.kind, r->rt.name, c.list);
		api_req_free(r);
		return;
	}
	_cleanup_free_ char *key = storage_key(r->srv, r->rt.kind, r->rt.ns, r->rt.name);
	storage_update(r, key, parent_mutate, applied);
}

/* ---- update and patch ---- */

/* The Status when r's user may not update its object, else NULL. */
static cJSON *authorized(api_req *r)
{
	admission_attrs a;
	auth_user u;
	pipeline_attrs(r, ADMIT_UPDATE, r->rt.name, &a, &u);
	return authz_check(&a);
}

static void updated(api_req *r, enum update_action action, const cJSON *obj)
{
	/* The last finalizer went: the object left storage. */
	if (action == UPDATE_DELETE && !r->dry_run)
		admission_removed(r->srv, r->rt.kind, obj);
	_cleanup_json_ cJSON *view = obj ? scale_view(&r->rt, obj) : NULL;
	if (!obj)
		status_not_found(r->x, r->rt.kind, r->rt.name);
	else
		api_respond_object(r, 200, view ? view : obj);
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
	if (sub_is(r, KIND_SUB_SCALE)) {
		next = ck_json_dup(cur);
		scale_apply(next, body, r->rt.subres->scale);
	} else if (sub_is(r, KIND_SUB_FIELD)) {
		next = ck_json_dup(cur);
		copy_field(next, body, r->rt.subres->field);
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
		/* What a subresource writes, a write of the object keeps. */
		for (size_t i = 0; i < k->n_subresources; i++)
			if (k->subresources[i].type == KIND_SUB_FIELD)
				copy_field(next, cur, k->subresources[i].field);
		defaults_apply(k, next);
	}
	ck_json_set_str(next, "metadata.resourceVersion",
	                ck_json_get_str(cur, "metadata.resourceVersion", ""));
	if (!ck_json_equal(ck_json_get(next, "spec"), ck_json_get(cur, "spec")))
		ck_json_set_int(next, "metadata.generation",
		                ck_json_get_int(cur, "metadata.generation", 0) + 1);
	*status = admit_now(r, ADMIT_UPDATE, next, cur);
	if (*status) {
		cJSON_Delete(next);
		return NULL;
	}
	return next;
}

/* What to store for next: nothing when unchanged, a delete once the last finalizer of an
 * object being deleted is gone. */
static enum update_action decide(const kind_desc *k, cJSON **next, const cJSON *cur)
{
	if (ck_json_equal(*next, cur)) {
		cJSON_Delete(*next);
		*next = NULL;
		return UPDATE_UNCHANGED;
	}
	if (ck_json_get(*next, "metadata.deletionTimestamp") &&
	    cJSON_GetArraySize(ck_json_get(*next, "metadata.finalizers")) == 0 &&
	    !(k->finalizing && k->finalizing(*next)) &&
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
	return decide(r->rt.kind, next, cur);
}

void verb_update(api_req *r)
{
	const kind_desc *k = r->rt.kind;
	char av[64];
	cJSON *mismatch =
	    r->rt.subres
	        ? type_mismatch(r->body,
	                        kind_subresource_api_version(k, r->rt.subres, av, sizeof(av)),
	                        kind_subresource_kind(k, r->rt.subres))
	        : type_mismatch(r->body, kind_api_version(k, av, sizeof(av)), k->kind);
	if (answered(r, mismatch) || answered(r, authorized(r)))
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
		if (!*status)
			*status = admit_now(r, ADMIT_CREATE, *next, NULL);
		if (*status)
			return UPDATE_FAILED;
		ps->created = true;
		return UPDATE_WRITE;
	}
	if (!cur) {
		*status = status_not_found_new(r->rt.kind, r->rt.name);
		return UPDATE_FAILED;
	}
	_cleanup_json_ cJSON *view = scale_view(&r->rt, cur);
	/* A Scale is no object of the kind's schema: it is patched as plain JSON. */
	const schema_type *type = view ? NULL : schema_type_of_kind(r->rt.kind);
	if (!view)
		view = ck_json_dup(cur);
	_cleanup_err_ ck_err *err = NULL;
	int rc = patch_apply(ps->type, ps->patch, type, &view, &err);
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
	return decide(r->rt.kind, next, cur);
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
