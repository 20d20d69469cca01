/* http_response: what handlers send back. Response heads (status line, Date, the
 * handler's headers, framing), complete bodies, chunked streams and 101 upgrades are
 * appended to the connection's output buffer, which http_server.c hands to the socket. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "net/http_internal.h"

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

const char *http__reason(int status)
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

/* ---- exchange API ---- */

bool http_exchange_closed(const http_exchange *x)
{
	return x->closed || !x->conn || x->conn->closing;
}

void http_exchange_on_close(http_exchange *x, void (*cb)(http_exchange *x, void *data), void *data)
{
	x->on_close = cb;
	x->on_close_data = data;
	if (!x->conn || x->closed)
		http__x_defer_close(x); /* already gone: tell the owner from the loop */
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
	const char *reason = http__reason(status);
	x->status = status;
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
	http__x_complete(x, false);
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
		http__conn_flush(c);
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
		http__conn_flush(c);
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
	http__x_complete(x, false);
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
			http__x_complete(x, false);
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
	http__x_complete(x, true); /* flushes the 101 and hands over buffered bytes */
	return &c->raw;
}

int http_raw_write(http_raw *r, const void *data, size_t len)
{
	conn *c = r->c;
	if (c->closing || c->shut)
		return -EPIPE;
	hbuf_add(&c->out, data, len);
	if (!c->in_process)
		http__conn_flush(c);
	return c->closing ? -EPIPE : 0;
}

void http_raw_close(http_raw *r)
{
	conn *c = r->c;
	if (c->closing || c->close_after_write)
		return;
	c->close_after_write = true;
	if (!c->in_process)
		http__conn_flush(c);
}
