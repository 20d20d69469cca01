/* config: --config, upstream's KubeletConfiguration file (kubelet.config.k8s.io/v1beta1,
 * YAML or JSON). The fields the kubelet supports are applied unless the matching flag was
 * given on the command line (flags win, as upstream). Unknown fields are ignored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/flags.h"
#include "base/json.h"
#include "base/strbuf.h"
#include "base/yaml.h"
#include "kubelet.h"

static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	ck_buf b = {0};
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ck_buf_append(&b, chunk, n);
	fclose(f);
	*len = b.len;
	return ck_buf_steal(&b);
}

static bool given(const ck_flags *fs, const char *flag)
{
	return fs && ck_flags_changed(fs, flag);
}

/* Keeps p for kl_config_free_alloc; returns it. */
static void *keep(kl_config *cfg, void *p)
{
	ck_strv_push(&cfg->alloc, p);
	return p;
}

void kl_config_free_alloc(kl_config *cfg)
{
	cfg->alloc = ck_strv_free(cfg->alloc);
}

static void set_str(kl_config *cfg, const cJSON *doc, const char *path, const ck_flags *fs,
                    const char *flag, char **dst)
{
	const char *v = ck_json_get_str(doc, path, NULL);
	if (v && !given(fs, flag))
		*dst = keep(cfg, ck_strdup(v));
}

/* A NULL-terminated vector whose array and strings are all kept in cfg->alloc. */
static void kept_push(kl_config *cfg, char ***v, size_t *n, char *s)
{
	char **old = *v;
	char **nv = ck_calloc(*n + 2, sizeof(char *));
	for (size_t i = 0; i < *n; i++)
		nv[i] = old[i];
	nv[(*n)++] = keep(cfg, s);
	/* Earlier (shorter) arrays stay in alloc and are freed with it. */
	*v = keep(cfg, nv);
}

static void set_strv(kl_config *cfg, const cJSON *doc, const char *path, const ck_flags *fs,
                     const char *flag, char ***dst)
{
	const cJSON *a = ck_json_get(doc, path);
	if (!cJSON_IsArray(a) || given(fs, flag))
		return;
	char **v = NULL;
	size_t n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, a)
	{
		if (cJSON_IsString(e))
			kept_push(cfg, &v, &n, ck_strdup(e->valuestring));
	}
	*dst = v;
}

int kl_config_apply_file(const char *path, const ck_flags *fs, kl_config *cfg, ck_err **err)
{
	size_t len = 0;
	_cleanup_free_ char *text = read_text(path, &len);
	if (!text)
		return ck_err_errno(err, -errno, "failed to load kubelet config file %s", path);
	_cleanup_json_ cJSON *doc = ck_yaml_parse(text, len, err);
	if (!doc)
		return ck_err_wrap(err, -EINVAL, "failed to load kubelet config file %s", path);
	const char *kind = ck_json_get_str(doc, "kind", "KubeletConfiguration");
	if (strcmp(kind, "KubeletConfiguration"))
		return ck_err_set(err, -EINVAL, "%s: kind %s, want KubeletConfiguration", path,
		                  kind);
	set_strv(cfg, doc, "clusterDNS", fs, "cluster-dns", &cfg->cluster_dns);
	set_str(cfg, doc, "clusterDomain", fs, "cluster-domain", &cfg->cluster_domain);
	set_str(cfg, doc, "address", fs, "address", &cfg->address);
	set_str(cfg, doc, "tlsCertFile", fs, "tls-cert-file", &cfg->tls_cert_file);
	set_str(cfg, doc, "tlsPrivateKeyFile", fs, "tls-private-key-file", &cfg->tls_key_file);
	set_str(cfg, doc, "authentication.x509.clientCAFile", fs, "client-ca-file",
	        &cfg->client_ca_file);
	set_str(cfg, doc, "cgroupRoot", fs, "cgroup-root", &cfg->cgroup_root);
	set_str(cfg, doc, "podLogsDir", fs, "pod-log-dir", &cfg->pod_log_dir);
	set_str(cfg, doc, "containerRuntimeEndpoint", fs, "container-runtime-endpoint",
	        &cfg->runtime_endpoint);
	if (ck_json_get(doc, "maxPods") && !given(fs, "max-pods"))
		cfg->max_pods = (int)ck_json_get_int(doc, "maxPods", cfg->max_pods);
	if (ck_json_get(doc, "port") && !given(fs, "port"))
		cfg->port = (int)ck_json_get_int(doc, "port", cfg->port);
	const char *d = ck_json_get_str(doc, "nodeStatusUpdateFrequency", NULL);
	int64_t ms;
	if (d && !given(fs, "node-status-update-frequency") && ck_duration_parse(d, &ms) == 0 &&
	    ms > 0)
		cfg->node_status_update_ms = ms;
	const cJSON *taints = ck_json_get(doc, "registerWithTaints");
	if (cJSON_IsArray(taints) && !given(fs, "register-with-taints")) {
		char **v = NULL;
		size_t n = 0;
		const cJSON *t;
		cJSON_ArrayForEach(t, taints)
		{
			const char *key = ck_json_get_str(t, "key", NULL);
			const char *value = ck_json_get_str(t, "value", NULL);
			const char *effect = ck_json_get_str(t, "effect", NULL);
			if (!key || !effect)
				continue;
			kept_push(cfg, &v, &n,
			          value ? ck_asprintf("%s=%s:%s", key, value, effect)
			                : ck_asprintf("%s:%s", key, effect));
		}
		cfg->register_taints = v;
	}
	return 0;
}
