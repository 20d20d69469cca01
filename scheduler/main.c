/* kube-scheduler: flags and wiring. The scheduling loop is scheduler.c; each filter has
 * its own file. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/client.h"
#include "api/kubeconfig.h"
#include "base/flags.h"
#include "base/log.h"
#include "scheduler.h"

static char *opt_kubeconfig, *opt_master, *opt_authn_kubeconfig, *opt_authz_kubeconfig;
static char *opt_bind_address, *opt_config;
static bool opt_leader_elect = true;
static int opt_secure_port = 10259;

static const ck_flag FLAGS[] = {
    {"kubeconfig", 0, CK_FLAG_STRING, &opt_kubeconfig,
     "Path to a kubeconfig file with authorization and master location information."},
    {"master", 0, CK_FLAG_STRING, &opt_master,
     "The address of the Kubernetes API server (overrides any value in kubeconfig)."},
    {"leader-elect", 0, CK_FLAG_BOOL, &opt_leader_elect,
     "Accepted for compatibility; this scheduler runs as the only instance."},
    {"authentication-kubeconfig", 0, CK_FLAG_STRING, &opt_authn_kubeconfig,
     "Accepted for compatibility (kubeadm passes it)."},
    {"authorization-kubeconfig", 0, CK_FLAG_STRING, &opt_authz_kubeconfig,
     "Accepted for compatibility (kubeadm passes it)."},
    {"bind-address", 0, CK_FLAG_STRING, &opt_bind_address, "Accepted for compatibility."},
    {"secure-port", 0, CK_FLAG_INT, &opt_secure_port, "Accepted for compatibility."},
    {"config", 0, CK_FLAG_STRING, &opt_config, "Accepted for compatibility; ignored."},
    {0},
};

static void on_signal(uv_signal_t *h, int signum)
{
	CK_INFO("received signal %d, stopping", signum);
	uv_stop(h->loop);
}

int main(int argc, char **argv)
{
	ck_flags fs = {.program = "kube-scheduler",
	               .summary = "The Kubernetes scheduler assigns pending pods to nodes.",
	               .flags = FLAGS};
	ck_flags_parse_or_exit(&fs, argc, argv);

	_cleanup_err_ ck_err *err = NULL;
	_cleanup_kubeconfig_ kubeconfig *kc = NULL;
	kubeconfig_overrides ov = {.kubeconfig = opt_kubeconfig, .server = opt_master};
	if (kubeconfig_resolve(&ov, &kc, &err) < 0) {
		fprintf(stderr, "kube-scheduler: %s\n", err->msg);
		return 1;
	}
	uv_loop_t *loop = uv_default_loop();
	kc_client *client = NULL;
	scheduler *s = NULL;
	if (kc_client_new(loop, kc, &client, &err) < 0 ||
	    scheduler_new(client, NULL, &s, &err) < 0) {
		fprintf(stderr, "kube-scheduler: %s\n", err ? err->msg : "cannot start");
		return 1;
	}
	scheduler_start(s);

	uv_signal_t sigterm, sigint;
	uv_signal_init(loop, &sigterm);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_start(&sigint, on_signal, SIGINT);
	CK_INFO("kube-scheduler %s started against %s", CKUBE_VERSION, kc->server);
	uv_run(loop, UV_RUN_DEFAULT);

	scheduler_free(s);
	kc_client_free(client);
	uv_close((uv_handle_t *)&sigterm, NULL);
	uv_close((uv_handle_t *)&sigint, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	ck_flags_free(&fs);
	return 0;
}
