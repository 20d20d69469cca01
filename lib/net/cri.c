/* cri: see cri.h; how the work is split between the files is in cri_internal.h. Each
 * call builds its protobuf-c request in an arena (freed once the request is packed), runs
 * it through lib/net/grpc and hands the response to a "deliver" function that converts it
 * into the typed result (cri_convert.c) and calls the caller. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "net/cri_internal.h"

#define RT "/runtime.v1.RuntimeService/"
#define IM "/runtime.v1.ImageService/"

struct cri_client {
	ckgrpc_loop *loop; /* NULL: blocking mode */
	ckgrpc_channel *ch;
	int timeout_ms, pull_timeout_ms;
};

/* ---- the call machinery ---- */

typedef struct op op;
typedef void (*deliver_fn)(op *o, int rc, const ProtobufCMessage *resp, const ck_err *err);

union cb {
	cri_done_cb done;
	cri_id_cb id;
	cri_version_cb version;
	cri_status_cb status;
	cri_sandboxes_cb sandboxes;
	cri_containers_cb containers;
	cri_sandbox_cb sandbox;
	cri_container_cb container;
	cri_image_cb image;
	cri_images_cb images;
	cri_exec_cb exec;
};

struct op {
	deliver_fn deliver;
	union cb cb;
	void *data;
	/* deferred failure (async mode, call could not start) */
	uv_timer_t timer;
	int rc;
	ck_err *err;
};

static void on_reply(int rc, const ProtobufCMessage *resp, const ck_err *err, void *data)
{
	op *o = data;
	o->deliver(o, rc, rc == 0 ? resp : NULL, err);
	free(o);
}

static void deferred_closed(uv_handle_t *h)
{
	op *o = h->data;
	ck_err_free(o->err);
	free(o);
}

static void deferred_fire(uv_timer_t *t)
{
	op *o = t->data;
	o->deliver(o, o->rc, NULL, o->err);
	uv_close((uv_handle_t *)&o->timer, deferred_closed);
}

/* Runs one unary call. req is packed before this returns. Delivery per cri.h. */
static void call(cri_client *c, const char *method, const ProtobufCMessage *req,
                 const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, op *o)
{
	_cleanup_err_ ck_err *err = NULL;
	if (!c->loop) {
		ProtobufCMessage *resp = NULL;
		uint64_t t0 = uv_hrtime();
		int rc = ckgrpc_unary_sync(c->ch, method, req, resp_desc, timeout_ms, &resp, &err);
		const char *m = strrchr(method, '/');
		CK_V(4, "CRI %s duration=%.3fms rc=%d", m ? m + 1 : method,
		     (double)(uv_hrtime() - t0) / 1e6, rc);
		o->deliver(o, rc, rc == 0 ? resp : NULL, rc == 0 ? NULL : err);
		if (resp)
			protobuf_c_message_free_unpacked(resp, NULL);
		free(o);
		return;
	}
	int rc = ckgrpc_unary(c->loop, c->ch, method, req, resp_desc, timeout_ms, on_reply, o, NULL,
	                      &err);
	if (rc == 0)
		return;
	/* Never call back from inside the call: defer the failure to the loop. */
	if (!err)
		ck_err_set(&err, rc, "%s: %s", method, ck_strerror(rc));
	o->rc = rc;
	o->err = CK_TAKE_PTR(err);
	uv_timer_init(ckgrpc_loop_uv(c->loop), &o->timer);
	o->timer.data = o;
	uv_timer_start(&o->timer, deferred_fire, 0, 0);
}

static op *op_new(deliver_fn d, void *data)
{
	op *o = ck_calloc(1, sizeof(*o));
	o->deliver = d;
	o->data = data;
	return o;
}

/* Fails a call before it starts (bad arguments): through the same delivery path. */
static void fail_early(cri_client *c, op *o, int rc, const char *what)
{
	_cleanup_err_ ck_err *err = NULL;
	ck_err_set(&err, rc, "%s", what);
	if (!c->loop) {
		o->deliver(o, rc, NULL, err);
		free(o);
		return;
	}
	o->rc = rc;
	o->err = CK_TAKE_PTR(err);
	uv_timer_init(ckgrpc_loop_uv(c->loop), &o->timer);
	o->timer.data = o;
	uv_timer_start(&o->timer, deferred_fire, 0, 0);
}

/* ---- client ---- */

int cri_client_new(ckgrpc_loop *loop, const cri_client_opts *opts, cri_client **out, ck_err **err)
{
	if (!opts || !opts->endpoint || !*opts->endpoint)
		return ck_err_set(err, -EINVAL, "cri: no runtime endpoint");
	_cleanup_free_ char *target = NULL;
	if (opts->endpoint[0] == '/')
		target = ck_asprintf("unix://%s", opts->endpoint);
	else
		target = ck_strdup(opts->endpoint);
	ckgrpc_channel *ch = NULL;
	int r = ckgrpc_channel_new(target, NULL, &ch, err);
	if (r < 0)
		return ck_err_wrap(err, r, "cri: channel to %s", target);
	cri_client *c = ck_calloc(1, sizeof(*c));
	c->loop = loop;
	c->ch = ch;
	c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 120000;
	c->pull_timeout_ms = opts->pull_timeout_ms > 0 ? opts->pull_timeout_ms : 600000;
	*out = c;
	return 0;
}

cri_client *cri_client_free(cri_client *c)
{
	if (!c)
		return NULL;
	ckgrpc_channel_free(c->ch);
	free(c);
	return NULL;
}

const char *cri_client_endpoint(const cri_client *c)
{
	return ckgrpc_channel_target(c->ch);
}

/* ---- deliveries ---- */

static void d_done(op *o, int rc, const ProtobufCMessage *resp, const ck_err *err)
{
	o->cb.done(rc, err, o->data);
}

static void d_version(op *o, int rc, const ProtobufCMessage *resp, const ck_err *err)
{
	if (rc < 0) {
		o->cb.version(rc, NULL, err, o->data);
		return;
	}
	const Runtime__V1__VersionResponse *r = (const void *)resp;
	cri_version v = {r->version, r->runtime_name, r->runtime_version, r->runtime_api_version};
	o->cb.version(0, &v, NULL, o->data);
}

static void d_status(op *o, int rc, const ProtobufCMessage *resp, const ck_err *err)
{
	if (rc < 0) {
		o->cb.status(rc, NULL, err, o->data);
		return;
	}
	const Runtime__V1__StatusResponse *r = (const void *)resp;
	cri_runtime_status s = {0};
	for (size_t i = 0; r->status && i < r->status->n_conditions; i++) {
		const Runtime__V1__RuntimeCondition *cd = r->status->conditions[i];
		if (!strcmp(cd->type, "RuntimeReady")) {
			s.runtime_ready = cd->status;
			s.runtime_reason = cd->reason;
			s.runtime_message = cd->message;
		} else if (!strcmp(cd->type, "NetworkReady")) {
			s.network_ready = cd->status;
			s.network_reason = cd->reason;
			s.network_message = cd->message;
		}
	}
	o->cb.status(0, &s, NULL, o->data);
}

static void d_run_sandbox(op *o, int rc, const ProtobufCMessage *resp, const ck_err *err)
{
	const Runtime__V1__RunPodSandboxResponse *r = (const void *)resp;
	o->cb.id(rc, rc < 0 ? NULL : r->pod_sandbox_id, err, o->data);
}

static void d_create_container(op *o, int rc, const ProtobufCMessage *resp, const ck_err *err)
{
	const Runtime__V1__CreateContainerResponse *r = (const void *)resp;
	o->cb.id(rc, rc < 0 ? NULL : r->container_id, err, o->data);
}

static void d_pull(op *o, int rc, const ProtobufCMessage *resp, const ck_err *err)
{
	const Runtime__V1__PullImageResponse *r = (const void *)resp;
	o->cb.id(rc, rc < 0 ? NULL : r->image_ref, err, o->data);
}

static void d_sandbox_status(op *o, int rc, const ProtobufCMessage *resp, const ck_err *err)
{
	const Runtime__V1__PodSandboxStatusResponse *r = (const void *)resp;
	if (rc == 0 && !r->status)
		rc = CK_EPROTO;
	if (rc < 0) {
		o->cb.sandbox(rc, NULL, err, o->data);
		return;
	}
	cri_sandbox *s = ck_calloc(1, sizeof(*s));
	cri__sandbox_from_status(s, r->status);
	o->cb.sandbox(0, s, NULL, o->data);
}

static void d_list_sandboxes(op *o, int rc, const ProtobufCMessage *resp, const ck_err *err)
{
	if (rc < 0) {
		o->cb.sandboxes(rc, NULL, 0, err, o->data);
		return;
	}
	const Runtime__V1__ListPodSandboxResponse *r = (const void *)resp;
	cri_sandbox *v = ck_calloc(r->n_items + 1, sizeof(*v));
	for (size_t i = 0; i < r->n_items; i++)
		cri__sandbox_from_list(&v[i], r->items[i]);
	o->cb.sandboxes(0, v, r->n_items, NULL, o->data);
}

static void d_list_containers(op *o, int rc, const ProtobufCMessage *resp, const ck_err *err)
{
	if (rc < 0) {
		o->cb.containers(rc, NULL, 0, err, o->data);
		return;
	}
	const Runtime__V1__ListContainersResponse *r = (const void *)resp;
	cri_container *v = ck_calloc(r->n_containers + 1, sizeof(*v));
	for (size_t i = 0; i < r->n_containers; i++)
		cri__container_from_list(&v[i], r->containers[i]);
	o->cb.containers(0, v, r->n_containers, NULL, o->data);
}

static void d_container_status(op *o, int rc, const ProtobufCMessage *resp, const ck_err *err)
{
	const Runtime__V1__ContainerStatusResponse *r = (const void *)resp;
	if (rc == 0 && !r->status)
		rc = CK_EPROTO;
	if (rc < 0) {
		o->cb.container(rc, NULL, err, o->data);
		return;
	}
	cri_container *c = ck_calloc(1, sizeof(*c));
	cri__container_from_status(c, r->status);
	o->cb.container(0, c, NULL, o->data);
}

static void d_image_status(op *o, int rc, const ProtobufCMessage *resp, const ck_err *err)
{
	if (rc < 0) {
		o->cb.image(rc, NULL, err, o->data);
		return;
	}
	const Runtime__V1__ImageStatusResponse *r = (const void *)resp;
	cri_image *i = NULL;
	if (r->image && r->image->id && *r->image->id) {
		i = ck_calloc(1, sizeof(*i));
		cri__image_from_pb(i, r->image);
	}
	o->cb.image(0, i, NULL, o->data);
}

static void d_list_images(op *o, int rc, const ProtobufCMessage *resp, const ck_err *err)
{
	if (rc < 0) {
		o->cb.images(rc, NULL, 0, err, o->data);
		return;
	}
	const Runtime__V1__ListImagesResponse *r = (const void *)resp;
	cri_image *v = ck_calloc(r->n_images + 1, sizeof(*v));
	for (size_t i = 0; i < r->n_images; i++)
		cri__image_from_pb(&v[i], r->images[i]);
	o->cb.images(0, v, r->n_images, NULL, o->data);
}

static void d_exec(op *o, int rc, const ProtobufCMessage *resp, const ck_err *err)
{
	if (rc < 0) {
		o->cb.exec(rc, -1, NULL, 0, NULL, 0, err, o->data);
		return;
	}
	const Runtime__V1__ExecSyncResponse *r = (const void *)resp;
	o->cb.exec(0, r->exit_code, (const char *)r->stdout.data, r->stdout.len,
	           (const char *)r->stderr.data, r->stderr.len, NULL, o->data);
}

/* ---- RuntimeService ---- */

void cri_version_get(cri_client *c, cri_version_cb cb, void *data)
{
	op *o = op_new(d_version, data);
	o->cb.version = cb;
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	req.version = "v1";
	call(c, RT "Version", &req.base, &runtime__v1__version_response__descriptor, c->timeout_ms,
	     o);
}

void cri_status(cri_client *c, cri_status_cb cb, void *data)
{
	op *o = op_new(d_status, data);
	o->cb.status = cb;
	Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
	call(c, RT "Status", &req.base, &runtime__v1__status_response__descriptor, c->timeout_ms,
	     o);
}

void cri_run_sandbox(cri_client *c, const cri_sandbox_config *cfg, cri_id_cb cb, void *data)
{
	op *o = op_new(d_run_sandbox, data);
	o->cb.id = cb;
	if (!cfg || !cfg->name || !cfg->uid || !cfg->namespace) {
		fail_early(c, o, -EINVAL, "RunPodSandbox: name, uid and namespace are required");
		return;
	}
	cri__arena a = {0};
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	req.config = cri__sandbox_config_build(&a, cfg);
	req.runtime_handler = cri__str_or_empty(cfg->runtime_handler);
	call(c, RT "RunPodSandbox", &req.base, &runtime__v1__run_pod_sandbox_response__descriptor,
	     c->timeout_ms, o);
	cri__arena_free(&a);
}

static void id_call(cri_client *c, const char *method, const char *id,
                    const ProtobufCMessageDescriptor *req_desc,
                    const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, op *o)
{
	/* Each of these requests is {string id = 1; [bool verbose = 2 | int64 timeout = 2]}:
	 * build it generically through its descriptor. */
	if (!id || !*id) {
		fail_early(c, o, -EINVAL, "empty id");
		return;
	}
	_cleanup_free_ void *req = ck_calloc(1, req_desc->sizeof_message);
	protobuf_c_message_init(req_desc, req);
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(req_desc, 1);
	*(const char **)((char *)req + f->offset) = id;
	call(c, method, req, resp_desc, timeout_ms, o);
}

void cri_stop_sandbox(cri_client *c, const char *id, cri_done_cb cb, void *data)
{
	op *o = op_new(d_done, data);
	o->cb.done = cb;
	id_call(c, RT "StopPodSandbox", id, &runtime__v1__stop_pod_sandbox_request__descriptor,
	        &runtime__v1__stop_pod_sandbox_response__descriptor, c->timeout_ms, o);
}

void cri_remove_sandbox(cri_client *c, const char *id, cri_done_cb cb, void *data)
{
	op *o = op_new(d_done, data);
	o->cb.done = cb;
	id_call(c, RT "RemovePodSandbox", id, &runtime__v1__remove_pod_sandbox_request__descriptor,
	        &runtime__v1__remove_pod_sandbox_response__descriptor, c->timeout_ms, o);
}

void cri_sandbox_status(cri_client *c, const char *id, cri_sandbox_cb cb, void *data)
{
	op *o = op_new(d_sandbox_status, data);
	o->cb.sandbox = cb;
	id_call(c, RT "PodSandboxStatus", id, &runtime__v1__pod_sandbox_status_request__descriptor,
	        &runtime__v1__pod_sandbox_status_response__descriptor, c->timeout_ms, o);
}

void cri_list_sandboxes(cri_client *c, const char *const *labels, bool ready_only,
                        cri_sandboxes_cb cb, void *data)
{
	op *o = op_new(d_list_sandboxes, data);
	o->cb.sandboxes = cb;
	cri__arena a = {0};
	Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__PodSandboxFilter f = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	Runtime__V1__PodSandboxStateValue st = RUNTIME__V1__POD_SANDBOX_STATE_VALUE__INIT;
	f.label_selector =
	    cri__map_build(&a, &runtime__v1__pod_sandbox_filter__label_selector_entry__descriptor,
	                   labels, &f.n_label_selector);
	if (ready_only) {
		st.state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
		f.state = &st;
	}
	req.filter = &f;
	call(c, RT "ListPodSandbox", &req.base, &runtime__v1__list_pod_sandbox_response__descriptor,
	     c->timeout_ms, o);
	cri__arena_free(&a);
}

void cri_create_container(cri_client *c, const char *sandbox_id, const cri_container_config *cfg,
                          const cri_sandbox_config *sandbox, cri_id_cb cb, void *data)
{
	op *o = op_new(d_create_container, data);
	o->cb.id = cb;
	if (!sandbox_id || !cfg || !cfg->name || !cfg->image || !sandbox) {
		fail_early(c, o, -EINVAL, "CreateContainer: sandbox, name and image are required");
		return;
	}
	cri__arena a = {0};
	Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	req.pod_sandbox_id = (char *)sandbox_id;
	req.config = cri__container_config_build(&a, cfg);
	req.sandbox_config = cri__sandbox_config_build(&a, sandbox);
	call(c, RT "CreateContainer", &req.base,
	     &runtime__v1__create_container_response__descriptor, c->timeout_ms, o);
	cri__arena_free(&a);
}

void cri_start_container(cri_client *c, const char *id, cri_done_cb cb, void *data)
{
	op *o = op_new(d_done, data);
	o->cb.done = cb;
	id_call(c, RT "StartContainer", id, &runtime__v1__start_container_request__descriptor,
	        &runtime__v1__start_container_response__descriptor, c->timeout_ms, o);
}

void cri_stop_container(cri_client *c, const char *id, int64_t timeout_s, cri_done_cb cb,
                        void *data)
{
	op *o = op_new(d_done, data);
	o->cb.done = cb;
	if (!id || !*id) {
		fail_early(c, o, -EINVAL, "StopContainer: empty id");
		return;
	}
	if (timeout_s < 0)
		timeout_s = 0;
	Runtime__V1__StopContainerRequest req = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	req.timeout = timeout_s;
	int64_t deadline = (int64_t)c->timeout_ms + timeout_s * 1000;
	call(c, RT "StopContainer", &req.base, &runtime__v1__stop_container_response__descriptor,
	     deadline > 0x7fffffff ? 0x7fffffff : (int)deadline, o);
}

void cri_remove_container(cri_client *c, const char *id, cri_done_cb cb, void *data)
{
	op *o = op_new(d_done, data);
	o->cb.done = cb;
	id_call(c, RT "RemoveContainer", id, &runtime__v1__remove_container_request__descriptor,
	        &runtime__v1__remove_container_response__descriptor, c->timeout_ms, o);
}

void cri_list_containers(cri_client *c, const char *sandbox_id, const char *const *labels,
                         cri_containers_cb cb, void *data)
{
	op *o = op_new(d_list_containers, data);
	o->cb.containers = cb;
	cri__arena a = {0};
	Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	Runtime__V1__ContainerFilter f = RUNTIME__V1__CONTAINER_FILTER__INIT;
	f.pod_sandbox_id = cri__str_or_empty(sandbox_id);
	f.label_selector =
	    cri__map_build(&a, &runtime__v1__container_filter__label_selector_entry__descriptor,
	                   labels, &f.n_label_selector);
	req.filter = &f;
	call(c, RT "ListContainers", &req.base, &runtime__v1__list_containers_response__descriptor,
	     c->timeout_ms, o);
	cri__arena_free(&a);
}

void cri_container_status(cri_client *c, const char *id, cri_container_cb cb, void *data)
{
	op *o = op_new(d_container_status, data);
	o->cb.container = cb;
	id_call(c, RT "ContainerStatus", id, &runtime__v1__container_status_request__descriptor,
	        &runtime__v1__container_status_response__descriptor, c->timeout_ms, o);
}

void cri_exec_sync(cri_client *c, const char *id, const char *const *cmd, int64_t timeout_s,
                   cri_exec_cb cb, void *data)
{
	op *o = op_new(d_exec, data);
	o->cb.exec = cb;
	if (!id || !*id || !cmd || !cmd[0]) {
		fail_early(c, o, -EINVAL, "ExecSync: container id and command are required");
		return;
	}
	cri__arena a = {0};
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	req.container_id = (char *)id;
	req.cmd = cri__strv_build(&a, cmd, &req.n_cmd);
	req.timeout = timeout_s;
	int64_t deadline = (int64_t)c->timeout_ms + (timeout_s > 0 ? timeout_s * 1000 : 0);
	call(c, RT "ExecSync", &req.base, &runtime__v1__exec_sync_response__descriptor,
	     deadline > 0x7fffffff ? 0x7fffffff : (int)deadline, o);
	cri__arena_free(&a);
}

/* ---- ImageService ---- */

void cri_pull_image(cri_client *c, const char *image, const cri_sandbox_config *sandbox,
                    cri_id_cb cb, void *data)
{
	op *o = op_new(d_pull, data);
	o->cb.id = cb;
	if (!image || !*image) {
		fail_early(c, o, -EINVAL, "PullImage: empty image");
		return;
	}
	cri__arena a = {0};
	Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__ImageSpec is = RUNTIME__V1__IMAGE_SPEC__INIT;
	is.image = (char *)image;
	req.image = &is;
	if (sandbox)
		req.sandbox_config = cri__sandbox_config_build(&a, sandbox);
	call(c, IM "PullImage", &req.base, &runtime__v1__pull_image_response__descriptor,
	     c->pull_timeout_ms, o);
	cri__arena_free(&a);
}

void cri_image_status(cri_client *c, const char *image, cri_image_cb cb, void *data)
{
	op *o = op_new(d_image_status, data);
	o->cb.image = cb;
	if (!image || !*image) {
		fail_early(c, o, -EINVAL, "ImageStatus: empty image");
		return;
	}
	Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	Runtime__V1__ImageSpec is = RUNTIME__V1__IMAGE_SPEC__INIT;
	is.image = (char *)image;
	req.image = &is;
	call(c, IM "ImageStatus", &req.base, &runtime__v1__image_status_response__descriptor,
	     c->timeout_ms, o);
}

void cri_list_images(cri_client *c, cri_images_cb cb, void *data)
{
	op *o = op_new(d_list_images, data);
	o->cb.images = cb;
	Runtime__V1__ListImagesRequest req = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
	call(c, IM "ListImages", &req.base, &runtime__v1__list_images_response__descriptor,
	     c->timeout_ms, o);
}

void cri_remove_image(cri_client *c, const char *image, cri_done_cb cb, void *data)
{
	op *o = op_new(d_done, data);
	o->cb.done = cb;
	if (!image || !*image) {
		fail_early(c, o, -EINVAL, "RemoveImage: empty image");
		return;
	}
	Runtime__V1__RemoveImageRequest req = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
	Runtime__V1__ImageSpec is = RUNTIME__V1__IMAGE_SPEC__INIT;
	is.image = (char *)image;
	req.image = &is;
	call(c, IM "RemoveImage", &req.base, &runtime__v1__remove_image_response__descriptor,
	     c->timeout_ms, o);
}
