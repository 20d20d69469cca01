/* validate: metadata checks and the kinds' validate functions. */
#include "validate.h"

#include <string.h>

#include "base/json.h"

static void validate_labels(const cJSON *labels, kind_causes *c)
{
	const cJSON *l;
	cJSON_ArrayForEach(l, labels)
	{
		if (!cJSON_IsString(l)) {
			kind_cause_invalid(c, "metadata.labels", l->string,
			                   "label values must be strings");
			continue;
		}
		if (strlen(l->valuestring) > 63)
			kind_cause_invalid(c, "metadata.labels", l->valuestring,
			                   "must be no more than 63 characters");
	}
}

cJSON *validate_object(const kind_desc *k, const cJSON *obj)
{
	kind_causes c = {0};
	const char *name = ck_json_get_str(obj, "metadata.name", "");
	if (!*name)
		kind_cause_add(&c, "FieldValueRequired", "metadata.name",
		               "Required value: name or generateName is required");
	else if (k->name_is_label ? !kind_dns1123_label(name) : !kind_dns1123_subdomain(name))
		kind_cause_invalid(&c, "metadata.name", name,
		                   k->name_is_label ? KIND_DNS1123_LABEL_MSG
		                                    : KIND_DNS1123_SUBDOMAIN_MSG);
	validate_labels(ck_json_get(obj, "metadata.labels"), &c);
	if (k->validate)
		k->validate(obj, &c);
	return c.list;
}
