/* http_client against a tiny HTTP/1.1 server on 127.0.0.1 written here on the same loop. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/strbuf.h"
#include "net/http_client.h"
#include "net/http_server.h"

/* ---- the peer ---- */
typedef struct peer {
	uv_loop_t *loop;
	uv_tcp_t listener;
	int port;
	int accepted; /* connections accepted */
	int requests;
} peer;

typedef struct conn {
	uv_tcp_t tcp;
	peer *p;
	ck_buf in;
	uv_timer_t timer;
	int chunks_left;
} conn;

static void on_conn_closed(uv_handle_t *h)
{
	conn *c = h->data;
	ck_buf_free(&c->in);
	free(c);
}

static void on_timer_closed(uv_handle_t *h)
{
	conn *c = h->data;
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void conn_close(conn *c)
{
	if (uv_is_closing((uv_handle_t *)&c->timer))
		return;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

static void on_written(uv_write_t *w, int status)
{
	free(w->data);
	free(w);
}

static void conn_write(conn *c, const char *s, size_t len)
{
	uv_write_t *w = malloc(sizeof(*w));
	char *copy = malloc(len);
	memcpy(copy, s, len);
	w->data = copy;
	uv_buf_t b = uv_buf_init(copy, (unsigned)len);
	uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_written);
}

static void respond(conn *c, int status, const char *body)
{
	char *s = ck_asprintf("HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: "
	                      "%zu\r\n\r\n%s",
	                      status, strlen(body), body);
	conn_write(c, s, strlen(s));
	free(s);
}

static void on_chunk_timer(uv_timer_t *t)
{
	conn *c = t->data;
	if (c->chunks_left == 0) {
		conn_write(c, "0\r\n\r\n", 5);
		return;
	}
	char *s = ck_asprintf("6\r\nchunk%d\r\n", 4 - c->chunks_left);
	conn_write(c, s, strlen(s));
	free(s);
	c->chunks_left--;
	uv_timer_start(&c->timer, on_chunk_timer, 20, 0);
}

static void handle(conn *c, const char *head, const char *body, size_t body_len)
{
	c->p->requests++;
	char method[16] = "", path[256] = "";
	sscanf(head, "%15s %255s", method, path);
	if (!strcmp(path, "/hello")) {
		respond(c, 200, "{\"hello\":\"world\"}");
	} else if (!strcmp(path, "/echo")) {
		const char *auth = strstr(head, "Authorization: ");
		char *s = ck_asprintf("%s %.*s %s", method, (int)body_len, body,
		                      auth ? "auth" : "noauth");
		respond(c, 201, s);
		free(s);
	} else if (!strcmp(path, "/missing")) {
		respond(c, 404, "{\"kind\":\"Status\"}");
	} else if (!strcmp(path, "/stream")) {
		const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
		conn_write(c, h, strlen(h));
		c->chunks_left = 3;
		uv_timer_start(&c->timer, on_chunk_timer, 20, 0);
	} else if (!strcmp(path, "/slow")) {
		/* never answers */
	} else if (!strcmp(path, "/drop")) {
		conn_close(c);
	} else {
		respond(c, 400, "bad");
	}
}

static void on_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
	b->base = malloc(n);
	b->len = n;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	conn *c = s->data;
	if (n < 0) {
		free(b->base);
		conn_close(c);
		return;
	}
	ck_buf_append(&c->in, b->base, (size_t)n);
	free(b->base);
	for (;;) {
		const char *s0 = ck_buf_str(&c->in);
		const char *end = strstr(s0, "\r\n\r\n");
		if (!end)
			return;
		size_t head_len = (size_t)(end - s0) + 4;
		size_t clen = 0;
		const char *cl = strcasestr(s0, "Content-Length: ");
		if (cl && cl < end)
			clen = strtoul(cl + 16, NULL, 10);
		if (c->in.len < head_len + clen)
			return;
		char *head = ck_strndup(s0, head_len);
		char *body = ck_strndup(s0 + head_len, clen);
		size_t rest = c->in.len - head_len - clen;
		memmove(c->in.s, c->in.s + head_len + clen, rest);
		ck_buf_truncate(&c->in, rest);
		handle(c, head, body, clen);
		free(head);
		free(body);
		if (uv_is_closing((uv_handle_t *)&c->timer))
			return;
	}
}

static void on_connection(uv_stream_t *l, int status)
{
	peer *p = l->data;
	conn *c = calloc(1, sizeof(*c));
	c->p = p;
	uv_tcp_init(p->loop, &c->tcp);
	uv_timer_init(p->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	uv_accept(l, (uv_stream_t *)&c->tcp);
	p->accepted++;
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void peer_listen(peer *p, uv_loop_t *loop, int port)
{
	p->loop = loop;
	uv_tcp_init(loop, &p->listener);
	p->listener.data = p;
	struct sockaddr_in a;
	uv_ip4_addr("127.0.0.1", port, &a);
	assert_int_equal(uv_tcp_bind(&p->listener, (struct sockaddr *)&a, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&p->listener, 64, on_connection), 0);
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	uv_tcp_getsockname(&p->listener, (struct sockaddr *)&ss, &len);
	p->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void close_walk(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h)) {
		if (h->type == UV_TCP && h->data && h->data != arg) {
			conn_close(h->data);
		} else if (h->type == UV_TCP) {
			uv_close(h, NULL);
		}
	}
}

/* Closes the peer's handles and runs the loop dry. */
static void teardown_loop(uv_loop_t *loop, peer *p)
{
	uv_walk(loop, close_walk, p);
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(loop), 0);
}

/* ---- tests ---- */
typedef struct result {
	int calls;
	int rc, status;
	char *body;
	ck_buf chunks;
	int n_chunks;
	httpc *c;
	int stop_after;
} result;

static void on_done(const httpc_response *r, void *user)
{
	result *res = user;
	res->calls++;
	res->rc = r->rc;
	res->status = r->status;
	free(res->body);
	res->body = r->rc == 0 ? ck_strndup(r->body, r->body_len) : NULL;
}

static int on_chunk(const void *data, size_t len, void *user)
{
	result *res = user;
	ck_buf_append(&res->chunks, data, len);
	res->n_chunks++;
	return res->stop_after && res->n_chunks >= res->stop_after;
}

static void result_clear(result *r)
{
	free(r->body);
	ck_buf_free(&r->chunks);
}

static httpc *new_client(uv_loop_t *loop, peer *p, const char *token)
{
	char *url = ck_asprintf("http://127.0.0.1:%d", p->port);
	httpc_opts o = {.base_url = url, .bearer_token = token, .retry_base_ms = 20};
	httpc *c = NULL;
	assert_int_equal(httpc_new(loop, &o, &c, NULL), 0);
	free(url);
	return c;
}

/* Marks open descriptors in seen (up to 1024). */
static void open_fds(bool seen[1024])
{
	memset(seen, 0, 1024 * sizeof(bool));
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (!*end && fd >= 0 && fd < 1024 && fd != dirfd(d))
			seen[fd] = true;
	}
	closedir(d);
}

/* The first descriptor opened since before[] was taken without FD_CLOEXEC, or -1. */
static int first_inheritable_fd(const bool before[1024])
{
	bool now[1024];
	open_fds(now);
	for (int fd = 3; fd < 1024; fd++) {
		if (!now[fd] || before[fd])
			continue;
		int flags = fcntl(fd, F_GETFD);
		if (flags >= 0 && !(flags & FD_CLOEXEC))
			return fd;
	}
	return -1;
}

static void assert_no_new_inheritable_fds(const bool before[1024])
{
	int fd = first_inheritable_fd(before);
	if (fd >= 0) {
		char link[64], target[256] = "";
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = 0;
		fail_msg("fd %d (%s) is not close-on-exec", fd, target);
	}
}

static void test_get_and_keepalive(void **state)
{
	bool fds_before[1024];
	open_fds(fds_before);
	uv_loop_t loop;
	uv_loop_init(&loop);
	peer p = {0};
	peer_listen(&p, &loop, 0);
	httpc *c = new_client(&loop, &p, NULL);
	result r1 = {0};
	assert_int_equal(
	    httpc_start(c, &(httpc_request){.path = "/hello", .on_done = on_done, .user = &r1},
	                NULL),
	    0);
	while (r1.calls == 0)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(r1.rc, 0);
	assert_int_equal(r1.status, 200);
	assert_string_equal(r1.body, "{\"hello\":\"world\"}");
	/* A second request reuses the connection. */
	result r2 = {0};
	assert_int_equal(
	    httpc_start(c, &(httpc_request){.path = "/missing", .on_done = on_done, .user = &r2},
	                NULL),
	    0);
	while (r2.calls == 0)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(r2.status, 404);
	assert_int_equal(p.accepted, 1);
	assert_int_equal(httpc_in_flight(c), 0);
	/* Every descriptor the client opened is close-on-exec. */
	assert_no_new_inheritable_fds(fds_before);
	httpc_free(c);
	teardown_loop(&loop, &p);
	result_clear(&r1);
	result_clear(&r2);
}

static void test_concurrent_post_with_token(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	peer p = {0};
	peer_listen(&p, &loop, 0);
	httpc *c = new_client(&loop, &p, "s3cret");
	result r[20] = {0};
	for (int i = 0; i < 20; i++) {
		char body[32];
		snprintf(body, sizeof(body), "{\"i\":%d}", i);
		httpc_request q = {.method = i % 2 ? "POST" : "PUT",
		                   .path = "/echo",
		                   .body = body,
		                   .body_len = strlen(body),
		                   .on_done = on_done,
		                   .user = &r[i]};
		assert_int_equal(httpc_start(c, &q, NULL), 0);
	}
	assert_int_equal(httpc_in_flight(c), 20);
	for (int i = 0; i < 20; i++) {
		while (r[i].calls == 0)
			uv_run(&loop, UV_RUN_ONCE);
		assert_int_equal(r[i].status, 201);
		char *want = ck_asprintf("%s {\"i\":%d} auth", i % 2 ? "POST" : "PUT", i);
		assert_string_equal(r[i].body, want);
		free(want);
		assert_int_equal(r[i].calls, 1);
		result_clear(&r[i]);
	}
	assert_int_equal(p.requests, 20);
	httpc_free(c);
	teardown_loop(&loop, &p);
}

static void test_stream(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	peer p = {0};
	peer_listen(&p, &loop, 0);
	httpc *c = new_client(&loop, &p, NULL);
	result r = {0};
	httpc_request q = {.path = "/stream",
	                   .timeout_ms = -1,
	                   .on_chunk = on_chunk,
	                   .on_done = on_done,
	                   .user = &r};
	assert_int_equal(httpc_start(c, &q, NULL), 0);
	while (r.calls == 0)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(r.rc, 0);
	assert_string_equal(ck_buf_str(&r.chunks), "chunk1chunk2chunk3");
	assert_true(r.n_chunks >= 2); /* arrived over time, not at the end */
	assert_string_equal(r.body, "");
	result_clear(&r);

	/* A chunk callback may stop the stream: done reports -ECANCELED. */
	result s = {.stop_after = 1};
	q.user = &s;
	assert_int_equal(httpc_start(c, &q, NULL), 0);
	while (s.calls == 0)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(s.rc, -ECANCELED);
	assert_int_equal(s.n_chunks, 1);
	result_clear(&s);
	httpc_free(c);
	teardown_loop(&loop, &p);
}

static void test_timeout_and_cancel(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	peer p = {0};
	peer_listen(&p, &loop, 0);
	httpc *c = new_client(&loop, &p, NULL);
	result r = {0};
	assert_int_equal(
	    httpc_start(c,
	                &(httpc_request){
	                    .path = "/slow", .timeout_ms = 150, .on_done = on_done, .user = &r},
	                NULL),
	    0);
	uint64_t t0 = uv_now(&loop);
	while (r.calls == 0)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(r.rc, -ETIMEDOUT);
	assert_true(uv_now(&loop) - t0 >= 140);

	/* A cancelled request never calls back. */
	result k = {0};
	httpc_req *h = NULL;
	assert_int_equal(
	    httpc_start(c, &(httpc_request){.path = "/slow", .on_done = on_done, .user = &k}, &h),
	    0);
	result r2 = {0};
	assert_int_equal(
	    httpc_start(c, &(httpc_request){.path = "/hello", .on_done = on_done, .user = &r2},
	                NULL),
	    0);
	for (int i = 0; i < 5; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	httpc_cancel(h);
	while (r2.calls == 0)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(r2.status, 200);
	assert_int_equal(k.calls, 0);
	httpc_free(c);
	teardown_loop(&loop, &p);
	assert_int_equal(k.calls, 0);
	result_clear(&r);
	result_clear(&r2);
}

/* A server that comes up late: the GET is retried until it answers; a POST is not. */
static peer late;
static void on_late_listen(uv_timer_t *t)
{
	peer_listen(&late, t->loop, late.port);
}

static void test_retry(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	/* Find a free port, then release it. */
	peer probe = {0};
	peer_listen(&probe, &loop, 0);
	int port = probe.port;
	uv_close((uv_handle_t *)&probe.listener, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);

	memset(&late, 0, sizeof(late));
	late.port = port;
	httpc *c = new_client(&loop, &late, NULL);
	result post = {0};
	assert_int_equal(httpc_start(c,
	                             &(httpc_request){.method = "POST",
	                                              .path = "/echo",
	                                              .body = "x",
	                                              .body_len = 1,
	                                              .on_done = on_done,
	                                              .user = &post},
	                             NULL),
	                 0);
	result get = {0};
	assert_int_equal(
	    httpc_start(c, &(httpc_request){.path = "/hello", .on_done = on_done, .user = &get},
	                NULL),
	    0);
	while (post.calls == 0)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(post.rc, -ECONNREFUSED);
	uv_timer_t t;
	uv_timer_init(&loop, &t);
	uv_timer_start(&t, on_late_listen, 50, 0);
	while (get.calls == 0)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(get.rc, 0);
	assert_int_equal(get.status, 200);
	uv_close((uv_handle_t *)&t, NULL);
	httpc_free(c);
	teardown_loop(&loop, &late);
	result_clear(&post);
	result_clear(&get);
}

static void free_in_done(const httpc_response *r, void *user)
{
	result *res = user;
	res->calls++;
	httpc_free(res->c);
}

static void test_free_from_callback(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	peer p = {0};
	peer_listen(&p, &loop, 0);
	httpc *c = new_client(&loop, &p, NULL);
	result r = {.c = c};
	result other = {0};
	assert_int_equal(
	    httpc_start(c, &(httpc_request){.path = "/slow", .on_done = on_done, .user = &other},
	                NULL),
	    0);
	assert_int_equal(
	    httpc_start(c, &(httpc_request){.path = "/hello", .on_done = free_in_done, .user = &r},
	                NULL),
	    0);
	while (r.calls == 0)
		uv_run(&loop, UV_RUN_ONCE);
	teardown_loop(&loop, &p);
	assert_int_equal(other.calls, 0);
}

/* The blocking client, in a thread, against the loop's server. */
typedef struct sync_arg {
	int port;
	int rc, status, chunks;
	int inheritable_fd; /* a descriptor the client left inheritable, or -1 */
	bool fds_before[1024];
	char *body;
	uv_async_t done;
} sync_arg;

static int count_chunk(const void *d, size_t n, void *user)
{
	((sync_arg *)user)->chunks++;
	return 0;
}

static void sync_thread(void *p)
{
	sync_arg *a = p;
	char *url = ck_asprintf("http://127.0.0.1:%d", a->port);
	httpc_sync *s = NULL;
	a->rc = httpc_sync_new(&(httpc_opts){.base_url = url}, &s, NULL);
	if (a->rc == 0) {
		httpc_response resp;
		a->rc = httpc_sync_do(
		    s,
		    &(httpc_request){.method = "POST", .path = "/echo", .body = "b", .body_len = 1},
		    &resp, NULL);
		a->status = resp.status;
		a->body = resp.body;
		resp.body = NULL;
		httpc_response_clear(&resp);
		httpc_response r2;
		if (httpc_sync_do(
		        s, &(httpc_request){.path = "/stream", .on_chunk = count_chunk, .user = a},
		        &r2, NULL) < 0)
			a->chunks = -1;
		httpc_response_clear(&r2);
	}
	/* Checked while the connection is still open. */
	a->inheritable_fd = first_inheritable_fd(a->fds_before);
	httpc_sync_free(s);
	free(url);
	uv_async_send(&a->done);
}

static void on_sync_done(uv_async_t *h)
{
	uv_close((uv_handle_t *)h, NULL);
}

static void test_sync(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	peer p = {0};
	peer_listen(&p, &loop, 0);
	sync_arg a = {.port = p.port};
	open_fds(a.fds_before);
	uv_async_init(&loop, &a.done, on_sync_done);
	uv_thread_t th;
	uv_thread_create(&th, sync_thread, &a);
	while (uv_is_active((uv_handle_t *)&a.done))
		uv_run(&loop, UV_RUN_ONCE);
	uv_thread_join(&th);
	assert_int_equal(a.rc, 0);
	assert_int_equal(a.status, 201);
	assert_string_equal(a.body, "POST b noauth");
	assert_true(a.chunks >= 2);
	assert_int_equal(p.accepted, 1);
	assert_int_equal(a.inheritable_fd, -1);
	free(a.body);
	teardown_loop(&loop, &p);
}

static void test_bad_options(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	httpc *c = NULL;
	ck_err *err = NULL;
	assert_int_equal(
	    httpc_new(&loop, &(httpc_opts){.ca_file = "/nonexistent/ca.crt"}, &c, &err), -ENOENT);
	assert_non_null(strstr(err->msg, "/nonexistent/ca.crt"));
	ck_err_free(err);
	assert_int_equal(httpc_new(&loop, &(httpc_opts){.cert_file = "/etc/hostname"}, &c, NULL),
	                 -EINVAL);
	char *e = httpc_escape("a b/c=d&é");
	assert_string_equal(e, "a%20b%2Fc%3Dd%26%C3%A9");
	free(e);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- TLS against http_server, with certificates made by the openssl tool ---- */
static void on_tls_request(http_exchange *x, void *data)
{
	const http_request *r = http_exchange_request(x);
	const char *auth = http_request_header(r, "Authorization");
	char *body = ck_asprintf("%s|%s|%s", r->tls ? "tls" : "plain",
	                         r->client_cn ? r->client_cn : "-", auth ? auth : "-");
	http_respond(x, 200, "text/plain", body, strlen(body));
	free(body);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	ck_buf b = {0};
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		ck_buf_append(&b, tmp, n);
	fclose(f);
	return ck_buf_steal(&b);
}

static void tls_get(uv_loop_t *loop, const httpc_opts *o, result *r)
{
	httpc *c = NULL;
	assert_int_equal(httpc_new(loop, o, &c, NULL), 0);
	memset(r, 0, sizeof(*r));
	assert_int_equal(
	    httpc_start(c, &(httpc_request){.path = "/", .on_done = on_done, .user = r}, NULL), 0);
	while (r->calls == 0)
		uv_run(loop, UV_RUN_ONCE);
	httpc_free(c);
}

static void test_tls(void **state)
{
	char dir[] = "/tmp/httpc-tls-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *cmd = ck_asprintf(
	    "cd %s && K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes' && "
	    "openssl req -x509 $K -keyout ca.key -out ca.crt -subj /CN=test-ca -days 2 && "
	    "openssl req -x509 $K -keyout other.key -out other.crt -subj /CN=other-ca -days 2 && "
	    "openssl req $K -keyout server.key -out server.csr -subj /CN=server && "
	    "printf 'subjectAltName=IP:127.0.0.1' > san.ext && "
	    "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out "
	    "server.crt -days 2 -extfile san.ext && "
	    "openssl req $K -keyout client.key -out client.csr -subj /O=system:masters/CN=admin && "
	    "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out "
	    "client.crt -days 2",
	    dir);
	char *quiet = ck_asprintf("(%s) >/dev/null 2>&1", cmd);
	assert_int_equal(system(quiet), 0);
	free(cmd);
	free(quiet);
	char *ca_crt = ck_asprintf("%s/ca.crt", dir), *other_crt = ck_asprintf("%s/other.crt", dir);
	char *server_crt = ck_asprintf("%s/server.crt", dir),
	     *server_key = ck_asprintf("%s/server.key", dir);
	char *client_crt = ck_asprintf("%s/client.crt", dir),
	     *client_key = ck_asprintf("%s/client.key", dir);
	uv_loop_t loop;
	uv_loop_init(&loop);
	http_server *srv = NULL;
	http_server_opts so = {
	    .tls_cert_file = server_crt, .tls_key_file = server_key, .client_ca_file = ca_crt};
	assert_int_equal(http_server_new(&loop, &so, on_tls_request, NULL, &srv, NULL), 0);
	char *url = ck_asprintf("https://127.0.0.1:%d", http_server_port(srv));
	result r;

	/* Pinned CA file, client certificate files, bearer token. */
	tls_get(&loop,
	        &(httpc_opts){.base_url = url,
	                      .ca_file = ca_crt,
	                      .cert_file = client_crt,
	                      .key_file = client_key,
	                      .bearer_token = "tok"},
	        &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.body, "tls|admin|Bearer tok");
	result_clear(&r);

	/* The same from PEM text. */
	char *ca_pem = slurp(ca_crt), *cert_pem = slurp(client_crt), *key_pem = slurp(client_key);
	tls_get(&loop,
	        &(httpc_opts){
	            .base_url = url, .ca_pem = ca_pem, .cert_pem = cert_pem, .key_pem = key_pem},
	        &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.body, "tls|admin|-");
	result_clear(&r);

	/* No client certificate: anonymous. */
	tls_get(&loop, &(httpc_opts){.base_url = url, .ca_file = ca_crt}, &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.body, "tls|-|-");
	result_clear(&r);

	/* A server not signed by the pinned CA is refused... */
	tls_get(&loop, &(httpc_opts){.base_url = url, .ca_file = other_crt}, &r);
	assert_int_equal(r.rc, CK_EPROTO);
	result_clear(&r);
	/* ...unless verification is off. */
	tls_get(&loop, &(httpc_opts){.base_url = url, .insecure_skip_verify = true}, &r);
	assert_int_equal(r.rc, 0);
	result_clear(&r);

	http_server_shutdown(srv, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	char *rm = ck_asprintf("rm -rf %s", dir);
	assert_int_equal(system(rm), 0);
	free(rm);
	free(url);
	free(ca_pem);
	free(cert_pem);
	free(key_pem);
	free(ca_crt);
	free(other_crt);
	free(server_crt);
	free(server_key);
	free(client_crt);
	free(client_key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_and_keepalive),
	    cmocka_unit_test(test_concurrent_post_with_token),
	    cmocka_unit_test(test_stream),
	    cmocka_unit_test(test_timeout_and_cancel),
	    cmocka_unit_test(test_retry),
	    cmocka_unit_test(test_free_from_callback),
	    cmocka_unit_test(test_sync),
	    cmocka_unit_test(test_bad_options),
	    cmocka_unit_test(test_tls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
