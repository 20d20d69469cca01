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

/* Upstream's limit on the total size of an object's annotations. */
#define ANNOTATIONS_MAX 262144

static void validate_annotations(const cJSON *annotations, kind_causes *c)
{
	size_t total = 0;
	const cJSON *a;
	cJSON_ArrayForEach(a, annotations)
	{
		total += strlen(a->string) + (cJSON_IsString(a) ? strlen(a->valuestring) : 0);
	}
	if (total > ANNOTATIONS_MAX)
		kind_cause_add(c, "FieldValueTooLong", "metadata.annotations",
		               "Too long: must have at most %d bytes", ANNOTATIONS_MAX);
}

cJSON *validate_object(const kind_desc *k, const cJSON *old, const cJSON *obj)
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
	validate_annotations(ck_json_get(obj, "metadata.annotations"), &c);
	if (k->validate)
		k->validate(obj, &c);
	if (old && k->validate_update)
		k->validate_update(old, obj, &c);
	return c.list;
}
