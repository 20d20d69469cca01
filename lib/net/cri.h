/* cri: a client of the Container Runtime Interface v1 (runtime.v1 RuntimeService and
 * ImageService) over lib/net/grpc, for containerd's CRI plugin and any CRI runtime.
 *
 * Transport only: requests are plain C structs (cri_sandbox_config,
 * cri_container_config) and results come back as plain owned C structs (cri_sandbox,
 * cri_container, cri_image); protobuf-c stays inside cri*.c. It knows no Kubernetes kind.
 *
 * Two modes, one API:
 *   - asynchronous (cri_client_new with a ckgrpc_loop): every call returns at once and
 *     its callback runs later on the loop thread, exactly once, also on failure;
 *   - blocking (cri_client_new with loop NULL, for worker threads, tests and CLIs; see
 *     cri_result below): the call runs to completion in the calling thread and the
 *     callback runs before the call returns. Never on a loop thread.
 * A call that cannot start (bad arguments) still calls its callback (with the error),
 * in the async mode from the loop, never from inside the call.
 *
 * Labels and annotations are NULL-terminated vectors of alternating keys and values:
 * {"k1", "v1", "k2", "v2", NULL}. Timestamps are nanoseconds since the epoch, as the CRI
 * gives them. Error codes follow lib/net/grpc (NOT_FOUND -ENOENT, UNAVAILABLE
 * CK_EUNAVAILABLE, DEADLINE_EXCEEDED -ETIMEDOUT, ...); err carries the runtime's message. */
#ifndef CK_NET_CRI_H
#define CK_NET_CRI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "net/grpc.h"

typedef struct cri_client cri_client;

typedef struct cri_client_opts {
	const char *endpoint; /* "unix:///run/containerd/containerd.sock" or a bare socket path */
	int timeout_ms;      /* per-call deadline; 0: 120000 (upstream's runtime-request-timeout) */
	int pull_timeout_ms; /* PullImage deadline; 0: 600000 */
} cri_client_opts;

/* Creates a client. loop NULL: blocking mode (see above). Connects lazily. Returns 0 and
 * *out, or a negative code with err. */
int cri_client_new(ckgrpc_loop *loop, const cri_client_opts *opts, cri_client **out, ck_err **err);
/* Frees the client. Async calls still in flight must have completed (or be cancelled
 * through ckgrpc_loop_free) before. Accepts NULL; returns NULL. */
cri_client *cri_client_free(cri_client *c);
/* The endpoint as a gRPC target ("unix:///..."). */
const char *cri_client_endpoint(const cri_client *c);

/* ---- vectors ---- */
/* Value for key in a key/value vector, or NULL. */
const char *cri_kv_get(char *const *kv, const char *key);
/* Frees a NULL-terminated string vector; accepts NULL. */
void cri_strv_free(char **v);
/* Deep copy of a NULL-terminated vector (NULL for NULL). */
char **cri_strv_dup(char *const *v);

/* ---- results ---- */
enum cri_sandbox_state { CRI_SANDBOX_READY = 0, CRI_SANDBOX_NOTREADY = 1 };
enum cri_container_state {
	CRI_CONTAINER_CREATED = 0,
	CRI_CONTAINER_RUNNING = 1,
	CRI_CONTAINER_EXITED = 2,
	CRI_CONTAINER_UNKNOWN = 3,
};
/* "CONTAINER_RUNNING" etc., for logs. */
const char *cri_container_state_name(enum cri_container_state s);

typedef struct cri_sandbox {
	char *id;
	char *name, *uid, *namespace; /* metadata */
	uint32_t attempt;
	enum cri_sandbox_state state;
	int64_t created_at;
	char **labels, **annotations; /* key/value vectors, never NULL */
	/* From PodSandboxStatus only (NULL / empty from a list): */
	char *ip;              /* primary pod IP, NULL when none (host network, loopback) */
	char **additional_ips; /* NULL-terminated, never NULL */
	int network_mode;      /* NamespaceMode of the network namespace: 0 POD, 2 NODE */
} cri_sandbox;

typedef struct cri_container {
	char *id, *sandbox_id;
	char *name; /* metadata */
	uint32_t attempt;
	char *image, *image_ref;
	enum cri_container_state state;
	int64_t created_at;
	char **labels, **annotations;
	/* From ContainerStatus only (0 / NULL from a list): */
	int64_t started_at, finished_at;
	int32_t exit_code;
	char *reason, *message, *log_path;
} cri_container;

typedef struct cri_image {
	char *id;
	char **repo_tags, **repo_digests; /* never NULL */
	uint64_t size;
} cri_image;

void cri_sandbox_free(cri_sandbox *s);
void cri_container_free(cri_container *c);
void cri_image_free(cri_image *i);
/* Arrays as handed to list callbacks: n items, each freed, then the array. */
void cri_sandboxes_free(cri_sandbox *v, size_t n);
void cri_containers_free(cri_container *v, size_t n);
void cri_images_free(cri_image *v, size_t n);
/* Releases the fields of one item in place (for items inside arrays). */
void cri_sandbox_clear(cri_sandbox *s);
void cri_container_clear(cri_container *c);
void cri_container_copy(cri_container *dst, const cri_container *src);

typedef struct cri_version {
	const char *version, *runtime_name, *runtime_version, *runtime_api_version;
} cri_version;

typedef struct cri_runtime_status {
	bool runtime_ready, network_ready;
	const char *runtime_reason, *runtime_message;
	const char *network_reason, *network_message;
} cri_runtime_status;

/* ---- requests ---- */
typedef struct cri_port_mapping {
	int protocol; /* 0 TCP, 1 UDP, 2 SCTP */
	int32_t container_port, host_port;
	const char *host_ip;
} cri_port_mapping;

typedef struct cri_sandbox_config {
	const char *name, *uid, *namespace;
	uint32_t attempt;
	const char *hostname;
	const char *log_directory;
	const char *cgroup_parent;
	bool host_network; /* network namespace NODE instead of POD */
	const char *const *labels, *const *annotations;
	const cri_port_mapping *ports;
	size_t n_ports;
	/* DNS for /etc/resolv.conf (NULL-terminated; NULL: the runtime's default). */
	const char *const *dns_servers, *const *dns_searches, *const *dns_options;
	const char *runtime_handler;
} cri_sandbox_config;

typedef struct cri_mount {
	const char *container_path, *host_path;
	bool readonly;
} cri_mount;

typedef struct cri_container_config {
	const char *name;
	uint32_t attempt;
	const char *image;
	const char *const *command, *const *args; /* NULL-terminated; NULL: image default */
	const char *working_dir;
	const char *const *envs; /* key/value vector */
	const char *const *labels, *const *annotations;
	const cri_mount *mounts;
	size_t n_mounts;
	const char *log_path; /* relative to the sandbox's log_directory */
	bool tty, stdin_open;
	bool host_network;   /* must match the sandbox */
	int64_t run_as_user; /* < 0: image default */
	bool privileged;
	/* cgroup limits (0: none): CFS shares, quota and period (us), memory bytes */
	int64_t cpu_shares, cpu_quota, cpu_period, memory_limit;
} cri_container_config;

/* ---- callbacks ---- */
typedef void (*cri_done_cb)(int rc, const ck_err *err, void *data);
/* id: the new sandbox or container id, or the pulled image ref; borrowed. */
typedef void (*cri_id_cb)(int rc, const char *id, const ck_err *err, void *data);
typedef void (*cri_version_cb)(int rc, const cri_version *v, const ck_err *err, void *data);
typedef void (*cri_status_cb)(int rc, const cri_runtime_status *s, const ck_err *err, void *data);
/* Owned results: the callback takes v (free with cri_*s_free) and may keep it. */
typedef void (*cri_sandboxes_cb)(int rc, cri_sandbox *v, size_t n, const ck_err *err, void *data);
typedef void (*cri_containers_cb)(int rc, cri_container *v, size_t n, const ck_err *err,
                                  void *data);
typedef void (*cri_sandbox_cb)(int rc, cri_sandbox *s, const ck_err *err, void *data);
typedef void (*cri_container_cb)(int rc, cri_container *c, const ck_err *err, void *data);
/* img NULL with rc 0: the image is not present. Owned by the callback. */
typedef void (*cri_image_cb)(int rc, cri_image *img, const ck_err *err, void *data);
typedef void (*cri_images_cb)(int rc, cri_image *v, size_t n, const ck_err *err, void *data);
/* Output borrowed. */
typedef void (*cri_exec_cb)(int rc, int32_t exit_code, const char *out, size_t out_len,
                            const char *errout, size_t err_len, const ck_err *err, void *data);

/* ---- RuntimeService ---- */
void cri_version_get(cri_client *c, cri_version_cb cb, void *data);
void cri_status(cri_client *c, cri_status_cb cb, void *data);

/* RunPodSandbox: cb gets the sandbox id. */
void cri_run_sandbox(cri_client *c, const cri_sandbox_config *cfg, cri_id_cb cb, void *data);
void cri_stop_sandbox(cri_client *c, const char *id, cri_done_cb cb, void *data);
void cri_remove_sandbox(cri_client *c, const char *id, cri_done_cb cb, void *data);
void cri_sandbox_status(cri_client *c, const char *id, cri_sandbox_cb cb, void *data);
/* ListPodSandbox; labels (key/value vector, may be NULL) must all match; ready_only
 * keeps only SANDBOX_READY ones. */
void cri_list_sandboxes(cri_client *c, const char *const *labels, bool ready_only,
                        cri_sandboxes_cb cb, void *data);

/* CreateContainer in sandbox_id; sandbox is the config the sandbox was run with. */
void cri_create_container(cri_client *c, const char *sandbox_id, const cri_container_config *cfg,
                          const cri_sandbox_config *sandbox, cri_id_cb cb, void *data);
void cri_start_container(cri_client *c, const char *id, cri_done_cb cb, void *data);
/* StopContainer: SIGTERM (or the image's stop signal), SIGKILL after timeout_s seconds.
 * The call's deadline is extended by timeout_s. */
void cri_stop_container(cri_client *c, const char *id, int64_t timeout_s, cri_done_cb cb,
                        void *data);
void cri_remove_container(cri_client *c, const char *id, cri_done_cb cb, void *data);
/* ListContainers; sandbox_id and labels (may be NULL) filter. */
void cri_list_containers(cri_client *c, const char *sandbox_id, const char *const *labels,
                         cri_containers_cb cb, void *data);
void cri_container_status(cri_client *c, const char *id, cri_container_cb cb, void *data);
/* ExecSync: runs cmd (NULL-terminated) in the container, timeout_s 0: none. */
void cri_exec_sync(cri_client *c, const char *id, const char *const *cmd, int64_t timeout_s,
                   cri_exec_cb cb, void *data);

/* ---- ImageService ---- */
/* PullImage: cb gets the image ref (the image id). */
void cri_pull_image(cri_client *c, const char *image, const cri_sandbox_config *sandbox,
                    cri_id_cb cb, void *data);
/* ImageStatus: img NULL when absent. */
void cri_image_status(cri_client *c, const char *image, cri_image_cb cb, void *data);
void cri_list_images(cri_client *c, cri_images_cb cb, void *data);
void cri_remove_image(cri_client *c, const char *image, cri_done_cb cb, void *data);

/* ---- one call's outcome, kept ----
 * Pass cri_result_on_<kind> as the callback and a zeroed cri_result as data; the callback
 * stores what it got: with the blocking client the result is filled when the call returns
 * (the kubelet's pod workers), with the async one once done is set (a test runs the loop
 * until then). One call per result: cri_result_clear between calls. */
typedef struct cri_result {
	bool done; /* the callback ran */
	int rc;
	char *msg; /* the call's error message, NULL when it had none (see cri_result_msg) */
	char *id;  /* cri_result_on_id */
	cri_sandbox *sandbox;     /* cri_result_on_sandbox */
	cri_container *container; /* cri_result_on_container */
	cri_image *image;         /* cri_result_on_image: NULL when the image is absent */
	/* Lists (cri_result_on_sandboxes / _containers / _images): n items. */
	cri_sandbox *sandboxes;
	cri_container *containers;
	cri_image *images;
	size_t n;
	struct { /* cri_result_on_version */
		char *version, *runtime_name, *runtime_version, *runtime_api_version;
	} version;
	struct { /* cri_result_on_status */
		bool runtime_ready, network_ready;
		char *runtime_reason, *runtime_message, *network_reason, *network_message;
	} status;
	struct { /* cri_result_on_exec: on success out and errout are NUL-terminated */
		int32_t exit_code;
		char *out, *errout;
		size_t out_len, err_len;
	} exec;
} cri_result;

/* Callbacks for each kind of call above; data is the cri_result. Results handed over
 * (sandboxes, containers, images) are kept, the rest copied. */
void cri_result_on_done(int rc, const ck_err *err, void *data);
void cri_result_on_id(int rc, const char *id, const ck_err *err, void *data);
void cri_result_on_version(int rc, const cri_version *v, const ck_err *err, void *data);
void cri_result_on_status(int rc, const cri_runtime_status *s, const ck_err *err, void *data);
void cri_result_on_sandbox(int rc, cri_sandbox *s, const ck_err *err, void *data);
void cri_result_on_container(int rc, cri_container *c, const ck_err *err, void *data);
void cri_result_on_image(int rc, cri_image *img, const ck_err *err, void *data);
void cri_result_on_sandboxes(int rc, cri_sandbox *v, size_t n, const ck_err *err, void *data);
void cri_result_on_containers(int rc, cri_container *v, size_t n, const ck_err *err, void *data);
void cri_result_on_images(int rc, cri_image *v, size_t n, const ck_err *err, void *data);
void cri_result_on_exec(int rc, int32_t exit_code, const char *out, size_t out_len,
                        const char *errout, size_t err_len, const ck_err *err, void *data);
/* Text for a failed call: its error's message, else the code's; NULL when rc >= 0 and
 * there was no message. Valid until r is cleared. */
const char *cri_result_msg(const cri_result *r);
/* Frees what r holds and zeroes it for the next call. */
void cri_result_clear(cri_result *r);

#endif
