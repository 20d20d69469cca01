/* watch_cache: event ring and subscribers per kind. */
#include "watch_cache.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "storage.h"

#define WC_RING 4096

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
	int64_t oldest; /* events with rv > oldest are all in the ring */
	int64_t last;
	wc_event *ring[WC_RING];
	size_t head, count; /* ring[head] is the oldest */
	wc_sub *subs;
	void (*ready)(int rc, void *data);
	void *ready_data;
};

static void event_free(wc_event *ev)
{
	if (!ev)
		return;
	cJSON_Delete(ev->obj);
	cJSON_Delete(ev->prev);
	free(ev->json);
	free(ev);
}

static void ring_push(watch_cache *c, wc_event *ev)
{
	if (c->count == WC_RING) {
		wc_event *old = c->ring[c->head];
		c->oldest = old->rv;
		event_free(old);
		c->ring[c->head] = ev;
		c->head = (c->head + 1) % WC_RING;
	} else {
		c->ring[(c->head + c->count++) % WC_RING] = ev;
	}
}

static wc_event *event_from(const kind_desc *k, const etcd_event *e)
{
	wc_event *ev = ck_calloc(1, sizeof(*ev));
	ev->rv = e->kv.mod_revision;
	if (e->type == ETCD_EVENT_DELETE) {
		ev->type = WC_DELETED;
		if (!e->prev_kv) {
			free(ev);
			return NULL;
		}
		ev->obj = storage_decode(k, e->prev_kv->value, e->prev_kv->value_len, ev->rv);
	} else {
		ev->type = e->kv.create_revision == e->kv.mod_revision ? WC_ADDED : WC_MODIFIED;
		ev->obj = storage_decode(k, e->kv.value, e->kv.value_len, ev->rv);
		if (e->prev_kv)
			ev->prev = storage_decode(k, e->prev_kv->value, e->prev_kv->value_len,
			                          e->prev_kv->mod_revision);
	}
	if (!ev->obj) {
		event_free(ev);
		return NULL;
	}
	ev->json = ck_json_print(ev->obj);
	return ev;
}

static void cache_restart(watch_cache *c);

static void on_watch(int rc, int64_t revision, const etcd_event *events, size_t n_events,
                     const ck_err *err, void *data)
{
	watch_cache *c = data;
	if (rc == -ECANCELED)
		return;
	if (rc < 0) {
		CK_WARN("watch cache %s: %s; restarting", c->kind->plural,
		        err ? err->msg : ck_strerror(rc));
		c->w = NULL;
		cache_restart(c);
		return;
	}
	for (size_t i = 0; i < n_events; i++) {
		wc_event *ev = event_from(c->kind, &events[i]);
		if (!ev)
			continue;
		ring_push(c, ev);
		if (ev->rv > c->last)
			c->last = ev->rv;
		for (wc_sub *s = c->subs, *next; s; s = next) {
			next = s->next;
			s->on_event(ev, s->data);
		}
	}
	if (revision > c->last && !n_events)
		c->last = revision;
}

static void on_start_revision(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	watch_cache *c = data;
	if (rc < 0) {
		if (c->ready)
			c->ready(rc, c->ready_data);
		c->ready = NULL;
		return;
	}
	c->oldest = c->last = res->revision;
	etcd_watch_opts opts = {.key = c->prefix,
	                        .prefix = true,
	                        .start_revision = res->revision + 1,
	                        .prev_kv = true,
	                        .progress_notify = true};
	rc = etcd_watch_start(c->srv->etcd, &opts, on_watch, c, &c->w);
	if (c->ready)
		c->ready(rc, c->ready_data);
	c->ready = NULL;
}

static void cache_restart(watch_cache *c)
{
	/* Subscribers cannot be resumed across the gap: end them; clients re-list. */
	while (c->subs) {
		wc_sub *s = c->subs;
		c->subs = s->next;
		s->c = NULL;
		s->on_reset(s->data);
	}
	while (c->count) {
		event_free(c->ring[c->head]);
		c->head = (c->head + 1) % WC_RING;
		c->count--;
	}
	etcd_range(c->srv->etcd,
	           &(etcd_range_req){.key = c->prefix, .prefix = true, .count_only = true},
	           on_start_revision, c);
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
	*out = c;
	cache_restart(c);
}

int watch_cache_subscribe(watch_cache *c, int64_t since, wc_event_fn on_event, wc_reset_fn on_reset,
                          void *data, wc_sub **out)
{
	if (since < c->oldest)
		return CK_EGONE;
	wc_sub *s = ck_calloc(1, sizeof(*s));
	*s = (wc_sub){.c = c, .on_event = on_event, .on_reset = on_reset, .data = data};
	for (size_t i = 0; i < c->count; i++) {
		const wc_event *ev = c->ring[(c->head + i) % WC_RING];
		if (ev->rv > since)
			on_event(ev, data);
	}
	s->next = c->subs;
	if (c->subs)
		c->subs->prev = s;
	c->subs = s;
	*out = s;
	return 0;
}

void watch_cache_unsubscribe(wc_sub *s)
{
	if (!s)
		return;
	if (s->c) {
		if (s->prev)
			s->prev->next = s->next;
		else
			s->c->subs = s->next;
		if (s->next)
			s->next->prev = s->prev;
	}
	free(s);
}

int64_t watch_cache_revision(const watch_cache *c)
{
	return c->last;
}

int64_t watch_cache_oldest(const watch_cache *c)
{
	return c->oldest;
}
