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

char *sched_failure_message(char *const *reasons, size_t n)
{
	if (n == 0)
		return ck_strdup("no nodes available to schedule pods");
	/* Each reason may list several ("Insufficient cpu, Insufficient memory"): count each. */
	char **all = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!reasons[i])
			continue;
		_cleanup_strv_ char **parts = ck_strv_split(reasons[i], ",");
		for (char **p = parts; *p; p++) {
			const char *s = *p;
			while (*s == ' ')
				s++;
			ck_strv_add(&all, s);
		}
	}
	size_t m = ck_strv_len(all);
	if (m)
		qsort(all, m, sizeof(*all), cmp_str);
	ck_buf b = {0};
	ck_buf_printf(&b, "0/%zu nodes are available", n);
	for (size_t i = 0; i < m;) {
		size_t j = i;
		while (j < m && !strcmp(all[i], all[j]))
			j++;
		ck_buf_printf(&b, "%s %zu %s", i == 0 ? ":" : ",", j - i, all[i]);
		i = j;
	}
	ck_buf_putc(&b, '.');
	ck_strv_free(all);
	return ck_buf_steal(&b);
}
