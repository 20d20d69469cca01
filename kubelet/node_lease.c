/* node_lease: the node's heartbeat, a coordination.k8s.io/v1 Lease named after the node
 * in kube-node-lease (holderIdentity the node, leaseDurationSeconds 40, owned by the
 * Node), renewed every 10 s with a PUT of the last version read; created when missing,
 * read again after a conflict. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "base/log.h"
#include "kubelet.h"

#define LEASE_NS       "kube-node-lease"
#define RENEW_MS       10000
#define LEASE_DURATION 40

typedef struct node_lease {
	kubelet *k;
	uv_timer_t timer;
	cJSON *lease; /* last version seen; NULL: unknown */
	bool busy;
} node_lease;

static cJSON *new_lease(const kubelet *k)
{
	cJSON *l = cJSON_CreateObject();
	cJSON_AddStringToObject(l, "apiVersion", "coordination.k8s.io/v1");
	cJSON_AddStringToObject(l, "kind", "Lease");
	ck_json_set_str(l, "metadata.name", k->cfg.node_name);
	ck_json_set_str(l, "metadata.namespace", LEASE_NS);
	if (k->node_uid && *k->node_uid) {
		cJSON *refs = cJSON_CreateArray();
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "apiVersion", "v1");
		cJSON_AddStringToObject(o, "kind", "Node");
		cJSON_AddStringToObject(o, "name", k->cfg.node_name);
		cJSON_AddStringToObject(o, "uid", k->node_uid);
		cJSON_AddItemToArray(refs, o);
		ck_json_set(l, "metadata.ownerReferences", refs);
	}
	ck_json_set_str(l, "spec.holderIdentity", k->cfg.node_name);
	ck_json_set_int(l, "spec.leaseDurationSeconds", LEASE_DURATION);
	_cleanup_free_ char *now = ck_time_now_rfc3339(true);
	ck_json_set_str(l, "spec.renewTime", now);
	return l;
}

static void renew(node_lease *nl);

static void on_written(kc_result *res, void *user)
{
	node_lease *nl = user;
	nl->busy = false;
	if (res->rc == 0) {
		cJSON_Delete(nl->lease);
		nl->lease = CK_TAKE_PTR(res->obj);
		CK_V(4, "lease renewed");
		return;
	}
	CK_V(1, "lease: %s", res->err ? res->err->msg : ck_strerror(res->rc));
	/* Conflict or gone: read it again on the next round. */
	cJSON_Delete(nl->lease);
	nl->lease = NULL;
	if (res->rc == CK_ECONFLICT)
		renew(nl);
}

static void on_get(kc_result *res, void *user)
{
	node_lease *nl = user;
	kubelet *k = nl->k;
	if (res->rc == -ENOENT) {
		_cleanup_json_ cJSON *l = new_lease(k);
		if (kc_create(k->kc, &KC_LEASES, LEASE_NS, l, on_written, nl) < 0)
			nl->busy = false;
		return;
	}
	if (res->rc < 0) {
		nl->busy = false;
		CK_V(1, "lease get: %s", res->err ? res->err->msg : ck_strerror(res->rc));
		return;
	}
	cJSON_Delete(nl->lease);
	nl->lease = CK_TAKE_PTR(res->obj);
	nl->busy = false;
	renew(nl);
}

static void renew(node_lease *nl)
{
	kubelet *k = nl->k;
	if (nl->busy)
		return;
	nl->busy = true;
	if (!nl->lease) {
		if (kc_get(k->kc, &KC_LEASES, LEASE_NS, k->cfg.node_name, on_get, nl) < 0)
			nl->busy = false;
		return;
	}
	_cleanup_free_ char *now = ck_time_now_rfc3339(true);
	ck_json_set_str(nl->lease, "spec.renewTime", now);
	ck_json_set_str(nl->lease, "spec.holderIdentity", k->cfg.node_name);
	ck_json_set_int(nl->lease, "spec.leaseDurationSeconds", LEASE_DURATION);
	if (kc_update(k->kc, &KC_LEASES, LEASE_NS, nl->lease, on_written, nl) < 0)
		nl->busy = false;
}

static void tick(uv_timer_t *t)
{
	renew(t->data);
}

int node_lease_start(kubelet *k)
{
	node_lease *nl = ck_calloc(1, sizeof(*nl));
	nl->k = k;
	uv_timer_init(k->loop, &nl->timer);
	nl->timer.data = nl;
	uv_timer_start(&nl->timer, tick, 0, RENEW_MS);
	k->lease = nl;
	return 0;
}

static void closed(uv_handle_t *h)
{
	node_lease *nl = h->data;
	cJSON_Delete(nl->lease);
	free(nl);
}

void node_lease_stop(kubelet *k)
{
	if (!k->lease)
		return;
	uv_close((uv_handle_t *)&k->lease->timer, closed);
	k->lease = NULL;
}
