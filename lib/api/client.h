/* client (kc_): typed requests to the apiserver over http_client.
 *
 * Every call is asynchronous on the client's loop and reports through a kc_result. Paths
 * are built from (group, version, resource, namespace, name, subresource):
 *   /api/v1/namespaces/default/pods/web-0/status
 *   /apis/apps/v1/deployments
 * Error statuses are decoded from the Status body and mapped:
 *   404 -> -ENOENT, 409 AlreadyExists -> -EEXIST, 409 Conflict -> CK_ECONFLICT,
 *   410 -> CK_EGONE, 401/403 -> -EACCES, 422 / 400 -> -EINVAL,
 *   429/5xx -> CK_EUNAVAILABLE, other -> CK_EHTTP; the Status message goes to err. */
#ifndef CK_API_CLIENT_H
#define CK_API_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "api/kind.h"
#include "api/kubeconfig.h"
#include "base/error.h"
#include "net/http_client.h"

typedef struct kc_client kc_client;

/* A resource is its kind's description (api/kind.h): group "" for the core group,
 * plural, kind and scope read from it. */
typedef kind_desc kc_resource;

/* The built-in resources the components name. */
#define KC_PODS            kind_pod
#define KC_NODES           kind_node
#define KC_NAMESPACES      kind_namespace
#define KC_EVENTS          kind_event
#define KC_SERVICES        kind_service
#define KC_ENDPOINTS       kind_endpoints
#define KC_CONFIGMAPS      kind_configmap
#define KC_SECRETS         kind_secret
#define KC_SERVICEACCOUNTS kind_serviceaccount
#define KC_DEPLOYMENTS     kind_deployment
#define KC_REPLICASETS     kind_replicaset
#define KC_LEASES          kind_lease
#define KC_ENDPOINTSLICES  kind_endpointslice

/* The result of one request, owned by the library during the callback. The callee may
 * take res->obj (CK_TAKE_PTR) to keep it. */
typedef struct kc_result {
	int rc;      /* 0 or a negative code (see the mapping above) */
	ck_err *err; /* message when rc < 0 */
	int status;  /* HTTP status, 0 on a transport error */
	cJSON *obj;  /* parsed body on success (object or list); the Status on failure, or NULL */
} kc_result;

typedef void (*kc_result_fn)(kc_result *res, void *user);

/* Creates a client on loop for the resolved configuration kc (copied). */
int kc_client_new(uv_loop_t *loop, const kubeconfig *kc, kc_client **out, ck_err **err);
/* Cancels all requests and watches (no callbacks afterwards) and frees the client.
 * Accepts NULL. */
void kc_client_free(kc_client *c);
uv_loop_t *kc_client_loop(const kc_client *c);
/* The underlying HTTP client, for requests this module does not cover. */
httpc *kc_client_http(kc_client *c);

/* "/api/v1/namespaces/<ns>/pods/<name>/<sub>"; ns, name, sub may be NULL. malloc'd. */
char *kc_path(const kc_resource *r, const char *ns, const char *name, const char *subresource);

typedef struct kc_list_opts {
	const char *label_selector;
	const char *field_selector;
	const char *resource_version;
	const char *resource_version_match; /* "NotOlderThan", "Exact" */
	int64_t limit;                      /* 0: none */
	const char *continue_;
	int timeout_seconds;        /* watch only; 0: server default */
	bool allow_watch_bookmarks; /* watch only */
} kc_list_opts;

/* Appends the list options as a query string ("?a=b&c=d", "" when none) to path. malloc'd. */
char *kc_list_query(const char *path, const kc_list_opts *o, bool watch);

enum kc_patch_type { KC_PATCH_MERGE, KC_PATCH_JSON, KC_PATCH_STRATEGIC };

typedef struct kc_delete_opts {
	int64_t grace_period_seconds;   /* <0: unset */
	const char *propagation_policy; /* "Foreground", "Background", "Orphan" or NULL */
	const char *precondition_uid;
	const char *precondition_resource_version;
} kc_delete_opts;
#define KC_DELETE_OPTS_INIT                                                                        \
	{                                                                                          \
		.grace_period_seconds = -1                                                         \
	}

/* Each request returns 0 once started (cb is then called exactly once on the loop unless
 * the client is freed) or a negative code (cb not called). */
int kc_get(kc_client *c, const kc_resource *r, const char *ns, const char *name, kc_result_fn cb,
           void *user);
/* One page; see informers for everything. ns NULL: all namespaces. */
int kc_list(kc_client *c, const kc_resource *r, const char *ns, const kc_list_opts *o,
            kc_result_fn cb, void *user);
int kc_create(kc_client *c, const kc_resource *r, const char *ns, const cJSON *obj, kc_result_fn cb,
              void *user);
/* kc_create in the background: it waits for a connection behind c's other requests
 * (Events, which must not delay the writes they tell about). */
int kc_create_background(kc_client *c, const kc_resource *r, const char *ns, const cJSON *obj,
                         kc_result_fn cb, void *user);
/* PUT of obj to its metadata.name (metadata.resourceVersion gives optimistic concurrency). */
int kc_update(kc_client *c, const kc_resource *r, const char *ns, const cJSON *obj, kc_result_fn cb,
              void *user);
/* PUT to the status subresource. */
int kc_update_status(kc_client *c, const kc_resource *r, const char *ns, const cJSON *obj,
                     kc_result_fn cb, void *user);
/* PATCH name (or name/subresource when sub is non-NULL). */
int kc_patch(kc_client *c, const kc_resource *r, const char *ns, const char *name, const char *sub,
             enum kc_patch_type type, const cJSON *patch, kc_result_fn cb, void *user);
/* DELETE with options (o may be NULL). */
int kc_delete(kc_client *c, const kc_resource *r, const char *ns, const char *name,
              const kc_delete_opts *o, kc_result_fn cb, void *user);
/* POST obj to name/sub: "binding", "eviction". */
int kc_post_subresource(kc_client *c, const kc_resource *r, const char *ns, const char *name,
                        const char *sub, const cJSON *obj, kc_result_fn cb, void *user);
/* Any request: method, path (with query), optional JSON body and content type. */
int kc_request(kc_client *c, const char *method, const char *path, const char *content_type,
               const cJSON *body, kc_result_fn cb, void *user);

/* As kc_request, with a handle (*out, valid until cb runs) to cancel it. */
typedef struct kc_call kc_call;
int kc_request_call(kc_client *c, const char *method, const char *path, const char *content_type,
                    const cJSON *body, kc_result_fn cb, void *user, kc_call **out);
/* Cancels a call: its callback will not run. Not from within that callback. Accepts NULL. */
void kc_call_cancel(kc_call *call);
/* The user pointer the call was started with. */
void *kc_call_user(const kc_call *call);

/* ---- watch ---- */
enum kc_event_type { KC_ADDED, KC_MODIFIED, KC_DELETED, KC_BOOKMARK, KC_ERROR };
typedef struct kc_watch kc_watch;

/* obj is owned by the library; the callee may take it (set *obj to NULL). For KC_ERROR
 * it is the Status object. */
typedef void (*kc_event_fn)(enum kc_event_type type, cJSON **obj, void *user);
/* The stream ended: rc 0 for a normal end (server timeout), else a negative code with err
 * (CK_EGONE for 410, transport errors, CK_EPROTO for a malformed event). The watch handle
 * is freed after this returns. */
typedef void (*kc_watch_end_fn)(int rc, const ck_err *err, void *user);

/* Starts a watch (?watch=1 plus the options). Returns 0 and *out (may be NULL). */
int kc_watch_start(kc_client *c, const kc_resource *r, const char *ns, const kc_list_opts *o,
                   kc_event_fn on_event, kc_watch_end_fn on_end, void *user, kc_watch **out);
/* Stops the watch: no callback afterwards. Not from within on_end. Accepts NULL. */
void kc_watch_stop(kc_watch *w);

/* Incremental decoder of a newline-delimited WatchEvent stream, exposed for tests and
 * fuzzing. Feed returns 0 or CK_EPROTO (malformed event; the decoder is then spent). */
typedef struct kc_watch_decoder kc_watch_decoder;
kc_watch_decoder *kc_watch_decoder_new(kc_event_fn on_event, void *user);
int kc_watch_decoder_feed(kc_watch_decoder *d, const void *data, size_t len, ck_err **err);
void kc_watch_decoder_free(kc_watch_decoder *d);

/* Event type from its name ("ADDED"...), -EINVAL when unknown. */
int kc_event_type_parse(const char *s);
const char *kc_event_type_name(enum kc_event_type t);

/* Maps an HTTP status and its body (a Status, or anything) to a code and a message. */
int kc_status_error(int status, const char *body, size_t len, ck_err **err);

/* ---- blocking interface, for CLIs and tests (not on a loop thread) ---- */
typedef struct kc_sync kc_sync;
int kc_sync_new(const kubeconfig *kc, kc_sync **out, ck_err **err);
void kc_sync_free(kc_sync *s);
/* Performs one request; on success *out (may be NULL) gets the parsed body (NULL when the
 * body is empty). Returns 0 or the mapped code with *err. */
int kc_sync_request(kc_sync *s, const char *method, const char *path, const char *content_type,
                    const cJSON *body, cJSON **out, ck_err **err);

/* Object helpers. */
const char *kc_obj_namespace(const cJSON *obj); /* "" when cluster-scoped */
const char *kc_obj_name(const cJSON *obj);
const char *kc_obj_uid(const cJSON *obj);
const char *kc_obj_resource_version(const cJSON *obj);

#endif
