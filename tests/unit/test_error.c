#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"

static int fails(ck_err **err)
{
	return ck_err_set(err, -ENOENT, "object %s not found", "x");
}

static void test_set(void **state)
{
	_cleanup_err_ ck_err *err = NULL;
	assert_int_equal(fails(&err), -ENOENT);
	assert_non_null(err);
	assert_int_equal(err->code, -ENOENT);
	assert_string_equal(err->msg, "object x not found");
	/* a second error does not replace the first */
	assert_int_equal(ck_err_set(&err, -EINVAL, "other"), -EINVAL);
	assert_int_equal(err->code, -ENOENT);
	assert_string_equal(err->msg, "object x not found");
	/* NULL err: only the code */
	assert_int_equal(fails(NULL), -ENOENT);
}

static void test_errno(void **state)
{
	_cleanup_err_ ck_err *err = NULL;
	assert_int_equal(ck_err_errno(&err, -ENOENT, "open %s", "/nope"), -ENOENT);
	assert_string_equal(err->msg, "open /nope: No such file or directory");
	_cleanup_err_ ck_err *e2 = NULL;
	ck_err_errno(&e2, CK_ECONFLICT, "put");
	assert_string_equal(e2->msg, "put: conflict");
	assert_int_equal(ck_err_errno(NULL, -EIO, "x"), -EIO);
}

static void test_wrap(void **state)
{
	_cleanup_err_ ck_err *err = NULL;
	fails(&err);
	assert_int_equal(ck_err_wrap(&err, -EIO, "loading %d", 7), -ENOENT);
	assert_string_equal(err->msg, "loading 7: object x not found");
	assert_int_equal(ck_err_wrap(&err, -EIO, "main"), -ENOENT);
	assert_string_equal(err->msg, "main: loading 7: object x not found");
	_cleanup_err_ ck_err *fresh = NULL;
	assert_int_equal(ck_err_wrap(&fresh, CK_EGONE, "watch"), CK_EGONE);
	assert_int_equal(fresh->code, CK_EGONE);
	assert_string_equal(fresh->msg, "watch");
	assert_int_equal(ck_err_wrap(NULL, -EIO, "x"), -EIO);
}

static void test_strerror(void **state)
{
	assert_string_equal(ck_strerror(CK_ECONFLICT), "conflict");
	assert_string_equal(ck_strerror(CK_ECOMPACTED), "revision compacted");
	assert_string_equal(ck_strerror(CK_EHTTP), "HTTP error status");
	assert_string_equal(ck_strerror(-ENOENT), "No such file or directory");
	assert_string_equal(ck_strerror(ENOENT), "No such file or directory");
	assert_null(ck_err_free(NULL));
}

static void test_cleanup(void **state)
{
	int fd;
	{
		_cleanup_close_ int f = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(f >= 0);
		fd = f;
		_cleanup_free_ char *p = ck_strdup("x");
		_cleanup_close_ int none = -1;
		(void)none;
		(void)p;
	}
	/* the fd was closed at scope exit */
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	char *p = ck_strdup("abc");
	char *q = CK_TAKE_PTR(p);
	assert_null(p);
	assert_string_equal(q, "abc");
	free(q);
	int f = 5;
	assert_int_equal(CK_TAKE_FD(f), 5);
	assert_int_equal(f, -1);
}

static void test_alloc_helpers(void **state)
{
	_cleanup_free_ char *a = ck_asprintf("%s-%d", "x", 1);
	assert_string_equal(a, "x-1");
	_cleanup_free_ char *n = ck_strndup("abcdef", 3);
	assert_string_equal(n, "abc");
	_cleanup_free_ char *e = ck_strdup(NULL);
	assert_string_equal(e, "");
	assert_null(ck_strdup_or_null(NULL));
	_cleanup_free_ char *o = ck_strdup_or_null("o");
	assert_string_equal(o, "o");
	_cleanup_free_ int *z = ck_calloc(4, sizeof(int));
	assert_int_equal(z[3], 0);
	_cleanup_free_ void *m = ck_malloc(0);
	assert_non_null(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_set),     cmocka_unit_test(test_errno),
	    cmocka_unit_test(test_wrap),    cmocka_unit_test(test_strerror),
	    cmocka_unit_test(test_cleanup), cmocka_unit_test(test_alloc_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
