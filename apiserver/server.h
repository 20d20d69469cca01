/* server: the apiserver's shared state and the request context every verb file uses.
 *
 * One apiserver per process, on one libuv loop. Everything durable lives in etcd (several
 * apiservers on one etcd serve the same cluster); the process keeps only the watch
 * caches, which it rebuilds from etcd. */
#ifndef CK_APISERVER_SERVER_H
#define CK_APISERVER_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "alloc.h"
#include "api/kind.h"
#include "net/etcd.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "router.h"

typedef struct watch_cache watch_cache;

typedef struct apiserver {
	uv_loop_t *loop;
	etcd_client *etcd;
	char *prefix;         /* "/registry" */
	watch_cache **caches; /* one per kind, in kind_all() order */
	/* Reaching kubelets (pods/log): a client with the apiserver's kubelet credentials,
	 * "https" or "http", and the node address types to try, in order. */
	httpc *kubelet;
	const char *kubelet_scheme;
	char **kubelet_address_types;
	/* Service cluster IPs (--service-cluster-ip-range) and node ports. */
	alloc_pool svc_ips, node_ports;
	/* Events expire after --event-ttl (event_ttl.h); 0: never. */
	int64_t event_ttl_s;
	struct event_leases *event_leases;
} apiserver;

/* Output form a client asked for in Accept. */
enum api_output {
	OUTPUT_OBJECT,
	OUTPUT_TABLE,
};

/* One API request in flight: owned by the verb that handles it, freed by api_req_free
 * once the exchange is completed. */
typedef struct api_req {
	apiserver *srv;
	http_exchange *x;
	const http_request *hr;
	route rt;
	enum api_output output;
	bool dry_run;    /* dryRun=All: validate and answer, store nothing */
	cJSON *body;     /* decoded request body, when the verb takes one */
	int attempts;    /* guaranteed-update retries so far */
	void *verb_data; /* per-verb state, freed by verb_free */
	void (*verb_free)(void *);
} api_req;

/* Frees r (body, route, verb state). The exchange must already be completed. */
void api_req_free(api_req *r);

/* Index of k in kind_all() order. */
size_t server_kind_index(const kind_desc *k);

/* Query parameter helpers (upstream semantics: a boolean is true unless "0"/"false"). */
bool api_query_bool(const api_req *r, const char *name);
/* Integer parameter: *out set and 0 returned, 1 when absent, -EINVAL when malformed. */
int api_query_int(const api_req *r, const char *name, int64_t *out);

/* Decodes the request body (JSON, YAML or Kubernetes protobuf by Content-Type) into
 * r->body, which must be an object. On failure answers 400/415 and returns -1. */
int api_decode_body(api_req *r);

/* Writes obj as JSON (or as a Table when the request asked for one) with status code. */
void api_respond_object(api_req *r, int code, const cJSON *obj);
/* Responds raw JSON text. */
void api_respond_json(http_exchange *x, int code, const char *json);

/* Verb entry points: each completes the exchange and frees r. */
void verb_get(api_req *r);
void verb_list(api_req *r);
void verb_watch(api_req *r);
void verb_create(api_req *r);
void verb_update(api_req *r);
void verb_patch(api_req *r);
void verb_delete(api_req *r);
void verb_deletecollection(api_req *r);
void verb_log(api_req *r);

/* Deletes one object as a client's DELETE with gracePeriodSeconds grace (-1: the kind's)
 * would, for the apiserver itself (deletecollection, the namespace purge): admission,
 * grace periods and finalizers as for any delete. done(code, obj, data) runs once: 200
 * with the deleted or marked object (borrowed), 404 when it is absent, another code on
 * failure (obj NULL). */
typedef void (*delete_done_fn)(int code, const cJSON *obj, void *data);
void delete_internal(apiserver *s, const kind_desc *k, const char *ns, const char *name,
                     int64_t grace, bool dry_run, delete_done_fn done, void *data);

/* Gives back the cluster IPs and node ports no Service holds, at start and every few
 * minutes (upstream's repair controllers). Runs on s's loop for the process's life. */
void service_repair_start(apiserver *s);

/* The namespace controller's part until controller-manager has one: empties each
 * namespace being deleted through the delete path and removes its "kubernetes"
 * finalizer once nothing is left (namespace_finalize.c). */
void namespace_finalize_start(apiserver *s);

/* Discovery and OpenAPI: complete the exchange. */
void discovery_serve(http_exchange *x, const route *rt);
void openapi_serve(http_exchange *x, const route *rt);

/* Sets up the apiserver's HTTP handling. */
void server_handle(http_exchange *x, void *data);

/* Creates what every cluster has when missing: the namespaces default, kube-system,
 * kube-public and kube-node-lease, the "kubernetes" service on the first address of the
 * service range and, with an advertise address, its endpoints. done(rc) runs on the loop. */
void server_bootstrap(apiserver *s, const char *advertise_address, int secure_port,
                      void (*done)(int rc, const ck_err *err, void *data), void *data);

#endif
