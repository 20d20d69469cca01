/* API writes of the scheduler: bindings and the PodScheduled condition (events go through
 * lib/api/event). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/condition.h"
#include "base/json.h"
#include "base/log.h"
#include "scheduler.h"

typedef struct bind_call {
	sched_bind_done_fn done;
	void *user;
	kc_call *call;
} bind_call;

static void on_bound(kc_result *res, void *user)
{
	bind_call *b = user;
	b->done(res->rc, res->err, b->user);
	free(b);
}

int sched_bind(kc_client *c, const cJSON *pod, const char *node, sched_bind_done_fn done,
               void *user, kc_call **out)
{
	_cleanup_json_ cJSON *binding = cJSON_CreateObject();
	cJSON_AddStringToObject(binding, "apiVersion", "v1");
	cJSON_AddStringToObject(binding, "kind", "Binding");
	cJSON *meta = cJSON_AddObjectToObject(binding, "metadata");
	cJSON_AddStringToObject(meta, "name", kc_obj_name(pod));
	cJSON_AddStringToObject(meta, "namespace", kc_obj_namespace(pod));
	if (*kc_obj_uid(pod))
		cJSON_AddStringToObject(meta, "uid", kc_obj_uid(pod));
	cJSON *target = cJSON_AddObjectToObject(binding, "target");
	cJSON_AddStringToObject(target, "apiVersion", "v1");
	cJSON_AddStringToObject(target, "kind", "Node");
	cJSON_AddStringToObject(target, "name", node);
	bind_call *b = ck_calloc(1, sizeof(*b));
	b->done = done;
	b->user = user;
	_cleanup_free_ char *path =
	    kc_path(&KC_PODS, kc_obj_namespace(pod), kc_obj_name(pod), "binding");
	kc_call *call = NULL;
	int rc = kc_request_call(c, "POST", path, NULL, binding, on_bound, b, &call);
	if (rc < 0) {
		free(b);
		return rc;
	}
	b->call = call;
	*out = call;
	return 0;
}

void sched_bind_cancel(kc_call *call)
{
	/* The context is the call's user data: recover it before cancelling. */
	if (!call)
		return;
	bind_call *b = kc_call_user(call);
	kc_call_cancel(call);
	free(b);
}

static void on_fire_and_forget(kc_result *res, void *user)
{
	if (res->rc < 0)
		CK_V(2, "scheduler: %s: %s", (const char *)user, res->err->msg);
}

bool sched_set_unschedulable(kc_client *c, const cJSON *pod, const char *message)
{
	/* A merge patch replaces the list: the patch carries all of it. */
	_cleanup_json_ cJSON *patch = cJSON_CreateObject();
	const cJSON *conds = ck_json_get(pod, "status.conditions");
	ck_json_set(patch, "status.conditions", conds ? ck_json_dup(conds) : cJSON_CreateArray());
	_cleanup_free_ char *now = ck_time_now_rfc3339(false);
	if (!condition_set(patch, "PodScheduled", "False", "Unschedulable", message, now, true))
		return false;
	if (kc_patch(c, &KC_PODS, kc_obj_namespace(pod), kc_obj_name(pod), "status", KC_PATCH_MERGE,
	             patch, on_fire_and_forget, (void *)"setting PodScheduled=False") < 0)
		CK_V(2, "scheduler: cannot patch pod status");
	return true;
}
