/* etcd: an etcd v3 client over the gRPC C core (lib/net/grpc) and protobuf-c
 * (proto/etcd/, upstream field numbers).
 *
 * Asynchronous: every call returns at once and its callback runs later on the
 * client's libuv loop thread, exactly once, also on failure (then with result NULL).
 * Results passed to callbacks are owned by the client and valid only during the
 * callback (copy what you keep). A key length of 0 means strlen(key).
 * Errors come as codes a caller acts on:
 *   CK_EUNAVAILABLE  no member answered (after failover across --etcd-servers)
 *   CK_ECOMPACTED    the requested revision was compacted (watch, range at revision)
 *   CK_ECONFLICT     a txn compare failed where the call expresses one (etcd_put_if)
 *   -ETIMEDOUT       the call's deadline passed
 *   -EINVAL          bad arguments / protocol error
 * Several endpoints: calls go to one member; on UNAVAILABLE the client moves to the
 * next member and retries the call within its deadline when that is safe: always for
 * reads, conditional writes (put_if, delete_if, txn with compares), compact, status and
 * lease calls; for plain put/delete only when the request cannot have reached a server
 * (no connection could be made).
 * Callbacks may start new calls and cancel watches, but must not free the client. */
#ifndef CK_NET_ETCD_H
#define CK_NET_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/error.h"

typedef struct etcd_client etcd_client;

typedef struct etcd_client_opts {
	/* "http://127.0.0.1:2379,http://127.0.0.1:22379", https://, or bare host:port */
	const char *endpoints;
	int timeout_ms; /* per-call deadline; 0: 5000 */
	/* TLS to etcd (optional, all PEM paths) */
	const char *ca_file, *cert_file, *key_file;
} etcd_client_opts;

/* Creates a client on loop (on the loop's thread). Connects lazily: succeeds even when
 * no member is up. Returns 0 and *out, or -EINVAL (bad endpoints, TLS files) with err. */
int etcd_client_new(uv_loop_t *loop, const etcd_client_opts *opts, etcd_client **out, ck_err **err);
/* Cancels every call and watch (their callbacks run with -ECANCELED before this
 * returns), then frees. Handles close asynchronously: run the loop once more to release
 * the last memory. Accepts NULL. Not from inside one of the client's callbacks. */
void etcd_client_free(etcd_client *c);

/* ---- pure helpers (exported for tests and callers building ranges) ---- */

/* One --etcd-servers entry: "http://h:p", "https://h:p" (TLS), bare "h:p", or
 * "unix:///path" (passed to gRPC as is). */
typedef struct etcd_endpoint {
	char *target; /* gRPC target: "h:p" or "unix:///path" */
	bool tls;     /* https:// */
} etcd_endpoint;
/* Parses a comma-separated endpoint list (spaces around entries ignored, empty entries
 * skipped; a trailing "/" after host:port allowed). Returns the number of endpoints (> 0)
 * and *out (free with etcd_endpoints_free), or -EINVAL with err. */
int etcd_parse_endpoints(const char *s, etcd_endpoint **out, ck_err **err);
/* Frees the n endpoints of etcd_parse_endpoints; accepts NULL. */
void etcd_endpoints_free(etcd_endpoint *eps, size_t n);

/* The range_end that selects every key with prefix key[0..len): key with trailing 0xff
 * bytes dropped and the last byte incremented; "\0" (every key >= key) when nothing is
 * left. Returns the length and *out (malloc'd, free()). */
size_t etcd_prefix_end(const void *key, size_t len, uint8_t **out);

typedef struct etcd_kv {
	const uint8_t *key;
	size_t key_len;
	const uint8_t *value;
	size_t value_len;
	int64_t create_revision, mod_revision, version, lease;
} etcd_kv;

typedef struct etcd_range_result {
	int64_t revision; /* header revision of the store at the time of the read */
	const etcd_kv *kvs;
	size_t n_kvs;
	int64_t count; /* total matching keys (count_only or with limit) */
	bool more;
} etcd_range_result;

typedef struct etcd_range_req {
	const void *key;
	size_t key_len; /* 0: strlen(key) */
	bool prefix;    /* range_end = key with the last byte incremented */
	const void *range_end;
	size_t range_end_len; /* explicit end, when !prefix */
	int64_t limit;
	int64_t revision; /* 0: latest */
	bool count_only, keys_only;
} etcd_range_req;

typedef void (*etcd_range_cb)(int rc, const etcd_range_result *res, const ck_err *err, void *data);
/* Reads key, the prefix, or [key, range_end), in key order (linearizable). The request
 * is copied. rc CK_ECOMPACTED when req->revision was compacted, -ERANGE when it is in
 * the future. */
void etcd_range(etcd_client *c, const etcd_range_req *req, etcd_range_cb cb, void *data);

/* Result of writes: the new store revision (the written key's mod_revision), and for
 * deletes/conditional writes the previous kv when one existed. */
typedef struct etcd_write_result {
	int64_t revision;
	const etcd_kv *prev_kv; /* NULL when none or not asked */
	int64_t deleted;        /* for deletes */
	bool succeeded;         /* txn branch taken */
} etcd_write_result;
typedef void (*etcd_write_cb)(int rc, const etcd_write_result *res, const ck_err *err, void *data);

/* Writes key = val unconditionally (lease 0: none); res->revision is the key's new
 * mod_revision. Key and value are copied. */
void etcd_put(etcd_client *c, const void *key, size_t key_len, const void *val, size_t val_len,
              int64_t lease, etcd_write_cb cb, void *data);
/* Deletes key (or the prefix when prefix); res->deleted counts the keys. For a single
 * key res->prev_kv holds the deleted kv (NULL when it did not exist); prefix deletes do
 * not fetch previous values. */
void etcd_delete(etcd_client *c, const void *key, size_t key_len, bool prefix, etcd_write_cb cb,
                 void *data);

/* Optimistic concurrency, the basis of the apiserver's writes:
 * put only if the key's mod_revision equals expect_mod (0: the key must not exist).
 * rc is CK_ECONFLICT when the compare fails; res->prev_kv then holds the current kv
 * (NULL when the key does not exist). */
void etcd_put_if(etcd_client *c, const void *key, size_t key_len, int64_t expect_mod,
                 const void *val, size_t val_len, int64_t lease, etcd_write_cb cb, void *data);
/* Delete only if mod_revision equals expect_mod (0: any revision); CK_ECONFLICT
 * (prev_kv = current) otherwise, -ENOENT when the key does not exist. On success
 * res->prev_kv is the deleted kv and res->revision the deletion's revision. */
void etcd_delete_if(etcd_client *c, const void *key, size_t key_len, int64_t expect_mod,
                    etcd_write_cb cb, void *data);

/* A general Txn: compares on mod_revision (or create_revision == 0 via expect_mod 0 meaning
 * "absent"), then puts/deletes on success. For multi-key atomic writes. When a compare
 * fails rc is CK_ECONFLICT and res (not NULL) has succeeded false and the revision. */
typedef struct etcd_txn_op {
	enum { ETCD_OP_PUT, ETCD_OP_DELETE } type;
	const void *key;
	size_t key_len;
	const void *val;
	size_t val_len;
	int64_t lease;
} etcd_txn_op;
typedef struct etcd_txn_cmp {
	const void *key;
	size_t key_len;
	int64_t expect_mod; /* 0: key must not exist */
} etcd_txn_cmp;
void etcd_txn(etcd_client *c, const etcd_txn_cmp *cmps, size_t n_cmps, const etcd_txn_op *ops,
              size_t n_ops, etcd_write_cb cb, void *data);

/* ---- watch: one bidirectional stream per client multiplexes every watch ---- */
typedef struct etcd_watch etcd_watch;
typedef struct etcd_event {
	enum { ETCD_EVENT_PUT, ETCD_EVENT_DELETE } type;
	etcd_kv kv;             /* for DELETE: key and mod_revision (the delete revision) */
	const etcd_kv *prev_kv; /* when opts.prev_kv */
} etcd_event;
typedef struct etcd_watch_opts {
	const void *key;
	size_t key_len;
	bool prefix;
	int64_t start_revision; /* 0: from now */
	bool prev_kv;
	bool progress_notify; /* empty batches with revision only (n_events == 0) */
} etcd_watch_opts;
/* Batches of events, in revision order. revision: the mod_revision of the last event of
 * the batch; for a progress notification (n_events == 0) the revision up to which every
 * event was delivered. rc != 0 ends the watch (no more calls):
 * CK_ECOMPACTED (err says the compact revision) when start_revision was compacted,
 * -ECANCELED after etcd_watch_cancel, CK_EUNAVAILABLE when the stream broke and could not
 * be re-established from the last revision seen. The client re-creates a broken stream on
 * another member and resumes every watch from its next revision, transparently. */
typedef void (*etcd_watch_cb)(int rc, int64_t revision, const etcd_event *events, size_t n_events,
                              const ck_err *err, void *data);
/* Starts a watch (key copied). Returns 0 and *out (valid until the callback ran with
 * rc != 0), or -EINVAL. */
int etcd_watch_start(etcd_client *c, const etcd_watch_opts *opts, etcd_watch_cb cb, void *data,
                     etcd_watch **out);
/* Cancels; the callback runs once more with -ECANCELED (later, on the loop) unless the
 * watch already ended. No events are delivered after this returns. */
void etcd_watch_cancel(etcd_watch *w);

/* ---- lease ---- */
typedef void (*etcd_lease_cb)(int rc, int64_t id, int64_t ttl, const ck_err *err, void *data);
/* Grants a lease of ttl_seconds; the callback gets its id and granted ttl. */
void etcd_lease_grant(etcd_client *c, int64_t ttl_seconds, etcd_lease_cb cb, void *data);
/* One keep-alive round trip; ttl in the callback is the renewed TTL (0: lease expired). */
void etcd_lease_keepalive(etcd_client *c, int64_t id, etcd_lease_cb cb, void *data);
/* Revokes the lease (its keys are deleted); -ENOENT when it does not exist. */
void etcd_lease_revoke(etcd_client *c, int64_t id, etcd_lease_cb cb, void *data);

/* ---- maintenance ---- */
typedef void (*etcd_rev_cb)(int rc, int64_t revision, const ck_err *err, void *data);
/* Compacts history up to revision (physical: wait until the space is freed). rc is
 * CK_ECOMPACTED when revision is already compacted, -ERANGE when in the future. */
void etcd_compact(etcd_client *c, int64_t revision, bool physical, etcd_rev_cb cb, void *data);
typedef struct etcd_status_result {
	const char *version;
	int64_t db_size, leader, revision, raft_term;
	const char *endpoint;
	int64_t member_id; /* the answering member (leader == member_id: it leads) */
} etcd_status_result;
typedef void (*etcd_status_cb)(int rc, const etcd_status_result *st, const ck_err *err, void *data);
/* Status of the member the client currently talks to (endpoint = its target). */
void etcd_status(etcd_client *c, etcd_status_cb cb, void *data);

#endif
