/* http_client_internal: what the parts of the HTTP client share (not a public header).
 *
 *   http_client.c       the client: options, requests (attempts, retries, timeouts,
 *                       completion), the pool of idle connections, the blocking interface
 *   http_client_conn.c  one connection: resolution, connect, TLS, sending a request,
 *                       parsing its response (http-parser)
 *
 * A request is carried by at most one connection at a time and a connection carries at most
 * one request (no pipelining). A request waiting for a new connection to come up takes a
 * connection that another request frees first; the new one then carries nothing (an orphan,
 * on c->orphans) and goes to the pool once it is up, or is closed when that takes longer than
 * the connect timeout. Callbacks run from loop callbacks only: from a connection's
 * poll callback (on_chunk while the body is parsed; on_done once the response is complete)
 * or from the request's timer (on_done for a failure or a timeout). After a user callback,
 * the code on the stack checks what it may have done (cancelled the request, freed the
 * client) before going on. Memory stays valid meanwhile: a request is freed in its timer's
 * close callback, a connection once no callback of its own is on the stack (depth), the
 * client once all of its handles are closed.
 *
 * Names shared between these files carry the prefix httpc__. */
#ifndef CK_NET_HTTP_CLIENT_INTERNAL_H
#define CK_NET_HTTP_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>
#include <uv.h>

#include "base/strbuf.h"
#include "net/http_client.h"
#include "net/tls.h"

#define HTTPC_READ_BUF  (64 * 1024)
#define HTTPC_IDLE_MAX  32    /* idle connections kept per client */
#define HTTPC_IDLE_MS   90000 /* an idle connection is closed after this */
#define HTTPC_KEEPIDLE  30    /* TCP keepalive: first probe after this many idle seconds */
#define HTTPC_KEEPINTVL 10    /* then one probe every this many seconds */

typedef struct hconn hconn;

/* Options with owned strings. */
typedef struct client_opts {
	char *base_url, *ca_file, *ca_pem, *cert_file, *cert_pem, *key_file, *key_pem;
	char *bearer_token, *user_agent;
	bool insecure;
	int timeout_ms, connect_timeout_ms, max_retries, retry_base_ms, retry_max_ms;
	int max_conns; /* <0: no limit */
} client_opts;

struct httpc {
	uv_loop_t *loop;
	client_opts o;
	tls_ctx *tls;      /* made for the first https connection */
	bool sync_resolve; /* resolve in the calling thread (httpc_sync's private loop) */
	httpc_req *reqs;   /* requests in flight, doubly linked */
	hconn *idle;       /* idle connections, most recently used first */
	size_t n_idle;
	hconn *orphans;   /* connections being opened for no request, newest first */
	int n_slots;      /* requests holding a connection slot (max_conns) */
	int n_background; /* of them background requests: at most one */
	uint64_t queued;  /* the last place in line handed out */
	uv_timer_t sweep; /* closes idle connections and orphans kept too long */
	int warm;         /* connections to keep to warm_host (httpc_keep_warm) */
	char *warm_host;
	int warm_port;
	bool warm_tls;
	uv_timer_t warm_timer; /* opens the missing ones */
	char *rbuf, *pbuf;     /* socket reads and TLS plaintext, allocated on first use */
	int handles;           /* open handles and pending resolutions */
	bool closing;          /* httpc_free called: freed when handles drops to 0 */
};

enum req_state {
	REQ_WAIT,       /* the timer starts the next attempt */
	REQ_QUEUED,     /* waits for a connection slot (max_conns); the deadline applies */
	REQ_CONNECTING, /* on a connection being opened (connect timeout applies) */
	REQ_ACTIVE,     /* sent or being sent on a connection */
	REQ_FAILED,     /* the timer delivers rc and err */
};

struct httpc_req {
	httpc *c;
	httpc_req *prev, *next; /* c->reqs */
	uv_timer_t timer;       /* timeouts, retry backoff, delivery of a failure */
	hconn *conn;            /* carrying the current attempt */
	enum req_state state;
	char *method, *url; /* for messages */
	char *host;         /* without brackets */
	int port;
	bool tls;
	bool head;      /* no response body */
	bool retry;     /* idempotent and not no_retry */
	ck_buf wire;    /* the request as sent: head and body */
	int timeout_ms; /* <0: none */
	int attempts;
	bool slot;                           /* holds a connection slot */
	bool background;                     /* the last in line */
	uint64_t queue;                      /* its place in line (REQ_QUEUED, REQ_CONNECTING) */
	uint64_t deadline, connect_deadline; /* loop time; 0: none */
	/* the response of the current attempt */
	bool got_bytes; /* a response byte arrived */
	int status;
	bool has_ctype;
	ck_buf ctype;
	ck_buf body; /* accumulated (not for a streamed 2xx) */
	int rc;      /* REQ_FAILED */
	char *err;
	httpc_chunk_fn on_chunk;
	httpc_done_fn on_done;
	void *user;
	bool gone; /* cancelled or finished: freed when the timer is closed */
};

/* A socket and its poll handle. It is closed on its own: a connection moves on to the next
 * address of its host after a failed connect. */
typedef struct hsock {
	uv_poll_t poll; /* poll.data = the connection; NULL once abandoned */
	httpc *c;
	int fd;
	int events; /* polled for */
} hsock;

struct hconn {
	httpc *c;
	hconn **list;       /* &c->idle (pooled) or &c->orphans while on one of them */
	hconn *prev, *next; /* on *list */
	httpc_req *req;     /* the request it carries; NULL while idle or an orphan */
	char *host;
	int port;
	bool tls_wanted;
	uv_getaddrinfo_t gai;
	struct addrinfo *ai, *ai_next; /* resolved addresses, the next one to try */
	int connect_err;               /* of the last address tried */
	hsock *sock;
	tls_session *tls;
	http_parser hp;
	ck_buf out; /* for the socket (ciphertext with TLS) */
	size_t out_off;
	char hname[16]; /* first bytes of the header name being parsed */
	size_t hname_len;
	uint64_t since;  /* put on *list (loop time) */
	int depth;       /* own callbacks on the stack: freed at 0 once closing */
	bool resolving;  /* gai pending */
	bool connecting; /* sock connecting */
	bool ready;      /* connected and, with TLS, handshake done */
	bool in_value, ctype_value;
	bool interim;  /* parsing a 1xx response */
	bool in_body;  /* the final response's headers are complete (later ones are trailers) */
	bool complete; /* the response is complete */
	bool spoiled;  /* cannot carry another request */
	bool reused;   /* carried a request before */
	bool closing;
	bool test; /* httpc_parse_for_test: no socket; failures are kept here */
	int test_rc;
	char *test_err;
};

/* ---- http_client.c, for the connection ---- */

/* The client's TLS context, made on first use. Returns 0 and *out, or a negative code with
 * *msg (malloc'd). */
int httpc__tls_ctx(httpc *c, tls_ctx **out, char **msg);
/* r's connection is up: the connect timeout no longer applies. */
void httpc__req_sending(httpc_req *r);
/* The attempt carried by a connection failed; the connection is closed and detached.
 * reused: it had carried a request before (a failure before any response byte is then
 * the keep-alive race, retried at once). */
void httpc__req_attempt_failed(httpc_req *r, int rc, const char *msg, bool reused);
/* r's response is complete (its connection is detached): calls on_done and frees r. */
void httpc__req_done(httpc_req *r);
/* Puts k, a connection that carries nothing (it finished a request, or it is an orphan now
 * up), to use: on the request first in line of those waiting for a new connection to the
 * same place (whose own connection becomes an orphan), else into the pool (or closes it). */
void httpc__pool_put(httpc *c, hconn *k);
/* Takes k out of the pool or off the orphans; does nothing when k is on neither. */
void httpc__conn_unlist(hconn *k);
/* The response as on_done sees it (borrowed from r). */
void httpc__response_of(httpc_req *r, httpc_response *resp);
/* A copy of src whose strings dst owns (httpc_response_clear). */
void httpc__response_copy(httpc_response *dst, const httpc_response *src);
/* Drops a handle or resolution of c; frees c when it was the last one after httpc_free. */
void httpc__unref(httpc *c);
/* Puts k, a connection being opened for no request, on the orphans. */
void httpc__orphan(hconn *k);
/* A connection closed: the kept ones are topped up soon (later when it never came up). */
void httpc__warm_later(httpc *c, bool was_up);

/* ---- http_client_conn.c ---- */

/* Opens a connection to host and port and binds r to it; r is sent once the connection
 * (and its TLS handshake) is up. Failures go to httpc__req_attempt_failed. r NULL: a spare
 * connection, an orphan until it is up (then httpc__pool_put). */
void httpc__conn_open(httpc *c, const char *host, int port, bool tls, httpc_req *r);
/* Sends r on k, a connection that is up and carries nothing. */
void httpc__conn_send(hconn *k, httpc_req *r);
/* An idle connection: watched for the peer closing it, not keeping the loop alive. */
void httpc__conn_park(hconn *k);
/* Closes k; its request, if any, is detached without a callback. */
void httpc__conn_close(hconn *k);

#endif
