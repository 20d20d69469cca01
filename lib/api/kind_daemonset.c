/* kind_daemonset: apps/v1 DaemonSets, one pod on each eligible node. */
#include "api/kind.h"

#include <string.h>

#include "k8s/apps.pb-c.h"
#include "base/error.h"
#include "base/json.h"

static void daemonset_defaults(cJSON *ds)
{
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(ds, "spec");
	if (!cJSON_IsObject(spec))
		return;
	cJSON *strategy = kind_child_object(spec, "updateStrategy");
	kind_default_str(strategy, "type", "RollingUpdate");
	if (!strcmp(kind_str(strategy, "type"), "RollingUpdate")) {
		cJSON *ru = kind_child_object(strategy, "rollingUpdate");
		kind_default_int(ru, "maxUnavailable", 1);
		kind_default_int(ru, "maxSurge", 0);
	}
	kind_default_int(spec, "revisionHistoryLimit", 10);
	kind_pod_spec_defaults(ck_json_get(spec, "template.spec"));
}

static void daemonset_validate(const cJSON *ds, kind_causes *causes)
{
	static const char *const always[] = {"Always", NULL};
	const cJSON *spec = ck_json_get(ds, "spec");
	static const char *const strategies[] = {"OnDelete", "RollingUpdate", NULL};
	kind_enum_validate(ds, "spec.updateStrategy.type", "RollingUpdate", strategies, NULL,
	                   causes);
	kind_selector_validate(spec, "spec", "daemonset", causes);
	kind_pod_spec_validate(ck_json_get(spec, "template.spec"), "spec.template.spec", causes);
	kind_enum_validate(ds, "spec.template.spec.restartPolicy", "Always", always, NULL, causes);
}

static void daemonset_cells(const cJSON *ds, time_t now, cJSON *row)
{
	static const char *const counts[] = {"desiredNumberScheduled", "currentNumberScheduled",
	                                     "numberReady", "updatedNumberScheduled",
	                                     "numberAvailable"};
	kind_cell_str(row, kind_str(ds, "metadata.name"));
	for (size_t i = 0; i < CK_ARRAY_SIZE(counts); i++)
		kind_cell_int(row, ck_json_get_int(cJSON_GetObjectItemCaseSensitive(ds, "status"),
		                                   counts[i], 0));
	kind_cell_take(row, kind_format_map(ck_json_get(ds, "spec.template.spec.nodeSelector"),
	                                    KIND_MAP_LABELS));
	kind_cell_take(row, kind_age(kind_str(ds, "metadata.creationTimestamp"), now));
	kind_template_cells(ck_json_get(ds, "spec"), true, row);
}

static const kind_column daemonset_columns[] = {
    KIND_COLUMN_NAME,
    {"Desired", "integer", "", 0,
     "The total number of nodes that should be running the daemon pod."},
    {"Current", "integer", "", 0,
     "The number of nodes that are running at least 1 daemon pod and are supposed to run "
     "the daemon pod."},
    {"Ready", "integer", "", 0,
     "The number of nodes that should be running the daemon pod and have one or more of the "
     "daemon pod running and ready."},
    {"Up-to-date", "integer", "", 0,
     "The total number of nodes that are running updated daemon pod"},
    {"Available", "integer", "", 0,
     "The number of nodes that should be running the daemon pod and have one or more of the "
     "daemon pod running and available."},
    {"Node Selector", "string", "", 0,
     "NodeSelector is a selector which must be true for the pod to fit on a node."},
    KIND_COLUMN_AGE,
    KIND_COLUMNS_TEMPLATE,
    {"Selector", "string", "", 1, "A label query over pods that are managed by the daemon set."},
};

static const char *const daemonset_short[] = {"ds", NULL};

static const kind_subresource daemonset_subs[] = {KIND_SUB_STATUS};

const kind_desc kind_daemonset = {
    .group = "apps",
    .version = "v1",
    .kind = "DaemonSet",
    .plural = "daemonsets",
    .singular = "daemonset",
    .short_names = daemonset_short,
    .categories = kind_category_all,
    .namespaced = true,
    .etcd_resource = "daemonsets",
    .subresources = KIND_SUBRESOURCES(daemonset_subs),
    .columns = KIND_COLUMNS(daemonset_columns),
    .cells = daemonset_cells,
    .defaults = daemonset_defaults,
    .validate = daemonset_validate,
    .create_status = kind_clear_status,
    .pb = &k8s__io__api__apps__v1__daemon_set__descriptor,
};
