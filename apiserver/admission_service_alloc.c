/* admission_service_alloc: a new Service gets a cluster IP (unless headless or
 * ExternalName) and, for NodePort and LoadBalancer, a node port per port, each unique
 * in the cluster (alloc.h); a Service that is not stored gives them back, and so does
 * one that leaves storage. (Upstream allocates in the Service storage; here it is a
 * mutating plugin, so that validation sees the values.) */
#include "admission.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "base/json.h"
#include "server.h"

typedef struct svc_alloc {
	admission_run *q;
	bool ip_done;
	int port; /* the next port to look at */
	/* What was reserved, to give back if the Service is not stored. */
	char *cluster_ip;
	char **node_ports;
	size_t n_node_ports;
} svc_alloc;

static bool wants_node_ports(const cJSON *svc)
{
	const char *type = ck_json_get_str(svc, "spec.type", "");
	return !strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer");
}

static void step(svc_alloc *st);

static void ip_reserved(char *ip, cJSON *status, void *data)
{
	svc_alloc *st = data;
	if (!ip) {
		admission_next(st->q, status);
		return;
	}
	cJSON *svc = admission_obj(st->q);
	st->cluster_ip = ip;
	ck_json_set_str(svc, "spec.clusterIP", ip);
	cJSON *ips = cJSON_CreateArray();
	cJSON_AddItemToArray(ips, cJSON_CreateString(ip));
	ck_json_set(svc, "spec.clusterIPs", ips);
	step(st);
}

static void port_reserved(char *port, cJSON *status, void *data)
{
	svc_alloc *st = data;
	if (!port) {
		admission_next(st->q, status);
		return;
	}
	st->node_ports = ck_realloc(st->node_ports, (st->n_node_ports + 1) * sizeof(char *));
	st->node_ports[st->n_node_ports++] = port;
	cJSON *p = cJSON_GetArrayItem(ck_json_get(admission_obj(st->q), "spec.ports"), st->port);
	cJSON_DeleteItemFromObjectCaseSensitive(p, "nodePort");
	cJSON_AddNumberToObject(p, "nodePort", strtod(port, NULL));
	st->port++;
	step(st);
}

/* Reserves the next thing the Service needs, or passes. */
static void step(svc_alloc *st)
{
	apiserver *s = admission_server(st->q);
	const admission_attrs *a = admission_attrs_of(st->q);
	const cJSON *svc = admission_obj(st->q);
	alloc_owner owner = {a->kind, a->ns, ck_json_get_str(svc, "metadata.name", "")};
	if (!st->ip_done) {
		st->ip_done = true;
		const char *ip = ck_json_get_str(svc, "spec.clusterIP", "");
		if (strcmp(ck_json_get_str(svc, "spec.type", ""), "ExternalName") &&
		    strcmp(ip, "None")) {
			alloc_reserve(s, &s->svc_ips, &owner, *ip ? ip : NULL, "spec.clusterIP",
			              ip_reserved, st);
			return;
		}
	}
	const cJSON *ports = ck_json_get(svc, "spec.ports");
	if (wants_node_ports(svc) && st->port < cJSON_GetArraySize(ports)) {
		int64_t want = ck_json_get_int(cJSON_GetArrayItem(ports, st->port), "nodePort", 0);
		_cleanup_free_ char *text = want ? ck_asprintf("%lld", (long long)want) : NULL;
		_cleanup_free_ char *field = ck_asprintf("spec.ports[%d].nodePort", st->port);
		alloc_reserve(s, &s->node_ports, &owner, text, field, port_reserved, st);
		return;
	}
	admission_next(st->q, NULL);
}

static void service_alloc_admit(admission_run *q)
{
	/* A dry run stores nothing, so it reserves nothing. */
	if (admission_attrs_of(q)->dry_run) {
		admission_next(q, NULL);
		return;
	}
	svc_alloc *st = ck_calloc(1, sizeof(*st));
	st->q = q;
	*admission_state(q) = st;
	step(st);
}

static void service_alloc_finish(admission_run *q, bool stored)
{
	svc_alloc *st = *admission_state(q);
	if (!st)
		return;
	apiserver *s = admission_server(q);
	if (!stored)
		alloc_release(s, &s->svc_ips, st->cluster_ip);
	free(st->cluster_ip);
	for (size_t i = 0; i < st->n_node_ports; i++) {
		if (!stored)
			alloc_release(s, &s->node_ports, st->node_ports[i]);
		free(st->node_ports[i]);
	}
	free(st->node_ports);
	free(st);
}

static void service_alloc_removed(apiserver *s, const kind_desc *k, const cJSON *svc)
{
	alloc_release(s, &s->svc_ips, ck_json_get_str(svc, "spec.clusterIP", ""));
	const cJSON *p;
	cJSON_ArrayForEach(p, ck_json_get(svc, "spec.ports"))
	{
		int64_t port = ck_json_get_int(p, "nodePort", 0);
		if (port) {
			_cleanup_free_ char *text = ck_asprintf("%lld", (long long)port);
			alloc_release(s, &s->node_ports, text);
		}
	}
}

const admission_plugin admission_service_alloc = {
    .name = "ServiceIPAllocation",
    .ops = ADMIT_CREATE,
    .group = "",
    .kind = "Service",
    .waits = true,
    .admit = service_alloc_admit,
    .finish = service_alloc_finish,
    .removed = service_alloc_removed,
};
