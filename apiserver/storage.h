/* storage: objects in etcd as upstream keeps them.
 *
 * Keys are <prefix>/<resource>/<namespace>/<name> (or <prefix>/<resource>/<name> for
 * cluster-scoped kinds), values the object's JSON without metadata.resourceVersion: the
 * resourceVersion of an object is the etcd mod_revision of its key, that of a list the
 * store revision at the read. Writes are compare-and-swap on mod_revision. */
#ifndef CK_APISERVER_STORAGE_H
#define CK_APISERVER_STORAGE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "server.h"

/* The key of one object, malloc'd. */
char *storage_key(const apiserver *s, const kind_desc *k, const char *ns, const char *name);
/* The prefix of a collection with the trailing '/' (ns NULL: every namespace), malloc'd. */
char *storage_prefix(const apiserver *s, const kind_desc *k, const char *ns);

/* Parses a stored value of kind k (converted to k's version when k is stored in another
 * version's form) and sets metadata.resourceVersion to rv. NULL when the bytes are not a
 * JSON object. Caller owns the result. */
cJSON *storage_decode(const kind_desc *k, const void *value, size_t len, int64_t rv);
/* The bytes to store for obj of kind k: its JSON in the stored version, without
 * metadata.resourceVersion, malloc'd. */
char *storage_encode(const kind_desc *k, const cJSON *obj);
/* Sets metadata.resourceVersion to rv. */
void storage_set_rv(cJSON *obj, int64_t rv);

/* An etcd write callback for writes whose outcome nobody waits for. */
void storage_ignore_write(int rc, const etcd_write_result *res, const ck_err *err, void *data);

enum update_action {
	UPDATE_WRITE,     /* store *next (compare-and-swap against the current revision) */
	UPDATE_DELETE,    /* delete the current object */
	UPDATE_UNCHANGED, /* nothing to write: done gets the current object */
	UPDATE_FAILED,    /* answer the Status in *status */
};

/* Decides what to do with the current object (NULL when the key is absent; owned by
 * storage) by returning an action; for UPDATE_WRITE it puts the new object in *next,
 * for UPDATE_FAILED the Status to answer in *status (both handed to storage). cur is
 * first the watch cache's copy, which can trail etcd by a moment: a WRITE or DELETE is
 * checked against etcd by the compare-and-swap, and an UNCHANGED or FAILED decided on
 * that copy is decided again on a fresh read. So it may run several times per request
 * (also after a lost compare-and-swap) and must have no other effect. */
typedef enum update_action (*storage_mutate_fn)(api_req *r, const cJSON *cur, cJSON **next,
                                                cJSON **status);
/* Called once with the outcome: for WRITE the stored object (resourceVersion set), for
 * DELETE the deleted object, for UNCHANGED the current one (NULL when absent). obj is
 * owned by storage. Must complete the exchange and free r. Storage failures are
 * answered by storage itself (done is not called). */
typedef void (*storage_done_fn)(api_req *r, enum update_action action, const cJSON *obj);

/* Read-modify-write of key with retries on conflicts: usually one etcd call, the
 * compare-and-swap, as the current object comes from the watch cache. With r->dry_run
 * the outcome (decided on a fresh read) is reported to done without writing. */
void storage_update(api_req *r, const char *key, storage_mutate_fn mutate, storage_done_fn done);

/* Reads one key: cb gets the object (owned by storage; NULL when absent) or answers a
 * storage failure itself and does not call cb. */
typedef void (*storage_get_fn)(api_req *r, const cJSON *obj);
void storage_get(api_req *r, const char *key, storage_get_fn cb);

#endif
