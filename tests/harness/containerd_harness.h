/* containerd_harness: a private containerd for integration tests.
 *
 * ch_containerd_start() makes a temporary directory holding everything of one
 * containerd instance (root, state, sockets, runc root, CNI config, IPAM data), writes a
 * version-2 config (CRI plugin with restrict_oom_score_adj, netns under the state dir,
 * runc with cgroupfs, CNI from /usr/lib/cni) and starts containerd on it, keeping its PID.
 * It returns once the gRPC socket accepts connections.
 *
 * ch_containerd_stop() tears everything down by PID: kills every process in the
 * instance's cgroup parent (the containers), its shims (found by their -address argument),
 * then containerd itself; unmounts whatever the instance mounted under its directory,
 * removes the cgroup directories it made and the shim sockets it left, and deletes the
 * directory. Safe on a half-started instance.
 *
 * containerd runs in a network and a mount namespace of its own (unless host_netns):
 * the default CNI config (bridge cni0 + host-local 10.88.0.0/24, no routes beyond the
 * subnet, portmap) creates every interface there, so pods reach nothing outside it;
 * netns and rootfs mounts stay in that mount namespace and vanish with the last shim.
 * The socket is on the shared filesystem: clients outside reach it as usual.
 *
 * Pods started through this instance must use ch->cgroup_parent as their cgroup parent
 * so that the stop finds and kills them. containerd dies with the test process
 * (PDEATHSIG), and instances still running at exit() are stopped by an atexit hook; what
 * a test process killed outright leaves behind (shims, containers, cgroups, directory) is
 * removed by the next ch_containerd_start of any test, which finds the instance's owner
 * PID gone. */
#ifndef CK_TESTS_CONTAINERD_HARNESS_H
#define CK_TESTS_CONTAINERD_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"

typedef struct ch_containerd {
	pid_t pid;           /* containerd */
	char *dir;           /* the instance's directory (owned) */
	char *socket;        /* <dir>/containerd.sock */
	char *endpoint;      /* "unix://<socket>" */
	char *cgroup_parent; /* "/ckube-test-<pid>-<n>": give it to every pod sandbox */
	char *log_dir;       /* <dir>/pods: a place for pod log directories */
	char *log_file;      /* containerd's own output */
} ch_containerd;

typedef struct ch_containerd_opts {
	const char *sandbox_image; /* NULL: "registry.k8s.io/pause:3.9" (import it yourself) */
	const char *cni_conflist;  /* NULL: the bridge default above; else a conflist's JSON */
	bool host_netns;           /* run in the host's namespaces (host-network pods only) */
} ch_containerd_opts;

/* Starts a private containerd. opts may be NULL. Returns 0 and *out (stop it with
 * ch_containerd_stop), or a negative code with err; nothing is left behind on failure. */
int ch_containerd_start(const ch_containerd_opts *opts, ch_containerd **out, ck_err **err);

/* Removes what instances of dead test processes left behind (done by the first
 * ch_containerd_start of a process; exposed for tests). */
void ch_reap_stale(void);

/* Tears the instance down completely (see above) and frees it. Accepts NULL. */
void ch_containerd_stop(ch_containerd *c);

/* Imports an OCI image tar into the k8s.io namespace (`ctr images import`), making it
 * visible to the CRI. Returns 0 or a negative code with err (ctr's output in the message). */
int ch_containerd_import(ch_containerd *c, const char *tar, ck_err **err);

/* Builds an OCI image tar at out_tar named name ("docker.io/library/busybox:ckube") whose
 * single uncompressed layer holds /bin/busybox (static) with its common applets and
 * /etc/passwd; cmd_json is the config's Cmd ("[\"sh\"]"). Returns 0 or a negative code. */
int ch_image_build_busybox(const char *out_tar, const char *name, const char *cmd_json,
                           ck_err **err);

/* Builds a pause image tar holding only the static binary at pause_bin as /pause
 * (Entrypoint ["/pause"]). pause_bin NULL: CKUBE_BINARY_DIR/deploy/images/pause/pause. */
int ch_image_build_pause(const char *out_tar, const char *name, const char *pause_bin,
                         ck_err **err);

/* Removes a directory tree, not crossing into mount points (detaching them first).
 * Returns 0 or a negative code. */
int ch_rm_rf(const char *path);

/* Creates a fresh temporary directory "/tmp/<prefix>XXXXXX" (malloc'd) or NULL. */
char *ch_mkdtemp(const char *prefix);

/* Kills every process in cgroup (a path relative to each v1 hierarchy root, such as
 * "/ckube-test-1-0") and removes its directories bottom-up in every hierarchy. */
void ch_cgroup_destroy(const char *cgroup);

#endif
