#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"

static void test_buf_append_printf(void **state)
{
	_cleanup_buf_ ck_buf b = {0};
	assert_string_equal(ck_buf_str(&b), "");
	ck_buf_puts(&b, "abc");
	ck_buf_putc(&b, '-');
	ck_buf_printf(&b, "%d/%s", 42, "x");
	assert_string_equal(ck_buf_str(&b), "abc-42/x");
	assert_int_equal(b.len, 8);
	ck_buf_truncate(&b, 3);
	assert_string_equal(b.s, "abc");
	ck_buf_truncate(&b, 100);
	assert_int_equal(b.len, 3);
	ck_buf_clear(&b);
	assert_string_equal(b.s, "");
	assert_int_equal(b.len, 0);
}

static void test_buf_grows(void **state)
{
	_cleanup_buf_ ck_buf b = {0};
	for (int i = 0; i < 10000; i++)
		ck_buf_printf(&b, "%04d", i % 10000);
	assert_int_equal(b.len, 40000);
	assert_memory_equal(b.s + 4 * 9999, "9999", 4);
	assert_int_equal(b.s[b.len], '\0');
	ck_buf_append(&b, "a\0b", 3);
	assert_int_equal(b.len, 40003);
	assert_int_equal(b.s[40001], '\0');
}

static void test_buf_reserve_terminates(void **state)
{
	_cleanup_buf_ ck_buf b = {0};
	ck_buf_reserve(&b, 10);
	assert_non_null(b.s);
	assert_string_equal(ck_buf_str(&b), "");
	ck_buf_puts(&b, "ab");
	ck_buf_reserve(&b, 1000);
	assert_string_equal(b.s, "ab");
	assert_true(b.cap >= 1003);
}

static void test_buf_steal(void **state)
{
	ck_buf b = {0};
	char *s = ck_buf_steal(&b);
	assert_string_equal(s, "");
	free(s);
	ck_buf_puts(&b, "hello");
	s = ck_buf_steal(&b);
	assert_string_equal(s, "hello");
	assert_null(b.s);
	assert_int_equal(b.len, 0);
	free(s);
}

static void test_strv(void **state)
{
	_cleanup_strv_ char **v = NULL;
	assert_int_equal(ck_strv_len(v), 0);
	ck_strv_add(&v, "a");
	ck_strv_push(&v, ck_strdup("b"));
	assert_int_equal(ck_strv_len(v), 2);
	assert_true(ck_strv_contains(v, "b"));
	assert_false(ck_strv_contains(v, "c"));
	_cleanup_free_ char *j = ck_strv_join(v, ", ");
	assert_string_equal(j, "a, b");
	_cleanup_strv_ char **d = ck_strv_dup(v);
	assert_int_equal(ck_strv_len(d), 2);
	assert_ptr_not_equal(d[0], v[0]);
	assert_string_equal(d[1], "b");
	assert_null(d[2]);
	assert_null(ck_strv_dup(NULL));
}

static void test_strv_split(void **state)
{
	_cleanup_strv_ char **v = ck_strv_split("a,,b", ",");
	assert_int_equal(ck_strv_len(v), 3);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "");
	assert_string_equal(v[2], "b");
	_cleanup_strv_ char **e = ck_strv_split("", ",");
	assert_non_null(e);
	assert_int_equal(ck_strv_len(e), 0);
	_cleanup_strv_ char **t = ck_strv_split("x:y,z", ",:");
	assert_int_equal(ck_strv_len(t), 3);
	assert_string_equal(t[2], "z");
	_cleanup_free_ char *j = ck_strv_join(NULL, ",");
	assert_string_equal(j, "");
}

static void test_str_predicates(void **state)
{
	assert_true(ck_str_has_prefix("kube-apiserver", "kube-"));
	assert_false(ck_str_has_prefix("kube", "kube-"));
	assert_true(ck_str_has_suffix("file.yaml", ".yaml"));
	assert_false(ck_str_has_suffix("yaml", ".yaml"));
	assert_true(ck_streq(NULL, ""));
	assert_true(ck_streq("a", "a"));
	assert_false(ck_streq("a", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf_append_printf),
	    cmocka_unit_test(test_buf_grows),
	    cmocka_unit_test(test_buf_steal),
	    cmocka_unit_test(test_buf_reserve_terminates),
	    cmocka_unit_test(test_strv),
	    cmocka_unit_test(test_strv_split),
	    cmocka_unit_test(test_str_predicates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
