/* grpc: gRPC C core calls handed to a libuv loop.
 *
 * Every batch started on a ckgrpc_loop carries a tag (struct grpc_tag) naming the
 * function to run when it completes. The drain thread only moves (tag, ok) pairs into
 * a mutex-protected array and wakes the loop with uv_async_send; the loop thread runs
 * the tag functions. So all state below is touched by the loop thread only, except
 * the pending array, l->closing (written under l->mu) and a stream's receive buffers:
 * once a stream's first receive is armed, the drain thread takes each message and arms
 * the next receive at once (struct grpc_tag's drain), so that messages that etcd sends
 * in a burst (watch events) do not wait, one by one, for the loop thread to ask for
 * the next. */
#include "net/grpc.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>

#include "base/log.h"

/* ---- status ---- */

static const struct {
	const char *name;
	int rc;
} status_table[] = {
    [GRPC_STATUS_OK] = {"OK", 0},
    [GRPC_STATUS_CANCELLED] = {"CANCELLED", -ECANCELED},
    [GRPC_STATUS_UNKNOWN] = {"UNKNOWN", -EIO},
    [GRPC_STATUS_INVALID_ARGUMENT] = {"INVALID_ARGUMENT", -EINVAL},
    [GRPC_STATUS_DEADLINE_EXCEEDED] = {"DEADLINE_EXCEEDED", -ETIMEDOUT},
    [GRPC_STATUS_NOT_FOUND] = {"NOT_FOUND", -ENOENT},
    [GRPC_STATUS_ALREADY_EXISTS] = {"ALREADY_EXISTS", -EEXIST},
    [GRPC_STATUS_PERMISSION_DENIED] = {"PERMISSION_DENIED", -EPERM},
    [GRPC_STATUS_RESOURCE_EXHAUSTED] = {"RESOURCE_EXHAUSTED", -ENOSPC},
    [GRPC_STATUS_FAILED_PRECONDITION] = {"FAILED_PRECONDITION", -EBUSY},
    [GRPC_STATUS_ABORTED] = {"ABORTED", CK_ECONFLICT},
    [GRPC_STATUS_OUT_OF_RANGE] = {"OUT_OF_RANGE", -ERANGE},
    [GRPC_STATUS_UNIMPLEMENTED] = {"UNIMPLEMENTED", -ENOSYS},
    [GRPC_STATUS_INTERNAL] = {"INTERNAL", -EIO},
    [GRPC_STATUS_UNAVAILABLE] = {"UNAVAILABLE", CK_EUNAVAILABLE},
    [GRPC_STATUS_DATA_LOSS] = {"DATA_LOSS", -EIO},
    [GRPC_STATUS_UNAUTHENTICATED] = {"UNAUTHENTICATED", -EACCES},
};

int ckgrpc_status_to_rc(int s)
{
	if (s < 0 || (size_t)s >= CK_ARRAY_SIZE(status_table))
		return -EIO;
	return status_table[s].rc;
}

const char *ckgrpc_status_name(int s)
{
	if (s < 0 || (size_t)s >= CK_ARRAY_SIZE(status_table))
		return "UNKNOWN_CODE";
	return status_table[s].name;
}

/* Turns a finished call's status into a return code and (for failures) an error. */
static int status_to_err(const char *method, grpc_status_code status, grpc_slice details,
                         ck_err **err)
{
	int rc = ckgrpc_status_to_rc(status);
	if (rc == 0)
		return 0;
	return ck_err_set(err, rc, "grpc %s: %s: %.*s", method, ckgrpc_status_name(status),
	                  (int)GRPC_SLICE_LENGTH(details),
	                  (const char *)GRPC_SLICE_START_PTR(details));
}

/* ---- messages ---- */

static grpc_byte_buffer *msg_pack(const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	grpc_slice s = grpc_slice_malloc(n);
	protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return bb;
}

/* Unpacks bb (not consumed) with desc; NULL when it does not parse. */
static ProtobufCMessage *msg_unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc)
{
	grpc_byte_buffer_reader r;
	if (!grpc_byte_buffer_reader_init(&r, bb))
		return NULL;
	grpc_slice s = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	ProtobufCMessage *m =
	    protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
	grpc_slice_unref(s);
	return m;
}

static gpr_timespec deadline_from_ms(int timeout_ms)
{
	if (timeout_ms <= 0)
		return gpr_inf_future(GPR_CLOCK_REALTIME);
	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
	                    gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
}

/* ---- process-wide setup ---- */

/* gRPC's own log lines (connection failures, TLS alerts) are a library's: shown only at
 * -v=2 (errors) and -v=5 (the rest), in klog format. An assertion failure is the last
 * line before gRPC aborts the process: always shown. */
static void grpc_log_forward(gpr_log_func_args *a)
{
	if (a->severity == GPR_LOG_SEVERITY_ERROR && !strncmp(a->message, "assertion failed", 16)) {
		ck_log_write(CK_LOG_ERROR, a->file, a->line, "grpc: %s", a->message);
		return;
	}
	int level = a->severity == GPR_LOG_SEVERITY_ERROR ? 2 : 5;
	if (ck_log_verbosity() >= level)
		ck_log_write(CK_LOG_INFO, a->file, a->line, "grpc: %s", a->message);
}

static void grpc_setup_once(void)
{
	gpr_set_log_function(grpc_log_forward);
}

/* grpc_init with our process-wide settings applied first. */
static void ckgrpc_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, grpc_setup_once);
	grpc_init();
}

/* ---- channels ---- */

struct ckgrpc_channel {
	grpc_channel *ch;
	char *target;
};

static int read_file(const char *path, char **out, ck_err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ck_err_errno(err, -errno, "open %s", path);
	size_t cap = 4096, len = 0;
	_cleanup_free_ char *buf = ck_malloc(cap);
	for (;;) {
		if (len + 1 >= cap)
			buf = ck_realloc(buf, cap *= 2);
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ck_err_errno(err, -errno, "read %s", path);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = CK_TAKE_PTR(buf);
	return 0;
}

int ckgrpc_channel_new(const char *target, const ckgrpc_channel_opts *opts, ckgrpc_channel **out,
                       ck_err **err)
{
	static const ckgrpc_channel_opts none;
	if (!opts)
		opts = &none;
	if (!target || !*target)
		return ck_err_set(err, -EINVAL, "grpc: empty target");

	grpc_arg args[8];
	size_t n = 0;
	args[n++] = (grpc_arg){.type = GRPC_ARG_INTEGER,
	                       .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
	                       .value.integer =
	                           opts->max_recv_bytes > 0 ? opts->max_recv_bytes : 256 << 20};
	/* A restarted peer should be found again quickly; gRPC's default backoff climbs
	 * to two minutes. (GRPC_ARG_MIN_RECONNECT_BACKOFF_MS is also the
	 * connect timeout: left at its default.) */
	args[n++] = (grpc_arg){.type = GRPC_ARG_INTEGER,
	                       .key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
	                       .value.integer = 2000};
	args[n++] = (grpc_arg){.type = GRPC_ARG_INTEGER,
	                       .key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
	                       .value.integer = 100};
	/* Channels to the same target must not share a subchannel: one client's failure
	 * handling should not disturb another's. */
	args[n++] = (grpc_arg){.type = GRPC_ARG_INTEGER,
	                       .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL,
	                       .value.integer = 1};
	if (opts->keepalive_ms > 0) {
		args[n++] = (grpc_arg){.type = GRPC_ARG_INTEGER,
		                       .key = GRPC_ARG_KEEPALIVE_TIME_MS,
		                       .value.integer = opts->keepalive_ms};
		args[n++] = (grpc_arg){.type = GRPC_ARG_INTEGER,
		                       .key = GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
		                       .value.integer = opts->keepalive_ms};
	}
	if (opts->authority) {
		bool tls = opts->tls || opts->ca_file || opts->cert_file || opts->key_file;
		args[n++] = (grpc_arg){.type = GRPC_ARG_STRING,
		                       .key = tls ? GRPC_SSL_TARGET_NAME_OVERRIDE_ARG
		                                  : GRPC_ARG_DEFAULT_AUTHORITY,
		                       .value.string = (char *)opts->authority};
	}
	grpc_channel_args cargs = {.num_args = n, .args = args};

	grpc_channel_credentials *creds;
	if (opts->tls || opts->ca_file || opts->cert_file || opts->key_file) {
		_cleanup_free_ char *ca = NULL, *cert = NULL, *key = NULL;
		int r;
		if (opts->ca_file && (r = read_file(opts->ca_file, &ca, err)) < 0)
			return r;
		if ((opts->cert_file != NULL) != (opts->key_file != NULL))
			return ck_err_set(err, -EINVAL,
			                  "grpc: a client certificate needs both cert and key");
		if (opts->cert_file && (r = read_file(opts->cert_file, &cert, err)) < 0)
			return r;
		if (opts->key_file && (r = read_file(opts->key_file, &key, err)) < 0)
			return r;
		grpc_ssl_pem_key_cert_pair pair = {.private_key = key, .cert_chain = cert};
		ckgrpc_init();
		creds = grpc_ssl_credentials_create(ca, cert ? &pair : NULL, NULL, NULL);
	} else {
		ckgrpc_init();
		creds = grpc_insecure_credentials_create();
	}
	grpc_channel *gch = grpc_channel_create(target, creds, &cargs);
	grpc_channel_credentials_release(creds);
	if (!gch) {
		grpc_shutdown();
		return ck_err_set(err, -EINVAL, "grpc: cannot create a channel to %s", target);
	}
	ckgrpc_channel *ch = ck_calloc(1, sizeof(*ch));
	ch->ch = gch;
	ch->target = ck_strdup(target);
	*out = ch;
	return 0;
}

ckgrpc_channel *ckgrpc_channel_free(ckgrpc_channel *ch)
{
	if (!ch)
		return NULL;
	grpc_channel_destroy(ch->ch);
	free(ch->target);
	free(ch);
	grpc_shutdown();
	return NULL;
}

const char *ckgrpc_channel_target(const ckgrpc_channel *ch)
{
	return ch->target;
}

bool ckgrpc_channel_failed(ckgrpc_channel *ch, bool try_connect)
{
	grpc_connectivity_state s = grpc_channel_check_connectivity_state(ch->ch, try_connect);
	return s == GRPC_CHANNEL_TRANSIENT_FAILURE || s == GRPC_CHANNEL_SHUTDOWN;
}

/* ---- loop binding ---- */

struct completion {
	struct grpc_tag *tag;
	bool ok;
	/* A stream's receive: the message the drain thread took (NULL: none, the stream's
	 * receiving is over) and whether it armed the next receive. */
	grpc_byte_buffer *msg;
	bool rearmed;
};

struct grpc_tag {
	void (*fn)(struct grpc_tag *t, const struct completion *c);
	/* Optional: runs on the drain thread, l->mu held, before c is queued. */
	void (*drain)(struct grpc_tag *t, struct completion *c);
};

/* What the loop knows of a call or stream in flight, to cancel it on ckgrpc_loop_free. */
struct live {
	struct live *prev, *next;
	grpc_call *call;
};

struct ckgrpc_loop {
	uv_loop_t *uv;
	uv_async_t async;
	grpc_completion_queue *cq;
	pthread_t thread;
	bool thread_started;
	bool closing;

	pthread_mutex_t mu; /* guards pending */
	struct completion *pending;
	size_t n_pending, cap_pending;

	struct live live; /* list head */
	size_t n_live;
};

static void loop_take(ckgrpc_loop *l, struct live *lv, grpc_call *call)
{
	lv->call = call;
	lv->next = l->live.next;
	lv->prev = &l->live;
	l->live.next->prev = lv;
	l->live.next = lv;
	if (l->n_live++ == 0)
		uv_ref((uv_handle_t *)&l->async);
}

static void loop_drop(ckgrpc_loop *l, struct live *lv)
{
	lv->prev->next = lv->next;
	lv->next->prev = lv->prev;
	lv->prev = lv->next = lv;
	if (--l->n_live == 0)
		uv_unref((uv_handle_t *)&l->async);
}

static void *drain_thread(void *arg)
{
	ckgrpc_loop *l = arg;
	for (;;) {
		grpc_event ev =
		    grpc_completion_queue_next(l->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		struct grpc_tag *tag = ev.tag;
		struct completion c = {tag, ev.success != 0, NULL, false};
		pthread_mutex_lock(&l->mu);
		if (tag->drain)
			tag->drain(tag, &c);
		if (l->n_pending == l->cap_pending) {
			l->cap_pending = l->cap_pending ? l->cap_pending * 2 : 64;
			l->pending = ck_realloc(l->pending, l->cap_pending * sizeof(*l->pending));
		}
		l->pending[l->n_pending++] = c;
		pthread_mutex_unlock(&l->mu);
		uv_async_send(&l->async);
	}
	return NULL;
}

/* Runs every completion handed over so far, in the order they came. */
static void loop_dispatch(ckgrpc_loop *l)
{
	for (;;) {
		pthread_mutex_lock(&l->mu);
		struct completion *batch = l->pending;
		size_t n = l->n_pending;
		l->pending = NULL;
		l->n_pending = l->cap_pending = 0;
		pthread_mutex_unlock(&l->mu);
		if (n == 0) {
			free(batch);
			return;
		}
		for (size_t i = 0; i < n; i++)
			batch[i].tag->fn(batch[i].tag, &batch[i]);
		free(batch);
	}
}

static void on_async(uv_async_t *a)
{
	loop_dispatch(a->data);
}

int ckgrpc_loop_new(uv_loop_t *loop, ckgrpc_loop **out, ck_err **err)
{
	ckgrpc_loop *l = ck_calloc(1, sizeof(*l));
	l->uv = loop;
	l->live.next = l->live.prev = &l->live;
	int r = uv_async_init(loop, &l->async, on_async);
	if (r < 0) {
		free(l);
		return ck_err_set(err, r, "grpc: uv_async_init: %s", uv_strerror(r));
	}
	l->async.data = l;
	uv_unref((uv_handle_t *)&l->async);
	pthread_mutex_init(&l->mu, NULL);
	ckgrpc_init();
	l->cq = grpc_completion_queue_create_for_next(NULL);
	r = pthread_create(&l->thread, NULL, drain_thread, l);
	if (r != 0) {
		l->closing = true;
		ckgrpc_loop_free(l);
		return ck_err_errno(err, -r, "grpc: pthread_create");
	}
	l->thread_started = true;
	*out = l;
	return 0;
}

static void on_async_closed(uv_handle_t *h)
{
	free(h->data);
}

ckgrpc_loop *ckgrpc_loop_free(ckgrpc_loop *l)
{
	if (!l)
		return NULL;
	/* Under mu: the drain thread arms no receive once the queue may be shut down. */
	pthread_mutex_lock(&l->mu);
	l->closing = true;
	pthread_mutex_unlock(&l->mu);
	for (struct live *lv = l->live.next; lv != &l->live; lv = lv->next)
		grpc_call_cancel(lv->call, NULL);
	/* Every batch completes once its call is cancelled; the thread sees them all,
	 * then the shutdown. Callbacks run here, on the loop thread. */
	grpc_completion_queue_shutdown(l->cq);
	if (l->thread_started)
		pthread_join(l->thread, NULL);
	loop_dispatch(l);
	grpc_completion_queue_destroy(l->cq);
	pthread_mutex_destroy(&l->mu);
	free(l->pending);
	grpc_shutdown();
	l->async.data = l;
	uv_close((uv_handle_t *)&l->async, on_async_closed);
	return NULL;
}

uv_loop_t *ckgrpc_loop_uv(const ckgrpc_loop *l)
{
	return l->uv;
}

/* ---- unary calls ---- */

/* Buffers of one unary exchange, shared by the async and the blocking variant. */
struct unary_io {
	grpc_call *call;
	grpc_metadata_array md_init, md_trail;
	grpc_byte_buffer *send, *recv;
	grpc_status_code status;
	grpc_slice details;
	grpc_op ops[6];
};

static grpc_call_error unary_start(struct unary_io *io, grpc_byte_buffer *send, bool wait_ready,
                                   void *tag)
{
	grpc_metadata_array_init(&io->md_init);
	grpc_metadata_array_init(&io->md_trail);
	io->details = grpc_empty_slice();
	io->send = send;
	grpc_op *op = io->ops;
	memset(io->ops, 0, sizeof(io->ops));
	op->op = GRPC_OP_SEND_INITIAL_METADATA;
	if (wait_ready)
		op->flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY |
		            GRPC_INITIAL_METADATA_WAIT_FOR_READY_EXPLICITLY_SET;
	op++;
	op->op = GRPC_OP_SEND_MESSAGE;
	op->data.send_message.send_message = io->send;
	op++;
	op->op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	op++;
	op->op = GRPC_OP_RECV_INITIAL_METADATA;
	op->data.recv_initial_metadata.recv_initial_metadata = &io->md_init;
	op++;
	op->op = GRPC_OP_RECV_MESSAGE;
	op->data.recv_message.recv_message = &io->recv;
	op++;
	op->op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	op->data.recv_status_on_client.trailing_metadata = &io->md_trail;
	op->data.recv_status_on_client.status = &io->status;
	op->data.recv_status_on_client.status_details = &io->details;
	op++;
	return grpc_call_start_batch(io->call, io->ops, (size_t)(op - io->ops), tag, NULL);
}

/* After the batch completed: the response or a status error. */
static int unary_result(struct unary_io *io, const char *method,
                        const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out,
                        ck_err **err)
{
	int r = status_to_err(method, io->status, io->details, err);
	if (r < 0)
		return r;
	if (!io->recv)
		return ck_err_set(err, CK_EPROTO, "grpc %s: OK without a response message", method);
	ProtobufCMessage *m = msg_unpack(io->recv, desc);
	if (!m)
		return ck_err_set(err, CK_EPROTO, "grpc %s: response does not parse as %s", method,
		                  desc->name);
	*out = m;
	return 0;
}

static void unary_io_destroy(struct unary_io *io)
{
	if (io->send)
		grpc_byte_buffer_destroy(io->send);
	if (io->recv)
		grpc_byte_buffer_destroy(io->recv);
	grpc_metadata_array_destroy(&io->md_init);
	grpc_metadata_array_destroy(&io->md_trail);
	grpc_slice_unref(io->details);
	if (io->call)
		grpc_call_unref(io->call);
}

struct ckgrpc_call {
	struct grpc_tag tag;
	struct live live;
	ckgrpc_loop *l;
	struct unary_io io;
	char *method;
	const ProtobufCMessageDescriptor *resp_desc;
	ProtobufCMessage *resp;
	bool cancelled;
	ckgrpc_unary_cb cb;
	void *data;
};

static _Thread_local ckgrpc_call *current_call;

static void unary_done(struct grpc_tag *t, const struct completion *done)
{
	ckgrpc_call *c = (ckgrpc_call *)t;
	_cleanup_err_ ck_err *err = NULL;
	int r = unary_result(&c->io, c->method, c->resp_desc, &c->resp, &err);
	if (c->cancelled && r < 0 && r != -ECANCELED) {
		err = ck_err_free(err);
		r = ck_err_set(&err, -ECANCELED, "grpc %s: cancelled", c->method);
	}
	loop_drop(c->l, &c->live);
	ckgrpc_call *saved = current_call;
	current_call = c;
	c->cb(r, r == 0 ? c->resp : NULL, err, c->data);
	current_call = saved;
	if (c->resp)
		protobuf_c_message_free_unpacked(c->resp, NULL);
	unary_io_destroy(&c->io);
	free(c->method);
	free(c);
}

static int unary_async(ckgrpc_loop *l, ckgrpc_channel *ch, const char *method,
                       grpc_byte_buffer *send, const ProtobufCMessageDescriptor *resp_desc,
                       int timeout_ms, ckgrpc_unary_cb cb, void *data, ckgrpc_call **out,
                       ck_err **err)
{
	if (l->closing) {
		grpc_byte_buffer_destroy(send);
		return ck_err_set(err, -ECANCELED, "grpc %s: loop is shutting down", method);
	}
	ckgrpc_call *c = ck_calloc(1, sizeof(*c));
	c->tag.fn = unary_done;
	c->l = l;
	c->method = ck_strdup(method);
	c->resp_desc = resp_desc;
	c->cb = cb;
	c->data = data;
	c->io.call = grpc_channel_create_call(ch->ch, NULL, GRPC_PROPAGATE_DEFAULTS, l->cq,
	                                      grpc_slice_from_static_string(c->method), NULL,
	                                      deadline_from_ms(timeout_ms), NULL);
	grpc_call_error e = unary_start(&c->io, send, false, &c->tag);
	if (e != GRPC_CALL_OK) {
		unary_io_destroy(&c->io);
		free(c->method);
		free(c);
		return ck_err_set(err, -EIO, "grpc %s: start_batch failed (%d)", method, (int)e);
	}
	loop_take(l, &c->live, c->io.call);
	if (out)
		*out = c;
	return 0;
}

int ckgrpc_unary(ckgrpc_loop *l, ckgrpc_channel *ch, const char *method,
                 const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                 int timeout_ms, ckgrpc_unary_cb cb, void *data, ckgrpc_call **out, ck_err **err)
{
	return unary_async(l, ch, method, msg_pack(req), resp_desc, timeout_ms, cb, data, out, err);
}

int ckgrpc_unary_bytes(ckgrpc_loop *l, ckgrpc_channel *ch, const char *method, const void *req,
                       size_t req_len, const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
                       ckgrpc_unary_cb cb, void *data, ckgrpc_call **out, ck_err **err)
{
	grpc_slice s = grpc_slice_from_copied_buffer(req, req_len);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return unary_async(l, ch, method, bb, resp_desc, timeout_ms, cb, data, out, err);
}

void ckgrpc_call_cancel(ckgrpc_call *c)
{
	if (!c || c->cancelled)
		return;
	c->cancelled = true;
	grpc_call_cancel(c->io.call, NULL);
}

ProtobufCMessage *ckgrpc_call_take_response(ckgrpc_call *c)
{
	if (!c)
		return NULL;
	return CK_TAKE_PTR(c->resp);
}

ckgrpc_call *ckgrpc_current_call(void)
{
	return current_call;
}

static int unary_sync(ckgrpc_channel *ch, const char *method, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, bool wait_ready,
                      ProtobufCMessage **out, ck_err **err)
{
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	struct unary_io io = {0};
	int tag;
	io.call = grpc_channel_create_call(ch->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
	                                   grpc_slice_from_static_string(method), NULL,
	                                   deadline_from_ms(timeout_ms), NULL);
	int r;
	grpc_call_error e = unary_start(&io, msg_pack(req), wait_ready, &tag);
	if (e != GRPC_CALL_OK) {
		r = ck_err_set(err, -EIO, "grpc %s: start_batch failed (%d)", method, (int)e);
	} else {
		grpc_event ev =
		    grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type != GRPC_OP_COMPLETE)
			r = ck_err_set(err, -EIO, "grpc %s: completion queue failed", method);
		else
			r = unary_result(&io, method, resp_desc, out, err);
	}
	unary_io_destroy(&io);
	grpc_completion_queue_shutdown(cq);
	grpc_completion_queue_destroy(cq);
	return r;
}

int ckgrpc_unary_sync(ckgrpc_channel *ch, const char *method, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
                      ProtobufCMessage **out, ck_err **err)
{
	return unary_sync(ch, method, req, resp_desc, timeout_ms, false, out, err);
}

int ckgrpc_unary_sync_ready(ckgrpc_channel *ch, const char *method, const ProtobufCMessage *req,
                            const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
                            ProtobufCMessage **out, ck_err **err)
{
	return unary_sync(ch, method, req, resp_desc, timeout_ms, true, out, err);
}

/* ---- bidirectional streams ---- */

struct send_item {
	grpc_byte_buffer *bb; /* NULL: half-close */
};

struct ckgrpc_stream {
	struct grpc_tag send_tag, recv_tag, status_tag;
	struct live live;
	ckgrpc_loop *l;
	grpc_call *call;
	char *method;
	const ckgrpc_stream_ops *ops;
	void *data;

	/* send side: one batch at a time; the first carries the initial metadata */
	struct send_item *queue;
	size_t q_head, q_len, q_cap;
	bool sending, sent_initial, send_closed;
	grpc_op send_ops[2];

	grpc_metadata_array md_init, md_trail;
	bool got_initial;
	grpc_byte_buffer *recv;
	grpc_op recv_ops[2];

	grpc_status_code status;
	grpc_slice details;
	int outstanding; /* batches not yet completed */
	bool status_done, cancelled, closed;
};

static void stream_maybe_close(ckgrpc_stream *s)
{
	if (s->closed || !s->status_done || s->outstanding > 0)
		return;
	s->closed = true;
	_cleanup_err_ ck_err *err = NULL;
	int r;
	if (s->cancelled)
		r = ck_err_set(&err, -ECANCELED, "grpc %s: cancelled", s->method);
	else
		r = status_to_err(s->method, s->status, s->details, &err);
	loop_drop(s->l, &s->live);
	s->ops->on_close(s, r, err, s->data);
	for (size_t i = 0; i < s->q_len; i++) {
		struct send_item *it = &s->queue[(s->q_head + i) % s->q_cap];
		if (it->bb)
			grpc_byte_buffer_destroy(it->bb);
	}
	free(s->queue);
	grpc_metadata_array_destroy(&s->md_init);
	grpc_metadata_array_destroy(&s->md_trail);
	grpc_slice_unref(s->details);
	grpc_call_unref(s->call);
	free(s->method);
	free(s);
}

static void stream_pump_send(ckgrpc_stream *s);

static void stream_send_done(struct grpc_tag *t, const struct completion *c)
{
	bool ok = c->ok;
	ckgrpc_stream *s = (ckgrpc_stream *)((char *)t - offsetof(ckgrpc_stream, send_tag));
	s->outstanding--;
	s->sending = false;
	for (size_t i = 0; i < 2; i++)
		if (s->send_ops[i].op == GRPC_OP_SEND_MESSAGE)
			grpc_byte_buffer_destroy(s->send_ops[i].data.send_message.send_message);
	memset(s->send_ops, 0, sizeof(s->send_ops));
	if (!ok)
		s->send_closed = true; /* the call is over; status will tell why */
	else
		stream_pump_send(s);
	stream_maybe_close(s);
}

static void stream_pump_send(ckgrpc_stream *s)
{
	/* Once ckgrpc_loop_free has shut the queue down, callbacks it runs may still ask
	 * to send (a watch cancel): a batch on a shut-down queue is a gRPC assertion. */
	if (s->sending || s->cancelled || s->status_done || s->l->closing)
		return;
	size_t n = 0;
	memset(s->send_ops, 0, sizeof(s->send_ops));
	if (!s->sent_initial) {
		s->send_ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
		s->sent_initial = true;
	} else if (s->q_len > 0) {
		struct send_item it = s->queue[s->q_head];
		s->q_head = (s->q_head + 1) % s->q_cap;
		s->q_len--;
		if (it.bb) {
			s->send_ops[n].op = GRPC_OP_SEND_MESSAGE;
			s->send_ops[n++].data.send_message.send_message = it.bb;
		} else {
			s->send_ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
		}
	}
	if (n == 0)
		return;
	if (grpc_call_start_batch(s->call, s->send_ops, n, &s->send_tag, NULL) != GRPC_CALL_OK) {
		for (size_t i = 0; i < n; i++)
			if (s->send_ops[i].op == GRPC_OP_SEND_MESSAGE)
				grpc_byte_buffer_destroy(
				    s->send_ops[i].data.send_message.send_message);
		grpc_call_cancel(s->call, NULL);
		return;
	}
	s->sending = true;
	s->outstanding++;
}

/* Starts a receive batch (the first also takes the initial metadata). The loop thread
 * arms the first one; the drain thread every later one. */
static bool stream_start_recv(ckgrpc_stream *s)
{
	size_t n = 0;
	memset(s->recv_ops, 0, sizeof(s->recv_ops));
	if (!s->got_initial) {
		s->recv_ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
		s->recv_ops[n++].data.recv_initial_metadata.recv_initial_metadata = &s->md_init;
		s->got_initial = true;
	}
	s->recv_ops[n].op = GRPC_OP_RECV_MESSAGE;
	s->recv_ops[n++].data.recv_message.recv_message = &s->recv;
	s->recv = NULL;
	return grpc_call_start_batch(s->call, s->recv_ops, n, &s->recv_tag, NULL) == GRPC_CALL_OK;
}

static void stream_arm_recv(ckgrpc_stream *s)
{
	if (s->l->closing || !stream_start_recv(s)) {
		if (!s->l->closing)
			grpc_call_cancel(s->call, NULL);
		return;
	}
	s->outstanding++;
}

/* Drain thread: takes the message and, when there was one, asks for the next. */
static void stream_recv_drain(struct grpc_tag *t, struct completion *c)
{
	ckgrpc_stream *s = (ckgrpc_stream *)((char *)t - offsetof(ckgrpc_stream, recv_tag));
	c->msg = CK_TAKE_PTR(s->recv);
	c->rearmed = c->ok && c->msg && !s->l->closing && stream_start_recv(s);
}

static void stream_recv_done(struct grpc_tag *t, const struct completion *c)
{
	ckgrpc_stream *s = (ckgrpc_stream *)((char *)t - offsetof(ckgrpc_stream, recv_tag));
	grpc_byte_buffer *bb = c->msg;
	if (!c->rearmed)
		s->outstanding--; /* no receive is in flight any more */
	if (c->ok && bb) {
		ProtobufCMessage *m = msg_unpack(bb, s->ops->resp_desc);
		if (!m) {
			/* A message we cannot read makes the stream useless. */
			grpc_call_cancel_with_status(s->call, GRPC_STATUS_INTERNAL,
			                             "response does not parse", NULL);
		} else {
			if (!s->cancelled)
				s->ops->on_message(s, m, s->data);
			protobuf_c_message_free_unpacked(m, NULL);
		}
		/* A message with no receive after it: the drain thread could not arm one. */
		if (!c->rearmed && !s->l->closing)
			grpc_call_cancel(s->call, NULL);
	}
	if (bb)
		grpc_byte_buffer_destroy(bb);
	stream_maybe_close(s);
}

static void stream_status_done(struct grpc_tag *t, const struct completion *c)
{
	ckgrpc_stream *s = (ckgrpc_stream *)((char *)t - offsetof(ckgrpc_stream, status_tag));
	s->outstanding--;
	s->status_done = true;
	stream_maybe_close(s);
}

int ckgrpc_stream_open(ckgrpc_loop *l, ckgrpc_channel *ch, const char *method, int timeout_ms,
                       const ckgrpc_stream_ops *ops, void *data, ckgrpc_stream **out, ck_err **err)
{
	if (l->closing)
		return ck_err_set(err, -ECANCELED, "grpc %s: loop is shutting down", method);
	ckgrpc_stream *s = ck_calloc(1, sizeof(*s));
	s->send_tag.fn = stream_send_done;
	s->recv_tag.fn = stream_recv_done;
	s->recv_tag.drain = stream_recv_drain;
	s->status_tag.fn = stream_status_done;
	s->l = l;
	s->method = ck_strdup(method);
	s->ops = ops;
	s->data = data;
	grpc_metadata_array_init(&s->md_init);
	grpc_metadata_array_init(&s->md_trail);
	s->details = grpc_empty_slice();
	s->call = grpc_channel_create_call(ch->ch, NULL, GRPC_PROPAGATE_DEFAULTS, l->cq,
	                                   grpc_slice_from_static_string(s->method), NULL,
	                                   deadline_from_ms(timeout_ms), NULL);
	grpc_op op = {0};
	op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	op.data.recv_status_on_client.trailing_metadata = &s->md_trail;
	op.data.recv_status_on_client.status = &s->status;
	op.data.recv_status_on_client.status_details = &s->details;
	if (grpc_call_start_batch(s->call, &op, 1, &s->status_tag, NULL) != GRPC_CALL_OK) {
		grpc_metadata_array_destroy(&s->md_init);
		grpc_metadata_array_destroy(&s->md_trail);
		grpc_call_unref(s->call);
		free(s->method);
		free(s);
		return ck_err_set(err, -EIO, "grpc %s: cannot start the stream", method);
	}
	s->outstanding++;
	loop_take(l, &s->live, s->call);
	stream_pump_send(s);
	stream_arm_recv(s);
	*out = s;
	return 0;
}

static void stream_enqueue(ckgrpc_stream *s, grpc_byte_buffer *bb)
{
	if (s->q_len == s->q_cap) {
		size_t cap = s->q_cap ? s->q_cap * 2 : 8;
		struct send_item *q = ck_malloc(cap * sizeof(*q));
		for (size_t i = 0; i < s->q_len; i++)
			q[i] = s->queue[(s->q_head + i) % s->q_cap];
		free(s->queue);
		s->queue = q;
		s->q_head = 0;
		s->q_cap = cap;
	}
	s->queue[(s->q_head + s->q_len++) % s->q_cap] = (struct send_item){bb};
}

int ckgrpc_stream_send(ckgrpc_stream *s, const ProtobufCMessage *msg)
{
	if (s->send_closed || s->cancelled || s->status_done)
		return -EPIPE;
	stream_enqueue(s, msg_pack(msg));
	stream_pump_send(s);
	return 0;
}

void ckgrpc_stream_close_send(ckgrpc_stream *s)
{
	if (s->send_closed || s->cancelled || s->status_done)
		return;
	s->send_closed = true;
	stream_enqueue(s, NULL);
	stream_pump_send(s);
}

void ckgrpc_stream_cancel(ckgrpc_stream *s)
{
	if (s->cancelled || s->closed)
		return;
	s->cancelled = true;
	grpc_call_cancel(s->call, NULL);
}
