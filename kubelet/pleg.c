/* pleg: the pod lifecycle event generator, upstream's "generic PLEG" in small. Every
 * cfg.relist_ms it lists the runtime's sandboxes and containers (two cheap CRI calls on
 * the loop), compares each one's state with the previous relist and enqueues the pod
 * (from the io.kubernetes.pod.namespace/name labels) of everything that appeared, changed
 * state or vanished. The first relist, as soon as the pod informer synced, enqueues every
 * pod the runtime knows, so that a restarted kubelet adopts running pods and removes
 * sandboxes of pods deleted while it was away. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "kubelet.h"

/* How soon a start looks again whether the pod informer has synced. */
#define PLEG_FIRST_RETRY_MS 50

typedef struct entry {
	char *id;
	int state;
	char *key;
} entry;

typedef struct snapshot {
	entry *v;
	size_t n;
} snapshot;

typedef struct pleg {
	kubelet *k;
	uv_timer_t timer;
	bool listing;
	bool first;
	snapshot sandboxes, containers;
	/* the half of a relist already answered */
	snapshot next_sandboxes;
	bool stopping;
} pleg;

static void snapshot_clear(snapshot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].id);
		free(s->v[i].key);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static char *key_of(char *const *labels)
{
	const char *ns = cri_kv_get(labels, KL_LABEL_POD_NAMESPACE);
	const char *name = cri_kv_get(labels, KL_LABEL_POD_NAME);
	if (!ns || !name)
		return NULL; /* not ours */
	return ck_asprintf("%s/%s", ns, name);
}

static void snapshot_add(snapshot *s, const char *id, int state, char *key)
{
	s->v = ck_realloc(s->v, (s->n + 1) * sizeof(entry));
	s->v[s->n++] = (entry){ck_strdup(id), state, key};
}

static const entry *find(const snapshot *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].id, id))
			return &s->v[i];
	return NULL;
}

/* Enqueues the pods of entries that are new or changed in cur, or gone from old. */
static void diff(pleg *p, const snapshot *old, const snapshot *cur)
{
	for (size_t i = 0; i < cur->n; i++) {
		const entry *o = find(old, cur->v[i].id);
		if (p->first || !o || o->state != cur->v[i].state) {
			CK_V(3, "pleg: %s %s", cur->v[i].key, cur->v[i].id);
			pod_worker_enqueue(p->k, cur->v[i].key);
		}
	}
	for (size_t i = 0; i < old->n; i++)
		if (!find(cur, old->v[i].id))
			pod_worker_enqueue(p->k, old->v[i].key);
}

static void on_containers(int rc, cri_container *v, size_t n, const ck_err *err, void *data)
{
	pleg *p = data;
	p->listing = false;
	if (p->stopping) {
		cri_containers_free(v, n);
		snapshot_clear(&p->next_sandboxes);
		free(p);
		return;
	}
	if (rc < 0) {
		CK_V(1, "pleg: ListContainers: %s", err ? err->msg : ck_strerror(rc));
		snapshot_clear(&p->next_sandboxes);
		return;
	}
	snapshot cur = {0};
	for (size_t i = 0; i < n; i++) {
		char *key = key_of(v[i].labels);
		if (key)
			snapshot_add(&cur, v[i].id, v[i].state, key);
	}
	cri_containers_free(v, n);
	diff(p, &p->sandboxes, &p->next_sandboxes);
	diff(p, &p->containers, &cur);
	snapshot_clear(&p->sandboxes);
	snapshot_clear(&p->containers);
	p->sandboxes = p->next_sandboxes;
	p->next_sandboxes = (snapshot){0};
	p->containers = cur;
	p->first = false;
}

static void on_sandboxes(int rc, cri_sandbox *v, size_t n, const ck_err *err, void *data)
{
	pleg *p = data;
	if (p->stopping || rc < 0) {
		if (rc < 0 && !p->stopping)
			CK_V(1, "pleg: ListPodSandbox: %s", err ? err->msg : ck_strerror(rc));
		cri_sandboxes_free(v, n);
		p->listing = false;
		if (p->stopping)
			free(p);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *key = key_of(v[i].labels);
		if (key)
			snapshot_add(&p->next_sandboxes, v[i].id, v[i].state, key);
	}
	cri_sandboxes_free(v, n);
	cri_list_containers(p->k->cri, NULL, NULL, on_containers, p);
}

static void tick(uv_timer_t *t)
{
	pleg *p = t->data;
	if (!pod_worker_synced(p->k)) {
		/* The first relist as soon as the pods are known: until it has run, every new
		 * pod's first sync lists the runtime (pleg_may_know). */
		uv_timer_start(t, tick, PLEG_FIRST_RETRY_MS, uv_timer_get_repeat(t));
		return;
	}
	if (p->listing)
		return;
	p->listing = true;
	cri_list_sandboxes(p->k->cri, NULL, false, on_sandboxes, p);
}

static bool has_key(const snapshot *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].key, key))
			return true;
	return false;
}

bool pleg_may_know(const kubelet *k, const char *key)
{
	const pleg *p = k->pleg;
	return !p || p->first || has_key(&p->sandboxes, key) || has_key(&p->containers, key) ||
	       has_key(&p->next_sandboxes, key);
}

int pleg_start(kubelet *k)
{
	pleg *p = ck_calloc(1, sizeof(*p));
	p->k = k;
	p->first = true;
	uv_timer_init(k->loop, &p->timer);
	p->timer.data = p;
	uint64_t every = k->cfg.relist_ms > 0 ? (uint64_t)k->cfg.relist_ms : 1000;
	uv_timer_start(&p->timer, tick, 0, every);
	k->pleg = p;
	return 0;
}

static void timer_closed(uv_handle_t *h)
{
	pleg *p = h->data;
	snapshot_clear(&p->sandboxes);
	snapshot_clear(&p->containers);
	/* A relist still in flight frees p from its callback. */
	if (!p->listing) {
		snapshot_clear(&p->next_sandboxes);
		free(p);
	}
}

void pleg_stop(kubelet *k)
{
	pleg *p = k->pleg;
	if (!p)
		return;
	p->stopping = true;
	uv_close((uv_handle_t *)&p->timer, timer_closed);
	k->pleg = NULL;
}
