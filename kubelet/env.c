/* env: a container's environment as upstream builds it (kubelet_pods.go makeEnvironment):
 * envFrom sources first (every key of a configMap or secret, with an optional prefix),
 * then env entries, a later name replacing an earlier one: value (with $(VAR) references
 * to variables defined before it expanded), valueFrom.fieldRef (metadata.name, namespace,
 * uid, labels['k'], annotations['k'], spec.nodeName, spec.serviceAccountName,
 * status.podIP, status.hostIP), configMapKeyRef and secretKeyRef. Runs on the sync's
 * worker thread; objects are read with a blocking client opened on first use. */
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/json.h"
#include "base/strbuf.h"
#include "kubelet.h"

char *kl_env_expand(const char *s, char *const *env)
{
	ck_buf b = {0};
	ck_buf_puts(&b, "");
	for (const char *p = s; *p;) {
		if (p[0] == '$' && p[1] == '$') {
			ck_buf_putc(&b, '$');
			p += 2;
			continue;
		}
		if (p[0] == '$' && p[1] == '(') {
			const char *end = strchr(p + 2, ')');
			if (end) {
				_cleanup_free_ char *name =
				    ck_strndup(p + 2, (size_t)(end - p - 2));
				const char *v = NULL;
				/* The last definition wins, as in the final environment. */
				for (size_t i = 0; env && env[i] && env[i + 1]; i += 2)
					if (!strcmp(env[i], name))
						v = env[i + 1];
				if (v) {
					ck_buf_puts(&b, v);
					p = end + 1;
					continue;
				}
			}
		}
		ck_buf_putc(&b, *p++);
	}
	return ck_buf_steal(&b);
}

/* Sets name=value in the key/value vector, replacing an earlier definition. */
static void env_set(char ***env, const char *name, const char *value)
{
	for (size_t i = 0; *env && (*env)[i] && (*env)[i + 1]; i += 2) {
		if (!strcmp((*env)[i], name)) {
			free((*env)[i + 1]);
			(*env)[i + 1] = ck_strdup(value);
			return;
		}
	}
	ck_strv_add(env, name);
	ck_strv_add(env, value);
}

/* metadata.labels['key'] and friends. */
static char *field_value(const cJSON *pod, const char *path, const char *node_ip,
                         const char *pod_ip)
{
	const char *br = strstr(path, "['");
	if (br && ck_str_has_suffix(path, "']")) {
		_cleanup_free_ char *map = ck_strndup(path, (size_t)(br - path));
		_cleanup_free_ char *key = ck_strndup(br + 2, strlen(br + 2) - 2);
		const cJSON *m = ck_json_get(pod, map);
		const cJSON *v = m ? cJSON_GetObjectItemCaseSensitive(m, key) : NULL;
		return ck_strdup(cJSON_IsString(v) ? v->valuestring : "");
	}
	if (!strcmp(path, "status.hostIP") || !strcmp(path, "status.hostIPs"))
		return ck_strdup(node_ip ? node_ip : "");
	if (!strcmp(path, "status.podIP") || !strcmp(path, "status.podIPs"))
		return ck_strdup(pod_ip ? pod_ip : "");
	return ck_strdup(ck_json_get_str(pod, path, ""));
}

typedef struct envctx {
	const pod_sync_in *in;
	kc_sync *api;
	char *error;
} envctx;

/* The configMap or secret name in the pod's namespace; NULL with *error unless optional. */
static cJSON *get_object(envctx *x, bool secret, const char *name, bool optional, bool *missing)
{
	*missing = false;
	if (!x->api) {
		_cleanup_err_ ck_err *err = NULL;
		if (kc_sync_new(x->in->kubeconfig, &x->api, &err) < 0) {
			x->error = ck_asprintf("API client: %s", err ? err->msg : "failed");
			return NULL;
		}
	}
	_cleanup_free_ char *path =
	    ck_asprintf("/api/v1/namespaces/%s/%s/%s",
	                ck_json_get_str(x->in->pod, "metadata.namespace", "default"),
	                secret ? "secrets" : "configmaps", name);
	cJSON *obj = NULL;
	_cleanup_err_ ck_err *err = NULL;
	int rc = kc_sync_request(x->api, "GET", path, NULL, NULL, &obj, &err);
	if (rc == 0)
		return obj;
	*missing = true;
	if (!(rc == -ENOENT && optional) && !x->error)
		x->error =
		    rc == -ENOENT
		        ? ck_asprintf("%s \"%s\" not found", secret ? "secret" : "configmap", name)
		        : ck_asprintf("%s \"%s\": %s", secret ? "secret" : "configmap", name,
		                      err ? err->msg : ck_strerror(rc));
	return NULL;
}

/* The decoded value of key in obj (secrets are base64). NULL when absent. */
static char *object_value(const cJSON *obj, bool secret, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(ck_json_get(obj, "data"), key);
	if (!cJSON_IsString(v))
		return NULL;
	if (!secret)
		return ck_strdup(v->valuestring);
	uint8_t *out = NULL;
	size_t len;
	return ck_base64_decode(v->valuestring, CK_BASE64_LENIENT, &out, &len) < 0 ? NULL
	                                                                           : (char *)out;
}

int kl_env_build(const pod_sync_in *in, const cJSON *c, const char *pod_ip, char ***out,
                 char **error)
{
	envctx x = {.in = in};
	char **env = NULL;
	const cJSON *pod = in->pod;
	const cJSON *ef;
	cJSON_ArrayForEach(ef, ck_json_get(c, "envFrom"))
	{
		const char *prefix = ck_json_get_str(ef, "prefix", "");
		bool secret = ck_json_get(ef, "secretRef") != NULL;
		const cJSON *ref = ck_json_get(ef, secret ? "secretRef" : "configMapRef");
		const char *name = ck_json_get_str(ref, "name", NULL);
		if (!name)
			continue;
		bool missing;
		_cleanup_json_ cJSON *obj = get_object(
		    &x, secret, name, ck_json_get_bool(ref, "optional", false), &missing);
		if (!obj) {
			if (x.error)
				goto fail;
			continue;
		}
		const cJSON *kv;
		cJSON_ArrayForEach(kv, ck_json_get(obj, "data"))
		{
			_cleanup_free_ char *v = object_value(obj, secret, kv->string);
			_cleanup_free_ char *k = ck_asprintf("%s%s", prefix, kv->string);
			if (v)
				env_set(&env, k, v);
		}
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, ck_json_get(c, "env"))
	{
		const char *k = ck_json_get_str(e, "name", NULL);
		if (!k)
			continue;
		const cJSON *vf = ck_json_get(e, "valueFrom");
		_cleanup_free_ char *v = NULL;
		if (!vf) {
			v = kl_env_expand(ck_json_get_str(e, "value", ""), env);
		} else if (ck_json_get(vf, "fieldRef")) {
			v = field_value(pod, ck_json_get_str(vf, "fieldRef.fieldPath", ""),
			                in->node_ip, pod_ip);
		} else if (ck_json_get(vf, "configMapKeyRef") || ck_json_get(vf, "secretKeyRef")) {
			bool secret = ck_json_get(vf, "secretKeyRef") != NULL;
			const cJSON *ref =
			    ck_json_get(vf, secret ? "secretKeyRef" : "configMapKeyRef");
			const char *name = ck_json_get_str(ref, "name", "");
			const char *key = ck_json_get_str(ref, "key", "");
			bool optional = ck_json_get_bool(ref, "optional", false), missing;
			_cleanup_json_ cJSON *obj =
			    get_object(&x, secret, name, optional, &missing);
			if (!obj && x.error)
				goto fail;
			if (obj) {
				v = object_value(obj, secret, key);
				if (!v && !optional) {
					x.error = ck_asprintf(
					    "couldn't find key %s in %s %s/%s", key,
					    secret ? "Secret" : "ConfigMap",
					    ck_json_get_str(pod, "metadata.namespace", ""), name);
					goto fail;
				}
			}
			if (!v)
				continue;
		} else {
			v = ck_strdup(""); /* resourceFieldRef and others: not supported */
		}
		env_set(&env, k, v);
	}
	kc_sync_free(x.api);
	*out = env;
	return 0;
fail:
	kc_sync_free(x.api);
	ck_strv_free(env);
	*error = x.error;
	return -EINVAL;
}
