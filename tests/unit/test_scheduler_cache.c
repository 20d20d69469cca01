/* kube-scheduler cache: per-node aggregates follow pod and node events, an assumed pod
 * counts once (before and after its binding is seen), and forgetting or expiry frees it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../scheduler/scheduler.h"
#include "base/json.h"

static cJSON *J(const char *s)
{
	cJSON *j = ck_json_parse(s, strlen(s), NULL);
	if (!j)
		fail_msg("bad JSON in test: %s", s);
	return j;
}

static cJSON *pod(const char *node, const char *phase, int host_port)
{
	_cleanup_free_ char *ports =
	    host_port
	        ? ck_asprintf(",\"ports\":[{\"containerPort\":80,\"hostPort\":%d}]", host_port)
	        : ck_strdup("");
	_cleanup_free_ char *s = ck_asprintf(
	    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"},\"spec\":{\"nodeName\":\"%s\","
	    "\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"250m\","
	    "\"memory\":\"1Gi\"}}%s}]},\"status\":{\"phase\":\"%s\"}}",
	    node, ports, phase);
	return J(s);
}

/* The snapshot entry of node name, failing when absent. */
static const sched_node_info *info(sched_cache *c, const char *name)
{
	size_t n = 0;
	const sched_node_info *ni = sched_cache_snapshot(c, &n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kc_obj_name(ni[i].node), name))
			return &ni[i];
	fail_msg("node %s not in the snapshot", name);
	return NULL;
}

static void test_counts(void **state)
{
	(void)state;
	sched_cache *c = sched_cache_new();
	cJSON *n1 = J("{\"metadata\":{\"name\":\"n1\"},\"status\":{\"allocatable\":{\"cpu\":\"4\","
	              "\"memory\":\"8Gi\",\"pods\":\"20\"}}}");
	cJSON *n2 = J("{\"metadata\":{\"name\":\"n2\"}}");
	sched_cache_set_node(c, n1);
	sched_cache_set_node(c, n2);
	assert_int_equal(info(c, "n1")->allocatable.cpu_milli, 4000);
	assert_int_equal(info(c, "n2")->allocatable.pods, 110);

	/* Assumed on n1: counted once, and still once when the informer shows it bound. */
	cJSON *pending = pod("", "Pending", 8080), *bound = pod("n1", "Pending", 8080);
	sched_cache_assume(c, "d/p", pending, "n1", 1000);
	assert_true(sched_cache_is_assumed(c, "d/p"));
	assert_int_equal(info(c, "n1")->requested.cpu_milli, 250);
	assert_int_equal(info(c, "n1")->n_pods, 1);
	sched_cache_update_pod(c, "d/p", pending);
	assert_int_equal(info(c, "n1")->requested.pods, 1);
	sched_cache_update_pod(c, "d/p", bound);
	assert_false(sched_cache_is_assumed(c, "d/p"));
	assert_int_equal(info(c, "n1")->requested.cpu_milli, 250);
	assert_int_equal(info(c, "n1")->requested.memory, 1LL << 30);
	assert_int_equal(info(c, "n1")->requested.pods, 1);
	assert_int_equal(info(c, "n1")->n_pods, 1);
	/* A bound pod is not forgotten; a finished one frees its room. */
	sched_cache_forget(c, "d/p");
	assert_int_equal(info(c, "n1")->requested.pods, 1);
	cJSON *done = pod("n1", "Succeeded", 8080);
	sched_cache_update_pod(c, "d/p", done);
	assert_int_equal(info(c, "n1")->requested.pods, 0);
	assert_int_equal(info(c, "n1")->n_pods, 0);

	/* Forgetting and expiry drop assumptions; a delete drops a bound pod. */
	sched_cache_assume(c, "d/p", pending, "n2", 1000);
	assert_int_equal(info(c, "n2")->requested.pods, 1);
	sched_cache_forget(c, "d/p");
	assert_int_equal(info(c, "n2")->requested.pods, 0);
	sched_cache_assume(c, "d/p", pending, "n2", 1000);
	sched_cache_expire(c, 5000, 10000);
	assert_int_equal(info(c, "n2")->requested.pods, 1);
	sched_cache_expire(c, 20000, 10000);
	assert_int_equal(info(c, "n2")->requested.pods, 0);
	sched_cache_update_pod(c, "d/p", bound);
	assert_int_equal(info(c, "n1")->requested.pods, 1);
	sched_cache_remove_pod(c, "d/p");
	assert_int_equal(info(c, "n1")->requested.pods, 0);

	/* A node deleted leaves the snapshot; a pod bound to an unknown node waits for it. */
	sched_cache_remove_node(c, "n2");
	size_t n = 0;
	sched_cache_snapshot(c, &n);
	assert_int_equal(n, 1);
	cJSON *n3 = J("{\"metadata\":{\"name\":\"n3\"}}"), *on3 = pod("n3", "Running", 0);
	sched_cache_update_pod(c, "d/q", on3);
	sched_cache_snapshot(c, &n);
	assert_int_equal(n, 1);
	sched_cache_set_node(c, n3);
	assert_int_equal(info(c, "n3")->requested.cpu_milli, 250);
	assert_int_equal(info(c, "n3")->n_pods, 0);

	sched_cache_free(c);
	cJSON_Delete(n1);
	cJSON_Delete(n2);
	cJSON_Delete(n3);
	cJSON_Delete(pending);
	cJSON_Delete(bound);
	cJSON_Delete(done);
	cJSON_Delete(on3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
