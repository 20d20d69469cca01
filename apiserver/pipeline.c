/* pipeline: authn, authz and admission for the verbs. */
#include "pipeline.h"

#include <stdlib.h>

#include "base/json.h"
#include "base/log.h"

void pipeline_attrs(api_req *r, enum admission_op op, const char *name, admission_attrs *a,
                    auth_user *u)
{
	authn_user(r->hr, u);
	*a = (admission_attrs){.op = op,
	                       .kind = r->rt.kind,
	                       .subresource = r->rt.sub,
	                       .ns = r->rt.kind->namespaced ? r->rt.ns : NULL,
	                       .name = name,
	                       .user = u,
	                       .dry_run = r->dry_run};
}

cJSON *pipeline_begin(pipeline *p, api_req *r, enum admission_op op, const char *name)
{
	pipeline_attrs(r, op, name, &p->attrs, &p->user);
	cJSON *s = authz_check(&p->attrs);
	if (s)
		return s;
	p->run = admission_run_new(r->srv, &p->attrs, true);
	return NULL;
}

void pipeline_end(pipeline *p)
{
	admission_run_free(p->run, p->stored);
	p->run = NULL;
}

typedef struct now_result {
	bool done;
	cJSON *status;
} now_result;

static void finished_now(cJSON *status, void *data)
{
	now_result *res = data;
	res->done = true;
	res->status = status;
}

cJSON *pipeline_admit_now(apiserver *s, const admission_attrs *a,
                          const admission_plugin *const *chain, cJSON *obj, const cJSON *old)
{
	now_result res = {0};
	admission_run *q = admission_run_new(s, a, false);
	admission_start(q, chain, obj, old, finished_now, &res);
	if (!res.done) {
		/* A plugin waits where nothing can: a bug in the plugin table. */
		CK_ERROR("an admission plugin not marked waits did not finish (%s)",
		         a->kind->plural);
		abort();
	}
	admission_run_free(q, false);
	return res.status;
}
