/* kubelet: the node agent. Shared declarations of the kubelet's files:
 *   main.c         flags and wiring
 *   node_status.c  registers the Node and keeps its status current
 *   node_lease.c   the node's Lease in kube-node-lease, renewed every 10 s
 *   pod_worker.c   pod informer + work queue; runs each pod's sync on a worker thread
 *                  and writes its results (status, events, final delete) on the loop
 *   pod_sync.c     one pod's reconcile against the runtime (CRI, blocking, worker thread):
 *                  the orchestration of the pieces below, each given the sync's context
 *   sandbox.c      the pod's sandbox: its config, RunPodSandbox, its IP, stop and remove
 *   lifecycle.c    a container's image, start, stop and removal, termination messages
 *   container_config.c  a container's CRI config and environment (pure)
 *   objects.c      the configMaps and secrets pods reference, fetched once per sync
 *   volumes.c      emptyDir, hostPath, configMap, secret, downwardAPI, projected volumes
 *   pod_status.c   the PodStatus computed from the spec and the runtime state (pure)
 *   pleg.c         relists the runtime every second and enqueues pods whose state moved
 *   probe.c        liveness / readiness / startup probes (exec, httpGet, tcpSocket)
 *   server.c       the kubelet API on --port: /healthz, /pods, /containerLogs
 *   config.c       --config (KubeletConfiguration)
 *   events.c       core/v1 Events
 *
 * Threads: everything runs on the one libuv loop except pod_sync_run() (and the pieces
 * it calls), which runs on a libuv worker thread with the blocking CRI client and
 * touches only what it was handed (a copy of the pod, its pod_state, a copy of its probe
 * results, the immutable config) and the cache of watched configMaps and secrets, under
 * its mutex (objects.c). Results go back to the loop in the work item's
 * completion callback. Why threads: a pod's sync is a sequence of dependent runtime calls
 * (pull, run sandbox, create, start, stop with a grace period of up to minutes); written
 * as blocking steps it stays readable, and the work queue guarantees one sync per pod at a
 * time. The relist, probes, node status and lease use the asynchronous CRI client on the
 * loop. */
#ifndef CK_KUBELET_H
#define CK_KUBELET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "api/client.h"
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
	struct kl_objects *objects;
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

/* ---- the sync's pieces (worker thread) ----
 * pod_sync.c orchestrates one sync; sandbox.c makes and removes sandboxes; lifecycle.c
 * pulls images and starts, stops and removes containers; container_config.c builds their
 * CRI config and environment (pure); volumes.c prepares the volumes; objects.c fetches
 * the configMaps and secrets. Each piece takes the sync's context, kl_sync. */

typedef struct kl_volumes {
	struct kl_volume {
		char *name;
		char *path; /* on the host */
	} * v;
	size_t n;
} kl_volumes;

/* The pod's sandbox config (sandbox.c): c points into the other fields and the pod. */
typedef struct kl_sandbox_cfg {
	cri_sandbox_config c;
	char *log_dir, *cgroup, *hostname;
	char **labels, **annotations;
	cri_port_mapping *ports;
	char **dns_servers, **dns_searches, **dns_options;
} kl_sandbox_cfg;

/* The IP of a sandbox this sync ran: PodSandboxStatus asked on a thread of its own
 * (sandbox.c), joined when the first container's environment needs it. */
typedef struct kl_sandbox_ip {
	cri_client *cri;
	char *sid;
	pthread_t thread;
	bool asking; /* the thread runs and has not been joined */
	cri_result r;
} kl_sandbox_ip;

/* A configMap or secret of the pod's namespace as one sync fetched it (objects.c). */
typedef struct kl_obj {
	bool secret;
	char *name;
	cJSON *obj;  /* NULL: it does not exist, or error */
	char *error; /* why it could not be read; NULL when obj or not found */
} kl_obj;

/* One pod's sync: what it works on, what it made, what it reports. Lives on the sync's
 * worker thread for one sync (pod_sync_run). The fields under "data" are what the pure
 * functions (container_config.c, sandbox_cfg_build) read. */
typedef struct kl_sync {
	/* data */
	const kl_config *cfg;
	const cJSON *pod; /* NULL: the pod is gone from the API */
	const char *ns, *name, *uid;
	const char *node_ip;
	char *pod_ip;      /* once known: sandbox_ip() */
	kl_sandbox_cfg sb; /* once built: sandbox_cfg_build() */
	kl_volumes vols;   /* once set up: volumes_setup() */
	kl_obj *objs;      /* configMaps and secrets fetched in this sync, each once */
	size_t n_objs;
	/* runtime and API */
	cri_client *cri;            /* blocking */
	struct kl_objects *objects; /* where objects_fetch reads configMaps and secrets */
	pod_state *st;              /* what is kept between syncs: pull back-offs */
	/* the sandbox the containers go in, once there is one */
	char *sid;
	bool new_sandbox; /* this sync ran it */
	kl_sandbox_ip ip;
	/* what the sync made and decided */
	kl_runtime_pod made; /* of a fresh pod: its view of the runtime afterwards */
	kl_waiting *waiting;
	pod_sync_out *out;
} kl_sync;

/* ---- pod_sync.c: the sync's outputs ---- */
/* Records an event about the pod (container NULL) or one of its containers. */
void kl_sync_add_event(kl_sync *x, const char *container, const char *type, const char *reason,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Records the waiting reason of a container for its status. */
void kl_sync_add_waiting(kl_sync *x, const char *container, const char *reason,
                         const char *message);
/* Asks for another sync within ms (the earliest asked wins). */
void kl_sync_requeue(kl_sync *x, int64_t ms);
/* Marks the sync failed (retried with the queue's back-off); the first message is kept. */
void kl_sync_error(kl_sync *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* CLOCK_REALTIME in ms. */
int64_t kl_now_ms(void);
/* The value of key in a CRI key/value vector, "" when absent. */
const char *kl_label(char *const *labels, const char *key);

/* ---- sandbox.c ---- */
/* The sandbox config of attempt `attempt` of pod (pure): name, labels, log directory,
 * cgroup parent, host ports, DNS per dnsPolicy. Free with sandbox_cfg_clear. */
void sandbox_cfg_build(const kl_config *cfg, const cJSON *pod, uint32_t attempt, kl_sandbox_cfg *s);
void sandbox_cfg_clear(kl_sandbox_cfg *s);
/* RunPodSandbox of x->sb: sets x->sid and x->new_sandbox and asks for its IP beside
 * what follows. Returns 0, or a negative code with the event and error recorded. */
int sandbox_run(kl_sync *x);
/* The pod's IP (NULL: host network, or the runtime did not tell); waits for the answer
 * of a question in flight. Also sets x->pod_ip. */
const char *sandbox_ip(kl_sync *x);
/* Joins the IP question and frees it. */
void sandbox_ip_done(kl_sandbox_ip *ip);
/* StopPodSandbox: its containers end, its network is released. Returns 0 (also when it
 * is gone) or a negative code with the error recorded. */
int sandbox_stop(kl_sync *x, const char *id);
/* sandbox_stop then RemovePodSandbox. Returns as sandbox_stop. */
int sandbox_remove(kl_sync *x, const char *id);
/* Stops the running containers of the pod's sandboxes in rp whose uid differs from
 * keep_uid (NULL: all), with grace_s (and Killing events when events), then removes
 * those sandboxes and their pods' directories. */
void sandbox_kill(kl_sync *x, const kl_runtime_pod *rp, const char *keep_uid, int64_t grace_s,
                  bool events);

/* ---- lifecycle.c ---- */
/* Restart and image pull back-off: 10 s doubling to 5 min (CrashLoopBackOff). */
#define KL_BACKOFF_BASE_MS 10000
#define KL_BACKOFF_MAX_MS  300000
/* The back-off after n failures. */
int64_t kl_backoff_ms(int n);
/* Makes container c's image present per its pull policy, with upstream's events and pull
 * back-off. True when it is; otherwise the container's waiting reason and a requeue are
 * recorded. */
bool lifecycle_ensure_image(kl_sync *x, const cJSON *c);
/* Creates and starts attempt `attempt` of container c in x->sid (its environment, config,
 * termination message file; then its postStart hook). Failures are recorded. */
void lifecycle_start(kl_sync *x, const cJSON *c, uint32_t attempt);
/* Starts container instance c that was created and never started. Failures recorded. */
void lifecycle_start_created(kl_sync *x, const cri_container *c);
/* Stops container instance c with grace_s (a Killing event when event; its preStop hook
 * first). An error other than "gone" is recorded. */
void lifecycle_kill(kl_sync *x, const cri_container *c, int64_t grace_s, bool event);
/* Removes container instance id (garbage collection: errors are not the sync's). */
void lifecycle_remove(kl_sync *x, const char *id);
/* Fills the message of exited containers of rp from their termination message file, or
 * per terminationMessagePolicy FallbackToLogsOnError from the log's end. */
void lifecycle_termination_messages(const kl_sync *x, kl_runtime_pod *rp);

/* ---- container_config.c (pure) ---- */
/* Expands $(NAME) references to variables of env (key/value vector); $$ is a literal $;
 * unknown references stay as written. malloc'd. */
char *kl_env_expand(const char *s, char *const *env);
/* The environment of container c (key/value vector in *out) from envFrom and env, with
 * the configMaps and secrets in x->objs and x->pod_ip. Returns 0, or -EINVAL with *error
 * (malloc'd, upstream's words) when a configMap, secret or key it needs is missing. */
int kl_env_build(const kl_sync *x, const cJSON *c, char ***out, char **error);
/* A container's CRI config; c points into the other fields, the pod and x. */
typedef struct kl_container_config {
	cri_container_config c;
	char **env, **command, **args, **labels, **annotations;
	char *log_path;
	cri_mount *mounts;
	char **owned; /* strings the mounts point at */
} kl_container_config;
/* The config of attempt `attempt` of container c of x->pod in sandbox x->sb: command and
 * args with $(VAR) expanded, environment, labels and annotations, mounts of x->vols per
 * volumeMounts plus termination_file (host path; NULL: none), resources and security
 * context. Returns 0, or -EINVAL with *error as kl_env_build. */
int container_config_build(const kl_sync *x, const cJSON *c, uint32_t attempt,
                           const char *termination_file, kl_container_config *out, char **error);
void container_config_clear(kl_container_config *cc);
/* <root-dir>/pods/<uid>/containers/<name>/<attempt>: the termination message file of a
 * container instance. malloc'd. */
char *kl_termination_path(const kl_config *cfg, const char *uid, const char *name,
                          uint32_t attempt);

/* ---- objects.c ---- */
/* The watched configMaps and secrets (loop side) and their cache (read by syncs). */
typedef struct kl_objects kl_objects;
kl_objects *objects_new(kubelet *k);
/* Registers the objects pod references (NULL, or terminating: none) under its key "ns/name",
 * watching the new ones and ending the watches nothing references any more. On the loop,
 * before the pod's sync is handed to a worker thread. */
void objects_set_pod(kl_objects *m, const char *key, const cJSON *pod);
/* From a sync thread: the current copy of a watched configMap or secret (*out NULL when it
 * does not exist), waiting up to 5 s for its first list. Returns 0, or a negative code with
 * *error (malloc'd): not watched, or the first list did not come. */
int objects_get(kl_objects *m, bool secret, const char *ns, const char *name, cJSON **out,
                char **error);
/* On the loop: ends every watch; syncs still running get errors, not waits. The cache
 * stays valid for them until objects_free. Accepts NULL. */
void objects_stop(kl_objects *m);
/* objects_stop, then frees m: no sync may use it any more. Accepts NULL. */
void objects_free(kl_objects *m);
/* Calls fn for each configMap and secret pod references: in its volumes (configMap,
 * secret, projected sources) when volumes, and in the env and envFrom of container c
 * (NULL: of every container and init container). */
void kl_pod_refs(const cJSON *pod, const cJSON *c, bool volumes,
                 void (*fn)(bool secret, const char *name, void *data), void *data);
/* Fetches, once per sync, the configMap or secret name of the pod's namespace into
 * x->objs; returns its entry (valid until the next fetch). */
const kl_obj *objects_fetch(kl_sync *x, bool secret, const char *name);
/* Fetches what container c's environment references. */
void objects_fetch_env(kl_sync *x, const cJSON *c);
/* The entry of name in x->objs, or NULL when it was not fetched. */
const kl_obj *kl_sync_obj(const kl_sync *x, bool secret, const char *name);
/* The value of key in a configMap's data (secret false) or a secret's (base64-decoded).
 * malloc'd; NULL when absent or malformed. */
char *kl_obj_value(const cJSON *obj, bool secret, const char *key);
void kl_objs_clear(kl_sync *x);

/* ---- volumes.c (worker thread) ---- */
/* Prepares x->pod's volumes into x->vols. Returns 0, or a negative code with *error
 * (malloc'd, in upstream's words) when one cannot be set up. */
int volumes_setup(kl_sync *x, char **error);
void volumes_clear(kl_volumes *v);
/* Makes each missing mount source a directory, as the runtime does for a missing host
 * path and upstream for a subPath that does not exist yet. */
void volumes_prepare_mounts(const cri_mount *m, size_t n);
/* Removes the pod's directories: <root-dir>/pods/<uid> (volumes) and
 * <pod-log-dir>/<ns>_<name>_<uid> (container logs). */
void volumes_remove(const kl_config *cfg, const char *ns, const char *name, const char *uid);
/* mkdir -p with mode. Returns 0 or a negative errno. */
int kl_mkdir_p(const char *path, mode_t mode);
/* True for a relative path without "..", as upstream validates item paths and subPaths. */
bool kl_safe_rel_path(const char *p);

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
