#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

/* The router is part of kube-apiserver: its core library is linked by this test's name. */
#include "router.h"

static void check(const char *method, const char *path, bool watch, int want_rc,
                  enum route_type type, enum route_verb verb, const char *plural, const char *ns,
                  const char *name, const char *sub)
{
	route r;
	int rc = router_parse(method, path, watch, &r);
	if (rc != want_rc)
		fail_msg("%s %s: rc %d, want %d", method, path, rc, want_rc);
	if (rc) {
		route_clear(&r);
		return;
	}
	assert_int_equal(r.type, type);
	assert_int_equal(r.verb, verb);
	if (plural)
		assert_string_equal(r.kind->plural, plural);
	if (ns)
		assert_string_equal(r.ns, ns);
	else
		assert_null(r.ns);
	if (name)
		assert_string_equal(r.name, name);
	else
		assert_null(r.name);
	if (sub)
		assert_string_equal(r.sub, sub);
	else
		assert_null(r.sub);
	route_clear(&r);
}

static void test_objects(void **state)
{
	check("GET", "/api/v1/namespaces/default/pods", false, 0, ROUTE_OBJECT, VERB_LIST, "pods",
	      "default", NULL, NULL);
	check("GET", "/api/v1/namespaces/default/pods", true, 0, ROUTE_OBJECT, VERB_WATCH, "pods",
	      "default", NULL, NULL);
	check("GET", "/api/v1/pods", false, 0, ROUTE_OBJECT, VERB_LIST, "pods", NULL, NULL, NULL);
	check("GET", "/api/v1/namespaces/default/pods/x", false, 0, ROUTE_OBJECT, VERB_GET, "pods",
	      "default", "x", NULL);
	check("POST", "/api/v1/namespaces/default/pods", false, 0, ROUTE_OBJECT, VERB_CREATE,
	      "pods", "default", NULL, NULL);
	check("PUT", "/api/v1/namespaces/default/pods/x/status", false, 0, ROUTE_OBJECT,
	      VERB_UPDATE, "pods", "default", "x", "status");
	check("POST", "/api/v1/namespaces/default/pods/x/binding", false, 0, ROUTE_OBJECT,
	      VERB_CREATE, "pods", "default", "x", "binding");
	check("PATCH", "/apis/apps/v1/namespaces/d/deployments/web/scale", false, 0, ROUTE_OBJECT,
	      VERB_PATCH, "deployments", "d", "web", "scale");
	check("DELETE", "/apis/apps/v1/namespaces/d/replicasets/r", false, 0, ROUTE_OBJECT,
	      VERB_DELETE, "replicasets", "d", "r", NULL);
	check("DELETE", "/apis/apps/v1/namespaces/d/replicasets", false, 0, ROUTE_OBJECT,
	      VERB_DELETECOLLECTION, "replicasets", "d", NULL, NULL);
	check("GET", "/api/v1/namespaces/default/pods/x/log", false, 0, ROUTE_OBJECT, VERB_GET,
	      "pods", "default", "x", "log");
	check("GET", "/api/v1/nodes/n1", false, 0, ROUTE_OBJECT, VERB_GET, "nodes", NULL, "n1",
	      NULL);
	check("PATCH", "/api/v1/nodes/n1/status", false, 0, ROUTE_OBJECT, VERB_PATCH, "nodes", NULL,
	      "n1", "status");
	check("GET", "/api/v1/namespaces/kube-system", false, 0, ROUTE_OBJECT, VERB_GET,
	      "namespaces", NULL, "kube-system", NULL);
	check("PUT", "/api/v1/namespaces/kube-system/status", false, 0, ROUTE_OBJECT, VERB_UPDATE,
	      "namespaces", NULL, "kube-system", "status");
	check("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", false, 0,
	      ROUTE_OBJECT, VERB_LIST, "leases", "kube-node-lease", NULL, NULL);
	check("GET", "/api/v1/watch/namespaces/default/pods", false, 0, ROUTE_OBJECT, VERB_WATCH,
	      "pods", "default", NULL, NULL);
	check("GET", "/api/v1/namespaces/default/pods/", false, 0, ROUTE_OBJECT, VERB_LIST, "pods",
	      "default", NULL, NULL);
}

static void test_errors(void **state)
{
	check("GET", "/api/v2/pods", false, 404, 0, 0, NULL, NULL, NULL, NULL);
	check("GET", "/api/v1/frobs", false, 404, 0, 0, NULL, NULL, NULL, NULL);
	check("GET", "/api/v1/nodes/n1/scale", false, 404, 0, 0, NULL, NULL, NULL, NULL);
	check("GET", "/api/v1/namespaces/d/nodes/n1", false, 404, 0, 0, NULL, NULL, NULL, NULL);
	check("GET", "/api/v1/pods/x", false, 404, 0, 0, NULL, NULL, NULL, NULL);
	check("GET", "/apis/apps/v1/deployments/x/y/z", false, 404, 0, 0, NULL, NULL, NULL, NULL);
	check("GET", "/api/v1/namespaces/d/pods/x/exec/more", false, 404, 0, 0, NULL, NULL, NULL,
	      NULL);
	check("PUT", "/api/v1/namespaces/d/pods", false, 405, 0, 0, NULL, NULL, NULL, NULL);
	check("POST", "/api/v1/namespaces/d/pods/x", false, 405, 0, 0, NULL, NULL, NULL, NULL);
	check("POST", "/api/v1/pods", false, 405, 0, 0, NULL, NULL, NULL, NULL);
	check("GET", "/api/v1/namespaces/d/pods/x/binding", false, 405, 0, 0, NULL, NULL, NULL,
	      NULL);
	check("DELETE", "/api/v1/namespaces/d/pods/x/status", false, 405, 0, 0, NULL, NULL, NULL,
	      NULL);
	check("POST", "/api/v1/namespaces/d/pods/x/log", false, 405, 0, 0, NULL, NULL, NULL, NULL);
	/* Subresources come from the kinds' tables, with the verbs they list. */
	check("PUT", "/api/v1/namespaces/gone/finalize", false, 0, ROUTE_OBJECT, VERB_UPDATE,
	      "namespaces", NULL, "gone", "finalize");
	check("PATCH", "/api/v1/namespaces/gone/finalize", false, 405, 0, 0, NULL, NULL, NULL,
	      NULL);
	check("GET", "/api/v1/namespaces/gone/status", false, 0, ROUTE_OBJECT, VERB_GET,
	      "namespaces", NULL, "gone", "status");
	check("GET", "/api/v1/namespaces/gone/nodes", false, 404, 0, 0, NULL, NULL, NULL, NULL);
	check("GET", "/apis/apps/v1/namespaces/d/deployments/x/log", false, 404, 0, 0, NULL, NULL,
	      NULL, NULL);
	check("GET", "/", false, 404, 0, 0, NULL, NULL, NULL, NULL);
	check("GET", "", false, 404, 0, 0, NULL, NULL, NULL, NULL);
	check("GET", "//", false, 404, 0, 0, NULL, NULL, NULL, NULL);
}

static void test_discovery_and_misc(void **state)
{
	route r;
	assert_int_equal(router_parse("GET", "/api", false, &r), 0);
	assert_int_equal(r.type, ROUTE_API_VERSIONS);
	route_clear(&r);
	assert_int_equal(router_parse("GET", "/apis", false, &r), 0);
	assert_int_equal(r.type, ROUTE_API_GROUPS);
	route_clear(&r);
	assert_int_equal(router_parse("GET", "/apis/apps", false, &r), 0);
	assert_int_equal(r.type, ROUTE_API_GROUP);
	assert_string_equal(r.group, "apps");
	route_clear(&r);
	assert_int_equal(router_parse("GET", "/apis/apps/v1", false, &r), 0);
	assert_int_equal(r.type, ROUTE_RESOURCE_LIST);
	assert_string_equal(r.version, "v1");
	route_clear(&r);
	assert_int_equal(router_parse("GET", "/api/v1/", false, &r), 0);
	assert_int_equal(r.type, ROUTE_RESOURCE_LIST);
	assert_string_equal(r.group, "");
	route_clear(&r);
	assert_int_equal(router_parse("GET", "/version", false, &r), 0);
	assert_int_equal(r.type, ROUTE_VERSION);
	route_clear(&r);
	assert_int_equal(router_parse("GET", "/readyz/etcd", false, &r), 0);
	assert_int_equal(r.type, ROUTE_HEALTH);
	route_clear(&r);
	assert_int_equal(router_parse("GET", "/openapi/v3/apis/apps/v1", false, &r), 0);
	assert_int_equal(r.type, ROUTE_OPENAPI_V3);
	assert_string_equal(r.sub, "apis/apps/v1");
	route_clear(&r);
	assert_int_equal(router_parse("GET", "/openapi/v2", false, &r), 0);
	assert_int_equal(r.type, ROUTE_OPENAPI_V2);
	route_clear(&r);
	assert_string_equal(route_verb_name(VERB_DELETECOLLECTION), "deletecollection");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_objects),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_discovery_and_misc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
