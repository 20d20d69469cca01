/* node_status: registers this node with the apiserver and keeps its status current.
 *
 * Registration creates the Node (labels kubernetes.io/hostname, os, arch plus
 * --node-labels; taints from --register-with-taints) or, when it exists, adopts it. The
 * status - capacity and allocatable from the machine (CPUs, /proc/meminfo, pods from
 * --max-pods), addresses, nodeInfo (kernel, OS image, runtime version from CRI Version)
 * and conditions (Ready from the runtime's Status) - is written by merge PATCH of
 * nodes/<name>/status right after registration and every --node-status-update-frequency.
 * Failures are retried by the next period (registration with its own back-off). */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "api/condition.h"
#include "base/json.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "kubelet.h"

typedef struct node_status {
	kubelet *k;
	uv_timer_t timer;
	void (*on_registered)(kubelet *k);
	bool registered;
	bool busy;
	bool runtime_ready;
	char *runtime_message;
	char *ip;
	cJSON *last_conditions; /* as last written, for lastTransitionTime */
	int64_t retry_ms;
} node_status;

static char *read_first_line(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	fclose(f);
	if (n <= 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\n")] = 0;
	return line;
}

static char *os_image(void)
{
	FILE *f = fopen("/etc/os-release", "re");
	if (!f)
		return ck_strdup("Linux");
	char *line = NULL, *res = NULL;
	size_t cap = 0;
	while (!res && getline(&line, &cap, f) > 0) {
		if (strncmp(line, "PRETTY_NAME=", 12))
			continue;
		char *v = line + 12;
		v[strcspn(v, "\n")] = 0;
		size_t l = strlen(v);
		if (l >= 2 && v[0] == '"' && v[l - 1] == '"') {
			v[l - 1] = 0;
			v++;
		}
		res = ck_strdup(v);
	}
	free(line);
	fclose(f);
	return res ? res : ck_strdup("Linux");
}

static long long mem_kib(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return 0;
	char key[64];
	long long v = 0, r = 0;
	while (fscanf(f, "%63s %lld kB\n", key, &v) == 2) {
		if (!strcmp(key, "MemTotal:")) {
			r = v;
			break;
		}
	}
	fclose(f);
	return r;
}

static const char *go_arch(void)
{
	struct utsname u;
	if (uname(&u) < 0)
		return "amd64";
	if (!strcmp(u.machine, "x86_64"))
		return "amd64";
	if (!strcmp(u.machine, "aarch64"))
		return "arm64";
	return "amd64";
}

/* First IPv4 address of an interface that is up and not loopback. */
static char *detect_ip(void)
{
	struct ifaddrs *ifa = NULL;
	if (getifaddrs(&ifa) < 0)
		return ck_strdup("127.0.0.1");
	char *res = NULL;
	for (struct ifaddrs *i = ifa; i && !res; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
			continue;
		char buf[INET_ADDRSTRLEN];
		if (inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf,
		              sizeof(buf)))
			res = ck_strdup(buf);
	}
	freeifaddrs(ifa);
	return res ? res : ck_strdup("127.0.0.1");
}

const char *node_status_ip(const kubelet *k)
{
	if (k->cfg.node_ip && *k->cfg.node_ip)
		return k->cfg.node_ip;
	return k->ns ? k->ns->ip : NULL;
}

static cJSON *resources(const kubelet *k)
{
	cJSON *r = cJSON_CreateObject();
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	_cleanup_free_ char *cpu = ck_asprintf("%ld", cpus > 0 ? cpus : 1);
	_cleanup_free_ char *mem = ck_asprintf("%lldKi", mem_kib());
	_cleanup_free_ char *pods = ck_asprintf("%d", k->cfg.max_pods > 0 ? k->cfg.max_pods : 110);
	cJSON_AddStringToObject(r, "cpu", cpu);
	cJSON_AddStringToObject(r, "memory", mem);
	cJSON_AddStringToObject(r, "pods", pods);
	struct statvfs sv;
	if (statvfs(k->cfg.root_dir, &sv) == 0 || statvfs("/", &sv) == 0) {
		_cleanup_free_ char *eph =
		    ck_asprintf("%lluKi", (unsigned long long)sv.f_blocks * sv.f_frsize / 1024);
		cJSON_AddStringToObject(r, "ephemeral-storage", eph);
	}
	return r;
}

static cJSON *node_condition(const node_status *ns, const char *type, bool status,
                             const char *reason, const char *message, const char *now)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", type);
	cJSON_AddStringToObject(c, "status", status ? "True" : "False");
	cJSON_AddStringToObject(c, "lastHeartbeatTime", now);
	cJSON_AddStringToObject(
	    c, "lastTransitionTime",
	    condition_since(ns ? ns->last_conditions : NULL, type, status ? "True" : "False", now));
	cJSON_AddStringToObject(c, "reason", reason);
	cJSON_AddStringToObject(c, "message", message);
	return c;
}

cJSON *node_status_build_status(const kubelet *k)
{
	const node_status *ns = k->ns;
	_cleanup_free_ char *now = ck_time_now_rfc3339(false);
	cJSON *st = cJSON_CreateObject();
	cJSON_AddItemToObject(st, "capacity", resources(k));
	cJSON_AddItemToObject(st, "allocatable", resources(k));
	cJSON *conds = cJSON_CreateArray();
	cJSON_AddItemToArray(conds, node_condition(ns, "MemoryPressure", false,
	                                           "KubeletHasSufficientMemory",
	                                           "kubelet has sufficient memory available", now));
	cJSON_AddItemToArray(conds,
	                     node_condition(ns, "DiskPressure", false, "KubeletHasNoDiskPressure",
	                                    "kubelet has no disk pressure", now));
	cJSON_AddItemToArray(conds,
	                     node_condition(ns, "PIDPressure", false, "KubeletHasSufficientPID",
	                                    "kubelet has sufficient PID available", now));
	bool ready = ns && ns->runtime_ready;
	_cleanup_free_ char *why =
	    ck_asprintf("container runtime not ready: %s",
	                ns && ns->runtime_message ? ns->runtime_message : "no status yet");
	cJSON_AddItemToArray(
	    conds, node_condition(ns, "Ready", ready, ready ? "KubeletReady" : "KubeletNotReady",
	                          ready ? "kubelet is posting ready status" : why, now));
	cJSON_AddItemToObject(st, "conditions", conds);
	cJSON *addrs = cJSON_CreateArray();
	const char *ip = node_status_ip(k);
	if (ip) {
		cJSON *a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "type", "InternalIP");
		cJSON_AddStringToObject(a, "address", ip);
		cJSON_AddItemToArray(addrs, a);
	}
	cJSON *h = cJSON_CreateObject();
	cJSON_AddStringToObject(h, "type", "Hostname");
	cJSON_AddStringToObject(h, "address", k->cfg.node_name);
	cJSON_AddItemToArray(addrs, h);
	cJSON_AddItemToObject(st, "addresses", addrs);
	ck_json_set_int(st, "daemonEndpoints.kubeletEndpoint.Port",
	                k->cfg.port > 0 ? k->cfg.port : 10250);
	cJSON *info = cJSON_CreateObject();
	_cleanup_free_ char *mid = read_first_line("/etc/machine-id");
	_cleanup_free_ char *boot = read_first_line("/proc/sys/kernel/random/boot_id");
	_cleanup_free_ char *image = os_image();
	struct utsname u;
	if (uname(&u) < 0)
		strcpy(u.release, "unknown");
	cJSON_AddStringToObject(info, "machineID", mid ? mid : "");
	cJSON_AddStringToObject(info, "systemUUID", mid ? mid : "");
	cJSON_AddStringToObject(info, "bootID", boot ? boot : "");
	cJSON_AddStringToObject(info, "kernelVersion", u.release);
	cJSON_AddStringToObject(info, "osImage", image);
	cJSON_AddStringToObject(info, "containerRuntimeVersion",
	                        k->runtime_version ? k->runtime_version : "");
	cJSON_AddStringToObject(info, "kubeletVersion", CKUBE_VERSION);
	cJSON_AddStringToObject(info, "kubeProxyVersion", CKUBE_VERSION);
	cJSON_AddStringToObject(info, "operatingSystem", "linux");
	cJSON_AddStringToObject(info, "architecture", go_arch());
	cJSON_AddItemToObject(st, "nodeInfo", info);
	return st;
}

cJSON *node_status_build_node(const kubelet *k)
{
	cJSON *n = cJSON_CreateObject();
	cJSON_AddStringToObject(n, "apiVersion", "v1");
	cJSON_AddStringToObject(n, "kind", "Node");
	ck_json_set_str(n, "metadata.name", k->cfg.node_name);
	cJSON *labels = cJSON_CreateObject();
	cJSON_AddStringToObject(labels, "kubernetes.io/hostname", k->cfg.node_name);
	cJSON_AddStringToObject(labels, "kubernetes.io/os", "linux");
	cJSON_AddStringToObject(labels, "kubernetes.io/arch", go_arch());
	cJSON_AddStringToObject(labels, "beta.kubernetes.io/os", "linux");
	cJSON_AddStringToObject(labels, "beta.kubernetes.io/arch", go_arch());
	for (size_t i = 0; k->cfg.node_labels && k->cfg.node_labels[i]; i++) {
		const char *l = k->cfg.node_labels[i];
		const char *eq = strchr(l, '=');
		_cleanup_free_ char *key = eq ? ck_strndup(l, (size_t)(eq - l)) : ck_strdup(l);
		cJSON_DeleteItemFromObjectCaseSensitive(labels, key);
		cJSON_AddStringToObject(labels, key, eq ? eq + 1 : "");
	}
	ck_json_set(n, "metadata.labels", labels);
	cJSON *taints = cJSON_CreateArray();
	for (size_t i = 0; k->cfg.register_taints && k->cfg.register_taints[i]; i++) {
		/* key[=value]:Effect */
		_cleanup_free_ char *t = ck_strdup(k->cfg.register_taints[i]);
		char *colon = strrchr(t, ':');
		if (!colon)
			continue;
		*colon = 0;
		char *eq = strchr(t, '=');
		if (eq)
			*eq = 0;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "key", t);
		if (eq)
			cJSON_AddStringToObject(o, "value", eq + 1);
		cJSON_AddStringToObject(o, "effect", colon + 1);
		cJSON_AddItemToArray(taints, o);
	}
	if (cJSON_GetArraySize(taints) > 0)
		ck_json_set(n, "spec.taints", taints);
	else
		cJSON_Delete(taints);
	return n;
}

static void status_patched(kc_result *res, void *user)
{
	node_status *ns = user;
	ns->busy = false;
	if (res->rc < 0) {
		CK_WARN("node status update failed: %s",
		        res->err ? res->err->msg : ck_strerror(res->rc));
		/* The Node was deleted: register it again on the next period. */
		if (res->rc == -ENOENT)
			ns->registered = false;
		return;
	}
	cJSON_Delete(ns->last_conditions);
	ns->last_conditions = ck_json_dup(ck_json_get(res->obj, "status.conditions"));
}

static void patch_status(node_status *ns)
{
	kubelet *k = ns->k;
	_cleanup_json_ cJSON *patch = cJSON_CreateObject();
	cJSON_AddItemToObject(patch, "status", node_status_build_status(k));
	ns->busy = true;
	if (kc_patch(k->kc, &KC_NODES, NULL, k->cfg.node_name, "status", KC_PATCH_MERGE, patch,
	             status_patched, ns) < 0)
		ns->busy = false;
}

static void on_runtime_status(int rc, const cri_runtime_status *s, const ck_err *err, void *data)
{
	node_status *ns = data;
	if (ns->k->ns != ns)
		return; /* stopped: the runtime calls were cancelled */
	free(ns->runtime_message);
	ns->runtime_message = NULL;
	if (rc < 0) {
		ns->runtime_ready = false;
		ns->runtime_message = ck_strdup(err ? err->msg : ck_strerror(rc));
	} else {
		ns->runtime_ready = s->runtime_ready && s->network_ready;
		if (!s->runtime_ready)
			ns->runtime_message = ck_asprintf(
			    "runtime: %s", s->runtime_message ? s->runtime_message : "not ready");
		else if (!s->network_ready)
			ns->runtime_message =
			    ck_asprintf("network plugin not ready: %s",
			                s->network_message ? s->network_message : "not ready");
	}
	if (ns->registered)
		patch_status(ns);
	else
		ns->busy = false;
}

static void on_version(int rc, const cri_version *v, const ck_err *err, void *data)
{
	node_status *ns = data;
	if (ns->k->ns != ns)
		return; /* stopped: the runtime calls were cancelled */
	if (rc == 0) {
		free(ns->k->runtime_version);
		ns->k->runtime_version =
		    ck_asprintf("%s://%s", v->runtime_name, v->runtime_version);
	}
	cri_status(ns->k->cri, on_runtime_status, ns);
}

static void node_status_tick(uv_timer_t *t);

static void registered(node_status *ns, const cJSON *node)
{
	kubelet *k = ns->k;
	ns->registered = true;
	free(k->node_uid);
	k->node_uid = ck_strdup(ck_json_get_str(node, "metadata.uid", ""));
	cJSON_Delete(ns->last_conditions);
	ns->last_conditions = ck_json_dup(ck_json_get(node, "status.conditions"));
	CK_INFO("node %s registered", k->cfg.node_name);
	uint64_t every =
	    k->cfg.node_status_update_ms > 0 ? (uint64_t)k->cfg.node_status_update_ms : 10000;
	/* The first status now (with the runtime's readiness), then every period. */
	ns->busy = true;
	cri_status(k->cri, on_runtime_status, ns);
	uv_timer_start(&ns->timer, node_status_tick, every, every);
	/* The rest of the kubelet starts once, at the first registration. */
	if (ns->on_registered) {
		void (*cb)(kubelet *) = ns->on_registered;
		ns->on_registered = NULL;
		cb(k);
	}
}

static void got_node(kc_result *res, void *user)
{
	node_status *ns = user;
	ns->busy = false;
	if (res->rc < 0) {
		CK_WARN("get node: %s", res->err ? res->err->msg : ck_strerror(res->rc));
		return; /* the timer retries */
	}
	registered(ns, res->obj);
}

static void created_node(kc_result *res, void *user)
{
	node_status *ns = user;
	if (res->rc == -EEXIST) {
		CK_INFO("node %s exists: adopting it", ns->k->cfg.node_name);
		kc_get(ns->k->kc, &KC_NODES, NULL, ns->k->cfg.node_name, got_node, ns);
		return;
	}
	ns->busy = false;
	if (res->rc < 0) {
		CK_WARN("register node %s: %s", ns->k->cfg.node_name,
		        res->err ? res->err->msg : ck_strerror(res->rc));
		return;
	}
	registered(ns, res->obj);
}

static void register_node(node_status *ns)
{
	_cleanup_json_ cJSON *node = node_status_build_node(ns->k);
	ns->busy = true;
	if (kc_create(ns->k->kc, &KC_NODES, NULL, node, created_node, ns) < 0)
		ns->busy = false;
}

static void node_status_tick(uv_timer_t *t)
{
	node_status *ns = t->data;
	if (ns->busy)
		return;
	ns->busy = true;
	if (!ns->registered) {
		/* Runtime version first (nodeInfo), then register. */
		register_node(ns);
		return;
	}
	cri_version_get(ns->k->cri, on_version, ns);
}

static void first_version(int rc, const cri_version *v, const ck_err *err, void *data)
{
	node_status *ns = data;
	if (ns->k->ns != ns)
		return; /* stopped: the runtime calls were cancelled */
	if (rc == 0) {
		free(ns->k->runtime_version);
		ns->k->runtime_version =
		    ck_asprintf("%s://%s", v->runtime_name, v->runtime_version);
	} else {
		CK_WARN("container runtime: %s", err ? err->msg : ck_strerror(rc));
	}
	ns->busy = false;
	/* Register now, retry every 2 s until it works. */
	uv_timer_start(&ns->timer, node_status_tick, 0, 2000);
}

int node_status_start(kubelet *k, void (*on_registered)(kubelet *k))
{
	node_status *ns = ck_calloc(1, sizeof(*ns));
	ns->k = k;
	ns->on_registered = on_registered;
	ns->ip = k->cfg.node_ip && *k->cfg.node_ip ? ck_strdup(k->cfg.node_ip) : detect_ip();
	uv_timer_init(k->loop, &ns->timer);
	ns->timer.data = ns;
	k->ns = ns;
	ns->busy = true;
	cri_version_get(k->cri, first_version, ns);
	return 0;
}

static void ns_closed(uv_handle_t *h)
{
	node_status *ns = h->data;
	cJSON_Delete(ns->last_conditions);
	free(ns->runtime_message);
	free(ns->ip);
	free(ns);
}

void node_status_stop(kubelet *k)
{
	if (!k->ns)
		return;
	uv_close((uv_handle_t *)&k->ns->timer, ns_closed);
	k->ns = NULL;
}
