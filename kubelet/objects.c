/* objects: the configMaps and secrets a pod references, for its environment and its
 * volumes. A sync fetches each one once (objects_fetch) into its context, and env and
 * volumes both read that copy. */
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/json.h"
#include "kubelet.h"

static void refs_of_source(const cJSON *src, bool secret, void (*fn)(bool, const char *, void *),
                           void *data)
{
	const char *name = ck_json_get_str(src, secret ? "secretName" : "name", NULL);
	if (!name && secret)
		name = ck_json_get_str(src, "name", NULL);
	if (name)
		fn(secret, name, data);
}

static void refs_of_container(const cJSON *c, void (*fn)(bool, const char *, void *), void *data)
{
	const cJSON *e, *ref;
	cJSON_ArrayForEach(e, ck_json_get(c, "envFrom"))
	{
		if ((ref = ck_json_get(e, "configMapRef")))
			refs_of_source(ref, false, fn, data);
		else if ((ref = ck_json_get(e, "secretRef")))
			refs_of_source(ref, true, fn, data);
	}
	cJSON_ArrayForEach(e, ck_json_get(c, "env"))
	{
		if ((ref = ck_json_get(e, "valueFrom.configMapKeyRef")))
			refs_of_source(ref, false, fn, data);
		else if ((ref = ck_json_get(e, "valueFrom.secretKeyRef")))
			refs_of_source(ref, true, fn, data);
	}
}

void kl_pod_refs(const cJSON *pod, const cJSON *c, bool volumes,
                 void (*fn)(bool secret, const char *name, void *data), void *data)
{
	if (volumes) {
		const cJSON *v, *s, *src;
		cJSON_ArrayForEach(v, ck_json_get(pod, "spec.volumes"))
		{
			if ((src = ck_json_get(v, "configMap")))
				refs_of_source(src, false, fn, data);
			else if ((src = ck_json_get(v, "secret")))
				refs_of_source(src, true, fn, data);
			cJSON_ArrayForEach(s, ck_json_get(v, "projected.sources"))
			{
				if ((src = ck_json_get(s, "configMap")))
					refs_of_source(src, false, fn, data);
				else if ((src = ck_json_get(s, "secret")))
					refs_of_source(src, true, fn, data);
			}
		}
	}
	if (c) {
		refs_of_container(c, fn, data);
		return;
	}
	const char *lists[] = {"spec.initContainers", "spec.containers"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(lists); i++) {
		const cJSON *x;
		cJSON_ArrayForEach(x, ck_json_get(pod, lists[i])) refs_of_container(x, fn, data);
	}
}

const kl_obj *kl_sync_obj(const kl_sync *x, bool secret, const char *name)
{
	for (size_t i = 0; i < x->n_objs; i++)
		if (x->objs[i].secret == secret && !strcmp(x->objs[i].name, name))
			return &x->objs[i];
	return NULL;
}

char *kl_obj_value(const cJSON *obj, bool secret, const char *key)
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

const kl_obj *objects_fetch(kl_sync *x, bool secret, const char *name)
{
	const kl_obj *have = kl_sync_obj(x, secret, name);
	if (have)
		return have;
	kl_obj o = {.secret = secret, .name = ck_strdup(name)};
	_cleanup_err_ ck_err *err = NULL;
	int rc = x->api ? 0 : kc_sync_new(x->kubeconfig, &x->api, &err);
	if (rc == 0) {
		_cleanup_free_ char *path = ck_asprintf("/api/v1/namespaces/%s/%s/%s", x->ns,
		                                        secret ? "secrets" : "configmaps", name);
		rc = kc_sync_request(x->api, "GET", path, NULL, NULL, &o.obj, &err);
	}
	if (rc < 0 && rc != -ENOENT)
		o.error = ck_strdup(err ? err->msg : ck_strerror(rc));
	x->objs = ck_realloc(x->objs, (x->n_objs + 1) * sizeof(*x->objs));
	x->objs[x->n_objs] = o;
	return &x->objs[x->n_objs++];
}

static void fetch_ref(bool secret, const char *name, void *data)
{
	objects_fetch(data, secret, name);
}

void objects_fetch_env(kl_sync *x, const cJSON *c)
{
	kl_pod_refs(x->pod, c, false, fetch_ref, x);
}

void kl_objs_clear(kl_sync *x)
{
	for (size_t i = 0; i < x->n_objs; i++) {
		free(x->objs[i].name);
		cJSON_Delete(x->objs[i].obj);
		free(x->objs[i].error);
	}
	free(x->objs);
	x->objs = NULL;
	x->n_objs = 0;
	kc_sync_free(x->api);
	x->api = NULL;
}
