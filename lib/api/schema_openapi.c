/* schema_openapi: a schema type as an OpenAPI schema object. */
#include "api/schema.h"

#include "base/json.h"
#include "base/strbuf.h"

static void put_type(cJSON *s, const char *type, const char *format)
{
	cJSON_AddStringToObject(s, "type", type);
	if (format)
		cJSON_AddStringToObject(s, "format", format);
}

/* The schema of one value of f (an element for lists, a value for maps). */
static cJSON *value_schema(const schema_field *f, const char *ref_prefix)
{
	cJSON *s = cJSON_CreateObject();
	switch (f->kind) {
	case SCHEMA_STRING:
		put_type(s, "string", NULL);
		break;
	case SCHEMA_BOOL:
		put_type(s, "boolean", NULL);
		break;
	case SCHEMA_INT32:
		put_type(s, "integer", "int32");
		break;
	case SCHEMA_INT64:
		put_type(s, "integer", "int64");
		break;
	case SCHEMA_NUMBER:
		put_type(s, "number", "double");
		break;
	case SCHEMA_BYTES:
		put_type(s, "string", "byte");
		break;
	case SCHEMA_MESSAGE: {
		_cleanup_free_ char *ref = ck_asprintf("%s%s", ref_prefix, f->type->openapi_name);
		cJSON_AddStringToObject(s, "$ref", ref);
		break;
	}
	}
	return s;
}

static cJSON *string_array(const char *const *v)
{
	cJSON *a = cJSON_CreateArray();
	for (; *v; v++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*v));
	return a;
}

static cJSON *field_schema(const schema_field *f, const char *ref_prefix)
{
	static const char *const list_types[] = {NULL, "atomic", "set", "map"};
	cJSON *s;

	if (f->repeated || f->map) {
		s = cJSON_CreateObject();
		put_type(s, f->map ? "object" : "array", NULL);
		cJSON_AddItemToObject(s, f->map ? "additionalProperties" : "items",
		                      value_schema(f, ref_prefix));
	} else {
		s = value_schema(f, ref_prefix);
	}
	if (f->description)
		cJSON_AddStringToObject(s, "description", f->description);
	if (f->default_json) {
		cJSON *d = cJSON_Parse(f->default_json);
		if (d)
			cJSON_AddItemToObject(s, "default", d);
	}
	if (f->strategy) {
		_cleanup_buf_ ck_buf b = {0};
		if (f->strategy & SCHEMA_PATCH_MERGE)
			ck_buf_puts(&b, "merge");
		if (f->strategy & SCHEMA_PATCH_REPLACE)
			ck_buf_printf(&b, "%sreplace", b.len ? "," : "");
		if (f->strategy & SCHEMA_PATCH_RETAIN_KEYS)
			ck_buf_printf(&b, "%sretainKeys", b.len ? "," : "");
		cJSON_AddStringToObject(s, "x-kubernetes-patch-strategy", ck_buf_str(&b));
	}
	if (f->merge_key)
		cJSON_AddStringToObject(s, "x-kubernetes-patch-merge-key", f->merge_key);
	if (f->list_type)
		cJSON_AddStringToObject(s, "x-kubernetes-list-type", list_types[f->list_type]);
	if (f->list_map_keys)
		cJSON_AddItemToObject(s, "x-kubernetes-list-map-keys",
		                      string_array(f->list_map_keys));
	if (f->map_atomic)
		cJSON_AddStringToObject(s, "x-kubernetes-map-type", "atomic");
	return s;
}

/* Adds t's fields to props; an inlined struct's fields sit among them. */
static void add_properties(cJSON *props, const schema_type *t, const char *ref_prefix)
{
	for (size_t i = 0; i < t->n_fields; i++) {
		const schema_field *f = &t->fields[i];
		if (f->inline_)
			add_properties(props, f->type, ref_prefix);
		else
			cJSON_AddItemToObject(props, f->name, field_schema(f, ref_prefix));
	}
}

cJSON *schema_openapi(const schema_type *t, const char *ref_prefix)
{
	cJSON *s;

	if (t->special == SCHEMA_MAP_ENTRY)
		return NULL;
	s = cJSON_CreateObject();
	if (t->description)
		cJSON_AddStringToObject(s, "description", t->description);
	switch (t->special) {
	case SCHEMA_TIME:
	case SCHEMA_MICRO_TIME:
		put_type(s, "string", "date-time");
		break;
	case SCHEMA_DURATION:
	case SCHEMA_QUANTITY:
		put_type(s, "string", NULL);
		break;
	case SCHEMA_INT_OR_STRING:
		put_type(s, "string", "int-or-string");
		break;
	case SCHEMA_RAW_EXTENSION:
	case SCHEMA_FIELDS_V1:
		put_type(s, "object", NULL);
		break;
	case SCHEMA_EXTRA_VALUE: {
		cJSON *items = cJSON_AddObjectToObject(s, "items");
		put_type(s, "array", NULL);
		put_type(items, "string", NULL);
		break;
	}
	case SCHEMA_OBJECT:
	case SCHEMA_MAP_ENTRY:
		put_type(s, "object", NULL);
		add_properties(cJSON_AddObjectToObject(s, "properties"), t, ref_prefix);
		break;
	}
	return s;
}
