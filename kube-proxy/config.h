/* config: kube-proxy's settings from its flags and a KubeProxyConfiguration file
 * (kubeproxy.config.k8s.io/v1alpha1, the subset ckube implements): the file's values
 * first, then every flag the command line gave. */
#ifndef CK_PROXY_CONFIG_H
#define CK_PROXY_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/flags.h"

typedef struct proxy_config {
	char *hostname;     /* this node's name: --hostname-override, else the host name */
	char *mode;         /* "iptables" (the only one) */
	char *cluster_cidr; /* "" when not set */
	bool masquerade_all;
	int64_t min_sync_ms;       /* --iptables-min-sync-period, default 1s */
	int64_t sync_ms;           /* --iptables-sync-period, default 30s */
	char **nodeport_addresses; /* CIDRs; NULL: every local address */
	/* "" (the system's iptables-save/-restore), "legacy" or "nft": the commands
	 * iptables-<backend>-save/-restore. A ckube flag: upstream's image picks the backend
	 * in a wrapper script; the two differ tenfold in full and partial sync times. */
	char *iptables_backend;
	char *healthz_bind; /* "0.0.0.0:10256"; "" disables */
	char *metrics_bind; /* "127.0.0.1:10249"; "" disables */
} proxy_config;

/* The kube-proxy flags (besides the shared --kubeconfig), NULL-terminated. */
extern const ck_flag proxy_flags[];

/* Fills c from the defaults, the --config file when given, and the flags fs changed
 * (fs parsed proxy_flags). Returns 0, or a negative code with err (an unreadable or bad
 * file, a mode other than iptables, a bad CIDR). */
int proxy_config_load(const ck_flags *fs, proxy_config *c, ck_err **err);
/* Applies a KubeProxyConfiguration document (YAML or JSON) to c. */
int proxy_config_apply_yaml(proxy_config *c, const char *text, size_t len, ck_err **err);
void proxy_config_free(proxy_config *c);

/* Parses "A.B.C.D/N" into a network address and mask (host order). Returns 0 or -EINVAL. */
int proxy_cidr_parse(const char *s, uint32_t *net, uint32_t *mask);
/* Splits "host:port" (host may be empty: 0.0.0.0). Returns 0 or -EINVAL. */
int proxy_split_host_port(const char *s, char **host, int *port);

#endif
