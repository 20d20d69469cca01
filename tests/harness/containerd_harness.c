/* containerd_harness: see containerd_harness.h. */
#include "containerd_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <sched.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proc_harness.h"

static const char *const cgroup_hierarchies[] = {
    "cpu",     "cpuacct", "cpuset",  "memory",   "devices",    "freezer", "blkio", "pids",
    "systemd", "unified", "net_cls", "net_prio", "perf_event", "hugetlb", "rdma",  "misc",
};

char *ch_mkdtemp(const char *prefix)
{
	char *t = ck_asprintf("/tmp/%sXXXXXX", prefix);
	if (!mkdtemp(t)) {
		free(t);
		return NULL;
	}
	return t;
}

static int write_file(const char *path, const char *content, ck_err **err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ck_err_errno(err, -errno, "open %s", path);
	size_t len = strlen(content);
	while (len) {
		ssize_t n = write(fd, content, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ck_err_errno(err, -errno, "write %s", path);
		}
		content += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- images ---- */

/* Builds an OCI layout tar from a rootfs directory: one uncompressed layer (its digest
 * is then also its diff_id), a config, a manifest and an index naming the image. */
static const char mkimg_script[] =
    "set -eu\n"
    "out=$1 name=$2 rootfs=$3 config=$4\n"
    "w=$(mktemp -d /tmp/ckube-img.XXXXXX)\n"
    "trap 'rm -rf \"$w\"' EXIT\n"
    "mkdir -p \"$w/blobs/sha256\"\n"
    "tar -C \"$rootfs\" --numeric-owner --owner=0 --group=0 -cf \"$w/layer\" .\n"
    "blob() { d=$(sha256sum \"$w/$1\" | cut -d' ' -f1); s=$(stat -c %s \"$w/$1\");"
    " mv \"$w/$1\" \"$w/blobs/sha256/$d\"; echo \"$d $s\"; }\n"
    "set -- $(blob layer); ld=$1 ls=$2\n"
    "printf '{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":%s,"
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:%s\"]}}' \"$config\" $ld"
    " > \"$w/config\"\n"
    "set -- $(blob config); cd=$1 cs=$2\n"
    "printf '{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
    "\"digest\":\"sha256:%s\",\"size\":%s},\"layers\":[{\"mediaType\":"
    "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:%s\",\"size\":%s}]}'"
    " $cd $cs $ld $ls > \"$w/manifest\"\n"
    "set -- $(blob manifest); md=$1 ms=$2\n"
    "printf '{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
    "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:%s\",\"size\":%s,"
    "\"annotations\":{\"io.containerd.image.name\":\"%s\"}}]}' $md $ms \"$IMGNAME\""
    " > \"$w/index.json\"\n"
    "printf '{\"imageLayoutVersion\":\"1.0.0\"}' > \"$w/oci-layout\"\n"
    "tar -C \"$w\" -cf \"$out\" oci-layout index.json blobs\n";

static int build_image(const char *out_tar, const char *name, const char *rootfs,
                       const char *config_json, ck_err **err)
{
	setenv("IMGNAME", name, 1);
	char *argv[] = {
	    "/bin/sh",    "-c",           (char *)mkimg_script, "mkimg", (char *)out_tar,
	    (char *)name, (char *)rootfs, (char *)config_json,  NULL};
	_cleanup_free_ char *out = NULL;
	int r = harness_run(argv, &out, err);
	unsetenv("IMGNAME");
	if (r < 0)
		return r;
	if (r != 0)
		return ck_err_set(err, -EIO, "building image %s: exit %d: %s", name, r, out);
	return 0;
}

int ch_image_build_busybox(const char *out_tar, const char *name, const char *cmd_json,
                           ck_err **err)
{
	static const char *const applets[] = {"sh",    "sleep",    "echo", "cat",  "ls",   "true",
	                                      "false", "env",      "kill", "test", "date", "mkdir",
	                                      "touch", "rm",       "ps",   "wget", "nc",   "httpd",
	                                      "ip",    "hostname", "id",   "grep", "head", "wc"};
	_cleanup_free_ char *root = ch_mkdtemp("ckube-rootfs.");
	if (!root)
		return ck_err_errno(err, -errno, "mkdtemp");
	int r = 0;
	_cleanup_free_ char *bin = ck_asprintf("%s/bin", root);
	_cleanup_free_ char *etc = ck_asprintf("%s/etc", root);
	_cleanup_free_ char *tmp = ck_asprintf("%s/tmp", root);
	if (mkdir(bin, 0755) < 0 || mkdir(etc, 0755) < 0 || mkdir(tmp, 01777) < 0) {
		r = ck_err_errno(err, -errno, "mkdir in %s", root);
		goto out;
	}
	{
		_cleanup_free_ char *dst = ck_asprintf("%s/busybox", bin);
		char *cp[] = {"cp", "/bin/busybox", dst, NULL};
		r = harness_run(cp, NULL, err);
		if (r != 0) {
			r = r < 0 ? r : ck_err_set(err, -EIO, "cp /bin/busybox failed");
			goto out;
		}
	}
	for (size_t i = 0; i < CK_ARRAY_SIZE(applets); i++) {
		_cleanup_free_ char *l = ck_asprintf("%s/%s", bin, applets[i]);
		if (symlink("busybox", l) < 0) {
			r = ck_err_errno(err, -errno, "symlink %s", l);
			goto out;
		}
	}
	{
		_cleanup_free_ char *pw = ck_asprintf("%s/passwd", etc);
		_cleanup_free_ char *gr = ck_asprintf("%s/group", etc);
		r = write_file(
		    pw, "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n", err);
		if (r == 0)
			r = write_file(gr, "root:x:0:\nnobody:x:65534:\n", err);
		if (r < 0)
			goto out;
	}
	{
		_cleanup_free_ char *cfg =
		    ck_asprintf("{\"Cmd\":%s,\"Env\":[\"PATH=/bin\"]}", cmd_json);
		r = build_image(out_tar, name, root, cfg, err);
	}
out:
	ch_rm_rf(root);
	return r;
}

int ch_image_build_pause(const char *out_tar, const char *name, const char *pause_bin, ck_err **err)
{
	const char *src = pause_bin ? pause_bin : CKUBE_BINARY_DIR "/deploy/images/pause/pause";
	if (access(src, X_OK) < 0)
		return ck_err_errno(err, -errno, "pause binary %s", src);
	_cleanup_free_ char *root = ch_mkdtemp("ckube-rootfs.");
	if (!root)
		return ck_err_errno(err, -errno, "mkdtemp");
	_cleanup_free_ char *dst = ck_asprintf("%s/pause", root);
	char *cp[] = {"cp", (char *)src, dst, NULL};
	int r = harness_run(cp, NULL, err);
	if (r == 0)
		r = build_image(out_tar, name, root, "{\"Entrypoint\":[\"/pause\"]}", err);
	else if (r > 0)
		r = ck_err_set(err, -EIO, "cp %s failed", src);
	ch_rm_rf(root);
	return r;
}

/* ---- teardown helpers ---- */

/* Mount points at or under dir, deepest last in mountinfo order; returns a
 * NULL-terminated malloc'd vector. */
static char **mounts_under(const char *dir)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	size_t n = 0;
	char **v = ck_calloc(1, sizeof(char *));
	if (!f)
		return v;
	size_t dl = strlen(dir);
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint ... */
		char *save = NULL, *tok = strtok_r(line, " ", &save);
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &save);
		if (!tok)
			continue;
		if (strncmp(tok, dir, dl) != 0 || (tok[dl] != 0 && tok[dl] != '/'))
			continue;
		v = ck_realloc(v, (n + 2) * sizeof(char *));
		v[n++] = ck_strdup(tok);
		v[n] = NULL;
	}
	free(line);
	fclose(f);
	return v;
}

static void unmount_under(const char *dir)
{
	/* Stacked mounts: repeat until nothing is left (bounded). */
	for (int round = 0; round < 8; round++) {
		char **v = mounts_under(dir);
		size_t n = 0;
		while (v[n])
			n++;
		for (size_t i = n; i-- > 0;) {
			umount2(v[i], MNT_DETACH);
			free(v[i]);
		}
		free(v);
		if (n == 0)
			break;
	}
}

static int rm_rf_at(int dfd, const char *name, dev_t dev)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (st.st_dev != dev)
		return -EBUSY; /* a mount point: never cross into it */
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	int r = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		int q = rm_rf_at(fd, e->d_name, dev);
		if (q < 0 && r == 0)
			r = q;
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
		r = -errno;
	return r;
}

int ch_rm_rf(const char *path)
{
	if (!path)
		return 0;
	unmount_under(path);
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	return rm_rf_at(AT_FDCWD, path, st.st_dev);
}

typedef struct pidfds {
	int *fd;
	size_t n;
} pidfds;

/* SIGKILLs every task listed in a cgroup.procs file, keeping a pidfd of each to wait on. */
static void kill_procs_file(const char *procs, pidfds *w)
{
	FILE *f = fopen(procs, "re");
	if (!f)
		return;
	char line[64];
	while (fgets(line, sizeof(line), f)) {
		char *end;
		long pid = strtol(line, &end, 10);
		if (end == line || pid <= 1)
			continue;
		int fd = pidfd_open((pid_t)pid, 0);
		if (kill((pid_t)pid, SIGKILL) < 0 || fd < 0) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		w->fd = ck_realloc(w->fd, (w->n + 1) * sizeof(int));
		w->fd[w->n++] = fd;
	}
	fclose(f);
}

/* Kills the processes of a cgroup directory tree. */
static void cgroup_kill_tree(const char *path, pidfds *w)
{
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		_cleanup_free_ char *sub = ck_asprintf("%s/%s", path, e->d_name);
		cgroup_kill_tree(sub, w);
	}
	closedir(d);
	_cleanup_free_ char *procs = ck_asprintf("%s/cgroup.procs", path);
	kill_procs_file(procs, w);
}

/* Removes a cgroup tree bottom-up (cgroup directories are removed with rmdir only).
 * Returns false while some directory still holds tasks. */
static bool cgroup_rmdir_tree(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return true;
	bool ok = true;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		_cleanup_free_ char *sub = ck_asprintf("%s/%s", path, e->d_name);
		ok = cgroup_rmdir_tree(sub) && ok;
	}
	closedir(d);
	if (rmdir(path) < 0 && errno != ENOENT)
		ok = false;
	return ok;
}

void ch_cgroup_destroy(const char *cgroup)
{
	/* A killed task leaves its cgroup when it exits, which is when its pidfd polls
	 * readable; rmdir fails with EBUSY before. Kill, wait for the exits (bounded), and
	 * repeat for tasks that forked meanwhile. */
	for (int round = 0; round < 5; round++) {
		pidfds w = {0};
		for (size_t i = 0; i < CK_ARRAY_SIZE(cgroup_hierarchies); i++) {
			_cleanup_free_ char *p =
			    ck_asprintf("/sys/fs/cgroup/%s%s", cgroup_hierarchies[i], cgroup);
			cgroup_kill_tree(p, &w);
		}
		for (size_t i = 0; i < w.n; i++) {
			struct pollfd p = {.fd = w.fd[i], .events = POLLIN};
			poll(&p, 1, 5000);
			close(w.fd[i]);
		}
		free(w.fd);
		bool ok = true;
		for (size_t i = 0; i < CK_ARRAY_SIZE(cgroup_hierarchies); i++) {
			_cleanup_free_ char *p =
			    ck_asprintf("/sys/fs/cgroup/%s%s", cgroup_hierarchies[i], cgroup);
			ok = cgroup_rmdir_tree(p) && ok;
		}
		if (ok)
			return;
	}
}

/* Reads /proc/<pid>/cmdline into a malloc'd buffer with NULs replaced by spaces. */
static char *proc_cmdline(pid_t pid)
{
	_cleanup_free_ char *path = ck_asprintf("/proc/%d/cmdline", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *buf = ck_malloc(8192);
	ssize_t n = read(fd, buf, 8191);
	if (n <= 0) {
		free(buf);
		return NULL;
	}
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = 0;
	return buf;
}

/* Shims of this instance: containerd-shim processes whose -address names our socket. */
static void kill_shims(const char *socket)
{
	DIR *d = opendir("/proc");
	if (!d)
		return;
	_cleanup_free_ char *needle = ck_asprintf("-address %s ", socket);
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 1)
			continue;
		_cleanup_free_ char *cmd = proc_cmdline((pid_t)pid);
		if (cmd && strstr(cmd, "containerd-shim") && strstr(cmd, needle))
			kill((pid_t)pid, SIGKILL);
	}
	closedir(d);
}

/* Unlinks the shim sockets under /run/containerd/s named in the bundles' address files. */
static void remove_shim_sockets(const char *state_dir)
{
	_cleanup_free_ char *tasks = ck_asprintf("%s/io.containerd.runtime.v2.task", state_dir);
	DIR *ns = opendir(tasks);
	if (!ns)
		return;
	struct dirent *n;
	while ((n = readdir(ns))) {
		if (n->d_name[0] == '.')
			continue;
		_cleanup_free_ char *nsdir = ck_asprintf("%s/%s", tasks, n->d_name);
		DIR *b = opendir(nsdir);
		if (!b)
			continue;
		struct dirent *e;
		while ((e = readdir(b))) {
			if (e->d_name[0] == '.')
				continue;
			_cleanup_free_ char *af = ck_asprintf("%s/%s/address", nsdir, e->d_name);
			FILE *f = fopen(af, "re");
			if (!f)
				continue;
			char addr[PATH_MAX];
			if (fgets(addr, sizeof(addr), f)) {
				addr[strcspn(addr, "\n")] = 0;
				const char *p = addr;
				if (!strncmp(p, "unix://", 7))
					p += 7;
				if (!strncmp(p, "/run/containerd/s/", 18))
					unlink(p);
			}
			fclose(f);
		}
		closedir(b);
	}
	closedir(ns);
}

/* Instances still running, for the atexit hook. */
static ch_containerd *running[16];

static void track(ch_containerd *c, bool add)
{
	for (size_t i = 0; i < CK_ARRAY_SIZE(running); i++) {
		if (add && !running[i]) {
			running[i] = c;
			return;
		}
		if (!add && running[i] == c) {
			running[i] = NULL;
			return;
		}
	}
}

static void stop_all_at_exit(void)
{
	for (size_t i = 0; i < CK_ARRAY_SIZE(running); i++)
		if (running[i])
			ch_containerd_stop(running[i]);
}

static void free_instance(ch_containerd *c)
{
	track(c, false);
	free(c->dir);
	free(c->socket);
	free(c->endpoint);
	free(c->cgroup_parent);
	free(c->log_dir);
	free(c->log_file);
	free(c);
}

void ch_containerd_stop(ch_containerd *c)
{
	if (!c)
		return;
	/* Containers first (their cgroup), then the shims, then containerd: nothing that
	 * could restart or re-parent a container is left when the cgroup goes. */
	ch_cgroup_destroy(c->cgroup_parent);
	kill_shims(c->socket);
	harness_kill(&c->pid, SIGTERM);
	/* containerd 1.6 puts sandboxes without a cgroup parent under /k8s.io; a test
	 * that forgot ours leaves nothing behind this way either (only empty dirs). */
	_cleanup_free_ char *state = ck_asprintf("%s/state", c->dir);
	remove_shim_sockets(state);
	ch_cgroup_destroy(c->cgroup_parent);
	ch_rm_rf(c->dir);
	free_instance(c);
}

static const char config_template[] =
    "version = 2\n"
    "root = \"%1$s/root\"\n"
    "state = \"%1$s/state\"\n"
    "[grpc]\n"
    "  address = \"%1$s/containerd.sock\"\n"
    "[ttrpc]\n"
    "  address = \"%1$s/containerd.sock.ttrpc\"\n"
    "[debug]\n"
    "  address = \"%1$s/debug.sock\"\n"
    "[plugins.\"io.containerd.internal.v1.opt\"]\n"
    "  path = \"%1$s/opt\"\n"
    "[plugins.\"io.containerd.grpc.v1.cri\"]\n"
    "  sandbox_image = \"%2$s\"\n"
    "  restrict_oom_score_adj = true\n"
    "  netns_mounts_under_state_dir = true\n"
    "  [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
    "    default_runtime_name = \"runc\"\n"
    "    [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n"
    "      runtime_type = \"io.containerd.runc.v2\"\n"
    "      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n"
    "        BinaryName = \"/usr/sbin/runc\"\n"
    "        Root = \"%1$s/runc\"\n"
    "        SystemdCgroup = false\n"
    "  [plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
    "    bin_dir = \"/usr/lib/cni\"\n"
    "    conf_dir = \"%1$s/net.d\"\n"
    "    max_conf_num = 1\n"
    "  [plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
    "    config_path = \"%1$s/certs.d\"\n";

/* A bridge with host-local IPAM, inside the instance's own network namespace; no
 * routes beyond the pod subnet (so no default route anywhere). */
static const char default_conflist[] =
    "{\"cniVersion\":\"1.0.0\",\"name\":\"ckube-test\",\"plugins\":["
    "{\"type\":\"bridge\",\"bridge\":\"cni0\",\"isGateway\":true,\"hairpinMode\":true,"
    "\"ipMasq\":false,\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"%s/ipam\","
    "\"ranges\":[[{\"subnet\":\"10.88.0.0/24\"}]],\"routes\":[]}},"
    "{\"type\":\"portmap\",\"capabilities\":{\"portMappings\":true}}]}\n";

static bool socket_accepts(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

/* Waits until the socket accepts connections (woken by inotify on the directory),
 * the process exits (its pidfd) or timeout_ms pass. */
static int wait_socket(ch_containerd *c, int timeout_ms, ck_err **err)
{
	_cleanup_close_ int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (in < 0)
		return ck_err_errno(err, -errno, "inotify_init1");
	if (inotify_add_watch(in, c->dir, IN_CREATE | IN_ATTRIB) < 0)
		return ck_err_errno(err, -errno, "inotify_add_watch %s", c->dir);
	_cleanup_close_ int pfd = pidfd_open(c->pid, 0);
	if (pfd < 0)
		return ck_err_errno(err, -errno, "pidfd_open");
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (socket_accepts(c->socket))
			return 0;
		if (harness_wait(&c->pid, 0, NULL) == 0)
			return ck_err_set(err, -ECHILD, "containerd exited early; see %s",
			                  c->log_file);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long elapsed =
		    (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed >= timeout_ms)
			return ck_err_set(err, -ETIMEDOUT, "containerd socket %s not ready",
			                  c->socket);
		/* The socket file appears before listen(): after a create event give the
		 * listener a short moment (bounded poll) before checking again. */
		struct pollfd p[2] = {{.fd = in, .events = POLLIN}, {.fd = pfd, .events = POLLIN}};
		int left = timeout_ms - (int)elapsed;
		poll(p, 2, access(c->socket, F_OK) == 0 ? (left < 20 ? left : 20) : left);
		char buf[4096];
		while (read(in, buf, sizeof(buf)) > 0)
			;
	}
}

/* Child side of spawn_containerd, before exec (only system calls): own network namespace
 * (the CNI bridge and every pod live there, reaching nothing outside) and own mount
 * namespace (netns and rootfs mounts stay out of the host's table and go when the last
 * shim exits). */
static int enter_own_namespaces(void *cni_dir)
{
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
		return 125;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 125;
	/* containerd 1.6 keeps CNI results in /var/lib/cni: give it our own. */
	if (mount(cni_dir, "/var/lib/cni", NULL, MS_BIND, NULL) < 0)
		return 125;
	int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	if (sk < 0 || ioctl(sk, SIOCGIFFLAGS, &ifr) < 0)
		return 125;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sk, SIOCSIFFLAGS, &ifr) < 0)
		return 125;
	return 0;
}

/* Starts containerd on conf; it dies with the test process, and the stop (or the atexit
 * hook) cleans up the rest. */
static int spawn_containerd(ch_containerd *c, const char *conf, bool own_ns, ck_err **err)
{
	_cleanup_free_ char *cni_dir = ck_asprintf("%s/cni", c->dir);
	if (own_ns) {
		if (mkdir(cni_dir, 0755) < 0)
			return ck_err_errno(err, -errno, "mkdir %s", cni_dir);
		/* The mount point must exist on the host; an empty directory is harmless. */
		if (mkdir("/var/lib/cni", 0755) < 0 && errno != EEXIST)
			return ck_err_errno(err, -errno, "mkdir /var/lib/cni");
	}
	char *argv[] = {"containerd", "--config", (char *)conf, NULL};
	return harness_spawn_setup(argv, c->log_file, own_ns ? enter_own_namespaces : NULL, cni_dir,
	                           &c->pid, err);
}

/* Reads a small file into a malloc'd string without its trailing newline, or NULL. */
static char *read_small(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char buf[512];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return ck_strdup(buf);
}

/* Instances whose test process died without its teardown (killed by a timeout, say):
 * their shims, containers, cgroups and directories are removed by the next start. An
 * instance records its owner's PID and cgroup in its directory. */
void ch_reap_stale(void)
{
	DIR *d = opendir("/tmp");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "ckube-ctrd.", 11))
			continue;
		_cleanup_free_ char *dir = ck_asprintf("/tmp/%s", e->d_name);
		_cleanup_free_ char *owner_file = ck_asprintf("%s/owner", dir);
		_cleanup_free_ char *owner = read_small(owner_file);
		char *end;
		long pid = owner ? strtol(owner, &end, 10) : 0;
		if (!owner || *end || pid <= 1 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		_cleanup_free_ char *cg_file = ck_asprintf("%s/cgroup", dir);
		ch_containerd stale = {
		    .pid = 0,
		    .dir = ck_strdup(dir),
		    .socket = ck_asprintf("%s/containerd.sock", dir),
		    .endpoint = NULL,
		    .cgroup_parent = read_small(cg_file),
		};
		if (!stale.cgroup_parent)
			stale.cgroup_parent = ck_strdup("/ckube-test-none");
		ch_containerd *c = ck_calloc(1, sizeof(*c));
		*c = stale;
		ch_containerd_stop(c);
	}
	closedir(d);
}

int ch_containerd_start(const ch_containerd_opts *opts, ch_containerd **out, ck_err **err)
{
	static bool reaped;
	if (!reaped) {
		reaped = true;
		ch_reap_stale();
	}
	static int counter;
	ch_containerd_opts defaults = {0};
	if (!opts)
		opts = &defaults;
	ch_containerd *c = ck_calloc(1, sizeof(*c));
	c->dir = ch_mkdtemp("ckube-ctrd.");
	if (!c->dir) {
		free_instance(c);
		return ck_err_errno(err, -errno, "mkdtemp");
	}
	c->socket = ck_asprintf("%s/containerd.sock", c->dir);
	c->endpoint = ck_asprintf("unix://%s", c->socket);
	c->cgroup_parent = ck_asprintf("/ckube-test-%d-%d", (int)getpid(), counter++);
	c->log_dir = ck_asprintf("%s/pods", c->dir);
	c->log_file = ck_asprintf("%s/containerd.log", c->dir);

	int r;
	_cleanup_free_ char *netd = ck_asprintf("%s/net.d", c->dir);
	_cleanup_free_ char *conf = ck_asprintf("%s/config.toml", c->dir);
	_cleanup_free_ char *cni = ck_asprintf("%s/10-ckube.conflist", netd);
	_cleanup_free_ char *body =
	    ck_asprintf(config_template, c->dir,
	                opts->sandbox_image ? opts->sandbox_image : "registry.k8s.io/pause:3.9");
	if (mkdir(netd, 0755) < 0 || mkdir(c->log_dir, 0755) < 0) {
		r = ck_err_errno(err, -errno, "mkdir in %s", c->dir);
		goto fail;
	}
	_cleanup_free_ char *owner_file = ck_asprintf("%s/owner", c->dir);
	_cleanup_free_ char *owner = ck_asprintf("%d\n", (int)getpid());
	_cleanup_free_ char *cg_file = ck_asprintf("%s/cgroup", c->dir);
	_cleanup_free_ char *cg = ck_asprintf("%s\n", c->cgroup_parent);
	r = write_file(owner_file, owner, err);
	if (r == 0)
		r = write_file(cg_file, cg, err);
	if (r == 0)
		r = write_file(conf, body, err);
	_cleanup_free_ char *bridge = ck_asprintf(default_conflist, c->dir);
	if (r == 0)
		r = write_file(cni, opts->cni_conflist ? opts->cni_conflist : bridge, err);
	if (r < 0)
		goto fail;

	r = spawn_containerd(c, conf, !opts->host_netns, err);
	if (r < 0)
		goto fail;
	r = wait_socket(c, 20000, err);
	if (r < 0)
		goto fail;
	static bool hooked;
	if (!hooked) {
		atexit(stop_all_at_exit);
		hooked = true;
	}
	track(c, true);
	*out = c;
	return 0;
fail:
	ch_containerd_stop(c);
	return r;
}

int ch_containerd_import(ch_containerd *c, const char *tar, ck_err **err)
{
	char *argv[] = {"ctr",    "-a",     c->socket,   "-n", "k8s.io",
	                "images", "import", (char *)tar, NULL};
	_cleanup_free_ char *out = NULL;
	int r = harness_run(argv, &out, err);
	if (r < 0)
		return r;
	if (r != 0)
		return ck_err_set(err, -EIO, "ctr images import %s: exit %d: %s", tar, r, out);
	return 0;
}
