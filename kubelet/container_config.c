/* container_config: a container's CRI config from the pod spec, the container and the
 * sync's data (pure: no I/O, no runtime or API call; what it reads was fetched before).
 *
 * The environment as upstream builds it (kubelet_pods.go makeEnvironment): envFrom
 * sources first (every key of a configMap or secret, with an optional prefix), then env
 * entries, a later name replacing an earlier one: value (with $(VAR) references to
 * variables defined before it expanded), valueFrom.fieldRef (metadata.name, namespace,
 * uid, labels['k'], annotations['k'], spec.nodeName, spec.serviceAccountName,
 * status.podIP, status.hostIP), configMapKeyRef and secretKeyRef. Command and args get
 * $(VAR) expanded against it; labels and annotations are upstream's; requests and limits
 * map to cgroup v1 as upstream's cm/helpers_linux.go does. */
#include <stdlib.h>
#include <string.h>

#include "api/quantity.h"
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
static char *field_value(const kl_sync *x, const char *path)
{
	const char *br = strstr(path, "['");
	if (br && ck_str_has_suffix(path, "']")) {
		_cleanup_free_ char *map = ck_strndup(path, (size_t)(br - path));
		_cleanup_free_ char *key = ck_strndup(br + 2, strlen(br + 2) - 2);
		const cJSON *m = ck_json_get(x->pod, map);
		const cJSON *v = m ? cJSON_GetObjectItemCaseSensitive(m, key) : NULL;
		return ck_strdup(cJSON_IsString(v) ? v->valuestring : "");
	}
	if (!strcmp(path, "status.hostIP") || !strcmp(path, "status.hostIPs"))
		return ck_strdup(x->node_ip ? x->node_ip : "");
	if (!strcmp(path, "status.podIP") || !strcmp(path, "status.podIPs"))
		return ck_strdup(x->pod_ip ? x->pod_ip : "");
	return ck_strdup(ck_json_get_str(x->pod, path, ""));
}

/* The fetched configMap or secret name, or NULL: with *error unless it is absent and
 * optional. */
static const cJSON *env_object(const kl_sync *x, bool secret, const char *name, bool optional,
                               char **error)
{
	const char *what = secret ? "secret" : "configmap";
	const kl_obj *o = kl_sync_obj(x, secret, name);
	if (!o)
		*error = ck_asprintf("%s \"%s\" was not fetched", what, name);
	else if (o->error)
		*error = ck_asprintf("%s \"%s\": %s", what, name, o->error);
	else if (!o->obj && !optional)
		*error = ck_asprintf("%s \"%s\" not found", what, name);
	return o ? o->obj : NULL;
}

int kl_env_build(const kl_sync *x, const cJSON *c, char ***out, char **error)
{
	_cleanup_strv_ char **env = NULL;
	const cJSON *ef;
	cJSON_ArrayForEach(ef, ck_json_get(c, "envFrom"))
	{
		const char *prefix = ck_json_get_str(ef, "prefix", "");
		bool secret = ck_json_get(ef, "secretRef") != NULL;
		const cJSON *ref = ck_json_get(ef, secret ? "secretRef" : "configMapRef");
		const char *name = ck_json_get_str(ref, "name", NULL);
		if (!name)
			continue;
		const cJSON *obj =
		    env_object(x, secret, name, ck_json_get_bool(ref, "optional", false), error);
		if (*error)
			return -EINVAL;
		const cJSON *kv;
		cJSON_ArrayForEach(kv, ck_json_get(obj, "data"))
		{
			_cleanup_free_ char *v = kl_obj_value(obj, secret, kv->string);
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
			v = field_value(x, ck_json_get_str(vf, "fieldRef.fieldPath", ""));
		} else if (ck_json_get(vf, "configMapKeyRef") || ck_json_get(vf, "secretKeyRef")) {
			bool secret = ck_json_get(vf, "secretKeyRef") != NULL;
			const cJSON *ref =
			    ck_json_get(vf, secret ? "secretKeyRef" : "configMapKeyRef");
			const char *name = ck_json_get_str(ref, "name", "");
			const char *key = ck_json_get_str(ref, "key", "");
			bool optional = ck_json_get_bool(ref, "optional", false);
			const cJSON *obj = env_object(x, secret, name, optional, error);
			if (*error)
				return -EINVAL;
			if (obj) {
				v = kl_obj_value(obj, secret, key);
				if (!v && !optional) {
					*error = ck_asprintf("couldn't find key %s in %s %s/%s",
					                     key, secret ? "Secret" : "ConfigMap",
					                     x->ns, name);
					return -EINVAL;
				}
			}
			if (!v)
				continue;
		} else {
			v = ck_strdup(""); /* resourceFieldRef and others: not supported */
		}
		env_set(&env, k, v);
	}
	*out = CK_TAKE_PTR(env);
	return 0;
}

char *kl_termination_path(const kl_config *cfg, const char *uid, const char *name, uint32_t attempt)
{
	return ck_asprintf("%s/pods/%s/containers/%s/%u", cfg->root_dir, uid, name, attempt);
}

/* The CRI mounts of c's volumeMounts (the volume's host path, or the subPath in it). */
static void mounts_build(const kl_sync *x, const cJSON *c, kl_container_config *cc)
{
	const cJSON *vm;
	cJSON_ArrayForEach(vm, ck_json_get(c, "volumeMounts"))
	{
		const char *name = ck_json_get_str(vm, "name", "");
		const char *path = ck_json_get_str(vm, "mountPath", NULL);
		const char *sub = ck_json_get_str(vm, "subPath", NULL);
		if (!path)
			continue;
		for (size_t i = 0; i < x->vols.n; i++) {
			const struct kl_volume *v = &x->vols.v[i];
			if (strcmp(v->name, name))
				continue;
			char *host = sub && *sub && kl_safe_rel_path(sub)
			                 ? ck_asprintf("%s/%s", v->path, sub)
			                 : ck_strdup(v->path);
			ck_strv_push(&cc->owned, host);
			cc->mounts =
			    ck_realloc(cc->mounts, (cc->c.n_mounts + 1) * sizeof(cri_mount));
			cc->mounts[cc->c.n_mounts++] =
			    (cri_mount){.container_path = path,
			                .host_path = host,
			                .readonly = ck_json_get_bool(vm, "readOnly", false)};
			break;
		}
	}
}

/* Requests and limits as upstream maps them to cgroup v1 (cm/helpers_linux.go): shares
 * from the CPU request (the limit when no request; 2 when neither), a CFS quota per
 * 100 ms period from the CPU limit, the memory limit in bytes. */
static void resources_build(const cJSON *c, cri_container_config *cc)
{
	int64_t req_cpu = quantity_milli(ck_json_get_str(c, "resources.requests.cpu", NULL), -1);
	int64_t lim_cpu = quantity_milli(ck_json_get_str(c, "resources.limits.cpu", NULL), -1);
	int64_t lim_mem = quantity_milli(ck_json_get_str(c, "resources.limits.memory", NULL), -1);
	if (req_cpu < 0)
		req_cpu = lim_cpu;
	cc->cpu_shares = req_cpu >= 0 ? (req_cpu * 1024 / 1000 < 2 ? 2 : req_cpu * 1024 / 1000) : 2;
	if (lim_cpu > 0) {
		cc->cpu_period = 100000;
		cc->cpu_quota = lim_cpu * 100000 / 1000 < 1000 ? 1000 : lim_cpu * 100000 / 1000;
	}
	if (lim_mem > 0)
		cc->memory_limit = lim_mem / 1000;
}

int container_config_build(const kl_sync *x, const cJSON *c, uint32_t attempt,
                           const char *termination_file, kl_container_config *out, char **error)
{
	memset(out, 0, sizeof(*out));
	const cJSON *pod = x->pod;
	const char *name = ck_json_get_str(c, "name", "");
	if (kl_env_build(x, c, &out->env, error) < 0)
		return -EINVAL;
	const cJSON *e;
	cJSON_ArrayForEach(e, ck_json_get(c, "command"))
	{
		if (cJSON_IsString(e))
			ck_strv_push(&out->command, kl_env_expand(e->valuestring, out->env));
	}
	cJSON_ArrayForEach(e, ck_json_get(c, "args"))
	{
		if (cJSON_IsString(e))
			ck_strv_push(&out->args, kl_env_expand(e->valuestring, out->env));
	}
	ck_strv_add(&out->labels, KL_LABEL_POD_NAME);
	ck_strv_add(&out->labels, x->name);
	ck_strv_add(&out->labels, KL_LABEL_POD_NAMESPACE);
	ck_strv_add(&out->labels, x->ns);
	ck_strv_add(&out->labels, KL_LABEL_POD_UID);
	ck_strv_add(&out->labels, x->uid);
	ck_strv_add(&out->labels, KL_LABEL_CONTAINER_NAME);
	ck_strv_add(&out->labels, name);
	const char *tm_path = ck_json_get_str(c, "terminationMessagePath", "/dev/termination-log");
	ck_strv_add(&out->annotations, "io.kubernetes.container.restartCount");
	ck_strv_push(&out->annotations, ck_asprintf("%u", attempt));
	ck_strv_add(&out->annotations, "io.kubernetes.container.terminationMessagePath");
	ck_strv_add(&out->annotations, tm_path);
	ck_strv_add(&out->annotations, "io.kubernetes.pod.terminationGracePeriod");
	ck_strv_push(&out->annotations,
	             ck_asprintf("%lld", (long long)ck_json_get_int(
	                                     pod, "spec.terminationGracePeriodSeconds", 30)));
	out->log_path = ck_asprintf("%s/%u.log", name, attempt);
	out->c = (cri_container_config){
	    .name = name,
	    .attempt = attempt,
	    .image = ck_json_get_str(c, "image", ""),
	    .command = (const char *const *)out->command,
	    .args = (const char *const *)out->args,
	    .working_dir = ck_json_get_str(c, "workingDir", NULL),
	    .envs = (const char *const *)out->env,
	    .labels = (const char *const *)out->labels,
	    .annotations = (const char *const *)out->annotations,
	    .log_path = out->log_path,
	    .tty = ck_json_get_bool(c, "tty", false),
	    .stdin_open = ck_json_get_bool(c, "stdin", false),
	    .host_network = ck_json_get_bool(pod, "spec.hostNetwork", false),
	    .run_as_user =
	        ck_json_get_int(c, "securityContext.runAsUser",
	                        ck_json_get_int(pod, "spec.securityContext.runAsUser", -1)),
	    .privileged = ck_json_get_bool(c, "securityContext.privileged", false),
	};
	resources_build(c, &out->c);
	mounts_build(x, c, out);
	/* The termination message file, as upstream: a per-instance file of the kubelet's
	 * mounted at terminationMessagePath (default /dev/termination-log). */
	if (termination_file && *tm_path == '/') {
		ck_strv_add(&out->owned, termination_file);
		out->mounts = ck_realloc(out->mounts, (out->c.n_mounts + 1) * sizeof(cri_mount));
		out->mounts[out->c.n_mounts++] =
		    (cri_mount){.container_path = tm_path,
		                .host_path = out->owned[ck_strv_len(out->owned) - 1]};
	}
	out->c.mounts = out->mounts;
	return 0;
}

void container_config_clear(kl_container_config *cc)
{
	ck_strv_free(cc->env);
	ck_strv_free(cc->command);
	ck_strv_free(cc->args);
	ck_strv_free(cc->labels);
	ck_strv_free(cc->annotations);
	free(cc->log_path);
	free(cc->mounts);
	ck_strv_free(cc->owned);
	memset(cc, 0, sizeof(*cc));
}
