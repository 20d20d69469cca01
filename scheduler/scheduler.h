/* kube-scheduler internals: the scheduling loop (scheduler.c), filters (filter_*.c, pure
 * functions over a pod and a node), the least-allocated score (score.c) and API writes
 * (bind.c: binding, the PodScheduled condition). */
#ifndef CK_SCHEDULER_H
#define CK_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "api/client.h"
#include "base/error.h"

#define SCHED_NAME "default-scheduler"

/* Resources as the filters count them: cpu in milli-cores, memory in bytes, pods. */
typedef struct sched_res {
	int64_t cpu_milli;
	int64_t memory;
	int64_t pods;
} sched_res;

/* A node as the filters see it: its allocatable resources, what its active pods (bound or
 * assumed) request, and those of its pods that use host ports (borrowed). */
typedef struct sched_node_info {
	const cJSON *node;
	sched_res allocatable;
	sched_res requested;
	const cJSON *const *pods;
	size_t n_pods;
} sched_node_info;

/* Effective requests of a pod: max(sum of containers, each init container) + overhead;
 * a missing request falls back to the limit. pods is 1. */
void sched_pod_requests(const cJSON *pod, sched_res *out);
/* status.allocatable, else status.capacity (pods defaults to 110 when absent). */
void sched_node_allocatable(const cJSON *node, sched_res *out);
/* True for pods that hold resources: phase neither Succeeded nor Failed. */
bool sched_pod_active(const cJSON *pod);

/* True when one of the pod's tolerations matches the taint (upstream ToleratesTaint). */
bool sched_tolerates(const cJSON *pod, const cJSON *taint);
/* As sched_tolerates for a taint given by key and effect (empty value). */
bool sched_tolerates_key(const cJSON *pod, const char *key, const char *effect);

/* Filters: NULL when the pod fits the node, else the reason (malloc'd), in upstream's
 * words, e.g. "node(s) had untolerated taint {dedicated: gpu}", "Insufficient cpu". */
typedef char *(*sched_filter_fn)(const cJSON *pod, const sched_node_info *ni);
char *filter_node_ready(const cJSON *pod, const sched_node_info *ni);
char *filter_unschedulable(const cJSON *pod, const sched_node_info *ni);
char *filter_taints(const cJSON *pod, const sched_node_info *ni);
char *filter_node_selector(const cJSON *pod, const sched_node_info *ni);
char *filter_node_ports(const cJSON *pod, const sched_node_info *ni);
char *filter_resources(const cJSON *pod, const sched_node_info *ni);

/* Runs the filters in order; NULL when the node fits, else the first failure's reason. */
char *sched_filter_node(const cJSON *pod, const sched_node_info *ni);

/* True when the node selector term (matchExpressions on labels, matchFields on
 * metadata.name, ANDed; an empty term matches nothing) matches the node. */
bool sched_term_matches(const cJSON *term, const cJSON *node);

/* Least allocated score in [0, 100]: free share of cpu and memory after placing the pod,
 * averaged. */
int64_t score_least_allocated(const cJSON *pod, const sched_node_info *ni);
/* BalancedAllocation in [0, 100]: 100 less the standard deviation (in percent) of the
 * node's cpu and memory shares requested once the pod is placed (actual requests). */
int64_t score_balanced_allocation(const cJSON *pod, const sched_node_info *ni);
/* NodeAffinity: sum of the weights of the pod's preferred terms the node matches (raw). */
int64_t score_node_affinity_raw(const cJSON *pod, const cJSON *node);
/* TaintToleration: number of PreferNoSchedule taints the pod does not tolerate (raw). */
int64_t score_taints_raw(const cJSON *pod, const cJSON *node);

/* Picks among the n feasible nodes (ni) the best by upstream's weighted sum: least
 * allocated x1, balanced allocation x1, node affinity x2 (normalized to the best), taint toleration
 * x3 (reversed). Ties are broken by *seed (reservoir sampling). Returns the index. n > 0. */
size_t sched_pick(const cJSON *pod, const sched_node_info *ni, size_t n, uint64_t *seed);

/* "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) were unschedulable." from the
 * reasons of the n nodes (reasons[i] NULL for a node that fit); with no node at all, upstream's
 * "no nodes available to schedule pods". malloc'd. */
char *sched_failure_message(char *const *reasons, size_t n);

/* ---- the cache (cache.c): per-node aggregates kept up to date on events ---- */
typedef struct sched_cache sched_cache;
sched_cache *sched_cache_new(void);
void sched_cache_free(sched_cache *c);
/* A node added or changed (node is the informer's object, borrowed until the next call for
 * that node), or deleted. */
void sched_cache_set_node(sched_cache *c, const cJSON *node);
void sched_cache_remove_node(sched_cache *c, const char *name);
/* A pod added or changed: counted on its node while bound and active, else dropped (an
 * assumed pod stays while the informer shows it pending). */
void sched_cache_update_pod(sched_cache *c, const char *key, const cJSON *pod);
void sched_cache_remove_pod(sched_cache *c, const char *key);
/* Counts pod on node before its binding is seen, from now (uv_now). */
void sched_cache_assume(sched_cache *c, const char *key, const cJSON *pod, const char *node,
                        uint64_t now);
bool sched_cache_is_assumed(const sched_cache *c, const char *key);
/* Drops an assumption (binding failed); a bound pod stays counted. */
void sched_cache_forget(sched_cache *c, const char *key);
/* Drops assumptions older than ttl_ms. */
void sched_cache_expire(sched_cache *c, uint64_t now, uint64_t ttl_ms);
/* The known nodes with their aggregates, valid until the cache next changes; *n set. */
const sched_node_info *sched_cache_snapshot(sched_cache *c, size_t *n);

/* ---- API writes (bind.c) ---- */
typedef void (*sched_bind_done_fn)(int rc, const ck_err *err, void *user);
/* POST pods/<name>/binding to node; done gets 0, -EEXIST/CK_ECONFLICT when already bound,
 * or another code. */
int sched_bind(kc_client *c, const cJSON *pod, const char *node, sched_bind_done_fn done,
               void *user, kc_call **out);
/* Cancels a binding in flight: done is not called. */
void sched_bind_cancel(kc_call *call);
/* Sets the PodScheduled=False condition (reason Unschedulable) unless already so with the
 * same message (fire and forget). Returns true when it sent a change. */
bool sched_set_unschedulable(kc_client *c, const cJSON *pod, const char *message);

/* ---- the scheduler (scheduler.c) ---- */
typedef struct scheduler scheduler;
typedef struct scheduler_opts {
	const char *scheduler_name;  /* NULL: default-scheduler */
	uint64_t backoff_initial_ms; /* 0: 1000 */
	uint64_t backoff_max_ms;     /* 0: 10000 */
} scheduler_opts;
int scheduler_new(kc_client *c, const scheduler_opts *o, scheduler **out, ck_err **err);
int scheduler_start(scheduler *s);
void scheduler_free(scheduler *s);

#endif
