/* kube-apiserver lists and watches for many clients, on a real etcd: a paged list is one
 * consistent snapshot however the objects change between its pages; watchers that stop
 * reading are closed while one that reads gets every event, and the apiserver's memory
 * stays bounded meanwhile; a watch cache that re-lists keeps its watchers.
 *
 * Objects are written straight into etcd (the stored JSON, many keys per transaction)
 * where only their number matters: the apiserver sees them through its watch as it sees
 * any other apiserver's writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apiserver_harness.h"
#include "base/base64.h"
#include "base/json.h"
#include "base/strbuf.h"
#include "etcd_client_harness.h"
#include "etcd_harness.h"
#include "net/etcd.h"
#include "net/http_client.h"

static etcd_harness *harness;
static apiserver_harness *api;
static httpc_sync *http;
static uv_loop_t loop;
static etcd_client *etcd;

/* The stalled-watcher test's bounds: a small total queue, so that the bound on memory
 * is tight next to what 200 unbounded watchers would hold (their share of 10,000 events
 * of 4 KiB: 8 GiB). */
static const char *const api_args[] = {"--watch-queue-total-mib=64", NULL};

static int setup(void **state)
{
	ck_err *err = NULL;
	if (etcd_harness_start(&harness, &err) < 0 ||
	    apiserver_harness_start(
	        &(apiserver_harness_opts){.etcd_servers = etcd_harness_endpoints(harness),
	                                  .log_path = "/dev/null",
	                                  .args = api_args},
	        &api, &err) < 0 ||
	    httpc_sync_new(&(httpc_opts){.base_url = apiserver_harness_url(api)}, &http, &err) <
	        0 ||
	    uv_loop_init(&loop) < 0 ||
	    etcd_client_new(&loop,
	                    &(etcd_client_opts){.endpoints = etcd_harness_endpoints(harness)},
	                    &etcd, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err ? err->msg : "failed");
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	ech_client_close(&loop, etcd);
	httpc_sync_free(http);
	apiserver_harness_stop(api);
	etcd_harness_stop(harness);
	return 0;
}

/* One request; returns the status and the body (caller frees) in *out. */
static int req(const char *method, const char *path, const char *body, char **out)
{
	httpc_response resp = {0};
	ck_err *err = NULL;
	httpc_request r = {.method = method,
	                   .path = path,
	                   .content_type = body ? "application/json" : NULL,
	                   .body = body,
	                   .body_len = body ? strlen(body) : 0,
	                   .timeout_ms = 60000};
	if (httpc_sync_do(http, &r, &resp, &err) < 0 || resp.rc)
		fail_msg("%s %s: %s", method, path, err ? err->msg : resp.error);
	int status = resp.status;
	if (out)
		*out = ck_strdup(resp.body);
	httpc_response_clear(&resp);
	return status;
}

static cJSON *get_json(const char *path)
{
	char *out = NULL;
	int st = req("GET", path, NULL, &out);
	if (st != 200)
		fail_msg("GET %s: %d %s", path, st, out);
	cJSON *j = ck_json_parse(out, strlen(out), NULL);
	free(out);
	assert_non_null(j);
	return j;
}

static void on_compacted(int rc, int64_t revision, const ck_err *err, void *data)
{
	ech_result *r = data;
	r->done = true;
	r->rc = rc;
	if (err)
		snprintf(r->err, sizeof(r->err), "%s", err->msg);
}

static void run_until(const ech_result *r)
{
	while (!r->done)
		uv_run(&loop, UV_RUN_ONCE);
}

/* Writes configmaps ns/<name_i> for i in [from, to) as stored JSON with data.v = value,
 * up to 100 keys per transaction; returns the last revision written. */
static int64_t put_configmaps(const char *ns, int from, int to, const char *value)
{
	int64_t rev = 0;
	for (int i = from; i < to;) {
		etcd_txn_op ops[100];
		char *keys[100], *vals[100];
		int n = 0;
		for (; n < 100 && i < to; n++, i++) {
			keys[n] = ck_asprintf("/registry/configmaps/%s/cm-%05d", ns, i);
			vals[n] = ck_asprintf(
			    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
			    "{\"name\":\"cm-%05d\",\"namespace\":\"%s\",\"uid\":\"u-%d\"},"
			    "\"data\":{\"v\":\"%s\"}}",
			    i, ns, i, value);
			ops[n] = (etcd_txn_op){.type = ETCD_OP_PUT,
			                       .key = keys[n],
			                       .key_len = strlen(keys[n]),
			                       .val = vals[n],
			                       .val_len = strlen(vals[n])};
		}
		ech_result r = {0};
		etcd_txn(etcd, NULL, 0, ops, (size_t)n, ech_on_write, &r);
		run_until(&r);
		if (r.rc != 0)
			fail_msg("txn: %s", r.err);
		rev = r.revision;
		for (int k = 0; k < n; k++) {
			free(keys[k]);
			free(vals[k]);
		}
	}
	return rev;
}

/* ---- a paged list is one snapshot ---- */

#define PAGED_N 5000
#define PAGE    500

static void cm_path(char *buf, size_t n, int i)
{
	snprintf(buf, n, "/api/v1/namespaces/paged/configmaps/cm-%05d", i);
}

static void test_paged_list_is_a_snapshot(void **state)
{
	assert_int_equal(
	    req("POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"paged\"}}", NULL), 201);
	put_configmaps("paged", 0, PAGED_N, "first");
	static int seen[PAGED_N + 100];
	memset(seen, 0, sizeof(seen));
	char *cont = NULL;
	int64_t snapshot = 0;
	int pages = 0, created = PAGED_N;
	do {
		char path[1024];
		snprintf(path, sizeof(path), "/api/v1/namespaces/paged/configmaps?limit=%d%s%s",
		         PAGE, cont ? "&continue=" : "", cont ? cont : "");
		cJSON *list = get_json(path);
		int64_t rv =
		    strtoll(ck_json_get_str(list, "metadata.resourceVersion", "0"), NULL, 10);
		if (!pages)
			snapshot = rv;
		/* Every page is at the first page's revision. */
		assert_int_equal(rv, snapshot);
		const cJSON *items = ck_json_get(list, "items"), *it;
		assert_true(cJSON_GetArraySize(items) <= PAGE);
		cJSON_ArrayForEach(it, items)
		{
			const char *name = ck_json_get_str(it, "metadata.name", "");
			int i = atoi(name + 3);
			assert_true(i >= 0 && i < PAGED_N);
			seen[i]++;
			/* As it was at the snapshot, not as updated since. */
			assert_string_equal(ck_json_get_str(it, "data.v", ""), "first");
			assert_true(strtoll(ck_json_get_str(it, "metadata.resourceVersion", "0"),
			                    NULL, 10) <= snapshot);
		}
		free(cont);
		const char *c = ck_json_get_str(list, "metadata.continue", "");
		cont = *c ? ck_strdup(c) : NULL;
		if (!pages)
			assert_int_equal(ck_json_get_int(list, "metadata.remainingItemCount", -1),
			                 PAGED_N - PAGE);
		if (!cont)
			assert_null(ck_json_get(list, "metadata.remainingItemCount"));
		cJSON_Delete(list);
		pages++;
		/* Between pages, through the API: a create, updates of an object already
		 * listed and of one still to come, deletes of both kinds. */
		char body[512], p[128];
		snprintf(body, sizeof(body),
		         "{\"metadata\":{\"name\":\"cm-%05d\"},\"data\":{\"v\":\"new\"}}",
		         created++);
		assert_int_equal(req("POST", "/api/v1/namespaces/paged/configmaps", body, NULL),
		                 201);
		int done = pages * PAGE, later = done + 7;
		const char *patch = "{\"data\":{\"v\":\"changed\"}}";
		for (int k = 0; k < 2; k++) {
			int i = k ? later : done - 3;
			if (i >= PAGED_N)
				continue;
			cm_path(p, sizeof(p), i);
			httpc_response resp = {0};
			ck_err *err = NULL;
			httpc_request r = {.method = "PATCH",
			                   .path = p,
			                   .content_type = "application/merge-patch+json",
			                   .body = patch,
			                   .body_len = strlen(patch)};
			assert_int_equal(httpc_sync_do(http, &r, &resp, &err), 0);
			assert_int_equal(resp.status, 200);
			httpc_response_clear(&resp);
			cm_path(p, sizeof(p), k ? later + 1 : done - 4);
			if (i + 1 < PAGED_N)
				assert_int_equal(req("DELETE", p, NULL, NULL), 200);
		}
	} while (cont);
	assert_int_equal(pages, PAGED_N / PAGE);
	for (int i = 0; i < PAGED_N; i++)
		if (seen[i] != 1)
			fail_msg("cm-%05d listed %d times", i, seen[i]);
}

static void test_continue_expired(void **state)
{
	put_configmaps("expire", 0, 10, "x");
	cJSON *list = get_json("/api/v1/namespaces/expire/configmaps?limit=4");
	char *cont = ck_strdup(ck_json_get_str(list, "metadata.continue", ""));
	assert_true(*cont);
	cJSON_Delete(list);
	/* The token is upstream's: base64 of the snapshot and the key after the last one. */
	uint8_t *raw = NULL;
	size_t len;
	assert_int_equal(ck_base64_decode(cont, CK_BASE64_STRICT, &raw, &len), 0);
	assert_non_null(strstr((char *)raw, "\"v\":\"meta.k8s.io/v1\""));
	assert_non_null(strstr((char *)raw, "\"start\":\"cm-00003\\u0000\""));
	free(raw);
	/* Compacted past the snapshot: 410 with a token that continues inconsistently. */
	int64_t rev = put_configmaps("expire", 10, 11, "x");
	ech_result r = {0};
	etcd_compact(etcd, rev, true, on_compacted, &r);
	run_until(&r);
	assert_int_equal(r.rc, 0);
	char path[1024], *out = NULL;
	snprintf(path, sizeof(path), "/api/v1/namespaces/expire/configmaps?limit=4&continue=%s",
	         cont);
	assert_int_equal(req("GET", path, NULL, &out), 410);
	cJSON *st = ck_json_parse(out, strlen(out), NULL);
	free(out);
	assert_string_equal(ck_json_get_str(st, "reason", ""), "Expired");
	assert_non_null(
	    strstr(ck_json_get_str(st, "message", ""), "too old to display a consistent"));
	snprintf(path, sizeof(path), "/api/v1/namespaces/expire/configmaps?limit=100&continue=%s",
	         ck_json_get_str(st, "metadata.continue", ""));
	cJSON_Delete(st);
	list = get_json(path);
	/* The rest, from cm-00004, now including what was written since. */
	assert_int_equal(cJSON_GetArraySize(ck_json_get(list, "items")), 7);
	assert_string_equal(ck_json_get_str(list, "items.0.metadata.name", ""), "cm-00004");
	cJSON_Delete(list);
	free(cont);
	/* Garbage tokens and mixed parameters are the client's error. */
	assert_int_equal(req("GET", "/api/v1/configmaps?limit=1&continue=bm90LWpzb24=", NULL, NULL),
	                 400);
	assert_int_equal(
	    req("GET", "/api/v1/configmaps?limit=1&continue=x&resourceVersion=5", NULL, NULL), 400);
	assert_int_equal(req("GET", "/api/v1/configmaps?resourceVersionMatch=Exact", NULL, NULL),
	                 400);
}

/* ---- stalled watchers are closed, memory stays bounded ---- */

#define STALLED 200
#define EVENTS  10000
#define OBJS    100

/* The path of a watch of the configmaps in ns from now (the resourceVersion of a list). */
static void watch_path(const char *ns, char *buf, size_t n)
{
	char list_path[128];
	snprintf(list_path, sizeof(list_path), "/api/v1/namespaces/%s/configmaps", ns);
	cJSON *list = get_json(list_path);
	snprintf(buf, n, "/api/v1/namespaces/%s/configmaps?watch=1&resourceVersion=%s", ns,
	         ck_json_get_str(list, "metadata.resourceVersion", ""));
	cJSON_Delete(list);
}

static int connect_watch(const char *path, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)apiserver_harness_port(api)),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	char rq[512];
	int n = snprintf(rq, sizeof(rq), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
	assert_int_equal(write(fd, rq, (size_t)n), n);
	/* Read the response head: once it is here the watch is subscribed. */
	char head[4096];
	size_t got = 0;
	while (got < sizeof(head) - 1) {
		ssize_t k = read(fd, head + got, 1);
		assert_true(k == 1);
		got++;
		if (got >= 4 && !memcmp(head + got - 4, "\r\n\r\n", 4))
			break;
	}
	head[got] = '\0';
	assert_non_null(strstr(head, " 200 "));
	return fd;
}

/* Reads fd until EOF, an error, or want event lines; returns the lines seen. Gives up
 * (returning what it saw) after 120 s without a byte. */
static long read_events(int fd, long want)
{
	long lines = 0;
	char buf[65536], last = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (want <= 0 || lines < want) {
		if (poll(&p, 1, 120000) <= 0)
			break;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return n == 0 || errno == ECONNRESET ? -lines - 1 : lines;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' && last == '}')
				lines++;
			last = buf[i];
		}
	}
	return lines;
}

typedef struct reader {
	int fd;
	long lines;
} reader;

static void *read_all(void *p)
{
	reader *r = p;
	r->lines = read_events(r->fd, EVENTS);
	return NULL;
}

static long proc_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	long v = -1;
	size_t flen = strlen(field);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, flen) && line[flen] == ':')
			v = strtol(line + flen + 1, NULL, 10);
	fclose(f);
	return v;
}

static void test_stalled_watchers_are_closed(void **state)
{
	put_configmaps("stall", 0, OBJS, "start");
	char path[256];
	watch_path("stall", path, sizeof(path));
	pid_t pid = apiserver_harness_pid(api);
	long rss_before = proc_kib(pid, "VmRSS");
	int stalled[STALLED];
	for (int i = 0; i < STALLED; i++)
		stalled[i] = connect_watch(path, 4096);
	reader rd = {.fd = connect_watch(path, 0)};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, read_all, &rd), 0);
	/* 10,000 events of 4 KiB: every object updated EVENTS / OBJS times. */
	char *value = ck_malloc(4097);
	memset(value, 'x', 4096);
	value[4096] = '\0';
	for (int round = 0; round < EVENTS / OBJS; round++) {
		value[0] = (char)('a' + round % 26);
		put_configmaps("stall", 0, OBJS, value);
	}
	free(value);
	pthread_join(t, NULL);
	long hwm = proc_kib(pid, "VmHWM");
	print_message("apiserver RSS %ld KiB before the watchers, peak %ld KiB\n", rss_before, hwm);
	/* The reading watcher saw every event, and still runs. */
	assert_int_equal(rd.lines, EVENTS);
	/* Every stalled watcher was closed, short of the events. */
	for (int i = 0; i < STALLED; i++) {
		long n = read_events(stalled[i], 0);
		if (n >= 0)
			fail_msg("stalled watcher %d still open after %ld events", i, n);
		assert_true(-n - 1 < EVENTS);
		close(stalled[i]);
	}
	close(rd.fd);
	/* Bounded: the queues are capped at 64 MiB in all (about 250 MiB of peak RSS in
	 * a plain build, allocator slack included; sanitizers keep freed memory a while);
	 * unbounded, the watchers would hold 8 GiB. */
	assert_true(hwm - rss_before < 1024 * 1024);
	/* The apiserver serves on. */
	assert_int_equal(req("GET", "/readyz", NULL, NULL), 200);
}

/* ---- a cache re-list keeps its watchers ---- */

/* GET path until its status is want with text in the body (the apiserver's state
 * follows etcd's with a delay that cannot be awaited otherwise); fails after 60 s. */
static void await_status(const char *path, int want, const char *text)
{
	for (int i = 0; i < 300; i++) {
		char *out = NULL;
		int st = req("GET", path, NULL, &out);
		bool ok = st == want && strstr(out, text);
		free(out);
		if (ok)
			return;
		usleep(200 * 1000);
	}
	fail_msg("GET %s never answered %d with %s", path, want, text);
}

static void test_relist_keeps_watchers(void **state)
{
	char path[256];
	watch_path("relist", path, sizeof(path));
	int fd = connect_watch(path, 0);
	/* etcd gone long enough that the cache's watch ends: the cache re-lists. */
	assert_int_equal(etcd_harness_kill(harness, 0), 0);
	await_status("/readyz", 500, "cache is re-listing");
	ck_err *err = NULL;
	if (etcd_harness_restart(harness, 0, &err) < 0)
		fail_msg("etcd restart: %s", err->msg);
	await_status("/readyz", 200, "ok");
	/* The watcher was kept, and follows the new list. */
	put_configmaps("relist", 0, 1, "after");
	assert_int_equal(read_events(fd, 1), 1);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paged_list_is_a_snapshot),
	    cmocka_unit_test(test_continue_expired),
	    cmocka_unit_test(test_stalled_watchers_are_closed),
	    cmocka_unit_test(test_relist_keeps_watchers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
