/* A node whose Ready condition is not True takes no pods, unless they tolerate the taint
 * the node lifecycle controller would put there (not-ready / unreachable, NoSchedule). */
#include <string.h>

#include "api/condition.h"
#include "base/json.h"
#include "scheduler.h"

char *filter_node_ready(const cJSON *pod, const sched_node_info *ni)
{
	const char *status = condition_status(ni->node, "Ready", "Unknown");
	if (!strcmp(status, "True"))
		return NULL;
	const char *key = !strcmp(status, "False") ? "node.kubernetes.io/not-ready"
	                                           : "node.kubernetes.io/unreachable";
	if (sched_tolerates_key(pod, key, "NoSchedule"))
		return NULL;
	return ck_asprintf("node(s) had untolerated taint {%s: }", key);
}
