/* server: request dispatch, content negotiation and responses shared by the verbs. */
#include "server.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/pb.h"
#include "base/json.h"
#include "base/log.h"
#include "base/version.h"
#include "base/yaml.h"
#include "status.h"
#include "table.h"
#include "watch_cache.h"

void api_req_free(api_req *r)
{
	if (!r)
		return;
	if (r->verb_free)
		r->verb_free(r->verb_data);
	cJSON_Delete(r->body);
	route_clear(&r->rt);
	free(r);
}

size_t server_kind_index(const kind_desc *k)
{
	size_t n;
	const kind_desc *const *all = kind_all(&n);
	for (size_t i = 0; i < n; i++)
		if (all[i] == k)
			return i;
	return 0;
}

bool api_query_bool(const api_req *r, const char *name)
{
	_cleanup_free_ char *v = http_request_query(r->hr, name);
	return v && strcmp(v, "0") && strcasecmp(v, "false");
}

int api_query_int(const api_req *r, const char *name, int64_t *out)
{
	_cleanup_free_ char *v = http_request_query(r->hr, name);
	if (!v || !*v)
		return 1;
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = n;
	return 0;
}

void api_respond_json(http_exchange *x, int code, const char *json)
{
	http_respond(x, code, "application/json", json, strlen(json));
}

void api_respond_object(api_req *r, int code, const cJSON *obj)
{
	const char *kind = ck_json_get_str(obj, "kind", "");
	_cleanup_free_ char *body = NULL;
	if (r->output == OUTPUT_TABLE && r->rt.kind && !r->rt.sub && strcmp(kind, "Status")) {
		_cleanup_free_ char *inc = http_request_query(r->hr, "includeObject");
		_cleanup_json_ cJSON *t = table_new(
		    r->rt.kind, ck_json_get_str(obj, "metadata.resourceVersion", NULL), false);
		table_add_row(t, r->rt.kind, obj, table_include_parse(inc));
		body = ck_json_print(t);
	} else {
		body = ck_json_print(obj);
	}
	api_respond_json(r->x, code, body);
}

/* Content negotiation: a Table when Accept asks for one; 406 when Accept admits no JSON. */
static int negotiate(api_req *r)
{
	const char *accept = http_request_header(r->hr, "Accept");
	if (!accept || !*accept)
		return 0;
	if (strstr(accept, "as=Table") && strstr(accept, "g=meta.k8s.io"))
		r->output = OUTPUT_TABLE;
	if (strstr(accept, "json") || strstr(accept, "*/*") || strstr(accept, "application/*"))
		return 0;
	status_send(r->x, status_new(406, "NotAcceptable", NULL,
	                             "only the following media types are accepted: "
	                             "application/json, application/yaml, "
	                             "application/vnd.kubernetes.protobuf"));
	return -1;
}

/* The media type of the body without parameters, lowercased into buf. */
static const char *content_type(const http_request *hr, char *buf, size_t n)
{
	const char *ct = http_request_header(hr, "Content-Type");
	size_t i = 0;
	for (; ct && ct[i] && ct[i] != ';' && ct[i] != ' ' && i + 1 < n; i++)
		buf[i] = (char)(ct[i] >= 'A' && ct[i] <= 'Z' ? ct[i] - 'A' + 'a' : ct[i]);
	buf[i] = '\0';
	return buf;
}

int api_decode_body(api_req *r)
{
	char ct[128];
	content_type(r->hr, ct, sizeof(ct));
	_cleanup_err_ ck_err *err = NULL;
	if (!r->hr->body_len) {
		status_bad_request(r->x, "the body of the request was empty");
		return -1;
	}
	if (!strcmp(ct, "application/vnd.kubernetes.protobuf")) {
		if (pb_decode_k8s((const uint8_t *)r->hr->body, r->hr->body_len, &r->body, &err) <
		    0) {
			status_bad_request(r->x, "failed to decode protobuf body: %s", err->msg);
			return -1;
		}
	} else if (!strcmp(ct, "application/yaml")) {
		r->body = ck_yaml_parse(r->hr->body, r->hr->body_len, &err);
	} else if (!*ct || !strcmp(ct, "application/json") || !strcmp(ct, "*/*")) {
		r->body = ck_json_parse(r->hr->body, r->hr->body_len, &err);
	} else {
		status_send(r->x,
		            status_new(415, "UnsupportedMediaType", NULL,
		                       "the body of the request was in an unknown format - "
		                       "accepted media types include: application/json, "
		                       "application/yaml, application/vnd.kubernetes.protobuf"));
		return -1;
	}
	if (!r->body || !cJSON_IsObject(r->body)) {
		status_bad_request(r->x, "the body of the request could not be decoded: %s",
		                   err ? err->msg : "not a JSON object");
		return -1;
	}
	return 0;
}

static void serve_version(http_exchange *x)
{
	const ck_version *v = ck_version_get();
	_cleanup_json_ cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "major", v->major);
	cJSON_AddStringToObject(o, "minor", v->minor);
	cJSON_AddStringToObject(o, "gitVersion", v->git_version);
	cJSON_AddStringToObject(o, "gitCommit", v->git_commit);
	cJSON_AddStringToObject(o, "gitTreeState", v->git_tree_state);
	cJSON_AddStringToObject(o, "buildDate", v->build_date);
	/* Upstream names the Go toolchain here; ckube has none. */
	cJSON_AddStringToObject(o, "goVersion", "");
	cJSON_AddStringToObject(o, "compiler", v->compiler);
	cJSON_AddStringToObject(o, "platform", v->platform);
	_cleanup_free_ char *body = ck_json_print(o);
	api_respond_json(x, 200, body);
}

static void etcd_answered(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	http_exchange *x = data;
	if (rc < 0) {
		_cleanup_free_ char *body = ck_asprintf("[-]etcd failed: %s\nreadyz check failed",
		                                        err ? err->msg : ck_strerror(rc));
		http_respond(x, 500, "text/plain; charset=utf-8", body, strlen(body));
		return;
	}
	http_respond(x, 200, "text/plain; charset=utf-8", "ok", 2);
}

/* /healthz and /livez: the process serves. /readyz also needs every watch cache to follow
 * etcd and etcd to answer a read. */
static void serve_health(apiserver *s, http_exchange *x, bool ready_check)
{
	if (!ready_check) {
		http_respond(x, 200, "text/plain; charset=utf-8", "ok", 2);
		return;
	}
	size_t n;
	const kind_desc *const *all = kind_all(&n);
	for (size_t i = 0; i < n; i++) {
		if (!watch_cache_synced(s->caches[i])) {
			_cleanup_free_ char *body =
			    ck_asprintf("[-]informer-sync failed: the %s cache is "
			                "re-listing\nreadyz check failed",
			                all[i]->plural);
			http_respond(x, 500, "text/plain; charset=utf-8", body, strlen(body));
			return;
		}
	}
	/* One key is enough to see that etcd answers a linearizable read. */
	_cleanup_free_ char *key = ck_asprintf("%s/namespaces/default", s->prefix);
	etcd_range(s->etcd, &(etcd_range_req){.key = key, .count_only = true}, etcd_answered, x);
}

void server_handle(http_exchange *x, void *data)
{
	apiserver *s = data;
	const http_request *hr = http_exchange_request(x);
	_cleanup_free_ char *w = http_request_query(hr, "watch");
	bool watch = w && strcmp(w, "0") && strcasecmp(w, "false");
	route rt;
	int rc = router_parse(hr->method, hr->path, watch, &rt);
	CK_V(4, "%s %s -> %s %s (%d)", hr->method, hr->raw_path, route_verb_name(rt.verb),
	     rt.kind ? rt.kind->plural : "-", rc);
	if (rc) {
		route_clear(&rt);
		if (rc == 405)
			status_method_not_allowed(x);
		else
			status_path_not_found(x);
		return;
	}
	switch (rt.type) {
	case ROUTE_VERSION:
		route_clear(&rt);
		serve_version(x);
		return;
	case ROUTE_HEALTH:
		route_clear(&rt);
		serve_health(s, x, !strncmp(hr->path, "/readyz", 7));
		return;
	case ROUTE_API_VERSIONS:
	case ROUTE_API_GROUPS:
	case ROUTE_API_GROUP:
	case ROUTE_RESOURCE_LIST:
		discovery_serve(x, &rt);
		route_clear(&rt);
		return;
	case ROUTE_OPENAPI_V2:
	case ROUTE_OPENAPI_V3:
		openapi_serve(x, &rt);
		route_clear(&rt);
		return;
	case ROUTE_NOT_FOUND:
		route_clear(&rt);
		status_path_not_found(x);
		return;
	case ROUTE_OBJECT:
		break;
	}
	api_req *r = ck_calloc(1, sizeof(*r));
	r->srv = s;
	r->x = x;
	r->hr = hr;
	r->rt = rt;
	_cleanup_free_ char *dry = http_request_query(hr, "dryRun");
	r->dry_run = dry && *dry;
	if (negotiate(r) < 0) {
		api_req_free(r);
		return;
	}
	if ((rt.verb == VERB_CREATE || rt.verb == VERB_UPDATE) && api_decode_body(r) < 0) {
		api_req_free(r);
		return;
	}
	if (rt.subres && rt.subres->type == KIND_SUB_NODE_LOG) {
		verb_log(r);
		return;
	}
	switch (rt.verb) {
	case VERB_GET:
		verb_get(r);
		break;
	case VERB_LIST:
		verb_list(r);
		break;
	case VERB_WATCH:
		verb_watch(r);
		break;
	case VERB_CREATE:
		verb_create(r);
		break;
	case VERB_UPDATE:
		verb_update(r);
		break;
	case VERB_PATCH:
		verb_patch(r);
		break;
	case VERB_DELETE:
		verb_delete(r);
		break;
	case VERB_DELETECOLLECTION:
		verb_deletecollection(r);
		break;
	default:
		status_method_not_allowed(x);
		api_req_free(r);
		break;
	}
}
