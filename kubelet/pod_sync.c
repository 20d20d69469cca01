/* pod_sync: one pod's reconcile against the container runtime, on a worker thread with
 * the blocking CRI client. It reads the runtime's current view of the pod (sandboxes and
 * containers found by the pod's namespace/name labels), so it keeps no state it cannot
 * rebuild: a restarted kubelet adopts what it finds instead of creating duplicates.
 *
 * Steps: remove sandboxes of other pods with the same name (orphans, or an older pod
 * with another uid); terminate a pod being deleted (StopContainer with its grace period,
 * then StopPodSandbox and RemovePodSandbox) and ask for the final DELETE; otherwise
 * ensure a ready sandbox, then for each container: keep it running, or (re)start it
 * according to restartPolicy with upstream's back-off (immediate first restart, then 10 s
 * doubling to 5 min: CrashLoopBackOff), pulling its image per imagePullPolicy (with
 * ErrImagePull / ImagePullBackOff and its own back-off); finally read the runtime again
 * and compute the status. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "base/log.h"
#include "kubelet.h"

int64_t kl_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

const char *kl_label(char *const *labels, const char *key)
{
	const char *v = cri_kv_get(labels, key);
	return v ? v : "";
}

/* ---- outputs ---- */

void kl_sync_add_event(kl_sync *x, const char *container, const char *type, const char *reason,
                       const char *fmt, ...)
{
	kl_sync_event *e = ck_calloc(1, sizeof(*e));
	e->container = ck_strdup_or_null(container);
	e->type = ck_strdup(type);
	e->reason = ck_strdup(reason);
	va_list ap;
	va_start(ap, fmt);
	e->message = ck_vasprintf(fmt, ap);
	va_end(ap);
	/* Keep the order in which things happened. */
	kl_sync_event **p = &x->out->events;
	while (*p)
		p = &(*p)->next;
	*p = e;
}

void kl_sync_add_waiting(kl_sync *x, const char *container, const char *reason, const char *message)
{
	kl_waiting *n = ck_calloc(1, sizeof(*n));
	n->container = ck_strdup(container);
	n->reason = ck_strdup(reason);
	n->message = ck_strdup_or_null(message);
	n->next = x->waiting;
	x->waiting = n;
}

static void waiting_free(kl_waiting *w)
{
	while (w) {
		kl_waiting *n = w->next;
		free(w->container);
		free(w->reason);
		free(w->message);
		free(w);
		w = n;
	}
}

void kl_sync_requeue(kl_sync *x, int64_t ms)
{
	pod_sync_out *out = x->out;
	if (ms < 1)
		ms = 1;
	if (ms > 0x7ffffff)
		ms = 0x7ffffff;
	if (out->requeue_ms == 0 || ms < out->requeue_ms)
		out->requeue_ms = (int)ms;
}

void kl_sync_error(kl_sync *x, const char *fmt, ...)
{
	pod_sync_out *out = x->out;
	out->failed = true;
	if (out->error)
		return;
	va_list ap;
	va_start(ap, fmt);
	out->error = ck_vasprintf(fmt, ap);
	va_end(ap);
}

void pod_sync_out_clear(pod_sync_out *out)
{
	cJSON_Delete(out->status);
	while (out->events) {
		kl_sync_event *n = out->events->next;
		free(out->events->container);
		free(out->events->type);
		free(out->events->reason);
		free(out->events->message);
		free(out->events);
		out->events = n;
	}
	free(out->error);
	for (size_t i = 0; i < out->n_running; i++) {
		free(out->running[i].name);
		free(out->running[i].id);
	}
	free(out->running);
	free(out->pod_ip);
	memset(out, 0, sizeof(*out));
}

/* ---- the runtime's view ---- */

/* Sandboxes (with status detail: IPs) and containers (with exit codes and times) that
 * carry the pod's namespace/name labels. Returns 0 or a negative code. */
static int query_runtime(cri_client *cri, const char *ns, const char *name, kl_runtime_pod *rp,
                         char **msg)
{
	const char *sel[] = {KL_LABEL_POD_NAMESPACE, ns, KL_LABEL_POD_NAME, name, NULL};
	cri_result r = {0};
	cri_list_sandboxes(cri, sel, false, cri_result_on_sandboxes, &r);
	if (r.rc < 0) {
		*msg = ck_strdup(cri_result_msg(&r));
		cri_result_clear(&r);
		return -EIO;
	}
	rp->sandboxes = CK_TAKE_PTR(r.sandboxes);
	rp->n_sandboxes = r.n;
	r.n = 0;
	cri_result_clear(&r);
	for (size_t i = 0; i < rp->n_sandboxes; i++) {
		cri_sandbox_status(cri, rp->sandboxes[i].id, cri_result_on_sandbox, &r);
		if (r.rc == 0) {
			cri_sandbox_clear(&rp->sandboxes[i]);
			rp->sandboxes[i] = *r.sandbox;
			free(r.sandbox);
			r.sandbox = NULL;
		}
		cri_result_clear(&r);
	}
	cri_list_containers(cri, NULL, sel, cri_result_on_containers, &r);
	if (r.rc < 0) {
		*msg = ck_strdup(cri_result_msg(&r));
		cri_result_clear(&r);
		return -EIO;
	}
	rp->containers = CK_TAKE_PTR(r.containers);
	rp->n_containers = r.n;
	r.n = 0;
	cri_result_clear(&r);
	for (size_t i = 0; i < rp->n_containers; i++) {
		cri_container_status(cri, rp->containers[i].id, cri_result_on_container, &r);
		if (r.rc == 0) {
			/* Keep the list's sandbox id: the status does not carry it. */
			char *sid = CK_TAKE_PTR(rp->containers[i].sandbox_id);
			cri_container_clear(&rp->containers[i]);
			rp->containers[i] = *r.container;
			rp->containers[i].sandbox_id = sid;
			free(r.container);
			r.container = NULL;
		}
		cri_result_clear(&r);
	}
	return 0;
}

/* The runtime's view after a fresh sync: its one sandbox (as PodSandboxStatus told right
 * after RunPodSandbox: nothing since changes a sandbox) and each container it created as
 * ContainerStatus tells now. Takes made; returns 0 and *rp, or -1 (list instead). */
static int made_view(cri_client *cri, kl_runtime_pod *made, kl_runtime_pod *rp)
{
	if (made->n_sandboxes != 1) {
		kl_runtime_pod_clear(made);
		return -1;
	}
	for (size_t i = 0; i < made->n_containers; i++) {
		cri_container *c = &made->containers[i];
		cri_result r = {0};
		cri_container_status(cri, c->id, cri_result_on_container, &r);
		if (r.rc < 0) {
			cri_result_clear(&r);
			kl_runtime_pod_clear(made);
			return -1;
		}
		/* The status does not carry the sandbox id. */
		char *sid = CK_TAKE_PTR(c->sandbox_id);
		cri_container_clear(c);
		*c = *r.container;
		c->sandbox_id = sid;
		free(r.container);
		r.container = NULL;
		cri_result_clear(&r);
	}
	*rp = *made;
	memset(made, 0, sizeof(*made));
	return 0;
}

/* Back-off of a failed container: the first restart at once, then 10 s doubling to
 * 5 min after its last exit. True (with the CrashLoopBackOff waiting reason, an event
 * and a requeue) while restarting must wait. */
static bool in_back_off(kl_sync *x, const cri_container *cur, const char *name, int64_t now)
{
	if (cur->attempt == 0)
		return false;
	int64_t delay = kl_backoff_ms((int)cur->attempt);
	int64_t due = cur->finished_at / 1000000 + delay;
	if (now >= due)
		return false;
	_cleanup_free_ char *m =
	    ck_asprintf("back-off %llds restarting failed container=%s pod=%s_%s(%s)",
	                (long long)(delay / 1000), name, x->name, x->ns, x->uid);
	kl_sync_add_waiting(x, name, "CrashLoopBackOff", m);
	kl_sync_add_event(x, name, "Warning", "BackOff",
	                  "Back-off restarting failed container %s in pod %s_%s(%s)", name, x->name,
	                  x->ns, x->uid);
	kl_sync_requeue(x, due - now);
	return true;
}

/* Runs the init containers one after the other. True once all completed (exit 0) in
 * this sandbox; false while one runs, waits or failed. */
static bool run_init_containers(kl_sync *x, const kl_runtime_pod *rp, int64_t now)
{
	const char *policy = ck_json_get_str(x->pod, "spec.restartPolicy", "Always");
	const cJSON *ic;
	cJSON_ArrayForEach(ic, ck_json_get(x->pod, "spec.initContainers"))
	{
		const char *name = ck_json_get_str(ic, "name", "");
		const cri_container *cur = pod_status_current(rp, x->uid, name, NULL);
		bool in_sandbox = cur && cur->sandbox_id && !strcmp(cur->sandbox_id, x->sid);
		/* A new sandbox runs them all again, as upstream does. */
		if (cur && !x->new_sandbox && cur->state == CRI_CONTAINER_EXITED &&
		    cur->exit_code == 0)
			continue;
		if (cur && in_sandbox && cur->state == CRI_CONTAINER_RUNNING)
			return false;
		if (cur && in_sandbox && cur->state == CRI_CONTAINER_CREATED) {
			lifecycle_start_created(x, cur);
			return false;
		}
		if (cur && !x->new_sandbox && cur->state == CRI_CONTAINER_EXITED) {
			if (!strcmp(policy, "Never"))
				return false; /* the pod failed */
			if (in_back_off(x, cur, name, now))
				return false;
		}
		if (lifecycle_ensure_image(x, ic))
			lifecycle_start(x, ic, cur ? cur->attempt + 1 : 0);
		return false;
	}
	return true;
}

/* Whether an exited container should run again under the pod's restartPolicy. */
static bool should_restart(const char *policy, const cri_container *c)
{
	if (!strcmp(policy, "Never"))
		return false;
	if (!strcmp(policy, "OnFailure"))
		return c->exit_code != 0;
	return true;
}

/* True when every container has run and none will run again. */
static bool pod_done(const cJSON *pod, const kl_runtime_pod *rp, const char *uid)
{
	const char *policy = ck_json_get_str(pod, "spec.restartPolicy", "Always");
	const char *phase = ck_json_get_str(pod, "status.phase", "");
	if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))
		return true;
	if (!strcmp(policy, "Always"))
		return false;
	const cJSON *c;
	if (!strcmp(policy, "Never")) {
		cJSON_ArrayForEach(c, ck_json_get(pod, "spec.initContainers"))
		{
			const cri_container *cur =
			    pod_status_current(rp, uid, ck_json_get_str(c, "name", ""), NULL);
			if (cur && cur->state == CRI_CONTAINER_EXITED && cur->exit_code != 0)
				return true;
		}
	}
	cJSON_ArrayForEach(c, ck_json_get(pod, "spec.containers"))
	{
		const cri_container *cur =
		    pod_status_current(rp, uid, ck_json_get_str(c, "name", ""), NULL);
		if (!cur || cur->state != CRI_CONTAINER_EXITED || should_restart(policy, cur))
			return false;
	}
	return true;
}

static const cri_sandbox *ready_sandbox(const kl_runtime_pod *rp, const char *uid)
{
	const cri_sandbox *best = NULL;
	for (size_t i = 0; i < rp->n_sandboxes; i++) {
		const cri_sandbox *s = &rp->sandboxes[i];
		if (s->state != CRI_SANDBOX_READY || !s->uid || strcmp(s->uid, uid))
			continue;
		if (!best || s->attempt > best->attempt)
			best = s;
	}
	return best;
}

/* Removes exited instances older than the two newest of each container name (the
 * newest gives the state, the one before the lastState) and those of dead sandboxes. */
static void gc_containers(kl_sync *x, const kl_runtime_pod *rp)
{
	for (size_t i = 0; i < rp->n_containers; i++) {
		const cri_container *c = &rp->containers[i];
		if (c->state != CRI_CONTAINER_EXITED ||
		    strcmp(kl_label(c->labels, KL_LABEL_POD_UID), x->uid))
			continue;
		const cri_container *prev = NULL;
		const cri_container *cur = pod_status_current(rp, x->uid, c->name, &prev);
		if (c == cur || c == prev)
			continue;
		lifecycle_remove(x, c->id);
	}
}

/* The sandbox the containers go in: the ready one of rp, or (after what is left of dead
 * ones is stopped) a new one. Returns 0 with x->sid, or a negative code. */
static int ensure_sandbox(kl_sync *x, const kl_runtime_pod *rp)
{
	const cri_sandbox *sb = ready_sandbox(rp, x->uid);
	if (sb) {
		x->sid = ck_strdup(sb->id);
		x->pod_ip = ck_strdup_or_null(sb->ip);
		sandbox_cfg_build(x->cfg, x->pod, sb->attempt, &x->sb);
		return 0;
	}
	bool had = false;
	uint32_t attempt = 0;
	for (size_t i = 0; i < rp->n_sandboxes; i++) {
		if (rp->sandboxes[i].uid && !strcmp(rp->sandboxes[i].uid, x->uid)) {
			had = true;
			if (rp->sandboxes[i].attempt + 1 > attempt)
				attempt = rp->sandboxes[i].attempt + 1;
		}
	}
	for (size_t i = 0; i < rp->n_containers; i++) {
		const cri_container *c = &rp->containers[i];
		if (c->state == CRI_CONTAINER_RUNNING &&
		    !strcmp(kl_label(c->labels, KL_LABEL_POD_UID), x->uid))
			lifecycle_kill(x, c, 0, false);
	}
	if (had)
		kl_sync_add_event(x, NULL, "Normal", "SandboxChanged",
		                  "Pod sandbox changed, it will be killed and re-created.");
	sandbox_cfg_build(x->cfg, x->pod, attempt, &x->sb);
	return sandbox_run(x);
}

static void sync_running_pod(kl_sync *x, const kl_runtime_pod *rp)
{
	const char *policy = ck_json_get_str(x->pod, "spec.restartPolicy", "Always");
	if (pod_done(x->pod, rp, x->uid)) {
		/* Terminal: nothing runs again; release the sandbox (keep containers' logs). */
		const cri_sandbox *sb = ready_sandbox(rp, x->uid);
		if (sb)
			sandbox_stop(x, sb->id);
		return;
	}
	if (ensure_sandbox(x, rp) < 0)
		return;
	_cleanup_free_ char *vol_error = NULL;
	if (volumes_setup(x, &vol_error) < 0) {
		kl_sync_add_event(x, NULL, "Warning", "FailedMount", "%s", vol_error);
		kl_sync_requeue(x, 3000);
		return;
	}
	int64_t now = kl_now_ms();
	bool initialized = run_init_containers(x, rp, now);
	const cJSON *c;
	const cJSON *containers = initialized ? ck_json_get(x->pod, "spec.containers") : NULL;
	cJSON_ArrayForEach(c, containers)
	{
		const char *name = ck_json_get_str(c, "name", "");
		const cri_container *cur = pod_status_current(rp, x->uid, name, NULL);
		bool in_sandbox = cur && cur->sandbox_id && !strcmp(cur->sandbox_id, x->sid);
		if (cur && in_sandbox && cur->state == CRI_CONTAINER_RUNNING)
			continue;
		if (cur && in_sandbox && cur->state == CRI_CONTAINER_CREATED) {
			/* Created by a kubelet that stopped before starting it. */
			lifecycle_start_created(x, cur);
			continue;
		}
		uint32_t next_attempt = 0;
		if (cur) {
			next_attempt = cur->attempt + 1;
			if (cur->state == CRI_CONTAINER_EXITED && !x->new_sandbox) {
				if (!should_restart(policy, cur))
					continue;
				if (in_back_off(x, cur, name, now))
					continue;
			} else if (x->new_sandbox && cur->state == CRI_CONTAINER_EXITED &&
			           !should_restart(policy, cur)) {
				continue;
			}
		}
		if (lifecycle_ensure_image(x, c))
			lifecycle_start(x, c, next_attempt);
	}

	/* Dead sandboxes of this pod go once a new one runs. */
	if (x->new_sandbox) {
		for (size_t i = 0; i < rp->n_sandboxes; i++) {
			const cri_sandbox *s = &rp->sandboxes[i];
			if (s->uid && !strcmp(s->uid, x->uid) && strcmp(s->id, x->sid))
				sandbox_remove(x, s->id);
		}
	}
}

/* The status from what the runtime says now (of a fresh pod: what the sync made), with
 * the running containers for the probes. */
static void sync_status(kl_sync *x, bool fresh, const kl_probe_result *probes, size_t n_probes)
{
	/* A new sandbox's status joins what the sync made, also when no container started. */
	sandbox_ip(x);
	kl_runtime_pod rp = {0};
	_cleanup_free_ char *msg = NULL;
	if ((!fresh || made_view(x->cri, &x->made, &rp) < 0) &&
	    query_runtime(x->cri, x->ns, x->name, &rp, &msg) < 0) {
		kl_sync_error(x, "runtime: %s", msg);
		return;
	}
	gc_containers(x, &rp);
	lifecycle_termination_messages(x, &rp);
	rp.probes = probes;
	rp.n_probes = n_probes;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	pod_sync_out *out = x->out;
	out->status = pod_status_compute(x->pod, &rp, x->waiting, x->node_ip, &now);
	for (size_t i = 0; i < rp.n_containers; i++) {
		const cri_container *c = &rp.containers[i];
		if (c->state != CRI_CONTAINER_RUNNING ||
		    strcmp(kl_label(c->labels, KL_LABEL_POD_UID), x->uid))
			continue;
		out->running = ck_realloc(out->running, (out->n_running + 1) * sizeof(kl_running));
		out->running[out->n_running++] = (kl_running){ck_strdup(c->name), ck_strdup(c->id)};
	}
	out->pod_ip = ck_strdup_or_null(ck_json_get_str(out->status, "podIP", NULL));
	kl_runtime_pod_clear(&rp);
}

static void sync_clear(kl_sync *x)
{
	sandbox_ip_done(&x->ip);
	sandbox_cfg_clear(&x->sb);
	volumes_clear(&x->vols);
	kl_objs_clear(x);
	free(x->sid);
	free(x->pod_ip);
	kl_runtime_pod_clear(&x->made);
	waiting_free(x->waiting);
}

void pod_sync_run(const pod_sync_in *in, pod_sync_out *out)
{
	_cleanup_free_ char *ns = NULL, *name = NULL;
	if (informer_split_key(in->key, &ns, &name) < 0 || !ns) {
		out->failed = true;
		out->error = ck_asprintf("bad key %s", in->key);
		return;
	}
	/* The CRI calls this thread logs next (at -v=4) are this pod's. */
	CK_V(4, "pod %s: sync%s", in->key, in->fresh ? " (fresh)" : "");
	_cleanup_(sync_clear) kl_sync x = {
	    .cfg = in->cfg,
	    .pod = in->pod,
	    .ns = ns,
	    .name = name,
	    .uid = in->pod ? ck_json_get_str(in->pod, "metadata.uid", "") : NULL,
	    .node_ip = in->node_ip,
	    .cri = in->cri,
	    .objects = in->objects,
	    .st = in->st,
	    .out = out,
	};
	kl_runtime_pod rp = {0};
	_cleanup_free_ char *msg = NULL;
	if (!in->fresh && query_runtime(x.cri, ns, name, &rp, &msg) < 0) {
		kl_sync_error(&x, "runtime: %s", msg);
		return;
	}
	/* Sandboxes of a pod that is gone, or of an older pod with this name. */
	sandbox_kill(&x, &rp, x.uid, 2, false);
	const cJSON *pod = in->pod;
	if (!pod) {
		kl_runtime_pod_clear(&rp);
		return;
	}
	if (ck_json_get(pod, "metadata.deletionTimestamp") &&
	    !cJSON_IsNull(ck_json_get(pod, "metadata.deletionTimestamp"))) {
		int64_t grace =
		    ck_json_get_int(pod, "metadata.deletionGracePeriodSeconds",
		                    ck_json_get_int(pod, "spec.terminationGracePeriodSeconds", 30));
		sandbox_kill(&x, &rp, NULL, grace, true);
		kl_runtime_pod_clear(&rp);
		if (!out->failed) {
			volumes_remove(x.cfg, ns, name, x.uid);
			out->delete_pod = true;
		}
		return;
	}
	sync_running_pod(&x, &rp);
	kl_runtime_pod_clear(&rp);
	sync_status(&x, in->fresh, in->probes, in->n_probes);
}
