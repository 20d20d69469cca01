/* kube-scheduler filters and score: pure functions over pod and node JSON. The
 * scheduler's sources are compiled in (they belong to the binary, not to the library). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../scheduler/filter_node_ports.c"
#include "../../scheduler/filter_node_ready.c"
#include "../../scheduler/filter_node_selector.c"
#include "../../scheduler/filter_resources.c"
#include "../../scheduler/filter_taints.c"
#include "../../scheduler/filter_unschedulable.c"
#include "../../scheduler/framework.c"
#include "../../scheduler/score.c"

static cJSON *J(const char *s)
{
	cJSON *j = ck_json_parse(s, strlen(s), NULL);
	if (!j)
		fail_msg("bad JSON in test: %s", s);
	return j;
}

/* The node as the cache presents it. */
static sched_node_info info_of(const cJSON *node)
{
	sched_node_info ni = {.node = node};
	sched_node_allocatable(node, &ni.allocatable);
	return ni;
}

/* Runs filter f; want NULL for a fit. */
static void check(sched_filter_fn f, const char *pod_s, const char *node_s, const char *want)
{
	cJSON *pod = J(pod_s), *node = J(node_s);
	sched_node_info ni = info_of(node);
	char *got = f(pod, &ni);
	if (want == NULL && got != NULL)
		fail_msg("expected a fit, got \"%s\"\npod %s\nnode %s", got, pod_s, node_s);
	if (want && (!got || strcmp(got, want)))
		fail_msg("expected \"%s\", got \"%s\"\npod %s\nnode %s", want, got ? got : "(fit)",
		         pod_s, node_s);
	free(got);
	cJSON_Delete(pod);
	cJSON_Delete(node);
}

static void test_taints(void **state)
{
	const char *node = "{\"spec\":{\"taints\":[{\"key\":\"dedicated\",\"value\":\"gpu\","
	                   "\"effect\":\"NoSchedule\"},"
	                   "{\"key\":\"soft\",\"effect\":\"PreferNoSchedule\"}]}}";
	const char *untolerated = "node(s) had untolerated taint {dedicated: gpu}";
	check(filter_taints, "{}", node, untolerated);
	check(filter_taints,
	      "{\"spec\":{\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":"
	      "\"gpu\",\"effect\":\"NoSchedule\"}]}}",
	      node, NULL);
	check(filter_taints,
	      "{\"spec\":{\"tolerations\":[{\"key\":\"dedicated\",\"value\":\"gpu\"}]}}", node,
	      NULL);
	check(filter_taints,
	      "{\"spec\":{\"tolerations\":[{\"key\":\"dedicated\",\"value\":\"cpu\"}]}}", node,
	      untolerated);
	check(filter_taints,
	      "{\"spec\":{\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Exists\"}]}}",
	      node, NULL);
	check(filter_taints, "{\"spec\":{\"tolerations\":[{\"operator\":\"Exists\"}]}}", node,
	      NULL);
	check(filter_taints,
	      "{\"spec\":{\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Exists\","
	      "\"effect\":\"NoExecute\"}]}}",
	      node, untolerated);
	check(filter_taints,
	      "{\"spec\":{\"tolerations\":[{\"key\":\"other\",\"operator\":\"Exists\"}]}}", node,
	      untolerated);
	/* NoExecute counts; PreferNoSchedule alone does not. */
	check(filter_taints, "{}",
	      "{\"spec\":{\"taints\":[{\"key\":\"k\",\"effect\":\"NoExecute\"}]}}",
	      "node(s) had untolerated taint {k: }");
	check(filter_taints, "{}",
	      "{\"spec\":{\"taints\":[{\"key\":\"k\",\"effect\":\"PreferNoSchedule\"}]}}", NULL);
	check(filter_taints, "{}", "{\"spec\":{}}", NULL);
}

static void test_unschedulable_and_ready(void **state)
{
	const char *cordoned = "{\"spec\":{\"unschedulable\":true}}";
	check(filter_unschedulable, "{}", cordoned, "node(s) were unschedulable");
	check(filter_unschedulable,
	      "{\"spec\":{\"tolerations\":[{\"key\":\"node.kubernetes.io/"
	      "unschedulable\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}]}}",
	      cordoned, NULL);
	check(filter_unschedulable, "{}", "{\"spec\":{\"unschedulable\":false}}", NULL);

	const char *ready = "{\"status\":{\"conditions\":[{\"type\":\"MemoryPressure\",\"status\":"
	                    "\"False\"},{\"type\":\"Ready\",\"status\":\"True\"}]}}";
	const char *not_ready =
	    "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}";
	const char *unknown =
	    "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"Unknown\"}]}}";
	check(filter_node_ready, "{}", ready, NULL);
	check(filter_node_ready, "{}", not_ready,
	      "node(s) had untolerated taint {node.kubernetes.io/not-ready: }");
	check(filter_node_ready, "{}", unknown,
	      "node(s) had untolerated taint {node.kubernetes.io/unreachable: }");
	check(filter_node_ready, "{}", "{}",
	      "node(s) had untolerated taint {node.kubernetes.io/unreachable: }");
	check(filter_node_ready,
	      "{\"spec\":{\"tolerations\":[{\"key\":\"node.kubernetes.io/"
	      "not-ready\",\"operator\":\"Exists\"}]}}",
	      not_ready, NULL);
	check(filter_node_ready, "{\"spec\":{\"tolerations\":[{\"operator\":\"Exists\"}]}}",
	      unknown, NULL);
}

static void test_node_selector(void **state)
{
	const char *node = "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"disk\":\"ssd\",\"zone\":"
	                   "\"a\",\"cores\":\"8\"}}}";
	const char *miss = "node(s) didn't match Pod's node affinity/selector";
	check(filter_node_selector, "{}", node, NULL);
	check(filter_node_selector, "{\"spec\":{\"nodeSelector\":{\"disk\":\"ssd\"}}}", node, NULL);
	check(filter_node_selector,
	      "{\"spec\":{\"nodeSelector\":{\"disk\":\"ssd\",\"zone\":\"b\"}}}", node, miss);
	check(filter_node_selector, "{\"spec\":{\"nodeSelector\":{\"gpu\":\"yes\"}}}", node, miss);
#define AFF(terms)                                                                                 \
	"{\"spec\":{\"affinity\":{\"nodeAffinity\":{"                                              \
	"\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":" terms "}}}}}"
	check(filter_node_selector,
	      AFF("[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\","
	          "\"b\"]}]}]"),
	      node, NULL);
	check(filter_node_selector,
	      AFF("[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"NotIn\",\"values\":["
	          "\"a\"]}]}]"),
	      node, miss);
	check(filter_node_selector,
	      AFF("[{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"DoesNotExist\"},{"
	          "\"key\":\"disk\",\"operator\":\"Exists\"}]}]"),
	      node, NULL);
	check(filter_node_selector,
	      AFF("[{\"matchExpressions\":[{\"key\":\"cores\",\"operator\":\"Gt\",\"values\":["
	          "\"4\"]}]}]"),
	      node, NULL);
	check(filter_node_selector,
	      AFF("[{\"matchExpressions\":[{\"key\":\"cores\",\"operator\":\"Lt\",\"values\":["
	          "\"4\"]}]}]"),
	      node, miss);
	/* Terms are ORed. */
	check(filter_node_selector,
	      AFF("[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"b\"]"
	          "}]},{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":"
	          "[\"n1\"]}]}]"),
	      node, NULL);
	check(filter_node_selector, AFF("[]"), node, miss);
	check(filter_node_selector, AFF("[{}]"), node, miss);
}

static void test_node_ports(void **state)
{
	cJSON *node = J("{}");
	cJSON *used =
	    J("{\"spec\":{\"containers\":[{\"ports\":[{\"containerPort\":80,\"hostPort\":8080},"
	      "{\"containerPort\":53,\"hostPort\":53,\"protocol\":\"UDP\",\"hostIP\":\"10.0.0.1\"}]"
	      "}]}}");
	const cJSON *pods[] = {used};
	sched_node_info ni = info_of(node);
	ni.pods = pods;
	ni.n_pods = 1;
	const char *busy = "node(s) didn't have free ports for the requested pod ports";
	struct {
		const char *pod;
		const char *want;
	} cases[] = {
	    {"{\"spec\":{\"containers\":[{\"ports\":[{\"containerPort\":80}]}]}}", NULL},
	    {"{\"spec\":{\"containers\":[{\"ports\":[{\"containerPort\":80,\"hostPort\":8080}]}]}}",
	     busy},
	    {"{\"spec\":{\"containers\":[{\"ports\":[{\"containerPort\":80,\"hostPort\":8080,"
	     "\"protocol\":\"UDP\"}]}]}}",
	     NULL},
	    {"{\"spec\":{\"containers\":[{\"ports\":[{\"containerPort\":80,\"hostPort\":8081}]}]}}",
	     NULL},
	    {"{\"spec\":{\"containers\":[{\"ports\":[{\"hostPort\":53,\"protocol\":\"UDP\","
	     "\"hostIP\":\"10.0.0.2\"}]}]}}",
	     NULL},
	    {"{\"spec\":{\"containers\":[{\"ports\":[{\"hostPort\":53,\"protocol\":\"UDP\"}]}]}}",
	     busy},
	    {"{\"spec\":{\"containers\":[{},{\"ports\":[{\"hostPort\":53,\"protocol\":\"UDP\","
	     "\"hostIP\":\"10.0.0.1\"}]}]}}",
	     busy},
	};
	for (size_t i = 0; i < CK_ARRAY_SIZE(cases); i++) {
		cJSON *pod = J(cases[i].pod);
		char *got = filter_node_ports(pod, &ni);
		if (cases[i].want ? !got || strcmp(got, cases[i].want) : got != NULL)
			fail_msg("case %zu: got %s", i, got ? got : "(fit)");
		free(got);
		cJSON_Delete(pod);
	}
	cJSON_Delete(used);
	cJSON_Delete(node);
}

static const char *node_small = "{\"metadata\":{\"name\":\"n\"},\"status\":{\"allocatable\":{"
                                "\"cpu\":\"2\",\"memory\":\"4Gi\",\"pods\":\"3\"}}}";

static void check_res(const char *pod_s, sched_res used, const char *want)
{
	cJSON *pod = J(pod_s), *node = J(node_small);
	sched_node_info ni = info_of(node);
	ni.requested = used;
	char *got = filter_resources(pod, &ni);
	if (want == NULL && got != NULL)
		fail_msg("expected a fit, got \"%s\" for %s", got, pod_s);
	if (want && (!got || strcmp(got, want)))
		fail_msg("expected \"%s\", got \"%s\" for %s", want, got ? got : "(fit)", pod_s);
	free(got);
	cJSON_Delete(pod);
	cJSON_Delete(node);
}

static void test_resources(void **state)
{
	const char *pod = "{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":"
	                  "\"300m\",\"memory\":\"1Gi\"}}},"
	                  "{\"resources\":{\"requests\":{\"cpu\":\"300m\"}}}]}}";
	sched_res r;
	cJSON *p = J(pod);
	sched_pod_requests(p, &r);
	assert_int_equal(r.cpu_milli, 600);
	assert_int_equal(r.memory, 1LL << 30);
	assert_int_equal(r.pods, 1);
	cJSON_Delete(p);
	check_res(pod, (sched_res){0}, NULL);
	check_res(pod, (sched_res){.cpu_milli = 1400, .pods = 1}, NULL);
	check_res(pod, (sched_res){.cpu_milli = 1500, .pods = 1}, "Insufficient cpu");
	check_res(pod, (sched_res){.memory = 3LL << 30, .pods = 1}, NULL);
	check_res(pod, (sched_res){.cpu_milli = 1500, .memory = (3LL << 30) + 1, .pods = 1},
	          "Insufficient cpu, Insufficient memory");
	check_res(pod, (sched_res){.pods = 3}, "Too many pods");
	/* Best effort pods only count against the pod limit. */
	check_res("{\"spec\":{\"containers\":[{}]}}",
	          (sched_res){.cpu_milli = 2000, .memory = 4LL << 30, .pods = 2}, NULL);
	/* Limits stand in for missing requests; init containers count by their maximum. */
	p = J("{\"spec\":{\"containers\":[{\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":"
	      "\"128Mi\"}}}],"
	      "\"initContainers\":[{\"resources\":{\"requests\":{\"cpu\":\"1500m\"}}}],"
	      "\"overhead\":{\"cpu\":\"10m\"}}}");
	sched_pod_requests(p, &r);
	assert_int_equal(r.cpu_milli, 1510);
	assert_int_equal(r.memory, 128LL << 20);
	cJSON_Delete(p);
	cJSON *n = J("{\"status\":{\"capacity\":{\"cpu\":\"4\",\"memory\":\"1000\"}}}");
	sched_node_allocatable(n, &r);
	assert_int_equal(r.cpu_milli, 4000);
	assert_int_equal(r.memory, 1000);
	assert_int_equal(r.pods, 110);
	cJSON_Delete(n);
	cJSON *done = J("{\"status\":{\"phase\":\"Succeeded\"}}");
	assert_false(sched_pod_active(done));
	cJSON_Delete(done);
}

static void test_chain_message_score(void **state)
{
	char *reasons[] = {"Insufficient cpu", "node(s) were unschedulable", NULL,
	                   "Insufficient cpu, Insufficient memory"};
	char *msg = sched_failure_message(reasons, 4);
	assert_string_equal(msg, "0/4 nodes are available: 1 Insufficient memory, 1 node(s) were "
	                         "unschedulable, 2 Insufficient cpu. preemption: 0/4 nodes are "
	                         "available: 1 Preemption is not helpful for scheduling, 2 No "
	                         "preemption victims found for incoming pod.");
	free(msg);
	/* "count reason" strings sort as strings, as upstream's. */
	char *cp[] = {"node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }",
	              "Insufficient cpu", "Insufficient cpu", "Insufficient cpu"};
	msg = sched_failure_message(cp, 4);
	assert_string_equal(msg, "0/4 nodes are available: 1 node(s) had untolerated taint "
	                         "{node-role.kubernetes.io/control-plane: }, 3 Insufficient cpu. "
	                         "preemption: 0/4 nodes are available: 1 Preemption is not helpful "
	                         "for scheduling, 3 No preemption victims found for incoming pod.");
	free(msg);
	msg = sched_failure_message(NULL, 0);
	assert_string_equal(msg, "no nodes available to schedule pods");
	free(msg);

	/* The chain reports the first failure in upstream's order. */
	cJSON *pod = J("{\"spec\":{\"nodeSelector\":{\"a\":\"b\"}}}");
	cJSON *node = J("{\"spec\":{\"unschedulable\":true},\"status\":{\"conditions\":[{\"type\":"
	                "\"Ready\",\"status\":\"True\"}]}}");
	sched_node_info ni = info_of(node);
	char *why = sched_filter_node(pod, &ni);
	assert_string_equal(why, "node(s) were unschedulable");
	free(why);
	cJSON_Delete(node);
	node = J("{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"status\":{\"conditions\":[{\"type\":"
	         "\"Ready\",\"status\":\"True\"}],\"allocatable\":{\"cpu\":\"1\",\"memory\":"
	         "\"1Gi\",\"pods\":\"10\"}}}");
	ni = info_of(node);
	assert_null(sched_filter_node(pod, &ni));

	/* Least allocated: the emptier node scores higher. */
	cJSON *p2 = J("{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"100m\","
	              "\"memory\":\"100Mi\"}}}]}}");
	sched_node_info empty = info_of(node), busy = info_of(node);
	busy.requested = (sched_res){.cpu_milli = 500, .memory = 512LL << 20, .pods = 3};
	int64_t se = score_least_allocated(p2, &empty), sb = score_least_allocated(p2, &busy);
	assert_true(se > sb);
	assert_true(se <= 100 && sb >= 0);
	assert_int_equal(se, (90 + (1024 - 100) * 100 / 1024) / 2);
	/* Balanced: cpu 600m/1 and memory 612Mi/1Gi are 0.6 and 0.598 (99); on the empty
	 * node 0.1 and 0.098 (99); a pod asking for cpu only unbalances it: 0.9 vs 0.5. */
	assert_int_equal(score_balanced_allocation(p2, &busy), 99);
	assert_int_equal(score_balanced_allocation(p2, &empty), 99);
	cJSON *cpu_only = J("{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{"
	                    "\"cpu\":\"400m\"}}}]}}");
	assert_int_equal(score_balanced_allocation(cpu_only, &busy), 80);
	cJSON_Delete(cpu_only);
	cJSON_Delete(p2);
	cJSON_Delete(pod);
	cJSON_Delete(node);
}

static void test_pick(void **state)
{
	const char *alloc =
	    "\"status\":{\"allocatable\":{\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"110\"}}";
	char *s0 = ck_asprintf("{\"metadata\":{\"name\":\"plain\"},%s}", alloc);
	char *s1 = ck_asprintf("{\"metadata\":{\"name\":\"ssd\",\"labels\":{\"disk\":\"ssd\"}},%s}",
	                       alloc);
	char *s2 =
	    ck_asprintf("{\"metadata\":{\"name\":\"soft\",\"labels\":{\"disk\":\"ssd\"}},\"spec\":{"
	                "\"taints\":[{\"key\":\"k\",\"effect\":\"PreferNoSchedule\"}]},%s}",
	                alloc);
	cJSON *n0 = J(s0), *n1 = J(s1), *n2 = J(s2);
	sched_node_info ni[] = {info_of(n0), info_of(n1), info_of(n2)};
	uint64_t seed = 1;
	/* Preferred ssd: ssd wins (soft has an untolerated PreferNoSchedule taint). */
	cJSON *pod = J("{\"spec\":{\"affinity\":{\"nodeAffinity\":{"
	               "\"preferredDuringSchedulingIgnoredDuringExecution\":"
	               "[{\"weight\":10,\"preference\":{\"matchExpressions\":[{\"key\":\"disk\","
	               "\"operator\":\"In\",\"values\":[\"ssd\"]}]}}]}}}}");
	assert_int_equal(score_node_affinity_raw(pod, n1), 10);
	assert_int_equal(score_node_affinity_raw(pod, n0), 0);
	assert_int_equal(score_taints_raw(pod, n2), 1);
	for (int i = 0; i < 20; i++)
		assert_int_equal(sched_pick(pod, ni, 3, &seed), 1);
	cJSON_Delete(pod);
	/* Tolerating the soft taint: ssd and soft tie; both get picked over many draws, never
	 * plain. */
	pod = J("{\"spec\":{\"tolerations\":[{\"operator\":\"Exists\"}],\"affinity\":{"
	        "\"nodeAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":"
	        "[{\"weight\":10,\"preference\":{\"matchExpressions\":[{\"key\":\"disk\","
	        "\"operator\":\"In\",\"values\":[\"ssd\"]}]}}]}}}}");
	int seen[3] = {0};
	for (int i = 0; i < 200; i++)
		seen[sched_pick(pod, ni, 3, &seed)]++;
	assert_int_equal(seen[0], 0);
	assert_true(seen[1] > 20 && seen[2] > 20);
	cJSON_Delete(pod);
	/* Less allocated wins otherwise. */
	pod = J("{}");
	ni[0].requested.cpu_milli = 3000;
	ni[1].requested.cpu_milli = 1000;
	ni[2].requested.cpu_milli = 0;
	assert_int_equal(sched_pick(pod, ni, 2, &seed), 1);
	cJSON_Delete(pod);
	cJSON_Delete(n0);
	cJSON_Delete(n1);
	cJSON_Delete(n2);
	free(s0);
	free(s1);
	free(s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_taints),        cmocka_unit_test(test_unschedulable_and_ready),
	    cmocka_unit_test(test_node_selector), cmocka_unit_test(test_node_ports),
	    cmocka_unit_test(test_resources),     cmocka_unit_test(test_chain_message_score),
	    cmocka_unit_test(test_pick),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
