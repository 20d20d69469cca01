/* The controllers of kube-controller-manager and what they share.
 *
 * Each controller is a reconcile function sync(key) over the shared informer caches and
 * its own rate-limited work queue (lib/api/workqueue); it keeps no state that it cannot
 * rebuild from the API (the replicaset controller's expectations only suppress duplicate
 * work while its own writes are in flight, and expire). */
#ifndef CM_CONTROLLER_H
#define CM_CONTROLLER_H

#include <uv.h>

#include "api/client.h"
#include "api/informer.h"
#include "api/workqueue.h"

/* Index name of informer_index_owner_uid on every informer here. */
#define CM_INDEX_OWNER "owner"

typedef struct cm_ctx {
	uv_loop_t *loop;
	kc_client *client;
	informer *deployments;
	informer *replicasets;
	informer *pods;
	int workers; /* concurrent syncs per controller */
} cm_ctx;

typedef struct cm_deployment cm_deployment;
typedef struct cm_replicaset cm_replicaset;
typedef struct cm_gc cm_gc;

/* Each start function registers its informer handlers and creates its queue; returns 0. */
int cm_deployment_start(cm_ctx *ctx, cm_deployment **out);
void cm_deployment_free(cm_deployment *dc);
int cm_replicaset_start(cm_ctx *ctx, cm_replicaset **out);
void cm_replicaset_free(cm_replicaset *rc);
int cm_gc_start(cm_ctx *ctx, cm_gc **out);
void cm_gc_free(cm_gc *gc);

/* ---- helpers shared by the controllers (controller.c) ---- */

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
/* Objects under the owner index for uid whose controller reference has that uid. Returns a
 * malloc'd array of borrowed pointers (free() it), *n its length. */
const cJSON **cm_owned(const informer *inf, const char *uid, size_t *n);
/* The pod-template-hash label value of a Deployment's pod template (deployment.c). */
char *cm_pod_template_hash(const cJSON *tmpl, int64_t collision_count);
/* An IntOrString ("25%" or 2) resolved against total, rounding percentages up or down;
 * def when v is missing or malformed (deployment.c). */
int64_t cm_int_or_percent(const cJSON *v, int64_t total, bool round_up, int64_t def);

/* True once the three caches hold the cluster: before that a sync would act on a partial
 * picture (create pods that exist, delete ReplicaSets whose owner is not loaded yet). */
bool cm_synced(const cm_ctx *ctx);
/* What a sync returns while not synced: try again after this many milliseconds. */
#define CM_UNSYNCED_RETRY_MS 100

/* ---- writes to a controller's own objects (writer.c) ---- */

/* Writes one resource's objects (their status, or a patch) for a controller whose queue is
 * q, one write per sync. The sync that starts a write ends when it returns (wq_done with 0,
 * or a failure for back-off). */
typedef struct cm_writer cm_writer;
cm_writer *cm_writer_new(kc_client *client, const kc_resource *res, wq *q);
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

/* Enqueues informer_key(obj) into q. */
void cm_enqueue_obj(wq *q, const cJSON *obj);

#endif
