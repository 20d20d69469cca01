/* pod_status: the PodStatus of a pod from its spec and the runtime's view, following
 * upstream's computation (kubelet_pods.go getPhase / convertToAPIContainerStatuses):
 *   - a container's state: running{startedAt} / terminated{exitCode, reason, startedAt,
 *     finishedAt, containerID} / waiting{reason, message}; lastState: the instance before;
 *   - restartCount: the current instance's attempt number;
 *   - phase: Pending while a container waits without having run, Running while one runs
 *     (or all stopped and they will restart), Succeeded / Failed once all stopped for good;
 *   - conditions PodScheduled, Initialized, ContainersReady, Ready, keeping the
 *     lastTransitionTime of a condition whose status did not change.
 * Pure: no I/O, so it is unit-tested directly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/condition.h"
#include "base/json.h"
#include "base/strbuf.h"
#include "kubelet.h"

char *kl_time_ns(int64_t ns)
{
	struct timespec t = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
	return ck_time_rfc3339(&t, false);
}

void kl_runtime_pod_clear(kl_runtime_pod *rp)
{
	cri_sandboxes_free(rp->sandboxes, rp->n_sandboxes);
	cri_containers_free(rp->containers, rp->n_containers);
	memset(rp, 0, sizeof(*rp));
}

static bool newer(const cri_container *a, const cri_container *b)
{
	if (a->attempt != b->attempt)
		return a->attempt > b->attempt;
	return a->created_at > b->created_at;
}

const cri_container *pod_status_current(const kl_runtime_pod *rp, const char *uid, const char *name,
                                        const cri_container **prev)
{
	const cri_container *cur = NULL, *before = NULL;
	for (size_t i = 0; i < rp->n_containers; i++) {
		const cri_container *c = &rp->containers[i];
		const char *cuid = cri_kv_get(c->labels, KL_LABEL_POD_UID);
		if (!c->name || strcmp(c->name, name) || (uid && (!cuid || strcmp(cuid, uid))))
			continue;
		if (!cur || newer(c, cur)) {
			before = cur;
			cur = c;
		} else if (!before || newer(c, before)) {
			before = c;
		}
	}
	if (prev)
		*prev = before;
	return cur;
}

static const kl_waiting *waiting_for(const kl_waiting *w, const char *name)
{
	for (; w; w = w->next)
		if (!strcmp(w->container, name))
			return w;
	return NULL;
}

static const char *terminated_reason(const cri_container *c)
{
	if (c->reason && *c->reason)
		return c->reason;
	return c->exit_code == 0 ? "Completed" : "Error";
}

static cJSON *terminated_json(const cri_container *c)
{
	cJSON *t = cJSON_CreateObject();
	cJSON_AddNumberToObject(t, "exitCode", c->exit_code);
	cJSON_AddStringToObject(t, "reason", terminated_reason(c));
	if (c->message && *c->message)
		cJSON_AddStringToObject(t, "message", c->message);
	_cleanup_free_ char *st = kl_time_ns(c->started_at);
	_cleanup_free_ char *fin = kl_time_ns(c->finished_at);
	cJSON_AddStringToObject(t, "startedAt", st);
	cJSON_AddStringToObject(t, "finishedAt", fin);
	_cleanup_free_ char *id = ck_asprintf("containerd://%s", c->id);
	cJSON_AddStringToObject(t, "containerID", id);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "terminated", t);
	return o;
}

static cJSON *waiting_json(const char *reason, const char *message)
{
	cJSON *wj = cJSON_CreateObject();
	cJSON_AddStringToObject(wj, "reason", reason);
	if (message && *message)
		cJSON_AddStringToObject(wj, "message", message);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "waiting", wj);
	return o;
}

/* Counters of getPhase. */
typedef struct phase_counts {
	int running, waiting, stopped, succeeded, failed, unknown;
} phase_counts;

/* The containerStatus of one spec container; updates the counts. */
static cJSON *container_status(const cJSON *spec, const char *uid, const kl_runtime_pod *rp,
                               const kl_waiting *w, const char *default_reason, bool init,
                               phase_counts *pc, bool *ready)
{
	const char *name = ck_json_get_str(spec, "name", "");
	const cri_container *prev = NULL;
	const cri_container *cur = pod_status_current(rp, uid, name, &prev);
	const kl_waiting *wt = waiting_for(w, name);
	cJSON *cs = cJSON_CreateObject();
	cJSON_AddStringToObject(cs, "name", name);
	cJSON *state = NULL, *last = NULL;
	*ready = false;
	bool started = false;
	if (cur && cur->state == CRI_CONTAINER_RUNNING) {
		const kl_probe_result *pr = NULL;
		for (size_t i = 0; i < rp->n_probes; i++)
			if (!strcmp(rp->probes[i].cid, cur->id))
				pr = &rp->probes[i];
		bool startup_ok = !ck_json_get(spec, "startupProbe") || (pr && pr->started == 1);
		bool ready_ok = !ck_json_get(spec, "readinessProbe") || (pr && pr->ready == 1);
		cJSON *r = cJSON_CreateObject();
		_cleanup_free_ char *st = kl_time_ns(cur->started_at);
		cJSON_AddStringToObject(r, "startedAt", st);
		state = cJSON_CreateObject();
		cJSON_AddItemToObject(state, "running", r);
		if (prev && prev->state == CRI_CONTAINER_EXITED)
			last = terminated_json(prev);
		/* an init container is ready once it completed */
		*ready = !init && startup_ok && ready_ok;
		started = startup_ok;
		pc->running++;
	} else if (cur && cur->state == CRI_CONTAINER_EXITED) {
		if (wt) {
			/* Waiting to be restarted: the exited instance becomes the last state. */
			state = waiting_json(wt->reason, wt->message);
			last = terminated_json(cur);
		} else {
			state = terminated_json(cur);
			if (prev && prev->state == CRI_CONTAINER_EXITED)
				last = terminated_json(prev);
		}
		pc->stopped++;
		if (cur->exit_code == 0)
			pc->succeeded++;
		else
			pc->failed++;
		*ready = init && cur->exit_code == 0 && !wt;
	} else if (cur && cur->state == CRI_CONTAINER_UNKNOWN) {
		state = waiting_json(wt ? wt->reason : default_reason, wt ? wt->message : NULL);
		pc->unknown++;
	} else {
		/* Created but not started, or not created yet. */
		state = waiting_json(wt ? wt->reason : default_reason, wt ? wt->message : NULL);
		if (prev && prev->state == CRI_CONTAINER_EXITED) {
			last = terminated_json(prev);
			pc->stopped++;
			if (prev->exit_code == 0)
				pc->succeeded++;
			else
				pc->failed++;
		} else {
			pc->waiting++;
		}
	}
	cJSON_AddItemToObject(cs, "state", state);
	cJSON_AddItemToObject(cs, "lastState", last ? last : cJSON_CreateObject());
	cJSON_AddBoolToObject(cs, "ready", *ready);
	cJSON_AddNumberToObject(cs, "restartCount", cur ? cur->attempt : 0);
	cJSON_AddStringToObject(cs, "image", ck_json_get_str(spec, "image", ""));
	cJSON_AddStringToObject(cs, "imageID", cur && cur->image_ref ? cur->image_ref : "");
	if (cur) {
		_cleanup_free_ char *id = ck_asprintf("containerd://%s", cur->id);
		cJSON_AddStringToObject(cs, "containerID", id);
	}
	cJSON_AddBoolToObject(cs, "started", started);
	return cs;
}

static const char *phase_of(const char *restart_policy, const phase_counts *pc)
{
	if (pc->waiting > 0)
		return "Pending";
	if (pc->running > 0 && pc->unknown == 0)
		return "Running";
	if (pc->running == 0 && pc->stopped > 0 && pc->unknown == 0) {
		if (!strcmp(restart_policy, "Always"))
			return "Running";
		if (pc->stopped == pc->succeeded)
			return "Succeeded";
		if (!strcmp(restart_policy, "Never"))
			return "Failed";
		return "Running";
	}
	return "Pending";
}

/* The statuses of spec.containers (init false) or spec.initContainers (init true); the
 * names of those not ready go to unready. */
static cJSON *container_statuses(const cJSON *pod, const kl_runtime_pod *rp, const kl_waiting *w,
                                 bool init, const char *default_reason, phase_counts *pc,
                                 ck_buf *unready)
{
	const char *uid = ck_json_get_str(pod, "metadata.uid", NULL);
	cJSON *arr = cJSON_CreateArray();
	const cJSON *c;
	cJSON_ArrayForEach(c, ck_json_get(pod, init ? "spec.initContainers" : "spec.containers"))
	{
		bool ready;
		cJSON_AddItemToArray(
		    arr, container_status(c, uid, rp, w, default_reason, init, pc, &ready));
		if (!ready) {
			if (unready->len)
				ck_buf_putc(unready, ' ');
			ck_buf_puts(unready, ck_json_get_str(c, "name", ""));
		}
	}
	return arr;
}

/* Init containers: whether all completed, and whether one failed for good. */
typedef struct init_state {
	bool initialized, failed;
	cJSON *statuses;
	ck_buf incomplete;
} init_state;

static void init_compute(const cJSON *pod, const kl_runtime_pod *rp, const kl_waiting *w,
                         init_state *is)
{
	phase_counts ipc = {0};
	is->statuses =
	    container_statuses(pod, rp, w, true, "PodInitializing", &ipc, &is->incomplete);
	is->initialized = is->incomplete.len == 0;
	is->failed = ipc.failed > 0 &&
	             !strcmp(ck_json_get_str(pod, "spec.restartPolicy", "Always"), "Never");
}

static const char *phase_with_init(const cJSON *pod, const init_state *is, const phase_counts *pc)
{
	if (is->failed)
		return "Failed";
	if (!is->initialized)
		return "Pending";
	return phase_of(ck_json_get_str(pod, "spec.restartPolicy", "Always"), pc);
}

const char *pod_status_phase(const cJSON *pod, const kl_runtime_pod *rp, const kl_waiting *w)
{
	phase_counts pc = {0};
	init_state is = {0};
	init_compute(pod, rp, w, &is);
	_cleanup_(ck_buf_free) ck_buf unready = {0};
	cJSON *arr = container_statuses(pod, rp, w, false, "ContainerCreating", &pc, &unready);
	cJSON_Delete(arr);
	const char *phase = phase_with_init(pod, &is, &pc);
	cJSON_Delete(is.statuses);
	ck_buf_free(&is.incomplete);
	return phase;
}

/* A condition, keeping the old lastTransitionTime when its status is unchanged. */
static cJSON *condition(const cJSON *old_status, const char *type, bool status, const char *reason,
                        const char *message, const char *now)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", type);
	cJSON_AddStringToObject(c, "status", status ? "True" : "False");
	cJSON_AddStringToObject(c, "lastTransitionTime",
	                        condition_since(ck_json_get(old_status, "conditions"), type,
	                                        status ? "True" : "False", now));
	if (reason)
		cJSON_AddStringToObject(c, "reason", reason);
	if (message)
		cJSON_AddStringToObject(c, "message", message);
	return c;
}

/* The sandbox whose IP the pod reports: the newest ready one, else the newest. */
static const cri_sandbox *current_sandbox(const kl_runtime_pod *rp, const char *uid)
{
	const cri_sandbox *best = NULL;
	for (size_t i = 0; i < rp->n_sandboxes; i++) {
		const cri_sandbox *s = &rp->sandboxes[i];
		if (uid && (!s->uid || strcmp(s->uid, uid)))
			continue;
		if (!best || (s->state == CRI_SANDBOX_READY && best->state != CRI_SANDBOX_READY) ||
		    (s->state == best->state && s->attempt > best->attempt))
			best = s;
	}
	return best;
}

static cJSON *ips_json(const char *ip)
{
	cJSON *arr = cJSON_CreateArray();
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "ip", ip);
	cJSON_AddItemToArray(arr, o);
	return arr;
}

cJSON *pod_status_compute(const cJSON *pod, const kl_runtime_pod *rp, const kl_waiting *w,
                          const char *host_ip, const struct timespec *now)
{
	const cJSON *old = ck_json_get(pod, "status");
	_cleanup_free_ char *now_s = ck_time_rfc3339(now, false);
	phase_counts pc = {0};
	init_state is = {0};
	init_compute(pod, rp, w, &is);
	_cleanup_(ck_buf_free) ck_buf unready = {0};
	cJSON *cstat = container_statuses(pod, rp, w, false,
	                                  is.initialized ? "ContainerCreating" : "PodInitializing",
	                                  &pc, &unready);
	const char *phase = phase_with_init(pod, &is, &pc);

	cJSON *st = cJSON_CreateObject();
	cJSON_AddStringToObject(st, "phase", phase);
	cJSON *conds = cJSON_CreateArray();
	bool all_ready = unready.len == 0;
	_cleanup_free_ char *msg =
	    all_ready ? NULL : ck_asprintf("containers with unready status: [%s]", unready.s);
	const char *reason = all_ready ? NULL : "ContainersNotReady";
	if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")) {
		all_ready = false;
		reason = "PodCompleted";
		free(msg);
		msg = NULL;
	}
	_cleanup_free_ char *imsg =
	    is.initialized
	        ? NULL
	        : ck_asprintf("containers with incomplete status: [%s]", is.incomplete.s);
	cJSON_AddItemToArray(conds, condition(old, "Initialized", is.initialized,
	                                      is.initialized ? NULL : "ContainersNotInitialized",
	                                      imsg, now_s));
	cJSON_AddItemToArray(conds, condition(old, "Ready", all_ready, reason, msg, now_s));
	cJSON_AddItemToArray(conds,
	                     condition(old, "ContainersReady", all_ready, reason, msg, now_s));
	cJSON_AddItemToArray(conds, condition(old, "PodScheduled", true, NULL, NULL, now_s));
	cJSON_AddItemToObject(st, "conditions", conds);
	if (host_ip) {
		cJSON_AddStringToObject(st, "hostIP", host_ip);
		cJSON_AddItemToObject(st, "hostIPs", ips_json(host_ip));
	}
	const char *uid = ck_json_get_str(pod, "metadata.uid", NULL);
	const cri_sandbox *sb = current_sandbox(rp, uid);
	const char *pod_ip = NULL;
	if (ck_json_get_bool(pod, "spec.hostNetwork", false))
		pod_ip = host_ip;
	else if (sb && sb->ip)
		pod_ip = sb->ip;
	else
		pod_ip = ck_json_get_str(old, "podIP", NULL); /* keep it after the sandbox stops */
	if (pod_ip) {
		cJSON_AddStringToObject(st, "podIP", pod_ip);
		cJSON *ips = ips_json(pod_ip);
		for (size_t i = 0; sb && !ck_json_get_bool(pod, "spec.hostNetwork", false) &&
		                   sb->additional_ips && sb->additional_ips[i];
		     i++) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "ip", sb->additional_ips[i]);
			cJSON_AddItemToArray(ips, o);
		}
		cJSON_AddItemToObject(st, "podIPs", ips);
	}
	cJSON_AddStringToObject(st, "startTime", ck_json_get_str(old, "startTime", now_s));
	if (cJSON_GetArraySize(is.statuses) > 0)
		cJSON_AddItemToObject(st, "initContainerStatuses", is.statuses);
	else
		cJSON_Delete(is.statuses);
	ck_buf_free(&is.incomplete);
	cJSON_AddItemToObject(st, "containerStatuses", cstat);
	const char *qos = ck_json_get_str(old, "qosClass", NULL);
	if (qos)
		cJSON_AddStringToObject(st, "qosClass", qos);
	return st;
}
