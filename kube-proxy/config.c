/* config: flags and the KubeProxyConfiguration subset. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "base/yaml.h"

static char *opt_config, *opt_hostname, *opt_mode = "iptables", *opt_cluster_cidr;
static char *opt_healthz = "0.0.0.0:10256", *opt_metrics = "127.0.0.1:10249";
static char **opt_nodeport_addresses;
static char *opt_backend = "";
static bool opt_masquerade_all;
static int64_t opt_min_sync = 1000, opt_sync = 30000;

const ck_flag proxy_flags[] = {
    {"config", 0, CK_FLAG_STRING, &opt_config,
     "The path to the configuration file (a KubeProxyConfiguration)."},
    {"hostname-override", 0, CK_FLAG_STRING, &opt_hostname,
     "If non-empty, will be used as the name of the Node that kube-proxy is running on."},
    {"proxy-mode", 0, CK_FLAG_STRING, &opt_mode, "Which proxy mode to use: only 'iptables'."},
    {"cluster-cidr", 0, CK_FLAG_STRING, &opt_cluster_cidr,
     "The CIDR range of the pods in the cluster; traffic to Service cluster IPs from outside "
     "it is masqueraded."},
    {"masquerade-all", 0, CK_FLAG_BOOL, &opt_masquerade_all,
     "SNAT all traffic sent via Service cluster IPs."},
    {"iptables-min-sync-period", 0, CK_FLAG_DURATION, &opt_min_sync,
     "The minimum period between iptables rule resyncs (e.g. '5s', '1m'); 0 resyncs at once."},
    {"iptables-sync-period", 0, CK_FLAG_DURATION, &opt_sync,
     "An interval (e.g. '5s', '1m') at which the rules are resynced."},
    {"nodeport-addresses", 0, CK_FLAG_STRV, &opt_nodeport_addresses,
     "CIDRs of the node addresses NodePort services answer on (default: all)."},
    {"iptables-backend", 0, CK_FLAG_STRING, &opt_backend,
     "The iptables commands to run: 'legacy' (iptables-legacy-restore), 'nft', or '' for the "
     "system's iptables-restore (ckube only)."},
    {"healthz-bind-address", 0, CK_FLAG_STRING, &opt_healthz,
     "The IP address and port for the health check server to serve on ('' disables)."},
    {"metrics-bind-address", 0, CK_FLAG_STRING, &opt_metrics,
     "The IP address and port for the metrics server to serve on ('' disables)."},
    {0},
};

int proxy_cidr_parse(const char *s, uint32_t *net, uint32_t *mask)
{
	const char *slash = strchr(s, '/');
	char addr[INET_ADDRSTRLEN];
	struct in_addr a;
	char *end;
	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = 0;
	long bits = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, addr, &a) != 1 || end == slash + 1 || *end || bits < 0 || bits > 32)
		return -EINVAL;
	*mask = bits ? 0xffffffffu << (32 - bits) : 0;
	*net = ntohl(a.s_addr) & *mask;
	return 0;
}

int proxy_split_host_port(const char *s, char **host, int *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	if (!colon)
		return -EINVAL;
	long p = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || p < 0 || p > 65535)
		return -EINVAL;
	*host = colon == s ? ck_strdup("0.0.0.0") : strndup(s, (size_t)(colon - s));
	*port = (int)p;
	return 0;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = ck_strdup(v ? v : "");
}

static int duration_field(const cJSON *doc, const char *path, int64_t *ms, ck_err **err)
{
	const char *v = ck_json_get_str(doc, path, NULL);
	if (v && ck_duration_parse(v, ms) < 0)
		return ck_err_set(err, -EINVAL, "%s: invalid duration \"%s\"", path, v);
	return 0;
}

int proxy_config_apply_yaml(proxy_config *c, const char *text, size_t len, ck_err **err)
{
	_cleanup_json_ cJSON *doc = ck_yaml_parse(text, len, err);
	if (!doc)
		return -EINVAL;
	if (!cJSON_IsObject(doc))
		return ck_err_set(err, -EINVAL, "the configuration is not an object");
	const char *kind = ck_json_get_str(doc, "kind", "");
	if (strcmp(kind, "KubeProxyConfiguration"))
		return ck_err_set(err, -EINVAL,
		                  "unexpected kind \"%s\" (want KubeProxyConfiguration)", kind);
	static const struct {
		const char *path;
		size_t off;
	} strs[] = {
	    {"hostnameOverride", offsetof(proxy_config, hostname)},
	    {"mode", offsetof(proxy_config, mode)},
	    {"clusterCIDR", offsetof(proxy_config, cluster_cidr)},
	    {"healthzBindAddress", offsetof(proxy_config, healthz_bind)},
	    {"metricsBindAddress", offsetof(proxy_config, metrics_bind)},
	};
	for (size_t i = 0; i < CK_ARRAY_SIZE(strs); i++) {
		const char *v = ck_json_get_str(doc, strs[i].path, NULL);
		if (v && *v)
			set_str((char **)((char *)c + strs[i].off), v);
	}
	c->masquerade_all = ck_json_get_bool(doc, "iptables.masqueradeAll", c->masquerade_all);
	if (duration_field(doc, "iptables.minSyncPeriod", &c->min_sync_ms, err) < 0 ||
	    duration_field(doc, "iptables.syncPeriod", &c->sync_ms, err) < 0)
		return -EINVAL;
	const cJSON *np = ck_json_get(doc, "nodePortAddresses"), *a;
	if (cJSON_IsArray(np)) {
		c->nodeport_addresses = ck_strv_free(c->nodeport_addresses);
		cJSON_ArrayForEach(a, np)
		{
			if (cJSON_IsString(a))
				ck_strv_add(&c->nodeport_addresses, a->valuestring);
		}
	}
	return 0;
}

static int load_file(proxy_config *c, const char *path, ck_err **err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return ck_err_errno(err, -errno, "open %s", path);
	_cleanup_buf_ ck_buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ck_buf_append(&b, chunk, n);
	fclose(f);
	if (proxy_config_apply_yaml(c, ck_buf_str(&b), b.len, err) < 0)
		return ck_err_wrap(err, -EINVAL, "%s", path);
	return 0;
}

int proxy_config_load(const ck_flags *fs, proxy_config *c, ck_err **err)
{
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	for (char *h = host; *h; h++)
		*h = (char)(*h >= 'A' && *h <= 'Z' ? *h - 'A' + 'a' : *h);
	*c = (proxy_config){
	    .hostname = ck_strdup(host),
	    .mode = ck_strdup("iptables"),
	    .cluster_cidr = ck_strdup(""),
	    .min_sync_ms = 1000,
	    .sync_ms = 30000,
	    .iptables_backend = ck_strdup(""),
	    .healthz_bind = ck_strdup("0.0.0.0:10256"),
	    .metrics_bind = ck_strdup("127.0.0.1:10249"),
	};
	if (opt_config && *opt_config && load_file(c, opt_config, err) < 0)
		return -EINVAL;
	if (ck_flags_changed(fs, "hostname-override") && opt_hostname && *opt_hostname)
		set_str(&c->hostname, opt_hostname);
	if (ck_flags_changed(fs, "proxy-mode"))
		set_str(&c->mode, opt_mode);
	if (ck_flags_changed(fs, "cluster-cidr"))
		set_str(&c->cluster_cidr, opt_cluster_cidr);
	if (ck_flags_changed(fs, "masquerade-all"))
		c->masquerade_all = opt_masquerade_all;
	if (ck_flags_changed(fs, "iptables-min-sync-period"))
		c->min_sync_ms = opt_min_sync;
	if (ck_flags_changed(fs, "iptables-sync-period"))
		c->sync_ms = opt_sync;
	if (ck_flags_changed(fs, "nodeport-addresses")) {
		ck_strv_free(c->nodeport_addresses);
		c->nodeport_addresses = ck_strv_dup(opt_nodeport_addresses);
	}
	if (ck_flags_changed(fs, "iptables-backend"))
		set_str(&c->iptables_backend, opt_backend);
	if (ck_flags_changed(fs, "healthz-bind-address"))
		set_str(&c->healthz_bind, opt_healthz);
	if (ck_flags_changed(fs, "metrics-bind-address"))
		set_str(&c->metrics_bind, opt_metrics);

	if (*c->mode && strcmp(c->mode, "iptables"))
		return ck_err_set(err, -EINVAL, "unsupported proxy mode \"%s\" (only iptables)",
		                  c->mode);
	if (*c->iptables_backend && strcmp(c->iptables_backend, "legacy") &&
	    strcmp(c->iptables_backend, "nft"))
		return ck_err_set(err, -EINVAL, "unknown iptables backend \"%s\" (legacy or nft)",
		                  c->iptables_backend);
	uint32_t net, mask;
	if (*c->cluster_cidr && proxy_cidr_parse(c->cluster_cidr, &net, &mask) < 0)
		return ck_err_set(err, -EINVAL, "invalid cluster CIDR \"%s\"", c->cluster_cidr);
	for (char **a = c->nodeport_addresses; a && *a; a++)
		if (proxy_cidr_parse(*a, &net, &mask) < 0)
			return ck_err_set(err, -EINVAL, "invalid nodeport address CIDR \"%s\"", *a);
	char *h;
	int port;
	const char *binds[] = {c->healthz_bind, c->metrics_bind};
	for (size_t i = 0; i < 2; i++) {
		if (!*binds[i])
			continue;
		if (proxy_split_host_port(binds[i], &h, &port) < 0)
			return ck_err_set(err, -EINVAL,
			                  "invalid bind address \"%s\" (want IP:PORT)", binds[i]);
		free(h);
	}
	return 0;
}

void proxy_config_free(proxy_config *c)
{
	free(c->hostname);
	free(c->mode);
	free(c->cluster_cidr);
	ck_strv_free(c->nodeport_addresses);
	free(c->iptables_backend);
	free(c->healthz_bind);
	free(c->metrics_bind);
}
