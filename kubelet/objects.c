/* objects: the configMaps and secrets pods reference, for their environment and volumes.
 *
 * As upstream's kubelet with ConfigMapAndSecretChangeDetectionStrategy Watch
 * (util/manager/watch_based_manager.go), each object the node's pods reference is watched
 * on its own (an informer in its namespace with fieldSelector metadata.name=<name>) while
 * a pod references it: a pod's references are registered on the loop just before its sync
 * is handed to a worker thread (objects_set_pod), so the object's list runs beside the
 * sandbox's creation, and released when the pod goes or stops referencing it. Per-object
 * watches, not a list of every secret of a namespace, because a node is entitled to the
 * objects of its pods only (upstream's Node authorizer).
 *
 * Hand-off: the informers and the pods' references belong to the loop. Each watched
 * object's current copy and whether its first list arrived sit in a small cache under a
 * mutex, written by the loop's informer handlers and read by the sync threads
 * (objects_get), which wait on a condition variable for a first list still in flight.
 * A change of a watched object enqueues the pods that reference it, so that their volumes
 * show it at once (upstream waits for its periodic sync).
 *
 * A sync fetches each object once (objects_fetch) into its context; env and volumes both
 * read that copy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base64.h"
#include "base/json.h"
#include "base/log.h"
#include "kubelet.h"

static void refs_of_source(const cJSON *src, bool secret, void (*fn)(bool, const char *, void *),
                           void *data)
{
	const char *name = ck_json_get_str(src, secret ? "secretName" : "name", NULL);
	if (!name && secret)
		name = ck_json_get_str(src, "name", NULL);
	if (name)
		fn(secret, name, data);
}

static void refs_of_container(const cJSON *c, void (*fn)(bool, const char *, void *), void *data)
{
	const cJSON *e, *ref;
	cJSON_ArrayForEach(e, ck_json_get(c, "envFrom"))
	{
		if ((ref = ck_json_get(e, "configMapRef")))
			refs_of_source(ref, false, fn, data);
		else if ((ref = ck_json_get(e, "secretRef")))
			refs_of_source(ref, true, fn, data);
	}
	cJSON_ArrayForEach(e, ck_json_get(c, "env"))
	{
		if ((ref = ck_json_get(e, "valueFrom.configMapKeyRef")))
			refs_of_source(ref, false, fn, data);
		else if ((ref = ck_json_get(e, "valueFrom.secretKeyRef")))
			refs_of_source(ref, true, fn, data);
	}
}

/* The configMap or secret of a volume, or of a projected volume's source. */
static void refs_of_volume_source(const cJSON *v, void (*fn)(bool, const char *, void *),
                                  void *data)
{
	const cJSON *src;
	if ((src = ck_json_get(v, "configMap")))
		refs_of_source(src, false, fn, data);
	else if ((src = ck_json_get(v, "secret")))
		refs_of_source(src, true, fn, data);
}

void kl_pod_refs(const cJSON *pod, const cJSON *c, bool volumes,
                 void (*fn)(bool secret, const char *name, void *data), void *data)
{
	const cJSON *v, *s;
	const cJSON *vols = volumes ? ck_json_get(pod, "spec.volumes") : NULL;
	cJSON_ArrayForEach(v, vols)
	{
		refs_of_volume_source(v, fn, data);
		cJSON_ArrayForEach(s, ck_json_get(v, "projected.sources"))
		{
			refs_of_volume_source(s, fn, data);
		}
	}
	if (c) {
		refs_of_container(c, fn, data);
		return;
	}
	const char *lists[] = {"spec.initContainers", "spec.containers"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(lists); i++) {
		const cJSON *x;
		cJSON_ArrayForEach(x, ck_json_get(pod, lists[i]))
		{
			refs_of_container(x, fn, data);
		}
	}
}

const kl_obj *kl_sync_obj(const kl_sync *x, bool secret, const char *name)
{
	for (size_t i = 0; i < x->n_objs; i++)
		if (x->objs[i].secret == secret && !strcmp(x->objs[i].name, name))
			return &x->objs[i];
	return NULL;
}

char *kl_obj_value(const cJSON *obj, bool secret, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(ck_json_get(obj, "data"), key);
	if (!cJSON_IsString(v))
		return NULL;
	if (!secret)
		return ck_strdup(v->valuestring);
	uint8_t *out = NULL;
	size_t len;
	return ck_base64_decode(v->valuestring, CK_BASE64_LENIENT, &out, &len) < 0 ? NULL
	                                                                           : (char *)out;
}

const kl_obj *objects_fetch(kl_sync *x, bool secret, const char *name)
{
	const kl_obj *have = kl_sync_obj(x, secret, name);
	if (have)
		return have;
	kl_obj o = {.secret = secret, .name = ck_strdup(name)};
	objects_get(x->objects, secret, x->ns, name, &o.obj, &o.error);
	x->objs = ck_realloc(x->objs, (x->n_objs + 1) * sizeof(*x->objs));
	x->objs[x->n_objs] = o;
	return &x->objs[x->n_objs++];
}

static void fetch_ref(bool secret, const char *name, void *data)
{
	objects_fetch(data, secret, name);
}

void objects_fetch_env(kl_sync *x, const cJSON *c)
{
	kl_pod_refs(x->pod, c, false, fetch_ref, x);
}

void kl_objs_clear(kl_sync *x)
{
	for (size_t i = 0; i < x->n_objs; i++) {
		free(x->objs[i].name);
		cJSON_Delete(x->objs[i].obj);
		free(x->objs[i].error);
	}
	free(x->objs);
	x->objs = NULL;
	x->n_objs = 0;
}

/* ---- the watched objects (loop) and their cache (shared) ---- */

/* How long a sync waits for the first list of an object it needs. Upstream waits 1 s;
 * here a waiting sync costs one idle pool thread, and giving up costs the pod a
 * FailedMount and a 3 s requeue, so it waits longer on a busy machine. */
#define GET_TIMEOUT_MS 5000

typedef struct watched {
	struct kl_objects *m;
	bool secret;
	char *ns, *name;
	int refs;      /* loop */
	informer *inf; /* loop */
	/* under m->mu */
	bool synced;
	cJSON *obj; /* the current object (a copy), NULL while there is none */
	struct watched *next;
} watched;

/* The references of one pod as last registered. */
typedef struct pod_refs {
	char *key;
	watched **w;
	size_t n;
	struct pod_refs *next;
} pod_refs;

struct kl_objects {
	kubelet *k;
	pthread_mutex_t mu;
	pthread_cond_t cond; /* a watched object's first list arrived, or stop */
	watched *watched;    /* changed on the loop under mu; read by syncs under mu */
	pod_refs *pods;      /* loop */
	bool stopped;        /* under mu */
};

kl_objects *objects_new(kubelet *k)
{
	kl_objects *m = ck_calloc(1, sizeof(*m));
	m->k = k;
	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	return m;
}

static watched *find(kl_objects *m, bool secret, const char *ns, const char *name)
{
	for (watched *w = m->watched; w; w = w->next)
		if (w->secret == secret && !strcmp(w->ns, ns) && !strcmp(w->name, name))
			return w;
	return NULL;
}

/* Enqueues the pods that reference w: what they show of it changed. */
static void changed(watched *w)
{
	for (pod_refs *p = w->m->pods; p; p = p->next)
		for (size_t i = 0; i < p->n; i++)
			if (p->w[i] == w)
				pod_worker_enqueue(w->m->k, p->key);
}

static void set_obj(watched *w, const cJSON *obj)
{
	kl_objects *m = w->m;
	pthread_mutex_lock(&m->mu);
	cJSON_Delete(w->obj);
	w->obj = obj ? ck_json_dup(obj) : NULL;
	bool synced = w->synced;
	pthread_mutex_unlock(&m->mu);
	/* The first list is what the sync that registered the pod reads anyway. */
	if (synced)
		changed(w);
}

static void on_add(const cJSON *obj, void *data)
{
	set_obj(data, obj);
}

static void on_update(const cJSON *old_obj, const cJSON *new_obj, void *data)
{
	set_obj(data, new_obj);
}

static void on_delete(const cJSON *obj, void *data)
{
	set_obj(data, NULL);
}

static void on_synced(void *data)
{
	watched *w = data;
	kl_objects *m = w->m;
	pthread_mutex_lock(&m->mu);
	w->synced = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mu);
}

static watched *watch_start(kl_objects *m, bool secret, const char *ns, const char *name)
{
	watched *w = ck_calloc(1, sizeof(*w));
	w->m = m;
	w->secret = secret;
	w->ns = ck_strdup(ns);
	w->name = ck_strdup(name);
	_cleanup_free_ char *fs = ck_asprintf("metadata.name=%s", name);
	informer_opts io = {.resource = secret ? &KC_SECRETS : &KC_CONFIGMAPS,
	                    .namespace_ = ns,
	                    .field_selector = fs};
	_cleanup_err_ ck_err *err = NULL;
	if (informer_new(m->k->kc, &io, &w->inf, &err) == 0) {
		informer_handlers h = {
		    .on_add = on_add, .on_update = on_update, .on_delete = on_delete, .data = w};
		informer_add_handlers(w->inf, &h);
		informer_on_synced(w->inf, on_synced, w);
		informer_start(w->inf);
	} else {
		/* Syncs that need it wait, then fail with the timeout. */
		CK_WARN("watch of %s %s/%s: %s", secret ? "secret" : "configmap", ns, name,
		        err ? err->msg : "failed");
	}
	pthread_mutex_lock(&m->mu);
	w->next = m->watched;
	m->watched = w;
	pthread_mutex_unlock(&m->mu);
	return w;
}

static void watch_free(watched *w)
{
	informer_free(w->inf);
	cJSON_Delete(w->obj);
	free(w->ns);
	free(w->name);
	free(w);
}

/* Drops one reference of w; the last one ends its watch. */
static void unref(kl_objects *m, watched *w)
{
	if (--w->refs > 0)
		return;
	pthread_mutex_lock(&m->mu);
	for (watched **p = &m->watched; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&m->mu);
	watch_free(w);
}

typedef struct collect {
	kl_objects *m;
	const char *ns;
	watched **w;
	size_t n;
} collect;

static void collect_ref(bool secret, const char *name, void *data)
{
	collect *c = data;
	watched *w = find(c->m, secret, c->ns, name);
	for (size_t i = 0; w && i < c->n; i++)
		if (c->w[i] == w)
			return;
	if (!w)
		w = watch_start(c->m, secret, c->ns, name);
	w->refs++;
	c->w = ck_realloc(c->w, (c->n + 1) * sizeof(*c->w));
	c->w[c->n++] = w;
}

void objects_set_pod(kl_objects *m, const char *key, const cJSON *pod)
{
	pod_refs **pp = &m->pods;
	while (*pp && strcmp((*pp)->key, key))
		pp = &(*pp)->next;
	/* The new references first: an object still referenced keeps its watch. */
	collect c = {.m = m, .ns = ck_json_get_str(pod, "metadata.namespace", "default")};
	bool terminating = pod && ck_json_get(pod, "metadata.deletionTimestamp") &&
	                   !cJSON_IsNull(ck_json_get(pod, "metadata.deletionTimestamp"));
	if (pod && !terminating && !m->stopped)
		kl_pod_refs(pod, NULL, true, collect_ref, &c);
	pod_refs *p = *pp;
	if (p) {
		for (size_t i = 0; i < p->n; i++)
			unref(m, p->w[i]);
		free(p->w);
		p->w = NULL;
		p->n = 0;
	}
	if (!c.n) {
		free(c.w);
		if (p) {
			*pp = p->next;
			free(p->key);
			free(p);
		}
		return;
	}
	if (!p) {
		p = ck_calloc(1, sizeof(*p));
		p->key = ck_strdup(key);
		p->next = m->pods;
		m->pods = p;
	}
	p->w = c.w;
	p->n = c.n;
}

int objects_get(kl_objects *m, bool secret, const char *ns, const char *name, cJSON **out,
                char **error)
{
	*out = NULL;
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += GET_TIMEOUT_MS / 1000;
	const char *what = secret ? "secrets" : "configmaps";
	pthread_mutex_lock(&m->mu);
	int rc = 0;
	for (;;) {
		watched *w = m->stopped ? NULL : find(m, secret, ns, name);
		if (!w) {
			*error = ck_asprintf("%s %s/%s is not watched", what, ns, name);
			rc = -ENOENT;
			break;
		}
		if (w->synced) {
			*out = w->obj ? ck_json_dup(w->obj) : NULL;
			break;
		}
		if (pthread_cond_timedwait(&m->cond, &m->mu, &deadline) == ETIMEDOUT) {
			*error = ck_asprintf("failed to sync %s cache: timed out waiting for the "
			                     "condition",
			                     what);
			rc = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&m->mu);
	return rc;
}

void objects_stop(kl_objects *m)
{
	if (!m)
		return;
	while (m->pods)
		objects_set_pod(m, m->pods->key, NULL);
	pthread_mutex_lock(&m->mu);
	m->stopped = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mu);
}

void objects_free(kl_objects *m)
{
	if (!m)
		return;
	objects_stop(m);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->mu);
	free(m);
}
