/* alloc: service cluster IPs, unique across every apiserver of a cluster.
 *
 * Each IP in use is one etcd key (<prefix>/ckube/serviceips/<ip>, value "<ns>/<name>"),
 * created by compare-and-swap, so two apiservers never hand out the same IP. The range is
 * --service-cluster-ip-range (IPv4); its first address after the network address is kept
 * for the "kubernetes" service and is only given when asked for by value. */
#ifndef CK_APISERVER_ALLOC_H
#define CK_APISERVER_ALLOC_H

#include <stdint.h>

#include "server.h"

/* Parses an IPv4 CIDR ("10.96.0.0/12", prefix 8..30) into *base and *size. Returns 0 or
 * -EINVAL with *err. */
int alloc_parse_range(const char *cidr, uint32_t *base, uint32_t *size, ck_err **err);

/* Reserves want (NULL: any free IP) for the service r creates, then calls done with the IP
 * (malloc'd, the caller owns it). On failure answers the request itself (422 for an IP
 * outside the range or taken, 500 when the range is full or etcd fails) and calls done with
 * NULL; done must then free r. */
typedef void (*alloc_done_fn)(api_req *r, char *ip);
void alloc_service_ip(api_req *r, const char *want, alloc_done_fn done);

/* Gives ip back (fire and forget). */
void alloc_release_service_ip(apiserver *s, const char *ip);

#endif
