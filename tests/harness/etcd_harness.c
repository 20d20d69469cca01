/* etcd_harness: spawns and supervises real etcd members for tests (see the header). */
#include "etcd_harness.h"

#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "etcd/rpc.pb-c.h"
#include "net/grpc.h"
#include "proc_harness.h"

#define HARNESS_MAX_MEMBERS  7
#define HARNESS_START_MS     30000
#define HARNESS_PORT_RETRIES 4
#define HARNESS_LOG_TAIL     1536 /* bytes of a member's log in error messages */

struct member {
	int client_port, peer_port;
	char *client_url; /* http://127.0.0.1:C */
	char *target;     /* 127.0.0.1:C */
	char *data_dir, *log_path;
	pid_t pid;
};

struct etcd_harness {
	char *dir;
	bool tls;
	char *ca, *cert, *key; /* PEM paths when tls */
	char *endpoints;
	char *token;
	int n;
	struct member m[HARNESS_MAX_MEMBERS];
	etcd_harness *next_live; /* registry for the exit handler */
};

static etcd_harness *live_harnesses;

static void stop_all_at_exit(void)
{
	while (live_harnesses)
		etcd_harness_stop(live_harnesses);
}

static void registry_add(etcd_harness *h)
{
	static bool registered;
	if (!registered) {
		atexit(stop_all_at_exit);
		registered = true;
	}
	h->next_live = live_harnesses;
	live_harnesses = h;
}

static void registry_remove(etcd_harness *h)
{
	for (etcd_harness **p = &live_harnesses; *p; p = &(*p)->next_live) {
		if (*p == h) {
			*p = h->next_live;
			return;
		}
	}
}

static const char *tmp_base(void)
{
	const char *d = getenv("CKUBE_ETCD_TMPDIR");
	if (d && *d)
		return d;
	if (access("/dev/shm", W_OK | X_OK) == 0)
		return "/dev/shm";
	d = getenv("TMPDIR");
	if (d && *d)
		return d;
	return "/tmp";
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Removes harness dirs left by test processes that died without cleaning up (killed
 * by a timeout): each dir names its owner's pid in the file "owner". */
static void sweep_stale_dirs(const char *base)
{
	DIR *d = opendir(base);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "ckube-etcd-", 11) != 0)
			continue;
		_cleanup_free_ char *dir = ck_asprintf("%s/%s", base, de->d_name);
		_cleanup_free_ char *owner = ck_asprintf("%s/owner", dir);
		_cleanup_close_ int fd = open(owner, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		char buf[32];
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		char *end = NULL;
		errno = 0;
		long pid = strtol(buf, &end, 10);
		if (errno || end == buf || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			rm_rf(dir);
	}
	closedir(d);
}

static int write_owner(const char *dir, ck_err **err)
{
	_cleanup_free_ char *path = ck_asprintf("%s/owner", dir);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ck_err_errno(err, -errno, "open %s", path);
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)len) != len)
		return ck_err_errno(err, -errno, "write %s", path);
	return 0;
}

/* Picks 2*n distinct free loopback ports; another process may still take one before
 * etcd binds it, which start_members handles by retrying. */
static int pick_ports(etcd_harness *h, ck_err **err)
{
	int ports[2 * HARNESS_MAX_MEMBERS];
	int r = harness_free_ports(ports, 2 * (size_t)h->n, err);
	if (r < 0)
		return r;
	for (int k = 0; k < h->n; k++) {
		struct member *m = &h->m[k];
		m->client_port = ports[2 * k];
		m->peer_port = ports[2 * k + 1];
		free(m->client_url);
		free(m->target);
		m->client_url =
		    ck_asprintf("%s://127.0.0.1:%d", h->tls ? "https" : "http", m->client_port);
		m->target = ck_asprintf("127.0.0.1:%d", m->client_port);
	}
	size_t cap = 1;
	for (int k = 0; k < h->n; k++)
		cap += strlen(h->m[k].client_url) + 1;
	free(h->endpoints);
	h->endpoints = ck_calloc(1, cap);
	for (int k = 0; k < h->n; k++) {
		if (k)
			strcat(h->endpoints, ",");
		strcat(h->endpoints, h->m[k].client_url);
	}
	return 0;
}

static int spawn_member(etcd_harness *h, int i, ck_err **err)
{
	struct member *m = &h->m[i];
	const char *etcd = getenv("CKUBE_ETCD");
	if (!etcd || !*etcd)
		etcd = "/usr/bin/etcd";

	size_t cap = 1;
	for (int k = 0; k < h->n; k++)
		cap += 64;
	_cleanup_free_ char *cluster = ck_calloc(1, cap);
	for (int k = 0; k < h->n; k++) {
		char part[64];
		snprintf(part, sizeof(part), "%sm%d=http://127.0.0.1:%d", k ? "," : "", k,
		         h->m[k].peer_port);
		strcat(cluster, part);
	}
	_cleanup_free_ char *name = ck_asprintf("m%d", i);
	_cleanup_free_ char *listen_client = ck_strdup(m->client_url);
	_cleanup_free_ char *peer_url = ck_asprintf("http://127.0.0.1:%d", m->peer_port);
	// clang-format off
	char *argv[] = {
		(char *)etcd,
		"--name", name,
		"--data-dir", m->data_dir,
		"--listen-client-urls", listen_client,
		"--advertise-client-urls", m->client_url,
		"--listen-peer-urls", peer_url,
		"--initial-advertise-peer-urls", peer_url,
		"--initial-cluster", cluster,
		"--initial-cluster-state", "new",
		"--initial-cluster-token", h->token,
		"--heartbeat-interval", "50",
		"--election-timeout", "500",
				"--experimental-watch-progress-notify-interval", "1s",
		NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		NULL,
	};
	// clang-format on

	if (h->tls) {
		size_t a = 0;
		while (argv[a])
			a++;
		argv[a++] = "--cert-file";
		argv[a++] = h->cert;
		argv[a++] = "--key-file";
		argv[a++] = h->key;
		argv[a++] = "--trusted-ca-file";
		argv[a++] = h->ca;
		argv[a++] = "--client-cert-auth";
	}
	return harness_spawn(argv, m->log_path, &m->pid, err);
}

/* Channel options to reach the members (TLS with the harness's certificate). */
static const ckgrpc_channel_opts *harness_channel_opts(const etcd_harness *h)
{
	static _Thread_local ckgrpc_channel_opts o;
	if (!h->tls)
		return NULL;
	o = (ckgrpc_channel_opts){
	    .tls = true, .ca_file = h->ca, .cert_file = h->cert, .key_file = h->key};
	return &o;
}

/* Runs argv (a short command such as openssl) to completion; its output goes into err
 * when it fails. */
static int run_tool(char *const argv[], ck_err **err)
{
	_cleanup_free_ char *out = NULL;
	int r = harness_run(argv, &out, err);
	if (r > 0)
		return ck_err_set(err, -EIO, "%s %s failed (exit %d): %s", argv[0], argv[1], r,
		                  out);
	return r;
}

/* A throwaway CA and one EC certificate for 127.0.0.1, usable by server and client. */
static int make_certs(etcd_harness *h, ck_err **err)
{
	_cleanup_free_ char *ca_key = ck_asprintf("%s/ca.key", h->dir);
	_cleanup_free_ char *csr = ck_asprintf("%s/etcd.csr", h->dir);
	_cleanup_free_ char *ext = ck_asprintf("%s/etcd.ext", h->dir);
	_cleanup_free_ char *serial = ck_asprintf("%s/ca.srl", h->dir);
	h->ca = ck_asprintf("%s/ca.crt", h->dir);
	h->cert = ck_asprintf("%s/etcd.crt", h->dir);
	h->key = ck_asprintf("%s/etcd.key", h->dir);
	{
		_cleanup_close_ int fd = open(ext, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		static const char text[] = "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
		                           "extendedKeyUsage=serverAuth,clientAuth\n"
		                           "keyUsage=critical,digitalSignature,keyEncipherment\n";
		if (fd < 0 || write(fd, text, sizeof(text) - 1) != (ssize_t)(sizeof(text) - 1))
			return ck_err_errno(err, -errno, "write %s", ext);
	}
	// clang-format off
	char *ca_argv[] = {"openssl", "req", "-x509", "-newkey", "ec",
		"-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
		"-keyout", ca_key, "-out", h->ca, "-subj", "/CN=ckube-test-ca", "-days", "2",
		"-addext", "basicConstraints=critical,CA:TRUE",
		"-addext", "keyUsage=critical,keyCertSign,cRLSign", NULL};
	char *csr_argv[] = {"openssl", "req", "-new", "-newkey", "ec",
		"-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
		"-keyout", h->key, "-out", csr, "-subj", "/CN=etcd", NULL};
	char *sign_argv[] = {"openssl", "x509", "-req", "-in", csr, "-CA", h->ca,
		"-CAkey", ca_key, "-CAserial", serial, "-CAcreateserial",
		"-out", h->cert, "-days", "2", "-extfile", ext, NULL};
	// clang-format on
	int r = run_tool(ca_argv, err);
	if (r == 0)
		r = run_tool(csr_argv, err);
	if (r == 0)
		r = run_tool(sign_argv, err);
	return r;
}

int etcd_harness_wait_ready(etcd_harness *h, int i, int timeout_ms, ck_err **err)
{
	struct member *m = &h->m[i];
	ckgrpc_channel *ch = NULL;
	int r = ckgrpc_channel_new(m->target, harness_channel_opts(h), &ch, err);
	if (r < 0)
		return r;
	uint64_t deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
	Etcdserverpb__RangeRequest req = ETCDSERVERPB__RANGE_REQUEST__INIT;
	req.key.data = (uint8_t *)"/ckube-harness-probe";
	req.key.len = strlen("/ckube-harness-probe");
	_cleanup_free_ char *last = NULL;
	int status = 0;
	for (;;) {
		if (harness_wait(&m->pid, 0, &status) == 0) {
			_cleanup_free_ char *tail = harness_log_tail(m->log_path, HARNESS_LOG_TAIL);
			r = ck_err_set(err, -ECHILD,
			               "etcd member %d exited (status %d); log %s:\n%s", i, status,
			               m->log_path, tail);
			break;
		}
		uint64_t now = uv_hrtime();
		if (now >= deadline) {
			_cleanup_free_ char *tail = harness_log_tail(m->log_path, HARNESS_LOG_TAIL);
			r = ck_err_set(err, -ETIMEDOUT,
			               "etcd member %d not ready after %d ms (%s); log %s:\n%s", i,
			               timeout_ms, last ? last : "", m->log_path, tail);
			break;
		}
		int left = (int)((deadline - now) / 1000000u);
		ProtobufCMessage *resp = NULL;
		_cleanup_err_ ck_err *e = NULL;
		uint64_t t0 = uv_hrtime();
		r = ckgrpc_unary_sync_ready(ch, "/etcdserverpb.KV/Range", &req.base,
		                            &etcdserverpb__range_response__descriptor,
		                            left < 1000 ? left + 1 : 1000, &resp, &e);
		if (r == 0) {
			protobuf_c_message_free_unpacked(resp, NULL);
			break;
		}
		free(last);
		last = ck_strdup(e->msg);
		/* A probe that failed at once: pause, cut short when the member exits. */
		if ((uv_hrtime() - t0) / 1000000u < 100)
			harness_wait(&m->pid, 100, &status);
	}
	ckgrpc_channel_free(ch);
	return r;
}

static bool log_says_port_taken(const struct member *m)
{
	_cleanup_free_ char *tail = harness_log_tail(m->log_path, HARNESS_LOG_TAIL);
	return strstr(tail, "address already in use") != NULL;
}

static int start_members(etcd_harness *h, ck_err **err)
{
	int r = 0;
	for (int attempt = 0; attempt < HARNESS_PORT_RETRIES; attempt++) {
		r = pick_ports(h, err);
		if (r < 0)
			return r;
		for (int i = 0; i < h->n && r == 0; i++)
			r = spawn_member(h, i, err);
		_cleanup_err_ ck_err *e = NULL;
		for (int i = 0; i < h->n && r == 0; i++)
			r = etcd_harness_wait_ready(h, i, HARNESS_START_MS, &e);
		if (r == 0)
			return 0;
		bool port_taken = false;
		for (int i = 0; i < h->n; i++) {
			harness_kill(&h->m[i].pid, SIGKILL);
			port_taken = port_taken || log_says_port_taken(&h->m[i]);
		}
		if (!port_taken || attempt + 1 == HARNESS_PORT_RETRIES) {
			if (e) {
				ck_err_set(err, e->code, "%s", e->msg);
			}
			return r;
		}
		for (int i = 0; i < h->n; i++) {
			rm_rf(h->m[i].data_dir);
			unlink(h->m[i].log_path);
		}
	}
	return r;
}

int etcd_harness_start_cluster(int n, etcd_harness **out, ck_err **err)
{
	return etcd_harness_start_opts(&(etcd_harness_opts){.members = n}, out, err);
}

int etcd_harness_start_opts(const etcd_harness_opts *opts, etcd_harness **out, ck_err **err)
{
	int n = opts && opts->members ? opts->members : 1;
	if (n < 1 || n > HARNESS_MAX_MEMBERS)
		return ck_err_set(err, -EINVAL, "etcd harness: %d members (1..%d)", n,
		                  HARNESS_MAX_MEMBERS);
	sweep_stale_dirs(tmp_base());
	etcd_harness *h = ck_calloc(1, sizeof(*h));
	h->n = n;
	h->dir = ck_asprintf("%s/ckube-etcd-XXXXXX", tmp_base());
	if (!mkdtemp(h->dir)) {
		int r = ck_err_errno(err, -errno, "mkdtemp %s", h->dir);
		free(h->dir);
		free(h);
		return r;
	}
	h->tls = opts && opts->tls;
	static unsigned seq;
	h->token = ck_asprintf("ckube-%d-%u", (int)getpid(), seq++);
	for (int i = 0; i < n; i++) {
		h->m[i].pid = -1;
		h->m[i].data_dir = ck_asprintf("%s/member-%d", h->dir, i);
		h->m[i].log_path = ck_asprintf("%s/member-%d.log", h->dir, i);
	}
	registry_add(h);
	int r = write_owner(h->dir, err);
	if (r == 0 && h->tls)
		r = make_certs(h, err);
	if (r == 0)
		r = start_members(h, err);
	if (r < 0) {
		etcd_harness_stop(h);
		return r;
	}
	*out = h;
	return 0;
}

int etcd_harness_start(etcd_harness **out, ck_err **err)
{
	return etcd_harness_start_cluster(1, out, err);
}

void etcd_harness_stop(etcd_harness *h)
{
	if (!h)
		return;
	registry_remove(h);
	for (int i = 0; i < h->n; i++)
		harness_kill(&h->m[i].pid, SIGKILL);
	if (!getenv("CKUBE_KEEP_ETCD"))
		rm_rf(h->dir);
	for (int i = 0; i < h->n; i++) {
		free(h->m[i].client_url);
		free(h->m[i].target);
		free(h->m[i].data_dir);
		free(h->m[i].log_path);
	}
	free(h->dir);
	free(h->ca);
	free(h->cert);
	free(h->key);
	free(h->endpoints);
	free(h->token);
	free(h);
}

int etcd_harness_size(const etcd_harness *h)
{
	return h->n;
}

const char *etcd_harness_endpoints(const etcd_harness *h)
{
	return h->endpoints;
}

const char *etcd_harness_endpoint(const etcd_harness *h, int i)
{
	return h->m[i].client_url;
}

const char *etcd_harness_target(const etcd_harness *h, int i)
{
	return h->m[i].target;
}

const char *etcd_harness_dir(const etcd_harness *h)
{
	return h->dir;
}

pid_t etcd_harness_pid(const etcd_harness *h, int i)
{
	return h->m[i].pid;
}

int etcd_harness_kill(etcd_harness *h, int i)
{
	if (i < 0 || i >= h->n)
		return -ESRCH;
	return harness_kill(&h->m[i].pid, SIGKILL);
}

int etcd_harness_restart(etcd_harness *h, int i, ck_err **err)
{
	if (i < 0 || i >= h->n)
		return ck_err_set(err, -EINVAL, "etcd harness: no member %d", i);
	if (h->m[i].pid > 0)
		return ck_err_set(err, -EBUSY, "etcd harness: member %d is running", i);
	int r = spawn_member(h, i, err);
	if (r < 0)
		return r;
	return etcd_harness_wait_ready(h, i, HARNESS_START_MS, err);
}

int etcd_harness_leader(etcd_harness *h, ck_err **err)
{
	uint64_t ids[HARNESS_MAX_MEMBERS] = {0};
	uint64_t leader = 0;
	for (int i = 0; i < h->n; i++) {
		if (h->m[i].pid <= 0)
			continue;
		ckgrpc_channel *ch = NULL;
		int r = ckgrpc_channel_new(h->m[i].target, harness_channel_opts(h), &ch, err);
		if (r < 0)
			return r;
		Etcdserverpb__StatusRequest req = ETCDSERVERPB__STATUS_REQUEST__INIT;
		ProtobufCMessage *msg = NULL;
		_cleanup_err_ ck_err *e = NULL;
		r = ckgrpc_unary_sync(ch, "/etcdserverpb.Maintenance/Status", &req.base,
		                      &etcdserverpb__status_response__descriptor, 2000, &msg, &e);
		ckgrpc_channel_free(ch);
		if (r < 0)
			continue;
		Etcdserverpb__StatusResponse *st = (Etcdserverpb__StatusResponse *)msg;
		if (st->header)
			ids[i] = st->header->member_id;
		if (st->leader)
			leader = st->leader;
		protobuf_c_message_free_unpacked(msg, NULL);
	}
	for (int i = 0; i < h->n && leader; i++)
		if (ids[i] == leader)
			return i;
	return ck_err_set(err, -EAGAIN, "etcd harness: no running member knows a live leader");
}

const char *etcd_harness_ca_file(const etcd_harness *h)
{
	return h->ca;
}

const char *etcd_harness_cert_file(const etcd_harness *h)
{
	return h->cert;
}

const char *etcd_harness_key_file(const etcd_harness *h)
{
	return h->key;
}
