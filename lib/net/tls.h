/* tls: OpenSSL sessions over memory BIOs, for sockets driven by libuv: server sessions for
 * http_server, client sessions for http_client.
 *
 * The owner of the socket feeds ciphertext in (tls_session_feed), reads plaintext out
 * (tls_session_read, which also drives the handshake), writes plaintext
 * (tls_session_write) and moves the ciphertext OpenSSL produced to the socket
 * (tls_session_out_pending / tls_session_out_take). No socket is touched here.
 * Client certificates: when a client CA file is given, a certificate is requested (not
 * required); one that is presented must verify against that CA or the handshake fails.
 * A client context verifies the server against a CA (or skips that), names the server (SNI)
 * and checks its certificate against the host name or IP address it was asked for. */
#ifndef CK_NET_TLS_H
#define CK_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

typedef struct tls_ctx tls_ctx;
typedef struct tls_session tls_session;

/* Loads a PEM certificate chain and key (and optionally a client CA bundle) into a server
 * context: TLS 1.2 and later, ALPN "http/1.1". Returns 0 and *out, or a negative code
 * with *err naming the file that failed. */
int tls_server_ctx_new(const char *cert_file, const char *key_file, const char *client_ca_file,
                       tls_ctx **out, ck_err **err);
/* Frees ctx (sessions created from it keep their own reference); accepts NULL; returns NULL. */
tls_ctx *tls_ctx_free(tls_ctx *ctx);

/* What a client trusts and presents. Each *_pem field holds PEM text and wins over the
 * matching *_file. */
typedef struct tls_client_opts {
	const char *ca_file, *ca_pem;     /* trusted CAs; the system store when both are NULL */
	const char *cert_file, *cert_pem; /* our certificate (chain); optional */
	const char *key_file, *key_pem;   /* its key; needed with a certificate */
	bool insecure_skip_verify;        /* accept any server certificate */
} tls_client_opts;

/* A client context: TLS 1.2 and later, ALPN "http/1.1", the server verified against the
 * CAs unless insecure_skip_verify. Returns 0 and *out, or CK_EPROTO with *err naming what
 * could not be loaded. */
int tls_client_ctx_new(const tls_client_opts *o, tls_ctx **out, ck_err **err);

/* A server-side session in accept state. Never NULL (allocation failure aborts). */
tls_session *tls_session_new(tls_ctx *ctx);
/* A client-side session in connect state for host (a DNS name of at most 253 bytes or an IP
 * address, without brackets): SNI carries a name; unless the context skips verification,
 * the server's certificate must be valid for host. The first tls_session_read produces the
 * ClientHello. Never NULL (allocation failure aborts). */
tls_session *tls_client_session_new(tls_ctx *ctx, const char *host);
/* Frees s; accepts NULL; returns NULL. */
tls_session *tls_session_free(tls_session *s);

/* Hands ciphertext received from the peer to the session. Returns 0 or -ENOMEM. */
int tls_session_feed(tls_session *s, const void *data, size_t len);
/* Decrypts into buf: returns the number of plaintext bytes (> 0), 0 when more input is
 * needed, -ECONNRESET when the peer sent close_notify (ours is then queued as output), CK_EPROTO on
 * a TLS failure (handshake or verification). Call until it returns <= 0; then move the output. */
int tls_session_read(tls_session *s, void *buf, size_t cap);
/* Encrypts len bytes (all of them, after the handshake). Returns 0 or CK_EPROTO. */
int tls_session_write(tls_session *s, const void *data, size_t len);
/* Queues a close_notify alert. */
void tls_session_close_notify(tls_session *s);
/* Ciphertext waiting to be sent, and taking up to cap bytes of it (returns the count). */
size_t tls_session_out_pending(const tls_session *s);
size_t tls_session_out_take(tls_session *s, void *buf, size_t cap);
/* Why the last tls_session_read returned CK_EPROTO ("certificate verify failed: ..."),
 * or "" before any failure. Valid until the next call on s. */
const char *tls_session_error(const tls_session *s);
/* True once the handshake completed. */
bool tls_session_handshake_done(const tls_session *s);
/* The verified client certificate's subject CN and O= entries. Returns 1 and sets *cn
 * (malloc'd, may be NULL when the subject has no CN) and *groups (malloc'd
 * NULL-terminated array of malloc'd strings, NULL when none); returns 0 when no verified
 * client certificate was presented. Free with tls_groups_free. */
int tls_session_peer(const tls_session *s, char **cn, char ***groups);
/* Frees a NULL-terminated string array; accepts NULL; returns NULL. */
char **tls_groups_free(char **groups);

#endif
