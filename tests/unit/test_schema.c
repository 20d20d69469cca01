/* The schema tables generated from proto/k8s and proto/k8s/annotations.txt: lookups,
 * upstream's merge keys and list types, inlined structs, keep-zero fields, the
 * OpenAPI fragments built from them, and the generator's refusal of bad annotations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/kind.h"
#include "api/schema.h"
#include "base/json.h"
#include "base/strbuf.h"
#include "k8s/core.pb-c.h"

static const schema_type *type(const char *name)
{
	const schema_type *t = schema_type_by_name(name);
	if (!t)
		fail_msg("no schema type %s", name);
	return t;
}

static const schema_field *field(const char *type_name, const char *name)
{
	const schema_field *f = schema_field_find(type(type_name), name);
	if (!f)
		fail_msg("no field %s in %s", name, type_name);
	return f;
}

static void assert_keys(const char *const *keys, const char *a, const char *b)
{
	assert_non_null(keys);
	assert_string_equal(keys[0], a);
	if (b)
		assert_string_equal(keys[1], b);
	assert_null(keys[b ? 2 : 1]);
}

static void test_lookup(void **state)
{
	size_t n;
	const schema_type *all = schema_all(&n);

	assert_true(n > 200);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(all[i - 1].name, all[i].name) < 0);
	assert_ptr_equal(schema_type_of(&k8s__io__api__core__v1__pod__descriptor),
	                 type("k8s.io.api.core.v1.Pod"));
	assert_null(schema_type_by_name("k8s.io.api.core.v1.Nope"));
	assert_string_equal(type("k8s.io.api.core.v1.Pod")->openapi_name, "io.k8s.api.core.v1.Pod");
	assert_string_equal(type("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta")->openapi_name,
	                    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");

	/* Fields are parallel to the descriptor's. */
	const schema_type *pod = type("k8s.io.api.core.v1.Pod");
	assert_int_equal(pod->n_fields, pod->pb->n_fields);
	for (size_t i = 0; i < pod->n_fields; i++) {
		assert_ptr_equal(schema_field_of(pod, &pod->pb->fields[i]), &pod->fields[i]);
		assert_string_equal(pod->fields[i].name, pod->pb->fields[i].name);
	}
	const schema_field *spec = field("k8s.io.api.core.v1.Pod", "spec");
	assert_int_equal(spec->kind, SCHEMA_MESSAGE);
	assert_int_equal(spec->number, 2);
	assert_ptr_equal(spec->type, type("k8s.io.api.core.v1.PodSpec"));
	assert_null(schema_field_find(pod, "nope"));
	assert_null(schema_field_find(NULL, "spec"));

	/* Every kind ckube serves has its top-level message. */
	const kind_desc *const *kinds = kind_all(&n);
	for (size_t i = 0; i < n; i++) {
		const schema_type *t = schema_type_of_kind(kinds[i]);
		if (!t)
			fail_msg("kind %s/%s %s has no schema type", kinds[i]->group,
			         kinds[i]->version, kinds[i]->kind);
		assert_string_equal(t->pb->short_name, kinds[i]->kind);
	}
	assert_ptr_equal(schema_type_of_kind(kind_by_kind("apps", "v1", "Deployment")),
	                 type("k8s.io.api.apps.v1.Deployment"));
}

static void test_merge_keys(void **state)
{
	/* Upstream's patchMergeKey and listMapKey tags, per message, not per field name. */
	const schema_field *f = field("k8s.io.api.core.v1.PodSpec", "containers");
	assert_string_equal(f->merge_key, "name");
	assert_int_equal(f->strategy, SCHEMA_PATCH_MERGE);
	assert_int_equal(f->list_type, SCHEMA_LIST_MAP);
	assert_keys(f->list_map_keys, "name", NULL);
	assert_true(f->repeated);
	assert_ptr_equal(f->type, type("k8s.io.api.core.v1.Container"));

	f = field("k8s.io.api.core.v1.Container", "ports");
	assert_string_equal(f->merge_key, "containerPort");
	assert_keys(f->list_map_keys, "containerPort", "protocol");
	f = field("k8s.io.api.core.v1.ServiceSpec", "ports");
	assert_string_equal(f->merge_key, "port");
	assert_keys(f->list_map_keys, "port", "protocol");
	assert_string_equal(field("k8s.io.api.core.v1.Container", "volumeMounts")->merge_key,
	                    "mountPath");
	assert_string_equal(field("k8s.io.api.core.v1.Container", "env")->merge_key, "name");
	assert_string_equal(
	    field("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta", "ownerReferences")->merge_key,
	    "uid");
	assert_string_equal(field("k8s.io.api.core.v1.NodeStatus", "addresses")->merge_key, "type");
	assert_string_equal(field("k8s.io.api.apps.v1.DeploymentStatus", "conditions")->merge_key,
	                    "type");
	f = field("k8s.io.api.core.v1.PodSpec", "topologySpreadConstraints");
	assert_string_equal(f->merge_key, "topologyKey");
	assert_keys(f->list_map_keys, "topologyKey", "whenUnsatisfiable");
	f = field("k8s.io.api.core.v1.PodSpec", "volumes");
	assert_int_equal(f->strategy, SCHEMA_PATCH_MERGE | SCHEMA_PATCH_RETAIN_KEYS);
	assert_int_equal(field("k8s.io.api.apps.v1.DeploymentSpec", "strategy")->strategy,
	                 SCHEMA_PATCH_RETAIN_KEYS);

	/* Tolerations and readiness gates are atomic lists: no merge key. */
	f = field("k8s.io.api.core.v1.PodSpec", "tolerations");
	assert_null(f->merge_key);
	assert_int_equal(f->strategy, 0);
	assert_int_equal(f->list_type, SCHEMA_LIST_ATOMIC);
	assert_null(field("k8s.io.api.core.v1.PodSpec", "readinessGates")->merge_key);

	/* Finalizers merge as a set of strings. */
	f = field("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers");
	assert_int_equal(f->strategy, SCHEMA_PATCH_MERGE);
	assert_null(f->merge_key);
	assert_int_equal(f->list_type, SCHEMA_LIST_SET);
	assert_int_equal(f->kind, SCHEMA_STRING);
	assert_true(field("k8s.io.api.core.v1.PodSpec", "nodeSelector")->map_atomic);
}

static void test_fields(void **state)
{
	/* An inlined struct's fields are found through it; the inline field itself has no
	 * JSON name. */
	const schema_field *f = field("k8s.io.api.core.v1.Volume", "hostPath");
	assert_ptr_equal(f->type, type("k8s.io.api.core.v1.HostPathVolumeSource"));
	assert_null(schema_field_find(type("k8s.io.api.core.v1.Volume"), "volumeSource"));
	assert_non_null(schema_field_find(type("k8s.io.api.core.v1.Probe"), "httpGet"));
	assert_true(schema_type_of(&k8s__io__api__core__v1__volume__descriptor)->fields[1].inline_);

	/* Zero values JSON keeps (Go pointers, non-omitempty fields). */
	assert_true(field("k8s.io.api.core.v1.ContainerPort", "containerPort")->keep_zero);
	assert_true(field("k8s.io.api.apps.v1.DeploymentSpec", "replicas")->keep_zero);
	assert_false(field("k8s.io.api.core.v1.ContainerPort", "hostPort")->keep_zero);

	/* Maps and special types. */
	f = field("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta", "labels");
	assert_true(f->map);
	assert_false(f->repeated);
	assert_int_equal(f->kind, SCHEMA_STRING);
	f = field("k8s.io.api.core.v1.ResourceRequirements", "limits");
	assert_true(f->map);
	assert_int_equal(f->type->special, SCHEMA_QUANTITY);
	assert_int_equal(
	    field("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta", "creationTimestamp")
	        ->type->special,
	    SCHEMA_TIME);
	assert_int_equal(type("k8s.io.apimachinery.pkg.util.intstr.IntOrString")->special,
	                 SCHEMA_INT_OR_STRING);
	assert_int_equal(
	    type("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta.LabelsEntry")->special,
	    SCHEMA_MAP_ENTRY);
	assert_string_equal(field("k8s.io.api.core.v1.ContainerPort", "protocol")->default_json,
	                    "\"TCP\"");
	assert_non_null(field("k8s.io.api.core.v1.Container", "image")->description);
}

static cJSON *openapi(const char *name)
{
	cJSON *s = schema_openapi(type(name), "#/definitions/");
	assert_non_null(s);
	return s;
}

static void expect_str(const cJSON *obj, const char *path, const char *want)
{
	const char *got = ck_json_get_str(obj, path, NULL);
	if (!got || strcmp(got, want)) {
		_cleanup_free_ char *text = ck_json_print(obj);
		fail_msg("%s: want %s, got %s in %s", path, want, got ? got : "(none)", text);
	}
}

static void test_openapi(void **state)
{
	cJSON *s = openapi("k8s.io.api.core.v1.PodSpec");
	expect_str(s, "type", "object");
	expect_str(s, "description", "What a pod runs and how.");
	expect_str(s, "properties.containers.type", "array");
	expect_str(s, "properties.containers.items.$ref",
	           "#/definitions/io.k8s.api.core.v1.Container");
	expect_str(s, "properties.containers.x-kubernetes-patch-merge-key", "name");
	expect_str(s, "properties.containers.x-kubernetes-patch-strategy", "merge");
	expect_str(s, "properties.containers.x-kubernetes-list-type", "map");
	expect_str(s, "properties.volumes.x-kubernetes-patch-strategy", "merge,retainKeys");
	expect_str(s, "properties.nodeSelector.type", "object");
	expect_str(s, "properties.nodeSelector.additionalProperties.type", "string");
	expect_str(s, "properties.nodeSelector.x-kubernetes-map-type", "atomic");
	expect_str(s, "properties.terminationGracePeriodSeconds.type", "integer");
	expect_str(s, "properties.terminationGracePeriodSeconds.format", "int64");
	expect_str(s, "properties.hostNetwork.type", "boolean");
	cJSON_Delete(s);

	s = openapi("k8s.io.api.core.v1.Container");
	const cJSON *keys = ck_json_get(s, "properties.ports.x-kubernetes-list-map-keys");
	assert_int_equal(cJSON_GetArraySize(keys), 2);
	assert_string_equal(cJSON_GetArrayItem(keys, 1)->valuestring, "protocol");
	expect_str(s, "properties.resources.$ref",
	           "#/definitions/io.k8s.api.core.v1.ResourceRequirements");
	cJSON_Delete(s);

	/* An inlined volume source: its fields are the volume's properties. */
	s = openapi("k8s.io.api.core.v1.Volume");
	expect_str(s, "properties.hostPath.$ref",
	           "#/definitions/io.k8s.api.core.v1.HostPathVolumeSource");
	assert_null(ck_json_get(s, "properties.volumeSource"));
	cJSON_Delete(s);

	s = openapi("k8s.io.api.core.v1.ResourceRequirements");
	expect_str(s, "properties.limits.additionalProperties.$ref",
	           "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity");
	cJSON_Delete(s);
	s = openapi("k8s.io.api.core.v1.ContainerPort");
	expect_str(s, "properties.protocol.default", "TCP");
	cJSON_Delete(s);
	s = openapi("k8s.io.api.core.v1.Secret");
	expect_str(s, "properties.data.additionalProperties.format", "byte");
	cJSON_Delete(s);

	/* Special types have their JSON forms. */
	s = openapi("k8s.io.apimachinery.pkg.apis.meta.v1.Time");
	expect_str(s, "type", "string");
	expect_str(s, "format", "date-time");
	assert_null(ck_json_get(s, "properties"));
	cJSON_Delete(s);
	s = openapi("k8s.io.apimachinery.pkg.util.intstr.IntOrString");
	expect_str(s, "format", "int-or-string");
	cJSON_Delete(s);
	s = openapi("k8s.io.apimachinery.pkg.api.resource.Quantity");
	expect_str(s, "type", "string");
	cJSON_Delete(s);
	s = openapi("k8s.io.apimachinery.pkg.runtime.RawExtension");
	expect_str(s, "type", "object");
	cJSON_Delete(s);
	s = openapi("k8s.io.api.authentication.v1.ExtraValue");
	expect_str(s, "type", "array");
	expect_str(s, "items.type", "string");
	cJSON_Delete(s);
	assert_null(schema_openapi(
	    type("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta.LabelsEntry"), ""));
}

/* Runs ckube-schemagen on annotations text; returns its exit status, *out its stderr
 * (or, on success, the tables it wrote). */
static int schemagen(const char *annotations, char **out)
{
	char dir[] = "/tmp/ckube-schemagen.XXXXXX";
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *in = ck_asprintf("%s/a.txt", dir);
	_cleanup_free_ char *gen = ck_asprintf("%s/gen.c", dir);
	_cleanup_free_ char *err = ck_asprintf("%s/err", dir);
	FILE *f = fopen(in, "w");
	assert_non_null(f);
	fputs(annotations, f);
	fclose(f);
	_cleanup_free_ char *cmd =
	    ck_asprintf("%s/ckube-schemagen %s %s 2>%s", CKUBE_BINARY_DIR, in, gen, err);
	int rc = system(cmd);
	f = fopen(rc == 0 ? gen : err, "r");
	assert_non_null(f);
	ck_buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ck_buf_append(&b, chunk, n);
	fclose(f);
	*out = ck_buf_steal(&b);
	unlink(in);
	unlink(gen);
	unlink(err);
	rmdir(dir);
	return rc;
}

/* The generator refuses annotations that name nothing, so a typo fails the build. */
static void test_generator(void **state)
{
	char *out;
	assert_int_equal(
	    schemagen("package k8s.io.api.core.v1\n"
	              "Container ports merge-key=containerPort desc=\"Ports \\\"p\\\"\"\n",
	              &out),
	    0);
	assert_non_null(strstr(out, ".merge_key = \"containerPort\""));
	assert_non_null(strstr(out, ".description = \"Ports \\\"p\\\"\""));
	free(out);
	static const char *const bad[][2] = {
	    {"package k8s.io.api.core.v1\nContainer nope keep-zero\n", "no field nope"},
	    {"package k8s.io.api.core.v1\nNope image keep-zero\n",
	     "no message k8s.io.api.core.v1.Nope"},
	    {"package k8s.io.api.core.v1\nContainer image frobnicate=1\n", "unknown field attribute"},
	    {"package k8s.io.api.core.v1\nContainer ports list=bag\n", "unknown list type"},
	    {"package k8s.io.api.core.v1\nContainer - special=odd\n", "unknown special type"},
	};
	for (size_t i = 0; i < CK_ARRAY_SIZE(bad); i++) {
		assert_int_not_equal(schemagen(bad[i][0], &out), 0);
		if (!strstr(out, bad[i][1]))
			fail_msg("want \"%s\" in: %s", bad[i][1], out);
		assert_non_null(strstr(out, "a.txt:2: "));
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookup),    cmocka_unit_test(test_merge_keys),
	    cmocka_unit_test(test_fields),    cmocka_unit_test(test_openapi),
	    cmocka_unit_test(test_generator),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
