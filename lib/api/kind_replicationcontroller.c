/* kind_replicationcontroller: core/v1 ReplicationControllers, ReplicaSets' predecessor
 * with an equality-only selector (a label map). */
#include "api/kind.h"

#include <string.h>

#include "k8s/core.pb-c.h"
#include "base/error.h"
#include "base/json.h"

static void rc_defaults(cJSON *rc)
{
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(rc, "spec");
	if (!cJSON_IsObject(spec))
		return;
	const cJSON *labels = ck_json_get(spec, "template.metadata.labels");
	if (cJSON_IsObject(labels)) {
		if (!cJSON_GetArraySize(ck_json_get(spec, "selector")))
			ck_json_set(spec, "selector", ck_json_dup(labels));
		if (!cJSON_GetArraySize(ck_json_get(rc, "metadata.labels")))
			ck_json_set(rc, "metadata.labels", ck_json_dup(labels));
	}
	kind_default_int(spec, "replicas", 1);
	kind_pod_spec_defaults(ck_json_get(spec, "template.spec"));
}

static void rc_validate(const cJSON *rc, kind_causes *causes)
{
	static const char *const always[] = {"Always", NULL};
	const cJSON *spec = ck_json_get(rc, "spec");
	const cJSON *sel = ck_json_get(spec, "selector");
	if (!cJSON_GetArraySize(sel))
		kind_cause_required(causes, "spec.selector");
	kind_nonnegative_validate(rc, "spec.replicas", NULL, causes);
	kind_nonnegative_validate(rc, "spec.minReadySeconds", NULL, causes);
	if (!cJSON_IsObject(ck_json_get(spec, "template"))) {
		kind_cause_required(causes, "spec.template");
		return;
	}
	const cJSON *want;
	cJSON_ArrayForEach(want, sel)
	{
		const char *have = ck_json_get_str(ck_json_get(spec, "template.metadata.labels"),
		                                   want->string, NULL);
		if (!have || !cJSON_IsString(want) || strcmp(have, want->valuestring)) {
			kind_template_labels_mismatch(spec, "spec", causes);
			break;
		}
	}
	kind_pod_spec_validate(ck_json_get(spec, "template.spec"), "spec.template.spec", causes);
	kind_enum_validate(rc, "spec.template.spec.restartPolicy", "Always", always, NULL, causes);
}

static void rc_cells(const cJSON *rc, time_t now, cJSON *row)
{
	kind_cell_str(row, kind_str(rc, "metadata.name"));
	kind_cell_int(row, ck_json_get_int(rc, "spec.replicas", 0));
	kind_cell_int(row, ck_json_get_int(rc, "status.replicas", 0));
	kind_cell_int(row, ck_json_get_int(rc, "status.readyReplicas", 0));
	kind_cell_take(row, kind_age(kind_str(rc, "metadata.creationTimestamp"), now));
	kind_template_cells(ck_json_get(rc, "spec"), false, row);
	kind_cell_take(row, kind_format_map(ck_json_get(rc, "spec.selector"), KIND_MAP_LABELS));
}

static const kind_column rc_columns[] = {
    KIND_COLUMN_NAME,
    {"Desired", "integer", "", 0, "Replicas is the number of desired replicas."},
    {"Current", "integer", "", 0, "Replicas is the most recently observed number of replicas."},
    {"Ready", "integer", "", 0, "The number of ready replicas for this replication controller."},
    KIND_COLUMN_AGE,
    KIND_COLUMNS_TEMPLATE,
    {"Selector", "string", "", 1,
     "Selector is a label query over pods that should match the Replicas count."},
};

static const char *const rc_short[] = {"rc", NULL};

static const kind_subresource rc_subs[] = {
    KIND_SUB_SCALE_REPLICAS,
    KIND_SUB_STATUS,
};

const kind_desc kind_replicationcontroller = {
    .group = "",
    .version = "v1",
    .kind = "ReplicationController",
    .plural = "replicationcontrollers",
    .singular = "replicationcontroller",
    .short_names = rc_short,
    .categories = kind_category_all,
    .namespaced = true,
    .etcd_resource = "controllers",
    .subresources = KIND_SUBRESOURCES(rc_subs),
    .columns = KIND_COLUMNS(rc_columns),
    .cells = rc_cells,
    .defaults = rc_defaults,
    .validate = rc_validate,
    .create_status = kind_clear_status,
    .pb = &k8s__io__api__core__v1__replication_controller__descriptor,
};
