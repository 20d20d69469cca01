/* http_server: one connection = one `conn`; one request = one `http_exchange`.
 *
 * Input is parsed straight from a server-wide read buffer; only bytes that cannot be
 * parsed yet (a pipelined request while another is in flight) are copied into the
 * connection. The parser is paused after each request until its exchange completes, so
 * pipelined responses leave in order. Output is appended to one per-connection buffer
 * and handed to the socket with uv_try_write (no allocation when the kernel takes it
 * all) or, for what is left, one uv_write that takes the buffer over. Exchanges and
 * their buffers are recycled per connection, so a keep-alive GET allocates nothing. */
#include "net/http_server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <http_parser.h>

#include "net/tls.h"

#define HTTP_READ_BUF     (64 * 1024)
#define HTTP_BACKLOG_MAX  (256 * 1024) /* unparsed input kept before reading stops */
#define HTTP_KEEP_CAP     (16 * 1024)  /* buffer capacity kept for reuse */
#define HTTP_LINGER_MS    2000         /* reading after our FIN, so that no RST eats the answer */
#define HTTP_DEFAULT_BODY (3u * 1024 * 1024)
#define HTTP_DEFAULT_HEAD (64u * 1024)
#define HTTP_DEFAULT_IDLE 90000

#define HTTP_STATUSES(X)                                                                           \
	X(100, "Continue")                                                                         \
	X(101, "Switching Protocols")                                                              \
	X(200, "OK")                                                                               \
	X(201, "Created")                                                                          \
	X(202, "Accepted")                                                                         \
	X(204, "No Content")                                                                       \
	X(206, "Partial Content")                                                                  \
	X(301, "Moved Permanently")                                                                \
	X(302, "Found")                                                                            \
	X(304, "Not Modified")                                                                     \
	X(307, "Temporary Redirect")                                                               \
	X(400, "Bad Request")                                                                      \
	X(401, "Unauthorized")                                                                     \
	X(403, "Forbidden")                                                                        \
	X(404, "Not Found")                                                                        \
	X(405, "Method Not Allowed")                                                               \
	X(406, "Not Acceptable")                                                                   \
	X(408, "Request Timeout")                                                                  \
	X(409, "Conflict")                                                                         \
	X(410, "Gone")                                                                             \
	X(411, "Length Required")                                                                  \
	X(412, "Precondition Failed")                                                              \
	X(413, "Request Entity Too Large")                                                         \
	X(415, "Unsupported Media Type")                                                           \
	X(417, "Expectation Failed")                                                               \
	X(422, "Unprocessable Entity")                                                             \
	X(429, "Too Many Requests")                                                                \
	X(431, "Request Header Fields Too Large")                                                  \
	X(500, "Internal Server Error")                                                            \
	X(501, "Not Implemented")                                                                  \
	X(502, "Bad Gateway")                                                                      \
	X(503, "Service Unavailable")                                                              \
	X(504, "Gateway Timeout")

static const char *http_reason(int status)
{
	switch (status) {
#define HTTP_X(code, text)                                                                         \
	case code:                                                                                 \
		return text;
		HTTP_STATUSES(HTTP_X)
#undef HTTP_X
	default:
		return "Unknown";
	}
}

/* ---- growable byte buffer (internal) ---- */

typedef struct hbuf {
	char *p;
	size_t len, cap;
} hbuf;

static void hbuf_reserve(hbuf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return;
	size_t n = b->cap ? b->cap : 512;
	while (n < b->len + extra)
		n *= 2;
	b->p = ck_realloc(b->p, n);
	b->cap = n;
}

static void hbuf_add(hbuf *b, const void *d, size_t n)
{
	if (!n)
		return;
	hbuf_reserve(b, n);
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void hbuf_adds(hbuf *b, const char *s)
{
	hbuf_add(b, s, strlen(s));
}

static void hbuf_addc(hbuf *b, char c)
{
	hbuf_reserve(b, 1);
	b->p[b->len++] = c;
}

static void hbuf_add_u(hbuf *b, unsigned long long v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	hbuf_add(b, tmp + i, sizeof(tmp) - i);
}

static void hbuf_add_hex(hbuf *b, size_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[24];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = digits[v & 15];
		v >>= 4;
	} while (v);
	hbuf_add(b, tmp + i, sizeof(tmp) - i);
}

/* Drops the contents; keeps the memory unless it grew past what is worth keeping. */
static void hbuf_clear(hbuf *b)
{
	b->len = 0;
	if (b->cap > HTTP_KEEP_CAP) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
}

static void hbuf_free(hbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- types ---- */

typedef struct conn conn;

struct http_raw {
	conn *c;
	http_raw_cbs cbs;
	void *user;
};

struct http_exchange {
	http_server *srv;
	conn *conn; /* NULL once the connection is gone */
	http_request req;
	hbuf head;     /* url\0 name\0 value\0 ... path\0 query\0 remote\0 cn\0 groups\0... */
	size_t *hoffs; /* name/value offsets into head */
	size_t n_hoffs, cap_hoffs;
	http_header *hdrs;
	size_t cap_hdrs;
	const char **groups;
	size_t cap_groups;
	hbuf body;
	hbuf resp_hdrs; /* "Name: value\r\n" lines added by the handler */
	size_t header_bytes;
	int hstate; /* 0: in the url, 1: in a header name, 2: in a header value */
	bool headers_done, keep_alive, head_method, http10, tunnel_req, has_conn_hdr;
	bool streaming, closed, on_close_fired, in_xdefer;
	void (*on_close)(http_exchange *x, void *data);
	void *on_close_data;
	http_exchange *xdefer_next;
};

struct conn {
	uv_tcp_t tcp; /* tcp.data = this */
	uv_shutdown_t shutdown_req;
	http_server *srv;
	conn *prev, *next; /* server's list */
	conn *defer_next;  /* server's deferred-work list */
	http_parser hp;
	tls_session *tls;
	http_exchange *parsing; /* request being parsed */
	http_exchange *ready;   /* parsed, not yet handed to the handler */
	http_exchange *active;  /* with the handler */
	http_exchange *spare;   /* recycled */
	hbuf in;                /* unparsed input (plaintext) */
	size_t in_off;
	const char *ext; /* input being parsed in place (server read buffer) */
	size_t ext_len, ext_off;
	hbuf out;  /* plaintext not yet handed to the socket */
	hbuf tout; /* TLS: ciphertext being handed over */
	unsigned writes;
	uint64_t last_active, linger_start;
	int err_sent;
	char remote[64];
	char *peer_cn;
	char **peer_groups;
	http_raw raw;
	bool test_mode, in_process, reading, closing, close_after_write, shut, lingering;
	bool upgraded, deferred, peer_checked;
};

struct http_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	uv_timer_t sweep;
	uv_idle_t idle;
	http_handler_fn handler;
	void *data;
	tls_ctx *tls;
	size_t max_body, max_header;
	uint64_t idle_ms;
	int port;
	conn *conns;
	size_t n_conns;
	size_t n_active; /* exchanges with the handler */
	conn *defer;
	http_exchange *xdefer;
	bool shutting_down, listener_closed, finishing;
	int handles_open;
	void (*done)(void *data);
	void *done_data;
	time_t date_time;
	char date[40];
	char *rbuf; /* socket reads */
	char *pbuf; /* TLS plaintext */
};

typedef struct wreq {
	uv_write_t req;
	char *p;
} wreq;

static void conn_process(conn *c);
static void conn_flush(conn *c);
static void conn_close(conn *c);
static void server_maybe_done(http_server *s);
static void conn_read_start(conn *c);

/* ---- exchanges ---- */

static http_exchange *x_new(http_server *s)
{
	http_exchange *x = ck_calloc(1, sizeof(*x));
	x->srv = s;
	return x;
}

static void x_reset(http_exchange *x)
{
	hbuf_clear(&x->head);
	hbuf_clear(&x->body);
	hbuf_clear(&x->resp_hdrs);
	memset(&x->req, 0, sizeof(x->req));
	x->n_hoffs = 0;
	x->header_bytes = 0;
	x->hstate = 0;
	x->headers_done = x->keep_alive = x->head_method = x->http10 = false;
	x->tunnel_req = x->has_conn_hdr = x->streaming = x->closed = false;
	x->on_close_fired = false;
	x->on_close = NULL;
	x->on_close_data = NULL;
	x->conn = NULL;
}

static void x_xdefer_unlink(http_exchange *x)
{
	if (!x->in_xdefer)
		return;
	for (http_exchange **pp = &x->srv->xdefer; *pp; pp = &(*pp)->xdefer_next) {
		if (*pp == x) {
			*pp = x->xdefer_next;
			break;
		}
	}
	x->in_xdefer = false;
}

static void x_free(http_exchange *x)
{
	if (!x)
		return;
	x_xdefer_unlink(x);
	hbuf_free(&x->head);
	hbuf_free(&x->body);
	hbuf_free(&x->resp_hdrs);
	free(x->hoffs);
	free(x->hdrs);
	free(x->groups);
	free(x);
}

/* Keeps one exchange per connection for the next request. */
static void conn_recycle(conn *c, http_exchange *x)
{
	if (!c->spare && x->head.cap <= HTTP_KEEP_CAP && x->body.cap <= HTTP_KEEP_CAP) {
		x_xdefer_unlink(x);
		c->spare = x;
		return;
	}
	x_free(x);
}

/* ---- parser callbacks ---- */

static int parse_fail(conn *c, int status)
{
	if (!c->err_sent)
		c->err_sent = -status; /* marks the cause; conn_error sends it */
	return -1;
}

static int head_count(conn *c, http_exchange *x, size_t n)
{
	x->header_bytes += n;
	if (x->header_bytes > c->srv->max_header)
		return parse_fail(c, 431);
	return 0;
}

static void hoff_push(http_exchange *x, size_t off)
{
	if (x->n_hoffs == x->cap_hoffs) {
		x->cap_hoffs = x->cap_hoffs ? x->cap_hoffs * 2 : 32;
		x->hoffs = ck_realloc(x->hoffs, x->cap_hoffs * sizeof(*x->hoffs));
	}
	x->hoffs[x->n_hoffs++] = off;
}

static int on_message_begin(http_parser *p)
{
	conn *c = p->data;
	http_exchange *x = c->spare ? c->spare : x_new(c->srv);
	c->spare = NULL;
	x_reset(x);
	x->srv = c->srv;
	c->parsing = x;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	conn *c = p->data;
	http_exchange *x = c->parsing;
	if (head_count(c, x, len))
		return -1;
	hbuf_add(&x->head, at, len);
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	conn *c = p->data;
	http_exchange *x = c->parsing;
	if (head_count(c, x, len + (x->hstate != 1 ? 4 : 0)))
		return -1;
	if (x->headers_done) /* trailers: counted, not kept */
		return 0;
	if (x->hstate != 1) {
		hbuf_addc(&x->head, '\0'); /* ends the url or the previous value */
		hoff_push(x, x->head.len);
		x->hstate = 1;
	}
	hbuf_add(&x->head, at, len);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	conn *c = p->data;
	http_exchange *x = c->parsing;
	if (head_count(c, x, len))
		return -1;
	if (x->headers_done)
		return 0;
	if (x->hstate != 2) {
		hbuf_addc(&x->head, '\0'); /* ends the name */
		hoff_push(x, x->head.len);
		x->hstate = 2;
	}
	hbuf_add(&x->head, at, len);
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Appends s[0..n) percent-decoded (and '+' as space when plus) plus a NUL. */
static void add_decoded(hbuf *b, const char *s, size_t n, bool plus)
{
	hbuf_reserve(b, n + 1);
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
		    (lo = hexval(s[i + 2])) >= 0) {
			b->p[b->len++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (plus && s[i] == '+') {
			b->p[b->len++] = ' ';
		} else {
			b->p[b->len++] = s[i];
		}
	}
	b->p[b->len++] = '\0';
}

static int on_headers_complete(http_parser *p)
{
	conn *c = p->data;
	http_server *s = c->srv;
	http_exchange *x = c->parsing;
	if (x->hstate == 1) { /* a name without a value callback */
		hbuf_addc(&x->head, '\0');
		hoff_push(x, x->head.len);
	}
	hbuf_addc(&x->head, '\0'); /* ends the url or the last value */
	x->headers_done = true;
	size_t n_headers = x->n_hoffs / 2;

	/* Request target: origin form "/p?q#f"; absolute form "http://h/p?q" keeps its path. */
	size_t url_len = strlen(x->head.p);
	const char *url = x->head.p;
	size_t start = 0;
	if (url_len && url[0] != '/' && url[0] != '*') {
		const char *scheme = strstr(url, "://");
		if (scheme) {
			const char *slash = strchr(scheme + 3, '/');
			start = slash ? (size_t)(slash - url) : url_len;
		}
	}
	size_t q = start, end = url_len;
	while (q < url_len && url[q] != '?' && url[q] != '#')
		q++;
	for (size_t i = q; i < url_len; i++) {
		if (url[i] == '#') {
			end = i;
			break;
		}
	}
	size_t path_off = x->head.len;
	if (q == start) {
		hbuf_add(&x->head, "/", 2);
	} else {
		/* url points into head, which may move: decode from a copy of the offsets */
		hbuf_reserve(&x->head, (q - start) + 1);
		add_decoded(&x->head, x->head.p + start, q - start, false);
	}
	size_t query_off = x->head.len;
	size_t qlen = q < end && x->head.p[q] == '?' ? end - q - 1 : 0;
	hbuf_reserve(&x->head, qlen + 1); /* the source lives in the same buffer */
	memcpy(x->head.p + x->head.len, x->head.p + q + 1, qlen);
	x->head.len += qlen;
	hbuf_addc(&x->head, '\0');
	size_t remote_off = x->head.len;
	hbuf_add(&x->head, c->remote, strlen(c->remote) + 1);
	size_t cn_off = 0, n_groups = 0, groups_off = 0;
	if (c->peer_cn) {
		cn_off = x->head.len;
		hbuf_add(&x->head, c->peer_cn, strlen(c->peer_cn) + 1);
	}
	if (c->peer_groups) {
		groups_off = x->head.len;
		for (char **g = c->peer_groups; *g; g++, n_groups++)
			hbuf_add(&x->head, *g, strlen(*g) + 1);
	}

	/* head is final: point into it */
	if (x->cap_hdrs < n_headers) {
		x->cap_hdrs = n_headers;
		x->hdrs = ck_realloc(x->hdrs, n_headers * sizeof(*x->hdrs));
	}
	for (size_t i = 0; i < n_headers; i++) {
		x->hdrs[i].name = x->head.p + x->hoffs[2 * i];
		x->hdrs[i].value = x->head.p + x->hoffs[2 * i + 1];
	}
	http_request *r = &x->req;
	r->method = http_method_str((enum http_method)p->method);
	r->raw_path = x->head.p;
	r->path = x->head.p + path_off;
	r->query = x->head.p + query_off;
	r->headers = x->hdrs;
	r->n_headers = n_headers;
	r->tls = c->tls != NULL;
	r->remote_addr = x->head.p + remote_off;
	r->client_cn = c->peer_cn ? x->head.p + cn_off : NULL;
	if (n_groups) {
		if (x->cap_groups < n_groups + 1) {
			x->cap_groups = n_groups + 1;
			x->groups = ck_realloc(x->groups, x->cap_groups * sizeof(*x->groups));
		}
		const char *g = x->head.p + groups_off;
		for (size_t i = 0; i < n_groups; i++) {
			x->groups[i] = g;
			g += strlen(g) + 1;
		}
		x->groups[n_groups] = NULL;
		r->client_groups = x->groups;
	}
	r->body = "";
	x->head_method = p->method == HTTP_HEAD;
	x->http10 = p->http_major == 1 && p->http_minor == 0;

	bool chunked = (p->flags & F_CHUNKED) != 0;
	bool has_len = p->content_length > 0 && p->content_length != UINT64_MAX;
	if (has_len && p->content_length > s->max_body)
		return parse_fail(c, 413);
	if (has_len && !chunked)
		hbuf_reserve(&x->body, (size_t)p->content_length + 1);
	if ((has_len || chunked) && !x->http10 && p->http_major == 1) {
		const char *expect = http_request_header(r, "Expect");
		if (expect && strcasecmp(expect, "100-continue") == 0)
			hbuf_adds(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	conn *c = p->data;
	http_exchange *x = c->parsing;
	if (x->body.len + len > c->srv->max_body)
		return parse_fail(c, 413);
	hbuf_add(&x->body, at, len);
	return 0;
}

static int on_message_complete(http_parser *p)
{
	conn *c = p->data;
	http_exchange *x = c->parsing;
	x->keep_alive = http_should_keep_alive(p) != 0;
	/* An Upgrade the handler declines is answered and the connection goes on (the
	 * client waits for a 101 before switching); a CONNECT's bytes are a tunnel. */
	x->tunnel_req = p->upgrade && p->method == HTTP_CONNECT;
	hbuf_reserve(&x->body, 1);
	x->body.p[x->body.len] = '\0';
	x->req.body = x->body.p;
	x->req.body_len = x->body.len;
	c->parsing = NULL;
	c->ready = x;
	/* one request at a time: the rest waits until this one is answered */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- output ---- */

static void on_write(uv_write_t *req, int status)
{
	wreq *w = (wreq *)req;
	conn *c = req->handle->data;
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
	int r = uv_write(&w->req, st, &ub, 1, on_write);
	if (r < 0) {
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

static void conn_flush(conn *c)
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
		conn_recycle(c, c->parsing);
		c->parsing = NULL;
	}
	c->err_sent = status;
	const char *reason = http_reason(status);
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
		size_t used = http_parser_execute(&c->hp, &parser_settings, p, n);
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
	conn_flush(c);
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
	x_free(c->parsing);
	x_free(c->ready);
	x_free(c->spare);
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
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
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
			conn_flush(c);
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
static void x_defer_close(http_exchange *x)
{
	if (x->on_close_fired || !x->on_close || x->in_xdefer)
		return;
	http_server *s = x->srv;
	x->in_xdefer = true;
	x->xdefer_next = s->xdefer;
	s->xdefer = x;
	uv_idle_start(&s->idle, on_idle);
}

/* The handler is done with x (answered or upgraded). */
static void x_complete(http_exchange *x, bool upgraded)
{
	http_server *s = x->srv;
	conn *c = x->conn;
	s->n_active--;
	if (!c || c->active != x) {
		x_free(x);
		server_maybe_done(s);
		return;
	}
	c->active = NULL;
	x->conn = NULL;
	if (!upgraded && (!x->keep_alive || x->tunnel_req || s->shutting_down))
		c->close_after_write = true;
	conn_recycle(c, x);
	if (c->test_mode || c->in_process)
		return; /* the processing loop continues and flushes */
	c->last_active = uv_now(s->loop);
	conn_flush(c);
	if (c->closing)
		return;
	if (conn_backlog(c))
		conn_defer(c);
	else
		conn_read_start(c);
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
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
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
				conn_flush(c);
			} else {
				conn_close(c);
			}
			continue;
		}
		c->close_after_write = true;
		if (x->streaming) {
			/* a watch: tell its owner to end it */
			x->closed = true;
			x_defer_close(x);
		}
	}
}

/* ---- exchange API ---- */

const http_request *http_exchange_request(const http_exchange *x)
{
	return &x->req;
}

const char *http_request_header(const http_request *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++) {
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	}
	return NULL;
}

char *http_request_query(const http_request *r, const char *name)
{
	size_t nlen = strlen(name);
	const char *q = r->query ? r->query : "";
	while (*q) {
		const char *amp = strchr(q, '&');
		size_t plen = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', plen);
		size_t klen = eq ? (size_t)(eq - q) : plen;
		hbuf key = {0};
		add_decoded(&key, q, klen, true);
		bool match = key.len - 1 == nlen && memcmp(key.p, name, nlen) == 0;
		hbuf_free(&key);
		if (match) {
			hbuf val = {0};
			if (eq)
				add_decoded(&val, eq + 1, plen - klen - 1, true);
			else
				hbuf_addc(&val, '\0');
			return val.p;
		}
		q += plen;
		if (*q == '&')
			q++;
	}
	return NULL;
}

bool http_exchange_closed(const http_exchange *x)
{
	return x->closed || !x->conn || x->conn->closing;
}

void http_exchange_on_close(http_exchange *x, void (*cb)(http_exchange *x, void *data), void *data)
{
	x->on_close = cb;
	x->on_close_data = data;
	if (!x->conn || x->closed)
		x_defer_close(x); /* already gone: tell the owner from the loop */
}

/* Appends s with CR and LF made spaces: a header value never splits the head. */
static void add_header_text(hbuf *b, const char *s)
{
	size_t start = b->len;
	hbuf_adds(b, s);
	for (size_t i = start; i < b->len; i++) {
		if (b->p[i] == '\r' || b->p[i] == '\n')
			b->p[i] = ' ';
	}
}

void http_exchange_add_header(http_exchange *x, const char *name, const char *value)
{
	if (strcasecmp(name, "Connection") == 0)
		x->has_conn_hdr = true;
	add_header_text(&x->resp_hdrs, name);
	hbuf_add(&x->resp_hdrs, ": ", 2);
	add_header_text(&x->resp_hdrs, value ? value : "");
	hbuf_add(&x->resp_hdrs, "\r\n", 2);
}

static const char *server_date(http_server *s)
{
	time_t now = time(NULL);
	if (now != s->date_time) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(s->date, sizeof(s->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		s->date_time = now;
	}
	return s->date;
}

/* Status line and common headers; the caller adds framing and the blank line. */
static void put_head(conn *c, http_exchange *x, int status, const char *ctype)
{
	hbuf *o = &c->out;
	const char *reason = http_reason(status);
	hbuf_reserve(o, 128 + x->resp_hdrs.len);
	hbuf_add(o, "HTTP/1.1 ", 9);
	hbuf_add_u(o, (unsigned)status);
	hbuf_addc(o, ' ');
	hbuf_adds(o, reason);
	hbuf_add(o, "\r\nDate: ", 8);
	hbuf_adds(o, c->test_mode ? "" : server_date(c->srv));
	hbuf_add(o, "\r\n", 2);
	if (ctype && *ctype) {
		hbuf_add(o, "Content-Type: ", 14);
		add_header_text(o, ctype);
		hbuf_add(o, "\r\n", 2);
	}
	hbuf_add(o, x->resp_hdrs.p, x->resp_hdrs.len);
	bool close = !x->keep_alive || x->tunnel_req || c->srv->shutting_down;
	if (close && !x->has_conn_hdr)
		hbuf_add(o, "Connection: close\r\n", 19);
	else if (x->http10 && !x->has_conn_hdr)
		hbuf_add(o, "Connection: keep-alive\r\n", 24);
}

static conn *x_live_conn(http_exchange *x)
{
	conn *c = x->conn;
	if (!c || c->closing || c->active != x)
		return NULL;
	return c;
}

void http_respond(http_exchange *x, int status, const char *content_type, const char *body,
                  size_t len)
{
	conn *c = x_live_conn(x);
	if (c && !x->streaming) {
		bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
		put_head(c, x, status, content_type);
		if (!no_body) {
			hbuf_add(&c->out, "Content-Length: ", 16);
			hbuf_add_u(&c->out, len);
			hbuf_add(&c->out, "\r\n", 2);
		}
		hbuf_add(&c->out, "\r\n", 2);
		if (!no_body && !x->head_method)
			hbuf_add(&c->out, body, len);
	}
	x_complete(x, false);
}

void http_stream_begin(http_exchange *x, int status, const char *content_type)
{
	conn *c = x_live_conn(x);
	if (x->streaming)
		return;
	x->streaming = true;
	if (!c)
		return;
	if (x->http10)
		x->keep_alive = false; /* no chunked framing: the end of the body is our FIN */
	put_head(c, x, status, content_type);
	if (!x->http10)
		hbuf_add(&c->out, "Transfer-Encoding: chunked\r\n", 28);
	hbuf_add(&c->out, "\r\n", 2);
	if (!c->in_process)
		conn_flush(c);
}

int http_stream_write(http_exchange *x, const void *data, size_t len)
{
	conn *c = x_live_conn(x);
	if (!c || x->closed || c->shut)
		return -EPIPE;
	if (!len)
		return 0;
	if (x->head_method)
		return 0;
	if (!x->http10) {
		hbuf_add_hex(&c->out, len);
		hbuf_add(&c->out, "\r\n", 2);
	}
	hbuf_add(&c->out, data, len);
	if (!x->http10)
		hbuf_add(&c->out, "\r\n", 2);
	if (!c->in_process)
		conn_flush(c);
	return c->closing ? -EPIPE : 0;
}

size_t http_stream_pending(const http_exchange *x)
{
	const conn *c = x->conn;
	if (!c || c->closing)
		return 0;
	return c->out.len + c->tout.len + uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
}

void http_stream_end(http_exchange *x)
{
	conn *c = x_live_conn(x);
	if (c && x->streaming && !x->http10 && !x->head_method)
		hbuf_add(&c->out, "0\r\n\r\n", 5);
	x_complete(x, false);
}

/* ---- upgrade ---- */

static void raw_drop(http_raw *r, const void *data, size_t len, void *user)
{
}

http_raw *http_upgrade(http_exchange *x, const http_raw_cbs *cbs, void *user)
{
	conn *c = x_live_conn(x);
	if (!c || x->streaming || c->test_mode) {
		x->keep_alive = false;
		if (c && !x->streaming)
			http_respond(x, 400, "text/plain", "upgrade failed\n", 15);
		else
			x_complete(x, false);
		return NULL;
	}
	hbuf *o = &c->out;
	hbuf_adds(o, "HTTP/1.1 101 Switching Protocols\r\n");
	hbuf_add(o, x->resp_hdrs.p, x->resp_hdrs.len);
	if (!x->has_conn_hdr)
		hbuf_adds(o, "Connection: Upgrade\r\n");
	hbuf_add(o, "\r\n", 2);
	c->upgraded = true;
	c->raw.c = c;
	c->raw.cbs = *cbs;
	if (!c->raw.cbs.on_read)
		c->raw.cbs.on_read = raw_drop;
	c->raw.user = user;
	x_complete(x, true); /* flushes the 101 and hands over buffered bytes */
	return &c->raw;
}

int http_raw_write(http_raw *r, const void *data, size_t len)
{
	conn *c = r->c;
	if (c->closing || c->shut)
		return -EPIPE;
	hbuf_add(&c->out, data, len);
	if (!c->in_process)
		conn_flush(c);
	return c->closing ? -EPIPE : 0;
}

void http_raw_close(http_raw *r)
{
	conn *c = r->c;
	if (c->closing || c->close_after_write)
		return;
	c->close_after_write = true;
	if (!c->in_process)
		conn_flush(c);
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
		x_free(c->active);
	conn_free(c);
	if (n_requests)
		*n_requests = n;
	return status;
}
