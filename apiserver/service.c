/* service: cluster IPs and node ports of services. */
#include "service.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "base/json.h"

typedef struct svc_state {
	apiserver *srv;
	void (*done)(api_req *r, bool ok);
	bool kept; /* stored: the reservations stay */
	bool ip_done;
	int port; /* the next port to look at */
	/* What was reserved so far, to give back if the create fails. */
	char *cluster_ip;
	char **node_ports; /* NULL-terminated texts */
	size_t n_node_ports;
} svc_state;

static void svc_state_free(void *p)
{
	svc_state *st = p;
	if (!st->kept) {
		alloc_release(st->srv, &st->srv->svc_ips, st->cluster_ip);
		for (size_t i = 0; i < st->n_node_ports; i++)
			alloc_release(st->srv, &st->srv->node_ports, st->node_ports[i]);
	}
	free(st->cluster_ip);
	for (size_t i = 0; i < st->n_node_ports; i++)
		free(st->node_ports[i]);
	free(st->node_ports);
	free(st);
}

bool service_is(const kind_desc *k)
{
	return !k->group[0] && !strcmp(k->plural, "services");
}

static bool wants_node_ports(const cJSON *svc)
{
	const char *type = ck_json_get_str(svc, "spec.type", "");
	return !strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer");
}

static void step(api_req *r);

static void failed(api_req *r)
{
	svc_state *st = r->verb_data;
	st->done(r, false);
}

static void ip_reserved(api_req *r, char *ip)
{
	svc_state *st = r->verb_data;
	if (!ip) {
		failed(r);
		return;
	}
	st->cluster_ip = ip;
	ck_json_set_str(r->body, "spec.clusterIP", ip);
	cJSON *ips = cJSON_CreateArray();
	cJSON_AddItemToArray(ips, cJSON_CreateString(ip));
	ck_json_set(r->body, "spec.clusterIPs", ips);
	step(r);
}

static void port_reserved(api_req *r, char *port)
{
	svc_state *st = r->verb_data;
	if (!port) {
		failed(r);
		return;
	}
	st->node_ports = ck_realloc(st->node_ports, (st->n_node_ports + 1) * sizeof(char *));
	st->node_ports[st->n_node_ports++] = port;
	cJSON *p = cJSON_GetArrayItem(ck_json_get(r->body, "spec.ports"), st->port);
	cJSON_DeleteItemFromObjectCaseSensitive(p, "nodePort");
	cJSON_AddNumberToObject(p, "nodePort", strtod(port, NULL));
	st->port++;
	step(r);
}

/* Reserves the next thing the service needs, or reports completion. */
static void step(api_req *r)
{
	svc_state *st = r->verb_data;
	const cJSON *svc = r->body;
	if (!st->ip_done) {
		st->ip_done = true;
		const char *ip = ck_json_get_str(svc, "spec.clusterIP", "");
		if (strcmp(ck_json_get_str(svc, "spec.type", ""), "ExternalName") &&
		    strcmp(ip, "None")) {
			alloc_reserve(r, &r->srv->svc_ips, *ip ? ip : NULL, "spec.clusterIP",
			              ip_reserved);
			return;
		}
	}
	const cJSON *ports = ck_json_get(svc, "spec.ports");
	if (wants_node_ports(svc) && st->port < cJSON_GetArraySize(ports)) {
		const cJSON *p = cJSON_GetArrayItem(ports, st->port);
		int64_t want = ck_json_get_int(p, "nodePort", 0);
		_cleanup_free_ char *text = want ? ck_asprintf("%lld", (long long)want) : NULL;
		_cleanup_free_ char *field = ck_asprintf("spec.ports[%d].nodePort", st->port);
		alloc_reserve(r, &r->srv->node_ports, text, field, port_reserved);
		return;
	}
	st->done(r, true);
}

void service_allocate(api_req *r, void (*done)(api_req *r, bool ok))
{
	svc_state *st = ck_calloc(1, sizeof(*st));
	st->srv = r->srv;
	st->done = done;
	r->verb_data = st;
	r->verb_free = svc_state_free;
	step(r);
}

void service_keep(api_req *r)
{
	svc_state *st = r->verb_data;
	st->kept = true;
}

void service_release(apiserver *s, const cJSON *svc)
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
