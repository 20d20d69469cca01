/* The ReplicaSet controller: keeps spec.replicas active pods per ReplicaSet, owned
 * through a controller ownerReference, replaces deleted ones and reports status.
 *
 * Writes are asynchronous. So that a second sync does not create the same pods again
 * before the informer has seen the first ones, each ReplicaSet has expectations: the
 * creations and deletions in flight. A sync that finds them unmet only updates status;
 * the pod events (or the failure of a request, or a 5 minute expiry) meet them. */
#include "controller.h"

#include <stdlib.h>
#include <string.h>

#include "api/event.h"
#include "base/json.h"
#include "base/log.h"
#include "base/strbuf.h"

#define EXPECTATIONS_TTL_MS (5 * 60 * 1000)
/* Upstream's burstReplicas: creations or deletions started by one sync. */
#define BURST_REPLICAS 500

typedef struct expectation {
	char *key;
	int adds, dels;
	uint64_t set_at;
	struct expectation *next;
} expectation;

struct cm_replicaset {
	cm_ctx *ctx;
	wq *queue;
	expectation *exps;
	cm_writer *writer;
};

static const ev_source SOURCE = {.component = "replicaset-controller"};

static expectation *exp_find(cm_replicaset *rc, const char *key, bool create)
{
	for (expectation *e = rc->exps; e; e = e->next)
		if (!strcmp(e->key, key))
			return e;
	if (!create)
		return NULL;
	expectation *e = ck_calloc(1, sizeof(*e));
	e->key = ck_strdup(key);
	e->next = rc->exps;
	rc->exps = e;
	return e;
}

static void exp_drop(cm_replicaset *rc, const char *key)
{
	for (expectation **p = &rc->exps; *p; p = &(*p)->next) {
		if (!strcmp((*p)->key, key)) {
			expectation *e = *p;
			*p = e->next;
			free(e->key);
			free(e);
			return;
		}
	}
}

static bool exp_satisfied(cm_replicaset *rc, const char *key)
{
	expectation *e = exp_find(rc, key, false);
	if (!e)
		return true;
	if ((e->adds <= 0 && e->dels <= 0) ||
	    uv_now(rc->ctx->loop) - e->set_at > EXPECTATIONS_TTL_MS) {
		exp_drop(rc, key);
		return true;
	}
	return false;
}

static void exp_observe(cm_replicaset *rc, const char *key, int add, int del)
{
	expectation *e = exp_find(rc, key, false);
	if (!e)
		return;
	e->adds -= add;
	e->dels -= del;
}

/* ---- writes ---- */

/* The creations a sync starts, as upstream's slowStartBatch: in batches of 1, 2, 4, ...,
 * each started once the one before has all returned, and none after a batch with a
 * failure; the pods not tried are taken off the expectation. A template the apiserver
 * refuses fails once, not once per replica, and a burst reaches etcd and the scheduler a
 * few pods at a time. */
typedef struct create_run {
	char *key;
	cJSON *rs, *pod;
	int64_t left;  /* not started yet */
	int64_t batch; /* the next batch's size */
	int in_flight;
	bool failed;
} create_run;

/* A pod write: a creation belongs to its run and borrows the run's key and ReplicaSet
 * (the run outlives its writes); a deletion owns copies. */
typedef struct write_ctx {
	cm_replicaset *rc;
	create_run *run; /* NULL for a deletion */
	char *rs_key;
	cJSON *rs; /* for the event */
} write_ctx;

static write_ctx *write_new(cm_replicaset *rc, create_run *run, const char *key, const cJSON *rs)
{
	write_ctx *w = ck_calloc(1, sizeof(*w));
	w->rc = rc;
	w->run = run;
	w->rs_key = run ? run->key : ck_strdup(key);
	w->rs = run ? run->rs : ck_json_dup(rs);
	return w;
}

static void write_free(write_ctx *w)
{
	if (!w->run) {
		free(w->rs_key);
		cJSON_Delete(w->rs);
	}
	free(w);
}

static void on_pod_written(kc_result *res, void *user);

/* Starts run's next batch, or ends run when it failed or is done. */
static void create_next(cm_replicaset *rc, create_run *run)
{
	if (run->in_flight)
		return;
	if (run->failed || !run->left) {
		/* The pods not tried will not come; then sync again (with back-off), as the
		 * expectations may only now be met. */
		exp_observe(rc, run->key, (int)run->left, 0);
		if (run->failed)
			wq_add_rate_limited(rc->queue, run->key);
		free(run->key);
		cJSON_Delete(run->rs);
		cJSON_Delete(run->pod);
		free(run);
		return;
	}
	int64_t n = run->batch < run->left ? run->batch : run->left;
	run->left -= n;
	run->batch *= 2;
	/* The writes call back later, never from inside kc_create: in_flight only drops
	 * once this loop is over. */
	for (int64_t i = 0; i < n; i++) {
		write_ctx *w = write_new(rc, run, NULL, NULL);
		run->in_flight++;
		if (kc_create(rc->ctx->client, &KC_PODS, kc_obj_namespace(run->rs), run->pod,
		              on_pod_written, w) < 0) {
			write_free(w);
			run->in_flight--;
			run->failed = true;
			run->left += n - i;
			break;
		}
	}
	create_next(rc, run);
}

static void on_pod_written(kc_result *res, void *user)
{
	write_ctx *w = user;
	cm_replicaset *rc = w->rc;
	bool is_create = w->run != NULL;
	if (res->rc == 0 || (!is_create && res->rc == -ENOENT)) {
		const char *name = kc_obj_name(res->obj ? res->obj : w->rs);
		if (is_create)
			ev_record(rc->ctx->client, &KC_REPLICASETS, w->rs, NULL, &SOURCE, "Normal",
			          "SuccessfulCreate", NULL, "Created pod: %s", name);
	} else {
		/* The pod event that would meet this expectation will never come. */
		exp_observe(rc, w->rs_key, is_create, !is_create);
		CK_WARN("replicaset %s: %s pod: %s", w->rs_key, is_create ? "create" : "delete",
		        res->err ? res->err->msg : ck_strerror(res->rc));
		if (is_create)
			ev_record(rc->ctx->client, &KC_REPLICASETS, w->rs, NULL, &SOURCE, "Warning",
			          "FailedCreate", NULL, "Error creating: %s",
			          res->err ? res->err->msg : ck_strerror(res->rc));
		if (!is_create) /* a run requeues once it ends */
			wq_add_rate_limited(rc->queue, w->rs_key);
	}
	create_run *run = w->run;
	if (run) {
		run->in_flight--;
		run->failed |= res->rc != 0;
	}
	write_free(w);
	if (run)
		create_next(rc, run);
}

static cJSON *pod_from_template(const cJSON *rs)
{
	cJSON *pod = cJSON_CreateObject();
	cJSON_AddStringToObject(pod, "apiVersion", "v1");
	cJSON_AddStringToObject(pod, "kind", "Pod");
	cJSON *meta = cJSON_AddObjectToObject(pod, "metadata");
	_cleanup_free_ char *gen = ck_asprintf("%s-", kc_obj_name(rs));
	cJSON_AddStringToObject(meta, "generateName", gen);
	cJSON_AddStringToObject(meta, "namespace", kc_obj_namespace(rs));
	const cJSON *labels = ck_json_get(rs, "spec.template.metadata.labels");
	if (labels)
		cJSON_AddItemToObject(meta, "labels", ck_json_dup(labels));
	const cJSON *ann = ck_json_get(rs, "spec.template.metadata.annotations");
	if (ann)
		cJSON_AddItemToObject(meta, "annotations", ck_json_dup(ann));
	cJSON *refs = cJSON_AddArrayToObject(meta, "ownerReferences");
	cJSON_AddItemToArray(refs, cm_owner_ref(&KC_REPLICASETS, rs));
	const cJSON *spec = ck_json_get(rs, "spec.template.spec");
	cJSON_AddItemToObject(pod, "spec", spec ? ck_json_dup(spec) : cJSON_CreateObject());
	return pod;
}

/* Deletion order (most expendable first), as upstream ranks pods: unassigned before
 * assigned, Pending before Unknown before Running, not ready before ready, then newer
 * before older. */
static int pod_rank_phase(const cJSON *pod)
{
	const char *phase = ck_json_get_str(pod, "status.phase", "");
	if (!strcmp(phase, "Pending"))
		return 0;
	if (!strcmp(phase, "Unknown"))
		return 1;
	return 2;
}

static int pod_cmp_delete(const void *a, const void *b)
{
	const cJSON *pa = *(const cJSON *const *)a, *pb = *(const cJSON *const *)b;
	bool aa = *ck_json_get_str(pa, "spec.nodeName", ""),
	     ab = *ck_json_get_str(pb, "spec.nodeName", "");
	if (aa != ab)
		return aa ? 1 : -1;
	int ra = pod_rank_phase(pa), rb = pod_rank_phase(pb);
	if (ra != rb)
		return ra - rb;
	bool ya = cm_pod_ready(pa), yb = cm_pod_ready(pb);
	if (ya != yb)
		return ya ? 1 : -1;
	/* RFC 3339 in UTC compares as text. Newer first. */
	return -strcmp(ck_json_get_str(pa, "metadata.creationTimestamp", ""),
	               ck_json_get_str(pb, "metadata.creationTimestamp", ""));
}

static bool labels_match(const cJSON *selector, const cJSON *labels)
{
	const cJSON *kv;
	cJSON_ArrayForEach(kv, selector)
	{
		const cJSON *have = cJSON_GetObjectItemCaseSensitive(labels, kv->string);
		if (!cJSON_IsString(have) || !cJSON_IsString(kv) ||
		    strcmp(have->valuestring, kv->valuestring))
			return false;
	}
	return true;
}

/* Returns what the sync returns (cm_write_status). */
static int update_status(cm_replicaset *rc, const char *key, const cJSON *rs, const cJSON **pods,
                         size_t n)
{
	int64_t ready = 0, labeled = 0;
	const cJSON *tmpl_labels = ck_json_get(rs, "spec.template.metadata.labels");
	for (size_t i = 0; i < n; i++) {
		ready += cm_pod_ready(pods[i]);
		labeled += labels_match(tmpl_labels, ck_json_get(pods[i], "metadata.labels"));
	}
	cJSON *status = cJSON_CreateObject();
	cJSON_AddNumberToObject(status, "replicas", (double)n);
	cJSON_AddNumberToObject(status, "fullyLabeledReplicas", (double)labeled);
	cJSON_AddNumberToObject(status, "readyReplicas", (double)ready);
	/* minReadySeconds is not tracked yet: a ready pod counts as available. */
	cJSON_AddNumberToObject(status, "availableReplicas", (double)ready);
	cJSON_AddNumberToObject(status, "observedGeneration",
	                        (double)ck_json_get_int(rs, "metadata.generation", 0));
	const cJSON *conds = ck_json_get(rs, "status.conditions");
	if (conds)
		cJSON_AddItemToObject(status, "conditions", ck_json_dup(conds));
	return cm_write_status(rc->writer, key, rs, status);
}

static int rs_sync(const char *key, void *data)
{
	cm_replicaset *rc = data;
	cm_ctx *ctx = rc->ctx;
	if (!cm_synced(ctx))
		return CM_UNSYNCED_RETRY_MS;
	const cJSON *rs = informer_get(ctx->replicasets, key);
	if (!rs) {
		exp_drop(rc, key);
		cm_writer_forget(rc->writer, key);
		return 0;
	}
	size_t n = 0;
	_cleanup_free_ const cJSON **owned = cm_owned(ctx->pods, kc_obj_uid(rs), &n);
	size_t active = 0;
	for (size_t i = 0; i < n; i++)
		if (cm_pod_active(owned[i]))
			owned[active++] = owned[i];

	if (!cm_being_deleted(rs) && exp_satisfied(rc, key)) {
		int64_t want = ck_json_get_int(rs, "spec.replicas", 1);
		int64_t diff = (int64_t)active - want;
		if (diff < 0) {
			int64_t create = -diff > BURST_REPLICAS ? BURST_REPLICAS : -diff;
			expectation *e = exp_find(rc, key, true);
			e->adds = (int)create;
			e->dels = 0;
			e->set_at = uv_now(ctx->loop);
			CK_V(2, "replicaset %s: creating %lld pods", key, (long long)create);
			create_run *run = ck_calloc(1, sizeof(*run));
			run->key = ck_strdup(key);
			run->rs = ck_json_dup(rs);
			run->pod = pod_from_template(rs);
			run->left = create;
			run->batch = 1;
			create_next(rc, run);
		} else if (diff > 0) {
			int64_t del = diff > BURST_REPLICAS ? BURST_REPLICAS : diff;
			expectation *e = exp_find(rc, key, true);
			e->adds = 0;
			e->dels = (int)del;
			e->set_at = uv_now(ctx->loop);
			qsort(owned, active, sizeof(*owned), pod_cmp_delete);
			for (int64_t i = 0; i < del; i++) {
				const cJSON *pod = owned[i];
				kc_delete_opts o = KC_DELETE_OPTS_INIT;
				o.precondition_uid = kc_obj_uid(pod);
				write_ctx *w = write_new(rc, NULL, key, rs);
				ev_record(ctx->client, &KC_REPLICASETS, rs, NULL, &SOURCE, "Normal",
				          "SuccessfulDelete", NULL, "Deleted pod: %s",
				          kc_obj_name(pod));
				if (kc_delete(ctx->client, &KC_PODS, kc_obj_namespace(pod),
				              kc_obj_name(pod), &o, on_pod_written, w) < 0) {
					write_free(w);
					e->dels--;
				}
			}
		}
	}
	return update_status(rc, key, rs, owned, active);
}

/* ---- informer handlers ---- */

static void rs_changed(const cJSON *obj, void *data)
{
	cm_replicaset *rc = data;
	cm_enqueue_obj(rc->queue, obj);
}

static void rs_updated(const cJSON *old_obj, const cJSON *new_obj, void *data)
{
	rs_changed(new_obj, data);
}

static void pod_owner_enqueue(cm_replicaset *rc, const cJSON *pod, int add, int del)
{
	_cleanup_free_ char *key = cm_controller_key(pod, "ReplicaSet");
	if (!key)
		return;
	exp_observe(rc, key, add, del);
	wq_add(rc->queue, key);
}

static void pod_added(const cJSON *pod, void *data)
{
	cm_replicaset *rc = data;
	/* A pod that arrives already being deleted is counted as a deletion seen. */
	if (cm_being_deleted(pod))
		pod_owner_enqueue(rc, pod, 0, 1);
	else
		pod_owner_enqueue(rc, pod, 1, 0);
}

static void pod_updated(const cJSON *old_pod, const cJSON *new_pod, void *data)
{
	cm_replicaset *rc = data;
	bool deleting = cm_being_deleted(new_pod) && !cm_being_deleted(old_pod);
	_cleanup_free_ char *old_key = cm_controller_key(old_pod, "ReplicaSet");
	_cleanup_free_ char *new_key = cm_controller_key(new_pod, "ReplicaSet");
	if (old_key && !ck_streq(old_key, new_key))
		wq_add(rc->queue, old_key);
	pod_owner_enqueue(rc, new_pod, 0, deleting ? 1 : 0);
}

static void pod_deleted(const cJSON *pod, void *data)
{
	cm_replicaset *rc = data;
	/* Deleted without passing through deletionTimestamp: an observed deletion. */
	pod_owner_enqueue(rc, pod, 0, cm_being_deleted(pod) ? 0 : 1);
}

int cm_replicaset_start(cm_ctx *ctx, cm_replicaset **out)
{
	cm_replicaset *rc = ck_calloc(1, sizeof(*rc));
	rc->ctx = ctx;
	wq_opts qo = {.name = "replicaset", .workers = ctx->workers};
	int r = wq_new(ctx->loop, &qo, rs_sync, rc, &rc->queue);
	if (r < 0) {
		free(rc);
		return r;
	}
	rc->writer = cm_writer_new(ctx->client, &KC_REPLICASETS, rc->queue);
	informer_handlers rh = {
	    .on_add = rs_changed, .on_update = rs_updated, .on_delete = rs_changed, .data = rc};
	informer_handlers ph = {
	    .on_add = pod_added, .on_update = pod_updated, .on_delete = pod_deleted, .data = rc};
	informer_add_handlers(ctx->replicasets, &rh);
	informer_add_handlers(ctx->pods, &ph);
	*out = rc;
	return 0;
}

void cm_replicaset_free(cm_replicaset *rc)
{
	if (!rc)
		return;
	cm_writer_free(rc->writer);
	wq_free(rc->queue);
	while (rc->exps)
		exp_drop(rc, rc->exps->key);
	free(rc);
}
