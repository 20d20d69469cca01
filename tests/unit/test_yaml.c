/* yaml: YAML to cJSON typing, anchors, limits, errors, and the emitter round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/json.h"
#include "base/yaml.h"

static cJSON *parse(const char *s)
{
	ck_err *err = NULL;
	cJSON *j = ck_yaml_parse(s, strlen(s), &err);
	if (!j)
		fail_msg("parse failed: %s", err->msg);
	return j;
}

static void assert_json(const cJSON *j, const char *want)
{
	char *got = cJSON_PrintUnformatted(j);
	assert_string_equal(got, want);
	free(got);
}

static void test_scalars(void **state)
{
	cJSON *j = parse("a: 1\nb: -2.5\nc: true\nd: ~\ne: hello world\nf: \"1\"\ng: '01'\n"
	                 "h: 0x10\ni: 1e3\nj: null\nk:\nl: !!str 42\nm: 1.2.3\nn: .inf\no: yes\n");
	assert_json(j, "{\"a\":1,\"b\":-2.5,\"c\":true,\"d\":null,\"e\":\"hello world\",\"f\":"
	               "\"1\",\"g\":\"01\",\"h\":16,\"i\":1000,\"j\":null,\"k\":null,\"l\":\"42\","
	               "\"m\":\"1.2.3\",\"n\":\".inf\",\"o\":\"yes\"}");
	cJSON_Delete(j);
}

static void test_structure(void **state)
{
	cJSON *j = parse("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n"
	                 "    app: web\nspec:\n  containers:\n  - name: c\n    image: nginx\n"
	                 "    args: [a, \"b c\"]\n    env: []\n  other: {x: 1}\n");
	assert_json(
	    j, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\","
	       "\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
	       "\"image\":\"nginx\",\"args\":[\"a\",\"b c\"],\"env\":[]}],\"other\":{\"x\":1}}}");
	cJSON_Delete(j);
	/* Block literals keep newlines. */
	j = parse("s: |\n  line1\n  line2\nf: >\n  folded\n  text\n");
	assert_string_equal(ck_json_get_str(j, "s", ""), "line1\nline2\n");
	assert_string_equal(ck_json_get_str(j, "f", ""), "folded text\n");
	cJSON_Delete(j);
}

static void test_anchors_and_merge(void **state)
{
	cJSON *j = parse("base: &b {x: 1, y: 2}\nuse: *b\nmerged:\n  <<: *b\n  y: 3\n");
	assert_json(j, "{\"base\":{\"x\":1,\"y\":2},\"use\":{\"x\":1,\"y\":2},\"merged\":{\"x\":1,"
	               "\"y\":3}}");
	cJSON_Delete(j);
}

static void test_multi_document(void **state)
{
	const char *s = "a: 1\n---\n---\nb: 2\n...\n---\n- 3\n";
	cJSON *all = ck_yaml_parse_all(s, strlen(s), NULL);
	assert_non_null(all);
	assert_json(all, "[{\"a\":1},{\"b\":2},[3]]");
	cJSON_Delete(all);
	cJSON *first = ck_yaml_parse(s, strlen(s), NULL);
	assert_json(first, "{\"a\":1}");
	cJSON_Delete(first);
	cJSON *empty = ck_yaml_parse("", 0, NULL);
	assert_true(cJSON_IsNull(empty));
	cJSON_Delete(empty);
}

static void test_errors(void **state)
{
	ck_err *err = NULL;
	const char *bad = "a: [1, 2\nb: 3\n";
	assert_null(ck_yaml_parse(bad, strlen(bad), &err));
	assert_int_equal(err->code, -EINVAL);
	assert_non_null(strstr(err->msg, "line"));
	err = ck_err_free(err);
	assert_null(ck_yaml_parse("x: *nope\n", 9, &err));
	err = ck_err_free(err);
	/* Billion laughs: aliases multiply nodes. */
	const char *bomb = "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	                   "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	                   "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n";
	assert_null(ck_yaml_parse(bomb, strlen(bomb), &err));
	assert_non_null(strstr(err->msg, "too many"));
	err = ck_err_free(err);
	/* Deep nesting. */
	char deep[2000];
	memset(deep, '[', 600);
	deep[600] = 0;
	assert_null(ck_yaml_parse(deep, 600, &err));
	ck_err_free(err);
}

static void test_print_round_trip(void **state)
{
	const char *json = "{\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":"
	                   "\"true\",\"b\":\"\",\"c\":\"1.5\",\"d\":\"- x\",\"e\":\"a: b\"}},"
	                   "\"spec\":{\"containers\":[{\"name\":\"c\",\"args\":[\"x\",\"y\\nz\"],"
	                   "\"ports\":[{\"containerPort\":80}]}],\"empty\":{},\"list\":[],"
	                   "\"n\":null,\"t\":false,\"num\":3.25,\"nested\":[[1,2],{\"k\":\"v\"}]}}";
	cJSON *j = ck_json_parse(json, strlen(json), NULL);
	char *y = ck_yaml_print(j);
	assert_non_null(strstr(y, "apiVersion: v1\nmetadata:\n  name: x\n"));
	assert_non_null(strstr(y, "  containers:\n  - name: c\n"));
	cJSON *back = ck_yaml_parse(y, strlen(y), NULL);
	assert_non_null(back);
	if (!ck_json_equal(j, back))
		fail_msg("round trip differs:\n%s", y);
	cJSON_Delete(back);
	cJSON_Delete(j);
	free(y);
	const char *quoted =
	    "{\"t\":\"2026-11-24T03:32:41Z\",\"u\":\"1_000\",\"ip\":\"10.0.0.1\",\"p\":\"a-b\"}";
	j = ck_json_parse(quoted, strlen(quoted), NULL);
	y = ck_yaml_print(j);
	assert_string_equal(
	    y, "t: \"2026-11-24T03:32:41Z\"\nu: \"1_000\"\nip: \"10.0.0.1\"\np: a-b\n");
	free(y);
	cJSON_Delete(j);
	cJSON *s = cJSON_CreateString("plain");
	y = ck_yaml_print(s);
	assert_string_equal(y, "plain\n");
	free(y);
	cJSON_Delete(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scalars),
	    cmocka_unit_test(test_structure),
	    cmocka_unit_test(test_anchors_and_merge),
	    cmocka_unit_test(test_multi_document),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_print_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
