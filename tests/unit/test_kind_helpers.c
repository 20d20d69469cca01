/* The helpers the kind files share (joins, maps as upstream prints them) and the
 * messages built with them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "base/json.h"

static cJSON *parse(const char *json)
{
	cJSON *j = ck_json_parse(json, strlen(json), NULL);
	assert_non_null(j);
	return j;
}

static void expect_text(char *got, const char *want)
{
	assert_string_equal(got, want);
	free(got);
}

static void test_join_and_maps(void **state)
{
	cJSON *c = parse("[{\"name\":\"a\",\"image\":\"x\"},{\"name\":\"b\"},{\"name\":\"c\"}]");
	expect_text(kind_join(c, "name"), "a,b,c");
	expect_text(kind_join(c, "image"), "x,,");
	expect_text(kind_join(NULL, "name"), "");
	cJSON_Delete(c);

	cJSON *m = parse("{\"tier\":\"front\",\"app\":\"web\",\"n\":3}");
	expect_text(kind_format_map(m, KIND_MAP_LABELS), "app=web,tier=front");
	expect_text(kind_format_map(m, KIND_MAP_GO),
	            "map[string]string{\"app\":\"web\", \"tier\":\"front\"}");
	expect_text(kind_format_map(NULL, KIND_MAP_LABELS), "");
	expect_text(kind_format_map(NULL, KIND_MAP_GO), "map[string]string(nil)");
	cJSON_Delete(m);

	/* Many keys: no fixed cap. */
	cJSON *big = cJSON_CreateObject();
	for (int i = 0; i < 200; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%03d", i);
		cJSON_AddStringToObject(big, k, "v");
	}
	char *all = kind_format_map(big, KIND_MAP_LABELS);
	assert_int_equal(strlen(all), 200 * strlen("k000=v,") - 1);
	assert_true(!strncmp(all, "k000=v,k001=v", 13));
	free(all);
	cJSON_Delete(big);
}

/* The message of the only cause validating obj as kind k gives. */
static char *only_cause(const kind_desc *k, const char *json)
{
	cJSON *obj = parse(json);
	kind_causes causes = {0};
	k->validate(obj, &causes);
	cJSON_Delete(obj);
	assert_int_equal(cJSON_GetArraySize(causes.list), 1);
	char *msg = ck_strdup(ck_json_get_str(cJSON_GetArrayItem(causes.list, 0), "message", ""));
	cJSON_Delete(causes.list);
	return msg;
}

static void test_workload_selector_messages(void **state)
{
	/* As upstream 1.32 says them, Go syntax for the value, for both kinds. */
	const char *empty = "{\"spec\":{\"selector\":{},\"template\":{\"metadata\":{\"labels\":"
	                    "{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
	                    "\"image\":\"nginx\"}]}}}}";
	const char *want_empty =
	    "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
	    "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for "
	    "deployment";
	expect_text(only_cause(&kind_deployment, empty), want_empty);
	expect_text(only_cause(&kind_replicaset, empty), want_empty);

	const char *mismatch = "{\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"db\"}},"
	                       "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\","
	                       "\"tier\":\"x\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
	                       "\"image\":\"nginx\"}]}}}}";
	expect_text(only_cause(&kind_replicaset, mismatch),
	            "Invalid value: map[string]string{\"app\":\"web\", \"tier\":\"x\"}: "
	            "`selector` does not match template `labels`");
}

/* The number of causes an update of the pod old to new gets. */
static int pod_update_causes(const char *old_json, const char *new_json)
{
	cJSON *old = parse(old_json), *pod = parse(new_json);
	kind_causes causes = {0};
	kind_pod.validate_update(old, pod, &causes);
	int n = cJSON_GetArraySize(causes.list);
	cJSON_Delete(causes.list);
	cJSON_Delete(old);
	cJSON_Delete(pod);
	return n;
}

#define POD(extra) "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]" extra "}}"
#define TOL(k)     "{\"key\":\"" k "\",\"operator\":\"Exists\"}"

static void test_pod_update_rules(void **state)
{
	/* Upstream's exceptions to an immutable pod spec, and no more. */
	assert_int_equal(pod_update_causes(POD(""), POD(",\"tolerations\":[" TOL("a") "]")), 0);
	assert_int_equal(pod_update_causes(POD(",\"tolerations\":[" TOL("a") "]"),
	                                   POD(",\"tolerations\":[" TOL("a") "," TOL("b") "]")),
	                 0);
	assert_int_equal(pod_update_causes(POD(",\"tolerations\":[" TOL("a") "," TOL("b") "]"),
	                                   POD(",\"tolerations\":[" TOL("b") "]")),
	                 1);
	assert_int_equal(pod_update_causes(POD(""), POD(",\"activeDeadlineSeconds\":30")), 0);
	assert_int_equal(pod_update_causes(POD(",\"activeDeadlineSeconds\":30"),
	                                   POD(",\"activeDeadlineSeconds\":10")),
	                 0);
	assert_int_equal(pod_update_causes(POD(",\"activeDeadlineSeconds\":30"),
	                                   POD(",\"activeDeadlineSeconds\":60")),
	                 1);
	assert_int_equal(pod_update_causes(POD(",\"activeDeadlineSeconds\":30"), POD("")), 1);
	assert_int_equal(pod_update_causes(POD(",\"terminationGracePeriodSeconds\":-1"),
	                                   POD(",\"terminationGracePeriodSeconds\":1")),
	                 0);
	assert_int_equal(pod_update_causes(POD(",\"terminationGracePeriodSeconds\":30"),
	                                   POD(",\"terminationGracePeriodSeconds\":5")),
	                 1);
	assert_int_equal(pod_update_causes(POD(""), POD(",\"hostNetwork\":true")), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_join_and_maps),
	    cmocka_unit_test(test_workload_selector_messages),
	    cmocka_unit_test(test_pod_update_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
