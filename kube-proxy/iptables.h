/* iptables: the rules kube-proxy wants, in upstream's layout, as iptables-restore text,
 * and the runner of iptables-save / iptables-restore --noflush.
 *
 * Building is pure: proxy_rules_build turns service ports into two tables (nat, filter)
 * of chains, each chain's rules as text; proxy_restore_text turns them into one
 * iptables-restore input that rewrites only the chains that changed since the previous
 * sync (or all of ours in a full sync), deletes ours no longer wanted, and prepends the
 * jumps from the built-in chains that are missing. Rules in other chains, and chains
 * kube-proxy did not create, are never named in the input, so they stay as they are. */
#ifndef CK_PROXY_IPTABLES_H
#define CK_PROXY_IPTABLES_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "base/map.h"
#include "base/strbuf.h"
#include "endpoints.h"

typedef struct proxy_chain {
	char *name;
	ck_buf rules; /* "-A NAME ...\n" lines */
	size_t n_rules;
} proxy_chain;

typedef struct proxy_table {
	const char *name;    /* "nat", "filter" */
	proxy_chain *chains; /* the fixed chains first, in creation order */
	size_t n, cap;
} proxy_table;

typedef struct proxy_rules {
	proxy_table nat, filter;
} proxy_rules;

typedef struct proxy_rules_opts {
	const char *cluster_cidr; /* "" or NULL: no masquerade decision by source */
	bool masquerade_all;
	/* Node addresses NodePorts answer on; NULL: every local address (addrtype LOCAL). */
	char *const *nodeport_ips;
} proxy_rules_opts;

/* Upstream's chain names: prefix ("KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-FW-") and
 * the first 16 characters of base32(sha256(port_name + lowercase protocol)); endpoint
 * chains "KUBE-SEP-" from port_name + protocol + "ip:port". malloc'd. */
char *proxy_chain_name(const char *prefix, const char *port_name, const char *protocol);
char *proxy_sep_chain_name(const char *port_name, const char *protocol, const char *ip, int port);

/* The probability of choosing the i-th of n remaining endpoints (1/n) as iptables-save
 * prints it back ("%.11f" of the 31-bit fixed-point value the kernel keeps), so that
 * the text written equals the text read. Writes into buf (at least 16 bytes). */
const char *proxy_probability(size_t n, char *buf, size_t len);

/* The wanted rules for the n ports (in the order given). Free with proxy_rules_free. */
void proxy_rules_build(const proxy_port *ports, size_t n, const proxy_rules_opts *o,
                       proxy_rules *out);
void proxy_rules_free(proxy_rules *r);
/* The number of rules in t. */
size_t proxy_table_rule_count(const proxy_table *t);

/* True when name is a chain kube-proxy creates (the fixed ones and the per-service and
 * per-endpoint prefixes). */
bool proxy_chain_is_ours(const char *name);

/* Appends the restore input of one table to out ("*nat" ... "COMMIT"):
 *   - prev NULL (full sync): every wanted chain is declared (flushed) and written; each
 *     chain in existing (names from iptables-save) that is ours but no longer wanted is
 *     flushed and deleted; and the jumps from built-in chains that save (the table's
 *     iptables-save text, may be NULL) lacks are prepended;
 *   - prev non-NULL (partial sync): only the chains whose text differs from prev (chain
 *     name -> rules text of the last successful write) are written, and the chains in
 *     prev no longer wanted are deleted.
 * Returns the number of chains written or deleted. */
size_t proxy_restore_text(const proxy_table *t, const ck_map *prev, const char *save, ck_buf *out);
/* Records t as written: prev becomes chain name -> rules text. */
void proxy_table_remember(const proxy_table *t, ck_map *prev);

/* Runs argv (argv[0] looked up in PATH) with input on stdin; returns 0 with its stdout in
 * *out (malloc'd, may be NULL), or a negative code with err carrying its stderr. */
int proxy_exec(char *const argv[], const char *input, size_t len, char **out, ck_err **err);

#endif
