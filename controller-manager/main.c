/* kube-controller-manager: flags and wiring. The controllers live in their own files. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/client.h"
#include "api/informer.h"
#include "api/kubeconfig.h"
#include "base/flags.h"
#include "base/log.h"
#include "controller.h"

static char *opt_kubeconfig, *opt_master, **opt_controllers;
static bool opt_leader_elect = true;
static int opt_workers = 5;

static const ck_flag FLAGS[] = {
    {"kubeconfig", 0, CK_FLAG_STRING, &opt_kubeconfig,
     "Path to a kubeconfig file with authorization and master location information."},
    {"master", 0, CK_FLAG_STRING, &opt_master,
     "The address of the Kubernetes API server (overrides any value in kubeconfig)."},
    {"controllers", 0, CK_FLAG_STRV, &opt_controllers,
     "Controllers to enable (accepted; deployment, replicaset and garbagecollector run)."},
    {"leader-elect", 0, CK_FLAG_BOOL, &opt_leader_elect,
     "Accepted for compatibility; this controller-manager runs as the only instance."},
    {"concurrent-deployment-syncs", 0, CK_FLAG_INT, &opt_workers,
     "Objects synced concurrently per controller."},
    {0},
};

static void on_signal(uv_signal_t *h, int signum)
{
	CK_INFO("received signal %d, stopping", signum);
	uv_stop(h->loop);
}

static informer *watch_all(kc_client *c, const kc_resource *r)
{
	informer_opts o = {.resource = r};
	informer *inf = NULL;
	_cleanup_err_ ck_err *err = NULL;
	if (informer_new(c, &o, &inf, &err) < 0) {
		CK_ERROR("informer %s: %s", r->resource, err ? err->msg : "failed");
		exit(1);
	}
	informer_add_index(inf, CM_INDEX_OWNER, informer_index_owner_uid, NULL);
	return inf;
}

int main(int argc, char **argv)
{
	ck_flags fs = {.program = "kube-controller-manager",
	               .summary = "The Kubernetes controller manager runs the core control loops.",
	               .flags = FLAGS};
	ck_flags_parse_or_exit(&fs, argc, argv);

	_cleanup_err_ ck_err *err = NULL;
	_cleanup_kubeconfig_ kubeconfig *kc = NULL;
	kubeconfig_overrides ov = {.kubeconfig = opt_kubeconfig, .server = opt_master};
	if (kubeconfig_resolve(&ov, &kc, &err) < 0) {
		fprintf(stderr, "kube-controller-manager: %s\n", err->msg);
		return 1;
	}
	uv_loop_t *loop = uv_default_loop();
	kc_client *client = NULL;
	if (kc_client_new(loop, kc, &client, &err) < 0) {
		fprintf(stderr, "kube-controller-manager: %s\n", err->msg);
		return 1;
	}
	cm_ctx ctx = {
	    .loop = loop,
	    .client = client,
	    .deployments = watch_all(client, &KC_DEPLOYMENTS),
	    .replicasets = watch_all(client, &KC_REPLICASETS),
	    .pods = watch_all(client, &KC_PODS),
	    .workers = opt_workers > 0 ? opt_workers : 1,
	};
	cm_deployment *dc = NULL;
	cm_replicaset *rc = NULL;
	cm_gc *gc = NULL;
	if (cm_deployment_start(&ctx, &dc) < 0 || cm_replicaset_start(&ctx, &rc) < 0 ||
	    cm_gc_start(&ctx, &gc) < 0) {
		fprintf(stderr, "kube-controller-manager: cannot start the controllers\n");
		return 1;
	}
	informer_start(ctx.deployments);
	informer_start(ctx.replicasets);
	informer_start(ctx.pods);

	uv_signal_t sigterm, sigint;
	uv_signal_init(loop, &sigterm);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_start(&sigint, on_signal, SIGINT);
	CK_INFO("kube-controller-manager %s started: deployment, replicaset, garbagecollector",
	        CKUBE_VERSION);
	uv_run(loop, UV_RUN_DEFAULT);

	cm_gc_free(gc);
	cm_replicaset_free(rc);
	cm_deployment_free(dc);
	informer_free(ctx.pods);
	informer_free(ctx.replicasets);
	informer_free(ctx.deployments);
	kc_client_free(client);
	ck_flags_free(&fs);
	return 0;
}
