/* status: metav1.Status error bodies shaped as upstream's apiserver shapes them. */
#ifndef CK_APISERVER_STATUS_H
#define CK_APISERVER_STATUS_H

#include <cjson/cJSON.h>

#include "api/kind.h"
#include "net/http_server.h"

/* A Status object: kind Status, apiVersion v1, metadata {}, status Failure, message,
 * reason, details (taken, may be NULL: omitted), code. Caller owns the result. */
cJSON *status_new(int code, const char *reason, cJSON *details, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* details {name, group, kind} for a resource of kind k (kind = the plural, as upstream). */
cJSON *status_details(const kind_desc *k, const char *name);

/* Sends s (taken) with its code and completes the exchange. x NULL (an internal request
 * of the apiserver's own, which has no client): s is dropped. */
void status_send(http_exchange *x, cJSON *s);

/* Common failures as Status objects (caller owns the result)... */
cJSON *status_not_found_new(const kind_desc *k, const char *name);
cJSON *status_already_exists_new(const kind_desc *k, const char *name);
/* why NULL: "the object has been modified; ..." */
cJSON *status_conflict_new(const kind_desc *k, const char *name, const char *why);
/* 422 Invalid with causes (taken: an array of {reason, message, field}). */
cJSON *status_invalid_new(const kind_desc *k, const char *name, cJSON *causes);
cJSON *status_bad_request_new(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ...and sent, each completing the exchange. */
void status_not_found(http_exchange *x, const kind_desc *k, const char *name);
void status_namespace_not_found(http_exchange *x, const char *ns);
void status_already_exists(http_exchange *x, const kind_desc *k, const char *name);
void status_conflict(http_exchange *x, const kind_desc *k, const char *name, const char *why);
/* 422 Invalid with causes (taken: an array of {reason, message, field}). */
void status_invalid(http_exchange *x, const kind_desc *k, const char *name, cJSON *causes);
void status_bad_request(http_exchange *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void status_internal(http_exchange *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 404 for paths nothing serves, 405 for methods not allowed there. */
void status_path_not_found(http_exchange *x);
void status_method_not_allowed(http_exchange *x);
/* Maps an etcd/storage error code to a Status: CK_EUNAVAILABLE/-ETIMEDOUT → 500/504... */
void status_storage_error(http_exchange *x, int rc, const char *msg);

#endif
