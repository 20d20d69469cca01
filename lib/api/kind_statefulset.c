/* kind_statefulset: apps/v1 StatefulSets, pods with stable names and storage. */
#include "api/kind.h"

#include <string.h>

#include "k8s/apps.pb-c.h"
#include "base/error.h"
#include "base/json.h"

static void statefulset_defaults(cJSON *ss)
{
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(ss, "spec");
	if (!cJSON_IsObject(spec))
		return;
	kind_default_int(spec, "replicas", 1);
	kind_default_str(spec, "podManagementPolicy", "OrderedReady");
	cJSON *strategy = kind_child_object(spec, "updateStrategy");
	kind_default_str(strategy, "type", "RollingUpdate");
	if (!strcmp(kind_str(strategy, "type"), "RollingUpdate"))
		kind_default_int(kind_child_object(strategy, "rollingUpdate"), "partition", 0);
	kind_default_int(spec, "revisionHistoryLimit", 10);
	cJSON *retention = kind_child_object(spec, "persistentVolumeClaimRetentionPolicy");
	kind_default_str(retention, "whenDeleted", "Retain");
	kind_default_str(retention, "whenScaled", "Retain");
	kind_pod_spec_defaults(ck_json_get(spec, "template.spec"));
}

static void statefulset_validate(const cJSON *ss, kind_causes *causes)
{
	static const char *const always[] = {"Always", NULL};
	const cJSON *spec = ck_json_get(ss, "spec");
	kind_nonnegative_validate(ss, "spec.replicas", NULL, causes);
	static const char *const pmps[] = {"OrderedReady", "Parallel", NULL};
	static const char *const strategies[] = {"OnDelete", "RollingUpdate", NULL};
	kind_enum_validate(ss, "spec.podManagementPolicy", "OrderedReady", pmps, NULL, causes);
	kind_enum_validate(ss, "spec.updateStrategy.type", "RollingUpdate", strategies, NULL,
	                   causes);
	kind_selector_validate(spec, "spec", "statefulset", causes);
	kind_pod_spec_validate(ck_json_get(spec, "template.spec"), "spec.template.spec", causes);
	kind_enum_validate(ss, "spec.template.spec.restartPolicy", "Always", always, NULL, causes);
}

static void statefulset_cells(const cJSON *ss, time_t now, cJSON *row)
{
	kind_cell_str(row, kind_str(ss, "metadata.name"));
	kind_cell_take(row, ck_asprintf("%lld/%lld",
	                                (long long)ck_json_get_int(ss, "status.readyReplicas", 0),
	                                (long long)ck_json_get_int(ss, "spec.replicas", 0)));
	kind_cell_take(row, kind_age(kind_str(ss, "metadata.creationTimestamp"), now));
	kind_template_cells(ck_json_get(ss, "spec"), false, row);
}

static const kind_column statefulset_columns[] = {
    KIND_COLUMN_NAME,
    {"Ready", "string", "", 0, "Number of the pod with ready state"},
    KIND_COLUMN_AGE,
    KIND_COLUMNS_TEMPLATE,
};

static const char *const statefulset_short[] = {"sts", NULL};

static const kind_subresource statefulset_subs[] = {
    KIND_SUB_SCALE_REPLICAS,
    KIND_SUB_STATUS,
};

const kind_desc kind_statefulset = {
    .group = "apps",
    .version = "v1",
    .kind = "StatefulSet",
    .plural = "statefulsets",
    .singular = "statefulset",
    .short_names = statefulset_short,
    .categories = kind_category_all,
    .namespaced = true,
    .etcd_resource = "statefulsets",
    .subresources = KIND_SUBRESOURCES(statefulset_subs),
    .columns = KIND_COLUMNS(statefulset_columns),
    .cells = statefulset_cells,
    .defaults = statefulset_defaults,
    .validate = statefulset_validate,
    .create_status = kind_clear_status,
    .pb = &k8s__io__api__apps__v1__stateful_set__descriptor,
};
