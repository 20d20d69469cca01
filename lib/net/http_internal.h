/* http_internal: what the parts of the HTTP server share (not a public header).
 *
 *   http_server.c    connections (socket input and output, TLS, lifecycle) and the server
 *   http_request.c   exchange objects, the http-parser callbacks that fill in a request,
 *                    and the request accessors
 *   http_response.c  response heads, bodies, streams and upgrades
 *
 * Names shared between these files carry the prefix http__. */
#ifndef CK_NET_HTTP_INTERNAL_H
#define CK_NET_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <http_parser.h>

#include "net/http_server.h"
#include "net/tls.h"

#define HTTP_READ_BUF     (64 * 1024)
#define HTTP_BACKLOG_MAX  (256 * 1024) /* unparsed input kept before reading stops */
#define HTTP_KEEP_CAP     (16 * 1024)  /* buffer capacity kept for reuse */
#define HTTP_LINGER_MS    2000         /* reading after our FIN, so that no RST eats the answer */
#define HTTP_DEFAULT_BODY (3u * 1024 * 1024)
#define HTTP_DEFAULT_HEAD (64u * 1024)
#define HTTP_DEFAULT_IDLE 90000

/* ---- growable byte buffer (internal) ---- */

typedef struct hbuf {
	char *p;
	size_t len, cap;
} hbuf;

static inline void hbuf_reserve(hbuf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return;
	size_t n = b->cap ? b->cap : 512;
	while (n < b->len + extra)
		n *= 2;
	b->p = ck_realloc(b->p, n);
	b->cap = n;
}

static inline void hbuf_add(hbuf *b, const void *d, size_t n)
{
	if (!n)
		return;
	hbuf_reserve(b, n);
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static inline void hbuf_adds(hbuf *b, const char *s)
{
	hbuf_add(b, s, strlen(s));
}

static inline void hbuf_addc(hbuf *b, char c)
{
	hbuf_reserve(b, 1);
	b->p[b->len++] = c;
}

static inline void hbuf_add_u(hbuf *b, unsigned long long v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	hbuf_add(b, tmp + i, sizeof(tmp) - i);
}

static inline void hbuf_add_hex(hbuf *b, size_t v)
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
static inline void hbuf_clear(hbuf *b)
{
	b->len = 0;
	if (b->cap > HTTP_KEEP_CAP) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
}

static inline void hbuf_free(hbuf *b)
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
	int status;        /* of the answer, once its head is written */
	uint64_t start_ns; /* when the handler got it (uv_hrtime) */
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
	struct wreq *wreqs; /* the writes in flight (http_server.c) */
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

/* ---- shared between the files ---- */

/* http_request.c */
extern const http_parser_settings http__parser_settings;
void http__x_free(http_exchange *x);
/* Keeps one exchange per connection for the next request (frees x otherwise). */
void http__conn_recycle(conn *c, http_exchange *x);

/* http_response.c */
/* The reason phrase of an HTTP status ("Unknown" for one we do not list). */
const char *http__reason(int status);

/* http_server.c */
void http__conn_flush(conn *c);
/* The handler is done with x (answered or upgraded). */
void http__x_complete(http_exchange *x, bool upgraded);
/* Calls x's on_close from the loop, unless x completes first. */
void http__x_defer_close(http_exchange *x);

#endif
