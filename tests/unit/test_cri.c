/* lib/net/cri without a runtime: key/value vectors, copies, state names, argument
 * checks (delivered through the callback, in blocking mode before the call returns). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "net/cri.h"

static void test_kv_and_strv(void **state)
{
	char *kv[] = {"a", "1", "b", "2", NULL};
	assert_string_equal(cri_kv_get(kv, "a"), "1");
	assert_string_equal(cri_kv_get(kv, "b"), "2");
	assert_null(cri_kv_get(kv, "c"));
	assert_null(cri_kv_get(NULL, "a"));
	char *odd[] = {"a", NULL};
	assert_null(cri_kv_get(odd, "a"));
	char **d = cri_strv_dup(kv);
	assert_string_equal(d[3], "2");
	assert_null(d[4]);
	assert_ptr_not_equal(d[0], kv[0]);
	cri_strv_free(d);
	assert_null(cri_strv_dup(NULL));
	cri_strv_free(NULL);
}

static void test_container_copy(void **state)
{
	char *labels[] = {"io.kubernetes.container.name", "main", NULL};
	cri_container src = {.id = "c1",
	                     .name = "main",
	                     .attempt = 2,
	                     .state = CRI_CONTAINER_EXITED,
	                     .exit_code = 3,
	                     .labels = labels,
	                     .reason = "Error"};
	cri_container dst;
	cri_container_copy(&dst, &src);
	assert_string_equal(dst.id, "c1");
	assert_ptr_not_equal(dst.id, src.id);
	assert_int_equal(dst.attempt, 2);
	assert_int_equal(dst.exit_code, 3);
	assert_string_equal(cri_kv_get(dst.labels, "io.kubernetes.container.name"), "main");
	assert_null(dst.sandbox_id);
	assert_string_equal(dst.reason, "Error");
	cri_container_clear(&dst);
	assert_null(dst.id);
	assert_string_equal(cri_container_state_name(CRI_CONTAINER_RUNNING), "CONTAINER_RUNNING");
	assert_string_equal(cri_container_state_name((enum cri_container_state)9),
	                    "CONTAINER_UNKNOWN");
}

typedef struct got {
	bool called;
	int rc;
} got;

static void on_done(int rc, const ck_err *err, void *data)
{
	got *g = data;
	g->called = true;
	g->rc = rc;
	assert_non_null(err);
}

static void on_id(int rc, const char *id, const ck_err *err, void *data)
{
	got *g = data;
	g->called = true;
	g->rc = rc;
	assert_null(id);
}

static void test_arguments_checked(void **state)
{
	cri_client *c = NULL;
	ck_err *err = NULL;
	cri_client_opts none = {0};
	assert_int_equal(cri_client_new(NULL, &none, &c, &err), -EINVAL);
	ck_err_free(err);
	err = NULL;
	/* A path becomes a unix:// target; nothing connects before the first call. */
	cri_client_opts o = {.endpoint = "/nonexistent/containerd.sock", .timeout_ms = 500};
	assert_int_equal(cri_client_new(NULL, &o, &c, &err), 0);
	assert_string_equal(cri_client_endpoint(c), "unix:///nonexistent/containerd.sock");
	got g = {0};
	cri_start_container(c, "", on_done, &g);
	assert_true(g.called);
	assert_int_equal(g.rc, -EINVAL);
	g = (got){0};
	cri_sandbox_config bad = {.name = "x"};
	cri_run_sandbox(c, &bad, on_id, &g);
	assert_true(g.called);
	assert_int_equal(g.rc, -EINVAL);
	g = (got){0};
	cri_pull_image(c, NULL, NULL, on_id, &g);
	assert_int_equal(g.rc, -EINVAL);
	/* A runtime that is not there: the call fails within its deadline. */
	g = (got){0};
	cri_stop_sandbox(c, "abc", on_done, &g);
	assert_true(g.called);
	assert_true(g.rc == CK_EUNAVAILABLE || g.rc == -ETIMEDOUT);
	cri_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kv_and_strv),
	    cmocka_unit_test(test_container_copy),
	    cmocka_unit_test(test_arguments_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
