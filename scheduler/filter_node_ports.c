/* NodePorts: a pod's hostPorts must be free on the node. Two uses conflict when protocol
 * and port are equal and the host IPs are equal or either is the wildcard. */
#include <string.h>

#include "base/json.h"
#include "scheduler.h"

static const char *host_ip(const cJSON *p)
{
	const char *ip = ck_json_get_str(p, "hostIP", "");
	return *ip ? ip : "0.0.0.0";
}

static bool conflicts(const cJSON *a, const cJSON *b)
{
	if (ck_json_get_int(a, "hostPort", 0) != ck_json_get_int(b, "hostPort", 0))
		return false;
	if (strcmp(ck_json_get_str(a, "protocol", "TCP"), ck_json_get_str(b, "protocol", "TCP")))
		return false;
	const char *ia = host_ip(a), *ib = host_ip(b);
	return !strcmp(ia, "0.0.0.0") || !strcmp(ib, "0.0.0.0") || !strcmp(ia, ib);
}

/* Calls back for each hostPort > 0 of pod's containers until fn returns true. */
static bool any_host_port(const cJSON *pod, bool (*fn)(const cJSON *port, const void *ctx),
                          const void *ctx)
{
	static const char *const lists[] = {"spec.containers", "spec.initContainers"};
	for (size_t l = 0; l < CK_ARRAY_SIZE(lists); l++) {
		const cJSON *c;
		cJSON_ArrayForEach(c, ck_json_get(pod, lists[l]))
		{
			const cJSON *p;
			cJSON_ArrayForEach(p, ck_json_get(c, "ports"))
			{
				if (ck_json_get_int(p, "hostPort", 0) > 0 && fn(p, ctx))
					return true;
			}
		}
	}
	return false;
}

static bool conflicts_with_port(const cJSON *used, const void *want)
{
	return conflicts(used, want);
}

typedef struct ctx {
	const sched_node_info *ni;
} ctx;

static bool port_taken(const cJSON *want, const void *data)
{
	const sched_node_info *ni = ((const ctx *)data)->ni;
	for (size_t i = 0; i < ni->n_pods; i++)
		if (any_host_port(ni->pods[i], conflicts_with_port, want))
			return true;
	return false;
}

char *filter_node_ports(const cJSON *pod, const sched_node_info *ni)
{
	ctx c = {ni};
	if (any_host_port(pod, port_taken, &c))
		return ck_strdup("node(s) didn't have free ports for the requested pod ports");
	return NULL;
}
