/* The kind registry: built-in kinds collected by the build, kinds registered at run time,
 * and the places that derive from it (the client's resources, protobuf lookups). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/client.h"
#include "api/kind.h"
#include "api/pb.h"
#include "base/json.h"

static size_t count_kinds(void)
{
	size_t n;
	kind_all(&n);
	return n;
}

static void test_builtin(void **state)
{
	size_t n;
	const kind_desc *const *all = kind_all(&n);
	/* Every description file's kinds are there, core group first. */
	bool seen_group = false;
	for (size_t i = 0; i < n; i++) {
		if (all[i]->group[0])
			seen_group = true;
		else
			assert_false(seen_group);
		for (size_t j = 0; j < i; j++)
			assert_false(all[i] == all[j]);
	}
	assert_ptr_equal(kind_by_resource("", "v1", "pods"), &kind_pod);
	assert_ptr_equal(kind_by_kind("apps", "v1", "ReplicaSet"), &kind_replicaset);
	assert_ptr_equal(kind_by_resource("coordination.k8s.io", "v1", "leases"), &kind_lease);
	/* The client's resources are the kinds themselves. */
	assert_ptr_equal(&KC_PODS, &kind_pod);
	assert_ptr_equal(&KC_DEPLOYMENTS, kind_by_resource("apps", "v1", "deployments"));
	char *p = kc_path(&KC_PODS, "ns", "web", "status");
	assert_string_equal(p, "/api/v1/namespaces/ns/pods/web/status");
	free(p);
}

static const kind_desc widget = {
    .group = "example.com",
    .version = "v1",
    .kind = "Widget",
    .plural = "widgets",
    .singular = "widget",
    .namespaced = true,
    .etcd_resource = "example.com/widgets",
};

static void test_runtime_registration(void **state)
{
	size_t before = count_kinds();
	assert_null(kind_by_resource("example.com", "v1", "widgets"));
	assert_int_equal(kind_register(&widget, NULL), 0);
	assert_int_equal(count_kinds(), before + 1);
	assert_ptr_equal(kind_by_resource("example.com", "v1", "widgets"), &widget);
	assert_ptr_equal(kind_by_kind("example.com", "v1", "Widget"), &widget);
	char *p = kc_path(&widget, "default", NULL, NULL);
	assert_string_equal(p, "/apis/example.com/v1/namespaces/default/widgets");
	free(p);

	/* The same plural or kind in the same group/version is refused with a message. */
	kind_desc twin = widget;
	twin.plural = "gadgets";
	ck_err *err = NULL;
	assert_int_equal(kind_register(&twin, &err), -EEXIST);
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "Widget"));
	ck_err_free(err);
	/* Another version of the group is another kind. */
	kind_desc v2 = widget;
	v2.version = "v2";
	assert_int_equal(kind_register(&v2, NULL), 0);

	assert_int_equal(kind_unregister(&widget), 0);
	assert_int_equal(kind_unregister(&widget), -ENOENT);
	assert_null(kind_by_resource("example.com", "v1", "widgets"));
	assert_ptr_equal(kind_by_resource("example.com", "v2", "widgets"), &v2);
	assert_int_equal(kind_unregister(&v2), 0);
	assert_int_equal(count_kinds(), before);
}

/* Registration grows the registry without a cap. */
static void test_many_kinds(void **state)
{
	size_t before = count_kinds();
	enum { N = 300 };
	kind_desc *k = calloc(N, sizeof(*k));
	char(*names)[32] = calloc(N, sizeof(*names));
	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "things%zu", i);
		k[i] = widget;
		k[i].plural = names[i];
		k[i].kind = names[i];
		assert_int_equal(kind_register(&k[i], NULL), 0);
	}
	assert_int_equal(count_kinds(), before + N);
	assert_ptr_equal(kind_by_resource("example.com", "v1", "things299"), &k[N - 1]);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(kind_unregister(&k[i]), 0);
	assert_int_equal(count_kinds(), before);
	free(names);
	free(k);
}

/* A protobuf body of a registered kind decodes through the kind's own message. */
static void test_protobuf_from_kind(void **state)
{
	const char *json = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
	                   "\"metadata\":{\"name\":\"c\"},\"data\":{\"a\":\"b\"}}";
	cJSON *obj = ck_json_parse(json, strlen(json), NULL);
	assert_non_null(obj);
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(pb_encode_k8s(obj, &buf, &len, NULL), 0);
	cJSON *back = NULL;
	assert_int_equal(pb_decode_k8s(buf, len, &back, NULL), 0);
	assert_string_equal(ck_json_get_str(back, "data.a", ""), "b");
	cJSON_Delete(back);
	free(buf);
	cJSON_Delete(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builtin),
	    cmocka_unit_test(test_runtime_registration),
	    cmocka_unit_test(test_many_kinds),
	    cmocka_unit_test(test_protobuf_from_kind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
