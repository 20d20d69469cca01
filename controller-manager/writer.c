/* Writes of a controller to its own objects (controller.h).
 *
 * A sync that writes ends when the write returns, as upstream's syncs block on theirs:
 * pod events that come meanwhile make one more sync, not one write each. After a write,
 * the informer shows the version it replaced until the write's own watch event arrives;
 * a status computed from that stale copy would be written against an old resourceVersion
 * and fail with a conflict. So the writer remembers the version each write replaced and
 * writes nothing while the cache still shows it: the event that brings the new version
 * syncs the key again. */
#include "controller.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/list.h"
#include "base/log.h"
#include "base/map.h"

typedef struct wcall {
	struct wcall *prev, *next;
	cm_writer *w;
	char *key;
	char *replaced_rv; /* the resourceVersion the write goes over */
	void *call;
} wcall;

struct cm_writer {
	cm_ctx *ctx;
	const kc_resource *res;
	wq *q;
	ck_map *replaced; /* key -> resourceVersion a write replaced, while the cache shows it */
	wcall *calls;     /* in flight */
};

cm_writer *cm_writer_new(cm_controller *c, const kc_resource *res)
{
	cm_writer *w = ck_calloc(1, sizeof(*w));
	w->ctx = cm_controller_ctx(c);
	w->res = res;
	w->q = cm_controller_queue(c);
	w->replaced = ck_map_new(free);
	return w;
}

static void call_free(wcall *c)
{
	cm_writer *w = c->w;
	CK_LIST_REMOVE(w->calls, c);
	free(c->key);
	free(c->replaced_rv);
	free(c);
}

void cm_writer_free(cm_writer *w)
{
	if (!w)
		return;
	while (w->calls) {
		w->ctx->api->cancel(w->ctx->api_impl, w->calls->call);
		call_free(w->calls);
	}
	ck_map_free(w->replaced);
	free(w);
}

static void written(kc_result *res, void *user)
{
	wcall *c = user;
	cm_writer *w = c->w;
	int result = 0;
	if (res->rc == 0) {
		/* A write that changed nothing kept the version: no event will come. */
		const char *rv = ck_json_get_str(res->obj, "metadata.resourceVersion", "");
		if (strcmp(rv, c->replaced_rv))
			ck_map_set(w->replaced, c->key, CK_TAKE_PTR(c->replaced_rv));
	} else if (res->rc != CK_ECONFLICT && res->rc != -ENOENT) {
		/* A conflict or a deletion has its own watch event coming, which syncs again;
		 * anything else is retried with back-off. */
		CK_V(2, "%s %s: write: %s", w->res->kind, c->key,
		     res->err ? res->err->msg : ck_strerror(res->rc));
		result = res->rc < 0 ? res->rc : -EIO;
	}
	_cleanup_free_ char *key = ck_strdup(c->key);
	call_free(c);
	wq_done(w->q, key, result);
}

/* True while the cache still shows obj as the version the last write of key replaced. */
static bool cache_behind(cm_writer *w, const char *key, const cJSON *obj)
{
	const char *replaced = ck_map_get(w->replaced, key);
	if (replaced && !strcmp(replaced, ck_json_get_str(obj, "metadata.resourceVersion", "")))
		return true;
	ck_map_remove(w->replaced, key);
	return false;
}

/* Starts rq, the write of key over obj. */
static int start(cm_writer *w, const char *key, const cJSON *obj, const cm_request *rq)
{
	wcall *c = ck_calloc(1, sizeof(*c));
	c->w = w;
	c->key = ck_strdup(key);
	c->replaced_rv = ck_strdup(kc_obj_resource_version(obj));
	if (w->ctx->api->start(w->ctx->api_impl, rq, written, c, &c->call) < 0) {
		free(c->key);
		free(c->replaced_rv);
		free(c);
		return -EIO;
	}
	CK_LIST_PREPEND(w->calls, c);
	return WQ_ASYNC;
}

int cm_write_status(cm_writer *w, const char *key, const cJSON *obj, cJSON *status)
{
	_cleanup_json_ cJSON *st = status;
	if (cache_behind(w, key, obj) || ck_json_equal(st, ck_json_get(obj, "status")))
		return 0;
	_cleanup_json_ cJSON *upd = ck_json_dup(obj);
	cJSON_DeleteItemFromObjectCaseSensitive(upd, "status");
	cJSON_AddItemToObject(upd, "status", CK_TAKE_PTR(st));
	cm_request rq = {.verb = CM_UPDATE_STATUS,
	                 .res = w->res,
	                 .ns = kc_obj_namespace(obj),
	                 .name = kc_obj_name(obj),
	                 .body = upd};
	return start(w, key, obj, &rq);
}

int cm_write_patch(cm_writer *w, const char *key, const cJSON *obj, const cJSON *patch)
{
	if (cache_behind(w, key, obj))
		return 0;
	cm_request rq = {.verb = CM_PATCH,
	                 .res = w->res,
	                 .ns = kc_obj_namespace(obj),
	                 .name = kc_obj_name(obj),
	                 .body = patch,
	                 .patch_type = KC_PATCH_MERGE};
	return start(w, key, obj, &rq);
}

void cm_writer_forget(cm_writer *w, const char *key)
{
	ck_map_remove(w->replaced, key);
}
