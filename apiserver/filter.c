/* filter: namespace and selector matching for lists and watches. */
#include "filter.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "status.h"

int api_filter_init(api_req *r, api_filter *f)
{
	*f = (api_filter){.kind = r->rt.kind, .ns = ck_strdup_or_null(r->rt.ns)};
	_cleanup_free_ char *ls = http_request_query(r->hr, "labelSelector");
	_cleanup_free_ char *query_fs = http_request_query(r->hr, "fieldSelector");
	/* A watch on one object's path (.../pods/<name>?watch=1) selects it by name. */
	_cleanup_free_ char *fs =
	    r->rt.name ? ck_asprintf("metadata.name=%s%s%s", r->rt.name,
	                             query_fs && *query_fs ? "," : "", query_fs ? query_fs : "")
	               : ck_strdup(query_fs ? query_fs : "");
	_cleanup_err_ ck_err *err = NULL;
	if (selector_parse_labels(ls, &f->labels, &err) < 0 ||
	    selector_parse_fields(fs, &f->fields, &err) < 0) {
		status_bad_request(r->x, "%s", err->msg);
		api_filter_clear(f);
		return -1;
	}
	for (size_t i = 0; i < f->fields->n_reqs; i++) {
		if (!kind_field_supported(f->kind, f->fields->reqs[i].key)) {
			status_bad_request(r->x, "field label not supported: %s",
			                   f->fields->reqs[i].key);
			api_filter_clear(f);
			return -1;
		}
	}
	return 0;
}

typedef struct field_lookup {
	const cJSON *obj;
	char *last; /* the value returned last, freed on the next call */
} field_lookup;

static const char *field_get(const char *key, void *data)
{
	field_lookup *l = data;
	free(l->last);
	l->last = kind_field_value(l->obj, key);
	return l->last;
}

bool api_filter_match(const api_filter *f, const cJSON *obj)
{
	if (f->ns && f->kind->namespaced &&
	    strcmp(ck_json_get_str(obj, "metadata.namespace", ""), f->ns))
		return false;
	if (!selector_match_labels(f->labels, ck_json_get(obj, "metadata.labels")))
		return false;
	if (!f->fields->n_reqs)
		return true;
	field_lookup l = {.obj = obj};
	bool ok = selector_match(f->fields, field_get, &l);
	free(l.last);
	return ok;
}

void api_filter_clear(api_filter *f)
{
	free(f->ns);
	selector_free(f->labels);
	selector_free(f->fields);
	*f = (api_filter){0};
}
