/* watch_cache: current objects, event ring and subscribers per storage prefix. */
#include "watch_cache.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/list.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "storage.h"

/* Events kept per store: history for watches that resume from a resourceVersion. */
#define WC_RING     1024
#define WC_RETRY_MS 1000

/* An object in a kind's form other than the stored one (kind_desc.from_storage). */
typedef struct wc_conv {
	const kind_desc *kind;
	cJSON *obj; /* NULL once shed, parsed again from json when needed */
	char *json;
	struct wc_conv *next;
} wc_conv;

/* An object as stored, serialized once, shared by the state and the events, with the
 * conversions asked for. Its parsed form (selectors and field filters need one) is kept
 * while the object is current; an object that only history holds is parsed again when a
 * watch replays it. */
typedef struct wc_obj {
	int refs;
	bool in_state;
	int64_t mod; /* etcd mod_revision */
	cJSON *obj;  /* NULL once superseded, until needed again */
	char *json;
	wc_conv *conv;
} wc_obj;

typedef struct ring_event {
	enum wc_type type;
	int64_t rv;
	wc_obj *cur, *prev;
} ring_event;

typedef struct wc_entry {
	char *key;
	wc_obj *o;
} wc_entry;

/* Counts the stores watch_cache_start waits for. */
typedef struct wc_start {
	size_t pending;
	bool reported;
	void (*ready)(int rc, void *data);
	void *data;
} wc_start;

typedef struct wc_store {
	apiserver *srv;
	char *prefix;
	etcd_watch *w;
	bool listed;    /* the first list is in */
	bool synced;    /* the state matches etcd at revision last */
	int64_t oldest; /* events with rv > oldest are all in the ring */
	int64_t last;
	wc_entry *state; /* sorted by key */
	size_t n_state, cap_state;
	ring_event *ring[WC_RING];
	size_t head, count; /* ring[head] is the oldest */
	watch_cache *views; /* the kinds stored here, linked by snext */
	wc_start *start;
	uv_timer_t retry; /* a failed re-list is tried again after WC_RETRY_MS */
} wc_store;

struct watch_cache {
	wc_store *st;
	const kind_desc *kind;
	wc_sub *subs;
	wc_sub *cursor;     /* the next subscriber a delivery reaches */
	watch_cache *next;  /* apiserver.caches */
	watch_cache *snext; /* wc_store.views */
};

struct wc_sub {
	watch_cache *c;
	wc_event_fn on_event;
	void *data;
	wc_sub *prev, *next;
};

/* ---- objects ---- */

static wc_obj *obj_new(cJSON *obj, int64_t mod)
{
	wc_obj *o = ck_calloc(1, sizeof(*o));
	o->refs = 1;
	o->mod = mod;
	o->obj = obj;
	o->json = ck_json_print(obj);
	return o;
}

/* The stored value as an object with resourceVersion mod, or NULL when it is not one. */
static wc_obj *obj_decode(const void *value, size_t len, int64_t mod)
{
	cJSON *obj = ck_json_parse(value, len, NULL);
	if (!cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		return NULL;
	}
	storage_set_rv(obj, mod);
	return obj_new(obj, mod);
}

static wc_obj *obj_ref(wc_obj *o)
{
	if (o)
		o->refs++;
	return o;
}

/* Our own serialization parsed again: only a failed allocation can make it fail. */
static cJSON *reparse(const char *json)
{
	cJSON *obj = ck_json_parse(json, strlen(json), NULL);
	if (!obj)
		CK_FATAL("watch cache: cannot parse a cached object again");
	return obj;
}

/* o in kind k's form: the parsed tree, and its serialization in *json when json. */
static const cJSON *obj_view(wc_obj *o, const kind_desc *k, const char **json)
{
	if (!o->obj)
		o->obj = reparse(o->json);
	if (!k->from_storage) {
		if (json)
			*json = o->json;
		return o->obj;
	}
	wc_conv *cv = o->conv;
	while (cv && cv->kind != k)
		cv = cv->next;
	if (!cv) {
		cv = ck_calloc(1, sizeof(*cv));
		cv->kind = k;
		cv->obj = ck_json_dup(o->obj);
		k->from_storage(cv->obj);
		cv->json = ck_json_print(cv->obj);
		cv->next = o->conv;
		o->conv = cv;
	} else if (!cv->obj) {
		cv->obj = reparse(cv->json);
	}
	if (json)
		*json = cv->json;
	return cv->obj;
}

/* Drops the parsed forms and conversions of an object that is no longer current. */
static void obj_shed(wc_obj *o)
{
	if (!o || o->in_state)
		return;
	cJSON_Delete(o->obj);
	o->obj = NULL;
	while (o->conv) {
		wc_conv *cv = o->conv;
		o->conv = cv->next;
		cJSON_Delete(cv->obj);
		free(cv->json);
		free(cv);
	}
}

static void obj_unref(wc_obj *o)
{
	if (o && --o->refs == 0) {
		o->in_state = false;
		obj_shed(o);
		free(o->json);
		free(o);
	}
}

/* ---- state: sorted by key ---- */

static size_t state_find(const wc_store *st, const char *key, bool *found)
{
	size_t lo = 0, hi = st->n_state;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(st->state[mid].key, key);
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

static void state_reserve(wc_store *st, size_t n)
{
	if (n <= st->cap_state)
		return;
	while (st->cap_state < n)
		st->cap_state = st->cap_state ? st->cap_state * 2 : 64;
	st->state = ck_realloc(st->state, st->cap_state * sizeof(*st->state));
}

/* Sets key to o (taking the reference); returns the object it replaces (reference handed
 * to the caller) or NULL. */
static wc_obj *state_put(wc_store *st, const char *key, wc_obj *o)
{
	bool found;
	size_t i = state_find(st, key, &found);
	o->in_state = true;
	if (found) {
		wc_obj *old = st->state[i].o;
		st->state[i].o = o;
		old->in_state = false;
		return old;
	}
	state_reserve(st, st->n_state + 1);
	memmove(&st->state[i + 1], &st->state[i], (st->n_state - i) * sizeof(*st->state));
	st->state[i] = (wc_entry){ck_strdup(key), o};
	st->n_state++;
	return NULL;
}

/* Removes key; returns its object (reference handed to the caller) or NULL. */
static wc_obj *state_remove(wc_store *st, const char *key)
{
	bool found;
	size_t i = state_find(st, key, &found);
	if (!found)
		return NULL;
	wc_obj *old = st->state[i].o;
	old->in_state = false;
	free(st->state[i].key);
	memmove(&st->state[i], &st->state[i + 1], (st->n_state - i - 1) * sizeof(*st->state));
	st->n_state--;
	return old;
}

/* ---- events ---- */

const char *watch_cache_line(const wc_event *ev, enum wc_type as, size_t *len)
{
	static const char *const names[] = {"ADDED", "MODIFIED", "DELETED"};
	wc_lines *l = ev->lines;
	if (!l->line[as]) {
		ck_buf b = {0};
		ck_buf_printf(&b, "{\"type\":\"%s\",\"object\":", names[as]);
		ck_buf_puts(&b, ev->json);
		ck_buf_puts(&b, "}\n");
		l->len[as] = b.len;
		l->line[as] = ck_buf_steal(&b);
	}
	*len = l->len[as];
	return l->line[as];
}

static void lines_clear(wc_lines *l)
{
	for (size_t i = 0; i < CK_ARRAY_SIZE(l->line); i++)
		free(l->line[i]);
	*l = (wc_lines){0};
}

/* re in c's kind's form, its lines in l. */
static wc_event event_view(const watch_cache *c, ring_event *re, wc_lines *l)
{
	wc_event ev = {.type = re->type, .rv = re->rv, .lines = l};
	ev.obj = obj_view(re->cur, c->kind, &ev.json);
	ev.prev = re->prev ? obj_view(re->prev, c->kind, NULL) : NULL;
	return ev;
}

/* Hands re to every subscriber of every kind, each kind's line encoded once. */
static void fan_out(wc_store *st, ring_event *re)
{
	for (watch_cache *c = st->views; c; c = c->snext) {
		if (!c->subs)
			continue;
		wc_lines l = {0};
		wc_event ev = event_view(c, re, &l);
		/* A subscriber may end others (watchers over the total): the cursor steps
		 * over them. */
		c->cursor = c->subs;
		while (c->cursor) {
			wc_sub *s = c->cursor;
			c->cursor = s->next;
			s->on_event(&ev, s->data);
		}
		lines_clear(&l);
	}
	obj_shed(re->cur);
	obj_shed(re->prev);
}

static void ring_event_free(ring_event *re)
{
	obj_unref(re->cur);
	obj_unref(re->prev);
	free(re);
}

static void ring_push(wc_store *st, ring_event *re)
{
	if (st->count == WC_RING) {
		ring_event *old = st->ring[st->head];
		st->oldest = old->rv;
		ring_event_free(old);
		st->ring[st->head] = re;
		st->head = (st->head + 1) % WC_RING;
	} else {
		st->ring[(st->head + st->count++) % WC_RING] = re;
	}
}

static void ring_clear(wc_store *st)
{
	while (st->count) {
		ring_event_free(st->ring[st->head]);
		st->head = (st->head + 1) % WC_RING;
		st->count--;
	}
}

/* A deletion at rv of o: its last state with resourceVersion rv. */
static ring_event *deleted_event(wc_obj *o, int64_t rv)
{
	ring_event *re = ck_calloc(1, sizeof(*re));
	*re = (ring_event){.type = WC_DELETED, .rv = rv};
	cJSON *last = o->obj ? ck_json_dup(o->obj) : reparse(o->json);
	storage_set_rv(last, rv);
	re->cur = obj_new(last, rv);
	return re;
}

/* Applies an etcd event to the state and makes the API event; NULL when the stored
 * value is not an object (nothing to serve). */
static ring_event *apply(wc_store *st, const etcd_event *e)
{
	_cleanup_free_ char *key = ck_strndup((const char *)e->kv.key, e->kv.key_len);
	int64_t rv = e->kv.mod_revision;
	if (e->type == ETCD_EVENT_DELETE) {
		wc_obj *old = state_remove(st, key);
		if (!old && e->prev_kv)
			old = obj_decode(e->prev_kv->value, e->prev_kv->value_len, rv);
		if (!old)
			return NULL;
		ring_event *re = deleted_event(old, rv);
		obj_unref(old);
		return re;
	}
	wc_obj *o = obj_decode(e->kv.value, e->kv.value_len, rv);
	if (!o) {
		obj_unref(state_remove(st, key));
		return NULL;
	}
	ring_event *re = ck_calloc(1, sizeof(*re));
	*re = (ring_event){.rv = rv, .cur = o};
	re->prev = state_put(st, key, obj_ref(o));
	re->type = re->prev ? WC_MODIFIED : WC_ADDED;
	return re;
}

static void store_relist(wc_store *st);

static void on_watch(int rc, int64_t revision, const etcd_event *events, size_t n_events,
                     const ck_err *err, void *data)
{
	wc_store *st = data;
	if (rc == -ECANCELED)
		return;
	if (rc < 0) {
		CK_WARN("watch cache %s: %s; re-listing", st->prefix,
		        err ? err->msg : ck_strerror(rc));
		st->w = NULL;
		store_relist(st);
		return;
	}
	for (size_t i = 0; i < n_events; i++) {
		ring_event *re = apply(st, &events[i]);
		if (!re)
			continue;
		ring_push(st, re);
		if (re->rv > st->last)
			st->last = re->rv;
		fan_out(st, re);
	}
	if (revision > st->last && !n_events)
		st->last = revision;
}

static void relist_later(uv_timer_t *t)
{
	store_relist(t->data);
}

typedef struct events {
	ring_event **v;
	size_t n, cap;
} events;

static void events_push(events *l, ring_event *re)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = ck_realloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = re;
}

static int by_rv(const void *a, const void *b)
{
	const ring_event *x = *(ring_event *const *)a, *y = *(ring_event *const *)b;
	return x->rv < y->rv ? -1 : x->rv > y->rv;
}

/* Replaces the state by the list res, and tells the subscribers what changed across the
 * gap as events in revision order: objects changed or created at their mod revision,
 * objects gone as deleted at the list's revision. A subscriber thus ends at the list's
 * state, as if it had seen every event, without a re-list of its own. */
static void state_replace(wc_store *st, const etcd_range_result *res)
{
	wc_entry *old = st->state;
	size_t n_old = st->n_state, i = 0;
	st->state = NULL;
	st->n_state = st->cap_state = 0;
	state_reserve(st, res->n_kvs);
	events diff = {0};
	bool tell = false;
	for (watch_cache *c = st->views; c; c = c->snext)
		tell = tell || c->subs;
	for (size_t j = 0; j <= res->n_kvs; j++) {
		const etcd_kv *kv = j < res->n_kvs ? &res->kvs[j] : NULL;
		_cleanup_free_ char *key =
		    kv ? ck_strndup((const char *)kv->key, kv->key_len) : NULL;
		/* Old keys before this one are gone; etcd's key order is strcmp's. */
		while (i < n_old && (!key || strcmp(old[i].key, key) < 0)) {
			old[i].o->in_state = false;
			if (tell)
				events_push(&diff, deleted_event(old[i].o, res->revision));
			obj_unref(old[i].o);
			free(old[i++].key);
		}
		if (!kv)
			break;
		wc_obj *prev = NULL;
		if (i < n_old && !strcmp(old[i].key, key)) {
			prev = old[i].o;
			prev->in_state = false;
			free(old[i++].key);
		}
		wc_obj *o = prev && prev->mod == kv->mod_revision
		                ? obj_ref(prev)
		                : obj_decode(kv->value, kv->value_len, kv->mod_revision);
		if (o) {
			o->in_state = true;
			st->state[st->n_state++] = (wc_entry){key, obj_ref(o)};
			key = NULL;
		}
		if (tell && o != prev && (o || prev)) {
			ring_event *re =
			    o ? ck_calloc(1, sizeof(*re)) : deleted_event(prev, res->revision);
			if (o)
				*re = (ring_event){.type = prev ? WC_MODIFIED : WC_ADDED,
				                   .rv = kv->mod_revision,
				                   .cur = obj_ref(o),
				                   .prev = obj_ref(prev)};
			events_push(&diff, re);
		}
		obj_unref(o);
		obj_unref(prev);
	}
	free(old);
	if (diff.n)
		qsort(diff.v, diff.n, sizeof(*diff.v), by_rv);
	for (size_t k = 0; k < diff.n; k++) {
		fan_out(st, diff.v[k]);
		ring_event_free(diff.v[k]);
	}
	free(diff.v);
}

static void start_report(wc_store *st, int rc)
{
	wc_start *s = st->start;
	st->start = NULL;
	if (!s || s->reported)
		return;
	if (rc < 0 || --s->pending == 0) {
		s->reported = true;
		s->ready(rc, s->data);
	}
}

static void listed(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	wc_store *st = data;
	if (rc >= 0) {
		state_replace(st, res);
		st->listed = true;
		st->oldest = st->last = res->revision;
		etcd_watch_opts opts = {.key = st->prefix,
		                        .prefix = true,
		                        .start_revision = res->revision + 1,
		                        .prev_kv = true,
		                        .progress_notify = true};
		rc = etcd_watch_start(st->srv->etcd, &opts, on_watch, st, &st->w);
		st->synced = rc >= 0;
	} else {
		CK_WARN("watch cache %s: listing: %s", st->prefix,
		        err ? err->msg : ck_strerror(rc));
	}
	/* A failure at start is the caller's; later ones are retried. */
	if (st->start)
		start_report(st, rc);
	else if (rc < 0)
		uv_timer_start(&st->retry, relist_later, WC_RETRY_MS, 0);
}

static void store_relist(wc_store *st)
{
	/* The ring cannot be resumed across the gap; the state stays until the list has
	 * come, to tell subscribers what changed. */
	st->synced = false;
	ring_clear(st);
	etcd_range(st->srv->etcd, &(etcd_range_req){.key = st->prefix, .prefix = true}, listed, st);
}

static wc_store *store_new(apiserver *s, const char *etcd_resource)
{
	wc_store *st = ck_calloc(1, sizeof(*st));
	st->srv = s;
	st->prefix = ck_asprintf("%s/%s/", s->prefix, etcd_resource);
	uv_timer_init(s->loop, &st->retry);
	st->retry.data = st;
	return st;
}

watch_cache *server_cache(apiserver *s, const kind_desc *k)
{
	wc_store *st = NULL;
	for (watch_cache *c = s->caches; c; c = c->next) {
		if (c->kind == k)
			return c;
		if (!strcmp(c->kind->etcd_resource, k->etcd_resource))
			st = c->st;
	}
	bool fresh = !st;
	if (fresh)
		st = store_new(s, k->etcd_resource);
	watch_cache *c = ck_calloc(1, sizeof(*c));
	*c = (watch_cache){.st = st, .kind = k, .next = s->caches, .snext = st->views};
	s->caches = st->views = c;
	if (fresh)
		store_relist(st);
	return c;
}

void watch_cache_start(apiserver *s, void (*ready)(int rc, void *data), void *data)
{
	wc_start *start = ck_calloc(1, sizeof(*start));
	*start = (wc_start){.ready = ready, .data = data};
	size_t n;
	const kind_desc *const *all = kind_all(&n);
	for (size_t i = 0; i < n; i++) {
		wc_store *st = server_cache(s, all[i])->st;
		if (!st->listed && !st->start) {
			st->start = start;
			start->pending++;
		}
	}
	/* Lists answer on the loop, after this: the count is complete before the first. */
	if (!start->pending)
		ready(0, data);
}

int watch_cache_subscribe(watch_cache *c, int64_t since, wc_event_fn on_event, void *data,
                          wc_sub **out)
{
	wc_store *st = c->st;
	if (!st->synced || (since >= 0 && since < st->oldest))
		return CK_EGONE;
	wc_sub *s = ck_calloc(1, sizeof(*s));
	*s = (wc_sub){.c = c, .on_event = on_event, .data = data};
	if (since < 0) {
		for (size_t i = 0; i < st->n_state; i++) {
			wc_lines l = {0};
			wc_event ev = {.type = WC_ADDED, .lines = &l};
			ev.obj = obj_view(st->state[i].o, c->kind, &ev.json);
			ev.rv = st->state[i].o->mod;
			on_event(&ev, data);
			lines_clear(&l);
		}
	} else {
		for (size_t i = 0; i < st->count; i++) {
			ring_event *re = st->ring[(st->head + i) % WC_RING];
			if (re->rv <= since)
				continue;
			wc_lines l = {0};
			wc_event ev = event_view(c, re, &l);
			on_event(&ev, data);
			lines_clear(&l);
			obj_shed(re->cur);
			obj_shed(re->prev);
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
	if (s->c->cursor == s)
		s->c->cursor = s->next;
	CK_LIST_REMOVE(s->c->subs, s);
	free(s);
}

int64_t watch_cache_list(watch_cache *c, void (*fn)(const cJSON *obj, const char *json, void *data),
                         void *data)
{
	wc_store *st = c->st;
	if (!st->synced)
		return CK_EGONE;
	for (size_t i = 0; i < st->n_state; i++) {
		const char *json;
		const cJSON *obj = obj_view(st->state[i].o, c->kind, &json);
		fn(obj, json, data);
	}
	return st->last;
}

int watch_cache_get(watch_cache *c, const char *key, const cJSON **obj)
{
	wc_store *st = c->st;
	*obj = NULL;
	if (!st->synced)
		return CK_EGONE;
	bool found;
	size_t i = state_find(st, key, &found);
	if (found)
		*obj = obj_view(st->state[i].o, c->kind, NULL);
	return 0;
}

bool watch_cache_synced(const watch_cache *c)
{
	return c->st->synced;
}

int64_t watch_cache_revision(const watch_cache *c)
{
	return c->st->last;
}

int64_t watch_cache_oldest(const watch_cache *c)
{
	return c->st->oldest;
}
