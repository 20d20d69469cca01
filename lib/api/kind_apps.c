/* kind_apps: the apps group (apps/v1): deployments and replicasets. */
#include "api/kind.h"

#include <stdlib.h>
#include <string.h>

#include "k8s/apps.pb-c.h"
#include "api/selector.h"
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

static void workload_validate(const cJSON *obj, kind_causes *causes)
{
	const cJSON *spec = ck_json_get(obj, "spec");
	const cJSON *sel = ck_json_get(spec, "selector");
	if (ck_json_get_int(spec, "replicas", 0) < 0) {
		_cleanup_free_ char *v =
		    ck_asprintf("%lld", (long long)ck_json_get_int(spec, "replicas", 0));
		kind_cause_invalid(causes, "spec.replicas", v,
		                   "must be greater than or equal to 0");
	}
	_cleanup_selector_ selector *s = NULL;
	_cleanup_err_ ck_err *err = NULL;
	if (!cJSON_IsObject(sel)) {
		kind_cause_required(causes, "spec.selector");
	} else if (selector_from_label_selector(sel, &s, &err) < 0) {
		kind_cause_invalid(causes, "spec.selector", "", err->msg);
	} else if (!s->n_reqs) {
		/* Upstream prints the value in Go syntax (and says "deployment" for both kinds). */
		kind_cause_add(
		    causes, "FieldValueInvalid", "spec.selector",
		    "Invalid value: v1.LabelSelector{MatchLabels:map[string]string%s, "
		    "MatchExpressions:[]v1.LabelSelectorRequirement%s}: empty selector is "
		    "invalid for deployment",
		    ck_json_get(sel, "matchLabels") ? "{}" : "(nil)",
		    ck_json_get(sel, "matchExpressions") ? "{}" : "(nil)");
	} else if (!selector_match_labels(s, ck_json_get(spec, "template.metadata.labels"))) {
		_cleanup_free_ char *labels =
		    kind_format_map(ck_json_get(spec, "template.metadata.labels"), KIND_MAP_GO);
		kind_cause_add(causes, "FieldValueInvalid", "spec.template.metadata.labels",
		               "Invalid value: %s: `selector` does not match template `labels`",
		               labels);
	}
	kind_pod_spec_validate(ck_json_get(spec, "template.spec"), "spec.template.spec", causes);
	const char *rp = ck_json_get_str(spec, "template.spec.restartPolicy", "Always");
	if (strcmp(rp, "Always"))
		kind_cause_add(causes, "FieldValueNotSupported", "spec.template.spec.restartPolicy",
		               "Unsupported value: \"%s\": supported values: \"Always\"", rp);
}

static void deployment_validate(const cJSON *d, kind_causes *causes)
{
	workload_validate(d, causes);
	const char *st = ck_json_get_str(d, "spec.strategy.type", "RollingUpdate");
	if (strcmp(st, "RollingUpdate") && strcmp(st, "Recreate"))
		kind_cause_add(causes, "FieldValueNotSupported", "spec.strategy.type",
		               "Unsupported value: \"%s\": supported values: \"Recreate\", "
		               "\"RollingUpdate\"",
		               st);
}

/* CONTAINERS, IMAGES and SELECTOR, the wide columns both kinds share. */
static void workload_wide_cells(const cJSON *obj, cJSON *row)
{
	const cJSON *containers = ck_json_get(obj, "spec.template.spec.containers");
	kind_cell_take(row, kind_join(containers, "name"));
	kind_cell_take(row, kind_join(containers, "image"));
	_cleanup_selector_ selector *s = NULL;
	if (selector_from_label_selector(ck_json_get(obj, "spec.selector"), &s, NULL) == 0)
		kind_cell_take(row, selector_format(s));
	else
		kind_cell_none(row, NULL);
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
	workload_wide_cells(d, row);
}

static void replicaset_cells(const cJSON *rs, time_t now, cJSON *row)
{
	kind_cell_str(row, kind_str(rs, "metadata.name"));
	kind_cell_int(row, ck_json_get_int(rs, "spec.replicas", 0));
	kind_cell_int(row, ck_json_get_int(rs, "status.replicas", 0));
	kind_cell_int(row, ck_json_get_int(rs, "status.readyReplicas", 0));
	kind_cell_take(row, kind_age(kind_str(rs, "metadata.creationTimestamp"), now));
	workload_wide_cells(rs, row);
}

static void clear_status(cJSON *obj)
{
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
	cJSON_AddObjectToObject(obj, "status");
}

#define NAME_COL                                                                                   \
	{                                                                                          \
		"Name", "string", "name", 0, "Name must be unique within a namespace."             \
	}
#define AGE_COL                                                                                    \
	{                                                                                          \
		"Age", "string", "", 0, "Time since the object was created."                       \
	}
#define WIDE_COLS                                                                                  \
	{"Containers", "string", "", 1, "Names of each container in the template."},               \
	    {"Images", "string", "", 1, "Images referenced by each container in the template."},   \
	{                                                                                          \
		"Selector", "string", "", 1, "Label selector for the pods."                        \
	}

static const kind_column deployment_columns[] = {
    NAME_COL,
    {"Ready", "string", "", 0, "Number of the pod with ready state"},
    {"Up-to-date", "string", "", 0,
     "Total number of non-terminated pods targeted by this deployment that have the desired "
     "template spec."},
    {"Available", "string", "", 0,
     "Total number of available pods (ready for at least minReadySeconds) targeted by this "
     "deployment."},
    AGE_COL,
    WIDE_COLS,
};

static const kind_column replicaset_columns[] = {
    NAME_COL,
    {"Desired", "integer", "", 0, "Number of desired pods."},
    {"Current", "integer", "", 0, "The most recently observed number of replicas."},
    {"Ready", "integer", "", 0, "The number of ready replicas for this replica set."},
    AGE_COL,
    WIDE_COLS,
};

static const kind_subresource workload_subs[] = {
    {.name = "scale",
     .group = "autoscaling",
     .version = "v1",
     .kind = "Scale",
     .verbs = kind_view_verbs,
     .type = KIND_SUB_SCALE,
     .scale = &kind_scale_replicas},
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
                                   .create_status = clear_status,
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
                                   .create_status = clear_status,
                                   .pb = &k8s__io__api__apps__v1__replica_set__descriptor};
