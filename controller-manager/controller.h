/* The controllers of kube-controller-manager and the library they share.
 *
 * A controller is a table entry (cm_controller_desc: its --controllers name, the caches it
 * reads, start, sync, free) and one file. Each is a reconcile function sync(key) over
 * shared informer caches and its own rate-limited work queue (lib/api/workqueue); it keeps
 * no state that it cannot rebuild from the API (expectations only suppress duplicate work
 * while its own writes are in flight, and expire).
 *
 * Controllers read and write through two seams, so that a unit test runs a sync against a
 * store it filled and a client that records the requests (tests/harness/fake_*.h):
 *   - cm_cache: one kind's cache (the real one is an informer shared by every controller
 *     that reads the kind, all on one kc_client);
 *   - cm_api: the requests (the real one is the kc_client).
 * An interface of function pointers rather than a fake HTTP apiserver: a test then calls a
 * sync and asserts the requests made, answers each one when it chooses (a slow-start batch
 * is in flight until the test answers it), with no sockets, threads or timing. */
#ifndef CM_CONTROLLER_H
#define CM_CONTROLLER_H

#include <uv.h>

#include "api/client.h"
#include "api/informer.h"
#include "api/selector.h"
#include "api/workqueue.h"

/* ---- the seams ---- */

/* Index names every cache here answers: by metadata.ownerReferences[].uid, and the
 * namespace of each object without a controller reference (the orphans a controller may
 * adopt). */
#define CM_INDEX_OWNER  "owner"
#define CM_INDEX_ORPHAN "orphan"
/* The index functions behind CM_INDEX_OWNER and CM_INDEX_ORPHAN; a NULL name ends them. */
typedef struct cm_index {
	const char *name;
	informer_index_fn fn;
} cm_index;
extern const cm_index CM_INDEXES[];

/* One kind's cache. Objects handed out are borrowed as the informer's are (informer.h). */
typedef struct cm_cache_ops {
	const cJSON *(*get)(void *impl, const char *key);
	/* A malloc'd array of borrowed pointers (free() it), *n its length. */
	const cJSON **(*list)(void *impl, size_t *n);
	const cJSON **(*by_index)(void *impl, const char *index, const char *value, size_t *n);
	/* cb once synced (from the loop, or at once when a fake is already synced). */
	void (*on_synced)(void *impl, void (*cb)(void *data), void *data);
	void (*add_handlers)(void *impl, const informer_handlers *h);
} cm_cache_ops;

typedef struct cm_cache {
	const cm_cache_ops *ops;
	void *impl;
	const kc_resource *res;
} cm_cache;

const cJSON *cm_cache_get(const cm_cache *c, const char *key);
/* The object ns/name, or name when the kind is cluster-scoped. */
const cJSON *cm_cache_get_ns(const cm_cache *c, const char *ns, const char *name);
const cJSON **cm_cache_list(const cm_cache *c, size_t *n);
const cJSON **cm_cache_by_index(const cm_cache *c, const char *index, const char *value, size_t *n);

enum cm_verb { CM_GET, CM_CREATE, CM_UPDATE_STATUS, CM_PATCH, CM_DELETE };

/* One request: the fields its verb uses are set. */
typedef struct cm_request {
	enum cm_verb verb;
	const kc_resource *res;
	const char *ns; /* NULL or "" for cluster-scoped kinds */
	const char *name;
	const cJSON *body; /* CM_CREATE, CM_UPDATE_STATUS: the object; CM_PATCH: the patch */
	enum kc_patch_type patch_type;
	const kc_delete_opts *delete_opts; /* CM_DELETE, may be NULL */
	bool background; /* CM_CREATE: behind the client's other requests (Events) */
} cm_request;

typedef struct cm_api_ops {
	/* Starts rq as the kc_ functions do: 0 once started (cb then runs exactly once,
	 * never from inside start) or a negative code. With call non-NULL, *call is a handle
	 * for cancel (the writer's CM_UPDATE_STATUS and merge CM_PATCH only). */
	int (*start)(void *impl, const cm_request *rq, kc_result_fn cb, void *user, void **call);
	/* The call's callback will not run. */
	void (*cancel)(void *impl, void *call);
} cm_api_ops;

/* What every controller runs on. */
typedef struct cm_ctx {
	uv_loop_t *loop;
	const cm_api_ops *api;
	void *api_impl;
	/* The shared cache of r, created on first use (only before the caches start, that is
	 * from a controller's start); NULL when it cannot be made. */
	cm_cache *(*cache)(void *impl, const kc_resource *r);
	void *cache_impl;
} cm_ctx;

/* Starts rq on ctx's client (cm_api_ops.start with no handle). */
int cm_request_start(const cm_ctx *ctx, const cm_request *rq, kc_result_fn cb, void *user);

/* ---- the controller table ---- */

typedef struct cm_controller cm_controller;

/* Starts rq for the sync of key on c. A failure other than -ENOENT or -EEXIST (the object
 * is gone, or was made by an earlier sync that the cache does not show yet) is logged at
 * -v=2 as what ("delete pod"), passed to failed (NULL: none) and syncs key again with
 * back-off; so is a request that cannot start. what must be static. */
void cm_request_for(cm_controller *c, const char *key, const cm_request *rq, const char *what,
                    void (*failed)(cm_controller *c, const char *key));

typedef struct cm_controller_desc {
	const char *name;      /* as --controllers names it: "replicaset" */
	const char *component; /* its Events' source: "replicaset-controller" */
	/* The caches its syncs read, NULL-terminated (start may ask for more). */
	const kc_resource *const *informers;
	/* Registers handlers and makes the controller's state (*state). Returns 0 or a
	 * negative code with err. */
	int (*start)(cm_controller *c, void **state, ck_err **err);
	/* A key's reconcile, once the controller's caches synced: a wq_sync_fn's result. */
	int (*sync)(void *state, const char *key);
	/* Once the controller's caches synced, before the parked keys sync. May be NULL. */
	void (*synced)(void *state);
	void (*free)(void *state);
} cm_controller_desc;

extern const cm_controller_desc cm_deployment_controller, cm_replicaset_controller,
    cm_gc_controller;

/* Creates the controller: its queue (workers concurrent syncs, at least 1), its caches of
 * d->informers, then d->start. Keys synced before all its caches synced are parked and
 * sync once they have. Returns 0 and *out, or a negative code with err. */
int cm_controller_new(cm_ctx *ctx, const cm_controller_desc *d, int workers, cm_controller **out,
                      ck_err **err);
/* Frees the state (d->free), then the queue. Accepts NULL. */
void cm_controller_free(cm_controller *c);
cm_ctx *cm_controller_ctx(const cm_controller *c);
wq *cm_controller_queue(const cm_controller *c);
/* The shared cache of r, counted among the caches c waits for, or NULL when it cannot be
 * made. Only from start. */
cm_cache *cm_controller_cache(cm_controller *c, const kc_resource *r);
/* Zeroed memory that lives as long as c (handler data: informers keep handlers). */
void *cm_controller_alloc(cm_controller *c, size_t size);
/* True once every cache c uses holds the cluster. */
bool cm_controller_synced(const cm_controller *c);

/* The table, as main.c gives it: a controller and where its concurrency flag is. */
typedef struct cm_table_entry {
	const cm_controller_desc *desc;
	const int *workers; /* NULL: 1 */
} cm_table_entry;

/* Checks a --controllers list against the table (terminated by a NULL desc): 0, or -EINVAL
 * with upstream's one-line message for a name it does not know. */
int cm_controllers_check(const cm_table_entry *table, char *const *list, ck_err **err);
/* Whether the list enables name, as upstream reads it: "name" on, "-name" off, "*" every
 * controller on by default (all of ours). NULL or empty list: "*". */
bool cm_controller_enabled(char *const *list, const char *name);

/* The running controllers of one process, with their shared informers on client. */
typedef struct cm_manager cm_manager;
/* Creates the enabled controllers of table and starts the informers they use. Returns 0
 * and *out, or a negative code with err. */
int cm_manager_start(uv_loop_t *loop, kc_client *client, const cm_table_entry *table,
                     char *const *list, cm_manager **out, ck_err **err);
/* Frees the controllers, then the informers. Accepts NULL. */
void cm_manager_free(cm_manager *m);

/* ---- object helpers (controller.c) ---- */

/* The ownerReference of obj with controller: true, or NULL. */
const cJSON *cm_controller_ref(const cJSON *obj);
/* "ns/name" of obj's controller when its kind is kind, else NULL. malloc'd. */
char *cm_controller_key(const cJSON *obj, const char *kind);
/* A new ownerReference to owner (of resource r) with controller and blockOwnerDeletion. */
cJSON *cm_owner_ref(const kc_resource *r, const cJSON *owner);
/* True when obj has metadata.deletionTimestamp. */
bool cm_being_deleted(const cJSON *obj);
/* The pod is Ready (condition Ready True). */
bool cm_pod_ready(const cJSON *pod);
/* The pod counts toward a controller's replicas: not Succeeded/Failed, not being deleted. */
bool cm_pod_active(const cJSON *pod);
/* The pod-template-hash label value of a Deployment's pod template (deployment.c). */
char *cm_pod_template_hash(const cJSON *tmpl, int64_t collision_count);
/* An IntOrString ("25%" or 2) resolved against total, rounding percentages up or down;
 * def when v is missing or malformed (deployment.c). */
int64_t cm_int_or_percent(const cJSON *v, int64_t total, bool round_up, int64_t def);

/* Records an Event about obj (of resource r) from c's component, fire and forget. */
void cm_event(cm_controller *c, const kc_resource *r, const cJSON *obj, const char *type,
              const char *reason, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* ---- event handlers (handlers.c) ---- */

/* Enqueues the key of every object of cache's kind that is added, updated or deleted. */
void cm_handle_own(cm_controller *c, cm_cache *cache);
/* Enqueues, for each change of a dependent in deps, the owner of kind owners->res->kind it
 * belongs to: its controller (the old one too when the controller reference changed), or
 * for an orphan every owner in its namespace whose spec.selector matches its labels
 * (which may adopt it). With expect, a dependent's creation and its deletion (a
 * deletionTimestamp or a delete) are observed on the controller's expectations. */
void cm_handle_dependents(cm_controller *c, cm_cache *deps, cm_cache *owners, bool expect);

/* ---- claiming dependents by selector (claim.c) ---- */

/* Claims, as upstream's ControllerRefManager: of the objects in deps in owner's namespace
 * that are owned by owner (controller reference with its uid) or orphans, and that keep
 * passes (NULL: all), returns those owner controls. An orphan that matches sel is adopted
 * (a patch adds owner's controller reference) unless owner or the orphan is being
 * deleted; an owned object that no longer matches is released (a patch removes the
 * reference) unless owner is being deleted. Objects controlled by another owner are left
 * alone. Adoptions count at once; a failed patch syncs owner's key again with back-off.
 * Returns a malloc'd array of borrowed pointers (free() it), *n its length. */
const cJSON **cm_claim(cm_controller *c, const kc_resource *owner_res, const cJSON *owner,
                       const selector *sel, const cm_cache *deps, bool (*keep)(const cJSON *obj),
                       size_t *n);

/* ---- expectations (controller.c) ---- */

/* Creations and deletions a controller started and has not seen in its cache yet, per
 * key. Unmet expectations expire after 5 minutes, as upstream's. */
/* True when key has nothing in flight (or its expectations expired). */
bool cm_exp_satisfied(cm_controller *c, const char *key);
/* Expects adds creations and dels deletions for key from now on. */
void cm_exp_set(cm_controller *c, const char *key, int adds, int dels);
/* Counts adds creations and dels deletions of key as seen (or as never coming). */
void cm_exp_observe(cm_controller *c, const char *key, int adds, int dels);
/* Forgets key (its object is gone). */
void cm_exp_drop(cm_controller *c, const char *key);
/* Creations and deletions still expected for key (0, 0 when none). */
void cm_exp_pending(cm_controller *c, const char *key, int *adds, int *dels);

/* ---- pods from templates (pod_control.c) ---- */

/* Upstream's burstReplicas: creations or deletions started by one sync. */
#define CM_BURST_REPLICAS 500

/* The pod of owner's spec.template (owner of resource r): generateName "<owner>-", the
 * template's labels and annotations, a controller reference to owner. A new object. */
cJSON *cm_pod_from_template(const kc_resource *r, const cJSON *owner);
/* Creates n pods from owner's template for key in upstream's slow-start batches (1, 2,
 * 4, ...): each batch starts once the one before has all returned, and none after a batch
 * with a failure. Sets key's expectations to n creations first; failures and the pods not
 * tried are observed (they will never come) and key syncs again with back-off. Records
 * SuccessfulCreate / FailedCreate Events. */
void cm_create_pods(cm_controller *c, const char *key, const kc_resource *r, const cJSON *owner,
                    int64_t n);
/* Deletes the n pods (uid preconditions) for key, expecting n deletions; records
 * SuccessfulDelete Events. A failed deletion is observed and key syncs again. */
void cm_delete_pods(cm_controller *c, const char *key, const kc_resource *r, const cJSON *owner,
                    const cJSON *const *pods, size_t n);

/* ---- writes to a controller's own objects (writer.c) ---- */

/* Writes one resource's objects (their status, or a patch) for a controller whose queue is
 * q, one write per sync. The sync that starts a write ends when it returns (wq_done with 0,
 * or a failure for back-off). */
typedef struct cm_writer cm_writer;
cm_writer *cm_writer_new(cm_controller *c, const kc_resource *res);
/* Cancels the writes in flight (their syncs never end: free the queue next). Accepts NULL. */
void cm_writer_free(cm_writer *w);
/* Makes status (taken) the status of obj, the cache's copy of key. Writes nothing when obj
 * already has it, or when obj is still the version this writer's last write replaced (the
 * new version's event syncs the key again). Returns what key's sync returns: WQ_ASYNC once
 * a write started, 0 when none was needed, < 0 when none could start. A conflict ends the
 * sync without a retry: the newer version's event brings the key back. */
int cm_write_status(cm_writer *w, const char *key, const cJSON *obj, cJSON *status);
/* As cm_write_status for a merge patch of obj (metadata): sent unless the cache is behind. */
int cm_write_patch(cm_writer *w, const char *key, const cJSON *obj, const cJSON *patch);
/* Forgets key (its object is gone). */
void cm_writer_forget(cm_writer *w, const char *key);

#endif
