/* api/leader against a fake apiserver (http_server on 127.0.0.1) holding one Lease with
 * optimistic concurrency (PUT with a stale resourceVersion: 409): of two candidates one
 * leads; a release hands over at once; a leader that sees another holder stops leading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/leader.h"
#include "base/json.h"
#include "loop_harness.h"
#include "net/http_server.h"

#define LEASE_PATH "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"

/* ---- fake apiserver: one Lease ---- */
typedef struct fake {
	cJSON *lease; /* NULL until created */
	int rv;
} fake;

static void respond_json(http_exchange *x, int status, const cJSON *obj)
{
	_cleanup_free_ char *s = ck_json_print(obj);
	http_respond(x, status, "application/json", s, strlen(s));
}

static void respond_status(http_exchange *x, int code, const char *reason)
{
	_cleanup_free_ char *s =
	    ck_asprintf("{\"kind\":\"Status\",\"apiVersion\":\"v1\","
	                "\"status\":\"Failure\",\"reason\":\"%s\",\"code\":%d}",
	                reason, code);
	http_respond(x, code, "application/json", s, strlen(s));
}

/* Stores obj as the lease with a new resourceVersion. */
static void store(fake *f, cJSON *obj)
{
	char rv[16];
	snprintf(rv, sizeof(rv), "%d", ++f->rv);
	ck_json_set_str(obj, "metadata.resourceVersion", rv);
	cJSON_Delete(f->lease);
	f->lease = obj;
}

static void on_request(http_exchange *x, void *data)
{
	fake *f = data;
	const http_request *r = http_exchange_request(x);
	if (!strcmp(r->method, "POST") && !strcmp(r->path, LEASE_PATH)) {
		if (f->lease)
			return respond_status(x, 409, "AlreadyExists");
		store(f, ck_json_parse(r->body, r->body_len, NULL));
		return respond_json(x, 201, f->lease);
	}
	if (strcmp(r->path, LEASE_PATH "/l") || !f->lease)
		return respond_status(x, 404, "NotFound");
	if (!strcmp(r->method, "GET"))
		return respond_json(x, 200, f->lease);
	cJSON *obj = ck_json_parse(r->body, r->body_len, NULL);
	if (strcmp(kc_obj_resource_version(obj), kc_obj_resource_version(f->lease))) {
		cJSON_Delete(obj);
		return respond_status(x, 409, "Conflict");
	}
	store(f, obj);
	respond_json(x, 200, f->lease);
}

/* ---- candidates ---- */
typedef struct cand {
	leader *l;
	int started, stopped;
	bool released;
} cand;

static void on_started(void *data)
{
	((cand *)data)->started++;
}

static void on_stopped(void *data)
{
	((cand *)data)->stopped++;
}

static void on_released(void *data)
{
	((cand *)data)->released = true;
}

typedef struct env {
	uv_loop_t loop;
	fake f;
	http_server *srv;
	kc_client *c;
	char *url;
} env;

#define RUN_UNTIL(loop, cond) HARNESS_RUN_UNTIL(loop, cond, 10000, "")

static void env_init(env *e)
{
	assert_int_equal(uv_loop_init(&e->loop), 0);
	assert_int_equal(
	    http_server_new(&e->loop, &(http_server_opts){0}, on_request, &e->f, &e->srv, NULL), 0);
	e->url = ck_asprintf("http://127.0.0.1:%d", http_server_port(e->srv));
	kubeconfig kc = {.server = e->url};
	assert_int_equal(kc_client_new(&e->loop, &kc, &e->c, NULL), 0);
}

static void env_free(env *e)
{
	kc_client_free(e->c);
	http_server_shutdown(e->srv, NULL, NULL);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&e->loop), 0);
	cJSON_Delete(e->f.lease);
	free(e->url);
}

static void campaign(env *e, cand *c, const char *identity)
{
	leader_opts o = {
	    .name = "l",
	    .identity = identity,
	    .lease_duration_ms = 1000,
	    .renew_deadline_ms = 500,
	    .retry_period_ms = 20,
	    .on_started_leading = on_started,
	    .on_stopped_leading = on_stopped,
	    .data = c,
	};
	assert_int_equal(leader_new(e->c, &o, &c->l), 0);
}

static void nothing(uv_timer_t *t)
{
}

static void timer_closed(uv_handle_t *h)
{
	*(bool *)h->data = true;
}

/* Runs the loop for ms (a timer keeps it from blocking past then). */
static void run_for(env *e, uint64_t ms)
{
	uint64_t t0 = uv_now(&e->loop);
	uv_timer_t t;
	uv_timer_init(&e->loop, &t);
	uv_timer_start(&t, nothing, ms, 0);
	while (uv_now(&e->loop) - t0 < ms)
		uv_run(&e->loop, UV_RUN_ONCE);
	/* The handle lives on this stack frame: it must be closed before the frame goes. */
	bool closed = false;
	t.data = &closed;
	uv_close((uv_handle_t *)&t, timer_closed);
	while (!closed)
		uv_run(&e->loop, UV_RUN_ONCE);
}

static void test_one_leads_release_hands_over(void **state)
{
	env e = {0};
	env_init(&e);
	cand a = {0}, b = {0};
	campaign(&e, &a, "a");
	RUN_UNTIL(&e.loop, leader_leading(a.l));
	campaign(&e, &b, "b");
	run_for(&e, 200);
	assert_true(leader_leading(a.l));
	assert_false(leader_leading(b.l));
	assert_int_equal(a.started, 1);
	assert_int_equal(b.started, 0);
	assert_string_equal(ck_json_get_str(e.f.lease, "spec.holderIdentity", ""), "a");
	assert_int_equal(ck_json_get_int(e.f.lease, "spec.leaseDurationSeconds", 0), 1);
	assert_string_equal(leader_identity(a.l), "a");

	/* Released: no holder, and b takes over well before the lease would expire. */
	leader_release(a.l, on_released, &a);
	RUN_UNTIL(&e.loop, a.released);
	assert_false(leader_leading(a.l));
	assert_int_equal(a.stopped, 0);
	uint64_t t0 = uv_now(&e.loop);
	RUN_UNTIL(&e.loop, leader_leading(b.l));
	assert_true(uv_now(&e.loop) - t0 < 1000);
	assert_string_equal(ck_json_get_str(e.f.lease, "spec.holderIdentity", ""), "b");
	assert_int_equal(ck_json_get_int(e.f.lease, "spec.leaseTransitions", 0), 1);

	leader_free(a.l);
	leader_free(b.l);
	env_free(&e);
}

static void test_other_holder_stops_leading(void **state)
{
	env e = {0};
	env_init(&e);
	cand a = {0};
	campaign(&e, &a, NULL);
	RUN_UNTIL(&e.loop, leader_leading(a.l));
	assert_non_null(strstr(leader_identity(a.l), "_"));
	/* Someone else writes the lease as its holder, renewed now. */
	cJSON *taken = ck_json_dup(e.f.lease);
	ck_json_set_str(taken, "spec.holderIdentity", "intruder");
	ck_json_set_str(taken, "spec.renewTime", "2099-01-01T00:00:00.000000Z");
	store(&e.f, taken);
	RUN_UNTIL(&e.loop, a.stopped == 1);
	assert_false(leader_leading(a.l));
	leader_free(a.l);
	env_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_leads_release_hands_over),
	    cmocka_unit_test(test_other_holder_stops_leading),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
