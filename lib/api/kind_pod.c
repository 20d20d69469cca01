/* kind_pod: core/v1 Pods: upstream's defaulting (also for workload templates), validation,
 * the status a pod starts with and the printer's READY/STATUS/RESTARTS logic. */
#include "api/kind.h"

#include <stdlib.h>
#include <string.h>

#include "k8s/core.pb-c.h"
#include "api/condition.h"
#include "base/error.h"
#include "base/json.h"

static bool image_is_latest(const char *image)
{
	if (strchr(image, '@'))
		return false;
	const char *slash = strrchr(image, '/');
	const char *colon = strrchr(slash ? slash : image, ':');
	return !colon || !strcmp(colon, ":latest");
}

static void probe_defaults(cJSON *probe)
{
	if (!cJSON_IsObject(probe))
		return;
	kind_default_int(probe, "timeoutSeconds", 1);
	kind_default_int(probe, "periodSeconds", 10);
	kind_default_int(probe, "successThreshold", 1);
	kind_default_int(probe, "failureThreshold", 3);
	cJSON *http = cJSON_GetObjectItemCaseSensitive(probe, "httpGet");
	if (cJSON_IsObject(http)) {
		kind_default_str(http, "path", "/");
		kind_default_str(http, "scheme", "HTTP");
	}
}

static void container_defaults(cJSON *c)
{
	if (!cJSON_IsObject(c))
		return;
	const char *image = ck_json_get_str(c, "image", "");
	kind_default_str(c, "imagePullPolicy", image_is_latest(image) ? "Always" : "IfNotPresent");
	kind_default_str(c, "terminationMessagePath", "/dev/termination-log");
	kind_default_str(c, "terminationMessagePolicy", "File");
	kind_child_object(c, "resources");
	cJSON *port;
	cJSON_ArrayForEach(port, cJSON_GetObjectItemCaseSensitive(c, "ports"))
	{
		if (cJSON_IsObject(port))
			kind_default_str(port, "protocol", "TCP");
	}
	cJSON *env;
	cJSON_ArrayForEach(env, cJSON_GetObjectItemCaseSensitive(c, "env"))
	{
		cJSON *ref = ck_json_get(env, "valueFrom.fieldRef");
		if (cJSON_IsObject(ref))
			kind_default_str(ref, "apiVersion", "v1");
	}
	probe_defaults(cJSON_GetObjectItemCaseSensitive(c, "livenessProbe"));
	probe_defaults(cJSON_GetObjectItemCaseSensitive(c, "readinessProbe"));
	probe_defaults(cJSON_GetObjectItemCaseSensitive(c, "startupProbe"));
}

void kind_pod_spec_defaults(cJSON *spec)
{
	if (!cJSON_IsObject(spec))
		return;
	kind_default_str(spec, "restartPolicy", "Always");
	kind_default_int(spec, "terminationGracePeriodSeconds", 30);
	kind_default_str(spec, "dnsPolicy", "ClusterFirst");
	kind_child_object(spec, "securityContext");
	kind_default_str(spec, "schedulerName", "default-scheduler");
	cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, "containers"))
	{
		container_defaults(c);
	}
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, "initContainers"))
	{
		container_defaults(c);
	}
}

static void pod_defaults(cJSON *pod)
{
	cJSON *spec = kind_child_object(pod, "spec");
	kind_pod_spec_defaults(spec);
	/* The service account, priority and tolerations come from admission plugins. */
	if (!cJSON_GetObjectItemCaseSensitive(spec, "enableServiceLinks"))
		cJSON_AddBoolToObject(spec, "enableServiceLinks", true);
}

static bool resources_empty(const cJSON *c, const char *which)
{
	const cJSON *r = ck_json_get(c, which);
	return !r || !cJSON_IsObject(r) || !r->child;
}

static const char *pod_qos(const cJSON *pod)
{
	bool any = false, guaranteed = true;
	const cJSON *c;
	cJSON_ArrayForEach(c, ck_json_get(pod, "spec.containers"))
	{
		bool req = !resources_empty(c, "resources.requests");
		bool lim = !resources_empty(c, "resources.limits");
		any |= req || lim;
		const cJSON *cpu = ck_json_get(c, "resources.limits.cpu");
		const cJSON *mem = ck_json_get(c, "resources.limits.memory");
		if (!cpu || !mem)
			guaranteed = false;
		const cJSON *rcpu = ck_json_get(c, "resources.requests.cpu");
		const cJSON *rmem = ck_json_get(c, "resources.requests.memory");
		if ((rcpu && !ck_json_equal(rcpu, cpu)) || (rmem && !ck_json_equal(rmem, mem)))
			guaranteed = false;
	}
	if (!any)
		return "BestEffort";
	return guaranteed ? "Guaranteed" : "Burstable";
}

static void pod_create_status(cJSON *pod)
{
	cJSON *status = cJSON_CreateObject();
	cJSON_AddStringToObject(status, "phase", "Pending");
	cJSON_AddStringToObject(status, "qosClass", pod_qos(pod));
	cJSON_DeleteItemFromObjectCaseSensitive(pod, "status");
	cJSON_AddItemToObject(pod, "status", status);
}

static void containers_validate(const cJSON *list, const char *path, bool required,
                                kind_causes *causes)
{
	if (required && cJSON_GetArraySize(list) == 0) {
		kind_cause_required(causes, path);
		return;
	}
	int i = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, list)
	{
		_cleanup_free_ char *p = ck_asprintf("%s[%d]", path, i);
		const char *name = ck_json_get_str(c, "name", "");
		_cleanup_free_ char *pn = ck_asprintf("%s.name", p);
		if (!*name)
			kind_cause_required(causes, pn);
		else if (!kind_dns1123_label(name))
			kind_cause_invalid(causes, pn, name, KIND_DNS1123_LABEL_MSG);
		for (const cJSON *o = list->child; o != c; o = o->next)
			if (*name && !strcmp(ck_json_get_str(o, "name", ""), name))
				kind_cause_add(causes, "FieldValueDuplicate", pn,
				               "Duplicate value: \"%s\"", name);
		if (!*ck_json_get_str(c, "image", "")) {
			_cleanup_free_ char *pi = ck_asprintf("%s.image", p);
			kind_cause_required(causes, pi);
		}
		int j = 0;
		const cJSON *port;
		cJSON_ArrayForEach(port, cJSON_GetObjectItemCaseSensitive(c, "ports"))
		{
			int64_t cp = ck_json_get_int(port, "containerPort", 0);
			if (cp < 1 || cp > 65535) {
				_cleanup_free_ char *pp =
				    ck_asprintf("%s.ports[%d].containerPort", p, j);
				_cleanup_free_ char *v = ck_asprintf("%lld", (long long)cp);
				kind_cause_invalid(causes, pp, v,
				                   "must be between 1 and 65535, inclusive");
			}
			j++;
		}
		i++;
	}
}

void kind_pod_spec_validate(const cJSON *spec, const char *path, kind_causes *causes)
{
	_cleanup_free_ char *pc = ck_asprintf("%s.containers", path);
	containers_validate(ck_json_get(spec, "containers"), pc, true, causes);
	_cleanup_free_ char *pi = ck_asprintf("%s.initContainers", path);
	containers_validate(ck_json_get(spec, "initContainers"), pi, false, causes);
	const char *rp = ck_json_get_str(spec, "restartPolicy", "Always");
	if (strcmp(rp, "Always") && strcmp(rp, "OnFailure") && strcmp(rp, "Never")) {
		_cleanup_free_ char *pr = ck_asprintf("%s.restartPolicy", path);
		kind_cause_add(causes, "FieldValueNotSupported", pr,
		               "Unsupported value: \"%s\": supported values: \"Always\", "
		               "\"OnFailure\", \"Never\"",
		               rp);
	}
}

static void pod_validate(const cJSON *pod, kind_causes *causes)
{
	kind_pod_spec_validate(ck_json_get(pod, "spec"), "spec", causes);
}

/* Puts spec's field (or its absence) into allowed. */
static void take_field(cJSON *allowed, const cJSON *spec, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, field);
	cJSON_DeleteItemFromObjectCaseSensitive(allowed, field);
	if (v)
		cJSON_AddItemToObject(allowed, field, ck_json_dup(v));
}

/* activeDeadlineSeconds may be set, or lowered, never raised or removed. */
static bool deadline_ok(const cJSON *old_spec, const cJSON *spec)
{
	const cJSON *o = ck_json_get(old_spec, "activeDeadlineSeconds");
	const cJSON *n = ck_json_get(spec, "activeDeadlineSeconds");
	if (!o)
		return true;
	return n && ck_json_get_int(spec, "activeDeadlineSeconds", 0) <=
	                ck_json_get_int(old_spec, "activeDeadlineSeconds", 0);
}

/* True when every element of old is still in new: new only adds. */
static bool only_added(const cJSON *old, const cJSON *new)
{
	const cJSON *o, *n;
	cJSON_ArrayForEach(o, old)
	{
		bool kept = false;
		cJSON_ArrayForEach(n, new)
		{
			if (ck_json_equal(o, n)) {
				kept = true;
				break;
			}
		}
		if (!kept)
			return false;
	}
	return true;
}

/* Upstream allows an update to change only container images, activeDeadlineSeconds,
 * tolerations and terminationGracePeriodSeconds of a pod's spec. */
static void pod_validate_update(const cJSON *old, const cJSON *pod, kind_causes *causes)
{
	const cJSON *spec = ck_json_get(pod, "spec");
	_cleanup_json_ cJSON *allowed = ck_json_dup(ck_json_get(old, "spec"));
	if (!cJSON_IsObject(allowed) || !cJSON_IsObject(spec))
		return;
	static const char *const lists[] = {"containers", "initContainers"};
	for (size_t l = 0; l < CK_ARRAY_SIZE(lists); l++) {
		cJSON *a = cJSON_GetObjectItemCaseSensitive(allowed, lists[l]);
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(spec, lists[l]);
		for (int i = 0; i < cJSON_GetArraySize(a) && i < cJSON_GetArraySize(n); i++) {
			const cJSON *image = ck_json_get(cJSON_GetArrayItem(n, i), "image");
			if (image)
				ck_json_set(cJSON_GetArrayItem(a, i), "image", ck_json_dup(image));
		}
	}
	const cJSON *old_spec = ck_json_get(old, "spec");
	if (deadline_ok(old_spec, spec))
		take_field(allowed, spec, "activeDeadlineSeconds");
	if (only_added(ck_json_get(old_spec, "tolerations"), ck_json_get(spec, "tolerations")))
		take_field(allowed, spec, "tolerations");
	/* A negative grace period (once allowed) may only become 1. */
	if (ck_json_get_int(old_spec, "terminationGracePeriodSeconds", 30) < 0 &&
	    ck_json_get_int(spec, "terminationGracePeriodSeconds", 30) == 1)
		take_field(allowed, spec, "terminationGracePeriodSeconds");
	if (!ck_json_equal(allowed, spec))
		kind_cause_add(
		    causes, "FieldValueForbidden", "spec",
		    "Forbidden: pod updates may not change fields other than "
		    "`spec.containers[*].image`,`spec.initContainers[*].image`,"
		    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
		    "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to "
		    "be set to 1 if it was previously negative)");
}

static const cJSON *state_of(const cJSON *cs, const char *state)
{
	const cJSON *s = ck_json_get(cs, "state");
	const cJSON *v = s ? cJSON_GetObjectItemCaseSensitive(s, state) : NULL;
	return cJSON_IsObject(v) ? v : NULL;
}

static char *terminated_reason(const cJSON *t, const char *prefix)
{
	const char *reason = kind_str(t, "reason");
	if (*reason)
		return ck_asprintf("%s%s", prefix, reason);
	long long sig = ck_json_get_int(t, "signal", 0);
	if (sig)
		return ck_asprintf("%sSignal:%lld", prefix, sig);
	return ck_asprintf("%sExitCode:%lld", prefix, (long long)ck_json_get_int(t, "exitCode", 0));
}

/* The STATUS column as upstream's printer derives it from phase, reasons and container
 * states. Sets *ready and *restarts and the newest restart time (seconds, 0 when none). */
static char *pod_reason(const cJSON *pod, int *ready, long long *restarts, time_t *last_restart)
{
	const char *phase = kind_str(pod, "status.phase");
	const char *sreason = kind_str(pod, "status.reason");
	char *reason = ck_strdup(*sreason ? sreason : phase);
	*ready = 0;
	*restarts = 0;
	*last_restart = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, ck_json_get(pod, "status.conditions"))
	{
		if (!strcmp(kind_str(c, "type"), "PodScheduled") &&
		    !strcmp(kind_str(c, "reason"), "SchedulingGated")) {
			free(reason);
			reason = ck_strdup("SchedulingGated");
		}
	}
	bool initializing = false;
	const cJSON *inits = ck_json_get(pod, "status.initContainerStatuses");
	int n_init_spec = cJSON_GetArraySize(ck_json_get(pod, "spec.initContainers"));
	int i = 0;
	cJSON_ArrayForEach(c, inits)
	{
		*restarts += ck_json_get_int(c, "restartCount", 0);
		const cJSON *term = state_of(c, "terminated");
		const cJSON *wait = state_of(c, "waiting");
		if (term && ck_json_get_int(term, "exitCode", 0) == 0) {
			i++;
			continue;
		}
		free(reason);
		if (term)
			reason = terminated_reason(term, "Init:");
		else if (wait && *kind_str(wait, "reason") &&
		         strcmp(kind_str(wait, "reason"), "PodInitializing"))
			reason = ck_asprintf("Init:%s", kind_str(wait, "reason"));
		else
			reason = ck_asprintf("Init:%d/%d", i, n_init_spec);
		initializing = true;
		break;
	}
	if (!initializing || condition_true(pod, "Initialized")) {
		*restarts = 0;
		bool running = false;
		const cJSON *list = ck_json_get(pod, "status.containerStatuses");
		for (int k = cJSON_GetArraySize(list) - 1; k >= 0; k--) {
			c = cJSON_GetArrayItem(list, k);
			*restarts += ck_json_get_int(c, "restartCount", 0);
			const cJSON *wait = state_of(c, "waiting");
			const cJSON *term = state_of(c, "terminated");
			const cJSON *last = ck_json_get(c, "lastState.terminated");
			struct timespec ts;
			if (last && !ck_time_parse_rfc3339(kind_str(last, "finishedAt"), &ts) &&
			    ts.tv_sec > *last_restart)
				*last_restart = ts.tv_sec;
			if (wait && *kind_str(wait, "reason")) {
				free(reason);
				reason = ck_strdup(kind_str(wait, "reason"));
			} else if (term) {
				free(reason);
				reason = terminated_reason(term, "");
			} else if (ck_json_get_bool(c, "ready", false) && state_of(c, "running")) {
				running = true;
				(*ready)++;
			}
		}
		if (!strcmp(reason, "Completed") && running) {
			free(reason);
			reason = ck_strdup(condition_true(pod, "Ready") ? "Running" : "NotReady");
		}
	}
	if (ck_json_get(pod, "metadata.deletionTimestamp")) {
		if (!strcmp(sreason, "NodeLost")) {
			free(reason);
			reason = ck_strdup("Unknown");
		} else if (strcmp(phase, "Succeeded") && strcmp(phase, "Failed")) {
			free(reason);
			reason = ck_strdup("Terminating");
		}
	}
	return reason;
}

static void pod_cells(const cJSON *pod, time_t now, cJSON *row)
{
	int ready;
	long long restarts;
	time_t last_restart;
	_cleanup_free_ char *reason = pod_reason(pod, &ready, &restarts, &last_restart);
	kind_cell_str(row, kind_str(pod, "metadata.name"));
	kind_cell_take(row, ck_asprintf("%d/%d", ready,
	                                cJSON_GetArraySize(ck_json_get(pod, "spec.containers"))));
	kind_cell_str(row, reason);
	if (restarts && last_restart) {
		_cleanup_free_ char *when =
		    ck_time_rfc3339(&(struct timespec){last_restart, 0}, false);
		_cleanup_free_ char *ago = kind_age(when, now);
		kind_cell_take(row, ck_asprintf("%lld (%s ago)", restarts, ago));
	} else {
		kind_cell_take(row, ck_asprintf("%lld", restarts));
	}
	kind_cell_take(row, kind_age(kind_str(pod, "metadata.creationTimestamp"), now));
	kind_cell_none(row, kind_str(pod, "status.podIP"));
	kind_cell_none(row, kind_str(pod, "spec.nodeName"));
	kind_cell_none(row, kind_str(pod, "status.nominatedNodeName"));
	const cJSON *gates = ck_json_get(pod, "spec.readinessGates");
	int n_gates = cJSON_GetArraySize(gates), true_gates = 0;
	const cJSON *g;
	cJSON_ArrayForEach(g, gates)
	{
		if (condition_true(pod, kind_str(g, "conditionType")))
			true_gates++;
	}
	if (n_gates)
		kind_cell_take(row, ck_asprintf("%d/%d", true_gates, n_gates));
	else
		kind_cell_none(row, NULL);
}

/* ---- delete and binding ---- */

/* Pods bound to a node and not terminal wait for their kubelet to stop them; the others
 * go at once. */
static int64_t pod_grace_period(const cJSON *pod, int64_t requested)
{
	const char *phase = kind_str(pod, "status.phase");
	if (!*kind_str(pod, "spec.nodeName") || !strcmp(phase, "Succeeded") ||
	    !strcmp(phase, "Failed"))
		return 0;
	if (requested >= 0)
		return requested;
	return ck_json_get_int(pod, "spec.terminationGracePeriodSeconds", 30);
}

static void binding_validate(const cJSON *binding, kind_causes *causes)
{
	if (!*kind_str(binding, "target.name"))
		kind_cause_required(causes, "target.name");
}

/* A Binding assigns an unbound pod to target.name, with the binding's annotations. */
static cJSON *binding_apply(const cJSON *pod, const cJSON *binding, const char *name,
                            kind_sub_conflict *c)
{
	const char *bound_to = kind_str(pod, "spec.nodeName");
	if (*bound_to) {
		c->why = ck_asprintf("pod %s is already assigned to node \"%s\"", name, bound_to);
		return NULL;
	}
	if (ck_json_get(pod, "metadata.deletionTimestamp")) {
		c->why = ck_asprintf("pod %s is being deleted, cannot be assigned to a host", name);
		return NULL;
	}
	cJSON *next = ck_json_dup(pod);
	ck_json_set_str(next, "spec.nodeName", kind_str(binding, "target.name"));
	const cJSON *a;
	cJSON_ArrayForEach(a, ck_json_get(binding, "metadata.annotations"))
	{
		cJSON *ann = kind_child_object(kind_child_object(next, "metadata"), "annotations");
		cJSON_DeleteItemFromObjectCaseSensitive(ann, a->string);
		cJSON_AddItemToObject(ann, a->string, ck_json_dup(a));
	}
	_cleanup_free_ char *now = ck_time_now_rfc3339(false);
	condition_set(next, "PodScheduled", "True", NULL, NULL, now, true);
	return next;
}

static const char *const create_verb[] = {"create", NULL};
static const char *const get_verb[] = {"get", NULL};
static const kind_subresource pod_subs[] = {
    {.name = "binding",
     .group = "",
     .version = "v1",
     .kind = "Binding",
     .verbs = create_verb,
     .type = KIND_SUB_CREATE,
     .validate = binding_validate,
     .apply = binding_apply},
    {.name = "log", .verbs = get_verb, .type = KIND_SUB_NODE_LOG},
    KIND_SUB_STATUS,
};

static const kind_column pod_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Ready", "string", "", 0, "The aggregate readiness state of this pod for accepting traffic."},
    {"Status", "string", "", 0, "The aggregate status of the containers in this pod."},
    {"Restarts", "string", "", 0,
     "The number of times the containers in this pod have been restarted and when the last "
     "container in this pod has restarted."},
    {"Age", "string", "", 0, "Time since the object was created."},
    {"IP", "string", "", 1, "IP address allocated to the pod."},
    {"Node", "string", "", 1, "Name of the node the pod is assigned to."},
    {"Nominated Node", "string", "", 1, "Node the scheduler nominated for preemption."},
    {"Readiness Gates", "string", "", 1, "Readiness gates that hold."},
};

static const char *const pod_short[] = {"po", NULL};
static const char *const pod_fields[] = {"spec.nodeName",
                                         "spec.restartPolicy",
                                         "spec.schedulerName",
                                         "spec.serviceAccountName",
                                         "spec.hostNetwork",
                                         "status.phase",
                                         "status.podIP",
                                         "status.nominatedNodeName",
                                         NULL};

const kind_desc kind_pod = {.group = "",
                            .version = "v1",
                            .kind = "Pod",
                            .plural = "pods",
                            .singular = "pod",
                            .short_names = pod_short,
                            .categories = kind_category_all,
                            .namespaced = true,
                            .etcd_resource = "pods",
                            .subresources = KIND_SUBRESOURCES(pod_subs),
                            .grace_period = pod_grace_period,
                            .field_labels = pod_fields,
                            .columns = KIND_COLUMNS(pod_columns),
                            .cells = pod_cells,
                            .defaults = pod_defaults,
                            .validate = pod_validate,
                            .validate_update = pod_validate_update,
                            .create_status = pod_create_status,
                            .pb = &k8s__io__api__core__v1__pod__descriptor};
