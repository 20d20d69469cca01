/* Pure logic of lib/net/etcd: endpoint parsing and prefix range ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "net/etcd.h"

static void test_parse_endpoints(void **state)
{
	etcd_endpoint *eps = NULL;
	_cleanup_err_ ck_err *err = NULL;
	int n = etcd_parse_endpoints(
	    "http://127.0.0.1:2379, https://etcd-1.example:2379/,10.0.0.3:22379,,"
	    "unix:///run/etcd.sock",
	    &eps, &err);
	assert_int_equal(n, 4);
	assert_string_equal(eps[0].target, "127.0.0.1:2379");
	assert_false(eps[0].tls);
	assert_string_equal(eps[1].target, "etcd-1.example:2379");
	assert_true(eps[1].tls);
	assert_string_equal(eps[2].target, "10.0.0.3:22379");
	assert_false(eps[2].tls);
	assert_string_equal(eps[3].target, "unix:///run/etcd.sock");
	etcd_endpoints_free(eps, (size_t)n);

	n = etcd_parse_endpoints("[::1]:2379", &eps, &err);
	assert_int_equal(n, 1);
	assert_string_equal(eps[0].target, "[::1]:2379");
	etcd_endpoints_free(eps, 1);
}

static void test_parse_endpoints_errors(void **state)
{
	const char *bad[] = {"",      " , ",   "http://",      "ftp://h:1",       "host",
	                     "host:", ":2379", "http://h:12x", "http://h:1/path", NULL};
	for (int i = 0; bad[i]; i++) {
		etcd_endpoint *eps = NULL;
		_cleanup_err_ ck_err *err = NULL;
		int n = etcd_parse_endpoints(bad[i], &eps, &err);
		if (n != -EINVAL)
			fail_msg("\"%s\" parsed (%d)", bad[i], n);
		assert_null(eps);
		assert_non_null(err);
	}
	etcd_endpoint *eps = NULL;
	assert_int_equal(etcd_parse_endpoints(NULL, &eps, NULL), -EINVAL);
}

static void test_prefix_end(void **state)
{
	uint8_t *end = NULL;
	size_t n = etcd_prefix_end("/registry/pods/", 15, &end);
	assert_int_equal(n, 15);
	assert_memory_equal(end, "/registry/pods0", 15);
	free(end);

	n = etcd_prefix_end("a\xff\xff", 3, &end);
	assert_int_equal(n, 1);
	assert_int_equal(end[0], 'b');
	free(end);

	n = etcd_prefix_end("a\xfe", 2, &end);
	assert_int_equal(n, 2);
	assert_int_equal(end[1], 0xff);
	free(end);

	/* Nothing left to increment: every key >= key. */
	n = etcd_prefix_end("\xff\xff", 2, &end);
	assert_int_equal(n, 1);
	assert_int_equal(end[0], 0);
	free(end);
	n = etcd_prefix_end("", 0, &end);
	assert_int_equal(n, 1);
	assert_int_equal(end[0], 0);
	free(end);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_endpoints),
	    cmocka_unit_test(test_parse_endpoints_errors),
	    cmocka_unit_test(test_prefix_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
