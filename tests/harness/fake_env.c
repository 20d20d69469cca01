/* fake_env: see fake_env.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fake_env.h"

void fake_env_init(fake_env *e, const cm_controller_desc *d)
{
	*e = (fake_env){0};
	assert_int_equal(uv_loop_init(&e->loop), 0);
	e->api = fake_client_new();
	e->caches = fake_caches_new(true);
	e->ctx = (cm_ctx){
	    .loop = &e->loop,
	    .api = &FAKE_CLIENT_OPS,
	    .api_impl = e->api,
	    .cache = fake_caches_cache,
	    .cache_impl = e->caches,
	};
	if (d) {
		_cleanup_err_ ck_err *err = NULL;
		int rc = cm_controller_new(&e->ctx, d, 1, &e->c, &err);
		assert_int_equal(rc, 0);
	}
}

void fake_env_fini(fake_env *e)
{
	fake_client_drain(e->api, 0);
	cm_controller_free(e->c);
	/* The queue's handles close on the loop. */
	uv_run(&e->loop, UV_RUN_DEFAULT);
	fake_client_free(e->api);
	fake_caches_free(e->caches);
	assert_int_equal(uv_loop_close(&e->loop), 0);
}

fake_informer *fake_env_informer(fake_env *e, const kc_resource *r)
{
	return fake_caches_informer(e->caches, r);
}

void fake_env_run(fake_env *e)
{
	/* The queue hands keys out from a 0 ms timer: a few turns run what is due. */
	for (int i = 0; i < 4; i++)
		uv_run(&e->loop, UV_RUN_NOWAIT);
}

void fake_env_sync(fake_env *e, const char *key)
{
	wq_add(cm_controller_queue(e->c), key);
	fake_env_run(e);
}
