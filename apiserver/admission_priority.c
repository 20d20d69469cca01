/* admission_priority: upstream's Priority plugin: a pod's spec.priority comes from its
 * priorityClassName (the two system classes; 0 without a class, as there is no global
 * default), and spec.preemptionPolicy defaults to PreemptLowerPriority. ckube serves no
 * PriorityClass objects yet, so another class name gets 0. An update that leaves them
 * out keeps the pod's. */
#include "admission.h"

#include <string.h>

#include "base/error.h"
#include "base/json.h"

static const struct {
	const char *name;
	long long value;
} system_classes[] = {
    {"system-node-critical", 2000001000},
    {"system-cluster-critical", 2000000000},
};

static void priority_admit(admission_run *q)
{
	cJSON *spec = kind_child_object(admission_obj(q), "spec");
	const cJSON *old = admission_old(q);
	const char *cls = kind_str(spec, "priorityClassName");
	long long value = 0;
	for (size_t i = 0; i < CK_ARRAY_SIZE(system_classes); i++)
		if (!strcmp(cls, system_classes[i].name))
			value = system_classes[i].value;
	kind_default_int(spec, "priority", ck_json_get_int(old, "spec.priority", value));
	const char *policy = kind_str(old, "spec.preemptionPolicy");
	kind_default_str(spec, "preemptionPolicy", *policy ? policy : "PreemptLowerPriority");
	admission_next(q, NULL);
}

const admission_plugin admission_priority = {
    .name = "Priority",
    .ops = ADMIT_CREATE | ADMIT_UPDATE,
    .group = "",
    .kind = "Pod",
    .admit = priority_admit,
};
