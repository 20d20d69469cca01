/* namespace_finalize: the namespace controller's part, played by the apiserver until
 * controller-manager has a namespace controller (that controller replaces this file).
 *
 * A deleted namespace stays Terminating behind the "kubernetes" finalizer in its
 * spec.finalizers. This follows the namespaces' watch cache; for each namespace being
 * deleted that still has the finalizer it deletes every object in it through the
 * ordinary delete path (delete_internal: grace periods and finalizers honoured, Service
 * reservations given back), looks again a moment later (pods wait for their kubelet),
 * and once nothing is left removes the finalizer, as PUT .../finalize would: the
 * namespace then goes when no other finalizer holds it. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "base/map.h"
#include "storage.h"
#include "watch_cache.h"

#define FINALIZER  "kubernetes"
#define RECHECK_MS 2000

typedef struct nsf {
	apiserver *s;
	const kind_desc *kind; /* Namespace */
	wc_sub *sub;
	uv_timer_t resubscribe;
	ck_map *jobs; /* namespace name -> ns_job */
} nsf;

/* One namespace being emptied. */
typedef struct ns_job {
	nsf *f;
	char *name;
	uv_timer_t timer;
	size_t kind; /* index in kind_all() of the kind being listed */
	/* What the round found: kinds[i], names[i]. */
	const kind_desc **kinds;
	char **names;
	size_t n, next;
} ns_job;

static void job_closed(uv_handle_t *h)
{
	ns_job *j = h->data;
	free(j->name);
	free(j);
}

static void job_clear_round(ns_job *j)
{
	for (size_t i = 0; i < j->n; i++)
		free(j->names[i]);
	free(j->names);
	free(j->kinds);
	j->names = NULL;
	j->kinds = NULL;
	j->n = j->next = 0;
}

static void job_end(ns_job *j)
{
	job_clear_round(j);
	ck_map_remove(j->f->jobs, j->name);
	uv_close((uv_handle_t *)&j->timer, job_closed);
}

static void job_round(uv_timer_t *t);

static void job_later(ns_job *j)
{
	job_clear_round(j);
	uv_timer_start(&j->timer, job_round, RECHECK_MS, 0);
}

/* Removes "kubernetes" from spec.finalizers in place; true when it was there. */
static bool drop_finalizer(cJSON *ns)
{
	cJSON *list = ck_json_get(ns, "spec.finalizers");
	int i = 0;
	const cJSON *f;
	cJSON_ArrayForEach(f, list)
	{
		if (cJSON_IsString(f) && !strcmp(f->valuestring, FINALIZER)) {
			cJSON_DeleteItemFromArray(list, i);
			return true;
		}
		i++;
	}
	return false;
}

static void finalized(int rc, const etcd_write_result *res, const ck_err *err, void *data)
{
	ns_job *j = data;
	if (rc < 0) {
		/* Changed meanwhile (a conflict) or etcd failed: look again. */
		job_later(j);
		return;
	}
	CK_V(2, "namespace %s finalized", j->name);
	job_end(j);
}

static void got_namespace(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	ns_job *j = data;
	if (rc < 0) {
		job_later(j);
		return;
	}
	_cleanup_json_ cJSON *ns =
	    res->n_kvs ? storage_decode(j->f->kind, res->kvs[0].value, res->kvs[0].value_len,
	                                res->kvs[0].mod_revision)
	               : NULL;
	if (!ns || !ck_json_get(ns, "metadata.deletionTimestamp") || !drop_finalizer(ns)) {
		job_end(j);
		return;
	}
	_cleanup_free_ char *key = storage_key(j->f->s, j->f->kind, NULL, j->name);
	int64_t mod = res->kvs[0].mod_revision;
	if (!j->f->kind->finalizing(ns) &&
	    cJSON_GetArraySize(ck_json_get(ns, "metadata.finalizers")) == 0) {
		etcd_delete_if(j->f->s->etcd, key, strlen(key), mod, finalized, j);
		return;
	}
	_cleanup_free_ char *val = storage_encode(j->f->kind, ns);
	etcd_put_if(j->f->s->etcd, key, strlen(key), mod, val, strlen(val), 0, finalized, j);
}

static void finalize(ns_job *j)
{
	_cleanup_free_ char *key = storage_key(j->f->s, j->f->kind, NULL, j->name);
	etcd_range(j->f->s->etcd, &(etcd_range_req){.key = key}, got_namespace, j);
}

static void delete_next(ns_job *j);

static void one_deleted(int code, const cJSON *obj, void *data)
{
	ns_job *j = data;
	if (code != 200 && code != 404)
		CK_V(1, "namespace %s: deleting %s %s: %d", j->name, j->kinds[j->next - 1]->plural,
		     j->names[j->next - 1], code);
	delete_next(j);
}

static void delete_next(ns_job *j)
{
	if (j->next == j->n) {
		job_later(j);
		return;
	}
	size_t i = j->next++;
	delete_internal(j->f->s, j->kinds[i], j->name, j->names[i], -1, false, one_deleted, j);
}

static void list_next(ns_job *j);

static void listed(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	ns_job *j = data;
	if (rc < 0) {
		job_later(j);
		return;
	}
	size_t n;
	const kind_desc *k = kind_all(&n)[j->kind];
	_cleanup_free_ char *prefix = storage_prefix(j->f->s, k, j->name);
	size_t plen = strlen(prefix);
	for (size_t i = 0; i < res->n_kvs; i++) {
		if (res->kvs[i].key_len <= plen)
			continue;
		j->kinds = ck_realloc(j->kinds, (j->n + 1) * sizeof(*j->kinds));
		j->names = ck_realloc(j->names, (j->n + 1) * sizeof(*j->names));
		j->kinds[j->n] = k;
		j->names[j->n++] =
		    ck_strndup((const char *)res->kvs[i].key + plen, res->kvs[i].key_len - plen);
	}
	j->kind++;
	list_next(j);
}

/* Lists the next namespaced kind's objects in the namespace; after the last, deletes
 * what was found or, when nothing was, finalizes. */
static void list_next(ns_job *j)
{
	size_t n;
	const kind_desc *const *all = kind_all(&n);
	while (j->kind < n && !all[j->kind]->namespaced)
		j->kind++;
	if (j->kind == n) {
		if (j->n)
			delete_next(j);
		else
			finalize(j);
		return;
	}
	_cleanup_free_ char *prefix = storage_prefix(j->f->s, all[j->kind], j->name);
	etcd_range(j->f->s->etcd,
	           &(etcd_range_req){.key = prefix, .prefix = true, .keys_only = true}, listed, j);
}

static void job_round(uv_timer_t *t)
{
	ns_job *j = t->data;
	j->kind = 0;
	list_next(j);
}

static bool has_finalizer(const cJSON *ns)
{
	const cJSON *f;
	cJSON_ArrayForEach(f, ck_json_get(ns, "spec.finalizers"))
	{
		if (cJSON_IsString(f) && !strcmp(f->valuestring, FINALIZER))
			return true;
	}
	return false;
}

static void on_event(const wc_event *ev, void *data)
{
	nsf *f = data;
	const char *name = ck_json_get_str(ev->obj, "metadata.name", "");
	if (ev->type == WC_DELETED || !ck_json_get(ev->obj, "metadata.deletionTimestamp") ||
	    !has_finalizer(ev->obj) || ck_map_contains(f->jobs, name))
		return;
	ns_job *j = ck_calloc(1, sizeof(*j));
	j->f = f;
	j->name = ck_strdup(name);
	uv_timer_init(f->s->loop, &j->timer);
	j->timer.data = j;
	ck_map_set(f->jobs, name, j);
	uv_timer_start(&j->timer, job_round, 0, 0);
}

static void subscribe(uv_timer_t *t);

static void on_reset(void *data)
{
	nsf *f = data;
	f->sub = NULL;
	uv_timer_start(&f->resubscribe, subscribe, RECHECK_MS, 0);
}

static void subscribe(uv_timer_t *t)
{
	nsf *f = t->data;
	watch_cache *c = f->s->caches[server_kind_index(f->kind)];
	/* Every current namespace first: those a restart left Terminating resume. */
	if (watch_cache_subscribe(c, -1, on_event, on_reset, f, &f->sub) < 0)
		uv_timer_start(&f->resubscribe, subscribe, RECHECK_MS, 0);
}

void namespace_finalize_start(apiserver *s)
{
	nsf *f = ck_calloc(1, sizeof(*f));
	f->s = s;
	f->kind = kind_by_kind("", "v1", "Namespace");
	f->jobs = ck_map_new(NULL);
	uv_timer_init(s->loop, &f->resubscribe);
	f->resubscribe.data = f;
	uv_unref((uv_handle_t *)&f->resubscribe);
	subscribe(&f->resubscribe);
}
