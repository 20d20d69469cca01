/* The kubelet's PodStatus computation (kubelet/pod_status.c, a pure function, from
 * kubelet_core): container states, restart counts, last states, phases per
 * restartPolicy, conditions and their transition times, pod IPs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "kubelet.h"

#define UID "u-1"

static cJSON *pod_with(const char *policy, const char *old_status_json)
{
	char *text = ck_asprintf(
	    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"" UID "\"},"
	    "\"spec\":{\"restartPolicy\":\"%s\",\"containers\":[{\"name\":\"main\","
	    "\"image\":\"busybox:1\"}]},\"status\":%s}",
	    policy, old_status_json ? old_status_json : "{}");
	cJSON *p = ck_json_parse(text, strlen(text), NULL);
	free(text);
	assert_non_null(p);
	return p;
}

static char **kv(const char *k, const char *v)
{
	char **r = ck_calloc(3, sizeof(char *));
	r[0] = ck_strdup(k);
	r[1] = ck_strdup(v);
	return r;
}

/* Adds a container instance to rp. */
static void add_ct(kl_runtime_pod *rp, const char *id, uint32_t attempt,
                   enum cri_container_state st, int exit_code, const char *uid)
{
	rp->containers = ck_realloc(rp->containers, (rp->n_containers + 1) * sizeof(cri_container));
	cri_container *c = &rp->containers[rp->n_containers++];
	memset(c, 0, sizeof(*c));
	c->id = ck_strdup(id);
	c->sandbox_id = ck_strdup("sb");
	c->name = ck_strdup("main");
	c->attempt = attempt;
	c->image = ck_strdup("busybox:1");
	c->image_ref = ck_strdup("sha256:abc");
	c->state = st;
	c->created_at = 1000 + attempt;
	c->started_at = 1800000000LL * 1000000000LL + attempt * 1000000000LL;
	c->finished_at = st == CRI_CONTAINER_EXITED ? c->started_at + 500000000LL : 0;
	c->exit_code = exit_code;
	c->labels = kv(KL_LABEL_POD_UID, uid);
	c->annotations = ck_calloc(1, sizeof(char *));
}

static void add_sb(kl_runtime_pod *rp, const char *ip, enum cri_sandbox_state st)
{
	rp->sandboxes = ck_realloc(rp->sandboxes, (rp->n_sandboxes + 1) * sizeof(cri_sandbox));
	cri_sandbox *s = &rp->sandboxes[rp->n_sandboxes++];
	memset(s, 0, sizeof(*s));
	s->id = ck_strdup("sb");
	s->uid = ck_strdup(UID);
	s->name = ck_strdup("p");
	s->namespace = ck_strdup("default");
	s->state = st;
	s->ip = ck_strdup_or_null(ip);
	s->labels = ck_calloc(1, sizeof(char *));
	s->annotations = ck_calloc(1, sizeof(char *));
	s->additional_ips = ck_calloc(1, sizeof(char *));
}

static struct timespec NOW = {1900000000, 0};

static cJSON *compute(const cJSON *pod, const kl_runtime_pod *rp, const kl_waiting *w)
{
	return pod_status_compute(pod, rp, w, "192.168.56.101", &NOW);
}

static const cJSON *cs0(const cJSON *st)
{
	return cJSON_GetArrayItem(ck_json_get(st, "containerStatuses"), 0);
}

static const cJSON *cond(const cJSON *st, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, ck_json_get(st, "conditions"))
	{
		if (!strcmp(ck_json_get_str(c, "type", ""), type))
			return c;
	}
	return NULL;
}

static void test_nothing_yet_is_pending(void **state)
{
	cJSON *pod = pod_with("Always", NULL);
	kl_runtime_pod rp = {0};
	cJSON *st = compute(pod, &rp, NULL);
	assert_string_equal(ck_json_get_str(st, "phase", ""), "Pending");
	assert_string_equal(ck_json_get_str(cs0(st), "state.waiting.reason", ""),
	                    "ContainerCreating");
	assert_false(ck_json_get_bool(cs0(st), "ready", true));
	assert_int_equal(ck_json_get_int(cs0(st), "restartCount", -1), 0);
	assert_null(ck_json_get(cs0(st), "containerID"));
	const cJSON *r = cond(st, "Ready");
	assert_string_equal(ck_json_get_str(r, "status", ""), "False");
	assert_string_equal(ck_json_get_str(r, "reason", ""), "ContainersNotReady");
	assert_string_equal(ck_json_get_str(r, "message", ""),
	                    "containers with unready status: [main]");
	assert_string_equal(ck_json_get_str(cond(st, "PodScheduled"), "status", ""), "True");
	assert_string_equal(ck_json_get_str(st, "hostIP", ""), "192.168.56.101");
	assert_null(ck_json_get(st, "podIP"));
	assert_string_equal(ck_json_get_str(st, "startTime", ""), "2030-03-17T17:46:40Z");
	cJSON_Delete(st);
	cJSON_Delete(pod);
}

static void test_running(void **state)
{
	cJSON *pod = pod_with("Always", NULL);
	kl_runtime_pod rp = {0};
	add_sb(&rp, "10.244.1.5", CRI_SANDBOX_READY);
	add_ct(&rp, "c0", 0, CRI_CONTAINER_RUNNING, 0, UID);
	cJSON *st = compute(pod, &rp, NULL);
	assert_string_equal(ck_json_get_str(st, "phase", ""), "Running");
	const cJSON *c = cs0(st);
	assert_true(ck_json_get_bool(c, "ready", false));
	assert_true(ck_json_get_bool(c, "started", false));
	assert_string_equal(ck_json_get_str(c, "state.running.startedAt", ""),
	                    "2027-01-15T08:00:00Z");
	assert_string_equal(ck_json_get_str(c, "containerID", ""), "containerd://c0");
	assert_string_equal(ck_json_get_str(c, "imageID", ""), "sha256:abc");
	assert_string_equal(ck_json_get_str(c, "image", ""), "busybox:1");
	assert_string_equal(ck_json_get_str(st, "podIP", ""), "10.244.1.5");
	assert_string_equal(
	    ck_json_get_str(cJSON_GetArrayItem(ck_json_get(st, "podIPs"), 0), "ip", ""),
	    "10.244.1.5");
	assert_string_equal(ck_json_get_str(cond(st, "Ready"), "status", ""), "True");
	assert_string_equal(ck_json_get_str(cond(st, "ContainersReady"), "status", ""), "True");
	assert_null(ck_json_get(cond(st, "Ready"), "reason"));
	cJSON_Delete(st);
	kl_runtime_pod_clear(&rp);
	cJSON_Delete(pod);
}

static void test_restart_and_back_off(void **state)
{
	cJSON *pod = pod_with("Always", NULL);
	kl_runtime_pod rp = {0};
	add_sb(&rp, "10.244.1.5", CRI_SANDBOX_READY);
	add_ct(&rp, "c0", 0, CRI_CONTAINER_EXITED, 3, UID);
	add_ct(&rp, "c1", 1, CRI_CONTAINER_RUNNING, 0, UID);
	/* An instance of another pod with the same name does not count. */
	add_ct(&rp, "other", 7, CRI_CONTAINER_RUNNING, 0, "u-2");
	cJSON *st = compute(pod, &rp, NULL);
	const cJSON *c = cs0(st);
	assert_int_equal(ck_json_get_int(c, "restartCount", -1), 1);
	assert_string_equal(ck_json_get_str(c, "containerID", ""), "containerd://c1");
	assert_int_equal(ck_json_get_int(c, "lastState.terminated.exitCode", 0), 3);
	assert_string_equal(ck_json_get_str(c, "lastState.terminated.reason", ""), "Error");
	assert_string_equal(ck_json_get_str(c, "lastState.terminated.containerID", ""),
	                    "containerd://c0");
	cJSON_Delete(st);

	/* The running one exits too; the sync decided to wait. */
	rp.containers[1].state = CRI_CONTAINER_EXITED;
	rp.containers[1].exit_code = 3;
	rp.containers[1].finished_at = rp.containers[1].started_at + 1;
	kl_waiting w = {
	    .container = "main", .reason = "CrashLoopBackOff", .message = "back-off 10s"};
	st = compute(pod, &rp, &w);
	c = cs0(st);
	assert_string_equal(ck_json_get_str(st, "phase", ""), "Running");
	assert_string_equal(ck_json_get_str(c, "state.waiting.reason", ""), "CrashLoopBackOff");
	assert_string_equal(ck_json_get_str(c, "state.waiting.message", ""), "back-off 10s");
	assert_string_equal(ck_json_get_str(c, "lastState.terminated.containerID", ""),
	                    "containerd://c1");
	assert_false(ck_json_get_bool(c, "ready", true));
	cJSON_Delete(st);

	/* Without a decision the exited instance is the state. */
	st = compute(pod, &rp, NULL);
	c = cs0(st);
	assert_int_equal(ck_json_get_int(c, "state.terminated.exitCode", 0), 3);
	assert_int_equal(ck_json_get_int(c, "lastState.terminated.exitCode", 0), 3);
	cJSON_Delete(st);
	kl_runtime_pod_clear(&rp);
	cJSON_Delete(pod);
}

static void phase_case(const char *policy, int exit_code, const char *want)
{
	cJSON *pod = pod_with(policy, NULL);
	kl_runtime_pod rp = {0};
	add_ct(&rp, "c0", 0, CRI_CONTAINER_EXITED, exit_code, UID);
	cJSON *st = compute(pod, &rp, NULL);
	assert_string_equal(ck_json_get_str(st, "phase", ""), want);
	assert_string_equal(pod_status_phase(pod, &rp, NULL), want);
	if (!strcmp(want, "Succeeded") || !strcmp(want, "Failed"))
		assert_string_equal(ck_json_get_str(cond(st, "Ready"), "reason", ""),
		                    "PodCompleted");
	cJSON_Delete(st);
	kl_runtime_pod_clear(&rp);
	cJSON_Delete(pod);
}

static void test_phases(void **state)
{
	phase_case("Never", 0, "Succeeded");
	phase_case("Never", 1, "Failed");
	phase_case("OnFailure", 0, "Succeeded");
	phase_case("OnFailure", 1, "Running");
	phase_case("Always", 0, "Running");
	phase_case("Always", 2, "Running");
}

static void test_reason_from_runtime(void **state)
{
	cJSON *pod = pod_with("Never", NULL);
	kl_runtime_pod rp = {0};
	add_ct(&rp, "c0", 0, CRI_CONTAINER_EXITED, 137, UID);
	rp.containers[0].reason = ck_strdup("OOMKilled");
	cJSON *st = compute(pod, &rp, NULL);
	assert_string_equal(ck_json_get_str(cs0(st), "state.terminated.reason", ""), "OOMKilled");
	assert_int_equal(ck_json_get_int(cs0(st), "state.terminated.exitCode", 0), 137);
	assert_string_equal(ck_json_get_str(cs0(st), "state.terminated.finishedAt", ""),
	                    "2027-01-15T08:00:00Z");
	cJSON_Delete(st);
	kl_runtime_pod_clear(&rp);
	cJSON_Delete(pod);
}

static void test_transition_times_kept(void **state)
{
	cJSON *pod = pod_with("Always",
	                      "{\"startTime\":\"2020-01-01T00:00:00Z\",\"qosClass\":\"BestEffort\","
	                      "\"podIP\":\"10.244.1.9\",\"conditions\":["
	                      "{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":"
	                      "\"2020-01-01T00:00:01Z\"},"
	                      "{\"type\":\"Initialized\",\"status\":\"True\","
	                      "\"lastTransitionTime\":\"2020-01-01T00:00:02Z\"}]}");
	kl_runtime_pod rp = {0};
	add_ct(&rp, "c0", 0, CRI_CONTAINER_RUNNING, 0, UID);
	cJSON *st = compute(pod, &rp, NULL);
	assert_string_equal(ck_json_get_str(cond(st, "Ready"), "lastTransitionTime", ""),
	                    "2020-01-01T00:00:01Z");
	assert_string_equal(ck_json_get_str(cond(st, "Initialized"), "lastTransitionTime", ""),
	                    "2020-01-01T00:00:02Z");
	assert_string_equal(ck_json_get_str(cond(st, "PodScheduled"), "lastTransitionTime", ""),
	                    "2030-03-17T17:46:40Z");
	assert_string_equal(ck_json_get_str(st, "startTime", ""), "2020-01-01T00:00:00Z");
	assert_string_equal(ck_json_get_str(st, "qosClass", ""), "BestEffort");
	/* No sandbox in the runtime's view: the known IP stays. */
	assert_string_equal(ck_json_get_str(st, "podIP", ""), "10.244.1.9");
	cJSON_Delete(st);
	/* Ready turns False: a new transition time. */
	rp.containers[0].state = CRI_CONTAINER_EXITED;
	st = compute(pod, &rp, NULL);
	assert_string_equal(ck_json_get_str(cond(st, "Ready"), "status", ""), "False");
	assert_string_equal(ck_json_get_str(cond(st, "Ready"), "lastTransitionTime", ""),
	                    "2030-03-17T17:46:40Z");
	cJSON_Delete(st);
	kl_runtime_pod_clear(&rp);
	cJSON_Delete(pod);
}

static void test_host_network_uses_host_ip(void **state)
{
	cJSON *pod = pod_with("Always", NULL);
	ck_json_set_bool(pod, "spec.hostNetwork", true);
	kl_runtime_pod rp = {0};
	add_sb(&rp, NULL, CRI_SANDBOX_READY);
	add_ct(&rp, "c0", 0, CRI_CONTAINER_RUNNING, 0, UID);
	cJSON *st = compute(pod, &rp, NULL);
	assert_string_equal(ck_json_get_str(st, "podIP", ""), "192.168.56.101");
	cJSON_Delete(st);
	kl_runtime_pod_clear(&rp);
	cJSON_Delete(pod);
}

static void test_current_instance(void **state)
{
	kl_runtime_pod rp = {0};
	add_ct(&rp, "a", 2, CRI_CONTAINER_EXITED, 1, UID);
	add_ct(&rp, "b", 4, CRI_CONTAINER_RUNNING, 0, UID);
	add_ct(&rp, "c", 3, CRI_CONTAINER_EXITED, 1, UID);
	const cri_container *prev = NULL;
	const cri_container *cur = pod_status_current(&rp, UID, "main", &prev);
	assert_string_equal(cur->id, "b");
	assert_string_equal(prev->id, "c");
	assert_null(pod_status_current(&rp, UID, "other", NULL));
	assert_null(pod_status_current(&rp, "u-9", "main", NULL));
	kl_runtime_pod_clear(&rp);
	char *t = kl_time_ns(1800000000LL * 1000000000LL + 999999999LL);
	assert_string_equal(t, "2027-01-15T08:00:00Z");
	free(t);
}

static void add_named(kl_runtime_pod *rp, const char *name, const char *id,
                      enum cri_container_state st, int exit_code)
{
	add_ct(rp, id, 0, st, exit_code, UID);
	free(rp->containers[rp->n_containers - 1].name);
	rp->containers[rp->n_containers - 1].name = ck_strdup(name);
}

static void test_init_containers(void **state)
{
	cJSON *pod = pod_with("Never", NULL);
	const char *ic = "[{\"name\":\"init\",\"image\":\"busybox:1\"}]";
	ck_json_set(pod, "spec.initContainers", ck_json_parse(ic, strlen(ic), NULL));
	kl_runtime_pod rp = {0};
	add_named(&rp, "init", "i0", CRI_CONTAINER_RUNNING, 0);
	cJSON *st = compute(pod, &rp, NULL);
	assert_string_equal(ck_json_get_str(st, "phase", ""), "Pending");
	const cJSON *ini = cond(st, "Initialized");
	assert_string_equal(ck_json_get_str(ini, "status", ""), "False");
	assert_string_equal(ck_json_get_str(ini, "reason", ""), "ContainersNotInitialized");
	assert_string_equal(ck_json_get_str(ini, "message", ""),
	                    "containers with incomplete status: [init]");
	assert_string_equal(ck_json_get_str(cs0(st), "state.waiting.reason", ""),
	                    "PodInitializing");
	const cJSON *is = cJSON_GetArrayItem(ck_json_get(st, "initContainerStatuses"), 0);
	assert_string_equal(ck_json_get_str(is, "name", ""), "init");
	assert_non_null(ck_json_get(is, "state.running"));
	assert_false(ck_json_get_bool(is, "ready", true));
	cJSON_Delete(st);

	rp.containers[0].state = CRI_CONTAINER_EXITED;
	st = compute(pod, &rp, NULL);
	assert_string_equal(ck_json_get_str(cond(st, "Initialized"), "status", ""), "True");
	is = cJSON_GetArrayItem(ck_json_get(st, "initContainerStatuses"), 0);
	assert_true(ck_json_get_bool(is, "ready", false));
	assert_string_equal(ck_json_get_str(is, "state.terminated.reason", ""), "Completed");
	assert_string_equal(ck_json_get_str(cs0(st), "state.waiting.reason", ""),
	                    "ContainerCreating");
	assert_string_equal(ck_json_get_str(st, "phase", ""), "Pending");
	cJSON_Delete(st);

	rp.containers[0].exit_code = 1;
	st = compute(pod, &rp, NULL);
	assert_string_equal(ck_json_get_str(st, "phase", ""), "Failed");
	assert_string_equal(pod_status_phase(pod, &rp, NULL), "Failed");
	cJSON_Delete(st);
	kl_runtime_pod_clear(&rp);
	cJSON_Delete(pod);
}

static void test_env_expand(void **state)
{
	char *env[] = {"A", "1", "B", "two", "A", "3", NULL};
	char *s = kl_env_expand("x$(A)y$(B)z $(C) $$(A) $", env);
	assert_string_equal(s, "x3ytwoz $(C) $(A) $");
	free(s);
	s = kl_env_expand("$(A", env);
	assert_string_equal(s, "$(A");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nothing_yet_is_pending),
	    cmocka_unit_test(test_running),
	    cmocka_unit_test(test_restart_and_back_off),
	    cmocka_unit_test(test_phases),
	    cmocka_unit_test(test_reason_from_runtime),
	    cmocka_unit_test(test_transition_times_kept),
	    cmocka_unit_test(test_host_network_uses_host_ip),
	    cmocka_unit_test(test_current_instance),
	    cmocka_unit_test(test_init_containers),
	    cmocka_unit_test(test_env_expand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
