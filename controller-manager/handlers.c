/* The informer handlers controllers share: enqueue an object's own key, or the key of the
 * owner a dependent belongs to (controller.h). */
#include "controller.h"

#include <stdlib.h>

#include "base/json.h"
#include "base/log.h"
#include "base/strbuf.h"

static void enqueue_obj(wq *q, const cJSON *obj)
{
	_cleanup_free_ char *key = informer_key(obj);
	wq_add(q, key);
}

static void own_changed(const cJSON *obj, void *data)
{
	enqueue_obj(cm_controller_queue(data), obj);
}

static void own_updated(const cJSON *old_obj, const cJSON *new_obj, void *data)
{
	own_changed(new_obj, data);
}

void cm_handle_own(cm_controller *c, cm_cache *cache)
{
	informer_handlers h = {
	    .on_add = own_changed, .on_update = own_updated, .on_delete = own_changed, .data = c};
	cache->ops->add_handlers(cache->impl, &h);
}

/* One registration of cm_handle_dependents. */
typedef struct dep_handler {
	cm_controller *c;
	cm_cache *owners;
	bool expect;
} dep_handler;

/* Enqueues every owner in obj's namespace whose selector matches obj's labels: an orphan's
 * candidates for adoption. */
static void enqueue_matching(dep_handler *h, const cJSON *obj)
{
	size_t n = 0;
	_cleanup_free_ const cJSON **owners =
	    cm_cache_by_index(h->owners, INFORMER_INDEX_NAMESPACE, kc_obj_namespace(obj), &n);
	const cJSON *labels = ck_json_get(obj, "metadata.labels");
	for (size_t i = 0; i < n; i++) {
		_cleanup_selector_ selector *sel = NULL;
		const cJSON *ls = ck_json_get(owners[i], "spec.selector");
		/* An empty or malformed selector adopts nothing (upstream's sync refuses it). */
		if (!ls || !cJSON_GetArraySize(ls) ||
		    selector_from_label_selector(ls, &sel, NULL) < 0)
			continue;
		if (selector_match_labels(sel, labels))
			enqueue_obj(cm_controller_queue(h->c), owners[i]);
	}
}

/* Enqueues obj's owner (observing adds/dels on its expectations), or the owners that may
 * adopt it. */
static void enqueue_owner(dep_handler *h, const cJSON *obj, int adds, int dels)
{
	const cJSON *ref = cm_controller_ref(obj);
	if (!ref) {
		if (!cm_being_deleted(obj))
			enqueue_matching(h, obj);
		return;
	}
	_cleanup_free_ char *key = cm_controller_key(obj, h->owners->res->kind);
	if (!key)
		return;
	if (h->expect)
		cm_exp_observe(h->c, key, adds, dels);
	wq_add(cm_controller_queue(h->c), key);
}

static void dep_added(const cJSON *obj, void *data)
{
	/* One that arrives already being deleted is counted as a deletion seen. */
	if (cm_being_deleted(obj))
		enqueue_owner(data, obj, 0, 1);
	else
		enqueue_owner(data, obj, 1, 0);
}

static void dep_updated(const cJSON *old_obj, const cJSON *new_obj, void *data)
{
	dep_handler *h = data;
	const cJSON *old_ref = cm_controller_ref(old_obj), *new_ref = cm_controller_ref(new_obj);
	bool ref_changed = !ck_json_equal(old_ref, new_ref);
	if (ref_changed) {
		_cleanup_free_ char *old_key = cm_controller_key(old_obj, h->owners->res->kind);
		if (old_key)
			wq_add(cm_controller_queue(h->c), old_key);
	}
	if (new_ref) {
		bool deleting = cm_being_deleted(new_obj) && !cm_being_deleted(old_obj);
		enqueue_owner(h, new_obj, 0, deleting ? 1 : 0);
	} else if (ref_changed || !ck_json_equal(ck_json_get(old_obj, "metadata.labels"),
	                                         ck_json_get(new_obj, "metadata.labels"))) {
		/* An orphan that an owner may now adopt. */
		enqueue_owner(h, new_obj, 0, 0);
	}
}

static void dep_deleted(const cJSON *obj, void *data)
{
	/* Deleted without passing through deletionTimestamp: an observed deletion. */
	if (cm_controller_ref(obj))
		enqueue_owner(data, obj, 0, cm_being_deleted(obj) ? 0 : 1);
}

void cm_handle_dependents(cm_controller *c, cm_cache *deps, cm_cache *owners, bool expect)
{
	dep_handler *h = cm_controller_alloc(c, sizeof(*h));
	h->c = c;
	h->owners = owners;
	h->expect = expect;
	informer_handlers ih = {
	    .on_add = dep_added, .on_update = dep_updated, .on_delete = dep_deleted, .data = h};
	deps->ops->add_handlers(deps->impl, &ih);
}
