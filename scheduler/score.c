/* NodeResourcesFit, LeastAllocated strategy: prefer nodes with the most free cpu and
 * memory (equal weights) once the pod is placed. Pods without requests count as upstream's
 * non-zero defaults (100m cpu, 200Mi memory) so that they spread. */
#include "scheduler.h"

#define DEFAULT_CPU_MILLI 100
#define DEFAULT_MEMORY    (200LL * 1024 * 1024)

static int64_t free_share(int64_t requested, int64_t capacity)
{
	if (capacity <= 0 || requested > capacity)
		return 0;
	return (capacity - requested) * 100 / capacity;
}

int64_t score_least_allocated(const cJSON *pod, const sched_node_info *ni)
{
	sched_res want, alloc;
	sched_pod_requests(pod, &want);
	sched_node_allocatable(ni->node, &alloc);
	if (!want.cpu_milli)
		want.cpu_milli = DEFAULT_CPU_MILLI;
	if (!want.memory)
		want.memory = DEFAULT_MEMORY;
	int64_t cpu = free_share(ni->requested.cpu_milli + want.cpu_milli, alloc.cpu_milli);
	int64_t mem = free_share(ni->requested.memory + want.memory, alloc.memory);
	return (cpu + mem) / 2;
}
