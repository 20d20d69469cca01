/* Unit tests for the Deployment controller: its pure parts (the pod-template-hash, the
 * maxSurge/maxUnavailable arithmetic) and its sync on the fake caches and client. */
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

static cJSON *parse(const char *s)
{
	cJSON *j = ck_json_parse(s, strlen(s), NULL);
	assert_non_null(j);
	return j;
}

static void test_hash_canonical(void **state)
{
	_cleanup_json_ cJSON *a =
	    parse("{\"metadata\":{\"labels\":{\"app\":\"x\",\"tier\":\"web\"}},"
	          "\"spec\":{\"containers\":[{\"name\":\"n\",\"image\":\"nginx\"}]}}");
	_cleanup_json_ cJSON *b =
	    parse("{\"spec\":{\"containers\":[{\"image\":\"nginx\",\"name\":\"n\"}]},"
	          "\"metadata\":{\"labels\":{\"tier\":\"web\",\"app\":\"x\"}}}");
	_cleanup_json_ cJSON *c =
	    parse("{\"metadata\":{\"labels\":{\"app\":\"x\",\"tier\":\"web\"}},"
	          "\"spec\":{\"containers\":[{\"name\":\"n\",\"image\":\"nginx:1.2\"}]}}");
	_cleanup_free_ char *ha = cm_pod_template_hash(a, 0);
	_cleanup_free_ char *hb = cm_pod_template_hash(b, 0);
	_cleanup_free_ char *hc = cm_pod_template_hash(c, 0);
	_cleanup_free_ char *ha1 = cm_pod_template_hash(a, 1);

	/* Key order does not matter; content and the collision count do. */
	assert_string_equal(ha, hb);
	assert_string_not_equal(ha, hc);
	assert_string_not_equal(ha, ha1);
	/* Only characters of the safe alphabet, at most 10 of them (a uint32 in decimal). */
	assert_true(strlen(ha) >= 1 && strlen(ha) <= 10);
	assert_int_equal(strspn(ha, "bcdfghjklmnpqrstvwxz2456789"), strlen(ha));
}

static void test_int_or_percent(void **state)
{
	_cleanup_json_ cJSON *pct = cJSON_CreateString("25%");
	_cleanup_json_ cJSON *num = cJSON_CreateNumber(2);
	_cleanup_json_ cJSON *bad = cJSON_CreateString("25");

	/* maxSurge rounds up, maxUnavailable rounds down, as upstream. */
	assert_int_equal(cm_int_or_percent(pct, 10, true, -1), 3);
	assert_int_equal(cm_int_or_percent(pct, 10, false, -1), 2);
	assert_int_equal(cm_int_or_percent(pct, 1, true, -1), 1);
	assert_int_equal(cm_int_or_percent(pct, 1, false, -1), 0);
	assert_int_equal(cm_int_or_percent(num, 10, false, -1), 2);
	assert_int_equal(cm_int_or_percent(bad, 10, false, -1), -1);
	assert_int_equal(cm_int_or_percent(NULL, 10, false, 7), 7);
}

static void test_pod_active_and_ready(void **state)
{
	_cleanup_json_ cJSON *running = parse("{\"status\":{\"phase\":\"Running\",\"conditions\":[{"
	                                      "\"type\":\"Ready\",\"status\":\"True\"}]}}");
	_cleanup_json_ cJSON *done = parse("{\"status\":{\"phase\":\"Succeeded\"}}");
	_cleanup_json_ cJSON *deleting =
	    parse("{\"metadata\":{\"deletionTimestamp\":\"2026-11-24T00:00:00Z\"},\"status\":{}}");

	assert_true(cm_pod_active(running));
	assert_true(cm_pod_ready(running));
	assert_false(cm_pod_active(done));
	assert_false(cm_pod_ready(done));
	assert_false(cm_pod_active(deleting));
}

static void test_controller_ref(void **state)
{
	_cleanup_json_ cJSON *pod =
	    parse("{\"metadata\":{\"namespace\":\"ns\",\"ownerReferences\":["
	          "{\"kind\":\"Node\",\"name\":\"n\",\"uid\":\"1\"},"
	          "{\"kind\":\"ReplicaSet\",\"name\":\"web-abc\",\"uid\":\"2\","
	          "\"controller\":true}]}}");
	_cleanup_free_ char *key = cm_controller_key(pod, "ReplicaSet");
	assert_string_equal(key, "ns/web-abc");
	assert_null(cm_controller_key(pod, "Deployment"));
}

/* ---- the sync ---- */

static const char TEMPLATE[] = "{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
                               "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"%s\"}]}}";

static void put_deployment(fake_env *e, int replicas, const char *image)
{
	_cleanup_free_ char *tmpl = ck_asprintf(TEMPLATE, image);
	_cleanup_free_ char *s =
	    ck_asprintf("{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\",\"uid\":\"d-1\","
	                "\"resourceVersion\":\"4\",\"generation\":1},"
	                "\"spec\":{\"replicas\":%d,\"selector\":{\"matchLabels\":{\"app\":"
	                "\"web\"}},\"template\":%s}}",
	                replicas, tmpl);
	fake_informer_put_json(fake_env_informer(e, &KC_DEPLOYMENTS), s);
}

/* A ReplicaSet of image's template at replicas (all available), owned by the Deployment
 * or an orphan. */
static void put_rs(fake_env *e, const char *image, int replicas, int revision, bool owned)
{
	_cleanup_free_ char *tmpl_text = ck_asprintf(TEMPLATE, image);
	_cleanup_json_ cJSON *tmpl = parse(tmpl_text);
	_cleanup_free_ char *hash = cm_pod_template_hash(tmpl, 0);
	ck_json_set_str(tmpl, "metadata.labels.pod-template-hash", hash);
	_cleanup_free_ char *tmpl_hashed = cJSON_PrintUnformatted(tmpl);
	_cleanup_free_ char *s = ck_asprintf(
	    "{\"metadata\":{\"name\":\"web-%s\",\"namespace\":\"ns\",\"uid\":\"rs-%s\","
	    "\"resourceVersion\":\"2\",\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"%s\"},"
	    "\"annotations\":{\"deployment.kubernetes.io/revision\":\"%d\"}%s},"
	    "\"spec\":{\"replicas\":%d,\"selector\":{\"matchLabels\":{\"app\":\"web\","
	    "\"pod-template-hash\":\"%s\"}},\"template\":%s},"
	    "\"status\":{\"replicas\":%d,\"readyReplicas\":%d,\"availableReplicas\":%d}}",
	    hash, hash, hash, revision,
	    owned ? ",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
	            "\"name\":\"web\",\"uid\":\"d-1\",\"controller\":true}]"
	          : "",
	    replicas, hash, tmpl_hashed, replicas, replicas, replicas);
	fake_informer_put_json(fake_env_informer(e, &KC_REPLICASETS), s);
}

static void test_sync_creates_the_replicaset(void **state)
{
	fake_env e;
	fake_env_init(&e, &cm_deployment_controller);
	put_deployment(&e, 3, "nginx");
	fake_env_run(&e);
	fake_call *c = fake_client_find(e.api, CM_CREATE, "ReplicaSet", NULL);
	assert_non_null(c);
	_cleanup_free_ char *tmpl_text = ck_asprintf(TEMPLATE, "nginx");
	_cleanup_json_ cJSON *tmpl = parse(tmpl_text);
	_cleanup_free_ char *hash = cm_pod_template_hash(tmpl, 0);
	_cleanup_free_ char *name = ck_asprintf("web-%s", hash);
	assert_string_equal(kc_obj_name(c->body), name);
	assert_int_equal(ck_json_get_int(c->body, "spec.replicas", -1), 3);
	assert_string_equal(
	    ck_json_get_str(c->body, "spec.selector.matchLabels.pod-template-hash", ""), hash);
	assert_string_equal(
	    ck_json_get_str(c->body, "spec.template.metadata.labels.pod-template-hash", ""), hash);
	const cJSON *ref = ck_json_get(c->body, "metadata.ownerReferences")->child;
	assert_string_equal(ck_json_get_str(ref, "kind", ""), "Deployment");
	assert_string_equal(ck_json_get_str(ref, "uid", ""), "d-1");
	/* And its status, once per sync. */
	assert_int_equal(fake_client_count(e.api, CM_UPDATE_STATUS, "Deployment"), 1);
	fake_env_fini(&e);
}

static void test_sync_scales_the_current_replicaset(void **state)
{
	fake_env e;
	fake_env_init(&e, &cm_deployment_controller);
	put_rs(&e, "nginx", 1, 1, true);
	put_deployment(&e, 3, "nginx");
	fake_env_run(&e);
	assert_null(fake_client_find(e.api, CM_CREATE, "ReplicaSet", NULL));
	fake_call *p = fake_client_find(e.api, CM_PATCH, "ReplicaSet", NULL);
	assert_non_null(p);
	assert_int_equal(ck_json_get_int(p->body, "spec.replicas", -1), 3);
	fake_env_fini(&e);
}

static void test_sync_rolls_out_within_the_surge(void **state)
{
	fake_env e;
	fake_env_init(&e, &cm_deployment_controller);
	put_rs(&e, "nginx:1", 4, 1, true);
	put_deployment(&e, 4, "nginx:2");
	fake_env_run(&e);
	/* maxSurge 25% of 4 is 1: the new ReplicaSet starts at one replica, revision 2. */
	fake_call *c = fake_client_find(e.api, CM_CREATE, "ReplicaSet", NULL);
	assert_non_null(c);
	assert_int_equal(ck_json_get_int(c->body, "spec.replicas", -1), 1);
	assert_string_equal(
	    ck_json_get_str(c->body, "metadata.annotations.deployment\\.kubernetes\\.io/revision",
	                    ""),
	    "2");
	/* The old one is not scaled down before the new pods are available. */
	assert_null(fake_client_find(e.api, CM_PATCH, "ReplicaSet", NULL));
	fake_env_fini(&e);
}

static void test_sync_adopts_an_orphan_replicaset(void **state)
{
	fake_env e;
	fake_env_init(&e, &cm_deployment_controller);
	put_rs(&e, "nginx", 3, 1, false);
	put_deployment(&e, 3, "nginx");
	fake_env_run(&e);
	/* Adopted and taken as the current one: no second ReplicaSet. */
	fake_call *p = fake_client_find(e.api, CM_PATCH, "ReplicaSet", NULL);
	assert_non_null(p);
	const cJSON *ref = ck_json_get(p->body, "metadata.ownerReferences")->child;
	assert_string_equal(ck_json_get_str(ref, "uid", ""), "d-1");
	assert_null(fake_client_find(e.api, CM_CREATE, "ReplicaSet", NULL));
	fake_env_fini(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_canonical),
	    cmocka_unit_test(test_int_or_percent),
	    cmocka_unit_test(test_pod_active_and_ready),
	    cmocka_unit_test(test_controller_ref),
	    cmocka_unit_test(test_sync_creates_the_replicaset),
	    cmocka_unit_test(test_sync_scales_the_current_replicaset),
	    cmocka_unit_test(test_sync_rolls_out_within_the_surge),
	    cmocka_unit_test(test_sync_adopts_an_orphan_replicaset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
