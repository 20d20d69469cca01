/* kubelet: flags and wiring (the shared part, kubeconfig, client, signals and loop, is
 * lib/api/component). The node agent registers its Node, renews its Lease and runs the
 * pods bound to it through a CRI runtime (see kubelet.h for the files). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/component.h"
#include "base/log.h"
#include "kubelet.h"

static char *opt_config;
static char *opt_hostname, *opt_node_ip;
static char *opt_endpoint = "unix:///run/containerd/containerd.sock";
static char *opt_root_dir = "/var/lib/kubelet", *opt_pod_log_dir = "/var/log/pods";
static char *opt_cgroup_root = "/", *opt_infra = "registry.k8s.io/pause:3.9";
static char **opt_node_labels, **opt_taints, **opt_cluster_dns;
static char *opt_cluster_domain = "cluster.local";
static char *opt_address = "0.0.0.0", *opt_tls_cert, *opt_tls_key, *opt_client_ca;
static int opt_port = 10250;
static int opt_max_pods = 110;
static int64_t opt_status_every = 10000, opt_relist = 1000;
static char *opt_cgroup_driver = "cgroupfs";
static bool opt_fail_swap_on;

static const ck_flag FLAGS[] = {
    {"config", 0, CK_FLAG_STRING, &opt_config,
     "The Kubelet will load its initial configuration from this file (KubeletConfiguration); "
     "command-line flags override it."},
    {"hostname-override", 0, CK_FLAG_STRING, &opt_hostname,
     "If non-empty, will use this string as identification instead of the actual hostname."},
    {"node-ip", 0, CK_FLAG_STRING, &opt_node_ip, "IP address of the node."},
    {"container-runtime-endpoint", 0, CK_FLAG_STRING, &opt_endpoint,
     "The endpoint of the remote runtime service (unix:///path)."},
    {"root-dir", 0, CK_FLAG_STRING, &opt_root_dir, "Directory path for managing kubelet files."},
    {"pod-log-dir", 0, CK_FLAG_STRING, &opt_pod_log_dir,
     "Directory for pod container logs (upstream's fixed /var/log/pods)."},
    {"cgroup-root", 0, CK_FLAG_STRING, &opt_cgroup_root, "Optional root cgroup to use for pods."},
    {"cgroup-driver", 0, CK_FLAG_STRING, &opt_cgroup_driver,
     "Driver that the kubelet uses to manipulate cgroups on the host (cgroupfs)."},
    {"pod-infra-container-image", 0, CK_FLAG_STRING, &opt_infra,
     "The image whose network/ipc namespaces containers in each pod will use."},
    {"max-pods", 0, CK_FLAG_INT, &opt_max_pods, "Number of Pods that can run on this Kubelet."},
    {"node-labels", 0, CK_FLAG_STRV, &opt_node_labels,
     "Labels to add when registering the node in the cluster (key=value,...)."},
    {"register-with-taints", 0, CK_FLAG_STRV, &opt_taints,
     "Register the node with the given list of taints (key=value:Effect,...)."},
    {"node-status-update-frequency", 0, CK_FLAG_DURATION, &opt_status_every,
     "How often kubelet posts node status to master."},
    {"pleg-relist-period", 0, CK_FLAG_DURATION, &opt_relist,
     "How often the runtime is relisted to notice container state changes."},
    {"cluster-dns", 0, CK_FLAG_STRV, &opt_cluster_dns,
     "Comma-separated list of DNS server IP addresses for pods with dnsPolicy=ClusterFirst."},
    {"cluster-domain", 0, CK_FLAG_STRING, &opt_cluster_domain,
     "Domain for this cluster; containers search it in addition to the host's."},
    {"port", 0, CK_FLAG_INT, &opt_port, "The port for the Kubelet to serve on (0: off)."},
    {"address", 0, CK_FLAG_STRING, &opt_address,
     "The IP address for the Kubelet to serve on (0.0.0.0 for all interfaces)."},
    {"tls-cert-file", 0, CK_FLAG_STRING, &opt_tls_cert,
     "File containing x509 Certificate used for serving HTTPS."},
    {"tls-private-key-file", 0, CK_FLAG_STRING, &opt_tls_key,
     "File containing x509 private key matching --tls-cert-file."},
    {"client-ca-file", 0, CK_FLAG_STRING, &opt_client_ca,
     "Clients must present a certificate signed by this CA (requests but /healthz)."},
    {"fail-swap-on", 0, CK_FLAG_BOOL, &opt_fail_swap_on, "Ignored."},
    {0},
};

/* --hostname-override, else the machine's hostname in lower case. */
static char *node_name(void)
{
	static char host[256];
	if (opt_hostname && *opt_hostname)
		return opt_hostname;
	if (gethostname(host, sizeof(host) - 1) < 0)
		strcpy(host, "localhost");
	for (char *p = host; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return host;
}

static int mkdir_p(const char *path)
{
	_cleanup_free_ char *p = ck_strdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The configuration (flags, then the --config file for what the command line did not
 * give), the kubelet's directories and its CRI clients. Returns 0 or a negative code
 * with err. */
static int setup(kubelet *k, component *cp, ck_err **err)
{
	k->cfg = (kl_config){
	    .node_name = node_name(),
	    .node_ip = opt_node_ip,
	    .runtime_endpoint = opt_endpoint,
	    .root_dir = opt_root_dir,
	    .pod_log_dir = opt_pod_log_dir,
	    .cgroup_root = opt_cgroup_root,
	    .pod_infra_image = opt_infra,
	    .max_pods = opt_max_pods,
	    .node_labels = opt_node_labels,
	    .register_taints = opt_taints,
	    .cluster_dns = opt_cluster_dns,
	    .cluster_domain = opt_cluster_domain,
	    .port = opt_port,
	    .address = opt_address,
	    .tls_cert_file = opt_tls_cert,
	    .tls_key_file = opt_tls_key,
	    .client_ca_file = opt_client_ca,
	    .node_status_update_ms = opt_status_every,
	    .relist_ms = opt_relist,
	};
	int rc;
	if (opt_config && *opt_config &&
	    (rc = kl_config_apply_file(opt_config, component_flags(cp), &k->cfg, err)) < 0)
		return rc;
	if ((rc = mkdir_p(k->cfg.root_dir)) < 0 || (rc = mkdir_p(k->cfg.pod_log_dir)) < 0)
		return ck_err_set(err, rc, "cannot create %s or %s", k->cfg.root_dir,
		                  k->cfg.pod_log_dir);
	k->loop = component_loop(cp);
	k->kc = component_client(cp);
	const cri_client_opts co = {.endpoint = k->cfg.runtime_endpoint};
	if ((rc = ckgrpc_loop_new(k->loop, &k->grpc, err)) < 0 ||
	    (rc = cri_client_new(k->grpc, &co, &k->cri, err)) < 0 ||
	    (rc = cri_client_new(NULL, &co, &k->cri_sync, err)) < 0)
		return rc;
	return 0;
}

static void on_registered(kubelet *k)
{
	node_lease_start(k);
	if (pod_worker_start(k) < 0) {
		CK_ERROR("pod worker did not start");
		return;
	}
	pleg_start(k);
}

static int start(void *data, ck_err **err)
{
	kubelet *k = data;
	CK_INFO("kubelet: node %s, runtime %s", k->cfg.node_name, k->cfg.runtime_endpoint);
	node_status_start(k, on_registered);
	int rc = kl_server_start(k);
	if (rc < 0)
		return ck_err_set(err, rc, "the kubelet API on %s:%d did not start", k->cfg.address,
		                  k->cfg.port);
	return 0;
}

/* Stops every module (each accepts one that never started). Returns how many pod syncs
 * still run on libuv's pool. */
static int stop_all(kubelet *k)
{
	kl_server_stop(k);
	probe_stop_all(k);
	pleg_stop(k);
	int syncs = pod_worker_stop(k);
	node_lease_stop(k);
	node_status_stop(k);
	/* Cancels CRI calls still in flight (their callbacks run now and see the stops). */
	k->grpc = ckgrpc_loop_free(k->grpc);
	return syncs;
}

int main(int argc, char **argv)
{
	static const component_opts o = {
	    .program = "kubelet",
	    .summary = "kubelet: the primary node agent, running pods through a CRI runtime.",
	    .flags = FLAGS,
	    .no_master = true,
	};
	/* Pod syncs block on CRI calls in libuv's pool: give it room beyond the default 4
	 * (before its first use). */
	char pool[16];
	snprintf(pool, sizeof(pool), "%d", KL_SYNC_WORKERS);
	setenv("UV_THREADPOOL_SIZE", pool, 0);

	_cleanup_err_ ck_err *err = NULL;
	component *cp = NULL;
	if (component_new(&o, argc, argv, &cp, &err) < 0) {
		fprintf(stderr, "%s: %s\n", o.program, err->msg);
		return 1;
	}
	kubelet k = {0};
	int code = 1;
	if (setup(&k, cp, &err) < 0) {
		fprintf(stderr, "%s: %s\n", o.program, err ? err->msg : "setup failed");
	} else {
		signal(SIGPIPE, SIG_IGN);
		code = component_run(cp, start, &k);
		CK_INFO("shutting down (pods keep running)");
	}
	int syncs = stop_all(&k);
	if (syncs > 0) {
		/* A sync may block for a pod's whole grace period (StopContainer) or a pull;
		 * component_free would wait for it, and so would libuv's exit handler, which
		 * joins its threads. Like upstream's kubelet, leave: the runtime keeps the
		 * pods, and the next kubelet adopts them. */
		CK_INFO("exiting with %d pod syncs in flight", syncs);
		_exit(code);
	}
	/* The loop runs once more in component_free: what the modules closed goes there,
	 * before the memory they may still point at. */
	component_free(cp);
	cri_client_free(k.cri);
	cri_client_free(k.cri_sync);
	free(k.runtime_version);
	kl_config_free_alloc(&k.cfg);
	kl_events_free(&k);
	free(k.node_uid);
	return code;
}
