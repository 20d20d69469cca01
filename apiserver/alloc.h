/* alloc: values unique across every apiserver of a cluster (service cluster IPs and node
 * ports), one etcd key per value in use (<prefix>/ckube/<pool>/<value>, value "<ns>/<name>"
 * of the owner) created by compare-and-swap, so two apiservers never hand out the same. */
#ifndef CK_APISERVER_ALLOC_H
#define CK_APISERVER_ALLOC_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

typedef struct apiserver apiserver;
typedef struct api_req api_req;

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

/* Reserves want (NULL: any free value) for the object r creates, then calls done with the
 * value's text (malloc'd, the caller owns it). On failure answers the request itself (422
 * naming field for a value outside the pool or taken, 500 when the pool is full or etcd
 * fails) and calls done with NULL. */
typedef void (*alloc_done_fn)(api_req *r, char *value);
void alloc_reserve(api_req *r, const alloc_pool *p, const char *want, const char *field,
                   alloc_done_fn done);

/* Gives value back (fire and forget). "" and "None" are ignored. */
void alloc_release(apiserver *s, const alloc_pool *p, const char *value);

#endif
