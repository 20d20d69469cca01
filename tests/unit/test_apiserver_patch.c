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

/* Applies patch (of type t) to target and compares with want (all JSON text). */
static void check(enum patch_type t, const char *target, const char *patch, const char *want)
{
	cJSON *obj = parse(target);
	ck_err *err = NULL;
	cJSON *p = patch_parse(t, patch, strlen(patch), &err);
	assert_non_null(p);
	assert_int_equal(patch_apply(t, p, &obj, &err), 0);
	cJSON *w = parse(want);
	if (!ck_json_equal(obj, w)) {
		char *got = ck_json_print(obj);
		fail_msg("patch %s on %s: got %s, want %s", patch, target, got, want);
	}
	cJSON_Delete(w);
	cJSON_Delete(p);
	cJSON_Delete(obj);
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
	check(PATCH_STRATEGIC,
	      "{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}]}",
	      "{\"env\":[{\"name\":\"A\",\"$patch\":\"delete\"}]}",
	      "{\"env\":[{\"name\":\"B\",\"value\":\"2\"}]}");
	/* Lists without a merge key are replaced; primitive finalizers merge as a set. */
	check(PATCH_STRATEGIC, "{\"args\":[\"a\",\"b\"],\"metadata\":{\"finalizers\":[\"x\"]}}",
	      "{\"args\":[\"c\"],\"metadata\":{\"finalizers\":[\"x\",\"y\"]}}",
	      "{\"args\":[\"c\"],\"metadata\":{\"finalizers\":[\"x\",\"y\"]}}");
	check(PATCH_STRATEGIC, "{\"metadata\":{\"finalizers\":[\"x\",\"y\"]}}",
	      "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"x\"]}}",
	      "{\"metadata\":{\"finalizers\":[\"y\"]}}");
	/* Container ports merge on containerPort, conditions on type. */
	check(PATCH_STRATEGIC,
	      "{\"ports\":[{\"containerPort\":80,\"name\":\"h\"}],\"conditions\":[{\"type\":"
	      "\"Ready\","
	      "\"status\":\"False\"}]}",
	      "{\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}],\"conditions\":[{\"type\":"
	      "\"Ready\","
	      "\"status\":\"True\"},{\"type\":\"PodScheduled\",\"status\":\"True\"}]}",
	      "{\"ports\":[{\"containerPort\":80,\"name\":\"h\",\"protocol\":\"TCP\"}],"
	      "\"conditions\":["
	      "{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":\"PodScheduled\",\"status\":"
	      "\"True\"}]}");
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
	assert_int_equal(patch_apply(PATCH_JSON, p, &obj, &err), CK_ECONFLICT);
	ck_err_free(err);
	cJSON_Delete(p);
	cJSON_Delete(obj);
	/* A strategic patch that is not an object replaces the target. */
	obj = parse("{\"a\":1}");
	cJSON *n = cJSON_CreateNumber(3);
	obj = patch_strategic(obj, n);
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
