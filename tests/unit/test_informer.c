/* informer against a fake apiserver (http_server on 127.0.0.1) serving pods with paging,
 * watches, watch ends and 410 Gone: cache, indexes, handlers, re-watch and re-list diffs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/informer.h"
#include "base/json.h"
#include "base/strbuf.h"
#include "loop_harness.h"
#include "net/http_server.h"

/* ---- fake apiserver ---- */
typedef struct fake {
	cJSON *pods; /* object: name -> pod */
	int rv;
	http_exchange *watchers[16];
	int n_watchers;
	int lists, watches;
	char *last_watch_rv;
	char *last_list_rv; /* of the last list's first page */
	int lists_gone;     /* lists still to answer 410 Expired */
	char *last_label, *last_field;
} fake;

static cJSON *make_pod(const char *name, const char *node, int rv)
{
	char *s =
	    ck_asprintf("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
	                "\"namespace\":\"default\",\"resourceVersion\":\"%d\"},\"spec\":{"
	                "\"nodeName\":\"%s\"}}",
	                name, rv, node);
	cJSON *p = ck_json_parse(s, strlen(s), NULL);
	free(s);
	return p;
}

static void broadcast(fake *f, const char *type, const cJSON *obj)
{
	char *o = ck_json_print(obj);
	char *ev = ck_asprintf("{\"type\":\"%s\",\"object\":%s}\n", type, o);
	for (int i = 0; i < f->n_watchers; i++)
		http_stream_write(f->watchers[i], ev, strlen(ev));
	free(o);
	free(ev);
}

static void fake_put(fake *f, const char *name, const char *node, bool notify)
{
	cJSON *p = make_pod(name, node, ++f->rv);
	bool existed = cJSON_GetObjectItemCaseSensitive(f->pods, name) != NULL;
	if (notify)
		broadcast(f, existed ? "MODIFIED" : "ADDED", p);
	if (existed)
		cJSON_ReplaceItemInObjectCaseSensitive(f->pods, name, p);
	else
		cJSON_AddItemToObject(f->pods, name, p);
}

static void fake_delete(fake *f, const char *name, bool notify)
{
	cJSON *p = cJSON_DetachItemFromObjectCaseSensitive(f->pods, name);
	char rv[16];
	snprintf(rv, sizeof(rv), "%d", ++f->rv);
	ck_json_set_str(p, "metadata.resourceVersion", rv);
	if (notify)
		broadcast(f, "DELETED", p);
	cJSON_Delete(p);
}

static void fake_end_watches(fake *f)
{
	for (int i = 0; i < f->n_watchers; i++)
		http_stream_end(f->watchers[i]);
	f->n_watchers = 0;
}

static void on_watcher_closed(http_exchange *x, void *data)
{
	fake *f = data;
	for (int i = 0; i < f->n_watchers; i++) {
		if (f->watchers[i] == x) {
			f->watchers[i] = f->watchers[--f->n_watchers];
			http_stream_end(x);
			return;
		}
	}
}

static void replace_str(char **p, char *v)
{
	free(*p);
	*p = v;
}

static void on_request(http_exchange *x, void *data)
{
	fake *f = data;
	const http_request *r = http_exchange_request(x);
	_cleanup_free_ char *watch = http_request_query(r, "watch");
	replace_str(&f->last_label, http_request_query(r, "labelSelector"));
	replace_str(&f->last_field, http_request_query(r, "fieldSelector"));
	if (watch) {
		f->watches++;
		replace_str(&f->last_watch_rv, http_request_query(r, "resourceVersion"));
		http_stream_begin(x, 200, "application/json");
		f->watchers[f->n_watchers++] = x;
		http_exchange_on_close(x, on_watcher_closed, f);
		return;
	}
	f->lists++;
	if (f->lists_gone > 0) {
		f->lists_gone--;
		const char *st = "{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\"}";
		replace_str(&f->last_list_rv, http_request_query(r, "resourceVersion"));
		http_respond(x, 410, "application/json", st, strlen(st));
		return;
	}
	_cleanup_free_ char *limit_s = http_request_query(r, "limit");
	_cleanup_free_ char *cont = http_request_query(r, "continue");
	long limit = limit_s ? strtol(limit_s, NULL, 10) : 0;
	long offset = cont ? strtol(cont, NULL, 10) : 0;
	if (!cont)
		replace_str(&f->last_list_rv, http_request_query(r, "resourceVersion"));
	cJSON *list = cJSON_CreateObject();
	cJSON_AddStringToObject(list, "kind", "PodList");
	cJSON *meta = cJSON_AddObjectToObject(list, "metadata");
	char rv[16];
	snprintf(rv, sizeof(rv), "%d", f->rv);
	cJSON_AddStringToObject(meta, "resourceVersion", rv);
	cJSON *items = cJSON_AddArrayToObject(list, "items");
	long i = 0, n = 0;
	const cJSON *p;
	cJSON_ArrayForEach(p, f->pods)
	{
		if (i++ < offset)
			continue;
		if (limit && n == limit) {
			char c[16];
			snprintf(c, sizeof(c), "%ld", offset + n);
			cJSON_AddStringToObject(meta, "continue", c);
			break;
		}
		cJSON *item = ck_json_dup(p);
		/* List items carry no kind. */
		cJSON_DeleteItemFromObjectCaseSensitive(item, "kind");
		cJSON_DeleteItemFromObjectCaseSensitive(item, "apiVersion");
		cJSON_AddItemToArray(items, item);
		n++;
	}
	char *body = ck_json_print(list);
	http_respond(x, 200, "application/json", body, strlen(body));
	free(body);
	cJSON_Delete(list);
}

/* ---- handlers ---- */
typedef struct rec {
	ck_buf log;
	int synced_calls;
	int replayed;
} rec;

static void on_add(const cJSON *o, void *d)
{
	ck_buf_printf(&((rec *)d)->log, "add:%s;", kc_obj_name(o));
}

static void on_update(const cJSON *old, const cJSON *new, void *d)
{
	ck_buf_printf(&((rec *)d)->log, "update:%s:%s>%s;", kc_obj_name(new),
	              ck_json_get_str(old, "spec.nodeName", ""),
	              ck_json_get_str(new, "spec.nodeName", ""));
}

static void on_delete(const cJSON *o, void *d)
{
	ck_buf_printf(&((rec *)d)->log, "delete:%s;", kc_obj_name(o));
}

static void on_synced(void *d)
{
	((rec *)d)->synced_calls++;
}

static void count_add(const cJSON *o, void *d)
{
	((rec *)d)->replayed++;
}

/* Runs the loop until cond holds; fails after 10 s. */
#define RUN_UNTIL(loop, cond) HARNESS_RUN_UNTIL(loop, cond, 10000, "")

static bool log_has(rec *r, const char *s)
{
	return strstr(ck_buf_str(&r->log), s) != NULL;
}

static char *index_names(informer *inf, const char *index, const char *value)
{
	size_t n = 0;
	const cJSON **objs = informer_by_index(inf, index, value, &n);
	/* Sorted for comparison. */
	char **names = NULL;
	for (size_t i = 0; i < n; i++)
		ck_strv_add(&names, kc_obj_name(objs[i]));
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(names[i], names[j]) > 0) {
				char *t = names[i];
				names[i] = names[j];
				names[j] = t;
			}
	char *s = ck_strv_join(names, ",");
	ck_strv_free(names);
	free(objs);
	return s;
}

static void assert_index(informer *inf, const char *value, const char *want)
{
	char *got = index_names(inf, "node", value);
	assert_string_equal(got, want);
	free(got);
}

/* Frees what a test set up (informer, client, fake server) and closes the loop. */
static void finish(uv_loop_t *loop, informer *inf, kc_client *c, fake *f, http_server *srv,
                   char *url)
{
	informer_free(inf);
	kc_client_free(c);
	fake_end_watches(f);
	http_server_shutdown(srv, NULL, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(loop), 0);
	cJSON_Delete(f->pods);
	free(f->last_watch_rv);
	free(f->last_list_rv);
	free(f->last_label);
	free(f->last_field);
	free(url);
}

static void test_list_watch(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	fake f = {.pods = cJSON_CreateObject()};
	fake_put(&f, "a", "n1", false);
	fake_put(&f, "b", "n2", false);
	http_server *srv = NULL;
	assert_int_equal(http_server_new(&loop, &(http_server_opts){0}, on_request, &f, &srv, NULL),
	                 0);
	char *url = ck_asprintf("http://127.0.0.1:%d", http_server_port(srv));
	kubeconfig kc = {.server = url};
	kc_client *c = NULL;
	assert_int_equal(kc_client_new(&loop, &kc, &c, NULL), 0);

	informer *inf = NULL;
	informer_opts o = {.resource = &KC_PODS,
	                   .label_selector = "app=x",
	                   .field_selector = "spec.schedulerName=default-scheduler",
	                   .page_size = 1};
	assert_int_equal(informer_new(c, &o, &inf, NULL), 0);
	assert_int_equal(informer_add_index(inf, "node", informer_index_node_name, NULL), 0);
	assert_int_equal(informer_add_index(inf, "node", informer_index_node_name, NULL), -EEXIST);
	rec r = {0};
	informer_add_handlers(inf, &(informer_handlers){on_add, on_update, on_delete, &r});
	informer_on_synced(inf, on_synced, &r);
	assert_false(informer_synced(inf));
	informer_start(inf);
	RUN_UNTIL(&loop, r.synced_calls == 1);
	assert_true(informer_synced(inf));
	/* The first list is at "0": the apiserver's watch cache answers, whole. */
	assert_int_equal(f.lists, 1);
	assert_string_equal(f.last_list_rv, "0");
	assert_true(log_has(&r, "add:a;") && log_has(&r, "add:b;"));
	assert_int_equal(informer_len(inf), 2);
	assert_string_equal(informer_resource_version(inf), "2");
	const cJSON *a = informer_get(inf, "default/a");
	assert_non_null(a);
	assert_string_equal(ck_json_get_str(a, "kind", ""), "Pod"); /* filled in for list items */
	assert_ptr_equal(informer_get_ns(inf, "default", "a"), a);
	assert_index(inf, "n1", "a");
	assert_string_equal(f.last_label, "app=x");
	assert_string_equal(f.last_field, "spec.schedulerName=default-scheduler");

	/* Watch events. */
	RUN_UNTIL(&loop, f.n_watchers == 1);
	assert_string_equal(f.last_watch_rv, "2");
	ck_buf_clear(&r.log);
	fake_put(&f, "c", "n1", true);
	RUN_UNTIL(&loop, log_has(&r, "add:c;"));
	assert_index(inf, "n1", "a,c");
	fake_put(&f, "a", "n2", true);
	RUN_UNTIL(&loop, log_has(&r, "update:a:n1>n2;"));
	assert_index(inf, "n1", "c");
	assert_index(inf, "n2", "a,b");
	fake_delete(&f, "b", true);
	RUN_UNTIL(&loop, log_has(&r, "delete:b;"));
	assert_null(informer_get(inf, "default/b"));
	assert_index(inf, "n2", "a");
	char *ns = index_names(inf, INFORMER_INDEX_NAMESPACE, "default");
	assert_string_equal(ns, "a,c");
	free(ns);

	/* A normal watch end: watched again from the last resourceVersion, no re-list. */
	int lists = f.lists;
	fake_end_watches(&f);
	RUN_UNTIL(&loop, f.n_watchers == 1);
	assert_int_equal(f.watches, 2);
	assert_string_equal(f.last_watch_rv, "5");
	assert_int_equal(f.lists, lists);

	/* Changes the informer misses, then 410 Gone: the re-list reports the difference. */
	fake_delete(&f, "c", false);
	fake_put(&f, "d", "n3", false);
	fake_put(&f, "a", "n1", false);
	ck_buf_clear(&r.log);
	const char *gone = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,"
	                   "\"reason\":\"Expired\"}}\n";
	for (int i = 0; i < f.n_watchers; i++)
		http_stream_write(f.watchers[i], gone, strlen(gone));
	RUN_UNTIL(&loop, log_has(&r, "delete:c;") && log_has(&r, "add:d;") &&
	                     log_has(&r, "update:a:n2>n1;"));
	/* Re-listed from the last resourceVersion seen (never back in time), in pages. */
	assert_int_equal(f.lists, lists + 2);
	assert_string_equal(f.last_list_rv, "5");
	assert_int_equal(informer_len(inf), 2);
	assert_index(inf, "n1", "a");
	assert_index(inf, "n3", "d");
	RUN_UNTIL(&loop, f.n_watchers >= 1);

	/* A list at that resourceVersion answered 410: the next reads etcd's latest ("",
	 * no resourceVersion sent), as upstream's reflector does. */
	f.lists_gone = 1;
	lists = f.lists;
	for (int i = 0; i < f.n_watchers; i++)
		http_stream_write(f.watchers[i], gone, strlen(gone));
	RUN_UNTIL(&loop, f.lists >= lists + 3 && f.n_watchers >= 1);
	assert_null(f.last_list_rv);

	/* A handler set added late gets the current objects as adds. */
	informer_add_handlers(inf, &(informer_handlers){.on_add = count_add, .data = &r});
	RUN_UNTIL(&loop, r.replayed == 2);
	assert_int_equal(r.synced_calls, 1);

	char *k_ns = NULL, *k_name = NULL;
	assert_int_equal(informer_split_key("ns/x", &k_ns, &k_name), 0);
	assert_string_equal(k_ns, "ns");
	assert_string_equal(k_name, "x");
	free(k_ns);
	free(k_name);
	assert_int_equal(informer_split_key("node1", &k_ns, &k_name), 0);
	assert_null(k_ns);
	free(k_name);
	assert_int_equal(informer_split_key("a/b/c", &k_ns, &k_name), -EINVAL);

	finish(&loop, inf, c, &f, srv, url);
	ck_buf_free(&r.log);
}

static void stop_loop(uv_timer_t *t)
{
	uv_stop(t->loop);
}

/* The server is down at first: the informer retries with backoff and syncs once it is up. */
static void test_server_down(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	fake f = {.pods = cJSON_CreateObject()};
	fake_put(&f, "a", "n1", false);
	/* A free port, released. */
	http_server *probe = NULL;
	assert_int_equal(
	    http_server_new(&loop, &(http_server_opts){0}, on_request, &f, &probe, NULL), 0);
	int port = http_server_port(probe);
	http_server_shutdown(probe, NULL, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);

	char *url = ck_asprintf("http://127.0.0.1:%d", port);
	kubeconfig kc = {.server = url};
	kc_client *c = NULL;
	assert_int_equal(kc_client_new(&loop, &kc, &c, NULL), 0);
	informer *inf = NULL;
	assert_int_equal(informer_new(c, &(informer_opts){.resource = &KC_PODS}, &inf, NULL), 0);
	informer_start(inf);
	uv_timer_t t;
	uv_timer_init(&loop, &t);
	uv_timer_start(&t, stop_loop, 1500, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_false(informer_synced(inf));
	http_server *srv = NULL;
	assert_int_equal(
	    http_server_new(&loop, &(http_server_opts){.port = port}, on_request, &f, &srv, NULL),
	    0);
	RUN_UNTIL(&loop, informer_synced(inf));
	assert_non_null(informer_get(inf, "default/a"));
	uv_close((uv_handle_t *)&t, NULL);
	finish(&loop, inf, c, &f, srv, url);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list_watch),
	    cmocka_unit_test(test_server_down),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
