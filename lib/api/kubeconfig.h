/* kubeconfig: how a component or kubectl reaches the apiserver.
 *
 * Loads a kubeconfig file (YAML or JSON, v1 Config): the current (or a named) context
 * selects a cluster (server, certificate-authority[-data], insecure-skip-tls-verify) and a
 * user (client-certificate[-data], client-key[-data], token, tokenFile). Relative file
 * paths are relative to the kubeconfig's directory; *-data fields are base64 PEM.
 * Flag-style overrides (--kubeconfig, --master/--server, --context, --token, ...) apply on
 * top, as upstream's clientcmd does. */
#ifndef CK_API_KUBECONFIG_H
#define CK_API_KUBECONFIG_H

#include <stdbool.h>

#include "base/error.h"
#include "net/http_client.h"

/* A resolved configuration. All strings owned, NULL when unset. */
typedef struct kubeconfig {
	char *server;  /* "https://10.0.0.1:6443" */
	char *ca_file; /* absolute path */
	char *ca_pem;  /* decoded certificate-authority-data */
	char *cert_file;
	char *cert_pem;
	char *key_file;
	char *key_pem;
	char *token;
	bool insecure_skip_tls_verify;
	char *namespace_; /* the context's namespace; NULL when unset ("default" for kubectl) */
	char *context;    /* names as found in the file, informational */
	char *cluster;
	char *user;
	char *path; /* the file loaded, NULL when none */
} kubeconfig;

typedef struct kubeconfig_overrides {
	const char *kubeconfig;        /* --kubeconfig: file to load */
	const char *context;           /* --context: instead of current-context */
	const char *server;            /* --master / --server */
	const char *token;             /* --token */
	const char *ca_file;           /* --certificate-authority */
	const char *cert_file;         /* --client-certificate */
	const char *key_file;          /* --client-key */
	const char *namespace_;        /* --namespace */
	bool insecure_skip_tls_verify; /* --insecure-skip-tls-verify */
	/* kubectl-style lookup when kubeconfig is NULL: $KUBECONFIG (first existing file of
	 * the colon-separated list), then ~/.kube/config, then in-cluster service account.
	 * Components leave this false: then without --kubeconfig only --master is used, and
	 * with neither, the in-cluster service account (KUBERNETES_SERVICE_HOST/PORT). */
	bool default_paths;
} kubeconfig_overrides;

/* Loads the file at path with the given context (NULL: current-context). Returns 0 and
 * *out, or -ENOENT (file or context missing), -EINVAL (malformed) with *err. */
int kubeconfig_load(const char *path, const char *context, kubeconfig **out, ck_err **err);

/* Parses kubeconfig text; dir is where relative paths are resolved from (NULL: cwd). */
int kubeconfig_parse(const char *text, size_t len, const char *dir, const char *context,
                     kubeconfig **out, ck_err **err);

/* Resolves the overrides into a configuration: loads the file if any, then applies the
 * overrides. Fails with -EINVAL when no server results. */
int kubeconfig_resolve(const kubeconfig_overrides *o, kubeconfig **out, ck_err **err);

/* Fills the connection fields of opts with borrowed pointers into kc (valid while kc is). */
void kubeconfig_httpc_opts(const kubeconfig *kc, httpc_opts *opts);

/* Frees kc; accepts NULL; returns NULL. */
kubeconfig *kubeconfig_free(kubeconfig *kc);
void kubeconfig_freep(kubeconfig **kc);
#define _cleanup_kubeconfig_ _cleanup_(kubeconfig_freep)

#endif
