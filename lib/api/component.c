/* component: the shared main of client components. See component.h.
 *
 * This is main()'s code moved here: unlike the rest of lib/ it logs at info level what a
 * main logs (start, signals, leadership). */
#include "api/component.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/leader.h"
#include "base/log.h"
#include "net/http_client.h"

/* How long a hand-over of the lease may delay the exit when the apiserver does not
 * answer. */
#define RELEASE_TIMEOUT_MS 3000
/* Connections to the apiserver kept open (httpc_keep_warm). */
#define COMPONENT_WARM_CONNS 4

struct component {
	const component_opts *o;
	ck_flags fs;
	ck_flag *flags; /* shared flags + the component's own */
	/* shared flag values */
	char *kubeconfig_path, *master;
	bool leader_elect;
	int64_t lease_duration_ms, renew_deadline_ms, retry_period_ms;
	char *lease_name, *lease_namespace;

	kubeconfig *kc;
	uv_loop_t *loop;
	kc_client *client;
	/* The elector's own client: its renewals never queue behind the component's requests
	 * in the connection pool (a burst of bindings can hold every connection), as
	 * client-go's leader election has its own client. */
	kc_client *lease_client;
	leader *elector;
	uv_signal_t sigterm, sigint;
	uv_timer_t stop_timer;
	bool handles; /* the three handles above are initialized */
	component_start_fn start;
	void *start_data;
	int exit_code;
};

/* The shared flags, pointing into cp: --kubeconfig, --master unless o->no_master, the
 * leader election ones with o->lease_name. Returns their number, stored in out (may be
 * NULL). */
static size_t shared_flags(component *cp, ck_flag *out)
{
	const ck_flag all[] = {
	    {"kubeconfig", 0, CK_FLAG_STRING, &cp->kubeconfig_path,
	     "Path to a kubeconfig file with authorization and master location information."},
	    {"master", 0, CK_FLAG_STRING, &cp->master,
	     "The address of the Kubernetes API server (overrides any value in kubeconfig)."},
	    {"leader-elect", 0, CK_FLAG_BOOL, &cp->leader_elect,
	     "Start a leader election client and gain leadership (a Lease) before executing the "
	     "main loop. Enable this when running replicated components for high availability."},
	    {"leader-elect-lease-duration", 0, CK_FLAG_DURATION, &cp->lease_duration_ms,
	     "How long a non-leader waits after the last renewal before taking over."},
	    {"leader-elect-renew-deadline", 0, CK_FLAG_DURATION, &cp->renew_deadline_ms,
	     "How long the leader retries renewing before it gives up."},
	    {"leader-elect-retry-period", 0, CK_FLAG_DURATION, &cp->retry_period_ms,
	     "How long candidates wait between attempts."},
	    {"leader-elect-resource-name", 0, CK_FLAG_STRING, &cp->lease_name,
	     "Name of the Lease used for leader election."},
	    {"leader-elect-resource-namespace", 0, CK_FLAG_STRING, &cp->lease_namespace,
	     "Namespace of the Lease used for leader election."},
	};
	size_t n = 0;
	for (size_t i = 0; i < CK_ARRAY_SIZE(all); i++) {
		if ((cp->o->no_master && !strcmp(all[i].name, "master")) ||
		    (!cp->o->lease_name && !strncmp(all[i].name, "leader-elect", 12)))
			continue;
		if (out)
			out[n] = all[i];
		n++;
	}
	return n;
}

int component_new(const component_opts *o, int argc, char **argv, component **out, ck_err **err)
{
	component *cp = ck_calloc(1, sizeof(*cp));
	cp->o = o;
	cp->leader_elect = o->lease_name != NULL;
	cp->lease_duration_ms = 15000;
	cp->renew_deadline_ms = 10000;
	cp->retry_period_ms = 2000;
	cp->lease_name = (char *)o->lease_name;
	cp->lease_namespace = "kube-system";

	size_t n_own = 0;
	while (o->flags && o->flags[n_own].name)
		n_own++;
	size_t n_shared = shared_flags(cp, NULL);
	cp->flags = ck_calloc(n_shared + n_own + 1, sizeof(ck_flag));
	shared_flags(cp, cp->flags);
	for (size_t i = 0; i < n_own; i++)
		cp->flags[n_shared + i] = o->flags[i];
	cp->fs = (ck_flags){.program = o->program, .summary = o->summary, .flags = cp->flags};
	ck_flags_parse_or_exit(&cp->fs, argc, argv);

	kubeconfig_overrides ov = {.kubeconfig = cp->kubeconfig_path, .server = cp->master};
	int rc = kubeconfig_resolve(&ov, &cp->kc, err);
	if (rc < 0)
		goto fail;
	cp->loop = uv_default_loop();
	rc = kc_client_new(cp->loop, cp->kc, &cp->client, err);
	if (rc < 0)
		goto fail;
	/* A burst of writes (a ReplicaSet's creations in batches of up to 4 at first, the
	 * scheduler's bindings, the kubelet's status writes) waits for no TLS handshake. */
	httpc_keep_warm(kc_client_http(cp->client), COMPONENT_WARM_CONNS);
	*out = cp;
	return 0;
fail:
	component_free(cp);
	return rc;
}

uv_loop_t *component_loop(const component *cp)
{
	return cp->loop;
}

kc_client *component_client(const component *cp)
{
	return cp->client;
}

const kubeconfig *component_kubeconfig(const component *cp)
{
	return cp->kc;
}

const ck_flags *component_flags(const component *cp)
{
	return &cp->fs;
}

static void stop(component *cp, int exit_code)
{
	if (exit_code)
		cp->exit_code = exit_code;
	uv_stop(cp->loop);
}

static void start(component *cp)
{
	_cleanup_err_ ck_err *err = NULL;
	if (cp->start(cp->start_data, &err) < 0) {
		CK_ERROR("%s: cannot start: %s", cp->o->program, err ? err->msg : "failed");
		stop(cp, 1);
	}
}

static void on_started_leading(void *data)
{
	component *cp = data;
	CK_INFO("leader election: %s acquired lease %s/%s", leader_identity(cp->elector),
	        cp->lease_namespace, cp->lease_name);
	start(cp);
}

static void on_stopped_leading(void *data)
{
	component *cp = data;
	CK_WARN("leader election: lost lease %s/%s", cp->lease_namespace, cp->lease_name);
	CK_ERROR("leaderelection lost");
	stop(cp, 1);
}

static void on_released(void *data)
{
	stop(data, 0);
}

static void on_stop_timer(uv_timer_t *t)
{
	stop(t->data, 0);
}

static void on_signal(uv_signal_t *h, int signum)
{
	component *cp = h->data;
	CK_INFO("received signal %d, stopping", signum);
	/* Hand the lease over so that another instance takes over at once. */
	if (cp->elector && leader_leading(cp->elector)) {
		leader_release(cp->elector, on_released, cp);
		uv_timer_start(&cp->stop_timer, on_stop_timer, RELEASE_TIMEOUT_MS, 0);
	} else {
		stop(cp, 0);
	}
}

int component_run(component *cp, component_start_fn start_fn, void *data)
{
	cp->start = start_fn;
	cp->start_data = data;
	uv_timer_init(cp->loop, &cp->stop_timer);
	uv_signal_init(cp->loop, &cp->sigterm);
	uv_signal_init(cp->loop, &cp->sigint);
	cp->stop_timer.data = cp->sigterm.data = cp->sigint.data = cp;
	cp->handles = true;
	uv_signal_start(&cp->sigterm, on_signal, SIGTERM);
	uv_signal_start(&cp->sigint, on_signal, SIGINT);
	CK_INFO("%s %s started against %s", cp->o->program, CKUBE_VERSION, cp->kc->server);
	if (cp->leader_elect) {
		_cleanup_err_ ck_err *err = NULL;
		if (kc_client_new(cp->loop, cp->kc, &cp->lease_client, &err) < 0) {
			CK_ERROR("%s: leader election: %s", cp->o->program, err->msg);
			return 1;
		}
		leader_opts lo = {
		    .namespace_ = cp->lease_namespace,
		    .name = cp->lease_name,
		    .lease_duration_ms = (int)cp->lease_duration_ms,
		    .renew_deadline_ms = (int)cp->renew_deadline_ms,
		    .retry_period_ms = (int)cp->retry_period_ms,
		    .on_started_leading = on_started_leading,
		    .on_stopped_leading = on_stopped_leading,
		    .data = cp,
		};
		leader_new(cp->lease_client, &lo, &cp->elector);
		CK_INFO("leader election: campaigning for %s/%s as %s", cp->lease_namespace,
		        cp->lease_name, leader_identity(cp->elector));
	} else {
		start(cp);
	}
	uv_run(cp->loop, UV_RUN_DEFAULT);
	return cp->exit_code;
}

void component_free(component *cp)
{
	if (!cp)
		return;
	leader_free(cp->elector);
	kc_client_free(cp->lease_client);
	kc_client_free(cp->client);
	if (cp->handles) {
		uv_close((uv_handle_t *)&cp->sigterm, NULL);
		uv_close((uv_handle_t *)&cp->sigint, NULL);
		uv_close((uv_handle_t *)&cp->stop_timer, NULL);
	}
	if (cp->loop)
		uv_run(cp->loop, UV_RUN_DEFAULT);
	kubeconfig_free(cp->kc);
	ck_flags_free(&cp->fs);
	free(cp->flags);
	free(cp);
}
