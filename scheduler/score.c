/* Scoring. NodeResourcesFit, LeastAllocated strategy: prefer nodes with the most free cpu
 * and memory (equal weights) once the pod is placed; pods without requests count as
 * upstream's non-zero defaults (100m cpu, 200Mi memory) so that they spread.
 * BalancedAllocation: prefer nodes whose cpu and memory shares stay close. NodeAffinity:
 * preferred terms. TaintToleration: fewer untolerated PreferNoSchedule taints. */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "scheduler.h"

#define DEFAULT_CPU_MILLI 100
#define DEFAULT_MEMORY    (200LL * 1024 * 1024)

static int64_t free_share(int64_t requested, int64_t capacity)
{
	if (capacity <= 0 || requested > capacity)
		return 0;
	return (capacity - requested) * 100 / capacity;
}

/* The scores over the pod's requests (computed once per attempt, not per node). */
static int64_t least_allocated(sched_res want, const sched_node_info *ni)
{
	sched_res alloc = ni->allocatable;
	if (!want.cpu_milli)
		want.cpu_milli = DEFAULT_CPU_MILLI;
	if (!want.memory)
		want.memory = DEFAULT_MEMORY;
	int64_t cpu = free_share(ni->requested.cpu_milli + want.cpu_milli, alloc.cpu_milli);
	int64_t mem = free_share(ni->requested.memory + want.memory, alloc.memory);
	return (cpu + mem) / 2;
}

int64_t score_least_allocated(const cJSON *pod, const sched_node_info *ni)
{
	sched_res want;
	sched_pod_requests(pod, &want);
	return least_allocated(want, ni);
}

/* Share of capacity in [0, 1]. */
static double share(int64_t requested, int64_t capacity)
{
	if (capacity <= 0 || requested >= capacity)
		return 1;
	return (double)requested / (double)capacity;
}

static int64_t balanced_allocation(const sched_res *want, const sched_node_info *ni)
{
	double cpu = share(ni->requested.cpu_milli + want->cpu_milli, ni->allocatable.cpu_milli);
	double mem = share(ni->requested.memory + want->memory, ni->allocatable.memory);
	/* The standard deviation of two shares is half their distance. */
	double std = (cpu > mem ? cpu - mem : mem - cpu) / 2;
	return (int64_t)((1 - std) * 100);
}

int64_t score_balanced_allocation(const cJSON *pod, const sched_node_info *ni)
{
	sched_res want;
	sched_pod_requests(pod, &want);
	return balanced_allocation(&want, ni);
}

int64_t score_node_affinity_raw(const cJSON *pod, const cJSON *node)
{
	int64_t sum = 0;
	const cJSON *t;
	cJSON_ArrayForEach(
	    t,
	    ck_json_get(
	        pod, "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution"))
	{
		int64_t w = ck_json_get_int(t, "weight", 0);
		if (w > 0 && sched_term_matches(ck_json_get(t, "preference"), node))
			sum += w;
	}
	return sum;
}

int64_t score_taints_raw(const cJSON *pod, const cJSON *node)
{
	int64_t n = 0;
	const cJSON *taint;
	cJSON_ArrayForEach(taint, ck_json_get(node, "spec.taints"))
	{
		if (!strcmp(ck_json_get_str(taint, "effect", ""), "PreferNoSchedule") &&
		    !sched_tolerates(pod, taint))
			n++;
	}
	return n;
}

size_t sched_pick(const cJSON *pod, const sched_node_info *ni, size_t n, uint64_t *seed)
{
	int64_t *aff = ck_calloc(n, sizeof(*aff)), *taints = ck_calloc(n, sizeof(*taints));
	int64_t max_aff = 0, max_taints = 0;
	sched_res want;
	sched_pod_requests(pod, &want);
	for (size_t i = 0; i < n; i++) {
		aff[i] = score_node_affinity_raw(pod, ni[i].node);
		taints[i] = score_taints_raw(pod, ni[i].node);
		if (aff[i] > max_aff)
			max_aff = aff[i];
		if (taints[i] > max_taints)
			max_taints = taints[i];
	}
	size_t best = 0;
	int64_t best_score = -1;
	uint64_t ties = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t a = max_aff ? aff[i] * 100 / max_aff : 0;
		int64_t t = max_taints ? 100 - taints[i] * 100 / max_taints : 100;
		int64_t score = least_allocated(want, &ni[i]) + balanced_allocation(&want, &ni[i]) +
		                2 * a + 3 * t;
		if (score > best_score) {
			best_score = score;
			best = i;
			ties = 1;
		} else if (score == best_score) {
			/* Reservoir sampling among equal scores, as upstream. */
			*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
			if ((*seed >> 33) % ++ties == 0)
				best = i;
		}
	}
	free(aff);
	free(taints);
	return best;
}
