/* kubelet: flags and wiring. The node agent registers its Node, renews its Lease and
 * runs the pods bound to it through a CRI runtime (see kubelet.h for the files). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/kubeconfig.h"
#include "base/flags.h"
#include "base/log.h"
#include "kubelet.h"

/* Pod syncs still running on libuv's worker threads at shutdown. */
static int syncs_in_flight;

static void stop_all(kubelet *k)
{
	kl_server_stop(k);
	probe_stop_all(k);
	pleg_stop(k);
	syncs_in_flight = pod_worker_stop(k);
	node_lease_stop(k);
	node_status_stop(k);
	/* Cancels CRI calls still in flight (their callbacks run now and see the stops). */
	k->grpc = ckgrpc_loop_free(k->grpc);
	kc_client_free(k->kc);
	k->kc = NULL;
}

static void on_signal(uv_signal_t *s, int sig)
{
	kubelet *k = s->data;
	CK_INFO("signal %d: shutting down (pods keep running)", sig);
	stop_all(k);
	uv_stop(k->loop);
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

int main(int argc, char **argv)
{
	char *config_path = NULL;
	char *kubeconfig_path = NULL, *hostname = NULL, *node_ip = NULL;
	char *endpoint = "unix:///run/containerd/containerd.sock";
	char *root_dir = "/var/lib/kubelet", *pod_log_dir = "/var/log/pods";
	char *cgroup_root = "/", *infra = "registry.k8s.io/pause:3.9";
	char **node_labels = NULL, **taints = NULL, **cluster_dns = NULL;
	char *cluster_domain = "cluster.local";
	char *address = "0.0.0.0", *tls_cert = NULL, *tls_key = NULL, *client_ca = NULL;
	int port = 10250;
	int max_pods = 110;
	int64_t status_every = 10000, relist = 1000;
	char *cgroup_driver = "cgroupfs";
	bool fail_swap_on = false;
	const ck_flag flags[] = {
	    {"config", 0, CK_FLAG_STRING, &config_path,
	     "The Kubelet will load its initial configuration from this file "
	     "(KubeletConfiguration); "
	     "command-line flags override it."},
	    {"kubeconfig", 0, CK_FLAG_STRING, &kubeconfig_path,
	     "Path to a kubeconfig file specifying how to connect to the API server."},
	    {"hostname-override", 0, CK_FLAG_STRING, &hostname,
	     "If non-empty, will use this string as identification instead of the actual "
	     "hostname."},
	    {"node-ip", 0, CK_FLAG_STRING, &node_ip, "IP address of the node."},
	    {"container-runtime-endpoint", 0, CK_FLAG_STRING, &endpoint,
	     "The endpoint of the remote runtime service (unix:///path)."},
	    {"root-dir", 0, CK_FLAG_STRING, &root_dir,
	     "Directory path for managing kubelet files."},
	    {"pod-log-dir", 0, CK_FLAG_STRING, &pod_log_dir,
	     "Directory for pod container logs (upstream's fixed /var/log/pods)."},
	    {"cgroup-root", 0, CK_FLAG_STRING, &cgroup_root,
	     "Optional root cgroup to use for pods."},
	    {"cgroup-driver", 0, CK_FLAG_STRING, &cgroup_driver,
	     "Driver that the kubelet uses to manipulate cgroups on the host (cgroupfs)."},
	    {"pod-infra-container-image", 0, CK_FLAG_STRING, &infra,
	     "The image whose network/ipc namespaces containers in each pod will use."},
	    {"max-pods", 0, CK_FLAG_INT, &max_pods, "Number of Pods that can run on this Kubelet."},
	    {"node-labels", 0, CK_FLAG_STRV, &node_labels,
	     "Labels to add when registering the node in the cluster (key=value,...)."},
	    {"register-with-taints", 0, CK_FLAG_STRV, &taints,
	     "Register the node with the given list of taints (key=value:Effect,...)."},
	    {"node-status-update-frequency", 0, CK_FLAG_DURATION, &status_every,
	     "How often kubelet posts node status to master."},
	    {"pleg-relist-period", 0, CK_FLAG_DURATION, &relist,
	     "How often the runtime is relisted to notice container state changes."},
	    {"cluster-dns", 0, CK_FLAG_STRV, &cluster_dns,
	     "Comma-separated list of DNS server IP addresses for pods with "
	     "dnsPolicy=ClusterFirst."},
	    {"cluster-domain", 0, CK_FLAG_STRING, &cluster_domain,
	     "Domain for this cluster; containers search it in addition to the host's."},
	    {"port", 0, CK_FLAG_INT, &port, "The port for the Kubelet to serve on (0: off)."},
	    {"address", 0, CK_FLAG_STRING, &address,
	     "The IP address for the Kubelet to serve on (0.0.0.0 for all interfaces)."},
	    {"tls-cert-file", 0, CK_FLAG_STRING, &tls_cert,
	     "File containing x509 Certificate used for serving HTTPS."},
	    {"tls-private-key-file", 0, CK_FLAG_STRING, &tls_key,
	     "File containing x509 private key matching --tls-cert-file."},
	    {"client-ca-file", 0, CK_FLAG_STRING, &client_ca,
	     "Clients must present a certificate signed by this CA (requests but /healthz)."},
	    {"fail-swap-on", 0, CK_FLAG_BOOL, &fail_swap_on, "Ignored."},
	    {NULL},
	};
	ck_flags fs = {
	    .program = "kubelet",
	    .summary = "kubelet: the primary node agent, running pods through a CRI runtime.",
	    .flags = flags,
	};
	ck_flags_parse_or_exit(&fs, argc, argv);

	/* Pod syncs block on CRI calls in libuv's pool: give it room beyond the default 4. */
	char pool[16];
	snprintf(pool, sizeof(pool), "%d", KL_SYNC_WORKERS);
	setenv("UV_THREADPOOL_SIZE", pool, 0);

	kubelet k = {0};
	char host[256] = "";
	if (!hostname || !*hostname) {
		if (gethostname(host, sizeof(host) - 1) < 0)
			strcpy(host, "localhost");
		for (char *p = host; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	}
	k.cfg = (kl_config){
	    .node_name = hostname && *hostname ? hostname : host,
	    .node_ip = node_ip,
	    .runtime_endpoint = endpoint,
	    .root_dir = root_dir,
	    .pod_log_dir = pod_log_dir,
	    .cgroup_root = cgroup_root,
	    .pod_infra_image = infra,
	    .max_pods = max_pods,
	    .node_labels = node_labels,
	    .register_taints = taints,
	    .cluster_dns = cluster_dns,
	    .cluster_domain = cluster_domain,
	    .port = port,
	    .address = address,
	    .tls_cert_file = tls_cert,
	    .tls_key_file = tls_key,
	    .client_ca_file = client_ca,
	    .node_status_update_ms = status_every,
	    .relist_ms = relist,
	};
	_cleanup_err_ ck_err *err = NULL;
	if (config_path && *config_path &&
	    kl_config_apply_file(config_path, &fs, &k.cfg, &err) < 0) {
		fprintf(stderr, "kubelet: %s\n", err->msg);
		return 1;
	}
	endpoint = k.cfg.runtime_endpoint;
	pod_log_dir = k.cfg.pod_log_dir;
	if (mkdir_p(root_dir) < 0 || mkdir_p(pod_log_dir) < 0) {
		fprintf(stderr, "kubelet: cannot create %s or %s\n", root_dir, pod_log_dir);
		return 1;
	}
	kubeconfig_overrides ko = {.kubeconfig = kubeconfig_path};
	_cleanup_kubeconfig_ kubeconfig *kc = NULL;
	if (kubeconfig_resolve(&ko, &kc, &err) < 0) {
		fprintf(stderr, "kubelet: %s\n", err->msg);
		return 1;
	}
	uv_loop_t *loop = uv_default_loop();
	k.loop = loop;
	k.kubeconfig = kc;
	if (kc_client_new(loop, kc, &k.kc, &err) < 0 || ckgrpc_loop_new(loop, &k.grpc, &err) < 0 ||
	    cri_client_new(k.grpc, &(cri_client_opts){.endpoint = endpoint}, &k.cri, &err) < 0 ||
	    cri_client_new(NULL, &(cri_client_opts){.endpoint = endpoint}, &k.cri_sync, &err) < 0) {
		fprintf(stderr, "kubelet: %s\n", err ? err->msg : "setup failed");
		return 1;
	}
	CK_INFO("kubelet %s starting: node %s, runtime %s", CKUBE_VERSION, k.cfg.node_name,
	        endpoint);

	uv_signal_t sigterm, sigint;
	uv_signal_init(loop, &sigterm);
	uv_signal_init(loop, &sigint);
	sigterm.data = sigint.data = &k;
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_start(&sigint, on_signal, SIGINT);
	signal(SIGPIPE, SIG_IGN);

	node_status_start(&k, on_registered);
	if (kl_server_start(&k) < 0)
		return 1;
	uv_run(loop, UV_RUN_DEFAULT);

	if (syncs_in_flight > 0) {
		/* A sync may block for a pod's whole grace period (StopContainer) or a pull;
		 * libuv's exit handler would join its thread. Like upstream's kubelet, leave:
		 * the runtime keeps the pods, and the next kubelet adopts them. */
		CK_INFO("exiting with %d pod syncs in flight", syncs_in_flight);
		_exit(0);
	}
	uv_close((uv_handle_t *)&sigterm, NULL);
	uv_close((uv_handle_t *)&sigint, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	cri_client_free(k.cri);
	cri_client_free(k.cri_sync);
	free(k.runtime_version);
	kl_config_free_alloc(&k.cfg);
	kl_events_free(&k);
	free(k.node_uid);
	ck_flags_free(&fs);
	return 0;
}
