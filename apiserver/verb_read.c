/* verb_read: get and list. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "filter.h"
#include "scale.h"
#include "status.h"
#include "storage.h"
#include "table.h"
#include "watch_cache.h"

static void got(api_req *r, const cJSON *obj)
{
	_cleanup_json_ cJSON *view = obj ? scale_view(&r->rt, obj) : NULL;
	if (!obj)
		status_not_found(r->x, r->rt.kind, r->rt.name);
	else
		api_respond_object(r, 200, view ? view : obj);
	api_req_free(r);
}

void verb_get(api_req *r)
{
	_cleanup_free_ char *key = storage_key(r->srv, r->rt.kind, r->rt.ns, r->rt.name);
	storage_get(r, key, got);
}

/* A list answer in the making: items matching the filter, as JSON text or Table rows. */
typedef struct list_state {
	api_filter filter;
	cJSON *table; /* Table output, else NULL */
	enum table_include include;
	ck_buf items;
	size_t n;
} list_state;

static void list_state_free(void *p)
{
	list_state *ls = p;
	api_filter_clear(&ls->filter);
	cJSON_Delete(ls->table);
	ck_buf_free(&ls->items);
	free(ls);
}

/* Adds obj when it matches; json is its serialization when known (else printed here). */
static void list_add(const cJSON *obj, const char *json, void *data)
{
	api_req *r = data;
	list_state *ls = r->verb_data;
	if (!api_filter_match(&ls->filter, obj))
		return;
	if (ls->table) {
		table_add_row(ls->table, r->rt.kind, obj, ls->include);
		return;
	}
	if (ls->n++)
		ck_buf_putc(&ls->items, ',');
	if (json) {
		ck_buf_puts(&ls->items, json);
	} else {
		_cleanup_free_ char *s = ck_json_print(obj);
		ck_buf_puts(&ls->items, s);
	}
}

/* Starts the answer of a list at revision: the List's head, or the Table's version. */
static void list_begin(api_req *r, int64_t revision)
{
	list_state *ls = r->verb_data;
	char rv[32], av[64];
	snprintf(rv, sizeof(rv), "%lld", (long long)revision);
	if (ls->table) {
		ck_json_set_str(ls->table, "metadata.resourceVersion", rv);
		return;
	}
	ck_buf_printf(&ls->items,
	              "{\"kind\":\"%sList\",\"apiVersion\":\"%s\",\"metadata\":{"
	              "\"resourceVersion\":\"%s\"},\"items\":[",
	              r->rt.kind->kind, kind_api_version(r->rt.kind, av, sizeof(av)), rv);
}

static void list_respond(api_req *r)
{
	list_state *ls = r->verb_data;
	if (ls->table) {
		_cleanup_free_ char *body = ck_json_print(ls->table);
		api_respond_json(r->x, 200, body);
	} else {
		ck_buf_puts(&ls->items, "]}");
		http_respond(r->x, 200, "application/json", ls->items.s, ls->items.len);
	}
	api_req_free(r);
}

static void listed(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	api_req *r = data;
	if (rc < 0) {
		status_storage_error(r->x, rc, err ? err->msg : ck_strerror(rc));
		api_req_free(r);
		return;
	}
	list_begin(r, res->revision);
	for (size_t i = 0; i < res->n_kvs; i++) {
		_cleanup_json_ cJSON *obj = storage_decode(
		    r->rt.kind, res->kvs[i].value, res->kvs[i].value_len, res->kvs[i].mod_revision);
		if (obj)
			list_add(obj, NULL, r);
	}
	list_respond(r);
}

void verb_list(api_req *r)
{
	list_state *ls = ck_calloc(1, sizeof(*ls));
	r->verb_data = ls;
	r->verb_free = list_state_free;
	if (api_filter_init(r, &ls->filter) < 0) {
		api_req_free(r);
		return;
	}
	if (r->output == OUTPUT_TABLE) {
		_cleanup_free_ char *inc = http_request_query(r->hr, "includeObject");
		ls->include = table_include_parse(inc);
		ls->table = table_new(r->rt.kind, NULL, false);
	}
	/* resourceVersion=0 means "any version": the watch cache answers, without etcd. */
	_cleanup_free_ char *rv = http_request_query(r->hr, "resourceVersion");
	if (rv && !strcmp(rv, "0")) {
		watch_cache *c = r->srv->caches[server_kind_index(r->rt.kind)];
		list_begin(r, watch_cache_revision(c));
		if (watch_cache_list(c, list_add, r) >= 0) {
			list_respond(r);
			return;
		}
		/* Re-listing after an etcd failure: read etcd instead. */
		ck_buf_clear(&ls->items);
	}
	_cleanup_free_ char *prefix = storage_prefix(r->srv, r->rt.kind, r->rt.ns);
	etcd_range(r->srv->etcd, &(etcd_range_req){.key = prefix, .prefix = true}, listed, r);
}
