/* verb_delete: delete and deletecollection. A delete runs the admission chains, then
 * either removes the object or, while its kind's grace period or a finalizer holds it,
 * marks it (deletionTimestamp, the kind's mark_deleted). deletecollection deletes each
 * matching object through that same path, one after the other (upstream's one
 * delete-collection worker), and answers the list of what it deleted once all are done.
 * The same path serves the apiserver's own deletes (delete_internal). */
#include "server.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "filter.h"
#include "pipeline.h"
#include "status.h"
#include "storage.h"

typedef struct delete_state {
	int64_t grace; /* -1: not given */
	pipeline p;
	/* An internal request's driver (NULL for a client's request). */
	delete_done_fn done;
	void *data;
	bool reported;
} delete_state;

/* An internal request reports code and obj once. */
static void report(api_req *r, int code, const cJSON *obj)
{
	delete_state *ds = r->verb_data;
	if (!ds->done || ds->reported)
		return;
	ds->reported = true;
	ds->done(code, obj, ds->data);
}

static void delete_state_free(void *p)
{
	delete_state *ds = p;
	pipeline_end(&ds->p);
	if (ds->done && !ds->reported)
		/* Storage answered a failure itself: the code is in its log line. */
		ds->done(500, NULL, ds->data);
	free(ds);
}

/* Answers the Status s (taken) and frees r. */
static void refuse(api_req *r, cJSON *s)
{
	report(r, (int)ck_json_get_int(s, "code", 500), NULL);
	status_send(r->x, s);
	api_req_free(r);
}

static void deleted(api_req *r, enum update_action action, const cJSON *obj)
{
	if (!obj) {
		refuse(r, status_not_found_new(r->rt.kind, r->rt.name));
		return;
	}
	if (action == UPDATE_DELETE && !r->dry_run)
		admission_removed(r->srv, r->rt.kind, obj);
	report(r, 200, obj);
	if (r->x)
		api_respond_object(r, 200, obj);
	api_req_free(r);
}

static char *time_after(int64_t seconds)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += (time_t)seconds;
	t.tv_nsec = 0;
	return ck_time_rfc3339(&t, false);
}

static enum update_action delete_mutate(api_req *r, const cJSON *cur, cJSON **next, cJSON **status)
{
	delete_state *ds = r->verb_data;
	const kind_desc *k = r->rt.kind;
	if (!cur)
		return UPDATE_UNCHANGED; /* deleted() answers 404 */
	/* r->body holds the DeleteOptions, when the request had any. */
	static const struct {
		const char *want, *have, *name;
	} pre[] = {
	    {"preconditions.uid", "metadata.uid", "UID"},
	    {"preconditions.resourceVersion", "metadata.resourceVersion", "ResourceVersion"}};
	for (size_t i = 0; i < CK_ARRAY_SIZE(pre); i++) {
		const char *want = ck_json_get_str(r->body, pre[i].want, "");
		const char *have = ck_json_get_str(cur, pre[i].have, "");
		if (*want && strcmp(want, have)) {
			_cleanup_free_ char *why =
			    ck_asprintf("Precondition failed: %s in precondition: %s, %s in object "
			                "meta: %s",
			                pre[i].name, want, pre[i].name, have);
			*status = status_conflict_new(k, r->rt.name, why);
			return UPDATE_FAILED;
		}
	}
	int64_t grace = k->grace_period ? k->grace_period(cur, ds->grace) : 0;
	bool finalizers = cJSON_GetArraySize(ck_json_get(cur, "metadata.finalizers")) > 0 ||
	                  (k->finalizing && k->finalizing(cur));
	if (!grace && !finalizers)
		return UPDATE_DELETE;
	const cJSON *old_ts = ck_json_get(cur, "metadata.deletionTimestamp");
	int64_t old_grace = ck_json_get_int(cur, "metadata.deletionGracePeriodSeconds", -1);
	if (old_ts && old_grace >= 0 && old_grace <= grace)
		return UPDATE_UNCHANGED;
	*next = ck_json_dup(cur);
	if (!old_ts || grace < old_grace) {
		_cleanup_free_ char *ts = time_after(grace);
		ck_json_set_str(*next, "metadata.deletionTimestamp", ts);
	}
	ck_json_set_int(*next, "metadata.deletionGracePeriodSeconds", grace);
	if (k->mark_deleted)
		k->mark_deleted(*next);
	return UPDATE_WRITE;
}

static void delete_admitted(cJSON *status, void *data)
{
	api_req *r = data;
	if (status) {
		refuse(r, status);
		return;
	}
	_cleanup_free_ char *key = storage_key(r->srv, r->rt.kind, r->rt.ns, r->rt.name);
	storage_update(r, key, delete_mutate, deleted);
}

static void delete_mutated(cJSON *status, void *data)
{
	api_req *r = data;
	delete_state *ds = r->verb_data;
	if (status) {
		refuse(r, status);
		return;
	}
	admission_start(ds->p.run, admission_validating, NULL, NULL, delete_admitted, r);
}

/* Runs the pipeline and the delete of r (its delete_state set). */
static void delete_start(api_req *r)
{
	delete_state *ds = r->verb_data;
	cJSON *s = pipeline_begin(&ds->p, r, ADMIT_DELETE, r->rt.name);
	if (s) {
		refuse(r, s);
		return;
	}
	admission_start(ds->p.run, admission_mutating, NULL, NULL, delete_mutated, r);
}

/* The grace period the request asks for (body or query; -1: none) into *grace. Returns 0,
 * or -1 after answering 400. */
static int delete_options(api_req *r, int64_t *grace)
{
	*grace = -1;
	if (r->hr->body_len) {
		if (api_decode_body(r) < 0)
			return -1;
		*grace = ck_json_get_int(r->body, "gracePeriodSeconds", -1);
	}
	int64_t g;
	int rc = api_query_int(r, "gracePeriodSeconds", &g);
	if (rc < 0) {
		status_bad_request(r->x, "invalid gracePeriodSeconds");
		return -1;
	}
	if (rc == 0)
		*grace = g;
	return 0;
}

void verb_delete(api_req *r)
{
	delete_state *ds = ck_calloc(1, sizeof(*ds));
	r->verb_data = ds;
	r->verb_free = delete_state_free;
	if (delete_options(r, &ds->grace) < 0) {
		api_req_free(r);
		return;
	}
	delete_start(r);
}

void delete_internal(apiserver *s, const kind_desc *k, const char *ns, const char *name,
                     int64_t grace, bool dry_run, delete_done_fn done, void *data)
{
	api_req *r = ck_calloc(1, sizeof(*r));
	r->srv = s;
	r->dry_run = dry_run;
	r->rt = (route){.type = ROUTE_OBJECT,
	                .verb = VERB_DELETE,
	                .kind = k,
	                .ns = k->namespaced ? ck_strdup(ns) : NULL,
	                .name = ck_strdup(name)};
	delete_state *ds = ck_calloc(1, sizeof(*ds));
	*ds = (delete_state){.grace = grace, .done = done, .data = data};
	r->verb_data = ds;
	r->verb_free = delete_state_free;
	delete_start(r);
}

/* ---- deletecollection: every matching object, through the delete path ---- */

typedef struct collection_state {
	api_filter filter;
	int64_t grace;
	char **names; /* of the matching objects, NULL-terminated */
	size_t next;
	cJSON *items; /* what was deleted (or marked) */
	int failed;   /* the first failure's code, 0 when none */
} collection_state;

static void collection_state_free(void *p)
{
	collection_state *cs = p;
	api_filter_clear(&cs->filter);
	ck_strv_free(cs->names);
	cJSON_Delete(cs->items);
	free(cs);
}

static void collection_answer(api_req *r)
{
	collection_state *cs = r->verb_data;
	if (cs->failed) {
		status_send(r->x, status_new(cs->failed, "InternalError", NULL,
		                             "deleting %s failed", r->rt.kind->plural));
		api_req_free(r);
		return;
	}
	char av[64], list_kind[128];
	snprintf(list_kind, sizeof(list_kind), "%sList", r->rt.kind->kind);
	_cleanup_json_ cJSON *l = cJSON_CreateObject();
	cJSON_AddStringToObject(l, "kind", list_kind);
	cJSON_AddStringToObject(l, "apiVersion", kind_api_version(r->rt.kind, av, sizeof(av)));
	cJSON_AddObjectToObject(l, "metadata");
	cJSON_AddItemToObject(l, "items", CK_TAKE_PTR(cs->items));
	_cleanup_free_ char *body = ck_json_print(l);
	api_respond_json(r->x, 200, body);
	api_req_free(r);
}

static void collection_next(api_req *r);

static void one_deleted(int code, const cJSON *obj, void *data)
{
	api_req *r = data;
	collection_state *cs = r->verb_data;
	if (code == 200)
		cJSON_AddItemToArray(cs->items, ck_json_dup(obj));
	else if (code != 404 && !cs->failed)
		/* 404: deleted by someone else meanwhile. */
		cs->failed = code;
	collection_next(r);
}

static void collection_next(api_req *r)
{
	collection_state *cs = r->verb_data;
	const char *name = cs->names[cs->next];
	if (!name || cs->failed) {
		collection_answer(r);
		return;
	}
	cs->next++;
	delete_internal(r->srv, r->rt.kind, r->rt.ns, name, cs->grace, r->dry_run, one_deleted, r);
}

static void collection_listed(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	api_req *r = data;
	collection_state *cs = r->verb_data;
	if (rc < 0) {
		status_storage_error(r->x, rc, err ? err->msg : ck_strerror(rc));
		api_req_free(r);
		return;
	}
	size_t n = 0;
	cs->names = ck_calloc(res->n_kvs + 1, sizeof(char *));
	for (size_t i = 0; i < res->n_kvs; i++) {
		_cleanup_json_ cJSON *obj = storage_decode(
		    r->rt.kind, res->kvs[i].value, res->kvs[i].value_len, res->kvs[i].mod_revision);
		if (obj && api_filter_match(&cs->filter, obj))
			cs->names[n++] = ck_strdup(ck_json_get_str(obj, "metadata.name", ""));
	}
	collection_next(r);
}

void verb_deletecollection(api_req *r)
{
	collection_state *cs = ck_calloc(1, sizeof(*cs));
	cs->items = cJSON_CreateArray();
	r->verb_data = cs;
	r->verb_free = collection_state_free;
	if (api_filter_init(r, &cs->filter) < 0 || delete_options(r, &cs->grace) < 0) {
		api_req_free(r);
		return;
	}
	admission_attrs a;
	auth_user u;
	pipeline_attrs(r, ADMIT_DELETE, NULL, &a, &u);
	cJSON *s = authz_check(&a);
	if (s) {
		status_send(r->x, s);
		api_req_free(r);
		return;
	}
	_cleanup_free_ char *prefix = storage_prefix(r->srv, r->rt.kind, r->rt.ns);
	etcd_range(r->srv->etcd, &(etcd_range_req){.key = prefix, .prefix = true},
	           collection_listed, r);
}
