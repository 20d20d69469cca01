#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/strbuf.h"

static cJSON *P(const char *s)
{
	cJSON *j = ck_json_parse(s, strlen(s), NULL);
	if (!j)
		fail_msg("test JSON does not parse: %s", s);
	return j;
}

static void assert_prints(const cJSON *j, const char *want)
{
	_cleanup_free_ char *s = ck_json_print(j);
	assert_string_equal(s, want);
}

static void test_parse_ok(void **state)
{
	_cleanup_err_ ck_err *err = NULL;
	const char buf[] = "  {\"a\": [1, 2.5, true, null, \"x\\n\"]} \n";
	/* not NUL-terminated: only len bytes count */
	char copy[sizeof(buf) + 3];
	memcpy(copy, buf, sizeof(buf) - 1);
	memcpy(copy + sizeof(buf) - 1, "xyz", 3);
	_cleanup_json_ cJSON *j = ck_json_parse(copy, sizeof(buf) - 1, &err);
	assert_non_null(j);
	assert_null(err);
	assert_prints(j, "{\"a\":[1,2.5,true,null,\"x\\n\"]}");
	_cleanup_json_ cJSON *s = ck_json_parse("\"str\"", 5, NULL);
	assert_true(cJSON_IsString(s));
}

static void expect_parse_error(const char *s, size_t len, const char *msg)
{
	_cleanup_err_ ck_err *err = NULL;
	cJSON *j = ck_json_parse(s, len, &err);
	assert_null(j);
	assert_non_null(err);
	assert_int_equal(err->code, -EINVAL);
	if (!strstr(err->msg, msg))
		fail_msg("message \"%s\" lacks \"%s\"", err->msg, msg);
}

static void test_parse_errors(void **state)
{
	expect_parse_error("", 0, "empty");
	expect_parse_error("{\"a\":}", 6, "at byte 5");
	expect_parse_error("{\"a\":1} x", 9, "at byte 8: data after the value");
	expect_parse_error("[1,2", 4, "invalid JSON");
	expect_parse_error("nul", 3, "invalid JSON");
	/* the length cuts the value short */
	expect_parse_error("{\"a\":1}", 5, "invalid JSON");
	assert_null(ck_json_parse("{", 1, NULL));
	expect_parse_error("[1e999]", 7, "number out of range");
	expect_parse_error("[01]", 4, "at byte 1: malformed number");
	expect_parse_error("[+1]", 4, "at byte 1: malformed number");
	expect_parse_error("{\"a\":.5}", 8, "at byte 5: malformed number");
	expect_parse_error("[1.]", 4, "malformed number");
	expect_parse_error("[1e]", 4, "malformed number");
	expect_parse_error("[--1]", 5, "malformed number");
	expect_parse_error("[1-2]", 5, "malformed number");
	expect_parse_error("\"a\nb\"", 5, "at byte 2: control character in string");
	_cleanup_json_ cJSON *nums = P("[0,-0,0.5,-1.25e-3,1E+2,10e1,-0.0e0]");
	assert_prints(nums, "[0,-0,0.5,-0.00125,100,100,-0]");
}

static void test_parse_duplicate_keys(void **state)
{
	_cleanup_json_ cJSON *j = P("{\"a\":1,\"b\":{\"x\":1,\"x\":2,\"x\":3},\"a\":2}");
	assert_prints(j, "{\"b\":{\"x\":3},\"a\":2}");
	_cleanup_json_ cJSON *copy = ck_json_dup(j);
	assert_true(ck_json_equal(j, copy));
	/* many keys (the sorting path): the last of each duplicate wins, order kept */
	ck_buf b = {0};
	ck_buf_putc(&b, '{');
	for (int i = 0; i < 40; i++)
		ck_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i % 20, i);
	ck_buf_putc(&b, '}');
	_cleanup_json_ cJSON *many = P(b.s);
	ck_buf_free(&b);
	assert_int_equal(cJSON_GetArraySize(many), 20);
	assert_int_equal(ck_json_get_int(many, "k0", -1), 20);
	assert_int_equal(ck_json_get_int(many, "k19", -1), 39);
	assert_string_equal(many->child->string, "k0");
}

static void test_parse_depth(void **state)
{
	ck_buf b = {0};
	for (int i = 0; i < 256; i++)
		ck_buf_putc(&b, '[');
	for (int i = 0; i < 256; i++)
		ck_buf_putc(&b, ']');
	_cleanup_json_ cJSON *ok = ck_json_parse(b.s, b.len, NULL);
	assert_non_null(ok);
	ck_buf_clear(&b);
	for (int i = 0; i < 257; i++)
		ck_buf_puts(&b, "{\"a\":");
	ck_buf_putc(&b, '1');
	for (int i = 0; i < 257; i++)
		ck_buf_putc(&b, '}');
	expect_parse_error(b.s, b.len, "nesting deeper than 256");
	/* brackets inside strings do not count */
	ck_buf_clear(&b);
	ck_buf_putc(&b, '"');
	for (int i = 0; i < 300; i++)
		ck_buf_puts(&b, "[\\\"{");
	ck_buf_putc(&b, '"');
	_cleanup_json_ cJSON *str = ck_json_parse(b.s, b.len, NULL);
	assert_true(cJSON_IsString(str));
	ck_buf_free(&b);
}

static void test_print(void **state)
{
	_cleanup_json_ cJSON *j = P("{\"big\":1700000000000,\"neg\":-42,\"f\":0.1,\"e\":1e300,"
	                            "\"s\":\"q\\\"b\\\\\\u0001\\t\\u00e9\",\"o\":{},\"a\":[]}");
	assert_prints(j, "{\"big\":1700000000000,\"neg\":-42,\"f\":0.1,\"e\":1e+300,"
	                 "\"s\":\"q\\\"b\\\\\\u0001\\t\xc3\xa9\",\"o\":{},\"a\":[]}");
	_cleanup_json_ cJSON *big = P("[1e20,123456789012345678,-9007199254740993,1e21]");
	assert_prints(big, "[100000000000000000000,123456789012345680,-9007199254740992,1e+21]");
	_cleanup_free_ char *n = ck_json_print(NULL);
	assert_string_equal(n, "null");
	_cleanup_json_ cJSON *p = P("{\"a\":[1,{\"b\":null}],\"c\":{}}");
	_cleanup_free_ char *pretty = ck_json_print_pretty(p);
	assert_string_equal(pretty, "{\n    \"a\": [\n        1,\n        {\n            \"b\": "
	                            "null\n        }\n    ],\n    \"c\": {}\n}");
	/* print then parse gives an equal value */
	_cleanup_free_ char *c = ck_json_print(j);
	_cleanup_json_ cJSON *back = P(c);
	assert_true(ck_json_equal(j, back));
	_cleanup_buf_ ck_buf b = {0};
	ck_buf_puts(&b, "x=");
	ck_json_print_buf(&b, p);
	assert_string_equal(b.s, "x={\"a\":[1,{\"b\":null}],\"c\":{}}");
}

static void test_get(void **state)
{
	_cleanup_json_ cJSON *j =
	    P("{\"metadata\":{\"name\":\"web\",\"generation\":3,\"labels\":{\"app.kubernetes.io/"
	      "name\":\"web\",\"a\\\\b\":\"bs\"}},\"spec\":{\"paused\":true,\"replicas\":2.5,"
	      "\"containers\":[{\"image\":\"nginx\"},{\"image\":\"busybox\"}]}}");
	assert_string_equal(ck_json_get_str(j, "metadata.name", NULL), "web");
	assert_string_equal(ck_json_get_str(j, "metadata.labels.app\\.kubernetes\\.io/name", NULL),
	                    "web");
	assert_string_equal(ck_json_get_str(j, "metadata.labels.a\\\\b", NULL), "bs");
	assert_null(ck_json_get(j, "metadata.labels.app.kubernetes.io/name"));
	assert_string_equal(ck_json_get_str(j, "metadata.missing", "def"), "def");
	assert_string_equal(ck_json_get_str(j, "metadata.generation", "def"), "def");
	assert_int_equal(ck_json_get_int(j, "metadata.generation", -1), 3);
	assert_int_equal(ck_json_get_int(j, "spec.replicas", -1), -1); /* not integral */
	assert_int_equal(ck_json_get_int(j, "metadata.name", -1), -1);
	assert_true(ck_json_get_bool(j, "spec.paused", false));
	assert_false(ck_json_get_bool(j, "spec.nope", false));
	assert_true(ck_json_get_bool(j, "metadata.name", true));
	assert_string_equal(ck_json_get_str(j, "spec.containers.1.image", NULL), "busybox");
	assert_null(ck_json_get(j, "spec.containers.2.image"));
	assert_null(ck_json_get(j, "spec.containers.x"));
	assert_ptr_equal(ck_json_get(j, ""), j);
	assert_null(ck_json_get(NULL, "a"));
	assert_null(ck_json_get(j, "metadata.name.deeper"));
}

static void test_set(void **state)
{
	_cleanup_json_ cJSON *j = P("{\"metadata\":{\"name\":\"a\"},\"l\":[1,{\"x\":1}]}");
	assert_int_equal(ck_json_set_str(j, "metadata.name", "b"), 0);
	assert_int_equal(ck_json_set_str(j, "metadata.labels.app\\.io/x", "y"), 0);
	assert_int_equal(ck_json_set_int(j, "status.observedGeneration", 9007199254740992LL), 0);
	assert_int_equal(ck_json_set_bool(j, "spec.paused", true), 0);
	assert_int_equal(ck_json_set_int(j, "l.1.x", 2), 0);
	assert_int_equal(ck_json_set_int(j, "l.0", 7), 0);
	assert_prints(j, "{\"metadata\":{\"name\":\"b\",\"labels\":{\"app.io/x\":\"y\"}},"
	                 "\"l\":[7,{\"x\":2}],\"status\":{\"observedGeneration\":9007199254740992},"
	                 "\"spec\":{\"paused\":true}}");
	assert_int_equal(ck_json_get_int(j, "status.observedGeneration", 0), 9007199254740992LL);
	/* failures leave the object alone */
	_cleanup_free_ char *before = ck_json_print(j);
	assert_int_equal(ck_json_set_str(j, "metadata.name.x", "z"), -EINVAL);
	assert_int_equal(ck_json_set_str(j, "l.5", "z"), -EINVAL);
	assert_int_equal(ck_json_set_str(j, "", "z"), -EINVAL);
	assert_int_equal(ck_json_set(j, "a", NULL), -EINVAL);
	_cleanup_free_ char *after = ck_json_print(j);
	assert_string_equal(before, after);
	assert_int_equal(ck_json_set_str(j, "metadata.name", NULL), 0);
	assert_true(cJSON_IsNull(ck_json_get(j, "metadata.name")));
}

static void test_remove(void **state)
{
	_cleanup_json_ cJSON *j = P("{\"a\":{\"b\":1,\"c\":2},\"l\":[1,2,3],\"d.e\":1}");
	ck_json_remove(j, "a.b");
	ck_json_remove(j, "a.zz");
	ck_json_remove(j, "x.y.z");
	ck_json_remove(j, "l.1");
	ck_json_remove(j, "d\\.e");
	assert_prints(j, "{\"a\":{\"c\":2},\"l\":[1,3]}");
}

static void test_dup_equal(void **state)
{
	_cleanup_json_ cJSON *a = P("{\"x\":[1,{\"y\":\"z\",\"w\":null}],\"b\":true}");
	_cleanup_json_ cJSON *b = P("{\"b\":true,\"x\":[1,{\"w\":null,\"y\":\"z\"}]}");
	_cleanup_json_ cJSON *c = P("{\"b\":true,\"x\":[{\"w\":null,\"y\":\"z\"},1]}");
	_cleanup_json_ cJSON *d = P("{\"b\":true,\"x\":[1,{\"w\":null,\"y\":\"z\"}],\"e\":1}");
	_cleanup_json_ cJSON *e = P("{\"b\":false,\"x\":[1,{\"w\":null,\"y\":\"z\"}]}");
	_cleanup_json_ cJSON *f = P("{\"b\":true,\"x\":[1,{\"w\":null,\"q\":\"z\"}]}");
	assert_true(ck_json_equal(a, b));
	assert_false(ck_json_equal(a, c)); /* array order matters */
	assert_false(ck_json_equal(a, d));
	assert_false(ck_json_equal(d, a));
	assert_false(ck_json_equal(a, e));
	assert_false(ck_json_equal(a, f));
	assert_false(ck_json_equal(a, NULL));
	assert_true(ck_json_equal(NULL, NULL));
	_cleanup_json_ cJSON *one = P("1"), *onef = P("1.0"), *str = P("\"1\"");
	assert_true(ck_json_equal(one, onef));
	assert_false(ck_json_equal(one, str));
	_cleanup_json_ cJSON *copy = ck_json_dup(a);
	assert_ptr_not_equal(copy, a);
	assert_true(ck_json_equal(copy, a));
	ck_json_set_str(copy, "x.1.y", "changed");
	assert_string_equal(ck_json_get_str(a, "x.1.y", NULL), "z");
	assert_null(ck_json_dup(NULL));
}

/* RFC 7386 appendix A. */
static void test_merge_patch_rfc7386(void **state)
{
	static const char *const cases[][3] = {
	    {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
	    {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
	    {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
	    {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
	    {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
	    {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
	    {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
	    {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
	    {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
	    {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
	    {"{\"a\":\"foo\"}", "null", "null"},
	    {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
	    {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
	    {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
	    {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
	};
	for (size_t i = 0; i < CK_ARRAY_SIZE(cases); i++) {
		_cleanup_json_ cJSON *t = P(cases[i][0]);
		_cleanup_json_ cJSON *p = P(cases[i][1]);
		_cleanup_json_ cJSON *want = P(cases[i][2]);
		assert_int_equal(ck_json_merge_patch(&t, p), 0);
		if (!ck_json_equal(t, want)) {
			_cleanup_free_ char *got = ck_json_print(t);
			fail_msg("case %zu: got %s, want %s", i, got, cases[i][2]);
		}
	}
}

static void test_merge_patch_details(void **state)
{
	/* keys keep their place; the patch is not consumed or aliased */
	_cleanup_json_ cJSON *t = P("{\"a\":1,\"b\":{\"c\":1,\"d\":2},\"e\":3}");
	_cleanup_json_ cJSON *p = P("{\"b\":{\"c\":5},\"a\":{\"x\":null,\"y\":1}}");
	assert_int_equal(ck_json_merge_patch(&t, p), 0);
	assert_prints(t, "{\"a\":{\"y\":1},\"b\":{\"c\":5,\"d\":2},\"e\":3}");
	assert_prints(p, "{\"b\":{\"c\":5},\"a\":{\"x\":null,\"y\":1}}");
	cJSON *null_target = NULL;
	assert_int_equal(ck_json_merge_patch(&null_target, p), 0);
	assert_prints(null_target, "{\"b\":{\"c\":5},\"a\":{\"y\":1}}");
	cJSON_Delete(null_target);
}

static void test_time_format(void **state)
{
	struct timespec t = {.tv_sec = 1795368807, .tv_nsec = 627123456};
	_cleanup_free_ char *s = ck_time_rfc3339(&t, false);
	assert_string_equal(s, "2026-11-22T17:33:27Z");
	_cleanup_free_ char *m = ck_time_rfc3339(&t, true);
	assert_string_equal(m, "2026-11-22T17:33:27.627123Z");
	struct timespec z = {0};
	_cleanup_free_ char *e = ck_time_rfc3339(&z, true);
	assert_string_equal(e, "1970-01-01T00:00:00.000000Z");
}

static void test_time_parse(void **state)
{
	struct {
		const char *in;
		long long sec;
		long nsec;
	} ok[] = {
	    {"2026-11-22T17:33:27Z", 1795368807, 0},
	    {"2026-11-22T17:33:27.627123Z", 1795368807, 627123000},
	    {"2026-11-22T17:33:27.5z", 1795368807, 500000000},
	    {"2026-11-22t17:33:27.123456789Z", 1795368807, 123456789},
	    {"2026-11-22T18:33:27+01:00", 1795368807, 0},
	    {"2026-11-22T12:03:27-05:30", 1795368807, 0},
	    {"1970-01-01T00:00:00Z", 0, 0},
	    {"1969-12-31T23:59:59Z", -1, 0},
	    {"2024-02-29T00:00:00Z", 1709164800, 0},
	    {"2000-03-01 00:00:00Z", 951868800, 0},
	};
	for (size_t i = 0; i < CK_ARRAY_SIZE(ok); i++) {
		struct timespec t = {0};
		if (ck_time_parse_rfc3339(ok[i].in, &t) != 0 || t.tv_sec != ok[i].sec ||
		    t.tv_nsec != ok[i].nsec)
			fail_msg("%s: got %lld.%09ld", ok[i].in, (long long)t.tv_sec, t.tv_nsec);
	}
	const char *bad[] = {
	    "",
	    "2026-11-22",
	    "2026-11-22T17:33:27",
	    "2026-11-22T17:33:27.Z",
	    "2026-13-22T17:33:27Z",
	    "2026-02-29T00:00:00Z",
	    "2026-11-31T00:00:00Z",
	    "2026-11-22T24:00:00Z",
	    "2026-11-22T17:60:00Z",
	    "2026-11-22T17:33:60Z",
	    "2026-11-22T17:33:27+0100",
	    "2026-11-22T17:33:27Zjunk",
	    "26-11-22T17:33:27Z",
	    "2026/11/22T17:33:27Z",
	};
	for (size_t i = 0; i < CK_ARRAY_SIZE(bad); i++) {
		struct timespec t;
		if (ck_time_parse_rfc3339(bad[i], &t) != -EINVAL)
			fail_msg("%s accepted", bad[i]);
	}
	/* round trip */
	struct timespec t = {.tv_sec = 1700000000, .tv_nsec = 123456000}, back;
	_cleanup_free_ char *s = ck_time_rfc3339(&t, true);
	assert_int_equal(ck_time_parse_rfc3339(s, &back), 0);
	assert_int_equal(back.tv_sec, t.tv_sec);
	assert_int_equal(back.tv_nsec, t.tv_nsec);
}

static void test_time_now(void **state)
{
	struct timespec before, parsed;
	clock_gettime(CLOCK_REALTIME, &before);
	_cleanup_free_ char *s = ck_time_now_rfc3339(false);
	_cleanup_free_ char *m = ck_time_now_rfc3339(true);
	assert_int_equal(ck_time_parse_rfc3339(s, &parsed), 0);
	/* Seconds precision, so at most one second behind what the clock said before. */
	assert_true(parsed.tv_sec >= before.tv_sec && parsed.tv_sec <= before.tv_sec + 2);
	assert_int_equal(strlen(s), strlen("2026-11-24T04:45:40Z"));
	assert_int_equal(strlen(m), strlen("2026-11-24T04:45:40.123456Z"));
	assert_int_equal(ck_time_parse_rfc3339(m, &parsed), 0);
	assert_true(parsed.tv_sec >= before.tv_sec && parsed.tv_sec <= before.tv_sec + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_ok),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_parse_depth),
	    cmocka_unit_test(test_parse_duplicate_keys),
	    cmocka_unit_test(test_print),
	    cmocka_unit_test(test_get),
	    cmocka_unit_test(test_set),
	    cmocka_unit_test(test_remove),
	    cmocka_unit_test(test_dup_equal),
	    cmocka_unit_test(test_merge_patch_rfc7386),
	    cmocka_unit_test(test_merge_patch_details),
	    cmocka_unit_test(test_time_format),
	    cmocka_unit_test(test_time_parse),
	    cmocka_unit_test(test_time_now),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
