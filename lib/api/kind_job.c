/* kind_job: batch/v1 Jobs, pods run to completion. */
#include "api/kind.h"

#include <string.h>

#include "k8s/batch.pb-c.h"
#include "api/condition.h"
#include "base/error.h"
#include "base/json.h"

/* Upstream's generated selector: the template carries the job's name and uid under the
 * batch.kubernetes.io/ labels and their legacy spellings; the selector names the uid. Runs
 * on create, when the uid is known. */
static void job_create(cJSON *job)
{
	kind_clear_status(job);
	if (ck_json_get_bool(job, "spec.manualSelector", false))
		return;
	const char *name = kind_str(job, "metadata.name");
	const char *uid = kind_str(job, "metadata.uid");
	cJSON *spec = kind_child_object(job, "spec");
	cJSON *labels = kind_child_object(
	    kind_child_object(kind_child_object(spec, "template"), "metadata"), "labels");
	kind_default_str(labels, "job-name", name);
	kind_default_str(labels, "batch.kubernetes.io/job-name", name);
	kind_default_str(labels, "controller-uid", uid);
	kind_default_str(labels, "batch.kubernetes.io/controller-uid", uid);
	cJSON *match = kind_child_object(kind_child_object(spec, "selector"), "matchLabels");
	kind_default_str(match, "batch.kubernetes.io/controller-uid", uid);
}

static void job_defaults(cJSON *job)
{
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(job, "spec");
	if (!cJSON_IsObject(spec))
		return;
	if (!ck_json_get(spec, "completions") && !ck_json_get(spec, "parallelism"))
		kind_default_int(spec, "completions", 1);
	kind_default_int(spec, "parallelism", 1);
	kind_default_int(spec, "backoffLimit",
	                 ck_json_get(spec, "backoffLimitPerIndex") ? 2147483647 : 6);
	kind_default_str(spec, "completionMode", "NonIndexed");
	if (!ck_json_get(spec, "suspend"))
		cJSON_AddFalseToObject(spec, "suspend");
	kind_default_str(spec, "podReplacementPolicy",
	                 ck_json_get(spec, "podFailurePolicy") ? "Failed" : "TerminatingOrFailed");
	if (!ck_json_get(spec, "manualSelector"))
		cJSON_AddFalseToObject(spec, "manualSelector");
	const cJSON *tlabels = ck_json_get(spec, "template.metadata.labels");
	if (cJSON_GetArraySize(tlabels) &&
	    !cJSON_GetArraySize(ck_json_get(job, "metadata.labels"))) {
		cJSON *meta = kind_child_object(job, "metadata");
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "labels");
		cJSON_AddItemToObject(meta, "labels", ck_json_dup(tlabels));
	}
	kind_pod_spec_defaults(ck_json_get(spec, "template.spec"));
}

void kind_job_spec_validate(const cJSON *spec, const char *path, kind_causes *causes)
{
	static const char *const restart[] = {"OnFailure", "Never", NULL};
	static const char *const counts[] = {"parallelism", "completions", "backoffLimit"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(counts); i++) {
		_cleanup_free_ char *field = ck_asprintf("%s.%s", path, counts[i]);
		const cJSON *v = ck_json_get(spec, counts[i]);
		if (cJSON_IsNumber(v) && v->valuedouble < 0) {
			_cleanup_free_ char *text = ck_asprintf("%lld", (long long)v->valuedouble);
			kind_cause_invalid(causes, field, text,
			                   "must be greater than or equal to 0");
		}
	}
	static const char *const modes[] = {"NonIndexed", "Indexed", NULL};
	_cleanup_free_ char *mode_field = ck_asprintf("%s.completionMode", path);
	kind_enum_validate(spec, "completionMode", "NonIndexed", modes, mode_field, causes);
	const char *mode = ck_json_get_str(spec, "completionMode", "NonIndexed");
	if (!strcmp(mode, "Indexed") && !ck_json_get(spec, "completions")) {
		_cleanup_free_ char *field = ck_asprintf("%s.completions", path);
		kind_cause_add(causes, "FieldValueRequired", field,
		               "Required value: when completion mode is Indexed");
	}
	_cleanup_free_ char *pod_path = ck_asprintf("%s.template.spec", path);
	kind_pod_spec_validate(ck_json_get(spec, "template.spec"), pod_path, causes);
	_cleanup_free_ char *rp_field = ck_asprintf("%s.template.spec.restartPolicy", path);
	kind_enum_validate(spec, "template.spec.restartPolicy", "Always", restart, rp_field,
	                   causes);
}

static void job_validate(const cJSON *job, kind_causes *causes)
{
	const cJSON *spec = ck_json_get(job, "spec");
	kind_selector_validate(spec, "spec", NULL, causes);
	kind_job_spec_validate(spec, "spec", causes);
}

/* The STATUS column: the first condition that holds, in upstream's order. */
static const char *job_status(const cJSON *job)
{
	if (condition_true(job, "Complete"))
		return "Complete";
	if (condition_true(job, "Failed"))
		return "Failed";
	if (ck_json_get(job, "metadata.deletionTimestamp"))
		return "Terminating";
	static const char *const others[] = {"Suspended", "FailureTarget", "SuccessCriteriaMet"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(others); i++)
		if (condition_true(job, others[i]))
			return others[i];
	return "Running";
}

static char *job_completions(const cJSON *job)
{
	long long ok = ck_json_get_int(job, "status.succeeded", 0);
	if (ck_json_get(job, "spec.completions"))
		return ck_asprintf("%lld/%lld", ok,
		                   (long long)ck_json_get_int(job, "spec.completions", 0));
	long long par = ck_json_get_int(job, "spec.parallelism", 0);
	if (par > 1)
		return ck_asprintf("%lld/1 of %lld", ok, par);
	return ck_asprintf("%lld/1", ok);
}

/* From start to completion, or to now while the job runs; "" before it starts. */
static char *job_duration(const cJSON *job, time_t now)
{
	const char *start = kind_str(job, "status.startTime");
	if (!*start)
		return ck_strdup("");
	struct timespec end;
	if (ck_time_parse_rfc3339(kind_str(job, "status.completionTime"), &end) == 0)
		now = end.tv_sec;
	return kind_age(start, now);
}

static void job_cells(const cJSON *job, time_t now, cJSON *row)
{
	kind_cell_str(row, kind_str(job, "metadata.name"));
	kind_cell_str(row, job_status(job));
	kind_cell_take(row, job_completions(job));
	_cleanup_free_ char *duration = job_duration(job, now);
	kind_cell_str(row, duration);
	kind_cell_take(row, kind_age(kind_str(job, "metadata.creationTimestamp"), now));
	kind_template_cells(ck_json_get(job, "spec"), true, row);
}

static const kind_column job_columns[] = {
    KIND_COLUMN_NAME,
    {"Status", "string", "", 0, "Status of the job."},
    {"Completions", "string", "", 0, "The completed job pods and the number wanted."},
    {"Duration", "string", "", 0, "Time required to complete the job."},
    KIND_COLUMN_AGE,
    KIND_COLUMNS_TEMPLATE,
    {"Selector", "string", "", 1, "A label query over pods that should match the pod count."},
};

static const kind_subresource job_subs[] = {KIND_SUB_STATUS};

const kind_desc kind_job = {
    .group = "batch",
    .version = "v1",
    .kind = "Job",
    .plural = "jobs",
    .singular = "job",
    .categories = kind_category_all,
    .namespaced = true,
    .etcd_resource = "jobs",
    .subresources = KIND_SUBRESOURCES(job_subs),
    .columns = KIND_COLUMNS(job_columns),
    .cells = job_cells,
    .defaults = job_defaults,
    .validate = job_validate,
    .create_status = job_create,
    .pb = &k8s__io__api__batch__v1__job__descriptor,
};
