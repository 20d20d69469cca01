/* http_client against a tiny HTTP/1.1 server on 127.0.0.1 written here on the same loop.
 * The dial racing tests look at the client's pool and orphans (http_client_internal.h). */
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
#include "net/http_client_internal.h"
#include "net/http_server.h"

/* ---- the peer ---- */
typedef struct peer {
	uv_loop_t *loop;
	uv_tcp_t listener;
	int port;
	int accepted; /* connections accepted */
	int closed;   /* connections closed */
	int requests;
} peer;

typedef struct conn {
	uv_tcp_t tcp;
	peer *p;
	ck_buf in;
	uv_timer_t timer;
	int chunks_left;
	int served; /* requests answered on this connection */
} conn;

static void on_conn_closed(uv_handle_t *h)
{
	conn *c = h->data;
	c->p->closed++;
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

static void on_bye_timer(uv_timer_t *t)
{
	conn_close(t->data);
}

static void handle(conn *c, const char *head, const char *body, size_t body_len)
{
	c->p->requests++;
	char method[16] = "", path[256] = "";
	sscanf(head, "%15s %255s", method, path);
	path[strcspn(path, "?")] = '\0';
	int served = c->served++;
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
	} else if (!strcmp(path, "/drop-reused")) {
		/* The keep-alive race: the server closes the connection just as we send. */
		if (served) {
			conn_close(c);
		} else {
			char *s = ck_asprintf("%s %.*s", method, (int)body_len, body);
			respond(c, 201, s);
			free(s);
		}
	} else if (!strcmp(path, "/head")) {
		respond(c, 200, head);
	} else if (!strcmp(path, "/bye")) {
		/* Answers, then closes the idle connection soon after. */
		respond(c, 200, "bye");
		uv_timer_start(&c->timer, on_bye_timer, 10, 0);
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

static void peer_listen_on(peer *p, uv_loop_t *loop, const char *ip, int port)
{
	p->loop = loop;
	uv_tcp_init(loop, &p->listener);
	p->listener.data = p;
	struct sockaddr_storage a;
	if (strchr(ip, ':'))
		uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&a);
	else
		uv_ip4_addr(ip, port, (struct sockaddr_in *)&a);
	assert_int_equal(uv_tcp_bind(&p->listener, (struct sockaddr *)&a, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&p->listener, 64, on_connection), 0);
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	uv_tcp_getsockname(&p->listener, (struct sockaddr *)&ss, &len);
	p->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                         : ((struct sockaddr_in *)&ss)->sin_port);
}

static void peer_listen(peer *p, uv_loop_t *loop, int port)
{
	peer_listen_on(p, loop, "127.0.0.1", port);
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
	char *error;
	ck_buf chunks;
	int n_chunks;
	httpc *c;
	int stop_after;
	httpc_req *self;      /* cancelled from on_chunk when cancel_in_chunk */
	bool cancel_in_chunk; /* as a watch stopped from its event handler does */
	bool free_in_chunk;   /* on_chunk frees the client c */
	int chain;            /* on_done starts this many more requests, one after the other */
} result;

static void on_done(const httpc_response *r, void *user)
{
	result *res = user;
	res->calls++;
	res->rc = r->rc;
	res->status = r->status;
	free(res->body);
	res->body = r->rc == 0 ? ck_strndup(r->body, r->body_len) : NULL;
	free(res->error);
	res->error = ck_strdup_or_null(r->error);
}

static int on_chunk(const void *data, size_t len, void *user)
{
	result *res = user;
	ck_buf_append(&res->chunks, data, len);
	res->n_chunks++;
	if (res->cancel_in_chunk) {
		httpc_cancel(res->self);
		return 1;
	}
	if (res->free_in_chunk) {
		httpc_free(res->c);
		return 0;
	}
	return res->stop_after && res->n_chunks >= res->stop_after;
}

static void result_clear(result *r)
{
	free(r->error);
	free(r->body);
	ck_buf_free(&r->chunks);
}

/* Runs the loop until r has its answer. */
static void wait_done(uv_loop_t *loop, const result *r)
{
	while (r->calls == 0)
		uv_run(loop, UV_RUN_ONCE);
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

/* Starts q on c, answered into r by on_done; its handle in *h unless h is NULL. */
static void start(httpc *c, httpc_request q, result *r, httpc_req **h)
{
	q.on_done = on_done;
	q.user = r;
	assert_int_equal(httpc_start(c, &q, h), 0);
}

/* Starts a GET of path on c, answered into r. */
static void start_get(httpc *c, const char *path, result *r)
{
	start(c, (httpc_request){.path = path}, r, NULL);
}

/* Starts n GETs of /hello on c at once and waits for them: each is answered 200. */
static void hello_burst(uv_loop_t *loop, httpc *c, int n)
{
	result *r = ck_calloc((size_t)n, sizeof(*r));
	for (int i = 0; i < n; i++)
		start_get(c, "/hello", &r[i]);
	for (int i = 0; i < n; i++) {
		wait_done(loop, &r[i]);
		assert_int_equal(r[i].status, 200);
		result_clear(&r[i]);
	}
	free(r);
}

#define POOL_THREADS 4 /* UV_THREADPOOL_SIZE, set in main */

/* libuv's thread pool, shared by all loops, kept busy from a loop of its own: a name being
 * resolved meanwhile (a connection to "localhost" being opened) waits until it is let go. */
static struct pool_hold {
	bool on;
	uv_loop_t loop;
	uv_sem_t go;
	uv_work_t work[POOL_THREADS];
} hold;

static void hold_thread(uv_work_t *w)
{
	uv_sem_wait(&hold.go);
}

static void pool_hold(void)
{
	uv_loop_init(&hold.loop);
	uv_sem_init(&hold.go, 0);
	for (int i = 0; i < POOL_THREADS; i++)
		assert_int_equal(uv_queue_work(&hold.loop, &hold.work[i], hold_thread, NULL), 0);
	hold.on = true;
}

static void pool_let_go(void)
{
	if (!hold.on)
		return;
	hold.on = false;
	for (int i = 0; i < POOL_THREADS; i++)
		uv_sem_post(&hold.go);
	uv_run(&hold.loop, UV_RUN_DEFAULT);
	uv_sem_destroy(&hold.go);
	assert_int_equal(uv_loop_close(&hold.loop), 0);
}

/* What a test's fixture is made of: the test's initial state (FX_TEST). */
typedef struct fx_spec {
	const char *listen; /* the peer's address; 127.0.0.1 when NULL */
	const char *host;   /* the host in the client's base URL; 127.0.0.1 when NULL */
	bool no_peer;       /* no peer listening: the client's port is one found free */
	bool no_client;
	httpc_opts opts; /* the client's, but for base_url */
	/* A dial racing test's: the client, by the name localhost (resolved in the thread
	 * pool), has one idle connection, and the pool is held. */
	bool race;
} fx_spec;

/* A test's loop, the peer on it and a client of the peer. Set up and torn down around
 * the test, so that a failed one does not leave the pool held, or a resolution for a loop
 * gone, to the tests after it. */
typedef struct fx {
	const fx_spec *spec;
	bool fds_before[1024]; /* open before the loop was made (open_fds) */
	uv_loop_t loop;
	peer p;
	httpc *c;         /* a test that frees it sets it NULL */
	uv_timer_t guard; /* race: stops the loop when what the test waits for does not come */
	bool expired;
	uv_timer_t timer; /* a test's own, closed by fx_end */
	bool ended;       /* fx_end has run */
} fx;

/* Most tests': a client of the peer, without a token, retrying after 20 ms. */
static fx_spec client_fx = {.opts = {.retry_base_ms = 20}};

#define FX_TEST(test, spec)                                                                        \
	cmocka_unit_test_prestate_setup_teardown(test, fx_setup, fx_teardown, &(spec))

/* Another client of f's peer, made as f's own. */
static httpc *fx_client(fx *f)
{
	const fx_spec *s = f->spec;
	char *url = ck_asprintf("http://%s:%d", s->host ? s->host : "127.0.0.1", f->p.port);
	httpc_opts o = s->opts;
	o.base_url = url;
	httpc *c = NULL;
	assert_int_equal(httpc_new(&f->loop, &o, &c, NULL), 0);
	free(url);
	return c;
}

/* A port nothing listens on: found free, then released. */
static int free_port(uv_loop_t *loop)
{
	peer probe = {0};
	peer_listen(&probe, loop, 0);
	uv_close((uv_handle_t *)&probe.listener, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return probe.port;
}

static void on_guard(uv_timer_t *t)
{
	fx *f = t->data;
	f->expired = true;
	uv_stop(t->loop);
}

static int fx_setup(void **state)
{
	const fx_spec *s = *state;
	fx *f = ck_calloc(1, sizeof(*f));
	f->spec = s;
	*state = f;
	open_fds(f->fds_before);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	if (s->no_peer)
		f->p.port = free_port(&f->loop);
	else
		peer_listen_on(&f->p, &f->loop, s->listen ? s->listen : "127.0.0.1", 0);
	if (!s->no_client)
		f->c = fx_client(f);
	if (s->race) {
		uv_timer_init(&f->loop, &f->guard);
		f->guard.data = f;
		uv_timer_start(&f->guard, on_guard, 5000, 0);
		hello_burst(&f->loop, f->c, 1); /* the first connection, left idle */
		pool_hold();
	}
	return 0;
}

/* Frees the client, lets the pool go, closes the peer and runs the loop dry. A test that
 * checks what happens (or does not) then calls it itself; fx_teardown does not again. */
static void fx_end(fx *f)
{
	if (f->ended)
		return;
	f->ended = true;
	httpc_free(f->c);
	f->c = NULL;
	pool_let_go();
	if (f->spec->race)
		uv_close((uv_handle_t *)&f->guard, NULL);
	if (f->timer.loop && !uv_is_closing((uv_handle_t *)&f->timer))
		uv_close((uv_handle_t *)&f->timer, NULL);
	teardown_loop(&f->loop, &f->p);
}

static int fx_teardown(void **state)
{
	fx *f = *state;
	fx_end(f);
	free(f);
	return 0;
}

static void test_get_and_keepalive(void **state)
{
	fx *f = *state;
	httpc *c = f->c;
	result r1 = {0};
	start_get(c, "/hello", &r1);
	wait_done(&f->loop, &r1);
	assert_int_equal(r1.rc, 0);
	assert_int_equal(r1.status, 200);
	assert_string_equal(r1.body, "{\"hello\":\"world\"}");
	/* A second request reuses the connection. */
	result r2 = {0};
	start_get(c, "/missing", &r2);
	wait_done(&f->loop, &r2);
	assert_int_equal(r2.status, 404);
	assert_int_equal(f->p.accepted, 1);
	assert_int_equal(httpc_in_flight(c), 0);
	/* Every descriptor the client opened is close-on-exec. */
	assert_no_new_inheritable_fds(f->fds_before);
	result_clear(&r1);
	result_clear(&r2);
}

static fx_spec token_fx = {.opts = {.bearer_token = "s3cret", .retry_base_ms = 20}};

static void test_concurrent_post_with_token(void **state)
{
	fx *f = *state;
	httpc *c = f->c;
	result r[20] = {0};
	for (int i = 0; i < 20; i++) {
		char body[32];
		snprintf(body, sizeof(body), "{\"i\":%d}", i);
		httpc_request q = {.method = i % 2 ? "POST" : "PUT",
		                   .path = "/echo",
		                   .body = body,
		                   .body_len = strlen(body)};
		start(c, q, &r[i], NULL);
	}
	assert_int_equal(httpc_in_flight(c), 20);
	for (int i = 0; i < 20; i++) {
		wait_done(&f->loop, &r[i]);
		assert_int_equal(r[i].status, 201);
		char *want = ck_asprintf("%s {\"i\":%d} auth", i % 2 ? "POST" : "PUT", i);
		assert_string_equal(r[i].body, want);
		free(want);
		assert_int_equal(r[i].calls, 1);
		result_clear(&r[i]);
	}
	assert_int_equal(f->p.requests, 20);
}

static void test_stream(void **state)
{
	fx *f = *state;
	httpc *c = f->c;
	result r = {0};
	httpc_request q = {.path = "/stream", .timeout_ms = -1, .on_chunk = on_chunk};
	start(c, q, &r, NULL);
	wait_done(&f->loop, &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(ck_buf_str(&r.chunks), "chunk1chunk2chunk3");
	assert_true(r.n_chunks >= 2); /* arrived over time, not at the end */
	assert_string_equal(r.body, "");
	result_clear(&r);

	/* A chunk callback may stop the stream: done reports -ECANCELED. */
	result s = {.stop_after = 1};
	start(c, q, &s, NULL);
	wait_done(&f->loop, &s);
	assert_int_equal(s.rc, -ECANCELED);
	assert_int_equal(s.n_chunks, 1);
	result_clear(&s);
}

static void test_timeout_and_cancel(void **state)
{
	fx *f = *state;
	httpc *c = f->c;
	result r = {0};
	start(c, (httpc_request){.path = "/slow", .timeout_ms = 150}, &r, NULL);
	uint64_t t0 = uv_now(&f->loop);
	wait_done(&f->loop, &r);
	assert_int_equal(r.rc, -ETIMEDOUT);
	assert_true(uv_now(&f->loop) - t0 >= 140);

	/* A cancelled request never calls back, and its connection, which carried a request
	 * without its answer, is closed (the timed out one's was too). */
	result k = {0};
	httpc_req *h = NULL;
	start(c, (httpc_request){.path = "/slow"}, &k, &h);
	result r2 = {0};
	start_get(c, "/hello", &r2);
	for (int i = 0; i < 5; i++)
		uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(f->p.closed, 1);
	httpc_cancel(h);
	wait_done(&f->loop, &r2);
	assert_int_equal(r2.status, 200);
	for (int i = 0; i < 100 && f->p.closed < 2; i++)
		uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(f->p.closed, 2);
	assert_int_equal(k.calls, 0);
	fx_end(f);
	assert_int_equal(k.calls, 0);
	result_clear(&r);
	result_clear(&r2);
}

/* A server that comes up late: the GET is retried until it answers; a POST is not. */
static void on_late_listen(uv_timer_t *t)
{
	peer *p = t->data;
	peer_listen(p, t->loop, p->port);
}

static fx_spec late_fx = {.no_peer = true, .opts = {.retry_base_ms = 20}};

static void test_retry(void **state)
{
	fx *f = *state;
	httpc *c = f->c;
	result post = {0};
	start(c, (httpc_request){.method = "POST", .path = "/echo", .body = "x", .body_len = 1},
	      &post, NULL);
	result get = {0};
	start_get(c, "/hello", &get);
	wait_done(&f->loop, &post);
	assert_int_equal(post.rc, -ECONNREFUSED);
	uv_timer_init(&f->loop, &f->timer);
	f->timer.data = &f->p;
	uv_timer_start(&f->timer, on_late_listen, 50, 0);
	wait_done(&f->loop, &get);
	assert_int_equal(get.rc, 0);
	assert_int_equal(get.status, 200);
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
	fx *f = *state;
	httpc *c = f->c;
	result r = {.c = c};
	result other = {0};
	start_get(c, "/slow", &other);
	assert_int_equal(
	    httpc_start(c, &(httpc_request){.path = "/hello", .on_done = free_in_done, .user = &r},
	                NULL),
	    0);
	wait_done(&f->loop, &r);
	f->c = NULL;
	fx_end(f);
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

static fx_spec peer_fx = {.no_client = true};

static void test_sync(void **state)
{
	fx *f = *state;
	sync_arg a = {.port = f->p.port};
	open_fds(a.fds_before);
	uv_async_init(&f->loop, &a.done, on_sync_done);
	uv_thread_t th;
	uv_thread_create(&th, sync_thread, &a);
	while (uv_is_active((uv_handle_t *)&a.done))
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_thread_join(&th);
	assert_int_equal(a.rc, 0);
	assert_int_equal(a.status, 201);
	assert_string_equal(a.body, "POST b noauth");
	assert_true(a.chunks >= 2);
	assert_int_equal(f->p.accepted, 1);
	assert_int_equal(a.inheritable_fd, -1);
	free(a.body);
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
static void end_stream(http_exchange *x, void *data)
{
	(void)data;
	http_stream_end(x);
}

static void on_tls_request(http_exchange *x, void *data)
{
	const http_request *r = http_exchange_request(x);
	if (!strcmp(r->path, "/stream")) {
		http_stream_begin(x, 200, "text/plain");
		http_stream_write(x, "x\n", 2);
		http_exchange_on_close(x, end_stream, NULL);
		return;
	}
	if (!strcmp(r->path, "/remote")) {
		http_respond(x, 200, "text/plain", r->remote_addr, strlen(r->remote_addr));
		return;
	}
	if (!strcmp(r->path, "/who")) {
		ck_buf b = {0};
		ck_buf_printf(&b, "%s|%s|", r->tls_resumed ? "resumed" : "full",
		              r->client_cn ? r->client_cn : "-");
		for (const char *const *g = r->client_groups; g && *g; g++)
			ck_buf_printf(&b, "%s%s", g == r->client_groups ? "" : ",", *g);
		http_respond(x, 200, "text/plain", b.s, b.len);
		ck_buf_free(&b);
		return;
	}
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

/* GET url on c asking the server to close the connection after its answer: the next
 * request of c opens a new connection. */
static void tls_get_closing(uv_loop_t *loop, httpc *c, const char *url, result *r)
{
	memset(r, 0, sizeof(*r));
	httpc_header close = {.name = "Connection", .value = "close"};
	httpc_request q = {
	    .url = url, .headers = &close, .n_headers = 1, .on_done = on_done, .user = r};
	assert_int_equal(httpc_start(c, &q, NULL), 0);
	wait_done(loop, r);
}

/* tls_get_closing, which must answer body ("full|CN|groups" or "resumed|...": /who). */
static void expect_closing(uv_loop_t *loop, httpc *c, const char *url, const char *body)
{
	result r;
	tls_get_closing(loop, c, url, &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.body, body);
	result_clear(&r);
}

/* Certificates made by the openssl tool in dir: a CA, another CA, a server certificate for
 * IP 127.0.0.1 and one for DNS name localhost, a client certificate (O=system:masters,
 * CN=admin). */
static void make_certs(const char *dir)
{
	char *cmd = ck_asprintf(
	    "cd %s && K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes' && "
	    "openssl req -x509 $K -keyout ca.key -out ca.crt -subj /CN=test-ca -days 2 && "
	    "openssl req -x509 $K -keyout other.key -out other.crt -subj /CN=other-ca -days 2 && "
	    "for s in server:IP:127.0.0.1 local:DNS:localhost; do n=${s%%%%:*} && "
	    "openssl req $K -keyout $n.key -out $n.csr -subj /CN=$n && "
	    "printf 'subjectAltName=%%s' ${s#*:} > $n.ext && "
	    "openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out "
	    "$n.crt -days 2 -extfile $n.ext || exit 1; done && "
	    "openssl req $K -keyout client.key -out client.csr -subj /O=system:masters/CN=admin && "
	    "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out "
	    "client.crt -days 2",
	    dir);
	char *quiet = ck_asprintf("(%s) >/dev/null 2>&1", cmd);
	assert_int_equal(system(quiet), 0);
	free(cmd);
	free(quiet);
}

static void test_tls(void **state)
{
	char dir[] = "/tmp/httpc-tls-XXXXXX";
	assert_non_null(mkdtemp(dir));
	make_certs(dir);
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

	/* Kept alive over TLS: sequential requests come from one client port. */
	httpc *c = NULL;
	assert_int_equal(
	    httpc_new(&loop, &(httpc_opts){.base_url = url, .ca_file = ca_crt}, &c, NULL), 0);
	char *first = NULL;
	for (int i = 0; i < 3; i++) {
		result q = {0};
		assert_int_equal(
		    httpc_start(c,
		                &(httpc_request){.path = "/remote", .on_done = on_done, .user = &q},
		                NULL),
		    0);
		wait_done(&loop, &q);
		assert_int_equal(q.status, 200);
		if (first)
			assert_string_equal(q.body, first);
		else
			first = ck_strdup(q.body);
		result_clear(&q);
	}
	free(first);
	httpc_free(c);

	/* Session resumption: each answer closes its connection; the next connection of the
	 * client to the same host and port resumes the session, and the server still has the
	 * client certificate's CN and groups. */
	httpc_opts mtls = {.base_url = url,
	                   .ca_file = ca_crt,
	                   .cert_file = client_crt,
	                   .key_file = client_key,
	                   .max_retries = -1};
	assert_int_equal(httpc_new(&loop, &mtls, &c, NULL), 0);
	char *who = ck_asprintf("%s/who", url);
	static const char *const resumed[] = {"full|admin|system:masters",
	                                      "resumed|admin|system:masters",
	                                      "resumed|admin|system:masters"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(resumed); i++) {
		expect_closing(&loop, c, who, resumed[i]);
	}
	/* Connections opened together all resume the one session kept. */
	result rs[4] = {0};
	httpc_header close = {.name = "Connection", .value = "close"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(rs); i++)
		assert_int_equal(httpc_start(c,
		                             &(httpc_request){.url = who,
		                                              .headers = &close,
		                                              .n_headers = 1,
		                                              .on_done = on_done,
		                                              .user = &rs[i]},
		                             NULL),
		                 0);
	for (size_t i = 0; i < CK_ARRAY_SIZE(rs); i++) {
		wait_done(&loop, &rs[i]);
		assert_int_equal(rs[i].rc, 0);
		assert_string_equal(rs[i].body, "resumed|admin|system:masters");
		result_clear(&rs[i]);
	}
	/* A connection the client ends (a stream stopped), without the close_notify of a
	 * clean TLS shutdown, does not spoil the session it got: the next one resumes. */
	result st = {.stop_after = 1};
	char *stream = ck_asprintf("%s/stream", url);
	assert_int_equal(
	    httpc_start(c,
	                &(httpc_request){
	                    .url = stream, .on_chunk = on_chunk, .on_done = on_done, .user = &st},
	                NULL),
	    0);
	wait_done(&loop, &st);
	assert_int_equal(st.n_chunks, 1);
	result_clear(&st);
	free(stream);
	expect_closing(&loop, c, who, "resumed|admin|system:masters");
	/* Another client does not have the first one's sessions... */
	httpc *other = NULL;
	assert_int_equal(httpc_new(&loop, &mtls, &other, NULL), 0);
	expect_closing(&loop, other, who, "full|admin|system:masters");
	httpc_free(other);
	/* ...and another host at the same address is not offered 127.0.0.1's session: the
	 * certificate, for 127.0.0.1, is checked against localhost and refused. */
	char *who_by_name = ck_asprintf("https://localhost:%d/who", http_server_port(srv));
	tls_get_closing(&loop, c, who_by_name, &r);
	assert_int_equal(r.rc, CK_EPROTO);
	assert_non_null(strstr(r.error, "hostname mismatch"));
	result_clear(&r);
	free(who_by_name);
	expect_closing(&loop, c, who, "resumed|admin|system:masters");
	free(who);
	httpc_free(c);

	/* The certificate must be valid for the host asked for: 127.0.0.1's is not valid for
	 * localhost... */
	char *by_name = ck_asprintf("https://localhost:%d", http_server_port(srv));
	tls_get(&loop, &(httpc_opts){.base_url = by_name, .ca_file = ca_crt}, &r);
	assert_int_equal(r.rc, CK_EPROTO);
	assert_non_null(strstr(r.error, "hostname mismatch"));
	result_clear(&r);
	free(by_name);
	/* ...and one for the name localhost (sent as SNI) is valid for it, not for 127.0.0.1. */
	char *local_crt = ck_asprintf("%s/local.crt", dir),
	     *local_key = ck_asprintf("%s/local.key", dir);
	http_server *named = NULL;
	assert_int_equal(http_server_new(&loop,
	                                 &(http_server_opts){.tls_cert_file = local_crt,
	                                                     .tls_key_file = local_key},
	                                 on_tls_request, NULL, &named, NULL),
	                 0);
	by_name = ck_asprintf("https://localhost:%d", http_server_port(named));
	tls_get(&loop, &(httpc_opts){.base_url = by_name, .ca_file = ca_crt}, &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.body, "tls|-|-");
	result_clear(&r);
	char *by_ip = ck_asprintf("https://127.0.0.1:%d", http_server_port(named));
	tls_get(&loop, &(httpc_opts){.base_url = by_ip, .ca_file = ca_crt}, &r);
	assert_int_equal(r.rc, CK_EPROTO);
	assert_non_null(strstr(r.error, "IP address mismatch"));
	result_clear(&r);
	http_server_shutdown(named, NULL, NULL);
	free(by_name);
	free(by_ip);
	free(local_crt);
	free(local_key);

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

/* ---- connection reuse ---- */

static void chain_done(const httpc_response *resp, void *user)
{
	result *res = user;
	if (resp->rc == 0 && resp->status == 200 && --res->chain > 0) {
		httpc_request q = {.path = "/hello", .on_done = chain_done, .user = res};
		if (httpc_start(res->c, &q, NULL) == 0)
			return;
	}
	on_done(resp, user);
}

static void test_sequential_reuse(void **state)
{
	fx *f = *state;
	httpc *c = f->c;
	static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
	for (int i = 0; i < 10; i++) {
		const char *m = methods[i % CK_ARRAY_SIZE(methods)];
		result r = {0};
		httpc_request q = {
		    .method = m, .path = "/echo", .body = i % 2 ? "b" : NULL, .body_len = i % 2};
		start(c, q, &r, NULL);
		wait_done(&f->loop, &r);
		assert_int_equal(r.rc, 0);
		assert_int_equal(r.status, 201);
		char *want = ck_asprintf("%s %s noauth", m, i % 2 ? "b" : "");
		assert_string_equal(r.body, want);
		free(want);
		result_clear(&r);
	}
	/* Requests started from on_done find the connection just released. */
	result chain = {.c = c, .chain = 10};
	assert_int_equal(
	    httpc_start(
	        c, &(httpc_request){.path = "/hello", .on_done = chain_done, .user = &chain}, NULL),
	    0);
	wait_done(&f->loop, &chain);
	assert_int_equal(chain.rc, 0);
	assert_int_equal(chain.chain, 0);
	assert_int_equal(f->p.requests, 20);
	assert_int_equal(f->p.accepted, 1);
	result_clear(&chain);
}

static fx_spec unlimited_fx = {.opts = {.max_conns = -1}};

static void test_burst_reuse(void **state)
{
	fx *f = *state;
	for (int burst = 0; burst < 2; burst++) {
		hello_burst(&f->loop, f->c, 20);
		/* The first burst opened one connection per request; the second reuses them. */
		assert_int_equal(f->p.accepted, 20);
	}
	assert_int_equal(f->p.requests, 40);
	assert_int_equal(f->p.closed, 0);
}

static fx_spec three_conns_fx = {.opts = {.max_conns = 3}};

/* max_conns: a burst waits for the connections in line, streams pass, and a request
 * that waits longer than its timeout fails. */
static void test_max_conns(void **state)
{
	fx *f = *state;
	httpc *c = f->c;
	hello_burst(&f->loop, c, 12);
	assert_int_equal(f->p.requests, 12);
	assert_int_equal(f->p.accepted, 3);
	/* Three requests that never get an answer hold every slot: a stream still goes
	 * through, and a request in line times out. */
	result slow[3] = {0}, stream = {0}, late = {0};
	httpc_req *h[3];
	for (int i = 0; i < 3; i++)
		start(c, (httpc_request){.path = "/slow", .timeout_ms = -1}, &slow[i], &h[i]);
	start(c, (httpc_request){.path = "/stream", .timeout_ms = -1, .on_chunk = on_chunk},
	      &stream, NULL);
	start(c, (httpc_request){.path = "/hello", .timeout_ms = 100}, &late, NULL);
	wait_done(&f->loop, &stream);
	assert_int_equal(stream.status, 200);
	assert_int_equal(stream.n_chunks, 3);
	wait_done(&f->loop, &late);
	assert_int_equal(late.rc, -ETIMEDOUT);
	/* A slot given back starts the next in line; a background request waits behind one
	 * that came after it. */
	result next = {0}, bg = {0};
	start(c, (httpc_request){.path = "/hello", .background = true}, &bg, NULL);
	start_get(c, "/hello", &next);
	httpc_cancel(h[0]);
	wait_done(&f->loop, &next);
	assert_int_equal(next.status, 200);
	assert_int_equal(bg.calls, 0);
	wait_done(&f->loop, &bg);
	assert_int_equal(bg.status, 200);
	for (int i = 0; i < 3; i++)
		result_clear(&slow[i]);
	result_clear(&stream);
	result_clear(&late);
	result_clear(&next);
	result_clear(&bg);
}

static fx_spec default_opts_fx = {0};

/* Background requests go one at a time, though slots are free. */
static void test_background_one_at_a_time(void **state)
{
	fx *f = *state;
	httpc *c = f->c;
	result slow = {0}, bg = {0}, fg = {0};
	httpc_req *h = NULL;
	start(c, (httpc_request){.path = "/slow", .timeout_ms = -1, .background = true}, &slow, &h);
	start(c, (httpc_request){.path = "/hello", .background = true}, &bg, NULL);
	start_get(c, "/hello", &fg);
	wait_done(&f->loop, &fg);
	assert_int_equal(fg.status, 200);
	/* The other requests went on while the first background one holds its slot. */
	for (int i = 0; i < 20; i++)
		uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(bg.calls, 0);
	httpc_cancel(h);
	wait_done(&f->loop, &bg);
	assert_int_equal(bg.status, 200);
	result_clear(&slow);
	result_clear(&bg);
	result_clear(&fg);
}

/* ---- dial racing ---- */

/* For test_dial_race: without racing, its second request fails after 2 s. */
static fx_spec race_slow_connect_fx = {
    .host = "localhost", .race = true, .opts = {.connect_timeout_ms = 2000}};

/* For test_orphan_dial: an orphan is closed after 100 ms. */
static fx_spec race_fast_connect_fx = {
    .host = "localhost", .race = true, .opts = {.connect_timeout_ms = 100}};

/* With the client's only connection idle and the thread pool held: a request takes that
 * connection, a second one opens a new one, whose name is not resolved while the pool is
 * held. The first response frees the connection: the second request goes on it and
 * completes; its own connection, still being opened, is left an orphan. */
static void race_two(fx *f)
{
	int accepted = f->p.accepted;
	result a = {0}, b = {0};
	start_get(f->c, "/hello", &a);
	start_get(f->c, "/echo", &b);
	wait_done(&f->loop, &b);
	assert_int_equal(a.status, 200);
	assert_int_equal(b.rc, 0);
	assert_int_equal(b.status, 201);
	assert_int_equal(f->p.accepted, accepted);
	assert_non_null(f->c->orphans);
	assert_null(f->c->orphans->next);
	result_clear(&a);
	result_clear(&b);
}

/* Runs the loop until the client has no orphan left. */
static void orphans_wait(fx *f)
{
	while (f->c->orphans && !f->expired)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_null(f->c->orphans);
}

/* A request waiting for a new connection goes on one that frees up first; the new one goes
 * to the pool once it is up. */
static void test_dial_race(void **state)
{
	fx *f = *state;
	httpc *c = f->c;
	race_two(f);
	assert_int_equal(f->p.requests, 3);
	pool_let_go();
	orphans_wait(f);
	assert_int_equal(c->n_idle, 2);
	while (f->p.accepted < 2 && !f->expired)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(f->p.accepted, 2);
	/* Two requests at once find both connections in the pool. */
	hello_burst(&f->loop, c, 2);
	assert_int_equal(f->p.accepted, 2);
	assert_int_equal(c->n_idle, 2);
}

/* An orphan that does not come up is closed after the connect timeout; the client freed
 * with one pending lets it go at once. */
static void test_orphan_dial(void **state)
{
	fx *f = *state;
	httpc *c = f->c;
	race_two(f);
	uint64_t t0 = uv_now(&f->loop);
	orphans_wait(f);
	assert_true(uv_now(&f->loop) - t0 >= 80);
	assert_int_equal(c->n_idle, 1);

	/* Another orphan, then the client freed and the peer closed: nothing is left to keep
	 * the loop running, although the pool still holds the orphan's resolution. */
	race_two(f);
	httpc_free(c);
	f->c = NULL;
	uv_walk(&f->loop, close_walk, &f->p);
	uv_unref((uv_handle_t *)&f->guard);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_false(f->expired);
	assert_int_equal(f->p.accepted, 1);
}

/* httpc_keep_warm: its connections are open before any request, a burst of as many
 * requests opens none, and one the server closes is replaced. A client without a base URL
 * cannot keep any. */
static void test_keep_warm(void **state)
{
	fx *f = *state;
	httpc *c = f->c;
	assert_int_equal(httpc_keep_warm(c, 3), 0);
	while (c->n_idle < 3)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(f->p.accepted, 3);
	assert_int_equal(f->p.requests, 0);
	hello_burst(&f->loop, c, 3);
	assert_int_equal(f->p.requests, 3);
	assert_int_equal(f->p.accepted, 3);

	result r = {0};
	start_get(c, "/bye", &r);
	wait_done(&f->loop, &r);
	result_clear(&r);
	while (f->p.accepted < 4 || c->n_idle < 3)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(f->p.closed, 1);

	httpc *bare = NULL;
	assert_int_equal(httpc_new(&f->loop, &(httpc_opts){0}, &bare, NULL), 0);
	assert_int_equal(httpc_keep_warm(bare, 2), -EINVAL);
	httpc_free(bare);
}

static void test_stale_connection(void **state)
{
	fx *f = *state;
	httpc *c = f->c;
	result r = {0};
	start_get(c, "/hello", &r);
	wait_done(&f->loop, &r);
	result_clear(&r);
	/* The server closes the kept-alive connection as the POST arrives: it is sent again on
	 * a new connection, although a POST is never retried otherwise. */
	memset(&r, 0, sizeof(r));
	httpc_request post = {.method = "POST", .path = "/drop-reused", .body = "x", .body_len = 1};
	start(c, post, &r, NULL);
	wait_done(&f->loop, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body, "POST x");
	assert_int_equal(f->p.accepted, 2);
	assert_int_equal(f->p.requests, 3);
	result_clear(&r);

	/* A connection the server closed while it was idle is not used again. */
	memset(&r, 0, sizeof(r));
	start_get(c, "/bye", &r);
	wait_done(&f->loop, &r);
	result_clear(&r);
	while (f->p.closed < 2)
		uv_run(&f->loop, UV_RUN_ONCE);
	memset(&r, 0, sizeof(r));
	start_get(c, "/hello", &r);
	wait_done(&f->loop, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(f->p.accepted, 3);
	result_clear(&r);

	/* A POST whose new connection is dropped is not sent again. */
	memset(&r, 0, sizeof(r));
	httpc *fresh = fx_client(f);
	post.path = "/drop";
	start(fresh, post, &r, NULL);
	wait_done(&f->loop, &r);
	assert_int_equal(r.rc, -ECONNRESET);
	assert_int_equal(f->p.requests, 6);
	result_clear(&r);
	httpc_free(fresh);
}

/* A watch stopped from its event handler: on_chunk cancels its own request. */
static void test_cancel_from_chunk(void **state)
{
	fx *f = *state;
	httpc *c = f->c;
	result r = {.cancel_in_chunk = true};
	httpc_request q = {.path = "/stream", .timeout_ms = -1, .on_chunk = on_chunk};
	start(c, q, &r, &r.self);
	while (r.n_chunks == 0)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(httpc_in_flight(c), 0);
	/* The stream's connection is closed, not reused; the client goes on. */
	while (f->p.closed < 1)
		uv_run(&f->loop, UV_RUN_ONCE);
	result h = {0};
	start_get(c, "/hello", &h);
	wait_done(&f->loop, &h);
	assert_int_equal(h.status, 200);
	assert_int_equal(f->p.accepted, 2);
	assert_int_equal(r.calls, 0);
	assert_int_equal(r.n_chunks, 1);
	result_clear(&r);

	/* on_chunk may free the whole client, other requests included. */
	result freer = {.c = c, .free_in_chunk = true}, other = {0};
	start_get(c, "/slow", &other);
	start(c, q, &freer, NULL);
	while (freer.n_chunks == 0)
		uv_run(&f->loop, UV_RUN_ONCE);
	f->c = NULL;
	fx_end(f);
	assert_int_equal(freer.calls + other.calls + r.calls, 0);
	assert_int_equal(freer.n_chunks, 1);
	result_clear(&freer);
	result_clear(&h);
}

/* ---- what goes on the wire ---- */

static fx_spec tok_fx = {.opts = {.bearer_token = "tok", .retry_base_ms = 20}};

static void test_request_head(void **state)
{
	fx *f = *state;
	httpc *c = f->c;
	result r = {0};
	httpc_header extra[] = {{"Accept", "text/plain"}, {"X-Extra", "1"}};
	httpc_request q = {.method = "POST", .path = "/head?a=b", .headers = extra, .n_headers = 2};
	start(c, q, &r, NULL);
	wait_done(&f->loop, &r);
	assert_int_equal(r.status, 200);
	char *host = ck_asprintf("\r\nHost: 127.0.0.1:%d\r\n", f->p.port);
	assert_true(ck_str_has_prefix(r.body, "POST /head?a=b HTTP/1.1\r\n"));
	assert_non_null(strstr(r.body, host));
	assert_non_null(strstr(r.body, "\r\nUser-Agent: ckube/"));
	assert_non_null(strstr(r.body, "\r\nAccept: text/plain\r\n"));
	assert_null(strstr(r.body, "application/json"));
	assert_non_null(strstr(r.body, "\r\nAuthorization: Bearer tok\r\n"));
	assert_non_null(strstr(r.body, "\r\nContent-Length: 0\r\n"));
	assert_non_null(strstr(r.body, "\r\nX-Extra: 1\r\n"));
	assert_null(strcasestr(r.body, "Accept-Encoding"));
	assert_null(strcasestr(r.body, "Expect"));
	free(host);
	result_clear(&r);
	memset(&r, 0, sizeof(r));

	/* What cannot be sent is refused at once: no callback follows. */
	httpc_header injected[] = {{"X-Evil", "a\r\nHost: elsewhere"}};
	httpc_header framing[] = {{"Content-Length", "5"}};
	httpc_request bad[] = {
	    {.url = "ftp://127.0.0.1/"},
	    {.url = "http://[::1/"},
	    {.url = "http://127.0.0.1:99999/"},
	    {.url = "http://user@127.0.0.1/"},
	    {.url = "http:///x"},
	    {.url = "http://127.0.0.1/a b"},
	    {.path = "/x"}, /* no base URL */
	    {.url = "http://127.0.0.1/", .method = "GE T"},
	    {.url = "http://127.0.0.1/", .headers = injected, .n_headers = 1},
	    {.url = "http://127.0.0.1/", .headers = framing, .n_headers = 1},
	};
	httpc *bare = NULL;
	assert_int_equal(httpc_new(&f->loop, &(httpc_opts){0}, &bare, NULL), 0);
	for (size_t i = 0; i < CK_ARRAY_SIZE(bad); i++) {
		bad[i].on_done = on_done;
		bad[i].user = &r;
		assert_int_equal(httpc_start(bare, &bad[i], NULL), -EINVAL);
	}
	assert_int_equal(httpc_in_flight(bare), 0);
	httpc_free(bare);
	fx_end(f);
	assert_int_equal(r.calls, 0);
}

static fx_spec ipv6_fx = {.listen = "::1", .host = "[::1]"};

static void test_ipv6(void **state)
{
	fx *f = *state;
	result r = {0};
	start_get(f->c, "/head", &r);
	wait_done(&f->loop, &r);
	assert_int_equal(r.status, 200);
	char *host = ck_asprintf("\r\nHost: [::1]:%d\r\n", f->p.port);
	assert_non_null(strstr(r.body, host));
	free(host);
	result_clear(&r);
}

static fx_spec refused_fx = {.no_peer = true, .opts = {.max_retries = -1}};

static void test_connect_failures(void **state)
{
	fx *f = *state;
	httpc *c = f->c;
	result r = {0};
	start_get(c, "/", &r);
	wait_done(&f->loop, &r);
	assert_int_equal(r.rc, -ECONNREFUSED);
	assert_non_null(strcasestr(r.error, "refused"));
	assert_int_equal(r.status, 0);
	result_clear(&r);

	memset(&r, 0, sizeof(r));
	start(c, (httpc_request){.url = "http://nonexistent.invalid/"}, &r, NULL);
	wait_done(&f->loop, &r);
	assert_int_equal(r.rc, -EHOSTUNREACH);
	result_clear(&r);

	/* Freed while a name is being resolved (in libuv's thread pool). */
	memset(&r, 0, sizeof(r));
	char *by_name = ck_asprintf("http://localhost:%d/", f->p.port);
	start(c, (httpc_request){.url = by_name}, &r, NULL);
	httpc_free(c);
	f->c = NULL;
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.calls, 0);
	free(by_name);
}

/* ---- response parsing, without sockets ---- */

/* Parses text split at every position; all must agree. Returns rc; *out from the whole. */
static int parse_all(const char *text, bool head, bool stream, httpc_response *out, bool *reusable)
{
	size_t len = strlen(text);
	int rc = httpc_parse_for_test(text, len, len, head, stream, out, reusable);
	for (size_t cut = 0; cut < len; cut++) {
		httpc_response r;
		bool keep;
		assert_int_equal(httpc_parse_for_test(text, len, cut, head, stream, &r, &keep), rc);
		assert_int_equal(r.status, out->status);
		assert_int_equal(r.body_len, out->body_len);
		assert_memory_equal(r.body, out->body, r.body_len);
		assert_true(keep == *reusable);
		httpc_response_clear(&r);
	}
	return rc;
}

static void test_parse(void **state)
{
	static const struct {
		const char *text;
		bool head;
		int rc, status;
		const char *body, *ctype;
		bool reusable;
	} cases[] = {
	    {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
	     false, 0, 200, "{}", "application/json", true},
	    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
	     false, 0, 200, "abcde", NULL, true},
	    /* interim responses are skipped */
	    {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
	     "HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx",
	     false, 0, 201, "x", NULL, true},
	    /* no body: HEAD, 204, 304 */
	    {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true, 0, 200, "", NULL, true},
	    {"HTTP/1.1 204 No Content\r\n\r\n", false, 0, 204, "", NULL, true},
	    {"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", false, 0, 304, "", NULL,
	     true},
	    /* a body until the connection closes */
	    {"HTTP/1.1 200 OK\r\n\r\nuntil the end", false, 0, 200, "until the end", NULL, false},
	    /* what keeps a connection or not */
	    {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false, 0, 200, "x", NULL, false},
	    {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", false, 0,
	     200, "x", NULL, true},
	    {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", false, 0, 200,
	     "x", NULL, false},
	    {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n\r\n", false, 0, 200,
	     "x", NULL, false},
	    {"HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\nContent-Length: 3\r\n\r\nnop",
	     false, 0, 404, "nop", "text/plain", true},
	    /* failures */
	    {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false, -ECONNRESET, 200, "abc",
	     NULL, false},
	    {"HTTP/1.1 200 OK\r\nContent-Le", false, -ECONNRESET, 0, "", NULL, false},
	    {"", false, -ECONNRESET, 0, "", NULL, false},
	    {"HELLO\r\n\r\n", false, CK_EPROTO, 0, "", NULL, false},
	    {"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false, CK_EPROTO, 0, "", NULL, false},
	};
	for (size_t i = 0; i < CK_ARRAY_SIZE(cases); i++) {
		for (int stream = 0; stream < 2; stream++) {
			httpc_response r;
			bool keep;
			int rc = parse_all(cases[i].text, cases[i].head, stream, &r, &keep);
			assert_int_equal(rc, cases[i].rc);
			assert_int_equal(r.rc, cases[i].rc);
			assert_true(rc == 0 ? !r.error : r.error && *r.error);
			assert_int_equal(r.status, cases[i].status);
			assert_string_equal(r.body, cases[i].body);
			if (cases[i].ctype)
				assert_string_equal(r.content_type, cases[i].ctype);
			else
				assert_null(r.content_type);
			assert_true(keep == cases[i].reusable);
			httpc_response_clear(&r);
		}
	}
}

int main(void)
{
	/* The dial racing tests hold every thread of libuv's pool. */
	char threads[16];
	snprintf(threads, sizeof(threads), "%d", POOL_THREADS);
	setenv("UV_THREADPOOL_SIZE", threads, 1);
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_get_and_keepalive, client_fx),
	    FX_TEST(test_concurrent_post_with_token, token_fx),
	    FX_TEST(test_stream, client_fx),
	    FX_TEST(test_timeout_and_cancel, client_fx),
	    FX_TEST(test_retry, late_fx),
	    FX_TEST(test_free_from_callback, client_fx),
	    FX_TEST(test_sync, peer_fx),
	    cmocka_unit_test(test_bad_options),
	    cmocka_unit_test(test_tls),
	    FX_TEST(test_sequential_reuse, client_fx),
	    FX_TEST(test_burst_reuse, unlimited_fx),
	    FX_TEST(test_max_conns, three_conns_fx),
	    FX_TEST(test_background_one_at_a_time, default_opts_fx),
	    FX_TEST(test_dial_race, race_slow_connect_fx),
	    FX_TEST(test_orphan_dial, race_fast_connect_fx),
	    FX_TEST(test_keep_warm, client_fx),
	    FX_TEST(test_stale_connection, client_fx),
	    FX_TEST(test_cancel_from_chunk, client_fx),
	    FX_TEST(test_request_head, tok_fx),
	    FX_TEST(test_ipv6, ipv6_fx),
	    FX_TEST(test_connect_failures, refused_fx),
	    cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
