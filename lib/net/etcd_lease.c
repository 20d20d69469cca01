/* etcd_lease: leases (see etcd.h, etcd_internal.h). Grant and revoke are unary
 * requests; a keep-alive is a LeaseKeepAlive stream carrying one request and one
 * response, opened again on the next member when the current one is unavailable. */
#include <stdlib.h>

#include "net/etcd_internal.h"

static void lease_grant_done(struct etcd__req *r, int rc, const ProtobufCMessage *msg,
                             const ck_err *err)
{
	if (rc < 0) {
		r->cb.lease(rc, 0, 0, err, r->data);
		return;
	}
	const Etcdserverpb__LeaseGrantResponse *resp =
	    (const Etcdserverpb__LeaseGrantResponse *)msg;
	if (resp->error && *resp->error) {
		_cleanup_err_ ck_err *e = NULL;
		ck_err_set(&e, -EIO, "etcd lease grant: %s", resp->error);
		r->cb.lease(-EIO, 0, 0, e, r->data);
		return;
	}
	r->cb.lease(0, resp->id, resp->ttl, NULL, r->data);
}

void etcd_lease_grant(etcd_client *c, int64_t ttl_seconds, etcd_lease_cb cb, void *data)
{
	Etcdserverpb__LeaseGrantRequest req = ETCDSERVERPB__LEASE_GRANT_REQUEST__INIT;
	req.ttl = ttl_seconds;
	struct etcd__req *r = etcd__req_start(c, "/etcdserverpb.Lease/LeaseGrant", &req.base,
	                                      &etcdserverpb__lease_grant_response__descriptor,
	                                      ETCD__RETRY_SAFE, lease_grant_done, data);
	r->cb.lease = cb;
	etcd__req_attempt(r);
}

static void lease_revoke_done(struct etcd__req *r, int rc, const ProtobufCMessage *msg,
                              const ck_err *err)
{
	r->cb.lease(rc, r->aux, 0, err, r->data);
}

void etcd_lease_revoke(etcd_client *c, int64_t id, etcd_lease_cb cb, void *data)
{
	Etcdserverpb__LeaseRevokeRequest req = ETCDSERVERPB__LEASE_REVOKE_REQUEST__INIT;
	req.id = id;
	struct etcd__req *r = etcd__req_start(c, "/etcdserverpb.Lease/LeaseRevoke", &req.base,
	                                      &etcdserverpb__lease_revoke_response__descriptor,
	                                      ETCD__RETRY_SAFE, lease_revoke_done, data);
	r->cb.lease = cb;
	r->aux = id;
	etcd__req_attempt(r);
}

/* One keep-alive: a LeaseKeepAlive stream carrying one request and one response. */
struct keepalive {
	etcd_client *c;
	int64_t id;
	etcd_lease_cb cb;
	void *data;
	ckgrpc_stream *s;
	bool answered;
	int attempts;
	uint64_t deadline;
	int fail_rc;
	ck_err *fail_err;
};

static void keepalive_attempt(struct keepalive *k);

static void keepalive_fail_deferred(void *arg)
{
	struct keepalive *k = arg;
	k->cb(k->fail_rc, k->id, 0, k->fail_err, k->data);
	ck_err_free(k->fail_err);
	free(k);
}

static void keepalive_on_message(ckgrpc_stream *s, const ProtobufCMessage *msg, void *data)
{
	struct keepalive *k = data;
	if (k->answered)
		return;
	k->answered = true;
	const Etcdserverpb__LeaseKeepAliveResponse *resp =
	    (const Etcdserverpb__LeaseKeepAliveResponse *)msg;
	k->cb(0, k->id, resp->ttl > 0 ? resp->ttl : 0, NULL, k->data);
	/* etcd keeps the stream open after a half-close: end it here. */
	ckgrpc_stream_cancel(s);
}

static void keepalive_on_close(ckgrpc_stream *s, int rc, const ck_err *err, void *data)
{
	struct keepalive *k = data;
	etcd_client *c = k->c;
	if (!k->answered) {
		if (rc == CK_EUNAVAILABLE && !c->closing) {
			if (c->n_eps > 1)
				c->cur = (c->cur + 1) % c->n_eps;
			if ((size_t)k->attempts < c->n_eps + 1 && uv_hrtime() < k->deadline) {
				keepalive_attempt(k);
				return;
			}
		}
		_cleanup_err_ ck_err *e = NULL;
		if (rc == 0)
			rc = ck_err_set(&e, CK_EPROTO, "etcd lease keepalive: no answer");
		k->cb(rc, k->id, 0, err ? err : e, k->data);
	}
	free(k);
}

static const ckgrpc_stream_ops keepalive_ops = {
    .resp_desc = &etcdserverpb__lease_keep_alive_response__descriptor,
    .on_message = keepalive_on_message,
    .on_close = keepalive_on_close,
};

static void keepalive_attempt(struct keepalive *k)
{
	etcd_client *c = k->c;
	if (c->closing) {
		k->fail_rc =
		    ck_err_set(&k->fail_err, -ECANCELED, "etcd lease keepalive: cancelled");
		etcd__defer(c, keepalive_fail_deferred, k);
		return;
	}
	k->attempts++;
	uint64_t now = uv_hrtime();
	int left = now < k->deadline ? (int)((k->deadline - now) / ETCD_NS_PER_MS) + 1 : 1;
	int rc = ckgrpc_stream_open(c->gl, c->chs[c->cur], "/etcdserverpb.Lease/LeaseKeepAlive",
	                            left, &keepalive_ops, k, &k->s, &k->fail_err);
	if (rc < 0) {
		k->fail_rc = rc;
		etcd__defer(c, keepalive_fail_deferred, k);
		return;
	}
	Etcdserverpb__LeaseKeepAliveRequest req = ETCDSERVERPB__LEASE_KEEP_ALIVE_REQUEST__INIT;
	req.id = k->id;
	ckgrpc_stream_send(k->s, &req.base);
	ckgrpc_stream_close_send(k->s);
}

void etcd_lease_keepalive(etcd_client *c, int64_t id, etcd_lease_cb cb, void *data)
{
	struct keepalive *k = ck_calloc(1, sizeof(*k));
	k->c = c;
	k->id = id;
	k->cb = cb;
	k->data = data;
	k->deadline = uv_hrtime() + (uint64_t)c->timeout_ms * ETCD_NS_PER_MS;
	keepalive_attempt(k);
}
