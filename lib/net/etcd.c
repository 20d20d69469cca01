/* etcd: the etcd v3 client (see etcd.h).
 *
 * Unary requests are serialized once (struct req) and sent to the current member;
 * an UNAVAILABLE answer moves the client to the next member and, when the request may
 * be repeated, sends it again there within its deadline (a short pause after each full
 * round over the members, so that an election can finish). Watches share one
 * bidirectional Watch stream; when the stream breaks it is re-opened on the next member
 * and every watch re-created from the revision after the last one it delivered. */
#include "net/etcd.h"

#include <stdlib.h>
#include <string.h>

#include "etcd/rpc.pb-c.h"
#include "net/grpc.h"

#define ETCD_DEFAULT_TIMEOUT_MS 5000
#define ETCD_KEEPALIVE_MS       10000
#define NS_PER_MS               1000000ull

/* ---- pure helpers ---- */

void etcd_endpoints_free(etcd_endpoint *eps, size_t n)
{
	if (!eps)
		return;
	for (size_t i = 0; i < n; i++)
		free(eps[i].target);
	free(eps);
}

int etcd_parse_endpoints(const char *s, etcd_endpoint **out, ck_err **err)
{
	etcd_endpoint *eps = NULL;
	size_t n = 0;
	const char *p = s ? s : "";
	while (*p) {
		const char *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		const char *a = p, *b = end;
		p = *end ? end + 1 : end;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (a == b)
			continue;
		_cleanup_free_ char *entry = ck_strndup(a, (size_t)(b - a));
		bool tls = false;
		char *target;
		if (strncmp(entry, "unix:", 5) == 0) {
			target = ck_strdup(entry);
		} else {
			const char *hp = entry;
			if (strncmp(hp, "http://", 7) == 0) {
				hp += 7;
			} else if (strncmp(hp, "https://", 8) == 0) {
				hp += 8;
				tls = true;
			} else if (strstr(hp, "://")) {
				etcd_endpoints_free(eps, n);
				return ck_err_set(err, -EINVAL, "etcd endpoint %s: unknown scheme",
				                  entry);
			}
			size_t len = strlen(hp);
			if (len > 0 && hp[len - 1] == '/')
				len--;
			const char *colon = memchr(hp, ':', len);
			const char *rcolon = colon;
			for (const char *q = hp; q < hp + len; q++)
				if (*q == ':')
					rcolon = q;
			if (len == 0 || !colon || rcolon == hp || rcolon + 1 == hp + len ||
			    memchr(hp, '/', len)) {
				etcd_endpoints_free(eps, n);
				return ck_err_set(err, -EINVAL,
				                  "etcd endpoint %s: want [http[s]://]host:port",
				                  entry);
			}
			for (const char *q = rcolon + 1; q < hp + len; q++) {
				if (*q < '0' || *q > '9') {
					etcd_endpoints_free(eps, n);
					return ck_err_set(err, -EINVAL,
					                  "etcd endpoint %s: bad port", entry);
				}
			}
			target = ck_strndup(hp, len);
		}
		eps = ck_realloc(eps, (n + 1) * sizeof(*eps));
		eps[n++] = (etcd_endpoint){.target = target, .tls = tls};
	}
	if (n == 0)
		return ck_err_set(err, -EINVAL, "etcd: no endpoint in \"%s\"", s ? s : "");
	*out = eps;
	return (int)n;
}

size_t etcd_prefix_end(const void *key, size_t len, uint8_t **out)
{
	const uint8_t *k = key;
	while (len > 0 && k[len - 1] == 0xff)
		len--;
	if (len == 0) {
		*out = ck_calloc(1, 1);
		return 1;
	}
	uint8_t *end = ck_malloc(len);
	memcpy(end, k, len);
	end[len - 1]++;
	*out = end;
	return len;
}

static size_t key_len_of(const void *key, size_t len)
{
	return len ? len : (key ? strlen(key) : 0);
}

static ProtobufCBinaryData bin(const void *p, size_t len)
{
	return (ProtobufCBinaryData){len, (uint8_t *)p};
}

static void kv_from_pb(etcd_kv *out, const Mvccpb__KeyValue *kv)
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

static int64_t header_rev(const Etcdserverpb__ResponseHeader *h)
{
	return h ? h->revision : 0;
}

/* ---- the client ---- */

struct deferred {
	struct deferred *next;
	void (*fn)(void *arg);
	void *arg;
};

struct req;

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
	struct deferred *defer_head, **defer_tail;

	struct req *reqs; /* every request not yet answered */

	/* the watch stream */
	ckgrpc_stream *ws;
	size_t ws_ep;
	bool ws_answered; /* a response came on the current stream */
	int ws_failures;  /* streams broken in a row without an answer */
	uint64_t ws_broken_since;
	uv_timer_t ws_timer;
	etcd_watch watches; /* list head */
	int64_t next_watch_id;
};

static void defer(etcd_client *c, void (*fn)(void *), void *arg);

static void on_handle_closed(uv_handle_t *h)
{
	etcd_client *c = h->data;
	if (--c->open_handles == 0)
		free(c);
}

static void run_deferred(etcd_client *c)
{
	while (c->defer_head) {
		struct deferred *d = c->defer_head;
		c->defer_head = NULL;
		c->defer_tail = &c->defer_head;
		while (d) {
			struct deferred *next = d->next;
			d->fn(d->arg);
			free(d);
			d = next;
		}
	}
}

static void on_defer_timer(uv_timer_t *t)
{
	run_deferred(t->data);
}

static void defer(etcd_client *c, void (*fn)(void *), void *arg)
{
	struct deferred *d = ck_calloc(1, sizeof(*d));
	d->fn = fn;
	d->arg = arg;
	*c->defer_tail = d;
	c->defer_tail = &d->next;
	if (!c->closing && !uv_is_active((uv_handle_t *)&c->defer_timer))
		uv_timer_start(&c->defer_timer, on_defer_timer, 0, 0);
}

int etcd_client_new(uv_loop_t *loop, const etcd_client_opts *opts, etcd_client **out, ck_err **err)
{
	etcd_endpoint *eps = NULL;
	int n = etcd_parse_endpoints(opts->endpoints, &eps, err);
	if (n < 0)
		return n;
	etcd_client *c = ck_calloc(1, sizeof(*c));
	c->loop = loop;
	c->eps = eps;
	c->n_eps = (size_t)n;
	c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : ETCD_DEFAULT_TIMEOUT_MS;
	c->defer_tail = &c->defer_head;
	c->watches.next = c->watches.prev = &c->watches;
	c->next_watch_id = 1;
	c->chs = ck_calloc(c->n_eps, sizeof(*c->chs));
	int r = 0;
	for (size_t i = 0; i < c->n_eps && r == 0; i++) {
		ckgrpc_channel_opts co = {.keepalive_ms = ETCD_KEEPALIVE_MS};
		if (eps[i].tls || opts->ca_file || opts->cert_file) {
			co.tls = true;
			co.ca_file = opts->ca_file;
			co.cert_file = opts->cert_file;
			co.key_file = opts->key_file;
		}
		r = ckgrpc_channel_new(eps[i].target, &co, &c->chs[i], err);
	}
	if (r == 0)
		r = ckgrpc_loop_new(loop, &c->gl, err);
	if (r < 0) {
		for (size_t i = 0; i < c->n_eps; i++)
			ckgrpc_channel_free(c->chs[i]);
		free(c->chs);
		etcd_endpoints_free(c->eps, c->n_eps);
		free(c);
		return ck_err_wrap(err, r, "etcd client");
	}
	uv_timer_init(loop, &c->defer_timer);
	uv_timer_init(loop, &c->ws_timer);
	c->defer_timer.data = c->ws_timer.data = c;
	c->open_handles = 2;
	*out = c;
	return 0;
}

/* ---- unary requests ---- */

typedef void (*req_done_fn)(struct req *r, int rc, const ProtobufCMessage *resp, const ck_err *err);

enum req_retry {
	RETRY_SAFE,   /* repeatable: retry on any UNAVAILABLE */
	RETRY_UNSENT, /* retry only when it cannot have reached a server */
};

struct req {
	struct req *prev, *next;
	etcd_client *c;
	const char *method;
	const ProtobufCMessageDescriptor *resp_desc;
	uint8_t *body;
	size_t body_len;
	enum req_retry retry;
	size_t ep;
	int attempts;
	uint64_t deadline;
	ckgrpc_call *call;   /* in flight */
	uv_timer_t *backoff; /* waiting to retry */
	int fail_rc;         /* failed before sending: reported from a deferred call */
	ck_err *fail_err;
	req_done_fn done;
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

static void req_attempt(struct req *r);

static void free_timer(uv_handle_t *h)
{
	free(h);
}

static void req_free(struct req *r)
{
	etcd_client *c = r->c;
	if (r->prev)
		r->prev->next = r->next;
	else if (c->reqs == r)
		c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	if (r->backoff)
		uv_close((uv_handle_t *)r->backoff, free_timer);
	ck_err_free(r->fail_err);
	free(r->body);
	free(r);
}

static void req_finish(struct req *r, int rc, const ProtobufCMessage *resp, const ck_err *err)
{
	_cleanup_err_ ck_err *mapped = NULL;
	/* etcd reports compaction as OUT_OF_RANGE "mvcc: required revision has been
	 * compacted". */
	if (rc == -ERANGE && err && strstr(err->msg, "compacted")) {
		rc = ck_err_set(&mapped, CK_ECOMPACTED, "%s", err->msg);
		err = mapped;
	}
	r->done(r, rc, rc == 0 ? resp : NULL, err);
	req_free(r);
}

static void req_fail_deferred(void *arg)
{
	struct req *r = arg;
	req_finish(r, r->fail_rc, NULL, r->fail_err);
}

static bool unsent(const ck_err *err)
{
	return err &&
	       (strstr(err->msg, "failed to connect") || strstr(err->msg, "no ready subchannel") ||
	        strstr(err->msg, "connections to all backends failing"));
}

static void on_backoff(uv_timer_t *t)
{
	struct req *r = t->data;
	uv_close((uv_handle_t *)r->backoff, free_timer);
	r->backoff = NULL;
	req_attempt(r);
}

static void on_reply(int rc, const ProtobufCMessage *resp, const ck_err *err, void *data)
{
	struct req *r = data;
	etcd_client *c = r->c;
	r->call = NULL;
	if (rc == CK_EUNAVAILABLE && !c->closing) {
		if (c->n_eps > 1 && c->cur == r->ep)
			c->cur = (c->cur + 1) % c->n_eps;
		bool may = r->retry == RETRY_SAFE || unsent(err);
		size_t max_attempts = 3 * (c->n_eps > 1 ? c->n_eps : 2);
		uint64_t now = uv_hrtime();
		if (may && (size_t)r->attempts < max_attempts &&
		    now + 50 * NS_PER_MS < r->deadline) {
			if (r->attempts % (int)c->n_eps != 0) {
				req_attempt(r);
				return;
			}
			/* A full round failed: give an election time to finish. */
			uint64_t pause = 100u * (uint64_t)(r->attempts / (int)c->n_eps);
			r->backoff = ck_malloc(sizeof(*r->backoff));
			uv_timer_init(c->loop, r->backoff);
			r->backoff->data = r;
			uv_timer_start(r->backoff, on_backoff, pause > 500 ? 500 : pause, 0);
			return;
		}
	}
	req_finish(r, rc, resp, err);
}

static void req_attempt(struct req *r)
{
	etcd_client *c = r->c;
	uint64_t now = uv_hrtime();
	if (c->closing || now >= r->deadline) {
		r->fail_rc = c->closing ? ck_err_set(&r->fail_err, -ECANCELED, "etcd %s: cancelled",
		                                     r->method)
		                        : ck_err_set(&r->fail_err, -ETIMEDOUT,
		                                     "etcd %s: deadline exceeded", r->method);
		defer(c, req_fail_deferred, r);
		return;
	}
	r->ep = c->cur;
	r->attempts++;
	int left = (int)((r->deadline - now) / NS_PER_MS) + 1;
	int rc = ckgrpc_unary_bytes(c->gl, c->chs[r->ep], r->method, r->body, r->body_len,
	                            r->resp_desc, left, on_reply, r, &r->call, &r->fail_err);
	if (rc < 0) {
		r->fail_rc = rc;
		defer(c, req_fail_deferred, r);
	}
}

/* Sends msg as method; done runs with the response (then the request is freed). */
static struct req *req_start(etcd_client *c, const char *method, const ProtobufCMessage *msg,
                             const ProtobufCMessageDescriptor *resp_desc, enum req_retry retry,
                             req_done_fn done, void *data)
{
	struct req *r = ck_calloc(1, sizeof(*r));
	r->c = c;
	r->method = method;
	r->resp_desc = resp_desc;
	r->retry = retry;
	r->done = done;
	r->data = data;
	r->body_len = protobuf_c_message_get_packed_size(msg);
	r->body = ck_malloc(r->body_len);
	protobuf_c_message_pack(msg, r->body);
	r->deadline = uv_hrtime() + (uint64_t)c->timeout_ms * NS_PER_MS;
	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	return r;
}

/* ---- range ---- */

static void range_done(struct req *r, int rc, const ProtobufCMessage *msg, const ck_err *err)
{
	if (rc < 0) {
		r->cb.range(rc, NULL, err, r->data);
		return;
	}
	const Etcdserverpb__RangeResponse *resp = (const Etcdserverpb__RangeResponse *)msg;
	_cleanup_free_ etcd_kv *kvs = ck_calloc(resp->n_kvs, sizeof(*kvs));
	for (size_t i = 0; i < resp->n_kvs; i++)
		kv_from_pb(&kvs[i], resp->kvs[i]);
	etcd_range_result res = {
	    .revision = header_rev(resp->header),
	    .kvs = kvs,
	    .n_kvs = resp->n_kvs,
	    .count = resp->count,
	    .more = resp->more,
	};
	r->cb.range(0, &res, NULL, r->data);
}

void etcd_range(etcd_client *c, const etcd_range_req *q, etcd_range_cb cb, void *data)
{
	Etcdserverpb__RangeRequest req = ETCDSERVERPB__RANGE_REQUEST__INIT;
	size_t klen = key_len_of(q->key, q->key_len);
	_cleanup_free_ uint8_t *end = NULL;
	req.key = bin(q->key, klen);
	if (q->prefix)
		req.range_end.len = etcd_prefix_end(q->key, klen, &end), req.range_end.data = end;
	else if (q->range_end)
		req.range_end = bin(q->range_end, key_len_of(q->range_end, q->range_end_len));
	req.limit = q->limit;
	req.revision = q->revision;
	req.count_only = q->count_only;
	req.keys_only = q->keys_only;
	struct req *r =
	    req_start(c, "/etcdserverpb.KV/Range", &req.base,
	              &etcdserverpb__range_response__descriptor, RETRY_SAFE, range_done, data);
	r->cb.range = cb;
	req_attempt(r);
}

/* ---- writes ---- */

static void write_fail(struct req *r, int rc, const ck_err *err)
{
	r->cb.write(rc, NULL, err, r->data);
}

static void put_done(struct req *r, int rc, const ProtobufCMessage *msg, const ck_err *err)
{
	if (rc < 0)
		return write_fail(r, rc, err);
	const Etcdserverpb__PutResponse *resp = (const Etcdserverpb__PutResponse *)msg;
	etcd_write_result res = {.revision = header_rev(resp->header), .succeeded = true};
	r->cb.write(0, &res, NULL, r->data);
}

void etcd_put(etcd_client *c, const void *key, size_t key_len, const void *val, size_t val_len,
              int64_t lease, etcd_write_cb cb, void *data)
{
	Etcdserverpb__PutRequest req = ETCDSERVERPB__PUT_REQUEST__INIT;
	req.key = bin(key, key_len_of(key, key_len));
	req.value = bin(val, val_len);
	req.lease = lease;
	struct req *r =
	    req_start(c, "/etcdserverpb.KV/Put", &req.base, &etcdserverpb__put_response__descriptor,
	              RETRY_UNSENT, put_done, data);
	r->cb.write = cb;
	req_attempt(r);
}

static void delete_done(struct req *r, int rc, const ProtobufCMessage *msg, const ck_err *err)
{
	if (rc < 0)
		return write_fail(r, rc, err);
	const Etcdserverpb__DeleteRangeResponse *resp =
	    (const Etcdserverpb__DeleteRangeResponse *)msg;
	etcd_kv prev;
	etcd_write_result res = {
	    .revision = header_rev(resp->header),
	    .deleted = resp->deleted,
	    .succeeded = true,
	};
	if (resp->n_prev_kvs > 0) {
		kv_from_pb(&prev, resp->prev_kvs[0]);
		res.prev_kv = &prev;
	}
	r->cb.write(0, &res, NULL, r->data);
}

void etcd_delete(etcd_client *c, const void *key, size_t key_len, bool prefix, etcd_write_cb cb,
                 void *data)
{
	Etcdserverpb__DeleteRangeRequest req = ETCDSERVERPB__DELETE_RANGE_REQUEST__INIT;
	size_t klen = key_len_of(key, key_len);
	_cleanup_free_ uint8_t *end = NULL;
	req.key = bin(key, klen);
	if (prefix)
		req.range_end.len = etcd_prefix_end(key, klen, &end), req.range_end.data = end;
	/* The previous value is returned for single keys only: a prefix may be large. */
	req.prev_kv = !prefix;
	struct req *r = req_start(c, "/etcdserverpb.KV/DeleteRange", &req.base,
	                          &etcdserverpb__delete_range_response__descriptor, RETRY_UNSENT,
	                          delete_done, data);
	r->cb.write = cb;
	req_attempt(r);
}

/* compare for "mod_revision == expect" (expect > 0), "absent" (expect 0), or, with
 * exists, "present" (expect 0). */
static void cmp_init(Etcdserverpb__Compare *cmp, const void *key, size_t klen, int64_t expect,
                     bool exists)
{
	etcdserverpb__compare__init(cmp);
	cmp->key = bin(key, klen);
	if (expect > 0) {
		cmp->target = ETCDSERVERPB__COMPARE__COMPARE_TARGET__MOD;
		cmp->result = ETCDSERVERPB__COMPARE__COMPARE_RESULT__EQUAL;
		cmp->target_union_case = ETCDSERVERPB__COMPARE__TARGET_UNION_MOD_REVISION;
		cmp->mod_revision = expect;
	} else {
		cmp->target = ETCDSERVERPB__COMPARE__COMPARE_TARGET__CREATE;
		cmp->result = exists ? ETCDSERVERPB__COMPARE__COMPARE_RESULT__GREATER
		                     : ETCDSERVERPB__COMPARE__COMPARE_RESULT__EQUAL;
		cmp->target_union_case = ETCDSERVERPB__COMPARE__TARGET_UNION_CREATE_REVISION;
		cmp->create_revision = 0;
	}
}

/* The kv a failure branch read back (responses[0] is a range), or NULL. */
static const Mvccpb__KeyValue *txn_read_back(const Etcdserverpb__TxnResponse *resp)
{
	if (resp->n_responses < 1 ||
	    resp->responses[0]->response_case != ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_RANGE)
		return NULL;
	const Etcdserverpb__RangeResponse *rr = resp->responses[0]->response_range;
	return rr->n_kvs > 0 ? rr->kvs[0] : NULL;
}

static void put_if_done(struct req *r, int rc, const ProtobufCMessage *msg, const ck_err *err)
{
	if (rc < 0)
		return write_fail(r, rc, err);
	const Etcdserverpb__TxnResponse *resp = (const Etcdserverpb__TxnResponse *)msg;
	etcd_write_result res = {.revision = header_rev(resp->header),
	                         .succeeded = resp->succeeded};
	if (resp->succeeded) {
		r->cb.write(0, &res, NULL, r->data);
		return;
	}
	etcd_kv cur;
	const Mvccpb__KeyValue *kv = txn_read_back(resp);
	if (kv) {
		kv_from_pb(&cur, kv);
		res.prev_kv = &cur;
	}
	_cleanup_err_ ck_err *e = NULL;
	ck_err_set(&e, CK_ECONFLICT, "etcd: conflict: key has mod_revision %lld, expected %lld",
	           (long long)(kv ? kv->mod_revision : 0), (long long)r->aux);
	r->cb.write(CK_ECONFLICT, &res, e, r->data);
}

/* A Txn guarded by one compare on key: op when it holds, else a read of the key, so that a
 * failed compare reports the current kv. Shared by etcd_put_if and etcd_delete_if. */
static void txn_guarded(etcd_client *c, const void *key, size_t klen, int64_t expect_mod,
                        bool must_exist, Etcdserverpb__RequestOp *op, req_done_fn done,
                        etcd_write_cb cb, void *data)
{
	Etcdserverpb__Compare cmp;
	cmp_init(&cmp, key, klen, expect_mod, must_exist);
	Etcdserverpb__Compare *cmps[] = {&cmp};
	Etcdserverpb__RequestOp *success[] = {op};
	Etcdserverpb__RangeRequest get = ETCDSERVERPB__RANGE_REQUEST__INIT;
	get.key = bin(key, klen);
	Etcdserverpb__RequestOp get_op = ETCDSERVERPB__REQUEST_OP__INIT;
	get_op.request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_RANGE;
	get_op.request_range = &get;
	Etcdserverpb__RequestOp *failure[] = {&get_op};
	Etcdserverpb__TxnRequest txn = ETCDSERVERPB__TXN_REQUEST__INIT;
	txn.n_compare = 1;
	txn.compare = cmps;
	txn.n_success = 1;
	txn.success = success;
	txn.n_failure = 1;
	txn.failure = failure;
	struct req *r = req_start(c, "/etcdserverpb.KV/Txn", &txn.base,
	                          &etcdserverpb__txn_response__descriptor, RETRY_SAFE, done, data);
	r->cb.write = cb;
	r->aux = expect_mod;
	req_attempt(r);
}

void etcd_put_if(etcd_client *c, const void *key, size_t key_len, int64_t expect_mod,
                 const void *val, size_t val_len, int64_t lease, etcd_write_cb cb, void *data)
{
	size_t klen = key_len_of(key, key_len);
	Etcdserverpb__PutRequest put = ETCDSERVERPB__PUT_REQUEST__INIT;
	put.key = bin(key, klen);
	put.value = bin(val, val_len);
	put.lease = lease;
	Etcdserverpb__RequestOp put_op = ETCDSERVERPB__REQUEST_OP__INIT;
	put_op.request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT;
	put_op.request_put = &put;
	txn_guarded(c, key, klen, expect_mod, false, &put_op, put_if_done, cb, data);
}

static void delete_if_done(struct req *r, int rc, const ProtobufCMessage *msg, const ck_err *err)
{
	if (rc < 0)
		return write_fail(r, rc, err);
	const Etcdserverpb__TxnResponse *resp = (const Etcdserverpb__TxnResponse *)msg;
	etcd_write_result res = {.revision = header_rev(resp->header),
	                         .succeeded = resp->succeeded};
	etcd_kv kvbuf;
	if (resp->succeeded) {
		if (resp->n_responses > 0 &&
		    resp->responses[0]->response_case ==
		        ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_DELETE_RANGE) {
			const Etcdserverpb__DeleteRangeResponse *d =
			    resp->responses[0]->response_delete_range;
			res.deleted = d->deleted;
			if (d->n_prev_kvs > 0) {
				kv_from_pb(&kvbuf, d->prev_kvs[0]);
				res.prev_kv = &kvbuf;
			}
		}
		r->cb.write(0, &res, NULL, r->data);
		return;
	}
	const Mvccpb__KeyValue *kv = txn_read_back(resp);
	_cleanup_err_ ck_err *e = NULL;
	if (!kv) {
		ck_err_set(&e, -ENOENT, "etcd: key not found");
		r->cb.write(-ENOENT, &res, e, r->data);
		return;
	}
	kv_from_pb(&kvbuf, kv);
	res.prev_kv = &kvbuf;
	ck_err_set(&e, CK_ECONFLICT, "etcd: conflict: key has mod_revision %lld, expected %lld",
	           (long long)kv->mod_revision, (long long)r->aux);
	r->cb.write(CK_ECONFLICT, &res, e, r->data);
}

void etcd_delete_if(etcd_client *c, const void *key, size_t key_len, int64_t expect_mod,
                    etcd_write_cb cb, void *data)
{
	size_t klen = key_len_of(key, key_len);
	Etcdserverpb__DeleteRangeRequest del = ETCDSERVERPB__DELETE_RANGE_REQUEST__INIT;
	del.key = bin(key, klen);
	del.prev_kv = true;
	Etcdserverpb__RequestOp del_op = ETCDSERVERPB__REQUEST_OP__INIT;
	del_op.request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_DELETE_RANGE;
	del_op.request_delete_range = &del;
	txn_guarded(c, key, klen, expect_mod, true, &del_op, delete_if_done, cb, data);
}

static void txn_done(struct req *r, int rc, const ProtobufCMessage *msg, const ck_err *err)
{
	if (rc < 0)
		return write_fail(r, rc, err);
	const Etcdserverpb__TxnResponse *resp = (const Etcdserverpb__TxnResponse *)msg;
	etcd_write_result res = {.revision = header_rev(resp->header),
	                         .succeeded = resp->succeeded};
	if (resp->succeeded) {
		r->cb.write(0, &res, NULL, r->data);
		return;
	}
	_cleanup_err_ ck_err *e = NULL;
	ck_err_set(&e, CK_ECONFLICT, "etcd: conflict: a txn compare failed");
	r->cb.write(CK_ECONFLICT, &res, e, r->data);
}

void etcd_txn(etcd_client *c, const etcd_txn_cmp *cmps, size_t n_cmps, const etcd_txn_op *ops,
              size_t n_ops, etcd_write_cb cb, void *data)
{
	_cleanup_free_ Etcdserverpb__Compare *cmp = ck_calloc(n_cmps, sizeof(*cmp));
	_cleanup_free_ Etcdserverpb__Compare **cmpp = ck_calloc(n_cmps, sizeof(*cmpp));
	for (size_t i = 0; i < n_cmps; i++) {
		cmp_init(&cmp[i], cmps[i].key, key_len_of(cmps[i].key, cmps[i].key_len),
		         cmps[i].expect_mod, false);
		cmpp[i] = &cmp[i];
	}
	_cleanup_free_ Etcdserverpb__RequestOp *op = ck_calloc(n_ops, sizeof(*op));
	_cleanup_free_ Etcdserverpb__RequestOp **opp = ck_calloc(n_ops, sizeof(*opp));
	_cleanup_free_ Etcdserverpb__PutRequest *puts = ck_calloc(n_ops, sizeof(*puts));
	_cleanup_free_ Etcdserverpb__DeleteRangeRequest *dels = ck_calloc(n_ops, sizeof(*dels));
	for (size_t i = 0; i < n_ops; i++) {
		etcdserverpb__request_op__init(&op[i]);
		ProtobufCBinaryData k = bin(ops[i].key, key_len_of(ops[i].key, ops[i].key_len));
		if (ops[i].type == ETCD_OP_PUT) {
			etcdserverpb__put_request__init(&puts[i]);
			puts[i].key = k;
			puts[i].value = bin(ops[i].val, ops[i].val_len);
			puts[i].lease = ops[i].lease;
			op[i].request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT;
			op[i].request_put = &puts[i];
		} else {
			etcdserverpb__delete_range_request__init(&dels[i]);
			dels[i].key = k;
			op[i].request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_DELETE_RANGE;
			op[i].request_delete_range = &dels[i];
		}
		opp[i] = &op[i];
	}
	Etcdserverpb__TxnRequest txn = ETCDSERVERPB__TXN_REQUEST__INIT;
	txn.n_compare = n_cmps;
	txn.compare = cmpp;
	txn.n_success = n_ops;
	txn.success = opp;
	struct req *r =
	    req_start(c, "/etcdserverpb.KV/Txn", &txn.base, &etcdserverpb__txn_response__descriptor,
	              n_cmps > 0 ? RETRY_SAFE : RETRY_UNSENT, txn_done, data);
	r->cb.write = cb;
	req_attempt(r);
}

/* ---- lease ---- */

static void lease_grant_done(struct req *r, int rc, const ProtobufCMessage *msg, const ck_err *err)
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
	struct req *r = req_start(c, "/etcdserverpb.Lease/LeaseGrant", &req.base,
	                          &etcdserverpb__lease_grant_response__descriptor, RETRY_SAFE,
	                          lease_grant_done, data);
	r->cb.lease = cb;
	req_attempt(r);
}

static void lease_revoke_done(struct req *r, int rc, const ProtobufCMessage *msg, const ck_err *err)
{
	r->cb.lease(rc, r->aux, 0, err, r->data);
}

void etcd_lease_revoke(etcd_client *c, int64_t id, etcd_lease_cb cb, void *data)
{
	Etcdserverpb__LeaseRevokeRequest req = ETCDSERVERPB__LEASE_REVOKE_REQUEST__INIT;
	req.id = id;
	struct req *r = req_start(c, "/etcdserverpb.Lease/LeaseRevoke", &req.base,
	                          &etcdserverpb__lease_revoke_response__descriptor, RETRY_SAFE,
	                          lease_revoke_done, data);
	r->cb.lease = cb;
	r->aux = id;
	req_attempt(r);
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
		defer(c, keepalive_fail_deferred, k);
		return;
	}
	k->attempts++;
	uint64_t now = uv_hrtime();
	int left = now < k->deadline ? (int)((k->deadline - now) / NS_PER_MS) + 1 : 1;
	int rc = ckgrpc_stream_open(c->gl, c->chs[c->cur], "/etcdserverpb.Lease/LeaseKeepAlive",
	                            left, &keepalive_ops, k, &k->s, &k->fail_err);
	if (rc < 0) {
		k->fail_rc = rc;
		defer(c, keepalive_fail_deferred, k);
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
	k->deadline = uv_hrtime() + (uint64_t)c->timeout_ms * NS_PER_MS;
	keepalive_attempt(k);
}

/* ---- maintenance ---- */

static void compact_done(struct req *r, int rc, const ProtobufCMessage *msg, const ck_err *err)
{
	if (rc < 0) {
		r->cb.rev(rc, 0, err, r->data);
		return;
	}
	const Etcdserverpb__CompactionResponse *resp =
	    (const Etcdserverpb__CompactionResponse *)msg;
	r->cb.rev(0, header_rev(resp->header), NULL, r->data);
}

void etcd_compact(etcd_client *c, int64_t revision, bool physical, etcd_rev_cb cb, void *data)
{
	Etcdserverpb__CompactionRequest req = ETCDSERVERPB__COMPACTION_REQUEST__INIT;
	req.revision = revision;
	req.physical = physical;
	struct req *r = req_start(c, "/etcdserverpb.KV/Compact", &req.base,
	                          &etcdserverpb__compaction_response__descriptor, RETRY_SAFE,
	                          compact_done, data);
	r->cb.rev = cb;
	req_attempt(r);
}

static void status_done(struct req *r, int rc, const ProtobufCMessage *msg, const ck_err *err)
{
	if (rc < 0) {
		r->cb.status(rc, NULL, err, r->data);
		return;
	}
	const Etcdserverpb__StatusResponse *resp = (const Etcdserverpb__StatusResponse *)msg;
	etcd_status_result st = {
	    .version = resp->version ? resp->version : "",
	    .db_size = resp->dbsize,
	    .leader = (int64_t)resp->leader,
	    .revision = header_rev(resp->header),
	    .raft_term = (int64_t)resp->raftterm,
	    .endpoint = r->c->eps[r->ep].target,
	    .member_id = resp->header ? (int64_t)resp->header->member_id : 0,
	};
	r->cb.status(0, &st, NULL, r->data);
}

void etcd_status(etcd_client *c, etcd_status_cb cb, void *data)
{
	Etcdserverpb__StatusRequest req = ETCDSERVERPB__STATUS_REQUEST__INIT;
	struct req *r =
	    req_start(c, "/etcdserverpb.Maintenance/Status", &req.base,
	              &etcdserverpb__status_response__descriptor, RETRY_SAFE, status_done, data);
	r->cb.status = cb;
	req_attempt(r);
}

/* ---- watch ---- */

static void ws_open(etcd_client *c);

static void watch_unlink(etcd_watch *w)
{
	if (w->next) {
		w->prev->next = w->next;
		w->next->prev = w->prev;
		w->next = w->prev = NULL;
	}
}

static void watch_final_deferred(void *arg)
{
	etcd_watch *w = arg;
	w->cb(w->end_rc, w->next_rev > 0 ? w->next_rev - 1 : 0, NULL, 0, w->end_err, w->data);
	ck_err_free(w->end_err);
	free(w->key);
	free(w->end);
	free(w);
}

/* Ends w: no more events; the callback runs once more with rc, later. */
static void watch_end(etcd_watch *w, int rc, ck_err *err)
{
	if (w->ended) {
		ck_err_free(err);
		return;
	}
	w->ended = true;
	w->end_rc = rc;
	w->end_err = err;
	watch_unlink(w);
	etcd_client *c = w->c;
	/* With no watch left the stream goes too, so that an idle client keeps no call
	 * (and the loop can end); the next watch opens a new one. */
	if (c->watches.next == &c->watches && !c->closing) {
		uv_timer_stop(&c->ws_timer);
		if (c->ws) {
			ckgrpc_stream_cancel(c->ws);
			c->ws = NULL;
		}
	}
	defer(c, watch_final_deferred, w);
}

static void ws_send_create(etcd_client *c, etcd_watch *w)
{
	Etcdserverpb__WatchCreateRequest cr = ETCDSERVERPB__WATCH_CREATE_REQUEST__INIT;
	cr.key = bin(w->key, w->key_len);
	if (w->end)
		cr.range_end = bin(w->end, w->end_len);
	cr.start_revision = w->next_rev;
	cr.progress_notify = w->progress_notify;
	cr.prev_kv = w->prev_kv;
	cr.watch_id = w->id;
	Etcdserverpb__WatchRequest req = ETCDSERVERPB__WATCH_REQUEST__INIT;
	req.request_union_case = ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_CREATE_REQUEST;
	req.create_request = &cr;
	if (ckgrpc_stream_send(c->ws, &req.base) == 0)
		w->created = true;
}

static void ws_send_cancel(etcd_client *c, int64_t id)
{
	Etcdserverpb__WatchCancelRequest cr = ETCDSERVERPB__WATCH_CANCEL_REQUEST__INIT;
	cr.watch_id = id;
	Etcdserverpb__WatchRequest req = ETCDSERVERPB__WATCH_REQUEST__INIT;
	req.request_union_case = ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_CANCEL_REQUEST;
	req.cancel_request = &cr;
	ckgrpc_stream_send(c->ws, &req.base);
}

static etcd_watch *watch_find(etcd_client *c, int64_t id)
{
	for (etcd_watch *w = c->watches.next; w != &c->watches; w = w->next)
		if (w->id == id)
			return w;
	return NULL;
}

static void deliver_events(etcd_watch *w, const Etcdserverpb__WatchResponse *resp)
{
	size_t n = resp->n_events;
	_cleanup_free_ etcd_event *ev = ck_calloc(n, sizeof(*ev));
	_cleanup_free_ etcd_kv *prev = ck_calloc(n, sizeof(*prev));
	int64_t last = 0;
	for (size_t i = 0; i < n; i++) {
		const Mvccpb__Event *e = resp->events[i];
		ev[i].type = e->type == MVCCPB__EVENT__EVENT_TYPE__DELETE ? ETCD_EVENT_DELETE
		                                                          : ETCD_EVENT_PUT;
		if (e->kv)
			kv_from_pb(&ev[i].kv, e->kv);
		if (e->prev_kv) {
			kv_from_pb(&prev[i], e->prev_kv);
			ev[i].prev_kv = &prev[i];
		}
		if (ev[i].kv.mod_revision > last)
			last = ev[i].kv.mod_revision;
	}
	w->next_rev = last + 1;
	w->cb(0, last, ev, n, NULL, w->data);
}

static void ws_on_message(ckgrpc_stream *s, const ProtobufCMessage *msg, void *data)
{
	etcd_client *c = data;
	const Etcdserverpb__WatchResponse *resp = (const Etcdserverpb__WatchResponse *)msg;
	c->ws_answered = true;
	c->ws_failures = 0;
	etcd_watch *w = watch_find(c, resp->watch_id);
	if (!w) {
		/* A watch cancelled before its creation was confirmed. */
		if (resp->created && !resp->canceled && resp->watch_id >= 0)
			ws_send_cancel(c, resp->watch_id);
		return;
	}
	int64_t hrev = header_rev(resp->header);
	if (resp->canceled) {
		ck_err *e = NULL;
		if (resp->compact_revision > 0) {
			ck_err_set(&e, CK_ECOMPACTED,
			           "etcd watch: required revision %lld has been compacted; "
			           "compact revision %lld",
			           (long long)w->next_rev, (long long)resp->compact_revision);
			watch_end(w, CK_ECOMPACTED, e);
		} else {
			ck_err_set(&e, CK_EUNAVAILABLE, "etcd watch cancelled by the server: %s",
			           resp->cancel_reason && *resp->cancel_reason ? resp->cancel_reason
			                                                       : "no reason given");
			watch_end(w, CK_EUNAVAILABLE, e);
		}
		return;
	}
	if (resp->created) {
		/* A watch "from now" starts after the revision the creation saw. */
		if (w->next_rev == 0)
			w->next_rev = hrev + 1;
		if (resp->n_events == 0)
			return;
	}
	if (resp->n_events > 0) {
		deliver_events(w, resp);
		return;
	}
	/* Progress notification: every event up to hrev was sent. */
	if (hrev + 1 > w->next_rev)
		w->next_rev = hrev + 1;
	if (w->progress_notify)
		w->cb(0, hrev, NULL, 0, NULL, w->data);
}

static void on_ws_timer(uv_timer_t *t)
{
	etcd_client *c = t->data;
	if (!c->ws && c->watches.next != &c->watches)
		ws_open(c);
}

static void ws_on_close(ckgrpc_stream *s, int rc, const ck_err *err, void *data)
{
	etcd_client *c = data;
	/* A stream replaced already (all watches ended, then a new one started). */
	if (c->ws != s)
		return;
	c->ws = NULL;
	if (c->closing)
		return;
	for (etcd_watch *w = c->watches.next; w != &c->watches; w = w->next)
		w->created = false;
	if (c->watches.next == &c->watches)
		return;
	/* Move on to the next member, and come back to this one only after the others. */
	if (c->n_eps > 1 && c->cur == c->ws_ep)
		c->cur = (c->cur + 1) % c->n_eps;
	uint64_t now = uv_hrtime();
	if (c->ws_answered || c->ws_failures == 0) {
		c->ws_failures = 0;
		c->ws_broken_since = now;
	}
	c->ws_failures++;
	uint64_t budget = (uint64_t)(c->timeout_ms > 5000 ? c->timeout_ms : 5000) * NS_PER_MS;
	if ((size_t)c->ws_failures > c->n_eps && now - c->ws_broken_since > budget) {
		/* No member took the stream for a whole deadline: give up. */
		while (c->watches.next != &c->watches) {
			ck_err *e = NULL;
			ck_err_set(&e, CK_EUNAVAILABLE, "etcd watch: stream lost: %s",
			           err ? err->msg : "closed by the server");
			watch_end(c->watches.next, CK_EUNAVAILABLE, e);
		}
		c->ws_failures = 0;
		return;
	}
	/* Reopen at once on another member; after a full round, pause a little. */
	uint64_t pause = 0;
	if ((size_t)c->ws_failures >= c->n_eps)
		pause = 100u * (uint64_t)(c->ws_failures / (int)c->n_eps);
	uv_timer_start(&c->ws_timer, on_ws_timer, pause > 1000 ? 1000 : pause, 0);
}

static const ckgrpc_stream_ops watch_ops = {
    .resp_desc = &etcdserverpb__watch_response__descriptor,
    .on_message = ws_on_message,
    .on_close = ws_on_close,
};

static void ws_open(etcd_client *c)
{
	_cleanup_err_ ck_err *e = NULL;
	c->ws_ep = c->cur;
	c->ws_answered = false;
	int rc = ckgrpc_stream_open(c->gl, c->chs[c->ws_ep], "/etcdserverpb.Watch/Watch", 0,
	                            &watch_ops, c, &c->ws, &e);
	if (rc < 0) {
		c->ws = NULL;
		while (c->watches.next != &c->watches) {
			ck_err *we = NULL;
			ck_err_set(&we, rc, "etcd watch: %s", e ? e->msg : ck_strerror(rc));
			watch_end(c->watches.next, rc, we);
		}
		return;
	}
	for (etcd_watch *w = c->watches.next; w != &c->watches; w = w->next)
		ws_send_create(c, w);
}

int etcd_watch_start(etcd_client *c, const etcd_watch_opts *opts, etcd_watch_cb cb, void *data,
                     etcd_watch **out)
{
	size_t klen = key_len_of(opts->key, opts->key_len);
	if (!opts->key || klen == 0 || !cb || c->closing)
		return -EINVAL;
	etcd_watch *w = ck_calloc(1, sizeof(*w));
	w->c = c;
	w->id = c->next_watch_id++;
	w->key = ck_malloc(klen);
	memcpy(w->key, opts->key, klen);
	w->key_len = klen;
	if (opts->prefix)
		w->end_len = etcd_prefix_end(opts->key, klen, &w->end);
	w->prev_kv = opts->prev_kv;
	w->progress_notify = opts->progress_notify;
	w->next_rev = opts->start_revision > 0 ? opts->start_revision : 0;
	w->cb = cb;
	w->data = data;
	w->prev = c->watches.prev;
	w->next = &c->watches;
	c->watches.prev->next = w;
	c->watches.prev = w;
	if (!c->ws) {
		if (!uv_is_active((uv_handle_t *)&c->ws_timer))
			ws_open(c);
	} else {
		ws_send_create(c, w);
	}
	if (out)
		*out = w;
	return 0;
}

void etcd_watch_cancel(etcd_watch *w)
{
	if (!w || w->ended)
		return;
	etcd_client *c = w->c;
	if (c->ws && w->created)
		ws_send_cancel(c, w->id);
	ck_err *e = NULL;
	ck_err_set(&e, -ECANCELED, "etcd watch cancelled");
	watch_end(w, -ECANCELED, e);
}

/* ---- teardown ---- */

void etcd_client_free(etcd_client *c)
{
	if (!c)
		return;
	c->closing = true;
	uv_timer_stop(&c->ws_timer);
	while (c->watches.next != &c->watches) {
		ck_err *e = NULL;
		ck_err_set(&e, -ECANCELED, "etcd client closed");
		watch_end(c->watches.next, -ECANCELED, e);
	}
	if (c->ws)
		ckgrpc_stream_cancel(c->ws);
	/* Requests pausing before a retry are not gRPC calls: finish them here. */
	for (struct req *r = c->reqs; r; r = r->next) {
		if (r->backoff) {
			uv_close((uv_handle_t *)r->backoff, free_timer);
			r->backoff = NULL;
			r->fail_rc =
			    ck_err_set(&r->fail_err, -ECANCELED, "etcd %s: cancelled", r->method);
			defer(c, req_fail_deferred, r);
		}
	}
	/* Runs the callbacks of every call in flight (-ECANCELED). */
	c->gl = ckgrpc_loop_free(c->gl);
	run_deferred(c);
	for (size_t i = 0; i < c->n_eps; i++)
		ckgrpc_channel_free(c->chs[i]);
	free(c->chs);
	etcd_endpoints_free(c->eps, c->n_eps);
	uv_timer_stop(&c->defer_timer);
	uv_close((uv_handle_t *)&c->defer_timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->ws_timer, on_handle_closed);
}
