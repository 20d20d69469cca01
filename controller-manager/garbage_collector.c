/* The garbage collector: deletes objects whose owners are all gone (background cascading
 * deletion), over every kind of the kind registry (lib/api/kind.h) but Events, which
 * upstream's collector ignores too. An owner missing from the cache is confirmed absent
 * by a live GET before its dependent is deleted (with a uid precondition), so a cache
 * that lags never costs an object. Once the caches are synced, every dependent is checked
 * once; afterwards a dependent is checked when it appears, when its ownerReferences
 * change, and when an owner of it is deleted. Queue keys are "<Kind>.<group>|<ns/name>". */
#include "controller.h"

#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "base/json.h"
#include "base/log.h"
#include "base/strbuf.h"

/* One kind the collector watches. */
typedef struct gc_kind {
	struct gc_state *s;
	const kind_desc *desc;
	cm_cache *cache;
	char *tag; /* "ReplicaSet.apps": the queue key's prefix */
} gc_kind;

typedef struct gc_state {
	cm_controller *c;
	gc_kind *kinds;
	size_t n_kinds;
} gc_state;

/* Events are never owners nor owned for the collector (upstream's ignoredResources). */
static bool gc_ignored(const kind_desc *k)
{
	return !strcmp(k->kind, "Event");
}

static gc_kind *kind_of_ref(gc_state *s, const cJSON *ref)
{
	const char *api_version = ck_json_get_str(ref, "apiVersion", "");
	const char *slash = strchr(api_version, '/');
	_cleanup_free_ char *group =
	    slash ? ck_strndup(api_version, (size_t)(slash - api_version)) : ck_strdup("");
	const char *version = slash ? slash + 1 : api_version;
	const char *kind = ck_json_get_str(ref, "kind", "");
	for (size_t i = 0; i < s->n_kinds; i++) {
		const kind_desc *k = s->kinds[i].desc;
		if (!strcmp(k->group, group) && !strcmp(k->version, version) &&
		    !strcmp(k->kind, kind))
			return &s->kinds[i];
	}
	return NULL;
}

static gc_kind *kind_of_key(gc_state *s, const char *key, const char **obj_key)
{
	const char *bar = strchr(key, '|');
	if (!bar)
		return NULL;
	for (size_t i = 0; i < s->n_kinds; i++) {
		if (strlen(s->kinds[i].tag) == (size_t)(bar - key) &&
		    !strncmp(s->kinds[i].tag, key, (size_t)(bar - key))) {
			*obj_key = bar + 1;
			return &s->kinds[i];
		}
	}
	return NULL;
}

static void enqueue_dependent(gc_kind *k, const cJSON *obj)
{
	if (!cJSON_GetArraySize(ck_json_get(obj, "metadata.ownerReferences")))
		return;
	_cleanup_free_ char *k_obj = informer_key(obj);
	_cleanup_free_ char *key = ck_asprintf("%s|%s", k->tag, k_obj);
	wq_add(cm_controller_queue(k->s->c), key);
}

typedef struct check {
	gc_state *s;
	char *key;
	gc_kind *dep_kind;
	char *dep_ns, *dep_name, *dep_uid;
	char *owner_uid;
} check;

static void check_free(check *c)
{
	free(c->key);
	free(c->dep_ns);
	free(c->dep_name);
	free(c->dep_uid);
	free(c->owner_uid);
	free(c);
}

static void check_done(check *c, int rc)
{
	wq_done(cm_controller_queue(c->s->c), c->key, rc);
	check_free(c);
}

static void on_deleted(kc_result *res, void *user)
{
	check *c = user;
	int rc = 0;
	if (res->rc == 0 || res->rc == -ENOENT || res->rc == CK_ECONFLICT)
		CK_V(1, "garbage collector: deleted %s %s/%s", c->dep_kind->desc->kind, c->dep_ns,
		     c->dep_name);
	else
		rc = res->rc;
	check_done(c, rc);
}

static void on_owner(kc_result *res, void *user)
{
	check *c = user;
	bool gone =
	    res->rc == -ENOENT || (res->rc == 0 && !ck_streq(kc_obj_uid(res->obj), c->owner_uid));
	if (!gone) {
		check_done(c, res->rc < 0 ? res->rc : 0);
		return;
	}
	kc_delete_opts o = KC_DELETE_OPTS_INIT;
	o.propagation_policy = "Background";
	o.precondition_uid = c->dep_uid;
	cm_request rq = {.verb = CM_DELETE,
	                 .res = c->dep_kind->cache->res,
	                 .ns = c->dep_ns,
	                 .name = c->dep_name,
	                 .delete_opts = &o};
	if (cm_request_start(cm_controller_ctx(c->s->c), &rq, on_deleted, c) < 0)
		check_done(c, -EIO);
}

static int gc_sync(void *data, const char *key)
{
	gc_state *s = data;
	const char *obj_key = NULL;
	gc_kind *dk = kind_of_key(s, key, &obj_key);
	if (!dk)
		return 0;
	const cJSON *dep = cm_cache_get(dk->cache, obj_key);
	if (!dep)
		return 0;
	const cJSON *ref, *missing = NULL;
	gc_kind *missing_kind = NULL;
	cJSON_ArrayForEach(ref, ck_json_get(dep, "metadata.ownerReferences"))
	{
		gc_kind *ok = kind_of_ref(s, ref);
		if (!ok)
			return 0; /* an owner we cannot see keeps the object */
		const cJSON *owner = cm_cache_get_ns(ok->cache, kc_obj_namespace(dep),
		                                     ck_json_get_str(ref, "name", ""));
		if (owner && ck_streq(kc_obj_uid(owner), ck_json_get_str(ref, "uid", NULL)))
			return 0;
		missing = ref;
		missing_kind = ok;
	}
	if (!missing)
		return 0;
	check *c = ck_calloc(1, sizeof(*c));
	c->s = s;
	c->key = ck_strdup(key);
	c->dep_kind = dk;
	c->dep_ns = ck_strdup(kc_obj_namespace(dep));
	c->dep_name = ck_strdup(kc_obj_name(dep));
	c->dep_uid = ck_strdup(kc_obj_uid(dep));
	c->owner_uid = ck_strdup(ck_json_get_str(missing, "uid", ""));
	cm_request rq = {.verb = CM_GET,
	                 .res = missing_kind->cache->res,
	                 .ns = c->dep_ns,
	                 .name = ck_json_get_str(missing, "name", "")};
	if (cm_request_start(cm_controller_ctx(s->c), &rq, on_owner, c) < 0) {
		check_free(c);
		return -EIO;
	}
	return WQ_ASYNC;
}

/* ---- handlers ---- */

static void obj_added(const cJSON *obj, void *data)
{
	gc_kind *k = data;
	/* Before the caches synced, the first check of every dependent comes later. */
	if (cm_controller_synced(k->s->c))
		enqueue_dependent(k, obj);
}

static void obj_updated(const cJSON *old_obj, const cJSON *new_obj, void *data)
{
	if (!ck_json_equal(ck_json_get(old_obj, "metadata.ownerReferences"),
	                   ck_json_get(new_obj, "metadata.ownerReferences")))
		obj_added(new_obj, data);
}

/* An owner is gone: check what it owned, of every kind. */
static void obj_deleted(const cJSON *obj, void *data)
{
	gc_state *s = ((gc_kind *)data)->s;
	for (size_t i = 0; i < s->n_kinds; i++) {
		size_t n = 0;
		_cleanup_free_ const cJSON **objs =
		    cm_cache_by_index(s->kinds[i].cache, CM_INDEX_OWNER, kc_obj_uid(obj), &n);
		for (size_t k = 0; k < n; k++)
			enqueue_dependent(&s->kinds[i], objs[k]);
	}
}

static void gc_synced(void *data)
{
	gc_state *s = data;
	for (size_t i = 0; i < s->n_kinds; i++) {
		size_t n = 0;
		_cleanup_free_ const cJSON **objs = cm_cache_list(s->kinds[i].cache, &n);
		for (size_t k = 0; k < n; k++)
			enqueue_dependent(&s->kinds[i], objs[k]);
	}
}

static void gc_free(void *data)
{
	gc_state *s = data;
	for (size_t i = 0; i < s->n_kinds; i++)
		free(s->kinds[i].tag);
	free(s->kinds);
	free(s);
}

static int gc_start(cm_controller *c, void **state, ck_err **err)
{
	gc_state *s = ck_calloc(1, sizeof(*s));
	s->c = c;
	size_t n = 0;
	const kind_desc *const *all = kind_all(&n);
	s->kinds = ck_calloc(n + 1, sizeof(*s->kinds));
	for (size_t i = 0; i < n; i++) {
		if (gc_ignored(all[i]))
			continue;
		gc_kind *k = &s->kinds[s->n_kinds];
		k->s = s;
		k->desc = all[i];
		k->cache = cm_controller_cache(c, all[i]);
		if (!k->cache) {
			gc_free(s);
			return ck_err_set(err, -EINVAL, "no cache of %s", all[i]->kind);
		}
		k->tag = *all[i]->group ? ck_asprintf("%s.%s", all[i]->kind, all[i]->group)
		                        : ck_strdup(all[i]->kind);
		s->n_kinds++;
	}
	/* Handlers after every kind is known: an owner's delete looks through all. */
	for (size_t i = 0; i < s->n_kinds; i++) {
		informer_handlers h = {.on_add = obj_added,
		                       .on_update = obj_updated,
		                       .on_delete = obj_deleted,
		                       .data = &s->kinds[i]};
		s->kinds[i].cache->ops->add_handlers(s->kinds[i].cache->impl, &h);
	}
	*state = s;
	return 0;
}

const cm_controller_desc cm_gc_controller = {
    .name = "garbagecollector",
    .component = "garbage-collector",
    .start = gc_start,
    .sync = gc_sync,
    .synced = gc_synced,
    .free = gc_free,
};
