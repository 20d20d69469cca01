/* alloc: values unique across every apiserver of a cluster (service cluster IPs and node
 * ports), one etcd key per value in use (<prefix>/ckube/<pool>/<value>, value "<ns>/<name>"
 * of the owner) created by compare-and-swap, so two apiservers never hand out the same. */
#ifndef CK_APISERVER_ALLOC_H
#define CK_APISERVER_ALLOC_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "api/kind.h"
#include "base/error.h"

typedef struct apiserver apiserver;

typedef struct alloc_pool {
	const char *name; /* key segment: "serviceips", "servicenodeports" */
	uint32_t first;   /* the values are first .. first+size-1 */
	uint32_t size;
	uint32_t lo, hi;   /* offsets [lo, hi) are handed out when no value is asked for */
	bool ip;           /* values print as IPv4 addresses, else as decimal numbers */
	const char *range; /* for messages: "10.96.0.0/12", "30000-32767" */
} alloc_pool;

/* The pool of --service-cluster-ip-range (IPv4, prefix 8..30): network and broadcast
 * addresses are never given, the first address only when asked for (it is the
 * "kubernetes" service's). Returns 0 or -EINVAL with *err. */
int alloc_ip_pool(const char *cidr, alloc_pool *out, ck_err **err);
/* The pool of node ports, 30000-32767. */
void alloc_node_port_pool(alloc_pool *out);

/* The text of the value at offset off of p, malloc'd. */
char *alloc_value_text(const alloc_pool *p, uint32_t off);

/* The etcd key that holds value of p, malloc'd. */
char *alloc_value_key(const apiserver *s, const alloc_pool *p, const char *value);

/* Who a value is reserved for (the record holds "<ns>/<name>"). */
typedef struct alloc_owner {
	const kind_desc *kind;
	const char *ns, *name;
} alloc_owner;

/* Reserves want (NULL: any free value) for owner, then calls done with the value's text
 * (malloc'd, the caller owns it) and status NULL; on failure with value NULL and the
 * Status (taken by done): 422 naming field for a value outside the pool or taken, 500
 * when the pool is full or etcd fails. */
typedef void (*alloc_done_fn)(char *value, cJSON *status, void *data);
void alloc_reserve(apiserver *s, const alloc_pool *p, const alloc_owner *owner, const char *want,
                   const char *field, alloc_done_fn done, void *data);

/* Gives value back (fire and forget). "" and "None" are ignored. */
void alloc_release(apiserver *s, const alloc_pool *p, const char *value);

#endif
