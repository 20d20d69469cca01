/* The kubelet's --config file (kubelet/config.c, from kubelet_core): supported
 * KubeletConfiguration fields are applied, flags given on the command line win, a file
 * of another kind or unreadable fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/flags.h"
#include "kubelet.h"

static char *write_tmp(const char *text)
{
	char *path = ck_strdup("/tmp/ckube-kubelet-config.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_apply(void **state)
{
	char *path = write_tmp("apiVersion: kubelet.config.k8s.io/v1beta1\n"
	                       "kind: KubeletConfiguration\n"
	                       "clusterDNS:\n- 10.96.0.10\n- 10.96.0.11\n"
	                       "clusterDomain: config.local\n"
	                       "maxPods: 42\n"
	                       "port: 10260\n"
	                       "nodeStatusUpdateFrequency: 4s\n"
	                       "authentication:\n  x509:\n    clientCAFile: /etc/ca.crt\n"
	                       "registerWithTaints:\n- key: a\n  value: b\n  effect: NoSchedule\n"
	                       "- key: c\n  effect: NoExecute\n"
	                       "staticPodPath: /etc/kubernetes/manifests\n");
	char *domain = "cluster.local";
	int max_pods = 110;
	const ck_flag flags[] = {
	    {"cluster-domain", 0, CK_FLAG_STRING, &domain, "x"},
	    {"max-pods", 0, CK_FLAG_INT, &max_pods, "x"},
	    {NULL},
	};
	ck_flags fs = {.program = "kubelet", .flags = flags};
	char *argv[] = {"kubelet", "--cluster-domain=flag.local", NULL};
	ck_err *err = NULL;
	assert_int_equal(ck_flags_parse(&fs, 2, argv, &err), 0);
	kl_config cfg = {.cluster_domain = domain,
	                 .max_pods = max_pods,
	                 .port = 10250,
	                 .node_status_update_ms = 10000};
	assert_int_equal(kl_config_apply_file(path, &fs, &cfg, &err), 0);
	assert_string_equal(cfg.cluster_domain, "flag.local"); /* the flag wins */
	assert_string_equal(cfg.cluster_dns[0], "10.96.0.10");
	assert_string_equal(cfg.cluster_dns[1], "10.96.0.11");
	assert_null(cfg.cluster_dns[2]);
	assert_int_equal(cfg.max_pods, 42);
	assert_int_equal(cfg.port, 10260);
	assert_int_equal(cfg.node_status_update_ms, 4000);
	assert_string_equal(cfg.client_ca_file, "/etc/ca.crt");
	assert_string_equal(cfg.register_taints[0], "a=b:NoSchedule");
	assert_string_equal(cfg.register_taints[1], "c:NoExecute");
	unlink(path);
	free(path);
	ck_flags_free(&fs);
	kl_config_free_alloc(&cfg);

	path = write_tmp("kind: Pod\n");
	assert_int_equal(kl_config_apply_file(path, NULL, &cfg, &err), -EINVAL);
	assert_non_null(err);
	ck_err_free(err);
	err = NULL;
	unlink(path);
	free(path);
	assert_true(kl_config_apply_file("/nonexistent/config.yaml", NULL, &cfg, &err) < 0);
	ck_err_free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
