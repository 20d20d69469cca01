/* http_server: HTTP/1.1 server on a libuv loop (http-parser for parsing, OpenSSL for TLS).
 *
 * Keep-alive and pipelining; a request body above opts.max_body (default 3 MiB) is
 * answered 413, a request head above opts.max_header (default 64 KiB) 431, a malformed
 * request 400, each then closing the connection. Handlers run on the loop thread and may
 * answer at once or later (after an etcd call): a request is an http_exchange the handler
 * owns until it completes it with http_respond() or http_stream_end() — exactly once,
 * even when the client has gone away meanwhile (then completing only frees it).
 * Chunked streaming responses serve watches. Upgrades (101) hand the connection over
 * as a raw byte stream (for exec/attach/port-forward later). Thousands of concurrent
 * connections on one loop; graceful shutdown. */
#ifndef CK_NET_HTTP_SERVER_H
#define CK_NET_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/error.h"

typedef struct http_server http_server;
typedef struct http_exchange http_exchange;

typedef struct http_header {
	const char *name; /* as received; compare case-insensitively */
	const char *value;
} http_header;

/* Valid until the exchange completes. All strings NUL-terminated. */
typedef struct http_request {
	const char *method; /* "GET", "POST", ... */
	const char *path;   /* percent-decoded path, no query: "/api/v1/namespaces/default/pods" */
	const char *raw_path; /* the request target as sent */
	const char *query;    /* raw query string after '?', "" when none */
	const http_header *headers;
	size_t n_headers;
	const char *body; /* NUL-terminated copy; body_len bytes (may contain NULs) */
	size_t body_len;
	bool tls;                         /* arrived over TLS */
	bool tls_resumed;                 /* on a TLS connection that resumed a session */
	const char *client_cn;            /* verified client certificate's CN, or NULL */
	const char *const *client_groups; /* its O= entries, NULL-terminated; NULL when none */
	const char *remote_addr;          /* "127.0.0.1:53412" */
} http_request;

typedef void (*http_handler_fn)(http_exchange *x, void *data);

typedef struct http_server_opts {
	const char *bind_address;  /* "127.0.0.1", "0.0.0.0", "::" ; default "127.0.0.1" */
	int port;                  /* 0 picks a free port: see http_server_port() */
	const char *tls_cert_file; /* PEM; TLS is on when cert and key are both set */
	const char *tls_key_file;
	const char *client_ca_file; /* optional: request (not require) client certificates */
	size_t max_body;            /* 0: 3 MiB */
	size_t max_header;          /* 0: 64 KiB */
	int idle_timeout_ms;        /* keep-alive idle close; 0: 90 s */
} http_server_opts;

/* Creates the server and starts listening on loop; the handler is called on the loop
 * thread for each request, with data. TLS when opts names a certificate and key. Sets
 * SIGPIPE to ignored if it was at its default (a peer closing must not kill the
 * process). Returns 0 and *out, or a negative code with *err (bad address, a file that
 * cannot be loaded, a port in use). */
int http_server_new(uv_loop_t *loop, const http_server_opts *opts, http_handler_fn handler,
                    void *data, http_server **out, ck_err **err);
/* The bound port (useful with opts.port == 0). */
int http_server_port(const http_server *s);
/* Stops accepting and closes idle and upgraded connections. Exchanges in flight complete
 * normally and their connection closes after the answer; streaming exchanges get their
 * on_close callback at once so that their owner ends them. Once every exchange has
 * completed and every connection is closed, calls done (may be NULL) and frees s. */
void http_server_shutdown(http_server *s, void (*done)(void *data), void *data);

/* ---- exchange ---- */
const http_request *http_exchange_request(const http_exchange *x);
/* Header value (case-insensitive name) or NULL. */
const char *http_request_header(const http_request *r, const char *name);
/* Query parameter, percent-decoded, malloc'd; NULL when absent. */
char *http_request_query(const http_request *r, const char *name);

/* True once the peer closed or the connection failed. */
bool http_exchange_closed(const http_exchange *x);
/* Called once when the connection goes away before the exchange completes (watchers use
 * it to stop), or at server shutdown for a stream. Never called from inside another
 * http_ call: from the loop. Registered after the connection is already gone, it is
 * called on the next loop iteration. The handler must still complete the exchange. */
void http_exchange_on_close(http_exchange *x, void (*cb)(http_exchange *x, void *data), void *data);

/* Adds a response header (copied) before the response starts. */
void http_exchange_add_header(http_exchange *x, const char *name, const char *value);

/* Sends a complete response (Content-Length) and completes the exchange. */
void http_respond(http_exchange *x, int status, const char *content_type, const char *body,
                  size_t len);

/* Streaming: starts a chunked response; then writes chunks; end completes the exchange.
 * http_stream_write returns 0, or -EPIPE once the peer is gone. Writes are queued; the
 * number of bytes queued and not yet on the socket is available for back-pressure. */
void http_stream_begin(http_exchange *x, int status, const char *content_type);
int http_stream_write(http_exchange *x, const void *data, size_t len);
size_t http_stream_pending(const http_exchange *x);
void http_stream_end(http_exchange *x);
/* Completes a streaming exchange and closes its connection at once, dropping what is
 * still queued for the peer: for a client that stopped reading. */
void http_stream_abort(http_exchange *x);

/* ---- upgrade (101 Switching Protocols) ----
 * Sends the 101 with the headers added so far and hands the connection over: from then on
 * bytes from the peer go to on_read, http_raw_write sends bytes, http_raw_close ends it
 * (on_close is called once, after which the handle is freed). Completes the exchange. */
typedef struct http_raw http_raw;
typedef struct http_raw_cbs {
	void (*on_read)(http_raw *r, const void *data, size_t len, void *user);
	void (*on_close)(http_raw *r, void *user);
} http_raw_cbs;
http_raw *http_upgrade(http_exchange *x, const http_raw_cbs *cbs, void *user);
int http_raw_write(http_raw *r, const void *data, size_t len);
void http_raw_close(http_raw *r);

/* Parser entry point for fuzzing and unit tests: feeds bytes (as two reads) through the
 * connection code the server uses, with the given limits (0: the defaults) and a handler
 * that answers each request at once. Returns the error status sent (400, 413, 431) or 0,
 * and stores in *n_requests (may be NULL) how many requests reached the handler. Never
 * crashes on any input; touches no socket and no loop. */
int http_parse_for_test(const void *data, size_t len, size_t max_header, size_t max_body,
                        int *n_requests);

#endif
