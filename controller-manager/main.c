/* kube-controller-manager: flags and the controller table (the shared part is
 * lib/api/component, the table runner manager.c). The controllers live in their own files
 * and start once this instance holds the kube-controller-manager Lease. */
#include <stdio.h>

#include "api/component.h"
#include "controller.h"

static char **opt_controllers;
static int opt_deployment_syncs = 5, opt_replicaset_syncs = 5, opt_gc_syncs = 20;

/* Every controller, in start order; a new one is a line here. */
static const cm_table_entry CONTROLLERS[] = {
    {&cm_deployment_controller, &opt_deployment_syncs},
    {&cm_replicaset_controller, &opt_replicaset_syncs},
    {&cm_gc_controller, &opt_gc_syncs},
    {0},
};

static const ck_flag FLAGS[] = {
    {"controllers", 0, CK_FLAG_STRV, &opt_controllers,
     "A list of controllers to enable. '*' enables all on-by-default controllers, 'foo' "
     "enables the controller named 'foo', '-foo' disables the controller named 'foo'. "
     "Known: deployment, replicaset, garbagecollector."},
    {"concurrent-deployment-syncs", 0, CK_FLAG_INT, &opt_deployment_syncs,
     "The number of deployment objects that are allowed to sync concurrently."},
    {"concurrent-replicaset-syncs", 0, CK_FLAG_INT, &opt_replicaset_syncs,
     "The number of replica sets that are allowed to sync concurrently."},
    {"concurrent-gc-syncs", 0, CK_FLAG_INT, &opt_gc_syncs,
     "The number of garbage collector workers that are allowed to sync concurrently."},
    {0},
};

typedef struct run {
	component *cp;
	cm_manager *m;
} run;

static int start(void *data, ck_err **err)
{
	run *r = data;
	return cm_manager_start(component_loop(r->cp), component_client(r->cp), CONTROLLERS,
	                        opt_controllers, &r->m, err);
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
	run r = {0};
	if (component_new(&o, argc, argv, &r.cp, &err) < 0 ||
	    cm_controllers_check(CONTROLLERS, opt_controllers, &err) < 0) {
		fprintf(stderr, "%s: %s\n", o.program, err->msg);
		component_free(r.cp);
		return 1;
	}
	int code = component_run(r.cp, start, &r);
	cm_manager_free(r.m);
	component_free(r.cp);
	return code;
}
