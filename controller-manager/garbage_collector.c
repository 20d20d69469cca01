/* The garbage collector: deletes objects whose owners are all gone (background cascading
 * deletion). Owners it knows are Deployments and ReplicaSets; dependents are ReplicaSets
 * and Pods. An owner missing from the cache is confirmed absent by a live GET before its
 * dependent is deleted (with a uid precondition), so a cache that lags never costs a pod.
 * After a restart, once the caches are synced, every dependent is checked once. */
#include "controller.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "base/strbuf.h"

struct cm_gc {
	cm_ctx *ctx;
	wq *queue;
	int synced; /* informers synced so far */
};

typedef struct kind_map {
	const char *kind;
	const kc_resource *res;
	informer *(*inf)(cm_ctx *ctx);
	char tag; /* key prefix in the queue */
} kind_map;

static informer *inf_deployments(cm_ctx *ctx)
{
	return ctx->deployments;
}
static informer *inf_replicasets(cm_ctx *ctx)
{
	return ctx->replicasets;
}
static informer *inf_pods(cm_ctx *ctx)
{
	return ctx->pods;
}

static const kind_map KINDS[] = {
    {"Deployment", &KC_DEPLOYMENTS, inf_deployments, 'd'},
    {"ReplicaSet", &KC_REPLICASETS, inf_replicasets, 's'},
    {"Pod", &KC_PODS, inf_pods, 'p'},
};

static const kind_map *kind_by_name(const char *kind)
{
	for (size_t i = 0; i < CK_ARRAY_SIZE(KINDS); i++)
		if (ck_streq(KINDS[i].kind, kind))
			return &KINDS[i];
	return NULL;
}

static const kind_map *kind_by_tag(char tag)
{
	for (size_t i = 0; i < CK_ARRAY_SIZE(KINDS); i++)
		if (KINDS[i].tag == tag)
			return &KINDS[i];
	return NULL;
}

static void enqueue_dependent(cm_gc *gc, char tag, const cJSON *obj)
{
	if (!ck_json_get(obj, "metadata.ownerReferences"))
		return;
	_cleanup_free_ char *k = informer_key(obj);
	_cleanup_free_ char *key = ck_asprintf("%c|%s", tag, k);
	wq_add(gc->queue, key);
}

typedef struct check {
	cm_gc *gc;
	char *key;
	const kind_map *dep_kind;
	char *dep_ns, *dep_name, *dep_uid;
	char *owner_uid;
} check;

static void check_free(check *c)
{
	free(c->key);
	free(c->dep_ns);
	free(c->dep_name);
	free(c->dep_uid);
	free(c->owner_uid);
	free(c);
}

static void on_deleted(kc_result *res, void *user)
{
	check *c = user;
	int rc = 0;
	if (res->rc == 0 || res->rc == -ENOENT || res->rc == CK_ECONFLICT)
		CK_V(1, "garbage collector: deleted %s %s/%s", c->dep_kind->kind, c->dep_ns,
		     c->dep_name);
	else
		rc = res->rc;
	wq_done(c->gc->queue, c->key, rc);
	check_free(c);
}

static void on_owner(kc_result *res, void *user)
{
	check *c = user;
	bool gone =
	    res->rc == -ENOENT || (res->rc == 0 && !ck_streq(kc_obj_uid(res->obj), c->owner_uid));
	if (!gone) {
		wq_done(c->gc->queue, c->key, res->rc < 0 ? res->rc : 0);
		check_free(c);
		return;
	}
	kc_delete_opts o = KC_DELETE_OPTS_INIT;
	o.propagation_policy = "Background";
	o.precondition_uid = c->dep_uid;
	if (kc_delete(c->gc->ctx->client, c->dep_kind->res, c->dep_ns, c->dep_name, &o, on_deleted,
	              c) < 0) {
		wq_done(c->gc->queue, c->key, -EIO);
		check_free(c);
	}
}

static int gc_sync(const char *key, void *data)
{
	cm_gc *gc = data;
	cm_ctx *ctx = gc->ctx;
	const kind_map *dk = key[0] && key[1] == '|' ? kind_by_tag(key[0]) : NULL;
	if (!dk)
		return 0;
	const cJSON *dep = informer_get(dk->inf(ctx), key + 2);
	if (!dep)
		return 0;
	const cJSON *ref, *missing = NULL;
	const kind_map *missing_kind = NULL;
	cJSON_ArrayForEach(ref, ck_json_get(dep, "metadata.ownerReferences"))
	{
		const kind_map *ok = kind_by_name(ck_json_get_str(ref, "kind", NULL));
		if (!ok || ok == dk)
			return 0; /* an owner we cannot see keeps the object */
		const cJSON *owner = informer_get_ns(ok->inf(ctx), kc_obj_namespace(dep),
		                                     ck_json_get_str(ref, "name", ""));
		if (owner && ck_streq(kc_obj_uid(owner), ck_json_get_str(ref, "uid", NULL)))
			return 0;
		missing = ref;
		missing_kind = ok;
	}
	if (!missing)
		return 0;
	check *c = ck_calloc(1, sizeof(*c));
	c->gc = gc;
	c->key = ck_strdup(key);
	c->dep_kind = dk;
	c->dep_ns = ck_strdup(kc_obj_namespace(dep));
	c->dep_name = ck_strdup(kc_obj_name(dep));
	c->dep_uid = ck_strdup(kc_obj_uid(dep));
	c->owner_uid = ck_strdup(ck_json_get_str(missing, "uid", ""));
	if (kc_get(ctx->client, missing_kind->res, c->dep_ns, ck_json_get_str(missing, "name", ""),
	           on_owner, c) < 0) {
		check_free(c);
		return -EIO;
	}
	return WQ_ASYNC;
}

/* ---- handlers ---- */

static void owner_deleted(cm_gc *gc, const cJSON *owner)
{
	const kind_map *deps[] = {&KINDS[1], &KINDS[2]};
	for (size_t i = 0; i < CK_ARRAY_SIZE(deps); i++) {
		size_t n = 0;
		_cleanup_free_ const cJSON **objs =
		    informer_by_index(deps[i]->inf(gc->ctx), CM_INDEX_OWNER, kc_obj_uid(owner), &n);
		for (size_t k = 0; k < n; k++)
			enqueue_dependent(gc, deps[i]->tag, objs[k]);
	}
}

static void d_deleted(const cJSON *obj, void *data)
{
	owner_deleted(data, obj);
}

static void rs_added(const cJSON *obj, void *data)
{
	cm_gc *gc = data;
	if (gc->synced == 3)
		enqueue_dependent(gc, 's', obj);
}

static void rs_updated(const cJSON *old_obj, const cJSON *new_obj, void *data)
{
	rs_added(new_obj, data);
}

static void rs_deleted(const cJSON *obj, void *data)
{
	owner_deleted(data, obj);
}

static void pod_added(const cJSON *obj, void *data)
{
	cm_gc *gc = data;
	if (gc->synced == 3)
		enqueue_dependent(gc, 'p', obj);
}

static void pod_updated(const cJSON *old_obj, const cJSON *new_obj, void *data)
{
	pod_added(new_obj, data);
}

/* Once all three caches hold the cluster, check every dependent once. */
static void on_synced(void *data)
{
	cm_gc *gc = data;
	if (++gc->synced < 3)
		return;
	const kind_map *deps[] = {&KINDS[1], &KINDS[2]};
	for (size_t i = 0; i < CK_ARRAY_SIZE(deps); i++) {
		size_t n = 0;
		_cleanup_free_ const cJSON **objs = informer_list(deps[i]->inf(gc->ctx), &n);
		for (size_t k = 0; k < n; k++)
			enqueue_dependent(gc, deps[i]->tag, objs[k]);
	}
}

int cm_gc_start(cm_ctx *ctx, cm_gc **out)
{
	cm_gc *gc = ck_calloc(1, sizeof(*gc));
	gc->ctx = ctx;
	wq_opts qo = {.name = "garbagecollector", .workers = ctx->workers};
	int r = wq_new(ctx->loop, &qo, gc_sync, gc, &gc->queue);
	if (r < 0) {
		free(gc);
		return r;
	}
	informer_handlers dh = {.on_delete = d_deleted, .data = gc};
	informer_handlers rh = {
	    .on_add = rs_added, .on_update = rs_updated, .on_delete = rs_deleted, .data = gc};
	informer_handlers ph = {.on_add = pod_added, .on_update = pod_updated, .data = gc};
	informer_add_handlers(ctx->deployments, &dh);
	informer_add_handlers(ctx->replicasets, &rh);
	informer_add_handlers(ctx->pods, &ph);
	informer_on_synced(ctx->deployments, on_synced, gc);
	informer_on_synced(ctx->replicasets, on_synced, gc);
	informer_on_synced(ctx->pods, on_synced, gc);
	*out = gc;
	return 0;
}

void cm_gc_free(cm_gc *gc)
{
	if (!gc)
		return;
	wq_free(gc->queue);
	free(gc);
}
