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

/* Enqueues informer_key(obj) into q. */
void cm_enqueue_obj(wq *q, const cJSON *obj);

#endif
