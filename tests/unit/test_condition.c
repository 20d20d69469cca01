/* condition: lookups and updates of status.conditions, with lastTransitionTime kept until
 * the status changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/condition.h"
#include "base/json.h"

static cJSON *parse(const char *json)
{
	cJSON *j = ck_json_parse(json, strlen(json), NULL);
	assert_non_null(j);
	return j;
}

static void test_lookups(void **state)
{
	cJSON *node = parse("{\"status\":{\"conditions\":[{\"type\":\"MemoryPressure\","
	                    "\"status\":\"False\"},{\"type\":\"Ready\",\"status\":\"True\"}]}}");
	assert_string_equal(condition_status(node, "Ready", "Unknown"), "True");
	assert_true(condition_true(node, "Ready"));
	assert_false(condition_true(node, "MemoryPressure"));
	assert_null(condition_find(node, "DiskPressure"));
	assert_string_equal(condition_status(node, "DiskPressure", "Unknown"), "Unknown");
	assert_null(condition_status(node, "DiskPressure", NULL));
	cJSON_Delete(node);
	cJSON *empty = parse("{\"status\":{\"conditions\":\"not a list\"}}");
	assert_false(condition_true(empty, "Ready"));
	assert_false(condition_true(NULL, "Ready"));
	cJSON_Delete(empty);
}

static void test_set(void **state)
{
	cJSON *pod = parse("{\"metadata\":{\"name\":\"p\"}}");
	assert_true(condition_set(pod, "PodScheduled", "False", "Unschedulable", "0/1 nodes",
	                          "2026-01-01T00:00:00Z", true));
	const cJSON *c = condition_find(pod, "PodScheduled");
	assert_non_null(c);
	assert_string_equal(ck_json_get_str(c, "lastTransitionTime", ""), "2026-01-01T00:00:00Z");
	assert_true(cJSON_IsNull(ck_json_get(c, "lastProbeTime")));
	assert_string_equal(ck_json_get_str(c, "message", ""), "0/1 nodes");

	/* The same again changes nothing; a new message keeps the transition time. */
	assert_false(condition_set(pod, "PodScheduled", "False", "Unschedulable", "0/1 nodes",
	                           "2026-01-01T00:01:00Z", true));
	assert_true(condition_set(pod, "PodScheduled", "False", "Unschedulable", "0/2 nodes",
	                          "2026-01-01T00:02:00Z", true));
	c = condition_find(pod, "PodScheduled");
	assert_string_equal(ck_json_get_str(c, "lastTransitionTime", ""), "2026-01-01T00:00:00Z");
	assert_string_equal(ck_json_get_str(c, "message", ""), "0/2 nodes");

	/* A new status moves it; NULL reason and message are removed. */
	assert_true(
	    condition_set(pod, "PodScheduled", "True", NULL, NULL, "2026-01-01T00:03:00Z", true));
	c = condition_find(pod, "PodScheduled");
	assert_string_equal(ck_json_get_str(c, "lastTransitionTime", ""), "2026-01-01T00:03:00Z");
	assert_null(ck_json_get(c, "reason"));
	assert_null(ck_json_get(c, "message"));
	assert_int_equal(cJSON_GetArraySize(ck_json_get(pod, "status.conditions")), 1);

	/* Other types are kept, in place. */
	assert_true(condition_set(pod, "Ready", "False", "ContainersNotReady", NULL,
	                          "2026-01-01T00:04:00Z", false));
	assert_null(ck_json_get(condition_find(pod, "Ready"), "lastProbeTime"));
	assert_string_equal(
	    ck_json_get_str(cJSON_GetArrayItem(ck_json_get(pod, "status.conditions"), 0), "type",
	                    ""),
	    "PodScheduled");
	assert_true(condition_true(pod, "PodScheduled"));
	cJSON_Delete(pod);
}

static void test_since(void **state)
{
	cJSON *old =
	    parse("[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"t0\"},"
	          "{\"type\":\"Initialized\",\"status\":\"False\"}]");
	assert_string_equal(condition_since(old, "Ready", "True", "now"), "t0");
	assert_string_equal(condition_since(old, "Ready", "False", "now"), "now");
	assert_string_equal(condition_since(old, "Initialized", "False", "now"), "now");
	assert_string_equal(condition_since(old, "PodScheduled", "True", "now"), "now");
	assert_string_equal(condition_since(NULL, "Ready", "True", "now"), "now");
	cJSON_Delete(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookups),
	    cmocka_unit_test(test_set),
	    cmocka_unit_test(test_since),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
