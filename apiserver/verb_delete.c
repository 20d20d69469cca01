/* verb_delete: delete (graceful for bound pods, deferred while finalizers remain) and
 * deletecollection. */
#include "server.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "filter.h"
#include "service.h"
#include "status.h"
#include "storage.h"

typedef struct delete_state {
	int64_t grace; /* -1: not given */
} delete_state;

static bool is_namespace(const kind_desc *k)
{
	return !k->group[0] && !strcmp(k->plural, "namespaces");
}

typedef struct purge_op {
	apiserver *srv;
	char *prefix;
} purge_op;

/* The services of a deleted namespace: their cluster IPs go back, then they go. */
static void services_listed(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	purge_op *op = data;
	const kind_desc *k = kind_by_resource("", "v1", "services");
	for (size_t i = 0; rc >= 0 && i < res->n_kvs; i++) {
		_cleanup_json_ cJSON *svc = storage_decode(
		    k, res->kvs[i].value, res->kvs[i].value_len, res->kvs[i].mod_revision);
		service_release(op->srv, svc);
	}
	etcd_delete(op->srv->etcd, op->prefix, strlen(op->prefix), true, storage_ignore_write,
	            NULL);
	free(op->prefix);
	free(op);
}

/* Removes everything stored in a deleted namespace (upstream's namespace controller
 * does this through the API; ckube does it at once). */
static void purge_namespace(apiserver *s, const char *ns)
{
	size_t n;
	const kind_desc *const *all = kind_all(&n);
	for (size_t i = 0; i < n; i++) {
		if (!all[i]->namespaced)
			continue;
		char *prefix = storage_prefix(s, all[i], ns);
		if (service_is(all[i])) {
			purge_op *op = ck_malloc(sizeof(*op));
			*op = (purge_op){s, prefix};
			etcd_range(s->etcd, &(etcd_range_req){.key = prefix, .prefix = true},
			           services_listed, op);
			continue;
		}
		etcd_delete(s->etcd, prefix, strlen(prefix), true, storage_ignore_write, NULL);
		free(prefix);
	}
}

static void deleted(api_req *r, enum update_action action, const cJSON *obj)
{
	if (!obj) {
		status_not_found(r->x, r->rt.kind, r->rt.name);
		api_req_free(r);
		return;
	}
	if (action == UPDATE_DELETE && !r->dry_run && is_namespace(r->rt.kind))
		purge_namespace(r->srv, r->rt.name);
	if (action == UPDATE_DELETE && !r->dry_run && service_is(r->rt.kind))
		service_release(r->srv, obj);
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

/* The grace period a delete of cur gets: 0 but for pods bound to a node and not yet
 * terminal, whose kubelet must stop them first. */
static int64_t grace_for(const api_req *r, const cJSON *cur)
{
	delete_state *ds = r->verb_data;
	const kind_desc *k = r->rt.kind;
	if (k->group[0] || strcmp(k->plural, "pods"))
		return 0;
	const char *phase = ck_json_get_str(cur, "status.phase", "");
	if (!*ck_json_get_str(cur, "spec.nodeName", "") || !strcmp(phase, "Succeeded") ||
	    !strcmp(phase, "Failed"))
		return 0;
	if (ds->grace >= 0)
		return ds->grace;
	return ck_json_get_int(cur, "spec.terminationGracePeriodSeconds", 30);
}

static enum update_action delete_mutate(api_req *r, const cJSON *cur, cJSON **next, cJSON **status)
{
	if (!cur) {
		*status = status_not_found_new(r->rt.kind, r->rt.name);
		return UPDATE_FAILED;
	}
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
			*status = status_conflict_new(r->rt.kind, r->rt.name, why);
			return UPDATE_FAILED;
		}
	}
	int64_t grace = grace_for(r, cur);
	bool finalizers = cJSON_GetArraySize(ck_json_get(cur, "metadata.finalizers")) > 0;
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
	return UPDATE_WRITE;
}

void verb_delete(api_req *r)
{
	delete_state *ds = ck_calloc(1, sizeof(*ds));
	ds->grace = -1;
	r->verb_data = ds;
	r->verb_free = free;
	if (r->hr->body_len) {
		if (api_decode_body(r) < 0) {
			api_req_free(r);
			return;
		}
		ds->grace = ck_json_get_int(r->body, "gracePeriodSeconds", -1);
	}
	int64_t g;
	int rc = api_query_int(r, "gracePeriodSeconds", &g);
	if (rc < 0) {
		status_bad_request(r->x, "invalid gracePeriodSeconds");
		api_req_free(r);
		return;
	}
	if (rc == 0)
		ds->grace = g;
	if (is_namespace(r->rt.kind) &&
	    (!strcmp(r->rt.name, "default") || !strcmp(r->rt.name, "kube-system") ||
	     !strcmp(r->rt.name, "kube-public"))) {
		status_send(r->x,
		            status_new(403, "Forbidden", status_details(r->rt.kind, r->rt.name),
		                       "namespaces \"%s\" is forbidden: this namespace may not "
		                       "be deleted",
		                       r->rt.name));
		api_req_free(r);
		return;
	}
	_cleanup_free_ char *key = storage_key(r->srv, r->rt.kind, r->rt.ns, r->rt.name);
	storage_update(r, key, delete_mutate, deleted);
}

/* ---- deletecollection: every matching object, at once ---- */

typedef struct collection_state {
	api_filter filter;
} collection_state;

static void collection_state_free(void *p)
{
	collection_state *cs = p;
	api_filter_clear(&cs->filter);
	free(cs);
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
	for (size_t i = 0; i < res->n_kvs; i++) {
		_cleanup_json_ cJSON *obj = storage_decode(
		    r->rt.kind, res->kvs[i].value, res->kvs[i].value_len, res->kvs[i].mod_revision);
		if (obj && api_filter_match(&cs->filter, obj))
			etcd_delete_if(r->srv->etcd, res->kvs[i].key, res->kvs[i].key_len,
			               res->kvs[i].mod_revision, storage_ignore_write, NULL);
	}
	status_send(r->x, status_new(200, NULL, NULL, "%s", ""));
	api_req_free(r);
}

void verb_deletecollection(api_req *r)
{
	collection_state *cs = ck_calloc(1, sizeof(*cs));
	r->verb_data = cs;
	r->verb_free = collection_state_free;
	if (api_filter_init(r, &cs->filter) < 0) {
		api_req_free(r);
		return;
	}
	_cleanup_free_ char *prefix = storage_prefix(r->srv, r->rt.kind, r->rt.ns);
	etcd_range(r->srv->etcd, &(etcd_range_req){.key = prefix, .prefix = true},
	           collection_listed, r);
}
