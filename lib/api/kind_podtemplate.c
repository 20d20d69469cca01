/* kind_podtemplate: core/v1 PodTemplates, pod templates stored for others to read. */
#include "api/kind.h"

#include <stdlib.h>

#include "k8s/core.pb-c.h"
#include "base/json.h"

static void podtemplate_defaults(cJSON *pt)
{
	kind_pod_spec_defaults(ck_json_get(pt, "template.spec"));
}

static void podtemplate_validate(const cJSON *pt, kind_causes *causes)
{
	const cJSON *spec = ck_json_get(pt, "template.spec");
	if (!cJSON_IsObject(spec)) {
		kind_cause_required(causes, "template.spec.containers");
		return;
	}
	kind_pod_spec_validate(spec, "template.spec", causes);
}

static void podtemplate_cells(const cJSON *pt, time_t now, cJSON *row)
{
	const cJSON *containers = ck_json_get(pt, "template.spec.containers");
	kind_cell_str(row, kind_str(pt, "metadata.name"));
	kind_cell_take(row, kind_join(containers, "name"));
	kind_cell_take(row, kind_join(containers, "image"));
	kind_cell_take(
	    row, kind_format_map(ck_json_get(pt, "template.metadata.labels"), KIND_MAP_LABELS));
}

static const kind_column podtemplate_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Containers", "string", "", 0, "Names of each container in the template."},
    {"Images", "string", "", 0, "Images referenced by each container in the template."},
    {"Pod Labels", "string", "", 0, "The labels for the pod template."},
};

const kind_desc kind_podtemplate = {
    .group = "",
    .version = "v1",
    .kind = "PodTemplate",
    .plural = "podtemplates",
    .singular = "podtemplate",
    .namespaced = true,
    .etcd_resource = "podtemplates",
    .columns = KIND_COLUMNS(podtemplate_columns),
    .cells = podtemplate_cells,
    .defaults = podtemplate_defaults,
    .validate = podtemplate_validate,
    .pb = &k8s__io__api__core__v1__pod_template__descriptor,
};
