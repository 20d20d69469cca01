/* fake_informer: see fake_informer.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_informer.h"

#include "base/json.h"
#include "base/map.h"
#include "base/strbuf.h"

typedef struct sync_cb {
	void (*cb)(void *data);
	void *data;
} sync_cb;

struct fake_informer {
	cm_cache cache;
	ck_map *objs; /* key -> cJSON */
	informer_handlers *handlers;
	size_t n_handlers;
	sync_cb *cbs;
	size_t n_cbs;
	bool synced;
};

static void obj_free(void *p)
{
	cJSON_Delete(p);
}

static const cJSON *fi_get(void *impl, const char *key)
{
	fake_informer *fi = impl;
	return ck_map_get(fi->objs, key);
}

/* The objects for which keep(obj, data) holds: a malloc'd array. */
static const cJSON **select_objs(fake_informer *fi, bool (*keep)(const cJSON *, const void *),
                                 const void *data, size_t *n)
{
	const cJSON **out = ck_calloc(ck_map_len(fi->objs) + 1, sizeof(*out));
	size_t k = 0;
	ck_map_iter it = CK_MAP_ITER_INIT;
	void *v;
	while (ck_map_next(fi->objs, &it, NULL, &v))
		if (!keep || keep(v, data))
			out[k++] = v;
	*n = k;
	return out;
}

static const cJSON **fi_list(void *impl, size_t *n)
{
	return select_objs(impl, NULL, NULL, n);
}

typedef struct index_query {
	const char *index, *value;
} index_query;

static bool in_index(const cJSON *obj, const void *data)
{
	const index_query *q = data;
	if (!strcmp(q->index, INFORMER_INDEX_NAMESPACE))
		return !strcmp(kc_obj_namespace(obj), q->value);
	for (const cm_index *ix = CM_INDEXES; ix->name; ix++) {
		if (strcmp(ix->name, q->index))
			continue;
		char **vals = ix->fn(obj, NULL);
		bool found = false;
		for (char **v = vals; v && *v; v++)
			found |= !strcmp(*v, q->value);
		ck_strv_free(vals);
		return found;
	}
	return false;
}

static const cJSON **fi_by_index(void *impl, const char *index, const char *value, size_t *n)
{
	index_query q = {index, value};
	return select_objs(impl, in_index, &q, n);
}

static void fi_on_synced(void *impl, void (*cb)(void *data), void *data)
{
	fake_informer *fi = impl;
	if (fi->synced) {
		cb(data);
		return;
	}
	fi->cbs = ck_realloc(fi->cbs, (fi->n_cbs + 1) * sizeof(*fi->cbs));
	fi->cbs[fi->n_cbs++] = (sync_cb){cb, data};
}

static void fi_add_handlers(void *impl, const informer_handlers *h)
{
	fake_informer *fi = impl;
	fi->handlers = ck_realloc(fi->handlers, (fi->n_handlers + 1) * sizeof(*fi->handlers));
	fi->handlers[fi->n_handlers++] = *h;
}

static const cm_cache_ops FAKE_OPS = {
    .get = fi_get,
    .list = fi_list,
    .by_index = fi_by_index,
    .on_synced = fi_on_synced,
    .add_handlers = fi_add_handlers,
};

fake_informer *fake_informer_new(const kc_resource *r, bool synced)
{
	fake_informer *fi = ck_calloc(1, sizeof(*fi));
	fi->cache = (cm_cache){.ops = &FAKE_OPS, .impl = fi, .res = r};
	fi->objs = ck_map_new(obj_free);
	fi->synced = synced;
	return fi;
}

void fake_informer_free(fake_informer *fi)
{
	if (!fi)
		return;
	ck_map_free(fi->objs);
	free(fi->handlers);
	free(fi->cbs);
	free(fi);
}

cm_cache *fake_informer_cache(fake_informer *fi)
{
	return &fi->cache;
}

void fake_informer_put(fake_informer *fi, cJSON *obj)
{
	_cleanup_free_ char *key = informer_key(obj);
	cJSON *old = ck_map_take(fi->objs, key);
	ck_map_set(fi->objs, key, obj);
	for (size_t i = 0; i < fi->n_handlers; i++) {
		const informer_handlers *h = &fi->handlers[i];
		if (old && h->on_update)
			h->on_update(old, obj, h->data);
		else if (!old && h->on_add)
			h->on_add(obj, h->data);
	}
	cJSON_Delete(old);
}

void fake_informer_put_json(fake_informer *fi, const char *json)
{
	cJSON *obj = ck_json_parse(json, strlen(json), NULL);
	assert_non_null(obj);
	fake_informer_put(fi, obj);
}

void fake_informer_delete(fake_informer *fi, const char *key)
{
	_cleanup_json_ cJSON *old = ck_map_take(fi->objs, key);
	for (size_t i = 0; old && i < fi->n_handlers; i++)
		if (fi->handlers[i].on_delete)
			fi->handlers[i].on_delete(old, fi->handlers[i].data);
}

void fake_informer_set_synced(fake_informer *fi)
{
	fi->synced = true;
	for (size_t i = 0; i < fi->n_cbs; i++)
		fi->cbs[i].cb(fi->cbs[i].data);
	fi->n_cbs = 0;
}

struct fake_caches {
	ck_map *infs; /* "group/Kind" -> fake_informer */
	bool synced;
};

static void inf_free(void *p)
{
	fake_informer_free(p);
}

fake_caches *fake_caches_new(bool synced)
{
	fake_caches *fc = ck_calloc(1, sizeof(*fc));
	fc->infs = ck_map_new(inf_free);
	fc->synced = synced;
	return fc;
}

void fake_caches_free(fake_caches *fc)
{
	if (!fc)
		return;
	ck_map_free(fc->infs);
	free(fc);
}

fake_informer *fake_caches_informer(fake_caches *fc, const kc_resource *r)
{
	_cleanup_free_ char *id = ck_asprintf("%s/%s", r->group, r->kind);
	fake_informer *fi = ck_map_get(fc->infs, id);
	if (!fi) {
		fi = fake_informer_new(r, fc->synced);
		ck_map_set(fc->infs, id, fi);
	}
	return fi;
}

cm_cache *fake_caches_cache(void *impl, const kc_resource *r)
{
	return fake_informer_cache(fake_caches_informer(impl, r));
}
