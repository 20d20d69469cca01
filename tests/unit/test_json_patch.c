#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/json.h"

static cJSON *P(const char *s)
{
	cJSON *j = ck_json_parse(s, strlen(s), NULL);
	if (!j)
		fail_msg("test JSON does not parse: %s", s);
	return j;
}

static void assert_json(const cJSON *got, const char *want)
{
	_cleanup_json_ cJSON *w = P(want);
	if (!ck_json_equal(got, w)) {
		_cleanup_free_ char *g = ck_json_print(got);
		fail_msg("got %s, want %s", g, want);
	}
}

/* Applies patch to doc; expects success and result want. */
static void ok(const char *doc, const char *patch, const char *want)
{
	_cleanup_json_ cJSON *d = P(doc);
	_cleanup_json_ cJSON *p = P(patch);
	_cleanup_err_ ck_err *err = NULL;
	int r = ck_json_patch(&d, p, &err);
	if (r != 0)
		fail_msg("patch %s on %s failed: %s", patch, doc, err ? err->msg : "?");
	assert_null(err);
	assert_json(d, want);
}

/* Expects failure with code and an untouched target. */
static void bad(const char *doc, const char *patch, int code)
{
	_cleanup_json_ cJSON *d = P(doc);
	_cleanup_json_ cJSON *orig = ck_json_dup(d);
	cJSON *before = d;
	_cleanup_json_ cJSON *p = P(patch);
	_cleanup_err_ ck_err *err = NULL;
	int r = ck_json_patch(&d, p, &err);
	if (r != code)
		fail_msg("patch %s on %s: got %d, want %d", patch, doc, r, code);
	assert_non_null(err);
	assert_int_equal(err->code, code);
	assert_non_null(strstr(err->msg, "json patch"));
	assert_ptr_equal(d, before);
	assert_true(ck_json_equal(d, orig));
}

/* RFC 6902 appendix A. */
static void test_rfc6902_examples(void **state)
{
	ok("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
	   "{\"baz\":\"qux\",\"foo\":\"bar\"}"); /* A.1 */
	ok("{\"foo\":[\"bar\",\"baz\"]}",
	   "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
	   "{\"foo\":[\"bar\",\"qux\",\"baz\"]}"); /* A.2 */
	ok("{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
	   "{\"foo\":\"bar\"}"); /* A.3 */
	ok("{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
	   "{\"foo\":[\"bar\",\"baz\"]}"); /* A.4 */
	ok("{\"baz\":\"qux\",\"foo\":\"bar\"}",
	   "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
	   "{\"baz\":\"boo\",\"foo\":\"bar\"}"); /* A.5 */
	ok("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
	   "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
	   "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}"); /* A.6
	                                                                                     */
	ok("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
	   "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
	   "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}"); /* A.7 */
	ok("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
	   "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
	   "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
	   "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}"); /* A.8 */
	bad("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
	    CK_ECONFLICT); /* A.9 */
	ok("{\"foo\":\"bar\"}",
	   "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
	   "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}"); /* A.10 */
	ok("{\"foo\":\"bar\"}",
	   "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
	   "{\"foo\":\"bar\",\"baz\":\"qux\"}"); /* A.11 */
	bad("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]",
	    -EINVAL); /* A.12 */
	ok("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
	   "{\"/\":9,\"~1\":10}"); /* A.14 */
	bad("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]",
	    CK_ECONFLICT); /* A.15 */
	ok("{\"foo\":[\"bar\"]}",
	   "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
	   "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}"); /* A.16 */
}

static void test_pointer_escapes(void **state)
{
	ok("{\"a/b\":1,\"m~n\":2}",
	   "[{\"op\":\"replace\",\"path\":\"/a~1b\",\"value\":3},"
	   "{\"op\":\"remove\",\"path\":\"/m~0n\"}]",
	   "{\"a/b\":3}");
	ok("{\"\":1}", "[{\"op\":\"replace\",\"path\":\"/\",\"value\":2}]", "{\"\":2}");
	bad("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/~2\"}]", -EINVAL);
	bad("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"a\"}]", -EINVAL);
	bad("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/a~\"}]", -EINVAL);
	_cleanup_json_ cJSON *d = P("{\"a\":[{\"b/c\":7}],\"~\":true}");
	assert_ptr_equal(ck_json_pointer_get(d, ""), d);
	assert_int_equal(ck_json_pointer_get(d, "/a/0/b~1c")->valuedouble, 7);
	assert_true(cJSON_IsTrue(ck_json_pointer_get(d, "/~0")));
	assert_null(ck_json_pointer_get(d, "/a/1"));
	assert_null(ck_json_pointer_get(d, "/a/-"));
	assert_null(ck_json_pointer_get(d, "/a/00"));
	assert_null(ck_json_pointer_get(d, "a"));
}

static void test_arrays(void **state)
{
	ok("[1,2]", "[{\"op\":\"add\",\"path\":\"/2\",\"value\":3}]", "[1,2,3]");
	ok("[1,2]", "[{\"op\":\"add\",\"path\":\"/0\",\"value\":0}]", "[0,1,2]");
	ok("[1,2]", "[{\"op\":\"add\",\"path\":\"/-\",\"value\":3}]", "[1,2,3]");
	ok("[1,2,3]", "[{\"op\":\"replace\",\"path\":\"/1\",\"value\":9}]", "[1,9,3]");
	ok("[1,2,3]", "[{\"op\":\"remove\",\"path\":\"/2\"}]", "[1,2]");
	ok("[1,2,3]", "[{\"op\":\"move\",\"from\":\"/0\",\"path\":\"/-\"}]", "[2,3,1]");
	ok("[1,2,3]", "[{\"op\":\"copy\",\"from\":\"/0\",\"path\":\"/1\"}]", "[1,1,2,3]");
	bad("[1,2]", "[{\"op\":\"add\",\"path\":\"/3\",\"value\":3}]", -EINVAL);
	bad("[1,2]", "[{\"op\":\"add\",\"path\":\"/01\",\"value\":3}]", -EINVAL);
	bad("[1,2]", "[{\"op\":\"add\",\"path\":\"/-1\",\"value\":3}]", -EINVAL);
	bad("[1,2]", "[{\"op\":\"remove\",\"path\":\"/-\"}]", -EINVAL);
	bad("[1,2]", "[{\"op\":\"remove\",\"path\":\"/2\"}]", -EINVAL);
	bad("[1,2]", "[{\"op\":\"replace\",\"path\":\"/5\",\"value\":1}]", -EINVAL);
}

static void test_copy_move(void **state)
{
	ok("{\"a\":{\"b\":1}}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"}]",
	   "{\"a\":{\"b\":1},\"c\":{\"b\":1}}");
	/* the copy is deep: changing it leaves the source alone */
	ok("{\"a\":{\"b\":1}}",
	   "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"},"
	   "{\"op\":\"replace\",\"path\":\"/c/b\",\"value\":2}]",
	   "{\"a\":{\"b\":1},\"c\":{\"b\":2}}");
	ok("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]", "{\"a\":1}");
	ok("{\"a\":1,\"b\":2}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/b\"}]", "{\"b\":1}");
	bad("{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]",
	    -EINVAL);
	bad("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/x\",\"path\":\"/y\"}]", -EINVAL);
	bad("{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"/x\",\"path\":\"/y\"}]", -EINVAL);
	bad("{\"a\":1}", "[{\"op\":\"copy\",\"path\":\"/y\"}]", -EINVAL);
}

static void test_root(void **state)
{
	ok("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]", "[1]");
	ok("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"\",\"value\":{\"b\":2}}]", "{\"b\":2}");
	ok("{\"a\":1,\"b\":[1,{\"c\":2}]}",
	   "[{\"op\":\"test\",\"path\":\"\",\"value\":{\"b\":[1,{\"c\":2}],\"a\":1}}]",
	   "{\"a\":1,\"b\":[1,{\"c\":2}]}");
	bad("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"\"}]", -EINVAL);
	ok("{\"a\":1}", "[]", "{\"a\":1}");
}

static void test_replace_keeps_key(void **state)
{
	_cleanup_json_ cJSON *d = P("{\"a\":1,\"b\":2,\"c\":3}");
	_cleanup_json_ cJSON *p = P("[{\"op\":\"replace\",\"path\":\"/b\",\"value\":{\"x\":1}},"
	                            "{\"op\":\"add\",\"path\":\"/a\",\"value\":false}]");
	assert_int_equal(ck_json_patch(&d, p, NULL), 0);
	_cleanup_free_ char *s = ck_json_print(d);
	assert_string_equal(s, "{\"a\":false,\"b\":{\"x\":1},\"c\":3}");
}

static void test_atomic(void **state)
{
	/* the first ops succeed, the test fails: nothing of it shows */
	bad("{\"a\":1,\"l\":[1]}",
	    "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},{\"op\":\"remove\",\"path\":\"/a\"},"
	    "{\"op\":\"add\",\"path\":\"/l/-\",\"value\":2},"
	    "{\"op\":\"test\",\"path\":\"/b\",\"value\":3}]",
	    CK_ECONFLICT);
	bad("{\"a\":1}",
	    "[{\"op\":\"replace\",\"path\":\"\",\"value\":5},{\"op\":\"test\",\"path\":\"/x\","
	    "\"value\":1}]",
	    CK_ECONFLICT);
	_cleanup_json_ cJSON *d = P("{\"a\":1}");
	_cleanup_json_ cJSON *p = P("[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},"
	                            "{\"op\":\"test\",\"path\":\"/b\",\"value\":3}]");
	_cleanup_err_ ck_err *err = NULL;
	assert_int_equal(ck_json_patch(&d, p, &err), CK_ECONFLICT);
	/* the message names the failing operation */
	assert_non_null(strstr(err->msg, "operation 1 (test /b)"));
}

static void test_malformed(void **state)
{
	bad("{}", "{\"op\":\"add\"}", -EINVAL);
	bad("{}", "[1]", -EINVAL);
	bad("{}", "[{\"path\":\"/a\",\"value\":1}]", -EINVAL);
	bad("{}", "[{\"op\":\"add\",\"value\":1}]", -EINVAL);
	bad("{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", -EINVAL);
	bad("{}", "[{\"op\":\"replace\",\"path\":\"/a\"}]", -EINVAL);
	bad("{}", "[{\"op\":\"test\",\"path\":\"/a\"}]", -EINVAL);
	bad("{}", "[{\"op\":\"frobnicate\",\"path\":\"/a\"}]", -EINVAL);
	bad("{}", "[{\"op\":1,\"path\":\"/a\"}]", -EINVAL);
	bad("{}", "[{\"op\":\"add\",\"path\":5,\"value\":1}]", -EINVAL);
	bad("{}", "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":1}]", -EINVAL);
	bad("{}", "[{\"op\":\"remove\",\"path\":\"/a\"}]", -EINVAL);
	bad("{\"a\":\"s\"}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":1}]", -EINVAL);
	/* "value": null is a value */
	ok("{}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":null}]", "{\"a\":null}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc6902_examples),
	    cmocka_unit_test(test_pointer_escapes),
	    cmocka_unit_test(test_arrays),
	    cmocka_unit_test(test_copy_move),
	    cmocka_unit_test(test_root),
	    cmocka_unit_test(test_replace_keeps_key),
	    cmocka_unit_test(test_atomic),
	    cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
