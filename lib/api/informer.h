/* informer: the one list+watch cache of ckube.
 *
 * An informer lists a resource (optionally in one namespace, with label/field selectors),
 * then watches from the list's resourceVersion with bookmarks. It keeps the objects
 * (cJSON, keyed "namespace/name", or "name" for cluster-scoped kinds) and indexes over
 * them: "namespace" always, plus custom index functions. Event handlers see every change:
 * on_add, on_update(old, new), on_delete(last known state). A watch that ends normally is
 * restarted from the last resourceVersion seen; 410 Gone or a watch error causes a re-list
 * (with exponential backoff, timers on the loop) whose difference to the cache is delivered
 * as adds, updates and deletes. Everything runs on the client's loop.
 *
 * Objects handed out (get, list, handlers) are borrowed: valid until control returns to
 * the loop. Handlers must not free or modify them; typically they enqueue a key. */
#ifndef CK_API_INFORMER_H
#define CK_API_INFORMER_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "api/client.h"
#include "base/error.h"

typedef struct informer informer;

typedef struct informer_handlers {
	void (*on_add)(const cJSON *obj, void *data);
	void (*on_update)(const cJSON *old_obj, const cJSON *new_obj, void *data);
	void (*on_delete)(const cJSON *obj, void *data);
	void *data;
} informer_handlers;

typedef struct informer_opts {
	const kc_resource *resource;
	const char *namespace_;     /* NULL: all namespaces */
	const char *label_selector; /* NULL: everything */
	const char *field_selector; /* "spec.nodeName=node-1" */
	int64_t page_size;          /* list page size; 0: 500 */
	int watch_timeout_seconds;  /* 0: random in [300, 600) as upstream */
} informer_opts;

/* Index function: the index values of obj as a malloc'd NULL-terminated vector of malloc'd
 * strings (NULL or an empty vector: not indexed). */
typedef char **(*informer_index_fn)(const cJSON *obj, void *data);

/* Creates an informer (not started). opts and its strings are copied. */
int informer_new(kc_client *c, const informer_opts *opts, informer **out, ck_err **err);
/* Adds a handler set. Added after the cache has objects, on_add is called for each of them
 * first (from a callback on the loop, not from inside this call). Returns 0. */
int informer_add_handlers(informer *inf, const informer_handlers *h);
/* Adds an index (before informer_start). name is copied. Returns 0 or -EEXIST. */
int informer_add_index(informer *inf, const char *name, informer_index_fn fn, void *data);
/* Starts listing and watching. Returns 0. */
int informer_start(informer *inf);
/* Stops, frees the cache. No handler runs afterwards. Accepts NULL. */
void informer_free(informer *inf);

/* True once the first list has been delivered to the handlers. */
bool informer_synced(const informer *inf);
/* Calls cb once when synced (at once, from the loop, if already synced). */
void informer_on_synced(informer *inf, void (*cb)(void *data), void *data);

/* The object with key "ns/name" (or "name"), or NULL. */
const cJSON *informer_get(const informer *inf, const char *key);
const cJSON *informer_get_ns(const informer *inf, const char *ns, const char *name);
/* All objects, or those under index name with value: a malloc'd array of n borrowed
 * pointers (NULL when n is 0; free the array with free()). Unknown index: n = 0. */
const cJSON **informer_list(const informer *inf, size_t *n);
const cJSON **informer_by_index(const informer *inf, const char *index, const char *value,
                                size_t *n);
size_t informer_len(const informer *inf);
/* Resource version of the last list or event seen ("" before the first list). */
const char *informer_resource_version(const informer *inf);

/* Built-in index names. */
#define INFORMER_INDEX_NAMESPACE "namespace"

/* Cache key of obj: "ns/name" or "name". malloc'd. */
char *informer_key(const cJSON *obj);
/* Splits a key into malloc'd parts (*ns NULL for cluster-scoped). Returns 0 or -EINVAL. */
int informer_split_key(const char *key, char **ns, char **name);

/* Ready-made index functions: by spec.nodeName (pods), by metadata.ownerReferences[].uid. */
char **informer_index_node_name(const cJSON *obj, void *data);
char **informer_index_owner_uid(const cJSON *obj, void *data);

#endif
