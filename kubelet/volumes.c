/* volumes: the pod's volumes as directories under <root-dir>/pods/<uid>/volumes/, bind
 * mounted into containers by the runtime (CRI Mount) per volumeMounts (with subPath and
 * readOnly). Supported: emptyDir, hostPath (DirectoryOrCreate / FileOrCreate create the
 * path), configMap and secret (data as files, items and defaultMode honoured),
 * downwardAPI (metadata fields, labels, annotations) and projected (their union;
 * serviceAccountToken sources are skipped: there is no TokenRequest here). The files of
 * the last four are written on every sync as upstream's AtomicWriter does (atomic_write):
 * an update shows up at once and whole, and a removed key disappears. Runs on the sync's
 * worker thread, with the configMaps and secrets the sync fetched (objects.c). A missing
 * non-optional configMap or secret fails the setup with upstream's message, so the pod
 * waits in ContainerCreating. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base64.h"
#include "base/json.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "kubelet.h"

int kl_mkdir_p(const char *path, mode_t mode)
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

static void rm_rf(const char *path)
{
	/* Depth first, never following symlinks nor crossing into other filesystems. */
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
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
	rm_rf(dir);
	if (safe_name(ns) && safe_name(name)) {
		_cleanup_free_ char *logs =
		    ck_asprintf("%s/%s_%s_%s", cfg->pod_log_dir, ns, name, uid);
		rm_rf(logs);
	}
}

bool kl_safe_rel_path(const char *p)
{
	if (!p || !*p || p[0] == '/')
		return false;
	_cleanup_strv_ char **parts = ck_strv_split(p, "/");
	for (size_t i = 0; parts[i]; i++)
		if (!strcmp(parts[i], ".."))
			return false;
	return true;
}

/* ---- the files of a configMap, secret, downwardAPI or projected volume ---- */

typedef struct payload {
	struct file {
		char *path; /* relative, checked */
		char *data;
		size_t len;
		int mode;
	} * v;
	size_t n;
	char *error; /* why a path was refused */
} payload;

static void payload_clear(payload *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].path);
		free(p->v[i].data);
	}
	free(p->v);
	free(p->error);
	memset(p, 0, sizeof(*p));
}

/* Adds (or replaces) path with data (taken). -EINVAL (and p->error, upstream's words) for
 * a path leaving the volume or starting with "..", the writer's own names. */
static int payload_add(payload *p, const char *path, char *data, size_t len, int mode)
{
	const char *bad = path[0] == '/'            ? "must not be absolute"
	                  : !strncmp(path, "..", 2) ? "must not start with '..'"
	                  : !kl_safe_rel_path(path) ? "must not contain '..'"
	                                            : NULL;
	if (bad) {
		if (!p->error)
			p->error = ck_asprintf("invalid path: %s: \"%s\"", bad, path);
		free(data);
		return -EINVAL;
	}
	for (size_t i = 0; i < p->n; i++) {
		if (!strcmp(p->v[i].path, path)) {
			free(p->v[i].data);
			p->v[i].data = data;
			p->v[i].len = len;
			p->v[i].mode = mode;
			return 0;
		}
	}
	p->v = ck_realloc(p->v, (p->n + 1) * sizeof(*p->v));
	p->v[p->n++] = (struct file){ck_strdup(path), data, len, mode};
	return 0;
}

/* The first component of a payload path: what the volume's top level shows. */
static char *top_of(const char *path)
{
	return ck_strndup(path, strcspn(path, "/"));
}

static int write_file(const char *path, const char *data, size_t len, int mode)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 07777);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	/* The umask must not narrow the mode asked for. */
	if (fchmod(fd, (mode_t)(mode & 07777)) < 0)
		return -errno;
	return 0;
}

/* True when file dir/f holds exactly f's data with f's mode. */
static bool file_same(const char *dir, const struct file *f)
{
	_cleanup_free_ char *path = ck_asprintf("%s/%s", dir, f->path);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 07777) != (mode_t)(f->mode & 07777) || (size_t)st.st_size != f->len)
		return false;
	_cleanup_free_ char *buf = ck_malloc(f->len + 1);
	size_t got = 0;
	while (got < f->len) {
		ssize_t n = read(fd, buf + got, f->len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return !memcmp(buf, f->data, f->len);
}

static _Thread_local size_t n_files;
static int count_file(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	if (flag == FTW_F)
		n_files++;
	return 0;
}

/* True when dir holds exactly the files of p. */
static bool payload_same(const char *dir, const payload *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (!file_same(dir, &p->v[i]))
			return false;
	/* nftw has no user pointer: the count lives in a thread-local. */
	n_files = 0;
	if (nftw(dir, count_file, 16, FTW_PHYS | FTW_MOUNT) < 0)
		return false;
	return n_files == p->n;
}
/* Whether a top-level name of the volume is one of p's. */
static bool payload_has_top(const payload *p, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < p->n; i++)
		if (!strncmp(p->v[i].path, name, n) &&
		    (p->v[i].path[n] == 0 || p->v[i].path[n] == '/'))
			return true;
	return false;
}

/* Makes dir show exactly the files of p, each change at once, as upstream's AtomicWriter:
 * the files go into a new timestamped directory "..<time>.<random>", the symlink "..data"
 * is swapped to it by a rename, and each top-level name is a symlink "name" ->
 * "..data/name"; then names no longer in p and the old directory go. A reader sees the old
 * set or the new one, never a mix. Nothing is written when dir already shows p. */
static int atomic_write(const char *dir, const payload *p)
{
	_cleanup_free_ char *data_link = ck_asprintf("%s/..data", dir);
	char old[256];
	ssize_t ol = readlink(data_link, old, sizeof(old) - 1);
	if (ol > 0) {
		old[ol] = 0;
		_cleanup_free_ char *old_dir = ck_asprintf("%s/%s", dir, old);
		if (payload_same(old_dir, p))
			return 0;
	} else {
		old[0] = 0;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	char stamp[32];
	strftime(stamp, sizeof(stamp), "%Y_%m_%d_%H_%M_%S", &tm);
	_cleanup_free_ char *ts_dir = ck_asprintf("%s/..%s.XXXXXX", dir, stamp);
	if (!mkdtemp(ts_dir))
		return -errno;
	int r = chmod(ts_dir, 0755) < 0 ? -errno : 0;
	for (size_t i = 0; r == 0 && i < p->n; i++) {
		_cleanup_free_ char *path = ck_asprintf("%s/%s", ts_dir, p->v[i].path);
		char *slash = strrchr(path, '/');
		*slash = 0;
		r = kl_mkdir_p(path, 0755);
		*slash = '/';
		if (r == 0)
			r = write_file(path, p->v[i].data, p->v[i].len, p->v[i].mode);
	}
	_cleanup_free_ char *tmp_link = ck_asprintf("%s/..data_tmp", dir);
	unlink(tmp_link);
	if (r == 0 &&
	    (symlink(strrchr(ts_dir, '/') + 1, tmp_link) < 0 || rename(tmp_link, data_link) < 0))
		r = -errno;
	if (r < 0) {
		rm_rf(ts_dir);
		unlink(tmp_link);
		return r;
	}
	/* The names shown: a symlink into ..data each; whatever else held a name (a file of
	 * an older layout) is replaced. */
	for (size_t i = 0; i < p->n; i++) {
		_cleanup_free_ char *top = top_of(p->v[i].path);
		_cleanup_free_ char *link = ck_asprintf("%s/%s", dir, top);
		_cleanup_free_ char *want = ck_asprintf("..data/%s", top);
		char cur[256];
		ssize_t cl = readlink(link, cur, sizeof(cur) - 1);
		if (cl > 0 && (size_t)cl == strlen(want) && !memcmp(cur, want, (size_t)cl))
			continue;
		rm_rf(link);
		if (symlink(want, link) < 0)
			return -errno;
	}
	/* Names no longer in the set: a removed key disappears. */
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (!strncmp(e->d_name, "..", 2) || !strcmp(e->d_name, ".") ||
			    payload_has_top(p, e->d_name))
				continue;
			_cleanup_free_ char *gone = ck_asprintf("%s/%s", dir, e->d_name);
			rm_rf(gone);
		}
		closedir(d);
	}
	if (old[0] && !strchr(old, '/') && strncmp(old, "..data", 6)) {
		_cleanup_free_ char *old_dir = ck_asprintf("%s/%s", dir, old);
		rm_rf(old_dir);
	}
	return 0;
}

/* The keys of a configMap (secret false: data as text, binaryData base64) or secret
 * (data base64) object into p: items select and rename keys; the mode from the item,
 * else default_mode. */
static int payload_keys(payload *p, const cJSON *obj, bool secret, const cJSON *items,
                        int default_mode)
{
	const char *fields[] = {"data", secret ? NULL : "binaryData"};
	for (size_t f = 0; f < CK_ARRAY_SIZE(fields); f++) {
		if (!fields[f])
			continue;
		bool decode = secret || f == 1;
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
			char *data = NULL;
			if (decode) {
				uint8_t *bin = NULL;
				if (ck_base64_decode(e->valuestring, CK_BASE64_LENIENT, &bin,
				                     &len) < 0)
					continue;
				data = (char *)bin;
			} else {
				data = ck_strdup(e->valuestring);
			}
			int r = payload_add(p, rel, data, len, mode);
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
		ck_buf_puts(&b, "");
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

static int payload_downward(payload *p, const cJSON *pod, const cJSON *items, int default_mode)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, items)
	{
		const char *fp = ck_json_get_str(it, "fieldRef.fieldPath", NULL);
		const char *rel = ck_json_get_str(it, "path", NULL);
		if (!fp || !rel)
			continue;
		char *val = downward_value(pod, fp);
		int r = payload_add(p, rel, val, strlen(val),
		                    (int)ck_json_get_int(it, "mode", default_mode));
		if (r < 0)
			return r;
	}
	return 0;
}

/* A configMap or secret source (src holds name / secretName, items, optional) into p;
 * lenient: a missing object is no error (projected sources). */
static int payload_object(kl_sync *x, payload *p, const cJSON *src, bool secret, int default_mode,
                          bool lenient, char **error)
{
	const char *what = secret ? "secret" : "configmap";
	const char *name = ck_json_get_str(src, secret ? "secretName" : "name", NULL);
	if (!name && secret)
		name = ck_json_get_str(src, "name", NULL);
	if (!name)
		return 0;
	const kl_obj *o = objects_fetch(x, secret, name);
	if (o->error) {
		*error = ck_asprintf("reading %s \"%s\": %s", what, name, o->error);
		return -EIO;
	}
	if (!o->obj) {
		if (ck_json_get_bool(src, "optional", false) || lenient)
			return 0;
		*error = ck_asprintf("%s \"%s\" not found", what, name);
		return -ENOENT;
	}
	return payload_keys(p, o->obj, secret, ck_json_get(src, "items"), default_mode);
}

static int setup_one(kl_sync *x, const cJSON *vol, const char *vdir_base, char **host_path,
                     char **error)
{
	const char *name = ck_json_get_str(vol, "name", "");
	const cJSON *hp = ck_json_get(vol, "hostPath");
	if (hp) {
		const char *path = ck_json_get_str(hp, "path", "");
		const char *type = ck_json_get_str(hp, "type", "");
		if (!strcmp(type, "DirectoryOrCreate"))
			kl_mkdir_p(path, 0755);
		else if (!strcmp(type, "FileOrCreate")) {
			int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd >= 0)
				close(fd);
		}
		*host_path = ck_strdup(path);
		return 0;
	}
	const char *plugin = ck_json_get(vol, "configMap")     ? "configmap"
	                     : ck_json_get(vol, "secret")      ? "secret"
	                     : ck_json_get(vol, "downwardAPI") ? "downward-api"
	                     : ck_json_get(vol, "projected")   ? "projected"
	                                                       : "empty-dir";
	_cleanup_free_ char *dir = ck_asprintf("%s/kubernetes.io~%s/%s", vdir_base, plugin, name);
	int r = kl_mkdir_p(dir, 0755);
	if (r < 0) {
		*error = ck_asprintf("mkdir %s: %s", dir, ck_strerror(r));
		return r;
	}
	_cleanup_(payload_clear) payload p = {0};
	const cJSON *src;
	if ((src = ck_json_get(vol, "configMap")))
		r = payload_object(x, &p, src, false,
		                   (int)ck_json_get_int(src, "defaultMode", 0644), false, error);
	else if ((src = ck_json_get(vol, "secret")))
		r = payload_object(x, &p, src, true, (int)ck_json_get_int(src, "defaultMode", 0644),
		                   false, error);
	else if ((src = ck_json_get(vol, "downwardAPI")))
		r = payload_downward(&p, x->pod, ck_json_get(src, "items"),
		                     (int)ck_json_get_int(src, "defaultMode", 0644));
	else if ((src = ck_json_get(vol, "projected"))) {
		int mode = (int)ck_json_get_int(src, "defaultMode", 0644);
		const cJSON *s;
		cJSON_ArrayForEach(s, ck_json_get(src, "sources"))
		{
			const cJSON *o;
			if ((o = ck_json_get(s, "configMap")))
				r = payload_object(x, &p, o, false, mode, true, error);
			else if ((o = ck_json_get(s, "secret")))
				r = payload_object(x, &p, o, true, mode, true, error);
			else if ((o = ck_json_get(s, "downwardAPI")))
				r = payload_downward(&p, x->pod, ck_json_get(o, "items"), mode);
			if (r < 0)
				break;
		}
	} else {
		/* emptyDir: the directory is the volume. */
		*host_path = CK_TAKE_PTR(dir);
		return 0;
	}
	if (r == 0)
		r = atomic_write(dir, &p);
	if (r < 0 && !*error)
		*error = p.error ? CK_TAKE_PTR(p.error) : ck_strdup(ck_strerror(r));
	*host_path = CK_TAKE_PTR(dir);
	return r;
}

int volumes_setup(kl_sync *x, char **error)
{
	volumes_clear(&x->vols);
	_cleanup_free_ char *base = ck_asprintf("%s/pods/%s/volumes", x->cfg->root_dir, x->uid);
	const cJSON *vol;
	cJSON_ArrayForEach(vol, ck_json_get(x->pod, "spec.volumes"))
	{
		char *host = NULL;
		_cleanup_free_ char *m = NULL;
		int r = setup_one(x, vol, base, &host, &m);
		if (r < 0) {
			free(host);
			*error = ck_asprintf("MountVolume.SetUp failed for volume \"%s\" : %s",
			                     ck_json_get_str(vol, "name", ""), m ? m : "error");
			volumes_clear(&x->vols);
			return r;
		}
		kl_volumes *v = &x->vols;
		v->v = ck_realloc(v->v, (v->n + 1) * sizeof(*v->v));
		v->v[v->n].name = ck_strdup(ck_json_get_str(vol, "name", ""));
		v->v[v->n].path = host;
		v->n++;
	}
	return 0;
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

void volumes_prepare_mounts(const cri_mount *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (access(m[i].host_path, F_OK) < 0)
			kl_mkdir_p(m[i].host_path, 0755);
}
