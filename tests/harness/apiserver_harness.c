/* apiserver_harness: spawns the built kube-apiserver for tests (see the header). */
#include "apiserver_harness.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/strbuf.h"
#include "net/http_client.h"
#include "proc_harness.h"

#define READY_TIMEOUT_MS  30000
#define PROBE_INTERVAL_MS 50
#define LOG_TAIL          1536

struct apiserver_harness {
	char **argv; /* NULL-terminated, owned */
	char *log_path;
	char *url;
	int port;
	pid_t pid;
};

/* GET /readyz until it answers 200: the apiserver has no other readiness notification. */
static int wait_ready(apiserver_harness *h, ck_err **err)
{
	httpc_opts o = {.base_url = h->url, .timeout_ms = 2000, .max_retries = -1};
	httpc_sync *http = NULL;
	int rc = httpc_sync_new(&o, &http, err);
	if (rc < 0)
		return rc;
	rc = -ETIMEDOUT;
	for (int waited = 0; waited < READY_TIMEOUT_MS; waited += PROBE_INTERVAL_MS) {
		httpc_response r = {0};
		bool ready =
		    httpc_sync_do(http, &(httpc_request){.path = "/readyz"}, &r, NULL) == 0 &&
		    r.status == 200;
		httpc_response_clear(&r);
		if (ready) {
			rc = 0;
			break;
		}
		/* The pause between probes, cut short when the process exits. */
		if (harness_wait(&h->pid, PROBE_INTERVAL_MS, NULL) == 0) {
			rc = -ECHILD;
			break;
		}
	}
	httpc_sync_free(http);
	if (rc < 0) {
		_cleanup_free_ char *tail = harness_log_tail(h->log_path, LOG_TAIL);
		ck_err_set(err, rc, "kube-apiserver %s (log %s):\n%s",
		           rc == -ECHILD ? "exited" : "not ready after 30 s", h->log_path, tail);
	}
	return rc;
}

int apiserver_harness_start(const apiserver_harness_opts *opts, apiserver_harness **out,
                            ck_err **err)
{
	int port = harness_free_port(err);
	if (port < 0)
		return port;
	apiserver_harness *h = ck_calloc(1, sizeof(*h));
	h->pid = -1;
	h->port = port;
	h->url = ck_asprintf("http://127.0.0.1:%d", port);
	h->log_path = ck_strdup(opts->log_path ? opts->log_path : "/dev/null");
	ck_strv_push(&h->argv, ck_asprintf("%s/kube-apiserver", CKUBE_BINARY_DIR));
	ck_strv_push(&h->argv, ck_asprintf("--etcd-servers=%s", opts->etcd_servers));
	ck_strv_add(&h->argv, "--secure-port=0");
	ck_strv_push(&h->argv, ck_asprintf("--insecure-port=%d", port));
	for (size_t i = 0; opts->args && opts->args[i]; i++)
		ck_strv_add(&h->argv, opts->args[i]);
	int rc = harness_spawn(h->argv, h->log_path, &h->pid, err);
	if (rc == 0)
		rc = wait_ready(h, err);
	if (rc < 0) {
		apiserver_harness_stop(h);
		return rc;
	}
	*out = h;
	return 0;
}

const char *apiserver_harness_url(const apiserver_harness *h)
{
	return h->url;
}

int apiserver_harness_port(const apiserver_harness *h)
{
	return h->port;
}

pid_t apiserver_harness_pid(const apiserver_harness *h)
{
	return h->pid;
}

int apiserver_harness_kill(apiserver_harness *h)
{
	return harness_kill(&h->pid, SIGKILL);
}

int apiserver_harness_restart(apiserver_harness *h, ck_err **err)
{
	apiserver_harness_kill(h);
	int rc = harness_spawn(h->argv, h->log_path, &h->pid, err);
	return rc < 0 ? rc : wait_ready(h, err);
}

void apiserver_harness_stop(apiserver_harness *h)
{
	if (!h)
		return;
	apiserver_harness_kill(h);
	ck_strv_free(h->argv);
	free(h->log_path);
	free(h->url);
	free(h);
}
