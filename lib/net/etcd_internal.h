/* etcd_internal: what the parts of the etcd client share (not a public header).
 *
 *   etcd.c        endpoints, the client, deferred callbacks, unary requests with failover
 *                 across the members, status, teardown
 *   etcd_kv.c     the KV calls: range, put, delete, conditional writes, txn, compact
 *   etcd_lease.c  lease grant, revoke and keep-alive
 *   etcd_watch.c  the one Watch stream that multiplexes every watch of a client
 *
 * Names shared between these files carry the prefix etcd__. */
#ifndef CK_NET_ETCD_INTERNAL_H
#define CK_NET_ETCD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "etcd/rpc.pb-c.h"
#include "net/etcd.h"
#include "net/grpc.h"

#define ETCD_NS_PER_MS 1000000ull

/* ---- small helpers ---- */

/* A key length of 0 means strlen(key) (see etcd.h). */
static inline size_t etcd__key_len(const void *key, size_t len)
{
	return len ? len : (key ? strlen(key) : 0);
}

static inline ProtobufCBinaryData etcd__bin(const void *p, size_t len)
{
	return (ProtobufCBinaryData){len, (uint8_t *)p};
}

/* The kv borrows kv's bytes. */
static inline void etcd__kv_from_pb(etcd_kv *out, const Mvccpb__KeyValue *kv)
{
	*out = (etcd_kv){
	    .key = kv->key.data,
	    .key_len = kv->key.len,
	    .value = kv->value.data,
	    .value_len = kv->value.len,
	    .create_revision = kv->create_revision,
	    .mod_revision = kv->mod_revision,
	    .version = kv->version,
	    .lease = kv->lease,
	};
}

static inline int64_t etcd__header_rev(const Etcdserverpb__ResponseHeader *h)
{
	return h ? h->revision : 0;
}

/* ---- types ---- */

struct etcd__deferred;
struct etcd__req;

struct etcd_watch {
	etcd_client *c;
	etcd_watch *prev, *next;
	int64_t id;
	uint8_t *key, *end;
	size_t key_len, end_len;
	bool prev_kv, progress_notify;
	int64_t next_rev; /* where a re-created watch starts; 0: not known yet */
	bool created;     /* the create request went out on the current stream */
	bool ended;
	int end_rc;
	ck_err *end_err;
	etcd_watch_cb cb;
	void *data;
};

struct etcd_client {
	uv_loop_t *loop;
	ckgrpc_loop *gl;
	etcd_endpoint *eps;
	ckgrpc_channel **chs;
	size_t n_eps, cur;
	int timeout_ms;
	bool closing;
	int open_handles;

	uv_timer_t defer_timer;
	struct etcd__deferred *defer_head, **defer_tail;

	struct etcd__req *reqs; /* every request not yet answered */

	/* the watch stream (etcd_watch.c) */
	ckgrpc_stream *ws;
	size_t ws_ep;
	bool ws_answered; /* a response came on the current stream */
	int ws_failures;  /* streams broken in a row without an answer */
	uint64_t ws_broken_since;
	uv_timer_t ws_timer;
	etcd_watch watches; /* list head */
	int64_t next_watch_id;
};

/* A unary request: serialized once, sent to the current member, sent again to the next
 * one on UNAVAILABLE when its retry policy allows. */
typedef void (*etcd__req_done_fn)(struct etcd__req *r, int rc, const ProtobufCMessage *resp,
                                  const ck_err *err);

enum etcd__retry {
	ETCD__RETRY_SAFE,   /* repeatable: retry on any UNAVAILABLE */
	ETCD__RETRY_UNSENT, /* retry only when it cannot have reached a server */
};

struct etcd__req {
	struct etcd__req *prev, *next;
	etcd_client *c;
	const char *method;
	const ProtobufCMessageDescriptor *resp_desc;
	uint8_t *body;
	size_t body_len;
	enum etcd__retry retry;
	size_t ep;
	int attempts;
	uint64_t deadline;
	ckgrpc_call *call;   /* in flight */
	uv_timer_t *backoff; /* waiting to retry */
	int fail_rc;         /* failed before sending: reported from a deferred call */
	ck_err *fail_err;
	etcd__req_done_fn done;
	union {
		etcd_range_cb range;
		etcd_write_cb write;
		etcd_lease_cb lease;
		etcd_rev_cb rev;
		etcd_status_cb status;
	} cb;
	void *data;
	int64_t aux; /* per kind: expected revision, lease id */
};

/* ---- shared between the files ---- */

/* etcd.c */
/* Runs fn(arg) from the loop, soon (never from inside the calling API function). */
void etcd__defer(etcd_client *c, void (*fn)(void *), void *arg);
/* A request sending msg as method; done runs with the response, once, then the request is
 * freed. The caller sets r->cb (and r->aux), then calls etcd__req_attempt. */
struct etcd__req *etcd__req_start(etcd_client *c, const char *method, const ProtobufCMessage *msg,
                                  const ProtobufCMessageDescriptor *resp_desc,
                                  enum etcd__retry retry, etcd__req_done_fn done, void *data);
/* Sends r to the current member (or fails it, deferred, when closing or past its
 * deadline). */
void etcd__req_attempt(struct etcd__req *r);

/* etcd_watch.c */
/* Ends every watch (-ECANCELED) and cancels the stream: the client is closing. */
void etcd__watch_close_all(etcd_client *c);

#endif
