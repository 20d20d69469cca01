/* lib/net/etcd over TLS with client certificates (the --etcd-cafile/--etcd-certfile/
 * --etcd-keyfile case), against an etcd from the harness in TLS mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etcd_client_harness.h"
#include "etcd_harness.h"
#include "net/etcd.h"

static etcd_harness *harness;

static int group_setup(void **state)
{
	_cleanup_err_ ck_err *err = NULL;
	if (etcd_harness_start_opts(&(etcd_harness_opts){.tls = true}, &harness, &err) < 0) {
		fprintf(stderr, "etcd harness (tls): %s\n", err->msg);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	etcd_harness_stop(harness);
	return 0;
}

/* A client with o on loop (initialized here); fails the test when it cannot be made. */
static etcd_client *client_on(uv_loop_t *loop, const etcd_client_opts *o)
{
	uv_loop_init(loop);
	etcd_client *c = NULL;
	_cleanup_err_ ck_err *err = NULL;
	if (etcd_client_new(loop, o, &c, &err) < 0)
		fail_msg("client: %s", err->msg);
	return c;
}

static void test_tls_with_client_cert(void **state)
{
	assert_non_null(strstr(etcd_harness_endpoints(harness), "https://127.0.0.1:"));
	assert_non_null(etcd_harness_ca_file(harness));
	etcd_client_opts o = {.endpoints = etcd_harness_endpoints(harness),
	                      .ca_file = etcd_harness_ca_file(harness),
	                      .cert_file = etcd_harness_cert_file(harness),
	                      .key_file = etcd_harness_key_file(harness)};
	uv_loop_t loop;
	etcd_client *c = client_on(&loop, &o);
	ech_result p = {0};
	etcd_put(c, "/tls/x", 0, "secret", 6, 0, ech_on_write, &p);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (p.rc != 0)
		fail_msg("put over TLS: %s", p.err);
	ech_watch w = {0};
	etcd_watch *wh = NULL;
	assert_int_equal(
	    etcd_watch_start(c, &(etcd_watch_opts){.key = "/tls/x", .start_revision = p.revision},
	                     ech_on_watch, &w, &wh),
	    0);
	while (!w.n && !w.ended)
		uv_run(&loop, UV_RUN_ONCE);
	assert_string_equal(w.values[0], "secret");
	etcd_watch_cancel(wh);
	ech_result g = {0};
	etcd_range(c, &(etcd_range_req){.key = "/tls/x"}, ech_on_range, &g);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(g.rc, 0);
	assert_string_equal(g.value, "secret");
	assert_int_equal(ech_client_close(&loop, c), 0);
}

/* A client that cannot complete the handshake fails (no hang) with UNAVAILABLE. */
static void expect_unavailable(const etcd_client_opts *o)
{
	uv_loop_t loop;
	etcd_client *c = client_on(&loop, o);
	ech_result g = {0};
	etcd_range(c, &(etcd_range_req){.key = "/tls/x"}, ech_on_range, &g);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_true(g.done);
	assert_int_equal(g.rc, CK_EUNAVAILABLE);
	assert_int_equal(ech_client_close(&loop, c), 0);
}

static void test_tls_refused(void **state)
{
	/* Plain HTTP/2 to a TLS port. */
	char plain[128];
	snprintf(plain, sizeof(plain), "http://%s", etcd_harness_target(harness, 0));
	expect_unavailable(&(etcd_client_opts){.endpoints = plain, .timeout_ms = 3000});
	/* TLS without a client certificate (etcd requires one). */
	expect_unavailable(&(etcd_client_opts){.endpoints = etcd_harness_endpoints(harness),
	                                       .ca_file = etcd_harness_ca_file(harness),
	                                       .timeout_ms = 3000});
	/* TLS with roots that did not sign the server's certificate (the system's). */
	const char *other_ca = "/etc/ssl/certs/ca-certificates.crt";
	if (access(other_ca, R_OK) == 0)
		expect_unavailable(&(etcd_client_opts){.endpoints = etcd_harness_endpoints(harness),
		                                       .ca_file = other_ca,
		                                       .cert_file = etcd_harness_cert_file(harness),
		                                       .key_file = etcd_harness_key_file(harness),
		                                       .timeout_ms = 3000});
}

static void test_tls_bad_files(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	etcd_client *c = NULL;
	_cleanup_err_ ck_err *err = NULL;
	etcd_client_opts o = {.endpoints = etcd_harness_endpoints(harness),
	                      .ca_file = "/nonexistent/ca.crt"};
	assert_int_equal(etcd_client_new(&loop, &o, &c, &err), -ENOENT);
	assert_non_null(strstr(err->msg, "/nonexistent/ca.crt"));
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tls_with_client_cert),
	    cmocka_unit_test(test_tls_refused),
	    cmocka_unit_test(test_tls_bad_files),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
