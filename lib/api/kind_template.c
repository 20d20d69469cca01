/* kind_template: what the workload kinds (Deployment, ReplicaSet, StatefulSet, DaemonSet,
 * Job, CronJob, ReplicationController) share about the pod template they carry: selector
 * checks, restart policies, the wide table cells. */
#include "api/kind.h"

#include <stdlib.h>
#include <string.h>

#include "api/selector.h"
#include "base/error.h"
#include "base/json.h"

void kind_selector_validate(const cJSON *spec, const char *path, const char *what,
                            kind_causes *causes)
{
	const cJSON *sel = ck_json_get(spec, "selector");
	_cleanup_free_ char *sel_field = ck_asprintf("%s.selector", path);
	_cleanup_selector_ selector *s = NULL;
	_cleanup_err_ ck_err *err = NULL;
	if (!cJSON_IsObject(sel)) {
		kind_cause_required(causes, sel_field);
	} else if (selector_from_label_selector(sel, &s, &err) < 0) {
		kind_cause_invalid(causes, sel_field, "", err->msg);
	} else if (what && !s->n_reqs) {
		/* Upstream prints the value in Go syntax. */
		kind_cause_add(causes, "FieldValueInvalid", sel_field,
		               "Invalid value: v1.LabelSelector{MatchLabels:map[string]string%s, "
		               "MatchExpressions:[]v1.LabelSelectorRequirement%s}: empty selector "
		               "is invalid for %s",
		               ck_json_get(sel, "matchLabels") ? "{}" : "(nil)",
		               ck_json_get(sel, "matchExpressions") ? "{}" : "(nil)", what);
	} else if (!selector_match_labels(s, ck_json_get(spec, "template.metadata.labels"))) {
		kind_template_labels_mismatch(spec, path, causes);
	}
}

void kind_template_labels_mismatch(const cJSON *spec, const char *path, kind_causes *causes)
{
	_cleanup_free_ char *field = ck_asprintf("%s.template.metadata.labels", path);
	_cleanup_free_ char *labels =
	    kind_format_map(ck_json_get(spec, "template.metadata.labels"), KIND_MAP_GO);
	kind_cause_add(causes, "FieldValueInvalid", field,
	               "Invalid value: %s: `selector` does not match template `labels`", labels);
}

void kind_enum_validate(const cJSON *o, const char *key, const char *def,
                        const char *const *allowed, const char *field, kind_causes *causes)
{
	const char *v = ck_json_get_str(o, key, def);
	_cleanup_buf_ ck_buf list = {0};
	for (size_t i = 0; allowed[i]; i++) {
		if (!strcmp(v, allowed[i]))
			return;
		kind_buf_sep(&list, ", ");
		ck_buf_printf(&list, "\"%s\"", allowed[i]);
	}
	kind_cause_add(causes, "FieldValueNotSupported", field ? field : key,
	               "Unsupported value: \"%s\": supported values: %s", v, ck_buf_str(&list));
}

void kind_nonnegative_validate(const cJSON *o, const char *key, const char *field,
                               kind_causes *causes)
{
	const cJSON *v = ck_json_get(o, key);
	if (cJSON_IsNumber(v) && v->valuedouble < 0)
		kind_cause_add(causes, "FieldValueInvalid", field ? field : key,
		               "Invalid value: %lld: must be greater than or equal to 0",
		               (long long)v->valuedouble);
}

void kind_template_cells(const cJSON *spec, bool with_selector, cJSON *row)
{
	const cJSON *containers = ck_json_get(spec, "template.spec.containers");
	kind_cell_take(row, kind_join(containers, "name"));
	kind_cell_take(row, kind_join(containers, "image"));
	if (!with_selector)
		return;
	_cleanup_selector_ selector *s = NULL;
	if (selector_from_label_selector(ck_json_get(spec, "selector"), &s, NULL) == 0)
		kind_cell_take(row, selector_format(s));
	else
		kind_cell_none(row, NULL);
}

void kind_clear_status(cJSON *obj)
{
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
	cJSON_AddObjectToObject(obj, "status");
}
