/* NodeUnschedulable: a cordoned node (spec.unschedulable) takes only pods tolerating
 * node.kubernetes.io/unschedulable:NoSchedule. */
#include "base/json.h"
#include "scheduler.h"

char *filter_unschedulable(const cJSON *pod, const sched_node_info *ni)
{
	if (!ck_json_get_bool(ni->node, "spec.unschedulable", false))
		return NULL;
	if (sched_tolerates_key(pod, "node.kubernetes.io/unschedulable", "NoSchedule"))
		return NULL;
	return ck_strdup("node(s) were unschedulable");
}
