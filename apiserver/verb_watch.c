/* verb_watch: ?watch=true streams of WatchEvents (one JSON object per line, chunked). */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/list.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "filter.h"
#include "status.h"
#include "storage.h"
#include "table.h"
#include "watch_cache.h"

/* Upstream ends watches after --min-request-timeout (30 min) unless timeoutSeconds says. */
#define WATCH_DEFAULT_TIMEOUT_S 1800
#define WATCH_BOOKMARK_MS       10000

typedef struct watcher {
	api_req *r;
	api_filter filter;
	enum table_include include;
	bool bookmarks;
	bool initial_end; /* sendInitialEvents: mark the end of the initial events */
	int64_t since;
	wc_sub *sub;
	uv_timer_t timeout;
	uv_timer_t bookmark;
	int refs;      /* the two timers, and an etcd read in flight */
	size_t queued; /* bytes queued at the last write: this watcher's part of watch_queued */
	bool ended;
	struct watcher *prev, *next; /* apiserver.watchers */
} watcher;

/* Drops one reference (a timer handle). */
static void watcher_unref(watcher *w)
{
	if (--w->refs == 0) {
		api_filter_clear(&w->filter);
		api_req_free(w->r);
		free(w);
	}
}

static void handle_closed(uv_handle_t *h)
{
	watcher_unref(h->data);
}

/* Ends the stream once, and drops what is queued when abort (a client that does not
 * read); frees the watcher after its timers are closed. */
static void watcher_end(watcher *w, bool abort)
{
	if (w->ended)
		return;
	w->ended = true;
	w->r->srv->watch_queued -= w->queued;
	w->queued = 0;
	CK_LIST_REMOVE(w->r->srv->watchers, w);
	watch_cache_unsubscribe(w->sub);
	w->sub = NULL;
	if (abort)
		http_stream_abort(w->r->x);
	else
		http_stream_end(w->r->x);
	uv_close((uv_handle_t *)&w->timeout, handle_closed);
	uv_close((uv_handle_t *)&w->bookmark, handle_closed);
}

static int by_queued(const void *a, const void *b)
{
	size_t x = (*(watcher *const *)a)->queued, y = (*(watcher *const *)b)->queued;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Past the total: counts every watcher's queue afresh and ends the ones furthest behind
 * until three quarters of the total are left. */
static void trim(apiserver *s)
{
	size_t n = 0, total = 0;
	for (watcher *w = s->watchers; w; w = w->next, n++) {
		w->queued = http_stream_pending(w->r->x);
		total += w->queued;
	}
	s->watch_queued = total;
	if (total <= s->watch_queue_total_max)
		return;
	watcher **v = ck_malloc(n * sizeof(*v));
	n = 0;
	for (watcher *w = s->watchers; w; w = w->next)
		v[n++] = w;
	qsort(v, n, sizeof(*v), by_queued);
	size_t keep = s->watch_queue_total_max / 4 * 3;
	for (size_t i = 0; i < n && s->watch_queued > keep && v[i]->queued; i++) {
		CK_V(2, "watch %s: closing a client %zu bytes behind (%zu for every watch)",
		     v[i]->r->rt.kind->plural, v[i]->queued, s->watch_queued);
		watcher_end(v[i], true);
	}
	free(v);
}

/* Writes one line. A watcher whose client falls behind is closed, as upstream closes a
 * watcher whose channel fills (the client re-watches from its last resourceVersion):
 * past its own cap; past the total, the ones furthest behind. */
static void write_line(watcher *w, const char *line, size_t len)
{
	if (w->ended)
		return;
	apiserver *s = w->r->srv;
	if (http_stream_write(w->r->x, line, len) < 0) {
		watcher_end(w, false);
		return;
	}
	size_t pending = http_stream_pending(w->r->x);
	s->watch_queued += pending - w->queued;
	w->queued = pending;
	if (pending > s->watch_queue_max) {
		CK_V(2, "watch %s: closing a client %zu bytes behind", w->r->rt.kind->plural,
		     pending);
		watcher_end(w, true);
	} else if (s->watch_queued > s->watch_queue_total_max) {
		trim(s);
	}
}

/* One WatchEvent of type with obj, encoded for this watcher (as a Table row when it
 * asked for Tables). */
static void send_line(watcher *w, const char *type, const cJSON *obj)
{
	if (w->ended)
		return;
	_cleanup_buf_ ck_buf b = {0};
	ck_buf_printf(&b, "{\"type\":\"%s\",\"object\":", type);
	if (w->r->output == OUTPUT_TABLE && strcmp(type, "ERROR") && strcmp(type, "BOOKMARK")) {
		_cleanup_json_ cJSON *t = table_new(
		    w->r->rt.kind, ck_json_get_str(obj, "metadata.resourceVersion", NULL), false);
		table_add_row(t, w->r->rt.kind, obj, w->include);
		ck_json_print_buf(&b, t);
	} else {
		ck_json_print_buf(&b, obj);
	}
	ck_buf_puts(&b, "}\n");
	write_line(w, b.s, b.len);
}

static void on_event(const wc_event *ev, void *data)
{
	watcher *w = data;
	if (ev->rv <= w->since)
		return;
	bool now = api_filter_match(&w->filter, ev->obj);
	bool before = ev->type == WC_MODIFIED && ev->prev && api_filter_match(&w->filter, ev->prev);
	enum wc_type type;
	if (ev->type != WC_MODIFIED) {
		if (!now)
			return;
		type = ev->type;
	} else if (now) {
		type = before || !ev->prev ? WC_MODIFIED : WC_ADDED;
	} else if (before) {
		type = WC_DELETED;
	} else {
		return;
	}
	if (w->r->output == OUTPUT_TABLE) {
		static const char *const names[] = {"ADDED", "MODIFIED", "DELETED"};
		send_line(w, names[type], ev->obj);
		return;
	}
	/* The same bytes for every watcher of the event. */
	size_t len;
	const char *line = watch_cache_line(ev, type, &len);
	write_line(w, line, len);
}

static void on_client_gone(http_exchange *x, void *data)
{
	watcher_end(data, false);
}

static void on_timeout(uv_timer_t *t)
{
	watcher_end(t->data, false);
}

static cJSON *bookmark_object(const watcher *w, int64_t rv, bool initial_end)
{
	char av[64], rvs[32];
	snprintf(rvs, sizeof(rvs), "%lld", (long long)rv);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", w->r->rt.kind->kind);
	cJSON_AddStringToObject(o, "apiVersion", kind_api_version(w->r->rt.kind, av, sizeof(av)));
	cJSON *meta = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(meta, "resourceVersion", rvs);
	if (initial_end)
		ck_json_set_str(meta, "annotations.k8s\\.io/initial-events-end", "true");
	return o;
}

static void on_bookmark(uv_timer_t *t)
{
	watcher *w = t->data;
	watch_cache *c = server_cache(w->r->srv, w->r->rt.kind);
	int64_t rv = watch_cache_revision(c);
	if (rv <= w->since)
		return;
	_cleanup_json_ cJSON *o = bookmark_object(w, rv, false);
	send_line(w, "BOOKMARK", o);
}

/* Starts the stream from since (< 0: the cache's current objects first, as ADDED
 * events). */
static void watcher_attach(watcher *w, int64_t since)
{
	watch_cache *c = server_cache(w->r->srv, w->r->rt.kind);
	w->since = since;
	int rc = watch_cache_subscribe(c, since, on_event, w, &w->sub);
	if (w->ended) {
		/* Ended for the total while its history was replayed, before it was
		 * subscribed. */
		watch_cache_unsubscribe(w->sub);
		w->sub = NULL;
		return;
	}
	if (rc == CK_EGONE) {
		_cleanup_json_ cJSON *s =
		    status_new(410, "Expired", NULL, "too old resource version: %lld (%lld)",
		               (long long)since, (long long)watch_cache_oldest(c));
		send_line(w, "ERROR", s);
		watcher_end(w, false);
		return;
	}
	if (since < 0)
		w->since = watch_cache_revision(c);
	if (w->initial_end) {
		_cleanup_json_ cJSON *o = bookmark_object(w, w->since, true);
		send_line(w, "BOOKMARK", o);
	}
	if (w->bookmarks && !w->ended)
		uv_timer_start(&w->bookmark, on_bookmark, WATCH_BOOKMARK_MS, WATCH_BOOKMARK_MS);
}

/* The current objects as etcd has them now, as ADDED events; then the stream from
 * that revision (the cache may trail etcd: its events up to there are skipped). */
static void initial_listed(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	watcher *w = data;
	if (!w->ended && rc < 0) {
		_cleanup_json_ cJSON *st =
		    status_new(500, "InternalError", NULL, "%s", err ? err->msg : ck_strerror(rc));
		send_line(w, "ERROR", st);
		watcher_end(w, false);
	}
	for (size_t i = 0; !w->ended && rc >= 0 && i < res->n_kvs; i++) {
		const etcd_kv *kv = &res->kvs[i];
		_cleanup_json_ cJSON *obj =
		    storage_decode(w->r->rt.kind, kv->value, kv->value_len, kv->mod_revision);
		if (obj && api_filter_match(&w->filter, obj))
			send_line(w, "ADDED", obj);
	}
	if (!w->ended && rc >= 0)
		watcher_attach(w, res->revision);
	watcher_unref(w);
}

void verb_watch(api_req *r)
{
	watcher *w = ck_calloc(1, sizeof(*w));
	w->r = r;
	if (api_filter_init(r, &w->filter) < 0) {
		api_req_free(r);
		free(w);
		return;
	}
	_cleanup_free_ char *rv = http_request_query(r->hr, "resourceVersion");
	_cleanup_free_ char *inc = http_request_query(r->hr, "includeObject");
	w->include = table_include_parse(inc);
	w->bookmarks = api_query_bool(r, "allowWatchBookmarks");
	bool initial = api_query_bool(r, "sendInitialEvents");
	int64_t since = -1; /* -1: from the cache's current objects */
	bool from_rv = rv && *rv && strcmp(rv, "0") && !initial;
	/* Unset: the current state must be etcd's (upstream's "most recent"), not the
	 * cache's, which can trail a write by a moment. */
	bool consistent = !rv || !*rv;
	if (from_rv) {
		char *end;
		errno = 0;
		since = strtoll(rv, &end, 10);
		if (errno || *end || since < 0) {
			status_bad_request(r->x, "invalid resource version: %s", rv);
			api_filter_clear(&w->filter);
			api_req_free(r);
			free(w);
			return;
		}
	}
	w->initial_end = initial && w->bookmarks;
	int64_t timeout_s = WATCH_DEFAULT_TIMEOUT_S;
	if (api_query_int(r, "timeoutSeconds", &timeout_s) < 0 || timeout_s <= 0)
		timeout_s = WATCH_DEFAULT_TIMEOUT_S;
	uv_timer_init(r->srv->loop, &w->timeout);
	uv_timer_init(r->srv->loop, &w->bookmark);
	w->timeout.data = w->bookmark.data = w;
	w->refs = 2;
	CK_LIST_PREPEND(r->srv->watchers, w);
	http_stream_begin(r->x, 200, "application/json");
	http_exchange_on_close(r->x, on_client_gone, w);
	uv_timer_start(&w->timeout, on_timeout, (uint64_t)timeout_s * 1000, 0);
	if (!consistent) {
		watcher_attach(w, since);
		return;
	}
	w->refs++;
	_cleanup_free_ char *prefix = storage_prefix(r->srv, r->rt.kind, r->rt.ns);
	etcd_range(r->srv->etcd, &(etcd_range_req){.key = prefix, .prefix = true}, initial_listed,
	           w);
}
