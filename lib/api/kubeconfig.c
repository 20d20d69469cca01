/* kubeconfig: load and resolve. See kubeconfig.h. */
#include "api/kubeconfig.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base64.h"
#include "base/json.h"
#include "base/strbuf.h"
#include "base/yaml.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Reads a whole (small) file. Returns 0 and a NUL-terminated *out, or -errno. */
static int read_file(const char *path, char **out, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	_cleanup_buf_ ck_buf b = {0};
	char tmp[4096];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > 16 << 20)
			return -EFBIG;
		ck_buf_append(&b, tmp, (size_t)n);
	}
	if (len)
		*len = b.len;
	*out = ck_buf_steal(&b);
	return 0;
}

static cJSON *find_named(const cJSON *list, const char *name)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
	{
		if (!strcmp(ck_json_get_str(it, "name", ""), name))
			return (cJSON *)it;
	}
	return NULL;
}

static char *resolve_path(const char *dir, const char *p)
{
	if (!p || !*p)
		return NULL;
	if (p[0] == '/' || !dir)
		return ck_strdup(p);
	return ck_asprintf("%s/%s", dir, p);
}

/* Sets *pem from a *-data field (base64) or *file from the path field. */
static int take_pem_or_file(const cJSON *obj, const char *data_key, const char *file_key,
                            const char *dir, char **pem, char **file, ck_err **err)
{
	const char *data = ck_json_get_str(obj, data_key, NULL);
	if (data && *data) {
		uint8_t *raw = NULL;
		size_t len = 0;
		if (ck_base64_decode(data, CK_BASE64_LENIENT, &raw, &len) < 0)
			return ck_err_set(err, -EINVAL, "%s is not valid base64", data_key);
		*pem = (char *)raw;
		return 0;
	}
	*file = resolve_path(dir, ck_json_get_str(obj, file_key, NULL));
	return 0;
}

int kubeconfig_parse(const char *text, size_t len, const char *dir, const char *context,
                     kubeconfig **out, ck_err **err)
{
	_cleanup_json_ cJSON *doc = ck_yaml_parse(text, len, err);
	if (!doc)
		return ck_err_wrap(err, -EINVAL, "kubeconfig");
	if (!cJSON_IsObject(doc))
		return ck_err_set(err, -EINVAL, "kubeconfig: not a mapping");
	const char *ctx_name = context ? context : ck_json_get_str(doc, "current-context", "");
	kubeconfig *kc = ck_calloc(1, sizeof(*kc));
	_cleanup_kubeconfig_ kubeconfig *guard = kc;
	if (!*ctx_name) {
		/* No context: a file with a single cluster and user is still usable. */
		cJSON *clusters = ck_json_get(doc, "clusters");
		if (cJSON_GetArraySize(clusters) != 1)
			return ck_err_set(err, -ENOENT, "kubeconfig: no current-context");
		const cJSON *cl = cJSON_GetArrayItem(clusters, 0);
		kc->cluster = ck_strdup(ck_json_get_str(cl, "name", ""));
		cJSON *users = ck_json_get(doc, "users");
		if (cJSON_GetArraySize(users) == 1)
			kc->user =
			    ck_strdup(ck_json_get_str(cJSON_GetArrayItem(users, 0), "name", ""));
	} else {
		const cJSON *ctx = find_named(ck_json_get(doc, "contexts"), ctx_name);
		if (!ctx)
			return ck_err_set(err, -ENOENT, "kubeconfig: context \"%s\" not found",
			                  ctx_name);
		kc->context = ck_strdup(ctx_name);
		kc->cluster = ck_strdup(ck_json_get_str(ctx, "context.cluster", ""));
		kc->user = ck_strdup(ck_json_get_str(ctx, "context.user", ""));
		const char *ns = ck_json_get_str(ctx, "context.namespace", NULL);
		if (ns && *ns)
			kc->namespace_ = ck_strdup(ns);
	}
	const cJSON *cl = find_named(ck_json_get(doc, "clusters"), kc->cluster);
	if (!cl)
		return ck_err_set(err, -ENOENT, "kubeconfig: cluster \"%s\" not found",
		                  kc->cluster);
	const cJSON *c = ck_json_get(cl, "cluster");
	const char *server = ck_json_get_str(c, "server", NULL);
	if (server && *server) {
		/* A trailing slash would double up with our paths. */
		kc->server = ck_strdup(server);
		size_t n = strlen(kc->server);
		while (n > 0 && kc->server[n - 1] == '/')
			kc->server[--n] = 0;
	}
	kc->insecure_skip_tls_verify = ck_json_get_bool(c, "insecure-skip-tls-verify", false);
	int rc = take_pem_or_file(c, "certificate-authority-data", "certificate-authority", dir,
	                          &kc->ca_pem, &kc->ca_file, err);
	if (rc < 0)
		return rc;
	if (kc->user && *kc->user) {
		const cJSON *u = find_named(ck_json_get(doc, "users"), kc->user);
		if (!u)
			return ck_err_set(err, -ENOENT, "kubeconfig: user \"%s\" not found",
			                  kc->user);
		const cJSON *user = ck_json_get(u, "user");
		rc = take_pem_or_file(user, "client-certificate-data", "client-certificate", dir,
		                      &kc->cert_pem, &kc->cert_file, err);
		if (rc < 0)
			return rc;
		rc = take_pem_or_file(user, "client-key-data", "client-key", dir, &kc->key_pem,
		                      &kc->key_file, err);
		if (rc < 0)
			return rc;
		const char *token = ck_json_get_str(user, "token", NULL);
		const char *token_file = ck_json_get_str(user, "tokenFile", NULL);
		if (token && *token) {
			kc->token = ck_strdup(token);
		} else if (token_file && *token_file) {
			_cleanup_free_ char *p = resolve_path(dir, token_file);
			char *t = NULL;
			rc = read_file(p, &t, NULL);
			if (rc < 0)
				return ck_err_errno(err, rc, "kubeconfig: tokenFile %s", p);
			t[strcspn(t, "\r\n")] = 0;
			kc->token = t;
		}
	}
	*out = CK_TAKE_PTR(guard);
	return 0;
}

int kubeconfig_load(const char *path, const char *context, kubeconfig **out, ck_err **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int rc = read_file(path, &text, &len);
	if (rc < 0)
		return ck_err_errno(err, rc, "kubeconfig %s", path);
	_cleanup_free_ char *abs = NULL;
	if (path[0] != '/') {
		_cleanup_free_ char *cwd = getcwd(NULL, 0);
		abs = cwd ? ck_asprintf("%s/%s", cwd, path) : ck_strdup(path);
	} else {
		abs = ck_strdup(path);
	}
	_cleanup_free_ char *dir = ck_strdup(abs);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	rc = kubeconfig_parse(text, len, dir, context, out, err);
	if (rc < 0)
		return ck_err_wrap(err, rc, "%s", path);
	(*out)->path = CK_TAKE_PTR(abs);
	return 0;
}

static bool file_exists(const char *p)
{
	struct stat st;
	return p && *p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The file kubectl would load: first existing entry of $KUBECONFIG, else ~/.kube/config. */
static char *default_kubeconfig_path(void)
{
	const char *env = getenv("KUBECONFIG");
	if (env && *env) {
		_cleanup_strv_ char **v = ck_strv_split(env, ":");
		for (char **p = v; p && *p; p++)
			if (file_exists(*p))
				return ck_strdup(*p);
		return NULL;
	}
	const char *home = getenv("HOME");
	if (!home)
		return NULL;
	char *p = ck_asprintf("%s/.kube/config", home);
	if (file_exists(p))
		return p;
	free(p);
	return NULL;
}

static int in_cluster(kubeconfig **out, ck_err **err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	if (!host || !*host || !port || !*port)
		return -ENOENT;
	char *token = NULL;
	int rc = read_file(SA_DIR "/token", &token, NULL);
	if (rc < 0)
		return rc;
	kubeconfig *kc = ck_calloc(1, sizeof(*kc));
	kc->server = strchr(host, ':') ? ck_asprintf("https://[%s]:%s", host, port)
	                               : ck_asprintf("https://%s:%s", host, port);
	token[strcspn(token, "\r\n")] = 0;
	kc->token = token;
	if (file_exists(SA_DIR "/ca.crt"))
		kc->ca_file = ck_strdup(SA_DIR "/ca.crt");
	char *ns = NULL;
	if (read_file(SA_DIR "/namespace", &ns, NULL) == 0) {
		ns[strcspn(ns, "\r\n")] = 0;
		kc->namespace_ = ns;
	}
	*out = kc;
	return 0;
}

static void override(char **field, const char *value)
{
	if (value && *value) {
		free(*field);
		*field = ck_strdup(value);
	}
}

int kubeconfig_resolve(const kubeconfig_overrides *o, kubeconfig **out, ck_err **err)
{
	_cleanup_kubeconfig_ kubeconfig *kc = NULL;
	int rc;
	if (o->kubeconfig && *o->kubeconfig) {
		rc = kubeconfig_load(o->kubeconfig, o->context, &kc, err);
		if (rc < 0)
			return rc;
	} else if (o->default_paths) {
		_cleanup_free_ char *p = default_kubeconfig_path();
		if (p) {
			rc = kubeconfig_load(p, o->context, &kc, err);
			if (rc < 0)
				return rc;
		} else if (!o->server || !*o->server) {
			rc = in_cluster(&kc, err);
			if (rc < 0 && rc != -ENOENT)
				return ck_err_errno(err, rc, "in-cluster configuration");
		}
	}
	if (!kc && !o->default_paths && (!o->server || !*o->server)) {
		/* Neither --kubeconfig nor --master: in-cluster, as upstream's
		 * BuildConfigFromFlags. */
		rc = in_cluster(&kc, err);
		if (rc < 0 && rc != -ENOENT)
			return ck_err_errno(err, rc, "in-cluster configuration");
	}
	if (!kc)
		kc = ck_calloc(1, sizeof(*kc));
	if (o->server && *o->server) {
		override(&kc->server, o->server);
		/* A bare host:port means plain HTTP, as upstream's --master. */
		if (!strstr(kc->server, "://")) {
			char *s = ck_asprintf("http://%s", kc->server);
			free(kc->server);
			kc->server = s;
		}
	}
	override(&kc->token, o->token);
	if (o->ca_file && *o->ca_file) {
		override(&kc->ca_file, o->ca_file);
		free(kc->ca_pem);
		kc->ca_pem = NULL;
	}
	if (o->cert_file && *o->cert_file) {
		override(&kc->cert_file, o->cert_file);
		free(kc->cert_pem);
		kc->cert_pem = NULL;
	}
	if (o->key_file && *o->key_file) {
		override(&kc->key_file, o->key_file);
		free(kc->key_pem);
		kc->key_pem = NULL;
	}
	override(&kc->namespace_, o->namespace_);
	if (o->insecure_skip_tls_verify)
		kc->insecure_skip_tls_verify = true;
	if (!kc->server)
		return ck_err_set(err, -EINVAL,
		                  "no server: set --kubeconfig or --master (or a kubeconfig file)");
	*out = CK_TAKE_PTR(kc);
	return 0;
}

void kubeconfig_httpc_opts(const kubeconfig *kc, httpc_opts *o)
{
	o->base_url = kc->server;
	o->ca_file = kc->ca_file;
	o->ca_pem = kc->ca_pem;
	o->cert_file = kc->cert_file;
	o->cert_pem = kc->cert_pem;
	o->key_file = kc->key_file;
	o->key_pem = kc->key_pem;
	o->bearer_token = kc->token;
	o->insecure_skip_verify = kc->insecure_skip_tls_verify;
}

kubeconfig *kubeconfig_free(kubeconfig *kc)
{
	if (!kc)
		return NULL;
	free(kc->server);
	free(kc->ca_file);
	free(kc->ca_pem);
	free(kc->cert_file);
	free(kc->cert_pem);
	free(kc->key_file);
	free(kc->key_pem);
	free(kc->token);
	free(kc->namespace_);
	free(kc->context);
	free(kc->cluster);
	free(kc->user);
	free(kc->path);
	free(kc);
	return NULL;
}

void kubeconfig_freep(kubeconfig **kc)
{
	kubeconfig_free(*kc);
}
