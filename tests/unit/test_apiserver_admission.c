/* The admission chains and each plugin that can run without etcd, on plain objects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "base/json.h"

static cJSON *parse(const char *s)
{
	cJSON *j = ck_json_parse(s, strlen(s), NULL);
	assert_non_null(j);
	return j;
}

static const auth_user user = {"system:anonymous", NULL};

static admission_attrs attrs(enum admission_op op, const char *plural, const char *ns,
                             const char *name)
{
	const kind_desc *k = kind_by_resource("", "v1", plural);
	assert_non_null(k);
	return (admission_attrs){.op = op, .kind = k, .ns = ns, .name = name, .user = &user};
}

typedef struct outcome {
	int calls;
	cJSON *status;
} outcome;

static void record(cJSON *status, void *data)
{
	outcome *o = data;
	o->calls++;
	o->status = status;
}

/* Runs one plugin as a chain of its own, which must finish at once (no etcd here). */
static outcome run_one(const admission_plugin *p, const admission_attrs *a, cJSON *obj,
                       const cJSON *old)
{
	const admission_plugin *const chain[] = {p, NULL};
	outcome o = {0};
	admission_run *q = admission_run_new(NULL, a, true);
	admission_start(q, chain, obj, old, record, &o);
	admission_run_free(q, false);
	assert_int_equal(o.calls, 1);
	return o;
}

static void test_service_account(void **state)
{
	admission_attrs a = attrs(ADMIT_CREATE, "pods", "default", "p");
	cJSON *pod = parse("{\"spec\":{}}");
	assert_null(run_one(&admission_service_account, &a, pod, NULL).status);
	assert_string_equal(ck_json_get_str(pod, "spec.serviceAccountName", ""), "default");
	assert_string_equal(ck_json_get_str(pod, "spec.serviceAccount", ""), "default");
	cJSON_Delete(pod);

	pod = parse("{\"spec\":{\"serviceAccountName\":\"builder\"}}");
	run_one(&admission_service_account, &a, pod, NULL);
	assert_string_equal(ck_json_get_str(pod, "spec.serviceAccount", ""), "builder");
	cJSON_Delete(pod);

	/* An update that leaves it out keeps the pod's. */
	a.op = ADMIT_UPDATE;
	cJSON *old = parse("{\"spec\":{\"serviceAccountName\":\"builder\"}}");
	pod = parse("{\"spec\":{}}");
	run_one(&admission_service_account, &a, pod, old);
	assert_string_equal(ck_json_get_str(pod, "spec.serviceAccountName", ""), "builder");
	cJSON_Delete(pod);
	cJSON_Delete(old);
}

static void test_default_toleration(void **state)
{
	admission_attrs a = attrs(ADMIT_CREATE, "pods", "default", "p");
	cJSON *pod = parse("{\"spec\":{\"tolerations\":[{\"key\":\"node.kubernetes.io/"
	                   "unreachable\",\"operator\":\"Exists\",\"effect\":\"NoExecute\","
	                   "\"tolerationSeconds\":5}]}}");
	assert_null(run_one(&admission_default_toleration, &a, pod, NULL).status);
	const cJSON *tols = ck_json_get(pod, "spec.tolerations");
	assert_int_equal(cJSON_GetArraySize(tols), 2);
	/* The pod's own stays; the missing one comes with upstream's 300 s. */
	assert_int_equal(ck_json_get_int(cJSON_GetArrayItem(tols, 0), "tolerationSeconds", 0), 5);
	const cJSON *added = cJSON_GetArrayItem(tols, 1);
	assert_string_equal(ck_json_get_str(added, "key", ""), "node.kubernetes.io/not-ready");
	assert_string_equal(ck_json_get_str(added, "effect", ""), "NoExecute");
	assert_int_equal(ck_json_get_int(added, "tolerationSeconds", 0), 300);
	run_one(&admission_default_toleration, &a, pod, NULL); /* idempotent */
	assert_int_equal(cJSON_GetArraySize(ck_json_get(pod, "spec.tolerations")), 2);
	cJSON_Delete(pod);
}

static void test_priority(void **state)
{
	admission_attrs a = attrs(ADMIT_CREATE, "pods", "default", "p");
	cJSON *pod = parse("{\"spec\":{}}");
	assert_null(run_one(&admission_priority, &a, pod, NULL).status);
	assert_int_equal(ck_json_get_int(pod, "spec.priority", -1), 0);
	assert_string_equal(ck_json_get_str(pod, "spec.preemptionPolicy", ""),
	                    "PreemptLowerPriority");
	cJSON_Delete(pod);
	pod = parse("{\"spec\":{\"priorityClassName\":\"system-node-critical\"}}");
	run_one(&admission_priority, &a, pod, NULL);
	assert_int_equal(ck_json_get_int(pod, "spec.priority", -1), 2000001000);
	cJSON_Delete(pod);
}

static void test_namespace_lifecycle(void **state)
{
	admission_attrs a = attrs(ADMIT_CREATE, "pods", "gone", "p");
	cJSON *s = admission_namespace_decide(&a, NULL);
	assert_int_equal(ck_json_get_int(s, "code", 0), 404);
	assert_string_equal(ck_json_get_str(s, "message", ""), "namespaces \"gone\" not found");
	cJSON_Delete(s);

	cJSON *active =
	    parse("{\"metadata\":{\"name\":\"gone\"},\"status\":{\"phase\":\"Active\"}}");
	assert_null(admission_namespace_decide(&a, active));
	cJSON *term = parse("{\"metadata\":{\"name\":\"gone\",\"deletionTimestamp\":"
	                    "\"2026-01-01T00:00:00Z\"},\"status\":{\"phase\":\"Terminating\"}}");
	s = admission_namespace_decide(&a, term);
	assert_int_equal(ck_json_get_int(s, "code", 0), 403);
	assert_string_equal(ck_json_get_str(s, "reason", ""), "Forbidden");
	assert_string_equal(ck_json_get_str(s, "message", ""),
	                    "pods \"p\" is forbidden: unable to create new content in namespace "
	                    "gone because it is being terminated");
	cJSON_Delete(s);

	/* The system namespaces are never deleted; others are. */
	a = attrs(ADMIT_DELETE, "namespaces", NULL, "kube-system");
	a.kind = kind_by_resource("", "v1", "namespaces");
	s = run_one(&admission_namespace_lifecycle, &a, NULL, NULL).status;
	assert_int_equal(ck_json_get_int(s, "code", 0), 403);
	assert_string_equal(ck_json_get_str(s, "message", ""),
	                    "namespaces \"kube-system\" is forbidden: this namespace may not be "
	                    "deleted");
	cJSON_Delete(s);
	a.name = "scratch";
	assert_null(run_one(&admission_namespace_lifecycle, &a, NULL, NULL).status);
	/* A cluster-scoped create needs no namespace. */
	a = attrs(ADMIT_CREATE, "nodes", NULL, "n1");
	assert_null(run_one(&admission_namespace_lifecycle, &a, NULL, NULL).status);
	cJSON_Delete(active);
	cJSON_Delete(term);
}

/* ---- the chain itself ---- */

static int finished, finished_stored;

static void refuse_admit(admission_run *q)
{
	admission_next(q, cJSON_CreateString("no"));
}

static void count_admit(admission_run *q)
{
	*admission_state(q) = admission_obj(q);
	ck_json_set_int(admission_obj(q), "n", ck_json_get_int(admission_obj(q), "n", 0) + 1);
	admission_next(q, NULL);
}

static void count_finish(admission_run *q, bool stored)
{
	/* Each plugin gets back the state it kept. */
	assert_ptr_equal(*admission_state(q), admission_obj(q));
	finished++;
	finished_stored += stored;
}

static const admission_plugin counter = {
    .name = "Counter", .ops = ADMIT_CREATE, .admit = count_admit, .finish = count_finish};
static const admission_plugin pods_only = {.name = "PodsOnly",
                                           .ops = ADMIT_CREATE,
                                           .group = "",
                                           .kind = "Pod",
                                           .admit = count_admit,
                                           .finish = count_finish};
static const admission_plugin refuser = {
    .name = "Refuser", .ops = ADMIT_CREATE, .admit = refuse_admit};
static const admission_plugin waiter = {
    .name = "Waiter", .ops = ADMIT_CREATE, .waits = true, .admit = refuse_admit};

static void test_chain(void **state)
{
	admission_attrs a = attrs(ADMIT_CREATE, "configmaps", "default", "c");
	cJSON *obj = parse("{}");
	/* Plugins for another kind, waiting ones where nothing may wait, and every plugin on
	 * an operation it does not handle are skipped. */
	const admission_plugin *const chain[] = {&counter, &pods_only, &waiter, &counter, NULL};
	outcome o = {0};
	finished = finished_stored = 0;
	admission_run *q = admission_run_new(NULL, &a, false);
	admission_start(q, chain, obj, NULL, record, &o);
	assert_int_equal(o.calls, 1);
	assert_null(o.status);
	assert_int_equal(ck_json_get_int(obj, "n", 0), 2);
	admission_run_free(q, true);
	assert_int_equal(finished, 2);
	assert_int_equal(finished_stored, 2);

	/* A refusal stops the chain; what ran before learns the object was not stored. */
	const admission_plugin *const refusing[] = {&counter, &refuser, &counter, NULL};
	finished = finished_stored = 0;
	o = (outcome){0};
	q = admission_run_new(NULL, &a, true);
	admission_start(q, refusing, obj, NULL, record, &o);
	assert_int_equal(o.calls, 1);
	assert_string_equal(o.status->valuestring, "no");
	cJSON_Delete(o.status);
	assert_int_equal(ck_json_get_int(obj, "n", 0), 3);
	admission_run_free(q, false);
	assert_int_equal(finished, 1);
	assert_int_equal(finished_stored, 0);

	a.op = ADMIT_DELETE;
	o = (outcome){0};
	q = admission_run_new(NULL, &a, true);
	admission_start(q, refusing, obj, NULL, record, &o);
	assert_null(o.status);
	admission_run_free(q, false);
	cJSON_Delete(obj);
}

static void test_mutating_order(void **state)
{
	/* Upstream's order: the service account before the tolerations and the priority; the
	 * allocation of Service IPs last; the namespace check among the validating plugins. */
	assert_ptr_equal(admission_mutating[0], &admission_service_account);
	size_t n = 0;
	while (admission_mutating[n])
		n++;
	assert_ptr_equal(admission_mutating[n - 1], &admission_service_alloc);
	assert_true(admission_service_alloc.waits);
	assert_ptr_equal(admission_validating[0], &admission_namespace_lifecycle);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_service_account), cmocka_unit_test(test_default_toleration),
	    cmocka_unit_test(test_priority),        cmocka_unit_test(test_namespace_lifecycle),
	    cmocka_unit_test(test_chain),           cmocka_unit_test(test_mutating_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
