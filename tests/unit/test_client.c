/* client: paths, queries, Status mapping, watch decoding, and requests against an
 * http_server peer on 127.0.0.1 that records what it received. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/client.h"
#include "base/json.h"
#include "base/strbuf.h"
#include "net/http_server.h"

static void test_paths(void **state)
{
	char *p = kc_path(&KC_PODS, "default", "web-0", "status");
	assert_string_equal(p, "/api/v1/namespaces/default/pods/web-0/status");
	free(p);
	p = kc_path(&KC_DEPLOYMENTS, NULL, NULL, NULL);
	assert_string_equal(p, "/apis/apps/v1/deployments");
	free(p);
	p = kc_path(&KC_NODES, "ignored", "n1", NULL);
	assert_string_equal(p, "/api/v1/nodes/n1");
	free(p);
	p = kc_path(&KC_LEASES, "kube-system", NULL, NULL);
	assert_string_equal(p, "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases");
	free(p);
	kc_list_opts o = {.label_selector = "app=web,tier in (a,b)",
	                  .field_selector = "spec.nodeName=n1",
	                  .resource_version = "42",
	                  .limit = 500,
	                  .continue_ = "tok",
	                  .timeout_seconds = 30,
	                  .allow_watch_bookmarks = true};
	char *q = kc_list_query("/api/v1/pods", &o, true);
	assert_string_equal(q,
	                    "/api/v1/pods?watch=1&labelSelector=app%3Dweb%2Ctier%20in%20%28a%2Cb%29"
	                    "&fieldSelector=spec.nodeName%3Dn1&resourceVersion=42&limit=500"
	                    "&continue=tok&timeoutSeconds=30&allowWatchBookmarks=true");
	free(q);
	q = kc_list_query("/api/v1/pods", &o, false);
	assert_null(strstr(q, "watch"));
	assert_null(strstr(q, "timeoutSeconds"));
	free(q);
}

static void test_status_errors(void **state)
{
	struct {
		int status;
		const char *body;
		int code;
		const char *msg;
	} cases[] = {
	    {404,
	     "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"message\":\"pods \\\"x\\\" not "
	     "found\"}",
	     -ENOENT, "pods \"x\" not found"},
	    {409, "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\",\"message\":\"exists\"}",
	     -EEXIST, "exists"},
	    {409, "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"message\":\"modified\"}",
	     CK_ECONFLICT, "modified"},
	    {410, "{\"kind\":\"Status\",\"reason\":\"Expired\",\"message\":\"too old\"}", CK_EGONE,
	     "too old"},
	    {422, "{\"message\":\"invalid\"}", -EINVAL, "invalid"},
	    {403, "", -EACCES, "HTTP status 403"},
	    {503, "down", CK_EUNAVAILABLE, "down"},
	    {418, "teapot", CK_EHTTP, "teapot"},
	};
	for (size_t i = 0; i < CK_ARRAY_SIZE(cases); i++) {
		ck_err *err = NULL;
		int rc =
		    kc_status_error(cases[i].status, cases[i].body, strlen(cases[i].body), &err);
		assert_int_equal(rc, cases[i].code);
		assert_int_equal(err->code, cases[i].code);
		assert_string_equal(err->msg, cases[i].msg);
		ck_err_free(err);
	}
}

typedef struct events {
	ck_buf log;
} events;

static void on_ev(enum kc_event_type t, cJSON **obj, void *user)
{
	events *e = user;
	ck_buf_printf(&e->log, "%s:%s;", kc_event_type_name(t),
	              ck_json_get_str(*obj, "metadata.name", "?"));
}

static void test_watch_decoder(void **state)
{
	events e = {0};
	kc_watch_decoder *d = kc_watch_decoder_new(on_ev, &e);
	const char *stream =
	    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a{\\\"}\"}}}\n"
	    "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"b\"},\"x\":[1,{}]}}"
	    "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\r\n"
	    "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"c\"}}}\n";
	/* Byte by byte: events come out whole, wherever the chunks are cut. */
	for (size_t i = 0; stream[i]; i++)
		assert_int_equal(kc_watch_decoder_feed(d, stream + i, 1, NULL), 0);
	assert_string_equal(ck_buf_str(&e.log), "ADDED:a{\"};MODIFIED:b;BOOKMARK:?;DELETED:c;");
	ck_err *err = NULL;
	assert_int_equal(kc_watch_decoder_feed(d, "{\"type\":\"NOPE\",\"object\":{}}", 28, &err),
	                 CK_EPROTO);
	ck_err_free(err);
	err = NULL;
	assert_int_equal(kc_watch_decoder_feed(d, "{}", 2, &err), CK_EPROTO);
	ck_err_free(err);
	kc_watch_decoder_free(d);
	d = kc_watch_decoder_new(on_ev, &e);
	err = NULL;
	assert_int_equal(kc_watch_decoder_feed(d, "garbage", 7, &err), CK_EPROTO);
	ck_err_free(err);
	kc_watch_decoder_free(d);
	ck_buf_free(&e.log);
}

/* ---- against a server ---- */
typedef struct seen {
	ck_buf log; /* "METHOD path?query ctype body\n" */
	int watch_events;
	int watch_timeout_ms;
} seen;

static void on_request(http_exchange *x, void *data)
{
	seen *s = data;
	const http_request *r = http_exchange_request(x);
	const char *ct = http_request_header(r, "Content-Type");
	ck_buf_printf(&s->log, "%s %s%s%s %s %.*s\n", r->method, r->path, *r->query ? "?" : "",
	              r->query, ct ? ct : "-", (int)r->body_len, r->body);
	if (!strcmp(r->path, "/api/v1/namespaces/default/pods/missing")) {
		const char *b = "{\"kind\":\"Status\",\"code\":404,\"reason\":\"NotFound\","
		                "\"message\":\"pods \\\"missing\\\" not found\"}";
		http_respond(x, 404, "application/json", b, strlen(b));
		return;
	}
	if (!strcmp(r->method, "POST") && !strcmp(r->path, "/api/v1/namespaces/default/pods")) {
		const char *b = "{\"kind\":\"Status\",\"code\":409,\"reason\":\"AlreadyExists\","
		                "\"message\":\"pods \\\"a\\\" already exists\"}";
		http_respond(x, 409, "application/json", b, strlen(b));
		return;
	}
	_cleanup_free_ char *watch = http_request_query(r, "watch");
	if (watch) {
		http_stream_begin(x, 200, "application/json");
		for (int i = 0; i < 3; i++) {
			char *ev = ck_asprintf("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\","
			                       "\"metadata\":{\"name\":\"p%d\"}}}\n",
			                       i);
			http_stream_write(x, ev, strlen(ev));
			free(ev);
		}
		http_stream_end(x);
		return;
	}
	const char *b =
	    "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"namespace\":\"default\"}}";
	http_respond(x, 200, "application/json", b, strlen(b));
}

typedef struct done {
	int calls;
	int rc;
	char *name;
	char *msg;
} done;

static void on_result(kc_result *res, void *user)
{
	done *d = user;
	d->calls++;
	d->rc = res->rc;
	free(d->name);
	free(d->msg);
	d->name = res->obj ? ck_strdup(kc_obj_name(res->obj)) : NULL;
	d->msg = res->err ? ck_strdup(res->err->msg) : NULL;
}

static void wait_done(uv_loop_t *loop, done *d)
{
	int want = d->calls + 1;
	while (d->calls < want)
		uv_run(loop, UV_RUN_ONCE);
}

typedef struct wstate {
	events e;
	int ended;
	int rc;
} wstate;

static void on_wev(enum kc_event_type t, cJSON **obj, void *user)
{
	on_ev(t, obj, &((wstate *)user)->e);
}

static void on_wend(int rc, const ck_err *err, void *user)
{
	wstate *w = user;
	w->ended++;
	w->rc = rc;
}

static void test_requests(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	seen s = {0};
	http_server *srv = NULL;
	http_server_opts so = {.port = 0};
	assert_int_equal(http_server_new(&loop, &so, on_request, &s, &srv, NULL), 0);
	char *url = ck_asprintf("http://127.0.0.1:%d", http_server_port(srv));
	kubeconfig kc = {.server = url};
	kc_client *c = NULL;
	assert_int_equal(kc_client_new(&loop, &kc, &c, NULL), 0);
	done d = {0};

	assert_int_equal(kc_get(c, &KC_PODS, "default", "a", on_result, &d), 0);
	wait_done(&loop, &d);
	assert_int_equal(d.rc, 0);
	assert_string_equal(d.name, "a");

	assert_int_equal(kc_get(c, &KC_PODS, "default", "missing", on_result, &d), 0);
	wait_done(&loop, &d);
	assert_int_equal(d.rc, -ENOENT);
	assert_string_equal(d.msg, "pods \"missing\" not found");

	cJSON *pod = ck_json_parse(
	    "{\"metadata\":{\"name\":\"a\",\"namespace\":\"default\"}}",
	    strlen("{\"metadata\":{\"name\":\"a\",\"namespace\":\"default\"}}"), NULL);
	assert_int_equal(kc_create(c, &KC_PODS, NULL, pod, on_result, &d), 0);
	wait_done(&loop, &d);
	assert_int_equal(d.rc, -EEXIST);

	assert_int_equal(kc_update(c, &KC_PODS, NULL, pod, on_result, &d), 0);
	wait_done(&loop, &d);
	assert_int_equal(kc_update_status(c, &KC_PODS, NULL, pod, on_result, &d), 0);
	wait_done(&loop, &d);
	cJSON *patch = ck_json_parse("{\"spec\":{\"x\":1}}", strlen("{\"spec\":{\"x\":1}}"), NULL);
	assert_int_equal(
	    kc_patch(c, &KC_PODS, "default", "a", NULL, KC_PATCH_STRATEGIC, patch, on_result, &d),
	    0);
	wait_done(&loop, &d);
	kc_delete_opts dopts = KC_DELETE_OPTS_INIT;
	dopts.grace_period_seconds = 0;
	dopts.precondition_uid = "u1";
	assert_int_equal(kc_delete(c, &KC_PODS, "default", "a", &dopts, on_result, &d), 0);
	wait_done(&loop, &d);
	cJSON *binding = ck_json_parse("{\"target\":{\"name\":\"n1\"}}",
	                               strlen("{\"target\":{\"name\":\"n1\"}}"), NULL);
	assert_int_equal(
	    kc_post_subresource(c, &KC_PODS, "default", "a", "binding", binding, on_result, &d), 0);
	wait_done(&loop, &d);
	assert_int_equal(kc_list(c, &KC_NODES, NULL, &(kc_list_opts){.limit = 2}, on_result, &d),
	                 0);
	wait_done(&loop, &d);

	const char *want = "GET /api/v1/namespaces/default/pods/a - \n"
	                   "GET /api/v1/namespaces/default/pods/missing - \n"
	                   "POST /api/v1/namespaces/default/pods application/json "
	                   "{\"metadata\":{\"name\":\"a\",\"namespace\":\"default\"}}\n"
	                   "PUT /api/v1/namespaces/default/pods/a application/json "
	                   "{\"metadata\":{\"name\":\"a\",\"namespace\":\"default\"}}\n"
	                   "PUT /api/v1/namespaces/default/pods/a/status application/json "
	                   "{\"metadata\":{\"name\":\"a\",\"namespace\":\"default\"}}\n"
	                   "PATCH /api/v1/namespaces/default/pods/a "
	                   "application/strategic-merge-patch+json {\"spec\":{\"x\":1}}\n"
	                   "DELETE /api/v1/namespaces/default/pods/a application/json "
	                   "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\","
	                   "\"gracePeriodSeconds\":0,\"preconditions\":{\"uid\":\"u1\"}}\n"
	                   "POST /api/v1/namespaces/default/pods/a/binding application/json "
	                   "{\"target\":{\"name\":\"n1\"}}\n"
	                   "GET /api/v1/nodes?limit=2 - \n";
	assert_string_equal(ck_buf_str(&s.log), want);

	/* A watch: events then a normal end. */
	wstate w = {0};
	assert_int_equal(kc_watch_start(c, &KC_PODS, NULL, &(kc_list_opts){.resource_version = "5"},
	                                on_wev, on_wend, &w, NULL),
	                 0);
	while (!w.ended)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(w.rc, 0);
	assert_string_equal(ck_buf_str(&w.e.log), "ADDED:p0;ADDED:p1;ADDED:p2;");

	/* Blocking client from this thread would block the server: covered in integration. */
	kc_client_free(c);
	http_server_shutdown(srv, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	cJSON_Delete(pod);
	cJSON_Delete(patch);
	cJSON_Delete(binding);
	free(url);
	free(d.name);
	free(d.msg);
	ck_buf_free(&s.log);
	ck_buf_free(&w.e.log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_status_errors),
	    cmocka_unit_test(test_watch_decoder),
	    cmocka_unit_test(test_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
