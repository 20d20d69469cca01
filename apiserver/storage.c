/* storage: keys, bytes at rest and guaranteed updates over etcd. */
#include "storage.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/json.h"
#include "event_ttl.h"
#include "status.h"
#include "watch_cache.h"

/* A lost compare-and-swap means someone else wrote in between: retry with their object.
 * Every loss is another writer's success, so with N concurrent writers a request loses at
 * most N-1 times; the bound only stops a pathological loop. */
#define STORAGE_MAX_ATTEMPTS 128

char *storage_key(const apiserver *s, const kind_desc *k, const char *ns, const char *name)
{
	if (k->namespaced)
		return ck_asprintf("%s/%s/%s/%s", s->prefix, k->etcd_resource, ns, name);
	return ck_asprintf("%s/%s/%s", s->prefix, k->etcd_resource, name);
}

char *storage_prefix(const apiserver *s, const kind_desc *k, const char *ns)
{
	if (k->namespaced && ns)
		return ck_asprintf("%s/%s/%s/", s->prefix, k->etcd_resource, ns);
	return ck_asprintf("%s/%s/", s->prefix, k->etcd_resource);
}

void storage_set_rv(cJSON *obj, int64_t rv)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", (long long)rv);
	ck_json_set_str(obj, "metadata.resourceVersion", buf);
}

cJSON *storage_decode(const kind_desc *k, const void *value, size_t len, int64_t rv)
{
	cJSON *obj = ck_json_parse(value, len, NULL);
	if (!cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		return NULL;
	}
	if (k->from_storage)
		k->from_storage(obj);
	storage_set_rv(obj, rv);
	return obj;
}

char *storage_encode(const kind_desc *k, const cJSON *obj)
{
	_cleanup_json_ cJSON *copy = ck_json_dup(obj);
	ck_json_remove(copy, "metadata.resourceVersion");
	if (k->to_storage)
		k->to_storage(copy);
	return ck_json_print(copy);
}

void storage_ignore_write(int rc, const etcd_write_result *res, const ck_err *err, void *data)
{
}

typedef struct update_op {
	api_req *r;
	char *key;
	storage_mutate_fn mutate;
	storage_done_fn done;
	cJSON *cur;
	int64_t cur_mod;
	bool guess; /* cur is the watch cache's copy, not a read of etcd */
	cJSON *next;
	int64_t lease; /* of the write in flight (expiring kinds) */
} update_op;

static void update_op_free(update_op *op)
{
	free(op->key);
	cJSON_Delete(op->cur);
	cJSON_Delete(op->next);
	free(op);
}

static void update_fail(update_op *op, int rc, const ck_err *err)
{
	status_storage_error(op->r->x, rc, err ? err->msg : ck_strerror(rc));
	api_req_free(op->r);
	update_op_free(op);
}

static void update_read(update_op *op);
static void update_decide(update_op *op);

/* Makes kv (NULL: the key is absent) the current object, as etcd has it. Returns 0, or -1
 * after answering that the stored bytes are not an object. */
static int update_set_cur(update_op *op, const etcd_kv *kv)
{
	cJSON_Delete(op->cur);
	op->cur = NULL;
	op->cur_mod = 0;
	op->guess = false;
	if (!kv)
		return 0;
	op->cur_mod = kv->mod_revision;
	op->cur = storage_decode(op->r->rt.kind, kv->value, kv->value_len, op->cur_mod);
	if (op->cur)
		return 0;
	status_internal(op->r->x, "stored object at %s is not valid JSON", op->key);
	api_req_free(op->r);
	update_op_free(op);
	return -1;
}

static void update_written(int rc, const etcd_write_result *res, const ck_err *err, void *data)
{
	update_op *op = data;
	if (rc == -ENOENT && !res && op->lease) {
		/* Not the key (its absence comes with a result): etcd does not know the lease any
		 * more (restored, revoked). Write again with a new one. */
		event_lease_forget(op->r->srv, op->lease);
		op->lease = 0;
		if (++op->r->attempts >= STORAGE_MAX_ATTEMPTS) {
			update_fail(op, rc, err);
			return;
		}
		update_decide(op);
		return;
	}
	if (rc == CK_ECONFLICT || rc == -ENOENT) {
		/* Someone wrote in between (or the guess was old): decide again on what etcd
		 * has now, which the failed compare returned. */
		if (++op->r->attempts >= STORAGE_MAX_ATTEMPTS) {
			/* The key's last segment: a create's route has no name. */
			status_conflict(op->r->x, op->r->rt.kind, strrchr(op->key, '/') + 1, NULL);
			api_req_free(op->r);
			update_op_free(op);
			return;
		}
		if (rc == CK_ECONFLICT && !res) {
			update_read(op);
			return;
		}
		if (update_set_cur(op, rc == CK_ECONFLICT ? res->prev_kv : NULL) == 0)
			update_decide(op);
		return;
	}
	if (rc < 0) {
		if (op->lease)
			event_lease_forget(op->r->srv, op->lease);
		update_fail(op, rc, err);
		return;
	}
	api_req *r = op->r;
	storage_done_fn done = op->done;
	cJSON *result = op->next ? op->next : op->cur;
	enum update_action action = op->next ? UPDATE_WRITE : UPDATE_DELETE;
	if (op->next)
		storage_set_rv(op->next, res->revision);
	done(r, action, result);
	update_op_free(op);
}

static void update_put(int rc, int64_t lease, const ck_err *err, void *data)
{
	update_op *op = data;
	if (rc < 0) {
		update_fail(op, rc, err);
		return;
	}
	op->lease = lease;
	_cleanup_free_ char *val = storage_encode(op->r->rt.kind, op->next);
	etcd_put_if(op->r->srv->etcd, op->key, strlen(op->key), op->cur_mod, val, strlen(val),
	            lease, update_written, op);
}

static void update_decide(update_op *op)
{
	cJSON_Delete(op->next);
	op->next = NULL;
	cJSON *status = NULL;
	enum update_action a = op->mutate(op->r, op->cur, &op->next, &status);
	if (op->guess && (a == UPDATE_UNCHANGED || a == UPDATE_FAILED)) {
		/* Only a write is checked by the compare-and-swap: answer nothing else from a
		 * copy that may be old. */
		cJSON_Delete(status);
		update_read(op);
		return;
	}
	if (op->r->dry_run && (a == UPDATE_WRITE || a == UPDATE_DELETE)) {
		/* dryRun: the answer the write would give, without writing. */
		op->done(op->r, a, a == UPDATE_WRITE ? op->next : op->cur);
		update_op_free(op);
		return;
	}
	switch (a) {
	case UPDATE_WRITE:
		if (op->r->rt.kind->expires)
			event_lease_get(op->r->srv, update_put, op);
		else
			update_put(0, 0, NULL, op);
		return;
	case UPDATE_DELETE:
		cJSON_Delete(op->next);
		op->next = NULL;
		etcd_delete_if(op->r->srv->etcd, op->key, strlen(op->key), op->cur_mod,
		               update_written, op);
		return;
	case UPDATE_UNCHANGED:
		op->done(op->r, UPDATE_UNCHANGED, op->cur);
		update_op_free(op);
		return;
	case UPDATE_FAILED:
		status_send(op->r->x, status);
		api_req_free(op->r);
		update_op_free(op);
		return;
	}
}

static void update_got(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	update_op *op = data;
	if (rc < 0) {
		update_fail(op, rc, err);
		return;
	}
	if (update_set_cur(op, res->n_kvs ? &res->kvs[0] : NULL) == 0)
		update_decide(op);
}

static void update_read(update_op *op)
{
	etcd_range(op->r->srv->etcd, &(etcd_range_req){.key = op->key}, update_got, op);
}

void storage_update(api_req *r, const char *key, storage_mutate_fn mutate, storage_done_fn done)
{
	update_op *op = ck_calloc(1, sizeof(*op));
	op->r = r;
	op->key = ck_strdup(key);
	op->mutate = mutate;
	op->done = done;
	const cJSON *cached = NULL;
	watch_cache *c = server_cache(r->srv, r->rt.kind);
	/* dryRun answers what a write would do without one to check it: read etcd. */
	if (r->dry_run || watch_cache_get(c, key, &cached) < 0) {
		update_read(op);
		return;
	}
	op->guess = true;
	if (cached) {
		op->cur = ck_json_dup(cached);
		op->cur_mod =
		    strtoll(ck_json_get_str(cached, "metadata.resourceVersion", "0"), NULL, 10);
	}
	update_decide(op);
}

typedef struct get_op {
	api_req *r;
	storage_get_fn cb;
} get_op;

static void get_done(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	get_op *op = data;
	api_req *r = op->r;
	storage_get_fn cb = op->cb;
	free(op);
	if (rc < 0) {
		status_storage_error(r->x, rc, err ? err->msg : ck_strerror(rc));
		api_req_free(r);
		return;
	}
	_cleanup_json_ cJSON *obj = NULL;
	if (res->n_kvs) {
		obj = storage_decode(r->rt.kind, res->kvs[0].value, res->kvs[0].value_len,
		                     res->kvs[0].mod_revision);
		if (!obj) {
			status_internal(r->x, "stored object is not valid JSON");
			api_req_free(r);
			return;
		}
	}
	cb(r, obj);
}

void storage_get(api_req *r, const char *key, storage_get_fn cb)
{
	get_op *op = ck_malloc(sizeof(*op));
	*op = (get_op){r, cb};
	etcd_range(r->srv->etcd, &(etcd_range_req){.key = key}, get_done, op);
}
