/* kind_core: the core group (v1): namespaces, nodes, pods, events, configmaps, secrets. */
#include "api/kind.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/json.h"

static const char *str_at(const cJSON *o, const char *path)
{
	return ck_json_get_str(o, path, "");
}

static void set_default_str(cJSON *o, const char *key, const char *val)
{
	if (!cJSON_GetObjectItemCaseSensitive(o, key))
		cJSON_AddStringToObject(o, key, val);
}

static void set_default_int(cJSON *o, const char *key, long long val)
{
	if (!cJSON_GetObjectItemCaseSensitive(o, key))
		cJSON_AddNumberToObject(o, key, (double)val);
}

static cJSON *child_object(cJSON *o, const char *key)
{
	cJSON *c = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsObject(c)) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, key);
		c = cJSON_AddObjectToObject(o, key);
	}
	return c;
}

/* ---- Pod ---- */

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
	set_default_int(probe, "timeoutSeconds", 1);
	set_default_int(probe, "periodSeconds", 10);
	set_default_int(probe, "successThreshold", 1);
	set_default_int(probe, "failureThreshold", 3);
	cJSON *http = cJSON_GetObjectItemCaseSensitive(probe, "httpGet");
	if (cJSON_IsObject(http)) {
		set_default_str(http, "path", "/");
		set_default_str(http, "scheme", "HTTP");
	}
}

static void container_defaults(cJSON *c)
{
	if (!cJSON_IsObject(c))
		return;
	const char *image = ck_json_get_str(c, "image", "");
	set_default_str(c, "imagePullPolicy", image_is_latest(image) ? "Always" : "IfNotPresent");
	set_default_str(c, "terminationMessagePath", "/dev/termination-log");
	set_default_str(c, "terminationMessagePolicy", "File");
	child_object(c, "resources");
	cJSON *port;
	cJSON_ArrayForEach(port, cJSON_GetObjectItemCaseSensitive(c, "ports"))
	{
		if (cJSON_IsObject(port))
			set_default_str(port, "protocol", "TCP");
	}
	cJSON *env;
	cJSON_ArrayForEach(env, cJSON_GetObjectItemCaseSensitive(c, "env"))
	{
		cJSON *ref = ck_json_get(env, "valueFrom.fieldRef");
		if (cJSON_IsObject(ref))
			set_default_str(ref, "apiVersion", "v1");
	}
	probe_defaults(cJSON_GetObjectItemCaseSensitive(c, "livenessProbe"));
	probe_defaults(cJSON_GetObjectItemCaseSensitive(c, "readinessProbe"));
	probe_defaults(cJSON_GetObjectItemCaseSensitive(c, "startupProbe"));
}

static void add_toleration(cJSON *spec, const char *key)
{
	cJSON *tols = cJSON_GetObjectItemCaseSensitive(spec, "tolerations");
	if (!cJSON_IsArray(tols)) {
		cJSON_DeleteItemFromObjectCaseSensitive(spec, "tolerations");
		tols = cJSON_AddArrayToObject(spec, "tolerations");
	}
	cJSON *t;
	cJSON_ArrayForEach(t, tols)
	{
		const char *k = ck_json_get_str(t, "key", "");
		const char *effect = ck_json_get_str(t, "effect", "");
		if (!strcmp(k, key) && (!*effect || !strcmp(effect, "NoExecute")))
			return;
	}
	t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "key", key);
	cJSON_AddStringToObject(t, "operator", "Exists");
	cJSON_AddStringToObject(t, "effect", "NoExecute");
	cJSON_AddNumberToObject(t, "tolerationSeconds", 300);
	cJSON_AddItemToArray(tols, t);
}

void kind_pod_spec_defaults(cJSON *spec)
{
	if (!cJSON_IsObject(spec))
		return;
	set_default_str(spec, "restartPolicy", "Always");
	set_default_int(spec, "terminationGracePeriodSeconds", 30);
	set_default_str(spec, "dnsPolicy", "ClusterFirst");
	child_object(spec, "securityContext");
	set_default_str(spec, "schedulerName", "default-scheduler");
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
	cJSON *spec = child_object(pod, "spec");
	kind_pod_spec_defaults(spec);
	/* What upstream's admission adds to every pod: service account, priority and the
	 * not-ready/unreachable tolerations. */
	set_default_str(spec, "serviceAccountName", "default");
	set_default_str(spec, "serviceAccount",
	                ck_json_get_str(spec, "serviceAccountName", "default"));
	if (!cJSON_GetObjectItemCaseSensitive(spec, "enableServiceLinks"))
		cJSON_AddBoolToObject(spec, "enableServiceLinks", true);
	set_default_int(spec, "priority", 0);
	set_default_str(spec, "preemptionPolicy", "PreemptLowerPriority");
	add_toleration(spec, "node.kubernetes.io/not-ready");
	add_toleration(spec, "node.kubernetes.io/unreachable");
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

static const cJSON *state_of(const cJSON *cs, const char *state)
{
	const cJSON *s = ck_json_get(cs, "state");
	const cJSON *v = s ? cJSON_GetObjectItemCaseSensitive(s, state) : NULL;
	return cJSON_IsObject(v) ? v : NULL;
}

static bool has_condition(const cJSON *pod, const char *type, bool need_true)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, ck_json_get(pod, "status.conditions"))
	{
		if (!strcmp(str_at(c, "type"), type))
			return !need_true || !strcmp(str_at(c, "status"), "True");
	}
	return false;
}

static char *terminated_reason(const cJSON *t, const char *prefix)
{
	const char *reason = str_at(t, "reason");
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
	const char *phase = str_at(pod, "status.phase");
	const char *sreason = str_at(pod, "status.reason");
	char *reason = ck_strdup(*sreason ? sreason : phase);
	*ready = 0;
	*restarts = 0;
	*last_restart = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, ck_json_get(pod, "status.conditions"))
	{
		if (!strcmp(str_at(c, "type"), "PodScheduled") &&
		    !strcmp(str_at(c, "reason"), "SchedulingGated")) {
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
		else if (wait && *str_at(wait, "reason") &&
		         strcmp(str_at(wait, "reason"), "PodInitializing"))
			reason = ck_asprintf("Init:%s", str_at(wait, "reason"));
		else
			reason = ck_asprintf("Init:%d/%d", i, n_init_spec);
		initializing = true;
		break;
	}
	if (!initializing || has_condition(pod, "Initialized", true)) {
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
			if (last && !ck_time_parse_rfc3339(str_at(last, "finishedAt"), &ts) &&
			    ts.tv_sec > *last_restart)
				*last_restart = ts.tv_sec;
			if (wait && *str_at(wait, "reason")) {
				free(reason);
				reason = ck_strdup(str_at(wait, "reason"));
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
			reason =
			    ck_strdup(has_condition(pod, "Ready", true) ? "Running" : "NotReady");
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
	kind_cell_str(row, str_at(pod, "metadata.name"));
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
	kind_cell_take(row, kind_age(str_at(pod, "metadata.creationTimestamp"), now));
	kind_cell_none(row, str_at(pod, "status.podIP"));
	kind_cell_none(row, str_at(pod, "spec.nodeName"));
	kind_cell_none(row, str_at(pod, "status.nominatedNodeName"));
	const cJSON *gates = ck_json_get(pod, "spec.readinessGates");
	int n_gates = cJSON_GetArraySize(gates), true_gates = 0;
	const cJSON *g;
	cJSON_ArrayForEach(g, gates)
	{
		if (has_condition(pod, str_at(g, "conditionType"), true))
			true_gates++;
	}
	if (n_gates)
		kind_cell_take(row, ck_asprintf("%d/%d", true_gates, n_gates));
	else
		kind_cell_none(row, NULL);
}

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

/* ---- Node ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *node_roles(const cJSON *node)
{
	const char *roles[32];
	size_t n = 0;
	const cJSON *l;
	cJSON_ArrayForEach(l, ck_json_get(node, "metadata.labels"))
	{
		const char *role = NULL;
		static const char prefix[] = "node-role.kubernetes.io/";
		if (!strncmp(l->string, prefix, sizeof(prefix) - 1))
			role = l->string + sizeof(prefix) - 1;
		else if (!strcmp(l->string, "kubernetes.io/role") && cJSON_IsString(l))
			role = l->valuestring;
		if (role && *role && n < CK_ARRAY_SIZE(roles))
			roles[n++] = role;
	}
	qsort(roles, n, sizeof(roles[0]), cmp_str);
	char *out = ck_strdup("");
	for (size_t i = 0; i < n; i++) {
		if (i && !strcmp(roles[i], roles[i - 1]))
			continue;
		char *next = ck_asprintf("%s%s%s", out, *out ? "," : "", roles[i]);
		free(out);
		out = next;
	}
	return out;
}

static const char *node_address(const cJSON *node, const char *type)
{
	const cJSON *a;
	cJSON_ArrayForEach(a, ck_json_get(node, "status.addresses"))
	{
		if (!strcmp(str_at(a, "type"), type))
			return str_at(a, "address");
	}
	return "";
}

static void node_cells(const cJSON *node, time_t now, cJSON *row)
{
	const char *status = "Unknown";
	const cJSON *c;
	cJSON_ArrayForEach(c, ck_json_get(node, "status.conditions"))
	{
		if (!strcmp(str_at(c, "type"), "Ready"))
			status = strcmp(str_at(c, "status"), "True") ? "NotReady" : "Ready";
	}
	kind_cell_str(row, str_at(node, "metadata.name"));
	if (ck_json_get_bool(node, "spec.unschedulable", false))
		kind_cell_take(row, ck_asprintf("%s,SchedulingDisabled", status));
	else
		kind_cell_str(row, status);
	kind_cell_take(row, node_roles(node));
	kind_cell_take(row, kind_age(str_at(node, "metadata.creationTimestamp"), now));
	kind_cell_str(row, str_at(node, "status.nodeInfo.kubeletVersion"));
	kind_cell_none(row, node_address(node, "InternalIP"));
	kind_cell_none(row, node_address(node, "ExternalIP"));
	static const char *const info[] = {"status.nodeInfo.osImage",
	                                   "status.nodeInfo.kernelVersion",
	                                   "status.nodeInfo.containerRuntimeVersion"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(info); i++) {
		const char *v = str_at(node, info[i]);
		kind_cell_str(row, *v ? v : "<unknown>");
	}
}

static const kind_column node_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Status", "string", "", 0, "The status of the node"},
    {"Roles", "string", "", 0, "The roles of the node"},
    {"Age", "string", "", 0, "Time since the object was created."},
    {"Version", "string", "", 0, "Kubelet Version reported by the node."},
    {"Internal-IP", "string", "", 1, "List of internal IPs in the node."},
    {"External-IP", "string", "", 1, "List of external IPs in the node."},
    {"OS-Image", "string", "", 1, "OS Image reported by the node."},
    {"Kernel-Version", "string", "", 1, "Kernel Version reported by the node."},
    {"Container-Runtime", "string", "", 1, "Container Runtime Version reported by the node."},
};

/* ---- Namespace ---- */

static void namespace_defaults(cJSON *ns)
{
	cJSON *spec = child_object(ns, "spec");
	if (!cJSON_GetObjectItemCaseSensitive(spec, "finalizers")) {
		cJSON *f = cJSON_AddArrayToObject(spec, "finalizers");
		cJSON_AddItemToArray(f, cJSON_CreateString("kubernetes"));
	}
}

static void namespace_create_status(cJSON *ns)
{
	cJSON_DeleteItemFromObjectCaseSensitive(ns, "status");
	cJSON *status = cJSON_AddObjectToObject(ns, "status");
	cJSON_AddStringToObject(status, "phase", "Active");
}

static void namespace_cells(const cJSON *ns, time_t now, cJSON *row)
{
	kind_cell_str(row, str_at(ns, "metadata.name"));
	kind_cell_str(row, str_at(ns, "status.phase"));
	kind_cell_take(row, kind_age(str_at(ns, "metadata.creationTimestamp"), now));
}

static const kind_column namespace_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Status", "string", "", 0, "The status of the namespace"},
    {"Age", "string", "", 0, "Time since the object was created."},
};

/* ---- Event ---- */

static char *event_time_since(const cJSON *ev, const char *path, time_t now)
{
	const char *t = str_at(ev, path);
	return *t ? kind_age(t, now) : NULL;
}

void kind_event_cells(const cJSON *ev, time_t now, cJSON *row)
{
	char *first = event_time_since(ev, "firstTimestamp", now);
	if (!first)
		first = event_time_since(ev, "eventTime", now);
	char *last = event_time_since(ev, "lastTimestamp", now);
	long long count = ck_json_get_int(ev, "count", 0);
	if (ck_json_get(ev, "series")) {
		free(last);
		last = event_time_since(ev, "series.lastObservedTime", now);
		count = ck_json_get_int(ev, "series.count", 0);
	} else if (!count) {
		count = 1;
	}
	if (!last)
		last = ck_strdup(first ? first : "<unknown>");
	const char *kind = str_at(ev, "involvedObject.kind");
	_cleanup_free_ char *lkind = ck_strdup(kind);
	for (char *p = lkind; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	const char *oname = str_at(ev, "involvedObject.name");
	kind_cell_take(row, last);
	kind_cell_str(row, str_at(ev, "type"));
	kind_cell_str(row, str_at(ev, "reason"));
	if (*oname)
		kind_cell_take(row, ck_asprintf("%s/%s", lkind, oname));
	else
		kind_cell_str(row, lkind);
	kind_cell_str(row, str_at(ev, "involvedObject.fieldPath"));
	const char *comp = str_at(ev, "source.component");
	const char *host = str_at(ev, "source.host");
	if (!*comp)
		comp = str_at(ev, "reportingComponent");
	if (!*host)
		host = str_at(ev, "reportingInstance");
	if (*host)
		kind_cell_take(row, ck_asprintf("%s, %s", comp, host));
	else
		kind_cell_str(row, comp);
	kind_cell_str(row, str_at(ev, "message"));
	kind_cell_take(row, first ? first : ck_strdup("<unknown>"));
	kind_cell_int(row, count);
	kind_cell_str(row, str_at(ev, "metadata.name"));
}

const kind_column kind_event_columns[KIND_EVENT_COLUMNS] = {
    {"Last Seen", "string", "", 0, "Time since the event was last seen."},
    {"Type", "string", "", 0, "Type of this event (Normal, Warning)."},
    {"Reason", "string", "", 0, "Why the action was taken."},
    {"Object", "string", "", 0, "The object this event is about."},
    {"Subobject", "string", "", 1, "The part of the object this event is about."},
    {"Source", "string", "", 1, "The component reporting this event."},
    {"Message", "string", "", 0, "A human-readable description of the status of this operation."},
    {"First Seen", "string", "", 1, "Time since the event was first seen."},
    {"Count", "string", "", 1, "The number of times this event has occurred."},
    {"Name", "string", "", 1, "Name must be unique within a namespace."},
};

/* ---- ConfigMap, Secret ---- */

static void configmap_cells(const cJSON *cm, time_t now, cJSON *row)
{
	kind_cell_str(row, str_at(cm, "metadata.name"));
	kind_cell_int(row, cJSON_GetArraySize(ck_json_get(cm, "data")) +
	                       cJSON_GetArraySize(ck_json_get(cm, "binaryData")));
	kind_cell_take(row, kind_age(str_at(cm, "metadata.creationTimestamp"), now));
}

static const kind_column configmap_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Data", "string", "", 0, "Number of keys."},
    {"Age", "string", "", 0, "Time since the object was created."},
};

static void secret_defaults(cJSON *s)
{
	set_default_str(s, "type", "Opaque");
}

static void secret_cells(const cJSON *s, time_t now, cJSON *row)
{
	kind_cell_str(row, str_at(s, "metadata.name"));
	kind_cell_str(row, str_at(s, "type"));
	kind_cell_int(row, cJSON_GetArraySize(ck_json_get(s, "data")));
	kind_cell_take(row, kind_age(str_at(s, "metadata.creationTimestamp"), now));
}

static const kind_column secret_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Type", "string", "", 0, "The type of the secret."},
    {"Data", "string", "", 0, "Number of keys."},
    {"Age", "string", "", 0, "Time since the object was created."},
};

/* ---- Service, Endpoints, ServiceAccount ---- */

static void service_defaults(cJSON *svc)
{
	cJSON *spec = child_object(svc, "spec");
	set_default_str(spec, "type", "ClusterIP");
	const char *type = ck_json_get_str(spec, "type", "");
	if (!strcmp(type, "ExternalName"))
		return;
	set_default_str(spec, "sessionAffinity", "None");
	set_default_str(spec, "internalTrafficPolicy", "Cluster");
	if (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer"))
		set_default_str(spec, "externalTrafficPolicy", "Cluster");
	if (!cJSON_GetObjectItemCaseSensitive(spec, "ipFamilies")) {
		cJSON *f = cJSON_AddArrayToObject(spec, "ipFamilies");
		cJSON_AddItemToArray(f, cJSON_CreateString("IPv4"));
	}
	set_default_str(spec, "ipFamilyPolicy", "SingleStack");
	cJSON *port;
	cJSON_ArrayForEach(port, cJSON_GetObjectItemCaseSensitive(spec, "ports"))
	{
		if (!cJSON_IsObject(port))
			continue;
		set_default_str(port, "protocol", "TCP");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(port, "port");
		if (p && !cJSON_GetObjectItemCaseSensitive(port, "targetPort"))
			cJSON_AddItemToObject(port, "targetPort", ck_json_dup(p));
	}
}

static void service_create_status(cJSON *svc)
{
	cJSON_DeleteItemFromObjectCaseSensitive(svc, "status");
	cJSON *status = cJSON_AddObjectToObject(svc, "status");
	cJSON_AddObjectToObject(status, "loadBalancer");
}

static void service_validate(const cJSON *svc, kind_causes *causes)
{
	const char *type = ck_json_get_str(svc, "spec.type", "ClusterIP");
	static const char *const types[] = {"ClusterIP", "NodePort", "LoadBalancer",
	                                    "ExternalName"};
	bool known = false;
	for (size_t i = 0; i < CK_ARRAY_SIZE(types); i++)
		known |= !strcmp(type, types[i]);
	if (!known) {
		kind_cause_add(causes, "FieldValueNotSupported", "spec.type",
		               "Unsupported value: \"%s\": supported values: \"ClusterIP\", "
		               "\"ExternalName\", \"LoadBalancer\", \"NodePort\"",
		               type);
		return;
	}
	if (!strcmp(type, "ExternalName")) {
		if (!*ck_json_get_str(svc, "spec.externalName", ""))
			kind_cause_required(causes, "spec.externalName");
		return;
	}
	const cJSON *ports = ck_json_get(svc, "spec.ports");
	if (!cJSON_GetArraySize(ports) &&
	    strcmp(ck_json_get_str(svc, "spec.clusterIP", ""), "None"))
		kind_cause_required(causes, "spec.ports");
	int i = 0;
	const cJSON *port;
	cJSON_ArrayForEach(port, ports)
	{
		int64_t n = ck_json_get_int(port, "port", 0);
		if (n < 1 || n > 65535) {
			_cleanup_free_ char *f = ck_asprintf("spec.ports[%d].port", i);
			_cleanup_free_ char *v = ck_asprintf("%lld", (long long)n);
			kind_cause_invalid(causes, f, v, "must be between 1 and 65535, inclusive");
		}
		if (cJSON_GetArraySize(ports) > 1 && !*ck_json_get_str(port, "name", "")) {
			_cleanup_free_ char *f = ck_asprintf("spec.ports[%d].name", i);
			kind_cause_required(causes, f);
		}
		i++;
	}
}

/* "k1=v1,k2=v2" of a string map in key order, malloc'd ("" when empty). */
static char *format_map(const cJSON *m)
{
	const char *keys[64];
	size_t n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, m)
	{
		if (n < CK_ARRAY_SIZE(keys) && cJSON_IsString(it))
			keys[n++] = it->string;
	}
	qsort(keys, n, sizeof(keys[0]), cmp_str);
	char *out = ck_strdup("");
	for (size_t i = 0; i < n; i++) {
		char *next = ck_asprintf(
		    "%s%s%s=%s", out, i ? "," : "", keys[i],
		    ck_json_get_str(cJSON_GetObjectItemCaseSensitive(m, keys[i]), "", ""));
		free(out);
		out = next;
	}
	return out;
}

static char *service_ports(const cJSON *svc)
{
	char *out = ck_strdup("");
	const cJSON *p;
	cJSON_ArrayForEach(p, ck_json_get(svc, "spec.ports"))
	{
		long long port = ck_json_get_int(p, "port", 0);
		long long node_port = ck_json_get_int(p, "nodePort", 0);
		const char *proto = ck_json_get_str(p, "protocol", "TCP");
		char *next = node_port
		                 ? ck_asprintf("%s%s%lld:%lld/%s", out, *out ? "," : "", port,
		                               node_port, proto)
		                 : ck_asprintf("%s%s%lld/%s", out, *out ? "," : "", port, proto);
		free(out);
		out = next;
	}
	return out;
}

static char *service_external_ip(const cJSON *svc)
{
	const char *type = ck_json_get_str(svc, "spec.type", "ClusterIP");
	if (!strcmp(type, "ExternalName"))
		return ck_strdup(ck_json_get_str(svc, "spec.externalName", ""));
	char *out = ck_strdup("");
	const char *paths[] = {"spec.externalIPs", "status.loadBalancer.ingress"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(paths); i++) {
		const cJSON *e;
		cJSON_ArrayForEach(e, ck_json_get(svc, paths[i]))
		{
			const char *ip =
			    cJSON_IsString(e)
			        ? e->valuestring
			        : ck_json_get_str(e, "ip", ck_json_get_str(e, "hostname", ""));
			char *next = ck_asprintf("%s%s%s", out, *out ? "," : "", ip);
			free(out);
			out = next;
		}
	}
	if (!*out && !strcmp(type, "LoadBalancer")) {
		free(out);
		return ck_strdup("<pending>");
	}
	return out;
}

static void service_cells(const cJSON *svc, time_t now, cJSON *row)
{
	kind_cell_str(row, str_at(svc, "metadata.name"));
	kind_cell_str(row, ck_json_get_str(svc, "spec.type", "ClusterIP"));
	kind_cell_none(row, str_at(svc, "spec.clusterIP"));
	kind_cell_take(row, service_external_ip(svc));
	kind_cell_take(row, service_ports(svc));
	kind_cell_take(row, kind_age(str_at(svc, "metadata.creationTimestamp"), now));
	kind_cell_take(row, format_map(ck_json_get(svc, "spec.selector")));
}

static const kind_column service_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Type", "string", "", 0, "How the service is exposed."},
    {"Cluster-IP", "string", "", 0, "The IP address of the service within the cluster."},
    {"External-IP", "string", "", 0, "Addresses the service is reachable at from outside."},
    {"Port(s)", "string", "", 0, "The ports the service exposes."},
    {"Age", "string", "", 0, "Time since the object was created."},
    {"Selector", "string", "", 1, "The labels of the pods the service routes to."},
};

static void endpoints_cells(const cJSON *ep, time_t now, cJSON *row)
{
	char *list = ck_strdup("");
	int shown = 0, total = 0;
	const cJSON *sub;
	cJSON_ArrayForEach(sub, ck_json_get(ep, "subsets"))
	{
		const cJSON *a, *p;
		cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(sub, "addresses"))
		{
			const cJSON *ports = cJSON_GetObjectItemCaseSensitive(sub, "ports");
			int n_ports = cJSON_GetArraySize(ports);
			for (int i = 0; i < (n_ports ? n_ports : 1); i++) {
				total++;
				if (shown == 3)
					continue;
				p = cJSON_GetArrayItem(ports, i);
				char *next =
				    p ? ck_asprintf("%s%s%s:%lld", list, *list ? "," : "",
				                    str_at(a, "ip"),
				                    (long long)ck_json_get_int(p, "port", 0))
				      : ck_asprintf("%s%s%s", list, *list ? "," : "",
				                    str_at(a, "ip"));
				free(list);
				list = next;
				shown++;
			}
		}
	}
	kind_cell_str(row, str_at(ep, "metadata.name"));
	if (total > shown) {
		kind_cell_take(row, ck_asprintf("%s + %d more...", list, total - shown));
		free(list);
	} else {
		kind_cell_take(row, list);
	}
	kind_cell_take(row, kind_age(str_at(ep, "metadata.creationTimestamp"), now));
}

static const kind_column endpoints_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Endpoints", "string", "", 0, "Endpoints of the service."},
    {"Age", "string", "", 0, "Time since the object was created."},
};

static void serviceaccount_cells(const cJSON *sa, time_t now, cJSON *row)
{
	kind_cell_str(row, str_at(sa, "metadata.name"));
	kind_cell_int(row, cJSON_GetArraySize(ck_json_get(sa, "secrets")));
	kind_cell_take(row, kind_age(str_at(sa, "metadata.creationTimestamp"), now));
}

static const kind_column serviceaccount_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Secrets", "string", "", 0, "Number of secrets."},
    {"Age", "string", "", 0, "Time since the object was created."},
};

static const char *const svc_short[] = {"svc", NULL};
static const char *const ep_short[] = {"ep", NULL};
static const char *const sa_short[] = {"sa", NULL};
static const char *const svc_fields[] = {"spec.clusterIP", "spec.type", NULL};
static const char *const svc_immutable[] = {"spec.clusterIP", "spec.clusterIPs", NULL};

static const char *const pod_short[] = {"po", NULL};
static const char *const node_short[] = {"no", NULL};
static const char *const ns_short[] = {"ns", NULL};
static const char *const ev_short[] = {"ev", NULL};
static const char *const cm_short[] = {"cm", NULL};
static const char *const all_cat[] = {"all", NULL};
static const char *const pod_fields[] = {"spec.nodeName",
                                         "spec.restartPolicy",
                                         "spec.schedulerName",
                                         "spec.serviceAccountName",
                                         "spec.hostNetwork",
                                         "status.phase",
                                         "status.podIP",
                                         "status.nominatedNodeName",
                                         NULL};
static const char *const node_fields[] = {"spec.unschedulable", NULL};
static const char *const ns_fields[] = {"status.phase", NULL};
static const char *const ev_fields[] = {"involvedObject.kind",
                                        "involvedObject.namespace",
                                        "involvedObject.name",
                                        "involvedObject.uid",
                                        "involvedObject.apiVersion",
                                        "involvedObject.resourceVersion",
                                        "involvedObject.fieldPath",
                                        "reason",
                                        "reportingComponent",
                                        "source",
                                        "type",
                                        NULL};
static const char *const secret_fields[] = {"type", NULL};

const kind_desc kind_core[] = {
    {.group = "",
     .version = "v1",
     .kind = "Namespace",
     .plural = "namespaces",
     .singular = "namespace",
     .short_names = ns_short,
     .namespaced = false,
     .name_is_label = true,
     .etcd_resource = "namespaces",
     .subresources = KIND_SUB_STATUS,
     .field_labels = ns_fields,
     .columns = KIND_COLUMNS(namespace_columns),
     .cells = namespace_cells,
     .defaults = namespace_defaults,
     .create_status = namespace_create_status},
    {.group = "",
     .version = "v1",
     .kind = "Node",
     .plural = "nodes",
     .singular = "node",
     .short_names = node_short,
     .namespaced = false,
     .etcd_resource = "minions",
     .subresources = KIND_SUB_STATUS,
     .field_labels = node_fields,
     .columns = KIND_COLUMNS(node_columns),
     .cells = node_cells},
    {.group = "",
     .version = "v1",
     .kind = "Pod",
     .plural = "pods",
     .singular = "pod",
     .short_names = pod_short,
     .categories = all_cat,
     .namespaced = true,
     .etcd_resource = "pods",
     .subresources = KIND_SUB_STATUS | KIND_SUB_BINDING | KIND_SUB_LOG,
     .field_labels = pod_fields,
     .columns = KIND_COLUMNS(pod_columns),
     .cells = pod_cells,
     .defaults = pod_defaults,
     .validate = pod_validate,
     .create_status = pod_create_status},
    {.group = "",
     .version = "v1",
     .kind = "Event",
     .plural = "events",
     .singular = "event",
     .short_names = ev_short,
     .namespaced = true,
     .etcd_resource = "events",
     .field_labels = ev_fields,
     .columns = KIND_COLUMNS(kind_event_columns),
     .cells = kind_event_cells},
    {.group = "",
     .version = "v1",
     .kind = "ConfigMap",
     .plural = "configmaps",
     .singular = "configmap",
     .short_names = cm_short,
     .namespaced = true,
     .etcd_resource = "configmaps",
     .columns = KIND_COLUMNS(configmap_columns),
     .cells = configmap_cells},
    {.group = "",
     .version = "v1",
     .kind = "Secret",
     .plural = "secrets",
     .singular = "secret",
     .namespaced = true,
     .etcd_resource = "secrets",
     .field_labels = secret_fields,
     .columns = KIND_COLUMNS(secret_columns),
     .cells = secret_cells,
     .defaults = secret_defaults},
    {.group = "",
     .version = "v1",
     .kind = "Service",
     .plural = "services",
     .singular = "service",
     .short_names = svc_short,
     .categories = all_cat,
     .namespaced = true,
     .name_is_label = true,
     .etcd_resource = "services/specs",
     .subresources = KIND_SUB_STATUS,
     .field_labels = svc_fields,
     .immutable = svc_immutable,
     .columns = KIND_COLUMNS(service_columns),
     .cells = service_cells,
     .defaults = service_defaults,
     .validate = service_validate,
     .create_status = service_create_status},
    {.group = "",
     .version = "v1",
     .kind = "Endpoints",
     .plural = "endpoints",
     .singular = "endpoints",
     .short_names = ep_short,
     .namespaced = true,
     .etcd_resource = "services/endpoints",
     .columns = KIND_COLUMNS(endpoints_columns),
     .cells = endpoints_cells},
    {.group = "",
     .version = "v1",
     .kind = "ServiceAccount",
     .plural = "serviceaccounts",
     .singular = "serviceaccount",
     .short_names = sa_short,
     .namespaced = true,
     .etcd_resource = "serviceaccounts",
     .columns = KIND_COLUMNS(serviceaccount_columns),
     .cells = serviceaccount_cells},
};
const size_t kind_core_n = CK_ARRAY_SIZE(kind_core);
