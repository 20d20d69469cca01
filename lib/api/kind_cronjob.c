/* kind_cronjob: batch/v1 CronJobs, Jobs made on a schedule. */
#include "api/kind.h"

#include <string.h>

#include "k8s/batch.pb-c.h"
#include "base/error.h"
#include "base/json.h"

static void cronjob_defaults(cJSON *cj)
{
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(cj, "spec");
	if (!cJSON_IsObject(spec))
		return;
	kind_default_str(spec, "concurrencyPolicy", "Allow");
	if (!ck_json_get(spec, "suspend"))
		cJSON_AddFalseToObject(spec, "suspend");
	kind_default_int(spec, "successfulJobsHistoryLimit", 3);
	kind_default_int(spec, "failedJobsHistoryLimit", 1);
	kind_pod_spec_defaults(ck_json_get(spec, "jobTemplate.spec.template.spec"));
}

/* What upstream's cron parser accepts at the least: a descriptor (@hourly, @every 1h) or
 * five fields; its message otherwise. */
static void schedule_validate(const char *schedule, kind_causes *causes)
{
	if (schedule[0] == '@')
		return;
	_cleanup_buf_ ck_buf fields = {0};
	size_t n = 0;
	for (const char *p = schedule; *p;) {
		p += strspn(p, " \t");
		size_t len = strcspn(p, " \t");
		if (!len)
			break;
		kind_buf_sep(&fields, " ");
		ck_buf_printf(&fields, "%.*s", (int)len, p);
		n++;
		p += len;
	}
	if (n != 5)
		kind_cause_add(causes, "FieldValueInvalid", "spec.schedule",
		               "Invalid value: \"%s\": expected exactly 5 fields, found %zu: [%s]",
		               schedule, n, ck_buf_str(&fields));
}

static void cronjob_validate(const cJSON *cj, kind_causes *causes)
{
	const cJSON *spec = ck_json_get(cj, "spec");
	const char *schedule = kind_str(spec, "schedule");
	if (!*schedule)
		kind_cause_required(causes, "spec.schedule");
	else
		schedule_validate(schedule, causes);
	static const char *const policies[] = {"Allow", "Forbid", "Replace", NULL};
	kind_enum_validate(cj, "spec.concurrencyPolicy", "Allow", policies, NULL, causes);
	kind_nonnegative_validate(cj, "spec.successfulJobsHistoryLimit", NULL, causes);
	kind_nonnegative_validate(cj, "spec.failedJobsHistoryLimit", NULL, causes);
	const cJSON *job = ck_json_get(spec, "jobTemplate.spec");
	/* Jobs made from the template get their selector generated. */
	if (ck_json_get(job, "selector"))
		kind_cause_add(causes, "FieldValueInvalid", "spec.jobTemplate.spec.selector",
		               "Invalid value: \"object\": `selector` will be auto-generated");
	kind_job_spec_validate(job, "spec.jobTemplate.spec", causes);
}

static void cronjob_cells(const cJSON *cj, time_t now, cJSON *row)
{
	kind_cell_str(row, kind_str(cj, "metadata.name"));
	kind_cell_str(row, kind_str(cj, "spec.schedule"));
	kind_cell_none(row, kind_str(cj, "spec.timeZone"));
	const cJSON *suspend = ck_json_get(cj, "spec.suspend");
	kind_cell_str(row, !cJSON_IsBool(suspend)  ? "<unset>"
	                   : cJSON_IsTrue(suspend) ? "True"
	                                           : "False");
	kind_cell_int(row, cJSON_GetArraySize(ck_json_get(cj, "status.active")));
	const char *last = kind_str(cj, "status.lastScheduleTime");
	kind_cell_take(row, *last ? kind_age(last, now) : NULL);
	kind_cell_take(row, kind_age(kind_str(cj, "metadata.creationTimestamp"), now));
	kind_template_cells(ck_json_get(cj, "spec.jobTemplate.spec"), true, row);
}

static const kind_column cronjob_columns[] = {
    KIND_COLUMN_NAME,
    {"Schedule", "string", "", 0, "The schedule in Cron format."},
    {"Timezone", "string", "", 0, "The time zone name for the given schedule."},
    {"Suspend", "boolean", "", 0,
     "This flag tells the controller to suspend subsequent executions."},
    {"Active", "integer", "", 0, "A list of pointers to currently running jobs."},
    {"Last Schedule", "string", "", 0,
     "Information when was the last time the job was successfully scheduled."},
    KIND_COLUMN_AGE,
    KIND_COLUMNS_TEMPLATE,
    {"Selector", "string", "", 1, "A label query over pods that should match the pod count."},
};

static const char *const cronjob_short[] = {"cj", NULL};

static const kind_subresource cronjob_subs[] = {KIND_SUB_STATUS};

const kind_desc kind_cronjob = {
    .group = "batch",
    .version = "v1",
    .kind = "CronJob",
    .plural = "cronjobs",
    .singular = "cronjob",
    .short_names = cronjob_short,
    .categories = kind_category_all,
    .namespaced = true,
    .etcd_resource = "cronjobs",
    .subresources = KIND_SUBRESOURCES(cronjob_subs),
    .columns = KIND_COLUMNS(cronjob_columns),
    .cells = cronjob_cells,
    .defaults = cronjob_defaults,
    .validate = cronjob_validate,
    .create_status = kind_clear_status,
    .pb = &k8s__io__api__batch__v1__cron_job__descriptor,
};
