/* The filter chain in upstream's order, and the aggregated failure message. */
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "scheduler.h"

static const sched_filter_fn filters[] = {
    filter_unschedulable, filter_node_ready, filter_taints,
    filter_node_selector, filter_node_ports, filter_resources,
};

char *sched_filter_node(const cJSON *pod, const sched_node_info *ni)
{
	for (size_t i = 0; i < CK_ARRAY_SIZE(filters); i++) {
		char *why = filters[i](pod, ni);
		if (why)
			return why;
	}
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reasons that removing pods cannot cure: upstream's UnschedulableAndUnresolvable
 * (NodeUnschedulable, TaintToleration, NodeAffinity). */
static bool unresolvable(const char *reason)
{
	return !strcmp(reason, "node(s) were unschedulable") ||
	       !strncmp(reason, "node(s) had untolerated taint", 29) ||
	       !strcmp(reason, "node(s) didn't match Pod's node affinity/selector");
}

/* Appends "0/n nodes are available: <count reason>, ...." to b, the "count reason"
 * strings sorted as strings, as upstream's FitError. all is sorted. */
static void histogram(ck_buf *b, size_t n, char **all)
{
	size_t m = ck_strv_len(all);
	char **counted = NULL;
	for (size_t i = 0; i < m;) {
		size_t j = i;
		while (j < m && !strcmp(all[i], all[j]))
			j++;
		_cleanup_free_ char *s = ck_asprintf("%zu %s", j - i, all[i]);
		ck_strv_add(&counted, s);
		i = j;
	}
	size_t k = ck_strv_len(counted);
	if (k)
		qsort(counted, k, sizeof(*counted), cmp_str);
	ck_buf_printf(b, "0/%zu nodes are available", n);
	for (size_t i = 0; i < k; i++)
		ck_buf_printf(b, "%s %s", i == 0 ? ":" : ",", counted[i]);
	ck_buf_putc(b, '.');
	ck_strv_free(counted);
}

char *sched_failure_message(char *const *reasons, size_t n)
{
	if (n == 0)
		return ck_strdup("no nodes available to schedule pods");
	/* Each reason may list several ("Insufficient cpu, Insufficient memory"): count each.
	 * No pod has a lower priority than another yet, so preemption finds no victims where
	 * it might help. */
	char **all = NULL, **preemption = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!reasons[i])
			continue;
		_cleanup_strv_ char **parts = ck_strv_split(reasons[i], ",");
		bool hopeless = false;
		for (char **p = parts; *p; p++) {
			const char *s = *p;
			while (*s == ' ')
				s++;
			ck_strv_add(&all, s);
			hopeless = hopeless || unresolvable(s);
		}
		ck_strv_add(&preemption, hopeless ? "Preemption is not helpful for scheduling"
		                                  : "No preemption victims found for incoming pod");
	}
	size_t m = ck_strv_len(all);
	if (m)
		qsort(all, m, sizeof(*all), cmp_str);
	m = ck_strv_len(preemption);
	if (m)
		qsort(preemption, m, sizeof(*preemption), cmp_str);
	ck_buf b = {0};
	histogram(&b, n, all);
	ck_buf_puts(&b, " preemption: ");
	histogram(&b, n, preemption);
	ck_strv_free(all);
	ck_strv_free(preemption);
	return ck_buf_steal(&b);
}
