/* kind_apps: the apps group (apps/v1): deployments and replicasets. */
#include "api/kind.h"

#include <stdlib.h>
#include <string.h>

#include "k8s/apps.pb-c.h"
#include "base/error.h"
#include "base/json.h"

static void workload_defaults(cJSON *obj)
{
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	if (!cJSON_IsObject(spec))
		return;
	if (!cJSON_GetObjectItemCaseSensitive(spec, "replicas"))
		cJSON_AddNumberToObject(spec, "replicas", 1);
	kind_pod_spec_defaults(ck_json_get(spec, "template.spec"));
}

static void deployment_defaults(cJSON *d)
{
	workload_defaults(d);
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(d, "spec");
	if (!cJSON_IsObject(spec))
		return;
	if (!ck_json_get(spec, "strategy.type"))
		ck_json_set_str(spec, "strategy.type", "RollingUpdate");
	if (!strcmp(kind_str(spec, "strategy.type"), "RollingUpdate")) {
		if (!ck_json_get(spec, "strategy.rollingUpdate.maxUnavailable"))
			ck_json_set_str(spec, "strategy.rollingUpdate.maxUnavailable", "25%");
		if (!ck_json_get(spec, "strategy.rollingUpdate.maxSurge"))
			ck_json_set_str(spec, "strategy.rollingUpdate.maxSurge", "25%");
	}
	if (!cJSON_GetObjectItemCaseSensitive(spec, "revisionHistoryLimit"))
		cJSON_AddNumberToObject(spec, "revisionHistoryLimit", 10);
	if (!cJSON_GetObjectItemCaseSensitive(spec, "progressDeadlineSeconds"))
		cJSON_AddNumberToObject(spec, "progressDeadlineSeconds", 600);
}

static const char *const restart_always[] = {"Always", NULL};

static void workload_validate(const cJSON *obj, kind_causes *causes)
{
	const cJSON *spec = ck_json_get(obj, "spec");
	kind_nonnegative_validate(obj, "spec.replicas", NULL, causes);
	/* Upstream says "deployment" for both kinds. */
	kind_selector_validate(spec, "spec", "deployment", causes);
	kind_pod_spec_validate(ck_json_get(spec, "template.spec"), "spec.template.spec", causes);
	kind_enum_validate(obj, "spec.template.spec.restartPolicy", "Always", restart_always, NULL,
	                   causes);
}

static void deployment_validate(const cJSON *d, kind_causes *causes)
{
	workload_validate(d, causes);
	static const char *const strategies[] = {"Recreate", "RollingUpdate", NULL};
	kind_enum_validate(d, "spec.strategy.type", "RollingUpdate", strategies, NULL, causes);
}

static void deployment_cells(const cJSON *d, time_t now, cJSON *row)
{
	kind_cell_str(row, kind_str(d, "metadata.name"));
	kind_cell_take(row, ck_asprintf("%lld/%lld",
	                                (long long)ck_json_get_int(d, "status.readyReplicas", 0),
	                                (long long)ck_json_get_int(d, "spec.replicas", 0)));
	kind_cell_int(row, ck_json_get_int(d, "status.updatedReplicas", 0));
	kind_cell_int(row, ck_json_get_int(d, "status.availableReplicas", 0));
	kind_cell_take(row, kind_age(kind_str(d, "metadata.creationTimestamp"), now));
	kind_template_cells(ck_json_get(d, "spec"), true, row);
}

static void replicaset_cells(const cJSON *rs, time_t now, cJSON *row)
{
	kind_cell_str(row, kind_str(rs, "metadata.name"));
	kind_cell_int(row, ck_json_get_int(rs, "spec.replicas", 0));
	kind_cell_int(row, ck_json_get_int(rs, "status.replicas", 0));
	kind_cell_int(row, ck_json_get_int(rs, "status.readyReplicas", 0));
	kind_cell_take(row, kind_age(kind_str(rs, "metadata.creationTimestamp"), now));
	kind_template_cells(ck_json_get(rs, "spec"), true, row);
}

#define WIDE_COLS                                                                                  \
	KIND_COLUMNS_TEMPLATE,                                                                     \
	{                                                                                          \
		"Selector", "string", "", 1, "Label selector for the pods."                        \
	}

static const kind_column deployment_columns[] = {
    KIND_COLUMN_NAME,
    {"Ready", "string", "", 0, "Number of the pod with ready state"},
    {"Up-to-date", "string", "", 0,
     "Total number of non-terminated pods targeted by this deployment that have the desired "
     "template spec."},
    {"Available", "string", "", 0,
     "Total number of available pods (ready for at least minReadySeconds) targeted by this "
     "deployment."},
    KIND_COLUMN_AGE,
    WIDE_COLS,
};

static const kind_column replicaset_columns[] = {
    KIND_COLUMN_NAME,
    {"Desired", "integer", "", 0, "Number of desired pods."},
    {"Current", "integer", "", 0, "The most recently observed number of replicas."},
    {"Ready", "integer", "", 0, "The number of ready replicas for this replica set."},
    KIND_COLUMN_AGE,
    WIDE_COLS,
};

static const kind_subresource workload_subs[] = {
    KIND_SUB_SCALE_REPLICAS,
    KIND_SUB_STATUS,
};

static const char *const deploy_short[] = {"deploy", NULL};
static const char *const rs_short[] = {"rs", NULL};

const kind_desc kind_deployment = {.group = "apps",
                                   .version = "v1",
                                   .kind = "Deployment",
                                   .plural = "deployments",
                                   .singular = "deployment",
                                   .short_names = deploy_short,
                                   .categories = kind_category_all,
                                   .namespaced = true,
                                   .etcd_resource = "deployments",
                                   .subresources = KIND_SUBRESOURCES(workload_subs),
                                   .columns = KIND_COLUMNS(deployment_columns),
                                   .cells = deployment_cells,
                                   .defaults = deployment_defaults,
                                   .validate = deployment_validate,
                                   .create_status = kind_clear_status,
                                   .pb = &k8s__io__api__apps__v1__deployment__descriptor};

const kind_desc kind_replicaset = {.group = "apps",
                                   .version = "v1",
                                   .kind = "ReplicaSet",
                                   .plural = "replicasets",
                                   .singular = "replicaset",
                                   .short_names = rs_short,
                                   .categories = kind_category_all,
                                   .namespaced = true,
                                   .etcd_resource = "replicasets",
                                   .subresources = KIND_SUBRESOURCES(workload_subs),
                                   .columns = KIND_COLUMNS(replicaset_columns),
                                   .cells = replicaset_cells,
                                   .defaults = workload_defaults,
                                   .validate = workload_validate,
                                   .create_status = kind_clear_status,
                                   .pb = &k8s__io__api__apps__v1__replica_set__descriptor};
