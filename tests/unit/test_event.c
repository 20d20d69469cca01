/* Unit tests for api/event: the Event built for an object. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/event.h"
#include "base/json.h"

static void test_build_namespaced(void **state)
{
	const char *pod_json = "{\"metadata\":{\"name\":\"web\",\"namespace\":\"prod\","
	                       "\"uid\":\"u-1\",\"resourceVersion\":\"42\"}}";
	_cleanup_json_ cJSON *pod = ck_json_parse(pod_json, strlen(pod_json), NULL);
	ev_source src = {.component = "kubelet", .host = "w1-k8s"};
	struct timespec now = {.tv_sec = 1795000000, .tv_nsec = 5};
	_cleanup_json_ cJSON *ev = ev_build(&KC_PODS, pod, "spec.containers{web}", &src, "Normal",
	                                    "Started", NULL, "Started container web", &now);

	assert_string_equal(ck_json_get_str(ev, "kind", ""), "Event");
	assert_string_equal(ck_json_get_str(ev, "metadata.namespace", ""), "prod");
	assert_string_equal(ck_json_get_str(ev, "metadata.name", ""), "web.18e91efd5bd38005");
	assert_string_equal(ck_json_get_str(ev, "involvedObject.fieldPath", ""),
	                    "spec.containers{web}");
	assert_string_equal(ck_json_get_str(ev, "reportingInstance", ""), "w1-k8s");
	assert_string_equal(ck_json_get_str(ev, "involvedObject.kind", ""), "Pod");
	assert_string_equal(ck_json_get_str(ev, "involvedObject.apiVersion", ""), "v1");
	assert_string_equal(ck_json_get_str(ev, "involvedObject.uid", ""), "u-1");
	assert_string_equal(ck_json_get_str(ev, "involvedObject.resourceVersion", ""), "42");
	assert_string_equal(ck_json_get_str(ev, "reason", ""), "Started");
	assert_string_equal(ck_json_get_str(ev, "message", ""), "Started container web");
	assert_string_equal(ck_json_get_str(ev, "source.component", ""), "kubelet");
	assert_string_equal(ck_json_get_str(ev, "source.host", ""), "w1-k8s");
	assert_int_equal(ck_json_get_int(ev, "count", 0), 1);
	assert_string_equal(ck_json_get_str(ev, "type", ""), "Normal");
	assert_non_null(ck_json_get(ev, "firstTimestamp"));
	assert_null(ck_json_get(ev, "action"));
}

static void test_build_cluster_scoped(void **state)
{
	const char *node_json = "{\"metadata\":{\"name\":\"w1-k8s\",\"uid\":\"n-1\"}}";
	_cleanup_json_ cJSON *node = ck_json_parse(node_json, strlen(node_json), NULL);
	ev_source src = {.component = "replicaset-controller"};
	struct timespec now = {0};
	_cleanup_json_ cJSON *ev =
	    ev_build(&KC_DEPLOYMENTS, node, NULL, &src, "Warning", "X", "Scheduling", "m", &now);

	/* Events about cluster-scoped objects live in "default" and carry no namespace. */
	assert_string_equal(ck_json_get_str(ev, "metadata.namespace", ""), "default");
	assert_null(ck_json_get(ev, "involvedObject.namespace"));
	assert_string_equal(ck_json_get_str(ev, "involvedObject.apiVersion", ""), "apps/v1");
	assert_null(ck_json_get(ev, "source.host"));
	assert_null(ck_json_get(ev, "involvedObject.fieldPath"));
	assert_string_equal(ck_json_get_str(ev, "reportingInstance", ""), "replicaset-controller");
	assert_string_equal(ck_json_get_str(ev, "action", ""), "Scheduling");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_namespaced),
	    cmocka_unit_test(test_build_cluster_scoped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
