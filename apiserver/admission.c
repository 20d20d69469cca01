/* admission: running the plugin chains. */
#include "admission.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

const admission_plugin *const admission_mutating[] = {
    &admission_service_account,
    &admission_default_toleration,
    &admission_priority,
    &admission_service_alloc,
    NULL,
};

const admission_plugin *const admission_validating[] = {
    &admission_namespace_lifecycle,
    NULL,
};

/* A plugin that ran, with what it keeps until the request ends. */
typedef struct ran {
	const admission_plugin *p;
	void *state;
} ran;

struct admission_run {
	apiserver *srv;
	const admission_attrs *attrs;
	const admission_plugin *const *chain;
	size_t next; /* index in chain of the plugin to run next */
	cJSON *obj;
	const cJSON *old;
	void (*done)(cJSON *status, void *data);
	void *data;
	ran *ran;
	size_t n_ran;
	size_t cur; /* the entry of ran whose plugin runs (admit or finish) */
	bool can_wait;
};

admission_run *admission_run_new(apiserver *srv, const admission_attrs *attrs, bool can_wait)
{
	admission_run *q = ck_calloc(1, sizeof(*q));
	q->srv = srv;
	q->attrs = attrs;
	q->can_wait = can_wait;
	return q;
}

static bool for_kind(const admission_plugin *p, const kind_desc *k)
{
	return !p->kind || (!strcmp(p->kind, k->kind) && !strcmp(p->group, k->group));
}

static bool handles(const admission_run *q, const admission_plugin *p)
{
	const admission_attrs *a = q->attrs;
	return (p->ops & a->op) && (!a->subresource || p->subresources) &&
	       (q->can_wait || !p->waits) && for_kind(p, a->kind);
}

/* Runs the next plugin that handles the request, or reports the chain passed. */
static void run_next(admission_run *q)
{
	while (q->chain[q->next] && !handles(q, q->chain[q->next]))
		q->next++;
	const admission_plugin *p = q->chain[q->next];
	if (!p) {
		q->done(NULL, q->data);
		return;
	}
	q->ran = ck_realloc(q->ran, (q->n_ran + 1) * sizeof(*q->ran));
	q->cur = q->n_ran;
	q->ran[q->n_ran++] = (ran){p, NULL};
	p->admit(q);
}

void admission_start(admission_run *q, const admission_plugin *const *chain, cJSON *obj,
                     const cJSON *old, void (*done)(cJSON *status, void *data), void *data)
{
	q->chain = chain;
	q->next = 0;
	q->obj = obj;
	q->old = old;
	q->done = done;
	q->data = data;
	run_next(q);
}

void admission_next(admission_run *q, cJSON *status)
{
	if (status) {
		q->done(status, q->data);
		return;
	}
	q->next++;
	run_next(q);
}

void admission_run_free(admission_run *q, bool stored)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->n_ran; i++) {
		q->cur = i;
		if (q->ran[i].p->finish)
			q->ran[i].p->finish(q, stored);
	}
	free(q->ran);
	free(q);
}

void admission_removed(apiserver *s, const kind_desc *k, const cJSON *obj)
{
	const admission_plugin *const *chains[] = {admission_mutating, admission_validating};
	for (size_t c = 0; c < CK_ARRAY_SIZE(chains); c++)
		for (const admission_plugin *const *p = chains[c]; *p; p++)
			if ((*p)->removed && for_kind(*p, k))
				(*p)->removed(s, k, obj);
}

const admission_attrs *admission_attrs_of(const admission_run *q)
{
	return q->attrs;
}

cJSON *admission_obj(const admission_run *q)
{
	return q->obj;
}

const cJSON *admission_old(const admission_run *q)
{
	return q->old;
}

apiserver *admission_server(const admission_run *q)
{
	return q->srv;
}

void **admission_state(admission_run *q)
{
	return &q->ran[q->cur].state;
}
