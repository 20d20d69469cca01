/* admission_service_account: upstream's ServiceAccount plugin, the part ckube has: a pod
 * without a service account runs as "default" (spec.serviceAccount, the deprecated
 * spelling, follows). An update that leaves it out keeps the pod's (a pod's service
 * account never changes). The token volume comes with the security work. */
#include "admission.h"

#include "base/json.h"

static void service_account_admit(admission_run *q)
{
	cJSON *spec = kind_child_object(admission_obj(q), "spec");
	const char *was = kind_str(admission_old(q), "spec.serviceAccountName");
	kind_default_str(spec, "serviceAccountName", *was ? was : "default");
	kind_default_str(spec, "serviceAccount",
	                 ck_json_get_str(spec, "serviceAccountName", "default"));
	admission_next(q, NULL);
}

const admission_plugin admission_service_account = {
    .name = "ServiceAccount",
    .ops = ADMIT_CREATE | ADMIT_UPDATE,
    .group = "",
    .kind = "Pod",
    .admit = service_account_admit,
};
