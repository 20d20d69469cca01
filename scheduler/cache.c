/* The scheduler's cache, as upstream's: per node what its active pods request, kept up to
 * date on pod and node events (and on assume/forget), so that a scheduling attempt reads
 * aggregates instead of walking every pod of every node. Pods are counted by key: a pod
 * assumed on a node stays counted there until the informer shows it bound (the entry is
 * then replaced by the bound pod), it is forgotten (binding failed) or its assumption
 * expires. */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/map.h"
#include "scheduler.h"

typedef struct cnode {
	const cJSON *node; /* the informer's object; NULL while only pods name the node */
	sched_res allocatable;
	sched_res requested;
	const cJSON **port_pods; /* pods with host ports (owned by their cpod) */
	size_t n_port_pods, cap_port_pods;
	size_t n_pods; /* pods counted here: the entry goes when 0 and the node is gone */
} cnode;

typedef struct cpod {
	char *node;
	sched_res req;
	cJSON *ports_pod; /* a copy of the pod when it uses host ports, else NULL */
	bool assumed;
	uint64_t at; /* when assumed */
} cpod;

struct sched_cache {
	ck_map *nodes; /* name -> cnode */
	ck_map *pods;  /* namespace/name -> cpod */
	size_t n_assumed;
	sched_node_info *snap;
	size_t snap_cap;
};

static void cnode_free(void *p)
{
	cnode *n = p;
	if (n) {
		free(n->port_pods);
		free(n);
	}
}

static void cpod_free(void *p)
{
	cpod *cp = p;
	if (cp) {
		free(cp->node);
		cJSON_Delete(cp->ports_pod);
		free(cp);
	}
}

sched_cache *sched_cache_new(void)
{
	sched_cache *c = ck_calloc(1, sizeof(*c));
	c->nodes = ck_map_new(cnode_free);
	c->pods = ck_map_new(cpod_free);
	return c;
}

void sched_cache_free(sched_cache *c)
{
	if (!c)
		return;
	ck_map_free(c->pods);
	ck_map_free(c->nodes);
	free(c->snap);
	free(c);
}

static cnode *node_get(sched_cache *c, const char *name)
{
	cnode *n = ck_map_get(c->nodes, name);
	if (!n) {
		n = ck_calloc(1, sizeof(*n));
		ck_map_set(c->nodes, name, n);
	}
	return n;
}

static void node_maybe_drop(sched_cache *c, const char *name, cnode *n)
{
	if (!n->node && !n->n_pods)
		ck_map_remove(c->nodes, name);
}

void sched_cache_set_node(sched_cache *c, const cJSON *node)
{
	cnode *n = node_get(c, kc_obj_name(node));
	n->node = node;
	sched_node_allocatable(node, &n->allocatable);
}

void sched_cache_remove_node(sched_cache *c, const char *name)
{
	cnode *n = ck_map_get(c->nodes, name);
	if (!n)
		return;
	n->node = NULL;
	node_maybe_drop(c, name, n);
}

static bool has_host_port(const cJSON *pod)
{
	static const char *const lists[] = {"spec.containers", "spec.initContainers"};
	for (size_t l = 0; l < CK_ARRAY_SIZE(lists); l++) {
		const cJSON *ctr, *p;
		cJSON_ArrayForEach(ctr, ck_json_get(pod, lists[l]))
		{
			cJSON_ArrayForEach(p, ck_json_get(ctr, "ports"))
			{
				if (ck_json_get_int(p, "hostPort", 0) > 0)
					return true;
			}
		}
	}
	return false;
}

static void res_add(sched_res *to, const sched_res *r, int sign)
{
	to->cpu_milli += sign * r->cpu_milli;
	to->memory += sign * r->memory;
	to->pods += sign * r->pods;
}

/* Counts cp on its node. */
static void count(sched_cache *c, cpod *cp)
{
	cnode *n = node_get(c, cp->node);
	res_add(&n->requested, &cp->req, 1);
	n->n_pods++;
	if (cp->ports_pod) {
		if (n->n_port_pods == n->cap_port_pods) {
			n->cap_port_pods = n->cap_port_pods ? 2 * n->cap_port_pods : 4;
			n->port_pods =
			    ck_realloc(n->port_pods, n->cap_port_pods * sizeof(*n->port_pods));
		}
		n->port_pods[n->n_port_pods++] = cp->ports_pod;
	}
}

/* Removes the pod of key from the cache and from its node's aggregates. */
static void uncount(sched_cache *c, const char *key)
{
	cpod *cp = ck_map_take(c->pods, key);
	if (!cp)
		return;
	cnode *n = ck_map_get(c->nodes, cp->node);
	if (n) {
		res_add(&n->requested, &cp->req, -1);
		n->n_pods--;
		for (size_t i = 0; cp->ports_pod && i < n->n_port_pods; i++) {
			if (n->port_pods[i] == cp->ports_pod) {
				n->port_pods[i] = n->port_pods[--n->n_port_pods];
				break;
			}
		}
		node_maybe_drop(c, cp->node, n);
	}
	if (cp->assumed)
		c->n_assumed--;
	cpod_free(cp);
}

static void put(sched_cache *c, const char *key, const cJSON *pod, const char *node, bool assumed,
                uint64_t now)
{
	uncount(c, key);
	cpod *cp = ck_calloc(1, sizeof(*cp));
	cp->node = ck_strdup(node);
	sched_pod_requests(pod, &cp->req);
	if (has_host_port(pod))
		cp->ports_pod = ck_json_dup(pod);
	cp->assumed = assumed;
	cp->at = now;
	if (assumed)
		c->n_assumed++;
	ck_map_set(c->pods, key, cp);
	count(c, cp);
}

void sched_cache_update_pod(sched_cache *c, const char *key, const cJSON *pod)
{
	const char *node = ck_json_get_str(pod, "spec.nodeName", "");
	if (*node && sched_pod_active(pod)) {
		put(c, key, pod, node, false, 0);
		return;
	}
	const cpod *cp = ck_map_get(c->pods, key);
	/* Not bound yet as the informer sees it: an assumption stays. */
	if (cp && !(cp->assumed && !*node && sched_pod_active(pod)))
		uncount(c, key);
}

void sched_cache_remove_pod(sched_cache *c, const char *key)
{
	uncount(c, key);
}

void sched_cache_assume(sched_cache *c, const char *key, const cJSON *pod, const char *node,
                        uint64_t now)
{
	put(c, key, pod, node, true, now);
}

bool sched_cache_is_assumed(const sched_cache *c, const char *key)
{
	const cpod *cp = ck_map_get(c->pods, key);
	return cp && cp->assumed;
}

void sched_cache_forget(sched_cache *c, const char *key)
{
	if (sched_cache_is_assumed(c, key))
		uncount(c, key);
}

void sched_cache_expire(sched_cache *c, uint64_t now, uint64_t ttl_ms)
{
	if (!c->n_assumed)
		return;
	char **expired = NULL;
	ck_map_iter it = CK_MAP_ITER_INIT;
	const char *key;
	void *v;
	while (ck_map_next(c->pods, &it, &key, &v)) {
		const cpod *cp = v;
		if (cp->assumed && now - cp->at > ttl_ms)
			ck_strv_add(&expired, key);
	}
	for (char **k = expired; k && *k; k++)
		uncount(c, *k);
	ck_strv_free(expired);
}

const sched_node_info *sched_cache_snapshot(sched_cache *c, size_t *n)
{
	size_t len = ck_map_len(c->nodes);
	if (len > c->snap_cap) {
		c->snap_cap = len;
		c->snap = ck_realloc(c->snap, len * sizeof(*c->snap));
	}
	size_t i = 0;
	ck_map_iter it = CK_MAP_ITER_INIT;
	void *v;
	while (ck_map_next(c->nodes, &it, NULL, &v)) {
		const cnode *cn = v;
		if (!cn->node)
			continue;
		c->snap[i++] = (sched_node_info){
		    .node = cn->node,
		    .allocatable = cn->allocatable,
		    .requested = cn->requested,
		    .pods = cn->port_pods,
		    .n_pods = cn->n_port_pods,
		};
	}
	*n = i;
	return c->snap;
}
