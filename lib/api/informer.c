/* informer: list+watch cache. See informer.h.
 *
 * States: LISTING (pages of a list in flight), WATCHING, WAITING (backoff timer before a
 * re-list or re-watch). Objects live in `objs` (key -> cJSON, owned). Each index maps a
 * value to a set of keys (a map with NULL values). A re-list builds the new set of objects
 * aside, swaps it in, and then reports the differences. */
#include "api/informer.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "base/map.h"
#include "base/strbuf.h"

#define BACKOFF_BASE_MS 800
#define BACKOFF_MAX_MS  30000

typedef struct index_def {
	char *name;
	informer_index_fn fn;
	void *data;
	ck_map *values; /* value -> ck_map set of keys */
} index_def;

typedef struct handler_set {
	informer_handlers h;
	bool replay; /* added after objects existed: on_add for each of them is pending */
} handler_set;

typedef struct synced_cb {
	void (*cb)(void *data);
	void *data;
} synced_cb;

enum state { S_IDLE, S_LISTING, S_WATCHING, S_WAITING };

struct informer {
	kc_client *c;
	const kc_resource *res;
	char *ns, *label_selector, *field_selector;
	int64_t page_size;
	int watch_timeout;
	ck_map *objs;
	index_def *indexes;
	size_t n_indexes;
	handler_set *handlers;
	size_t n_handlers;
	synced_cb *synced_cbs;
	size_t n_synced_cbs;
	char *rv;
	enum state state;
	kc_call *list_call;
	ck_map *pending; /* objects of the list being paged in */
	kc_watch *watch;
	uint64_t watch_started;
	int watch_events;
	int failures;
	bool rv_unavailable; /* a list at rv answered 410: the next one reads etcd ("") */
	bool relist_next;    /* the next attempt after the backoff lists (else it watches) */
	bool synced;
	bool started;
	bool freeing;
	uv_timer_t retry; /* backoff */
	uv_timer_t tick;  /* deferred callbacks: handler replay, synced callbacks */
	int open_handles;
	uint64_t seed;
};

static void object_free(void *p)
{
	cJSON_Delete(p);
}

static void set_free(void *p)
{
	ck_map_free(p);
}

/* ---- keys and built-in index functions ---- */

char *informer_key(const cJSON *obj)
{
	const char *ns = kc_obj_namespace(obj);
	const char *name = kc_obj_name(obj);
	return *ns ? ck_asprintf("%s/%s", ns, name) : ck_strdup(name);
}

int informer_split_key(const char *key, char **ns, char **name)
{
	if (!key || !*key)
		return -EINVAL;
	const char *slash = strchr(key, '/');
	if (slash && strchr(slash + 1, '/'))
		return -EINVAL;
	if (slash) {
		if (slash == key || !slash[1])
			return -EINVAL;
		*ns = ck_strndup(key, (size_t)(slash - key));
		*name = ck_strdup(slash + 1);
	} else {
		*ns = NULL;
		*name = ck_strdup(key);
	}
	return 0;
}

static char **index_namespace(const cJSON *obj, void *data)
{
	const char *ns = kc_obj_namespace(obj);
	char **v = NULL;
	if (*ns)
		ck_strv_add(&v, ns);
	return v;
}

char **informer_index_node_name(const cJSON *obj, void *data)
{
	const char *n = ck_json_get_str(obj, "spec.nodeName", "");
	char **v = NULL;
	if (*n)
		ck_strv_add(&v, n);
	return v;
}

char **informer_index_owner_uid(const cJSON *obj, void *data)
{
	char **v = NULL;
	const cJSON *ref;
	cJSON_ArrayForEach(ref, ck_json_get(obj, "metadata.ownerReferences"))
	{
		const char *uid = ck_json_get_str(ref, "uid", "");
		if (*uid && !ck_strv_contains(v, uid))
			ck_strv_add(&v, uid);
	}
	return v;
}

/* ---- indexes ---- */

/* Files key under each of values in ix. */
static void index_add(index_def *ix, const char *key, char *const *values)
{
	for (char *const *v = values; v && *v; v++) {
		ck_map *set = ck_map_get(ix->values, *v);
		if (!set) {
			set = ck_map_new(NULL);
			ck_map_set(ix->values, *v, set);
		}
		ck_map_set(set, key, NULL);
	}
}

static void index_update(informer *inf, const char *key, const cJSON *old, const cJSON *new)
{
	for (size_t i = 0; i < inf->n_indexes; i++) {
		index_def *ix = &inf->indexes[i];
		_cleanup_strv_ char **ov = old ? ix->fn(old, ix->data) : NULL;
		_cleanup_strv_ char **nv = new ? ix->fn(new, ix->data) : NULL;
		for (char **v = ov; v && *v; v++) {
			if (ck_strv_contains(nv, *v))
				continue;
			ck_map *set = ck_map_get(ix->values, *v);
			if (set) {
				ck_map_remove(set, key);
				if (!ck_map_len(set))
					ck_map_remove(ix->values, *v);
			}
		}
		index_add(ix, key, nv);
	}
}

int informer_add_index(informer *inf, const char *name, informer_index_fn fn, void *data)
{
	for (size_t i = 0; i < inf->n_indexes; i++)
		if (!strcmp(inf->indexes[i].name, name))
			return -EEXIST;
	inf->indexes = ck_realloc(inf->indexes, (inf->n_indexes + 1) * sizeof(*inf->indexes));
	index_def *ix = &inf->indexes[inf->n_indexes++];
	ix->name = ck_strdup(name);
	ix->fn = fn;
	ix->data = data;
	ix->values = ck_map_new(set_free);
	/* Index what is already cached. */
	ck_map_iter it = CK_MAP_ITER_INIT;
	const char *key;
	void *obj;
	while (ck_map_next(inf->objs, &it, &key, &obj)) {
		_cleanup_strv_ char **nv = fn(obj, data);
		index_add(ix, key, nv);
	}
	return 0;
}

/* ---- handlers ---- */

static void notify_add(informer *inf, const cJSON *obj)
{
	for (size_t i = 0; i < inf->n_handlers && !inf->freeing; i++)
		if (inf->handlers[i].h.on_add && !inf->handlers[i].replay)
			inf->handlers[i].h.on_add(obj, inf->handlers[i].h.data);
}

static void notify_update(informer *inf, const cJSON *old, const cJSON *new)
{
	for (size_t i = 0; i < inf->n_handlers && !inf->freeing; i++)
		if (inf->handlers[i].h.on_update && !inf->handlers[i].replay)
			inf->handlers[i].h.on_update(old, new, inf->handlers[i].h.data);
}

static void notify_delete(informer *inf, const cJSON *obj)
{
	for (size_t i = 0; i < inf->n_handlers && !inf->freeing; i++)
		if (inf->handlers[i].h.on_delete && !inf->handlers[i].replay)
			inf->handlers[i].h.on_delete(obj, inf->handlers[i].h.data);
}

static void on_tick(uv_timer_t *t)
{
	informer *inf = t->data;
	/* Replays first, so that a synced callback sees handlers up to date. */
	for (size_t i = 0; i < inf->n_handlers && !inf->freeing; i++) {
		if (!inf->handlers[i].replay)
			continue;
		inf->handlers[i].replay = false;
		if (!inf->handlers[i].h.on_add)
			continue;
		size_t n = 0;
		_cleanup_free_ const cJSON **objs = informer_list(inf, &n);
		for (size_t k = 0; k < n && !inf->freeing; k++)
			inf->handlers[i].h.on_add(objs[k], inf->handlers[i].h.data);
	}
	while (inf->synced && inf->n_synced_cbs && !inf->freeing) {
		synced_cb s = inf->synced_cbs[0];
		memmove(inf->synced_cbs, inf->synced_cbs + 1,
		        --inf->n_synced_cbs * sizeof(*inf->synced_cbs));
		s.cb(s.data);
	}
}

static void schedule_tick(informer *inf)
{
	if (!inf->freeing)
		uv_timer_start(&inf->tick, on_tick, 0, 0);
}

int informer_add_handlers(informer *inf, const informer_handlers *h)
{
	inf->handlers = ck_realloc(inf->handlers, (inf->n_handlers + 1) * sizeof(*inf->handlers));
	handler_set *hs = &inf->handlers[inf->n_handlers++];
	hs->h = *h;
	hs->replay = ck_map_len(inf->objs) > 0;
	if (hs->replay)
		schedule_tick(inf);
	return 0;
}

void informer_on_synced(informer *inf, void (*cb)(void *data), void *data)
{
	inf->synced_cbs =
	    ck_realloc(inf->synced_cbs, (inf->n_synced_cbs + 1) * sizeof(*inf->synced_cbs));
	inf->synced_cbs[inf->n_synced_cbs++] = (synced_cb){cb, data};
	if (inf->synced)
		schedule_tick(inf);
}

/* ---- list and watch ---- */

static void start_list(informer *inf, const char *continue_);
static void start_watch(informer *inf);

static void on_retry(uv_timer_t *t)
{
	informer *inf = t->data;
	if (inf->relist_next)
		start_list(inf, NULL);
	else
		start_watch(inf);
}

static void backoff(informer *inf, bool relist)
{
	uint64_t d = BACKOFF_BASE_MS;
	for (int i = 0; i < inf->failures && d < BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > BACKOFF_MAX_MS)
		d = BACKOFF_MAX_MS;
	/* Jitter up to +25%, so that many clients do not come back at once. */
	inf->seed = inf->seed * 6364136223846793005ULL + 1442695040888963407ULL;
	d += (inf->seed >> 33) % (d / 4 + 1);
	inf->failures++;
	inf->relist_next = relist;
	inf->state = S_WAITING;
	uv_timer_start(&inf->retry, on_retry, d, 0);
}

static void set_rv(informer *inf, const char *rv)
{
	if (rv && *rv) {
		free(inf->rv);
		inf->rv = ck_strdup(rv);
	}
}

/* Gives a listed item the kind and apiVersion that list items lack. */
static void set_type_meta(informer *inf, cJSON *obj)
{
	if (!cJSON_GetObjectItemCaseSensitive(obj, "kind") && inf->res->kind)
		cJSON_AddStringToObject(obj, "kind", inf->res->kind);
	if (!cJSON_GetObjectItemCaseSensitive(obj, "apiVersion")) {
		_cleanup_free_ char *av =
		    inf->res->group && *inf->res->group
		        ? ck_asprintf("%s/%s", inf->res->group, inf->res->version)
		        : ck_strdup(inf->res->version);
		cJSON_AddStringToObject(obj, "apiVersion", av);
	}
}

/* Frees a map whose values were moved elsewhere. */
static void map_free_shell(ck_map *m)
{
	ck_map_iter it = CK_MAP_ITER_INIT;
	const char *key;
	while (ck_map_next(m, &it, &key, NULL))
		ck_map_take(m, key);
	ck_map_free(m);
}

typedef struct change {
	int type; /* 0 add, 1 update, 2 delete */
	cJSON *old, *new;
} change;

/* Swaps the listed objects in and reports the differences. */
static void replace(informer *inf, ck_map *listed)
{
	ck_map *old_objs = inf->objs;
	inf->objs = ck_map_new(object_free);
	change *ch = NULL;
	size_t n = 0, cap = 0;
	ck_map_iter it = CK_MAP_ITER_INIT;
	const char *key;
	void *v;
	while (ck_map_next(listed, &it, &key, &v)) {
		cJSON *obj = v;
		cJSON *old = ck_map_take(old_objs, key);
		ck_map_set(inf->objs, key, obj);
		index_update(inf, key, old, obj);
		if (old && !strcmp(kc_obj_resource_version(old), kc_obj_resource_version(obj))) {
			cJSON_Delete(old);
			continue;
		}
		if (n == cap)
			ch = ck_realloc(ch, (cap = cap ? cap * 2 : 64) * sizeof(*ch));
		ch[n++] = (change){old ? 1 : 0, old, obj};
	}
	it = (ck_map_iter)CK_MAP_ITER_INIT;
	while (ck_map_next(old_objs, &it, &key, &v)) {
		index_update(inf, key, v, NULL);
		if (n == cap)
			ch = ck_realloc(ch, (cap = cap ? cap * 2 : 64) * sizeof(*ch));
		ch[n++] = (change){2, v, NULL};
	}
	/* The listed map's values now belong to objs; the old map's to ch. */
	map_free_shell(old_objs);
	map_free_shell(listed);
	for (size_t i = 0; i < n; i++) {
		if (ch[i].type == 0)
			notify_add(inf, ch[i].new);
		else if (ch[i].type == 1)
			notify_update(inf, ch[i].old, ch[i].new);
		else
			notify_delete(inf, ch[i].old);
		cJSON_Delete(ch[i].old);
	}
	free(ch);
}

static void on_list(kc_result *res, void *user)
{
	informer *inf = user;
	inf->list_call = NULL;
	if (res->rc < 0) {
		CK_V(2, "informer %s: list failed: %s", inf->res->plural, res->err->msg);
		ck_map_free(inf->pending);
		inf->pending = NULL;
		/* An expired continue token or resourceVersion: start over now, from etcd's
		 * latest state. */
		if (res->rc == CK_EGONE)
			inf->rv_unavailable = true;
		if (res->rc == CK_EGONE && inf->failures == 0) {
			inf->failures++;
			start_list(inf, NULL);
			return;
		}
		backoff(inf, true);
		return;
	}
	if (!inf->pending)
		inf->pending = ck_map_new(object_free);
	cJSON *items = ck_json_get(res->obj, "items");
	cJSON *item;
	while (cJSON_IsArray(items) && (item = items->child)) {
		cJSON_DetachItemViaPointer(items, item);
		set_type_meta(inf, item);
		_cleanup_free_ char *key = informer_key(item);
		ck_map_set(inf->pending, key, item);
	}
	const char *cont = ck_json_get_str(res->obj, "metadata.continue", "");
	if (*cont) {
		start_list(inf, cont);
		return;
	}
	set_rv(inf, ck_json_get_str(res->obj, "metadata.resourceVersion", ""));
	ck_map *listed = inf->pending;
	inf->pending = NULL;
	inf->failures = 0;
	inf->rv_unavailable = false;
	replace(inf, listed);
	if (inf->freeing)
		return;
	if (!inf->synced) {
		inf->synced = true;
		schedule_tick(inf);
	}
	start_watch(inf);
}

static void start_list(informer *inf, const char *continue_)
{
	if (inf->freeing)
		return;
	inf->state = S_LISTING;
	_cleanup_free_ char *path = kc_path(inf->res, inf->ns, NULL, NULL);
	/* As upstream's reflector: the first list at "0" (the apiserver's watch cache, whole),
	 * later ones at the last resourceVersion seen (never back in time), "" (etcd) after
	 * a 410; pages of page_size except from the cache. */
	const char *rv = continue_ ? NULL : inf->rv_unavailable ? "" : *inf->rv ? inf->rv : "0";
	kc_list_opts o = {
	    .label_selector = inf->label_selector,
	    .field_selector = inf->field_selector,
	    .resource_version = rv,
	    .limit = rv && !strcmp(rv, "0") ? 0 : inf->page_size,
	    .continue_ = continue_,
	};
	_cleanup_free_ char *q = kc_list_query(path, &o, false);
	int rc = kc_request_call(inf->c, "GET", q, NULL, NULL, on_list, inf, &inf->list_call);
	if (rc < 0) {
		ck_map_free(inf->pending);
		inf->pending = NULL;
		backoff(inf, true);
	}
}

static void relist_now(informer *inf)
{
	kc_watch_stop(inf->watch);
	inf->watch = NULL;
	start_list(inf, NULL);
}

static void on_event(enum kc_event_type type, cJSON **objp, void *user)
{
	informer *inf = user;
	cJSON *obj = *objp;
	inf->watch_events++;
	if (type == KC_ERROR) {
		int code = (int)ck_json_get_int(obj, "code", 0);
		CK_V(2, "informer %s: watch error %d: %s", inf->res->plural, code,
		     ck_json_get_str(obj, "message", ""));
		if (code == 410) {
			relist_now(inf);
		} else {
			kc_watch_stop(inf->watch);
			inf->watch = NULL;
			backoff(inf, true);
		}
		return;
	}
	set_rv(inf, kc_obj_resource_version(obj));
	if (type == KC_BOOKMARK)
		return;
	_cleanup_free_ char *key = informer_key(obj);
	if (type == KC_DELETED) {
		cJSON *old = ck_map_take(inf->objs, key);
		index_update(inf, key, old, NULL);
		notify_delete(inf, old ? old : obj);
		cJSON_Delete(old);
		return;
	}
	*objp = NULL; /* taken */
	cJSON *old = ck_map_take(inf->objs, key);
	ck_map_set(inf->objs, key, obj);
	index_update(inf, key, old, obj);
	if (old)
		notify_update(inf, old, obj);
	else
		notify_add(inf, obj);
	cJSON_Delete(old);
}

static void on_watch_end(int rc, const ck_err *err, void *user)
{
	informer *inf = user;
	inf->watch = NULL;
	if (inf->freeing)
		return;
	if (rc == CK_EGONE) {
		start_list(inf, NULL);
		return;
	}
	uint64_t lived = uv_now(kc_client_loop(inf->c)) - inf->watch_started;
	if (rc < 0) {
		CK_V(2, "informer %s: watch failed: %s", inf->res->plural,
		     err ? err->msg : ck_strerror(rc));
		/* A watch that served a while before failing starts the backoff over. */
		if (lived > 60000)
			inf->failures = 0;
		backoff(inf, false);
		return;
	}
	/* A normal end (server timeout): watch again from where we are, unless the
	 * server keeps closing at once. */
	if (inf->watch_events == 0 && lived < 1000) {
		backoff(inf, false);
		return;
	}
	inf->failures = 0;
	start_watch(inf);
}

static void start_watch(informer *inf)
{
	if (inf->freeing)
		return;
	inf->state = S_WATCHING;
	int timeout = inf->watch_timeout;
	if (timeout <= 0) {
		inf->seed = inf->seed * 6364136223846793005ULL + 1442695040888963407ULL;
		timeout = 300 + (int)((inf->seed >> 33) % 300);
	}
	kc_list_opts o = {
	    .label_selector = inf->label_selector,
	    .field_selector = inf->field_selector,
	    .resource_version = inf->rv,
	    .timeout_seconds = timeout,
	    .allow_watch_bookmarks = true,
	};
	inf->watch_started = uv_now(kc_client_loop(inf->c));
	inf->watch_events = 0;
	int rc =
	    kc_watch_start(inf->c, inf->res, inf->ns, &o, on_event, on_watch_end, inf, &inf->watch);
	if (rc < 0)
		backoff(inf, false);
}

/* ---- lifecycle ---- */

int informer_new(kc_client *c, const informer_opts *o, informer **out, ck_err **err)
{
	if (!o || !o->resource)
		return ck_err_set(err, -EINVAL, "informer: no resource");
	informer *inf = ck_calloc(1, sizeof(*inf));
	inf->c = c;
	inf->res = o->resource;
	inf->ns = o->namespace_ && *o->namespace_ ? ck_strdup(o->namespace_) : NULL;
	inf->label_selector = ck_strdup_or_null(o->label_selector);
	inf->field_selector = ck_strdup_or_null(o->field_selector);
	inf->page_size = o->page_size > 0 ? o->page_size : 500;
	inf->watch_timeout = o->watch_timeout_seconds;
	inf->objs = ck_map_new(object_free);
	inf->rv = ck_strdup("");
	inf->seed = uv_hrtime() ^ (uint64_t)(uintptr_t)inf;
	uv_loop_t *loop = kc_client_loop(c);
	uv_timer_init(loop, &inf->retry);
	uv_timer_init(loop, &inf->tick);
	inf->retry.data = inf;
	inf->tick.data = inf;
	inf->open_handles = 2;
	informer_add_index(inf, INFORMER_INDEX_NAMESPACE, index_namespace, NULL);
	*out = inf;
	return 0;
}

int informer_start(informer *inf)
{
	if (inf->started)
		return 0;
	inf->started = true;
	start_list(inf, NULL);
	return 0;
}

static void on_closed(uv_handle_t *h)
{
	informer *inf = h->data;
	if (--inf->open_handles)
		return;
	ck_map_free(inf->objs);
	ck_map_free(inf->pending);
	for (size_t i = 0; i < inf->n_indexes; i++) {
		free(inf->indexes[i].name);
		ck_map_free(inf->indexes[i].values);
	}
	free(inf->indexes);
	free(inf->handlers);
	free(inf->synced_cbs);
	free(inf->ns);
	free(inf->label_selector);
	free(inf->field_selector);
	free(inf->rv);
	free(inf);
}

void informer_free(informer *inf)
{
	if (!inf || inf->freeing)
		return;
	inf->freeing = true;
	kc_call_cancel(inf->list_call);
	inf->list_call = NULL;
	kc_watch_stop(inf->watch);
	inf->watch = NULL;
	uv_close((uv_handle_t *)&inf->retry, on_closed);
	uv_close((uv_handle_t *)&inf->tick, on_closed);
}

/* ---- reads ---- */

bool informer_synced(const informer *inf)
{
	return inf->synced;
}

const cJSON *informer_get(const informer *inf, const char *key)
{
	return ck_map_get(inf->objs, key);
}

const cJSON *informer_get_ns(const informer *inf, const char *ns, const char *name)
{
	if (!ns || !*ns)
		return ck_map_get(inf->objs, name);
	_cleanup_free_ char *key = ck_asprintf("%s/%s", ns, name);
	return ck_map_get(inf->objs, key);
}

const cJSON **informer_list(const informer *inf, size_t *n)
{
	*n = ck_map_len(inf->objs);
	if (!*n)
		return NULL;
	const cJSON **out = ck_malloc(*n * sizeof(*out));
	size_t i = 0;
	ck_map_iter it = CK_MAP_ITER_INIT;
	void *v;
	while (ck_map_next(inf->objs, &it, NULL, &v))
		out[i++] = v;
	return out;
}

const cJSON **informer_by_index(const informer *inf, const char *index, const char *value,
                                size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < inf->n_indexes; i++) {
		if (strcmp(inf->indexes[i].name, index))
			continue;
		ck_map *set = ck_map_get(inf->indexes[i].values, value);
		if (!set || !ck_map_len(set))
			return NULL;
		const cJSON **out = ck_malloc(ck_map_len(set) * sizeof(*out));
		ck_map_iter it = CK_MAP_ITER_INIT;
		const char *key;
		while (ck_map_next(set, &it, &key, NULL)) {
			const cJSON *obj = ck_map_get(inf->objs, key);
			if (obj)
				out[(*n)++] = obj;
		}
		return out;
	}
	return NULL;
}

size_t informer_len(const informer *inf)
{
	return ck_map_len(inf->objs);
}

const char *informer_resource_version(const informer *inf)
{
	return inf->rv;
}
