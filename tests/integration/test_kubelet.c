/* The real kubelet binary against a real kube-apiserver on a real etcd and a private
 * containerd (tests/harness): the node registers and heartbeats, a bound pod runs and
 * reports its status, a crashing container is restarted and backs off, a missing image
 * shows ErrImagePull / ImagePullBackOff while another pod runs, a graceful delete stops
 * and removes everything and the pod disappears, and killing and restarting the kubelet
 * loses nothing and duplicates nothing. Every process is started here and stopped by PID.
 *
 * Waiting on the cluster is done by asking again every 100 ms up to a deadline: the
 * observed processes are separate binaries, so there is nothing in-process to await. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/client.h"
#include "api/kubeconfig.h"
#include "apiserver_harness.h"
#include "base/json.h"
#include "base/strbuf.h"
#include "containerd_harness.h"
#include "etcd_harness.h"
#include "net/cri.h"
#include "proc_harness.h"

#define PAUSE_IMAGE   "registry.k8s.io/pause:3.9"
#define BUSYBOX_IMAGE "docker.io/library/busybox:ckube"
#define NODE          "node-1"

typedef struct env {
	char *tmp;
	etcd_harness *etcd;
	ch_containerd *ctrd;
	apiserver_harness *apiserver;
	pid_t kubelet;
	int port;
	char *kubeconfig;
	kc_sync *api;
	cri_client *cri;
	int kubelet_runs;
	int kubelet_port;
} env;

static env *E;

static int free_port(void)
{
	ck_err *err = NULL;
	int port = harness_free_port(&err);
	if (port < 0)
		fail_msg("free port: %s", err->msg);
	return port;
}

/* Starts argv[0] with output to log; it dies with this process (PDEATHSIG) so that a
 * killed test leaves no kubelet behind. */
static pid_t spawn(char *const argv[], const char *log)
{
	ck_err *err = NULL;
	pid_t pid = -1;
	if (harness_spawn(argv, log, &pid, &err) < 0)
		fail_msg("spawn %s: %s", argv[0], err->msg);
	return pid;
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void pause_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void dump_logs(void)
{
	const char *logs[] = {"kubelet.log", "apiserver.log"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(logs); i++) {
		_cleanup_free_ char *p = ck_asprintf("%s/%s", E->tmp, logs[i]);
		_cleanup_free_ char *tail = harness_log_tail(p, 4096);
		fprintf(stderr, "---- %s\n%s", logs[i], tail);
	}
}

/* ---- API helpers (blocking client) ---- */

static cJSON *api(const char *method, const char *path, const char *body, int *rc)
{
	_cleanup_json_ cJSON *b = NULL;
	if (body) {
		b = ck_json_parse(body, strlen(body), NULL);
		assert_non_null(b);
	}
	cJSON *out = NULL;
	ck_err *err = NULL;
	int r =
	    kc_sync_request(E->api, method, path, body ? "application/json" : NULL, b, &out, &err);
	if (rc)
		*rc = r;
	else if (r < 0)
		fail_msg("%s %s: %s", method, path, err ? err->msg : ck_strerror(r));
	ck_err_free(err);
	return out;
}

static cJSON *get_pod(const char *name)
{
	int rc;
	_cleanup_free_ char *p = ck_asprintf("/api/v1/namespaces/default/pods/%s", name);
	cJSON *o = api("GET", p, NULL, &rc);
	if (rc < 0) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static void create_pod_grace(const char *name, const char *image, const char *policy,
                             const char *script, int grace)
{
	cJSON *pod = cJSON_CreateObject();
	cJSON_AddStringToObject(pod, "apiVersion", "v1");
	cJSON_AddStringToObject(pod, "kind", "Pod");
	ck_json_set_str(pod, "metadata.name", name);
	ck_json_set_str(pod, "metadata.namespace", "default");
	ck_json_set_str(pod, "metadata.labels.app", name);
	ck_json_set_str(pod, "spec.nodeName", NODE);
	ck_json_set_str(pod, "spec.restartPolicy", policy);
	ck_json_set_int(pod, "spec.terminationGracePeriodSeconds", grace);
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "name", "main");
	cJSON_AddStringToObject(c, "image", image);
	cJSON *cmd = cJSON_CreateArray();
	cJSON_AddItemToArray(cmd, cJSON_CreateString("sh"));
	cJSON_AddItemToArray(cmd, cJSON_CreateString("-c"));
	cJSON_AddItemToArray(cmd, cJSON_CreateString(script));
	cJSON_AddItemToObject(c, "command", cmd);
	cJSON *envs = cJSON_CreateArray();
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "name", "POD_NAME");
	ck_json_set_str(e, "valueFrom.fieldRef.fieldPath", "metadata.name");
	cJSON_AddItemToArray(envs, e);
	cJSON_AddItemToObject(c, "env", envs);
	cJSON *cs = cJSON_CreateArray();
	cJSON_AddItemToArray(cs, c);
	ck_json_set(pod, "spec.containers", cs);
	_cleanup_free_ char *body = ck_json_print(pod);
	cJSON_Delete(pod);
	cJSON *res = api("POST", "/api/v1/namespaces/default/pods", body, NULL);
	cJSON_Delete(res);
}

static void create_pod(const char *name, const char *image, const char *policy, const char *script)
{
	create_pod_grace(name, image, policy, script, 5);
}

/* A long-running container that logs and stops at once on TERM. */
#define SERVE_SCRIPT                                                                               \
	"echo started $POD_NAME; trap 'echo stopping; exit 0' TERM; while true; do sleep 0.1; "    \
	"done"

/* GET on the kubelet's API with curl; returns curl's exit code, *out its output. */
static int kubelet_get(const char *path_query, int max_time_s, char **out)
{
	char *url = ck_asprintf("http://127.0.0.1:%d%s", E->kubelet_port, path_query);
	char *mt = ck_asprintf("%d", max_time_s);
	char *argv[] = {"curl", "-sS", "-N", "--max-time", mt, url, NULL};
	int r = harness_run(argv, out, NULL);
	free(url);
	free(mt);
	return r;
}

/* Asks the kubelet for a log (path_query) until it starts with want, up to 5 s; returns
 * the last answer (owned). */
static char *eventually_log(const char *path_query, const char *want)
{
	double end = now_ms() + 5000;
	for (;;) {
		char *out = NULL;
		kubelet_get(path_query, 5, &out);
		if (!out)
			out = ck_strdup("");
		if (ck_str_has_prefix(out, want) || now_ms() > end)
			return out;
		free(out);
		pause_ms(100);
	}
}

/* Waits until the pod is gone from the API (up to timeout_ms); fails the test, with the
 * logs, when it is not. */
static void assert_gone(const char *name, int timeout_ms)
{
	double end = now_ms() + timeout_ms;
	for (;;) {
		cJSON *p = get_pod(name);
		if (!p)
			return;
		cJSON_Delete(p);
		if (now_ms() > end)
			break;
		pause_ms(100);
	}
	dump_logs();
	fail_msg("pod %s still in the API after %d ms", name, timeout_ms);
}

typedef bool (*check_fn)(const cJSON *pod, void *data);

/* Waits until check holds for the pod (up to timeout_ms); returns the pod (owned). */
static cJSON *eventually_pod(const char *name, check_fn check, void *data, int timeout_ms,
                             const char *what)
{
	double end = now_ms() + timeout_ms;
	cJSON *pod = NULL;
	for (;;) {
		cJSON_Delete(pod);
		pod = get_pod(name);
		if (pod && check(pod, data))
			return pod;
		if (now_ms() > end)
			break;
		pause_ms(100);
	}
	_cleanup_free_ char *s = pod ? ck_json_print(ck_json_get(pod, "status")) : NULL;
	dump_logs();
	fail_msg("pod %s: not %s within %d ms; status %s", name, what, timeout_ms,
	         s ? s : "(no pod)");
	return NULL;
}

static const cJSON *cstatus(const cJSON *pod)
{
	return cJSON_GetArrayItem(ck_json_get(pod, "status.containerStatuses"), 0);
}

static bool is_running(const cJSON *pod, void *data)
{
	const cJSON *cs = cstatus(pod);
	return !strcmp(ck_json_get_str(pod, "status.phase", ""), "Running") && cs &&
	       ck_json_get_bool(cs, "ready", false) && ck_json_get(cs, "state.running");
}

static bool has_waiting(const cJSON *pod, void *data)
{
	const cJSON *cs = cstatus(pod);
	return cs && !strcmp(ck_json_get_str(cs, "state.waiting.reason", ""), (const char *)data);
}

static bool has_phase(const cJSON *pod, void *data)
{
	return !strcmp(ck_json_get_str(pod, "status.phase", ""), (const char *)data);
}

static bool restarted(const cJSON *pod, void *data)
{
	const cJSON *cs = cstatus(pod);
	return cs && ck_json_get_int(cs, "restartCount", 0) >= *(int *)data;
}

typedef bool (*event_check_fn)(const cJSON *ev, void *data);

/* How many Events in default check holds for. */
static int count_events(event_check_fn check, void *data)
{
	cJSON *evs = api("GET", "/api/v1/namespaces/default/events", NULL, NULL);
	int n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, ck_json_get(evs, "items"))
	{
		n += check(e, data);
	}
	cJSON_Delete(evs);
	return n;
}

/* Asks every interval_ms until an Event check holds for exists; false after timeout_ms. */
static bool eventually_event(event_check_fn check, void *data, int timeout_ms, int interval_ms)
{
	double end = now_ms() + timeout_ms;
	for (;;) {
		if (count_events(check, data) > 0)
			return true;
		if (now_ms() > end)
			return false;
		pause_ms(interval_ms);
	}
}

/* ---- runtime helpers (blocking CRI client) ---- */

typedef struct listed {
	size_t n;
	size_t ready;
} listed;

/* The pod's sandboxes (or containers) in the runtime, and how many of them are ready
 * (running). */
static listed runtime_list(const char *pod, bool containers)
{
	const char *sel[] = {"io.kubernetes.pod.name", pod, NULL};
	cri_result r = {0};
	if (containers)
		cri_list_containers(E->cri, NULL, sel, cri_result_on_containers, &r);
	else
		cri_list_sandboxes(E->cri, sel, false, cri_result_on_sandboxes, &r);
	assert_int_equal(r.rc, 0);
	listed l = {.n = r.n};
	for (size_t i = 0; i < r.n; i++)
		l.ready += containers ? r.containers[i].state == CRI_CONTAINER_RUNNING
		                      : r.sandboxes[i].state == CRI_SANDBOX_READY;
	cri_result_clear(&r);
	return l;
}

static listed runtime_sandboxes(const char *pod)
{
	return runtime_list(pod, false);
}

static listed runtime_containers(const char *pod)
{
	return runtime_list(pod, true);
}

/* The runtime's id of the pod's first container (its containerID without the scheme). */
static const char *container_id(const cJSON *pod)
{
	const char *id = ck_json_get_str(cstatus(pod), "containerID", "");
	if (!ck_str_has_prefix(id, "containerd://"))
		fail_msg("containerID \"%s\"", id);
	return id + strlen("containerd://");
}

/* Runs cmd in container cid; fails the test unless it ran and exited 0. Returns its
 * output (owned). */
static char *exec_ok(const char *cid, const char *const *cmd)
{
	cri_result r = {0};
	cri_exec_sync(E->cri, cid, cmd, 10, cri_result_on_exec, &r);
	if (r.rc < 0)
		fail_msg("exec %s: %s", cmd[0], cri_result_msg(&r));
	assert_int_equal(r.exec.exit_code, 0);
	char *out = CK_TAKE_PTR(r.exec.out);
	cri_result_clear(&r);
	return out;
}

/* ---- processes ---- */

static void start_kubelet(void)
{
	char *logf = ck_asprintf("%s/kubelet.log", E->tmp);
	char *kc = ck_asprintf("--kubeconfig=%s", E->kubeconfig);
	char *ep = ck_asprintf("--container-runtime-endpoint=%s", E->ctrd->endpoint);
	char *root = ck_asprintf("--root-dir=%s/kubelet", E->tmp);
	char *logs = ck_asprintf("--pod-log-dir=%s", E->ctrd->log_dir);
	char *cg = ck_asprintf("--cgroup-root=%s", E->ctrd->cgroup_parent);
	char *bin = ck_asprintf("%s/kubelet", CKUBE_BINARY_DIR);
	if (!E->kubelet_port)
		E->kubelet_port = free_port();
	char *port = ck_asprintf("--port=%d", E->kubelet_port);
	char *argv[] = {bin,
	                kc,
	                "--hostname-override=" NODE,
	                "--node-ip=127.0.0.1",
	                ep,
	                root,
	                logs,
	                cg,
	                "--pod-infra-container-image=" PAUSE_IMAGE,
	                "--node-labels=ckube.test/role=worker",
	                "--node-status-update-frequency=2s",
	                "--cluster-dns=10.96.0.10",
	                port,
	                "--address=127.0.0.1",
	                "-v=2",
	                NULL};
	E->kubelet = spawn(argv, logf);
	E->kubelet_runs++;
	free(logf);
	free(kc);
	free(ep);
	free(root);
	free(logs);
	free(cg);
	free(bin);
	free(port);
}

static int setup(void **state)
{
	E = ck_calloc(1, sizeof(*E));
	ck_err *err = NULL;
	E->tmp = ch_mkdtemp("ckube-test-kubelet.");
	assert_non_null(E->tmp);
	char *pause = ck_asprintf("%s/pause.tar", E->tmp);
	char *bb = ck_asprintf("%s/busybox.tar", E->tmp);
	if (ch_image_build_pause(pause, PAUSE_IMAGE, NULL, &err) < 0 ||
	    ch_image_build_busybox(bb, BUSYBOX_IMAGE, "[\"sh\"]", &err) < 0 ||
	    ch_containerd_start(NULL, &E->ctrd, &err) < 0 ||
	    ch_containerd_import(E->ctrd, pause, &err) < 0 ||
	    ch_containerd_import(E->ctrd, bb, &err) < 0 || etcd_harness_start(&E->etcd, &err) < 0)
		fail_msg("setup: %s", err->msg);
	free(pause);
	free(bb);

	char *logf = ck_asprintf("%s/apiserver.log", E->tmp);
	apiserver_harness_opts ao = {.etcd_servers = etcd_harness_endpoints(E->etcd),
	                             .log_path = logf};
	if (apiserver_harness_start(&ao, &E->apiserver, &err) < 0)
		fail_msg("setup: %s", err->msg);
	free(logf);
	E->port = apiserver_harness_port(E->apiserver);

	E->kubeconfig = ck_asprintf("%s/kubeconfig", E->tmp);
	char *text = ck_asprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
	                         "    server: http://127.0.0.1:%d\nusers:\n- name: u\n  user: {}\n"
	                         "contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n"
	                         "current-context: x\n",
	                         E->port);
	FILE *f = fopen(E->kubeconfig, "we");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	kubeconfig *kc = NULL;
	if (kubeconfig_parse(text, strlen(text), NULL, NULL, &kc, &err) < 0 ||
	    kc_sync_new(kc, &E->api, &err) < 0)
		fail_msg("client: %s", err->msg);
	kubeconfig_free(kc);
	free(text);
	/* Ready: the system namespaces exist (the node's Lease goes to kube-node-lease). */
	int rc = -1;
	double end = now_ms() + 30000;
	while (now_ms() < end) {
		cJSON *o = api("GET", "/api/v1/namespaces/kube-node-lease", NULL, &rc);
		cJSON_Delete(o);
		if (rc == 0)
			break;
		pause_ms(100);
	}
	if (rc != 0) {
		dump_logs();
		fail_msg("kube-apiserver not ready");
	}
	cri_client_opts co = {.endpoint = E->ctrd->endpoint};
	assert_int_equal(cri_client_new(NULL, &co, &E->cri, &err), 0);
	start_kubelet();
	*state = E;
	return 0;
}

static int teardown(void **state)
{
	harness_kill(&E->kubelet, SIGKILL);
	apiserver_harness_stop(E->apiserver);
	cri_client_free(E->cri);
	kc_sync_free(E->api);
	ch_containerd_stop(E->ctrd);
	etcd_harness_stop(E->etcd);
	if (!getenv("CKUBE_KEEP"))
		ch_rm_rf(E->tmp);
	free(E->tmp);
	free(E->kubeconfig);
	free(E);
	return 0;
}

/* ---- tests ---- */

static void test_node_registers(void **state)
{
	double end = now_ms() + 30000;
	cJSON *node = NULL;
	bool ready = false;
	while (!ready && now_ms() < end) {
		int rc;
		cJSON_Delete(node);
		node = api("GET", "/api/v1/nodes/" NODE, NULL, &rc);
		const cJSON *c;
		cJSON_ArrayForEach(c, ck_json_get(node, "status.conditions"))
		{
			if (!strcmp(ck_json_get_str(c, "type", ""), "Ready") &&
			    !strcmp(ck_json_get_str(c, "status", ""), "True"))
				ready = true;
		}
		if (!ready)
			pause_ms(100);
	}
	if (!ready) {
		dump_logs();
		fail_msg("node not Ready");
	}
	assert_string_equal(ck_json_get_str(node, "metadata.labels.kubernetes\\.io/hostname", ""),
	                    NODE);
	assert_string_equal(ck_json_get_str(node, "metadata.labels.ckube\\.test/role", ""),
	                    "worker");
	assert_string_equal(ck_json_get_str(node, "status.capacity.pods", ""), "110");
	char cpus[16];
	snprintf(cpus, sizeof(cpus), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	assert_string_equal(ck_json_get_str(node, "status.capacity.cpu", ""), cpus);
	assert_true(ck_str_has_suffix(ck_json_get_str(node, "status.capacity.memory", ""), "Ki"));
	assert_true(ck_str_has_prefix(
	    ck_json_get_str(node, "status.nodeInfo.containerRuntimeVersion", ""), "containerd://"));
	assert_string_equal(ck_json_get_str(node, "status.nodeInfo.kubeletVersion", ""),
	                    CKUBE_VERSION);
	const cJSON *a = cJSON_GetArrayItem(ck_json_get(node, "status.addresses"), 0);
	assert_string_equal(ck_json_get_str(a, "type", ""), "InternalIP");
	assert_string_equal(ck_json_get_str(a, "address", ""), "127.0.0.1");
	cJSON_Delete(node);

	/* The lease exists and is renewed by the same holder. */
	cJSON *lease = NULL;
	int rc = -1;
	end = now_ms() + 15000;
	while (now_ms() < end) {
		cJSON_Delete(lease);
		lease = api("GET",
		            "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" NODE,
		            NULL, &rc);
		if (rc == 0)
			break;
		pause_ms(100);
	}
	assert_int_equal(rc, 0);
	assert_string_equal(ck_json_get_str(lease, "spec.holderIdentity", ""), NODE);
	assert_int_equal(ck_json_get_int(lease, "spec.leaseDurationSeconds", 0), 40);
	assert_non_null(ck_json_get_str(lease, "spec.renewTime", NULL));
	cJSON_Delete(lease);
}

static bool web_started(const cJSON *e, void *data)
{
	return !strcmp(ck_json_get_str(e, "involvedObject.name", ""), "web") &&
	       !strcmp(ck_json_get_str(e, "reason", ""), "Started") &&
	       !strcmp(ck_json_get_str(e, "involvedObject.fieldPath", ""),
	               "spec.containers{main}") &&
	       !strcmp(ck_json_get_str(e, "source.host", ""), NODE);
}

static void test_pod_runs(void **state)
{
	double t0 = now_ms();
	create_pod("web", BUSYBOX_IMAGE, "Always", SERVE_SCRIPT);
	cJSON *pod = eventually_pod("web", is_running, NULL, 60000, "Running");
	printf("# pod Running %.0f ms after create\n", now_ms() - t0);
	const cJSON *cs = cstatus(pod);
	assert_string_equal(ck_json_get_str(cs, "name", ""), "main");
	assert_string_equal(ck_json_get_str(cs, "image", ""), BUSYBOX_IMAGE);
	assert_true(ck_str_has_prefix(ck_json_get_str(cs, "imageID", ""), "sha256:"));
	assert_true(ck_str_has_prefix(ck_json_get_str(cs, "containerID", ""), "containerd://"));
	assert_true(ck_json_get_bool(cs, "started", false));
	assert_int_equal(ck_json_get_int(cs, "restartCount", -1), 0);
	assert_non_null(ck_json_get_str(cs, "state.running.startedAt", NULL));
	assert_string_equal(ck_json_get_str(pod, "status.hostIP", ""), "127.0.0.1");
	assert_true(ck_str_has_prefix(ck_json_get_str(pod, "status.podIP", ""), "10.88.0."));
	int ready = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, ck_json_get(pod, "status.conditions"))
	{
		const char *t = ck_json_get_str(c, "type", "");
		if ((!strcmp(t, "Ready") || !strcmp(t, "ContainersReady") ||
		     !strcmp(t, "Initialized") || !strcmp(t, "PodScheduled")) &&
		    !strcmp(ck_json_get_str(c, "status", ""), "True"))
			ready++;
	}
	assert_int_equal(ready, 4);
	const char *uid = ck_json_get_str(pod, "metadata.uid", "");

	/* The log went where upstream puts it, with the env var from the fieldRef. */
	char *log = ck_asprintf("%s/default_web_%s/main/0.log", E->ctrd->log_dir, uid);
	char *argv[] = {"cat", log, NULL};
	char *out = NULL;
	assert_int_equal(harness_run(argv, &out, NULL), 0);
	assert_non_null(strstr(out, " stdout F started web\n"));
	free(out);
	free(log);

	/* ClusterFirst DNS from --cluster-dns / --cluster-domain. */
	const char *cat[] = {"cat", "/etc/resolv.conf", NULL};
	out = exec_ok(container_id(pod), cat);
	assert_non_null(strstr(out, "nameserver 10.96.0.10"));
	assert_non_null(
	    strstr(out, "search default.svc.cluster.local svc.cluster.local cluster.local"));
	assert_non_null(strstr(out, "options ndots:5"));
	free(out);

	/* Exactly one sandbox and one container in the runtime. */
	listed s = runtime_sandboxes("web");
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ready, 1);
	listed k = runtime_containers("web");
	assert_int_equal(k.n, 1);
	assert_int_equal(k.ready, 1);

	/* Events: Pulled (already present), Created, Started about the container. */
	assert_true(eventually_event(web_started, NULL, 10000, 100));
	cJSON_Delete(pod);
}

static void test_crashing_container_restarts(void **state)
{
	create_pod("crash", BUSYBOX_IMAGE, "Always", "echo run; sleep 0.3; exit 3");
	int one = 1;
	cJSON *pod = eventually_pod("crash", restarted, &one, 60000, "restarted");
	cJSON_Delete(pod);
	/* The second exit falls into the 10 s back-off: CrashLoopBackOff with the last
	 * termination kept. */
	pod = eventually_pod("crash", has_waiting, "CrashLoopBackOff", 30000, "CrashLoopBackOff");
	const cJSON *cs = cstatus(pod);
	assert_int_equal(ck_json_get_int(cs, "restartCount", 0), 1);
	assert_int_equal(ck_json_get_int(cs, "lastState.terminated.exitCode", 0), 3);
	assert_string_equal(ck_json_get_str(cs, "lastState.terminated.reason", ""), "Error");
	assert_false(ck_json_get_bool(cs, "ready", true));
	assert_string_equal(ck_json_get_str(pod, "status.phase", ""), "Running");
	cJSON_Delete(pod);
	/* After the back-off it runs again: restartCount 2. */
	int two = 2;
	pod = eventually_pod("crash", restarted, &two, 30000, "restarted twice");
	cJSON_Delete(pod);
}

static void test_completed_pod_succeeds(void **state)
{
	create_pod("job", BUSYBOX_IMAGE, "Never",
	           "echo done; printf bye-msg > /dev/termination-log");
	cJSON *pod = eventually_pod("job", has_phase, "Succeeded", 60000, "Succeeded");
	const cJSON *cs = cstatus(pod);
	assert_int_equal(ck_json_get_int(cs, "state.terminated.exitCode", -1), 0);
	assert_string_equal(ck_json_get_str(cs, "state.terminated.reason", ""), "Completed");
	assert_string_equal(ck_json_get_str(cs, "state.terminated.message", ""), "bye-msg");
	assert_int_equal(ck_json_get_int(cs, "restartCount", -1), 0);
	cJSON_Delete(pod);
	/* A failure with FallbackToLogsOnError: the log's tail is the message; Failed. */
	cJSON *res =
	    api("POST", "/api/v1/namespaces/default/pods",
	        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"failer\"},"
	        "\"spec\":{\"nodeName\":\"" NODE "\",\"restartPolicy\":\"Never\","
	        "\"containers\":[{\"name\":\"main\",\"image\":\"" BUSYBOX_IMAGE "\","
	        "\"terminationMessagePolicy\":\"FallbackToLogsOnError\","
	        "\"command\":[\"sh\",\"-c\",\"echo first; echo oops; exit 2\"]}]}}",
	        NULL);
	cJSON_Delete(res);
	pod = eventually_pod("failer", has_phase, "Failed", 60000, "Failed");
	cs = cstatus(pod);
	assert_int_equal(ck_json_get_int(cs, "state.terminated.exitCode", 0), 2);
	assert_string_equal(ck_json_get_str(cs, "state.terminated.reason", ""), "Error");
	assert_string_equal(ck_json_get_str(cs, "state.terminated.message", ""), "first\noops\n");
	cJSON_Delete(pod);
	/* Nothing runs any more for it. */
	double end = now_ms() + 10000;
	listed s;
	do {
		s = runtime_sandboxes("job");
	} while (s.ready && now_ms() < end && (pause_ms(100), true));
	assert_int_equal(s.ready, 0);
}

static void test_missing_image(void **state)
{
	create_pod("ghost", "127.0.0.1:1/ckube/missing:1", "Always", "true");
	cJSON *pod = eventually_pod("ghost", has_waiting, "ErrImagePull", 30000, "ErrImagePull");
	const cJSON *cs = cstatus(pod);
	assert_non_null(strstr(ck_json_get_str(cs, "state.waiting.message", ""), "127.0.0.1:1"));
	assert_string_equal(ck_json_get_str(pod, "status.phase", ""), "Pending");
	cJSON_Delete(pod);
	pod = eventually_pod("ghost", has_waiting, "ImagePullBackOff", 30000, "ImagePullBackOff");
	cJSON_Delete(pod);
	/* The kubelet went on serving the other pod. */
	pod = get_pod("web");
	assert_true(is_running(pod, NULL));
	cJSON_Delete(pod);
	/* And it still starts new pods. */
	create_pod("web2", BUSYBOX_IMAGE, "Always", SERVE_SCRIPT);
	pod = eventually_pod("web2", is_running, NULL, 30000, "Running");
	cJSON_Delete(pod);
}

static void test_delete_pod(void **state)
{
	double t0 = now_ms();
	cJSON *res = api("DELETE", "/api/v1/namespaces/default/pods/web2", NULL, NULL);
	cJSON_Delete(res);
	/* Graceful: the apiserver only marks it; the kubelet stops and confirms. */
	assert_gone("web2", 30000);
	printf("# pod gone %.0f ms after DELETE\n", now_ms() - t0);
	listed s = runtime_sandboxes("web2");
	listed k = runtime_containers("web2");
	assert_int_equal(s.n, 0);
	assert_int_equal(k.n, 0);
	/* Its log directory went with it. */
	char *argv[] = {"sh", "-c", NULL, NULL};
	argv[2] = ck_asprintf("ls -d %s/default_web2_* 2>/dev/null | wc -l", E->ctrd->log_dir);
	char *out = NULL;
	assert_int_equal(harness_run(argv, &out, NULL), 0);
	assert_string_equal(out, "0\n");
	free(out);
	free(argv[2]);
}

/* Requests and limits reach the container's cgroups. */
static void test_resources_applied(void **state)
{
	cJSON *res =
	    api("POST", "/api/v1/namespaces/default/pods",
	        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"limited\"},"
	        "\"spec\":{\"nodeName\":\"" NODE "\",\"terminationGracePeriodSeconds\":1,"
	        "\"containers\":[{\"name\":\"main\",\"image\":\"" BUSYBOX_IMAGE "\","
	        "\"command\":[\"sh\",\"-c\",\"" SERVE_SCRIPT "\"],"
	        "\"resources\":{\"requests\":{\"cpu\":\"250m\"},"
	        "\"limits\":{\"cpu\":\"500m\",\"memory\":\"64Mi\"}}}]}}",
	        NULL);
	cJSON_Delete(res);
	cJSON *pod = eventually_pod("limited", is_running, NULL, 30000, "Running");
	const char *cat[] = {"cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
	                     "/sys/fs/cgroup/cpu/cpu.shares", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
	                     NULL};
	char *out = exec_ok(container_id(pod), cat);
	assert_string_equal(out, "67108864\n256\n50000\n");
	free(out);
	cJSON_Delete(pod);
	res = api("DELETE", "/api/v1/namespaces/default/pods/limited", NULL, NULL);
	cJSON_Delete(res);
}

static bool vols_failed_mount(const cJSON *e, void *data)
{
	return !strcmp(ck_json_get_str(e, "involvedObject.name", ""), "vols") &&
	       !strcmp(ck_json_get_str(e, "reason", ""), "FailedMount") &&
	       strstr(ck_json_get_str(e, "message", ""), "configmap \"cfg\" not found");
}

/* configMap, secret, downwardAPI, emptyDir and hostPath volumes; a missing configMap
 * holds the pod in ContainerCreating until it exists. */
static void test_volumes(void **state)
{
	char *host = ck_asprintf("%s/hostdir", E->tmp);
	char *pod_json = ck_asprintf(
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"vols\","
	    "\"labels\":{\"tier\":\"db\"}},\"spec\":{\"nodeName\":\"" NODE "\","
	    "\"terminationGracePeriodSeconds\":1,\"volumes\":["
	    "{\"name\":\"c\",\"configMap\":{\"name\":\"cfg\"}},"
	    "{\"name\":\"s\",\"secret\":{\"secretName\":\"sec\",\"items\":[{\"key\":"
	    "\"password\",\"path\":\"db/pw\"}]}},"
	    "{\"name\":\"d\",\"downwardAPI\":{\"items\":[{\"path\":\"labels\",\"fieldRef\":"
	    "{\"fieldPath\":\"metadata.labels\"}}]}},"
	    "{\"name\":\"e\",\"emptyDir\":{}},"
	    "{\"name\":\"h\",\"hostPath\":{\"path\":\"%s\",\"type\":\"DirectoryOrCreate\"}}],"
	    "\"containers\":[{\"name\":\"main\",\"image\":\"" BUSYBOX_IMAGE "\","
	    "\"command\":[\"sh\",\"-c\",\"echo hi > /scratch/x; echo from-pod > "
	    "/host/f; " SERVE_SCRIPT "\"],"
	    "\"volumeMounts\":[{\"name\":\"c\",\"mountPath\":\"/etc/cfg\"},"
	    "{\"name\":\"s\",\"mountPath\":\"/etc/sec\",\"readOnly\":true},"
	    "{\"name\":\"d\",\"mountPath\":\"/etc/info\"},"
	    "{\"name\":\"e\",\"mountPath\":\"/scratch\"},"
	    "{\"name\":\"h\",\"mountPath\":\"/host\"}]}]}}",
	    host);
	cJSON *res =
	    api("POST", "/api/v1/namespaces/default/secrets",
	        "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"sec\"},"
	        "\"data\":{\"password\":\"czNjcmV0\"}}",
	        NULL);
	cJSON_Delete(res);
	res = api("POST", "/api/v1/namespaces/default/pods", pod_json, NULL);
	cJSON_Delete(res);
	/* No configMap yet: the pod waits, with a FailedMount event. */
	assert_true(eventually_event(vols_failed_mount, NULL, 15000, 100));
	cJSON *pod = get_pod("vols");
	assert_false(is_running(pod, NULL));
	cJSON_Delete(pod);
	res = api("POST", "/api/v1/namespaces/default/configmaps",
	          "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cfg\"},"
	          "\"data\":{\"greeting\":\"hello\"}}",
	          NULL);
	cJSON_Delete(res);
	pod = eventually_pod("vols", is_running, NULL, 30000, "Running with volumes");
	const char *cat[] = {"sh", "-c",
	                     "cat /etc/cfg/greeting; echo; cat /etc/sec/db/pw; echo; "
	                     "cat /etc/info/labels; cat /scratch/x; touch /etc/sec/no 2>/dev/null "
	                     "|| echo ro",
	                     NULL};
	char *out = exec_ok(container_id(pod), cat);
	assert_string_equal(out, "hello\ns3cret\ntier=\"db\"\nhi\nro\n");
	free(out);
	char *hf = ck_asprintf("%s/f", host);
	char *argv[] = {"cat", hf, NULL};
	out = NULL;
	assert_int_equal(harness_run(argv, &out, NULL), 0);
	assert_string_equal(out, "from-pod\n");
	free(out);
	free(hf);
	/* Deleting the pod removes its volume directories (not the hostPath). */
	char *vdir =
	    ck_asprintf("%s/kubelet/pods/%s", E->tmp, ck_json_get_str(pod, "metadata.uid", ""));
	assert_int_equal(access(vdir, F_OK), 0);
	cJSON_Delete(pod);
	res = api("DELETE", "/api/v1/namespaces/default/pods/vols", NULL, NULL);
	cJSON_Delete(res);
	assert_gone("vols", 20000);
	assert_int_equal(access(vdir, F_OK), -1);
	assert_int_equal(access(host, F_OK), 0);
	free(vdir);
	free(host);
	free(pod_json);
}

/* Environment from envFrom, configMapKeyRef, secretKeyRef, fieldRef (status.podIP too)
 * and $(VAR) expansion (the configMap cfg and secret sec of test_volumes); a missing
 * configMap gives CreateContainerConfigError. */
static void test_env_sources(void **state)
{
	cJSON *res = api("POST", "/api/v1/namespaces/default/pods",
	                 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"envs\","
	                 "\"labels\":{\"app\":\"shop\"}},\"spec\":{\"nodeName\":\"" NODE "\","
	                 "\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"main\","
	                 "\"image\":\"" BUSYBOX_IMAGE "\",\"envFrom\":[{\"prefix\":\"CFG_\","
	                 "\"configMapRef\":{\"name\":\"cfg\"}}],\"env\":["
	                 "{\"name\":\"PASS\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"sec\","
	                 "\"key\":\"password\"}}},"
	                 "{\"name\":\"APP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
	                 "\"metadata.labels['app']\"}}},"
	                 "{\"name\":\"IP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
	                 "\"status.podIP\"}}},"
	                 "{\"name\":\"COMBO\",\"value\":\"$(CFG_greeting)-world\"}],"
	                 "\"command\":[\"sh\",\"-c\",\"echo $(COMBO) $CFG_greeting $PASS $APP $IP; "
	                 "trap 'exit 0' TERM; while true; do sleep 0.1; done\"]}]}}",
	                 NULL);
	cJSON_Delete(res);
	cJSON *pod = eventually_pod("envs", is_running, NULL, 30000, "Running");
	/* status.podIP: the sandbox's IP, which the container's environment waited for. */
	const char *ip = ck_json_get_str(pod, "status.podIP", "");
	assert_true(ck_str_has_prefix(ip, "10.88.0."));
	_cleanup_free_ char *want = ck_asprintf("hello-world hello s3cret shop %s\n", ip);
	cJSON_Delete(pod);
	char *out = eventually_log("/containerLogs/default/envs/main", want);
	assert_string_equal(out, want);
	free(out);
	res = api("DELETE", "/api/v1/namespaces/default/pods/envs", NULL, NULL);
	cJSON_Delete(res);

	res = api("POST", "/api/v1/namespaces/default/pods",
	          "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"noenv\"},"
	          "\"spec\":{\"nodeName\":\"" NODE "\",\"terminationGracePeriodSeconds\":1,"
	          "\"containers\":[{\"name\":\"main\",\"image\":\"" BUSYBOX_IMAGE "\","
	          "\"env\":[{\"name\":\"X\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":"
	          "\"absent\",\"key\":\"k\"}}}],\"command\":[\"true\"]}]}}",
	          NULL);
	cJSON_Delete(res);
	pod = eventually_pod("noenv", has_waiting, "CreateContainerConfigError", 30000,
	                     "CreateContainerConfigError");
	assert_string_equal(ck_json_get_str(cstatus(pod), "state.waiting.message", ""),
	                    "configmap \"absent\" not found");
	cJSON_Delete(pod);
	res = api("DELETE", "/api/v1/namespaces/default/pods/noenv", NULL, NULL);
	cJSON_Delete(res);
}

/* The content of a file, or NULL when it cannot be read. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	ck_buf b = {0};
	ck_buf_puts(&b, "");
	char buf[256];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		ck_buf_append(&b, buf, n);
	fclose(f);
	return ck_buf_steal(&b);
}

/* Waits until path holds want (want NULL: until path is gone); fails with the logs. */
static void eventually_file(const char *path, const char *want, int timeout_ms)
{
	double end = now_ms() + timeout_ms;
	for (;;) {
		_cleanup_free_ char *got = read_file(path);
		if (want ? got && !strcmp(got, want) : !got && access(path, F_OK) < 0)
			return;
		if (now_ms() > end)
			break;
		pause_ms(100);
	}
	dump_logs();
	fail_msg("%s: not %s within %d ms", path, want ? want : "gone", timeout_ms);
}

/* An update of a configMap reaches the running pod's volume: a changed key is rewritten,
 * a removed key's file disappears, a new key appears (on the host and in the container). */
static void test_configmap_update(void **state)
{
	cJSON *res =
	    api("POST", "/api/v1/namespaces/default/configmaps",
	        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"live\"},"
	        "\"data\":{\"keep\":\"v1\",\"drop\":\"bye\"}}",
	        NULL);
	cJSON_Delete(res);
	res = api("POST", "/api/v1/namespaces/default/pods",
	          "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"live\"},"
	          "\"spec\":{\"nodeName\":\"" NODE "\",\"terminationGracePeriodSeconds\":1,"
	          "\"volumes\":[{\"name\":\"cfg\",\"configMap\":{\"name\":\"live\"}}],"
	          "\"containers\":[{\"name\":\"main\",\"image\":\"" BUSYBOX_IMAGE "\","
	          "\"command\":[\"sh\",\"-c\",\"" SERVE_SCRIPT "\"],"
	          "\"volumeMounts\":[{\"name\":\"cfg\",\"mountPath\":\"/etc/live\"}]}]}}",
	          NULL);
	cJSON_Delete(res);
	cJSON *pod = eventually_pod("live", is_running, NULL, 30000, "Running");
	_cleanup_free_ char *dir =
	    ck_asprintf("%s/kubelet/pods/%s/volumes/kubernetes.io~configmap/cfg", E->tmp,
	                ck_json_get_str(pod, "metadata.uid", ""));
	_cleanup_free_ char *keep = ck_asprintf("%s/keep", dir);
	_cleanup_free_ char *drop = ck_asprintf("%s/drop", dir);
	_cleanup_free_ char *added = ck_asprintf("%s/added", dir);
	eventually_file(keep, "v1", 1000);
	eventually_file(drop, "bye", 1000);

	res = api("PUT", "/api/v1/namespaces/default/configmaps/live",
	          "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"live\"},"
	          "\"data\":{\"keep\":\"v2\",\"added\":\"hi\"}}",
	          NULL);
	cJSON_Delete(res);
	eventually_file(drop, NULL, 15000);
	eventually_file(keep, "v2", 1000);
	eventually_file(added, "hi", 1000);
	/* The container sees the same set through its mount. */
	const char *ls[] = {"sh", "-c", "ls /etc/live; cat /etc/live/keep", NULL};
	char *out = exec_ok(container_id(pod), ls);
	assert_string_equal(out, "added\nkeep\nv2");
	free(out);
	cJSON_Delete(pod);
	res = api("DELETE", "/api/v1/namespaces/default/pods/live", NULL, NULL);
	cJSON_Delete(res);
	assert_gone("live", 20000);
	res = api("DELETE", "/api/v1/namespaces/default/configmaps/live", NULL, NULL);
	cJSON_Delete(res);
}

static bool is_ready(const cJSON *pod, void *data)
{
	const cJSON *cs = cstatus(pod);
	return cs && ck_json_get_bool(cs, "ready", false) == *(bool *)data &&
	       ck_json_get(cs, "state.running");
}

/* Probes: readiness by httpGet (to a server this test runs on 127.0.0.1), liveness by
 * exec; a failed liveness probe restarts the container. */
static void test_probes(void **state)
{
	char *www = ck_asprintf("%s/www", E->tmp);
	assert_int_equal(mkdir(www, 0755), 0);
	int port = free_port();
	char *addr = ck_asprintf("127.0.0.1:%d", port);
	char *hlog = ck_asprintf("%s/httpd.log", E->tmp);
	char *hargv[] = {"/bin/busybox", "httpd", "-f", "-p", addr, "-h", www, NULL};
	pid_t httpd = spawn(hargv, hlog);
	char *pod_json = ck_asprintf(
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"probed\"},"
	    "\"spec\":{\"nodeName\":\"" NODE "\",\"terminationGracePeriodSeconds\":2,"
	    "\"containers\":[{\"name\":\"main\",\"image\":\"" BUSYBOX_IMAGE "\","
	    "\"command\":[\"sh\",\"-c\",\"touch /tmp/alive; " SERVE_SCRIPT "\"],"
	    "\"readinessProbe\":{\"httpGet\":{\"host\":\"127.0.0.1\",\"port\":%d,"
	    "\"path\":\"/ok.html\"},\"periodSeconds\":1},"
	    "\"livenessProbe\":{\"exec\":{\"command\":[\"test\",\"-f\",\"/tmp/alive\"]},"
	    "\"periodSeconds\":1,\"failureThreshold\":1}}]}}",
	    port);
	cJSON *res = api("POST", "/api/v1/namespaces/default/pods", pod_json, NULL);
	cJSON_Delete(res);
	/* Running but not ready: the page is missing (404). */
	bool no = false, yes = true;
	cJSON *pod = eventually_pod("probed", is_ready, &no, 30000, "Running and unready");
	assert_string_equal(ck_json_get_str(pod, "status.phase", ""), "Running");
	cJSON_Delete(pod);
	pause_ms(1500);
	pod = get_pod("probed");
	assert_false(ck_json_get_bool(cstatus(pod), "ready", true));
	cJSON_Delete(pod);
	char *page = ck_asprintf("%s/ok.html", www);
	FILE *f = fopen(page, "we");
	assert_non_null(f);
	fputs("ok\n", f);
	fclose(f);
	pod = eventually_pod("probed", is_ready, &yes, 30000, "ready");
	const cJSON *c;
	cJSON_ArrayForEach(c, ck_json_get(pod, "status.conditions"))
	{
		if (!strcmp(ck_json_get_str(c, "type", ""), "Ready"))
			assert_string_equal(ck_json_get_str(c, "status", ""), "True");
	}
	/* Liveness: remove the file the probe tests; the container is killed and restarted. */
	const char *rm[] = {"rm", "/tmp/alive", NULL};
	free(exec_ok(container_id(pod), rm));
	cJSON_Delete(pod);
	int one = 1;
	pod = eventually_pod("probed", restarted, &one, 30000, "restarted by liveness");
	cJSON_Delete(pod);
	pod = eventually_pod("probed", is_ready, &yes, 30000, "ready again");
	cJSON_Delete(pod);
	res = api("DELETE", "/api/v1/namespaces/default/pods/probed", NULL, NULL);
	cJSON_Delete(res);
	harness_kill(&httpd, SIGKILL);
	free(page);
	free(pod_json);
	free(hlog);
	free(addr);
	free(www);
}

/* Init containers run to completion, in order, before the app containers. */
static void test_init_containers(void **state)
{
	cJSON *res =
	    api("POST", "/api/v1/namespaces/default/pods",
	        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"inits\"},"
	        "\"spec\":{\"nodeName\":\"" NODE "\",\"terminationGracePeriodSeconds\":1,"
	        "\"volumes\":[{\"name\":\"work\",\"emptyDir\":{}}],"
	        "\"initContainers\":["
	        "{\"name\":\"one\",\"image\":\"" BUSYBOX_IMAGE "\",\"command\":[\"sh\",\"-c\","
	        "\"sleep 0.3; echo one >> /work/order\"],\"volumeMounts\":[{\"name\":\"work\","
	        "\"mountPath\":\"/work\"}]},"
	        "{\"name\":\"two\",\"image\":\"" BUSYBOX_IMAGE "\",\"command\":[\"sh\",\"-c\","
	        "\"echo two >> /work/order\"],\"volumeMounts\":[{\"name\":\"work\","
	        "\"mountPath\":\"/work\"}]}],"
	        "\"containers\":[{\"name\":\"main\",\"image\":\"" BUSYBOX_IMAGE "\","
	        "\"command\":[\"sh\",\"-c\",\"cat /work/order; " SERVE_SCRIPT "\"],"
	        "\"volumeMounts\":[{\"name\":\"work\",\"mountPath\":\"/work\"}]}]}}",
	        NULL);
	cJSON_Delete(res);
	cJSON *pod = eventually_pod("inits", is_running, NULL, 30000, "Running after init");
	const cJSON *ics = ck_json_get(pod, "status.initContainerStatuses");
	assert_int_equal(cJSON_GetArraySize(ics), 2);
	for (int i = 0; i < 2; i++) {
		const cJSON *s = cJSON_GetArrayItem(ics, i);
		assert_string_equal(ck_json_get_str(s, "state.terminated.reason", ""), "Completed");
		assert_true(ck_json_get_bool(s, "ready", false));
	}
	cJSON_Delete(pod);
	char *out = eventually_log("/containerLogs/default/inits/main", "one\ntwo\nstarted");
	assert_true(!strncmp(out, "one\ntwo\nstarted", 15));
	free(out);
	res = api("DELETE", "/api/v1/namespaces/default/pods/inits", NULL, NULL);
	cJSON_Delete(res);
}

static void test_kubelet_api_logs(void **state)
{
	char *out = NULL;
	assert_int_equal(kubelet_get("/healthz", 5, &out), 0);
	assert_string_equal(out, "ok");
	free(out);
	assert_int_equal(kubelet_get("/pods", 5, &out), 0);
	cJSON *list = ck_json_parse(out, strlen(out), NULL);
	assert_non_null(list);
	assert_string_equal(ck_json_get_str(list, "kind", ""), "PodList");
	assert_true(cJSON_GetArraySize(ck_json_get(list, "items")) >= 2);
	cJSON_Delete(list);
	free(out);

	create_pod("ticker", BUSYBOX_IMAGE, "Always",
	           "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done");
	cJSON *pod = eventually_pod("ticker", is_running, NULL, 30000, "Running");
	cJSON_Delete(pod);
	assert_int_equal(kubelet_get("/containerLogs/default/web/main", 5, &out), 0);
	assert_string_equal(out, "started web\n");
	free(out);
	assert_int_equal(kubelet_get("/containerLogs/default/web/main?timestamps=true", 5, &out),
	                 0);
	assert_true(strlen(out) > 30 && out[4] == '-' && strstr(out, "Z started web\n"));
	free(out);
	pause_ms(600);
	assert_int_equal(kubelet_get("/containerLogs/default/ticker/main?tailLines=2", 5, &out), 0);
	int lines = 0;
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 2);
	assert_true(!strncmp(out, "tick ", 5));
	free(out);
	/* follow: lines written after the request arrive on the open stream. */
	int rc = kubelet_get("/containerLogs/default/ticker/main?follow=true&tailLines=1", 2, &out);
	assert_int_equal(rc, 28); /* curl's timeout: the stream stayed open */
	lines = 0;
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	assert_true(lines >= 5);
	free(out);
	/* previous: the crashing pod's earlier instance. */
	assert_int_equal(kubelet_get("/containerLogs/default/crash/main?previous=true", 5, &out),
	                 0);
	assert_string_equal(out, "run\n");
	free(out);
	/* The same through the apiserver's pods/log (kubectl logs), proxied to this kubelet. */
	char *url =
	    ck_asprintf("http://127.0.0.1:%d/api/v1/namespaces/default/pods/web/log", E->port);
	char *cargv[] = {"curl", "-sS", "--max-time", "5", url, NULL};
	assert_int_equal(harness_run(cargv, &out, NULL), 0);
	assert_string_equal(out, "started web\n");
	free(out);
	free(url);
	assert_int_equal(kubelet_get("/containerLogs/default/nope/main", 5, &out), 0);
	assert_non_null(strstr(out, "not found"));
	free(out);
}

/* A container that ignores SIGTERM is killed once the grace period is over. */
static void test_delete_honours_grace_period(void **state)
{
	create_pod_grace("stubborn", BUSYBOX_IMAGE, "Always",
	                 "trap '' TERM; echo up; while true; do sleep 0.1; done", 2);
	cJSON *pod = eventually_pod("stubborn", is_running, NULL, 30000, "Running");
	cJSON_Delete(pod);
	double t0 = now_ms();
	cJSON *res = api("DELETE", "/api/v1/namespaces/default/pods/stubborn", NULL, NULL);
	cJSON_Delete(res);
	/* Still there while the grace period runs: the container ignores TERM. */
	pause_ms(1000);
	listed k = runtime_containers("stubborn");
	assert_int_equal(k.ready, 1);
	assert_gone("stubborn", 30000);
	double took = now_ms() - t0;
	printf("# stubborn pod gone %.0f ms after DELETE (grace 2 s)\n", took);
	assert_true(took >= 1900);
	assert_true(took < 15000);
	assert_int_equal(runtime_sandboxes("stubborn").n, 0);
	assert_int_equal(runtime_containers("stubborn").n, 0);
}

/* The missing image's pull failures, counted at least *data times on the Event. */
static bool ghost_pull_failed(const cJSON *e, void *data)
{
	return !strcmp(ck_json_get_str(e, "involvedObject.name", ""), "ghost") &&
	       !strcmp(ck_json_get_str(e, "message", ""), "Error: ErrImagePull") &&
	       ck_json_get_int(e, "count", 0) >= *(int *)data;
}

/* Repeated events are counted on one Event: the missing image's pull failures. */
static void test_events_aggregated(void **state)
{
	int twice = 2, any = 0;
	assert_true(eventually_event(ghost_pull_failed, &twice, 40000, 200));
	assert_int_equal(count_events(ghost_pull_failed, &any), 1);
}

static void test_kubelet_restart_loses_nothing(void **state)
{
	cJSON *before = get_pod("web");
	assert_non_null(before);
	_cleanup_free_ char *cid = ck_strdup(ck_json_get_str(cstatus(before), "containerID", "x"));
	cJSON_Delete(before);

	harness_kill(&E->kubelet, SIGKILL);
	/* While it is away: a new pod is bound, and a pod is removed from the API without
	 * the kubelet's confirmation (force delete). */
	create_pod("late", BUSYBOX_IMAGE, "Always", SERVE_SCRIPT);
	cJSON *res =
	    api("DELETE", "/api/v1/namespaces/default/pods/job?gracePeriodSeconds=0", NULL, NULL);
	cJSON_Delete(res);
	assert_gone("job", 5000);
	start_kubelet();

	cJSON *pod = eventually_pod("late", is_running, NULL, 60000, "Running after restart");
	cJSON_Delete(pod);
	/* The running pod was adopted: same container, one sandbox, no restart. */
	pod = get_pod("web");
	assert_true(is_running(pod, NULL));
	assert_string_equal(ck_json_get_str(cstatus(pod), "containerID", ""), cid);
	assert_int_equal(ck_json_get_int(cstatus(pod), "restartCount", -1), 0);
	cJSON_Delete(pod);
	listed s = runtime_sandboxes("web");
	assert_int_equal(s.n, 1);
	listed k = runtime_containers("web");
	assert_int_equal(k.n, 1);
	/* The orphan's sandbox and containers are removed. */
	double end = now_ms() + 20000;
	do {
		s = runtime_sandboxes("job");
	} while (s.n && now_ms() < end && (pause_ms(100), true));
	assert_int_equal(s.n, 0);
	assert_int_equal(runtime_containers("job").n, 0);
}

/* A deleted Node object is registered again by the running kubelet. */
static void test_node_reregisters(void **state)
{
	cJSON *node = api("GET", "/api/v1/nodes/" NODE, NULL, NULL);
	_cleanup_free_ char *uid = ck_strdup(ck_json_get_str(node, "metadata.uid", ""));
	cJSON_Delete(node);
	cJSON *res = api("DELETE", "/api/v1/nodes/" NODE, NULL, NULL);
	cJSON_Delete(res);
	double end = now_ms() + 20000;
	int rc = -1;
	while (now_ms() < end) {
		node = api("GET", "/api/v1/nodes/" NODE, NULL, &rc);
		bool again = rc == 0 && strcmp(ck_json_get_str(node, "metadata.uid", ""), uid) &&
		             ck_json_get(node, "status.nodeInfo");
		cJSON_Delete(node);
		if (again)
			return;
		pause_ms(100);
	}
	dump_logs();
	fail_msg("node not registered again");
}

/* SIGTERM: the kubelet shuts down cleanly and leaves the pods running. */
static void test_sigterm_keeps_pods(void **state)
{
	/* A pod sync blocked in a 30 s StopContainer must not hold the exit up. */
	create_pod_grace("slowstop", BUSYBOX_IMAGE, "Always",
	                 "trap '' TERM; while true; do sleep 0.1; done", 30);
	cJSON *pod = eventually_pod("slowstop", is_running, NULL, 30000, "Running");
	cJSON_Delete(pod);
	cJSON *res = api("DELETE", "/api/v1/namespaces/default/pods/slowstop", NULL, NULL);
	cJSON_Delete(res);
	pause_ms(1000);
	assert_int_equal(kill(E->kubelet, SIGTERM), 0);
	int st;
	if (harness_wait(&E->kubelet, 10000, &st) < 0) {
		dump_logs();
		fail_msg("kubelet did not exit within 10 s of SIGTERM");
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	listed k = runtime_containers("web");
	assert_int_equal(k.ready, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_node_registers),
	    cmocka_unit_test(test_pod_runs),
	    cmocka_unit_test(test_crashing_container_restarts),
	    cmocka_unit_test(test_completed_pod_succeeds),
	    cmocka_unit_test(test_missing_image),
	    cmocka_unit_test(test_delete_pod),
	    cmocka_unit_test(test_delete_honours_grace_period),
	    cmocka_unit_test(test_kubelet_api_logs),
	    cmocka_unit_test(test_resources_applied),
	    cmocka_unit_test(test_volumes),
	    cmocka_unit_test(test_init_containers),
	    cmocka_unit_test(test_env_sources),
	    cmocka_unit_test(test_configmap_update),
	    cmocka_unit_test(test_probes),
	    cmocka_unit_test(test_events_aggregated),
	    cmocka_unit_test(test_kubelet_restart_loses_nothing),
	    cmocka_unit_test(test_node_reregisters),
	    cmocka_unit_test(test_sigterm_keeps_pods),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
