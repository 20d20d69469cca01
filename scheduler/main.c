/* kube-scheduler: flags and wiring. The scheduling loop is scheduler.c; each filter has
 * its own file; leader election is lib/api/leader. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/client.h"
#include "api/kubeconfig.h"
#include "api/leader.h"
#include "base/flags.h"
#include "base/log.h"
#include "scheduler.h"

static char *opt_kubeconfig, *opt_master, *opt_authn_kubeconfig, *opt_authz_kubeconfig;
static char *opt_bind_address, *opt_config;
static char *opt_lease_name = "kube-scheduler", *opt_lease_namespace = "kube-system";
static bool opt_leader_elect = true;
static int opt_secure_port = 10259;
static int64_t opt_lease_duration = 15000, opt_renew_deadline = 10000, opt_retry_period = 2000;

static const ck_flag FLAGS[] = {
    {"kubeconfig", 0, CK_FLAG_STRING, &opt_kubeconfig,
     "Path to a kubeconfig file with authorization and master location information."},
    {"master", 0, CK_FLAG_STRING, &opt_master,
     "The address of the Kubernetes API server (overrides any value in kubeconfig)."},
    {"leader-elect", 0, CK_FLAG_BOOL, &opt_leader_elect,
     "Start a leader election client and gain leadership (a Lease) before scheduling."},
    {"leader-elect-lease-duration", 0, CK_FLAG_DURATION, &opt_lease_duration,
     "How long a non-leader waits after the last renewal before taking over."},
    {"leader-elect-renew-deadline", 0, CK_FLAG_DURATION, &opt_renew_deadline,
     "How long the leader retries renewing before it gives up."},
    {"leader-elect-retry-period", 0, CK_FLAG_DURATION, &opt_retry_period,
     "How long candidates wait between attempts."},
    {"leader-elect-resource-name", 0, CK_FLAG_STRING, &opt_lease_name,
     "Name of the Lease used for leader election."},
    {"leader-elect-resource-namespace", 0, CK_FLAG_STRING, &opt_lease_namespace,
     "Namespace of the Lease used for leader election."},
    {"authentication-kubeconfig", 0, CK_FLAG_STRING, &opt_authn_kubeconfig,
     "Accepted for compatibility (kubeadm passes it)."},
    {"authorization-kubeconfig", 0, CK_FLAG_STRING, &opt_authz_kubeconfig,
     "Accepted for compatibility (kubeadm passes it)."},
    {"bind-address", 0, CK_FLAG_STRING, &opt_bind_address, "Accepted for compatibility."},
    {"secure-port", 0, CK_FLAG_INT, &opt_secure_port, "Accepted for compatibility."},
    {"config", 0, CK_FLAG_STRING, &opt_config, "Accepted for compatibility; ignored."},
    {0},
};

static leader *elector;
static scheduler *sched;
static int exit_code;

static void stop_loop(void *data)
{
	uv_stop(data);
}

static uv_timer_t stop_timer;

static void on_stop_timer(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void on_signal(uv_signal_t *h, int signum)
{
	CK_INFO("received signal %d, stopping", signum);
	/* Hand the lease over so that another scheduler takes over at once; an apiserver
	 * that does not answer delays the exit by 3 s at most. */
	if (elector && leader_leading(elector)) {
		leader_release(elector, stop_loop, h->loop);
		uv_timer_start(&stop_timer, on_stop_timer, 3000, 0);
	} else {
		uv_stop(h->loop);
	}
}

static void on_started_leading(void *data)
{
	CK_INFO("leader election: %s acquired lease %s/%s", leader_identity(elector),
	        opt_lease_namespace, opt_lease_name);
	scheduler_start(sched);
}

static void on_stopped_leading(void *data)
{
	CK_WARN("leader election: lost lease %s/%s", opt_lease_namespace, opt_lease_name);
	CK_ERROR("leaderelection lost");
	exit_code = 1;
	uv_stop(data);
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
	if (kc_client_new(loop, kc, &client, &err) < 0 ||
	    scheduler_new(client, NULL, &sched, &err) < 0) {
		fprintf(stderr, "kube-scheduler: %s\n", err ? err->msg : "cannot start");
		return 1;
	}
	if (opt_leader_elect) {
		leader_opts lo = {
		    .namespace_ = opt_lease_namespace,
		    .name = opt_lease_name,
		    .lease_duration_ms = (int)opt_lease_duration,
		    .renew_deadline_ms = (int)opt_renew_deadline,
		    .retry_period_ms = (int)opt_retry_period,
		    .on_started_leading = on_started_leading,
		    .on_stopped_leading = on_stopped_leading,
		    .data = loop,
		};
		leader_new(client, &lo, &elector);
		CK_INFO("leader election: campaigning for %s/%s as %s", opt_lease_namespace,
		        opt_lease_name, leader_identity(elector));
	} else {
		scheduler_start(sched);
	}

	uv_timer_init(loop, &stop_timer);
	uv_signal_t sigterm, sigint;
	uv_signal_init(loop, &sigterm);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_start(&sigint, on_signal, SIGINT);
	CK_INFO("kube-scheduler %s started against %s", CKUBE_VERSION, kc->server);
	uv_run(loop, UV_RUN_DEFAULT);

	leader_free(elector);
	scheduler_free(sched);
	kc_client_free(client);
	uv_close((uv_handle_t *)&sigterm, NULL);
	uv_close((uv_handle_t *)&sigint, NULL);
	uv_close((uv_handle_t *)&stop_timer, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	ck_flags_free(&fs);
	return exit_code;
}
