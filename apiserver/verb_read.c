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

static void got(api_req *r, const cJSON *obj)
{
	if (!obj) {
		status_not_found(r->x, r->rt.kind, r->rt.name);
	} else if (r->rt.sub && !strcmp(r->rt.sub, "scale")) {
		_cleanup_json_ cJSON *scale = scale_from_object(obj);
		api_respond_object(r, 200, scale);
	} else {
		api_respond_object(r, 200, obj);
	}
	api_req_free(r);
}

void verb_get(api_req *r)
{
	_cleanup_free_ char *key = storage_key(r->srv, r->rt.kind, r->rt.ns, r->rt.name);
	storage_get(r, key, got);
}

typedef struct list_state {
	api_filter filter;
} list_state;

static void list_state_free(void *p)
{
	list_state *ls = p;
	api_filter_clear(&ls->filter);
	free(ls);
}

static void listed(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	api_req *r = data;
	list_state *ls = r->verb_data;
	if (rc < 0) {
		status_storage_error(r->x, rc, err ? err->msg : ck_strerror(rc));
		api_req_free(r);
		return;
	}
	char rv[32];
	snprintf(rv, sizeof(rv), "%lld", (long long)res->revision);
	const kind_desc *k = r->rt.kind;
	_cleanup_json_ cJSON *table = NULL;
	_cleanup_buf_ ck_buf b = {0};
	if (r->output == OUTPUT_TABLE) {
		_cleanup_free_ char *inc = http_request_query(r->hr, "includeObject");
		table = table_new(k, rv, false);
		for (size_t i = 0; i < res->n_kvs; i++) {
			_cleanup_json_ cJSON *obj = storage_decode(
			    k, res->kvs[i].value, res->kvs[i].value_len, res->kvs[i].mod_revision);
			if (obj && api_filter_match(&ls->filter, obj))
				table_add_row(table, k, obj, table_include_parse(inc));
		}
		_cleanup_free_ char *body = ck_json_print(table);
		api_respond_json(r->x, 200, body);
		api_req_free(r);
		return;
	}
	char api_version[64];
	ck_buf_printf(&b,
	              "{\"kind\":\"%sList\",\"apiVersion\":\"%s\",\"metadata\":{"
	              "\"resourceVersion\":\"%s\"},\"items\":[",
	              k->kind, kind_api_version(k, api_version, sizeof(api_version)), rv);
	bool first = true;
	for (size_t i = 0; i < res->n_kvs; i++) {
		_cleanup_json_ cJSON *obj = storage_decode(
		    k, res->kvs[i].value, res->kvs[i].value_len, res->kvs[i].mod_revision);
		if (!obj || !api_filter_match(&ls->filter, obj))
			continue;
		_cleanup_free_ char *s = ck_json_print(obj);
		if (!first)
			ck_buf_putc(&b, ',');
		ck_buf_puts(&b, s);
		first = false;
	}
	ck_buf_puts(&b, "]}");
	http_respond(r->x, 200, "application/json", b.s, b.len);
	api_req_free(r);
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
	_cleanup_free_ char *prefix = storage_prefix(r->srv, r->rt.kind, r->rt.ns);
	etcd_range(r->srv->etcd, &(etcd_range_req){.key = prefix, .prefix = true}, listed, r);
}
