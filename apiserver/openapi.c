/* openapi: the OpenAPI documents kubectl reads (explain, validation, apply's patches).
 *
 * Both are built once, on the first request, from the schema and kind tables and kept as
 * bytes. /openapi/v2 is a protobuf openapi_v2.Document when the client asks for one
 * (client-go does), JSON otherwise. /openapi/v3 is an index of one JSON document per
 * group-version, each named with a hash of its content as upstream's are. */
#include "openapi.h"

#include <stdint.h>
#include <string.h>

#include "api/kind.h"
#include "api/schema.h"
#include "base/json.h"
#include "server.h"
#include "status.h"

#define REF_V2 "#/definitions/"
#define REF_V3 "#/components/schemas/"

/* ---- the documents ---- */

static cJSON *gvk_object(const kind_desc *k)
{
	cJSON *g = cJSON_CreateObject();
	cJSON_AddStringToObject(g, "group", k->group);
	cJSON_AddStringToObject(g, "kind", k->kind);
	cJSON_AddStringToObject(g, "version", k->version);
	return g;
}

/* Marks the definition of k's type as k's: its GVK and the TypeMeta fields that the
 * messages leave out. */
static void add_kind(cJSON *def, const kind_desc *k)
{
	cJSON *gvks = cJSON_GetObjectItemCaseSensitive(def, "x-kubernetes-group-version-kind");
	cJSON *props = cJSON_GetObjectItemCaseSensitive(def, "properties");
	static const char *const type_meta[] = {"apiVersion", "kind"};

	if (!gvks)
		gvks = cJSON_AddArrayToObject(def, "x-kubernetes-group-version-kind");
	cJSON_AddItemToArray(gvks, gvk_object(k));
	for (size_t i = 0; i < CK_ARRAY_SIZE(type_meta); i++) {
		if (!props || cJSON_GetObjectItemCaseSensitive(props, type_meta[i]))
			continue;
		cJSON *s = cJSON_AddObjectToObject(props, type_meta[i]);
		cJSON_AddStringToObject(s, "type", "string");
		cJSON_AddStringToObject(s, "description",
		                        i == 0 ? "The versioned schema of this object."
		                               : "The kind of this object.");
	}
}

/* A parameter of type string: v2 has the type in the parameter, v3 in its schema. */
static cJSON *parameter(bool v3, const char *name, const char *in, const char *description)
{
	cJSON *p = cJSON_CreateObject();
	cJSON *type = p;
	cJSON_AddStringToObject(p, "name", name);
	cJSON_AddStringToObject(p, "in", in);
	cJSON_AddStringToObject(p, "description", description);
	if (v3)
		type = cJSON_AddObjectToObject(p, "schema");
	cJSON_AddStringToObject(type, "type", "string");
	if (!strcmp(in, "path"))
		cJSON_AddBoolToObject(p, "required", true);
	else
		cJSON_AddBoolToObject(type, "uniqueItems", true);
	return p;
}

static cJSON *string_list(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

/* "/api/v1" or "/apis/<group>/<version>" (gv without the leading slash). */
static void gv_path(const kind_desc *k, char *buf, size_t n)
{
	if (k->group[0])
		snprintf(buf, n, "apis/%s/%s", k->group, k->version);
	else
		snprintf(buf, n, "api/%s", k->version);
}

/* Marks t and every type its fields reach in used (indexed as schema_all). */
static void mark_used(const schema_type *t, const schema_type *all, bool *used)
{
	if (used[t - all])
		return;
	used[t - all] = true;
	for (size_t i = 0; i < t->n_fields; i++)
		if (t->fields[i].type)
			mark_used(t->fields[i].type, all, used);
}

/* The schemas (v2 definitions, v3 components.schemas) of the types that the kinds of
 * group-version gv reach (every type when gv is NULL); the kinds' marked. */
static cJSON *schemas(const char *ref_prefix, const char *gv)
{
	cJSON *defs = cJSON_CreateObject();
	size_t n_types, n_kinds;
	const schema_type *types = schema_all(&n_types);
	const kind_desc *const *kinds = kind_all(&n_kinds);
	_cleanup_free_ bool *used = ck_calloc(n_types, sizeof(*used));

	for (size_t i = 0; i < n_kinds; i++) {
		const schema_type *t = schema_type_of_kind(kinds[i]);
		char kgv[128];
		gv_path(kinds[i], kgv, sizeof(kgv));
		if (t && gv && !strcmp(gv, kgv))
			mark_used(t, types, used);
	}
	for (size_t i = 0; i < n_types; i++) {
		cJSON *def = gv && !used[i] ? NULL : schema_openapi(&types[i], ref_prefix);
		if (def)
			cJSON_AddItemToObject(defs, types[i].openapi_name, def);
	}
	for (size_t i = 0; i < n_kinds; i++) {
		const schema_type *t = schema_type_of_kind(kinds[i]);
		cJSON *def = t ? cJSON_GetObjectItemCaseSensitive(defs, t->openapi_name) : NULL;
		if (def)
			add_kind(def, kinds[i]);
	}
	return defs;
}

/* The path of one object of k, with its PATCH operation. */
static void add_path(cJSON *paths, bool v3, const kind_desc *k, const schema_type *t)
{
	static const char *const consumes[] = {
	    "application/json-patch+json", "application/merge-patch+json",
	    "application/strategic-merge-patch+json", "application/apply-patch+yaml"};
	static const char *const produces[] = {"application/json", "application/yaml"};
	_cleanup_free_ char *path = NULL, *desc = NULL, *ref = NULL;
	char gv[128];

	gv_path(k, gv, sizeof(gv));
	path = ck_asprintf("/%s%s/%s/{name}", gv, k->namespaced ? "/namespaces/{namespace}" : "",
	                   k->plural);
	if (cJSON_GetObjectItemCaseSensitive(paths, path))
		return;
	cJSON *item = cJSON_AddObjectToObject(paths, path);
	cJSON *params = cJSON_AddArrayToObject(item, "parameters");
	cJSON_AddItemToArray(params, parameter(v3, "name", "path", "The name of the object."));
	if (k->namespaced)
		cJSON_AddItemToArray(params,
		                     parameter(v3, "namespace", "path", "The object's namespace."));

	cJSON *op = cJSON_AddObjectToObject(item, "patch");
	desc = ck_asprintf("partially update the specified %s", k->kind);
	cJSON_AddStringToObject(op, "description", desc);
	if (!v3) {
		cJSON_AddItemToObject(op, "consumes",
		                      string_list(consumes, CK_ARRAY_SIZE(consumes)));
		cJSON_AddItemToObject(op, "produces",
		                      string_list(produces, CK_ARRAY_SIZE(produces)));
	}
	params = cJSON_AddArrayToObject(op, "parameters");
	cJSON_AddItemToArray(params,
	                     parameter(v3, "dryRun", "query", "All: validate, store nothing."));
	cJSON_AddItemToArray(params,
	                     parameter(v3, "fieldManager", "query", "The name of the actor."));
	cJSON_AddItemToArray(params, parameter(v3, "fieldValidation", "query",
	                                       "Ignore, Warn or Strict: what unknown fields do."));
	cJSON_AddItemToArray(params,
	                     parameter(v3, "force", "query", "Apply: take conflicting fields."));
	cJSON *ok = cJSON_AddObjectToObject(cJSON_AddObjectToObject(op, "responses"), "200");
	cJSON_AddStringToObject(ok, "description", "OK");
	ref = ck_asprintf("%s%s", v3 ? REF_V3 : REF_V2, t->openapi_name);
	cJSON *schema = v3 ? cJSON_AddObjectToObject(
	                         cJSON_AddObjectToObject(cJSON_AddObjectToObject(ok, "content"),
	                                                 "application/json"),
	                         "schema")
	                   : cJSON_AddObjectToObject(ok, "schema");
	cJSON_AddStringToObject(schema, "$ref", ref);
	cJSON_AddStringToObject(op, "x-kubernetes-action", "patch");
	cJSON_AddItemToObject(op, "x-kubernetes-group-version-kind", gvk_object(k));
}

static cJSON *info(void)
{
	cJSON *i = cJSON_CreateObject();
	cJSON_AddStringToObject(i, "title", "Kubernetes");
	cJSON_AddStringToObject(i, "version", CKUBE_VERSION);
	return i;
}

/* The paths of every kind (gv NULL) or of the kinds of group-version gv ("api/v1"). */
static cJSON *kind_paths(bool v3, const char *gv)
{
	cJSON *paths = cJSON_CreateObject();
	size_t n;
	const kind_desc *const *kinds = kind_all(&n);

	for (size_t i = 0; i < n; i++) {
		const schema_type *t = schema_type_of_kind(kinds[i]);
		char kgv[128];
		gv_path(kinds[i], kgv, sizeof(kgv));
		if (t && (!gv || !strcmp(gv, kgv)))
			add_path(paths, v3, kinds[i], t);
	}
	return paths;
}

cJSON *openapi_v2_document(void)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "swagger", "2.0");
	cJSON_AddItemToObject(doc, "info", info());
	cJSON_AddItemToObject(doc, "paths", kind_paths(false, NULL));
	cJSON_AddItemToObject(doc, "definitions", schemas(REF_V2, NULL));
	return doc;
}

cJSON *openapi_v3_document(const char *gv)
{
	cJSON *paths = kind_paths(true, gv);
	if (!paths->child) {
		cJSON_Delete(paths);
		return NULL;
	}
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "openapi", "3.0.0");
	cJSON_AddItemToObject(doc, "info", info());
	cJSON_AddItemToObject(doc, "paths", paths);
	cJSON_AddItemToObject(cJSON_AddObjectToObject(doc, "components"), "schemas",
	                      schemas(REF_V3, gv));
	return doc;
}

/* ---- the protobuf form (gnostic's field numbers, proto/openapi/openapiv2.proto) ---- */

static void pw_varint(ck_buf *b, uint64_t v)
{
	do {
		uint8_t c = v & 0x7f;
		v >>= 7;
		if (v)
			c |= 0x80;
		ck_buf_putc(b, (char)c);
	} while (v);
}

static void pw_bytes(ck_buf *b, unsigned field, const void *p, size_t n)
{
	pw_varint(b, (uint64_t)field << 3 | 2);
	pw_varint(b, n);
	ck_buf_append(b, p, n);
}

static void pw_str(ck_buf *b, unsigned field, const char *s)
{
	pw_bytes(b, field, s, strlen(s));
}

static void pw_bool(ck_buf *b, unsigned field, bool v)
{
	pw_varint(b, (uint64_t)field << 3);
	pw_varint(b, v);
}

/* Appends sub as field of b and frees sub. */
static void pw_msg(ck_buf *b, unsigned field, ck_buf *sub)
{
	pw_bytes(b, field, sub->s ? sub->s : "", sub->len);
	ck_buf_free(sub);
}

/* An Any holding v as YAML (JSON is YAML). */
static void pw_any(ck_buf *b, unsigned field, const cJSON *v)
{
	_cleanup_free_ char *text = cJSON_PrintUnformatted(v);
	ck_buf any = {0};
	pw_str(&any, 2, text);
	pw_msg(b, field, &any);
}

/* A vendor extension: NamedAny {name, Any}. */
static void pw_extension(ck_buf *b, unsigned field, const cJSON *item)
{
	ck_buf named = {0};
	pw_str(&named, 1, item->string);
	pw_any(&named, 2, item);
	pw_msg(b, field, &named);
}

static void pw_schema(ck_buf *b, unsigned field, const cJSON *s);

/* A map of schemas (Properties, Definitions): repeated NamedSchema {name, Schema}. */
static void pw_named_schemas(ck_buf *b, unsigned field, const cJSON *map)
{
	ck_buf m = {0};
	const cJSON *it;
	cJSON_ArrayForEach(it, map)
	{
		ck_buf named = {0};
		pw_str(&named, 1, it->string);
		pw_schema(&named, 2, it);
		pw_msg(&m, 1, &named);
	}
	pw_msg(b, field, &m);
}

/* Wraps s's schema in a one-field message (ItemsItem, SchemaItem, AdditionalPropertiesItem). */
static void pw_schema_in(ck_buf *b, unsigned field, const cJSON *s)
{
	ck_buf wrap = {0};
	pw_schema(&wrap, 1, s);
	pw_msg(b, field, &wrap);
}

static void pw_schema(ck_buf *b, unsigned field, const cJSON *s)
{
	ck_buf m = {0};
	const cJSON *it;
	cJSON_ArrayForEach(it, s)
	{
		const char *k = it->string;
		if (!strcmp(k, "$ref")) {
			pw_str(&m, 1, it->valuestring);
		} else if (!strcmp(k, "format")) {
			pw_str(&m, 2, it->valuestring);
		} else if (!strcmp(k, "description")) {
			pw_str(&m, 4, it->valuestring);
		} else if (!strcmp(k, "default")) {
			pw_any(&m, 5, it);
		} else if (!strcmp(k, "additionalProperties")) {
			pw_schema_in(&m, 21, it);
		} else if (!strcmp(k, "type")) {
			ck_buf type = {0};
			pw_str(&type, 1, it->valuestring);
			pw_msg(&m, 22, &type);
		} else if (!strcmp(k, "items")) {
			pw_schema_in(&m, 23, it);
		} else if (!strcmp(k, "properties")) {
			pw_named_schemas(&m, 25, it);
		} else if (!strncmp(k, "x-", 2)) {
			pw_extension(&m, 31, it);
		}
	}
	pw_msg(b, field, &m);
}

/* ParametersItem {Parameter {NonBodyParameter {query or path sub-schema}}}. */
static void pw_parameter(ck_buf *b, unsigned field, const cJSON *p)
{
	bool path = !strcmp(ck_json_get_str(p, "in", ""), "path");
	ck_buf sub = {0}, non_body = {0}, param = {0}, item = {0};

	pw_bool(&sub, 1, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "required")));
	pw_str(&sub, 2, ck_json_get_str(p, "in", ""));
	pw_str(&sub, 3, ck_json_get_str(p, "description", ""));
	pw_str(&sub, 4, ck_json_get_str(p, "name", ""));
	pw_str(&sub, path ? 5 : 6, ck_json_get_str(p, "type", ""));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "uniqueItems")))
		pw_bool(&sub, path ? 19 : 20, true);
	pw_msg(&non_body, path ? 4 : 3, &sub);
	pw_msg(&param, 2, &non_body);
	pw_msg(&item, 1, &param);
	pw_msg(b, field, &item);
}

static void pw_strings(ck_buf *b, unsigned field, const cJSON *list)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
	{
		if (cJSON_IsString(it))
			pw_str(b, field, it->valuestring);
	}
}

/* Responses {repeated NamedResponseValue {code, ResponseValue {Response}}}. */
static void pw_responses(ck_buf *b, unsigned field, const cJSON *responses)
{
	ck_buf m = {0};
	const cJSON *it;
	cJSON_ArrayForEach(it, responses)
	{
		ck_buf named = {0}, value = {0}, resp = {0};
		const cJSON *schema = cJSON_GetObjectItemCaseSensitive(it, "schema");
		pw_str(&resp, 1, ck_json_get_str(it, "description", ""));
		if (schema)
			pw_schema_in(&resp, 2, schema);
		pw_msg(&value, 1, &resp);
		pw_str(&named, 1, it->string);
		pw_msg(&named, 2, &value);
		pw_msg(&m, 1, &named);
	}
	pw_msg(b, field, &m);
}

static void pw_operation(ck_buf *b, unsigned field, const cJSON *op)
{
	ck_buf m = {0};
	const cJSON *it;
	cJSON_ArrayForEach(it, op)
	{
		const char *k = it->string;
		if (!strcmp(k, "description")) {
			pw_str(&m, 3, it->valuestring);
		} else if (!strcmp(k, "produces")) {
			pw_strings(&m, 6, it);
		} else if (!strcmp(k, "consumes")) {
			pw_strings(&m, 7, it);
		} else if (!strcmp(k, "parameters")) {
			const cJSON *p;
			cJSON_ArrayForEach(p, it)
			{
				pw_parameter(&m, 8, p);
			}
		} else if (!strcmp(k, "responses")) {
			pw_responses(&m, 9, it);
		} else if (!strncmp(k, "x-", 2)) {
			pw_extension(&m, 13, it);
		}
	}
	pw_msg(b, field, &m);
}

/* Paths {repeated NamedPathItem {name, PathItem {get, patch, parameters}}}. */
static void pw_paths(ck_buf *b, unsigned field, const cJSON *paths)
{
	ck_buf m = {0};
	const cJSON *it;
	cJSON_ArrayForEach(it, paths)
	{
		ck_buf named = {0}, item = {0};
		const cJSON *v;
		cJSON_ArrayForEach(v, it)
		{
			if (!strcmp(v->string, "get") || !strcmp(v->string, "patch")) {
				pw_operation(&item, v->string[0] == 'g' ? 2 : 8, v);
			} else if (!strcmp(v->string, "parameters")) {
				const cJSON *p;
				cJSON_ArrayForEach(p, v)
				{
					pw_parameter(&item, 9, p);
				}
			}
		}
		pw_str(&named, 1, it->string);
		pw_msg(&named, 2, &item);
		pw_msg(&m, 2, &named);
	}
	pw_msg(b, field, &m);
}

void openapi_v2_protobuf(const cJSON *doc, ck_buf *out)
{
	const cJSON *info = cJSON_GetObjectItemCaseSensitive(doc, "info");
	ck_buf m = {0};

	pw_str(out, 1, ck_json_get_str(doc, "swagger", "2.0"));
	pw_str(&m, 1, ck_json_get_str(info, "title", ""));
	pw_str(&m, 2, ck_json_get_str(info, "version", ""));
	pw_msg(out, 2, &m);
	pw_paths(out, 8, cJSON_GetObjectItemCaseSensitive(doc, "paths"));
	pw_named_schemas(out, 9, cJSON_GetObjectItemCaseSensitive(doc, "definitions"));
}

/* ---- serving ---- */

/* Built on the first request and kept for the process's life. */
static struct {
	ck_buf json, pb;
} v2;

/* The v3 documents, one per group-version, and their index. */
static struct v3_doc {
	char *gv; /* "api/v1", "apis/apps/v1" */
	ck_buf json;
} * v3;
static size_t n_v3;
static ck_buf v3_index;

static void v2_build(void)
{
	_cleanup_json_ cJSON *doc = openapi_v2_document();
	_cleanup_free_ char *text = cJSON_PrintUnformatted(doc);
	ck_buf_puts(&v2.json, text);
	openapi_v2_protobuf(doc, &v2.pb);
}

/* FNV-1a: the hash in each document's URL, which clients cache by. */
static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static void v3_build(void)
{
	size_t n;
	const kind_desc *const *kinds = kind_all(&n);
	_cleanup_json_ cJSON *index = cJSON_CreateObject();
	cJSON *paths = cJSON_AddObjectToObject(index, "paths");

	v3 = ck_calloc(n, sizeof(*v3));
	for (size_t i = 0; i < n; i++) {
		char gv[128];
		gv_path(kinds[i], gv, sizeof(gv));
		if (cJSON_GetObjectItemCaseSensitive(paths, gv))
			continue;
		_cleanup_json_ cJSON *doc = openapi_v3_document(gv);
		if (!doc)
			continue;
		_cleanup_free_ char *text = cJSON_PrintUnformatted(doc);
		struct v3_doc *d = &v3[n_v3++];
		d->gv = ck_strdup(gv);
		ck_buf_puts(&d->json, text);
		_cleanup_free_ char *url =
		    ck_asprintf("/openapi/v3/%s?hash=%016llX", gv,
		                (unsigned long long)fnv1a(d->json.s, d->json.len));
		cJSON_AddStringToObject(cJSON_AddObjectToObject(paths, gv), "serverRelativeURL",
		                        url);
	}
	_cleanup_free_ char *text = cJSON_PrintUnformatted(index);
	ck_buf_puts(&v3_index, text);
}

void openapi_serve(http_exchange *x, const route *rt)
{
	if (rt->type == ROUTE_OPENAPI_V2) {
		const char *accept = http_request_header(http_exchange_request(x), "Accept");
		if (!v2.json.len)
			v2_build();
		if (accept && strstr(accept, "application/com.github.proto-openapi.spec.v2"))
			http_respond(x, 200,
			             "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
			             v2.pb.s, v2.pb.len);
		else
			http_respond(x, 200, "application/json", v2.json.s, v2.json.len);
		return;
	}
	if (!v3_index.len)
		v3_build();
	if (!rt->sub || !rt->sub[0]) {
		http_respond(x, 200, "application/json", v3_index.s, v3_index.len);
		return;
	}
	for (size_t i = 0; i < n_v3; i++)
		if (!strcmp(v3[i].gv, rt->sub)) {
			http_respond(x, 200, "application/json", v3[i].json.s, v3[i].json.len);
			return;
		}
	status_path_not_found(x);
}
