/* The OpenAPI documents the apiserver serves: definitions named as upstream with the
 * kinds' GVKs, every $ref resolving, PATCH paths with fieldValidation, the v2 protobuf
 * form client-go decodes (read back with proto/openapi/openapiv2.proto), and v3's
 * per-group-version documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "base/json.h"
#include "openapi.h"
#include "openapi/openapiv2.pb-c.h"

/* Fails unless every "$ref" under v is prefix followed by the name of a schema of defs. */
static void check_refs(const cJSON *v, const char *prefix, const cJSON *defs, size_t *n)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, v)
	{
		if (it->string && !strcmp(it->string, "$ref")) {
			assert_true(!strncmp(it->valuestring, prefix, strlen(prefix)));
			if (!cJSON_GetObjectItemCaseSensitive(defs,
			                                      it->valuestring + strlen(prefix)))
				fail_msg("dangling $ref %s", it->valuestring);
			(*n)++;
		}
		check_refs(it, prefix, defs, n);
	}
}

static void test_document(void **state)
{
	_cleanup_json_ cJSON *doc = openapi_v2_document();
	const cJSON *defs = cJSON_GetObjectItemCaseSensitive(doc, "definitions");
	size_t refs = 0;

	assert_string_equal(ck_json_get_str(doc, "swagger", ""), "2.0");
	check_refs(doc, "#/definitions/", defs, &refs);
	assert_true(refs > 100);

	const cJSON *pod = cJSON_GetObjectItemCaseSensitive(defs, "io.k8s.api.core.v1.Pod");
	const cJSON *gvk = ck_json_get(pod, "x-kubernetes-group-version-kind");
	assert_int_equal(cJSON_GetArraySize(gvk), 1);
	assert_string_equal(ck_json_get_str(cJSON_GetArrayItem(gvk, 0), "group", "x"), "");
	assert_string_equal(ck_json_get_str(cJSON_GetArrayItem(gvk, 0), "kind", ""), "Pod");
	assert_string_equal(ck_json_get_str(pod, "properties.apiVersion.type", ""), "string");
	assert_string_equal(ck_json_get_str(pod, "properties.spec.$ref", ""),
	                    "#/definitions/io.k8s.api.core.v1.PodSpec");
	/* Types that are no kind have no GVK and no TypeMeta fields. */
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(defs, "io.k8s.api.core.v1.PodSpec");
	assert_null(ck_json_get(spec, "x-kubernetes-group-version-kind"));
	assert_null(ck_json_get(spec, "properties.kind"));

	/* Every kind has a definition and a PATCH path kubectl finds fieldValidation on. */
	size_t n;
	const kind_desc *const *kinds = kind_all(&n);
	const cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		const cJSON *p;
		cJSON_ArrayForEach(p, paths)
		{
			const cJSON *g = ck_json_get(p, "patch.x-kubernetes-group-version-kind");
			if (strcmp(ck_json_get_str(g, "kind", ""), kinds[i]->kind) ||
			    strcmp(ck_json_get_str(g, "group", ""), kinds[i]->group))
				continue;
			const cJSON *param;
			cJSON_ArrayForEach(param, ck_json_get(p, "patch.parameters"))
			{
				found |= !strcmp(ck_json_get_str(param, "name", ""),
				                 "fieldValidation") &&
				         !strcmp(ck_json_get_str(param, "in", ""), "query");
			}
		}
		if (!found)
			fail_msg("no PATCH path with fieldValidation for %s", kinds[i]->kind);
	}
	assert_non_null(cJSON_GetObjectItemCaseSensitive(
	    paths, "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"));
	assert_non_null(cJSON_GetObjectItemCaseSensitive(paths, "/api/v1/nodes/{name}"));
}

static const Openapi__V2__Schema *named(Openapi__V2__NamedSchema **v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i]->name, name))
			return v[i]->value;
	fail_msg("no schema %s", name);
	return NULL;
}

static const char *extension(const Openapi__V2__Schema *s, const char *name)
{
	for (size_t i = 0; i < s->n_vendor_extension; i++)
		if (!strcmp(s->vendor_extension[i]->name, name))
			return s->vendor_extension[i]->value->yaml;
	return NULL;
}

static void test_protobuf(void **state)
{
	_cleanup_json_ cJSON *doc = openapi_v2_document();
	_cleanup_buf_ ck_buf b = {0};

	openapi_v2_protobuf(doc, &b);
	Openapi__V2__Document *d = openapi__v2__document__unpack(NULL, b.len, (const uint8_t *)b.s);
	assert_non_null(d);
	assert_string_equal(d->swagger, "2.0");
	assert_string_equal(d->info->title, "Kubernetes");
	assert_int_equal(d->definitions->n_additional_properties,
	                 cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "definitions")));

	Openapi__V2__NamedSchema **defs = d->definitions->additional_properties;
	size_t n = d->definitions->n_additional_properties;
	const Openapi__V2__Schema *pod = named(defs, n, "io.k8s.api.core.v1.Pod");
	assert_string_equal(pod->type->value[0], "object");
	_cleanup_json_ cJSON *gvk = cJSON_Parse(extension(pod, "x-kubernetes-group-version-kind"));
	assert_string_equal(ck_json_get_str(cJSON_GetArrayItem(gvk, 0), "version", ""), "v1");

	const Openapi__V2__Schema *spec = named(defs, n, "io.k8s.api.core.v1.PodSpec");
	const Openapi__V2__Schema *containers =
	    named(spec->properties->additional_properties,
	          spec->properties->n_additional_properties, "containers");
	assert_string_equal(extension(containers, "x-kubernetes-patch-merge-key"), "\"name\"");
	assert_string_equal(containers->items->schema[0]->_ref,
	                    "#/definitions/io.k8s.api.core.v1.Container");
	const Openapi__V2__Schema *sel =
	    named(spec->properties->additional_properties,
	          spec->properties->n_additional_properties, "nodeSelector");
	assert_int_equal(sel->additional_properties->oneof_case,
	                 OPENAPI__V2__ADDITIONAL_PROPERTIES_ITEM__ONEOF_SCHEMA);
	assert_string_equal(sel->additional_properties->schema->type->value[0], "string");
	const Openapi__V2__Schema *time =
	    named(defs, n, "io.k8s.apimachinery.pkg.apis.meta.v1.Time");
	assert_string_equal(time->format, "date-time");

	/* The PATCH operation of pods, with its GVK and the fieldValidation parameter. */
	const Openapi__V2__Operation *op = NULL;
	for (size_t i = 0; i < d->paths->n_path; i++)
		if (!strcmp(d->paths->path[i]->name, "/api/v1/namespaces/{namespace}/pods/{name}"))
			op = d->paths->path[i]->value->patch;
	assert_non_null(op);
	bool validation = false;
	for (size_t i = 0; i < op->n_parameters; i++) {
		const Openapi__V2__NonBodyParameter *nb =
		    op->parameters[i]->parameter->non_body_parameter;
		validation |=
		    nb->oneof_case ==
		        OPENAPI__V2__NON_BODY_PARAMETER__ONEOF_QUERY_PARAMETER_SUB_SCHEMA &&
		    !strcmp(nb->query_parameter_sub_schema->name, "fieldValidation");
	}
	assert_true(validation);
	bool has_gvk = false;
	for (size_t i = 0; i < op->n_vendor_extension; i++)
		if (!strcmp(op->vendor_extension[i]->name, "x-kubernetes-group-version-kind")) {
			_cleanup_json_ cJSON *g = cJSON_Parse(op->vendor_extension[i]->value->yaml);
			has_gvk = !strcmp(ck_json_get_str(g, "kind", ""), "Pod");
		}
	assert_true(has_gvk);
	openapi__v2__document__free_unpacked(d, NULL);
}

/* v3: one document per group-version, holding the types its kinds reach. */
static void test_v3(void **state)
{
	_cleanup_json_ cJSON *core = openapi_v3_document("api/v1");
	_cleanup_json_ cJSON *apps = openapi_v3_document("apis/apps/v1");
	size_t refs = 0;

	assert_non_null(core);
	assert_non_null(apps);
	assert_null(openapi_v3_document("apis/nope/v1"));
	assert_string_equal(ck_json_get_str(core, "openapi", ""), "3.0.0");
	const cJSON *schemas = ck_json_get(core, "components.schemas");
	check_refs(core, "#/components/schemas/", schemas, &refs);
	assert_true(refs > 50);
	const cJSON *pod = cJSON_GetObjectItemCaseSensitive(schemas, "io.k8s.api.core.v1.Pod");
	assert_string_equal(
	    ck_json_get_str(
	        cJSON_GetArrayItem(ck_json_get(pod, "x-kubernetes-group-version-kind"), 0), "kind",
	        ""),
	    "Pod");
	assert_string_equal(ck_json_get_str(pod, "properties.spec.$ref", ""),
	                    "#/components/schemas/io.k8s.api.core.v1.PodSpec");
	/* Types only other groups use stay out. */
	assert_null(cJSON_GetObjectItemCaseSensitive(schemas, "io.k8s.api.apps.v1.DeploymentSpec"));
	assert_non_null(cJSON_GetObjectItemCaseSensitive(ck_json_get(apps, "components.schemas"),
	                                                 "io.k8s.api.core.v1.PodTemplateSpec"));
	refs = 0;
	check_refs(apps, "#/components/schemas/", ck_json_get(apps, "components.schemas"), &refs);

	const cJSON *patch = ck_json_get(
	    cJSON_GetObjectItemCaseSensitive(ck_json_get(core, "paths"),
	                                     "/api/v1/namespaces/{namespace}/pods/{name}"),
	    "patch");
	bool validation = false;
	const cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(patch, "parameters"))
	{
		validation |= !strcmp(ck_json_get_str(p, "name", ""), "fieldValidation") &&
		              !strcmp(ck_json_get_str(p, "in", ""), "query") &&
		              !strcmp(ck_json_get_str(p, "schema.type", ""), "string");
	}
	assert_true(validation);
	assert_string_equal(
	    ck_json_get_str(ck_json_get(patch, "x-kubernetes-group-version-kind"), "kind", ""),
	    "Pod");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_document),
	    cmocka_unit_test(test_protobuf),
	    cmocka_unit_test(test_v3),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
