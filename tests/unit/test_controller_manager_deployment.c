/* Unit tests for the Deployment controller's pure parts: the pod-template-hash and the
 * maxSurge/maxUnavailable arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/json.h"
#include "controller.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_canonical),
	    cmocka_unit_test(test_int_or_percent),
	    cmocka_unit_test(test_pod_active_and_ready),
	    cmocka_unit_test(test_controller_ref),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
