/* Unit tests for lib/net/grpc without a gRPC server: status mapping, failures
 * (nothing listening → UNAVAILABLE, a peer that never speaks → deadline), delivery of
 * callbacks on the loop thread, cancellation, and ckgrpc_loop_free with calls in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "etcd/rpc.pb-c.h"
#include "net/grpc.h"

static void test_status_mapping(void **state)
{
	assert_int_equal(ckgrpc_status_to_rc(0), 0);
	assert_int_equal(ckgrpc_status_to_rc(1), -ECANCELED);
	assert_int_equal(ckgrpc_status_to_rc(4), -ETIMEDOUT);
	assert_int_equal(ckgrpc_status_to_rc(5), -ENOENT);
	assert_int_equal(ckgrpc_status_to_rc(6), -EEXIST);
	assert_int_equal(ckgrpc_status_to_rc(10), CK_ECONFLICT);
	assert_int_equal(ckgrpc_status_to_rc(11), -ERANGE);
	assert_int_equal(ckgrpc_status_to_rc(12), -ENOSYS);
	assert_int_equal(ckgrpc_status_to_rc(14), CK_EUNAVAILABLE);
	assert_int_equal(ckgrpc_status_to_rc(16), -EACCES);
	assert_int_equal(ckgrpc_status_to_rc(99), -EIO);
	assert_int_equal(ckgrpc_status_to_rc(-1), -EIO);
	assert_string_equal(ckgrpc_status_name(14), "UNAVAILABLE");
	assert_string_equal(ckgrpc_status_name(4), "DEADLINE_EXCEEDED");
	assert_string_equal(ckgrpc_status_name(17), "UNKNOWN_CODE");
}

/* A TCP socket that listens on 127.0.0.1 and never accepts: connections complete in
 * the kernel backlog but the HTTP/2 handshake never does. target gets its
 * "127.0.0.1:port". Returns the socket. */
static int silent_listener(char target[static 64])
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	socklen_t len = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	snprintf(target, 64, "127.0.0.1:%d", ntohs(a.sin_port));
	return fd;
}

static void test_sync_unavailable(void **state)
{
	char path[128];
	snprintf(path, sizeof(path), "unix:///tmp/ckube-test-grpc-none-%d.sock", (int)getpid());
	ckgrpc_channel *ch = NULL;
	_cleanup_err_ ck_err *err = NULL;
	assert_int_equal(ckgrpc_channel_new(path, NULL, &ch, &err), 0);
	Etcdserverpb__RangeRequest req = ETCDSERVERPB__RANGE_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int r = ckgrpc_unary_sync(ch, "/etcdserverpb.KV/Range", &req.base,
	                          &etcdserverpb__range_response__descriptor, 5000, &resp, &err);
	assert_int_equal(r, CK_EUNAVAILABLE);
	assert_null(resp);
	assert_non_null(err);
	assert_int_equal(err->code, CK_EUNAVAILABLE);
	assert_non_null(strstr(err->msg, "UNAVAILABLE"));
	assert_non_null(strstr(err->msg, "/etcdserverpb.KV/Range"));
	ckgrpc_channel_free(ch);
}

static void test_sync_deadline(void **state)
{
	char target[64];
	int lfd = silent_listener(target);
	ckgrpc_channel *ch = NULL;
	_cleanup_err_ ck_err *err = NULL;
	assert_int_equal(ckgrpc_channel_new(target, NULL, &ch, &err), 0);
	assert_string_equal(ckgrpc_channel_target(ch), target);
	Etcdserverpb__RangeRequest req = ETCDSERVERPB__RANGE_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	uint64_t t0 = uv_hrtime();
	int r = ckgrpc_unary_sync(ch, "/etcdserverpb.KV/Range", &req.base,
	                          &etcdserverpb__range_response__descriptor, 300, &resp, &err);
	uint64_t ms = (uv_hrtime() - t0) / 1000000;
	if (r != -ETIMEDOUT)
		fprintf(stderr, "%d ms: %s\n", (int)ms, err ? err->msg : "");
	assert_int_equal(r, -ETIMEDOUT);
	assert_true(ms >= 250 && ms < 3000);
	ckgrpc_channel_free(ch);
	close(lfd);
}

static void test_channel_bad_tls_file(void **state)
{
	ckgrpc_channel *ch = NULL;
	_cleanup_err_ ck_err *err = NULL;
	ckgrpc_channel_opts o = {.ca_file = "/nonexistent/ca.pem"};
	assert_int_equal(ckgrpc_channel_new("127.0.0.1:1", &o, &ch, &err), -ENOENT);
	assert_null(ch);
	assert_non_null(strstr(err->msg, "/nonexistent/ca.pem"));
	err = ck_err_free(err);
	assert_int_equal(ckgrpc_channel_new("", NULL, &ch, &err), -EINVAL);
}

struct async_result {
	int calls;
	int rc;
	pthread_t thread;
	bool had_current;
};

static void on_unary(int rc, const ProtobufCMessage *resp, const ck_err *err, void *data)
{
	struct async_result *res = data;
	res->calls++;
	res->rc = rc;
	res->thread = pthread_self();
	res->had_current = ckgrpc_current_call() != NULL;
	if (rc != 0)
		assert_non_null(err);
	assert_null(resp);
}

/* A loop with its gRPC loop, and a channel to a silent listener. */
typedef struct fixture {
	int lfd;
	char target[64];
	uv_loop_t loop;
	ckgrpc_loop *gl;
	ckgrpc_channel *ch;
} fixture;

static void fixture_open(fixture *f)
{
	f->lfd = silent_listener(f->target);
	uv_loop_init(&f->loop);
	f->gl = NULL;
	f->ch = NULL;
	assert_int_equal(ckgrpc_loop_new(&f->loop, &f->gl, NULL), 0);
	assert_int_equal(ckgrpc_channel_new(f->target, NULL, &f->ch, NULL), 0);
}

/* Frees the channel, then the gRPC loop (unless the test did: NULL), and checks that
 * nothing was left on the loop. */
static void fixture_close(fixture *f)
{
	ckgrpc_channel_free(f->ch);
	ckgrpc_loop_free(f->gl);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	close(f->lfd);
}

/* Starts a Range call to the silent listener (timeout_ms 0: none); the call must start. */
static void start_range(fixture *f, int timeout_ms, struct async_result *res, ckgrpc_call **call)
{
	Etcdserverpb__RangeRequest req = ETCDSERVERPB__RANGE_REQUEST__INIT;
	assert_int_equal(ckgrpc_unary(f->gl, f->ch, "/etcdserverpb.KV/Range", &req.base,
	                              &etcdserverpb__range_response__descriptor, timeout_ms,
	                              on_unary, res, call, NULL),
	                 0);
}

static void test_async_deadline_on_loop_thread(void **state)
{
	fixture f;
	fixture_open(&f);
	assert_ptr_equal(ckgrpc_loop_uv(f.gl), &f.loop);
	struct async_result res = {0};
	start_range(&f, 200, &res, NULL);
	assert_int_equal(res.calls, 0);
	/* The call keeps the loop alive until its callback ran. */
	uv_run(&f.loop, UV_RUN_DEFAULT);
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.rc, -ETIMEDOUT);
	assert_true(pthread_equal(res.thread, pthread_self()));
	assert_true(res.had_current);
	fixture_close(&f);
}

static void cancel_timer_cb(uv_timer_t *t)
{
	ckgrpc_call_cancel(t->data);
}

static void test_async_cancel(void **state)
{
	fixture f;
	fixture_open(&f);
	struct async_result res = {0};
	ckgrpc_call *call = NULL;
	start_range(&f, 0, &res, &call);
	uv_timer_t timer;
	uv_timer_init(&f.loop, &timer);
	timer.data = call;
	uv_timer_start(&timer, cancel_timer_cb, 50, 0);
	uint64_t t0 = uv_hrtime();
	uv_run(&f.loop, UV_RUN_DEFAULT);
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.rc, -ECANCELED);
	assert_true((uv_hrtime() - t0) / 1000000 < 2000);
	uv_close((uv_handle_t *)&timer, NULL);
	fixture_close(&f);
}

struct stream_result {
	int messages, closes, rc;
};

static void on_stream_msg(ckgrpc_stream *s, const ProtobufCMessage *msg, void *data)
{
	((struct stream_result *)data)->messages++;
}

static void on_stream_close(ckgrpc_stream *s, int rc, const ck_err *err, void *data)
{
	struct stream_result *r = data;
	r->closes++;
	r->rc = rc;
}

static const ckgrpc_stream_ops stream_ops = {
    .resp_desc = &etcdserverpb__watch_response__descriptor,
    .on_message = on_stream_msg,
    .on_close = on_stream_close,
};

/* Opens a Watch stream to the silent listener; it must open. */
static ckgrpc_stream *open_watch(fixture *f, struct stream_result *sr)
{
	ckgrpc_stream *s = NULL;
	assert_int_equal(ckgrpc_stream_open(f->gl, f->ch, "/etcdserverpb.Watch/Watch", 0,
	                                    &stream_ops, sr, &s, NULL),
	                 0);
	return s;
}

static void test_loop_free_cancels_everything(void **state)
{
	fixture f;
	fixture_open(&f);
	struct async_result res = {0};
	start_range(&f, 0, &res, NULL);
	struct stream_result sr = {0};
	ckgrpc_stream *s = open_watch(&f, &sr);
	Etcdserverpb__WatchRequest wr = ETCDSERVERPB__WATCH_REQUEST__INIT;
	assert_int_equal(ckgrpc_stream_send(s, &wr.base), 0);
	uv_run(&f.loop, UV_RUN_NOWAIT);
	f.gl = ckgrpc_loop_free(f.gl);
	/* Callbacks ran inside ckgrpc_loop_free. */
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.rc, -ECANCELED);
	assert_int_equal(sr.closes, 1);
	assert_int_equal(sr.messages, 0);
	assert_int_equal(sr.rc, -ECANCELED);
	fixture_close(&f);
}

static void test_stream_cancel(void **state)
{
	fixture f;
	fixture_open(&f);
	struct stream_result sr = {0};
	ckgrpc_stream *s = open_watch(&f, &sr);
	ckgrpc_stream_cancel(s);
	assert_int_equal(sr.closes, 0);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	assert_int_equal(sr.closes, 1);
	assert_int_equal(sr.rc, -ECANCELED);
	fixture_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_mapping),
	    cmocka_unit_test(test_sync_unavailable),
	    cmocka_unit_test(test_sync_deadline),
	    cmocka_unit_test(test_channel_bad_tls_file),
	    cmocka_unit_test(test_async_deadline_on_loop_thread),
	    cmocka_unit_test(test_async_cancel),
	    cmocka_unit_test(test_loop_free_cancels_everything),
	    cmocka_unit_test(test_stream_cancel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
