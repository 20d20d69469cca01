/* kubelet: the node agent. Shared declarations of the kubelet's files:
 *   main.c         flags and wiring
 *   node_status.c  registers the Node and keeps its status current
 *   node_lease.c   the node's Lease in kube-node-lease, renewed every 10 s
 *   pod_worker.c   pod informer + work queue; runs each pod's sync on a worker thread
 *                  and writes its results (status, events, final delete) on the loop
 *   pod_sync.c     one pod's reconcile against the runtime (CRI, blocking, worker thread)
 *   pod_status.c   the PodStatus computed from the spec and the runtime state (pure)
 *   pleg.c         relists the runtime every second and enqueues pods whose state moved
 *   probe.c        liveness / readiness / startup probes (exec, httpGet, tcpSocket)
 *   volumes.c      emptyDir, hostPath, configMap, secret, downwardAPI, projected volumes
 *   server.c       the kubelet API on --port: /healthz, /pods, /containerLogs
 *   config.c       --config (KubeletConfiguration)
 *   events.c       core/v1 Events
 *
 * Threads: everything runs on the one libuv loop except pod_sync_run() (and the volume
 * setup it calls), which runs on a libuv worker thread with the blocking CRI client and
 * touches only what it was handed (a copy of the pod, its pod_state, a copy of its probe
 * results, the immutable config). Results go back to the loop in the work item's
 * completion callback. Why threads: a pod's sync is a sequence of dependent runtime calls
 * (pull, run sandbox, create, start, stop with a grace period of up to minutes); written
 * as blocking steps it stays readable, and the work queue guarantees one sync per pod at a
 * time. The relist, probes, node status and lease use the asynchronous CRI client on the
 * loop. */
#ifndef CK_KUBELET_H
#define CK_KUBELET_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "api/client.h"
#include "api/kubeconfig.h"
#include "api/informer.h"
#include "api/workqueue.h"
#include "net/cri.h"

/* Pods synced at once: each sync blocks one thread of libuv's pool on CRI calls, so the
 * pool gets as many threads (main.c sets UV_THREADPOOL_SIZE before the first use). */
#define KL_SYNC_WORKERS 32

/* Labels the kubelet puts on sandboxes and containers (upstream's names). */
#define KL_LABEL_POD_NAME       "io.kubernetes.pod.name"
#define KL_LABEL_POD_NAMESPACE  "io.kubernetes.pod.namespace"
#define KL_LABEL_POD_UID        "io.kubernetes.pod.uid"
#define KL_LABEL_CONTAINER_NAME "io.kubernetes.container.name"

typedef struct kl_config {
	char *node_name;
	char *node_ip;          /* InternalIP; NULL: first non-loopback IPv4 */
	char *runtime_endpoint; /* "unix:///run/containerd/containerd.sock" */
	char *root_dir;         /* /var/lib/kubelet */
	char *pod_log_dir;      /* /var/log/pods */
	char *cgroup_root;      /* "/" */
	char *pod_infra_image;
	int max_pods;
	char **node_labels;     /* "k=v" entries */
	char **register_taints; /* "key=value:Effect" entries */
	char **cluster_dns;     /* --cluster-dns: nameserver IPs for ClusterFirst pods */
	char *cluster_domain;   /* --cluster-domain */
	int port;               /* kubelet API; 0: off */
	char *address;
	char *tls_cert_file, *tls_key_file, *client_ca_file;
	int64_t node_status_update_ms;
	char **alloc; /* what kl_config_apply_file allocated (kl_config_free_alloc) */
	int64_t relist_ms;
} kl_config;

typedef struct kubelet {
	kl_config cfg;
	uv_loop_t *loop;
	kc_client *kc;
	const kubeconfig *kubeconfig; /* for blocking clients on worker threads */
	ckgrpc_loop *grpc;
	cri_client *cri;       /* async, on the loop */
	cri_client *cri_sync;  /* blocking, for worker threads */
	char *runtime_version; /* "containerd://1.6.20", from CRI Version */
	char *node_uid;        /* once registered */
	struct node_status *ns;
	struct node_lease *lease;
	struct pod_worker *pw;
	struct pleg *pleg;
	struct kl_server *server;
	struct probe_mgr *probes;
	struct kl_events *events;
} kubelet;

/* ---- server.c ---- */
/* Serves the kubelet API (healthz, pods, containerLogs) on cfg.port; 0: nothing. */
int kl_server_start(kubelet *k);
void kl_server_stop(kubelet *k);

/* ---- config.c ---- */
struct ck_flags;
/* Applies a KubeletConfiguration file to cfg: each supported field unless its flag was
 * given in fs (may be NULL: then every field). Values are newly allocated and recorded in
 * cfg->alloc. Returns 0 or a negative code with err. */
int kl_config_apply_file(const char *path, const struct ck_flags *fs, kl_config *cfg, ck_err **err);
/* Frees what kl_config_apply_file allocated (the values it set become invalid). */
void kl_config_free_alloc(kl_config *cfg);

/* ---- node_status.c ---- */
/* Registers the node (create, or adopt the existing one) and updates its status every
 * cfg.node_status_update_ms. Retries with backoff on failure. on_registered (may be NULL)
 * runs once the node exists. */
int node_status_start(kubelet *k, void (*on_registered)(kubelet *k));
void node_status_stop(kubelet *k);
/* The node object as registered (built from flags and the machine): exposed for tests. */
cJSON *node_status_build_node(const kubelet *k);
/* The status part: capacity, allocatable, conditions, addresses, nodeInfo. */
cJSON *node_status_build_status(const kubelet *k);
/* The node IP in use (flag or detected). */
const char *node_status_ip(const kubelet *k);

/* ---- node_lease.c ---- */
int node_lease_start(kubelet *k);
void node_lease_stop(kubelet *k);

/* ---- events.c ---- */
/* Posts a core/v1 Event about pod (involvedObject; fieldPath "spec.containers{c}" when
 * container is non-NULL). type "Normal" or "Warning". Fire and forget. */
void kl_event(kubelet *k, const cJSON *pod, const char *container, const char *type,
              const char *reason, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Frees the cache of recent events. */
void kl_events_free(kubelet *k);
/* The Event object (for tests). */
cJSON *kl_event_build(const char *node, const cJSON *pod, const char *container, const char *type,
                      const char *reason, const char *message, const struct timespec *now);

/* ---- pod_worker.c ---- */
int pod_worker_start(kubelet *k);
/* Stops syncing. Returns how many syncs still run on worker threads (they finish on
 * their own; the process may exit without waiting for them). */
int pod_worker_stop(kubelet *k);
/* Enqueues "ns/name" for a sync (pleg, timers). */
void pod_worker_enqueue(kubelet *k, const char *key);
/* True once the pod informer delivered its first list. */
bool pod_worker_synced(kubelet *k);
/* The cached pod with key "ns/name", or NULL (borrowed). */
const cJSON *pod_worker_get(kubelet *k, const char *key);
/* All cached pods (borrowed pointers in a malloc'd array; NULL when none). */
const cJSON **pod_worker_list(kubelet *k, size_t *n);

/* ---- pleg.c ---- */
int pleg_start(kubelet *k);
void pleg_stop(kubelet *k);
/* True unless the last relist (one since the kubelet started) saw no sandbox and no
 * container of the pod key: then the runtime has nothing of it that this kubelet did not
 * make itself. */
bool pleg_may_know(const kubelet *k, const char *key);

/* ---- pod_sync.c (worker thread) ---- */

/* Image pull back-off of one image of one pod. */
typedef struct kl_pull_backoff {
	char *image;
	int failures;
	int64_t next_ms; /* CLOCK_REALTIME ms before which no pull is tried */
	char *message;   /* last failure */
	struct kl_pull_backoff *next;
} kl_pull_backoff;

/* What the kubelet remembers about a pod between syncs (all rebuildable: losing it
 * resets back-offs only). Owned by pod_worker; handed to one sync at a time. */
typedef struct pod_state {
	char *key;
	kl_pull_backoff *pulls;
	char *last_status; /* the status last written (JSON), to skip rewriting it */
	bool busy;
	bool synced; /* a sync of this key ran (or runs) */
	struct pod_state *next;
} pod_state;

/* An event the sync wants posted. */
typedef struct kl_sync_event {
	char *container; /* NULL: the pod */
	char *type, *reason, *message;
	struct kl_sync_event *next;
} kl_sync_event;

/* Waiting reason a sync decided for a container (image pull errors, back-off). */
typedef struct kl_waiting {
	char *container;
	char *reason, *message;
	struct kl_waiting *next;
} kl_waiting;

/* Probe results of one container instance: -1 unknown (or no such probe), 0 failed,
 * 1 succeeded. */
typedef struct kl_probe_result {
	char *cid;
	int ready, started;
} kl_probe_result;

/* A running container instance (for the probes). */
typedef struct kl_running {
	char *name, *id;
} kl_running;

/* The runtime's view of one pod: its sandboxes and containers (with status detail),
 * plus the probe results known for them (borrowed). */
typedef struct kl_runtime_pod {
	cri_sandbox *sandboxes;
	size_t n_sandboxes;
	cri_container *containers;
	size_t n_containers;
	const kl_probe_result *probes;
	size_t n_probes;
} kl_runtime_pod;
void kl_runtime_pod_clear(kl_runtime_pod *rp);

typedef struct pod_sync_in {
	const kl_config *cfg;
	cri_client *cri; /* blocking */
	const kubeconfig *kubeconfig;
	const char *node_ip;
	char *key;  /* "ns/name" */
	cJSON *pod; /* copy; NULL when the pod is gone from the API */
	pod_state *st;
	/* The runtime has nothing of the pod (pleg_may_know, and no sync of it ran): the
	 * sync need not ask before it creates the sandbox. */
	bool fresh;
	kl_probe_result *probes; /* a copy, from probe_results() */
	size_t n_probes;
} pod_sync_in;

typedef struct pod_sync_out {
	int requeue_ms;  /* > 0: sync again after this long */
	bool failed;     /* a step failed: retry with the queue's backoff */
	bool delete_pod; /* terminated: DELETE with grace 0 and uid precondition */
	cJSON *status;   /* the status to write when it differs; NULL: none */
	kl_sync_event *events;
	char *error;         /* for the log */
	kl_running *running; /* containers running after the sync (for the probes) */
	size_t n_running;
	char *pod_ip;
} pod_sync_out;

/* Reconciles one pod with the runtime (blocking CRI calls) and computes its status. */
void pod_sync_run(const pod_sync_in *in, pod_sync_out *out);
void pod_sync_out_clear(pod_sync_out *out);

/* ---- probe.c ---- */
/* Starts probe workers for the running containers of pod key (per their spec) and stops
 * those of containers no longer running (pod NULL: all of the pod's). */
void probe_update(kubelet *k, const char *key, const cJSON *pod, const kl_running *running,
                  size_t n, const char *pod_ip);
/* The pod's probe results (a malloc'd copy of *n items). */
kl_probe_result *probe_results(kubelet *k, const char *key, size_t *n);
void probe_results_free(kl_probe_result *v, size_t n);
void probe_stop_all(kubelet *k);

/* ---- env.c (worker thread) ---- */
/* The environment of container c (key/value vector in *out) from envFrom and env. Returns
 * 0, or -EINVAL with *error (malloc'd, upstream's words) when a configMap, secret or key
 * it needs is missing. */
int kl_env_build(const pod_sync_in *in, const cJSON *c, const char *pod_ip, char ***out,
                 char **error);
/* Expands $(NAME) references to variables of env (key/value vector); $$ is a literal $;
 * unknown references stay as written. malloc'd. */
char *kl_env_expand(const char *s, char *const *env);

/* ---- volumes.c (worker thread) ---- */
typedef struct kl_volumes {
	struct kl_volume {
		char *name;
		char *path; /* on the host */
	} * v;
	size_t n;
} kl_volumes;
/* Prepares in->pod's volumes. Returns 0, or a negative code with *error (malloc'd, in
 * upstream's words) when one cannot be set up. */
int volumes_setup(const pod_sync_in *in, kl_volumes *out, char **error);
void volumes_clear(kl_volumes *v);
/* The CRI mounts of container (its volumeMounts); strings they point at are pushed to
 * *owned (free with ck_strv_free). malloc'd array of *n. */
cri_mount *volumes_mounts(const kl_volumes *v, const cJSON *container, size_t *n, char ***owned);
/* Removes the pod's directories: <root-dir>/pods/<uid> (volumes) and
 * <pod-log-dir>/<ns>_<name>_<uid> (container logs). */
void volumes_remove(const kl_config *cfg, const char *ns, const char *name, const char *uid);

/* ---- pod_status.c ---- */
/* The PodStatus of pod from the runtime's view (rp), waiting reasons decided by the sync
 * (w), the node's IP, and now (for transition times of changed conditions). New object. */
cJSON *pod_status_compute(const cJSON *pod, const kl_runtime_pod *rp, const kl_waiting *w,
                          const char *host_ip, const struct timespec *now);
/* The phase pod_status_compute would give (for decisions in the sync). */
const char *pod_status_phase(const cJSON *pod, const kl_runtime_pod *rp, const kl_waiting *w);
/* The current container instance of name (highest attempt, then newest), or NULL; with
 * prev (may be NULL) the one before it. */
const cri_container *pod_status_current(const kl_runtime_pod *rp, const char *uid, const char *name,
                                        const cri_container **prev);
/* Nanoseconds since the epoch to RFC 3339 (seconds). malloc'd. */
char *kl_time_ns(int64_t ns);

#endif
