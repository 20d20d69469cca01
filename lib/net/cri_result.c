/* cri_result: the callbacks that keep a call's outcome in a cri_result (see cri.h). */
#include <stdlib.h>
#include <string.h>

#include "net/cri_internal.h"

/* What every callback stores: the call ran, its code and its error's message. Returns
 * the result. */
static cri_result *got(void *data, int rc, const ck_err *err)
{
	cri_result *r = data;
	r->done = true;
	r->rc = rc;
	if (err)
		r->msg = ck_strdup(err->msg);
	return r;
}

void cri_result_on_done(int rc, const ck_err *err, void *data)
{
	got(data, rc, err);
}

void cri_result_on_id(int rc, const char *id, const ck_err *err, void *data)
{
	cri_result *r = got(data, rc, err);
	r->id = ck_strdup_or_null(id);
}

void cri_result_on_version(int rc, const cri_version *v, const ck_err *err, void *data)
{
	cri_result *r = got(data, rc, err);
	if (!v)
		return;
	r->version.version = ck_strdup_or_null(v->version);
	r->version.runtime_name = ck_strdup_or_null(v->runtime_name);
	r->version.runtime_version = ck_strdup_or_null(v->runtime_version);
	r->version.runtime_api_version = ck_strdup_or_null(v->runtime_api_version);
}

void cri_result_on_status(int rc, const cri_runtime_status *s, const ck_err *err, void *data)
{
	cri_result *r = got(data, rc, err);
	if (!s)
		return;
	r->status.runtime_ready = s->runtime_ready;
	r->status.network_ready = s->network_ready;
	r->status.runtime_reason = ck_strdup_or_null(s->runtime_reason);
	r->status.runtime_message = ck_strdup_or_null(s->runtime_message);
	r->status.network_reason = ck_strdup_or_null(s->network_reason);
	r->status.network_message = ck_strdup_or_null(s->network_message);
}

void cri_result_on_sandbox(int rc, cri_sandbox *s, const ck_err *err, void *data)
{
	cri_result *r = got(data, rc, err);
	r->sandbox = s;
}

void cri_result_on_container(int rc, cri_container *c, const ck_err *err, void *data)
{
	cri_result *r = got(data, rc, err);
	r->container = c;
}

void cri_result_on_image(int rc, cri_image *img, const ck_err *err, void *data)
{
	cri_result *r = got(data, rc, err);
	r->image = img;
}

void cri_result_on_sandboxes(int rc, cri_sandbox *v, size_t n, const ck_err *err, void *data)
{
	cri_result *r = got(data, rc, err);
	r->sandboxes = v;
	r->n = n;
}

void cri_result_on_containers(int rc, cri_container *v, size_t n, const ck_err *err, void *data)
{
	cri_result *r = got(data, rc, err);
	r->containers = v;
	r->n = n;
}

void cri_result_on_images(int rc, cri_image *v, size_t n, const ck_err *err, void *data)
{
	cri_result *r = got(data, rc, err);
	r->images = v;
	r->n = n;
}

void cri_result_on_exec(int rc, int32_t exit_code, const char *out, size_t out_len,
                        const char *errout, size_t err_len, const ck_err *err, void *data)
{
	cri_result *r = got(data, rc, err);
	r->exec.exit_code = exit_code;
	if (rc < 0)
		return;
	r->exec.out = out ? ck_strndup(out, out_len) : ck_strdup("");
	r->exec.out_len = out ? out_len : 0;
	r->exec.errout = errout ? ck_strndup(errout, err_len) : ck_strdup("");
	r->exec.err_len = errout ? err_len : 0;
}

const char *cri_result_msg(const cri_result *r)
{
	if (r->msg)
		return r->msg;
	return r->rc < 0 ? ck_strerror(r->rc) : NULL;
}

void cri_result_clear(cri_result *r)
{
	free(r->msg);
	free(r->id);
	free(r->version.version);
	free(r->version.runtime_name);
	free(r->version.runtime_version);
	free(r->version.runtime_api_version);
	free(r->status.runtime_reason);
	free(r->status.runtime_message);
	free(r->status.network_reason);
	free(r->status.network_message);
	cri_sandbox_free(r->sandbox);
	cri_container_free(r->container);
	cri_image_free(r->image);
	cri_sandboxes_free(r->sandboxes, r->n);
	cri_containers_free(r->containers, r->n);
	cri_images_free(r->images, r->n);
	free(r->exec.out);
	free(r->exec.errout);
	memset(r, 0, sizeof(*r));
}
