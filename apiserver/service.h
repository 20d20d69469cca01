/* service: what a Service gets besides its object: a cluster IP (unless headless or
 * ExternalName) and, for NodePort and LoadBalancer services, a node port per port, all
 * unique in the cluster (alloc), and given back when the service goes. */
#ifndef CK_APISERVER_SERVICE_H
#define CK_APISERVER_SERVICE_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "server.h"

/* True for core/v1 services. */
bool service_is(const kind_desc *k);

/* Reserves what the service in r->body needs and writes it into r->body (spec.clusterIP,
 * spec.clusterIPs, spec.ports[].nodePort), then calls done(r, true). On failure the
 * request is answered and done(r, false) runs. Uses r->verb_data: what it reserved is
 * given back when r is freed, unless service_keep(r) said the service was stored. */
void service_allocate(api_req *r, void (*done)(api_req *r, bool ok));

/* The service of r is stored: its reservations are its own now. */
void service_keep(api_req *r);

/* Gives back the cluster IP and node ports of a deleted service. */
void service_release(apiserver *s, const cJSON *svc);

#endif
