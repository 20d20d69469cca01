/* The scheduling loop: informers on pods and nodes feed a work queue of pending pod keys;
 * sync(key) filters the nodes, scores the feasible ones, assumes the pod on the best node
 * and binds it. A failure sets PodScheduled=False, sends FailedScheduling and retries with
 * backoff; a change of the cluster (a node added or changed, a pod gone) retries every
 * pending pod at once. Pods bound but not yet seen bound by the informer are "assumed":
 * their requests count on their node so that two pods do not take the same room. */
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

#define INDEX_NODE    "node"
#define INDEX_PENDING "pending"
#define ASSUME_TTL_MS 60000

typedef struct assumed {
	char *node;
	sched_res req;
	uint64_t at;
	cJSON *pod; /* as it was bound: its host ports count too */
} assumed;

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
	ck_map *assumed; /* pod key -> assumed */
	binding *binds;  /* in flight */
	uint64_t seed;
	char *instance; /* reportingInstance of our events: default-scheduler-<host> */
	ev_source events;
};

static void assumed_free(void *p)
{
	assumed *a = p;
	if (a) {
		free(a->node);
		cJSON_Delete(a->pod);
		free(a);
	}
}

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

static char **index_pending(const cJSON *pod, void *data)
{
	char **v = NULL;
	if (is_pending(data, pod))
		ck_strv_add(&v, "true");
	return v;
}

/* Retries every pending pod now: the cluster changed. */
static void requeue_pending(scheduler *s)
{
	size_t n = 0;
	_cleanup_free_ const cJSON **pods = informer_by_index(s->pods, INDEX_PENDING, "true", &n);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *key = informer_key(pods[i]);
		wq_forget(s->q, key);
		wq_add(s->q, key);
	}
}

/* ---- informer handlers ---- */

static void pod_seen(scheduler *s, const cJSON *pod)
{
	_cleanup_free_ char *key = informer_key(pod);
	if (is_pending(s, pod))
		wq_add(s->q, key);
	else if (is_assigned(pod))
		ck_map_remove(s->assumed, key);
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
	ck_map_remove(s->assumed, key);
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
	requeue_pending(data);
}

static void on_node_update(const cJSON *old, const cJSON *new, void *data)
{
	if (node_changed(old, new))
		requeue_pending(data);
}

/* ---- one scheduling attempt ---- */

/* Fills ni for node: its active pods (ni->pods malloc'd, borrowed entries) and their
 * requests, assumed pods included. */
static void node_info(scheduler *s, const cJSON *node, sched_node_info *ni)
{
	memset(ni, 0, sizeof(*ni));
	ni->node = node;
	const char *name = kc_obj_name(node);
	size_t n = 0;
	_cleanup_free_ const cJSON **pods = informer_by_index(s->pods, INDEX_NODE, name, &n);
	ni->pods = ck_calloc(n + ck_map_len(s->assumed) + 1, sizeof(*ni->pods));
	for (size_t i = 0; i < n; i++) {
		if (!sched_pod_active(pods[i]))
			continue;
		sched_res r;
		sched_pod_requests(pods[i], &r);
		ni->requested.cpu_milli += r.cpu_milli;
		ni->requested.memory += r.memory;
		ni->requested.pods++;
		ni->pods[ni->n_pods++] = pods[i];
	}
	ck_map_iter it = CK_MAP_ITER_INIT;
	void *v;
	while (ck_map_next(s->assumed, &it, NULL, &v)) {
		assumed *a = v;
		if (strcmp(a->node, name))
			continue;
		ni->requested.cpu_milli += a->req.cpu_milli;
		ni->requested.memory += a->req.memory;
		ni->requested.pods++;
		ni->pods[ni->n_pods++] = a->pod;
	}
}

static void expire_assumed(scheduler *s)
{
	uint64_t now = uv_now(s->loop);
	ck_map_iter it = CK_MAP_ITER_INIT;
	const char *key;
	void *v;
	while (ck_map_next(s->assumed, &it, &key, &v)) {
		if (now - ((assumed *)v)->at > ASSUME_TTL_MS)
			ck_map_remove(s->assumed, key);
	}
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
		ck_map_remove(s->assumed, b->key);
	} else {
		ck_map_remove(s->assumed, b->key);
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
	if (!pod || !is_pending(s, pod) || ck_map_contains(s->assumed, key))
		return 0;
	expire_assumed(s);
	size_t n = 0;
	_cleanup_free_ const cJSON **nodes = informer_list(s->nodes, &n);
	char **reasons = ck_calloc(n + 1, sizeof(char *));
	sched_node_info *feasible = ck_calloc(n + 1, sizeof(*feasible));
	size_t n_feasible = 0;
	for (size_t i = 0; i < n; i++) {
		sched_node_info ni;
		node_info(s, nodes[i], &ni);
		reasons[i] = sched_filter_node(pod, &ni);
		free(ni.pods);
		ni.pods = NULL;
		ni.n_pods = 0;
		if (!reasons[i])
			feasible[n_feasible++] = ni;
	}
	if (!n_feasible) {
		free(feasible);
		_cleanup_free_ char *msg = sched_failure_message(reasons, n);
		free_reasons(reasons, n);
		CK_V(2, "pod %s is unschedulable: %s", key, msg);
		if (sched_set_unschedulable(s->c, pod, msg))
			ev_record(s->c, &KC_PODS, pod, NULL, &s->events, "Warning",
			          "FailedScheduling", "Scheduling", "%s", msg);
		return -EAGAIN;
	}
	const char *best =
	    kc_obj_name(feasible[sched_pick(pod, feasible, n_feasible, &s->seed)].node);
	free(feasible);
	free_reasons(reasons, n);
	assumed *a = ck_calloc(1, sizeof(*a));
	a->node = ck_strdup(best);
	sched_pod_requests(pod, &a->req);
	a->pod = ck_json_dup(pod);
	a->at = uv_now(s->loop);
	ck_map_set(s->assumed, key, a);
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
		ck_map_remove(s->assumed, key);
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
	s->assumed = ck_map_new(assumed_free);
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
	informer_add_index(s->pods, INDEX_NODE, informer_index_node_name, NULL);
	informer_add_index(s->pods, INDEX_PENDING, index_pending, s);
	informer_add_handlers(s->pods,
	                      &(informer_handlers){on_pod_add, on_pod_update, on_pod_delete, s});
	informer_add_handlers(s->nodes, &(informer_handlers){on_node_add, on_node_update, NULL, s});
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
	ck_map_free(s->assumed);
	free(s->name);
	free(s->instance);
	free(s);
}
