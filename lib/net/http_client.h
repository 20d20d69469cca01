/* http_client: HTTP/1.1 client on a libuv loop.
 *
 * One httpc runs many requests concurrently on one thread over connections of its own
 * (sockets polled by the loop, OpenSSL through net/tls, http-parser). A request takes an idle
 * keep-alive connection to the same scheme, host and port, else opens a new one and goes on
 * whichever comes first: that one, or a connection that another request frees meanwhile (the
 * new one then carries the next request waiting for a connection, or is kept idle; it is
 * closed when it is not up within the connect timeout). Up to 32 idle connections are kept,
 * each for up to 90 s; a connection carries one request at a time (no pipelining). Sockets
 * are close-on-exec, with TCP keepalive (first probe after 30 s idle, then every 10 s) so
 * that a vanished watch peer is noticed. Callbacks run on the loop thread, never from inside
 * the functions below.
 *
 * TLS: the server is verified against a pinned CA (file or PEM text; the system store
 * without one) unless insecure_skip_verify, and its certificate must match the host name
 * or IP address of the URL; a client certificate and key (files or PEM text) authenticate
 * us; a bearer token is sent as "Authorization: Bearer <token>".
 *
 * Requests may stream the response body (on_chunk, for watches: only a 2xx body is streamed;
 * another status's body is accumulated and given to on_done), carry a timeout, and, when
 * idempotent (GET, HEAD, PUT, DELETE, OPTIONS, unless no_retry), are retried with
 * exponential backoff (timers on the loop) when the connection fails before any response
 * byte arrived. A request whose reused connection fails before any response byte (the
 * server closed it as we sent) is sent again at once, whatever its method: it never
 * reached the server. A blocking interface (httpc_sync) runs the same client on a private
 * loop for CLIs and tests; it never touches the caller's loop. */
#ifndef CK_NET_HTTP_CLIENT_H
#define CK_NET_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/error.h"

typedef struct httpc httpc;
typedef struct httpc_req httpc_req;

typedef struct httpc_opts {
	const char *base_url; /* "https://127.0.0.1:6443"; a request path is appended to it */
	/* TLS. Each *_pem field holds PEM text and wins over the matching *_file. */
	const char *ca_file;
	const char *ca_pem;
	const char *cert_file;
	const char *cert_pem;
	const char *key_file;
	const char *key_pem;
	bool insecure_skip_verify;
	const char *bearer_token; /* sent on every request when set */
	const char *user_agent;   /* default "ckube/<version>" */
	int timeout_ms;           /* default whole-request timeout; 0: 60 s; <0: none */
	int connect_timeout_ms;   /* 0: 10 s */
	int max_retries;          /* retries of idempotent requests; 0: 4; <0: none */
	int retry_base_ms;        /* first retry delay, doubled each time; 0: 200 ms */
	int retry_max_ms;         /* cap of the retry delay; 0: 5 s */
	/* Connections carrying requests at once (one still being opened after its request went
	 * on another carries none); more requests wait for one in order. Streamed requests
	 * (on_chunk: watches, logs) neither count nor wait. 0: 8; <0: no limit. */
	int max_conns;
} httpc_opts;

/* A response. For the async interface all fields are borrowed and valid during the
 * callback only; from httpc_sync_do the strings are owned by the caller: release them
 * with httpc_response_clear(). */
typedef struct httpc_response {
	int rc;             /* 0 when a response arrived (any status); else a negative code */
	char *error;        /* transport error text when rc != 0, else NULL */
	int status;         /* HTTP status, 0 when no response */
	char *content_type; /* may be NULL */
	char *body; /* NUL-terminated; empty for streamed requests; never NULL when rc == 0 */
	size_t body_len;
} httpc_response;

/* Transport errors reported in rc: -ETIMEDOUT (request or connect timeout),
 * -ECONNREFUSED, -ECONNRESET (connection failed/closed early), -EHOSTUNREACH (resolve),
 * CK_EPROTO (TLS or protocol failure), -ECANCELED (on_chunk asked to stop), -EINVAL. */

typedef void (*httpc_done_fn)(const httpc_response *resp, void *user);
/* Receives body bytes as they arrive (status is known by then: see httpc_req_status()).
 * Return 0 to continue, non-zero to abort the request (done then gets -ECANCELED). */
typedef int (*httpc_chunk_fn)(const void *data, size_t len, void *user);

typedef struct httpc_header {
	const char *name;
	const char *value;
} httpc_header;

typedef struct httpc_request {
	const char *method;       /* default "GET" */
	const char *path;         /* appended to base_url, with the query: "/api/v1/pods?limit=5" */
	const char *url;          /* a full URL instead of base_url + path */
	const char *content_type; /* of body; default "application/json" when a body is set */
	const char *accept;       /* default "application/json" */
	const httpc_header *headers; /* extra headers */
	size_t n_headers;
	const void *body; /* copied at start */
	size_t body_len;
	int timeout_ms;          /* 0: the client's default; <0: none (watches) */
	bool no_retry;           /* never retry, even when idempotent */
	bool background;         /* waits for a connection behind every other waiting request, and
	                          * behind the client's other background request: one at a time, as
	                          * upstream's event broadcaster writes events */
	httpc_chunk_fn on_chunk; /* when set the body is streamed there, not accumulated */
	httpc_done_fn on_done;   /* called exactly once unless the request is cancelled */
	void *user;
} httpc_request;

/* Creates a client on loop. opts is copied. Returns 0 and *out, or a negative code with *err
 * (-EINVAL for a bad option, -ENOENT for a missing CA/cert file). */
int httpc_new(uv_loop_t *loop, const httpc_opts *opts, httpc **out, ck_err **err);

/* Cancels every request in flight (no callback runs for them), closes the loop handles
 * and frees the client once they are closed (the loop must run for that). Accepts NULL. */
void httpc_free(httpc *c);

/* Keeps n connections to the base URL's server (opts.base_url) open, carrying requests or
 * idle, so that a burst of up to n requests waits for no connection to be made: what one
 * HTTP/2 connection gives upstream's clients. The missing ones are opened now and whenever
 * one closes (an idle one after 90 s, as the server closes it too); after a connection
 * failed before it was up, only 5 s later. For long-running components, not CLIs.
 * n <= 0 stops keeping them. Returns 0, or -EINVAL without a usable base URL. */
int httpc_keep_warm(httpc *c, int n);

/* Starts a request. The request struct and its strings are copied. Returns 0 and, when
 * out is non-NULL, a handle valid until on_done returns or httpc_cancel(); or a negative
 * code when the request cannot be started (then on_done is not called): -EINVAL for a
 * missing or malformed URL (http or https only), method or header, -ESHUTDOWN after
 * httpc_free. */
int httpc_start(httpc *c, const httpc_request *r, httpc_req **out);

/* Stops a request: no callback runs for it afterwards. Must not be called from inside its
 * own on_done. Accepts NULL. Safe to call from its on_chunk. */
void httpc_cancel(httpc_req *h);

/* Status of a request's response once its headers arrived, else 0. */
int httpc_req_status(const httpc_req *h);

/* Number of requests in flight (started, not yet done or cancelled). */
size_t httpc_in_flight(const httpc *c);

/* ---- blocking interface (not for loop threads) ---- */
typedef struct httpc_sync httpc_sync;

/* A blocking client keeping its connection alive between calls. opts copied. */
int httpc_sync_new(const httpc_opts *opts, httpc_sync **out, ck_err **err);
/* Performs r (on_done ignored; on_chunk honoured: it is called from this thread). Returns 0
 * with *resp filled (any HTTP status) or a negative transport code with *err. Retries like
 * the async client. */
int httpc_sync_do(httpc_sync *s, const httpc_request *r, httpc_response *resp, ck_err **err);
void httpc_sync_free(httpc_sync *s);
void httpc_response_clear(httpc_response *resp);

/* Percent-encodes s for a query value or path segment. malloc'd. */
char *httpc_escape(const char *s);

/* ---- fuzzing / unit entry point ---- */

/* Parses data as the response to one request (a HEAD request when head) through the
 * client's connection code, without a socket: the bytes arrive as two reads split at cut,
 * then the peer closes the connection. With stream, a 2xx body goes through an on_chunk
 * callback and is collected. Fills *resp as on_done would see it (its strings owned:
 * httpc_response_clear) and returns resp->rc: 0, CK_EPROTO or -ECONNRESET. *reusable (may be
 * NULL) tells whether the connection could carry another request before the close. */
int httpc_parse_for_test(const void *data, size_t len, size_t cut, bool head, bool stream,
                         httpc_response *resp, bool *reusable);

#endif
