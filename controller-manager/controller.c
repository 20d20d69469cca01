/* The controller record (its queue, its caches, parked keys until they synced), the seams'
 * wrappers and the object helpers. See controller.h. */
#include "controller.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api/condition.h"
#include "api/event.h"
#include "base/json.h"
#include "base/log.h"
#include "base/map.h"
#include "base/strbuf.h"

struct cm_controller {
	cm_ctx *ctx;
	const cm_controller_desc *desc;
	void *state;
	wq *queue;
	cm_cache **caches;
	size_t n_caches, n_synced;
	bool starting; /* its caches are still being asked for */
	bool synced;
	ck_map *parked; /* keys that came before the caches synced */
	ck_map *exps;   /* key -> expectation */
	void **allocs;  /* cm_controller_alloc's */
	size_t n_allocs;
};

/* ---- the seams ---- */

static char **index_orphan(const cJSON *obj, void *data)
{
	if (cm_controller_ref(obj))
		return NULL;
	char **v = ck_calloc(2, sizeof(*v));
	v[0] = ck_strdup(kc_obj_namespace(obj));
	return v;
}

const cm_index CM_INDEXES[] = {
    {CM_INDEX_OWNER, informer_index_owner_uid},
    {CM_INDEX_ORPHAN, index_orphan},
    {0},
};

const cJSON *cm_cache_get(const cm_cache *c, const char *key)
{
	return c->ops->get(c->impl, key);
}

const cJSON *cm_cache_get_ns(const cm_cache *c, const char *ns, const char *name)
{
	if (!c->res->namespaced || !ns || !*ns)
		return cm_cache_get(c, name);
	_cleanup_free_ char *key = ck_asprintf("%s/%s", ns, name);
	return cm_cache_get(c, key);
}

const cJSON **cm_cache_list(const cm_cache *c, size_t *n)
{
	return c->ops->list(c->impl, n);
}

const cJSON **cm_cache_by_index(const cm_cache *c, const char *index, const char *value, size_t *n)
{
	return c->ops->by_index(c->impl, index, value, n);
}

int cm_request_start(const cm_ctx *ctx, const cm_request *rq, kc_result_fn cb, void *user)
{
	return ctx->api->start(ctx->api_impl, rq, cb, user, NULL);
}

/* A request of a key's sync (cm_request_for). */
typedef struct keyed_call {
	cm_controller *c;
	char *key;
	const char *what;
	void (*failed)(cm_controller *c, const char *key);
} keyed_call;

/* A failed request of key's sync: its object's picture was wrong, sync again. */
static void keyed_failed(keyed_call *k, int rc, const ck_err *err)
{
	CK_V(2, "%s: %s: %s", k->key, k->what, err ? err->msg : ck_strerror(rc));
	if (k->failed)
		k->failed(k->c, k->key);
	wq_add_rate_limited(k->c->queue, k->key);
	free(k->key);
	free(k);
}

static void keyed_done(kc_result *res, void *user)
{
	keyed_call *k = user;
	if (res->rc < 0 && res->rc != -ENOENT && res->rc != -EEXIST) {
		keyed_failed(k, res->rc, res->err);
		return;
	}
	free(k->key);
	free(k);
}

void cm_request_for(cm_controller *c, const char *key, const cm_request *rq, const char *what,
                    void (*failed)(cm_controller *c, const char *key))
{
	keyed_call *k = ck_calloc(1, sizeof(*k));
	k->c = c;
	k->key = ck_strdup(key);
	k->what = what;
	k->failed = failed;
	int rc = cm_request_start(c->ctx, rq, keyed_done, k);
	if (rc < 0)
		keyed_failed(k, rc, NULL);
}

/* ---- the controller record ---- */

static void all_synced(cm_controller *c)
{
	c->synced = true;
	if (c->desc->synced)
		c->desc->synced(c->state);
	const char *key;
	void *v;
	ck_map_iter it = {0};
	while (ck_map_next(c->parked, &it, &key, &v))
		wq_add(c->queue, key);
	ck_map_free(c->parked);
	c->parked = ck_map_new(NULL);
}

static void cache_synced(void *data)
{
	cm_controller *c = data;
	if (++c->n_synced == c->n_caches && !c->starting)
		all_synced(c);
}

cm_cache *cm_controller_cache(cm_controller *c, const kc_resource *r)
{
	cm_cache *cache = c->ctx->cache(c->ctx->cache_impl, r);
	if (!cache)
		return NULL;
	for (size_t i = 0; i < c->n_caches; i++)
		if (c->caches[i] == cache)
			return cache;
	c->caches = ck_realloc(c->caches, (c->n_caches + 1) * sizeof(*c->caches));
	c->caches[c->n_caches++] = cache;
	cache->ops->on_synced(cache->impl, cache_synced, c);
	return cache;
}

static int sync_key(const char *key, void *data)
{
	cm_controller *c = data;
	if (!c->synced) {
		/* Acting on a partial picture would create pods that exist or delete objects
		 * whose owner is not loaded yet: the key waits for the caches. */
		ck_map_set(c->parked, key, NULL);
		return 0;
	}
	return c->desc->sync(c->state, key);
}

int cm_controller_new(cm_ctx *ctx, const cm_controller_desc *d, int workers, cm_controller **out,
                      ck_err **err)
{
	cm_controller *c = ck_calloc(1, sizeof(*c));
	c->ctx = ctx;
	c->desc = d;
	c->parked = ck_map_new(NULL);
	c->exps = ck_map_new(free);
	wq_opts qo = {.name = d->name, .workers = workers > 0 ? workers : 1};
	int rc = wq_new(ctx->loop, &qo, sync_key, c, &c->queue);
	if (rc < 0) {
		cm_controller_free(c);
		return ck_err_set(err, rc, "controller %s: cannot create its queue", d->name);
	}
	/* Synced means all of them: a cache may report before the next one is asked for. */
	c->starting = true;
	for (const kc_resource *const *r = d->informers; r && *r; r++) {
		if (!cm_controller_cache(c, *r)) {
			cm_controller_free(c);
			return ck_err_set(err, -EINVAL, "controller %s: no cache of %s", d->name,
			                  (*r)->kind);
		}
	}
	if ((rc = d->start(c, &c->state, err)) < 0) {
		cm_controller_free(c);
		return ck_err_wrap(err, rc, "controller %s", d->name);
	}
	c->starting = false;
	if (c->n_synced == c->n_caches)
		all_synced(c);
	*out = c;
	return 0;
}

void cm_controller_free(cm_controller *c)
{
	if (!c)
		return;
	if (c->state)
		c->desc->free(c->state);
	wq_free(c->queue);
	free(c->caches);
	ck_map_free(c->parked);
	ck_map_free(c->exps);
	for (size_t i = 0; i < c->n_allocs; i++)
		free(c->allocs[i]);
	free(c->allocs);
	free(c);
}

cm_ctx *cm_controller_ctx(const cm_controller *c)
{
	return c->ctx;
}

wq *cm_controller_queue(const cm_controller *c)
{
	return c->queue;
}

void *cm_controller_alloc(cm_controller *c, size_t size)
{
	c->allocs = ck_realloc(c->allocs, (c->n_allocs + 1) * sizeof(*c->allocs));
	return c->allocs[c->n_allocs++] = ck_calloc(1, size);
}

bool cm_controller_synced(const cm_controller *c)
{
	return c->synced;
}

/* ---- expectations ---- */

#define EXPECTATIONS_TTL_MS (5 * 60 * 1000)

typedef struct expectation {
	int adds, dels;
	uint64_t set_at;
} expectation;

bool cm_exp_satisfied(cm_controller *c, const char *key)
{
	expectation *e = ck_map_get(c->exps, key);
	if (!e)
		return true;
	if ((e->adds <= 0 && e->dels <= 0) ||
	    uv_now(c->ctx->loop) - e->set_at > EXPECTATIONS_TTL_MS) {
		ck_map_remove(c->exps, key);
		return true;
	}
	return false;
}

void cm_exp_set(cm_controller *c, const char *key, int adds, int dels)
{
	expectation *e = ck_calloc(1, sizeof(*e));
	e->adds = adds;
	e->dels = dels;
	e->set_at = uv_now(c->ctx->loop);
	ck_map_set(c->exps, key, e);
}

void cm_exp_observe(cm_controller *c, const char *key, int adds, int dels)
{
	expectation *e = ck_map_get(c->exps, key);
	if (!e)
		return;
	e->adds -= adds;
	e->dels -= dels;
}

void cm_exp_drop(cm_controller *c, const char *key)
{
	ck_map_remove(c->exps, key);
}

void cm_exp_pending(cm_controller *c, const char *key, int *adds, int *dels)
{
	expectation *e = ck_map_get(c->exps, key);
	*adds = e ? e->adds : 0;
	*dels = e ? e->dels : 0;
}

/* ---- Events ---- */

static void on_event_created(kc_result *res, void *user)
{
	if (res->rc < 0)
		CK_V(2, "event not recorded: %s", res->err ? res->err->msg : ck_strerror(res->rc));
}

void cm_event(cm_controller *c, const kc_resource *r, const cJSON *obj, const char *type,
              const char *reason, const char *fmt, ...)
{
	ev_source src = {.component = c->desc->component};
	va_list ap;
	va_start(ap, fmt);
	_cleanup_json_ cJSON *ev = ev_buildv(r, obj, NULL, &src, type, reason, NULL, fmt, ap);
	va_end(ap);
	cm_request rq = {
	    .verb = CM_CREATE,
	    .res = &KC_EVENTS,
	    .ns = ck_json_get_str(ev, "metadata.namespace", "default"),
	    .body = ev,
	    .background = true,
	};
	if (cm_request_start(c->ctx, &rq, on_event_created, NULL) < 0)
		CK_V(2, "event %s not recorded", reason);
}

/* ---- object helpers ---- */

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
	return condition_true(pod, "Ready");
}

bool cm_pod_active(const cJSON *pod)
{
	const char *phase = ck_json_get_str(pod, "status.phase", "");
	return strcmp(phase, "Succeeded") && strcmp(phase, "Failed") && !cm_being_deleted(pod);
}
