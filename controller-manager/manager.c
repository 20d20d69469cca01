/* The table runner: --controllers, one shared informer per kind on one kc_client, and the
 * real seams (informers as cm_cache, the kc_client as cm_api). See controller.h. */
#include "controller.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/map.h"
#include "base/strbuf.h"

/* ---- --controllers ---- */

static const cm_table_entry *table_find(const cm_table_entry *table, const char *name)
{
	for (const cm_table_entry *e = table; e->desc; e++)
		if (!strcmp(e->desc->name, name))
			return e;
	return NULL;
}

int cm_controllers_check(const cm_table_entry *table, char *const *list, ck_err **err)
{
	for (char *const *p = list; p && *p; p++) {
		const char *name = **p == '-' ? *p + 1 : *p;
		if (strcmp(*p, "*") && !table_find(table, name))
			return ck_err_set(err, -EINVAL,
			                  "\"%s\" is not in the list of known controllers", name);
	}
	return 0;
}

bool cm_controller_enabled(char *const *list, const char *name)
{
	bool star = !list || !*list;
	for (char *const *p = list; p && *p; p++) {
		if (**p == '-' && !strcmp(*p + 1, name))
			return false;
		if (!strcmp(*p, name))
			return true;
		star |= !strcmp(*p, "*");
	}
	return star;
}

/* ---- informers as cm_cache ---- */

typedef struct shared {
	cm_cache cache;
	informer *inf;
} shared;

static const cJSON *inf_get(void *impl, const char *key)
{
	return informer_get(impl, key);
}

static const cJSON **inf_list(void *impl, size_t *n)
{
	return informer_list(impl, n);
}

static const cJSON **inf_by_index(void *impl, const char *index, const char *value, size_t *n)
{
	return informer_by_index(impl, index, value, n);
}

static void inf_on_synced(void *impl, void (*cb)(void *data), void *data)
{
	informer_on_synced(impl, cb, data);
}

static void inf_add_handlers(void *impl, const informer_handlers *h)
{
	informer_add_handlers(impl, h);
}

static const cm_cache_ops INFORMER_OPS = {
    .get = inf_get,
    .list = inf_list,
    .by_index = inf_by_index,
    .on_synced = inf_on_synced,
    .add_handlers = inf_add_handlers,
};

struct cm_manager {
	cm_ctx ctx;
	kc_client *client;
	ck_map *caches; /* "group/Kind" -> shared */
	cm_controller **controllers;
	size_t n_controllers;
};

static void shared_free(void *p)
{
	shared *s = p;
	informer_free(s->inf);
	free(s);
}

static cm_cache *shared_cache(void *impl, const kc_resource *r)
{
	cm_manager *m = impl;
	_cleanup_free_ char *id = ck_asprintf("%s/%s", r->group, r->kind);
	shared *s = ck_map_get(m->caches, id);
	if (s)
		return &s->cache;
	_cleanup_err_ ck_err *err = NULL;
	informer *inf = NULL;
	if (informer_new(m->client, &(informer_opts){.resource = r}, &inf, &err) < 0) {
		CK_ERROR("informer %s: %s", r->kind, err->msg);
		return NULL;
	}
	for (const cm_index *ix = CM_INDEXES; ix->name; ix++)
		informer_add_index(inf, ix->name, ix->fn, NULL);
	s = ck_calloc(1, sizeof(*s));
	s->cache = (cm_cache){.ops = &INFORMER_OPS, .impl = inf, .res = r};
	s->inf = inf;
	ck_map_set(m->caches, id, s);
	return &s->cache;
}

/* ---- the kc_client as cm_api ---- */

static int api_start(void *impl, const cm_request *rq, kc_result_fn cb, void *user, void **call)
{
	kc_client *c = impl;
	const char *ns = rq->ns && *rq->ns ? rq->ns : NULL;
	if (call) {
		/* kc_request_call is the one cancellable request: the writer's two. */
		const char *method = "PUT", *type = "application/json", *sub = "status";
		if (rq->verb == CM_PATCH && rq->patch_type == KC_PATCH_MERGE) {
			method = "PATCH";
			type = "application/merge-patch+json";
			sub = NULL;
		} else if (rq->verb != CM_UPDATE_STATUS) {
			return -EINVAL;
		}
		_cleanup_free_ char *path = kc_path(rq->res, ns, rq->name, sub);
		return kc_request_call(c, method, path, type, rq->body, cb, user, (kc_call **)call);
	}
	switch (rq->verb) {
	case CM_GET:
		return kc_get(c, rq->res, ns, rq->name, cb, user);
	case CM_CREATE:
		return rq->background ? kc_create_background(c, rq->res, ns, rq->body, cb, user)
		                      : kc_create(c, rq->res, ns, rq->body, cb, user);
	case CM_UPDATE_STATUS:
		return kc_update_status(c, rq->res, ns, rq->body, cb, user);
	case CM_PATCH:
		return kc_patch(c, rq->res, ns, rq->name, NULL, rq->patch_type, rq->body, cb, user);
	case CM_DELETE:
		return kc_delete(c, rq->res, ns, rq->name, rq->delete_opts, cb, user);
	}
	return -EINVAL;
}

static void api_cancel(void *impl, void *call)
{
	kc_call_cancel(call);
}

static const cm_api_ops CLIENT_OPS = {.start = api_start, .cancel = api_cancel};

/* ---- the manager ---- */

int cm_manager_start(uv_loop_t *loop, kc_client *client, const cm_table_entry *table,
                     char *const *list, cm_manager **out, ck_err **err)
{
	cm_manager *m = ck_calloc(1, sizeof(*m));
	m->client = client;
	m->caches = ck_map_new(shared_free);
	m->ctx = (cm_ctx){
	    .loop = loop,
	    .api = &CLIENT_OPS,
	    .api_impl = client,
	    .cache = shared_cache,
	    .cache_impl = m,
	};
	_cleanup_buf_ ck_buf names = {0};
	for (const cm_table_entry *e = table; e->desc; e++) {
		if (!cm_controller_enabled(list, e->desc->name))
			continue;
		cm_controller *c = NULL;
		int rc = cm_controller_new(&m->ctx, e->desc, e->workers ? *e->workers : 1, &c, err);
		if (rc < 0) {
			cm_manager_free(m);
			return rc;
		}
		m->controllers =
		    ck_realloc(m->controllers, (m->n_controllers + 1) * sizeof(*m->controllers));
		m->controllers[m->n_controllers++] = c;
		ck_buf_printf(&names, "%s%s", names.len ? ", " : "", e->desc->name);
	}
	/* Every cache was asked for by a controller's start: none gets an index or a
	 * handler after it started. */
	ck_map_iter it = CK_MAP_ITER_INIT;
	void *v;
	while (ck_map_next(m->caches, &it, NULL, &v))
		informer_start(((shared *)v)->inf);
	CK_INFO("controllers started: %s", names.len ? names.s : "none");
	*out = m;
	return 0;
}

void cm_manager_free(cm_manager *m)
{
	if (!m)
		return;
	for (size_t i = m->n_controllers; i > 0; i--)
		cm_controller_free(m->controllers[i - 1]);
	free(m->controllers);
	ck_map_free(m->caches);
	free(m);
}
