/* The scheduling loop: informers on pods and nodes feed a work queue of pending pod keys
 * and the cache (cache.c) of per-node aggregates; sync(key) filters the nodes of the
 * cache's snapshot (as upstream, it stops once it found enough feasible nodes, see
 * nodes_to_find), scores the feasible ones, assumes the pod on the best node and binds it
 * asynchronously while the next pods are scheduled. A failure sets PodScheduled=False,
 * sends FailedScheduling and retries with backoff; a change of the cluster (a node added
 * or changed, a pod gone) retries the unschedulable pods at once. Pods bound but not yet
 * seen bound by the informer are "assumed": their requests count on their node so that
 * two pods do not take the same room. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/condition.h"
#include "api/event.h"
#include "api/informer.h"
#include "api/workqueue.h"
#include "base/json.h"
#include "base/log.h"
#include "base/map.h"
#include "base/strbuf.h"
#include "scheduler.h"

#define ASSUME_TTL_MS 60000
/* How often assumptions are checked for expiry. */
#define EXPIRE_EVERY_MS 1000
/* Upstream's percentageOfNodesToScore defaults: below this many nodes all are filtered. */
#define MIN_FEASIBLE_NODES 100

typedef struct binding {
	struct binding *prev, *next;
	scheduler *s;
	char *key;
	char *node;
	cJSON *pod;
	kc_call *call;
} binding;

struct scheduler {
	kc_client *c;
	uv_loop_t *loop;
	char *name;
	informer *pods, *nodes;
	wq *q;
	sched_cache *cache;
	ck_map *unschedulable; /* keys of pods that fit nowhere at their last attempt */
	binding *binds;        /* in flight */
	uint64_t seed;
	uint64_t expired_at;
	size_t next_start; /* the node the next attempt starts filtering at */
	char *instance;    /* reportingInstance of our events: default-scheduler-<host> */
	ev_source events;
};

static bool is_ours(const scheduler *s, const cJSON *pod)
{
	const char *n = ck_json_get_str(pod, "spec.schedulerName", "");
	return !*n || !strcmp(n, s->name);
}

static bool is_assigned(const cJSON *pod)
{
	return *ck_json_get_str(pod, "spec.nodeName", "") != 0;
}

static bool is_pending(const scheduler *s, const cJSON *pod)
{
	return !is_assigned(pod) && is_ours(s, pod) && sched_pod_active(pod) &&
	       !ck_json_get(pod, "metadata.deletionTimestamp");
}

/* Retries every unschedulable pod now: the cluster changed. Pending pods still queued
 * get their turn anyway. */
static void requeue_pending(scheduler *s)
{
	ck_map_iter it = CK_MAP_ITER_INIT;
	const char *key;
	while (ck_map_next(s->unschedulable, &it, &key, NULL)) {
		wq_forget(s->q, key);
		wq_add(s->q, key);
	}
	ck_map_free(s->unschedulable);
	s->unschedulable = ck_map_new(NULL);
}

/* ---- informer handlers ---- */

static void pod_seen(scheduler *s, const cJSON *pod)
{
	_cleanup_free_ char *key = informer_key(pod);
	sched_cache_update_pod(s->cache, key, pod);
	if (is_pending(s, pod))
		wq_add(s->q, key);
	else
		ck_map_remove(s->unschedulable, key);
}

static void on_pod_add(const cJSON *pod, void *data)
{
	pod_seen(data, pod);
}

static void on_pod_update(const cJSON *old, const cJSON *new, void *data)
{
	scheduler *s = data;
	pod_seen(s, new);
	/* A pod that finished frees its node's resources. */
	if (is_assigned(new) && sched_pod_active(old) && !sched_pod_active(new))
		requeue_pending(s);
}

static void on_pod_delete(const cJSON *pod, void *data)
{
	scheduler *s = data;
	_cleanup_free_ char *key = informer_key(pod);
	sched_cache_remove_pod(s->cache, key);
	ck_map_remove(s->unschedulable, key);
	if (is_assigned(pod))
		requeue_pending(s);
}

/* Changes that can make a pending pod fit: not every heartbeat. */
static bool node_changed(const cJSON *old, const cJSON *new)
{
	return !ck_json_equal(ck_json_get(old, "spec"), ck_json_get(new, "spec")) ||
	       !ck_json_equal(ck_json_get(old, "metadata.labels"),
	                      ck_json_get(new, "metadata.labels")) ||
	       !ck_json_equal(ck_json_get(old, "status.allocatable"),
	                      ck_json_get(new, "status.allocatable")) ||
	       strcmp(condition_status(old, "Ready", ""), condition_status(new, "Ready", ""));
}

static void on_node_add(const cJSON *node, void *data)
{
	scheduler *s = data;
	sched_cache_set_node(s->cache, node);
	requeue_pending(s);
}

static void on_node_update(const cJSON *old, const cJSON *new, void *data)
{
	scheduler *s = data;
	sched_cache_set_node(s->cache, new);
	if (node_changed(old, new))
		requeue_pending(s);
}

static void on_node_delete(const cJSON *node, void *data)
{
	scheduler *s = data;
	sched_cache_remove_node(s->cache, kc_obj_name(node));
}

/* ---- one scheduling attempt ---- */

/* Upstream's numFeasibleNodesToFind with the adaptive percentageOfNodesToScore: all of
 * up to 100 nodes, else 50 % less 1 % per 125 nodes (at least 5 %), at least 100. */
static size_t nodes_to_find(size_t n)
{
	if (n < MIN_FEASIBLE_NODES)
		return n;
	size_t pct = n / 125 < 45 ? 50 - n / 125 : 5;
	size_t k = n * pct / 100;
	return k < MIN_FEASIBLE_NODES ? MIN_FEASIBLE_NODES : k;
}

static void binding_free(binding *b)
{
	scheduler *s = b->s;
	if (b->prev)
		b->prev->next = b->next;
	else
		s->binds = b->next;
	if (b->next)
		b->next->prev = b->prev;
	free(b->key);
	free(b->node);
	cJSON_Delete(b->pod);
	free(b);
}

static void on_bind_done(int rc, const ck_err *err, void *user)
{
	binding *b = user;
	scheduler *s = b->s;
	b->call = NULL;
	int result = 0;
	if (rc == 0) {
		_cleanup_free_ char *msg =
		    ck_asprintf("Successfully assigned %s/%s to %s", kc_obj_namespace(b->pod),
		                kc_obj_name(b->pod), b->node);
		CK_V(2, "%s", msg);
		ev_record(s->c, &KC_PODS, b->pod, NULL, &s->events, "Normal", "Scheduled",
		          "Binding", "%s", msg);
	} else if (rc == -EEXIST || rc == CK_ECONFLICT || rc == -ENOENT) {
		/* Bound meanwhile (another scheduler, a restart) or deleted: nothing to do. */
		CK_V(2, "binding %s: %s", b->key, err ? err->msg : ck_strerror(rc));
		sched_cache_forget(s->cache, b->key);
	} else {
		sched_cache_forget(s->cache, b->key);
		_cleanup_free_ char *msg =
		    ck_asprintf("Binding rejected: %s", err ? err->msg : ck_strerror(rc));
		CK_WARN("pod %s: %s", b->key, msg);
		ev_record(s->c, &KC_PODS, b->pod, NULL, &s->events, "Warning", "FailedScheduling",
		          "Scheduling", "%s", msg);
		result = rc < 0 ? rc : -EIO;
	}
	_cleanup_free_ char *key = ck_strdup(b->key);
	binding_free(b);
	wq_done(s->q, key, result);
}

/* reasons has NULL holes (nodes that fit): not a strv. */
static void free_reasons(char **reasons, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(reasons[i]);
	free(reasons);
}

static int schedule_one(const char *key, void *data)
{
	scheduler *s = data;
	if (!informer_synced(s->pods) || !informer_synced(s->nodes))
		return 200;
	const cJSON *pod = informer_get(s->pods, key);
	if (!pod || !is_pending(s, pod) || sched_cache_is_assumed(s->cache, key))
		return 0;
	uint64_t now = uv_now(s->loop);
	if (now - s->expired_at >= EXPIRE_EVERY_MS) {
		sched_cache_expire(s->cache, now, ASSUME_TTL_MS);
		s->expired_at = now;
	}
	size_t n = 0;
	const sched_node_info *nodes = sched_cache_snapshot(s->cache, &n);
	size_t want = nodes_to_find(n), start = n ? s->next_start % n : 0, seen = 0;
	char **reasons = ck_calloc(n + 1, sizeof(char *));
	sched_node_info *feasible = ck_calloc(want + 1, sizeof(*feasible));
	size_t n_feasible = 0;
	/* Round robin from where the last attempt stopped, so that every node gets its turn. */
	for (; seen < n && n_feasible < want; seen++) {
		const sched_node_info *ni = &nodes[(start + seen) % n];
		reasons[seen] = sched_filter_node(pod, ni);
		if (!reasons[seen])
			feasible[n_feasible++] = *ni;
	}
	s->next_start = start + seen;
	if (!n_feasible) {
		free(feasible);
		_cleanup_free_ char *msg = sched_failure_message(reasons, n);
		free_reasons(reasons, n);
		CK_V(2, "pod %s is unschedulable: %s", key, msg);
		if (sched_set_unschedulable(s->c, pod, msg))
			ev_record(s->c, &KC_PODS, pod, NULL, &s->events, "Warning",
			          "FailedScheduling", "Scheduling", "%s", msg);
		ck_map_set(s->unschedulable, key, NULL);
		return -EAGAIN;
	}
	const char *best =
	    kc_obj_name(feasible[sched_pick(pod, feasible, n_feasible, &s->seed)].node);
	free(feasible);
	free_reasons(reasons, n);
	sched_cache_assume(s->cache, key, pod, best, now);
	binding *b = ck_calloc(1, sizeof(*b));
	b->s = s;
	b->key = ck_strdup(key);
	b->node = ck_strdup(best);
	b->pod = ck_json_dup(pod);
	b->next = s->binds;
	if (s->binds)
		s->binds->prev = b;
	s->binds = b;
	int rc = sched_bind(s->c, pod, best, on_bind_done, b, &b->call);
	if (rc < 0) {
		sched_cache_forget(s->cache, key);
		binding_free(b);
		return rc;
	}
	return WQ_ASYNC;
}

/* ---- lifecycle ---- */

int scheduler_new(kc_client *c, const scheduler_opts *o, scheduler **out, ck_err **err)
{
	scheduler *s = ck_calloc(1, sizeof(*s));
	s->c = c;
	s->loop = kc_client_loop(c);
	s->name = ck_strdup(o && o->scheduler_name ? o->scheduler_name : SCHED_NAME);
	s->cache = sched_cache_new();
	s->unschedulable = ck_map_new(NULL);
	s->seed = uv_hrtime();
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	s->instance = ck_asprintf("%s-%s", SCHED_NAME, host);
	s->events = (ev_source){.component = SCHED_NAME, .instance = s->instance};
	wq_opts qo = {
	    .name = "scheduler",
	    .workers = 16,
	    .base_delay_ms = o && o->backoff_initial_ms ? o->backoff_initial_ms : 1000,
	    .max_delay_ms = o && o->backoff_max_ms ? o->backoff_max_ms : 10000,
	};
	wq_new(s->loop, &qo, schedule_one, s, &s->q);
	int rc = informer_new(c, &(informer_opts){.resource = &KC_PODS}, &s->pods, err);
	if (rc < 0)
		goto fail;
	rc = informer_new(c, &(informer_opts){.resource = &KC_NODES}, &s->nodes, err);
	if (rc < 0)
		goto fail;
	informer_add_handlers(s->pods,
	                      &(informer_handlers){on_pod_add, on_pod_update, on_pod_delete, s});
	informer_add_handlers(s->nodes,
	                      &(informer_handlers){on_node_add, on_node_update, on_node_delete, s});
	*out = s;
	return 0;
fail:
	scheduler_free(s);
	return rc;
}

int scheduler_start(scheduler *s)
{
	informer_start(s->nodes);
	informer_start(s->pods);
	return 0;
}

void scheduler_free(scheduler *s)
{
	if (!s)
		return;
	while (s->binds) {
		sched_bind_cancel(s->binds->call);
		binding_free(s->binds);
	}
	informer_free(s->pods);
	informer_free(s->nodes);
	wq_free(s->q);
	sched_cache_free(s->cache);
	ck_map_free(s->unschedulable);
	free(s->name);
	free(s->instance);
	free(s);
}
