/* client + informer against the real kube-apiserver on a real etcd: typed requests and
 * their error mapping, informers with and without a field selector (spec.nodeName, as the
 * kubelet uses it), events for objects entering a selector (binding), and recovery when
 * the apiserver restarts. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/informer.h"
#include "apiserver_harness.h"
#include "base/json.h"
#include "base/strbuf.h"
#include "etcd_harness.h"
#include "loop_harness.h"

typedef struct env {
	etcd_harness *etcd;
	apiserver_harness *api;
	char *log;
	kubeconfig kc;
	kc_sync *sync;
	uv_loop_t loop;
	kc_client *client;
} env;

static env E;

/* ---- waiting on the loop ---- */
#define RUN_UNTIL(cond) HARNESS_RUN_UNTIL(&E.loop, cond, 30000, E.log)

static int setup(void **state)
{
	ck_err *err = NULL;
	if (etcd_harness_start(&E.etcd, &err) < 0)
		fail_msg("etcd: %s", err->msg);
	E.log = ck_asprintf("%s/apiserver.log", etcd_harness_dir(E.etcd));
	apiserver_harness_opts o = {.etcd_servers = etcd_harness_endpoints(E.etcd),
	                            .log_path = E.log};
	if (apiserver_harness_start(&o, &E.api, &err) < 0)
		fail_msg("kube-apiserver: %s", err->msg);
	E.kc.server = ck_strdup(apiserver_harness_url(E.api));
	assert_int_equal(uv_loop_init(&E.loop), 0);
	assert_int_equal(kc_client_new(&E.loop, &E.kc, &E.client, NULL), 0);
	assert_int_equal(kc_sync_new(&E.kc, &E.sync, NULL), 0);
	return 0;
}

static int teardown(void **state)
{
	kc_client_free(E.client);
	uv_run(&E.loop, UV_RUN_DEFAULT);
	uv_loop_close(&E.loop);
	kc_sync_free(E.sync);
	apiserver_harness_stop(E.api);
	etcd_harness_stop(E.etcd);
	free(E.kc.server);
	free(E.log);
	return 0;
}

/* ---- helpers ---- */
static cJSON *J(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = ck_vasprintf(fmt, ap);
	va_end(ap);
	cJSON *j = ck_json_parse(s, strlen(s), NULL);
	if (!j)
		fail_msg("bad JSON: %s", s);
	free(s);
	return j;
}

static void create_pod(const char *name, const char *node)
{
	cJSON *pod = J("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
	               "\"namespace\":\"default\"},\"spec\":{%s%s%s\"containers\":[{\"name\":\"c\","
	               "\"image\":\"pause\"}]}}",
	               name, node ? "\"nodeName\":\"" : "", node ? node : "", node ? "\"," : "");
	ck_err *err = NULL;
	if (kc_sync_request(E.sync, "POST", "/api/v1/namespaces/default/pods", NULL, pod, NULL,
	                    &err) < 0)
		fail_msg("create %s: %s", name, err->msg);
	cJSON_Delete(pod);
}

typedef struct rec {
	ck_buf log;
	int n;
} rec;

static void on_add(const cJSON *o, void *d)
{
	rec *r = d;
	ck_buf_printf(&r->log, "add:%s;", kc_obj_name(o));
	r->n++;
}

static void on_update(const cJSON *old, const cJSON *new, void *d)
{
	rec *r = d;
	ck_buf_printf(&r->log, "update:%s;", kc_obj_name(new));
	r->n++;
}

static void on_delete(const cJSON *o, void *d)
{
	rec *r = d;
	ck_buf_printf(&r->log, "delete:%s;", kc_obj_name(o));
	r->n++;
}

static bool has(rec *r, const char *s)
{
	return strstr(ck_buf_str(&r->log), s) != NULL;
}

typedef struct done {
	int calls, rc;
	cJSON *obj;
} done;

static void on_result(kc_result *res, void *user)
{
	done *d = user;
	d->calls++;
	d->rc = res->rc;
	cJSON_Delete(d->obj);
	d->obj = CK_TAKE_PTR(res->obj);
}

static int wait_result(done *d)
{
	int want = d->calls + 1;
	RUN_UNTIL(d->calls >= want);
	return d->rc;
}

static void test_client_errors(void **state)
{
	done d = {0};
	create_pod("e1", NULL);
	assert_int_equal(kc_get(E.client, &KC_PODS, "default", "e1", on_result, &d), 0);
	assert_int_equal(wait_result(&d), 0);
	assert_string_equal(kc_obj_name(d.obj), "e1");
	cJSON *pod = ck_json_dup(d.obj);
	assert_int_equal(kc_get(E.client, &KC_PODS, "default", "nope", on_result, &d), 0);
	assert_int_equal(wait_result(&d), -ENOENT);
	assert_int_equal(kc_create(E.client, &KC_PODS, NULL, pod, on_result, &d), 0);
	assert_int_equal(wait_result(&d), -EEXIST);
	/* An update with the current resourceVersion succeeds; the same again conflicts. */
	ck_json_set_str(pod, "metadata.labels.x", "1");
	assert_int_equal(kc_update(E.client, &KC_PODS, NULL, pod, on_result, &d), 0);
	assert_int_equal(wait_result(&d), 0);
	assert_string_equal(ck_json_get_str(d.obj, "metadata.labels.x", ""), "1");
	assert_int_equal(kc_update(E.client, &KC_PODS, NULL, pod, on_result, &d), 0);
	assert_int_equal(wait_result(&d), CK_ECONFLICT);
	cJSON *patch = J("{\"metadata\":{\"labels\":{\"y\":\"2\"}}}");
	assert_int_equal(kc_patch(E.client, &KC_PODS, "default", "e1", NULL, KC_PATCH_MERGE, patch,
	                          on_result, &d),
	                 0);
	assert_int_equal(wait_result(&d), 0);
	assert_string_equal(ck_json_get_str(d.obj, "metadata.labels.y", ""), "2");
	kc_delete_opts o = KC_DELETE_OPTS_INIT;
	o.precondition_uid = "not-the-uid";
	assert_int_equal(kc_delete(E.client, &KC_PODS, "default", "e1", &o, on_result, &d), 0);
	assert_int_equal(wait_result(&d), CK_ECONFLICT);
	/* A list with a limit: one page and a continue token, or (a server that does not page)
	 * everything without one. */
	create_pod("e2", NULL);
	assert_int_equal(
	    kc_list(E.client, &KC_PODS, "default", &(kc_list_opts){.limit = 1}, on_result, &d), 0);
	assert_int_equal(wait_result(&d), 0);
	int items = cJSON_GetArraySize(ck_json_get(d.obj, "items"));
	bool cont = *ck_json_get_str(d.obj, "metadata.continue", "") != 0;
	assert_true((items == 1 && cont) || (items == 2 && !cont));
	cJSON_Delete(patch);
	cJSON_Delete(pod);
	cJSON_Delete(d.obj);
}

static void test_informers(void **state)
{
	create_pod("a", "n1");
	create_pod("b", "n2");
	create_pod("c", NULL);
	informer *all = NULL, *on_n1 = NULL;
	assert_int_equal(informer_new(E.client,
	                              &(informer_opts){.resource = &KC_PODS, .page_size = 2}, &all,
	                              NULL),
	                 0);
	assert_int_equal(informer_new(E.client,
	                              &(informer_opts){.resource = &KC_PODS,
	                                               .field_selector = "spec.nodeName=n1"},
	                              &on_n1, NULL),
	                 0);
	informer_add_index(all, "node", informer_index_node_name, NULL);
	rec ra = {0}, r1 = {0};
	informer_add_handlers(all, &(informer_handlers){on_add, on_update, on_delete, &ra});
	informer_add_handlers(on_n1, &(informer_handlers){on_add, on_update, on_delete, &r1});
	informer_start(all);
	informer_start(on_n1);
	RUN_UNTIL(informer_synced(all) && informer_synced(on_n1));
	/* The first list is at resourceVersion 0, the apiserver's watch cache, which can
	 * trail the creates by a moment: the watch brings the rest. */
	RUN_UNTIL(informer_get(all, "default/c") && informer_get(on_n1, "default/a"));
	assert_null(informer_get(on_n1, "default/b"));
	assert_null(informer_get(on_n1, "default/c"));

	/* Watch events. */
	done d = {0};
	cJSON *pod =
	    J("{\"metadata\":{\"name\":\"d\",\"namespace\":\"default\"},\"spec\":{\"nodeName\":"
	      "\"n1\",\"containers\":[{\"name\":\"c\",\"image\":\"pause\"}]}}");
	assert_int_equal(kc_create(E.client, &KC_PODS, NULL, pod, on_result, &d), 0);
	assert_int_equal(wait_result(&d), 0);
	RUN_UNTIL(has(&r1, "add:d;") && has(&ra, "add:d;"));
	cJSON *patch = J("{\"metadata\":{\"labels\":{\"app\":\"x\"}}}");
	assert_int_equal(kc_patch(E.client, &KC_PODS, "default", "a", NULL, KC_PATCH_MERGE, patch,
	                          on_result, &d),
	                 0);
	assert_int_equal(wait_result(&d), 0);
	RUN_UNTIL(has(&r1, "update:a;"));
	assert_string_equal(
	    ck_json_get_str(informer_get(on_n1, "default/a"), "metadata.labels.app", ""), "x");

	/* Binding c to n1: it enters the selector, as an add. */
	cJSON *binding = J("{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":"
	                   "\"c\"},\"target\":{\"kind\":\"Node\",\"name\":\"n1\"}}");
	assert_int_equal(kc_post_subresource(E.client, &KC_PODS, "default", "c", "binding", binding,
	                                     on_result, &d),
	                 0);
	assert_int_equal(wait_result(&d), 0);
	RUN_UNTIL(has(&r1, "add:c;"));
	RUN_UNTIL(strcmp(ck_json_get_str(informer_get(all, "default/c"), "spec.nodeName", ""),
	                 "n1") == 0);
	size_t n = 0;
	const cJSON **on_node = informer_by_index(all, "node", "n1", &n);
	assert_int_equal(n, 3); /* a, c, d */
	free(on_node);
	/* Binding again is refused. */
	assert_int_equal(kc_post_subresource(E.client, &KC_PODS, "default", "c", "binding", binding,
	                                     on_result, &d),
	                 0);
	assert_true(wait_result(&d) < 0);

	kc_delete_opts o = KC_DELETE_OPTS_INIT;
	o.grace_period_seconds = 0;
	assert_int_equal(kc_delete(E.client, &KC_PODS, "default", "b", &o, on_result, &d), 0);
	assert_int_equal(wait_result(&d), 0);
	RUN_UNTIL(has(&ra, "delete:b;"));
	assert_false(has(&r1, "delete:b;"));

	/* The apiserver restarts; meanwhile f is created. Both informers catch up. */
	assert_int_equal(apiserver_harness_kill(E.api), 0);
	for (int i = 0; i < 20; i++)
		uv_run(&E.loop, UV_RUN_NOWAIT);
	ck_err *err = NULL;
	if (apiserver_harness_restart(E.api, &err) < 0)
		fail_msg("kube-apiserver restart: %s", err->msg);
	create_pod("f", "n1");
	RUN_UNTIL(has(&r1, "add:f;") && has(&ra, "add:f;"));
	assert_int_equal(informer_len(on_n1), 4); /* a, c, d, f */

	informer_free(all);
	informer_free(on_n1);
	uv_run(&E.loop, UV_RUN_NOWAIT);
	cJSON_Delete(pod);
	cJSON_Delete(patch);
	cJSON_Delete(binding);
	cJSON_Delete(d.obj);
	ck_buf_free(&ra.log);
	ck_buf_free(&r1.log);
}

/* The harness reports an apiserver that exits (here on a bad flag) with its log. */
static void test_harness_reports_exit(void **state)
{
	static const char *const bad[] = {"--no-such-flag", NULL};
	_cleanup_free_ char *log = ck_asprintf("%s/bad-apiserver.log", etcd_harness_dir(E.etcd));
	apiserver_harness_opts o = {
	    .etcd_servers = etcd_harness_endpoints(E.etcd), .log_path = log, .args = bad};
	apiserver_harness *h = NULL;
	_cleanup_err_ ck_err *err = NULL;
	assert_int_equal(apiserver_harness_start(&o, &h, &err), -ECHILD);
	assert_null(h);
	assert_non_null(strstr(err->msg, "no-such-flag"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_client_errors),
	    cmocka_unit_test(test_informers),
	    cmocka_unit_test(test_harness_reports_exit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
