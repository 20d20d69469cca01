/* kube-scheduler: flags and wiring (the shared part is lib/api/component). The scheduling
 * loop is scheduler.c; each filter has its own file. */
#include <stdio.h>

#include "api/component.h"
#include "scheduler.h"

static char *opt_authn_kubeconfig, *opt_authz_kubeconfig, *opt_bind_address, *opt_config;
static int opt_secure_port = 10259;

static const ck_flag FLAGS[] = {
    {"authentication-kubeconfig", 0, CK_FLAG_STRING, &opt_authn_kubeconfig,
     "Accepted for compatibility (kubeadm passes it)."},
    {"authorization-kubeconfig", 0, CK_FLAG_STRING, &opt_authz_kubeconfig,
     "Accepted for compatibility (kubeadm passes it)."},
    {"bind-address", 0, CK_FLAG_STRING, &opt_bind_address, "Accepted for compatibility."},
    {"secure-port", 0, CK_FLAG_INT, &opt_secure_port, "Accepted for compatibility."},
    {"config", 0, CK_FLAG_STRING, &opt_config, "Accepted for compatibility; ignored."},
    {0},
};

static int start(void *data, ck_err **err)
{
	return scheduler_start(data);
}

int main(int argc, char **argv)
{
	static const component_opts o = {
	    .program = "kube-scheduler",
	    .summary = "The Kubernetes scheduler assigns pending pods to nodes.",
	    .flags = FLAGS,
	    .lease_name = "kube-scheduler",
	};
	_cleanup_err_ ck_err *err = NULL;
	component *cp = NULL;
	scheduler *sched = NULL;
	if (component_new(&o, argc, argv, &cp, &err) < 0 ||
	    scheduler_new(component_client(cp), NULL, &sched, &err) < 0) {
		fprintf(stderr, "%s: %s\n", o.program, err ? err->msg : "cannot start");
		component_free(cp);
		return 1;
	}
	int code = component_run(cp, start, sched);
	scheduler_free(sched);
	component_free(cp);
	return code;
}
