#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "base/json.h"

static cJSON *parse(const char *json)
{
	cJSON *j = ck_json_parse(json, strlen(json), NULL);
	assert_non_null(j);
	return j;
}

/* The cells of obj printed by kind k, as one JSON text. */
static char *cells(const char *group, const char *plural, const char *json, time_t now)
{
	const kind_desc *k = kind_by_resource(group, "v1", plural);
	assert_non_null(k);
	cJSON *obj = parse(json);
	cJSON *row = cJSON_CreateArray();
	k->cells(obj, now, row);
	assert_int_equal(cJSON_GetArraySize(row), (int)k->n_columns);
	char *s = ck_json_print(row);
	cJSON_Delete(row);
	cJSON_Delete(obj);
	return s;
}

static void test_lookup(void **state)
{
	size_t n;
	const kind_desc *const *all = kind_all(&n);
	assert_true(n >= 8);
	for (size_t i = 0; i < n; i++) {
		assert_ptr_equal(kind_by_resource(all[i]->group, all[i]->version, all[i]->plural),
		                 all[i]);
		assert_ptr_equal(kind_by_kind(all[i]->group, all[i]->version, all[i]->kind),
		                 all[i]);
		assert_true(all[i]->n_columns > 0);
	}
	const kind_desc *node = kind_by_kind("", "v1", "Node");
	assert_string_equal(node->etcd_resource, "minions");
	assert_false(node->namespaced);
	char av[64];
	assert_string_equal(
	    kind_api_version(kind_by_resource("apps", "v1", "deployments"), av, sizeof(av)),
	    "apps/v1");
	assert_null(kind_by_resource("apps", "v1", "pods"));
	const kind_desc *pod = kind_by_resource("", "v1", "pods");
	assert_true(kind_field_supported(pod, "spec.nodeName"));
	assert_true(kind_field_supported(pod, "metadata.name"));
	assert_false(kind_field_supported(pod, "spec.bogus"));
}

static void test_age(void **state)
{
	const time_t t0 = 1700000000; /* 2023-11-14T22:13:20Z */
	static const struct {
		long long d;
		const char *want;
	} cases[] = {
	    {0, "0s"},
	    {-1, "0s"},
	    {-5, "<invalid>"},
	    {119, "119s"},
	    {120, "2m"},
	    {125, "2m5s"},
	    {600, "10m"},
	    {3 * 3600 - 1, "179m"},
	    {3 * 3600, "3h"},
	    {3 * 3600 + 60, "3h1m"},
	    {8 * 3600, "8h"},
	    {47 * 3600, "47h"},
	    {48 * 3600, "2d"},
	    {49 * 3600, "2d1h"},
	    {8 * 86400, "8d"},
	    {800 * 86400, "2y70d"},
	    {9 * 365 * 86400LL, "9y"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *a = kind_age("2023-11-14T22:13:20Z", t0 + (time_t)cases[i].d);
		if (strcmp(a, cases[i].want))
			fail_msg("age %lld: %s, want %s", cases[i].d, a, cases[i].want);
		free(a);
	}
	char *a = kind_age(NULL, t0);
	assert_string_equal(a, "<unknown>");
	free(a);
}

static void test_pod_cells(void **state)
{
	const time_t now = 1700000000 + 30;
	char *s = cells(
	    "", "pods",
	    "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":\"2023-11-14T22:13:20Z\"},"
	    "\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"nodeName\":\"n1\"},"
	    "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.5\",\"containerStatuses\":["
	    "{\"name\":\"a\",\"ready\":true,\"restartCount\":0,\"state\":{\"running\":{}}},"
	    "{\"name\":\"b\",\"ready\":true,\"restartCount\":0,\"state\":{\"running\":{}}}]}}",
	    now);
	assert_string_equal(
	    s,
	    "[\"p\",\"2/2\",\"Running\",\"0\",\"30s\",\"10.0.0.5\",\"n1\",\"<none>\",\"<none>\"]");
	free(s);
	s = cells("", "pods",
	          "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":\"2023-11-14T22:13:20Z\"},"
	          "\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Pending\","
	          "\"containerStatuses\":[{\"name\":\"a\",\"ready\":false,\"restartCount\":0,"
	          "\"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}}}]}}",
	          now);
	assert_non_null(strstr(s, "\"0/1\",\"ContainerCreating\",\"0\""));
	free(s);
	s = cells("", "pods",
	          "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\"}]},"
	          "\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"a\","
	          "\"restartCount\":4,\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},"
	          "\"lastState\":{\"terminated\":{\"exitCode\":1,\"finishedAt\":\"2023-11-14T22:13:"
	          "20Z\"}}}]}}",
	          now);
	assert_non_null(strstr(s, "\"0/1\",\"CrashLoopBackOff\",\"4 (30s ago)\",\"<unknown>\""));
	free(s);
	s = cells(
	    "", "pods",
	    "{\"metadata\":{\"name\":\"p\",\"deletionTimestamp\":\"2023-11-14T22:13:20Z\"},"
	    "\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Running\"}}",
	    now);
	assert_non_null(strstr(s, "\"Terminating\""));
	free(s);
	s = cells("", "pods",
	          "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\"}]},"
	          "\"status\":{\"phase\":\"Succeeded\",\"containerStatuses\":[{\"name\":\"a\","
	          "\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}}]}}",
	          now);
	assert_non_null(strstr(s, "\"0/1\",\"Completed\""));
	free(s);
	s = cells("", "pods",
	          "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"initContainers\":[{\"name\":\"i\"}],"
	          "\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Pending\","
	          "\"initContainerStatuses\":[{\"name\":\"i\",\"state\":{\"running\":{}}}]}}",
	          now);
	assert_non_null(strstr(s, "\"Init:0/1\""));
	free(s);
	s = cells("", "pods",
	          "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\"}]},"
	          "\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"a\","
	          "\"state\":{\"terminated\":{\"exitCode\":137,\"signal\":9}}}]}}",
	          now);
	assert_non_null(strstr(s, "\"Signal:9\""));
	free(s);
}

static void test_node_and_workload_cells(void **state)
{
	char *s = cells(
	    "", "nodes",
	    "{\"metadata\":{\"name\":\"n\",\"labels\":{\"node-role.kubernetes.io/worker\":\"\","
	    "\"node-role.kubernetes.io/control-plane\":\"\",\"kubernetes.io/role\":\"worker\"}},"
	    "\"spec\":{\"unschedulable\":true},\"status\":{\"conditions\":[{\"type\":\"Ready\","
	    "\"status\":\"False\"}],\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"10.1.1."
	    "1\"}],"
	    "\"nodeInfo\":{\"kubeletVersion\":\"v1.32.0\",\"osImage\":\"Debian\"}}}",
	    0);
	assert_string_equal(
	    s, "[\"n\",\"NotReady,SchedulingDisabled\",\"control-plane,worker\",\"<unknown>\","
	       "\"v1.32.0\",\"10.1.1.1\",\"<none>\",\"Debian\",\"<unknown>\",\"<unknown>\"]");
	free(s);
	s = cells("", "nodes", "{\"metadata\":{\"name\":\"n\"}}", 0);
	assert_non_null(strstr(s, "[\"n\",\"Unknown\",\"<none>\""));
	free(s);
	s = cells(
	    "apps", "deployments",
	    "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":"
	    "{\"app\":\"d\"}},\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":"
	    "\"x\"},"
	    "{\"name\":\"b\",\"image\":\"y:1\"}]}}},\"status\":{\"readyReplicas\":1,"
	    "\"updatedReplicas\":2,\"availableReplicas\":1}}",
	    0);
	assert_string_equal(s, "[\"d\",\"1/3\",2,1,\"<unknown>\",\"a,b\",\"x,y:1\",\"app=d\"]");
	free(s);
	s = cells(
	    "apps", "replicasets",
	    "{\"metadata\":{\"name\":\"r\"},\"spec\":{\"replicas\":2},\"status\":{\"replicas\":2,"
	    "\"readyReplicas\":1}}",
	    0);
	assert_string_equal(s, "[\"r\",2,2,1,\"<unknown>\",\"<none>\",\"<none>\",\"<none>\"]");
	free(s);
}

static void test_defaults_and_validation(void **state)
{
	const kind_desc *pod = kind_by_resource("", "v1", "pods");
	cJSON *p = parse(
	    "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":["
	    "{\"name\":\"a\",\"image\":\"nginx\",\"ports\":[{\"containerPort\":80}]},"
	    "{\"name\":\"b\",\"image\":\"reg:5000/x:1.2\"},{\"name\":\"c\",\"image\":\"x:latest\"},"
	    "{\"name\":\"d\",\"image\":\"x@sha256:00\"}]}}");
	pod->defaults(p);
	assert_string_equal(ck_json_get_str(p, "spec.restartPolicy", ""), "Always");
	assert_string_equal(ck_json_get_str(p, "spec.dnsPolicy", ""), "ClusterFirst");
	assert_int_equal(ck_json_get_int(p, "spec.terminationGracePeriodSeconds", 0), 30);
	assert_string_equal(ck_json_get_str(p, "spec.schedulerName", ""), "default-scheduler");
	assert_true(ck_json_get_bool(p, "spec.enableServiceLinks", false));
	cJSON *cs = ck_json_get(p, "spec.containers");
	assert_string_equal(ck_json_get_str(cJSON_GetArrayItem(cs, 0), "imagePullPolicy", ""),
	                    "Always");
	assert_string_equal(ck_json_get_str(cJSON_GetArrayItem(cs, 1), "imagePullPolicy", ""),
	                    "IfNotPresent");
	assert_string_equal(ck_json_get_str(cJSON_GetArrayItem(cs, 2), "imagePullPolicy", ""),
	                    "Always");
	assert_string_equal(ck_json_get_str(cJSON_GetArrayItem(cs, 3), "imagePullPolicy", ""),
	                    "IfNotPresent");
	assert_string_equal(
	    ck_json_get_str(cJSON_GetArrayItem(cs, 0), "terminationMessagePath", ""),
	    "/dev/termination-log");
	cJSON *port = cJSON_GetArrayItem(ck_json_get(cJSON_GetArrayItem(cs, 0), "ports"), 0);
	assert_string_equal(ck_json_get_str(port, "protocol", ""), "TCP");
	/* Service account, priority and tolerations are admission's, not defaults. */
	assert_null(ck_json_get(p, "spec.tolerations"));
	assert_null(ck_json_get(p, "spec.serviceAccountName"));
	assert_null(ck_json_get(p, "spec.priority"));
	kind_causes c = {0};
	pod->validate(p, &c);
	assert_null(c.list);
	pod->create_status(p);
	assert_string_equal(ck_json_get_str(p, "status.phase", ""), "Pending");
	assert_string_equal(ck_json_get_str(p, "status.qosClass", ""), "BestEffort");
	cJSON_Delete(p);

	p = parse("{\"spec\":{\"containers\":[{\"name\":\"A\"},{\"name\":\"A\",\"image\":\"x\","
	          "\"ports\":[{\"containerPort\":70000}]}],\"restartPolicy\":\"Sometimes\"}}");
	pod->validate(p, &c);
	char *text = ck_json_print(c.list);
	assert_non_null(strstr(text, "\"field\":\"spec.containers[0].name\""));
	assert_non_null(strstr(text, "\"field\":\"spec.containers[0].image\""));
	assert_non_null(strstr(text, "FieldValueDuplicate"));
	assert_non_null(strstr(text, "spec.containers[1].ports[0].containerPort"));
	assert_non_null(strstr(text, "spec.restartPolicy"));
	free(text);
	cJSON_Delete(c.list);
	cJSON_Delete(p);

	const kind_desc *d = kind_by_resource("apps", "v1", "deployments");
	p = parse(
	    "{\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"x\"}},\"template\":{\"metadata\":"
	    "{\"labels\":{\"app\":\"x\"}},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":"
	    "\"i\"}]}}}}");
	d->defaults(p);
	assert_int_equal(ck_json_get_int(p, "spec.replicas", 0), 1);
	assert_string_equal(ck_json_get_str(p, "spec.strategy.rollingUpdate.maxSurge", ""), "25%");
	assert_int_equal(ck_json_get_int(p, "spec.revisionHistoryLimit", 0), 10);
	assert_int_equal(ck_json_get_int(p, "spec.progressDeadlineSeconds", 0), 600);
	assert_string_equal(ck_json_get_str(p, "spec.template.spec.dnsPolicy", ""), "ClusterFirst");
	c = (kind_causes){0};
	d->validate(p, &c);
	assert_null(c.list);
	ck_json_set_str(p, "spec.template.metadata.labels.app", "y");
	d->validate(p, &c);
	text = ck_json_print(c.list);
	assert_non_null(strstr(text, "`selector` does not match template `labels`"));
	free(text);
	cJSON_Delete(c.list);
	cJSON_Delete(p);
}

static void test_services(void **state)
{
	const kind_desc *k = kind_by_resource("", "v1", "services");
	cJSON *svc =
	    parse("{\"metadata\":{\"name\":\"s\"},\"spec\":{\"type\":\"NodePort\","
	          "\"selector\":{\"b\":\"2\",\"a\":\"1\"},\"ports\":[{\"name\":\"h\",\"port\":80,"
	          "\"nodePort\":30080},{\"name\":\"u\",\"port\":53,\"protocol\":\"UDP\"}]}}");
	k->defaults(svc);
	assert_int_equal(
	    ck_json_get_int(cJSON_GetArrayItem(ck_json_get(svc, "spec.ports"), 0), "targetPort", 0),
	    80);
	assert_string_equal(ck_json_get_str(svc, "spec.externalTrafficPolicy", ""), "Cluster");
	ck_json_set_str(svc, "spec.clusterIP", "10.0.0.7");
	kind_causes c = {0};
	k->validate(svc, &c);
	assert_null(c.list);
	cJSON *row = cJSON_CreateArray();
	k->cells(svc, 0, row);
	char *s = ck_json_print(row);
	assert_string_equal(s,
	                    "[\"s\",\"NodePort\",\"10.0.0.7\",\"<none>\",\"80:30080/TCP,53/UDP\","
	                    "\"<unknown>\",\"a=1,b=2\"]");
	free(s);
	cJSON_Delete(row);
	ck_json_set_str(svc, "spec.type", "Bogus");
	k->validate(svc, &c);
	assert_non_null(c.list);
	cJSON_Delete(c.list);
	cJSON_Delete(svc);
	const kind_desc *ep = kind_by_resource("", "v1", "endpoints");
	cJSON *e = parse(
	    "{\"metadata\":{\"name\":\"e\"},\"subsets\":[{\"addresses\":[{\"ip\":\"1.1.1.1\"},"
	    "{\"ip\":\"1.1.1.2\"}],\"ports\":[{\"port\":80},{\"port\":81}]}]}");
	row = cJSON_CreateArray();
	ep->cells(e, 0, row);
	s = ck_json_print(row);
	assert_string_equal(
	    s, "[\"e\",\"1.1.1.1:80,1.1.1.1:81,1.1.1.2:80 + 1 more...\",\"<unknown>\"]");
	free(s);
	cJSON_Delete(row);
	cJSON_Delete(e);
}

static void test_event_versions(void **state)
{
	const kind_desc *k = kind_by_resource("events.k8s.io", "v1", "events");
	assert_non_null(k);
	assert_string_equal(k->etcd_resource, "events");
	cJSON *ev = parse("{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"regarding\":"
	                  "{\"kind\":\"Pod\",\"name\":\"p\"},\"note\":\"n\",\"deprecatedCount\":2,"
	                  "\"reportingController\":\"c\",\"reason\":\"R\"}");
	cJSON *orig = ck_json_dup(ev);
	k->to_storage(ev);
	assert_string_equal(ck_json_get_str(ev, "apiVersion", ""), "v1");
	assert_string_equal(ck_json_get_str(ev, "involvedObject.name", ""), "p");
	assert_string_equal(ck_json_get_str(ev, "message", ""), "n");
	assert_int_equal(ck_json_get_int(ev, "count", 0), 2);
	assert_string_equal(ck_json_get_str(ev, "reportingComponent", ""), "c");
	assert_null(ck_json_get(ev, "regarding"));
	k->from_storage(ev);
	assert_true(ck_json_equal(ev, orig));
	cJSON *row = cJSON_CreateArray();
	k->cells(orig, 0, row);
	char *s = ck_json_print(row);
	assert_non_null(strstr(s, "\"R\",\"pod/p\""));
	free(s);
	cJSON_Delete(row);
	cJSON_Delete(orig);
	cJSON_Delete(ev);
}

static void test_names_and_field_values(void **state)
{
	assert_true(kind_dns1123_label("a-1"));
	assert_false(kind_dns1123_label("a.b"));
	assert_false(kind_dns1123_label("-a"));
	assert_false(kind_dns1123_label(""));
	assert_false(
	    kind_dns1123_label("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_true(kind_dns1123_subdomain("a.b-c.d"));
	assert_false(kind_dns1123_subdomain("a..b"));
	assert_false(kind_dns1123_subdomain("A"));
	assert_false(kind_dns1123_subdomain("a."));
	cJSON *o =
	    parse("{\"spec\":{\"unschedulable\":true,\"n\":3},\"status\":{\"phase\":\"Running\"}}");
	char *v = kind_field_value(o, "status.phase");
	assert_string_equal(v, "Running");
	free(v);
	v = kind_field_value(o, "spec.unschedulable");
	assert_string_equal(v, "true");
	free(v);
	v = kind_field_value(o, "spec.nodeName");
	assert_string_equal(v, "");
	free(v);
	cJSON_Delete(o);
}

/* ---- subresources and delete semantics, as the descriptions declare them ---- */

static void test_subresources(void **state)
{
	const kind_desc *pod = kind_by_resource("", "v1", "pods");
	const kind_desc *deploy = kind_by_resource("apps", "v1", "deployments");
	const kind_desc *ns = kind_by_resource("", "v1", "namespaces");
	assert_null(kind_subresource_find(pod, "scale"));
	const kind_subresource *binding = kind_subresource_find(pod, "binding");
	assert_non_null(binding);
	assert_int_equal(binding->type, KIND_SUB_CREATE);
	assert_true(kind_subresource_has_verb(binding, "create"));
	assert_false(kind_subresource_has_verb(binding, "get"));
	char av[64];
	assert_string_equal(kind_subresource_api_version(pod, binding, av, sizeof(av)), "v1");
	assert_string_equal(kind_subresource_kind(pod, binding), "Binding");
	const kind_subresource *scale = kind_subresource_find(deploy, "scale");
	assert_string_equal(kind_subresource_api_version(deploy, scale, av, sizeof(av)),
	                    "autoscaling/v1");
	assert_string_equal(scale->scale->spec_replicas, "spec.replicas");
	const kind_subresource *status = kind_subresource_find(deploy, "status");
	assert_string_equal(kind_subresource_api_version(deploy, status, av, sizeof(av)),
	                    "apps/v1");
	assert_string_equal(kind_subresource_kind(deploy, status), "Deployment");
	const kind_subresource *fin = kind_subresource_find(ns, "finalize");
	assert_int_equal(fin->type, KIND_SUB_FIELD);
	assert_string_equal(fin->field, "spec.finalizers");
	assert_true(kind_subresource_has_verb(fin, "update"));
	assert_false(kind_subresource_has_verb(fin, "patch"));

	/* Binding: an unbound pod gets the node, the annotations and PodScheduled. */
	cJSON *p = parse("{\"metadata\":{\"name\":\"p\"},\"spec\":{}}");
	cJSON *b = parse("{\"metadata\":{\"annotations\":{\"a\":\"1\"}},\"target\":{\"name\":"
	                 "\"n1\"}}");
	kind_causes c = {0};
	binding->validate(b, &c);
	assert_null(c.list);
	kind_sub_conflict why = {0};
	cJSON *bound = binding->apply(p, b, "p", &why);
	assert_non_null(bound);
	assert_string_equal(ck_json_get_str(bound, "spec.nodeName", ""), "n1");
	assert_string_equal(ck_json_get_str(bound, "metadata.annotations.a", ""), "1");
	const cJSON *cond = cJSON_GetArrayItem(ck_json_get(bound, "status.conditions"), 0);
	assert_string_equal(ck_json_get_str(cond, "type", ""), "PodScheduled");
	assert_null(binding->apply(bound, b, "p", &why));
	assert_string_equal(why.why, "pod p is already assigned to node \"n1\"");
	free(why.why);
	cJSON *nobody = parse("{\"target\":{}}");
	binding->validate(nobody, &c);
	char *causes = ck_json_print(c.list);
	assert_non_null(strstr(causes, "\"field\":\"target.name\""));
	free(causes);
	cJSON_Delete(c.list);
	cJSON_Delete(nobody);

	/* Grace: a bound, running pod waits (its own period or the request's); an unbound
	 * or finished one goes at once; kinds without the hook have none. */
	assert_int_equal(pod->grace_period(p, -1), 0);
	ck_json_set_int(bound, "spec.terminationGracePeriodSeconds", 12);
	assert_int_equal(pod->grace_period(bound, -1), 12);
	assert_int_equal(pod->grace_period(bound, 3), 3);
	ck_json_set_str(bound, "status.phase", "Succeeded");
	assert_int_equal(pod->grace_period(bound, 3), 0);
	assert_null(deploy->grace_period);
	cJSON_Delete(bound);
	cJSON_Delete(b);
	cJSON_Delete(p);

	/* Namespaces: held by spec.finalizers, Terminating once marked, system ones kept. */
	cJSON *n = parse("{\"metadata\":{\"name\":\"x\"}}");
	ns->defaults(n);
	assert_true(ns->finalizing(n));
	ns->mark_deleted(n);
	assert_string_equal(ck_json_get_str(n, "status.phase", ""), "Terminating");
	ck_json_set(n, "spec.finalizers", cJSON_CreateArray());
	assert_false(ns->finalizing(n));
	cJSON_Delete(n);
	assert_string_equal(ns->undeletable[0], "default");
	assert_null(pod->undeletable);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_age),
	    cmocka_unit_test(test_pod_cells),
	    cmocka_unit_test(test_node_and_workload_cells),
	    cmocka_unit_test(test_defaults_and_validation),
	    cmocka_unit_test(test_services),
	    cmocka_unit_test(test_event_versions),
	    cmocka_unit_test(test_names_and_field_values),
	    cmocka_unit_test(test_subresources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
