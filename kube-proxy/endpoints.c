/* endpoints: Service + EndpointSlices -> service ports with endpoints. */
#include "endpoints.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/json.h"
#include "base/strbuf.h"

static int endpoint_cmp(const void *a, const void *b)
{
	const proxy_endpoint *x = a, *y = b;
	int c = strcmp(x->ip, y->ip);
	return c ? c : x->port - y->port;
}

/* A condition: an absent ready counts as true (upstream: unknown is ready), an absent
 * serving as ready, an absent terminating as false. */
static bool condition(const cJSON *ep, const char *name, bool def)
{
	const cJSON *v = ck_json_get(ep, name);
	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

/* The endpoints of the slices' port named port_name with protocol. */
static void collect(proxy_port *p, const char *port_name, const cJSON *const *slices, size_t n,
                    const char *node)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ck_json_get_str(slices[i], "addressType", ""), "IPv4"))
			continue;
		const cJSON *sp, *match = NULL;
		cJSON_ArrayForEach(sp, ck_json_get(slices[i], "ports"))
		{
			if (!strcmp(ck_json_get_str(sp, "name", ""), port_name) &&
			    !strcmp(ck_json_get_str(sp, "protocol", "TCP"), p->protocol)) {
				match = sp;
				break;
			}
		}
		int port = (int)ck_json_get_int(match, "port", 0);
		if (port <= 0)
			continue;
		const cJSON *ep;
		cJSON_ArrayForEach(ep, ck_json_get(slices[i], "endpoints"))
		{
			const cJSON *addr = cJSON_GetArrayItem(ck_json_get(ep, "addresses"), 0);
			if (!cJSON_IsString(addr))
				continue;
			p->eps = ck_realloc(p->eps, (p->n_eps + 1) * sizeof(*p->eps));
			proxy_endpoint *e = &p->eps[p->n_eps++];
			bool ready = condition(ep, "conditions.ready", true);
			*e = (proxy_endpoint){
			    .ip = ck_strdup(addr->valuestring),
			    .port = port,
			    .ready = ready,
			    .serving = condition(ep, "conditions.serving", ready),
			    .terminating = condition(ep, "conditions.terminating", false),
			    .local = node && !strcmp(ck_json_get_str(ep, "nodeName", ""), node),
			};
		}
	}
	if (!p->n_eps)
		return;
	qsort(p->eps, p->n_eps, sizeof(*p->eps), endpoint_cmp);
	size_t w = 1;
	for (size_t r = 1; r < p->n_eps; r++) {
		if (!endpoint_cmp(&p->eps[w - 1], &p->eps[r]))
			free(p->eps[r].ip);
		else
			p->eps[w++] = p->eps[r];
	}
	p->n_eps = w;
}

void proxy_ports_add(const cJSON *svc, const cJSON *const *slices, size_t n, const char *node,
                     proxy_port **ports, size_t *n_ports)
{
	const cJSON *spec = ck_json_get(svc, "spec");
	const char *type = ck_json_get_str(spec, "type", "ClusterIP");
	if (!strcmp(type, "ExternalName"))
		return;
	const char *cip = ck_json_get_str(spec, "clusterIP", "");
	bool has_cip = *cip && strcmp(cip, "None") && !strchr(cip, ':');
	bool affinity = !strcmp(ck_json_get_str(spec, "sessionAffinity", "None"), "ClientIP");
	int timeout =
	    (int)ck_json_get_int(spec, "sessionAffinityConfig.clientIP.timeoutSeconds", 10800);
	const char *ns = ck_json_get_str(svc, "metadata.namespace", "default");
	const char *name = ck_json_get_str(svc, "metadata.name", "");
	const cJSON *sp;
	cJSON_ArrayForEach(sp, ck_json_get(spec, "ports"))
	{
		const char *port_name = ck_json_get_str(sp, "name", "");
		proxy_port p = {
		    .name = *port_name ? ck_asprintf("%s/%s:%s", ns, name, port_name)
		                       : ck_asprintf("%s/%s", ns, name),
		    .protocol = ck_strdup(ck_json_get_str(sp, "protocol", "TCP")),
		    .cluster_ip = has_cip ? ck_strdup(cip) : NULL,
		    .port = (int)ck_json_get_int(sp, "port", 0),
		    .node_port = strcmp(type, "NodePort") && strcmp(type, "LoadBalancer")
		                     ? 0
		                     : (int)ck_json_get_int(sp, "nodePort", 0),
		    .int_local =
		        !strcmp(ck_json_get_str(spec, "internalTrafficPolicy", "Cluster"), "Local"),
		    .affinity_seconds = affinity ? (timeout > 0 ? timeout : 10800) : 0,
		};
		const cJSON *ip;
		cJSON_ArrayForEach(ip, ck_json_get(spec, "externalIPs"))
		{
			if (cJSON_IsString(ip) && !strchr(ip->valuestring, ':'))
				ck_strv_add(&p.external_ips, ip->valuestring);
		}
		p.ext_local =
		    (p.node_port || p.external_ips) &&
		    !strcmp(ck_json_get_str(spec, "externalTrafficPolicy", "Cluster"), "Local");
		if (!p.cluster_ip && !p.node_port && !p.external_ips) {
			proxy_ports_free(&p, 1);
			continue;
		}
		collect(&p, port_name, slices, n, node);
		*ports = ck_realloc(*ports, (*n_ports + 1) * sizeof(**ports));
		(*ports)[(*n_ports)++] = p;
	}
}

void proxy_ports_free(proxy_port *ports, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		proxy_port *p = &ports[i];
		free(p->name);
		free(p->protocol);
		free(p->cluster_ip);
		ck_strv_free(p->external_ips);
		for (size_t j = 0; j < p->n_eps; j++)
			free(p->eps[j].ip);
		free(p->eps);
	}
}

/* The endpoints passing want (local only when local): the ready ones, else the serving
 * terminating ones. */
static size_t categorize(const proxy_port *p, bool local, const proxy_endpoint **out)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n_eps; i++)
		if (p->eps[i].ready && (!local || p->eps[i].local))
			out[n++] = &p->eps[i];
	if (n)
		return n;
	for (size_t i = 0; i < p->n_eps; i++)
		if (p->eps[i].serving && p->eps[i].terminating && (!local || p->eps[i].local))
			out[n++] = &p->eps[i];
	return n;
}

size_t proxy_cluster_endpoints(const proxy_port *p, const proxy_endpoint **out)
{
	return categorize(p, false, out);
}

size_t proxy_local_endpoints(const proxy_port *p, const proxy_endpoint **out)
{
	return categorize(p, true, out);
}
