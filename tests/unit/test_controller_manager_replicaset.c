/* Unit tests of the ReplicaSet controller's sync on the fake caches and client: creation
 * in slow-start batches under expectations, scale-down order, adoption and release by
 * selector, and its status write. */
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

static const char RS[] =
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\",\"uid\":\"rs-1\","
    "\"resourceVersion\":\"7\",\"generation\":2},"
    "\"spec\":{\"replicas\":%d,\"selector\":{\"matchExpressions\":[{\"key\":\"app\","
    "\"operator\":\"In\",\"values\":[\"web\"]}]},"
    "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\",\"tier\":\"front\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}";

static void put_rs(fake_env *e, int replicas)
{
	_cleanup_free_ char *s = ck_asprintf(RS, replicas);
	fake_informer_put_json(fake_env_informer(e, &KC_REPLICASETS), s);
}

/* A pod of the ReplicaSet (owned) or an orphan, with labels, phase, node and readiness. */
static void put_pod(fake_env *e, const char *name, const char *labels, bool owned,
                    const char *phase, const char *node, bool ready)
{
	_cleanup_free_ char *s = ck_asprintf(
	    "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"uid\":\"%s-uid\","
	    "\"resourceVersion\":\"3\",\"creationTimestamp\":\"2026-12-07T10:00:00Z\","
	    "\"labels\":%s%s},\"spec\":{\"nodeName\":\"%s\"},"
	    "\"status\":{\"phase\":\"%s\",\"conditions\":[{\"type\":\"Ready\",\"status\":"
	    "\"%s\"}]}}",
	    name, name, labels,
	    owned ? ",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\","
	            "\"name\":\"web\",\"uid\":\"rs-1\",\"controller\":true}]"
	          : "",
	    node, phase, ready ? "True" : "False");
	fake_informer_put_json(fake_env_informer(e, &KC_PODS), s);
}

/* Answers the pod creations batch by batch; returns how many were made. */
static size_t answer_creates(fake_env *e)
{
	size_t n = 0, k;
	while ((k = fake_client_answer_all(e->api, CM_CREATE, "Pod", 0)))
		n += k;
	return n;
}

static void test_creates_missing_pods_once(void **state)
{
	fake_env e;
	fake_env_init(&e, &cm_replicaset_controller);
	put_rs(&e, 3);
	fake_env_run(&e);
	/* The first batch is one pod; the sync's status write went out with it. */
	assert_int_equal(fake_client_count_pending(e.api, CM_CREATE, "Pod"), 1);
	fake_call *st = fake_client_pending(e.api, CM_UPDATE_STATUS, "ReplicaSet");
	assert_non_null(st);
	assert_int_equal(ck_json_get_int(st->body, "status.replicas", -1), 0);
	assert_int_equal(ck_json_get_int(st->body, "status.observedGeneration", -1), 2);
	fake_client_answer(e.api, st, 0, NULL);
	assert_int_equal(answer_creates(&e), 3);

	/* Until the cache shows the pods, a sync creates nothing more, and writes no status
	 * while the cache still shows the version its write replaced. */
	fake_env_sync(&e, "ns/web");
	assert_int_equal(fake_client_count(e.api, CM_CREATE, "Pod"), 3);
	assert_int_equal(fake_client_count(e.api, CM_UPDATE_STATUS, "ReplicaSet"), 1);

	/* The pods arrive: expectations met, nothing to create; a newer ReplicaSet gets the
	 * status that counts them. */
	put_pod(&e, "a", "{\"app\":\"web\",\"tier\":\"front\"}", true, "Running", "n1", true);
	put_pod(&e, "b", "{\"app\":\"web\",\"tier\":\"front\"}", true, "Running", "n1", false);
	put_pod(&e, "c", "{\"app\":\"web\"}", true, "Pending", "", false);
	assert_true(cm_exp_satisfied(e.c, "ns/web"));
	_cleanup_free_ char *rs = ck_asprintf(RS, 3);
	cJSON *newer = ck_json_parse(rs, strlen(rs), NULL);
	ck_json_set_str(newer, "metadata.resourceVersion", "8");
	fake_informer_put(fake_env_informer(&e, &KC_REPLICASETS), newer);
	fake_env_run(&e);
	assert_int_equal(fake_client_count(e.api, CM_CREATE, "Pod"), 3);
	st = fake_client_pending(e.api, CM_UPDATE_STATUS, "ReplicaSet");
	assert_non_null(st);
	assert_int_equal(ck_json_get_int(st->body, "status.replicas", -1), 3);
	assert_int_equal(ck_json_get_int(st->body, "status.readyReplicas", -1), 1);
	/* c lacks the template's tier label. */
	assert_int_equal(ck_json_get_int(st->body, "status.fullyLabeledReplicas", -1), 2);
	fake_env_fini(&e);
}

static void test_scales_down_most_expendable_first(void **state)
{
	fake_env e;
	fake_env_init(&e, &cm_replicaset_controller);
	put_pod(&e, "ready", "{\"app\":\"web\"}", true, "Running", "n1", true);
	put_pod(&e, "unready", "{\"app\":\"web\"}", true, "Running", "n1", false);
	put_pod(&e, "pending", "{\"app\":\"web\"}", true, "Pending", "", false);
	put_rs(&e, 1);
	fake_env_run(&e);
	assert_int_equal(fake_client_count(e.api, CM_DELETE, "Pod"), 2);
	assert_non_null(fake_client_find(e.api, CM_DELETE, NULL, "pending"));
	fake_call *d = fake_client_find(e.api, CM_DELETE, NULL, "unready");
	assert_non_null(d);
	assert_string_equal(d->precondition_uid, "unready-uid");
	assert_null(fake_client_find(e.api, CM_DELETE, NULL, "ready"));
	int adds, dels;
	cm_exp_pending(e.c, "ns/web", &adds, &dels);
	assert_int_equal(dels, 2);
	fake_env_fini(&e);
}

static void test_adopts_orphans_that_match(void **state)
{
	fake_env e;
	fake_env_init(&e, &cm_replicaset_controller);
	put_pod(&e, "orphan", "{\"app\":\"web\"}", false, "Running", "n1", true);
	put_pod(&e, "other", "{\"app\":\"db\"}", false, "Running", "n1", true);
	put_rs(&e, 2);
	fake_env_run(&e);
	/* The orphan is adopted and counted: one pod to create, not two. */
	fake_call *p = fake_client_find(e.api, CM_PATCH, NULL, "orphan");
	assert_non_null(p);
	assert_string_equal(
	    ck_json_get_str(ck_json_get(p->body, "metadata.ownerReferences")->child, "uid", ""),
	    "rs-1");
	assert_null(fake_client_find(e.api, CM_PATCH, NULL, "other"));
	fake_client_answer_all(e.api, CM_UPDATE_STATUS, "ReplicaSet", 0);
	assert_int_equal(answer_creates(&e), 1);
	fake_env_fini(&e);
}

static void test_releases_a_pod_that_stops_matching(void **state)
{
	fake_env e;
	fake_env_init(&e, &cm_replicaset_controller);
	put_pod(&e, "a", "{\"app\":\"web\"}", true, "Running", "n1", true);
	put_rs(&e, 1);
	fake_env_run(&e);
	assert_int_equal(fake_client_len(e.api), 1); /* its status */
	fake_client_drain(e.api, 0);
	/* Relabelled: released, and replaced. */
	put_pod(&e, "a", "{\"app\":\"debug\"}", true, "Running", "n1", true);
	fake_env_run(&e);
	fake_call *p = fake_client_find(e.api, CM_PATCH, NULL, "a");
	assert_non_null(p);
	assert_true(cJSON_IsNull(ck_json_get(p->body, "metadata.ownerReferences")));
	assert_int_equal(fake_client_count(e.api, CM_CREATE, "Pod"), 1);
	fake_env_fini(&e);
}

static void test_gone_replicaset_forgets_its_key(void **state)
{
	fake_env e;
	fake_env_init(&e, &cm_replicaset_controller);
	put_rs(&e, 2);
	fake_env_run(&e);
	fake_informer_delete(fake_env_informer(&e, &KC_REPLICASETS), "ns/web");
	fake_client_drain(e.api, 0);
	fake_env_run(&e);
	assert_true(cm_exp_satisfied(e.c, "ns/web"));
	size_t before = fake_client_len(e.api);
	fake_env_sync(&e, "ns/web");
	assert_int_equal(fake_client_len(e.api), before);
	fake_env_fini(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_creates_missing_pods_once),
	    cmocka_unit_test(test_scales_down_most_expendable_first),
	    cmocka_unit_test(test_adopts_orphans_that_match),
	    cmocka_unit_test(test_releases_a_pod_that_stops_matching),
	    cmocka_unit_test(test_gone_replicaset_forgets_its_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
