/* http_client_conn: one connection of the HTTP client. See http_client_internal.h.
 *
 * The socket is ours (non-blocking, close-on-exec, TCP keepalive) and watched with a
 * uv_poll: writes use send(MSG_NOSIGNAL), so that a peer gone away is an EPIPE and not a
 * SIGPIPE in a process that does not ignore it. With TLS the socket carries what a
 * tls_session (memory BIOs) produces. Responses are parsed by http-parser straight from the
 * read buffer; a 2xx body of a streamed request goes to on_chunk as it is parsed. */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/http_client_internal.h"

static void on_poll(uv_poll_t *p, int status, int events);

/* ---- lifecycle ---- */

static void conn_free(hconn *k)
{
	tls_session_free(k->tls);
	uv_freeaddrinfo(k->ai);
	ck_buf_free(&k->out);
	free(k->host);
	free(k->test_err);
	free(k);
}

static void on_sock_closed(uv_handle_t *h)
{
	hsock *s = (hsock *)h;
	httpc *c = s->c;
	free(s);
	httpc__unref(c);
}

/* Closes k's socket now and its handle in the background. */
static void sock_drop(hconn *k)
{
	hsock *s = k->sock;
	if (!s)
		return;
	k->sock = NULL;
	uv_poll_stop(&s->poll);
	close(s->fd); /* allowed once the handle is stopped */
	s->poll.data = NULL;
	uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

static void conn_hold(hconn *k)
{
	k->depth++;
}

/* Ends what conn_hold began; frees k when it was closed meanwhile. */
static void conn_release(hconn *k)
{
	if (--k->depth == 0 && k->closing && !k->resolving)
		conn_free(k);
}

void httpc__conn_close(hconn *k)
{
	if (k->closing)
		return;
	k->closing = true;
	if (k->req) {
		k->req->conn = NULL;
		k->req = NULL;
	}
	httpc__conn_unlist(k);
	sock_drop(k);
	httpc__warm_later(k->c, k->ready);
	if (k->resolving)
		uv_cancel((uv_req_t *)&k->gai); /* its callback still comes, and frees k */
	else if (!k->depth)
		conn_free(k);
}

/* The attempt on k failed: k is closed and its request told. */
static void conn_fail(hconn *k, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void conn_fail(hconn *k, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = ck_vasprintf(fmt, ap);
	va_end(ap);
	if (k->test) {
		k->test_rc = rc;
		k->test_err = CK_TAKE_PTR(msg);
		k->closing = true;
		return;
	}
	httpc_req *r = k->req;
	bool reused = k->reused;
	httpc__conn_close(k);
	if (r)
		httpc__req_attempt_failed(r, rc, msg, reused);
}

static void conn_bind(hconn *k, httpc_req *r)
{
	k->req = r;
	r->conn = k;
	http_parser_init(&k->hp, HTTP_RESPONSE);
	k->hp.data = k;
	k->complete = k->interim = false;
}

/* ---- output ---- */

static void sock_watch(hconn *k)
{
	hsock *s = k->sock;
	int ev = UV_WRITABLE;
	if (!k->connecting)
		ev = UV_READABLE | (k->out_off < k->out.len ? UV_WRITABLE : 0);
	if (ev != s->events) {
		s->events = ev;
		uv_poll_start(&s->poll, ev, on_poll);
	}
}

/* Moves TLS output to k->out and sends what the socket takes. */
static void conn_flush(hconn *k)
{
	if (k->closing || !k->sock)
		return;
	size_t n = k->tls ? tls_session_out_pending(k->tls) : 0;
	if (n) {
		ck_buf_reserve(&k->out, n);
		k->out.len += tls_session_out_take(k->tls, k->out.s + k->out.len, n);
		k->out.s[k->out.len] = '\0';
	}
	while (k->out_off < k->out.len) {
		ssize_t m =
		    send(k->sock->fd, k->out.s + k->out_off, k->out.len - k->out_off, MSG_NOSIGNAL);
		if (m >= 0) {
			k->out_off += (size_t)m;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		if (k->req && k->req->got_bytes) {
			/* The peer answered and stopped reading: the answer decides. */
			k->spoiled = true;
			k->out_off = k->out.len;
			break;
		}
		conn_fail(k, -ECONNRESET, "send to %s: %s", k->host, uv_strerror(-errno));
		return;
	}
	if (k->out_off == k->out.len) {
		k->out_off = 0;
		if (k->out.cap > HTTPC_READ_BUF)
			ck_buf_free(&k->out);
		else
			ck_buf_clear(&k->out);
	}
	sock_watch(k);
}

static void conn_write_request(hconn *k)
{
	httpc_req *r = k->req;
	if (!k->tls)
		ck_buf_append(&k->out, r->wire.s, r->wire.len);
	else if (tls_session_write(k->tls, r->wire.s, r->wire.len) < 0) {
		conn_fail(k, CK_EPROTO, "TLS write to %s failed", k->host);
		return;
	}
	conn_flush(k);
}

/* Connected (and TLS handshake done): the request goes out; an orphan is put to use. */
static void conn_ready(hconn *k)
{
	k->ready = true;
	if (!k->req) {
		httpc__pool_put(k->c, k);
		return;
	}
	httpc__req_sending(k->req);
	conn_write_request(k);
}

void httpc__conn_send(hconn *k, httpc_req *r)
{
	conn_hold(k);
	conn_bind(k, r);
	uv_ref((uv_handle_t *)&k->sock->poll);
	conn_write_request(k);
	conn_release(k);
}

void httpc__conn_park(hconn *k)
{
	sock_watch(k);
	uv_unref((uv_handle_t *)&k->sock->poll);
}

/* ---- response parsing ---- */

static int on_message_begin(http_parser *hp)
{
	hconn *k = hp->data;
	httpc_req *r = k->req;
	r->status = 0;
	r->has_ctype = false;
	ck_buf_clear(&r->ctype);
	ck_buf_clear(&r->body);
	k->hname_len = 0;
	k->in_value = k->ctype_value = k->in_body = false;
	return 0;
}

/* Trailers of a chunked body are not the response's headers: they are ignored. */
static int on_header_field(http_parser *hp, const char *at, size_t len)
{
	hconn *k = hp->data;
	if (k->in_body)
		return 0;
	if (k->in_value) {
		k->in_value = false;
		k->hname_len = 0;
	}
	for (size_t i = 0; i < len && k->hname_len + i < sizeof(k->hname); i++)
		k->hname[k->hname_len + i] = at[i];
	k->hname_len += len;
	return 0;
}

static int on_header_value(http_parser *hp, const char *at, size_t len)
{
	hconn *k = hp->data;
	httpc_req *r = k->req;
	if (k->in_body)
		return 0;
	if (!k->in_value) {
		k->in_value = true;
		k->ctype_value = k->hname_len == 12 && !strncasecmp(k->hname, "content-type", 12);
		if (k->ctype_value) {
			r->has_ctype = true;
			ck_buf_clear(&r->ctype);
		}
	}
	if (k->ctype_value)
		ck_buf_append(&r->ctype, at, len);
	return 0;
}

static int on_headers_complete(http_parser *hp)
{
	hconn *k = hp->data;
	httpc_req *r = k->req;
	int status = hp->status_code;
	if (status < 100)
		return -1; /* http-parser takes 1 to 3 digits, HTTP has 3 */
	/* An interim response: the final one follows. */
	k->interim = status >= 100 && status < 200 && status != 101;
	if (k->interim)
		return 1;
	k->in_body = true;
	r->status = status;
	if (status == 101)
		k->spoiled = true; /* we never ask to switch protocols */
	/* 1: no body. */
	return r->head || status == 204 || status == 304;
}

static int on_body(http_parser *hp, const char *at, size_t len)
{
	hconn *k = hp->data;
	httpc_req *r = k->req;
	if (!r->on_chunk || r->status < 200 || r->status > 299) {
		ck_buf_append(&r->body, at, len);
		return 0;
	}
	int stop = r->on_chunk(at, len, r->user);
	if (k->closing) /* cancelled from on_chunk, or the client freed */
		return 1;
	if (stop) {
		conn_fail(k, -ECANCELED, "stopped by the chunk callback");
		return 1;
	}
	return 0;
}

static int on_message_complete(http_parser *hp)
{
	hconn *k = hp->data;
	if (k->interim) {
		k->interim = false;
		return 0;
	}
	k->complete = true;
	http_parser_pause(hp, 1);
	return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* Parses plaintext from the peer. */
static void conn_input(hconn *k, const char *p, size_t n)
{
	httpc_req *r = k->req;
	if (k->closing || !n)
		return;
	if (!r) { /* bytes on an idle connection: nothing to trust it with */
		httpc__conn_close(k);
		return;
	}
	if (k->complete) {
		k->spoiled = true;
		return;
	}
	r->got_bytes = true;
	size_t used = http_parser_execute(&k->hp, &parser_settings, p, n);
	if (k->closing)
		return;
	enum http_errno e = HTTP_PARSER_ERRNO(&k->hp);
	if (e == HPE_PAUSED) {
		if (used < n)
			k->spoiled = true;
		return;
	}
	if (e != HPE_OK)
		conn_fail(k, CK_EPROTO, "invalid response from %s: %s", k->host,
		          http_errno_description(e));
}

/* The peer closed the connection (err 0) or it failed (err < 0). */
static void conn_eof(hconn *k, int err)
{
	httpc_req *r = k->req;
	if (k->closing)
		return;
	if (!r) {
		httpc__conn_close(k);
		return;
	}
	if (k->complete) {
		k->spoiled = true;
		return;
	}
	if (!k->ready) {
		conn_fail(k, CK_EPROTO, "TLS handshake with %s: connection closed", k->host);
		return;
	}
	if (!err && r->got_bytes) {
		/* A body delimited by the end of the connection ends here. */
		http_parser_execute(&k->hp, &parser_settings, NULL, 0);
		if (k->complete || k->closing)
			return;
	}
	if (err)
		conn_fail(k, -ECONNRESET, "connection to %s: %s", k->host, uv_strerror(err));
	else
		conn_fail(k, -ECONNRESET, "%s closed the connection %s", k->host,
		          r->got_bytes ? "in the middle of the response" : "before responding");
}

/* Bytes from the socket. */
static void conn_received(hconn *k, const char *data, size_t len)
{
	if (!k->tls) {
		conn_input(k, data, len);
		return;
	}
	if (tls_session_feed(k->tls, data, len) < 0) {
		conn_fail(k, -ENOMEM, "TLS input from %s: out of memory", k->host);
		return;
	}
	char *buf = k->c->pbuf;
	for (;;) {
		int n = tls_session_read(k->tls, buf, HTTPC_READ_BUF);
		if (n == -ECONNRESET) { /* close_notify */
			conn_flush(k);
			conn_eof(k, 0);
			return;
		}
		if (n < 0) {
			conn_fail(k, CK_EPROTO, "TLS %s %s: %s",
			          k->ready ? "with" : "handshake with", k->host,
			          tls_session_error(k->tls));
			return;
		}
		if (!k->ready && tls_session_handshake_done(k->tls))
			conn_ready(k);
		if (k->closing)
			return;
		if (n == 0)
			break;
		conn_input(k, buf, (size_t)n);
		if (k->closing)
			return;
	}
	conn_flush(k); /* handshake messages, alerts */
}

static void conn_readable(hconn *k)
{
	char *buf = k->c->rbuf;
	/* Bounded: the poll is level-triggered, other connections get their turn. */
	for (int i = 0; i < 16 && !k->closing; i++) {
		ssize_t n = recv(k->sock->fd, buf, HTTPC_READ_BUF, 0);
		if (n > 0) {
			conn_received(k, buf, (size_t)n);
			if (n < HTTPC_READ_BUF)
				return;
			continue;
		}
		if (n == 0) {
			conn_eof(k, 0);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			conn_eof(k, -errno);
		return;
	}
}

/* Whether k can carry another request after its complete response. */
static bool conn_keepable(const hconn *k)
{
	return k->complete && !k->spoiled && !k->hp.upgrade && http_should_keep_alive(&k->hp) &&
	       k->out_off == k->out.len;
}

/* Hands a complete response over: the connection goes back to the pool (or is closed),
 * then on_done runs. */
static void conn_settle(hconn *k)
{
	httpc_req *r = k->req;
	if (k->closing || !k->complete || !r)
		return;
	k->req = NULL;
	r->conn = NULL;
	k->reused = true;
	if (conn_keepable(k))
		httpc__pool_put(k->c, k);
	else
		httpc__conn_close(k);
	httpc__req_done(r);
}

/* ---- connecting ---- */

static void conn_tls_start(hconn *k)
{
	k->tls = tls_client_session_new(k->c->tls, k->host, k->port);
	/* Produces the ClientHello. */
	if (tls_session_read(k->tls, k->c->pbuf, HTTPC_READ_BUF) < 0) {
		conn_fail(k, CK_EPROTO, "TLS handshake with %s: %s", k->host,
		          tls_session_error(k->tls));
		return;
	}
	conn_flush(k);
}

/* Starts a non-blocking connect to a. Returns 0 or a negative errno. */
static int sock_connect(hconn *k, const struct addrinfo *a)
{
	httpc *c = k->c;
	_cleanup_close_ int fd =
	    socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Long watches: a peer that vanished without a reset is noticed within about two
	 * minutes (the kernel's default of 9 probes). */
	int on = 1, idle = HTTPC_KEEPIDLE, intvl = HTTPC_KEEPINTVL;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS)
		return -errno;
	hsock *s = ck_calloc(1, sizeof(*s));
	int r = uv_poll_init_socket(c->loop, &s->poll, fd);
	if (r < 0) {
		free(s);
		return r;
	}
	c->handles++;
	s->c = c;
	s->fd = CK_TAKE_FD(fd);
	s->poll.data = k;
	k->sock = s;
	k->connecting = true;
	sock_watch(k);
	return 0;
}

/* Tries the next address of k's host; fails the attempt when none is left. */
static void conn_connect_next(hconn *k)
{
	while (k->ai_next) {
		const struct addrinfo *a = k->ai_next;
		k->ai_next = a->ai_next;
		int r = sock_connect(k, a);
		if (r == 0)
			return;
		k->connect_err = r;
	}
	conn_fail(k, -ECONNREFUSED, "connect to %s port %d: %s", k->host, k->port,
	          uv_strerror(k->connect_err));
}

/* The socket's pending error, else status (libuv reports any POLLERR as UV_EBADF). */
static int sock_error(hconn *k, int status)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(k->sock->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err)
		return -err;
	return status;
}

static void conn_connected(hconn *k, int status)
{
	int err = sock_error(k, status);
	k->connecting = false;
	if (err < 0) {
		k->connect_err = err;
		sock_drop(k);
		conn_connect_next(k);
		return;
	}
	uv_freeaddrinfo(k->ai);
	k->ai = k->ai_next = NULL;
	if (k->tls_wanted)
		conn_tls_start(k);
	else
		conn_ready(k);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	hconn *k = p->data;
	conn_hold(k);
	if (k->connecting) {
		conn_connected(k, status);
	} else if (status < 0) {
		/* libuv stopped the poll: reading tells what happened. */
		k->sock->events = 0;
		conn_readable(k);
		if (!k->closing)
			conn_flush(k);
	} else {
		if (events & UV_READABLE)
			conn_readable(k);
		if (events & UV_WRITABLE)
			conn_flush(k);
	}
	conn_settle(k);
	conn_release(k);
}

static void conn_resolved(hconn *k, int status, struct addrinfo *ai)
{
	if (status < 0) {
		conn_fail(k, -EHOSTUNREACH, "resolve %s: %s", k->host, uv_strerror(status));
		return;
	}
	k->ai = k->ai_next = ai;
	conn_connect_next(k);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
	hconn *k = req->data;
	httpc *c = k->c;
	k->resolving = false;
	conn_hold(k);
	if (k->closing) {
		if (ai)
			uv_freeaddrinfo(ai);
	} else {
		conn_resolved(k, status, ai);
	}
	conn_release(k);
	httpc__unref(c);
}

void httpc__conn_open(httpc *c, const char *host, int port, bool tls, httpc_req *r)
{
	if (tls) {
		tls_ctx *ctx;
		_cleanup_free_ char *msg = NULL;
		int rc = httpc__tls_ctx(c, &ctx, &msg);
		if (rc < 0) {
			if (r)
				httpc__req_attempt_failed(r, rc, msg, false);
			return;
		}
		if (!c->pbuf)
			c->pbuf = ck_malloc(HTTPC_READ_BUF);
	}
	if (!c->rbuf)
		c->rbuf = ck_malloc(HTTPC_READ_BUF);
	hconn *k = ck_calloc(1, sizeof(*k));
	k->c = c;
	k->host = ck_strdup(host);
	k->port = port;
	k->tls_wanted = tls;
	k->connect_err = UV_ECONNREFUSED;
	k->gai.data = k;
	if (r)
		conn_bind(k, r);
	else
		httpc__orphan(k);
	conn_hold(k);
	char service[8];
	snprintf(service, sizeof(service), "%d", k->port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	/* An address needs no resolver (nor a detour through the thread pool). */
	int rc = uv_getaddrinfo(c->loop, &k->gai, NULL, k->host, service, &hints);
	if (rc < 0) {
		hints.ai_flags = AI_NUMERICSERV;
		rc = uv_getaddrinfo(c->loop, &k->gai, c->sync_resolve ? NULL : on_resolved, k->host,
		                    service, &hints);
		if (rc == 0 && !c->sync_resolve) {
			k->resolving = true;
			c->handles++;
		}
	}
	if (!k->resolving)
		conn_resolved(k, rc, rc < 0 ? NULL : k->gai.addrinfo);
	conn_release(k);
}

/* ---- fuzzing / unit entry point ---- */

static int test_collect(const void *data, size_t len, void *user)
{
	ck_buf_append(user, data, len);
	return 0;
}

int httpc_parse_for_test(const void *data, size_t len, size_t cut, bool head, bool stream,
                         httpc_response *resp, bool *reusable)
{
	char host[] = "peer";
	httpc c = {0};
	httpc_req r = {.c = &c, .head = head, .host = host};
	_cleanup_buf_ ck_buf streamed = {0};
	if (stream) {
		r.on_chunk = test_collect;
		r.user = &streamed;
	}
	hconn k = {.c = &c, .host = host, .test = true, .ready = true};
	conn_bind(&k, &r);
	if (cut > len)
		cut = len;
	conn_input(&k, data, cut);
	conn_input(&k, (const char *)data + cut, len - cut);
	if (reusable)
		*reusable = conn_keepable(&k);
	conn_eof(&k, 0);
	httpc_response tmp;
	httpc__response_of(&r, &tmp);
	if (stream && tmp.status >= 200 && tmp.status <= 299) {
		ck_buf_puts(&streamed, "");
		tmp.body = streamed.s;
		tmp.body_len = streamed.len;
	}
	tmp.rc = k.complete ? 0 : k.test_rc;
	tmp.error = k.complete ? NULL : k.test_err;
	httpc__response_copy(resp, &tmp);
	ck_buf_free(&r.ctype);
	ck_buf_free(&r.body);
	free(k.test_err);
	return resp->rc;
}
