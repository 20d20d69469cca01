/* admission_namespace_lifecycle: upstream's NamespaceLifecycle: nothing is created in a
 * namespace that does not exist (404) or is being terminated (403), and the names a kind
 * declares undeletable (the system namespaces) are never deleted (403). The namespace
 * comes from the watch cache, or from etcd when the cache has none yet (it may be a
 * moment old); once terminating, a namespace stays so, so the cache is enough for that. */
#include "admission.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "server.h"
#include "status.h"
#include "storage.h"
#include "watch_cache.h"

static bool undeletable(const kind_desc *k, const char *name)
{
	for (const char *const *n = k->undeletable; n && *n; n++)
		if (!strcmp(*n, name))
			return true;
	return false;
}

static const kind_desc *namespace_kind(void)
{
	return kind_by_kind("", "v1", "Namespace");
}

cJSON *admission_namespace_decide(const admission_attrs *a, const cJSON *ns)
{
	const kind_desc *k = a->kind;
	if (a->op == ADMIT_DELETE) {
		if (!undeletable(k, a->name))
			return NULL;
		return status_new(403, "Forbidden", status_details(k, a->name),
		                  "%s \"%s\" is forbidden: this namespace may not be deleted",
		                  k->plural, a->name);
	}
	if (!ns)
		return status_not_found_new(namespace_kind(), a->ns);
	if (!ck_json_get(ns, "metadata.deletionTimestamp") &&
	    strcmp(ck_json_get_str(ns, "status.phase", ""), "Terminating"))
		return NULL;
	return status_new(403, "Forbidden", status_details(k, a->name),
	                  "%s \"%s\" is forbidden: unable to create new content in namespace %s "
	                  "because it is being terminated",
	                  k->plural, a->name, a->ns);
}

static void got_namespace(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	admission_run *q = data;
	if (rc < 0) {
		admission_next(q, status_new(500, "InternalError", NULL, "storage: %s",
		                             err ? err->msg : ck_strerror(rc)));
		return;
	}
	_cleanup_json_ cJSON *ns =
	    res->n_kvs ? storage_decode(namespace_kind(), res->kvs[0].value, res->kvs[0].value_len,
	                                res->kvs[0].mod_revision)
	               : NULL;
	admission_next(q, admission_namespace_decide(admission_attrs_of(q), ns));
}

static void namespace_lifecycle_admit(admission_run *q)
{
	const admission_attrs *a = admission_attrs_of(q);
	apiserver *s = admission_server(q);
	if (a->op == ADMIT_DELETE || !a->kind->namespaced) {
		admission_next(q,
		               a->op == ADMIT_DELETE ? admission_namespace_decide(a, NULL) : NULL);
		return;
	}
	const kind_desc *nsk = namespace_kind();
	_cleanup_free_ char *key = storage_key(s, nsk, NULL, a->ns);
	const cJSON *ns = NULL;
	if (watch_cache_get(s->caches[server_kind_index(nsk)], key, &ns) == 0 && ns) {
		admission_next(q, admission_namespace_decide(a, ns));
		return;
	}
	etcd_range(s->etcd, &(etcd_range_req){.key = key}, got_namespace, q);
}

const admission_plugin admission_namespace_lifecycle = {
    .name = "NamespaceLifecycle",
    .ops = ADMIT_CREATE | ADMIT_DELETE,
    .waits = true,
    .admit = namespace_lifecycle_admit,
};
