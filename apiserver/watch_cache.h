/* watch_cache: one etcd watch per kind feeding every API watcher of that kind.
 *
 * The cache keeps the last events (each object parsed once and serialized once) so that a
 * watch from a recent resourceVersion replays from memory; older ones are answered 410
 * Gone (CK_EGONE) as upstream does. It holds no state that is not in etcd. */
#ifndef CK_APISERVER_WATCH_CACHE_H
#define CK_APISERVER_WATCH_CACHE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "server.h"

enum wc_type { WC_ADDED, WC_MODIFIED, WC_DELETED };

typedef struct wc_event {
	enum wc_type type;
	int64_t rv;
	cJSON *obj;  /* the object (for DELETED its last state), resourceVersion = rv */
	cJSON *prev; /* the state before (MODIFIED), or NULL */
	char *json;  /* obj serialized */
} wc_event;

typedef struct wc_sub wc_sub;
/* Receives each event after the subscription's revision; ev is valid during the call. */
typedef void (*wc_event_fn)(const wc_event *ev, void *data);
/* The cache broke (etcd compaction or failure): the subscription is gone. */
typedef void (*wc_reset_fn)(void *data);

/* Starts the cache of kind k: reads the current revision, then watches from it. ready(rc)
 * runs once the watch is established. */
void watch_cache_start(apiserver *s, const kind_desc *k, void (*ready)(int rc, void *data),
                       void *data, watch_cache **out);

/* Subscribes from revision since (events with rv > since are delivered, first the ones in
 * memory, synchronously, then new ones as they come). Returns 0 and *out, or CK_EGONE when
 * events after since are no longer in memory. */
int watch_cache_subscribe(watch_cache *c, int64_t since, wc_event_fn on_event, wc_reset_fn on_reset,
                          void *data, wc_sub **out);
void watch_cache_unsubscribe(wc_sub *s);

/* The newest revision the cache has seen (for bookmarks) and the oldest it can serve. */
int64_t watch_cache_revision(const watch_cache *c);
int64_t watch_cache_oldest(const watch_cache *c);

#endif
