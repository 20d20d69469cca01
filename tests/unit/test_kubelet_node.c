/* The kubelet's Node and Event objects (kubelet/node_status.c and kubelet/events.c,
 * from kubelet_core): labels from --node-labels, taints from
 * --register-with-taints, capacity from the machine, nodeInfo, conditions; the Event's
 * involvedObject, fieldPath and source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/json.h"
#include "kubelet.h"

static void test_node_object(void **state)
{
	char *labels[] = {"ckube.test/role=worker", "kubernetes.io/os=override", NULL};
	char *taints[] = {"dedicated=gpu:NoSchedule", "maintenance:NoExecute", "broken", NULL};
	kubelet k = {.cfg = {.node_name = "w1",
	                     .node_ip = "192.168.56.101",
	                     .root_dir = "/",
	                     .max_pods = 50,
	                     .node_labels = labels,
	                     .register_taints = taints}};
	k.runtime_version = "containerd://1.6.20";
	cJSON *n = node_status_build_node(&k);
	assert_string_equal(ck_json_get_str(n, "metadata.name", ""), "w1");
	assert_string_equal(ck_json_get_str(n, "metadata.labels.kubernetes\\.io/hostname", ""),
	                    "w1");
	assert_string_equal(ck_json_get_str(n, "metadata.labels.ckube\\.test/role", ""), "worker");
	assert_string_equal(ck_json_get_str(n, "metadata.labels.kubernetes\\.io/os", ""),
	                    "override");
	const cJSON *t = ck_json_get(n, "spec.taints");
	assert_int_equal(cJSON_GetArraySize(t), 2);
	assert_string_equal(ck_json_get_str(cJSON_GetArrayItem(t, 0), "key", ""), "dedicated");
	assert_string_equal(ck_json_get_str(cJSON_GetArrayItem(t, 0), "value", ""), "gpu");
	assert_string_equal(ck_json_get_str(cJSON_GetArrayItem(t, 0), "effect", ""), "NoSchedule");
	assert_string_equal(ck_json_get_str(cJSON_GetArrayItem(t, 1), "key", ""), "maintenance");
	assert_null(ck_json_get(cJSON_GetArrayItem(t, 1), "value"));
	cJSON_Delete(n);

	cJSON *st = node_status_build_status(&k);
	assert_string_equal(ck_json_get_str(st, "capacity.pods", ""), "50");
	assert_string_equal(ck_json_get_str(st, "allocatable.pods", ""), "50");
	char cpus[16];
	snprintf(cpus, sizeof(cpus), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	assert_string_equal(ck_json_get_str(st, "capacity.cpu", ""), cpus);
	const char *mem = ck_json_get_str(st, "capacity.memory", "");
	assert_true(strlen(mem) > 3 && !strcmp(mem + strlen(mem) - 2, "Ki"));
	assert_string_equal(ck_json_get_str(st, "nodeInfo.containerRuntimeVersion", ""),
	                    "containerd://1.6.20");
	assert_string_equal(ck_json_get_str(st, "nodeInfo.operatingSystem", ""), "linux");
	assert_string_equal(ck_json_get_str(st, "nodeInfo.architecture", ""), "amd64");
	assert_true(strlen(ck_json_get_str(st, "nodeInfo.kernelVersion", "")) > 0);
	const cJSON *a = cJSON_GetArrayItem(ck_json_get(st, "addresses"), 0);
	assert_string_equal(ck_json_get_str(a, "type", ""), "InternalIP");
	assert_string_equal(ck_json_get_str(a, "address", ""), "192.168.56.101");
	/* Not started: the runtime's state is unknown, so not Ready. */
	const cJSON *c, *ready = NULL;
	cJSON_ArrayForEach(c, ck_json_get(st, "conditions"))
	{
		if (!strcmp(ck_json_get_str(c, "type", ""), "Ready"))
			ready = c;
	}
	assert_non_null(ready);
	assert_string_equal(ck_json_get_str(ready, "status", ""), "False");
	assert_string_equal(ck_json_get_str(ready, "reason", ""), "KubeletNotReady");
	cJSON_Delete(st);
}

static void test_event_object(void **state)
{
	const char *text = "{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns1\","
	                   "\"uid\":\"u-1\",\"resourceVersion\":\"42\"}}";
	cJSON *pod = ck_json_parse(text, strlen(text), NULL);
	struct timespec now = {1900000000, 0x10};
	cJSON *e = kl_event_build("w1", pod, "main", "Warning", "BackOff", "Back-off", &now);
	assert_string_equal(ck_json_get_str(e, "metadata.name", ""), "web.1a5e27eef13e0010");
	assert_string_equal(ck_json_get_str(e, "metadata.namespace", ""), "ns1");
	assert_string_equal(ck_json_get_str(e, "involvedObject.kind", ""), "Pod");
	assert_string_equal(ck_json_get_str(e, "involvedObject.uid", ""), "u-1");
	assert_string_equal(ck_json_get_str(e, "involvedObject.fieldPath", ""),
	                    "spec.containers{main}");
	assert_string_equal(ck_json_get_str(e, "source.component", ""), "kubelet");
	assert_string_equal(ck_json_get_str(e, "source.host", ""), "w1");
	assert_string_equal(ck_json_get_str(e, "type", ""), "Warning");
	assert_string_equal(ck_json_get_str(e, "reason", ""), "BackOff");
	assert_int_equal(ck_json_get_int(e, "count", 0), 1);
	assert_string_equal(ck_json_get_str(e, "lastTimestamp", ""), "2030-03-17T17:46:40Z");
	cJSON_Delete(e);
	e = kl_event_build("w1", pod, NULL, "Normal", "SandboxChanged", "x", &now);
	assert_null(ck_json_get(e, "involvedObject.fieldPath"));
	cJSON_Delete(e);
	cJSON_Delete(pod);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_node_object),
	    cmocka_unit_test(test_event_object),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
