/* fake_env: a controller on fake caches and a fake client, on a private loop, for unit
 * tests of controller syncs.
 *
 *   fake_env e;
 *   fake_env_init(&e, &cm_replicaset_controller);   (caches synced, the controller made)
 *   fake_informer_put_json(fake_env_informer(&e, &KC_REPLICASETS), "{...}");
 *   fake_env_sync(&e, "ns/web");                     (the key's sync runs)
 *   assert_int_equal(fake_client_count(e.api, CM_CREATE, "Pod"), 1);
 *   fake_env_fini(&e);                               (answers what waits, frees) */
#ifndef CK_TESTS_FAKE_ENV_H
#define CK_TESTS_FAKE_ENV_H

#include <uv.h>

#include "controller.h"
#include "fake_client.h"
#include "fake_informer.h"

typedef struct fake_env {
	uv_loop_t loop;
	fake_client *api;
	fake_caches *caches;
	cm_ctx ctx;
	cm_controller *c; /* NULL when fake_env_init got no desc */
} fake_env;

/* Sets up e; with d, creates that controller (one worker) on synced caches. */
void fake_env_init(fake_env *e, const cm_controller_desc *d);
/* Answers every waiting request (rc 0) until none waits, frees the controller, the fakes
 * and the loop. */
void fake_env_fini(fake_env *e);
fake_informer *fake_env_informer(fake_env *e, const kc_resource *r);
/* Runs the loop until nothing more is due now (delayed keys stay delayed). */
void fake_env_run(fake_env *e);
/* Adds key to the controller's queue and runs the loop. */
void fake_env_sync(fake_env *e, const char *key);

#endif
