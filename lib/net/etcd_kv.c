/* etcd_kv: the KV calls of the etcd client (see etcd.h, etcd_internal.h): range, put,
 * delete, their conditional forms on a Txn, general txns and compaction. Each builds its
 * request, hands it to the unary request machinery of etcd.c with its retry policy, and
 * turns the response into the result its callback gets. */
#include <stdlib.h>
#include <string.h>

#include "net/etcd_internal.h"

/* ---- range ---- */

static void range_done(struct etcd__req *r, int rc, const ProtobufCMessage *msg, const ck_err *err)
{
	if (rc < 0) {
		r->cb.range(rc, NULL, err, r->data);
		return;
	}
	const Etcdserverpb__RangeResponse *resp = (const Etcdserverpb__RangeResponse *)msg;
	_cleanup_free_ etcd_kv *kvs = ck_calloc(resp->n_kvs, sizeof(*kvs));
	for (size_t i = 0; i < resp->n_kvs; i++)
		etcd__kv_from_pb(&kvs[i], resp->kvs[i]);
	etcd_range_result res = {
	    .revision = etcd__header_rev(resp->header),
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
	size_t klen = etcd__key_len(q->key, q->key_len);
	_cleanup_free_ uint8_t *end = NULL;
	req.key = etcd__bin(q->key, klen);
	if (q->prefix)
		req.range_end.len = etcd_prefix_end(q->key, klen, &end), req.range_end.data = end;
	else if (q->range_end)
		req.range_end =
		    etcd__bin(q->range_end, etcd__key_len(q->range_end, q->range_end_len));
	req.limit = q->limit;
	req.revision = q->revision;
	req.count_only = q->count_only;
	req.keys_only = q->keys_only;
	struct etcd__req *r = etcd__req_start(c, "/etcdserverpb.KV/Range", &req.base,
	                                      &etcdserverpb__range_response__descriptor,
	                                      ETCD__RETRY_SAFE, range_done, data);
	r->cb.range = cb;
	etcd__req_attempt(r);
}

/* ---- writes ---- */

static void write_fail(struct etcd__req *r, int rc, const ck_err *err)
{
	r->cb.write(rc, NULL, err, r->data);
}

static void put_done(struct etcd__req *r, int rc, const ProtobufCMessage *msg, const ck_err *err)
{
	if (rc < 0)
		return write_fail(r, rc, err);
	const Etcdserverpb__PutResponse *resp = (const Etcdserverpb__PutResponse *)msg;
	etcd_write_result res = {.revision = etcd__header_rev(resp->header), .succeeded = true};
	r->cb.write(0, &res, NULL, r->data);
}

void etcd_put(etcd_client *c, const void *key, size_t key_len, const void *val, size_t val_len,
              int64_t lease, etcd_write_cb cb, void *data)
{
	Etcdserverpb__PutRequest req = ETCDSERVERPB__PUT_REQUEST__INIT;
	req.key = etcd__bin(key, etcd__key_len(key, key_len));
	req.value = etcd__bin(val, val_len);
	req.lease = lease;
	struct etcd__req *r = etcd__req_start(c, "/etcdserverpb.KV/Put", &req.base,
	                                      &etcdserverpb__put_response__descriptor,
	                                      ETCD__RETRY_UNSENT, put_done, data);
	r->cb.write = cb;
	etcd__req_attempt(r);
}

static void delete_done(struct etcd__req *r, int rc, const ProtobufCMessage *msg, const ck_err *err)
{
	if (rc < 0)
		return write_fail(r, rc, err);
	const Etcdserverpb__DeleteRangeResponse *resp =
	    (const Etcdserverpb__DeleteRangeResponse *)msg;
	etcd_kv prev;
	etcd_write_result res = {
	    .revision = etcd__header_rev(resp->header),
	    .deleted = resp->deleted,
	    .succeeded = true,
	};
	if (resp->n_prev_kvs > 0) {
		etcd__kv_from_pb(&prev, resp->prev_kvs[0]);
		res.prev_kv = &prev;
	}
	r->cb.write(0, &res, NULL, r->data);
}

void etcd_delete(etcd_client *c, const void *key, size_t key_len, bool prefix, etcd_write_cb cb,
                 void *data)
{
	Etcdserverpb__DeleteRangeRequest req = ETCDSERVERPB__DELETE_RANGE_REQUEST__INIT;
	size_t klen = etcd__key_len(key, key_len);
	_cleanup_free_ uint8_t *end = NULL;
	req.key = etcd__bin(key, klen);
	if (prefix)
		req.range_end.len = etcd_prefix_end(key, klen, &end), req.range_end.data = end;
	/* The previous value is returned for single keys only: a prefix may be large. */
	req.prev_kv = !prefix;
	struct etcd__req *r = etcd__req_start(c, "/etcdserverpb.KV/DeleteRange", &req.base,
	                                      &etcdserverpb__delete_range_response__descriptor,
	                                      ETCD__RETRY_UNSENT, delete_done, data);
	r->cb.write = cb;
	etcd__req_attempt(r);
}

/* compare for "mod_revision == expect" (expect > 0), "absent" (expect 0), or, with
 * exists, "present" (expect 0). */
static void cmp_init(Etcdserverpb__Compare *cmp, const void *key, size_t klen, int64_t expect,
                     bool exists)
{
	etcdserverpb__compare__init(cmp);
	cmp->key = etcd__bin(key, klen);
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

/* Reports a Txn's outcome to r's write callback: success, or a conflict; with read_back,
 * the Txn's failure branch read the key, which the conflict reports as prev_kv. */
static void txn_report(struct etcd__req *r, int rc, const ProtobufCMessage *msg, const ck_err *err,
                       bool read_back)
{
	if (rc < 0)
		return write_fail(r, rc, err);
	const Etcdserverpb__TxnResponse *resp = (const Etcdserverpb__TxnResponse *)msg;
	etcd_write_result res = {.revision = etcd__header_rev(resp->header),
	                         .succeeded = resp->succeeded};
	if (resp->succeeded) {
		r->cb.write(0, &res, NULL, r->data);
		return;
	}
	_cleanup_err_ ck_err *e = NULL;
	if (!read_back) {
		ck_err_set(&e, CK_ECONFLICT, "etcd: conflict: a txn compare failed");
		r->cb.write(CK_ECONFLICT, &res, e, r->data);
		return;
	}
	etcd_kv cur;
	const Mvccpb__KeyValue *kv = txn_read_back(resp);
	if (kv) {
		etcd__kv_from_pb(&cur, kv);
		res.prev_kv = &cur;
	}
	ck_err_set(&e, CK_ECONFLICT, "etcd: conflict: key has mod_revision %lld, expected %lld",
	           (long long)(kv ? kv->mod_revision : 0), (long long)r->aux);
	r->cb.write(CK_ECONFLICT, &res, e, r->data);
}

static void put_if_done(struct etcd__req *r, int rc, const ProtobufCMessage *msg, const ck_err *err)
{
	txn_report(r, rc, msg, err, true);
}

/* A Txn guarded by one compare on key: op when it holds, else a read of the key, so that a
 * failed compare reports the current kv. Shared by etcd_put_if and etcd_delete_if. */
static void txn_guarded(etcd_client *c, const void *key, size_t klen, int64_t expect_mod,
                        bool must_exist, Etcdserverpb__RequestOp *op, etcd__req_done_fn done,
                        etcd_write_cb cb, void *data)
{
	Etcdserverpb__Compare cmp;
	cmp_init(&cmp, key, klen, expect_mod, must_exist);
	Etcdserverpb__Compare *cmps[] = {&cmp};
	Etcdserverpb__RequestOp *success[] = {op};
	Etcdserverpb__RangeRequest get = ETCDSERVERPB__RANGE_REQUEST__INIT;
	get.key = etcd__bin(key, klen);
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
	struct etcd__req *r =
	    etcd__req_start(c, "/etcdserverpb.KV/Txn", &txn.base,
	                    &etcdserverpb__txn_response__descriptor, ETCD__RETRY_SAFE, done, data);
	r->cb.write = cb;
	r->aux = expect_mod;
	etcd__req_attempt(r);
}

void etcd_put_if(etcd_client *c, const void *key, size_t key_len, int64_t expect_mod,
                 const void *val, size_t val_len, int64_t lease, etcd_write_cb cb, void *data)
{
	size_t klen = etcd__key_len(key, key_len);
	Etcdserverpb__PutRequest put = ETCDSERVERPB__PUT_REQUEST__INIT;
	put.key = etcd__bin(key, klen);
	put.value = etcd__bin(val, val_len);
	put.lease = lease;
	Etcdserverpb__RequestOp put_op = ETCDSERVERPB__REQUEST_OP__INIT;
	put_op.request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT;
	put_op.request_put = &put;
	txn_guarded(c, key, klen, expect_mod, false, &put_op, put_if_done, cb, data);
}

static void delete_if_done(struct etcd__req *r, int rc, const ProtobufCMessage *msg,
                           const ck_err *err)
{
	if (rc < 0)
		return write_fail(r, rc, err);
	const Etcdserverpb__TxnResponse *resp = (const Etcdserverpb__TxnResponse *)msg;
	etcd_write_result res = {.revision = etcd__header_rev(resp->header),
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
				etcd__kv_from_pb(&kvbuf, d->prev_kvs[0]);
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
	etcd__kv_from_pb(&kvbuf, kv);
	res.prev_kv = &kvbuf;
	ck_err_set(&e, CK_ECONFLICT, "etcd: conflict: key has mod_revision %lld, expected %lld",
	           (long long)kv->mod_revision, (long long)r->aux);
	r->cb.write(CK_ECONFLICT, &res, e, r->data);
}

void etcd_delete_if(etcd_client *c, const void *key, size_t key_len, int64_t expect_mod,
                    etcd_write_cb cb, void *data)
{
	size_t klen = etcd__key_len(key, key_len);
	Etcdserverpb__DeleteRangeRequest del = ETCDSERVERPB__DELETE_RANGE_REQUEST__INIT;
	del.key = etcd__bin(key, klen);
	del.prev_kv = true;
	Etcdserverpb__RequestOp del_op = ETCDSERVERPB__REQUEST_OP__INIT;
	del_op.request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_DELETE_RANGE;
	del_op.request_delete_range = &del;
	txn_guarded(c, key, klen, expect_mod, true, &del_op, delete_if_done, cb, data);
}

static void txn_done(struct etcd__req *r, int rc, const ProtobufCMessage *msg, const ck_err *err)
{
	txn_report(r, rc, msg, err, false);
}

void etcd_txn(etcd_client *c, const etcd_txn_cmp *cmps, size_t n_cmps, const etcd_txn_op *ops,
              size_t n_ops, etcd_write_cb cb, void *data)
{
	_cleanup_free_ Etcdserverpb__Compare *cmp = ck_calloc(n_cmps, sizeof(*cmp));
	_cleanup_free_ Etcdserverpb__Compare **cmpp = ck_calloc(n_cmps, sizeof(*cmpp));
	for (size_t i = 0; i < n_cmps; i++) {
		cmp_init(&cmp[i], cmps[i].key, etcd__key_len(cmps[i].key, cmps[i].key_len),
		         cmps[i].expect_mod, false);
		cmpp[i] = &cmp[i];
	}
	_cleanup_free_ Etcdserverpb__RequestOp *op = ck_calloc(n_ops, sizeof(*op));
	_cleanup_free_ Etcdserverpb__RequestOp **opp = ck_calloc(n_ops, sizeof(*opp));
	_cleanup_free_ Etcdserverpb__PutRequest *puts = ck_calloc(n_ops, sizeof(*puts));
	_cleanup_free_ Etcdserverpb__DeleteRangeRequest *dels = ck_calloc(n_ops, sizeof(*dels));
	for (size_t i = 0; i < n_ops; i++) {
		etcdserverpb__request_op__init(&op[i]);
		ProtobufCBinaryData k =
		    etcd__bin(ops[i].key, etcd__key_len(ops[i].key, ops[i].key_len));
		if (ops[i].type == ETCD_OP_PUT) {
			etcdserverpb__put_request__init(&puts[i]);
			puts[i].key = k;
			puts[i].value = etcd__bin(ops[i].val, ops[i].val_len);
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
	struct etcd__req *r = etcd__req_start(
	    c, "/etcdserverpb.KV/Txn", &txn.base, &etcdserverpb__txn_response__descriptor,
	    n_cmps > 0 ? ETCD__RETRY_SAFE : ETCD__RETRY_UNSENT, txn_done, data);
	r->cb.write = cb;
	etcd__req_attempt(r);
}

/* ---- compaction ---- */

static void compact_done(struct etcd__req *r, int rc, const ProtobufCMessage *msg,
                         const ck_err *err)
{
	if (rc < 0) {
		r->cb.rev(rc, 0, err, r->data);
		return;
	}
	const Etcdserverpb__CompactionResponse *resp =
	    (const Etcdserverpb__CompactionResponse *)msg;
	r->cb.rev(0, etcd__header_rev(resp->header), NULL, r->data);
}

void etcd_compact(etcd_client *c, int64_t revision, bool physical, etcd_rev_cb cb, void *data)
{
	Etcdserverpb__CompactionRequest req = ETCDSERVERPB__COMPACTION_REQUEST__INIT;
	req.revision = revision;
	req.physical = physical;
	struct etcd__req *r = etcd__req_start(c, "/etcdserverpb.KV/Compact", &req.base,
	                                      &etcdserverpb__compaction_response__descriptor,
	                                      ETCD__RETRY_SAFE, compact_done, data);
	r->cb.rev = cb;
	etcd__req_attempt(r);
}
