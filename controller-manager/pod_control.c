/* Pods made from a workload's template: slow-start creation and deletion, with the
 * controller's expectations (controller.h).
 *
 * Writes are asynchronous. So that a second sync does not create the same pods again
 * before the cache has seen the first ones, the key's expectations count the creations
 * and deletions in flight; the pod events (cm_handle_dependents), the failure of a
 * request, or a 5 minute expiry meet them. */
#include "controller.h"

#include <stdlib.h>

#include "base/json.h"
#include "base/log.h"
#include "base/strbuf.h"

cJSON *cm_pod_from_template(const kc_resource *r, const cJSON *owner)
{
	cJSON *pod = cJSON_CreateObject();
	cJSON_AddStringToObject(pod, "apiVersion", "v1");
	cJSON_AddStringToObject(pod, "kind", "Pod");
	cJSON *meta = cJSON_AddObjectToObject(pod, "metadata");
	_cleanup_free_ char *gen = ck_asprintf("%s-", kc_obj_name(owner));
	cJSON_AddStringToObject(meta, "generateName", gen);
	cJSON_AddStringToObject(meta, "namespace", kc_obj_namespace(owner));
	const cJSON *labels = ck_json_get(owner, "spec.template.metadata.labels");
	if (labels)
		cJSON_AddItemToObject(meta, "labels", ck_json_dup(labels));
	const cJSON *ann = ck_json_get(owner, "spec.template.metadata.annotations");
	if (ann)
		cJSON_AddItemToObject(meta, "annotations", ck_json_dup(ann));
	cJSON *refs = cJSON_AddArrayToObject(meta, "ownerReferences");
	cJSON_AddItemToArray(refs, cm_owner_ref(r, owner));
	const cJSON *spec = ck_json_get(owner, "spec.template.spec");
	cJSON_AddItemToObject(pod, "spec", spec ? ck_json_dup(spec) : cJSON_CreateObject());
	return pod;
}

/* The creations of one sync, as upstream's slowStartBatch: in batches of 1, 2, 4, ...,
 * each started once the one before has all returned, and none after a batch with a
 * failure; the pods not tried are taken off the expectation. A template the apiserver
 * refuses fails once, not once per replica, and a burst reaches etcd and the scheduler a
 * few pods at a time. */
typedef struct create_run {
	cm_controller *c;
	const kc_resource *r;
	char *key;
	cJSON *owner, *pod;
	int64_t left;  /* not started yet */
	int64_t batch; /* the next batch's size */
	int in_flight;
	bool failed;
} create_run;

static void on_created(kc_result *res, void *user);

/* Starts run's next batch, or ends run when it failed or is done. */
static void create_next(create_run *run)
{
	if (run->in_flight)
		return;
	if (run->failed || !run->left) {
		/* The pods not tried will not come; then sync again (with back-off), as the
		 * expectations may only now be met. */
		cm_exp_observe(run->c, run->key, (int)run->left, 0);
		if (run->failed)
			wq_add_rate_limited(cm_controller_queue(run->c), run->key);
		free(run->key);
		cJSON_Delete(run->owner);
		cJSON_Delete(run->pod);
		free(run);
		return;
	}
	int64_t n = run->batch < run->left ? run->batch : run->left;
	run->left -= n;
	run->batch *= 2;
	cm_request rq = {.verb = CM_CREATE,
	                 .res = &KC_PODS,
	                 .ns = kc_obj_namespace(run->owner),
	                 .body = run->pod};
	/* The writes call back later, never from inside start: in_flight only drops once
	 * this loop is over. */
	for (int64_t i = 0; i < n; i++) {
		run->in_flight++;
		if (cm_request_start(cm_controller_ctx(run->c), &rq, on_created, run) < 0) {
			run->in_flight--;
			run->failed = true;
			run->left += n - i;
			break;
		}
	}
	create_next(run);
}

static void on_created(kc_result *res, void *user)
{
	create_run *run = user;
	if (res->rc == 0) {
		cm_event(run->c, run->r, run->owner, "Normal", "SuccessfulCreate",
		         "Created pod: %s", kc_obj_name(res->obj));
	} else {
		/* The pod event that would meet this expectation will never come. */
		cm_exp_observe(run->c, run->key, 1, 0);
		const char *msg = res->err ? res->err->msg : ck_strerror(res->rc);
		CK_WARN("%s %s: create pod: %s", run->r->kind, run->key, msg);
		cm_event(run->c, run->r, run->owner, "Warning", "FailedCreate",
		         "Error creating: %s", msg);
		run->failed = true;
	}
	run->in_flight--;
	create_next(run);
}

void cm_create_pods(cm_controller *c, const char *key, const kc_resource *r, const cJSON *owner,
                    int64_t n)
{
	cm_exp_set(c, key, (int)n, 0);
	CK_V(2, "%s %s: creating %lld pods", r->kind, key, (long long)n);
	create_run *run = ck_calloc(1, sizeof(*run));
	run->c = c;
	run->r = r;
	run->key = ck_strdup(key);
	run->owner = ck_json_dup(owner);
	run->pod = cm_pod_from_template(r, owner);
	run->left = n;
	run->batch = 1;
	create_next(run);
}

/* A deletion that failed will not be seen. */
static void delete_failed(cm_controller *c, const char *key)
{
	cm_exp_observe(c, key, 0, 1);
}

void cm_delete_pods(cm_controller *c, const char *key, const kc_resource *r, const cJSON *owner,
                    const cJSON *const *pods, size_t n)
{
	cm_exp_set(c, key, 0, (int)n);
	for (size_t i = 0; i < n; i++) {
		kc_delete_opts o = KC_DELETE_OPTS_INIT;
		o.precondition_uid = kc_obj_uid(pods[i]);
		cm_request rq = {
		    .verb = CM_DELETE,
		    .res = &KC_PODS,
		    .ns = kc_obj_namespace(pods[i]),
		    .name = kc_obj_name(pods[i]),
		    .delete_opts = &o,
		};
		cm_event(c, r, owner, "Normal", "SuccessfulDelete", "Deleted pod: %s",
		         kc_obj_name(pods[i]));
		cm_request_for(c, key, &rq, "delete pod", delete_failed);
	}
}
