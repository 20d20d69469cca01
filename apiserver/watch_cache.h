/* watch_cache: one etcd watch per kind feeding every API watcher of that kind, and the
 * kind's current objects.
 *
 * The cache lists the kind once, then follows etcd's watch from that revision. It keeps
 * every current object (parsed once, serialized once, shared) and the last events, so
 * that lists at resourceVersion=0 and a thousand watchers cost copies, and a watch from a
 * recent resourceVersion replays from memory; older ones are answered 410 Gone (CK_EGONE)
 * as upstream does. It holds nothing that is not in etcd. */
#ifndef CK_APISERVER_WATCH_CACHE_H
#define CK_APISERVER_WATCH_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "server.h"

enum wc_type { WC_ADDED, WC_MODIFIED, WC_DELETED };

typedef struct wc_event {
	enum wc_type type;
	int64_t rv;
	const cJSON *obj;  /* the object (for DELETED its last state), resourceVersion = rv */
	const cJSON *prev; /* the state before (MODIFIED), or NULL */
	const char *json;  /* obj serialized */
} wc_event;

typedef struct wc_sub wc_sub;
/* Receives each event after the subscription's revision; ev is valid during the call. */
typedef void (*wc_event_fn)(const wc_event *ev, void *data);
/* The cache broke (etcd compaction or failure): the subscription is gone. */
typedef void (*wc_reset_fn)(void *data);

/* Starts the cache of kind k: lists it, then watches from the list's revision. ready(rc)
 * runs once, when the first list is in memory and the watch is established. */
void watch_cache_start(apiserver *s, const kind_desc *k, void (*ready)(int rc, void *data),
                       void *data, watch_cache **out);

/* Subscribes. since >= 0: events with rv > since are delivered (first the ones in memory,
 * synchronously, then new ones as they come); CK_EGONE when those are no longer in
 * memory. since < 0: every current object first, as ADDED, then what follows. Returns 0
 * and *out, or CK_EGONE (also while the cache is re-listing after a failure). */
int watch_cache_subscribe(watch_cache *c, int64_t since, wc_event_fn on_event, wc_reset_fn on_reset,
                          void *data, wc_sub **out);
void watch_cache_unsubscribe(wc_sub *s);

/* Calls fn for every current object in key order (obj and json borrowed, valid during the
 * call) and returns the revision the objects are at, or CK_EGONE while re-listing. */
int64_t watch_cache_list(const watch_cache *c,
                         void (*fn)(const cJSON *obj, const char *json, void *data), void *data);

/* The current object at key (borrowed until the loop runs again; its resourceVersion is
 * its mod revision), NULL when the cache has none: returns 0, or CK_EGONE while
 * re-listing. The cache can trail etcd by a moment: a guess to check, not a read. */
int watch_cache_get(const watch_cache *c, const char *key, const cJSON **obj);

/* True while the cache follows etcd (false while it re-lists after a failure). */
bool watch_cache_synced(const watch_cache *c);

/* The newest revision the cache has seen (for bookmarks) and the oldest it can serve. */
int64_t watch_cache_revision(const watch_cache *c);
int64_t watch_cache_oldest(const watch_cache *c);

#endif
