/* http_server: one connection = one `conn`; one request = one `http_exchange`.
 *
 * Input is parsed straight from a server-wide read buffer; only bytes that cannot be
 * parsed yet (a pipelined request while another is in flight) are copied into the
 * connection. The parser is paused after each request until its exchange completes, so
 * pipelined responses leave in order. Output is appended to one per-connection buffer
 * and handed to the socket with uv_try_write (no allocation when the kernel takes it
 * all) or, for what is left, one uv_write that takes the buffer over. Exchanges and
 * their buffers are recycled per connection, so a keep-alive GET allocates nothing.
 *
 * This file: connections and the server. The parser callbacks and request accessors are
 * in http_request.c, responses in http_response.c, the shared types in http_internal.h. */
#include "net/http_server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <http_parser.h>

#include "base/list.h"
#include "base/log.h"
#include "net/http_internal.h"
#include "net/tls.h"

typedef struct wreq {
	uv_write_t req;
	char *p;
	struct wreq *prev, *next; /* conn.wreqs */
} wreq;

static void conn_process(conn *c);
static void conn_close(conn *c);
static void server_maybe_done(http_server *s);
static void conn_read_start(conn *c);

/* ---- output ---- */

static void on_write(uv_write_t *req, int status)
{
	wreq *w = (wreq *)req;
	conn *c = req->handle->data;
	CK_LIST_REMOVE(c->wreqs, w);
	free(w->p);
	free(w);
	c->writes--;
	if (status < 0)
		conn_close(c);
}

/* Hands b's bytes to the socket and leaves b empty. */
static void conn_send(conn *c, hbuf *b)
{
	uv_stream_t *st = (uv_stream_t *)&c->tcp;
	size_t off = 0;
	if (!c->writes) {
		uv_buf_t ub = uv_buf_init(b->p, (unsigned)b->len);
		int n = uv_try_write(st, &ub, 1);
		if (n == (int)b->len) {
			hbuf_clear(b);
			return;
		}
		if (n < 0 && n != UV_EAGAIN) {
			hbuf_clear(b);
			conn_close(c);
			return;
		}
		off = n > 0 ? (size_t)n : 0;
	}
	wreq *w = ck_malloc(sizeof(*w));
	w->p = b->p;
	uv_buf_t ub = uv_buf_init(b->p + off, (unsigned)(b->len - off));
	b->p = NULL;
	b->len = b->cap = 0;
	c->writes++;
	CK_LIST_PREPEND(c->wreqs, w);
	int r = uv_write(&w->req, st, &ub, 1, on_write);
	if (r < 0) {
		CK_LIST_REMOVE(c->wreqs, w);
		c->writes--;
		free(w->p);
		free(w);
		conn_close(c);
	}
}

static void conn_tls_pump(conn *c)
{
	if (c->closing)
		return;
	size_t n = tls_session_out_pending(c->tls);
	if (!n)
		return;
	hbuf_reserve(&c->tout, n);
	c->tout.len += tls_session_out_take(c->tls, c->tout.p + c->tout.len, n);
	conn_send(c, &c->tout);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	conn *c = req->handle->data;
	if (c->closing)
		return;
	if (status < 0 || c->upgraded || c->srv->shutting_down) {
		conn_close(c);
		return;
	}
	/* keep reading (and dropping) until the peer closes, so that our answer is not
	 * destroyed by an RST for unread input */
	c->lingering = true;
	c->linger_start = uv_now(c->srv->loop);
	conn_read_start(c);
}

static void conn_end(conn *c)
{
	c->shut = true;
	if (c->test_mode)
		return;
	if (c->tls) {
		tls_session_close_notify(c->tls);
		conn_tls_pump(c);
		if (c->closing)
			return;
	}
	if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
		conn_close(c);
}

void http__conn_flush(conn *c)
{
	if (c->closing || c->test_mode) {
		c->out.len = 0;
		if (c->test_mode && c->close_after_write)
			c->shut = true;
		return;
	}
	if (c->out.len) {
		if (c->tls) {
			int r = tls_session_write(c->tls, c->out.p, c->out.len);
			hbuf_clear(&c->out);
			if (r < 0) {
				conn_close(c);
				return;
			}
			conn_tls_pump(c);
		} else {
			conn_send(c, &c->out);
		}
	}
	if (c->close_after_write && !c->shut && !c->closing)
		conn_end(c);
}

/* Sends an error answer for a request we could not take, then closes. */
static void conn_error(conn *c, int status)
{
	if (c->parsing) {
		http__conn_recycle(c, c->parsing);
		c->parsing = NULL;
	}
	c->err_sent = status;
	const char *reason = http__reason(status);
	size_t blen = strlen(reason) + 1;
	hbuf_adds(&c->out, "HTTP/1.1 ");
	hbuf_add_u(&c->out, (unsigned)status);
	hbuf_addc(&c->out, ' ');
	hbuf_adds(&c->out, reason);
	hbuf_adds(&c->out, "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ");
	hbuf_add_u(&c->out, blen);
	hbuf_adds(&c->out, "\r\nConnection: close\r\n\r\n");
	hbuf_adds(&c->out, reason);
	hbuf_addc(&c->out, '\n');
	c->close_after_write = true;
}

/* ---- connection lifecycle ---- */

static void on_idle(uv_idle_t *h);

static void conn_defer(conn *c)
{
	if (c->deferred || c->test_mode || c->closing)
		return;
	http_server *s = c->srv;
	c->deferred = true;
	c->defer_next = s->defer;
	s->defer = c;
	uv_idle_start(&s->idle, on_idle);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	conn *c = h->data;
	*b = uv_buf_init(c->srv->rbuf, HTTP_READ_BUF);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b);

static void conn_read_start(conn *c)
{
	if (c->reading || c->closing || c->test_mode)
		return;
	c->reading = true;
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
		conn_close(c);
}

static void conn_read_stop(conn *c)
{
	if (!c->reading || c->test_mode)
		return;
	c->reading = false;
	uv_read_stop((uv_stream_t *)&c->tcp);
}

static size_t conn_backlog(const conn *c)
{
	return c->in.len - c->in_off;
}

/* Upgraded: everything buffered goes to the new owner. */
static void raw_deliver(conn *c)
{
	while (!c->closing && !c->shut && conn_backlog(c)) {
		const char *p = c->in.p + c->in_off;
		size_t n = conn_backlog(c);
		c->in_off = c->in.len = 0; /* the bytes stay valid: nothing appends meanwhile */
		c->raw.cbs.on_read(&c->raw, p, n, c->raw.user);
	}
}

/* Feeds newly received plaintext. */
static void conn_feed(conn *c, const char *data, size_t len)
{
	if (c->closing || c->lingering)
		return;
	if (c->upgraded) {
		if (conn_backlog(c)) {
			hbuf_add(&c->in, data, len);
			raw_deliver(c);
		} else if (!c->shut) {
			c->raw.cbs.on_read(&c->raw, data, len, c->raw.user);
		}
		return;
	}
	if (c->close_after_write)
		return; /* answering an error or a last request: the rest is dropped */
	if (conn_backlog(c) || c->active || c->ready) {
		hbuf_add(&c->in, data, len);
		if (!c->active)
			conn_process(c);
	} else {
		c->ext = data;
		c->ext_len = len;
		c->ext_off = 0;
		conn_process(c);
		if (c->ext_off < c->ext_len && !c->closing)
			hbuf_add(&c->in, c->ext + c->ext_off, c->ext_len - c->ext_off);
		c->ext = NULL;
	}
	if (conn_backlog(c) > HTTP_BACKLOG_MAX)
		conn_read_stop(c);
}

static void conn_process(conn *c)
{
	if (c->in_process)
		return;
	c->in_process = true;
	http_server *s = c->srv;
	for (;;) {
		if (c->closing || c->active || c->close_after_write || c->upgraded)
			break;
		if (c->ready) {
			http_exchange *x = c->ready;
			c->ready = NULL;
			c->active = x;
			x->conn = c;
			s->n_active++;
			x->start_ns = uv_hrtime();
			s->handler(x, s->data);
			continue;
		}
		const char *p;
		size_t n;
		if (c->ext) {
			p = c->ext + c->ext_off;
			n = c->ext_len - c->ext_off;
		} else {
			p = c->in.p + c->in_off;
			n = conn_backlog(c);
		}
		if (!n)
			break;
		size_t used = http_parser_execute(&c->hp, &http__parser_settings, p, n);
		if (c->ext) {
			c->ext_off += used;
		} else {
			c->in_off += used;
			if (c->in_off == c->in.len)
				c->in_off = c->in.len = 0;
		}
		enum http_errno e = HTTP_PARSER_ERRNO(&c->hp);
		if (e == HPE_PAUSED) {
			http_parser_pause(&c->hp, 0);
			continue;
		}
		if (e != HPE_OK) {
			int status = 400;
			if (c->err_sent < 0)
				status = -c->err_sent;
			else if (e == HPE_HEADER_OVERFLOW)
				status = 431;
			conn_error(c, status);
			break;
		}
		if (used < n && !c->ready)
			break; /* upgrade without a complete message: nothing more to parse */
	}
	if (c->upgraded && !c->closing) {
		if (c->ext && c->ext_off < c->ext_len) {
			hbuf_add(&c->in, c->ext + c->ext_off, c->ext_len - c->ext_off);
			c->ext_off = c->ext_len;
		}
		raw_deliver(c);
	}
	c->in_process = false;
	http__conn_flush(c);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	conn *c = st->data;
	if (nread == 0)
		return;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (c->lingering || c->closing)
		return;
	c->last_active = uv_now(c->srv->loop);
	if (!c->tls) {
		conn_feed(c, b->base, (size_t)nread);
		return;
	}
	if (tls_session_feed(c->tls, b->base, (size_t)nread) < 0) {
		conn_close(c);
		return;
	}
	for (;;) {
		int n = tls_session_read(c->tls, c->srv->pbuf, HTTP_READ_BUF);
		if (n < 0) {
			conn_tls_pump(c); /* the alert, if any */
			conn_close(c);
			return;
		}
		if (!c->peer_checked && tls_session_handshake_done(c->tls)) {
			c->peer_checked = true;
			tls_session_peer(c->tls, &c->peer_cn, &c->peer_groups);
		}
		if (n == 0)
			break;
		conn_feed(c, c->srv->pbuf, (size_t)n);
		if (c->closing)
			return;
	}
	conn_tls_pump(c); /* handshake messages, session tickets */
}

static void conn_free(conn *c)
{
	http__x_free(c->parsing);
	http__x_free(c->ready);
	http__x_free(c->spare);
	hbuf_free(&c->in);
	hbuf_free(&c->out);
	hbuf_free(&c->tout);
	tls_session_free(c->tls);
	free(c->peer_cn);
	tls_groups_free(c->peer_groups);
	free(c);
}

static void on_conn_closed(uv_handle_t *h)
{
	conn *c = h->data;
	http_server *s = c->srv;
	if (c->deferred) {
		for (conn **pp = &s->defer; *pp; pp = &(*pp)->defer_next) {
			if (*pp == c) {
				*pp = c->defer_next;
				break;
			}
		}
	}
	CK_LIST_REMOVE(s->conns, c);
	http_exchange *x = c->active;
	c->active = NULL;
	if (x) {
		x->conn = NULL;
		x->closed = true;
		if (x->on_close && !x->on_close_fired) {
			x->on_close_fired = true;
			x->on_close(x, x->on_close_data);
		}
	}
	if (c->upgraded && c->raw.cbs.on_close)
		c->raw.cbs.on_close(&c->raw, c->raw.user);
	conn_free(c);
	s->n_conns--;
	server_maybe_done(s);
}

static void conn_close(conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	if (c->active)
		c->active->closed = true;
	if (c->test_mode)
		return;
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
	/* The socket is closed: nothing queued will be written. Free it now, not when
	 * the loop gets to cancel the writes, so that closing a client that stopped
	 * reading gives its memory back at once. */
	for (wreq *w = c->wreqs; w; w = w->next) {
		free(w->p);
		w->p = NULL;
	}
}

static void on_idle(uv_idle_t *h)
{
	http_server *s = h->data;
	conn *list = s->defer;
	s->defer = NULL;
	uv_idle_stop(&s->idle);
	while (list) {
		conn *c = list;
		list = c->defer_next;
		c->deferred = false;
		if (c->closing)
			continue;
		if (c->upgraded) {
			raw_deliver(c);
			http__conn_flush(c);
		} else {
			conn_process(c);
		}
		if (conn_backlog(c) < HTTP_BACKLOG_MAX / 2)
			conn_read_start(c);
	}
	/* on_close for exchanges registered after their connection was gone */
	while (s->xdefer) {
		http_exchange *x = s->xdefer;
		s->xdefer = x->xdefer_next;
		x->in_xdefer = false;
		if (!x->on_close_fired && x->on_close) {
			x->on_close_fired = true;
			x->on_close(x, x->on_close_data);
		}
	}
}

/* Calls x's on_close from the loop (on_idle), unless x completes first. */
void http__x_defer_close(http_exchange *x)
{
	if (x->on_close_fired || !x->on_close || x->in_xdefer)
		return;
	http_server *s = x->srv;
	x->in_xdefer = true;
	x->xdefer_next = s->xdefer;
	s->xdefer = x;
	uv_idle_start(&s->idle, on_idle);
}

/* At -v=3, one line per request when its answer is complete, as upstream's apiserver
 * logs them (a watch: when it ends). */
static void log_request(const http_exchange *x)
{
	const http_request *r = &x->req;
	const char *ua = http_request_header(r, "User-Agent");
	CK_V(3,
	     "\"HTTP\" verb=\"%s\" URI=\"%s\" latency=\"%.3fms\" userAgent=\"%s\" srcIP=\"%s\" "
	     "resp=%d",
	     r->method ? r->method : "", r->raw_path ? r->raw_path : "",
	     (double)(uv_hrtime() - x->start_ns) / 1e6, ua ? ua : "",
	     r->remote_addr ? r->remote_addr : "", x->status);
}

/* The handler is done with x (answered or upgraded). */
void http__x_complete(http_exchange *x, bool upgraded)
{
	http_server *s = x->srv;
	conn *c = x->conn;
	log_request(x);
	s->n_active--;
	if (!c || c->active != x) {
		http__x_free(x);
		server_maybe_done(s);
		return;
	}
	c->active = NULL;
	x->conn = NULL;
	if (!upgraded && (!x->keep_alive || x->tunnel_req || s->shutting_down))
		c->close_after_write = true;
	http__conn_recycle(c, x);
	if (c->test_mode || c->in_process)
		return; /* the processing loop continues and flushes */
	c->last_active = uv_now(s->loop);
	http__conn_flush(c);
	if (c->closing)
		return;
	if (conn_backlog(c))
		conn_defer(c);
	else
		conn_read_start(c);
}

void http_stream_abort(http_exchange *x)
{
	conn *c = x->conn;
	if (c && c->active == x)
		conn_close(c);
	http__x_complete(x, false);
}

/* ---- server ---- */

static void on_handle_closed(uv_handle_t *h)
{
	http_server *s = h->data;
	if (--s->handles_open > 0)
		return;
	void (*done)(void *) = s->done;
	void *done_data = s->done_data;
	tls_ctx_free(s->tls);
	free(s->rbuf);
	free(s->pbuf);
	free(s);
	if (done)
		done(done_data);
}

static void server_maybe_done(http_server *s)
{
	if (!s->shutting_down || !s->listener_closed || s->finishing || s->n_conns || s->n_active)
		return;
	s->finishing = true;
	s->handles_open = 2;
	uv_close((uv_handle_t *)&s->sweep, on_handle_closed);
	uv_close((uv_handle_t *)&s->idle, on_handle_closed);
}

static void on_sweep(uv_timer_t *t)
{
	http_server *s = t->data;
	uint64_t now = uv_now(s->loop);
	for (conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		if (c->closing)
			continue;
		if (c->lingering) {
			if (now - c->linger_start >= HTTP_LINGER_MS)
				conn_close(c);
			continue;
		}
		if (!c->active && !c->ready && !c->upgraded && !c->shut &&
		    now - c->last_active >= s->idle_ms)
			conn_close(c);
	}
}

static void format_remote(conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "";
	c->remote[0] = '\0';
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		uv_ip4_name(a, ip, sizeof(ip));
		snprintf(c->remote, sizeof(c->remote), "%s:%u", ip, (unsigned)ntohs(a->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		uv_ip6_name(a, ip, sizeof(ip));
		snprintf(c->remote, sizeof(c->remote), "[%s]:%u", ip,
		         (unsigned)ntohs(a->sin6_port));
	}
}

static void on_reject_closed(uv_handle_t *h)
{
	free(h);
}

static void on_connection(uv_stream_t *ls, int status)
{
	http_server *s = ls->data;
	if (status < 0)
		return;
	conn *c = ck_calloc(1, sizeof(*c));
	uv_tcp_init(s->loop, &c->tcp);
	c->tcp.data = c;
	c->srv = s;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0 || s->shutting_down) {
		uv_close((uv_handle_t *)&c->tcp, on_reject_closed);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	format_remote(c);
	http_parser_init(&c->hp, HTTP_REQUEST);
	c->hp.data = c;
	if (s->tls)
		c->tls = tls_session_new(s->tls);
	CK_LIST_PREPEND(s->conns, c);
	s->n_conns++;
	c->last_active = uv_now(s->loop);
	conn_read_start(c);
}

static void on_listener_closed(uv_handle_t *h)
{
	http_server *s = h->data;
	s->listener_closed = true;
	server_maybe_done(s);
}

static void on_failed_listener_closed(uv_handle_t *h)
{
	http_server *s = h->data;
	tls_ctx_free(s->tls);
	free(s);
}

static void ignore_sigpipe(void)
{
	struct sigaction old;
	if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, NULL);
	}
}

static void raise_parser_limit(size_t max_header)
{
	/* http-parser's own limit is process-wide; ours is per server and checked in the
	 * callbacks, so keep the global one above it (it still catches whitespace floods). */
	static size_t current = 80 * 1024;
	size_t want = max_header * 2 + 1024;
	if (want > UINT32_MAX)
		want = UINT32_MAX;
	if (want > current) {
		current = want;
		http_parser_set_max_header_size((uint32_t)want);
	}
}

int http_server_new(uv_loop_t *loop, const http_server_opts *opts, http_handler_fn handler,
                    void *data, http_server **out, ck_err **err)
{
	const char *bind =
	    opts->bind_address && *opts->bind_address ? opts->bind_address : "127.0.0.1";
	struct sockaddr_storage ss;
	int r;
	if (strchr(bind, ':'))
		r = uv_ip6_addr(bind, opts->port, (struct sockaddr_in6 *)&ss);
	else
		r = uv_ip4_addr(bind, opts->port, (struct sockaddr_in *)&ss);
	if (r < 0)
		return ck_err_set(err, -EINVAL, "invalid bind address %s", bind);
	if (opts->port < 0 || opts->port > 65535)
		return ck_err_set(err, -EINVAL, "invalid port %d", opts->port);

	http_server *s = ck_calloc(1, sizeof(*s));
	s->loop = loop;
	s->handler = handler;
	s->data = data;
	s->max_body = opts->max_body ? opts->max_body : HTTP_DEFAULT_BODY;
	s->max_header = opts->max_header ? opts->max_header : HTTP_DEFAULT_HEAD;
	s->idle_ms =
	    opts->idle_timeout_ms > 0 ? (uint64_t)opts->idle_timeout_ms : HTTP_DEFAULT_IDLE;
	raise_parser_limit(s->max_header);
	if (opts->tls_cert_file && *opts->tls_cert_file && opts->tls_key_file &&
	    *opts->tls_key_file) {
		r = tls_server_ctx_new(opts->tls_cert_file, opts->tls_key_file,
		                       opts->client_ca_file, &s->tls, err);
		if (r < 0) {
			free(s);
			return r;
		}
	}
	uv_tcp_init(loop, &s->listener);
	s->listener.data = s;
	r = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0);
	if (r >= 0)
		r = uv_listen((uv_stream_t *)&s->listener, 4096, on_connection);
	if (r < 0) {
		ck_err_set(err, r, "listen on %s:%d: %s", bind, opts->port, uv_strerror(r));
		uv_close((uv_handle_t *)&s->listener, on_failed_listener_closed);
		return r;
	}
	struct sockaddr_storage bound;
	int blen = sizeof(bound);
	uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &blen);
	s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
	                                            : ((struct sockaddr_in *)&bound)->sin_port);
	s->rbuf = ck_malloc(HTTP_READ_BUF);
	s->pbuf = ck_malloc(HTTP_READ_BUF);
	uv_timer_init(loop, &s->sweep);
	s->sweep.data = s;
	uint64_t every = s->idle_ms / 4;
	if (every > 1000)
		every = 1000;
	if (every < 10)
		every = 10;
	uv_timer_start(&s->sweep, on_sweep, every, every);
	uv_idle_init(loop, &s->idle);
	s->idle.data = s;
	ignore_sigpipe();
	*out = s;
	return 0;
}

int http_server_port(const http_server *s)
{
	return s->port;
}

void http_server_shutdown(http_server *s, void (*done)(void *data), void *data)
{
	if (s->shutting_down)
		return;
	s->shutting_down = true;
	s->done = done;
	s->done_data = data;
	uv_close((uv_handle_t *)&s->listener, on_listener_closed);
	for (conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		if (c->closing)
			continue;
		if (c->upgraded || c->lingering) {
			conn_close(c);
			continue;
		}
		http_exchange *x = c->active;
		if (!x) {
			if (c->shut)
				continue;
			if (c->writes || c->out.len) {
				c->close_after_write = true;
				http__conn_flush(c);
			} else {
				conn_close(c);
			}
			continue;
		}
		c->close_after_write = true;
		if (x->streaming) {
			/* a watch: tell its owner to end it */
			x->closed = true;
			http__x_defer_close(x);
		}
	}
}

/* ---- fuzzing / unit entry point ---- */

static void test_handler(http_exchange *x, void *data)
{
	int *n = data;
	(*n)++;
	const http_request *r = http_exchange_request(x);
	char *v = http_request_query(r, "a");
	free(v);
	http_exchange_add_header(x, "X-Test", "1");
	http_respond(x, 200, "text/plain", r->body, r->body_len);
}

int http_parse_for_test(const void *data, size_t len, size_t max_header, size_t max_body,
                        int *n_requests)
{
	int n = 0;
	http_server s;
	memset(&s, 0, sizeof(s));
	s.handler = test_handler;
	s.data = &n;
	s.max_header = max_header ? max_header : HTTP_DEFAULT_HEAD;
	s.max_body = max_body ? max_body : HTTP_DEFAULT_BODY;
	raise_parser_limit(s.max_header);
	conn *c = ck_calloc(1, sizeof(*c));
	c->srv = &s;
	c->test_mode = true;
	snprintf(c->remote, sizeof(c->remote), "127.0.0.1:1");
	http_parser_init(&c->hp, HTTP_REQUEST);
	c->hp.data = c;
	/* two reads, so that a callback's data split across reads is exercised too */
	size_t half = len / 2;
	conn_feed(c, data, half);
	conn_feed(c, (const char *)data + half, len - half);
	int status = c->err_sent > 0 ? c->err_sent : 0;
	if (c->active) /* cannot happen: the test handler answers at once */
		http__x_free(c->active);
	conn_free(c);
	if (n_requests)
		*n_requests = n;
	return status;
}
