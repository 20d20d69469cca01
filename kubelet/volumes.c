/* volumes: the pod's volumes as directories under <root-dir>/pods/<uid>/volumes/, bind
 * mounted into containers by the runtime (CRI Mount) per volumeMounts (with subPath and
 * readOnly). Supported: emptyDir, hostPath (DirectoryOrCreate / FileOrCreate create the
 * path), configMap and secret (data written as files, items and defaultMode honoured,
 * re-written on every sync so updates show up), downwardAPI (metadata fields, labels,
 * annotations) and projected (their union; serviceAccountToken sources are skipped: there
 * is no TokenRequest here). Runs on the sync's worker thread: API reads use a blocking
 * client of their own. A missing non-optional configMap or secret fails the setup with
 * upstream's message, so the pod waits in ContainerCreating. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base64.h"
#include "base/json.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "kubelet.h"

static int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = ck_strdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	if (flag == FTW_DP || flag == FTW_D)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static bool safe_name(const char *s)
{
	return s && *s && !strchr(s, '/') && strcmp(s, "..") && strcmp(s, ".");
}

void volumes_remove(const kl_config *cfg, const char *ns, const char *name, const char *uid)
{
	if (!safe_name(uid))
		return;
	_cleanup_free_ char *dir = ck_asprintf("%s/pods/%s", cfg->root_dir, uid);
	/* Depth first, never following symlinks nor crossing into other filesystems. */
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	if (safe_name(ns) && safe_name(name)) {
		_cleanup_free_ char *logs =
		    ck_asprintf("%s/%s_%s_%s", cfg->pod_log_dir, ns, name, uid);
		nftw(logs, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	}
}

/* A relative path without "..", as upstream validates item paths. */
static bool safe_rel(const char *p)
{
	if (!p || !*p || p[0] == '/')
		return false;
	_cleanup_strv_ char **parts = ck_strv_split(p, "/");
	for (size_t i = 0; parts[i]; i++)
		if (!strcmp(parts[i], ".."))
			return false;
	return true;
}

/* Writes data to dir/rel atomically (temp file + rename) with mode. */
static int write_atomic(const char *dir, const char *rel, const void *data, size_t len, int mode)
{
	if (!safe_rel(rel))
		return -EINVAL;
	_cleanup_free_ char *path = ck_asprintf("%s/%s", dir, rel);
	char *slash = strrchr(path, '/');
	*slash = 0;
	int r = mkdir_p(path, 0755);
	*slash = '/';
	if (r < 0)
		return r;
	_cleanup_free_ char *tmp = ck_asprintf("%s.ckube-tmp", path);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 07777);
	if (fd < 0)
		return -errno;
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	fchmod(fd, (mode_t)(mode & 07777));
	if (rename(tmp, path) < 0)
		return -errno;
	return 0;
}

/* Secret data (base64, tolerant of line breaks as Go is); NULL when malformed. */
static char *b64_decode(const char *s, size_t *len)
{
	uint8_t *out = NULL;
	return ck_base64_decode(s, CK_BASE64_LENIENT, &out, len) < 0 ? NULL : (char *)out;
}

typedef struct vctx {
	const pod_sync_in *in;
	kc_sync *api; /* opened on first use */
	char *error;
} vctx;

static cJSON *api_get(vctx *v, const char *path, int *rc)
{
	if (!v->api) {
		_cleanup_err_ ck_err *err = NULL;
		int r = kc_sync_new(v->in->kubeconfig, &v->api, &err);
		if (r < 0) {
			*rc = r;
			return NULL;
		}
	}
	cJSON *out = NULL;
	_cleanup_err_ ck_err *err = NULL;
	*rc = kc_sync_request(v->api, "GET", path, NULL, NULL, &out, &err);
	return out;
}

/* Writes the keys of a configMap (b64 false) or secret (b64 true) object into dir:
 * items select and rename keys; mode from the item, else default_mode. */
static int write_keys(const cJSON *obj, bool b64, const cJSON *items, int default_mode,
                      const char *dir)
{
	const char *fields[] = {b64 ? "data" : "data", b64 ? NULL : "binaryData"};
	for (size_t f = 0; f < 2; f++) {
		if (!fields[f])
			continue;
		bool decode = b64 || f == 1;
		const cJSON *e;
		cJSON_ArrayForEach(e, ck_json_get(obj, fields[f]))
		{
			if (!cJSON_IsString(e))
				continue;
			const char *rel = e->string;
			int mode = default_mode;
			if (items && cJSON_GetArraySize(items) > 0) {
				rel = NULL;
				const cJSON *it;
				cJSON_ArrayForEach(it, items)
				{
					if (!strcmp(ck_json_get_str(it, "key", ""), e->string)) {
						rel = ck_json_get_str(it, "path", NULL);
						mode =
						    (int)ck_json_get_int(it, "mode", default_mode);
					}
				}
				if (!rel)
					continue;
			}
			size_t len = strlen(e->valuestring);
			_cleanup_free_ char *bin = decode ? b64_decode(e->valuestring, &len) : NULL;
			if (decode && !bin)
				continue;
			int r = write_atomic(dir, rel, decode ? bin : e->valuestring, len, mode);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static char *downward_value(const cJSON *pod, const char *path)
{
	if (!strcmp(path, "metadata.labels") || !strcmp(path, "metadata.annotations")) {
		ck_buf b = {0};
		const cJSON *e;
		cJSON_ArrayForEach(e, ck_json_get(pod, path))
		{
			if (cJSON_IsString(e))
				ck_buf_printf(&b, "%s=\"%s\"\n", e->string, e->valuestring);
		}
		return ck_buf_steal(&b);
	}
	return ck_strdup(ck_json_get_str(pod, path, ""));
}

static int write_downward(const cJSON *pod, const cJSON *items, int default_mode, const char *dir)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, items)
	{
		const char *fp = ck_json_get_str(it, "fieldRef.fieldPath", NULL);
		const char *rel = ck_json_get_str(it, "path", NULL);
		if (!fp || !rel)
			continue;
		_cleanup_free_ char *val = downward_value(pod, fp);
		int r = write_atomic(dir, rel, val, strlen(val),
		                     (int)ck_json_get_int(it, "mode", default_mode));
		if (r < 0)
			return r;
	}
	return 0;
}

/* configMap or secret source (src holds name / secretName, items, optional). */
static int source_object(vctx *v, const cJSON *src, bool secret, int default_mode, const char *dir,
                         bool lenient)
{
	const cJSON *pod = v->in->pod;
	const char *ns = ck_json_get_str(pod, "metadata.namespace", "default");
	const char *name = ck_json_get_str(src, secret ? "secretName" : "name", NULL);
	if (!name && secret)
		name = ck_json_get_str(src, "name", NULL);
	if (!name)
		return 0;
	_cleanup_free_ char *path =
	    ck_asprintf("/api/v1/namespaces/%s/%s/%s", ns, secret ? "secrets" : "configmaps", name);
	int rc = 0;
	_cleanup_json_ cJSON *obj = api_get(v, path, &rc);
	if (rc == -ENOENT && (ck_json_get_bool(src, "optional", false) || lenient))
		return 0;
	if (rc < 0) {
		if (!v->error)
			v->error = rc == -ENOENT
			               ? ck_asprintf("%s \"%s\" not found",
			                             secret ? "secret" : "configmap", name)
			               : ck_asprintf("reading %s \"%s\": %s",
			                             secret ? "secret" : "configmap", name,
			                             ck_strerror(rc));
		return rc;
	}
	return write_keys(obj, secret, ck_json_get(src, "items"), default_mode, dir);
}

static int setup_one(vctx *v, const cJSON *vol, const char *vdir_base, char **host_path)
{
	const char *name = ck_json_get_str(vol, "name", "");
	const cJSON *pod = v->in->pod;
	const cJSON *hp = ck_json_get(vol, "hostPath");
	if (hp) {
		const char *p = ck_json_get_str(hp, "path", "");
		const char *type = ck_json_get_str(hp, "type", "");
		if (!strcmp(type, "DirectoryOrCreate"))
			mkdir_p(p, 0755);
		else if (!strcmp(type, "FileOrCreate")) {
			int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd >= 0)
				close(fd);
		}
		*host_path = ck_strdup(p);
		return 0;
	}
	const char *plugin = ck_json_get(vol, "configMap")     ? "configmap"
	                     : ck_json_get(vol, "secret")      ? "secret"
	                     : ck_json_get(vol, "downwardAPI") ? "downward-api"
	                     : ck_json_get(vol, "projected")   ? "projected"
	                                                       : "empty-dir";
	_cleanup_free_ char *dir = ck_asprintf("%s/kubernetes.io~%s/%s", vdir_base, plugin, name);
	int r = mkdir_p(dir, 0755);
	if (r < 0) {
		v->error = ck_asprintf("mkdir %s: %s", dir, ck_strerror(r));
		return r;
	}
	const cJSON *src;
	if ((src = ck_json_get(vol, "configMap")))
		r = source_object(v, src, false, (int)ck_json_get_int(src, "defaultMode", 0644),
		                  dir, false);
	else if ((src = ck_json_get(vol, "secret")))
		r = source_object(v, src, true, (int)ck_json_get_int(src, "defaultMode", 0644), dir,
		                  false);
	else if ((src = ck_json_get(vol, "downwardAPI")))
		r = write_downward(pod, ck_json_get(src, "items"),
		                   (int)ck_json_get_int(src, "defaultMode", 0644), dir);
	else if ((src = ck_json_get(vol, "projected"))) {
		int mode = (int)ck_json_get_int(src, "defaultMode", 0644);
		const cJSON *s;
		cJSON_ArrayForEach(s, ck_json_get(src, "sources"))
		{
			const cJSON *x;
			if ((x = ck_json_get(s, "configMap")))
				r = source_object(v, x, false, mode, dir, true);
			else if ((x = ck_json_get(s, "secret")))
				r = source_object(v, x, true, mode, dir, true);
			else if ((x = ck_json_get(s, "downwardAPI")))
				r = write_downward(pod, ck_json_get(x, "items"), mode, dir);
			if (r < 0)
				break;
		}
	}
	if (r < 0 && !v->error)
		v->error = ck_asprintf("%s", ck_strerror(r));
	*host_path = CK_TAKE_PTR(dir);
	return r;
}

int volumes_setup(const pod_sync_in *in, kl_volumes *out, char **error)
{
	memset(out, 0, sizeof(*out));
	const cJSON *pod = in->pod;
	const char *uid = ck_json_get_str(pod, "metadata.uid", "");
	_cleanup_free_ char *base = ck_asprintf("%s/pods/%s/volumes", in->cfg->root_dir, uid);
	vctx v = {.in = in};
	int rc = 0;
	const cJSON *vol;
	cJSON_ArrayForEach(vol, ck_json_get(pod, "spec.volumes"))
	{
		char *host = NULL;
		int r = setup_one(&v, vol, base, &host);
		if (r < 0) {
			free(host);
			_cleanup_free_ char *m = CK_TAKE_PTR(v.error);
			*error = ck_asprintf("MountVolume.SetUp failed for volume \"%s\" : %s",
			                     ck_json_get_str(vol, "name", ""), m ? m : "error");
			rc = r;
			break;
		}
		out->v = ck_realloc(out->v, (out->n + 1) * sizeof(*out->v));
		out->v[out->n].name = ck_strdup(ck_json_get_str(vol, "name", ""));
		out->v[out->n].path = host;
		out->n++;
	}
	free(v.error);
	kc_sync_free(v.api);
	if (rc < 0)
		volumes_clear(out);
	return rc;
}

void volumes_clear(kl_volumes *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->v[i].name);
		free(v->v[i].path);
	}
	free(v->v);
	memset(v, 0, sizeof(*v));
}

cri_mount *volumes_mounts(const kl_volumes *v, const cJSON *container, size_t *n, char ***owned)
{
	*n = 0;
	cri_mount *m = NULL;
	const cJSON *vm;
	cJSON_ArrayForEach(vm, ck_json_get(container, "volumeMounts"))
	{
		const char *name = ck_json_get_str(vm, "name", "");
		const char *path = ck_json_get_str(vm, "mountPath", NULL);
		const char *sub = ck_json_get_str(vm, "subPath", NULL);
		if (!path)
			continue;
		for (size_t i = 0; i < v->n; i++) {
			if (strcmp(v->v[i].name, name))
				continue;
			char *host;
			if (sub && *sub && safe_rel(sub)) {
				host = ck_asprintf("%s/%s", v->v[i].path, sub);
				/* A subPath that does not exist yet is made a directory. */
				if (access(host, F_OK) < 0)
					mkdir_p(host, 0755);
			} else {
				host = ck_strdup(v->v[i].path);
			}
			ck_strv_push(owned, host);
			m = ck_realloc(m, (*n + 1) * sizeof(*m));
			m[*n] = (cri_mount){.container_path = path,
			                    .host_path = host,
			                    .readonly = ck_json_get_bool(vm, "readOnly", false)};
			(*n)++;
			break;
		}
	}
	return m;
}
