/* Unit tests for the controller library (controller-manager/controller.h) on the fake
 * caches and client: expectations, slow-start creation, claims by selector, the handlers
 * that enqueue owners, parked keys before the caches synced, and --controllers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "controller.h"
#include "fake_env.h"

/* A controller of ReplicaSets that only counts its syncs. */
static int n_syncs;

static int probe_start(cm_controller *c, void **state, ck_err **err)
{
	cm_cache *rs = cm_controller_cache(c, &KC_REPLICASETS);
	cm_handle_own(c, rs);
	cm_handle_dependents(c, cm_controller_cache(c, &KC_PODS), rs, true);
	*state = c;
	return 0;
}

static int probe_sync(void *state, const char *key)
{
	n_syncs++;
	return 0;
}

static void probe_free(void *state)
{
}

static const kc_resource *const PROBE_INFORMERS[] = {&KC_REPLICASETS, &KC_PODS, NULL};

static const cm_controller_desc PROBE = {
    .name = "probe",
    .component = "probe-controller",
    .informers = PROBE_INFORMERS,
    .start = probe_start,
    .sync = probe_sync,
    .free = probe_free,
};

static const char RS[] =
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\",\"uid\":\"rs-1\","
    "\"resourceVersion\":\"7\"},"
    "\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"web\"},"
    "\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"front\","
    "\"edge\"]}]},"
    "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\",\"tier\":\"front\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}";

static cJSON *parse(const char *s)
{
	cJSON *j = ck_json_parse(s, strlen(s), NULL);
	assert_non_null(j);
	return j;
}

/* A pod in ns with labels (JSON object text) and, when owner_uid is set, a controller
 * reference to a ReplicaSet of that uid (named "web" for RS's uid rs-1). */
static cJSON *pod(const char *name, const char *labels, const char *owner_uid)
{
	_cleanup_free_ char *refs =
	    owner_uid ? ck_asprintf(",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\","
	                            "\"kind\":\"ReplicaSet\",\"name\":\"%s\",\"uid\":\"%s\","
	                            "\"controller\":true}]",
	                            strcmp(owner_uid, "rs-1") ? "other" : "web", owner_uid)
	              : ck_strdup("");
	_cleanup_free_ char *s =
	    ck_asprintf("{\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"uid\":\"%s-uid\","
	                "\"resourceVersion\":\"5\",\"labels\":%s%s},\"status\":{\"phase\":"
	                "\"Running\"}}",
	                name, name, labels, refs);
	return parse(s);
}

static void test_expectations(void **state)
{
	fake_env e;
	fake_env_init(&e, &PROBE);
	int adds, dels;
	assert_true(cm_exp_satisfied(e.c, "ns/web"));
	cm_exp_set(e.c, "ns/web", 2, 1);
	assert_false(cm_exp_satisfied(e.c, "ns/web"));
	cm_exp_observe(e.c, "ns/web", 1, 0);
	cm_exp_pending(e.c, "ns/web", &adds, &dels);
	assert_int_equal(adds, 1);
	assert_int_equal(dels, 1);
	assert_false(cm_exp_satisfied(e.c, "ns/web"));
	cm_exp_observe(e.c, "ns/web", 1, 1);
	assert_true(cm_exp_satisfied(e.c, "ns/web"));
	/* Met expectations are forgotten. */
	cm_exp_pending(e.c, "ns/web", &adds, &dels);
	assert_int_equal(adds + dels, 0);
	cm_exp_set(e.c, "ns/web", 1, 0);
	cm_exp_drop(e.c, "ns/web");
	assert_true(cm_exp_satisfied(e.c, "ns/web"));
	fake_env_fini(&e);
}

/* The pod events meet the expectations: a created pod that shows up in the cache, one
 * whose deletion shows up. */
static void test_expectations_observed_by_pod_events(void **state)
{
	fake_env e;
	fake_env_init(&e, &PROBE);
	fake_informer *pods = fake_env_informer(&e, &KC_PODS);
	fake_informer_put_json(fake_env_informer(&e, &KC_REPLICASETS), RS);
	cm_exp_set(e.c, "ns/web", 1, 1);
	fake_informer_put(pods, pod("a", "{\"app\":\"web\",\"tier\":\"front\"}", "rs-1"));
	int adds, dels;
	cm_exp_pending(e.c, "ns/web", &adds, &dels);
	assert_int_equal(adds, 0);
	assert_int_equal(dels, 1);
	fake_informer_put(pods, pod("b", "{\"app\":\"web\",\"tier\":\"front\"}", "rs-1"));
	cm_exp_set(e.c, "ns/web", 0, 1);
	fake_informer_delete(pods, "ns/b");
	assert_true(cm_exp_satisfied(e.c, "ns/web"));
	fake_env_fini(&e);
}

static void test_slow_start_batches(void **state)
{
	fake_env e;
	fake_env_init(&e, &PROBE);
	_cleanup_json_ cJSON *rs = parse(RS);
	cm_create_pods(e.c, "ns/web", &KC_REPLICASETS, rs, 10);
	/* 1, 2, 4, then the 3 left; each batch once the one before returned. */
	size_t want[] = {1, 2, 4, 3};
	for (size_t i = 0; i < CK_ARRAY_SIZE(want); i++) {
		assert_int_equal(fake_client_count_pending(e.api, CM_CREATE, "Pod"), want[i]);
		assert_int_equal(fake_client_answer_all(e.api, CM_CREATE, "Pod", 0), want[i]);
	}
	assert_int_equal(fake_client_count(e.api, CM_CREATE, "Pod"), 10);
	/* The pod of the template, controlled by the ReplicaSet. */
	fake_call *c = fake_client_pending(e.api, CM_CREATE, "Event");
	assert_non_null(c);
	const fake_call *first = NULL;
	for (size_t i = 0; !first && i < fake_client_len(e.api); i++)
		if (fake_client_call(e.api, i)->verb == CM_CREATE &&
		    !strcmp(fake_client_call(e.api, i)->res->kind, "Pod"))
			first = fake_client_call(e.api, i);
	assert_string_equal(first->ns, "ns");
	assert_string_equal(ck_json_get_str(first->body, "metadata.generateName", ""), "web-");
	assert_string_equal(ck_json_get_str(first->body, "metadata.labels.tier", ""), "front");
	const cJSON *ref = ck_json_get(first->body, "metadata.ownerReferences");
	assert_int_equal(cJSON_GetArraySize(ref), 1);
	assert_string_equal(ck_json_get_str(ref->child, "uid", ""), "rs-1");
	assert_true(ck_json_get_bool(ref->child, "controller", false));
	assert_string_equal(ck_json_get_str(first->body, "spec.containers.0.image", "?"), "nginx");
	/* Ten creations expected until the cache shows them; no failure, no retry. */
	int adds, dels;
	cm_exp_pending(e.c, "ns/web", &adds, &dels);
	assert_int_equal(adds, 10);
	assert_int_equal(wq_delayed(cm_controller_queue(e.c)), 0);
	assert_int_equal(fake_client_count(e.api, CM_CREATE, "Event"), 10);
	fake_env_fini(&e);
}

static void test_slow_start_stops_after_a_failure(void **state)
{
	fake_env e;
	fake_env_init(&e, &PROBE);
	_cleanup_json_ cJSON *rs = parse(RS);
	cm_create_pods(e.c, "ns/web", &KC_REPLICASETS, rs, 10);
	fake_client_answer_all(e.api, CM_CREATE, "Pod", 0);
	/* The second batch: one refused, one created. */
	fake_client_answer(e.api, fake_client_pending(e.api, CM_CREATE, "Pod"), -EINVAL, NULL);
	fake_client_answer(e.api, fake_client_pending(e.api, CM_CREATE, "Pod"), 0, NULL);
	/* No third batch; the 7 not tried and the failed one are off the expectations. */
	assert_int_equal(fake_client_count(e.api, CM_CREATE, "Pod"), 3);
	assert_int_equal(fake_client_count_pending(e.api, CM_CREATE, "Pod"), 0);
	int adds, dels;
	cm_exp_pending(e.c, "ns/web", &adds, &dels);
	assert_int_equal(adds, 2);
	/* The key syncs again with back-off. */
	assert_int_equal(wq_delayed(cm_controller_queue(e.c)), 1);
	bool failed_event = false;
	for (size_t i = 0; i < fake_client_len(e.api); i++) {
		fake_call *c = fake_client_call(e.api, i);
		failed_event |= c->verb == CM_CREATE && !strcmp(c->res->kind, "Event") &&
		                ck_streq(ck_json_get_str(c->body, "reason", NULL), "FailedCreate");
	}
	assert_true(failed_event);
	fake_env_fini(&e);
}

static void test_delete_pods(void **state)
{
	fake_env e;
	fake_env_init(&e, &PROBE);
	_cleanup_json_ cJSON *rs = parse(RS);
	_cleanup_json_ cJSON *a = pod("a", "{}", "rs-1");
	_cleanup_json_ cJSON *b = pod("b", "{}", "rs-1");
	const cJSON *pods[] = {a, b};
	cm_delete_pods(e.c, "ns/web", &KC_REPLICASETS, rs, pods, 2);
	fake_call *c = fake_client_find(e.api, CM_DELETE, NULL, "a");
	assert_non_null(c);
	assert_string_equal(c->precondition_uid, "a-uid");
	fake_client_answer(e.api, c, 0, NULL);
	/* A failed deletion will not be seen: observed, and the key retried. */
	fake_client_answer(e.api, fake_client_find(e.api, CM_DELETE, NULL, "b"), CK_EUNAVAILABLE,
	                   NULL);
	int adds, dels;
	cm_exp_pending(e.c, "ns/web", &adds, &dels);
	assert_int_equal(dels, 1);
	assert_int_equal(wq_delayed(cm_controller_queue(e.c)), 1);
	fake_env_fini(&e);
}

static bool has_ref(const cJSON *refs, const char *uid)
{
	const cJSON *r;
	cJSON_ArrayForEach(r, refs)
	{
		if (ck_streq(ck_json_get_str(r, "uid", NULL), uid))
			return true;
	}
	return false;
}

static bool claimed(const cJSON **objs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kc_obj_name(objs[i]), name))
			return true;
	return false;
}

static void put_claim_pods(fake_env *e)
{
	fake_informer *pods = fake_env_informer(e, &KC_PODS);
	/* owned and matching; owned, no longer matching (tier=back fails matchExpressions);
	 * an orphan that matches; an orphan that does not; a matching pod of another
	 * controller; a matching orphan being deleted; an orphan in another namespace. */
	fake_informer_put(pods, pod("owned", "{\"app\":\"web\",\"tier\":\"front\"}", "rs-1"));
	fake_informer_put(pods, pod("stray", "{\"app\":\"web\",\"tier\":\"back\"}", "rs-1"));
	fake_informer_put(pods, pod("orphan", "{\"app\":\"web\",\"tier\":\"edge\"}", NULL));
	fake_informer_put(pods, pod("other", "{\"app\":\"db\",\"tier\":\"front\"}", NULL));
	fake_informer_put(pods, pod("foreign", "{\"app\":\"web\",\"tier\":\"front\"}", "rs-2"));
	cJSON *dying = pod("dying", "{\"app\":\"web\",\"tier\":\"front\"}", NULL);
	ck_json_set_str(dying, "metadata.deletionTimestamp", "2026-12-07T00:00:00Z");
	fake_informer_put(pods, dying);
	cJSON *far = pod("far", "{\"app\":\"web\",\"tier\":\"front\"}", NULL);
	ck_json_set_str(far, "metadata.namespace", "elsewhere");
	fake_informer_put(pods, far);
	/* The owners the pods brought sync now, before the claim under test. */
	fake_env_run(e);
}

static void test_claim_adopts_and_releases(void **state)
{
	fake_env e;
	fake_env_init(&e, &PROBE);
	put_claim_pods(&e);
	_cleanup_json_ cJSON *rs = parse(RS);
	_cleanup_selector_ selector *sel = NULL;
	assert_int_equal(selector_from_label_selector(ck_json_get(rs, "spec.selector"), &sel, NULL),
	                 0);
	size_t n = 0;
	_cleanup_free_ const cJSON **objs =
	    cm_claim(e.c, &KC_REPLICASETS, rs, sel,
	             fake_informer_cache(fake_env_informer(&e, &KC_PODS)), cm_pod_active, &n);
	assert_int_equal(n, 2);
	assert_true(claimed(objs, n, "owned"));
	assert_true(claimed(objs, n, "orphan"));

	/* Two patches: the adoption and the release, at the versions seen. */
	assert_int_equal(fake_client_count(e.api, CM_PATCH, "Pod"), 2);
	fake_call *adopt = fake_client_find(e.api, CM_PATCH, NULL, "orphan");
	assert_non_null(adopt);
	assert_int_equal(adopt->patch_type, KC_PATCH_MERGE);
	const cJSON *refs = ck_json_get(adopt->body, "metadata.ownerReferences");
	assert_true(has_ref(refs, "rs-1"));
	assert_true(ck_json_get_bool(refs->child, "controller", false));
	assert_string_equal(ck_json_get_str(adopt->body, "metadata.resourceVersion", ""), "5");
	fake_call *release = fake_client_find(e.api, CM_PATCH, NULL, "stray");
	assert_non_null(release);
	assert_true(cJSON_IsNull(ck_json_get(release->body, "metadata.ownerReferences")));
	assert_string_equal(ck_json_get_str(release->body, "metadata.resourceVersion", ""), "5");
	/* A failed adoption syncs the owner again. */
	fake_client_answer(e.api, adopt, CK_ECONFLICT, NULL);
	assert_int_equal(wq_delayed(cm_controller_queue(e.c)), 1);
	fake_env_fini(&e);
}

static void test_claim_by_owner_being_deleted(void **state)
{
	fake_env e;
	fake_env_init(&e, &PROBE);
	put_claim_pods(&e);
	_cleanup_json_ cJSON *rs = parse(RS);
	ck_json_set_str(rs, "metadata.deletionTimestamp", "2026-12-07T00:00:00Z");
	_cleanup_selector_ selector *sel = NULL;
	assert_int_equal(selector_from_label_selector(ck_json_get(rs, "spec.selector"), &sel, NULL),
	                 0);
	size_t n = 0;
	_cleanup_free_ const cJSON **objs =
	    cm_claim(e.c, &KC_REPLICASETS, rs, sel,
	             fake_informer_cache(fake_env_informer(&e, &KC_PODS)), NULL, &n);
	/* Neither adopts nor releases: it keeps what matches of its own. */
	assert_int_equal(n, 1);
	assert_true(claimed(objs, n, "owned"));
	assert_int_equal(fake_client_len(e.api), 0);
	fake_env_fini(&e);
}

static void test_handlers_enqueue_owners(void **state)
{
	fake_env e;
	fake_env_init(&e, &PROBE);
	fake_env_run(&e);
	wq *q = cm_controller_queue(e.c);
	fake_informer_put_json(fake_env_informer(&e, &KC_REPLICASETS), RS);
	fake_env_run(&e);
	n_syncs = 0;
	fake_informer *pods = fake_env_informer(&e, &KC_PODS);
	/* An orphan that matches the selector brings its candidate owner. */
	fake_informer_put(pods, pod("orphan", "{\"app\":\"web\",\"tier\":\"edge\"}", NULL));
	assert_int_equal(wq_len(q), 1);
	fake_env_run(&e);
	assert_int_equal(n_syncs, 1);
	/* One that does not match brings none. */
	fake_informer_put(pods, pod("other", "{\"app\":\"db\"}", NULL));
	assert_int_equal(wq_len(q), 0);
	/* An owned pod brings its controller, by its reference. */
	fake_informer_put(pods, pod("owned", "{}", "rs-1"));
	assert_int_equal(wq_len(q), 1);
	fake_env_fini(&e);
}

static void test_handlers_follow_relabels_and_owner_changes(void **state)
{
	fake_env e;
	fake_env_init(&e, &PROBE);
	wq *q = cm_controller_queue(e.c);
	fake_informer_put_json(fake_env_informer(&e, &KC_REPLICASETS), RS);
	fake_informer *pods = fake_env_informer(&e, &KC_PODS);
	fake_informer_put(pods, pod("p", "{\"app\":\"db\"}", NULL));
	fake_env_run(&e);
	assert_int_equal(wq_len(q), 0);
	/* An orphan relabelled to match brings the owner that may adopt it... */
	fake_informer_put(pods, pod("p", "{\"app\":\"web\",\"tier\":\"edge\"}", NULL));
	assert_int_equal(wq_len(q), 1);
	fake_env_run(&e);
	/* ...an update that changes nothing of that brings none... */
	cJSON *same = pod("p", "{\"app\":\"web\",\"tier\":\"edge\"}", NULL);
	ck_json_set_str(same, "status.phase", "Succeeded");
	fake_informer_put(pods, same);
	assert_int_equal(wq_len(q), 0);
	/* ...and a pod taken by another controller brings its old one. */
	fake_informer_put(pods, pod("q", "{}", "rs-1"));
	fake_env_run(&e);
	fake_informer_put(pods, pod("q", "{}", "rs-2"));
	assert_int_equal(wq_len(q), 2); /* ns/web and ns/other */
	fake_env_fini(&e);
}

static void test_keys_wait_for_caches(void **state)
{
	fake_env e;
	fake_env_init(&e, NULL);
	fake_caches_free(e.caches);
	e.caches = fake_caches_new(false);
	e.ctx.cache_impl = e.caches;
	_cleanup_err_ ck_err *err = NULL;
	assert_int_equal(cm_controller_new(&e.ctx, &PROBE, 1, &e.c, &err), 0);
	n_syncs = 0;
	fake_env_sync(&e, "ns/web");
	assert_int_equal(n_syncs, 0);
	fake_informer_set_synced(fake_env_informer(&e, &KC_REPLICASETS));
	fake_env_run(&e);
	assert_false(cm_controller_synced(e.c));
	assert_int_equal(n_syncs, 0);
	/* Synced once all its caches are: the parked key syncs then. */
	fake_informer_set_synced(fake_env_informer(&e, &KC_PODS));
	assert_true(cm_controller_synced(e.c));
	fake_env_run(&e);
	assert_int_equal(n_syncs, 1);
	fake_env_fini(&e);
}

static void test_controllers_flag(void **state)
{
	static const cm_table_entry table[] = {
	    {&PROBE, NULL}, {&cm_replicaset_controller, NULL}, {0}};
	char *all[] = {"*", NULL};
	char *off[] = {"*", "-probe", NULL};
	char *only[] = {"replicaset", NULL};
	char *bad[] = {"*", "-nosuch", NULL};
	assert_true(cm_controller_enabled(NULL, "probe"));
	assert_true(cm_controller_enabled(all, "probe"));
	assert_false(cm_controller_enabled(off, "probe"));
	assert_true(cm_controller_enabled(off, "replicaset"));
	assert_false(cm_controller_enabled(only, "probe"));
	assert_true(cm_controller_enabled(only, "replicaset"));
	_cleanup_err_ ck_err *err = NULL;
	assert_int_equal(cm_controllers_check(table, off, &err), 0);
	assert_int_equal(cm_controllers_check(table, bad, &err), -EINVAL);
	assert_string_equal(err->msg, "\"nosuch\" is not in the list of known controllers");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expectations),
	    cmocka_unit_test(test_expectations_observed_by_pod_events),
	    cmocka_unit_test(test_slow_start_batches),
	    cmocka_unit_test(test_slow_start_stops_after_a_failure),
	    cmocka_unit_test(test_delete_pods),
	    cmocka_unit_test(test_claim_adopts_and_releases),
	    cmocka_unit_test(test_claim_by_owner_being_deleted),
	    cmocka_unit_test(test_handlers_enqueue_owners),
	    cmocka_unit_test(test_handlers_follow_relabels_and_owner_changes),
	    cmocka_unit_test(test_keys_wait_for_caches),
	    cmocka_unit_test(test_controllers_flag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
