/* watch_cache: one etcd watch per storage prefix feeding every API watcher of the kinds
 * stored there, and their current objects.
 *
 * A store lists its etcd prefix once, then follows etcd's watch from that revision. It
 * keeps every current object (parsed once, serialized once, shared) and the last events,
 * so that lists at resourceVersion=0 and a thousand watchers cost copies, and a watch
 * from a recent resourceVersion replays from memory; older ones are answered 410 Gone
 * (CK_EGONE) as upstream does. It holds nothing that is not in etcd.
 *
 * Kinds stored under one prefix (core/v1 and events.k8s.io/v1 Events) share the store;
 * each kind reads it through its own watch_cache, which converts objects from the stored
 * form once (kind_desc.from_storage) and keeps the conversion with the object. */
#ifndef CK_APISERVER_WATCH_CACHE_H
#define CK_APISERVER_WATCH_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "server.h"

enum wc_type { WC_ADDED, WC_MODIFIED, WC_DELETED };

/* The encoded watch lines of one delivery, shared by every subscriber it reaches. */
typedef struct wc_lines {
	char *line[3]; /* by enum wc_type; NULL until asked */
	size_t len[3];
} wc_lines;

typedef struct wc_event {
	enum wc_type type;
	int64_t rv;
	const cJSON *obj;  /* the object (for DELETED its last state), resourceVersion = rv */
	const cJSON *prev; /* the state before (MODIFIED), or NULL */
	const char *json;  /* obj serialized */
	wc_lines *lines;
} wc_event;

/* The WatchEvent line `{"type":T,"object":<json>}\n` for ev sent as type as: encoded at
 * the first call of a delivery, the same bytes for every later subscriber (borrowed,
 * valid during the delivery). */
const char *watch_cache_line(const wc_event *ev, enum wc_type as, size_t *len);

typedef struct wc_sub wc_sub;
/* Receives each event after the subscription's revision; ev is valid during the call.
 * The callback may unsubscribe any subscription. */
typedef void (*wc_event_fn)(const wc_event *ev, void *data);
/* Creates the cache of every registered kind (server_cache) and calls ready(rc) once,
 * when each store has its first list in memory and its watch established, or with the
 * first failure. */
void watch_cache_start(apiserver *s, void (*ready)(int rc, void *data), void *data);

/* Subscribes. since >= 0: events with rv > since are delivered (first the ones in memory,
 * synchronously, then new ones as they come); CK_EGONE when those are no longer in
 * memory. since < 0: every current object first, as ADDED, then what follows. Returns 0
 * and *out, or CK_EGONE (also before the store's first list). When the store has to
 * re-list (etcd compacted its watch or failed), subscribers stay: they receive what
 * changed across the gap as events once the list is in. */
int watch_cache_subscribe(watch_cache *c, int64_t since, wc_event_fn on_event, void *data,
                          wc_sub **out);
void watch_cache_unsubscribe(wc_sub *s);

/* Calls fn for every current object in key order (obj and json borrowed, valid during the
 * call) and returns the revision the objects are at, or CK_EGONE while re-listing. */
int64_t watch_cache_list(watch_cache *c, void (*fn)(const cJSON *obj, const char *json, void *data),
                         void *data);

/* The current object at key (borrowed until the loop runs again; its resourceVersion is
 * its mod revision), NULL when the cache has none: returns 0, or CK_EGONE while
 * re-listing. The cache can trail etcd by a moment: a guess to check, not a read. */
int watch_cache_get(watch_cache *c, const char *key, const cJSON **obj);

/* True while the cache follows etcd (false while it re-lists after a failure). */
bool watch_cache_synced(const watch_cache *c);

/* The newest revision the cache has seen (for bookmarks) and the oldest it can serve. */
int64_t watch_cache_revision(const watch_cache *c);
int64_t watch_cache_oldest(const watch_cache *c);

#endif
