/* pod_worker: the kubelet's pod controller. An informer watches the pods bound to this
 * node (fieldSelector spec.nodeName=<node>); every change enqueues the pod's key on a
 * rate-limited work queue. A sync hands a copy of the pod to a libuv worker thread, which
 * runs pod_sync_run() against the runtime with the blocking CRI client; the completion
 * callback, back on the loop, posts the sync's events, writes the pod's status when it
 * changed (merge PATCH of pods/<name>/status) and, for a terminated pod, confirms the
 * deletion (DELETE with gracePeriodSeconds=0 and a uid precondition). */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "kubelet.h"

typedef struct pod_worker {
	kubelet *k;
	informer *inf;
	wq *q;
	kl_objects *objects;
	pod_state *states;
	bool stopping;
	int in_flight;
} pod_worker;

typedef struct sync_job {
	uv_work_t work;
	pod_worker *pw;
	pod_sync_in in;
	pod_sync_out out;
} sync_job;

static pod_state *state_get(pod_worker *pw, const char *key, bool create)
{
	for (pod_state *s = pw->states; s; s = s->next)
		if (!strcmp(s->key, key))
			return s;
	if (!create)
		return NULL;
	pod_state *s = ck_calloc(1, sizeof(*s));
	s->key = ck_strdup(key);
	s->next = pw->states;
	pw->states = s;
	return s;
}

static void state_free(pod_state *s)
{
	while (s->pulls) {
		kl_pull_backoff *b = s->pulls;
		s->pulls = b->next;
		free(b->image);
		free(b->message);
		free(b);
	}
	free(s->key);
	free(s->last_status);
	free(s);
}

static void state_drop(pod_worker *pw, const char *key)
{
	for (pod_state **p = &pw->states; *p; p = &(*p)->next) {
		if (!strcmp((*p)->key, key)) {
			pod_state *s = *p;
			*p = s->next;
			state_free(s);
			return;
		}
	}
}

static void enqueue_obj(pod_worker *pw, const cJSON *obj)
{
	_cleanup_free_ char *key = informer_key(obj);
	if (key)
		wq_add(pw->q, key);
}

static void on_add(const cJSON *obj, void *data)
{
	enqueue_obj(data, obj);
}

/* Status-only changes (mostly our own writes) need no sync: as upstream's pod config,
 * only a change of what the kubelet acts on does. */
static bool needs_sync(const cJSON *old_obj, const cJSON *new_obj)
{
	static const char *const paths[] = {"spec",
	                                    "metadata.uid",
	                                    "metadata.deletionTimestamp",
	                                    "metadata.deletionGracePeriodSeconds",
	                                    "metadata.labels",
	                                    "metadata.annotations"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(paths); i++) {
		const cJSON *a = ck_json_get(old_obj, paths[i]);
		const cJSON *b = ck_json_get(new_obj, paths[i]);
		if (!a != !b || (a && !ck_json_equal(a, b)))
			return true;
	}
	return false;
}

static void on_update(const cJSON *old_obj, const cJSON *new_obj, void *data)
{
	if (needs_sync(old_obj, new_obj))
		enqueue_obj(data, new_obj);
}

static void on_delete(const cJSON *obj, void *data)
{
	enqueue_obj(data, obj);
}

static void work_run(uv_work_t *w)
{
	sync_job *j = w->data;
	pod_sync_run(&j->in, &j->out);
}

/* A status write in flight. */
typedef struct status_write {
	pod_worker *pw;
	char *key;
	char *text; /* the status written */
} status_write;

static void status_write_free(status_write *sw)
{
	free(sw->key);
	free(sw->text);
	free(sw);
}

static void status_written(kc_result *res, void *user)
{
	status_write *sw = user;
	if (res->rc < 0 && !sw->pw->stopping) {
		CK_V(1, "pod %s: status not written: %s", sw->key,
		     res->err ? res->err->msg : ck_strerror(res->rc));
		/* Forget it was written, and sync again (with back-off) to write it. */
		pod_state *st = state_get(sw->pw, sw->key, false);
		if (st && st->last_status && !strcmp(st->last_status, sw->text)) {
			free(st->last_status);
			st->last_status = NULL;
		}
		if (res->rc != -ENOENT)
			wq_add_rate_limited(sw->pw->q, sw->key);
	}
	status_write_free(sw);
}

static void pod_deleted(kc_result *res, void *user)
{
	char *key = user;
	if (res->rc < 0 && res->rc != -ENOENT)
		CK_WARN("pod %s: delete failed: %s", key,
		        res->err ? res->err->msg : ck_strerror(res->rc));
	else
		CK_V(1, "pod %s: deleted", key);
	free(key);
}

/* True when every field of st already has that value in the pod's status. */
static bool status_current(const cJSON *pod, const cJSON *st)
{
	const cJSON *old = ck_json_get(pod, "status");
	const cJSON *f;
	cJSON_ArrayForEach(f, st)
	{
		const cJSON *o = old ? cJSON_GetObjectItemCaseSensitive(old, f->string) : NULL;
		if (!o || !ck_json_equal(o, f))
			return false;
	}
	return true;
}

/* Writes the sync's outcome for pod (as the cache has it now, same uid): the deletion
 * confirmation, or the status when it changed. */
static void write_status(pod_worker *pw, sync_job *j, const cJSON *pod)
{
	kubelet *k = pw->k;
	const char *key = j->in.key;
	const char *uid = ck_json_get_str(pod, "metadata.uid", "");
	const char *ns = ck_json_get_str(pod, "metadata.namespace", "default");
	const char *name = ck_json_get_str(pod, "metadata.name", "");
	if (j->out.delete_pod) {
		kc_delete_opts o = KC_DELETE_OPTS_INIT;
		o.grace_period_seconds = 0;
		o.precondition_uid = uid;
		kc_delete(k->kc, &KC_PODS, ns, name, &o, pod_deleted, ck_strdup(key));
		return;
	}
	if (!j->out.status)
		return;
	_cleanup_free_ char *text = ck_json_print(j->out.status);
	pod_state *st = j->in.st;
	/* Unchanged, or already written and the cache has not caught up yet. */
	if (status_current(pod, j->out.status) ||
	    (st->last_status && !strcmp(st->last_status, text)))
		return;
	free(st->last_status);
	st->last_status = ck_strdup(text);
	_cleanup_json_ cJSON *patch = cJSON_CreateObject();
	cJSON_AddItemToObject(patch, "status", ck_json_dup(j->out.status));
	CK_V(2, "pod %s: status phase %s", key, ck_json_get_str(j->out.status, "phase", ""));
	status_write *sw = ck_calloc(1, sizeof(*sw));
	sw->pw = pw;
	sw->key = ck_strdup(key);
	sw->text = CK_TAKE_PTR(text);
	if (kc_patch(k->kc, &KC_PODS, ns, name, "status", KC_PATCH_MERGE, patch, status_written,
	             sw) < 0) {
		CK_V(1, "pod %s: status patch not started", key);
		free(st->last_status);
		st->last_status = NULL;
		status_write_free(sw);
	}
}

static void write_results(pod_worker *pw, sync_job *j)
{
	kubelet *k = pw->k;
	/* The pod as the cache has it now (it may have changed while the sync ran). */
	const cJSON *pod = informer_get(pw->inf, j->in.key);
	const cJSON *synced = j->in.pod;
	if (!synced)
		return;
	const char *uid = ck_json_get_str(synced, "metadata.uid", "");
	/* Events after the status or deletion request: they must not queue ahead of it. */
	if (pod && !strcmp(ck_json_get_str(pod, "metadata.uid", ""), uid))
		write_status(pw, j, pod);
	for (kl_sync_event *e = j->out.events; e; e = e->next)
		kl_event(k, synced, e->container, e->type, e->reason, "%s", e->message);
}

static void work_done(uv_work_t *w, int status)
{
	sync_job *j = w->data;
	pod_worker *pw = j->pw;
	pw->in_flight--;
	j->in.st->busy = false;
	int result = 0;
	if (!pw->stopping) {
		write_results(pw, j);
		if (!j->out.failed || !j->in.pod)
			probe_update(pw->k, j->in.key, j->in.pod, j->out.running, j->out.n_running,
			             j->out.pod_ip);
		if (j->out.error)
			CK_V(1, "pod %s: sync: %s", j->in.key, j->out.error);
		if (j->out.failed)
			result = -EIO;
		else if (j->out.requeue_ms > 0)
			result = j->out.requeue_ms;
		if (!j->in.pod && !j->out.failed)
			state_drop(pw, j->in.key);
		wq_done(pw->q, j->in.key, result);
	}
	cJSON_Delete(j->in.pod);
	free(j->in.key);
	probe_results_free(j->in.probes, j->in.n_probes);
	pod_sync_out_clear(&j->out);
	free(j);
}

static int sync_pod(const char *key, void *data)
{
	pod_worker *pw = data;
	kubelet *k = pw->k;
	if (!informer_synced(pw->inf))
		return 500;
	pod_state *st = state_get(pw, key, true);
	if (st->busy)
		return 200;
	const cJSON *pod = informer_get(pw->inf, key);
	sync_job *j = ck_calloc(1, sizeof(*j));
	j->pw = pw;
	j->in.cfg = &k->cfg;
	j->in.cri = k->cri_sync;
	j->in.objects = pw->objects;
	j->in.probes = probe_results(k, key, &j->in.n_probes);
	j->in.node_ip = node_status_ip(k);
	j->in.key = ck_strdup(key);
	j->in.pod = pod ? ck_json_dup(pod) : NULL;
	j->in.st = st;
	objects_set_pod(pw->objects, key, j->in.pod);
	j->in.fresh = pod && !st->synced && !pleg_may_know(k, key);
	st->synced = true;
	j->work.data = j;
	st->busy = true;
	int r = uv_queue_work(k->loop, &j->work, work_run, work_done);
	if (r < 0) {
		st->busy = false;
		cJSON_Delete(j->in.pod);
		free(j->in.key);
		free(j);
		return -EIO;
	}
	pw->in_flight++;
	return WQ_ASYNC;
}

int pod_worker_start(kubelet *k)
{
	pod_worker *pw = ck_calloc(1, sizeof(*pw));
	pw->k = k;
	_cleanup_free_ char *fs = ck_asprintf("spec.nodeName=%s", k->cfg.node_name);
	informer_opts io = {.resource = &KC_PODS, .field_selector = fs};
	_cleanup_err_ ck_err *err = NULL;
	int r = informer_new(k->kc, &io, &pw->inf, &err);
	if (r < 0) {
		CK_ERROR("pod informer: %s", err ? err->msg : ck_strerror(r));
		free(pw);
		return r;
	}
	wq_opts qo = {.name = "pods",
	              .workers = KL_SYNC_WORKERS,
	              .base_delay_ms = 1000,
	              .max_delay_ms = 30000};
	r = wq_new(k->loop, &qo, sync_pod, pw, &pw->q);
	if (r < 0) {
		informer_free(pw->inf);
		free(pw);
		return r;
	}
	pw->objects = objects_new(k);
	informer_handlers h = {
	    .on_add = on_add, .on_update = on_update, .on_delete = on_delete, .data = pw};
	informer_add_handlers(pw->inf, &h);
	informer_start(pw->inf);
	k->pw = pw;
	return 0;
}

int pod_worker_stop(kubelet *k)
{
	pod_worker *pw = k->pw;
	if (!pw)
		return 0;
	pw->stopping = true;
	informer_free(pw->inf);
	wq_free(pw->q);
	objects_stop(pw->objects);
	/* Jobs still on worker threads finish on their own; their completion sees
	 * `stopping` and only frees. The states they point at must outlive them. */
	if (pw->in_flight == 0) {
		while (pw->states) {
			pod_state *s = pw->states;
			pw->states = s->next;
			state_free(s);
		}
		objects_free(pw->objects);
		free(pw);
		k->pw = NULL;
		return 0;
	}
	k->pw = NULL;
	return pw->in_flight;
}

void pod_worker_enqueue(kubelet *k, const char *key)
{
	if (k->pw && !k->pw->stopping)
		wq_add(k->pw->q, key);
}

bool pod_worker_synced(kubelet *k)
{
	return k->pw && informer_synced(k->pw->inf);
}

const cJSON *pod_worker_get(kubelet *k, const char *key)
{
	return k->pw ? informer_get(k->pw->inf, key) : NULL;
}

const cJSON **pod_worker_list(kubelet *k, size_t *n)
{
	*n = 0;
	return k->pw ? informer_list(k->pw->inf, n) : NULL;
}
