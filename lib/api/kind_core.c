/* kind_core: the core group (v1): namespaces, nodes, events, configmaps, secrets (pods
 * are in kind_pod.c, services and their kin in kind_service.c). */
#include "api/kind.h"

#include <stdlib.h>
#include <string.h>

#include "k8s/core.pb-c.h"
#include "api/condition.h"
#include "base/error.h"
#include "base/json.h"

/* ---- Node ---- */

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
	qsort(roles, n, sizeof(roles[0]), kind_cmp_strp);
	ck_buf out = {0};
	for (size_t i = 0; i < n; i++) {
		if (i && !strcmp(roles[i], roles[i - 1]))
			continue;
		kind_buf_sep(&out, ",");
		ck_buf_puts(&out, roles[i]);
	}
	return ck_buf_steal(&out);
}

static const char *node_address(const cJSON *node, const char *type)
{
	const cJSON *a;
	cJSON_ArrayForEach(a, ck_json_get(node, "status.addresses"))
	{
		if (!strcmp(kind_str(a, "type"), type))
			return kind_str(a, "address");
	}
	return "";
}

static void node_cells(const cJSON *node, time_t now, cJSON *row)
{
	const char *ready = condition_status(node, "Ready", NULL);
	const char *status = !ready ? "Unknown" : strcmp(ready, "True") ? "NotReady" : "Ready";
	kind_cell_str(row, kind_str(node, "metadata.name"));
	if (ck_json_get_bool(node, "spec.unschedulable", false))
		kind_cell_take(row, ck_asprintf("%s,SchedulingDisabled", status));
	else
		kind_cell_str(row, status);
	kind_cell_take(row, node_roles(node));
	kind_cell_take(row, kind_age(kind_str(node, "metadata.creationTimestamp"), now));
	kind_cell_str(row, kind_str(node, "status.nodeInfo.kubeletVersion"));
	kind_cell_none(row, node_address(node, "InternalIP"));
	kind_cell_none(row, node_address(node, "ExternalIP"));
	static const char *const info[] = {"status.nodeInfo.osImage",
	                                   "status.nodeInfo.kernelVersion",
	                                   "status.nodeInfo.containerRuntimeVersion"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(info); i++) {
		const char *v = kind_str(node, info[i]);
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
	cJSON *spec = kind_child_object(ns, "spec");
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

/* The "kubernetes" finalizer in spec.finalizers holds a deleted namespace until its
 * content is gone (the namespace controller's part); PUT .../finalize removes it. */
static bool namespace_finalizing(const cJSON *ns)
{
	return cJSON_GetArraySize(ck_json_get(ns, "spec.finalizers")) > 0;
}

static void namespace_mark_deleted(cJSON *ns)
{
	ck_json_set_str(ns, "status.phase", "Terminating");
}

static const char *const update_verb[] = {"update", NULL};
static const kind_subresource namespace_subs[] = {
    {.name = "finalize", .verbs = update_verb, .type = KIND_SUB_FIELD, .field = "spec.finalizers"},
    KIND_SUB_STATUS,
};
static const kind_subresource node_subs[] = {KIND_SUB_STATUS};
/* Upstream's immortal namespaces. */
static const char *const namespace_undeletable[] = {"default", "kube-system", "kube-public", NULL};

static void namespace_cells(const cJSON *ns, time_t now, cJSON *row)
{
	kind_cell_str(row, kind_str(ns, "metadata.name"));
	kind_cell_str(row, kind_str(ns, "status.phase"));
	kind_cell_take(row, kind_age(kind_str(ns, "metadata.creationTimestamp"), now));
}

static const kind_column namespace_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Status", "string", "", 0, "The status of the namespace"},
    {"Age", "string", "", 0, "Time since the object was created."},
};

/* ---- Event ---- */

static char *event_time_since(const cJSON *ev, const char *path, time_t now)
{
	const char *t = kind_str(ev, path);
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
	const char *kind = kind_str(ev, "involvedObject.kind");
	_cleanup_free_ char *lkind = ck_strdup(kind);
	for (char *p = lkind; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	const char *oname = kind_str(ev, "involvedObject.name");
	kind_cell_take(row, last);
	kind_cell_str(row, kind_str(ev, "type"));
	kind_cell_str(row, kind_str(ev, "reason"));
	if (*oname)
		kind_cell_take(row, ck_asprintf("%s/%s", lkind, oname));
	else
		kind_cell_str(row, lkind);
	kind_cell_str(row, kind_str(ev, "involvedObject.fieldPath"));
	const char *comp = kind_str(ev, "source.component");
	const char *host = kind_str(ev, "source.host");
	if (!*comp)
		comp = kind_str(ev, "reportingComponent");
	if (!*host)
		host = kind_str(ev, "reportingInstance");
	if (*host)
		kind_cell_take(row, ck_asprintf("%s, %s", comp, host));
	else
		kind_cell_str(row, comp);
	kind_cell_str(row, kind_str(ev, "message"));
	kind_cell_take(row, first ? first : ck_strdup("<unknown>"));
	kind_cell_int(row, count);
	kind_cell_str(row, kind_str(ev, "metadata.name"));
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
	kind_cell_str(row, kind_str(cm, "metadata.name"));
	kind_cell_int(row, cJSON_GetArraySize(ck_json_get(cm, "data")) +
	                       cJSON_GetArraySize(ck_json_get(cm, "binaryData")));
	kind_cell_take(row, kind_age(kind_str(cm, "metadata.creationTimestamp"), now));
}

static const kind_column configmap_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Data", "string", "", 0, "Number of keys."},
    {"Age", "string", "", 0, "Time since the object was created."},
};

static void secret_defaults(cJSON *s)
{
	kind_default_str(s, "type", "Opaque");
}

static void secret_cells(const cJSON *s, time_t now, cJSON *row)
{
	kind_cell_str(row, kind_str(s, "metadata.name"));
	kind_cell_str(row, kind_str(s, "type"));
	kind_cell_int(row, cJSON_GetArraySize(ck_json_get(s, "data")));
	kind_cell_take(row, kind_age(kind_str(s, "metadata.creationTimestamp"), now));
}

static const kind_column secret_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Type", "string", "", 0, "The type of the secret."},
    {"Data", "string", "", 0, "Number of keys."},
    {"Age", "string", "", 0, "Time since the object was created."},
};

static const char *const node_short[] = {"no", NULL};
static const char *const ns_short[] = {"ns", NULL};
static const char *const ev_short[] = {"ev", NULL};
static const char *const cm_short[] = {"cm", NULL};
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

const kind_desc kind_namespace = {.group = "",
                                  .version = "v1",
                                  .kind = "Namespace",
                                  .plural = "namespaces",
                                  .singular = "namespace",
                                  .short_names = ns_short,
                                  .namespaced = false,
                                  .name_is_label = true,
                                  .etcd_resource = "namespaces",
                                  .subresources = KIND_SUBRESOURCES(namespace_subs),
                                  .finalizing = namespace_finalizing,
                                  .mark_deleted = namespace_mark_deleted,
                                  .undeletable = namespace_undeletable,
                                  .field_labels = ns_fields,
                                  .columns = KIND_COLUMNS(namespace_columns),
                                  .cells = namespace_cells,
                                  .defaults = namespace_defaults,
                                  .create_status = namespace_create_status,
                                  .pb = &k8s__io__api__core__v1__namespace__descriptor};

const kind_desc kind_node = {.group = "",
                             .version = "v1",
                             .kind = "Node",
                             .plural = "nodes",
                             .singular = "node",
                             .short_names = node_short,
                             .namespaced = false,
                             .etcd_resource = "minions",
                             .subresources = KIND_SUBRESOURCES(node_subs),
                             .field_labels = node_fields,
                             .columns = KIND_COLUMNS(node_columns),
                             .cells = node_cells,
                             .pb = &k8s__io__api__core__v1__node__descriptor};

const kind_desc kind_event = {.group = "",
                              .version = "v1",
                              .kind = "Event",
                              .plural = "events",
                              .singular = "event",
                              .short_names = ev_short,
                              .namespaced = true,
                              .etcd_resource = "events",
                              .expires = true,
                              .field_labels = ev_fields,
                              .columns = KIND_COLUMNS(kind_event_columns),
                              .cells = kind_event_cells,
                              .pb = &k8s__io__api__core__v1__event__descriptor};

const kind_desc kind_configmap = {.group = "",
                                  .version = "v1",
                                  .kind = "ConfigMap",
                                  .plural = "configmaps",
                                  .singular = "configmap",
                                  .short_names = cm_short,
                                  .namespaced = true,
                                  .etcd_resource = "configmaps",
                                  .columns = KIND_COLUMNS(configmap_columns),
                                  .cells = configmap_cells,
                                  .pb = &k8s__io__api__core__v1__config_map__descriptor};

const kind_desc kind_secret = {.group = "",
                               .version = "v1",
                               .kind = "Secret",
                               .plural = "secrets",
                               .singular = "secret",
                               .namespaced = true,
                               .etcd_resource = "secrets",
                               .field_labels = secret_fields,
                               .columns = KIND_COLUMNS(secret_columns),
                               .cells = secret_cells,
                               .defaults = secret_defaults,
                               .pb = &k8s__io__api__core__v1__secret__descriptor};
