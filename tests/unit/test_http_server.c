/* http_server over real sockets on 127.0.0.1: the server's loop runs in a thread, the
 * test is the client (raw sockets, OpenSSL for TLS). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "base/log.h"
#include "net/http_server.h"

/* ---- server fixture ---- */

typedef struct fx {
	uv_loop_t loop;
	uv_thread_t thread;
	uv_async_t cmd;
	http_server *srv;
	int port;
	uv_mutex_t mu;
	uv_cond_t cv;
	int stream_closed, raw_closed, shutdown_done, requests, late_closed, flood_done;
	size_t flood_bytes, flood_pending;
	char *tmpdir;
} fx;

static void fx_signal(fx *f, int *counter)
{
	uv_mutex_lock(&f->mu);
	(*counter)++;
	uv_cond_broadcast(&f->cv);
	uv_mutex_unlock(&f->mu);
}

/* Waits (up to 5 s) until *counter reaches want; returns its value. */
static int fx_wait(fx *f, int *counter, int want)
{
	uv_mutex_lock(&f->mu);
	uint64_t deadline = uv_hrtime() + 5000000000ull;
	while (*counter < want) {
		uint64_t now = uv_hrtime();
		if (now >= deadline)
			break;
		uv_cond_timedwait(&f->cv, &f->mu, deadline - now);
	}
	int v = *counter;
	uv_mutex_unlock(&f->mu);
	return v;
}

typedef struct later {
	uv_timer_t t;
	http_exchange *x;
	fx *f;
	int ticks;
	bool stream;
} later;

static void later_closed(uv_handle_t *h)
{
	free(h->data);
}

/* A timer on f's loop for exchange x; freed once closed. */
static later *later_new(http_exchange *x, fx *f)
{
	later *l = calloc(1, sizeof(*l));
	l->x = x;
	l->f = f;
	uv_timer_init(&f->loop, &l->t);
	l->t.data = l;
	return l;
}

static void on_delay(uv_timer_t *t)
{
	later *l = t->data;
	http_respond(l->x, 200, "text/plain", "delayed", 7);
	uv_close((uv_handle_t *)t, later_closed);
}

static void on_tick(uv_timer_t *t)
{
	later *l = t->data;
	if (http_stream_write(l->x, "tick\n", 5) < 0)
		uv_timer_stop(t); /* on_close ends it */
}

static void on_stream_gone(http_exchange *x, void *data)
{
	later *l = data;
	uv_timer_stop(&l->t);
	http_stream_end(x);
	uv_close((uv_handle_t *)&l->t, later_closed);
	fx_signal(l->f, &l->f->stream_closed);
}

static void on_flood(uv_timer_t *t)
{
	later *l = t->data;
	enum { CHUNK = 256 * 1024 };
	char *block = malloc(CHUNK);
	memset(block, 'f', CHUNK);
	assert_int_equal(http_stream_write(l->x, block, CHUNK), 0);
	free(block);
	l->f->flood_bytes += CHUNK;
	size_t pending = http_stream_pending(l->x);
	if (pending > l->f->flood_pending)
		l->f->flood_pending = pending;
	if (pending > 2 * 1024 * 1024 || l->f->flood_bytes > 64 * 1024 * 1024) {
		http_stream_end(l->x);
		uv_close((uv_handle_t *)t, later_closed);
		fx_signal(l->f, &l->f->flood_done);
	}
}

static void on_late_gone(http_exchange *x, void *data)
{
	fx *f = data;
	assert_true(http_exchange_closed(x));
	assert_int_equal(http_stream_write(x, "x", 1), -EPIPE);
	http_respond(x, 200, "text/plain", "late", 4);
	fx_signal(f, &f->late_closed);
}

static void on_late(uv_timer_t *t)
{
	later *l = t->data;
	/* the client is gone by now: registering still reports it, from the loop */
	http_exchange_on_close(l->x, on_late_gone, l->f);
	uv_close((uv_handle_t *)t, later_closed);
}

static void raw_read(http_raw *r, const void *data, size_t len, void *user)
{
	http_raw_write(r, data, len);
	if (len >= 3 && memmem(data, len, "bye", 3))
		http_raw_close(r);
}

static void raw_closed(http_raw *r, void *user)
{
	fx *f = user;
	fx_signal(f, &f->raw_closed);
}

static void on_upgrade_later(uv_timer_t *t)
{
	later *l = t->data;
	http_exchange_add_header(l->x, "Upgrade", "echo");
	http_raw_cbs cbs = {.on_read = raw_read, .on_close = raw_closed};
	assert_non_null(http_upgrade(l->x, &cbs, l->f));
	uv_close((uv_handle_t *)t, later_closed);
}

static void handler(http_exchange *x, void *data)
{
	fx *f = data;
	const http_request *r = http_exchange_request(x);
	fx_signal(f, &f->requests);
	if (strcmp(r->path, "/hello") == 0) {
		http_respond(x, 200, "text/plain", "hello", 5);
	} else if (strcmp(r->path, "/echo") == 0) {
		char *head = NULL;
		size_t hlen = 0;
		FILE *m = open_memstream(&head, &hlen);
		fprintf(m, "%s %s q=%s len=%zu\n", r->method, r->path, r->query, r->body_len);
		fwrite(r->body, 1, r->body_len, m);
		fclose(m);
		http_exchange_add_header(x, "X-Remote", r->remote_addr);
		http_respond(x, 200, "text/plain", head, hlen);
		free(head);
	} else if (strcmp(r->path, "/hdr") == 0) {
		const char *v = http_request_header(r, "x-TEST");
		http_respond(x, 200, "text/plain", v ? v : "none", strlen(v ? v : "none"));
	} else if (strcmp(r->path, "/q") == 0) {
		char *v = http_request_query(r, "name");
		http_respond(x, 200, "text/plain", v ? v : "absent", strlen(v ? v : "absent"));
		free(v);
	} else if (strcmp(r->path, "/delay") == 0 || strcmp(r->path, "/slow") == 0) {
		later *l = later_new(x, f);
		uv_timer_start(&l->t, on_delay, strcmp(r->path, "/slow") == 0 ? 200 : 30, 0);
	} else if (strcmp(r->path, "/stream") == 0) {
		later *l = later_new(x, f);
		http_exchange_on_close(x, on_stream_gone, l);
		http_stream_begin(x, 200, "application/json");
		http_stream_write(x, "first\n", 6);
		uv_timer_start(&l->t, on_tick, 20, 20);
	} else if (strcmp(r->path, "/flood") == 0 || strcmp(r->path, "/late") == 0) {
		later *l = later_new(x, f);
		if (r->path[1] == 'f') {
			http_stream_begin(x, 200, "application/octet-stream");
			uv_timer_start(&l->t, on_flood, 1, 1);
		} else {
			uv_timer_start(&l->t, on_late, 100, 0);
		}
	} else if (strcmp(r->path, "/chunks") == 0) {
		http_stream_begin(x, 200, "text/plain");
		http_stream_write(x, "one,", 4);
		http_stream_write(x, "two,", 4);
		http_stream_write(x, "three", 5);
		http_stream_end(x);
	} else if (strcmp(r->path, "/upgrade") == 0) {
		http_exchange_add_header(x, "Upgrade", "echo");
		http_exchange_add_header(x, "Connection", "Upgrade");
		http_raw_cbs cbs = {.on_read = raw_read, .on_close = raw_closed};
		assert_non_null(http_upgrade(x, &cbs, f));
	} else if (strcmp(r->path, "/upgrade-later") == 0) {
		later *l = later_new(x, f);
		uv_timer_start(&l->t, on_upgrade_later, 50, 0);
	} else if (strcmp(r->path, "/whoami") == 0) {
		char buf[512];
		if (r->client_cn) {
			int n = snprintf(buf, sizeof(buf), "cn=%s groups=", r->client_cn);
			for (const char *const *g = r->client_groups; g && *g; g++)
				n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s%s",
				              g == r->client_groups ? "" : ",", *g);
		} else {
			snprintf(buf, sizeof(buf), "anonymous tls=%d", r->tls);
		}
		http_respond(x, 200, "text/plain", buf, strlen(buf));
	} else if (strcmp(r->path, "/nocontent") == 0) {
		http_respond(x, 204, NULL, NULL, 0);
	} else {
		http_respond(x, 404, "text/plain", "not found", 9);
	}
}

static void on_shutdown_done(void *data)
{
	fx *f = data;
	uv_close((uv_handle_t *)&f->cmd, NULL);
	fx_signal(f, &f->shutdown_done);
}

static void on_cmd(uv_async_t *a)
{
	fx *f = a->data;
	http_server_shutdown(f->srv, on_shutdown_done, f);
}

static void loop_main(void *arg)
{
	fx *f = arg;
	uv_run(&f->loop, UV_RUN_DEFAULT);
}

static fx *fx_start(const http_server_opts *opts)
{
	fx *f = calloc(1, sizeof(*f));
	uv_mutex_init(&f->mu);
	uv_cond_init(&f->cv);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	uv_async_init(&f->loop, &f->cmd, on_cmd);
	f->cmd.data = f;
	ck_err *err = NULL;
	int r = http_server_new(&f->loop, opts, handler, f, &f->srv, &err);
	if (r < 0)
		fail_msg("http_server_new: %s", err->msg);
	f->port = http_server_port(f->srv);
	assert_true(f->port > 0);
	uv_thread_create(&f->thread, loop_main, f);
	return f;
}

static void fx_stop(fx *f)
{
	uv_async_send(&f->cmd);
	assert_int_equal(fx_wait(f, &f->shutdown_done, 1), 1);
	uv_thread_join(&f->thread);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	uv_mutex_destroy(&f->mu);
	uv_cond_destroy(&f->cv);
	free(f);
}

static int setup_plain(void **state)
{
	http_server_opts opts = {
	    .bind_address = "127.0.0.1", .max_body = 1024 * 1024, .max_header = 8192};
	*state = fx_start(&opts);
	return 0;
}

static int teardown(void **state)
{
	fx_stop(*state);
	return 0;
}

/* ---- client ---- */

typedef struct cli {
	int fd;
	SSL *ssl;
	char *buf;
	size_t len, cap;
} cli;

typedef struct resp {
	int status;
	char *head;
	char *body;
	size_t body_len;
} resp;

static void resp_free(resp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static int connect_port(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static cli *cli_new(int port)
{
	cli *c = calloc(1, sizeof(*c));
	c->fd = connect_port(port);
	assert_true(c->fd >= 0);
	return c;
}

static void cli_free(cli *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

static void cli_send(cli *c, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n =
		    c->ssl ? SSL_write(c->ssl, p, (int)len) : send(c->fd, p, len, MSG_NOSIGNAL);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static void cli_sends(cli *c, const char *s)
{
	cli_send(c, s, strlen(s));
}

/* Reads more; returns bytes read, 0 at EOF, -1 on error or timeout. */
static ssize_t cli_fill(cli *c)
{
	if (c->cap - c->len < 65536) {
		c->cap = c->cap * 2 + 65536;
		c->buf = realloc(c->buf, c->cap);
	}
	ssize_t n;
	if (c->ssl) {
		n = SSL_read(c->ssl, c->buf + c->len, (int)(c->cap - c->len - 1));
		if (n <= 0)
			n = SSL_get_error(c->ssl, (int)n) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
	} else {
		n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
	}
	if (n > 0) {
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
	}
	return n;
}

static void cli_consume(cli *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
	if (c->buf)
		c->buf[c->len] = '\0';
}

/* Index just past the first "sep" in the buffer, reading until it is there; 0 on EOF. */
static size_t cli_until(cli *c, const char *sep)
{
	for (;;) {
		if (c->buf) {
			char *p = memmem(c->buf, c->len, sep, strlen(sep));
			if (p)
				return (size_t)(p - c->buf) + strlen(sep);
		}
		if (cli_fill(c) <= 0)
			return 0;
	}
}

static bool cli_need(cli *c, size_t n)
{
	while (c->len < n) {
		if (cli_fill(c) <= 0)
			return false;
	}
	return true;
}

static const char *find_header(const char *head, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			const char *v = line + nlen + 1;
			while (*v == ' ')
				v++;
			const char *e = strstr(v, "\r\n");
			size_t l = (size_t)(e - v);
			if (l >= cap)
				l = cap - 1;
			memcpy(out, v, l);
			out[l] = '\0';
			return out;
		}
	}
	return NULL;
}

/* Reads one chunk of a chunked body; returns its size (0: the last chunk), -1 on EOF. */
static long cli_chunk(cli *c, char **data)
{
	size_t line = cli_until(c, "\r\n");
	if (!line)
		return -1;
	long n = strtol(c->buf, NULL, 16);
	cli_consume(c, line);
	if (!cli_need(c, (size_t)n + 2))
		return -1;
	if (data)
		*data = strndup(c->buf, (size_t)n);
	cli_consume(c, (size_t)n + 2);
	return n;
}

/* Reads a response head and (unless head_only or a streamed body) its body. Returns 0,
 * or -1 on EOF before a full response. */
static int cli_response(cli *c, resp *r, bool head_only)
{
	memset(r, 0, sizeof(*r));
	size_t end = cli_until(c, "\r\n\r\n");
	if (!end)
		return -1;
	r->head = strndup(c->buf, end);
	cli_consume(c, end);
	r->status = (int)strtol(r->head + 9, NULL, 10);
	char v[64];
	if (head_only || r->status < 200 || r->status == 204 || r->status == 304)
		return 0;
	if (find_header(r->head, "Content-Length", v, sizeof(v))) {
		size_t n = strtoul(v, NULL, 10);
		if (!cli_need(c, n))
			return -1;
		r->body = strndup(c->buf, n);
		r->body_len = n;
		cli_consume(c, n);
	} else if (find_header(r->head, "Transfer-Encoding", v, sizeof(v))) {
		char *all = calloc(1, 1);
		size_t total = 0;
		char *d;
		long n;
		while ((n = cli_chunk(c, &d)) > 0) {
			all = realloc(all, total + (size_t)n + 1);
			memcpy(all + total, d, (size_t)n);
			total += (size_t)n;
			all[total] = '\0';
			free(d);
		}
		if (n == 0)
			free(d);
		r->body = all;
		r->body_len = total;
		if (n < 0)
			return -1;
	} else {
		/* delimited by the end of the connection */
		while (cli_fill(c) > 0)
			;
		r->body = strndup(c->buf ? c->buf : "", c->len);
		r->body_len = c->len;
		cli_consume(c, c->len);
	}
	return 0;
}

static bool cli_eof(cli *c)
{
	return c->len == 0 && cli_fill(c) == 0;
}

/* Sends req on c and reads the answer into r: its head only when head_only. */
static void cli_ask(cli *c, const char *req, bool head_only, resp *r)
{
	cli_sends(c, req);
	assert_int_equal(cli_response(c, r, head_only), 0);
}

/* Asserts that r's header name is want, or that r has no such header when want is NULL. */
static void assert_header(const resp *r, const char *name, const char *want)
{
	char v[64];
	if (!want) {
		assert_null(find_header(r->head, name, v, sizeof(v)));
		return;
	}
	assert_non_null(find_header(r->head, name, v, sizeof(v)));
	assert_string_equal(v, want);
}

/* Reads the next answer on c: its body is want_body. */
static void read_body(cli *c, const char *want_body)
{
	resp r;
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_string_equal(r.body, want_body);
	resp_free(&r);
}

static void get_ok(cli *c, const char *path, const char *want_body)
{
	char req[256];
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
	resp r;
	cli_ask(c, req, false, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, want_body);
	resp_free(&r);
}

/* Asserts that the next bytes c reads are want, and consumes them. */
static void cli_expect(cli *c, const char *want)
{
	size_t n = strlen(want);
	assert_true(cli_need(c, n));
	assert_memory_equal(c->buf, want, n);
	cli_consume(c, n);
}

/* ---- tests ---- */

static void test_get(void **state)
{
	fx *f = *state;
	cli *c = cli_new(f->port);
	resp r;
	cli_ask(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", false, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
	assert_header(&r, "Content-Type", "text/plain");
	char v[64];
	assert_non_null(find_header(r.head, "Date", v, sizeof(v)));
	assert_header(&r, "Connection", NULL);
	resp_free(&r);
	cli_ask(c, "GET /nope-not-here HTTP/1.1\r\n\r\n", false, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body, "not found");
	resp_free(&r);
	cli_free(c);
}

/* At -v=3 each answered request is logged once, as upstream's apiserver does. */
static void test_request_log(void **state)
{
	fx *f = *state;
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	ck_log_set_fd(p[1]);
	ck_log_set_verbosity(3);
	cli *c = cli_new(f->port);
	resp r;
	cli_ask(c, "GET /hello?x=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: probe/1\r\n\r\n", false, &r);
	resp_free(&r);
	cli_free(c);
	ck_log_set_fd(2);
	ck_log_set_verbosity(0);
	char buf[4096];
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	close(p[1]);
	assert_true(n > 0);
	buf[n] = 0;
	assert_non_null(strstr(buf, "\"HTTP\" verb=\"GET\" URI=\"/hello?x=1\" latency=\""));
	assert_non_null(strstr(buf, "userAgent=\"probe/1\" srcIP=\"127.0.0.1:"));
	assert_non_null(strstr(buf, "resp=200"));
}

static void test_post_body_query_headers(void **state)
{
	fx *f = *state;
	cli *c = cli_new(f->port);
	resp r;
	cli_ask(c,
	        "POST /echo?watch=true&x=%2Fa HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n"
	        "hello world",
	        false, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "POST /echo q=watch=true&x=%2Fa len=11\nhello world");
	char v[64];
	assert_non_null(find_header(r.head, "X-Remote", v, sizeof(v)));
	assert_true(strncmp(v, "127.0.0.1:", 10) == 0);
	resp_free(&r);

	get_ok(c, "/q?a=1&name=a%20b+c&z", "a b c");
	get_ok(c, "/q?a=1", "absent");
	get_ok(c, "/q?name", "");
	/* percent-decoded path, raw query */
	get_ok(c, "/%71", "absent");
	cli_ask(c, "GET /hdr HTTP/1.1\r\nX-Test: some value\r\n\r\n", false, &r);
	assert_string_equal(r.body, "some value");
	resp_free(&r);
	cli_free(c);
}

static void test_keepalive_many(void **state)
{
	fx *f = *state;
	cli *c = cli_new(f->port);
	for (int i = 0; i < 50; i++)
		get_ok(c, "/hello", "hello");
	uv_mutex_lock(&f->mu);
	assert_int_equal(f->requests, 50);
	uv_mutex_unlock(&f->mu);
	cli_free(c);
}

static void test_pipelining_in_order(void **state)
{
	fx *f = *state;
	cli *c = cli_new(f->port);
	/* the delayed answer comes first even though the next two are immediate */
	cli_sends(c, "GET /delay HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n"
	             "POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
	             "GET /chunks HTTP/1.1\r\n\r\n");
	read_body(c, "delayed");
	read_body(c, "hello");
	read_body(c, "POST /echo q= len=2\nhi");
	read_body(c, "one,two,three");
	cli_free(c);
}

static void test_chunked_request_and_continue(void **state)
{
	fx *f = *state;
	cli *c = cli_new(f->port);
	resp r;
	cli_ask(c,
	        "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	        "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n",
	        false, &r);
	assert_string_equal(r.body, "POST /echo q= len=11\nhello world");
	resp_free(&r);

	/* Expect: 100-continue: the interim answer comes before we send the body */
	cli_ask(c, "PUT /echo HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n", false,
	        &r);
	assert_int_equal(r.status, 100);
	resp_free(&r);
	cli_ask(c, "data", false, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "PUT /echo q= len=4\ndata");
	resp_free(&r);
	cli_free(c);
}

static void test_head_and_204(void **state)
{
	fx *f = *state;
	cli *c = cli_new(f->port);
	resp r;
	cli_ask(c, "HEAD /hello HTTP/1.1\r\n\r\n", true, &r);
	assert_header(&r, "Content-Length", "5");
	resp_free(&r);
	cli_ask(c, "GET /nocontent HTTP/1.1\r\n\r\n", false, &r);
	assert_int_equal(r.status, 204);
	assert_header(&r, "Content-Length", NULL);
	resp_free(&r);
	/* no stray body bytes came after either: the next answer parses */
	get_ok(c, "/hello", "hello");
	cli_free(c);
}

static void test_connection_close(void **state)
{
	fx *f = *state;
	cli *c = cli_new(f->port);
	resp r;
	cli_ask(c, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n", false, &r);
	assert_header(&r, "Connection", "close");
	resp_free(&r);
	assert_true(cli_eof(c));
	cli_free(c);

	/* HTTP/1.0 keep-alive is honoured and announced */
	c = cli_new(f->port);
	cli_ask(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false, &r);
	assert_header(&r, "Connection", "keep-alive");
	resp_free(&r);
	cli_ask(c, "GET /hello HTTP/1.0\r\n\r\n", false, &r);
	assert_string_equal(r.body, "hello");
	resp_free(&r);
	assert_true(cli_eof(c));
	cli_free(c);
}

static void expect_error(fx *f, const char *req, size_t len, int status)
{
	cli *c = cli_new(f->port);
	cli_send(c, req, len);
	resp r;
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, status);
	assert_header(&r, "Connection", "close");
	resp_free(&r);
	assert_true(cli_eof(c));
	cli_free(c);
}

static void test_limits_and_malformed(void **state)
{
	fx *f = *state;
	/* declared body above max_body (1 MiB here): refused before it is sent */
	const char *big = "POST /echo HTTP/1.1\r\nContent-Length: 4194304\r\n\r\n";
	expect_error(f, big, strlen(big), 413);

	/* chunked body growing past the limit while the client keeps sending */
	cli *c = cli_new(f->port);
	cli_sends(c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	char *chunk = malloc(65536 + 16);
	int hl = snprintf(chunk, 16, "10000\r\n");
	memset(chunk + hl, 'x', 65536);
	memcpy(chunk + hl + 65536, "\r\n", 2);
	for (int i = 0; i < 17; i++) {
		ssize_t n = send(c->fd, chunk, (size_t)hl + 65536 + 2, MSG_NOSIGNAL);
		if (n < 0)
			break; /* the server may already have closed */
	}
	free(chunk);
	resp r;
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 413);
	resp_free(&r);
	cli_free(c);

	/* a head above max_header (8 KiB here) */
	size_t n = 20000;
	char *req = malloc(n + 64);
	int off = snprintf(req, 64, "GET /hello HTTP/1.1\r\nX-Big: ");
	memset(req + off, 'a', n);
	memcpy(req + off + n, "\r\n\r\n", 4);
	expect_error(f, req, (size_t)off + n + 4, 431);
	free(req);

	expect_error(f, "GARBAGE\r\n\r\n", 11, 400);
	expect_error(f, "GET /hello HTTP/1.1\r\nNo colon here\r\n\r\n", 38, 400);
	/* the server still serves */
	c = cli_new(f->port);
	get_ok(c, "/hello", "hello");
	cli_free(c);
}

static void test_linger_ends(void **state)
{
	fx *f = *state;
	/* after an error answer the server reads on for a while (so that no RST destroys the
	 * answer), but a client that never closes is closed on anyway */
	cli *c = cli_new(f->port);
	resp r;
	cli_ask(c, "BAD\r\n\r\n", false, &r);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	cli_sends(c, "more bytes the server drops");
	uint64_t t0 = uv_hrtime();
	assert_true(cli_eof(c)); /* the FIN came with the answer */
	assert_true(uv_hrtime() - t0 < 1000000000ull);
	cli_free(c);
}

static void test_truncated_then_close(void **state)
{
	fx *f = *state;
	for (int i = 0; i < 5; i++) {
		cli *c = cli_new(f->port);
		cli_sends(c, i % 2 ? "POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc"
		                   : "GET /hello HTTP/1.1\r\nHost:");
		cli_free(c);
	}
	/* a request in flight when the client goes away: the delayed answer finds no one */
	cli *c = cli_new(f->port);
	cli_sends(c, "GET /delay HTTP/1.1\r\n\r\n");
	cli_free(c);
	c = cli_new(f->port);
	get_ok(c, "/delay", "delayed");
	get_ok(c, "/hello", "hello");
	cli_free(c);
}

static void test_streaming(void **state)
{
	fx *f = *state;
	cli *c = cli_new(f->port);
	resp r;
	cli_ask(c, "GET /stream HTTP/1.1\r\n\r\n", true, &r);
	assert_int_equal(r.status, 200);
	assert_header(&r, "Transfer-Encoding", "chunked");
	resp_free(&r);
	char *d = NULL;
	assert_int_equal(cli_chunk(c, &d), 6);
	assert_string_equal(d, "first\n");
	free(d);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(cli_chunk(c, &d), 5);
		assert_string_equal(d, "tick\n");
		free(d);
	}
	/* the client goes away: the watcher hears of it */
	cli_free(c);
	assert_int_equal(fx_wait(f, &f->stream_closed, 1), 1);

	/* a complete chunked answer keeps the connection */
	c = cli_new(f->port);
	get_ok(c, "/chunks", "one,two,three");
	get_ok(c, "/hello", "hello");
	cli_free(c);
}

static void test_stream_backpressure(void **state)
{
	fx *f = *state;
	cli *c = cli_new(f->port);
	cli_sends(c, "GET /flood HTTP/1.1\r\n\r\n");
	/* not reading: the server sees its writes pile up and stops */
	assert_int_equal(fx_wait(f, &f->flood_done, 1), 1);
	assert_true(f->flood_pending > 2 * 1024 * 1024);
	resp r;
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.body_len, f->flood_bytes);
	resp_free(&r);
	get_ok(c, "/hello", "hello");
	cli_free(c);
}

static void test_on_close_after_gone(void **state)
{
	fx *f = *state;
	cli *c = cli_new(f->port);
	cli_sends(c, "GET /late HTTP/1.1\r\n\r\n");
	cli_free(c);
	assert_int_equal(fx_wait(f, &f->late_closed, 1), 1);
}

static void test_http10_stream(void **state)
{
	fx *f = *state;
	cli *c = cli_new(f->port);
	resp r;
	cli_ask(c, "GET /chunks HTTP/1.0\r\n\r\n", false, &r);
	assert_header(&r, "Transfer-Encoding", NULL);
	assert_string_equal(r.body, "one,two,three");
	resp_free(&r);
	cli_free(c);
}

static void test_pipeline_backlog(void **state)
{
	fx *f = *state;
	enum { N = 20000 };
	cli *c = cli_new(f->port);
	/* ~500 KB of requests queued behind a slow one: the server stops reading, then
	 * catches up, answering all in order */
	const char *one = "GET /hello HTTP/1.1\r\n\r\n";
	size_t ol = strlen(one);
	char *all = malloc(ol * N);
	for (int i = 0; i < N; i++)
		memcpy(all + (size_t)i * ol, one, ol);
	cli_sends(c, "GET /slow HTTP/1.1\r\n\r\n");
	cli_send(c, all, ol * N);
	free(all);
	read_body(c, "delayed");
	for (int i = 0; i < N; i++)
		read_body(c, "hello");
	cli_free(c);
}

static void test_upgrade_echo(void **state)
{
	fx *f = *state;
	cli *c = cli_new(f->port);
	/* bytes after the head belong to the new protocol */
	resp r;
	cli_ask(c, "GET /upgrade HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly",
	        true, &r);
	assert_int_equal(r.status, 101);
	assert_header(&r, "Upgrade", "echo");
	resp_free(&r);
	cli_expect(c, "early");
	cli_sends(c, "ping");
	cli_expect(c, "ping");
	cli_sends(c, "bye");
	cli_expect(c, "bye");
	assert_true(cli_eof(c));
	assert_int_equal(fx_wait(f, &f->raw_closed, 1), 1);
	cli_free(c);

	/* the peer closing an upgraded connection also calls on_close */
	c = cli_new(f->port);
	cli_ask(c, "GET /upgrade HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n", true,
	        &r);
	assert_int_equal(r.status, 101);
	resp_free(&r);
	cli_free(c);
	assert_int_equal(fx_wait(f, &f->raw_closed, 2), 2);
}

static void test_upgrade_declined(void **state)
{
	fx *f = *state;
	cli *c = cli_new(f->port);
	/* an Upgrade the handler ignores: a plain answer, and the connection goes on */
	resp r;
	cli_ask(c, "GET /hello HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n", false, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
	resp_free(&r);
	get_ok(c, "/hello", "hello");
	cli_free(c);
	/* a CONNECT that is not taken: answered, then closed (what follows is a tunnel) */
	c = cli_new(f->port);
	cli_ask(c, "CONNECT example.com:443 HTTP/1.1\r\n\r\n\x16\x03\x01", false, &r);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	assert_true(cli_eof(c));
	cli_free(c);
}

static void test_upgrade_async(void **state)
{
	fx *f = *state;
	cli *c = cli_new(f->port);
	/* the handler decides later; bytes sent meanwhile wait for the new owner */
	cli_sends(c, "GET /upgrade-later HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"
	             "early");
	cli_sends(c, "+more");
	resp r;
	assert_int_equal(cli_response(c, &r, true), 0);
	assert_int_equal(r.status, 101);
	assert_header(&r, "Connection", "Upgrade");
	resp_free(&r);
	cli_expect(c, "early+more");
	cli_sends(c, "bye");
	assert_true(cli_need(c, 3));
	cli_consume(c, 3);
	assert_true(cli_eof(c));
	assert_int_equal(fx_wait(f, &f->raw_closed, 1), 1);
	cli_free(c);
}

static void test_many_connections(void **state)
{
	fx *f = *state;
	enum { N = 1000 };
	cli **cs = calloc(N, sizeof(*cs));
	for (int i = 0; i < N; i++) {
		cs[i] = cli_new(f->port);
		cli_sends(cs[i],
		          i % 2 ? "GET /hello HTTP/1.1\r\n\r\n" : "GET /delay HTTP/1.1\r\n\r\n");
	}
	for (int i = 0; i < N; i++) {
		read_body(cs[i], i % 2 ? "hello" : "delayed");
		cli_free(cs[i]);
	}
	free(cs);
}

static void test_idle_timeout(void **state)
{
	http_server_opts opts = {.idle_timeout_ms = 100};
	fx *f = fx_start(&opts);
	cli *c = cli_new(f->port);
	get_ok(c, "/hello", "hello");
	uint64_t t0 = uv_hrtime();
	assert_true(cli_eof(c)); /* closed by the server, well before the 5 s read timeout */
	assert_true(uv_hrtime() - t0 < 3000000000ull);
	cli_free(c);
	/* a watch is not idle */
	c = cli_new(f->port);
	resp r;
	cli_ask(c, "GET /stream HTTP/1.1\r\n\r\n", true, &r);
	resp_free(&r);
	char *d = NULL;
	for (int i = 0; i < 15; i++) { /* 300 ms of ticks: past the idle timeout */
		assert_true(cli_chunk(c, &d) > 0);
		free(d);
	}
	cli_free(c);
	fx_wait(f, &f->stream_closed, 1);
	fx_stop(f);
}

static void test_graceful_shutdown(void **state)
{
	http_server_opts opts = {0};
	fx *f = fx_start(&opts);
	int port = f->port;
	cli *idle = cli_new(port);
	get_ok(idle, "/hello", "hello");
	cli *busy = cli_new(port);
	cli_sends(busy, "GET /slow HTTP/1.1\r\n\r\n");
	cli *watch = cli_new(port);
	resp r;
	cli_ask(watch, "GET /stream HTTP/1.1\r\n\r\n", true, &r);
	resp_free(&r);
	/* the slow request has reached the handler before we shut down */
	assert_int_equal(fx_wait(f, &f->requests, 3), 3);
	uv_async_send(&f->cmd);
	/* idle connection closed; in-flight answer delivered, then closed; watch ended */
	assert_true(cli_eof(idle));
	assert_int_equal(cli_response(busy, &r, false), 0);
	assert_string_equal(r.body, "delayed");
	assert_header(&r, "Connection", "close");
	resp_free(&r);
	assert_true(cli_eof(busy));
	char *d = NULL;
	long n;
	while ((n = cli_chunk(watch, &d)) > 0)
		free(d);
	assert_int_equal(n, 0); /* the terminating chunk, not a cut */
	free(d);
	assert_int_equal(fx_wait(f, &f->shutdown_done, 1), 1);
	assert_int_equal(fx_wait(f, &f->stream_closed, 1), 1);
	assert_int_equal(connect_port(port), -1);
	cli_free(idle);
	cli_free(busy);
	cli_free(watch);
	uv_thread_join(&f->thread);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
}

static void test_bad_options(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	http_server *s = NULL;
	ck_err *err = NULL;
	http_server_opts opts = {.bind_address = "not-an-ip"};
	assert_true(http_server_new(&loop, &opts, handler, NULL, &s, &err) < 0);
	assert_non_null(err);
	err = ck_err_free(err);
	http_server_opts tls = {.tls_cert_file = "/nonexistent/crt",
	                        .tls_key_file = "/nonexistent/key"};
	assert_true(http_server_new(&loop, &tls, handler, NULL, &s, &err) < 0);
	assert_non_null(strstr(err->msg, "/nonexistent/crt"));
	err = ck_err_free(err);
	/* a port already taken */
	http_server *first = NULL;
	http_server_opts any = {0};
	assert_int_equal(http_server_new(&loop, &any, handler, NULL, &first, &err), 0);
	http_server_opts same = {.port = http_server_port(first)};
	assert_true(http_server_new(&loop, &same, handler, NULL, &s, &err) < 0);
	assert_non_null(strstr(err->msg, "listen"));
	err = ck_err_free(err);
	http_server_shutdown(first, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- TLS ---- */

static char tls_dir[] = "/tmp/ckube-http-tls-XXXXXX";

static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static int setup_tls_files(void **state)
{
	if (!mkdtemp(tls_dir))
		return -1;
	const char *d = tls_dir;
	const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
	sh("cd %s && openssl req -x509 %s -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca "
	   "2>/dev/null",
	   d, ec);
	sh("cd %s && openssl req -x509 %s -keyout other-ca.key -out other-ca.crt -days 2 "
	   "-subj /CN=other-ca 2>/dev/null",
	   d, ec);
	sh("cd %s && openssl req %s -keyout server.key -out server.csr -subj /CN=localhost "
	   "2>/dev/null && printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && "
	   "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
	   "-out server.crt -days 2 -extfile san.ext 2>/dev/null",
	   d, ec);
	sh("cd %s && openssl req %s -keyout client.key -out client.csr "
	   "-subj '/CN=alice/O=system:masters/O=dev' 2>/dev/null && "
	   "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
	   "-out client.crt -days 2 2>/dev/null",
	   d, ec);
	sh("cd %s && openssl req %s -keyout mallory.key -out mallory.csr -subj /CN=mallory "
	   "2>/dev/null && openssl x509 -req -in mallory.csr -CA other-ca.crt -CAkey other-ca.key "
	   "-CAcreateserial -out mallory.crt -days 2 2>/dev/null",
	   d, ec);
	char crt[256], key[256], ca[256];
	snprintf(crt, sizeof(crt), "%s/server.crt", d);
	snprintf(key, sizeof(key), "%s/server.key", d);
	snprintf(ca, sizeof(ca), "%s/ca.crt", d);
	http_server_opts opts = {.tls_cert_file = crt, .tls_key_file = key, .client_ca_file = ca};
	*state = fx_start(&opts);
	return 0;
}

static int teardown_tls_files(void **state)
{
	fx_stop(*state);
	sh("rm -rf %s", tls_dir);
	return 0;
}

/* Connects over TLS, trusting our CA, presenting the named client cert (or none).
 * Returns NULL when the handshake fails. */
static cli *tls_cli(int port, const char *client)
{
	static const unsigned char alpn[] = "\x02h2\x08http/1.1";
	char path[256], key[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	snprintf(path, sizeof(path), "%s/ca.crt", tls_dir);
	assert_int_equal(SSL_CTX_load_verify_locations(ctx, path, NULL), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
	if (client) {
		snprintf(path, sizeof(path), "%s/%s.crt", tls_dir, client);
		snprintf(key, sizeof(key), "%s/%s.key", tls_dir, client);
		assert_int_equal(SSL_CTX_use_certificate_file(ctx, path, SSL_FILETYPE_PEM), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
	}
	cli *c = cli_new(port);
	c->ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set1_host(c->ssl, "127.0.0.1");
	if (SSL_connect(c->ssl) != 1) {
		ERR_clear_error();
		cli_free(c);
		return NULL;
	}
	return c;
}

static void test_tls_anonymous(void **state)
{
	fx *f = *state;
	cli *c = tls_cli(f->port, NULL);
	assert_non_null(c);
	/* ALPN: HTTP/2 is offered first, HTTP/1.1 chosen */
	const unsigned char *proto = NULL;
	unsigned proto_len = 0;
	SSL_get0_alpn_selected(c->ssl, &proto, &proto_len);
	assert_int_equal(proto_len, 8);
	assert_memory_equal(proto, "http/1.1", 8);
	get_ok(c, "/whoami", "anonymous tls=1");
	get_ok(c, "/hello", "hello");
	/* a body larger than one TLS record */
	size_t n = 100000;
	char *body = malloc(n);
	memset(body, 'z', n);
	char head[128];
	snprintf(head, sizeof(head), "POST /echo HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", n);
	cli_sends(c, head);
	cli_send(c, body, n);
	resp r;
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.body_len, n + strlen("POST /echo q= len=100000\n"));
	resp_free(&r);
	free(body);
	/* Connection: close ends with close_notify: a clean TLS end of stream */
	cli_ask(c, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n", false, &r);
	assert_string_equal(r.body, "hello");
	resp_free(&r);
	assert_true(cli_eof(c));
	cli_free(c);
	/* the client ending with close_notify */
	c = tls_cli(f->port, NULL);
	assert_non_null(c);
	get_ok(c, "/hello", "hello");
	SSL_shutdown(c->ssl);
	assert_true(cli_eof(c));
	cli_free(c);
}

static void test_tls_client_cert(void **state)
{
	fx *f = *state;
	cli *c = tls_cli(f->port, "client");
	assert_non_null(c);
	get_ok(c, "/whoami", "cn=alice groups=system:masters,dev");
	/* streaming over TLS */
	resp r;
	cli_ask(c, "GET /chunks HTTP/1.1\r\n\r\n", false, &r);
	assert_string_equal(r.body, "one,two,three");
	resp_free(&r);
	cli_free(c);
}

static void test_tls_untrusted_client_cert(void **state)
{
	fx *f = *state;
	cli *c = tls_cli(f->port, "mallory");
	if (c) {
		/* TLS 1.3: the client finishes first; the server's refusal shows on use */
		cli_sends(c, "GET /whoami HTTP/1.1\r\n\r\n");
		resp r;
		assert_int_equal(cli_response(c, &r, false), -1);
		resp_free(&r);
		cli_free(c);
	}
	/* plain HTTP to a TLS port is not answered as HTTP */
	c = cli_new(f->port);
	cli_sends(c, "GET /hello HTTP/1.1\r\n\r\n");
	resp r;
	assert_int_equal(cli_response(c, &r, false), -1);
	resp_free(&r);
	cli_free(c);
	c = tls_cli(f->port, NULL);
	assert_non_null(c);
	get_ok(c, "/hello", "hello");
	cli_free(c);
}

static void test_tls_bad_files(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	char crt[256], key[256], ca[256];
	snprintf(crt, sizeof(crt), "%s/server.crt", tls_dir);
	snprintf(key, sizeof(key), "%s/client.key", tls_dir);
	snprintf(ca, sizeof(ca), "%s/nonexistent-ca.crt", tls_dir);
	http_server *s = NULL;
	ck_err *err = NULL;
	http_server_opts mismatch = {.tls_cert_file = crt, .tls_key_file = key};
	assert_true(http_server_new(&loop, &mismatch, handler, NULL, &s, &err) < 0);
	assert_non_null(strstr(err->msg, "client.key"));
	err = ck_err_free(err);
	snprintf(key, sizeof(key), "%s/server.key", tls_dir);
	http_server_opts noca = {.tls_cert_file = crt, .tls_key_file = key, .client_ca_file = ca};
	assert_true(http_server_new(&loop, &noca, handler, NULL, &s, &err) < 0);
	assert_non_null(strstr(err->msg, "nonexistent-ca.crt"));
	err = ck_err_free(err);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest plain[] = {
	    cmocka_unit_test_setup_teardown(test_get, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_request_log, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_post_body_query_headers, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_keepalive_many, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_pipelining_in_order, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_chunked_request_and_continue, setup_plain,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_head_and_204, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_connection_close, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_limits_and_malformed, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_then_close, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_linger_ends, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_streaming, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_upgrade_echo, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_upgrade_async, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_upgrade_declined, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_stream_backpressure, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_on_close_after_gone, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_http10_stream, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_pipeline_backlog, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_many_connections, setup_plain, teardown),
	    cmocka_unit_test(test_idle_timeout),
	    cmocka_unit_test(test_graceful_shutdown),
	    cmocka_unit_test(test_bad_options),
	};
	const struct CMUnitTest tls[] = {
	    cmocka_unit_test(test_tls_anonymous),
	    cmocka_unit_test(test_tls_client_cert),
	    cmocka_unit_test(test_tls_untrusted_client_cert),
	    cmocka_unit_test(test_tls_bad_files),
	};
	int failed = cmocka_run_group_tests_name("http_server", plain, NULL, NULL);
	failed += cmocka_run_group_tests_name("http_server_tls", tls, setup_tls_files,
	                                      teardown_tls_files);
	return failed;
}
