/* fake_client: see fake_client.h. */
#include "fake_client.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/strbuf.h"

struct fake_client {
	fake_call **calls;
	size_t n;
	unsigned serial; /* for names, uids and resourceVersions */
};

static int fc_start(void *impl, const cm_request *rq, kc_result_fn cb, void *user, void **call)
{
	fake_client *fc = impl;
	fake_call *c = ck_calloc(1, sizeof(*c));
	c->verb = rq->verb;
	c->res = rq->res;
	c->ns = ck_strdup(rq->ns ? rq->ns : "");
	c->name = ck_strdup(rq->name ? rq->name : "");
	c->body = rq->body ? ck_json_dup(rq->body) : NULL;
	c->patch_type = rq->patch_type;
	if (rq->delete_opts) {
		if (rq->delete_opts->precondition_uid)
			c->precondition_uid = ck_strdup(rq->delete_opts->precondition_uid);
		if (rq->delete_opts->propagation_policy)
			c->propagation_policy = ck_strdup(rq->delete_opts->propagation_policy);
	}
	c->background = rq->background;
	c->cb = cb;
	c->user = user;
	fc->calls = ck_realloc(fc->calls, (fc->n + 1) * sizeof(*fc->calls));
	fc->calls[fc->n++] = c;
	if (call)
		*call = c;
	return 0;
}

static void fc_cancel(void *impl, void *call)
{
	((fake_call *)call)->cancelled = true;
}

const cm_api_ops FAKE_CLIENT_OPS = {.start = fc_start, .cancel = fc_cancel};

fake_client *fake_client_new(void)
{
	return ck_calloc(1, sizeof(fake_client));
}

void fake_client_free(fake_client *fc)
{
	if (!fc)
		return;
	for (size_t i = 0; i < fc->n; i++) {
		fake_call *c = fc->calls[i];
		free(c->ns);
		free(c->name);
		cJSON_Delete(c->body);
		free(c->precondition_uid);
		free(c->propagation_policy);
		free(c);
	}
	free(fc->calls);
	free(fc);
}

size_t fake_client_len(const fake_client *fc)
{
	return fc->n;
}

fake_call *fake_client_call(const fake_client *fc, size_t i)
{
	return i < fc->n ? fc->calls[i] : NULL;
}

static bool call_is(const fake_call *c, enum cm_verb verb, const char *kind)
{
	return c->verb == verb && (!kind || !strcmp(c->res->kind, kind));
}

static bool waiting(const fake_call *c)
{
	return !c->answered && !c->cancelled;
}

size_t fake_client_count(const fake_client *fc, enum cm_verb verb, const char *kind)
{
	size_t k = 0;
	for (size_t i = 0; i < fc->n; i++)
		k += call_is(fc->calls[i], verb, kind);
	return k;
}

size_t fake_client_count_pending(const fake_client *fc, enum cm_verb verb, const char *kind)
{
	size_t k = 0;
	for (size_t i = 0; i < fc->n; i++)
		k += call_is(fc->calls[i], verb, kind) && waiting(fc->calls[i]);
	return k;
}

fake_call *fake_client_find(const fake_client *fc, enum cm_verb verb, const char *kind,
                            const char *name)
{
	for (size_t i = 0; i < fc->n; i++)
		if (call_is(fc->calls[i], verb, kind) &&
		    (!name || !strcmp(fc->calls[i]->name, name)))
			return fc->calls[i];
	return NULL;
}

fake_call *fake_client_pending(const fake_client *fc, enum cm_verb verb, const char *kind)
{
	for (size_t i = 0; i < fc->n; i++)
		if (call_is(fc->calls[i], verb, kind) && waiting(fc->calls[i]))
			return fc->calls[i];
	return NULL;
}

/* The request's object as the apiserver would store it. */
static cJSON *echo(fake_client *fc, const fake_call *c)
{
	cJSON *obj = c->body && c->verb != CM_PATCH ? ck_json_dup(c->body) : cJSON_CreateObject();
	unsigned n = ++fc->serial;
	const char *gen = ck_json_get_str(obj, "metadata.generateName", NULL);
	if (!*kc_obj_name(obj)) {
		_cleanup_free_ char *name =
		    gen ? ck_asprintf("%s%05u", gen, n) : ck_strdup(c->name);
		ck_json_set_str(obj, "metadata.name", name);
	}
	if (*c->ns)
		ck_json_set_str(obj, "metadata.namespace", c->ns);
	if (!*kc_obj_uid(obj)) {
		_cleanup_free_ char *uid = ck_asprintf("uid-%u", n);
		ck_json_set_str(obj, "metadata.uid", uid);
	}
	_cleanup_free_ char *rv = ck_asprintf("%u", 1000 + n);
	ck_json_set_str(obj, "metadata.resourceVersion", rv);
	return obj;
}

void fake_client_answer(fake_client *fc, fake_call *call, int rc, cJSON *obj)
{
	call->answered = true;
	kc_result res = {.rc = rc, .status = rc == 0 ? 200 : 500, .obj = obj};
	if (rc == 0 && !obj)
		res.obj = echo(fc, call);
	if (rc < 0)
		ck_err_set(&res.err, rc, "fake failure");
	call->cb(&res, call->user);
	cJSON_Delete(res.obj);
	ck_err_freep(&res.err);
}

size_t fake_client_answer_all(fake_client *fc, enum cm_verb verb, const char *kind, int rc)
{
	size_t n = fc->n, k = 0;
	for (size_t i = 0; i < n; i++) {
		if (call_is(fc->calls[i], verb, kind) && waiting(fc->calls[i])) {
			fake_client_answer(fc, fc->calls[i], rc, NULL);
			k++;
		}
	}
	return k;
}

size_t fake_client_drain(fake_client *fc, int rc)
{
	size_t k = 0;
	for (size_t i = 0; i < fc->n; i++) {
		if (waiting(fc->calls[i])) {
			fake_client_answer(fc, fc->calls[i], rc, NULL);
			k++;
		}
	}
	return k;
}
