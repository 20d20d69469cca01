/* kubeconfig: contexts, relative paths, *-data decoding, overrides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/kubeconfig.h"

static const char *config =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: admin@lab\n"
    "clusters:\n"
    "- name: lab\n"
    "  cluster:\n"
    "    server: https://10.0.0.1:6443/\n"
    "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n"
    "- name: other\n"
    "  cluster:\n"
    "    server: https://other:6443\n"
    "    certificate-authority: pki/ca.crt\n"
    "    insecure-skip-tls-verify: true\n"
    "users:\n"
    "- name: admin\n"
    "  user:\n"
    "    client-certificate: admin.crt\n"
    "    client-key: /abs/admin.key\n"
    "- name: bot\n"
    "  user:\n"
    "    token: abc.def\n"
    "contexts:\n"
    "- name: admin@lab\n"
    "  context:\n"
    "    cluster: lab\n"
    "    user: admin\n"
    "    namespace: kube-system\n"
    "- name: bot@other\n"
    "  context: {cluster: other, user: bot}\n";

static void test_current_context(void **state)
{
	kubeconfig *kc = NULL;
	assert_int_equal(
	    kubeconfig_parse(config, strlen(config), "/etc/kubernetes", NULL, &kc, NULL), 0);
	assert_string_equal(kc->server, "https://10.0.0.1:6443");
	assert_string_equal(kc->ca_pem, "-----BEGIN CERTIFICATE-----\n");
	assert_null(kc->ca_file);
	assert_string_equal(kc->cert_file, "/etc/kubernetes/admin.crt");
	assert_string_equal(kc->key_file, "/abs/admin.key");
	assert_string_equal(kc->namespace_, "kube-system");
	assert_null(kc->token);
	assert_false(kc->insecure_skip_tls_verify);
	httpc_opts o = {0};
	kubeconfig_httpc_opts(kc, &o);
	assert_string_equal(o.base_url, "https://10.0.0.1:6443");
	assert_ptr_equal(o.ca_pem, kc->ca_pem);
	kubeconfig_free(kc);
}

static void test_named_context(void **state)
{
	kubeconfig *kc = NULL;
	assert_int_equal(
	    kubeconfig_parse(config, strlen(config), "/home/u/.kube", "bot@other", &kc, NULL), 0);
	assert_string_equal(kc->server, "https://other:6443");
	assert_string_equal(kc->ca_file, "/home/u/.kube/pki/ca.crt");
	assert_string_equal(kc->token, "abc.def");
	assert_true(kc->insecure_skip_tls_verify);
	assert_null(kc->namespace_);
	kubeconfig_free(kc);
	ck_err *err = NULL;
	assert_int_equal(kubeconfig_parse(config, strlen(config), NULL, "nope", &kc, &err),
	                 -ENOENT);
	assert_non_null(strstr(err->msg, "nope"));
	ck_err_free(err);
	err = NULL;
	assert_int_equal(kubeconfig_parse("a: [", 4, NULL, NULL, &kc, &err), -EINVAL);
	ck_err_free(err);
}

static void test_load_and_overrides(void **state)
{
	char dir[] = "/tmp/kubeconfig-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = NULL;
	assert_true(asprintf(&path, "%s/config", dir) > 0);
	FILE *f = fopen(path, "we");
	fputs(config, f);
	fclose(f);

	kubeconfig *kc = NULL;
	assert_int_equal(kubeconfig_load(path, NULL, &kc, NULL), 0);
	char *want = NULL;
	assert_true(asprintf(&want, "%s/admin.crt", dir) > 0);
	assert_string_equal(kc->cert_file, want);
	assert_string_equal(kc->path, path);
	kubeconfig_free(kc);

	kubeconfig_overrides o = {
	    .kubeconfig = path, .server = "127.0.0.1:8080", .token = "t", .namespace_ = "ns1"};
	assert_int_equal(kubeconfig_resolve(&o, &kc, NULL), 0);
	assert_string_equal(kc->server, "http://127.0.0.1:8080");
	assert_string_equal(kc->token, "t");
	assert_string_equal(kc->namespace_, "ns1");
	assert_string_equal(kc->cert_file, want);
	kubeconfig_free(kc);

	/* --master alone. */
	kubeconfig_overrides m = {.server = "https://1.2.3.4:6443",
	                          .insecure_skip_tls_verify = true};
	assert_int_equal(kubeconfig_resolve(&m, &kc, NULL), 0);
	assert_string_equal(kc->server, "https://1.2.3.4:6443");
	assert_true(kc->insecure_skip_tls_verify);
	kubeconfig_free(kc);

	/* Nothing at all. */
	ck_err *err = NULL;
	kubeconfig_overrides none = {0};
	assert_int_equal(kubeconfig_resolve(&none, &kc, &err), -EINVAL);
	ck_err_free(err);
	err = NULL;
	kubeconfig_overrides missing = {.kubeconfig = "/nonexistent/kubeconfig"};
	assert_int_equal(kubeconfig_resolve(&missing, &kc, &err), -ENOENT);
	assert_non_null(strstr(err->msg, "/nonexistent/kubeconfig"));
	ck_err_free(err);

	/* $KUBECONFIG with default paths. */
	setenv("KUBECONFIG", path, 1);
	kubeconfig_overrides def = {.default_paths = true, .context = "bot@other"};
	assert_int_equal(kubeconfig_resolve(&def, &kc, NULL), 0);
	assert_string_equal(kc->token, "abc.def");
	kubeconfig_free(kc);
	unsetenv("KUBECONFIG");

	unlink(path);
	rmdir(dir);
	free(path);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_current_context),
	    cmocka_unit_test(test_named_context),
	    cmocka_unit_test(test_load_and_overrides),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
