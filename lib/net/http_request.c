/* http_request: exchange objects (recycled per connection), the http-parser callbacks
 * that fill in a request from the bytes a connection reads, and the request accessors.
 * See http_server.c for how connections drive the parser. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/http_internal.h"

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

void http__x_free(http_exchange *x)
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
void http__conn_recycle(conn *c, http_exchange *x)
{
	if (!c->spare && x->head.cap <= HTTP_KEEP_CAP && x->body.cap <= HTTP_KEEP_CAP) {
		x_xdefer_unlink(x);
		c->spare = x;
		return;
	}
	http__x_free(x);
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

/* A piece of a header name (state 1) or value (state 2). The first piece of each ends
 * what came before with a NUL and records where it starts; a new header line also counts
 * 4 bytes towards the limit (": " and CRLF). Trailers are counted, not kept. */
static int on_header_piece(http_parser *p, const char *at, size_t len, int state)
{
	conn *c = p->data;
	http_exchange *x = c->parsing;
	if (head_count(c, x, len + (state == 1 && x->hstate != 1 ? 4 : 0)))
		return -1;
	if (x->headers_done)
		return 0;
	if (x->hstate != state) {
		hbuf_addc(&x->head, '\0');
		hoff_push(x, x->head.len);
		x->hstate = state;
	}
	hbuf_add(&x->head, at, len);
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	return on_header_piece(p, at, len, 1);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	return on_header_piece(p, at, len, 2);
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
	r->tls_resumed = c->tls && tls_session_resumed(c->tls);
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

const http_parser_settings http__parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

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
