/* service: the repair of Service reservations, as upstream's repair controllers do it.
 *
 * A cluster IP or node port is reserved (alloc.h) before its Service is stored, and given
 * back when the Service goes; an apiserver that dies in between leaves a reservation that
 * no Service holds. At start and every few minutes the repair lists the reservations,
 * then the Services, and gives back each reservation no Service holds that was already
 * found so on the pass before, unchanged (a create in flight has its Service stored by
 * then). A pass that finds such candidates looks again soon. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "base/map.h"
#include "storage.h"

#define REPAIR_INTERVAL_MS (3 * 60 * 1000)
#define REPAIR_CONFIRM_MS  5000

typedef struct repair {
	apiserver *s;
	uv_timer_t timer;
	ck_map *candidates; /* "<key>@<mod revision>" of reservations nobody held last pass */
	ck_map *records;    /* this pass: "<key>@<mod revision>" -> key */
	size_t pool;        /* the pool being listed */
} repair;

static const alloc_pool *pool_at(apiserver *s, size_t i)
{
	return i == 0 ? &s->svc_ips : i == 1 ? &s->node_ports : NULL;
}

static void repair_pass(uv_timer_t *t);

static void pass_done(repair *rp, bool found)
{
	uv_timer_start(&rp->timer, repair_pass, found ? REPAIR_CONFIRM_MS : REPAIR_INTERVAL_MS, 0);
}

static void released(int rc, const etcd_write_result *res, const ck_err *err, void *data)
{
	if (rc == 0)
		CK_V(2, "repair: gave back a reservation no Service holds");
}

/* The record key of value in pool p held by a Service. */
static void hold(repair *rp, ck_map *held, const alloc_pool *p, const char *value)
{
	if (!value || !*value || !strcmp(value, "None"))
		return;
	char *key = alloc_value_key(rp->s, p, value);
	ck_map_set(held, key, NULL);
	free(key);
}

static void services_listed(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	repair *rp = data;
	if (rc < 0) {
		CK_V(1, "repair: listing services: %s", err ? err->msg : ck_strerror(rc));
		rp->records = ck_map_free(rp->records);
		pass_done(rp, true);
		return;
	}
	const kind_desc *k = kind_by_kind("", "v1", "Service");
	_cleanup_(ck_map_freep) ck_map *held = ck_map_new(NULL);
	for (size_t i = 0; i < res->n_kvs; i++) {
		_cleanup_json_ cJSON *svc = storage_decode(
		    k, res->kvs[i].value, res->kvs[i].value_len, res->kvs[i].mod_revision);
		hold(rp, held, &rp->s->svc_ips, ck_json_get_str(svc, "spec.clusterIP", ""));
		const cJSON *v;
		cJSON_ArrayForEach(v, ck_json_get(svc, "spec.clusterIPs"))
		{
			hold(rp, held, &rp->s->svc_ips, cJSON_IsString(v) ? v->valuestring : NULL);
		}
		cJSON_ArrayForEach(v, ck_json_get(svc, "spec.ports"))
		{
			int64_t port = ck_json_get_int(v, "nodePort", 0);
			_cleanup_free_ char *text =
			    port ? ck_asprintf("%lld", (long long)port) : NULL;
			hold(rp, held, &rp->s->node_ports, text);
		}
	}
	ck_map *next = ck_map_new(NULL);
	ck_map_iter it = {0};
	const char *id;
	void *key;
	while (ck_map_next(rp->records, &it, &id, &key)) {
		if (ck_map_contains(held, key))
			continue;
		if (ck_map_contains(rp->candidates, id)) {
			const char *at = strrchr(id, '@');
			etcd_delete_if(rp->s->etcd, key, strlen(key), strtoll(at + 1, NULL, 10),
			               released, NULL);
		} else {
			ck_map_set(next, id, NULL);
		}
	}
	rp->records = ck_map_free(rp->records);
	ck_map_free(rp->candidates);
	rp->candidates = next;
	pass_done(rp, ck_map_len(next) > 0);
}

static void list_pool(repair *rp);

static void records_listed(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	repair *rp = data;
	if (rc < 0) {
		CK_V(1, "repair: listing reservations: %s", err ? err->msg : ck_strerror(rc));
		rp->records = ck_map_free(rp->records);
		pass_done(rp, true);
		return;
	}
	for (size_t i = 0; i < res->n_kvs; i++) {
		_cleanup_free_ char *key =
		    ck_strndup((const char *)res->kvs[i].key, res->kvs[i].key_len);
		_cleanup_free_ char *id =
		    ck_asprintf("%s@%lld", key, (long long)res->kvs[i].mod_revision);
		ck_map_set(rp->records, id, CK_TAKE_PTR(key));
	}
	rp->pool++;
	list_pool(rp);
}

/* Lists the next pool's reservations, then (after the last) the Services. */
static void list_pool(repair *rp)
{
	const alloc_pool *p = pool_at(rp->s, rp->pool);
	if (!p) {
		const kind_desc *k = kind_by_kind("", "v1", "Service");
		_cleanup_free_ char *prefix = storage_prefix(rp->s, k, NULL);
		etcd_range(rp->s->etcd, &(etcd_range_req){.key = prefix, .prefix = true},
		           services_listed, rp);
		return;
	}
	_cleanup_free_ char *prefix = alloc_value_key(rp->s, p, "");
	etcd_range(rp->s->etcd, &(etcd_range_req){.key = prefix, .prefix = true, .keys_only = true},
	           records_listed, rp);
}

static void repair_pass(uv_timer_t *t)
{
	repair *rp = t->data;
	rp->pool = 0;
	rp->records = ck_map_new(free);
	list_pool(rp);
}

void service_repair_start(apiserver *s)
{
	repair *rp = ck_calloc(1, sizeof(*rp));
	rp->s = s;
	rp->candidates = ck_map_new(NULL);
	uv_timer_init(s->loop, &rp->timer);
	rp->timer.data = rp;
	/* Lives as long as the process: the loop need not wait for it. */
	uv_unref((uv_handle_t *)&rp->timer);
	uv_timer_start(&rp->timer, repair_pass, 0, 0);
}
