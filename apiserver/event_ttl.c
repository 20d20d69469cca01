/* event_ttl: the leases Events are stored with (see event_ttl.h). */
#include "event_ttl.h"

#include <stdlib.h>

#include "net/etcd.h"

typedef struct lease_waiter {
	event_lease_fn cb;
	void *data;
	struct lease_waiter *next;
} lease_waiter;

struct event_leases {
	int64_t id;          /* the current lease (0: none) */
	uint64_t granted_ms; /* uv_now when it was asked for */
	int keys;            /* writes given the current lease */
	bool granting;
	lease_waiter *waiters, **tail; /* in arrival order */
};

/* As upstream's lease manager: a lease serves the writes of 5% of the TTL, at most 60 s,
 * and at most 1000 of them (etcd deletes a lease's keys in one go when it ends). */
#define REUSE_MAX_S    60
#define REUSE_MAX_KEYS 1000

static int64_t reuse_s(const apiserver *s)
{
	int64_t r = s->event_ttl_s / 20;
	return r < REUSE_MAX_S ? r : REUSE_MAX_S;
}

static void granted(int rc, int64_t id, int64_t ttl, const ck_err *err, void *data)
{
	(void)ttl;
	apiserver *s = data;
	struct event_leases *l = s->event_leases;
	l->granting = false;
	l->id = rc == 0 ? id : 0;
	l->keys = 0;
	lease_waiter *w = l->waiters;
	l->waiters = NULL;
	l->tail = &l->waiters;
	while (w) {
		lease_waiter *next = w->next;
		l->keys++;
		w->cb(rc, rc == 0 ? id : 0, err, w->data);
		free(w);
		w = next;
	}
}

void event_lease_get(apiserver *s, event_lease_fn cb, void *data)
{
	if (s->event_ttl_s <= 0) {
		cb(0, 0, NULL, data);
		return;
	}
	struct event_leases *l = s->event_leases;
	if (!l) {
		l = s->event_leases = ck_calloc(1, sizeof(*l));
		l->tail = &l->waiters;
	}
	uint64_t now = uv_now(s->loop);
	if (l->id && !l->granting && now - l->granted_ms < (uint64_t)reuse_s(s) * 1000 &&
	    l->keys < REUSE_MAX_KEYS) {
		l->keys++;
		cb(0, l->id, NULL, data);
		return;
	}
	lease_waiter *w = ck_calloc(1, sizeof(*w));
	w->cb = cb;
	w->data = data;
	*l->tail = w;
	l->tail = &w->next;
	if (l->granting)
		return;
	l->granting = true;
	l->granted_ms = now;
	etcd_lease_grant(s->etcd, s->event_ttl_s + reuse_s(s), granted, s);
}

void event_lease_forget(apiserver *s, int64_t lease)
{
	struct event_leases *l = s->event_leases;
	if (l && l->id == lease)
		l->id = 0;
}
