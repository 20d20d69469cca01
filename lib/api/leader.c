/* leader: Lease-based leader election. See leader.h. */
#include "api/leader.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "base/log.h"

struct leader {
	kc_client *c;
	leader_opts o;
	char *ns, *name, *identity;
	uv_timer_t timer;
	kc_call *call;
	char *observed;         /* holder + renewTime last seen */
	uint64_t observed_at;   /* uv_now when it changed */
	uint64_t last_renew_ok; /* uv_now of our last successful write as holder */
	bool leading;
	bool releasing, freeing;
	void (*released)(void *data);
	void *released_data;
};

static void tick(uv_timer_t *t);

static void schedule(leader *l, uint64_t ms)
{
	if (!l->freeing)
		uv_timer_start(&l->timer, tick, ms, 0);
}

static void lost(leader *l)
{
	l->leading = false;
	CK_V(2, "leader election: lost lease %s/%s", l->ns, l->name);
	if (l->o.on_stopped_leading)
		l->o.on_stopped_leading(l->o.data);
}

static void on_write(kc_result *res, void *user)
{
	leader *l = user;
	l->call = NULL;
	uint64_t now = uv_now(kc_client_loop(l->c));
	if (res->rc == 0) {
		l->last_renew_ok = now;
		if (!l->leading) {
			l->leading = true;
			if (l->o.on_started_leading)
				l->o.on_started_leading(l->o.data);
		}
	} else {
		CK_V(2, "leader election: writing the lease: %s", res->err->msg);
		if (l->leading && now - l->last_renew_ok > (uint64_t)l->o.renew_deadline_ms)
			lost(l);
	}
	schedule(l, (uint64_t)l->o.retry_period_ms);
}

/* Writes the lease with us as holder; lease is the current object (NULL: create). */
static void take(leader *l, const cJSON *current)
{
	_cleanup_free_ char *now = ck_time_now_rfc3339(true);
	_cleanup_json_ cJSON *lease = current ? ck_json_dup(current) : cJSON_CreateObject();
	bool ours =
	    current && !strcmp(ck_json_get_str(current, "spec.holderIdentity", ""), l->identity);
	if (!current) {
		ck_json_set_str(lease, "apiVersion", "coordination.k8s.io/v1");
		ck_json_set_str(lease, "kind", "Lease");
		ck_json_set_str(lease, "metadata.name", l->name);
		ck_json_set_str(lease, "metadata.namespace", l->ns);
	}
	if (!ours) {
		ck_json_set_str(lease, "spec.holderIdentity", l->identity);
		ck_json_set_str(lease, "spec.acquireTime", now);
		if (current)
			ck_json_set_int(lease, "spec.leaseTransitions",
			                ck_json_get_int(current, "spec.leaseTransitions", 0) + 1);
	}
	ck_json_set_int(lease, "spec.leaseDurationSeconds", l->o.lease_duration_ms / 1000);
	ck_json_set_str(lease, "spec.renewTime", now);
	_cleanup_free_ char *path = kc_path(&KC_LEASES, l->ns, current ? l->name : NULL, NULL);
	if (kc_request_call(l->c, current ? "PUT" : "POST", path, NULL, lease, on_write, l,
	                    &l->call) < 0)
		schedule(l, (uint64_t)l->o.retry_period_ms);
}

static void on_read(kc_result *res, void *user)
{
	leader *l = user;
	l->call = NULL;
	uint64_t now = uv_now(kc_client_loop(l->c));
	if (res->rc == -ENOENT) {
		take(l, NULL);
		return;
	}
	if (res->rc < 0) {
		CK_V(2, "leader election: reading the lease: %s", res->err->msg);
		if (l->leading && now - l->last_renew_ok > (uint64_t)l->o.renew_deadline_ms)
			lost(l);
		schedule(l, (uint64_t)l->o.retry_period_ms);
		return;
	}
	const char *holder = ck_json_get_str(res->obj, "spec.holderIdentity", "");
	_cleanup_free_ char *record =
	    ck_asprintf("%s|%s", holder, ck_json_get_str(res->obj, "spec.renewTime", ""));
	if (!l->observed || strcmp(l->observed, record)) {
		free(l->observed);
		l->observed = CK_TAKE_PTR(record);
		l->observed_at = now;
	}
	int64_t duration_ms = ck_json_get_int(res->obj, "spec.leaseDurationSeconds", 15) * 1000;
	bool ours = !strcmp(holder, l->identity);
	bool expired = !*holder || now - l->observed_at > (uint64_t)duration_ms;
	if (ours || expired) {
		take(l, res->obj);
		return;
	}
	if (l->leading)
		lost(l);
	schedule(l, (uint64_t)l->o.retry_period_ms);
}

static void tick(uv_timer_t *t)
{
	leader *l = t->data;
	if (l->releasing || l->call)
		return;
	_cleanup_free_ char *path = kc_path(&KC_LEASES, l->ns, l->name, NULL);
	if (kc_request_call(l->c, "GET", path, NULL, NULL, on_read, l, &l->call) < 0)
		schedule(l, (uint64_t)l->o.retry_period_ms);
}

int leader_new(kc_client *c, const leader_opts *o, leader **out)
{
	leader *l = ck_calloc(1, sizeof(*l));
	l->c = c;
	l->o = *o;
	if (l->o.lease_duration_ms <= 0)
		l->o.lease_duration_ms = 15000;
	if (l->o.renew_deadline_ms <= 0)
		l->o.renew_deadline_ms = 10000;
	if (l->o.retry_period_ms <= 0)
		l->o.retry_period_ms = 2000;
	l->ns = ck_strdup(o->namespace_ ? o->namespace_ : "kube-system");
	l->name = ck_strdup(o->name);
	if (o->identity) {
		l->identity = ck_strdup(o->identity);
	} else {
		char host[256] = "";
		gethostname(host, sizeof(host) - 1);
		/* Unique per process, as upstream's hostname_<uuid>. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		unsigned long long t =
		    (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
		l->identity =
		    ck_asprintf("%s_%016llx%08x", host, t ^ uv_hrtime(), (unsigned)getpid());
	}
	l->o.namespace_ = l->ns;
	l->o.name = l->name;
	l->o.identity = l->identity;
	uv_timer_init(kc_client_loop(c), &l->timer);
	l->timer.data = l;
	schedule(l, 0);
	*out = l;
	return 0;
}

const char *leader_identity(const leader *l)
{
	return l->identity;
}

bool leader_leading(const leader *l)
{
	return l->leading;
}

static void on_released(kc_result *res, void *user)
{
	leader *l = user;
	l->call = NULL;
	if (res->rc < 0)
		CK_V(2, "leader election: releasing the lease: %s", res->err->msg);
	l->leading = false;
	if (l->released)
		l->released(l->released_data);
}

static void on_release_read(kc_result *res, void *user)
{
	leader *l = user;
	l->call = NULL;
	if (res->rc < 0 ||
	    strcmp(ck_json_get_str(res->obj, "spec.holderIdentity", ""), l->identity)) {
		on_released(res, l);
		return;
	}
	/* Upstream's release: no holder, a one-second lease, renewed now. */
	_cleanup_free_ char *now = ck_time_now_rfc3339(true);
	ck_json_set_str(res->obj, "spec.holderIdentity", "");
	ck_json_set_int(res->obj, "spec.leaseDurationSeconds", 1);
	ck_json_set_str(res->obj, "spec.renewTime", now);
	_cleanup_free_ char *path = kc_path(&KC_LEASES, l->ns, l->name, NULL);
	if (kc_request_call(l->c, "PUT", path, NULL, res->obj, on_released, l, &l->call) < 0) {
		kc_result none = {.rc = -EIO};
		on_released(&none, l);
	}
}

void leader_release(leader *l, void (*done)(void *data), void *data)
{
	l->releasing = true;
	l->released = done;
	l->released_data = data;
	uv_timer_stop(&l->timer);
	kc_call_cancel(l->call);
	l->call = NULL;
	if (!l->leading) {
		if (done)
			done(data);
		return;
	}
	_cleanup_free_ char *path = kc_path(&KC_LEASES, l->ns, l->name, NULL);
	if (kc_request_call(l->c, "GET", path, NULL, NULL, on_release_read, l, &l->call) < 0 &&
	    done)
		done(data);
}

static void on_closed(uv_handle_t *h)
{
	leader *l = h->data;
	free(l->ns);
	free(l->name);
	free(l->identity);
	free(l->observed);
	free(l);
}

void leader_free(leader *l)
{
	if (!l)
		return;
	l->freeing = true;
	kc_call_cancel(l->call);
	uv_close((uv_handle_t *)&l->timer, on_closed);
}
