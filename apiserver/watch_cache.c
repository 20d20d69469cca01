/* watch_cache: current objects, event ring and subscribers per kind. */
#include "watch_cache.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/list.h"
#include "base/log.h"
#include "storage.h"

/* Events kept per kind: history for watches that resume from a resourceVersion. */
#define WC_RING 1024

/* An object as served: serialized once, shared by the state and the events. Its parsed
 * form (selectors and field filters need one) is kept while the object is current; an
 * object that only history holds is parsed again when a watch replays it. */
typedef struct wc_obj {
	int refs;
	bool in_state;
	cJSON *obj; /* NULL once superseded, until needed again */
	char *json;
} wc_obj;

typedef struct ring_event {
	wc_event ev;
	wc_obj *cur, *prev;
} ring_event;

typedef struct wc_entry {
	char *key;
	wc_obj *o;
} wc_entry;

struct wc_sub {
	watch_cache *c;
	wc_event_fn on_event;
	wc_reset_fn on_reset;
	void *data;
	wc_sub *prev, *next;
};

struct watch_cache {
	apiserver *srv;
	const kind_desc *kind;
	char *prefix;
	etcd_watch *w;
	bool synced;    /* the state matches etcd at revision last */
	int64_t oldest; /* events with rv > oldest are all in the ring */
	int64_t last;
	wc_entry *state; /* sorted by key */
	size_t n_state, cap_state;
	ring_event *ring[WC_RING];
	size_t head, count; /* ring[head] is the oldest */
	wc_sub *subs;
	void (*ready)(int rc, void *data);
	void *ready_data;
	uv_timer_t retry; /* a failed re-list is tried again after WC_RETRY_MS */
};

#define WC_RETRY_MS 1000

static wc_obj *obj_new(cJSON *obj)
{
	wc_obj *o = ck_calloc(1, sizeof(*o));
	o->refs = 1;
	o->obj = obj;
	o->json = ck_json_print(obj);
	return o;
}

static wc_obj *obj_ref(wc_obj *o)
{
	if (o)
		o->refs++;
	return o;
}

/* The parsed form, parsing the JSON again when it was dropped. */
static const cJSON *obj_tree(wc_obj *o)
{
	if (!o->obj) {
		/* Our own serialization: only a failed allocation can make it unparseable. */
		o->obj = ck_json_parse(o->json, strlen(o->json), NULL);
		if (!o->obj)
			CK_FATAL("watch cache: cannot parse a cached object again");
	}
	return o->obj;
}

/* Drops the parsed form of an object that is no longer current. */
static void obj_shed(wc_obj *o)
{
	if (o && !o->in_state) {
		cJSON_Delete(o->obj);
		o->obj = NULL;
	}
}

static void obj_unref(wc_obj *o)
{
	if (o && --o->refs == 0) {
		cJSON_Delete(o->obj);
		free(o->json);
		free(o);
	}
}

/* ---- state: sorted by key ---- */

static size_t state_find(const watch_cache *c, const char *key, bool *found)
{
	size_t lo = 0, hi = c->n_state;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(c->state[mid].key, key);
		if (!cmp) {
			*found = true;
			return mid;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* Sets key to o (taking the reference); returns the object it replaces (reference handed
 * to the caller) or NULL. */
static wc_obj *state_put(watch_cache *c, const char *key, wc_obj *o)
{
	bool found;
	size_t i = state_find(c, key, &found);
	o->in_state = true;
	if (found) {
		wc_obj *old = c->state[i].o;
		c->state[i].o = o;
		old->in_state = false;
		return old;
	}
	if (c->n_state == c->cap_state) {
		c->cap_state = c->cap_state ? c->cap_state * 2 : 64;
		c->state = ck_realloc(c->state, c->cap_state * sizeof(*c->state));
	}
	memmove(&c->state[i + 1], &c->state[i], (c->n_state - i) * sizeof(*c->state));
	c->state[i] = (wc_entry){ck_strdup(key), o};
	c->n_state++;
	return NULL;
}

/* Removes key; returns its object (reference handed to the caller) or NULL. */
static wc_obj *state_remove(watch_cache *c, const char *key)
{
	bool found;
	size_t i = state_find(c, key, &found);
	if (!found)
		return NULL;
	wc_obj *old = c->state[i].o;
	old->in_state = false;
	free(c->state[i].key);
	memmove(&c->state[i], &c->state[i + 1], (c->n_state - i - 1) * sizeof(*c->state));
	c->n_state--;
	return old;
}

static void state_clear(watch_cache *c)
{
	for (size_t i = 0; i < c->n_state; i++) {
		free(c->state[i].key);
		c->state[i].o->in_state = false;
		obj_unref(c->state[i].o);
	}
	c->n_state = 0;
}

/* ---- events ---- */

/* Hands re to fn with its objects parsed; then keeps only what is current parsed. */
static void deliver(ring_event *re, wc_event_fn fn, void *data)
{
	re->ev.obj = obj_tree(re->cur);
	re->ev.prev = re->prev ? obj_tree(re->prev) : NULL;
	fn(&re->ev, data);
}

static void shed(ring_event *re)
{
	obj_shed(re->cur);
	obj_shed(re->prev);
	re->ev.obj = re->ev.prev = NULL;
}

static void ring_event_free(ring_event *re)
{
	obj_unref(re->cur);
	obj_unref(re->prev);
	free(re);
}

static void ring_push(watch_cache *c, ring_event *re)
{
	if (c->count == WC_RING) {
		ring_event *old = c->ring[c->head];
		c->oldest = old->ev.rv;
		ring_event_free(old);
		c->ring[c->head] = re;
		c->head = (c->head + 1) % WC_RING;
	} else {
		c->ring[(c->head + c->count++) % WC_RING] = re;
	}
}

static void ring_clear(watch_cache *c)
{
	while (c->count) {
		ring_event_free(c->ring[c->head]);
		c->head = (c->head + 1) % WC_RING;
		c->count--;
	}
}

/* Applies an etcd event to the state and makes the API event; NULL when the stored
 * value is not an object (nothing to serve). */
static ring_event *apply(watch_cache *c, const etcd_event *e)
{
	_cleanup_free_ char *key = ck_strndup((const char *)e->kv.key, e->kv.key_len);
	ring_event *re = ck_calloc(1, sizeof(*re));
	re->ev.rv = e->kv.mod_revision;
	if (e->type == ETCD_EVENT_DELETE) {
		re->ev.type = WC_DELETED;
		wc_obj *old = state_remove(c, key);
		cJSON *last = old          ? ck_json_dup(old->obj)
		              : e->prev_kv ? storage_decode(c->kind, e->prev_kv->value,
		                                            e->prev_kv->value_len, re->ev.rv)
		                           : NULL;
		obj_unref(old);
		if (!last) {
			free(re);
			return NULL;
		}
		storage_set_rv(last, re->ev.rv);
		re->cur = obj_new(last);
	} else {
		cJSON *obj = storage_decode(c->kind, e->kv.value, e->kv.value_len, re->ev.rv);
		if (!obj) {
			obj_unref(state_remove(c, key));
			free(re);
			return NULL;
		}
		re->cur = obj_new(obj);
		re->prev = state_put(c, key, obj_ref(re->cur));
		re->ev.type = re->prev ? WC_MODIFIED : WC_ADDED;
	}
	re->ev.json = re->cur->json;
	return re;
}

static void cache_relist(watch_cache *c);

static void on_watch(int rc, int64_t revision, const etcd_event *events, size_t n_events,
                     const ck_err *err, void *data)
{
	watch_cache *c = data;
	if (rc == -ECANCELED)
		return;
	if (rc < 0) {
		CK_WARN("watch cache %s: %s; re-listing", c->kind->plural,
		        err ? err->msg : ck_strerror(rc));
		c->w = NULL;
		cache_relist(c);
		return;
	}
	for (size_t i = 0; i < n_events; i++) {
		ring_event *re = apply(c, &events[i]);
		if (!re)
			continue;
		ring_push(c, re);
		if (re->ev.rv > c->last)
			c->last = re->ev.rv;
		for (wc_sub *s = c->subs, *next; s; s = next) {
			next = s->next;
			deliver(re, s->on_event, s->data);
		}
		shed(re);
	}
	if (revision > c->last && !n_events)
		c->last = revision;
}

static void relist_later(uv_timer_t *t)
{
	cache_relist(t->data);
}

static void listed(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	watch_cache *c = data;
	if (rc >= 0) {
		for (size_t i = 0; i < res->n_kvs; i++) {
			const etcd_kv *kv = &res->kvs[i];
			cJSON *obj =
			    storage_decode(c->kind, kv->value, kv->value_len, kv->mod_revision);
			if (!obj)
				continue;
			_cleanup_free_ char *key = ck_strndup((const char *)kv->key, kv->key_len);
			obj_unref(state_put(c, key, obj_new(obj)));
		}
		c->oldest = c->last = res->revision;
		etcd_watch_opts opts = {.key = c->prefix,
		                        .prefix = true,
		                        .start_revision = res->revision + 1,
		                        .prev_kv = true,
		                        .progress_notify = true};
		rc = etcd_watch_start(c->srv->etcd, &opts, on_watch, c, &c->w);
		c->synced = rc >= 0;
	} else {
		CK_WARN("watch cache %s: listing: %s", c->kind->plural,
		        err ? err->msg : ck_strerror(rc));
	}
	/* The first list decides the start; later failures are retried. */
	if (c->ready)
		c->ready(rc, c->ready_data);
	else if (rc < 0)
		uv_timer_start(&c->retry, relist_later, WC_RETRY_MS, 0);
	c->ready = NULL;
}

static void cache_relist(watch_cache *c)
{
	/* Subscribers cannot be resumed across the gap: end them; clients re-list. */
	c->synced = false;
	while (c->subs) {
		wc_sub *s = c->subs;
		CK_LIST_REMOVE(c->subs, s);
		s->c = NULL;
		s->on_reset(s->data);
	}
	ring_clear(c);
	state_clear(c);
	etcd_range(c->srv->etcd, &(etcd_range_req){.key = c->prefix, .prefix = true}, listed, c);
}

void watch_cache_start(apiserver *s, const kind_desc *k, void (*ready)(int rc, void *data),
                       void *data, watch_cache **out)
{
	watch_cache *c = ck_calloc(1, sizeof(*c));
	c->srv = s;
	c->kind = k;
	c->prefix = ck_asprintf("%s/%s/", s->prefix, k->etcd_resource);
	c->ready = ready;
	c->ready_data = data;
	uv_timer_init(s->loop, &c->retry);
	c->retry.data = c;
	*out = c;
	cache_relist(c);
}

int watch_cache_subscribe(watch_cache *c, int64_t since, wc_event_fn on_event, wc_reset_fn on_reset,
                          void *data, wc_sub **out)
{
	if (!c->synced || (since >= 0 && since < c->oldest))
		return CK_EGONE;
	wc_sub *s = ck_calloc(1, sizeof(*s));
	*s = (wc_sub){.c = c, .on_event = on_event, .on_reset = on_reset, .data = data};
	if (since < 0) {
		for (size_t i = 0; i < c->n_state; i++) {
			const wc_obj *o = c->state[i].o;
			wc_event ev = {.type = WC_ADDED, .obj = o->obj, .json = o->json};
			on_event(&ev, data);
		}
	} else {
		for (size_t i = 0; i < c->count; i++) {
			ring_event *re = c->ring[(c->head + i) % WC_RING];
			if (re->ev.rv > since) {
				deliver(re, on_event, data);
				shed(re);
			}
		}
	}
	CK_LIST_PREPEND(c->subs, s);
	*out = s;
	return 0;
}

void watch_cache_unsubscribe(wc_sub *s)
{
	if (!s)
		return;
	if (s->c)
		CK_LIST_REMOVE(s->c->subs, s);
	free(s);
}

int64_t watch_cache_list(const watch_cache *c,
                         void (*fn)(const cJSON *obj, const char *json, void *data), void *data)
{
	if (!c->synced)
		return CK_EGONE;
	for (size_t i = 0; i < c->n_state; i++)
		fn(c->state[i].o->obj, c->state[i].o->json, data);
	return c->last;
}

int watch_cache_get(const watch_cache *c, const char *key, const cJSON **obj)
{
	*obj = NULL;
	if (!c->synced)
		return CK_EGONE;
	bool found;
	size_t i = state_find(c, key, &found);
	if (found)
		*obj = c->state[i].o->obj;
	return 0;
}

bool watch_cache_synced(const watch_cache *c)
{
	return c->synced;
}

int64_t watch_cache_revision(const watch_cache *c)
{
	return c->last;
}

int64_t watch_cache_oldest(const watch_cache *c)
{
	return c->oldest;
}
