/* Unit tests for api/component: shared and own flags, the start callback, exit codes, and
 * that with leader election nothing starts before the lease is held. No apiserver: the
 * master is a closed port. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/component.h"

static int opt_x;
static const ck_flag FLAGS[] = {
    {"x", 0, CK_FLAG_INT, &opt_x, "an own flag"},
    {0},
};

typedef struct probe {
	int calls;
	int result;
	bool raise_term;
} probe;

static int start(void *data, ck_err **err)
{
	probe *p = data;
	p->calls++;
	if (p->raise_term)
		raise(SIGTERM);
	if (p->result < 0)
		return ck_err_set(err, p->result, "refused");
	return 0;
}

static void on_timer(uv_timer_t *t)
{
	raise(SIGTERM);
}

/* component_new keeps a pointer to its options: they live as long as the test binary. */
static const component_opts PLAIN = {.program = "test", .flags = FLAGS};
static const component_opts ELECTED = {.program = "test", .flags = FLAGS, .lease_name = "l"};

static component *make(const component_opts *o, int argc, char **argv)
{
	component *cp = NULL;
	ck_err *err = NULL;
	assert_int_equal(component_new(o, argc, argv, &cp, &err), 0);
	assert_null(err);
	return cp;
}

static void test_flags_and_start(void **state)
{
	char *argv[] = {"test", "--master=http://127.0.0.1:1", "--x=7", NULL};
	component *cp = make(&PLAIN, 3, argv);
	assert_int_equal(opt_x, 7);
	assert_string_equal(component_kubeconfig(cp)->server, "http://127.0.0.1:1");
	assert_non_null(component_client(cp));
	assert_ptr_equal(component_loop(cp), uv_default_loop());
	probe p = {.raise_term = true};
	/* Without a lease name start runs at once; SIGTERM stops with exit code 0. */
	assert_int_equal(component_run(cp, start, &p), 0);
	assert_int_equal(p.calls, 1);
	component_free(cp);
}

static void test_failed_start_exits_1(void **state)
{
	char *argv[] = {"test", "--master=http://127.0.0.1:1", "--leader-elect=false", NULL};
	component *cp = make(&ELECTED, 3, argv);
	probe p = {.result = -EINVAL};
	assert_int_equal(component_run(cp, start, &p), 1);
	assert_int_equal(p.calls, 1);
	component_free(cp);
}

static void test_no_start_before_leading(void **state)
{
	/* Leader election is on by default: with no apiserver the lease is never held, so
	 * start never runs; SIGTERM still stops cleanly. */
	char *argv[] = {"test", "--master=http://127.0.0.1:1", "--leader-elect-retry-period=50ms",
	                NULL};
	component *cp = make(&ELECTED, 3, argv);
	uv_timer_t t;
	uv_timer_init(component_loop(cp), &t);
	uv_timer_start(&t, on_timer, 300, 0);
	probe p = {0};
	assert_int_equal(component_run(cp, start, &p), 0);
	assert_int_equal(p.calls, 0);
	uv_close((uv_handle_t *)&t, NULL);
	component_free(cp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flags_and_start),
	    cmocka_unit_test(test_failed_start_exits_1),
	    cmocka_unit_test(test_no_start_before_leading),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
