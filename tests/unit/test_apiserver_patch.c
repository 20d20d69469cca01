#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

/* The patch engine is part of kube-apiserver: its core library is linked by this test's name. */
#include "base/json.h"
#include "patch.h"

static cJSON *parse(const char *s)
{
	cJSON *j = ck_json_parse(s, strlen(s), NULL);
	assert_non_null(j);
	return j;
}

#define POD       "k8s.io.api.core.v1.Pod"
#define CONTAINER "k8s.io.api.core.v1.Container"

/* Applies patch (of type t) to target, an object of schema type (a full message name
 * or NULL), and compares with want (all JSON text). */
static void check_type(const char *type, enum patch_type t, const char *target, const char *patch,
                       const char *want)
{
	cJSON *obj = parse(target);
	ck_err *err = NULL;
	cJSON *p = patch_parse(t, patch, strlen(patch), &err);
	const schema_type *st = type ? schema_type_by_name(type) : NULL;
	assert_true(!type || st);
	assert_non_null(p);
	assert_int_equal(patch_apply(t, p, st, &obj, &err), 0);
	cJSON *w = parse(want);
	if (!ck_json_equal(obj, w)) {
		char *got = ck_json_print(obj);
		fail_msg("patch %s on %s: got %s, want %s", patch, target, got, want);
	}
	cJSON_Delete(w);
	cJSON_Delete(p);
	cJSON_Delete(obj);
}

static void check(enum patch_type t, const char *target, const char *patch, const char *want)
{
	check_type(POD, t, target, patch, want);
}

static void test_strategic_lists(void **state)
{
	/* Containers merge by name; other fields of a matched container stay. */
	check(
	    PATCH_STRATEGIC,
	    "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"args\":[\"1\"]},"
	    "{\"name\":\"b\",\"image\":\"y\"}]}}",
	    "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"a\"},{\"name\":\"b\"}],"
	    "\"containers\":[{\"name\":\"b\",\"image\":\"z\"},{\"name\":\"c\",\"image\":\"w\"}]}}",
	    "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"args\":[\"1\"]},"
	    "{\"name\":\"b\",\"image\":\"z\"},{\"name\":\"c\",\"image\":\"w\"}]}}");
	/* $patch: delete removes the element with that key. */
	check_type(CONTAINER, PATCH_STRATEGIC,
	           "{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}]}",
	           "{\"env\":[{\"name\":\"A\",\"$patch\":\"delete\"}]}",
	           "{\"env\":[{\"name\":\"B\",\"value\":\"2\"}]}");
	/* Lists without a merge strategy are replaced; primitive finalizers merge as a set. */
	check(PATCH_STRATEGIC,
	      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"args\":[\"a\",\"b\"]}]},"
	      "\"metadata\":{\"finalizers\":[\"x\"]}}",
	      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"args\":[\"c\"]}]},"
	      "\"metadata\":{\"finalizers\":[\"x\",\"y\"]}}",
	      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"args\":[\"c\"]}]},"
	      "\"metadata\":{\"finalizers\":[\"x\",\"y\"]}}");
	check(PATCH_STRATEGIC, "{\"metadata\":{\"finalizers\":[\"x\",\"y\"]}}",
	      "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"x\"]}}",
	      "{\"metadata\":{\"finalizers\":[\"y\"]}}");
	/* Tolerations and readiness gates are atomic upstream: replaced, not merged. */
	check(PATCH_STRATEGIC,
	      "{\"spec\":{\"tolerations\":[{\"key\":\"a\"}],\"readinessGates\":[{\"conditionType\":"
	      "\"x\"}]}}",
	      "{\"spec\":{\"tolerations\":[{\"key\":\"b\"}],\"readinessGates\":[{\"conditionType\":"
	      "\"y\"}]}}",
	      "{\"spec\":{\"tolerations\":[{\"key\":\"b\"}],\"readinessGates\":[{\"conditionType\":"
	      "\"y\"}]}}");
	/* Container ports merge on containerPort, pod conditions on type. */
	check(PATCH_STRATEGIC,
	      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":80,"
	      "\"name\":\"h\"}]}]},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":"
	      "\"False\"}]}}",
	      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":80,"
	      "\"protocol\":\"TCP\"}]}]},\"status\":{\"conditions\":[{\"type\":\"Ready\","
	      "\"status\":\"True\"},{\"type\":\"PodScheduled\",\"status\":\"True\"}]}}",
	      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":80,"
	      "\"name\":\"h\",\"protocol\":\"TCP\"}]}]},\"status\":{\"conditions\":[{\"type\":"
	      "\"Ready\",\"status\":\"True\"},{\"type\":\"PodScheduled\",\"status\":\"True\"}]}}");
	/* Service ports merge on port: a port whose elements carry a containerPort-like
	 * targetPort still matches by port. */
	check_type("k8s.io.api.core.v1.Service", PATCH_STRATEGIC,
	           "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080,\"name\":\"h\"},"
	           "{\"port\":443}]}}",
	           "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":9090}]}}",
	           "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":9090,\"name\":\"h\"},"
	           "{\"port\":443}]}}");
	/* Volumes merge on name through the inlined volume source; a "$patch: replace"
	 * element replaces the whole list. */
	check(PATCH_STRATEGIC,
	      "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"hostPath\":{\"path\":\"/a\"}},"
	      "{\"name\":\"w\",\"emptyDir\":{}}]}}",
	      "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"hostPath\":{\"type\":\"Directory\"}}]}}",
	      "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"hostPath\":{\"path\":\"/a\",\"type\":"
	      "\"Directory\"}},{\"name\":\"w\",\"emptyDir\":{}}]}}");
	check(PATCH_STRATEGIC, "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
	      "{\"spec\":{\"containers\":[{\"$patch\":\"replace\"},{\"name\":\"c\"}]}}",
	      "{\"spec\":{\"containers\":[{\"name\":\"c\"}]}}");
	/* Without a schema every list is replaced. */
	check_type(NULL, PATCH_STRATEGIC, "{\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}",
	           "{\"containers\":[{\"name\":\"a\",\"image\":\"y\"}]}",
	           "{\"containers\":[{\"name\":\"a\",\"image\":\"y\"}]}");
}

static void test_strategic_maps(void **state)
{
	check(PATCH_STRATEGIC, "{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}}}",
	      "{\"metadata\":{\"labels\":{\"a\":null,\"c\":\"3\"}}}",
	      "{\"metadata\":{\"labels\":{\"b\":\"2\",\"c\":\"3\"}}}");
	check(PATCH_STRATEGIC, "{\"spec\":{\"selector\":{\"a\":\"1\"},\"x\":1}}",
	      "{\"spec\":{\"selector\":{\"$patch\":\"replace\",\"b\":\"2\"}}}",
	      "{\"spec\":{\"selector\":{\"b\":\"2\"},\"x\":1}}");
	check(PATCH_STRATEGIC, "{\"spec\":{\"a\":{\"b\":1},\"c\":2}}",
	      "{\"spec\":{\"a\":{\"$patch\":\"delete\"},\"$retainKeys\":[\"c\"]}}",
	      "{\"spec\":{\"c\":2}}");
	check(PATCH_STRATEGIC, "{\"a\":1}",
	      "{\"b\":{\"c\":[{\"name\":\"n\",\"$patch\":\"merge\"}]}}",
	      "{\"a\":1,\"b\":{\"c\":[{\"name\":\"n\"}]}}");
}

static void test_merge_and_json(void **state)
{
	check(PATCH_MERGE, "{\"spec\":{\"replicas\":1,\"x\":[1,2]}}",
	      "{\"spec\":{\"replicas\":3,\"x\":[3]}}", "{\"spec\":{\"replicas\":3,\"x\":[3]}}");
	check(PATCH_JSON, "{\"metadata\":{\"labels\":{}}}",
	      "[{\"op\":\"add\",\"path\":\"/metadata/labels/a~1b\",\"value\":\"c\"}]",
	      "{\"metadata\":{\"labels\":{\"a/b\":\"c\"}}}");
	check(PATCH_APPLY, "{\"spec\":{\"replicas\":1}}", "spec:\n  replicas: 5\n",
	      "{\"spec\":{\"replicas\":5}}");
}

static void test_types_and_errors(void **state)
{
	assert_int_equal(patch_type_of("application/merge-patch+json; charset=utf-8"), PATCH_MERGE);
	assert_int_equal(patch_type_of("application/strategic-merge-patch+json"), PATCH_STRATEGIC);
	assert_int_equal(patch_type_of("application/json-patch+json"), PATCH_JSON);
	assert_int_equal(patch_type_of("application/apply-patch+yaml"), PATCH_APPLY);
	assert_int_equal(patch_type_of("application/json"), PATCH_UNSUPPORTED);
	assert_int_equal(patch_type_of(NULL), PATCH_UNSUPPORTED);
	ck_err *err = NULL;
	assert_null(patch_parse(PATCH_JSON, "{}", 2, &err));
	err = ck_err_free(err);
	assert_null(patch_parse(PATCH_STRATEGIC, "[]", 2, &err));
	err = ck_err_free(err);
	assert_null(patch_parse(PATCH_MERGE, "{", 1, &err));
	err = ck_err_free(err);
	cJSON *obj = parse("{\"a\":1}");
	cJSON *p = parse("[{\"op\":\"test\",\"path\":\"/a\",\"value\":2}]");
	assert_int_equal(patch_apply(PATCH_JSON, p, NULL, &obj, &err), CK_ECONFLICT);
	ck_err_free(err);
	cJSON_Delete(p);
	cJSON_Delete(obj);
	/* A strategic patch that is not an object replaces the target. */
	obj = parse("{\"a\":1}");
	cJSON *n = cJSON_CreateNumber(3);
	obj = patch_strategic(obj, n, NULL);
	assert_true(cJSON_IsNumber(obj));
	cJSON_Delete(n);
	cJSON_Delete(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strategic_lists),
	    cmocka_unit_test(test_strategic_maps),
	    cmocka_unit_test(test_merge_and_json),
	    cmocka_unit_test(test_types_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
