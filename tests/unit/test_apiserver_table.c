/* Server-side tables (a kind without a printer gets upstream's default) and Scale views
 * at a kind's declared paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "scale.h"
#include "table.h"

static cJSON *parse(const char *s)
{
	cJSON *j = ck_json_parse(s, strlen(s), NULL);
	assert_non_null(j);
	return j;
}

static void test_default_table(void **state)
{
	const kind_desc bare = {
	    .group = "example.com", .version = "v1", .kind = "Widget", .plural = "widgets"};
	cJSON *t = table_new(&bare, "7", false);
	const cJSON *cols = ck_json_get(t, "columnDefinitions");
	assert_int_equal(cJSON_GetArraySize(cols), 2);
	assert_string_equal(ck_json_get_str(cJSON_GetArrayItem(cols, 0), "name", ""), "Name");
	assert_string_equal(ck_json_get_str(cJSON_GetArrayItem(cols, 0), "format", ""), "name");
	const cJSON *age = cJSON_GetArrayItem(cols, 1);
	assert_string_equal(ck_json_get_str(age, "name", ""), "Age");
	assert_non_null(strstr(ck_json_get_str(age, "description", ""), "CreationTimestamp"));
	cJSON *obj = parse("{\"metadata\":{\"name\":\"w1\",\"creationTimestamp\":"
	                   "\"2020-01-01T00:00:00Z\"}}");
	table_add_row(t, &bare, obj, TABLE_INCLUDE_NONE);
	const cJSON *cells = ck_json_get(cJSON_GetArrayItem(ck_json_get(t, "rows"), 0), "cells");
	assert_int_equal(cJSON_GetArraySize(cells), 2);
	assert_string_equal(cJSON_GetArrayItem(cells, 0)->valuestring, "w1");
	assert_non_null(strchr(cJSON_GetArrayItem(cells, 1)->valuestring, 'd'));
	cJSON_Delete(obj);
	cJSON_Delete(t);
}

static void test_scale_paths(void **state)
{
	/* A CRD-style kind: replicas elsewhere, the selector already text in status. */
	const kind_scale_paths paths = {.spec_replicas = "spec.size",
	                                .status_replicas = "status.ready",
	                                .label_selector = "status.selector"};
	cJSON *obj = parse("{\"metadata\":{\"name\":\"w\",\"resourceVersion\":\"4\"},\"spec\":{"
	                   "\"size\":3},\"status\":{\"ready\":2,\"selector\":\"app=w\"}}");
	cJSON *s = scale_from_object(obj, &paths);
	assert_int_equal(ck_json_get_int(s, "spec.replicas", 0), 3);
	assert_int_equal(ck_json_get_int(s, "status.replicas", 0), 2);
	assert_string_equal(ck_json_get_str(s, "status.selector", ""), "app=w");
	assert_string_equal(ck_json_get_str(s, "metadata.resourceVersion", ""), "4");
	ck_json_set_int(s, "spec.replicas", 9);
	scale_apply(obj, s, &paths);
	assert_int_equal(ck_json_get_int(obj, "spec.size", 0), 9);
	cJSON_Delete(s);
	cJSON_Delete(obj);

	/* A workload's LabelSelector object is printed as text. */
	obj = parse("{\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"x\"}}}}");
	s = scale_from_object(obj, &kind_scale_replicas);
	assert_string_equal(ck_json_get_str(s, "status.selector", ""), "app=x");
	cJSON_Delete(s);
	cJSON_Delete(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_table),
	    cmocka_unit_test(test_scale_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
