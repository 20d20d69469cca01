/* fake_informer: a cm_cache (controller-manager/controller.h) whose store the test fills,
 * for unit tests of controller syncs.
 *
 *   fake_caches *fc = fake_caches_new(true);
 *   cm_ctx ctx = {.cache = fake_caches_cache, .cache_impl = fc, ...};
 *   fake_informer_put_json(fake_caches_informer(fc, &KC_PODS), "{...}");
 *
 * Putting and deleting objects calls the handlers synchronously, as an informer's events
 * would; the indexes controllers ask for (namespace and CM_INDEXES) are computed by
 * scanning the store. */
#ifndef CK_TESTS_FAKE_INFORMER_H
#define CK_TESTS_FAKE_INFORMER_H

#include "controller.h"

typedef struct fake_informer fake_informer;

/* An informer of r, synced or not yet. */
fake_informer *fake_informer_new(const kc_resource *r, bool synced);
/* Accepts NULL. */
void fake_informer_free(fake_informer *fi);
cm_cache *fake_informer_cache(fake_informer *fi);
/* Adds or replaces obj (taken) under its key: on_add, or on_update(old, new). */
void fake_informer_put(fake_informer *fi, cJSON *obj);
/* As fake_informer_put for JSON text (the test fails on a parse error). */
void fake_informer_put_json(fake_informer *fi, const char *json);
/* Removes key (on_delete with its last state); nothing when absent. */
void fake_informer_delete(fake_informer *fi, const char *key);
/* Marks the informer synced and runs the on_synced callbacks. */
void fake_informer_set_synced(fake_informer *fi);

/* The informers of one test, made on first use, as the real manager shares them. */
typedef struct fake_caches fake_caches;
/* New informers start synced when synced is true. */
fake_caches *fake_caches_new(bool synced);
void fake_caches_free(fake_caches *fc);
/* cm_ctx.cache for fake_caches (impl). */
cm_cache *fake_caches_cache(void *impl, const kc_resource *r);
/* The informer of r (made when missing). */
fake_informer *fake_caches_informer(fake_caches *fc, const kc_resource *r);

#endif
