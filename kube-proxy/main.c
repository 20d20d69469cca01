/* kube-proxy: flags and wiring (the shared part is lib/api/component). The settings are
 * config.c, the control loop proxier.c, the rules iptables.c and endpoints.c, /healthz and
 * /metrics server.c. */
#include <stdio.h>

#include "api/component.h"
#include "config.h"
#include "proxier.h"
#include "server.h"

static int start(void *data, ck_err **err)
{
	(void)err;
	return proxier_start(data);
}

int main(int argc, char **argv)
{
	static const component_opts o = {
	    .program = "kube-proxy",
	    .summary = "The Kubernetes network proxy runs on each node: it programs iptables so "
	               "that Service addresses reach their endpoints.",
	    .flags = proxy_flags,
	    .no_master = false,
	};
	_cleanup_err_ ck_err *err = NULL;
	component *cp = NULL;
	proxier *p = NULL;
	proxy_server *healthz = NULL, *metrics = NULL;
	proxy_config cfg = {0};
	int code = 1;
	if (component_new(&o, argc, argv, &cp, &err) < 0 ||
	    proxy_config_load(component_flags(cp), &cfg, &err) < 0 ||
	    proxier_new(component_client(cp), &cfg, &p, &err) < 0 ||
	    (*cfg.healthz_bind &&
	     proxy_server_new(component_loop(cp), cfg.healthz_bind, p, &healthz, &err) < 0) ||
	    (*cfg.metrics_bind &&
	     proxy_server_new(component_loop(cp), cfg.metrics_bind, p, &metrics, &err) < 0))
		fprintf(stderr, "%s: %s\n", o.program, err ? err->msg : "cannot start");
	else
		code = component_run(cp, start, p);
	proxy_server_free(healthz);
	proxy_server_free(metrics);
	proxier_free(p);
	component_free(cp);
	proxy_config_free(&cfg);
	return code;
}
