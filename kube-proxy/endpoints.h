/* endpoints: a Service and its EndpointSlices as the service ports kube-proxy programs,
 * each with its endpoints (address, port, conditions, whether on this node) and the
 * policies that choose among them. Pure: no I/O. */
#ifndef CK_PROXY_ENDPOINTS_H
#define CK_PROXY_ENDPOINTS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

typedef struct proxy_endpoint {
	char *ip;
	int port;
	bool ready, serving, terminating;
	bool local; /* nodeName is this node */
} proxy_endpoint;

typedef struct proxy_port {
	char *name;       /* upstream's ServicePortName: "ns/svc:port" ("ns/svc" unnamed) */
	char *protocol;   /* "TCP", "UDP", "SCTP" */
	char *cluster_ip; /* NULL: headless or not IPv4 */
	int port;
	int node_port;        /* 0: none */
	char **external_ips;  /* NULL-terminated, may be NULL */
	bool ext_local;       /* externalTrafficPolicy: Local (with external access) */
	bool int_local;       /* internalTrafficPolicy: Local */
	int affinity_seconds; /* > 0: sessionAffinity ClientIP with this timeout */
	proxy_endpoint *eps;  /* sorted by ip:port, duplicates dropped */
	size_t n_eps;
} proxy_port;

/* The IPv4 service ports of svc with their endpoints from the n slices (those labelled
 * kubernetes.io/service-name: svc, IPv4 address type; others are skipped), node being
 * this node's name. ExternalName services give none. Appends to *ports (count *n). */
void proxy_ports_add(const cJSON *svc, const cJSON *const *slices, size_t n, const char *node,
                     proxy_port **ports, size_t *n_ports);
void proxy_ports_free(proxy_port *ports, size_t n);

/* Upstream's endpoint categories: the cluster endpoints are the ready ones, or when none
 * is ready the serving terminating ones; the local endpoints are those of this node by
 * the same rule. Fills out (room for p->n_eps) and returns the count. */
size_t proxy_cluster_endpoints(const proxy_port *p, const proxy_endpoint **out);
size_t proxy_local_endpoints(const proxy_port *p, const proxy_endpoint **out);

#endif
