/* kind_limitrange: core/v1 LimitRanges, per-namespace bounds and defaults of resources. */
#include "api/kind.h"

#include <stdlib.h>
#include <string.h>

#include "k8s/core.pb-c.h"
#include "api/quantity.h"
#include "base/error.h"
#include "base/json.h"

/* The quantity of resource name in map key of limit, when given and valid. */
static bool limit_value(const cJSON *limit, const char *key, const char *name, quantity *q)
{
	const cJSON *v = ck_json_get(cJSON_GetObjectItemCaseSensitive(limit, key), name);
	return v && quantity_from_json(v, q) == 0;
}

/* Checks each quantity of map key of limits[i]: valid and not negative. */
static void check_quantities(const cJSON *limit, const char *key, size_t i, kind_causes *causes)
{
	const cJSON *q;
	cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(limit, key))
	{
		_cleanup_free_ char *field =
		    ck_asprintf("spec.limits[%zu].%s[%s]", i, key, q->string);
		quantity v;
		_cleanup_free_ char *text =
		    cJSON_IsString(q) ? ck_strdup(q->valuestring) : ck_json_print(q);
		if (quantity_from_json(q, &v) < 0)
			kind_cause_invalid(causes, field, text ? text : "",
			                   "quantities must match the regular expression "
			                   "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
		else if (v.milli < 0)
			kind_cause_invalid(causes, field, text ? text : "",
			                   "must be greater than or equal to 0");
	}
}

/* Upstream's order checks: lower must not exceed upper for every resource both name. */
static void check_order(const cJSON *limit, size_t i, const char *lower, const char *upper,
                        const char *lower_name, const char *upper_name, kind_causes *causes)
{
	const cJSON *q;
	cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(limit, lower))
	{
		quantity lo, hi;
		if (!limit_value(limit, lower, q->string, &lo) ||
		    !limit_value(limit, upper, q->string, &hi) || lo.milli <= hi.milli)
			continue;
		_cleanup_free_ char *field =
		    ck_asprintf("spec.limits[%zu].%s[%s]", i, lower, q->string);
		_cleanup_free_ char *lo_s = quantity_format(&lo);
		_cleanup_free_ char *hi_s = quantity_format(&hi);
		_cleanup_free_ char *why = ck_asprintf("%s value %s is greater than %s value %s",
		                                       lower_name, lo_s, upper_name, hi_s);
		kind_cause_invalid(causes, field, lo_s, why);
	}
}

static void limitrange_validate(const cJSON *lr, kind_causes *causes)
{
	static const char *const maps[] = {"max", "min", "default", "defaultRequest",
	                                   "maxLimitRequestRatio"};
	static const struct {
		const char *lower, *upper, *lower_name, *upper_name;
	} order[] = {
	    {"min", "max", "min", "max"},
	    {"min", "defaultRequest", "min", "default request"},
	    {"defaultRequest", "max", "default request", "max"},
	    {"defaultRequest", "default", "default request", "default limit"},
	    {"min", "default", "min", "default"},
	    {"default", "max", "default", "max"},
	};
	const cJSON *limits = ck_json_get(lr, "spec.limits");
	size_t i = 0;
	const cJSON *limit;
	cJSON_ArrayForEach(limit, limits)
	{
		const char *type = kind_str(limit, "type");
		size_t j = 0;
		const cJSON *prev;
		cJSON_ArrayForEach(prev, limits)
		{
			if (j++ == i)
				break;
			if (*type && !strcmp(kind_str(prev, "type"), type)) {
				_cleanup_free_ char *field =
				    ck_asprintf("spec.limits[%zu].type", i);
				kind_cause_add(causes, "FieldValueDuplicate", field,
				               "Duplicate value: \"%s\"", type);
				break;
			}
		}
		for (size_t m = 0; m < CK_ARRAY_SIZE(maps); m++)
			check_quantities(limit, maps[m], i, causes);
		if (!strcmp(type, "Pod")) {
			static const char *const pod_forbids[] = {"default", "defaultRequest"};
			for (size_t m = 0; m < CK_ARRAY_SIZE(pod_forbids); m++) {
				if (!cJSON_GetArraySize(ck_json_get(limit, pod_forbids[m])))
					continue;
				_cleanup_free_ char *field =
				    ck_asprintf("spec.limits[%zu].%s", i, pod_forbids[m]);
				kind_cause_add(
				    causes, "FieldValueForbidden", field,
				    "Forbidden: may not be specified when `type` is 'Pod'");
			}
		}
		for (size_t o = 0; o < CK_ARRAY_SIZE(order); o++)
			check_order(limit, i, order[o].lower, order[o].upper, order[o].lower_name,
			            order[o].upper_name, causes);
		i++;
	}
}

static void limitrange_cells(const cJSON *lr, time_t now, cJSON *row)
{
	kind_cell_str(row, kind_str(lr, "metadata.name"));
	kind_cell_str(row, kind_str(lr, "metadata.creationTimestamp"));
}

static const kind_column limitrange_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Created At", "date", "", 0, "The time the object was created."},
};

static const char *const limitrange_short[] = {"limits", NULL};

const kind_desc kind_limitrange = {
    .group = "",
    .version = "v1",
    .kind = "LimitRange",
    .plural = "limitranges",
    .singular = "limitrange",
    .short_names = limitrange_short,
    .namespaced = true,
    .etcd_resource = "limitranges",
    .columns = KIND_COLUMNS(limitrange_columns),
    .cells = limitrange_cells,
    .validate = limitrange_validate,
    .pb = &k8s__io__api__core__v1__limit_range__descriptor,
};
