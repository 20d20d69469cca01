/* Unit tests of the garbage collector's sync on the fake caches and client: an object
 * whose owner is gone is deleted once a live GET confirms it, one whose owner is there
 * (in the cache or on the server) is kept, and an owner's deletion checks what it owned,
 * of every kind of the registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "controller.h"
#include "fake_env.h"

/* A pod owned by the ReplicaSet ns/web of uid rs-1. */
static void put_pod(fake_env *e, const char *name, const char *owner_kind,
                    const char *owner_api_version)
{
	_cleanup_free_ char *s = ck_asprintf(
	    "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"uid\":\"%s-uid\","
	    "\"ownerReferences\":[{\"apiVersion\":\"%s\",\"kind\":\"%s\",\"name\":\"web\","
	    "\"uid\":\"rs-1\",\"controller\":true}]}}",
	    name, name, owner_api_version, owner_kind);
	fake_informer_put_json(fake_env_informer(e, &KC_PODS), s);
}

static void put_owner(fake_env *e, const char *uid)
{
	_cleanup_free_ char *s = ck_asprintf(
	    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\",\"uid\":\"%s\"}}", uid);
	fake_informer_put_json(fake_env_informer(e, &KC_REPLICASETS), s);
}

static void test_deletes_an_object_whose_owner_is_gone(void **state)
{
	fake_env e;
	fake_env_init(&e, &cm_gc_controller);
	put_pod(&e, "p", "ReplicaSet", "apps/v1");
	fake_env_run(&e);
	/* Not in the cache: asked of the server first. */
	fake_call *get = fake_client_pending(e.api, CM_GET, "ReplicaSet");
	assert_non_null(get);
	assert_string_equal(get->ns, "ns");
	assert_string_equal(get->name, "web");
	assert_int_equal(fake_client_count(e.api, CM_DELETE, NULL), 0);
	fake_client_answer(e.api, get, -ENOENT, NULL);
	fake_call *del = fake_client_pending(e.api, CM_DELETE, "Pod");
	assert_non_null(del);
	assert_string_equal(del->name, "p");
	assert_string_equal(del->precondition_uid, "p-uid");
	assert_string_equal(del->propagation_policy, "Background");
	fake_env_fini(&e);
}

static void test_keeps_an_object_whose_owner_exists(void **state)
{
	fake_env e;
	fake_env_init(&e, &cm_gc_controller);
	/* In the cache: nothing asked. */
	put_owner(&e, "rs-1");
	put_pod(&e, "p", "ReplicaSet", "apps/v1");
	fake_env_run(&e);
	assert_int_equal(fake_client_len(e.api), 0);
	/* Of a kind the registry does not know: kept unasked. */
	put_pod(&e, "q", "Widget", "example.com/v1");
	fake_env_run(&e);
	assert_int_equal(fake_client_len(e.api), 0);
	fake_env_fini(&e);
}

static void test_keeps_an_object_whose_owner_the_server_has(void **state)
{
	fake_env e;
	fake_env_init(&e, &cm_gc_controller);
	put_pod(&e, "p", "ReplicaSet", "apps/v1");
	fake_env_run(&e);
	fake_call *get = fake_client_pending(e.api, CM_GET, "ReplicaSet");
	assert_non_null(get);
	cJSON *owner = cJSON_CreateObject();
	ck_json_set_str(owner, "metadata.uid", "rs-1");
	fake_client_answer(e.api, get, 0, owner);
	assert_int_equal(fake_client_count(e.api, CM_DELETE, NULL), 0);
	fake_env_fini(&e);
}

static void test_owner_deletion_checks_its_dependents(void **state)
{
	fake_env e;
	fake_env_init(&e, &cm_gc_controller);
	put_owner(&e, "rs-1");
	put_pod(&e, "p", "ReplicaSet", "apps/v1");
	/* A dependent of another kind: a ConfigMap. */
	fake_informer_put_json(
	    fake_env_informer(&e, &KC_CONFIGMAPS),
	    "{\"metadata\":{\"name\":\"cm\",\"namespace\":\"ns\",\"uid\":\"cm-uid\","
	    "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\","
	    "\"name\":\"web\",\"uid\":\"rs-1\"}]}}");
	fake_env_run(&e);
	assert_int_equal(fake_client_len(e.api), 0);
	fake_informer_delete(fake_env_informer(&e, &KC_REPLICASETS), "ns/web");
	fake_env_run(&e);
	/* One check at a time (one worker): each ends with its deletion. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fake_client_answer_all(e.api, CM_GET, "ReplicaSet", -ENOENT), 1);
		assert_int_equal(fake_client_answer_all(e.api, CM_DELETE, NULL, 0), 1);
		fake_env_run(&e);
	}
	assert_int_equal(fake_client_count(e.api, CM_DELETE, "Pod"), 1);
	assert_int_equal(fake_client_count(e.api, CM_DELETE, "ConfigMap"), 1);
	fake_env_fini(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_deletes_an_object_whose_owner_is_gone),
	    cmocka_unit_test(test_keeps_an_object_whose_owner_exists),
	    cmocka_unit_test(test_keeps_an_object_whose_owner_the_server_has),
	    cmocka_unit_test(test_owner_deletion_checks_its_dependents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
