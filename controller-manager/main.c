/* kube-controller-manager: flags and wiring (the shared part is lib/api/component). The
 * controllers live in their own files and start once this instance holds the
 * kube-controller-manager Lease. */
#include <stdio.h>

#include "api/component.h"
#include "base/log.h"
#include "controller.h"

static char **opt_controllers;
static int opt_workers = 5;

static const ck_flag FLAGS[] = {
    {"controllers", 0, CK_FLAG_STRV, &opt_controllers,
     "Controllers to enable (accepted; deployment, replicaset and garbagecollector run)."},
    {"concurrent-deployment-syncs", 0, CK_FLAG_INT, &opt_workers,
     "Objects synced concurrently per controller."},
    {0},
};

typedef struct controllers {
	cm_ctx ctx;
	cm_deployment *dc;
	cm_replicaset *rc;
	cm_gc *gc;
} controllers;

static int watch_all(kc_client *c, const kc_resource *r, informer **out, ck_err **err)
{
	int rc = informer_new(c, &(informer_opts){.resource = r}, out, err);
	if (rc < 0)
		return ck_err_wrap(err, rc, "informer %s", r->plural);
	informer_add_index(*out, CM_INDEX_OWNER, informer_index_owner_uid, NULL);
	return 0;
}

static int start(void *data, ck_err **err)
{
	controllers *cs = data;
	int rc;
	if ((rc = cm_deployment_start(&cs->ctx, &cs->dc)) < 0 ||
	    (rc = cm_replicaset_start(&cs->ctx, &cs->rc)) < 0 ||
	    (rc = cm_gc_start(&cs->ctx, &cs->gc)) < 0)
		return ck_err_set(err, rc, "cannot start the controllers");
	informer_start(cs->ctx.deployments);
	informer_start(cs->ctx.replicasets);
	informer_start(cs->ctx.pods);
	CK_INFO("controllers started: deployment, replicaset, garbagecollector");
	return 0;
}

int main(int argc, char **argv)
{
	static const component_opts o = {
	    .program = "kube-controller-manager",
	    .summary = "The Kubernetes controller manager runs the core control loops.",
	    .flags = FLAGS,
	    .lease_name = "kube-controller-manager",
	};
	_cleanup_err_ ck_err *err = NULL;
	component *cp = NULL;
	controllers cs = {0};
	if (component_new(&o, argc, argv, &cp, &err) < 0) {
		fprintf(stderr, "%s: %s\n", o.program, err->msg);
		return 1;
	}
	kc_client *c = component_client(cp);
	cs.ctx = (cm_ctx){
	    .loop = component_loop(cp),
	    .client = c,
	    .workers = opt_workers > 0 ? opt_workers : 1,
	};
	int code = 1;
	if (watch_all(c, &KC_DEPLOYMENTS, &cs.ctx.deployments, &err) < 0 ||
	    watch_all(c, &KC_REPLICASETS, &cs.ctx.replicasets, &err) < 0 ||
	    watch_all(c, &KC_PODS, &cs.ctx.pods, &err) < 0)
		fprintf(stderr, "%s: %s\n", o.program, err->msg);
	else
		code = component_run(cp, start, &cs);
	cm_gc_free(cs.gc);
	cm_replicaset_free(cs.rc);
	cm_deployment_free(cs.dc);
	informer_free(cs.ctx.pods);
	informer_free(cs.ctx.replicasets);
	informer_free(cs.ctx.deployments);
	component_free(cp);
	return code;
}
