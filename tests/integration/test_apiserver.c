/* kube-apiserver processes on a real etcd, driven over HTTP: guaranteed updates under
 * concurrency, watch semantics (selector transitions, initial events, 410), two apiservers
 * on one etcd, and garbage input that must never take the server down. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "apiserver_harness.h"
#include "etcd_client_harness.h"
#include "etcd_harness.h"
#include "net/etcd.h"
#include "net/http_client.h"

typedef struct apiserver_proc {
	apiserver_harness *h;
	const char *base;
	httpc_sync *http;
} apiserver_proc;

static etcd_harness *harness;
static apiserver_proc servers[2];

/* Sends one request; returns the status and the body (caller frees) in *body. */
static int req(apiserver_proc *s, const char *method, const char *path, const char *ctype,
               const char *body, char **out)
{
	httpc_response resp = {0};
	ck_err *err = NULL;
	httpc_request r = {.method = method,
	                   .path = path,
	                   .content_type = ctype,
	                   .body = body,
	                   .body_len = body ? strlen(body) : 0,
	                   .timeout_ms = 30000};
	if (httpc_sync_do(s->http, &r, &resp, &err) < 0 || resp.rc)
		fail_msg("%s %s: %s", method, path, err ? err->msg : resp.error);
	int status = resp.status;
	if (out)
		*out = ck_strdup(resp.body);
	httpc_response_clear(&resp);
	return status;
}

static void start_with(apiserver_proc *s, const char *const *args)
{
	ck_err *err = NULL;
	if (apiserver_harness_start(
	        &(apiserver_harness_opts){.etcd_servers = etcd_harness_endpoints(harness),
	                                  .args = args},
	        &s->h, &err) < 0)
		fail_msg("kube-apiserver: %s", err->msg);
	s->base = apiserver_harness_url(s->h);
	assert_int_equal(httpc_sync_new(&(httpc_opts){.base_url = s->base}, &s->http, &err), 0);
}

static void start_apiserver(apiserver_proc *s)
{
	start_with(s, NULL);
}

static void stop_apiserver(apiserver_proc *s)
{
	apiserver_harness_stop(s->h);
	httpc_sync_free(s->http);
	*s = (apiserver_proc){0};
}

static int setup(void **state)
{
	ck_err *err = NULL;
	if (etcd_harness_start(&harness, &err) < 0) {
		fprintf(stderr, "etcd: %s\n", err->msg);
		return -1;
	}
	start_apiserver(&servers[0]);
	return 0;
}

static int teardown(void **state)
{
	stop_apiserver(&servers[0]);
	stop_apiserver(&servers[1]);
	etcd_harness_stop(harness);
	return 0;
}

static cJSON *parse(const char *s)
{
	cJSON *j = ck_json_parse(s, strlen(s), NULL);
	assert_non_null(j);
	return j;
}

static char *rv_of(const char *body)
{
	cJSON *j = parse(body);
	char *rv = ck_strdup(ck_json_get_str(j, "metadata.resourceVersion", ""));
	cJSON_Delete(j);
	return rv;
}

static const char pod_json[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"labels\":{\"a\":\"1\"}"
    "},"
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}";

static void create_pod(apiserver_proc *s, const char *name)
{
	char body[512];
	snprintf(body, sizeof(body), pod_json, name);
	char *out = NULL;
	int st = req(s, "POST", "/api/v1/namespaces/default/pods", "application/json", body, &out);
	if (st != 201)
		fail_msg("create %s: %d %s", name, st, out);
	free(out);
}

/* ---- concurrent patches: every one lands, none is lost to a conflict ---- */

typedef struct patch_run {
	int done, ok;
	uv_loop_t *loop;
} patch_run;

static void patch_done(const httpc_response *resp, void *user)
{
	patch_run *pr = user;
	pr->done++;
	if (resp->rc == 0 && resp->status == 200)
		pr->ok++;
}

static void test_concurrent_patches(void **state)
{
	apiserver_proc *s = &servers[0];
	create_pod(s, "conc");
	uv_loop_t loop;
	uv_loop_init(&loop);
	httpc *c = NULL;
	ck_err *err = NULL;
	assert_int_equal(httpc_new(&loop, &(httpc_opts){.base_url = s->base}, &c, &err), 0);
	enum { N = 24 };
	patch_run pr = {.loop = &loop};
	char bodies[N][96];
	for (int i = 0; i < N; i++) {
		snprintf(bodies[i], sizeof(bodies[i]),
		         "{\"metadata\":{\"labels\":{\"l%d\":\"v\"}}}", i);
		httpc_request r = {.method = "PATCH",
		                   .path = "/api/v1/namespaces/default/pods/conc",
		                   .content_type = "application/merge-patch+json",
		                   .body = bodies[i],
		                   .body_len = strlen(bodies[i]),
		                   .on_done = patch_done,
		                   .user = &pr};
		assert_int_equal(httpc_start(c, &r, NULL), 0);
	}
	while (pr.done < N)
		uv_run(&loop, UV_RUN_ONCE);
	httpc_free(c);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	assert_int_equal(pr.ok, N);
	char *out = NULL;
	assert_int_equal(req(s, "GET", "/api/v1/namespaces/default/pods/conc", NULL, NULL, &out),
	                 200);
	cJSON *pod = parse(out);
	assert_int_equal(cJSON_GetArraySize(ck_json_get(pod, "metadata.labels")), N + 1);
	cJSON_Delete(pod);
	free(out);
}

/* ---- watch: selector transitions replayed from a resourceVersion ---- */

static char *event_types(const char *stream)
{
	char *types = ck_strdup("");
	for (const char *line = stream; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		cJSON *ev = ck_json_parse(line, n, NULL);
		assert_non_null(ev);
		char *next = ck_asprintf("%s%s%s", types, *types ? "," : "",
		                         ck_json_get_str(ev, "type", "?"));
		free(types);
		types = next;
		cJSON_Delete(ev);
		line = nl ? nl + 1 : NULL;
	}
	return types;
}

/* Watches path (a watch URL whose resourceVersion is "%s": rv) until its timeoutSeconds
 * ends, and asserts the types of the events it got, comma-separated. */
static void expect_watch(apiserver_proc *s, const char *path_fmt, const char *rv, const char *want)
{
	char path[256];
	snprintf(path, sizeof(path), path_fmt, rv);
	char *out = NULL;
	assert_int_equal(req(s, "GET", path, NULL, NULL, &out), 200);
	char *types = event_types(out);
	assert_string_equal(types, want);
	free(types);
	free(out);
}

static void test_watch_transitions(void **state)
{
	apiserver_proc *s = &servers[0];
	char *out = NULL;
	assert_int_equal(req(s, "GET", "/api/v1/namespaces/default/pods", NULL, NULL, &out), 200);
	char *rv = rv_of(out);
	free(out);
	create_pod(s, "w1");
	const char *ct = "application/merge-patch+json";
	assert_int_equal(req(s, "PATCH", "/api/v1/namespaces/default/pods/w1", ct,
	                     "{\"metadata\":{\"labels\":{\"a\":\"2\"}}}", NULL),
	                 200);
	assert_int_equal(req(s, "PATCH", "/api/v1/namespaces/default/pods/w1", ct,
	                     "{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"x\"}}}", NULL),
	                 200);
	assert_int_equal(req(s, "PATCH", "/api/v1/namespaces/default/pods/w1", ct,
	                     "{\"metadata\":{\"labels\":{\"b\":\"y\"}}}", NULL),
	                 200);
	assert_int_equal(req(s, "DELETE", "/api/v1/namespaces/default/pods/w1", NULL, NULL, NULL),
	                 200);
	expect_watch(s,
	             "/api/v1/namespaces/default/"
	             "pods?watch=true&labelSelector=a%%3D1&resourceVersion=%s&timeoutSeconds=1",
	             rv, "ADDED,DELETED,ADDED,MODIFIED,DELETED");
	/* Without a selector every change is seen as it happened. */
	expect_watch(s,
	             "/api/v1/pods?watch=1&fieldSelector=metadata.name%%3Dw1&resourceVersion=%s"
	             "&timeoutSeconds=1",
	             rv, "ADDED,MODIFIED,MODIFIED,MODIFIED,DELETED");
	free(rv);
}

static void test_watch_initial_events(void **state)
{
	apiserver_proc *s = &servers[0];
	/* Watched right after the create: the initial state is etcd's, never the watch
	 * cache's, which can trail the write by a moment. */
	create_pod(s, "init1");
	char *out = NULL;
	assert_int_equal(
	    req(s, "GET",
	        "/api/v1/namespaces/default/pods?watch=1&fieldSelector=metadata.name%3Dinit1"
	        "&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan"
	        "&timeoutSeconds=1",
	        NULL, NULL, &out),
	    200);
	char *types = event_types(out);
	assert_string_equal(types, "ADDED,BOOKMARK");
	assert_non_null(strstr(out, "\"k8s.io/initial-events-end\":\"true\""));
	free(types);
	free(out);
	/* No resourceVersion: the current state first, as ADDED events. */
	assert_int_equal(
	    req(s, "GET",
	        "/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=1&labelSelector=a", NULL,
	        NULL, &out),
	    200);
	assert_non_null(strstr(out, "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\""));
	assert_non_null(strstr(out, "\"name\":\"init1\""));
	free(out);
	create_pod(s, "init2");
	assert_int_equal(req(s, "GET",
	                     "/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=1"
	                     "&fieldSelector=metadata.name%3Dinit2",
	                     NULL, NULL, &out),
	                 200);
	types = event_types(out);
	assert_string_equal(types, "ADDED");
	free(types);
	free(out);
}

/* ---- a second apiserver on the same etcd ---- */

static void test_two_apiservers(void **state)
{
	start_apiserver(&servers[1]);
	create_pod(&servers[1], "via-second");
	char *out = NULL;
	assert_int_equal(
	    req(&servers[0], "GET", "/api/v1/namespaces/default/pods/via-second", NULL, NULL, &out),
	    200);
	char *rv = rv_of(out);
	free(out);
	/* An update through the first with the resourceVersion read from it; a stale one
	 * through the second conflicts. */
	char body[512];
	snprintf(body, sizeof(body),
	         "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"via-second\","
	         "\"resourceVersion\":\"%s\",\"labels\":{\"x\":\"1\"}},\"spec\":{\"containers\":"
	         "[{\"name\":\"c\",\"image\":\"busybox\"}]}}",
	         rv);
	assert_int_equal(req(&servers[0], "PUT", "/api/v1/namespaces/default/pods/via-second",
	                     "application/json", body, NULL),
	                 200);
	assert_int_equal(req(&servers[1], "PUT", "/api/v1/namespaces/default/pods/via-second",
	                     "application/json", body, &out),
	                 409);
	assert_non_null(strstr(out, "\"reason\":\"Conflict\""));
	free(out);
	/* Writes through one apiserver answered by the other at once: what the other's watch
	 * cache holds can be a moment old, which must never show in the answers (a stale
	 * conflict, a stale precondition, a missing object). */
	for (int i = 0; i < 20; i++) {
		char name[32], path[96];
		snprintf(name, sizeof(name), "ping-%d", i);
		snprintf(path, sizeof(path), "/api/v1/namespaces/default/pods/%s", name);
		create_pod(&servers[1], name);
		assert_int_equal(req(&servers[0], "PATCH", path, "application/merge-patch+json",
		                     "{\"metadata\":{\"labels\":{\"n\":\"1\"}}}", &out),
		                 200);
		free(out);
		assert_int_equal(req(&servers[1], "GET", path, NULL, NULL, &out), 200);
		char *fresh = rv_of(out);
		free(out);
		snprintf(body, sizeof(body),
		         "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
		         "\"resourceVersion\":\"%s\",\"labels\":{\"n\":\"2\"}},\"spec\":{"
		         "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}",
		         name, fresh);
		free(fresh);
		assert_int_equal(req(&servers[1], "PATCH", path, "application/merge-patch+json",
		                     "{\"metadata\":{\"labels\":{\"n\":\"3\"}}}", &out),
		                 200);
		fresh = rv_of(out);
		free(out);
		/* body carries the version before that patch: a real conflict */
		assert_int_equal(req(&servers[0], "PUT", path, "application/json", body, &out),
		                 409);
		free(out);
		snprintf(body, sizeof(body),
		         "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
		         "\"resourceVersion\":\"%s\",\"labels\":{\"n\":\"4\"}},\"spec\":{"
		         "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}",
		         name, fresh);
		free(fresh);
		assert_int_equal(req(&servers[0], "PUT", path, "application/json", body, &out),
		                 200);
		assert_non_null(strstr(out, "\"n\":\"4\""));
		free(out);
		assert_int_equal(req(&servers[0], "DELETE", path, "application/json",
		                     "{\"gracePeriodSeconds\":0}", &out),
		                 200);
		free(out);
		/* created again through the other: the first's cache may still hold the old one */
		create_pod(&servers[1], name);
		assert_int_equal(req(&servers[0], "PATCH", path, "application/merge-patch+json",
		                     "{\"metadata\":{\"labels\":{\"n\":\"5\"}}}", &out),
		                 200);
		free(out);
	}
	/* The second's cache started after the first writes: an old version is gone. */
	assert_int_equal(req(&servers[1], "GET",
	                     "/api/v1/pods?watch=1&resourceVersion=1&timeoutSeconds=1", NULL, NULL,
	                     &out),
	                 200);
	assert_non_null(strstr(out, "\"type\":\"ERROR\""));
	assert_non_null(strstr(out, "\"code\":410"));
	free(out);
	free(rv);
}

/* ---- garbage in, Status out, server alive ---- */

static void test_garbage(void **state)
{
	apiserver_proc *s = &servers[0];
	static const char *const paths[] = {
	    "/api/v1/namespaces/default/pods",
	    "/api/v1/namespaces/default/pods/conc",
	    "/api/v1/namespaces/default/pods/conc/status",
	    "/api/v1/namespaces/default/pods/conc/binding",
	    "/apis/apps/v1/namespaces/default/deployments/x/scale",
	    "/api/v1/nodes",
	};
	static const char *const methods[] = {"POST", "PUT", "PATCH", "DELETE"};
	static const char *const types[] = {
	    "application/json",
	    "application/vnd.kubernetes.protobuf",
	    "application/merge-patch+json",
	    "application/json-patch+json",
	    "application/strategic-merge-patch+json",
	    "application/apply-patch+yaml",
	    "application/yaml",
	};
	static const char *const bodies[] = {
	    "",
	    "null",
	    "[]",
	    "[1,2",
	    "{\"metadata\":\"x\"}",
	    "{\"metadata\":{\"name\":7},\"spec\":[]}",
	    "[{\"op\":\"replace\",\"path\":\"/spec\",\"value\":5}]",
	    "[{\"op\":\"bogus\"}]",
	    "{\"spec\":{\"containers\":[{\"$patch\":\"delete\"},7,null]}}",
	    "k8s\x00\x0a\x02\x08\x01",
	    "- a: [\n",
	    "{\"kind\":\"Binding\",\"target\":{\"name\":{}}}",
	    "{\"spec\":{\"replicas\":\"many\"}}",
	    "{\"gracePeriodSeconds\":\"x\",\"preconditions\":[]}",
	};
	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++)
		for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++)
			for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
				for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
					char *out = NULL;
					int st =
					    req(s, methods[m], paths[p], types[t], bodies[b], &out);
					/* Every answer is a status code with a JSON body. */
					cJSON *j = ck_json_parse(out, strlen(out), NULL);
					if (st < 200 || st > 599 || !j)
						fail_msg("%s %s (%s) %s: %d %s", methods[m],
						         paths[p], types[t], bodies[b], st, out);
					cJSON_Delete(j);
					free(out);
				}
	assert_int_equal(req(s, "GET", "/healthz", NULL, NULL, NULL), 200);
	char *out = NULL;
	assert_int_equal(req(s, "GET", "/api/v1/namespaces/default/pods", NULL, NULL, &out), 200);
	free(out);
}

/* ---- readiness follows etcd ---- */

static void test_readyz_follows_etcd(void **state)
{
	apiserver_proc *s = &servers[0];
	assert_int_equal(req(s, "GET", "/readyz", NULL, NULL, NULL), 200);
	assert_int_equal(etcd_harness_kill(harness, 0), 0);
	char *out = NULL;
	assert_int_equal(req(s, "GET", "/readyz", NULL, NULL, &out), 500);
	assert_non_null(strstr(out, "[-]etcd failed"));
	free(out);
	assert_int_equal(req(s, "GET", "/livez", NULL, NULL, NULL), 200);
	ck_err *err = NULL;
	if (etcd_harness_restart(harness, 0, &err) < 0)
		fail_msg("etcd restart: %s", err->msg);
	assert_int_equal(req(s, "GET", "/readyz", NULL, NULL, NULL), 200);
	/* And the data is all there. */
	assert_int_equal(req(s, "GET", "/api/v1/namespaces/kube-system", NULL, NULL, &out), 200);
	free(out);
}

/* ---- Events expire (--event-ttl): stored with a lease that one burst shares ---- */

typedef struct lease_read {
	const char *key; /* read: the key whose lease is asked for */
	bool done;
	int rc;
	int64_t lease; /* read: -1 when the key does not exist; revoke: the one to revoke */
} lease_read;

static void got_lease(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	(void)err;
	lease_read *l = data;
	l->done = true;
	l->rc = rc;
	l->lease = rc == 0 && res->n_kvs ? res->kvs[0].lease : -1;
}

static void revoked(int rc, int64_t id, int64_t ttl, const ck_err *err, void *data)
{
	(void)id, (void)ttl, (void)err;
	lease_read *l = data;
	l->done = true;
	l->rc = rc;
}

static void start_read(etcd_client *c, lease_read *l)
{
	etcd_range(c, &(etcd_range_req){.key = l->key}, got_lease, l);
}

static void start_revoke(etcd_client *c, lease_read *l)
{
	etcd_lease_revoke(c, l->lease, revoked, l);
}

/* Runs one etcd call, started by start, on a client of its own, and checks it succeeded. */
static void etcd_once(void (*start)(etcd_client *c, lease_read *l), lease_read *l)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	etcd_client *c = NULL;
	ck_err *err = NULL;
	if (etcd_client_new(&loop,
	                    &(etcd_client_opts){.endpoints = etcd_harness_endpoints(harness)}, &c,
	                    &err) < 0)
		fail_msg("etcd client: %s", err->msg);
	start(c, l);
	while (!l->done)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(ech_client_close(&loop, c), 0);
	assert_int_equal(l->rc, 0);
}

/* The lease etcd has key under: 0 for none, -1 when the key does not exist. */
static int64_t lease_of(const char *key)
{
	lease_read l = {.key = key};
	etcd_once(start_read, &l);
	return l.lease;
}

static void create_event(apiserver_proc *s, const char *name)
{
	char body[512];
	snprintf(body, sizeof(body),
	         "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"%s\"},"
	         "\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"p\",\"namespace\":\"default\"},"
	         "\"reason\":\"R\",\"message\":\"m\",\"type\":\"Normal\"}",
	         name);
	char *out = NULL;
	int st =
	    req(s, "POST", "/api/v1/namespaces/default/events", "application/json", body, &out);
	if (st != 201)
		fail_msg("create event %s: %d %s", name, st, out);
	free(out);
}

static void test_event_ttl(void **state)
{
	/* The default TTL, 1h, reuses a lease for 3 min: a burst of Events shares one; the
	 * other kinds have none. */
	apiserver_proc *s = &servers[0];
	create_event(s, "ttl-a");
	create_event(s, "ttl-b");
	create_pod(s, "ttl-pod");
	int64_t a = lease_of("/registry/events/default/ttl-a");
	assert_true(a > 0);
	assert_int_equal(lease_of("/registry/events/default/ttl-b"), a);
	assert_int_equal(lease_of("/registry/pods/default/ttl-pod"), 0);
	/* An update is a write like any other: the Event keeps a lease. */
	assert_int_equal(req(s, "PATCH", "/api/v1/namespaces/default/events/ttl-a",
	                     "application/merge-patch+json", "{\"count\":2}", NULL),
	                 200);
	int64_t patched = lease_of("/registry/events/default/ttl-a");
	assert_true(patched > 0);
	/* A lease etcd no longer has (revoked, or etcd restored): the next write gets a new
	 * one. The revoke takes the Events with it. */
	etcd_once(start_revoke, &(lease_read){.lease = patched});
	assert_int_equal(lease_of("/registry/events/default/ttl-a"), -1);
	create_event(s, "ttl-c");
	int64_t c = lease_of("/registry/events/default/ttl-c");
	assert_true(c > 0 && c != patched);

	/* With --event-ttl=3s the Event is gone within seconds of its write, the pod is not;
	 * with 0 Events never expire. */
	static const char *const short_ttl[] = {"--event-ttl=3s", NULL};
	apiserver_proc *t = &servers[1];
	stop_apiserver(t); /* test_two_apiservers' second one */
	start_with(t, short_ttl);
	char *out = NULL;
	assert_int_equal(req(t, "GET", "/api/v1/namespaces/default/events", NULL, NULL, &out), 200);
	char *rv = rv_of(out);
	free(out);
	create_event(t, "ttl-short");
	expect_watch(t,
	             "/api/v1/namespaces/default/"
	             "events?watch=1&fieldSelector=metadata.name%%3Dttl-short&resourceVersion=%s"
	             "&timeoutSeconds=8",
	             rv, "ADDED,DELETED");
	free(rv);
	assert_int_equal(
	    req(t, "GET", "/api/v1/namespaces/default/events/ttl-short", NULL, NULL, NULL), 404);
	assert_int_equal(req(t, "GET", "/api/v1/namespaces/default/pods/ttl-pod", NULL, NULL, NULL),
	                 200);
	stop_apiserver(t);
	static const char *const no_ttl[] = {"--event-ttl=0", NULL};
	start_with(t, no_ttl);
	create_event(t, "ttl-never");
	assert_int_equal(lease_of("/registry/events/default/ttl-never"), 0);
	stop_apiserver(t);
}

/* ---- the delete path: deletecollection, namespaces, Service reservations ---- */

/* status of method path with a JSON body; the answer parsed into *out when out. */
static int call(apiserver_proc *s, const char *method, const char *path, const char *body,
                cJSON **out)
{
	char *text = NULL;
	const char *ctype = !body                      ? NULL
	                    : !strcmp(method, "PATCH") ? "application/merge-patch+json"
	                                               : "application/json";
	int st = req(s, method, path, ctype, body, &text);
	if (out)
		*out = parse(text);
	free(text);
	return st;
}

static void must(apiserver_proc *s, int want, const char *method, const char *path,
                 const char *body)
{
	cJSON *out = NULL;
	int st = call(s, method, path, body, &out);
	if (st != want) {
		char *text = ck_json_print(out);
		fail_msg("%s %s: %d, want %d: %s", method, path, st, want, text);
	}
	cJSON_Delete(out);
}

/* Retries method path until it answers want (what another loop does meanwhile, as the
 * namespace purge or a repair pass, is not instant), at most ~30 s. */
static void eventually_status(apiserver_proc *s, int want, const char *method, const char *path,
                              const char *body)
{
	int st = 0;
	for (int i = 0; i < 300; i++) {
		st = call(s, method, path, body, NULL);
		if (st == want)
			return;
		uv_sleep(100);
	}
	fail_msg("%s %s: still %d, want %d", method, path, st, want);
}

static const char held_pod[] =
    "{\"metadata\":{\"name\":\"%s\",\"finalizers\":[\"test.ckube/hold\"]},\"spec\":{"
    "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}";

static void test_deletecollection(void **state)
{
	apiserver_proc *s = &servers[0];
	must(s, 201, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"dc\"}}");
	char body[512];
	snprintf(body, sizeof(body), pod_json, "plain");
	must(s, 201, "POST", "/api/v1/namespaces/dc/pods", body);
	snprintf(body, sizeof(body), held_pod, "held");
	must(s, 201, "POST", "/api/v1/namespaces/dc/pods", body);
	snprintf(body, sizeof(body), pod_json, "bound");
	must(s, 201, "POST", "/api/v1/namespaces/dc/pods", body);
	must(s, 201, "POST", "/api/v1/namespaces/dc/pods/bound/binding",
	     "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"bound\"},"
	     "\"target\":{\"name\":\"n1\"}}");

	/* The answer lists what was deleted, once every delete is done: the plain pod is
	 * gone, the finalizer holds one, the grace period of a bound pod the other. */
	cJSON *out = NULL;
	assert_int_equal(call(s, "DELETE", "/api/v1/namespaces/dc/pods", NULL, &out), 200);
	assert_string_equal(ck_json_get_str(out, "kind", ""), "PodList");
	assert_int_equal(cJSON_GetArraySize(ck_json_get(out, "items")), 3);
	cJSON_Delete(out);
	must(s, 404, "GET", "/api/v1/namespaces/dc/pods/plain", NULL);
	assert_int_equal(call(s, "GET", "/api/v1/namespaces/dc/pods/held", NULL, &out), 200);
	assert_non_null(ck_json_get(out, "metadata.deletionTimestamp"));
	cJSON_Delete(out);
	assert_int_equal(call(s, "GET", "/api/v1/namespaces/dc/pods/bound", NULL, &out), 200);
	assert_int_equal(ck_json_get_int(out, "metadata.deletionGracePeriodSeconds", -1), 30);
	cJSON_Delete(out);
	/* Removing the last finalizer ends the held pod; the bound one goes with grace 0. */
	must(s, 200, "PATCH", "/api/v1/namespaces/dc/pods/held",
	     "{\"metadata\":{\"finalizers\":null}}");
	must(s, 404, "GET", "/api/v1/namespaces/dc/pods/held", NULL);
	must(s, 200, "DELETE", "/api/v1/namespaces/dc/pods/bound", "{\"gracePeriodSeconds\":0}");

	/* Selectors pick what goes. */
	must(s, 201, "POST", "/api/v1/namespaces/dc/configmaps",
	     "{\"metadata\":{\"name\":\"one\",\"labels\":{\"l\":\"1\"}}}");
	must(s, 201, "POST", "/api/v1/namespaces/dc/configmaps",
	     "{\"metadata\":{\"name\":\"two\",\"labels\":{\"l\":\"2\"}}}");
	must(s, 200, "DELETE", "/api/v1/namespaces/dc/configmaps?labelSelector=l%3D1", NULL);
	must(s, 404, "GET", "/api/v1/namespaces/dc/configmaps/one", NULL);
	must(s, 200, "GET", "/api/v1/namespaces/dc/configmaps/two", NULL);

	/* Services deleted by collection give their cluster IPs back. */
	static const char svc[] = "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"clusterIP\":"
	                          "\"10.0.0.50\",\"ports\":[{\"port\":80}]}}";
	snprintf(body, sizeof(body), svc, "fifty");
	must(s, 201, "POST", "/api/v1/namespaces/dc/services", body);
	snprintf(body, sizeof(body), svc, "again");
	must(s, 422, "POST", "/api/v1/namespaces/default/services", body);
	must(s, 200, "DELETE", "/api/v1/namespaces/dc/services", NULL);
	must(s, 404, "GET", "/api/v1/namespaces/dc/services/fifty", NULL);
	eventually_status(s, 201, "POST", "/api/v1/namespaces/default/services", body);
	must(s, 200, "DELETE", "/api/v1/namespaces/default/services/again", NULL);
}

static void test_namespace_terminating(void **state)
{
	apiserver_proc *s = &servers[0];
	must(s, 201, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"term\"}}");
	must(s, 201, "POST", "/api/v1/namespaces/term/configmaps",
	     "{\"metadata\":{\"name\":\"kept\",\"finalizers\":[\"test.ckube/hold\"]}}");
	must(s, 201, "POST", "/api/v1/namespaces/term/configmaps",
	     "{\"metadata\":{\"name\":\"plain\"}}");

	cJSON *out = NULL;
	assert_int_equal(call(s, "DELETE", "/api/v1/namespaces/term", NULL, &out), 200);
	assert_string_equal(ck_json_get_str(out, "status.phase", ""), "Terminating");
	cJSON_Delete(out);
	assert_int_equal(call(s, "GET", "/api/v1/namespaces/term", NULL, &out), 200);
	assert_string_equal(ck_json_get_str(out, "status.phase", ""), "Terminating");
	assert_non_null(ck_json_get(out, "metadata.deletionTimestamp"));
	const cJSON *fin = ck_json_get(out, "spec.finalizers");
	assert_int_equal(cJSON_GetArraySize(fin), 1);
	assert_string_equal(cJSON_GetArrayItem(fin, 0)->valuestring, "kubernetes");
	cJSON_Delete(out);

	assert_int_equal(call(s, "POST", "/api/v1/namespaces/term/configmaps",
	                      "{\"metadata\":{\"name\":\"new\"}}", &out),
	                 403);
	assert_string_equal(ck_json_get_str(out, "message", ""),
	                    "configmaps \"new\" is forbidden: unable to create new content in "
	                    "namespace term because it is being terminated");
	cJSON_Delete(out);

	/* The apiserver empties it through the delete path (until a namespace controller
	 * does): the plain object goes, the held one is marked and keeps the namespace. */
	eventually_status(s, 404, "GET", "/api/v1/namespaces/term/configmaps/plain", NULL);
	assert_int_equal(call(s, "GET", "/api/v1/namespaces/term/configmaps/kept", NULL, &out),
	                 200);
	assert_non_null(ck_json_get(out, "metadata.deletionTimestamp"));
	cJSON_Delete(out);
	must(s, 200, "GET", "/api/v1/namespaces/term", NULL);

	/* A client removing the finalizer, as upstream's namespace controller does, ends it. */
	must(s, 405, "PATCH", "/api/v1/namespaces/term/finalize", "{}");
	must(s, 200, "PUT", "/api/v1/namespaces/term/finalize",
	     "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"term\"},"
	     "\"spec\":{\"finalizers\":[]}}");
	must(s, 404, "GET", "/api/v1/namespaces/term", NULL);
	must(s, 200, "PATCH", "/api/v1/namespaces/term/configmaps/kept",
	     "{\"metadata\":{\"finalizers\":null}}");
	must(s, 404, "GET", "/api/v1/namespaces/term/configmaps/kept", NULL);

	/* Without anything holding it, a namespace goes by itself once emptied. */
	must(s, 201, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"brief\"}}");
	must(s, 201, "POST", "/api/v1/namespaces/brief/configmaps",
	     "{\"metadata\":{\"name\":\"c\"}}");
	must(s, 200, "DELETE", "/api/v1/namespaces/brief", NULL);
	eventually_status(s, 404, "GET", "/api/v1/namespaces/brief", NULL);
	must(s, 404, "GET", "/api/v1/namespaces/brief/configmaps/c", NULL);
}

static void leak_written(int rc, const etcd_write_result *res, const ck_err *err, void *data)
{
	(void)res, (void)err;
	lease_read *l = data;
	l->done = true;
	l->rc = rc;
}

static void start_leak(etcd_client *c, lease_read *l)
{
	static const char owner[] = "default/ghost";
	etcd_put(c, l->key, strlen(l->key), owner, strlen(owner), 0, leak_written, l);
}

static void test_repair_leaked_ip(void **state)
{
	/* A reservation whose Service never got stored (an apiserver died in between). */
	lease_read l = {.key = "/registry/ckube/serviceips/10.0.0.77"};
	etcd_once(start_leak, &l);
	static const char svc[] = "{\"metadata\":{\"name\":\"unghost\"},\"spec\":{\"clusterIP\":"
	                          "\"10.0.0.77\",\"ports\":[{\"port\":80}]}}";
	must(&servers[0], 422, "POST", "/api/v1/namespaces/default/services", svc);
	/* An apiserver's repair at start gives it back (on a second look, a moment later). */
	start_apiserver(&servers[1]);
	eventually_status(&servers[1], 201, "POST", "/api/v1/namespaces/default/services", svc);
	must(&servers[1], 200, "DELETE", "/api/v1/namespaces/default/services/unghost", NULL);
	stop_apiserver(&servers[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_concurrent_patches),
	    cmocka_unit_test(test_watch_transitions),
	    cmocka_unit_test(test_watch_initial_events),
	    cmocka_unit_test(test_two_apiservers),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_event_ttl),
	    cmocka_unit_test(test_readyz_follows_etcd),
	    cmocka_unit_test(test_deletecollection),
	    cmocka_unit_test(test_namespace_terminating),
	    cmocka_unit_test(test_repair_leaked_ip),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
