/* The CRI client (lib/net/cri) against a real containerd from the harness: version,
 * status, a sandbox and a container through their whole life (async on a libuv loop),
 * exit codes, exec, logs, lists with label filters, image status and pull failures
 * (blocking mode). Prints the CRI timings it measured. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "containerd_harness.h"
#include "net/cri.h"
#include "net/grpc.h"
#include "proc_harness.h"

extern char **environ;

#define PAUSE_IMAGE   "registry.k8s.io/pause:3.9"
#define BUSYBOX_IMAGE "docker.io/library/busybox:ckube"

typedef struct env {
	ch_containerd *ctrd;
	uv_loop_t loop;
	ckgrpc_loop *gl;
	cri_client *async, *sync;
	char *tmp;
} env;

/* Runs the loop until the awaited callback ran. */
static void wait_for(env *e, const cri_result *a)
{
	while (!a->done)
		uv_run(&e->loop, UV_RUN_ONCE);
}

#define assert_ok(a)                                                                               \
	do {                                                                                       \
		if ((a)->rc != 0)                                                                  \
			fail_msg("rc %d: %s", (a)->rc, (a)->msg ? (a)->msg : "");                  \
	} while (0)

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

#define TIMED(label, expr)                                                                         \
	do {                                                                                       \
		double t0_ = now_ms();                                                             \
		expr;                                                                              \
		printf("# CRI %-18s %7.1f ms\n", label, now_ms() - t0_);                           \
	} while (0)

static int setup(void **state)
{
	env *e = ck_calloc(1, sizeof(*e));
	ck_err *err = NULL;
	e->tmp = ch_mkdtemp("ckube-test-cri.");
	assert_non_null(e->tmp);
	char *pause = ck_asprintf("%s/pause.tar", e->tmp);
	char *bb = ck_asprintf("%s/busybox.tar", e->tmp);
	if (ch_image_build_pause(pause, PAUSE_IMAGE, NULL, &err) < 0 ||
	    ch_image_build_busybox(bb, BUSYBOX_IMAGE, "[\"sh\"]", &err) < 0 ||
	    ch_containerd_start(NULL, &e->ctrd, &err) < 0 ||
	    ch_containerd_import(e->ctrd, pause, &err) < 0 ||
	    ch_containerd_import(e->ctrd, bb, &err) < 0)
		fail_msg("setup: %s", err->msg);
	free(pause);
	free(bb);
	assert_int_equal(uv_loop_init(&e->loop), 0);
	assert_int_equal(ckgrpc_loop_new(&e->loop, &e->gl, &err), 0);
	cri_client_opts o = {.endpoint = e->ctrd->endpoint, .timeout_ms = 30000};
	assert_int_equal(cri_client_new(e->gl, &o, &e->async, &err), 0);
	o.endpoint = e->ctrd->socket; /* a bare path works too */
	assert_int_equal(cri_client_new(NULL, &o, &e->sync, &err), 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	env *e = *state;
	cri_client_free(e->async);
	cri_client_free(e->sync);
	ckgrpc_loop_free(e->gl);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	uv_loop_close(&e->loop);
	ch_containerd_stop(e->ctrd);
	ch_rm_rf(e->tmp);
	free(e->tmp);
	free(e);
	return 0;
}

static void test_version_and_status(void **state)
{
	env *e = *state;
	cri_result a = {0};
	TIMED("Version", cri_version_get(e->sync, cri_result_on_version, &a));
	assert_true(a.done);
	assert_ok(&a);
	assert_string_equal(a.version.runtime_name, "containerd");
	assert_string_equal(a.version.runtime_api_version, "v1");
	cri_result_clear(&a);

	/* The CNI config is loaded asynchronously by containerd: ask until both ready. */
	for (int i = 0; i < 100; i++) {
		cri_result_clear(&a);
		cri_status(e->async, cri_result_on_status, &a);
		assert_false(a.done); /* async: never called back from inside the call */
		wait_for(e, &a);
		assert_ok(&a);
		if (a.status.runtime_ready && a.status.network_ready)
			break;
	}
	assert_true(a.status.runtime_ready && a.status.network_ready);
	cri_result_clear(&a);
}

static cri_sandbox_config sandbox_cfg(env *e, const char *name, const char *uid,
                                      const char *const *labels)
{
	static char *logdir;
	free(logdir);
	logdir = ck_asprintf("%s/%s", e->ctrd->log_dir, uid);
	cri_sandbox_config c = {
	    .name = name,
	    .uid = uid,
	    .namespace = "default",
	    .hostname = name,
	    .log_directory = logdir,
	    .cgroup_parent = e->ctrd->cgroup_parent,
	    .labels = labels,
	};
	return c;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = ck_calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void test_sandbox_and_container_lifecycle(void **state)
{
	env *e = *state;
	cri_result a = {0};
	const char *labels[] = {"ckube.test/suite", "cri", "io.kubernetes.pod.uid", "uid-1", NULL};
	cri_sandbox_config sc = sandbox_cfg(e, "lifecycle", "uid-1", labels);

	cri_run_sandbox(e->async, &sc, cri_result_on_id, &a);
	TIMED("RunPodSandbox", wait_for(e, &a));
	assert_ok(&a);
	char *sid = CK_TAKE_PTR(a.id);
	assert_true(strlen(sid) == 64);
	cri_result_clear(&a);

	cri_sandbox_status(e->async, sid, cri_result_on_sandbox, &a);
	TIMED("PodSandboxStatus", wait_for(e, &a));
	assert_ok(&a);
	assert_string_equal(a.sandbox->id, sid);
	assert_int_equal(a.sandbox->state, CRI_SANDBOX_READY);
	assert_string_equal(a.sandbox->name, "lifecycle");
	assert_string_equal(a.sandbox->uid, "uid-1");
	assert_string_equal(a.sandbox->namespace, "default");
	assert_string_equal(cri_kv_get(a.sandbox->labels, "ckube.test/suite"), "cri");
	assert_true(a.sandbox->created_at > 0);
	/* The bridge network inside the harness's namespace gave it an address. */
	assert_non_null(a.sandbox->ip);
	assert_true(strncmp(a.sandbox->ip, "10.88.0.", 8) == 0);
	cri_result_clear(&a);

	/* Label filters: ours matches, another does not. */
	const char *sel[] = {"ckube.test/suite", "cri", NULL};
	cri_list_sandboxes(e->async, sel, true, cri_result_on_sandboxes, &a);
	TIMED("ListPodSandbox", wait_for(e, &a));
	assert_ok(&a);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.sandboxes[0].id, sid);
	cri_result_clear(&a);
	const char *other[] = {"ckube.test/suite", "nope", NULL};
	cri_list_sandboxes(e->async, other, false, cri_result_on_sandboxes, &a);
	wait_for(e, &a);
	assert_int_equal(a.n, 0);
	cri_result_clear(&a);

	/* A container that logs, then waits for TERM and exits 0 on it. */
	const char *cmd[] = {"sh", "-c",
	                     "echo hello-$GREETING; trap 'echo bye; exit 0' TERM; "
	                     "while true; do sleep 0.1; done",
	                     NULL};
	const char *envs[] = {"GREETING", "world", NULL};
	const char *clabels[] = {"io.kubernetes.container.name", "main", NULL};
	cri_container_config cc = {
	    .name = "main",
	    .image = BUSYBOX_IMAGE,
	    .command = cmd,
	    .envs = envs,
	    .labels = clabels,
	    .log_path = "main/0.log",
	    .run_as_user = -1,
	};
	cri_create_container(e->async, sid, &cc, &sc, cri_result_on_id, &a);
	TIMED("CreateContainer", wait_for(e, &a));
	assert_ok(&a);
	char *cid = CK_TAKE_PTR(a.id);
	cri_result_clear(&a);

	cri_container_status(e->async, cid, cri_result_on_container, &a);
	wait_for(e, &a);
	assert_int_equal(a.container->state, CRI_CONTAINER_CREATED);
	cri_result_clear(&a);

	cri_start_container(e->async, cid, cri_result_on_done, &a);
	TIMED("StartContainer", wait_for(e, &a));
	assert_ok(&a);
	cri_result_clear(&a);

	cri_container_status(e->async, cid, cri_result_on_container, &a);
	TIMED("ContainerStatus", wait_for(e, &a));
	assert_ok(&a);
	assert_int_equal(a.container->state, CRI_CONTAINER_RUNNING);
	assert_string_equal(a.container->name, "main");
	assert_true(a.container->started_at > 0);
	assert_true(strncmp(a.container->image_ref, "sha256:", 7) == 0);
	assert_string_equal(cri_kv_get(a.container->labels, "io.kubernetes.container.name"),
	                    "main");
	cri_result_clear(&a);

	cri_list_containers(e->async, sid, NULL, cri_result_on_containers, &a);
	TIMED("ListContainers", wait_for(e, &a));
	assert_int_equal(a.n, 1);
	assert_string_equal(a.containers[0].id, cid);
	assert_string_equal(a.containers[0].sandbox_id, sid);
	assert_int_equal(a.containers[0].state, CRI_CONTAINER_RUNNING);
	cri_result_clear(&a);

	const char *ecmd[] = {"sh", "-c", "echo $GREETING; exit 7", NULL};
	cri_exec_sync(e->async, cid, ecmd, 10, cri_result_on_exec, &a);
	TIMED("ExecSync", wait_for(e, &a));
	assert_ok(&a);
	assert_int_equal(a.exec.exit_code, 7);
	assert_string_equal(a.exec.out, "world\n");
	cri_result_clear(&a);

	cri_stop_container(e->async, cid, 10, cri_result_on_done, &a);
	TIMED("StopContainer", wait_for(e, &a));
	assert_ok(&a);
	cri_result_clear(&a);

	cri_container_status(e->async, cid, cri_result_on_container, &a);
	wait_for(e, &a);
	assert_int_equal(a.container->state, CRI_CONTAINER_EXITED);
	assert_int_equal(a.container->exit_code, 0); /* the trap ran: not killed */
	assert_true(a.container->finished_at >= a.container->started_at);
	assert_string_equal(a.container->reason, "Completed");
	cri_result_clear(&a);

	/* The log, in CRI format, where the sandbox's log_directory + log_path say. */
	char *logpath = ck_asprintf("%s/main/0.log", sc.log_directory);
	char *log = read_file(logpath);
	assert_non_null(log);
	assert_non_null(strstr(log, " stdout F hello-world\n"));
	assert_non_null(strstr(log, " stdout F bye\n"));
	free(log);
	free(logpath);

	cri_remove_container(e->async, cid, cri_result_on_done, &a);
	TIMED("RemoveContainer", wait_for(e, &a));
	assert_ok(&a);
	cri_result_clear(&a);
	cri_container_status(e->async, cid, cri_result_on_container, &a);
	wait_for(e, &a);
	assert_int_equal(a.rc, -ENOENT);
	assert_non_null(a.msg);
	cri_result_clear(&a);

	cri_stop_sandbox(e->async, sid, cri_result_on_done, &a);
	TIMED("StopPodSandbox", wait_for(e, &a));
	assert_ok(&a);
	cri_result_clear(&a);
	cri_sandbox_status(e->async, sid, cri_result_on_sandbox, &a);
	wait_for(e, &a);
	assert_int_equal(a.sandbox->state, CRI_SANDBOX_NOTREADY);
	cri_result_clear(&a);
	cri_remove_sandbox(e->async, sid, cri_result_on_done, &a);
	TIMED("RemovePodSandbox", wait_for(e, &a));
	assert_ok(&a);
	cri_result_clear(&a);
	cri_list_sandboxes(e->async, sel, false, cri_result_on_sandboxes, &a);
	wait_for(e, &a);
	assert_int_equal(a.n, 0);
	cri_result_clear(&a);
	free(sid);
	free(cid);
}

static void on_tick(uv_timer_t *t)
{
	*(bool *)t->data = true;
}

/* A container that exits by itself shows EXITED with its exit code (blocking client). */
static void test_container_exit_code(void **state)
{
	env *e = *state;
	cri_result a = {0};
	const char *labels[] = {"ckube.test/suite", "exit", NULL};
	cri_sandbox_config sc = sandbox_cfg(e, "exiter", "uid-2", labels);
	cri_run_sandbox(e->sync, &sc, cri_result_on_id, &a);
	assert_true(a.done);
	assert_ok(&a);
	char *sid = CK_TAKE_PTR(a.id);
	cri_result_clear(&a);
	const char *cmd[] = {"sh", "-c", "echo failing >&2; exit 3", NULL};
	cri_container_config cc = {.name = "c",
	                           .image = BUSYBOX_IMAGE,
	                           .command = cmd,
	                           .log_path = "c/0.log",
	                           .run_as_user = -1};
	cri_create_container(e->sync, sid, &cc, &sc, cri_result_on_id, &a);
	assert_ok(&a);
	char *cid = CK_TAKE_PTR(a.id);
	cri_result_clear(&a);
	cri_start_container(e->sync, cid, cri_result_on_done, &a);
	assert_ok(&a);
	cri_result_clear(&a);

	/* Wait for the exit as the kubelet's relist does: ask every 50 ms (bounded). */
	uv_timer_t t;
	uv_timer_init(&e->loop, &t);
	int state_seen = -1;
	for (int i = 0; i < 200; i++) {
		cri_container_status(e->sync, cid, cri_result_on_container, &a);
		assert_ok(&a);
		state_seen = a.container->state;
		if (state_seen == CRI_CONTAINER_EXITED)
			break;
		cri_result_clear(&a);
		bool fired = false;
		t.data = &fired;
		uv_timer_start(&t, on_tick, 50, 0);
		while (!fired)
			uv_run(&e->loop, UV_RUN_ONCE);
	}
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&e->loop, UV_RUN_NOWAIT);
	assert_int_equal(state_seen, CRI_CONTAINER_EXITED);
	assert_int_equal(a.container->exit_code, 3);
	assert_string_equal(a.container->reason, "Error");
	assert_true(a.container->finished_at > 0);
	cri_result_clear(&a);

	/* Removing the sandbox removes its containers too. */
	cri_stop_sandbox(e->sync, sid, cri_result_on_done, &a);
	assert_ok(&a);
	cri_result_clear(&a);
	cri_remove_sandbox(e->sync, sid, cri_result_on_done, &a);
	assert_ok(&a);
	cri_result_clear(&a);
	cri_container_status(e->sync, cid, cri_result_on_container, &a);
	assert_int_equal(a.rc, -ENOENT);
	cri_result_clear(&a);
	free(sid);
	free(cid);
}

static void test_images_and_pull_failure(void **state)
{
	env *e = *state;
	cri_result a = {0};
	TIMED("ImageStatus", cri_image_status(e->sync, BUSYBOX_IMAGE, cri_result_on_image, &a));
	assert_ok(&a);
	assert_non_null(a.image);
	assert_true(strncmp(a.image->id, "sha256:", 7) == 0);
	assert_string_equal(a.image->repo_tags[0], BUSYBOX_IMAGE);
	assert_true(a.image->size > 100000);
	cri_result_clear(&a);

	cri_image_status(e->sync, "docker.io/library/absent:1", cri_result_on_image, &a);
	assert_ok(&a);
	assert_null(a.image);
	cri_result_clear(&a);

	/* A present image: PullImage resolves it... only through a registry. Pulling from
	 * a port where nothing listens fails at once, with the runtime's message. */
	cri_pull_image(e->async, "127.0.0.1:1/ckube/absent:1", NULL, cri_result_on_id, &a);
	TIMED("PullImage(fail)", wait_for(e, &a));
	assert_true(a.rc < 0);
	assert_non_null(a.msg);
	assert_non_null(strstr(a.msg, "127.0.0.1:1"));
	cri_result_clear(&a);

	cri_list_images(e->sync, cri_result_on_images, &a);
	assert_ok(&a);
	assert_true(a.n >= 2); /* pause and busybox */
	bool found = false;
	for (size_t i = 0; i < a.n; i++)
		for (size_t j = 0; a.images[i].repo_tags[j]; j++)
			found = found || !strcmp(a.images[i].repo_tags[j], PAUSE_IMAGE);
	assert_true(found);
	cri_result_clear(&a);
}

/* Bad arguments fail through the callback, never from inside the call (async). */
static void test_bad_arguments(void **state)
{
	env *e = *state;
	cri_result a = {0};
	cri_start_container(e->async, "", cri_result_on_done, &a);
	assert_false(a.done);
	wait_for(e, &a);
	assert_int_equal(a.rc, -EINVAL);
	cri_result_clear(&a);
	cri_start_container(e->async, "0123456789abcdef", cri_result_on_done, &a);
	wait_for(e, &a);
	assert_int_equal(a.rc, -ENOENT);
	cri_result_clear(&a);
	cri_sandbox_config bad = {.name = "x"};
	cri_run_sandbox(e->sync, &bad, cri_result_on_id, &a);
	assert_true(a.done);
	assert_int_equal(a.rc, -EINVAL);
	cri_result_clear(&a);
}

/* The process test_harness_reaps_killed_instances kills: a fresh process (this binary
 * run with --reap-child), as gRPC must not be used across fork. Starts an instance, runs a
 * sandbox (a shim), reports the instance's directory and cgroup on stdout and waits. */
static int reap_child(const char *tmp)
{
	ck_err *err = NULL;
	ch_containerd *c = NULL;
	char *tar = ck_asprintf("%s/pause.tar", tmp);
	if (ch_containerd_start(NULL, &c, &err) < 0 || ch_containerd_import(c, tar, &err) < 0)
		return 3;
	cri_client *cli = NULL;
	cri_client_opts o = {.endpoint = c->endpoint, .timeout_ms = 30000};
	if (cri_client_new(NULL, &o, &cli, &err) < 0)
		return 4;
	char *logdir = ck_asprintf("%s/x", c->log_dir);
	cri_sandbox_config sc = {.name = "orphan",
	                         .uid = "uid-9",
	                         .namespace = "default",
	                         .log_directory = logdir,
	                         .cgroup_parent = c->cgroup_parent};
	cri_result a = {0};
	/* The CNI config loads asynchronously: try until it is there (bounded). */
	for (int i = 0; i < 50 && !a.id; i++) {
		cri_result_clear(&a);
		cri_run_sandbox(cli, &sc, cri_result_on_id, &a);
		if (!a.id) {
			struct timespec ts = {0, 100 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	if (!a.id)
		return 5;
	printf("%s\n%s\n", c->dir, c->cgroup_parent);
	fflush(stdout);
	for (;;)
		pause();
}

/* A test process killed outright leaves its instance behind; the next harness start (here:
 * ch_reap_stale) removes its shims, containers, cgroup and directory. */
static void test_harness_reaps_killed_instances(void **state)
{
	env *e = *state;
	int pfd[2];
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	char *argv0[] = {"/proc/self/exe", "--reap-child", e->tmp, NULL};
	pid_t child;
	assert_int_equal(posix_spawn(&child, "/proc/self/exe", &fa, NULL, argv0, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	char buf[600] = "";
	size_t got = 0;
	while (got < sizeof(buf) - 1) {
		ssize_t n = read(pfd[0], buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = 0;
		char *first = strchr(buf, '\n');
		if (first && strchr(first + 1, '\n'))
			break;
	}
	close(pfd[0]);
	char *nl = strchr(buf, '\n');
	if (!nl) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		fail_msg("child reported nothing");
	}
	*nl = 0;
	char *cg = nl + 1;
	cg[strcspn(cg, "\n")] = 0;
	assert_int_equal(kill(child, SIGKILL), 0);
	int st;
	assert_int_equal(waitpid(child, &st, 0), child);
	/* The sandbox's shim outlived its test process. */
	char *pg =
	    ck_asprintf("pgrep -f 'containerd-shi[m].*-address %s/containerd.sock' | wc -l", buf);
	char *argv[] = {"sh", "-c", pg, NULL};
	char *out = NULL;
	assert_int_equal(harness_run(argv, &out, NULL), 0);
	assert_string_not_equal(out, "0\n");
	free(out);
	ch_reap_stale();
	assert_int_equal(harness_run(argv, &out, NULL), 0);
	assert_string_equal(out, "0\n");
	free(out);
	assert_int_equal(access(buf, F_OK), -1);
	char *cgdir = ck_asprintf("/sys/fs/cgroup/memory%s", cg);
	assert_int_equal(access(cgdir, F_OK), -1);
	free(cgdir);
	free(pg);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--reap-child"))
		return reap_child(argv[2]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_version_and_status),
	    cmocka_unit_test(test_sandbox_and_container_lifecycle),
	    cmocka_unit_test(test_container_exit_code),
	    cmocka_unit_test(test_images_and_pull_failure),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_harness_reaps_killed_instances),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
