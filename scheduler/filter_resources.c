/* NodeResourcesFit: the node's allocatable cpu, memory and pod count must hold what the
 * pods on it request plus this pod. Also the request arithmetic the score shares. */
#include <string.h>

#include "api/quantity.h"
#include "base/json.h"
#include "base/strbuf.h"
#include "scheduler.h"

/* Whole-unit value of a quantity (bytes), or milli-units when milli. 0 when missing. */
static int64_t qty(const cJSON *j, bool milli)
{
	quantity q;
	if (!j || quantity_from_json(j, &q) < 0)
		return 0;
	return milli ? q.milli : quantity_value(&q);
}

static void container_requests(const cJSON *c, sched_res *r)
{
	const cJSON *req = ck_json_get(c, "resources.requests");
	const cJSON *lim = ck_json_get(c, "resources.limits");
	const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(req, "cpu");
	const cJSON *mem = cJSON_GetObjectItemCaseSensitive(req, "memory");
	if (!cpu)
		cpu = cJSON_GetObjectItemCaseSensitive(lim, "cpu");
	if (!mem)
		mem = cJSON_GetObjectItemCaseSensitive(lim, "memory");
	r->cpu_milli = qty(cpu, true);
	r->memory = qty(mem, false);
}

void sched_pod_requests(const cJSON *pod, sched_res *out)
{
	memset(out, 0, sizeof(*out));
	const cJSON *c;
	cJSON_ArrayForEach(c, ck_json_get(pod, "spec.containers"))
	{
		sched_res r;
		container_requests(c, &r);
		out->cpu_milli += r.cpu_milli;
		out->memory += r.memory;
	}
	cJSON_ArrayForEach(c, ck_json_get(pod, "spec.initContainers"))
	{
		sched_res r;
		container_requests(c, &r);
		if (r.cpu_milli > out->cpu_milli)
			out->cpu_milli = r.cpu_milli;
		if (r.memory > out->memory)
			out->memory = r.memory;
	}
	const cJSON *ov = ck_json_get(pod, "spec.overhead");
	out->cpu_milli += qty(cJSON_GetObjectItemCaseSensitive(ov, "cpu"), true);
	out->memory += qty(cJSON_GetObjectItemCaseSensitive(ov, "memory"), false);
	out->pods = 1;
}

void sched_node_allocatable(const cJSON *node, sched_res *out)
{
	const cJSON *a = ck_json_get(node, "status.allocatable");
	if (!a)
		a = ck_json_get(node, "status.capacity");
	out->cpu_milli = qty(cJSON_GetObjectItemCaseSensitive(a, "cpu"), true);
	out->memory = qty(cJSON_GetObjectItemCaseSensitive(a, "memory"), false);
	const cJSON *pods = cJSON_GetObjectItemCaseSensitive(a, "pods");
	out->pods = pods ? qty(pods, false) : 110;
}

bool sched_pod_active(const cJSON *pod)
{
	const char *phase = ck_json_get_str(pod, "status.phase", "");
	return strcmp(phase, "Succeeded") && strcmp(phase, "Failed");
}

char *filter_resources(const cJSON *pod, const sched_node_info *ni)
{
	sched_res want, alloc = ni->allocatable;
	sched_pod_requests(pod, &want);
	char **why = NULL;
	if (ni->requested.pods + 1 > alloc.pods)
		ck_strv_add(&why, "Too many pods");
	if (want.cpu_milli > 0 && ni->requested.cpu_milli + want.cpu_milli > alloc.cpu_milli)
		ck_strv_add(&why, "Insufficient cpu");
	if (want.memory > 0 && ni->requested.memory + want.memory > alloc.memory)
		ck_strv_add(&why, "Insufficient memory");
	if (!why)
		return NULL;
	char *s = ck_strv_join(why, ", ");
	ck_strv_free(why);
	return s;
}
